"""Bytes in, whole lines out: chunking, line limits, the BOM."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from typing import BinaryIO

from softmax_cli.errors import DataError

from .decode import not_utf8_error, read_some

CHUNK_BYTES = 1 << 18  # 256 KiB: measured fastest of 64 KiB..4 MiB (cache-sized blocks)
MAX_LINE_BYTES = 64 << 20
BOM = b"\xef\xbb\xbf"


def _more_waiting(stream: BinaryIO) -> bool:
    """True when more input can be read without blocking (files always can)."""
    try:
        import select

        ready, _, _ = select.select([stream.fileno()], [], [], 0)
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return True
    return bool(ready)


def line_chunks(
    stream: BinaryIO, chunk_bytes: int = CHUNK_BYTES, first_line: int = 1
) -> Iterator[tuple[bytes, int]]:
    """Yield ``(bytes of whole lines, number of the first line)``.

    A chunk is handed on once it is large, or as soon as the producer pauses,
    so the first rows of a slow pipe come out before its last rows go in.
    Lines end in LF, CRLF or (decided by the first line end) a lone CR; every
    chunk is checked to be UTF-8, and an error in the stream is raised at its
    line after the whole lines before it.
    """
    # A bytearray grows in place and a line without its end is searched only once,
    # so a line of many MiB read in small pipe-sized pieces costs linear time, not quadratic.
    pending = bytearray()
    searched = 0
    line = first_line  # after blank lines dropped before the stream was handed over
    first = True
    cr_only: bool | None = None  # decided by the first line end: a lone CR, or LF/CRLF
    while True:
        try:
            data = read_some(stream, chunk_bytes)
        except DataError as problem:
            # A damaged compressed stream: the whole lines read so far still count.
            cut = pending.rfind(b"\n") + 1
            if cut:
                yield from _checked(bytes(pending[:cut]), line)
                line += pending.count(b"\n", 0, cut)
            if problem.line is None:
                problem.line = line
            raise
        if first and data:
            first = False
            if data.startswith(BOM):
                data = data[len(BOM) :]
        if cr_only:
            data = data.replace(b"\r", b"\n")
        if not data:
            if pending:
                if cr_only is None:
                    pending = bytearray(pending.replace(b"\r", b"\n"))
                yield from _checked(bytes(pending) + b"\n", line)
            return
        pending += data
        if cr_only is None:
            # Undecided means no line end yet but perhaps a CR last: look at that and the new bytes.
            cr_only = _ends_in_lone_cr(pending[-len(data) - 1 :])
            if cr_only:
                pending = bytearray(pending.replace(b"\r", b"\n"))
        if len(pending) < chunk_bytes and _more_waiting(stream):
            continue
        cut = pending.rfind(b"\n", searched)
        if cut < 0:
            searched = len(pending)
            if len(pending) > MAX_LINE_BYTES:
                raise DataError(
                    f"line {line} is longer than {MAX_LINE_BYTES >> 20} MiB", line=line, placed=True
                )
            continue
        whole = bytes(pending[: cut + 1])
        del pending[: cut + 1]
        searched = 0
        yield from _checked(whole, line)
        line += line_ends(whole)


def line_ends(chunk: bytes) -> int:
    """How many LFs ``chunk`` holds: as ``bytes.count``, but vectorised and without the GIL,
    so threads parsing earlier chunks are not held up while the next one is counted."""
    import numpy as np

    return int(np.count_nonzero(np.frombuffer(chunk, dtype=np.uint8) == ord("\n")))


def _ends_in_lone_cr(data: bytearray) -> bool | None:
    """True when the first line end is a CR alone, False for LF or CRLF, None before one is seen."""
    lf = data.find(b"\n")
    cr = data.find(b"\r", 0, lf if lf >= 0 else len(data))
    if cr < 0:
        return None if lf < 0 else False
    if cr + 1 == len(data):
        return None  # a CR at the end of what was read: its LF may come next
    return data[cr + 1] != ord("\n")


def _checked(whole: bytes, line: int) -> Iterator[tuple[bytes, int]]:
    """Yield a chunk of whole lines; if it is not all UTF-8, the lines before and then the error."""
    found = not_utf8_error(whole, line)
    if found is None:
        yield whole, line
        return
    line_start, problem = found
    if line_start:
        yield whole[:line_start], line
    raise problem


def is_blank(line: bytes) -> bool:
    return not line.strip()


def split_fields(text: str, delimiter: str | None) -> list[str]:
    if delimiter is None:
        return text.split()
    return [piece.strip() for piece in text.split(delimiter)]


def detect_delimiter(line: str) -> str | None:
    """Tab, comma, ``;``, ``|``, then runs of white space (``None``), from one line.

    Quoted text is left out first, so a comma inside a quoted name decides nothing.
    """
    if '"' in line:
        line = re.sub(r'"[^"]*"', "", line)
    for candidate in ("\t", ",", ";", "|"):
        if candidate in line:
            return candidate
    return None


def decode_line(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace").rstrip("\r\n")


def unquote(name: str) -> str:
    if len(name) >= 2 and name[0] == name[-1] and name[0] in "\"'":
        return name[1:-1]
    return name


def line_numbers_of(raw: bytes, first_line: int) -> Callable[[], list[int]]:
    def compute() -> list[int]:
        return [
            first_line + offset
            for offset, line in enumerate(raw.split(b"\n"))
            if not is_blank(line)
        ]

    return compute
