"""Work on items in threads, results in input order: what ``--jobs`` is made of.

The native kernel parses and formats with the GIL released, and NumPy releases
it for the arithmetic, so threads share the cores without copying any data
between processes.  At most ``2 * jobs`` items are in flight, so memory stays
bounded, and the first item is worked on in the caller's thread, so a small
input starts no thread at all.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def _always() -> bool:
    return True


class InOrder(Generic[Item, Result]):
    """``work(item)`` of each item in ``jobs`` threads, the results in input order.

    Iterate inside ``with``: leaving it cancels the work not started and waits for
    the rest.  ``first_line`` is ``line_of`` the item whose result comes next, so an
    unexpected error can name it.  An error in reading the items is raised after
    the results of every item before it.  When ``ready()`` is False, reading the
    next item would wait for a producer that paused: every result held is given
    first, so a slow producer's rows still stream.
    """

    def __init__(
        self,
        items: Iterator[Item],
        work: Callable[[Item], Result],
        jobs: int,
        line_of: Callable[[Item], int],
        ready: Callable[[], bool] = _always,
    ):
        self.items, self.work, self.jobs = items, work, jobs
        self.line_of, self.ready = line_of, ready
        self.first_line: int | None = None
        self._results = self._in_order()

    def __enter__(self) -> Iterator[Result]:
        return self._results

    def __exit__(self, *_: object) -> None:
        self._results.close()

    def _in_order(self) -> Iterator[Result]:
        items, work, jobs, ready = self.items, self.work, self.jobs, self.ready
        pending: deque[tuple[Future[Result], int]] = deque()
        pool = ThreadPoolExecutor(jobs, thread_name_prefix="softmax")  # no thread before a submit

        def next_result() -> Result:
            future, self.first_line = pending.popleft()
            return future.result()

        try:
            first = next(items, None)
            if first is not None:
                self.first_line = self.line_of(first)
                yield work(first)
            while True:
                if pending and not ready():
                    while pending:
                        yield next_result()
                try:
                    item = next(items, None)
                except Exception:
                    while pending:
                        yield next_result()  # the rows before, or an earlier bad line's own error
                    raise
                if item is None:
                    break
                pending.append((pool.submit(work, item), self.line_of(item)))
                while len(pending) > 2 * jobs or (pending and pending[0][0].done()):
                    yield next_result()
            while pending:
                yield next_result()
        finally:
            for future, _ in pending:
                future.cancel()
            pool.shutdown(wait=True, cancel_futures=True)
