"""Partial results that merge: ``--partial`` writes a shard's running sums, ``merge`` adds them.

A mean of shard means is wrong, but sums add.  A partial is one JSON document
holding what ``evaluate`` or ``cross-entropy --reduction mean|sum`` keeps while
it streams (counts, compensated sums, per-bin sums, top-k hits, the confusion
matrix) and the options that must agree between shards.  ``merge`` adds the
sums in the same accumulators and hands them to the same report and writers
as a single run, so the merged output is the single run's output (sums added
in another order: equal to within a few units in the last place).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np

from . import metrics
from .errors import DataError, UsageError

VERSION = 1
KEY = "softmax_partial"
COMMANDS = ("evaluate", "cross-entropy")

#: How each agreeing option is named in a message.
OPTION_NAMES = {
    "temperature": "--temperature",
    "bins": "--bins",
    "top_k": "--top-k",
    "norm": "--ece-norm",
    "binning": "--binning",
    "classwise": "--classwise",
    "report": "--report",
    "ignore_label": "--ignore-label",
    "weighted": "sample weights (--sample-weight-column, --sample-weights)",
    "classes": "class names (the header or --classes)",
    "reduction": "--reduction",
    "class_weights": "--weights",
    "label_smoothing": "--label-smoothing",
    "dtype": "--dtype",
    "truth": "the truth (labels or --targets)",
}


# --- numbers that JSON has no words for ------------------------------------------


def _encoded(value: Any) -> Any:
    """``value`` with NaN and infinities as the strings "nan", "inf", "-inf" (JSON has none)."""
    if isinstance(value, dict):
        return {key: _encoded(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encoded(item) for item in value]
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return number if math.isfinite(number) else repr(number)
    if isinstance(value, np.integer):
        return int(value)
    return value


def _decoded(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _decoded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_decoded(item) for item in value]
    if value in ("nan", "inf", "-inf"):
        return float(value)
    return value  # numbers, null for what was not kept; other text is refused by its field


def write(out: BinaryIO, command: str, options: dict, state: dict) -> None:
    """One partial: a JSON document on one line."""
    import orjson

    document = {KEY: VERSION, "command": command, "options": options, "state": _encoded(state)}
    out.write(orjson.dumps(document) + b"\n")
    out.flush()


# --- writing ---------------------------------------------------------------------


def evaluation_options(accumulator: metrics.Accumulator, **more: Any) -> dict:
    return {
        "temperature": accumulator.temperature,
        "bins": accumulator.bins,
        "top_k": list(accumulator.top_k),
        "norm": accumulator.norm,
        "binning": accumulator.binning,
        "classwise": accumulator.classwise,
        "report": accumulator.want_confusion,
        **more,
    }


def loss_state(summary: Any) -> dict:
    """The running totals of a cross-entropy pass (``results.LossSummary``)."""
    loss, weight = summary.running
    return {
        "rows": summary.rows,
        "counted": summary.counted,
        "correct": summary.correct,
        "loss_sum": [loss.total, loss.compensation],
        "weight_sum": [weight.total, weight.compensation],
        "sample_weight_sum": summary.sample_weight_sum,
        "classes": summary.classes,
    }


# --- reading ---------------------------------------------------------------------


@dataclass
class Partial:
    name: str  # where it came from, for messages: a file name, "stdin", with its place
    command: str
    options: dict
    state: dict


def documents(text: str, name: str) -> Iterator[tuple[str, Any]]:
    """Every JSON document in ``text``: one a line, or one after another, or pretty-printed."""
    decoder = json.JSONDecoder(parse_constant=_no_constant)
    position, count = 0, 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position == len(text):
            return
        count += 1
        with_place = f"{name} (document {count})" if count > 1 else name
        try:
            value, position = decoder.raw_decode(text, position)
        except (json.JSONDecodeError, ValueError) as error:
            what = "truncated" if position == len(text) or _ends_early(error, text) else "not JSON"
            # json's words may end in "at" ("Unterminated string starting at"): say it once
            words = str(getattr(error, "msg", error)).removesuffix(" at")
            raise DataError(
                f"{with_place}: not a softmax partial ({what}: {words} "
                f"at character {getattr(error, 'pos', position) + 1})",
                placed=True,
            ) from None
        yield with_place, value


def _no_constant(word: str) -> Any:
    raise ValueError(f"{word} is not a JSON number")


def _ends_early(error: Exception, text: str) -> bool:
    return getattr(error, "pos", -1) >= len(text.rstrip())


def checked(value: Any, name: str) -> Partial:
    """A document that is a partial this version of softmax can merge; else a data error."""
    if not isinstance(value, dict) or KEY not in value:
        raise DataError(f"{name}: not a softmax partial (no {KEY!r} key)", placed=True)
    if value[KEY] != VERSION:
        raise DataError(
            f"{name}: a softmax partial of format version {value[KEY]!r}; "
            f"this softmax merges version {VERSION}",
            placed=True,
        )
    command, options, state = value.get("command"), value.get("options"), value.get("state")
    if command not in COMMANDS or not isinstance(options, dict) or not isinstance(state, dict):
        raise DataError(f"{name}: not a complete softmax partial", placed=True)
    try:
        state = _decoded(state)
    except ValueError as error:
        raise DataError(f"{name}: not a complete softmax partial ({error})", placed=True) from None
    from .partial_fields import check_fields

    check_fields(name, command, options, state)
    return Partial(name, command, options, state)


def check_agreement(first: Partial, other: Partial) -> None:
    """Refuse a partial made by another command or with other options than the first."""
    if other.command != first.command:
        raise DataError(
            f"{other.name}: a partial of {other.command}, but {first.name} is of {first.command}",
            placed=True,
        )
    for key in sorted(set(first.options) | set(other.options)):
        mine, theirs = first.options.get(key), other.options.get(key)
        if mine != theirs:
            label = OPTION_NAMES.get(key, key)
            raise DataError(
                f"{other.name}: {label} is {_shown(theirs)} here but {_shown(mine)} "
                f"in {first.name}; partials merge only when their options agree",
                placed=True,
            )


def _shown(value: Any) -> str:
    if value is None:
        return "not given"
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    return str(value).lower() if isinstance(value, bool) else str(value)


def _incomplete(partial: Partial, error: Exception) -> DataError:
    detail = f"missing {error}" if isinstance(error, KeyError) else str(error)
    return DataError(f"{partial.name}: not a complete softmax partial ({detail})", placed=True)


# --- merging ---------------------------------------------------------------------


def merged_evaluation(partials: list[Partial]) -> tuple[metrics.Accumulator, int]:
    """One accumulator holding every partial's sums, and the rows ``--ignore-label`` left out."""
    options = partials[0].options
    try:
        accumulator = metrics.Accumulator(
            bins=int(options["bins"]),
            top_k=[int(k) for k in options["top_k"]],
            temperature=float(options["temperature"]),
            norm=str(options["norm"]),
            binning=str(options["binning"]),
            classwise=bool(options["classwise"]),
            confusion=bool(options["report"]),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise _incomplete(partials[0], error) from None
    ignored = 0
    for partial in partials:
        try:
            accumulator.merge_state(partial.state, weighted=bool(options.get("weighted")))
            ignored += int(partial.state.get("ignored", 0))
        except (KeyError, TypeError, ValueError, IndexError) as error:
            if "classes after" in str(error):
                raise DataError(
                    f"{partial.name}: {error} in the partials before it; "
                    "partials merge only when their options agree",
                    placed=True,
                ) from None
            raise _incomplete(partial, error) from None
    return accumulator, ignored


def merged_losses(partials: list[Partial]) -> Any:
    """One ``LossSummary`` holding every partial's totals."""
    from .numerics import RunningSum
    from .results import LossSummary

    options = partials[0].options
    try:
        summary = LossSummary(reduction=str(options["reduction"]), dtype=str(options["dtype"]))
    except KeyError as error:
        raise _incomplete(partials[0], error) from None
    loss, weight = RunningSum(), RunningSum()
    classes_seen: Partial | None = None  # the first partial that knows its class count
    for partial in partials:
        state = partial.state
        classes = int(state.get("classes") or 0)  # 0: no rows, or written before it was kept
        if classes and classes_seen is None:
            classes_seen = partial
        elif classes and classes != classes_seen.state["classes"]:  # type: ignore[union-attr]
            raise DataError(
                f"{partial.name}: scores of {classes} classes here but "
                f"{classes_seen.state['classes']} in {classes_seen.name}; "  # type: ignore[union-attr]
                "partials merge only when their class counts agree",
                placed=True,
            )
        try:
            for running, (total, compensation) in (
                (loss, state["loss_sum"]),
                (weight, state["weight_sum"]),
            ):
                running.add(np.float64(total))
                running.compensation += float(compensation)
            summary.rows += int(state["rows"])
            summary.counted += int(state["counted"])
            summary.correct += int(state["correct"])
            summary.sample_weight_sum += float(state["sample_weight_sum"])
        except (KeyError, TypeError, ValueError) as error:
            raise _incomplete(partial, error) from None
    summary.loss_sum, summary.weight_sum = loss.value, weight.value
    summary.running = (loss, weight)
    weighted = bool(options.get("weighted"))
    summary.zero_sample_weight = weighted and summary.counted > 0 and summary.sample_weight_sum == 0
    return summary


def refuse_mass_binning(binning: str, option: str) -> None:
    if binning == "mass":
        raise UsageError(
            "--binning mass keeps every row's confidence, so its bins do not merge; "
            "use --binning width with --partial",
            option=option,
        )
