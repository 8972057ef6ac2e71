"""What a run imports decides how fast it starts: only a fresh interpreter shows it.

Every computing command must run without Typer, Pydantic or (except for tables)
Rich; help and completion need Typer but never Pydantic.  The commands come
from the declarations, so a new command is checked too.
"""

from __future__ import annotations

import math
import sys

import pytest
from probes import probe

from softmax_cli.options import COMMANDS

SLOW_TO_IMPORT = {"typer", "pydantic", "rich"}


def _benchmark_runs() -> dict[str, list[str]]:
    """The smallest valid run of each command: the benchmark's own list, so both agree."""
    import importlib.util
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "benchmarks" / "run.py"
    spec = importlib.util.spec_from_file_location("benchmarks_run_startup", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module.STARTUP_ARGS


RUNS = _benchmark_runs()


def test_every_command_has_a_start_up_case() -> None:
    assert set(RUNS) == {command.name for command in COMMANDS}


@pytest.mark.parametrize("command", [c.name for c in COMMANDS])
def test_a_computing_run_loads_neither_typer_pydantic_nor_rich(command: str) -> None:
    result = probe(command, *RUNS[command], "-o", "json")
    assert (result.returncode, result.stderr) == (0, "")
    assert result.imported & SLOW_TO_IMPORT == set()


def test_the_shorthand_computes_without_slow_imports() -> None:
    result = probe("2", "1", "0.1", "-o", "csv")
    assert (result.returncode, result.stderr) == (0, "")
    assert result.imported & SLOW_TO_IMPORT == set()
    exps = [math.exp(x - 2) for x in (2, 1, 0.1)]
    expected = [e / sum(exps) for e in exps]
    got = [float(field) for field in result.stdout.strip().split(",")]
    assert got == pytest.approx(expected, rel=1e-15)


def test_every_option_of_probs_runs_without_typer() -> None:
    result = probe(
        "probs",
        "--delimiter",
        ",",
        "--no-header",
        "-t",
        "2",
        "--precision",
        "3",
        "-o",
        "csv",
        "--no-color",
        stdin="1,2\n3,4\n",
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert result.imported & SLOW_TO_IMPORT == set()


def test_a_table_loads_rich_but_not_typer() -> None:
    result = probe("logprobs", "-1", "-inf", "3", "-o", "table")
    assert (result.returncode, result.stderr) == (0, "")
    assert result.imported & SLOW_TO_IMPORT == {"rich"}
    assert "-inf" in result.stdout


def test_a_usage_error_loads_nothing_slow() -> None:
    result = probe("probs", "-t", "0", "1")
    assert result.returncode == 2
    assert result.imported & (SLOW_TO_IMPORT | {"numpy"}) == set()


@pytest.mark.parametrize("path", [[], *([c.name] for c in COMMANDS)])
def test_help_uses_typer_without_pydantic(path: list[str]) -> None:
    result = probe(*path, "--help")
    assert result.returncode == 0, result.stderr
    assert "typer" in result.imported
    assert "pydantic" not in result.imported and "numpy" not in result.imported
