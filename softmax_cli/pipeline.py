"""Runs blocks of scores through the core into a writer, keeping every error placed.

This is where rows, labels and targets meet; it does no parsing of its own
and no formatting, so both sides can change without touching the other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from . import numerics, precision
from .errors import DataError, InternalError, RowError, SoftmaxError, UsageError
from .labels import class_lookup, explained, label_value
from .numerics import FloatArray
from .readers import Block, ScoreSource
from .results import Carried, LossDetails, LossSummary, LossWriter, RowWriter

if TYPE_CHECKING:
    from .sample_weights import WeightSource

RowFunction = Callable[[FloatArray, float], FloatArray]  # numerics.operation_function gives one


def _line_error(block: Block, error: RowError) -> DataError:
    """A bad row from the core, placed at the input line it came from."""
    return DataError(
        error.message, line=block.line_of(error.row), column=error.column, unit=block.unit
    )


def run_rows(
    source: ScoreSource,
    operation: RowFunction,
    temperature: float,
    writer: RowWriter,
    jobs: int = 1,
) -> int:
    """Compute ``operation`` block by block; on bad data, write the rows before it, then raise.

    With ``jobs`` > 1 and a source whose next block never waits on a producer
    (a ``.npy`` file), later blocks are computed in threads while this one is
    written; NumPy releases the GIL for the arithmetic.  Rows, output and errors
    stay exactly those of one job.
    """
    writer.start(source.classes, source.kept_names)
    written = 0
    block = None
    ahead = jobs if source.never_waits else 1
    try:
        for block, outcome in _computed(source.blocks, operation, temperature, ahead):
            if isinstance(outcome, RowError):
                good = block.values[: outcome.row]
                if good.shape[0]:
                    carried = _carried(block, good.shape[0])
                    writer.rows(operation(good, temperature), good, written, carried)
                raise _line_error(block, outcome) from None
            if isinstance(outcome, Exception):
                raise outcome  # here, where ``block`` names the line it came from
            writer.rows(outcome, block.values, written, _carried(block))
            written += outcome.shape[0]
    except BaseException as error:
        raise _closed(writer, error, block) from None
    writer.finish()
    return written


def _computed(
    blocks: Iterator[Block], operation: RowFunction, temperature: float, jobs: int
) -> Iterator[tuple[Block, FloatArray | Exception]]:
    """Each block in order with its rows computed, or the error computing them raised;
    above one job, later blocks are computed ahead in threads."""

    def compute(block: Block) -> tuple[Block, FloatArray | Exception]:
        try:
            return block, operation(block.values, temperature)
        except Exception as error:  # noqa: BLE001 - raised by the caller, at its block
            return block, error

    if jobs <= 1:
        yield from map(compute, blocks)
        return
    from .in_order import InOrder

    with InOrder(blocks, compute, jobs, lambda block: block.first_line) as results:
        yield from results


def _carried(block: Block, count: int | None = None) -> Carried | None:
    """What the block's first ``count`` rows carry beside their scores; None when nothing."""
    if block.kept is None and block.objects is None:
        return None
    carried = Carried(block.kept, block.objects)
    return carried if count is None else carried.head(count)


def _closed(writer: object, error: BaseException, block: Block | None) -> BaseException:
    """Close what was written so it stays valid (JSON gets its closing brackets), then say
    what to raise: the error itself, or for a bug an ``InternalError`` naming its line."""
    if isinstance(error, BrokenPipeError):
        return error  # nobody is reading: write nothing more
    abort = getattr(writer, "abort", None)
    if abort is not None:
        try:
            abort()
        except OSError:
            pass  # a full disk or a closed pipe: the first error is the one to report
    if isinstance(error, (SoftmaxError, OSError)) or not isinstance(error, Exception):
        return error  # bad data, a full disk, a signal: said as they are
    line = block.first_line if block is not None else None
    return InternalError(f"{type(error).__name__}: {error}", line=line)


# --- labels ------------------------------------------------------------------


class LabelSource:
    """Gives the labels of a block of rows, as floats (checked later in one place)."""

    #: With ``partial``, the first row of the last block that had no label, and its error.
    missing: tuple[int, DataError] | None = None

    def labels_for(
        self, block: Block, classes: Sequence[str] | None, partial: bool = False
    ) -> FloatArray:
        """``partial``: rows without a label get NaN and ``missing`` says where, not an error."""
        raise NotImplementedError

    def finish(self, rows: int) -> None:
        """Raise if labels were left over once the scores ran out."""


class ListedLabels(LabelSource):
    """``--labels 0,2,1`` or ``--labels cat,dog``: one per row, in order."""

    def __init__(self, tokens: Sequence[str], option: str = "--labels"):
        self.tokens = [t.strip() for token in tokens for t in token.split(",") if t.strip()]
        self.used = 0
        self.option = option

    def labels_for(
        self, block: Block, classes: Sequence[str] | None, partial: bool = False
    ) -> FloatArray:
        rows = block.values.shape[0]
        wanted = self.tokens[self.used : self.used + rows]
        values = [self._value(token, classes) for token in wanted]
        self.used += len(wanted)
        if len(wanted) < rows:
            line = block.line_of(len(wanted))
            error = DataError(
                f"{block.unit} {line}: no label for this row ({self.option} gives "
                f"{len(self.tokens)})",
                line=line,
                placed=True,
            )
            if not partial:
                raise error
            self.missing = len(wanted), error
            values += [np.nan] * (rows - len(wanted))
        return np.array(values, dtype=np.float64)

    def _value(self, token: str, classes: Sequence[str] | None) -> float:
        try:
            return label_value(token, class_lookup(classes))
        except ValueError:
            raise UsageError(explained(token, classes), option=self.option) from None

    def finish(self, rows: int) -> None:
        if self.used < len(self.tokens):
            raise DataError(f"--labels gives {len(self.tokens)} labels for {rows} rows")


class ColumnLabels(LabelSource):
    """``--label-column``: the reader already took the column out of the scores."""

    def labels_for(
        self, block: Block, classes: Sequence[str] | None, partial: bool = False
    ) -> FloatArray:
        assert block.labels is not None
        return block.labels


class RowFeeder:
    """Hands out exactly as many target rows as each score block has."""

    def __init__(self, source: ScoreSource):
        self.blocks: Iterator[Block] = source.blocks
        self.pending: list[tuple[Block, int]] = []
        self.taken = 0
        #: A data error the targets ended with; the score rows before it are still computed.
        self.error: DataError | None = None

    def take(self, count: int) -> tuple[FloatArray, Callable[[int], int]]:
        """Up to ``count`` rows, and a function from a row of them to its line."""
        parts: list[FloatArray] = []
        segments: list[tuple[Block, int, int]] = []
        need = count
        while need:
            if not self.pending:
                try:
                    block = next(self.blocks, None)
                except DataError as error:
                    self.error = error
                    block = None
                if block is None:
                    break
                self.pending.append((block, 0))
            block, start = self.pending[0]
            stop = min(block.values.shape[0], start + need)
            parts.append(block.values[start:stop])
            segments.append((block, start, stop))
            need -= stop - start
            if stop == block.values.shape[0]:
                self.pending.pop(0)
            else:
                self.pending[0] = (block, stop)
        self.taken += count - need

        def line_at(row: int) -> int:
            for block, start, stop in segments:
                if row < stop - start:
                    return block.line_of(start + row)
                row -= stop - start
            raise IndexError(row)

        if not parts:
            return np.empty((0, 0)), line_at
        return np.concatenate(parts), line_at

    def leftover(self) -> bool:
        if self.pending:
            return True
        return next(self.blocks, None) is not None


# --- cross-entropy -----------------------------------------------------------


@dataclass
class LossOptions:
    """Everything that changes how a loss is computed, as PyTorch's arguments do."""

    reduction: str = "mean"
    temperature: float = 1.0
    class_weights: Sequence[float] | None = None
    label_smoothing: float = 0.0
    ignore_label: str | None = None
    dtype: str = "float64"  # scores and losses rounded to this precision; sums in float64


def _ignored_value(label: str | None, classes: Sequence[str] | None) -> float | None:
    """``--ignore-label`` as the label value rows are compared with."""
    if label is None:
        return None
    try:
        return label_value(label, class_lookup(classes))
    except ValueError:
        raise UsageError(explained(label, classes), option="--ignore-label") from None


def _check_labels(
    labels: FloatArray, classes: int, ignore: float | None, block: Block
) -> tuple[np.ndarray, np.ndarray, int | None, DataError | None]:
    """Integer labels, the ignored mask, and the first bad row with its error."""
    ignored = labels == ignore if ignore is not None else np.zeros(labels.shape, dtype=bool)
    with np.errstate(invalid="ignore"):
        whole = np.isfinite(labels) & (labels == np.floor(labels))
        in_range = whole & (labels >= 0) & (labels < classes)
    bad = ~(in_range | ignored)
    if not bad.any():
        return np.where(ignored, 0, labels).astype(np.intp), ignored, None, None
    row = int(np.argmax(bad))
    value = labels[row]
    line = block.line_of(row)
    shown = repr(int(value)) if whole[row] else repr(float(value))
    if whole[row]:
        message = f"{block.unit} {line}: label {shown} is out of range for {classes} classes"
    else:
        message = f"{block.unit} {line}: label {shown} is not a class index"
    error = DataError(message, line=line, placed=True)
    safe = np.where(bad | ignored, 0, labels).astype(np.intp)
    return safe, ignored, row, error


Problem = tuple[int | None, DataError | None]


def _bad_scores(block: Block, dtype: str = precision.DEFAULT) -> Problem:
    """The first row of a block that holds a NaN or only ``-inf`` once rounded to ``dtype``
    (``-70000`` is ``-inf`` in float16), with its error."""
    try:
        numerics.check_rows(precision.narrowed(block.values, dtype))
    except RowError as problem:
        return problem.row, _line_error(block, problem)
    return None, None


def _earliest(*problems: Problem) -> Problem:
    """The problem at the earliest row; on a tie, the one named first."""
    found = [problem for problem in problems if problem[0] is not None]
    return min(found, key=lambda problem: problem[0]) if found else (None, None)


def checked_labels(
    block: Block,
    classes: Sequence[str] | None,
    labels: LabelSource,
    ignore: float | None = None,
    *,
    partial: bool = False,
    dtype: str = precision.DEFAULT,
) -> tuple[np.ndarray, np.ndarray, int | None, DataError | None]:
    """Integer labels, the ignored mask, and the first bad row (scores or label) with its error.

    The rows before that row are good, so a streaming caller can write them first.
    """
    raw = labels.labels_for(block, classes, partial=partial)
    label_ints, ignored, bad, label_error = _check_labels(raw, block.values.shape[1], ignore, block)
    missing = labels.missing if partial and labels.missing is not None else (None, None)
    stop, error = _earliest(missing, _bad_scores(block, dtype), (bad, label_error))
    return label_ints, ignored, stop, error


def _check_targets(targets: FloatArray, classes: int, line_at: Callable[[int], int]) -> int | None:
    """Return the first target row that is not a probability vector, or None."""
    if targets.shape[1] != classes:
        raise DataError(
            f"targets line {line_at(0)} has {targets.shape[1]} values, expected {classes}",
            placed=True,
        )
    with np.errstate(invalid="ignore"):
        sums = targets.sum(axis=1)
        bad = ~np.isfinite(sums) | (targets < 0).any(axis=1) | (np.abs(sums - 1.0) > 1e-6)
    return int(np.argmax(bad)) if bad.any() else None


def _sample_weights(
    source: WeightSource | None, block: Block, problem: Problem
) -> tuple[FloatArray | None, int | None, DataError | None]:
    """The block's sample weights, and the earliest problem: ``problem`` or a bad weight."""
    if source is None:
        return None, *problem
    from .sample_weights import bad_weight

    row_weights, missing = source.weights_for(block)
    stop, error = _earliest(problem, missing, bad_weight(row_weights, block))
    return row_weights, stop, error


def _log_softmax(scores: FloatArray, options: LossOptions) -> np.ndarray:
    """Log-softmax of the scores rounded to the precision asked for (``precision.py``)."""
    return numerics.log_softmax(precision.narrowed(scores, options.dtype), options.temperature)


def run_cross_entropy(
    source: ScoreSource,
    options: LossOptions,
    writer: LossWriter,
    *,
    labels: LabelSource | None = None,
    targets: ScoreSource | None = None,
    weights: WeightSource | None = None,
) -> LossSummary:
    """Stream losses for every row and keep running totals for the reductions.

    Sample weights multiply each row's loss and its weight in the mean, as a
    per-row factor on top of PyTorch's class weight: the mean is
    ``sum s_i w_(y_i) l_i / sum s_i w_(y_i)``.
    """
    try:
        # Losses too large for float64 are inf (null in JSON), not a warning on stderr.
        with np.errstate(over="ignore"):
            return _cross_entropy_pass(source, options, writer, labels, targets, weights)
    except BaseException as error:
        raise _closed(writer, error, source.current) from None


def threadable(
    source: ScoreSource,
    labels: LabelSource | None,
    targets: ScoreSource | None,
    weights: WeightSource | None,
) -> bool:
    """True when each block's losses depend on that block alone, so threads can compute
    blocks side by side (see ``LabelLosses``)."""
    from .sample_weights import ColumnWeights

    return (
        source.chunks is not None
        and targets is None
        and isinstance(labels, ColumnLabels)
        and (weights is None or isinstance(weights, ColumnWeights))
    )


def _cross_entropy_pass(
    source: ScoreSource,
    options: LossOptions,
    writer: LossWriter,
    labels: LabelSource | None,
    targets: ScoreSource | None,
    sample_weights: WeightSource | None = None,
) -> LossSummary:
    totals = LossTotals(options)
    feeder = RowFeeder(targets) if targets is not None else None
    weights = class_weights(options)
    by_label = None
    if feeder is None:
        assert labels is not None
        by_label = LabelLosses(source.classes, labels, options, sample_weights)
    writer.start(source.classes, source.kept_names)
    for block in source.blocks:
        source.current = block
        if by_label is not None:
            totals.add(by_label.losses(block), writer)
            continue
        scores = block.values
        classes = scores.shape[1]
        _check_class_weights(weights, classes)
        if feeder is not None:
            target_rows, target_lines = feeder.take(scores.shape[0])
            if target_rows.shape[0] == 0:
                target_rows = np.empty((0, classes))  # no targets left: keep the shapes agreeing
            short: Problem = (None, None)
            if target_rows.shape[0] < scores.shape[0]:
                row = target_rows.shape[0]
                short = (
                    row,
                    feeder.error
                    or DataError(
                        f"{block.unit} {block.line_of(row)}: no target row for this row "
                        f"(the targets have {feeder.taken})",
                        placed=True,
                    ),
                )
            not_probabilities: Problem = (None, None)
            if target_rows.shape[0]:
                bad = _check_targets(target_rows, classes, target_lines)
                if bad is not None:
                    not_probabilities = (
                        bad,
                        DataError(
                            f"targets line {target_lines(bad)}: not probabilities "
                            "(each row must be non-negative and sum to 1)",
                            placed=True,
                        ),
                    )
            stop, error = _earliest(_bad_scores(block, options.dtype), short, not_probabilities)
            row_weights, stop, error = _sample_weights(sample_weights, block, (stop, error))
            count = scores.shape[0] if stop is None else stop
            log_probs = _log_softmax(scores[:count], options)
            terms = numerics.cross_entropy_targets(
                log_probs,
                target_rows[:count],
                class_weights=weights,
                label_smoothing=options.label_smoothing,
            )
            truth = target_rows[:count].argmax(axis=1) if count else np.empty(0, dtype=np.intp)
            counted = np.ones(count, dtype=bool)
            shown_labels = None
        part = _block_losses(
            block, log_probs, terms, truth, counted, shown_labels, row_weights, options
        )
        part.error = error
        totals.add(part, writer)
    if feeder is not None and feeder.leftover():
        raise DataError(f"the targets have more rows than the {totals.summary.rows} score rows")
    return totals.finish(writer, labels, sample_weights)


def class_weights(options: LossOptions) -> FloatArray | None:
    """``--weights`` as an array, rounded to the precision asked for."""
    if options.class_weights is None:
        return None
    return precision.narrowed(np.asarray(options.class_weights, float), options.dtype)


def _check_class_weights(weights: FloatArray | None, classes: int) -> None:
    if weights is not None and weights.shape[0] != classes:
        raise UsageError(f"--weights gives {weights.shape[0]} weights for {classes} classes")


@dataclass
class BlockLosses:
    """One block's losses and its parts of the totals.

    They are computed apart from the running totals, so blocks can be computed
    side by side (``parallel``) and still be added up in input order, to the
    same bits as one after the other.
    """

    block: Block
    count: int
    losses: FloatArray
    details: LossDetails
    loss_part: float
    weight_part: float
    sample_weight_part: float | None
    correct: int
    counted: int
    #: The error of the row after the last one counted: raised once the rows before are in.
    error: BaseException | None = None


def _block_losses(
    block: Block,
    log_probs: FloatArray,
    terms: numerics.LossTerms,
    truth: np.ndarray,
    counted: np.ndarray,
    shown_labels: np.ndarray | None,
    row_weights: FloatArray | None,
    options: LossOptions,
    predicted: np.ndarray | None = None,
) -> BlockLosses:
    """The losses of the first ``len(truth)`` rows of ``block`` and their parts of the totals;
    ``predicted``: their arg-maxes, when already known."""
    count = truth.shape[0]
    sample_weight_part = None
    if row_weights is not None:
        used = row_weights[:count]
        terms = type(terms)(losses=terms.losses * used, weights=terms.weights * used)
        sample_weight_part = float(used[counted].sum())
    if predicted is None:
        predicted = block.values[:count].argmax(axis=1)
    picked = np.exp(log_probs[np.arange(count), truth]) if count else np.empty(0)
    # The sums are of the float64 losses, so a reduction under --dtype is the exact
    # answer rounded once (by ``LossSummary.loss``), not a sum of rounded losses.
    return BlockLosses(
        block=block,
        count=count,
        losses=precision.shortest(terms.losses, options.dtype),
        details=LossDetails(
            target_probability=precision.shortest(picked, options.dtype),
            predicted=predicted,
            labels=shown_labels,
        ),
        loss_part=numerics.RunningSum.part(terms.losses),
        weight_part=numerics.RunningSum.part(terms.weights),
        sample_weight_part=sample_weight_part,
        correct=int(((predicted == truth) & counted).sum()),
        counted=int(counted.sum()),
    )


class LabelLosses:
    """The losses of a block against class labels: the work on one block, which touches
    nothing shared when the labels and sample weights come from the block's own columns."""

    def __init__(
        self,
        classes: Sequence[str] | None,
        labels: LabelSource,
        options: LossOptions,
        sample_weights: WeightSource | None = None,
    ):
        self.classes = classes
        self.labels = labels
        self.options = options
        self.sample_weights = sample_weights
        self.ignore = _ignored_value(options.ignore_label, classes)
        self.weights = class_weights(options)

    def losses(self, block: Block) -> BlockLosses:
        options = self.options
        _check_class_weights(self.weights, block.values.shape[1])
        label_ints, ignored, stop, error = checked_labels(
            block, self.classes, self.labels, self.ignore, partial=True, dtype=options.dtype
        )
        row_weights, stop, error = _sample_weights(self.sample_weights, block, (stop, error))
        count = block.values.shape[0] if stop is None else stop
        scores = block.values[:count]
        predicted = None
        if options.dtype == precision.DEFAULT:
            # The rows before ``stop`` passed check_rows (no NaN), so the arg-max found on
            # the way is ``scores.argmax(axis=1)``; rounded scores may tie where these do not.
            log_probs, predicted = numerics.log_softmax_and_top(
                scores, options.temperature, checked=True
            )
        else:
            log_probs = _log_softmax(scores, options)
        terms = numerics.cross_entropy_labels(
            log_probs,
            label_ints[:count],
            class_weights=self.weights,
            label_smoothing=options.label_smoothing,
            ignored=ignored[:count],
        )
        truth = label_ints[:count]
        counted = ~ignored[:count]
        shown_labels = np.where(counted, truth, -1)
        part = _block_losses(
            block, log_probs, terms, truth, counted, shown_labels, row_weights, options, predicted
        )
        part.error = error
        return part


class LossTotals:
    """The running totals of a pass, fed one block's ``BlockLosses`` at a time, in order."""

    def __init__(self, options: LossOptions):
        self.summary = LossSummary(reduction=options.reduction, dtype=options.dtype)
        self.loss_total, self.weight_total = numerics.RunningSum(), numerics.RunningSum()
        self.summary.running = (self.loss_total, self.weight_total)
        self.sample_weight_sum = 0.0

    def add(self, part: BlockLosses, writer: LossWriter) -> None:
        """Write the block's rows and add its parts; then raise the error its rows stop at."""
        summary = self.summary
        summary.loss_sum = self.loss_total.add_part(part.loss_part)
        summary.weight_sum = self.weight_total.add_part(part.weight_part)
        if part.sample_weight_part is not None:
            self.sample_weight_sum += part.sample_weight_part
        summary.correct += part.correct
        summary.counted += part.counted
        if part.count:
            carried = _carried(part.block)
            writer.rows(
                part.losses,
                part.details,
                summary.rows,
                None if carried is None else carried.head(part.count),
            )
        if part.count and part.block.values.ndim == 2:
            summary.classes = part.block.values.shape[1]
        summary.rows += part.count
        if part.error is not None:
            raise part.error

    def finish(
        self,
        writer: LossWriter,
        labels: LabelSource | None,
        sample_weights: WeightSource | None,
    ) -> LossSummary:
        summary = self.summary
        if labels is not None:
            labels.finish(summary.rows)
        if sample_weights is not None:
            sample_weights.finish(summary.rows)
            summary.zero_sample_weight = summary.counted > 0 and self.sample_weight_sum == 0
            summary.sample_weight_sum = self.sample_weight_sum
        writer.finish(summary)
        return summary
