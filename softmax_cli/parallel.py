"""``--jobs N``: parse, compute and format alternate blocks in threads, write them in order.

The native kernel parses and formats with the GIL released, and NumPy releases
it for the arithmetic, so threads share the cores without copying any data
between processes.  The main thread reads the input and writes each block's
text in input order; at most ``2 * jobs`` blocks are in flight, so memory stays
bounded.  A bad line stops the run exactly as with one job: the rows before it
are written, then its error is raised, and no later row is written.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from .errors import RowError
from .numerics import FloatArray
from .pipeline import RowFunction, _closed, _line_error
from .readers import Block, ScoreSource
from .results import RowWriter

Outcome = tuple[bytes, int, BaseException | None]


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
    chunks, parse, ready = source.chunks.chunks, source.chunks.parse, source.chunks.ready
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
    current: Block | None = None

    def write(outcome: Outcome) -> None:
        nonlocal written
        body, rows, error = outcome
        if rows:
            out.write(body)
            out.flush()
            written += rows
        if error is not None:
            raise error

    pending: deque[tuple[Future[Outcome], int]] = deque()
    pool = ThreadPoolExecutor(jobs, thread_name_prefix="softmax")  # no thread before a submit

    def write_next() -> None:
        nonlocal current
        future, first_line = pending.popleft()
        current = _placed(first_line)
        write(future.result())

    try:
        first = next(chunks, None)
        if first is not None:
            # The first block in this thread: a small input starts no thread at all.
            current = _placed(first[1])
            write(work(*first))
        while True:
            if pending and not ready():
                # The producer paused and reading would wait for it: whatever was read
                # is written first, so a slow producer's rows still stream.
                while pending:
                    write_next()
            try:
                chunk = next(chunks, None)
            except Exception:
                while pending:
                    write_next()  # the rows before, or an earlier bad line's own error
                raise
            if chunk is None:
                break
            pending.append((pool.submit(work, *chunk), chunk[1]))
            while len(pending) > 2 * jobs or (pending and pending[0][0].done()):
                write_next()
        while pending:
            write_next()
    except BaseException as error:
        for future, _ in pending:
            future.cancel()
        raise _closed(writer, error, current) from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    writer.finish()
    return written


def _placed(first_line: int) -> Block:
    """A stand-in block, so that an unexpected error still names the line its chunk starts on."""
    return Block(values=np.empty((0, 0)), first_line=first_line)
