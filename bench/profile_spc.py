"""Where zhuoyue's Xbar-R and I-MR time goes, and what the fixes would gain (profiling aid).

Run from the project root::

    .venv/bin/python bench/profile_spc.py [--size 1e6] [--repeat 7]

1. cProfile of ``xbar_r(values, 5)`` and ``imr(values)`` (top functions by own time);
2. a stage-by-stage breakdown that replays ``charts._xbar`` and ``charts.imr`` step by step
   with the same zhuoyue internals, and the cost of every GB/T 4091 test (``rules._fire``);
3. prototypes of the fixes proposed in BENCHMARKS.md (run detection by shifted boolean AND,
   window counts by shifted int8 sums, column-wise subgroup means and ranges, scalar d2/d3 when
   all subgroups have the same size, no boolean-mask copies when every point is in phase I),
   checked to reproduce zhuoyue's limits and violations exactly, then timed.

Nothing here changes zhuoyue; the prototypes cover the default path only (gb4091 rules,
estimated limits, equal subgroup sizes, no NaN) and are not a replacement for src/.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import pstats
import resource
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from zhuoyue import stats
from zhuoyue.stats import charts as C
from zhuoyue.stats import constants as K
from zhuoyue.stats import rules as R
from zhuoyue.stats._input import as_float_array, make_groups, phase1_mask

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]
SEED = 4091  # the same data as bench_spc.py
N = 5


def best_ms(fn: Callable[[], Any], repeat: int) -> float:
    fn()
    gc.disable()
    try:
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    finally:
        gc.enable()
    return min(times) * 1e3


def table(title: str, rows: list[tuple[str, float]], total: float, floor: float) -> None:
    print(f"\n### {title}\n")
    print("| stage | ms | % of total | × numpy.sum |")
    print("|---|---:|---:|---:|")
    for name, ms in rows:
        print(f"| {name} | {ms:.2f} | {100 * ms / total:.0f} | {ms / floor:.0f} |")


# --------------------------------------------------------------------------- 1. cProfile


def cprofile(label: str, fn: Callable[[], Any], top: int = 12) -> None:
    fn()
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(3):
        fn()
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(top)
    body = out.getvalue()
    start = body.find("   ncalls")
    print(f"\n### cProfile: {label} (3 calls, top {top} by own time)\n\n```")
    print(body[start:].rstrip().replace("/work/main/", "").replace(".venv/lib/python3.11/", ""))
    print("```")


# --------------------------------------------------------------------------- 2. stages


Stages = list[tuple[str, Callable[[], Any]]]


def timed(stages: Stages, repeat: int) -> list[tuple[str, float]]:
    return [(name, best_ms(fn, repeat)) for name, fn in stages]


def rule_stages(z: FloatArray, x: FloatArray, beyond: BoolArray) -> Stages:
    """One stage per test of the default GB/T 4091 set, as rules.evaluate calls them."""
    rs = R.resolve_rules("gb4091")
    out: Stages = []
    for test in rs.tests:
        kind, _, zone = R.RULE_SETS["gb4091"][test]
        k = rs.k_of(test)
        bl = beyond if kind == "beyond" else None

        def fire(kind: str = kind, k: float = k, zone: float = zone, bl: Any = bl) -> Any:
            return R._fire(kind, k, zone, z, x, bl, True)

        out.append((f"&nbsp;&nbsp;test {test} ({kind}, K={k:g})", fire))
    return out


def stages_imr(x: FloatArray, repeat: int, floor: float) -> None:
    n = x.size
    rs = R.resolve_rules("gb4091")
    mr = np.full(n, np.nan)
    mr[1:] = np.abs(np.diff(x))
    mask = np.ones(n, dtype=bool)
    cen = float(np.mean(x))
    sig = C._sigma_individuals("mr", x, mr, mask, "exact")
    z = (x - cen) / sig
    beyond = (x > cen + 3 * sig) | (x < cen - 3 * sig)
    d2, d3 = float(K.d2(2)), float(K.d3(2))

    def excluded() -> Any:
        m = phase1_mask(n, None, None, "imr", "points")
        kept = phase1_mask(n, None, None, "imr", "points")
        return tuple(int(i) for i in np.flatnonzero(~m & kept))

    def panel_prep() -> Any:
        c, s = np.asarray(cen), np.asarray(sig)
        lcl, ucl = c - 3.0 * s, c + 3.0 * s
        return (x - c) / s, (x > ucl) | (x < lcl)

    stages: Stages = [
        ("as_float_array (finite check)", lambda: as_float_array(x, "values", "imr")),
        ("moving ranges abs(diff(x))", lambda: np.abs(np.diff(x))),
        ("phase I mask + excluded list", excluded),
        ("centre mean(x[mask])", lambda: float(np.mean(x[mask]))),
        ("sigma mean(mr[mr_mask])/d2", lambda: C._sigma_individuals("mr", x, mr, mask, "exact")),
        ("I panel: z, limits, beyond", panel_prep),
        (
            "I panel: rules.evaluate, 8 tests",
            lambda: R.evaluate(z, rs, statistic=x, beyond_limits=beyond),
        ),
        *rule_stages(z, x, beyond),
        (
            "MR panel (test 1 only)",
            lambda: C._panel("mr", mr, d2 * sig, d3 * sig, rs, floor=0.0, zones=False, only=(1,)),
        ),
    ]
    rows = timed(stages, repeat)
    total = best_ms(lambda: stats.imr(x), repeat)
    rows.append(("**imr() total**", total))
    table(f"I-MR stages at {n:,} values", rows, total, floor)


def stages_xbar_r(x: FloatArray, repeat: int, floor: float) -> None:
    rs = R.resolve_rules("gb4091")
    g = make_groups(x, N, "xbar_r")
    k = g.k
    means, ranges = g.means(), g.ranges()
    mask = np.ones(k, dtype=bool)
    sig = C._sigma_from_subgroups("rbar", g.sizes, ranges, np.empty(0), mask, "exact")
    nsq = np.sqrt(g.sizes.astype(np.float64))
    d2n, d3n = K.d2(g.sizes), K.d3(g.sizes)
    cen = float(np.mean(means))
    z = (means - cen) / (sig / nsq)
    beyond = np.abs(z) > 3

    def sigma() -> Any:
        return C._sigma_from_subgroups("rbar", g.sizes, ranges, np.empty(0), mask, "exact")

    stages: Stages = [
        ("as_float_array (finite check)", lambda: as_float_array(x, "values", "xbar_r")),
        ("make_groups", lambda: make_groups(x, N, "xbar_r")),
        ("subgroup means: reshape().mean(axis=1)", g.means),
        ("subgroup ranges: np.ptp(axis=1)", g.ranges),
        ("d2(sizes), d3(sizes) per subgroup", lambda: (K.d2(g.sizes), K.d3(g.sizes))),
        ("sigma R̄/d2", sigma),
        ("Xbar panel (8 tests)", lambda: C._panel("xbar", means, cen, sig / nsq, rs)),
        *rule_stages(z, means, beyond),
        (
            "R panel (tests 1-4, per-subgroup arrays)",
            lambda: C._panel("r", ranges, d2n * sig, d3n * sig, rs, floor=0.0, zones=False),
        ),
    ]
    rows = timed(stages, repeat)
    total = best_ms(lambda: stats.xbar_r(x, N), repeat)
    rows.append(("**xbar_r() total**", total))
    table(f"Xbar-R stages at {x.size:,} values ({k:,} subgroups of {N})", rows, total, floor)


def helper_costs(x: FloatArray, repeat: int) -> None:
    flag = np.abs(x) <= 1.0
    print("\n### Building blocks at this size\n")
    print("| operation | ms |\n|---|---:|")
    for name, fn in (
        (
            "rules._run_length(flag) (int64 arange, where, max.accumulate)",
            lambda: R._run_length(flag),
        ),
        ("proposed runs_at_least(flag, 15) (4 shifted bool ANDs)", lambda: runs_at_least(flag, 15)),
        ("rules._window_count(flag, 5) (int64 cumsum + gather)", lambda: R._window_count(flag, 5)),
        ("proposed window_count(flag, 5) (4 shifted int8 adds)", lambda: window_count(flag, 5)),
        ("np.abs(x) <= 1 (one float64 comparison)", lambda: np.abs(x) <= 1.0),
    ):
        print(f"| {name} | {best_ms(fn, repeat):.2f} |")


# --------------------------------------------------------------------------- 3. prototypes


def runs_at_least(flag: BoolArray, k: int) -> BoolArray:
    """True where a run of at least ``k`` True values ends (= ``_run_length(flag) >= k``)."""
    out = flag.copy()
    have = 1
    while have < k:
        step = min(have, k - have)
        out[step:] &= out[:-step]
        out[:step] = False
        have += step
    return out


def window_any(flag: BoolArray, width: int) -> BoolArray:
    """Any True among the last ``width`` positions (= ``_window_count(flag, width) > 0``)."""
    out = flag.copy()
    have = 1
    while have < width:
        step = min(have, width - have)
        out[step:] |= out[:-step]
        have += step
    return out


def window_count(flag: BoolArray, width: int) -> npt.NDArray[np.int8]:
    """Number of True among the last ``width`` positions, for width < 128."""
    out = flag.astype(np.int8)
    for j in range(1, width):
        out[j:] += flag[:-j]
    return out


def fast_rules(z: FloatArray, x: FloatArray, beyond: BoolArray, zones: bool) -> R.Violations:
    """The default GB/T 4091 tests (K = 3, 9, 6, 14, 2, 4, 15, 8; test 8 on both sides)."""
    n = z.size
    hits: list[BoolArray] = [beyond]
    hits.append(runs_at_least(z > 0, 9) | runs_at_least(z < 0, 9))
    up = np.zeros(n, dtype=bool)
    dn = np.zeros(n, dtype=bool)
    d = x[1:] - x[:-1]
    np.greater(d, 0, out=up[1:])
    np.less(d, 0, out=dn[1:])
    hits.append(runs_at_least(up, 5) | runs_at_least(dn, 5))
    alt = np.zeros(n, dtype=bool)
    alt[2:] = (up[2:] & dn[1:-1]) | (dn[2:] & up[1:-1])
    hits.append(runs_at_least(alt, 12))
    if zones:
        gt2, lt2, gt1, lt1 = z > 2, z < -2, z > 1, z < -1
        hits.append((gt2 & (window_count(gt2, 3) >= 2)) | (lt2 & (window_count(lt2, 3) >= 2)))
        hits.append((gt1 & (window_count(gt1, 5) >= 4)) | (lt1 & (window_count(lt1, 5) >= 4)))
        hits.append(runs_at_least((z <= 1) & (z >= -1), 15))
        hits.append(runs_at_least(gt1 | lt1, 8) & window_any(gt1, 8) & window_any(lt1, 8))
    idx_parts, rule_parts = [], []
    for test, hit in enumerate(hits, start=1):
        where = np.flatnonzero(hit)
        idx_parts.append(where)
        rule_parts.append(np.full(where.size, test, dtype=np.int64))
    index = np.concatenate(idx_parts)
    order = np.argsort(index, kind="stable")  # parts are sorted and in test order
    return R.Violations(index[order], np.concatenate(rule_parts)[order])


#: prototype block: 65,536 points (z, masks and counters stay in cache); a halo of 16 earlier
#: points covers the longest look-back of the default tests (15 for test 7, 14 for test 4)
BLOCK, HALO = 1 << 16, 16


def panel_rules(
    stat: FloatArray, center: float, sigma: float, zones: bool, floor: float | None, blocked: bool
) -> R.Violations:
    """z, limits, beyond and the tests of one panel, like charts._panel (scalar limits)."""
    c, s = np.asarray(center), np.asarray(sigma)
    lcl, ucl = c - 3.0 * s, c + 3.0 * s
    if floor is not None:
        lcl = np.maximum(lcl, floor)
    step = BLOCK if blocked else max(stat.size, 1)
    idx_parts, rule_parts = [], []
    for lo in range(0, stat.size, step):
        start, hi = max(lo - HALO, 0), min(lo + step, stat.size)
        xs = stat[start:hi]
        v = fast_rules((xs - c) / s, xs, (xs > ucl) | (xs < lcl), zones)
        keep = v.index >= lo - start
        idx_parts.append(v.index[keep] + start)
        rule_parts.append(v.rule[keep])
    return R.Violations(np.concatenate(idx_parts), np.concatenate(rule_parts))


def fast_imr(x: FloatArray, blocked: bool = True) -> dict[str, Any]:
    if not np.isfinite(x).all():
        raise ValueError("prototype: finite values only")
    n = x.size
    mr = np.empty(n)  # the MR panel's statistic, built in place (no diff/abs temporaries)
    mr[0] = np.nan
    np.subtract(x[1:], x[:-1], out=mr[1:])
    np.abs(mr[1:], out=mr[1:])
    cen = float(np.mean(x))  # every point in phase I: no x[mask] copy
    sig = float(np.mean(mr[1:]) / K.d2(2))
    mr_hits = np.flatnonzero(mr > (K.d2(2) + 3.0 * K.d3(2)) * sig)
    return {
        "center": cen,
        "sigma": sig,
        "i": panel_rules(x, cen, sig, zones=True, floor=None, blocked=blocked),
        "mr": R.Violations(mr_hits, np.ones(mr_hits.size, dtype=np.int64)),
    }


def fast_xbar_r(x: FloatArray, n: int, blocked: bool = True) -> dict[str, Any]:
    if not np.isfinite(x).all() or x.size % n:
        raise ValueError("prototype: finite values, equal subgroups only")
    k = x.size // n
    means, ranges = np.empty(k), np.empty(k)
    step = 8192 if blocked else k  # subgroups per block
    for lo in range(0, k, step):
        # a contiguous (n, block) copy: reductions over axis 0 run along long rows, unlike
        # np.ptp / mean over axis=1 of the (k, n) view, whose inner loop is only n long
        rows = np.ascontiguousarray(x[lo * n : (lo + step) * n].reshape(-1, n).T)
        np.divide(rows.sum(axis=0), n, out=means[lo : lo + step])
        np.subtract(rows.max(axis=0), rows.min(axis=0), out=ranges[lo : lo + step])
    d2, d3 = float(K.d2(n)), float(K.d3(n))  # one lookup: all subgroups have size n
    sig = float(np.mean(ranges)) / d2
    cen = float(np.mean(means))
    return {
        "center": cen,
        "sigma": sig,
        "xbar": panel_rules(means, cen, sig / np.sqrt(n), True, None, blocked),
        "r": panel_rules(ranges, d2 * sig, d3 * sig, False, 0.0, blocked),
    }


def same(a: R.Violations, b: R.Violations) -> bool:
    return np.array_equal(a.index, b.index) and np.array_equal(a.rule, b.rule)


def faults_per_call(fn: Callable[[], Any], calls: int = 3) -> float:
    """Minor page faults per call (fresh pages the kernel must map for new arrays)."""
    fn()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(calls):
        fn()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / calls


def prototypes(x: FloatArray, repeat: int, floor: float) -> None:
    ref_i, ref_x = stats.imr(x), stats.xbar_r(x, N)
    print("\n### Prototype fixes (default path only), checked against zhuoyue\n")
    for blocked in (False, True):
        got_i, got_x = fast_imr(x, blocked), fast_xbar_r(x, N, blocked)
        checks = {
            "imr centre": got_i["center"] == ref_i.center,
            "imr sigma": got_i["sigma"] == ref_i.sigma,
            "imr I violations": same(got_i["i"], ref_i["i"].violations),
            "imr MR violations": same(got_i["mr"], ref_i["mr"].violations),
            "xbar_r centre": np.isclose(got_x["center"], ref_x.center, rtol=1e-12, atol=1e-15),
            "xbar_r sigma": np.isclose(got_x["sigma"], ref_x.sigma, rtol=1e-12),
            "xbar_r Xbar violations": same(got_x["xbar"], ref_x["xbar"].violations),
            "xbar_r R violations": same(got_x["r"], ref_x["r"].violations),
        }
        bad = [name for name, ok in checks.items() if not ok]
        label = "blocked" if blocked else "whole-array"
        print(f"- {label}: " + (f"DIFFERENT: {bad}" if bad else "all limits and violations equal"))
    counts = {p: len(ref_i[p].violations) for p in ("i", "mr")}
    counts |= {p: len(ref_x[p].violations) for p in ("xbar", "r")}
    print(f"- violations compared per panel: {counts}")
    print("\n| call | ms | × numpy.sum | page faults / call |")
    print("|---|---:|---:|---:|")
    calls: list[tuple[str, Callable[[], Any]]] = [
        ("zhuoyue xbar_r(values, 5)", lambda: stats.xbar_r(x, N)),
        ("prototype Xbar-R, whole arrays", lambda: fast_xbar_r(x, N, blocked=False)),
        ("prototype Xbar-R, blocked", lambda: fast_xbar_r(x, N, blocked=True)),
        ("zhuoyue imr(values)", lambda: stats.imr(x)),
        ("prototype I-MR, whole arrays", lambda: fast_imr(x, blocked=False)),
        ("prototype I-MR, blocked", lambda: fast_imr(x, blocked=True)),
    ]
    for name, fn in calls:
        ms = best_ms(fn, repeat)
        print(f"| {name} | {ms:.1f} | {ms / floor:.0f} | {faults_per_call(fn):,.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=float, default=1e6)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    size = int(args.size)
    x = np.random.default_rng(SEED).standard_normal(size)
    floor = best_ms(lambda: np.sum(x), max(args.repeat, 20))
    print(f"## zhuoyue profile at {size:,} standard-normal values (numpy.sum: {floor:.3f} ms)")
    cprofile("xbar_r(values, 5)", lambda: stats.xbar_r(x, N))
    cprofile("imr(values)", lambda: stats.imr(x))
    stages_xbar_r(x, args.repeat, floor)
    stages_imr(x, args.repeat, floor)
    helper_costs(x, args.repeat)
    prototypes(x, args.repeat, floor)


if __name__ == "__main__":
    main()
