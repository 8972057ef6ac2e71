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
(mawk/awk, pandas, SciPy) are skipped and the report says so.  The report is
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
WORKLOADS = ("startup", "probs", "logprobs", "xent", "formats", "wide", "memory")
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

Check = Callable[[Path], "str | None"]


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
    for run in range(workload.runs):
        for method in timed:
            wall, peak = run_once(method, None)
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


# The smallest real run of each command; a command missing here stops the benchmark,
# so every command the app declares gets a start-up figure.
STARTUP_ARGS = {
    "probs": ["2", "1", "0.1"],
    "logprobs": ["2", "1", "0.1"],
    "cross-entropy": ["2", "1", "0.1", "--labels", "0"],
    "explain": ["2", "1", "0.1", "--label", "0"],
    "evaluate": ["2,1,0.1;0.5,2,1", "--labels", "0,2"],
    "calibrate": ["2,1,0.1;0.5,2,1;1,0,3", "--labels", "0,2,0"],
    "logsumexp": ["2", "1", "0.1"],
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

    if wanted & {"probs", "logprobs", "xent", "formats"}:
        plain = data_set(f"logits-{rows}x10.csv", rows, 10)
        probs_check = rows_check(plain, rows, softmax_rows)
        probs = Method("softmax probs", [*softmax, "probs", "-o", "csv"], plain, probs_check)
        if "probs" in wanted:
            workloads.append(
                Workload(
                    "probs",
                    f"{rows:,} x 10 CSV ({plain.stat().st_size / 1e6:.0f} MB) -> probabilities CSV",
                    [probs, *alternatives(plain, probs_check)],
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
                    *alternatives(wide, check),
                ],
                reference="softmax probs",
                size=wide.stat().st_size,
                runs=1 if quick else min(runs, 3),
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
    ratio("NDJSON output / CSV", "variants", "softmax probs -o ndjson", "softmax probs", None, 1.05)
    ratio("JSON output / CSV", "variants", "softmax probs -o json", "softmax probs", None, 1.05)
    ratio("wide rows, pandas + SciPy / softmax", "wide", "pandas", "softmax", 1, None)
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
