"""Time the online monitor's ``MonitorState.push`` against the batch chart of the same data.

Run from the project root::

    .venv/bin/python bench/bench_monitor_state.py [--n 200000] [--repeat 3] [--json out.json]

For I-MR and Xbar-R (n = 5), with the default ``rules="gb4091"`` (all 8 tests on the main panel,
tests 1-4 on R, test 1 on MR), against frozen limits (phase II), it times, best of
``--repeat`` runs, on ``--n`` standard-normal values (fixed seed) with a 1σ shift in the last
tenth so that the rules fire:

* ``push``: every value through ``MonitorState.push`` one by one (Python floats), events kept;
* the floor: the batch chart (``stats.imr`` / ``stats.xbar_r`` with ``center=``, ``sigma=``) of
  the whole series at once -- what the same judgement costs when nothing is incremental;
* for reference, an empty Python loop over the same values and one ``to_dict`` + ``json.dumps``
  of the state (the cost of saving it).

Reported: values per second, points per second (values for I-MR, subgroups for Xbar-R), the
microseconds per value and the ratio of push time to the batch floor. The Markdown table goes to
stdout, progress to stderr. Both paths must find the same violations; the script checks it.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from zhuoyue import stats
from zhuoyue.monitor import MonitorState, RuleViolation

SEED = 2023
SUBGROUP = 5


def best(func: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times = []
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = func()
        times.append(time.perf_counter() - t0)
    return min(times), out


def data(n: int) -> np.ndarray:
    x = np.random.default_rng(SEED).normal(0.0, 1.0, n)
    x[n - n // 10 :] += 1.0
    return x


def bench(chart: str, x: np.ndarray, repeat: int) -> dict[str, Any]:
    values = x.tolist()
    size = None if chart == "imr" else SUBGROUP

    def stream() -> list[Any]:
        m = MonitorState(chart, 0.0, 1.0, subgroup_size=size)
        events: list[Any] = []
        push = m.push
        for v in values:
            events.extend(push(v))
        events.extend(m.flush())
        return events

    def batch() -> stats.ChartResult:
        if chart == "imr":
            return stats.imr(x, center=0.0, sigma=1.0)
        return stats.xbar_r(x, SUBGROUP, center=0.0, sigma=1.0)

    def empty() -> None:
        for _v in values:
            pass

    print(f"{chart}: push ...", file=sys.stderr)
    t_push, events = best(stream, repeat)
    print(f"{chart}: batch ...", file=sys.stderr)
    t_batch, res = best(batch, repeat)
    t_loop, _ = best(empty, repeat)
    got = sorted((e.panel, e.index, e.test) for e in events if isinstance(e, RuleViolation))
    want = sorted(
        (name, int(i), int(t))
        for name, p in res.panels.items()
        for i, t in zip(p.violations.index, p.violations.rule, strict=True)
    )
    if got != want:
        raise SystemExit(f"{chart}: streamed and batch violations differ")
    m = MonitorState(chart, 0.0, 1.0, subgroup_size=size)
    for v in values[: len(values) // 2 + 2]:
        m.push(v)
    t_save, _ = best(lambda: json.dumps(m.to_dict()), max(repeat, 5))
    n = len(values)
    points = n if chart == "imr" else -(-n // SUBGROUP)
    return {
        "chart": chart,
        "values": n,
        "points": points,
        "violations": len(got),
        "push_s": t_push,
        "batch_s": t_batch,
        "loop_s": t_loop,
        "save_s": t_save,
    }


def table(rows: list[dict[str, Any]]) -> str:
    out = [
        "| chart | values | violations | push values/s | push points/s | µs/value | "
        "batch values/s (floor) | push ÷ batch | empty loop values/s | save state |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        out.append(
            f"| {r['chart']} | {r['values']:,} | {r['violations']:,} "
            f"| {r['values'] / r['push_s']:,.0f} | {r['points'] / r['push_s']:,.0f} "
            f"| {1e6 * r['push_s'] / r['values']:.2f} | {r['values'] / r['batch_s']:,.0f} "
            f"| {r['push_s'] / r['batch_s']:.0f}× | {r['values'] / r['loop_s']:,.0f} "
            f"| {1e6 * r['save_s']:.0f} µs |"
        )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=float, default=200_000, help="values per chart")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", help="also write the timings here")
    args = ap.parse_args(argv)
    x = data(int(args.n))
    rows = [bench(chart, x, args.repeat) for chart in ("imr", "xbar_r")]
    print(
        f"MonitorState.push vs batch, rules gb4091 (all tests), {int(args.n):,} values, "
        f"best of {args.repeat}; Python {platform.python_version()}, NumPy {np.__version__}, "
        f"{platform.machine()}\n"
    )
    print(table(rows))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
