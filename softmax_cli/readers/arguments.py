"""Scores given as command-line arguments."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from softmax_cli.errors import DataError, UsageError

from .blocks import Block, ScoreSource, parse_number


def scores_from_arguments(tokens: Sequence[str]) -> ScoreSource:
    """One or more rows from command-line tokens: commas join values, ``;`` starts a row.

    The tokens of a row read as one line of text: ``2, 1, 0.1`` and ``2,1,0.1``
    are the same row, and an empty value between commas (``1,,2``, ``1,``) is
    an error, as it is in a file.
    """
    rows: list[list[float]] = [[]]
    position = 0
    error: DataError | None = None
    for row_text in " ".join(tokens).split(";"):
        if rows[-1]:
            rows.append([])
        if not row_text.strip():
            continue
        try:
            for between_commas in row_text.split(","):
                values = between_commas.split()
                if not values:
                    raise DataError(f"argument {position + 1}: empty value")
                for text in values:
                    position += 1
                    try:
                        rows[-1].append(parse_number(text))
                    except ValueError:
                        raise DataError(f"argument {position}: {text!r} is not a number") from None
        except DataError as bad:
            rows.pop()  # the row with the bad value
            error = bad
            break
    rows = [row for row in rows if row]
    if not rows:
        if error is not None:
            raise error
        raise UsageError("no scores given")
    width = len(rows[0])
    for number, row in enumerate(rows, start=1):
        if len(row) != width:
            error = DataError(
                f"row {number} has {len(row)} values, expected {width}", line=number, placed=True
            )
            rows = rows[: number - 1]
            break
    values = np.array(rows, dtype=np.float64)
    return ScoreSource(blocks=_then_raise(Block(values=values, first_line=1, unit="row"), error))


def _then_raise(block: Block, error: DataError | None) -> Iterator[Block]:
    """The good rows, then the error of the first bad one, as a file's rows come: what
    comes before a bad row is written whether the scores are arguments or a file."""
    yield block
    if error is not None:
        raise error
