"""The C++ kernel and ``--jobs``: the same bytes, the same errors, as the Python path.

The kernel's numbers are compared with orjson's (what csv and ndjson output is
written with) value by value, and its parsing with Python's ``float``, bit for
bit.  Whole runs are compared between the kernel turned off
(``SOFTMAX_NO_NATIVE=1``) and on, with one job and with two.
"""

from __future__ import annotations

import os
import select
import signal
import struct
import subprocess
import sys
import threading

import numpy as np
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from softmax_cli import native
from softmax_cli.readers import CHUNK_BYTES

COMMAND = [sys.executable, "-m", "softmax_cli"]
needs_kernel = pytest.mark.skipif(native.kernel is None, reason="the native kernel is not built")

EDGES = [
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.1,
    1e-5,
    9.999999999999999e-6,
    np.nextafter(1e-5, 0),
    1e-6,
    1.5e-7,
    1e15,
    9007199254740993.0,
    9999999999999998.0,
    1e16,
    np.nextafter(1e16, 0),
    1.2345678901234567e17,
    1e22,
    1e100,
    1.7976931348623157e308,
    2.2250738585072014e-308,
    2.225073858507201e-308,
    5e-324,
    -5e-324,
    1e-320,
    123456.789,
]


def orjson_lines(values: np.ndarray, separator: str) -> bytes:
    """Each value as orjson writes it alone, joined by hand."""
    return b"".join(
        separator.encode().join(orjson.dumps(value) for value in row) + b"\n"
        for row in values.tolist()
    )


def random_doubles(count: int, seed: int) -> np.ndarray:
    """Every exponent and sign: random bit patterns, the non-finite ones dropped."""
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 2**64, count, dtype=np.uint64, endpoint=False).view(np.float64)
    return values[np.isfinite(values)]


@needs_kernel
def test_numbers_are_written_as_orjson_writes_them_edges():
    values = np.array([EDGES + [-value for value in EDGES]]).reshape(-1, 2)
    assert native.format_rows(values, ",") == orjson_lines(values, ",")


@needs_kernel
def test_numbers_are_written_as_orjson_writes_them_random_bits():
    values = random_doubles(400_000, 1)
    rng = np.random.default_rng(2)
    # Probabilities and log-probabilities: what the commands write most.
    values = np.concatenate([values, rng.random(200_000), np.log(rng.random(200_000))])
    values = values[: values.size // 4 * 4].reshape(-1, 4)
    flat = orjson.dumps(values.ravel(), option=orjson.OPT_SERIALIZE_NUMPY)[1:-1].split(b",")
    expected = b"".join(b"\t".join(flat[i : i + 4]) + b"\n" for i in range(0, len(flat), 4))
    assert native.format_rows(values, "\t") == expected


@needs_kernel
def test_ndjson_rows_are_orjson_arrays():
    values = np.array([[0.25, -0.0], [1e16, 5e-324]])
    assert native.format_rows(values, ",", b"[", b"]\n") == b"".join(
        orjson.dumps(row) + b"\n" for row in values.tolist()
    )


@needs_kernel
@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_a_non_finite_value_is_left_to_python(bad):
    assert native.format_rows(np.array([[1.0, bad]]), ",") is None


def bits(values) -> list[bytes]:
    return [struct.pack("<d", value) for value in np.asarray(values, dtype=np.float64).ravel()]


@needs_kernel
@needs_kernel
@given(st.binary(max_size=5000), st.integers(0, 40))
def test_lines_are_counted_as_bytes_count_counts_them(data, shift):
    # Every length and alignment around the 16-byte blocks and the 255-block flushes.
    data = data.replace(b"\x00", b"\n")[shift:]
    assert native.kernel.count_lines(data) == data.count(b"\n")


@needs_kernel
def test_lines_are_counted_across_many_full_blocks():
    data = (b"\n" * 16 * 255 + b"x\n" * 7) * 5 + b"\n" * 15
    assert native.kernel.count_lines(data) == data.count(b"\n")


@needs_kernel
def test_fields_read_as_pythons_float_reads_them():
    rng = np.random.default_rng(3)
    doubles = random_doubles(30_000, 4)
    texts = [repr(value) for value in doubles.tolist()]
    texts += [f"{value:.17e}".replace("e", "E") for value in doubles[:5000]]
    texts += [f"{value:.3f}" for value in rng.standard_normal(5000)]
    texts += ["-0", "-0.0", "0", "01", "1.", ".5", "-.5", "4.9e-324", "2.5e-324", "1e+5"]
    texts += [str(value) for value in rng.integers(-(10**18), 10**18, 1000)]
    texts = texts[: len(texts) // 3 * 3]
    raw = "".join(" , ".join(texts[i : i + 3]) + "\r\n" for i in range(0, len(texts), 3))
    table = native.parse_table(raw.encode(), ",", 3)
    assert table is not None
    assert bits(table) == bits([float(text) for text in texts])


@needs_kernel
@pytest.mark.parametrize(
    "raw",
    [
        b"1,inf\n",
        b"1,nan\n",
        b"1,-inf\n",
        b"1,+1\n",
        b"1,1_0\n",
        b"1,1e-400\n",  # Python reads 0.0: left to it
        b"1,1e400\n",
        b"1,\n",
        b"1,2,3\n",
        b"1\n",
        b'1,"2"\n',
        b"1,2\n\n3,4\n",
        b"1,0x10\n",
        b"1,1e\n",
        b"1,-\n",
        b"1,2\x0b\n",
        b"1,\xc3\xa9\n",
    ],
)
def test_anything_but_plain_rows_of_numbers_is_left_to_python(raw):
    assert native.parse_table(raw, ",", 2) is None


@needs_kernel
def test_blank_lines_at_the_end_and_runs_of_spaces():
    assert native.parse_table(b"1 2\n  3\t 4 \n\n \n", None, 2).tolist() == [[1, 2], [3, 4]]


def run(args: list[str], stdin: bytes, **env: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*COMMAND, *args],
        input=stdin,
        capture_output=True,
        timeout=120,
        env={**os.environ, **env},
    )


def many_rows(rows: int, width: int, seed: int) -> tuple[np.ndarray, bytes]:
    rng = np.random.default_rng(seed)
    scores = rng.standard_normal((rows, width)) * 5
    return scores, "".join(
        ",".join(repr(v) for v in row) + "\n" for row in scores.tolist()
    ).encode()


@pytest.fixture(scope="module")
def big() -> tuple[np.ndarray, bytes]:
    # Several chunks, so blocks run side by side.
    return many_rows(30_000, 7, 5)


@pytest.mark.parametrize("command", ["probs", "logprobs"])
@pytest.mark.parametrize("output", ["csv", "tsv", "ndjson"])
def test_jobs_and_kernel_write_the_same_bytes(big, command, output):
    scores, raw = big
    plain = run([command, "-o", output, "--jobs", "1"], raw, SOFTMAX_NO_NATIVE="1")
    assert plain.returncode == 0 and plain.stderr == b""
    for jobs in ("1", "2", "3"):
        done = run([command, "-o", output, "--jobs", jobs], raw)
        assert done.returncode == 0 and done.stderr == b""
        assert done.stdout == plain.stdout, (jobs, output)
    # And the numbers are right, checked against SciPy.
    from scipy.special import log_softmax, softmax

    expected = (softmax if command == "probs" else log_softmax)(scores, axis=1)
    if output == "ndjson":
        got = np.array([orjson.loads(line) for line in plain.stdout.splitlines()])
    else:
        got = np.loadtxt(plain.stdout.splitlines(), delimiter="," if output == "csv" else "\t")
    # SciPy's log_softmax is off by up to an ulp of log-sum-exp (~1e-16 absolute) for the
    # top class, where ours keeps relative accuracy; allow SciPy that much.
    atol = 1e-15 if command == "logprobs" else 1e-300
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=atol)


@pytest.mark.parametrize("bad", [b"1,x,3,4,5,6,7", b"1,2,3", b"1,nan,3,4,5,6,7"])
def test_a_bad_line_late_in_the_input_stops_every_job_count_alike(big, bad):
    _, raw = big
    lines = raw.splitlines(keepends=True)
    at = 25_000  # in a later chunk than the first
    raw = b"".join(lines[:at]) + bad + b"\n" + b"".join(lines[at:])
    plain = run(["probs", "--jobs", "1"], raw, SOFTMAX_NO_NATIVE="1")
    assert plain.returncode == 1
    assert plain.stdout.count(b"\n") == at  # every row before the bad line
    assert f"line {at + 1}".encode() in plain.stderr and plain.stderr.count(b"\n") == 1
    for jobs in ("1", "2"):
        done = run(["probs", "--jobs", jobs], raw)
        assert (done.returncode, done.stdout, done.stderr) == (1, plain.stdout, plain.stderr)


def test_bytes_that_are_not_utf8_late_in_the_input_come_after_the_rows_before(big):
    _, raw = big
    lines = raw.splitlines(keepends=True)
    raw = b"".join(lines[:20_000]) + b"1,\xff\n" + b"".join(lines[20_000:])
    plain = run(["probs", "--jobs", "1"], raw, SOFTMAX_NO_NATIVE="1")
    done = run(["probs", "--jobs", "2"], raw)
    assert plain.returncode == done.returncode == 1
    assert done.stdout == plain.stdout and done.stdout.count(b"\n") == 20_000
    assert done.stderr == plain.stderr


def test_header_and_label_column_with_jobs(big):
    _, raw = big
    header = b"a,b,c,d,e,f,y\n"
    body = b"".join(line.rsplit(b",", 1)[0] + b",1\n" for line in raw.splitlines())
    plain = run(
        ["probs", "--label-column", "y", "--jobs", "1"], header + body, SOFTMAX_NO_NATIVE="1"
    )
    done = run(["probs", "--label-column", "y", "--jobs", "2"], header + body)
    assert plain.returncode == done.returncode == 0
    assert done.stdout == plain.stdout and done.stdout.startswith(b"a,b,c,d,e,f\n")


def test_first_rows_come_out_with_two_jobs_before_the_input_ends():
    _, raw = many_rows(20_000, 4, 6)
    process = subprocess.Popen(
        [*COMMAND, "probs", "--jobs", "2"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    # Several blocks' worth from another thread, so the threads are at work; stdin stays open.
    # Another thread drains stdout, so neither pipe can fill and block the other side.
    feeder = threading.Thread(target=lambda: (process.stdin.write(raw), process.stdin.flush()))
    feeder.start()
    try:
        ready, _, _ = select.select([process.stdout], [], [], 60)
        assert ready, "no output while stdin was still open"
        assert process.stdout.readline().count(b",") == 3
        assert process.poll() is None
    finally:
        chunks: list[bytes] = []
        drain = threading.Thread(target=lambda: chunks.append(process.stdout.read()))
        drain.start()
        feeder.join(timeout=60)
        process.stdin.close()
        drain.join(timeout=60)
        process.wait(timeout=60)
    rest = b"".join(chunks)
    assert process.returncode == 0
    assert rest.count(b"\n") == 20_000 - 1


@pytest.mark.parametrize("value", ["-1", "x", "1.5", "257"])
def test_a_bad_jobs_count_is_a_usage_error(value):
    done = run(["probs", "--jobs", value, "1", "2"], b"")
    assert done.returncode == 2
    first, *rest = done.stderr.splitlines()
    assert b"--jobs: must be a whole number from 0 to 256" in first
    assert rest == [b"Try 'softmax probs --help' for help."]
    assert b"Traceback" not in done.stderr


def test_the_kernel_can_be_turned_off():
    code = "from softmax_cli import native; print(native.kernel is None)"
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        env={**os.environ, "SOFTMAX_NO_NATIVE": "1"},
        timeout=60,
    )
    assert done.stdout == b"True\n"


def test_an_interrupt_with_blocks_in_flight_exits_130_quietly():
    _, raw = many_rows(20_000, 4, 8)
    process = subprocess.Popen(
        [*COMMAND, "probs", "--jobs", "2"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )

    def feed() -> None:
        try:
            process.stdin.write(raw)
            process.stdin.flush()
        except BrokenPipeError:
            pass  # it stopped reading: the interrupt came first

    feeder = threading.Thread(target=feed)
    feeder.start()
    ready, _, _ = select.select([process.stdout], [], [], 60)
    assert ready
    process.stdout.read1(1 << 16)
    process.send_signal(signal.SIGINT)
    process.stdout.read()  # a write under way is finished before the signal acts
    err = process.stderr.read()
    process.wait(timeout=60)
    feeder.join()
    assert process.returncode == 130
    assert b"Traceback" not in err and b"Fatal" not in err


def test_rows_of_full_blocks_come_out_while_the_producer_pauses():
    # Exactly four chunks of whole lines: every chunk read is full-sized, none is short, so
    # only the input's own readiness can tell that reading next would wait for the producer.
    line = b"1.25,-0.5,3.0,0.125," + b"0" * 43 + b"\n"  # 64 bytes
    assert len(line) == 64
    written = line * (4 * CHUNK_BYTES // 64)
    process = subprocess.Popen(
        [*COMMAND, "probs", "--jobs", "2"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    feeder = threading.Thread(target=lambda: (process.stdin.write(written), process.stdin.flush()))
    feeder.start()
    seen = 0
    try:
        # stdin stays open: every row written so far must come out before the input goes on.
        while seen < len(written) // 64:
            ready, _, _ = select.select([process.stdout], [], [], 30)
            assert ready, f"{seen} of {len(written) // 64} rows out while the producer paused"
            seen += process.stdout.read1(1 << 16).count(b"\n")
        assert process.poll() is None
    finally:
        feeder.join(timeout=60)
        process.stdin.close()
        rest = process.stdout.read()
        process.wait(timeout=60)
    assert process.returncode == 0
    assert seen + rest.count(b"\n") == len(written) // 64
