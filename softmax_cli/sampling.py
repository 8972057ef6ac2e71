"""Next-token filters and draws: top-K, top-k / top-p / min-p, and seeded sampling. No I/O.

The filters follow Hugging Face transformers' logits warpers, applied in its
order: temperature, ``top_k``, ``top_p``, ``min_p``; each sees the distribution
the one before it left, renormalised.

- top-k keeps every class whose tempered score is at least the k-th largest.
- top-p keeps the smallest set of classes, in order of probability, whose
  cumulative probability reaches P: a class is kept when the mass of the
  classes more probable than it is below P.  At least one class is kept.
- min-p keeps the classes whose probability is at least M times the top one.

Ties: classes with equal tempered scores are kept or dropped together, so the
result never depends on the order of the columns.  For top-k that is what
transformers does (it keeps every class equal to the k-th value); for top-p
transformers cuts inside a tie where its sort happens to put the boundary,
and here the whole tie stays.  Classes masked with ``-inf`` are never kept.

Draws are by inverse CDF on the filtered distribution: for each row, in row
order, ``N`` doubles ``u`` from ``numpy.random.Generator(PCG64(seed)).random``;
the draw is the first class, in column order, whose cumulative filtered
probability exceeds ``u`` times the total.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from . import numerics
from .numerics import FloatArray, IntArray

BoolArray = NDArray[np.bool_]

#: How many of the most probable classes top-p sorts first; more only when they fall short.
_TOP_P_FIRST = 64


@dataclass(frozen=True)
class Filters:
    """What to keep of each row's distribution; None leaves a filter out."""

    top_k: int | None = None
    top_p: float | None = None
    min_p: float | None = None


def top_classes(log_probs: FloatArray, k: int) -> IntArray:
    """The indices of each row's ``k`` largest log-probabilities, largest first.

    ``argpartition`` finds them in time linear in the classes; equal values are
    ranked by class index, lowest first, and ``k`` beyond the width is the width.
    """
    rows, width = log_probs.shape
    k = min(k, width)
    top = np.empty((rows, k), dtype=np.intp)
    if k == 0:
        return top
    kth = -np.partition(-log_probs, k - 1, axis=1)[:, k - 1]
    for row in range(rows):
        values = log_probs[row]
        above = np.flatnonzero(values > kth[row])
        tied = np.flatnonzero(values == kth[row])[: k - above.size]
        chosen = np.concatenate([above, tied])
        # Largest first; among equals, the lower index first (lexsort: last key is primary).
        order = np.lexsort((chosen, -values[chosen]))
        top[row] = chosen[order]
    return top


def kept_classes(log_probs: FloatArray, filters: Filters) -> BoolArray:
    """Which classes each filter, in Hugging Face's order, leaves in each row."""
    kept = log_probs > -np.inf
    if filters.top_k is not None and filters.top_k < log_probs.shape[1]:
        kth = -np.partition(-log_probs, filters.top_k - 1, axis=1)[:, filters.top_k - 1]
        kept &= log_probs >= kth[:, None]
    if filters.top_p is not None and filters.top_p < 1.0:
        probs = restricted(log_probs, kept)
        for row in range(probs.shape[0]):
            kept[row] &= probs[row] >= _top_p_threshold(probs[row], filters.top_p)
    if filters.min_p is not None and filters.min_p > 0.0:
        probs = restricted(log_probs, kept)
        kept &= probs >= filters.min_p * probs.max(axis=1, keepdims=True)
    return kept


def restricted(log_probs: FloatArray, kept: BoolArray) -> FloatArray:
    """The distribution of ``log_probs`` restricted to ``kept`` and summing to 1 again.

    ``exp`` of a log-softmax is the softmax; its largest value is at least
    1/classes, so nothing that matters underflows.
    """
    with np.errstate(under="ignore"):
        probs = np.exp(log_probs)
    probs[~kept] = 0.0
    probs /= probs.sum(axis=1, keepdims=True)
    return probs


def _top_p_threshold(probs: FloatArray, top_p: float) -> float:
    """The smallest probability top-p keeps: the last class whose predecessors hold < P.

    Only the most probable classes are sorted (64 first, more while they are
    all kept), found by ``partition`` in one pass each, so a peaked row of
    256,000 classes costs about one pass.
    """
    width = probs.size
    count = min(_TOP_P_FIRST, width)
    while True:
        head = np.partition(probs, width - count)[width - count :] if count < width else probs
        descending = np.sort(head)[::-1]
        before = np.cumsum(descending) - descending
        kept = max(int(np.count_nonzero(before < top_p)), 1)
        if kept < count or count == width:
            return float(descending[kept - 1])
        # Every class not yet sorted is at most the smallest sorted one, so at least
        # (P - mass so far) / smallest more are needed: grow by that, and by 4x at least.
        short = (top_p - float(before[-1] + descending[-1])) / max(float(descending[-1]), 1e-300)
        count = int(min(max(count * 4, count + 1.25 * short), width))


def filtered_distribution(
    scores: FloatArray, temperature: float, filters: Filters
) -> tuple[FloatArray, BoolArray]:
    """Each row's filtered, renormalised probabilities, and which classes survived."""
    if filters == Filters() or filters == Filters(top_p=1.0):
        probs = numerics.softmax(scores, temperature)
        return probs, scores > -np.inf
    log_probs = numerics.log_softmax(scores, temperature)
    kept = kept_classes(log_probs, filters)
    return restricted(log_probs, kept), kept


def draw(probs: FloatArray, count: int, generator: np.random.Generator) -> IntArray:
    """``count`` class indices per row, by inverse CDF (see the module's docstring)."""
    rows = probs.shape[0]
    draws = np.empty((rows, count), dtype=np.intp)
    for row in range(rows):
        cdf = np.cumsum(probs[row])
        uniforms = generator.random(count)
        picked = np.searchsorted(cdf, uniforms * cdf[-1], side="right")
        # u * total can round up to the total itself: that is the last class with mass.
        last = int(np.flatnonzero(probs[row])[-1])
        draws[row] = np.minimum(picked, last)
    return draws


def new_seed() -> int:
    """A fresh seed from the operating system's entropy, small enough to type back."""
    return int(np.random.SeedSequence().entropy) % (1 << 64)


def generator(seed: int) -> np.random.Generator:
    """The generator every draw comes from: PCG64 seeded with ``seed``."""
    return np.random.Generator(np.random.PCG64(seed))
