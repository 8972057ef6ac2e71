"""``softmax explain``: every step of the derivation, as numbers and as text.

``derive`` is pure (arrays in, a dict of steps out, ready for JSON); the words
live in ``explain_notes`` and the three renderers (terminal text, Markdown,
LaTeX) in ``explain_render``.  Every number any of them prints is a value of
``derive``'s dict, which ``-o json`` writes as it is.
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
from .number_text import TABLE_PRECISION, json_ready, table_precision

DEFAULT_SWEEP = (0.1, 0.5, 1.0, 2.0, 10.0)
MAX_CLASSES = 10_000  # more than a derivation can show; probs handles any width
JACOBIAN_MAX_CLASSES = 6
ONLINE_BLOCKS = 4  # the one-pass demonstration splits the vector into at most this many blocks
TARGET_TOLERANCE = 1e-6  # how far from 1 a typed soft target may sum (0.7,0.2,0.1 is 0.9999…)


def float_limits(dtype: str = "float64") -> dict[str, float]:
    """Where exp and division leave the range of ``dtype``, from ``np.finfo``.

    ``exp_overflow``: e^v is inf for v above it.  ``exp_underflow``: e^v rounds
    to 0 below it (under half the smallest subnormal).
    """
    info = np.finfo(np.dtype(dtype))
    largest = float(info.max)
    subnormal = float(info.smallest_subnormal)  # half of it rounds to 0 (ties to even)
    return {
        "largest": largest,
        "smallest_normal": float(info.smallest_normal),
        "smallest_subnormal": subnormal,
        "exp_overflow": math.log(largest),
        "exp_underflow": math.log(subnormal) - math.log(2),
        "rounds_to_zero": subnormal / 2,
    }


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
    """``exp(x/T) / sum exp(x/T)`` with no shift, as a textbook writes it, in row's dtype."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        exps = np.exp(row / row.dtype.type(temperature))
        total = exps.sum(dtype=row.dtype)
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
        "exp": exps.astype(np.float64).tolist(),
        "sum_exp": float(total),
        "probs": probs.astype(np.float64).tolist(),
        "problem": problem,
    }


def _stable(row: np.ndarray, temperature: float) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities and log-probabilities by the stable form, every step in row's dtype.

    float64 goes through ``numerics`` (the numbers ``softmax probs`` prints);
    narrower types repeat the same steps so each rounding happens where a model's would.
    """
    if row.dtype == np.float64:
        x = row.reshape(1, -1)
        return numerics.softmax(x, temperature)[0], numerics.log_softmax(x, temperature)[0]
    kind = row.dtype.type
    plus = row == np.inf
    if plus.any():
        share = kind(1) / kind(plus.sum())
        probs = np.where(plus, share, kind(0)).astype(row.dtype)
        with np.errstate(divide="ignore"):
            return probs, np.log(probs)
    with np.errstate(invalid="ignore", under="ignore", divide="ignore", over="ignore"):
        z = (row - row.max()) / kind(temperature)
        exps = np.exp(z)
        total = exps.sum(dtype=row.dtype)
        return exps / total, z - np.log(total)


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


def check_target(target: Sequence[float], count: int) -> np.ndarray:
    """A soft target: ``count`` finite probabilities >= 0 that add up to 1."""
    q = np.asarray(target, dtype=np.float64)
    if q.size != count:
        raise UsageError(f"has {q.size} values, expected {count}", option="--target")
    if not (np.isfinite(q).all() and (q >= 0).all()):
        raise UsageError("must be finite probabilities >= 0", option="--target")
    if abs(math.fsum(q.tolist()) - 1.0) > TARGET_TOLERANCE:
        raise UsageError(f"must add up to 1, not {math.fsum(q.tolist()):g}", option="--target")
    return q


def _online(row: np.ndarray, temperature: float) -> dict[str, Any]:
    """The one-pass normaliser: a running max and a running sum rescaled when the max grows."""
    k = row.size
    size = math.ceil(k / min(k, ONLINE_BLOCKS))
    blocks = []
    running_max = -math.inf
    running_sum = 0.0
    with np.errstate(under="ignore"):
        for start in range(0, k, size):
            block = row[start : start + size]
            block_max = float(block.max())
            new_max = max(running_max, block_max)
            if new_max == -math.inf:  # only masked scores so far: nothing to add yet
                rescale, terms = 1.0, 0.0
            else:
                rescale = math.exp((running_max - new_max) / temperature)
                terms = float(np.exp((block - new_max) / temperature).sum())
            running_sum = running_sum * rescale + terms
            running_max = new_max
            blocks.append(
                {
                    "first": start,
                    "last": start + block.size - 1,
                    "block_max": block_max,
                    "running_max": running_max,
                    "rescale": rescale,
                    "block_sum": terms,
                    "running_sum": running_sum,
                }
            )
    return {"block_size": size, "blocks": blocks, "sum_exp": running_sum, "max": running_max}


def derive(
    scores: np.ndarray,
    *,
    temperature: float = 1.0,
    label: int | str | None = None,
    classes: Sequence[str] | None = None,
    temperatures: Sequence[float] | None = None,
    target: Sequence[float] | None = None,
    step: float | None = None,
    online: bool = False,
    dtype: str = "float64",
) -> dict[str, Any]:
    """Every intermediate value of the stable softmax of one vector, as plain data.

    ``gradient`` is with respect to the raw scores x, ``(p - y)/T``;
    ``gradient_z`` is with respect to ``z = (x - max)/T``, ``p - y``, where y is
    the one-hot label or the soft target.  The Jacobian is ``diag(p) - p pᵀ``
    with respect to z (divide by T for x).  With ``dtype`` narrower than float64
    the scores are rounded to it and every step is computed in it.
    """
    given = np.asarray(scores, dtype=np.float64).reshape(1, -1)
    try:
        numerics.check_rows(given)
    except RowError as error:
        raise DataError(error.message) from None
    if label is not None and target is not None:
        raise UsageError("give --label or --target, not both", option="--target")
    if step is not None and label is None and target is None:
        raise UsageError("needs --label or --target: a step lowers a loss", option="--step")
    k = given.shape[1]
    names = list(classes) if classes is not None else [str(i) for i in range(k)]
    label_index = resolve_label(None if label is None else str(label), names, k)
    soft = None if target is None else check_target(target, k)
    with np.errstate(over="ignore"):
        row = given[0].astype(dtype)
    kind = row.dtype.type
    if not np.isfinite(row[np.isfinite(given[0])]).all():
        limits = float_limits(dtype)
        raise DataError(f"a score is beyond the largest {dtype} ({limits['largest']:g})")
    top = float(row.max())
    limit = math.isinf(top)
    with np.errstate(invalid="ignore", over="ignore", under="ignore"):
        shifted = row - kind(top)
        scaled = shifted / kind(temperature)
        exps = np.exp(scaled)
    total = float(exps.sum(dtype=row.dtype))
    probs, log_probs = _stable(row, temperature)
    with np.errstate(divide="ignore"):
        log_of_probs = np.log(probs)
    probs64 = probs.astype(np.float64)
    entropy = float(numerics.entropy(probs64.reshape(1, -1))[0])
    naive = _naive(row, temperature)
    naive_probs = np.asarray(naive["probs"])
    finite_scores = row[row > -np.inf]
    ties = [int(i) for i in np.flatnonzero(row == row.max())]
    masked = [int(i) for i in np.flatnonzero(row == -np.inf)]
    live = k - len(masked)
    steps: dict[str, Any] = {
        "classes": names,
        "dtype": dtype,
        "scores": row.astype(np.float64).tolist(),
        "temperature": temperature,
        "max": top,
        "argmax": ties[0],
        "ties": ties,
        "masked": masked,
        "limit": limit,
        "float_limits": float_limits(dtype),
        "shifted": shifted.astype(np.float64).tolist(),
        "scaled": scaled.astype(np.float64).tolist(),
        "exp": exps.astype(np.float64).tolist(),
        "sum_exp": total,
        "probs": probs64.tolist(),
        "sum_probs": float(probs.sum(dtype=row.dtype)),
        "entropy": entropy,
        "max_entropy": math.log(k),
        "unmasked_entropy": math.log(live),
        "tie_entropy": math.log(len(ties)),
        "log_sum_exp": math.log(total) if 0 < total < math.inf else None,
        "log_probs": log_probs.astype(np.float64).tolist(),
        "log_of_probs": log_of_probs.astype(np.float64).tolist(),
        "naive": naive,
        "naive_probs": naive["probs"],
        "naive_fails": bool(not np.allclose(naive_probs, probs64, rtol=1e-9, atol=0)),
        "min_finite_score": float(finite_scores.min()) if finite_scores.size else None,
    }
    if dtype != "float64":
        steps["given_scores"] = given[0].tolist()
        # a narrow sum is rounded after every addition: what it lost, and the spacing that lost it
        with np.errstate(invalid="ignore"):
            steps["exact_sum_exp"] = math.fsum(exps.astype(np.float64).tolist())
            steps["exact_sum_probs"] = math.fsum(probs64.tolist())
            steps["sum_exp_spacing"] = float(np.spacing(kind(total)))
            steps["sum_probs_spacing"] = float(np.spacing(kind(steps["sum_probs"])))
    truth = None
    if label_index is not None:
        truth = np.zeros(k)
        truth[label_index] = 1.0
        steps["label"] = label_index
        steps["onehot"] = truth.tolist()
        steps["cross_entropy"] = float(-log_probs[label_index])
    elif soft is not None:
        truth = soft
        steps["target"] = soft.tolist()
        _soft_target(steps, soft, log_probs.astype(np.float64))
    if truth is not None:
        gradient_z = probs64 - truth
        steps["gradient_z"] = gradient_z.tolist()
        with np.errstate(over="ignore"):  # a subnormal T: the gradient is infinite
            steps["gradient"] = (gradient_z / temperature).tolist()
        if step is not None:
            steps["step"] = _descent_step(steps, given[0], truth, step, dtype)
    if k <= JACOBIAN_MAX_CLASSES:
        steps["jacobian"] = (np.diag(probs64) - np.outer(probs64, probs64)).tolist()
    if k == 2:
        _two_classes(steps, row, temperature)
    if temperatures is not None:
        steps["sweep"] = sweep(row.astype(np.float64), temperatures)
    if online and not limit:
        steps["online"] = _online(row.astype(np.float64), temperature)
    return steps


def _soft_target(steps: dict[str, Any], q: np.ndarray, log_p: np.ndarray) -> None:
    """Cross-entropy against a soft target, split as H(q) + KL(q ‖ p)."""
    held = q > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        cross = float(-np.sum(q[held] * log_p[held]))
        own = float(-np.sum(q[held] * np.log(q[held])))
        kl = float(np.sum(q[held] * (np.log(q[held]) - log_p[held])))
    steps["cross_entropy"] = cross
    steps["target_entropy"] = own
    steps["kl_divergence"] = kl


def _descent_step(
    steps: dict[str, Any], x: np.ndarray, truth: np.ndarray, eta: float, dtype: str
) -> dict[str, Any]:
    """One gradient-descent step on the raw scores, x' = x - η (p - y)/T, and the new loss."""
    t = steps["temperature"]
    with np.errstate(invalid="ignore", over="ignore"):
        moved = x - eta * np.asarray(steps["gradient"])
    moved[x == -math.inf] = -math.inf  # a mask stays a mask
    moved[x == math.inf] = math.inf
    row = moved.astype(dtype)
    probs, log_probs = _stable(row, t)
    log_p = log_probs.astype(np.float64)
    held = truth > 0
    with np.errstate(invalid="ignore"):
        new_loss = float(-np.sum(truth[held] * log_p[held]))
    return {
        "eta": eta,
        "scores": row.astype(np.float64).tolist(),
        "probs": probs.astype(np.float64).tolist(),
        "cross_entropy": new_loss,
        "change": new_loss - steps["cross_entropy"],
    }


def _two_classes(steps: dict[str, Any], row: np.ndarray, temperature: float) -> None:
    """Softmax of two scores as the sigmoid of their difference, and the log-odds."""
    a, b = (float(v) for v in row)
    with np.errstate(invalid="ignore", over="ignore"):
        difference = float((a - b) / temperature)
    steps["sigmoid_input"] = difference
    steps["sigmoid"] = float(numerics.sigmoid(np.array([difference]))[0])
    first, second = steps["log_probs"]
    steps["log_odds"] = first - second if math.isfinite(first - second) else None
    if "label" in steps:
        y = 1.0 if steps["label"] == 0 else 0.0
        # log σ(d) = -log(1 + e^-d), written with logaddexp so it stays finite; tied
        # infinite scores have no difference (NaN), so no binary loss either
        with np.errstate(invalid="ignore"):
            log_sigma = -float(np.logaddexp(0.0, -difference))
            log_one_minus = -float(np.logaddexp(0.0, difference))
        bce = -(y * log_sigma + (1 - y) * log_one_minus)
        steps["binary_target"] = y
        steps["binary_cross_entropy"] = bce
        steps["sigmoid_gradient"] = steps["sigmoid"] - y


# --- writing -------------------------------------------------------------------


def render_json(steps: dict[str, Any]) -> bytes:
    """The steps as one JSON document; non-finite numbers as null."""
    return orjson.dumps({"operation": "explain", **json_ready(steps)}) + b"\n"


def write_explanation(
    format_name: str | Format,
    out: BinaryIO,
    steps: dict[str, Any],
    *,
    precision: int | None = None,
    no_color: bool = False,
    brief: bool = False,
) -> None:
    """Write the derivation in one format (table, json, ndjson, markdown, latex)."""
    from . import explain_render

    chosen = parse_format(format_name, Output.EXPLAIN)
    digits = table_precision(precision)
    if chosen.is_json:
        out.write(render_json(steps))
    elif chosen is Format.TABLE:
        explain_render.render_text(steps, out, precision=digits, no_color=no_color, brief=brief)
    elif chosen is Format.MARKDOWN:
        out.write(explain_render.markdown(steps, digits, brief=brief).encode("utf-8"))
    elif chosen is Format.LATEX:
        out.write(explain_render.latex(steps, digits, brief=brief).encode("utf-8"))
    out.flush()


def text_blocks(
    steps: dict[str, Any], precision: int = TABLE_PRECISION, width: int = 80, brief: bool = False
) -> list[Any]:
    """The Rich renderables of an explanation, in order: title, table, numbered steps."""
    from .explain_render import text_blocks as blocks

    return blocks(steps, precision, width=width, brief=brief)
