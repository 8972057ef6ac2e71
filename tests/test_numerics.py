"""Properties and exact cases of the numerical core."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from numpy.testing import assert_allclose, assert_array_equal
from scipy import special

from softmax_cli import numerics
from softmax_cli.errors import RowError

finite = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False, allow_infinity=False)
shapes = st.tuples(st.integers(1, 8), st.integers(1, 12))
score_arrays = shapes.flatmap(lambda shape: arrays(np.float64, shape, elements=finite))
temperatures = st.floats(min_value=1e-2, max_value=1e2)


@given(score_arrays, temperatures)
def test_rows_sum_to_one(scores, temperature):
    probs = numerics.softmax(scores, temperature)
    assert_allclose(probs.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert ((probs >= 0) & (probs <= 1)).all()


@given(score_arrays, st.floats(min_value=-1e3, max_value=1e3))
def test_adding_a_constant_changes_nothing(scores, shift):
    assert_allclose(numerics.softmax(scores + shift), numerics.softmax(scores), atol=1e-12)


@given(score_arrays, temperatures)
def test_log_softmax_is_the_log_of_softmax_where_both_are_finite(scores, temperature):
    log_probs = numerics.log_softmax(scores, temperature)
    probs = numerics.softmax(scores, temperature)
    usable = probs > 1e-300
    assert_allclose(log_probs[usable], np.log(probs[usable]), rtol=1e-12, atol=1e-12)


@given(score_arrays, temperatures)
@settings(max_examples=200)
def test_agrees_with_scipy(scores, temperature):
    # Both sides get the same scaled input; dividing x and max x by T separately,
    # as scipy would, rounds differently (our order is the more accurate one).
    scaled = (scores - scores.max(axis=1, keepdims=True)) / temperature
    assert_allclose(
        numerics.softmax(scores, temperature),
        special.softmax(scaled, axis=1),
        rtol=1e-13,
        atol=1e-300,
    )
    assert_allclose(
        numerics.log_softmax(scores, temperature),
        special.log_softmax(scaled, axis=1),
        rtol=1e-13,
        atol=1e-12,
    )


@given(score_arrays)
def test_agrees_with_scipy_on_raw_scores_at_unit_temperature(scores):
    assert_allclose(
        numerics.softmax(scores), special.softmax(scores, axis=1), rtol=1e-13, atol=1e-300
    )


@given(arrays(np.float64, st.integers(2, 10), elements=finite, unique=True))
def test_tiny_temperature_approaches_one_hot_of_the_argmax(vector):
    probs = numerics.softmax(vector[np.newaxis, :], 1e-9)[0]
    if np.sort(vector)[-1] - np.sort(vector)[-2] > 1e-6:
        assert_array_equal(probs, np.eye(vector.size)[np.argmax(vector)])


@given(arrays(np.float64, st.integers(1, 10), elements=finite))
def test_huge_temperature_approaches_uniform(vector):
    probs = numerics.softmax(vector[np.newaxis, :], 1e12)[0]
    assert_allclose(probs, 1.0 / vector.size, rtol=1e-8)


def test_the_seed_example():
    x = np.array([[3.0, 1.0, 0.2]])
    expected = np.exp(x) / np.exp(x).sum()
    assert_allclose(numerics.softmax(x), expected, rtol=1e-15)


def test_large_gap_gives_an_exact_finite_log_probability():
    assert_array_equal(numerics.log_softmax(np.array([[1000.0, 0.0]])), [[0.0, -1000.0]])
    assert_array_equal(numerics.softmax(np.array([[1000.0, 0.0]])), [[1.0, 0.0]])


def test_minus_infinity_masks_a_class():
    probs = numerics.softmax(np.array([[-np.inf, 0.0, 0.0]]))
    assert_array_equal(probs, [[0.0, 0.5, 0.5]])
    log_probs = numerics.log_softmax(np.array([[-np.inf, 0.0, 0.0]]))
    assert log_probs[0, 0] == -np.inf
    assert_allclose(log_probs[0, 1:], math.log(0.5))


def test_plus_infinity_takes_the_limit_shared_equally():
    probs = numerics.softmax(np.array([[np.inf, 1.0, np.inf, -np.inf]]))
    assert_array_equal(probs, [[0.5, 0.0, 0.5, 0.0]])
    log_probs = numerics.log_softmax(np.array([[np.inf, 1.0, np.inf]]))
    assert_allclose(log_probs, [[math.log(0.5), -np.inf, math.log(0.5)]])


def test_subnormal_temperature_does_not_overflow():
    with np.errstate(all="raise"):
        probs = numerics.softmax(np.array([[1.0, 0.5, 1.0]]), 1e-310)
    assert_array_equal(probs, [[0.5, 0.0, 0.5]])


def test_nan_is_an_error_naming_the_row():
    with pytest.raises(RowError) as caught:
        numerics.softmax(np.array([[1.0, 2.0], [np.nan, 1.0]]))
    assert caught.value.row == 1


def test_a_row_of_only_minus_infinity_is_an_error():
    with pytest.raises(RowError) as caught:
        numerics.log_softmax(np.array([[1.0, 2.0], [-np.inf, -np.inf]]))
    assert caught.value.row == 1


def test_cross_entropy_by_hand():
    log_probs = numerics.log_softmax(np.array([[2.0, 1.0, 0.1]]))
    terms = numerics.cross_entropy_labels(log_probs, np.array([0]))
    by_hand = -2.0 + math.log(math.exp(2.0) + math.exp(1.0) + math.exp(0.1))
    assert_allclose(terms.losses, [by_hand], rtol=1e-15)


def test_cross_entropy_of_a_large_logit_gap_is_the_gap():
    log_probs = numerics.log_softmax(np.array([[1000.0, 0.0]]))
    assert numerics.cross_entropy_labels(log_probs, np.array([1])).losses[0] == 1000.0


def test_label_smoothing_and_weights_follow_pytorch_formula_by_hand():
    scores = np.array([[1.0, 2.0, 0.5], [0.3, -1.0, 2.0]])
    labels = np.array([1, 0])
    weights = np.array([0.2, 1.0, 3.0])
    eps = 0.1
    log_probs = numerics.log_softmax(scores)
    terms = numerics.cross_entropy_labels(
        log_probs, labels, class_weights=weights, label_smoothing=eps
    )
    expected = []
    for row, y in enumerate(labels):
        nll = -weights[y] * log_probs[row, y]
        smooth = -(weights * log_probs[row]).sum()
        expected.append((1 - eps) * nll + eps / 3 * smooth)
    assert_allclose(terms.losses, expected, rtol=1e-14)
    assert_allclose(terms.weights, weights[labels])


def test_ignored_rows_add_nothing():
    log_probs = numerics.log_softmax(np.array([[1.0, 2.0], [3.0, 1.0]]))
    terms = numerics.cross_entropy_labels(
        log_probs, np.array([0, -100]), ignored=np.array([False, True])
    )
    assert terms.losses[1] == 0.0 and terms.weights[1] == 0.0


def test_soft_targets_with_a_one_hot_target_equal_the_label_loss():
    log_probs = numerics.log_softmax(np.array([[1.0, 2.0, 0.5]]))
    soft = numerics.cross_entropy_targets(log_probs, np.array([[0.0, 1.0, 0.0]]))
    hard = numerics.cross_entropy_labels(log_probs, np.array([1]))
    assert_allclose(soft.losses, hard.losses, rtol=1e-15)


def test_a_masked_class_with_zero_target_adds_nothing():
    log_probs = numerics.log_softmax(np.array([[-np.inf, 1.0, 2.0]]))
    soft = numerics.cross_entropy_targets(log_probs, np.array([[0.0, 0.5, 0.5]]))
    assert math.isfinite(soft.losses[0])


def test_a_gap_wider_than_float64_still_gives_the_scaled_answer() -> None:
    """1e308 - -1e308 overflows, but (x - max)/T fits when T is large: divide first there."""
    from softmax_cli import numerics

    scores = np.array([[1e308, -1e308]])
    probs = numerics.softmax(scores, 1e308)
    expected = np.exp([0.0, -2.0]) / np.exp([0.0, -2.0]).sum()
    np.testing.assert_allclose(probs[0], expected, rtol=1e-14)
    np.testing.assert_allclose(numerics.log_softmax(scores, 2.0)[0], [0.0, -1e308], rtol=1e-14)


@settings(max_examples=80, deadline=None)
@given(
    arrays(
        np.float64,
        st.tuples(st.integers(1, 40), st.integers(1, 10)),
        elements=st.floats(-1e300, 1e300) | st.sampled_from([0.0, -0.0, np.inf, -np.inf, 5e-324]),
    ),
    st.sampled_from([1.0, 0.25, 3.0]),
)
def test_narrow_rows_give_the_bits_of_row_wise_reductions(scores, temperature):
    scores = scores[~np.isneginf(scores).all(axis=1)]
    if not scores.shape[0]:
        return
    with np.errstate(all="ignore"):
        shifted = scores - np.where(np.isfinite(m := scores.max(axis=1, keepdims=True)), m, 0.0)
        if temperature != 1.0:
            lost = np.isneginf(shifted) & np.isfinite(scores)
            shifted = shifted / temperature
            shifted[lost] = (scores / temperature - m / temperature)[lost]
        exps = np.exp(shifted)
        probs = exps / exps.sum(axis=1, keepdims=True)
        rest = exps.copy()
        rest[np.arange(rest.shape[0]), scores.argmax(axis=1)] = 0.0  # the max term, exactly 1
        logs = shifted - np.log1p(rest.sum(axis=1, keepdims=True))
    finite_rows = ~np.isposinf(scores).any(axis=1)
    got_probs = numerics.softmax(scores, temperature)[finite_rows]
    got_logs = numerics.log_softmax(scores, temperature)[finite_rows]
    assert got_probs.tobytes() == probs[finite_rows].tobytes()
    assert got_logs.tobytes() == logs[finite_rows].tobytes()


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 40).flatmap(
        lambda width: arrays(
            np.float64,
            st.tuples(st.integers(1, 6), st.just(width)),
            elements=st.floats(allow_nan=False) | st.sampled_from([-0.0, np.inf, -np.inf]),
        )
    )
)
def test_the_column_wise_row_maximum_is_numpys_maximum(scores):
    # softmax finds the maximum a column at a time on narrow rows; it must be the same
    # number (a -0.0 for 0.0 would not change any probability).
    assert_array_equal(numerics._row_max(scores)[:, 0], scores.max(axis=1))
    assert numerics._row_max(scores).shape == (scores.shape[0], 1)
