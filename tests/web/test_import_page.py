"""The import page in a real browser: download the template, upload it with a bad cell and read
the error table (nothing written), upload a good zip, preview, commit with progress, read the
summary, upload it again (all already present); a viewer may not import."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from webtools import PASSWORDS, PLANT_A, PLANT_B, login

pytestmark = pytest.mark.slow

CHAR = "C40-01"  # a key characteristic of plant A
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def zipped(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, body in files.items():
            z.writestr(name, body)
    return buf.getvalue()


def upload(page: Any, name: str, content: bytes, mime: str = "application/zip") -> None:
    page.locator("[data-testid=imp-upload] input[type=file]").set_input_files(
        files=[{"name": name, "mimeType": mime, "buffer": content}]
    )


def measurement_total(page: Any, username: str) -> int:
    """The number of measurements of CHAR in plant A, read through the API (its service)."""
    r = page.request.post(
        "/api/v1/auth/login",
        data={"username": username, "password": PASSWORDS[username], "org": "jinggong-auto"},
        headers={"X-Requested-With": "fetch"},
    )
    assert r.ok, r.text()
    r = page.request.get(f"/api/v1/characteristics/{CHAR}/measurements?limit=1")
    assert r.ok, r.text()
    return int(r.json()["total"])


def cells(table: Any) -> list[list[str]]:
    return [
        [c.strip() for c in row.locator("td").all_inner_texts()]
        for row in table.locator("tbody tr").all()
    ]


def test_bad_then_good_file_then_again(page: Any, screenshots: Path, tmp_path: Path) -> None:
    login(page, "engineer")
    assert "数据导入" in page.locator("header").inner_text()
    page.locator("[data-testid=nav-import]").click()
    page.wait_for_url(re.compile(r"/import$"))
    page.locator("[data-testid=imp-empty]").wait_for()
    page.screenshot(path=str(screenshots / "import-empty.png"), full_page=True)
    before = measurement_total(page, "engineer")

    # the template, downloaded from the page, with a cell that is not a number
    with page.expect_download() as info:
        page.locator("[data-testid=imp-template]").click()
    path = tmp_path / "template.xlsx"
    info.value.save_as(path)
    wb = openpyxl.load_workbook(path)
    assert {"enterprise", "measurements", "characteristics"} <= set(wb.sheetnames)
    ws = wb["measurements"]
    ws["A2"], ws["B2"], ws["D2"] = CHAR, "2024-12-31 23:57:01", 20.01
    ws["A3"], ws["B3"], ws["D3"] = CHAR, "2024-12-31 23:57:02", "12,5x"
    ws["A4"], ws["B4"], ws["D4"] = CHAR, "2024-12-31 23:57:03", "abc"
    wb.save(path)
    upload(page, "自评估.xlsx", path.read_bytes(), XLSX)
    errors = page.locator("[data-testid=imp-errors]")
    errors.wait_for()
    title = page.locator("[data-testid=imp-invalid-title]").inner_text()
    assert "自评估.xlsx" in title and "2 个问题" in title and "未写入任何数据" in title
    rows = cells(errors)
    assert [r[:4] for r in rows] == [
        ["measurements", "3", "value", "12,5x"],
        ["measurements", "4", "value", "abc"],
    ]
    assert "is not a number" in rows[0][5]
    assert not page.locator("[data-testid=imp-commit]").count()
    page.screenshot(path=str(screenshots / "import-errors.png"), full_page=True)
    assert measurement_total(page, "engineer") == before  # nothing written

    # a zip of one CSV file: four new measurements of the characteristic
    body = "characteristic,ts,value\n" + "".join(
        f"{CHAR},2024-12-31 23:58:{i:02d},{20.0 + i / 100:.2f}\n" for i in range(1, 5)
    )
    good = zipped({"plant/measurements.csv": body, "plant/readme.txt": "notes"})
    upload(page, "good.zip", good)
    preview = page.locator("[data-testid=imp-preview]")
    preview.wait_for()
    assert "good.zip" in page.locator("[data-testid=imp-preview-card]").inner_text()
    # table, rows, inserted, already present, updated, conflicting
    assert cells(preview) == [["测量", "4", "4", "0", "0", "0"]]
    assert "readme.txt" in page.locator("[data-testid=imp-warnings]").inner_text()
    page.screenshot(path=str(screenshots / "import-preview.png"), full_page=True)
    assert measurement_total(page, "engineer") == before  # a preview writes nothing

    page.locator("[data-testid=imp-commit]").click()
    summary = page.locator("[data-testid=imp-summary]")
    summary.wait_for()
    totals = page.locator("[data-testid=imp-totals]").inner_text()
    assert "新增 4 行" in totals and "已存在 0 行" in totals
    assert cells(page.locator("[data-testid=imp-summary-table]")) == [["测量", "4", "4", "0", "0"]]
    page.screenshot(path=str(screenshots / "import-summary.png"), full_page=True)
    assert measurement_total(page, "engineer") == before + 4

    # the same file again: every row is already present, nothing to commit
    upload(page, "good.zip", good)
    page.locator("[data-testid=imp-nothing-new]").wait_for()
    assert cells(page.locator("[data-testid=imp-preview]")) == [["测量", "4", "0", "4", "0", "0"]]
    assert page.locator("[data-testid=imp-commit]").is_disabled()
    page.screenshot(path=str(screenshots / "import-again.png"), full_page=True)
    assert measurement_total(page, "engineer") == before + 4

    # on a tablet the page fits the width
    page.set_viewport_size({"width": 768, "height": 1024})
    page.wait_for_timeout(300)
    assert page.evaluate("document.documentElement.scrollWidth") <= 768 + 1
    page.screenshot(path=str(screenshots / "import-tablet.png"), full_page=True)


def test_bad_files_as_quality_manager(page: Any, screenshots: Path) -> None:
    login(page, "demo", org=PLANT_A)  # quality manager of plant A
    page.goto("/import")
    upload(page, "data.zip", b"characteristic,ts,value\n", "application/zip")
    box = page.locator("[data-testid=imp-file-error]")
    box.wait_for()
    assert "无法读取文件" in box.inner_text() and "neither a workbook" in box.inner_text()
    assert "/tmp" not in box.inner_text()
    page.screenshot(path=str(screenshots / "import-bad-file.png"), full_page=True)

    # thousands of problems: counted, the first 1,000 listed, paged and filterable
    body = "characteristic,ts,value\n" + "".join(
        f"{CHAR},2024-06-01 {i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d},x{i}\n"
        for i in range(1500)
    )
    upload(page, "many.zip", zipped({"measurements.csv": body}))
    title = page.locator("[data-testid=imp-invalid-title]")
    title.wait_for()
    assert "1,500 个问题" in title.inner_text() and "列出前 1,000 个" in title.inner_text()
    errors = page.locator("[data-testid=imp-errors]")
    assert len(cells(errors)) == 25
    assert "1-25 / 1000" in errors.inner_text()
    page.locator("[data-testid=imp-filter]").fill("x777")
    page.wait_for_timeout(300)
    assert [r[:4] for r in cells(errors)] == [["measurements", "779", "value", "x777"]]
    page.screenshot(path=str(screenshots / "import-many-errors.png"), full_page=True)


def test_a_viewer_may_not_import(page: Any, screenshots: Path) -> None:
    login(page, "demo", org=PLANT_B)  # a viewer in plant B
    header = page.locator("header").inner_text()
    assert PLANT_B in page.locator("[data-testid=org-switch]").inner_text()
    assert "数据导入" not in header and not page.locator("[data-testid=nav-import]").count()
    page.goto("/import")
    denied = page.locator("[data-testid=imp-denied]")
    denied.wait_for()
    assert "无权导入" in denied.inner_text()
    assert not page.locator("[data-testid=imp-upload]").count()
    page.screenshot(path=str(screenshots / "import-viewer.png"), full_page=True)
    page.locator("[data-testid=lang-switch]").click()
    page.locator("[data-testid=imp-denied]", has_text="may not import data").wait_for()
