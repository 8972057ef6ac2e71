"""Write the shell completion scripts in completions/ from the app itself.

Typer prints a shell's completion script when the program runs with
``_SOFTMAX_COMPLETE=source_bash`` (or ``source_zsh``, ``source_fish``), so the
files are never edited by hand: run this after adding a command or an option.
``tests/test_completions.py`` fails while the committed files are stale.

    python scripts/make_completions.py            # rewrite completions/
    python scripts/make_completions.py --check    # exit 1 if any file is stale
    python scripts/make_completions.py --out DIR  # write elsewhere
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROGRAM = "softmax"
COMPLETE_VAR = "_SOFTMAX_COMPLETE"
FILES = {"bash": "softmax.bash", "zsh": "_softmax", "fish": "softmax.fish"}
NOTE = "# Generated from the softmax app by scripts/make_completions.py; do not edit."


def script_for(shell: str) -> str:
    """The completion script for ``shell``, as Typer prints it, with a note on its origin."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("_TYPER_", "_SOFTMAX_"))
    }
    env[COMPLETE_VAR] = f"source_{shell}"
    result = subprocess.run(
        [sys.executable, "-m", "softmax_cli"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    text = result.stdout.strip()
    if result.returncode != 0 or PROGRAM not in text:
        raise SystemExit(
            f"make_completions: no {shell} script from the app "
            f"(exit {result.returncode}): {result.stderr.strip()}"
        )
    lines = text.splitlines()
    # zsh's compinit reads only the first line of a file in $fpath for
    # `#compdef`, so it must stay first; Typer's output starts with a blank line.
    if lines[0].startswith("#compdef"):
        return "\n".join([lines[0], NOTE, *lines[1:]]) + "\n"
    return "\n".join([NOTE, *lines]) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write completions/ from the softmax app.")
    parser.add_argument("--out", type=Path, default=ROOT / "completions", help="target folder")
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if a file is stale"
    )
    args = parser.parse_args(argv)
    stale = []
    for shell, name in FILES.items():
        path = args.out / name
        text = script_for(shell)
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        stale.append(path)
        if not args.check:
            args.out.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    for path in stale:
        print(f"{'stale' if args.check else 'wrote'}: {path}", file=sys.stderr)
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
