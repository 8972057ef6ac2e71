"""TAB in bash, answered from the declarations in ``options.py`` without loading Typer.

Typer's answer costs its own import and Click's (about 50 ms on every TAB);
even the declarations cost dataclasses and enum (about 20 ms), so TAB reads
them as ``completion_table.py``, plain tuples generated from them.
The common requests (a command name, an option name, an option's choices,
nothing after scores) are answered here with the same words in the same
order; anything else (``=`` forms, ``--``, unknown words or options, the root
options) returns None and Typer answers, so no request is answered
differently.  ``tests/test_completions.py`` compares both on many lines.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from .completion_table import COMMANDS
from .score_tokens import is_scores_token, looks_like_scores

# One option of the table: names, dest, takes a value, repeatable, an action, choices.
TableOption = tuple[tuple[str, ...], str, bool, bool, bool, tuple[str, ...]]
TableCommand = tuple[str, tuple[str, ...], tuple[TableOption, ...]]


def _split(words: str) -> list[str]:
    """The words of ``COMP_WORDS`` as Click splits them (shell quoting understood)."""
    import shlex

    lexer = shlex.shlex(words, posix=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    out: list[str] = []
    try:
        out.extend(lexer)
    except ValueError:
        out.append(lexer.token)  # an unclosed quote: the partial word as it is
    return out


def _command_named(word: str) -> TableCommand | None:
    for command in COMMANDS:
        if word == command[0] or word in command[1]:
            return command
    return None


def _option_named(command: TableCommand, word: str) -> TableOption | None:
    for option in command[2]:
        if word in option[0]:
            return option
    return None


def _command_words(command: TableCommand, args: list[str], incomplete: str) -> list[str] | None:
    """The words offered after ``softmax COMMAND ARGS``; None when unsure."""
    used: set[str] = set()
    waiting: TableOption | None = None  # the option whose value is the next word
    for token in args:
        if waiting is not None:
            _, dest, _, multiple, _, _ = waiting
            if not multiple:
                used.add(dest)
            waiting = None
            continue
        if "=" in token and token.startswith("-") or token == "--":
            return None
        if is_scores_token(token):
            continue
        option = _option_named(command, token)
        if option is None or option[4]:
            return None
        _, dest, takes_value, multiple, _, _ = option
        if takes_value:
            waiting = option
        elif not multiple:
            used.add(dest)
    if incomplete.startswith("-"):
        if "=" in incomplete:
            return None
        return [
            name
            for names, dest, _, multiple, _, _ in command[2]
            if dest not in used or multiple
            for name in names
            if name.startswith(incomplete)
        ]
    if waiting is not None:
        # Choices are read in any letter case (`-o CSV`), so they complete in any too.
        return [choice for choice in waiting[5] if choice.startswith(incomplete.lower())]
    return []


def bash_words(words: str, index: int) -> list[str] | None:
    """What TAB offers for word ``index`` of ``words``; None when Typer must answer."""
    split = _split(words)
    args = split[1:index]
    incomplete = split[index] if index < len(split) else ""
    if not args:
        if incomplete.startswith("-"):
            return None  # the root options: Typer orders their names its own way
        return [name for name, _, _ in COMMANDS if name.startswith(incomplete)]
    first = args[0]
    command = _command_named(first)
    if command is not None:
        return _command_words(command, args[1:], incomplete)
    if looks_like_scores(first):
        return _command_words(COMMANDS[0], args, incomplete)  # `softmax 2 1 --<TAB>`
    return None


def answer_bash() -> bool:
    """Print bash's completions and return True, or return False for Typer to answer."""
    if os.environ.get("_SOFTMAX_COMPLETE") != "complete_bash":
        return False
    try:
        offered = bash_words(os.environ["COMP_WORDS"], int(os.environ["COMP_CWORD"]))
    except (KeyError, ValueError):
        return False
    if offered is None:
        return False
    import sys

    sys.stdout.write("\n".join(offered))
    sys.stdout.flush()
    return True


#: The shells Typer writes completion scripts for.
SHELLS = ("bash", "zsh", "fish", "powershell", "pwsh")


def check_completion_request(argv: Sequence[str]) -> None:
    """Refuse what Typer would answer with bash's script: a word after the option (Typer's
    completion options are flags for the shell you are in) or a shell it cannot serve."""
    from .errors import UsageError

    option = next(word for word in argv if word in ("--install-completion", "--show-completion"))
    supported = ", ".join(SHELLS)
    others = [word for word in argv if word != option]
    if others:
        raise UsageError(
            f"{option} takes no value: it is for the shell you are in ({supported}); "
            f"got {others[0][:40]!r}"
        ).within(None, None)
    if os.environ.get("_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION"):
        return
    try:
        import shellingham
    except ImportError:  # Typer without it asks for the shell by name
        return
    try:
        shell = shellingham.detect_shell()[0]
    except shellingham.ShellDetectionFailure:
        shell = None
    if shell not in SHELLS:
        found = f"this shell ({shell})" if shell else "no shell was found, and"
        raise UsageError(
            f"{option}: {found} is not supported; run it from one of {supported}, or use "
            "the scripts in completions/"
        ).within(None, None)
