"""``cross-entropy --jobs N``: the same bytes, sums and errors whatever N, kernel on or off.

The inputs span several 1 MiB chunks, so blocks are computed side by side and
their sums are added in input order; a reduction must come out the same to the
last bit as with one thread.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.special import log_softmax
from typer.testing import CliRunner

from softmax_cli import numerics, options
from softmax_cli.cli import app
from softmax_cli.readers import CHUNK_BYTES

COMMAND = [sys.executable, "-m", "softmax_cli"]
ROWS, CLASSES = 64_000, 6
JOBS = ("1", "2", "3")
runner = CliRunner()


def cli(*args: str, stdin: bytes):
    return runner.invoke(app, list(args), input=stdin)


def run(args: list[str], stdin: bytes, **env: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*COMMAND, *args],
        input=stdin,
        capture_output=True,
        timeout=120,
        env={**os.environ, **env},
    )


def labelled_rows(seed: int = 3) -> tuple[np.ndarray, np.ndarray, list[bytes]]:
    """Scores, labels and the CSV lines (no header) holding them, label last."""
    rng = np.random.default_rng(seed)
    scores = rng.standard_normal((ROWS, CLASSES)) * 4
    labels = rng.integers(0, CLASSES, ROWS)
    lines = [
        (",".join(repr(v) for v in row) + f",{label}\n").encode()
        for row, label in zip(scores.tolist(), labels.tolist(), strict=True)
    ]
    return scores, labels, lines


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, bytes]:
    scores, labels, lines = labelled_rows()
    raw = HEADER + b"".join(lines)
    assert len(raw) > 6 * CHUNK_BYTES  # many blocks, so the threads have work side by side
    return scores, labels, raw


HEADER = b"a,b,c,d,e,f,y\n"
XENT = ["xent", "--label-column", "y"]


def with_line(raw: bytes, at: int, line: bytes) -> bytes:
    """``raw`` with data row ``at`` (0-based, after the header) replaced by ``line``."""
    lines = raw.splitlines(keepends=True)
    lines[at + 1] = line
    return b"".join(lines)


def test_cross_entropy_takes_jobs():
    command = next(c for c in options.COMMANDS if c.name == "cross-entropy")
    assert "--jobs" in [flag for option in command.options for flag in option.flags]


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_a_reduction_is_the_same_bits_whatever_the_jobs(data, reduction):
    scores, labels, raw = data
    outputs = {
        jobs: cli(*XENT, "--reduction", reduction, "--jobs", jobs, stdin=raw) for jobs in JOBS
    }
    for jobs, done in outputs.items():
        assert done.exit_code == 0, (jobs, done.output)
    assert len({done.stdout for done in outputs.values()}) == 1
    # And it is the loss, summed apart from the program with math.fsum.
    picked = log_softmax(scores, axis=1)[np.arange(ROWS), labels]
    expected = -math.fsum(picked.tolist()) / (ROWS if reduction == "mean" else 1)
    assert math.isclose(float(outputs["1"].stdout), expected, rel_tol=1e-13)


@pytest.mark.parametrize("output", ["csv", "json", "ndjson"])
def test_per_row_losses_come_out_in_input_order_whatever_the_jobs(data, output):
    scores, labels, raw = data
    args = [*XENT, "--reduction", "none", "-o", output]
    one = cli(*args, "--jobs", "1", stdin=raw)
    assert one.exit_code == 0
    for jobs in JOBS[1:]:
        assert cli(*args, "--jobs", jobs, stdin=raw).stdout == one.stdout, jobs
    if output == "csv":
        got = np.loadtxt(one.stdout.splitlines()[1:], delimiter=",", usecols=0)
        expected = -log_softmax(scores, axis=1)[np.arange(ROWS), labels]
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)


OPTIONS = [
    ["--weights", "1,2,0.5,1,3,1"],
    ["--ignore-label", "2"],
    ["--label-smoothing", "0.1"],
    ["--dtype", "float32"],
    ["--dtype", "float16"],
    ["--temperature", "0.5"],
    ["-o", "json"],
    ["--partial"],
]


@pytest.mark.parametrize(
    ("extra", "reduction"),
    [
        (extra, reduction)
        for reduction in ("mean", "none")
        for extra in OPTIONS
        if not (reduction == "none" and "--partial" in extra)  # --partial needs a reduction
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else value,
)
def test_every_option_gives_the_same_output_whatever_the_jobs(data, extra, reduction):
    _, _, raw = data
    args = [*XENT, "--reduction", reduction, *extra]
    one = cli(*args, "--jobs", "1", stdin=raw)
    assert one.exit_code == 0, one.output
    two = cli(*args, "--jobs", "2", stdin=raw)
    assert (two.exit_code, two.stdout, two.stderr) == (0, one.stdout, one.stderr)


def test_sample_weight_and_kept_columns_whatever_the_jobs(data):
    _, _, raw = data
    lines = raw.splitlines(keepends=True)
    body = [b"w,id," + lines[0]] + [
        f"{(n % 7) / 3},r{n},".encode() + line for n, line in enumerate(lines[1:])
    ]
    raw = b"".join(body)
    for reduction in ("mean", "none"):
        args = [*XENT, "--sample-weight-column", "w", "--keep", "id", "--reduction", reduction]
        one = cli(*args, "--jobs", "1", stdin=raw)
        assert one.exit_code == 0, one.output
        assert cli(*args, "--jobs", "2", stdin=raw).stdout == one.stdout


def test_labels_by_class_name_whatever_the_jobs(data):
    _, labels, raw = data
    names = [b"a", b"b", b"c", b"d", b"e", b"f"]
    lines = raw.splitlines(keepends=True)
    raw = lines[0] + b"".join(
        line.rsplit(b",", 1)[0] + b"," + names[label] + b"\n"
        for line, label in zip(lines[1:], labels.tolist(), strict=True)
    )
    by_index = cli(*XENT, "--jobs", "1", stdin=data[2])
    for jobs in JOBS:
        assert cli(*XENT, "--jobs", jobs, stdin=raw).stdout == by_index.stdout, jobs


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b"1,2,x,4,5,6,1\n", b"line 12002, column 3: 'x' is not a number"),
        (b"1,2,3\n", b"line 12002 has 3 values, expected 7"),
        (b"1,nan,3,4,5,6,1\n", b"line 12002, column 2: NaN is not a score"),
        (b"1,2,3,4,5,6,6\n", b"line 12002: label 6 is out of range for 6 classes"),
        (b"1,2,3,4,5,6,-1\n", b"line 12002: label -1 is out of range for 6 classes"),
        (b"1,2,3,4,5,6,2.5\n", b"line 12002: label 2.5 is not a class index"),
        (b"1,2,3,4,5,6,cat\n", b"line 12002, column 7: label 'cat'"),
    ],
)
def test_a_bad_line_late_in_the_input_stops_every_job_count_alike(data, line, message):
    _, _, raw = data
    at = 12_000  # in a later chunk than the first
    raw = with_line(raw, at, line)
    for reduction in ("none", "mean"):
        args = [*XENT, "--reduction", reduction]
        one = cli(*args, "--jobs", "1", stdin=raw)
        assert one.exit_code == 1
        assert message in one.stderr.encode() and one.stderr.count("\n") == 1, one.stderr
        if reduction == "none":
            assert one.stdout.count("\n") == at + 1  # the header and every row before
        for jobs in JOBS[1:]:
            done = cli(*args, "--jobs", jobs, stdin=raw)
            assert (done.exit_code, done.stdout, done.stderr) == (1, one.stdout, one.stderr)


def test_ignored_labels_late_in_the_input_are_not_errors(data):
    _, _, raw = data
    raw = with_line(raw, 12_000, b"1,2,3,4,5,6,-100\n")
    one = cli(*XENT, "--ignore-label", "-100", "--jobs", "1", stdin=raw)
    assert one.exit_code == 0, one.output
    assert cli(*XENT, "--ignore-label", "-100", "--jobs", "2", stdin=raw).stdout == one.stdout


def saved(raw: bytes, tmp_path) -> str:
    """``raw`` as a file: read from a file, chunks end where they fill, so every run
    sums the same blocks (a pipe hands over what has arrived, which depends on timing)."""
    path = tmp_path / "scores.csv"
    path.write_bytes(raw)
    return str(path)


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_jobs_and_kernel_give_the_same_bytes(data, reduction, tmp_path):
    _, _, raw = data
    args = [*XENT, "--reduction", reduction, "-i", saved(raw, tmp_path)]
    plain = run([*args, "--jobs", "1"], b"", SOFTMAX_NO_NATIVE="1")
    assert plain.returncode == 0 and plain.stderr == b""
    assert run([*args, "--jobs", "2"], b"", SOFTMAX_NO_NATIVE="1").stdout == plain.stdout
    assert run([*args, "--jobs", "2"], b"").stdout == plain.stdout
    assert run([*args, "--jobs", "0"], b"").stdout == plain.stdout


@pytest.mark.parametrize("line", [b"1,2,x,4,5,6,1\n", b"1,2,3,4,5,6,9\n"])
def test_a_late_error_is_the_same_with_the_kernel_off(data, line, tmp_path):
    _, _, raw = data
    raw = with_line(raw, 12_000, line)
    args = [*XENT, "--reduction", "none", "-i", saved(raw, tmp_path)]
    plain = run([*args, "--jobs", "1"], b"", SOFTMAX_NO_NATIVE="1")
    assert plain.returncode == 1 and plain.stdout.count(b"\n") == 12_001
    for env in ({"SOFTMAX_NO_NATIVE": "1"}, {}):
        done = run([*args, "--jobs", "2"], b"", **env)
        assert (done.returncode, done.stdout, done.stderr) == (1, plain.stdout, plain.stderr)


@settings(max_examples=300, deadline=None)
@given(
    hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=12),
        elements=st.sampled_from([-np.inf, np.inf, -1.0, -0.0, 0.0, 0.5, 1.0, 1e308, -1e308]),
    ),
    st.sampled_from([1.0, 0.5, 3.0]),
)
def test_the_top_found_on_the_way_is_numpys_first_arg_max(scores, temperature):
    scores = scores[~(scores == -np.inf).all(axis=1)]  # rows log-softmax takes
    log_probs, top = numerics.log_softmax_and_top(scores, temperature)
    assert top.tolist() == scores.argmax(axis=1).tolist()
    np.testing.assert_array_equal(log_probs, numerics.log_softmax(scores, temperature))


def test_the_table_counts_a_row_right_when_its_top_scores_tie():
    # The first of tied top scores is the prediction: both rows are right (the last would
    # make both wrong).
    raw = b"y,a,b,c\n0,3,3,1\n1,-1,5,5\n"
    done = cli(*XENT, "-o", "table", stdin=raw)
    assert done.exit_code == 0, done.output
    assert "2/2" in done.stdout
