"""``--jobs N``: parse, compute and format alternate chunks in threads, write them in order.

The main thread reads the input and writes each chunk's text (or, for
cross-entropy, adds its sums) in input order; ``in_order.InOrder`` runs the
rest in threads.  A bad line stops the run exactly as with one job: the rows
before it are written, then its error is raised, and no later row is written.
Cross-entropy adds each block's sums in input order too, so its totals do not
depend on the number of threads.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from .errors import RowError
from .in_order import InOrder
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
from .readers import Block, ScoreSource
from .results import LossSummary, LossWriter, RowWriter

if TYPE_CHECKING:
    from .sample_weights import WeightSource

Outcome = tuple[bytes, int, BaseException | None]
Chunk = tuple[bytes, int]  # whole lines, and the number of the first


def default_jobs() -> int:
    """All the cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def row_text(writer: RowWriter) -> Callable[[FloatArray], bytes] | None:
    """How ``writer`` turns rows into text, for the formats that write plain rows; else None.

    These formats write with the kernel, which releases the GIL, so threads format at once.
    """
    from .number_text import delimited_lines, ndjson_lines
    from .writers import DelimitedWriter, NdjsonWriter

    if isinstance(writer, DelimitedWriter) and not writer.settings.single_vector:
        separator, precision = writer.separator, writer.settings.precision
        return lambda values: delimited_lines(values, separator, precision)
    if isinstance(writer, NdjsonWriter):
        precision = writer.settings.precision
        return lambda values: ndjson_lines(values, precision)
    return None


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

    def work(chunk: Chunk) -> Outcome:
        block, error = parse(*chunk)
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
    in_order = InOrder(source.chunks.chunks, work, jobs, _first_line, source.chunks.ready)
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

            def work(chunk: Chunk) -> BlockLosses | BaseException | None:
                block, error = parse(*chunk)
                if block is None:
                    return error
                with np.errstate(over="ignore"):  # NumPy's error state is each thread's own
                    part = by_label.losses(block)
                part.error = part.error or error
                return part

            writer.start(source.classes, source.kept_names)
            in_order = InOrder(source.chunks.chunks, work, jobs, _first_line, source.chunks.ready)
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


def _first_line(chunk: Chunk) -> int:
    return chunk[1]


def _placed(first_line: int | None) -> Block | None:
    """A stand-in block, so that an unexpected error still names the line its chunk starts on."""
    if first_line is None:
        return None
    return Block(values=np.empty((0, 0)), first_line=first_line)
