"""Time a whole five-level self-assessment of a mid-size plant against Polars reading its files.

Run from the project root::

    .venv/bin/python bench/bench_assess.py [--dir /tmp/zhuoyue-plant] [--scale 1.0] [--repeat 3]
                                           [--json out.json]

It writes (once; reused when present) a year of a mid-size plant as CSV files named after the
canonical tables — 500 characteristics × 20,000 values (10^7 measurements), 30 process steps,
200,000 inspection rows, 50,000 quality-cost rows, the year's output value and a filled
questionnaire — then times, in one run, best of ``--repeat``:

* the floor: ``polars.read_csv`` of every file (what reading the data costs at all);
* zhuoyue: ``read_assessment_data`` (read + validate every row) + ``assess`` (every metric from
  raw data — capability of each key characteristic with its stability check, rolled yield,
  loss rates, sigma level — and the evaluation with its plan).

Target (issue #4): the whole assessment within 3× of the Polars read time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from zhuoyue._malloc import tune_allocator

SEED = 2023
YEAR = 2025
N_CHARS, N_VALUES, N_STEPS = 500, 20_000, 30
N_INSPECTIONS, N_COSTS = 200_000, 50_000
SUBGROUP = 5
TARGET = 3.0
CATEGORIES = (
    "prevention",
    "appraisal",
    "internal.scrap",
    "internal.rework",
    "internal.downgrade",
    "internal.downtime",
    "internal.incident",
    "external.claim",
    "external.return",
    "external.discount",
    "external.warranty",
)


def generate(folder: Path, scale: float) -> dict[str, int]:
    """Write the plant's CSV files; returns the number of rows per table."""
    rng = np.random.default_rng(SEED)
    folder.mkdir(parents=True, exist_ok=True)
    n_chars = max(2, int(N_CHARS * scale))
    n_values = max(SUBGROUP * 5, int(N_VALUES * scale) // SUBGROUP * SUBGROUP)
    steps = [f"OP{10 * (i + 1):03d}" for i in range(N_STEPS)]
    # characteristics: one in five is key; specs put Cpk between about 0.9 and 2.2
    codes = [f"C{i:04d}" for i in range(n_chars)]
    nominal = rng.uniform(5, 50, n_chars).round(3)
    sigma = rng.uniform(0.002, 0.02, n_chars)
    half = (sigma * rng.uniform(2.7, 6.6, n_chars)).round(4)
    chars = pl.DataFrame(
        {
            "code": codes,
            "name": [f"特性 {c}" for c in codes],
            "product": "P-100",
            "step": [steps[i % N_STEPS] for i in range(n_chars)],
            "unit": "mm",
            "lsl": nominal - half,
            "usl": nominal + half,
            "target": nominal,
            "subgroup_size": SUBGROUP,
            "key": [i % 5 == 0 for i in range(n_chars)],
            "chart": "xbar_r",
        }
    )
    chars.write_csv(folder / "characteristics.csv")
    # measurements: every characteristic measured in subgroups of 5 through the year
    n = n_chars * n_values
    per = n_values // SUBGROUP
    start = np.datetime64(f"{YEAR}-01-01T00:00:00")
    seconds = (np.arange(per) * (365 * 86400 // per)).astype("timedelta64[s]")
    ts = np.tile(np.repeat(start + seconds, SUBGROUP), n_chars).astype("datetime64[ms]")
    values = np.repeat(nominal, n_values) + rng.standard_normal(n) * np.repeat(sigma, n_values)
    meas = pl.DataFrame(
        {
            "characteristic": np.repeat(np.array(codes), n_values),
            "ts": ts,
            "subgroup": np.tile(np.repeat(np.arange(1, per + 1), SUBGROUP), n_chars),
            "value": values.round(5),
        }
    )
    meas.write_csv(folder / "measurements.csv", datetime_format="%Y-%m-%dT%H:%M:%S")
    del meas, values, ts
    gc.collect()
    # inspections across the 30 steps (first-pass yields 97.5 % to 99.9 %)
    days = np.datetime64(f"{YEAR}-01-01") + rng.integers(0, 365, N_INSPECTIONS).astype(
        "timedelta64[D]"
    )
    step_idx = rng.integers(0, N_STEPS, N_INSPECTIONS)
    submitted = rng.integers(50, 500, N_INSPECTIONS)
    fpy = rng.uniform(0.975, 0.999, N_STEPS)[step_idx]
    passed = rng.binomial(submitted, fpy)
    pl.DataFrame(
        {
            "date": days,
            "step": np.array(steps)[step_idx],
            "product": "P-100",
            "lot": [f"L{i:06d}" for i in range(N_INSPECTIONS)],
            "submitted": submitted,
            "passed_first": passed,
            "defects": submitted - passed,
        }
    ).write_csv(folder / "inspections.csv")
    # quality costs (元)
    cdays = np.datetime64(f"{YEAR}-01-01") + rng.integers(0, 365, N_COSTS).astype("timedelta64[D]")
    cat = rng.choice(np.array(CATEGORIES), N_COSTS, p=[0.1, 0.2] + [0.4 / 5] * 5 + [0.3 / 4] * 4)
    pl.DataFrame(
        {"date": cdays, "category": cat, "amount": rng.gamma(2.0, 300.0, N_COSTS).round(2)}
    ).write_csv(folder / "quality_costs.csv")
    pl.DataFrame({"year": [YEAR], "total_output_value": [2.0e9]}).write_csv(
        folder / "output_value.csv"
    )
    months = [f"{YEAR}-{m:02d}" for m in range(1, 13)]
    pl.DataFrame(
        {
            "period": months,
            "product": "P-100",
            "units": rng.integers(90_000, 110_000, 12),
            "defective": rng.integers(30, 90, 12),
        }
    ).write_csv(folder / "product_quality.csv")
    from zhuoyue.excellence import default_model

    items = [ind.id for ind in default_model().indicators if ind.kind == "questionnaire"]
    pl.DataFrame(
        {
            "item": items,
            "level": [3] * len(items),
            "evidence": [f"文件 QM-{i:03d}" for i in range(len(items))],
            "respondent": "质量部",
        }
    ).write_csv(folder / "self_assessment.csv")
    return {
        "characteristics": n_chars,
        "measurements": n,
        "inspections": N_INSPECTIONS,
        "quality_costs": N_COSTS,
        "product_quality": 12,
        "self_assessment": len(items),
    }


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def polars_read(folder: Path) -> int:
    rows = 0
    for path in sorted(folder.glob("*.csv")):
        rows += pl.read_csv(path).height
    return rows


def zhuoyue_assess(folder: Path) -> Any:
    from zhuoyue.ingest.workbook import read_assessment_data
    from zhuoyue.services.assessment import assess

    data = read_assessment_data(folder, year=YEAR)
    return assess(data, year=YEAR)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=Path("/tmp/zhuoyue-plant"))
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the plant (tests)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--malloc", choices=("tuned", "default"), default="tuned")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.malloc == "tuned":
        tune_allocator()
    stamp = args.dir / f".generated-{args.scale:g}"
    if not stamp.exists():
        print(f"generating the plant in {args.dir} ...", file=sys.stderr, flush=True)
        counts = generate(args.dir, args.scale)
        stamp.write_text(json.dumps(counts))
    counts = json.loads(stamp.read_text())
    size_mb = sum(p.stat().st_size for p in args.dir.glob("*.csv")) / 1e6
    floor, rows = best_of(lambda: polars_read(args.dir), args.repeat)
    print(f"polars read: {floor:.2f} s ({rows:,} rows, {size_mb:.0f} MB)", file=sys.stderr)
    mine, outcome = best_of(lambda: zhuoyue_assess(args.dir), args.repeat)
    print(f"zhuoyue read + validate + assess: {mine:.2f} s", file=sys.stderr)
    ratio = mine / floor
    result = outcome.result
    lines = [
        "# zhuoyue assessment benchmark",
        "",
        f"- date: {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}",
        f"- command: `{shlex.join(['.venv/bin/python', 'bench/bench_assess.py', *sys.argv[1:]])}`",
        f"- data: {', '.join(f'{k} {v:,}' for k, v in counts.items())} rows; {size_mb:.0f} MB of CSV",
        f"- allocator: {args.malloc}; best of {args.repeat}",
        "",
        "| task | seconds (best) | × Polars read |",
        "|---|---|---|",
        f"| Polars `read_csv` of every file (floor) | {floor:.2f} | 1.0 |",
        f"| zhuoyue `read_assessment_data` + `assess` | {mine:.2f} | {ratio:.2f} |",
        "",
        f"- {'PASS' if ratio <= TARGET else 'FAIL'}: whole assessment {ratio:.2f}× the Polars "
        f"read time (target ≤ {TARGET:g}×)",
        f"- result: level {result.level} {result.level_names[result.level - 1][0]}, "
        f"score {result.score:.0f}",
    ]
    print("\n".join(lines))
    if args.json:
        args.json.write_text(
            json.dumps({"floor": floor, "zhuoyue": mine, "ratio": ratio, "counts": counts}) + "\n"
        )


if __name__ == "__main__":
    main()
