"""Writers: csv, tsv, json and ndjson, written block by block as rows are computed.

Floats are written in the shortest form that reads back as the same float64
(orjson's, which matches Python's ``repr`` in value), unless a precision is
asked for.  JSON has no infinities: a non-finite number is written as ``null``.
The ``table`` format lives in ``tables.py`` so that Rich loads only for it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import orjson

from .numerics import FloatArray
from .results import LossDetails, LossSummary, LossWriter, RowWriter

_NUMPY = orjson.OPT_SERIALIZE_NUMPY


def _rounded(values: FloatArray, precision: int | None) -> FloatArray:
    """Values rounded to ``precision`` significant digits (for JSON output)."""
    if precision is None:
        return values
    flat = [float(f"{value:.{precision}g}") for value in values.ravel().tolist()]
    return np.array(flat, dtype=np.float64).reshape(values.shape)


def float_text(value: float, precision: int | None) -> str:
    """One float as delimited text: shortest round-trip, or ``precision`` digits."""
    if precision is not None:
        return f"{value:.{precision}g}"
    return repr(float(value))


def _shortest_lines(values: FloatArray, separator: str) -> bytes:
    """Finite rows as text lines: one orjson array of every value, its commas rewritten in place.

    The flat array ``[a,b,c,d]`` has one comma between neighbours; every
    ``width``-th one ends a row.  Rewriting bytes in place keeps the length, so
    no pass over the text has to copy it (``bytes.replace`` of ``],[`` would).
    """
    width = values.shape[1]
    text = bytearray(
        orjson.dumps(np.ascontiguousarray(values, dtype=np.float64).ravel(), option=_NUMPY)
    )
    view = np.frombuffer(text, dtype=np.uint8)
    commas = np.flatnonzero(view == ord(","))
    if separator != ",":
        view[commas] = ord(separator)
    view[commas[width - 1 :: width]] = ord("\n")
    text[-1] = ord("\n")
    return memoryview(text)[1:].tobytes()


def delimited_lines(values: FloatArray, separator: str, precision: int | None) -> bytes:
    """Rows of a 2-D array as text lines, each value shortest round-trip.

    orjson formats a whole block in C; blocks holding a non-finite value (which
    JSON would turn into ``null``) fall back to Python's ``repr``.
    """
    if values.shape[0] == 0:
        return b""
    if precision is None and values.size and np.isfinite(values).all():
        return _shortest_lines(values, separator)
    return "".join(
        separator.join(float_text(value, precision) for value in row) + "\n"
        for row in values.tolist()
    ).encode()


def json_rows(values: FloatArray, precision: int | None) -> bytes:
    """Rows as comma-joined JSON arrays (no outer brackets); non-finite as ``null``."""
    if values.shape[0] == 0:
        return b""
    values = _rounded(np.ascontiguousarray(values, dtype=np.float64), precision)
    return orjson.dumps(values, option=_NUMPY)[1:-1]


def header_line(names: Sequence[str], separator: str) -> bytes:
    """Class names as one csv/tsv line, quoted where a name holds the separator or a quote."""
    import csv
    import io

    buffer = io.StringIO()
    csv.writer(buffer, delimiter=separator, lineterminator="\n").writerow(names)
    return buffer.getvalue().encode()


def ndjson_lines(values: FloatArray, precision: int | None) -> bytes:
    """One JSON array per row, each on its own line (non-finite as ``null``).

    orjson writes ``[[a,b],[c,d]]``; the comma after each row's ``]`` becomes a
    newline in place, which keeps the length, so the text is not copied again.
    """
    if values.shape[0] == 0:
        return b""
    values = _rounded(np.ascontiguousarray(values, dtype=np.float64), precision)
    text = bytearray(orjson.dumps(values, option=_NUMPY))
    view = np.frombuffer(text, dtype=np.uint8)
    ends = np.flatnonzero(view == ord("]"))
    view[ends[:-2] + 1] = ord("\n")  # the last two close the last row and the whole
    text[-1] = ord("\n")
    return memoryview(text)[1:].tobytes()


def json_value(value: float) -> float | None:
    """A float for JSON: ``None`` (``null``) when it is not finite."""
    return value if math.isfinite(value) else None


@dataclass
class RowSettings:
    """What every row writer needs to know about the run."""

    operation: str
    temperature: float
    precision: int | None
    single_vector: bool = False


class DelimitedWriter:
    """csv/tsv: header from the input's header; one value per line for a single vector."""

    def __init__(self, out: BinaryIO, settings: RowSettings, separator: str):
        self.out = out
        self.settings = settings
        self.separator = separator

    def start(self, classes: Sequence[str] | None) -> None:
        if classes is not None and not self.settings.single_vector:
            self.out.write(header_line(classes, self.separator))

    def rows(self, values: FloatArray, scores: FloatArray, first_row: int) -> None:
        if self.settings.single_vector:
            values = values.reshape(-1, 1)
        self.out.write(delimited_lines(values, self.separator, self.settings.precision))
        self.out.flush()

    def finish(self) -> None:
        self.out.flush()


class JsonWriter:
    """One JSON document, written incrementally so memory stays bounded."""

    def __init__(self, out: BinaryIO, settings: RowSettings):
        self.out = out
        self.settings = settings
        self.any_rows = False

    def start(self, classes: Sequence[str] | None) -> None:
        head = {
            "operation": self.settings.operation,
            "temperature": self.settings.temperature,
            "classes": list(classes) if classes is not None else None,
        }
        self.out.write(orjson.dumps(head)[:-1] + b',"rows":[')

    def rows(self, values: FloatArray, scores: FloatArray, first_row: int) -> None:
        if values.shape[0] == 0:
            return
        if self.any_rows:
            self.out.write(b",")
        self.out.write(json_rows(values, self.settings.precision))
        self.any_rows = True
        self.out.flush()

    def finish(self) -> None:
        self.out.write(b"]}\n")
        self.out.flush()

    def abort(self) -> None:
        """Close the document after the rows written so far, so it stays valid JSON."""
        self.finish()


class NdjsonWriter:
    """One JSON array per row, written as rows are computed."""

    def __init__(self, out: BinaryIO, settings: RowSettings):
        self.out = out
        self.settings = settings

    def start(self, classes: Sequence[str] | None) -> None:
        pass

    def rows(self, values: FloatArray, scores: FloatArray, first_row: int) -> None:
        if values.shape[0] == 0:
            return
        self.out.write(ndjson_lines(values, self.settings.precision))
        self.out.flush()

    def finish(self) -> None:
        self.out.flush()


def make_row_writer(
    format_name: str, out: BinaryIO, settings: RowSettings, **table_options: object
) -> RowWriter:
    """The writer for one output format; the table writer imports Rich only when chosen."""
    if format_name == "csv":
        return DelimitedWriter(out, settings, ",")
    if format_name == "tsv":
        return DelimitedWriter(out, settings, "\t")
    if format_name == "json":
        return JsonWriter(out, settings)
    if format_name == "ndjson":
        return NdjsonWriter(out, settings)
    from .tables import TableRowWriter

    return TableRowWriter(out, settings, **table_options)


# --- losses ------------------------------------------------------------------


class DelimitedLossWriter:
    """csv/tsv: one loss per line with ``--reduction none``, else the single number."""

    def __init__(self, out: BinaryIO, reduction: str, precision: int | None):
        self.out = out
        self.reduction = reduction
        self.precision = precision

    def start(self, classes: Sequence[str] | None) -> None:
        pass

    def rows(self, losses: FloatArray, details: LossDetails, first_row: int) -> None:
        if self.reduction == "none":
            self.out.write(delimited_lines(losses.reshape(-1, 1), ",", self.precision))
            self.out.flush()

    def finish(self, summary: LossSummary) -> None:
        if self.reduction != "none":
            self.out.write((float_text(summary.loss, self.precision) + "\n").encode())
        self.out.flush()


class JsonLossWriter:
    """``{"operation": "cross_entropy", "reduction", "losses": [...], "loss", ...}``, streamed."""

    def __init__(self, out: BinaryIO, reduction: str, precision: int | None, lines: bool):
        self.out = out
        self.reduction = reduction
        self.precision = precision
        self.lines = lines
        self.any_rows = False

    def start(self, classes: Sequence[str] | None) -> None:
        head = {"operation": "cross_entropy", "reduction": self.reduction}
        if not self.lines:
            self.out.write(orjson.dumps(head)[:-1] + b',"losses":[')

    def rows(self, losses: FloatArray, details: LossDetails, first_row: int) -> None:
        if losses.shape[0] == 0:
            return
        body = json_rows(losses.reshape(1, -1), self.precision)[1:-1]
        if not self.lines:
            self.out.write(b"," + body if self.any_rows else body)
            self.any_rows = True
        elif self.reduction == "none":
            self.out.write(body.replace(b",", b"\n") + b"\n")
        self.out.flush()

    def finish(self, summary: LossSummary) -> None:
        tail = {
            "loss": json_value(float(_rounded(np.array([summary.loss]), self.precision)[0])),
            "rows": summary.rows,
            "weight": summary.weight_sum,
        }
        if self.lines:
            if self.reduction != "none":
                head = {"operation": "cross_entropy", "reduction": self.reduction}
                self.out.write(orjson.dumps({**head, **tail}) + b"\n")
        else:
            self.out.write(b"]," + orjson.dumps(tail)[1:] + b"\n")
        self.out.flush()

    def abort(self) -> None:
        """Close the document after the losses written so far; no reduced loss."""
        if not self.lines:
            self.out.write(b'],"loss":null}\n')
            self.out.flush()


def make_loss_writer(
    format_name: str, out: BinaryIO, reduction: str, precision: int | None, **table_options: object
) -> LossWriter:
    """The writer for cross-entropy output in one format."""
    if format_name in ("csv", "tsv"):
        return DelimitedLossWriter(out, reduction, precision)
    if format_name in ("json", "ndjson"):
        return JsonLossWriter(out, reduction, precision, lines=format_name == "ndjson")
    from .tables import TableLossWriter

    return TableLossWriter(out, reduction, precision, **table_options)
