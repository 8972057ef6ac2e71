"""JSON documents and NDJSON, streamed row by row."""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Iterator

import numpy as np

from softmax_cli.errors import DataError
from softmax_cli.numerics import FloatArray

from .blocks import Block, parse_number
from .text import is_blank, line_numbers_of


def json_loads(raw: bytes | str) -> object:
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


def ndjson_blocks(chunks: Iterator[tuple[bytes, int]]) -> Iterator[Block]:
    width: int | None = None
    for raw, first_line in chunks:
        lines = raw.split(b"\n")
        fast = _plain_json_rows(b",".join(line for line in lines if not is_blank(line)))
        if fast is not None and fast.shape[1] == (width or fast.shape[1]):
            width = fast.shape[1]
            yield Block(
                values=fast, first_line=first_line, line_numbers=line_numbers_of(raw, first_line)
            )
            continue
        rows: list[list[float]] = []
        numbers: list[int] = []
        error: DataError | None = None
        for offset, line in enumerate(lines):
            if is_blank(line):
                continue
            number = first_line + offset
            try:
                try:
                    value = json_loads(line)
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
        document = json_loads(raw)
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
        parsed = json_loads(b"[" + piece[: cut + 1] + b"]")
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
        parsed = json_loads(b"[" + piece + b"]")
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


def json_document_blocks(chunks: Iterator[tuple[bytes, int]]) -> Iterator[Block]:
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
