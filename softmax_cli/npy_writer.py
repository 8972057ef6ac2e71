"""Rows written as a NumPy ``.npy`` array (float64 unless asked otherwise).

The header holds the number of rows, which is known only at the end.  A
regular file written from its start gets a header with room for any count,
rewritten in place when the rows are done; anything else (a pipe, a file
opened to append, a file written from the middle) gets the rows spooled to a
temporary file first, so what it receives is always one whole, valid array
(also after a data error: the rows before the bad row).
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Sequence
from typing import Any, BinaryIO

import numpy as np

from .errors import UsageError
from .numerics import FloatArray

_ALIGN = 64  # numpy aligns the data to 64 bytes; the header is padded to it
_MOST_ROWS = 10**19  # the placeholder count: no real count has more digits


def npy_header(shape: tuple[int, ...], dtype: np.dtype, length: int | None = None) -> bytes:
    """A version 1.0 header for ``shape``, padded to ``length`` bytes (or to 64)."""
    fields = f"{{'descr': {dtype.str!r}, 'fortran_order': False, 'shape': {shape!r}, }}"
    text = fields.encode("latin-1")
    size = length if length is not None else -(-(10 + len(text) + 1) // _ALIGN) * _ALIGN
    padding = size - 10 - len(text) - 1
    body = text + b" " * padding + b"\n"
    return b"\x93NUMPY\x01\x00" + len(body).to_bytes(2, "little") + body


def refuse_terminal(out: BinaryIO) -> None:
    """Binary output would garble a terminal: a usage error before anything is read."""
    try:
        terminal = out.isatty()
    except (OSError, ValueError, AttributeError):
        terminal = False
    if terminal:
        raise UsageError(
            "npy is binary and is not written to a terminal; redirect it to a file or a pipe",
            option="--format",
        )


def _seekable_file(out: BinaryIO) -> bool:
    """True for a regular file written from its start, where a header can be rewritten.

    In append mode (``>>``) every write goes to the end whatever the offset, so a
    header rewritten "in place" would land after the rows.
    """
    try:
        fileno = out.fileno()
        if not stat.S_ISREG(os.fstat(fileno).st_mode) or not out.seekable():
            return False
        if _appending(fileno):
            return False
        return out.tell() == 0
    except (OSError, ValueError, AttributeError):
        return False


def _appending(fileno: int) -> bool:
    try:
        import fcntl
    except ImportError:  # no fcntl (Windows): append mode cannot be seen, so assume it
        return True
    return bool(fcntl.fcntl(fileno, fcntl.F_GETFL) & os.O_APPEND)


class NpyWriter:
    """Writes rows as one 2-D array; a vector read as one (1-D .npy, one score
    per line) as a 1-D array."""

    def __init__(self, out: BinaryIO, settings: Any, dtype: Any = np.float64):
        refuse_terminal(out)
        self.out = out
        self.single_vector = bool(getattr(settings, "single_vector", False))
        self.dtype = np.dtype(dtype).newbyteorder("<")
        self.rows_written = 0
        self.width: int | None = None
        self.in_place = _seekable_file(out)
        self.spool: BinaryIO | None = None
        self.start_at = 0
        self.header_length = 0
        self.done = False

    def start(self, classes: Sequence[str] | None, kept_names: Sequence[str] | None = None) -> None:
        if kept_names:
            raise UsageError("a .npy array holds numbers only; kept columns cannot go in it")
        self.width = len(classes) if classes else None

    def _shape(self, rows: int) -> tuple[int, ...]:
        width = self.width or 0
        if self.single_vector:
            return (rows * width,) if rows else (0,)
        return (rows, width)

    def _begin(self) -> None:
        if self.in_place:
            self.out.flush()
            self.start_at = self.out.tell()
            placeholder = npy_header(self._shape(_MOST_ROWS), self.dtype)
            self.header_length = len(placeholder)
            self.out.write(placeholder)
        else:
            self.spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed in finish

    def rows(
        self, values: FloatArray, scores: FloatArray, first_row: int, carried: Any = None
    ) -> None:
        if values.shape[0] == 0:
            if self.width is None and values.ndim == 2:
                self.width = values.shape[1]  # an array of no rows keeps its width
            return
        if self.width is None or self.rows_written == 0:
            self.width = values.shape[1]
        if self.rows_written == 0 and self.spool is None and not self.header_length:
            self._begin()
        data = np.ascontiguousarray(values, dtype=self.dtype)
        target = self.spool if self.spool is not None else self.out
        target.write(memoryview(data).cast("B"))
        self.rows_written += values.shape[0]

    def finish(self) -> None:
        if self.done:
            return
        self.done = True
        shape = self._shape(self.rows_written)
        dtype = self.dtype
        if self.header_length:
            self.out.flush()
            end = self.out.tell()
            self.out.seek(self.start_at)
            self.out.write(npy_header(shape, dtype, self.header_length))
            self.out.flush()
            self.out.seek(end)
            return
        self.out.write(npy_header(shape, dtype))
        if self.spool is not None:
            self.spool.seek(0)
            while chunk := self.spool.read(1 << 20):
                self.out.write(chunk)
            self.spool.close()

    def abort(self) -> None:
        """After a data error: the rows before it, as a whole array."""
        self.finish()
