"""softmax top, softmax sample and explain's filters, run as users run them."""

from __future__ import annotations

import csv
import io
import json
import math
import subprocess
import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose
from typer.testing import CliRunner

from softmax_cli.cli import app

runner = CliRunner()


def run(*args: str, stdin: str | bytes | None = None):
    return runner.invoke(app, list(args), input=stdin)


def reference_probs(x, t=1.0):
    x = np.asarray(x, dtype=float)
    z = np.exp((x - x.max()) / t)
    return z / z.sum()


def _one_line_error(result, code: int) -> str:
    assert result.exit_code == code, result.stdout
    assert "Traceback" not in result.stderr
    return result.stderr.splitlines()[0]


# --- top -------------------------------------------------------------------------


def test_top_writes_tidy_lines_with_every_field():
    scores = [2.0, 1.0, 0.1, 3.0]
    result = run("top", "-k", "3", *map(str, scores), "-o", "csv")
    assert result.exit_code == 0, result.stderr
    lines = list(csv.reader(io.StringIO(result.stdout)))
    assert lines[0] == ["row", "rank", "class", "prob", "logprob", "cumulative"]
    p = reference_probs(scores)
    order = [3, 0, 1]
    assert [line[:3] for line in lines[1:]] == [
        ["1", str(r + 1), str(c)] for r, c in enumerate(order)
    ]
    got = np.array([[float(v) for v in line[3:]] for line in lines[1:]])
    assert_allclose(got[:, 0], p[order], rtol=1e-14)
    assert_allclose(got[:, 1], np.log(p[order]), rtol=1e-14)
    assert_allclose(got[:, 2], np.cumsum(p[order]), rtol=1e-14)


def test_top_json_gives_the_same_fields_per_row_and_rank():
    result = run("top", "-k", "2", "1,2,3;3,2,1", "-t", "0.5", "-o", "json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    rows = document["rows"]
    assert [(r["row"], r["rank"], r["class"]) for r in rows] == [
        (1, 1, 2),
        (1, 2, 1),
        (2, 1, 0),
        (2, 2, 1),
    ]
    assert set(rows[0]) == {"row", "rank", "class", "prob", "logprob", "cumulative"}
    assert_allclose(rows[0]["prob"], reference_probs([1, 2, 3], 0.5)[2], rtol=1e-14)


def test_top_names_classes_from_a_vocabulary(tmp_path):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("the\ncat\nsat\n")
    result = run("top", "-k", "1", "0.1", "2", "1", "--classes", str(vocab), "-o", "ndjson")
    assert json.loads(result.stdout.splitlines()[0])["class"] == "cat"


def test_top_carries_kept_columns():
    result = run("top", "-k", "1", "--keep", "id", "-o", "csv", stdin="id,a,b\nx7,1,2\ny8,5,0\n")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "id,row,rank,class,prob,logprob,cumulative"
    assert lines[1].startswith("x7,1,1,b,") and lines[2].startswith("y8,2,1,a,")


def test_top_k_beyond_the_width_gives_every_class_and_ties_rank_by_index():
    result = run("top", "-k", "9", "1", "3", "3", "0", "-o", "csv")
    classes = [line.split(",")[2] for line in result.stdout.splitlines()[1:]]
    assert classes == ["1", "2", "0", "3"]


def test_top_of_a_vocabulary_sized_row_finds_the_planted_maximum():
    rng = np.random.default_rng(8)
    row = rng.normal(0, 1, 256_000)
    row[123_456] = 30.0
    row[7] = 29.0
    result = run("top", "-k", "2", "-o", "csv", stdin=",".join(map(repr, row.tolist())) + "\n")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()[1:]
    assert [line.split(",")[2] for line in lines] == ["123456", "7"]
    assert_allclose(float(lines[0].split(",")[3]), reference_probs(row)[123_456], rtol=1e-12)


def test_top_table_shows_entropy_and_the_mass_outside_the_top_k():
    scores = [2.0, 1.0, 0.1, -1.0]
    result = run("top", "-k", "2", *map(str, scores), "-o", "table")
    assert result.exit_code == 0, result.stderr
    p = reference_probs(scores)
    entropy = -(p * np.log(p)).sum()
    assert f"entropy {entropy:.4f} nats" in result.stdout
    assert f"mass outside the top 2: {p[2] + p[3]:.4f}" in result.stdout


def test_top_writes_the_rows_before_a_bad_one():
    result = run("top", "-k", "1", "-o", "csv", stdin="1,2\n3,x\n")
    assert _one_line_error(result, 1) == "softmax: line 2, column 2: 'x' is not a number"
    assert len(result.stdout.splitlines()) == 2


@pytest.mark.parametrize("value", ["0", "-1", "1.5", "x"])
def test_top_k_below_one_is_a_usage_error(value):
    result = run("top", "-k", value, "1", "2")
    assert _one_line_error(result, 2).startswith("softmax top: -k: must be a whole number")


# --- sample ----------------------------------------------------------------------


def _draws(result) -> list[int]:
    assert result.exit_code == 0, result.stderr
    return [int(v) for v in result.stdout.split(",")]


def test_sample_csv_is_one_line_per_row_with_n_draws():
    result = run("sample", "-n", "4", "--seed", "1", "1,2,3;3,2,1;0,0,0", "-o", "csv")
    lines = result.stdout.splitlines()
    assert len(lines) == 3 and all(len(line.split(",")) == 4 for line in lines)


def test_sample_draws_are_the_documented_inverse_cdf_of_pcg64():
    scores = np.array([1.5, -0.3, 2.2, 0.0, 1.0])
    result = run("sample", "-n", "200", "--seed", "2024", "-t", "0.7", *map(str, scores))
    uniforms = np.random.Generator(np.random.PCG64(2024)).random(200)
    cdf = np.cumsum(reference_probs(scores, 0.7))
    expected = [int(np.argmax(cdf > u * cdf[-1])) for u in uniforms]
    assert _draws(result) == expected


@pytest.mark.parametrize(
    "options",
    [
        [],
        ["--top-k", "3"],
        ["--top-p", "0.8"],
        ["--min-p", "0.2"],
        ["-t", "1.7", "--top-k", "4", "--top-p", "0.9", "--min-p", "0.05"],
    ],
    ids=" ".join,
)
def test_sample_frequencies_over_100000_draws_are_within_5_sd(options):
    scores = np.array([2.0, 1.4, 1.1, 0.3, -0.5, -1.0, -np.inf, 0.9])
    result = run(
        "sample", "-n", "100000", "--seed", "77", *options, *map(str, scores), "-o", "json"
    )
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    draws = np.array(document["rows"][0]["draws"])
    # The filtered distribution, derived here from the options' definitions.
    t = float(options[options.index("-t") + 1]) if "-t" in options else 1.0
    p = reference_probs(scores, t)
    keep = p > 0
    if "--top-k" in options:
        k = int(options[options.index("--top-k") + 1])
        keep &= p >= np.sort(p)[-k]
    if "--top-p" in options:
        q = np.where(keep, p, 0) / np.where(keep, p, 0).sum()
        order = np.argsort(-q)
        before = np.cumsum(q[order]) - q[order]
        cut = np.zeros_like(keep)
        cut[order[before < float(options[options.index("--top-p") + 1])]] = True
        keep &= cut
    if "--min-p" in options:
        keep &= p >= float(options[options.index("--min-p") + 1]) * p.max()
    expected = np.where(keep, p, 0) / np.where(keep, p, 0).sum()
    counts = np.bincount(draws, minlength=scores.size)
    n = draws.size
    assert (np.abs(counts - n * expected) <= 5 * np.sqrt(n * expected * (1 - expected))).all()
    assert (counts[~keep] == 0).all()
    assert document["rows"][0]["support"] == int(keep.sum())


def test_masked_classes_are_never_drawn_and_plus_infinity_always_is():
    masked = run("sample", "-n", "5000", "--seed", "3", "0", "-inf", "0", "-inf")
    assert set(_draws(masked)) == {0, 2}
    infinite = run("sample", "-n", "1000", "--seed", "3", "50", "inf", "49", "-t", "9")
    assert set(_draws(infinite)) == {1}


@pytest.mark.parametrize("options", [["--top-k", "99"], ["--top-p", "1"], ["--min-p", "0"]])
def test_filters_that_keep_everything_change_no_draw(options):
    scores = ["3", "2", "1", "-30"]
    plain = run("sample", "-n", "300", "--seed", "9", *scores)
    filtered = run("sample", "-n", "300", "--seed", "9", *options, *scores)
    assert _draws(plain) == _draws(filtered)


def test_the_same_seed_gives_the_same_draws_across_runs():
    args = [
        sys.executable,
        "-m",
        "softmax_cli",
        "sample",
        "-n",
        "50",
        "--seed",
        "42",
        "--top-p",
        "0.9",
        "1",
        "2",
        "3",
        "0.5",
    ]
    first = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    second = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    in_process = run("sample", "-n", "50", "--seed", "42", "--top-p", "0.9", "1", "2", "3", "0.5")
    assert first == second == in_process.stdout


def test_print_seed_gives_a_seed_that_repeats_the_run():
    scores = ["1", "2", "3", "0.5", "1.5"]
    result = run("sample", "-n", "40", "--print-seed", *scores)
    seed = result.stderr.strip().removeprefix("softmax: seed ")
    again = run("sample", "-n", "40", "--seed", seed, *scores)
    assert _draws(result) == _draws(again)


def test_without_a_seed_draws_differ_between_runs():
    first = run("sample", "-n", "64", *["0"] * 50)
    second = run("sample", "-n", "64", *["0"] * 50)
    assert _draws(first) != _draws(second)


def test_names_print_class_names(tmp_path):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("a,b\nc\n")
    result = run(
        "sample", "-n", "3", "--seed", "1", "--names", "--classes", str(vocab), "-inf", "0"
    )
    assert result.stdout == "c,c,c\n"
    header = run("sample", "-n", "2", "--seed", "1", "--names", "-o", "json", stdin="x,y\n0,-inf\n")
    assert json.loads(header.stdout)["rows"][0]["draws"] == ["x", "x"]


def test_names_without_class_names_is_a_usage_error():
    result = run("sample", "--names", "1", "2")
    assert _one_line_error(result, 2) == (
        "softmax sample: --names: needs class names: a header in the input or --classes FILE"
    )


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--top-p", "0"),
        ("--top-p", "-0.1"),
        ("--top-p", "1.01"),
        ("--top-k", "0"),
        ("--min-p", "-0.5"),
        ("--min-p", "2"),
        ("-n", "0"),
        ("--seed", "-1"),
        ("--seed", "x"),
        ("--seed", str(1 << 64)),
    ],
)
def test_bad_filter_values_are_usage_errors(option, value):
    result = run("sample", option, value, "1", "2")
    assert _one_line_error(result, 2).startswith(f"softmax sample: {option}: must be")


def test_sample_stops_at_a_bad_row_after_writing_the_rows_before_it():
    result = run("sample", "--seed", "1", "-o", "csv", stdin="1,2\n3,nan\n")
    assert _one_line_error(result, 1) == "softmax: line 2, column 2: NaN is not a score"
    assert len(result.stdout.splitlines()) == 1


def test_sample_table_lists_draws_and_support():
    result = run("sample", "-n", "3", "--seed", "5", "--top-k", "2", "0,1,2", "-o", "table")
    assert result.exit_code == 0, result.stderr
    assert "support" in result.stdout and "seed 5" in result.stdout


# --- explain with filters ------------------------------------------------------------


def test_explain_shows_which_classes_survive_and_the_entropy_before_and_after():
    scores = [3.0, 2.5, 1.0, 0.2]
    result = run("explain", *map(str, scores), "--top-p", "0.8", "-o", "json")
    assert result.exit_code == 0, result.stderr
    steps = json.loads(result.stdout)
    p = reference_probs(scores)
    assert steps["kept"] == [True, True, False, False]  # 0.55 < 0.8 <= 0.55 + 0.34
    q = np.array([p[0], p[1], 0, 0]) / (p[0] + p[1])
    assert_allclose(steps["filtered_probs"], q, rtol=1e-14)
    assert math.isclose(steps["entropy_before"], -(p * np.log(p)).sum(), rel_tol=1e-13)
    assert math.isclose(steps["entropy_after"], -(q[:2] * np.log(q[:2])).sum(), rel_tol=1e-13)


def test_explain_table_marks_the_filter_that_drops_each_class():
    result = run("explain", "3", "2", "1", "0", "--top-k", "3", "--min-p", "0.3", "-o", "table")
    assert result.exit_code == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("│")]
    assert [row.count("✓") for row in rows] == [2, 2, 1, 0]
    assert [row.count("✗") for row in rows] == [0, 0, 1, 1]
    assert "2 of 4 classes kept" in result.stdout


def test_explain_filters_go_without_sweep_or_label():
    result = run("explain", "1", "2", "--top-p", "0.5", "--label", "0")
    assert _one_line_error(result, 2).startswith("softmax explain: shows filters alone")


def test_sample_ndjson_objects_come_back_whole_with_the_draws():
    stdin = '{"id":"a","logits":[0,"-inf"]}\n{"id":"b","logits":["-inf",5]}\n'
    result = run("sample", "--key", "logits", "-n", "2", "--seed", "1", "-o", "ndjson", stdin=stdin)
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines == [
        {"id": "a", "logits": [0, "-inf"], "draws": [0, 0], "support": 1},
        {"id": "b", "logits": ["-inf", 5], "draws": [1, 1], "support": 1},
    ]


def test_a_sample_table_shows_the_first_draws_and_counts_the_rest():
    result = run("sample", "-n", "100", "--seed", "1", "1", "2", "-o", "table")
    assert "(60 more; -o csv shows all)" in result.stdout


def test_top_of_a_single_column_is_one_vector():
    result = run("top", "-k", "1", "-o", "csv", stdin="1\n5\n2\n")
    assert result.stdout.splitlines()[1].startswith("1,1,1,")


@pytest.mark.parametrize(
    ("option", "value"), [("--top-p", "0"), ("--top-k", "0"), ("--min-p", "-1")]
)
def test_bad_explain_filter_values_are_usage_errors(option, value):
    result = run("explain", "1", "2", option, value)
    assert _one_line_error(result, 2).startswith(f"softmax explain: {option}: must be")
