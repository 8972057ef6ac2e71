"""How good and how well calibrated scores are against labels; temperature scaling.

Pure NumPy, no I/O.  ``Accumulator`` takes blocks of ``(scores, labels)`` one
after another and keeps only running sums, so a report over any number of rows
costs one pass and constant memory.  ``fit_temperature`` finds the single
temperature that minimises the mean negative log-likelihood (Guo et al. 2017,
"On Calibration of Modern Neural Networks", section 4.2).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from . import numerics
from .numerics import FloatArray, IntArray

DEFAULT_BINS = 15
FIT_CHUNK_ROWS = 1 << 14
# The fit searches log(1/T) in [-LOG_BETA_LIMIT, LOG_BETA_LIMIT], i.e. T from
# about 1.6e-28 to 6.2e27: far wider than any score scale seen in practice.
LOG_BETA_LIMIT = 64.0


def confidence_bins(confidence: FloatArray, bins: int) -> IntArray:
    """The 0-based bin of each confidence among ``bins`` equal-width bins ``((m-1)/M, m/M]``.

    Edges come from ``linspace(0, 1, M + 1)`` and a value on an edge belongs to
    the bin below it, as in Guo et al.'s reference code; a confidence of 0
    (impossible for a maximum probability) goes to the first bin.
    """
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.searchsorted(edges, confidence, side="left") - 1
    return np.clip(index, 0, bins - 1)


def label_ranks(scores: FloatArray, labels: IntArray) -> IntArray:
    """The 0-based rank of each row's label by score; ties go to the lower class index.

    With that tie rule, rank 0 is exactly ``argmax`` (which returns the first
    maximum), so top-1 accuracy equals accuracy.
    """
    rows = np.arange(scores.shape[0])
    picked = scores[rows, labels][:, np.newaxis]
    columns = np.arange(scores.shape[1])
    ahead = (scores > picked) | ((scores == picked) & (columns < labels[:, np.newaxis]))
    return ahead.sum(axis=1)


@dataclass(frozen=True)
class Bin:
    """One bin of the reliability diagram: its confidence range and what fell in it."""

    lower: float
    upper: float
    count: int
    confidence: float
    accuracy: float

    @property
    def gap(self) -> float:
        """``accuracy - confidence``: negative where the model is overconfident."""
        return self.accuracy - self.confidence


@dataclass(frozen=True)
class Report:
    """Every metric of one evaluation; NaN where there were no rows."""

    rows: int
    classes: int
    temperature: float
    nll: float
    accuracy: float
    top_k: dict[int, float]
    brier: float
    ece: float
    mce: float
    mean_entropy: float
    bins: list[Bin]

    @property
    def perplexity(self) -> float:
        """``exp(nll)``, infinite rather than an overflow error."""
        if math.isnan(self.nll):
            return math.nan
        return math.exp(self.nll) if self.nll < 709.0 else math.inf


class Accumulator:
    """Running sums for NLL, accuracy, top-k, Brier, ECE/MCE and entropy over blocks of rows.

    Predictions and ranks come from the scores themselves (ties to the lower
    class index), so they never depend on the temperature or on rounding of
    probabilities.  The confidence of a row is the probability of that
    prediction.  Brier score is the multi-class form ``sum_c (p_c - [c = y])^2``
    (Brier 1950), between 0 and 2.
    """

    def __init__(
        self, *, bins: int = DEFAULT_BINS, top_k: Sequence[int] = (1,), temperature: float = 1.0
    ):
        if bins < 1:
            raise ValueError("bins must be at least 1")
        if any(k < 1 for k in top_k):
            raise ValueError("top-k values must be at least 1")
        self.bins = bins
        self.top_k = sorted(set(top_k))
        self.temperature = temperature
        self.rows = 0
        self.classes = 0
        self.nll_sum = 0.0
        self.correct = 0
        self.top_hits = dict.fromkeys(self.top_k, 0)
        self.brier_sum = 0.0
        self.entropy_sum = 0.0
        # Compensated across blocks, so means over millions of rows keep their digits.
        self._totals = {name: numerics.RunningSum() for name in ("nll", "brier", "entropy")}
        self.bin_count = np.zeros(bins, dtype=np.int64)
        self.bin_confidence = np.zeros(bins)
        self.bin_correct = np.zeros(bins)

    def add(self, scores: FloatArray, labels: IntArray) -> None:
        """Fold in a block: scores ``(rows, classes)`` and integer labels checked in range."""
        count, classes = scores.shape
        if count == 0:
            return
        if self.classes and classes != self.classes:
            raise ValueError(f"{classes} classes after {self.classes}")
        self.classes = classes
        rows = np.arange(count)
        log_probs = numerics.log_softmax(scores, self.temperature)
        probs = numerics.softmax(scores, self.temperature)
        self.nll_sum = self._totals["nll"].add(-log_probs[rows, labels])

        predicted = scores.argmax(axis=1)
        correct = predicted == labels
        self.correct += int(correct.sum())
        ranks = label_ranks(scores, labels)
        for k in self.top_k:
            self.top_hits[k] += int((ranks < k).sum())

        residual = probs.copy()
        residual[rows, labels] -= 1.0
        self.brier_sum = self._totals["brier"].add(np.einsum("ij,ij->i", residual, residual))
        self.entropy_sum = self._totals["entropy"].add(numerics.entropy(probs))

        confidence = probs[rows, predicted]
        where = confidence_bins(confidence, self.bins)
        self.bin_count += np.bincount(where, minlength=self.bins)
        self.bin_confidence += np.bincount(where, weights=confidence, minlength=self.bins)
        self.bin_correct += np.bincount(where, weights=correct, minlength=self.bins)
        self.rows += count

    def report(self) -> Report:
        """The metrics of every row added so far."""
        n = self.rows
        edges = np.linspace(0.0, 1.0, self.bins + 1)
        bins = []
        for m in range(self.bins):
            filled = int(self.bin_count[m])
            bins.append(
                Bin(
                    lower=float(edges[m]),
                    upper=float(edges[m + 1]),
                    count=filled,
                    confidence=float(self.bin_confidence[m] / filled) if filled else math.nan,
                    accuracy=float(self.bin_correct[m] / filled) if filled else math.nan,
                )
            )
        if n == 0:
            ece = mce = math.nan
        else:
            gaps = np.abs(self.bin_correct - self.bin_confidence)
            ece = float(gaps.sum() / n)
            filled = self.bin_count > 0
            mce = float((gaps[filled] / self.bin_count[filled]).max())

        def mean(total: float) -> float:
            return total / n if n else math.nan

        return Report(
            rows=n,
            classes=self.classes,
            temperature=self.temperature,
            nll=mean(self.nll_sum),
            accuracy=mean(self.correct),
            top_k={k: mean(hits) for k, hits in self.top_hits.items()},
            brier=mean(self.brier_sum),
            ece=ece,
            mce=mce,
            mean_entropy=mean(self.entropy_sum),
            bins=bins,
        )


def evaluate(
    scores: FloatArray,
    labels: IntArray,
    *,
    bins: int = DEFAULT_BINS,
    top_k: Sequence[int] = (1,),
    temperature: float = 1.0,
) -> Report:
    """The report of one array of scores against its labels (one block)."""
    accumulator = Accumulator(bins=bins, top_k=top_k, temperature=temperature)
    accumulator.add(scores, labels)
    return accumulator.report()


# --- temperature scaling -----------------------------------------------------


class FitError(ValueError):
    """No finite temperature > 0 minimises the NLL of these scores and labels."""


@dataclass(frozen=True)
class TemperatureFit:
    """The fitted temperature, the rows that depend on it, and the work it took."""

    temperature: float
    rows_fitted: int
    iterations: int
    gradient: float


def _temperature_free_rows(scores: FloatArray, labels: IntArray) -> np.ndarray:
    """Rows whose loss no temperature changes: a ``+inf`` score (the limit) or a ``-inf`` label."""
    rows = np.arange(scores.shape[0])
    return (scores == np.inf).any(axis=1) | (scores[rows, labels] == -np.inf)


def nll_derivatives(scores: FloatArray, labels: IntArray, beta: float) -> tuple[float, float]:
    """First and second derivative in ``beta = 1/T`` of the summed NLL of ``softmax(beta x)``.

    With ``s = x - max x``: ``d/dbeta = sum_i (E_p[s] - s_y)`` and
    ``d2/dbeta2 = sum_i Var_p(s) >= 0``, so the NLL is convex in ``beta``.
    Masked (``-inf``) scores have ``p = 0`` and add nothing.  Works in chunks
    of rows so the temporaries stay small.
    """
    first = 0.0
    second = 0.0
    for start in range(0, scores.shape[0], FIT_CHUNK_ROWS):
        block = scores[start : start + FIT_CHUNK_ROWS]
        wanted = labels[start : start + FIT_CHUNK_ROWS]
        shifted = block - block.max(axis=1, keepdims=True)
        finite = np.isfinite(shifted)
        safe = np.where(finite, shifted, 0.0)
        with np.errstate(under="ignore"):
            weights = np.where(finite, np.exp(beta * safe), 0.0)
        weights /= weights.sum(axis=1, keepdims=True)
        mean = np.einsum("ij,ij->i", weights, safe)
        centred = safe - mean[:, np.newaxis]
        variance = np.einsum("ij,ij,ij->i", weights, centred, centred)
        first += float((mean - safe[np.arange(block.shape[0]), wanted]).sum())
        second += float(variance.sum())
    return first, second


def fit_temperature(
    scores: FloatArray, labels: IntArray, *, tolerance: float = 1e-12, max_iterations: int = 200
) -> TemperatureFit:
    """The temperature ``T > 0`` minimising the mean NLL of ``softmax(scores / T)`` at the labels.

    The NLL is convex in ``beta = 1/T`` (see ``nll_derivatives``), so its
    derivative changes sign at most once.  We search ``v = log beta = -log T``:
    first bracket the sign change by doubling steps from ``T = 1``, then run
    Newton's method on the derivative, falling back to bisection whenever a
    step would leave the bracket.  Rows whose loss does not depend on ``T``
    are left out.  Raises FitError when the minimum is at ``T -> 0`` (every
    label is its row's top score) or ``T -> inf`` (the scores do no better than
    uniform on these labels).
    """
    keep = ~_temperature_free_rows(scores, labels)
    scores, labels = scores[keep], labels[keep]
    fitted = int(scores.shape[0])
    if fitted == 0:
        raise FitError("no row's loss depends on the temperature")

    def slope(v: float) -> tuple[float, float]:
        beta = math.exp(v)
        first, second = nll_derivatives(scores, labels, beta)
        return first, second * beta  # d/dv of the beta-derivative

    iterations = 0
    v = 0.0
    g, curvature = slope(v)
    iterations += 1
    if g == 0.0 and curvature > 0.0:
        return TemperatureFit(1.0, fitted, iterations, 0.0)
    # g < 0: the NLL still falls as beta grows (T shrinks); g > 0: the reverse.
    # g = 0 with no curvature: already saturated at the labels, so also falling.
    direction = 1.0 if g <= 0 else -1.0
    inner, step = v, 1.0
    while True:
        outer = direction * step
        g_outer, c_outer = slope(outer)
        iterations += 1
        if g_outer == 0.0 and c_outer > 0.0:
            return TemperatureFit(math.exp(-outer), fitted, iterations, 0.0)
        # A zero slope with zero curvature is saturation (every p one-hot), not a minimum.
        if g_outer != 0.0 and (g_outer > 0) == (direction > 0):
            break
        inner, g, curvature = outer, g_outer, c_outer
        if step >= LOG_BETA_LIMIT:
            if direction > 0:
                raise FitError(
                    "the NLL keeps falling as T -> 0: every label is its row's top score"
                )
            raise FitError(
                "the NLL keeps falling as T grows: the scores do no better than uniform "
                "on these labels"
            )
        step *= 2.0
    low, high = (inner, outer) if direction > 0 else (outer, inner)
    v = inner
    while iterations < max_iterations:
        candidate = math.nan
        if curvature > 0:
            step = -g / curvature
            if abs(step) <= tolerance * (1.0 + abs(v)):
                break  # Newton's next step is below the tolerance: v is the root
            candidate = v + step
        if not (low < candidate < high):
            candidate = 0.5 * (low + high)
        v = candidate
        g, curvature = slope(v)
        iterations += 1
        if g == 0.0:
            break
        if g < 0:
            low = v
        else:
            high = v
        if high - low <= tolerance * (1.0 + abs(v)):
            break
    return TemperatureFit(math.exp(-v), fitted, iterations, g / fitted)
