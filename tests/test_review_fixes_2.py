"""Inputs a newcomer found at the edges of --dtype, .npy headers, reductions and completion:
each must give the right answer or one clear line with the right exit code."""

from __future__ import annotations

import math

import numpy as np
import orjson
import pytest

from tests.test_review_fixes import assert_one_line_error, run


@pytest.mark.parametrize(
    ("scores", "labels", "dtype"),
    [("-70000,-70000", "0", "float16"), ("1,2;-1e39,-1e39", "0,0", "float32")],
)
def test_cross_entropy_rows_all_minus_inf_after_rounding_are_a_located_data_error(
    scores, labels, dtype
):
    result = run("cross-entropy", scores, "--labels", labels, "--dtype", dtype)
    bad_row = scores.count(";") + 1
    assert_one_line_error(result, 1, f"row {bad_row}", "every score is -inf")


def test_cross_entropy_writes_the_good_rows_before_a_row_that_rounds_to_minus_inf():
    result = run(
        "cross-entropy", "1,2;-1e39,-1e39", "--labels", "0,0", "--dtype", "float32", "-o", "json"
    )
    assert result.exit_code == 1
    losses = orjson.loads(result.stdout)["losses"]
    expected = float(np.float32(math.log1p(math.exp(1.0))))  # -log softmax(1,2)[0]
    assert losses == [pytest.approx(expected, rel=1e-7)]
