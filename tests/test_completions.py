"""The committed completion scripts match the app, and bash really completes with them."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
from probes import probe

from softmax_cli import options
from softmax_cli.cli import app

ROOT = Path(__file__).resolve().parent.parent
COMPLETIONS = ROOT / "completions"
SCRIPT = ROOT / "scripts" / "make_completions.py"
FILES = ["softmax.bash", "_softmax", "softmax.fish"]

# From the interface document, not from the program.
# Every visible command of the app, so a new command cannot go untested.
COMMANDS = [command.name for command in options.COMMANDS]
FORMATS = ["table", "csv", "tsv", "json", "ndjson", "npy"]


def formats_of(command: str) -> list[str]:
    declared = options.command_named(command)
    assert declared is not None
    return [
        choice
        for option in declared.options
        for choice in option.choices
        if option.dest == "output_format"
    ]


REDUCTIONS = ["mean", "sum", "none"]

needs_bash = pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")


@pytest.fixture(scope="module")
def softmax_on_path(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An environment whose PATH finds `softmax` as this interpreter's softmax_cli."""
    bin_dir = tmp_path_factory.mktemp("bin")
    shim = bin_dir / "softmax"
    shim.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m softmax_cli "$@"\n')
    shim.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("_SOFTMAX_", "_TYPER_"))}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return env


# Source the committed script, find the function it registered for `softmax`
# with `complete -p`, and call it as bash's programmable completion would.
DRIVER = r"""
source "$1" || exit 3
shift
spec=$(complete -p softmax) || exit 4
func=${spec#*-F }
func=${func%% *}
COMP_WORDS=("$@")
COMP_CWORD=$(( $# - 1 ))
COMP_LINE="$*"
COMP_POINT=${#COMP_LINE}
COMPREPLY=()
"$func" softmax "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"
"""


def bash_complete(env: dict[str, str], line: str) -> list[str]:
    """What bash offers for TAB at the end of ``line``."""
    words = shlex.split(line) + ([""] if line.endswith(" ") else [])
    result = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", DRIVER, "bash", str(COMPLETIONS / "softmax.bash")]
        + words,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return [word for word in result.stdout.splitlines() if word]


def test_committed_completion_scripts_are_what_the_app_generates_now(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path)], check=True, timeout=120)
    for name in FILES:
        fresh = (tmp_path / name).read_text(encoding="utf-8")
        committed = (COMPLETIONS / name).read_text(encoding="utf-8")
        assert committed == fresh, f"completions/{name} is stale: run {SCRIPT.relative_to(ROOT)}"


def test_check_mode_reports_a_stale_file_and_writes_nothing(tmp_path: Path) -> None:
    for name in FILES:
        shutil.copy(COMPLETIONS / name, tmp_path / name)
    (tmp_path / "softmax.fish").write_text("# edited by hand\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(tmp_path), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "softmax.fish" in result.stderr
    assert "_softmax" not in result.stderr
    assert (tmp_path / "softmax.fish").read_text(encoding="utf-8") == "# edited by hand\n"


def test_zsh_script_starts_with_compdef_so_compinit_finds_it_in_fpath() -> None:
    first_line = (COMPLETIONS / "_softmax").read_text(encoding="utf-8").splitlines()[0]
    assert first_line == "#compdef softmax"


def test_every_script_completes_the_softmax_command_through_its_variable() -> None:
    for name in FILES:
        text = (COMPLETIONS / name).read_text(encoding="utf-8")
        assert "_SOFTMAX_COMPLETE=complete_" in text, name
        assert "softmax" in text.replace("_SOFTMAX_COMPLETE", ""), name


@needs_bash
def test_tab_after_cro_completes_cross_entropy(softmax_on_path: dict[str, str]) -> None:
    assert bash_complete(softmax_on_path, "softmax cro") == ["cross-entropy"]


@needs_bash
def test_tab_after_the_program_name_offers_every_command(softmax_on_path: dict[str, str]) -> None:
    offered = bash_complete(softmax_on_path, "softmax ")
    assert set(COMMANDS) <= set(offered)
    assert "xent" not in offered  # the alias stays out of the way


@needs_bash
@pytest.mark.parametrize("command", COMMANDS)
def test_tab_after_format_offers_every_output_format(
    softmax_on_path: dict[str, str], command: str
) -> None:
    offered = bash_complete(softmax_on_path, f"softmax {command} --format ")
    assert sorted(offered) == sorted(formats_of(command))


@needs_bash
def test_tab_after_short_format_option_among_negative_scores_offers_formats(
    softmax_on_path: dict[str, str],
) -> None:
    offered = bash_complete(softmax_on_path, "softmax probs -1 -inf 2.5 -o ")
    assert sorted(offered) == sorted(FORMATS)


@needs_bash
@pytest.mark.parametrize("line", ["softmax --format ", "softmax 2 1 -o ", "softmax -1 -inf -o "])
def test_the_shorthand_completes_the_options_of_probs(
    softmax_on_path: dict[str, str], line: str
) -> None:
    assert sorted(bash_complete(softmax_on_path, line)) == sorted(FORMATS)


@needs_bash
def test_tab_after_reduction_offers_mean_sum_none(softmax_on_path: dict[str, str]) -> None:
    offered = bash_complete(softmax_on_path, "softmax cross-entropy --reduction ")
    assert sorted(offered) == sorted(REDUCTIONS)


@needs_bash
def test_tab_after_label_column_offers_no_made_up_values(softmax_on_path: dict[str, str]) -> None:
    assert bash_complete(softmax_on_path, "softmax cross-entropy --label-column ") == []


@needs_bash
def test_a_partial_option_completes_to_the_one_it_starts(softmax_on_path: dict[str, str]) -> None:
    assert bash_complete(softmax_on_path, "softmax probs 2 1 --tem") == ["--temperature"]
    offered = bash_complete(softmax_on_path, "softmax cross-entropy --label")
    assert sorted(offered) == ["--label-column", "--label-smoothing", "--labels"]


@needs_bash
@pytest.mark.parametrize("command", COMMANDS)
def test_every_long_option_of_a_command_is_offered(
    softmax_on_path: dict[str, str], command: str
) -> None:
    click_command = typer.main.get_command(app).commands[command]
    declared = {
        opt
        for param in click_command.params
        for opt in [*param.opts, *param.secondary_opts]
        if opt.startswith("--")
    }
    assert "--format" in declared
    offered = set(bash_complete(softmax_on_path, f"softmax {command} --"))
    assert declared | {"--help"} <= offered


HEAVY = {"numpy", "rich", "orjson", "pydantic"}


def test_tab_is_answered_without_importing_numpy_or_rich() -> None:
    env = {"_SOFTMAX_COMPLETE": "complete_bash", "COMP_WORDS": "softmax cro", "COMP_CWORD": "1"}
    assert probe(**env).imported & HEAVY == set()


def test_version_is_answered_without_importing_numpy_or_rich() -> None:
    assert probe("--version").imported & HEAVY == set()


def test_readme_installs_each_committed_script_and_names_typers_installer() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Shell completion", 1)[1].split("\n## ", 1)[0]
    for name in FILES:
        assert f"completions/{name}" in section
    assert "--install-completion" in section


def _lines_to_complete() -> list[str]:
    """Command lines ending where TAB is pressed, built from the declarations."""
    lines = ["softmax ", "softmax c", "softmax e", "softmax 2 1 -", "softmax -1 -inf -o c"]
    lines += ["softmax 2 --tem", "softmax xent --la", "softmax probs 2 x", "softmax probs -o"]
    for command in options.COMMANDS:
        for word in (command.name, *command.aliases):
            lines += [f"softmax {word} ", f"softmax {word} -", f"softmax {word} --"]
        for option in command.options:
            for name in option.names:
                lines.append(f"softmax {command.name} {name[:3]}")
                if option.takes_value:
                    value = option.choices[0] if option.choices else "1"
                    lines.append(f"softmax {command.name} -1 {name} ")
                    lines.append(f"softmax {command.name} {name} {value[:1]}")
                    lines.append(f"softmax {command.name} {name} {value} -")
                else:
                    lines.append(f"softmax {command.name} {name} 2 --")
    return lines


def test_tab_answered_without_typer_offers_what_typer_offers(monkeypatch, capsys) -> None:
    from softmax_cli.cli import typer_main
    from softmax_cli.completion import bash_words

    answered = 0
    for line in _lines_to_complete():
        words = shlex.split(line) + ([""] if line.endswith(" ") else [])
        index = len(words) - 1
        fast = bash_words(" ".join(words), index)
        if fast is None:
            continue
        answered += 1
        monkeypatch.setenv("_SOFTMAX_COMPLETE", "complete_bash")
        monkeypatch.setenv("COMP_WORDS", " ".join(words))
        monkeypatch.setenv("COMP_CWORD", str(index))
        typer_main([])
        typer = [word for word in capsys.readouterr().out.splitlines() if word]
        # bash sorts what it offers; Click's own order of -h and --help varies between runs.
        assert sorted(fast) == sorted(typer), line
    assert answered > 100


def test_tab_loads_neither_typer_nor_click() -> None:
    env = {
        "_SOFTMAX_COMPLETE": "complete_bash",
        "COMP_WORDS": "softmax probs -o ",
        "COMP_CWORD": "3",
    }
    slow = {"typer", "click", "numpy", "rich", "pydantic", "dataclasses"}  # options.py: dataclasses
    assert probe(**env).imported & slow == set()


def test_the_table_tab_reads_is_generated_from_the_declarations_now() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_completion_table.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_choices_complete_in_any_letter_case_as_they_are_read() -> None:
    from softmax_cli.completion import bash_words

    assert bash_words("softmax probs -o N", 3) == ["ndjson", "npy"]
    assert bash_words("softmax probs -o CS", 3) == ["csv"]
    assert bash_words("softmax probs --dtype FLOAT1", 3) == ["float16"]
