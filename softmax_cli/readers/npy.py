""".npy arrays of scores: 1-D (one vector) or 2-D (rows), any float or integer dtype.

Nothing is parsed: rows are read a block at a time straight into a fresh
array (float64 in C order needs no other copy), so memory stays one block
however large the file.  Files are read, not memory-mapped: a file cut short
while it is read is an error at its first missing row, not a SIGBUS.  A pipe
that pauses hands on the whole rows it has given so far.  A file that ends
early gives its whole rows first, then an error at the first missing row;
bytes after the array are an error after its rows.  Fortran order is read
whole (no row is complete before the last column), then handed on in C-order
blocks, so its rows add up in the same order as the same array in C order.
"""

from __future__ import annotations

import ast
import os
import struct
from collections.abc import Iterator
from typing import BinaryIO

import numpy as np

from softmax_cli.errors import DataError
from softmax_cli.numerics import FloatArray

from .blocks import Block, Format, ScoreSource
from .decode import read_some
from .text import more_waiting

MAGIC = b"\x93NUMPY"
BLOCK_BYTES = 1 << 20  # float64 bytes per block: large enough that per-block costs vanish


def _exactly(stream: BinaryIO, size: int, joined: type = bytes) -> bytes:
    """``size`` bytes, fewer only at the end of the stream."""
    parts = []
    while size > 0:
        # At most a block per read: a header may claim far more bytes than the stream holds.
        data = read_some(stream, min(size, BLOCK_BYTES))
        if not data:
            break
        parts.append(data)
        size -= len(data)
    return joined().join(parts)


def _header(stream: BinaryIO) -> tuple[np.dtype, bool, tuple[int, ...], int]:
    """dtype, Fortran order, shape and the header's length in bytes."""
    prefix = _exactly(stream, 8)
    major = prefix[6] if len(prefix) == 8 else 0
    if major not in (1, 2, 3):
        raise DataError(".npy file: the header is damaged (unknown format version)")
    size_bytes = 2 if major == 1 else 4
    size_field = _exactly(stream, size_bytes)
    if len(size_field) < size_bytes:
        raise DataError(".npy file: the file ends inside its header")
    size = struct.unpack("<H" if major == 1 else "<I", size_field)[0]
    text = _exactly(stream, size)
    if len(text) < size:
        raise DataError(".npy file: the file ends inside its header")
    try:
        fields = ast.literal_eval(text.decode("utf-8" if major == 3 else "latin-1"))
        dtype = np.lib.format.descr_to_dtype(fields["descr"])
        fortran = bool(fields["fortran_order"])
        shape = tuple(int(n) for n in fields["shape"])
        if any(n < 0 for n in shape):
            raise ValueError(shape)
    except (ValueError, SyntaxError, KeyError, TypeError, MemoryError, RecursionError):
        raise DataError(".npy file: the header is damaged") from None
    return dtype, fortran, shape, 8 + size_bytes + size


def _check(dtype: np.dtype, shape: tuple[int, ...]) -> tuple[int, int]:
    """Rows and width of a readable array; DataError naming what is not readable."""
    if dtype.hasobject:
        raise DataError(".npy file: the array holds Python objects; only numbers are read")
    if dtype.kind not in "fiu" or dtype.fields is not None or dtype.subdtype is not None:
        raise DataError(f".npy file: dtype {dtype} is not a float or integer type")
    rows, width = (1, shape[0]) if len(shape) == 1 else shape if len(shape) == 2 else (0, 0)
    if len(shape) in (1, 2):
        if rows and not width:
            raise DataError("an empty array holds no scores", line=1, unit="row")
        return rows, width
    dims = "x".join(str(n) for n in shape) or "a scalar"
    raise DataError(
        f".npy file: the array is {len(shape)}-D ({dims}); expected 1-D (one vector) "
        "or 2-D (rows of scores)"
    )


def _file_size(stream: BinaryIO) -> int | None:
    """The size of a regular file, which never waits for a producer; None for a pipe."""
    import stat

    try:
        status = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return None
    return status.st_size if stat.S_ISREG(status.st_mode) else None


def _ends_early(done: int, rows: int) -> DataError:
    return DataError(
        f"the .npy data ends early: {done} of {rows} rows are complete",
        line=done + 1,
        unit="row",
    )


def _read_into(stream: BinaryIO, view: memoryview) -> int:
    """One read straight into ``view`` where the stream allows; bytes read, 0 at the end."""
    into = getattr(stream, "readinto1", None)  # not on a decompressed stream
    if into is not None:
        return into(view) or 0
    data = read_some(stream, len(view))
    view[: len(data)] = data
    return len(data)


def _as_scores(array: np.ndarray) -> FloatArray:
    """C-contiguous float64, as the row arithmetic expects: a copy only when needed."""
    if array.dtype == np.float64 and array.flags.c_contiguous:
        return array
    return np.ascontiguousarray(array, dtype=np.float64)


def _blocks(
    stream: BinaryIO,
    dtype: np.dtype,
    fortran: bool,
    shape: tuple[int, ...],
    file_size: int | None,
) -> Iterator[Block]:
    """Blocks of rows read into fresh arrays; ``file_size``: a regular file's size, else
    None: a pipe, whose producer may pause, so the whole rows read go on when it does."""
    waits = file_size is None
    rows, width = _check(dtype, shape)
    size = f"{width} values" if len(shape) == 1 else f"{rows} row{'s' * (rows != 1)}"
    if rows * width == 0:
        yield Block(values=np.empty((0, width)), first_line=1, unit="row")  # keeps the width
        _check_end(stream, size)
        return
    if fortran:
        # Column after column: no row is whole until the last column is read.
        array = _read_array(stream, (rows, width), dtype, "F", file_size)
        if array is None:
            raise _ends_early(0, rows)
        step = max(1, BLOCK_BYTES // (8 * width))
        for start in range(0, rows, step):
            values = _as_scores(array[start : start + step])
            yield Block(values=values, first_line=start + 1, unit="row")
        del array
        _check_end(stream, size)
        return
    step = max(1, BLOCK_BYTES // (8 * width))
    row_bytes = width * dtype.itemsize
    done = 0
    carried = b""  # part of a row, read before a pause
    while done < rows and row_bytes > BLOCK_BYTES:
        # One row longer than a block: memory for it only as fast as the input gives it.
        row = _read_array(stream, (1, width), dtype, "C", file_size)
        if row is None:
            raise _ends_early(done, rows)
        yield Block(values=_as_scores(row), first_line=done + 1, unit="row")
        done += 1
    while done < rows:
        count = min(step, rows - done)
        array = np.empty((count, width), dtype)
        view = memoryview(array).cast("B")
        view[: len(carried)] = carried
        filled, got = len(carried), 0
        while filled < len(view):
            got = _read_into(stream, view[filled:])
            if not got:
                break
            filled += got
            if waits and filled >= row_bytes and not more_waiting(stream):
                break  # the producer paused: the rows read so far go on now
        whole = filled // row_bytes
        carried = bytes(view[whole * row_bytes : filled])
        if whole:
            yield Block(values=_as_scores(array[:whole]), first_line=done + 1, unit="row")
            done += whole
        if filled < count * row_bytes and not got:
            raise _ends_early(done, rows)
    _check_end(stream, size)


def _read_array(
    stream: BinaryIO, shape: tuple[int, int], dtype: np.dtype, order: str, file_size: int | None
) -> np.ndarray | None:
    """The array read whole, or None when the input ends first.

    Its memory is taken at once only when the input can fill it (a block, or a
    file that large): a header may claim terabytes that are not there.
    """
    size = shape[0] * shape[1] * dtype.itemsize
    if size <= max(BLOCK_BYTES, file_size or 0):
        array = np.empty(shape, dtype, order=order)  # type: ignore[call-overload]
        view = memoryview(array.T if order == "F" else array).cast("B")
        return array if _fill(stream, view) == size else None
    data = _exactly(stream, size, bytearray)
    if len(data) < size:
        return None
    return np.frombuffer(data, dtype).reshape(shape, order=order)  # type: ignore[call-overload]


def _fill(stream: BinaryIO, view: memoryview) -> int:
    """Read until ``view`` is full or the stream ends; bytes read."""
    filled = 0
    while filled < len(view):
        got = _read_into(stream, view[filled:])
        if not got:
            break
        filled += got
    return filled


def _check_end(stream: BinaryIO, size: str) -> None:
    """Bytes after the array (a second array, say) are an error, not silently dropped."""
    more = 0
    while data := read_some(stream, BLOCK_BYTES):
        more += len(data)
    if more:
        raise DataError(
            f"the input goes on after the .npy array's {size} ({more} more bytes); "
            "give one array per input"
        )


def npy_source(stream: BinaryIO, original: BinaryIO | None) -> ScoreSource:
    """A .npy array as blocks of rows; ``original``: the undecompressed input, to tell a
    regular file (read ahead freely) from a pipe (whose pauses hand rows on)."""
    dtype, fortran, shape, _ = _header(stream)
    _check(dtype, shape)  # before any block is asked for
    file_size = _file_size(original) if original is not None else None
    return ScoreSource(
        blocks=_blocks(stream, dtype, fortran, shape, file_size),
        single_vector=len(shape) == 1,
        format=Format.NPY,
        never_waits=file_size is not None,
    )
