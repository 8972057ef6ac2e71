"""Errors as values with a place, and the exit codes they map to."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes; documented in the README and ``--help``."""

    OK = 0
    DATA = 1
    USAGE = 2
    INTERRUPTED = 130


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
    ):
        self.message = message
        self.line = line
        self.column = column
        self.placed = placed
        super().__init__(str(self))

    def __str__(self) -> str:
        where = []
        if self.line is not None and not self.placed:
            where.append(f"line {self.line}")
        if self.column is not None and not self.placed:
            where.append(f"column {self.column}")
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message


class InputUsageError(SoftmaxError):
    """A problem with what the user asked for rather than with the data (exit 2)."""

    exit_code = ExitCode.USAGE


class RowError(ValueError):
    """Raised by the numerical core for a bad row; the caller knows its line."""

    def __init__(self, row: int, message: str):
        self.row = row
        self.message = message
        super().__init__(f"row {row}: {message}")
