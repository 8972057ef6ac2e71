"""Run softmax in a fresh interpreter and see which packages it imported.

Start-up cost is a promise (no Rich for csv, no Typer for plain one-liners, no
NumPy on TAB); only a new process shows what a run really imports.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass

MARKER = "\nIMPORTED="

PROBE = f"""
import sys
sys.argv[0] = "softmax"
code = 0
try:
    from softmax_cli.launch import main

    main()
except SystemExit as stop:
    code = stop.code
imported = sorted({{name.split(".")[0] for name in sys.modules}})
sys.stderr.write({MARKER!r} + ",".join(imported) + "\\n")
sys.exit(code)
"""


@dataclass
class ProbedRun:
    """What one run printed, how it exited, and the top-level packages it imported."""

    returncode: int
    stdout: str
    stderr: str
    imported: set[str]


def probe(*args: str, stdin: str | None = None, **env: str) -> ProbedRun:
    """Run ``softmax ARGS`` through the console entry point and list its imports."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        input=stdin,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    stderr, _, imported = result.stderr.rpartition(MARKER)
    return ProbedRun(result.returncode, result.stdout, stderr, set(imported.split(",")))
