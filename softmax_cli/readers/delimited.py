"""Delimited text: the layout, the fast and slow parsers, the label and kept columns.

Quoting follows RFC 4180: a field may be wrapped in double quotes, a quote
inside one is doubled, and a quoted field may hold the delimiter and line
breaks.  Quoting is removed before anything else looks at a field, so
``"1","2"`` is two numbers.  White space around a field is not part of it.
Only lines that hold a quote go through Python's ``csv`` module; plain lines
keep the fast parsers.
"""

from __future__ import annotations

import csv
import functools
import io
import re
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from softmax_cli import native
from softmax_cli.errors import DataError, UsageError
from softmax_cli.labels import explained, label_value
from softmax_cli.numerics import FloatArray

from .blocks import Block, looks_numeric, parse_number
from .text import MAX_LINE_BYTES, decode_line, is_blank, line_numbers_of, split_fields


@dataclass
class Layout:
    """How a delimited row is split: its delimiter, width, label column and kept columns."""

    delimiter: str | None
    width: int
    label_index: int | None
    label_lookup: dict[str, int]
    #: ``--keep``: the columns carried as text, in the order asked for.
    kept: tuple[int, ...] = ()
    #: ``--sample-weight-column``: a numeric column taken out of the scores.
    weight_index: int | None = None

    @property
    def score_columns(self) -> list[int]:
        """The columns that hold scores: all but the label, weight and kept columns."""
        taken = set(self.kept) | {self.label_index, self.weight_index}
        return [column for column in range(self.width) if column not in taken]


def split_record(text: str, delimiter: str | None, line: int | None = None) -> list[str]:
    """The fields of one record, quoting removed and white space around each field dropped.

    Raises DataError (on ``line``) for quoting ``csv`` cannot read, such as a
    line break after a quote that does not open a field.
    """
    if '"' not in text:
        return split_fields(text, delimiter)
    reader = csv.reader(
        [text.strip()], delimiter=delimiter or " ", skipinitialspace=True, strict=False
    )
    try:
        return [field.strip() for field in next(reader, [])]
    except csv.Error:
        raise DataError("a quote is not closed, or stands inside a field", line=line) from None


def records(raw: bytes, first_line: int) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` of each non-blank record; a quoted field may span lines.

    Raises DataError for a quote still open at the end of ``raw``.
    """
    lines = raw.split(b"\n")
    if lines and not lines[-1]:
        lines.pop()
    index = 0
    while index < len(lines):
        raw_line = lines[index]
        number = first_line + index
        index += 1
        if is_blank(raw_line):
            continue
        text = decode_line(raw_line)
        if '"' in text:
            while text.count('"') % 2:
                if index == len(lines):
                    raise DataError("a quoted field is not closed", line=number)
                text += "\n" + decode_line(lines[index])
                index += 1
        yield number, text


NO_HEADER = "the input has no header to find it in"


def resolve_kept_columns(
    keep: Sequence[str], names: list[str] | None, width: int, no_header: str = NO_HEADER
) -> tuple[int, ...]:
    """``--keep``: the 0-based index of each column given by header name or by index;
    ``no_header`` says why a name cannot be found when there is no header."""
    indices = []
    for column in keep:
        if names is not None and column in names:
            indices.append(names.index(column))
            continue
        try:
            index = int(column)
        except ValueError:
            if names is None:
                message = f"{column!r}: {no_header}"
            else:
                message = f"{column!r}: no such column (columns: {', '.join(names)})"
            raise UsageError(message, option="--keep") from None
        if not 0 <= index < width:
            raise UsageError(f"{index} is out of range for {width} columns", option="--keep")
        indices.append(index)
    return tuple(indices)


def resolve_label_column(
    column: str | None,
    names: list[str] | None,
    width: int,
    option: str = "--label-column",
    no_header: str = NO_HEADER,
) -> int | None:
    if column is None:
        return None
    if names is not None and column in names:
        return names.index(column)
    try:
        index = int(column)
    except ValueError:
        if names is None:
            raise UsageError(f"{option} {column!r}: {no_header}") from None
        raise UsageError(
            f"{option} {column!r}: no such column (columns: {', '.join(names)})"
        ) from None
    if not 0 <= index < width:
        raise UsageError(f"{option} {index} is out of range for {width} columns")
    return index


@dataclass
class Parsed:
    """Rows parsed from one chunk: scores, labels, kept text, and their line numbers."""

    values: FloatArray
    labels: FloatArray | None
    kept: list[list[str]] | None
    lines: list[int] | None = None
    weights: FloatArray | None = None


def _parse_slowly(raw: bytes, first_line: int, layout: Layout) -> tuple[Parsed, DataError | None]:
    """Parse a chunk record by record: the rows before the first bad line, and its error."""
    rows: list[list[float]] = []
    labels: list[float] = []
    weights: list[float] = []
    kept: list[list[str]] = []
    lines: list[int] = []
    error: DataError | None = None
    score_columns = layout.score_columns
    try:
        for number, text in records(raw, first_line):
            fields = split_record(text, layout.delimiter, number)
            if len(fields) != layout.width:
                raise DataError(
                    f"line {number} has {len(fields)} values, expected {layout.width}",
                    line=number,
                    placed=True,
                )
            row: list[float] = []
            for column in score_columns:
                row.append(_number(fields[column], number, column + 1))
            if layout.label_index is not None:
                labels.append(
                    _label_value(fields[layout.label_index], layout, number, layout.label_index + 1)
                )
            if layout.weight_index is not None:
                column = layout.weight_index
                weights.append(_number(fields[column], number, column + 1))
            if layout.kept:
                kept.append([fields[column] for column in layout.kept])
            rows.append(row)
            lines.append(number)
    except DataError as problem:
        error = problem
        del labels[len(rows) :], kept[len(rows) :], weights[len(rows) :]
    values = np.array(rows, dtype=np.float64).reshape(len(rows), len(score_columns))
    label_array = np.array(labels, dtype=np.float64) if layout.label_index is not None else None
    weight_array = np.array(weights, dtype=np.float64) if layout.weight_index is not None else None
    parsed = Parsed(values, label_array, kept if layout.kept else None, lines, weight_array)
    return parsed, error


def _number(text: str, line: int, column: int) -> float:
    try:
        return parse_number(text)
    except ValueError:
        if not text:
            raise DataError("empty value", line=line, column=column) from None
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise DataError(f"{shown!r} is not a number", line=line, column=column) from None


def _label_value(text: str, layout: Layout, line: int, column: int) -> float:
    if not text:
        raise DataError("empty value", line=line, column=column)
    try:
        return label_value(text, layout.label_lookup)
    except ValueError:
        raise DataError(f"label {explained(text, None)}", line=line, column=column) from None


# Bytes a chunk may hold for the JSON route: JSON numbers, separators, line ends.
_JSON_NUMBER_BYTES = b"0123456789+-.eE,\n\r\t "
# Everything but the separators, so a chunk's shape is ``,`` and ``\n`` alone.
_NOT_SEPARATORS = b"0123456789+-.eE\r\t "
_MINUS_ZERO_INTEGER = re.compile(rb"-0(?![0-9.eE])")


def _rectangular(body: bytes, width: int) -> bool:
    """True when every line of ``body`` holds exactly ``width`` comma-separated fields.

    Only the separators are kept (one ``translate``, in C), and they must be the
    same ``width - 1`` commas and a newline, line after line: no per-row work.
    """
    separators = body.translate(None, _NOT_SEPARATORS)
    row = b"," * (width - 1)
    lines = separators.count(b"\n")
    return (
        len(separators) == lines * width + width - 1 and separators == (row + b"\n") * lines + row
    )


def _parse_as_json(raw: bytes, layout: Layout) -> FloatArray | None:
    """A chunk of plain decimal numbers read as one flat JSON array; None if it is not one.

    orjson reads a JSON number to the same float64 as Python's ``float`` (correctly
    rounded), and JSON numbers are a subset of Python's float syntax, so whatever
    this accepts reads exactly as the slow path would.  Anything else (``inf``,
    ``+1``, ``.5``, blank or ragged lines, quotes, words) returns None.  One flat
    array and a reshape, instead of a list per row, keep narrow rows cheap.
    """
    delimiter = layout.delimiter
    if delimiter is None:
        # Runs of white space: only a single column has no separator to translate.
        if layout.width != 1 or b" " in raw or b"\t" in raw or b"," in raw:
            return None
    elif delimiter in ("\t", ";", "|"):
        if b"," in raw:
            return None
        raw = raw.replace(delimiter.encode(), b",")
    elif delimiter != ",":
        return None
    # Blank lines at the end (the last chunk always has one) hold no rows.
    body = raw.rstrip(b"\r\n")
    if not body or body.translate(None, _JSON_NUMBER_BYTES):
        return None
    if not _rectangular(body, layout.width):
        return None
    import orjson

    try:
        flat = np.array(orjson.loads(b"[" + body.replace(b"\n", b",") + b"]"), dtype=np.float64)
    except (ValueError, TypeError):
        return None
    if flat.ndim != 1 or flat.shape[0] % layout.width:
        return None
    table = flat.reshape(-1, layout.width)
    # JSON reads the integer ``-0`` as 0; Python's float keeps the sign.  Only a zero
    # among the scores can have been one (labels read ``-0`` as class 0 either way).
    if not table.all():
        zeros = table == 0
        if layout.label_index is not None:
            zeros[:, layout.label_index] = False
        if zeros.any() and _MINUS_ZERO_INTEGER.search(raw):
            return None
    return table


def _numeric_labels_only(layout: Layout) -> bool:
    """True when no class name could be mistaken for a number in the label column."""
    return _no_numeric_name(tuple(layout.label_lookup))


@functools.lru_cache(maxsize=16)
def _no_numeric_name(names: tuple[str, ...]) -> bool:
    """Once per set of names, not once per chunk: ``float`` of a word raises, which is slow."""
    return not any(looks_numeric(name) for name in names)


def _parse_fast(raw: bytes, layout: Layout) -> Parsed | None:
    """orjson or NumPy's C parser over a whole chunk; None when anything needs a closer look.

    Quoted text always takes the slow path.  Kept columns are cut out as text
    first, so ids like ``x1`` do not stop NumPy parsing the scores.
    """
    if b'"' in raw:
        return None
    kept: list[list[str]] | None = None
    if layout.kept:
        kept = _kept_text(raw, layout)
        if kept is None:
            return None
    elif _numeric_labels_only(layout):
        table = native.parse_table(raw, layout.delimiter, layout.width)
        if table is None:
            table = _parse_as_json(raw, layout)
        if table is not None:
            return _split_columns(table, range(layout.width), layout, None)
    converters = None
    if layout.label_index is not None and layout.label_lookup:
        lookup = {name.encode(): float(index) for name, index in layout.label_lookup.items()}

        def label_or_name(text: str | bytes) -> float:
            key = text.encode("latin-1") if isinstance(text, str) else text
            key = key.strip()
            return lookup[key] if key in lookup else float(key)

        converters = {layout.label_index: label_or_name}
    numeric = layout.score_columns
    if layout.label_index is not None:
        numeric = sorted([*numeric, layout.label_index])
    if layout.weight_index is not None:
        numeric = sorted([*numeric, layout.weight_index])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table = np.loadtxt(
                io.BytesIO(raw),
                delimiter=layout.delimiter,
                dtype=np.float64,
                ndmin=2,
                comments=None,
                converters=converters,
                encoding="latin-1",
                usecols=numeric if layout.kept else None,
            )
    except (ValueError, KeyError, TypeError, IndexError):
        return None
    if table.shape[0] == 0:
        return Parsed(
            np.empty((0, len(layout.score_columns))),
            np.empty(0) if layout.label_index is not None else None,
            [] if layout.kept else None,
            weights=np.empty(0) if layout.weight_index is not None else None,
        )
    if table.shape[1] != len(numeric) or (kept is not None and len(kept) != table.shape[0]):
        return None
    if layout.kept:
        return _split_columns(table, numeric, layout, kept)
    return _split_columns(table, range(layout.width), layout, kept)


def _split_columns(
    table: FloatArray, columns: Sequence[int], layout: Layout, kept: list[list[str]] | None
) -> Parsed:
    """Scores, labels and sample weights out of ``table``, whose columns are ``columns``
    (a range when it holds every column: a list would cost a wide row's width per chunk)."""
    weights = None
    if layout.weight_index is not None:
        at = columns.index(layout.weight_index)
        weights = table[:, at].copy()
        table = np.delete(table, at, axis=1)
        columns = [*columns[:at], *columns[at + 1 :]]
    label_at = None if layout.label_index is None else columns.index(layout.label_index)
    values, labels = _split_labels(table, label_at)
    return Parsed(values, labels, kept, weights=weights)


def _kept_text(raw: bytes, layout: Layout) -> list[list[str]] | None:
    """The kept columns' text of every row; None when a row has the wrong width."""
    kept = []
    columns = layout.kept
    for line in raw.decode("utf-8", errors="replace").split("\n"):
        if not line.strip():
            continue
        fields = split_fields(line.rstrip("\r"), layout.delimiter)
        if len(fields) != layout.width:
            return None
        kept.append([fields[column] for column in columns])
    return kept


def _split_labels(
    table: FloatArray, label_index: int | None
) -> tuple[FloatArray, FloatArray | None]:
    """Scores and, with a label column at ``label_index``, the labels taken out of them."""
    if label_index is None:
        return table, None
    labels = table[:, label_index].copy()
    # Two slice copies: what np.delete gives, without its index arrays.
    values = np.empty((table.shape[0], table.shape[1] - 1))
    values[:, :label_index] = table[:, :label_index]
    values[:, label_index:] = table[:, label_index + 1 :]
    return values, labels


def whole_records(chunks: Iterator[tuple[bytes, int]]) -> Iterator[tuple[bytes, int]]:
    """Join chunks so none ends inside a quoted field (a quoted line break is not a row end)."""
    pending = b""
    pending_start = 0
    for raw, start in chunks:
        if pending:
            raw, start, pending = pending + raw, pending_start, b""
        if b'"' in raw and raw.count(b'"') % 2:
            if len(raw) > MAX_LINE_BYTES:
                raise DataError(
                    f"a quoted field that starts on line {start} or later is not closed "
                    f"within {MAX_LINE_BYTES >> 20} MiB",
                    line=start,
                    placed=True,
                )
            pending, pending_start = raw, start
            continue
        yield raw, start
    if pending:
        yield pending, pending_start


def parse_chunk(
    raw: bytes, first_line: int, layout: Layout
) -> tuple[Block | None, DataError | None]:
    """One chunk of whole records: its rows (None if none) and the error of a bad line.

    The rows are those before the bad line, so they can be written before the error.
    """
    parsed = _parse_fast(raw, layout)
    error = None
    if parsed is None:
        parsed, error = _parse_slowly(raw, first_line, layout)
    if not parsed.values.shape[0]:
        return None, error
    block = Block(
        values=parsed.values,
        first_line=first_line,
        line_numbers=line_numbers_of(raw, first_line)
        if parsed.lines is None
        else (lambda lines=parsed.lines: lines),
        labels=parsed.labels,
        kept=parsed.kept,
        weights=parsed.weights,
    )
    return block, error


def delimited_blocks(chunks: Iterator[tuple[bytes, int]], layout: Layout) -> Iterator[Block]:
    """Blocks of rows from chunks of delimited text; a bad line ends them with its DataError."""
    for raw, first_line in chunks:
        block, error = parse_chunk(raw, first_line, layout)
        if block is not None:
            yield block
        if error is not None:
            raise error


def single_vector_block(blocks: Iterator[Block]) -> Iterator[Block]:
    """Join a one-column input into one row: ``seq 5 | softmax`` is one vector."""
    parts: list[FloatArray] = []
    first_line = None
    for block in blocks:
        if first_line is None:
            first_line = block.first_line
        nan = np.isnan(block.values[:, 0])
        if nan.any():
            # Found here, where each value still has its line; in the joined vector it has none.
            raise DataError("value is NaN", line=block.line_of(int(np.argmax(nan))), column=1)
        parts.append(block.values[:, 0] if block.values.shape[1] else block.values[:, :0])
    if not parts:
        return
    vector = np.concatenate(parts)[np.newaxis, :]
    yield Block(values=np.ascontiguousarray(vector), first_line=first_line or 1)
