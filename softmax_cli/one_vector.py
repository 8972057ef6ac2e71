"""The one vector that explain's views take: read, bounded and checked in one place."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import DataError, RowError, UsageError

if TYPE_CHECKING:
    from .numerics import FloatArray
    from .readers.blocks import ScoreSource


def read_one_vector(source: ScoreSource, *, max_classes: int, check: bool = True) -> FloatArray:
    """The source's single row, refused when there are more rows or too many classes.

    Reading stops at the second row or the first over-wide block, so a huge
    input is refused without being read whole.  ``check`` applies softmax's row
    check (NaN, all ``-inf``), located at the row's line.
    """
    import numpy as np

    from .numerics import check_rows

    blocks = []
    first = None
    for block in source.blocks:
        first = first or block
        width = block.values.shape[1]
        if width > max_classes:
            raise UsageError(
                f"shows at most {max_classes:,} classes, not {width:,}; "
                "softmax probs computes vectors of any size"
            )
        blocks.append(block.values)
        if sum(b.shape[0] for b in blocks) > 1:
            break  # one vector only: say so without reading the rest
    values = np.concatenate(blocks) if blocks else np.empty((0, 0))
    if values.shape[0] != 1:
        raise UsageError(f"takes one vector, not {values.shape[0]} rows")
    assert first is not None
    if check:
        try:
            check_rows(values)
        except RowError as error:
            raise DataError(
                error.message, line=first.line_of(0), column=error.column, unit=first.unit
            ) from None
    return values
