"""Readers: scores from arguments, delimited text, JSON and NDJSON, in blocks.

One entry point per source (``scores_from_arguments``, ``open_scores``);
format, delimiter and header are detected in one place (``sniff``) and can be
overridden.  Text is read as bytes in chunks of whole lines (``text``), parsed
by the fastest parser that can (``delimited``, ``json_rows``), and re-read line
by line only when a chunk fails, to say exactly where and to keep the rows
before the bad line.
"""

from .arguments import scores_from_arguments
from .blocks import Block, Format, ScoreSource, parse_number
from .sniff import open_scores
from .text import CHUNK_BYTES, MAX_LINE_BYTES, line_chunks

__all__ = [
    "CHUNK_BYTES",
    "MAX_LINE_BYTES",
    "Block",
    "Format",
    "ScoreSource",
    "line_chunks",
    "open_scores",
    "parse_number",
    "scores_from_arguments",
]
