"""Streaming keeps memory bounded: millions of rows in, peak RSS under 150 MB.

Slow (a few hundred MB through a pipe); run with ``python -m pytest -m slow``.
"""

from __future__ import annotations

import math
import subprocess
import sys
import threading

import numpy as np
import orjson
import pytest

ROWS = 3_000_000
WIDTH = 10
LIMIT_MB = 150

# A fresh, small process starts softmax and reports its peak RSS; a child forked
# from pytest itself would be charged with pytest's memory too.
WRAPPER = """
import os, resource, sys
status = os.waitpid(os.posix_spawnp(sys.argv[1], sys.argv[1:], os.environ), 0)[1]
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
sys.stderr.write(f"{os.waitstatus_to_exitcode(status)} {peak}\\n")
"""


def feed(stdin, first: list[list[float]]) -> None:
    rng = np.random.default_rng(150)
    step = 100_000
    try:
        for start in range(0, ROWS, step):
            block = rng.normal(0.0, 3.0, (step, WIDTH))
            if start == 0:
                first.extend(block[:3].tolist())
            text = orjson.dumps(block, option=orjson.OPT_SERIALIZE_NUMPY)[2:-2]
            stdin.write(text.replace(b"],[", b"\n") + b"\n")
    finally:
        stdin.close()


@pytest.mark.slow
def test_peak_memory_stays_bounded_over_millions_of_rows():
    command = [sys.executable, "-m", "softmax_cli", "probs", "-o", "csv"]
    process = subprocess.Popen(
        [sys.executable, "-c", WRAPPER, *command],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    first: list[list[float]] = []
    feeder = threading.Thread(target=feed, args=(process.stdin, first))
    feeder.start()
    head = process.stdout.readline()
    lines = 1
    while chunk := process.stdout.read(1 << 20):
        lines += chunk.count(b"\n")
    feeder.join()
    status, peak_kib = process.stderr.read().decode().split()[-2:]
    process.wait(timeout=60)

    assert status == "0"
    assert lines == ROWS
    exps = [math.exp(x - max(first[0])) for x in first[0]]
    expected = [e / sum(exps) for e in exps]
    assert [float(v) for v in head.split(b",")] == pytest.approx(expected, rel=1e-14)
    peak_mb = int(peak_kib) * 1024 / 1e6
    assert peak_mb <= LIMIT_MB, f"peak RSS {peak_mb:.0f} MB"


VOCAB_ROWS = 150
VOCAB_WIDTH = 128_000


def feed_vocabulary_rows(stdin, first: list[list[float]]) -> None:
    rng = np.random.default_rng(151)
    try:
        for start in range(0, VOCAB_ROWS, 10):
            block = np.round(rng.normal(0.0, 3.0, (10, VOCAB_WIDTH)), 6)
            if start == 0:
                first.extend(block[:1].tolist())
            text = orjson.dumps(block, option=orjson.OPT_SERIALIZE_NUMPY)[2:-2]
            stdin.write(text.replace(b"],[", b"\n") + b"\n")
    finally:
        stdin.close()


@pytest.mark.slow
@pytest.mark.parametrize(
    "command", [["top", "-k", "5"], ["sample", "-n", "3", "--seed", "1", "--top-p", "0.9"]]
)
def test_vocabulary_sized_rows_stream_in_bounded_memory(command):
    argv = [sys.executable, "-m", "softmax_cli", *command, "-o", "csv"]
    process = subprocess.Popen(
        [sys.executable, "-c", WRAPPER, *argv],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    first: list[list[float]] = []
    feeder = threading.Thread(target=feed_vocabulary_rows, args=(process.stdin, first))
    feeder.start()
    output = process.stdout.read()
    feeder.join()
    status, peak_kib = process.stderr.read().decode().split()[-2:]
    process.wait(timeout=60)

    assert status == "0"
    lines = output.decode().splitlines()
    if command[0] == "top":
        assert len(lines) == 1 + 5 * VOCAB_ROWS
        assert int(lines[1].split(",")[2]) == int(np.argmax(first[0]))
    else:
        assert len(lines) == VOCAB_ROWS
    peak_mb = int(peak_kib) * 1024 / 1e6
    assert peak_mb <= LIMIT_MB, f"peak RSS {peak_mb:.0f} MB"
