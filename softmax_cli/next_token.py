"""``top`` and ``sample``: the runners and their writers, for language-model logits.

Both go through ``pipeline.run_rows`` like ``probs``, so rows stream in blocks
(memory stays a few blocks however wide the rows are), errors keep their
lines, and the rows before a bad one are written.  The math is in
``sampling``; this module only arranges it as text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, BinaryIO

import numpy as np
import orjson

from . import numerics, sampling
from .errors import UsageError, say
from .escapes import printable
from .formats import Format
from .number_text import float_text, json_number, table_number, table_precision, title_number
from .numerics import FloatArray
from .parsing import Invocation
from .readers import ScoreSource
from .results import Carried
from .rich_output import GAP, GAP_STYLE, GLUE, RowWindow, bar, count_text, make_console, not_shown
from .streams import stdout_bytes
from .writers import header_line, rows_document_head

TABLE_DRAWS = 40  # a table shows this many draws of a row; csv and json show all
DRAWS_AT_ONCE = 1 << 20  # draws held in memory at a time (rows x -n)
TOP_FIELDS = ("row", "rank", "class", "prob", "logprob", "cumulative")


def _kept_rows(carried: Carried | None, count: int) -> list[list[str]] | None:
    if carried is None or carried.kept is None:
        return None
    return carried.kept[:count]


def _class_name(classes: Sequence[str] | None, index: int) -> str | int:
    return classes[index] if classes is not None else index


# --- top ---------------------------------------------------------------------


class TopWriter:
    """The top K of each row, in long form: csv/tsv lines, JSON objects, or a table."""

    def __init__(
        self, out: BinaryIO, output: Format, k: int, temperature: float, precision: int | None
    ):
        self.out = out
        self.output = output
        self.k = k
        self.temperature = temperature
        self.precision = precision
        self.classes: list[str] | None = None
        self.kept_names: list[str] | None = None
        self.any_rows = False

    def start(self, classes: Sequence[str] | None, kept_names: Sequence[str] | None = None) -> None:
        self.classes = list(classes) if classes is not None else None
        self.kept_names = list(kept_names) if kept_names else None
        if self.output.is_delimited:
            assert self.output.separator is not None
            names = [*(self.kept_names or ()), *TOP_FIELDS]
            self.out.write(header_line(names, self.output.separator))
        elif self.output is Format.JSON:
            head = {
                "operation": "top",
                "k": self.k,
                "temperature": self.temperature,
                "kept_columns": self.kept_names,
            }
            self.out.write(rows_document_head(head))

    def _number(self, value: float) -> Any:
        if self.output.is_json:
            return json_number(value, self.precision)
        return float_text(value, self.precision)

    def rows(
        self,
        values: FloatArray,
        scores: FloatArray,
        first_row: int,
        carried: Carried | None = None,
    ) -> None:
        if values.shape[0] == 0:
            return
        top = sampling.top_classes(values, self.k)
        probs = np.take_along_axis(numerics.softmax(scores, self.temperature), top, axis=1)
        logprobs = np.take_along_axis(values, top, axis=1)
        cumulative = np.cumsum(probs, axis=1)
        kept = _kept_rows(carried, values.shape[0])
        if carried is not None and carried.objects is not None and self.output is Format.NDJSON:
            self._write_objects(carried.objects, kept, top, probs, logprobs, cumulative)
            return
        records = []
        for offset in range(values.shape[0]):
            for rank in range(top.shape[1]):
                fields = [
                    first_row + offset + 1,
                    rank + 1,
                    _class_name(self.classes, int(top[offset, rank])),
                    self._number(float(probs[offset, rank])),
                    self._number(float(logprobs[offset, rank])),
                    self._number(float(cumulative[offset, rank])),
                ]
                records.append((kept[offset] if kept is not None else [], fields))
        self._write(records)

    def _write_objects(
        self,
        objects: list[dict],
        kept: list[list[str]] | None,
        top: Any,
        probs: FloatArray,
        logprobs: FloatArray,
        cumulative: FloatArray,
    ) -> None:
        """``--key`` with -o ndjson: each object comes back whole with its ranks added as
        ``"top"``, one line per object as the other commands write it."""
        lines = []
        for offset, obj in enumerate(objects[: top.shape[0]]):
            ranks = [
                dict(
                    zip(
                        TOP_FIELDS[1:],
                        [
                            rank + 1,
                            _class_name(self.classes, int(top[offset, rank])),
                            self._number(float(probs[offset, rank])),
                            self._number(float(logprobs[offset, rank])),
                            self._number(float(cumulative[offset, rank])),
                        ],
                        strict=True,
                    )
                )
                for rank in range(top.shape[1])
            ]
            extra = dict(zip(self.kept_names or (), kept[offset], strict=True)) if kept else {}
            lines.append(orjson.dumps({**obj, **extra, "top": ranks}) + b"\n")
        self.out.write(b"".join(lines))
        self.any_rows = True
        self.out.flush()

    def _write(self, records: list[tuple[list[str], list[Any]]]) -> None:
        if self.output.is_delimited:
            assert self.output.separator is not None
            text = b"".join(
                header_line([*kept, *map(str, fields)], self.output.separator)
                for kept, fields in records
            )
        else:
            objects = [
                {
                    **dict(zip(self.kept_names or (), kept, strict=True)),
                    **dict(zip(TOP_FIELDS, fields, strict=True)),
                }
                for kept, fields in records
            ]
            if self.output is Format.NDJSON:
                text = b"".join(orjson.dumps(obj) + b"\n" for obj in objects)
            else:
                body = b",".join(orjson.dumps(obj) for obj in objects)
                text = (b"," if self.any_rows else b"") + body
        self.out.write(text)
        self.any_rows = True
        self.out.flush()

    def finish(self) -> None:
        if self.output is Format.JSON:
            self.out.write(b"]}\n")
        self.out.flush()

    def abort(self) -> None:
        self.finish()


class TopTable:
    """Each row's top K with bars, its entropy and the mass outside the top K."""

    def __init__(
        self,
        out: BinaryIO,
        k: int,
        temperature: float,
        precision: int | None,
        no_color: bool,
    ):
        self.out = out
        self.k = k
        self.temperature = temperature
        self.precision = table_precision(precision)
        self.no_color = no_color
        self.classes: list[str] | None = None
        self.kept_names: list[str] | None = None
        self.window: RowWindow[tuple[int, Any, Any, Any, float, float, list[str] | None, int]]
        self.window = RowWindow(head=5, tail=2)

    def start(self, classes: Sequence[str] | None, kept_names: Sequence[str] | None = None) -> None:
        self.classes = [printable(name) for name in classes] if classes is not None else None
        self.kept_names = [printable(name) for name in kept_names] if kept_names else None

    def rows(
        self,
        values: FloatArray,
        scores: FloatArray,
        first_row: int,
        carried: Carried | None = None,
    ) -> None:
        if values.shape[0] == 0:
            return
        top = sampling.top_classes(values, self.k)
        probs = numerics.softmax(scores, self.temperature)
        entropy = numerics.entropy(probs)
        picked = np.take_along_axis(probs, top, axis=1)
        np.put_along_axis(probs, top, 0.0, axis=1)
        outside = probs.sum(axis=1)
        logprobs = np.take_along_axis(values, top, axis=1)
        kept = _kept_rows(carried, values.shape[0])
        width = values.shape[1]
        self.window.add(
            values.shape[0],
            lambda offset: (
                first_row + offset + 1,
                top[offset].copy(),
                picked[offset].copy(),
                logprobs[offset].copy(),
                float(entropy[offset]),
                float(outside[offset]),
                [printable(field) for field in kept[offset]] if kept is not None else None,
                width,
            ),
        )

    def finish(self) -> None:
        if not self.window.rows:
            return
        from rich.console import Group
        from rich.table import Table

        from .table_fit import fitted

        console, stream = make_console(self.out, self.no_color)
        f = self.precision
        tables: list[Any] = []
        for position, (number, top, probs, logprobs, entropy, outside, kept, width) in enumerate(
            self.window.rows
        ):
            if position == len(self.window.head) and self.window.hidden:
                tables.append(not_shown(self.window.hidden, "row"))
            title = f"row {number:,}: top {top.size} of {count_text(width, 'class', 'classes')}"
            title += f", T = {title_number(self.temperature)}"
            if kept is not None and self.kept_names is not None:
                title += "".join(f", {n} = {v}" for n, v in zip(self.kept_names, kept, strict=True))
            table = Table(title=title)
            table.add_column("rank", justify="right")
            table.add_column("class", overflow="fold")
            table.add_column("prob", justify="right")
            table.add_column("logprob", justify="right")
            table.add_column("cumulative", justify="right")
            table.add_column("", no_wrap=True)
            cumulative = np.cumsum(probs)
            for rank, index in enumerate(top):
                name = self.classes[index] if self.classes is not None else str(index)
                table.add_row(
                    str(rank + 1),
                    name,
                    table_number(float(probs[rank]), f),
                    table_number(float(logprobs[rank]), f),
                    table_number(float(cumulative[rank]), f),
                    bar(float(probs[rank])),
                )
            table.caption = (
                f"entropy {table_number(entropy, f)} nats; "
                f"mass outside the top {top.size}: {table_number(outside, f)}"
            )
            tables.append(fitted(console, table, keep=2, pictures=[5]))
        console.print(Group(*tables))
        stream.flush()

    def abort(self) -> None:
        self.finish()


def run_top(run: Invocation, source: ScoreSource, output: Format) -> None:
    """``softmax top``: the K most probable classes of every row."""
    from .pipeline import run_rows

    out = stdout_bytes()
    writer: TopWriter | TopTable
    if output is Format.TABLE:
        writer = TopTable(out, run.k, run.temperature, run.precision, run.no_color)
    else:
        writer = TopWriter(out, output, run.k, run.temperature, run.precision)
    run_rows(source, numerics.log_softmax, run.temperature, writer)
    out.flush()


# --- sample ------------------------------------------------------------------


class SampleWriter:
    """Each row's draws: a csv/tsv line, a JSON object with the support size, or a table."""

    def __init__(
        self,
        out: BinaryIO,
        output: Format,
        count: int,
        seed: int,
        names: bool,
        settings: dict[str, Any],
        no_color: bool,
    ):
        self.out = out
        self.output = output
        self.count = count
        self.generator = sampling.generator(seed)
        self.names = names
        self.settings = settings
        self.no_color = no_color
        self.classes: list[str] | None = None
        self.kept_names: list[str] | None = None
        self.any_rows = False
        self.window: RowWindow[tuple[int, list[Any], int, list[str] | None]] = RowWindow()

    def start(self, classes: Sequence[str] | None, kept_names: Sequence[str] | None = None) -> None:
        self.classes = list(classes) if classes is not None else None
        self.kept_names = list(kept_names) if kept_names else None
        if self.output is Format.JSON:
            head = {"operation": "sample", **self.settings, "kept_columns": self.kept_names}
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
        # Rows are drawn a slice at a time so a block never holds more than
        # about DRAWS_AT_ONCE draws, however many rows times -n that is.
        step = max(1, DRAWS_AT_ONCE // self.count)
        for start in range(0, values.shape[0], step):
            stop = start + step
            part = None
            if carried is not None:
                part = Carried(
                    None if carried.kept is None else carried.kept[start:stop],
                    None if carried.objects is None else carried.objects[start:stop],
                )
            self._rows(values[start:stop], first_row + start, part)

    def _rows(self, values: FloatArray, first_row: int, carried: Carried | None) -> None:
        draws = sampling.draw(values, self.count, self.generator)
        support = np.count_nonzero(values, axis=1)
        kept = _kept_rows(carried, values.shape[0])
        shown: list[list[Any]] = (
            [[self.classes[i] for i in row] for row in draws.tolist()]  # type: ignore[index]
            if self.names
            else draws.tolist()
        )
        if self.output is Format.TABLE:
            self.window.add(
                len(shown),
                lambda offset: (
                    first_row + offset + 1,
                    shown[offset][: TABLE_DRAWS + 1],
                    int(support[offset]),
                    kept[offset] if kept is not None else None,
                ),
            )
            return
        if self.output.is_delimited:
            assert self.output.separator is not None
            text = b"".join(
                header_line(
                    [*(kept[offset] if kept else ()), *map(str, shown[offset])],
                    self.output.separator,
                )
                for offset in range(len(shown))
            )
        else:
            # NDJSON objects read with --key come back whole, with the result added.
            whole = (
                carried.objects if carried is not None and self.output is Format.NDJSON else None
            )
            objects = [
                {
                    **(whole[offset] if whole else {}),
                    **(dict(zip(self.kept_names or (), kept[offset], strict=True)) if kept else {}),
                    "draws": shown[offset],
                    "support": int(support[offset]),
                }
                for offset in range(len(shown))
            ]
            if self.output is Format.NDJSON:
                text = b"".join(orjson.dumps(obj) + b"\n" for obj in objects)
            else:
                text = (b"," if self.any_rows else b"") + b",".join(map(orjson.dumps, objects))
        self.out.write(text)
        self.any_rows = True
        self.out.flush()

    def finish(self) -> None:
        if self.output is Format.JSON:
            self.out.write(b"]}\n")
        elif self.output is Format.TABLE:
            self._table()
        self.out.flush()

    def abort(self) -> None:
        self.finish()

    def _table(self) -> None:
        if not self.window.rows:
            return
        from rich.table import Table

        console, stream = make_console(self.out, self.no_color)
        what = count_text(self.count, "draw")
        table = Table(title=f"{what} per row, {self._described()}")
        table.add_column("row", justify="right")
        for name in self.kept_names or ():
            table.add_column(printable(name), overflow="fold")
        table.add_column("draws", overflow="fold")
        table.add_column("support", justify="right")
        for position, (number, draws, support, kept) in enumerate(self.window.rows):
            if position == len(self.window.head) and self.window.hidden:
                cells = [GAP] * (len(table.columns) - 1)
                table.add_row(not_shown(self.window.hidden, "row"), *cells, style=GAP_STYLE)
            text = " ".join(printable(str(draw)) for draw in draws[:TABLE_DRAWS])
            if len(draws) > TABLE_DRAWS:
                text += f" {GAP} ({self.count - TABLE_DRAWS:,} more; -o csv shows all)"
            table.add_row(f"{number:,}", *(printable(v) for v in kept or ()), text, f"{support:,}")
        console.print(table)
        stream.flush()

    def _described(self) -> str:
        parts = [f"T = {title_number(self.settings['temperature'])}"]
        for key in ("top_k", "top_p", "min_p"):
            if self.settings[key] is not None:
                parts.append(f"{key.replace('_', '-')}{GLUE}{self.settings[key]}")
        parts.append(f"seed{GLUE}{self.settings['seed']}")
        return ", ".join(parts)


def run_sample(run: Invocation, source: ScoreSource, output: Format) -> None:
    """``softmax sample``: N draws per row from the filtered distribution."""
    from .pipeline import run_rows

    seed = run.seed if run.seed is not None else sampling.new_seed()
    if run.print_seed:
        say(f"softmax: seed {seed}")
    filters = sampling.Filters(run.top_k, run.top_p, run.min_p)
    settings = {
        "temperature": run.temperature,
        "top_k": run.top_k,
        "top_p": run.top_p,
        "min_p": run.min_p,
        "seed": seed,
        "draws": run.draws,
        "method": "inverse CDF, numpy.random.Generator(PCG64(seed))",
    }
    if run.names and source.classes is None:
        raise UsageError(
            "needs class names: a header in the input or --classes FILE",
            option=run.name_of("names"),
        )
    out = stdout_bytes()
    writer = SampleWriter(out, output, run.draws, seed, run.names, settings, run.no_color)

    def filtered(scores: FloatArray, temperature: float) -> FloatArray:
        return sampling.filtered_distribution(scores, temperature, filters)[0]

    run_rows(source, filtered, run.temperature, writer)
    out.flush()
