"""The KPIs page's pure pieces: percentages ("not tracked" is never zero), thresholds, the cost
Pareto and its chart, the yield table and the year selector."""

from __future__ import annotations

import itertools
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhuoyue.web.kpis import (
    CATEGORY_NAMES_EN,
    ParetoRow,
    fmt_money,
    fmt_pct,
    metric_text,
    pareto,
    pareto_option,
    step_yield_option,
    threshold_text,
    year_choices,
    yield_table,
)

LOSS_THRESHOLDS = [
    {"level": 2, "op": "tracked", "value": None},
    {"level": 3, "op": "<", "value": 0.03},
    {"level": 4, "op": "<", "value": 0.015},
    {"level": 5, "op": "<", "value": 0.0075},
]


def test_percentages_tell_zero_from_no_value() -> None:
    assert fmt_pct(0.9770970736137528) == "97.71 %"
    assert fmt_pct(0.0) == "0.00 %"
    assert fmt_pct(None) == "—"
    assert fmt_pct(math.nan) == "—"
    assert fmt_pct(0.0108058, digits=3) == "1.081 %"
    assert fmt_money(1775539.02) == "¥1,775,539"
    assert fmt_money(None) == "—"


def test_metric_text_says_not_tracked_rather_than_zero() -> None:
    tracked_zero = {"status": "ok", "value": 0.0, "unit": "%"}
    not_tracked = {"status": "not_tracked", "value": None, "unit": "%"}
    not_computed = {"status": "not_computed", "value": None, "unit": "%"}
    assert metric_text(tracked_zero, "zh") == "0.00 %"
    assert metric_text(not_tracked, "zh") == "未统计"
    assert metric_text(not_tracked, "en") == "not tracked"
    assert metric_text(not_computed, "en") == "not computed"
    assert metric_text({"status": "ok", "value": 0.0108058, "unit": "%"}, "en") == "1.08 %"
    assert metric_text({"status": "ok", "value": 4.25, "unit": "σ"}, "en") == "4.25σ"


def test_threshold_text() -> None:
    assert threshold_text(LOSS_THRESHOLDS, "%", "zh") == (
        "L2 有统计 · L3 < 3.00 % · L4 < 1.50 % · L5 < 0.75 %"
    )
    assert threshold_text(LOSS_THRESHOLDS[:2], "%", "en") == "L2 tracked · L3 < 3.00 %"
    rty = [{"level": 2, "op": ">=", "value": 0.9}, {"level": 5, "op": ">=", "value": 0.98}]
    assert threshold_text(rty, "%", "en") == "L2 ≥ 90.00 % · L5 ≥ 98.00 %"
    assert threshold_text([{"level": 3, "op": ">=", "value": 4.0}], "σ", "en") == "L3 ≥ 4σ"


def test_pareto_of_known_amounts() -> None:
    rows = pareto([("a", 10.0), ("b", 60.0), ("c", 30.0), ("zero", 0.0), ("credit", -5.0)])
    assert [r.key for r in rows] == ["b", "c", "a"]
    assert [r.amount for r in rows] == [60.0, 30.0, 10.0]
    assert [r.share for r in rows] == pytest.approx([0.6, 0.3, 0.1])
    assert [r.cumulative for r in rows] == pytest.approx([0.6, 0.9, 1.0])
    assert rows[-1].cumulative == 1.0
    # ties by key; nothing positive: nothing to show
    assert [r.key for r in pareto([("y", 5.0), ("x", 5.0)])] == ["x", "y"]
    assert pareto([]) == [] and pareto([("a", 0.0)]) == []


@given(
    st.lists(
        st.tuples(
            st.text(min_size=1, max_size=5),
            st.floats(min_value=0.0, max_value=1e12, allow_nan=False),
        ),
        max_size=30,
    )
)
def test_pareto_properties(items: list[tuple[str, float]]) -> None:
    rows = pareto(items)
    positive = [a for _, a in items if a > 0]
    assert len(rows) == len(positive)
    if not rows:
        return
    amounts = [r.amount for r in rows]
    assert amounts == sorted(amounts, reverse=True)  # largest first
    cum = [r.cumulative for r in rows]
    assert all(b >= a for a, b in itertools.pairwise(cum))  # never decreasing
    assert cum[-1] == 1.0  # ends at 100 %
    assert all(0.0 < c <= 1.0 for c in cum)
    assert math.fsum(r.share for r in rows) == pytest.approx(1.0)
    total = math.fsum(positive)
    for r in rows:
        assert r.share == pytest.approx(r.amount / total)


def test_pareto_option_bars_in_ten_thousands_and_cumulative_line() -> None:
    rows = [
        ParetoRow("internal.scrap", 1775539.02, 0.5, 0.5),
        ParetoRow("appraisal", 1000000.0, 0.3, 0.8),
        ParetoRow("external.claim", 697459.33, 0.2, 1.0),
    ]
    option = pareto_option(rows, "en")
    assert option["xAxis"]["data"] == ["Scrap", "Appraisal", "Claims"]
    bars, line = option["series"]
    assert [b["value"] for b in bars["data"]] == [177.55, 100.0, 69.75]
    # bars coloured by bucket: internal failure, appraisal, external failure
    assert [b["itemStyle"]["color"] for b in bars["data"]] == ["#ea580c", "#0891b2", "#dc2626"]
    assert line["data"] == [50.0, 80.0, 100.0] and line["yAxisIndex"] == 1
    assert option["yAxis"][1]["max"] == 100
    zh = pareto_option(rows, "zh")
    assert zh["xAxis"]["data"] == ["报废损失费", "鉴定成本", "索赔费"]
    assert set(CATEGORY_NAMES_EN) == {
        "prevention", "appraisal", "internal.scrap", "internal.rework", "internal.downgrade",
        "internal.downtime", "internal.incident", "external.claim", "external.return",
        "external.discount", "external.warranty",
    }  # fmt: skip


ROLLED: dict[str, Any] = {
    "value": 0.9 * 0.8,
    "by_month": [
        {"month": "2024-01", "rolled_yield": 0.9 * 0.75},
        {"month": "2024-02", "rolled_yield": None},
    ],
    "by_step": [
        {
            "step": "OP10",
            "name": "下料",
            "submitted": 1000,
            "passed_first": 900,
            "fpy": 0.9,
            "by_month": [0.9, None],
        },
        {
            "step": "OP20",
            "name": "车削",
            "submitted": 2000,
            "passed_first": 1600,
            "fpy": 0.8,
            "by_month": [0.75, None],
        },
    ],
}


def test_yield_table_has_a_row_per_step_and_the_rolled_yield() -> None:
    columns, rows = yield_table(ROLLED, "zh")
    assert [c["name"] for c in columns] == [
        "step", "submitted", "passed", "year", "2024-01", "2024-02",
    ]  # fmt: skip
    assert [c["label"] for c in columns[4:]] == ["01", "02"]
    op10, op20, rty = rows
    assert op10 == {
        "id": "OP10",
        "step": "OP10 下料",
        "submitted": "1,000",
        "passed": "900",
        "year": "90.00 %",
        "2024-01": "90.00 %",
        "2024-02": "—",  # no inspections that month: not a zero
    }
    assert op20["year"] == "80.00 %" and op20["2024-01"] == "75.00 %"
    assert rty["step"] == "RTY（各工序乘积）"
    assert rty["year"] == "72.00 %" and rty["2024-01"] == "67.50 %" and rty["2024-02"] == "—"
    empty_columns, empty_rows = yield_table({"by_month": [], "by_step": []}, "en")
    assert [c["label"] for c in empty_columns] == [
        "Step",
        "Submitted",
        "Passed first",
        "FPY (year)",
    ]
    assert empty_rows == []  # no step: no rolled-yield row either


def test_step_yield_axis_spans_the_data() -> None:
    option = step_yield_option(ROLLED["by_step"], "en")
    assert option["series"][0]["data"] == [90.0, 80.0]
    assert option["xAxis"]["data"] == ["OP10 下料", "OP20 车削"]
    # the lowest yield 80 % sits above the axis floor: 80 - (100 - 80) / 2 = 70
    assert option["yAxis"]["min"] == pytest.approx(70.0)
    assert option["yAxis"]["max"] == 100
    near = step_yield_option([{"step": "S", "fpy": 0.9941}], "en")
    assert near["yAxis"]["min"] == pytest.approx(99.1)
    assert step_yield_option([{"step": "S", "fpy": None}], "en")["yAxis"]["min"] == 0.0


def test_year_choices() -> None:
    assert year_choices(2024) == [2024, 2023, 2022, 2021, 2020, 2019]
    assert year_choices(2024, span=2) == [2024, 2023]
    assert year_choices(1001, span=4) == [1001, 1000]
