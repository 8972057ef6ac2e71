"""The words of ``softmax explain``: the steps of a derivation as a document.

``document`` turns the numbers of ``explain.derive`` into a title, a table and
numbered notes.  Prose and mathematics are kept apart (``math`` and ``name``
mark them), so the terminal, Markdown and LaTeX renderers each typeset them in
their own way from the same sentences.  Every number printed is one of the
derived values, formatted by ``Numbers``; every conditional sentence checks
the numbers it speaks about.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .number_text import table_number

MATH_OPEN, MATH_CLOSE = "\x02", "\x03"  # around mathematics in a sentence
NAME_OPEN, NAME_CLOSE = "\x04", "\x05"  # around a class name inside mathematics
CODE_OPEN, CODE_CLOSE = "\x0e", "\x0f"  # around a command or option, never wrapped

INLINE_MAX_CLASSES = 6  # longer vectors are pointed at in the table, not written out
SWEEP_MAX_CLASSES = 4  # more classes than this show only p[max] in the sweep
NAME_WIDTH = 10  # longer class names are numbered, with a legend
HEADER_NAME_WIDTH = 4  # wider names are numbered in the Jacobian and sweep headers
BRIEF_ROWS = (3, 2)  # --brief shows the first 3 and last 2 classes (and max, label)
LISTED_NAMES = 5  # a sentence names at most this many classes
QUOTE = "'"  # the prime of x', p', L'
NEW_P = "p' = softmax(x'/T)"
PRIME = "L' = "


def formula(text: str) -> str:
    """``text`` marked as mathematics."""
    return f"{MATH_OPEN}{text}{MATH_CLOSE}"


def code(text: str) -> str:
    """A command or option the reader may type: set apart and kept on one line."""
    return f"{CODE_OPEN}{text}{CODE_CLOSE}"


def name(text: str) -> str:
    """A class name, marked so that no renderer reads it as mathematics."""
    return f"{NAME_OPEN}{text}{NAME_CLOSE}"


@dataclass
class Grid:
    """A table: header cells, rows of cells, the rows that start a new section."""

    header: list[str]
    rows: list[list[str]]
    title: str | None = None
    caption: str | None = None
    left: int = 1  # the first ``left`` columns are keys, the rest numbers
    keys_right: bool = False  # keys that are numbers (temperatures) align right
    rules: set[int] = field(default_factory=set)  # a rule above these rows
    highlight: set[int] = field(default_factory=set)  # rows of the arg-max
    dim: set[int] = field(default_factory=set)  # rows standing for rows not shown
    pictures: set[int] = field(default_factory=set)  # columns of block characters


@dataclass
class Note:
    heading: str
    body: str
    grid: Grid | None = None


@dataclass
class Document:
    title: str
    legend: str | None
    table: Grid
    notes: list[Note]
    key_lines: list[str]  # the shift, normalise and loss equations, for --brief and LaTeX


class Numbers:
    """Formats derived values at one precision, the same way in every output."""

    def __init__(self, precision: int):
        self.precision = precision

    def n(self, value: float | None) -> str:
        """One rule for every number: ``precision`` decimals, scientific below the size
        where fixed point would keep fewer than two significant digits (1e-3 at 4)."""
        if value is None:
            return "undefined"
        if self.precision == 0 and value != 0 and abs(value) < 0.5 and math.isfinite(value):
            return f"{value:.1g}"  # one significant digit rather than 1e-01
        if (
            self.precision > 0
            and value != 0
            and round(abs(value), self.precision) < self.smallest_fixed
        ):
            return f"{value:.{max(self.precision - 1, 1)}e}"
        return table_number(value, self.precision)

    @property
    def smallest_fixed(self) -> float:
        return 10.0 ** -max(self.precision - 1, 1)

    def fixed(self, value: float) -> str:
        """A matrix entry: the same rule as every other number (an exact 0 stays 0)."""
        return self.n(value)

    def paren(self, value: float) -> str:
        """A number to write after an operator: negative ones in parentheses."""
        text = self.n(value)
        return f"({text})" if text.startswith("-") else text

    def v(self, values: Sequence[float]) -> str:
        return "[" + ", ".join(self.n(value) for value in values) + "]"

    @staticmethod
    def g(value: float) -> str:
        """A parameter the user typed (T, η): as short as ``%g`` writes it."""
        return f"{value:g}"

    @staticmethod
    def limit(value: float) -> str:
        """A limit of a float type: 65504, 4.9e-324, 709.78."""
        if value == int(value) and abs(value) < 1e6:
            return str(int(value))
        if 0.01 <= abs(value) < 1e6:
            return f"{value:.2f}"
        return f"{value:.2g}"


def _classes(names: Sequence[str], indices: Sequence[int]) -> str:
    """'class 2', 'classes 0 and 3', 'classes 0, 1, 2, … (7 of them)'."""
    shown = [names[i] for i in indices[:LISTED_NAMES]]
    if len(indices) == 1:
        return f"class {shown[0]}"
    if len(indices) > LISTED_NAMES:
        return f"classes {', '.join(shown)}, … ({len(indices)} of them)"
    return f"classes {', '.join(shown[:-1])} and {shown[-1]}"


def shown_classes(steps: dict[str, Any], brief: bool = False) -> list[int]:
    """The classes a table shows: the first and last, the arg-max and the label."""
    from .rich_output import shown_indices

    keep = [steps["argmax"]] + ([steps["label"]] if "label" in steps else [])
    if brief:
        return shown_indices(len(steps["scores"]), *BRIEF_ROWS, keep=keep)
    return shown_indices(len(steps["scores"]), keep=keep)


def _gaps(indices: Sequence[int]) -> dict[int, int]:
    from .rich_output import gaps

    return gaps(indices)


# --- the table ---------------------------------------------------------------------


def _truth_symbol(steps: dict[str, Any]) -> str:
    return "q" if "target" in steps else "y"


def main_table(steps: dict[str, Any], w: Numbers, brief: bool = False) -> Grid:
    """One row per class: every step's value, the gradient with a label, marks.

    ``brief`` keeps x, z, e^z, p and p - y, for one projector screen.
    """
    t = steps["temperature"]
    limit = steps["limit"]
    y = _truth_symbol(steps)
    columns: list[tuple[str, str | None]] = [("x", "scores")]
    if t != 1 and not brief:
        columns += [("x - max", "shifted"), ("z", "scaled")]
    elif t != 1:
        columns += [("z = (x - max)/T", "scaled")]
    else:
        columns += [("z = x - max", "scaled")]
    columns += [("e^z", "exp"), ("p", "probs")]
    if not brief:
        columns.append(("log p", "log_probs"))
    show_gradient = "gradient_z" in steps and math.isfinite(steps["cross_entropy"]) and not limit
    if show_gradient:
        columns.append((f"p - {y}", "gradient_z"))
        if t != 1 and not brief:
            columns.append((f"(p - {y})/T", "gradient"))
    if limit:  # x - max is inf - inf: no z, no e^z
        columns = [c for c in columns if c[1] not in ("shifted", "scaled", "exp")]
    header = ["class"] + [formula(title) for title, _ in columns] + [""]
    rows: list[list[str]] = []
    grid = Grid(header, rows)
    indices = shown_classes(steps, brief)
    missing = _gaps(indices)
    ties = set(steps["ties"])
    masked = set(steps["masked"])
    for position, i in enumerate(indices):
        if position in missing:
            grid.dim.add(len(rows))
            rows.append(["…"] + ["…"] * len(columns) + [f"({missing[position]} more)"])
        marks = []
        if i in ties:
            marks.append("max" if len(ties) == 1 else "tied max")
        if steps.get("label") == i:
            marks.append("true")
        if i in masked:
            marks.append("masked")
        if i in ties:
            grid.highlight.add(len(rows))
        cells = [w.n(steps[key][i]) for _, key in columns]
        rows.append([steps["classes"][i], *cells, "◀ " + ", ".join(marks) if marks else ""])
    grid.rules.add(len(rows))
    total = [""] * len(columns)
    keys = [key for _, key in columns]
    if "exp" in keys:
        total[keys.index("exp")] = w.n(steps["sum_exp"])
    total[keys.index("probs")] = w.n(steps["sum_probs"])
    rows.append(["sum", *total, ""])
    return grid


# --- the notes ---------------------------------------------------------------------


def _listed(steps: dict[str, Any], values: Sequence[float], w: Numbers, column: str) -> str:
    """A vector inline when short, otherwise a pointer to its column of the table."""
    if len(values) <= INLINE_MAX_CLASSES:
        return formula(w.v(values))
    shown = len(shown_classes(steps))
    rows = "" if shown == len(values) else f", which shows {shown} of the {len(values)} classes"
    return f"the column {formula(column)} of the table{rows}"


def _z_column(steps: dict[str, Any]) -> str:
    return "z" if steps["temperature"] != 1 else "z = x - max"


def document(steps: dict[str, Any], precision: int, brief: bool = False) -> Document:
    """The whole explanation of ``steps``; ``brief`` keeps the table and three key lines."""
    w = Numbers(precision)
    true_name = steps["classes"][steps["label"]] if "label" in steps else None
    steps, legend = _numbered_names(steps)
    k = len(steps["scores"])
    t = steps["temperature"]

    title = f"softmax, step by step: {k} score{'s' if k > 1 else ''}, T = {w.g(t)}"
    if "label" in steps:
        title += f", true class {true_name}"
    if "target" in steps:
        title += ", soft target"
    if steps["dtype"] != "float64":
        title += f", in {steps['dtype']}"
    key_lines = _key_lines(steps, w)
    notes = [] if brief else _notes(steps, w)
    return Document(title, legend, main_table(steps, w, brief), notes, key_lines)


def _numbered_names(steps: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """Long class names crowd the table out of 80 columns: number them, with a legend."""
    names = steps["classes"]
    if max(len(n) for n in names) <= NAME_WIDTH:
        return steps, None
    shown = shown_classes(steps)
    legend = "classes: " + ", ".join(f"{i} = {names[i]}" for i in shown)
    if len(shown) < len(names):
        legend += f" (and {len(names) - len(shown)} more)"
    return {**steps, "classes": [str(i) for i in range(len(names))]}, legend


def _key_lines(steps: dict[str, Any], w: Numbers) -> list[str]:
    """Shift, normalise, loss: the three equations a slide needs."""
    names = steps["classes"]
    lines = []
    if steps["limit"]:
        plus = [i for i, s in enumerate(steps["scores"]) if s == math.inf]
        listed = plus[:LISTED_NAMES]
        more = " = …" if len(plus) > LISTED_NAMES else ""
        xs = " = ".join(f"x[{name(names[i])}]" for i in listed) + more
        ps = " = ".join(f"p[{name(names[i])}]" for i in listed) + more
        share = "1" if len(plus) == 1 else f"1/{len(plus)}"
        lines.append(
            f"{'limit' if len(plus) == 1 else 'tie at +inf'}: {formula(xs + ' = +inf')} "
            f"({_classes(names, plus)}), so "
            f"{formula(f'{ps} = {share}')}; the shift by the max is undefined"
        )
    else:
        t = steps["temperature"]
        shift = "z = x - max" if t == 1 else "z = (x - max)/T"
        lines.append(f"shift: {formula(shift)}, with {formula('max = ' + w.n(steps['max']))}")
        lines.append(
            f"normalise: {formula('p = e^z / Σ e^z')}, with "
            f"{formula('Σ e^z = ' + w.n(steps['sum_exp']))}"
        )
    if "label" in steps:
        c = name(names[steps["label"]])
        lines.append(f"loss: {formula(f'L = -log p[{c}] = ' + w.n(steps['cross_entropy']))}")
    elif "target" in steps:
        lines.append(f"loss: {formula('L = -Σ q log p = ' + w.n(steps['cross_entropy']))}")
    if "step" in steps:
        step = steps["step"]
        old, new = steps["cross_entropy"], step["cross_entropy"]
        relation = "<" if new < old else ">" if new > old else "="
        if steps["limit"] and math.isfinite(old):
            lines.append(
                f"step: the gradient is 0 with a score at {formula('+inf')}, so "
                f"{formula(PRIME + w.n(new) + ' = L')}"
            )
            return lines
        lines.append(
            f"step: {formula(_step_rule(steps))} with {formula('η = ' + w.g(step['eta']))} "
            f"gives {formula(PRIME + w.n(new) + f' {relation} L = ' + w.n(old))}"
        )
    if (
        "label" not in steps
        and "target" not in steps
        and (steps["log_sum_exp"] is not None and not steps["limit"])
    ):
        lines.append(
            f"log-probabilities: "
            f"{formula('log p = z - log Σ e^z = z - ' + w.n(steps['log_sum_exp']))}"
        )
    return lines


def _notes(steps: dict[str, Any], w: Numbers) -> list[Note]:
    notes: list[Note] = []
    if steps["dtype"] != "float64":
        notes.append(_dtype_note(steps, w))
    if steps["limit"]:
        notes.append(_limit_note(steps, w))
    else:
        notes += [_shift_note(steps, w), _temperature_note(steps, w), _exp_note(steps, w)]
        notes.append(_sum_note(steps, w))
    notes.append(_probability_note(steps, w))
    notes.append(_log_note(steps, w))
    if "label" in steps:
        notes.append(_loss_note(steps, w))
    if "target" in steps:
        notes.append(_target_note(steps, w))
    if "gradient_z" in steps:
        notes.append(_gradient_note(steps, w))
    if "step" in steps:
        notes.append(_step_note(steps, w))
    if "jacobian" in steps and not steps["limit"] and len(steps["scores"]) > 1:
        notes.append(_jacobian_note(steps, w))
    if "sigmoid" in steps and not steps["limit"]:
        notes.append(_sigmoid_note(steps, w))
    if "online" in steps:
        notes.append(_online_note(steps, w))
    notes.append(_naive_note(steps, w))
    if "sweep" in steps:
        notes.append(_sweep_note(steps, w))
    return notes


def _dtype_note(steps: dict[str, Any], w: Numbers) -> Note:
    dtype = steps["dtype"]
    limits = steps["float_limits"]
    names = steps["classes"]
    given, scores = steps["given_scores"], steps["scores"]
    text = (
        f"Every step below is computed in {dtype}, as a model running in {dtype} computes "
        f"it: the largest {dtype} is {formula(w.limit(limits['largest']))} and the smallest "
        f"normal one {formula(w.limit(limits['smallest_normal']))}; smaller numbers down to "
        f"{formula(w.limit(limits['smallest_subnormal']))} are subnormal, with fewer "
        "significant digits. "
    )
    changed = [i for i, (a, b) in enumerate(zip(given, scores, strict=True)) if a != b]
    if changed:
        i = changed[0]
        text += (
            f"The scores are rounded to {dtype} first: {formula(w.g(given[i]))} is stored as "
            f"{formula(w.g(scores[i]))}. "
        )
    over = limits["exp_overflow"]
    t = steps["temperature"]
    big = [i for i, s in enumerate(scores) if math.isfinite(s) and s / t > over]
    text += (
        f"The naive {formula('e^(x/T)')} overflows to inf once {formula('x/T > ' + w.limit(over))} "
        f"({formula('log ' + w.limit(limits['largest']))}); "
    )
    infinite = [i for i, s in enumerate(scores) if s == math.inf]
    if big:
        text += f"here it does for {_classes(names, big)}. "
    elif infinite:
        text += f"here the input is already infinite for {_classes(names, infinite)}. "
    else:
        text += "no score here is that large. "
    if not steps["limit"]:
        text += f"The stable form never computes more than {formula('e^0 = 1')}. "
    text += (
        f"A probability below {formula(w.limit(limits['rounds_to_zero']))} (half the smallest "
        "subnormal) rounds to 0"
    )
    vanished = [
        i
        for i, (p, lp) in enumerate(zip(steps["probs"], steps["log_probs"], strict=True))
        if p == 0 and lp != -math.inf
    ]
    if vanished:
        text += f": here {_classes(names, vanished)} vanish" + (
            "es although its log-probability is finite."
            if len(vanished) == 1
            else " although their log-probabilities are finite."
        )
    else:
        text += "; none does here."
    return Note(f"Computed in {dtype}.", text)


def _limit_note(steps: dict[str, Any], w: Numbers) -> Note:
    names = steps["classes"]
    plus = [i for i, s in enumerate(steps["scores"]) if s == math.inf]
    share = steps["probs"][plus[0]]
    others = "" if len(plus) == len(names) else " and every other class gets 0"
    if len(plus) == 1:
        rule = (
            f"Softmax takes the limit as the score grows without bound: "
            f"{_classes(names, plus)} at {formula('+inf')} gets {formula('p = 1')}{others}."
        )
    else:
        rule = (
            f"Equal infinite scores cannot be compared, so by convention they share equally "
            f"(this is not a limit: how fast each grows would decide it): "
            f"{_classes(names, plus)} at {formula('+inf')} each get "
            f"{formula(f'1/{len(plus)} = ' + w.n(share))}{others}."
        )
    gone = "limit" if len(plus) == 1 else "convention"
    return Note(
        "A score is +inf.",
        f"{rule} With {formula('max = +inf')} the shift {formula('x - max')} is undefined "
        f"({formula('inf - inf')}), so {formula('z')}, {formula('e^z')} and their sum do not "
        f"exist and the table leaves them out; the probabilities below are this {gone}.",
    )


def _shift_note(steps: dict[str, Any], w: Numbers) -> Note:
    names = steps["classes"]
    ties = steps["ties"]
    where = f"class {names[ties[0]]}" if len(ties) == 1 else f"{_classes(names, ties)}, tied"
    masked = steps["masked"]
    mask_text = f" A score of {formula('-inf')} stays {formula('-inf')}." if masked else ""
    return Note(
        "Shift by the max.",
        f"The largest score is {formula('max = ' + w.n(steps['max']))} ({where}); subtract it "
        f"from every score: {formula('x - max')} = "
        f"{_listed(steps, steps['shifted'], w, 'x - max')}."
        f"{mask_text} This changes nothing: adding the same number {formula('c')} to every "
        f"score multiplies every {formula('e^x')} and their sum by {formula('e^c')}, "
        "which cancels. "
        f"It keeps exp from overflowing: the largest exponent is now 0, so the largest term "
        f"is {formula('e^0 = 1')}.",
    )


def _temperature_note(steps: dict[str, Any], w: Numbers) -> Note:
    t = steps["temperature"]
    if t == 1:
        return Note(
            "Divide by the temperature.",
            f"{formula('z = (x - max)/T')} with {formula('T = 1')} leaves the numbers as they "
            f"are, so the table shows {formula('z = x - max')} once. ({code('--sweep')} shows "
            "several "
            f"{formula('T')} at once.)",
        )
    scaled = _listed(steps, steps["scaled"], w, "z")
    live = len(steps["scores"]) - len(steps["masked"])
    if len(steps["scores"]) == 1:
        effect = (
            f"With one score there are no gaps for {formula(f'T = {w.g(t)}')} to "
            f"{'stretch' if t < 1 else 'shrink'}: {formula('p = 1')} whatever the temperature."
        )
    elif len(steps["ties"]) == live:
        effect = (
            (
                "All the scores are equal"
                if live == len(steps["scores"])
                else "Every score that is not masked is the max"
            )
            + ", so there are no gaps for "
            f"{formula(f'T = {w.g(t)}')} to {'stretch' if t < 1 else 'shrink'}: the "
            "distribution over them stays uniform whatever the temperature."
        )
    elif t < 1:
        effect = (
            f"{formula(f'T = {w.g(t)} < 1')} stretches the gaps between the scores: a sharper "
            "distribution."
        )
    else:
        effect = (
            f"{formula(f'T = {w.g(t)} > 1')} shrinks the gaps between the scores: a flatter "
            "distribution."
        )
    return Note(
        "Divide by the temperature.",
        f"{formula('z = (x - max)/T')} = {scaled}. {effect} ({code('--sweep')} shows several "
        f"{formula('T')} at once.)",
    )


def _exp_note(steps: dict[str, Any], w: Numbers) -> Note:
    names = steps["classes"]
    exps = steps["exp"]
    limits = steps["float_limits"]
    dtype = steps["dtype"]
    masked = steps["masked"]
    zero = [i for i, e in enumerate(exps) if e == 0 and i not in masked]
    small = [i for i, e in enumerate(exps) if 0 < e < limits["smallest_normal"]]
    facts = []
    if not zero and not masked:
        facts.append("every value is positive")
    ties = len(steps["ties"])
    facts.append(
        f"the largest is exactly {formula('e^0 = 1')}"
        + ("" if ties == 1 else f", {ties} times over (the tie)")
    )
    if masked:
        facts.append(
            f"a score of {formula('-inf')} is a mask: {formula('e^-inf = 0')} "
            f"({_classes(names, masked)})"
        )
    if zero:
        facts.append(
            f"{formula('e^z')} of {_classes(names, zero)} "
            f"{'is' if len(zero) == 1 else 'are'} below half the smallest positive "
            f"{dtype} ({_half_smallest(limits, w)}), so "
            f"{'it is' if len(zero) == 1 else 'they are'} stored as 0; the log-probabilities "
            "below are still finite"
        )
    if small:
        facts.append(
            f"{formula('e^z')} of {_classes(names, small)} is below "
            f"{formula(w.limit(limits['smallest_normal']))}, the smallest normal {dtype}, so it "
            "is stored with fewer significant digits"
        )
    return Note(
        "Exponentiate.",
        f"{formula('e^z')} = {_listed(steps, exps, w, 'e^z')}: " + "; ".join(facts) + ".",
    )


def _half_smallest(limits: dict[str, float], w: Numbers) -> str:
    """'half of 6e-08 ≈ 3e-08'; in float64 the half itself is below every float64."""
    text = f"half of {formula(w.limit(limits['smallest_subnormal']))}"
    if limits["rounds_to_zero"] > 0:
        text += f" ≈ {formula(w.limit(limits['rounds_to_zero']))}"
    return text


def _rounding_remark(steps: dict[str, Any], key: str, w: Numbers) -> str:
    """A remark when the terms as printed do not add up to the total as printed.

    ``key`` is ``exp`` or ``probs``.  In a narrow dtype the sum itself may drop terms
    (it is rounded after every addition); otherwise only the printed terms are rounded.
    """
    values = steps[key]
    total = w.n(steps[f"sum_{key}"])
    exact = steps.get(f"exact_sum_{key}")
    if exact is not None and math.isfinite(exact) and w.n(exact) != total:
        dtype = steps["dtype"]
        spacing = steps[f"sum_{key}_spacing"]
        lost = [i for i, v in enumerate(values) if 0 < v < spacing / 2]
        if lost:
            why = (
                f"so a term below half of that is lost when added, as the one of "
                f"{_classes(steps['classes'], lost)} is"
                if len(lost) == 1
                else f"so a term below half of that is lost when added, as those of "
                f"{_classes(steps['classes'], lost)} are"
            )
        else:
            why = "so each partial sum is rounded to a multiple of about that"
        return (
            f" In {dtype} the sum is rounded after every addition: near {formula(total)} "
            f"{dtype} numbers are {formula(w.n(spacing))} apart, {why}. The {dtype} sum is "
            f"{formula(total)}; the exact sum of the stored terms is {formula(w.n(exact))}."
        )
    if len(shown_classes(steps)) < len(values):
        return ""
    try:
        shown = math.fsum(float(w.n(v)) for v in values)
    except ValueError:  # inf or nan: nothing to compare
        return ""
    if w.n(shown) == total:
        return ""
    return (
        " (The terms as printed add up to a slightly different number: each is rounded, "
        "the sum is of the unrounded values.)"
    )


def _sum_note(steps: dict[str, Any], w: Numbers) -> Note:
    exps = steps["exp"]
    k = len(exps)
    total = w.n(steps["sum_exp"])
    if k == 1:
        return Note("Add them up.", f"One term: {formula('Σ e^z = e^0 = ' + total)}.")
    if k <= INLINE_MAX_CLASSES:
        terms = " + ".join(w.n(e) for e in exps)
        return Note(
            "Add them up.",
            f"{formula(f'Σ e^z = {terms} = {total}')}.{_rounding_remark(steps, 'exp', w)}",
        )
    return Note(
        "Add them up.",
        f"The {k} terms of the column {formula('e^z')} {_table_shows(steps)}add up to "
        f"{formula('Σ e^z = ' + total)}.{_rounding_remark(steps, 'exp', w)}",
    )


def _table_shows(steps: dict[str, Any]) -> str:
    """'(the table shows 15 of them) ' when rows are left out, so a reader knows."""
    shown = len(shown_classes(steps))
    k = len(steps["scores"])
    return "" if shown == k else f"(the table shows {shown} of them) "


def _probability_note(steps: dict[str, Any], w: Numbers) -> Note:
    names = steps["classes"]
    probs = steps["probs"]
    k = len(probs)
    ties = steps["ties"]
    masked = steps["masked"]
    parts = []
    if not steps["limit"]:
        parts.append(
            f"Divide each {formula('e^z')} by the sum: "
            f"{formula('p = e^z / ' + w.n(steps['sum_exp']))} = {_listed(steps, probs, w, 'p')}."
        )
    else:
        tied = sum(1 for s in steps["scores"] if s == math.inf) > 1
        where = "By this convention" if tied else "In the limit"
        parts.append(f"{where}, {formula('p')} = {_listed(steps, probs, w, 'p')}.")
    total = w.n(steps["sum_probs"])
    if total == w.n(1.0):
        parts.append(f"They add up to {formula(total)}.{_rounding_remark(steps, 'probs', w)}")
    else:
        parts.append(
            f"They add up to {formula(total)}, not exactly 1: each {formula('p')} is rounded "
            f"to a {steps['dtype']} before they are added."
        )
    if k == 1:
        parts.append(
            f"With one class, {formula('p = 1')} whatever the score: there is nothing to "
            "compare it with."
        )
    elif len(ties) == 1:
        parts.append(f"The most probable is class {names[ties[0]]}.")
    else:
        parts.append(
            f"{_classes(names, ties).capitalize()} tie for the largest score, so they tie as "
            f"the most probable, each with {formula('p = ' + w.n(probs[ties[0]]))}."
        )
    if masked:
        parts.append(
            f"Masked {_classes(names, masked)} get{'s' if len(masked) == 1 else ''} "
            f"{formula('p = 0')}."
        )
    h = w.n(steps["entropy"])
    entropy = f"Entropy {formula('H = -Σ p log p = ' + h)} nats"
    if k > 1:
        live = k - len(masked)
        if masked:
            over = (
                "all on the one class that is not masked"
                if live == 1
                else f"uniform over the {live} classes that are not masked"
            )
            entropy += (
                f" (at most {formula(f'log {live} = ' + w.n(steps['unmasked_entropy']))}, {over})"
            )
        else:
            entropy += (
                f" (at most {formula(f'log {k} = ' + w.n(steps['max_entropy']))}, "
                "when all scores tie)"
            )
    parts.append(entropy + ".")
    return Note("Probabilities.", " ".join(parts))


def _log_note(steps: dict[str, Any], w: Numbers) -> Note:
    names = steps["classes"]
    lse = steps["log_sum_exp"]
    log_probs = steps["log_probs"]
    listed = _listed(steps, log_probs, w, "log p")
    if lse is not None and not steps["limit"]:
        direct = f"{formula('log p = z - log Σ e^z = z - ' + w.n(lse))} = {listed}."
    else:
        direct = f"{formula('log p')} = {listed}."
    limits = steps["float_limits"]
    if steps["limit"]:
        return Note("Log-probabilities.", direct)
    why = (
        f"Why not {formula('log(p)')}? A probability below half the smallest positive "
        f"{steps['dtype']} ({_half_smallest(limits, w)}) is stored as 0, and "
        f"{formula('log 0 = -inf')}, while {formula('z - log Σ e^z')} stays finite."
    )
    lost = [
        i
        for i, (a, b) in enumerate(zip(steps["log_of_probs"], log_probs, strict=True))
        if a == -math.inf and b != -math.inf
    ]
    if lost:
        label = steps.get("label")
        if label in lost:  # the true class first: its log-probability is the loss
            lost = [label] + [i for i in lost if i != label]
        named = lost[:LISTED_NAMES]
        ps = " and ".join(formula(f"p[{name(names[i])}]") for i in named)
        values = " and ".join(formula(w.n(log_probs[i])) for i in named)
        more = f" (and {len(lost) - len(named)} more classes)" if len(lost) > len(named) else ""
        stored = "is" if len(named) == 1 else "are"
        truth = ""
        if lost[0] == label:
            which = "this" if len(named) == 1 else "the first"
            truth = f"; the loss is minus {which}, as class {names[label]} is the true class"
        why += (
            f" It happens here: {ps}{more} {stored} stored as 0, so {formula('log(p)')} would "
            f"be {formula('-inf')}, but log-softmax gives {values}{truth}."
        )
    if steps["masked"]:
        why += f" For a masked class {formula('log p = -inf')} is exact: its probability is 0."
    return Note("Log-probabilities, computed directly.", f"{direct} {why}")


def _loss_note(steps: dict[str, Any], w: Numbers) -> Note:
    names = steps["classes"]
    y = steps["label"]
    c = name(names[y])
    p = steps["probs"][y]
    loss = steps["cross_entropy"]
    text = f"{formula(f'L = -log p[{c}] = ' + w.n(loss))}."
    if steps["limit"] and p == 0:
        text += (
            f" In the limit {formula(f'p[{c}] = 0')}, so the loss is infinite: a finite "
            "score cannot compete with +inf."
        )
    elif steps["scores"][y] == -math.inf:
        text += (
            f" The true class is masked, so {formula(f'p[{c}] = 0')} and the loss is infinite: "
            "no finite change of the scores can lower it."
        )
    else:
        text += (
            f" It is 0 when {formula(f'p[{c}] = 1')} and grows without bound as "
            f"{formula(f'p[{c}] → 0')}; here {formula(f'p[{c}] = ' + w.n(p))}."
        )
    return Note(f"Cross-entropy for true class {names[y]}.", text)


def _target_note(steps: dict[str, Any], w: Numbers) -> Note:
    q = steps["target"]
    split = (
        f"{w.n(steps['target_entropy'])} + {w.n(steps['kl_divergence'])} = "
        f"{w.n(steps['cross_entropy'])}"
    )
    ones = [i for i, v in enumerate(q) if v == 1]
    if ones and all(v == 0 for i, v in enumerate(q) if i != ones[0]):
        c = steps["classes"][ones[0]]
        asks = (
            f"is one-hot: it asks for exactly one class, {c}, so the loss equals the "
            f"cross-entropy with {code('--label ' + c)}, "
            f"{formula(f'-log p[{name(c)}] = ' + w.n(steps['cross_entropy']))}, and "
            f"{formula('H(q) = 0')}."
        )
    else:
        asks = "asks for a distribution, not one class."
    text = (
        f"The target {formula('q')} = {_listed(steps, q, w, 'q')} {asks} "
        f"{formula('L = -Σ q log p = H(q) + KL(q ‖ p) = ')}"
        f"{formula(split)}. "
        f"{formula('H(q) = -Σ q log q')} is the part no model can remove; "
        f"{formula('KL(q ‖ p) = Σ q log(q/p) ≥ 0')} is 0 only when {formula('p = q')}."
    )
    heading = "a one-hot target" if ones and "one-hot" in asks else "a soft target"
    return Note(f"Cross-entropy for {heading}.", text)


def _gradient_note(steps: dict[str, Any], w: Numbers) -> Note:
    names = steps["classes"]
    t = steps["temperature"]
    if not math.isfinite(steps["cross_entropy"]):
        return Note(
            "Gradient.",
            "With an infinite loss there is no gradient to follow, so the table leaves it out.",
        )
    if steps["limit"]:
        return Note(
            "Gradient.",
            f"With a score of {formula('+inf')} there is no {formula('z')}, so the loss cannot "
            f"be differentiated through {formula('z')}. No finite change of the scores "
            f"changes any probability (a {formula('+inf')} score stays {formula('+inf')}, and "
            f"a finite one stays infinitely far below it), so the loss does not change either: "
            "the gradient is 0 in the limit, and the table leaves it out.",
        )
    if len(names) == 1:
        return Note(
            "Gradient.",
            f"With one class {formula('p = 1')} whatever the score, so "
            f"{formula('∂L/∂z = p - ' + _truth_symbol(steps) + ' = ' + w.v(steps['gradient_z']))}: "
            "there is nothing to learn.",
        )
    if "label" in steps:
        c = name(names[steps["label"]])
        y = "y"
        what = (
            f"{formula(f'y = onehot({c})')} is 1 for class {names[steps['label']]} and 0 elsewhere"
        )
        origin = (
            f"It comes from {formula(f'L = -z[{c}] + log Σ e^z')}: the derivative of "
            f"{formula('log Σ e^z')} with respect to {formula('z_j')} is "
            f"{formula('e^z_j / Σ e^z = p_j')}, and {formula(f'-z[{c}]')} adds "
            f"{formula('-1')} for class "
            f"{names[steps['label']]} only."
        )
    else:
        y = "q"
        what = f"{formula('q')} is the target"
        origin = (
            f"It comes from {formula('L = -Σ q_j z_j + log Σ e^z')} (the {formula('q_j')} add up "
            f"to 1)."
        )
    gz = _listed(steps, steps["gradient_z"], w, f"p - {y}")
    text = (
        f"{formula(f'∂L/∂z = p - {y}')} = {gz}, where {what}. {origin} Its entries add up to "
        "0, so a step along it never changes the sum of the scores"
        f"{_inexact_sum(steps, w, 'the entries here add up to ' + formula('{excess}'))}."
    )
    if t == 1:
        text += (
            f" With {formula('T = 1')}, {formula('z')} is {formula('x')} minus a constant, so "
            f"this is also {formula('∂L/∂x')}."
        )
    else:
        gx = _listed(steps, steps["gradient"], w, f"(p - {y})/T")
        text += (
            f" That is with respect to {formula('z')}; with respect to the raw scores "
            f"{formula('x')} divide by {formula(f'T = {w.g(t)}')}: "
            f"{formula(f'∂L/∂x = (p - {y})/T')} = {gx}."
        )
    if "label" in steps:
        c = name(names[steps["label"]])
        text += (
            f" So a gradient-descent step of size {formula('η')} on {formula('z')} raises "
            f"{formula(f'z[{c}]')} by {formula(f'η(1 - p[{c}])')} and lowers every other "
            f"{formula('z_j')} by {formula('η p_j')}."
        )
    return Note("Gradient.", text)


def _step_rule(steps: dict[str, Any]) -> str:
    y = _truth_symbol(steps)
    return f"x' = x - η(p - {y})" if steps["temperature"] == 1 else f"x' = x - η(p - {y})/T"


def _step_note(steps: dict[str, Any], w: Numbers) -> Note:
    step = steps["step"]
    eta = w.g(step["eta"])
    old, new = steps["cross_entropy"], step["cross_entropy"]
    rule = _step_rule(steps)
    text = f"On the scores, with {formula(f'η = {eta}')}: "
    if steps["limit"] and math.isfinite(old):
        text += (
            f"the gradient is 0 (a score is {formula('+inf')}), so the step leaves the scores "
            f"and the probabilities as they are: {formula(PRIME + w.n(new) + ' = L')}."
        )
        return Note("One step of gradient descent.", text)
    if len(step["scores"]) <= INLINE_MAX_CLASSES:
        text += (
            f"{formula(rule)} = {formula(w.v(step['scores']))}. The new probabilities are "
            f"{formula(NEW_P)} = {formula(w.v(step['probs']))}."
        )
    else:
        text += f"{formula(rule)}, then {formula(NEW_P)}."
    if not math.isfinite(old):
        text += " The loss stays infinite: no step can lower it."

    elif new < old:
        text += (
            f" The new loss is {formula(PRIME + w.n(new) + ' < L = ' + w.n(old))}: the step "
            f"lowered it by {formula(w.n(-step['change']))}."
        )
    elif new == old and not any(steps["gradient_z"]):
        text += (
            f" The gradient is exactly 0 here ({formula('p = ' + _truth_symbol(steps))} to the "
            f"last bit of a {steps['dtype']}), so the step changes nothing: "
            f"{formula(PRIME + w.n(new))}."
        )
    elif new == old:
        text += (
            f" The new loss {formula(PRIME + w.n(new))} equals the old one to the last bit "
            f"of a {steps['dtype']}: the gradient is too small here to move it."
        )
    else:
        text += (
            f" The new loss is {formula(PRIME + w.n(new) + ' > L = ' + w.n(old))}: "
            f"{formula(f'η = {eta}')} is too large here and the step overshoots; a smaller "
            f"{formula('η')} lowers the loss."
        )
    return Note("One step of gradient descent.", text)


def _inexact_sum(steps: dict[str, Any], w: Numbers, consequence: str) -> str:
    """A caveat when the stored probabilities of a narrow dtype visibly miss 1."""
    exact = steps.get("exact_sum_probs")
    if exact is None or not math.isfinite(exact) or w.n(exact) == w.n(1.0):
        return ""
    return (
        f" (when the probabilities add up to exactly 1; the stored {steps['dtype']} ones add "
        f"up to {formula(w.n(exact))}, so {consequence.format(excess=w.n(exact) + ' - 1')})"
    )


def _jacobian_note(steps: dict[str, Any], w: Numbers) -> Note:
    t = steps["temperature"]
    column_sum = f"column {formula('j')} here adds up to {formula('-p_j ({excess})')}"
    scale = (
        "" if t == 1 else f" (with respect to {formula('x')}, divide by {formula(f'T = {w.g(t)}')})"
    )
    return Note(
        "Jacobian.",
        f"How each {formula('p_i')} moves with each {formula('z_j')}: "
        f"{formula('∂p_i/∂z_j = p_i(δ_ij - p_j)')}, the matrix {formula('diag(p) - p pᵀ')} "
        f"below{scale}. It is symmetric. Each column adds up to 0 because the "
        f"probabilities add up to 1 whatever {formula('z')} is; each row adds up to 0 because "
        f"adding the same number to every {formula('z_j')} changes no {formula('p_i')}"
        f"{_inexact_sum(steps, w, column_sum)}.",
        jacobian_grid(steps, w),
    )


def _sigmoid_note(steps: dict[str, Any], w: Numbers) -> Note:
    names = steps["classes"]
    first, second = (name(n) for n in names)
    x0, x1 = steps["scores"]
    t = steps["temperature"]
    d = steps["sigmoid_input"]
    over_t = "" if t == 1 else "/T"
    text = (
        f"Write {formula(f'a = x[{first}]{over_t}')} and {formula(f'b = x[{second}]{over_t}')}. "
        f"Then {formula(f'p[{first}] = e^a / (e^a + e^b) = 1 / (1 + e^-(a - b)) = σ(a - b)')}. "
    )
    difference = f"{w.n(x0)} - {w.paren(x1)}"
    difference = f"({difference})/{w.g(t)}" if t != 1 else difference
    text += (
        f"Here {formula(f'a - b = {difference} = {w.n(d)}')} and "
        f"{formula(f'σ({w.n(d)}) = ' + w.n(steps['sigmoid']))}, the same as "
        f"{formula(f'p[{first}] = ' + w.n(steps['probs'][0]))}. "
    )
    if steps["log_odds"] is not None:
        text += (
            f"Read backwards, {formula(f'a - b = log(p[{first}]/p[{second}])')} = "
            f"{formula(w.n(steps['log_odds']))}: "
            + (
                "the difference of the scores is the log-odds. "
                if t == 1
                else "the difference of the scaled scores "
                f"{formula(f'(x[{first}] - x[{second}])/T')} "
                "is the log-odds, not the difference of the scores. "
            )
        )
    if "binary_cross_entropy" in steps:
        target = int(steps["binary_target"])
        bce = "-[t log σ(a - b) + (1 - t) log(1 - σ(a - b))] = "
        text += (
            f"This is logistic regression. With the binary target {formula('t = 1')} when the "
            f"true class is {names[0]} and {formula('t = 0')} otherwise (here "
            f"{formula(f't = {target}')}), the binary cross-entropy "
            f"{formula(bce + w.n(steps['binary_cross_entropy']))} is the loss L above"
        )
        if math.isfinite(steps["binary_cross_entropy"]):
            text += (
                f", and its derivative with respect to {formula('a - b')} is "
                f"{formula('σ(a - b) - t = ' + w.n(steps['sigmoid_gradient']))}, the entry "
                f"{formula(f'p[{first}] - y[{first}]')} of the gradient {formula('p - y')}."
            )
        else:
            text += ": infinite, so there is no gradient to follow here either."
    return Note("Two classes are a sigmoid.", text.rstrip())


def _online_note(steps: dict[str, Any], w: Numbers) -> Note:
    online = steps["online"]
    t = steps["temperature"]

    if online["sum_exp"] == steps["sum_exp"]:
        agreement = "exactly the same number"
    elif w.n(online["sum_exp"]) == w.n(steps["sum_exp"]):
        agreement = (
            "the same to every digit shown; the last bits may differ, because the terms "
            "are rounded and added in another order"
        )
    else:
        agreement = (
            f"the same up to rounding ({formula(w.n(online['sum_exp']))} against "
            f"{formula(w.n(steps['sum_exp']))}: the terms are added in another order)"
        )
    size = online["block_size"]

    def e(exponent: str) -> str:
        return formula(f"e^({exponent})" if t == 1 else f"e^(({exponent})/T)")

    text = (
        f"The same sum in one pass, reading blocks of {size} score{'s' if size > 1 else ''}: "
        f"start with {formula('m = -inf')} and {formula('s = 0')}, and keep a running max "
        f"{formula('m')} and a running sum {formula('s')} of the terms {e('x - m')} read so "
        f"far. When a block raises the max to {formula('m' + QUOTE)}, rescale "
        f"{formula('s')} by {e('m - m' + QUOTE)} before adding the block's own terms "
        f"{e('x - m' + QUOTE)}. The last {formula('s = ' + w.n(online['sum_exp']))} is "
        f"{formula('Σ e^z')} above: {agreement}. A stream, or a GPU kernel for "
        "attention (FlashAttention), sees the scores a block at a time and cannot keep them "
        "all; this way it reads them once instead of twice (once for the max, once for the "
        "sum), and the exponentials never overflow."
    )
    rows = []
    names = steps["classes"]
    for block in online["blocks"]:
        first, last = names[block["first"]], names[block["last"]]
        span = first if first == last else f"{first}–{last}"
        rows.append(
            [
                span,
                w.n(block["block_max"]),
                w.n(block["running_max"]),
                w.n(block["rescale"]),
                w.n(block["block_sum"]),
                w.n(block["running_sum"]),
            ]
        )
    grid = Grid(
        [
            "classes",
            "block max",
            formula("m"),
            formula("rescale"),
            formula("block terms"),
            formula("s"),
        ],
        rows,
        title="one pass, block by block",
    )
    return Note("Online softmax.", text, grid)


def _naive_note(steps: dict[str, Any], w: Numbers) -> Note:
    naive = steps["naive"]
    limits = steps["float_limits"]
    dtype = steps["dtype"]
    naive_formula = formula("e^(x/T) / Σ e^(x/T)")
    if not steps["naive_fails"]:
        example = (
            "softmax explain 1000 0"
            if dtype == "float64"
            else f"softmax explain 12 0 --dtype {dtype}"
        )
        return Note(
            "Without the shift?",
            f"The naive formula {naive_formula} gives the same probabilities here, up to rounding; "
            f"it breaks once a score is large, e.g. {code(example)}.",
        )
    over = w.limit(limits["exp_overflow"])
    under = w.limit(limits["exp_underflow"])
    problem = naive["problem"]
    infinite = [i for i, x in enumerate(steps["scores"]) if x == math.inf]
    if problem == "overflow" and infinite:
        why = (
            f"the input is already infinite ({_classes(steps['classes'], infinite)}), so "
            f"{formula('e^(x/T) = inf')} and the sum is inf; a class at {formula('+inf')} gets "
            f"{formula('inf/inf = nan')} and every other class gets 0."
        )
    elif problem == "overflow":
        why = (
            f"{formula('e^(x/T)')} overflows to inf once {formula(f'x/T > {over}')} (the largest "
            f"{dtype} is {formula(w.limit(limits['largest']))}); the sum is then inf, so a class "
            f"that overflows gets {formula('inf/inf = nan')} and every other class gets 0."
        )
    elif problem == "underflow":
        why = (
            f"every {formula('x/T')} here is below {formula(under)}, so {formula('e^(x/T)')} "
            f"rounds to 0 for every class, and {formula('0/0 = nan')}. The shifted form "
            "above does not break."
        )
    elif problem == "partial underflow":
        lost = [
            i
            for i, (e, x) in enumerate(zip(naive["exp"], steps["scores"], strict=True))
            if e == 0 and x != -math.inf
        ]
        why = (
            f"{formula('e^(x/T)')} rounds to 0 for {_classes(steps['classes'], lost)} "
            f"({formula(f'x/T < {under}')}), so the naive probability is 0 where the "
            "shifted form keeps a small positive one."
        )
    else:
        why = "the unshifted exponentials lose precision. The shifted form above does not."
    if problem == "overflow" and not infinite:
        why += " The shifted form above does not break."
    return Note(
        "Without the shift it breaks.",
        f"The naive formula {naive_formula} gives "
        f"{_listed(steps, naive['probs'], w, 'naive p')}: {why} "
        "Side by side:",
        naive_grid(steps, w),
    )


def _sweep_note(steps: dict[str, Any], w: Numbers) -> Note:
    names = steps["classes"]
    k = len(names)
    ties = steps["ties"]
    live = k - len(steps["masked"])
    if len(ties) == live:
        return Note(
            "Temperature sweep.",
            f"Every class that is not masked ties for the max, so every temperature gives "
            f"the same uniform distribution "
            f"({formula(f'H = log {live} = ' + w.n(steps['unmasked_entropy']))}): "
            f"dividing equal scores by {formula('T')} leaves them equal.",
            sweep_grid(steps, w),
        )
    if len(ties) == 1:
        cold = f"the probability piles onto the arg-max ({formula('H → 0')})"
    else:
        cold = (
            f"the probability piles onto the {len(ties)} tied classes, equally "
            f"({formula(f'H → log {len(ties)} = ' + w.n(steps['tie_entropy']))}: "
            "a tie never breaks)"
        )
    if live == k:
        hot = f"toward uniform ({formula(f'H → log {k} = ' + w.n(steps['max_entropy']))})"
    else:
        hot = (
            f"toward uniform over the {live} classes that are not masked "
            f"({formula(f'H → log {live} = ' + w.n(steps['unmasked_entropy']))})"
        )
    return Note(
        "Temperature sweep.",
        f"The same scores at several temperatures. As {formula('T → 0')} {cold}; as "
        f"{formula('T')} grows it spreads {hot}. The order of the classes never changes. "
        f"(On a terminal and in Markdown, 'shape' draws each distribution and a bar shows "
        f"{formula(_entropy_scale(steps))}"
        + ("" if live == k else f", where {live} is the number of classes that are not masked")
        + ".)",
        sweep_grid(steps, w),
    )


# --- the smaller tables ------------------------------------------------------------


def _short_names(steps: dict[str, Any]) -> tuple[list[str], str | None]:
    """Class names short enough for column headers, and a legend when they are indices."""
    names = steps["classes"]
    if max(len(n) for n in names) <= HEADER_NAME_WIDTH:
        return names, None
    legend = "classes: " + ", ".join(f"{i} = {n}" for i, n in enumerate(names))
    return [str(i) for i in range(len(names))], legend


def jacobian_grid(steps: dict[str, Any], w: Numbers) -> Grid:
    names, legend = _short_names(steps)
    rows = [
        [formula(f"∂p[{name(names[i])}]"), *map(w.fixed, row)]
        for i, row in enumerate(steps["jacobian"])
    ]
    header = ["", *[formula(f"∂z[{name(n)}]") for n in names]]
    return Grid(header, rows, title=f"Jacobian {formula('diag(p) - p pᵀ')}", caption=legend)


def naive_grid(steps: dict[str, Any], w: Numbers) -> Grid:
    naive = steps["naive"]
    shown = set(shown_classes(steps))
    rows = [
        [n, w.n(naive["exp"][i]), w.n(naive["probs"][i]), w.n(steps["probs"][i])]
        for i, n in enumerate(steps["classes"])
        if i in shown
    ]
    header = ["class", formula("naive e^(x/T)"), "naive p", "shifted p"]
    return Grid(header, rows, title="naive and shifted, side by side")


def _entropy_scale(steps: dict[str, Any]) -> str:
    """The bar's ratio: the entropy over its largest value, uniform over unmasked classes."""
    live = len(steps["classes"]) - len(steps["masked"])
    return f"H / log {live}"


def sweep_grid(steps: dict[str, Any], w: Numbers) -> Grid:
    from .rich_output import bar

    names, legend = _short_names(steps)
    k = len(names)
    per_class = k <= SWEEP_MAX_CLASSES
    header = [formula("T")]
    header += [formula(f"p[{name(n)}]") for n in names] if per_class else [formula("p[max]")]
    live = len(steps["classes"]) - len(steps["masked"])
    scaled = live > 1  # with one class left H / log 1 is 0/0: no bar
    header += ["shape", formula("H")] + ([formula(_entropy_scale(steps))] if scaled else [])
    rows = []
    for entry in steps["sweep"]:
        probs = entry["probs"]
        cells = [w.fixed(p) for p in probs] if per_class else [w.fixed(max(probs))]
        row = [w.g(entry["temperature"]), *cells, sparkline(probs), w.fixed(entry["entropy"])]
        if scaled:
            row.append(bar(entry["entropy"] / steps["unmasked_entropy"], 10))
        rows.append(row)
    width = len(header)
    return Grid(
        header,
        rows,
        title="temperature sweep",
        caption=legend if per_class else None,
        keys_right=True,
        pictures={width - 3, width - 1} if scaled else {width - 2},
    )


def sparkline(probs: Sequence[float], limit: int = 24) -> str:
    """One block character per class, its height proportional to the probability."""
    blocks = " ▁▂▃▄▅▆▇█"
    top = max(probs) if probs else 0.0
    if not top > 0:
        return ""
    chars = [blocks[max(1, round(p / top * 8))] if p > 0 else "·" for p in probs[:limit]]
    return "".join(chars) + ("…" if len(probs) > limit else "")
