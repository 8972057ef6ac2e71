"""Which reader a stream needs, decided from its first lines, and the one entry point.

The header rule, for delimited text.  Quoting is removed first.  The first
line is a header when one of its fields is not a number (an empty field does
not count), it is valid text (UTF-8 without control characters other than
tab and line breaks), and it has as many fields as the first data line.
``--header`` / ``--no-header`` decide instead.  Then:

- a header whose field count differs from the next line's is a DataError on
  that line (``line 2 has 3 values, but the header on line 1 has 1``);
- a header with no data rows after it is an empty result with the note
  ``no data rows followed the header``;
- a header most of whose fields are numbers (``1,2,3O``, likely a typo) is
  kept as a header, with a note naming the line and the field, so that
  ``--no-header`` can read it as data instead; alone, with no line after it,
  such a line is read as data, so the typo is an error, not an empty result.

The delimiter (tab, comma, ``;``, ``|``, else runs of spaces) is detected from
the first data line: the line after a header, when there is one.
"""

from __future__ import annotations

import functools
import itertools
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from typing import BinaryIO

from softmax_cli.errors import DataError, UsageError

from .blocks import NO_ROWS_NOTE, Chunks, Format, ScoreSource, looks_numeric
from .decode import NpyInput, Replay, text_stream
from .delimited import (
    NO_HEADER,
    Layout,
    delimited_blocks,
    parse_chunk,
    resolve_kept_columns,
    resolve_label_column,
    single_vector_block,
    split_record,
    whole_records,
)
from .json_rows import (
    first_row_width,
    json_document_blocks,
    json_loads,
    ndjson_blocks,
    object_blocks,
    parse_ndjson_chunk,
)
from .peek import PEEK_BYTES, peek_first_line
from .text import (
    CHUNK_BYTES,
    MAX_LINE_BYTES,
    decode_line,
    detect_delimiter,
    is_blank,
    line_chunks,
    more_waiting,
)

#: The first records of a stream: ``(first line, last line, raw bytes)``.
Record = tuple[int, int, bytes]


def open_scores(
    stream: BinaryIO,
    *,
    delimiter: str | None = None,
    header: bool | None = None,
    label_column: str | None = None,
    keep: Sequence[str] = (),
    key: str | None = None,
    classes: Sequence[str] | None = None,
    chunk_bytes: int = CHUNK_BYTES,
    weight_column: str | None = None,
) -> ScoreSource:
    """Sniff and open a byte stream of scores; blocks are parsed as they are read.

    ``keep``: columns (names or 0-based indices) carried through beside the
    results; ``key``: the key of each NDJSON object that holds its scores;
    ``classes``: names of the score columns (``--classes``) in place of a header's.
    """
    opened = text_stream(stream, chunk_bytes)
    if isinstance(opened, NpyInput):
        return _npy(opened, delimiter, header, label_column, keep, key)
    stream = opened
    head, whole, skipped = peek_first_line(stream, min(chunk_bytes, PEEK_BYTES))
    body = head.lstrip()
    if not body:
        raise UsageError("no scores in the input")
    stream = Replay(head, stream)
    first_line = 1 + skipped  # the blank lines before the head were dropped, not kept
    keep = [name for item in keep for name in ([item] if isinstance(item, str) else item)]
    if body[:1] in (b"[", b"{") and delimiter is None and not header:
        if label_column is not None:
            raise UsageError("--label-column needs delimited text; JSON input has no columns")
        if weight_column is not None:
            raise UsageError(
                "--sample-weight-column needs delimited text; JSON input has no columns"
            )
        text = body.split(b"\n", 1)[0]
        return _json_source(stream, text, whole, key, keep, chunk_bytes, first_line)
    if key is not None:
        raise UsageError(
            "needs NDJSON objects (one per line); the input is delimited text", option="--key"
        )
    chunks = line_chunks(stream, chunk_bytes, first_line)
    seen: list[tuple[bytes, int]] = []
    first = _first_records(chunks, seen, 1)
    if not first:
        raise UsageError("no scores in the input")

    def second_record() -> Record | None:
        records = _first_records(chunks, seen, 2)
        return records[1] if len(records) > 1 else None

    return _delimited(
        first[0],
        second_record,
        seen,
        chunks,
        delimiter,
        header,
        label_column,
        keep,
        classes,
        weight_column,
        ready=functools.partial(more_waiting, stream),
    )


def _npy(
    opened: NpyInput,
    delimiter: str | None,
    header: bool | None,
    label_column: str | None,
    keep: Sequence[str],
    key: str | None,
) -> ScoreSource:
    """A .npy array: numbers only, so the options about text have nothing to act on."""
    given = {
        "--delimiter": delimiter is not None,
        "--header/--no-header": header is not None,
        "--label-column": label_column is not None,
        "--keep": bool(keep),
        "--key": key is not None,
    }
    for option, is_given in given.items():
        if is_given:
            raise UsageError("needs text input; a .npy array has no columns or text", option=option)
    from .npy import npy_source

    return npy_source(opened.stream, opened.original)


def _json_source(
    stream: BinaryIO,
    first_text: bytes,
    whole: bool,
    key: str | None,
    keep: Sequence[str],
    chunk_bytes: int,
    first_line: int,
) -> ScoreSource:
    """JSON input: NDJSON objects, NDJSON arrays, or one document streamed by bracket depth."""
    if first_text.startswith(b"{"):
        blocks = object_blocks(line_chunks(stream, chunk_bytes, first_line), key, keep)
        return ScoreSource(
            blocks=blocks, format=Format.NDJSON, kept_names=list(keep) if keep else None
        )
    if key is not None:
        raise UsageError(
            "needs NDJSON objects (one per line); the input holds JSON arrays", option="--key"
        )
    if keep:
        raise UsageError(
            "JSON arrays have no named fields to keep; use NDJSON objects or delimited text",
            option="--keep",
        )
    if whole:
        try:
            json_loads(first_text)
        except ValueError:
            pass
        else:
            chunks = line_chunks(stream, chunk_bytes, first_line)
            parse = functools.partial(parse_ndjson_chunk, width=first_row_width(first_text))
            return ScoreSource(
                blocks=ndjson_blocks(chunks),
                format=Format.NDJSON,
                chunks=Chunks(chunks, parse, functools.partial(more_waiting, stream)),
            )
    return ScoreSource(
        blocks=json_document_blocks(stream, chunk_bytes, first_line), format=Format.JSON
    )


def _first_records(
    chunks: Iterator[tuple[bytes, int]], seen: list[tuple[bytes, int]], wanted: int
) -> list[Record]:
    """Read on until ``wanted`` non-blank records are found; what was read is kept in ``seen``."""
    found: list[Record] = []
    lines: list[bytes] = []
    start = quotes = size = 0
    for raw, first in itertools.chain(list(seen), _remembered(chunks, seen)):
        pieces = raw.split(b"\n")
        for offset, line in enumerate(pieces[:-1] if raw.endswith(b"\n") else pieces):
            number = first + offset
            if not lines and is_blank(line):
                continue
            if not lines:
                start = number
                size = 0
            lines.append(line.rstrip(b"\r"))
            quotes += line.count(b'"')
            size += len(line)
            if size > MAX_LINE_BYTES:  # a quote that never closes must not take all memory
                raise DataError(
                    f"a quoted field that starts on line {start} is not closed "
                    f"within {MAX_LINE_BYTES >> 20} MiB",
                    line=start,
                    placed=True,
                )
            if quotes % 2 == 0:
                found.append((start, number, b"\n".join(lines)))
                lines, quotes = [], 0
                if len(found) == wanted:
                    return found
    if lines:
        raise DataError("a quoted field is not closed", line=start)
    return found


def _remembered(
    chunks: Iterator[tuple[bytes, int]], seen: list[tuple[bytes, int]]
) -> Iterator[tuple[bytes, int]]:
    for chunk in chunks:
        # Blank chunks before the first record are not kept: each chunk carries its own
        # line number, so nothing needs them, and 200 MB of blank lines stay unbuffered.
        if seen or chunk[0].strip():
            seen.append(chunk)
        yield chunk


def _valid_text(raw: bytes) -> bool:
    """UTF-8 with no control characters but tab and line breaks: text a header can be."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return not any(unicodedata.category(char) == "Cc" and char not in "\t\r\n" for char in text)


def _words(fields: list[str], skipped: set[int]) -> list[int]:
    """The columns whose field is text, not a number (an empty field is neither)."""
    return [
        column
        for column, field in enumerate(fields)
        if field and column not in skipped and not looks_numeric(field)
    ]


def _delimited(
    first: Record,
    second_record: Callable[[], Record | None],
    seen: list[tuple[bytes, int]],
    rest: Iterator[tuple[bytes, int]],
    delimiter: str | None,
    header: bool | None,
    label_column: str | None,
    keep: Sequence[str],
    class_names: Sequence[str] | None = None,
    weight_column: str | None = None,
    ready: Callable[[], bool] = lambda: True,
) -> ScoreSource:
    """Detect delimiter and header; a line after the first is read only for a header."""
    first_number, header_end, first_raw = first
    text = decode_line(first_raw)
    given = delimiter
    if delimiter is None:
        delimiter = detect_delimiter(text)
    elif delimiter == " ":
        delimiter = None  # --delimiter space: runs of spaces, as detection reads them
    fields = split_record(text, delimiter, first_number)
    # Columns kept by index hold text such as ids; they say nothing about a header.
    by_index = {int(column) for column in keep if column.isdigit()}
    words = _words(fields, by_index)
    is_header = header if header is not None else bool(words) and _valid_text(first_raw)
    notes: list[str] = []
    mostly_numbers = bool(words) and len(fields) - len(words) > len(fields) / 2
    if is_header and header is None and mostly_numbers and second_record() is None:
        # One line, mostly numbers, nothing after it: a row of scores with a typo
        # (`2,1,O.1`), not a header over no rows; read as data, its error names the field.
        is_header = False
    if is_header:
        following = second_record()
        if following is not None:
            next_number, _, next_raw = following
            next_text = decode_line(next_raw)
            if given is None and detect_delimiter(next_text) != delimiter:
                delimiter = detect_delimiter(next_text)
                fields = split_record(text, delimiter, first_number)
                words = _words(fields, by_index)
            count = len(split_record(next_text, delimiter, next_number))
            if count != len(fields):
                raise DataError(
                    f"line {next_number} has {count} values, "
                    f"but the header on line {first_number} has {len(fields)}",
                    line=next_number,
                    placed=True,
                )
        else:
            notes.append(NO_ROWS_NOTE)
        if header is None and mostly_numbers:
            column = words[0]
            notes.append(
                f"line {first_number} was read as a header although most of its fields are "
                f"numbers; {fields[column]!r} (column {column + 1}) is not. "
                "If it is a typo, --no-header reads the line as data"
            )
    names = fields if is_header else None
    width = len(fields)
    no_header = NO_HEADER
    if header is None and not is_header and words:
        # Only the control character kept it from being a header: say so, not "no header".
        no_header = (
            f"line {first_number} looks like a header but holds a control character, so it "
            "was read as data; --header reads it as the header"
        )
    label_index = resolve_label_column(label_column, names, width, no_header=no_header)
    kept = resolve_kept_columns(keep, names, width, no_header)
    weight_index = resolve_label_column(
        weight_column, names, width, "--sample-weight-column", no_header
    )
    if weight_index is not None and weight_index == label_index:
        raise UsageError("--sample-weight-column: it is also the --label-column")
    layout = Layout(delimiter, width, label_index, {}, kept, weight_index)
    if not layout.score_columns:
        raise UsageError(
            "no scores are left beside the label and kept columns"
            if kept
            else f"--label-column {label_column}: no scores are left beside it"
        )
    classes = None
    if names is not None or class_names is not None:
        classes = (
            list(class_names)
            if class_names is not None
            else [names[column] for column in layout.score_columns]  # type: ignore[index]
        )
        layout.label_lookup = {name: index for index, name in enumerate(classes)}
    chunks: Iterator[tuple[bytes, int]] = itertools.chain(seen, rest)
    if is_header:
        chunks = _skip_header(chunks, header_end)
    chunks = whole_records(chunks)
    blocks = delimited_blocks(chunks, layout)
    single = width == 1 and label_index is None and weight_index is None
    if single:
        blocks = single_vector_block(blocks)
    return ScoreSource(
        chunks=None
        if single
        else Chunks(chunks, functools.partial(parse_chunk, layout=layout), ready),
        blocks=blocks,
        classes=None if single else classes,
        single_vector=single,
        format=Format.DELIMITED,
        delimiter=delimiter,
        kept_names=[
            names[column] if names is not None else asked
            for asked, column in zip(keep, kept, strict=True)
        ]
        if keep
        else None,
        notes=notes,
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
