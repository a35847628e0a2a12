"""Property tests of the self-assessment from raw tables (Hypothesis).

Invariants of :func:`zhuoyue.services.assessment.assess` on random enterprises (inspections,
product quality, quality costs, key characteristics with measurements, answers):

* improving any metric's raw data — more units passed first, fewer defectives, lower failure
  costs, tighter measurements, wider specifications — never lowers that indicator's level nor
  the overall level (and moves the value the right way where the value is monotone);
* the overall level is the minimum over the aspects and the quantitative indicators;
* the order of the rows of any table changes nothing;
* splitting a step's inspection rows into several rows leaves the rolled yield unchanged.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from zhuoyue.excellence import default_model
from zhuoyue.services.assessment import AssessmentOutcome, assess

YEAR = 2024
MODEL = default_model()
ITEMS = [i.id for i in MODEL.questionnaire]
METRICS = [i.id for i in MODEL.metrics]
FAILURE_CATEGORIES = [
    "internal.scrap",
    "internal.rework",
    "返修费",
    "internal.downtime",
    "external.claim",
    "退货",
    "external.warranty",
]
SOME = settings(max_examples=40, deadline=None)


# ------------------------------------------------------------------------------------------------
# A random enterprise as plain Python rows (so that a test can change one thing)
# ------------------------------------------------------------------------------------------------
@dataclass
class Enterprise:
    inspections: list[dict[str, Any]]
    quality: list[dict[str, Any]]
    costs: list[dict[str, Any]]
    output_value: float
    chars: list[dict[str, Any]]
    values: dict[str, list[float]]
    answer_level: int
    answers: list[int] = field(default_factory=list)

    def tables(self) -> dict[str, pl.DataFrame]:
        t0 = dt.datetime(YEAR, 1, 1, 6)
        meas = [
            {"characteristic": code, "ts": t0 + dt.timedelta(hours=37 * i), "value": v}
            for code, xs in self.values.items()
            for i, v in enumerate(xs)
        ]
        return {
            "inspections": pl.DataFrame(self.inspections),
            "product_quality": pl.DataFrame(self.quality),
            "quality_costs": pl.DataFrame(
                self.costs, schema={"date": pl.Date, "category": pl.String, "amount": pl.Float64}
            ),
            "output_value": pl.DataFrame(
                {"year": [YEAR], "total_output_value": [self.output_value]}
            ),
            "characteristics": pl.DataFrame(
                self.chars,
                schema={
                    "code": pl.String,
                    "key": pl.Boolean,
                    "lsl": pl.Float64,
                    "usl": pl.Float64,
                },
            ),
            "measurements": pl.DataFrame(
                meas,
                schema={"characteristic": pl.String, "ts": pl.Datetime("us"), "value": pl.Float64},
            ),
            "self_assessment": pl.DataFrame(
                {
                    "item": ITEMS,
                    "level": self.answers or [self.answer_level] * len(ITEMS),
                    "evidence": ["制度文件; 运行记录"] * len(ITEMS),
                }
            ),
        }


def run(e: Enterprise) -> AssessmentOutcome:
    return assess((e.tables(), {"name": "随机企业"}), year=YEAR)


dates = st.builds(dt.date, st.just(YEAR), st.integers(1, 12), st.integers(1, 28))

# Each metric of a random enterprise is drawn around a grade 1..5 (the level it would reach if
# the draw hit the middle of the band), so that the overall level spans the five levels and an
# improvement can cross a threshold. The bands follow the annex's thresholds.
RY_BANDS = {1: (0.80, 0.90), 2: (0.90, 0.95), 3: (0.95, 0.97), 4: (0.97, 0.98), 5: (0.98, 1.0)}
PPM_BANDS = {1: (80_000, 400_000), 2: (7_000, 60_000), 3: (300, 6_000), 4: (5, 200), 5: (0, 3)}
CPK_BANDS = {1: (0.5, 1.0), 2: (1.0, 1.33), 3: (1.33, 1.67), 4: (1.67, 2.0), 5: (2.0, 2.6)}
INTERNAL_BANDS = {2: (0.03, 0.06), 3: (0.015, 0.03), 4: (0.0075, 0.015), 5: (0.0, 0.0075)}
EXTERNAL_BANDS = {2: (0.023, 0.05), 3: (0.01, 0.023), 4: (0.005, 0.01), 5: (0.0, 0.005)}


def grade_near(draw: st.DrawFn, grade: int) -> int:
    return min(5, max(1, grade + draw(st.sampled_from([0, 0, -1, 1]))))


def in_band(draw: st.DrawFn, band: tuple[float, float]) -> float:
    return draw(st.floats(band[0], band[1]))


@st.composite
def inspection_rows(draw: st.DrawFn, grade: int) -> list[dict[str, Any]]:
    n_steps = draw(st.integers(1, 4))
    fpy = in_band(draw, RY_BANDS[grade_near(draw, grade)]) ** (1.0 / n_steps)
    rows = []
    for k in range(n_steps):
        for _ in range(draw(st.integers(1, 3))):
            submitted = draw(st.integers(1, 400))
            bad = min(submitted, round(submitted * (1.0 - fpy)) + draw(st.integers(0, 1)))
            rows.append(
                {
                    "date": draw(dates),
                    "step": f"OP{10 * (k + 1)}",
                    "submitted": submitted,
                    "passed_first": submitted - bad,
                }
            )
    order = draw(st.permutations(range(len(rows))))
    return [rows[i] for i in order]


@st.composite
def quality_rows(draw: st.DrawFn, grade: int) -> list[dict[str, Any]]:
    ppm = in_band(draw, PPM_BANDS[grade_near(draw, grade)])
    rows = []
    for q in range(draw(st.integers(1, 4))):
        units = draw(st.integers(1_000, 1_000_000))
        rows.append(
            {
                "period": f"{YEAR}Q{q + 1}",
                "product": draw(st.sampled_from(["P1", "P2"])),
                "units": units,
                "defective": min(units, round(units * ppm / 1e6) + draw(st.integers(0, 1))),
            }
        )
    return rows


@st.composite
def cost_rows(draw: st.DrawFn, grade: int, output_value: float) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for bands, categories in (
        (
            INTERNAL_BANDS,
            [c for c in FAILURE_CATEGORIES if c.startswith("internal") or c == "返修费"],
        ),
        (
            EXTERNAL_BANDS,
            [c for c in FAILURE_CATEGORIES if c.startswith("external") or c == "退货"],
        ),
    ):
        g = grade_near(draw, grade)
        if g == 1:
            continue  # not tracked: no row of these categories
        total = in_band(draw, bands[g]) * output_value
        n = draw(st.integers(1, 3))
        for _ in range(n):
            rows.append(
                {
                    "date": draw(dates),
                    "category": draw(st.sampled_from(categories)),
                    "amount": float(round(total / n)),
                }
            )
    if draw(st.booleans()):
        rows.append({"date": draw(dates), "category": "prevention", "amount": 1_000.0})
    return rows


@st.composite
def characteristics(
    draw: st.DrawFn, grade: int
) -> tuple[list[dict[str, Any]], dict[str, list[float]]]:
    chars: list[dict[str, Any]] = []
    values: dict[str, list[float]] = {}
    for j in range(draw(st.integers(1, 3))):
        code = f"K{j}"
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        sd = draw(st.sampled_from([0.01, 0.1, 1.0]))
        xs = list(10.0 + rng.normal(0.0, sd, draw(st.integers(12, 40))))
        # half-widths of 3·Cpk·σ around 10 (σ as drawn: the estimate differs a little)
        lo_w = 3 * in_band(draw, CPK_BANDS[grade_near(draw, grade)]) * sd
        hi_w = 3 * in_band(draw, CPK_BANDS[grade_near(draw, grade)]) * sd
        one_sided = draw(st.sampled_from([None, None, "lsl", "usl"]))
        chars.append(
            {
                "code": code,
                "key": draw(st.booleans()) if j else True,
                "lsl": None if one_sided == "usl" else 10.0 - lo_w,
                "usl": None if one_sided == "lsl" else 10.0 + hi_w,
            }
        )
        values[code] = xs
    return chars, values


@st.composite
def enterprises(draw: st.DrawFn) -> Enterprise:
    grade = draw(st.integers(1, 5))
    output_value = float(draw(st.sampled_from([200_000, 1_000_000, 5_000_000])))
    chars, values = draw(characteristics(grade))
    return Enterprise(
        inspections=draw(inspection_rows(grade)),
        quality=draw(quality_rows(grade)),
        costs=draw(cost_rows(grade, output_value)),
        output_value=output_value,
        chars=chars,
        values=values,
        answer_level=draw(st.sampled_from([grade, 5])),
    )


def copy(e: Enterprise) -> Enterprise:
    return replace(
        e,
        inspections=[dict(r) for r in e.inspections],
        quality=[dict(r) for r in e.quality],
        costs=[dict(r) for r in e.costs],
        chars=[dict(r) for r in e.chars],
        values={k: list(v) for k, v in e.values.items()},
    )


# ------------------------------------------------------------------------------------------------
# Improvements of the raw data
# ------------------------------------------------------------------------------------------------
def more_passed(e: Enterprise, data: st.DataObject) -> str:
    rows = [r for r in e.inspections if r["passed_first"] < r["submitted"]]
    if rows:
        r = data.draw(st.sampled_from(rows))
        r["passed_first"] = data.draw(st.integers(r["passed_first"] + 1, r["submitted"]))
    return "rolled_yield"


def fewer_defective(e: Enterprise, data: st.DataObject) -> str:
    rows = [r for r in e.quality if r["defective"] > 0]
    if rows:
        r = data.draw(st.sampled_from(rows))
        r["defective"] = data.draw(st.integers(0, r["defective"] - 1))
    return "sigma_level"


def lower_costs(e: Enterprise, data: st.DataObject) -> str:
    rows = [r for r in e.costs if r["category"] != "prevention" and r["amount"] > 0]
    if not rows:
        return "internal_loss_rate"
    r = data.draw(st.sampled_from(rows))
    r["amount"] = float(data.draw(st.integers(0, int(r["amount"]) - 1)))
    internal = r["category"].startswith("internal") or r["category"] == "返修费"
    return "internal_loss_rate" if internal else "external_loss_rate"


def tighter_measurements(e: Enterprise, data: st.DataObject) -> str:
    code = data.draw(st.sampled_from(sorted(e.values)))
    k = data.draw(st.sampled_from([0.25, 0.5, 0.8, 0.9]))
    xs = e.values[code]
    mean = math.fsum(xs) / len(xs)
    e.values[code] = [mean + k * (x - mean) for x in xs]
    return "cpk"


def wider_specs(e: Enterprise, data: st.DataObject) -> str:
    c = data.draw(st.sampled_from(e.chars))
    widen = data.draw(st.floats(0.0, 1.0))
    if c["lsl"] is not None:
        c["lsl"] -= widen
    if c["usl"] is not None:
        c["usl"] += widen
    return "cpk"


IMPROVEMENTS = {
    "more_passed": more_passed,
    "fewer_defective": fewer_defective,
    "lower_costs": lower_costs,
    "tighter_measurements": tighter_measurements,
    "wider_specs": wider_specs,
}
MONOTONE_VALUE = {"rolled_yield": 1, "sigma_level": 1, "internal_loss_rate": -1}
MONOTONE_VALUE["external_loss_rate"] = -1


@SOME
@given(e=enterprises(), how=st.sampled_from(sorted(IMPROVEMENTS)), data=st.data())
def test_improving_raw_data_never_lowers_a_level(
    e: Enterprise, how: str, data: st.DataObject
) -> None:
    before = run(e).result
    better = copy(e)
    metric = IMPROVEMENTS[how](better, data)
    after = run(better).result
    assert after.level >= before.level
    assert after.metrics[metric].level >= before.metrics[metric].level
    for key in METRICS:  # the other metrics are untouched
        if key != metric:
            assert after.metrics[key].level == before.metrics[key].level
    sign = MONOTONE_VALUE.get(metric)
    old, new = before.metrics[metric].value, after.metrics[metric].value
    if sign is not None and old is not None:
        assert new is not None
        assert sign * (new - old) >= -1e-12 * max(1.0, abs(old))


@SOME
@given(
    e=enterprises(), answers=st.lists(st.integers(1, 5), min_size=len(ITEMS), max_size=len(ITEMS))
)
def test_level_is_the_minimum_over_aspects_and_metrics(e: Enterprise, answers: list[int]) -> None:
    e.answers = answers
    res = run(e).result
    aspects = [a.level for a in res.aspects]
    metrics = [m.level for m in res.metrics.values()]
    assert res.level == min(aspects + metrics)
    for a in res.aspects:  # the built-in model's aspects are all "min"
        assert a.level == min(i.level for i in a.indicators)
    assert (res.level == 5) == (res.binding == ())
    assert all(c.level == res.level for c in res.binding)


def shuffled(df: pl.DataFrame, seed: int) -> pl.DataFrame:
    return df.sample(fraction=1.0, shuffle=True, seed=seed) if df.height > 1 else df


@SOME
@given(e=enterprises(), seed=st.integers(0, 2**16))
def test_row_order_changes_nothing(e: Enterprise, seed: int) -> None:
    tables = e.tables()
    permuted = {name: shuffled(df, seed + i) for i, (name, df) in enumerate(tables.items())}
    a = assess((tables, {}), year=YEAR).result
    b = assess((permuted, {}), year=YEAR).result
    assert a.level == b.level
    assert [x.level for x in a.aspects] == [x.level for x in b.aspects]
    for key in METRICS:
        ma, mb = a.metrics[key], b.metrics[key]
        assert (ma.level, ma.status) == (mb.level, mb.status)
        if ma.value is None:
            assert mb.value is None
        else:
            assert mb.value is not None
            assert math.isclose(ma.value, mb.value, rel_tol=1e-12, abs_tol=1e-15)
    assert {c.item for c in a.binding} == {c.item for c in b.binding}
    assert a.score == b.score


@SOME
@given(e=enterprises(), data=st.data())
def test_splitting_a_steps_rows_keeps_the_rolled_yield(e: Enterprise, data: st.DataObject) -> None:
    split: list[dict[str, Any]] = []
    for r in e.inspections:
        s, p = r["submitted"], r["passed_first"]
        if s < 2 or not data.draw(st.booleans()):
            split.append(r)
            continue
        s1 = data.draw(st.integers(1, s - 1))
        p1 = data.draw(st.integers(max(0, p - (s - s1)), min(p, s1)))
        split.append(dict(r, submitted=s1, passed_first=p1))
        split.append(dict(r, submitted=s - s1, passed_first=p - p1, date=dt.date(YEAR, 12, 31)))
    parts = copy(e)
    parts.inspections = split
    a = run(e).metrics.metrics["rolled_yield"]
    b = run(parts).metrics.metrics["rolled_yield"]
    assert a.value == b.value  # the same pooled counts per step: exactly the same yield
    sa = [(s["step"], s["submitted"], s["passed_first"]) for s in a.detail["steps"]]
    sb = [(s["step"], s["submitted"], s["passed_first"]) for s in b.detail["steps"]]
    assert sa == sb
    assert b.detail["rows"] == len(split)
    # and by hand: Π over steps of Σ passed / Σ submitted
    totals: dict[str, list[int]] = {}
    for r in e.inspections:
        t = totals.setdefault(r["step"], [0, 0])
        t[0] += r["submitted"]
        t[1] += r["passed_first"]
    assert a.value is not None
    assert math.isclose(
        a.value, math.prod(p / s for s, p in totals.values()), rel_tol=1e-12, abs_tol=1e-15
    )
