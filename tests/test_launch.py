"""The entry point answers plain one-liners without Typer, exactly as the full CLI does."""

from __future__ import annotations

import io
import math
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from probes import probe
from typer.testing import CliRunner

from softmax_cli import cli, launch
from softmax_cli.cli import app

runner = CliRunner()

SLOW_TO_IMPORT = {"typer", "pydantic", "rich"}


def test_a_csv_one_liner_loads_neither_typer_nor_rich():
    result = probe("launch", "2", "1", "0.1", "-o", "csv")
    assert (result.returncode, result.stderr) == (0, "")
    assert result.imported & SLOW_TO_IMPORT == set()
    exps = [math.exp(x - 2) for x in (2, 1, 0.1)]
    expected = [e / sum(exps) for e in exps]
    got = [float(field) for field in result.stdout.strip().split(",")]
    assert got == pytest.approx(expected, rel=1e-15)


def test_a_table_one_liner_loads_rich_but_not_typer():
    result = probe("launch", "logprobs", "-1", "-inf", "3", "-o", "table")
    assert (result.returncode, result.stderr) == (0, "")
    assert result.imported & SLOW_TO_IMPORT == {"rich"}
    assert "-inf" in result.stdout


def test_anything_else_goes_to_the_full_command_line():
    result = probe("launch", "probs", "2", "1", "--delimiter", ",", "-o", "csv")
    assert "typer" in result.imported


def run_launch(args: list[str], stdin: bytes, capfdbinary) -> tuple[int, bytes, bytes]:
    old_argv, old_stdin = sys.argv, sys.stdin
    sys.argv = ["softmax", *args]
    sys.stdin = io.TextIOWrapper(io.BytesIO(stdin))
    code = 0
    try:
        launch.main()
    except SystemExit as stop:
        code = stop.code or 0
    finally:
        sys.argv, sys.stdin = old_argv, old_stdin
    captured = capfdbinary.readouterr()
    return code, captured.out, captured.err


def assert_same_as_full_cli(args: list[str], capfdbinary, stdin: bytes = b"") -> None:
    code, out, err = run_launch(args, stdin, capfdbinary)
    full = runner.invoke(app, args, input=stdin)
    assert (code, out, err.decode()) == (full.exit_code, full.stdout_bytes, full.stderr)


@pytest.mark.parametrize(
    "args",
    [
        ["2", "1", "0.1"],
        ["probs", "-1", "-2.5", "3", "-o", "json"],
        ["logprobs", "1000", "0", "--format", "ndjson", "-t", "0.25"],
        ["2,1;0.5,3", "-o", "tsv", "--precision", "3"],
        ["inf", "1", "inf", "-o", "csv"],
        ["-inf", "-1e-3", "-0", "-o", "table", "--no-color"],
        ["probs", "1", "2", "-o", "table", "--precision", "6", "-t", "2"],
        ["2,1;nan,1", "-o", "csv"],
        ["1", "abc"],
        ["1", "2;3"],
        ["-inf", "-inf"],
        ["1", "2", "-t", "0"],
        ["1", "2", "-t", "1_0"],
        ["1", "2", "--precision", "18"],
        ["1", "2", "-o", "csv", "-o", "json"],
        ["1", "2", "--format=json"],
        ["1", "2", "-o"],
        ["1", "2", "-"],
        ["1", "2", "--", "-3"],
        ["xent", "2", "1", "--labels", "0"],
    ],
)
def test_one_liners_match_the_full_command_line(args, capfdbinary):
    assert_same_as_full_cli(args, capfdbinary)


DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize(
    ("args", "stdin"),
    [
        ([], b"2,1,0.1\n-1,0,1\n"),
        (["logprobs", "-o", "json"], b"cat,dog,bird\n2,1,0.1\n"),
        (["-o", "ndjson", "-t", "0.5"], b"1,2\n3,4\n5,x\n7,8\n"),
        (["-o", "json"], b"1,2\n3,4\n5,6,7\n"),
        (["probs", "-o", "csv"], b"1\n2\n3\n"),
        (["probs", "-o", "tsv", "--precision", "3"], b"[[1,2],[3,4]]"),
        (["-o", "csv"], b""),
        (["-o", "csv"], b"1,nan\n"),
        (["-i", str(DATA / "tabs.tsv"), "-o", "csv"], b""),
        (["-i", str(DATA / "header_bom_crlf.csv"), "-o", "json"], b""),
        (["-i", "-", "-o", "csv"], b"4 5 6\n"),
        (["-i", str(DATA / "no-such-file.csv")], b""),
        (["1", "2", "-i", str(DATA / "tabs.tsv")], b""),
        (["--delimiter", ";"], b"1;2\n"),
        (["xent", "--label-column", "y"], b"a,b,y\n1,2,1\n3,4,0\n"),
        (["cross-entropy", "--label-column", "2", "--reduction", "none"], b"1,2,1\n3,4,0\n"),
        (["xent", "--label-column", "y", "-o", "json", "-t", "2"], b"a,b,y\n1,2,b\n3,4,a\n"),
        (["xent", "--label-column", "y", "--reduction", "sum", "-o", "ndjson"], b"a,b,y\n1,2,1\n"),
        (["xent", "--label-column", "y", "--reduction", "none"], b"a,b,y\n1,2,1\n3,4,7\n"),
        (["xent", "--label-column", "y", "-o", "json"], b"a,b,y\n1,2,1\n3,x,0\n"),
        (["xent", "--label-column", "y"], b"a,b,y\n"),
        (["xent", "--label-column", "z"], b"a,b,y\n1,2,1\n"),
        (["xent", "--label-column", "y", "-o", "table", "--no-color"], b"a,b,y\n1,2,1\n"),
        (["xent", "-i", str(DATA / "labelled.csv"), "--label-column", "label"], b""),
        (["xent", "-i", str(DATA / "labelled.csv"), "--label-column", "y"], b""),
        (["xent", "1", "2", "--label-column", "y"], b""),
        (["xent", "--labels", "0,1"], b"1,2\n3,4\n"),
        (["probs", "--reduction", "sum"], b"1,2\n"),
        (["explain", "-o", "json"], b"1,2\n"),
        (["evaluate", "--label-column", "y", "-o", "json"], b"a,b,y\n1,2,1\n3,4,0\n"),
        (["calibrate", "--label-column", "y", "-o", "csv"], b"a,b,y\n1,2,1\n3,4,0\n"),
    ],
)
def test_piped_input_matches_the_full_command_line(args, stdin, capfdbinary):
    assert_same_as_full_cli(args, capfdbinary, stdin)


def test_piped_input_loads_neither_typer_nor_rich():
    result = probe("launch", "-o", "csv", stdin="2,1,0.1\n")
    assert (result.returncode, result.stderr) == (0, "")
    assert result.imported & SLOW_TO_IMPORT == set()
    assert result.stdout.count(",") == 2


score_token = st.one_of(
    st.floats(allow_nan=False, width=32).map(repr),
    st.sampled_from(["-inf", "inf", "-0", "1e-3", "2,1", "3;4", "-1,-2", "nan", "x", ";"]),
)
option = st.sampled_from(
    [
        ["-o", "csv"],
        ["-o", "json"],
        ["--format", "ndjson"],
        ["-o", "tsv"],
        ["-t", "0.5"],
        ["--temperature", "3e2"],
        ["--precision", "2"],
        ["--no-color"],
        ["-t", "-1"],
    ]
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    command=st.sampled_from([[], ["probs"], ["logprobs"]]),
    first=score_token,
    pieces=st.lists(st.one_of(score_token.map(lambda t: [t]), option), max_size=6),
)
def test_random_one_liners_match_the_full_command_line(command, first, pieces, capfdbinary):
    args = [*command, first, *(token for piece in pieces for token in piece)]
    if "-o" not in args and "--format" not in args:
        args += ["-o", "csv"]
    assert_same_as_full_cli(args, capfdbinary)


@given(st.text(alphabet="-+.,;0123456789einfatxE ", max_size=8))
def test_number_tokens_are_recognised_as_the_full_cli_recognises_them(token):
    assert launch.looks_like_scores(token) == cli.looks_like_scores(token)
