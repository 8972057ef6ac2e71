"""``explain --sparsemax``, ``--entmax A`` and ``--tree FILE``: the threshold and the exact
zeros, or each class's path of sigmoids, for one vector, beside softmax.

The numbers come from ``sparse`` and ``hierarchy``; this module only gathers and
shows them (a table for people, JSON as data).  Rich is imported only to draw.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, BinaryIO

from .errors import DataError, RowError, UsageError
from .formats import Format, Output, parse_format
from .parsing import Invocation
from .rich_output import count_text

if TYPE_CHECKING:
    from .beyond import Front
    from .hierarchy import Tree
    from .numerics import FloatArray


def _one_vector(run: Invocation, front: Front, check: bool) -> tuple[FloatArray, list[str] | None]:
    """The one row given, checked as softmax checks it (``check``), with its class names."""
    from .explain import MAX_CLASSES
    from .one_vector import read_one_vector

    with front.score_source(run) as source:
        values = read_one_vector(source, max_classes=MAX_CLASSES, check=check)
    return values, source.classes


def _names(classes: list[str] | None, count: int) -> list[str]:
    from .escapes import printable

    return (
        [printable(c) for c in classes] if classes is not None else [str(i) for i in range(count)]
    )


def sparse_steps(values: FloatArray, alpha: float, temperature: float, names: list[str]) -> dict:
    """τ, the support and both distributions of one row, as plain data."""
    import numpy as np

    from . import numerics, sparse

    found = sparse.thresholds(values, alpha, temperature)
    probs = sparse.entmax(values, alpha, temperature)[0]
    soft = numerics.softmax(values, temperature)[0]
    tau = float(found.tau[0])
    scaled = found.scaled[0]
    order = np.argsort(-scaled, kind="stable")
    steps: dict[str, Any] = {
        "method": "sparsemax" if alpha == 2.0 else "entmax",
        "alpha": alpha,
        "temperature": temperature,
        "classes": names,
        "scores": values[0].tolist(),
        "scaled": scaled.tolist(),
        "tau": tau,
        "support": [names[i] for i in order if scaled[i] > tau],
        "support_size": int(found.support[0]),
        "probs": probs.tolist(),
        "softmax": soft.tolist(),
        "sum": float(probs.sum()),
        "zeros": int((probs == 0).sum()),
    }
    if alpha == 2.0:
        # The sorting test that finds the support: class k (sorted) is in while 1 + k z_(k) > Σ.
        running = 0.0
        tests = []
        for k, index in enumerate(order.tolist(), start=1):
            running += float(scaled[index])
            tests.append(
                {
                    "k": k,
                    "class": names[index],
                    "z": float(scaled[index]),
                    "sum": running,
                    "in_support": bool(1 + k * float(scaled[index]) > running),
                }
            )
        steps["sorted"] = tests
    return steps


def tree_steps(values: FloatArray, tree: Tree, temperature: float) -> dict:
    """Each class's path with its sigmoid factors, the products, and their sum."""
    import numpy as np

    from . import hierarchy

    log_probs = hierarchy.log_probs(values, tree, temperature)[0]
    s = values[0] / temperature
    classes = []
    for index, name in enumerate(tree.classes):
        factors = []
        for node, code in tree.paths[index]:
            signed = float(s[node]) if code == 0 else -float(s[node])
            factor = math.exp(float(hierarchy.log_sigmoid(np.array(signed))))
            factors.append(
                {
                    "node": node,
                    "code": code,
                    "score": float(s[node]),
                    "signed": signed,
                    "factor": factor,
                }
            )
        classes.append(
            {
                "class": name,
                "line": tree.lines[index],
                "path": factors,
                "prob": math.exp(log_probs[index]),
                "logprob": float(log_probs[index]),
            }
        )
    total = float(np.exp(log_probs).sum())
    return {
        "method": "hierarchical_softmax",
        "temperature": temperature,
        "scores": values[0].tolist(),
        "classes": classes,
        "sum": total,
    }


def _json(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json(item) for item in value]
    return value


def explain_beyond(run: Invocation, front: Front) -> None:
    """Run ``explain`` for sparsemax, entmax or a tree instead of softmax."""
    chosen = [dest for dest in ("sparsemax", "entmax", "tree") if run.given(dest)]
    if len(chosen) > 1:
        raise UsageError(
            f"explain one thing at a time, not also {run.name_of(chosen[1])}",
            option=run.name_of(chosen[0]),
        )
    for dest in ("label", "sweep", "sweep_temperatures"):
        if run.given(dest):
            raise UsageError(
                f"goes with softmax, not {run.name_of(chosen[0])}", option=run.name_of(dest)
            )
    from .beyond import read_tree, refuse_class_names

    if run.tree is not None:
        refuse_class_names(run)
    tree = read_tree(run.tree, run.name_of("tree")) if run.tree is not None else None
    values, classes = _one_vector(run, front, check=tree is None)
    if tree is None:
        alpha = 2.0 if run.sparsemax else float(run.entmax)
        if alpha == 1.0:
            raise UsageError(
                "α = 1 is softmax, which has no threshold: explain without --entmax shows it",
                option=run.name_of("entmax"),
            )
        steps = sparse_steps(values, alpha, run.temperature, _names(classes, values.shape[1]))
    else:
        try:
            steps = tree_steps(values, tree, run.temperature)
        except RowError as error:
            raise DataError(error.message, column=error.column) from None
    from .streams import stdout_bytes

    out = stdout_bytes()
    chosen_format = parse_format(front.output_format(run), Output.EXPLAIN)
    if chosen_format.is_json:
        import orjson

        out.write(orjson.dumps({"operation": "explain", **_json(steps)}) + b"\n")
    elif chosen_format is Format.TABLE:
        _draw(steps, out, run.precision, run.no_color)
    out.flush()


def _draw(steps: dict, out: BinaryIO, precision: int | None, no_color: bool) -> None:
    from .number_text import table_number, table_precision
    from .rich_output import make_console

    digits = table_precision(precision)

    def n(value: float) -> str:
        return table_number(value, digits)

    console, stream = make_console(out, no_color)
    if steps["method"] == "hierarchical_softmax":
        _draw_tree(console, steps, n)
    else:
        _draw_sparse(console, steps, n)
    stream.flush()


def _draw_sparse(console: Any, steps: dict, n: Any) -> None:
    from rich.table import Table

    alpha = steps["alpha"]
    what = "sparsemax" if alpha == 2.0 else f"{alpha:g}-entmax"
    t = steps["temperature"]
    scale = "z" if alpha == 2.0 else f"{alpha - 1:g}·z"
    table = Table(title=f"{what}, step by step: {len(steps['scores'])} scores, T = {t:g}")
    table.add_column("class", overflow="fold")
    table.add_column("score", justify="right")
    table.add_column(scale, justify="right")
    table.add_column(f"{scale} - τ", justify="right")
    table.add_column(what, justify="right")
    table.add_column("softmax", justify="right")
    tau = steps["tau"]
    for index, name in enumerate(steps["classes"]):
        scaled = steps["scaled"][index]
        inside = scaled > tau
        table.add_row(
            name,
            n(steps["scores"][index]),
            n(scaled),
            n(scaled - tau) if math.isfinite(scaled) else n(scaled),
            n(steps["probs"][index]) + ("" if inside else "  exact 0"),
            n(steps["softmax"][index]),
            style=None if inside else "dim",
        )
    table.add_section()
    table.add_row("sum", "", "", "", n(steps["sum"]), n(sum(steps["softmax"])))
    console.print(table)
    if "sorted" in steps:
        sorted_table = Table(title="the support, by sorting: in while 1 + k·z > Σ")
        for header in ("k", "class", "z (sorted)", "Σ of the first k", "1 + k·z", "in?"):
            sorted_table.add_column(header, justify="left" if header == "class" else "right")
        for row in steps["sorted"]:
            sorted_table.add_row(
                str(row["k"]),
                row["class"],
                n(row["z"]),
                n(row["sum"]),
                n(1 + row["k"] * row["z"]),
                "yes" if row["in_support"] else "no",
            )
        console.print(sorted_table)
    power = "" if alpha == 2.0 else f"^(1/{alpha - 1:g})"
    lines = [
        f"z = (score - max)/T; p_i = [{scale}_i - τ]_+{power}, with τ chosen so the p sum to 1.",
        f"τ = {n(tau)}; support: {steps['support_size']} of "
        f"{count_text(len(steps['scores']), 'class', 'classes')} "
        f"({', '.join(steps['support'])}).",
    ]
    if steps["zeros"]:
        lines.append(
            f"{count_text(steps['zeros'], 'class', 'classes')} at or below τ "
            f"{'gets' if steps['zeros'] == 1 else 'get'} exactly 0: the closest point of the "
            f"simplex lies on a face where {'it is' if steps['zeros'] == 1 else 'they are'} 0"
            + (" (a Euclidean projection)." if alpha == 2.0 else ".")
        )
    else:
        lines.append("Every class is above τ, so none is 0 here.")
    lines.append("softmax never gives 0 for a finite score: exp is positive everywhere.")
    for line in lines:
        console.print(line)


def _draw_tree(console: Any, steps: dict, n: Any) -> None:
    from rich.table import Table

    from .escapes import printable

    t = steps["temperature"]
    table = Table(
        title=f"hierarchical softmax: {count_text(len(steps['classes']), 'class', 'classes')}, "
        f"{count_text(len(steps['scores']), 'node')}, T = {t:g}"
    )
    table.add_column("class", overflow="fold")
    table.add_column("path: σ(±score) at each node", overflow="fold")
    table.add_column("probability", justify="right")
    table.add_column("log-prob", justify="right")
    for entry in steps["classes"]:
        factors = " × ".join(
            f"node {step['node']}: σ({n(step['signed'])}) = {n(step['factor'])}"
            for step in entry["path"]
        )
        table.add_row(printable(entry["class"]), factors, n(entry["prob"]), n(entry["logprob"]))
    table.add_section()
    table.add_row("sum", "", n(steps["sum"]), "")
    console.print(table)
    console.print(
        "Code 0 takes σ(s) of the node's score s, code 1 takes σ(-s) = 1 - σ(s): each node "
        "splits its mass between its two children, so the leaves sum to 1 "
        f"(here {steps['sum']!r})."
    )
