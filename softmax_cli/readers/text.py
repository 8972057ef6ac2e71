"""Bytes in, whole lines out: chunking, line limits, the BOM."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from typing import BinaryIO

from softmax_cli.errors import DataError
from softmax_cli.native import count_lines

from .decode import not_utf8_error, read_some

CHUNK_BYTES = 1 << 20  # 1 MiB: with the kernel and threads, faster than 256 KiB or 2 MiB
MAX_LINE_BYTES = 64 << 20
BOM = b"\xef\xbb\xbf"


def more_waiting(stream: BinaryIO) -> bool:
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
    held = _Held(chunk_bytes)
    searched = 0  # a line without its end is searched only once: long lines cost linear time
    line = first_line  # after blank lines dropped before the stream was handed over
    first = True
    cr_only: bool | None = None  # decided by the first line end: a lone CR, or LF/CRLF
    while True:
        try:
            got = held.read(stream, chunk_bytes)
        except DataError as problem:
            # A damaged compressed stream: the whole lines read so far still count.
            cut = held.rfind_line_end(0) + 1
            if cut:
                whole = held.take(cut)
                yield from _checked(whole, line)
                line += count_lines(whole)
            if problem.line is None:
                problem.line = line
            raise
        if first and got:
            first = False
            got -= held.drop_bom(got)
        if cr_only and got:
            held.replace_cr(held.size - got)
        if not got:
            if held.size:
                if cr_only is None:
                    held.replace_cr(0)
                yield from _checked(held.take(held.size) + b"\n", line)
            return
        if cr_only is None:
            # Undecided means no line end yet but perhaps a CR last: look at that and the new bytes.
            cr_only = _ends_in_lone_cr(held.tail(got + 1))
            if cr_only:
                held.replace_cr(0)
        if held.size < chunk_bytes and more_waiting(stream):
            continue
        cut = held.rfind_line_end(searched)
        if cut < 0:
            searched = held.size
            if held.size > MAX_LINE_BYTES:
                raise DataError(
                    f"line {line} is longer than {MAX_LINE_BYTES >> 20} MiB", line=line, placed=True
                )
            continue
        whole = held.take(cut + 1)
        searched = 0
        yield from _checked(whole, line)
        line += count_lines(whole)


class _Held:
    """The bytes read and not handed on yet, in one buffer that is reused.

    Reads land in it directly where the stream allows (``readinto1``): a new
    bytes object per read, then joining it to what was held, cost fresh pages
    and two copies, as much as all the rest of the reading.
    """

    def __init__(self, chunk_bytes: int):
        self.buffer = bytearray(2 * chunk_bytes)
        self.view = memoryview(self.buffer)
        self.size = 0

    def _room(self, wanted: int) -> None:
        if len(self.buffer) - self.size >= wanted:
            return
        bigger = bytearray(max(2 * len(self.buffer), self.size + wanted))
        bigger[: self.size] = self.view[: self.size]
        self.view.release()
        self.buffer, self.view = bigger, memoryview(bigger)

    def read(self, stream: BinaryIO, chunk_bytes: int) -> int:
        """Read once (what a pipe has now, at most ``chunk_bytes``); bytes read, 0 at the end."""
        into = getattr(stream, "readinto1", None)
        if into is not None:
            self._room(chunk_bytes)
            got = into(self.view[self.size : self.size + chunk_bytes])
        else:
            data = read_some(stream, chunk_bytes)  # a decoder may give more than asked
            got = len(data)
            self._room(got)
            self.view[self.size : self.size + got] = data
        self.size += got
        return got

    def drop_bom(self, got: int) -> int:
        """Drop a UTF-8 BOM at the start of the last ``got`` bytes; how many bytes went."""
        start = self.size - got
        if self.view[start : start + len(BOM)] != BOM:
            return 0
        self.view[start : self.size - len(BOM)] = self.view[start + len(BOM) : self.size]
        self.size -= len(BOM)
        return len(BOM)

    def replace_cr(self, start: int) -> None:
        """Every CR from ``start`` on becomes LF (the same length, so it stays in place)."""
        self.view[start : self.size] = bytes(self.view[start : self.size]).replace(b"\r", b"\n")

    def tail(self, count: int) -> bytes:
        return bytes(self.view[max(0, self.size - count) : self.size])

    def rfind_line_end(self, start: int) -> int:
        return self.buffer.rfind(b"\n", start, self.size)

    def take(self, count: int) -> bytes:
        """The first ``count`` bytes, handed on; the rest moves to the front."""
        taken = bytes(self.view[:count])
        rest = self.size - count
        self.view[:rest] = self.view[count : self.size]
        self.size = rest
        return taken


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
