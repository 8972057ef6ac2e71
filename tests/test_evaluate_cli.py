"""`softmax evaluate` and `softmax calibrate` from the command line."""

from __future__ import annotations

import csv
import io
import json
import math
import subprocess
import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from probes import probe
from scipy import optimize, special
from typer.testing import CliRunner

from softmax_cli.cli import app

LOG3 = repr(math.log(3.0))


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(app, list(args), input=input)


def write_csv(path, scores, labels, names=None):
    """A file with a header of class names and a last column ``y`` of labels."""
    names = names or [f"c{i}" for i in range(scores.shape[1])]
    lines = [",".join([*names, "y"])]
    lines += [
        ",".join([*(repr(v) for v in row), str(label)])
        for row, label in zip(scores.tolist(), labels.tolist(), strict=True)
    ]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def sampled(seed, rows, classes, temperature, spread=3.0):
    """Scores, and labels drawn from softmax(scores / temperature)."""
    rng = np.random.default_rng(seed)
    scores = rng.normal(0, spread, (rows, classes))
    probs = special.softmax(scores / temperature, axis=1)
    labels = (probs.cumsum(axis=1) > rng.random((rows, 1))).argmax(axis=1)
    return scores, labels


def mean_nll(scores, labels, temperature):
    log_probs = special.log_softmax(scores / temperature, axis=1)
    return -log_probs[np.arange(scores.shape[0]), labels].mean()


# --- evaluate ---------------------------------------------------------------------


def test_evaluate_json_gives_the_hand_computed_numbers():
    # Probabilities [1/2, 1/2] (label 0) and [3/4, 1/4] (label 1).
    result = run("evaluate", f"0,0;{LOG3},0", "--labels", "0,1", "--bins", "2", "-o", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["operation"] == "evaluate"
    assert (data["rows"], data["class_count"], data["classes"]) == (2, 2, None)
    assert data["nll"] == pytest.approx(1.5 * math.log(2), rel=1e-15)
    assert data["perplexity"] == pytest.approx(2 * math.sqrt(2), rel=1e-15)
    assert data["accuracy"] == 0.5
    assert data["top_k_accuracy"] == {"1": 0.5, "5": 1.0}
    assert data["brier"] == pytest.approx(13 / 16, rel=1e-15)
    assert data["ece"] == pytest.approx(0.625, rel=1e-15)
    assert data["mce"] == pytest.approx(0.75, rel=1e-15)
    assert [b["count"] for b in data["bins"]] == [1, 1]
    assert data["bins"][0] == {
        "lower": 0.0,
        "upper": 0.5,
        "count": 1,
        "confidence": 0.5,
        "accuracy": 1.0,
    }


def test_evaluate_csv_is_a_header_line_and_one_line_of_numbers():
    result = run("evaluate", f"0,0;{LOG3},0", "--labels", "0,1", "--top-k", "1,2", "-o", "csv")
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 1
    assert list(rows[0]) == [
        "rows",
        "nll",
        "perplexity",
        "accuracy",
        "top_1_accuracy",
        "top_2_accuracy",
        "brier",
        "ece",
        "mce",
        "mean_entropy",
        "rmsce",
        "calibration_error",
    ]
    assert rows[0]["rows"] == "2"
    assert float(rows[0]["top_2_accuracy"]) == 1.0
    assert float(rows[0]["brier"]) == pytest.approx(13 / 16, rel=1e-15)


def test_evaluate_tsv_separates_with_tabs():
    result = run("evaluate", "1,0", "--labels", "0", "-o", "tsv")
    assert result.exit_code == 0, result.stderr
    header, values = result.stdout.splitlines()
    assert header.split("\t")[:2] == ["rows", "nll"]
    assert float(values.split("\t")[1]) == pytest.approx(math.log1p(math.exp(-1)), rel=1e-15)


def test_evaluate_takes_negative_scores_as_arguments():
    result = run("evaluate", "-1", "-2", "-inf", "--labels", "1", "-o", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["nll"] == pytest.approx(math.log1p(math.e), rel=1e-15)


def test_evaluate_reads_a_label_column_of_class_names_from_stdin():
    text = "cat,dog,bird,y\n2,1,0,cat\n0,3,1,bird\n"
    result = run("evaluate", "--label-column", "y", "-o", "json", input=text)
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["classes"] == ["cat", "dog", "bird"]
    scores = np.array([[2.0, 1, 0], [0, 3, 1]])
    expected = -special.log_softmax(scores, axis=1)[[0, 1], [0, 2]].mean()
    assert data["nll"] == pytest.approx(expected, rel=1e-14)
    assert data["accuracy"] == 0.5


def test_evaluate_matches_reference_formulas_on_a_file(tmp_path):
    scores, labels = sampled(1, 600, 6, temperature=1.5)
    path = write_csv(tmp_path / "preds.csv", scores, labels)
    result = run(
        "evaluate", "-i", path, "--label-column", "y", "--top-k", "1,3", "-t", "2", "-o", "json"
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    probs = special.softmax(scores / 2, axis=1)
    order = np.argsort(-scores, axis=1, kind="stable")
    onehot = np.eye(6)[labels]
    assert data["rows"] == 600 and data["temperature"] == 2.0
    assert data["nll"] == pytest.approx(mean_nll(scores, labels, 2.0), rel=1e-12)
    assert data["accuracy"] == pytest.approx(np.mean(order[:, 0] == labels), rel=1e-15)
    top3 = np.mean([labels[i] in order[i, :3] for i in range(600)])
    assert data["top_k_accuracy"]["3"] == pytest.approx(top3, rel=1e-15)
    assert data["brier"] == pytest.approx(((probs - onehot) ** 2).sum(1).mean(), rel=1e-12)
    entropy = special.entr(probs).sum(axis=1).mean()
    assert data["mean_entropy"] == pytest.approx(entropy, rel=1e-12)
    assert sum(b["count"] for b in data["bins"]) == 600


def test_evaluate_table_shows_metrics_and_a_reliability_diagram():
    # One overconfident row (confidence 3/4, wrong): its bar is shaded to the confidence.
    result = run("evaluate", f"{LOG3},0", "--labels", "1", "--bins", "4", "-o", "table")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "reliability diagram" in out
    assert "ECE (4 bins)" in out and "0.7500" in out
    diagram_row = next(line for line in out.splitlines() if "0.50-0.75" in line)
    assert "░" * 18 in diagram_row and "█" not in diagram_row


def test_evaluate_table_legend_and_bars_carry_no_markup_tags():
    result = run("evaluate", f"{LOG3},0;0,{LOG3}", "--labels", "1,1", "--bins", "4", "-o", "table")
    assert result.exit_code == 0, result.stderr
    legend = result.stdout.rstrip().splitlines()[-1]
    assert legend == "█ accuracy   ░ overconfident (confidence above accuracy)   ▓ underconfident"
    assert "[/" not in result.stdout and "[red]" not in result.stdout


def test_evaluate_table_through_a_real_pipe_exits_zero():
    result = subprocess.run(
        [sys.executable, "-m", "softmax_cli", "evaluate", "2,1,0.1", "--labels", "0"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.startswith("rows,nll,")  # csv when stdout is a pipe
    result = subprocess.run(
        [sys.executable, "-m", "softmax_cli", "evaluate", "2,1", "--labels", "0", "-o", "table"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert "reliability diagram" in result.stdout


def test_evaluate_csv_does_not_import_rich():
    result = probe("evaluate", "2,1,0.1", "--labels", "0", "-o", "csv")
    assert (result.returncode, result.stderr) == (0, "")
    assert "rich" not in result.imported


# --- evaluate: bad input ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "args", "message"),
    [
        ("a,b,c,y\n1,2,3,0\n1,2,3,7\n", ["--label-column", "y"], "line 3: label 7 is out of range"),
        ("a,b,c,y\n1,2,3,1.5\n", ["--label-column", "y"], "line 2: label 1.5 is not a class"),
        (
            "a,b,c,y\n1,2,3,0\n1,nan,3,0\n",
            ["--label-column", "y"],
            "line 3, column 2: NaN is not a score",
        ),
        ("a,b,c,y\n1,x,3,0\n", ["--label-column", "y"], "line 2, column 2: 'x' is not a number"),
        ("a,b,c,y\n1,2,3,zebra\n", ["--label-column", "y"], "'zebra' is neither"),
        ("1,2,3\n4,5,6\n", ["--labels", "0"], "line 2: no label for this row"),
        ("1,2,3\n", ["--labels", "0,1"], "--labels gives 2 labels for 1 rows"),
        ("a,b,c,y\n", ["--label-column", "y"], "no rows to evaluate"),
    ],
)
def test_evaluate_bad_data_is_one_line_and_exit_1(text, args, message):
    result = run("evaluate", *args, "-o", "json", input=text)
    assert result.exit_code == 1
    assert result.stdout == ""
    # One error line, after any note the reader had (a header with no rows after it).
    errors = [line for line in result.stderr.splitlines() if not line.startswith("softmax: note:")]
    assert len(errors) == 1 and message in errors[0], result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "softmax evaluate: needs labels"),
        (["--labels", "0", "--label-column", "y"], "--labels: give the labels one way"),
        (["--labels", "0", "--top-k", "0"], "--top-k: every k must be 1 or more"),
        (["--labels", "0", "--top-k", "one"], "is not a comma-separated list of whole numbers"),
        (["--labels", "0", "--bins", "0"], "softmax evaluate: --bins: must be a whole number"),
        (["--labels", "0", "-t", "0"], "softmax evaluate: -t: must be a finite number above 0"),
    ],
)
def test_evaluate_usage_errors_exit_2(args, message):
    result = run("evaluate", "2,1,0.1", *args, "-o", "json")
    assert result.exit_code == 2
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


# --- calibrate --------------------------------------------------------------------


def test_calibrate_fits_the_temperature_that_minimises_the_nll(tmp_path):
    scores, labels = sampled(2, 3000, 8, temperature=2.5)
    path = write_csv(tmp_path / "val.csv", scores, labels)
    result = run("calibrate", "-i", path, "--label-column", "y", "-o", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    best = optimize.minimize_scalar(
        lambda log_t: mean_nll(scores, labels, math.exp(log_t)),
        bounds=(-4, 4),
        method="bounded",
        options={"xatol": 1e-10},
    )
    assert data["operation"] == "calibrate"
    assert data["temperature"] == pytest.approx(math.exp(best.x), rel=1e-6)
    assert data["rows"] == data["rows_fitted"] == 3000
    assert data["before"]["nll"] == pytest.approx(mean_nll(scores, labels, 1.0), rel=1e-12)
    assert data["after"]["nll"] == pytest.approx(best.fun, rel=1e-9)
    assert data["after"]["accuracy"] == data["before"]["accuracy"]
    assert data["after"]["ece"] < data["before"]["ece"]


def test_calibrate_apply_writes_softmax_at_the_fitted_temperature(tmp_path):
    scores, labels = sampled(3, 500, 4, temperature=0.6)
    path = write_csv(tmp_path / "val.csv", scores, labels, names=["a", "b", "c", "d"])
    report = run("calibrate", "-i", path, "--label-column", "y", "-o", "json")
    temperature = json.loads(report.stdout)["temperature"]
    assert 0.3 < temperature < 1.0
    result = run("calibrate", "-i", path, "--label-column", "y", "--apply", "-o", "csv")
    assert result.exit_code == 0, result.stderr
    header, *lines = result.stdout.splitlines()
    assert header == "a,b,c,d"
    written = np.array([[float(v) for v in line.split(",")] for line in lines])
    assert_allclose(written, special.softmax(scores / temperature, axis=1), rtol=1e-12)
    assert_array_equal(written.argmax(axis=1), scores.argmax(axis=1))


def test_calibrate_apply_json_names_the_fitted_temperature(tmp_path):
    scores, labels = sampled(4, 200, 3, temperature=2.0)
    path = write_csv(tmp_path / "val.csv", scores, labels)
    report = json.loads(run("calibrate", "-i", path, "--label-column", "y", "-o", "json").stdout)
    result = run("calibrate", "-i", path, "--label-column", "y", "--apply", "-o", "json")
    data = json.loads(result.stdout)
    assert data["operation"] == "softmax"
    assert data["temperature"] == report["temperature"]
    assert len(data["rows"]) == 200


def test_calibrate_csv_reports_each_metric_before_and_after():
    result = run("calibrate", "3,1,0;0,2,1;1,0,2;2,1,0", "--labels", "0,1,0,2", "-o", "csv")
    assert result.exit_code == 0, result.stderr
    row = next(csv.DictReader(io.StringIO(result.stdout)))
    assert list(row)[:4] == ["temperature", "rows", "nll_before", "nll_after"]
    assert float(row["nll_after"]) <= float(row["nll_before"])
    # Rows 1 and 2 have their label as the top score; rows 3 and 4 do not.
    assert row["accuracy_before"] == row["accuracy_after"] == "0.5"


def test_calibrate_table_shows_the_temperature_and_both_columns():
    result = run("calibrate", "3,1,0;0,2,1;1,0,2", "--labels", "0,1,0", "-o", "table")
    assert result.exit_code == 0, result.stderr
    assert "temperature scaling: T = " in result.stdout
    assert "before (T = 1)" in result.stdout


def test_calibrate_separable_data_is_one_line_and_exit_1():
    result = run("calibrate", "3,1,0;0,2,1", "--labels", "0,1", "-o", "json")
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert "cannot fit a temperature: the NLL keeps falling as T -> 0" in result.stderr


def test_calibrate_label_out_of_range_is_exit_1():
    result = run("calibrate", "-o", "json", "--label-column", "2", input="1,2,5\n2,1,0\n")
    assert result.exit_code == 1
    assert result.stderr == "softmax: line 1: label 5 is out of range for 2 classes\n"


def test_calibrate_help_says_how_much_memory_it_holds():
    result = run("calibrate", "--help")
    assert result.exit_code == 0
    assert "8 bytes x rows x classes" in result.stdout
