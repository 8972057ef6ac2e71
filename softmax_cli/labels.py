"""The one rule that turns a label as typed into a class.

A value equal to a class name (from a header) is that class; otherwise it is
read as a number, a 0-based class index.  ``--labels``, ``--label-column``
values, ``explain --label`` and ``--ignore-label`` all follow it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence


def class_lookup(classes: Sequence[str] | None) -> dict[str, int]:
    """Class name -> index; the first of two equal names wins."""
    lookup: dict[str, int] = {}
    for index, name in enumerate(classes or ()):
        lookup.setdefault(name, index)
    return lookup


def label_value(text: str, lookup: Mapping[str, int]) -> float:
    """The class index ``text`` names, as a float (whether it is a whole index in range
    is checked later, where the row is known); ValueError when it is neither."""
    if text in lookup:
        return float(lookup[text])
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a class index")
    return value


def explained(text: str, classes: Sequence[str] | None) -> str:
    """Why ``text`` is not a label, for an error message."""
    known = f" (classes: {', '.join(classes)})" if classes else ""
    return f"{text!r} is neither a class name nor a class index{known}"
