"""``evaluate --report`` as tables for people: the confusion matrix and per-class scores.

The matrix is shaded by each cell's share of its row (the true class), with
glyphs first and colour second, so the shading survives ``NO_COLOR`` and a
pipe: blank for none, then ``░ ▒ ▓ █`` for up to a quarter, a half, three
quarters and all of the row.  Rich is imported only inside the renderer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import BinaryIO

from .class_report import class_names
from .metrics import Report
from .number_text import table_number, table_precision
from .rich_output import make_console

SHADES = "░▒▓█"
HIT_STYLE, MISS_STYLE = "green", "red"


def shade(share: float) -> str:
    """The glyph for a cell holding ``share`` (0 to 1) of its row: blank for none."""
    if not share > 0:
        return " "
    return SHADES[min(len(SHADES), max(1, math.ceil(share * len(SHADES)))) - 1]


def _count(value: float, weighted: bool, digits: int) -> str:
    """A count of rows, or a sum of weights without trailing zeros (``9.5``, not ``9.5000``)."""
    if not weighted or value == round(value):
        return f"{int(round(value)):,}"
    return table_number(value, digits).rstrip("0").rstrip(".")


def render_class_report(
    out: BinaryIO,
    report: Report,
    classes: Sequence[str] | None,
    precision: int | None,
    no_color: bool = False,
) -> None:
    """The confusion matrix (rows: true class, columns: predicted), then per-class scores."""
    from rich.table import Table
    from rich.text import Text

    from .escapes import printable

    confusion = report.confusion
    assert confusion is not None and confusion.dense
    digits = table_precision(precision)
    weighted = report.weight is not None
    names = [printable(name) for name in class_names(classes, report.classes)]
    console, stream = make_console(out, no_color)
    matrix = confusion.matrix()
    table = Table(title="confusion matrix (rows: true, columns: predicted)")
    table.add_column("true \\ predicted", no_wrap=True)
    for name in names:
        table.add_column(name, justify="right", no_wrap=True)
    for index, name in enumerate(names):
        row = matrix[index]
        total = float(row.sum())
        cells = []
        for column, value in enumerate(row):
            share = float(value) / total if total > 0 else 0.0
            glyph = shade(share)
            style = "" if glyph == " " else HIT_STYLE if column == index else MISS_STYLE
            cells.append(Text.assemble((glyph, style), " ", _count(float(value), weighted, digits)))
        table.add_row(name, *cells)
    from .table_fit import fitted

    console.print(fitted(console, table))
    console.print(
        f"shade: a cell's share of its row: {SHADES[0]} up to 1/4, {SHADES[1]} up to 1/2, "
        f"{SHADES[2]} up to 3/4, {SHADES[3]} more",
        highlight=False,
    )

    scores = confusion.scores()
    per_class = Table(title="per class (an undefined ratio is 0)")
    per_class.add_column("class", no_wrap=True)
    for heading in ("precision", "recall", "F1", "support"):
        per_class.add_column(heading, justify="right")
    for index, name in enumerate(names):
        per_class.add_row(
            name,
            table_number(float(scores.precision[index]), digits),
            table_number(float(scores.recall[index]), digits),
            table_number(float(scores.f1[index]), digits),
            _count(float(scores.support[index]), weighted, digits),
            end_section=index == len(names) - 1,
        )
    for label, numbers in (("macro avg", scores.macro()), ("weighted avg", scores.weighted())):
        per_class.add_row(
            label,
            table_number(numbers["precision"], digits),
            table_number(numbers["recall"], digits),
            table_number(numbers["f1"], digits),
            _count(numbers["support"], weighted, digits),
        )
    console.print(fitted(console, per_class))
    stream.flush()
