"""mpmath as the oracle: exact log-softmax, log-sum-exp and probabilities of float inputs.

Every input is taken as the exact binary value it holds (a float64, or a
float32/float16 value widened exactly), and every step is done at 60 digits,
so the reference owes nothing to the code under test.
"""

from __future__ import annotations

import mpmath
import numpy as np

DIGITS = 60
#: The spacing of float64 subnormals: no float64 result below 2.2e-308 can be closer.
SUBNORMAL_STEP = 2.0**-1074


def _shifted(row: np.ndarray, temperature: float) -> tuple[list, object]:
    """Exact ``(x - max)/T`` of the finite entries (None for ``-inf``) and ``max/T``."""
    values = [float(v) for v in row]
    top = max(values)
    t = mpmath.mpf(float(temperature))
    shifted = [None if v == -np.inf else (mpmath.mpf(v) - mpmath.mpf(top)) / t for v in values]
    return shifted, mpmath.mpf(top) / t


def _log_norm(shifted: list) -> object:
    """``log sum exp(z)`` as ``log1p`` of the terms after one ``z = 0`` (exact math, but 60
    digits of ``1 + e^-708`` would round the small part away)."""
    terms = [z for z in shifted if z is not None]
    terms.remove(0)
    return mpmath.log1p(mpmath.fsum(mpmath.exp(z) for z in terms))


def log_softmax(row: np.ndarray, temperature: float = 1.0) -> list:
    """Exact log-probabilities (mpf, or None for a masked entry) of one finite-max row."""
    with mpmath.workdps(DIGITS):
        shifted, _ = _shifted(row, temperature)
        norm = _log_norm(shifted)
        return [None if z is None else z - norm for z in shifted]


def softmax(row: np.ndarray, temperature: float = 1.0) -> list:
    """Exact probabilities (mpf) of one finite-max row."""
    with mpmath.workdps(DIGITS):
        shifted, _ = _shifted(row, temperature)
        exps = [mpmath.mpf(0) if z is None else mpmath.exp(z) for z in shifted]
        total = mpmath.fsum(exps)
        return [e / total for e in exps]


def top_complement(row: np.ndarray, temperature: float = 1.0) -> object:
    """Exact ``1 - max p``, as the sum of the other probabilities (no cancellation)."""
    with mpmath.workdps(DIGITS):
        probs = softmax(row, temperature)
        probs.remove(max(probs))
        return mpmath.fsum(probs)


def logsumexp(row: np.ndarray, temperature: float = 1.0) -> tuple[object, object]:
    """Exact ``log sum exp(x/T)`` of one finite-max row, and ``|max/T|`` (the cancelling term)."""
    with mpmath.workdps(DIGITS):
        shifted, scaled_max = _shifted(row, temperature)
        return scaled_max + _log_norm(shifted), abs(scaled_max)


def worst_relative_error(actual: np.ndarray, exact: list, floor: float = 0.0) -> float:
    """Largest ``|actual - exact| / |exact|`` over entries, where errors within ``floor``
    (absolute) count as 0: a result below the normal range can be no closer than its
    spacing.  A masked exact entry (None) must be ``-inf``; anything else is an error of inf."""
    worst = 0.0
    with mpmath.workdps(DIGITS):
        for got, want in zip(actual.tolist(), exact, strict=True):
            if want is None:
                if got != -np.inf:
                    return float("inf")
                continue
            if not np.isfinite(got):
                return float("inf")
            error = abs(mpmath.mpf(got) - want)
            if error <= floor:
                continue
            worst = max(worst, float(error / abs(want)) if want != 0 else float("inf"))
    return worst
