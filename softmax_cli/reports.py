"""Output of ``evaluate`` and ``calibrate``: json/ndjson and csv/tsv give the numbers,
``table`` gives a report for people with a reliability diagram drawn in bars.

Rich is imported only inside the table renderers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, BinaryIO

import orjson

from .class_report import class_names
from .evaluation import Calibration
from .formats import Format, Output, parse_format
from .metrics import Bin, Report
from .number_text import float_text, json_number, table_number, table_precision, title_number
from .rich_output import GAP_STYLE, make_console

DIAGRAM_WIDTH = 24
SOLID, OVER, UNDER = "█", "░", "▓"
OVER_STYLE, UNDER_STYLE = "red", "blue"


def _metrics(report: Report, precision: int | None, top_k: bool = True) -> dict[str, Any]:
    numbers: dict[str, Any] = {
        "temperature": report.temperature,
        "nll": report.nll,
        "perplexity": report.perplexity,
        "accuracy": report.accuracy,
    }
    if top_k:
        numbers["top_k_accuracy"] = {
            str(k): json_number(v, precision) for k, v in report.top_k.items()
        }
    numbers.update(
        brier=report.brier, ece=report.ece, mce=report.mce, mean_entropy=report.mean_entropy
    )
    numbers.update(rmsce=report.rmsce, calibration_error=report.calibration_error)
    shown = {
        key: value if isinstance(value, dict) else json_number(value, precision)
        for key, value in numbers.items()
    }
    shown.update(ece_norm=report.norm, binning=report.binning, classwise=report.classwise)
    return shown


def _bin_json(item: Bin, precision: int | None, weighted: bool = False) -> dict[str, Any]:
    shown = {
        "lower": item.lower,
        "upper": item.upper,
        "count": item.count,
        "confidence": json_number(item.confidence, precision),
        "accuracy": json_number(item.accuracy, precision),
    }
    if weighted:
        shown["weight"] = json_number(item.weight, precision)
    return shown


def _cell(value: float, weighted: bool, precision: int | None) -> float | int | None:
    return json_number(float(value), precision) if weighted else int(round(value))


def class_report_json(
    report: Report, classes: Sequence[str] | None, precision: int | None
) -> dict[str, Any]:
    """``--report``: the confusion matrix (dense up to 1,000 classes, else sparse cells
    ``[true, predicted, count]``), per-class scores and their averages."""
    confusion = report.confusion
    assert confusion is not None
    weighted = report.weight is not None
    names = class_names(classes, report.classes)
    scores = confusion.scores()
    if confusion.dense:
        matrix: Any = [
            [_cell(value, weighted, precision) for value in row] for row in confusion.matrix()
        ]
    else:
        true, predicted, values = confusion.sparse()
        matrix = {
            "sparse": True,
            "shape": [report.classes, report.classes],
            "cells": [
                [int(t), int(p), _cell(v, weighted, precision)]
                for t, p, v in zip(true.tolist(), predicted.tolist(), values.tolist(), strict=True)
            ],
        }
    per_class = [
        {
            "class": names[index],
            "precision": json_number(float(scores.precision[index]), precision),
            "recall": json_number(float(scores.recall[index]), precision),
            "f1": json_number(float(scores.f1[index]), precision),
            "support": _cell(float(scores.support[index]), weighted, precision),
        }
        for index in range(report.classes)
    ]

    def average(numbers: dict[str, float]) -> dict[str, Any]:
        return {
            key: _cell(value, weighted, precision)
            if key == "support"
            else json_number(value, precision)
            for key, value in numbers.items()
        }

    return {
        "confusion_matrix": matrix,
        "per_class": per_class,
        "macro_avg": average(scores.macro()),
        "weighted_avg": average(scores.weighted()),
    }


def evaluation_json(
    report: Report, classes: Sequence[str] | None, precision: int | None
) -> dict[str, Any]:
    """The evaluation as one JSON object (non-finite numbers become ``null``)."""
    weighted = report.weight is not None
    shown = {
        "operation": "evaluate",
        "rows": report.rows,
        "classes": list(classes) if classes is not None else None,
        "class_count": report.classes,
        **_metrics(report, precision),
        "bins": [_bin_json(item, precision, weighted) for item in report.bins],
        "ignored_rows": report.ignored,
        "weight": json_number(report.weight, precision) if weighted else None,
    }
    if report.confusion is not None:
        shown.update(class_report_json(report, classes, precision))
    return shown


def calibration_json(
    result: Calibration, classes: Sequence[str] | None, precision: int | None
) -> dict[str, Any]:
    """The calibration as one JSON object: the temperature, and metrics before and after."""
    return {
        "operation": "calibrate",
        "temperature": result.fit.temperature,
        "rows": result.before.rows,
        "rows_fitted": result.fit.rows_fitted,
        "iterations": result.fit.iterations,
        "classes": list(classes) if classes is not None else None,
        "class_count": result.before.classes,
        "bins": len(result.before.bins),
        "before": _metrics(result.before, precision, top_k=False),
        "after": _metrics(result.after, precision, top_k=False),
    }


def _delimited(
    names: list[str], values: list[float | int], separator: str, precision: int | None
) -> bytes:
    cells = [float_text(v, precision) for v in values]
    return (separator.join(names) + "\n" + separator.join(cells) + "\n").encode()


def evaluation_delimited(report: Report, separator: str, precision: int | None) -> bytes:
    """A header line and one line of numbers (the bins are in the JSON output)."""
    names = ["rows", "nll", "perplexity", "accuracy"]
    values: list[float | int] = [report.rows, report.nll, report.perplexity, report.accuracy]
    for k, value in report.top_k.items():
        names.append(f"top_{k}_accuracy")
        values.append(value)
    names += ["brier", "ece", "mce", "mean_entropy", "rmsce", "calibration_error"]
    values += [report.brier, report.ece, report.mce, report.mean_entropy]
    values += [report.rmsce, report.calibration_error]
    return _delimited(names, values, separator, precision)


def class_report_delimited(
    report: Report, classes: Sequence[str] | None, separator: str, precision: int | None
) -> bytes:
    """``--report`` as csv/tsv: a line per class, then ``macro avg`` and ``weighted avg``."""
    import csv
    import io

    assert report.confusion is not None
    scores = report.confusion.scores()
    weighted = report.weight is not None
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=separator, lineterminator="\n")
    writer.writerow(["class", "precision", "recall", "f1", "support"])

    def cells(numbers: Sequence[float]) -> list[str]:
        *ratios, support = numbers
        count = support if weighted else int(round(support))
        return [float_text(float(v), precision) for v in ratios] + [float_text(count, precision)]

    for index, name in enumerate(class_names(classes, report.classes)):
        numbers = [scores.precision[index], scores.recall[index], scores.f1[index]]
        writer.writerow([name, *cells([*numbers, scores.support[index]])])
    for label, average in (("macro avg", scores.macro()), ("weighted avg", scores.weighted())):
        writer.writerow([label, *cells(list(average.values()))])
    return buffer.getvalue().encode()


def calibration_delimited(result: Calibration, separator: str, precision: int | None) -> bytes:
    """A header line and one line: the temperature, then each metric before and after."""
    names: list[str] = ["temperature", "rows"]
    values: list[float | int] = [result.fit.temperature, result.before.rows]
    for metric in ("nll", "ece", "accuracy", "brier", "mce", "mean_entropy", "rmsce"):
        names += [f"{metric}_before", f"{metric}_after"]
        values += [getattr(result.before, metric), getattr(result.after, metric)]
    return _delimited(names, values, separator, precision)


def write_evaluation(
    format_name: str | Format,
    out: BinaryIO,
    report: Report,
    classes: Sequence[str] | None,
    precision: int | None,
    no_color: bool = False,
) -> None:
    """Write an evaluation in one output format; ValueError naming an unknown format."""
    chosen = parse_format(format_name, Output.EVALUATION)
    if chosen.is_json:
        out.write(orjson.dumps(evaluation_json(report, classes, precision)) + b"\n")
    elif chosen.separator is not None and report.confusion is not None:
        out.write(class_report_delimited(report, classes, chosen.separator, precision))
    elif chosen.separator is not None:
        out.write(evaluation_delimited(report, chosen.separator, precision))
    elif chosen is Format.TABLE:
        render_evaluation_table(out, report, precision, no_color)
        if report.confusion is not None:
            from .class_table import render_class_report

            render_class_report(out, report, classes, precision, no_color)
    out.flush()


def write_calibration(
    format_name: str | Format,
    out: BinaryIO,
    result: Calibration,
    classes: Sequence[str] | None,
    precision: int | None,
    no_color: bool = False,
) -> None:
    """Write a calibration report in one output format; ValueError naming an unknown format."""
    chosen = parse_format(format_name, Output.CALIBRATION)
    if chosen.is_json:
        out.write(orjson.dumps(calibration_json(result, classes, precision)) + b"\n")
    elif chosen.separator is not None:
        out.write(calibration_delimited(result, chosen.separator, precision))
    elif chosen is Format.TABLE:
        render_calibration_table(out, result, precision, no_color)
    out.flush()


# --- tables ------------------------------------------------------------------


def reliability_bar(accuracy: float, confidence: float, width: int = DIAGRAM_WIDTH) -> str:
    """A bar as long as the accuracy, shaded to the confidence where the two differ.

    ``█`` up to the smaller of the two; then ``░`` up to the confidence where
    it is higher (overconfidence), or ``▓`` up to the accuracy where that is
    higher (underconfidence).  A perfectly calibrated bin is all ``█``.
    """
    if not (math.isfinite(accuracy) and math.isfinite(confidence)):
        return ""
    solid = round(min(accuracy, confidence) * width)
    reach = round(max(accuracy, confidence) * width)
    shade = OVER if confidence > accuracy else UNDER
    return SOLID * solid + shade * (reach - solid)


def _metric_rows(report: Report) -> list[tuple[str, float]]:
    rows = [
        ("NLL (mean cross-entropy, nats)", report.nll),
        ("perplexity", report.perplexity),
        ("accuracy", report.accuracy),
    ]
    rows += [(f"top-{k} accuracy", v) for k, v in report.top_k.items() if k != 1]
    binning = "equal-mass " if report.binning == "mass" else ""
    rows += [
        ("Brier score", report.brier),
        (f"ECE ({len(report.bins)} {binning}bins)", report.ece),
        ("MCE", report.mce),
        ("RMSCE", report.rmsce),
        ("mean entropy (nats)", report.mean_entropy),
    ]
    if report.classwise:
        name = {"l1": "ECE", "l2": "RMSCE", "max": "MCE"}[report.norm]
        rows.append((f"class-wise {name}", report.calibration_error))
    return rows


def render_evaluation_table(
    out: BinaryIO, report: Report, precision: int | None, no_color: bool = False
) -> None:
    """The metrics, then the reliability diagram: one bar per confidence bin."""
    from rich.table import Table
    from rich.text import Text

    digits = table_precision(precision)
    console, stream = make_console(out, no_color)
    summary = Table(
        title=f"evaluation: {report.rows} row{'' if report.rows == 1 else 's'}, "
        f"{report.classes} class{'' if report.classes == 1 else 'es'}, "
        f"T = {title_number(report.temperature)}"
    )
    summary.add_column("metric")
    summary.add_column("value", justify="right")
    if report.weight is not None:
        summary.add_row("sum of sample weights", f"{report.weight:g}")
    if report.ignored:
        summary.add_row("rows ignored (--ignore-label)", f"{report.ignored:,}")
    for name, value in _metric_rows(report):
        summary.add_row(name, table_number(value, digits))
    from .table_fit import fitted

    console.print(fitted(console, summary))

    diagram = Table(title="reliability diagram: accuracy against confidence, per bin")
    diagram.add_column("confidence", no_wrap=True)
    diagram.add_column("rows", justify="right")
    diagram.add_column("conf.", justify="right")
    diagram.add_column("acc.", justify="right")
    diagram.add_column("gap", justify="right")
    diagram.add_column("accuracy, 0 to 1", no_wrap=True, min_width=DIAGRAM_WIDTH)
    for item in report.bins:
        empty = item.count == 0
        drawn = reliability_bar(item.accuracy, item.confidence)
        solid = drawn.rstrip(OVER + UNDER)
        shade = drawn[len(solid) :]
        colour = OVER_STYLE if shade[:1] == OVER else UNDER_STYLE
        bar = Text.assemble(solid, (shade, colour))  # styles, not markup: names stay literal
        diagram.add_row(
            f"{item.lower:.2f}-{item.upper:.2f}",
            str(item.count),
            "" if empty else table_number(item.confidence, digits),
            "" if empty else table_number(item.accuracy, digits),
            "" if empty else table_number(item.gap, digits),
            bar,
            style=GAP_STYLE if empty else None,
        )
    from .table_fit import fitted

    console.print(fitted(console, diagram, pictures=[5]))
    console.print(
        Text.assemble(
            f"{SOLID} accuracy   ",
            (OVER, OVER_STYLE),
            " overconfident (confidence above accuracy)   ",
            (UNDER, UNDER_STYLE),
            " underconfident",
        ),
        highlight=False,
    )
    stream.flush()


def render_calibration_table(
    out: BinaryIO, result: Calibration, precision: int | None, no_color: bool = False
) -> None:
    """The fitted temperature and each metric before and after it."""
    from rich.table import Table

    digits = table_precision(precision)
    console, stream = make_console(out, no_color)
    temperature = result.fit.temperature
    table = Table(title=f"temperature scaling: T = {table_number(temperature, digits)}")
    table.add_column("metric")
    table.add_column("before (T = 1)", justify="right")
    table.add_column(f"after (T = {table_number(temperature, digits)})", justify="right")
    before = dict(_metric_rows(result.before))
    after = dict(_metric_rows(result.after))
    for name, value in before.items():
        table.add_row(name, table_number(value, digits), table_number(after[name], digits))
    console.print(table)
    console.print(
        f"fitted on {result.fit.rows_fitted} of {result.before.rows} rows "
        f"({result.fit.iterations} passes): T = {temperature!r}",
        highlight=False,
    )
    stream.flush()
