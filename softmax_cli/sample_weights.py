"""Per-row sample weights: from a column of the scores, or from a file of one weight a line.

A weight must be a finite number >= 0; a NaN, infinite or negative weight is
a data error placed at its line, as a bad score is.  A weight of 0 is allowed
(the row counts for nothing, as in scikit-learn); when every row has weight 0
the means are undefined (NaN) and a warning says so.

A weight that is not 0 must lie between ``WEIGHT_MIN`` and ``WEIGHT_MAX``:
weighted sums are kept in float64, where a weight of 1e308 overflows the
total and a weight of 5e-324 underflows every product with it, so both would
give wrong means.  Since only the ratios of the weights matter, such weights
are refused at their line rather than rescaled.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import BinaryIO

import numpy as np

from .errors import DataError
from .numerics import FloatArray
from .readers import Block

ZERO_WEIGHT_WARNING = "every row has zero weight"

#: Bounds of a non-zero weight, wide enough for any real weighting yet far
#: enough from float64's limits that sums over 10**15 rows of weight times a
#: loss of up to 10**150 neither overflow nor lose precision to underflow.
WEIGHT_MIN = 1e-150
WEIGHT_MAX = 1e150


Problem = tuple[int | None, DataError | None]


class WeightSource:
    """Gives the sample weights of a block of rows, and the first row without one."""

    def weights_for(self, block: Block) -> tuple[FloatArray, Problem]:
        """Weights (NaN where a row has none) and the first such row with its error."""
        raise NotImplementedError

    def finish(self, rows: int) -> None:
        """Raise if weights were left over once the scores ran out."""


class ColumnWeights(WeightSource):
    """``--sample-weight-column``: the reader already took the column out of the scores."""

    def weights_for(self, block: Block) -> tuple[FloatArray, Problem]:
        assert block.weights is not None
        return block.weights, (None, None)


class FileWeights(WeightSource):
    """``--sample-weights FILE``: one number a line, blank lines skipped, an optional header."""

    def __init__(self, stream: BinaryIO, name: str):
        self.name = name
        self.lines = self._numbered(stream)
        self.taken = 0

    def _numbered(self, stream: BinaryIO) -> Iterator[tuple[int, str]]:
        for number, raw in enumerate(stream, start=1):
            text = raw.decode("utf-8", errors="replace").strip().lstrip("\ufeff").strip('"')
            if text:
                if number == 1 and not _is_number(text):
                    continue  # a header such as "weight"
                yield number, text

    def weights_for(self, block: Block) -> tuple[FloatArray, Problem]:
        count = block.values.shape[0]
        items = list(itertools.islice(self.lines, count))
        self.taken += len(items)
        values = np.full(count, np.nan)
        try:
            values[: len(items)] = np.array([text for _, text in items]).astype(np.float64)
        except ValueError:
            for row, (number, text) in enumerate(items):
                if not _is_number(text):
                    shown = text if len(text) <= 40 else text[:37] + "..."
                    message = f"{self.name} line {number}: {shown!r} is not a number"
                    return values, (row, DataError(message, line=number, placed=True))
                values[row] = float(text)
        if len(items) < count:
            row = len(items)
            line = block.line_of(row)
            message = (
                f"{block.unit} {line}: no sample weight for this row ({self.name} has {self.taken})"
            )
            return values, (row, DataError(message, line=line, placed=True))
        return values, (None, None)

    def finish(self, rows: int) -> None:
        if next(self.lines, None) is not None:
            raise DataError(f"{self.name} has more weights than the {rows} score rows")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def bad_weight(weights: FloatArray, block: Block) -> Problem:
    """The first row whose weight is NaN, infinite, negative or too extreme, and its error."""
    with np.errstate(invalid="ignore"):
        bad = ~(np.isfinite(weights) & (weights >= 0))
        bad |= (weights != 0) & ((weights < WEIGHT_MIN) | (weights > WEIGHT_MAX))
    if not bad.any():
        return None, None
    row = int(np.argmax(bad))
    line = block.line_of(row)
    value = float(weights[row])
    if value < 0:
        what = "is negative (weights must be finite and >= 0)"
    elif not np.isfinite(value):
        what = "is not finite (weights must be finite and >= 0)"
    else:
        what = (
            f"is too {'large' if value > WEIGHT_MAX else 'small'} to weigh accurately "
            f"(a weight that is not 0 must be between {WEIGHT_MIN:g} and {WEIGHT_MAX:g}; "
            "only the ratios of the weights matter, so rescale them)"
        )
    return row, DataError(
        f"{block.unit} {line}: sample weight {value!r} {what}",
        line=line,
        placed=True,
    )
