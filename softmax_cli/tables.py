"""Tables for people, drawn with Rich (imported only when a table is asked for).

A batch keeps only its first and last rows in memory, so a table of a huge
input costs no more than a table of a small one.
"""

from __future__ import annotations

import io
import math
from collections import deque
from collections.abc import Sequence
from typing import BinaryIO

import numpy as np

from .numerics import FloatArray
from .writers import LossDetails, LossSummary, RowSettings

HEAD_ROWS = 10
TAIL_ROWS = 5
BAR_WIDTH = 20


def format_number(value: float, precision: int) -> str:
    """Fixed-point with ``precision`` decimals; scientific where that would hide the value."""
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "-inf" if value < 0 else "inf"
    if value != 0 and abs(value) < 0.5 * 10.0 ** (-precision):
        return f"{value:.{max(precision - 1, 1)}e}"
    if abs(value) >= 1e15:
        return f"{value:.{max(precision - 1, 1)}e}"
    return f"{value:.{precision}f}"


def bar(fraction: float, width: int = BAR_WIDTH) -> str:
    """A proportional bar of block characters, with eighth-block resolution."""
    if not math.isfinite(fraction) or fraction <= 0:
        return ""
    eighths = round(min(fraction, 1.0) * width * 8)
    full, part = divmod(eighths, 8)
    return "█" * full + ("▏▎▍▌▋▊▉"[part - 1] if part else "")


def make_console(out: BinaryIO, no_color: bool = False):  # noqa: ANN201 - Rich type stays lazy
    """A Rich console on our stdout; Rich itself honours NO_COLOR, COLUMNS and pipes."""
    from rich.console import Console

    stream = _BorrowedText(out, encoding="utf-8", write_through=True)
    terminal = hasattr(out, "isatty") and _isatty(out)
    return Console(
        file=stream,
        no_color=no_color or None,
        force_terminal=terminal,
        highlight=False,
        emoji=False,
    ), stream


class _BorrowedText(io.TextIOWrapper):
    """A text view of our stdout that never closes it (the caller owns the stream)."""

    def close(self) -> None:
        if not self.closed:
            self.flush()


def _plain(classes: Sequence[str] | None) -> list[str] | None:
    """Class names escaped, so a name like ``x[/y]`` is shown as written, not read as markup."""
    from rich.markup import escape

    return [escape(name) for name in classes] if classes is not None else None


def _isatty(out: BinaryIO) -> bool:
    try:
        return out.isatty()
    except (ValueError, OSError):
        return False


class TableRowWriter:
    """Probabilities as a table: vertical with bars for one vector, columns for a batch."""

    def __init__(self, out: BinaryIO, settings: RowSettings, no_color: bool = False, **_: object):
        self.out = out
        self.settings = settings
        self.precision = 4 if settings.precision is None else settings.precision
        self.no_color = no_color
        self.classes: list[str] | None = None
        self.head: list[tuple[int, np.ndarray, np.ndarray]] = []
        self.tail: deque[tuple[int, np.ndarray, np.ndarray]] = deque(maxlen=TAIL_ROWS)
        self.total = 0

    def start(self, classes: Sequence[str] | None) -> None:
        self.classes = _plain(classes)

    def rows(self, values: FloatArray, scores: FloatArray, first_row: int) -> None:
        count = values.shape[0]
        need_head = min(count, max(HEAD_ROWS - len(self.head), 0))
        for offset in [*range(need_head), *range(max(count - TAIL_ROWS, need_head), count)]:
            item = (first_row + offset + 1, values[offset].copy(), scores[offset].copy())
            (self.head.append if offset < need_head else self.tail.append)(item)
        self.total += count

    def abort(self) -> None:
        self.finish()

    def _names(self, width: int) -> list[str]:
        return self.classes if self.classes is not None else [str(i) for i in range(width)]

    def finish(self) -> None:
        from rich.table import Table

        console, stream = make_console(self.out, self.no_color)
        rows = self.head + list(self.tail)
        if not rows:
            return
        is_log = self.settings.operation == "log_softmax"
        label = "log-probability" if is_log else "probability"
        if len(rows) == 1 and self.total == 1:
            number, values, scores = rows[0]
            probs = np.exp(values) if is_log else values
            best = int(np.argmax(values))
            table = Table(
                title=f"softmax, T = {self.settings.temperature:g}"
                if not is_log
                else f"log-softmax, T = {self.settings.temperature:g}"
            )
            table.add_column("class")
            table.add_column("score", justify="right")
            table.add_column(label, justify="right")
            table.add_column("", justify="left", no_wrap=True)
            for index, name in enumerate(self._names(values.shape[0])):
                style = "bold" if index == best else None
                mark = " ◀ max" if index == best else ""
                table.add_row(
                    name,
                    format_number(scores[index], self.precision),
                    format_number(values[index], self.precision),
                    bar(probs[index]) + mark,
                    style=style,
                )
            if not is_log:
                table.add_section()
                table.add_row("sum", "", format_number(float(values.sum()), self.precision), "")
            console.print(table)
            stream.flush()
            return
        names = self._names(rows[0][1].shape[0])
        table = Table(title=f"{label} by row, T = {self.settings.temperature:g}")
        table.add_column("row", justify="right")
        for name in names:
            table.add_column(name, justify="right")
        table.add_column("arg-max")
        shown = 0
        for index, (number, values, _) in enumerate(rows):
            if index == len(self.head) and self.total > len(rows):
                table.add_row("…", *["…"] * len(names), "", style="dim")
                table.add_row("", f"{self.total - len(rows)} rows not shown", style="dim")
            best = int(np.argmax(values))
            cells = [
                f"[bold]{format_number(v, self.precision)}[/bold]"
                if i == best
                else format_number(v, self.precision)
                for i, v in enumerate(values)
            ]
            table.add_row(str(number), *cells, names[best])
            shown += 1
        console.print(table)
        stream.flush()


class TableLossWriter:
    """Per-row losses with the true label's probability; a footer with the totals."""

    def __init__(
        self,
        out: BinaryIO,
        reduction: str,
        precision: int | None,
        no_color: bool = False,
        **_: object,
    ):
        self.out = out
        self.reduction = reduction
        self.precision = 4 if precision is None else precision
        self.no_color = no_color
        self.classes: list[str] | None = None
        self.head: list[tuple[int, float, float, int, int]] = []
        self.tail: deque[tuple[int, float, float, int, int]] = deque(maxlen=TAIL_ROWS)
        self.total = 0

    def start(self, classes: Sequence[str] | None) -> None:
        self.classes = _plain(classes)

    def rows(self, losses: FloatArray, details: LossDetails, first_row: int) -> None:
        labels = details.labels if details.labels is not None else np.full(losses.shape, -2)
        count = losses.shape[0]
        need_head = min(count, max(HEAD_ROWS - len(self.head), 0))
        for offset in [*range(need_head), *range(max(count - TAIL_ROWS, need_head), count)]:
            item = (
                first_row + offset + 1,
                float(losses[offset]),
                float(details.target_probability[offset]),
                int(details.predicted[offset]),
                int(labels[offset]),
            )
            (self.head.append if offset < need_head else self.tail.append)(item)
        self.total += count

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

        console, stream = make_console(self.out, self.no_color)
        table = Table(title=f"cross-entropy ({self.reduction})", show_footer=True)
        table.add_column("row", justify="right", footer="")
        table.add_column("label", footer="")
        table.add_column("p(label)", justify="right", footer="")
        table.add_column("predicted", footer="")
        table.add_column("loss", justify="right", footer="")
        rows = self.head + list(self.tail)
        for index, (number, loss, prob, predicted, label) in enumerate(rows):
            if index == len(self.head) and self.total > len(rows):
                table.add_row(
                    "…", f"{self.total - len(rows)} rows not shown", "", "", "", style="dim"
                )
            table.add_row(
                str(number),
                self._name(label),
                format_number(prob, self.precision) if label != -1 else "",
                self._name(predicted),
                format_number(loss, self.precision),
            )
        console.print(table)
        name = "sum" if self.reduction == "sum" else "mean"
        console.print(
            f"loss ({name}) = {format_number(summary.loss, self.precision)}   "
            f"perplexity = {format_number(summary.perplexity, 2)}   "
            f"accuracy = {format_number(summary.accuracy, 3)}   rows = {summary.rows}",
            highlight=False,
        )
        stream.flush()
