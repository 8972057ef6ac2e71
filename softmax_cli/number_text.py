"""How numbers become text, for every writer, report and explain: one policy.

- csv, tsv: the shortest decimal form that reads back as the same float64 (as
  Python's ``repr`` and orjson write it); with ``--precision N``, N significant
  digits (``%g``, so 0 counts as 1: no number is written without a digit).
  Integers (counts) are written as integers.
- json, ndjson: the same digits, as JSON numbers; JSON has no infinities or
  NaN, so a non-finite number is written as ``null``.
- tables and explain: ``--precision`` decimals (default 4) in fixed point,
  scientific where fixed point would hide the value; titles use ``%g``.

Whole blocks of rows are formatted by orjson in C; the functions for single
numbers give the same text one value at a time.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import orjson

from . import native
from .numerics import FloatArray

TABLE_PRECISION = 4  # decimals in tables and explain when --precision is not given

_NUMPY = orjson.OPT_SERIALIZE_NUMPY


# --- single numbers -------------------------------------------------------------


def float_text(value: float, precision: int | None) -> str:
    """A csv/tsv cell: an int as is, a float shortest round-trip or ``precision`` digits."""
    if isinstance(value, int):
        return str(value)
    if precision is not None:
        return f"{value:.{precision}g}"
    return repr(float(value))


def json_number(value: float, precision: int | None = None) -> float | None:
    """A float for JSON: rounded to ``precision`` significant digits, ``None`` when not finite."""
    if not math.isfinite(value):
        return None
    if precision is not None:
        return float(f"{value:.{precision}g}")
    return value


def json_ready(value: Any) -> Any:
    """``value`` with every non-finite float, however deeply nested, replaced by ``None``."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, list):
        return [json_ready(v) for v in value]
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    return value


def table_precision(precision: int | None) -> int:
    """The decimals a table shows: ``--precision``, or the default."""
    return TABLE_PRECISION if precision is None else precision


def table_number(value: float, precision: int) -> str:
    """Fixed-point with ``precision`` decimals; scientific where that would hide the value."""
    value += 0.0  # -0.0 reads as 0
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "-inf" if value < 0 else "inf"
    if value != 0 and abs(value) < 0.5 * 10.0 ** (-precision):
        return f"{value:.{max(precision - 1, 0)}e}"
    if abs(value) >= 1e15:
        return f"{value:.{max(precision - 1, 0)}e}"
    return f"{value:.{precision}f}"


def fixed_number(value: float, precision: int) -> str:
    """Fixed decimals even for tiny values, so a matrix stays narrow and aligned."""
    if not math.isfinite(value):
        return table_number(value, precision)
    return f"{value + 0.0:.{precision}f}"


def title_number(value: float) -> str:
    """A parameter such as the temperature in a title: ``%g``, six significant digits."""
    return f"{value:g}"


# --- blocks of rows -------------------------------------------------------------


def rounded(values: FloatArray, precision: int | None) -> FloatArray:
    """Values rounded to ``precision`` significant digits (for JSON output)."""
    if precision is None:
        return values
    flat = [float(f"{value:.{precision}g}") for value in values.ravel().tolist()]
    return np.array(flat, dtype=np.float64).reshape(values.shape)


def _shortest_lines(values: FloatArray, separator: str) -> bytes:
    """Finite rows as text lines: one orjson array of every value, its commas rewritten in place.

    The flat array ``[a,b,c,d]`` has one comma between neighbours; every
    ``width``-th one ends a row.  Rewriting bytes in place keeps the length, so
    no pass over the text has to copy it (``bytes.replace`` of ``],[`` would).
    """
    width = values.shape[1]
    text = bytearray(
        orjson.dumps(np.ascontiguousarray(values, dtype=np.float64).ravel(), option=_NUMPY)
    )
    view = np.frombuffer(text, dtype=np.uint8)
    commas = np.flatnonzero(view == ord(","))
    if separator != ",":
        view[commas] = ord(separator)
    view[commas[width - 1 :: width]] = ord("\n")
    text[-1] = ord("\n")
    return memoryview(text)[1:].tobytes()


def delimited_lines(values: FloatArray, separator: str, precision: int | None) -> bytes:
    """Rows of a 2-D array as text lines, each value shortest round-trip.

    The kernel formats a whole block (about 1.5x orjson's speed, which needs the
    newlines placed afterwards); without it, orjson.  Blocks holding a
    non-finite value (which JSON would turn into ``null``) fall back to
    Python's ``repr``.
    """
    if values.shape[0] == 0:
        return b""
    if precision is None and values.size:
        text = native.format_rows(values, separator)
        if text is not None:
            return text
    if precision is None and values.size and np.isfinite(values).all():
        return _shortest_lines(values, separator)
    return "".join(
        separator.join(float_text(value, precision) for value in row) + "\n"
        for row in values.tolist()
    ).encode()


def json_rows(values: FloatArray, precision: int | None) -> bytes:
    """Rows as comma-joined JSON arrays (no outer brackets); non-finite as ``null``."""
    if values.shape[0] == 0:
        return b""
    values = rounded(np.ascontiguousarray(values, dtype=np.float64), precision)
    return orjson.dumps(values, option=_NUMPY)[1:-1]


def ndjson_lines(values: FloatArray, precision: int | None) -> bytes:
    """One JSON array per row, each on its own line (non-finite as ``null``).

    orjson writes ``[[a,b],[c,d]]``; the comma after each row's ``]`` becomes a
    newline in place, which keeps the length, so the text is not copied again.
    """
    if values.shape[0] == 0:
        return b""
    if precision is None and values.size:
        kernel_text = native.format_rows(values, ",", b"[", b"]\n")
        if kernel_text is not None:
            return kernel_text
    values = rounded(np.ascontiguousarray(values, dtype=np.float64), precision)
    text = bytearray(orjson.dumps(values, option=_NUMPY))
    view = np.frombuffer(text, dtype=np.uint8)
    ends = np.flatnonzero(view == ord("]"))
    view[ends[:-2] + 1] = ord("\n")  # the last two close the last row and the whole
    text[-1] = ord("\n")
    return memoryview(text)[1:].tobytes()
