"""Record the README pictures: Rich consoles saved as SVG under docs/.

Run from the repository root:  python scripts/make_pictures.py
The pictures are drawn by the same code as the terminal output, at 80 columns.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from softmax_cli.explain import derive, text_blocks
from softmax_cli.rich_output import GLUE
from softmax_cli.writers import RowSettings, TableRowWriter

DOCS = Path(__file__).resolve().parent.parent / "docs"
WIDTH = 80


def recording_console() -> Any:
    """A console that records, as wide as a terminal of WIDTH columns."""
    from rich.console import Console

    return Console(
        record=True,
        width=WIDTH,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        highlight=False,
        emoji=False,
        markup=False,
    )


def save(console: Any, name: str, title: str) -> None:
    svg = console.export_svg(title=title)
    # GLUE is the no-break space of the explain prose; in SVG it is a plain space.
    svg = svg.replace(GLUE, "&#160;")
    (DOCS / name).write_text(svg, encoding="utf-8")
    print(f"wrote docs/{name}")


def explain_picture() -> None:
    from rich.console import Group
    from rich.text import Text

    console = recording_console()
    console.print(Text("$ softmax explain 2 1 0.1 --label 0", style="bold"))
    steps = derive(np.array([2.0, 1.0, 0.1]), label=0)
    console.print(Group(*text_blocks(steps, precision=4)))
    save(console, "explain.svg", "softmax explain 2 1 0.1 --label 0")


def sweep_picture() -> None:
    from rich.console import Group
    from rich.text import Text

    console = recording_console()
    console.print(Text("$ softmax explain 3 1 0.2 --sweep   (last step)", style="bold"))
    steps = derive(np.array([3.0, 1.0, 0.2]), temperatures=[0.1, 0.25, 0.5, 1, 2, 5, 10])
    blocks = text_blocks(steps, precision=4)
    console.print(Group(*blocks[-3:]))
    save(console, "sweep.svg", "softmax explain 3 1 0.2 --sweep")


def batch_picture() -> None:
    from rich.text import Text

    console = recording_console()
    console.print(Text("$ softmax probs -i logits.csv", style="bold"))
    rng = np.random.default_rng(7)
    logits = rng.normal(0.0, 1.5, size=(2000, 4))
    settings = RowSettings("softmax", 1.0, None)
    writer = TableRowWriter(io.BytesIO(), settings)
    writer.start(["cat", "dog", "bird", "fish"])
    shifted = logits - logits.max(axis=1, keepdims=True)
    probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    writer.rows(probs, logits, 0)
    console.print(writer.renderable(WIDTH))
    save(console, "batch.svg", "softmax probs -i logits.csv")


def main() -> None:
    DOCS.mkdir(exist_ok=True)
    explain_picture()
    sweep_picture()
    batch_picture()


if __name__ == "__main__":
    main()
