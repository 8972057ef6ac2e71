"""Every command and option, declared once, as data.

The parser (``parsing.py``), the Typer app behind ``--help`` and shell
completion (``cli.py``), the README's option lists and the tests all read
these tables, so a flag's name, value check, default and help live here and
nowhere else.  Importing this module costs nothing: no NumPy, Typer or Rich.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .formats import SUPPORTED, Format, Output
from .operations import Operation

PROGRAM = "softmax"


# --- value checks: text in, value out, ValueError("what is wrong") otherwise --


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number") from None


def positive_number(text: str) -> float:
    """A finite number above 0 (temperatures)."""
    value = _number(text)
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"must be a finite number above 0, not {text!r}")
    return value


def whole_number(low: int, high: int) -> Callable[[str], int]:
    """A whole number from ``low`` to ``high``."""

    def check(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise ValueError(f"must be a whole number from {low} to {high}, not {text!r}") from None
        if not low <= value <= high:
            raise ValueError(f"must be a whole number from {low} to {high}, not {text!r}")
        return value

    return check


def smoothing(text: str) -> float:
    """Label smoothing, 0 <= E <= 1 as PyTorch accepts it."""
    value = _number(text)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"must be a number from 0 to 1, not {text!r}")
    return value


def one_of(choices: Sequence[str]) -> Callable[[str], str]:
    """One of ``choices``, in any letter case."""

    def check(text: str) -> str:
        lowered = text.strip().lower()
        if lowered not in choices:
            raise ValueError(f"{text!r} is not one of {', '.join(choices)}")
        return lowered

    return check


_NAMED_DELIMITERS = {"tab": "\t", "\\t": "\t", "comma": ",", "space": " ", "whitespace": " "}


def delimiter(text: str) -> str:
    """One character, or the name tab, comma or space."""
    value = _NAMED_DELIMITERS.get(text.lower(), text)
    if len(value) != 1:
        raise ValueError(f"must be one character, or tab, comma or space, not {text!r}")
    return value


def _finite_list(text: str, zero_ok: bool, what: str) -> list[float]:
    """Comma-separated finite numbers above 0 (or at least 0, when ``zero_ok``)."""
    try:
        values = [float(piece.strip()) for piece in text.split(",")]
    except ValueError:
        raise ValueError(f"{text!r} is not a comma-separated list of numbers") from None
    if any(not (math.isfinite(v) and (v >= 0 if zero_ok else v > 0)) for v in values):
        raise ValueError(f"{what}, not {text!r}")
    return values


def number_list(text: str) -> list[float]:
    """Comma-separated finite numbers >= 0 (class weights)."""
    return _finite_list(text, True, "weights must be finite numbers >= 0")


def probability_list(text: str) -> list[float]:
    """Comma-separated finite numbers >= 0 (a soft target; the sum is checked with K)."""
    return _finite_list(text, True, "must be finite probabilities >= 0")


def positive_list(text: str) -> list[float]:
    """Comma-separated finite numbers above 0 (temperatures of a sweep)."""
    return _finite_list(text, False, "temperatures must be finite numbers above 0")


def top_k_list(text: str) -> list[int]:
    """Comma-separated whole numbers >= 1."""
    try:
        values = [int(piece.strip()) for piece in text.split(",")]
    except ValueError:
        raise ValueError(f"{text!r} is not a comma-separated list of whole numbers") from None
    if any(value < 1 for value in values):
        raise ValueError(f"every k must be 1 or more, not {text!r}")
    return values


def label_list(text: str) -> list[str]:
    """Comma-separated labels; an empty one is an error, not skipped."""
    pieces = [piece.strip() for piece in text.split(",")]
    if any(not piece for piece in pieces):
        raise ValueError(f"{text!r} has an empty label")
    return pieces


def top_p_value(text: str) -> float:
    """Nucleus mass P: above 0, at most 1 (1 keeps every class)."""
    value = _number(text)
    if not 0.0 < value <= 1.0:
        raise ValueError(f"must be a number above 0 and at most 1, not {text!r}")
    return value


def seed_value(text: str) -> int:
    """A seed: a whole number from 0 to 2**64 - 1."""
    try:
        value = int(text.strip())
    except ValueError:
        raise ValueError(f"must be a whole number from 0 to 2**64 - 1, not {text!r}") from None
    if not 0 <= value < 1 << 64:
        raise ValueError(f"must be a whole number from 0 to 2**64 - 1, not {text!r}")
    return value


def alpha_value(text: str) -> float:
    """α of entmax: a finite number of at least 1 (1 softmax, 1.5 exact, 2 sparsemax)."""
    value = _number(text)
    if not (math.isfinite(value) and value >= 1.0):
        raise ValueError(f"must be a finite number of at least 1, not {text!r}")
    return value


def text_value(text: str) -> str:
    """Any non-empty text (file names, column names, class names)."""
    if text == "":
        raise ValueError("must not be empty")
    return text


# --- the declarations ----------------------------------------------------------


@dataclass(frozen=True)
class Option:
    """One option: its names, how its value is checked, its default and its help."""

    dest: str
    flags: tuple[str, ...]
    help: str
    convert: Callable[[str], Any] | None = None  # None: a flag that takes no value
    default: Any = None
    metavar: str | None = None
    panel: str = "Options"
    choices: tuple[str, ...] = ()
    multiple: bool = False  # repeatable; the values are collected in order
    negation: str | None = None  # the --no-X spelling of a flag that is None unless given
    action: str | None = None  # help, version, completion: handled before any command

    @property
    def takes_value(self) -> bool:
        return self.convert is not None

    @property
    def names(self) -> tuple[str, ...]:
        return self.flags + ((self.negation,) if self.negation else ())

    @property
    def display(self) -> str:
        """The name used in help and messages when the user's own spelling is not known."""
        return max(self.flags, key=len)


def _formats_help(formats: Sequence[Format], default: str) -> str:
    return f"{', '.join(fmt.value for fmt in formats)} ({default})."


def format_option(formats: Sequence[Format], default: str) -> Option:
    names = tuple(fmt.value for fmt in formats)
    return Option(
        "output_format",
        ("-o", "--format"),
        _formats_help(formats, default),
        convert=one_of(names),
        metavar="FORMAT",
        panel="Output",
        choices=names,
    )


HELP = Option("help", ("-h", "--help"), "Show this message and exit.", action="help")
TEMPERATURE = Option(
    "temperature",
    ("-t", "--temperature"),
    "Divide the max-shifted scores by T > 0 (default 1).",
    convert=positive_number,
    default=1.0,
    metavar="T",
)
INPUT = Option(
    "input_path",
    ("-i", "--input"),
    "Read scores from FILE ('-' is stdin): delimited text, JSON, NDJSON or a NumPy "
    "array (.npy), also compressed (gzip, bz2, xz); told apart by their first bytes.",
    convert=text_value,
    metavar="FILE",
    panel="Input",
)
PRECISION = Option(
    "precision",
    ("--precision",),
    "Digits, 0 to 17: decimals in tables (default 4), significant digits "
    "elsewhere, where 0 counts as 1 (default: the shortest exact form). A cap: "
    "under --dtype never more digits than that precision's shortest form.",
    convert=whole_number(0, 17),
    metavar="N",
    panel="Output",
)
DELIMITER = Option(
    "delimiter",
    ("--delimiter",),
    "Input field separator: one character, tab, comma or space (default: detected).",
    convert=delimiter,
    metavar="C",
    panel="Input",
)
HEADER = Option(
    "header",
    ("--header",),
    "Whether the first line names the classes (default: detected).",
    negation="--no-header",
    panel="Input",
)
CLASSES = Option(
    "classes",
    ("--classes",),
    "Class names, one per line (a vocabulary, a label list), instead of a header.",
    convert=text_value,
    metavar="FILE",
    panel="Input",
)
KEEP = Option(
    "keep",
    ("--keep",),
    "Columns carried through unchanged beside the results: names or 0-based "
    "indices, comma-separated (id,2).",
    convert=label_list,
    metavar="COLS",
    panel="Input",
    multiple=True,
)
KEY = Option(
    "key",
    ("--key",),
    "NDJSON objects: the key holding each row's scores; -o ndjson then writes "
    "each object with the result added.",
    convert=text_value,
    metavar="NAME",
    panel="Input",
)
TOP_KEY = replace(KEY, help=KEY.help[:-1] + ', as a list "top" of its ranks.')
NO_COLOR = Option(
    "no_color", ("--no-color",), "No colour in tables (as NO_COLOR does).", panel="Output"
)
LABELS = Option(
    "labels",
    ("-l", "--labels"),
    "One label per row: class names or 0-based indices, comma-separated (0,2,1).",
    convert=label_list,
    metavar="LABELS",
    panel="Labels",
    multiple=True,
)
LABEL_COLUMN = Option(
    "label_column",
    ("--label-column",),
    "The column holding the labels (a name, or a 0-based index); never read as scores.",
    convert=text_value,
    metavar="COL",
    panel="Labels",
)
TARGETS = Option(
    "targets",
    ("--targets",),
    "Soft targets: one row of probabilities per score row.",
    convert=text_value,
    metavar="FILE",
    panel="Labels",
)
IGNORE_LABEL = Option(
    "ignore_label",
    ("--ignore-label",),
    "Rows with this label add nothing (PyTorch's ignore_index, e.g. -100).",
    convert=text_value,
    metavar="LABEL",
    panel="Labels",
)
REDUCTIONS = ("mean", "sum", "none")
REDUCTION = Option(
    "reduction",
    ("--reduction",),
    "How to combine the per-row losses: mean, sum or none (default mean).",
    convert=one_of(REDUCTIONS),
    default="mean",
    metavar="HOW",
    panel="Loss",
    choices=REDUCTIONS,
)
WEIGHTS = Option(
    "weights",
    ("--weights",),
    "Class weights, comma-separated, as PyTorch's weight.",
    convert=number_list,
    metavar="W0,W1,...",
    panel="Loss",
)
SMOOTHING = Option(
    "label_smoothing",
    ("--label-smoothing",),
    "Label smoothing E from 0 to 1, as PyTorch's (default 0).",
    convert=smoothing,
    default=0.0,
    metavar="E",
    panel="Loss",
)
BINS = Option(
    "bins",
    ("--bins",),
    "Confidence bins for ECE and MCE, 1 to 100000 (default 15): equal-width, or "
    "equal-mass with --binning mass.",
    convert=whole_number(1, 100_000),
    default=15,
    metavar="M",
)
TOP_K = Option(
    "top_k",
    ("--top-k",),
    "Top-k accuracies to report, comma-separated (default 1,5).",
    convert=top_k_list,
    default=[1, 5],
    metavar="K,...",
)
APPLY = Option("apply", ("--apply",), "Write the calibrated probabilities instead of the report.")
LABEL = Option(
    "label",
    ("-l", "--label"),
    "The true class (a name, or a 0-based index): adds cross-entropy and its gradient.",
    convert=text_value,
    metavar="CLASS",
)
SWEEP = Option(
    "sweep",
    ("--sweep",),
    "Also show the distribution and its entropy at T = 0.1, 0.5, 1, 2 and 10.",
)
SWEEP_TEMPERATURES = Option(
    "sweep_temperatures",
    ("--sweep-temperatures",),
    "The temperatures of the sweep, comma-separated (implies --sweep).",
    convert=positive_list,
    metavar="T1,T2,...",
)
SAMPLE_WEIGHT_COLUMN = Option(
    "sample_weight_column",
    ("--sample-weight-column",),
    "The column holding each row's weight (a name, or a 0-based index), as scikit-learn's "
    "sample_weight; never read as scores.",
    convert=text_value,
    metavar="COL",
    panel="Weights",
)
SAMPLE_WEIGHTS = Option(
    "sample_weights",
    ("--sample-weights",),
    "Row weights from FILE: one number a line, in the order of the score rows; each 0 "
    "or from 1e-150 to 1e150.",
    convert=text_value,
    metavar="FILE",
    panel="Weights",
)
REPORT = Option(
    "report",
    ("--report",),
    "Add the confusion matrix and per-class precision, recall, F1 and support, "
    "with macro and weighted averages (csv/tsv: a line per class instead).",
)
NORMS = ("l1", "l2", "max")
ECE_NORM = Option(
    "ece_norm",
    ("--ece-norm",),
    "Calibration error reported as calibration_error: l1 (ECE), l2 (RMSCE) or max (MCE) "
    "(default l1).",
    convert=one_of(NORMS),
    default="l1",
    metavar="NORM",
    panel="Calibration error",
    choices=NORMS,
)
BINNINGS = ("width", "mass")
BINNING = Option(
    "binning",
    ("--binning",),
    "Confidence bins (lo, hi]: width (equal-width) or mass (equal-mass, holds one "
    "confidence per row in memory) (default width).",
    convert=one_of(BINNINGS),
    default="width",
    metavar="HOW",
    panel="Calibration error",
    choices=BINNINGS,
)
CLASSWISE = Option(
    "classwise",
    ("--classwise",),
    "calibration_error is class-wise: the mean over classes of each class's calibration error.",
    panel="Calibration error",
)
PARTIAL = Option(
    "partial",
    ("--partial",),
    "Write this shard's running sums as one JSON line for 'softmax merge' instead of the result.",
    panel="Output",
)
EVALUATION_PARTIAL = replace(PARTIAL, help=PARTIAL.help[:-1] + " (not with --binning mass).")
LOSS_PARTIAL = replace(PARTIAL, help=PARTIAL.help[:-1] + " (not with --reduction none).")
_MANY = 1 << 31
#: Each row's draws are one line (one JSON list), held whole while written.
MAX_DRAWS = 1_000_000
TOP_COUNT = Option(
    "k",
    ("-k", "--top-k"),
    "How many of each row's most probable classes to show, 1 or more (default 5).",
    convert=whole_number(1, _MANY),
    default=5,
    metavar="K",
)
DRAWS = Option(
    "draws",
    ("-n", "--draws"),
    "Draws per row, 1 to 1000000 (default 1); each row's draws are one output line.",
    convert=whole_number(1, MAX_DRAWS),
    default=1,
    metavar="N",
)
FILTER_TOP_K = Option(
    "top_k",
    ("--top-k",),
    "Keep the K most probable classes (ties with the K-th too), K >= 1.",
    convert=whole_number(1, _MANY),
    metavar="K",
    panel="Filters",
)
FILTER_TOP_P = Option(
    "top_p",
    ("--top-p",),
    "Nucleus: keep the fewest most probable classes whose mass reaches P, 0 < P <= 1.",
    convert=top_p_value,
    metavar="P",
    panel="Filters",
)
FILTER_MIN_P = Option(
    "min_p",
    ("--min-p",),
    "Drop classes less probable than M x the top probability, 0 <= M <= 1.",
    convert=smoothing,
    metavar="M",
    panel="Filters",
)
SEED = Option(
    "seed",
    ("--seed",),
    "Seed of NumPy's PCG64 generator: the same seed gives the same draws everywhere.",
    convert=seed_value,
    metavar="S",
)
PRINT_SEED = Option(
    "print_seed", ("--print-seed",), "Print the seed used on stderr (softmax: seed S)."
)
NAMES = Option("names", ("--names",), "Print class names instead of indices.", panel="Output")
TARGET = Option(
    "target",
    ("--target",),
    "A soft target instead of --label: probabilities, comma-separated (0.7,0.2,0.1).",
    convert=probability_list,
    metavar="Q0,Q1,...",
)
STEP = Option(
    "step",
    ("--step",),
    "Also take one gradient-descent step of size ETA and show the new loss "
    "(needs --label or --target).",
    convert=positive_number,
    metavar="ETA",
)
BRIEF = Option(
    "brief",
    ("--brief",),
    "Only the table and the key lines (shift, normalise, loss): one projector screen.",
)
ONLINE = Option(
    "online",
    ("--online",),
    "Also compute the sum in one pass over blocks (online softmax), as streams and "
    "attention kernels do.",
)
DTYPES = ("float64", "float32", "float16")
DTYPE = Option(
    "dtype",
    ("--dtype",),
    "Precision, as a model would use: float64, float32 or float16 (default float64). "
    "Scores are rounded to it and each result is the exact answer rounded once to it; "
    "csv and json print each value's shortest form in it.",
    convert=one_of(DTYPES),
    default="float64",
    metavar="TYPE",
    choices=DTYPES,
)
# explain computes every step in the precision, to show what a model's arithmetic does.
EXPLAIN_DTYPE = Option(
    "dtype",
    ("--dtype",),
    "Compute every step in float64, float32 or float16 (default float64), as a model's "
    "arithmetic does: where the naive formula overflows, what rounds to 0.",
    convert=one_of(DTYPES),
    default="float64",
    metavar="TYPE",
    choices=DTYPES,
)
VERSION = Option("version", ("--version",), "Print the version and exit.", action="version")
SPARSE_LOSS = Option(
    "loss",
    ("--loss",),
    "Write the loss of --labels that matches these probabilities: the sparsemax loss, "
    "or the entmax (Tsallis) loss.  Ordinary cross-entropy -log p(label) is not defined "
    "(infinite) when p(label) = 0, which these give exactly; this loss stays finite.",
    panel="Loss",
)
ALPHA = Option(
    "alpha",
    ("--alpha",),
    "α >= 1: 1 is softmax, 1.5 exact by sorting, 2 sparsemax; others by bisection on "
    "the threshold to float64 precision (at most 1100 halvings).",
    convert=alpha_value,
    metavar="A",
)
TREE = Option(
    "tree",
    ("--tree",),
    "The tree: one line per class, 'class node:code node:code ...' from the root "
    "(code 0 takes sigmoid(s), 1 takes sigmoid(-s)); nodes numbered 0 to K-2. "
    "It names the classes; the K-1 score columns are its nodes.",
    convert=text_value,
    metavar="FILE",
)
HUFFMAN = Option(
    "huffman",
    ("--huffman",),
    "Write the Huffman tree of 'class,count' lines (word2vec's) as a tree file, "
    "instead of computing.",
    convert=text_value,
    metavar="COUNTS",
)
LOG = Option(
    "log",
    ("--log",),
    "Write log-probabilities: sums of log sigmoid, finite for large |scores|.",
)
EXPLAIN_SPARSEMAX = Option(
    "sparsemax",
    ("--sparsemax",),
    "Explain sparsemax instead: the threshold, the support, the exact zeros.",
    panel="Beyond softmax",
)
EXPLAIN_ENTMAX = Option(
    "entmax",
    ("--entmax",),
    "Explain α-entmax (α >= 1) instead: the threshold, the support, the exact zeros.",
    convert=alpha_value,
    metavar="A",
    panel="Beyond softmax",
)
EXPLAIN_TREE = Option(
    "tree",
    ("--tree",),
    "Explain hierarchical softmax over the tree in FILE: each path and its sigmoids. "
    "The tree names the classes; the scores are its nodes (no --classes).",
    convert=text_value,
    metavar="FILE",
    panel="Beyond softmax",
)

JOBS = Option(
    "jobs",
    ("--jobs",),
    "Threads that parse, compute and format blocks of rows (default 0: one per core); "
    "1 works in one thread. Rows are written in input order.",
    convert=whole_number(0, 256),
    default=0,
    metavar="N",
    panel="Input",
)
LOSS_JOBS = replace(
    JOBS,
    help="Threads that parse and compute blocks of rows (default 0: one per core); 1 works "
    "in one thread. Rows are written in input order, and a mean or sum is the same to the "
    "last bit whatever N.",
)

_BY_TERMINAL = "default: table on a terminal, csv otherwise"
ROW_FORMAT = format_option(SUPPORTED[Output.ROWS], _BY_TERMINAL)
# top and sample write lists of classes, not a matrix of scores: text formats only.
LIST_FORMAT = format_option(
    tuple(f for f in SUPPORTED[Output.ROWS] if f is not Format.NPY), _BY_TERMINAL
)
LOSS_FORMAT = format_option(SUPPORTED[Output.LOSSES], _BY_TERMINAL)
EVALUATION_FORMAT = format_option(SUPPORTED[Output.EVALUATION], _BY_TERMINAL)
CALIBRATION_FORMAT = format_option(SUPPORTED[Output.CALIBRATION], _BY_TERMINAL)
EXPLAIN_FORMAT = format_option(SUPPORTED[Output.EXPLAIN], "default table, also when piped")
VALUE_FORMAT = format_option(SUPPORTED[Output.VALUES], _BY_TERMINAL)
ROW_REDUCTION = Option(
    "reduction",
    ("--reduction",),
    "none: one value per row (default); sum: their sum (a total of log-normalisers, "
    "not a log-likelihood); mean: their mean.",
    convert=one_of(("none", "sum", "mean")),
    default="none",
    metavar="HOW",
    choices=("none", "sum", "mean"),
)

_READING = (INPUT, DELIMITER, HEADER, CLASSES)
_CARRYING = (KEEP, KEY)
_SHOWING = (PRECISION, NO_COLOR)
_ROW_OPTIONS = (
    TEMPERATURE,
    DTYPE,
    LABEL_COLUMN,
    *_READING,
    *_CARRYING,
    ROW_FORMAT,
    *_SHOWING,
    JOBS,
)


@dataclass(frozen=True)
class Command:
    """One command: its names, what it does, its examples and its options."""

    name: str
    summary: str
    description: str
    examples: tuple[str, ...]
    options: tuple[Option, ...]
    runner: str  # the function in commands.RUNNERS that runs it
    aliases: tuple[str, ...] = ()
    operation: Operation | None = None  # for rows: softmax or log-softmax
    #: The metavar and help of the positional arguments, when they are not scores.
    arguments: tuple[str, str] | None = None
    all_options: tuple[Option, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "all_options", (*self.options, HELP))

    def option(self, name: str) -> Option | None:
        """The option spelled ``name`` (``-t``, ``--temperature`` or ``--no-header``)."""
        for option in self.all_options:
            if name in option.names:
                return option
        return None

    def defaults(self) -> dict[str, Any]:
        return {
            option.dest: ([] if option.multiple else option.default)
            for option in self.options
            if option.action is None
        }


_ROW_EXAMPLES = {
    "probs": (
        "softmax probs -1 -2.5 3",
        "softmax probs 3,1,0.2 -t 0.5",
        "seq 5 | softmax probs",
        "softmax probs -i logits.csv -o csv > probs.csv",
    ),
    "logprobs": (
        "softmax logprobs 1000 0",
        "cat logits.tsv | softmax logprobs",
    ),
}

COMMANDS: tuple[Command, ...] = (
    Command(
        "probs",
        "Row-wise softmax: probabilities that sum to 1 along each row.",
        "Scores come from SCORES, --input FILE or stdin, one row per line. "
        "'softmax 2 1 0.1' is short for 'softmax probs 2 1 0.1'.",
        _ROW_EXAMPLES["probs"],
        _ROW_OPTIONS,
        runner="rows",
        operation=Operation.SOFTMAX,
    ),
    Command(
        "logprobs",
        "Row-wise log-softmax, finite where probabilities underflow.",
        "Computed directly as (x - max)/T - log sum exp, never as log(probs). "
        "Scores come from SCORES, --input FILE or stdin, one row per line.",
        _ROW_EXAMPLES["logprobs"],
        _ROW_OPTIONS,
        runner="rows",
        operation=Operation.LOG_SOFTMAX,
    ),
    Command(
        "cross-entropy",
        "Cross-entropy of the scores against labels or soft targets, as PyTorch computes it.",
        "Give the truth one way: --labels, --label-column or --targets.",
        (
            "softmax cross-entropy 2 1 0.1 --labels 0",
            'softmax xent "2,1,0.1;0.5,2,1" -l 0,1 --reduction none',
            "softmax xent -i eval.csv --label-column y",
            "softmax xent -i logits.csv --targets soft.csv",
        ),
        (
            LABELS,
            LABEL_COLUMN,
            TARGETS,
            IGNORE_LABEL,
            REDUCTION,
            WEIGHTS,
            SMOOTHING,
            SAMPLE_WEIGHT_COLUMN,
            SAMPLE_WEIGHTS,
            TEMPERATURE,
            DTYPE,
            *_READING,
            *_CARRYING,
            LOSS_FORMAT,
            *_SHOWING,
            LOSS_PARTIAL,
            LOSS_JOBS,
        ),
        runner="cross_entropy",
        aliases=("xent",),
    ),
    Command(
        "explain",
        "Walk one vector through softmax step by step, for teaching.",
        "Where the naive formula overflows (as for 1000 0), it shows both results.",
        (
            "softmax explain 2 1 0.1 --label 0",
            "softmax explain 1000 0 --sweep",
            "softmax explain 2 1 0.1 --label 0 --brief --step 1",
            "softmax explain 2 1 0.1 --target 0.7,0.2,0.1 -o latex",
        ),
        (
            LABEL,
            TARGET,
            TEMPERATURE,
            STEP,
            BRIEF,
            SWEEP,
            SWEEP_TEMPERATURES,
            ONLINE,
            EXPLAIN_DTYPE,
            FILTER_TOP_K,
            FILTER_TOP_P,
            FILTER_MIN_P,
            INPUT,
            CLASSES,
            EXPLAIN_FORMAT,
            *_SHOWING,
            EXPLAIN_SPARSEMAX,
            EXPLAIN_ENTMAX,
            EXPLAIN_TREE,
        ),
        runner="explain",
    ),
    Command(
        "top",
        "The K most probable classes of each row: rank, class, prob, logprob, cumulative.",
        "Long output, one line per row and rank (row and rank count from 1), for awk, sort "
        "and jq. The table adds each row's entropy and the mass outside the top K. "
        "argpartition finds the top K, so a 256,000-wide row costs no full sort; equal "
        "scores rank by class index.",
        (
            "softmax top -k 2 2 1 0.1 3",
            "softmax top -k 3 -i next-token.csv --classes vocab.txt",
        ),
        (TOP_COUNT, TEMPERATURE, *_READING, KEEP, TOP_KEY, LIST_FORMAT, *_SHOWING),
        runner="top",
    ),
    Command(
        "sample",
        "Draw N classes per row after temperature, --top-k, --top-p and --min-p.",
        "The filters apply in Hugging Face transformers' order: temperature, top-k, top-p, "
        "min-p; classes with equal scores are kept or dropped together. Draws are by inverse "
        "CDF on the filtered distribution with numpy.random.Generator(PCG64(seed)), so a "
        "--seed gives the same draws on every platform.",
        (
            "softmax sample -n 5 --seed 1 2 1 0.1",
            "softmax sample -n 3 -t 0.7 --top-p 0.9 -i next-token.csv",
            "softmax sample -n 4 --names -i logits.csv",
        ),
        (
            DRAWS,
            SEED,
            PRINT_SEED,
            TEMPERATURE,
            FILTER_TOP_K,
            FILTER_TOP_P,
            FILTER_MIN_P,
            NAMES,
            *_READING,
            *_CARRYING,
            LIST_FORMAT,
            *_SHOWING,
        ),
        runner="sample",
    ),
    Command(
        "evaluate",
        "How good and how calibrated the scores are: NLL, accuracy, Brier, ECE and more.",
        "One streaming pass. ECE and MCE use --bins equal-width confidence bins, as in "
        "Guo et al. (2017); the table adds a reliability diagram, json and csv the numbers.",
        (
            "softmax evaluate -i preds.csv --label-column y",
            'softmax evaluate "2,1,0.1;0.5,2,1" -l 0,2 --top-k 1,2',
            "softmax evaluate -i preds.csv --label-column y --report",
            'softmax evaluate "2,1;0,3;1,1" -l 0,1,1 --ece-norm l2',
        ),
        (
            LABELS,
            LABEL_COLUMN,
            IGNORE_LABEL,
            TOP_K,
            BINS,
            TEMPERATURE,
            REPORT,
            ECE_NORM,
            BINNING,
            CLASSWISE,
            SAMPLE_WEIGHT_COLUMN,
            SAMPLE_WEIGHTS,
            *_READING,
            EVALUATION_FORMAT,
            *_SHOWING,
            EVALUATION_PARTIAL,
        ),
        runner="evaluate",
    ),
    Command(
        "calibrate",
        "Fit the temperature T that minimises the NLL of the labels (temperature scaling).",
        "Temperature scaling keeps every arg-max, so accuracy does not change. It holds "
        "the scores in memory as float64: 8 bytes x rows x classes (80 MB for a million "
        "rows of 10 classes), briefly twice that while the blocks are joined.",
        (
            "softmax calibrate -i val.csv --label-column y",
            "softmax calibrate -i val.csv --label-column y --apply",
        ),
        (
            LABELS,
            LABEL_COLUMN,
            IGNORE_LABEL,
            APPLY,
            BINS,
            ECE_NORM,
            BINNING,
            CLASSWISE,
            SAMPLE_WEIGHT_COLUMN,
            SAMPLE_WEIGHTS,
            *_READING,
            CALIBRATION_FORMAT,
            *_SHOWING,
        ),
        runner="calibrate",
    ),
    Command(
        "logsumexp",
        "Row-wise log sum exp(x/T): the log of softmax's normaliser.",
        "Computed as max/T + log1p(sum of the rest after the shift), so a tiny sum past a "
        "gap of 40 is kept. A row holding +inf gives +inf; a row of only -inf gives -inf.",
        (
            "softmax logsumexp 2 1 0.1",
            'softmax logsumexp "0,-40;3,1" -o json',
            'softmax logsumexp "2,1;0.5,3" --reduction sum',
        ),
        (
            TEMPERATURE,
            DTYPE,
            ROW_REDUCTION,
            LABEL_COLUMN,
            *_READING,
            *_CARRYING,
            VALUE_FORMAT,
            *_SHOWING,
        ),
        runner="logsumexp",
    ),
)

# hsoftmax's score columns are the tree's nodes, and a tree has no shift invariance.
_NODE_TEMPERATURE = replace(
    TEMPERATURE,
    help="Divide each node score by T > 0 (default 1), unshifted: sigmoids, unlike "
    "softmax, change when every score shifts.",
)
_NODE_HEADER = replace(
    HEADER,
    help="Whether the first line names the nodes, one per score column (default: "
    "detected); the class names come from --tree.",
)
_NODE_LABELS = replace(
    LABELS,
    help="One label per row: class names from --tree or 0-based indices, comma-separated (cat,1).",
)
_NODE_CLASSES = replace(
    CLASSES,
    help="Refused: the class names come from --tree, and the score columns are its "
    "nodes (a header line may name those).",
)

_SPARSE_OPTIONS = (
    TEMPERATURE,
    SPARSE_LOSS,
    LABELS,
    LABEL_COLUMN,
    IGNORE_LABEL,
    REDUCTION,
    *_READING,
    *_CARRYING,
    ROW_FORMAT,
    *_SHOWING,
)
_SPARSE_LOSS_NOTE = (
    " With --loss and labels it writes the loss instead, in the shape cross-entropy "
    "writes: ordinary cross-entropy is not defined where p(label) = 0."
)
COMMANDS += (
    Command(
        "sparsemax",
        "Sparsemax: the Euclidean projection of the scores onto the simplex, with exact zeros.",
        "Martins & Astudillo (2016), exact by sorting: p = max(z - τ, 0), where τ makes "
        "the row sum to 1. -inf gets 0; +inf rows share equally, as in softmax."
        + _SPARSE_LOSS_NOTE,
        (
            "softmax sparsemax 2 1 0.1",
            "softmax sparsemax -i logits.csv -o csv",
            "softmax sparsemax 2 1 0.1 --loss --labels 2",
        ),
        _SPARSE_OPTIONS,
        runner="sparse",
        operation=Operation.SPARSEMAX,
    ),
    Command(
        "entmax",
        "α-entmax: between softmax (α = 1) and sparsemax (α = 2), with exact zeros for α > 1.",
        "Peters, Niculae & Martins (2019): p = [(α-1) z - τ]_+^(1/(α-1)). α = 1.5 is exact "
        "by sorting; other α bisect τ to float64 precision." + _SPARSE_LOSS_NOTE,
        (
            "softmax entmax --alpha 1.5 2 1 0.1",
            "softmax entmax --alpha 1.2 -i logits.csv -o csv",
            "softmax entmax --alpha 1.5 2 1 0.1 --loss --labels 2",
        ),
        (ALPHA, *_SPARSE_OPTIONS),
        runner="sparse",
        operation=Operation.ENTMAX,
    ),
    Command(
        "hsoftmax",
        "Hierarchical softmax: class probabilities as products of sigmoids down a binary tree.",
        "Each row holds one score per internal node of the --tree; each class's "
        "probability is the product of sigmoid(±score) along its path (word2vec's points "
        "and codes). With --labels, the cross-entropy costs O(depth) per row. --huffman "
        "COUNTS writes a Huffman tree file from class counts.",
        (
            "softmax hsoftmax --tree animals.tree 0.5 -1 2",
            "softmax hsoftmax --tree animals.tree 0.5 -1 2 --log",
            "softmax hsoftmax --tree animals.tree 0.5 -1 2 -l cat",
            "softmax hsoftmax --huffman counts.csv",
        ),
        (
            TREE,
            HUFFMAN,
            LOG,
            _NODE_TEMPERATURE,
            _NODE_LABELS,
            REDUCTION,
            INPUT,
            DELIMITER,
            _NODE_HEADER,
            _NODE_CLASSES,
            *_CARRYING,
            ROW_FORMAT,
            *_SHOWING,
        ),
        runner="hsoftmax",
        operation=Operation.HSOFTMAX,
    ),
)

_MERGE_FORMAT = format_option(
    tuple(dict.fromkeys((*SUPPORTED[Output.EVALUATION], *SUPPORTED[Output.LOSSES]))),
    _BY_TERMINAL,
)
# merge has no --dtype: its precision help leaves that sentence out.
_MERGE_PRECISION = replace(PRECISION, help=PRECISION.help.split(" A cap:")[0])
COMMANDS += (
    Command(
        "merge",
        "Combine --partial outputs of evaluate or cross-entropy into one run's result.",
        "Shards of the data run anywhere with --partial; merge adds their sums and writes "
        "what one run over all the rows writes, in any of that command's formats (numbers "
        "equal to within rounding of the sums' order). Partials come from FILES, or stdin: "
        "one JSON document a line, or one after another. Options that change the numbers "
        "must agree. A partial keeps no per-row losses, so cross-entropy's json list of "
        "losses and its table rows are empty; --binning mass keeps every row and is refused.",
        (
            "softmax evaluate 2,1 -l 0 --partial | softmax merge",
            "softmax xent 2,1 -l 1 --partial | softmax merge -o json",
        ),
        (_MERGE_FORMAT, _MERGE_PRECISION, NO_COLOR),
        runner="merge",
        arguments=("FILES", "Partials written with --partial; - or none: stdin."),
    ),
)

DEFAULT_COMMAND = COMMANDS[0]

ROOT_OPTIONS: tuple[Option, ...] = (
    VERSION,
    Option(
        "install_completion",
        ("--install-completion",),
        "Install completion for the current shell.",
        action="completion",
    ),
    Option(
        "show_completion",
        ("--show-completion",),
        "Show completion for the current shell, to copy it or customize the installation.",
        action="completion",
    ),
    HELP,
)

ROOT_SUMMARY = "Turn scores (logits) into probabilities, log-probabilities and cross-entropy."
ROOT_DESCRIPTION = (
    "'softmax 2 1 0.1' is short for 'softmax probs 2 1 0.1'; SCORES, --input FILE or "
    "stdin give the scores. 'softmax COMMAND --help' tells more."
)
ROOT_EXAMPLES = (
    "softmax 2 1 0.1",
    "softmax probs -1 -2.5 3",
    "seq 5 | softmax probs",
    "softmax cross-entropy 2 1 0.1 --labels 0",
)
ROOT_EPILOG = (
    "Exit status: 0 ok, 1 bad data, 2 usage error, 130 interrupted, 143 terminated. "
    "NO_COLOR turns colour off; COLUMNS sets the width of tables and help. No config "
    "files are read, and nothing but stdout and stderr is written (--install-completion aside)."
)
SCORES_HELP = "Scores of one vector; commas join values, ';' starts a row."


def command_named(name: str) -> Command | None:
    """The command called ``name`` or one of its aliases."""
    for command in COMMANDS:
        if name == command.name or name in command.aliases:
            return command
    return None


def command_names() -> list[str]:
    """Every name a command answers to, aliases included."""
    return [name for command in COMMANDS for name in (command.name, *command.aliases)]
