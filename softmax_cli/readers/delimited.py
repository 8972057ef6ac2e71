"""Delimited text: the layout, the fast and slow parsers, the label column."""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from softmax_cli.errors import DataError, InputUsageError
from softmax_cli.labels import explained, label_value
from softmax_cli.numerics import FloatArray

from .blocks import Block, looks_numeric, parse_number
from .text import decode_line, is_blank, line_numbers_of, split_fields


@dataclass
class Layout:
    delimiter: str | None
    width: int
    label_index: int | None
    label_lookup: dict[str, int]


def resolve_label_column(column: str | None, names: list[str] | None, width: int) -> int | None:
    if column is None:
        return None
    if names is not None and column in names:
        return names.index(column)
    try:
        index = int(column)
    except ValueError:
        if names is None:
            raise InputUsageError(
                f"--label-column {column!r}: the input has no header to find it in"
            ) from None
        raise InputUsageError(
            f"--label-column {column!r}: no such column (columns: {', '.join(names)})"
        ) from None
    if not 0 <= index < width:
        raise InputUsageError(f"--label-column {index} is out of range for {width} columns")
    return index


def _parse_slowly(
    raw: bytes, first_line: int, layout: Layout
) -> tuple[FloatArray, FloatArray | None, list[int], DataError | None]:
    """Parse a chunk line by line: the rows before the first bad line, and its error."""
    rows: list[list[float]] = []
    labels: list[float] = []
    lines: list[int] = []
    error: DataError | None = None
    for offset, raw_line in enumerate(raw.split(b"\n")):
        if is_blank(raw_line):
            continue
        number = first_line + offset
        fields = split_fields(decode_line(raw_line), layout.delimiter)
        if len(fields) != layout.width:
            error = DataError(
                f"line {number} has {len(fields)} values, expected {layout.width}",
                line=number,
                placed=True,
            )
            break
        row: list[float] = []
        try:
            for column, text in enumerate(fields, start=1):
                if column - 1 == layout.label_index:
                    labels.append(_label_value(text, layout, number, column))
                    continue
                try:
                    row.append(parse_number(text))
                except ValueError:
                    shown = text if len(text) <= 40 else text[:37] + "..."
                    raise DataError(
                        f"{shown!r} is not a number", line=number, column=column
                    ) from None
        except DataError as problem:
            error = problem
            if len(labels) > len(rows):
                labels.pop()
            break
        rows.append(row)
        lines.append(number)
    width = layout.width - (layout.label_index is not None)
    values = np.array(rows, dtype=np.float64).reshape(len(rows), width)
    label_array = np.array(labels, dtype=np.float64) if layout.label_index is not None else None
    return values, label_array, lines, error


def _label_value(text: str, layout: Layout, line: int, column: int) -> float:
    try:
        return label_value(text, layout.label_lookup)
    except ValueError:
        raise DataError(f"label {explained(text, None)}", line=line, column=column) from None


# Bytes a chunk may hold for the JSON route: JSON numbers, separators, line ends.
_JSON_NUMBER_BYTES = b"0123456789+-.eE,\n\r\t "
_MINUS_ZERO_INTEGER = re.compile(rb"-0(?![0-9.eE])")


def _parse_as_json(raw: bytes, layout: Layout) -> FloatArray | None:
    """A chunk of plain decimal numbers read as one JSON array of rows; None if it is not one.

    orjson reads a JSON number to the same float64 as Python's ``float`` (correctly
    rounded), and JSON numbers are a subset of Python's float syntax, so whatever
    this accepts reads exactly as the slow path would.  Anything else (``inf``,
    ``+1``, ``.5``, blank or ragged lines, quotes, words) returns None.
    """
    delimiter = layout.delimiter
    if delimiter is None:
        # Runs of white space: only a single column has no separator to translate.
        if layout.width != 1 or b" " in raw or b"\t" in raw or b"," in raw:
            return None
    elif delimiter == "\t":
        if b"," in raw:
            return None
        raw = raw.replace(b"\t", b",")
    elif delimiter != ",":
        return None
    # Blank lines at the end (the last chunk always has one) hold no rows.
    body = raw.rstrip(b"\r\n")
    if not body or body.translate(None, _JSON_NUMBER_BYTES):
        return None
    import orjson

    try:
        rows = orjson.loads(b"[[" + body.replace(b"\n", b"],[") + b"]]")
        table = np.array(rows, dtype=np.float64)
    except (ValueError, TypeError):
        return None
    if table.ndim != 2 or table.shape[1] != layout.width:
        return None
    # JSON reads the integer ``-0`` as 0; Python's float keeps the sign.
    if not table.all() and _MINUS_ZERO_INTEGER.search(raw):
        return None
    return table


def _numeric_labels_only(layout: Layout) -> bool:
    """True when no class name could be mistaken for a number in the label column."""
    return not any(looks_numeric(name) for name in layout.label_lookup)


def _parse_fast(raw: bytes, layout: Layout) -> tuple[FloatArray, FloatArray | None] | None:
    """orjson or NumPy's C parser over a whole chunk; None when anything needs a closer look."""
    table = _parse_as_json(raw, layout) if _numeric_labels_only(layout) else None
    if table is not None:
        return _split_labels(table, layout)
    converters = None
    if layout.label_index is not None and layout.label_lookup:
        lookup = {name.encode(): float(index) for name, index in layout.label_lookup.items()}

        def label_or_name(text: str | bytes) -> float:
            key = text.encode("latin-1") if isinstance(text, str) else text
            key = key.strip()
            return lookup[key] if key in lookup else float(key)

        converters = {layout.label_index: label_or_name}
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
            )
    except (ValueError, KeyError, TypeError, IndexError):
        return None
    if table.shape[0] == 0:
        return np.empty((0, layout.width - (layout.label_index is not None))), (
            np.empty(0) if layout.label_index is not None else None
        )
    if table.shape[1] != layout.width:
        return None
    return _split_labels(table, layout)


def _split_labels(table: FloatArray, layout: Layout) -> tuple[FloatArray, FloatArray | None]:
    """Scores and, with a label column, the labels taken out of them."""
    if layout.label_index is None:
        return table, None
    labels = table[:, layout.label_index].copy()
    values = np.ascontiguousarray(np.delete(table, layout.label_index, axis=1))
    return values, labels


def delimited_blocks(chunks: Iterator[tuple[bytes, int]], layout: Layout) -> Iterator[Block]:
    for raw, first_line in chunks:
        parsed = _parse_fast(raw, layout)
        if parsed is not None:
            values, labels = parsed
            if values.shape[0]:
                yield Block(
                    values=values,
                    first_line=first_line,
                    line_numbers=line_numbers_of(raw, first_line),
                    labels=labels,
                )
            continue
        values, labels, lines, error = _parse_slowly(raw, first_line, layout)
        if values.shape[0]:
            yield Block(
                values=values,
                first_line=first_line,
                line_numbers=lambda lines=lines: lines,
                labels=labels,
            )
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
