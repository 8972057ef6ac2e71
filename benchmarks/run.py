#!/usr/bin/env python3
"""Benchmarks: ``softmax`` against what a user would otherwise reach for.

    python benchmarks/run.py            # every workload, 5 runs each (several minutes)
    python benchmarks/run.py --quick    # small inputs, 1 run: a smoke test of this script
    python benchmarks/run.py --only startup probs --runs 9

Data sets are generated with a fixed seed into ``benchmarks/data/`` (git-ignored)
and reused.  The methods of a workload run in alternation (A B C, A B C, ...)
so a busy machine slows them alike.  The table gives the median wall time,
input MB/s, the peak resident memory of the process tree (``ru_maxrss`` from
``wait4``, the largest over the runs) and each median divided by the
workload's reference.  Every method's output is checked against NumPy in a
warm-up run before it is timed.  Methods whose tool is not installed
(mawk/awk, pandas, SciPy, polars, DuckDB) are skipped and the report says so.  The report is
Markdown, printed to stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SEED = 6
WORKLOADS = (
    "startup",
    "probs",
    "logprobs",
    "xent",
    "sparse",
    "formats",
    "wide",
    "vocab",
    "memory",
    "evaluate",
    "narrow",
    "loss",
    "ndjson",
    "npy",
)
RSS_TARGET_MB = 150.0

# --- the alternatives, as a user would write them ------------------------------

AWK_PROBS = (
    "{m=$1; for(i=2;i<=NF;i++) if($i>m) m=$i; s=0;"
    " for(i=1;i<=NF;i++){e[i]=exp($i-m); s+=e[i]}"
    ' for(i=1;i<=NF;i++) printf "%.17g%s", e[i]/s, (i<NF?",":"\\n")}'
)
NUMPY_PROBS = """
import sys
import numpy as np
x = np.loadtxt(sys.stdin, delimiter=",", ndmin=2)
e = np.exp(x - x.max(axis=1, keepdims=True))
np.savetxt(sys.stdout, e / e.sum(axis=1, keepdims=True), fmt="%.17g", delimiter=",")
"""
PANDAS_PROBS = """
import sys
import pandas as pd
from scipy.special import softmax
frame = pd.read_csv(sys.stdin, header=None)
pd.DataFrame(softmax(frame.to_numpy(), axis=1)).to_csv(sys.stdout, header=False, index=False)
"""
# polars and DuckDB as their users would write it (both read the whole input first).
POLARS_PROBS = """
import sys
import polars as pl
frame = pl.read_csv(sys.stdin.buffer, has_header=False)
columns = frame.columns
top = pl.max_horizontal(columns)
exps = frame.select([(pl.col(c) - top).exp() for c in columns])
total = pl.sum_horizontal(columns)
exps.select([pl.col(c) / total for c in columns]).write_csv(sys.stdout.buffer, include_header=False)
"""
DUCKDB_PROBS = """
import sys
import duckdb
columns = [f"c{i}" for i in range(int(sys.argv[1]))]
types = ", ".join(f"'{c}': 'DOUBLE'" for c in columns)
exps = ", ".join(f"exp({c} - m) AS {c}" for c in columns)
total = " + ".join(columns)
duckdb.sql(f\"\"\"
COPY (
  SELECT {", ".join(f"{c} / ({total}) AS {c}" for c in columns)} FROM (
    SELECT {exps} FROM (
      SELECT *, greatest({", ".join(columns)}) AS m
      FROM read_csv('/dev/stdin', header=false, columns={{{types}}})))
) TO '/dev/stdout' (FORMAT csv, HEADER false)\"\"\")
"""
POLARS_LOSS = """
import sys
import polars as pl
frame = pl.read_csv(sys.stdin.buffer)
columns = [c for c in frame.columns if c != "y"]
top = pl.max_horizontal(columns)
log_norm = top + pl.sum_horizontal([(pl.col(c) - top).exp() for c in columns]).log()
picked = pl.concat_list(columns).list.get(pl.col("y"))
print(repr(frame.select((log_norm - picked).mean()).item()))
"""
DUCKDB_LOSS = """
import sys
import duckdb
columns = [f"c{i}" for i in range(int(sys.argv[1]))]
total = " + ".join(f"exp({c} - m)" for c in columns)
print(repr(duckdb.sql(f\"\"\"
SELECT avg(m + ln({total}) - list_extract([{", ".join(columns)}], y + 1))
FROM (SELECT *, greatest({", ".join(columns)}) AS m FROM read_csv('/dev/stdin', header=true))
\"\"\").fetchall()[0][0]))
"""
POLARS_NDJSON = """
import sys
import polars as pl
lines = pl.read_csv(
    sys.stdin.buffer, has_header=False, separator="\\t", quote_char=None, new_columns=["x"]
)
x = pl.col("x").str.json_decode(pl.List(pl.Float64))
exps = x.list.eval((pl.element() - pl.element().max()).exp())
probs = exps.list.eval(pl.element() / pl.element().sum())
text = pl.lit("[") + probs.list.eval(pl.element().cast(pl.String)).list.join(",") + pl.lit("]")
sys.stdout.buffer.write(("\\n".join(lines.select(text).to_series().to_list()) + "\\n").encode())
"""
DUCKDB_NDJSON = """
import duckdb
duckdb.sql("SET enable_progress_bar = false")  # a slow run would print it into the output
duckdb.sql(\"\"\"
COPY (
  SELECT to_json(list_transform(e, lambda v: v / list_sum(e))) FROM (
    SELECT list_transform(json, lambda v: exp(v - list_max(json))) AS e
    FROM read_json('/dev/stdin', format='newline_delimited', records=false))
) TO '/dev/stdout' (FORMAT csv, HEADER false, QUOTE '', ESCAPE '')\"\"\")
"""
NUMPY_NPY = """
import sys
import numpy as np
x = np.load(sys.argv[1], mmap_mode="r")
e = np.exp(x - x.max(axis=1, keepdims=True))
np.save(sys.stdout.buffer, e / e.sum(axis=1, keepdims=True))
"""

Check = Callable[[Path], "str | None"]

#: The .npy workload also times the same command on a tiny array: what is left is start-up.
STARTUP_ONLY = "softmax probs -o npy, 2 x 10 array (start-up only)"


@dataclass
class Method:
    """One way to do a workload: a command, its stdin, a check of its output."""

    name: str
    argv: list[str]
    stdin: Path | None = None
    check: Check | None = None
    missing: str | None = None  # why it cannot run here, if it cannot
    problem: str | None = None  # why its output was not right, if it was not
    walls: list[float] = field(default_factory=list)
    peak_mb: float = 0.0
    env: dict[str, str] = field(default_factory=dict)  # added to the environment
    target: float | None = None  # the most this may take, as a multiple of the reference


@dataclass
class Workload:
    """Methods compared on one input; ratios are taken against ``reference``."""

    key: str
    title: str
    methods: list[Method]
    reference: str
    size: int = 0  # input bytes, for MB/s; 0 when MB/s means nothing
    runs: int = 5
    #: Timed runs write to a file, as a user saves a binary array (a pipe or /dev/null
    #: would make ``-o npy`` spool it first, to give the reader a whole array).
    to_file: bool = False


# --- data ----------------------------------------------------------------------


def write_logits(
    path: Path, rows: int, width: int, *, decimals: int | None = None, labels: bool = False
) -> Path:
    """Rows of normal(0, 3) logits in shortest round-trip text (or rounded), seeded."""
    import orjson

    if path.exists():
        return path
    rng = np.random.default_rng([SEED, rows, width, int(labels)])
    step = max(1, 2_000_000 // width)
    partial = path.with_name(path.name + ".partial")
    with open(partial, "wb") as out:
        if labels:
            out.write((",".join(f"c{i}" for i in range(width)) + ",y\n").encode())
        for start in range(0, rows, step):
            block = rng.normal(0.0, 3.0, (min(step, rows - start), width))
            if decimals is not None:
                block = np.round(block, decimals)
            lines = orjson.dumps(block, option=orjson.OPT_SERIALIZE_NUMPY)[2:-2].split(b"],[")
            if labels:
                ys = rng.integers(0, width, len(lines))
                lines = [line + b",%d" % y for line, y in zip(lines, ys, strict=True)]
            out.write(b"\n".join(lines) + b"\n")
    partial.rename(path)
    return path


def read_rows(path: Path, count: int, *, header: bool = False) -> np.ndarray:
    """The first ``count`` rows of a CSV file, parsed by Python's ``float``."""
    with open(path, "rb") as handle:
        if header:
            handle.readline()
        lines = [handle.readline() for _ in range(count)]
    return np.array([[float(v) for v in line.split(b",")] for line in lines if line.strip()])


def softmax_rows(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def log_softmax_rows(x: np.ndarray) -> np.ndarray:
    shifted = x - x.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def entmax_rows(x: np.ndarray, alpha: float) -> np.ndarray:
    """α-entmax by plain bisection on the threshold (an independent check, not fast)."""
    z = (alpha - 1) * (x - x.max(axis=1, keepdims=True))
    low, high = np.full((len(z), 1), -1.0), np.zeros((len(z), 1))
    for _ in range(200):
        middle = (low + high) / 2
        above = (np.maximum(z - middle, 0) ** (1 / (alpha - 1))).sum(axis=1, keepdims=True) >= 1
        low, high = np.where(above, middle, low), np.where(above, high, middle)
    p = np.maximum(z - low, 0) ** (1 / (alpha - 1))
    return p / p.sum(axis=1, keepdims=True)


def count_lines(path: Path) -> int:
    lines = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 22):
            lines += chunk.count(b"\n")
    return lines


def rows_check(
    source: Path, rows: int, expected: Callable[[np.ndarray], np.ndarray], form: str = "csv"
) -> Check:
    """Output must hold ``rows`` rows, the first of them as NumPy computes them."""
    want = expected(read_rows(source, 100))

    def check(output: Path) -> str | None:
        if form == "json":
            document = json.loads(output.read_bytes())
            got, count = np.array(document["rows"][: len(want)]), len(document["rows"])
        else:
            count = count_lines(output)
            if form == "ndjson":
                with open(output, "rb") as handle:
                    got = np.array([json.loads(handle.readline()) for _ in range(len(want))])
            else:
                got = read_rows(output, len(want))
        if count != rows:
            return f"{count} rows, expected {rows}"
        if got.shape != want.shape or not np.allclose(got, want, rtol=1e-12, atol=1e-300):
            return "values differ from NumPy's"
        return None

    return check


def loss_check(source: Path) -> Check:
    """Output must be the mean cross-entropy as NumPy computes it (in chunks)."""
    total, count = 0.0, 0
    with open(source, "rb") as handle:
        handle.readline()
        while lines := handle.readlines(1 << 24):
            block = np.array([[float(v) for v in line.split(b",")] for line in lines])
            labels = block[:, -1].astype(int)
            total -= float(log_softmax_rows(block[:, :-1])[np.arange(len(labels)), labels].sum())
            count += len(labels)
    want = total / count

    def check(output: Path) -> str | None:
        try:
            got = float(output.read_text().strip())
        except ValueError:
            return "no number in the output"
        return None if math.isclose(got, want, rel_tol=1e-9) else f"loss {got}, expected {want}"

    return check


def evaluation_check(source: Path, report: bool = False) -> Check:
    """Output must be JSON with NumPy's NLL and accuracy; with ``report``, a confusion
    matrix that holds every row and whose diagonal is the accuracy."""
    total, correct, count = 0.0, 0, 0
    with open(source, "rb") as handle:
        handle.readline()
        while lines := handle.readlines(1 << 24):
            block = np.array([[float(v) for v in line.split(b",")] for line in lines])
            labels, scores = block[:, -1].astype(int), block[:, :-1]
            total -= float(log_softmax_rows(scores)[np.arange(len(labels)), labels].sum())
            correct += int((scores.argmax(axis=1) == labels).sum())
            count += len(labels)

    def check(output: Path) -> str | None:
        try:
            document = json.loads(output.read_bytes())
        except ValueError:
            return "no JSON in the output"
        if not math.isclose(document["nll"], total / count, rel_tol=1e-9):
            return f"nll {document['nll']}, expected {total / count}"
        if document["accuracy"] != correct / count:
            return f"accuracy {document['accuracy']}, expected {correct / count}"
        if report:
            matrix = np.array(document.get("confusion_matrix") or [[0]])
            if matrix.sum() != count or np.trace(matrix) != correct:
                return "the confusion matrix does not hold the rows"
        return None

    return check


def npy_check(source: Path, rows: int) -> Check:
    """Output must be a float64 .npy of ``rows`` rows, the first as NumPy computes them."""
    want = softmax_rows(np.load(source, mmap_mode="r")[:100])

    def check(output: Path) -> str | None:
        got = np.load(output, mmap_mode="r")
        if got.dtype != np.float64 or got.shape[0] != rows:
            return f"{got.dtype} {got.shape}, expected float64 with {rows} rows"
        return None if np.allclose(got[:100], want, rtol=1e-12) else "values differ from NumPy's"

    return check


def write_ndjson(path: Path, csv: Path) -> Path:
    """The rows of a headerless CSV file as NDJSON arrays: the same numbers, bracketed."""
    if not path.exists():
        partial = path.with_name(path.name + ".partial")
        with open(csv, "rb") as source, open(partial, "wb") as out:
            while lines := source.readlines(1 << 22):
                out.write(b"".join(b"[" + line.rstrip(b"\n") + b"]\n" for line in lines))
        partial.rename(path)
    return path


def write_npy(path: Path, rows: int, width: int) -> Path:
    """normal(0, 3) logits as a float64 .npy file, seeded."""
    if not path.exists():
        rng = np.random.default_rng([SEED, rows, width, 2])
        partial = path.with_name(path.name + ".partial.npy")
        np.save(partial, rng.normal(0.0, 3.0, (rows, width)))
        partial.rename(path)
    return path


def widest_line(path: Path | None) -> int:
    """The bytes of the longest line of a text file (0 without one)."""
    if path is None:
        return 0
    widest = 0
    with open(path, "rb") as handle:
        for line in handle:
            widest = max(widest, len(line))
    return widest


# --- running -------------------------------------------------------------------


# A fresh, small process runs each command and reports its peak RSS: a child
# forked from this (large) process would count this process's memory as its own.
RSS_WRAPPER = """
import os, resource, sys, time
start = time.perf_counter()
status = os.waitpid(os.posix_spawnp(sys.argv[1], sys.argv[1:], os.environ), 0)[1]
wall = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
sys.stderr.write(f"\\n{os.waitstatus_to_exitcode(status)} {wall} {peak}\\n")
"""


def gnu_time() -> str | None:
    """GNU time, when installed: a smaller wrapper than Python (about 1 MB)."""
    path = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
    if path is None:
        return None
    try:
        probe = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return path if "GNU" in probe.stdout + probe.stderr else None


TIME = gnu_time()
RSS_BY = (
    "GNU time's %M (maximum resident set size)"
    if TIME
    else "getrusage(RUSAGE_CHILDREN).ru_maxrss in a fresh Python wrapper (about 10 MB of it)"
)


def run_once(method: Method, output: Path | None) -> tuple[float, float]:
    """Run a method once; return (wall seconds, peak RSS in MB of its process tree)."""
    stdin = open(method.stdin, "rb") if method.stdin else subprocess.DEVNULL  # noqa: SIM115
    stdout = open(output, "wb") if output else subprocess.DEVNULL  # noqa: SIM115
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as report:
        if TIME:
            argv = [TIME, "-f", "%x %M", "-o", report.name, *method.argv]
        else:
            argv = [sys.executable, "-c", RSS_WRAPPER, *method.argv]
        try:
            start = time.perf_counter()
            done = subprocess.run(
                argv,
                stdin=stdin,
                stdout=stdout,
                stderr=subprocess.PIPE,
                env={**os.environ, **method.env} if method.env else None,
            )
            wall = time.perf_counter() - start
        finally:
            for handle in (stdin, stdout):
                if handle is not subprocess.DEVNULL:
                    handle.close()
        if TIME:
            status, peak = report.read().split()[-2:]
        else:
            *_, last = done.stderr.decode(errors="replace").strip().splitlines()
            status, wall_text, peak = last.split()
            wall = float(wall_text)
    if int(status) != 0:
        error = done.stderr.decode(errors="replace").strip().splitlines()
        raise RuntimeError(f"exit status {status}: {error[0] if error else ''}")
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    if TIME:
        scale = 1024  # GNU time reports KiB
    return wall, int(peak) * scale / 1e6


def run_workload(workload: Workload, scratch: Path, log: Callable[[str], None]) -> None:
    """A checked warm-up run of each method, then ``runs`` timed rounds in alternation."""
    log(f"== {workload.title}")
    runnable = [m for m in workload.methods if m.missing is None]
    for method in runnable:
        output = scratch / "output"
        try:
            run_once(method, output)
            method.problem = method.check(output) if method.check else None
        except (RuntimeError, OSError) as error:
            method.problem = str(error)
        finally:
            output.unlink(missing_ok=True)
        if method.problem:
            log(f"   {method.name}: not timed, its output is wrong: {method.problem}")
    timed = [m for m in runnable if m.problem is None]
    saved = scratch / "saved" if workload.to_file else None
    for run in range(workload.runs):
        for method in timed:
            try:
                wall, peak = run_once(method, saved)
            finally:
                if saved is not None:
                    saved.unlink(missing_ok=True)
            method.walls.append(wall)
            method.peak_mb = max(method.peak_mb, peak)
            log(f"   run {run + 1}/{workload.runs}  {method.name}: {wall:.3f} s, {peak:.0f} MB")


# --- the workloads -------------------------------------------------------------


def softmax_command(given: str | None) -> list[str]:
    """The ``softmax`` a user runs: --softmax, else next to this Python, else on PATH."""
    if given:
        return given.split()
    script = Path(sys.executable).parent / "softmax"
    if script.exists():
        return [str(script)]
    found = shutil.which("softmax")
    return [found] if found else [sys.executable, "-m", "softmax_cli"]


def missing_modules(*names: str) -> str | None:
    absent = [name for name in names if importlib.util.find_spec(name) is None]
    return f"{' and '.join(absent)} not installed (pip install '.[bench]')" if absent else None


def alternatives(data: Path, check: Check) -> list[Method]:
    """mawk (or awk), a NumPy script, and pandas + SciPy, as a user would write them."""
    awk = shutil.which("mawk") or shutil.which("awk")
    return [
        Method(
            f"{Path(awk).name if awk else 'mawk'} one-liner (%.17g)",
            [awk or "mawk", "-F,", AWK_PROBS],
            data,
            check,
            None if awk else "neither mawk nor awk is installed",
        ),
        Method("NumPy loadtxt + savetxt (%.17g)", [sys.executable, "-c", NUMPY_PROBS], data, check),
        Method(
            "pandas read_csv + scipy softmax + to_csv",
            [sys.executable, "-c", PANDAS_PROBS],
            data,
            check,
            missing_modules("pandas", "scipy"),
        ),
    ]


def table_tools(data: Path, check: Check, polars: str, duckdb: str, width: int) -> list[Method]:
    """polars and DuckDB, when installed (the ``bench`` extra)."""
    python = sys.executable
    return [
        Method("polars", [python, "-c", polars], data, check, missing_modules("polars")),
        Method(
            "DuckDB", [python, "-c", duckdb, str(width)], data, check, missing_modules("duckdb")
        ),
    ]


# The smallest real run of each command; a command missing here stops the benchmark,
# so every command the app declares gets a start-up figure.
STARTUP_ARGS = {
    "probs": ["2", "1", "0.1"],
    "logprobs": ["2", "1", "0.1"],
    "cross-entropy": ["2", "1", "0.1", "--labels", "0"],
    "explain": ["2", "1", "0.1", "--label", "0"],
    "evaluate": ["2,1,0.1;0.5,2,1", "--labels", "0,2"],
    "calibrate": ["2,1,0.1;0.5,2,1;1,0,3", "--labels", "0,2,0"],
    "top": ["-k", "2", "2", "1", "0.1"],
    "sample": ["-n", "3", "--seed", "1", "--top-p", "0.9", "2", "1", "0.1"],
    "sparsemax": ["2", "1", "0.1"],
    "entmax": ["--alpha", "1.5", "2", "1", "0.1"],
    "hsoftmax": ["--tree", str(HERE.parent / "examples" / "animals.tree"), "0.5", "-1", "2"],
    "logsumexp": ["2", "1", "0.1"],
    "merge": [str(HERE.parent / "examples" / "preds.partial.json")],
}
COMPUTING_TARGET = 1.5  # x python -c 'import numpy'
TABLE_HELP_TARGET = 2.0


def startup_methods(softmax: list[str]) -> list[Method]:
    """python -c 'import numpy', every command as a pipe runs it, then tables, help and TAB."""
    from softmax_cli.options import COMMANDS

    methods = [Method("python -c 'import numpy'", [sys.executable, "-c", "import numpy"])]
    for command in COMMANDS:
        words = [command.name, *STARTUP_ARGS[command.name]]
        for fmt in ("csv", "json") if command.name != "explain" else ("json",):
            methods.append(
                Method(
                    f"softmax {' '.join(words)} -o {fmt}",
                    [*softmax, *words, "-o", fmt],
                    target=COMPUTING_TARGET,
                )
            )
    slower = [
        ("softmax 2 1 0.1 -o table", ["2", "1", "0.1", "-o", "table"], {}),
        ("softmax explain 2 1 0.1 (text)", ["explain", "2", "1", "0.1"], {}),
        ("softmax --help", ["--help"], {}),
        ("softmax cross-entropy --help", ["cross-entropy", "--help"], {}),
        (
            "TAB: softmax cro<TAB>",
            [],
            {"_SOFTMAX_COMPLETE": "complete_bash", "COMP_WORDS": "softmax cro", "COMP_CWORD": "1"},
        ),
        (
            "TAB: softmax probs --format <TAB>",
            [],
            {
                "_SOFTMAX_COMPLETE": "complete_bash",
                "COMP_WORDS": "softmax probs --format ",
                "COMP_CWORD": "3",
            },
        ),
    ]
    for name, words, env in slower:
        methods.append(Method(name, [*softmax, *words], env=env, target=TABLE_HELP_TARGET))
    return methods


def build(args: argparse.Namespace, log: Callable[[str], None]) -> list[Workload]:
    quick = args.quick
    data = Path(args.data_dir)
    data.mkdir(parents=True, exist_ok=True)
    softmax = softmax_command(args.softmax)
    rows = 20_000 if quick else 1_000_000
    wide_rows, wide_width = (20, 5_000) if quick else (1_000, 50_000)
    memory_rows = [100_000, 300_000] if quick else [1_000_000, 5_000_000]
    runs = 1 if quick else args.runs
    wanted = set(args.only or WORKLOADS)
    workloads: list[Workload] = []

    def data_set(name: str, rows: int, width: int, **options: object) -> Path:
        path = data / name
        if not path.exists():
            log(f"generating {path}")
        return write_logits(path, rows, width, **options)

    if "startup" in wanted:
        workloads.append(
            Workload(
                "startup",
                "Start-up: one small input per command",
                startup_methods(softmax),
                reference="python -c 'import numpy'",
                runs=5 if quick else max(args.runs, 21),
            )
        )

    if wanted & {"probs", "logprobs", "xent", "sparse", "formats"}:
        plain = data_set(f"logits-{rows}x10.csv", rows, 10)
        probs_check = rows_check(plain, rows, softmax_rows)
        probs = Method("softmax probs", [*softmax, "probs", "-o", "csv"], plain, probs_check)
        if "probs" in wanted:
            workloads.append(
                Workload(
                    "probs",
                    f"{rows:,} x 10 CSV ({plain.stat().st_size / 1e6:.0f} MB) -> probabilities CSV",
                    [
                        probs,
                        Method(
                            "softmax probs --jobs 1",
                            [*probs.argv, "--jobs", "1"],
                            plain,
                            probs_check,
                        ),
                        *table_tools(plain, probs_check, POLARS_PROBS, DUCKDB_PROBS, 10),
                        *alternatives(plain, probs_check),
                    ],
                    reference=probs.name,
                    size=plain.stat().st_size,
                    runs=runs,
                )
            )
        variants = [Method(probs.name, probs.argv, plain, probs_check)]
        if "logprobs" in wanted:
            check = rows_check(plain, rows, log_softmax_rows)
            argv = [*softmax, "logprobs", "-o", "csv"]
            variants.append(Method("softmax logprobs", argv, plain, check))
        if "sparse" in wanted:
            for name, words, alpha in (
                ("softmax sparsemax", ["sparsemax"], 2.0),
                ("softmax entmax --alpha 1.5", ["entmax", "--alpha", "1.5"], 1.5),
            ):
                check = rows_check(plain, rows, lambda x, a=alpha: entmax_rows(x, a))
                variants.append(Method(name, [*softmax, *words, "-o", "csv"], plain, check))
        if "xent" in wanted:
            labelled = data_set(f"logits-{rows}x10-labels.csv", rows, 10, labels=True)
            argv = [*softmax, "xent", "-i", str(labelled), "--label-column", "y", "-o", "csv"]
            variants.append(
                Method("softmax xent --label-column y", argv, None, loss_check(labelled))
            )
        if "formats" in wanted:
            for form in ("ndjson", "json"):
                check = rows_check(plain, rows, softmax_rows, form)
                argv = [*softmax, "probs", "-o", form]
                variants.append(Method(f"softmax probs -o {form}", argv, plain, check))
        if len(variants) > 1:
            workloads.append(
                Workload(
                    "variants",
                    f"{rows:,} x 10 CSV -> other operations and output formats",
                    variants,
                    reference=probs.name,
                    size=plain.stat().st_size,
                    runs=runs,
                )
            )

    if "evaluate" in wanted:
        labelled = data_set(f"logits-{rows}x10-labels.csv", rows, 10, labels=True)
        base = [*softmax, "evaluate", "-i", str(labelled), "--label-column", "y", "-o", "json"]
        plain_eval = Method(
            "softmax evaluate --label-column y", base, None, evaluation_check(labelled)
        )
        with_report = Method(
            "softmax evaluate --label-column y --report",
            [*base, "--report"],
            None,
            evaluation_check(labelled, report=True),
        )
        workloads.append(
            Workload(
                "evaluate",
                f"{rows:,} x 10 labelled CSV ({labelled.stat().st_size / 1e6:.0f} MB) "
                "-> evaluation JSON",
                [plain_eval, with_report],
                reference=plain_eval.name,
                size=labelled.stat().st_size,
                runs=runs,
            )
        )

    if "wide" in wanted:
        wide = data_set(
            f"logits-{wide_rows}x{wide_width}-4dp.csv", wide_rows, wide_width, decimals=4
        )
        check = rows_check(wide, wide_rows, softmax_rows)
        workloads.append(
            Workload(
                "wide",
                f"{wide_rows:,} x {wide_width:,} CSV, 4 decimals "
                f"({wide.stat().st_size / 1e6:.0f} MB) -> probabilities CSV",
                [
                    Method("softmax probs", [*softmax, "probs", "-o", "csv"], wide, check),
                    Method(
                        "softmax probs --jobs 1",
                        [*softmax, "probs", "-o", "csv", "--jobs", "1"],
                        wide,
                        check,
                    ),
                    # No polars or DuckDB here: on 50,000 columns both grew to the 23 GB
                    # of the machine they were tried on and were killed (README).
                    *alternatives(wide, check),
                ],
                reference="softmax probs",
                size=wide.stat().st_size,
                runs=1 if quick else min(runs, 3),
            )
        )

    if "vocab" in wanted:
        workloads.append(vocab_workload(args, data_set, softmax, runs))
    if "narrow" in wanted:
        narrow_rows = rows * 5
        narrow = data_set(f"logits-{narrow_rows}x2.csv", narrow_rows, 2)
        check = rows_check(narrow, narrow_rows, softmax_rows)
        workloads.append(
            Workload(
                "narrow",
                f"{narrow_rows:,} x 2 CSV ({narrow.stat().st_size / 1e6:.0f} MB) -> "
                "probabilities CSV",
                [
                    Method("softmax probs", [*softmax, "probs", "-o", "csv"], narrow, check),
                    Method(
                        "softmax probs --jobs 1",
                        [*softmax, "probs", "-o", "csv", "--jobs", "1"],
                        narrow,
                        check,
                    ),
                    *table_tools(narrow, check, POLARS_PROBS, DUCKDB_PROBS, 2),
                    *alternatives(narrow, check),
                ],
                reference="softmax probs",
                size=narrow.stat().st_size,
                runs=runs,
            )
        )

    if "loss" in wanted:
        labelled = data_set(f"logits-{rows}x10-labels.csv", rows, 10, labels=True)
        check = loss_check(labelled)
        argv = [*softmax, "xent", "--label-column", "y", "-o", "csv"]
        workloads.append(
            Workload(
                "loss",
                f"{rows:,} x 10 CSV with a label column -> mean cross-entropy",
                [
                    Method("softmax xent --label-column y", argv, labelled, check),
                    *table_tools(labelled, check, POLARS_LOSS, DUCKDB_LOSS, 10),
                ],
                reference="softmax xent --label-column y",
                size=labelled.stat().st_size,
                runs=runs,
            )
        )

    if "ndjson" in wanted:
        plain = data_set(f"logits-{rows}x10.csv", rows, 10)
        lines = write_ndjson(data / f"logits-{rows}x10.ndjson", plain)
        check = rows_check(plain, rows, softmax_rows, "ndjson")
        argv = [*softmax, "probs", "-o", "ndjson"]
        workloads.append(
            Workload(
                "ndjson",
                f"{rows:,} x 10 NDJSON ({lines.stat().st_size / 1e6:.0f} MB) -> NDJSON",
                [
                    Method("softmax probs -o ndjson", argv, lines, check),
                    *table_tools(lines, check, POLARS_NDJSON, DUCKDB_NDJSON, 10),
                ],
                reference="softmax probs -o ndjson",
                size=lines.stat().st_size,
                runs=runs,
            )
        )

    if "npy" in wanted:
        array = write_npy(data / f"logits-{rows}x10.npy", rows, 10)
        check = npy_check(array, rows)
        tiny = write_npy(data / "logits-2x10.npy", 2, 10)
        workloads.append(
            Workload(
                "npy",
                f"{rows:,} x 10 .npy ({array.stat().st_size / 1e6:.0f} MB) -> probabilities .npy",
                [
                    Method(
                        "softmax probs -o npy",
                        [*softmax, "probs", "-i", str(array), "-o", "npy"],
                        None,
                        check,
                    ),
                    Method(
                        "NumPy load + save",
                        [sys.executable, "-c", NUMPY_NPY, str(array)],
                        None,
                        check,
                    ),
                    Method(
                        STARTUP_ONLY,
                        [*softmax, "probs", "-i", str(tiny), "-o", "npy"],
                        None,
                        npy_check(tiny, 2),
                    ),
                ],
                reference="softmax probs -o npy",
                size=array.stat().st_size,
                runs=runs,
                to_file=True,
            )
        )

    if "memory" in wanted:
        methods = []
        for count in memory_rows:
            path = data_set(f"logits-{count}x10.csv", count, 10)
            argv = [*softmax, "probs", "-o", "csv"]
            check = rows_check(path, count, softmax_rows)
            name = f"softmax probs, {count:,} rows ({path.stat().st_size / 1e6:.0f} MB)"
            methods.append(Method(name, argv, path, check))
        workloads.append(
            Workload(
                "memory",
                f"Memory: CSV -> probabilities CSV, streamed (target: peak RSS <= "
                f"{RSS_TARGET_MB:.0f} MB)",
                methods,
                reference=methods[0].name,
                runs=1 if quick else min(runs, 3),
            )
        )
    return workloads


VOCAB_WIDTH = 128_000


def top_check(source: Path, rows: int, k: int) -> Check:
    """``top -k`` output: ``rows * k`` lines after the header; the first rows' classes and
    probabilities as NumPy finds them."""
    want = softmax_rows(read_rows(source, 3))

    def check(output: Path) -> str | None:
        with open(output, "rb") as handle:
            handle.readline()
            lines = [handle.readline().split(b",") for _ in range(3 * k)]
        count = count_lines(output) - 1
        if count != rows * k:
            return f"{count} lines, expected {rows * k}"
        for row, probs in enumerate(want):
            got = lines[row * k : (row + 1) * k]
            classes = [int(line[2]) for line in got]
            if classes != list(np.argsort(-probs, kind="stable")[:k]):
                return f"row {row + 1}: top classes differ from NumPy's"
            if not np.allclose([float(line[3]) for line in got], probs[classes], rtol=1e-12):
                return f"row {row + 1}: probabilities differ from NumPy's"
        return None

    return check


def draws_check(rows: int, width: int) -> Check:
    def check(output: Path) -> str | None:
        draws = np.loadtxt(output, delimiter=",", dtype=np.int64, ndmin=1)
        if draws.shape[0] != rows:
            return f"{draws.shape[0]} rows, expected {rows}"
        if draws.min() < 0 or draws.max() >= width:
            return "a draw is out of range"
        return None

    return check


def vocab_workload(
    args: argparse.Namespace, data_set: Callable[..., Path], softmax: list[str], runs: int
) -> Workload:
    """A language model's logits dump: top -k 5 and sample against probs on the same file."""
    rows = 20 if args.quick else args.vocab_rows
    width = 32_000 if args.quick else VOCAB_WIDTH
    path = data_set(f"logits-{rows}x{width}-6dp.csv", rows, width, decimals=6)
    methods = [
        Method(
            "softmax probs",
            [*softmax, "probs", "-o", "csv"],
            path,
            rows_check(path, rows, softmax_rows),
        ),
        Method(
            "softmax top -k 5",
            [*softmax, "top", "-k", "5", "-o", "csv"],
            path,
            top_check(path, rows, 5),
        ),
        Method(
            "softmax sample -n 1 --seed 1 --top-p 0.9",
            [*softmax, "sample", "-n", "1", "--seed", "1", "--top-p", "0.9", "-o", "csv"],
            path,
            draws_check(rows, width),
        ),
    ]
    return Workload(
        "vocab",
        f"Vocabulary-sized rows: {rows:,} x {width:,} CSV, 6 decimals "
        f"({path.stat().st_size / 1e6:.0f} MB)",
        methods,
        reference="softmax probs",
        size=path.stat().st_size,
        runs=1 if args.quick else min(runs, 3),
    )


# --- the report ----------------------------------------------------------------


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import orjson

    return (
        f"{os.cpu_count()} CPUs ({cpu}), {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, NumPy {np.__version__}, orjson {orjson.__version__}"
    )


def seconds(value: float) -> str:
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def table(workloads: list[Workload]) -> list[str]:
    lines = [
        "| workload | method | median wall (s) | MB/s | peak RSS (MB) | ratio |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for workload in workloads:
        reference = next(m for m in workload.methods if m.name == workload.reference)
        base = statistics.median(reference.walls) if reference.walls else math.nan
        for method in workload.methods:
            title = workload.title if method is workload.methods[0] else ""
            if method.missing or method.problem:
                why = method.missing or f"output wrong: {method.problem}"
                lines.append(f"| {title} | {method.name} | skipped: {why} | | | |")
                continue
            wall = statistics.median(method.walls)
            speed = f"{workload.size / wall / 1e6:.0f}" if workload.size else ""
            ratio = f"{wall / base:.2f}x" if workload.key != "memory" else ""
            lines.append(
                f"| {title} | {method.name} | {seconds(wall)} | {speed} | "
                f"{method.peak_mb:.0f} | {ratio} |"
            )
    return lines


def wall_of(workloads: list[Workload], key: str, prefix: str) -> float | None:
    for workload in workloads:
        if workload.key != key:
            continue
        for method in workload.methods:
            if method.name.startswith(prefix) and method.walls:
                return statistics.median(method.walls)
    return None


def targets(workloads: list[Workload]) -> list[str]:
    """Each target of the performance issue, with the measured ratio and met / not met."""
    lines = []

    def ratio(name: str, key: str, top: str, bottom: str, low: float | None, high: float | None):
        a, b = wall_of(workloads, key, top), wall_of(workloads, key, bottom)
        if a is None or b is None:
            return
        value = a / b
        met = (low is None or value >= low) and (high is None or value <= high)
        bound = f">= {low}" if low is not None else f"<= {high}"
        lines.append(f"- {name}: {value:.2f} (target {bound}): {'met' if met else 'NOT met'}")

    for workload in workloads:
        if workload.key == "startup":
            for method in workload.methods:
                if method.target is not None:
                    ratio(
                        f"start-up, {method.name}",
                        "startup",
                        method.name,
                        "python",
                        None,
                        method.target,
                    )
    ratio("probabilities CSV, mawk / softmax", "probs", "mawk", "softmax", 1.5, None)
    ratio("probabilities CSV, awk / softmax", "probs", "awk", "softmax", 1.5, None)
    ratio("probabilities CSV, pandas + SciPy / softmax", "probs", "pandas", "softmax", 3, None)
    ratio("logprobs / probs", "variants", "softmax logprobs", "softmax probs", None, 1.1)
    ratio("cross-entropy / probs", "variants", "softmax xent", "softmax probs", None, 1.1)
    ratio("sparsemax / probs", "variants", "softmax sparsemax", "softmax probs", None, 2.0)
    ratio("entmax 1.5 / probs", "variants", "softmax entmax", "softmax probs", None, 2.0)
    ratio("NDJSON output / CSV", "variants", "softmax probs -o ndjson", "softmax probs", None, 1.05)
    ratio("JSON output / CSV", "variants", "softmax probs -o json", "softmax probs", None, 1.05)
    ratio("wide rows, pandas + SciPy / softmax", "wide", "pandas", "softmax", 1, None)
    ratio("vocabulary rows, top -k 5 / probs", "vocab", "softmax top", "softmax probs", None, 1.2)
    ratio("vocabulary rows, sample / probs", "vocab", "softmax sample", "softmax probs", None, 1.1)
    ratio(
        "evaluate --report / evaluate",
        "evaluate",
        "softmax evaluate --label-column y --report",
        "softmax evaluate --label-column y",
        None,
        1.3,
    )
    for key, reference in (
        ("probs", "softmax"),
        ("narrow", "softmax"),
        ("loss", "softmax"),
        ("ndjson", "softmax"),
    ):
        for tool in ("polars", "DuckDB"):
            ratio(f"{key}, {tool} / softmax", key, tool, reference, 1.2, None)
    for workload in workloads:
        if workload.key in ("probs", "narrow", "loss", "ndjson", "npy", "wide"):
            first = workload.methods[0]
            if first.walls:
                # Wide rows may hold a few rows at once: 4 of the widest line's bytes more.
                limit = 64 + (4 * widest_line(first.stdin) / 1e6 if workload.key == "wide" else 0)
                met = "met" if first.peak_mb <= limit else "NOT met"
                lines.append(
                    f"- peak RSS, {workload.key}, {first.name}: {first.peak_mb:.0f} MB "
                    f"(target <= {limit:.0f}): {met}"
                )
    for workload in workloads:
        if workload.key == "npy" and workload.methods[0].walls:
            wall = statistics.median(workload.methods[0].walls)
            speed = workload.size / wall / 1e9
            met = "met" if speed >= 1 else "NOT met"
            lines.append(f"- .npy -> .npy: {speed:.2f} GB/s of input (target >= 1): {met}")
            startup = next((m for m in workload.methods if m.name == STARTUP_ONLY), None)
            if startup is not None and startup.walls:
                start = statistics.median(startup.walls)
                if wall > start:
                    after = workload.size / (wall - start) / 1e9
                    lines.append(
                        f"  - after start-up ({start:.3f} s, the same command on a 2 x 10 "
                        f"array): {after:.2f} GB/s"
                    )
    for workload in workloads:
        if workload.key == "memory":
            for method in workload.methods:
                if method.walls:
                    met = method.peak_mb <= RSS_TARGET_MB
                    lines.append(
                        f"- peak RSS, {method.name}: {method.peak_mb:.0f} MB "
                        f"(target <= {RSS_TARGET_MB:.0f}): {'met' if met else 'NOT met'}"
                    )
    return lines


def report(workloads: list[Workload], args: argparse.Namespace, command: str) -> str:
    runs = {w.key: w.runs for w in workloads}
    out = [
        f"Machine: {machine()}.",
        f"Command: `{command}` ({', '.join(f'{k}: {v} runs' for k, v in runs.items())}; "
        "each method also ran once untimed to check its output).",
        "",
        *table(workloads),
        "",
        "ratio = median wall / median wall of the workload's first row. "
        "MB/s = input size / median wall. "
        f"Peak RSS = the largest over the runs, by {RSS_BY}.",
    ]
    skipped = [
        f"- {m.name}: {m.missing or m.problem}"
        for w in workloads
        for m in w.methods
        if m.missing or m.problem
    ]
    if skipped:
        out += ["", "Skipped:", *sorted(set(skipped))]
    checks = targets(workloads)
    if checks:
        out += ["", "Targets (ratios of medians from the same run):", *checks]
        if args.quick:
            out.append("- (--quick: the inputs are too small for these targets to mean much)")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small inputs and 1 run")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per method (default 5)")
    parser.add_argument("--only", nargs="+", choices=WORKLOADS, help="run only these workloads")
    parser.add_argument("--data-dir", default=str(HERE / "data"), help="where data sets go")
    parser.add_argument("--softmax", help="the softmax command to time (default: installed)")
    parser.add_argument(
        "--vocab-rows",
        type=int,
        default=1_000,
        help="rows of the 128,000-class vocab workload (default 1000: 1.5 GB of CSV)",
    )
    args = parser.parse_args(argv)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    command = "python benchmarks/run.py " + " ".join(argv if argv is not None else sys.argv[1:])
    workloads = build(args, log)
    with tempfile.TemporaryDirectory(dir=args.data_dir) as scratch:
        for workload in workloads:
            run_workload(workload, Path(scratch), log)
    sys.stdout.write(report(workloads, args, command.strip()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
