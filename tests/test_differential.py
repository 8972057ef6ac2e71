"""The CLI's CSV output against scipy.special and PyTorch on random finite inputs.

Every operation, temperature and reduction goes through the real command
line (in-process) and is compared with an independent computation: SciPy's
``softmax``/``log_softmax`` of ``x / T``, PyTorch's semantics for
cross-entropy written out from its documentation on top of SciPy, and
``torch.nn.functional`` itself where torch is installed.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from numpy.testing import assert_allclose
from scipy import special
from typer.testing import CliRunner

from softmax_cli.cli import app

runner = CliRunner()

TEMPERATURES = [0.05, 0.5, 1.0, 3.0, 100.0]
REDUCTIONS = ["mean", "sum", "none"]
# Each case below is parametrized many ways: a fifth of the profile's examples for each
# keeps the default run short and still scales with HYPOTHESIS_PROFILE=long.
few = settings(max_examples=max(10, settings().max_examples // 5))

shapes = st.tuples(st.integers(1, 6), st.integers(2, 6))
scores = shapes.flatmap(
    lambda shape: arrays(np.float64, shape, elements=st.floats(-100, 100, allow_subnormal=False))
)


def as_csv(values: np.ndarray) -> bytes:
    return "".join(",".join(map(repr, row)) + "\n" for row in values.tolist()).encode()


def cli_csv(args: list[str], data: bytes) -> np.ndarray:
    result = runner.invoke(app, [*args, "-o", "csv"], input=data)
    assert result.exit_code == 0, result.stderr
    return np.array(
        [[float(value) for value in line.split(",")] for line in result.stdout.splitlines()]
    )


def close(actual: np.ndarray, expected: np.ndarray, x: np.ndarray, temperature: float) -> None:
    """Equal up to rounding of ``x / T``: both sides shift, in a different order."""
    scale = max(1.0, float(np.abs(x).max()) / temperature)
    assert_allclose(actual, expected, rtol=1e-11, atol=1e-13 * scale)


# --- softmax and log-softmax ---------------------------------------------------


@pytest.mark.parametrize("temperature", TEMPERATURES)
@few
@given(x=scores)
def test_probs_match_scipy_softmax(temperature, x):
    ours = cli_csv(["probs", "-t", repr(temperature)], as_csv(x))
    assert_allclose(ours, special.softmax(x / temperature, axis=1), rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("temperature", TEMPERATURES)
@few
@given(x=scores)
def test_logprobs_match_scipy_log_softmax(temperature, x):
    ours = cli_csv(["logprobs", "-t", repr(temperature)], as_csv(x))
    close(ours, special.log_softmax(x / temperature, axis=1), x, temperature)


# --- cross-entropy, written out from PyTorch's documented formula --------------


def reference_labels(x, labels, temperature, reduction, weights, smoothing, ignore):
    log_p = special.log_softmax(x / temperature, axis=1)
    classes = x.shape[1]
    w = np.ones(classes) if weights is None else np.asarray(weights)
    counted = labels != ignore if ignore is not None else np.ones(len(labels), bool)
    safe = np.where(counted, labels, 0)
    rows = np.arange(len(labels))
    losses = (1 - smoothing) * w[safe] * -log_p[rows, safe]
    losses += smoothing / classes * (w * -log_p).sum(axis=1)
    losses = np.where(counted, losses, 0.0)
    if reduction == "none":
        return losses
    if reduction == "sum":
        return np.array([losses.sum()])
    return np.array([losses.sum() / np.where(counted, w[safe], 0.0).sum()])


def reference_targets(x, targets, temperature, reduction, weights, smoothing):
    log_p = special.log_softmax(x / temperature, axis=1)
    classes = x.shape[1]
    w = np.ones(classes) if weights is None else np.asarray(weights)
    smoothed = (1 - smoothing) * targets + smoothing / classes
    losses = -(w * smoothed * log_p).sum(axis=1)
    if reduction == "none":
        return losses
    if reduction == "sum":
        return np.array([losses.sum()])
    return np.array([losses.mean()])


@st.composite
def labelled(draw: st.DrawFn):
    x = draw(scores)
    rows, classes = x.shape
    labels = np.array(draw(st.lists(st.integers(0, classes - 1), min_size=rows, max_size=rows)))
    weights = draw(
        st.one_of(st.none(), st.lists(st.floats(0.1, 5), min_size=classes, max_size=classes))
    )
    smoothing = draw(st.sampled_from([0.0, 0.1, 0.5]))
    if draw(st.booleans()) and rows > 1:
        labels[draw(st.integers(0, rows - 1))] = -100
    return x, labels, weights, smoothing


def label_args(labels, weights, smoothing, reduction, temperature) -> list[str]:
    args = ["xent", "--labels", ",".join(map(str, labels.tolist()))]
    args += ["--reduction", reduction, "-t", repr(temperature), "--ignore-label", "-100"]
    if weights is not None:
        args += ["--weights", ",".join(map(repr, weights))]
    if smoothing:
        args += ["--label-smoothing", repr(smoothing)]
    return args


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("temperature", [0.5, 1.0, 3.0])
@few
@given(case=labelled())
def test_cross_entropy_with_labels_matches_the_formula(reduction, temperature, case):
    x, labels, weights, smoothing = case
    args = label_args(labels, weights, smoothing, reduction, temperature)
    ours = cli_csv(args, as_csv(x)).ravel()
    expected = reference_labels(x, labels, temperature, reduction, weights, smoothing, -100)
    close(ours, expected, x, temperature)


@pytest.fixture(scope="module")
def targets_path(tmp_path_factory):
    return tmp_path_factory.mktemp("differential") / "targets.csv"


@st.composite
def soft_targets(draw: st.DrawFn):
    x = draw(scores)
    raw = draw(arrays(np.float64, x.shape, elements=st.floats(0, 10)))
    raw[:, 0] += 0.5  # never an all-zero row
    targets = raw / raw.sum(axis=1, keepdims=True)
    weights = draw(
        st.one_of(st.none(), st.lists(st.floats(0.1, 5), min_size=x.shape[1], max_size=x.shape[1]))
    )
    smoothing = draw(st.sampled_from([0.0, 0.2]))
    return x, targets, weights, smoothing


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("temperature", [0.5, 1.0, 3.0])
@few
@given(case=soft_targets())
def test_cross_entropy_with_soft_targets_matches_the_formula(
    targets_path, reduction, temperature, case
):
    x, targets, weights, smoothing = case
    targets_path.write_bytes(as_csv(targets))
    args = ["xent", "--targets", str(targets_path), "--reduction", reduction]
    args += ["-t", repr(temperature)]
    if weights is not None:
        args += ["--weights", ",".join(map(repr, weights))]
    if smoothing:
        args += ["--label-smoothing", repr(smoothing)]
    ours = cli_csv(args, as_csv(x)).ravel()
    # The targets the CLI read are the ones written: repr round-trips every float64.
    expected = reference_targets(x, targets, temperature, reduction, weights, smoothing)
    close(ours, expected, x, temperature)


# --- PyTorch itself, where installed --------------------------------------------


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("temperature", [0.5, 1.0, 3.0])
@few
@given(case=labelled())
def test_cross_entropy_with_labels_matches_torch(reduction, temperature, case):
    torch = pytest.importorskip("torch")
    x, labels, weights, smoothing = case
    expected = torch.nn.functional.cross_entropy(
        torch.tensor(x / temperature),
        torch.tensor(labels),
        weight=None if weights is None else torch.tensor(weights, dtype=torch.float64),
        label_smoothing=smoothing,
        ignore_index=-100,
        reduction=reduction,
    ).numpy()
    args = label_args(labels, weights, smoothing, reduction, temperature)
    ours = cli_csv(args, as_csv(x)).ravel()
    close(ours, np.atleast_1d(expected), x, temperature)


@pytest.mark.parametrize("temperature", TEMPERATURES)
@few
@given(x=scores)
def test_probs_and_logprobs_match_torch(temperature, x):
    torch = pytest.importorskip("torch")
    logits = torch.tensor(x / temperature)
    probs = cli_csv(["probs", "-t", repr(temperature)], as_csv(x))
    log_probs = cli_csv(["logprobs", "-t", repr(temperature)], as_csv(x))
    assert_allclose(probs, torch.softmax(logits, dim=1).numpy(), rtol=1e-10, atol=1e-15)
    close(log_probs, torch.log_softmax(logits, dim=1).numpy(), x, temperature)
