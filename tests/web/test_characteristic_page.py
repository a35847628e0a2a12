"""The characteristic page in a real browser: control chart and a violation explained, freezing
limits (reason required, phase II), CSV download, the sixpack, a supplier's "not found",
English. The numbers are cross-checked against the API (the same services) on the same server.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from webtools import PLANT_A, Api, login

from zhuoyue.reports._text import fmt_num

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def api(browser: Any, web_server: str) -> Iterator[Api]:
    a = Api(browser, web_server, "engineer")
    try:
        yield a
    finally:
        a.context.close()


@pytest.fixture(scope="module")
def c40(api: Api) -> int:
    """The id of C40-01 (the binding key characteristic of plant A)."""
    return int(api.get("/characteristics/C40-01")["id"])


def _field(page: Any, testid: str) -> Any:
    """The whole form field (label, control and its message) of the control ``testid``."""
    return page.locator(f"[data-testid={testid}]").locator(
        "xpath=ancestor::label[contains(@class, 'q-field')]"
    )


def _tooltip_of_first_signal(page: Any, words: str = "构成该模式的点") -> str:
    """Hover the first red (signalling) point of the control chart; the tooltip's text."""
    xy = page.evaluate(
        """() => {
          const el = document.querySelector('[data-testid=control-chart]');
          const chart = getElement(el.id.slice(1)).chart;
          const opt = chart.getOption();
          const si = opt.series.findIndex(s => s.type === 'scatter' && s.data.length);
          const d = opt.series[si].data[0];
          const px = chart.convertToPixel({seriesIndex: si}, [d[0], d[1]]);
          const r = el.getBoundingClientRect();
          return [r.left + px[0], r.top + px[1]];
        }"""
    )
    page.mouse.move(xy[0], xy[1])
    tip = page.locator("[data-testid=control-chart] div").filter(has_text=words).last
    tip.wait_for()
    return str(tip.inner_text())


def test_open_c40_01_from_the_overview_and_read_a_violation(
    page: Any, screenshots: Path, api: Api, c40: int
) -> None:
    login(page, "demo", org=PLANT_A)
    worst = page.locator("[data-testid=worst]")
    worst.get_by_text("C40-01").click()
    page.wait_for_url(re.compile(rf"/characteristics/{c40}$"))
    page.locator("[data-testid=control-chart] canvas").first.wait_for()
    assert "C40-01 轴承位外径" in page.locator("[data-testid=chr-title]").inner_text()
    assert page.locator("[data-testid=chr-key]").is_visible()
    facts = page.locator("[data-testid=chr-facts]").inner_text()
    assert "OP40" in facts and "25.002" in facts and "25.011" in facts and "25.0065" in facts

    chart = api.get(f"/characteristics/{c40}/chart")
    n = chart["n_points"]
    assert page.locator("[data-testid=chr-downsample]").inner_text() == f"显示全部 {n} 点"
    phase = page.locator("[data-testid=chr-phase-I]").inner_text()
    assert f"{chart['phase1_points']:,} 个点".replace(",", " ") in phase
    # every test that fires is in the table, in words, with its number of points
    table = page.locator("[data-testid=chr-violations]").inner_text()
    xbar = chart["panels"]["xbar"]["violations"]
    fired = sorted({v["rule"] for v in xbar})
    assert 2 in fired  # the saw-tooth of the wheel wear: runs on one side
    assert "连续 9 点落在中心线同一侧" in table
    test2 = len({v["index"] for v in xbar if v["rule"] == 2})
    row = page.locator(
        "[data-testid=chr-violations] tbody tr", has_text="连续 9 点落在中心线同一侧"
    )
    assert str(test2) in row.inner_text().split()
    page.screenshot(path=str(screenshots / "characteristic-chart.png"), full_page=True)

    tip = _tooltip_of_first_signal(page)
    first = min(v["index"] for v in xbar)
    assert f"点 {first + 1}" in tip
    assert "检验" in tip and "构成该模式的点" in tip
    page.screenshot(path=str(screenshots / "characteristic-tooltip.png"))


def test_freeze_needs_a_reason_then_phase_two_then_unfreeze(
    page: Any, screenshots: Path, api: Api, c40: int
) -> None:
    login(page, "engineer")
    page.goto(f"/characteristics/{c40}")
    page.locator("[data-testid=control-chart] canvas").first.wait_for()
    page.locator("[data-testid=chr-no-history]").wait_for()
    page.locator("[data-testid=chr-freeze]").click()
    # the message is next to the field, and nothing is frozen
    _field(page, "chr-freeze-reason").get_by_text("请填写原因").wait_for()
    assert page.locator("[data-testid=chr-phase-I]").is_visible()
    page.screenshot(path=str(screenshots / "characteristic-freeze-error.png"), full_page=True)

    reason = "砂轮修整后的过程能力研究，222 个子组"
    page.locator("[data-testid=chr-freeze-reason]").fill(reason)
    page.locator("[data-testid=chr-freeze]").click()
    phase2 = page.locator("[data-testid=chr-phase-II]")
    phase2.wait_for()
    text = phase2.inner_text()
    assert "阶段 II" in text and reason in text and "李明" in text
    history = api.get(f"/characteristics/{c40}/limits")
    assert history[0]["active"] and history[0]["reason"] == reason
    assert history[0]["frozen_by"]["username"] == "engineer"
    chart = api.get(f"/characteristics/{c40}/chart")
    assert chart["limits_source"] == "frozen"
    assert f"中心 {fmt_num(history[0]['center'])}" in text
    page.locator("[data-testid=chr-history]").get_by_text(reason).wait_for()
    page.screenshot(path=str(screenshots / "characteristic-phase2.png"), full_page=True)

    page.locator("[data-testid=chr-unfreeze]").click()
    _field(page, "chr-unfreeze-reason").get_by_text("请填写原因").wait_for()
    assert page.locator("[data-testid=chr-phase-II]").is_visible()  # still frozen
    page.locator("[data-testid=chr-unfreeze-reason]").fill("换新砂轮，重新研究")
    page.locator("[data-testid=chr-unfreeze]").click()
    page.locator("[data-testid=chr-phase-I]").wait_for()
    assert api.get(f"/characteristics/{c40}/limits")[0]["active"] is False
    page.locator("[data-testid=chr-history]").get_by_text("换新砂轮，重新研究").wait_for()


def test_download_the_csv_of_all_and_of_a_date_range(
    page: Any, screenshots: Path, api: Api, c40: int
) -> None:
    login(page, "engineer")
    page.goto(f"/characteristics/{c40}")
    rows_label = page.locator("[data-testid=chr-rows]")
    rows_label.get_by_text("最新在前").wait_for()
    total = api.get(f"/characteristics/{c40}/measurements", limit=1)["total"]
    assert rows_label.inner_text() == f"共 {total:,} 条，最新在前".replace(",", " ")
    newest = api.get(f"/characteristics/{c40}/measurements", limit=1, offset=total - 1)
    first_row = page.locator("[data-testid=chr-measurements] tbody tr").first.inner_text()
    assert newest["items"][0]["ts"][:19].replace("T", " ") in first_row  # newest first

    def download() -> list[list[str]]:
        with page.expect_download() as info:
            page.locator("[data-testid=chr-csv]").click()
        data = Path(info.value.path()).read_bytes()
        return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))

    table = download()
    assert table[0] == [
        "characteristic",
        "ts",
        "subgroup",
        "value",
        "lot",
        "serial",
        "machine",
        "operator",
    ]
    assert len(table) - 1 == total
    assert {r[0] for r in table[1:]} == {"C40-01"}

    # a date range: validated next to the field, then applied (the URL keeps it)
    page.locator("[data-testid=chr-start]").fill("2024-13-01")
    page.locator("[data-testid=chr-apply]").click()
    _field(page, "chr-start").get_by_text("请按 YYYY-MM-DD 输入日期").wait_for()
    page.locator("[data-testid=chr-start]").fill("2024-03-01")
    page.locator("[data-testid=chr-end]").fill("2024-03-31")
    page.locator("[data-testid=chr-apply]").click()
    page.wait_for_url(re.compile(r"start=2024-03-01&end=2024-03-31"))
    page.locator("[data-testid=control-chart] canvas").first.wait_for()
    march = api.get(
        f"/characteristics/{c40}/measurements",
        start="2024-03-01T00:00:00",
        end="2024-04-01T00:00:00",
        limit=1,
    )["total"]
    assert 0 < march < total
    page.locator("[data-testid=chr-rows]").get_by_text(f"共 {march} 条").wait_for()
    table = download()
    assert len(table) - 1 == march
    assert all(r[1].startswith("2024-03-") for r in table[1:])
    page.screenshot(path=str(screenshots / "characteristic-range.png"), full_page=True)


def test_the_capability_sixpack(page: Any, screenshots: Path, api: Api, c40: int) -> None:
    login(page, "engineer")
    page.goto(f"/characteristics/{c40}")
    page.locator("[data-testid=control-chart] canvas").first.wait_for()
    page.locator("[data-testid=chr-sixpack-toggle]").click()
    for testid in ("chr-histogram", "chr-probability", "chr-last"):
        page.locator(f"[data-testid={testid}] canvas").first.wait_for()
    cap = api.get(f"/characteristics/{c40}/capability")
    indices = page.locator("[data-testid=chr-indices]").inner_text()
    for key, label in (("cp", "Cp"), ("cpk", "Cpk"), ("pp", "Pp"), ("ppk", "Ppk")):
        row = page.locator("[data-testid=chr-indices] tbody tr").filter(
            has=page.get_by_text(label, exact=True)
        )
        assert f"{cap[key]:.3f}" in row.inner_text(), (label, indices)
    assert "1.4" in f"{cap['cpk']:.3f}"  # the binding Cpk ≈ 1.45 of the demo story
    ad = page.locator("[data-testid=chr-ad]").inner_text()
    assert f"A² = {cap['normality']['statistic']:.3f}" in ad
    conventions = page.locator("[data-testid=chr-conventions]").inner_text()
    assert "合并标准差法" in conventions and f"{cap['n']} 个数据" in conventions
    page.locator("[data-testid=chr-sixpack]").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "characteristic-sixpack.png"), full_page=True)


def test_a_supplier_sees_only_shared_characteristics(
    page: Any, screenshots: Path, api: Api, c40: int
) -> None:
    login(page, "supplier")
    page.goto(f"/characteristics/{c40}")
    page.locator("[data-testid=chr-not-found]").wait_for()
    assert page.locator("[data-testid=control-chart]").count() == 0
    assert "C40-01" not in page.locator("body").inner_text()
    page.screenshot(path=str(screenshots / "characteristic-supplier-not-found.png"))
    page.goto("/characteristics/C40-01")  # by code: the same
    page.locator("[data-testid=chr-not-found]").wait_for()
    page.goto("/characteristics/999999")
    page.locator("[data-testid=chr-not-found]").wait_for()

    shared = int(api.get("/characteristics/C30-01")["id"])
    page.goto(f"/characteristics/{shared}")
    page.locator("[data-testid=control-chart] canvas").first.wait_for()
    assert "C30-01" in page.locator("[data-testid=chr-title]").inner_text()
    page.get_by_text("您的角色无权冻结控制限").wait_for()
    assert page.locator("[data-testid=chr-freeze]").count() == 0
    page.screenshot(path=str(screenshots / "characteristic-supplier-shared.png"), full_page=True)


def test_english(page: Any, screenshots: Path, c40: int) -> None:
    login(page, "demo", org=PLANT_A)
    page.goto(f"/characteristics/{c40}")
    page.locator("[data-testid=control-chart] canvas").first.wait_for()
    page.get_by_role("button", name="English").click()
    page.get_by_text("Control chart · Xbar-R chart").wait_for()
    table = page.locator("[data-testid=chr-violations]").inner_text()
    assert "9 points in a row on the same side of the centre line" in table
    assert page.locator("[data-testid=chr-downsample]").inner_text().startswith("Showing all")
    page.locator("[data-testid=control-chart] canvas").first.wait_for()
    page.wait_for_timeout(300)  # the chart is drawn
    tip = _tooltip_of_first_signal(page, "points forming the pattern")
    assert re.search(r"Test \d: ", tip), tip
    page.screenshot(path=str(screenshots / "characteristic-en.png"), full_page=True)


def test_tablet_layout(browser: Any, web_server: str, screenshots: Path, c40: int) -> None:
    context = browser.new_context(viewport={"width": 768, "height": 1024}, base_url=web_server)
    context.set_default_timeout(30_000)
    pg = context.new_page()
    try:
        login(pg, "engineer")
        pg.goto(f"/characteristics/{c40}")
        pg.locator("[data-testid=control-chart] canvas").first.wait_for()
        pg.locator("[data-testid=chr-rows]").get_by_text("最新在前").wait_for()
        width = pg.evaluate("document.documentElement.scrollWidth")
        assert width <= 768 + 1, width
        pg.screenshot(path=str(screenshots / "characteristic-tablet.png"), full_page=True)
    finally:
        context.close()
