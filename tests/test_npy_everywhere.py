"""-o npy is an array of probabilities: every command either writes one NumPy reads
back, or refuses with a usage error. None writes something else under that name."""

from __future__ import annotations

import io

import numpy as np
import pytest

from softmax_cli import options
from tests.test_frontend import assert_usage_error, run

ARGS = {
    "hsoftmax": ["--tree", "examples/animals.tree"],
    "entmax": ["--alpha", "1.5"],
    "explain": [],
}


def _takes_npy(command: options.Command) -> bool:
    return any(option.choices and "npy" in option.choices for option in command.options)


def _declared(command: options.Command) -> set[str]:
    return {name for option in command.options for name in option.names}


CASES = [(command, False) for command in options.COMMANDS] + [
    (command, True) for command in options.COMMANDS if "--labels" in _declared(command)
]


@pytest.mark.parametrize(
    ("command", "loss"), CASES, ids=[f"{c.name}-{'loss' if loss else 'rows'}" for c, loss in CASES]
)
def test_npy_output_is_an_array_or_a_usage_error(command: options.Command, loss: bool) -> None:
    extra = []
    if loss:
        extra = ["--labels", "0"] + (["--loss"] if "--loss" in _declared(command) else [])
    result = run(command.name, *ARGS.get(command.name, []), *extra, "2", "1", "0.1", "-o", "npy")
    if result.exit_code == 2:
        assert_usage_error(result)
        return
    assert result.exit_code == 0, result.stderr
    assert _takes_npy(command)
    array = np.load(io.BytesIO(result.stdout_bytes), allow_pickle=False)
    assert array.dtype == np.float64
    assert np.isclose(array.sum(), 1.0) or command.name == "logprobs"


@pytest.mark.parametrize("command", options.COMMANDS, ids=lambda command: command.name)
@pytest.mark.parametrize("document", ["markdown", "latex"])
def test_only_explain_writes_documents(command: options.Command, document: str) -> None:
    result = run(command.name, *ARGS.get(command.name, []), "2", "1", "0.1", "-o", document)
    if command.name == "explain":
        assert result.exit_code == 0, result.stderr
    else:
        assert_usage_error(result)
