"""Looking at the first line of a stream without losing it, and raw byte chunks.

``decode.Replay`` gives the peeked bytes back.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from .decode import read_some
from .text import BOM, CHUNK_BYTES, more_waiting

#: At most this much of a first line without its end is read to tell the format: a one-line
#: document's first rows must not wait for a whole chunk of it.
PEEK_BYTES = 1 << 18


def peek_first_line(stream: BinaryIO, limit: int = PEEK_BYTES) -> tuple[bytes, bool, int]:
    """Read up to the end of the first non-blank line, or ``limit`` bytes, or the end.

    Returns the bytes read (without a UTF-8 BOM), whether that line is complete,
    and how many blank lines before it were dropped: they are not kept, so
    any number of leading blank lines costs no memory.
    """
    head = bytearray()
    skipped = 0
    first = True
    while True:
        data = read_some(stream, limit)
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
        data = read_some(stream, chunk_bytes)
        if not data:
            if pending:
                yield bytes(pending)
            return
        pending += data
        if len(pending) < chunk_bytes and more_waiting(stream):
            continue
        yield bytes(pending)
        pending.clear()
