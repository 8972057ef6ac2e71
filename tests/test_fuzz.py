"""Fuzzing the whole command line in-process: correct output or a placed one-line error.

Every test runs the real Typer app through ``CliRunner`` on generated input
(random bytes, delimited text mixing numbers, infinities, NaN, huge and
subnormal values, empty fields and junk, JSON that may be truncated, argument
tokens) and checks the promises of the interface, not particular outputs:

- no exception escapes and the backstop ("internal error") never fires;
- the exit code is 0, 1 or 2 and stderr is at most a few lines;
- a data error (exit 1) names where it is (line, column, argument or row);
- on success the output parses back and is valid: probabilities in [0, 1]
  that sum to 1 within 1e-12 per row, log-probabilities <= 0 whose
  log-sum-exp is 0, losses >= 0 and finite unless the input could overflow
  or masks a class with ``-inf``;
- on failure, what was already written still parses (no half-written row,
  no unclosed JSON document).

``HYPOTHESIS_PROFILE=long`` (see ``conftest.py``) runs many more cases.
"""

from __future__ import annotations

import csv
import json
import math
import re
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import special
from typer.testing import CliRunner

from softmax_cli.cli import app

runner = CliRunner()
# A NumPy warning would be noise on stderr: make it fail the run instead.
pytestmark = pytest.mark.filterwarnings("error")

FORMATS = ["csv", "tsv", "json", "ndjson", "table"]
PLACE = re.compile(r"\b(line|argument|row|column|value) \d+")
# Errors about the input as a whole, where no single place is to blame.
PLACELESS_DATA_ERRORS = re.compile(
    r"--labels gives \d+ labels for \d+ rows|the targets have more rows|every score is -inf"
    # The input as a whole is not text, or its compression or UTF-16/32 is damaged.
    r"|input is not text|input is a NumPy|\.npy file: "
    r"|input is (gzip|bz2|xz|UTF-\S+) but|not valid (gzip|bz2|xz)"
    # Both headers name the classes, and the names differ: a whole-file mismatch.
    r"|its classes \(.*\) are not the scores'"
)


# --- generated input ---------------------------------------------------------

moderate = st.floats(min_value=-60, max_value=60, allow_nan=False)
any_finite = st.floats(allow_nan=False, allow_infinity=False)
special_numbers = st.sampled_from(
    [
        "inf",
        "-inf",
        "+inf",
        "Infinity",
        "-Infinity",
        "INF",
        "nan",
        "-nan",
        "NaN",
        "1e400",
        "-1e400",
        "1e308",
        "-1e308",
        "1e-320",
        "5e-324",
        "-0",
        "0",
        "2.2250738585072014e-308",
    ]
)
number_text = st.one_of(
    moderate.map(repr),
    moderate.map(lambda value: f"{value:.3e}"),
    st.integers(-1000, 1000).map(str),
    any_finite.map(repr),
    special_numbers,
)
junk = st.sampled_from(
    ["", " ", "abc", "١", "٣.٥", "１", "1_0", "0x10", "--1", "1e", ".", "∞", "\x00", "'1'", '"2"']
)
field = st.one_of(number_text, number_text, number_text, number_text, junk)
names = st.text(alphabet='abcxyz_é,"[/]', min_size=1, max_size=4)


@dataclass
class Doc:
    """A generated input and what the generator knows about it."""

    data: bytes
    header: list[str] | None = None
    rows: int = 0


@st.composite
def delimited_docs(draw: st.DrawFn) -> Doc:
    width = draw(st.integers(1, 5))
    count = draw(st.integers(0, 6))
    separator = draw(st.sampled_from([",", "\t", " ", "  ", ", "]))
    ragged = draw(st.integers(0, 9)) == 0
    lines: list[str] = []
    header = None
    if draw(st.booleans()):
        header = draw(st.lists(names, min_size=width, max_size=width, unique=True))
        lines.append(separator.join(header))
    for _ in range(count):
        size = draw(st.integers(0, width + 1)) if ragged else width
        lines.append(separator.join(draw(st.lists(field, min_size=size, max_size=size))))
        if draw(st.integers(0, 7)) == 0:
            lines.append(draw(st.sampled_from(["", " ", "\t"])))
    end = draw(st.sampled_from(["\n", "\r\n"]))
    text = end.join(lines) + (end if draw(st.booleans()) else "")
    data = text.encode()
    if draw(st.integers(0, 5)) == 0:
        data = b"\xef\xbb\xbf" + data
    return Doc(data, header, count)


json_value = st.one_of(
    moderate,
    st.integers(-10, 10),
    st.sampled_from([None, True, False, "1", "x", [], [1], 10**400, 1e300]),
)


@st.composite
def json_docs(draw: st.DrawFn) -> Doc:
    width = draw(st.integers(1, 4))
    count = draw(st.integers(0, 4))
    clean = st.one_of(moderate, st.integers(-10, 10))
    element = st.one_of(clean, clean, clean, json_value)
    rows = [draw(st.lists(element, min_size=width, max_size=width)) for _ in range(count)]
    layout = draw(st.sampled_from(["document", "ndjson", "vector"]))
    if layout == "ndjson":
        text = "\n".join(json.dumps(row) for row in rows) + "\n"
    elif layout == "vector":
        text = json.dumps(rows[0] if rows else [])
    else:
        text = json.dumps(rows, indent=draw(st.sampled_from([None, 1])))
    text = text.replace("NaN", draw(st.sampled_from(["NaN", "-NaN", "null"])))
    if draw(st.booleans()):
        text = text.replace("1.0", draw(st.sampled_from(["Infinity", "-Infinity", "1e400"])), 1)
    if draw(st.integers(0, 3)) == 0:
        text = text[: draw(st.integers(0, max(len(text) - 1, 0)))]
    return Doc(text.encode(), None, count)


random_bytes = st.binary(max_size=64).map(lambda data: Doc(data))
any_doc = st.one_of(delimited_docs(), delimited_docs(), json_docs(), random_bytes)

temperatures = st.sampled_from(["1", "0.5", "2", "1e-3", "1e3", "1e-300", "1e300", "5e-324"])
precisions = st.one_of(st.none(), st.integers(0, 17))
delimiters = st.one_of(
    st.none(),
    st.none(),
    st.none(),
    st.sampled_from([",", "tab", "space", ";", "|", '"', "n", "e", ".", "-", "1", "#"]),
)


@st.composite
def shared_options(draw: st.DrawFn, formats: list[str] = FORMATS) -> list[str]:
    args = ["-o", draw(st.sampled_from(formats))]
    temperature = draw(st.one_of(st.none(), temperatures))
    if temperature is not None:
        args += ["-t", temperature]
    precision = draw(precisions)
    if precision is not None:
        args += ["--precision", str(precision)]
    delimiter = draw(delimiters)
    if delimiter is not None:
        args += ["--delimiter", delimiter]
    header = draw(st.sampled_from([None, "--header", "--no-header"]))
    if header is not None:
        args.append(header)
    return args


# --- checking what came out ----------------------------------------------------


def option(args: list[str], name: str, default: str | None = None) -> str | None:
    """The value given to option ``name`` in ``args``."""
    for index, token in enumerate(args[:-1]):
        if token == name:
            return args[index + 1]
    return default


def could_overflow(data: bytes, args: list[str]) -> bool:
    """True when the input holds a non-finite or huge score, or T can blow up a gap."""
    temperature = float(option(args, "-t", "1") or 1)
    largest = 0.0
    text = data.decode("utf-8", errors="replace")
    for token in re.split(r"[\s,;\[\]\"']+", text):  # split, so 1e+307 stays whole
        try:
            value = abs(float(token))
        except ValueError:
            continue
        if not math.isfinite(value):
            return True
        largest = max(largest, value)
    return largest >= 1e300 or 2 * largest / temperature > 1e300


def run(args: list[str], data: bytes = b""):
    """Invoke the app and check what holds for every run, whatever the outcome."""
    result = runner.invoke(app, args, input=data)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert result.exit_code in (0, 1, 2), (result.exit_code, result.stderr)
    stderr = result.stderr
    assert "Traceback" not in stderr, stderr
    assert "internal error" not in stderr, stderr
    assert len(stderr.splitlines()) <= 3, stderr
    if result.exit_code == 1:
        errors = [line for line in stderr.splitlines() if not line.startswith("softmax: note:")]
        first = errors[0] if errors else ""
        assert PLACE.search(first) or PLACELESS_DATA_ERRORS.search(first), stderr
    if result.exit_code != 0:
        assert stderr.strip(), "a failure must say why"
    return result


def _floats(fields: list[str]) -> list[float] | None:
    try:
        return [float(field) for field in fields]
    except ValueError:
        return None


def delimited_output(text: str, separator: str, header: bool) -> list[list[float]]:
    """Rows of a csv/tsv output; a header may only be the first line."""
    assert text == "" or text.endswith("\n"), f"half-written line: {text[-80:]!r}"
    rows: list[list[float]] = []
    names: list[str] | None = None
    lines = text.split("\n")[:-1]  # not splitlines: names may hold \v
    if header and lines:
        # A quoted name may hold a line break: the header is the first csv record.
        reader = csv.reader((line + "\n" for line in lines), delimiter=separator)
        fields = next(reader)
        if len(fields) > 1:  # one column prints no header
            names = fields
            lines = lines[reader.line_num :]
    for number, line in enumerate(lines):
        values = _floats(line.split(separator))
        assert values is not None, f"line {number + 1} is not numbers: {line!r}"
        rows.append(values)
    widths = {len(row) for row in rows}
    assert len(widths) <= 1, widths
    if names is not None and rows:
        assert len(names) == len(rows[0]), (names, rows[0])
    return rows


def json_rows(text: str, finished: bool, key: str = "rows") -> list[list[float | None]]:
    if not text:
        assert not finished
        return []
    document = json.loads(text)
    rows = document.get(key, [])
    if document.get("classes") is not None and rows:
        assert len(document["classes"]) == len(rows[0]), document
    return rows


def ndjson_rows(text: str) -> list:
    assert text == "" or text.endswith("\n"), text[-80:]
    return [json.loads(line) for line in text.split("\n")[:-1]]


def tolerance(args: list[str], width: int) -> float:
    precision = option(args, "--precision")
    if precision is None:
        return 1e-12
    digits = max(int(precision), 1)
    return width * 0.5 * 10.0 ** (1 - digits) + 1e-12


def check_probability_rows(rows: list[list[float]], args: list[str]) -> None:
    if rows and len(rows[0]) == 1 and not all(row[0] == 1.0 for row in rows):
        rows = [[row[0] for row in rows]]  # a single vector, one value per line
    for row in rows:
        assert all(value is not None for value in row), row
        values = np.array(row, dtype=float)
        assert ((values >= 0) & (values <= 1)).all(), row
        assert abs(values.sum() - 1.0) <= tolerance(args, len(row)), (row, values.sum())


def check_log_probability_rows(rows: list[list[float | None]], args: list[str]) -> None:
    rows = [[-math.inf if value is None else value for value in row] for row in rows]
    if rows and len(rows[0]) == 1 and not all(row[0] == 0.0 for row in rows):
        rows = [[row[0] for row in rows]]
    for row in rows:
        values = np.array(row, dtype=float)
        assert (values <= 0).all(), row
        assert not np.isnan(values).any(), row
        if option(args, "--precision") is None:
            assert abs(special.logsumexp(values)) <= 1e-12 * max(1, len(row)), row


def input_has_header(data: bytes, args: list[str]) -> bool:
    """The interface's header rule, applied to the first non-blank line of delimited input."""
    if "--header" in args or "--no-header" in args:
        return "--header" in args
    text = data.decode("utf-8", errors="replace").removeprefix("\ufeff")
    # CR alone ends a line too (old Mac files), as the readers treat it.
    lines = [line for line in re.split(r"\r\n|\r|\n", text) if line.strip()]
    if not lines or (lines[0].lstrip().startswith("[") and option(args, "--delimiter") is None):
        return False  # JSON, unless a delimiter says the input is delimited text
    first = lines[0]
    named = {"tab": "\t", "comma": ",", "space": " "}
    delimiter = option(args, "--delimiter")
    delimiter = named.get(delimiter, delimiter)
    if delimiter is None:
        outside = re.sub(r'"[^"]*"', "", first)
        delimiter = next((d for d in "\t,;|" if d in outside), " ")
    # RFC 4180: quoting is removed before a field is judged.
    fields = next(csv.reader([first.strip()], delimiter=delimiter, skipinitialspace=True), [])
    return any(field.strip() and _floats([field.strip()]) is None for field in fields)


def check_rows_output(result, args: list[str], data: bytes = b"") -> None:
    fmt = option(args, "-o")
    operation = args[0]
    finished = result.exit_code == 0
    text = result.stdout
    if fmt == "table":
        assert finished or not text.startswith("Traceback")
        return
    if fmt in ("csv", "tsv"):
        header = input_has_header(data, args)
        rows = delimited_output(text, "," if fmt == "csv" else "\t", header)
    elif fmt == "json":
        rows = json_rows(text, finished)
    else:
        rows = ndjson_rows(text)
    if operation == "probs":
        check_probability_rows(rows, args)
    else:
        check_log_probability_rows(rows, args)


def check_losses(result, args: list[str], data: bytes) -> None:
    fmt = option(args, "-o")
    reduction = option(args, "--reduction", "mean")
    text = result.stdout
    finished = result.exit_code == 0
    losses: list[float | None]
    if fmt == "table":
        return
    if fmt in ("csv", "tsv"):
        assert text == "" or text.endswith("\n"), text[-80:]
        lines = text.splitlines()
        if reduction == "none" and input_has_header(data, args) and lines:
            assert lines.pop(0) == "loss", text[:80]  # per-row losses of a headed input
        losses = [float(line) for line in lines]
        if finished and reduction != "none":
            assert len(losses) == 1, text
    elif fmt == "json":
        if not text:
            assert not finished
            return
        document = json.loads(text)
        losses = list(document["losses"])
        if finished:
            losses.append(document["loss"])
    else:
        losses = []
        for line in ndjson_rows(text):
            losses.append(line["loss"] if isinstance(line, dict) else line)
    overflow = could_overflow(data, args)
    for loss in losses:
        if loss is None or (isinstance(loss, float) and math.isnan(loss)):
            assert "so the mean loss is NaN" in result.stderr or overflow, (losses, result.stderr)
            continue
        assert loss >= 0, losses
        assert math.isfinite(loss) or overflow, losses


# --- the properties ------------------------------------------------------------


@given(st.sampled_from(["probs", "logprobs"]), any_doc, shared_options())
def test_rows_from_stdin_are_valid_or_a_placed_error(command, doc, options):
    args = [command, *options]
    result = run(args, doc.data)
    check_rows_output(result, args, doc.data)


argument_token = st.lists(field, min_size=1, max_size=3).map(",".join)


@given(
    st.sampled_from(["probs", "logprobs"]),
    st.lists(st.one_of(argument_token, argument_token, st.just(";")), min_size=1, max_size=6),
    shared_options(),
)
def test_scores_as_arguments_are_valid_or_a_placed_error(command, tokens, options):
    args = [command, *options, *tokens]
    result = run(args)
    check_rows_output(result, args)


label_token = st.one_of(
    st.integers(-2, 5).map(str),
    st.sampled_from(["-100", "1.0", "1.5", "nan", "inf", "x", "a", "b", "", "1e400"]),
)


@given(
    any_doc,
    st.lists(label_token, max_size=7),
    st.sampled_from(["mean", "sum", "none"]),
    st.one_of(st.none(), st.sampled_from(["-100", "0", "2"])),
    st.one_of(st.none(), st.sampled_from(["0.1", "0.5"])),
    st.one_of(st.none(), st.sampled_from(["1,2", "0.5,1,2", "0,0,0", "1,1,1,1,1"])),
    shared_options(),
)
def test_cross_entropy_with_listed_labels(
    doc, labels, reduction, ignore, smoothing, weights, options
):
    args = ["cross-entropy", *options, "--reduction", reduction, "--labels", ",".join(labels)]
    if ignore is not None:
        args += ["--ignore-label", ignore]
    if smoothing is not None:
        args += ["--label-smoothing", smoothing]
    if weights is not None:
        args += ["--weights", weights]
    result = run(args, doc.data)
    check_losses(result, args, doc.data)


@given(
    delimited_docs(),
    st.one_of(st.integers(-1, 5).map(str), names),
    st.sampled_from(["mean", "sum", "none"]),
    st.one_of(st.none(), st.sampled_from(["-100", "0"])),
    shared_options(formats=["csv", "json", "ndjson"]),
)
def test_cross_entropy_with_a_label_column(doc, column, reduction, ignore, options):
    if doc.header is not None and column.isalpha() and len(doc.header) > 0:
        column = doc.header[len(column) % len(doc.header)]
    args = ["xent", *options, "--reduction", reduction, "--label-column", column]
    if ignore is not None:
        args += ["--ignore-label", ignore]
    result = run(args, doc.data)
    check_losses(result, args, doc.data)


@st.composite
def target_files(draw: st.DrawFn) -> bytes:
    width = draw(st.integers(1, 4))
    count = draw(st.integers(0, 5))
    lines = []
    for _ in range(count):
        if draw(st.integers(0, 4)) == 0:
            row = draw(st.lists(field, min_size=width, max_size=width))
        else:
            weights = draw(st.lists(st.floats(0, 10), min_size=width, max_size=width))
            total = sum(weights)
            row = [repr(w / total) if total else "0" for w in weights]
        lines.append(",".join(row))
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture(scope="module")
def targets_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("targets")


@given(
    data=any_doc,
    targets=target_files(),
    reduction=st.sampled_from(["mean", "sum", "none"]),
    options=shared_options(formats=["csv", "json", "ndjson", "table"]),
)
def test_cross_entropy_with_soft_targets(targets_dir, data, targets, reduction, options):
    path = targets_dir / "targets.csv"
    path.write_bytes(targets)
    args = ["xent", *options, "--reduction", reduction, "--targets", str(path)]
    result = run(args, data.data)
    check_losses(result, args, data.data + b"\n" + targets)


@given(
    any_doc,
    st.one_of(st.none(), st.integers(-1, 4)),
    st.one_of(st.none(), temperatures),
    st.sampled_from(["table", "json"]),
)
def test_explain_is_valid_or_a_placed_error(doc, label, temperature, fmt):
    args = ["explain", "-o", fmt]
    if label is not None:
        args += ["--label", str(label)]
    if temperature is not None:
        args += ["-t", temperature]
    result = run(args, doc.data)
    if result.exit_code == 0 and fmt == "json":
        steps = json.loads(result.stdout)
        probs = np.array(steps["probs"], dtype=float)
        assert ((probs >= 0) & (probs <= 1)).all()
        assert abs(probs.sum() - 1.0) <= 1e-12


@st.composite
def one_bad_value(draw: st.DrawFn) -> tuple[bytes, int, int, int]:
    """Clean numeric rows with one bad token: the input, its line, its column, rows before it."""
    width = draw(st.integers(1, 4))
    count = draw(st.integers(1, 6))
    rows = [[repr(draw(moderate)) for _ in range(width)] for _ in range(count)]
    bad_row = draw(st.integers(0, count - 1))
    bad_column = draw(st.integers(0, width - 1))
    bad = ["nan", "-nan", "abc", "1..2", "NaN"] + ([""] if width > 1 else [])  # "" alone: blank
    rows[bad_row][bad_column] = draw(st.sampled_from(bad))
    separator = draw(st.sampled_from([",", "\t"]))
    blank_first = draw(st.booleans())
    lines = ([""] if blank_first else []) + [separator.join(row) for row in rows]
    data = "\n".join(lines).encode() + b"\n"
    line = bad_row + 1 + blank_first
    return data, line, bad_column + 1, bad_row


@given(one_bad_value(), st.sampled_from(["probs", "logprobs"]), st.sampled_from(["csv", "json"]))
def test_a_bad_value_is_reported_at_its_line_after_the_rows_before_it(case, command, fmt):
    data, line, column, before = case
    result = run([command, "-o", fmt, "--no-header"], data)
    assert result.exit_code == 1, result.stdout
    assert f"line {line}" in result.stderr, (result.stderr, data)
    width = len(data.splitlines()[line - 1].split(b"," if b"," in data else b"\t"))
    if width > 1:
        if fmt == "csv":
            assert len(result.stdout.splitlines()) == before
        else:
            assert len(json.loads(result.stdout)["rows"]) == before
