"""Shell conventions: a hint instead of waiting on a terminal, Ctrl-C, no stray files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

PROGRAM = [sys.executable, "-m", "softmax_cli"]
on_linux_proc = pytest.mark.skipif(
    not Path("/proc/self/maps").exists(), reason="needs Linux /proc to see the process wait"
)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("_SOFTMAX_", "_TYPER_"))}
    env.update(extra)
    return env


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs pseudo-terminals")
@pytest.mark.parametrize(
    "args",
    [
        ["probs"],
        [],
        ["logprobs", "-t", "2"],
        ["cross-entropy", "--labels", "0"],
        ["explain"],
    ],
    ids=lambda args: " ".join(["softmax", *args]),
)
def test_no_scores_with_a_terminal_on_stdin_prints_a_one_line_hint_and_exits_2(
    args: list[str],
) -> None:
    controller, terminal = os.openpty()
    try:
        # If the command waited on the terminal instead, the timeout would fail the test.
        result = subprocess.run(
            [*PROGRAM, *args],
            stdin=terminal,
            capture_output=True,
            text=True,
            env=clean_env(),
            timeout=60,
        )
    finally:
        os.close(terminal)
        os.close(controller)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 2, result.stderr
    hint = lines[0]
    assert hint.startswith("softmax")
    assert lines[1].startswith("Try 'softmax") and lines[1].endswith(" --help' for help.")
    assert "softmax 2 1 0.1" in hint  # scores as arguments
    assert "--input" in hint  # or a file
    assert "<" in hint or "|" in hint  # or through stdin
    assert "Traceback" not in result.stderr


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs pseudo-terminals")
def test_explicit_stdin_dash_reads_the_terminal_instead_of_refusing() -> None:
    controller, terminal = os.openpty()
    try:
        process = subprocess.Popen(
            [*PROGRAM, "probs", "-i", "-", "-o", "csv"],
            stdin=terminal,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=clean_env(),
        )
        # Type a row and end the input, as a user at the terminal would (Ctrl-D).
        os.write(controller, b"0,0\n\x04")
        out, err = process.communicate(timeout=60)
    finally:
        os.close(terminal)
        os.close(controller)
    assert process.returncode == 0, err
    assert out.decode().split() == ["0.5,0.5"]


def _wait_until_computing(pid: int, timeout: float = 60.0) -> None:
    """Wait until the command body runs: NumPy is imported only inside it."""
    deadline = time.monotonic() + timeout
    maps = Path(f"/proc/{pid}/maps")
    while time.monotonic() < deadline:
        if "numpy" in maps.read_text():
            time.sleep(0.3)
            return
        time.sleep(0.05)
    raise AssertionError("the command never started reading")


@on_linux_proc
def test_ctrl_c_while_waiting_for_input_exits_130_without_a_traceback() -> None:
    process = subprocess.Popen(
        [*PROGRAM, "probs", "-o", "csv"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=clean_env(),
    )
    try:
        _wait_until_computing(process.pid)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130
    assert b"Traceback" not in err
    assert len(err.splitlines()) <= 1


def test_nothing_is_written_outside_stdout_and_stderr(tmp_path: Path) -> None:
    home, work, temp = tmp_path / "home", tmp_path / "work", tmp_path / "tmp"
    for folder in (home, work, temp):
        folder.mkdir()
    env = clean_env(
        HOME=str(home),
        TMPDIR=str(temp),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        PYTHONDONTWRITEBYTECODE="1",
    )
    runs = [
        (["2", "1", "0.1", "-o", "csv"], None),
        (["probs", "-o", "json"], "2,1,0.1\n1,2,3\n"),
        (["cross-entropy", "2", "1", "0.1", "--labels", "0", "-o", "json"], None),
        (["explain", "2", "1", "0.1", "-o", "json"], None),
        (["probs", "-o", "table"], "a,b\n1,2\n"),
        (["--help"], None),
        (["--version"], None),
    ]
    for args, stdin in runs:
        subprocess.run(
            [*PROGRAM, *args],
            input=stdin,
            text=True,
            cwd=work,
            env=env,
            capture_output=True,
            timeout=60,
        )
    subprocess.run(
        PROGRAM,
        cwd=work,
        env={
            **env,
            "_SOFTMAX_COMPLETE": "complete_bash",
            "COMP_WORDS": "softmax cro",
            "COMP_CWORD": "1",
        },
        capture_output=True,
        timeout=60,
    )
    left = [p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.parent != tmp_path]
    assert left == []
