"""Text from the input never reaches a terminal raw, and narrow terminals still get tables."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from softmax_cli.cli import app

runner = CliRunner()

HOSTILE = {
    "OSC 52 (writes the clipboard)": "\x1b]52;c;aGVsbG8=\x07",
    "CSI (clears the screen)": "\x1b[2J",
    "BEL": "\x07",
}


def header_input(name: str) -> str:
    return f"{name},dog\n2,1\n"


@pytest.mark.parametrize("name", HOSTILE.values(), ids=HOSTILE.keys())
@pytest.mark.parametrize("command", [["probs"], ["logprobs"], ["xent", "-l", "dog"]])
def test_tables_show_hostile_class_names_escaped(name: str, command: list[str]) -> None:
    result = runner.invoke(app, [*command, "-o", "table"], input=header_input(name))
    assert result.exit_code == 0, result.stderr
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "\\x1b" in result.stdout or "\\x07" in result.stdout


@pytest.mark.parametrize("name", HOSTILE.values(), ids=HOSTILE.keys())
def test_explain_shows_hostile_class_names_escaped(name: str) -> None:
    result = runner.invoke(app, ["explain", "--label", "dog"], input=header_input(name))
    assert result.exit_code == 0, result.stderr
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout


@pytest.mark.parametrize("name", HOSTILE.values(), ids=HOSTILE.keys())
def test_error_messages_show_hostile_class_names_escaped(name: str) -> None:
    result = runner.invoke(app, ["xent", "-l", "cat"], input=header_input(name))
    assert result.exit_code == 2
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr
    assert "classes:" in result.stderr


def test_csv_output_keeps_class_names_exactly_as_read() -> None:
    result = runner.invoke(app, ["-o", "csv"], input=header_input("a\x1b[2J"))
    assert result.stdout.splitlines()[0] == "a\x1b[2J,dog"


@pytest.mark.parametrize("columns", ["0", "1", "5"])
def test_a_tiny_or_zero_width_still_draws_the_table(columns: str) -> None:
    result = runner.invoke(app, ["2", "1", "0.1", "-o", "table"], env={"COLUMNS": columns})
    assert result.exit_code == 0
    assert "softmax of 3 scores" in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) >= 40


def test_explain_refuses_a_vector_wider_than_it_can_show() -> None:
    wide = ",".join(["0.5"] * 10_001) + "\n"
    result = runner.invoke(app, ["explain"], input=wide)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        "softmax explain: shows at most 10,000 classes, not 10,001; "
        "softmax probs computes vectors of any size"
    )
    assert result.stdout == ""
