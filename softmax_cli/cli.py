"""The command line: options wired to readers, the core and writers.

Errors are turned into one stderr line and an exit code in exactly one place,
``SoftmaxGroup.main``.  NumPy, Rich and the readers are imported inside the
commands, so ``--help``, ``--version`` and shell completion stay fast.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, Sequence
from enum import Enum
from typing import Annotated, Any, BinaryIO

import typer
from typer._click.core import Context
from typer._click.exceptions import ClickException, UsageError
from typer.core import TyperCommand, TyperGroup
from typer.core import TyperOption as Option

from .entry import (
    FORMATS,
    PROGRAM,
    REDUCTIONS,
    default_format,
    exit_code_for,
    is_terminal,
    looks_like_scores,
    say,
    silence_stdout,
    stdout_bytes,
    write_losses,
    write_rows,
)
from .errors import ExitCode, InputUsageError

DEFAULT_COMMAND = "probs"


# --- number-looking arguments and the `softmax 2 1 0.1` shorthand --------------


class ScoresCommand(TyperCommand):
    """A command whose number-looking tokens are always scores, never options.

    Click would read ``-1`` as an option and ``-inf`` as ``-i nf``; here every
    token that is not an option (or an option's value) is moved behind ``--``
    in its original order before Click parses.
    """

    def _options_taking_values(self) -> set[str]:
        names: set[str] = set()
        for param in self.params:
            if isinstance(param, Option) and not param.is_flag and not param.count:
                names.update(param.opts)
        return names

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        takes_value = self._options_taking_values()
        options: list[str] = []
        scores: list[str] = []
        tokens = iter(args)
        for token in tokens:
            if token == "--":
                scores.extend(tokens)
                break
            if token == "-" or not token.startswith("-") or looks_like_scores(token):
                scores.append(token)
                continue
            options.append(token)
            if "=" not in token and token in takes_value:
                value = next(tokens, None)
                if value is not None:
                    options.append(value)
        return super().parse_args(ctx, [*options, "--", *scores] if scores else options)


class SoftmaxGroup(TyperGroup):
    """Routes ``softmax 2 1 0.1`` to ``probs`` and reports every error in one place."""

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        # While completing, route only what is clearly the shorthand (`softmax 2 -o <TAB>`),
        # so that `softmax <TAB>` still offers the commands.
        completing = ctx.resilient_parsing
        if self._needs_default(args) and not (completing and not args):
            args = [DEFAULT_COMMAND, *args]
        return super().parse_args(ctx, args)

    def _needs_default(self, args: Sequence[str]) -> bool:
        if not args:
            return True
        first = args[0]
        if first in self.commands:
            return False
        if not first.startswith("-") and not looks_like_scores(first):
            return False  # a mistyped command: let Click say so (and suggest one)
        group_options = {opt for param in self.params for opt in param.opts}
        group_options.update({"--help", "-h"})
        return first not in group_options

    def invoke(self, ctx: Context) -> Any:
        # Typer would turn EPIPE into exit 1; a reader that stopped reading is no error.
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            silence_stdout()
            raise typer.Exit(ExitCode.OK) from None

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        code: int = ExitCode.OK
        try:
            result = super().main(
                args=args,
                prog_name=prog_name or PROGRAM,
                complete_var=complete_var,
                standalone_mode=False,
                **extra,
            )
            code = result if isinstance(result, int) else ExitCode.OK
        except UsageError as error:
            code = _report_usage(error)
        except ClickException as error:
            error.show()
            code = error.exit_code
        except typer.Abort:
            code = ExitCode.INTERRUPTED
        except (Exception, KeyboardInterrupt) as error:  # noqa: BLE001 - never a traceback
            code = exit_code_for(error)
        if standalone_mode:
            sys.exit(code)
        return code


def _report_usage(error: UsageError) -> int:
    command = error.ctx.command_path if error.ctx is not None else PROGRAM
    say(f"{command}: {error.format_message()}")
    say(f"Try '{command} --help' for help.")
    return error.exit_code


# --- the terminal, in one place tests can replace ---------------------------


def stdin_is_terminal() -> bool:
    """True when stdin is an interactive terminal (then we never wait on it)."""
    return is_terminal(sys.stdin)


def stdout_is_terminal() -> bool:
    """True when stdout is a terminal: tables for people, csv for pipes."""
    return is_terminal(sys.stdout)


# --- shared options ----------------------------------------------------------


# The choices Typer offers and checks, from the one list the quick entry point uses too.
OutputFormat = Enum("OutputFormat", {name: name for name in FORMATS}, type=str)
Reduction = Enum("Reduction", {name: name for name in REDUCTIONS}, type=str)


def _check_temperature(value: float) -> float:
    if not (value > 0 and value != float("inf")):
        raise typer.BadParameter(f"must be a finite number > 0, not {value:g}")
    return value


def _check_delimiter(value: str | None) -> str | None:
    if value is None:
        return None
    named = {"tab": "\t", "\\t": "\t", "comma": ",", "space": " ", "whitespace": " "}
    value = named.get(value, value)
    if len(value) != 1:
        raise typer.BadParameter("must be one character, or tab, comma or space")
    return value


def _check_smoothing(value: float) -> float:
    if not 0.0 <= value < 1.0:
        raise typer.BadParameter(f"must be at least 0 and below 1, not {value:g}")
    return value


def _show_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"{PROGRAM} {version('softmax-cli')}")
        raise typer.Exit()


Scores = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="SCORES",
        help="Scores of one vector; commas join values, ';' starts a row.",
        show_default=False,
    ),
]
Temperature = Annotated[
    float,
    typer.Option(
        "-t",
        "--temperature",
        metavar="T",
        callback=_check_temperature,
        help="Divide the max-shifted scores by T > 0.",
    ),
]
InputFile = Annotated[
    str | None,
    typer.Option(
        "-i",
        "--input",
        metavar="FILE",
        help="Read scores from FILE ('-' is stdin).",
        rich_help_panel="Input",
    ),
]
Format = Annotated[
    OutputFormat | None,
    typer.Option(
        "-o",
        "--format",
        metavar="FORMAT",
        show_default=False,
        help="table, csv, tsv, json or ndjson (default: table on a terminal, csv otherwise).",
        rich_help_panel="Output",
    ),
]
Precision = Annotated[
    int | None,
    typer.Option(
        "--precision",
        min=0,
        max=17,
        metavar="N",
        help="Digits: decimals in tables (default 4), significant digits elsewhere "
        "(default: shortest exact form).",
        rich_help_panel="Output",
    ),
]
Delimiter = Annotated[
    str | None,
    typer.Option(
        "--delimiter",
        metavar="C",
        callback=_check_delimiter,
        help="Input field separator: a character, tab, comma or space (default: detected).",
        rich_help_panel="Input",
    ),
]
Header = Annotated[
    bool | None,
    typer.Option(
        "--header/--no-header",
        show_default=False,
        help="Whether the first line names the classes (default: detected).",
        rich_help_panel="Input",
    ),
]
NoColor = Annotated[
    bool,
    typer.Option(
        "--no-color", help="No colour in tables (as NO_COLOR does).", rich_help_panel="Output"
    ),
]


app = typer.Typer(
    name=PROGRAM,
    cls=SoftmaxGroup,
    help="""Turn scores (logits) into probabilities, log-probabilities and cross-entropy.

    Examples:

      softmax 2 1 0.1
      softmax probs -1 -2.5 3
      seq 5 | softmax probs
      softmax cross-entropy 2 1 0.1 --labels 0

    `softmax 2 1 0.1` is short for `softmax probs 2 1 0.1`; SCORES, --input FILE
    or stdin give the scores. `softmax COMMAND --help` tells more.""",
    epilog="""Exit status: 0 ok, 1 bad data, 2 usage error, 130 interrupted.

    Environment: NO_COLOR turns colour off, COLUMNS sets the width of tables and
    help. No config files are read, and nothing but stdout and stderr is written
    (--install-completion aside).""",
    add_completion=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Turn scores (logits) into probabilities, log-probabilities and cross-entropy."""


# --- plumbing shared by the commands -----------------------------------------


@contextlib.contextmanager
def _input_stream(path: str | None) -> Iterator[BinaryIO]:
    if path is None or path == "-":
        if path is None and stdin_is_terminal():
            raise InputUsageError(
                "no scores given: pass them as arguments (softmax 2 1 0.1), "
                "with --input FILE, or on stdin (softmax < scores.csv)"
            )
        yield sys.stdin.buffer
        return
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as error:
        raise InputUsageError(f"cannot read {path!r}: {error.strerror or error}") from None
    with handle:
        yield handle


@contextlib.contextmanager
def _scores(
    scores: list[str] | None,
    input_path: str | None,
    delimiter: str | None,
    header: bool | None,
    label_column: str | None = None,
) -> Iterator[Any]:
    from .readers import open_scores, scores_from_arguments

    if scores and input_path is not None:
        raise InputUsageError("give scores as arguments or with --input, not both")
    if scores:
        if label_column is not None:
            raise InputUsageError("--label-column needs input from a file or stdin")
        yield scores_from_arguments(scores)
        return
    with _input_stream(input_path) as stream:
        yield open_scores(stream, delimiter=delimiter, header=header, label_column=label_column)


def _format_name(requested: OutputFormat | None) -> str:
    if requested is not None:
        return requested.value
    return default_format(stdout_is_terminal())


# --- commands ----------------------------------------------------------------


def _row_command(operation_name: str, summary: str) -> Any:
    """A command that writes softmax or log-softmax of every row; both take the same options."""

    def command(
        scores: Scores = None,
        temperature: Temperature = 1.0,
        input_path: InputFile = None,
        output_format: Format = None,
        precision: Precision = None,
        delimiter: Delimiter = None,
        header: Header = None,
        no_color: NoColor = False,
    ) -> None:
        with _scores(scores, input_path, delimiter, header) as source:
            write_rows(
                source,
                operation_name,
                _format_name(output_format),
                temperature=temperature,
                precision=precision,
                no_color=no_color,
            )

    command.__doc__ = summary
    return command


probs = app.command("probs", cls=ScoresCommand)(
    _row_command(
        "softmax",
        """Row-wise softmax: probabilities that sum to 1 along each row.

    Examples:

      softmax probs -1 -2.5 3
      softmax probs 3,1,0.2 -t 0.5
      seq 5 | softmax probs
      softmax probs -i logits.csv -o csv > probs.csv

    Scores come from SCORES, --input FILE or stdin, one row per line.
    """,
    )
)
logprobs = app.command("logprobs", cls=ScoresCommand)(
    _row_command(
        "log_softmax",
        """Row-wise log-softmax, computed directly so it stays finite where probabilities underflow.

    Examples:

      softmax logprobs 1000 0
      cat logits.tsv | softmax logprobs

    Scores come from SCORES, --input FILE or stdin, one row per line.
    """,
    )
)


LabelList = Annotated[
    list[str] | None,
    typer.Option(
        "-l",
        "--labels",
        metavar="LABELS",
        help="One label per row: class indices from 0 or class names, "
        "comma-separated (e.g. 0,2,1).",
        rich_help_panel="Labels",
    ),
]
LabelColumn = Annotated[
    str | None,
    typer.Option(
        "--label-column",
        metavar="COL",
        help="Take the labels from this column (name or 0-based index).",
        rich_help_panel="Labels",
    ),
]


def _label_source(labels: list[str] | None, label_column: str | None, command: str) -> Any:
    from .pipeline import ColumnLabels, ListedLabels

    if labels is not None and label_column is not None:
        raise InputUsageError("give the labels one way: --labels or --label-column")
    if labels is None and label_column is None:
        raise InputUsageError(f"{command} needs labels: --labels 0,2,1 or --label-column COL")
    return ListedLabels(labels) if labels is not None else ColumnLabels()


def _parse_weights(text: str | None) -> list[float] | None:
    if text is None:
        return None
    try:
        weights = [float(piece) for piece in text.split(",") if piece.strip()]
    except ValueError:
        raise InputUsageError(f"--weights: {text!r} is not a list of numbers") from None
    if not weights or any(not (w >= 0 and w != float("inf")) for w in weights):
        raise InputUsageError("--weights must be finite numbers >= 0")
    return weights


def cross_entropy(
    scores: Scores = None,
    labels: LabelList = None,
    label_column: LabelColumn = None,
    targets: Annotated[
        str | None,
        typer.Option(
            "--targets",
            metavar="FILE",
            help="Soft targets: one row of probabilities per score row.",
            rich_help_panel="Labels",
        ),
    ] = None,
    reduction: Annotated[
        Reduction,
        typer.Option(
            "--reduction", help="How to combine the per-row losses.", rich_help_panel="Loss"
        ),
    ] = Reduction.mean,
    weights: Annotated[
        str | None,
        typer.Option(
            "--weights",
            metavar="W0,W1,...",
            help="Class weights, as PyTorch's weight.",
            rich_help_panel="Loss",
        ),
    ] = None,
    label_smoothing: Annotated[
        float,
        typer.Option(
            "--label-smoothing",
            metavar="E",
            callback=_check_smoothing,
            help="Label smoothing 0 <= E < 1, as PyTorch's.",
            rich_help_panel="Loss",
        ),
    ] = 0.0,
    ignore_label: Annotated[
        int | None,
        typer.Option(
            "--ignore-label",
            metavar="VALUE",
            help="Rows with this label add nothing (PyTorch's ignore_index, e.g. -100).",
            rich_help_panel="Labels",
        ),
    ] = None,
    temperature: Temperature = 1.0,
    input_path: InputFile = None,
    output_format: Format = None,
    precision: Precision = None,
    delimiter: Delimiter = None,
    header: Header = None,
    no_color: NoColor = False,
) -> None:
    """Cross-entropy of the scores against labels or soft targets, as PyTorch computes it.

    Examples:

      softmax cross-entropy 2 1 0.1 --labels 0
      softmax xent "2,1,0.1;0.5,2,1" --labels 0,1 --reduction none
      softmax xent -i eval.csv --label-column y
      softmax xent -i logits.csv --targets soft.csv --reduction none

    `xent` is short for `cross-entropy`.
    """
    from .pipeline import LossOptions

    given = sum(x is not None for x in (labels, label_column, targets))
    if given != 1:
        raise InputUsageError(
            "give the truth one way: --labels, --label-column or --targets"
            if given
            else "cross-entropy needs labels: --labels 0,2,1, --label-column COL or --targets FILE"
        )
    if targets is not None and ignore_label is not None:
        raise InputUsageError("--ignore-label goes with class labels, not --targets")
    options = LossOptions(
        reduction=reduction.value,
        temperature=temperature,
        class_weights=_parse_weights(weights),
        label_smoothing=label_smoothing,
        ignore_label=ignore_label,
    )
    with contextlib.ExitStack() as stack:
        source = stack.enter_context(_scores(scores, input_path, delimiter, header, label_column))
        target_source = None
        if targets is not None:
            if targets == "-" and (input_path in (None, "-") and not scores):
                raise InputUsageError("scores and --targets cannot both come from stdin")
            target_source = stack.enter_context(_scores(None, targets, None, None))
        label_source = (
            None if targets is not None else _label_source(labels, label_column, "cross-entropy")
        )
        write_losses(
            source,
            options,
            _format_name(output_format),
            precision=precision,
            no_color=no_color,
            labels=label_source,
            targets=target_source,
        )


app.command("cross-entropy", cls=ScoresCommand)(cross_entropy)
app.command("xent", cls=ScoresCommand, hidden=True)(cross_entropy)


# --- evaluate and calibrate --------------------------------------------------

Bins = Annotated[
    int,
    typer.Option(
        "--bins", min=1, max=100_000, metavar="M", help="Equal-width confidence bins for ECE/MCE."
    ),
]


def _parse_top_k(text: str) -> list[int]:
    try:
        values = [int(piece) for piece in text.split(",") if piece.strip()]
    except ValueError:
        raise InputUsageError(f"--top-k: {text!r} is not a list of whole numbers") from None
    if not values or any(k < 1 for k in values):
        raise InputUsageError("--top-k values must be whole numbers >= 1")
    return values


@app.command(cls=ScoresCommand)
def evaluate(
    scores: Scores = None,
    labels: LabelList = None,
    label_column: LabelColumn = None,
    top_k: Annotated[
        str, typer.Option("--top-k", metavar="K,...", help="Top-k accuracies to report.")
    ] = "1,5",
    bins: Bins = 15,
    temperature: Temperature = 1.0,
    input_path: InputFile = None,
    output_format: Format = None,
    precision: Precision = None,
    delimiter: Delimiter = None,
    header: Header = None,
    no_color: NoColor = False,
) -> None:
    """How good and how calibrated the scores are: NLL, accuracy, Brier, ECE and more.

    Examples:

      softmax evaluate -i preds.csv --label-column y
      softmax evaluate -i preds.csv --label-column y -o json
      softmax evaluate "2,1,0.1;0.5,2,1" --labels 0,2 --top-k 1,2 -o csv

    One streaming pass. ECE and MCE use --bins equal-width confidence bins, as in
    Guo et al. (2017); the table adds a reliability diagram, json/csv the numbers.
    """
    from .evaluation import run_evaluate
    from .reports import write_evaluation

    label_source = _label_source(labels, label_column, "evaluate")
    ks = _parse_top_k(top_k)
    with _scores(scores, input_path, delimiter, header, label_column) as source:
        report = run_evaluate(source, label_source, bins=bins, top_k=ks, temperature=temperature)
        out = stdout_bytes()
        write_evaluation(
            _format_name(output_format), out, report, source.classes, precision, no_color
        )


@app.command(cls=ScoresCommand)
def calibrate(
    scores: Scores = None,
    labels: LabelList = None,
    label_column: LabelColumn = None,
    apply: Annotated[
        bool,
        typer.Option("--apply", help="Write the calibrated probabilities instead of the report."),
    ] = False,
    bins: Bins = 15,
    input_path: InputFile = None,
    output_format: Format = None,
    precision: Precision = None,
    delimiter: Delimiter = None,
    header: Header = None,
    no_color: NoColor = False,
) -> None:
    """Fit the temperature T that minimises the NLL of the labels (temperature scaling).

    Examples:

      softmax calibrate -i val.csv --label-column y
      softmax calibrate -i val.csv --label-column y --apply -o csv

    Temperature scaling keeps every arg-max, so accuracy does not change. It holds
    the scores in memory as float64: 8 bytes x rows x classes (80 MB for a million
    rows of 10 classes), briefly twice that while the blocks are joined.
    """
    from .evaluation import collect, in_slices, run_calibrate

    label_source = _label_source(labels, label_column, "calibrate")
    with _scores(scores, input_path, delimiter, header, label_column) as source:
        rows, label_ints = collect(source, label_source)
    result = run_calibrate(rows, label_ints, bins=bins)
    format_name = _format_name(output_format)
    if apply:
        write_rows(
            in_slices(rows, source),
            "softmax",
            format_name,
            temperature=result.fit.temperature,
            precision=precision,
            no_color=no_color,
        )
        return
    from .reports import write_calibration

    out = stdout_bytes()
    write_calibration(format_name, out, result, source.classes, precision, no_color)


@app.command(cls=ScoresCommand)
def explain(
    scores: Scores = None,
    label: Annotated[
        str | None,
        typer.Option(
            "-l",
            "--label",
            metavar="CLASS",
            help="The true class (index from 0, or name from a header): "
            "adds cross-entropy and its gradient.",
        ),
    ] = None,
    temperature: Temperature = 1.0,
    sweep: Annotated[
        bool,
        typer.Option(
            "--sweep",
            help="Also show the distribution and its entropy at several temperatures "
            "(by default 0.1,0.5,1,2,10).",
        ),
    ] = False,
    sweep_temperatures: Annotated[
        str | None,
        typer.Option(
            "--sweep-temperatures",
            metavar="T1,T2,...",
            help="The temperatures of the sweep (implies --sweep).",
        ),
    ] = None,
    input_path: InputFile = None,
    output_format: Annotated[
        OutputFormat | None,
        typer.Option(
            "-o",
            "--format",
            metavar="FORMAT",
            show_default=False,
            help="table (text for people, also when piped) or json (default: table).",
            rich_help_panel="Output",
        ),
    ] = None,
    precision: Precision = None,
    no_color: NoColor = False,
) -> None:
    """Walk one vector through softmax step by step, for teaching.

    Examples:

      softmax explain 2 1 0.1 --label 0
      softmax explain 1000 0
      softmax explain 3 1 0.2 --sweep
      softmax explain 3 1 0.2 --sweep-temperatures 0.05,0.2,1,5 -o json

    Where the naive formula overflows (as for 1000 0), it shows both results.
    """
    from .explain import DEFAULT_SWEEP, derive, parse_temperatures, render_json, render_text

    if output_format is not None and output_format.value in ("csv", "tsv"):
        raise InputUsageError("explain writes a table or json, not csv or tsv")
    temperatures = None
    if sweep_temperatures is not None:
        temperatures = parse_temperatures(sweep_temperatures)
    elif sweep:
        temperatures = list(DEFAULT_SWEEP)
    with _scores(scores, input_path, None, None) as source:
        blocks = [block.values for block in source.blocks]
    import numpy as np

    rows = np.concatenate(blocks) if blocks else np.empty((0, 0))
    if rows.shape[0] != 1:
        raise InputUsageError(f"explain takes one vector, not {rows.shape[0]} rows")
    steps = derive(
        rows[0],
        temperature=temperature,
        label=label,
        classes=source.classes,
        temperatures=temperatures,
    )
    out = stdout_bytes()
    if output_format is not None and output_format.value in ("json", "ndjson"):
        out.write(render_json(steps))
    else:
        render_text(steps, out, precision=4 if precision is None else precision, no_color=no_color)
    out.flush()


def main() -> None:
    """Console-script entry point."""
    app()
