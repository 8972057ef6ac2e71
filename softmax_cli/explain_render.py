"""The explanation typeset three ways: terminal text, Markdown and LaTeX.

All three read one ``explain_notes.Document``, so they carry the same steps and
the same numbers; only the typesetting differs.  Rich is imported inside the
functions that draw for a terminal.
"""

from __future__ import annotations

import re
from typing import Any, BinaryIO

from .explain_notes import (
    CODE_CLOSE,
    CODE_OPEN,
    MATH_CLOSE,
    MATH_OPEN,
    NAME_CLOSE,
    NAME_OPEN,
    Document,
    Grid,
    document,
)

PROSE_WIDTH = 88  # wider lines are hard to follow on a projector
LONG_FORMULA = 50  # longer formulas may break after + and = too
MARKS_WIDTH = 8  # the narrowest the column of marks (◀ max, true) may wrap to
_SEGMENTS = re.compile(f"{MATH_OPEN}(.*?){MATH_CLOSE}", re.S)
_NAMES = re.compile(f"{NAME_OPEN}(.*?){NAME_CLOSE}", re.S)
_CODE = re.compile(f"{CODE_OPEN}(.*?){CODE_CLOSE}", re.S)


def _printable_steps(steps: dict[str, Any]) -> dict[str, Any]:
    """Class names come from the input: their control characters are shown escaped."""
    from .escapes import printable

    return {**steps, "classes": [printable(n) for n in steps["classes"]]}


def _pieces(text: str) -> list[tuple[bool, str]]:
    """``(is_math, text)`` pieces of a marked sentence, in order."""
    pieces = []
    position = 0
    for match in _SEGMENTS.finditer(text):
        if match.start() > position:
            pieces.append((False, text[position : match.start()]))
        pieces.append((True, match.group(1)))
        position = match.end()
    if position < len(text):
        pieces.append((False, text[position:]))
    return pieces


def _code_pieces(text: str) -> list[tuple[bool, str]]:
    """``(is_code, text)`` pieces of prose, in order."""
    parts = _CODE.split(text)  # the captured commands are at the odd places
    return [(i % 2 == 1, part) for i, part in enumerate(parts) if part]


# --- terminal text -------------------------------------------------------------------


def plain(text: str) -> str:
    """A marked sentence as terminal text: a formula breaks only where a reader expects."""
    from .rich_output import GLUE

    out = []
    for is_math, piece in _pieces(text):
        piece = _NAMES.sub(lambda m: m.group(1), piece)
        if is_math:
            piece = _glued(piece, GLUE)
        else:
            piece = piece.replace("class ", f"class{GLUE}")
            piece = _CODE.sub(lambda m: "'" + m.group(1).replace(" ", GLUE) + "'", piece)
        out.append(piece)
    return "".join(out)


def _glued(formula: str, glue: str) -> str:
    """Spaces that may not break: all but those after a comma (in a vector) and, in a
    long formula, after + or = outside parentheses (brackets do not count)."""
    long = len(formula) > LONG_FORMULA
    depth = 0
    out = []
    for i, char in enumerate(formula):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == " " and i > 0:
            before = formula[i - 1]
            breakable = before == "," or (long and depth == 0 and before in "+=")
            out.append(" " if breakable else glue)
        else:
            out.append(char)
    return "".join(out)


def render_text(
    steps: dict[str, Any],
    out: BinaryIO,
    *,
    precision: int,
    no_color: bool = False,
    terminal: bool | None = None,
    brief: bool = False,
) -> None:
    """The derivation for people: a table of every step, then each step in words."""
    from .rich_output import make_console

    console, stream = make_console(out, no_color, terminal)
    for block in text_blocks(steps, precision, width=console.width, brief=brief):
        console.print(block)
    stream.flush()


def text_blocks(
    steps: dict[str, Any], precision: int, *, width: int = 80, brief: bool = False
) -> list[Any]:
    """The Rich renderables of an explanation: title, table, then the notes or key lines."""
    from rich.constrain import Constrain
    from rich.padding import Padding
    from rich.text import Text

    doc = document(_printable_steps(steps), precision, brief=brief)
    blocks: list[Any] = [Text(doc.title, style="bold")]
    if doc.legend is not None:
        blocks.append(Constrain(Text(plain(_glued_legend(doc.legend))), PROSE_WIDTH))
    blocks.append(Text(""))
    blocks += _rich_tables(doc.table, width)
    blocks.append(Text(""))
    if brief:
        for line in doc.key_lines:
            blocks.append(Constrain(_hanging(line), PROSE_WIDTH))
        return blocks
    for number, note in enumerate(doc.notes, start=1):
        blocks.append(Constrain(_numbered(number, note.heading, note.body), PROSE_WIDTH))
        if note.grid is not None:
            for table in _rich_tables(note.grid, max(width - 4, 20)):
                blocks.append(Padding(table, (1, 0, 0, 4)))
        blocks.append(Text(""))
    return blocks


def _glued_legend(legend: str) -> str:
    from .rich_output import GLUE

    return legend.replace(" = ", f"{GLUE}={GLUE}")


def _hanging(line: str) -> Any:
    from rich.table import Table
    from rich.text import Text

    grid = Table.grid(padding=(0, 1), pad_edge=False)
    grid.add_column(width=1, no_wrap=True)
    grid.add_column(ratio=1)
    grid.add_row("•", Text(plain(line)))
    return grid


def _numbered(number: int, heading: str, body: str) -> Any:
    """One step: its number in a margin, its heading in bold, its text wrapped beside."""
    from rich.table import Table
    from rich.text import Text

    grid = Table.grid(padding=(0, 1), pad_edge=False)
    grid.add_column(justify="right", style="bold cyan", no_wrap=True, width=3)
    grid.add_column(ratio=1)
    text = Text()
    text.append(plain(heading), style="bold")
    text.append(" " + plain(body))
    grid.add_row(f"{number}.", text)
    return grid


def _rich_tables(grid: Grid, width: int) -> list[Any]:
    """``grid`` as one Rich table, or as several side by side in turn when too wide."""
    from rich.console import Console

    measure = Console(width=10_000, file=None, color_system=None, legacy_windows=False)
    columns = list(range(len(grid.header)))
    text_columns = columns[: grid.left]
    trailing = [c for c in columns if c >= grid.left and _is_text_column(grid, c)]
    numbers = [c for c in columns if c >= grid.left and c not in trailing]
    marks = [c for c in trailing if c not in grid.pictures]
    allowance = MARKS_WIDTH if marks else 0  # a column of marks may wrap
    pictures = [c for c in trailing if c in grid.pictures]
    chunks = [numbers + pictures]
    for count in range(1, len(numbers) + 1):
        size = -(-len(numbers) // count)
        parts = [numbers[i : i + size] for i in range(0, len(numbers), size)] or [[]]
        together = parts[:-1] + [parts[-1] + pictures]
        apart = parts + [pictures] if pictures else parts
        fitting = [
            candidate
            for candidate in (together, apart)
            if all(_width(measure, grid, text_columns + c) + allowance <= width for c in candidate)
        ]
        if fitting:
            chunks = fitting[0]
            break
    if grid.dim:  # every part says how many rows it leaves out, and which row is which
        chunks = [chunk + marks for chunk in chunks]
    else:
        chunks[-1] = chunks[-1] + marks
    from rich.console import Group
    from rich.text import Text

    parts: list[Any] = [Text(plain(grid.title))] if grid.title else []
    for chunk in chunks:
        parts += [_rich_table(grid, text_columns + chunk), Text("")]
    return [Group(*parts[:-1])]


def _is_text_column(grid: Grid, column: int) -> bool:
    """A column of marks or pictures, shown last."""
    if column in grid.pictures:
        return True
    return grid.header[column] == ""


def _width(console: Any, grid: Grid, columns: list[int]) -> int:
    from rich.measure import Measurement

    table = _rich_table(grid, columns)
    return Measurement.get(console, console.options, table).maximum


def _rich_table(grid: Grid, columns: list[int]) -> Any:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from .rich_output import ARGMAX_STYLE, GAP_STYLE

    table = Table(
        caption=Text(plain(grid.caption)) if grid.caption else None,
        box=box.SIMPLE_HEAD,
        title_justify="left",
        caption_justify="left",
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )
    for column in columns:
        header = Text(plain(grid.header[column]))  # names from input are not markup
        if column < grid.left and grid.keys_right:
            table.add_column(header, justify="right", no_wrap=True)
        elif column in grid.pictures or column < grid.left:
            table.add_column(header, no_wrap=True)
        elif _is_text_column(grid, column):
            table.add_column(header, overflow="fold")
        else:
            table.add_column(header, justify="right", no_wrap=True)
    for index, row in enumerate(grid.rows):
        if index in grid.rules:
            table.add_section()
            if not any(row[c] for c in columns[1:]):
                continue  # a total row with nothing to total in these columns
        style = ARGMAX_STYLE if index in grid.highlight else None
        style = GAP_STYLE if index in grid.dim else style
        table.add_row(*[Text(plain(row[c])) for c in columns], style=style)
    return table


# --- LaTeX mathematics, shared by Markdown and LaTeX -----------------------------------

_EXPONENT = re.compile(
    r"\^(\((?:[^()]|\([^()]*\))*\)|-\((?:[^()]|\([^()]*\))*\)|-?[A-Za-z0-9.]+(?:_[A-Za-z0-9]+)?)"
)
_SCIENTIFIC = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)e([+-]?\d+)")
_WORDS = {
    "softmax": r"\operatorname{softmax}",
    "onehot": r"\operatorname{onehot}",
    "diag": r"\operatorname{diag}",
    "log": r"\log",
    "max": r"\max",
    "KL": r"\mathrm{KL}",
    "inf": r"\infty",
    "nan": r"\mathrm{nan}",
    "naive": r"\text{naive}",
    "rescale": r"\text{rescale}",
    "block": r"\text{block}",
    "terms": r"\text{terms}",
    "undefined": r"\text{undefined}",
}
_WORD = re.compile(r"(?<![A-Za-z\\])(" + "|".join(_WORDS) + r")(?![A-Za-z])")
_SYMBOLS = {
    "Σ": r"\sum ",
    "∂": r"\partial ",
    "η": r"\eta ",
    "σ": r"\sigma ",
    "δ": r"\delta ",
    "ᵀ": r"^{\top}",
    "‖": r"\,\Vert\, ",
    "→": r"\to ",
    "≥": r"\ge ",
    "≤": r"\le ",
    "…": r"\dots ",
    "–": r"\text{--}",
}
_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "…": r"\ldots{}",
    "–": "--",
    "◀": "",
}


def latex_escape(text: str) -> str:
    """Plain text for LaTeX: every special character written so it prints as itself."""
    escaped = "".join(_LATEX_SPECIAL.get(char, char) for char in text)
    return escaped.replace("--", "-{}-")  # --sweep, not an en dash


def latex_math(text: str) -> str:
    """A formula of the notes in LaTeX: e^(x/T) as e^{x/T}, Σ as \\sum, names as \\text."""
    names: list[str] = []

    def keep(match: re.Match[str]) -> str:
        names.append(r"\text{" + latex_escape(match.group(1)) + "}")
        return f"\x06{len(names) - 1}\x07"

    text = _NAMES.sub(keep, text)

    def exponent(match: re.Match[str]) -> str:
        inner = match.group(1)
        if inner.startswith("(") and inner.endswith(")"):
            inner = inner[1:-1]
        return "^{" + inner + "}"

    text = _SCIENTIFIC.sub(lambda m: rf"{m.group(1)} \times 10^{{{int(m.group(2))}}}", text)
    text = _EXPONENT.sub(exponent, text)
    text = re.sub(r"_([A-Za-z0-9]{2,})", r"_{\1}", text)
    text = _WORD.sub(lambda m: _WORDS[m.group(1)], text)
    # math mode drops spaces: a word followed by more keeps its space inside \text{}
    text = re.sub(r"\\text\{([A-Za-z]+)\} +(?=\S)", r"\\text{\1 }", text)
    text = "".join(_SYMBOLS.get(char, char) for char in text)
    text = re.sub(r"(\\[a-z]+) +", r"\1 ", text)
    return re.sub("\x06(\\d+)\x07", lambda m: names[int(m.group(1))], text)


# --- Markdown ------------------------------------------------------------------------

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|$#])")


def _md(text: str) -> str:
    out = []
    for is_math, piece in _pieces(text):
        if is_math:
            # a | would end the cell of a pipe table, even inside $…$
            out.append("$" + latex_math(piece).replace("|", r"\vert{}") + "$")
        else:
            for is_code, part in _code_pieces(piece):
                out.append(f"`{part}`" if is_code else _MARKDOWN_SPECIAL.sub(r"\\\1", part))
    return "".join(out)


def _md_table(grid: Grid) -> list[str]:
    lines = []
    if grid.title:
        lines += [f"*{_md(grid.title)}*", ""]
    header = [_md(cell) or " " for cell in grid.header]
    lines.append("| " + " | ".join(header) + " |")
    aligns = [
        ":--" if c < grid.left or _is_text_column(grid, c) else "--:"
        for c in range(len(grid.header))
    ]
    lines.append("|" + "|".join(aligns) + "|")
    for index, row in enumerate(grid.rows):
        cells = [_md(cell) for cell in row]
        if index in grid.rules:
            cells = [f"**{cell}**" if cell else "" for cell in cells]
        lines.append("| " + " | ".join(cells) + " |")
    if grid.caption:
        lines += ["", _md(grid.caption)]
    return lines


def markdown(steps: dict[str, Any], precision: int, *, brief: bool = False) -> str:
    """The explanation as Markdown: pipe tables and $…$ mathematics (GitHub, Jupyter)."""
    doc = document(_printable_steps(steps), precision, brief=brief)
    lines = [f"### {_md(doc.title)}", ""]
    if doc.legend:
        lines += [_md(doc.legend), ""]
    lines += _md_table(doc.table)
    lines.append("")
    if brief:
        lines += [f"- {_md(line)}" for line in doc.key_lines]
        lines.append("")
    for number, note in enumerate(doc.notes, start=1):
        lines += [f"**{number}. {_md(note.heading)}** {_md(note.body)}", ""]
        if note.grid is not None:
            lines += _md_table(note.grid)
            lines.append("")
    return "\n".join(lines)


# --- LaTeX ---------------------------------------------------------------------------

_NUMBER = re.compile(r"^-?(\d+(\.\d*)?(e[+-]?\d+)?|inf|nan)$")


def _tex(text: str) -> str:
    out = []
    for is_math, piece in _pieces(text):
        if is_math:
            out.append("$" + latex_math(piece) + "$")
        else:
            for is_code, part in _code_pieces(_NAMES.sub(lambda m: m.group(1), piece)):
                escaped = latex_escape(part)
                out.append(r"\texttt{" + escaped + "}" if is_code else escaped)
    return "".join(out).strip()


def _tex_cell(cell: str) -> str:
    if _NUMBER.match(cell):
        return "$" + latex_math(cell) + "$"
    return _tex(cell)


def _tex_table(grid: Grid) -> list[str]:
    columns = [c for c in range(len(grid.header)) if c not in grid.pictures]
    spec = "".join("l" if c < grid.left or _is_text_column(grid, c) else "r" for c in columns)
    lines = []
    if grid.title:
        lines.append(r"\par\smallskip\textit{" + _tex(grid.title) + r"}\par")
    lines += [r"\begin{tabular}{" + spec + "}", r"\hline"]
    lines.append(" & ".join(_tex(grid.header[c]) for c in columns) + r" \\")
    lines.append(r"\hline")
    for index, row in enumerate(grid.rows):
        if index in grid.rules:
            lines.append(r"\hline")
        cells = [_tex_cell(row[c]) for c in columns]
        if index in grid.dim:
            cells = [r"$\vdots$" if cell == r"\ldots{}" else cell for cell in cells]
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\hline", r"\end{tabular}"]
    if grid.caption:
        lines.append(r"\par " + _tex(grid.caption))
    return lines


def _aligned(line: str) -> str | None:
    """The formula of a key line, aligned at its first '='."""
    formulas = [piece for is_math, piece in _pieces(line) if is_math]
    if not formulas:
        return None
    main = latex_math(formulas[0])
    if "=" in main:
        left, right = main.split("=", 1)
        main = f"{left.rstrip()} &= {right.lstrip()}"
    rest = [latex_math(f) for f in formulas[1:]]
    return main + (r" \quad (" + ", ".join(rest) + ")" if rest else "")


def latex(steps: dict[str, Any], precision: int, *, brief: bool = False) -> str:
    """A LaTeX fragment for a Beamer slide or notes: tabular, align* (amsmath), paragraphs."""
    doc: Document = document(_printable_steps(steps), precision, brief=brief)
    lines = [
        "% softmax explain: a fragment; needs \\usepackage{amsmath}",
        r"\noindent\textbf{" + _tex(doc.title) + r"}\par\smallskip",
    ]
    if doc.legend:
        lines.append(_tex(doc.legend) + r"\par")
    lines.append(r"{\small")
    lines += _tex_table(doc.table)
    lines.append("}")
    equations = [eq for eq in (_aligned(line) for line in doc.key_lines) if eq]
    if equations:
        lines += [r"\begin{align*}", (" \\\\\n").join(equations), r"\end{align*}"]
    for number, note in enumerate(doc.notes, start=1):
        lines.append(
            r"\par\medskip\noindent\textbf{"
            + f"{number}. "
            + _tex(note.heading)
            + "} "
            + _tex(note.body)
        )
        if note.grid is not None:
            lines.append(r"{\small")
            lines += _tex_table(note.grid)
            lines.append("}")
    return "\n".join(lines) + "\n"
