"""Extreme shapes and input safety: huge rows, the per-line limit, 0 rows, 1 class.

The per-line limit (``readers.MAX_LINE_BYTES``, 64 MiB) is what keeps memory
bounded when a line never ends: the reader refuses the line with a placed
error instead of buffering it.  It is tested with a small limit patched in,
and once for real, in a subprocess, on a line that would be 1 GiB.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import special
from typer.testing import CliRunner

from softmax_cli import readers
from softmax_cli.cli import app

runner = CliRunner()


def run(*args: str, data: bytes = b""):
    result = runner.invoke(app, list(args), input=data)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result


def csv_values(text: str) -> np.ndarray:
    return np.array([[float(v) for v in line.split(",")] for line in text.splitlines()])


# --- extreme shapes ------------------------------------------------------------


def test_one_row_of_a_million_values_is_one_distribution():
    rng = np.random.default_rng(1)
    scores = rng.normal(0, 5, 1_000_000)
    data = (",".join(map(repr, scores.tolist())) + "\n").encode()
    result = run("probs", "-o", "csv", data=data)
    assert result.exit_code == 0, result.stderr
    probs = csv_values(result.stdout)
    assert probs.shape == (1, 1_000_000)
    assert abs(probs.sum() - 1.0) <= 1e-12
    assert_allclose(probs[0], special.softmax(scores), rtol=1e-10, atol=0)


def test_a_hundred_thousand_columns_are_read_and_written_whole():
    rng = np.random.default_rng(2)
    scores = rng.normal(0, 5, (3, 100_000))
    data = "\n".join(",".join(map(repr, row)) for row in scores.tolist()).encode() + b"\n"
    result = run("logprobs", "-o", "csv", data=data)
    assert result.exit_code == 0, result.stderr
    log_probs = csv_values(result.stdout)
    assert log_probs.shape == (3, 100_000)
    assert_allclose(log_probs, special.log_softmax(scores, axis=1), rtol=1e-12, atol=1e-12)


def test_a_line_over_the_limit_fails_cleanly_at_its_line(monkeypatch):
    monkeypatch.setattr(readers.text, "MAX_LINE_BYTES", 64 << 10)
    long_line = b"1.5," * (1 << 19) + b"2\n"  # 2 MiB, over a 64 KiB limit
    result = run("probs", "-o", "csv", data=b"1,2\n3,4\n" + long_line)
    assert result.exit_code == 1
    assert "line 3 is longer than" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_lines_under_the_limit_are_read(monkeypatch):
    monkeypatch.setattr(readers.text, "MAX_LINE_BYTES", 64 << 10)
    width = 8 << 10  # about 32 KiB of text, under a 64 KiB limit
    line = ",".join(["0"] * width).encode() + b"\n"
    result = run("probs", "-o", "csv", data=line * 3)
    assert result.exit_code == 0, result.stderr
    assert_allclose(csv_values(result.stdout), 1.0 / width, rtol=1e-15)


@pytest.mark.slow
def test_a_line_of_a_gigabyte_fails_with_bounded_memory():
    """A real process fed an endless line stops at the limit; its memory stays far below 1 GiB."""
    measure = (
        "import runpy, sys\n"
        "sys.argv = ['softmax', 'probs', '-o', 'csv']\n"
        "try:\n"
        "    runpy.run_module('softmax_cli', run_name='__main__')\n"
        "finally:\n"
        # VmHWM is this process's own peak; ru_maxrss after exec can include the
        # peak of the process that started it (here, a pytest grown by other tests).
        "    status = open('/proc/self/status').read()\n"
        "    peak = int(status.split('VmHWM:')[1].split()[0])\n"
        "    print(f'peak-kib {peak}', file=sys.stderr)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", measure],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    piece = b"1.25," * (1 << 18)  # 1.25 MiB of one line, no newline
    sent = 0
    try:
        while sent < 1 << 30:
            process.stdin.write(piece)
            sent += len(piece)
        process.stdin.write(b"1\n")
        process.stdin.close()
    except BrokenPipeError:
        pass
    stdout = process.stdout.read()
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=120) == 1, stderr
    assert sent < 1 << 30, "the reader kept reading past the limit"
    lines = stderr.splitlines()
    assert lines[0] == "softmax: line 1 is longer than 64 MiB", stderr
    peak_mib = int(lines[-1].split()[1]) / 1024
    assert peak_mib < 512, f"peak memory {peak_mib:.0f} MiB"
    assert stdout == b""


def test_zero_rows_after_a_header_give_the_header_and_no_rows():
    assert run("probs", "-o", "csv", data=b"cat,dog\n").stdout == "cat,dog\n"
    document = json.loads(run("probs", "-o", "json", data=b"cat,dog\n").stdout)
    assert document["rows"] == [] and document["classes"] == ["cat", "dog"]
    assert run("probs", "-o", "ndjson", data=b"cat,dog\n").stdout == ""


def test_zero_rows_of_cross_entropy_give_a_null_mean_and_say_why():
    result = run("xent", "--label-column", "y", "-o", "json", data=b"a,b,y\n")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["loss"] is None
    assert "there are no rows" in result.stderr


def test_nothing_to_read_is_a_usage_error():
    for data in (b"", b"\n\n  \n", b"\xef\xbb\xbf\r\n"):
        result = run("probs", "-o", "csv", data=data)
        assert result.exit_code == 2 and "no scores" in result.stderr


def test_softmax_of_one_value_is_one():
    assert run("probs", "-o", "csv", "5").stdout == "1.0\n"
    assert run("probs", "-o", "csv", "-1e300").stdout == "1.0\n"
    assert run("probs", "-o", "csv", "inf").stdout == "1.0\n"
    assert run("logprobs", "-o", "csv", "-7").stdout == "0.0\n"


def test_one_class_rows_each_have_probability_one():
    result = run("probs", "-o", "json", data=b"[[3], [-2], [1e308]]\n")
    assert json.loads(result.stdout)["rows"] == [[1.0], [1.0], [1.0]]


def test_cross_entropy_of_one_class_is_zero():
    result = run("xent", "-o", "json", "--reduction", "none", "--labels", "0,0", "4;-9")
    assert json.loads(result.stdout)["losses"] == [0.0, 0.0]


# --- numbers at the edges --------------------------------------------------------


def test_a_number_too_large_for_float64_is_infinite_in_text_and_json():
    for data in (b"1e400,0\n", b"[1e400, 0]\n", b"[1" + b"0" * 400 + b", 0]\n"):
        result = run("probs", "-o", "csv", data=data)
        assert result.stdout == "1.0,0.0\n", (data[:20], result.stderr)


def test_plus_inf_entries_share_the_probability_and_minus_inf_masks():
    assert run("probs", "-o", "csv", "1", "inf", "inf").stdout == "0.0,0.5,0.5\n"
    assert run("probs", "-o", "csv", "-inf", "0", "0").stdout == "0.0,0.5,0.5\n"
    result = run("probs", "-o", "csv", "-inf", "-inf")
    assert result.exit_code == 1 and "every score is -inf" in result.stderr


def test_a_huge_temperature_gives_the_uniform_distribution():
    assert (
        run("probs", "-o", "csv", "-t", "1e300", "1", "0", "5").stdout
        == "0.3333333333333333," * 2 + "0.3333333333333333\n"
    )


def test_subnormal_scores_and_temperatures_stay_exact():
    result = run("probs", "-o", "csv", "5e-324", "0")
    assert result.stdout == "0.5,0.5\n"
    result = run("logprobs", "-o", "csv", "-t", "1e-320", "1", "0")
    assert result.stdout == "0.0,-inf\n"


def test_json_writes_a_masked_log_probability_as_null():
    result = run("logprobs", "-o", "json", "0", "-inf")
    assert json.loads(result.stdout)["rows"] == [[0.0, None]]


def test_a_nan_in_one_column_input_is_reported_at_its_line():
    result = run("probs", "-o", "csv", data=b"1\n2\n\nnan\n3\n")
    assert result.exit_code == 1
    assert result.stderr == "softmax: line 4, column 1: value is NaN\n"


# --- input safety --------------------------------------------------------------


def test_json_input_is_parsed_never_evaluated(tmp_path):
    marker = tmp_path / "touched"
    payloads = [
        f'[__import__("pathlib").Path("{marker}").touch()]',
        f'[eval(\'open("{marker}", "w")\')]',
        '[{"__class__": 1}]',
        "[1, 2]; import os",
    ]
    for payload in payloads:
        result = run("probs", "-o", "csv", data=payload.encode() + b"\n")
        assert result.exit_code == 1, (payload, result.stdout)
        assert not marker.exists()


def test_input_and_targets_read_only_the_named_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("scores.csv").write_text("1,2\n")
    for name in ("*.csv", "scores.*", "~/scores.csv", "$HOME/scores.csv"):
        result = run("probs", "-o", "csv", "-i", name)
        assert result.exit_code == 2 and "cannot read" in result.stderr, name
        result = run("xent", "-o", "csv", "-i", "scores.csv", "--targets", name)
        assert result.exit_code == 2 and "cannot read" in result.stderr, name


def test_no_temporary_files_are_left_behind(tmp_path):
    scratch = tmp_path / "tmp"
    work = tmp_path / "work"
    scratch.mkdir()
    work.mkdir()
    (tmp_path / "in.csv").write_text("a,b,y\n1,2,0\n3,nan,1\n")
    env = {**os.environ, "TMPDIR": str(scratch), "TEMP": str(scratch), "TMP": str(scratch)}
    runs = [
        ["probs", "-o", "csv", "-i", "../in.csv"],
        ["probs", "-o", "table", "2", "1", "0.1"],
        ["xent", "-o", "json", "-i", "../in.csv", "--label-column", "y"],
        ["explain", "2", "1", "-o", "json"],
    ]
    for args in runs:
        subprocess.run(
            [sys.executable, "-m", "softmax_cli", *args],
            cwd=work,
            env=env,
            capture_output=True,
            timeout=60,
            check=False,
        )
    assert list(scratch.iterdir()) == []
    assert list(work.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "tmp", "work"]


def test_class_names_are_shown_as_written_in_tables_not_read_as_markup():
    data = b"x[/y],b[bold]\n1,2\n"
    for args in (["probs"], ["explain"]):
        result = run(*args, "-o", "table", data=data)
        assert result.exit_code == 0, result.stderr
        assert "x[/y]" in result.stdout and "b[bold]" in result.stdout
