"""The overview's pure pieces: value formatting and the monthly trend chart's option."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhuoyue.web.overview import format_value, trend_option

MONTHS = [f"2024-{m:02d}" for m in range(1, 13)]
CPK = {
    "name_zh": "过程能力指数 Cpk",
    "name_en": "Cpk",
    "unit": "",
    "thresholds": [
        {"level": 2, "op": ">=", "value": 1.0},
        {"level": 3, "op": ">=", "value": 1.33},
        {"level": 4, "op": ">=", "value": 1.67},
        {"level": 5, "op": ">=", "value": 2.0},
    ],
}
LOSS = {
    "name_zh": "内部质量损失率",
    "name_en": "Internal loss rate",
    "unit": "%",
    "thresholds": [
        {"level": 2, "op": "tracked", "value": None},
        {"level": 3, "op": "<", "value": 0.03},
        {"level": 4, "op": "<", "value": 0.015},
        {"level": 5, "op": "<", "value": 0.0075},
    ],
}


def _lines(option: dict[str, Any]) -> dict[str, float]:
    return {d["name"]: d["yAxis"] for d in option["series"][0]["markLine"]["data"]}


def test_format_value() -> None:
    assert format_value(None, "%") == "—"
    assert format_value(0.9771, "%") == "97.71 %"
    assert format_value(1.4012655, "") == "1.401"
    assert format_value(5.16, "σ") == "5.16σ"


def test_cpk_trend_shows_the_thresholds_next_to_the_data() -> None:
    values = [1.37, 1.38, 1.44, 1.34, 1.43, 1.42, 1.30, 1.50, 1.35, 1.37, 1.37, 1.40]
    option = trend_option(CPK, MONTHS, values, "zh")
    assert option["xAxis"]["data"] == [f"{m:02d}" for m in range(1, 13)]
    assert option["series"][0]["data"] == values
    # data 1.30..1.50: the nearest thresholds are L3 1.33 (inside), L2 1.0 below and L4 1.67 above
    assert _lines(option) == {"L2": 1.0, "L3": 1.33, "L4": 1.67}
    span = 1.67 - 1.0
    assert option["yAxis"]["min"] == pytest.approx(1.0 - 0.08 * span)
    assert option["yAxis"]["max"] == pytest.approx(1.67 + 0.08 * span)
    assert option["series"][0]["name"] == "过程能力指数 Cpk"


def test_rates_are_drawn_in_percent_and_untracked_thresholds_skipped() -> None:
    values: list[float | None] = [0.0107, 0.0103, None, 0.0091] + [None] * 8
    option = trend_option(LOSS, MONTHS, values, "en")
    assert option["series"][0]["data"][:4] == [1.07, 1.03, None, 0.91]
    assert option["yAxis"]["name"] == "%"
    assert _lines(option) == {"L4": 1.5, "L5": 0.75}  # 0.91..1.07 % lies between L5 and L4
    assert option["series"][0]["name"] == "Internal loss rate"


@given(
    st.lists(st.one_of(st.none(), st.floats(0.2, 3.0, allow_nan=False)), min_size=12, max_size=12)
)
def test_every_value_and_shown_threshold_lies_within_the_axis(values: list[float | None]) -> None:
    option = trend_option(CPK, MONTHS, values, "zh")
    lo, hi = option["yAxis"]["min"], option["yAxis"]["max"]
    assert lo < hi
    for v in option["series"][0]["data"]:
        assert v is None or lo <= v <= hi
    for y in _lines(option).values():
        assert lo <= y <= hi
    # the thresholds on either side of the data are always shown
    finite = [v for v in values if v is not None]
    if finite:
        below = [t["value"] for t in CPK["thresholds"] if t["value"] < min(finite)]
        above = [t["value"] for t in CPK["thresholds"] if t["value"] > max(finite)]
        shown = set(_lines(option).values())
        if below:
            assert max(below) in shown
        if above:
            assert min(above) in shown
