"""Feeds blocks of scores and their labels to the metrics, keeping every error placed.

The checks are the ones ``cross-entropy`` makes (NaN rows, all ``-inf`` rows,
labels out of range or not whole, sample weights that are missing, NaN,
infinite or negative), reported for the first bad line.  Rows with the
``--ignore-label`` label are left out of every metric.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np

from . import metrics
from .class_report import DENSE_LIMIT
from .errors import DataError, UsageError
from .numerics import FloatArray, IntArray
from .pipeline import LabelSource, _earliest, _ignored_value, checked_labels
from .readers import Block, ScoreSource
from .sample_weights import ZERO_WEIGHT_WARNING, WeightSource, bad_weight

Labelled = tuple[FloatArray, IntArray, "FloatArray | None"]


@dataclass(frozen=True)
class Settings:
    """How calibration error is measured and what else the report holds."""

    bins: int = metrics.DEFAULT_BINS
    norm: str = "l1"
    binning: str = "width"
    classwise: bool = False
    confusion: bool = False
    #: Over ``class_report.DENSE_LIMIT`` classes the confusion matrix is only kept sparsely,
    #: for JSON; otherwise such a report is refused.
    sparse_ok: bool = False

    def accumulator(self, top_k: Sequence[int] = (1,), temperature: float = 1.0):
        return metrics.Accumulator(
            bins=self.bins,
            top_k=top_k,
            temperature=temperature,
            norm=self.norm,
            binning=self.binning,
            classwise=self.classwise,
            confusion=self.confusion,
        )


class Counter:
    """Rows left out by ``--ignore-label``."""

    ignored = 0


def labelled_blocks(
    source: ScoreSource,
    labels: LabelSource,
    *,
    ignore_label: str | None = None,
    weights: WeightSource | None = None,
    counter: Counter | None = None,
) -> Iterator[Labelled]:
    """Yield ``(scores, integer labels, sample weights or None)`` per block, checked, without
    the rows whose label is ``ignore_label``; raise at the first bad line."""
    ignore = _ignored_value(ignore_label, source.classes)
    rows = 0
    for block in source.blocks:
        scores = block.values
        label_ints, ignored, stop, error = checked_labels(block, source.classes, labels, ignore)
        row_weights = None
        if weights is not None:
            row_weights, missing = weights.weights_for(block)
            stop, error = _earliest((stop, error), missing, bad_weight(row_weights, block))
        if error is not None:
            raise error
        rows += scores.shape[0]
        if ignored.any():
            keep = ~ignored
            if counter is not None:
                counter.ignored += int(ignored.sum())
            scores, label_ints = scores[keep], label_ints[keep]
            row_weights = None if row_weights is None else row_weights[keep]
        yield scores, label_ints, row_weights
    labels.finish(rows)
    if weights is not None:
        weights.finish(rows)


def _no_rows(counter: Counter, what: str) -> DataError:
    if counter.ignored:
        return DataError(f"no rows to {what}: every row has the ignored label")
    return DataError(f"no rows to {what}")


def _check_classes(classes: int, settings: Settings) -> None:
    if settings.confusion and classes > DENSE_LIMIT and not settings.sparse_ok:
        raise UsageError(
            f"a confusion matrix of {classes:,} classes is too large to show "
            f"(at most {DENSE_LIMIT:,}); -o json writes it sparsely",
            option="--report",
        )


def run_evaluate(
    source: ScoreSource,
    labels: LabelSource,
    *,
    bins: int = metrics.DEFAULT_BINS,
    top_k: Sequence[int] = (1,),
    temperature: float = 1.0,
    settings: Settings | None = None,
    ignore_label: str | None = None,
    weights: WeightSource | None = None,
) -> metrics.Report:
    """Every metric in one streaming pass over the blocks."""
    settings = settings or Settings(bins=bins)
    accumulator, ignored = accumulate(
        source,
        labels,
        settings.accumulator(top_k, temperature),
        settings,
        ignore_label=ignore_label,
        weights=weights,
    )
    return finished(accumulator, ignored)


def accumulate(
    source: ScoreSource,
    labels: LabelSource,
    accumulator: metrics.Accumulator,
    settings: Settings,
    *,
    ignore_label: str | None = None,
    weights: WeightSource | None = None,
) -> tuple[metrics.Accumulator, int]:
    """The running sums of every checked row, and how many rows ``--ignore-label`` left out."""
    counter = Counter()
    for scores, label_ints, row_weights in labelled_blocks(
        source, labels, ignore_label=ignore_label, weights=weights, counter=counter
    ):
        if not accumulator.classes:
            _check_classes(scores.shape[1], settings)
        accumulator.add(scores, label_ints, row_weights)
    return accumulator, counter.ignored


def finished(accumulator: metrics.Accumulator, ignored: int) -> metrics.Report:
    """The report of the running sums: of one pass, or of merged partials."""
    if accumulator.rows == 0:
        counter = Counter()
        counter.ignored = ignored
        raise _no_rows(counter, "evaluate")
    return replace(accumulator.report(), ignored=ignored)


@dataclass(frozen=True)
class Calibration:
    """A fitted temperature and the metrics before (``T = 1``) and after it."""

    fit: metrics.TemperatureFit
    before: metrics.Report
    after: metrics.Report


@dataclass(frozen=True)
class Collected:
    """Every checked row of a calibration, in memory."""

    scores: FloatArray
    labels: IntArray
    weights: FloatArray | None
    ignored: int


def collect(
    source: ScoreSource,
    labels: LabelSource,
    *,
    ignore_label: str | None = None,
    weights: WeightSource | None = None,
) -> Collected:
    """Every checked row in memory: float64 scores (8 bytes x rows x classes) and labels."""
    score_parts: list[FloatArray] = []
    label_parts: list[IntArray] = []
    weight_parts: list[FloatArray] = []
    counter = Counter()
    for scores, label_ints, row_weights in labelled_blocks(
        source, labels, ignore_label=ignore_label, weights=weights, counter=counter
    ):
        score_parts.append(scores)
        label_parts.append(label_ints)
        if row_weights is not None:
            weight_parts.append(row_weights)
    if not score_parts or not sum(part.shape[0] for part in score_parts):
        raise _no_rows(counter, "calibrate")
    return Collected(
        np.concatenate(score_parts),
        np.concatenate(label_parts),
        np.concatenate(weight_parts) if weights is not None else None,
        counter.ignored,
    )


def in_slices(rows: FloatArray, source: ScoreSource) -> ScoreSource:
    """Rows held in memory, handed on a slice at a time as a reader would hand blocks."""
    step = metrics.FIT_CHUNK_ROWS
    blocks = (
        Block(values=rows[start : start + step], first_line=start + 1)
        for start in range(0, rows.shape[0], step)
    )
    return ScoreSource(blocks=blocks, classes=source.classes, single_vector=source.single_vector)


def run_calibrate(
    scores: FloatArray,
    labels: IntArray,
    *,
    bins: int = metrics.DEFAULT_BINS,
    weights: FloatArray | None = None,
    settings: Settings | None = None,
) -> Calibration:
    """Fit the temperature and measure the scores before and after it."""
    settings = settings or Settings(bins=bins)
    if weights is not None and not (weights > 0).any():
        raise DataError(f"cannot fit a temperature: {ZERO_WEIGHT_WARNING}")
    try:
        fit = metrics.fit_temperature(scores, labels, weights=weights)
    except metrics.FitError as error:
        raise DataError(f"cannot fit a temperature: {error}") from None
    before = _report(scores, labels, weights, settings, 1.0)
    after = _report(scores, labels, weights, settings, fit.temperature)
    return Calibration(fit=fit, before=before, after=after)


def _report(
    scores: FloatArray,
    labels: IntArray,
    weights: FloatArray | None,
    settings: Settings,
    temperature: float,
) -> metrics.Report:
    """Metrics of in-memory rows, a slice at a time so temporaries stay small."""
    accumulator = settings.accumulator(temperature=temperature)
    step = metrics.FIT_CHUNK_ROWS
    for start in range(0, scores.shape[0], step):
        part = slice(start, start + step)
        accumulator.add(scores[part], labels[part], None if weights is None else weights[part])
    return accumulator.report()
