"""Looking at the first bytes of a stream without losing them, and raw byte chunks."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import BinaryIO

from .text import BOM, CHUNK_BYTES, _more_waiting, _read_some


class Replay(io.RawIOBase):
    """A stream that gives ``head`` first, then the rest of ``stream``."""

    def __init__(self, head: bytes, stream: BinaryIO):
        super().__init__()
        self.head = head
        self.stream = stream

    def readable(self) -> bool:
        return True

    def read1(self, size: int = -1) -> bytes:
        if self.head:
            if size < 0 or size >= len(self.head):
                data, self.head = self.head, b""
            else:
                data, self.head = self.head[:size], self.head[size:]
            return data
        return _read_some(self.stream, size)

    def read(self, size: int = -1) -> bytes:
        return self.read1(size)

    def fileno(self) -> int:
        if self.head:  # more can be read at once: nothing to wait for
            raise io.UnsupportedOperation("replaying")
        return self.stream.fileno()


def peek_first_line(stream: BinaryIO, limit: int = CHUNK_BYTES) -> tuple[bytes, bool, int]:
    """Read up to the end of the first non-blank line, or ``limit`` bytes, or the end.

    Returns the bytes read (without a UTF-8 BOM), whether that line is complete,
    and how many blank lines before it were dropped: they are not kept, so
    any number of leading blank lines costs no memory.
    """
    head = bytearray()
    skipped = 0
    first = True
    while True:
        data = _read_some(stream, limit)
        if not data:
            return bytes(head), True, skipped
        if first:
            first = False
            if data.startswith(BOM):
                data = data[len(BOM) :]
        searched = len(head)
        head += data
        text = len(head) - len(head.lstrip())
        if text == len(head):
            cut = head.rfind(b"\n") + 1  # only blank lines so far: drop the whole ones
            skipped += head.count(b"\n", 0, cut)
            del head[:cut]
            continue
        if head.find(b"\n", max(text, searched)) >= 0:
            return bytes(head), True, skipped
        if len(head) >= limit:
            return bytes(head), False, skipped


def raw_chunks(stream: BinaryIO, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
    """Bytes as they arrive, gathered to ``chunk_bytes`` unless the producer pauses."""
    pending = bytearray()
    while True:
        data = _read_some(stream, chunk_bytes)
        if not data:
            if pending:
                yield bytes(pending)
            return
        pending += data
        if len(pending) < chunk_bytes and _more_waiting(stream):
            continue
        yield bytes(pending)
        pending.clear()
