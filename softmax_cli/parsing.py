"""The one parser of the command line, driven by the declarations in ``options.py``.

It follows Click's conventions (``--name value``, ``--name=value``, ``-t0.5``,
``--`` ends the options, the last of a repeated option wins) with one rule of
our own: a token that reads as numbers (``-1``, ``-inf``, ``-2,-1``, ``1;2``)
is always scores, never an option.  It imports nothing slow, so a one-liner
pays only for NumPy.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import UsageError
from .options import (
    DEFAULT_COMMAND,
    ROOT_OPTIONS,
    Command,
    Option,
    command_named,
    command_names,
)
from .score_tokens import is_scores_token, looks_like_scores

HELP_TOKENS = ("-h", "--help")


@dataclass
class Invocation:
    """What the command line asks for: a command with its scores and option values.

    ``action`` is set instead for what is answered without running a command:
    ``help`` (of ``command``, or of the program when it is None), ``version``
    and ``completion``.
    """

    command: Command | None
    word: str = ""  # the command as typed: an alias, or "" for the `softmax 2 1` shorthand
    values: dict[str, Any] = field(default_factory=dict)
    scores: list[str] = field(default_factory=list)
    spelled: dict[str, str] = field(default_factory=dict)
    action: str | None = None

    @property
    def command_word(self) -> str | None:
        """How messages name what ran: the command as typed (``xent``), else its name."""
        if self.command is None or not self.word:
            return None  # the `softmax 2 1 0.1` shorthand: no command was typed
        return self.word

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["values"][name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def help_word(self) -> str | None:
        """The command whose ``--help`` to point at: as typed, else the shorthand's."""
        if self.command is None:
            return None
        return self.word or self.command.name

    def given(self, dest: str) -> bool:
        """True when the user typed the option whose values go to ``dest``."""
        return dest in self.spelled

    def name_of(self, dest: str) -> str:
        """The option as the user spelled it (``-t`` or ``--temperature``)."""
        if dest in self.spelled:
            return self.spelled[dest]
        assert self.command is not None
        for option in self.command.options:
            if option.dest == dest:
                return option.display
        return dest


def parse(argv: Sequence[str]) -> Invocation:
    """Read the command line; raise ``UsageError`` (with the command it concerns) when it is off."""
    args = list(argv)
    if not args:
        return _parse_command(DEFAULT_COMMAND, [])
    first = args[0]
    command = command_named(first)
    if command is not None:
        return _parse_command(command, args[1:], first)
    root = _root_option(first)
    if root is not None:
        return Invocation(None, action=root.action)
    if first == "--" or first == "-" or looks_like_scores(first):
        return _parse_command(DEFAULT_COMMAND, args)
    if first.startswith("-"):
        if "=" in first and _root_option(_option_name(first)) is not None:
            raise UsageError("takes no value", option=_option_name(first)).within(None, None)
        if DEFAULT_COMMAND.option(_option_name(first)) is not None:
            return _parse_command(DEFAULT_COMMAND, args)
        raise _no_such_option(first, [*ROOT_OPTIONS, *DEFAULT_COMMAND.options]).within(None, None)
    if first[:1].isdigit() or first[:1] == ".":
        # `0x10`, `1e`, `1..2`: meant as scores, so say what a number is, not just "no command".
        raise UsageError(
            f"{first!r} is neither a command nor a number (scores are decimal: 2, -1.5, 1e-3)"
        ).within(None, None)
    raise UsageError(f"{first!r} is not a command{_suggest(first, command_names())}").within(
        None, None
    )


def _root_option(token: str) -> Option | None:
    for option in ROOT_OPTIONS:
        if token in option.names:
            return option
    return None


def _option_name(token: str) -> str:
    return token.split("=", 1)[0] if token.startswith("--") else token[:2]


def _parse_command(command: Command, args: list[str], word: str = "") -> Invocation:
    invocation = Invocation(command, word, command.defaults())
    try:
        _read_command_line(invocation, command, args)
    except UsageError as error:
        raise error.within(invocation.command_word, invocation.help_word) from None
    return invocation


def _read_command_line(invocation: Invocation, command: Command, args: list[str]) -> None:
    options_end = args.index("--") if "--" in args else len(args)
    if any(token in HELP_TOKENS for token in args[:options_end]):
        invocation.action = "help"
        return
    tokens = iter(args)
    for token in tokens:
        if token == "--":
            invocation.scores.extend(tokens)
            break
        if is_scores_token(token):
            if command_named(token) is not None:
                raise UsageError(
                    f"'{token}' is a command; it goes first, before options and scores "
                    f"(softmax {token} ...)"
                )
            invocation.scores.append(token)
            continue
        if token.startswith("--"):
            name, has_value, attached = token.partition("=")
            option = command.option(name)
            if option is None:
                raise _no_such_option(name, command.all_options)
            if has_value and not option.takes_value:
                raise UsageError("takes no value", option=name)
            value = attached if has_value else None
        else:
            name, attached = token[:2], token[2:]
            option = command.option(name)
            if option is None or (attached and not option.takes_value):
                raise _no_such_option(token, command.all_options)
            value = attached or None
        if option.takes_value and value is None:
            value = _next_value(tokens, option, name)
        _store(invocation, option, name, value)


def _next_value(tokens: Any, option: Option, name: str) -> str:
    value = next(tokens, None)
    if value is None or not is_scores_token(value):
        wanted = f" ({', '.join(option.choices)})" if option.choices else ""
        raise UsageError(f"needs a value{wanted}", option=name)
    return value


def _store(invocation: Invocation, option: Option, name: str, value: str | None) -> None:
    assert invocation.command is not None
    invocation.spelled[option.dest] = name
    if option.convert is None:
        invocation.values[option.dest] = name != option.negation
        return
    assert value is not None
    try:
        converted = option.convert(value)
    except ValueError as error:
        raise UsageError(str(error), option=name) from None
    if option.multiple:
        invocation.values[option.dest].extend(converted)
    else:
        invocation.values[option.dest] = converted


def _no_such_option(token: str, options: Sequence[Option]) -> UsageError:
    known = [name for option in options for name in option.names]
    name = _option_name(token)
    return UsageError(
        f"no such option{_suggest(name, known)}",
        option=token if len(token) <= 40 else token[:40] + "...",
    )


def _suggest(word: str, known: Sequence[str]) -> str:
    """A likely meant name: one that ``word`` begins (``--temp``), else a close spelling."""
    starting = [name for name in known if len(word) > 2 and name.startswith(word)]
    close = starting or difflib.get_close_matches(word, known, n=1, cutoff=0.7)
    return f"; did you mean '{close[0]}'?" if close else ""
