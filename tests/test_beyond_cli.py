"""sparsemax, entmax, hsoftmax and their explain views, run as users run them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose
from typer.testing import CliRunner

from softmax_cli.cli import app

runner = CliRunner()
ROOT = Path(__file__).resolve().parent.parent
ANIMALS = str(ROOT / "examples" / "animals.tree")
TRY_LINE = "Try 'softmax {} --help' for help."


def run(*args: str, stdin: str | None = None):
    return runner.invoke(app, list(args), input=stdin)


def csv_rows(text: str) -> np.ndarray:
    return np.array([[float(v) for v in line.split(",")] for line in text.splitlines()])


def sparsemax_by_hand(z: np.ndarray) -> np.ndarray:
    """Sorting formula, one row at a time."""
    out = []
    for row in np.atleast_2d(z):
        ordered = np.sort(row)[::-1]
        sums = np.cumsum(ordered)
        k = max(i + 1 for i in range(len(row)) if 1 + (i + 1) * ordered[i] > sums[i])
        tau = (sums[k - 1] - 1) / k
        out.append(np.maximum(row - tau, 0))
    return np.array(out)


def sigmoid(x: float) -> float:
    return 1 / (1 + np.exp(-x))


def usage_error(result, command: str, option: str | None, words: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 2, result.stderr
    prefix = f"softmax {command}: " + (f"{option}: " if option else "")
    assert lines[0].startswith(prefix), lines[0]
    assert words in lines[0]
    assert lines[1] == TRY_LINE.format(command)
    assert "Traceback" not in result.output


def data_error(result, words: str) -> None:
    assert result.exit_code == 1, result.output
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert words in result.stderr
    assert "Traceback" not in result.output


# --- sparsemax and entmax ------------------------------------------------------------


def test_sparsemax_writes_exact_zeros_as_csv() -> None:
    result = run("sparsemax", "2", "1.5", "0.1", "-1")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "0.75,0.25,0.0,0.0\n"


def test_sparsemax_streams_a_file_with_a_header_and_a_temperature(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    scores = rng.normal(0, 1, (5000, 4))
    text = "a,b,c,d\n" + "".join(",".join(repr(float(v)) for v in row) + "\n" for row in scores)
    result = run("sparsemax", "-t", "0.5", "-o", "csv", stdin=text)
    assert result.exit_code == 0, result.stderr
    header, *lines = result.stdout.splitlines()
    assert header == "a,b,c,d"
    assert_allclose(csv_rows("\n".join(lines)), sparsemax_by_hand(scores / 0.5), atol=1e-14)


def test_entmax_json_names_the_operation_and_alpha() -> None:
    result = run("entmax", "--alpha", "1.5", "1", "0.5", "0", "-o", "json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["operation"] == "entmax" and document["alpha"] == 1.5
    # By hand: z/2 = (0.5, 0.25, 0); τ solves Σ (z_i/2 - τ)² = 1 with all three above τ:
    # 3τ² - 1.5τ + (0.3125 - 1) = 0.
    tau = (1.5 - np.sqrt(1.5**2 - 4 * 3 * (0.3125 - 1))) / 6
    assert tau < 0  # all three are in the support
    expected = [(0.5 - tau) ** 2, (0.25 - tau) ** 2, (0.0 - tau) ** 2]
    assert_allclose(document["rows"][0], np.array(expected) / sum(expected), rtol=1e-13)


def test_entmax_alpha_one_is_softmax_and_two_is_sparsemax() -> None:
    soft = run("entmax", "--alpha", "1", "2", "1", "0.1").stdout
    assert soft == run("probs", "2", "1", "0.1").stdout
    assert run("entmax", "--alpha", "2", "2", "1.5", "0.1").stdout == "0.75,0.25,0.0\n"


def test_ndjson_objects_get_the_result_under_probs() -> None:
    stdin = '{"id": 1, "s": [2, 1.5, 0.1]}\n'
    result = run("sparsemax", "--key", "s", "-o", "ndjson", stdin=stdin)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"id": 1, "s": [2, 1.5, 0.1], "probs": [0.75, 0.25, 0.0]}


def test_a_nan_row_ends_the_output_after_the_rows_before_it() -> None:
    result = run("sparsemax", stdin="1,2\n3,4\n5,nan\n7,8\n")
    data_error(result, "line 3, column 2: NaN is not a score")
    assert result.stdout == "0.0,1.0\n0.0,1.0\n"


def test_an_all_minus_inf_row_is_a_located_data_error() -> None:
    data_error(run("entmax", "--alpha", "1.5", stdin="1,2\n-inf,-inf\n"), "line 2: every score")


@pytest.mark.parametrize(
    ("args", "option", "words"),
    [
        (["entmax", "1", "2"], None, "needs --alpha"),
        (["entmax", "--alpha", "0.5", "1", "2"], "--alpha", "at least 1"),
        (["entmax", "--alpha", "nan", "1", "2"], "--alpha", "at least 1"),
        (["sparsemax", "1", "2", "--labels", "0"], "--labels", "goes with --loss"),
        (["sparsemax", "1", "2", "--reduction", "sum"], "--reduction", "goes with --loss"),
        (["sparsemax", "1", "2", "--loss"], None, "needs labels"),
    ],
)
def test_usage_errors_of_sparsemax_and_entmax(args, option, words) -> None:
    usage_error(run(*args), args[0], option, words)


# --- losses --------------------------------------------------------------------------


def test_the_sparsemax_loss_per_row_is_the_closed_form() -> None:
    rows = np.array([[2.0, 1.5, 0.1], [0.0, 0.0, 0.0], [1.0, -3.0, 0.5]])
    labels = [2, 1, 0]
    result = run(
        "sparsemax",
        ";".join(",".join(map(str, r)) for r in rows),
        "--loss",
        "-l",
        ",".join(map(str, labels)),
        "--reduction",
        "none",
        "-o",
        "csv",
    )
    assert result.exit_code == 0, result.stderr
    p = sparsemax_by_hand(rows)
    expected = []
    for z, y, probs in zip(rows, labels, p, strict=True):
        support = probs > 0
        tau = (z[support] - probs[support]).mean()
        expected.append(-z[y] + 0.5 * (z[support] ** 2 - tau**2).sum() + 0.5)
    assert_allclose([float(v) for v in result.stdout.split()], expected, atol=1e-13)


def test_the_loss_is_finite_where_cross_entropy_is_infinite() -> None:
    result = run("entmax", "--alpha", "1.5", "5", "0", "-1", "--loss", "-l", "2", "-o", "json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["operation"] == "entmax_loss"
    assert 0 < document["loss"] < 10
    ce = json.loads(run("xent", "5", "0", "-1", "-l", "2", "-o", "json").stdout)["loss"]
    assert ce > 0  # finite for softmax; sparse probabilities would make it infinite


def test_loss_from_a_label_column_with_an_ignored_row(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text("a,b,y\n2,0,0\n0,2,-100\n0,0,1\n")
    result = run(
        "sparsemax", "-i", str(path), "--label-column", "y", "--loss", "--ignore-label", "-100"
    )
    assert result.exit_code == 0, result.stderr
    # Row 1: p = (1, 0), label 0: loss 0. Row 3: p = (½, ½): -0 + ½(0 - ¼·2) + ½ = ¼.
    assert float(result.stdout) == pytest.approx(0.125, abs=1e-15)


def test_a_label_out_of_range_is_a_data_error_at_its_line() -> None:
    result = run("sparsemax", "1,2;3,4", "--loss", "-l", "0,5")
    data_error(result, "row 2: label 5 is out of range for 2 classes")


def test_the_loss_table_names_the_loss_and_leaves_out_perplexity() -> None:
    result = run("sparsemax", "2,1,0.1", "--loss", "-l", "2", "-o", "table")
    assert result.exit_code == 0, result.stderr
    assert "sparsemax loss of 1 row" in result.stdout
    assert "perplexity" not in result.stdout


def test_help_says_cross_entropy_is_undefined_where_p_is_zero() -> None:
    for command in ("sparsemax", "entmax"):
        text = " ".join(run(command, "--help").stdout.split())
        assert "not defined" in text and "p(label) = 0" in text


# --- hsoftmax --------------------------------------------------------------------


def animals_by_hand(s: list[float]) -> list[float]:
    return [
        sigmoid(s[0]) * sigmoid(s[1]),
        sigmoid(s[0]) * sigmoid(-s[1]),
        sigmoid(-s[0]) * sigmoid(s[2]),
        sigmoid(-s[0]) * sigmoid(-s[2]),
    ]


def test_hsoftmax_names_the_classes_of_the_tree() -> None:
    result = run("hsoftmax", "--tree", ANIMALS, "0.5", "-1", "2")
    assert result.exit_code == 0, result.stderr
    header, line = result.stdout.splitlines()
    assert header == "cat,dog,fish,bird"
    assert_allclose(csv_rows(line)[0], animals_by_hand([0.5, -1, 2]), rtol=1e-14)


def test_hsoftmax_log_and_temperature() -> None:
    result = run("hsoftmax", "--tree", ANIMALS, "0.5", "-1", "2", "--log", "-t", "2", "-o", "json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["operation"] == "log_hierarchical_softmax"
    assert_allclose(document["rows"][0], np.log(animals_by_hand([0.25, -0.5, 1])), rtol=1e-14)


def test_hsoftmax_cross_entropy_of_labels() -> None:
    result = run(
        "hsoftmax", "--tree", ANIMALS, "0.5,-1,2;0,0,0", "-l", "fish,0", "--reduction", "none"
    )
    assert result.exit_code == 0, result.stderr
    expected = [-np.log(animals_by_hand([0.5, -1, 2])[2]), np.log(4)]
    assert_allclose([float(v) for v in result.stdout.split()], expected, rtol=1e-14)


def test_hsoftmax_cross_entropy_table_and_json() -> None:
    args = ["hsoftmax", "--tree", ANIMALS, "0.5,-1,2", "-l", "dog"]
    table = run(*args, "-o", "table")
    assert table.exit_code == 0 and "dog" in table.stdout and "perplexity" in table.stdout
    document = json.loads(run(*args, "-o", "json").stdout)
    assert document["operation"] == "hierarchical_cross_entropy"
    assert document["loss"] == pytest.approx(-np.log(animals_by_hand([0.5, -1, 2])[1]), rel=1e-14)


def test_a_bad_tree_file_is_an_error_naming_its_line(tmp_path: Path) -> None:
    tree = tmp_path / "bad.tree"
    tree.write_text("a 0:0\nb 0:0\n")
    result = run("hsoftmax", "--tree", str(tree), "1")
    data_error(result, f"{tree} line 2: class 'b' has the same path as 'a'")


def test_a_row_of_the_wrong_width_is_a_data_error() -> None:
    result = run("hsoftmax", "--tree", ANIMALS, stdin="1,2\n1,2\n")
    data_error(result, "line 1: the row has 2 scores, the tree has 3 nodes")


@pytest.mark.parametrize(
    ("args", "option", "words"),
    [
        (["hsoftmax", "1", "2"], None, "needs --tree"),
        (["hsoftmax", "--tree", "/no/such.tree", "1"], "--tree", "cannot read"),
        (["hsoftmax", "--huffman", "c.csv", "--tree", ANIMALS], "--huffman", "not with --tree"),
        (["hsoftmax", "--tree", ANIMALS, "1,2,3", "--reduction", "sum"], "--reduction", "goes"),
        (["hsoftmax", "--tree", ANIMALS, "1,2,3", "-l", "emu"], "-l", "emu"),
    ],
)
def test_usage_errors_of_hsoftmax(args, option, words) -> None:
    usage_error(run(*args), "hsoftmax", option, words)


def test_huffman_writes_a_tree_that_hsoftmax_reads(tmp_path: Path) -> None:
    made = run("hsoftmax", "--huffman", str(ROOT / "examples" / "counts.csv"))
    assert made.exit_code == 0, made.stderr
    tree = tmp_path / "words.tree"
    tree.write_text(made.stdout)
    lines = [line.split() for line in made.stdout.splitlines() if not line.startswith("#")]
    depths = {fields[0]: len(fields) - 1 for fields in lines}
    assert depths["the"] == 1 and depths["the"] <= depths["of"] <= depths["mat"]
    result = run("hsoftmax", "--tree", str(tree), "0,0,0,0,0", "-o", "json")
    document = json.loads(result.stdout)
    assert document["classes"] == ["the", "of", "cat", "sat", "mat", "on"]
    probs = dict(zip(document["classes"], document["rows"][0], strict=True))
    assert probs == pytest.approx({name: 2.0 ** -depths[name] for name in probs}, rel=1e-15)


def test_bad_counts_are_a_data_error_naming_the_line(tmp_path: Path) -> None:
    counts = tmp_path / "c.csv"
    counts.write_text("a,1\nb,many\n")
    data_error(run("hsoftmax", "--huffman", str(counts)), "c.csv line 2: 'many' is not a count")


# --- explain -----------------------------------------------------------------------


def test_explain_sparsemax_gives_tau_and_the_support_beside_softmax() -> None:
    result = run("explain", "--sparsemax", "2", "1.5", "0.1", "-1", "-o", "json")
    assert result.exit_code == 0, result.stderr
    steps = json.loads(result.stdout)
    assert steps["tau"] == -0.75 and steps["support"] == ["0", "1"]
    assert steps["probs"] == [0.75, 0.25, 0.0, 0.0]
    # Sorted: z = 0, -0.5, -1.9, -3; sums 0, -0.5, -2.4, -5.4; 1 + k z = 1, 0, -4.7, -11.
    assert [row["in_support"] for row in steps["sorted"]] == [True, True, False, False]
    x = np.array([2, 1.5, 0.1, -1])
    assert_allclose(steps["softmax"], np.exp(x) / np.exp(x).sum(), rtol=1e-14)


def test_explain_entmax_as_text_marks_the_exact_zeros() -> None:
    result = run("explain", "--entmax", "1.5", "2", "1.5", "0.1", "-inf")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.count("exact 0") == 2
    assert "τ = " in result.stdout and "support: 2 of 4" in result.stdout


def test_explain_tree_shows_each_path_and_the_sum() -> None:
    result = run("explain", "--tree", ANIMALS, "0.5", "-1", "2", "-o", "json")
    assert result.exit_code == 0, result.stderr
    steps = json.loads(result.stdout)
    assert [c["class"] for c in steps["classes"]] == ["cat", "dog", "fish", "bird"]
    dog = steps["classes"][1]["path"]
    assert [(s["node"], s["code"]) for s in dog] == [(0, 0), (1, 1)]
    assert dog[1]["factor"] == pytest.approx(sigmoid(1.0), rel=1e-15)
    assert steps["sum"] == pytest.approx(1.0, abs=1e-15)
    text = run("explain", "--tree", ANIMALS, "0.5", "-1", "2").stdout
    assert "bird" in text and "sum" in text


@pytest.mark.parametrize(
    ("args", "option", "words"),
    [
        (["--sparsemax", "--entmax", "1.5"], "--sparsemax", "one thing at a time"),
        (["--sparsemax", "--label", "0"], "--label", "goes with softmax"),
        (["--entmax", "1"], "--entmax", "α = 1 is softmax"),
    ],
)
def test_explain_usage_errors(args, option, words) -> None:
    usage_error(run("explain", "2", "1", *args), "explain", option, words)


def test_the_commands_end_quietly_into_a_closed_pipe() -> None:
    rows = "".join(f"{i % 7},{i % 3},{-(i % 5)}\n" for i in range(30000))
    for args in (["sparsemax"], ["entmax", "--alpha", "1.3"], ["hsoftmax", "--tree", ANIMALS]):
        done = subprocess.run(
            [
                "bash",
                "-o",
                "pipefail",
                "-c",
                f"{sys.executable} -m softmax_cli {' '.join(args)} | head -1",
            ],
            input=rows.encode(),
            capture_output=True,
            timeout=60,
        )
        assert (done.returncode, done.stderr) == (0, b""), args
        assert len(done.stdout.splitlines()) == 1


@pytest.mark.parametrize(
    "args",
    [["sparsemax"], ["entmax", "--alpha", "1.5"], ["hsoftmax", "--tree", ANIMALS]],
    ids=lambda args: args[0],
)
def test_the_first_row_comes_out_before_the_input_ends(args) -> None:
    import select

    process = subprocess.Popen(
        [sys.executable, "-m", "softmax_cli", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        process.stdin.write(b"1,2,0.5\n")
        process.stdin.flush()
        ready, _, _ = select.select([process.stdout], [], [], 30)
        assert ready, "no output while stdin was still open"
        assert process.stdout.readline().count(b",") >= 2
        assert process.poll() is None
    finally:
        process.stdin.close()
        process.wait(timeout=30)
    assert process.returncode == 0
