"""``softmax explain``: every step of the derivation, as numbers and as text.

``derive`` is pure (arrays in, a dict of steps out); the renderers only format.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, BinaryIO

import numpy as np
import orjson

from . import numerics
from .errors import DataError, InputUsageError, RowError


def derive(
    scores: np.ndarray,
    *,
    temperature: float = 1.0,
    label: int | None = None,
    classes: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Every intermediate value of the stable softmax of one vector."""
    x = np.asarray(scores, dtype=np.float64).reshape(1, -1)
    try:
        numerics.check_rows(x)
    except RowError as error:
        raise DataError(error.message) from None
    k = x.shape[1]
    if label is not None and not 0 <= label < k:
        raise InputUsageError(f"--label {label} is out of range for {k} classes")
    row = x[0]
    finite_max = float(row.max())
    with np.errstate(invalid="ignore", over="ignore"):
        shifted = row - (finite_max if math.isfinite(finite_max) else 0.0)
        scaled = shifted / temperature
        exps = np.exp(scaled)
    total = float(exps.sum())
    probs = numerics.softmax(x, temperature)[0]
    log_probs = numerics.log_softmax(x, temperature)[0]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        naive_exps = np.exp(row / temperature)
        naive = naive_exps / naive_exps.sum()
    steps: dict[str, Any] = {
        "classes": list(classes) if classes is not None else [str(i) for i in range(k)],
        "scores": row.tolist(),
        "temperature": temperature,
        "max": finite_max,
        "shifted": shifted.tolist(),
        "scaled": scaled.tolist(),
        "exp": exps.tolist(),
        "sum_exp": total,
        "probs": probs.tolist(),
        "sum_probs": float(probs.sum()),
        "log_sum_exp": math.log(total) if total > 0 else None,
        "log_probs": log_probs.tolist(),
        "naive_probs": naive.tolist(),
        "naive_fails": bool(not np.allclose(naive, probs, rtol=1e-9, atol=0, equal_nan=False)),
    }
    if label is not None:
        onehot = np.zeros(k)
        onehot[label] = 1.0
        steps["label"] = label
        steps["cross_entropy"] = float(-log_probs[label])
        with np.errstate(over="ignore"):  # a subnormal T: the gradient is infinite
            steps["gradient"] = ((probs - onehot) / temperature).tolist()
    if k == 2:
        with np.errstate(over="ignore", invalid="ignore"):  # inf - inf: no sigmoid (NaN)
            gap = np.array([(row[0] - row[1]) / temperature])
        steps["sigmoid"] = float(numerics.sigmoid(gap)[0])
    return steps


def render_json(steps: dict[str, Any]) -> bytes:
    """The steps as one JSON document; non-finite numbers as null."""

    def clean(value: Any) -> Any:
        if isinstance(value, float):
            return value if math.isfinite(value) else None
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    return orjson.dumps({"operation": "explain", **{k: clean(v) for k, v in steps.items()}}) + b"\n"


def render_text(
    steps: dict[str, Any], out: BinaryIO, *, precision: int = 4, no_color: bool = False
) -> None:
    """The derivation as a table, one row per class, and the facts below it."""
    from rich.table import Table

    from .tables import format_number, make_console

    def f(value: float | None) -> str:
        return "n/a" if value is None else format_number(value, precision)

    console, stream = make_console(out, no_color)
    t = steps["temperature"]
    table = Table(title=f"softmax of {len(steps['scores'])} scores, T = {t:g}")
    table.add_column("class")
    table.add_column("x", justify="right")
    table.add_column("x - max", justify="right")
    table.add_column("(x - max)/T", justify="right")
    table.add_column("exp", justify="right")
    table.add_column("p", justify="right")
    table.add_column("log p", justify="right")
    from rich.markup import escape

    for i, name in enumerate(steps["classes"]):
        table.add_row(
            escape(name),
            f(steps["scores"][i]),
            f(steps["shifted"][i]),
            f(steps["scaled"][i]),
            f(steps["exp"][i]),
            f(steps["probs"][i]),
            f(steps["log_probs"][i]),
        )
    console.print(table)
    console.print(
        f"max = {f(steps['max'])}; sum of exp = {f(steps['sum_exp'])}; "
        f"sum of p = {f(steps['sum_probs'])}"
    )
    if "cross_entropy" in steps:
        console.print(f"cross-entropy -log p[{steps['label']}] = {f(steps['cross_entropy'])}")
    stream.flush()
