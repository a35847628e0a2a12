"""The capability sixpack report (zhuoyue.reports.capability)."""

from __future__ import annotations

import csv
import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from markupsafe import escape

from zhuoyue.errors import DataError, ParameterError
from zhuoyue.reports.capability import (
    CapabilitySection,
    cpk_band,
    fmt_index,
    fmt_ppm,
    render_capability_report,
    sixpack_svgs,
)
from zhuoyue.stats.capability import CapabilityResult, capability

DATA = Path("/work/shared/reference/spc/capability_pistonrings/data.csv")
NS = "{http://www.w3.org/2000/svg}"
UNSTABLE = "过程不受控：能力指数不代表未来表现"


def _rings() -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Montgomery's piston rings, phase I: 25 subgroups of 5 (shared/reference/spc)."""
    with open(DATA, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return (
        np.array([float(r["diameter"]) for r in rows]),
        np.array([int(r["sample"]) for r in rows]),
    )


@pytest.fixture(scope="module")
def narrow() -> CapabilityResult:
    x, s = _rings()
    return capability(x, s, lsl=73.99, usl=74.01)


@pytest.fixture(scope="module")
def wide() -> CapabilityResult:
    x, s = _rings()
    return capability(x, s, lsl=73.95, usl=74.05)


@pytest.fixture(scope="module")
def unstable() -> CapabilityResult:
    """Individual values whose mean shifts half-way: the I chart fires."""
    rng = np.random.default_rng(3)
    y = np.r_[rng.normal(10.0, 0.1, 60), rng.normal(10.4, 0.1, 60)]
    return capability(y, lsl=9.5, usl=10.8)


def _page(*results: CapabilityResult | CapabilitySection, **kw: str) -> str:
    return render_capability_report(
        list(results), title=kw.pop("title", "能力报告"), generated_at="2024-03-04 08:00", **kw
    )


def _svgs(page: str) -> list[ET.Element]:
    roots = []
    for text in re.findall(r"<svg\b.*?</svg>", page, flags=re.S):
        root = ET.fromstring(text)
        assert root.tag == f"{NS}svg"
        roots.append(root)
    return roots


def _plot(page: str, kind: str) -> ET.Element:
    found = [r for r in _svgs(page) if r.get("data-plot") == kind]
    assert len(found) == 1, kind
    return found[0]


def _specs(root: ET.Element) -> set[str]:
    return {p.get("data-spec", "") for p in root.iter(f"{NS}path") if p.get("class") == "spec"}


def _index_cell(page: str, key: str) -> str:
    m = re.search(rf'data-index="{key}">([^<]*)<', page)
    assert m, key
    return m.group(1)


# ------------------------------------------------------------------------------------ content


def test_narrow_spec_pistonrings_experience_band(narrow: CapabilityResult) -> None:
    assert narrow.cpk is not None and abs(narrow.cpk - 0.30) < 0.01
    page = _page(CapabilitySection("活塞环外径", narrow, "data.csv: diameter"))
    assert page.startswith("<!DOCTYPE html>") and '<html lang="zh-CN">' in page
    for name in ("过程能力六合一报告", "能力直方图", "正态概率图", "能力图", "最后 25 个子组"):
        assert name in page
    assert "Xbar-R 均值-极差图" in page
    assert "pooled/c4 合并标准差法 Sp/c4" in page  # σ within method, explained
    assert "sd 样本标准差" in page  # σ overall method
    assert _index_cell(page, "cpk") == f"{narrow.cpk:.3f}" == "0.297"
    assert _index_cell(page, "ppk") == f"{narrow.ppk:.3f}"
    assert _index_cell(page, "cpm") == fmt_index(narrow.cpm)
    # the Cpk row carries the policy band, the scale marks it
    row = page[page.index('<td class="name">Cpk') :]
    row = row[: row.index("</tr>")]
    assert '<span class="badge band l1">经验级</span>' in row
    assert '<div class="seg l1 active">' in page
    assert "政策附件的 Cpk 阈值" in page and "工信部联科〔2023〕249号" in page
    # intervals with their level, PPM with thousands separators
    ci = narrow.interval("cpk")
    assert ci is not None and f"{ci[0]:.3f} – {ci[1]:.3f}" in page
    assert "置信水平 95%" in page
    assert fmt_ppm(narrow.ppm_overall["total"]) == "323,977" and "323,977" in page
    assert "280,000" in page  # observed total
    assert "Z.bench" in page and "Anderson" in page
    assert "受控" in page and UNSTABLE not in page


def test_wide_spec_pistonrings_assurance_band(wide: CapabilityResult) -> None:
    assert wide.cpk is not None and abs(wide.cpk - 1.65) < 0.01
    page = _page(wide)
    assert _index_cell(page, "cpk") == "1.646"
    assert '<span class="badge band l3">保证级</span>' in page
    assert '<div class="seg l3 active">' in page
    assert "特性 1" in page  # a bare result gets a title
    assert page.count("<svg") == 6  # Xbar, R, last subgroups, histogram, probability, capability


def test_every_svg_is_xml_and_histogram_bars_match_counts(wide: CapabilityResult) -> None:
    page = _page(wide)
    roots = _svgs(page)
    assert len(roots) == page.count("<svg") == 6
    counts = wide.sixpack()["histogram"]["counts"]
    hist = _plot(page, "histogram")
    bars = [r for r in hist.iter(f"{NS}rect") if r.get("class") == "bar"]
    assert len(bars) == len(counts)
    heights = np.array([float(b.get("height", "nan")) for b in bars])
    # bar heights are proportional to the counts
    k = int(np.argmax(counts))
    assert np.allclose(heights, heights[k] * np.asarray(counts) / counts[k], atol=0.15)
    assert _specs(hist) == {"lsl", "usl", "target"}
    labels = "".join(t.text or "" for t in hist.iter(f"{NS}text"))
    assert "规格下限" in labels and "规格上限" in labels and "目标" in labels
    assert {p.get("class") for p in hist.iter(f"{NS}path")} >= {
        "density-within",
        "density-overall",
    }
    prob = _plot(page, "probability")
    texts = [t.text for t in prob.iter(f"{NS}text")]
    for tick in ("0.1", "1", "5", "10", "20", "50", "80", "90", "95", "99", "99.9"):
        assert tick in texts
    assert "AD (A²) = 0.191" in texts
    cap = _plot(page, "capability")
    classes = {g.get("class") for g in cap.iter(f"{NS}g")}
    assert {"interval within", "interval overall", "interval specs"} <= classes


def test_individuals_one_sided_spec() -> None:
    x, _ = _rings()
    res = capability(x, usl=74.03)
    page = _page(CapabilitySection("单侧", res))
    assert "I-MR 单值-移动极差图" in page and "最后 25 个观测值" in page
    assert "125 个单值" in page
    hist = _plot(page, "histogram")
    assert _specs(hist) == {"usl"}
    labels = "".join(t.text or "" for t in hist.iter(f"{NS}text"))
    assert "规格上限" in labels and "规格下限" not in labels and "目标" not in labels
    assert _specs(_plot(page, "capability")) == {"usl"}
    assert _index_cell(page, "cp") == "—" and _index_cell(page, "pp") == "—"
    assert _index_cell(page, "cpk") == fmt_index(res.cpk)
    assert {r.get("data-panel") for r in _svgs(page)} >= {"i", "mr"}


def test_unstable_process_says_so(unstable: CapabilityResult) -> None:
    assert unstable.in_control is False
    page = _page(CapabilitySection("漂移", unstable))
    assert UNSTABLE in page
    assert '<span class="badge bad">不受控</span>' in page
    assert "过程不受控：该等级仅供参考" in page
    # the statistics layer's warnings, each with its Chinese wording
    assert "不稳定过程的能力指数不能预测未来表现" in page
    assert "组内 σ" in page and "远小于整体 σ" in page
    assert "数据不像正态分布" in page
    for w in unstable.warnings:
        assert str(escape(w)) in page


def test_without_stability_check_and_normality_test() -> None:
    x, s = _rings()
    res = capability(x, s, lsl=73.95, usl=74.05, stability=False, normality=False)
    assert res.in_control is None and res.chart is None
    page = _page(res)
    assert "依据本报告的控制图" in page  # the verdict comes from the sixpack's chart
    assert "未做正态性检验" in page
    assert page.count("<svg") == 6


def test_english_first(wide: CapabilityResult) -> None:
    page = _page(wide, lang="en")
    assert '<html lang="en">' in page
    assert page.index("Process capability sixpack report") < page.index("过程能力六合一报告")
    assert '<span class="pri">Summary</span>' in page
    assert "Characteristic 1" in page
    assert '<span class="badge band l3">Assurance</span>' in page
    hist = _plot(page, "histogram")
    title = hist.find(f"{NS}title")
    assert title is not None and title.text == "Capability histogram (能力直方图)"


def test_titles_and_texts_are_escaped(wide: CapabilityResult) -> None:
    evil = '<script>alert("x")</script>'
    section = CapabilitySection(evil, wide, source=evil, description=evil)
    page = _page(section, title=evil)
    assert "<script" not in page
    assert page.count("&lt;script&gt;") >= 5  # <title>, <h1>, summary, heading, source...
    _svgs(page)


def test_report_is_self_contained(wide: CapabilityResult) -> None:
    page = _page(wide)
    assert "<script" not in page.lower()
    assert not re.search(r"(?:src|href)=\"(?!#)", page)
    assert "http" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "Noto Sans CJK SC" in page and "@media print" in page


def test_summary_has_one_row_per_result(
    narrow: CapabilityResult, wide: CapabilityResult, unstable: CapabilityResult
) -> None:
    page = _page(
        CapabilitySection("窄", narrow), CapabilitySection("宽", wide), unstable, lang="zh"
    )
    table = page[page.index('<table class="summary">') : page.index("</table>")]
    assert table.count("<tr>") == 4  # header + 3
    for href in ("#capability-1", "#capability-2", "#capability-3"):
        assert href in table
    for text in ("0.297", "1.646", "323,977", "经验级", "保证级", "特性 3", "不受控"):
        assert text in table
    assert page.count("<svg") == 3 * 6


def test_nonnormal_method_is_reported() -> None:
    z = np.random.default_rng(1).lognormal(0.0, 0.5, 300)
    res = capability(z, lsl=0.2, usl=5.0, method="auto")
    assert res.nonnormal is not None and res.nonnormal.method != "normal"
    page = _page(CapabilitySection("偏态", res))
    assert "非正态方法" in page and "候选方法" in page
    assert "method = auto" in page
    assert f'data-nonnormal="Ppk">{fmt_index(res.nonnormal.ppk)}<' in page
    assert _index_cell(page, "cpk") == "—"
    assert "Cpk 未计算" in page
    assert fmt_ppm(res.nonnormal.ppm_overall["total"]) in page
    assert "按正态分布绘制" in page  # the plots' curves are normal: said under them


def test_sixpack_that_cannot_be_drawn(
    wide: CapabilityResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(self: CapabilityResult, **kw: int) -> None:
        raise DataError("no chart", code="zero_sigma")

    monkeypatch.setattr(CapabilityResult, "sixpack", fail)
    page = _page(wide)
    assert "无法绘制六合一图：no chart" in page
    assert "<svg" not in page
    assert _index_cell(page, "cpk") == "1.646"


def test_sixpack_svgs(wide: CapabilityResult) -> None:
    svgs = sixpack_svgs(wide, lang="en")
    assert set(svgs) == {"chart", "last", "histogram", "probability", "capability"}
    assert len(svgs["chart"]) == 2
    for text in [*svgs["chart"], svgs["last"], svgs["histogram"]]:
        ET.fromstring(str(text))


def test_million_values_stay_small() -> None:
    x = np.random.default_rng(7).normal(10.0, 1.0, 1_000_000)
    res = capability(x, 5, lsl=6.0, usl=14.0)
    start = time.perf_counter()
    page = _page(CapabilitySection("10⁶", res))
    seconds = time.perf_counter() - start
    size = len(page.encode("utf-8"))
    print(f"\n10^6 values: report {size / 1024:.0f} KiB, rendered in {seconds:.2f} s")
    assert size < 400_000
    for root in _svgs(page):
        assert sum(1 for _ in root.iter()) < 2_500 + 200
    hist = _plot(page, "histogram")
    assert 5 <= sum(1 for r in hist.iter(f"{NS}rect") if r.get("class") == "bar") <= 60


# ------------------------------------------------------------------------------- formats, API


def test_number_formats() -> None:
    assert fmt_index(1.64597) == "1.646" and fmt_index(None) == "—"
    assert fmt_index(float("nan")) == "—" and fmt_index(-0.0004) == "0.000"
    assert fmt_ppm(323977.06) == "323,977" and fmt_ppm(1234567.0) == "1,234,567"
    assert fmt_ppm(66.807) == "66.81" and fmt_ppm(0.5113) == "0.511"
    assert fmt_ppm(1.97e-3) == "0.00197" and fmt_ppm(2.2e-4) == "2.2×10⁻⁴"
    assert fmt_ppm(0.0) == "0" and fmt_ppm(None) == "—"


@pytest.mark.parametrize(
    ("cpk", "level", "name"),
    [
        (-0.5, 1, "经验级"),
        (0.999, 1, "经验级"),
        (1.0, 2, "检验级"),
        (1.3299, 2, "检验级"),
        (1.33, 3, "保证级"),
        (1.669, 3, "保证级"),
        (1.67, 4, "预防级"),
        (2.0, 5, "卓越级"),
        (7.5, 5, "卓越级"),
    ],
)
def test_cpk_band_thresholds(cpk: float, level: int, name: str) -> None:
    band = cpk_band(cpk)
    assert band is not None and band[:2] == (level, name)


def test_cpk_band_undefined() -> None:
    assert cpk_band(None) is None and cpk_band(float("nan")) is None


def test_parameter_errors(wide: CapabilityResult) -> None:
    with pytest.raises(ParameterError, match="at least one"):
        render_capability_report([], title="t")
    with pytest.raises(ParameterError, match="'lang'"):
        render_capability_report([wide], title="t", lang="de")
    with pytest.raises(ParameterError, match=r"item 1 is str"):
        render_capability_report([wide, "x"], title="t")  # type: ignore[list-item]
    with pytest.raises(ParameterError, match=r"Pass \[result\]"):
        render_capability_report(wide, title="t")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="'lang'"):
        sixpack_svgs(wide, lang="fr")


def test_generated_at_default_and_fixed(wide: CapabilityResult) -> None:
    assert _page(wide) == _page(wide)  # byte-identical with a fixed time stamp
    page = render_capability_report([wide], title="t")
    assert re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}", page)
