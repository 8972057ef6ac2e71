"""What both entry points share: the quick one (``launch.py``) and Typer's (``cli.py``).

Which tokens are scores, how an exception that ends a run becomes one stderr
line and an exit code, and how rows and losses are written to stdout.  It
imports no Typer, no Rich and (until a run starts) no NumPy.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import TYPE_CHECKING, BinaryIO

from .errors import ExitCode, SoftmaxError

if TYPE_CHECKING:
    from .pipeline import LabelSource, LossOptions
    from .readers import ScoreSource

PROGRAM = "softmax"
FORMATS = ("table", "csv", "tsv", "json", "ndjson")
REDUCTIONS = ("mean", "sum", "none")


def looks_like_scores(token: str) -> bool:
    """True for tokens such as ``-1``, ``-inf``, ``-1e-3``, ``-2,-1`` or ``-1;2``."""
    pieces = [piece.strip() for part in token.split(";") for piece in part.split(",")]
    if not any(pieces):
        return False
    for piece in pieces:
        if not piece:
            continue
        try:
            float(piece)
        except ValueError:
            return False
    return True


def say(message: str) -> None:
    """One line on stderr; a closed stderr is not worth a second error."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        sys.stderr.write(message + "\n")
        sys.stderr.flush()


def silence_stdout() -> None:
    """After EPIPE, point stdout at /dev/null so the exit-time flush stays quiet."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def exit_code_for(error: BaseException) -> int:
    """Report an exception that ended a run as one stderr line; return the exit code."""
    if isinstance(error, SoftmaxError):
        say(f"{PROGRAM}: {error}")
        return error.exit_code
    if isinstance(error, (KeyboardInterrupt, EOFError)):
        return ExitCode.INTERRUPTED
    if isinstance(error, BrokenPipeError):
        silence_stdout()
        return ExitCode.OK
    if isinstance(error, OSError):
        say(f"{PROGRAM}: {error.strerror or error}")
        return ExitCode.DATA
    say(f"{PROGRAM}: internal error: {type(error).__name__}: {error}")
    return ExitCode.DATA


def is_terminal(stream: object) -> bool:
    """True when ``stream`` is an interactive terminal."""
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError):
        return False


def default_format(stdout_is_terminal: bool) -> str:
    """Tables for people, csv for pipes."""
    return "table" if stdout_is_terminal else "csv"


def stdout_bytes() -> BinaryIO:
    """Our stdout as bytes, after anything already written to it as text."""
    if sys.stdout is None:
        raise OSError("stdout is closed")
    sys.stdout.flush()
    return sys.stdout.buffer


def write_rows(
    source: ScoreSource,
    operation_name: str,
    format_name: str,
    *,
    temperature: float,
    precision: int | None,
    no_color: bool,
) -> None:
    """Compute softmax or log-softmax of every row and write it in one format."""
    from . import numerics
    from .pipeline import run_rows
    from .writers import RowSettings, make_row_writer

    operation = numerics.softmax if operation_name == "softmax" else numerics.log_softmax
    settings = RowSettings(operation_name, temperature, precision, source.single_vector)
    out = stdout_bytes()
    writer = make_row_writer(format_name, out, settings, no_color=no_color)
    run_rows(source, operation, temperature, writer)
    out.flush()


def write_losses(
    source: ScoreSource,
    options: LossOptions,
    format_name: str,
    *,
    precision: int | None,
    no_color: bool,
    labels: LabelSource | None = None,
    targets: ScoreSource | None = None,
) -> None:
    """Compute the cross-entropy of every row, write it, and warn when a mean is undefined."""
    from .pipeline import run_cross_entropy
    from .writers import make_loss_writer

    out = stdout_bytes()
    writer = make_loss_writer(format_name, out, options.reduction, precision, no_color=no_color)
    summary = run_cross_entropy(source, options, writer, labels=labels, targets=targets)
    out.flush()
    if summary.weight_sum == 0 and options.reduction != "sum":
        reason = "every row was ignored" if summary.rows else "there are no rows"
        say(f"{PROGRAM}: warning: {reason}, so the mean loss is NaN")
