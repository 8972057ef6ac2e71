"""Writers of streamed output, rows and losses, in every format.

csv, tsv, json and ndjson are written block by block as rows are computed, so
memory stays bounded.  ``table`` keeps the first and last rows and draws them
at the end; Rich is imported only then.  The formats come from ``formats``,
the text of every number from ``number_text``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np
import orjson

from .escapes import printable
from .formats import Format, Output, parse_format
from .number_text import (
    delimited_lines,
    float_text,
    json_number,
    json_rows,
    ndjson_lines,
    table_number,
    table_precision,
    title_number,
)
from .numerics import FloatArray
from .operations import Operation
from .results import Carried, LossDetails, LossSummary, LossWriter, RowWriter
from .rich_output import (
    ARGMAX_STYLE,
    BAR_WIDTH,
    GAP,
    GAP_STYLE,
    MIN_BAR,
    NAME_CAP,
    TOTAL_STYLE,
    WRONG_STYLE,
    RowWindow,
    bar,
    count_text,
    gaps,
    make_console,
    not_shown,
    shown_indices,
    styled,
)


def header_line(names: Sequence[str], separator: str) -> bytes:
    """Text fields as one csv/tsv line, quoted (RFC 4180) where a field needs it."""
    import csv
    import io

    buffer = io.StringIO()
    csv.writer(buffer, delimiter=separator, lineterminator="\n").writerow(names)
    line = buffer.getvalue()
    # A line that starts with "[" or "{" reads as JSON, and a BOM at the start is dropped:
    # quote them.
    if names and names[0][:1] in ("[", "{", "\ufeff") and not line.startswith('"'):
        line = f'"{line[: len(names[0])]}"{line[len(names[0]) :]}'
    return line.encode()


def _with_kept(lines: bytes, kept: list[list[str]], separator: str) -> bytes:
    """csv/tsv lines with each row's kept fields in front, quoted where they need it."""
    prefix = separator.encode()
    body = lines.split(b"\n")[:-1]
    return b"".join(
        header_line(fields, separator)[:-1] + prefix + line + b"\n"
        for fields, line in zip(kept, body, strict=True)
    )


def _json_values(values: FloatArray, precision: int | None) -> list[list[float | None]]:
    """Rows as Python lists for JSON, non-finite as None, rounded as the writers round."""
    return orjson.loads(b"[" + json_rows(values, precision) + b"]")


def _object_line(obj: dict[str, Any]) -> bytes:
    """One object as an NDJSON line; a lone surrogate from the input is written escaped."""
    try:
        return orjson.dumps(obj) + b"\n"
    except TypeError:  # orjson refuses lone surrogates; the standard library escapes them
        import json

        return json.dumps(obj, separators=(",", ":")).encode() + b"\n"


def _carried_objects(
    carried: Carried, kept_names: Sequence[str] | None, count: int
) -> list[dict[str, Any]]:
    """Per row, the fields that travel with the result: the input object, or the kept columns."""
    if carried.objects is not None:
        return [dict(obj) for obj in carried.objects]
    assert carried.kept is not None and kept_names is not None
    return [dict(zip(kept_names, row, strict=True)) for row in carried.kept[:count]]


class _KeptSpool:
    """Kept values of a JSON document, held aside until the rows are closed (bounded memory)."""

    def __init__(self) -> None:
        import tempfile

        self.file = tempfile.SpooledTemporaryFile(max_size=8 << 20)
        self.any = False

    def add(self, kept: list[list[str]]) -> None:
        if not kept:
            return
        body = orjson.dumps(kept)[1:-1]
        self.file.write(b"," + body if self.any else body)
        self.any = True

    def copy_to(self, out: BinaryIO) -> None:
        self.file.seek(0)
        while chunk := self.file.read(1 << 20):
            out.write(chunk)


# --- rows --------------------------------------------------------------------


@dataclass
class RowSettings:
    """What every row writer needs to know about the run."""

    operation: Operation
    temperature: float
    precision: int | None
    single_vector: bool = False
    parameters: dict[str, Any] | None = None  # more to say in JSON's head (entmax: alpha)
    #: --dtype: the values are that precision's shortest decimals (not an output dtype).
    rounded_to: str = "float64"

    def __post_init__(self) -> None:
        # A name ("softmax") is taken too; an unknown one is a ValueError.
        self.operation = Operation(self.operation)


class DelimitedWriter:
    """csv/tsv: header from the input's header; one value per line for a single vector."""

    def __init__(self, out: BinaryIO, settings: RowSettings, separator: str):
        self.out = out
        self.settings = settings
        self.separator = separator

    def start(self, classes: Sequence[str] | None, kept_names: Sequence[str] | None = None) -> None:
        if classes is not None and not self.settings.single_vector:
            self.out.write(header_line([*(kept_names or ()), *classes], self.separator))

    def rows(
        self,
        values: FloatArray,
        scores: FloatArray,
        first_row: int,
        carried: Carried | None = None,
    ) -> None:
        if self.settings.single_vector:
            values = values.reshape(-1, 1)
        text = delimited_lines(values, self.separator, self.settings.precision)
        if carried is not None and carried.kept is not None:
            text = _with_kept(text, carried.kept, self.separator)
        self.out.write(text)
        self.out.flush()

    def finish(self) -> None:
        self.out.flush()


def rows_document_head(head: dict[str, Any]) -> bytes:
    """The opening of a JSON document of rows: ``head``'s fields, then ``"rows":[``, so rows
    can stream into it as they are computed; the writer closes it with ``]}``."""
    return orjson.dumps(head)[:-1] + b',"rows":['


class JsonWriter:
    """One JSON document, written incrementally so memory stays bounded."""

    def __init__(self, out: BinaryIO, settings: RowSettings):
        self.out = out
        self.settings = settings
        self.any_rows = False
        self.kept: _KeptSpool | None = None

    def start(self, classes: Sequence[str] | None, kept_names: Sequence[str] | None = None) -> None:
        head: dict[str, Any] = {
            "operation": self.settings.operation.value,
            "temperature": self.settings.temperature,
            "classes": list(classes) if classes is not None else None,
            **(self.settings.parameters or {}),
        }
        if kept_names is not None:
            head["kept_columns"] = list(kept_names)
            self.kept = _KeptSpool()
        self.out.write(rows_document_head(head))

    def rows(
        self,
        values: FloatArray,
        scores: FloatArray,
        first_row: int,
        carried: Carried | None = None,
    ) -> None:
        if values.shape[0] == 0:
            return
        # One write, so a signal between the comma and the rows cannot leave `,]}`.
        self.out.write(
            (b"," if self.any_rows else b"") + json_rows(values, self.settings.precision)
        )
        self.any_rows = True
        if self.kept is not None and carried is not None and carried.kept is not None:
            self.kept.add(carried.kept)
        self.out.flush()

    def finish(self) -> None:
        if self.kept is not None:
            self.out.write(b'],"kept":[')
            self.kept.copy_to(self.out)
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
        self.kept_names: Sequence[str] | None = None

    def start(self, classes: Sequence[str] | None, kept_names: Sequence[str] | None = None) -> None:
        self.kept_names = kept_names

    def rows(
        self,
        values: FloatArray,
        scores: FloatArray,
        first_row: int,
        carried: Carried | None = None,
    ) -> None:
        if values.shape[0] == 0:
            return
        if carried is None:
            self.out.write(ndjson_lines(values, self.settings.precision))
        else:
            # Each row is its input object (or kept columns) with the result added,
            # as `jq '. + {probs: ...}'` would write it.
            field = self.settings.operation.field
            results = _json_values(values, self.settings.precision)
            objects = _carried_objects(carried, self.kept_names, len(results))
            self.out.write(
                b"".join(
                    _object_line({**obj, field: row})
                    for obj, row in zip(objects, results, strict=True)
                )
            )
        self.out.flush()

    def finish(self) -> None:
        self.out.flush()


class _TableNames:
    """What both table writers show of the input's names, escaped for the terminal."""

    classes: list[str] | None = None
    kept_names: list[str] | None = None

    def start(self, classes: Sequence[str] | None, kept_names: Sequence[str] | None = None) -> None:
        self.classes = [printable(name) for name in classes] if classes is not None else None
        self.kept_names = [printable(name) for name in kept_names] if kept_names else None


class TableRowWriter(_TableNames):
    """Probabilities as a table: vertical with bars for one vector, columns for a batch."""

    def __init__(
        self,
        out: BinaryIO,
        settings: RowSettings,
        no_color: bool = False,
        terminal: bool | None = None,
        **_: object,
    ):
        self.out = out
        self.settings = settings
        self.precision = table_precision(settings.precision)
        self.no_color = no_color
        self.terminal = terminal
        self.classes: list[str] | None = None
        self.kept_names: list[str] | None = None
        self.window: RowWindow[tuple[int, np.ndarray, np.ndarray, list[str] | None]] = RowWindow()

    @property
    def head(self) -> list[tuple[int, np.ndarray, np.ndarray, list[str] | None]]:
        """The first rows kept, each ``(row number, values, scores, kept fields)``."""
        return self.window.head

    @property
    def tail(self) -> Sequence[tuple[int, np.ndarray, np.ndarray, list[str] | None]]:
        """The last rows kept, after the head."""
        return self.window.tail

    @property
    def total(self) -> int:
        """How many rows the writer has been given."""
        return self.window.total

    def rows(
        self,
        values: FloatArray,
        scores: FloatArray,
        first_row: int,
        carried: Carried | None = None,
    ) -> None:
        kept = carried.kept if carried is not None else None
        self.window.add(
            values.shape[0],
            lambda offset: (
                first_row + offset + 1,
                values[offset].copy(),
                scores[offset].copy(),
                [printable(field) for field in kept[offset]] if kept is not None else None,
            ),
        )

    def abort(self) -> None:
        self.finish()

    def _names(self, width: int) -> list[str]:
        return self.classes if self.classes is not None else [str(i) for i in range(width)]

    @property
    def _one_vector(self) -> bool:
        """One row in all: shown as a column per class (class, score, probability, bar)."""
        return len(self.window.rows) == 1 and self.total == 1

    @property
    def _is_log(self) -> bool:
        return self.settings.operation.is_log

    def finish(self) -> None:
        if not self.window.rows:
            return
        console, stream = make_console(self.out, self.no_color, self.terminal)
        table = self.renderable(console.width)
        if self._one_vector:
            from .table_fit import fitted

            # Too narrow: the bar column goes, then columns split, before a digit is cut.
            table = fitted(console, table, pictures=[len(table.columns) - 1])
        console.print(table)
        stream.flush()

    def renderable(self, width: int) -> Any:
        """The table of the rows seen so far, at most ``width`` columns wide."""
        rows = self.window.rows
        if self._one_vector:
            _, values, scores, kept = rows[0]
            return self._vertical(values, scores, width, kept)
        return self._batch(rows, width)

    def _sum(self, probs: FloatArray) -> float:
        """The exact sum of the probabilities (in --dtype: of its values, not of their
        decimals), rounded once to that precision."""
        import math

        from .precision import shortest

        dtype = self.settings.rounded_to
        if self._is_log or dtype == "float64":
            return float(probs.sum())
        exact = math.fsum(np.asarray(probs, dtype=dtype).astype(np.float64))
        return float(shortest(np.asarray(exact), dtype))

    def _vertical(
        self, values: FloatArray, scores: FloatArray, width: int, kept: list[str] | None = None
    ) -> Any:
        """One vector: a row per class with score, probability, bar; the arg-max marked."""
        from rich.table import Table

        f = self.precision
        probs = np.exp(values) if self._is_log else values
        best = int(np.argmax(values))
        names = self._names(values.shape[0])
        indices = shown_indices(len(names), keep=[best])
        headers = ["score", "probability"] + (["log-prob"] if self._is_log else [])
        numbers = [scores[indices], probs[indices]] + ([values[indices]] if self._is_log else [])
        used = 1 + max(len("class"), *(min(len(names[i]), 2 * NAME_CAP) for i in indices)) + 3
        for header, column in zip(headers, numbers, strict=True):
            used += max(len(header), *(len(table_number(float(v), f)) for v in column)) + 3
        room = width - used - 3 - len(" ◀ max")
        bar_width = max(MIN_BAR, min(BAR_WIDTH, room))
        what = self.settings.operation.title
        title = f"{what} of {count_text(len(names), 'score')}, T = {self._t()}"
        if kept is not None and self.kept_names is not None:
            title += "".join(f", {n} = {v}" for n, v in zip(self.kept_names, kept, strict=True))
        table = Table(title=title)
        table.add_column("class", overflow="fold")
        table.add_column("score", justify="right")
        table.add_column("probability", justify="right")
        if self._is_log:
            table.add_column("log-prob", justify="right")
        table.add_column("", no_wrap=True)
        missing = gaps(indices)
        for position, index in enumerate(indices):
            if position in missing:
                note = not_shown(missing[position], "class", "classes")
                cells = [GAP, GAP, GAP] + ([GAP] if self._is_log else []) + [note]
                table.add_row(*cells, style=GAP_STYLE)
            cells = [
                names[index],
                table_number(scores[index], f),
                table_number(probs[index], f),
            ]
            if self._is_log:
                cells.append(table_number(values[index], f))
            cells.append(bar(probs[index], bar_width) + (" ◀ max" if index == best else ""))
            table.add_row(*cells, style=ARGMAX_STYLE if index == best else None)
        table.add_section()
        total = ["sum", "", table_number(self._sum(probs), f)]
        table.add_row(*total, *([""] if self._is_log else []), "")
        return table

    def _t(self) -> str:
        return title_number(self.settings.temperature)

    def _fit_classes(self, names: Sequence[str], rows: list[Any], width: int) -> list[int]:
        """Which class columns fit ``width``: the first ones, a gap, and the last one."""
        f = self.precision

        def column_width(index: int) -> int:
            cells = [len(table_number(float(r[1][index]), f)) for r in rows]
            return max(min(len(names[index]), NAME_CAP), *cells) + 3

        row_width = max(len("row"), len(f"{rows[-1][0]:,}")) + 3
        winners = {int(np.argmax(r[1])) for r in rows}
        argmax_width = max(len("arg-max"), *(min(len(names[i]), NAME_CAP) for i in winners)) + 3
        room = width - 1 - row_width - argmax_width
        for column, name in enumerate(self.kept_names or ()):
            cells = [min(len(r[3][column]), NAME_CAP) for r in rows if r[3] is not None]
            room -= max(min(len(name), NAME_CAP), *cells) + 3
        count = len(names)
        widths = [column_width(i) for i in range(count)]
        if sum(widths) <= room:
            return list(range(count))
        room -= len(GAP) + 3
        last = widths[-1]
        shown: list[int] = []
        used = last
        for index in range(count - 1):
            if used + widths[index] > room:
                break
            shown.append(index)
            used += widths[index]
        return [*shown, count - 1]

    def _batch(self, rows: list[Any], width: int) -> Any:
        """Classes as columns, rows numbered from 1, the first and last rows of a big batch."""
        from rich.table import Table

        f = self.precision
        names = self._names(rows[0][1].shape[0])
        what = "log-probabilities" if self._is_log else "probabilities"
        columns = self._fit_classes(names, rows, width)
        table = Table(title=f"{what} of {count_text(self.total, 'row')}, T = {self._t()}")
        table.add_column("row", justify="right")
        for name in self.kept_names or ():
            table.add_column(name, overflow="fold")
        for position, index in enumerate(columns):
            if position and index - columns[position - 1] > 1:
                table.add_column(GAP, justify="center")
            table.add_column(names[index], justify="right", overflow="fold")
        table.add_column("arg-max", overflow="fold")
        hidden = len(names) - len(columns)
        notes = []
        if hidden:
            notes.append(
                f"{count_text(hidden, 'class', 'classes')} of {len(names):,} not shown; "
                "-o csv shows every class"
            )
        for position, (number, values, _, kept) in enumerate(rows):
            if position == len(self.head) and self.window.hidden:
                table.add_row(GAP, *[GAP] * (len(table.columns) - 1), style=GAP_STYLE)
                notes.insert(0, not_shown(self.window.hidden, "row"))
            best = int(np.argmax(values))
            cells: list[Any] = []
            for place, index in enumerate(columns):
                if place and index - columns[place - 1] > 1:
                    cells.append(GAP)
                text = table_number(float(values[index]), f)
                cells.append(styled(text, ARGMAX_STYLE) if index == best else text)
            table.add_row(f"{number:,}", *(kept or ()), *cells, names[best])
        if notes:
            table.caption = "\n".join(notes)
        return table


_ROW_WRITERS: dict[Format, Callable[[BinaryIO, RowSettings, dict[str, Any]], RowWriter]] = {
    Format.TABLE: lambda out, settings, options: TableRowWriter(out, settings, **options),
    Format.CSV: lambda out, settings, options: DelimitedWriter(out, settings, ","),
    Format.TSV: lambda out, settings, options: DelimitedWriter(out, settings, "\t"),
    Format.JSON: lambda out, settings, options: JsonWriter(out, settings),
    Format.NDJSON: lambda out, settings, options: NdjsonWriter(out, settings),
    Format.NPY: lambda out, settings, options: _npy_writer(out, settings),
}


def _npy_writer(out: BinaryIO, settings: RowSettings) -> RowWriter:
    from .npy_writer import NpyWriter

    # --dtype float32 writes a float32 array: its values are float32 numbers already.
    return NpyWriter(out, settings, np.dtype(settings.rounded_to))


def make_row_writer(
    format_name: str | Format, out: BinaryIO, settings: RowSettings, **table_options: object
) -> RowWriter:
    """The writer for one output format; ValueError naming an unknown format.

    The table writer imports Rich only when it draws.
    """
    return _ROW_WRITERS[parse_format(format_name, Output.ROWS)](out, settings, table_options)


# --- losses ------------------------------------------------------------------


class DelimitedLossWriter:
    """csv/tsv: one loss per line with ``--reduction none``, else the single number."""

    def __init__(self, out: BinaryIO, reduction: str, precision: int | None, separator: str):
        self.out = out
        self.reduction = reduction
        self.precision = precision
        self.separator = separator

    def start(self, classes: Sequence[str] | None, kept_names: Sequence[str] | None = None) -> None:
        # Per-row losses line up with a headed input (for paste), so they get a header too.
        if self.reduction == "none" and classes is not None:
            self.out.write(header_line([*(kept_names or ()), "loss"], self.separator))

    def rows(
        self,
        losses: FloatArray,
        details: LossDetails,
        first_row: int,
        carried: Carried | None = None,
    ) -> None:
        if self.reduction == "none":
            text = delimited_lines(losses.reshape(-1, 1), self.separator, self.precision)
            if carried is not None and carried.kept is not None:
                text = _with_kept(text, carried.kept, self.separator)
            self.out.write(text)
            self.out.flush()

    def finish(self, summary: LossSummary) -> None:
        if self.reduction != "none":
            self.out.write((float_text(summary.loss, self.precision) + "\n").encode())
        self.out.flush()


class JsonLossWriter:
    """``{"operation": "cross_entropy", "reduction", "losses": [...], "loss", ...}``, streamed."""

    def __init__(
        self,
        out: BinaryIO,
        reduction: str,
        precision: int | None,
        lines: bool,
        operation: str = "cross_entropy",
    ):
        self.out = out
        self.operation = operation
        self.reduction = reduction
        self.precision = precision
        self.lines = lines
        self.any_rows = False
        self.kept_names: Sequence[str] | None = None
        self.kept: _KeptSpool | None = None

    def start(self, classes: Sequence[str] | None, kept_names: Sequence[str] | None = None) -> None:
        head: dict[str, Any] = {"operation": self.operation, "reduction": self.reduction}
        self.kept_names = kept_names
        if not self.lines:
            if kept_names is not None:
                head["kept_columns"] = list(kept_names)
                self.kept = _KeptSpool()
            self.out.write(orjson.dumps(head)[:-1] + b',"losses":[')

    def rows(
        self,
        losses: FloatArray,
        details: LossDetails,
        first_row: int,
        carried: Carried | None = None,
    ) -> None:
        if losses.shape[0] == 0:
            return
        body = json_rows(losses.reshape(1, -1), self.precision)[1:-1]
        if not self.lines:
            self.out.write(b"," + body if self.any_rows else body)
            self.any_rows = True
            if self.kept is not None and carried is not None and carried.kept is not None:
                self.kept.add(carried.kept)
        elif self.reduction == "none" and carried is not None:
            values = _json_values(losses.reshape(-1, 1), self.precision)
            objects = _carried_objects(carried, self.kept_names, len(values))
            self.out.write(
                b"".join(
                    _object_line({**obj, "loss": value[0]})
                    for obj, value in zip(objects, values, strict=True)
                )
            )
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
                head = {"operation": self.operation, "reduction": self.reduction}
                self.out.write(orjson.dumps({**head, **tail}) + b"\n")
        else:
            self.out.write(b"]")
            self._write_kept()
            self.out.write(b"," + orjson.dumps(tail)[1:] + b"\n")
        self.out.flush()

    def _write_kept(self) -> None:
        if self.kept is not None:
            self.out.write(b',"kept":[')
            self.kept.copy_to(self.out)
            self.out.write(b"]")

    def abort(self) -> None:
        """Close the document after the losses written so far; no reduced loss."""
        if not self.lines:
            self.out.write(b"]")
            self._write_kept()
            self.out.write(b',"loss":null}\n')
            self.out.flush()


class TableLossWriter(_TableNames):
    """Per-row losses with the true label's probability; a footer with the totals."""

    def __init__(
        self,
        out: BinaryIO,
        reduction: str,
        precision: int | None,
        no_color: bool = False,
        terminal: bool | None = None,
        operation: str = "cross_entropy",
        **_: object,
    ):
        self.out = out
        self.operation = operation
        self.reduction = reduction
        self.precision = table_precision(precision)
        self.no_color = no_color
        self.terminal = terminal
        self.classes: list[str] | None = None
        self.kept_names: list[str] | None = None
        self.window: RowWindow[tuple[int, float, float, int, int, list[str] | None]] = RowWindow()

    def rows(
        self,
        losses: FloatArray,
        details: LossDetails,
        first_row: int,
        carried: Carried | None = None,
    ) -> None:
        labels = details.labels if details.labels is not None else np.full(losses.shape, -2)
        kept = carried.kept if carried is not None else None
        self.window.add(
            losses.shape[0],
            lambda offset: (
                first_row + offset + 1,
                float(losses[offset]),
                float(details.target_probability[offset]),
                int(details.predicted[offset]),
                int(labels[offset]),
                [printable(field) for field in kept[offset]] if kept is not None else None,
            ),
        )

    def _name(self, index: int) -> str:
        if index == -1:
            return "(ignored)"
        if index == -2:
            return "(soft)"
        return self.classes[index] if self.classes is not None else str(index)

    def abort(self) -> None:
        pass

    def finish(self, summary: LossSummary) -> None:
        from rich.table import Table

        f = self.precision
        console, stream = make_console(self.out, self.no_color, self.terminal)
        what = self.operation.replace("_", " ").replace("cross entropy", "cross-entropy")
        table = Table(title=f"{what} of {count_text(summary.rows, 'row')}")
        entropic = self.operation.endswith("cross_entropy")  # perplexity means something
        kept_names = self.kept_names or []
        blanks = [""] * len(kept_names)
        table.add_column("row", justify="right")
        for name in kept_names:
            table.add_column(name, overflow="fold")
        table.add_column("label", overflow="fold")
        table.add_column("p(label)", justify="right")
        table.add_column("predicted", overflow="fold")
        table.add_column("loss", justify="right")
        for index, (number, loss, prob, predicted, label, kept) in enumerate(self.window.rows):
            if index == len(self.window.head) and self.window.hidden:
                table.add_row(*[GAP] * (5 + len(kept_names)), style=GAP_STYLE)
                table.caption = not_shown(self.window.hidden, "row")
            wrong = label >= 0 and predicted != label
            table.add_row(
                f"{number:,}",
                *(kept or blanks),
                self._name(label),
                table_number(prob, f) if label != -1 else "",
                self._name(predicted) + (" ✗" if wrong else ""),
                table_number(loss, f),
                style=WRONG_STYLE if wrong else None,
            )
        table.add_section()
        name = "sum" if self.reduction == "sum" else "mean"
        table.add_row(
            "", *blanks, f"loss ({name})", "", "", table_number(summary.loss, f), style=TOTAL_STYLE
        )
        if entropic:
            table.add_row("", *blanks, "perplexity", "", "", table_number(summary.perplexity, f))
        accuracy = table_number(summary.accuracy, f)
        table.add_row("", *blanks, "accuracy", "", f"{summary.correct}/{summary.counted}", accuracy)
        from .table_fit import fitted

        console.print(fitted(console, table, keep=2 + len(kept_names)))  # row, kept, label
        perplexity = "perplexity = exp(mean loss); " if entropic else ""
        console.print(f"{perplexity}accuracy = arg-max equals the label")
        stream.flush()


_LOSS_WRITERS: dict[Format, Callable[[BinaryIO, str, int | None, dict[str, Any]], LossWriter]] = {
    Format.TABLE: lambda out, reduction, precision, options: TableLossWriter(
        out, reduction, precision, **options
    ),
    Format.CSV: lambda out, reduction, precision, options: DelimitedLossWriter(
        out, reduction, precision, ","
    ),
    Format.TSV: lambda out, reduction, precision, options: DelimitedLossWriter(
        out, reduction, precision, "\t"
    ),
    Format.JSON: lambda out, reduction, precision, options: JsonLossWriter(
        out, reduction, precision, lines=False, **options
    ),
    Format.NDJSON: lambda out, reduction, precision, options: JsonLossWriter(
        out, reduction, precision, lines=True, **options
    ),
}


def make_loss_writer(
    format_name: str | Format,
    out: BinaryIO,
    reduction: str,
    precision: int | None,
    operation: str = "cross_entropy",
    **table_options: object,
) -> LossWriter:
    """The writer for cross-entropy output in one format; ValueError naming an unknown format.

    ``operation`` names the loss in JSON and tables (``sparsemax_loss``, ...).
    """
    chosen = parse_format(format_name, Output.LOSSES)
    options: dict[str, Any] = {"operation": operation} if operation != "cross_entropy" else {}
    if chosen is Format.TABLE:
        options = {**table_options, **options}
    return _LOSS_WRITERS[chosen](out, reduction, precision, options)
