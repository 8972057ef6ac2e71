"""Operations by name, and the numerics function behind each."""

from __future__ import annotations

import numpy as np
import pytest

from softmax_cli import numerics
from softmax_cli.operations import Operation


def test_an_operation_is_the_name_json_output_writes():
    assert Operation.SOFTMAX == "softmax"
    assert Operation.LOG_SOFTMAX.value == "log_softmax"
    assert str(Operation.LOG_SOFTMAX) == "log_softmax"


def test_an_operation_reads_back_from_its_name():
    assert Operation("log_softmax") is Operation.LOG_SOFTMAX


def test_only_log_softmax_gives_log_probabilities():
    assert Operation.LOG_SOFTMAX.is_log
    assert not Operation.SOFTMAX.is_log


@pytest.mark.parametrize(
    ("operation", "expected"),
    [
        (Operation.SOFTMAX, numerics.softmax),
        (Operation.LOG_SOFTMAX, numerics.log_softmax),
        ("softmax", numerics.softmax),
        ("log_softmax", numerics.log_softmax),
    ],
)
def test_each_operation_has_its_numerics_function(operation, expected):
    assert numerics.operation_function(operation) is expected


def test_the_function_of_log_softmax_gives_log_probabilities():
    row = np.array([[2.0, 1.0, 0.1]])
    log_probs = numerics.operation_function(Operation.LOG_SOFTMAX)(row, 1.0)
    assert np.exp(log_probs).sum() == pytest.approx(1.0, rel=1e-12)
    assert (log_probs < 0).all()


def test_an_unknown_operation_name_is_an_error():
    with pytest.raises(ValueError, match="sparsemax"):
        numerics.operation_function("sparsemax")
