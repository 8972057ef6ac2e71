"""NDJSON arrays through the C++ kernel: orjson's values, or the Python path.

The kernel reads lines of ``[number, ...]`` and declines anything else.  What
it reads must be bit for bit what orjson reads; what it declines the Python
path reads, so every output, error and exit code is the same with the kernel
off (``SOFTMAX_NO_NATIVE=1``), checked here in one subprocess for all cases.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys

import numpy as np
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import softmax
from typer.testing import CliRunner

from softmax_cli import native
from softmax_cli.cli import app

needs_kernel = pytest.mark.skipif(native.kernel is None, reason="the native kernel is not built")


def bits(values) -> list[bytes]:
    return [struct.pack("<d", value) for value in np.asarray(values, dtype=np.float64).ravel()]


def orjson_table(raw: bytes) -> np.ndarray:
    """The rows orjson reads from NDJSON lines of arrays, blank lines dropped."""
    lines = [line for line in raw.split(b"\n") if line.strip()]
    return np.array(orjson.loads(b"[" + b",".join(lines) + b"]"), dtype=np.float64)


# --- the kernel against orjson ----------------------------------------------------------

digits = st.text("0123456789", min_size=1, max_size=25)
plain_numbers = st.builds(
    lambda sign, whole, fraction, exponent: sign + whole + fraction + exponent,
    st.sampled_from(["", "-"]),
    st.one_of(st.just("0"), st.builds(lambda a, b: a + b, st.sampled_from("123456789"), digits)),
    st.one_of(st.just(""), digits.map(lambda text: "." + text)),
    st.one_of(
        st.just(""),
        st.builds(
            lambda e, sign, value: e + sign + value,
            st.sampled_from("eE"),
            st.sampled_from(["", "+", "-"]),
            st.text("0123456789", min_size=1, max_size=6),
        ),
    ),
)
float_texts = st.floats(allow_nan=False, allow_infinity=False).map(repr)
# Near JSON, not JSON (or not a number): the kernel must decline each.
not_json = st.sampled_from(
    ["01", "-01", "1.", ".5", "-.5", "+1", "1e", "1e+", "--1", "0x1", "1_0", "NaN", "-NaN"]
    + ["Infinity", "-Infinity", "inf", '"1"', "true", "null", "[1]", "{}", "1 2", ""]
)
spaces = st.sampled_from(["", " ", "\t", "  ", "\r"])
json_numbers = st.one_of(plain_numbers, float_texts)


@st.composite
def ndjson_chunks(draw, numbers: st.SearchStrategy[str] = json_numbers) -> bytes:
    width = draw(st.integers(1, 5))
    lines = []
    for _ in range(draw(st.integers(1, 6))):
        if draw(st.integers(0, 9)) == 0:
            lines.append(draw(st.sampled_from(["", " ", "\t\r", "\x0b", "\x0c "])))
            continue
        count = width if draw(st.integers(0, 9)) else draw(st.integers(1, 6))
        values = [draw(numbers) for _ in range(count)]
        gap = draw(spaces)
        body = ",".join(gap + value + draw(spaces) for value in values)
        lines.append(draw(spaces) + "[" + body + "]" + draw(spaces))
    ending = draw(st.sampled_from(["\n", "\r\n", ""]))
    return (ending.join(lines) + ending).encode()


def agrees_with_orjson(raw: bytes, width: int | None = None) -> None:
    table = native.parse_ndjson(raw, width)
    if table is None:
        return
    expected = orjson_table(raw)  # raises if orjson does not read what the kernel read
    assert table.shape == expected.shape
    assert bits(table) == bits(expected), raw


@needs_kernel
@given(ndjson_chunks())
def test_a_chunk_is_read_as_orjson_reads_it_or_declined(raw):
    agrees_with_orjson(raw)


@needs_kernel
@given(ndjson_chunks(st.one_of(json_numbers, not_json)))
def test_text_near_json_numbers_is_declined_or_read_as_orjson_reads_it(raw):
    agrees_with_orjson(raw)


@needs_kernel
def test_plain_ndjson_is_read_not_declined():
    rng = np.random.default_rng(11)
    doubles = rng.integers(0, 2**64, 60_000, dtype=np.uint64).view(np.float64)
    doubles = doubles[np.isfinite(doubles)]
    texts = ["-0", "0", "-0.0", "0e0", "-0E+0", "1E5", "1e+5", "1e-5", "4.9e-324", "2.5e-324"]
    texts += ["1.7976931348623157e308", "2.2250738585072014e-308", "0e-99999", "0.1e1"]
    texts += [repr(value) for value in doubles.tolist()]
    texts += [f"{value:.17e}".replace("e", "E") for value in doubles[:5000].tolist()]
    texts += [f"{value:.25f}" for value in rng.standard_normal(5000).tolist()]
    texts += [str(value) for value in rng.integers(-(10**18) + 1, 10**18, 5000).tolist()]
    texts = texts[: len(texts) // 4 * 4]
    raw = "".join(
        " [" + ", ".join(texts[i : i + 4]) + "] \r\n" + ("\n" if i % 40 == 0 else "")
        for i in range(0, len(texts), 4)
    ).encode()
    table = native.parse_ndjson(raw, 4)
    assert table is not None
    assert bits(table) == bits(orjson_table(raw))
    assert bits(table[0]) == bits([0.0, 0.0, -0.0, 0.0])  # JSON's integer -0 is 0


@needs_kernel
@pytest.mark.parametrize(
    "raw",
    [
        b"[1,01]\n",
        b"[1,1.]\n",
        b"[1,.5]\n",
        b"[1,+1]\n",
        b"[1,1e400]\n",  # too large for a float64: the Python path decides
        b"[1,-1e400]\n",
        b"[1,1e-400]\n",  # underflows to zero
        b"[1,1.7976931348623159e308]\n",
        b"[1,123456789012345678901]\n",  # a long integer: orjson reads it its own way
        b"[1,NaN]\n",
        b"[1,-Infinity]\n",
        b'[1,"2"]\n',
        b"[1,null]\n",
        b"[1,true]\n",
        b"[1,2,]\n",
        b"[,1]\n",
        b"[1 2]\n",
        b"[]\n",
        b"[[1,2]]\n",
        b'{"a":[1,2]}\n',
        b"[1,2] x\n",
        b"[1,2],[3,4]\n",
        b"[1,2\n",
        b"1,2\n",
        b"\x0c[1,2]\n",
        b"[1,2]\n[3]\n",
        b"[1,2]\n[3,4,5]\n",
        b"[1,\xc3\xa9]\n",
        b"\n \n",
    ],
)
def test_anything_but_rows_of_json_numbers_is_declined(raw):
    assert native.parse_ndjson(raw, None) is None


@needs_kernel
def test_a_width_given_is_the_width_every_row_must_have():
    assert native.parse_ndjson(b"[1,2]\n", 3) is None
    assert native.parse_ndjson(b"[1,2,3,4]\n", 3) is None
    assert native.parse_ndjson(b"[1,2,3]\n", 3).tolist() == [[1, 2, 3]]


# --- whole runs, the same with the kernel off -------------------------------------------


def rows_text(rows: np.ndarray) -> bytes:
    return b"".join(
        b"[" + b",".join(repr(v).encode() for v in row) + b"]\n" for row in rows.tolist()
    )


def _many_lines() -> tuple[np.ndarray, list[bytes]]:
    """Enough rows for several chunks, so later chunks run in other threads."""
    rows = np.random.default_rng(12).standard_normal((40_000, 6)) * 4
    return rows, rows_text(rows).splitlines(keepends=True)


ROWS, LINES = _many_lines()
LATE = 30_000  # a line in a later chunk than the first


def late(bad: bytes) -> bytes:
    return b"".join(LINES[:LATE]) + bad + b"\n" + b"".join(LINES[LATE:])


HOSTILE: dict[str, bytes] = {
    "minus zero and exponents": b"[-0,1E5]\n[1e+5,-0.0]\n[0e0,2.5e-1]\n",
    "spaces and tabs": b" [ 1 ,\t2 ] \n\t[3,4]\t\n",
    "CRLF": b"[1,2]\r\n[3,4]\r\n",
    "blank lines": b"\n[1,2]\n \n\x0b\n[3,4]\n\n",
    "leading zero": b"[1,2]\n[01,2]\n",
    "1.": b"[1,2]\n[1.,2]\n",
    ".5": b"[1,2]\n[.5,2]\n",
    "plus sign": b"[1,2]\n[+1,2]\n",
    "NaN": b"[1,2]\n[NaN,2]\n",
    "Infinity": b"[1,2]\n[-Infinity,2]\n",
    "huge exponent": b"[1,2]\n[1e400,2]\n",
    "huge negative": b"[1,2]\n[-1e99999,2]\n",
    "tiny exponent": b"[1,2]\n[1e-400,2]\n",
    "long integer": b"[1,2]\n[123456789012345678901234567890,2]\n",
    "string": b'[1,2]\n["3",2]\n',
    "null": b"[1,2]\n[null,2]\n",
    "trailing garbage": b"[1,2]\n[3,4] x\n",
    "trailing comma": b"[1,2]\n[3,4,]\n",
    "two arrays": b"[1,2]\n[3,4] [5,6]\n",
    "empty row": b"[1,2]\n[]\n",
    "rows on a line": b"[[1,2],[3,4]]\n[5,6]\n",
    "short row on a line of rows": b"[[1,2],[3]]\n",
    "object": b'[1,2]\n{"a":1}\n',
    "unclosed": b"[1,2]\n[3,4\n",
    "form feed": b"[1,2]\n\x0c[3,4]\n",
    "late wrong width": late(b"[1,2,3]"),
    "late bad number": late(b"[1,2,3,4,5,01]"),
    "late NaN": late(b"[1,2,3,4,5,NaN]"),
    "late garbage": late(b"[1,2,3,4,5,6] x"),
    "late not UTF-8": late(b'[1,2,3,4,5,"\xff"]'),
    "late rows on a line": late(b"[[1,2,3,4,5,6],[1,2,3]]"),
}
ARGS = {
    "probs": ["probs", "-o", "ndjson"],
    "logprobs two jobs": ["logprobs", "-o", "csv", "--jobs", "2"],
    "one job": ["probs", "-o", "ndjson", "--jobs", "1"],
}
CASES = [(args, raw) for args in ARGS.values() for raw in HOSTILE.values()]

# Runs each case in one process through the CLI, as the in-process tests do.
_RUN_ALL = """
import json, sys
from typer.testing import CliRunner
from softmax_cli.cli import app
runner = CliRunner()
cases = json.load(sys.stdin)
results = []
for args, raw in cases:
    done = runner.invoke(app, args, input=raw.encode("latin-1"))
    results.append([done.exit_code, done.stdout_bytes.decode("latin-1"), done.stderr])
json.dump(results, sys.stdout)
"""


def run_here(args: list[str], raw: bytes) -> list:
    done = CliRunner().invoke(app, args, input=raw)
    return [done.exit_code, done.stdout_bytes.decode("latin-1"), done.stderr]


@pytest.fixture(scope="module")
def without_kernel() -> list:
    cases = [(args, raw.decode("latin-1")) for args, raw in CASES]
    done = subprocess.run(
        [sys.executable, "-c", _RUN_ALL],
        input=json.dumps(cases).encode(),
        capture_output=True,
        timeout=300,
        env={**os.environ, "SOFTMAX_NO_NATIVE": "1"},
        check=True,
    )
    return json.loads(done.stdout)


@pytest.mark.parametrize("args", ARGS.values(), ids=ARGS.keys())
@pytest.mark.parametrize("name", HOSTILE.keys())
def test_output_errors_and_exit_codes_are_the_same_without_the_kernel(without_kernel, args, name):
    raw = HOSTILE[name]
    expected = without_kernel[CASES.index((args, raw))]
    got = run_here(args, raw)
    assert got == expected
    code, _, err = got
    assert "Traceback" not in err
    if code:
        assert code == 1 and err.count("\n") == 1, err  # one line, located


@pytest.mark.parametrize("args", ARGS.values(), ids=ARGS.keys())
def test_rows_before_a_late_bad_line_are_written_and_the_line_named(args):
    code, out, err = run_here(args, HOSTILE["late wrong width"])
    assert code == 1
    assert out.count("\n") == LATE
    assert f"line {LATE + 1} has 3 values, expected 6" in err


def test_json_numbers_read_right_through_the_cli():
    code, out, _ = run_here(ARGS["probs"], HOSTILE["minus zero and exponents"])
    assert code == 0
    expected = softmax([[0.0, 1e5], [1e5, 0.0], [0.0, 0.25]], axis=1)
    np.testing.assert_allclose([json.loads(line) for line in out.splitlines()], expected)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_many_ndjson_rows_are_right_with_any_job_count(jobs):
    code, out, err = run_here(["probs", "-o", "ndjson", "--jobs", jobs], b"".join(LINES))
    assert (code, err) == (0, "")
    got = np.array([json.loads(line) for line in out.splitlines()])
    np.testing.assert_allclose(got, softmax(ROWS, axis=1), rtol=1e-13)


@pytest.mark.parametrize("no_native", ["", "1"])
@pytest.mark.parametrize(
    "second", [b"[3,4],[5,6]", b"[3,4] [5,6]", b"[3,4]],[[5,6]"], ids=["comma", "space", "nested"]
)
def test_a_line_of_two_arrays_is_invalid_json_not_two_rows(monkeypatch, no_native, second):
    # Joined with the other lines, `[3,4],[5,6]` read as two rows and exited 0.
    monkeypatch.setenv("SOFTMAX_NO_NATIVE", no_native)
    done = subprocess.run(
        [sys.executable, "-m", "softmax_cli", "probs", "--jobs", "1"],
        input=b"[1,2]\n" + second + b"\n[7,8]\n",
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.decode().startswith("softmax: line 2")
    assert done.stdout.count(b"\n") == 1  # the row before it
    assert b"Traceback" not in done.stderr
