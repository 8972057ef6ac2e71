"""The sampling filters against an independent reference of Hugging Face's warpers, and draws.

The reference follows the documented semantics of transformers'
``TemperatureLogitsWarper``, ``TopKLogitsWarper``, ``TopPLogitsWarper`` and
``MinPLogitsWarper`` (src/transformers/generation/logits_process.py), applied in
the order ``generate`` applies them, written here in NumPy from that text.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from softmax_cli import sampling
from softmax_cli.sampling import Filters

FILTER_CASES = [
    Filters(top_k=3),
    Filters(top_p=0.73),
    Filters(min_p=0.083),
    Filters(top_k=7, top_p=0.61),
    Filters(top_p=0.87, min_p=0.051),
    Filters(top_k=5, top_p=0.93, min_p=0.17),
    Filters(top_k=40, top_p=0.997),
]


def _softmax(z: np.ndarray) -> np.ndarray:
    finite = z[np.isfinite(z)]
    e = np.exp(z - finite.max()) if finite.size else np.zeros_like(z)
    e[z == -np.inf] = 0.0
    return e / e.sum()


def hf_reference(logits: np.ndarray, temperature: float, filters: Filters) -> np.ndarray:
    """Filtered logits of one row (``-inf`` where a warper removed a class), as transformers."""
    scores = np.asarray(logits, dtype=np.float64) / temperature  # TemperatureLogitsWarper
    if filters.top_k is not None:  # TopKLogitsWarper: below the k-th value -> -inf
        k = min(max(filters.top_k, 1), scores.size)
        kth = np.sort(scores)[-k]
        scores = np.where(scores < kth, -np.inf, scores)
    if filters.top_p is not None and filters.top_p < 1.0:  # TopPLogitsWarper
        order = np.argsort(scores, kind="stable")  # ascending
        cumulative = np.cumsum(_softmax(scores[order]))
        remove = cumulative <= 1 - filters.top_p
        remove[-1:] = False  # min_tokens_to_keep = 1
        scores = scores.copy()
        scores[order[remove]] = -np.inf
    if filters.min_p is not None and filters.min_p > 0:  # MinPLogitsWarper
        probs = _softmax(scores)
        remove = probs < filters.min_p * probs.max()
        remove[np.argmax(scores)] = False  # the top class always stays
        scores = np.where(remove, -np.inf, scores)
    return scores


def tie_closure(logits: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """``kept`` grown so that classes with equal scores are kept together."""
    values = set(logits[kept].tolist())
    return np.array([v in values for v in logits.tolist()]) & (logits > -np.inf)


def ours(logits: np.ndarray, temperature: float, filters: Filters):
    probs, kept = sampling.filtered_distribution(logits.reshape(1, -1), temperature, filters)
    return probs[0], kept[0]


@pytest.mark.parametrize("filters", FILTER_CASES, ids=repr)
def test_filters_agree_with_the_reference_on_random_logits(filters):
    rng = np.random.default_rng(15)
    for _ in range(300):
        width = int(rng.integers(1, 60))
        logits = rng.normal(0.0, rng.uniform(0.5, 4.0), width)
        temperature = float(rng.uniform(0.3, 2.5))
        reference = hf_reference(logits, temperature, filters)
        probs, kept = ours(logits, temperature, filters)
        np.testing.assert_array_equal(kept, reference > -np.inf)
        assert_allclose(probs, _softmax(reference), rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("filters", FILTER_CASES, ids=repr)
def test_ties_are_kept_together_and_otherwise_agree_with_the_reference(filters):
    rng = np.random.default_rng(16)
    for _ in range(300):
        width = int(rng.integers(1, 30))
        logits = rng.integers(-3, 3, width).astype(np.float64)  # many ties
        reference = hf_reference(logits, 1.0, filters)
        expected = tie_closure(logits, reference > -np.inf)
        probs, kept = ours(logits, 1.0, filters)
        np.testing.assert_array_equal(kept, expected)
        assert_allclose(probs, _softmax(np.where(expected, logits, -np.inf)), rtol=1e-12)
        # The result does not depend on the order of the columns.
        permutation = rng.permutation(width)
        shuffled, _ = ours(logits[permutation], 1.0, filters)
        assert_allclose(shuffled, probs[permutation], rtol=1e-12)


def test_top_k_larger_than_the_row_keeps_every_class():
    logits = np.array([[1.0, -2.0, 0.5]])
    probs, kept = sampling.filtered_distribution(logits, 1.0, Filters(top_k=10))
    assert kept.all()
    assert_allclose(probs, [_softmax(logits[0])], rtol=1e-15)


def test_top_p_of_one_keeps_even_the_tiniest_class():
    logits = np.array([[40.0, 0.0, -5.0]])  # the tail holds less mass than rounding
    _, kept = sampling.filtered_distribution(logits, 1.0, Filters(top_p=1.0))
    assert kept.all()


def test_masked_classes_are_never_kept():
    logits = np.array([[1.0, -np.inf, 0.0, -np.inf]])
    _, kept = sampling.filtered_distribution(logits, 1.0, Filters(top_k=4, top_p=1.0))
    assert kept.tolist() == [[True, False, True, False]]


def test_plus_infinity_takes_all_the_mass():
    logits = np.array([[1.0, np.inf, 3.0, np.inf]])
    probs, _ = sampling.filtered_distribution(logits, 0.5, Filters(top_p=0.3))
    assert probs.tolist() == [[0.0, 0.5, 0.0, 0.5]]


def test_top_p_sorts_beyond_its_first_guess_when_the_row_is_flat():
    rng = np.random.default_rng(3)
    logits = rng.normal(0.0, 0.01, 5_000)  # nearly uniform: top-p 0.9 keeps ~4,500
    reference = hf_reference(logits, 1.0, Filters(top_p=0.9))
    _, kept = ours(logits, 1.0, Filters(top_p=0.9))
    np.testing.assert_array_equal(kept, reference > -np.inf)
    assert kept.sum() > 4_000


def test_top_classes_rank_ties_by_class_index():
    log_probs = np.log(_softmax(np.array([1.0, 3.0, 3.0, 0.0, 3.0]))).reshape(1, -1)
    assert sampling.top_classes(log_probs, 2).tolist() == [[1, 2]]
    assert sampling.top_classes(log_probs, 4).tolist() == [[1, 2, 4, 0]]
    assert sampling.top_classes(log_probs, 9).tolist() == [[1, 2, 4, 0, 3]]


def _within_five_sd(draws: np.ndarray, probs: np.ndarray) -> None:
    n = draws.size
    counts = np.bincount(draws, minlength=probs.size)
    sd = np.sqrt(n * probs * (1 - probs))
    assert (np.abs(counts - n * probs) <= 5 * sd).all(), (counts, n * probs)
    assert (counts[probs == 0] == 0).all()


@pytest.mark.parametrize("filters", [Filters(), *FILTER_CASES[:6]], ids=repr)
def test_frequencies_over_100000_draws_are_within_5_sd(filters):
    rng = np.random.default_rng(21)
    logits = rng.normal(0.0, 1.5, (1, 12))
    logits[0, 4] = -np.inf
    probs, _ = sampling.filtered_distribution(logits, 0.8, filters)
    draws = sampling.draw(probs, 100_000, sampling.generator(5))
    _within_five_sd(draws[0], probs[0])


def test_draws_follow_the_documented_inverse_cdf():
    probs = np.array([[0.1, 0.0, 0.6, 0.3], [0.25, 0.25, 0.25, 0.25]])
    draws = sampling.draw(probs, 50, sampling.generator(99))
    generator = np.random.Generator(np.random.PCG64(99))
    for row in range(2):
        uniforms = generator.random(50)
        cdf = np.cumsum(probs[row])
        expected = [int(np.argmax(cdf > u * cdf[-1])) for u in uniforms]
        assert draws[row].tolist() == expected


def test_the_same_seed_gives_the_same_draws():
    probs = np.full((3, 7), 1 / 7)
    first = sampling.draw(probs, 20, sampling.generator(123))
    again = sampling.draw(probs, 20, sampling.generator(123))
    other = sampling.draw(probs, 20, sampling.generator(124))
    assert (first == again).all() and not (first == other).all()
