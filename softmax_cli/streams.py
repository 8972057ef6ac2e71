"""The process's streams and signals: stdin, stdout, terminals, SIGINT and SIGTERM.

A signal must never cut a row in half.  ``install_signal_handlers`` makes
SIGINT and SIGTERM raise ``Interrupted``, except while ``GuardedOutput`` is
writing: then the signal waits until the write is complete, so csv ends on a
whole line and the JSON writers can close their document.
"""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Iterator
from typing import Any, BinaryIO

from .errors import Interrupted, UsageError

_pending: list[int] = []
_guarding = False


def _on_signal(signum: int, frame: Any) -> None:
    if _guarding:
        _pending.append(signum)
        return
    raise Interrupted(signum)


def install_signal_handlers(arrived: list[int] | None = None) -> None:
    """SIGINT and SIGTERM raise ``Interrupted`` (exit 130 and 143), never a traceback.

    ``arrived``: signals noted before these handlers were in place; the first is
    raised now.
    """
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(ValueError, OSError):  # not the main thread
            signal.signal(signum, _on_signal)
    if arrived:
        raise Interrupted(arrived[0])


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold SIGINT/SIGTERM back while the body runs; raise them once it is done.

    For writes (a row is never cut) and for importing C extensions, which an
    exception raised in the middle of their start-up can crash.
    """
    global _guarding
    if _guarding:
        yield
        return
    _guarding = True
    try:
        yield
    finally:
        _guarding = False
    if _pending:
        signum = _pending.pop()
        _pending.clear()
        raise Interrupted(signum)


class GuardedOutput:
    """A binary stream whose every ``write`` completes before a signal is acted on."""

    def __init__(self, raw: BinaryIO):
        self.raw = raw

    def write(self, data: bytes | bytearray | memoryview) -> int:
        # A signal can make BufferedWriter.write return early with part of the
        # data written (as write(2) may), so write until all of it is out.
        view = memoryview(data).cast("B")
        with signals_held():
            done = 0
            while done < len(view):
                done += self.raw.write(view[done:]) or 0
        return done

    def flush(self) -> None:
        with signals_held():
            self.raw.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)


def _broken_pipe(console: Any) -> None:
    console.quiet = True
    raise BrokenPipeError


def rich_reports_broken_pipes() -> None:
    """Make Rich raise BrokenPipeError instead of its own ``SystemExit(1)``.

    Rich's documented hook ``Console.on_broken_pipe`` exits 1; a reader that
    stopped reading is no error here, so the one handler in ``errors`` can
    exit 0 for tables and help as it does for csv.  Call it where Rich is
    about to be used, so plain runs never import Rich.
    """
    from rich.console import Console

    Console.on_broken_pipe = _broken_pipe  # type: ignore[method-assign]


def is_terminal(stream: object) -> bool:
    """True when ``stream`` is an interactive terminal."""
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError):
        return False


def stdin_is_terminal() -> bool:
    """True when stdin is an interactive terminal (then we never wait on it)."""
    return is_terminal(sys.stdin)


def stdout_is_terminal() -> bool:
    """True when stdout is a terminal: tables for people, csv for pipes."""
    return is_terminal(sys.stdout)


def stdin_bytes(option: str | None = None) -> BinaryIO:
    """Our stdin as bytes; a closed stdin is a usage error, not a crash.

    ``option``: the option that named stdin (``--targets -``), if one did.
    """
    if sys.stdin is None:
        if option is not None:
            raise UsageError("reads stdin ('-'), but stdin is closed", option=option)
        raise UsageError("stdin is closed: give scores as arguments or with --input FILE")
    return sys.stdin.buffer


def stdout_bytes() -> GuardedOutput:
    """Our stdout as bytes, after anything already written to it as text."""
    if sys.stdout is None:
        raise OSError("stdout is closed")
    sys.stdout.flush()
    return GuardedOutput(sys.stdout.buffer)
