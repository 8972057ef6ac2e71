"""What a run produces, and the interfaces of the writers that receive it.

The pipeline fills these and the writers read them; neither side owns them,
so output can change without touching the computation, and back.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np

    from .numerics import FloatArray


@dataclass
class LossSummary:
    """Running totals of a cross-entropy pass; enough for every reduction."""

    reduction: str
    rows: int = 0
    loss_sum: float = 0.0
    weight_sum: float = 0.0
    correct: int = 0
    counted: int = 0
    #: Sample weights were given and every counted row's was 0.
    zero_sample_weight: bool = False
    dtype: str = "float64"  # the precision of the losses; the sums are float64 and compensated
    #: The compensated sums behind ``loss_sum`` and ``weight_sum`` (for ``--partial``).
    running: tuple | None = None
    sample_weight_sum: float = 0.0
    #: How many classes the scores have (0 before the first row): partials of other counts
    #: do not merge.
    classes: int = 0

    @property
    def mean(self) -> float:
        return self.loss_sum / self.weight_sum if self.weight_sum else math.nan

    @property
    def loss(self) -> float:
        """The reduced loss, rounded once to the precision the losses were computed in."""
        value = self.loss_sum if self.reduction == "sum" else self.mean
        if self.dtype == "float64":
            return value
        import numpy as np

        from .precision import shortest

        with np.errstate(over="ignore"):
            return float(shortest(np.asarray(value, dtype=self.dtype)))

    @property
    def accuracy(self) -> float:
        return self.correct / self.counted if self.counted else math.nan

    @property
    def perplexity(self) -> float:
        """``exp`` of the exact mean, rounded once to the losses' precision, as ``loss`` is."""
        mean = self.mean
        if math.isnan(mean):
            return math.nan
        value = math.exp(mean) if mean < 709 else math.inf
        if self.dtype == "float64":
            return value
        import numpy as np

        from .precision import shortest

        with np.errstate(over="ignore"):
            return float(shortest(np.asarray(value, dtype=self.dtype)))


@dataclass
class LossDetails:
    """Per-row facts shown in the cross-entropy table."""

    target_probability: FloatArray
    predicted: np.ndarray
    labels: np.ndarray | None


@dataclass
class Carried:
    """What travels unchanged beside a block's results: ``--keep`` columns, ``--key`` objects."""

    kept: list[list[str]] | None = None
    objects: list[dict] | None = None

    def head(self, count: int) -> Carried:
        """The first ``count`` rows' share."""
        return Carried(
            None if self.kept is None else self.kept[:count],
            None if self.objects is None else self.objects[:count],
        )


class RowWriter(Protocol):
    """Receives computed rows block by block and writes them in one format."""

    def start(
        self, classes: Sequence[str] | None, kept_names: Sequence[str] | None = None
    ) -> None: ...

    def rows(
        self,
        values: FloatArray,
        scores: FloatArray,
        first_row: int,
        carried: Carried | None = None,
    ) -> None: ...

    def finish(self) -> None: ...


class LossWriter(Protocol):
    """Receives per-row losses and the final summary of a cross-entropy run."""

    def start(
        self, classes: Sequence[str] | None, kept_names: Sequence[str] | None = None
    ) -> None: ...

    def rows(
        self,
        losses: FloatArray,
        details: LossDetails,
        first_row: int,
        carried: Carried | None = None,
    ) -> None: ...

    def finish(self, summary: LossSummary) -> None: ...
