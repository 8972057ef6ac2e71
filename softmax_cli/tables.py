"""Tables for people, drawn with Rich (imported only when a table is asked for).

A batch keeps only its first and last rows in memory, so a table of a huge
input costs no more than a table of a small one; a wide batch shows as many
classes as fit the terminal and says how many it left out.
"""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Sequence
from typing import Any, BinaryIO

import numpy as np

from .number_text import table_number, table_precision
from .numerics import FloatArray
from .writers import LossDetails, LossSummary, RowSettings

HEAD_ROWS = 10
TAIL_ROWS = 5
BAR_WIDTH = 20
MIN_BAR = 8
NAME_CAP = 16  # class names longer than this wrap in table headers and cells
PIPE_WIDTH = 80
ARGMAX_STYLE = "bold green"
GAP = "…"
GLUE = "\ue000"  # a space Rich may not break at (private use, one cell wide)
_TRAILING = re.compile(r" +(?=\n)")


def bar(fraction: float, width: int = BAR_WIDTH) -> str:
    """A proportional bar of block characters, with eighth-block resolution."""
    if not math.isfinite(fraction) or fraction <= 0:
        return ""
    eighths = round(min(fraction, 1.0) * width * 8)
    full, part = divmod(eighths, 8)
    return "█" * full + ("▏▎▍▌▋▊▉"[part - 1] if part else "")


def count_text(count: int, noun: str, plural: str | None = None) -> str:
    """``1 row``, ``12,345 rows``: a count people can read."""
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"


class _TextOut:
    """Text written as UTF-8 to our binary stdout, without ever closing it."""

    def __init__(self, out: BinaryIO, terminal: bool | None):
        self.out = out
        self.terminal = terminal

    def write(self, text: str) -> int:
        # GLUE keeps "T = 1" on one line when Rich wraps; it prints as a space.
        # Rich pads cells with spaces; a file should not end its lines in them.
        clean = _TRAILING.sub("", text.replace(GLUE, " "))
        self.out.write(clean.encode("utf-8"))
        return len(text)

    def flush(self) -> None:
        self.out.flush()

    def isatty(self) -> bool:
        if self.terminal is not None:
            return self.terminal
        try:
            return bool(self.out.isatty())
        except (AttributeError, ValueError, OSError):
            return False


def make_console(
    out: BinaryIO, no_color: bool = False, terminal: bool | None = None
) -> tuple[Any, Any]:
    """A Rich console writing to ``out``, and the text stream under it (to flush).

    Rich decides colour and escape codes: ``NO_COLOR``, ``TERM=dumb``,
    ``FORCE_COLOR`` and ``TTY_COMPATIBLE`` are honoured, and a pipe gets plain
    text.  A pipe is 80 columns wide (or ``COLUMNS``) whatever the terminal is.
    """
    import os

    from rich.console import Console

    target = _TextOut(out, terminal)
    console = Console(
        file=target,
        no_color=True if no_color else None,
        force_terminal=terminal,
        highlight=False,
        emoji=False,
        markup=False,
    )
    if not console.is_terminal and not os.environ.get("COLUMNS", "").isdigit():
        console.width = PIPE_WIDTH
    return console, target


def shown_indices(count: int, head: int, tail: int, keep: Sequence[int] = ()) -> list[int]:
    """Indices to show out of ``count``: the first ``head``, the last ``tail`` and ``keep``."""
    if count <= head + tail + 1:
        return list(range(count))
    chosen = set(range(head)) | set(range(count - tail, count)) | set(keep)
    return sorted(i for i in chosen if 0 <= i < count)


def _gaps(indices: Sequence[int]) -> list[tuple[int, int]]:
    """``(position, missing)`` for each jump in ``indices`` (position = list index after it)."""
    return [
        (position, indices[position] - indices[position - 1] - 1)
        for position in range(1, len(indices))
        if indices[position] - indices[position - 1] > 1
    ]


class TableRowWriter:
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
        self.head: list[tuple[int, np.ndarray, np.ndarray]] = []
        self.tail: deque[tuple[int, np.ndarray, np.ndarray]] = deque(maxlen=TAIL_ROWS)
        self.total = 0

    def start(self, classes: Sequence[str] | None) -> None:
        self.classes = list(classes) if classes is not None else None

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

    @property
    def _is_log(self) -> bool:
        return self.settings.operation == "log_softmax"

    def finish(self) -> None:
        rows = self.head + list(self.tail)
        if not rows:
            return
        console, stream = make_console(self.out, self.no_color, self.terminal)
        console.print(self.renderable(console.width))
        stream.flush()

    def renderable(self, width: int) -> Any:
        """The table of the rows seen so far, at most ``width`` columns wide."""
        rows = self.head + list(self.tail)
        if len(rows) == 1 and self.total == 1:
            _, values, scores = rows[0]
            return self._vertical(values, scores, width)
        return self._batch(rows, width)

    def _vertical(self, values: FloatArray, scores: FloatArray, width: int) -> Any:
        """One vector: a row per class with score, probability, bar; the arg-max marked."""
        from rich.table import Table

        f = self.precision
        probs = np.exp(values) if self._is_log else values
        best = int(np.argmax(values))
        names = self._names(values.shape[0])
        indices = shown_indices(len(names), HEAD_ROWS, TAIL_ROWS, keep=[best])
        headers = ["score", "probability"] + (["log-prob"] if self._is_log else [])
        numbers = [scores[indices], probs[indices]] + ([values[indices]] if self._is_log else [])
        used = 1 + max(len("class"), *(min(len(names[i]), 2 * NAME_CAP) for i in indices)) + 3
        for header, column in zip(headers, numbers, strict=True):
            used += max(len(header), *(len(table_number(float(v), f)) for v in column)) + 3
        room = width - used - 3 - len(" ◀ max")
        bar_width = max(MIN_BAR, min(BAR_WIDTH, room))
        what = "log-softmax" if self._is_log else "softmax"
        table = Table(title=f"{what} of {count_text(len(names), 'score')}, T = {self._t()}")
        table.add_column("class", overflow="fold")
        table.add_column("score", justify="right")
        table.add_column("probability", justify="right")
        if self._is_log:
            table.add_column("log-prob", justify="right")
        table.add_column("", no_wrap=True)
        gaps = dict(_gaps(indices))
        for position, index in enumerate(indices):
            if position in gaps:
                missing = f"{GAP} {count_text(gaps[position], 'class', 'classes')} not shown {GAP}"
                cells = [GAP, GAP, GAP] + ([GAP] if self._is_log else []) + [missing]
                table.add_row(*cells, style="dim")
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
        total = ["sum", "", table_number(float(probs.sum()), f)]
        table.add_row(*total, *([""] if self._is_log else []), "")
        return table

    def _t(self) -> str:
        return f"{self.settings.temperature:g}"

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
        for position, (number, values, _) in enumerate(rows):
            if position == len(self.head) and self.total > len(rows):
                missing = self.total - len(rows)
                table.add_row(GAP, *[GAP] * (len(table.columns) - 1), style="dim")
                notes.insert(0, f"{GAP} {count_text(missing, 'row')} not shown {GAP}")
            best = int(np.argmax(values))
            cells: list[Any] = []
            for place, index in enumerate(columns):
                if place and index - columns[place - 1] > 1:
                    cells.append(GAP)
                text = table_number(float(values[index]), f)
                cells.append(_styled(text, ARGMAX_STYLE) if index == best else text)
            table.add_row(f"{number:,}", *cells, names[best])
        if notes:
            table.caption = "\n".join(notes)
        return table


def _styled(text: str, style: str) -> Any:
    from rich.text import Text

    return Text(text, style=style)


class TableLossWriter:
    """Per-row losses with the true label's probability; a footer with the totals."""

    def __init__(
        self,
        out: BinaryIO,
        reduction: str,
        precision: int | None,
        no_color: bool = False,
        terminal: bool | None = None,
        **_: object,
    ):
        self.out = out
        self.reduction = reduction
        self.precision = table_precision(precision)
        self.no_color = no_color
        self.terminal = terminal
        self.classes: list[str] | None = None
        self.head: list[tuple[int, float, float, int, int]] = []
        self.tail: deque[tuple[int, float, float, int, int]] = deque(maxlen=TAIL_ROWS)
        self.total = 0

    def start(self, classes: Sequence[str] | None) -> None:
        self.classes = list(classes) if classes is not None else None

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

        f = self.precision
        console, stream = make_console(self.out, self.no_color, self.terminal)
        table = Table(title=f"cross-entropy of {count_text(summary.rows, 'row')}")
        table.add_column("row", justify="right")
        table.add_column("label", overflow="fold")
        table.add_column("p(label)", justify="right")
        table.add_column("predicted", overflow="fold")
        table.add_column("loss", justify="right")
        rows = self.head + list(self.tail)
        for index, (number, loss, prob, predicted, label) in enumerate(rows):
            if index == len(self.head) and self.total > len(rows):
                table.add_row(GAP, GAP, GAP, GAP, GAP, style="dim")
                missing = f"{GAP} {count_text(self.total - len(rows), 'row')} not shown {GAP}"
                table.caption = missing
            wrong = label >= 0 and predicted != label
            table.add_row(
                f"{number:,}",
                self._name(label),
                table_number(prob, f) if label != -1 else "",
                self._name(predicted) + (" ✗" if wrong else ""),
                table_number(loss, f),
                style="red" if wrong else None,
            )
        table.add_section()
        name = "sum" if self.reduction == "sum" else "mean"
        table.add_row("", f"loss ({name})", "", "", table_number(summary.loss, f), style="bold")
        table.add_row("", "perplexity", "", "", table_number(summary.perplexity, f))
        accuracy = table_number(summary.accuracy, f)
        table.add_row("", "accuracy", "", f"{summary.correct}/{summary.counted}", accuracy)
        console.print(table)
        console.print("perplexity = exp(mean loss); accuracy = arg-max equals the label")
        stream.flush()
