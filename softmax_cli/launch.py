"""The console entry point: plain one-liners are answered before Typer loads.

Typer, with the Pydantic it uses to coerce options, takes longer to import
than NumPy.  ``softmax 2 1 0.1``, ``softmax < scores.csv`` and their plain
variants run here through the same readers, core and writers as ``cli.py``,
and report errors as ``SoftmaxGroup.main`` does: ``probs`` or ``logprobs``
with scores as arguments, on stdin or from ``-i FILE``; ``cross-entropy
--label-column COL`` with ``--reduction``; and ``-o/--format``,
``-t/--temperature``, ``--precision``, ``--no-color``.  Anything else goes to
``cli.main``, as do arguments that would end in an error.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .entry import (
    FORMATS,
    REDUCTIONS,
    default_format,
    exit_code_for,
    is_terminal,
    looks_like_scores,
    write_losses,
    write_rows,
)

if TYPE_CHECKING:
    from .readers import ScoreSource

COMMANDS = {
    "probs": "softmax",
    "logprobs": "log_softmax",
    "cross-entropy": "cross_entropy",
    "xent": "cross_entropy",
}
# Values taken here only when their meaning is beyond doubt; others go to cli.py.
_PLAIN_TEMPERATURE = re.compile(r"[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_PLAIN_PRECISION = re.compile(r"0|[1-9][0-9]?")


@dataclass
class Request:
    """A plain one-liner: which operation, its scores and its few options."""

    operation: str
    scores: list[str]
    input_path: str | None = None
    label_column: str | None = None
    reduction: str = "mean"
    output_format: str | None = None
    temperature: float = 1.0
    precision: int | None = None
    no_color: bool = False


def plain_request(args: Sequence[str]) -> Request | None:
    """The request when ``args`` is a plain one-liner this module answers, else None."""
    operation = COMMANDS.get(args[0]) if args else None
    if args and not operation and not args[0].startswith("-") and not looks_like_scores(args[0]):
        return None  # another command (explain, evaluate, ...) or a word: cli.py answers
    tokens = iter(args[1:] if operation else args)
    request = Request(operation or COMMANDS["probs"], [])
    seen: set[str] = set()
    for token in tokens:
        if token != "-" and (not token.startswith("-") or looks_like_scores(token)):
            request.scores.append(token)
            continue
        name = {"-o": "--format", "-t": "--temperature", "-i": "--input"}.get(token, token)
        if name in seen:
            return None
        seen.add(name)
        if name == "--no-color":
            request.no_color = True
            continue
        value = next(tokens, None)
        if value is None:
            return None
        if name == "--input" and (value == "-" or not value.startswith("-")):
            request.input_path = value
        elif name == "--label-column" and value and not value.startswith("-"):
            request.label_column = value
        elif name == "--reduction" and value in REDUCTIONS:
            request.reduction = value
        elif name == "--format" and value in FORMATS:
            request.output_format = value
        elif name == "--temperature" and _PLAIN_TEMPERATURE.fullmatch(value):
            request.temperature = float(value)
            if not 0 < request.temperature < float("inf"):
                return None
        elif name == "--precision" and _PLAIN_PRECISION.fullmatch(value) and int(value) <= 17:
            request.precision = int(value)
        else:
            return None
    if request.scores and request.input_path is not None:
        return None
    losses = request.operation == "cross_entropy"
    if losses != (request.label_column is not None) or (losses and request.scores):
        return None  # cross-entropy here only with --label-column, rows only without
    if "--reduction" in seen and not losses:
        return None
    return request


def answer(request: Request) -> bool:
    """Write the answer to stdout; False (nothing read or written) when cli.py must answer.

    Errors in data read from a file or stdin are raised as ``SoftmaxError``
    (the rows before them already written), as in ``cli.py``.
    """
    from . import numerics
    from .readers import open_scores, scores_from_arguments

    if request.scores:
        try:
            source = scores_from_arguments(request.scores)
            block = next(source.blocks)
            numerics.check_rows(block.values)
        except Exception:  # noqa: BLE001 - cli.py reports it, exactly as it would have
            return False
        source.blocks = iter([block])
        _write(request, source)
        return True
    if request.input_path is None and is_terminal(sys.stdin):
        return False  # cli.py prints the usage hint
    write = _write_losses if request.operation == "cross_entropy" else _write
    if request.input_path in (None, "-"):
        write(request, open_scores(sys.stdin.buffer, label_column=request.label_column))
        return True
    try:
        handle = open(request.input_path, "rb")  # noqa: SIM115 - closed below
    except OSError:
        return False  # cli.py names the file and the reason
    with handle:
        write(request, open_scores(handle, label_column=request.label_column))
    return True


def _format_name(request: Request) -> str:
    return request.output_format or default_format(is_terminal(sys.stdout))


def _write_losses(request: Request, source: ScoreSource) -> None:
    from .pipeline import ColumnLabels, LossOptions

    options = LossOptions(reduction=request.reduction, temperature=request.temperature)
    write_losses(
        source,
        options,
        _format_name(request),
        precision=request.precision,
        no_color=request.no_color,
        labels=ColumnLabels(),
    )


def _write(request: Request, source: ScoreSource) -> None:
    write_rows(
        source,
        request.operation,
        _format_name(request),
        temperature=request.temperature,
        precision=request.precision,
        no_color=request.no_color,
    )


def main() -> None:
    """Console-script entry point: a plain one-liner here, everything else in ``cli.main``."""
    completing = any(name.startswith("_SOFTMAX_COMPLETE") for name in os.environ)
    request = None if completing else plain_request(sys.argv[1:])
    if request is not None:
        try:
            if answer(request):
                return
        except (Exception, KeyboardInterrupt) as error:  # noqa: BLE001 - never a traceback
            sys.exit(exit_code_for(error))
    from .cli import main as full_main

    full_main()
