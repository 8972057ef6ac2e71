"""Class names from a file (``--classes``): a vocabulary or a label list, one name a line.

The names stand where a header's would: tables, csv headers, JSON ``classes``
and labels given by name all use them, escaped for the terminal as header
names are.  A header in the input still names its kept and label columns;
the file names the score columns.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from softmax_cli.errors import DataError

from .blocks import Block, ScoreSource
from .decode import text_stream
from .text import CHUNK_BYTES


def read_class_names(stream: BinaryIO, name: str) -> list[str]:
    """The names in ``stream``, one a line; gzip, a BOM and UTF-16 are read as for scores.

    An empty line (but a last line break), a repeated name or text that is not
    UTF-8 is a DataError placed at its line of the file named ``name``.
    """
    try:
        data = text_stream(stream, CHUNK_BYTES).read()
    except DataError as error:
        raise error.in_file(name) from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if data.endswith(b"\n"):
        data = data[:-1]
    names: list[str] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(data.split(b"\n") if data else [], start=1):
        try:
            text = raw.removesuffix(b"\r").decode("utf-8")
        except UnicodeDecodeError:
            raise DataError("is not UTF-8 text", line=number).in_file(name) from None
        if not text:
            raise DataError("empty class name", line=number).in_file(name)
        if text in seen:
            raise DataError(
                f"class name {text!r} is already on line {seen[text]}", line=number
            ).in_file(name)
        seen[text] = number
        names.append(text)
    if not names:
        raise DataError("no class names").in_file(name)
    return names


def named_source(source: ScoreSource, names: list[str], name: str) -> ScoreSource:
    """``source`` with its classes named by ``names``; the first block is read now, so a
    count that does not match is said before anything is written."""
    blocks = source.blocks
    first = next(blocks, None)
    if first is not None:
        _check_width(first, names, name)
    source.classes = names
    source.blocks = _checked(first, blocks, names, name)
    source.chunks = None  # every row goes through the check above
    return source


def _check_width(block: Block, names: list[str], name: str) -> None:
    width = block.values.shape[1]
    if width != len(names) and block.values.shape[0]:
        raise DataError(
            f"{name} has {len(names):,} class names, but {block.unit} "
            f"{block.line_of(0)} has {width:,} scores",
            placed=True,
        )


def _checked(
    first: Block | None, blocks: Iterator[Block], names: list[str], name: str
) -> Iterator[Block]:
    if first is None:
        return
    yield first
    for block in blocks:
        _check_width(block, names, name)
        yield block
