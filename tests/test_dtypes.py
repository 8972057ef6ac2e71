"""``--dtype float32|float16``: computed in that precision, printed in its shortest digits.

Checked against mpmath on the input rounded to the dtype, and against PyTorch
computing in that dtype where torch is installed.
"""

from __future__ import annotations

import json

import exact
import numpy as np
import pytest
from typer.testing import CliRunner

from softmax_cli.cli import app
from softmax_cli.options import COMMANDS

runner = CliRunner()
NARROW = ["float32", "float16"]


def run(*args: str, stdin: str | None = None):
    result = runner.invoke(app, list(args), input=stdin)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result


def as_csv(rows: np.ndarray) -> str:
    return "".join(",".join(map(repr, row)) + "\n" for row in rows.tolist())


def texts(output: str) -> list[list[str]]:
    return [line.split(",") for line in output.splitlines()]


def cli_values(command: str, rows: np.ndarray, dtype: str, *extra: str) -> np.ndarray:
    result = run(command, "--dtype", dtype, "-o", "csv", *extra, stdin=as_csv(rows))
    assert result.exit_code == 0, result.stderr
    # The shortest digits of a float32 are not its value in float64: read them back in dtype.
    values = np.array([[float(v) for v in row] for row in texts(result.stdout)])
    return values.astype(dtype).astype(np.float64)


def batch(dtype: str, rows: int = 200, classes: int = 10, seed: int = 0) -> np.ndarray:
    """Scores of several scales, already exact in ``dtype`` (as a model's logits are)."""
    rng = np.random.default_rng(seed)
    scales = rng.choice([1.0, 5.0, 20.0], size=(rows, 1))
    return (rng.normal(0, 1, (rows, classes)) * scales).astype(dtype).astype(np.float64)


def test_the_commands_that_take_dtype():
    takes = {command.name for command in COMMANDS if command.option("--dtype") is not None}
    assert {"probs", "logprobs", "cross-entropy", "logsumexp"} <= takes


@pytest.mark.parametrize("dtype", NARROW)
@pytest.mark.parametrize("command", ["probs", "logprobs"])
def test_every_value_reads_back_in_the_dtype_in_its_shortest_digits(command, dtype):
    result = run(command, "--dtype", dtype, "-o", "csv", stdin=as_csv(batch(dtype, 20)))
    assert result.exit_code == 0, result.stderr
    for row in texts(result.stdout):
        for text in row:
            value = np.dtype(dtype).type(text)
            assert float(text) == float(str(value))  # no digit more than the dtype needs


@pytest.mark.parametrize("dtype", NARROW)
def test_json_prints_the_same_digits_as_csv(dtype):
    data = as_csv(batch(dtype, 5))
    from_csv = [
        [float(v) for v in row]
        for row in texts(run("probs", "--dtype", dtype, "-o", "csv", stdin=data).stdout)
    ]
    document = json.loads(run("probs", "--dtype", dtype, "-o", "json", stdin=data).stdout)
    assert document["rows"] == from_csv


def test_float64_is_the_default():
    data = as_csv(batch("float64", 5))
    assert (
        run("logprobs", "-o", "csv", stdin=data).stdout
        == run("logprobs", "--dtype", "float64", "-o", "csv", stdin=data).stdout
    )


def test_float32_keeps_the_tiny_log_probability_of_a_confident_row():
    [[top, rest]] = texts(run("logprobs", "0", "-40", "--dtype", "float32", "-o", "csv").stdout)
    assert np.float32(top) == np.float32(-np.exp(-40.0))
    assert rest == "-40.0"


def test_a_score_beyond_float16_becomes_infinite_as_in_a_model():
    assert texts(run("probs", "70000", "0", "--dtype", "float16", "-o", "csv").stdout) == [
        ["1.0", "0.0"]
    ]
    assert texts(run("logprobs", "0", "-70000", "--dtype", "float16", "-o", "csv").stdout) == [
        ["0.0", "-inf"]
    ]


def _worst_and_mean(values: np.ndarray, rows: np.ndarray, log: bool, floor: float):
    """Relative error against mpmath over every entry whose exact value is above ``floor``."""
    errors = []
    for got, row in zip(values, rows, strict=True):
        want = exact.log_softmax(row) if log else exact.softmax(row)
        for g, w in zip(got.tolist(), want, strict=True):
            if w is not None and abs(float(w)) > floor:
                errors.append(abs(g - float(w)) / abs(float(w)))
    return max(errors), float(np.mean(errors))


@pytest.mark.parametrize("dtype", NARROW)
@pytest.mark.parametrize("command", ["probs", "logprobs"])
def test_each_value_is_the_exact_answer_for_the_rounded_scores_rounded_once(command, dtype):
    rows = batch(dtype, 100)
    ours = cli_values(command, rows, dtype)
    info = np.finfo(dtype)
    worst, _ = _worst_and_mean(ours, rows, command == "logprobs", float(info.tiny))
    assert worst <= float(info.epsneg)  # half a unit in the last place, relative


# --- PyTorch computing in the same dtype -----------------------------------------


def _exact(command: str, rows: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
    """mpmath's answers as float64 (enough to rank float32 and float16 errors)."""
    out = []
    for index, row in enumerate(rows):
        if command == "probs":
            out.append([float(p) for p in exact.softmax(row)])
        else:
            logs = [float(v) for v in exact.log_softmax(row)]
            out.append(logs if labels is None else [-logs[labels[index]]])
    return np.array(out)


def _torch(torch, command: str, rows: np.ndarray, dtype: str, labels=None) -> np.ndarray:
    x = torch.from_numpy(rows).to(getattr(torch, dtype))
    if command == "probs":
        result = torch.softmax(x, 1)
    elif labels is None:
        result = torch.log_softmax(x, 1)
    else:
        result = torch.nn.functional.cross_entropy(x, torch.from_numpy(labels), reduction="none")
        result = result[:, None]
    return result.to(torch.float64).numpy()


CASES = [
    ("probs", "float32", 10),
    ("probs", "float32", 1000),
    ("logprobs", "float32", 10),
    ("logprobs", "float32", 1000),
    ("cross-entropy", "float32", 10),
    ("probs", "float16", 10),
    ("logprobs", "float16", 10),
    ("cross-entropy", "float16", 10),
]


@pytest.mark.parametrize(("command", "dtype", "classes"), CASES)
def test_every_value_is_at_least_as_close_to_exact_as_torchs_in_the_dtype(command, dtype, classes):
    torch = pytest.importorskip("torch")
    rows = batch(dtype, 100 if classes == 10 else 5, classes, seed=classes)
    labels = None
    extra: list[str] = []
    if command == "cross-entropy":
        labels = np.random.default_rng(1).integers(0, classes, rows.shape[0])
        extra = ["--labels", ",".join(map(str, labels)), "--reduction", "none"]
    ours = cli_values(command, rows, dtype, *extra)
    theirs = _torch(torch, command, rows, dtype, labels)
    want = _exact(command, rows, labels)
    our_error = np.abs(ours - want)
    their_error = np.abs(theirs - want)
    # Ours is the exact answer rounded once to the dtype: no value of the dtype is closer.
    assert (our_error <= their_error + 1e-15 * np.abs(want)).all()
    assert our_error.sum() < their_error.sum() or (our_error == their_error).all()


def test_float16_probabilities_agree_with_torch_to_one_unit_in_the_last_place():
    torch = pytest.importorskip("torch")
    rows = batch("float16", 200)
    ours = cli_values("probs", rows, "float16").astype(np.float16)
    theirs = torch.softmax(torch.from_numpy(rows).to(torch.float16), 1).numpy()
    steps = np.abs(ours.view(np.int16).astype(int) - theirs.view(np.int16).astype(int))
    assert (steps <= 1).all()


def test_cross_entropy_writes_its_reduced_loss_in_the_dtype():
    [[text]] = texts(
        run("xent", "2,1,0.1;0,-3,-3", "-l", "0,1", "--dtype", "float16", "-o", "csv").stdout
    )
    assert float(text) == float(str(np.float16(text)))


@pytest.mark.parametrize("command", ["probs", "logprobs", "cross-entropy", "logsumexp"])
@pytest.mark.parametrize("value", ["float8", "double", ""])
def test_an_unknown_dtype_is_a_usage_error(command, value):
    result = run(command, "1", "2", "--labels", "0", "--dtype", value)
    if command not in ("cross-entropy",):
        result = run(command, "1", "2", "--dtype", value)
    assert result.exit_code == 2
    assert f"softmax {command}: --dtype:" in result.stderr
    assert "Traceback" not in result.stderr
