"""What every table for people shares: the console, bars, styles and the row window.

Rich is imported only inside functions, so importing this module costs nothing
for csv or json output.  Rows, losses, reports and explain all draw with it.
"""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, BinaryIO, Generic, TypeVar

HEAD_ROWS = 10
TAIL_ROWS = 5
BAR_WIDTH = 20
MIN_BAR = 8
NAME_CAP = 16  # class names longer than this wrap in table headers and cells
PIPE_WIDTH = 80
MIN_WIDTH = 40  # narrower than this (COLUMNS=0, a split pane) and tables are noise
ARGMAX_STYLE = "bold green"
WRONG_STYLE = "red"  # a row whose prediction misses its label
GAP_STYLE = "dim"  # the row that stands for rows or classes not shown
TOTAL_STYLE = "bold"
GAP = "…"
GLUE = "\ue000"  # a space Rich may not break at (private use, one cell wide)
_TRAILING = re.compile(r" +(?=\n)")

T = TypeVar("T")


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


def not_shown(count: int, noun: str, plural: str | None = None) -> str:
    """``… 12 rows not shown …``: the note where a table leaves rows or classes out."""
    return f"{GAP} {count_text(count, noun, plural)} not shown {GAP}"


def styled(text: str, style: str) -> Any:
    """``text`` as a Rich ``Text`` in ``style`` (a style, never markup: names stay literal)."""
    from rich.text import Text

    return Text(text, style=style)


# --- which rows to show ------------------------------------------------------------


def shown_indices(
    count: int, head: int = HEAD_ROWS, tail: int = TAIL_ROWS, keep: Sequence[int] = ()
) -> list[int]:
    """Indices to show out of ``count``: the first ``head``, the last ``tail`` and ``keep``."""
    if count <= head + tail + 1:
        return list(range(count))
    chosen = set(range(head)) | set(range(count - tail, count)) | set(keep)
    return sorted(i for i in chosen if 0 <= i < count)


def gaps(indices: Sequence[int]) -> dict[int, int]:
    """``{position: missing}`` for each jump in ``indices`` (position = list index after it)."""
    return {
        position: indices[position] - indices[position - 1] - 1
        for position in range(1, len(indices))
        if indices[position] - indices[position - 1] > 1
    }


class RowWindow(Generic[T]):
    """The first and last items of a stream of rows, and how many rows went by.

    A table of a huge input keeps only these, so it costs no more memory than
    a table of a small one.
    """

    def __init__(self, head: int = HEAD_ROWS, tail: int = TAIL_ROWS):
        self.head_size = head
        self.tail_size = tail
        self.head: list[T] = []
        self.tail: deque[T] = deque(maxlen=tail)
        self.total = 0

    def add(self, count: int, item: Callable[[int], T]) -> None:
        """Take the next ``count`` rows; ``item(offset)`` makes the kept row at ``offset``."""
        need_head = min(count, max(self.head_size - len(self.head), 0))
        for offset in [*range(need_head), *range(max(count - self.tail_size, need_head), count)]:
            (self.head.append if offset < need_head else self.tail.append)(item(offset))
        self.total += count

    @property
    def rows(self) -> list[T]:
        """The kept rows in order: the head, then the tail."""
        return self.head + list(self.tail)

    @property
    def hidden(self) -> int:
        """How many rows between the head and the tail are not kept."""
        return self.total - len(self.head) - len(self.tail)


# --- the console -------------------------------------------------------------------


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
    text.  A pipe is 80 columns wide (or ``COLUMNS``) whatever the terminal is,
    and nothing is drawn narrower than ``MIN_WIDTH``.
    """
    import os

    from rich.console import Console

    from .streams import rich_reports_broken_pipes

    rich_reports_broken_pipes()
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
    if console.width < MIN_WIDTH:
        console.width = MIN_WIDTH
    return console, target
