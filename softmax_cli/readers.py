"""Readers: scores from arguments, delimited text, JSON and NDJSON, in blocks.

One entry point per source (``scores_from_arguments``, ``open_scores``);
format, delimiter and header are detected in one place (``_detect``) and can
be overridden.  Text is read as bytes in chunks of whole lines, parsed by
NumPy's C parser, and re-read line by line only when a chunk fails, to say
exactly where and to keep the rows before the bad line.
"""

from __future__ import annotations

import io
import itertools
import json
import math
import re
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import BinaryIO

import numpy as np

from .errors import DataError, InputUsageError
from .labels import explained, label_value
from .numerics import FloatArray

CHUNK_BYTES = 1 << 18  # 256 KiB: measured fastest of 64 KiB..4 MiB (cache-sized blocks)
MAX_LINE_BYTES = 64 << 20
BOM = b"\xef\xbb\xbf"


class Format(Enum):
    """How the input is laid out, sniffed from its first bytes."""

    DELIMITED = "delimited"
    JSON = "json"
    NDJSON = "ndjson"


@dataclass
class Block:
    """Rows of scores read together, with what is needed to say where a row came from."""

    values: FloatArray
    first_line: int
    line_numbers: Callable[[], Sequence[int]] | None = None
    labels: FloatArray | None = None

    def line_of(self, row: int) -> int:
        """Return the 1-based input line that row ``row`` of this block came from."""
        if self.line_numbers is None:
            return self.first_line + row
        return self.line_numbers()[row]


@dataclass
class ScoreSource:
    """What a reader found: class names (from a header), layout, and the blocks."""

    blocks: Iterator[Block]
    classes: list[str] | None = None
    single_vector: bool = False
    format: Format = Format.DELIMITED
    delimiter: str | None = None
    #: The block being worked on, so that an unexpected error can name its line.
    current: Block | None = None


def parse_number(text: str) -> float:
    """Parse one score with Python's float syntax; raise ValueError otherwise."""
    return float(text)


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# --- arguments ---------------------------------------------------------------


def scores_from_arguments(tokens: Sequence[str]) -> ScoreSource:
    """One or more rows from command-line tokens: commas join values, ``;`` starts a row."""
    rows: list[list[float]] = [[]]
    position = 0
    for token in tokens:
        pieces = token.split(";")
        for index, piece in enumerate(pieces):
            if index > 0 and rows[-1]:
                rows.append([])
            for text in piece.split(","):
                text = text.strip()
                if not text:
                    continue
                position += 1
                try:
                    rows[-1].append(parse_number(text))
                except ValueError:
                    raise DataError(f"argument {position}: {text!r} is not a number") from None
    rows = [row for row in rows if row]
    if not rows:
        raise InputUsageError("no scores given")
    width = len(rows[0])
    for number, row in enumerate(rows, start=1):
        if len(row) != width:
            raise DataError(
                f"row {number} has {len(row)} values, expected {width}", line=number, placed=True
            )
    values = np.array(rows, dtype=np.float64)
    return ScoreSource(blocks=iter([Block(values=values, first_line=1)]))


# --- chunked bytes -----------------------------------------------------------


def _more_waiting(stream: BinaryIO) -> bool:
    """True when more input can be read without blocking (files always can)."""
    try:
        import select

        ready, _, _ = select.select([stream.fileno()], [], [], 0)
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return True
    return bool(ready)


def _read_some(stream: BinaryIO, size: int) -> bytes:
    reader = getattr(stream, "read1", None)
    return reader(size) if reader is not None else stream.read(size)


def line_chunks(stream: BinaryIO, chunk_bytes: int = CHUNK_BYTES) -> Iterator[tuple[bytes, int]]:
    """Yield ``(bytes of whole lines, number of the first line)``.

    A chunk is handed on once it is large, or as soon as the producer pauses,
    so the first rows of a slow pipe come out before its last rows go in.
    """
    # A bytearray grows in place and a line without its end is searched only once,
    # so a line of many MiB read in small pipe-sized pieces costs linear time, not quadratic.
    pending = bytearray()
    searched = 0
    line = 1
    first = True
    while True:
        data = _read_some(stream, chunk_bytes)
        if first and data:
            first = False
            if data.startswith(BOM):
                data = data[len(BOM) :]
        if not data:
            if pending:
                yield bytes(pending) + b"\n", line
            return
        pending += data
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
        yield whole, line
        line += whole.count(b"\n")


def _is_blank(line: bytes) -> bool:
    return not line.strip()


def _split_fields(text: str, delimiter: str | None) -> list[str]:
    if delimiter is None:
        return text.split()
    return [piece.strip() for piece in text.split(delimiter)]


def _detect_delimiter(line: str) -> str | None:
    """Tab, then comma, then runs of white space (``None``), from one line."""
    if "\t" in line:
        return "\t"
    if "," in line:
        return ","
    return None


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace").rstrip("\r\n")


def _unquote(name: str) -> str:
    if len(name) >= 2 and name[0] == name[-1] and name[0] in "\"'":
        return name[1:-1]
    return name


# --- delimited text ----------------------------------------------------------


@dataclass
class _Layout:
    delimiter: str | None
    width: int
    label_index: int | None
    label_lookup: dict[str, int]


def _resolve_label_column(column: str | None, names: list[str] | None, width: int) -> int | None:
    if column is None:
        return None
    if names is not None and column in names:
        return names.index(column)
    try:
        index = int(column)
    except ValueError:
        if names is None:
            raise InputUsageError(
                f"--label-column {column!r}: the input has no header to find it in"
            ) from None
        raise InputUsageError(
            f"--label-column {column!r}: no such column (columns: {', '.join(names)})"
        ) from None
    if not 0 <= index < width:
        raise InputUsageError(f"--label-column {index} is out of range for {width} columns")
    return index


def _parse_slowly(
    raw: bytes, first_line: int, layout: _Layout
) -> tuple[FloatArray, FloatArray | None, list[int], DataError | None]:
    """Parse a chunk line by line: the rows before the first bad line, and its error."""
    rows: list[list[float]] = []
    labels: list[float] = []
    lines: list[int] = []
    error: DataError | None = None
    for offset, raw_line in enumerate(raw.split(b"\n")):
        if _is_blank(raw_line):
            continue
        number = first_line + offset
        fields = _split_fields(_decode(raw_line), layout.delimiter)
        if len(fields) != layout.width:
            error = DataError(
                f"line {number} has {len(fields)} values, expected {layout.width}",
                line=number,
                placed=True,
            )
            break
        row: list[float] = []
        try:
            for column, text in enumerate(fields, start=1):
                if column - 1 == layout.label_index:
                    labels.append(_label_value(text, layout, number, column))
                    continue
                try:
                    row.append(parse_number(text))
                except ValueError:
                    shown = text if len(text) <= 40 else text[:37] + "..."
                    raise DataError(
                        f"{shown!r} is not a number", line=number, column=column
                    ) from None
        except DataError as problem:
            error = problem
            if len(labels) > len(rows):
                labels.pop()
            break
        rows.append(row)
        lines.append(number)
    width = layout.width - (layout.label_index is not None)
    values = np.array(rows, dtype=np.float64).reshape(len(rows), width)
    label_array = np.array(labels, dtype=np.float64) if layout.label_index is not None else None
    return values, label_array, lines, error


def _label_value(text: str, layout: _Layout, line: int, column: int) -> float:
    try:
        return label_value(text, layout.label_lookup)
    except ValueError:
        raise DataError(f"label {explained(text, None)}", line=line, column=column) from None


# Bytes a chunk may hold for the JSON route: JSON numbers, separators, line ends.
_JSON_NUMBER_BYTES = b"0123456789+-.eE,\n\r\t "
_MINUS_ZERO_INTEGER = re.compile(rb"-0(?![0-9.eE])")


def _parse_as_json(raw: bytes, layout: _Layout) -> FloatArray | None:
    """A chunk of plain decimal numbers read as one JSON array of rows; None if it is not one.

    orjson reads a JSON number to the same float64 as Python's ``float`` (correctly
    rounded), and JSON numbers are a subset of Python's float syntax, so whatever
    this accepts reads exactly as the slow path would.  Anything else (``inf``,
    ``+1``, ``.5``, blank or ragged lines, quotes, words) returns None.
    """
    delimiter = layout.delimiter
    if delimiter is None:
        # Runs of white space: only a single column has no separator to translate.
        if layout.width != 1 or b" " in raw or b"\t" in raw or b"," in raw:
            return None
    elif delimiter == "\t":
        if b"," in raw:
            return None
        raw = raw.replace(b"\t", b",")
    elif delimiter != ",":
        return None
    # Blank lines at the end (the last chunk always has one) hold no rows.
    body = raw.rstrip(b"\r\n")
    if not body or body.translate(None, _JSON_NUMBER_BYTES):
        return None
    import orjson

    try:
        rows = orjson.loads(b"[[" + body.replace(b"\n", b"],[") + b"]]")
        table = np.array(rows, dtype=np.float64)
    except (ValueError, TypeError):
        return None
    if table.ndim != 2 or table.shape[1] != layout.width:
        return None
    # JSON reads the integer ``-0`` as 0; Python's float keeps the sign.
    if not table.all() and _MINUS_ZERO_INTEGER.search(raw):
        return None
    return table


def _numeric_labels_only(layout: _Layout) -> bool:
    """True when no class name could be mistaken for a number in the label column."""
    return not any(_looks_numeric(name) for name in layout.label_lookup)


def _parse_fast(raw: bytes, layout: _Layout) -> tuple[FloatArray, FloatArray | None] | None:
    """orjson or NumPy's C parser over a whole chunk; None when anything needs a closer look."""
    table = _parse_as_json(raw, layout) if _numeric_labels_only(layout) else None
    if table is not None:
        return _split_labels(table, layout)
    converters = None
    if layout.label_index is not None and layout.label_lookup:
        lookup = {name.encode(): float(index) for name, index in layout.label_lookup.items()}

        def label_or_name(text: str | bytes) -> float:
            key = text.encode("latin-1") if isinstance(text, str) else text
            key = key.strip()
            return lookup[key] if key in lookup else float(key)

        converters = {layout.label_index: label_or_name}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table = np.loadtxt(
                io.BytesIO(raw),
                delimiter=layout.delimiter,
                dtype=np.float64,
                ndmin=2,
                comments=None,
                converters=converters,
                encoding="latin-1",
            )
    except (ValueError, KeyError, TypeError, IndexError):
        return None
    if table.shape[0] == 0:
        return np.empty((0, layout.width - (layout.label_index is not None))), (
            np.empty(0) if layout.label_index is not None else None
        )
    if table.shape[1] != layout.width:
        return None
    return _split_labels(table, layout)


def _split_labels(table: FloatArray, layout: _Layout) -> tuple[FloatArray, FloatArray | None]:
    """Scores and, with a label column, the labels taken out of them."""
    if layout.label_index is None:
        return table, None
    labels = table[:, layout.label_index].copy()
    values = np.ascontiguousarray(np.delete(table, layout.label_index, axis=1))
    return values, labels


def _line_numbers_of(raw: bytes, first_line: int) -> Callable[[], list[int]]:
    def compute() -> list[int]:
        return [
            first_line + offset
            for offset, line in enumerate(raw.split(b"\n"))
            if not _is_blank(line)
        ]

    return compute


def _delimited_blocks(chunks: Iterator[tuple[bytes, int]], layout: _Layout) -> Iterator[Block]:
    for raw, first_line in chunks:
        parsed = _parse_fast(raw, layout)
        if parsed is not None:
            values, labels = parsed
            if values.shape[0]:
                yield Block(
                    values=values,
                    first_line=first_line,
                    line_numbers=_line_numbers_of(raw, first_line),
                    labels=labels,
                )
            continue
        values, labels, lines, error = _parse_slowly(raw, first_line, layout)
        if values.shape[0]:
            yield Block(
                values=values,
                first_line=first_line,
                line_numbers=lambda lines=lines: lines,
                labels=labels,
            )
        if error is not None:
            raise error


def _single_vector_block(blocks: Iterator[Block]) -> Iterator[Block]:
    """Join a one-column input into one row: ``seq 5 | softmax`` is one vector."""
    parts: list[FloatArray] = []
    first_line = None
    for block in blocks:
        if first_line is None:
            first_line = block.first_line
        nan = np.isnan(block.values[:, 0])
        if nan.any():
            # Found here, where each value still has its line; in the joined vector it has none.
            raise DataError("value is NaN", line=block.line_of(int(np.argmax(nan))), column=1)
        parts.append(block.values[:, 0] if block.values.shape[1] else block.values[:, :0])
    if not parts:
        return
    vector = np.concatenate(parts)[np.newaxis, :]
    yield Block(values=np.ascontiguousarray(vector), first_line=first_line or 1)


# --- JSON and NDJSON ---------------------------------------------------------


def _json_loads(raw: bytes | str) -> object:
    """orjson when it can; the standard library for ``NaN``/``Infinity`` tokens."""
    try:
        import orjson

        return orjson.loads(raw)
    except ImportError:  # pragma: no cover - orjson is a dependency
        pass
    except ValueError:
        pass
    return json.loads(raw)


def _json_number(value: object, line: int, column: int) -> float:
    if isinstance(value, bool) or value is None:
        raise DataError(f"{json.dumps(value)} is not a number", line=line, column=column)
    if isinstance(value, (int, float)):
        try:
            return float(value)
        except OverflowError:
            # As float("1e400") and the delimited reader: too large for a float64 is infinite.
            return math.inf if value > 0 else -math.inf
    if isinstance(value, str):
        try:
            return parse_number(value)
        except ValueError:
            pass
    raise DataError(f"{json.dumps(value)[:40]} is not a number", line=line, column=column)


def _json_rows(document: object, line: int) -> list[list[float]]:
    """Rows from one JSON value on ``line``: an array of numbers, or an array of such arrays."""
    if not isinstance(document, list):
        raise DataError("expected a JSON array of numbers or of arrays", line=line)
    if not document or any(item == [] for item in document):
        raise DataError("an empty array holds no scores", line=line)
    if document and all(isinstance(item, list) for item in document):
        return [
            [_json_number(value, line, column) for column, value in enumerate(row, start=1)]
            for row in document
        ]
    if any(isinstance(item, list) for item in document):
        raise DataError("mixes numbers and arrays; expected one or the other", line=line)
    return [[_json_number(value, line, column) for column, value in enumerate(document, start=1)]]


_SUSPECT_JSON = re.compile(rb'true|false|null|"|NaN|Infinity')


def _plain_json_rows(body: bytes) -> FloatArray | None:
    """``[..],[..]`` of plain JSON numbers as rows, in one orjson call; None for anything else.

    Anything that needs a closer look (strings, ``null``, ``NaN`` tokens, ragged or
    empty or nested rows) returns None, and the caller reads it value by value.
    """
    if _SUSPECT_JSON.search(body):
        return None
    import orjson

    try:
        table = np.array(orjson.loads(b"[" + body + b"]"), dtype=np.float64)
    except (ValueError, TypeError):
        return None
    return table if table.ndim == 2 and table.shape[1] else None


def _ndjson_blocks(chunks: Iterator[tuple[bytes, int]]) -> Iterator[Block]:
    width: int | None = None
    for raw, first_line in chunks:
        lines = raw.split(b"\n")
        fast = _plain_json_rows(b",".join(line for line in lines if not _is_blank(line)))
        if fast is not None and fast.shape[1] == (width or fast.shape[1]):
            width = fast.shape[1]
            yield Block(
                values=fast, first_line=first_line, line_numbers=_line_numbers_of(raw, first_line)
            )
            continue
        rows: list[list[float]] = []
        numbers: list[int] = []
        error: DataError | None = None
        for offset, line in enumerate(lines):
            if _is_blank(line):
                continue
            number = first_line + offset
            try:
                try:
                    value = _json_loads(line)
                except ValueError as problem:
                    raise _json_error(problem, line, number) from None
                for row in _json_rows(value, number):
                    if width is None:
                        width = len(row)
                    if len(row) != width:
                        raise DataError(
                            f"line {number} has {len(row)} values, expected {width}",
                            line=number,
                            placed=True,
                        )
                    rows.append(row)
                    numbers.append(number)
            except DataError as problem:
                error = problem
                break
        if rows:
            yield Block(
                values=np.array(rows, dtype=np.float64),
                first_line=first_line,
                line_numbers=lambda numbers=numbers: numbers,
            )
        if error is not None:
            raise error


def _json_reason(problem: ValueError) -> str:
    message = getattr(problem, "msg", None) or str(problem)
    return message.split(":")[0].strip()


def _json_error(problem: ValueError, raw: bytes, first_line: int) -> DataError:
    """A JSON syntax error placed at its line and column, never past the last line."""
    if isinstance(problem, UnicodeDecodeError):
        text, position, reason = raw.decode("latin-1"), problem.start, "not UTF-8 text"
    else:
        text = raw.decode("utf-8", errors="replace")
        position, reason = getattr(problem, "pos", None), _json_reason(problem)
    if position is None:
        return DataError(f"invalid JSON ({reason})", line=first_line)
    end = len(text.rstrip())
    if position >= end:
        position, reason = end, "it ends too early"
    line = first_line + text.count("\n", 0, position)
    column = position - text.rfind("\n", 0, position)
    return DataError(f"invalid JSON ({reason})", line=line, column=column)


def _json_vector(raw: bytes, first_line: int) -> Iterator[Block]:
    """A JSON array of numbers, read whole: it is one vector, as a single column is."""
    try:
        document = _json_loads(raw)
    except ValueError as problem:
        raise _json_error(problem, raw, first_line) from None
    (row,) = _json_rows(document, first_line)  # its first item is no array: one row or an error
    yield Block(values=np.array([row], dtype=np.float64), first_line=first_line)


def _newline_counts(piece: bytes) -> np.ndarray:
    """How many newlines come before each byte of ``piece`` (for placing rows)."""
    return np.cumsum(np.frombuffer(piece, dtype=np.uint8) == ord("\n"))


def _rows_before(piece: bytes, problem: ValueError) -> list[object]:
    """The whole rows before a JSON syntax error in ``piece``, parsed; [] if none can be."""
    position = getattr(problem, "pos", None)  # counts the "[" put in front of the piece
    cut = piece.rfind(b"]", 0, position - 1) if position else -1
    if cut < 0:
        return []
    try:
        parsed = _json_loads(b"[" + piece[: cut + 1] + b"]")
    except ValueError:
        return []
    return parsed if isinstance(parsed, list) else []


def _document_rows(
    piece: bytes, first_line: int, width: int | None
) -> tuple[Block | None, int | None, DataError | None]:
    """The rows of a run of whole inner arrays ``[..], [..]`` of a JSON document.

    Returns the rows before the first bad one (if any), the row width, and the error
    of the bad row, so that the rows before it are written before the error is raised.
    """
    starts = [match.start() for match in re.finditer(rb"\[", piece)]

    def line_numbers() -> list[int]:
        before = _newline_counts(piece)
        return [first_line + int(before[start]) for start in starts]

    fast = _plain_json_rows(piece)
    if fast is not None and fast.shape[1] == (width or fast.shape[1]):
        block = Block(values=fast, first_line=first_line, line_numbers=line_numbers)
        return block, fast.shape[1], None
    error: DataError | None = None
    try:
        parsed = _json_loads(b"[" + piece + b"]")
    except ValueError as problem:
        error = _json_error(problem, b" " + piece, first_line)
        parsed = _rows_before(piece, problem)
    lines = line_numbers()
    rows: list[list[float]] = []
    for index, row in enumerate(parsed):
        line = lines[index] if index < len(lines) else first_line
        try:
            if not isinstance(row, list) or not row:
                raise DataError("expected a non-empty array of numbers", line=line)
            values = [_json_number(value, line, column) for column, value in enumerate(row, 1)]
            width = width or len(values)
            if len(values) != width:
                raise DataError(
                    f"line {line} has {len(values)} values, expected {width}",
                    line=line,
                    placed=True,
                )
        except DataError as problem:
            error = problem
            break
        rows.append(values)
    if not rows:
        return None, width, error
    block = Block(
        values=np.array(rows, dtype=np.float64), first_line=first_line, line_numbers=lambda: lines
    )
    return block, width, error


def _closing_bracket(text: bytes) -> int:
    """Index of the first ``]`` that closes more than it opens: the end of the document."""
    codes = np.frombuffer(text, dtype=np.uint8)
    running = np.cumsum((codes == ord("[")).astype(np.int64) - (codes == ord("]")))
    return int(np.argmax(running < 0))


def _nothing_after(rest: bytes, line: int, more: Iterator[tuple[bytes, int]]) -> None:
    """Raise at the first non-blank byte after a JSON document, if there is one."""
    for text, start in itertools.chain([(rest, line)], more):
        stripped = text.lstrip()
        if stripped:
            where = start + text.count(b"\n", 0, len(text) - len(stripped))
            raise DataError("extra data after the JSON document", line=where)


def _json_document_blocks(chunks: Iterator[tuple[bytes, int]]) -> Iterator[Block]:
    """A JSON document streamed: each run of whole inner arrays ``[...]`` is one block.

    An array of arrays is cut after its last complete row as it arrives, so memory
    stays bounded; an array of numbers is one vector and is read whole.
    """
    buffered = b""
    line = 1  # the line at which ``buffered`` starts
    opened = False
    width: int | None = None
    source = iter(chunks)
    for raw, start in source:
        if not buffered:
            line = start
        buffered += raw
        if not opened:
            body = buffered.lstrip()
            if len(body) < 2 or not body[1:].lstrip():
                continue
            if body[1:].lstrip()[:1] != b"[":
                rest = buffered + b"".join(more for more, _ in source)
                yield from _json_vector(rest, line)
                return
            skipped = len(buffered) - len(body) + 1
            line += buffered.count(b"\n", 0, skipped)
            buffered, opened = buffered[skipped:], True
        cut = buffered.rfind(b"]")
        if cut < 0:
            continue
        depth = buffered.count(b"[", 0, cut + 1) - buffered.count(b"]", 0, cut + 1)
        if depth > 0:
            continue
        final = depth < 0
        if final:  # the bracket that closes the document, not a later one
            cut = _closing_bracket(buffered[: cut + 1])
        piece = buffered[:cut] if final else buffered[: cut + 1]
        lead = len(piece) - len(piece.lstrip())
        text = piece[lead:]
        if text.startswith(b","):
            text = text[1:]
        if text.strip():
            block, width, error = _document_rows(text, line + piece.count(b"\n", 0, lead), width)
            if block is not None:
                yield block
            if error is not None:
                raise error
        line += buffered.count(b"\n", 0, cut + 1)
        buffered = buffered[cut + 1 :]
        if final:
            _nothing_after(buffered, line, source)
            return
    last = line + buffered.rstrip().count(b"\n")  # the last line that holds anything
    raise DataError("invalid JSON (it ends too early)", line=last)


# --- detection and entry point -----------------------------------------------


def open_scores(
    stream: BinaryIO,
    *,
    delimiter: str | None = None,
    header: bool | None = None,
    label_column: str | None = None,
    chunk_bytes: int = CHUNK_BYTES,
) -> ScoreSource:
    """Sniff and open a byte stream of scores; blocks are parsed as they are read."""
    chunks = line_chunks(stream, chunk_bytes)
    seen: list[tuple[bytes, int]] = []
    first_text: bytes | None = None
    first_number = 0
    for raw, start in chunks:
        seen.append((raw, start))
        for offset, line in enumerate(raw.split(b"\n")):
            if not _is_blank(line):
                first_text, first_number = line, start + offset
                break
        if first_text is not None:
            break
    if first_text is None:
        raise InputUsageError("no scores in the input")
    return _detect(
        first_text, first_number, itertools.chain(seen, chunks), delimiter, header, label_column
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
            _json_loads(first_line)
        except ValueError:
            return ScoreSource(blocks=_json_document_blocks(chunks), format=Format.JSON)
        return ScoreSource(blocks=_ndjson_blocks(chunks), format=Format.NDJSON)

    text = _decode(first_line)
    if delimiter is None:
        delimiter = _detect_delimiter(text)
    elif delimiter == " ":
        delimiter = None  # --delimiter space: runs of spaces, as detection reads them
    fields = _split_fields(text, delimiter)
    # An empty field makes no header: "1,2," is data with a missing value, not class names.
    is_header = header if header is not None else any(f and not _looks_numeric(f) for f in fields)
    names = [_unquote(name) for name in fields] if is_header else None
    width = len(fields)
    label_index = _resolve_label_column(label_column, names, width)
    if label_index is not None and width == 1:
        raise InputUsageError(f"--label-column {label_column}: no scores are left beside it")
    classes = None
    lookup: dict[str, int] = {}
    if names is not None:
        classes = [name for index, name in enumerate(names) if index != label_index]
        lookup = {name: index for index, name in enumerate(classes)}
    layout = _Layout(delimiter, width, label_index, lookup)
    if is_header:
        chunks = _skip_header(chunks, first_number)
    blocks = _delimited_blocks(chunks, layout)
    single = width == 1 and label_index is None
    if single:
        blocks = _single_vector_block(blocks)
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
