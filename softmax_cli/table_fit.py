"""Tables that fit the width without cutting a number.

Rich squeezes a table that is too wide by folding or cutting cells, so at 50
columns ``0.8398`` became ``0.…`` and headers wrapped a letter a line.  Here a
table is measured first by the widest piece no cell can be broken at (a word;
a whole cell where the column does not wrap); if it is too wide its bar
columns go, then its other columns are split over several tables that repeat
the leading key columns (row, rank, class), as explain's main table splits.
"""

from __future__ import annotations

from collections.abc import Sequence
from copy import copy
from typing import Any

from .rich_output import NAME_CAP


def _unbreakable(cell: Any, no_wrap: bool, console: Any) -> int:
    from rich.cells import cell_len
    from rich.measure import Measurement
    from rich.text import Text

    if isinstance(cell, Text):
        cell = cell.plain
    if isinstance(cell, str):
        pieces = cell.splitlines() if no_wrap else cell.split()
        return max((cell_len(piece) for piece in pieces), default=0)
    wide = console.options.update_width(10_000)
    return Measurement.get(console, wide, cell).minimum


def _needs(console: Any, table: Any) -> list[int]:
    """Each column's narrowest width that breaks no word, with its padding."""
    padding = table.padding[1] + table.padding[3]
    needs = []
    for column in table.columns:
        cells = [column.header, *column._cells]
        widest = max(_unbreakable(cell, column.no_wrap, console) for cell in cells)
        if column.overflow == "fold":  # names may fold; numbers never do
            widest = min(widest, NAME_CAP)
        needs.append(max(widest, column.min_width or 0) + padding)
    return needs


def _width(needs: Sequence[int], columns: Sequence[int]) -> int:
    return sum(needs[i] for i in columns) + len(columns) + 1  # a rule between and around


def _part(table: Any, columns: Sequence[int], needs: Sequence[int], first: bool, last: bool):
    part = copy(table)
    part.columns = []
    padding = table.padding[1] + table.padding[3]
    for index in columns:
        column = copy(table.columns[index])
        column._index = len(part.columns)
        column.min_width = needs[index] - padding
        part.columns.append(column)
    part.title = table.title if first else None
    part.caption = table.caption if last else None
    return part


def fitted(console: Any, table: Any, keep: int = 1, pictures: Sequence[int] = ()) -> Any:
    """``table`` if it fits ``console``; else without its ``pictures`` (bar columns), split
    into tables that each repeat its first ``keep`` columns if need be."""
    from rich.console import Group

    needs = _needs(console, table)
    width = console.width
    columns = list(range(len(table.columns)))
    if _width(needs, columns) <= width:
        return _part(table, columns, needs, True, True)
    columns = [i for i in columns if i not in pictures]
    if _width(needs, columns) <= width:
        return _part(table, columns, needs, True, True)
    keys, rest = columns[:keep], columns[keep:]
    groups: list[list[int]] = [[]]
    for index in rest:
        if groups[-1] and _width(needs, keys + groups[-1] + [index]) > width:
            groups.append([])
        groups[-1].append(index)
    parts: list[Any] = []
    for number, group in enumerate(groups):
        if parts:
            parts.append("")
        parts.append(_part(table, keys + group, needs, number == 0, number == len(groups) - 1))
    return Group(*parts)
