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
    (a mapped ``.npy``), later blocks are computed in threads while this one is
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
    """Each block in order with its rows computed, or the error computing them raised.

    Above one job, up to ``2 * jobs`` blocks are computed ahead in threads; the
    first block is computed here, so an input of one block starts no thread.
    """

    def compute(block: Block) -> FloatArray | Exception:
        try:
            return operation(block.values, temperature)
        except Exception as error:  # noqa: BLE001 - raised by the caller, at its block
            return error

    first = next(blocks, None)
    if first is None:
        return
    yield first, compute(first)
    if jobs <= 1:
        for block in blocks:
            yield block, compute(block)
        return
    from collections import deque
    from concurrent.futures import Future, ThreadPoolExecutor

    pending: deque[tuple[Block, Future[FloatArray | Exception]]] = deque()
    pool = ThreadPoolExecutor(jobs, thread_name_prefix="softmax")
    try:
        for block in blocks:
            pending.append((block, pool.submit(compute, block)))
            if len(pending) > 2 * jobs:
                done, future = pending.popleft()
                yield done, future.result()
        while pending:
            done, future = pending.popleft()
            yield done, future.result()
    finally:
        for _, future in pending:
            future.cancel()
        pool.shutdown(wait=True, cancel_futures=True)


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


def _cross_entropy_pass(
    source: ScoreSource,
    options: LossOptions,
    writer: LossWriter,
    labels: LabelSource | None,
    targets: ScoreSource | None,
    sample_weights: WeightSource | None = None,
) -> LossSummary:
    summary = LossSummary(reduction=options.reduction, dtype=options.dtype)
    sample_weight_sum = 0.0
    ignore = _ignored_value(options.ignore_label, source.classes)
    feeder = RowFeeder(targets) if targets is not None else None
    weights = None if options.class_weights is None else np.asarray(options.class_weights, float)
    if weights is not None:
        weights = precision.narrowed(weights, options.dtype)
    loss_total, weight_total = numerics.RunningSum(), numerics.RunningSum()
    summary.running = (loss_total, weight_total)
    writer.start(source.classes, source.kept_names)
    for block in source.blocks:
        source.current = block
        scores = block.values
        classes = scores.shape[1]
        if weights is not None and weights.shape[0] != classes:
            raise UsageError(f"--weights gives {weights.shape[0]} weights for {classes} classes")
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
        else:
            assert labels is not None
            label_ints, ignored, stop, error = checked_labels(
                block, source.classes, labels, ignore, partial=True, dtype=options.dtype
            )
            row_weights, stop, error = _sample_weights(sample_weights, block, (stop, error))
            count = scores.shape[0] if stop is None else stop
            log_probs = _log_softmax(scores[:count], options)
            terms = numerics.cross_entropy_labels(
                log_probs,
                label_ints[:count],
                class_weights=weights,
                label_smoothing=options.label_smoothing,
                ignored=ignored[:count],
            )
            truth = label_ints[:count]
            counted = ~ignored[:count]
            shown_labels = np.where(counted, truth, -1)
        if row_weights is not None:
            used = row_weights[:count]
            terms = type(terms)(losses=terms.losses * used, weights=terms.weights * used)
            sample_weight_sum += float(used[counted].sum())
        predicted = scores[:count].argmax(axis=1)
        picked = np.exp(log_probs[np.arange(count), truth]) if count else np.empty(0)
        # The sums are of the float64 losses, so a reduction under --dtype is the exact
        # answer rounded once (by ``LossSummary.loss``), not a sum of rounded losses.
        losses = precision.shortest(terms.losses, options.dtype)
        summary.loss_sum = loss_total.add(terms.losses)
        summary.weight_sum = weight_total.add(terms.weights)
        summary.correct += int(((predicted == truth) & counted).sum())
        summary.counted += int(counted.sum())
        if count:
            details = LossDetails(
                target_probability=precision.shortest(picked, options.dtype),
                predicted=predicted,
                labels=shown_labels,
            )
            carried = _carried(block)
            writer.rows(
                losses,
                details,
                summary.rows,
                None if carried is None else carried.head(count),
            )
        summary.rows += count
        if error is not None:
            raise error
    if labels is not None:
        labels.finish(summary.rows)
    if sample_weights is not None:
        sample_weights.finish(summary.rows)
        summary.zero_sample_weight = summary.counted > 0 and sample_weight_sum == 0
        summary.sample_weight_sum = sample_weight_sum
    if feeder is not None and feeder.leftover():
        raise DataError(f"the targets have more rows than the {summary.rows} score rows")
    writer.finish(summary)
    return summary
