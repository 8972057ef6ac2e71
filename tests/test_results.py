"""The totals of a cross-entropy run, for every reduction."""

from __future__ import annotations

import math

from softmax_cli.results import LossSummary


def test_the_mean_loss_divides_by_the_weight_of_the_counted_rows():
    summary = LossSummary("mean", rows=3, loss_sum=3.0, weight_sum=2.0)
    assert summary.loss == 1.5


def test_the_summed_loss_is_the_plain_sum():
    assert LossSummary("sum", rows=3, loss_sum=3.0, weight_sum=2.0).loss == 3.0


def test_a_mean_over_no_weight_is_nan_as_in_pytorch():
    summary = LossSummary("mean", rows=2)
    assert math.isnan(summary.loss)
    assert math.isnan(summary.perplexity)
    assert math.isnan(summary.accuracy)


def test_perplexity_of_a_huge_mean_loss_is_infinite_not_an_overflow():
    assert LossSummary("mean", rows=1, loss_sum=1000.0, weight_sum=1.0).perplexity == math.inf
