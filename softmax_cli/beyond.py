"""What sparsemax, entmax and hsoftmax do with their parsed options: readers in,
``sparse`` / ``hierarchy`` core, the usual writers out.

Nothing heavy is imported at module level: ``commands.RUNNERS`` names these
runners, and ``--help`` must not pay for NumPy.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from .errors import DataError, UsageError
from .formats import Format
from .operations import Operation
from .parsing import Invocation
from .streams import stdout_bytes

if TYPE_CHECKING:
    import numpy as np

    from .hierarchy import Tree
    from .numerics import FloatArray
    from .pipeline import LabelSource
    from .readers import ScoreSource


class Front(NamedTuple):
    """What these runners borrow from ``commands``, handed in so neither imports the other."""

    score_source: Callable[..., contextlib.AbstractContextManager[ScoreSource]]
    output_format: Callable[[Invocation], Format]
    given_one_way: Callable[[Invocation, tuple[str, ...], str, str], str]


#: Computes, for the first rows of a block and their integer labels: the losses, p(label)
#: and the predicted class of each row.
LossFunction = Callable[["FloatArray", "np.ndarray"], tuple["FloatArray", "FloatArray", Any]]


def _losses_as_text(run: Invocation, front: Front) -> None:
    """Losses are text, as cross-entropy writes them: an array file holds probabilities."""
    if front.output_format(run) is Format.NPY:
        raise UsageError(
            "losses are written as table, csv, tsv, json or ndjson; npy holds probabilities",
            option=run.name_of("output_format"),
        )


def _loss_options_only_with_loss(run: Invocation, with_loss: bool) -> None:
    """``--labels``, ``--reduction`` and ``--ignore-label`` mean nothing without a loss."""
    if with_loss:
        return
    for dest in ("labels", "reduction", "ignore_label"):
        if run.given(dest):
            raise UsageError("goes with --loss", option=run.name_of(dest))


def _write_rows(
    run: Invocation,
    front: Front,
    source: ScoreSource,
    operation: Operation,
    function: Callable[[FloatArray, float], FloatArray],
    parameters: dict[str, Any] | None = None,
) -> None:
    from .pipeline import run_rows
    from .writers import RowSettings, make_row_writer

    settings = RowSettings(
        operation, run.temperature, run.precision, source.single_vector, parameters
    )
    out = stdout_bytes()
    writer = make_row_writer(front.output_format(run), out, settings, no_color=run.no_color)
    run_rows(source, function, run.temperature, writer)
    out.flush()


def _write_losses(
    run: Invocation,
    front: Front,
    source: ScoreSource,
    labels: LabelSource,
    name: str,
    loss_of: LossFunction,
    *,
    classes: list[str] | None,
    check_scores: Callable[[FloatArray], None],
    header: bool = True,
) -> None:
    """Stream one loss per row, as cross-entropy does, then the reduction."""
    import numpy as np

    from .errors import RowError, say
    from .pipeline import _carried, _check_labels, _closed, _earliest, _ignored_value
    from .results import LossDetails, LossSummary
    from .writers import make_loss_writer

    out = stdout_bytes()
    writer = make_loss_writer(
        front.output_format(run), out, run.reduction, run.precision, name, no_color=run.no_color
    )
    summary = LossSummary(reduction=run.reduction)
    ignore = _ignored_value(run.values.get("ignore_label"), classes)
    count_of_classes = len(classes) if classes is not None else None
    # Per-row csv losses get a header line only when the input had one, as in cross-entropy.
    writer.start(classes if header else None, source.kept_names)
    try:
        for block in source.blocks:
            source.current = block
            scores = block.values
            width = count_of_classes or scores.shape[1]
            raw = labels.labels_for(block, classes, partial=True)
            label_ints, ignored, bad, label_error = _check_labels(raw, width, ignore, block)
            missing = labels.missing if labels.missing is not None else (None, None)
            try:
                check_scores(scores)
                score_problem: tuple[int | None, DataError | None] = (None, None)
            except RowError as problem:
                score_problem = (
                    problem.row,
                    DataError(
                        problem.message,
                        line=block.line_of(problem.row),
                        column=problem.column,
                        unit=block.unit,
                    ),
                )
            stop, error = _earliest(missing, score_problem, (bad, label_error))
            count = scores.shape[0] if stop is None else stop
            truth = label_ints[:count]
            counted = ~ignored[:count]
            if count:
                with np.errstate(over="ignore"):
                    losses, picked, predicted = loss_of(scores[:count], truth)
                losses = np.where(counted, losses, 0.0)
                summary.loss_sum += float(losses.sum())
                summary.weight_sum += float(counted.sum())
                summary.correct += int(((predicted == truth) & counted).sum())
                summary.counted += int(counted.sum())
                details = LossDetails(
                    target_probability=picked,
                    predicted=predicted,
                    labels=np.where(counted, truth, -1),
                )
                carried = _carried(block)
                writer.rows(
                    losses, details, summary.rows, None if carried is None else carried.head(count)
                )
            summary.rows += count
            if error is not None:
                raise error
        labels.finish(summary.rows)
        writer.finish(summary)
    except BaseException as error:
        raise _closed(writer, error, source.current) from None
    out.flush()
    if summary.weight_sum == 0 and run.reduction != "sum":
        reason = "every row was ignored" if summary.rows else "there are no rows"
        say(f"softmax: warning: {reason}, so the mean loss is NaN")


def _labels(
    run: Invocation, front: Front, dests: tuple[str, ...] = ("labels", "label_column")
) -> LabelSource:
    from .pipeline import ColumnLabels, ListedLabels

    given = front.given_one_way(
        run,
        dests,
        "the labels",
        "needs labels: " + " or ".join(("--labels 0,2,1", "--label-column COL")[: len(dests)]),
    )
    if given == "labels":
        return ListedLabels(run.labels, run.name_of("labels"))
    return ColumnLabels()


def sparse(run: Invocation, front: Front) -> None:
    """sparsemax and entmax: probabilities, or with ``--loss`` the matching loss."""

    assert run.command is not None and run.command.operation is not None
    alpha = 2.0
    if run.command.operation is Operation.ENTMAX:
        if run.alpha is None:
            raise UsageError("needs --alpha A (1 is softmax, 1.5 exact, 2 sparsemax)")
        alpha = run.alpha
    _loss_options_only_with_loss(run, run.loss)
    if run.loss:
        _losses_as_text(run, front)
    labels = _labels(run, front) if run.loss else None
    with front.score_source(run, run.label_column) as source:
        if labels is None:
            from . import sparse as core

            parameters = {"alpha": alpha} if run.command.operation is Operation.ENTMAX else None
            _write_rows(
                run,
                front,
                source,
                run.command.operation,
                lambda values, temperature: core.entmax(values, alpha, temperature),
                parameters,
            )
            return
        from . import numerics
        from . import sparse as core

        def loss_of(scores: FloatArray, truth: np.ndarray) -> tuple[Any, Any, Any]:
            losses, picked = core.entmax_loss(scores, truth, alpha, run.temperature)
            return losses, picked, scores.argmax(axis=1)

        name = "sparsemax_loss" if alpha == 2.0 else "entmax_loss"
        if alpha == 1.0:
            name = "cross_entropy"
        _write_losses(
            run,
            front,
            source,
            labels,
            name,
            loss_of,
            classes=source.classes,
            check_scores=numerics.check_rows,
        )


def read_tree(path: str, option: str) -> Tree:
    """The tree file at ``path``, parsed and checked; its problems name its lines."""
    from .hierarchy import parse_tree

    return parse_tree(_read_text(path, option), path)


def _read_text(path: str, option: str) -> str:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        raise UsageError(
            f"cannot read {path!r}: {error.strerror or error}", option=option
        ) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DataError(f"{path}: not UTF-8 text (byte {error.start + 1})", placed=True) from None


def refuse_class_names(run: Invocation) -> None:
    """With a tree, the classes are the tree's and the score columns are nodes, so a file of
    class names could only contradict it (or be node names silently ignored)."""
    if run.given("classes"):
        raise UsageError(
            "the class names come from --tree, and the score columns are its nodes "
            "(a header line may name those)",
            option=run.name_of("classes"),
        )


def hsoftmax(run: Invocation, front: Front) -> None:
    """Hierarchical softmax, its log, its cross-entropy; or ``--huffman`` writes a tree."""
    if run.huffman is not None:
        for dest in ("tree", "labels", "log", "input_path"):
            if run.given(dest):
                raise UsageError(
                    f"--huffman writes a tree and reads no scores; not with {run.name_of(dest)}",
                    option=run.name_of("huffman"),
                )
        if run.scores:
            raise UsageError("reads no scores", option=run.name_of("huffman"))
        _write_huffman(run)
        return
    if run.tree is None:
        raise UsageError("needs --tree FILE (or --huffman COUNTS to make one)")
    refuse_class_names(run)
    tree = read_tree(run.tree, run.name_of("tree"))

    with_loss = bool(run.labels)
    if with_loss:
        _losses_as_text(run, front)
    for dest in ("reduction",):
        if run.given(dest) and not with_loss:
            raise UsageError("goes with --labels", option=run.name_of(dest))
    if with_loss and run.log:
        raise UsageError(
            "with --labels the loss is written instead of log-probabilities",
            option=run.name_of("log"),
        )
    with front.score_source(run) as source:
        headed = source.classes is not None
        source.classes = list(tree.classes)  # the input's header, if any, names the nodes
        from . import hierarchy

        if not with_loss:
            operation = Operation.LOG_HSOFTMAX if run.log else Operation.HSOFTMAX
            function = hierarchy.log_probs if run.log else hierarchy.probs
            _write_rows(
                run,
                front,
                source,
                operation,
                lambda values, temperature: function(values, tree, temperature),
            )
            return
        table = front.output_format(run) is Format.TABLE

        def loss_of(scores: FloatArray, truth: np.ndarray) -> tuple[Any, Any, Any]:
            import numpy as np

            picked = hierarchy.label_log_probs(scores, tree, truth, run.temperature)
            if table:  # the table shows the predicted class: that takes every class
                predicted = hierarchy.log_probs(scores, tree, run.temperature).argmax(axis=1)
            else:
                predicted = np.full(truth.shape, -1)
            return -picked, np.exp(picked), predicted

        def check(scores: FloatArray) -> None:
            hierarchy._checked(scores, tree, 1.0)  # the width, and NaN placed by row

        _write_losses(
            run,
            front,
            source,
            _labels(run, front, ("labels",)),
            "hierarchical_cross_entropy",
            loss_of,
            classes=list(tree.classes),
            header=headed or table,
            check_scores=check,
        )


def _write_huffman(run: Invocation) -> None:
    from .escapes import printable
    from .hierarchy import huffman_paths, parse_counts, tree_text

    name = run.huffman
    classes, counts = parse_counts(_read_text(name, run.name_of("huffman")), name)
    # The comment must stay one line of the tree file, whatever the file's name holds.
    shown = printable(name).replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    text = f"# Huffman tree of {shown}: class node:code ... (code 0: sigmoid(s), 1: sigmoid(-s))\n"
    out = stdout_bytes()
    out.write((text + tree_text(classes, huffman_paths(counts))).encode())
    out.flush()
