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
def test_a_header_with_control_characters_is_a_data_error_shown_escaped(name: str) -> None:
    result = runner.invoke(app, ["-o", "table"], input=header_input(name))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr
    assert result.stderr.startswith("softmax: line 1, column 1:")


@pytest.mark.parametrize("value", HOSTILE.values(), ids=HOSTILE.keys())
@pytest.mark.parametrize("command", [["probs"], ["logprobs"], ["xent", "-l", "1,0"]])
def test_tables_show_hostile_kept_values_escaped(value: str, command: list[str]) -> None:
    data = f"id,cat,dog\n{value},2,1\nplain,1,2\n"
    result = runner.invoke(app, [*command, "--keep", "id", "-o", "table"], input=data)
    assert result.exit_code == 0, result.stderr
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "\\x1b" in result.stdout or "\\x07" in result.stdout


@pytest.mark.parametrize("value", HOSTILE.values(), ids=HOSTILE.keys())
def test_error_messages_show_hostile_input_escaped(value: str) -> None:
    result = runner.invoke(app, ["xent", "-l", value], input="cat,dog\n2,1\n")
    assert result.exit_code == 2
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr
    assert "classes: cat, dog" in result.stderr


def test_csv_output_keeps_kept_values_exactly_as_read() -> None:
    data = "id,cat,dog\na\x1b[2J,2,1\n"
    result = runner.invoke(app, ["--keep", "id", "-o", "csv"], input=data)
    assert result.stdout.splitlines()[1].startswith("a\x1b[2J,")


@pytest.mark.parametrize("columns", ["0", "1", "5"])
def test_a_tiny_or_zero_width_still_draws_the_table(columns: str) -> None:
    result = runner.invoke(app, ["2", "1", "0.1", "-o", "table"], env={"COLUMNS": columns})
    assert result.exit_code == 0
    assert "softmax of 3 scores" in result.stdout
    # Drawn at the narrowest width, 40: every number whole, nothing wider.
    assert "0.6590" in result.stdout and "…" not in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= 40


def test_explain_refuses_a_vector_wider_than_it_can_show() -> None:
    wide = ",".join(["0.5"] * 10_001) + "\n"
    result = runner.invoke(app, ["explain"], input=wide)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        "softmax explain: shows at most 10,000 classes, not 10,001; "
        "softmax probs computes vectors of any size"
    )
    assert result.stdout == ""
