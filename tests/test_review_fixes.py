"""Inputs at the edges that once gave wrong numbers, raw NumPy warnings, internal errors or
help that contradicted the program: each must now give a right answer or one clear line."""

from __future__ import annotations

import warnings

import pytest
from typer.testing import CliRunner

from softmax_cli.cli import app


def run(*args: str, input: str | None = None):
    """Run softmax in-process and fail on any Python warning that reached the user."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = CliRunner().invoke(app, list(args), input=input)
    assert not caught, [str(w.message) for w in caught]
    return result


def assert_one_line_error(result, code: int, *fragments: str) -> None:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert "Warning" not in result.output
    # A usage error adds Click's "Try 'softmax X --help' for help." line.
    lines = [line for line in result.output.strip().splitlines() if not line.startswith("Try '")]
    assert len(lines) == 1, result.output
    for fragment in fragments:
        assert fragment in lines[0], result.output


SCORES = "2,1,0;0,2,1;1,1,3"


@pytest.mark.parametrize("weight", ["5e-324", "1e-200", "1e308", "1e200"])
@pytest.mark.parametrize("command", ["evaluate", "calibrate", "cross-entropy"])
def test_sample_weights_too_extreme_to_weigh_are_refused_at_their_line(tmp_path, command, weight):
    path = tmp_path / "w.txt"
    path.write_text(f"1\n{weight}\n1\n")
    result = run(command, SCORES, "--labels", "0,1,2", "--sample-weights", str(path), "-o", "csv")
    assert_one_line_error(result, 1, "row 2", "sample weight", "accurately")


@pytest.mark.parametrize("weight", ["1e-150", "1e150", "3.5"])
def test_equal_sample_weights_at_the_bounds_give_the_unweighted_result(tmp_path, weight):
    path = tmp_path / "w.txt"
    path.write_text(f"{weight}\n{weight}\n{weight}\n")
    plain = run("evaluate", SCORES, "--labels", "0,1,2", "-o", "json")
    weighted = run(
        "evaluate", SCORES, "--labels", "0,1,2", "--sample-weights", str(path), "-o", "json"
    )
    assert plain.exit_code == weighted.exit_code == 0, weighted.output
    import json

    a, b = json.loads(plain.output), json.loads(weighted.output)
    for key in ("nll", "accuracy", "brier", "ece"):
        assert b[key] == pytest.approx(a[key], rel=1e-12), key


def test_sample_draws_above_the_documented_limit_are_a_usage_error():
    result = run("sample", "-n", "2147483648", "--seed", "1", "2", "1")
    assert result.exit_code == 2, result.output
    assert "1000000" in result.output and "Traceback" not in result.output


def test_sample_many_draws_over_many_rows_match_inverse_cdf_draws():
    """Rows x draws beyond what is drawn at once still come out in the seeded order."""
    import numpy as np

    rows = [[2.0, 1.0, 0.0], [0.0, 0.0, 3.0], [1.0, 1.0, 1.0]]
    draws = 400_000
    result = run(
        "sample",
        "-n",
        str(draws),
        "--seed",
        "7",
        ";".join(",".join(map(str, r)) for r in rows),
        "-o",
        "csv",
    )
    assert result.exit_code == 0
    generator = np.random.Generator(np.random.PCG64(7))
    for line, row in zip(result.output.splitlines(), rows, strict=True):
        probs = np.exp(row) / np.exp(row).sum()
        cdf = np.cumsum(probs)
        expected = np.minimum(np.searchsorted(cdf, generator.random(draws) * cdf[-1], "right"), 2)
        assert np.array_equal(np.array(line.split(","), dtype=int), expected)


ALPHA_COMMANDS = [
    (command.name, option.flags[0])
    for command in __import__("softmax_cli.options", fromlist=["COMMANDS"]).COMMANDS
    for option in command.options
    if option.convert is not None and option.convert.__name__ == "alpha_value"
]


@pytest.mark.parametrize("alpha", ["1.000000000001", "1.0000001", "1e6", "1e300", "1e308"])
@pytest.mark.parametrize(("command", "flag"), ALPHA_COMMANDS)
def test_extreme_alphas_give_a_distribution_without_warnings(command, flag, alpha):
    import json

    assert ALPHA_COMMANDS
    scores = "1e300,-1e300,0" if command == "explain" else "2,1,0;1e300,-1e300,0"
    result = run(command, flag, alpha, scores, "-o", "json")
    assert result.exit_code == 0, result.output
    assert "Warning" not in result.output
    if command == "entmax":
        rows = json.loads(result.output)["rows"]
        for row in rows:
            assert sum(row) == pytest.approx(1.0)
        # A huge alpha leaves only the top class; alpha near 1 is softmax.
        if float(alpha) >= 1e6:
            assert rows[0] == [1.0, 0.0, 0.0]


def test_entmax_loss_with_a_huge_alpha_has_no_warnings():
    result = run("entmax", "--alpha", "1e308", "2,1,0", "--loss", "--labels", "1", "-o", "json")
    assert result.exit_code == 0, result.output


EXPLAIN_SCORES = [3.1, 0.2, 0.1, -1.5, -0.8, -2, -1.1, -2.2, -0.5, -3]


def _after_top_k_cumulative(k: int) -> dict[int, float]:
    import numpy as np

    probs = np.exp(EXPLAIN_SCORES) / np.exp(EXPLAIN_SCORES).sum()
    top = np.argsort(-probs, kind="stable")[:k]
    return dict(zip(top.tolist(), (np.cumsum(probs[top]) / probs[top].sum()).tolist(), strict=True))


def test_explain_top_p_after_top_k_shows_the_cumulative_top_p_judged():
    import json

    scores = ",".join(map(str, EXPLAIN_SCORES))
    args = ("explain", scores, "--classes", "examples/vocab.txt", "--top-k", "5", "--top-p", "0.9")
    expected = _after_top_k_cumulative(5)
    data = json.loads(run(*args, "-o", "json").output)
    for index, value in enumerate(data["top_p_cumulative"]):
        if index in expected:
            assert value == pytest.approx(expected[index])
        else:
            assert value is None
    # Every kept class but the last has cumulative < P, and the last reaches it.
    kept = [i for i in data["order"] if data["kept"][i]]
    assert all(expected[i] < 0.9 for i in kept[:-1]) and expected[kept[-1]] >= 0.9
    table = run(*args).output
    assert "after top-k" in table
    cat_line = next(line for line in table.splitlines() if "│ cat" in line)
    assert f"{expected[1]:.4f}" in cat_line


def test_top_with_key_and_ndjson_writes_each_object_with_its_ranks():
    import json

    import numpy as np

    lines = open("examples/preds.jsonl", encoding="utf-8").read().splitlines()
    result = run("top", "-k", "2", "-i", "examples/preds.jsonl", "--key", "logits", "-o", "ndjson")
    assert result.exit_code == 0, result.output
    written = [json.loads(line) for line in result.output.splitlines()]
    assert len(written) == len(lines)
    for text, obj in zip(lines, written, strict=True):
        source = json.loads(text)
        assert {key: obj[key] for key in source} == source
        logits = np.array(source["logits"])
        probs = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
        best = np.argsort(-probs, kind="stable")[:2]
        assert [rank["class"] for rank in obj["top"]] == best.tolist()
        assert [rank["rank"] for rank in obj["top"]] == [1, 2]
        assert obj["top"][1]["cumulative"] == pytest.approx(probs[best].sum())


def _help(*path: str) -> str:
    return " ".join(run(*path, "--help").output.split())


@pytest.mark.parametrize("command", [("hsoftmax", "--tree"), ("explain", "--tree")])
def test_class_names_file_with_a_tree_is_refused(tmp_path, command):
    nodes = tmp_path / "nodes.txt"
    nodes.write_text("n0\nn1\nn2\n")
    result = run(*command, "examples/animals.tree", "0.5,-1,2", "--classes", str(nodes))
    assert result.exit_code == 2, result.output
    assert "--classes" in result.output and "--tree" in result.output
    assert "Traceback" not in result.output


def test_hsoftmax_help_says_the_columns_are_nodes_and_the_tree_names_classes():
    text = _help("hsoftmax")
    assert "Class names, one per line" not in text
    assert "names the nodes" in text  # --header
    assert "class names from --tree" in text  # --labels


def test_hsoftmax_temperature_help_matches_what_it_does():
    import math

    text = _help("hsoftmax")
    assert "max-shifted" not in text
    # What it does: each node score divided by T, unshifted (sigmoids are not shift-invariant).
    csv = run("hsoftmax", "--tree", "examples/animals.tree", "0.5,-1,2", "-t", "2", "-o", "csv")
    first = float(csv.output.splitlines()[1].split(",")[0])
    assert first == pytest.approx(1 / (1 + math.exp(-0.25)) / (1 + math.exp(0.5)))  # cat: 0:0 1:0


def test_hsoftmax_log_with_labels_says_the_loss_is_written_instead():
    result = run("hsoftmax", "--tree", "examples/animals.tree", "0.5,-1,2", "-l", "fish", "--log")
    assert result.exit_code == 2
    assert "instead of log-probabilities" in result.output
    assert "writes probabilities" not in result.output


NARROW_TABLES = [
    ("top", "-k", "3", "-i", "examples/next-token.csv", "--classes", "examples/vocab.txt"),
    (
        "evaluate",
        "-i",
        "examples/weighted.csv",
        "--label-column",
        "y",
        "--sample-weight-column",
        "w",
        "--report",
        "--bins",
        "10",
    ),
    ("explain", ",".join(map(str, EXPLAIN_SCORES)), "--classes", "examples/vocab.txt")
    + ("--top-k", "5", "--top-p", "0.9"),
    ("cross-entropy", "-i", "examples/eval.csv", "--label-column", "y", "--reduction", "none"),
]


@pytest.mark.parametrize("columns", [40, 50, 60])
@pytest.mark.parametrize("args", NARROW_TABLES, ids=lambda a: a[0])
def test_narrow_tables_never_cut_a_number_or_a_header(args, columns):
    import re

    with warnings.catch_warnings():
        result = CliRunner().invoke(app, [*args, "-o", "table"], env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, result.output
    text = result.output
    assert max(len(line) for line in text.splitlines()) <= columns
    assert not re.search(r"\d\.?…|…\d", text), text  # no cut number
    # Every header the full-width table shows is still there, whole.
    for header in ("cumulative", "logprob", "precision", "recall", "support", "confidence"):
        if header in " ".join(run(*args, "-o", "table").output.split()):
            assert header in text, header
    assert not re.search(r"┃ \w ┃", text)  # no header one letter a line


@pytest.mark.parametrize(
    "options", [("evaluate", "--label-column", "y"), ("probs", "--keep", "y")], ids=str
)
def test_a_header_with_a_control_character_is_named_as_the_reason(tmp_path, options):
    path = tmp_path / "scores.csv"
    path.write_bytes(b"a,b\x01,y\n1,2,0\n2,1,1\n")
    result = run(*options, "-i", str(path))
    assert_one_line_error(result, 2, "line 1", "control character", "--header")
    assert "no header" not in result.output


def test_huffman_honours_quoted_count_fields(tmp_path):
    counts = tmp_path / "counts.csv"
    counts.write_text('"x,y",5\nb,3\nc,1\n')
    result = run("hsoftmax", "--huffman", str(counts))
    assert result.exit_code == 0, result.output
    tree = [line.split()[0] for line in result.output.splitlines() if not line.startswith("#")]
    assert tree == ["x,y", "b", "c"]


def test_huffman_counts_the_fields_it_reports(tmp_path):
    counts = tmp_path / "counts.csv"
    counts.write_text('"a,b",5,7\n')
    result = run("hsoftmax", "--huffman", str(counts))
    assert_one_line_error(result, 1, "line 1", "found 3 fields")


def test_huffman_tree_of_a_file_named_with_a_newline_loads_back(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    name = "odd\nname\u2028.csv"
    (tmp_path / name).write_text("a,5\nb,3\nc,1\n")
    written = run("hsoftmax", "--huffman", name)
    assert written.exit_code == 0
    (tmp_path / "t.tree").write_text(written.output)
    loaded = run("hsoftmax", "--tree", "t.tree", "1,2", "-o", "csv")
    assert loaded.exit_code == 0, loaded.output
    assert loaded.output.splitlines()[0] == "a,b,c"


ROW_COMMANDS = [
    ("top", "-k", "2"),
    ("probs",),
    ("logprobs",),
    ("sparsemax",),
    ("entmax", "--alpha", "1.5"),
]


@pytest.mark.parametrize("bad", ["1,2", "1,x,2"])
@pytest.mark.parametrize("command", ROW_COMMANDS, ids=lambda c: c[0])
def test_argument_rows_before_a_bad_row_are_written_as_from_a_file(command, bad):
    from_arguments = run(*command, f"2,1,0;{bad}", "-o", "csv")
    from_file = run(*command, "-o", "csv", input=f"2,1,0\n{bad}\n")
    assert from_arguments.exit_code == from_file.exit_code == 1
    written = [line for line in from_arguments.output.splitlines() if "softmax:" not in line]
    expected = [line for line in from_file.output.splitlines() if "softmax:" not in line]
    assert written == expected and written  # the first row's results, before the error


@pytest.mark.parametrize("output", ["csv", "json"])
@pytest.mark.parametrize(
    "command", [("top", "-k", "3"), ("probs",), ("logprobs",), ("sparsemax",)], ids=str
)
def test_precision_0_means_one_significant_digit_in_every_command(command, output):
    import json
    import re

    full = run(*command, "2,1,0.1;0.3,-1,2", "-o", output)
    zero = run(*command, "2,1,0.1;0.3,-1,2", "-o", output, "--precision", "0")
    assert full.exit_code == zero.exit_code == 0
    pattern = r"-?\d+\.\d+(?:e-?\d+)?"
    if output == "json":
        full_numbers = [float(v) for v in re.findall(pattern, json.dumps(json.loads(full.output)))]
    else:
        full_numbers = [float(v) for v in re.findall(pattern, full.output)]
    zero_numbers = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", zero.output)]
    for value in full_numbers:
        assert float(f"{value:.1g}") in zero_numbers, value
    assert "0 counts as 1" in _help(command[0])


def test_bins_help_does_not_call_mass_bins_equal_width():
    text = _help("evaluate")
    assert "Equal-width confidence bins" not in text
    assert "equal-mass with --binning mass" in text


@pytest.mark.parametrize(
    ("args", "wrong"),
    [
        (("explain", "--sparsemax", "5,0", "-o", "table"), "1 classes"),
        (("explain", "5", "--top-k", "1", "-o", "table"), "1 classes"),
        (("explain", "--sparsemax", "5", "-o", "table"), "1 of 1 classes"),
    ],
)
def test_counts_of_one_are_singular(args, wrong):
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert wrong not in " ".join(result.output.split())
    assert "1 class" in result.output


def test_a_tree_of_one_node_is_singular(tmp_path):
    tree = tmp_path / "one.tree"
    tree.write_text("only 0:0\nother 0:1\n")
    title = run("explain", "--tree", str(tree), "0.5", "-o", "table").output
    assert "1 node," in title and "1 nodes" not in title
    error = run("hsoftmax", "--tree", str(tree), "1,2", "-o", "json")
    assert error.exit_code == 1
    assert "the tree has 1 node (" in error.output and "Traceback" not in error.output
