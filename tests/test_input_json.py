"""JSON input: documents stream whatever their layout, errors keep the rows before
them, and NDJSON objects give their scores under ``--key``."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading

import numpy as np
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy.special import softmax
from typer.testing import CliRunner

from softmax_cli.cli import app
from softmax_cli.errors import DataError
from softmax_cli.readers import open_scores, text

runner = CliRunner()
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(*args: str, stdin: bytes | str):
    return runner.invoke(app, list(args), input=stdin)


def csv_rows(output: str) -> np.ndarray:
    return np.array([[float(v) for v in line.split(",")] for line in output.splitlines()])


def ndjson_rows(output: str) -> list[list[float]]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


@pytest.fixture
def short_lines(monkeypatch):
    """A 4 KiB line limit, so a document "longer than a line" is small enough for CliRunner."""
    monkeypatch.setattr(text, "MAX_LINE_BYTES", 4096)


def compact(rows) -> bytes:
    return json.dumps(rows, separators=(",", ":")).encode()


# --- a document on one line of any length ----------------------------------------------


def test_a_one_line_document_longer_than_a_line_streams(short_lines):
    rows = np.random.default_rng(1).normal(0, 3, (10_000, 5)).tolist()  # past a first read
    result = run("probs", "-o", "csv", stdin=compact(rows))
    assert result.exit_code == 0, result.stderr
    assert_allclose(csv_rows(result.stdout), softmax(rows, axis=1), rtol=1e-13)


def test_brackets_and_escapes_inside_strings_do_not_end_a_row(short_lines):
    rows = [["-inf", 1.0, 2.0]] + [[float(i), 0.0, 1.0] for i in range(600)]
    raw = compact(rows)
    result = run("probs", "-o", "csv", stdin=raw)
    assert result.exit_code == 0, result.stderr
    expected = softmax(np.array(rows, dtype=float), axis=1)
    assert_allclose(csv_rows(result.stdout), expected, rtol=1e-13)

    bad = raw[:-1] + b',[1,"\\"]],[",2]]'
    result = run("probs", "-o", "csv", stdin=bad)
    assert result.exit_code == 1
    assert len(result.stdout.splitlines()) == len(rows)
    assert 'column 2: "\\"]],[" is not a number (row 602 on its line)' in result.stderr


def test_a_one_line_document_streams_in_blocks_as_it_is_read():
    rows = [[float(i), 1.0, -1.0] for i in range(3000)]
    source = open_scores(io.BytesIO(compact(rows)), chunk_bytes=4096)
    blocks = list(source.blocks)
    assert len(blocks) > 5
    assert_allclose(np.concatenate([b.values for b in blocks]), rows)
    assert blocks[4].line_of(0) == 1


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 7, 64])
def test_strings_split_across_reads_keep_their_place(chunk):
    raw = b'[["-inf", 1], ["\\u002d1", 2], [3, "1e\\u0030"]]'
    source = open_scores(io.BytesIO(raw), chunk_bytes=chunk)
    values = np.concatenate([block.values for block in source.blocks])
    assert_allclose(values, [[-np.inf, 1], [-1, 2], [3, 1]])

    raw = b'[[1, 2], ["\\\\\\"]],[", 3], [4, 5]]'
    source = open_scores(io.BytesIO(raw), chunk_bytes=chunk)
    blocks = []
    with pytest.raises(DataError) as caught:
        blocks.extend(source.blocks)
    assert_allclose(np.concatenate([block.values for block in blocks]), [[1, 2]])
    expected = 'line 1, column 1: "\\\\\\"]],[" is not a number (row 2 on its line)'
    assert str(caught.value) == expected


def test_a_long_first_line_followed_by_more_lines_is_ndjson():
    first = compact([[1.0, 2.0]] * 40_000)  # longer than the first look at the input
    result = run("probs", "-o", "csv", stdin=first + b"\n[3, 4]\n\n[[5, 6]]\n")
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout.splitlines()) == 40_002


@pytest.mark.parametrize("chunk", [3, 7, 8, 64])
def test_ndjson_after_a_first_line_read_in_pieces_is_not_lost(chunk):
    source = open_scores(io.BytesIO(b"[[1,2]]\n[3,4]\n[[5,6]]"), chunk_bytes=chunk)
    values = np.concatenate([block.values for block in source.blocks])
    assert_allclose(values, [[1, 2], [3, 4], [5, 6]])


def _feed_document(stdin, rows: int, width: int, first: list) -> None:
    rng = np.random.default_rng(7)
    step = 50_000
    try:
        stdin.write(b"[")
        for start in range(0, rows, step):
            block = rng.normal(0.0, 3.0, (step, width))
            if start == 0:
                first.extend(block[0].tolist())
            body = orjson.dumps(block, option=orjson.OPT_SERIALIZE_NUMPY)[1:-1]
            stdin.write((b"," if start else b"") + body)
        stdin.write(b"]")
    finally:
        stdin.close()


WRAPPER = """
import os, resource, sys
status = os.waitpid(os.posix_spawnp(sys.argv[1], sys.argv[1:], os.environ), 0)[1]
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
sys.stderr.write(f"{os.waitstatus_to_exitcode(status)} {peak}\\n")
"""


def _environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": ROOT}


@pytest.mark.slow
def test_a_100_mb_document_on_one_line_streams_in_bounded_memory():
    rows, width = 550_000, 10  # about 105 MB of JSON on one line
    process = subprocess.Popen(
        [sys.executable, "-c", WRAPPER, sys.executable, "-m", "softmax_cli", "-o", "csv"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_environment(),
    )
    first: list[float] = []
    feeder = threading.Thread(target=_feed_document, args=(process.stdin, rows, width, first))
    feeder.start()
    head = process.stdout.readline()
    lines = 1
    while chunk := process.stdout.read(1 << 20):
        lines += chunk.count(b"\n")
    feeder.join()
    status, peak_kib = process.stderr.read().decode().split()[-2:]
    process.wait(timeout=60)
    assert status == "0"
    assert lines == rows
    assert_allclose([float(v) for v in head.split(b",")], softmax(first), rtol=1e-14)
    assert int(peak_kib) * 1024 / 1e6 <= 150


def _first_line_within(process: subprocess.Popen, seconds: float) -> bytes | None:
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(process.stdout.readline()), daemon=True)
    reader.start()
    reader.join(seconds)
    return got[0] if got else None


def test_rows_of_a_one_line_document_come_out_before_it_ends():
    process = subprocess.Popen(
        [sys.executable, "-m", "softmax_cli", "-o", "csv"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_environment(),
    )
    try:
        process.stdin.write(b"[" + b"[1,2]," * 50_000)  # no newline, not closed
        process.stdin.flush()
        head = _first_line_within(process, 10)
        assert head is not None and head.startswith(b"0.2689414213699951,")
    finally:
        process.kill()
        process.wait()


# --- nesting deeper than a row ---------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"[[[1]]]", "line 1, column 3: an array nested deeper than a row"),
        (b"[\n [1, 2],\n [[3], 4]\n]\n", "line 3, column 3: an array nested deeper than a row"),
        (b"[1, 2]\n[3, [[4]]]\n", "line 2, column 6: an array nested deeper than a row"),
        (b"[" * 3000 + b"]" * 3000, "line 1, column 3: an array nested deeper than a row"),
        (b"[" * 3000 + b"\n", "line 1, column 3: an array nested deeper than a row"),
    ],
)
def test_nesting_deeper_than_a_row_is_a_located_error(raw, message):
    result = run("probs", "-o", "csv", stdin=raw)
    assert result.exit_code == 1
    assert result.stderr == f"softmax: {message}\n"


def test_json_output_is_closed_after_the_rows_before_a_nested_row():
    result = run("probs", "-o", "json", stdin=b"[[1,2],[[3,4]]]")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["rows"] == [softmax([1, 2]).tolist()]
    assert "column 9: an array nested deeper than a row" in result.stderr


# --- a row that never closes -----------------------------------------------------------


def test_a_document_cut_short_names_the_row_left_open():
    result = run("probs", "-o", "csv", stdin=b"[[1,2],[3")
    assert result.exit_code == 1
    assert_allclose(csv_rows(result.stdout), [softmax([1, 2])])
    assert result.stderr == (
        "softmax: line 1: invalid JSON (it ends too early: "
        "the row at line 1, column 8 is not closed)\n"
    )


def test_a_row_longer_than_the_line_limit_is_an_error(short_lines):
    result = run("probs", "-o", "csv", stdin=b"[[1,2],[" + b"1," * 5000)
    assert result.exit_code == 1
    assert_allclose(csv_rows(result.stdout), [softmax([1, 2])])
    assert "line 1, column 8: a row that starts here is longer than" in result.stderr


def _ends_within(command: str, seconds: float) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-c", command],
        capture_output=True,
        timeout=seconds,
        env=_environment(),
    )


def test_endless_opening_brackets_end_with_an_error():
    done = _ends_within(f"yes '[' | {sys.executable} -m softmax_cli", 20)
    assert done.returncode == 1
    assert done.stderr.decode() == "softmax: line 3, column 1: an array nested deeper than a row\n"


@pytest.mark.slow
def test_an_endless_row_ends_at_the_line_limit_in_bounded_memory():
    command = (
        f"{{ printf '[['; yes 1,; }} | {sys.executable} -c '{WRAPPER}' "
        f"{sys.executable} -m softmax_cli"
    )
    done = _ends_within(command, 30)
    lines = done.stderr.decode().splitlines()
    assert "line 1, column 2: a row that starts here is longer than 64 MiB" in lines[0]
    status, peak_kib = lines[-1].split()
    assert status == "1"
    assert int(peak_kib) * 1024 / 1e6 <= 150


# --- every row before a bad row is written -------------------------------------------


@pytest.mark.parametrize("indent", [None, 1])
def test_rows_before_an_invalid_utf8_byte_are_all_written(indent):
    good = [[1.0, 2.0]] * 50_000
    raw = json.dumps(good, indent=indent).encode()
    raw = raw[: raw.rindex(b"]")].rstrip() + b",[1,\xff]]"
    result = run("probs", "-o", "csv", stdin=raw)
    assert result.exit_code == 1
    assert len(result.stdout.splitlines()) == 50_000
    assert "invalid JSON (not UTF-8 text)" in result.stderr


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"[[1,2],[3,4,5]]", "line 1 has 3 values, expected 2 (row 2 on its line)"),
        (b"[[1,2],null]", "line 1, column 8: expected an array of numbers for each row"),
        (b"[[1,2],]", "line 1, column 7: invalid JSON (a comma with no row after it)"),
        (b"[[1,2] [3,4]]", "line 1, column 8: invalid JSON (expected a comma between rows)"),
    ],
)
def test_rows_before_a_bad_row_of_a_one_line_document_are_written(raw, message):
    result = run("probs", "-o", "csv", stdin=raw)
    assert result.exit_code == 1
    assert_allclose(csv_rows(result.stdout), [softmax([1, 2])])
    assert result.stderr == f"softmax: {message}\n"


# --- NDJSON objects and --key ----------------------------------------------------------

OBJECTS = (
    b'{"id": "a", "logits": [1, 2, 3], "meta": {"n": 1}}\n'
    b'{"id": 7, "logits": [0, 0, "-inf"], "meta": {"n": 2}}\n'
)


def test_ndjson_objects_give_the_scores_under_the_key():
    result = run("probs", "--key", "logits", "-o", "csv", stdin=OBJECTS)
    assert result.exit_code == 0, result.stderr
    assert_allclose(csv_rows(result.stdout), [softmax([1, 2, 3]), [0.5, 0.5, 0.0]])


@pytest.mark.parametrize("extra", [b"", b', "ok": true'])  # true: the closer reading
def test_ndjson_objects_travel_with_their_rows(extra):
    raw = OBJECTS.replace(b"}}\n", b"}" + extra + b"}\n")
    source = open_scores(io.BytesIO(raw), key="logits", keep=["id", "meta"])
    (block,) = list(source.blocks)
    assert source.kept_names == ["id", "meta"]
    assert block.kept == [["a", '{"n":1}'], ["7", '{"n":2}']]
    assert [found["id"] for found in block.objects] == ["a", 7]
    assert block.objects[1]["meta"] == {"n": 2}
    assert_allclose(block.values, [[1, 2, 3], [0, 0, -np.inf]])


def test_an_object_without_key_asks_for_one():
    result = run("probs", "-o", "csv", stdin=OBJECTS)
    assert result.exit_code == 1
    assert result.stderr == (
        "softmax: line 1: a JSON object; name the key holding the scores with --key\n"
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b'{"scores": [1, 2, 3]}', 'line 3: no key "logits" in this object'),
        (b'{"logits": 5}', 'line 3: "logits" is not an array of numbers'),
        (b'{"logits": []}', 'line 3: "logits" is not an array of numbers'),
        (b'{"logits": [1, true, 3]}', 'line 3, column 2: "logits": true is not a number'),
        (b'{"logits": [1, 2]}', 'line 3 has 2 values under "logits", expected 3'),
        (b"[1, 2, 3]", 'line 3: expected a JSON object with the key "logits"'),
        (b'{"logits": [1, 2, 3]', "line 3, column 21: invalid JSON"),
    ],
)
def test_a_bad_object_is_a_located_error_naming_the_key(line, message):
    result = run("probs", "--key", "logits", "-o", "csv", stdin=OBJECTS + line + b"\n")
    assert result.exit_code == 1
    assert len(result.stdout.splitlines()) == 2
    assert result.stderr.startswith(f"softmax: {message}")


def test_a_kept_key_missing_from_an_object_is_named():
    raw = OBJECTS + b'{"logits": [1, 2, 3]}\n'
    result = run("probs", "--key", "logits", "--keep", "id", "-o", "csv", stdin=raw)
    assert result.exit_code == 1
    assert result.stderr == 'softmax: line 3: no key "id" to keep\n'


@pytest.mark.parametrize("raw", [b"1,2,3\n4,5,6\n", b"[1, 2, 3]\n"])
def test_key_without_ndjson_objects_is_a_usage_error(raw):
    result = run("probs", "--key", "logits", stdin=raw)
    assert result.exit_code == 2
    assert result.stderr.startswith("softmax probs: --key: needs NDJSON objects")


# --- the property: whatever the layout, exit 0 means every row is softmax of its input --

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


@st.composite
def documents(draw):
    width = draw(st.integers(1, 5))
    rows = draw(st.lists(st.lists(finite, min_size=width, max_size=width), min_size=1, max_size=30))
    layout = draw(st.sampled_from(["compact", "pretty", "split", "ndjson", "objects"]))
    args: list[str] = []
    if layout == "compact":
        raw = compact(rows)
    elif layout == "pretty":
        raw = json.dumps(rows, indent=draw(st.integers(0, 4))).encode()
    elif layout == "ndjson":
        raw = b"".join(compact(row) + b"\n" for row in rows)
    elif layout == "objects":
        args = ["--key", "x"]
        raw = b"".join(
            json.dumps({"id": i, "x": row}).encode() + b"\n" for i, row in enumerate(rows)
        )
    else:  # random white space, newlines included, between every two tokens
        tokens = [b"["] + [t for row in rows for t in (b"[", *_values(row), b"]", b",")][:-1]
        spaces = st.sampled_from([b"", b" ", b"\n", b"\t", b"\r\n", b" \n  "])
        raw = b"".join(token + draw(spaces) for token in tokens) + b"]"
    if draw(st.booleans()):  # junk: a row nested too deep, somewhere
        at = draw(st.integers(0, len(rows) - 1))
        junk = list(rows)
        junk[at] = [rows[at]]
        raw = compact(junk) if layout != "objects" else raw.replace(b'"x": [', b'"x": [[', 1)
    return rows, raw, args


def _values(row):
    return [t for value in row for t in (repr(value).encode(), b",")][:-1]


@given(documents())
def test_exit_0_means_every_row_is_the_softmax_of_its_input(case):
    rows, raw, args = case
    result = run("probs", "-o", "ndjson", *args, stdin=raw)
    written = ndjson_rows(result.stdout)
    if result.exit_code == 0:
        assert len(written) == len(rows)
    else:
        assert result.exit_code == 1 and len(written) < len(rows)
    for got, row in zip(written, rows, strict=False):
        if isinstance(got, dict):
            got = got["probs"]
        assert_allclose(got, softmax(np.array(row)), rtol=1e-12, atol=1e-300)


@given(documents(), st.integers(1, 64))
def test_any_read_size_gives_the_same_rows_or_an_error(case, chunk):
    rows, raw, args = case
    source = open_scores(io.BytesIO(raw), chunk_bytes=chunk, key=args[1] if args else None)
    read: list[np.ndarray] = []
    try:
        read.extend(block.values for block in source.blocks)
    except DataError:
        got = np.concatenate(read) if read else np.empty((0, len(rows[0])))
        assert len(got) < len(rows)
        assert_allclose(got, np.array(rows)[: len(got)], rtol=0)
        return
    assert_allclose(np.concatenate(read), rows, rtol=0)
