"""Tables for people: the numbers they show, their width, colour and size."""

from __future__ import annotations

import io
import math
import re

import numpy as np
import pytest
from probes import probe
from scipy import special
from typer.testing import CliRunner

from softmax_cli.cli import app
from softmax_cli.rich_output import HEAD_ROWS, MIN_WIDTH, TAIL_ROWS
from softmax_cli.writers import RowSettings, TableRowWriter

runner = CliRunner()
ESCAPE = "\x1b"
COLOUR_CODE = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-79]|4[0-79]|9[0-7]|10[0-7]|38;|48;)")


def run(*args: str, stdin: str | None = None, **env: str):
    return runner.invoke(app, list(args), input=stdin, env={"COLUMNS": "80", **env})


def cells(line: str) -> list[str]:
    """The cells of one drawn table row."""
    return [cell.strip() for cell in re.split(r"[│┃]", line)[1:-1]]


def body_rows(text: str) -> list[list[str]]:
    return [cells(line) for line in text.splitlines() if line.startswith("│")]


# --- helpers --------------------------------------------------------------------


# --- one vector -------------------------------------------------------------------


def test_one_vector_shows_each_probability_a_bar_and_the_sum():
    result = run("probs", "2", "1", "0.1", "-o", "table")
    assert result.exit_code == 0, result.output
    expected = special.softmax([2.0, 1.0, 0.1])
    rows = body_rows(result.stdout)
    assert [row[0] for row in rows] == ["0", "1", "2", "sum"]
    assert [row[2] for row in rows[:3]] == [f"{p:.4f}" for p in expected]
    assert rows[3][2] == "1.0000"
    assert rows[0][3].startswith("█" * 13) and rows[0][3].endswith("◀ max")
    assert "max" not in rows[1][3] + rows[2][3]


def test_one_vector_of_log_probabilities_shows_both_columns():
    rows = body_rows(run("logprobs", "1000", "0", "-o", "table").stdout)
    assert rows[1][1:4] == ["0.0000", "0.0000", "-1000.0000"]
    assert rows[0][1:4] == ["1000.0000", "1.0000", "0.0000"]


def test_precision_sets_the_digits_of_a_table():
    rows = body_rows(run("probs", "2", "1", "0.1", "-o", "table", "--precision", "2").stdout)
    assert rows[0][2] == f"{special.softmax([2.0, 1.0, 0.1])[0]:.2f}"


def test_a_long_vector_shows_its_ends_and_keeps_the_argmax_in_view():
    values = [0.0] * 100
    values[50] = 5.0
    out = run("probs", "-o", "table", stdin="\n".join(map(str, values)) + "\n").stdout
    names = [row[0] for row in body_rows(out)]
    assert names[:HEAD_ROWS] == [str(i) for i in range(HEAD_ROWS)]
    assert "50" in names and "99" in names and "20" not in names
    assert "classes not shown" in out
    assert max(len(line) for line in out.splitlines()) <= 80


# --- batches ----------------------------------------------------------------------


def test_a_batch_has_classes_as_columns_rows_from_one_and_the_argmax():
    result = run("probs", "1,3,2;5,0,1", "-o", "table")
    rows = body_rows(result.stdout)
    assert [row[0] for row in rows] == ["1", "2"]
    for row, scores in zip(rows, [[1, 3, 2], [5, 0, 1]], strict=True):
        assert row[1:4] == [f"{p:.4f}" for p in special.softmax(scores)]
        assert row[4] == str(int(np.argmax(scores)))


def test_a_batch_with_a_header_names_its_columns():
    out = run("probs", "-o", "table", stdin="cat,dog\n1,2\n3,1\n").stdout
    assert "cat" in out and "dog" in out
    assert [row[-1] for row in body_rows(out)] == ["dog", "cat"]


def test_a_large_batch_shows_its_first_and_last_rows_and_counts_the_rest():
    lines = "".join(f"{i % 7},{i % 3},1\n" for i in range(1000))
    out = run("probs", "-o", "table", stdin=lines).stdout
    numbers = [row[0] for row in body_rows(out)]
    assert numbers[:HEAD_ROWS] == [str(i) for i in range(1, HEAD_ROWS + 1)]
    assert numbers[-TAIL_ROWS:] == [f"{i:,}" for i in range(1001 - TAIL_ROWS, 1001)]
    missing = 1000 - HEAD_ROWS - TAIL_ROWS
    assert f"{missing} rows not shown" in out
    last = body_rows(out)[-1]
    assert last[1:4] == [f"{p:.4f}" for p in special.softmax([999 % 7, 999 % 3, 1])]


def test_the_table_writer_keeps_only_the_rows_it_will_show():
    writer = TableRowWriter(io.BytesIO(), RowSettings("softmax", 1.0, None))
    block = np.full((1000, 3), 1 / 3)
    for start in range(0, 100_000, 1000):
        writer.rows(block, block, start)
    assert writer.total == 100_000
    assert len(writer.head) + len(writer.tail) == HEAD_ROWS + TAIL_ROWS
    assert writer.tail[-1][0] == 100_000


def test_a_wide_batch_fits_80_columns_and_says_what_it_left_out():
    row = ",".join(str(i % 5) for i in range(40))
    out = run("probs", "-o", "table", stdin=f"{row}\n{row}\n").stdout
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "of 40 not shown" in out
    first = body_rows(out)[0]
    assert first[-1] == "4"  # the arg-max is named even when its column is hidden
    assert first[-2] == f"{special.softmax([i % 5 for i in range(40)])[39]:.4f}"


def test_a_wide_batch_shows_more_columns_on_a_wider_terminal():
    row = ",".join(str(i % 5) for i in range(12))
    narrow = run("probs", "-o", "table", stdin=f"{row}\n{row}\n").stdout
    wide = run("probs", "-o", "table", stdin=f"{row}\n{row}\n", COLUMNS="160").stdout
    assert "not shown" in narrow and "not shown" not in wide
    assert max(len(line) for line in wide.splitlines()) <= 160


# --- cross-entropy ------------------------------------------------------------------


def test_cross_entropy_table_has_losses_true_probability_prediction_and_totals():
    scores = [[2.0, 1.0, 0.1], [0.5, 2.0, 1.0], [3.0, 0.0, 0.0]]
    labels = [0, 1, 2]
    result = run("xent", "2,1,0.1;0.5,2,1;3,0,0", "-l", "0,1,2", "-o", "table")
    assert result.exit_code == 0, result.output
    rows = body_rows(result.stdout)
    losses = [-special.log_softmax(s)[y] for s, y in zip(scores, labels, strict=True)]
    for row, s, y, expected in zip(rows[:3], scores, labels, losses, strict=True):
        assert row[1] == str(y)
        assert row[2] == f"{special.softmax(s)[y]:.4f}"
        assert row[3].split()[0] == str(int(np.argmax(s)))
        assert row[4] == f"{expected:.4f}"
    assert rows[2][3] == "0 ✗"
    mean = float(np.mean(losses))
    totals = {row[1]: row for row in rows[3:]}
    assert totals["loss (mean)"][4] == f"{mean:.4f}"
    assert totals["perplexity"][4] == f"{math.exp(mean):.4f}"
    assert totals["accuracy"][3:] == ["2/3", f"{2 / 3:.4f}"]


def test_cross_entropy_table_of_many_rows_counts_the_hidden_ones():
    lines = "".join(f"{i % 4},1,0\n" for i in range(500))
    labels = ",".join("0" for _ in range(500))
    out = run("xent", "-l", labels, "-o", "table", stdin=lines).stdout
    assert f"{500 - HEAD_ROWS - TAIL_ROWS} rows not shown" in out
    assert "500" in [row[0] for row in body_rows(out)]


# --- colour and escape codes -----------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["probs", "2", "1", "0.1", "-o", "table"],
        ["logprobs", "2,1;0,3", "-o", "table"],
        ["xent", "2,1;0,3", "-l", "0,0", "-o", "table"],
    ],
)
def test_tables_honour_no_color_and_pipes(args):
    piped = run(*args).stdout
    assert ESCAPE not in piped
    assert all(line == line.rstrip() for line in piped.splitlines())
    coloured = run(*args, TTY_COMPATIBLE="1").stdout
    assert COLOUR_CODE.search(coloured)
    assert not COLOUR_CODE.search(run(*args, TTY_COMPATIBLE="1", NO_COLOR="1").stdout)
    assert not COLOUR_CODE.search(run(*args, "--no-color", TTY_COMPATIBLE="1").stdout)


def test_a_plain_csv_run_never_imports_rich():
    result = probe("2", "1", "0.1", "-o", "csv")
    assert (result.returncode, result.stderr) == (0, "")
    assert "rich" not in result.imported
    printed = [float(v) for v in result.stdout.strip().split(",")]
    assert printed == special.softmax([2.0, 1.0, 0.1]).tolist()


@pytest.mark.parametrize("columns", [str(MIN_WIDTH), "44", "52"])
@pytest.mark.parametrize("command", ["probs", "logprobs"])
def test_one_vector_on_a_narrow_terminal_keeps_every_digit(command, columns):
    # The bar kept its width while the numbers became `0.65…`.
    shown = run(command, "2", "1", "0.1", "-o", "table", COLUMNS=columns).stdout
    assert "…" not in shown
    for number in ("2.0000", "0.6590", "0.2424", "0.0986", "1.0000"):
        assert number in shown
    if command == "logprobs":
        assert "-0.4170" in shown and "-2.3170" in shown
    assert max(len(line) for line in shown.splitlines()) <= int(columns)
