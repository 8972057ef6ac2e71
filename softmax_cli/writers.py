"""Writers: csv, tsv, json and ndjson, written block by block as rows are computed.

The text of every number comes from ``number_text``.
The ``table`` format lives in ``tables.py`` so that Rich loads only for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO

import orjson

from .number_text import delimited_lines, float_text, json_number, json_rows, ndjson_lines
from .numerics import FloatArray
from .results import LossDetails, LossSummary, LossWriter, RowWriter


def header_line(names: Sequence[str], separator: str) -> bytes:
    """Class names as one csv/tsv line, quoted where a name holds the separator or a quote."""
    import csv
    import io

    buffer = io.StringIO()
    csv.writer(buffer, delimiter=separator, lineterminator="\n").writerow(names)
    return buffer.getvalue().encode()


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
            "loss": json_number(summary.loss, self.precision),
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
