"""Write the README's two tables of numbers at the edges from computation, not by hand.

- ``edges``: confident rows where rounding to 0 is the usual answer, computed by
  mpmath (60 digits), by softmax as it runs, by SciPy and by PyTorch (float64).
- ``dtypes``: where float64, float32 and float16 overflow and underflow, from
  ``np.finfo``.

Each table sits in README.md between ``<!-- NAME table -->`` and
``<!-- end NAME table -->``; ``tests/test_numbers_tables.py`` fails while they
are stale.

    python scripts/make_numbers_tables.py           # rewrite them in README.md
    python scripts/make_numbers_tables.py --check   # exit 1 if one is stale
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

#: (what the user types, the scores, the label or None, which value to show)
EDGE_CASES = [
    ("logprobs 0 -40", [[0.0, -40.0]], None, "logprob"),
    ("xent 0 -40 --labels 0", [[0.0, -40.0]], [0], "loss"),
    ("logprobs 0 -30", [[0.0, -30.0]], None, "logprob"),
    ("logprobs 3 -32 -47", [[3.0, -32.0, -47.0]], None, "logprob"),
    ("logprobs 50 0 0 … (1000 classes)", [[50.0] + [0.0] * 999], None, "logprob"),
    ('evaluate "0,-30;0,-31" -l 0,0: NLL', [[0.0, -30.0], [0.0, -31.0]], [0, 0], "loss"),
    ("logsumexp 0 -40", [[0.0, -40.0]], None, "logsumexp"),
]


def _exact(scores: list[list[float]], labels: list[int] | None, what: str) -> float:
    import mpmath

    with mpmath.workdps(60):
        values = []
        for index, row in enumerate(scores):
            top = max(row)
            rest = mpmath.fsum(mpmath.exp(mpmath.mpf(x) - top) for x in row[row.index(top) + 1 :])
            rest += mpmath.fsum(mpmath.exp(mpmath.mpf(x) - top) for x in row[: row.index(top)])
            norm = mpmath.log1p(rest)  # log sum exp(x - max): 1 + rest at 60 digits would round
            if what == "logsumexp":
                values.append(top + norm)
            else:
                label = 0 if labels is None else labels[index]
                values.append(mpmath.mpf(row[label]) - top - norm)
        if what == "loss":
            return float(-mpmath.fsum(values) / len(values))
        return float(values[0])


def _ours(scores: np.ndarray, labels: list[int] | None, what: str) -> float:
    from softmax_cli import numerics

    if what == "logsumexp":
        return float(numerics.logsumexp(scores)[0])
    log_probs = numerics.log_softmax(scores)
    if what == "loss":
        terms = numerics.cross_entropy_labels(log_probs, np.array(labels))
        return numerics.RunningSum().add(terms.losses) / len(labels)
    return float(log_probs[0, 0])


def _scipy(scores: np.ndarray, labels: list[int] | None, what: str) -> float:
    from scipy import special

    if what == "logsumexp":
        return float(special.logsumexp(scores[0]))
    log_probs = special.log_softmax(scores, axis=1)
    if what == "loss":
        return float(-log_probs[np.arange(len(labels)), labels].mean())
    return float(log_probs[0, 0])


def _torch(scores: np.ndarray, labels: list[int] | None, what: str) -> float | None:
    try:
        import torch
    except ImportError:
        return None
    x = torch.from_numpy(scores)
    if what == "logsumexp":
        return float(torch.logsumexp(x[0], 0))
    if what == "loss":
        return float(torch.nn.functional.cross_entropy(x, torch.tensor(labels)))
    return float(torch.log_softmax(x, 1)[0, 0])


def _cell(value: float | None, exact: float) -> str:
    if value is None:
        return "(not installed)"
    text = f"{value + 0.0:.5g}"  # -0.0 reads as 0
    if value == exact or exact == 0:
        return text
    error = abs(value - exact) / abs(exact)
    return text if error < 1e-12 else f"{text} (rel. error {error:.1g})"


def edges_table() -> str:
    """The confident-row table: exact, softmax, SciPy, PyTorch."""
    lines = [
        "| input | exact (mpmath) | softmax | SciPy | PyTorch |",
        "|---|---|---|---|---|",
    ]
    for shown, scores, labels, what in EDGE_CASES:
        array = np.array(scores)
        exact = _exact(scores, labels, what)
        cells = [_cell(f(array, labels, what), exact) for f in (_ours, _scipy, _torch)]
        lines.append(f"| `{shown}` | {exact:.5g} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def dtypes_table() -> str:
    """Overflow and underflow thresholds of each precision, from ``np.finfo``."""
    lines = [
        "| dtype | largest value | naive `exp(x)` overflows for x > | smallest normal "
        "| smallest subnormal | `exp(x)` is 0 for x < | digits |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in ("float64", "float32", "float16"):
        info = np.finfo(name)
        largest, tiny, smallest = float(info.max), float(info.tiny), float(info.smallest_subnormal)
        # exp(x) rounds to 0 below half the smallest subnormal (ties go to the even 0).
        lines.append(
            f"| {name} | {largest:.5g} | {math.log(largest):.4g} | {tiny:.4g} "
            f"| {smallest:.4g} | {math.log(smallest) - math.log(2.0):.4g} | {info.precision} |"
        )
    return "\n".join(lines) + "\n"


TABLES = {"edges": edges_table, "dtypes": dtypes_table}


def _pattern(name: str) -> re.Pattern[str]:
    return re.compile(
        rf"(<!-- {name} table -->\n)(.*?)(<!-- end {name} table -->)", flags=re.DOTALL
    )


def in_readme(name: str, text: str | None = None) -> str:
    """The table called ``name`` as the README holds it."""
    text = README.read_text(encoding="utf-8") if text is None else text
    found = _pattern(name).search(text)
    if found is None:
        raise SystemExit(f"make_numbers_tables: README.md has no {name} table markers")
    return found.group(2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the README's tables of numbers.")
    parser.add_argument("--check", action="store_true", help="exit 1 if a table is stale")
    args = parser.parse_args(argv)
    text = README.read_text(encoding="utf-8")
    stale = []
    for name, make in TABLES.items():
        table = make()
        if in_readme(name, text) != table:
            stale.append(name)
            text = _pattern(name).sub(lambda m, t=table: m.group(1) + t + m.group(3), text)
    if stale and not args.check:
        README.write_text(text, encoding="utf-8")
    for name in stale:
        print(f"{'stale' if args.check else 'wrote'}: the {name} table", file=sys.stderr)
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
