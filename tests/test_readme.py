"""The README's examples run as written, from the repository folder, in a real shell.

Every line of a ``sh`` block that starts with one of our commands (or a tool
piping into one) is run; installs, benchmarks and shell set-up are left to
CI's own steps.  A new example is tested as soon as it is written.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUNNABLE = re.compile(r"^(softmax|cat|seq|printf|jq|python3 -m softmax_cli)\b")


def readme_examples() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    examples = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.DOTALL):
        for line in block.splitlines():
            command = re.sub(r"\s+#.*$", "", line).strip()
            if RUNNABLE.match(command):
                examples.append(command)
    return examples


EXAMPLES = readme_examples()


def test_the_readme_has_examples_of_every_command() -> None:
    from softmax_cli.options import COMMANDS

    words = {word for example in EXAMPLES for word in example.split()}
    for command in COMMANDS:
        assert command.name in words or set(command.aliases) & words, command.name


def test_the_readme_command_table_lists_every_command() -> None:
    from softmax_cli.options import COMMANDS

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| `softmax ")]
    for command in COMMANDS:
        assert any(row.startswith(f"| `softmax {command.name} ") for row in rows), command.name


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the repository's example files, as a clone has them."""
    place = tmp_path_factory.mktemp("readme")
    shutil.copytree(ROOT / "examples", place / "examples")
    return place


@pytest.mark.skipif(shutil.which("jq") is None, reason="some examples pipe into jq")
@pytest.mark.parametrize("example", EXAMPLES)
def test_readme_example_runs_as_written(example: str, folder: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("_SOFTMAX_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", f"set -o pipefail; {example}"],
        cwd=folder,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, f"{example}\n{done.stderr}"
    assert "Traceback" not in done.stderr
