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


# --- every command and format into a closed pipe, and signals at any moment ---

# Labels that mostly follow the scores, so calibrate has a temperature to find.
EVAL_CSV = b"a,b,c,y\n" + b"".join(
    f"{i % 7},{i % 5},{-(i % 3)},{int(i % 5 > i % 7) ^ (i % 4 == 0)}\n".encode()
    for i in range(20000)
)


def _closed_pipe_cases() -> list[tuple[str, str]]:
    from softmax_cli.options import COMMANDS

    cases = []
    for command in COMMANDS:
        for option in command.options:
            if option.dest == "output_format":
                cases += [(command.name, choice) for choice in option.choices]
    return cases


def _args_for(command: str) -> list[str]:
    if command == "explain":
        return ["explain", *[str(i % 13) for i in range(3000)]]
    if command in ("cross-entropy", "evaluate", "calibrate"):
        return [command, "--label-column", "y"]
    if command == "entmax":
        return [command, "--alpha", "1.5"]
    if command == "merge":
        return [
            command,
            os.path.join(os.path.dirname(__file__), "..", "examples", "preds.partial.json"),
        ]
    if command == "hsoftmax":
        return [command, "--tree", os.path.join(os.path.dirname(__file__), "data", "five.tree")]
    return [command]


@pytest.mark.parametrize(("command", "fmt"), _closed_pipe_cases())
@pytest.mark.parametrize("reader", ["head -1", "true"])
def test_every_command_and_format_ends_quietly_into_a_closed_pipe(command, fmt, reader):
    script = " ".join([*COMMAND, *_args_for(command), "-o", fmt]) + f" | {reader}"
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", script], input=EVAL_CSV, capture_output=True, timeout=60
    )
    assert done.stderr == b""
    assert done.returncode == 0


@pytest.mark.parametrize("path", [[], ["probs"], ["explain"], ["evaluate"]])
def test_help_into_a_closed_pipe_exits_0(path):
    script = " ".join([*COMMAND, *path, "--help"]) + " | head -1"
    done = subprocess.run(["bash", "-o", "pipefail", "-c", script], capture_output=True, timeout=60)
    assert (done.returncode, done.stderr) == (0, b"")
    assert done.stdout.startswith(b"Usage: softmax")


def _interrupted(fmt: str, signum: int, delay: float) -> tuple[int, bytes, bytes]:
    import tempfile

    with tempfile.TemporaryFile() as scores:
        scores.write(big_csv(60000))
        scores.seek(0)
        # Nobody reads stdout until the signal is sent: the writer blocks in a full pipe.
        process = subprocess.Popen(
            [*COMMAND, "probs", "-o", fmt],
            stdin=scores,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        time.sleep(delay)
        process.send_signal(signum)
        out, err = process.communicate(timeout=60)
    return process.returncode, out, err


@pytest.mark.skipif(os.name != "posix", reason="signals are POSIX")
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
@pytest.mark.parametrize("delay", [0.5, 1.5])
def test_a_signal_during_json_output_leaves_a_parseable_document(signum, code, delay):
    import json

    status, out, err = _interrupted("json", signum, delay)
    assert status == code
    assert b"Traceback" not in err
    document = json.loads(out)
    assert all(len(row) == 3 for row in document["rows"])


@pytest.mark.skipif(os.name != "posix", reason="signals are POSIX")
@pytest.mark.parametrize("fmt", ["csv", "ndjson"])
def test_a_signal_during_row_output_ends_on_a_whole_row(fmt):
    status, out, err = _interrupted(fmt, signal.SIGTERM, 1.0)
    assert status == 143 and b"Traceback" not in err
    assert out.endswith(b"\n")
    for line in out.splitlines():
        assert len(line.replace(b"[", b"").replace(b"]", b"").split(b",")) == 3


@pytest.mark.skipif(os.name != "posix", reason="signals are POSIX")
@pytest.mark.parametrize("delay", [0.1, 0.15, 0.25])
def test_ctrl_c_during_start_up_exits_130_without_a_traceback(delay):
    process = subprocess.Popen(
        [*COMMAND, "explain", "2", "1", "0.1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert b"Traceback" not in err
    # A signal that lands while the interpreter shuts down kills it as SIGINT does
    # by default; the shell reports that as 130 too.
    assert process.returncode in (0, 130, -signal.SIGINT)


def test_a_closed_stdin_is_a_usage_error():
    done = subprocess.run(
        ["bash", "-c", " ".join([*COMMAND, "probs"]) + " <&-"], capture_output=True, timeout=60
    )
    assert done.returncode == 2
    assert done.stderr.decode().splitlines() == [
        "softmax probs: stdin is closed: give scores as arguments or with --input FILE",
        "Try 'softmax probs --help' for help.",
    ]


def test_the_installed_package_runs_from_another_folder(tmp_path):
    """Outside the repository, Python finds the installed package, subpackages and all."""
    import gzip

    (tmp_path / "logits.csv.gz").write_bytes(gzip.compress(b"a,b\n1,2\n"))
    done = subprocess.run(
        [*COMMAND, "probs", "-i", "logits.csv.gz", "--keep", "a", "-o", "csv"],
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
    )
    assert (done.returncode, done.stderr) == (0, b"")
    assert done.stdout.splitlines() == [b"a,b", b"1,1.0"]
