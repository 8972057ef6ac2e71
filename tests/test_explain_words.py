"""``softmax explain`` in words: every sentence true of its numbers, in every format.

Each conditional sentence is tested on an input where it applies and on one
where it does not.  The property test checks that every number printed in
text, Markdown and LaTeX is one of the ``-o json`` values, rounded.
"""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy import special
from typer.testing import CliRunner

from softmax_cli.cli import app

runner = CliRunner()
SIZES = (1, 2, 3, 8, 50)


def run(*args: str, columns: int = 80, stdin: str | None = None):
    return runner.invoke(app, ["explain", *args], input=stdin, env={"COLUMNS": str(columns)})


def text(*args: str, columns: int = 80) -> str:
    result = run(*args, columns=columns)
    assert result.exit_code == 0, result.output
    return result.stdout


def flat(*args: str, columns: int = 80) -> str:
    """The text with every run of white space as one space, so wrapping does not matter."""
    return " ".join(text(*args, columns=columns).split())


def data(*args: str) -> dict:
    return json.loads(text(*args, "-o", "json"))


def vector(k: int) -> list[str]:
    return [f"{math.sin(i) * 3:.3f}" for i in range(k)]


# --- every printed number is a JSON value, rounded ---------------------------------

NUMBER = re.compile(r"(?<![\w.^])-?\d+(?:\.\d+)?(?:e[+-]?\d+)?(?![\w])")


def floats(value) -> list[float]:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return []
    if isinstance(value, (int, float)):
        return [float(value)]
    if isinstance(value, list):
        return [f for item in value for f in floats(item)]
    if isinstance(value, dict):
        return [f for item in value.values() for f in floats(item)]
    return []


def spellings(value: float, digits: int) -> set[str]:
    """Every way the documented number formats may write ``value`` at ``digits`` decimals."""
    out = {f"{value:.{digits}f}", f"{value:g}", f"{value:.2f}", f"{value:.2g}"}
    if value != 0 and (abs(value) < 0.5 * 10.0**-digits or abs(value) >= 1e15):
        out.add(f"{value:.{max(digits - 1, 0)}e}")
    if digits == 0 and 0 < abs(value) < 0.5:
        out.add(f"{value:.1g}")
    # below two significant digits of fixed point, scientific (1.507e-04 at 4 decimals)
    if digits > 0 and value != 0 and round(abs(value), digits) < 10.0 ** -max(digits - 1, 1):
        out.add(f"{value:.{max(digits - 1, 1)}e}")
    return {s.lstrip("-") for s in out}


TIMES_TEN = re.compile(r"(\d+(?:\.\d+)?) \\times 10\^\{(-?\d+)\}")


def printed_numbers(output: str) -> list[str]:
    """Numbers with a decimal point or an exponent: the ones that carry a computed value.

    LaTeX's 4.9 \\times 10^{-324} is read back as 4.9e-324.
    """
    output = TIMES_TEN.sub(lambda m: f"{m.group(1)}e{int(m.group(2)):+03d}", output)
    found = [m.group(0).lstrip("-") for m in NUMBER.finditer(output)]
    return [n for n in found if "." in n or "e" in n]


score = st.one_of(
    st.floats(min_value=-60, max_value=60, allow_nan=False).map(lambda v: round(v, 3)),
    st.sampled_from([0.0, 1.0, 2.5, -math.inf, math.inf, -800.0, 720.0]),
)


@st.composite
def explanations(draw):
    k = draw(st.sampled_from([1, 2, 3, 4, 8, 50]))
    values = draw(st.lists(score, min_size=k, max_size=k))
    if all(v == -math.inf for v in values):
        values[0] = 0.0
    args = [repr(v) for v in values]
    t = draw(st.sampled_from([1.0, 0.5, 2.0, 0.37]))
    args += ["-t", repr(t)]
    if draw(st.booleans()):
        args += ["--label", str(draw(st.integers(0, k - 1)))]
        if draw(st.booleans()):
            args += ["--step", draw(st.sampled_from(["0.5", "3"]))]
    args += draw(st.sampled_from([[], ["--online"], ["--sweep"], ["--brief"]]))
    args += draw(st.sampled_from([[], ["--dtype", "float32"], ["--dtype", "float16"]]))
    precision = draw(st.sampled_from([4, 2, 0]))
    return args, precision


@settings(max_examples=40, deadline=None)
@given(explanations(), st.sampled_from(["table", "markdown", "latex"]))
def test_every_number_printed_is_a_json_value_rounded(case, fmt):
    args, precision = case
    result = run(*args, "-o", "json")
    if result.exit_code == 1:  # a score beyond the range of float16
        assert "beyond the largest" in result.stderr
        return
    assert result.exit_code == 0, result.output
    allowed = set()
    for value in floats(json.loads(result.stdout)):
        allowed |= spellings(value, precision)
    shown = run(*args, "-o", fmt, "--precision", str(precision))
    assert shown.exit_code == 0, shown.output
    strangers = [n for n in printed_numbers(shown.stdout) if n not in allowed]
    assert strangers == [], (args, fmt, strangers)


def test_the_property_check_catches_a_number_that_is_not_a_json_value():
    allowed = spellings(0.659001, 4)
    assert "0.6590" in allowed
    assert [n for n in printed_numbers("p = 0.6591 and 0.6590") if n not in allowed] == ["0.6591"]
    assert printed_numbers(r"$4.9 \times 10^{-324}$ and $1 \times 10^{-5}$") == [
        "4.9e-324",
        "1e-05",
    ]


# --- the table ------------------------------------------------------------------------


def _column_end(header: str, title: str) -> int:
    return re.search(rf"(?<!\S){re.escape(title)}(?!\S)", header).end()


@pytest.mark.parametrize(
    "args", [["2", "1", "0.1"], ["2", "1", "0.1", "-t", "2", "-l", "1"], vector(8)]
)
@pytest.mark.parametrize("columns", [60, 80, 120])
def test_the_sum_row_sits_under_the_columns_it_adds_up(args, columns):
    steps = data(*args)
    expected = {"e^z": f"{steps['sum_exp']:.4f}", "p": f"{steps['sum_probs']:.4f}"}
    found = {}
    header = ""
    for line in text(*args, columns=columns).splitlines():
        if line.startswith("class"):
            header = line
        if line.startswith("sum"):
            for number in re.finditer(r"\d+\.\d+", line):
                above = [
                    t for t in ("e^z", "p") if re.search(rf"(?<!\S){re.escape(t)}(?!\S)", header)
                ]
                column = next(t for t in above if _column_end(header, t) == number.end())
                found[column] = number.group(0)
    assert found == expected


@pytest.mark.parametrize("k", SIZES)
def test_the_gradient_column_is_p_minus_the_one_hot_label_for_any_number_of_classes(k):
    scores = np.array([float(v) for v in vector(k)])
    label = k // 2
    out = text(*vector(k), "--label", str(label), "-t", "1", columns=200)
    expected = special.softmax(scores)
    expected[label] -= 1.0
    header = next(line for line in out.splitlines() if line.startswith("class"))
    row = next(line for line in out.splitlines() if line.split()[:1] == [str(label)])
    cell = f"{expected[label]:.4f}"
    assert row[_column_end(header, "p - y") - len(cell) : _column_end(header, "p - y")] == cell
    assert "(column" not in out


def test_at_a_temperature_the_table_also_shows_the_gradient_with_respect_to_x():
    out = text("1", "2", "3", "4", "5", "6", "7", "8", "--label", "3", "-t", "2", columns=200)
    scores = np.arange(1.0, 9.0)
    gradient = special.softmax(scores / 2)
    gradient[3] -= 1.0
    row = next(line for line in out.splitlines() if line.startswith("3 "))
    assert f"{gradient[3]:.4f}" in row.split() and f"{gradient[3] / 2:.4f}" in row.split()
    assert "(p - y)/T" in out


def test_no_gradient_column_without_a_label():
    assert "p - y" not in text("2", "1", "0.1")


@pytest.mark.parametrize("k", SIZES)
@pytest.mark.parametrize("columns", [50, 60, 80])
def test_no_number_is_cut_and_no_line_is_too_wide(k, columns):
    out = text(*vector(k), "--label", "0", "-t", "0.7", "--sweep", "--online", columns=columns)
    for line in out.splitlines():
        assert len(line) <= columns, line
        assert not re.search(r"[\w\].)]…", line), line  # a number or a header cut short


def test_formulas_do_not_break_in_the_middle():
    for columns in (60, 80):
        out = text("1.5", "-0.5", "-t", "2", columns=columns)
        assert any("1 / (1 + e^-(a - b))" in line for line in out.splitlines())
        out = text("2", "1", "0.1", columns=columns)
        assert any("log p = z - log Σ e^z = z - 0.4170" in line for line in out.splitlines())


def test_precision_zero_shows_a_tenth_as_a_decimal():
    out = text("2", "1", "0.1", "--precision", "0")
    assert "1e-01" not in out
    assert re.search(r"^2\s+0\.1\s", out, re.M)


# --- sentences that hold only sometimes --------------------------------------------


def test_every_value_is_positive_only_when_no_exponential_is_zero():
    assert "every value is positive" in flat("2", "1", "0.1")
    masked = flat("2", "-inf", "1")
    assert "every value is positive" not in masked
    assert "e^-inf = 0 (class 1)" in masked
    tiny = flat("0", "-800")
    assert "every value is positive" not in tiny
    assert "stored as 0" in tiny


def test_the_most_probable_class_is_named_only_without_a_tie():
    assert "The most probable is class 0." in flat("2", "1", "0.1")
    tie = flat("0", "0", "0")
    assert "most probable is class" not in tie
    assert "Classes 0, 1 and 2 tie for the largest score" in tie
    assert tie.count("◀ tied max") == 3


def test_a_plus_infinite_score_never_speaks_of_z():
    out = flat("1", "inf", "inf")
    assert "x - max is undefined" in out
    assert "z =" not in out and "e^z =" not in out and "z - log" not in out
    assert "each get 1/2 = 0.5000" in out
    assert "z = x - max" in flat("1", "2")


def test_one_class_sums_one_term_without_repeating_it():
    out = flat("5")
    assert "= 1.0000 = 1.0000" not in out
    assert "One term: Σ e^z = e^0 = 1.0000." in out
    assert "nothing to compare it with" in out
    assert "Jacobian" not in out


def test_the_cold_limit_of_a_tie_keeps_log_2():
    tie = flat("3", "3", "1", "--sweep")
    assert "H → 0" not in tie
    assert f"H → log 2 = {math.log(2):.4f}" in tie
    assert "H → 0" in flat("3", "1", "--sweep")
    flat_tie = flat("1", "1", "--sweep")
    assert "every temperature gives the same uniform distribution" in flat_tie


def test_the_underflow_limits_are_the_float64_ones_everywhere():
    info = np.finfo(np.float64)
    subnormal = f"{float(info.smallest_subnormal):.2g}"
    normal = f"{float(info.smallest_normal):.2g}"
    out = flat("0", "-800")
    assert subnormal == "4.9e-324"
    assert f"smallest positive float64 (half of {subnormal})" in out
    assert "1e-308" not in out and "5e-324" not in out
    subnormal_case = flat("0", "-720")
    assert f"below {normal}, the smallest normal float64" in subnormal_case
    assert normal not in flat("2", "1", "0.1")


def test_long_vectors_point_at_the_column_by_its_own_name():
    out = flat(*vector(8), "--label", "3")
    assert "the column e^z of the table" in out
    assert "the column p - y of the table" in out
    assert "column x - max above" not in out


def test_the_mathematics_is_stated_correctly():
    out = flat("2", "1", "0.1", "--label", "0")
    assert "the largest exponent is now 0, so the largest term is e^0 = 1" in out
    assert "Each column adds up to 0 because the probabilities add up to 1" in out
    assert "each row adds up to 0 because adding the same number" in out
    assert "step of size η on z" in out
    steps = data("2", "1", "0.1", "--label", "0")
    assert_allclose(np.sum(steps["jacobian"], axis=0), 0, atol=1e-16)
    assert_allclose(np.sum(steps["jacobian"], axis=1), 0, atol=1e-16)


def test_two_classes_define_a_and_b_and_read_the_difference_as_log_odds():
    out = flat("1.5", "-0.5", "-t", "2")
    assert "Write a = x[0]/T and b = x[1]/T" in out
    assert "a - b = (1.5000 - (-0.5000))/2 = 1.0000" in out
    assert "- -" not in out
    p = special.softmax(np.array([1.5, -0.5]) / 2)
    assert f"log(p[0]/p[1]) = {math.log(p[0] / p[1]):.4f}" in out
    assert "binary cross-entropy" not in out
    assert "a - b = 1.5000 - (-0.5000) = 2.0000" in flat("1.5", "-0.5")


def test_two_classes_with_a_label_give_the_binary_cross_entropy_and_its_gradient():
    out = flat("1.5", "-0.5", "--label", "1")
    s = 1 / (1 + math.exp(-2.0))
    bce = -math.log(1 - s)
    assert "(here t = 0), the binary cross-entropy" in out
    assert f"log(1 - σ(a - b))] = {bce:.4f}" in out
    assert f"σ(a - b) - t = {s:.4f}" in out
    steps = data("1.5", "-0.5", "--label", "1")
    assert_allclose(steps["binary_cross_entropy"], steps["cross_entropy"], rtol=1e-15)
    assert_allclose(steps["sigmoid_gradient"], steps["gradient_z"][0], rtol=1e-15)
    assert "binary cross-entropy" not in flat("1", "2", "3", "--label", "1")


def test_a_soft_target_splits_the_loss_into_entropy_and_divergence():
    q = np.array([0.7, 0.2, 0.1])
    p = special.softmax(np.array([2.0, 1.0, 0.1]))
    own = -np.sum(q * np.log(q))
    kl = np.sum(q * np.log(q / p))
    out = flat("2", "1", "0.1", "--target", "0.7,0.2,0.1")
    assert f"= {own:.4f} + {kl:.4f} = {own + kl:.4f}" in out
    assert f"∂L/∂z = p - q = [{', '.join(f'{g:.4f}' for g in p - q)}]" in out
    steps = data("2", "1", "0.1", "--target", "0.7,0.2,0.1")
    assert_allclose(steps["cross_entropy"], -np.sum(q * np.log(p)), rtol=1e-14)


def test_a_step_lowers_the_loss_and_says_so():
    out = flat("2", "1", "0.1", "--label", "2", "--step", "0.5")
    x = np.array([2.0, 1.0, 0.1])
    p = special.softmax(x)
    moved = x - 0.5 * (p - np.array([0, 0, 1.0]))
    old, new = -math.log(p[2]), -special.log_softmax(moved)[2]
    assert new < old
    assert f"L' = {new:.4f} < L = {old:.4f}" in out
    assert f"lowered it by {old - new:.4f}" in out


def test_a_step_too_large_for_a_soft_target_overshoots_and_says_so():
    out = flat("2", "1", "0.1", "--target", "0.5,0.5,0", "--step", "50")
    assert "overshoots" in out and "lowered" not in out
    assert "> L = " in out


def test_a_step_with_a_zero_gradient_changes_nothing_and_says_so():
    out = flat("1000", "0", "--label", "0", "--step", "1")
    assert "The gradient is exactly 0 here" in out
    assert "lowered" not in out and "overshoots" not in out


def test_a_masked_true_class_has_an_infinite_loss_and_no_gradient_column():
    out = flat("2", "-inf", "1", "--label", "1", "--step", "1")
    assert "The true class is masked" in out
    assert "p - y" not in text("2", "-inf", "1", "--label", "1").split("1.")[0]
    assert "no step can lower it" in out


def test_online_softmax_reaches_the_same_sum_in_blocks():
    steps = data(*vector(50), "--online")
    assert len(steps["online"]["blocks"]) == 4
    assert_allclose(steps["online"]["sum_exp"], steps["sum_exp"], rtol=1e-14)
    out = flat("2", "1", "0.1", "--online")
    assert "one pass, block by block" in out
    assert "exactly the same number" in out or "the same up to rounding" in out
    masked_first = data("-inf", "1", "2", "--online")
    assert_allclose(masked_first["online"]["sum_exp"], 1 + math.exp(-1), rtol=1e-15)
    assert "Online softmax" not in flat("1", "inf", "--online")


def test_float16_shows_where_the_naive_exponential_overflows():
    info = np.finfo(np.float16)
    threshold = f"{math.log(float(info.max)):.2f}"
    assert threshold == "11.09"
    out = flat("12", "0", "--dtype", "float16")
    assert f"x/T > {threshold} (log {int(info.max)}); here it does for class 0" in out
    assert "no score here is that large" in flat("2", "1", "--dtype", "float16")
    gone = flat("0", "-20", "--dtype", "float16")
    assert "class 1 vanish" in gone
    assert f"{float(info.smallest_subnormal) / 2:.2g}" in gone
    steps = data("0", "-20", "--dtype", "float16")
    assert steps["probs"][1] == 0.0 and steps["log_probs"][1] == -20.0


def test_float32_computes_in_float32():
    steps = data("0.1", "0.2", "--dtype", "float32")
    assert steps["scores"][0] == float(np.float32(0.1))
    x = np.array([0.1, 0.2], dtype=np.float32)
    z = x - x.max()
    e = np.exp(z)
    assert steps["probs"] == (e / e.sum(dtype=np.float32)).astype(np.float64).tolist()


# --- one screen, slides and notes ------------------------------------------------------


@pytest.mark.parametrize("k", SIZES)
@pytest.mark.parametrize("extra", [[], ["-t", "2", "--label", "0"]])
def test_brief_fits_one_projector_screen(k, extra):
    out = text(*vector(k), "--brief", *extra)
    assert len(out.splitlines()) <= 25
    assert "shift: z = " in " ".join(out.split())
    assert "normalise: p = e^z / Σ e^z" in " ".join(out.split())
    if extra:
        assert "loss: L = -log p[0] = " in " ".join(out.split())


def test_brief_is_shorter_than_the_full_derivation():
    full = text("2", "1", "0.1", "--label", "0")
    brief = text("2", "1", "0.1", "--label", "0", "--brief")
    assert len(brief.splitlines()) < len(full.splitlines()) / 2
    assert "Jacobian" not in brief


@pytest.mark.parametrize("k", SIZES)
def test_markdown_tables_are_well_formed_and_math_is_closed(k):
    out = text(*vector(k), "--label", "0", "-o", "markdown", "--sweep")
    tables = [line for line in out.splitlines() if line.startswith("|")]
    assert tables
    for line in out.splitlines():
        assert line.replace("\\$", "").count("$") % 2 == 0, line
    assert "| class |" in out
    assert "$\\sum" in out or k == 1
    assert "\x02" not in out and "\x04" not in out


@pytest.mark.parametrize("k", SIZES)
def test_latex_is_a_balanced_fragment_with_tabular_and_align(k):
    out = text(*vector(k), "--label", "0", "-o", "latex", "--sweep", "-t", "2")
    assert out.count("\\begin{tabular}") == out.count("\\end{tabular}") >= 1
    assert "\\begin{align*}" in out and "\\end{align*}" in out
    unescaped = re.sub(r"\\[{}]", "", out)
    assert unescaped.count("{") == unescaped.count("}")
    assert not re.search(r"[Σ∂ησδ◀→‖]", out)


def test_markdown_and_latex_carry_the_same_steps_as_the_text():
    args = ("2", "1", "0.1", "--label", "0", "--step", "1")
    headings = re.findall(r"^\s*\d+\. ([A-Z][^.?]*)[.?]", text(*args), re.M)
    md = text(*args, "-o", "markdown")
    tex = text(*args, "-o", "latex")
    assert len(headings) >= 9
    for heading in headings:
        assert heading in md and heading in tex


def test_class_names_are_escaped_in_latex():
    out = run("--label", "a_b", "-o", "latex", stdin="a_b,c&d\n1,2\n")
    assert out.exit_code == 0, out.output
    assert "a\\_b" in out.stdout and "c\\&d" in out.stdout


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["1", "2", "--target", "0.5"], 2, "--target: has 1 values, expected 2"),
        (["1", "2", "--target", "0.5,0.6"], 2, "--target: must add up to 1"),
        (["1", "2", "--target", "0.5,-0.5"], 2, "--target"),
        (["1", "2", "--target", "0.5,0.5", "--label", "0"], 2, "not both"),
        (["1", "2", "--step", "1"], 2, "--step: needs --label or --target"),
        (["1", "2", "--label", "0", "--step", "0"], 2, "--step"),
        (["1", "2", "--dtype", "float8"], 2, "--dtype"),
        (["70000", "0", "--dtype", "float16"], 1, "beyond the largest float16"),
    ],
)
def test_bad_explain_options_give_one_line_and_the_right_exit_code(args, code, message):
    result = run(*args)
    assert result.exit_code == code, result.output
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("fmt", ["markdown", "latex"])
def test_only_explain_writes_markdown_and_latex(fmt):
    result = runner.invoke(app, ["probs", "1", "2", "-o", fmt])
    assert result.exit_code == 2
    assert "is not one of" in result.stderr


def test_the_naive_formula_names_what_breaks_and_only_when_it_breaks():
    partial = flat("-700", "-760")
    assert "rounds to 0 for class 1 (x/T < -745.13)" in partial
    assert "0/0 = nan" not in partial
    total = flat("-1000", "-1001")
    assert "every x/T here is below -745.13" in total and "0/0 = nan" in total
    over = flat("1000", "0")
    assert "overflows to inf once x/T > 709.78" in over
    fine = flat("2", "1", "0.1")
    assert "Without the shift?" in fine and "breaks." not in fine.split("Without")[1][:20]


def test_float16_says_why_its_probabilities_do_not_add_up_to_1():
    rounded = flat("0", "-20", "3", "--dtype", "float16", "-t", "0.5")
    steps = data("0", "-20", "3", "--dtype", "float16", "-t", "0.5")
    assert f"{steps['sum_probs']:.4f}" != "1.0000"
    assert "not exactly 1: each p is rounded to a float16" in rounded
    assert "not exactly 1" not in flat("2", "1", "0.1")


def test_a_score_changed_by_rounding_to_the_dtype_is_pointed_out():
    assert "0.1 is stored as 0.0999756" in flat("0.1", "1", "--dtype", "float16")
    assert "is stored as" not in flat("0.5", "1", "--dtype", "float16").split("Shift")[0]


def test_a_finite_true_class_beside_plus_infinity_has_an_infinite_loss():
    out = flat("1", "inf", "--label", "0")
    assert "a finite score cannot compete with +inf" in out
    assert "The true class is masked" not in out
    assert "a finite score cannot compete" not in flat("1", "inf", "--label", "1")


def test_one_class_has_a_zero_gradient_said_plainly():
    assert "there is nothing to learn" in flat("5", "--label", "0")
    assert "there is nothing to learn" not in flat("5", "1", "--label", "0")


def test_rounded_terms_that_miss_the_printed_sum_are_owned_up_to():
    steps = data("2", "1", "0.1")
    printed = sum(round(e, 4) for e in steps["exp"])
    assert f"{printed:.4f}" != f"{steps['sum_exp']:.4f}"  # 1.5175 against 1.5174
    assert "each is rounded, the sum is of the unrounded values" in flat("2", "1", "0.1")
    assert "each is rounded" not in flat("1", "2")


def test_the_online_sum_says_how_closely_it_agrees():
    args = ("3", "-1", "2", "0.5", "-inf", "4", "1", "1", "-t", "0.5", "--online")
    steps = data(*args)
    assert steps["online"]["sum_exp"] != steps["sum_exp"]  # the last bits differ
    assert "the same to every digit shown; the last bits may differ" in flat(*args)
    one_block_each = data("1", "3", "--online")
    assert one_block_each["online"]["sum_exp"] == one_block_each["sum_exp"]
    assert "exactly the same number" in flat("1", "3", "--online")
