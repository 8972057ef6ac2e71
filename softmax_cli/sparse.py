"""Sparsemax and α-entmax: probabilities with exact zeros.  NumPy in, NumPy out, no I/O.

α-entmax (Peters, Niculae & Martins, 2019) maps scores ``z`` to
``p_i = [(α-1) z_i - τ]_+ ^ (1/(α-1))`` with the threshold ``τ`` chosen so the
``p`` sum to 1.  α = 1 is softmax, α = 2 sparsemax (Martins & Astudillo, 2016):
the Euclidean projection of ``z`` onto the simplex.  Every entry at or below the
threshold is exactly 0.  Rows are handled a block at a time, by sorting, never
by a Python loop per row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import numerics
from .numerics import FloatArray, IntArray

#: Bisection stops when no float64 lies strictly inside the bracket of τ; this many
#: halvings always reach that (the bracket starts at width 1 and float64 spacing is
#: at least 2**-1074).  In practice about 52 + (α-1)·log2(K) are needed.
MAX_BISECTIONS = 1100


@dataclass(frozen=True)
class Thresholds:
    """What explain shows: the scaled scores ``(α-1) z``, τ and the support of each row."""

    scaled: FloatArray
    tau: FloatArray
    support: IntArray


def _prepared(scores: FloatArray, temperature: float) -> tuple[FloatArray, np.ndarray]:
    """Checked rows shifted so their maximum is 0 and divided by ``T``; and the +inf rows."""
    numerics.check_rows(scores)
    shifted = numerics.shifted(scores, temperature)
    positive = scores == np.inf
    limit_rows = positive.any(axis=1)
    return shifted, limit_rows


def _equal_shares(scores: FloatArray, probs: FloatArray, limit_rows: np.ndarray) -> FloatArray:
    """Rows holding +inf take the limit, as softmax does: equal shares among the +inf."""
    if limit_rows.any():
        mask = scores[limit_rows] == np.inf
        probs[limit_rows] = mask / mask.sum(axis=1, keepdims=True)
    return probs


def _normalised(probs: FloatArray) -> FloatArray:
    """Divide out the rounding of the threshold, so each row sums to 1 to the last bits."""
    probs /= probs.sum(axis=1, keepdims=True)
    return probs


def sparsemax_threshold(z: FloatArray) -> tuple[FloatArray, IntArray]:
    """τ and the support size of each row of finite-or-``-inf`` ``z`` whose maximum is 0.

    Sorted descending, class ``k`` (1-based) is in the support while
    ``1 + k z_(k) > z_(1) + ... + z_(k)``; then ``τ = (sum of the support - 1) / k``.
    """
    ordered = -np.sort(-z, axis=1)
    with np.errstate(invalid="ignore"):
        sums = np.cumsum(ordered, axis=1)
        ranks = np.arange(1, z.shape[1] + 1, dtype=np.float64)
        inside = 1.0 + ranks * ordered > sums
    support = inside.sum(axis=1)
    picked = sums[np.arange(z.shape[0]), support - 1]
    return (picked - 1.0) / support, support


def sparsemax(scores: FloatArray, temperature: float = 1.0) -> FloatArray:
    """Row-wise sparsemax: the closest point of the simplex to ``(x - max x)/T``."""
    z, limit_rows = _prepared(scores, temperature)
    z[limit_rows] = 0.0  # replaced below; keeps the sort free of NaN
    tau, _ = sparsemax_threshold(z)
    z -= tau[:, None]
    np.maximum(z, 0.0, out=z)
    return _equal_shares(scores, _normalised(z), limit_rows)


def entmax15_threshold(x: FloatArray) -> tuple[FloatArray, IntArray]:
    """τ and the support size for 1.5-entmax of ``x = z / 2`` (maximum 0), exactly.

    Peters et al. (2019): for the ``k`` largest entries, τ solves
    ``sum (x_i - τ)^2 = 1``, i.e. ``τ = mean - sqrt((1 - k·var) / k)``; the support
    is the ``k`` whose τ lies at or below its own ``k``-th entry.
    """
    ordered = -np.sort(-x, axis=1)
    ranks = np.arange(1, x.shape[1] + 1, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        mean = np.cumsum(ordered, axis=1) / ranks
        mean_square = np.cumsum(ordered * ordered, axis=1) / ranks
        spread = ranks * (mean_square - mean * mean)
        delta = np.maximum((1.0 - spread) / ranks, 0.0)
        taus = mean - np.sqrt(delta)
        support = (taus <= ordered).sum(axis=1)
    return taus[np.arange(x.shape[0]), support - 1], support


def _entmax15(z: FloatArray) -> FloatArray:
    x = z * 0.5
    tau, _ = entmax15_threshold(x)
    x -= tau[:, None]
    np.maximum(x, 0.0, out=x)
    return x * x


def entmax_bisect_threshold(x: FloatArray, alpha: float) -> FloatArray:
    """τ of α-entmax for ``x = (α-1) z`` (maximum 0), by bisection to float64 precision.

    ``sum [x_i - τ]_+^(1/(α-1))`` falls as τ rises and is 1 somewhere in
    ``[-1, -(1/K)^(α-1)]``; the bracket is halved until no float64 lies inside it
    (at most ``MAX_BISECTIONS`` times).
    """
    power = 1.0 / (alpha - 1.0)
    rows, width = x.shape
    low = np.full(rows, -1.0)
    high = np.full(rows, -((1.0 / width) ** (alpha - 1.0)))
    active = np.arange(rows)
    with np.errstate(invalid="ignore", under="ignore"):
        for _ in range(MAX_BISECTIONS):
            if active.size == 0:
                break
            lo, hi = low[active], high[active]
            middle = lo + (hi - lo) * 0.5
            total = (np.maximum(x[active] - middle[:, None], 0.0) ** power).sum(axis=1)
            above = total >= 1.0
            low[active] = np.where(above, middle, lo)
            high[active] = np.where(above, hi, middle)
            done = (middle == lo) | (middle == hi)
            active = active[~done]
    return low


def _scaled(z: FloatArray, alpha: float) -> FloatArray:
    """``(α-1) z``; a huge α sends every class below the top to -inf, i.e. out of the support,
    which is exactly where they belong (τ is at least -1)."""
    with np.errstate(over="ignore"):
        return z * (alpha - 1.0)


def _entmax_bisect(z: FloatArray, alpha: float) -> FloatArray:
    x = _scaled(z, alpha)
    tau = entmax_bisect_threshold(x, alpha)
    x -= tau[:, None]
    np.maximum(x, 0.0, out=x)
    with np.errstate(under="ignore"):
        return x ** (1.0 / (alpha - 1.0))


def entmax(scores: FloatArray, alpha: float, temperature: float = 1.0) -> FloatArray:
    """Row-wise α-entmax of ``(x - max x)/T``: softmax at α = 1, sparsemax at α = 2,
    the exact sort-based algorithm at α = 1.5, bisection on τ otherwise."""
    if alpha == 1.0:
        return numerics.softmax(scores, temperature)
    if alpha == 2.0:
        return sparsemax(scores, temperature)
    z, limit_rows = _prepared(scores, temperature)
    z[limit_rows] = 0.0
    probs = _entmax15(z) if alpha == 1.5 else _entmax_bisect(z, alpha)
    return _equal_shares(scores, _normalised(probs), limit_rows)


def thresholds(scores: FloatArray, alpha: float, temperature: float = 1.0) -> Thresholds:
    """τ and the support of each row, on the scale of ``(α-1)(x - max x)/T`` (α > 1)."""
    z, limit_rows = _prepared(scores, temperature)
    z[limit_rows] = np.where(scores[limit_rows] == np.inf, 0.0, -np.inf)
    x = _scaled(z, alpha)
    if alpha == 2.0:
        tau, support = sparsemax_threshold(x)
    elif alpha == 1.5:
        tau, support = entmax15_threshold(x)
    else:
        tau = entmax_bisect_threshold(x, alpha)
        support = (x > tau[:, None]).sum(axis=1)
    return Thresholds(scaled=x, tau=tau, support=support)


def tsallis_entropy(probs: FloatArray, alpha: float) -> FloatArray:
    """``(1 - sum p^α) / (α(α-1))``; Shannon's ``-sum p log p`` at α = 1."""
    if alpha == 1.0:
        return numerics.entropy(probs)
    return (1.0 - (probs**alpha).sum(axis=1)) / (alpha * (alpha - 1.0))


def entmax_loss(
    scores: FloatArray, labels: IntArray, alpha: float, temperature: float = 1.0
) -> tuple[FloatArray, FloatArray]:
    """The entmax (Tsallis) loss of each row and the probability of its label.

    The Fenchel-Young loss ``(p - e_y)·z + H_α(p)`` with ``z = x/T`` and
    ``p = entmax(z)``: 0 when ``p`` is the one-hot label, finite even where
    ``p_y = 0``.  α = 2 is the sparsemax loss, α = 1 the cross-entropy.
    """
    probs = entmax(scores, alpha, temperature)
    rows = np.arange(scores.shape[0])
    if alpha == 1.0:
        log_probs = numerics.log_softmax(scores, temperature)
        return -log_probs[rows, labels], probs[rows, labels]
    z = numerics.shifted(scores, temperature)
    limit_rows = (scores == np.inf).any(axis=1)
    z[limit_rows] = np.where(scores[limit_rows] == np.inf, 0.0, -np.inf)
    with np.errstate(invalid="ignore"):
        weighted = np.where(probs > 0, probs * z, 0.0).sum(axis=1)
    losses = weighted - z[rows, labels] + tsallis_entropy(probs, alpha)
    # Rounding can leave a hair below 0 for a perfect prediction; the loss is never negative.
    return np.maximum(losses, 0.0), probs[rows, labels]
