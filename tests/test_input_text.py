"""Is the input text: compressed, UTF-16/32, binary, not UTF-8, CR-only line ends, blank lines."""

from __future__ import annotations

import bz2
import codecs
import csv
import gzip
import io
import lzma
import subprocess
import sys
import threading

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import special
from typer.testing import CliRunner

from softmax_cli.cli import app

runner = CliRunner()
COMMAND = [sys.executable, "-m", "softmax_cli"]

PLAIN = b"cat,dog,bird\n1,2,3\n-1,0.5,2\n0,0,0\n"


def run(data: bytes, *args: str):
    return runner.invoke(app, ["probs", "-o", "csv", *args], input=data)


def error_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    return lines[0]


def numbers(rows: int, width: int = 3, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, 3.0, (rows, width))


def as_csv(values: np.ndarray) -> bytes:
    return b"".join(",".join(repr(float(v)) for v in row).encode() + b"\n" for row in values)


# --- compressed input ---------------------------------------------------------


@pytest.mark.parametrize("compress", [gzip.compress, bz2.compress, lzma.compress])
def test_compressed_input_gives_the_same_output_as_the_plain_file(compress):
    plain = run(PLAIN)
    packed = run(compress(PLAIN))
    assert plain.exit_code == 0
    assert packed.exit_code == 0, packed.stderr
    assert packed.stdout == plain.stdout


def test_gzip_is_recognised_by_its_bytes_not_a_file_name(tmp_path):
    path = tmp_path / "scores.csv"
    path.write_bytes(gzip.compress(PLAIN))
    result = runner.invoke(app, ["probs", "-o", "csv", "-i", str(path)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == run(PLAIN).stdout


def test_gzip_of_many_rows_streams_through_in_chunks():
    data = as_csv(numbers(20_000))
    result = run(gzip.compress(data))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == run(data).stdout


def test_truncated_gzip_is_one_line_error_after_the_rows_before_it():
    data = as_csv(numbers(60_000))
    packed = gzip.compress(data)
    result = run(packed[: len(packed) // 2])
    assert result.exit_code == 1
    assert "input is gzip but ends early" in error_line(result)
    written = result.stdout.splitlines()
    assert len(written) > 1000
    expected = run(data).stdout.splitlines()
    assert written == expected[: len(written)]


def test_gzip_cut_inside_its_header_is_a_data_error():
    result = run(gzip.compress(PLAIN)[:12])
    assert result.exit_code == 1
    assert "gzip" in error_line(result)
    assert result.stdout == ""


def test_xz_with_garbage_in_it_is_a_data_error():
    packed = bytearray(lzma.compress(PLAIN))
    packed[len(packed) // 2] ^= 0xFF
    result = run(bytes(packed))
    assert result.exit_code == 1
    assert "xz" in error_line(result)


def test_gzip_through_a_real_pipe(tmp_path):
    data = as_csv(numbers(5000))
    path = tmp_path / "scores.csv.gz"
    path.write_bytes(gzip.compress(data))
    plain = subprocess.run([*COMMAND, "probs", "-o", "csv"], input=data, capture_output=True)
    piped = subprocess.run(
        ["bash", "-o", "pipefail", "-c", f"cat {path} | {' '.join(COMMAND)} probs -o csv"],
        capture_output=True,
        timeout=60,
    )
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout == plain.stdout


def test_truncated_gzip_through_a_real_pipe_exits_1_without_a_traceback(tmp_path):
    packed = gzip.compress(as_csv(numbers(60_000)))
    path = tmp_path / "cut.gz"
    path.write_bytes(packed[: len(packed) // 2])
    done = subprocess.run(
        [*COMMAND, "probs", "-o", "csv"], stdin=path.open("rb"), capture_output=True, timeout=60
    )
    assert done.returncode == 1
    assert done.stderr.decode().count("\n") == 1
    assert b"ends early" in done.stderr and b"Traceback" not in done.stderr
    assert done.stdout.count(b"\n") > 1000


def test_gzip_from_a_slow_pipe_streams_its_first_row_before_the_input_ends():
    import select
    import zlib

    process = subprocess.Popen(
        [*COMMAND, "probs", "-o", "csv"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    packer = zlib.compressobj(6, zlib.DEFLATED, 31)  # 31: a gzip wrapper
    try:
        process.stdin.write(packer.compress(b"1,2\n") + packer.flush(zlib.Z_SYNC_FLUSH))
        process.stdin.flush()
        ready, _, _ = select.select([process.stdout], [], [], 30)
        assert ready, "no output while the gzip stream was still open"
        assert process.stdout.readline().decode().strip() == ",".join(
            repr(float(v)) for v in special.softmax([1.0, 2.0])
        )
        process.stdin.write(packer.compress(b"3,4\n") + packer.flush())
    finally:
        process.stdin.close()
    assert process.stdout.read().count(b"\n") == 1
    assert process.wait(timeout=30) == 0


# --- binary input -------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "named"),
    [
        (b"\x7fELF\x02\x01\x01" + bytes(9), "an ELF binary"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "a PNG image"),
        (b"%PDF-1.7\n1 0 obj\n", "a PDF document"),
        (b"PK\x03\x04\x14\x00\x00\x00", "ZIP"),
    ],
)
def test_known_binary_formats_are_named_before_anything_is_written(head, named):
    result = run(head + b"1,2\n" * 100)
    assert result.exit_code == 1
    message = error_line(result)
    assert "input is not text" in message and named in message
    assert result.stdout == ""


def test_an_elf_binary_says_so():
    result = run(b"\x7fELF\x02\x01\x01\x00" + bytes(100))
    assert error_line(result) == "softmax: input is not text (an ELF binary?)"


def test_numpy_npy_magic_is_read_as_an_array_not_as_text():
    buffer = io.BytesIO()
    np.save(buffer, np.array([[1.0, 2.0], [3.0, 3.0]]))
    result = run(buffer.getvalue())
    assert result.exit_code == 0
    assert result.stdout.splitlines()[1] == "0.5,0.5"


def test_random_bytes_with_nul_are_not_text():
    data = np.random.default_rng(1).integers(1, 256, 4096, dtype=np.uint8).tobytes()
    data = data.replace(b"\n", b" ")
    data = b"a,b\n" + data[:100] + b"\x00" + data[100:]
    result = run(data)
    assert result.exit_code == 1
    message = error_line(result)
    assert "not text" in message and "line 2: byte 101 of the line is a NUL byte" in message
    assert result.stdout == ""


def test_control_bytes_that_are_not_utf8_are_not_text():
    result = run(b"a,b\n\x01\x02\xfe\xfd\x03,\x9c\n1,2\n")
    assert result.exit_code == 1
    assert "not text" in error_line(result)
    assert result.stdout == ""


def test_a_header_of_random_binary_no_longer_succeeds():
    data = bytes(range(1, 256)) * 4
    result = run(data)
    assert result.exit_code == 1
    error_line(result)
    assert result.stdout == ""


# --- encodings ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("bom", "codec"),
    [
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
    ],
)
def test_utf16_and_utf32_with_a_bom_read_as_utf8(bom, codec):
    text = "café,naïve,日本\n1,2,3\n-1,0.5,2\n"
    result = run(bom + text.encode(codec))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == run(text.encode()).stdout
    assert result.stdout.startswith("café,naïve,日本\n")


def test_utf16_large_enough_to_span_chunks_matches_utf8():
    data = as_csv(numbers(30_000))
    result = run(codecs.BOM_UTF16_LE + data.decode().encode("utf-16-le"))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == run(data).stdout


def test_utf16_cut_inside_a_character_is_a_data_error():
    result = run(codecs.BOM_UTF16_BE + "1,2\n3,4\n".encode("utf-16-be") + b"\x00")
    assert result.exit_code == 1
    assert "UTF-16BE" in error_line(result)


def test_invalid_utf16_later_in_the_stream_is_placed_after_the_rows_before():
    data = as_csv(numbers(30_000)).decode().encode("utf-16-le")
    bad = b"\x00\xdc"  # a lone low surrogate
    result = run(codecs.BOM_UTF16_LE + data + bad + "1,2,3\n".encode("utf-16-le"))
    assert result.exit_code == 1
    assert (
        error_line(result)
        == "softmax: line 30001: input is UTF-16LE but is invalid (illegal encoding)"
    )
    assert len(result.stdout.splitlines()) == 30_000


def test_utf16_without_a_bom_is_not_text():
    result = run("1,2\n3,4\n".encode("utf-16-le"))
    assert result.exit_code == 1
    assert "UTF-16" in error_line(result)


def test_latin1_header_is_an_error_naming_the_line_and_iconv():
    result = run(b"caf\xe9,the\n1,2\n")
    assert result.exit_code == 1
    message = error_line(result)
    assert message.startswith("softmax: line 1: byte 4 of the line is 0xE9, not UTF-8")
    assert "iconv" in message
    assert "\ufffd" not in result.stdout and result.stdout == ""


def test_latin1_after_blank_lines_names_its_own_line():
    result = run(b"\n\n\ncaf\xe9,the\n1,2\n")
    assert "line 4:" in error_line(result)


def test_invalid_utf8_in_row_50001_is_placed_after_the_rows_before():
    rows = numbers(50_010)
    lines = as_csv(rows).splitlines(keepends=True)
    lines[50_000] = b"1,\xff\xfe,3\n"
    result = run(b"".join(lines))
    assert result.exit_code == 1
    message = error_line(result)
    assert message.startswith("softmax: line 50001: byte 3 of the line is 0xFF")
    written = result.stdout.splitlines()
    assert len(written) == 50_000
    assert written == run(b"".join(lines[:50_000])).stdout.splitlines()


def test_invalid_utf8_in_json_input_is_placed_the_same_way():
    result = run(b"[1,2]\n[3,4]\n[5,\xff]\n")
    assert result.exit_code == 1
    assert "line 3: byte 4 of the line is 0xFF" in error_line(result)
    assert len(result.stdout.splitlines()) == 2


def test_utf8_text_is_read_as_before():
    result = run("é,ü\n1,2\n".encode())
    assert result.exit_code == 0
    assert result.stdout.startswith("é,ü\n")


# --- line ends ----------------------------------------------------------------


def test_cr_only_line_ends_read_like_lf():
    result = run(PLAIN.replace(b"\n", b"\r"))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == run(PLAIN).stdout


def test_cr_only_line_ends_give_right_line_numbers_in_errors():
    result = run(b"a,b\r1,2\r\r3,4\r5,x\r6,7\r")
    assert result.exit_code == 1
    assert error_line(result) == "softmax: line 5, column 2: 'x' is not a number"
    assert len(result.stdout.splitlines()) == 3  # the header and two rows


def test_cr_only_line_ends_across_many_chunks():
    data = as_csv(numbers(30_000))
    result = run(data.replace(b"\n", b"\r"))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == run(data).stdout


def test_crlf_line_ends_still_count_one_line_each():
    result = run(b"a,b\r\n1,2\r\n\r\n3,4\r\n5,x\r\n")
    assert error_line(result) == "softmax: line 5, column 2: 'x' is not a number"


class Pieces(io.RawIOBase):
    """A stream that hands out its bytes in the given pieces, as a pipe might."""

    def __init__(self, *pieces: bytes):
        super().__init__()
        self.pieces = list(pieces)

    def readable(self) -> bool:
        return True

    def read1(self, size: int = -1) -> bytes:
        return self.pieces.pop(0) if self.pieces else b""


@pytest.mark.parametrize(
    ("pieces", "lines"),
    [
        ((b"a,b\r", b"\n1,2\r\n", b"3,4\r\n"), [b"a,b\r", b"1,2\r", b"3,4\r"]),
        ((b"a,b\r", b"1,2\r", b"3,4\r"), [b"a,b", b"1,2", b"3,4"]),
        ((b"a,b", b"\r", b"1,2\r3,4"), [b"a,b", b"1,2", b"3,4"]),
        ((b"1,2\r",), [b"1,2"]),
    ],
)
def test_a_line_end_split_between_reads_is_judged_whole(pieces, lines):
    from softmax_cli.readers.text import line_chunks

    text = b"".join(raw for raw, _ in line_chunks(Pieces(*pieces), chunk_bytes=1 << 20))
    assert [line for line in text.split(b"\n") if line] == lines


# --- blank lines --------------------------------------------------------------


def test_leading_blank_lines_keep_line_numbers_right():
    result = run(b"\n" * 600_000 + b"1,2\n3,x\n")
    assert result.exit_code == 1
    assert error_line(result) == "softmax: line 600002, column 2: 'x' is not a number"
    assert len(result.stdout.splitlines()) == 1


@pytest.mark.parametrize("data", [b"", b"\n\n  \n\t\n", b"\r\r\r", gzip.compress(b"\n\n")])
def test_empty_or_blank_input_stays_a_usage_error(data):
    result = run(data)
    assert result.exit_code == 2
    assert "no scores in the input" in result.stderr


# A fresh, small process runs softmax and reports its peak RSS (see test_memory.py).
WRAPPER = """
import os, resource, sys
status = os.waitpid(os.posix_spawnp(sys.argv[1], sys.argv[1:], os.environ), 0)[1]
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
sys.stderr.write(f"{os.waitstatus_to_exitcode(status)} {peak}\\n")
"""


def test_200_mb_of_leading_blank_lines_are_never_held_in_memory():
    process = subprocess.Popen(
        [sys.executable, "-c", WRAPPER, *COMMAND, "probs", "-o", "csv"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )

    def feed() -> None:
        try:
            blank = b"\n" * (1 << 20)
            for _ in range(200):
                process.stdin.write(blank)
            process.stdin.write(b"1,2\n")
        finally:
            process.stdin.close()

    feeder = threading.Thread(target=feed)
    feeder.start()
    out = process.stdout.read()
    feeder.join()
    status, peak_kib = process.stderr.read().decode().split()[-2:]
    process.wait(timeout=60)
    assert status == "0"
    assert out.decode().strip().split(",") == [repr(float(v)) for v in special.softmax([1.0, 2.0])]
    peak_mb = int(peak_kib) * 1024 / 1e6
    assert peak_mb < 60, f"peak RSS {peak_mb:.0f} MB"


# --- property: what is read is what the decoded text says --------------------

rows_strategy = st.integers(1, 6).flatmap(
    lambda width: st.lists(
        st.lists(
            st.floats(min_value=-50, max_value=50, allow_nan=False), min_size=width, max_size=width
        ),
        min_size=1,
        max_size=30,
    )
)

WRAPPINGS = {
    "plain": lambda b: b,
    "gzip": gzip.compress,
    "bz2": bz2.compress,
    "xz": lzma.compress,
    "utf-16": lambda b: codecs.BOM_UTF16_LE + b.decode().encode("utf-16-le"),
    "utf-32": lambda b: codecs.BOM_UTF32_BE + b.decode().encode("utf-32-be"),
    "cr-only": lambda b: b.replace(b"\n", b"\r"),
    "gzip cr-only": lambda b: gzip.compress(b.replace(b"\n", b"\r")),
}


@given(
    rows=rows_strategy,
    header=st.booleans(),
    wrapping=st.sampled_from(sorted(WRAPPINGS)),
    noise=st.one_of(st.just(b""), st.binary(max_size=40)),
    at=st.floats(0, 1),
)
def test_success_means_every_row_is_the_softmax_of_the_decoded_text(
    rows, header, wrapping, noise, at
):
    width = len(rows[0])
    text = b""
    if header:
        text += ",".join(f"c{i}" for i in range(width)).encode() + b"\n"
    text += as_csv(np.array(rows))
    data = WRAPPINGS[wrapping](text)
    if noise:  # binary noise spliced in: it must fail cleanly or read as the text says
        cut = int(at * len(data))
        data = data[:cut] + noise + data[cut:]
    result = run(data)
    assert result.exit_code in (0, 1, 2), result.stderr
    if result.exit_code != 0:
        error_line(result)
        return
    decoded = _decoded(data)
    expected_rows = [
        line for line in csv.reader(io.StringIO(decoded)) if line and any(f.strip() for f in line)
    ]
    written = list(csv.reader(io.StringIO(result.stdout)))
    if header and not noise and width > 1:  # a single column is one vector, with no header
        assert written[0] == expected_rows[0]
    if not all(_is_number(f) for f in expected_rows[0]):
        expected_rows = expected_rows[1:]
    if written and not all(_is_number(f) for f in written[0]):
        written = written[1:]
    if not expected_rows:
        assert written == []
        return
    if any(not np.isfinite(float(f)) for row in expected_rows for f in row):
        return  # noise that spells inf: the limit semantics are tested elsewhere
    if len(expected_rows[0]) == 1 and len(expected_rows) > 1:
        expected = [special.softmax([float(r[0]) for r in expected_rows])]
        got = [[float(line[0]) for line in written]]
    else:
        expected = [special.softmax([float(f) for f in row]) for row in expected_rows]
        got = [[float(f) for f in line] for line in written]
    assert len(got) == len(expected)
    for mine, oracle in zip(got, expected, strict=True):
        np.testing.assert_allclose(mine, oracle, rtol=1e-12, atol=1e-300)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _decoded(data: bytes) -> str:
    """The text an input holds, decoded independently of the reader under test."""
    for magic, module in ((b"\x1f\x8b", gzip), (b"BZh", bz2), (b"\xfd7zXZ\x00", lzma)):
        if data.startswith(magic):
            data = module.decompress(data)
    if data.startswith(codecs.BOM_UTF32_BE):
        text = data[4:].decode("utf-32-be")
    elif data.startswith(codecs.BOM_UTF16_LE):
        text = data[2:].decode("utf-16-le")
    else:
        text = data.decode("utf-8").removeprefix("\ufeff")
    return text.replace("\r\n", "\n").replace("\r", "\n")
