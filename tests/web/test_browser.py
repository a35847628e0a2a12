"""The first journeys in a real browser: log in, read the overview, switch language, log out."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from webtools import PLANT_A, login

from zhuoyue.demo.factory import DEMO_PASSWORD

pytestmark = pytest.mark.slow


def _login(page: Any, username: str, password: str) -> None:
    page.goto("/login")
    page.locator("input").first.fill(username)
    page.locator("input[type=password]").fill(password)
    page.get_by_role("button", name="登录").click()


def test_unauthenticated_overview_redirects_to_login(page: Any, screenshots: Path) -> None:
    page.goto("/")
    page.wait_for_url(re.compile(r"/login$"))
    page.get_by_role("button", name="登录").wait_for()
    page.screenshot(path=str(screenshots / "login.png"))


def test_wrong_password_shows_the_error_next_to_the_field(page: Any, screenshots: Path) -> None:
    _login(page, "demo", "not-the-password")
    page.get_by_text("用户名或密码错误").wait_for()
    assert page.url.endswith("/login")
    page.screenshot(path=str(screenshots / "login-error.png"))


def test_empty_fields_are_reported(page: Any) -> None:
    page.goto("/login")
    page.get_by_role("button", name="登录").click()
    page.get_by_text("请输入用户名").wait_for()
    page.get_by_text("请输入密码").wait_for()


def test_overview_in_chinese_then_english_then_logout(page: Any, screenshots: Path) -> None:
    _login(page, "demo", DEMO_PASSWORD)
    page.wait_for_url(re.compile(r"/$"))
    badge = page.locator("[data-testid=level-badge]")
    badge.wait_for()
    # demo works first in plant B (the first organization by code), a viewer there: L2
    assert "检验级" in badge.inner_text()
    page.screenshot(path=str(screenshots / "overview-plant-b.png"), full_page=True)
    page.locator("[data-testid=org-switch]").click()
    page.get_by_role("option", name="苏州精工汽车零部件有限公司").click()
    page.get_by_text("质量驾驶舱 · 苏州精工汽车零部件有限公司").wait_for()
    badge = page.locator("[data-testid=level-badge]")
    assert "保证级" in badge.inner_text()
    page.get_by_text("质量驾驶舱").first.wait_for()
    page.get_by_text("C40-01").first.wait_for()  # the binding key characteristic, lowest Cpk
    page.locator("canvas").first.wait_for()  # the aspect radar
    page.locator("[data-testid=trend-cpk] canvas").wait_for()  # the monthly trends
    page.locator("[data-testid=trend-rolled_yield] canvas").wait_for()
    alarms = page.locator("[data-testid=alarms]")
    assert "判异" in alarms.inner_text()
    # no value has come through the online monitor yet: no open alarm
    assert "没有未处理的报警" in page.locator("[data-testid=open-alarms]").inner_text()
    page.screenshot(path=str(screenshots / "overview-zh.png"), full_page=True)

    page.get_by_role("button", name="English").click()
    page.get_by_text("Quality cockpit").first.wait_for()
    badge = page.locator("[data-testid=level-badge]")
    badge.wait_for()
    assert "Assurance" in badge.inner_text()
    page.screenshot(path=str(screenshots / "overview-en.png"), full_page=True)

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"/login$"))
    page.goto("/")
    page.wait_for_url(re.compile(r"/login$"))  # the session has ended


def test_api_and_health_still_answer(web_server: str) -> None:
    import urllib.request

    for path in ("/health", "/docs", "/openapi.json"):
        with urllib.request.urlopen(web_server + path, timeout=10) as r:
            assert r.status == 200, path


def test_supplier_overview_shows_only_shared_characteristics(page: Any, screenshots: Path) -> None:
    login(page, "supplier")
    page.get_by_text("您的角色无权查看本组织的等级评价").wait_for()
    worst = page.locator("[data-testid=worst]")
    worst.wait_for()
    codes = re.findall(r"\bC\d\d-\d\d\b", worst.inner_text())
    assert codes and all(c.startswith("C30-") for c in codes), codes
    alarm_text = page.locator("[data-testid=alarms]").inner_text()
    assert all(c.startswith("C30-") for c in re.findall(r"\bC\d\d-\d\d\b", alarm_text))
    nav = page.locator("header").inner_text()
    assert "特性与SPC" in nav and "等级自评" not in nav and "管理" in nav and "数据导入" not in nav
    page.screenshot(path=str(screenshots / "overview-supplier.png"), full_page=True)


def test_tablet_layout_has_a_menu_and_no_horizontal_scroll(
    browser: Any, web_server: str, screenshots: Path
) -> None:
    context = browser.new_context(viewport={"width": 768, "height": 1024}, base_url=web_server)
    context.set_default_timeout(30_000)
    pg = context.new_page()
    try:
        login(pg, "demo", org=PLANT_A)
        pg.locator("[data-testid=level-badge]").wait_for()
        pg.locator("[data-testid=trend-cpk] canvas").wait_for()
        menu = pg.locator("[data-testid=nav-menu]")
        assert menu.is_visible()
        assert not pg.locator("[data-testid=nav-kpis]").is_visible()
        width = pg.evaluate("document.documentElement.scrollWidth")
        assert width <= 768 + 1, width
        pg.screenshot(path=str(screenshots / "overview-tablet.png"), full_page=True)
        menu.click()
        pg.locator(".q-menu").get_by_text("质量指标").click()
        pg.wait_for_url(re.compile(r"/kpis$"))
    finally:
        context.close()
