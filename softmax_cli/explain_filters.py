"""``softmax explain --top-k/--top-p/--min-p``: what sampling filters do to one vector.

For teaching nucleus sampling: the classes in order of probability, which
filter drops each, the renormalised probabilities of the survivors, and the
entropy before and after.  The math is ``sampling``'s, the same that
``softmax sample`` draws from.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, BinaryIO

import numpy as np
import orjson

from . import numerics, sampling
from .errors import UsageError
from .formats import Format
from .number_text import json_ready, table_number, table_precision, title_number
from .numerics import FloatArray

FILTER_DESTS = ("top_k", "top_p", "min_p")


def filtering_asked(values: dict[str, Any]) -> bool:
    """True when the run gives any of the filters."""
    return any(values.get(dest) is not None for dest in FILTER_DESTS)


def filter_steps(
    scores: FloatArray, temperature: float, filters: sampling.Filters, classes: Sequence[str]
) -> dict[str, Any]:
    """Each filter's survivors, in Hugging Face's order, and the distributions around them."""
    row = scores.reshape(1, -1)
    log_probs = numerics.log_softmax(row, temperature)
    probs = numerics.softmax(row, temperature)
    stages: dict[str, list[bool]] = {}
    given: dict[str, Any] = {}
    for dest in FILTER_DESTS:
        value = getattr(filters, dest)
        if value is None:
            continue
        given[dest] = value
        stages[dest] = sampling.kept_classes(log_probs, sampling.Filters(**given))[0].tolist()
    kept = sampling.kept_classes(log_probs, filters)
    filtered = numerics.softmax(np.where(kept, log_probs, -np.inf))
    order = sorted(range(row.shape[1]), key=lambda i: (-log_probs[0, i], i))
    top_p_cumulative = None
    if filters.top_p is not None:
        top_p_cumulative = _top_p_cumulative(log_probs, filters.top_k, order)
    return {
        "operation": "explain_filters",
        "temperature": temperature,
        "filters": {dest: getattr(filters, dest) for dest in FILTER_DESTS},
        "classes": list(classes),
        "scores": scores.tolist(),
        "probs": probs[0].tolist(),
        "kept_after": stages,
        "top_p_cumulative": top_p_cumulative,
        "kept": kept[0].tolist(),
        "filtered_probs": filtered[0].tolist(),
        "support": int(np.count_nonzero(filtered[0])),
        "entropy_before": float(numerics.entropy(probs)[0]),
        "entropy_after": float(numerics.entropy(filtered)[0]),
        "order": order,
    }


def _top_p_cumulative(
    log_probs: FloatArray, top_k: int | None, order: list[int]
) -> list[float | None]:
    """The cumulative mass top-p judged each class by: over the distribution top-k left,
    renormalised (None for the classes top-k dropped), in class order."""
    survivors = sampling.kept_classes(log_probs, sampling.Filters(top_k=top_k))
    seen = sampling.restricted(log_probs, survivors)[0]
    cumulative: list[float | None] = [None] * seen.size
    total = 0.0
    for index in order:
        if survivors[0, index]:
            total += float(seen[index])
            cumulative[index] = total
    return cumulative


def explain_filtered(
    run: Any, output: Format, scores: FloatArray, classes: Sequence[str] | None
) -> None:
    """``explain`` with filters: the hook the explain runner calls instead of its derivation."""
    from .streams import stdout_bytes

    write_filtering(
        output,
        stdout_bytes(),
        scores,
        temperature=run.temperature,
        filters=sampling.Filters(run.top_k, run.top_p, run.min_p),
        classes=classes,
        precision=run.precision,
        no_color=run.no_color,
        sweep=bool(run.sweep or run.sweep_temperatures),
        label=run.label,
    )


def write_filtering(
    output: Format,
    out: BinaryIO,
    scores: FloatArray,
    *,
    temperature: float,
    filters: sampling.Filters,
    classes: Sequence[str] | None,
    precision: int | None,
    no_color: bool,
    sweep: bool,
    label: str | None,
) -> None:
    """Write the filtering of one vector as a table or JSON."""
    if sweep or label is not None:
        raise UsageError(
            "shows filters alone; --sweep and --label go without --top-k, --top-p and --min-p"
        )
    names = list(classes) if classes is not None else [str(i) for i in range(scores.size)]
    steps = filter_steps(scores, temperature, filters, names)
    if output.is_json:
        out.write(orjson.dumps(json_ready(steps)) + b"\n")
    else:
        _table(steps, out, table_precision(precision), no_color)
    out.flush()


def _table(steps: dict[str, Any], out: BinaryIO, f: int, no_color: bool) -> None:
    from rich.console import Group
    from rich.table import Table

    from .escapes import printable
    from .rich_output import ARGMAX_STYLE, GAP_STYLE, GLUE, bar, count_text, make_console

    given = [(dest, value) for dest, value in steps["filters"].items() if value is not None]
    described = ", ".join(f"{dest.replace('_', '-')}{GLUE}{value:g}" for dest, value in given)
    title = f"sampling filters on {len(steps['probs'])} scores, T{GLUE}={GLUE}"
    title += f"{title_number(steps['temperature'])}: {described}"
    table = Table(title=title)
    table.add_column("class", overflow="fold")
    table.add_column("p", justify="right")
    table.add_column("cumulative", justify="right")
    # top-p judges the mass renormalised after top-k: show that, or the table would
    # contradict its decisions.
    after_top_k = steps["top_p_cumulative"] is not None and steps["filters"]["top_k"] is not None
    if after_top_k:
        table.add_column("cumulative after top-k", justify="right")
    for dest, _ in given:
        table.add_column(dest.replace("_", "-"), justify="center")
    table.add_column("p kept", justify="right")
    table.add_column("", no_wrap=True)
    cumulative = 0.0
    for index in steps["order"]:
        p = steps["probs"][index]
        cumulative += p
        survived = steps["kept"][index]
        marks = []
        dropped = False
        for dest, _ in given:
            if dropped:
                marks.append("")
            elif steps["kept_after"][dest][index]:
                marks.append("✓")
            else:
                marks.append("✗")
                dropped = True
        q = steps["filtered_probs"][index]
        table.add_row(
            printable(steps["classes"][index]),
            table_number(p, f),
            table_number(cumulative, f),
            *([_cumulative_cell(steps["top_p_cumulative"][index], f)] if after_top_k else []),
            *marks,
            table_number(q, f) if survived else "-",
            bar(q, 8 if after_top_k else 16) if survived else "",
            style=ARGMAX_STYLE if index == steps["order"][0] else (None if survived else GAP_STYLE),
        )
    note = (
        ("Top-p reads the cumulative after top-k (renormalised). " if after_top_k else "")
        + f"{steps['support']} of {count_text(len(steps['probs']), 'class', 'classes')} kept. "
        "Entropy "
        f"{table_number(steps['entropy_before'], f)} nats before, "
        f"{table_number(steps['entropy_after'], f)} after. Filters apply in this order, "
        "each to what the one before left (renormalised): top-k keeps the k most probable "
        "(ties with the k-th too); top-p the fewest whose mass reaches P; min-p those at "
        "least M times the top probability. Equal scores are kept or dropped together."
    )
    console, stream = make_console(out, no_color)
    from .table_fit import fitted

    console.print(Group(fitted(console, table, pictures=[len(table.columns) - 1]), "", note))
    stream.flush()


def _cumulative_cell(value: float | None, f: int) -> str:
    return "-" if value is None else table_number(value, f)
