"""Feeds blocks of scores and their labels to the metrics, keeping every error placed.

The checks are the ones ``cross-entropy`` makes (NaN rows, all ``-inf`` rows,
labels out of range or not whole), reported for the first bad line.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from . import metrics
from .errors import DataError
from .numerics import FloatArray, IntArray
from .pipeline import LabelSource, checked_labels
from .readers import Block, ScoreSource


def labelled_blocks(
    source: ScoreSource, labels: LabelSource
) -> Iterator[tuple[FloatArray, IntArray]]:
    """Yield ``(scores, integer labels)`` per block, checked; raise at the first bad line."""
    rows = 0
    for block in source.blocks:
        scores = block.values
        label_ints, _, _, error = checked_labels(block, source.classes, labels)
        if error is not None:
            raise error
        rows += scores.shape[0]
        yield scores, label_ints
    labels.finish(rows)


def run_evaluate(
    source: ScoreSource,
    labels: LabelSource,
    *,
    bins: int = metrics.DEFAULT_BINS,
    top_k: Sequence[int] = (1,),
    temperature: float = 1.0,
) -> metrics.Report:
    """Every metric in one streaming pass over the blocks."""
    accumulator = metrics.Accumulator(bins=bins, top_k=top_k, temperature=temperature)
    for scores, label_ints in labelled_blocks(source, labels):
        accumulator.add(scores, label_ints)
    if accumulator.rows == 0:
        raise DataError("no rows to evaluate")
    return accumulator.report()


@dataclass(frozen=True)
class Calibration:
    """A fitted temperature and the metrics before (``T = 1``) and after it."""

    fit: metrics.TemperatureFit
    before: metrics.Report
    after: metrics.Report


def collect(source: ScoreSource, labels: LabelSource) -> tuple[FloatArray, IntArray]:
    """Every checked row in memory: float64 scores (8 bytes x rows x classes) and labels."""
    score_parts: list[FloatArray] = []
    label_parts: list[IntArray] = []
    for scores, label_ints in labelled_blocks(source, labels):
        score_parts.append(scores)
        label_parts.append(label_ints)
    if not score_parts:
        raise DataError("no rows to calibrate")
    return np.concatenate(score_parts), np.concatenate(label_parts)


def in_slices(rows: FloatArray, source: ScoreSource) -> ScoreSource:
    """Rows held in memory, handed on a slice at a time as a reader would hand blocks."""
    step = metrics.FIT_CHUNK_ROWS
    blocks = (
        Block(values=rows[start : start + step], first_line=start + 1)
        for start in range(0, rows.shape[0], step)
    )
    return ScoreSource(blocks=blocks, classes=source.classes, single_vector=source.single_vector)


def run_calibrate(
    scores: FloatArray, labels: IntArray, *, bins: int = metrics.DEFAULT_BINS
) -> Calibration:
    """Fit the temperature and measure the scores before and after it."""
    try:
        fit = metrics.fit_temperature(scores, labels)
    except metrics.FitError as error:
        raise DataError(f"cannot fit a temperature: {error}") from None
    before = _report(scores, labels, bins, 1.0)
    after = _report(scores, labels, bins, fit.temperature)
    return Calibration(fit=fit, before=before, after=after)


def _report(scores: FloatArray, labels: IntArray, bins: int, temperature: float) -> metrics.Report:
    """Metrics of in-memory rows, a slice at a time so temporaries stay small."""
    accumulator = metrics.Accumulator(bins=bins, temperature=temperature)
    step = metrics.FIT_CHUNK_ROWS
    for start in range(0, scores.shape[0], step):
        accumulator.add(scores[start : start + step], labels[start : start + step])
    return accumulator.report()
