"""Log-softmax, log-sum-exp and 1 - max p against mpmath at 60 digits.

The cases of the README's "Numbers at the edges" table first, then properties
over gaps of 0 to 745 (where exp underflows), 2 to 5,000 classes and
temperatures from 1e-3 to 1e3.
"""

from __future__ import annotations

import math

import exact
import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from softmax_cli import metrics, numerics

RELATIVE = 1e-12

EDGE_CASES = [
    [0.0, -40.0],
    [0.0, -30.0],
    [3.0, -32.0, -47.0],
    [50.0] + [0.0] * 999,
    [0.0, -745.0],
    [0.0, -708.0],
    [1e300, -1e300],
    [2.0, 2.0, -40.0],
    [5.0, 5.0, 5.0],
]


def _floor(classes: int) -> float:
    return classes * exact.SUBNORMAL_STEP


@pytest.mark.parametrize("row", EDGE_CASES, ids=lambda row: f"{row[:3]}x{len(row)}")
def test_every_finite_log_probability_is_exact_to_1e12_relative(row):
    scores = np.array([row])
    worst = exact.worst_relative_error(
        numerics.log_softmax(scores)[0], exact.log_softmax(scores[0]), _floor(len(row))
    )
    assert worst <= RELATIVE


def test_the_top_class_of_a_confident_row_is_not_rounded_to_zero():
    log_probs = numerics.log_softmax(np.array([[0.0, -40.0]]))[0]
    assert log_probs[0] == pytest.approx(-math.exp(-40.0), rel=1e-15)
    assert log_probs[0] != 0.0


def test_a_tie_for_the_maximum_gives_exactly_minus_log_two():
    log_probs = numerics.log_softmax(np.array([[7.0, 7.0, -1e4]]))[0]
    assert log_probs[0] == log_probs[1] == -math.log(2.0)


def test_masks_stay_minus_inf_and_plus_inf_takes_the_limit():
    log_probs = numerics.log_softmax(np.array([[0.0, -np.inf, -40.0], [np.inf, 1.0, np.inf]]))
    assert log_probs[0, 1] == -np.inf
    assert log_probs[0, 0] == pytest.approx(-math.exp(-40.0), rel=1e-15)
    assert log_probs[1].tolist() == [-math.log(2.0), -np.inf, -math.log(2.0)]


def _rows(draw_classes: int, top: float, gaps: list[float], temperature: float) -> np.ndarray:
    """A row whose scaled gaps below the maximum are ``gaps`` (0 is a tie, inf a mask)."""
    row = np.array([top - gap * temperature for gap in gaps[: draw_classes - 1]] + [top])
    return row[np.random.default_rng(draw_classes).permutation(row.size)]


gaps = st.one_of(
    st.just(0.0),
    st.just(math.inf),
    st.floats(0.0, 745.0),
    st.floats(-14.0, math.log10(745.0)).map(lambda e: 10.0**e),
)
classes = st.one_of(st.integers(2, 12), st.sampled_from([100, 1000, 5000]), st.integers(2, 5000))
temperatures = st.floats(-3.0, 3.0).map(lambda e: 10.0**e)
tops = st.floats(-1e4, 1e4)


@settings(max_examples=60)
@given(classes, st.lists(gaps, min_size=1, max_size=64), temperatures, tops, st.data())
def test_log_probabilities_are_exact_to_1e12_relative(k, gap_list, temperature, top, data):
    gap_list = (gap_list * (k // len(gap_list) + 1))[: k - 1]
    row = _rows(k, top, gap_list, temperature)
    worst = exact.worst_relative_error(
        numerics.log_softmax(row[np.newaxis, :], temperature)[0],
        exact.log_softmax(row, temperature),
        _floor(k),
    )
    assert worst <= RELATIVE


@settings(max_examples=60)
@given(classes, st.lists(gaps, min_size=1, max_size=64), temperatures, tops)
def test_probabilities_are_as_accurate_as_before(k, gap_list, temperature, top):
    gap_list = (gap_list * (k // len(gap_list) + 1))[: k - 1]
    row = _rows(k, top, gap_list, temperature)
    probs = numerics.softmax(row[np.newaxis, :], temperature)[0]
    want = np.array([float(p) for p in exact.softmax(row, temperature)])
    # exp turns the two roundings of z = (x - max)/T into up to 2 * 745 * 2^-53 = 1.7e-13
    # relative; then the division. Subnormals are compared on their grid.
    np.testing.assert_allclose(probs, want, rtol=2e-13, atol=k * exact.SUBNORMAL_STEP)


@settings(max_examples=60)
@given(classes, st.lists(gaps, min_size=1, max_size=64), temperatures, tops)
def test_one_minus_the_top_probability_is_exact_to_1e12_relative(k, gap_list, temperature, top):
    gap_list = (gap_list * (k // len(gap_list) + 1))[: k - 1]
    row = _rows(k, top, gap_list, temperature)
    got = numerics.top_complement(row[np.newaxis, :], temperature)[0]
    with mpmath.workdps(exact.DIGITS):
        want = exact.top_complement(row, temperature)
        error = abs(mpmath.mpf(got) - want)
        assert error <= k * exact.SUBNORMAL_STEP or error <= RELATIVE * abs(want)


# --- log-sum-exp ---------------------------------------------------------------


def _logsumexp_error(row: np.ndarray, temperature: float) -> float:
    """Relative error against the larger of the result and ``|max/T|``: the two terms
    of ``max/T + log1p(rest)`` can cancel, and ``max/T`` itself is rounded once."""
    got = numerics.logsumexp(row[np.newaxis, :], temperature)[0]
    want, scale = exact.logsumexp(row, temperature)
    with mpmath.workdps(exact.DIGITS):
        error = abs(mpmath.mpf(got) - want)
        if error <= row.size * exact.SUBNORMAL_STEP:
            return 0.0  # a result below the normal range is on the subnormal grid
        return float(error / max(abs(want), scale))


@pytest.mark.parametrize(
    "row", [[0.0, -40.0], [0.0, -45.5, -50.0], [0.0] + [-60.0] * 100, [-3.0, -50.0, -41.0]]
)
def test_logsumexp_keeps_the_tiny_term_past_a_gap_of_40(row):
    got = numerics.logsumexp(np.array([row]))[0]
    want, _ = exact.logsumexp(np.array(row))
    assert abs(got - float(want)) <= 1e-13 * abs(float(want))
    if row[0] == 0.0:
        assert got > 0.0  # log(1 + tiny) rounded to 0 would lose it


@settings(max_examples=60)
@given(classes, st.lists(gaps, min_size=1, max_size=64), temperatures, tops)
def test_logsumexp_is_exact_to_1e13_relative(k, gap_list, temperature, top):
    gap_list = (gap_list * (k // len(gap_list) + 1))[: k - 1]
    row = _rows(k, top, gap_list, temperature)
    assert _logsumexp_error(row, temperature) <= 1e-13


def test_logsumexp_of_infinite_rows_is_their_limit():
    scores = np.array([[np.inf, 0.0], [-np.inf, -np.inf], [-np.inf, 0.0]])
    assert numerics.logsumexp(scores).tolist() == [np.inf, -np.inf, 0.0]


def test_logsumexp_of_a_nan_is_a_located_error():
    from softmax_cli.errors import RowError

    with pytest.raises(RowError) as raised:
        numerics.logsumexp(np.array([[1.0, 2.0], [0.0, np.nan]]))
    assert (raised.value.row, raised.value.column) == (1, 2)


# --- sums over many rows -------------------------------------------------------


def _spread_losses(rows: int, seed: int) -> np.ndarray:
    """Losses from 1e-18 to 1e6: a naive running sum over blocks loses the small ones."""
    rng = np.random.default_rng(seed)
    return 10.0 ** rng.uniform(-18, 6, rows)


def test_a_running_sum_over_blocks_agrees_with_fsum_to_1e14():
    # Blocks of one row: a plain running sum is 1.6e-13 off on these values.
    values = _spread_losses(300_000, 3)
    total = numerics.RunningSum()
    plain = 0.0
    for value in values:
        total.add(value)
        plain += value
    want = math.fsum(values.tolist())
    assert abs(plain - want) > 1e-14 * want  # the data is hard enough to tell
    assert abs(total.value - want) <= 1e-14 * want


@pytest.mark.slow
def test_a_running_sum_of_ten_million_rows_agrees_with_fsum_to_1e14():
    values = _spread_losses(10_000_000, 4)
    total = numerics.RunningSum()
    for start in range(0, values.size, 1 << 14):
        total.add(values[start : start + (1 << 14)])
    want = math.fsum(values.tolist())
    assert abs(total.value - want) <= 1e-14 * want


def _confident_blocks(rows: int, block: int, seed: int):
    """Blocks of 3-class scores and labels: mostly confident and right, some wrong."""
    rng = np.random.default_rng(seed)
    for start in range(0, rows, block):
        count = min(block, rows - start)
        scores = rng.normal(0, 1, (count, 3)) * 10.0 ** rng.uniform(-1, 1.7, (count, 1))
        yield scores, rng.integers(0, 3, count)


def _per_row_sums(blocks) -> tuple[metrics.Report, float, float, int]:
    """Evaluate's report over the blocks, and fsum of the per-row NLL and Brier."""
    accumulator = metrics.Accumulator()
    nll_rows, brier_rows = [], []
    rows = 0
    for scores, labels in blocks:
        accumulator.add(scores, labels)
        picked = np.arange(labels.size), labels
        nll_rows.append(-numerics.log_softmax(scores)[picked])
        residual = numerics.softmax(scores)
        residual[picked] -= 1.0
        brier_rows.append((residual**2).sum(axis=1))
        rows += labels.size
    nll, brier = np.concatenate(nll_rows), np.concatenate(brier_rows)
    return accumulator.report(), math.fsum(nll), math.fsum(brier), rows


def test_evaluates_nll_and_brier_agree_with_fsum_of_the_rows_to_1e14():
    report, nll, brier, rows = _per_row_sums(_confident_blocks(200_000, 16384, 8))
    assert report.nll == pytest.approx(nll / rows, rel=1e-14, abs=0)
    assert report.brier == pytest.approx(brier / rows, rel=1e-14, abs=0)


def test_one_huge_loss_then_many_small_ones_keep_their_digits():
    # A running float sum near 1e6 rounds each small row to 1.2e-10: 1.5e-13 off by the end.
    huge = (np.array([[1e6, 0.0, 0.0]]), np.array([1]))
    small = [(np.array([[1.0, 0.7, 0.0]]), np.array([0]))] * 5000
    report, nll, _, rows = _per_row_sums([huge, *small])
    assert report.nll == pytest.approx(nll / rows, rel=1e-14, abs=0)


@pytest.mark.slow
def test_evaluates_nll_and_brier_over_ten_million_rows_agree_with_fsum_to_1e14():
    report, nll, brier, rows = _per_row_sums(_confident_blocks(10_000_000, 16384, 9))
    assert rows == 10_000_000
    assert report.nll == pytest.approx(nll / rows, rel=1e-14, abs=0)
    assert report.brier == pytest.approx(brier / rows, rel=1e-14, abs=0)


def test_cross_entropys_sum_and_mean_agree_with_fsum_of_its_rows(tmp_path):
    from typer.testing import CliRunner

    from softmax_cli.cli import app

    blocks = list(_confident_blocks(30_000, 30_000, 10))
    scores, labels = blocks[0]
    path = tmp_path / "scores.csv"
    np.savetxt(path, np.column_stack([scores, labels]), delimiter=",", fmt="%.17g")
    common = ["xent", "-i", str(path), "--label-column", "3", "-o", "csv", "--no-header"]
    runner = CliRunner()
    rows = [float(v) for v in runner.invoke(app, [*common, "--reduction", "none"]).stdout.split()]
    [total] = runner.invoke(app, [*common, "--reduction", "sum"]).stdout.split()
    [mean] = runner.invoke(app, [*common, "--reduction", "mean"]).stdout.split()
    assert len(rows) == 30_000
    assert float(total) == pytest.approx(math.fsum(rows), rel=1e-14, abs=0)
    assert float(mean) == pytest.approx(math.fsum(rows) / len(rows), rel=1e-14, abs=0)
