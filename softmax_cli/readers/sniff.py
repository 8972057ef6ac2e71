"""Which reader a stream needs, decided from its first line, and the one entry point."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import BinaryIO

from softmax_cli.errors import InputUsageError

from .blocks import Format, ScoreSource, looks_numeric
from .delimited import Layout, delimited_blocks, resolve_label_column, single_vector_block
from .json_rows import json_document_blocks, json_loads, ndjson_blocks, object_blocks
from .peek import Replay, peek_first_line
from .text import (
    CHUNK_BYTES,
    decode_line,
    detect_delimiter,
    is_blank,
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
    head, whole = peek_first_line(stream, chunk_bytes)
    body = head.lstrip()
    if not body:
        raise InputUsageError("no scores in the input")
    stream = Replay(head, stream)
    keep = [name for item in keep for name in ([item] if isinstance(item, str) else item)]
    if body[:1] in (b"[", b"{") and delimiter is None and not header:
        if label_column is not None:
            raise InputUsageError("--label-column needs delimited text; JSON input has no columns")
        first_line = body.split(b"\n", 1)[0]
        return _json_source(stream, first_line, whole, key, keep, chunk_bytes)
    if key is not None:
        raise InputUsageError(
            "needs NDJSON objects (one per line); the input is delimited text", option="--key"
        )
    chunks = line_chunks(stream, chunk_bytes)
    seen: list[tuple[bytes, int]] = []
    first_text: bytes | None = None
    first_number = 0
    for raw, start in chunks:
        seen.append((raw, start))
        for offset, line in enumerate(raw.split(b"\n")):
            if not is_blank(line):
                first_text, first_number = line, start + offset
                break
        if first_text is not None:
            break
    if first_text is None:
        raise InputUsageError("no scores in the input")
    return _detect(
        first_text, first_number, itertools.chain(seen, chunks), delimiter, header, label_column
    )


def _json_source(
    stream: BinaryIO,
    first_line: bytes,
    whole: bool,
    key: str | None,
    keep: Sequence[str],
    chunk_bytes: int,
) -> ScoreSource:
    """JSON input: NDJSON objects, NDJSON arrays, or one document streamed by bracket depth."""
    if first_line.startswith(b"{"):
        blocks = object_blocks(line_chunks(stream, chunk_bytes), key, keep)
        return ScoreSource(
            blocks=blocks, format=Format.NDJSON, kept_names=list(keep) if keep else None
        )
    if key is not None:
        raise InputUsageError(
            "needs NDJSON objects (one per line); the input holds JSON arrays", option="--key"
        )
    if keep:
        raise InputUsageError(
            "JSON arrays have no named fields to keep; use NDJSON objects or delimited text",
            option="--keep",
        )
    if whole:
        try:
            json_loads(first_line)
        except ValueError:
            pass
        else:
            return ScoreSource(
                blocks=ndjson_blocks(line_chunks(stream, chunk_bytes)), format=Format.NDJSON
            )
    return ScoreSource(blocks=json_document_blocks(stream, chunk_bytes), format=Format.JSON)


def _detect(
    first_line: bytes,
    first_number: int,
    chunks: Iterator[tuple[bytes, int]],
    delimiter: str | None,
    header: bool | None,
    label_column: str | None,
) -> ScoreSource:
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
