"""Errors as values with a place, the exit codes they map to, and the one function that maps them.

Every way a run can end badly (a usage error, bad data, a closed pipe, a
signal, a bug) becomes one or two stderr lines and an exit code in
``exit_code_for``, and nowhere else.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from enum import IntEnum

PROGRAM = "softmax"


class ExitCode(IntEnum):
    """Process exit codes; documented in the README and ``--help``."""

    OK = 0
    DATA = 1
    USAGE = 2
    INTERRUPTED = 128 + signal.SIGINT
    TERMINATED = 128 + signal.SIGTERM


class SoftmaxError(Exception):
    """Base of every error we report as one line on stderr."""

    exit_code = ExitCode.DATA


class DataError(SoftmaxError):
    """Bad input data, located by 1-based line and column where known.

    ``DataError("'abc' is not a number", line=7, column=3)`` reads
    ``line 7, column 3: 'abc' is not a number``; a message that already names
    its place (``line 4 has 3 values, expected 5``) passes ``placed=True``.
    """

    exit_code = ExitCode.DATA

    def __init__(
        self,
        message: str,
        line: int | None = None,
        column: int | None = None,
        *,
        placed: bool = False,
        unit: str = "line",
    ):
        self.message = message
        self.line = line
        self.column = column
        self.placed = placed
        self.unit = unit  # "row" for scores typed as arguments, which have no lines
        super().__init__(str(self))

    def in_file(self, name: str) -> DataError:
        """The same error, said to be in the named input (``--targets soft.csv: line 3: ...``)."""
        return DataError(f"{name}: {self}", placed=True)

    def __str__(self) -> str:
        where = []
        if self.line is not None and not self.placed:
            where.append(f"{self.unit} {self.line}")
        if self.column is not None and not self.placed:
            where.append(f"column {self.column}")
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message


class UsageError(SoftmaxError):
    """A problem with what the user asked for rather than with the data (exit 2).

    ``option`` is the option as the user typed it.  ``within`` says which
    command it concerns: as typed (None for the program itself or for the
    ``softmax 2 1 0.1`` shorthand), and whose ``--help`` explains it.
    """

    exit_code = ExitCode.USAGE

    def __init__(self, message: str, *, option: str | None = None):
        self.message = message
        self.option = option
        self.command: str | None = None
        self.help_command: str | None = None
        self.placed = False
        super().__init__(str(self))

    def within(self, command: str | None, help_command: str | None) -> UsageError:
        """Name the command, unless an inner step already did."""
        if not self.placed:
            self.command, self.help_command, self.placed = command, help_command, True
        return self

    def __str__(self) -> str:
        return f"{self.option}: {self.message}" if self.option else self.message


class InternalError(SoftmaxError):
    """A bug, reported with the input line it happened on so it can be reproduced."""

    def __init__(self, message: str, line: int | None = None):
        self.line = line
        where = f" at input line {line}" if line is not None else ""
        super().__init__(f"internal error{where}: {message}")


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived; unwinds like KeyboardInterrupt so output is closed."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(signal.Signals(signum).name)


class RowError(ValueError):
    """Raised by the numerical core for a bad row; the caller knows its line."""

    def __init__(self, row: int, message: str, column: int | None = None):
        self.row = row
        self.message = message
        self.column = column  # 1-based, when one value is to blame
        super().__init__(f"row {row}: {message}")


def say(message: str) -> None:
    """One line on stderr, control characters escaped (messages quote the input);
    a closed stderr is not worth a second error."""
    from .escapes import printable

    with contextlib.suppress(OSError, ValueError, AttributeError):
        sys.stderr.write(printable(message) + "\n")
        sys.stderr.flush()


def silence_stdout() -> None:
    """After EPIPE, point stdout at /dev/null so the exit-time flush stays quiet."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def exit_code_for(error: BaseException) -> int:
    """Report an exception that ended a run as stderr lines; return the exit code."""
    if isinstance(error, UsageError):
        said = f"{PROGRAM} {error.command}" if error.command else PROGRAM
        helped = f"{PROGRAM} {error.help_command}" if error.help_command else PROGRAM
        say(f"{said}: {error}")
        say(f"Try '{helped} --help' for help.")
        return error.exit_code
    if isinstance(error, SoftmaxError):
        say(f"{PROGRAM}: {error}")
        return error.exit_code
    if isinstance(error, Interrupted):
        return 128 + error.signum
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
