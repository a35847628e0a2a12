"""Live in the browser: values fed to the monitor (HTTP feed, the MQTT path's pipeline) push new
alarms to the alarms page and new points to the characteristic's chart without a reload; an
alarm is acknowledged with its cause and action (errors next to the fields)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from webtools import PASSWORDS, PLANT_A, login

pytestmark = pytest.mark.slow

XHR = {"X-Requested-With": "fetch"}


def _api(page: Any, method: str, path: str, **kw: Any) -> Any:
    r = page.request.fetch("/api/v1" + path, method=method, headers=XHR, **kw)
    assert r.ok, r.text()
    return r.json() if r.text() else None


def _total(note: str) -> int:
    numbers = [int(n.replace(",", "").replace(" ", "")) for n in re.findall(r"[\d][\d, ]*", note)]
    return max(numbers)


def test_alarms_and_points_arrive_live(page: Any, screenshots: Path) -> None:
    login(page, "demo", org=PLANT_A)
    # the API session of the same browser (the web app's login is its own)
    body = {"username": "demo", "password": PASSWORDS["demo"], "org": "jinggong-auto"}
    _api(page, "POST", "/auth/login", data=body)
    # C40-01 gets frozen limits: from now on its values are judged online
    limits = _api(page, "POST", "/characteristics/C40-01/limits", data={"reason": "live test"})
    center, sigma = limits["center"], limits["sigma"]
    char = _api(page, "GET", "/characteristics/C40-01")
    page.goto("/alarms")
    page.locator("[data-testid=al-status]").wait_for()
    before = page.locator("[data-testid=al-table] tbody tr").count()
    t0 = datetime(2025, 1, 6, 8, tzinfo=UTC)
    items = [
        {"characteristic": "C40-01", "ts": (t0 + timedelta(minutes=i)).isoformat(),
         "value": center + (8 * sigma if i < 5 else 0.0), "subgroup": 900_000 + i // 5,
         "id": f"live-{i}"}
        for i in range(10)
    ]  # fmt: skip
    fed = _api(page, "POST", "/feed", data=items)
    assert fed["stored"] == 10 and fed["alarms_opened"]
    # pushed: the new alarm appears without a reload
    page.locator(".q-notification", has_text="新报警：").first.wait_for()
    row = page.locator("[data-testid=al-table] tbody tr", has_text="C40-01").first
    row.wait_for()
    assert page.locator("[data-testid=al-table] tbody tr").count() > before
    assert "检验 1" in row.inner_text()
    page.screenshot(path=str(screenshots / "alarms-live.png"), full_page=True)

    # acknowledge: both fields are required
    row.locator("[data-testid=al-ack]").click()
    page.locator("[data-testid=al-save]").click()
    page.get_by_text("请填写异常原因").wait_for()
    page.get_by_text("请填写纠正措施").wait_for()
    page.screenshot(path=str(screenshots / "alarms-ack-errors.png"))
    page.get_by_label("异常原因（可归因原因）").fill("砂轮磨损")
    page.get_by_label("纠正措施").fill("修整砂轮，复测 5 件合格")
    page.locator("[data-testid=al-save]").click()
    page.get_by_text("报警已处理").wait_for()
    done = _api(page, "GET", "/alarms", params={"status": "acknowledged"})
    assert any(a["assignable_cause"] == "砂轮磨损" for a in done["items"])

    # the chart follows the stream: more values, more points, no reload
    page.goto(f"/characteristics/{char['id']}")
    note = page.locator("[data-testid=chr-downsample]")
    note.wait_for()
    shown_before = _total(note.inner_text())
    more = [
        {"characteristic": "C40-01", "ts": (t0 + timedelta(hours=1, minutes=i)).isoformat(),
         "value": center, "subgroup": 910_000 + i // 5, "id": f"live-more-{i}"}
        for i in range(25)
    ]  # fmt: skip
    assert _api(page, "POST", "/feed", data=more)["stored"] == 25
    page.wait_for_function(
        "(n) => { const t = document.querySelector('[data-testid=chr-downsample]').innerText;"
        " return Math.max(...(t.replace(/[, ]/g, '').match(/\\d+/g) || []).map(Number)) > n; }",
        arg=shown_before,
        timeout=30_000,
    )
    assert _total(note.inner_text()) == shown_before + 5  # five more subgroups of five
    page.screenshot(path=str(screenshots / "characteristic-live.png"), full_page=True)


def test_a_supplier_gets_no_alarm_of_a_characteristic_not_shared(page: Any) -> None:
    login(page, "supplier")
    page.goto("/alarms")
    page.locator("[data-testid=al-status]").wait_for()
    text = page.locator("main, .q-page").first.inner_text()
    assert "C40-01" not in text  # plant A's C40-01 is not shared with the supplier
    codes = set(re.findall(r"\bC\d\d-\d\d\b", text))
    assert all(c.startswith("C30-") for c in codes), codes
