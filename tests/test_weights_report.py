"""Sample weights, ``evaluate --report`` and the calibration-error options, checked against
scikit-learn and torchmetrics (test-only dependencies) from the command line."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import log_softmax, softmax
from sklearn import metrics as skm
from typer.testing import CliRunner

from softmax_cli import metrics
from softmax_cli.cli import app
from softmax_cli.options import command_named


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(app, list(args), input=input)


def write_table(path, scores, labels, weights=None, names=None):
    """A csv with a header of class names, a label column ``y`` and a weight column ``w``."""
    names = names or [f"c{i}" for i in range(scores.shape[1])]
    head = [*names, "y"] + (["w"] if weights is not None else [])
    lines = [",".join(head)]
    for index, row in enumerate(scores.tolist()):
        cells = [repr(v) for v in row] + [str(int(labels[index]))]
        if weights is not None:
            cells.append(repr(float(weights[index])))
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def evaluate_json(*args: str) -> dict:
    result = run("evaluate", *args, "-o", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def random_case(seed: int, rows: int = 600, classes: int = 5):
    rng = np.random.default_rng(seed)
    scores = rng.normal(0, 2, (rows, classes))
    labels = rng.integers(0, classes, rows)
    weights = rng.uniform(0, 3, rows)
    weights[rng.random(rows) < 0.1] = 0.0  # zero weights are allowed
    return scores, labels, weights


def check_against_sklearn(data: dict, scores, labels, weights, classes: int) -> None:
    probs = softmax(scores, axis=1)
    predicted = scores.argmax(axis=1)
    everyone = list(range(classes))
    assert data["nll"] == pytest.approx(
        skm.log_loss(labels, probs, sample_weight=weights, labels=everyone), rel=1e-12
    )
    assert data["accuracy"] == pytest.approx(
        skm.accuracy_score(labels, predicted, sample_weight=weights), rel=1e-12
    )
    assert data["top_k_accuracy"]["2"] == pytest.approx(
        skm.top_k_accuracy_score(labels, probs, k=2, sample_weight=weights, labels=everyone),
        rel=1e-12,
    )
    assert data["brier"] == pytest.approx(
        skm.brier_score_loss(labels, probs, sample_weight=weights, labels=everyone), rel=1e-12
    )
    expected = skm.confusion_matrix(labels, predicted, sample_weight=weights, labels=everyone)
    assert_allclose(np.array(data["confusion_matrix"], dtype=float), expected, rtol=1e-12)
    report = skm.classification_report(
        labels,
        predicted,
        sample_weight=weights,
        labels=everyone,
        output_dict=True,
        zero_division=0,
    )
    for index, row in enumerate(data["per_class"]):
        peer = report[str(index)]
        assert row["precision"] == pytest.approx(peer["precision"], rel=1e-12, abs=1e-15)
        assert row["recall"] == pytest.approx(peer["recall"], rel=1e-12, abs=1e-15)
        assert row["f1"] == pytest.approx(peer["f1-score"], rel=1e-12, abs=1e-15)
        assert row["support"] == pytest.approx(peer["support"], rel=1e-12)
    for ours, theirs in (("macro_avg", "macro avg"), ("weighted_avg", "weighted avg")):
        for key, peer_key in (("precision", "precision"), ("recall", "recall"), ("f1", "f1-score")):
            assert data[ours][key] == pytest.approx(report[theirs][peer_key], rel=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_weighted_metrics_and_report_match_sklearn_on_random_data(tmp_path, seed):
    scores, labels, weights = random_case(seed)
    path = write_table(tmp_path / "s.csv", scores, labels, weights)
    data = evaluate_json(
        "-i",
        path,
        "--label-column",
        "y",
        "--sample-weight-column",
        "w",
        "--top-k",
        "1,2",
        "--report",
    )
    assert data["weight"] == pytest.approx(weights.sum(), rel=1e-12)
    check_against_sklearn(data, scores, labels, weights, 5)


def test_a_model_trained_on_sklearn_digits_is_evaluated_as_sklearn_does(tmp_path):
    torch = pytest.importorskip("torch")
    torchmetrics = pytest.importorskip("torchmetrics.functional.classification")
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    features, target = load_digits(return_X_y=True)
    train_x, test_x, train_y, test_y = train_test_split(
        features, target, test_size=0.4, random_state=0
    )
    model = LogisticRegression(max_iter=300).fit(train_x / 16, train_y)
    scores = model.decision_function(test_x / 16)
    weights = np.random.default_rng(5).integers(0, 4, test_y.shape[0]).astype(float)
    names = [f"digit{d}" for d in range(10)]
    path = write_table(tmp_path / "digits.csv", scores, test_y, weights, names)
    data = evaluate_json(
        "-i",
        path,
        "--label-column",
        "y",
        "--sample-weight-column",
        "w",
        "--top-k",
        "1,2",
        "--report",
    )
    assert [row["class"] for row in data["per_class"]] == names
    check_against_sklearn(data, scores, test_y, weights, 10)
    # the model's own probabilities are the softmax of its decision function
    assert data["nll"] == pytest.approx(
        skm.log_loss(test_y, model.predict_proba(test_x / 16), sample_weight=weights), rel=1e-9
    )
    plain = write_table(tmp_path / "plain.csv", scores, test_y, None, names)
    for norm in ("l1", "l2", "max"):
        unweighted = evaluate_json("-i", plain, "--label-column", "y", "--ece-norm", norm)
        peer = torchmetrics.multiclass_calibration_error(
            torch.tensor(softmax(scores, axis=1)), torch.tensor(test_y), 10, n_bins=15, norm=norm
        )
        assert unweighted["calibration_error"] == pytest.approx(float(peer), abs=2e-6)


@pytest.mark.parametrize("norm", ["l1", "l2", "max"])
@pytest.mark.parametrize("bins", [5, 15])
def test_calibration_error_in_each_norm_matches_torchmetrics(tmp_path, norm, bins):
    torch = pytest.importorskip("torch")
    torchmetrics = pytest.importorskip("torchmetrics.functional.classification")
    scores, labels, _ = random_case(7, rows=800, classes=4)
    path = write_table(tmp_path / "s.csv", scores, labels)
    data = evaluate_json("-i", path, "--label-column", "y", "--ece-norm", norm, "--bins", str(bins))
    peer = torchmetrics.multiclass_calibration_error(
        torch.tensor(softmax(scores, axis=1)), torch.tensor(labels), 4, n_bins=bins, norm=norm
    )
    # torchmetrics works in float32
    assert data["calibration_error"] == pytest.approx(float(peer), abs=2e-6)
    named = {"l1": "ece", "l2": "rmsce", "max": "mce"}[norm]
    assert data[named] == data["calibration_error"]


def test_classwise_calibration_error_is_the_mean_of_torchmetrics_binary_errors(tmp_path):
    torch = pytest.importorskip("torch")
    torchmetrics = pytest.importorskip("torchmetrics.functional.classification")
    scores, labels, _ = random_case(8, rows=700, classes=4)
    path = write_table(tmp_path / "s.csv", scores, labels)
    probs = softmax(scores, axis=1)
    for norm in ("l1", "l2", "max"):
        data = evaluate_json("-i", path, "--label-column", "y", "--classwise", "--ece-norm", norm)
        peers = [
            float(
                torchmetrics.binary_calibration_error(
                    torch.tensor(probs[:, c]), torch.tensor(labels == c).int(), n_bins=15, norm=norm
                )
            )
            for c in range(4)
        ]
        assert data["classwise"] is True
        assert data["calibration_error"] == pytest.approx(np.mean(peers), abs=2e-6)


def test_torchmetrics_bins_lo_hi_in_float32_where_ours_are_lo_hi_closed_above():
    torch = pytest.importorskip("torch")
    torchmetrics = pytest.importorskip("torchmetrics.functional.classification")
    # confidences 0.5 (right) and 1/3 (wrong), 4 bins: ours both in (0.25, 0.5];
    # torchmetrics puts 0.5 in [0.5, 0.75) -- the README names this difference.
    scores = np.array([[0.0, 0.0, -np.inf], [0.0, 0.0, 0.0]])
    labels = np.array([0, 2])
    ours = metrics.evaluate(scores, labels, bins=4).ece
    assert ours == pytest.approx(abs(0.5 - (0.5 + 1 / 3) / 2), rel=1e-12)
    peer = torchmetrics.multiclass_calibration_error(
        torch.tensor(softmax(scores, axis=1)), torch.tensor(labels), 3, n_bins=4
    )
    assert float(peer) == pytest.approx(0.5 * (1 / 3) + 0.5 * 0.5, abs=1e-6)


def test_two_class_brier_is_the_sum_over_both_classes_twice_sklearns_binary_score():
    scores = np.log(np.array([[0.2, 0.8], [0.7, 0.3], [0.4, 0.6]]))
    labels = np.array([1, 0, 0])
    ours = metrics.evaluate(scores, labels).brier
    positive = softmax(scores, axis=1)[:, 1]
    assert ours == pytest.approx(2 * skm.brier_score_loss(labels, positive), rel=1e-12)


def test_top_k_ties_go_to_the_lower_index_where_sklearn_takes_the_higher():
    scores = np.log(np.array([[0.4, 0.3, 0.3]]))
    assert metrics.evaluate(scores, np.array([1]), top_k=(2,)).top_k[2] == 1.0
    assert metrics.evaluate(scores, np.array([2]), top_k=(2,)).top_k[2] == 0.0
    probs = softmax(scores, axis=1)
    assert skm.top_k_accuracy_score([1], probs, k=2, labels=[0, 1, 2]) == 0.0
    assert skm.top_k_accuracy_score([2], probs, k=2, labels=[0, 1, 2]) == 1.0


@given(
    st.integers(0, 2**32 - 1),
    st.sampled_from(["width", "mass"]),
    st.sampled_from(["l1", "l2", "max"]),
    st.booleans(),
)
def test_whole_weights_are_the_same_as_repeating_rows(seed, binning, norm, classwise):
    rng = np.random.default_rng(seed)
    rows, classes = int(rng.integers(1, 40)), int(rng.integers(2, 5))
    scores = rng.normal(0, 2, (rows, classes))
    labels = rng.integers(0, classes, rows)
    counts = rng.integers(0, 4, rows)
    counts[0] = max(counts[0], 1)
    settings = dict(bins=7, top_k=(1, 2), norm=norm, binning=binning, classwise=classwise)
    weighted = metrics.evaluate(
        scores, labels, weights=counts.astype(float), confusion=True, **settings
    )
    repeated = metrics.evaluate(
        np.repeat(scores, counts, axis=0), np.repeat(labels, counts), confusion=True, **settings
    )
    for name in ("nll", "accuracy", "brier", "ece", "mce", "rmsce", "mean_entropy"):
        assert_allclose(getattr(weighted, name), getattr(repeated, name), rtol=1e-9, atol=1e-12)
    assert_allclose(weighted.calibration_error, repeated.calibration_error, rtol=1e-9, atol=1e-12)
    assert_allclose(weighted.top_k[2], repeated.top_k[2], rtol=1e-12)
    assert_allclose(weighted.confusion.matrix(), repeated.confusion.matrix())


def test_equal_mass_bins_hold_equal_numbers_of_distinct_confidences():
    rng = np.random.default_rng(4)
    scores = rng.normal(0, 2, (120, 3))
    labels = rng.integers(0, 3, 120)
    report = metrics.evaluate(scores, labels, bins=6, binning="mass")
    assert [item.count for item in report.bins] == [20] * 6
    confidence = np.sort(softmax(scores, axis=1).max(axis=1))
    assert [item.upper for item in report.bins[:-1]] == confidence[19:-1:20].tolist()
    # the same ECE from the six groups of the sorted rows, computed directly
    correct = (scores.argmax(axis=1) == labels)[np.argsort(softmax(scores, axis=1).max(axis=1))]
    gaps = [
        abs(c.mean() - a.mean())
        for c, a in zip(np.split(confidence, 6), np.split(correct, 6), strict=True)
    ]
    assert report.ece == pytest.approx(np.mean(gaps), rel=1e-12)


def test_a_weights_file_gives_the_same_report_as_a_weight_column(tmp_path):
    scores, labels, weights = random_case(3, rows=50)
    with_column = write_table(tmp_path / "a.csv", scores, labels, weights)
    plain = write_table(tmp_path / "b.csv", scores, labels)
    (tmp_path / "w.txt").write_text("weight\n" + "\n".join(repr(float(w)) for w in weights) + "\n")
    one = evaluate_json("-i", with_column, "--label-column", "y", "--sample-weight-column", "w")
    two = evaluate_json(
        "-i", plain, "--label-column", "y", "--sample-weights", str(tmp_path / "w.txt")
    )
    assert one == two


def test_ignore_label_leaves_those_rows_out_of_every_metric(tmp_path):
    scores, labels, weights = random_case(9, rows=80, classes=3)
    labels[::4] = -100
    path = write_table(tmp_path / "s.csv", scores, labels, weights)
    data = evaluate_json(
        "-i",
        path,
        "--label-column",
        "y",
        "--ignore-label",
        "-100",
        "--sample-weight-column",
        "w",
        "--report",
    )
    keep = labels != -100
    kept = write_table(tmp_path / "k.csv", scores[keep], labels[keep], weights[keep])
    alone = evaluate_json(
        "-i", kept, "--label-column", "y", "--sample-weight-column", "w", "--report"
    )
    assert data["ignored_rows"] == 20 and data["rows"] == 60
    assert {k: v for k, v in data.items() if k != "ignored_rows"} == {
        k: v for k, v in alone.items() if k != "ignored_rows"
    }


def test_cross_entropy_combines_sample_and_class_weights_as_torch_would(tmp_path):
    torch = pytest.importorskip("torch")
    scores, labels, weights = random_case(11, rows=40, classes=3)
    path = write_table(tmp_path / "s.csv", scores, labels, weights)
    class_weights = torch.tensor([0.5, 2.0, 1.0], dtype=torch.float64)
    per_row = torch.nn.functional.cross_entropy(
        torch.tensor(scores), torch.tensor(labels), weight=class_weights, reduction="none"
    ).numpy()
    expected = (per_row * weights).sum() / (class_weights.numpy()[labels] * weights).sum()
    result = run(
        "cross-entropy",
        "-i",
        path,
        "--label-column",
        "y",
        "--sample-weight-column",
        "w",
        "--weights",
        "0.5,2,1",
        "-o",
        "json",
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["loss"] == pytest.approx(expected, rel=1e-12)
    assert_allclose(data["losses"], per_row * weights, rtol=1e-12)


def test_calibrate_with_whole_weights_fits_the_temperature_of_the_repeated_rows(tmp_path):
    rng = np.random.default_rng(12)
    scores = rng.normal(0, 3, (60, 4))
    labels = (scores + rng.normal(0, 3, (60, 4))).argmax(axis=1)  # informative, not perfect
    counts = rng.integers(0, 3, 60)
    weighted = write_table(tmp_path / "w.csv", scores, labels, counts.astype(float))
    repeated = write_table(
        tmp_path / "r.csv", np.repeat(scores, counts, axis=0), np.repeat(labels, counts)
    )
    one = run(
        "calibrate",
        "-i",
        weighted,
        "--label-column",
        "y",
        "--sample-weight-column",
        "w",
        "-o",
        "json",
    )
    two = run("calibrate", "-i", repeated, "--label-column", "y", "-o", "json")
    assert one.exit_code == 0 and two.exit_code == 0, one.stderr + two.stderr
    first, second = json.loads(one.stdout), json.loads(two.stdout)
    assert first["temperature"] == pytest.approx(second["temperature"], rel=1e-9)
    assert first["after"]["nll"] == pytest.approx(second["after"]["nll"], rel=1e-9)


def test_every_row_of_zero_weight_warns_and_gives_null_means(tmp_path):
    scores, labels, _ = random_case(2, rows=5, classes=3)
    path = write_table(tmp_path / "s.csv", scores, labels, np.zeros(5))
    result = run(
        "evaluate", "-i", path, "--label-column", "y", "--sample-weight-column", "w", "-o", "json"
    )
    assert result.exit_code == 0
    assert "every row has zero weight" in result.stderr
    assert json.loads(result.stdout)["nll"] is None
    loss = run(
        "xent", "-i", path, "--label-column", "y", "--sample-weight-column", "w", "-o", "json"
    )
    assert loss.exit_code == 0
    assert "every row has zero weight" in loss.stderr
    assert json.loads(loss.stdout)["loss"] is None


@pytest.mark.parametrize(
    ("weight", "what"), [("-1", "negative"), ("nan", "not finite"), ("inf", "not finite")]
)
@pytest.mark.parametrize("command", ["evaluate", "calibrate", "cross-entropy"])
def test_a_bad_weight_is_a_data_error_on_its_line(tmp_path, command, weight, what):
    path = tmp_path / "s.csv"
    path.write_text(f"a,b,y,w\n1,2,0,1\n2,1,1,0.5\n0,3,1,{weight}\n1,1,0,1\n")
    result = run(command, "-i", str(path), "--label-column", "y", "--sample-weight-column", "w")
    assert result.exit_code == 1
    assert "line 4: sample weight" in result.stderr and what in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1\n2\n", "line 4: no sample weight for this row"),
        ("1\n2\n3\n4\n", "has more weights than the 3 score rows"),
        ("1\nheavy\n3\n", "line 2: 'heavy' is not a number"),
    ],
)
def test_a_weights_file_that_does_not_fit_is_a_data_error(tmp_path, text, message):
    scores = tmp_path / "s.csv"
    scores.write_text("a,b,y\n1,2,0\n2,1,1\n0,3,1\n")
    weights = tmp_path / "w.txt"
    weights.write_text(text)
    for command in ("evaluate", "cross-entropy"):
        result = run(
            command, "-i", str(scores), "--label-column", "y", "--sample-weights", str(weights)
        )
        assert result.exit_code == 1, result.stdout
        assert message in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--sample-weight-column", "w", "--sample-weights", "x.txt"],
            "give sample weights one way",
        ),
        (["--sample-weight-column", "nope"], "--sample-weight-column 'nope': no such column"),
        (["--sample-weight-column", "y"], "it is also the --label-column"),
        (["--sample-weights", "missing.txt"], "cannot read 'missing.txt'"),
        (["--ece-norm", "l3"], "'l3' is not one of l1, l2, max"),
        (["--binning", "depth"], "'depth' is not one of width, mass"),
    ],
)
def test_bad_weight_and_calibration_options_are_usage_errors(tmp_path, args, message):
    path = tmp_path / "s.csv"
    path.write_text("a,b,y,w\n1,2,0,1\n2,1,1,0.5\n")
    result = run("evaluate", "-i", str(path), "--label-column", "y", *args)
    assert result.exit_code == 2, result.stdout
    assert message in result.stderr


def test_a_weight_column_needs_a_file_not_arguments():
    result = run("evaluate", "2,1;0,3", "-l", "0,1", "--sample-weight-column", "w")
    assert result.exit_code == 2
    assert "--sample-weight-column: needs input from a file or stdin" in result.stderr


def test_calibrate_apply_with_ignore_label_is_refused(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("a,b,y\n1,2,0\n2,1,1\n")
    result = run(
        "calibrate", "-i", str(path), "--label-column", "y", "--ignore-label", "1", "--apply"
    )
    assert result.exit_code == 2
    assert "--ignore-label: goes with the report, not --apply" in result.stderr


def test_every_row_ignored_is_a_data_error():
    result = run("evaluate", "2,1;0,3", "-l", "1,1", "--ignore-label", "1")
    assert result.exit_code == 1
    assert "no rows to evaluate: every row has the ignored label" in result.stderr


def test_a_report_of_more_than_a_thousand_classes_is_json_only_and_sparse():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(6, 1001))
    labels = rng.integers(0, 1001, 6)
    text = ";".join(",".join(repr(v) for v in row) for row in scores.tolist())
    label_text = ",".join(str(v) for v in labels)
    refused = run("evaluate", text, "-l", label_text, "--report", "-o", "table")
    assert refused.exit_code == 2
    assert "--report: a confusion matrix of 1,001 classes is too large" in refused.stderr
    data = evaluate_json(text, "-l", label_text, "--report")
    matrix = data["confusion_matrix"]
    assert matrix["sparse"] is True and matrix["shape"] == [1001, 1001]
    cells = {(t, p): c for t, p, c in matrix["cells"]}
    expected: dict = {}
    for truth, guess in zip(labels.tolist(), scores.argmax(axis=1).tolist(), strict=True):
        expected[(truth, guess)] = expected.get((truth, guess), 0) + 1
    assert cells == expected
    assert len(data["per_class"]) == 1001


def test_report_table_shades_with_glyphs_without_colour(tmp_path, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    path = tmp_path / "s.csv"
    # true cat: 3 cat, 1 dog; true dog: 4 dog
    rows = ["2,0,cat"] * 3 + ["0,2,cat"] + ["0,2,dog"] * 4
    path.write_text("cat,dog,y\n" + "\n".join(rows) + "\n")
    result = run("evaluate", "-i", str(path), "--label-column", "y", "--report", "-o", "table")
    assert result.exit_code == 0, result.stderr
    assert "\x1b[" not in result.stdout
    lines = [
        line
        for line in result.stdout.splitlines()
        if line.startswith("│ cat") or line.startswith("│ dog")
    ]
    matrix_lines = [line for line in lines if "▓" in line or "░" in line or "█" in line]
    assert "▓ 3" in matrix_lines[0] and "░ 1" in matrix_lines[0]
    assert "█ 4" in matrix_lines[1]
    assert "macro avg" in result.stdout and "weighted avg" in result.stdout


def test_report_as_csv_is_a_line_per_class_and_the_two_averages(tmp_path):
    scores, labels, _ = random_case(6, rows=90, classes=3)
    path = write_table(tmp_path / "s.csv", scores, labels)
    result = run("evaluate", "-i", path, "--label-column", "y", "--report", "-o", "csv")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "class,precision,recall,f1,support"
    assert [line.split(",")[0] for line in lines[1:]] == [
        "c0",
        "c1",
        "c2",
        "macro avg",
        "weighted avg",
    ]
    peer = skm.precision_recall_fscore_support(labels, scores.argmax(axis=1), labels=[0, 1, 2])
    assert_allclose([float(line.split(",")[3]) for line in lines[1:4]], peer[2], rtol=1e-12)
    assert_array_equal([int(line.split(",")[4]) for line in lines[1:4]], peer[3])


def test_the_new_options_are_declared_on_the_commands_that_weigh_rows():
    for name in ("evaluate", "calibrate", "cross-entropy"):
        command = command_named(name)
        assert command.option("--sample-weight-column") is not None
        assert command.option("--sample-weights") is not None
    for name in ("evaluate", "calibrate"):
        for flag in ("--ece-norm", "--binning", "--classwise", "--ignore-label"):
            assert command_named(name).option(flag) is not None


def test_log_probabilities_as_scores_give_sklearn_log_loss_on_probabilities(tmp_path):
    probs = np.random.default_rng(1).dirichlet(np.ones(4), 30)
    labels = np.arange(30) % 4
    path = write_table(tmp_path / "s.csv", log_softmax(np.log(probs), axis=1), labels)
    data = evaluate_json("-i", path, "--label-column", "y")
    assert data["nll"] == pytest.approx(skm.log_loss(labels, probs), rel=1e-12)
    assert math.isfinite(data["rmsce"])


def test_calibrate_reports_the_chosen_calibration_error_before_and_after(tmp_path):
    rng = np.random.default_rng(13)
    scores = rng.normal(0, 3, (200, 3))
    labels = (scores + rng.normal(0, 3, (200, 3))).argmax(axis=1)
    path = write_table(tmp_path / "s.csv", scores, labels)
    options = ["--ece-norm", "l2", "--binning", "mass", "--classwise", "--bins", "5"]
    result = run("calibrate", "-i", path, "--label-column", "y", *options, "-o", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    expected = metrics.evaluate(
        scores, labels, bins=5, norm="l2", binning="mass", classwise=True
    ).calibration_error
    assert data["before"]["calibration_error"] == pytest.approx(expected, rel=1e-12)
    assert data["after"]["classwise"] is True and data["after"]["binning"] == "mass"
    after = metrics.evaluate(
        scores,
        labels,
        bins=5,
        norm="l2",
        binning="mass",
        classwise=True,
        temperature=data["temperature"],
    ).calibration_error
    assert data["after"]["calibration_error"] == pytest.approx(after, rel=1e-12)


def test_the_report_names_classes_from_a_classes_file(tmp_path):
    names = tmp_path / "names.txt"
    names.write_text("ant\nbee\n")
    data = evaluate_json("2,1;0,3;1,0", "-l", "ant,bee,bee", "--classes", str(names), "--report")
    assert [row["class"] for row in data["per_class"]] == ["ant", "bee"]
    # truth ant, bee, bee; predicted ant, bee, ant
    assert data["confusion_matrix"] == [[1, 0], [1, 1]]
