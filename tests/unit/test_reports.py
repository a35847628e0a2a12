"""SVG control-chart panels and the HTML chart report (zhuoyue.reports)."""

from __future__ import annotations

import csv
import dataclasses
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from zhuoyue import stats
from zhuoyue.errors import OutputError, ParameterError
from zhuoyue.reports import ReportSection, panel_svg, render_chart_report, write_report
from zhuoyue.reports.html import MAX_VIOLATION_ROWS
from zhuoyue.stats import ChartResult

SPC = Path("/work/shared/reference/spc")
NS = "{http://www.w3.org/2000/svg}"
RED = "#d62728"
LIMIT = "#c62828"


def _read(case: str, value: str, group: str) -> tuple[npt.NDArray[np.float64], list[str]]:
    with open(SPC / case / "data.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return np.array([float(r[value]) for r in rows]), [r[group] for r in rows]


@pytest.fixture(scope="module")
def pistonrings() -> ChartResult:
    """Montgomery's piston rings, 40 samples of 5, phase I = 1-25 (shared/reference/spc)."""
    values, samples = _read("xbar_r_pistonrings", "diameter", "sample")
    return stats.xbar_r(values, np.array([int(s) for s in samples]), phase1=25)


@pytest.fixture(scope="module")
def big_series() -> npt.NDArray[np.float64]:
    """10^5 standard normal values with planted violations at known points."""
    x = np.random.default_rng(20240304).normal(0.0, 1.0, 100_000)
    x[PLANTED] = [7.0, -6.5, 8.0, 6.2, -7.5]
    return x


PLANTED = [123, 31_337, 50_000, 77_777, 99_998]


def _svg(text: str) -> ET.Element:
    root = ET.fromstring(text)
    assert root.tag == f"{NS}svg"
    return root


def _markers(root: ET.Element) -> list[tuple[ET.Element, str]]:
    """Red violation markers and their tooltip text."""
    out = []
    for g in root.iter(f"{NS}g"):
        if g.get("class") == "violations":
            assert g.get("fill") == RED
            for c in g.iter(f"{NS}circle"):
                title = c.find(f"{NS}title")
                assert title is not None and title.text
                out.append((c, title.text))
    return out


def _named_points(text: str) -> set[int]:
    """1-based points named in a tooltip ("第 38 点", "第 37–39 点", "Point 38", "Points 1–3")."""
    found: set[int] = set()
    for a, b in re.findall(r"(?:第|Points?) (\d+)(?:–(\d+))?", text):
        found.update(range(int(a), int(b or a) + 1))
    return found


def _limit_paths(root: ET.Element) -> list[str]:
    return [
        p.get("d", "")
        for p in root.iter(f"{NS}path")
        if p.get("stroke") == LIMIT and p.get("stroke-dasharray")
    ]


def _ys(d: str) -> set[str]:
    return set(re.findall(r"[ML][\d.]+ ([\d.]+)", d))


# --------------------------------------------------------------------------- SVG


def test_every_panel_of_every_chart_is_well_formed_svg(pistonrings: ChartResult) -> None:
    values, samples = _read("xbar_r_pistonrings", "diameter", "sample")
    sub = np.array([int(s) for s in samples])
    results = [
        pistonrings,
        stats.xbar_s(values, sub, phase1=25),
        stats.imr(values[:60], phase1=30),
        stats.p_chart([3, 5, 2, 4, 12, 3], [50, 60, 50, 55, 50, 52]),
        stats.u_chart([14, 12, 20, 11, 9], [10, 8, 13, 9.5, 7.2]),
        stats.c_chart([21, 24, 16, 12, 15, 5, 28]),
        stats.ewma(values, sub, phase1=25),
        stats.cusum(values, sub, phase1=25),
    ]
    for res in results:
        for name in res.panels:
            for lang in ("zh", "en"):
                text = panel_svg(res, name, lang=lang)
                root = _svg(text)
                assert root.get("viewBox") == "0 0 900 260"
                assert "<script" not in text and "href" not in text
                assert "http" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_pistonring_violations_are_red_markers_with_tooltips(pistonrings: ChartResult) -> None:
    panel = pistonrings["xbar"]
    # the reference case: phase II samples 37, 38, 39 are beyond the limits (1-based)
    assert (panel.violations.for_rule(1) + 1).tolist() == [37, 38, 39]
    markers = _markers(_svg(panel_svg(pistonrings, "xbar")))
    expected = set((panel.violations.points() + 1).tolist())
    assert len(markers) == len(expected)
    named = set().union(*(_named_points(t) for _, t in markers))
    assert named == expected
    for _, text in markers:
        for point in _named_points(text):
            fired = panel.violations.rule[panel.violations.index == point - 1].tolist()
            for test in fired:
                assert f"检验 {test}：" in text
                assert f"Test {test}: " in text
            if 1 in fired:
                assert "1 个点落在 3σ 控制限以外" in text
                assert "1 point beyond 3σ" in text


def test_tooltip_names_point_value_and_every_test(pistonrings: ChartResult) -> None:
    markers = _markers(_svg(panel_svg(pistonrings, "xbar", lang="en")))
    (text,) = [t for _, t in markers if t.startswith("Point 38,")]
    assert "74.01960" in text  # the subgroup mean, at the panel's decimals
    lines = text.splitlines()
    assert lines[0] == "Point 38, Subgroup mean Xbar = 74.01960: tests 1, 5, 6"
    assert [ln.split(":")[0] for ln in lines[1:]] == ["Test 1", "Test 5", "Test 6"]
    assert lines[1] == "Test 1: 1 point beyond 3σ / 检验 1：1 个点落在 3σ 控制限以外"


def test_phase_separator_and_labels(pistonrings: ChartResult) -> None:
    text = panel_svg(pistonrings, "xbar")
    assert "第一阶段 Phase I" in text and "第二阶段 Phase II" in text
    root = _svg(text)
    dashed = [p for p in root.iter(f"{NS}path") if p.get("stroke-dasharray") == "5 4"]
    assert len(dashed) == 1
    x = float(re.match(r"M([\d.]+) ", dashed[0].get("d", "")).group(1))  # type: ignore[union-attr]
    # plot area 64 .. 796 px, 40 points: the boundary after point 25
    assert x == pytest.approx(64 + 25 * (900 - 64 - 104) / 40, abs=0.1)
    assert "Phase I 第一阶段" in panel_svg(pistonrings, "xbar", lang="en")


def test_no_separator_without_phase_ii() -> None:
    values, samples = _read("xbar_r_pistonrings", "diameter", "sample")
    sub = np.array([int(s) for s in samples])
    all_phase1 = stats.xbar_r(values, sub)
    given = stats.xbar_r(values, sub, center=74.0, sigma=0.01)
    for res in (all_phase1, given):
        assert "第二阶段" not in panel_svg(res, "xbar")


def test_excluded_phase1_points_are_hollow() -> None:
    values, samples = _read("xbar_r_pistonrings", "diameter", "sample")
    res = stats.xbar_r(values, np.array([int(s) for s in samples]), phase1=25, exclude=[5, 24])
    root = _svg(panel_svg(res, "xbar"))
    (group,) = [g for g in root.iter(f"{NS}g") if g.get("class") == "excluded"]
    assert group.get("fill") == "#ffffff"
    assert len(list(group)) == 2
    # the excluded point 25 still ends phase I
    assert "第一阶段" in panel_svg(res, "xbar")


def test_nan_statistic_leaves_a_gap() -> None:
    res = stats.imr([10.0, 10.4, 9.8, 10.1, 10.3, 9.9, 10.2, 10.0])
    stat = res["i"].statistic.copy()
    stat[3] = np.nan
    gapped = dataclasses.replace(res, panels={"i": dataclasses.replace(res["i"], statistic=stat)})
    for r, panel, subpaths in ((gapped, "i", 2), (res, "mr", 1)):
        root = _svg(panel_svg(r, panel))
        (line,) = [p for p in root.iter(f"{NS}path") if p.get("class") == "statistic"]
        d = line.get("d", "")
        assert d.count("M") == subpaths
        assert "nan" not in d


def test_stepped_limits_for_unequal_subgroup_sizes() -> None:
    values, samples = _read("xbar_unequal_n", "diameter", "sample")
    res = stats.xbar_r(values, np.array([int(s) for s in samples]))
    assert isinstance(res["xbar"].ucl, np.ndarray)
    root = _svg(panel_svg(res, "xbar"))
    ucl, lcl = _limit_paths(root)
    n_sizes = len(set(res.sizes.tolist()))
    assert len(_ys(ucl)) == n_sizes  # one level per subgroup size
    assert len(_ys(lcl)) == n_sizes
    assert "V" not in ucl and ucl.count("M") == 1  # one continuous step line


def test_none_limits_are_not_drawn() -> None:
    values, samples = _read("xbar_r_pistonrings", "diameter", "sample")
    res = stats.cusum(values, np.array([int(s) for s in samples]), phase1=25)
    assert res["cusum_upper"].lcl is None
    text = panel_svg(res, "cusum_upper")
    root = _svg(text)
    assert len(_limit_paths(root)) == 1
    assert ">H " in text and "LCL" not in text
    assert len(_markers(root)) == len(res["cusum_upper"].violations.points())


@pytest.mark.parametrize(
    ("res", "panel"),
    [
        (stats.imr(74.0 + np.random.default_rng(1).normal(0, 0.004, 50)), "i"),
        (stats.p_chart([1, 0, 2, 1, 0, 1, 3, 0, 1, 1], 10_000), "p"),
        (stats.imr(1e6 + np.random.default_rng(2).normal(0, 2000, 50)), "i"),
    ],
)
def test_y_tick_labels_are_plain_distinct_numbers(res: ChartResult, panel: str) -> None:
    root = _svg(panel_svg(res, panel))
    groups = [g for g in root.iter(f"{NS}g") if g.get("text-anchor") == "end"]
    labels = [t.text or "" for t in groups[0].iter(f"{NS}text")]
    assert len(labels) >= 3
    assert len(set(labels)) == len(labels)
    assert all(re.fullmatch(r"-?\d+(\.\d+)?", s) for s in labels), labels
    decimals = {len(s.partition(".")[2]) for s in labels}
    assert len(decimals) == 1


def test_user_labels_are_escaped() -> None:
    values = np.random.default_rng(3).normal(10, 1, 40)
    values[35:] += 5
    labels = np.repeat([f'<b>"lot" & {i}</b>' for i in range(8)], 5)
    res = stats.xbar_r(values, labels)
    text = panel_svg(res, "xbar")
    _svg(text)
    assert "<b>" not in text and "&lt;b&gt;" in text


def test_downsampling_keeps_every_planted_violation(big_series: npt.NDArray[np.float64]) -> None:
    res = stats.imr(big_series, center=0.0, sigma=1.0, tests=[1])
    panel = res["i"]
    assert set(PLANTED) <= set(panel.violations.points().tolist())
    text = panel_svg(res, "i")
    assert len(text.encode("utf-8")) < 300_000
    root = _svg(text)
    (line,) = [p for p in root.iter(f"{NS}path") if p.get("class") == "statistic"]
    assert line.get("d", "").count("L") < 4 * 900  # reduced, not 10^5 vertices
    named = set().union(*(_named_points(t) for _, t in _markers(root)))
    assert named == set((panel.violations.points() + 1).tolist())
    # the planted points are also vertices of the line: their exact y is drawn
    ys = _ys(line.get("d", ""))
    marker_ys = {
        c.get("cy") for c, t in _markers(root) if _named_points(t) & {p + 1 for p in PLANTED}
    }
    assert marker_ys <= ys


def test_downsampled_svg_stays_small_with_all_tests(big_series: npt.NDArray[np.float64]) -> None:
    res = stats.imr(big_series, center=0.0, sigma=1.0)
    for panel in ("i", "mr"):
        text = panel_svg(res, panel)
        assert len(text.encode("utf-8")) < 300_000
        named = set().union(*(_named_points(t) for _, t in _markers(_svg(text))))
        assert {p + 1 for p in PLANTED} <= named or panel == "mr"


def test_series_out_of_control_everywhere_stays_bounded(
    big_series: npt.NDArray[np.float64],
) -> None:
    shifted = big_series.copy()
    shifted[50_000:] += 2.0
    res = stats.imr(shifted, center=0.0, sigma=1.0)
    assert len(res["i"].violations.points()) > 40_000
    text = panel_svg(res, "i")
    assert len(text.encode("utf-8")) < 300_000
    markers = _markers(_svg(text))
    assert 0 < len(markers) <= 2000


def test_panel_svg_parameter_errors(pistonrings: ChartResult) -> None:
    with pytest.raises(ParameterError, match="'panel' parameter of panel_svg must be one of"):
        panel_svg(pistonrings, "s")
    with pytest.raises(ParameterError, match="'lang'"):
        panel_svg(pistonrings, "xbar", lang="fr")
    with pytest.raises(ParameterError, match="'width'"):
        panel_svg(pistonrings, "xbar", width=10)


# --------------------------------------------------------------------------- HTML


def _report(res: ChartResult, **kw: str) -> str:
    section = ReportSection(
        title=kw.pop("section_title", "活塞环内径"),
        description=kw.pop("description", "Montgomery"),
        result=res,
        source=kw.pop("source", "data.csv: diameter"),
    )
    return render_chart_report(
        [section], title=kw.pop("title", "报告"), generated_at="2024-03-04 08:00", **kw
    )


def test_report_states_chart_conventions_and_violations(pistonrings: ChartResult) -> None:
    page = _report(pistonrings)
    assert page.startswith("<!DOCTYPE html>")
    assert '<html lang="zh-CN">' in page
    assert "Xbar-R 均值-极差图" in page
    assert "rbar/d2" in page and "平均极差法" in page
    assert "GB/T 4091-2001" in page
    assert "第一阶段" in page and "1–25" in page
    assert 'class="violations"' in page
    rows = re.findall(r"<tr>\s*<td>均值 Xbar</td>\s*<td class=\"num\">(\d+)</td>", page)
    n_viol = len(pistonrings["xbar"].violations)
    assert len(rows) == n_viol
    assert {int(r) for r in rows} == set((pistonrings["xbar"].violations.index + 1).tolist())
    assert "失控" in page and "2024-03-04 08:00" in page
    assert page.count("<svg") == 2  # Xbar and R panels
    assert "Noto Sans CJK SC" in page and "@media print" in page


def test_report_is_self_contained(pistonrings: ChartResult) -> None:
    page = _report(pistonrings)
    assert "<script" not in page.lower()
    assert not re.search(r"(?:src|href)=\"(?!#)", page)
    assert "http" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "&#39;Noto Sans CJK SC&#39;" not in page  # the CSS font stack is not HTML-escaped


def test_report_escapes_titles(pistonrings: ChartResult) -> None:
    evil = '<script>alert("x")</script>'
    page = _report(pistonrings, title=evil, section_title=evil, description=evil, source=evil)
    assert "<script" not in page
    assert page.count("&lt;script&gt;") >= 4


def test_report_english_first(pistonrings: ChartResult) -> None:
    page = _report(pistonrings, lang="en")
    assert '<html lang="en">' in page
    assert page.index("Control chart report") < page.index("控制图报告")
    assert '<span class="pri">Xbar-R chart</span>' in page


def test_report_limits_table_for_per_point_limits() -> None:
    values, samples = _read("xbar_unequal_n", "diameter", "sample")
    res = stats.xbar_r(values, np.array([int(s) for s in samples]))
    page = _report(res)
    assert "逐点变化：" in page and "varies per point: " in page


def test_report_in_control_and_none_limits() -> None:
    values, samples = _read("xbar_r_pistonrings", "diameter", "sample")
    sub = np.array([int(s) for s in samples])
    cusum = stats.cusum(values, sub, phase1=25)
    calm = stats.imr(np.random.default_rng(5).normal(10, 1, 30))
    assert calm.in_control and not cusum.in_control
    page = render_chart_report(
        [ReportSection("CUSUM", "", cusum), ReportSection("calm", "", calm)],
        title="t",
        generated_at="x",
    )
    assert "决策区间 H" in page and '无</span> <span class="sec">none' in page
    assert page.count('<span class="badge ok">受控</span>') == 2  # summary and section
    assert page.count('<span class="badge bad">失控</span>') == 2


def test_violations_table_is_capped(big_series: npt.NDArray[np.float64]) -> None:
    res = stats.imr(big_series[:20_000], center=0.0, sigma=1.0)
    total = sum(len(p.violations) for p in res.panels.values())
    assert total > MAX_VIOLATION_ROWS
    page = _report(res)
    table = page[
        page.index('<table class="violations">') : page.index(
            "</table>", page.index('<table class="violations">')
        )
    ]
    assert table.count("<tr>") == MAX_VIOLATION_ROWS + 1  # + the header row
    assert f"以及另外 {total - MAX_VIOLATION_ROWS} 个信号未列出" in page
    assert f"and {total - MAX_VIOLATION_ROWS} more" in page


def test_render_chart_report_parameter_errors(pistonrings: ChartResult) -> None:
    with pytest.raises(ParameterError, match="at least one"):
        render_chart_report([], title="t")
    with pytest.raises(ParameterError, match="'lang'"):
        render_chart_report([ReportSection("a", "", pistonrings)], title="t", lang="de")
    with pytest.raises(ParameterError, match="ReportSection"):
        render_chart_report([pistonrings], title="t")  # type: ignore[list-item]


def test_write_report_utf8(tmp_path: Path, pistonrings: ChartResult) -> None:
    page = _report(pistonrings)
    out = write_report(page, tmp_path / "r.html")
    assert out == tmp_path / "r.html"
    assert out.read_bytes() == page.encode("utf-8")
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]  # no temporary file left


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("missing/r.html", "does not exist"),
        ("a_file/r.html", "is not a folder"),
        (".", "it is a folder"),
    ],
)
def test_write_report_unwritable_path(tmp_path: Path, target: str, message: str) -> None:
    (tmp_path / "a_file").write_text("x", encoding="utf-8")
    with pytest.raises(OutputError, match=message) as info:
        write_report("<html></html>", tmp_path / target)
    assert isinstance(info.value, OSError)
    assert info.value.exit_code == 5
