"""Which reader a stream needs, decided from its first line, and the one entry point."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import BinaryIO

from softmax_cli.errors import InputUsageError

from .blocks import Format, ScoreSource, looks_numeric
from .decode import text_stream
from .delimited import Layout, delimited_blocks, resolve_label_column, single_vector_block
from .json_rows import json_document_blocks, json_loads, ndjson_blocks
from .text import (
    CHUNK_BYTES,
    decode_line,
    detect_delimiter,
    line_chunks,
    split_fields,
    unquote,
)


def open_scores(
    stream: BinaryIO,
    *,
    delimiter: str | None = None,
    header: bool | None = None,
    label_column: str | None = None,
    keep: Sequence[str] = (),
    key: str | None = None,
    chunk_bytes: int = CHUNK_BYTES,
) -> ScoreSource:
    """Sniff and open a byte stream of scores; blocks are parsed as they are read.

    ``keep``: columns (names or 0-based indices) carried through beside the
    results; ``key``: the key of each NDJSON object that holds its scores.
    """
    chunks = line_chunks(text_stream(stream, chunk_bytes), chunk_bytes)
    first: tuple[bytes, int] | None = None
    first_text = b""
    first_number = 0
    for raw, start in chunks:
        # Blank chunks are dropped, not kept: only line numbers need them, and they carry those.
        text_at = len(raw) - len(raw.lstrip())
        if text_at == len(raw):
            continue
        line_start = raw.rfind(b"\n", 0, text_at) + 1
        line_end = raw.find(b"\n", text_at)
        first_text = raw[line_start : line_end if line_end >= 0 else len(raw)]
        first_number = start + raw.count(b"\n", 0, line_start)
        first = (raw, start)
        break
    if first is None:
        raise InputUsageError("no scores in the input")
    return _detect(
        first_text, first_number, itertools.chain([first], chunks), delimiter, header, label_column
    )


def _detect(
    first_line: bytes,
    first_number: int,
    chunks: Iterator[tuple[bytes, int]],
    delimiter: str | None,
    header: bool | None,
    label_column: str | None,
) -> ScoreSource:
    stripped = first_line.lstrip()
    if stripped.startswith(b"[") and delimiter is None and not header:
        if label_column is not None:
            raise InputUsageError("--label-column needs delimited text; JSON input has no columns")
        try:
            json_loads(first_line)
        except ValueError:
            return ScoreSource(blocks=json_document_blocks(chunks), format=Format.JSON)
        return ScoreSource(blocks=ndjson_blocks(chunks), format=Format.NDJSON)

    text = decode_line(first_line)
    if delimiter is None:
        delimiter = detect_delimiter(text)
    elif delimiter == " ":
        delimiter = None  # --delimiter space: runs of spaces, as detection reads them
    fields = split_fields(text, delimiter)
    # An empty field makes no header: "1,2," is data with a missing value, not class names.
    is_header = header if header is not None else any(f and not looks_numeric(f) for f in fields)
    names = [unquote(name) for name in fields] if is_header else None
    width = len(fields)
    label_index = resolve_label_column(label_column, names, width)
    if label_index is not None and width == 1:
        raise InputUsageError(f"--label-column {label_column}: no scores are left beside it")
    classes = None
    lookup: dict[str, int] = {}
    if names is not None:
        classes = [name for index, name in enumerate(names) if index != label_index]
        lookup = {name: index for index, name in enumerate(classes)}
    layout = Layout(delimiter, width, label_index, lookup)
    if is_header:
        chunks = _skip_header(chunks, first_number)
    blocks = delimited_blocks(chunks, layout)
    single = width == 1 and label_index is None
    if single:
        blocks = single_vector_block(blocks)
    return ScoreSource(
        blocks=blocks,
        classes=None if single else classes,
        single_vector=single,
        format=Format.DELIMITED,
        delimiter=delimiter,
    )


def _skip_header(
    chunks: Iterator[tuple[bytes, int]], header_line: int
) -> Iterator[tuple[bytes, int]]:
    """Drop the header line; later line numbers stay those of the file."""
    for raw, start in chunks:
        if start <= header_line < start + raw.count(b"\n"):
            cut = 0
            for _ in range(header_line - start + 1):
                cut = raw.index(b"\n", cut) + 1
            raw, start = raw[cut:], header_line + 1
            if not raw:
                continue
        yield raw, start
