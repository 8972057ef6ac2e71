"""`--help` and `--version` as a user reads them: in a pipe, at 80 columns."""

from __future__ import annotations

import functools
import importlib.metadata
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

from softmax_cli.cli import app

ROOT = Path(__file__).resolve().parent.parent
# The interface's commands, whose examples these tests run as written ...
COMMANDS = ["probs", "logprobs", "cross-entropy", "explain"]
HELP_PATHS = [(), *((command,) for command in COMMANDS)]
# ... and every visible command the app has, whose help must read as well.
_GROUP = typer.main.get_command(app)
VISIBLE = [name for name in _GROUP.list_commands(None) if not _GROUP.commands[name].hidden]
ALL_HELP_PATHS = [(), *((command,) for command in VISIBLE)]
BOX = "│╭╮╰╯─"

# Files the examples name: the ones shipped in examples/, as shipped, so an example
# that disagrees with them (four scores against a ten-name vocabulary) fails here.
EXAMPLES = ROOT / "examples"
EXAMPLE_FILES = {path.name: path for path in sorted(EXAMPLES.iterdir()) if path.is_file()}


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without anything that forces colour or completion."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"FORCE_COLOR", "PY_COLORS", "GITHUB_ACTIONS", "TERMINAL_WIDTH", "COLUMNS"}
        and not key.startswith(("_SOFTMAX_", "_TYPER_"))
    }
    env.update(extra)
    return env


@functools.cache
def help_text(path: tuple[str, ...], columns: int = 80) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "softmax_cli", *path, "--help"],
        env=clean_env(COLUMNS=str(columns)),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


@functools.cache
def terminal_help(path: tuple[str, ...], columns: int) -> str:
    """Help as a terminal shows it (Rich panels), read through a pseudo-terminal."""
    controller, terminal = os.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "softmax_cli", *path, "--help"],
        env=clean_env(COLUMNS=str(columns), NO_COLOR="1"),
        stdin=subprocess.DEVNULL,
        stdout=terminal,
        stderr=subprocess.PIPE,
    )
    os.close(terminal)
    chunks = []
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the program closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(controller)
    assert process.wait(timeout=60) == 0
    assert process.stderr is not None and process.stderr.read() == b""
    text = b"".join(chunks).decode().replace("\r\n", "\n")
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)  # bold and dim stay under NO_COLOR


def flat(text: str) -> str:
    """Help text without panel borders, whitespace collapsed, for phrase searches."""
    return " ".join(text.translate({ord(c): " " for c in BOX}).split())


def paragraphs(text: str) -> list[list[str]]:
    """The prose above the first panel, as paragraphs of stripped lines."""
    prose = text.split("╭", 1)[0]
    blocks: list[list[str]] = [[]]
    for line in prose.splitlines():
        if line.strip():
            blocks[-1].append(line.strip())
        elif blocks[-1]:
            blocks.append([])
    return [block for block in blocks if block]


def examples(text: str) -> list[str]:
    blocks = paragraphs(text)
    index = next(i for i, block in enumerate(blocks) if block == ["Examples:"])
    return blocks[index + 1]


def panels(text: str) -> dict[str, set[str]]:
    """Panel title -> the long options named in that panel."""
    found: dict[str, set[str]] = {}
    title = None
    for line in text.splitlines():
        start = re.match(r"\s*╭─ (.+?) ─", line)
        if start:
            title = start.group(1)
            found[title] = set()
        elif title is not None and line.lstrip().startswith("│"):
            found[title].update(re.findall(r"(?<![\w-])--[a-z][\w-]*", line))
    return found


@pytest.mark.parametrize("path", ALL_HELP_PATHS, ids=lambda p: " ".join(p) or "softmax")
def test_help_fits_80_columns_when_columns_is_80(path: tuple[str, ...]) -> None:
    widest = max(len(line) for line in help_text(path).splitlines())
    assert widest <= 80


def test_help_follows_columns_so_the_80_column_check_means_something() -> None:
    widest = max(len(line) for line in terminal_help(("probs",), 120).splitlines())
    assert 80 < widest <= 120


@pytest.mark.parametrize("columns", [60, 80, 120])
@pytest.mark.parametrize("path", ALL_HELP_PATHS, ids=lambda p: " ".join(p) or "softmax")
def test_help_on_a_terminal_fits_its_width_and_cuts_no_option_name(
    path: tuple[str, ...], columns: int
) -> None:
    text = terminal_help(path, columns)
    assert max(len(line) for line in text.splitlines()) <= columns
    assert "…" not in text
    for option in re.findall(r"--[a-z][\w-]*", text):
        assert not option.endswith("-"), option


@pytest.mark.parametrize("path", ALL_HELP_PATHS, ids=lambda p: " ".join(p) or "softmax")
def test_help_shows_no_python_types_or_range_jargon(path: tuple[str, ...]) -> None:
    for text in (help_text(path), terminal_help(path, 100)):
        for jargon in ("<bool>", "<list", "<str>", "<int>", "<float>", "x<=", "<=x"):
            assert jargon not in text, jargon


@pytest.mark.parametrize("path", ALL_HELP_PATHS, ids=lambda p: " ".join(p) or "softmax")
def test_piped_help_is_plain_text_without_boxes(path: tuple[str, ...]) -> None:
    text = help_text(path)
    assert not set(BOX) & set(text)


def test_aliases_are_shown_in_the_command_list_and_in_their_command_help() -> None:
    assert "(alias: xent)" in flat(help_text(()))
    assert "Short name: xent." in flat(help_text(("cross-entropy",)))


@pytest.mark.parametrize("path", ALL_HELP_PATHS, ids=lambda p: " ".join(p) or "softmax")
def test_piped_help_has_no_colour_codes(path: tuple[str, ...]) -> None:
    assert "\x1b" not in help_text(path)


@pytest.mark.parametrize("path", ALL_HELP_PATHS, ids=lambda p: " ".join(p) or "softmax")
def test_help_opens_with_one_sentence_saying_what_it_computes(path: tuple[str, ...]) -> None:
    blocks = paragraphs(help_text(path))
    assert blocks[0][0].startswith("Usage: softmax")
    sentence = " ".join(blocks[1])
    assert sentence.endswith(".")
    assert ". " not in sentence[:-1]
    if path in HELP_PATHS:
        assert re.search(r"softmax|cross-entropy|probabilit", sentence, re.IGNORECASE)


@pytest.mark.parametrize("path", ALL_HELP_PATHS, ids=lambda p: " ".join(p) or "softmax")
def test_help_shows_two_to_four_examples_of_its_own_command(path: tuple[str, ...]) -> None:
    shown = examples(help_text(path))
    assert 2 <= len(shown) <= 4
    for example in shown:
        words = shlex.split(example.split("|")[-1])
        assert words[0] == "softmax", example
        if path:
            assert words[1] in {path[0], "xent"}, example


def test_app_help_shows_the_shorthand_example() -> None:
    assert "softmax 2 1 0.1" in examples(help_text(()))


def run_example(example: str, folder: Path, bin_dir: Path) -> subprocess.CompletedProcess:
    env = clean_env(PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    return subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", f"set -o pipefail; {example}"],
        cwd=folder,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture()
def example_folder(tmp_path: Path) -> tuple[Path, Path]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "softmax"
    shim.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m softmax_cli "$@"\n')
    shim.chmod(0o755)
    work = tmp_path / "work"
    work.mkdir()
    for name, source in EXAMPLE_FILES.items():
        (work / name).write_bytes(source.read_bytes())
    return work, bin_dir


@pytest.mark.parametrize("path", HELP_PATHS, ids=lambda p: " ".join(p) or "softmax")
def test_every_help_example_is_a_valid_command_line(
    path: tuple[str, ...], example_folder: tuple[Path, Path]
) -> None:
    for example in examples(help_text(path)):
        result = run_example(example, *example_folder)
        assert result.returncode != 2, f"{example}: {result.stderr}"
        assert "--help" not in result.stderr, example


@pytest.mark.parametrize("path", ALL_HELP_PATHS, ids=lambda p: " ".join(p) or "softmax")
def test_help_examples_succeed_as_written(
    path: tuple[str, ...], example_folder: tuple[Path, Path]
) -> None:
    for example in examples(help_text(path)):
        result = run_example(example, *example_folder)
        assert result.returncode == 0, f"{example}: {result.stderr}"
        assert result.stderr == "", example


def test_options_are_grouped_into_input_and_output_panels() -> None:
    found = panels(terminal_help(("probs",), 100))
    assert {"--input", "--delimiter", "--header", "--no-header"} <= found["Input"]
    assert {"--format", "--precision", "--no-color"} <= found["Output"]
    assert "--temperature" in found["Options"]


def test_cross_entropy_groups_the_truth_apart_from_the_loss_settings() -> None:
    found = panels(terminal_help(("cross-entropy",), 100))
    assert {"--labels", "--label-column", "--targets", "--ignore-label"} == found["Labels"]
    assert {"--reduction", "--weights", "--label-smoothing"} == found["Loss"]


def test_default_notes_in_option_help_are_not_swallowed_as_markup() -> None:
    text = flat(help_text(("probs",)))
    assert "(default: table on a terminal, csv otherwise)" in text
    assert "(default: detected)" in text
    assert " ." not in text


def test_app_help_epilog_names_every_exit_status() -> None:
    text = flat(help_text(()))
    for phrase in ("0 ok", "1 bad data", "2 usage", "130 interrupted"):
        assert phrase in text


def test_app_help_names_the_environment_variables_it_honours() -> None:
    text = flat(help_text(()))
    assert "NO_COLOR" in text and "COLUMNS" in text


def test_version_prints_the_package_metadata_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "softmax_cli", "--version"],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    assert result.stdout == f"softmax {importlib.metadata.version('softmax-cli')}\n"


def test_the_version_is_defined_once_in_pyproject() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    declared = re.findall(r'^version = "([^"]+)"$', pyproject, re.MULTILINE)
    assert declared == [importlib.metadata.version("softmax-cli")]
    package = ROOT / "softmax_cli"
    for source in package.glob("*.py"):
        assert declared[0] not in source.read_text(encoding="utf-8"), source.name


def test_readme_documents_exit_statuses_and_environment() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Exit status and environment", 1)[1].split("\n## ", 1)[0]
    for status in ("| 0 |", "| 1 |", "| 2 |", "| 130 |"):
        assert status in section
    for name in ("NO_COLOR", "COLUMNS", "config files", "network"):
        assert name in section
