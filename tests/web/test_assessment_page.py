"""The self-assessment pages in a real browser, on the demo data.

Plant A's 2024 assessment is self-declared (L3 保证级, bound by the Cpk of C40-01) and shared
with the assessor; plant B's is a draft (L2). The tests run in file order on one server: the
viewer looks at plant B's draft before the admin declares it, and the assessor verifies plant
A's declaration last. What the pages show is checked against the API on the same server.
"""

from __future__ import annotations

import http.cookiejar
import json
import re
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from webtools import PASSWORDS, PLANT_A, PLANT_B, login

pytestmark = pytest.mark.slow

CODE_A, CODE_B = "jinggong-auto", "hengli-parts"
PDF_SIGNATURE = b"%PDF"


def _api(base: str, username: str, org: str) -> Callable[..., Any]:
    """``call(path, body=None)`` on the JSON API, logged in as ``username`` in ``org``."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    def call(path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            f"{base}/api/v1{path}",
            data=data,
            method="GET" if body is None else "POST",
            headers={"Content-Type": "application/json", "X-Requested-With": "test"},
        )
        with opener.open(req, timeout=60) as r:
            return json.loads(r.read() or b"null")

    call("/auth/login", {"username": username, "password": PASSWORDS[username], "org": org})
    return call


def _latest(call: Callable[..., Any], year: int = 2024) -> dict[str, Any]:
    items = call(f"/assessments?year={year}")["items"]
    assert items, "the demo has an assessment of 2024"
    return dict(items[0])


def _goto(page: Any, path: str) -> None:
    """Open ``path`` once the page that switched the organization has reloaded (``login``
    may return while that reload is still on its way and would abort the navigation)."""
    for attempt in range(3):
        try:
            page.goto(path)
            return
        except Exception as exc:  # net::ERR_ABORTED: the organization switch reloaded the page
            if "ERR_ABORTED" not in str(exc) or attempt == 2:
                raise
            page.wait_for_timeout(500)


def _row_with(page: Any, words: str) -> Any:
    return page.locator("[data-testid=assessment-table] tbody tr", has_text=words)


# ------------------------------------------------------------------------------------------
def test_plant_a_declared_result_and_pdf(page: Any, screenshots: Path, web_server: str) -> None:
    api = _api(web_server, "demo", CODE_A)
    summary = _latest(api)
    assert summary["status"] == "self_declared" and summary["level"] == 3
    stored = api(f"/assessments/{summary['id']}")
    cpk = stored["result"]["metrics"]["cpk"]["display"]

    login(page, "demo", org=PLANT_A)
    _goto(page, "/assessment")
    row = _row_with(page, "2024")
    row.wait_for()
    text = row.inner_text()
    assert "已自我声明" in text and "L3 保证级" in text
    assert summary["declared_by"]["display_name"] in text
    assert f"{summary['score']:g}" in text
    page.screenshot(path=str(screenshots / "assessment-list-a.png"), full_page=True)

    row.click()
    page.wait_for_url(re.compile(rf"/assessment/{summary['id']}$"))
    locked = page.locator("[data-testid=locked]")
    locked.wait_for()
    assert "自我声明并锁定" in locked.inner_text()
    assert page.locator("[data-testid=status]").inner_text() == "已自我声明"
    # read-only: no save, declare or upload; the anchors and texts cannot change
    assert page.locator("[data-testid=save]").count() == 0
    assert page.locator("[data-testid=declare]").count() == 0
    assert page.locator("[data-testid=compute]").count() == 0
    radios = page.locator("[data-testid=level-quality_strategy] [role=radio]")
    assert radios.count() == 5
    assert page.locator("[data-testid=level-quality_strategy] [aria-disabled=true]").count() == 5
    assert (
        page.locator("[data-testid=evidence-quality_strategy]").get_attribute("readonly")
        is not None
    )
    answered = stored["answered"]
    assert f"已答 {answered} / 26" in page.locator("[data-testid=progress]").inner_text()
    page.screenshot(path=str(screenshots / "assessment-declared-a.png"))

    page.locator("[data-testid=result]").click()
    page.wait_for_url(re.compile(rf"/assessment/{summary['id']}/result$"))
    badge = page.locator("[data-testid=level-badge]")
    badge.wait_for()
    assert "L3" in badge.inner_text() and "保证级" in badge.inner_text()
    page.locator("[data-testid=radar] canvas").wait_for()
    binding = page.locator(".q-card", has_text="制约等级的因素").first
    assert "Cpk" in binding.inner_text()
    metrics = page.locator("[data-testid=metrics]")
    cpk_row = metrics.locator("tr", has_text="过程能力指数").first
    assert cpk in cpk_row.inner_text() and "L3 保证级" in cpk_row.inner_text()
    assert "≥ 1.67" in cpk_row.inner_text()  # the next threshold it misses
    assert page.locator("[data-testid=gaps]").get_by_text("过程能力指数").count() >= 1
    assert "重点任务" in page.locator("[data-testid=plan]").inner_text()
    coverage = page.locator("[data-testid=coverage]").inner_text()
    assert "评价年度" in coverage and "2024" in coverage
    page.locator("[data-testid=unsupported]").wait_for()
    page.screenshot(path=str(screenshots / "assessment-result-a.png"), full_page=True)

    with page.expect_download(timeout=90_000) as info:
        page.locator("[data-testid=pdf]").click()
        page.locator(".q-notification", has_text="正在生成 PDF").wait_for()
        page.screenshot(path=str(screenshots / "assessment-pdf-busy.png"))
    download = info.value
    assert download.suggested_filename == f"declaration-2024-{summary['id']}-zh.pdf"
    data = Path(download.path()).read_bytes()
    assert data.startswith(PDF_SIGNATURE)
    assert len(data) > 10_000


def test_viewer_in_plant_b_cannot_save_or_declare(
    page: Any, screenshots: Path, web_server: str
) -> None:
    draft = _latest(_api(web_server, "demo", CODE_B))
    assert draft["status"] == "draft"
    login(page, "demo")  # demo works in plant B first, a viewer there
    page.goto("/assessment")
    _row_with(page, "草稿").wait_for()
    assert page.locator("[data-testid=start-draft]").is_hidden()
    assert page.locator("[data-testid=preview]").is_visible()  # a reader may compute
    year = page.locator("[data-testid=year]")
    year.fill("99")
    page.get_by_text("年度须为 1000–9998 之间的整数").wait_for()  # next to the field
    year.fill("2024")
    page.get_by_text("年度须为 1000–9998 之间的整数").wait_for(state="hidden")
    page.locator("[data-testid=preview]").click()
    page.wait_for_url(re.compile(r"/assessment/preview/2024$"))
    badge = page.locator("[data-testid=level-badge]")
    badge.wait_for()
    assert "L2 检验级" in badge.inner_text()
    assert "按当前数据计算" in page.locator(".q-card", has=badge).inner_text()
    page.screenshot(path=str(screenshots / "assessment-preview-b.png"))
    page.goto(f"/assessment/{draft['id']}")
    page.locator("[data-testid=readonly]").wait_for()
    for testid in ("save", "declare", "upload-quality_strategy", "clear-quality_strategy"):
        assert page.locator(f"[data-testid={testid}]").count() == 0, testid
    assert page.locator("[data-testid=level-leadership] [aria-disabled=true]").count() == 5
    page.locator("[data-testid=compute]").wait_for()
    page.set_viewport_size({"width": 768, "height": 1024})
    page.screenshot(path=str(screenshots / "assessment-viewer-b-tablet.png"))


def test_plant_b_fill_upload_save_compute_declare(
    page: Any, screenshots: Path, web_server: str, tmp_path: Path
) -> None:
    api = _api(web_server, "admin", CODE_B)
    draft = _latest(api)
    aid = draft["id"]
    assert draft["status"] == "draft" and draft["level"] == 2
    login(page, "admin", org=PLANT_B)
    _goto(page, "/assessment")
    _row_with(page, "草稿").click()
    page.wait_for_url(re.compile(rf"/assessment/{aid}$"))
    progress = page.locator("[data-testid=progress]")
    progress.wait_for()
    assert progress.inner_text() == "已答 26 / 26"
    assert page.locator("[data-testid=dirty]").is_hidden()

    # clear one answer: the progress and the aspect tab follow
    page.locator("[data-testid=clear-participation]").click()
    page.get_by_text("已答 25 / 26").wait_for()
    assert "(9/10)" in page.locator("[data-testid=tab-system]").inner_text()
    page.locator("[data-testid=dirty]").wait_for()

    # choose anchors: L3 for the quality strategy, L3 for leadership's neighbour participation
    item = page.locator("[data-testid=item-quality_strategy]")
    item.locator("[role=radio]", has_text="L3 保证级").click()
    asked = page.locator("[data-testid=asked-quality_strategy]")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=asked-quality_strategy]')"
        ".innerText.includes('(L3)')"
    )
    assert "质量战略规划" in asked.inner_text()  # the evidence the L3 anchor asks for
    evidence = page.locator("[data-testid=evidence-quality_strategy]")
    evidence.fill("质量战略规划（HL-2024-0104）\n战略评估与调整记录（HL-2024-0105）")
    part = page.locator("[data-testid=item-participation]")
    part.locator("[role=radio]", has_text="L3 保证级").click()
    hint = page.locator("[data-testid=hint-participation]")
    hint.wait_for()  # L3 without evidence: the warning next to the field
    assert "须列明证据" in hint.inner_text()
    page.screenshot(path=str(screenshots / "assessment-fill-b.png"))

    # evidence files: a good one, an empty one, one too large, one of a refused type
    page.locator("[data-testid=files-quality_strategy]").click()
    upload = page.locator("[data-testid=upload-quality_strategy] input[type=file]")
    upload.set_input_files(
        {"name": "strategy.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 plan"}
    )
    page.locator("[data-testid=file-quality_strategy]", has_text="strategy.pdf").wait_for()
    error = page.locator("[data-testid=upload-error-quality_strategy]")
    upload.set_input_files({"name": "empty.pdf", "mimeType": "application/pdf", "buffer": b""})
    page.get_by_text("文件为空：请选择有内容的文件。").wait_for()
    page.screenshot(path=str(screenshots / "assessment-upload-error.png"))
    upload.set_input_files(
        {"name": "tool.exe", "mimeType": "application/octet-stream", "buffer": b"MZ"}
    )
    page.get_by_text("不支持的文件类型“.exe”", exact=False).wait_for()
    # from a file: a buffer this large through the browser protocol stalls the page
    big = tmp_path / "big.pdf"
    with big.open("wb") as f:
        f.truncate(20 * 1024 * 1024 + 1)
    upload.set_input_files(str(big))
    page.get_by_text("文件过大：最大 20 MB", exact=False).wait_for()
    assert error.is_visible()
    files = api(f"/assessments/{aid}/evidence")["items"]
    assert [f["filename"] for f in files if f["indicator_id"] == "quality_strategy"] == [
        "strategy.pdf"
    ]

    page.locator("[data-testid=save]").click()
    page.get_by_text("草稿已保存").wait_for()
    page.locator("[data-testid=dirty]").wait_for(state="hidden")
    saved = api(f"/assessments/{aid}")["answers"]
    assert saved["quality_strategy"]["level"] == 3
    assert saved["quality_strategy"]["evidence"] == [
        "质量战略规划（HL-2024-0104）",
        "战略评估与调整记录（HL-2024-0105）",
    ]
    assert saved["participation"]["level"] == 3 and saved["participation"]["evidence"] == []

    page.reload()
    progress.wait_for()
    assert progress.inner_text() == "已答 26 / 26"
    checked = page.locator("[data-testid=level-quality_strategy] [aria-checked=true]")
    assert "L3 保证级" in checked.inner_text()
    assert "HL-2024-0105" in evidence.input_value()
    checked = page.locator("[data-testid=level-participation] [aria-checked=true]")
    assert "L3 保证级" in checked.inner_text()
    # an item with files shows them opened
    page.locator("[data-testid=file-quality_strategy]", has_text="strategy.pdf").wait_for()
    page.screenshot(path=str(screenshots / "assessment-saved-b.png"))

    expected = api("/assessments/compute", {"year": 2024})
    page.locator("[data-testid=compute]").click()
    badge = page.locator("[data-testid=preview-box] [data-testid=level-badge]")
    badge.wait_for()
    assert f"L{expected['level']} {expected['level_name']['zh']}" in badge.inner_text()
    box = page.locator("[data-testid=preview-box]")
    assert expected["metrics"]["cpk"]["display"] in box.inner_text()
    page.screenshot(path=str(screenshots / "assessment-computed-b.png"), full_page=True)

    page.locator("[data-testid=declare]").click()
    dialog = page.locator("[data-testid=declare-dialog]")
    dialog.wait_for()
    assert "锁定" in dialog.inner_text()
    page.screenshot(path=str(screenshots / "assessment-declare-dialog.png"))
    page.locator("[data-testid=declare-confirm]").click()
    page.locator("[data-testid=locked]").wait_for(timeout=60_000)
    assert page.locator("[data-testid=status]").inner_text() == "已自我声明"
    assert page.locator("[data-testid=save]").count() == 0
    assert page.locator("[data-testid=declare]").count() == 0
    assert page.locator("[data-testid=level-quality_strategy] [aria-disabled=true]").count() == 5
    declared = api(f"/assessments/{aid}")
    assert declared["status"] == "self_declared" and declared["locked"] is True
    assert declared["level"] == expected["level"]
    assert declared["declared_by"]["username"] == "admin"
    page.screenshot(path=str(screenshots / "assessment-declared-b.png"))

    page.locator("[data-testid=lang-switch]").click()
    page.get_by_text("Self-declared on").wait_for()
    assert page.locator("[data-testid=status]").inner_text() == "self-declared"
    assert "Answered 26 / 26" in page.locator("[data-testid=progress]").inner_text()
    assert page.get_by_role("tab", name=re.compile("Effectiveness of the quality")).count() == 1
    page.screenshot(path=str(screenshots / "assessment-declared-b-en.png"))
    page.locator("[data-testid=result]").click()
    page.locator("[data-testid=level-badge]").wait_for()
    assert page.get_by_text("Gaps to the next level").count() == 1
    page.screenshot(path=str(screenshots / "assessment-result-b-en.png"), full_page=True)


def test_assessor_reads_the_shared_declaration_and_verifies(
    page: Any, screenshots: Path, web_server: str
) -> None:
    declared = _latest(_api(web_server, "demo", CODE_A))
    other = _latest(_api(web_server, "admin", CODE_B))
    login(page, "assessor")
    page.goto("/assessment")
    page.get_by_text("仅显示与您共享的评价。").wait_for()
    rows = page.locator("[data-testid=assessment-table] tbody tr")
    assert rows.count() == 1
    assert "已自我声明" in rows.first.inner_text()
    assert page.locator("[data-testid=start-draft]").is_hidden()
    assert page.locator("[data-testid=preview]").is_hidden()
    rows.first.click()
    page.wait_for_url(re.compile(rf"/assessment/{declared['id']}$"))
    page.locator("[data-testid=locked]").wait_for()
    for testid in ("save", "declare", "compute", "upload-quality_strategy"):
        assert page.locator(f"[data-testid={testid}]").count() == 0, testid
    assert page.locator("[data-testid=level-quality_strategy] [aria-disabled=true]").count() == 5
    page.screenshot(path=str(screenshots / "assessment-assessor.png"))

    page.locator("[data-testid=result]").click()
    badge = page.locator("[data-testid=level-badge]")
    badge.wait_for()
    assert "L3" in badge.inner_text()
    page.locator("[data-testid=back]").click()

    page.locator("[data-testid=verify]").click()
    page.locator("[data-testid=verify-dialog]").wait_for()
    page.locator("[data-testid=verify-note]").fill("现场核验：证据齐全。")
    page.locator("[data-testid=verify-confirm]").click()
    page.locator("[data-testid=locked]", has_text="核验").wait_for()
    assert page.locator("[data-testid=status]").inner_text() == "已第三方评价"
    assert page.locator("[data-testid=verify]").count() == 0
    page.screenshot(path=str(screenshots / "assessment-verified.png"))
    verified = _latest(_api(web_server, "demo", CODE_A))
    assert verified["status"] == "verified"
    assert verified["verified_by"]["username"] == "assessor"

    # an assessment not shared with the assessor (another organization's) is not found
    page.goto(f"/assessment/{other['id']}")
    error = page.locator("[data-testid=page-error]")
    error.wait_for()
    assert "no assessment" in error.inner_text()
    assert page.locator("[data-testid=progress]").count() == 0
