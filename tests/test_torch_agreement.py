"""Cross-entropy against PyTorch itself, where it is installed."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from softmax_cli import numerics

torch = pytest.importorskip("torch")
functional = torch.nn.functional

rng = np.random.default_rng(7)
SCORES = rng.normal(0, 3, (9, 5))
LABELS = np.array([0, 4, 2, 2, 1, 3, 0, 4, 1])
WEIGHTS = np.array([0.5, 2.0, 1.0, 0.1, 3.0])


def _ours(reduction, weights=None, smoothing=0.0, ignored=None):
    log_probs = numerics.log_softmax(SCORES)
    terms = numerics.cross_entropy_labels(
        log_probs, LABELS, class_weights=weights, label_smoothing=smoothing, ignored=ignored
    )
    if reduction == "none":
        return terms.losses
    if reduction == "sum":
        return terms.losses.sum()
    return terms.losses.sum() / terms.weights.sum()


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weights", [None, WEIGHTS])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_labels_match_torch(reduction, weights, smoothing):
    expected = functional.cross_entropy(
        torch.tensor(SCORES),
        torch.tensor(LABELS),
        weight=None if weights is None else torch.tensor(weights),
        label_smoothing=smoothing,
        reduction=reduction,
    ).numpy()
    assert_allclose(_ours(reduction, weights, smoothing), expected, rtol=1e-12)


@pytest.mark.parametrize("weights", [None, WEIGHTS])
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_ignore_index_matches_torch(weights, smoothing):
    labels = LABELS.copy()
    labels[[1, 5]] = -100
    expected = functional.cross_entropy(
        torch.tensor(SCORES),
        torch.tensor(labels),
        weight=None if weights is None else torch.tensor(weights),
        label_smoothing=smoothing,
        ignore_index=-100,
    ).numpy()
    log_probs = numerics.log_softmax(SCORES)
    ignored = labels == -100
    terms = numerics.cross_entropy_labels(
        log_probs,
        np.where(ignored, 0, labels),
        class_weights=weights,
        label_smoothing=smoothing,
        ignored=ignored,
    )
    assert_allclose(terms.losses.sum() / terms.weights.sum(), expected, rtol=1e-12)


@pytest.mark.parametrize("weights", [None, WEIGHTS])
@pytest.mark.parametrize("smoothing", [0.0, 0.25])
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_soft_targets_match_torch(weights, smoothing, reduction):
    targets = rng.dirichlet(np.ones(5), size=9)
    expected = functional.cross_entropy(
        torch.tensor(SCORES),
        torch.tensor(targets),
        weight=None if weights is None else torch.tensor(weights),
        label_smoothing=smoothing,
        reduction=reduction,
    ).numpy()
    terms = numerics.cross_entropy_targets(
        numerics.log_softmax(SCORES), targets, class_weights=weights, label_smoothing=smoothing
    )
    ours = terms.losses if reduction == "none" else terms.losses.sum() / terms.weights.sum()
    assert_allclose(ours, expected, rtol=1e-12)
