"""One run of the program: parse, answer, and turn whatever went wrong into an exit code.

Both ways in end here: the console script (``launch.main``) and the Typer app
(``cli.app``, which tests drive with ``CliRunner``).  ``--help`` and shell
completion are answered by Typer, from the same declarations: the caller
passes in the function that lets Typer answer, so this module never imports
Typer and the modules import no one in a circle.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from .errors import ExitCode, UsageError, exit_code_for


def completing() -> bool:
    """True when a shell asks for completions (Typer's ``_SOFTMAX_COMPLETE``)."""
    return "_SOFTMAX_COMPLETE" in os.environ


TyperAnswer = Callable[[list[str]], int]


def run(argv: Sequence[str], typer_answers: TyperAnswer) -> int:
    """Run ``softmax ARGV``; return the exit status.  Never raises, never prints a traceback.

    ``typer_answers(args)`` shows help or answers completion for ``softmax ARGS``.
    """
    invocation = None
    try:
        if completing():
            from .completion import answer_bash

            return ExitCode.OK if answer_bash() else typer_answers([])
        from .parsing import parse

        invocation = parse(argv)
        if invocation.action is not None:
            return _answer(invocation.action, invocation.help_word, argv, typer_answers)
        from .streams import signals_held

        with signals_held():
            # A signal in the middle of a C extension's start-up can crash it: hold it.
            import numpy  # noqa: F401
            import orjson  # noqa: F401

            from .commands import RUNNERS

        assert invocation.command is not None
        RUNNERS[invocation.command.runner](invocation)
        _flush_stdout()
        return ExitCode.OK
    except BaseException as error:  # noqa: BLE001 - the one place errors become exit codes
        if isinstance(error, UsageError) and invocation is not None and invocation.command:
            error.within(invocation.command_word, invocation.help_word)
        return exit_code_for(error)


def _answer(
    action: str, command_name: str | None, argv: Sequence[str], typer_answers: TyperAnswer
) -> int:
    if action == "version":
        from importlib.metadata import version

        from .streams import stdout_bytes

        out = stdout_bytes()
        out.write(f"softmax {version('softmax-cli')}\n".encode())
        out.flush()
        return ExitCode.OK
    if action == "help":
        code = typer_answers([command_name, "--help"] if command_name else ["--help"])
        _flush_stdout()
        return code
    from .completion import check_completion_request

    check_completion_request(argv)
    return typer_answers(list(argv))  # --install-completion, --show-completion


def _flush_stdout() -> None:
    import sys

    if sys.stdout is not None:
        sys.stdout.flush()
