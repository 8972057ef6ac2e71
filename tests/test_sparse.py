"""Sparsemax and α-entmax against independent references: the sorting formula written
out per row, the KKT conditions, a grid of the simplex, mpmath bisection, and the
``entmax`` package where it is installed."""

from __future__ import annotations

import itertools

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from softmax_cli import numerics, sparse
from softmax_cli.errors import RowError

rng = np.random.default_rng(16)


def reference_sparsemax(z: list[float]) -> list[float]:
    """Held's sorting formula, one row at a time in plain Python."""
    ordered = sorted(z, reverse=True)
    total = 0.0
    support, support_sum = 0, 0.0
    for k, value in enumerate(ordered, start=1):
        total += value
        if 1 + k * value > total:
            support, support_sum = k, total
    tau = (support_sum - 1) / support
    return [max(value - tau, 0.0) for value in z]


def mp_entmax(z: list[float], alpha: float, digits: int = 50) -> list[float]:
    """α-entmax by bisection in ``digits`` decimal digits: the threshold to far below float64."""
    with mpmath.workdps(digits):
        a = mpmath.mpf(alpha)
        x = [(a - 1) * mpmath.mpf(v) for v in z if v != -np.inf]
        top = max(x)
        x = [v - top for v in x]
        low, high = mpmath.mpf(-1), mpmath.mpf(0)
        power = 1 / (a - 1)
        for _ in range(digits * 4):
            middle = (low + high) / 2
            if sum(max(v - middle, 0) ** power for v in x) >= 1:
                low = middle
            else:
                high = middle
        values = iter([max(v - low, 0) ** power for v in x])
        out = [0.0 if v == -np.inf else next(values) for v in z]
        total = sum(out)
        return [float(v / total) for v in out]


VECTORS = [
    [2.0, 1.0, 0.1],
    [2.0, 1.5, 0.1, -1.0],
    [0.0, 0.0, 0.0, 0.0],
    [3.0, 3.0, -np.inf, 1.0],
    [1e-9, 0.0, -1e-9],
    [10.0, -10.0],
    *rng.normal(0, 1.5, (20, 7)).tolist(),
]


@pytest.mark.parametrize("z", VECTORS)
def test_sparsemax_matches_the_sorting_formula_row_by_row(z: list[float]) -> None:
    ours = sparse.sparsemax(np.array([z]))[0]
    assert_allclose(ours, reference_sparsemax(z), rtol=0, atol=1e-14)


def test_sparsemax_of_a_block_is_each_row_alone() -> None:
    block = rng.normal(0, 2, (300, 9))
    expected = np.array([reference_sparsemax(row) for row in block.tolist()])
    assert_allclose(sparse.sparsemax(block), expected, rtol=0, atol=1e-14)


@pytest.mark.parametrize("z", VECTORS)
def test_sparsemax_meets_the_kkt_conditions_of_the_projection(z: list[float]) -> None:
    """p = argmin ||p - z||² on the simplex iff z_i - p_i = τ where p_i > 0 and z_i <= τ else."""
    z_array = np.array(z)
    p = sparse.sparsemax(z_array[None, :])[0]
    finite = np.isfinite(z_array)
    shifted = z_array - z_array[finite].max()
    positive = p > 0
    tau = (shifted[positive] - p[positive]).mean()
    assert_allclose(shifted[positive] - p[positive], tau, atol=1e-13)
    assert np.all(shifted[~positive & finite] <= tau + 1e-13)
    assert abs(p.sum() - 1) <= 1e-12
    assert np.all(p >= 0)


def test_no_point_of_a_simplex_grid_is_closer_to_z_than_sparsemax() -> None:
    steps = 40
    grid = np.array(
        [
            (a / steps, b / steps, (steps - a - b) / steps)
            for a, b in itertools.product(range(steps + 1), repeat=2)
            if a + b <= steps
        ]
    )
    for z in rng.normal(0, 1, (25, 3)):
        p = sparse.sparsemax(z[None, :])[0]
        best = ((grid - z) ** 2).sum(axis=1).min()
        assert ((p - z) ** 2).sum() <= best + 1e-12


def test_sparsemax_gives_exact_zeros_and_the_temperature_scales_first() -> None:
    p = sparse.sparsemax(np.array([[2.0, 1.5, 0.1, -1.0]]))[0]
    assert p.tolist() == [0.75, 0.25, 0.0, 0.0]
    hot = sparse.sparsemax(np.array([[2.0, 1.5, 0.1, -1.0]]), temperature=10.0)[0]
    assert_allclose(hot, reference_sparsemax([0.2, 0.15, 0.01, -0.1]), atol=1e-15)


def test_plus_inf_shares_equally_and_minus_inf_gets_zero() -> None:
    scores = np.array([[np.inf, 1.0, np.inf, -np.inf], [0.0, -np.inf, 0.5, 0.2]])
    for alpha in (1.5, 1.3, 2.0, 3.0):
        p = sparse.entmax(scores, alpha)
        assert p[0].tolist() == [0.5, 0.0, 0.5, 0.0]
        assert p[1, 1] == 0.0


@pytest.mark.parametrize("alpha", [1.5, 2.0, 1.25])
def test_a_row_of_nan_or_only_minus_inf_is_a_row_error(alpha: float) -> None:
    with pytest.raises(RowError) as found:
        sparse.entmax(np.array([[1.0, 2.0], [np.nan, 1.0]]), alpha)
    assert found.value.row == 1
    with pytest.raises(RowError):
        sparse.entmax(np.array([[-np.inf, -np.inf]]), alpha)


@pytest.mark.parametrize("alpha", [1.5, 1.1, 1.25, 1.7, 2.5, 4.0])
@pytest.mark.parametrize("z", VECTORS[:8])
def test_entmax_matches_a_50_digit_bisection(alpha: float, z: list[float]) -> None:
    ours = sparse.entmax(np.array([z]), alpha)[0]
    assert_allclose(ours, mp_entmax(z, alpha), rtol=1e-12, atol=1e-15)


def test_entmax_near_one_approaches_softmax() -> None:
    z = rng.normal(0, 1, (5, 6))
    soft = numerics.softmax(z)
    gaps = [np.abs(sparse.entmax(z, 1 + eps) - soft).max() for eps in (0.1, 0.01, 0.001)]
    assert gaps[0] > gaps[1] > gaps[2]
    assert gaps[2] < 2e-3


def test_entmax_at_one_and_two_are_softmax_and_sparsemax() -> None:
    z = rng.normal(0, 1, (50, 6))
    assert np.array_equal(sparse.entmax(z, 1.0, 0.7), numerics.softmax(z, 0.7))
    assert np.array_equal(sparse.entmax(z, 2.0, 0.7), sparse.sparsemax(z, 0.7))
    expected = np.array([reference_sparsemax(row) for row in (z / 0.7).tolist()])
    assert_allclose(sparse.entmax(z, 2.0, 0.7), expected, atol=1e-14)


def test_the_thresholds_give_the_zeros() -> None:
    z = np.array([[2.0, 1.5, 0.1, -1.0]])
    for alpha in (1.5, 2.0, 1.3):
        found = sparse.thresholds(z, alpha)
        p = sparse.entmax(z, alpha)
        assert ((found.scaled > found.tau[:, None]) == (p > 0)).all()
        assert found.support.tolist() == [int((p > 0).sum())]


scores_with_ties = st.lists(
    st.sampled_from([-np.inf, -3.0, -1.0, -0.5, 0.0, 0.25, 1.0, 2.0]), min_size=1, max_size=9
).filter(lambda row: any(v != -np.inf for v in row))


@settings(max_examples=150, deadline=None)
@given(scores_with_ties, st.sampled_from([1.5, 2.0, 1.2, 1.8, 3.0]))
def test_entmax_rows_sum_to_one_with_exact_zeros_and_keep_ties(row, alpha) -> None:
    z = np.array([row])
    p = sparse.entmax(z, alpha)[0]
    assert abs(p.sum() - 1) <= 1e-12
    assert np.all(p >= 0)
    assert np.all(p[z[0] == -np.inf] == 0)
    for value in set(row):
        tied = p[z[0] == value]
        assert np.all(tied == tied[0])  # equal scores, equal probabilities
    order = np.argsort(z[0])
    assert np.all(np.diff(p[order]) >= -1e-15)  # order kept


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.floats(-20, 20), min_size=2, max_size=8),
    st.sampled_from([1.5, 2.0, 1.3]),
)
def test_entmax_agrees_with_the_mpmath_reference_on_random_rows(row, alpha) -> None:
    ours = sparse.entmax(np.array([row]), alpha)[0]
    assert_allclose(ours, mp_entmax(row, alpha, digits=40), rtol=1e-11, atol=1e-14)


# --- the entmax package, as an oracle ---------------------------------------------------


def test_entmax_package_agrees_where_installed() -> None:
    torch = pytest.importorskip("torch")
    entmax_package = pytest.importorskip("entmax")
    z = rng.normal(0, 2, (200, 8))
    z[::7, 3] = z[::7, 1]  # ties
    tensor = torch.tensor(z, dtype=torch.float64)
    assert_allclose(
        sparse.sparsemax(z), entmax_package.sparsemax(tensor, dim=-1).numpy(), atol=1e-13
    )
    assert_allclose(
        sparse.entmax(z, 1.5), entmax_package.entmax15(tensor, dim=-1).numpy(), atol=1e-13
    )
    for alpha in (1.25, 1.75):
        theirs = entmax_package.entmax_bisect(tensor, alpha=alpha, dim=-1, n_iter=100).numpy()
        assert_allclose(sparse.entmax(z, alpha), theirs, atol=1e-12)


def test_entmax_package_losses_agree_where_installed() -> None:
    torch = pytest.importorskip("torch")
    entmax_package = pytest.importorskip("entmax")
    z = rng.normal(0, 2, (100, 6))
    labels = rng.integers(0, 6, 100)
    tensor = torch.tensor(z, dtype=torch.float64)
    target = torch.tensor(labels)
    pairs = [
        (2.0, entmax_package.SparsemaxLoss(reduction="none")),
        (1.5, entmax_package.Entmax15Loss(reduction="none")),
        (1.25, entmax_package.EntmaxBisectLoss(alpha=1.25, n_iter=100, reduction="none")),
    ]
    for alpha, loss in pairs:
        ours, _ = sparse.entmax_loss(z, labels, alpha)
        assert_allclose(ours, loss(tensor, target).numpy(), atol=1e-12)


# --- losses, independently ----------------------------------------------------------


def test_sparsemax_loss_is_the_closed_form_of_martins_and_astudillo() -> None:
    """L(z, y) = -z_y + ½ Σ_{j in S} (z_j² - τ²) + ½."""
    for z in rng.normal(0, 1.5, (30, 5)):
        y = int(rng.integers(0, 5))
        p = np.array(reference_sparsemax(z.tolist()))
        support = p > 0
        tau = (z[support] - p[support]).mean()
        expected = -z[y] + 0.5 * ((z[support] ** 2) - tau**2).sum() + 0.5
        ours, picked = sparse.entmax_loss(z[None, :], np.array([y]), 2.0)
        assert_allclose(ours[0], expected, atol=1e-12)
        assert picked[0] == pytest.approx(p[y], abs=1e-14)


def test_the_loss_is_finite_where_the_label_has_probability_zero_and_zero_when_sure() -> None:
    z = np.array([[5.0, 0.0, -1.0], [5.0, 0.0, -1.0]])
    losses, picked = sparse.entmax_loss(z, np.array([2, 0]), 1.5)
    assert picked[0] == 0.0 and np.isfinite(losses[0]) and losses[0] > 0
    assert losses[1] == 0.0


def test_the_loss_at_alpha_one_is_the_cross_entropy() -> None:
    z = rng.normal(0, 1, (10, 4))
    labels = rng.integers(0, 4, 10)
    ours, _ = sparse.entmax_loss(z, labels, 1.0)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    assert_allclose(ours, -log_p[np.arange(10), labels], rtol=1e-13)


@pytest.mark.slow
def test_entmax15_and_sparsemax_handle_a_large_block_quickly() -> None:
    import time

    z = rng.normal(0, 1, (200_000, 10))
    start = time.perf_counter()
    sparse.entmax(z, 1.5)
    sparse.sparsemax(z)
    assert time.perf_counter() - start < 5
