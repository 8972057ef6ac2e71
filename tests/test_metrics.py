"""Metrics and temperature scaling against hand-computed cases and independent formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import optimize, special

from softmax_cli import metrics

# Two rows whose probabilities are easy by hand: [1/2, 1/2] and [3/4, 1/4].
HAND_SCORES = np.array([[0.0, 0.0], [math.log(3.0), 0.0]])
HAND_LABELS = np.array([0, 1])


# --- independent references (SciPy and plain loops, nothing from softmax_cli) -


def reference_report(scores, labels, bins, temperature=1.0, top_k=(1,)):
    """Every metric written out directly from its definition."""
    n = scores.shape[0]
    scaled = scores / temperature
    probs = special.softmax(scaled, axis=1)
    log_probs = special.log_softmax(scaled, axis=1)
    rows = np.arange(n)
    predicted = np.argmax(scores, axis=1)
    correct = (predicted == labels).astype(float)
    onehot = np.eye(scores.shape[1])[labels]
    order = np.argsort(-scores, axis=1, kind="stable")
    confidence = probs[rows, predicted]
    edges = np.linspace(0, 1, bins + 1)
    ece, mce = 0.0, 0.0
    for lower, upper in zip(edges[:-1], edges[1:], strict=True):
        inside = (confidence > lower) & (confidence <= upper)
        if inside.any():
            gap = abs(correct[inside].mean() - confidence[inside].mean())
            ece += inside.mean() * gap
            mce = max(mce, gap)
    return {
        "nll": -log_probs[rows, labels].mean(),
        "accuracy": correct.mean(),
        "top_k": {k: np.mean([labels[i] in order[i, :k] for i in range(n)]) for k in top_k},
        "brier": ((probs - onehot) ** 2).sum(axis=1).mean(),
        "ece": ece,
        "mce": mce,
        "mean_entropy": special.entr(probs).sum(axis=1).mean(),
    }


def sample_labels(probs, rng):
    """One label per row drawn from that row's probabilities (inverse CDF)."""
    return (probs.cumsum(axis=1) > rng.random((probs.shape[0], 1))).argmax(axis=1)


def mean_nll(scores, labels, temperature):
    log_probs = special.log_softmax(scores / temperature, axis=1)
    return -log_probs[np.arange(scores.shape[0]), labels].mean()


# --- hand-computed ------------------------------------------------------------


def test_hand_case_nll_accuracy_and_perplexity():
    report = metrics.evaluate(HAND_SCORES, HAND_LABELS, bins=2, top_k=(1, 2))
    # -log(1/2) and -log(1/4): mean 1.5 log 2, perplexity 2 sqrt 2.
    assert report.nll == pytest.approx(1.5 * math.log(2.0), rel=1e-15)
    assert report.perplexity == pytest.approx(2.0 * math.sqrt(2.0), rel=1e-15)
    # Row 1 ties: the first class is the prediction (as argmax), which is right.
    assert report.accuracy == 0.5
    assert report.top_k == {1: 0.5, 2: 1.0}


def test_hand_case_brier_and_entropy():
    report = metrics.evaluate(HAND_SCORES, HAND_LABELS, bins=2)
    # (1/2 - 1)^2 + (1/2)^2 = 1/2 and (3/4)^2 + (1/4 - 1)^2 = 9/8.
    assert report.brier == pytest.approx((0.5 + 9 / 8) / 2, rel=1e-15)
    second = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    assert report.mean_entropy == pytest.approx((math.log(2.0) + second) / 2, rel=1e-15)


def test_hand_case_ece_and_mce_with_two_bins():
    report = metrics.evaluate(HAND_SCORES, HAND_LABELS, bins=2)
    # Confidence 1/2 (on the edge: first bin) is right; confidence 3/4 is wrong.
    first, second = report.bins
    assert (first.count, first.confidence, first.accuracy) == (1, 0.5, 1.0)
    assert second.count == 1 and second.accuracy == 0.0
    assert second.confidence == pytest.approx(0.75, rel=1e-15)
    assert report.ece == pytest.approx(0.5 * 0.5 + 0.5 * 0.75, rel=1e-15)
    assert report.mce == pytest.approx(0.75, rel=1e-15)


def test_a_confidence_on_a_bin_edge_belongs_to_the_bin_below():
    # 0.7 * 10 rounds to 7.000000000000001; the bin must still be (0.6, 0.7].
    found = metrics.confidence_bins(np.array([0.7, 0.1, 0.05, 1.0, 0.3]), 10)
    assert_array_equal(found, [6, 0, 0, 9, 2])


def test_empty_bins_have_no_confidence_and_do_not_count_in_mce():
    report = metrics.evaluate(HAND_SCORES, HAND_LABELS, bins=4)
    assert [item.count for item in report.bins] == [0, 1, 1, 0]
    assert math.isnan(report.bins[0].confidence)
    assert report.mce == pytest.approx(0.75, rel=1e-15)


def test_top_k_ties_go_to_the_lower_class_index_as_argmax_does():
    scores = np.array([[1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [0.0, 2.0, 2.0]])
    labels = np.array([0, 2, 2])
    assert_array_equal(metrics.label_ranks(scores, labels), [0, 2, 1])
    report = metrics.evaluate(scores, labels, top_k=(1, 2, 3))
    assert report.top_k == {1: pytest.approx(1 / 3), 2: pytest.approx(2 / 3), 3: 1.0}
    assert report.top_k[1] == report.accuracy


def test_a_masked_label_makes_the_nll_infinite():
    report = metrics.evaluate(np.array([[0.0, -np.inf]]), np.array([1]))
    assert report.nll == math.inf and report.perplexity == math.inf
    assert report.accuracy == 0.0


# --- against the references ------------------------------------------------------


@pytest.mark.parametrize("temperature", [0.5, 1.0, 3.0])
def test_every_metric_agrees_with_the_reference(temperature):
    rng = np.random.default_rng(11)
    scores = rng.normal(0, 2.5, (400, 7))
    labels = rng.integers(0, 7, 400)
    report = metrics.evaluate(scores, labels, bins=10, temperature=temperature, top_k=(1, 3))
    expected = reference_report(scores, labels, 10, temperature, top_k=(1, 3))
    for name in ("nll", "accuracy", "brier", "ece", "mce", "mean_entropy"):
        assert_allclose(getattr(report, name), expected[name], rtol=1e-12, err_msg=name)
    assert report.top_k == pytest.approx(expected["top_k"], rel=1e-15)


def test_streaming_in_blocks_gives_the_same_report_as_one_block():
    rng = np.random.default_rng(5)
    scores = rng.normal(0, 3, (1000, 4))
    labels = rng.integers(0, 4, 1000)
    accumulator = metrics.Accumulator(bins=15, top_k=(1, 2))
    for start, stop in [(0, 1), (1, 250), (250, 251), (251, 1000)]:
        accumulator.add(scores[start:stop], labels[start:stop])
    whole = metrics.evaluate(scores, labels, bins=15, top_k=(1, 2))
    streamed = accumulator.report()
    assert streamed.rows == whole.rows == 1000
    for name in ("nll", "accuracy", "brier", "ece", "mce", "mean_entropy"):
        assert_allclose(getattr(streamed, name), getattr(whole, name), rtol=1e-13)
    assert [b.count for b in streamed.bins] == [b.count for b in whole.bins]


def test_ece_of_perfectly_calibrated_data_is_near_zero():
    # Labels drawn from the predicted probabilities: each bin's accuracy is an
    # average of Bernoulli(confidence) draws, so E|gap_m| <= sqrt(1/(4 n_m)) and
    # by Cauchy-Schwarz E[ECE] <= sqrt(M / n) / 2 (0.0061 here); allow 3x that.
    rng = np.random.default_rng(2024)
    n, bins = 100_000, 15
    scores = rng.normal(0, 2, (n, 5))
    labels = sample_labels(special.softmax(scores, axis=1), rng)
    report = metrics.evaluate(scores, labels, bins=bins)
    bound = 1.5 * math.sqrt(bins / n)
    assert report.ece < bound
    # The same labels against overconfident scores (twice as sharp) are far off.
    sharp = metrics.evaluate(2 * scores, labels, bins=bins)
    assert sharp.ece > 5 * bound


# --- temperature scaling ----------------------------------------------------------


def test_nll_derivatives_match_finite_differences_of_the_reference_nll():
    rng = np.random.default_rng(3)
    scores = rng.normal(0, 2, (300, 6))
    labels = rng.integers(0, 6, 300)
    beta, h = 0.7, 1e-5

    def total(b):
        return 300 * mean_nll(scores, labels, 1 / b)

    first, second = metrics.nll_derivatives(scores, labels, beta)
    assert_allclose(first, (total(beta + h) - total(beta - h)) / (2 * h), rtol=1e-6)
    expected_second = (total(beta + h) - 2 * total(beta) + total(beta - h)) / h**2
    assert_allclose(second, expected_second, rtol=1e-4)


def test_fitted_temperature_is_the_minimiser_of_the_reference_nll():
    rng = np.random.default_rng(8)
    scores = rng.normal(0, 3, (2000, 5))
    labels = sample_labels(special.softmax(scores / 1.7, axis=1), rng)
    fit = metrics.fit_temperature(scores, labels)
    found = optimize.minimize_scalar(
        lambda log_t: mean_nll(scores, labels, math.exp(log_t)),
        bounds=(-5, 5),
        method="bounded",
        options={"xatol": 1e-10},
    )
    assert_allclose(fit.temperature, math.exp(found.x), rtol=1e-6)
    assert mean_nll(scores, labels, fit.temperature) <= found.fun + 1e-12


@pytest.mark.parametrize("true_temperature", [0.5, 2.0])
def test_calibrate_recovers_a_known_temperature(true_temperature):
    # Labels sampled from softmax(x / T*): the fit is a maximum-likelihood
    # estimate of beta = 1/T*, with standard error 1/sqrt(sum_i Var_p(s)) from
    # the Fisher information (computed here with SciPy), so T has standard
    # error T^2 * se(beta).  A fixed seed, and 4 standard errors of slack.
    rng = np.random.default_rng(20)
    n = 50_000
    scores = rng.normal(0, 3, (n, 10))
    labels = sample_labels(special.softmax(scores / true_temperature, axis=1), rng)
    fit = metrics.fit_temperature(scores, labels)
    probs = special.softmax(scores / fit.temperature, axis=1)
    mean = (probs * scores).sum(axis=1, keepdims=True)
    information = (probs * (scores - mean) ** 2).sum()
    standard_error = fit.temperature**2 / math.sqrt(information)
    assert standard_error < 0.02 * true_temperature  # n is large enough to mean something
    assert abs(fit.temperature - true_temperature) < 4 * standard_error
    # Bracketing takes a few doublings, then Newton converges quadratically.
    assert fit.iterations <= 12


def test_at_the_fitted_temperature_mean_entropy_equals_the_nll():
    # The optimality condition mean E_p[x] = mean x_y makes the mean NLL and
    # the mean entropy equal: -log p_y - H(p) = beta * (E_p[x] - x_y).
    rng = np.random.default_rng(9)
    scores = rng.normal(0, 4, (3000, 8))
    labels = sample_labels(special.softmax(scores / 3.0, axis=1), rng)
    fit = metrics.fit_temperature(scores, labels)
    after = metrics.evaluate(scores, labels, temperature=fit.temperature)
    assert_allclose(after.mean_entropy, after.nll, rtol=1e-9)


def test_temperature_scaling_leaves_accuracy_and_the_arg_max_unchanged():
    rng = np.random.default_rng(4)
    scores = rng.normal(0, 3, (5000, 6))
    labels = rng.integers(0, 6, 5000)
    labels[:3000] = scores[:3000].argmax(axis=1)
    fit = metrics.fit_temperature(scores, labels)
    before = metrics.evaluate(scores, labels)
    after = metrics.evaluate(scores, labels, temperature=fit.temperature)
    assert after.accuracy == before.accuracy
    calibrated = special.softmax(scores / fit.temperature, axis=1)
    assert_array_equal(calibrated.argmax(axis=1), scores.argmax(axis=1))


def test_rows_a_temperature_cannot_change_are_left_out_of_the_fit():
    rng = np.random.default_rng(6)
    scores = rng.normal(0, 3, (2000, 4))
    labels = sample_labels(special.softmax(scores / 2.0, axis=1), rng)
    plain = metrics.fit_temperature(scores, labels)
    extra = np.array([[np.inf, 0.0, 0.0, 0.0], [0.0, -np.inf, 1.0, 2.0]])
    fit = metrics.fit_temperature(np.vstack([scores, extra]), np.concatenate([labels, [1, 1]]))
    assert fit.rows_fitted == 2000
    assert_allclose(fit.temperature, plain.temperature, rtol=1e-12)


@pytest.mark.parametrize("spread", [1.0, 1000.0])
def test_fit_fails_when_every_label_is_the_top_score(spread):
    # With spread 1000 the probabilities are already exactly one-hot at T = 1.
    scores = spread * np.array([[3.0, 1.0, 0.0], [0.0, 2.0, 1.0]])
    with pytest.raises(metrics.FitError, match="T -> 0"):
        metrics.fit_temperature(scores, scores.argmax(axis=1))


def test_fit_fails_when_the_scores_point_away_from_the_labels():
    scores = np.array([[3.0, 1.0, 0.0], [0.0, 2.0, 1.0]])
    with pytest.raises(metrics.FitError, match="no better than uniform"):
        metrics.fit_temperature(scores, scores.argmin(axis=1))
