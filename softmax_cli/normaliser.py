"""``softmax logsumexp``: one number per row, the log of the normaliser, streamed.

The row values come from ``numerics.logsumexp`` (the shift and ``log1p`` of
log-softmax); a sum or mean over rows is compensated across blocks.  The
writers here print one number per row in every format the other per-row
commands have, with the same text for numbers as every other writer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import numpy as np
import orjson

from . import numerics, precision
from .errors import RowError
from .formats import Format, Output, parse_format
from .number_text import (
    delimited_lines,
    float_text,
    json_number,
    json_rows,
    table_number,
    table_precision,
    title_number,
)
from .numerics import FloatArray
from .pipeline import _carried, _closed, _line_error
from .readers import ScoreSource
from .readers.blocks import Format as InputFormat
from .results import Carried
from .writers import (
    _carried_objects,
    _json_values,
    _KeptSpool,
    _object_line,
    _TableNames,
    _with_kept,
    header_line,
)

NAME = "logsumexp"  # the operation's name in JSON, its column and its NDJSON field


@dataclass
class Totals:
    """What the end of a run reports: the rows, and their sum or mean (rounded to the dtype)."""

    reduction: str
    temperature: float
    dtype: str = "float64"
    rows: int = 0
    total: float = 0.0
    #: Where the first ``+inf`` and ``-inf`` row came from (``"line 3"``): their sum is NaN.
    first_infinite: dict[float, str] = field(default_factory=dict)

    def undefined_reason(self) -> str | None:
        """Why the sum or mean is NaN, when rows of ``+inf`` and ``-inf`` were added."""
        if self.reduction == "none" or len(self.first_infinite) < 2:
            return None
        return (
            f"{self.first_infinite[math.inf]} is +inf and {self.first_infinite[-math.inf]} "
            f"is -inf, so the {self.reduction} is NaN"
        )

    @property
    def value(self) -> float:
        """The sum, the mean (NaN for no rows), or NaN with ``none``."""
        if self.reduction == "sum":
            value = self.total
        elif self.reduction == "mean" and self.rows:
            value = self.total / self.rows
        else:
            return math.nan
        with np.errstate(over="ignore"):
            return float(precision.shortest(np.asarray(value, dtype=self.dtype)))


def run_logsumexp(source: ScoreSource, totals: Totals, writer: Any) -> Totals:
    """Write ``log sum exp(x/T)`` of every row; on bad data, the rows before it, then raise."""
    running = numerics.RunningSum()
    block = None

    def compute(scores: FloatArray) -> FloatArray:
        return numerics.logsumexp(precision.narrowed(scores, totals.dtype), totals.temperature)

    if isinstance(writer, DelimitedValueWriter) and source.kept_names:
        writer.named_fields = source.format in (InputFormat.JSON, InputFormat.NDJSON)
    writer.start(source.classes, source.kept_names)
    try:
        for block in source.blocks:
            try:
                values = compute(block.values)
            except RowError as error:
                values = compute(block.values[: error.row])
                if values.shape[0]:
                    shown = precision.shortest(values, totals.dtype)
                    writer.rows(shown, totals.rows, _carried(block, error.row))
                raise _line_error(block, error) from None
            shown = precision.shortest(values, totals.dtype)
            for infinity in (math.inf, -math.inf):
                found = np.flatnonzero(values == infinity)
                if found.size and infinity not in totals.first_infinite:
                    place = f"{block.unit} {block.line_of(int(found[0]))}"
                    totals.first_infinite[infinity] = place
            with np.errstate(invalid="ignore"):
                # Of the float64 values: the reduction is rounded once to --dtype.
                totals.total = running.add(values)
            writer.rows(shown, totals.rows, _carried(block))
            totals.rows += values.shape[0]
    except BaseException as error:
        raise _closed(writer, error, block) from None
    writer.finish(totals)
    return totals


# --- writers -------------------------------------------------------------------


class DelimitedValueWriter:
    """csv/tsv: one value per line with ``--reduction none`` (headed as the input was),
    else the single number."""

    def __init__(self, out: BinaryIO, reduction: str, digits: int | None, separator: str):
        self.out = out
        self.reduction = reduction
        self.digits = digits
        self.separator = separator
        #: The input's kept fields have names (JSON keys), so they are headed as CSV's are.
        self.named_fields = False

    def start(self, classes: Sequence[str] | None, kept_names: Sequence[str] | None = None) -> None:
        if self.reduction == "none" and (classes is not None or self.named_fields):
            self.out.write(header_line([*(kept_names or ()), NAME], self.separator))

    def rows(self, values: FloatArray, first_row: int, carried: Carried | None = None) -> None:
        if self.reduction != "none":
            return
        text = delimited_lines(values.reshape(-1, 1), self.separator, self.digits)
        if carried is not None and carried.kept is not None:
            text = _with_kept(text, carried.kept, self.separator)
        self.out.write(text)
        self.out.flush()

    def finish(self, totals: Totals) -> None:
        if self.reduction != "none":
            self.out.write((float_text(totals.value, self.digits) + "\n").encode())
        self.out.flush()


class JsonValueWriter:
    """json: ``{"operation": "logsumexp", ..., "values": [...], "value", "rows"}``, streamed;
    ndjson: one number (or input object with ``logsumexp`` added) per line, or one
    object with the reduced value."""

    def __init__(
        self, out: BinaryIO, reduction: str, digits: int | None, lines: bool, temperature: float
    ):
        self.out = out
        self.reduction = reduction
        self.temperature = temperature
        self.digits = digits
        self.lines = lines
        self.any_rows = False
        self.kept_names: Sequence[str] | None = None
        self.kept: _KeptSpool | None = None
        self.head: dict[str, Any] = {}

    def start(self, classes: Sequence[str] | None, kept_names: Sequence[str] | None = None) -> None:
        self.kept_names = kept_names
        self.head = {"operation": NAME, "temperature": self.temperature}
        self.head["reduction"] = self.reduction
        if not self.lines:
            if kept_names is not None:
                self.head["kept_columns"] = list(kept_names)
                self.kept = _KeptSpool()
            self.out.write(orjson.dumps(self.head)[:-1] + b',"values":[')

    def rows(self, values: FloatArray, first_row: int, carried: Carried | None = None) -> None:
        if values.shape[0] == 0:
            return
        if not self.lines:
            body = json_rows(values.reshape(1, -1), self.digits)[1:-1]
            self.out.write(b"," + body if self.any_rows else body)
            self.any_rows = True
            if self.kept is not None and carried is not None and carried.kept is not None:
                self.kept.add(carried.kept)
        elif self.reduction != "none":
            return
        elif carried is not None:
            results = _json_values(values.reshape(-1, 1), self.digits)
            objects = _carried_objects(carried, self.kept_names, len(results))
            self.out.write(
                b"".join(
                    _object_line({**obj, NAME: value[0]})
                    for obj, value in zip(objects, results, strict=True)
                )
            )
        else:
            body = json_rows(values.reshape(1, -1), self.digits)[1:-1]
            self.out.write(body.replace(b",", b"\n") + b"\n")
        self.out.flush()

    def _close(self, tail: dict[str, Any]) -> None:
        self.out.write(b"]")
        if self.kept is not None:
            self.out.write(b',"kept":[')
            self.kept.copy_to(self.out)
            self.out.write(b"]")
        self.out.write(b"," + orjson.dumps(tail)[1:] + b"\n")

    def finish(self, totals: Totals) -> None:
        tail: dict[str, Any] = {"rows": totals.rows}
        if self.reduction != "none":
            tail["value"] = json_number(totals.value, self.digits)
        if not self.lines:
            self._close(tail)
        elif self.reduction != "none":
            self.out.write(orjson.dumps({**self.head, **tail}) + b"\n")
        self.out.flush()

    def abort(self) -> None:
        """Close the document after the values written so far."""
        if not self.lines:
            self._close({"value": None})
            self.out.flush()


class TableValueWriter(_TableNames):
    """The first and last rows with their value; a footer with the sum or mean."""

    def __init__(
        self,
        out: BinaryIO,
        reduction: str,
        digits: int | None,
        no_color: bool = False,
        terminal: bool | None = None,
        **_: object,
    ):
        from .rich_output import RowWindow

        self.out = out
        self.reduction = reduction
        self.digits = table_precision(digits)
        self.no_color = no_color
        self.terminal = terminal
        self.window: RowWindow[tuple[int, float, list[str] | None]] = RowWindow()

    def rows(self, values: FloatArray, first_row: int, carried: Carried | None = None) -> None:
        from .escapes import printable

        kept = carried.kept if carried is not None else None
        self.window.add(
            values.shape[0],
            lambda offset: (
                first_row + offset + 1,
                float(values[offset]),
                [printable(field) for field in kept[offset]] if kept is not None else None,
            ),
        )

    def abort(self) -> None:
        pass

    def finish(self, totals: Totals) -> None:
        from rich.table import Table

        from .rich_output import GAP, GAP_STYLE, TOTAL_STYLE, count_text, make_console, not_shown

        console, stream = make_console(self.out, self.no_color, self.terminal)
        title = f"log-sum-exp of {count_text(totals.rows, 'row')}"
        if totals.temperature != 1.0:
            title += f" at T = {title_number(totals.temperature)}"
        # At least as wide as its title, so a terminal of room never wraps it mid-phrase.
        table = Table(title=title, min_width=min(len(title), console.width))
        kept_names = self.kept_names or []
        table.add_column("row", justify="right")
        for name in kept_names:
            table.add_column(name, overflow="fold")
        table.add_column(NAME, justify="right")
        for index, (number, value, kept) in enumerate(self.window.rows):
            if index == len(self.window.head) and self.window.hidden:
                table.add_row(*[GAP] * (2 + len(kept_names)), style=GAP_STYLE)
                table.caption = not_shown(self.window.hidden, "row")
            table.add_row(
                f"{number:,}", *(kept or [""] * len(kept_names)), table_number(value, self.digits)
            )
        if self.reduction != "none":
            table.add_section()
            blanks = [""] * len(kept_names)
            value = table_number(totals.value, self.digits)
            table.add_row(self.reduction, *blanks, value, style=TOTAL_STYLE)
        console.print(table)
        stream.flush()


def make_value_writer(
    format_name: str | Format,
    out: BinaryIO,
    reduction: str,
    digits: int | None,
    temperature: float = 1.0,
    **table_options: object,
) -> Any:
    """The writer of one number per row in one format; ValueError naming an unknown format."""
    chosen = parse_format(format_name, Output.VALUES)
    if chosen is Format.TABLE:
        return TableValueWriter(out, reduction, digits, **table_options)
    if chosen.is_delimited:
        assert chosen.separator is not None
        return DelimitedValueWriter(out, reduction, digits, chosen.separator)
    return JsonValueWriter(out, reduction, digits, chosen is Format.NDJSON, temperature)
