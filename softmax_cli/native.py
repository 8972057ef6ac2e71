"""The optional C++ kernel (``_native``): plain numeric blocks parsed and formatted in C++.

Its functions release the GIL, so threads can work on different blocks at
once.  Each answers None whenever a block needs a closer look, and the caller
then takes the Python path, so results and error messages are the same with
or without the kernel.  ``SOFTMAX_NO_NATIVE=1`` turns it off; so does a
missing compiler at install time.
"""

from __future__ import annotations

import functools
import os
from typing import Any

import numpy as np

from .numerics import FloatArray

# Values whose text shows every rule of orjson's float format: -0.0, fixed point
# from 1e-5 to below 1e16, exponents of both signs, the smallest subnormal.
_PROBES = [0.0, -0.0, 1.0, 0.1, 1e-5, 1e-6, 1.5e-7, 1e15, 1e16, 1.2345678901234567e17, 5e-324]


def _load() -> Any:
    if os.environ.get("SOFTMAX_NO_NATIVE", "") not in ("", "0"):
        return None
    try:
        from . import _native
    except ImportError:
        return None
    return _native


kernel = _load()


@functools.cache
def _formats_as_orjson() -> bool:
    """True when the kernel writes numbers exactly as the installed orjson does."""
    import orjson

    probes = np.array([_PROBES], dtype=np.float64)
    expected = orjson.dumps(probes[0], option=orjson.OPT_SERIALIZE_NUMPY)[1:-1] + b"\n"
    return kernel.format_table(probes, probes.shape[1], ",", b"", b"\n") == expected


def count_lines(raw: bytes) -> int:
    """The LF bytes of ``raw``: the reader numbers every chunk's lines by them."""
    return kernel.count_lines(raw) if kernel is not None else raw.count(b"\n")


def parse_table(raw: bytes, delimiter: str | None, width: int) -> FloatArray | None:
    """Rows of ``width`` plain decimal numbers as a table; None when anything else is there."""
    if kernel is None or (delimiter is not None and len(delimiter) != 1):
        return None
    flat = kernel.parse_table(raw, delimiter or "\0", width)
    if flat is None:
        return None
    return np.frombuffer(flat, dtype=np.float64).reshape(-1, width)


def parse_ndjson(raw: bytes, width: int | None) -> FloatArray | None:
    """NDJSON lines of ``[number, ...]``, ``width`` each (None: the first row's), as a table.

    None when any line is anything else, or any number could read otherwise
    than orjson reads it: the caller's Python path then reads the chunk.
    """
    if kernel is None:
        return None
    found = kernel.parse_ndjson(raw, width or 0)
    if found is None:
        return None
    flat, width = found
    return np.frombuffer(flat, dtype=np.float64).reshape(-1, width)


def format_rows(
    values: FloatArray, separator: str, opening: bytes = b"", closing: bytes = b"\n"
) -> bytes | None:
    """Finite rows as text, each number as orjson writes it; None for a non-finite value."""
    if kernel is None or not values.size or not _formats_as_orjson():
        return None
    values = np.ascontiguousarray(values, dtype=np.float64)
    return kernel.format_table(values, values.shape[1], separator, opening, closing)
