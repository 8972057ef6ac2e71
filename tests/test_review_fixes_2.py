"""Inputs a newcomer found at the edges of --dtype, .npy headers, reductions and completion:
each must give the right answer or one clear line with the right exit code."""

from __future__ import annotations

import math

import numpy as np
import orjson
import pytest

from tests.test_review_fixes import assert_one_line_error, run


@pytest.mark.parametrize(
    ("scores", "labels", "dtype"),
    [("-70000,-70000", "0", "float16"), ("1,2;-1e39,-1e39", "0,0", "float32")],
)
def test_cross_entropy_rows_all_minus_inf_after_rounding_are_a_located_data_error(
    scores, labels, dtype
):
    result = run("cross-entropy", scores, "--labels", labels, "--dtype", dtype)
    bad_row = scores.count(";") + 1
    assert_one_line_error(result, 1, f"row {bad_row}", "every score is -inf")


def test_cross_entropy_writes_the_good_rows_before_a_row_that_rounds_to_minus_inf():
    result = run(
        "cross-entropy", "1,2;-1e39,-1e39", "--labels", "0,0", "--dtype", "float32", "-o", "json"
    )
    assert result.exit_code == 1
    losses = orjson.loads(result.stdout)["losses"]
    expected = float(np.float32(math.log1p(math.exp(1.0))))  # -log softmax(1,2)[0]
    assert losses == [pytest.approx(expected, rel=1e-7)]


def _npy_with_header(shape: str, fortran: bool = False) -> bytes:
    """A version-1 .npy header written by hand (NumPy refuses to write these shapes)."""
    text = f"{{'descr': '<f8', 'fortran_order': {fortran}, 'shape': {shape}, }}".ljust(118) + "\n"
    return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text.encode("latin-1")


@pytest.mark.parametrize(
    ("shape", "fortran", "message"),
    [
        ("(-1, 3)", False, ".npy file: the header is damaged"),
        ("(1000000000000, 3)", True, "the .npy data ends early"),
        ("(1, 1000000000000)", False, "the .npy data ends early"),
        ("(1000000000000, 4)", False, "the .npy data ends early: 0 of"),
    ],
)
@pytest.mark.parametrize("via", ["file", "stdin"])
def test_npy_headers_with_impossible_shapes_are_a_data_error(
    tmp_path, shape, fortran, message, via
):
    data = _npy_with_header(shape, fortran) + np.zeros(3).tobytes()
    path = tmp_path / "bad.npy"
    path.write_bytes(data)
    if via == "file":
        result = run("probs", "-i", str(path))
    else:
        from typer.testing import CliRunner

        from softmax_cli.cli import app

        result = CliRunner().invoke(app, ["probs"], input=data)
    assert_one_line_error(result, 1, message)


def test_npy_rows_without_scores_are_the_same_error_as_an_empty_json_row(tmp_path):
    path = tmp_path / "empty2.npy"
    np.save(path, np.zeros((3, 0)))
    assert_one_line_error(run("probs", "-i", str(path), "-o", "json"), 1, "holds no scores")
    assert_one_line_error(run("probs", input="[[]]\n"), 1, "holds no scores")


def test_npy_of_no_rows_keeps_its_width_in_npy_output(tmp_path):
    import io

    source = tmp_path / "none.npy"
    np.save(source, np.zeros((0, 3)))
    result = run("probs", "-i", str(source), "-o", "npy")
    assert result.exit_code == 0, result.output
    assert np.load(io.BytesIO(result.stdout_bytes)).shape == (0, 3)


@pytest.mark.parametrize("shape", ["(1000000000000, 3)", "(1, 1000000000000)"])
def test_npy_claiming_a_huge_shape_on_a_real_pipe_is_a_data_error(shape):
    import subprocess
    import sys

    data = _npy_with_header(shape, fortran=shape.endswith("3)")) + np.zeros(2).tobytes()
    done = subprocess.run(
        [sys.executable, "-m", "softmax_cli", "probs"],
        input=data,
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr.decode().strip().splitlines() == [
        "softmax: row 1: the .npy data ends early: 0 of "
        + ("1000000000000" if shape.endswith("3)") else "1")
        + " rows are complete"
    ]


def _rounded_once(value: float, dtype: str) -> float:
    """The shortest decimal of ``value`` rounded to ``dtype``: how every writer prints it."""
    return float(str(np.asarray(value, dtype=dtype)))


@pytest.mark.parametrize("dtype", ["float16", "float32"])
def test_cross_entropy_mean_under_dtype_is_the_exact_answer_rounded_once(dtype):
    import mpmath

    mpmath.mp.dps = 40
    # Labels 0 and 1 of rows (1,1,1) and (2,0,0): losses log 3 and 2 + log(e^2 + 2) - 2.
    first = mpmath.log(3)
    second = mpmath.log(mpmath.e**2 + 2)
    mean = (first + second) / 2
    result = run("cross-entropy", "1,1,1;2,0,0", "--labels", "0,1", "--dtype", dtype, "-o", "json")
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.stdout)["loss"] == _rounded_once(float(mean), dtype)
    if dtype == "float16":
        assert orjson.loads(result.stdout)["loss"] == 1.669  # not 1.67, the rounded losses' mean
    table = run("cross-entropy", "1,1,1;2,0,0", "--labels", "0,1", "--dtype", dtype, "-o", "csv")
    assert float(table.stdout.strip()) == _rounded_once(float(mean), dtype)


def test_logsumexp_sum_under_dtype_is_the_exact_sum_rounded_once():
    import mpmath

    mpmath.mp.dps = 40
    rows = [[1, 1, 1], [2, 0, 0], [0.5, 0.25, 0.125]]
    exact = sum(mpmath.log(sum(mpmath.e ** mpmath.mpf(x) for x in row)) for row in rows)
    text = ";".join(",".join(str(x) for x in row) for row in rows)
    result = run("logsumexp", text, "--reduction", "sum", "--dtype", "float16", "-o", "json")
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.stdout)["value"] == _rounded_once(float(exact), "float16")


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_logsumexp_of_plus_and_minus_inf_rows_warns_naming_both_rows(reduction):
    result = run("logsumexp", "inf,0;1,2;-inf,-inf", "--reduction", reduction, "-o", "csv")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "nan"
    assert result.stderr.strip() == (
        f"softmax: warning: row 1 is +inf and row 3 is -inf, so the {reduction} is NaN"
    )


def test_logsumexp_infinite_mean_is_null_in_json_as_every_non_finite_number():
    result = run("logsumexp", "inf,0;1,2", "--reduction", "mean", "-o", "json")
    assert result.exit_code == 0, result.output
    document = orjson.loads(result.stdout)
    assert document["value"] is None and document["values"][0] is None
    assert result.stderr == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--show-completion=fish"], "--show-completion: takes no value"),
        (["--show-completion", "fish"], "--show-completion takes no value"),
        (["--show-completion", "zsh"], "--show-completion takes no value"),
        (["--install-completion", "nosh"], "--install-completion takes no value"),
    ],
)
def test_completion_options_refuse_a_shell_name_instead_of_answering_for_bash(args, message):
    result = run(*args)
    names_shells = "takes no value:" in message or "=" not in args[0]
    assert_one_line_error(result, 2, message, "bash, zsh, fish" if names_shells else "")
    assert "_softmax_completion" not in result.output


def test_show_completion_from_an_unsupported_shell_is_a_usage_error():
    import os
    import subprocess
    import sys

    env = {
        k: v for k, v in os.environ.items() if k != "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION"
    }
    done = subprocess.run(
        # Not the last command, so sh runs it as its child instead of exec-ing it.
        ["sh", "-c", f'"{sys.executable}" -m softmax_cli --show-completion; exit $?'],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert "is not supported" in done.stderr and "bash, zsh, fish" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("scores", ["1,1,1", "1,2,3", "0.5,-1,2,7"])
def test_probs_table_sum_under_float16_is_the_sum_of_the_values_not_of_their_decimals(scores):
    import math

    logits = np.array([float(x) for x in scores.split(",")])
    exact = np.exp(logits - logits.max())
    exact /= exact.sum()
    in_float16 = exact.astype(np.float16).astype(np.float64)
    expected = float(np.float16(math.fsum(in_float16)))
    result = run("probs", scores, "--dtype", "float16", "-o", "table")
    assert result.exit_code == 0, result.output
    sum_line = next(line for line in result.stdout.splitlines() if " sum " in line)
    shown = [cell.strip() for cell in sum_line.split("│") if cell.strip()]
    assert shown == ["sum", f"{expected:.4f}"]


def _npy_shape(result) -> tuple[int, ...]:
    import io

    assert result.exit_code == 0, result.output
    return np.load(io.BytesIO(result.stdout_bytes)).shape


def test_npy_output_is_1d_only_for_a_vector_read_as_one(tmp_path):
    vector = tmp_path / "v.npy"
    np.save(vector, np.array([2.0, 1.0, 0.1]))
    assert _npy_shape(run("probs", "-i", str(vector), "-o", "npy")) == (3,)
    assert _npy_shape(run("probs", "-o", "npy", input="2\n1\n0.1\n")) == (3,)
    assert _npy_shape(run("probs", "2", "1", "0.1", "-o", "npy")) == (1, 3)
    assert _npy_shape(run("probs", "-o", "npy", input="[2, 1, 0.1]\n")) == (1, 3)


def test_readme_says_arguments_give_a_2d_npy_array():
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    assert "`softmax probs 2 1 0.1 -o npy` is 1x3" in readme
    assert "2-D (1-D for a single\n  vector)" not in readme


@pytest.mark.parametrize(
    ("dtype", "digits"), [("float16", 8), ("float16", 2), ("float32", 3), ("float32", 12)]
)
@pytest.mark.parametrize("command", ["logsumexp", "probs"])
def test_precision_caps_digits_at_the_dtype_shortest_form(command, dtype, digits):
    exact = math.log(3 * math.e) if command == "logsumexp" else 1 / 3
    shortest = str(np.asarray(exact, dtype=dtype))  # numpy's shortest round-trip text
    capped = float(f"{float(shortest):.{digits}g}")
    expected_value = float(shortest) if len(shortest.replace(".", "")) <= digits else capped
    result = run(command, "1,1,1", "--dtype", dtype, "--precision", str(digits), "-o", "csv")
    assert result.exit_code == 0, result.output
    first = result.stdout.strip().splitlines()[-1].split(",")[0]
    assert float(first) == expected_value
    assert len(first.replace(".", "").lstrip("0")) <= min(digits, len(shortest.replace(".", "")))


def test_precision_help_says_it_is_a_cap_under_dtype():
    result = run("probs", "--help")
    assert "never more digits than that precision's shortest form" in " ".join(
        result.output.split()
    )


def test_logsumexp_csv_heads_kept_ndjson_fields_as_it_heads_csv_input(tmp_path):
    path = tmp_path / "rows.ndjson"
    path.write_text('{"id": "a", "s": [1, 2]}\n{"id": "b", "s": [0, 1]}\n')
    result = run("logsumexp", "-i", str(path), "--key", "s", "--keep", "id", "-o", "csv")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "id,logsumexp"
    assert [line.split(",")[0] for line in lines[1:]] == ["a", "b"]
    from_csv = run("logsumexp", "--keep", "id", "-o", "csv", input="id,x,y\na,1,2\n")
    assert from_csv.stdout.splitlines()[0] == "id,logsumexp"
    headerless = run("logsumexp", "--keep", "0", "-o", "csv", input="a,1,2\n")
    assert headerless.stdout.splitlines()[0].startswith("a,")  # no header the input lacked


def test_logsumexp_table_title_is_not_wrapped_at_100_columns():
    from typer.testing import CliRunner

    from softmax_cli.cli import app

    args = ["logsumexp", "1,2;3,4", "-o", "table", "--temperature", "0.5", "--reduction", "sum"]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].strip() == "log-sum-exp of 2 rows at T = 0.5"


def test_explain_format_choices_agree_with_the_readme():
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    result = run("explain", "1,2", "-o", "npy")
    assert_one_line_error(result, 2, "is not one of")
    choices = result.output.splitlines()[0].split("is not one of ")[1].split(", ")
    row = next(line for line in readme.splitlines() if line.startswith("| `-o, --format"))
    listed = row.split("`explain` writes ")[1].split("|")[0].replace(" or ", ", ")
    assert sorted(name.strip(" `") for name in listed.split(",")) == sorted(choices)


def test_logsumexp_sum_help_does_not_call_it_a_log_likelihood():
    text = " ".join(run("logsumexp", "--help").output.split())
    assert "log-likelihood of a sequence" not in text
    assert "log-normalisers" in text
