""".npy arrays in (files and pipes read in blocks) and out (-o npy), with located errors."""

from __future__ import annotations

import gzip
import io
import os
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from softmax_cli.cli import app
from softmax_cli.readers import npy as npy_reader


def run(*args: str, stdin: bytes | None = None):
    return CliRunner().invoke(app, list(args), input=stdin)


def saved(array: np.ndarray, **options) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, **options)
    return buffer.getvalue()


def softmax_rows(x: np.ndarray) -> np.ndarray:
    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    exps = np.exp(x - x.max(axis=1, keepdims=True))
    return exps / exps.sum(axis=1, keepdims=True)


def npy_out(*args: str, stdin: bytes | None = None) -> np.ndarray:
    """Run softmax in a real process (stdout a pipe) and load what it wrote."""
    result = subprocess.run(
        [sys.executable, "-m", "softmax_cli", *args], input=stdin, capture_output=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return np.load(io.BytesIO(result.stdout))


DTYPES = ["float64", "float32", "float16", ">f8", "int8", "int64", "uint16"]


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_float_and_integer_dtype_reads_as_its_values(tmp_path, dtype):
    array = np.arange(12).reshape(4, 3).astype(dtype)
    path = tmp_path / "x.npy"
    np.save(path, array)
    result = run("probs", "-i", str(path), "-o", "ndjson")
    assert result.exit_code == 0, result.output
    got = np.array([eval(line) for line in result.stdout.splitlines()])
    np.testing.assert_allclose(got, softmax_rows(array.astype(np.float64)), rtol=1e-15)


def test_a_pipe_and_a_file_give_the_same_rows(tmp_path):
    array = np.random.default_rng(2).normal(size=(5000, 7))
    path = tmp_path / "x.npy"
    np.save(path, array)
    from_file = npy_out("logprobs", "-i", str(path), "-o", "npy")
    from_pipe = npy_out("logprobs", "-o", "npy", stdin=path.read_bytes())
    assert from_file.dtype == np.float64 and from_file.shape == array.shape
    assert from_file.tobytes() == from_pipe.tobytes()
    x = array - array.max(axis=1, keepdims=True)
    np.testing.assert_allclose(from_file, x - np.log(np.exp(x).sum(axis=1, keepdims=True)))


def test_blocks_split_rows_nowhere_but_between_them(tmp_path, monkeypatch):
    monkeypatch.setattr(npy_reader, "BLOCK_BYTES", 8 * 3 * 5 + 8)  # 5 rows and a bit
    array = np.random.default_rng(3).normal(size=(53, 3))
    source = npy_reader.npy_source(io.BytesIO(saved(array)), None)
    blocks = list(source.blocks)
    assert len(blocks) > 5
    assert np.concatenate([b.values for b in blocks]).tobytes() == array.tobytes()
    assert [b.first_line for b in blocks] == list(range(1, 54, 5))


def test_fortran_order_is_read_by_rows(tmp_path):
    array = np.asfortranarray(np.random.default_rng(4).normal(size=(9, 4)))
    path = tmp_path / "f.npy"
    np.save(path, array)
    np.testing.assert_allclose(npy_out("probs", "-i", str(path), "-o", "npy"), softmax_rows(array))
    np.testing.assert_allclose(
        npy_out("probs", "-o", "npy", stdin=path.read_bytes()), softmax_rows(array)
    )


def test_a_1d_array_is_one_vector_and_is_written_back_1d():
    out = npy_out("probs", "-o", "npy", stdin=saved(np.array([2.0, 1.0, 0.1])))
    assert out.shape == (3,)
    np.testing.assert_allclose(out, softmax_rows([2.0, 1.0, 0.1])[0])


def test_gzipped_npy_is_read_too():
    array = np.array([[0.0, 1.0], [2.0, 2.0]])
    out = npy_out("probs", "-o", "npy", stdin=gzip.compress(saved(array)))
    np.testing.assert_allclose(out, softmax_rows(array))


def test_text_input_written_as_npy_to_a_file_and_to_a_pipe(tmp_path):
    rows = np.random.default_rng(5).normal(size=(3000, 4))
    text = "".join(",".join(map(repr, row)) + "\n" for row in rows.tolist()).encode()
    piped = npy_out("probs", "-o", "npy", stdin=text)
    target = tmp_path / "out.npy"
    with open(target, "wb") as out:
        subprocess.run(
            [sys.executable, "-m", "softmax_cli", "probs", "-o", "npy"],
            input=text,
            stdout=out,
            check=True,
            timeout=60,
        )
    assert np.load(target).tobytes() == piped.tobytes()
    np.testing.assert_allclose(piped, softmax_rows(rows))


def test_a_truncated_file_writes_its_whole_rows_then_names_the_first_missing_row(tmp_path):
    data = saved(np.arange(40, dtype=np.float64).reshape(10, 4))
    path = tmp_path / "cut.npy"
    path.write_bytes(data[: len(data) - 8 * 4 * 3 - 5])  # 6 whole rows and part of one
    for args, stdin in ((["-i", str(path)], None), ([], path.read_bytes())):
        result = subprocess.run(
            [sys.executable, "-m", "softmax_cli", "probs", "-o", "npy", *args],
            input=stdin,
            capture_output=True,
            timeout=60,
        )
        assert result.returncode == 1
        assert result.stderr.decode().strip() == (
            "softmax: row 7: the .npy data ends early: 6 of 10 rows are complete"
        )
        assert np.load(io.BytesIO(result.stdout)).shape == (6, 4)


@pytest.mark.parametrize(
    ("array", "words"),
    [
        (np.zeros((2, 3, 4)), "3-D (2x3x4)"),
        (np.array([1, "a"], dtype=object), "Python objects"),
        (np.zeros(3, dtype=complex), "complex128 is not a float or integer"),
        (np.zeros(3, dtype=[("a", "f8")]), "is not a float or integer"),
    ],
)
def test_arrays_that_are_not_scores_are_one_line_data_errors(array, words):
    result = run("probs", stdin=saved(array, allow_pickle=True))
    assert result.exit_code == 1
    assert words in result.output and len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_a_damaged_header_is_a_data_error():
    data = saved(np.zeros((2, 2)))
    result = run("probs", stdin=data[:9])
    assert result.exit_code == 1 and "ends inside its header" in result.output
    result = run("probs", stdin=data[:10] + b"{'descr': nonsense}" + data[29:])
    assert result.exit_code == 1 and "header is damaged" in result.output


def test_a_nan_is_placed_at_its_row():
    array = np.ones((5, 2))
    array[3, 1] = np.nan
    result = run("probs", stdin=saved(array))
    assert result.exit_code == 1
    assert "row 4" in result.output and "column 2" in result.output


@pytest.mark.parametrize(
    "option",
    [["--delimiter", ","], ["--keep", "0"], ["--label-column", "0"], ["--header"], ["--no-header"]],
)
def test_text_options_on_npy_input_are_usage_errors(option):
    result = run("probs", *option, stdin=saved(np.zeros((2, 2))))
    assert result.exit_code == 2
    assert "a .npy array has no columns or text" in result.output
    # The option as typed is named (`--no-header` used to be called `--header`).
    assert option[0] in result.output.splitlines()[0]


def test_npy_output_is_refused_on_a_terminal(monkeypatch):
    import os
    import pty

    primary, secondary = pty.openpty()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "softmax_cli", "probs", "2", "1", "-o", "npy"],
            stdout=secondary,
            stderr=subprocess.PIPE,
            timeout=60,
        )
    finally:
        os.close(secondary)
        os.close(primary)
    assert result.returncode == 2
    assert result.stderr.decode().startswith(
        "softmax probs: --format: npy is binary and is not written to a terminal"
    )


def test_only_row_commands_write_npy():
    result = run("evaluate", "2", "1", "--labels", "0", "-o", "npy")
    assert result.exit_code == 2


def _process(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "softmax_cli", *args], capture_output=True, timeout=120
    )


@pytest.mark.parametrize("command", ["probs", "logprobs"])
@pytest.mark.parametrize("output", ["npy", "csv"])
def test_a_file_computed_in_threads_gives_the_bytes_of_one_job(tmp_path, command, output):
    # About 30 blocks of 1 MiB, so several are computed ahead while others are written.
    array = np.random.default_rng(8).normal(0, 4, size=(400_000, 10))
    path = tmp_path / "x.npy"
    np.save(path, array)
    one, two = (
        _process(command, "-i", str(path), "-o", output, "--jobs", jobs) for jobs in ("1", "2")
    )
    assert one.returncode == two.returncode == 0, two.stderr
    assert one.stdout == two.stdout
    if output == "npy":
        expected = softmax_rows(array)
        got = np.load(io.BytesIO(two.stdout))
        np.testing.assert_allclose(got if command == "probs" else np.exp(got), expected, rtol=1e-13)


def test_a_bad_row_in_a_late_block_with_threads_writes_the_rows_before_it(tmp_path):
    array = np.random.default_rng(9).normal(size=(300_000, 10))
    array[271_828, 3] = np.nan
    path = tmp_path / "x.npy"
    np.save(path, array)
    one, two = (_process("probs", "-i", str(path), "-o", "csv", "--jobs", j) for j in "12")
    assert one.returncode == two.returncode == 1
    assert two.stderr == one.stderr
    assert b"row 271829" in two.stderr and b"column 4" in two.stderr
    assert b"Traceback" not in two.stderr
    assert two.stdout == one.stdout and two.stdout.count(b"\n") == 271_828


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16"])
@pytest.mark.parametrize("command", ["probs", "logprobs"])
def test_dtype_writes_an_array_of_that_dtype_holding_the_values_text_shows(dtype, command):
    scores = np.random.default_rng(10).normal(0, 5, size=(50, 6))
    text = "\n".join(",".join(repr(v) for v in row) for row in scores.tolist()).encode()
    array = npy_out(command, "--dtype", dtype, "-o", "npy", stdin=text)
    shown = run(command, "--dtype", dtype, "-o", "csv", stdin=text)
    assert shown.exit_code == 0
    assert array.dtype == np.dtype(dtype) and array.shape == scores.shape
    expected = np.loadtxt(io.StringIO(shown.stdout), delimiter=",", ndmin=2)
    assert np.array_equal(array, expected.astype(dtype))  # the shortest text of each value


def _appended(path, *args: str) -> subprocess.CompletedProcess:
    with open(path, "ab") as out:
        return subprocess.run(
            [sys.executable, "-m", "softmax_cli", *args],
            stdout=out,
            stderr=subprocess.PIPE,
            timeout=60,
        )


def test_npy_appended_to_an_empty_file_is_one_valid_array(tmp_path):
    target = tmp_path / "a.npy"
    target.touch()
    result = _appended(target, "probs", "1", "2", "-o", "npy")
    assert result.returncode == 0, result.stderr
    np.testing.assert_allclose(np.load(target), softmax_rows([1.0, 2.0]))


def test_npy_appended_to_a_file_goes_whole_after_what_was_there(tmp_path):
    target = tmp_path / "a.npy"
    before = b"what was here before\n"
    target.write_bytes(before)
    result = _appended(target, "probs", "3", "1", "-o", "npy")
    assert result.returncode == 0, result.stderr
    data = target.read_bytes()
    assert data.startswith(before)
    np.testing.assert_allclose(np.load(io.BytesIO(data[len(before) :])), softmax_rows([3.0, 1.0]))


def _softmax_process(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "softmax_cli", *args], input=stdin, capture_output=True, timeout=60
    )


def _csv_rows(rows: np.ndarray) -> bytes:
    return "".join(",".join(map(repr, row)) + "\n" for row in rows.tolist()).encode()


@pytest.mark.parametrize(
    ("array", "after", "size"),
    [
        (np.array([[1.0, 2.0], [3.0, 4.0]]), None, "2 rows"),  # the same array again
        (np.array([[1.0, 2.0]]), b"junk\n", "1 row"),
        (np.array([5.0, 1.0, 2.0]), b"\x00", "3 values"),
    ],
)
@pytest.mark.parametrize("through", ["file", "pipe"])
def test_bytes_after_the_array_are_a_data_error_after_its_rows(
    tmp_path, array, after, size, through
):
    data = saved(array)
    more = after if after is not None else data
    path = tmp_path / "two.npy"
    path.write_bytes(data + more)
    args, stdin = (["-i", str(path)], None) if through == "file" else ([], data + more)
    result = _softmax_process("probs", "-o", "csv", *args, stdin=stdin)
    assert result.returncode == 1
    assert result.stderr.decode() == (
        f"softmax: the input goes on after the .npy array's {size} ({len(more)} more bytes); "
        "give one array per input\n"
    )
    expected = softmax_rows(array)
    expected = expected.T if array.ndim == 1 else expected  # a vector: one score per line
    assert result.stdout == _csv_rows(expected)


def test_a_file_cut_short_while_it_is_read_is_a_data_error_not_a_crash(tmp_path):
    import select

    rows = 100_000
    data = saved(np.random.default_rng(11).normal(size=(rows, 10)))
    path = tmp_path / "x.npy"
    path.write_bytes(data)
    process = subprocess.Popen(
        [sys.executable, "-m", "softmax_cli", "probs", "-i", str(path), "-o", "csv"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        # The first block's rows fill the pipe: the process waits to write, mid-file.
        ready, _, _ = select.select([process.stdout], [], [], 30)
        assert ready
        os.truncate(path, len(data) - rows * 80 + 20_000 * 80 + 7)
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 1, err
    message = err.decode()
    assert message.count("\n") == 1 and "Traceback" not in message
    whole = out.count(b"\n")
    assert message == (
        f"softmax: row {whole + 1}: the .npy data ends early: {whole} of {rows} rows are complete\n"
    )
    assert whole >= 20_000 - 13_107  # at most the block read before the cut is whole


@pytest.mark.parametrize("command", ["probs", "logprobs"])
def test_fortran_and_c_order_give_the_same_bytes_from_a_file_and_a_pipe(tmp_path, command):
    array = np.random.default_rng(12).normal(0, 3, size=(3000, 37))
    outputs = set()
    for order in ("C", "F"):
        path = tmp_path / f"{order}.npy"
        np.save(path, np.asarray(array, order=order))
        assert np.load(path).flags.f_contiguous == (order == "F")
        for args, stdin in ((["-i", str(path)], None), ([], path.read_bytes())):
            result = _softmax_process(command, "-o", "npy", *args, stdin=stdin)
            assert result.returncode == 0, result.stderr
            outputs.add(result.stdout)
    assert len(outputs) == 1


def test_rows_from_a_slow_pipe_come_out_while_the_producer_pauses():
    import select

    array = np.random.default_rng(13).normal(size=(1000, 4))
    data = saved(array)
    header = len(data) - array.nbytes
    process = subprocess.Popen(
        [sys.executable, "-m", "softmax_cli", "probs", "-o", "csv"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        # The header, 3 rows and part of a 4th; then the producer waits, stdin still open.
        process.stdin.write(data[: header + 3 * 32 + 5])
        process.stdin.flush()
        seen = b""
        while seen.count(b"\n") < 3:
            ready, _, _ = select.select([process.stdout], [], [], 10)
            assert ready, f"{seen!r}: not 3 rows out while the producer paused"
            seen += process.stdout.read1(1 << 16)
        assert process.poll() is None
        process.stdin.write(data[header + 3 * 32 + 5 :])
    finally:
        process.stdin.close()
        rest = process.stdout.read()
        process.wait(timeout=60)
    assert process.returncode == 0, process.stderr.read()
    assert seen + rest == _csv_rows(softmax_rows(array))
