"""Every field of a partial checked before ``merge`` adds it: a damaged file is named, not summed.

A partial is a file users move between machines, so it may be cut, edited or
written by something else. Counts must be whole and >= 0, sums numbers that
are not NaN; a loss sum (and the compensation of an infinite one) may be
infinite, as a row's loss can be. The message names the file and the field.
"""

from __future__ import annotations

import math
from typing import Any

from .errors import DataError


class _Bad(Exception):
    """A field that is not what it must be: its path and what is wrong."""

    def __init__(self, path: str, problem: str):
        self.path, self.problem = path, problem


def _shown(value: Any) -> str:
    text = repr(value) if isinstance(value, (str, bool)) or value is None else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _count(value: Any, path: str) -> int:
    """A whole number >= 0 (1.0 too: JSON writers may write whole numbers with a point)."""
    whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if isinstance(value, bool) or not whole or value < 0:
        raise _Bad(path, f"is {_shown(value)}, not a whole number >= 0")
    return int(value)


def _number(value: Any, path: str, infinite: bool = False) -> float:
    """A finite number; with ``infinite``, +inf too (a loss can be infinite)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Bad(path, f"is {_shown(value)}, not a number")
    number = float(value)
    if math.isnan(number) or (math.isinf(number) and not (infinite and number > 0)):
        raise _Bad(path, f"is {_shown(value)}, not a finite number")
    return number


def _list(value: Any, path: str, length: int | None = None) -> list:
    if not isinstance(value, list):
        raise _Bad(path, f"is {_shown(value)}, not a list")
    if length is not None and len(value) != length:
        raise _Bad(path, f"holds {len(value)} items, not {length}")
    return value


def _compensated(value: Any, path: str) -> None:
    """``[total, compensation]`` of a loss sum: the compensation of an infinite total is NaN."""
    total, compensation = _list(value, path, 2)
    if _number(total, f"{path}[0]", infinite=True) == math.inf:
        if isinstance(compensation, bool) or not isinstance(compensation, (int, float)):
            raise _Bad(f"{path}[1]", f"is {_shown(compensation)}, not a number")
    else:
        _number(compensation, f"{path}[1]")


def _finite_pair(value: Any, path: str) -> None:
    for index, item in enumerate(_list(value, path, 2)):
        _number(item, f"{path}[{index}]")


def _field(holder: dict, key: str) -> Any:
    if key not in holder:
        raise KeyError(key)
    return holder[key]


def _loss_fields(state: dict) -> None:
    for key in ("rows", "counted", "correct"):
        _count(_field(state, key), f"state.{key}")
    if "classes" in state:  # written since the class count is checked; older partials lack it
        _count(state["classes"], "state.classes")
    _compensated(_field(state, "loss_sum"), "state.loss_sum")
    _finite_pair(_field(state, "weight_sum"), "state.weight_sum")
    _number(_field(state, "sample_weight_sum"), "state.sample_weight_sum")


def _evaluation_fields(options: dict, state: dict) -> None:
    bins = _count(_field(options, "bins"), "options.bins")
    for index, k in enumerate(_list(_field(options, "top_k"), "options.top_k")):
        _count(k, f"options.top_k[{index}]")
    _number(_field(options, "temperature"), "options.temperature")
    for key in ("rows", "classes"):
        _count(_field(state, key), f"state.{key}")
    if "ignored" in state:
        _count(state["ignored"], "state.ignored")
    for key in ("weight_sum", "correct"):
        _number(_field(state, key), f"state.{key}")
    for index, pair in enumerate(_list(_field(state, "top_hits"), "state.top_hits")):
        k, hits = _list(pair, f"state.top_hits[{index}]", 2)
        _count(k, f"state.top_hits[{index}][0]")
        _number(hits, f"state.top_hits[{index}][1]")
    sums = _field(state, "sums")
    if not isinstance(sums, dict):
        raise _Bad("state.sums", f"is {_shown(sums)}, not an object")
    for name, pair in sums.items():
        _compensated(pair, f"state.sums.{name}")
    for key in ("bin_count", "bin_weight", "bin_confidence", "bin_correct"):
        items = _list(_field(state, key), f"state.{key}", bins)
        for index, item in enumerate(items):
            (_count if key == "bin_count" else _number)(item, f"state.{key}[{index}]")
    class_bins = _field(state, "class_bins")
    if class_bins is not None:
        for index, part in enumerate(_list(class_bins, "state.class_bins")):
            for place, item in enumerate(_list(part, f"state.class_bins[{index}]")):
                _number(item, f"state.class_bins[{index}][{place}]")
    confusion = _field(state, "confusion")
    if confusion is not None:
        true, predicted, cells = _list(confusion, "state.confusion", 3)
        length = len(_list(true, "state.confusion[0]"))
        for index, column in enumerate((true, predicted, cells)):
            for place, item in enumerate(_list(column, f"state.confusion[{index}]", length)):
                (_number if index == 2 else _count)(item, f"state.confusion[{index}][{place}]")


def check_fields(name: str, command: str, options: dict, state: dict) -> None:
    """A data error naming ``name`` and the field that is missing, mistyped or out of range."""
    try:
        if command == "cross-entropy":
            _loss_fields(state)
        else:
            _evaluation_fields(options, state)
    except KeyError as error:
        raise DataError(
            f"{name}: not a complete softmax partial (missing {error})", placed=True
        ) from None
    except _Bad as bad:
        raise DataError(
            f"{name}: {bad.path} {bad.problem}; the partial is damaged", placed=True
        ) from None
