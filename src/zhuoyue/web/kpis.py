"""The KPIs page (质量指标): rolled first-pass yield, the cost-of-quality Pareto, loss rates.

The numbers are those of :func:`zhuoyue.services.kpi.kpis` (the same as ``zhuoyue assess`` and
the API's ``/kpis``), for one calendar year chosen on the page (``/kpis?year=2024``; by default
the year the API takes: the latest with an output value, else the latest in the data). Reading
them needs the permission ``read``, as the API: a supplier or an assessor sees a "not allowed"
message, and the navigation has no entry for them.

Conventions shown on the page: the first-pass yield of a step is passed-first / submitted; the
rolled yield is the product of the steps' first-pass yields; a loss rate is the failure cost
over the year's total output value (a month's: its failure cost over one twelfth of it). A
value the data cannot give ("not tracked": no rows) is never shown as zero.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi.responses import RedirectResponse
from nicegui import ui
from sqlalchemy.orm import Session, sessionmaker

from zhuoyue.services import kpi
from zhuoyue.services.accounts import Principal, require
from zhuoyue.services.assessment import resolve_year
from zhuoyue.stats.yields import CATEGORY_BUCKET, CATEGORY_NAMES_ZH
from zhuoyue.web.i18n import Lang, add_texts, text
from zhuoyue.web.layout import content, empty_state, open_page, section, show_error
from zhuoyue.web.overview import LEVEL_COLOURS, trend_option

__all__ = [
    "CATEGORY_NAMES_EN",
    "ParetoRow",
    "fmt_money",
    "fmt_pct",
    "metric_text",
    "pareto",
    "pareto_option",
    "register",
    "step_yield_option",
    "threshold_text",
    "year_choices",
    "yield_table",
]

add_texts(
    {
        "kpi_title": ("质量指标", "Quality KPIs"),
        "kpi_year": ("年度", "Year"),
        "kpi_forbidden": (
            "您的角色无权查看本组织的质量指标（需要“读取本组织数据”的权限）。",
            "Your role may not read this organization's quality KPIs (it needs the permission "
            "to read the organization's data).",
        ),
        "kpi_no_data": (
            "尚无带日期的数据（产值、检验、质量成本、产品质量或测量值）。请在“数据导入”页导入数据。",
            "No dated data yet (output value, inspections, quality costs, product quality or "
            "measurements). Import data on the Import page.",
        ),
        "kpi_to_import": ("前往数据导入", "Go to Import"),
        "kpi_conventions": ("口径说明", "Conventions"),
        "kpi_conv_fpy": (
            "工序一次合格率 FPY = 一次交检合格数 ÷ 交检数；滚动直通率 RTY = 各工序 FPY 的乘积。",
            "First-pass yield of a step FPY = passed first time / submitted; rolled yield RTY = "
            "the product of the steps' first-pass yields.",
        ),
        "kpi_conv_loss": (
            "质量损失率 = 损失成本 ÷ 年度工业总产值；月度值 = 当月损失成本 ÷（年度产值 ÷ 12）。",
            "Loss rate = failure cost / the year's total output value; a month's = its failure "
            "cost / (annual output value / 12).",
        ),
        "kpi_conv_track": (
            "“未统计”表示没有相应数据（不是零）；“—”表示该月没有数据。时间按 UTC 自然月。",
            '"Not tracked" means there are no such rows (not zero); "—" means no data that '
            "month. Months are UTC calendar months.",
        ),
        "kpi_rty": ("滚动直通率（RTY）", "Rolled throughput yield (RTY)"),
        "kpi_rty_year": ("全年滚动直通率", "Rolled yield of the year"),
        "kpi_weakest": ("最薄弱工序", "Weakest step"),
        "kpi_by_month": ("按月", "By month"),
        "kpi_by_step": ("各工序一次合格率（全年）", "First-pass yield by step (the year)"),
        "kpi_table": ("各工序各月一次合格率", "First-pass yield by step and month"),
        "kpi_step": ("工序", "Step"),
        "kpi_submitted": ("交检数", "Submitted"),
        "kpi_passed": ("一次合格数", "Passed first"),
        "kpi_fpy_year": ("全年 FPY", "FPY (year)"),
        "kpi_rty_row": ("RTY（各工序乘积）", "RTY (product of steps)"),
        "kpi_no_inspections": (
            "该年度没有检验数据（交检数/一次合格数），滚动直通率未统计。",
            "No inspections (submitted / passed first) in this year: rolled yield not tracked.",
        ),
        "kpi_coq": ("质量成本帕累托", "Cost-of-quality Pareto"),
        "kpi_coq_all": ("全部质量成本", "All quality costs"),
        "kpi_coq_failure": ("仅损失成本", "Failure costs only"),
        "kpi_coq_total": ("质量成本合计", "Total cost of quality"),
        "kpi_coq_rate": ("占产值", "of output value"),
        "kpi_output": ("年度工业总产值", "Total output value of the year"),
        "kpi_amount": ("金额（万元）", "Amount (10k CNY)"),
        "kpi_cumulative": ("累计占比", "Cumulative share"),
        "kpi_share": ("占比", "Share"),
        "kpi_category": ("成本类别", "Category"),
        "kpi_no_costs": (
            "该年度没有质量成本数据：质量成本未统计。",
            "No quality costs in this year: cost of quality not tracked.",
        ),
        "kpi_losses": ("质量损失率与等级阈值", "Loss rates against the level thresholds"),
        "kpi_thresholds": ("等级阈值", "Level thresholds"),
        "kpi_not_tracked": ("未统计", "not tracked"),
        "kpi_not_computed": ("未能计算", "not computed"),
        "kpi_tracked_op": ("有统计", "tracked"),
        "kpi_bucket_prevention": ("预防成本", "Prevention"),
        "kpi_bucket_appraisal": ("鉴定成本", "Appraisal"),
        "kpi_bucket_internal_failure": ("内部损失", "Internal failure"),
        "kpi_bucket_external_failure": ("外部损失", "External failure"),
        "kpi_reason": ("原因", "Why"),
        "kpi_months_note": (
            "虚线为等级阈值（L3 保证级、L4 预防级……）。",
            "Dashed lines are the level thresholds (L3 Assurance, L4 Prevention, ...).",
        ),
    }
)

#: English names of the cost categories (Chinese: :data:`zhuoyue.stats.yields.CATEGORY_NAMES_ZH`)
CATEGORY_NAMES_EN: dict[str, str] = {
    "prevention": "Prevention",
    "appraisal": "Appraisal",
    "internal.scrap": "Scrap",
    "internal.rework": "Rework and repair",
    "internal.downgrade": "Downgrading",
    "internal.downtime": "Downtime",
    "internal.incident": "Quality incidents",
    "external.claim": "Claims",
    "external.return": "Returns",
    "external.discount": "Price discounts",
    "external.warranty": "Warranty",
}
#: comparison operators as printed
_OPS = {">=": "≥", "<=": "≤"}
#: bar colours of the PAF buckets
_BUCKET_COLOURS = {
    "prevention": "#2563eb",
    "appraisal": "#0891b2",
    "internal_failure": "#ea580c",
    "external_failure": "#dc2626",
}


# ------------------------------------------------------------------------------------------------
# Pure pieces
# ------------------------------------------------------------------------------------------------
def fmt_pct(value: float | None, digits: int = 2) -> str:
    """A fraction as a percentage (``0.97709`` → ``97.71 %``); ``—`` without a value (a zero
    is ``0.00 %``, never ``—``)."""
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value * 100:.{digits}f} %"


def fmt_money(amount: float | None) -> str:
    """An amount in yuan with thousands separators (``¥1,775,539``); ``—`` without a value."""
    if amount is None or not math.isfinite(amount):
        return "—"
    return f"¥{amount:,.0f}"


def metric_text(metric: Mapping[str, Any], lang: Lang) -> str:
    """An indicator's value as text: the value (percentages for fractions), or "not tracked" /
    "not computed" when the data cannot give one (never a zero)."""
    status = metric.get("status")
    value = metric.get("value")
    if status == "not_tracked":
        return text("kpi_not_tracked", lang)
    if status != "ok" or value is None:
        return text("kpi_not_computed", lang)
    unit = str(metric.get("unit") or "")
    if unit == "%":
        return fmt_pct(float(value))
    return f"{float(value):.2f}{unit}"


def threshold_text(thresholds: Iterable[Mapping[str, Any]], unit: str, lang: Lang) -> str:
    """The level thresholds in a line: ``L2 有统计 · L3 < 3.00 % · L4 < 1.50 % ...``."""
    parts = []
    for t in thresholds:
        if t.get("value") is None:
            parts.append(f"L{t['level']} {text('kpi_tracked_op', lang)}")
            continue
        v = float(t["value"])
        shown = fmt_pct(v) if unit == "%" else f"{v:g}{unit}"
        op = _OPS.get(str(t["op"]), str(t["op"]))
        parts.append(f"L{t['level']} {op} {shown}")
    return " · ".join(parts)


@dataclass(frozen=True, slots=True)
class ParetoRow:
    """One bar of a Pareto chart: the item, its amount, share and cumulative share (0..1)."""

    key: str
    amount: float
    share: float
    cumulative: float


def pareto(items: Iterable[tuple[str, float]]) -> list[ParetoRow]:
    """Items by amount, largest first (ties by key), with their share of the total and the
    running share; the last cumulative share is exactly 1. Items of zero or negative amount
    are left out (they have no bar); nothing left gives an empty list."""
    kept = [(str(k), float(a)) for k, a in items if math.isfinite(float(a)) and float(a) > 0]
    if not kept:
        return []
    kept.sort(key=lambda kv: (-kv[1], kv[0]))
    total = math.fsum(a for _, a in kept)
    rows: list[ParetoRow] = []
    running: list[float] = []
    for i, (key, amount) in enumerate(kept):
        running.append(amount)
        cumulative = 1.0 if i == len(kept) - 1 else min(math.fsum(running) / total, 1.0)
        rows.append(ParetoRow(key, amount, amount / total, cumulative))
    return rows


def _category_name(category: str, lang: Lang) -> str:
    if lang == "en":
        return CATEGORY_NAMES_EN.get(category, category)
    return CATEGORY_NAMES_ZH.get(category, category)


def pareto_option(rows: Sequence[ParetoRow], lang: Lang) -> dict[str, Any]:
    """The ECharts option of a cost Pareto: bars (10k CNY, coloured by PAF bucket) and the
    cumulative share (%) as a line on the right axis, with the 80 % line."""
    names = [_category_name(r.key, lang) for r in rows]
    return {
        "grid": {"left": 64, "right": 56, "top": 36, "bottom": 72},
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "legend": {"top": 0},
        "xAxis": {
            "type": "category",
            "data": names,
            "axisLabel": {"interval": 0, "rotate": 30, "fontSize": 11},
        },
        "yAxis": [
            {"type": "value", "name": text("kpi_amount", lang), "min": 0},
            {
                "type": "value",
                "name": text("kpi_cumulative", lang),
                "min": 0,
                "max": 100,
                "axisLabel": {"formatter": "{value} %"},
                "splitLine": {"show": False},
            },
        ],
        "series": [
            {
                "type": "bar",
                "name": text("kpi_amount", lang),
                "data": [
                    {
                        "value": round(r.amount / 1e4, 2),
                        "itemStyle": {
                            "color": _BUCKET_COLOURS.get(CATEGORY_BUCKET.get(r.key, ""), "#6b7280")
                        },
                    }
                    for r in rows
                ],
            },
            {
                "type": "line",
                "name": text("kpi_cumulative", lang),
                "yAxisIndex": 1,
                "data": [round(r.cumulative * 100, 2) for r in rows],
                "symbolSize": 6,
                "label": {"show": True, "formatter": "{c} %", "fontSize": 10, "position": "top"},
                "markLine": {
                    "silent": True,
                    "symbol": "none",
                    "lineStyle": {"type": "dashed", "color": "#9ca3af"},
                    "data": [
                        {"yAxis": 80, "label": {"formatter": "80 %", "position": "insideStartTop"}}
                    ],
                },
            },
        ],
    }


def step_yield_option(by_step: Sequence[Mapping[str, Any]], lang: Lang) -> dict[str, Any]:
    """The ECharts option of the steps' first-pass yields of the year (bars, %), the axis
    spanning the data (yields near 100 % would look equal on an axis from 0)."""
    values = [None if s.get("fpy") is None else round(float(s["fpy"]) * 100, 2) for s in by_step]
    finite = [v for v in values if v is not None]
    lo = min(finite) if finite else 0.0
    floor = max(0.0, math.floor((lo - (100.0 - lo) * 0.5) * 10) / 10) if finite else 0.0
    return {
        "grid": {"left": 56, "right": 16, "top": 24, "bottom": 64},
        "tooltip": {"trigger": "axis"},
        "xAxis": {
            "type": "category",
            "data": [f"{s['step']} {s.get('name') or ''}".strip() for s in by_step],
            "axisLabel": {"interval": 0, "fontSize": 11, "rotate": 30},
        },
        "yAxis": {"type": "value", "min": floor, "max": 100, "name": "%"},
        "series": [
            {
                "type": "bar",
                "name": text("kpi_fpy_year", lang),
                "data": values,
                "itemStyle": {"color": "#2563eb"},
                "label": {"show": True, "position": "top", "formatter": "{c}", "fontSize": 10},
            }
        ],
    }


def yield_table(
    rolled: Mapping[str, Any], lang: Lang
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(columns, rows) of the first-pass yield by step and month: one row per step (its year's
    submitted, passed first and FPY, then each month), then the rolled yield row."""
    months = [m["month"] for m in rolled.get("by_month") or []]
    columns: list[dict[str, Any]] = [
        {"name": "step", "label": text("kpi_step", lang), "field": "step", "align": "left"},
        {"name": "submitted", "label": text("kpi_submitted", lang), "field": "submitted"},
        {"name": "passed", "label": text("kpi_passed", lang), "field": "passed"},
        {"name": "year", "label": text("kpi_fpy_year", lang), "field": "year"},
    ]
    columns += [{"name": m, "label": m[-2:], "field": m} for m in months]
    for c in columns[1:]:
        c["align"] = "right"
    rows: list[dict[str, Any]] = []
    for s in rolled.get("by_step") or []:
        row: dict[str, Any] = {
            "id": s["step"],
            "step": f"{s['step']} {s.get('name') or ''}".strip(),
            "submitted": "—" if s.get("submitted") is None else f"{int(s['submitted']):,}",
            "passed": "—" if s.get("passed_first") is None else f"{int(s['passed_first']):,}",
            "year": fmt_pct(s.get("fpy")),
        }
        per_month = list(s.get("by_month") or [])
        for i, m in enumerate(months):
            row[m] = fmt_pct(per_month[i] if i < len(per_month) else None)
        rows.append(row)
    if rows:
        total: dict[str, Any] = {
            "id": "__rty__",
            "step": text("kpi_rty_row", lang),
            "submitted": "",
            "passed": "",
            "year": fmt_pct(rolled.get("value")),
        }
        for m in rolled.get("by_month") or []:
            total[m["month"]] = fmt_pct(m.get("rolled_yield"))
        rows.append(total)
    return columns, rows


def year_choices(latest: int, span: int = 6) -> list[int]:
    """The years offered in the selector: ``latest`` and the ``span - 1`` before it, newest
    first (a year without data shows its KPIs as not tracked)."""
    return [latest - i for i in range(max(span, 1)) if latest - i >= 1000]


# ------------------------------------------------------------------------------------------------
# Reads (through the services; permission ``read`` as the API)
# ------------------------------------------------------------------------------------------------
def _default_year(s: Session, p: Principal) -> int | None:
    """The year the API's ``/kpis`` takes by default: the latest with an output value, else
    the latest in the data (measurements read only when nothing else is dated); ``None``
    without dated data."""
    require(p, "read")
    year, _ = resolve_year(kpi.load_tables(s, p.org_id, measurements=False))
    if year is None:
        year, _ = resolve_year(kpi.load_tables(s, p.org_id))
    return year


def _load(s: Session, p: Principal, year: int) -> dict[str, Any]:
    require(p, "read")
    return kpi.kpis(s, p.org_id, year)


# ------------------------------------------------------------------------------------------------
# The page
# ------------------------------------------------------------------------------------------------
def _level_badge(level: int | None, names: Mapping[str, str] | None, lang: Lang) -> None:
    if not level:
        return
    label = f"L{level} {(names or {}).get(lang, '')}".strip()
    ui.badge(label, color=LEVEL_COLOURS.get(int(level))).classes("text-sm px-2")


def _conventions(lang: Lang) -> None:
    with (
        ui.expansion(text("kpi_conventions", lang), icon="info", value=True)
        .classes("flex-1")
        .props("dense data-testid=kpi-conventions")
    ):
        for key in ("kpi_conv_fpy", "kpi_conv_loss", "kpi_conv_track"):
            ui.label(text(key, lang)).classes("text-sm text-gray-700")


def _rolled_yield(k: Mapping[str, Any], lang: Lang) -> None:
    rolled = k.get("rolled_yield")
    metric = (k.get("metrics") or {}).get(rolled["indicator"]) if rolled else None
    with section(text("kpi_rty", lang)) as card:
        card.props("data-testid=kpi-rty")
        if rolled is None or metric is None:
            empty_state(text("kpi_no_inspections", lang), testid="kpi-no-rty")
            return
        with ui.row().classes("items-center gap-4 flex-wrap"):
            ui.label(text("kpi_rty_year", lang)).classes("text-gray-600")
            ui.label(metric_text(metric, lang)).classes("text-3xl font-bold").props(
                "data-testid=kpi-rty-value"
            )
            if metric.get("status") == "ok":
                _level_badge(metric.get("level"), metric.get("level_name"), lang)
            if rolled.get("weakest_step"):
                ui.label(f"{text('kpi_weakest', lang)}: {rolled['weakest_step']}").classes(
                    "text-orange-900"
                )
        ui.label(
            f"{text('kpi_thresholds', lang)}: "
            f"{threshold_text(rolled.get('thresholds') or [], '%', lang)}"
        ).classes("text-xs text-gray-600")
        if not rolled.get("by_step"):
            empty_state(text("kpi_no_inspections", lang), testid="kpi-no-rty")
            return
        months = [m["month"] for m in rolled["by_month"]]
        values = [m["rolled_yield"] for m in rolled["by_month"]]
        with ui.row().classes("w-full gap-4 flex-wrap"):
            with ui.column().classes("flex-1 min-w-[18rem] gap-0"):
                ui.label(text("kpi_by_month", lang)).classes("text-sm text-gray-700")
                ui.echart(trend_option(metric, months, values, lang)).classes("w-full h-56").props(
                    "data-testid=kpi-rty-months"
                )
                ui.label(text("kpi_months_note", lang)).classes("text-xs text-gray-500")
            with ui.column().classes("flex-1 min-w-[18rem] gap-0"):
                ui.label(text("kpi_by_step", lang)).classes("text-sm text-gray-700")
                ui.echart(step_yield_option(rolled["by_step"], lang)).classes("w-full h-56").props(
                    "data-testid=kpi-rty-steps"
                )
        columns, rows = yield_table(rolled, lang)
        ui.label(text("kpi_table", lang)).classes("text-sm text-gray-700")
        with ui.element("div").classes("w-full overflow-x-auto"):
            table = ui.table(columns=columns, rows=rows, row_key="id", pagination=0)
            table.props("flat dense hide-bottom data-testid=kpi-rty-table").classes("w-full")
            table.add_slot(
                "body",
                """<q-tr :props="props" :class="props.row.id == '__rty__' ? 'font-bold bg-blue-50'
                : ''"><q-td v-for="col in props.cols" :key="col.name" :props="props"
                class="whitespace-nowrap">{{ col.value }}</q-td></q-tr>""",
            )


def _cost_pareto(k: Mapping[str, Any], lang: Lang) -> None:
    coq = k.get("cost_of_quality") or {}
    with section(text("kpi_coq", lang)) as card:
        card.props("data-testid=kpi-coq")
        items = [(c["category"], float(c["amount"])) for c in coq.get("by_category") or []]
        if not items:
            empty_state(text("kpi_no_costs", lang), testid="kpi-no-costs")
            return
        with ui.row().classes("items-baseline gap-x-6 gap-y-1 flex-wrap text-sm"):
            rate = coq.get("rate_total")
            total = f"{text('kpi_coq_total', lang)}: {fmt_money(coq.get('total'))}"
            if rate is not None:
                total += f"（{text('kpi_coq_rate', lang)} {fmt_pct(rate)}）"
            ui.label(total).classes("font-bold").props("data-testid=kpi-coq-total")
            ui.label(f"{text('kpi_output', lang)}: {fmt_money(coq.get('output_value'))}")
            for bucket, amount in (coq.get("totals_by_bucket") or {}).items():
                with ui.row().classes("items-center gap-1 no-wrap"):
                    ui.element("span").classes("inline-block w-3 h-3 rounded-sm").style(
                        f"background: {_BUCKET_COLOURS.get(bucket, '#6b7280')}"
                    )
                    ui.label(f"{text(f'kpi_bucket_{bucket}', lang)} {fmt_money(amount)}")
        toggle = ui.toggle(
            {"all": text("kpi_coq_all", lang), "failure": text("kpi_coq_failure", lang)},
            value="all",
        ).props("no-caps dense data-testid=kpi-coq-toggle")
        chart = ui.echart(pareto_option(pareto(items), lang)).classes("w-full h-80")
        chart.props("data-testid=kpi-pareto")

        def show(which: Any) -> None:
            chosen = items
            if which == "failure":
                chosen = [
                    (c, a) for c, a in items if CATEGORY_BUCKET.get(c, "").endswith("failure")
                ]
            chart.options.clear()
            chart.options.update(pareto_option(pareto(chosen), lang))
            chart.update()

        toggle.on_value_change(lambda e: show(e.value))


def _loss_rates(k: Mapping[str, Any], lang: Lang) -> None:
    trend = k.get("trend") or {}
    with section(text("kpi_losses", lang)) as card:
        card.props("data-testid=kpi-losses")
        ui.label(text("kpi_conv_loss", lang)).classes("text-xs text-gray-500")
        with ui.row().classes("w-full gap-4 flex-wrap"):
            for mid, m in (k.get("loss_rates") or {}).items():
                name = m["name_en" if lang == "en" else "name_zh"]
                with (
                    ui.column()
                    .classes("flex-1 min-w-[18rem] gap-1")
                    .props(f"data-testid=kpi-loss-{mid}")
                ):
                    ui.label(name).classes("text-base")
                    with ui.row().classes("items-center gap-3"):
                        ui.label(metric_text(m, lang)).classes("text-2xl font-bold").props(
                            f"data-testid=kpi-loss-value-{mid}"
                        )
                        _level_badge(m.get("level"), m.get("level_name"), lang)
                    ui.label(
                        f"{text('kpi_thresholds', lang)}: "
                        f"{threshold_text(m.get('thresholds') or [], str(m.get('unit')), lang)}"
                    ).classes("text-xs text-gray-600")
                    if m.get("status") != "ok":
                        reason = (m.get("detail") or {}).get("reason") or m.get("reason") or ""
                        ui.label(f"{text('kpi_reason', lang)}: {reason}").classes(
                            "text-xs text-amber-800"
                        )
                        continue
                    values = (trend.get("values") or {}).get(mid) or []
                    if any(v is not None for v in values):
                        ui.echart(
                            trend_option(m, list(trend.get("months") or []), values, lang)
                        ).classes("w-full h-48").props(f"data-testid=kpi-loss-trend-{mid}")


def register(sessions: sessionmaker[Session]) -> None:
    """Add the page to the UI."""

    @ui.page("/kpis", title="质量指标 · zhuoyue", response_timeout=60)
    async def page(year: str | None = None) -> RedirectResponse | None:
        ctx = await open_page(sessions, "kpis")
        if isinstance(ctx, RedirectResponse):
            return ctx
        lang = ctx.lang
        with content():
            ui.label(f"{text('kpi_title', lang)} · {ctx.org_name}").classes("text-2xl")
            if not ctx.can("read"):
                with ui.card().classes("w-full bg-amber-50").props("data-testid=kpi-forbidden"):
                    ui.label(text("kpi_forbidden", lang)).classes("text-amber-900")
                return None
            body = ui.column().classes("w-full gap-4")
        with body:
            ui.spinner(size="lg").props("data-testid=loading")
        try:
            latest = await ctx.call(_default_year)
            chosen = int(year) if year is not None and year.isdigit() else None
            if chosen is not None and not 1000 <= chosen <= 9999:
                chosen = None
            shown = chosen or latest
            k = None if shown is None else await ctx.call(_load, shown)
        except Exception as exc:
            body.clear()
            with body:
                show_error(exc, lang)
            return None
        body.clear()
        with body:
            if shown is None or k is None:
                empty_state(text("kpi_no_data", lang), testid="kpi-empty")
                if ctx.can("write_data"):
                    ui.link(text("kpi_to_import", lang), "/import")
                return None
            choices = year_choices(latest if latest is not None else shown)
            if shown not in choices:
                choices = sorted({*choices, shown}, reverse=True)
            with ui.row().classes("w-full items-start gap-4 flex-wrap"):
                ui.select(
                    {y: str(y) for y in choices},
                    value=shown,
                    label=text("kpi_year", lang),
                    on_change=lambda e: ui.navigate.to(f"/kpis?year={e.value}"),
                ).props("outlined dense data-testid=kpi-year").classes("w-32")
                _conventions(lang)
            _rolled_yield(k, lang)
            _cost_pareto(k, lang)
            _loss_rates(k, lang)
        return None
