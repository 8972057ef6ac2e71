"""``softmax explain``: every step's numbers, checked against formulas written out here."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy import special
from typer.testing import CliRunner

from softmax_cli.cli import app
from softmax_cli.errors import DataError, UsageError
from softmax_cli.explain import derive, sweep

runner = CliRunner()
ESCAPE = "\x1b"
COLOUR_CODE = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-79]|4[0-79]|9[0-7]|10[0-7]|38;|48;)")


def run(*args: str, stdin: str | None = None, **env: str):
    return runner.invoke(app, list(args), input=stdin, env={"COLUMNS": "80", **env})


def flat(text: str) -> str:
    """Text with every run of white space as one space, so wrapping does not matter."""
    return " ".join(text.split())


def textbook(scores: list[float], t: float = 1.0) -> dict[str, list[float] | float]:
    """The derivation in plain Python floats, one value at a time."""
    top = max(scores)
    z = [(x - top) / t for x in scores]
    e = [math.exp(v) for v in z]
    total = math.fsum(e)
    return {
        "z": z,
        "exp": e,
        "sum": total,
        "p": [v / total for v in e],
        "logp": [v - math.log(total) for v in z],
    }


def loss(scores: np.ndarray, label: int, t: float = 1.0) -> float:
    return float(-special.log_softmax(np.asarray(scores) / t)[label])


# --- the numbers of each step ------------------------------------------------


@pytest.mark.parametrize(
    ("scores", "t"),
    [([2.0, 1.0, 0.1], 1.0), ([2.0, 1.0, 0.1], 0.5), ([-3.0, 7.5, 0.0, 7.5], 3.0), ([5.0], 1.0)],
)
def test_every_step_matches_the_formula_written_out_by_hand(scores, t):
    steps = derive(np.array(scores), temperature=t)
    book = textbook(scores, t)
    assert steps["max"] == max(scores)
    assert_allclose(steps["shifted"], [x - max(scores) for x in scores], rtol=0, atol=0)
    assert_allclose(steps["scaled"], book["z"], rtol=1e-15)
    assert_allclose(steps["exp"], book["exp"], rtol=1e-15)
    assert_allclose(steps["sum_exp"], book["sum"], rtol=1e-15)
    assert_allclose(steps["probs"], book["p"], rtol=1e-14)
    assert_allclose(steps["sum_probs"], 1.0, rtol=1e-15)
    assert_allclose(steps["log_probs"], book["logp"], rtol=1e-14, atol=1e-15)
    assert_allclose(steps["probs"], special.softmax(np.array(scores) / t), rtol=1e-13)
    p = np.array(book["p"])
    assert_allclose(steps["entropy"], -np.sum(p * np.log(p)), rtol=1e-13, atol=1e-15)


def test_cross_entropy_is_minus_log_p_of_the_label():
    steps = derive(np.array([2.0, 1.0, 0.1]), label=0)
    assert_allclose(steps["cross_entropy"], loss([2.0, 1.0, 0.1], 0), rtol=1e-14)
    assert_allclose(steps["cross_entropy"], -math.log(textbook([2.0, 1.0, 0.1])["p"][0]))


@pytest.mark.parametrize("t", [1.0, 0.5, 4.0])
def test_gradients_match_finite_differences_of_the_loss(t):
    x = np.array([0.3, -1.2, 2.0, 0.7])
    label = 1
    steps = derive(x, temperature=t, label=label)
    h = 1e-6
    numeric = []
    for j in range(x.size):
        up, down = x.copy(), x.copy()
        up[j] += h
        down[j] -= h
        numeric.append((loss(up, label, t) - loss(down, label, t)) / (2 * h))
    assert_allclose(steps["gradient"], numeric, rtol=1e-6, atol=1e-8)
    # With respect to z = x/T (plus a constant) the derivative is T times larger.
    assert_allclose(steps["gradient_z"], np.array(numeric) * t, rtol=1e-6, atol=1e-8)


def test_jacobian_matches_finite_differences_of_softmax():
    z = np.array([0.5, -0.25, 1.5])
    steps = derive(z)
    h = 1e-6
    columns = []
    for j in range(z.size):
        up, down = z.copy(), z.copy()
        up[j] += h
        down[j] -= h
        columns.append((special.softmax(up) - special.softmax(down)) / (2 * h))
    assert_allclose(steps["jacobian"], np.array(columns).T, rtol=1e-6, atol=1e-9)
    assert_allclose(np.sum(steps["jacobian"], axis=1), 0.0, atol=1e-15)


def test_jacobian_is_left_out_above_six_classes():
    assert "jacobian" in derive(np.arange(6.0))
    assert "jacobian" not in derive(np.arange(7.0))


@pytest.mark.parametrize(("a", "b", "t"), [(2.0, 1.0, 1.0), (-3.0, 4.0, 2.0), (1000.0, 0.0, 1.0)])
def test_two_classes_give_the_sigmoid_of_the_difference(a, b, t):
    steps = derive(np.array([a, b]), temperature=t)
    d = (a - b) / t
    assert steps["sigmoid_input"] == d
    expected = 1 / (1 + math.exp(-d)) if d > -700 else 0.0
    assert_allclose(steps["sigmoid"], expected, rtol=1e-15)
    assert_allclose(steps["probs"][0], expected, rtol=1e-14)


def test_the_naive_formula_overflows_where_the_shifted_one_does_not():
    steps = derive(np.array([1000.0, 0.0]))
    assert steps["naive"]["problem"] == "overflow"
    assert steps["naive_fails"]
    assert math.isnan(steps["naive_probs"][0])
    assert steps["probs"] == [1.0, 0.0]
    assert steps["log_probs"] == [0.0, -1000.0]
    assert steps["log_of_probs"][1] == -math.inf


def test_the_naive_formula_underflows_for_very_negative_scores():
    steps = derive(np.array([-1000.0, -1001.0]))
    assert steps["naive"]["problem"] == "underflow"
    assert_allclose(steps["probs"], [1 / (1 + math.exp(-1)), 1 / (1 + math.exp(1))])


def test_the_naive_formula_is_fine_for_small_scores():
    steps = derive(np.array([2.0, 1.0, 0.1]))
    assert not steps["naive_fails"]
    assert steps["naive"]["problem"] is None


def test_a_plus_infinite_score_takes_the_limit():
    steps = derive(np.array([math.inf, 1.0, math.inf]))
    assert steps["limit"]
    assert steps["probs"] == [0.5, 0.0, 0.5]


def test_bad_vectors_and_labels_are_errors():
    with pytest.raises(DataError):
        derive(np.array([1.0, math.nan]))
    with pytest.raises(UsageError):
        derive(np.array([1.0, 2.0]), label=2)
    with pytest.raises(UsageError):
        derive(np.array([1.0, 2.0]), label="dog", classes=["cat", "bird"])


def test_a_label_may_be_a_class_name():
    steps = derive(np.array([2.0, 1.0]), label="dog", classes=["cat", "dog"])
    assert steps["label"] == 1


finite_rows = st.lists(
    st.floats(min_value=-50, max_value=50, allow_nan=False), min_size=2, max_size=8
)
temperature_lists = st.lists(
    st.floats(min_value=0.01, max_value=100), min_size=2, max_size=8, unique=True
)


@settings(max_examples=60, deadline=None)
@given(finite_rows, temperature_lists)
def test_sweep_entropy_never_falls_as_the_temperature_rises(scores, temperatures):
    entries = sweep(np.array(scores), temperatures)
    ts = [entry["temperature"] for entry in entries]
    hs = [entry["entropy"] for entry in entries]
    assert ts == sorted(temperatures)
    assert all(later >= earlier - 1e-9 for earlier, later in zip(hs, hs[1:], strict=False))
    assert all(0 <= h <= math.log(len(scores)) + 1e-12 for h in hs)


def test_sweep_approaches_the_argmax_when_cold_and_uniform_when_hot():
    cold, hot = sweep(np.array([3.0, 1.0, 0.2]), [0.01, 1000.0])
    assert cold["probs"][0] > 1 - 1e-12
    assert_allclose(hot["probs"], [1 / 3] * 3, rtol=2e-3)


# --- the command --------------------------------------------------------------


def test_json_holds_every_step_and_writes_non_finite_numbers_as_null():
    result = run("explain", "1000", "0", "--label", "1", "-o", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["operation"] == "explain"
    assert doc["log_probs"] == [0.0, -1000.0]
    assert doc["cross_entropy"] == 1000.0
    assert doc["naive_probs"][0] is None
    assert doc["naive"]["exp"][0] is None
    assert doc["log_of_probs"][1] is None
    for key in ("shifted", "scaled", "exp", "sum_exp", "probs", "jacobian", "gradient"):
        assert key in doc


def test_json_with_a_sweep_lists_each_temperature():
    result = run("explain", "3", "1", "0.2", "--sweep-temperatures", "2,0.5", "-o", "json")
    doc = json.loads(result.stdout)
    assert [entry["temperature"] for entry in doc["sweep"]] == [0.5, 2.0]
    assert_allclose(doc["sweep"][0]["probs"], special.softmax(np.array([3, 1, 0.2]) / 0.5))


def test_sweep_flag_uses_the_documented_temperatures():
    doc = json.loads(run("explain", "3", "1", "--sweep", "-o", "json").stdout)
    assert [entry["temperature"] for entry in doc["sweep"]] == [0.1, 0.5, 1, 2, 10]


def test_text_shows_the_numbers_of_each_step():
    result = run("explain", "2", "1", "0.1", "--label", "0")
    assert result.exit_code == 0, result.output
    out = flat(result.stdout)
    book = textbook([2.0, 1.0, 0.1])
    assert f"max = {2:.4f}" in out
    assert f"= {book['sum']:.4f}." in out  # the sum of e^z
    for value in book["p"]:
        assert f"{value:.4f}" in out
    assert f"L = -log p[0] = {loss([2, 1, 0.1], 0):.4f}" in out
    gradient = np.array(book["p"]) - np.array([1.0, 0, 0])
    assert "[" + ", ".join(f"{g:.4f}" for g in gradient) + "]" in out
    assert "Jacobian" in out


def test_text_at_a_temperature_gives_both_gradients():
    out = flat(run("explain", "2", "1", "0.1", "--label", "2", "-t", "2").stdout)
    p = np.array(textbook([2.0, 1.0, 0.1], 2.0)["p"])
    onehot = np.array([0, 0, 1.0])
    assert "[" + ", ".join(f"{g:.4f}" for g in p - onehot) + "]" in out
    assert "[" + ", ".join(f"{g:.4f}" for g in (p - onehot) / 2) + "]" in out
    assert "∂L/∂x = (p - y)/T" in out


def test_text_for_two_classes_shows_the_sigmoid_identity():
    out = flat(run("explain", "2", "1").stdout)
    assert f"σ(1.0000) = {1 / (1 + math.exp(-1)):.4f}" in out


def test_text_puts_the_naive_result_beside_the_shifted_one_where_it_overflows():
    out = flat(run("explain", "1000", "0").stdout)
    assert "naive" in out and "nan" in out and "overflows" in out
    assert "-1000.0000" in out


def test_precision_sets_the_digits():
    out = run("explain", "2", "1", "0.1", "--precision", "2").stdout
    assert "0.66" in out and "0.6590" not in out


@pytest.mark.parametrize(
    "args",
    [
        ["2", "1", "0.1", "--label", "0"],
        ["1000", "0", "--label", "1", "--sweep"],
        ["-t", "0.37", "1e-5", "-1e5", "3.25", "7", "-inf", "2", "--label", "4", "--sweep"],
        [*[str(v) for v in range(30)], "--label", "12", "--sweep"],
    ],
)
@pytest.mark.parametrize("columns", [80, 120])
def test_no_line_is_wider_than_the_terminal(args, columns):
    result = run("explain", *args, COLUMNS=str(columns))
    assert result.exit_code == 0, result.output
    widths = [len(line) for line in result.stdout.splitlines()]
    assert max(widths) <= columns


def test_long_class_names_from_a_header_still_fit():
    names = ",".join(f"a_rather_long_class_name_{i}" for i in range(4))
    result = run("explain", "--label", "a_rather_long_class_name_2", stdin=f"{names}\n1,2,3,4\n")
    assert result.exit_code == 0, result.output
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
    assert "true class a_rather_long_class_name_2" in result.stdout


def test_six_long_names_with_a_sweep_fit_without_cutting_any_number():
    names = ",".join(f"{c}_long_name" for c in "abcdef")
    result = run(
        "explain", "--sweep", "-t", "0.3", "-l", "e_long_name", stdin=f"{names}\n1,2,3,4,5,6\n"
    )
    assert result.exit_code == 0, result.output
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
    assert "…" not in result.stdout
    assert "0 = a_long_name" in flat(result.stdout)


def test_piped_text_has_no_escape_codes_and_no_trailing_spaces():
    out = run("explain", "2", "1", "0.1", "--label", "0", "--sweep").stdout
    assert ESCAPE not in out
    assert "\ue000" not in out  # the wrap-glue prints as a plain space
    assert all(line == line.rstrip() for line in out.splitlines())


def test_a_terminal_gets_colour_unless_no_color_is_set():
    coloured = run("explain", "2", "1", "0.1", TTY_COMPATIBLE="1").stdout
    assert COLOUR_CODE.search(coloured)
    plain = run("explain", "2", "1", "0.1", TTY_COMPATIBLE="1", NO_COLOR="1").stdout
    assert not COLOUR_CODE.search(plain)
    flagged = run("explain", "2", "1", "0.1", "--no-color", TTY_COMPATIBLE="1").stdout
    assert not COLOUR_CODE.search(flagged)


def test_a_real_pipe_gets_plain_text_80_columns_wide():
    result = subprocess.run(
        [sys.executable, "-m", "softmax_cli", "explain", "1000", "0", "--label", "1"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONIOENCODING": "utf-8"},
    )
    assert ESCAPE not in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
    assert result.stderr == ""


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["1", "2", "--label", "5"], 2, "--label: '5' is out of range for 2 classes"),
        (["1,2;3,4"], 2, "softmax explain: takes one vector, not 2 rows"),
        (
            ["1", "2", "-o", "csv"],
            2,
            "-o: 'csv' is not one of table, json, ndjson, markdown, latex",
        ),
        (["1", "2", "--sweep-temperatures", "1,0"], 2, "--sweep-temperatures"),
        (["1", "2", "--sweep-temperatures", "a"], 2, "--sweep-temperatures"),
        (["1", "nan"], 1, "NaN"),
    ],
)
def test_bad_input_gives_one_line_and_the_right_exit_code(args, code, message):
    result = run("explain", *args)
    assert result.exit_code == code
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2
    assert "Traceback" not in result.stderr
