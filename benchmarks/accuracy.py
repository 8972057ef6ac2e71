"""Worst relative error of log-softmax, log-sum-exp and 1 - max p against mpmath.

A long property run, too slow for the test suite (``tests/test_exactness.py``
runs the same checks on fewer cases):

    python benchmarks/accuracy.py --cases 100000

Cases: 2 to 64 classes (nine in ten) or 64 to 5,000 (log-uniform); ``T`` from
1e-3 to 1e3 (log-uniform); scaled gaps below the maximum that are ties (0),
masks (``-inf``), uniform on 0 to 745 or log-uniform on 1e-14 to 745.  A value
below float64's normal range is compared on the subnormal grid (an error within
``classes * 2^-1074`` counts as 0), since no float64 can be closer.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import exact  # noqa: E402
import mpmath  # noqa: E402

from softmax_cli import numerics  # noqa: E402


def case(rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """One row and its temperature."""
    if rng.random() < 0.9:
        classes = int(rng.integers(2, 65))
    else:
        classes = int(round(math.exp(rng.uniform(math.log(64), math.log(5000)))))
    temperature = 10.0 ** rng.uniform(-3, 3)
    top = float(rng.normal(0, 100))
    kind = rng.random(classes - 1)
    gaps = np.where(
        kind < 0.10,
        0.0,
        np.where(
            kind < 0.15,
            np.inf,
            np.where(
                kind < 0.55,
                rng.uniform(0, 745, classes - 1),
                10.0 ** rng.uniform(-14, math.log10(745), classes - 1),
            ),
        ),
    )
    row = np.append(top - gaps * temperature, top)
    return rng.permutation(row), temperature


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    worst = {"log-softmax": (0.0, None), "logsumexp": (0.0, None), "1 - max p": (0.0, None)}
    over = dict.fromkeys(worst, 0)
    entries = 0
    started = time.time()
    for number in range(args.cases):
        row, temperature = case(rng)
        scores = row[np.newaxis, :]
        floor = row.size * exact.SUBNORMAL_STEP
        errors = {}
        errors["log-softmax"] = exact.worst_relative_error(
            numerics.log_softmax(scores, temperature)[0], exact.log_softmax(row, temperature), floor
        )
        entries += int(np.isfinite(row).sum())
        with mpmath.workdps(exact.DIGITS):
            got = numerics.logsumexp(scores, temperature)[0]
            want, scale = exact.logsumexp(row, temperature)
            error = abs(mpmath.mpf(got) - want)
            errors["logsumexp"] = 0.0 if error <= floor else float(error / max(abs(want), scale))
            got = numerics.top_complement(scores, temperature)[0]
            want = exact.top_complement(row, temperature)
            error = abs(mpmath.mpf(got) - want)
            errors["1 - max p"] = 0.0 if error <= floor else float(error / abs(want))
        for name, error in errors.items():
            if error > 1e-12:
                over[name] += 1
            if error > worst[name][0]:
                worst[name] = (error, (row.size, temperature, number))
        if (number + 1) % 10_000 == 0:
            print(f"{number + 1} cases, {time.time() - started:.0f} s", file=sys.stderr)
    print(f"{args.cases:,} cases (seed {args.seed}), {entries:,} finite log-probabilities")
    for name, (error, where) in worst.items():
        shown = "" if where is None else f" (classes {where[0]}, T {where[1]:.3g}, case {where[2]})"
        print(f"{name}: worst relative error {error:.3g}{shown}; cases over 1e-12: {over[name]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
