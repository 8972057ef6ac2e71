"""JSON documents and NDJSON, streamed row by row."""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Iterator, Sequence
from typing import BinaryIO

import numpy as np

from softmax_cli import native
from softmax_cli.errors import DataError
from softmax_cli.numerics import FloatArray

from .blocks import Block, parse_number
from .decode import Replay
from .peek import raw_chunks
from .text import CHUNK_BYTES, is_blank, line_chunks, line_numbers_of


def json_loads(raw: bytes | str) -> object:
    """orjson when it can; the standard library for ``NaN``/``Infinity`` tokens."""
    try:
        import orjson

        return orjson.loads(raw)
    except ImportError:  # pragma: no cover - orjson is a dependency
        pass
    except ValueError:
        pass
    try:
        return json.loads(raw)
    except RecursionError:
        raise ValueError("nested too deeply") from None


_OBJECT_WITHOUT_KEY = "a JSON object; name the key holding the scores with --key"
_NESTED = "an array nested deeper than a row"


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
    if isinstance(document, dict):
        raise DataError(_OBJECT_WITHOUT_KEY, line=line)
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


# A byte of each token NumPy would turn into a number without complaint (true,
# false, null, strings) or orjson rejects (NaN, Infinity); plain JSON numbers have
# none of them.  Looking for single bytes is a memchr each, far faster than a regex.
_SUSPECT_BYTES = (b'"', b"u", b"a", b"N", b"I")


def _suspect(body: bytes) -> bool:
    """True when ``body`` may hold more than plain JSON numbers."""
    return any(byte in body for byte in _SUSPECT_BYTES)


def _plain_json_rows(body: bytes) -> FloatArray | None:
    """``[..],[..]`` of plain JSON numbers as rows, in one orjson call; None for anything else.

    Anything that needs a closer look (strings, ``null``, ``NaN`` tokens, ragged or
    empty or nested rows) returns None, and the caller reads it value by value.
    """
    if _suspect(body):
        return None
    import orjson

    try:
        table = np.array(orjson.loads(b"[" + body + b"]"), dtype=np.float64)
    except (ValueError, TypeError):
        return None
    return table if table.ndim == 2 and table.shape[1] else None


def ndjson_blocks(chunks: Iterator[tuple[bytes, int]], width: int | None = None) -> Iterator[Block]:
    """NDJSON of arrays: each line one row (or an array of rows); ``width`` if already known."""
    for raw, first_line in chunks:
        fast = native.parse_ndjson(raw, width)
        lines = [] if fast is not None else raw.split(b"\n")
        if fast is None:
            kept = [line for line in lines if not is_blank(line)]
            fast = _plain_json_rows(b",".join(kept))
            if fast is not None and fast.shape[0] != len(kept):
                fast = None  # a line of two arrays (`[1,2],[3,4]`) is no JSON: said below
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
                found = _line_rows(line, number)
                expected = width or len(found[0])
                bad = next((row for row in found if len(row) != expected), None)
                if bad is not None:
                    raise DataError(
                        f"line {number} has {len(bad)} values, expected {expected}",
                        line=number,
                        placed=True,
                    )
            except DataError as problem:
                error = problem
                if line.lstrip()[1:].lstrip()[:1] == b"[":
                    # A line of rows: read it as a document, for the rows before the bad one.
                    found, error = _rows_of_line(line, number, width)
                    rows += found
                    numbers += [number] * len(found)
                    error = error or problem
                break
            width = expected
            rows += found
            numbers += [number] * len(found)
        if rows:
            yield Block(
                values=np.array(rows, dtype=np.float64),
                first_line=first_line,
                line_numbers=lambda numbers=numbers: numbers,
            )
        if error is not None:
            raise error


def parse_ndjson_chunk(
    raw: bytes, first_line: int, width: int | None
) -> tuple[Block | None, DataError | None]:
    """One chunk of NDJSON arrays, for a worker thread: its rows (None if none) and the
    error of a bad line; ``width`` is the first row's, so every chunk checks the same."""
    found: list[Block] = []  # one block at most: a chunk's rows are read together
    try:
        found.extend(ndjson_blocks(iter([(raw, first_line)]), width))
    except DataError as problem:
        return (found or [None])[0], problem
    return (found or [None])[0], None


def first_row_width(first_line: bytes) -> int | None:
    """How many numbers the first row of NDJSON arrays has, the width every row must have;
    None when the first line holds no row (its error is raised as it is read)."""
    try:
        value = json_loads(first_line)
    except ValueError:
        return None
    if not isinstance(value, list) or not value:
        return None
    row = value[0] if isinstance(value[0], list) else value
    return len(row) or None


def _line_rows(line: bytes, number: int) -> list[list[float]]:
    """The rows of one NDJSON line: an array of numbers, or an array of such arrays."""
    try:
        value = json_loads(line)
    except ValueError as problem:
        nested = _nested_error(line, number)
        raise nested or _json_error(problem, line, number) from None
    try:
        return _json_rows(value, number)
    except DataError as problem:
        raise _nested_error(line, number) or problem from None


def _rows_of_line(
    line: bytes, number: int, width: int | None
) -> tuple[list[list[float]], DataError | None]:
    """A line holding an array of rows, read as a document: the rows before its first
    bad row, and that row's error."""
    document = _Document()
    document.line, document.width = number, width
    rows: list[list[float]] = []
    try:
        for block in document.feed(line):
            rows += block.values.tolist()
        if document.close_line is None:
            raise document.ends_too_early()
        if document.buffer.strip():
            raise DataError("extra data after the JSON array", line=number)
    except DataError as problem:
        return rows, problem
    return rows, None


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


# --- a JSON document, streamed by bracket depth over raw bytes ---------------------

_STRING_STOP = re.compile(rb'["\\]')
_OPEN, _CLOSE, _NEWLINE = ord("["), ord("]"), ord("\n")


class _Depth:
    """Bracket depth over raw bytes outside strings; the state carries across chunks."""

    def __init__(self) -> None:
        self.depth = 0
        self.in_string = False
        self.escaped = False  # a backslash inside a string ended the last chunk

    def step(self, data: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return where the brackets outside strings are, +1 or -1 for each, and the
        depth after each (only brackets are counted: a small fraction of the bytes)."""
        codes = np.frombuffer(data, dtype=np.uint8)
        at = np.flatnonzero((codes == _OPEN) | (codes == _CLOSE))
        bounds = self._strings(data)
        if bounds is not None and len(at):
            at = at[np.searchsorted(bounds, at, side="right") % 2 == 0]
        sign = np.where(codes[at] == _OPEN, 1, -1)
        depth = np.cumsum(sign) + self.depth
        if len(depth):
            self.depth = int(depth[-1])
        return at, sign, depth

    def _strings(self, data: bytes) -> np.ndarray | None:
        """Where JSON strings start and end (past the quote), or None when there is none
        (the usual case): a byte is inside one when an odd number of bounds is at or
        before it."""
        if not self.in_string and b'"' not in data:
            return None
        size = len(data)
        bounds: list[int] = []
        start, at = (0, 0) if self.in_string else (-1, 0)
        if self.in_string and self.escaped:
            at, self.escaped = 1, False
        while True:
            if start < 0:
                start = data.find(b'"', at)
                if start < 0:
                    break
                at = start + 1
                continue
            stop = _STRING_STOP.search(data, at)
            if stop is None:
                break
            end = stop.start()
            if data[end] == ord("\\"):
                if end + 1 >= size:
                    self.escaped = True
                    break
                at = end + 2
                continue
            bounds += [start, end + 1]
            start, at = -1, end + 1
        self.in_string = start >= 0
        if self.in_string:
            bounds.append(start)
        return np.array(bounds, dtype=np.int64)


def _nested_error(raw: bytes, line: int, allowed: int = 2) -> DataError | None:
    """The first ``[`` of one line that opens deeper than ``allowed``, as an error."""
    at, sign, depth = _Depth().step(raw)
    deep = at[(sign > 0) & (depth > allowed)]
    if not len(deep):
        return None
    return DataError(_NESTED, line=line, column=int(deep[0]) + 1)


def _too_long(line: int, column: int) -> DataError:
    from .text import MAX_LINE_BYTES  # read when needed, so a test can lower it

    limit = MAX_LINE_BYTES >> 20
    return DataError(
        f"a row that starts here is longer than {limit} MiB (is it ever closed?)",
        line=line,
        column=column,
    )


class _Document:
    """Reads one JSON array of arrays, cutting rows after each complete inner array.

    ``buffer`` holds the bytes not yet made rows: at most the unfinished row and
    the chunk being read, so memory is bounded by the longest row.
    """

    def __init__(self, first_line: int = 1) -> None:
        self.buffer = bytearray()
        self.line = first_line  # where buffer[0] is
        self.column = 1
        self.depth = _Depth()
        self.opened = False
        self.vector: bool | None = None  # an array of numbers (one row) or of rows
        self.starts: list[int] = []  # offsets in ``buffer`` of rows begun but not closed
        self.rows = 0  # rows read so far, for placing errors on long lines
        self.last_line = 0  # the line the last row ended on
        self.width: int | None = None
        self.open_line = first_line
        self.close_line: int | None = None  # set once the document is closed

    def where(self, position: int, text: bytes | bytearray | None = None) -> tuple[int, int]:
        """Line and column of ``buffer[position]``."""
        text = self.buffer if text is None else text
        newlines = text.count(b"\n", 0, position)
        if not newlines:
            return self.line, self.column + position
        return self.line + newlines, position - text.rfind(b"\n", 0, position)

    def advance(self, cut: int) -> None:
        """Forget ``buffer[:cut]``, keeping track of the line and column after it."""
        newline = self.buffer.rfind(b"\n", 0, cut)
        if newline >= 0:
            self.line += self.buffer.count(b"\n", 0, cut)
            self.column = cut - newline
        else:
            self.column += cut
        del self.buffer[:cut]
        self.starts = [start - cut for start in self.starts]

    def feed(self, data: bytes) -> Iterator[Block]:
        """Rows completed by ``data``; sets ``close_line`` when the document ends."""
        from .text import MAX_LINE_BYTES  # read when needed, so a test can lower it

        scanned = len(self.buffer)
        self.buffer += data
        if self.vector is None:
            body = self.buffer.lstrip()
            if not self.opened:
                self.advance(len(self.buffer) - len(body))  # to the opening bracket
                if not body:
                    return
                self.opened, self.open_line = True, self.line
                scanned = 0
            if not body[1:].lstrip():
                return
            self.vector = body[1:].lstrip()[:1] != b"["
            scanned = 0
        size = len(self.buffer) - scanned
        at, sign, depth = self.depth.step(bytes(self.buffer[scanned:]))
        opening = sign > 0
        opens, open_depth = at[opening], depth[opening]
        closes, close_depth = at[~opening], depth[~opening]
        deep = opens[open_depth > 2]
        ends = closes[close_depth == 0]
        stop = min(int(deep[0]) if len(deep) else size, int(ends[0]) if len(ends) else size)
        if not self.vector:
            starts = opens[(open_depth == 2) & (opens < stop)] + scanned
            row_ends = closes[(close_depth == 1) & (closes < stop)] + scanned
            self.starts.extend(starts.tolist())
            if len(row_ends):
                spans = list(zip(self.starts, row_ends.tolist(), strict=False))
                self.starts = self.starts[len(spans) :]
                cut = spans[-1][1] + 1
                piece = bytes(self.buffer[:cut])
                yield from self._rows(piece, spans)
                self.advance(cut)
                scanned -= cut
        if stop < size:
            at = stop + scanned
            if len(deep) and stop == deep[0]:
                line, column = self.where(at)
                raise DataError(_NESTED, line=line, column=column)
            if self.vector:
                yield self._vector(bytes(self.buffer[: at + 1]))
            else:
                self._gap(self.buffer, 0, at, final=True)
            self.close_line = self.where(at)[0]
            self.advance(at + 1)
            return
        if len(self.buffer) > MAX_LINE_BYTES:
            start = self.starts[0] if self.starts else 0
            raise _too_long(*self.where(start))

    def ends_too_early(self) -> DataError:
        """The input ended inside the document: say where, and which row is left open."""
        last = self.line + self.buffer.rstrip().count(b"\n")
        if self.starts:
            line, column = self.where(self.starts[0])
            what = f"the row at line {line}, column {column} is not closed"
        else:
            what = "the document is not closed"
        return DataError(f"invalid JSON (it ends too early: {what})", line=last)

    def _gap(self, text: bytes | bytearray, begin: int, end: int, final: bool = False) -> None:
        """Check what lies between two rows: one comma (none before the first or after the last)."""
        if self.rows == 0 and not final:
            begin = text.index(b"[", begin) + 1  # the document's own bracket
        gap = bytes(text[begin:end])
        at = len(gap) - len(gap.lstrip())
        comma = self.rows > 0 and gap.startswith(b",", at)
        if comma:
            at += 1
            at += len(gap) - at - len(gap[at:].lstrip())
        if at < len(gap):  # something besides the comma
            message = "expected an array of numbers for each row"
            if gap.startswith(b",", at):
                message = "invalid JSON (a comma with no row before it)"
        elif final and comma:
            at, message = gap.rindex(b","), "invalid JSON (a comma with no row after it)"
        elif not final and self.rows and not comma:
            message = "invalid JSON (expected a comma between rows)"
        else:
            return
        line, column = self.where(begin + at, text)
        raise DataError(message, line=line, column=column)

    def _rows(self, piece: bytes, spans: list[tuple[int, int]]) -> Iterator[Block]:
        """The rows of ``piece`` (whole rows at ``spans``); good rows first, then any error."""
        starts = [start for start, _ in spans]
        line = self.line

        def line_numbers() -> list[int]:
            before = np.cumsum(np.frombuffer(piece, dtype=np.uint8) == _NEWLINE)
            return [line + int(before[start]) for start in starts]

        first = spans[0][0]
        lead = piece[:first].strip()
        if lead == (b"," if self.rows else b"["):
            table = _plain_json_rows(piece[first:])
            if table is not None and len(table) == len(spans):
                if table.shape[1] == (self.width or table.shape[1]):
                    self.width = table.shape[1]
                    self.rows += len(spans)
                    self.last_line = self.where(spans[-1][1], piece)[0]
                    yield Block(values=table, first_line=line, line_numbers=line_numbers)
                    return
        rows: list[list[float]] = []
        numbers: list[int] = []
        error: DataError | None = None
        previous = 0
        for start, end in spans:
            try:
                self._gap(piece, previous, start)
                at_line = self.where(start, piece)[0]
                numbers.append(at_line)
                rows.append(self._row(piece[start : end + 1], start, piece, at_line))
                self.last_line = self.where(end, piece)[0]
            except DataError as problem:
                numbers = numbers[: len(rows)]
                error = problem
                break
            self.rows += 1
            previous = end + 1
        if rows:
            yield Block(
                values=np.array(rows, dtype=np.float64),
                first_line=numbers[0],
                line_numbers=lambda: numbers,
            )
        if error is not None:
            raise error

    def _row(self, raw: bytes, start: int, piece: bytes, line: int) -> list[float]:
        """One row's numbers, its errors placed (a row sharing its line names its number)."""
        try:
            value = json_loads(raw)
        except ValueError as problem:
            if isinstance(problem, UnicodeDecodeError):
                position, reason = problem.start, "not UTF-8 text"
            else:
                position, reason = getattr(problem, "pos", None) or 0, _json_reason(problem)
            at_line, at_column = self.where(start + position, piece)
            raise DataError(f"invalid JSON ({reason})", line=at_line, column=at_column) from None
        whose = "" if line != self.last_line else f" (row {self.rows + 1} on its line)"
        if not value:
            raise DataError("an empty array holds no scores" + whose, line=line)
        try:
            values = [_json_number(item, line, index) for index, item in enumerate(value, 1)]
        except DataError as problem:
            raise DataError(problem.message + whose, line=line, column=problem.column) from None
        self.width = self.width or len(values)
        if len(values) != self.width:
            raise DataError(
                f"line {line} has {len(values)} values, expected {self.width}{whose}",
                line=line,
                placed=True,
            )
        return values

    def _vector(self, raw: bytes) -> Block:
        """A JSON array of numbers, read whole: it is one vector, as a single column is."""
        try:
            document = json_loads(raw)
        except ValueError as problem:
            raise _json_error(problem, raw, self.line) from None
        (row,) = _json_rows(document, self.line)  # no item is an array: one row or an error
        self.width = len(row)
        return Block(values=np.array([row], dtype=np.float64), first_line=self.line)


def json_document_blocks(
    stream: BinaryIO, chunk_bytes: int = CHUNK_BYTES, first_line: int = 1
) -> Iterator[Block]:
    """A JSON document streamed: rows are cut after each complete inner array ``[...]``.

    Depth is counted over raw bytes, not lines, so a document on one line of any
    length streams in memory bounded by its longest row.  A document on one line
    may be followed by more lines: that is NDJSON, read on as such.
    """
    document = _Document(first_line)
    source = raw_chunks(stream, chunk_bytes)
    for data in source:
        yield from document.feed(data)
        if document.close_line is not None:
            break
    else:
        raise document.ends_too_early()
    rest = bytes(document.buffer)
    if document.close_line == document.open_line:
        # A document on one line may be the first line of NDJSON: the rest of its line decides.
        while b"\n" not in rest and not rest.strip():
            more = next(source, None)
            if more is None:
                return
            rest += more
        line_end = rest.find(b"\n")
        if not rest[: max(line_end, 0)].strip():
            chunks = line_chunks(Replay(rest[line_end + 1 :], stream), chunk_bytes)
            shifted = ((raw, start + document.close_line) for raw, start in chunks)
            yield from ndjson_blocks(shifted, document.width)
            return
    _nothing_after(rest, document.close_line, ((more, None) for more in source))


def _nothing_after(rest: bytes, line: int, more: Iterator[tuple[bytes, None]]) -> None:
    """Raise at the first non-blank byte after a JSON document, if there is one."""
    for text, _ in itertools.chain([(rest, None)], more):
        stripped = text.lstrip()
        if stripped:
            where = line + text.count(b"\n", 0, len(text) - len(stripped))
            raise DataError("extra data after the JSON document", line=where)
        line += text.count(b"\n")


# --- NDJSON objects: the scores under one key ------------------------------------------

_NOT_NUMBERS = re.compile(rb"true|false|null")


def _kept_text(value: object) -> str:
    if isinstance(value, str):
        return value
    import orjson

    return orjson.dumps(value).decode()


def object_blocks(
    chunks: Iterator[tuple[bytes, int]], key: str | None, keep: Sequence[str] = ()
) -> Iterator[Block]:
    """NDJSON objects: each line's scores are ``obj[key]``; the objects travel with them."""
    width: int | None = None
    shown = json.dumps(key)
    for raw, first_line in chunks:
        lines = raw.split(b"\n")
        numbers = [first_line + i for i, line in enumerate(lines) if not is_blank(line)]
        texts = [line for line in lines if not is_blank(line)]
        if not texts:
            continue
        if key is None:
            raise DataError(_OBJECT_WITHOUT_KEY, line=numbers[0])
        fast = _fast_objects(raw, texts, key, keep, width)
        if fast is not None:
            values, objects, kept = fast
            width = values.shape[1]
            yield Block(
                values=values,
                first_line=numbers[0],
                line_numbers=lambda numbers=numbers: numbers,
                kept=kept,
                objects=objects,
            )
            continue
        rows: list[list[float]] = []
        objects = []
        kept = []
        error: DataError | None = None
        for number, text in zip(numbers, texts, strict=True):
            try:
                try:
                    found = json_loads(text)
                except ValueError as problem:
                    raise _json_error(problem, text, number) from None
                if not isinstance(found, dict):
                    raise DataError(f"expected a JSON object with the key {shown}", line=number)
                if key not in found:
                    raise DataError(f"no key {shown} in this object", line=number)
                scores = found[key]
                if not isinstance(scores, list) or not scores:
                    raise DataError(f"{shown} is not an array of numbers", line=number)
                try:
                    row = [_json_number(v, number, c) for c, v in enumerate(scores, 1)]
                except DataError as problem:
                    raise DataError(
                        f"{shown}: {problem.message}", line=number, column=problem.column
                    ) from None
                width = width or len(row)
                if len(row) != width:
                    raise DataError(
                        f"line {number} has {len(row)} values under {shown}, expected {width}",
                        line=number,
                        placed=True,
                    )
                missing = [name for name in keep if name not in found]
                if missing:
                    raise DataError(f"no key {json.dumps(missing[0])} to keep", line=number)
            except DataError as problem:
                error = problem
                break
            rows.append(row)
            objects.append(found)
            kept.append([_kept_text(found[name]) for name in keep])
        if rows:
            done = numbers[: len(rows)]
            yield Block(
                values=np.array(rows, dtype=np.float64),
                first_line=done[0],
                line_numbers=lambda done=done: done,
                kept=kept if keep else None,
                objects=objects,
            )
        if error is not None:
            raise error


def _fast_objects(
    raw: bytes, texts: list[bytes], key: str, keep: Sequence[str], width: int | None
) -> tuple[FloatArray, list[dict], list[list[str]] | None] | None:
    """A chunk of well-formed objects read in one orjson call; None for a closer look."""
    if _NOT_NUMBERS.search(raw):
        return None
    import orjson

    try:
        objects = orjson.loads(b"[" + b",".join(texts) + b"]")
        if not all(type(found) is dict for found in objects):
            return None
        scores = [found[key] for found in objects]
        if not all(type(row) is list for row in scores):
            return None
        values = np.array(scores, dtype=np.float64)
        kept = [[_kept_text(found[name]) for name in keep] for found in objects] if keep else None
    except (ValueError, TypeError, KeyError):
        return None
    if values.ndim != 2 or not values.shape[1] or values.shape[1] != (width or values.shape[1]):
        return None
    return values, objects, kept
