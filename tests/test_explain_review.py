"""Sentences of ``softmax explain`` that were false on some inputs.

Each conditional sentence has one input where it applies and one where it
does not; expected numbers are computed here with NumPy, not read from the program.
"""

from __future__ import annotations

import math
import re

import numpy as np
from scipy import special

from tests.test_explain_words import data, flat, text


def test_tied_plus_infinity_names_each_entry_in_the_align_block():
    tex = text("1", "inf", "inf", "-o", "latex")
    block = tex.split(r"\begin{align*}")[1].split(r"\end{align*}")[0]
    assert r"x[\text{1}] &= x[\text{2}] = +\infty" in block
    assert r"p[\text{1}] = p[\text{2}] = 1/2" in block
    assert not re.search(r"(?<![\w\[])x &=", block)
    single = text("1", "inf", "3", "-o", "latex").split(r"\begin{align*}")[1]
    assert r"x[\text{1}] &= +\infty \quad (p[\text{1}] = 1)" in single


def test_the_log_odds_are_the_difference_of_the_scaled_scores_at_a_temperature():
    out = flat("1.5", "-0.5", "--label", "1", "-t", "2")
    assert f"= {(1.5 + 0.5) / 2:.4f}: the difference of the scaled scores" in out
    assert "the difference of the scores is the log-odds" not in out
    assert "the difference of the scores is the log-odds" in flat("1.5", "-0.5")


def test_a_float16_sum_that_absorbs_small_terms_says_so_with_its_numbers():
    out = flat("12", "3", "1", "--dtype", "float16")
    spacing = float(np.spacing(np.float16(1)))
    terms = np.exp(np.array([0, -9, -11], dtype=np.float16))
    exact = math.fsum(terms.astype(np.float64).tolist())
    assert f"{exact:.4f}" == "1.0001" and f"{float(terms.sum(dtype=np.float16)):.4f}" == "1.0000"
    assert f"numbers are {spacing:.4f} apart, so a term below half of that is lost" in out
    assert "as those of classes 1 and 2 are" in out  # 1.2e-4 and 1.7e-5 < spacing/2
    assert f"the exact sum of the stored terms is {exact:.4f}" in out
    assert "the sum is of the unrounded values" not in out
    # 2 1 0.1: no term is small enough to vanish, the partial sums are only rounded
    rounded = flat("2", "1", "0.1", "--dtype", "float16")
    assert "is lost" not in rounded and "each partial sum is rounded" in rounded


def test_with_plus_infinity_the_gradient_is_zero_and_z_is_never_used():
    for args in (["1", "inf", "2", "--label", "1", "-t", "2"], ["inf", "1", "--label", "0"]):
        out = flat(*args)
        assert "the gradient is 0 in the limit" in out
        assert "L = -z" not in out and "minus a constant" not in out
        assert "raises z[" not in out
    assert "the gradient is 0 in the limit" not in flat("1", "2", "--label", "1")


def test_an_infinite_two_class_loss_has_no_sigmoid_gradient_either():
    out = flat("1", "-inf", "--label", "1")
    assert "no gradient to follow here either" in out and "σ(a - b) - t =" not in out
    assert ".  This" not in text("1", "-inf", "--label", "1")
    finite = flat("1", "-0.5", "--label", "1")
    s = special.expit(1.5)
    assert f"σ(a - b) - t = {s:.4f}" in finite


def test_tied_plus_infinity_is_a_convention_and_the_input_is_already_infinite():
    tied = flat("1", "inf", "inf")
    assert "by convention they share equally" in tied and "limit of ever larger" not in tied
    assert "the input is already infinite" in tied and "overflows to inf once" not in tied
    single = flat("1", "inf", "2")
    assert "the limit as the score grows" in single and "convention" not in single
    assert "overflows to inf once" in flat("1000", "0")


def test_a_table_that_leaves_rows_out_says_how_many_it_shows():
    scores = [f"{math.sin(i) * 3:.2f}" for i in range(50)]
    out = flat(*scores, "--label", "7")
    shown = len(
        [
            line
            for line in text(*scores, "--label", "7", columns=200).splitlines()
            if re.match(r"\d+ ", line)
        ]
    )
    assert f"which shows {shown} of the 50 classes" in out
    assert f"(the table shows {shown} of them)" in out
    split = text(*scores, "--label", "7", columns=60)
    left_out = [int(n) for n in re.findall(r"\((\d+) more\)", split)]
    assert sum(left_out) == 2 * (50 - shown)  # each part of the split table says it
    assert "which shows" not in flat(*scores[:8], "--label", "3")


def test_one_number_rule_for_every_column():
    out = text("12", "3", "1", "--dtype", "float16")
    e9 = float(np.exp(np.float16(-9)))
    assert f"{e9:.3e}" in out and "0.0001 " not in out
    jac = flat("12", "3", "1", "--label", "0")
    p = special.softmax([12.0, 3.0, 1.0])
    assert f"{p[2] * (1 - p[2]):.3e}" in jac
    assert f"{0.0246:.4f}" == "0.0246"  # above 1e-3 stays fixed point
    zero = text("0", "0", "0", "--precision", "0")
    assert "e-01" not in zero
    assert "0.10" in text("2", "1", "0.1", "--precision", "2")  # 0.099 rounds to 0.10, fixed


def test_latex_words_in_math_keep_their_spaces():
    tex = text("1000", "0", "--online", "-o", "latex")
    assert r"\text{naive }e^{x/T}" in tex and r"\text{naive}e" not in tex
    assert r"\text{block }\text{terms}" in tex
    assert r"$\text{rescale}$" in tex


def test_commands_are_quoted_and_never_wrapped():
    out = text("2", "1", "0.1", "--label", "0", "-t", "2", "--sweep", "--step", "1", columns=60)
    assert "'softmax explain 1000 0'." in out
    assert "`softmax explain 1000 0`" in text("2", "1", "0.1", "-o", "markdown")
    assert r"\texttt{softmax explain 1000 0}" in text("2", "1", "0.1", "-o", "latex")


def test_printed_probabilities_that_miss_the_printed_sum_get_the_rounding_note():
    p = special.softmax(np.arange(1.0, 9.0))
    assert f"{sum(float(f'{v:.4f}') for v in p):.4f}" == "1.0001"
    note = "They add up to 1.0000. (The terms as printed add up to a slightly different"
    assert note in flat(*map(str, range(1, 9)), "--label", "3")
    p2 = special.softmax([2.0, 1.0, 0.1])
    assert f"{sum(float(f'{v:.4f}') for v in p2):.4f}" == "1.0000"
    assert "They add up to 1.0000. The most probable" in flat("2", "1", "0.1")


def test_the_sweep_bar_is_normalised_by_the_unmasked_classes():
    out = text("2", "-inf", "1", "--sweep")
    assert "H / log 2" in out and "H / log K" not in out
    unmasked = text("2", "0", "1", "--sweep")
    assert "H / log 3" in unmasked and "where 3 is the number" not in unmasked
    steps = data("2", "-inf", "1", "--sweep")
    assert steps["unmasked_entropy"] == math.log(2)


def test_a_temperature_on_tied_scores_stretches_no_gaps():
    tied = flat("1", "1", "--label", "0", "-t", "0.5")
    assert "no gaps" in tied and "sharper" not in tied
    assert "sharper" in flat("1", "2", "-t", "0.5")


def test_a_one_hot_target_is_one_class_and_the_labelled_loss():
    out = flat("2", "1", "0.1", "--target", "1,0,0")
    loss = -math.log(special.softmax([2.0, 1.0, 0.1])[0])
    assert "asks for exactly one class, 0" in out and "not one class" not in out
    assert f"-log p[0] = {loss:.4f}" in out
    assert "not one class" in flat("2", "1", "0.1", "--target", "0.7,0.2,0.1")


def test_every_underflowed_probability_is_named_the_true_class_first():
    out = flat("1000", "0", "-1000", "--label", "2")
    assert "p[2] and p[1] are stored as 0" in out
    assert "-2000.0000 and -1000.0000; the loss is minus the first" in out
    assert "the loss is minus" not in flat("1000", "0", "-1000", "--label", "0")


def test_notation_binary_target_is_t_and_words_stay_out_of_math():
    out = flat("1.5", "-0.5", "--label", "1")
    assert "(here t = 0)" in out and "y = 0" not in out
    md = text("2", "1", "0.1", "--label", "0", "-o", "markdown")
    assert "adds $-1$" in md
    tex = text("2", "1", "0.1", "--sweep", "-o", "latex")
    assert r"$T$ & " in tex and r"& $H$ \\" in tex
    assert "(half of 4.9e-324)" in flat("0", "-800")


def test_gradient_and_jacobian_sums_own_up_to_stored_probabilities_that_miss_1():
    exps = np.exp(np.array([0, -9, -11], dtype=np.float16))
    stored = exps / exps.sum(dtype=np.float16)  # every step in float16, as the model does
    total = f"{math.fsum(stored.astype(np.float64).tolist()):.4f}"
    out = flat("12", "3", "1", "--dtype", "float16", "--label", "0")
    assert f"the entries here add up to {total} - 1" in out
    assert f"column j here adds up to -p_j ({total} - 1)" in out
    assert "when the probabilities add up to exactly 1" not in flat("12", "3", "1", "--label", "0")


def test_one_unmasked_class_is_one_class_in_the_entropy_bound():
    assert "all on the one class that is not masked" in flat("1", "-inf", "--label", "1")
    assert "uniform over the 2 classes that are not masked" in flat("2", "-inf", "1")


def test_no_entropy_bar_when_one_class_is_left():
    assert "H / log 1" not in text("5", "-inf", "--sweep")
    assert "H / log 1" not in text("5", "--sweep")
    assert "H / log 2" in text("5", "4", "--sweep")


def test_brief_key_lines_at_plus_infinity_say_tie_or_limit_and_a_zero_gradient():
    tied = flat("1", "inf", "inf", "--label", "1", "--brief", "--step", "1")
    assert "tie at +inf: x[1] = x[2] = +inf" in tied and "limit:" not in tied
    assert "step: the gradient is 0 with a score at +inf, so L' = 0.6931 = L" in tied
    assert "η(p - y)" not in tied
    single = flat("1", "inf", "2", "--label", "1", "--brief", "--step", "1")
    assert "limit: x[1] = +inf" in single
    assert "x' = x - η(p - y)" in flat("1", "2", "--label", "1", "--brief", "--step", "1")


def test_one_score_has_no_gaps_for_the_temperature():
    assert "With one score there are no gaps for T = 0.5" in flat("5", "-t", "0.5")
    assert "With one score" not in flat("5", "4", "-t", "0.5")


def test_two_tied_infinite_scores_with_a_label_warn_nothing():
    # Found by the fuzz test: the binary loss of an undefined difference raised a
    # RuntimeWarning (an internal error where warnings are errors, a stray line otherwise).
    import subprocess
    import sys

    for args in (["inf", "inf"], ["-inf", "2"], ["inf", "-inf"]):
        done = subprocess.run(
            [sys.executable, "-W", "error", "-m", "softmax_cli", "explain", *args, "--label", "0"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""
