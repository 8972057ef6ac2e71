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
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from queue import Full, Queue

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
    chunks, parse = source.chunks.chunks, source.chunks.parse
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

    stop = threading.Event()
    queue: Queue[tuple[Future[Outcome] | None, int, BaseException | None]] = Queue(2 * jobs)
    pool = ThreadPoolExecutor(jobs, thread_name_prefix="softmax")  # no thread before a submit
    feeder: threading.Thread | None = None
    try:
        first = next(chunks, None)
        if first is not None:
            # The first block in this thread: a small input starts no thread at all.
            current = _placed(first[1])
            write(work(*first))
            feeder = threading.Thread(
                target=_feed, args=(chunks, pool, work, queue, stop), daemon=True
            )
            feeder.start()
            while True:
                future, first_line, error = queue.get()
                current = _placed(first_line)
                if future is None:
                    if error is not None:
                        raise error  # reading failed: the rows before were all written
                    break
                write(future.result())
    except BaseException as error:
        raise _closed(writer, error, current) from None
    finally:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
    writer.finish()
    return written


def _placed(first_line: int) -> Block:
    """A stand-in block, so that an unexpected error still names the line its chunk starts on."""
    return Block(values=np.empty((0, 0)), first_line=first_line)


def _feed(
    chunks: Iterator[tuple[bytes, int]],
    pool: ThreadPoolExecutor,
    work: Callable[[bytes, int], Outcome],
    queue: Queue[tuple[Future[Outcome] | None, int, BaseException | None]],
    stop: threading.Event,
) -> None:
    """Read chunks and hand them to the pool; the queue keeps them in order and bounded.

    A full queue makes reading wait, so at most its size of blocks are in flight.
    The end, or an error in reading, goes in the queue after the blocks before it.
    """

    def put(item: tuple[Future[Outcome] | None, int, BaseException | None]) -> bool:
        while not stop.is_set():
            try:
                queue.put(item, timeout=0.05)
                return True
            except Full:
                continue
        return False

    first_line = 0
    try:
        for raw, first_line in chunks:
            if stop.is_set():
                return
            try:
                future = pool.submit(work, raw, first_line)
            except RuntimeError:  # the pool was shut down: the run is over
                return
            if not put((future, first_line, None)):
                return
    except BaseException as error:  # noqa: BLE001 - handed to the main thread, raised there
        put((None, first_line, error))
        return
    put((None, first_line, None))
