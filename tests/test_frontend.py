"""The front end: one declaration of every option, one parser, one shape of error.

Commands and options come from ``softmax_cli.options``, the same tables the
parser and the help read, so a new command or option is covered here too.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import typer.main
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from typer.testing import CliRunner

from softmax_cli import numerics, options
from softmax_cli.cli import app
from softmax_cli.parsing import parse

runner = CliRunner()

COMMAND_NAMES = [command.name for command in options.COMMANDS]
USAGE_LINE = re.compile(r"^softmax( [a-z-]+)?: (-{1,2}[a-z][\w-]*: )?\S.*$")
TRY_LINE = re.compile(r"^Try 'softmax( [a-z-]+)? --help' for help\.$")


def run(*args: str, stdin: str | None = None):
    return runner.invoke(app, list(args), input=stdin)


def assert_usage_error(result, first_line: str | None = None) -> None:
    assert result.exit_code == 2, (result.exit_code, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 2, result.stderr
    assert USAGE_LINE.match(lines[0]), lines[0]
    assert TRY_LINE.match(lines[1]), lines[1]
    assert result.stdout == ""
    for wording in ("Value error", "Input should be", "Traceback", "pydantic"):
        assert wording not in result.stderr
    if first_line is not None:
        assert lines[0] == first_line


# --- one declaration -------------------------------------------------------------


@pytest.mark.parametrize("command", options.COMMANDS, ids=lambda c: c.name)
def test_the_typer_app_shows_exactly_the_declared_options(command) -> None:
    group = typer.main.get_command(app)
    shown = {
        name
        for param in group.commands[command.name].params
        for name in (*param.opts, *param.secondary_opts)
        if name.startswith("-")
    }
    declared = {name for option in command.options for name in option.names}
    assert shown == declared


def test_every_command_and_alias_is_in_the_typer_app() -> None:
    group = typer.main.get_command(app)
    assert set(options.command_names()) == set(group.commands)


@pytest.mark.parametrize("command", options.COMMANDS, ids=lambda c: c.name)
def test_every_declared_spelling_of_every_option_is_parsed(command) -> None:
    for option in command.options:
        for name in option.names:
            value = [option.choices[0] if option.choices else "1"] if option.takes_value else []
            invocation = parse([command.name, name, *value])
            assert invocation.given(option.dest), name


# --- one shape of usage error ------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "first_line"),
    [
        (["2", "1", "-o"], "softmax: -o: needs a value (table, csv, tsv, json, ndjson, npy)"),
        (["xent", "2", "1", "--labels"], "softmax xent: --labels: needs a value"),
        (["2", "1", "-i"], "softmax: -i: needs a value"),
        (["-v"], "softmax: -v: no such option"),
        (["probs", "--tempreature", "2"], None),
        (["probs", "-t", "abc", "1"], "softmax probs: -t: 'abc' is not a number"),
        (["evaluate", "1,2", "-l", "0", "--bins", "0"], None),
        (["xent", "1,2", "-l", "0", "--weights", "a,1"], None),
        (["probs", "--no-color=yes", "1"], "softmax probs: --no-color: takes no value"),
        (["prbs", "1"], "softmax: 'prbs' is not a command; did you mean 'probs'?"),
        (
            ["0x10", "1"],
            "softmax: '0x10' is neither a command nor a number (scores are decimal: 2, -1.5, 1e-3)",
        ),
        (
            ["explain", "1", "2", "-o", "csv"],
            "softmax explain: -o: 'csv' is not one of table, json, ndjson, markdown, latex",
        ),
    ],
)
def test_usage_errors_have_one_shape(args: list[str], first_line: str | None) -> None:
    assert_usage_error(run(*args), first_line)


def test_an_option_given_last_without_its_value_never_mentions_a_double_dash() -> None:
    for args in (["2", "1", "-o"], ["xent", "2", "1", "--labels"], ["2", "1", "-i"]):
        result = run(*args)
        assert "'--'" not in result.stderr and " -- " not in result.stderr


def test_a_mistyped_option_gets_a_suggestion() -> None:
    result = run("probs", "--tempreature", "2")
    assert "did you mean '--temperature'?" in result.stderr


def test_the_try_line_of_a_command_names_the_command_as_typed() -> None:
    result = run("xent", "1,2", "--reduction", "avg")
    assert_usage_error(result)
    assert result.stderr.splitlines()[1] == "Try 'softmax xent --help' for help."


# --- small promises ----------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["CSV", "Csv", "csv"])
def test_format_names_are_case_insensitive(spelling: str) -> None:
    result = run("2", "1", "-o", spelling)
    assert result.exit_code == 0 and result.stdout.count(",") == 1


def test_reduction_names_are_case_insensitive() -> None:
    result = run("xent", "2,1;1,2", "-l", "0,0", "--reduction", "SUM", "-o", "csv")
    assert result.exit_code == 0, result.stderr
    p = numerics.softmax(np.array([[2.0, 1.0], [1.0, 2.0]]), 1.0)
    assert_allclose(float(result.stdout), -np.log(p[:, 0]).sum(), rtol=1e-14)


@pytest.mark.parametrize("command", ["probs", "logprobs", "xent", "evaluate", "calibrate"])
def test_each_format_choice_of_a_command_is_one_it_writes(command: str) -> None:
    declared = options.command_named(command)
    assert declared is not None
    (format_option,) = [o for o in declared.options if o.dest == "output_format"]
    extra = {"xent": ["-l", "0,1"], "evaluate": ["-l", "0,1"], "calibrate": ["-l", "1,1"]}
    for fmt in format_option.choices:
        result = run(command, "2,1;0.5,2", *extra.get(command, []), "-o", fmt)
        assert result.exit_code == 0, (fmt, result.stderr)


# --- one label rule ------------------------------------------------------------------

# With the header `1,b`, the label "1" names class "1", which is index 0.
HEADER_DATA = "1,b\n2,0.5\n"


def _expected_loss_for_index(index: int) -> float:
    p = numerics.softmax(np.array([[2.0, 0.5]]), 1.0)[0]
    return float(-np.log(p[index]))


def test_labels_equal_to_a_header_name_are_that_class_in_cross_entropy() -> None:
    result = run("xent", "--labels", "1", "-o", "csv", stdin=HEADER_DATA)
    assert result.exit_code == 0, result.stderr
    assert_allclose(float(result.stdout), _expected_loss_for_index(0), rtol=1e-14)


def test_labels_equal_to_a_header_name_are_that_class_in_evaluate() -> None:
    result = run("evaluate", "--labels", "1", "-o", "json", stdin=HEADER_DATA)
    assert result.exit_code == 0, result.stderr
    assert_allclose(json.loads(result.stdout)["nll"], _expected_loss_for_index(0), rtol=1e-14)


def test_labels_equal_to_a_header_name_are_that_class_in_explain() -> None:
    result = run("explain", "--label", "1", "-o", "json", stdin=HEADER_DATA)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["label"] == 0


def test_label_column_values_equal_to_a_header_name_are_that_class() -> None:
    data = "1,b,y\n2,0.5,1\n"
    result = run("xent", "--label-column", "y", "-o", "csv", stdin=data)
    assert result.exit_code == 0, result.stderr
    assert_allclose(float(result.stdout), _expected_loss_for_index(0), rtol=1e-14)


def test_ignore_label_equal_to_a_header_name_is_that_class() -> None:
    data = "1,b\n2,0.5\n0.5,2\n"
    result = run("xent", "-l", "1,b", "--ignore-label", "1", "-o", "csv", stdin=data)
    assert result.exit_code == 0, result.stderr
    p = numerics.softmax(np.array([[0.5, 2.0]]), 1.0)[0]
    assert_allclose(float(result.stdout), -np.log(p[1]), rtol=1e-14)


def test_a_label_that_is_no_class_name_is_a_0_based_index_everywhere() -> None:
    data = "a,b\n2,0.5\n"
    xent = run("xent", "--labels", "1", "-o", "csv", stdin=data)
    explain = run("explain", "--label", "1", "-o", "json", stdin=data)
    assert_allclose(float(xent.stdout), _expected_loss_for_index(1), rtol=1e-14)
    assert json.loads(explain.stdout)["label"] == 1


# --- what went wrong, said once --------------------------------------------------------


def test_an_internal_error_names_the_input_line_it_was_on(monkeypatch) -> None:
    def broken(values, temperature):
        raise ZeroDivisionError("injected")

    monkeypatch.setattr(numerics, "softmax", broken)
    result = run("probs", "-o", "json", stdin="1,2\n3,4\n")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "softmax: internal error at input line 1: ZeroDivisionError: injected"
    )
    assert json.loads(result.stdout)["rows"] == []  # still a whole document


# --- the whole command line, generated from the declarations -----------------------


def _value_for(option: options.Option) -> st.SearchStrategy[str]:
    good = st.sampled_from(list(option.choices)) if option.choices else st.just("1")
    junk = st.sampled_from(["", "-", "--", "abc", "0", "-1", "1e400", "nan", "x,y", "\x1b[2J"])
    return st.one_of(good, junk)


@st.composite
def command_lines(draw: st.DrawFn) -> list[str]:
    command = draw(st.sampled_from([*options.COMMANDS, None]))
    args = [] if command is None else [draw(st.sampled_from([command.name, *command.aliases]))]
    declared = (command or options.DEFAULT_COMMAND).options
    for _ in range(draw(st.integers(0, 5))):
        kind = draw(st.integers(0, 4))
        if kind == 0:
            args.append(draw(st.sampled_from(["2", "-1", "-inf", "1,2", "1;2", "x", "--"])))
        elif kind == 4:
            args.append(draw(st.sampled_from(["--bogus", "-z", "--tempreature", "-ofoo"])))
        else:
            option = draw(st.sampled_from(declared))
            args.append(draw(st.sampled_from(option.names)))
            if option.takes_value and draw(st.booleans()):
                args.append(draw(_value_for(option)))
    return args


@given(command_lines())
def test_any_command_line_ends_in_success_or_one_clear_error(args: list[str]) -> None:
    result = run(*args, stdin="2,1,0.5\n")
    assert result.exit_code in (0, 1, 2), (args, result.exit_code, result.stderr)
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    if result.exit_code == 2:
        assert_usage_error(result)
        typed = set(args)
        if "--" not in typed:
            assert "'--'" not in result.stderr, (args, result.stderr)
    elif result.exit_code == 1:
        # --print-seed's own line comes first, as asked; then the one error line.
        lines = [
            line for line in result.stderr.splitlines() if not line.startswith("softmax: seed ")
        ]
        assert len(lines) == 1, (args, result.stderr)
