"""The CLI as users run it, through Typer's CliRunner."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from numpy.testing import assert_allclose
from typer.testing import CliRunner

from softmax_cli import streams
from softmax_cli.cli import app

runner = CliRunner()


def run(*args: str, stdin: str | bytes | None = None):
    return runner.invoke(app, list(args), input=stdin)


def reference_softmax(x, t=1.0):
    x = np.asarray(x, dtype=float)
    z = np.exp((x - x.max(axis=-1, keepdims=True)) / t)
    return z / z.sum(axis=-1, keepdims=True)


def csv_rows(text: str) -> np.ndarray:
    return np.array([[float(v) for v in line.split(",")] for line in text.splitlines()])


def test_shorthand_is_probs():
    result = run("2", "1", "0.1")
    assert result.exit_code == 0
    assert_allclose(csv_rows(result.stdout), [reference_softmax([2, 1, 0.1])], rtol=1e-15)


def test_probs_is_csv_when_not_a_terminal():
    result = run("probs", "2", "1", "0.1")
    assert result.stdout.count(",") == 2 and result.stdout.endswith("\n")


def test_negative_numbers_need_no_double_dash():
    result = run("probs", "-1", "-2.5", "3")
    assert result.exit_code == 0, result.stderr
    assert_allclose(csv_rows(result.stdout), [reference_softmax([-1, -2.5, 3])], rtol=1e-15)


@pytest.mark.parametrize(
    "tokens", [["-inf", "1"], ["-1e-3"], ["-0", "-1"], ["-1,-2"], ["-1;-2"], ["-t", "2", "-1", "3"]]
)
def test_number_tokens_that_look_like_options_are_scores(tokens):
    result = run("probs", *tokens, "-o", "json", stdin="")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["operation"] == "softmax"


def test_minus_inf_is_a_mask_not_the_input_option():
    result = run("probs", "-inf", "0", "0")
    assert result.exit_code == 0, result.stderr
    assert csv_rows(result.stdout).tolist() == [[0.0, 0.5, 0.5]]


def test_comma_tokens_and_temperature():
    result = run("probs", "3,1,0.2", "-t", "0.5")
    assert_allclose(csv_rows(result.stdout), [reference_softmax([3, 1, 0.2], 0.5)], rtol=1e-14)


def test_rows_separated_by_semicolons():
    result = run("probs", "1,2;3,5")
    assert_allclose(csv_rows(result.stdout), reference_softmax([[1, 2], [3, 5]]), rtol=1e-15)


def test_logprobs_of_a_large_gap_is_exact():
    result = run("logprobs", "1000", "0")
    assert csv_rows(result.stdout).tolist() == [[0.0, -1000.0]]


def test_logprobs_writes_minus_inf_in_csv():
    result = run("logprobs", "-inf", "0")
    assert result.stdout.strip() == "-inf,0.0"


def test_cross_entropy_against_a_hand_computed_value():
    result = run("cross-entropy", "2", "1", "0.1", "--labels", "0")
    expected = -2 + math.log(math.exp(2) + math.exp(1) + math.exp(0.1))
    assert float(result.stdout) == pytest.approx(expected, rel=1e-15)
    assert result.stdout.startswith("0.41703")


def test_xent_alias_with_reduction_none():
    result = run("xent", "2,1,0.1;0.5,2,1", "--labels", "0,1", "--reduction", "none")
    losses = [float(line) for line in result.stdout.split()]
    expected = -np.log(reference_softmax([[2, 1, 0.1], [0.5, 2, 1]])[[0, 1], [0, 1]])
    assert_allclose(losses, expected, rtol=1e-14)


def test_cross_entropy_sum_and_mean():
    rows = ["1,2;3,1;0,0"]
    total = float(run("xent", *rows, "-l", "1,0,1", "--reduction", "sum").stdout)
    mean = float(run("xent", *rows, "-l", "1,0,1").stdout)
    assert total == pytest.approx(3 * mean, rel=1e-14)


def test_cross_entropy_of_a_large_gap_is_finite():
    assert float(run("xent", "1000", "0", "--labels", "1").stdout) == 1000.0


def test_cross_entropy_json_document():
    result = run("xent", "2,1,0.1;0.5,2,1", "-l", "0,1", "-o", "json")
    document = json.loads(result.stdout)
    assert document["operation"] == "cross_entropy" and document["reduction"] == "mean"
    assert len(document["losses"]) == 2
    assert document["loss"] == pytest.approx(sum(document["losses"]) / 2, rel=1e-14)


def test_all_rows_ignored_gives_null_loss_and_a_warning():
    result = run("xent", "1,2;3,4", "-l", "-100,-100", "--ignore-label", "-100", "-o", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["loss"] is None
    assert "warning" in result.stderr


def test_ignored_rows_leave_the_mean_denominator():
    both = float(run("xent", "1,2;3,4", "-l", "0,1").stdout)
    one = float(run("xent", "1,2;3,4", "-l", "0,-100", "--ignore-label", "-100").stdout)
    first = -math.log(reference_softmax([1, 2])[0])
    assert one == pytest.approx(first, rel=1e-14) and one != both


def test_labels_by_class_name():
    result = run("xent", "--labels", "bird", stdin="cat,dog,bird\n2,1,0.1\n")
    assert float(result.stdout) == pytest.approx(-math.log(reference_softmax([2, 1, 0.1])[2]))


def test_weights_and_smoothing_are_accepted():
    result = run("xent", "1,2,3", "-l", "2", "--weights", "1,1,2", "--label-smoothing", "0.1")
    assert result.exit_code == 0 and float(result.stdout) > 0


def test_json_output_document():
    result = run("probs", "2", "1", "0.1", "-o", "json")
    document = json.loads(result.stdout)
    assert document["operation"] == "softmax" and document["temperature"] == 1.0
    assert document["classes"] is None
    assert_allclose(document["rows"], [reference_softmax([2, 1, 0.1])], rtol=1e-15)


def test_json_writes_minus_inf_as_null():
    document = json.loads(run("logprobs", "-inf", "0", "-o", "json").stdout)
    assert document["rows"] == [[None, 0.0]]


def test_ndjson_output_is_one_array_per_row():
    result = run("probs", "1,2;3,4;5,7", "-o", "ndjson")
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert_allclose(rows, reference_softmax([[1, 2], [3, 4], [5, 7]]), rtol=1e-15)


def test_tsv_output():
    result = run("probs", "1,2", "-o", "tsv")
    assert "\t" in result.stdout and "," not in result.stdout


def test_precision_gives_significant_digits():
    result = run("probs", "2", "1", "0.1", "--precision", "3")
    assert result.stdout.strip() == "0.659,0.242,0.0986"


def test_csv_keeps_the_header_names():
    result = run("probs", stdin="cat,dog\n1,2\n")
    assert result.stdout.splitlines()[0] == "cat,dog"


def test_seq_style_input_is_one_vector_printed_one_per_line():
    result = run("probs", stdin="1\n2\n3\n4\n5\n")
    values = [float(v) for v in result.stdout.split()]
    assert len(values) == 5 and sum(values) == pytest.approx(1.0, abs=1e-15)
    assert_allclose(values, reference_softmax([1, 2, 3, 4, 5]), rtol=1e-15)


def test_input_file_option(tmp_path):
    path = tmp_path / "logits.csv"
    path.write_text("1,2\n3,4\n")
    result = run("logprobs", "-i", str(path))
    assert csv_rows(result.stdout).shape == (2, 2)


def test_label_column_from_stdin():
    result = run(
        "xent", "--label-column", "y", "--reduction", "none", stdin="a,b,y\n1,2,b\n3,1,0\n"
    )
    expected = -np.log([reference_softmax([1, 2])[1], reference_softmax([3, 1])[0]])
    header, *losses = result.stdout.split()
    assert header == "loss"  # a headed input gets a headed column of losses, for paste
    assert_allclose([float(v) for v in losses], expected, rtol=1e-14)


def test_soft_targets_file(tmp_path):
    targets = tmp_path / "soft.csv"
    targets.write_text("0.5,0.5\n1,0\n")
    result = run("xent", "--targets", str(targets), "--reduction", "none", stdin="1,2\n3,4\n")
    p = reference_softmax([[1, 2], [3, 4]])
    expected = [-(0.5 * np.log(p[0]).sum()), -np.log(p[1, 0])]
    assert_allclose([float(v) for v in result.stdout.split()], expected, rtol=1e-14)


# --- errors ------------------------------------------------------------------


def test_zero_temperature_is_a_usage_error():
    result = run("probs", "1", "2", "-t", "0")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "softmax probs: -t: must be a finite number above 0, not '0'",
        "Try 'softmax probs --help' for help.",
    ]


def test_bad_value_is_a_data_error_with_its_place():
    result = run("probs", stdin="1,2,3\n4,abc,6\n")
    assert result.exit_code == 1
    assert result.stderr.strip() == "softmax: line 2, column 2: 'abc' is not a number"


def test_rows_before_a_bad_line_are_written_whole():
    result = run("probs", stdin="1,2\n3,4\n5\n")
    assert result.exit_code == 1
    assert csv_rows(result.stdout).shape == (2, 2)
    assert "line 3 has 1 values, expected 2" in result.stderr


def test_json_output_stays_a_valid_document_after_an_error():
    result = run("probs", "-o", "json", stdin="1,2\n3,nan\n")
    assert result.exit_code == 1
    assert len(json.loads(result.stdout)["rows"]) == 1
    assert "line 2" in result.stderr and "NaN" in result.stderr


def test_a_row_of_only_minus_infinity_is_a_data_error():
    result = run("probs", stdin="1,2\n-inf,-inf\n")
    assert result.exit_code == 1 and "line 2" in result.stderr


def test_label_out_of_range_names_the_line():
    result = run("xent", "--label-column", "2", stdin="1,2,0\n3,4,7\n")
    assert result.exit_code == 1
    assert "line 2: label 7 is out of range for 2 classes" in result.stderr


def test_fewer_labels_than_rows_is_a_data_error():
    result = run("xent", "1,2;3,4", "--labels", "0")
    assert result.exit_code == 1 and "no label" in result.stderr


def test_more_labels_than_rows_is_a_data_error():
    result = run("xent", "1,2", "--labels", "0,1")
    assert result.exit_code == 1 and "2 labels for 1 rows" in result.stderr


def test_cross_entropy_needs_labels():
    result = run("xent", "1", "2")
    assert result.exit_code == 2 and "labels" in result.stderr


def test_missing_file_is_a_usage_error():
    result = run("probs", "-i", "/nonexistent/logits.csv")
    assert result.exit_code == 2
    assert "cannot read" in result.stderr and "Traceback" not in result.stderr


def test_nothing_to_read_on_a_terminal_prints_a_hint(monkeypatch):
    monkeypatch.setattr(streams, "stdin_is_terminal", lambda: True)
    result = run("probs")
    assert result.exit_code == 2
    assert "no scores given" in result.stderr


def test_unknown_option_is_a_usage_error():
    result = run("probs", "1", "--bogus")
    assert result.exit_code == 2 and "--bogus" in result.stderr


def test_bad_label_smoothing_is_a_usage_error():
    result = run("xent", "1,2", "-l", "0", "--label-smoothing", "1.5")
    assert result.exit_code == 2
    assert "--label-smoothing: must be a number from 0 to 1" in result.stderr


def test_label_smoothing_of_one_is_accepted_as_pytorch_accepts_it():
    result = run("xent", "1,2", "-l", "0", "--label-smoothing", "1", "-o", "csv")
    assert result.exit_code == 0, result.stderr
    p = reference_softmax([[1, 2]])[0]
    assert_allclose(float(result.stdout), -np.log(p).mean(), rtol=1e-14)


def test_version_is_printed():
    from importlib.metadata import version

    result = run("--version")
    assert result.exit_code == 0 and version("softmax-cli") in result.stdout


def test_table_output_leaves_stdout_usable():
    result = run("probs", "2", "1", "0.1", "-o", "table")
    assert result.exit_code == 0, result.stderr
    assert "0.6590" in result.stdout and result.stderr == ""


def test_explain_runs_to_the_end():
    result = run("explain", "2", "1", "0.1", "--label", "0")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""


def test_a_mistyped_command_is_a_usage_error_with_a_suggestion():
    result = run("prob", "1", "2")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "softmax: 'prob' is not a command; did you mean 'probs'?",
        "Try 'softmax --help' for help.",
    ]


def test_a_word_among_scores_of_the_shorthand_is_bad_data():
    result = run("1", "2", "abc")
    assert result.exit_code == 1
    assert result.stderr.strip() == "softmax: argument 3: 'abc' is not a number"
