"""The console entry point: signals first, then one run through ``frontend.run``.

Until the real handlers are in place, SIGINT and SIGTERM are only noted, so a
Ctrl-C at any moment of start-up exits 130 without a traceback.
"""

from __future__ import annotations

import signal
import sys

_arrived: list[int] = []


def _note(signum: int, frame: object) -> None:
    _arrived.append(signum)


def _typer_answers(args: list[str]) -> int:
    from .cli import typer_main  # Typer loads only for help and completion

    return typer_main(args)


def main() -> None:
    """``softmax``: run the command line and exit with its status."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _note)
    from .errors import exit_code_for
    from .streams import install_signal_handlers

    try:
        install_signal_handlers(_arrived)
        from .frontend import run

        code = run(sys.argv[1:], _typer_answers)
    except BaseException as error:  # noqa: BLE001 - a signal before frontend.run took over
        code = exit_code_for(error)
    sys.exit(code)
