"""The characteristics page (特性与SPC): a filterable table and a heat map of Cpk.

Rows come from :func:`zhuoyue.services.views.characteristics_overview` (a supplier's limited to
the characteristics shared with it, as the API's ``/overview/characteristics`` does); the filter
options (steps, products) from the master-data services. Filtering happens in the page on the
rows already computed (the overview charts every characteristic once), and the filters are kept
in the address (``?step=OP40&product=IS-2201&key=1``) so a view can be shared. Each row and
each heat-map cell opens the characteristic's page, ``/characteristics/{id}``.

Cpk classes (the colours of the heat map and of the Cpk column) follow the model's Cpk
thresholds: below 1.0 not capable, 1.0 to 1.33 barely, 1.33 to 1.67 capable, from 1.67 well
capable; no value is grey.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi.responses import RedirectResponse
from nicegui import events, ui
from sqlalchemy.orm import Session, sessionmaker

from zhuoyue.services import masterdata
from zhuoyue.services.accounts import Principal, require
from zhuoyue.services.views import RECENT_POINTS, characteristics_overview
from zhuoyue.store.models import Characteristic
from zhuoyue.web.i18n import Lang, add_texts, text
from zhuoyue.web.layout import PageContext, content, empty_state, open_page, section, show_error

__all__ = [
    "CPK_CLASSES",
    "NO_STEP",
    "CharacteristicsData",
    "HeatMap",
    "cpk_class",
    "cpk_colour",
    "filter_rows",
    "format_index",
    "heatmap_matrix",
    "heatmap_option",
    "register",
    "table_rows",
    "violation_words",
]

add_texts(
    {
        "chs_title": ("特性与SPC", "Characteristics and SPC"),
        "chs_filter_step": ("工序", "Step"),
        "chs_filter_product": ("产品", "Product"),
        "chs_filter_key": ("仅关键特性", "Key characteristics only"),
        "chs_all": ("全部", "All"),
        "chs_count": ("显示 {shown} / 共 {total} 个特性", "{shown} of {total} characteristics"),
        "chs_code": ("编号", "Code"),
        "chs_name": ("名称", "Name"),
        "chs_product": ("产品", "Product"),
        "chs_n": ("测量值数", "n"),
        "chs_status": ("受控状态", "Control status"),
        "chs_in": ("受控", "in control"),
        "chs_out": ("失控", "out of control"),
        "chs_nodata": ("无数据", "no data"),
        "chs_last": ("最近判异", "Last signal"),
        "chs_limits": ("控制限", "Limits"),
        "chs_frozen": ("已冻结", "frozen"),
        "chs_computed": ("按数据计算", "computed"),
        "chs_test": ("检验{t}：{words}", "test {t}: {words}"),
        "chs_none": ("无", "none"),
        "chs_table": ("特性一览", "All characteristics"),
        "chs_table_note": (
            "受控：最近 {n} 个点未触发任何判异准则（有冻结控制限时按冻结限判断）。点击一行查看控制图。",
            "In control: no test fires on the last {n} points (against the frozen limits when "
            "there are any). Click a row to open its control chart.",
        ),
        "chs_heat": ("Cpk 热力图（工序 × 特性）", "Cpk heat map (step × characteristic)"),
        "chs_heat_note": (
            "每行一个工序（按工序顺序），每格一个特性；点击格子查看控制图。",
            "One row per step (in sequence), one cell per characteristic; click a cell to open "
            "its control chart.",
        ),
        "chs_cls_lt1": ("Cpk < 1.0 能力不足", "Cpk < 1.0 not capable"),
        "chs_cls_lt133": ("1.0 ≤ Cpk < 1.33 能力勉强", "1.0 ≤ Cpk < 1.33 barely capable"),
        "chs_cls_lt167": ("1.33 ≤ Cpk < 1.67 能力充分", "1.33 ≤ Cpk < 1.67 capable"),
        "chs_cls_ge167": ("Cpk ≥ 1.67 能力很强", "Cpk ≥ 1.67 well capable"),
        "chs_cls_none": ("无 Cpk（无数据或无规格限）", "no Cpk (no data or no spec limits)"),
        "chs_no_step": ("（未指定工序）", "(no step)"),
        "chs_empty": (
            "尚无特性。请在“数据导入”页上传含特性表和测量表的工作簿（或 CSV）。",
            "No characteristic yet. Upload a workbook (or CSV) with the characteristics and "
            "measurements tables on the Import page.",
        ),
        "chs_empty_shared": (
            "还没有与您共享的特性。请联系该组织的质量工程师共享特性。",
            "No characteristic is shared with you yet. Ask the organization's quality engineer "
            "to share some.",
        ),
        "chs_to_import": ("前往数据导入", "Go to Import"),
        "chs_no_match": (
            "没有符合筛选条件的特性：请放宽筛选条件。",
            "No characteristic matches the filters: widen them.",
        ),
        "chs_error_row": ("未能计算", "could not be computed"),
    }
)

#: the Cpk classes, worst first: (key, lower bound, colour)
CPK_CLASSES: tuple[tuple[str, float, str], ...] = (
    ("lt1", -math.inf, "#dc2626"),  # red
    ("lt133", 1.0, "#f97316"),  # orange
    ("lt167", 1.33, "#4ade80"),  # green-ish
    ("ge167", 1.67, "#15803d"),  # dark green
)
#: the colour of a characteristic without a Cpk
NO_VALUE_COLOUR = "#d1d5db"
#: the heat map's row of characteristics without a step
NO_STEP = ""


def cpk_class(cpk: float | None) -> str:
    """The Cpk class key: ``lt1``, ``lt133``, ``lt167``, ``ge167``, or ``none`` without a
    finite value (a value on a bound belongs to the class above it)."""
    if cpk is None or not math.isfinite(cpk):
        return "none"
    found = CPK_CLASSES[0][0]
    for key, lower, _ in CPK_CLASSES:
        if cpk >= lower:
            found = key
    return found


def cpk_colour(cpk: float | None) -> str:
    """The colour (hex) of a Cpk value's class."""
    key = cpk_class(cpk)
    return next((c for k, _, c in CPK_CLASSES if k == key), NO_VALUE_COLOUR)


def format_index(value: float | None) -> str:
    """A capability index as shown in the table: two decimals, ``—`` without a value."""
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:.2f}"


def violation_words(last: Mapping[str, Any] | None, lang: Lang) -> str:
    """The last signal in words: its time (UTC, to the minute) and each test with its title,
    e.g. ``2024-12-30 08:00 UTC · 检验1：1 个点落在 3σ 控制限以外``."""
    if not last:
        return text("chs_none", lang)
    descriptions = list((last.get("descriptions") or {}).get(lang) or [])
    words: list[str] = []
    for i, t in enumerate(last.get("tests") or []):
        title = descriptions[i] if i < len(descriptions) else ""
        prefix = f"{t}: "
        title = title[len(prefix) :] if title.startswith(prefix) else title
        words.append(text("chs_test", lang).format(t=t, words=title).rstrip("：: "))
    ts = str(last.get("ts") or "")[:16].replace("T", " ")
    return " · ".join(x for x in (f"{ts} UTC" if ts else "", "；".join(words)) if x)


def filter_rows(
    rows: Iterable[Mapping[str, Any]],
    *,
    step: str | None = None,
    product: str | None = None,
    key_only: bool = False,
) -> list[dict[str, Any]]:
    """The rows of one step code and one product code (``None``: any), key ones only when
    ``key_only``; the order is kept."""
    return [
        dict(r)
        for r in rows
        if (step is None or r.get("step") == step)
        and (product is None or r.get("product") == product)
        and (not key_only or bool(r.get("key")))
    ]


def _finite(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def _status(row: Mapping[str, Any]) -> str:
    flag = row.get("in_control")
    return "nodata" if flag is None else ("in" if flag else "out")


def table_rows(rows: Iterable[Mapping[str, Any]], lang: Lang) -> list[dict[str, Any]]:
    """The overview rows as the table shows them (formatted, in ``lang``)."""
    out = []
    for r in rows:
        status = _status(r)
        step = " ".join(str(x) for x in (r.get("step"), r.get("step_name")) if x)
        out.append(
            {
                "id": r["id"],
                "code": r["code"],
                "name": r["name"],
                "step": step,
                "product": r.get("product") or "",
                "key": "★" if r.get("key") else "",
                "n": int(r.get("n") or 0),
                "cpk": format_index(r.get("cpk")),
                "cpk_value": _finite(r.get("cpk")),
                "cpk_colour": cpk_colour(r.get("cpk")),
                "ppk": format_index(r.get("ppk")),
                "ppk_value": _finite(r.get("ppk")),
                "status": status,
                "status_text": text(f"chs_{status}", lang),
                "last": violation_words(r.get("last_violation"), lang)
                if r.get("n")
                else text("chs_nodata", lang),
                "limits": text(f"chs_{r.get('limits_source') or 'computed'}", lang),
                "error": r.get("error") or "",
            }
        )
    return out


@dataclass(frozen=True, slots=True)
class HeatMap:
    """The heat map's grid: one row per step (in order), the step's characteristics as cells.

    ``cells`` are ``{"x": column, "y": row, "id", "code", "name", "cpk", "cls"}``.
    """

    steps: list[str]  # step codes, NO_STEP for characteristics without a step
    labels: list[str]  # "OP40 磨削"
    width: int  # the most characteristics of one step
    cells: list[dict[str, Any]]


def heatmap_matrix(
    rows: Iterable[Mapping[str, Any]], step_order: Sequence[str] | None = None
) -> HeatMap:
    """Arrange characteristics by step: steps in ``step_order`` (the master data's sequence;
    steps it does not name follow in order of appearance, characteristics without a step last),
    characteristics within a step in the order given."""
    by_step: dict[str, list[Mapping[str, Any]]] = {}
    names: dict[str, str] = {}
    for r in rows:
        code = str(r.get("step") or NO_STEP)
        by_step.setdefault(code, []).append(r)
        if r.get("step_name"):
            names[code] = str(r["step_name"])
    order = [s for s in (step_order or []) if s in by_step]
    order += [s for s in by_step if s not in order and s != NO_STEP]
    if NO_STEP in by_step:
        order.append(NO_STEP)
    cells = []
    for y, code in enumerate(order):
        for x, r in enumerate(by_step[code]):
            cpk = r.get("cpk")
            cells.append(
                {
                    "x": x,
                    "y": y,
                    "id": r["id"],
                    "code": r["code"],
                    "name": r.get("name") or "",
                    "cpk": cpk,
                    "cls": cpk_class(cpk),
                }
            )
    labels = [" ".join(x for x in (code, names.get(code, "")) if x) for code in order]
    width = max((len(v) for v in by_step.values()), default=0)
    return HeatMap(order, labels, width, cells)


#: the value a heat-map cell carries for its class (the visual map colours by it)
_CLASS_RANK = {"none": -1, **{key: i for i, (key, _, _) in enumerate(CPK_CLASSES)}}
#: the heat map's tooltip: the cell's code, name and Cpk
_HEAT_TOOLTIP_JS = "(p) => p.data.tip"


def heatmap_option(heat: HeatMap, lang: Lang) -> dict[str, Any]:
    """The ECharts option of the heat map: each cell coloured by its Cpk class, labelled with
    its code; the tooltip gives code, name and Cpk; unknown Cpk is grey."""
    no_step = text("chs_no_step", lang)
    data = []
    for c in heat.cells:
        cpk = c["cpk"]
        shown = format_index(cpk)
        data.append(
            {
                # the third value is the class (ECharts leaves null cells out: no Cpk is -1)
                "value": [c["x"], c["y"], _CLASS_RANK[c["cls"]]],
                "cpk": None if c["cls"] == "none" else float(cpk),
                "id": c["id"],
                "code": c["code"],
                "tip": f"{c['code']} {c['name']}<br/>Cpk {shown}",
                "itemStyle": {"color": cpk_colour(cpk)},
                "label": {"color": "#ffffff" if c["cls"] in ("lt1", "ge167") else "#111827"},
            }
        )
    pieces = [{"value": _CLASS_RANK["none"], "color": NO_VALUE_COLOUR}] + [
        {"value": _CLASS_RANK[key], "color": colour} for key, _, colour in CPK_CLASSES
    ]
    return {
        "tooltip": {"position": "top", ":formatter": _HEAT_TOOLTIP_JS},
        "grid": {"left": 110, "right": 16, "top": 8, "bottom": 8, "containLabel": False},
        "xAxis": {
            "type": "category",
            "data": [str(i + 1) for i in range(heat.width)],
            "show": False,
            "splitArea": {"show": False},
        },
        "yAxis": {
            "type": "category",
            "data": [label or no_step for label in heat.labels],
            "inverse": True,  # the first step at the top
            "axisTick": {"show": False},
            "axisLabel": {"fontSize": 12},
        },
        "visualMap": {
            "type": "piecewise",
            "show": False,
            "dimension": 2,
            "pieces": pieces,
        },
        "series": [
            {
                "type": "heatmap",
                "data": data,
                "label": {"show": True, ":formatter": "(p) => p.data.code", "fontSize": 11},
                "itemStyle": {"borderColor": "#ffffff", "borderWidth": 2},
                "emphasis": {"itemStyle": {"borderColor": "#1e3a8a", "borderWidth": 2}},
                "encode": {"x": 0, "y": 1},
            }
        ],
    }


# ------------------------------------------------------------------------------------------------
# Reads (through the services)
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CharacteristicsData:
    """What the page shows: the overview rows and the filter options."""

    rows: list[dict[str, Any]]
    steps: list[tuple[str, str]]  # (code, "code name"), in sequence order
    products: list[tuple[str, str]]  # (code, "code name"), by code
    shared_only: bool
    can_import: bool


def _allowed_ids(s: Session, p: Principal) -> set[int] | None:
    """The characteristics shared with a supplier (``None``: the whole organization), as the
    API's overview decides."""
    if require(p, "read", "read_shared") == "read":
        return None
    stmt = masterdata.visible_characteristics(p, "read_shared")
    return set(s.scalars(stmt.with_only_columns(Characteristic.id)))


def _load(s: Session, p: Principal) -> CharacteristicsData:
    allowed = _allowed_ids(s, p)
    rows = characteristics_overview(s, p.org_id, allowed_ids=allowed)
    steps: list[tuple[str, str]] = []
    products: list[tuple[str, str]] = []
    if allowed is None:
        steps = [
            (st.code, f"{st.code} {st.name}")
            for st in masterdata.list_steps(s, p, limit=1000).items
        ]
        products = [
            (pr.code, f"{pr.code} {pr.name}")
            for pr in masterdata.list_products(s, p, limit=1000).items
        ]
    else:  # a supplier may not list the master data: the steps and products of its shares
        chars = masterdata.list_characteristics(s, p, limit=1000).items
        seen_steps = {c.step.code: c.step for c in chars if c.step is not None}
        seen_products = {c.product.code: c.product for c in chars if c.product is not None}
        steps = [
            (st.code, f"{st.code} {st.name}")
            for st in sorted(seen_steps.values(), key=lambda x: (x.sequence, x.code))
        ]
        products = [(pr.code, f"{pr.code} {pr.name}") for _, pr in sorted(seen_products.items())]
    return CharacteristicsData(
        rows=rows,
        steps=steps,
        products=products,
        shared_only=allowed is not None,
        can_import=p.can("write_data"),
    )


# ------------------------------------------------------------------------------------------------
# The page
# ------------------------------------------------------------------------------------------------
#: the wrapping columns keep a readable width on a tablet (the table scrolls instead)
_MIN_WIDTH = {"name": "min-width: 8rem", "last": "min-width: 16rem"}


def _columns(lang: Lang) -> list[dict[str, Any]]:
    def col(name: str, label: str, align: str = "left", sortable: bool = True) -> dict[str, Any]:
        # only the names and the last signal wrap: codes and numbers stay on one line
        wrap = "" if name in ("name", "last") else "whitespace-nowrap"
        return {
            "name": name,
            "label": label,
            "field": name,
            "align": align,
            "sortable": sortable,
            "classes": wrap,
            "headerClasses": wrap,
            "style": _MIN_WIDTH.get(name, ""),
        }

    return [
        col("code", text("chs_code", lang)),
        col("name", text("chs_name", lang)),
        col("step", text("step", lang)),
        col("product", text("chs_product", lang)),
        col("key", text("key", lang), "center"),
        col("n", text("chs_n", lang), "right"),
        {**col("cpk", "Cpk", "right"), "field": "cpk_value"},
        {**col("ppk", "Ppk", "right"), "field": "ppk_value"},
        col("status_text", text("chs_status", lang)),
        col("last", text("chs_last", lang), sortable=False),
        col("limits", text("chs_limits", lang)),
    ]


_STATUS_SLOT = """<q-td :props="props"><q-badge :color="props.row.status == 'in' ? 'green-8'
    : (props.row.status == 'out' ? 'red-8' : 'grey-6')" :data-status="props.row.status"
    class="text-sm">{{ props.value }}</q-badge></q-td>"""
_CODE_SLOT = """<q-td :props="props"><a :href="'/characteristics/' + props.row.id"
    class="text-blue-800 font-mono" @click.stop>{{ props.value }}</a></q-td>"""
_CPK_SLOT = """<q-td :props="props"><span class="inline-block w-3 h-3 rounded-sm mr-1 align-middle"
    :style="{background: props.row.cpk_colour}"></span><span data-testid="chs-cpk"
    >{{ props.row.cpk }}</span></q-td>"""
_PPK_SLOT = """<q-td :props="props">{{ props.row.ppk }}</q-td>"""
_LAST_SLOT = """<q-td :props="props"><span :class="props.row.status == 'out' ? 'text-red-900'
    : 'text-gray-700'">{{ props.value }}</span><div v-if="props.row.error"
    class="text-xs text-amber-800">{{ props.row.error }}</div></q-td>"""


def _legend(lang: Lang) -> None:
    with ui.row().classes("gap-3 flex-wrap text-xs text-gray-700").props("data-testid=chs-legend"):
        for key, colour in [(k, c) for k, _, c in CPK_CLASSES] + [("none", NO_VALUE_COLOUR)]:
            with ui.row().classes("items-center gap-1 no-wrap"):
                ui.element("span").classes("inline-block w-3 h-3 rounded-sm").style(
                    f"background: {colour}"
                )
                ui.label(text(f"chs_cls_{key}", lang))


def _query_url(step: str | None, product: str | None, key_only: bool) -> str:
    params = {
        k: v
        for k, v in (("step", step), ("product", product), ("key", "1" if key_only else None))
        if v
    }
    return "/characteristics" + (f"?{urlencode(params)}" if params else "")


def _render(ctx: PageContext, data: CharacteristicsData, initial: dict[str, Any]) -> None:
    lang = ctx.lang
    if data.shared_only:
        ui.label(text("shared_only", lang)).classes("text-xs text-gray-500")
    if not data.rows:
        with section(text("chs_table", lang)):
            empty_state(
                text("chs_empty_shared" if data.shared_only else "chs_empty", lang),
                testid="chs-empty",
            )
            if data.can_import:
                ui.link(text("chs_to_import", lang), "/import").props("data-testid=chs-to-import")
        return

    all_label = text("chs_all", lang)
    step_codes = {c for c, _ in data.steps}
    product_codes = {c for c, _ in data.products}
    state: dict[str, Any] = {
        "step": initial["step"] if initial["step"] in step_codes else None,
        "product": initial["product"] if initial["product"] in product_codes else None,
        "key": bool(initial["key"]),
    }

    with ui.row().classes("w-full items-center gap-4 flex-wrap"):
        step_sel = ui.select(
            {"": all_label, **dict(data.steps)},
            value=state["step"] or "",
            label=text("chs_filter_step", lang),
        ).classes("min-w-[12rem]")
        step_sel.props("outlined dense options-dense data-testid=chs-step")
        product_sel = ui.select(
            {"": all_label, **dict(data.products)},
            value=state["product"] or "",
            label=text("chs_filter_product", lang),
        ).classes("min-w-[12rem]")
        product_sel.props("outlined dense options-dense data-testid=chs-product")
        key_sw = ui.switch(text("chs_filter_key", lang), value=state["key"])
        key_sw.props("data-testid=chs-key")
        count = ui.label().classes("text-sm text-gray-600").props("data-testid=chs-count")

    step_order = [c for c, _ in data.steps]

    def open_cell(e: events.EChartPointClickEventArguments) -> None:
        item: Any = e.data
        if isinstance(item, dict) and item.get("id") is not None:
            ui.navigate.to(f"/characteristics/{int(item['id'])}")

    with section(text("chs_heat", lang)):
        ui.label(text("chs_heat_note", lang)).classes("text-xs text-gray-500")
        _legend(lang)
        heat_box = ui.element("div").classes("w-full overflow-x-auto")
        with heat_box:
            chart = ui.echart(
                heatmap_option(heatmap_matrix([], step_order), lang), on_point_click=open_cell
            )
            chart.props("data-testid=chs-heatmap")

    with section(text("chs_table", lang)):
        ui.label(text("chs_table_note", lang).format(n=RECENT_POINTS)).classes(
            "text-xs text-gray-500"
        )
        no_match = ui.column().classes("w-full")
        with ui.element("div").classes("w-full overflow-x-auto"):
            table = ui.table(columns=_columns(lang), rows=[], row_key="id", pagination=0).classes(
                "w-full cursor-pointer"
            )
        table.props("flat dense wrap-cells hide-bottom data-testid=chs-table")
        table.add_slot("body-cell-code", _CODE_SLOT)
        table.add_slot("body-cell-cpk", _CPK_SLOT)
        table.add_slot("body-cell-ppk", _PPK_SLOT)
        table.add_slot("body-cell-status_text", _STATUS_SLOT)
        table.add_slot("body-cell-last", _LAST_SLOT)
        table.on("rowClick", lambda e: ui.navigate.to(f"/characteristics/{e.args[1]['id']}"))

    def apply(remember: bool = True) -> None:
        rows = filter_rows(
            data.rows, step=state["step"], product=state["product"], key_only=state["key"]
        )
        table.rows = table_rows(rows, lang)
        table.update()
        table.set_visibility(bool(rows))
        no_match.clear()
        if not rows:
            with no_match:
                empty_state(text("chs_no_match", lang), testid="chs-no-match")
        count.text = text("chs_count", lang).format(shown=len(rows), total=len(data.rows))
        heat = heatmap_matrix(rows, step_order)
        chart.options.clear()
        chart.options.update(heatmap_option(heat, lang))
        # 44 px per step; cells at least 56 px wide (scrolls on a narrow screen)
        chart.style(
            f"height: {max(len(heat.steps) * 44 + 16, 80)}px; "
            f"min-width: {110 + 56 * max(heat.width, 1)}px"
        )
        chart.update()
        chart.set_visibility(bool(rows))
        if remember:  # the address keeps the filters (a reload or a shared link shows the same)
            ui.navigate.history.replace(_query_url(state["step"], state["product"], state["key"]))

    def on_step(e: Any) -> None:
        state["step"] = e.value or None
        apply()

    def on_product(e: Any) -> None:
        state["product"] = e.value or None
        apply()

    def on_key(e: Any) -> None:
        state["key"] = bool(e.value)
        apply()

    step_sel.on_value_change(on_step)
    product_sel.on_value_change(on_product)
    key_sw.on_value_change(on_key)
    apply(remember=False)


def register(sessions: sessionmaker[Session]) -> None:
    """Add the page to the UI."""

    @ui.page("/characteristics", title="特性与SPC · zhuoyue", response_timeout=60)
    async def page(
        step: str | None = None, product: str | None = None, key: str | None = None
    ) -> RedirectResponse | None:
        ctx = await open_page(sessions, "characteristics")
        if isinstance(ctx, RedirectResponse):
            return ctx
        lang = ctx.lang
        with content():
            ui.label(f"{text('chs_title', lang)} · {ctx.org_name}").classes("text-2xl")
            body = ui.column().classes("w-full gap-4")
            with body:
                ui.spinner(size="lg").props("data-testid=loading")
        try:
            data = await ctx.call(_load)
        except Exception as exc:
            body.clear()
            with body:
                show_error(exc, lang)
            return None
        body.clear()
        initial = {"step": step, "product": product, "key": key in ("1", "true", "yes")}
        with body:
            _render(ctx, data, initial)
        return None
