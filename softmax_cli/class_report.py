"""The confusion matrix and per-class precision, recall and F1, as scikit-learn reports them.

Pure NumPy, no I/O.  ``Confusion`` takes blocks of ``(labels, predictions,
weights)`` and keeps only running sums: a dense ``K x K`` matrix up to
``DENSE_LIMIT`` classes, beyond that only the cells that occur (for JSON, which
writes them sparsely).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .numerics import FloatArray, IntArray

#: Above this many classes a dense matrix (8 bytes x K^2) is not kept or drawn.
DENSE_LIMIT = 1000


def class_names(classes: Sequence[str] | None, count: int) -> list[str]:
    """The names of the classes: from the score source when it has them, else 0, 1, ..."""
    if classes is not None and len(classes) == count:
        return list(classes)
    return [str(index) for index in range(count)]


@dataclass(frozen=True)
class ClassScores:
    """Per-class precision, recall, F1 and support, and their macro and weighted averages.

    Undefined ratios (a class never predicted, or never true) are 0, as
    scikit-learn's ``zero_division=0``; every class counts in the macro mean.
    Support is the summed sample weight of the rows whose label is the class.
    """

    precision: FloatArray
    recall: FloatArray
    f1: FloatArray
    support: FloatArray
    predicted: FloatArray

    def macro(self) -> dict[str, float]:
        return {
            "precision": float(self.precision.mean()),
            "recall": float(self.recall.mean()),
            "f1": float(self.f1.mean()),
            "support": float(self.support.sum()),
        }

    def weighted(self) -> dict[str, float]:
        total = float(self.support.sum())

        def average(values: FloatArray) -> float:
            return float(values @ self.support / total) if total > 0 else 0.0

        return {
            "precision": average(self.precision),
            "recall": average(self.recall),
            "f1": average(self.f1),
            "support": total,
        }


def _ratio(top: FloatArray, bottom: FloatArray) -> FloatArray:
    out = np.zeros_like(top, dtype=np.float64)
    np.divide(top, bottom, out=out, where=bottom > 0)
    return out


def class_scores(diagonal: FloatArray, support: FloatArray, predicted: FloatArray) -> ClassScores:
    """Scores from the confusion matrix's diagonal, row sums (truth) and column sums."""
    precision = _ratio(diagonal, predicted)
    recall = _ratio(diagonal, support)
    f1 = _ratio(2.0 * precision * recall, precision + recall)
    return ClassScores(precision, recall, f1, support, predicted)


class Confusion:
    """Running confusion matrix: cell ``[true, predicted]`` sums the rows' weights."""

    def __init__(self, classes: int):
        self.classes = classes
        self.dense = classes <= DENSE_LIMIT
        self.cells = np.zeros(classes * classes) if self.dense else np.zeros(0)
        self.codes = np.zeros(0, dtype=np.int64)  # sparse: the cells that occur, sorted
        self.compacted = 0

    def add(self, labels: IntArray, predicted: IntArray, weights: FloatArray | None) -> None:
        codes = labels.astype(np.int64) * self.classes + predicted
        if self.dense:
            size = self.classes * self.classes
            self.cells += np.bincount(codes, weights=weights, minlength=size)
            return
        found, where = np.unique(codes, return_inverse=True)
        sums = np.bincount(where, weights=weights, minlength=found.shape[0])
        self.codes = np.concatenate([self.codes, found])
        self.cells = np.concatenate([self.cells, sums])
        if self.codes.shape[0] > 2 * max(self.compacted, 1 << 14):
            self._compact()

    def _compact(self) -> None:
        found, where = np.unique(self.codes, return_inverse=True)
        self.cells = np.bincount(where, weights=self.cells, minlength=found.shape[0])
        self.codes = found
        self.compacted = found.shape[0]

    def matrix(self) -> FloatArray:
        """The dense ``K x K`` matrix (rows: true class, columns: predicted)."""
        assert self.dense
        return self.cells.reshape(self.classes, self.classes)

    def sparse(self) -> tuple[IntArray, IntArray, FloatArray]:
        """``(true, predicted, weight)`` of every cell that holds a row, in row-major order."""
        if self.dense:
            codes = np.flatnonzero(self.cells)
            values = self.cells[codes]
        else:
            self._compact()
            keep = self.cells != 0
            codes, values = self.codes[keep], self.cells[keep]
        return codes // self.classes, codes % self.classes, values

    def scores(self) -> ClassScores:
        k = self.classes
        if self.dense:
            matrix = self.matrix()
            return class_scores(np.diag(matrix).copy(), matrix.sum(axis=1), matrix.sum(axis=0))
        true, predicted, values = self.sparse()
        diagonal = np.bincount(true[true == predicted], values[true == predicted], minlength=k)
        support = np.bincount(true, values, minlength=k)
        return class_scores(diagonal, support, np.bincount(predicted, values, minlength=k))
