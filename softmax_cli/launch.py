"""The console entry point: signals first, then one run through ``frontend.run``.

It imports only the standard library before the signal handlers are in place,
so a Ctrl-C at any moment, start-up included, exits 130 without a traceback.
"""

from __future__ import annotations

import sys


def _typer_answers(args: list[str]) -> int:
    from .cli import typer_main  # Typer loads only for help and completion

    return typer_main(args)


def main() -> None:
    """``softmax``: run the command line and exit with its status."""
    code = 130
    try:
        from .streams import install_signal_handlers

        install_signal_handlers()
        from .frontend import run

        code = run(sys.argv[1:], _typer_answers)
    except BaseException as error:  # noqa: BLE001 - a signal during the imports above
        from .errors import exit_code_for

        code = exit_code_for(error)
    sys.exit(code)
