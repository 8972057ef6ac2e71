"""The row operations, by name: what ``probs`` and ``logprobs`` compute.

Import-light on purpose (no NumPy): a front end names an operation before it
reads any data.  ``numerics.operation_function`` gives the function for one.
"""

from __future__ import annotations

from enum import Enum


class Operation(str, Enum):
    """A row-wise operation; its value is the name JSON output writes."""

    SOFTMAX = "softmax"
    LOG_SOFTMAX = "log_softmax"
    SPARSEMAX = "sparsemax"
    ENTMAX = "entmax"
    HSOFTMAX = "hierarchical_softmax"
    LOG_HSOFTMAX = "log_hierarchical_softmax"

    def __str__(self) -> str:
        return self.value

    @property
    def field(self) -> str:
        """The key its result gets beside carried fields: the command's name."""
        return "logprobs" if self.is_log else "probs"

    @property
    def is_log(self) -> bool:
        """True when the operation gives log-probabilities."""
        return self in (Operation.LOG_SOFTMAX, Operation.LOG_HSOFTMAX)

    @property
    def title(self) -> str:
        """What tables call it: ``softmax``, ``log-softmax``, ``sparsemax`` ..."""
        return _TITLES.get(self, self.value.replace("_", " "))


_TITLES = {Operation.LOG_SOFTMAX: "log-softmax", Operation.LOG_HSOFTMAX: "log hierarchical softmax"}
