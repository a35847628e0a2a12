"""The pure parts of the characteristic page: query, paging, CSV, violations in words and the
ECharts options (control chart with down-sampling and step limits, sixpack)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhuoyue import stats
from zhuoyue.errors import ParameterError
from zhuoyue.stats.results import jsonable
from zhuoyue.stats.rules import resolve_rules
from zhuoyue.web.characteristic import (
    CSV_COLUMNS,
    Query,
    chart_option,
    downsample_note,
    histogram_option,
    index_rows,
    last_option,
    measurements_csv,
    newest_first_window,
    parse_day,
    pattern_points,
    pattern_width,
    probability_option,
    tooltip_words,
    violation_rows,
    violation_tests,
)


# ------------------------------------------------------------------------------ helpers
def _chart(result: stats.ChartResult) -> dict[str, Any]:
    """A chart dict as characteristic_chart returns it (the stats JSON plus point times)."""
    out = result.to_dict()
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    out["points"] = {
        "ts": [
            (t0 + timedelta(hours=i)).isoformat().replace("+00:00", "Z")
            for i in range(result.n_points)
        ]
    }
    return out


def _series(option: dict[str, Any], name: str, grid: int = 0) -> list[list[Any]]:
    for s in option["series"]:
        if s["name"] == name and s["xAxisIndex"] == grid:
            return json.loads(s[":data"])  # the data travel as one JavaScript literal
    raise AssertionError(f"no series {name!r} on grid {grid}")


def _signals(option: dict[str, Any], grid: int = 0) -> list[list[Any]]:
    for s in option["series"]:
        if s["type"] == "scatter" and s["xAxisIndex"] == grid:
            return json.loads(s[":data"])
    raise AssertionError("no signal series")


# ------------------------------------------------------------------------------ query, paging
def test_query_url_and_bounds() -> None:
    q = Query(date(2024, 3, 1), date(2024, 3, 31), "imr", "we", "II")
    assert (
        q.url("19")
        == "/characteristics/19?start=2024-03-01&end=2024-03-31&chart=imr&rules=we&phase=II"
    )
    assert q.start_ts == datetime(2024, 3, 1, tzinfo=UTC)
    assert q.end_ts == datetime(2024, 4, 1, tzinfo=UTC)  # the end date is included
    assert Query().url("C40-01") == "/characteristics/C40-01"
    assert Query().start_ts is None and Query().end_ts is None


def test_parse_day() -> None:
    assert parse_day(" 2024-02-29 ") == date(2024, 2, 29)
    assert parse_day("") is None and parse_day(None) is None
    for bad in ("2024-02-30", "29.02.2024", "yesterday", "1800-01-01"):
        with pytest.raises(ParameterError):
            parse_day(bad)


@given(st.integers(0, 500), st.integers(1, 60), st.integers(-3, 40))
def test_newest_first_pages_cover_every_row_once(total: int, size: int, page: int) -> None:
    pages = max(1, -(-total // size))
    seen: list[int] = []
    for k in range(1, pages + 1):
        offset, limit = newest_first_window(total, k, size)
        assert 0 <= limit <= size
        seen.extend(reversed(range(offset, offset + limit)))  # shown newest first
    assert seen == list(reversed(range(total)))  # every row once, newest first
    offset, limit = newest_first_window(total, page, size)  # out-of-range pages are clamped
    assert offset >= 0 and offset + limit <= total


# ------------------------------------------------------------------------------ CSV
def test_measurements_csv_reads_back() -> None:
    rows = [
        {
            "ts": datetime(2024, 3, 1, 8, 0, 1, 250000),
            "subgroup": 7,
            "value": 25.0065,
            "lot": "L-1",
            "serial": None,
            "machine": "OP40-01",
            "operator": "王芳",
        },
        {"ts": datetime(2024, 3, 1, 9, tzinfo=UTC), "subgroup": None, "value": 0.1 + 0.2},
    ]
    data = measurements_csv("C40-01", rows)
    assert data.startswith("\ufeff".encode())  # Excel reads the Chinese
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert tuple(table[0]) == CSV_COLUMNS
    assert len(table) == 3
    assert table[1] == [
        "C40-01",
        "2024-03-01T08:00:01.250000Z",
        "7",
        "25.0065",
        "L-1",
        "",
        "OP40-01",
        "王芳",
    ]
    assert float(table[2][3]) == 0.1 + 0.2  # values round-trip exactly
    assert table[2][1] == "2024-03-01T09:00:00Z" and table[2][2] == ""


def test_measurements_csv_imports_back(tmp_path: Any) -> None:
    from zhuoyue.services.measurements import _read_csv

    rows = [{"ts": datetime(2024, 1, 1, h), "subgroup": 1, "value": float(h)} for h in range(5)]
    table, lines, problems = _read_csv(measurements_csv("C40-01", rows), "x.csv")
    assert not problems and lines == [2, 3, 4, 5, 6]
    assert set(CSV_COLUMNS) <= set(table.columns)


# ------------------------------------------------------------------------------ violations
GB = resolve_rules("gb4091").to_dict()
WE = resolve_rules("we").to_dict()


def test_pattern_widths_follow_the_rule_definitions() -> None:
    assert [pattern_width(GB, t) for t in range(1, 9)] == [1, 9, 6, 14, 3, 5, 15, 8]
    assert [pattern_width(WE, t) for t in range(1, 5)] == [1, 3, 5, 8]
    seven = resolve_rules("gb4091", k={2: 7}).to_dict()
    assert pattern_width(seven, 2) == 7
    assert pattern_points(GB, 2, 20) == (12, 20)
    assert pattern_points(GB, 2, 3) == (0, 3)  # cut at the start of the series
    assert pattern_points(GB, 1, 5) == (5, 5)


def test_tooltip_words_are_the_rule_titles() -> None:
    zh = tooltip_words(GB, "zh")
    en = tooltip_words(WE, "en")
    assert zh["desc"]["2"] == "连续 9 点落在中心线同一侧"
    assert zh["width"]["5"] == 3 and zh["test"] == "检验"
    assert en["desc"]["1"] == "1 point beyond 3σ"
    assert set(en["desc"]) == {"1", "2", "3", "4"}


def test_violation_tests_groups_tests_per_point() -> None:
    points, tests = violation_tests(
        [
            {"index": 9, "rule": 6},
            {"index": 3, "rule": 2},
            {"index": 9, "rule": 2},
            {"index": 9, "rule": 2},
        ]
    )
    assert points.tolist() == [3, 9]
    assert tests == ["2", "2,6"]
    empty, none = violation_tests([])
    assert empty.size == 0 and none == []


def _shifted(n: int = 60, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(10.0, 1.0, n)
    x[n // 2 :] += 2.5  # a shift: tests 2, 5 and 6
    x[7] = 25.0  # beyond 3σ: test 1
    return x


def test_violation_rows_explain_every_test_that_fires() -> None:
    res = stats.imr(_shifted())
    chart = _chart(res)
    rows = violation_rows(chart, "zh")
    fired = {(p, int(t)) for p, panel in res.panels.items() for t in set(panel.violations.rule)}
    assert len(rows) == len(fired)
    one = next(r for r in rows if r["test"] == 1 and r["panel"] == "单值 I")
    assert one["description"] == "1 个点落在 3σ 控制限以外"
    assert one["pattern"] == str(one["last"].split()[1])  # test 1: the point itself
    for r in rows:
        panel = "i" if r["panel"] == "单值 I" else "mr"
        assert r["count"] == res.panels[panel].violations.for_rule(r["test"]).size


# ------------------------------------------------------------------------------ chart option
def test_chart_option_of_a_short_chart_draws_every_point() -> None:
    res = stats.xbar_r(_shifted(100), 5)
    chart = _chart(res)
    option, shown = chart_option(chart, "en")
    assert len(option["grid"]) == 2 and shown == res.n_points == 20
    line = _series(option, "Subgroup mean Xbar")
    assert [p[0] for p in line] == list(range(1, 21))  # point numbers
    np.testing.assert_allclose([p[1] for p in line], res["xbar"].statistic, rtol=1e-8)
    assert line[0][3].startswith("2024-01-01 00:00:00")  # the time for the tooltip
    signals = _signals(option)
    expected = res["xbar"].violations.points() + 1
    assert [s[0] for s in signals] == expected.tolist()
    assert all(s[2] for s in signals)  # each with its tests
    ucl = _series(option, "UCL")
    assert ucl == [[1.0, pytest.approx(res["xbar"].ucl)], [20.0, pytest.approx(res["xbar"].ucl)]]
    assert ":formatter" in option["tooltip"]


def test_chart_option_zone_lines_are_one_and_two_sigma() -> None:
    res = stats.imr(_shifted())
    option, _ = chart_option(_chart(res), "en")
    panel = res["i"]
    sigma = (panel.ucl - panel.center) / 3
    for k in (1, 2, -1, -2):
        zone = _series(option, f"{k:+g}σ")
        assert zone[0][1] == pytest.approx(panel.center + k * sigma)
    # on the MR chart the LCL is 0: zone lines below it are not drawn
    on_mr = {s["name"] for s in option["series"] if s["xAxisIndex"] == 1}
    assert "+2σ" in on_mr and "-2σ" not in on_mr


def test_chart_option_limits_varying_with_subgroup_size_are_steps() -> None:
    rng = np.random.default_rng(5)
    sizes = np.array([5] * 10 + [3] * 10 + [5] * 10)
    labels = np.repeat(np.arange(30), sizes)
    res = stats.xbar_r(rng.normal(0, 1, labels.size), labels)
    assert isinstance(res["xbar"].ucl, np.ndarray)
    option, _ = chart_option(_chart(res), "en")
    ucl = _series(option, "UCL")
    xs = [x for x, _ in ucl]
    assert {10.0, 11.0, 20.0, 21.0} <= set(xs)  # both sides of each change
    got = dict((int(x), y) for x, y in ucl)
    for x, y in got.items():
        assert y == pytest.approx(res["xbar"].ucl[x - 1])
    assert next(s for s in option["series"] if s["name"] == "UCL")["step"] == "middle"


def test_chart_option_of_a_long_chart_is_downsampled_and_keeps_every_signal() -> None:
    rng = np.random.default_rng(9)
    x = rng.normal(0, 1, 100_000)
    x[80_000:] += 1.5  # a shift: thousands of signals
    x[rng.choice(100_000, 20, replace=False)] += 8
    res = stats.imr(x)
    chart = _chart(res)
    option, shown = chart_option(chart, "zh", max_points=2000)
    line = _series(option, "单值 I")
    assert len(line) <= 2000
    signals = _signals(option)
    assert [s[0] - 1 for s in signals] == res["i"].violations.points().tolist()
    assert (
        shown == np.union1d(np.array([p[0] - 1 for p in line]), res["i"].violations.points()).size
    )
    assert shown < 100_000
    assert max(p[1] for p in line) == pytest.approx(float(np.max(res["i"].statistic)))
    assert len(json.dumps(option)) < 2_000_000  # what goes to the browser stays small
    assert downsample_note(shown, 100_000, "zh").endswith("所有判异点均保留")


def test_downsample_note() -> None:
    assert downsample_note(2000, 100_000, "zh") == "显示 2 000 / 100 000 点，所有判异点均保留"
    assert downsample_note(2000, 100_000, "en").startswith("Showing 2,000 of 100,000 points")
    assert downsample_note(50, 50, "zh") == "显示全部 50 点"


# ------------------------------------------------------------------------------ sixpack
def _cap(subgroups: bool = True) -> dict[str, Any]:
    rng = np.random.default_rng(2)
    x = rng.normal(10.0, 0.1, 250)
    res = stats.capability(x, 5 if subgroups else None, 9.6, 10.4, 10.0)
    out = res.to_dict()
    six = res.sixpack()
    out["sixpack"] = {k: jsonable(six[k]) for k in ("last", "histogram", "probability_plot")}
    return out


def test_histogram_option_counts_curves_and_specs() -> None:
    cap = _cap()
    option = histogram_option(cap, "zh")
    bars = option["series"][0]["data"]
    assert sum(c for _, c in bars[:-1]) == 250  # the step outline repeats the last bin
    marks = {m["name"]: m["xAxis"] for m in option["series"][0]["markLine"]["data"]}
    assert marks == {"LSL": 9.6, "USL": 10.4, "目标值": 10.0}
    assert option["xAxis"]["min"] <= 9.6 and option["xAxis"]["max"] >= 10.4
    within = option["series"][1]["data"]
    peak = max(y for _, y in within)
    h = cap["sixpack"]["histogram"]
    assert peak == pytest.approx(max(h["density_within"]) * h["scale"], rel=1e-6)


def test_probability_and_last_options() -> None:
    cap = _cap()
    prob = probability_option(cap, "en")
    assert len(prob["series"][0]["data"]) == 250
    last = last_option(cap, "en")
    assert last["xAxis"]["data"] == cap["sixpack"]["last"]["labels"]
    assert len(last["series"][0]["data"]) == 25 * 5
    assert len(last["series"][1]["data"]) == 25  # the subgroup means
    single = last_option(_cap(subgroups=False), "en")
    assert len(single["series"]) == 1 and len(single["series"][0]["data"]) == 25


def test_index_rows() -> None:
    cap = _cap()
    rows = {r["index"]: r for r in index_rows(cap)}
    assert {"Cp", "Cpk", "Pp", "Ppk", "Cpm"} <= set(rows)
    assert rows["Cpk"]["value"] == f"{cap['cpk']:.3f}"
    lo, hi = cap["intervals"]["cpk"]
    assert rows["Cpk"]["ci"] == f"{lo:.3f} – {hi:.3f}"
    cap["cpm"] = None
    assert "Cpm" not in {r["index"] for r in index_rows(cap)}
