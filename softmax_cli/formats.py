"""The output formats: which exist, and which each kind of output supports.

Import-light on purpose: the parser and ``--help`` read these names at start-up.
"""

from __future__ import annotations

from enum import Enum


class Format(str, Enum):
    """An output format name, as users type it after ``-o``."""

    TABLE = "table"
    CSV = "csv"
    TSV = "tsv"
    JSON = "json"
    NDJSON = "ndjson"


_ALL = tuple(Format)
_SUPPORTED: dict[str, tuple[Format, ...]] = {
    "rows": _ALL,
    "losses": _ALL,
    "report": _ALL,  # evaluate and calibrate: ndjson is the json document on one line
    "explain": (Format.TABLE, Format.JSON),
}


def output_formats(kind: str) -> tuple[Format, ...]:
    """The formats one kind of output (rows, losses, report, explain) can be written in."""
    return _SUPPORTED[kind]


def parse_format(name: str) -> Format:
    """The format called ``name``, in any letter case; ValueError for an unknown one."""
    try:
        return Format(name.strip().lower())
    except ValueError:
        known = ", ".join(fmt.value for fmt in _ALL)
        raise ValueError(f"{name!r} is not an output format ({known})") from None
