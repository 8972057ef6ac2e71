"""--classes FILE: class names from a file, for every command that shows classes."""

from __future__ import annotations

import gzip
import json

import pytest
from typer.testing import CliRunner

from softmax_cli import options
from softmax_cli.cli import app

runner = CliRunner()


def run(*args: str, stdin: str | bytes | None = None):
    return runner.invoke(app, list(args), input=stdin)


@pytest.fixture
def vocab(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("cat\ndog\nbird\n", encoding="utf-8")
    return str(path)


def _commands_with(option: str) -> list[str]:
    return [c.name for c in options.COMMANDS if c.option(option) is not None]


def test_every_command_that_reads_scores_takes_classes():
    readers = [c.name for c in options.COMMANDS if c.option("--input") is not None]
    assert readers and _commands_with("--classes") == readers


def test_classes_name_the_csv_header(vocab):
    result = run("probs", "2", "1", "0.1", "--classes", vocab, "-o", "csv")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0] == "cat,dog,bird"


def test_classes_name_the_json_classes_of_a_file(vocab, tmp_path):
    scores = tmp_path / "s.csv"
    scores.write_text("1,2,3\n4,5,6\n")
    result = run("probs", "-i", str(scores), "--classes", vocab, "-o", "json")
    assert json.loads(result.stdout)["classes"] == ["cat", "dog", "bird"]


def test_classes_replace_the_header_names_of_the_score_columns(vocab):
    result = run(
        "probs", "--keep", "id", "--classes", vocab, "-o", "csv", stdin="id,a,b,c\nr1,1,2,3\n"
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0] == "id,cat,dog,bird"


def test_labels_given_by_a_name_from_the_file(vocab):
    by_name = run("xent", "1", "2", "3", "-l", "bird", "--classes", vocab, "-o", "json")
    by_index = run("xent", "1", "2", "3", "-l", "2", "-o", "json")
    assert by_name.exit_code == 0, by_name.stderr
    assert json.loads(by_name.stdout)["loss"] == json.loads(by_index.stdout)["loss"]


def test_label_column_values_name_classes_from_the_file(vocab):
    result = run(
        "xent",
        "--label-column",
        "y",
        "--classes",
        vocab,
        "-o",
        "json",
        stdin="y,a,b,c\ndog,1,2,3\n",
    )
    reference = run("xent", "1", "2", "3", "-l", "1", "-o", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["loss"] == json.loads(reference.stdout)["loss"]


def test_evaluate_and_calibrate_report_the_file_names(vocab):
    evaluated = run(
        "evaluate", "--classes", vocab, "-l", "dog,cat", "-o", "json", stdin="1,2,3\n3,2,1\n"
    )
    assert evaluated.exit_code == 0, evaluated.stderr
    assert json.loads(evaluated.stdout)["classes"] == ["cat", "dog", "bird"]
    calibrated = run(
        "calibrate",
        "--classes",
        vocab,
        "-l",
        "dog,cat",
        "-o",
        "csv",
        "--apply",
        stdin="1,2,3\n3,2,1\n",
    )
    assert calibrated.exit_code == 0, calibrated.stderr
    assert calibrated.stdout.splitlines()[0] == "cat,dog,bird"


def test_explain_names_its_rows_from_the_file(vocab):
    result = run("explain", "1", "2", "3", "--classes", vocab, "--label", "bird", "-o", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["classes"] == ["cat", "dog", "bird"]


def test_a_gzipped_vocabulary_reads_like_a_plain_one(tmp_path):
    path = tmp_path / "vocab.txt.gz"
    path.write_bytes(gzip.compress("▁the\n▁a\n".encode()))
    result = run("probs", "1", "2", "--classes", str(path), "-o", "csv")
    assert result.stdout.splitlines()[0] == "▁the,▁a"


def test_names_from_the_file_are_escaped_in_tables(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_bytes(b"evil\x1b[2J\nok\n")
    result = run("probs", "1", "2", "--classes", str(path), "-o", "table")
    assert result.exit_code == 0, result.stderr
    assert "\x1b" not in result.stdout and "evil\\x1b[2J" in result.stdout


def _error(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr
    return lines[0]


def test_too_few_names_is_a_located_data_error(vocab):
    result = run("probs", "1", "2", "--classes", vocab)
    assert result.exit_code == 1
    assert _error(result) == f"softmax: --classes {vocab} has 3 class names, but row 1 has 2 scores"
    assert result.stdout == ""


def test_too_many_names_for_a_file_names_its_line(vocab):
    result = run("probs", "--classes", vocab, "-o", "csv", stdin="\n1,2,3,4\n")
    assert result.exit_code == 1
    assert _error(result).endswith("has 3 class names, but line 2 has 4 scores")
    assert result.stdout == ""


def test_a_missing_file_is_a_usage_error():
    result = run("probs", "1", "2", "--classes", "/no/such/vocab.txt")
    assert result.exit_code == 2
    assert "--classes: cannot read '/no/such/vocab.txt'" in _error(result)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"a\n\nb\n", "line 2: empty class name"),
        (b"a\nb\na\n", "line 3: class name 'a' is already on line 1"),
        (b"a\n\xff\n", "line 2: is not UTF-8 text"),
        (b"", "no class names"),
    ],
)
def test_bad_name_files_are_located_data_errors(tmp_path, content, message):
    path = tmp_path / "names.txt"
    path.write_bytes(content)
    result = run("probs", "1", "2", "--classes", str(path))
    assert result.exit_code == 1
    assert _error(result) == f"softmax: --classes {path}: {message}"


def test_crlf_and_a_missing_last_line_break_are_fine(tmp_path):
    path = tmp_path / "names.txt"
    path.write_bytes(b"a\r\nb")
    result = run("probs", "1", "2", "--classes", str(path), "-o", "csv")
    assert result.stdout.splitlines()[0] == "a,b"


def test_classes_from_stdin_is_a_usage_error():
    result = run("probs", "1", "2", "--classes", "-")
    assert result.exit_code == 2
    assert _error(result) == "softmax probs: --classes: reads a file, not stdin"
