"""What each command does with its parsed options: readers in, core, writers out.

Nothing here parses the command line or reports errors; ``frontend.py`` does
both.  NumPy, the readers and the writers are imported inside the functions so
that ``--help`` and completion never load them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

from . import streams
from .errors import DataError, SoftmaxError, UsageError, say
from .formats import Format
from .operations import Operation
from .parsing import Invocation
from .streams import stdin_bytes, stdout_bytes

if TYPE_CHECKING:
    from .pipeline import LabelSource, LossOptions
    from .readers import Block, ScoreSource
    from .sample_weights import WeightSource


def output_format(run: Invocation) -> Format:
    """The format asked for; tables for people, csv for pipes (explain: always text)."""
    if run.output_format is not None:
        return Format(run.output_format)
    if run.command is not None and run.command.runner == "explain":
        return Format.TABLE
    return Format.TABLE if streams.stdout_is_terminal() else Format.CSV


@contextlib.contextmanager
def _input_stream(run: Invocation, path: str | None, option: str) -> Iterator[BinaryIO]:
    if path is None or path == "-":
        if path is None and streams.stdin_is_terminal():
            raise UsageError(
                "no scores given: pass them as arguments (softmax 2 1 0.1), "
                "with --input FILE, or on stdin (softmax < scores.csv)"
            )
        yield stdin_bytes(None if path is None else run.name_of(option))
        return
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as error:
        raise UsageError(
            f"cannot read {path!r}: {error.strerror or error}", option=run.name_of(option)
        ) from None
    with handle:
        yield handle


@contextlib.contextmanager
def score_source(run: Invocation, label_column: str | None = None) -> Iterator[ScoreSource]:
    """The scores, from arguments, ``--input`` or stdin, with the reading options applied."""
    from .readers import open_scores, scores_from_arguments
    from .readers.blocks import NO_ROWS_NOTE

    if run.scores and run.input_path is not None:
        raise UsageError(
            "give scores as arguments or with --input, not both", option=run.name_of("input_path")
        )
    names = _class_names(run)
    if run.scores:
        for dest in ("label_column", "keep", "key", "sample_weight_column"):
            if run.given(dest):
                raise UsageError(
                    "needs input from a file or stdin, not arguments", option=run.name_of(dest)
                )
        yield _named(run, scores_from_arguments(run.scores), names)
        return
    with _input_stream(run, run.input_path, "input_path") as stream:
        source = open_scores(
            stream,
            delimiter=run.values.get("delimiter"),
            header=run.values.get("header"),
            label_column=label_column,
            keep=run.values.get("keep") or (),
            key=run.values.get("key"),
            classes=names,
            weight_column=run.values.get("sample_weight_column"),
        )
        failed = True
        try:
            yield _named(run, source, names)
            failed = False
        finally:
            # What the reader noticed (a header with no rows, a likely typo), also
            # before an error it may explain.
            for note in source.notes:
                if not (failed and note == NO_ROWS_NOTE):
                    say(f"softmax: note: {note}")


def _class_names(run: Invocation) -> list[str] | None:
    """The names ``--classes FILE`` gives, or None."""
    path = run.values.get("classes")
    if path is None:
        return None
    from .readers.class_names import read_class_names

    if path == "-":
        raise UsageError("reads a file, not stdin", option=run.name_of("classes"))
    with _input_stream(run, path, "classes") as stream:
        return read_class_names(stream, f"{run.name_of('classes')} {path}")


def _named(run: Invocation, source: ScoreSource, names: list[str] | None) -> ScoreSource:
    if names is None:
        return source
    from .readers.class_names import named_source

    return named_source(source, names, f"{run.name_of('classes')} {run.values['classes']}")


def _target_order(
    classes: list[str] | None, target_classes: list[str] | None, name: str
) -> list[int] | None:
    """How to reorder the targets' columns so their class names match the scores'."""
    if classes is None or target_classes is None or classes == target_classes:
        return None
    if sorted(classes) != sorted(target_classes) or len(set(classes)) != len(classes):
        raise DataError(
            f"{name}: its classes ({', '.join(target_classes)}) are not the scores' "
            f"({', '.join(classes)})"
        )
    return [target_classes.index(cls) for cls in classes]


def _named_blocks(
    blocks: Iterator[Block], name: str, order: list[int] | None = None
) -> Iterator[Block]:
    """Blocks whose data errors say which input they are in (a second input: --targets),
    with their columns in ``order`` when the header named them in another order."""
    try:
        for block in blocks:
            if order is not None:
                block.values = block.values[:, order]
            yield block
    except DataError as error:
        raise error.in_file(name) from None


def write_rows(
    source: ScoreSource,
    operation: Operation,
    output: Format,
    *,
    temperature: float,
    precision: int | None,
    no_color: bool,
    dtype: str = "float64",
    jobs: int = 1,
) -> None:
    """Compute softmax or log-softmax of every row (in ``dtype``) and write it in one format."""
    from .numerics import operation_function
    from .pipeline import run_rows
    from .precision import in_dtype
    from .writers import RowSettings, make_row_writer

    settings = RowSettings(
        operation, temperature, precision, source.single_vector, rounded_to=dtype
    )
    out = stdout_bytes()
    writer = make_row_writer(output, out, settings, no_color=no_color)
    # Threads write float64 text; other precisions print their own shortest forms.
    if jobs != 1 and dtype == "float64" and source.chunks is not None and source.kept_names is None:
        from .parallel import default_jobs, row_text, run_rows_in_threads

        text = row_text(writer)
        if text is not None and (jobs or default_jobs()) > 1:
            run_rows_in_threads(
                source,
                operation_function(operation),
                temperature,
                writer,
                text,
                jobs or default_jobs(),
            )
            out.flush()
            return
    if jobs == 0:
        from .parallel import default_jobs

        jobs = default_jobs()
    run_rows(source, in_dtype(operation_function(operation), dtype), temperature, writer, jobs)
    out.flush()


def write_losses(
    source: ScoreSource,
    options: LossOptions,
    output: Format,
    *,
    precision: int | None,
    no_color: bool,
    labels: LabelSource | None = None,
    targets: ScoreSource | None = None,
    weights: WeightSource | None = None,
    jobs: int = 1,
) -> None:
    """Compute the cross-entropy of every row, write it, and warn when a mean is undefined."""
    from .writers import make_loss_writer

    out = stdout_bytes()
    writer = make_loss_writer(output, out, options.reduction, precision, no_color=no_color)
    summary = _run_losses(source, options, writer, labels, targets, weights, jobs)
    out.flush()
    _warn_undefined_mean(summary, options.reduction)


def _run_losses(
    source: ScoreSource,
    options: LossOptions,
    writer: Any,
    labels: LabelSource | None,
    targets: ScoreSource | None,
    weights: WeightSource | None,
    jobs: int,
) -> Any:
    """``run_cross_entropy``, in ``jobs`` threads (0: one per core) where blocks allow it."""
    from .heap import keep_freed_blocks
    from .pipeline import run_cross_entropy, threadable

    keep_freed_blocks()
    if jobs != 1 and threadable(source, labels, targets, weights):
        from .parallel import default_jobs, run_losses_in_threads

        jobs = jobs or default_jobs()
        if jobs > 1:
            assert labels is not None
            return run_losses_in_threads(source, options, writer, labels, weights, jobs)
    return run_cross_entropy(
        source, options, writer, labels=labels, targets=targets, weights=weights
    )


def _warn_undefined_mean(summary: Any, reduction: str) -> None:
    if summary.weight_sum == 0 and reduction != "sum":
        from .sample_weights import ZERO_WEIGHT_WARNING

        if not summary.rows:
            reason = "there are no rows"
        elif summary.counted and summary.zero_sample_weight:
            reason = ZERO_WEIGHT_WARNING
        elif summary.counted:
            reason = "the class weights of every row's label are 0"
        else:
            reason = "every row was ignored"
        say(f"softmax: warning: {reason}, so the mean loss is NaN")


def rows(run: Invocation) -> None:
    """probs and logprobs."""
    assert run.command is not None and run.command.operation is not None
    with score_source(run, run.label_column) as source:
        write_rows(
            source,
            run.command.operation,
            output_format(run),
            temperature=run.temperature,
            precision=run.precision,
            no_color=run.no_color,
            dtype=run.dtype,
            jobs=run.values.get("jobs", 1),
        )


def _given_one_way(run: Invocation, dests: tuple[str, ...], what: str, missing: str) -> str:
    """The one option of ``dests`` the user gave; a usage error for none or several."""
    given = [dest for dest in dests if run.given(dest)]
    if len(given) > 1:
        raise UsageError(
            f"give {what} one way, not also with {run.name_of(given[1])}",
            option=run.name_of(given[0]),
        )
    if not given:
        raise UsageError(missing)
    return given[0]


def _label_source(run: Invocation) -> LabelSource:
    from .pipeline import ColumnLabels, ListedLabels

    given = _given_one_way(
        run,
        ("labels", "label_column"),
        "the labels",
        "needs labels: --labels 0,2,1 or --label-column COL",
    )
    if given == "labels":
        return ListedLabels(run.labels, run.name_of("labels"))
    return ColumnLabels()


def _weight_source(run: Invocation, stack: contextlib.ExitStack) -> WeightSource | None:
    """``--sample-weight-column`` or ``--sample-weights FILE``, at most one; None for neither."""
    from .sample_weights import ColumnWeights, FileWeights

    given = [dest for dest in ("sample_weight_column", "sample_weights") if run.given(dest)]
    if not given:
        return None
    if len(given) > 1:
        raise UsageError(
            f"give sample weights one way, not also with {run.name_of(given[1])}",
            option=run.name_of(given[0]),
        )
    if given[0] == "sample_weight_column":
        return ColumnWeights()
    path = run.sample_weights
    if path == "-" and run.input_path in (None, "-") and not run.scores:
        raise UsageError(
            "scores and sample weights cannot both come from stdin",
            option=run.name_of("sample_weights"),
        )
    stream = stack.enter_context(_input_stream(run, path, "sample_weights"))
    return FileWeights(stream, f"{run.name_of('sample_weights')} {path}")


def _evaluation_settings(run: Invocation, report: bool = False) -> Any:
    from .evaluation import Settings

    return Settings(
        bins=run.bins,
        norm=run.ece_norm,
        binning=run.binning,
        classwise=bool(run.classwise),
        confusion=report,
        sparse_ok=run.output_format in ("json", "ndjson"),
    )


def cross_entropy(run: Invocation) -> None:
    from .pipeline import LossOptions

    _given_one_way(
        run,
        ("labels", "label_column", "targets"),
        "the truth",
        "needs labels: --labels 0,2,1, --label-column COL or --targets FILE",
    )
    if run.targets is not None and run.ignore_label is not None:
        raise UsageError(
            "goes with class labels, not --targets", option=run.name_of("ignore_label")
        )
    options = LossOptions(
        reduction=run.reduction,
        temperature=run.temperature,
        class_weights=run.weights,
        label_smoothing=run.label_smoothing,
        ignore_label=run.ignore_label,
        dtype=run.dtype,
    )
    with contextlib.ExitStack() as stack:
        source = stack.enter_context(score_source(run, run.label_column))
        target_source = None
        if run.targets is not None:
            from .readers import open_scores

            if run.targets == "-" and run.input_path in (None, "-") and not run.scores:
                raise UsageError(
                    "scores and targets cannot both come from stdin",
                    option=run.name_of("targets"),
                )
            stream = stack.enter_context(_input_stream(run, run.targets, "targets"))
            name = f"{run.name_of('targets')} {run.targets}"
            try:
                target_source = open_scores(stream)
            except SoftmaxError as error:
                raise UsageError(f"{run.targets}: {error}", option=run.name_of("targets")) from None
            order = _target_order(source.classes, target_source.classes, name)
            target_source.blocks = _named_blocks(target_source.blocks, name, order)
        label_source = None if run.targets is not None else _label_source(run)
        weight_source = _weight_source(run, stack)
        if run.partial:
            return _losses_partial(run, options, source, label_source, target_source, weight_source)
        write_losses(
            source,
            options,
            output_format(run),
            precision=run.precision,
            no_color=run.no_color,
            labels=label_source,
            targets=target_source,
            weights=weight_source,
            jobs=run.values.get("jobs", 1),
        )


class _NoRows:
    """A loss writer that writes nothing: ``--partial`` keeps only the totals."""

    def start(self, classes: Any, kept_names: Any = None) -> None:
        pass

    def rows(self, *_: Any) -> None:
        pass

    def finish(self, summary: Any) -> None:
        pass


def _losses_partial(
    run: Invocation,
    options: LossOptions,
    source: ScoreSource,
    labels: LabelSource | None,
    targets: ScoreSource | None,
    weights: WeightSource | None,
) -> None:
    """``cross-entropy --partial``: the running totals of these rows, for ``softmax merge``."""
    from . import partials

    _refuse_format_with_partial(run)
    if options.reduction == "none":
        raise UsageError(
            "needs --reduction mean or sum: per-row losses have nothing to merge",
            option=run.name_of("partial"),
        )
    summary = _run_losses(
        source, options, _NoRows(), labels, targets, weights, run.values.get("jobs", 1)
    )
    agreed = {
        "reduction": options.reduction,
        "temperature": options.temperature,
        "class_weights": None if options.class_weights is None else list(options.class_weights),
        "label_smoothing": options.label_smoothing,
        "ignore_label": options.ignore_label,
        "dtype": options.dtype,
        "truth": "targets" if targets is not None else "labels",
        "weighted": weights is not None,
        "classes": None if source.classes is None else list(source.classes),
    }
    partials.write(stdout_bytes(), "cross-entropy", agreed, partials.loss_state(summary))


def evaluate(run: Invocation) -> None:
    from .evaluation import run_evaluate
    from .reports import write_evaluation

    label_source = _label_source(run)
    if run.partial:
        return _evaluate_partial(run, label_source)
    chosen = output_format(run)
    with contextlib.ExitStack() as stack:
        source = stack.enter_context(score_source(run, run.label_column))
        weight_source = _weight_source(run, stack)
        report = run_evaluate(
            source,
            label_source,
            top_k=run.top_k,
            temperature=run.temperature,
            settings=_evaluation_settings(run, bool(run.report)),
            ignore_label=run.ignore_label,
            weights=weight_source,
        )
        _warn_zero_weight(report.weight)
        out = stdout_bytes()
        write_evaluation(chosen, out, report, source.classes, run.precision, run.no_color)


def _refuse_format_with_partial(run: Invocation) -> None:
    if run.given("output_format"):
        raise UsageError(
            "a partial is always JSON; give -o to softmax merge", option=run.name_of("partial")
        )


def _evaluate_partial(run: Invocation, label_source: LabelSource) -> None:
    """``evaluate --partial``: the running sums of these rows, for ``softmax merge``."""
    from dataclasses import replace

    from . import partials
    from .evaluation import accumulate

    _refuse_format_with_partial(run)
    partials.refuse_mass_binning(run.binning, run.name_of("partial"))
    settings = _evaluation_settings(run, bool(run.report))
    settings = replace(settings, sparse_ok=True)  # a partial is JSON
    with contextlib.ExitStack() as stack:
        source = stack.enter_context(score_source(run, run.label_column))
        weight_source = _weight_source(run, stack)
        accumulator, ignored = accumulate(
            source,
            label_source,
            settings.accumulator(run.top_k, run.temperature),
            settings,
            ignore_label=run.ignore_label,
            weights=weight_source,
        )
        options = partials.evaluation_options(
            accumulator,
            ignore_label=run.ignore_label,
            weighted=weight_source is not None,
            classes=None if source.classes is None else list(source.classes),
        )
        partials.write(
            stdout_bytes(), "evaluate", options, {**accumulator.state(), "ignored": ignored}
        )


def merge(run: Invocation) -> None:
    """``softmax merge``: partials in, the output of one run over all their rows out."""
    from . import partials
    from .formats import Output, parse_format

    found = _read_partials(run)
    first = found[0]
    for other in found[1:]:
        partials.check_agreement(first, other)
    chosen = output_format(run)
    kind = Output.EVALUATION if first.command == "evaluate" else Output.LOSSES
    try:
        parse_format(chosen, kind)
    except ValueError as error:
        raise UsageError(
            f"{error} (the partials are of {first.command})", option=run.name_of("output_format")
        ) from None
    names = first.options.get("classes")
    out = stdout_bytes()
    if first.command == "evaluate":
        from .evaluation import finished
        from .reports import write_evaluation

        accumulator, ignored = partials.merged_evaluation(found)
        if first.options.get("report"):
            _check_merged_confusion(run, accumulator.classes, chosen.value)
        report = finished(accumulator, ignored)
        _warn_zero_weight(report.weight)
        write_evaluation(chosen, out, report, names, run.precision, run.no_color)
        return
    from .writers import make_loss_writer

    summary = partials.merged_losses(found)
    writer = make_loss_writer(chosen, out, summary.reduction, run.precision, no_color=run.no_color)
    writer.start(names, None)
    writer.finish(summary)
    out.flush()
    _warn_undefined_mean(summary, summary.reduction)


def _check_merged_confusion(run: Invocation, classes: int, chosen: str) -> None:
    """Refuse a dense matrix too large to show, without naming --report: merge has none."""
    from .evaluation import DENSE_LIMIT

    if classes > DENSE_LIMIT and chosen not in ("json", "ndjson"):
        given = run.given("output_format")
        raise UsageError(
            f"the partials hold a confusion matrix of {classes:,} classes (evaluate --report), "
            f"too large to show (at most {DENSE_LIMIT:,}); -o json writes it sparsely",
            option=run.name_of("output_format") if given else None,
        )


def _read_partials(run: Invocation) -> list[Any]:
    """Every partial in the files named (``-`` or none: stdin), checked."""
    from . import partials

    found = []
    for path in run.scores or ["-"]:
        if path == "-" and streams.stdin_is_terminal():
            raise UsageError("no partials given: name their files, or pipe them in")
        name = "stdin" if path == "-" else path
        if path == "-":
            try:
                data = stdin_bytes().read()
            except UsageError:  # its words name --input, which merge has not
                raise UsageError("stdin is closed: name the partials' files") from None
        else:
            try:
                with open(path, "rb") as handle:
                    data = handle.read()
            except OSError as error:
                raise UsageError(f"cannot read {path!r}: {error.strerror or error}") from None
        text = _partial_text(data, name)
        found += [partials.checked(doc, where) for where, doc in partials.documents(text, name)]
    if not found:
        raise DataError("no partials to merge: the input is empty")
    return found


def _partial_text(data: bytes, name: str) -> str:
    """A partial's text, decoded as every input is: a BOM, UTF-16/32 and gzip are read."""
    import io

    from .readers.decode import NpyInput, text_stream
    from .readers.text import BOM, CHUNK_BYTES

    try:
        stream = text_stream(io.BytesIO(data), CHUNK_BYTES)
        if isinstance(stream, NpyInput):
            raise DataError("a NumPy .npy array")
        return stream.read().removeprefix(BOM).decode("utf-8")
    except DataError as error:
        raise DataError(f"{name}: not a softmax partial ({error})", placed=True) from None
    except UnicodeDecodeError:
        raise DataError(f"{name}: not a softmax partial (not UTF-8 text)", placed=True) from None


def _warn_zero_weight(weight: float | None) -> None:
    from .sample_weights import ZERO_WEIGHT_WARNING

    if weight is not None and not weight > 0:
        say(f"softmax: warning: {ZERO_WEIGHT_WARNING}, so the means are NaN")


def calibrate(run: Invocation) -> None:
    from .evaluation import collect, in_slices, run_calibrate

    label_source = _label_source(run)
    if run.apply and run.ignore_label is not None:
        raise UsageError(
            "goes with the report, not --apply: the rows it leaves out would be missing",
            option=run.name_of("ignore_label"),
        )
    with contextlib.ExitStack() as stack:
        source = stack.enter_context(score_source(run, run.label_column))
        weight_source = _weight_source(run, stack)
        collected = collect(
            source, label_source, ignore_label=run.ignore_label, weights=weight_source
        )
    rows_, label_ints = collected.scores, collected.labels
    result = run_calibrate(
        rows_, label_ints, weights=collected.weights, settings=_evaluation_settings(run)
    )
    format_name = output_format(run)
    if run.apply:
        write_rows(
            in_slices(rows_, source),
            Operation.SOFTMAX,
            format_name,
            temperature=result.fit.temperature,
            precision=run.precision,
            no_color=run.no_color,
        )
        return
    from .reports import write_calibration

    out = stdout_bytes()
    write_calibration(format_name, out, result, source.classes, run.precision, run.no_color)


# explain's other views (filters, sparsemax/entmax/tree) show one table of their own:
# the options of the softmax derivation do not apply to them.
_EXPLAIN_VIEWS = (("top_k", "top_p", "min_p"), ("sparsemax", "entmax", "tree"))
_DERIVATION_ONLY = ("target", "step", "brief", "online", "dtype")


def _one_explain_view(run: Invocation) -> None:
    """Refuse a mix of views, or a view with a derivation-only option or format."""
    views = [[dest for dest in view if run.given(dest)] for view in _EXPLAIN_VIEWS]
    asked = [given for given in views if given]
    if len(asked) > 1:
        raise UsageError(
            f"explain one thing at a time, not also {run.name_of(asked[1][0])}",
            option=run.name_of(asked[0][0]),
        )
    if not asked:
        return
    view = run.name_of(asked[0][0])
    for dest in _DERIVATION_ONLY:
        if run.given(dest):
            raise UsageError(
                f"goes with softmax's derivation, not {view}", option=run.name_of(dest)
            )
    if run.given("output_format") and output_format(run).value in ("markdown", "latex"):
        raise UsageError(
            f"{output_format(run).value} shows softmax's derivation; {view} writes table or json",
            option=run.name_of("output_format"),
        )


def explain(run: Invocation) -> None:
    _one_explain_view(run)
    if run.sparsemax or run.entmax is not None or run.tree is not None:
        from .explain_sparse import explain_beyond

        return explain_beyond(run, _front())
    from .explain import DEFAULT_SWEEP, MAX_CLASSES, derive, write_explanation
    from .one_vector import read_one_vector

    temperatures = run.sweep_temperatures
    if temperatures is None and run.sweep:
        temperatures = list(DEFAULT_SWEEP)
    with score_source(run) as source:
        values = read_one_vector(source, max_classes=MAX_CLASSES)
    from .explain_filters import explain_filtered, filtering_asked

    if filtering_asked(run.values):
        return explain_filtered(run, output_format(run), values[0], source.classes)
    try:
        steps = derive(
            values[0],
            temperature=run.temperature,
            label=run.label,
            classes=source.classes,
            temperatures=temperatures,
            target=run.target,
            step=run.step,
            online=bool(run.online),
            dtype=run.dtype,
        )
    except UsageError as error:
        if error.option == "--label":
            error.option = run.name_of("label")  # as typed: -l or --label
        raise
    # The one place explain's modes meet: each adds its steps to `steps` above and
    # its words in explain_notes; the writers below typeset whatever is there.
    write_explanation(
        output_format(run),
        stdout_bytes(),
        steps,
        precision=run.precision,
        no_color=run.no_color,
        brief=bool(run.brief),
    )


def top(run: Invocation) -> None:
    from .next_token import run_top

    with score_source(run) as source:
        run_top(run, source, output_format(run))


def sample(run: Invocation) -> None:
    from .next_token import run_sample

    with score_source(run) as source:
        run_sample(run, source, output_format(run))


def _front() -> Any:
    """What ``beyond`` and ``explain_sparse`` borrow from here (they do not import this)."""
    from .beyond import Front

    return Front(score_source, output_format, _given_one_way)


def _beyond(name: str, run: Invocation) -> None:
    """sparsemax, entmax and hsoftmax: their runners live in ``beyond``."""
    from . import beyond

    getattr(beyond, name)(run, _front())


def logsumexp(run: Invocation) -> None:
    from .normaliser import Totals, make_value_writer, run_logsumexp

    totals = Totals(reduction=run.reduction, temperature=run.temperature, dtype=run.dtype)
    with score_source(run, run.label_column) as source:
        out = stdout_bytes()
        writer = make_value_writer(
            output_format(run),
            out,
            run.reduction,
            run.precision,
            temperature=run.temperature,
            no_color=run.no_color,
        )
        run_logsumexp(source, totals, writer)
        out.flush()
    if totals.rows == 0 and run.reduction == "mean":
        say("softmax: warning: there are no rows, so the mean is NaN")
    if (undefined := totals.undefined_reason()) is not None:
        say(f"softmax: warning: {undefined}")


RUNNERS: dict[str, Callable[[Invocation], Any]] = {
    "rows": rows,
    "cross_entropy": cross_entropy,
    "explain": explain,
    "evaluate": evaluate,
    "calibrate": calibrate,
    "top": top,
    "sample": sample,
    "sparse": lambda run: _beyond("sparse", run),
    "hsoftmax": lambda run: _beyond("hsoftmax", run),
    "logsumexp": logsumexp,
    "merge": merge,
}
