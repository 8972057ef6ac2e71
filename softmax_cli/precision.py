"""Results for float32 or float16 models: their scores, their precision, the best answer.

The scores are rounded to the precision first, as a model's logits are.  The
stable algorithm then runs in float64 on those values, and each result is
rounded once to the precision: the value nearest the exact answer that the
precision can hold, which no float32 or float16 kernel can beat (a kernel that
rounds ``x - max`` to float32 is already up to ``|x - max| * 2^-24`` off after
``exp``).  What differs from a model's own output is the model's rounding.

Results come back as float64 values that are the shortest decimals of the
narrow ones, so every writer prints ``0.33333334`` for a float32 third and
``0.3333`` for a float16 one: the digits that read back as the same value in
that precision, and no more.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import numpy as np
import orjson

from .numerics import FloatArray

DTYPES = ("float64", "float32", "float16")
DEFAULT = "float64"

RowFunction = Callable[[FloatArray, float], FloatArray]


def narrowed(scores: FloatArray, dtype: str) -> FloatArray:
    """``scores`` rounded to ``dtype`` (beyond its range a score becomes ``±inf``, as in a
    model), held as float64 for the computation."""
    if dtype == DEFAULT:
        return scores
    with np.errstate(over="ignore"):
        return scores.astype(dtype).astype(np.float64)


@cache
def _float16_decimals() -> FloatArray:
    """Every float16, by its bits, as the float64 of its shortest decimal (65,536 values)."""
    every = np.arange(1 << 16, dtype=np.uint16).view(np.float16)
    return np.array([float(str(value)) for value in every], dtype=np.float64)


def _float32_decimals(values: np.ndarray) -> FloatArray:
    """float32 values as the float64s of their shortest decimals (orjson writes those in C)."""
    finite = np.isfinite(values)
    safe = np.where(finite, values, np.float32(0.0))
    text = orjson.dumps(np.ascontiguousarray(safe).ravel(), option=orjson.OPT_SERIALIZE_NUMPY)
    decimals = np.array(orjson.loads(text), dtype=np.float64).reshape(values.shape)
    if not finite.all():
        decimals[~finite] = values[~finite]
    return decimals


def shortest(values: np.ndarray, dtype: str | None = None) -> FloatArray:
    """``values`` rounded to ``dtype`` (default: their own), as float64 values that print
    (shortest round-trip) as they print in that dtype."""
    if dtype is not None and values.dtype != dtype:
        with np.errstate(over="ignore"):
            values = values.astype(dtype)
    if values.dtype == np.float64:
        return values
    if values.dtype == np.float16:
        return _float16_decimals()[values.view(np.uint16)]
    return _float32_decimals(values.astype(np.float32, copy=False))


def in_dtype(function: RowFunction, dtype: str) -> RowFunction:
    """``function`` of the scores rounded to ``dtype``; its result rounded to ``dtype``."""
    if dtype == DEFAULT:
        return function

    def narrow(scores: FloatArray, temperature: float) -> FloatArray:
        return shortest(function(narrowed(scores, dtype), temperature), dtype)

    return narrow
