"""The numerical core: float64 arrays in, float64 arrays out, no I/O.

Every function works row-wise on a 2-D array ``(rows, classes)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .errors import RowError
from .operations import Operation

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]

#: Rows narrower than this are reduced column by column: NumPy's reduction along a
#: short row costs per row, a ufunc over whole columns costs per block.  Below 8
#: values NumPy adds a row left to right, so the sums are the same to the bit.
NARROW = 8


def _row_sum(values: FloatArray) -> FloatArray:
    """The sum of each row, as a column ``(rows, 1)``, added in NumPy's order."""
    width = values.shape[1]
    if not 2 <= width < NARROW:
        return values.sum(axis=1, keepdims=True)
    out = values[:, 0] + values[:, 1]
    for column in range(2, width):
        out += values[:, column]
    return out[:, np.newaxis]


def check_rows(scores: FloatArray) -> None:
    """Raise RowError for the first row that holds a NaN or is entirely ``-inf``.

    The first bad row of either kind, so the rows before it are all computable.
    """
    if scores.shape[1] == 0:
        raise RowError(0, "no scores")
    nan = np.isnan(scores)
    dead = scores == -np.inf
    if not (nan.any() or dead.any()):  # one pass over the block, not one per row
        return
    nan_rows = nan.any(axis=1)
    dead_rows = dead.all(axis=1)
    bad = nan_rows | dead_rows
    if bad.any():
        row = int(np.argmax(bad))
        if nan_rows[row]:
            column = int(np.argmax(np.isnan(scores[row])))
            raise RowError(row, "NaN is not a score", column=column + 1)
        raise RowError(row, "every score is -inf, so no class is possible")


def _row_top(scores: FloatArray) -> tuple[FloatArray, IntArray]:
    """Each row's maximum, as a column ``(rows, 1)``, and its first arg-max.

    Below ``NARROW`` classes a column at a time: per-row reductions cost more
    than the arithmetic on short rows.
    """
    width = scores.shape[1]
    if not 2 <= width < NARROW:
        top = scores.argmax(axis=1)
        return np.take_along_axis(scores, top[:, np.newaxis], axis=1), top
    best = scores[:, 0].copy()
    top = np.zeros(scores.shape[0], dtype=np.intp)
    for column in range(1, width):
        values = scores[:, column]
        top[values > best] = column  # strictly greater: the first of a tie stays
        np.maximum(best, values, out=best)
    return best[:, np.newaxis], top


#: Below this many classes a row's maximum is found a column at a time: NumPy's
#: per-row ``max`` costs 2-7x more there (measured at 8, 10 and 16 classes).
NARROW_MAX = 32


def _row_max(scores: FloatArray) -> FloatArray:
    """Each row's maximum as a column ``(rows, 1)``, for the methods that need no arg-max."""
    if not 2 <= scores.shape[1] < NARROW_MAX:
        return scores.max(axis=1, keepdims=True)
    best = scores[:, 0].copy()
    for column in range(1, scores.shape[1]):
        np.maximum(best, scores[:, column], out=best)
    return best[:, np.newaxis]


def _shifted(scores: FloatArray, temperature: float) -> tuple[FloatArray, IntArray]:
    """Return ``(x - max x) / T`` and each row's first arg-max.

    Shifting first keeps tiny ``T`` from overflowing.  The arg-max is where the
    shifted row is exactly 0; ``_rest`` leaves that one term out of its sum.
    """
    row_max, top = _row_top(scores)
    return _shifted_by(scores, row_max, temperature), top


def _shifted_by(scores: FloatArray, row_max: FloatArray, temperature: float) -> FloatArray:
    """``(x - row_max) / T``; ``row_max`` is the caller's, changed in place."""
    # Rows with a +inf maximum are replaced later; keep their shift finite here.
    row_max[~np.isfinite(row_max)] = 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        shifted = scores - row_max
        if temperature != 1.0:
            # A gap wider than float64 (1e308 - -1e308) overflows to -inf even when the
            # scaled gap fits; divide first for just those entries.
            lost = np.isneginf(shifted) & np.isfinite(scores)
            shifted /= temperature
            if lost.any():
                scaled = scores / temperature - row_max / temperature
                shifted[lost] = scaled[lost]
    return shifted


def shifted(scores: FloatArray, temperature: float = 1.0) -> FloatArray:
    """``(x - max x) / T`` per row: the scores every method of this package starts from."""
    return _shifted_by(scores, _row_max(scores), temperature)


def _rest(exps: FloatArray, top: IntArray) -> FloatArray:
    """``sum_{j != argmax} exp(z_j)`` per row (a column); zeroes the arg-max term of ``exps``.

    The arg-max term is exactly 1, so ``log sum = log1p(rest)`` keeps every digit
    of a tiny ``rest`` that ``log(1 + rest)`` would round away.  A tie for the
    maximum stays in ``rest`` as another exact 1.
    """
    exps[np.arange(exps.shape[0]), top] = 0.0  # the caller's temporary: no copy
    return _row_sum(exps)


def _infinite_rows(scores: FloatArray) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Return the ``+inf`` mask and which rows contain one (they take the limit)."""
    positive = scores == np.inf
    if not positive.any():
        return positive, np.zeros(scores.shape[0], dtype=bool)
    return positive, positive.any(axis=1)


def softmax(scores: FloatArray, temperature: float = 1.0) -> FloatArray:
    """Row-wise ``exp((x - max)/T) / sum exp((x - max)/T)``.

    ``-inf`` entries get probability 0; rows holding ``+inf`` share the mass
    equally among their ``+inf`` entries (the limit of growing scores).
    """
    check_rows(scores)
    shifted = _shifted_by(scores, _row_max(scores), temperature)
    # Rows holding +inf overflow here; they are replaced by their limit below.
    with np.errstate(invalid="ignore", under="ignore", over="ignore"):
        np.exp(shifted, out=shifted)
        shifted /= _row_sum(shifted)
    positive, limit_rows = _infinite_rows(scores)
    if limit_rows.any():
        mask = positive[limit_rows]
        shifted[limit_rows] = mask / mask.sum(axis=1, keepdims=True)
    return shifted


def log_softmax(scores: FloatArray, temperature: float = 1.0) -> FloatArray:
    """Row-wise ``z - log1p(sum_{j != argmax} exp z_j)`` with ``z = (x - max)/T``.

    Never ``log(softmax)``: a log-probability stays finite where the probability
    underflows to 0 (``[1000, 0]`` gives ``[0, -1000]``).  ``log1p`` keeps the
    top class's tiny log-probability (``[0, -40]`` gives ``-4.248e-18``, not 0).
    """
    return log_softmax_and_top(scores, temperature)[0]


def log_softmax_and_top(
    scores: FloatArray, temperature: float = 1.0, *, checked: bool = False
) -> tuple[FloatArray, IntArray]:
    """``log_softmax`` and each row's first arg-max (``scores.argmax(axis=1)``), which it
    finds on the way: a cross-entropy's predicted class without a second pass.

    ``checked``: the caller has run ``check_rows`` on these rows already.
    """
    if not checked:
        check_rows(scores)
    shifted, top = _shifted(scores, temperature)
    with np.errstate(invalid="ignore", under="ignore", divide="ignore", over="ignore"):
        log_norm = np.log1p(_rest(np.exp(shifted), top))
        shifted -= log_norm
    positive, limit_rows = _infinite_rows(scores)
    if limit_rows.any():
        mask = positive[limit_rows]
        share = 0.0 - np.log(mask.sum(axis=1, keepdims=True))  # 0.0, not -0.0, for one
        shifted[limit_rows] = np.where(mask, share, -np.inf)
    return shifted, top


def logsumexp(scores: FloatArray, temperature: float = 1.0) -> FloatArray:
    """Row-wise ``log sum exp(x/T)`` as ``max/T + log1p(sum_{j != argmax} exp z_j)``.

    A row holding ``+inf`` gives ``+inf``; a row of only ``-inf`` gives ``-inf``
    (the sum is 0, not an error).  NaN is a RowError, as everywhere.
    """
    if scores.shape[1] == 0:
        raise RowError(0, "no scores")
    nan_rows = np.isnan(scores).any(axis=1)
    if nan_rows.any():
        row = int(np.argmax(nan_rows))
        column = int(np.argmax(np.isnan(scores[row])))
        raise RowError(row, "NaN is not a score", column=column + 1)
    shifted, top = _shifted(scores, temperature)
    row_max = np.take_along_axis(scores, top[:, np.newaxis], axis=1)[:, 0]
    with np.errstate(invalid="ignore", under="ignore", over="ignore"):
        rest = _rest(np.exp(shifted), top)[:, 0]
        result = row_max / temperature + np.log1p(rest)
    result[~np.isfinite(row_max)] = row_max[~np.isfinite(row_max)]
    return result


def top_complement(scores: FloatArray, temperature: float = 1.0) -> FloatArray:
    """Row-wise ``1 - max p`` as ``rest / (1 + rest)``: accurate where ``1 - p`` would give 0.

    The probability that the arg-max is wrong, e.g. ``4.248e-18`` for ``[0, -40]``.
    Rows holding ``+inf`` give ``1 - 1/(number of +inf entries)``.
    """
    check_rows(scores)
    shifted, top = _shifted(scores, temperature)
    with np.errstate(invalid="ignore", under="ignore", over="ignore"):
        rest = _rest(np.exp(shifted), top)[:, 0]
        result = rest / (1.0 + rest)
    positive, limit_rows = _infinite_rows(scores)
    if limit_rows.any():
        result[limit_rows] = 1.0 - 1.0 / positive[limit_rows].sum(axis=1)
    return result


class RunningSum:
    """A sum over blocks: each block summed pairwise (``np.sum``), the block sums added
    with Neumaier's compensation, so a mean over 10^7 rows keeps every digit that
    ``math.fsum`` of the rows would."""

    def __init__(self) -> None:
        self.total = 0.0
        self.compensation = 0.0

    def add(self, values: FloatArray) -> float:
        """Fold in a block's values; return the sum so far."""
        return self.add_part(self.part(values))

    @staticmethod
    def part(values: FloatArray) -> float:
        """A block's own sum, which ``add_part`` folds in: threads may sum blocks apart."""
        return float(np.sum(values, dtype=np.float64))

    def add_part(self, part: float) -> float:
        """Fold in a block's sum from ``part``; return the sum so far."""
        total = self.total + part
        if abs(self.total) >= abs(part):
            self.compensation += (self.total - total) + part
        else:
            self.compensation += (part - total) + self.total
        self.total = total
        return self.value

    @property
    def value(self) -> float:
        return self.total + self.compensation if math.isfinite(self.total) else self.total


def operation_function(operation: Operation | str) -> Callable[[FloatArray, float], FloatArray]:
    """The row function of ``operation`` (``softmax`` or ``log_softmax``, by enum or name)."""
    chosen = Operation(operation)
    if chosen not in (Operation.SOFTMAX, Operation.LOG_SOFTMAX):
        # entmax needs α and hsoftmax a tree: their runners build their own functions.
        raise ValueError(f"{chosen.value} needs more than a temperature; see softmax_cli.beyond")
    return log_softmax if chosen is Operation.LOG_SOFTMAX else softmax


@dataclass(frozen=True)
class LossTerms:
    """Per-row losses and the weight each row adds to a mean's denominator."""

    losses: FloatArray
    weights: FloatArray


def _products(coefficients: FloatArray, log_probs: FloatArray) -> FloatArray:
    """Return ``coefficients * log_probs`` with ``0 * -inf`` taken as 0 (``0 log 0 = 0``)."""
    with np.errstate(invalid="ignore"):
        products = coefficients * log_probs
    products[coefficients == 0] = 0.0
    return products


def cross_entropy_labels(
    log_probs: FloatArray,
    labels: IntArray,
    *,
    class_weights: FloatArray | None = None,
    label_smoothing: float = 0.0,
    ignored: NDArray[np.bool_] | None = None,
) -> LossTerms:
    """Cross-entropy against class indices, as ``torch.nn.functional.cross_entropy``.

    Row loss: ``(1-e) * w[y] * -logp[y] + e/K * sum_c w[c] * -logp[c]``; a mean
    divides the summed losses by the summed ``w[y]`` of rows not ignored.
    Ignored rows have loss 0 and weight 0; their label may be anything.
    """
    rows, classes = log_probs.shape
    if ignored is None:
        ignored = np.zeros(rows, dtype=bool)
    safe_labels = np.where(ignored, 0, labels)
    weights = np.ones(classes) if class_weights is None else class_weights
    target_weight = weights[safe_labels]
    picked = log_probs[np.arange(rows), safe_labels]
    losses = -_products(target_weight, picked)
    if label_smoothing:
        smooth = -_products(np.broadcast_to(weights, log_probs.shape), log_probs).sum(axis=1)
        losses = (1.0 - label_smoothing) * losses + (label_smoothing / classes) * smooth
    losses = np.where(ignored, 0.0, losses)
    return LossTerms(losses=losses, weights=np.where(ignored, 0.0, target_weight))


def cross_entropy_targets(
    log_probs: FloatArray,
    targets: FloatArray,
    *,
    class_weights: FloatArray | None = None,
    label_smoothing: float = 0.0,
) -> LossTerms:
    """Cross-entropy against soft targets (rows of probabilities), as PyTorch.

    Row loss: ``-sum_c w[c] * t'[c] * logp[c]`` with ``t' = (1-e) t + e/K``;
    a mean divides by the number of rows, whatever the weights.
    """
    classes = log_probs.shape[1]
    if label_smoothing:
        targets = (1.0 - label_smoothing) * targets + label_smoothing / classes
    if class_weights is not None:
        targets = targets * class_weights
    losses = -_products(targets, log_probs).sum(axis=1)
    return LossTerms(losses=losses, weights=np.ones(log_probs.shape[0]))


def entropy(probs: FloatArray) -> FloatArray:
    """Row-wise Shannon entropy in nats, with ``0 log 0 = 0``."""
    with np.errstate(divide="ignore"):
        logs = np.log(probs)
    return -_products(probs, logs).sum(axis=1)


def sigmoid(x: FloatArray) -> FloatArray:
    """Logistic sigmoid, written to avoid overflow for large ``|x|``."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    positive = x >= 0
    out[positive] = 1.0 / (1.0 + np.exp(-x[positive]))
    exp_x = np.exp(x[~positive])
    out[~positive] = exp_x / (1.0 + exp_x)
    return out
