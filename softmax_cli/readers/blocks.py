"""What every reader yields: blocks of rows with their line numbers, and the source."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum

from softmax_cli.numerics import FloatArray


class Format(Enum):
    """How the input is laid out, sniffed from its first bytes."""

    DELIMITED = "delimited"
    JSON = "json"
    NDJSON = "ndjson"
    NPY = "npy"


@dataclass
class Block:
    """Rows of scores read together, with what is needed to say where a row came from."""

    values: FloatArray
    first_line: int
    line_numbers: Callable[[], Sequence[int]] | None = None
    labels: FloatArray | None = None
    #: ``--keep``: for each row, the text of the kept columns, in the order asked for.
    kept: list[list[str]] | None = None
    #: ``--key``: for each row, the input JSON object the scores came from.
    objects: list[dict] | None = None
    #: What a place in the input is called in messages: a line, or for arguments a row.
    unit: str = "line"
    #: ``--sample-weight-column``: each row's weight, taken out of the scores.
    weights: FloatArray | None = None

    def line_of(self, row: int) -> int:
        """Return the 1-based input line that row ``row`` of this block came from."""
        if self.line_numbers is None:
            return self.first_line + row
        return self.line_numbers()[row]


@dataclass
class Chunks:
    """Delimited text or NDJSON arrays not parsed yet, for workers parsing blocks side by side.

    ``chunks`` are whole records with the number of their first line; ``parse``
    turns one into its rows and the error of a bad line (see
    ``delimited.parse_chunk``, ``json_rows.parse_ndjson_chunk``).  They are the same
    chunks ``ScoreSource.blocks`` reads: a caller takes one or the other.  ``ready``
    is False when the next chunk may wait for a producer that paused, so a caller
    holding finished rows writes them first.
    """

    chunks: Iterator[tuple[bytes, int]]
    parse: Callable[[bytes, int], tuple[Block | None, Exception | None]]
    ready: Callable[[], bool] = lambda: True


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
    #: ``--keep``: the kept columns' names (header names, else the index or key as given).
    kept_names: list[str] | None = None
    #: One-line notes for stderr (a header with no rows after it, a likely typo in a
    #: header); the reader may add to them while its blocks are read.
    notes: list[str] = field(default_factory=list)
    #: Delimited input and NDJSON arrays: the same rows as ``blocks``, as chunks still to parse.
    chunks: Chunks | None = None
    #: Reading the next block never waits on a producer (a regular file), so blocks
    #: may be computed ahead in threads without holding back rows already read.
    never_waits: bool = False


#: The note of a header with no rows after it: an empty result, not an error. When an
#: error follows anyway, the error says more and this note is left out.
NO_ROWS_NOTE = "no data rows followed the header"


def parse_number(text: str) -> float:
    """Parse one score with Python's float syntax; raise ValueError otherwise."""
    return float(text)


def looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
