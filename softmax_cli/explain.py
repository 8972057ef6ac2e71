"""``softmax explain``: every step of the derivation, as numbers and as text.

``derive`` is pure (arrays in, a dict of steps out, ready for JSON); the
renderers only format what it computed.  All numbers come from the core in
``numerics`` or from the same formulas written out once here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, BinaryIO

import numpy as np
import orjson

from . import numerics
from .errors import DataError, RowError, UsageError
from .formats import Format, Output, parse_format
from .labels import class_lookup, explained, label_value
from .number_text import (
    TABLE_PRECISION,
    fixed_number,
    json_ready,
    table_number,
    table_precision,
)

DEFAULT_SWEEP = (0.1, 0.5, 1.0, 2.0, 10.0)
MAX_CLASSES = 10_000  # more than a derivation can show; probs handles any width
JACOBIAN_MAX_CLASSES = 6
INLINE_MAX_CLASSES = 6
SWEEP_MAX_CLASSES = 4  # more classes than this show only p[max] in the sweep
NAME_WIDTH = 10  # longer class names are numbered in the text, with a legend
HEADER_NAME_WIDTH = 4  # wider names are numbered in the Jacobian and sweep headers
PROSE_WIDTH = 88  # wider lines are hard to follow on a projector


def _distribution(row: np.ndarray, temperature: float) -> tuple[np.ndarray, float]:
    """Probabilities of one row at one temperature, and their entropy in nats."""
    probs = numerics.softmax(row.reshape(1, -1), temperature)
    return probs[0], float(numerics.entropy(probs)[0])


def sweep(scores: np.ndarray, temperatures: Sequence[float]) -> list[dict[str, Any]]:
    """The distribution and its entropy at each temperature, lowest first."""
    row = np.asarray(scores, dtype=np.float64)
    result = []
    for t in sorted(temperatures):
        probs, h = _distribution(row, t)
        result.append({"temperature": t, "probs": probs.tolist(), "entropy": h})
    return result


def _naive(row: np.ndarray, temperature: float) -> dict[str, Any]:
    """``exp(x/T) / sum exp(x/T)`` with no shift, as a textbook writes it."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        exps = np.exp(row / temperature)
        total = exps.sum()
        probs = exps / total
    problem = None
    finite = np.isfinite(row)
    if np.isinf(exps).any():
        problem = "overflow"
    elif finite.any() and not (exps[finite] > 0).any():
        problem = "underflow"
    elif (exps[finite] == 0).any():
        problem = "partial underflow"
    return {
        "exp": exps.tolist(),
        "sum_exp": float(total),
        "probs": probs.tolist(),
        "problem": problem,
    }


def parse_temperatures(text: str) -> list[float]:
    """``--sweep-temperatures 0.1,0.5,1``: finite temperatures above 0."""
    try:
        values = [float(piece) for piece in text.split(",") if piece.strip()]
    except ValueError:
        raise UsageError(f"--sweep-temperatures: {text!r} is not a list of numbers") from None
    if not values or any(not (v > 0 and v != math.inf) for v in values):
        raise UsageError("--sweep-temperatures must be finite numbers > 0")
    return values


def resolve_label(label: str | None, classes: Sequence[str], count: int) -> int | None:
    """A ``--label`` given as a class index or a class name, as an index."""
    if label is None:
        return None
    try:
        value = label_value(label, class_lookup(classes))
    except ValueError:
        raise UsageError(explained(label, classes), option="--label") from None
    if not (0 <= value < count and value == int(value)):
        raise UsageError(f"{label!r} is out of range for {count} classes", option="--label")
    return int(value)


def derive(
    scores: np.ndarray,
    *,
    temperature: float = 1.0,
    label: int | str | None = None,
    classes: Sequence[str] | None = None,
    temperatures: Sequence[float] | None = None,
) -> dict[str, Any]:
    """Every intermediate value of the stable softmax of one vector, as plain data.

    ``gradient`` is with respect to the raw scores x, ``(p - onehot)/T``;
    ``gradient_z`` is with respect to ``z = (x - max)/T``, ``p - onehot``.
    The Jacobian is ``diag(p) - p pᵀ`` with respect to z (divide by T for x).
    """
    x = np.asarray(scores, dtype=np.float64).reshape(1, -1)
    try:
        numerics.check_rows(x)
    except RowError as error:
        raise DataError(error.message) from None
    k = x.shape[1]
    names = list(classes) if classes is not None else [str(i) for i in range(k)]
    label_index = resolve_label(None if label is None else str(label), names, k)
    row = x[0]
    top = float(row.max())
    limit = math.isinf(top)
    with np.errstate(invalid="ignore", over="ignore", under="ignore"):
        shifted = row - top
        scaled = shifted / temperature
        exps = np.exp(scaled)
    total = float(exps.sum())
    probs = numerics.softmax(x, temperature)[0]
    log_probs = numerics.log_softmax(x, temperature)[0]
    with np.errstate(divide="ignore"):
        log_of_probs = np.log(probs)
    entropy = float(numerics.entropy(probs.reshape(1, -1))[0])
    naive = _naive(row, temperature)
    naive_probs = np.asarray(naive["probs"])
    steps: dict[str, Any] = {
        "classes": names,
        "scores": row.tolist(),
        "temperature": temperature,
        "max": top,
        "argmax": int(np.argmax(row)),
        "limit": limit,
        "shifted": shifted.tolist(),
        "scaled": scaled.tolist(),
        "exp": exps.tolist(),
        "sum_exp": total,
        "probs": probs.tolist(),
        "sum_probs": float(probs.sum()),
        "entropy": entropy,
        "max_entropy": math.log(k),
        "log_sum_exp": math.log(total) if 0 < total < math.inf else None,
        "log_probs": log_probs.tolist(),
        "log_of_probs": log_of_probs.tolist(),
        "naive": naive,
        "naive_probs": naive["probs"],
        "naive_fails": bool(not np.allclose(naive_probs, probs, rtol=1e-9, atol=0)),
    }
    if label_index is not None:
        onehot = np.zeros(k)
        onehot[label_index] = 1.0
        steps["label"] = label_index
        steps["onehot"] = onehot.tolist()
        steps["cross_entropy"] = float(-log_probs[label_index])
        steps["gradient_z"] = (probs - onehot).tolist()
        with np.errstate(over="ignore"):  # a subnormal T: the gradient is infinite
            steps["gradient"] = ((probs - onehot) / temperature).tolist()
    if k <= JACOBIAN_MAX_CLASSES:
        steps["jacobian"] = (np.diag(probs) - np.outer(probs, probs)).tolist()
    if k == 2:
        with np.errstate(invalid="ignore", over="ignore"):
            difference = float((row[0] - row[1]) / temperature)
        steps["sigmoid_input"] = difference
        steps["sigmoid"] = float(numerics.sigmoid(np.array([difference]))[0])
    if temperatures is not None:
        steps["sweep"] = sweep(row, temperatures)
    return steps


# --- JSON --------------------------------------------------------------------


def render_json(steps: dict[str, Any]) -> bytes:
    """The steps as one JSON document; non-finite numbers as null."""
    return orjson.dumps({"operation": "explain", **json_ready(steps)}) + b"\n"


# --- text --------------------------------------------------------------------


class _Writer:
    """Formats numbers and vectors at one precision."""

    def __init__(self, precision: int):
        self.precision = precision

    def n(self, value: float | None) -> str:
        return "n/a" if value is None else table_number(value, self.precision)

    def fixed(self, value: float) -> str:
        """Fixed decimals even for tiny values, so a matrix stays narrow and aligned."""
        return fixed_number(value, self.precision)

    def v(self, values: Sequence[float]) -> str:
        return "[" + ", ".join(self.n(value) for value in values) + "]"


def render_text(
    steps: dict[str, Any],
    out: BinaryIO,
    *,
    precision: int = TABLE_PRECISION,
    no_color: bool = False,
    terminal: bool | None = None,
) -> None:
    """The derivation for people: a table of every step, then each step in words.

    Class names come from the input, so they are shown with control characters escaped.
    """
    from .escapes import printable
    from .rich_output import make_console

    shown = {**steps, "classes": [printable(name) for name in steps["classes"]]}
    console, stream = make_console(out, no_color, terminal)
    for block in text_blocks(shown, precision):
        console.print(block)
    stream.flush()


def write_explanation(
    format_name: str | Format,
    out: BinaryIO,
    steps: dict[str, Any],
    *,
    precision: int | None = None,
    no_color: bool = False,
) -> None:
    """Write the derivation in one format (table, json, ndjson); ValueError for any other."""
    chosen = parse_format(format_name, Output.EXPLAIN)
    if chosen.is_json:
        out.write(render_json(steps))
    elif chosen is Format.TABLE:
        render_text(steps, out, precision=table_precision(precision), no_color=no_color)
    out.flush()


def text_blocks(steps: dict[str, Any], precision: int) -> list[Any]:
    """The Rich renderables of an explanation, in order: title, table, numbered steps."""
    from rich.constrain import Constrain
    from rich.padding import Padding
    from rich.text import Text

    from .rich_output import GLUE

    w = _Writer(precision)
    k = len(steps["scores"])
    t = steps["temperature"]
    label = steps.get("label")
    names = steps["classes"]
    title = f"softmax, step by step: {k} scores, T = {t:g}"
    if label is not None:
        title += f", true class {names[label]}"
    legend = None
    if max(len(name) for name in names) > NAME_WIDTH:
        # Long names would crowd the tables out of 80 columns: number them instead.
        shown = _shown(steps)
        legend = "classes: " + ", ".join(f"{i} = {names[i]}" for i in shown)
        if len(shown) < k:
            legend += f" (and {k - len(shown)} more)"
        steps = {**steps, "classes": [str(i) for i in range(k)]}
        names = steps["classes"]
    blocks: list[Any] = [Text(title, style="bold")]
    if legend is not None:
        blocks.append(Constrain(Text(legend.replace(" = ", f"{GLUE}={GLUE}")), PROSE_WIDTH))
    blocks += [Text(""), _main_table(steps, w), Text("")]
    for number, (heading, body, extra) in enumerate(_notes(steps, w), start=1):
        blocks.append(Constrain(_numbered(number, heading, body), PROSE_WIDTH))
        if extra is not None:
            blocks.append(Padding(extra, (1, 0, 0, 4)))
        blocks.append(Text(""))
    return blocks


def _numbered(number: int, heading: str, body: str) -> Any:
    """One step: its number in a margin, its heading in bold, its text wrapped beside."""
    from rich.table import Table
    from rich.text import Text

    from .rich_output import GLUE

    grid = Table.grid(padding=(0, 1), pad_edge=False)
    grid.add_column(justify="right", style="bold cyan", no_wrap=True, width=3)
    grid.add_column(ratio=1)
    text = Text()
    text.append(heading, style="bold")
    glued = (" = ", "Σ ", "log ", " / ", "-Σ ", "class ", "(a - b)", "p - onehot")
    for phrase in glued:
        body = body.replace(phrase, phrase.replace(" ", GLUE))
    text.append(" " + body)
    grid.add_row(f"{number}.", text)
    return grid


def _shown(steps: dict[str, Any]) -> list[int]:
    from .rich_output import shown_indices

    keep = [steps["argmax"]] + ([steps["label"]] if "label" in steps else [])
    return shown_indices(len(steps["scores"]), keep=keep)


def _main_table(steps: dict[str, Any], w: _Writer) -> Any:
    from rich import box
    from rich.table import Table

    from .rich_output import ARGMAX_STYLE, GAP, GAP_STYLE, count_text, gaps

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True)
    table.add_column("class", no_wrap=True)
    with_z = steps["temperature"] != 1
    headers = (
        ["x", "x - max", "z", "e^z", "p", "log p"]
        if with_z
        else ["x", "z = x - max", "e^z", "p", "log p"]
    )
    for header in headers:
        table.add_column(header, justify="right", no_wrap=True)
    table.add_column("", overflow="fold")  # the marks give way first on a narrow screen
    indices = _shown(steps)
    missing = gaps(indices)
    label = steps.get("label")
    limit = steps["limit"]
    for position, i in enumerate(indices):
        if position in missing:
            table.add_row(
                GAP, *[GAP] * len(headers), count_text(missing[position], "more"), style=GAP_STYLE
            )
        marks = [m for m, on in (("max", i == steps["argmax"]), ("true", i == label)) if on]
        keys = ("shifted", "scaled", "exp") if with_z else ("shifted", "exp")
        middle = [""] * len(keys) if limit else [steps[key][i] for key in keys]
        table.add_row(
            steps["classes"][i],
            w.n(steps["scores"][i]),
            *[m if isinstance(m, str) else w.n(m) for m in middle],
            w.n(steps["probs"][i]),
            w.n(steps["log_probs"][i]),
            "◀ " + ", ".join(marks) if marks else "",
            style=ARGMAX_STYLE if i == steps["argmax"] else None,
        )
    table.add_section()
    sum_exp = "" if limit else w.n(steps["sum_exp"])
    blanks = [""] * (len(headers) - 4)
    table.add_row("sum", *blanks, sum_exp, w.n(steps["sum_probs"]), "", "", style="bold")
    return table


def _listed(values: Sequence[float], w: _Writer, column: str) -> str:
    """A vector inline when short, otherwise a pointer to its column of the table."""
    if len(values) <= INLINE_MAX_CLASSES:
        return w.v(values)
    return f"(column {column} above)"


def _notes(steps: dict[str, Any], w: _Writer) -> list[tuple[str, str, Any]]:
    """Each step in words, with its numbers."""
    k = len(steps["scores"])
    t = steps["temperature"]
    names = steps["classes"]
    best = names[steps["argmax"]]
    notes: list[tuple[Any, ...]] = []
    if steps["limit"]:
        plus = sum(1 for s in steps["scores"] if s == math.inf)
        notes.append(
            (
                "A score is +inf.",
                "Softmax takes the limit of ever larger scores: the "
                f"{plus} class{'es' if plus > 1 else ''} at +inf share probability 1 "
                "equally and every other class gets 0. The shift and exp steps have no "
                "finite numbers here, so the table leaves them blank.",
            )
        )
    else:
        notes.append(
            (
                "Shift by the max.",
                f"The largest score is max = {w.n(steps['max'])} (class {best}); subtract it "
                f"from every score: x - max = {_listed(steps['shifted'], w, 'x - max')}. "
                "This changes nothing: adding the same number c to every score multiplies "
                "every e^x and their sum by e^c, which cancels. It keeps exp from "
                "overflowing, because the largest exponent is now e^0 = 1.",
            )
        )
        scaled = _listed(steps["scaled"], w, "z")
        if t == 1:
            effect = "T = 1 leaves the numbers as they are, so the table shows z = x - max once."
        elif t < 1:
            effect = f"T = {t:g} < 1 spreads the scores apart: a sharper distribution."
        else:
            effect = f"T = {t:g} > 1 squeezes the scores together: a flatter distribution."
        notes.append(
            (
                "Divide by the temperature.",
                f"z = (x - max)/T = {scaled}. {effect} (--sweep shows several T at once.)",
            )
        )
        exps = steps["exp"]
        masked = sum(1 for x in steps["scores"] if x == -math.inf)
        tiny = [
            names[i]
            for i, (x, e) in enumerate(zip(steps["scores"], exps, strict=True))
            if e == 0 and x != -math.inf
        ]
        facts = ["the largest is exactly 1"]
        if masked:
            facts.append(f"a -inf score is a mask: e^-inf = 0 ({masked} of them)")
        if tiny:
            which = ", ".join(tiny[:5]) + (", …" if len(tiny) > 5 else "")
            facts.append(
                f"e^z of class {which} is too small for a float64 (below about 5e-324) "
                "and is stored as 0, yet step 6 gets its log-probability exactly"
            )
        else:
            facts.insert(0, "every value is positive")
        notes.append(
            (
                "Exponentiate.",
                f"e^z = {_listed(exps, w, 'e^z')}: " + "; ".join(facts) + ".",
            )
        )
        terms = (
            " + ".join(w.n(e) for e in exps) + " = " if k <= INLINE_MAX_CLASSES else f"{k} terms: "
        )
        notes.append(("Add them up.", f"Σ e^z = {terms}{w.n(steps['sum_exp'])}."))
    probs = steps["probs"]
    h = f"{w.n(steps['entropy'])}"
    divide = (
        ""
        if steps["limit"]
        else f"Divide each e^z by the sum: p = e^z / {w.n(steps['sum_exp'])} = "
    )
    notes.append(
        (
            "Probabilities.",
            f"{divide}{_listed(probs, w, 'p')}. They add up to {w.n(steps['sum_probs'])}; "
            f"the most probable class is {best}. Entropy H = -Σ p log p = {h} nats "
            f"(uniform would be log {k} = {w.n(steps['max_entropy'])}).",
        )
    )
    lse = steps["log_sum_exp"]
    direct = (
        f"log p = z - log Σ e^z = z - {w.n(lse)} = {_listed(steps['log_probs'], w, 'log p')}"
        if lse is not None and not steps["limit"]
        else f"log p = {_listed(steps['log_probs'], w, 'log p')}"
    )
    lost = [
        i
        for i, (a, b) in enumerate(zip(steps["log_of_probs"], steps["log_probs"], strict=True))
        if a == -math.inf and b != -math.inf
    ]
    why = (
        "Why not log(p)? A probability smaller than about 1e-308 is stored as 0, and log 0 "
        "= -inf, while z - log Σ e^z stays finite."
    )
    if lost:
        i = lost[0]
        why += (
            f" It happens here: p for class {names[i]} is {w.n(probs[i])}, so log(p) "
            f"would be -inf, but log-softmax gives {w.n(steps['log_probs'][i])}."
        )
    notes.append(("Log-probabilities, computed directly.", f"{direct}. {why}"))
    if "label" in steps:
        y = steps["label"]
        name = names[y]
        notes.append(
            (
                f"Cross-entropy for true class {name}.",
                f"L = -log p[{name}] = {w.n(steps['cross_entropy'])}. It is 0 when p[{name}] "
                f"= 1 and grows without bound as p[{name}] → 0; here p[{name}] = "
                f"{w.n(probs[y])}.",
            )
        )
        gz = _listed(steps["gradient_z"], w, "p")
        where = (
            f"It comes from L = -z[{name}] + log Σ e^z: the derivative of log Σ e^z "
            f"with respect to z_j is e^z_j / Σ e^z = p_j, and -z[{name}] adds -1 for "
            f"class {name} only."
        )
        if t == 1:
            raw = "With T = 1, z is x shifted by a constant, so this is also ∂L/∂x."
        else:
            raw = (
                f"That is with respect to z; with respect to the raw scores x divide by "
                f"T = {t:g}: ∂L/∂x = (p - onehot)/T = {_listed(steps['gradient'], w, 'p')}."
            )
        notes.append(
            (
                "Gradient.",
                f"∂L/∂z = p - onehot({name}) = {gz}. {where} {raw} So a gradient-descent "
                f"step of size η raises z[{name}] by η(1 - p[{name}]) and lowers every other "
                "z_j by η p_j.",
            )
        )
    if "jacobian" in steps:
        scale = "" if t == 1 else f" (with respect to x, divide by T = {t:g})"
        notes.append(
            (
                "Jacobian.",
                f"How each p_i moves with each z_j: ∂p_i/∂z_j = p_i(δ_ij - p_j), the "
                f"matrix diag(p) - p pᵀ below{scale}. Each row adds up to 0 because the "
                "probabilities always add up to 1.",
                _jacobian_table(steps, w),
            )
        )
    if "sigmoid" in steps:
        a, b = names
        d = steps["sigmoid_input"]
        notes.append(
            (
                "Two classes are a sigmoid.",
                f"p[{a}] = e^a / (e^a + e^b) = 1 / (1 + e^-(a - b)) = σ(a - b). Here "
                f"σ(({w.n(steps['scores'][0])} - {w.n(steps['scores'][1])})/{t:g}) = "
                f"σ({w.n(d)}) = {w.n(steps['sigmoid'])}, the same as p[{a}] = {w.n(probs[0])}.",
            )
        )
    naive = steps["naive"]
    if steps["naive_fails"]:
        why_naive = {
            "overflow": "e^(x/T) overflows to inf once x/T > 709.78 (the largest float64 "
            "is about 1.8e308), and inf / inf is nan.",
            "underflow": "e^(x/T) underflows to 0 for every class once x/T < -745, "
            "and 0 / 0 is nan.",
            "partial underflow": "e^(x/T) underflows to 0 for some classes, so their "
            "small but nonzero probabilities are lost.",
        }.get(naive["problem"], "the unshifted exponentials lose precision.")
        naive_p = _listed(naive["probs"], w, "naive p")
        notes.append(
            (
                "Without the shift it breaks.",
                f"The naive formula e^(x/T) / Σ e^(x/T) gives {naive_p}: {why_naive} "
                "The shifted form above is exact. Side by side:",
                _naive_table(steps, w),
            )
        )
    else:
        notes.append(
            (
                "Without the shift?",
                "The naive formula e^(x/T) / Σ e^(x/T) gives the same numbers here; "
                "it breaks once a score is large, e.g. softmax explain 1000 0.",
            )
        )
    if "sweep" in steps:
        k = len(names)
        notes.append(
            (
                "Temperature sweep.",
                "The same scores at several temperatures. As T → 0 the probability piles "
                "onto the arg-max (entropy H → 0); as T grows it spreads toward uniform "
                f"(H → log {k} = {w.n(steps['max_entropy'])}). The order of the classes "
                "never changes; 'shape' draws each distribution, the last column H / log K.",
                _sweep_table(steps, w),
            )
        )
    return [(note[0], note[1], note[2] if len(note) > 2 else None) for note in notes]


def _matrix_table(
    title: str, header: Sequence[str], rows: list[list[str]], caption: str | None = None
) -> Any:
    from rich import box
    from rich.table import Table

    table = Table(
        title=title,
        caption=caption,
        box=box.SIMPLE_HEAD,
        title_justify="left",
        caption_justify="left",
        show_edge=False,
    )
    for name in header:
        table.add_column(name, justify="right", no_wrap=True)
    for row in rows:
        table.add_row(*row)
    return table


def _short_names(steps: dict[str, Any]) -> tuple[list[str], str | None]:
    """Class names short enough for column headers, and a legend when they are indices."""
    from .rich_output import GLUE

    names = steps["classes"]
    if max(len(name) for name in names) <= HEADER_NAME_WIDTH:
        return names, None
    legend = "classes: " + ", ".join(f"{i}{GLUE}={GLUE}{name}" for i, name in enumerate(names))
    return [str(i) for i in range(len(names))], legend


def _jacobian_table(steps: dict[str, Any], w: _Writer) -> Any:
    names, legend = _short_names(steps)
    rows = [[f"∂p[{names[i]}]", *map(w.fixed, row)] for i, row in enumerate(steps["jacobian"])]
    header = ["", *[f"∂z[{n}]" for n in names]]
    return _matrix_table("Jacobian diag(p) - p pᵀ", header, rows, legend)


def _naive_table(steps: dict[str, Any], w: _Writer) -> Any:
    naive = steps["naive"]
    rows = [
        [name, w.n(naive["exp"][i]), w.n(naive["probs"][i]), w.n(steps["probs"][i])]
        for i, name in enumerate(steps["classes"])
        if i in set(_shown(steps))
    ]
    header = ["class", "naive e^(x/T)", "naive p", "shifted p"]
    return _matrix_table("naive and shifted, side by side", header, rows)


def _sweep_table(steps: dict[str, Any], w: _Writer) -> Any:
    from rich import box
    from rich.table import Table

    from .rich_output import bar

    names, legend = _short_names(steps)
    k = len(names)
    per_class = k <= SWEEP_MAX_CLASSES
    table = Table(
        title="temperature sweep",
        caption=legend if per_class else None,
        box=box.SIMPLE_HEAD,
        title_justify="left",
        caption_justify="left",
        show_edge=False,
    )
    table.add_column("T", justify="right", no_wrap=True)
    if per_class:
        for name in names:
            table.add_column(f"p[{name}]", justify="right", no_wrap=True)
    else:
        table.add_column("p[max]", justify="right", no_wrap=True)
    table.add_column("shape", no_wrap=True)
    table.add_column("H", justify="right", no_wrap=True)
    table.add_column("H / log K", no_wrap=True)
    for entry in steps["sweep"]:
        probs = entry["probs"]
        cells = [w.fixed(p) for p in probs] if per_class else [w.fixed(max(probs))]
        fraction = entry["entropy"] / steps["max_entropy"] if k > 1 else 0.0
        table.add_row(
            f"{entry['temperature']:g}",
            *cells,
            sparkline(probs),
            w.fixed(entry["entropy"]),
            bar(fraction, 10),
        )
    return table


def sparkline(probs: Sequence[float], limit: int = 24) -> str:
    """One block character per class, its height proportional to the probability."""
    blocks = " ▁▂▃▄▅▆▇█"
    top = max(probs) if probs else 0.0
    if not top > 0:
        return ""
    chars = [blocks[max(1, round(p / top * 8))] if p > 0 else "·" for p in probs[:limit]]
    return "".join(chars) + ("…" if len(probs) > limit else "")
