"""Time zhuoyue's process capability against numpy.sum and capstat-core.

Run from the project root::

    .venv/bin/python bench/bench_capability.py [--sizes 1e4,1e5,1e6,1e7] [--repeat N]
                                               [--malloc tuned|default] [--json out.json]

For every size (standard-normal values, fixed seed; specification limits at ±4, so Cpk ≈ 1.33)
it times, in one process, best of ``--repeat`` runs after a warm-up:

* the memory floor ``numpy.sum(values)``;
* ``zhuoyue.stats.capability(values, lsl=-4, usl=4, normality=False, stability=False)``: every
  index (Cp, Cpl, Cpu, Cpk, Cpm, Pp, Ppl, Ppu, Ppk), expected PPM within and overall, observed
  PPM, Z.bench and the confidence intervals, on individual values (σ within = MR̄/d2) and on
  subgroups of 5 (σ within = S̄/c4, the estimator both libraries offer at every size) — the
  issue's target task;
* the same with ``normality=True`` (adds the Anderson–Darling test, which sorts the data);
* capstat-core's ``capability`` on the same data (it always runs a normality assessment and
  computes no PPM and no intervals), when the package is installed.

The report goes to stdout as Markdown; ``--json`` also writes the rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import importlib.metadata
import json
import platform
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from zhuoyue import stats
from zhuoyue._malloc import tune_allocator

SEED = 22514
LSL, USL = -4.0, 4.0
SUBGROUP = 5
TARGET_SIZE = 1_000_000
TARGET_RATIO = 40.0
MIN_SPEEDUP = 5.0


def best_of(fn: Callable[[], Any], repeat: int) -> float:
    fn()
    enabled = gc.isenabled()
    gc.disable()
    try:
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    finally:
        if enabled:
            gc.enable()
    return min(times)


def tasks(values: npt.NDArray[np.float64]) -> dict[str, Callable[[], Any]]:
    out: dict[str, Callable[[], Any]] = {
        "zhuoyue individuals": lambda: stats.capability(
            values, lsl=LSL, usl=USL, normality=False, stability=False
        ),
        # S-bar/c4 within sigma on both sides: capstat-core's pooled estimator needs
        # c4(dof + 1), which it tabulates only up to 100,000 degrees of freedom
        "zhuoyue subgroups n=5": lambda: stats.capability(
            values,
            SUBGROUP,
            lsl=LSL,
            usl=USL,
            sigma_method="sbar",
            normality=False,
            stability=False,
        ),
        "zhuoyue individuals + normality": lambda: stats.capability(
            values, lsl=LSL, usl=USL, normality=True, stability=False
        ),
    }
    try:
        import capstat_core
    except ImportError:
        return out
    groups = values.reshape(-1, SUBGROUP)
    out["capstat-core individuals"] = lambda: capstat_core.capability(values, lsl=LSL, usl=USL)
    out["capstat-core subgroups n=5"] = lambda: capstat_core.capability(
        groups, lsl=LSL, usl=USL, within_method="sbar_c4"
    )
    return out


def check_same(values: npt.NDArray[np.float64]) -> list[str]:
    """Both libraries must compute the same indices on the same data (else timing means nothing)."""
    notes = []
    try:
        import capstat_core
    except ImportError:
        return ["capstat-core not installed: no peer rows"]
    for label, mine, theirs in (
        (
            "individuals",
            stats.capability(values, lsl=LSL, usl=USL, normality=False, stability=False),
            capstat_core.capability(values, lsl=LSL, usl=USL),
        ),
        (
            "subgroups",
            stats.capability(
                values,
                SUBGROUP,
                lsl=LSL,
                usl=USL,
                sigma_method="sbar",
                normality=False,
                stability=False,
            ),
            capstat_core.capability(
                values.reshape(-1, SUBGROUP), lsl=LSL, usl=USL, within_method="sbar_c4"
            ),
        ),
    ):
        for name in ("cp", "cpk", "pp", "ppk"):
            a, b = getattr(mine, name), getattr(theirs, name)
            rel = abs(a - b) / abs(b)
            notes.append(
                f"{label} {name}: zhuoyue {a:.10g}, capstat-core {b:.10g} (rel. diff {rel:.1e})"
            )
    return notes


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1e4,1e5,1e6,1e7")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--malloc", choices=("tuned", "default"), default="tuned")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if args.malloc == "tuned":
        tune_allocator()
    sizes = [int(float(s)) for s in args.sizes.split(",") if s]
    rows: list[dict[str, Any]] = []
    for size in sizes:
        size -= size % SUBGROUP
        values = np.random.default_rng(SEED).standard_normal(size)
        floor = best_of(lambda values=values: np.sum(values), max(args.repeat, 20))
        rows.append({"size": size, "task": "numpy.sum (floor)", "seconds": floor, "ratio": 1.0})
        for name, fn in tasks(values).items():
            repeat = args.repeat if size <= 10**6 or name.startswith("zhuoyue") else 2
            seconds = best_of(fn, repeat)
            rows.append({"size": size, "task": name, "seconds": seconds, "ratio": seconds / floor})
            print(f"[{size:.0e}] {name}: {seconds:.4g} s", file=sys.stderr, flush=True)
    by = {(r["size"], r["task"]): r["seconds"] for r in rows}
    lines = [
        "# zhuoyue capability benchmark",
        "",
        f"- date: {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}",
        f"- command: `{shlex.join(['.venv/bin/python', 'bench/bench_capability.py', *sys.argv[1:]])}`",
        f"- python {platform.python_version()}, numpy {np.__version__}, "
        + ", ".join(
            f"{p} {importlib.metadata.version(p)}"
            for p in ("scipy", "capstat-core")
            if _installed(p)
        ),
        f"- allocator: {args.malloc}; best of {args.repeat} runs (capstat-core at 10^7: best of 2)",
        "",
        "| size | task | seconds (best) | × numpy.sum | zhuoyue speed-up over capstat-core |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        speed = ""
        if r["task"].startswith("zhuoyue") and "normality" not in r["task"]:
            kind = r["task"].split(" ", 1)[1]
            peer = by.get((r["size"], f"capstat-core {kind}"))
            if peer:
                speed = f"{peer / r['seconds']:.1f}x"
        elif r["task"] == "zhuoyue individuals + normality":
            peer = by.get((r["size"], "capstat-core individuals"))
            if peer:
                speed = f"{peer / r['seconds']:.1f}x (both with normality)"
        lines.append(
            f"| {r['size']:.0e} | {r['task']} | {r['seconds']:.3g} | {r['ratio']:.1f} | {speed} |"
        )
    verdicts = []
    if TARGET_SIZE in sizes:
        for kind in ("individuals", "subgroups n=5"):
            mine = by[(TARGET_SIZE, f"zhuoyue {kind}")]
            ratio = mine / by[(TARGET_SIZE, "numpy.sum (floor)")]
            verdicts.append(
                f"- {'PASS' if ratio <= TARGET_RATIO else 'FAIL'}: {kind} at 10^6: "
                f"{ratio:.1f}x numpy.sum (target <= {TARGET_RATIO:g}x)"
            )
            peer = by.get((TARGET_SIZE, f"capstat-core {kind}"))
            if peer:
                speed = peer / mine
                verdicts.append(
                    f"- {'PASS' if speed >= MIN_SPEEDUP else 'FAIL'}: {kind} at 10^6: "
                    f"{speed:.1f}x faster than capstat-core (target >= {MIN_SPEEDUP:g}x)"
                )
    check = check_same(np.random.default_rng(SEED).standard_normal(10_000))
    lines += ["", "## Targets", "", *verdicts, "", "## Same numbers (10^4 values)", ""]
    lines += [f"- {c}" for c in check]
    print("\n".join(lines))
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "verdicts": verdicts}, indent=2) + "\n")


def _installed(name: str) -> bool:
    try:
        importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


if __name__ == "__main__":
    main()
