"""The Typer app, generated from ``options.py``: what ``--help`` and shell completion show.

Commands are not run through Typer: ``SoftmaxGroup.main`` hands every command
line to ``frontend.run``, which parses it with the same declarations.  Typer
answers ``--help``, ``--install-completion``, ``--show-completion`` and TAB,
so those keep Typer's look and conventions.  Its value coercion is never
needed here (the parser checks values), so parameters pass values through
unchanged and completion does not load Pydantic.
"""

from __future__ import annotations

import inspect
import shutil
import sys
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from typer._click.core import Context
from typer._click.exceptions import ClickException
from typer.core import TyperCommand, TyperGroup

from .errors import ExitCode, UsageError
from .options import (
    COMMANDS,
    DEFAULT_COMMAND,
    PROGRAM,
    ROOT_DESCRIPTION,
    ROOT_EPILOG,
    ROOT_EXAMPLES,
    ROOT_OPTIONS,
    ROOT_SUMMARY,
    SCORES_HELP,
    Command,
    Option,
)
from .score_tokens import is_scores_token, looks_like_scores

# Rich help needs room; narrower terminals and pipes get Click's plain text, which wraps.
RICH_HELP_MIN_WIDTH = 80


class _PassThrough:
    """Stands in for Typer's Pydantic-backed coercion: values are checked by our parser."""

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        return value


def _no_type(ctx: Any = None) -> None:
    return None


def _adapt(params: list[Any]) -> None:
    """Values pass through unchecked (the parser checked them), and help shows no
    Python types (`<bool>`, `<list[str]>`) beside flags and SCORES."""
    for param in params:
        param._runtime_param = _PassThrough()
        if getattr(param, "is_flag", True):
            param.display_type_rich = _no_type


def _untyped(option: Any) -> Any:
    if option is not None:
        _adapt([option])
    return option


class ScoresCommand(TyperCommand):
    """A command whose number-looking tokens are scores, also while completing."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        _adapt(self.params)

    def get_help_option(self, ctx: Context) -> Any:
        return _untyped(super().get_help_option(ctx))

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        options: list[str] = []
        scores: list[str] = []
        takes_value = {
            name
            for param in self.params
            if not getattr(param, "is_flag", True)
            for name in param.opts
        }
        tokens = iter(args)
        for token in tokens:
            if token == "--":
                scores.extend(tokens)
                break
            if is_scores_token(token):
                scores.append(token)
                continue
            options.append(token)
            if "=" not in token and token in takes_value:
                value = next(tokens, None)
                if value is not None:
                    options.append(value)
        return super().parse_args(ctx, [*options, "--", *scores] if scores else options)


class SoftmaxGroup(TyperGroup):
    """Runs every command line through ``frontend.run``; Typer only shows help and completes."""

    def get_help_option(self, ctx: Context) -> Any:
        return _untyped(super().get_help_option(ctx))

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        _adapt(self.params)  # Typer adds the completion options after __init__
        # While completing, `softmax 2 -o <TAB>` is the shorthand for probs, but
        # `softmax <TAB>` still offers the commands.
        first = args[0] if args else ""
        root_options = {name for option in ROOT_OPTIONS for name in option.names}
        if first not in self.commands and first not in root_options:
            if looks_like_scores(first) or first.startswith("-"):
                args = [DEFAULT_COMMAND.name, *args]
        return super().parse_args(ctx, args)

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        from .frontend import run

        code = run(sys.argv[1:] if args is None else list(args), typer_main)
        if standalone_mode:
            sys.exit(code)
        return code


def _typer_option(option: Option) -> tuple[Any, Any]:
    """The annotation and default Typer reads for one declared option."""
    decls = [*option.flags]
    if option.negation:
        decls = [f"{option.flags[-1]}/{option.negation}"]
    info = typer.Option(
        *decls,
        help=option.help,
        metavar=option.metavar,
        rich_help_panel=None if option.panel == "Options" else option.panel,
        show_default=False,
        autocompletion=(lambda: list(option.choices)) if option.choices else None,
    )
    if not option.takes_value:
        return Annotated[bool | None if option.negation else bool, info], (
            None if option.negation else False
        )
    if option.multiple:
        return Annotated[list[str] | None, info], None
    return Annotated[str | None, info], None


def _help_text(summary: str, description: str, examples: Sequence[str]) -> str:
    # `\b` keeps Click's plain formatter from joining the example lines.
    listing = "\n".join(f"  {example}" for example in examples)
    return f"{summary}\n\n{description}\n\nExamples:\n\n\b\n{listing}"


def _not_run_here(**_: Any) -> None:
    raise AssertionError("commands run through frontend.run, not through Typer")


def _typer_function(command: Command) -> Any:
    """A function whose signature Typer turns into ``command``'s parameters."""
    parameters = [
        inspect.Parameter(
            "scores",
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            annotation=Annotated[
                list[str] | None,
                typer.Argument(
                    metavar=(command.arguments or ("SCORES",))[0],
                    help=(command.arguments or ("", SCORES_HELP))[1],
                    show_default=False,
                ),
            ],
            default=None,
        )
    ]
    for option in command.options:
        annotation, default = _typer_option(option)
        parameters.append(
            inspect.Parameter(
                option.dest,
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                annotation=annotation,
                default=default,
            )
        )

    def function(**values: Any) -> None:
        _not_run_here(**values)

    function.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    function.__annotations__ = {p.name: p.annotation for p in parameters}
    aliases = f" Short name: {', '.join(command.aliases)}." if command.aliases else ""
    function.__doc__ = _help_text(command.summary, command.description + aliases, command.examples)
    function.__name__ = command.name.replace("-", "_")
    return function


def _short_help(command: Command) -> str:
    aliases = f" (alias: {', '.join(command.aliases)})" if command.aliases else ""
    return command.summary.rstrip(".") + aliases


def _version(value: bool) -> None:
    """Declared for --help; the parser answers --version before Typer loads."""


app = typer.Typer(
    name=PROGRAM,
    cls=SoftmaxGroup,
    help=_help_text(ROOT_SUMMARY, ROOT_DESCRIPTION, ROOT_EXAMPLES),
    epilog=ROOT_EPILOG,
    add_completion=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Turn scores (logits) into probabilities, log-probabilities and cross-entropy."""


for _command in COMMANDS:
    app.command(_command.name, cls=ScoresCommand, short_help=_short_help(_command))(
        _typer_function(_command)
    )
    for _alias in _command.aliases:
        app.command(_alias, cls=ScoresCommand, hidden=True)(_typer_function(_command))


def click_group() -> SoftmaxGroup:
    """The Click group Typer builds from ``app``."""
    group = typer.main.get_command(app)
    assert isinstance(group, SoftmaxGroup)
    return group


def typer_main(args: list[str]) -> int:
    """Let Typer answer: help, completion, or completion install.  Returns the exit code."""
    from .streams import rich_reports_broken_pipes, stdout_is_terminal

    group = click_group()
    width = shutil.get_terminal_size().columns
    plain = not stdout_is_terminal() or width < RICH_HELP_MIN_WIDTH
    if not plain:
        rich_reports_broken_pipes()
    for command in [group, *group.commands.values()]:
        command.rich_markup_mode = None if plain else "rich"  # type: ignore[attr-defined]
        if not plain and command.help:
            command.help = command.help.replace("\n\b\n", "\n")  # Rich keeps lines as written
    try:
        TyperGroup.main(group, args=args, prog_name=PROGRAM, standalone_mode=False)
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else ExitCode.OK
    except ClickException as error:
        raise UsageError(error.format_message()).within(None, None) from None
    return ExitCode.OK
