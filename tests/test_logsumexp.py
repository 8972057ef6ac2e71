"""``softmax logsumexp`` as users run it, against mpmath and ``math.fsum``."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import exact
import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from softmax_cli.cli import app
from softmax_cli.options import COMMANDS

runner = CliRunner()


def run(*args: str, stdin: str | None = None):
    result = runner.invoke(app, ["logsumexp", *args], input=stdin)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result


def as_csv(rows: list[list[float]]) -> str:
    return "".join(",".join(map(repr, row)) + "\n" for row in rows)


def values_of(text: str) -> list[float]:
    return [float(line) for line in text.splitlines()]


def relative_error(got: float, row: list[float], temperature: float = 1.0) -> float:
    want, scale = exact.logsumexp(np.array(row), temperature)
    with mpmath.workdps(exact.DIGITS):
        error = abs(mpmath.mpf(got) - want)
        if error <= len(row) * exact.SUBNORMAL_STEP:
            return 0.0  # e^-800 is below float64: 0 is the nearest it holds
        return float(error / max(abs(want), scale))


def test_logsumexp_is_a_command():
    assert "logsumexp" in [command.name for command in COMMANDS]


@pytest.mark.parametrize(
    "row",
    [[2.0, 1.0, 0.1], [0.0, -40.0], [0.0, -45.0, -60.0], [1000.0, 0.0], [-3.0, -47.5], [5.0]],
)
def test_one_vector_gives_one_exact_number(row):
    result = run(*map(repr, row), "-o", "csv")
    assert result.exit_code == 0, result.stderr
    [got] = values_of(result.stdout)
    assert relative_error(got, row) <= 1e-13


def test_a_gap_of_forty_keeps_the_tiny_sum_that_log_of_1_plus_it_loses():
    [got] = values_of(run("0", "-40", "-o", "csv").stdout)
    assert got == pytest.approx(math.exp(-40.0), rel=1e-15)


@settings(max_examples=40)
@given(
    rows=st.lists(
        st.lists(st.floats(-60.0, 60.0), min_size=2, max_size=6).map(
            lambda row: [row[0]] + [row[0] - abs(v) for v in row[1:]]
        ),
        min_size=1,
        max_size=5,
    ).filter(lambda rows: len({len(row) for row in rows}) == 1),
    temperature=st.sampled_from([0.01, 0.5, 1.0, 3.0, 100.0]),
)
def test_every_row_is_exact_to_1e13_relative(rows, temperature):
    result = run("-t", repr(temperature), "-o", "csv", stdin=as_csv(rows))
    assert result.exit_code == 0, result.stderr
    got = values_of(result.stdout)
    if len(rows[0]) == 1:
        rows = [[row[0] for row in rows]]  # one column is one vector
    assert len(got) == len(rows)
    for value, row in zip(got, rows, strict=True):
        assert relative_error(value, row, temperature) <= 1e-13


def test_temperature_divides_every_score_not_only_the_gaps():
    # log(e^(10/2) + e^(8/2)) = 5 + log1p(e^-1)
    [got] = values_of(run("10", "8", "-t", "2", "-o", "csv").stdout)
    assert got == pytest.approx(5.0 + math.log1p(math.exp(-1.0)), rel=1e-15)


def test_plus_inf_gives_plus_inf_and_only_minus_inf_gives_minus_inf():
    result = run("-o", "csv", stdin="inf,0\n-inf,-inf\n-inf,0\n")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == ["inf", "-inf", "0.0"]


def test_a_nan_is_a_data_error_at_its_line_after_the_rows_before_it():
    result = run("-o", "csv", stdin="1,2\n3,nan\n4,5\n")
    assert result.exit_code == 1
    assert result.stderr.strip() == "softmax: line 2, column 2: NaN is not a score"
    assert values_of(result.stdout) == [pytest.approx(2.0 + math.log1p(math.exp(-1.0)))]


def test_sum_is_the_fsum_of_the_rows_and_mean_divides_by_their_number():
    rng = np.random.default_rng(5)
    rows = rng.normal(0, 30, (500, 4)).tolist()
    each = values_of(run("-o", "csv", stdin=as_csv(rows)).stdout)
    [total] = values_of(run("--reduction", "sum", "-o", "csv", stdin=as_csv(rows)).stdout)
    [mean] = values_of(run("--reduction", "mean", "-o", "csv", stdin=as_csv(rows)).stdout)
    assert total == pytest.approx(math.fsum(each), rel=1e-15)
    assert mean == pytest.approx(math.fsum(each) / len(each), rel=1e-15)


def test_json_holds_every_value_and_the_reduction():
    result = run("0,-40;3,1", "--reduction", "sum", "-o", "json")
    document = json.loads(result.stdout)
    assert document["operation"] == "logsumexp"
    assert document["reduction"] == "sum"
    assert document["temperature"] == 1.0
    assert document["rows"] == 2
    assert document["values"][0] == pytest.approx(math.exp(-40.0), rel=1e-15)
    assert document["value"] == pytest.approx(sum(document["values"]), rel=1e-15)


def test_json_writes_infinite_values_as_null():
    document = json.loads(run("inf,0;1,2", "-o", "json").stdout)
    assert document["values"][0] is None
    assert "value" not in document


def test_ndjson_writes_a_number_per_line_or_one_object_for_a_reduction():
    lines = run("1,2;3,4", "-o", "ndjson").stdout.splitlines()
    assert [float(line) for line in lines] == pytest.approx(
        [2 + math.log1p(math.exp(-1)), 4 + math.log1p(math.exp(-1))]
    )
    [line] = run("1,2;3,4", "-o", "ndjson", "--reduction", "mean").stdout.splitlines()
    assert json.loads(line)["value"] == pytest.approx(3 + math.log1p(math.exp(-1)))


def test_kept_columns_and_headers_travel_with_the_values():
    data = "id,a,b\nx,1,2\ny,3,3\n"
    assert run("--keep", "id", "-o", "csv", stdin=data).stdout.splitlines()[0] == "id,logsumexp"
    assert run("--keep", "id", "-o", "tsv", stdin=data).stdout.splitlines()[2] == (
        f"y\t{3 + math.log(2)!r}"
    )
    objects = [
        json.loads(line)
        for line in run("--keep", "id", "-o", "ndjson", stdin=data).stdout.splitlines()
    ]
    assert objects[1] == {"id": "y", "logsumexp": 3 + math.log(2)}


def test_a_table_shows_the_rows_and_the_reduction():
    result = run("1,2;3,3", "--reduction", "sum", "-o", "table")
    assert result.exit_code == 0, result.stderr
    assert "logsumexp" in result.stdout and "sum" in result.stdout
    assert f"{2 + math.log1p(math.exp(-1)) + 3 + math.log(2):.4f}" in result.stdout


def test_a_single_column_is_one_vector():
    result = run("-o", "csv", stdin="1\n2\n3\n")
    assert values_of(result.stdout) == [pytest.approx(math.log(math.e + math.e**2 + math.e**3))]


def test_float32_gives_the_float32_value_in_its_shortest_digits():
    [text] = run("0", "-20", "--dtype", "float32", "-o", "csv").stdout.split()
    float32 = np.float32(math.exp(-20.0))
    assert np.float32(text) == float32  # reads back as the float32 value
    assert float(text) == float(str(float32))  # in its shortest digits, not float64's


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["1", "--reduction", "median"], "--reduction: 'median' is not one of none, sum, mean"),
        (["1", "-t", "0"], "-t: must be a finite number above 0"),
        (["1", "--dtype", "float8"], "--dtype: 'float8' is not one of float64, float32, float16"),
    ],
)
def test_bad_options_are_usage_errors(args, message):
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_closed_pipe_ends_quietly():
    rows = "".join(f"{i},{i + 1}\n" for i in range(200_000)).encode()
    pipeline = subprocess.run(
        [sys.executable, "-m", "softmax_cli", "logsumexp", "-o", "csv"],
        input=rows,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert pipeline.returncode == 0
    head = subprocess.run(
        f"{sys.executable} -m softmax_cli logsumexp -o csv | head -1",
        shell=True,
        input=rows,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert head.returncode == 0
    assert b"Traceback" not in head.stderr and head.stderr == b""


def test_the_mean_of_no_rows_is_nan_with_a_warning():
    result = run("--reduction", "mean", "-o", "csv", stdin="a,b\n")
    assert result.exit_code == 0
    assert result.stdout == "nan\n"
    assert "warning: there are no rows, so the mean is NaN" in result.stderr
