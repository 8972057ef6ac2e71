"""Real processes and real pipes: what CliRunner cannot show."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time

import pytest

COMMAND = [sys.executable, "-m", "softmax_cli"]


def big_csv(rows: int = 20000) -> bytes:
    return b"".join(f"{i % 7},{i % 5},{-(i % 3)}\n".encode() for i in range(rows))


def test_stdin_pipe_to_stdout_pipe():
    done = subprocess.run([*COMMAND, "probs"], input=b"1,2\n3,4\n", capture_output=True, timeout=60)
    assert done.returncode == 0
    assert len(done.stdout.splitlines()) == 2 and done.stderr == b""


def test_closed_pipe_ends_quietly():
    script = f"{' '.join(COMMAND)} probs | head -1"
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", script],
        input=big_csv(),
        capture_output=True,
        timeout=60,
    )
    assert done.stdout.count(b"\n") == 1
    assert done.stderr == b""
    assert done.returncode == 0


def test_first_rows_come_out_before_the_input_ends():
    process = subprocess.Popen(
        [*COMMAND, "probs"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        process.stdin.write(b"1,2\n")
        process.stdin.flush()
        ready, _, _ = select.select([process.stdout], [], [], 30)
        assert ready, "no output while stdin was still open"
        line = process.stdout.readline()
        assert line.count(b",") == 1
        assert process.poll() is None
    finally:
        process.stdin.close()
        process.wait(timeout=30)
    assert process.returncode == 0


def test_bad_data_exits_1_with_one_line_and_no_traceback():
    done = subprocess.run([*COMMAND, "probs"], input=b"1,2\n3,x\n", capture_output=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.decode().strip() == "softmax: line 2, column 2: 'x' is not a number"
    assert done.stdout.count(b"\n") == 1


def test_usage_error_exits_2():
    done = subprocess.run([*COMMAND, "probs", "1", "-t", "-1"], capture_output=True, timeout=60)
    assert done.returncode == 2
    assert b"Traceback" not in done.stderr


@pytest.mark.skipif(os.name != "posix", reason="SIGINT delivery is POSIX")
def test_interrupt_exits_130_quietly():
    process = subprocess.Popen(
        [*COMMAND, "probs"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    process.stdin.write(b"1,2\n")
    process.stdin.flush()
    process.stdout.readline()
    time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130
    assert b"Traceback" not in err


def test_python_dash_m_and_the_console_script_agree():
    module = subprocess.run([*COMMAND, "2", "1", "0.1"], capture_output=True, timeout=60)
    assert module.returncode == 0 and module.stdout.count(b",") == 2


@pytest.mark.parametrize("args", [["2", "1"], ["xent", "2", "1", "-l", "0"], ["explain", "2", "1"]])
def test_a_closed_stdout_is_one_line_and_exit_1(args):
    script = " ".join([*COMMAND, *args]) + " >&-"
    done = subprocess.run(["bash", "-c", script], capture_output=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.decode().strip() == "softmax: stdout is closed"
