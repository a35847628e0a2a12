"""The self-declaration report (zhuoyue.reports.declaration): HTML, radar chart, PDF."""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from markupsafe import escape

from zhuoyue.errors import OutputError, ParameterError
from zhuoyue.excellence import AssessmentResult, default_model, evaluate
from zhuoyue.reports.declaration import radar_svg, render_declaration, write_declaration
from zhuoyue.services.assessment import AssessmentOutcome, assess

NS = "{http://www.w3.org/2000/svg}"
GENERATED = dt.datetime(2025, 1, 20, 10, 0)
ENTERPRISE = {
    "name": "江苏卓越精密机械有限公司",
    "credit_code": "91320500MA1XXXXX0K",
    "industry": "通用设备制造业（C34）",
    "region": "江苏省苏州市",
}
#: questionnaire answers without evidence (flagged 无证据)
NO_EVIDENCE = ("customer_focus", "digital_manufacturing")
IN_CI = os.environ.get("CI", "").lower() == "true"


def _tables() -> dict[str, pl.DataFrame]:
    """A year of a small plant: rolled yield 94.4 % holds it at 检验级 (L2)."""
    rng = np.random.default_rng(7)
    chars = pl.DataFrame(
        {
            "code": ["D1", "D2", "W1"],
            "name": ["外径", "内径", "重量"],
            "step": ["OP10", "OP20", "OP40"],
            "lsl": [9.9, 4.95, 49.0],
            "usl": [10.1, 5.05, 51.0],
            "key": [True, True, True],
        }
    )
    params = {"D1": (10.01, 0.022), "D2": (5.0, 0.009), "W1": (50.1, 0.18)}
    rows = []
    start = dt.datetime(2024, 1, 3, 8)
    for code, (mu, sd) in params.items():
        for i, v in enumerate(rng.normal(mu, sd, 125)):
            rows.append((code, start + dt.timedelta(hours=68 * i), i // 5 + 1, float(v)))
    meas = pl.DataFrame(rows, schema=["characteristic", "ts", "subgroup", "value"], orient="row")
    fpy = {"OP10": 0.995, "OP20": 0.985, "OP30": 0.99, "OP40": 0.975, "OP50": 0.998}
    insp = pl.DataFrame(
        [
            (dt.date(2024, m, 15), step, 1000, round(1000 * p))
            for m in range(1, 13)
            for step, p in fpy.items()
        ],
        schema=["date", "step", "submitted", "passed_first"],
        orient="row",
    )
    amounts = {
        "prevention": 20000,
        "appraisal": 30000,
        "internal.scrap": 90000,
        "internal.rework": 50000,
        "internal.downtime": 12000,
        "external.claim": 60000,
        "external.return": 25000,
        "external.warranty": 10000,
    }
    costs = pl.DataFrame(
        [(dt.date(2024, m, 28), c, a / 12) for m in range(1, 13) for c, a in amounts.items()],
        schema=["date", "category", "amount"],
        orient="row",
    )
    pq = pl.DataFrame(
        {
            "period": [f"2024-{m:02d}" for m in range(1, 13)],
            "units": [20000] * 12,
            "defective": [3, 5, 2, 4, 6, 3, 2, 4, 5, 3, 2, 3],
        }
    )
    ov = pl.DataFrame({"year": [2024], "total_output_value": [8_000_000.0]})
    items = [i.id for i in default_model().questionnaire]
    levels = [[4, 3, 4, 3, 4][k % 5] for k in range(len(items))]
    evidence: list[str | None] = [
        None if item in NO_EVIDENCE else f"《质量手册》第{k + 1}章；记录 QR-{100 + k}"
        for k, item in enumerate(items)
    ]
    evidence[0] = "<b>内审</b> & 管理评审报告"  # hostile text is escaped, never markup
    sa = pl.DataFrame(
        {
            "item": items,
            "level": levels,
            "evidence": evidence,
            "respondent": ["张质量"] * len(items),
        }
    )
    return {
        "characteristics": chars,
        "measurements": meas,
        "inspections": insp,
        "quality_costs": costs,
        "product_quality": pq,
        "output_value": ov,
        "self_assessment": sa,
    }


@pytest.fixture(scope="module")
def outcome() -> AssessmentOutcome:
    out = assess((_tables(), {**ENTERPRISE, "year": "2024"}))
    assert out.result.level == 2  # the fixture is what the tests below assume
    return out


@pytest.fixture(scope="module")
def page(outcome: AssessmentOutcome) -> str:
    return render_declaration(outcome, generated_at=GENERATED)


@pytest.fixture(scope="module")
def page_en(outcome: AssessmentOutcome) -> str:
    return render_declaration(outcome, lang="en", generated_at=GENERATED)


def _has(page: str, text: str) -> bool:
    return str(escape(text)) in page


def _mixed_result() -> AssessmentResult:
    """Aspects at different levels (2, 4, 3, 5): metrics all at 卓越级."""
    model = default_model()
    levels = {"system": 2, "digital": 4, "success": 3, "performance": 5}
    answers = {i.id: {"level": levels[i.aspect], "evidence": ["记录"]} for i in model.questionnaire}
    metrics = {
        "sigma_level": 6.2,
        "cpk": 2.1,
        "rolled_yield": 0.99,
        "internal_loss_rate": 0.005,
        "external_loss_rate": 0.002,
    }
    res = evaluate(metrics, answers, model, coverage={"year": 2024, "months": 12})
    assert [a.level for a in res.aspects] == [2, 4, 3, 5]
    return res


def _radar(page: str) -> ET.Element:
    found = [
        ET.fromstring(svg)
        for svg in re.findall(r"<svg\b.*?</svg>", page, flags=re.S)
        if 'data-plot="radar"' in svg
    ]
    assert len(found) == 1
    return found[0]


def _points(poly: ET.Element) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in (p.split(",") for p in poly.get("points", "").split())]


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        if IN_CI:
            pytest.fail(f"{name} (poppler-utils) is missing; CI=true: it must be installed")
        pytest.skip(f"{name} (poppler-utils) is not installed")
    return path


# --------------------------------------------------------------------------- content


def test_title_level_badge_and_score(page: str, outcome: AssessmentOutcome) -> None:
    res = outcome.result
    assert "制造业企业质量管理能力自我声明" in page
    assert 'class="badge l2"' in page and ">L2</div>" in page and "检验级" in page
    assert f"<b>{res.score:g}</b> / 1000" in page
    assert "L3 保证级" in page  # the next level
    assert "工信部联科〔2023〕249号" in page


def test_enterprise_block_and_period(page: str) -> None:
    for value in ENTERPRISE.values():
        assert _has(page, value)
    for label in ("企业名称", "统一社会信用代码", "所属行业", "所在地区", "评价期间"):
        assert label in page
    assert "2024 年度（2024-01-01 至 2024-12-31）" in page
    assert "2025-01-20 10:00" in page


def test_every_aspect_with_its_level(page: str, outcome: AssessmentOutcome) -> None:
    for a in outcome.result.aspects:
        assert _has(page, a.name_zh) and _has(page, a.name_en)
        assert f"L{a.level} {a.level_name_zh}" in page


def test_every_metric_value_and_its_five_thresholds(page: str, outcome: AssessmentOutcome) -> None:
    model = default_model()
    for ind in model.metrics:
        m = outcome.result.metrics[ind.id]
        row = re.search(rf'<tr data-metric="{ind.id}">(.*?)</tr>', page, flags=re.S)
        assert row is not None, ind.id
        assert _has(row.group(1), m.display)
        cells = re.findall(r'<td class="cell([^"]*)">(.*?)</td>', row.group(1), flags=re.S)
        assert len(cells) == 5
        reached = [k + 1 for k, (cls, _) in enumerate(cells) if "reached" in cls]
        assert reached == [m.level], ind.id
        for t in ind.thresholds:
            if t.op != "tracked":
                assert _has(cells[t.level - 1][1], ind.display(t.value)), (ind.id, t.level)
    assert "5.08σ" in page and "94.41 %" in page and "1.90 %" in page


def test_not_tracked_metrics_say_so() -> None:
    out = assess(({}, {"name": "某某五金厂"}))
    page = render_declaration(out, generated_at=GENERATED)
    assert out.result.level == 1
    rows = re.findall(r'<tr data-metric="[^"]+">(.*?)</tr>', page, flags=re.S)
    assert len(rows) == 5
    assert all("未统计" in r for r in rows)
    assert _has(page, "no inspections table")  # the reason of the data layer
    assert page.count('<span class="flag muted">未作答</span>') == len(
        default_model().questionnaire
    )


def test_binding_constraints_in_words(page: str, outcome: AssessmentOutcome) -> None:
    assert outcome.result.binding
    for c in outcome.result.binding:
        assert _has(page, c.message_zh)


def test_gap_rows_in_numbers(page: str, outcome: AssessmentOutcome) -> None:
    gaps = re.findall(r'<tr data-gap="([^"]+)">(.*?)</tr>', page, flags=re.S)
    assert len(gaps) == len(outcome.result.gaps) == 1
    kind, row = gaps[0]
    assert kind == "metric"
    assert "全过程一次交验合格率" in row
    assert "94.41 %" in row and "≥ 95.00 %" in row
    assert "提高 0.59 个百分点" in row
    assert "制约" in row  # the binding mark


def test_plan_actions_with_policy_tasks(page: str, outcome: AssessmentOutcome) -> None:
    plan = outcome.result.plan
    assert plan
    rows = re.findall(r'<tr data-action="(\d+)">(.*?)</tr>', page, flags=re.S)
    assert [int(n) for n, _ in rows] == list(range(1, len(plan) + 1))
    for act, (_, row) in zip(plan, rows, strict=True):
        assert _has(row, act.action_zh)
        assert _has(row, act.policy_task)


def test_evidence_index_flags_claims_without_evidence(
    page: str, outcome: AssessmentOutcome
) -> None:
    model = default_model()
    rows = dict(re.findall(r'<tr data-item="([^"]+)" class="[^"]*">(.*?)</tr>', page, flags=re.S))
    assert set(rows) == {i.id for i in model.questionnaire}
    assert {u.item for u in outcome.result.unsupported} == set(NO_EVIDENCE)
    for item, row in rows.items():
        flagged = '<span class="flag bad">无证据</span>' in row
        assert flagged == (item in NO_EVIDENCE), item
    assert "《质量手册》第2章" in rows[model.questionnaire[1].id]
    assert "记录 QR-101" in rows[model.questionnaire[1].id]
    # evidence text is escaped, never markup
    assert "&lt;b&gt;内审&lt;/b&gt; &amp; 管理评审报告" in rows[model.questionnaire[0].id]
    assert "<b>内审</b>" not in page


def test_coverage_warnings_model_and_conventions(page: str, outcome: AssessmentOutcome) -> None:
    assert "数据覆盖" in page and "测量值（行）" in page and "375" in page
    assert "交验工序数" in page
    for w in outcome.result.warnings:
        assert _has(page, w)
    assert "miit-249-2023/zhuoyue-v1" in page and "1.0.0" in page
    assert "最弱环节原则" in page
    assert "1.5σ 长期漂移" in page and "66,807" in page
    assert "阈值与等级描述来源" in page
    assert ">2024<" in page and "2,024" not in page  # years are not counts


def test_declaration_and_signature_block_at_the_end(page: str) -> None:
    tail = page[page.index('<section class="declaration">') :]
    for text in ("最高管理者（签字）", "日期", "企业盖章", "本企业郑重声明"):
        assert text in tail
    assert "质量管理能力等级 L2 检验级" in tail
    assert "其中 2 项自评尚未提供证据" in tail
    # the declaration is the last section
    assert '<section class="' not in tail[len('<section class="declaration">') :]


def test_print_css_a4_running_header_and_page_numbers(page: str) -> None:
    assert "size: A4" in page
    assert '"第 " counter(page) " 页 / 共 " counter(pages) " 页"' in page
    assert "string-set: ent content()" in page and "string(model)" in page
    assert '<span class="run-ent">江苏卓越精密机械有限公司</span>' in page
    assert '<span class="run-model">miit-249-2023/zhuoyue-v1 v1.0.0</span>' in page
    assert "break-inside: avoid" in page and "table-header-group" in page
    assert "Noto Sans CJK SC" in page
    # self-contained: no scripts, nothing fetched
    assert "<script" not in page and "http://" not in page.replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )
    assert "https://" not in page


def test_english_variant(page_en: str, outcome: AssessmentOutcome) -> None:
    assert '<html lang="en">' in page_en
    assert "Self-declaration of the quality management capability" in page_en
    assert "L2 Inspection" in page_en and "L3 Assurance" in page_en
    assert '"Page " counter(page) " of " counter(pages)' in page_en
    for c in outcome.result.binding:
        assert _has(page_en, c.message_en)
    for act in outcome.result.plan:
        assert _has(page_en, act.action_en)
    rows = dict(re.findall(r'<tr data-item="([^"]+)" class="[^"]*">(.*?)</tr>', page_en, re.S))
    flagged = {k for k, row in rows.items() if '<span class="flag bad">no evidence</span>' in row}
    assert flagged == set(NO_EVIDENCE)
    assert "Top manager (signature)" in page_en and "Company seal" in page_en
    assert "raise by 0.59 pp" in page_en
    assert "Year 2024 (2024-01-01 to 2024-12-31)" in page_en
    assert "The enterprise declares" in page_en


def test_result_without_outcome_and_overrides() -> None:
    res = _mixed_result()
    page = render_declaration(
        res,
        enterprise={
            "name": "示例厂",
            "统一社会信用代码": "91110000X",
            "contact": "李四",
            "top_manager": "王总经理",
        },
        period="2024 年 1–12 月",
        generated_at="2025-02-01",
        data_summary={"来源文件": "plant.xlsx"},
    )
    assert "示例厂" in page and "91110000X" in page and "李四" in page
    assert "2024 年 1–12 月" in page and "2025-02-01" in page
    assert "来源文件" in page and "plant.xlsx" in page
    assert "未填写" in page  # industry and region are blank lines to fill in
    sign = page[page.index('<div class="sign">') :]
    assert '<span class="printed">王总经理</span>' in sign  # under the signature line


def test_level_five_has_no_next_level() -> None:
    model = default_model()
    answers = {i.id: {"level": 5, "evidence": ["记录"]} for i in model.questionnaire}
    res = evaluate(
        {
            "sigma_level": 6.2,
            "cpk": 2.1,
            "rolled_yield": 0.99,
            "internal_loss_rate": 0.005,
            "external_loss_rate": 0.002,
        },
        answers,
        model,
    )
    page = render_declaration(res, generated_at=GENERATED)
    assert res.level == 5
    assert "L5 卓越级" in page and "已达到最高等级" in page
    root = _radar(page)
    assert root.find(f'.//{NS}polygon[@data-role="next"]') is None


# --------------------------------------------------------------------------- radar chart


def test_radar_polygons_have_one_vertex_per_aspect(page: str, outcome: AssessmentOutcome) -> None:
    root = _radar(page)
    n = len(outcome.result.aspects)
    achieved = root.find(f'.//{NS}polygon[@data-role="achieved"]')
    nxt = root.find(f'.//{NS}polygon[@data-role="next"]')
    assert achieved is not None and nxt is not None
    assert len(_points(achieved)) == n == 4
    assert len(_points(nxt)) == n
    assert nxt.get("stroke-dasharray")
    rings = root.findall(f".//{NS}polygon[@data-ring]")
    assert [r.get("data-ring") for r in rings] == ["1", "2", "3", "4", "5"]
    labels = "".join(t.text or "" for t in root.iter(f"{NS}text"))
    for a in outcome.result.aspects:
        assert a.name_zh in labels


def test_radar_radii_are_proportional_to_the_aspect_levels() -> None:
    res = _mixed_result()
    root = ET.fromstring(radar_svg(res))
    cx, cy, radius = (float(root.get(k, "nan")) for k in ("data-cx", "data-cy", "data-radius"))
    achieved = root.find(f'.//{NS}polygon[@data-role="achieved"]')
    assert achieved is not None
    pts = _points(achieved)
    levels = [a.level for a in res.aspects]
    radii = [math.hypot(x - cx, y - cy) for x, y in pts]
    assert radii == pytest.approx([radius * lv / 5 for lv in levels], abs=0.02)
    # axes in order, the first at the top, clockwise
    angles = [math.degrees(math.atan2(y - cy, x - cx)) for x, y in pts]
    assert angles == pytest.approx([-90.0, 0.0, 90.0, 180.0], abs=0.01)
    # the next level is a regular polygon at level 3 on every axis
    nxt = root.find(f'.//{NS}polygon[@data-role="next"]')
    assert nxt is not None and nxt.get("data-level") == "3"
    for x, y in _points(nxt):
        assert math.hypot(x - cx, y - cy) == pytest.approx(radius * 3 / 5, abs=0.02)
    # the outer ring is level 5
    ring5 = root.find(f'.//{NS}polygon[@data-ring="5"]')
    assert ring5 is not None
    for x, y in _points(ring5):
        assert math.hypot(x - cx, y - cy) == pytest.approx(radius, abs=0.02)


def test_radar_labels_stay_inside_the_box() -> None:
    res = _mixed_result()
    for lang in ("zh", "en"):
        root = ET.fromstring(radar_svg(res, lang=lang))
        _, _, w, h = (float(v) for v in root.get("viewBox", "").split())
        for t in root.iter(f"{NS}text"):
            y = float(t.get("y", "nan"))
            assert 10 <= y <= h, (lang, t.text, y, h)
            assert 0 <= float(t.get("x", "nan")) <= w


# --------------------------------------------------------------------------- escaping, errors


def test_hostile_enterprise_name_is_escaped(outcome: AssessmentOutcome) -> None:
    name = '<script>alert("x")</script>"; } body { display: none } @page { content: "'
    page = render_declaration(
        outcome, enterprise={"name": name, "region": "<img src=x onerror=alert(1)>"}
    )
    assert "<script" not in page and "<img" not in page
    assert str(escape(name)) in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    css = page[page.index("<style>") : page.index("</style>")]
    assert "alert" not in css  # the running header takes the name from the text, not the CSS
    svg = radar_svg(outcome.result)
    ET.fromstring(svg)  # well-formed


def test_parameter_errors(outcome: AssessmentOutcome, tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match=r"'lang'.*'zh' or 'en'"):
        render_declaration(outcome, lang="fr")
    with pytest.raises(ParameterError, match="'lang'"):
        write_declaration(outcome, tmp_path / "d.html", lang="de")
    with pytest.raises(ParameterError, match=r"\.html or \.pdf.*'d\.docx'"):
        write_declaration(outcome, tmp_path / "d.docx")
    with pytest.raises(ParameterError, match=r"\.html or \.pdf"):
        write_declaration(outcome, tmp_path / "declaration")
    with pytest.raises(ParameterError, match=r"AssessmentOutcome.*AssessmentResult.*dict"):
        render_declaration({"level": 3})  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="'enterprise'"):
        render_declaration(outcome, enterprise="ACME")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="'period'"):
        render_declaration(outcome, period=2024)  # type: ignore[arg-type]
    assert not any(tmp_path.iterdir())


def test_output_errors(outcome: AssessmentOutcome, tmp_path: Path) -> None:
    for suffix in ("html", "pdf"):
        with pytest.raises(OutputError, match="does not exist"):
            write_declaration(outcome, tmp_path / "missing" / f"d.{suffix}")
        folder = tmp_path / f"a.{suffix}"
        folder.mkdir()
        with pytest.raises(OutputError, match="is a folder"):
            write_declaration(outcome, folder)


@pytest.mark.skipif(
    sys.platform == "win32" or os.geteuid() == 0, reason="root writes to read-only folders"
)
def test_output_error_on_read_only_folder(outcome: AssessmentOutcome, tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(OutputError, match="Cannot write"):
            write_declaration(outcome, ro / "d.html")
    finally:
        ro.chmod(0o700)


def test_missing_weasyprint_names_the_extra(
    outcome: AssessmentOutcome, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # import weasyprint → ImportError
    with pytest.raises(OutputError, match=r"pip install 'zhuoyue\[report\]'"):
        write_declaration(outcome, tmp_path / "d.pdf")
    assert not any(tmp_path.iterdir())


# --------------------------------------------------------------------------- files


def test_write_html(outcome: AssessmentOutcome, tmp_path: Path) -> None:
    path = write_declaration(outcome, tmp_path / "声明.HTML", generated_at=GENERATED)
    assert path == tmp_path / "声明.HTML"
    assert path.read_text(encoding="utf-8") == render_declaration(outcome, generated_at=GENERATED)


@pytest.fixture(scope="module")
def pdf(outcome: AssessmentOutcome, tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not IN_CI:
        pytest.importorskip("weasyprint")
    path = tmp_path_factory.mktemp("declaration") / "declaration.pdf"
    assert write_declaration(outcome, path, generated_at=GENERATED) == path
    return path


def test_pdf_file(pdf: Path) -> None:
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    assert not list(pdf.parent.glob(".*.tmp"))


def test_pdf_text_is_chinese(pdf: Path) -> None:
    text = subprocess.run(
        [_tool("pdftotext"), "-layout", str(pdf), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert "制造业企业质量管理能力自我声明" in text
    assert "检验级" in text
    assert ENTERPRISE["name"] in text
    assert "最高管理者（签字）" in text
    # the footer of every page (pdftotext drops the spaces around CJK)
    numbers = re.findall(r"第\s*(\d+)\s*页\s*/\s*共\s*(\d+)\s*页", text)
    total = int(numbers[0][1])
    assert total >= 3
    assert [(int(a), int(b)) for a, b in numbers] == [(k, total) for k in range(1, total + 1)]
    assert "miit-249-2023/zhuoyue-v1" in text


def test_pdf_embeds_a_cjk_font(pdf: Path) -> None:
    out = subprocess.run(
        [_tool("pdffonts"), str(pdf)], check=True, capture_output=True, text=True
    ).stdout
    cjk = [ln for ln in out.splitlines() if "CJK" in ln or "SourceHan" in ln]
    assert cjk, out
    # columns: name type encoding emb sub uni object ID
    assert any(ln.split()[-5] == "yes" for ln in cjk), out
