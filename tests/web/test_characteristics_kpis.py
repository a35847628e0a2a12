"""The characteristics list and the KPIs page in a real browser: the table and its filters, the
Cpk heat map, opening a characteristic; rolled yield, the cost Pareto and the loss rates;
English; a supplier's shared-only view and its "not allowed" KPIs. The numbers are
cross-checked against the REST API (the same services) on the same server.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from webtools import PLANT_A, Api, login

pytestmark = pytest.mark.slow

CODE = re.compile(r"\bC\d\d-\d\d\b")


@pytest.fixture(scope="module")
def api(browser: Any, web_server: str) -> Iterator[Api]:
    a = Api(browser, web_server, "demo")
    try:
        yield a
    finally:
        a.context.close()


@pytest.fixture(scope="module")
def overview(api: Api) -> list[dict[str, Any]]:
    """Every characteristic of plant A as the API's overview gives it."""
    return list(api.get("/overview/characteristics", limit=1000)["items"])


def _table_codes(page: Any) -> list[str]:
    rows = page.locator("[data-testid=chs-table] tbody tr")
    return [CODE.search(t).group(0) for t in rows.all_inner_texts() if CODE.search(t)]


def _row(page: Any, code: str) -> Any:
    return page.locator("[data-testid=chs-table] tbody tr").filter(has_text=code)


def _choose(page: Any, testid: str, option: str) -> None:
    page.locator(f"[data-testid={testid}]").click()
    page.get_by_role("option", name=option).click()


def _heat_cell(page: Any, code: str) -> tuple[float, float, int]:
    """The page position and id of the heat-map cell of ``code``."""
    xy: list[Any] = page.evaluate(
        """(code) => {
          const el = document.querySelector('[data-testid=chs-heatmap]');
          const chart = getElement(el.id.slice(1)).chart;
          const data = chart.getOption().series[0].data;
          const d = data.find(x => x.code === code);
          const px = chart.convertToPixel({seriesIndex: 0}, [d.value[0], d.value[1]]);
          const r = el.getBoundingClientRect();
          return [r.left + px[0], r.top + px[1], d.id];
        }""",
        code,
    )
    return float(xy[0]), float(xy[1]), int(xy[2])


def _heat_codes(page: Any) -> list[str]:
    codes: list[str] = page.evaluate(
        """() => {
          const el = document.querySelector('[data-testid=chs-heatmap]');
          return getElement(el.id.slice(1)).chart.getOption().series[0].data.map(d => d.code);
        }"""
    )
    return codes


def test_characteristics_table_filters_heatmap_and_opening_one(
    page: Any, screenshots: Path, overview: list[dict[str, Any]]
) -> None:
    login(page, "demo", org=PLANT_A)
    page.locator("[data-testid=nav-characteristics]").click()
    page.wait_for_url(re.compile(r"/characteristics$"))
    page.locator("[data-testid=chs-table]").wait_for()
    by_code = {r["code"]: r for r in overview}
    assert _table_codes(page) == [r["code"] for r in overview]  # by step, then code
    assert page.locator("[data-testid=chs-count]").inner_text() == (
        f"显示 {len(overview)} / 共 {len(overview)} 个特性"
    )

    # C40-01, the key characteristic that binds plant A's level: Cpk as the service gives it
    c40 = by_code["C40-01"]
    row = _row(page, "C40-01")
    assert re.fullmatch(r"\d\.\d\d", row.locator("[data-testid=chs-cpk]").inner_text())
    assert row.locator("[data-testid=chs-cpk]").inner_text() == f"{c40['cpk']:.2f}"
    cells = row.locator("td").all_inner_texts()
    assert f"{c40['ppk']:.2f}" in cells and "★" in cells and str(c40["n"]) in cells
    # the status and the last signal in words
    assert c40["in_control"] is False
    assert "失控" in row.inner_text()
    tests = c40["last_violation"]["tests"]
    assert all(f"检验{t}：" in row.inner_text() for t in tests)
    # every out-of-control characteristic shows as such (and only those)
    out = sorted(r["code"] for r in overview if r["in_control"] is False)
    assert out, "the demo has characteristics signalling now"
    shown_out = page.locator("[data-testid=chs-table] tbody tr").filter(
        has=page.locator("[data-status=out]")
    )
    assert sorted(c for t in shown_out.all_inner_texts() for c in CODE.findall(t)[:1]) == out
    # the heat map: one cell per characteristic, coloured; the tooltip names C40-01 and its Cpk
    page.locator("[data-testid=chs-heatmap] canvas").first.wait_for()
    assert sorted(_heat_codes(page)) == sorted(by_code)
    x, y, cid = _heat_cell(page, "C40-01")
    assert cid == c40["id"]
    page.mouse.move(x, y)
    tip = page.locator("[data-testid=chs-heatmap] div").filter(has_text="Cpk").last
    tip.wait_for()
    assert "C40-01" in tip.inner_text() and f"Cpk {c40['cpk']:.2f}" in tip.inner_text()
    page.screenshot(path=str(screenshots / "characteristics-zh.png"), full_page=True)

    # filter: step OP40, then key characteristics only
    _choose(page, "chs-step", "OP40 磨削")
    op40 = [r["code"] for r in overview if r["step"] == "OP40"]
    page.wait_for_function(
        "n => document.querySelectorAll('[data-testid=chs-table] tbody tr').length === n",
        arg=len(op40),
    )
    assert _table_codes(page) == op40
    assert sorted(_heat_codes(page)) == sorted(op40)
    page.locator("[data-testid=chs-key]").click()
    key40 = [r["code"] for r in overview if r["step"] == "OP40" and r["key"]]
    assert 0 < len(key40) < len(op40)
    page.wait_for_function(
        "n => document.querySelectorAll('[data-testid=chs-table] tbody tr').length === n",
        arg=len(key40),
    )
    assert _table_codes(page) == key40
    assert page.locator("[data-testid=chs-count]").inner_text() == (
        f"显示 {len(key40)} / 共 {len(overview)} 个特性"
    )
    page.wait_for_url(re.compile(r"/characteristics\?step=OP40&key=1$"))  # kept in the address
    page.screenshot(path=str(screenshots / "characteristics-filtered.png"), full_page=True)

    # a reload keeps the filters; clicking a row opens the characteristic
    page.reload()
    page.locator("[data-testid=chs-table]").wait_for()
    assert _table_codes(page) == key40
    _row(page, "C40-01").locator("td").nth(1).click()
    page.wait_for_url(re.compile(rf"/characteristics/{c40['id']}$"))

    # a heat-map cell opens its characteristic too
    page.goto("/characteristics")
    page.locator("[data-testid=chs-heatmap] canvas").first.wait_for()
    x, y, cid = _heat_cell(page, "C30-01")
    page.mouse.click(x, y)
    page.wait_for_url(re.compile(rf"/characteristics/{cid}$"))
    assert cid == by_code["C30-01"]["id"]


def _pct(value: float) -> str:
    return f"{value * 100:.2f} %"


def test_kpis_rolled_yield_pareto_and_loss_rates_then_english(
    page: Any, screenshots: Path, api: Api
) -> None:
    k = api.get("/kpis")
    year = k["year"]
    rolled = k["rolled_yield"]
    login(page, "demo", org=PLANT_A)
    page.locator("[data-testid=nav-kpis]").click()
    page.wait_for_url(re.compile(r"/kpis$"))
    page.locator("[data-testid=kpi-rty]").wait_for()
    # the default year is the API's
    assert str(year) in page.locator("[data-testid=kpi-year]").inner_text()
    # rolled yield: the year's value, the steps and the product row; the conventions
    assert page.locator("[data-testid=kpi-rty-value]").inner_text() == _pct(rolled["value"])
    table = page.locator("[data-testid=kpi-rty-table]")
    for s in rolled["by_step"]:
        assert _pct(s["fpy"]) in table.locator("tr").filter(has_text=s["step"]).inner_text()
    rty_row = table.locator("tr").filter(has_text="RTY（各工序乘积）").inner_text()
    assert _pct(rolled["value"]) in rty_row
    assert _pct(rolled["by_month"][0]["rolled_yield"]) in rty_row
    assert "各工序 FPY 的乘积" in page.locator("[data-testid=kpi-conventions]").inner_text()
    page.locator("[data-testid=kpi-rty-months] canvas").first.wait_for()
    page.locator("[data-testid=kpi-rty-steps] canvas").first.wait_for()
    # the Pareto: bars by amount, the cumulative line ends at 100 %
    page.locator("[data-testid=kpi-pareto] canvas").first.wait_for()
    series = page.evaluate(
        """() => {
          const el = document.querySelector('[data-testid=kpi-pareto]');
          return getElement(el.id.slice(1)).chart.getOption().series.map(
            s => s.data.map(d => (typeof d === 'object' ? d.value : d)));
        }"""
    )
    bars, cumulative = series
    coq = k["cost_of_quality"]
    assert bars == [round(c["amount"] / 1e4, 2) for c in coq["by_category"]]
    assert bars == sorted(bars, reverse=True) and cumulative[-1] == 100
    total = page.locator("[data-testid=kpi-coq-total]").inner_text()
    assert f"¥{coq['total']:,.0f}" in total and _pct(coq["rate_total"]) in total
    # loss rates against their thresholds
    for mid, m in k["loss_rates"].items():
        assert m["status"] == "ok"
        box = page.locator(f"[data-testid=kpi-loss-{mid}]")
        assert page.locator(f"[data-testid=kpi-loss-value-{mid}]").inner_text() == _pct(m["value"])
        assert "L3 <" in box.inner_text()
    page.screenshot(path=str(screenshots / "kpis-zh.png"), full_page=True)

    # failure costs only: the Pareto of the failure categories
    page.locator("[data-testid=kpi-coq-toggle]").get_by_text("仅损失成本").click()
    failures = [c for c in coq["by_category"] if "." in c["category"]]
    page.wait_for_function(
        """n => { const el = document.querySelector('[data-testid=kpi-pareto]');
          return getElement(el.id.slice(1)).chart.getOption().series[0].data.length === n; }""",
        arg=len(failures),
    )

    # a year without data: not tracked, never zero
    _choose(page, "kpi-year", str(year - 3))
    page.wait_for_url(re.compile(rf"/kpis\?year={year - 3}$"))
    page.locator("[data-testid=kpi-rty]").wait_for()
    assert page.locator("[data-testid=kpi-rty-value]").inner_text() in ("未能计算", "未统计")
    page.locator("[data-testid=kpi-no-costs]").wait_for()
    value = page.locator("[data-testid=kpi-loss-value-internal_loss_rate]").inner_text()
    assert value == "未统计"
    page.screenshot(path=str(screenshots / "kpis-no-data-year.png"), full_page=True)

    page.goto("/kpis")
    page.get_by_role("button", name="English").click()
    page.get_by_text("Rolled throughput yield (RTY)").wait_for()
    page.get_by_text("Cost-of-quality Pareto").wait_for()
    assert page.locator("[data-testid=kpi-rty-value]").inner_text() == _pct(rolled["value"])
    assert "RTY (product of steps)" in page.locator("[data-testid=kpi-rty-table]").inner_text()
    page.locator("[data-testid=kpi-pareto] canvas").first.wait_for()
    page.screenshot(path=str(screenshots / "kpis-en.png"), full_page=True)

    page.locator("[data-testid=nav-characteristics]").click()
    page.get_by_text("Characteristics and SPC").first.wait_for()
    row = _row(page, "C40-01")
    assert "out of control" in row.inner_text() and "test 1: " in row.inner_text()
    page.screenshot(path=str(screenshots / "characteristics-en.png"), full_page=True)
    page.get_by_role("button", name="中文").click()  # back to Chinese for the other tests
    page.get_by_text("特性与SPC · ").first.wait_for()


def test_supplier_sees_only_shared_characteristics_and_no_kpis(
    page: Any, screenshots: Path
) -> None:
    login(page, "supplier")
    nav = page.locator("header").inner_text()
    assert "特性与SPC" in nav and "质量指标" not in nav
    assert page.locator("[data-testid=nav-kpis]").count() == 0
    page.goto("/characteristics")
    page.locator("[data-testid=chs-table]").wait_for()
    codes = _table_codes(page)
    assert codes and all(c.startswith("C30-") for c in codes), codes
    assert "仅显示与您共享的特性" in page.locator("body").inner_text()
    page.locator("[data-testid=chs-heatmap] canvas").first.wait_for()
    assert sorted(_heat_codes(page)) == sorted(codes)
    # the filter offers the steps of the shared characteristics only
    page.locator("[data-testid=chs-step]").click()
    options = page.get_by_role("option").all_inner_texts()
    assert options == ["全部", "OP30 热处理"], options
    page.keyboard.press("Escape")
    page.screenshot(path=str(screenshots / "characteristics-supplier.png"), full_page=True)

    page.goto("/kpis")
    forbidden = page.locator("[data-testid=kpi-forbidden]")
    forbidden.wait_for()
    assert "无权查看本组织的质量指标" in forbidden.inner_text()
    assert page.locator("[data-testid=kpi-rty]").count() == 0
    assert page.locator("[data-testid=kpi-pareto]").count() == 0
    page.screenshot(path=str(screenshots / "kpis-supplier.png"), full_page=True)
