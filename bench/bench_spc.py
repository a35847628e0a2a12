"""Time zhuoyue's control charts (with all 8 GB/T 4091 tests) against numpy.sum and peers.

Run from the project root::

    .venv/bin/python bench/bench_spc.py [--sizes 1e4,1e5,1e6,1e7] [--repeat N]
                                        [--peers/--no-peers] [--peer-timeout 60] [--json out.json]
                                        [--malloc tuned|default]

For every size (number of standard-normal values, fixed seed) it times, in one run:

* the memory floor ``numpy.sum(values)`` (best of several runs): one read of the data;
* ``zhuoyue.stats.xbar_r(values, 5)`` and ``zhuoyue.stats.imr(values)``, which with the
  default ``rules="gb4091"`` run all 8 GB/T 4091 tests (best of ``--repeat`` runs);
* informative extras: ``ewma(values)``, ``cusum(values)`` on individuals and ``p_chart`` on
  size/50 samples of 50 units;
* every peer in ``peers.PEERS`` on the Xbar-R and I-MR tasks, each call in a subprocess that
  imports the peer and warms it up on 1,000 values before the clock starts (so import time is
  excluded) and is killed after ``--peer-timeout`` seconds of the timed call; a peer that times
  out at one size is not run at larger sizes.

Reported per row: seconds, the ratio to numpy.sum at the same size, the speed-up of zhuoyue
over the peer (and over the fastest peer, on zhuoyue's rows), and for zhuoyue the peak memory
traced by tracemalloc during the call (NumPy reports its buffers to tracemalloc) divided by the
size of the input array. The Markdown report goes to stdout, progress to stderr.

``--malloc tuned`` (the default) applies :func:`zhuoyue._malloc.tune_allocator` in this process
and in every peer subprocess, as the ``zhuoyue`` command and server do; ``--malloc default``
leaves glibc's allocator as a plain ``import zhuoyue`` in someone else's program finds it (then
fresh result arrays cost page faults; see the ``page_faults`` column).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import importlib.metadata
import json
import os
import platform
import resource
import select
import shlex
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from zhuoyue import stats
from zhuoyue._malloc import tune_allocator

try:
    from peers import PEER_NOTES, PEERS
except ImportError:  # run as ``python -m bench.bench_spc``
    from bench.peers import PEER_NOTES, PEERS

FloatArray = npt.NDArray[np.float64]

SEED = 4091  # data: np.random.default_rng(SEED).standard_normal(size)
SUBGROUP = 5  # Xbar-R subgroup size
P_SAMPLE, P_RATE = 50, 0.05  # p chart: size // 50 samples of 50 units, 5 % defective
WARMUP_VALUES = 1_000  # peers warm up (import, first call) on this many values
FAST_PEER_RUN = 1.0  # a peer call faster than this (s) is repeated, best of --repeat
STARTUP_TIMEOUT = 300.0  # s allowed for a peer subprocess to import and warm up
DEFAULT_SIZES = "1e4,1e5,1e6,1e7"
TARGET_SIZE = 1_000_000
#: targets at TARGET_SIZE: max ratio to numpy.sum, min speed-up over the fastest peer
TARGETS = {"xbar_r": 40.0, "imr": 120.0}
MIN_SPEEDUP = 5.0
#: peers whose adapters run all 8 tests (pyspc runs only 2; see PEER_NOTES)
ALL_TESTS_PEERS = ("capstat-core", "manufacturing")

TASKS: dict[str, str] = {
    "floor": "memory floor: numpy.sum",
    "xbar_r": "Xbar-R (n=5) + 8 tests",
    "imr": "I-MR + 8 tests",
    "ewma": "EWMA λ=0.2 (extra)",
    "cusum": "CUSUM k=0.5 h=5 (extra)",
    "p": "p chart, size/50 samples (extra)",
}
PEER_TASKS = ("xbar_r", "imr")


# --------------------------------------------------------------------------- data and calls


def make_values(size: int) -> FloatArray:
    return np.random.default_rng(SEED).standard_normal(size)


def make_defectives(size: int) -> FloatArray:
    rng = np.random.default_rng(SEED + 1)
    return rng.binomial(P_SAMPLE, P_RATE, size // P_SAMPLE).astype(np.float64)


ZHUOYUE_CALLS: dict[str, Callable[[FloatArray], Any]] = {
    "xbar_r": lambda v: stats.xbar_r(v, SUBGROUP),
    "imr": lambda v: stats.imr(v),
    "ewma": lambda v: stats.ewma(v),
    "cusum": lambda v: stats.cusum(v),
    "p": lambda d: stats.p_chart(d, P_SAMPLE),
}
#: the location panel whose UCL is reported (to check that peers compute the same limits)
LOCATION_PANEL = {"xbar_r": "xbar", "imr": "i", "ewma": "ewma", "cusum": "cusum_upper", "p": "p"}


def call_peer(fn: Callable[..., Any], task: str, values: FloatArray) -> Any:
    return fn(values, SUBGROUP) if task == "xbar_r" else fn(values)


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """Best wall time of ``repeat`` calls after one warm-up call, garbage collector off, and
    the minor page faults per call (fresh memory pages the kernel had to map)."""
    fn()
    enabled = gc.isenabled()
    gc.disable()
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    try:
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    finally:
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
        if enabled:
            gc.enable()
    return min(times), faults / repeat


def peak_traced(fn: Callable[[], Any]) -> tuple[int, Any]:
    """Peak bytes allocated (and traced) while ``fn`` runs, its result included; the result."""
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        result = fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak - base, result


# --------------------------------------------------------------------------- peer subprocess


def peer_worker(peer: str, task: str, size: int, repeat: int, malloc: str) -> None:
    """Subprocess side: warm up, say "ready", time the call, print one JSON line."""
    if malloc == "tuned":
        tune_allocator()
    # the protocol owns the real stdout; anything a peer prints goes to stderr instead
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    fn = PEERS[peer][task]
    call_peer(fn, task, np.random.default_rng(SEED + 99).standard_normal(WARMUP_VALUES))
    values = make_values(size)
    print("ready", file=channel, flush=True)
    gc.disable()
    times: list[float] = []
    while True:
        t0 = time.perf_counter()
        result = call_peer(fn, task, values)
        times.append(time.perf_counter() - t0)
        if len(times) >= repeat or times[-1] >= FAST_PEER_RUN:
            break
        del result
    location = result["xbar" if task == "xbar_r" else "i"]
    out = {
        "seconds": min(times),
        "runs": len(times),
        "ucl": location["ucl"],
        "signals": result["total_violations"],
    }
    print(json.dumps(out), file=channel, flush=True)


def _read_line(fd: int, buf: bytearray, timeout: float) -> str | None:
    """One line from a pipe, or None when ``timeout`` passes first; EOFError at end of file."""
    deadline = time.monotonic() + timeout
    while b"\n" not in buf:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            return None
        chunk = os.read(fd, 65536)
        if not chunk:
            raise EOFError
        buf += chunk
    line, _, rest = bytes(buf).partition(b"\n")
    buf[:] = rest
    return line.decode()


def run_peer(
    peer: str, task: str, size: int, repeat: int, timeout: float, malloc: str
) -> dict[str, Any]:
    """Parent side: start the worker, wait for "ready", then give the timed call ``timeout``."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--peer-worker", peer, task, str(size)]
    cmd += ["--repeat", str(repeat), "--malloc", malloc]
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, bufsize=0)
        assert proc.stdout is not None
        fd, buf = proc.stdout.fileno(), bytearray()
        try:
            if _read_line(fd, buf, STARTUP_TIMEOUT) != "ready":
                raise EOFError
            line = _read_line(fd, buf, timeout)
            if line is None:
                return {"status": "timeout"}
            return {"status": "ok", **json.loads(line)}
        except (EOFError, json.JSONDecodeError):
            proc.wait()
            err.seek(0)
            tail = err.read().decode(errors="replace").strip().splitlines()[-1:]
            return {"status": "error", "error": tail[0] if tail else f"exit {proc.returncode}"}
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            proc.stdout.close()


# --------------------------------------------------------------------------- benchmark


@dataclass
class Row:
    size: int
    task: str
    impl: str
    status: str  # ok | timeout | skipped | error
    seconds: float | None = None
    runs: int = 0
    ratio_floor: float | None = None
    speedup: float | None = None  # peer rows: zhuoyue over this peer; zhuoyue: over fastest
    speedup_lower_bound: bool = False  # True when the peer did not finish (speed-up is "> x")
    versus: str | None = None  # zhuoyue rows: the fastest peer
    mem_ratio: float | None = None
    ucl: float | None = None
    signals: int | None = None
    page_faults: float | None = None  # zhuoyue: minor page faults per timed call
    note: str = ""


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def bench_size(
    size: int,
    repeat: int,
    with_peers: bool,
    timeout: float,
    timed_out: dict[tuple[str, str], int],
    malloc: str,
) -> list[Row]:
    rows: list[Row] = []
    values = make_values(size)
    inputs = {"p": make_defectives(size)}
    floor, _ = best_of(lambda: np.sum(values), max(repeat, 20))
    rows.append(Row(size, "floor", "numpy", "ok", floor, max(repeat, 20), 1.0))
    log(f"size {size:.0e}: numpy.sum {floor:.3g} s")
    zhuoyue: dict[str, float] = {}
    for task, fn in ZHUOYUE_CALLS.items():
        data = inputs.get(task, values)
        seconds, faults = best_of(lambda fn=fn, data=data: fn(data), repeat)
        peak, res = peak_traced(lambda fn=fn, data=data: fn(data))
        panel = res[LOCATION_PANEL[task]]
        zhuoyue[task] = seconds
        rows.append(
            Row(
                size, task, "zhuoyue", "ok", seconds, repeat, seconds / floor,
                mem_ratio=peak / data.nbytes, ucl=float(np.max(panel.ucl)),
                signals=len(panel.violations), page_faults=faults,
            )
        )  # fmt: skip
        log(f"size {size:.0e}: zhuoyue {task} {seconds:.3g} s, peak {peak / data.nbytes:.2f}x")
    if not with_peers:
        return rows
    for task in PEER_TASKS:
        best: tuple[float, str] | None = None
        slower: list[str] = []  # peers that did not finish within the timeout
        for peer in PEERS:
            if (peer, task) in timed_out:
                at = timed_out[peer, task]
                note = f"exceeded {timeout:g} s at {fmt_size(at)}"
                rows.append(Row(size, task, peer, "skipped", note=note))
                slower.append(peer)
                continue
            log(f"size {size:.0e}: {peer} {task} ...")
            out = run_peer(peer, task, size, repeat, timeout, malloc)
            row = Row(size, task, peer, out["status"])
            if out["status"] == "ok":
                row.seconds, row.runs = out["seconds"], out["runs"]
                row.ratio_floor = row.seconds / floor
                row.speedup = row.seconds / zhuoyue[task]
                row.ucl, row.signals = out["ucl"], out["signals"]
                if best is None or row.seconds < best[0]:
                    best = (row.seconds, peer)
            elif out["status"] == "timeout":
                timed_out[peer, task] = size
                row.ratio_floor = timeout / floor
                row.speedup, row.speedup_lower_bound = timeout / zhuoyue[task], True
                row.note = f"> {timeout:g} s, killed; larger sizes skipped"
                slower.append(peer)
            else:
                row.note = out["error"]
            log(f"size {size:.0e}: {peer} {task}: {row.seconds or row.note}")
            rows.append(row)
        mine = next(r for r in rows if r.impl == "zhuoyue" and r.task == task)
        if best is not None:
            mine.speedup, mine.versus = best[0] / mine.seconds, best[1]  # type: ignore[operator]
        elif slower:
            mine.speedup, mine.speedup_lower_bound = timeout / zhuoyue[task], True
            mine.versus = "all peers (none finished)"
    return rows


# --------------------------------------------------------------------------- reporting


def git_commit() -> str | None:
    """The checked-out commit of the project, "+dirty" when src/ has uncommitted changes."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--", "src"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+dirty" if dirty else "")


def machine_info() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gb = round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    versions = {}
    for dist in ("zhuoyue", "numpy", "scipy", "capstat-core", "pyspc", "manufacturing", "pandas"):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = "not installed"
    return {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "zhuoyue_commit": git_commit(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_gb": mem_gb,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
    }


def fmt_s(x: float) -> str:
    return np.format_float_positional(x, precision=3, unique=False, fractional=False, trim="-")


def fmt_x(x: float | None, lower: bool = False) -> str:
    if x is None:
        return ""
    text = f"{x:,.0f}" if x >= 100 else f"{x:.3g}"
    return f"> {text}" if lower else text


def fmt_size(size: int) -> str:
    exp = round(float(np.log10(size)))
    return f"10^{exp}" if 10**exp == size else f"{size:,}"


def row_cells(row: Row, timeout: float) -> list[str]:
    if row.status == "ok":
        seconds = fmt_s(row.seconds)  # type: ignore[arg-type]
    elif row.status == "timeout":
        seconds = f"> {timeout:g} s (skipped)"
    elif row.status == "skipped":
        seconds = f"skipped ({row.note})"
    else:
        seconds = f"error: {row.note}"
    speedup = ""
    if row.speedup is not None:
        speedup = fmt_x(row.speedup, row.speedup_lower_bound) + "x"
        if row.impl == "zhuoyue":
            speedup += f" vs {row.versus}"
    return [
        fmt_size(row.size),
        TASKS[row.task],
        row.impl,
        str(row.runs) if row.status == "ok" else "",
        seconds,
        fmt_x(row.ratio_floor, row.status == "timeout"),
        speedup,
        f"{row.mem_ratio:.2f}" if row.mem_ratio is not None else "",
        f"{row.ucl:.5f}" if row.ucl is not None else "",
    ]


def markdown_table(rows: Sequence[Row], timeout: float) -> str:
    head = [
        "size", "task", "implementation", "runs", "seconds (best)", "× numpy.sum",
        "zhuoyue speed-up", "peak mem / input", "location UCL",
    ]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(row_cells(r, timeout)) + " |" for r in rows]
    return "\n".join(lines)


def verdicts(rows: Sequence[Row], with_peers: bool) -> list[str]:
    at = [r for r in rows if r.size == TARGET_SIZE]
    if not at:
        return [f"targets not evaluated: size {TARGET_SIZE:.0e} was not benchmarked"]
    out = []
    for task, limit in TARGETS.items():
        z = next(r for r in at if r.impl == "zhuoyue" and r.task == task)
        ok = z.ratio_floor is not None and z.ratio_floor <= limit
        out.append(
            f"{'PASS' if ok else 'FAIL'}: {TASKS[task]} at 10^6: {fmt_s(z.seconds)} s = "  # type: ignore[arg-type]
            f"{z.ratio_floor:.0f}x numpy.sum (target <= {limit:g}x)"
        )
    if not with_peers:
        return [*out, "peer targets not evaluated (--no-peers)"]
    for task in TARGETS:
        z = next(r for r in at if r.impl == "zhuoyue" and r.task == task)
        if z.speedup is None:
            out.append(f"n/a: {TASKS[task]}: no peer could run it")
            continue
        ok = z.speedup >= MIN_SPEEDUP
        out.append(
            f"{'PASS' if ok else 'FAIL'}: {TASKS[task]} at 10^6: zhuoyue is "
            f"{fmt_x(z.speedup, z.speedup_lower_bound)}x faster than the fastest peer "
            f"({z.versus}) (target >= {MIN_SPEEDUP:g}x)"
        )
        full = [r for r in at if r.task == task and r.impl in ALL_TESTS_PEERS]
        if full:
            fastest = min(full, key=lambda r: r.speedup if r.speedup is not None else np.inf)
            if fastest.speedup is not None:
                out.append(
                    f"info: over the fastest peer that runs all 8 tests ({fastest.impl}): "
                    f"{fmt_x(fastest.speedup, fastest.speedup_lower_bound)}x"
                )
    return out


def report(info: dict[str, Any], command: str, rows: Sequence[Row], args: Any) -> str:
    vers = info["versions"]
    parts = [
        "# zhuoyue SPC benchmark",
        "",
        f"- date: {info['date']}",
        f"- command: `{command}`",
        f"- machine: {info['cpu']}, {info['cores']} cores ({info['cores_usable']} usable), "
        f"{info['memory_gb']} GB RAM, load average at start {info['load_average']}, at end "
        f"{info['load_average_end']}",
        f"- zhuoyue commit {info['zhuoyue_commit']}; python {info['python']} ({info['platform']}), "
        + ", ".join(f"{k} {v}" for k, v in vers.items()),
        f"- data: np.random.default_rng({SEED}).standard_normal(size); p chart: "
        f"binomial({P_SAMPLE}, {P_RATE}) defectives in size/{P_SAMPLE} samples",
        f"- zhuoyue and numpy: best of {args.repeat} runs (numpy.sum: best of "
        f"{max(args.repeat, 20)}); peers: one run in a subprocess after a warm-up, best of "
        f"{args.repeat} only when a run takes < {FAST_PEER_RUN:g} s; "
        f"timeout {args.peer_timeout:g} s",
        f"- allocator: {info['malloc']} ("
        + (
            "glibc tuned by zhuoyue._malloc.tune_allocator, as the zhuoyue command runs"
            if info["malloc"] == "tuned"
            else "glibc defaults, as a plain import in another program"
        )
        + ")",
        "",
        markdown_table(rows, args.peer_timeout),
        "",
        "## Targets (at 10^6 values)",
        "",
        *[f"  - {v}" if v.startswith("info") else f"- {v}" for v in verdicts(rows, args.peers)],
        "",
    ]
    if args.peers:
        parts += ["## What each peer computes", ""]
        parts += [f"- **{name}**: {note}" for name, note in PEER_NOTES.items()]
        parts.append("")
    return "\n".join(parts)


def parse_sizes(text: str) -> list[int]:
    sizes = []
    for item in text.split(","):
        size = int(float(item))
        if size < P_SAMPLE * 2 or size % P_SAMPLE:
            raise argparse.ArgumentTypeError(f"sizes must be multiples of {P_SAMPLE}: {item!r}")
        sizes.append(size)
    return sorted(set(sizes))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=parse_sizes, default=parse_sizes(DEFAULT_SIZES))
    parser.add_argument("--repeat", type=int, default=5, help="best of N runs (default 5)")
    parser.add_argument("--peers", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--peer-timeout", type=float, default=60.0, help="seconds (default 60)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument(
        "--malloc",
        choices=("tuned", "default"),
        default="tuned",
        help="allocator: tuned as zhuoyue's processes run it (default), or glibc's default",
    )
    parser.add_argument(
        "--peer-worker", nargs=3, metavar=("PEER", "TASK", "SIZE"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.peer_worker:
        peer, task, size = args.peer_worker
        peer_worker(peer, task, int(size), args.repeat, args.malloc)
        return
    if args.malloc == "tuned" and not tune_allocator():
        log("warning: the allocator could not be tuned here (not glibc); running with defaults")
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")
    command = shlex.join([".venv/bin/python", "bench/bench_spc.py", *sys.argv[1:]])
    info = machine_info()
    rows: list[Row] = []
    timed_out: dict[tuple[str, str], int] = {}
    for size in args.sizes:
        rows += bench_size(size, args.repeat, args.peers, args.peer_timeout, timed_out, args.malloc)
    info["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    info["malloc"] = args.malloc
    text = report(info, command, rows, args)
    print(text)
    if args.json:
        doc = {
            "machine": info,
            "command": command,
            "seed": SEED,
            "targets": {"size": TARGET_SIZE, "max_ratio_to_numpy_sum": TARGETS},
            "min_speedup_over_fastest_peer": MIN_SPEEDUP,
            "verdicts": verdicts(rows, args.peers),
            "rows": [asdict(r) for r in rows],
            "peer_notes": PEER_NOTES if args.peers else {},
        }
        args.json.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        log(f"wrote {args.json}")


if __name__ == "__main__":
    main()
