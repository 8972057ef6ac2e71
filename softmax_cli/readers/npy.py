""".npy arrays of scores: 1-D (one vector) or 2-D (rows), any float or integer dtype.

Nothing is parsed: a regular file is memory-mapped and read a block of rows
at a time (the pages of a finished block are handed back, so memory stays
one block however large the file); a pipe is read a block at a time.  A
file that ends early gives its whole rows first, then an error at the first
missing row.
"""

from __future__ import annotations

import ast
import mmap
import os
import struct
from collections.abc import Iterator
from typing import BinaryIO

import numpy as np

from softmax_cli.errors import DataError

from .blocks import Block, Format, ScoreSource
from .decode import read_some

MAGIC = b"\x93NUMPY"
BLOCK_BYTES = 1 << 20  # float64 bytes per block: large enough that per-block costs vanish


def _exactly(stream: BinaryIO, size: int) -> bytes:
    """``size`` bytes, fewer only at the end of the stream."""
    parts = []
    while size > 0:
        # At most a block per read: a header may claim far more bytes than the stream holds.
        data = read_some(stream, min(size, BLOCK_BYTES))
        if not data:
            break
        parts.append(data)
        size -= len(data)
    return b"".join(parts)


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


def _regular_file(stream: BinaryIO) -> int | None:
    """The descriptor of a regular file to map, or None (a pipe, a decompressed stream)."""
    import stat

    try:
        fileno = stream.fileno()
        regular = stat.S_ISREG(os.fstat(fileno).st_mode)
    except (OSError, ValueError, AttributeError):
        return None
    return fileno if regular else None


def _ends_early(done: int, rows: int) -> DataError:
    return DataError(
        f"the .npy data ends early: {done} of {rows} rows are complete",
        line=done + 1,
        unit="row",
    )


def _mapped_blocks(
    fileno: int, dtype: np.dtype, fortran: bool, rows: int, width: int, offset: int
) -> Iterator[Block]:
    size = os.fstat(fileno).st_size
    available = max(0, size - offset) // dtype.itemsize
    if rows * width == 0:
        yield Block(values=np.empty((0, width)), first_line=1, unit="row")  # keeps the width
        return
    with mmap.mmap(fileno, 0, access=mmap.ACCESS_READ) as mapped:
        if fortran:
            if available < rows * width:
                raise _ends_early(0, rows)
            array = np.ndarray((rows, width), dtype, buffer=mapped, offset=offset, order="F")
            done = rows
        else:
            done = min(rows, available // width)
            array = np.ndarray((done, width), dtype, buffer=mapped, offset=offset)
        step = max(1, BLOCK_BYTES // (8 * width))
        released = 0
        for start in range(0, done, step):
            stop = min(done, start + step)
            yield Block(
                values=array[start:stop].astype(np.float64), first_line=start + 1, unit="row"
            )
            if not fortran:
                # Hand the pages read back, so the file is never resident all at once.
                end = (offset + stop * width * dtype.itemsize) // mmap.PAGESIZE * mmap.PAGESIZE
                if end > released:
                    mapped.madvise(mmap.MADV_DONTNEED, released, end - released)
                    released = end
        del array
    if done < rows:
        raise _ends_early(done, rows)


def _streamed_blocks(
    stream: BinaryIO, dtype: np.dtype, fortran: bool, rows: int, width: int
) -> Iterator[Block]:
    if rows * width == 0:
        yield Block(values=np.empty((0, width)), first_line=1, unit="row")  # keeps the width
        return
    if fortran:
        data = _exactly(stream, rows * width * dtype.itemsize)
        if len(data) < rows * width * dtype.itemsize:
            raise _ends_early(0, rows)
        array = np.ndarray((rows, width), dtype, buffer=data, order="F")
        yield Block(values=np.ascontiguousarray(array, dtype=np.float64), first_line=1, unit="row")
        return
    step = max(1, BLOCK_BYTES // (8 * width))
    row_bytes = width * dtype.itemsize
    done = 0
    while done < rows:
        count = min(step, rows - done)
        data = _exactly(stream, count * row_bytes)
        whole = len(data) // row_bytes
        if whole:
            values = np.frombuffer(data, dtype, count=whole * width).reshape(whole, width)
            yield Block(values=values.astype(np.float64), first_line=done + 1, unit="row")
            done += whole
        if whole < count:
            raise _ends_early(done, rows)


def npy_source(stream: BinaryIO, original: BinaryIO | None) -> ScoreSource:
    """A .npy array as blocks of rows; ``original``: the undecompressed file, to map."""
    dtype, fortran, shape, offset = _header(stream)
    rows, width = _check(dtype, shape)
    fileno = _regular_file(original) if original is not None else None
    if fileno is not None:
        blocks = _mapped_blocks(fileno, dtype, fortran, rows, width, offset)
    else:
        blocks = _streamed_blocks(stream, dtype, fortran, rows, width)
    return ScoreSource(
        blocks=blocks,
        single_vector=len(shape) == 1,
        format=Format.NPY,
        never_waits=fileno is not None,
    )
