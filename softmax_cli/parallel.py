"""``--jobs N``: parse, compute and format alternate blocks in threads, write them in order.

The native kernel parses and formats with the GIL released, and NumPy releases
it for the arithmetic, so threads share the cores without copying any data
between processes.  The main thread reads the input and writes each block's
text in input order; at most ``2 * jobs`` blocks are in flight, so memory stays
bounded.  A bad line stops the run exactly as with one job: the rows before it
are written, then its error is raised, and no later row is written.
Cross-entropy adds each block's sums in input order too, so its totals do not
depend on the number of threads.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Generic, TypeVar

import numpy as np

from .errors import RowError
from .numerics import FloatArray
from .pipeline import (
    BlockLosses,
    LabelLosses,
    LabelSource,
    LossOptions,
    LossTotals,
    RowFunction,
    _closed,
    _line_error,
)
from .readers import CHUNK_BYTES, Block, ScoreSource
from .results import LossSummary, LossWriter, RowWriter

if TYPE_CHECKING:
    from .sample_weights import WeightSource

Outcome = tuple[bytes, int, BaseException | None]
Result = TypeVar("Result")


def default_jobs() -> int:
    """All the cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def row_text(writer: RowWriter) -> Callable[[FloatArray], bytes] | None:
    """How ``writer`` turns rows into text, for the formats that write plain rows; else None."""
    from . import native
    from .number_text import delimited_lines, ndjson_lines
    from .writers import DelimitedWriter, NdjsonWriter

    # orjson is faster in one thread, but holds the GIL; the kernel lets threads format at once.
    if isinstance(writer, DelimitedWriter) and not writer.settings.single_vector:
        separator, precision = writer.separator, writer.settings.precision

        def delimited(values: FloatArray) -> bytes:
            text = native.format_rows(values, separator) if precision is None else None
            return delimited_lines(values, separator, precision) if text is None else text

        return delimited
    if isinstance(writer, NdjsonWriter):
        precision = writer.settings.precision

        def ndjson(values: FloatArray) -> bytes:
            text = native.format_rows(values, ",", b"[", b"]\n") if precision is None else None
            return ndjson_lines(values, precision) if text is None else text

        return ndjson
    return None


class InOrder(Generic[Result]):
    """``work(raw, first_line)`` of each chunk in ``jobs`` threads, the results in input order.

    Iterate inside ``with``: leaving it cancels the work not started and waits for
    the rest.  ``first_line`` is the first line of the chunk whose result comes
    next, so an unexpected error can name it.  An error in reading the chunks is
    raised after the results of every chunk before it.
    """

    def __init__(
        self,
        chunks: Iterator[tuple[bytes, int]],
        work: Callable[[bytes, int], Result],
        jobs: int,
    ):
        self.chunks, self.work, self.jobs = chunks, work, jobs
        self.first_line: int | None = None
        self._results = self._in_order()

    def __enter__(self) -> Iterator[Result]:
        return self._results

    def __exit__(self, *_: object) -> None:
        self._results.close()

    def _in_order(self) -> Iterator[Result]:
        chunks, work, jobs = self.chunks, self.work, self.jobs
        pending: deque[tuple[Future[Result], int]] = deque()
        pool = ThreadPoolExecutor(jobs, thread_name_prefix="softmax")  # no thread before a submit

        def next_result() -> Result:
            future, self.first_line = pending.popleft()
            return future.result()

        try:
            first = next(chunks, None)
            if first is not None:
                # The first block in this thread: a small input starts no thread at all.
                self.first_line = first[1]
                yield work(*first)
            while True:
                try:
                    chunk = next(chunks, None)
                except Exception:
                    while pending:
                        yield next_result()  # the rows before, or an earlier bad line's own error
                    raise
                if chunk is None:
                    break
                pending.append((pool.submit(work, *chunk), chunk[1]))
                while len(pending) > 2 * jobs or (pending and pending[0][0].done()):
                    yield next_result()
                if len(chunk[0]) < CHUNK_BYTES // 2:
                    # A short chunk: the input paused, and reading may wait for it. Whatever
                    # was read is written first, so a slow producer's rows still stream.
                    while pending:
                        yield next_result()
            while pending:
                yield next_result()
        finally:
            for future, _ in pending:
                future.cancel()
            pool.shutdown(wait=True, cancel_futures=True)


def run_rows_in_threads(
    source: ScoreSource,
    operation: RowFunction,
    temperature: float,
    writer: RowWriter,
    text: Callable[[FloatArray], bytes],
    jobs: int,
) -> int:
    """``pipeline.run_rows`` over ``source.chunks``, with ``jobs`` threads for all but reading."""
    assert source.chunks is not None
    parse = source.chunks.parse
    out = writer.out  # type: ignore[attr-defined]

    def work(raw: bytes, first_line: int) -> Outcome:
        block, error = parse(raw, first_line)
        if block is None:
            return b"", 0, error
        try:
            values = operation(block.values, temperature)
        except RowError as row_error:
            good = block.values[: row_error.row]
            head = text(operation(good, temperature)) if good.shape[0] else b""
            return head, good.shape[0], _line_error(block, row_error)
        return text(values), values.shape[0], error

    writer.start(source.classes, source.kept_names)
    written = 0
    in_order = InOrder(source.chunks.chunks, work, jobs)
    try:
        with in_order as outcomes:
            for body, rows, error in outcomes:
                if rows:
                    out.write(body)
                    out.flush()
                    written += rows
                if error is not None:
                    raise error
    except BaseException as error:
        raise _closed(writer, error, _placed(in_order.first_line)) from None
    writer.finish()
    return written


def run_losses_in_threads(
    source: ScoreSource,
    options: LossOptions,
    writer: LossWriter,
    labels: LabelSource,
    weights: WeightSource | None,
    jobs: int,
) -> LossSummary:
    """``pipeline.run_cross_entropy`` where ``pipeline.threadable`` says so, with ``jobs``
    threads for all but reading: each block's losses and sums are computed apart, then
    written and added in input order, so the totals are the same bits whatever ``jobs``."""
    assert source.chunks is not None
    parse = source.chunks.parse
    in_order: InOrder | None = None
    try:
        # Losses too large for float64 are inf (null in JSON), not a warning on stderr.
        with np.errstate(over="ignore"):
            by_label = LabelLosses(source.classes, labels, options, weights)
            totals = LossTotals(options)

            def work(raw: bytes, first_line: int) -> BlockLosses | BaseException | None:
                block, error = parse(raw, first_line)
                if block is None:
                    return error
                with np.errstate(over="ignore"):  # NumPy's error state is each thread's own
                    part = by_label.losses(block)
                part.error = part.error or error
                return part

            writer.start(source.classes, source.kept_names)
            in_order = InOrder(source.chunks.chunks, work, jobs)
            with in_order as parts:
                for part in parts:
                    if isinstance(part, BlockLosses):
                        totals.add(part, writer)
                    elif part is not None:
                        raise part
            return totals.finish(writer, labels, weights)
    except BaseException as error:
        line = None if in_order is None else in_order.first_line
        raise _closed(writer, error, _placed(line)) from None


def _placed(first_line: int | None) -> Block | None:
    """A stand-in block, so that an unexpected error still names the line its chunk starts on."""
    if first_line is None:
        return None
    return Block(values=np.empty((0, 0)), first_line=first_line)
