"""The output formats: which exist, and which each kind of output can write.

This is the one place that knows the format names.  It imports nothing heavy
(no NumPy, orjson or Rich), so a front end can list the names for ``--help``
and shell completion at start-up for free.
"""

from __future__ import annotations

from enum import Enum


class Format(str, Enum):
    """An output format, named as ``-o/--format`` spells it."""

    TABLE = "table"
    CSV = "csv"
    TSV = "tsv"
    JSON = "json"
    NDJSON = "ndjson"
    MARKDOWN = "markdown"  # explain only: notes and slides
    LATEX = "latex"  # explain only: a fragment for a Beamer slide
    NPY = "npy"  # a NumPy array file: binary, never sent to a terminal

    def __str__(self) -> str:
        return self.value

    @property
    def separator(self) -> str | None:
        """The field separator of a delimited format; None for the others."""
        return _SEPARATORS.get(self)

    @property
    def is_delimited(self) -> bool:
        """True for csv and tsv: lines of separated values."""
        return self in _SEPARATORS

    @property
    def is_json(self) -> bool:
        """True for json and ndjson."""
        return self in (Format.JSON, Format.NDJSON)


_SEPARATORS = {Format.CSV: ",", Format.TSV: "\t"}


class Output(str, Enum):
    """A kind of output; each supports its own set of formats."""

    ROWS = "rows"
    LOSSES = "losses"
    EVALUATION = "evaluation"
    CALIBRATION = "calibration"
    EXPLAIN = "explain"
    VALUES = "values"  # one number per row: logsumexp


#: Every format, in the order ``--help`` lists them.
NAMES: tuple[str, ...] = tuple(f.value for f in Format)

DOCUMENT_FORMATS = (Format.MARKDOWN, Format.LATEX)  # typeset documents: explain alone
_TEXT_FORMATS = tuple(f for f in Format if f not in DOCUMENT_FORMATS and f is not Format.NPY)
ROW_FORMATS = (*_TEXT_FORMATS, Format.NPY)
LOSS_FORMATS = _TEXT_FORMATS
EVALUATION_FORMATS = _TEXT_FORMATS
CALIBRATION_FORMATS = _TEXT_FORMATS
EXPLAIN_FORMATS = (Format.TABLE, Format.JSON, Format.NDJSON, *DOCUMENT_FORMATS)

SUPPORTED: dict[Output, tuple[Format, ...]] = {
    Output.ROWS: ROW_FORMATS,
    Output.LOSSES: LOSS_FORMATS,
    Output.EVALUATION: EVALUATION_FORMATS,
    Output.CALIBRATION: CALIBRATION_FORMATS,
    Output.EXPLAIN: EXPLAIN_FORMATS,
    Output.VALUES: _TEXT_FORMATS,
}


def parse_format(name: str | Format, output: Output | None = None) -> Format:
    """The format called ``name`` (any case); ValueError naming it when unknown.

    With ``output``, a format that kind of output cannot write is an error too.
    """
    text = name.value if isinstance(name, Enum) else str(name)
    try:
        chosen = Format(text.strip().lower())
    except ValueError:
        known = ", ".join(NAMES)
        raise ValueError(f"unknown output format {text!r} (known: {known})") from None
    if output is not None and chosen not in SUPPORTED[output]:
        allowed = ", ".join(f.value for f in SUPPORTED[output])
        raise ValueError(f"{output.value} cannot be written as {chosen.value} (only {allowed})")
    return chosen
