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
from .class_report import Confusion
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


NORMS = ("l1", "l2", "max")
BINNINGS = ("width", "mass")


def mass_edges(confidence: FloatArray, weights: FloatArray | None, bins: int) -> FloatArray:
    """Edges ``0 = e_0 <= ... <= e_M = 1`` of ``bins`` equal-mass bins ``(e_(m-1), e_m]``.

    ``e_m`` is the smallest confidence at which the rows' cumulative weight (in
    order of confidence) reaches ``m / M`` of the total, so with ``N`` distinct
    confidences and ``M`` dividing ``N`` every bin holds ``N / M`` rows.  Equal
    confidences always share a bin, which may leave a bin empty.
    """
    if confidence.shape[0] == 0:
        return np.linspace(0.0, 1.0, bins + 1)
    order = np.argsort(confidence, kind="stable")
    ranked = confidence[order]
    mass = np.cumsum(np.ones(ranked.shape[0]) if weights is None else weights[order])
    wanted = mass[-1] * np.arange(1, bins) / bins
    inner = ranked[np.minimum(np.searchsorted(mass, wanted, side="left"), ranked.shape[0] - 1)]
    return np.concatenate([[0.0], inner, [1.0]])


def binned(confidence: FloatArray, edges: FloatArray) -> IntArray:
    """The 0-based bin ``(lo, hi]`` of each confidence; 0 goes to the first bin."""
    index = np.searchsorted(edges, confidence, side="left") - 1
    return np.clip(index, 0, edges.shape[0] - 2)


def calibration_error(
    weight: FloatArray, confidence_sum: FloatArray, correct_sum: FloatArray, norm: str
) -> float:
    """ECE (l1), RMSCE (l2) or MCE (max) from per-bin sums of weight, confidence and hits.

    As torchmetrics: l1 is ``sum_b P_b |acc_b - conf_b|``, l2 its root mean
    square ``sqrt(sum_b P_b (acc_b - conf_b)^2)`` and max the largest gap over
    bins that hold weight; ``P_b`` is the bin's share of the total weight.
    """
    total = float(weight.sum())
    filled = weight > 0
    if not total > 0:
        return math.nan
    gaps = np.abs(correct_sum[filled] - confidence_sum[filled]) / weight[filled]
    share = weight[filled] / total
    if norm == "l1":
        return float(gaps @ share)
    if norm == "l2":
        return math.sqrt(float((gaps * gaps) @ share))
    return float(gaps.max())


@dataclass(frozen=True)
class Bin:
    """One bin of the reliability diagram: its confidence range and what fell in it."""

    lower: float
    upper: float
    count: int
    confidence: float
    accuracy: float
    weight: float = math.nan

    @property
    def gap(self) -> float:
        """``accuracy - confidence``: negative where the model is overconfident."""
        return self.accuracy - self.confidence


@dataclass(frozen=True)
class Report:
    """Every metric of one evaluation; NaN where there were no rows (or no weight)."""

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
    rmsce: float = math.nan
    #: The calibration error asked for: ``norm``, ``binning`` and ``classwise`` say which.
    calibration_error: float = math.nan
    norm: str = "l1"
    binning: str = "width"
    classwise: bool = False
    #: The summed sample weight; None when the rows were not weighted.
    weight: float | None = None
    confusion: Confusion | None = None
    #: Rows left out by ``--ignore-label``.
    ignored: int = 0

    @property
    def perplexity(self) -> float:
        """``exp(nll)``, infinite rather than an overflow error."""
        if math.isnan(self.nll):
            return math.nan
        return math.exp(self.nll) if self.nll < 709.0 else math.inf


class Accumulator:
    """Running sums for NLL, accuracy, top-k, Brier, calibration errors and entropy.

    Predictions and ranks come from the scores themselves (ties to the lower
    class index), so they never depend on the temperature or on rounding of
    probabilities.  The confidence of a row is the probability of that
    prediction.  Brier score is the multi-class form ``sum_c (p_c - [c = y])^2``
    (Brier 1950), between 0 and 2.  With sample weights every mean, bin and
    count is weighted as scikit-learn's ``sample_weight``: ``sum w x / sum w``.
    Equal-mass bins (``binning="mass"``) need every confidence, so they keep
    one float per row (per row and class with ``classwise``) until the report.
    """

    def __init__(
        self,
        *,
        bins: int = DEFAULT_BINS,
        top_k: Sequence[int] = (1,),
        temperature: float = 1.0,
        norm: str = "l1",
        binning: str = "width",
        classwise: bool = False,
        confusion: bool = False,
    ):
        if bins < 1:
            raise ValueError("bins must be at least 1")
        if any(k < 1 for k in top_k):
            raise ValueError("top-k values must be at least 1")
        if norm not in NORMS or binning not in BINNINGS:
            raise ValueError(f"unknown norm {norm!r} or binning {binning!r}")
        self.bins = bins
        self.top_k = sorted(set(top_k))
        self.temperature = temperature
        self.norm = norm
        self.binning = binning
        self.classwise = classwise
        self.want_confusion = confusion
        self.confusion: Confusion | None = None
        self.weighted = False
        self.rows = 0
        self.classes = 0
        self.weight_sum = 0.0
        self.nll_sum = 0.0
        self.correct = 0.0
        self.top_hits = dict.fromkeys(self.top_k, 0.0)
        self.brier_sum = 0.0
        self.entropy_sum = 0.0
        # Compensated across blocks, so means over millions of rows keep their digits.
        self._totals = {name: numerics.RunningSum() for name in ("nll", "brier", "entropy")}
        self.bin_count = np.zeros(bins, dtype=np.int64)
        self.bin_weight = np.zeros(bins)
        self.bin_confidence = np.zeros(bins)
        self.bin_correct = np.zeros(bins)
        self.class_bins: tuple[FloatArray, FloatArray, FloatArray] | None = None
        self.kept: list[tuple[FloatArray, FloatArray, FloatArray | None, IntArray]] = []
        self.kept_probs: list[FloatArray] = []

    def add(self, scores: FloatArray, labels: IntArray, weights: FloatArray | None = None) -> None:
        """Fold in a block: scores ``(rows, classes)``, integer labels checked in range, and
        optional sample weights (finite, >= 0)."""
        count, classes = scores.shape
        if count == 0:
            return
        if self.classes and classes != self.classes:
            raise ValueError(f"{classes} classes after {self.classes}")
        self.classes = classes
        if weights is not None:
            self.weighted = True

        def total(values: FloatArray) -> float:
            return float(values.sum() if weights is None else values @ weights)

        def weighed(values: FloatArray) -> FloatArray:
            return values if weights is None else values * weights

        rows = np.arange(count)
        log_probs = numerics.log_softmax(scores, self.temperature)
        probs = numerics.softmax(scores, self.temperature)
        self.weight_sum += count if weights is None else float(weights.sum())
        self.nll_sum = self._totals["nll"].add(weighed(-log_probs[rows, labels]))

        predicted = scores.argmax(axis=1)
        correct = predicted == labels
        self.correct += total(correct) if weights is not None else int(correct.sum())
        ranks = label_ranks(scores, labels)
        for k in self.top_k:
            self.top_hits[k] += total(ranks < k) if weights is not None else int((ranks < k).sum())

        residual = probs.copy()
        residual[rows, labels] -= 1.0
        self.brier_sum = self._totals["brier"].add(
            weighed(np.einsum("ij,ij->i", residual, residual))
        )
        self.entropy_sum = self._totals["entropy"].add(weighed(numerics.entropy(probs)))

        confidence = probs[rows, predicted]
        if self.binning == "mass":
            self.kept.append((confidence, correct.astype(np.float64), weights, labels))
            if self.classwise:
                self.kept_probs.append(probs)
        else:
            self._bin(confidence, correct, weights, np.linspace(0.0, 1.0, self.bins + 1))
            if self.classwise:
                self._bin_classes(probs, labels, weights)
        if self.want_confusion:
            if self.confusion is None:
                self.confusion = Confusion(classes)
            self.confusion.add(labels, predicted, weights)
        self.rows += count

    def _bin(
        self, confidence: FloatArray, correct: np.ndarray, weights: FloatArray | None, edges
    ) -> None:
        where = binned(confidence, edges)
        weighted_correct = correct if weights is None else correct * weights
        weighted_confidence = confidence if weights is None else confidence * weights
        self.bin_count += np.bincount(where, minlength=self.bins)
        self.bin_weight += np.bincount(where, weights=weights, minlength=self.bins)
        self.bin_confidence += np.bincount(where, weights=weighted_confidence, minlength=self.bins)
        self.bin_correct += np.bincount(where, weights=weighted_correct, minlength=self.bins)

    def _bin_classes(
        self, probs: FloatArray, labels: IntArray, weights: FloatArray | None, edges=None
    ) -> None:
        """Class-wise bins: class ``c``'s probability against ``[y = c]``, for every row."""
        count, classes = probs.shape
        size = classes * self.bins
        if self.class_bins is None:
            self.class_bins = (np.zeros(size), np.zeros(size), np.zeros(size))
        if edges is None:
            where = binned(probs, np.linspace(0.0, 1.0, self.bins + 1))
        else:
            where = np.stack([binned(probs[:, c], edges[c]) for c in range(classes)], axis=1)
        codes = (where + np.arange(classes) * self.bins).ravel()
        hits = np.zeros((count, classes))
        hits[np.arange(count), labels] = 1.0
        w = np.ones((count, 1)) if weights is None else weights[:, np.newaxis]
        row_weight = np.broadcast_to(w, (count, classes)).ravel()
        mass, confidence, correct = self.class_bins
        mass += np.bincount(codes, weights=row_weight, minlength=size)
        confidence += np.bincount(codes, weights=(probs * w).ravel(), minlength=size)
        correct += np.bincount(codes, weights=(hits * w).ravel(), minlength=size)

    def _finish_mass_bins(self) -> FloatArray:
        """Equal-mass edges from the kept confidences, then the bins they make."""
        if not self.kept:
            return np.linspace(0.0, 1.0, self.bins + 1)
        confidence = np.concatenate([part[0] for part in self.kept])
        correct = np.concatenate([part[1] for part in self.kept])
        weights = None
        if self.weighted:
            weights = np.concatenate([part[2] for part in self.kept])  # type: ignore[misc]
        edges = mass_edges(confidence, weights, self.bins)
        self._bin(confidence, correct, weights, edges)
        if self.classwise:
            probs = np.concatenate(self.kept_probs)
            labels = np.concatenate([part[3] for part in self.kept])
            class_edges = [mass_edges(probs[:, c], weights, self.bins) for c in range(self.classes)]
            self._bin_classes(probs, labels, weights, class_edges)
        self.kept, self.kept_probs = [], []
        return edges

    def state(self) -> dict:
        """Every running sum, as plain numbers and lists, for ``softmax merge``.

        Equal-mass bins keep every confidence, so they have no bounded state.
        """
        if self.binning == "mass":
            raise ValueError("equal-mass bins keep every row's confidence")
        confusion = None
        if self.confusion is not None:
            true, predicted, cells = self.confusion.sparse()
            confusion = [true.tolist(), predicted.tolist(), cells.tolist()]
        return {
            "rows": self.rows,
            "classes": self.classes,
            "weight_sum": self.weight_sum,
            "correct": self.correct,
            "top_hits": [[k, hits] for k, hits in self.top_hits.items()],
            "sums": {name: [s.total, s.compensation] for name, s in self._totals.items()},
            "bin_count": self.bin_count.tolist(),
            "bin_weight": self.bin_weight.tolist(),
            "bin_confidence": self.bin_confidence.tolist(),
            "bin_correct": self.bin_correct.tolist(),
            "class_bins": None
            if self.class_bins is None
            else [p.tolist() for p in self.class_bins],
            "confusion": confusion,
        }

    def merge_state(self, state: dict, weighted: bool = False) -> None:
        """Add the sums of another accumulator's ``state()`` (same settings) to these."""
        classes = int(state["classes"])
        if self.classes and classes and classes != self.classes:
            raise ValueError(f"{classes} classes after {self.classes}")
        self.classes = self.classes or classes
        self.weighted = self.weighted or weighted
        self.rows += int(state["rows"])
        self.weight_sum += state["weight_sum"]
        self.correct += state["correct"]
        for k, hits in state["top_hits"]:
            self.top_hits[int(k)] += hits
        for name, (total, compensation) in state["sums"].items():
            running = self._totals[name]
            running.add(np.float64(total))
            running.compensation += compensation
        self.nll_sum, self.brier_sum, self.entropy_sum = (
            self._totals[name].value for name in ("nll", "brier", "entropy")
        )
        for name in ("bin_count", "bin_weight", "bin_confidence", "bin_correct"):
            part = np.asarray(state[name], dtype=getattr(self, name).dtype)
            if part.shape != (self.bins,):
                raise ValueError(f"{name} holds {part.size} bins, not {self.bins}")
            getattr(self, name).__iadd__(part)
        if state["class_bins"] is not None:
            parts = [np.asarray(part, dtype=np.float64) for part in state["class_bins"]]
            if any(part.shape != (self.classes * self.bins,) for part in parts):
                raise ValueError("class_bins do not hold classes x bins sums")
            if self.class_bins is None:
                self.class_bins = tuple(np.zeros_like(part) for part in parts)  # type: ignore[assignment]
            for mine, part in zip(self.class_bins, parts, strict=True):  # type: ignore[arg-type]
                mine += part
        if state["confusion"] is not None:
            true, predicted, cells = (np.asarray(part) for part in state["confusion"])
            if self.confusion is None:
                self.confusion = Confusion(self.classes)
            self.confusion.add(
                true.astype(np.int64), predicted.astype(np.int64), cells.astype(float)
            )

    def report(self) -> Report:
        """The metrics of every row added so far."""
        if self.binning == "mass":
            edges = self._finish_mass_bins()
        else:
            edges = np.linspace(0.0, 1.0, self.bins + 1)
        weight = self.weight_sum
        bins = []
        for m in range(self.bins):
            filled = float(self.bin_weight[m])
            bins.append(
                Bin(
                    lower=float(edges[m]),
                    upper=float(edges[m + 1]),
                    count=int(self.bin_count[m]),
                    confidence=float(self.bin_confidence[m] / filled) if filled else math.nan,
                    accuracy=float(self.bin_correct[m] / filled) if filled else math.nan,
                    weight=filled,
                )
            )
        sums = (self.bin_weight, self.bin_confidence, self.bin_correct)
        errors = {norm: calibration_error(*sums, norm) for norm in NORMS}
        chosen = errors[self.norm]
        if self.classwise:
            chosen = math.nan
            if self.class_bins is not None and weight > 0:
                per_class = [
                    calibration_error(
                        *(part[c * self.bins : (c + 1) * self.bins] for part in self.class_bins),
                        self.norm,
                    )
                    for c in range(self.classes)
                ]
                chosen = float(np.mean(per_class))

        def mean(total: float) -> float:
            return total / weight if weight > 0 else math.nan

        return Report(
            rows=self.rows,
            classes=self.classes,
            temperature=self.temperature,
            nll=mean(self.nll_sum),
            accuracy=mean(self.correct),
            top_k={k: mean(hits) for k, hits in self.top_hits.items()},
            brier=mean(self.brier_sum),
            ece=errors["l1"],
            mce=errors["max"],
            mean_entropy=mean(self.entropy_sum),
            bins=bins,
            rmsce=errors["l2"],
            calibration_error=chosen,
            norm=self.norm,
            binning=self.binning,
            classwise=self.classwise,
            weight=self.weight_sum if self.weighted else None,
            confusion=self.confusion,
        )


def evaluate(
    scores: FloatArray,
    labels: IntArray,
    *,
    bins: int = DEFAULT_BINS,
    top_k: Sequence[int] = (1,),
    temperature: float = 1.0,
    weights: FloatArray | None = None,
    **settings: object,
) -> Report:
    """The report of one array of scores against its labels (one block)."""
    accumulator = Accumulator(bins=bins, top_k=top_k, temperature=temperature, **settings)  # type: ignore[arg-type]
    accumulator.add(scores, labels, weights)
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


def nll_derivatives(
    scores: FloatArray, labels: IntArray, beta: float, row_weights: FloatArray | None = None
) -> tuple[float, float]:
    """First and second derivative in ``beta = 1/T`` of the summed NLL of ``softmax(beta x)``.

    With ``s = x - max x``: ``d/dbeta = sum_i (E_p[s] - s_y)`` and
    ``d2/dbeta2 = sum_i Var_p(s) >= 0``, so the NLL is convex in ``beta``
    (each term times the row's sample weight, when there are weights).
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
        slope = mean - safe[np.arange(block.shape[0]), wanted]
        if row_weights is None:
            first += float(slope.sum())
            second += float(variance.sum())
        else:
            part = row_weights[start : start + FIT_CHUNK_ROWS]
            first += float(slope @ part)
            second += float(variance @ part)
    return first, second


def fit_temperature(
    scores: FloatArray,
    labels: IntArray,
    *,
    tolerance: float = 1e-12,
    max_iterations: int = 200,
    weights: FloatArray | None = None,
) -> TemperatureFit:
    """The temperature ``T > 0`` minimising the mean NLL of ``softmax(scores / T)`` at the labels.

    The NLL is convex in ``beta = 1/T`` (see ``nll_derivatives``), so its
    derivative changes sign at most once.  We search ``v = log beta = -log T``:
    first bracket the sign change by doubling steps from ``T = 1``, then run
    Newton's method on the derivative, falling back to bisection whenever a
    step would leave the bracket.  Rows whose loss does not depend on ``T``
    are left out, and so are rows of sample weight 0.  Raises FitError when
    the minimum is at ``T -> 0`` (every label is its row's top score) or
    ``T -> inf`` (the scores do no better than uniform on these labels).
    """
    keep = ~_temperature_free_rows(scores, labels)
    if weights is not None:
        keep &= weights > 0
        weights = weights[keep]
    scores, labels = scores[keep], labels[keep]
    fitted = int(scores.shape[0])
    mass = float(weights.sum()) if weights is not None else float(fitted)
    if fitted == 0:
        raise FitError("no row's loss depends on the temperature")

    def slope(v: float) -> tuple[float, float]:
        beta = math.exp(v)
        first, second = nll_derivatives(scores, labels, beta, weights)
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
    return TemperatureFit(math.exp(-v), fitted, iterations, g / mass)
