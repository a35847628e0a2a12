"""The characteristics page's pure pieces: Cpk classes and colours, the table rows, the last
signal in words, the filters and the heat map's grid and ECharts option."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhuoyue.web.characteristics import (
    NO_STEP,
    cpk_class,
    cpk_colour,
    filter_rows,
    format_index,
    heatmap_matrix,
    heatmap_option,
    table_rows,
    violation_words,
)

RED, ORANGE, GREEN, DARK, GREY = "#dc2626", "#f97316", "#4ade80", "#15803d", "#d1d5db"

# as characteristics_overview gives them (the demo's C40-01 and C30-03, trimmed)
C40 = {
    "id": 19,
    "code": "C40-01",
    "name": "轴承位外径 Φ25k5",
    "step": "OP40",
    "step_name": "磨削",
    "product": "IS-2201",
    "key": True,
    "n": 1110,
    "cpk": 1.4292683379407778,
    "ppk": 1.3550432599706042,
    "in_control": False,
    "limits_source": "computed",
    "last_violation": {
        "point": 221,
        "ts": "2024-11-25T20:14:00.000000Z",
        "tests": [1],
        "panels": ["xbar"],
        "descriptions": {"zh": ["1: 1 个点落在 3σ 控制限以外"], "en": ["1: 1 point beyond 3σ"]},
    },
    "error": None,
}
C30 = {
    **C40,
    "id": 16,
    "code": "C30-03",
    "name": "有效硬化层深度",
    "step": "OP30",
    "step_name": "热处理",
    "cpk": 1.79,
    "ppk": 1.83,
    "in_control": True,
    "limits_source": "frozen",
    "last_violation": {
        "ts": "2024-04-11T10:42:00.000000Z",
        "tests": [1, 3],
        "descriptions": {
            "zh": ["1: 1 个点落在 3σ 控制限以外", "3: 连续 6 点递增或递减"],
            "en": [
                "1: 1 point beyond 3σ",
                "3: 6 points in a row steadily increasing or decreasing",
            ],
        },
    },
}
EMPTY = {
    **C40,
    "id": 50,
    "code": "C99-01",
    "name": "新特性",
    "step": None,
    "step_name": None,
    "product": None,
    "key": False,
    "n": 0,
    "cpk": None,
    "ppk": None,
    "in_control": None,
    "last_violation": None,
}


@pytest.mark.parametrize(
    ("cpk", "cls", "colour"),
    [
        (-0.5, "lt1", RED),
        (0.0, "lt1", RED),
        (0.999, "lt1", RED),
        (1.0, "lt133", ORANGE),
        (1.329, "lt133", ORANGE),
        (1.33, "lt167", GREEN),
        (1.4292683379407778, "lt167", GREEN),
        (1.669, "lt167", GREEN),
        (1.67, "ge167", DARK),
        (5.0, "ge167", DARK),
        (None, "none", GREY),
        (math.nan, "none", GREY),
        (math.inf, "none", GREY),
    ],
)
def test_cpk_classes_follow_the_model_thresholds(cpk: Any, cls: str, colour: str) -> None:
    assert cpk_class(cpk) == cls
    assert cpk_colour(cpk) == colour


def test_format_index_has_two_decimals_and_a_dash_without_value() -> None:
    assert format_index(1.4292683379407778) == "1.43"
    assert format_index(2.0) == "2.00"
    assert format_index(0.0) == "0.00"
    assert format_index(-0.125) == "-0.12"
    assert format_index(None) == "—"
    assert format_index(math.nan) == "—"


def test_violation_words_name_each_test_in_both_languages() -> None:
    assert violation_words(C40["last_violation"], "zh") == (
        "2024-11-25 20:14 UTC · 检验1：1 个点落在 3σ 控制限以外"
    )
    assert violation_words(C40["last_violation"], "en") == (
        "2024-11-25 20:14 UTC · test 1: 1 point beyond 3σ"
    )
    assert violation_words(C30["last_violation"], "zh") == (
        "2024-04-11 10:42 UTC · 检验1：1 个点落在 3σ 控制限以外；检验3：连续 6 点递增或递减"
    )
    assert violation_words(None, "zh") == "无"
    assert violation_words(None, "en") == "none"
    # tests without descriptions are still named
    assert violation_words({"ts": None, "tests": [2]}, "en") == "test 2"


def test_filter_rows_by_step_product_and_key() -> None:
    rows = [C30, C40, EMPTY]
    assert [r["code"] for r in filter_rows(rows)] == ["C30-03", "C40-01", "C99-01"]
    assert [r["code"] for r in filter_rows(rows, step="OP40")] == ["C40-01"]
    assert [r["code"] for r in filter_rows(rows, product="IS-2201")] == ["C30-03", "C40-01"]
    assert [r["code"] for r in filter_rows(rows, key_only=True)] == ["C30-03", "C40-01"]
    assert filter_rows(rows, step="OP40", product="HU-3105") == []
    assert filter_rows(rows, step="OP10", key_only=True) == []


def test_table_rows_format_the_overview() -> None:
    out = table_rows([C40, C30, EMPTY], "zh")
    c40, c30, empty = out
    assert c40["id"] == 19 and c40["code"] == "C40-01"
    assert c40["step"] == "OP40 磨削" and c40["key"] == "★" and c40["n"] == 1110
    assert (c40["cpk"], c40["ppk"]) == ("1.43", "1.36")
    assert c40["cpk_value"] == pytest.approx(1.4292683379407778)
    assert c40["cpk_colour"] == GREEN
    assert (c40["status"], c40["status_text"]) == ("out", "失控")
    assert c40["limits"] == "按数据计算"
    assert c40["last"].endswith("检验1：1 个点落在 3σ 控制限以外")
    assert (c30["status"], c30["status_text"], c30["limits"]) == ("in", "受控", "已冻结")
    assert c30["cpk_colour"] == DARK
    assert empty["status"] == "nodata" and empty["status_text"] == "无数据"
    assert (empty["cpk"], empty["cpk_value"], empty["key"]) == ("—", None, "")
    assert empty["last"] == "无数据" and empty["step"] == ""
    en = table_rows([C40, EMPTY], "en")
    assert en[0]["status_text"] == "out of control" and en[0]["limits"] == "computed"
    assert en[1]["status_text"] == "no data"


def _row(i: int, step: str | None, cpk: float | None) -> dict[str, Any]:
    return {
        "id": i,
        "code": f"C{i:02d}",
        "name": f"n{i}",
        "step": step,
        "step_name": None if step is None else f"name-{step}",
        "cpk": cpk,
    }


def test_heatmap_matrix_rows_are_steps_in_sequence() -> None:
    rows = [
        _row(1, "OP20", 1.2),
        _row(2, "OP10", 0.8),
        _row(3, None, None),
        _row(4, "OP20", 1.7),
        _row(5, "OP99", 1.5),
        _row(6, "OP20", None),
    ]
    heat = heatmap_matrix(rows, ["OP10", "OP15", "OP20"])
    # the master data's order first (OP15 has no characteristic here), then unknown steps,
    # characteristics without a step last
    assert heat.steps == ["OP10", "OP20", "OP99", NO_STEP]
    assert heat.labels == ["OP10 name-OP10", "OP20 name-OP20", "OP99 name-OP99", ""]
    assert heat.width == 3
    cells = {c["id"]: (c["x"], c["y"], c["cls"]) for c in heat.cells}
    assert cells == {
        2: (0, 0, "lt1"),
        1: (0, 1, "lt133"),
        4: (1, 1, "ge167"),
        6: (2, 1, "none"),
        5: (0, 2, "lt167"),
        3: (0, 3, "none"),
    }
    # without an order: the order of appearance
    assert heatmap_matrix(rows).steps == ["OP20", "OP10", "OP99", NO_STEP]
    empty = heatmap_matrix([])
    assert (empty.steps, empty.width, empty.cells) == ([], 0, [])


def test_heatmap_option_colours_cells_and_opens_ids() -> None:
    heat = heatmap_matrix([_row(1, "OP10", 0.8), _row(2, "OP10", None), _row(3, None, 1.4)])
    option = heatmap_option(heat, "en")
    assert option["yAxis"]["data"] == ["OP10 name-OP10", "(no step)"]
    assert option["yAxis"]["inverse"] is True
    assert option["xAxis"]["data"] == ["1", "2"]
    data = option["series"][0]["data"]
    assert [d["id"] for d in data] == [1, 2, 3]
    # the third value is the class: 0 below 1.0 ... 3 from 1.67, -1 without a Cpk
    assert [d["value"] for d in data] == [[0, 0, 0], [1, 0, -1], [0, 1, 2]]
    assert [d["cpk"] for d in data] == [0.8, None, 1.4]
    assert [d["itemStyle"]["color"] for d in data] == [RED, GREY, GREEN]
    assert data[0]["tip"] == "C01 n1<br/>Cpk 0.80"
    assert data[1]["tip"] == "C02 n2<br/>Cpk —"
    assert option["tooltip"][":formatter"] == "(p) => p.data.tip"


def _piece_colour(pieces: list[dict[str, Any]], v: float) -> list[str]:
    return [p["color"] for p in pieces if p["value"] == v]


@given(st.one_of(st.none(), st.floats(min_value=-1e6, max_value=1e6)))
def test_the_visual_map_agrees_with_the_cell_colours(cpk: float | None) -> None:
    heat = heatmap_matrix([_row(1, "OP10", cpk)])
    option = heatmap_option(heat, "zh")
    cell = option["series"][0]["data"][0]
    value = cell["value"][2]
    # exactly one piece holds the drawn value, and it has the cell's own colour
    assert _piece_colour(option["visualMap"]["pieces"], value) == [cell["itemStyle"]["color"]]
    assert cell["itemStyle"]["color"] == cpk_colour(cpk)
