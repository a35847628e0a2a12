"""The overview page (质量驾驶舱): level badge, aspect radar, indicators, constraints, worst Cpk."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from zhuoyue.web.data import Lists, Overview
from zhuoyue.web.i18n import Lang, text

__all__ = [
    "LEVEL_COLOURS",
    "aspect_radar",
    "binding_constraints",
    "format_value",
    "level_badge",
    "render_lists",
    "render_overview",
    "render_trends",
    "trend_option",
]

#: badge colour (Quasar palette) per level 1..5
LEVEL_COLOURS = {1: "grey-7", 2: "orange-8", 3: "blue-8", 4: "green-8", 5: "purple-8"}


def format_value(value: float | None, unit: str) -> str:
    """A threshold or value as the indicator shows it (fractions as percentages)."""
    if value is None:
        return "—"
    if unit == "%":
        return f"{value * 100:.4g} %"
    return f"{value:.4g}{unit}"


def _name(item: dict[str, Any], lang: Lang) -> str:
    return str(item.get("name_en" if lang == "en" else "name_zh") or item.get("id", ""))


def _level_name(item: dict[str, Any], lang: Lang) -> str:
    names = item.get("level_name") or {}
    return str(names.get(lang, "")) if isinstance(names, dict) else ""


def level_badge(result: dict[str, Any], status: str | None, lang: Lang) -> None:
    level = int(result["level"])
    with ui.card().classes("w-full"):
        ui.label(text("level", lang)).classes("text-sm text-gray-600")
        with ui.row().classes("items-center gap-4"):
            ui.badge(f"L{level} {_level_name(result, lang)}", color=LEVEL_COLOURS.get(level)).props(
                "data-testid=level-badge"
            ).classes("text-2xl px-4 py-2")
            score = result.get("score") or {}
            year = result.get("year", "")
            parts = [
                f"{text('year', lang)} {year}" if lang == "en" else f"{year} {text('year', lang)}"
            ]
            if score.get("value") is not None:
                parts.append(f"{text('score', lang)} {score['value']:g} / {score.get('max', 0):g}")
            parts.append(text(f"status_{status}" if status else "status_computed", lang))
            ui.label(" · ".join(parts)).classes("text-gray-700")


def aspect_radar(result: dict[str, Any], lang: Lang) -> None:
    aspects = list(result.get("aspects") or [])
    with ui.card().classes("w-full md:w-[28rem]"):
        ui.label(text("aspects", lang)).classes("text-lg")
        ui.echart(
            {
                "tooltip": {},
                "radar": {
                    "indicator": [{"name": _name(a, lang), "max": 5} for a in aspects],
                    "radius": "52%",
                    "axisName": {"fontSize": 11},
                },
                "series": [
                    {
                        "type": "radar",
                        "data": [
                            {
                                "name": text("level", lang),
                                "value": [a.get("level") or 0 for a in aspects],
                                "areaStyle": {"opacity": 0.3},
                            }
                        ],
                    }
                ],
            }
        ).classes("w-full h-80").props("data-testid=radar")


def _indicators(overview: Overview, result: dict[str, Any], lang: Lang) -> None:
    rows = []
    for mid, m in (result.get("metrics") or {}).items():
        unit = str(m.get("unit") or "")
        limits = " · ".join(
            f"L{t['level']} {t['op']}"
            + ("" if t["value"] is None else f" {format_value(t['value'], unit)}")
            for t in overview.thresholds.get(mid, [])
        )
        reason = m.get("reason_en" if lang == "en" else "reason_zh") or ""
        rows.append(
            {
                "id": mid,
                "name": _name(m, lang),
                "value": m.get("display") or format_value(m.get("value"), unit),
                "level": f"L{m['level']} {_level_name(m, lang)}" if m.get("level") else reason,
                "thresholds": limits,
            }
        )
    columns = [
        {"name": "name", "label": text("indicator", lang), "field": "name", "align": "left"},
        {"name": "value", "label": text("value", lang), "field": "value", "align": "right"},
        {"name": "level", "label": text("level", lang), "field": "level", "align": "left"},
        {
            "name": "thresholds",
            "label": text("thresholds", lang),
            "field": "thresholds",
            "align": "left",
        },
    ]
    with ui.card().classes("flex-1 min-w-[32rem]"):
        ui.label(text("indicators", lang)).classes("text-lg")
        ui.table(columns=columns, rows=rows, row_key="id").classes("w-full").props(
            "flat dense wrap-cells data-testid=indicators"
        )


def binding_constraints(result: dict[str, Any], lang: Lang) -> None:
    items = list(result.get("binding") or [])
    with ui.card().classes("w-full"):
        ui.label(text("binding", lang)).classes("text-lg")
        if not items:
            ui.label(text("no_binding", lang))
        for b in items:
            msg = b.get("message_en" if lang == "en" else "message_zh") or b.get("item", "")
            ui.label(f"• {msg}").classes("text-orange-900")


def _worst(lists: Lists | None, shared_only: bool, lang: Lang) -> None:
    columns = [
        {"name": "code", "label": text("characteristic", lang), "field": "code", "align": "left"},
        {"name": "name", "label": "", "field": "name", "align": "left"},
        {"name": "step", "label": text("step", lang), "field": "step", "align": "left"},
        {"name": "key", "label": text("key", lang), "field": "key"},
        {"name": "cpk", "label": "Cpk", "field": "cpk", "align": "right"},
        {"name": "ppk", "label": "Ppk", "field": "ppk", "align": "right"},
        {"name": "in_control", "label": text("in_control", lang), "field": "in_control"},
    ]

    def yes_no(flag: Any) -> str:
        return "—" if flag is None else text("yes" if flag else "no", lang)

    rows = [
        {
            "id": r["id"],
            "code": r["code"],
            "name": r["name"],
            "step": " ".join(str(x) for x in (r.get("step"), r.get("step_name")) if x),
            "key": "★" if r.get("key") else "",
            "cpk": format_value(r.get("cpk"), ""),
            "ppk": format_value(r.get("ppk"), ""),
            "in_control": yes_no(r.get("in_control")),
        }
        for r in (lists.worst if lists is not None else [])
    ]
    with ui.card().classes("w-full"):
        ui.label(text("worst", lang)).classes("text-lg")
        if shared_only:
            ui.label(text("shared_only", lang)).classes("text-xs text-gray-500")
        if lists is None:
            ui.label(text("no_right_data", lang))
        elif not rows:
            ui.label(text("no_data", lang))
        else:
            table = ui.table(columns=columns, rows=rows, row_key="id").classes("w-full")
            table.props("flat dense data-testid=worst").classes("cursor-pointer")
            table.on(
                "rowClick",
                lambda e: ui.navigate.to(f"/characteristics/{e.args[1]['id']}"),
            )


def trend_option(
    metric: dict[str, Any], months: list[str], values: list[float | None], lang: Lang
) -> dict[str, Any]:
    """The ECharts option of one indicator's twelve months, with its level thresholds as
    dashed lines (percentages for fractions)."""
    scale = 100.0 if metric.get("unit") == "%" else 1.0
    data = [None if v is None else round(v * scale, 6) for v in values]
    marks = [
        (int(t["level"]), round(float(t["value"]) * scale, 6))
        for t in metric.get("thresholds") or []
        if t.get("value") is not None
    ]
    finite = [v for v in data if v is not None]
    lo, hi = (min(finite), max(finite)) if finite else (0.0, 1.0)
    # the axis spans the data and the nearest threshold on either side of it
    below = [y for _, y in marks if y < lo]
    above = [y for _, y in marks if y > hi]
    lo = max(below) if below else lo
    hi = min(above) if above else hi
    pad = (hi - lo) * 0.08 or abs(hi) * 0.05 or 1.0
    lines = [
        {
            "yAxis": y,
            "name": f"L{level}",
            "label": {"formatter": f"L{level}", "position": "insideEndTop", "fontSize": 9},
        }
        for level, y in marks
        if lo <= y <= hi
    ]
    return {
        "grid": {"left": 48, "right": 28, "top": 24, "bottom": 24},
        "tooltip": {"trigger": "axis"},
        "xAxis": {"type": "category", "data": [m[-2:] for m in months]},
        "yAxis": {
            "type": "value",
            "min": round(lo - pad, 6),
            "max": round(hi + pad, 6),
            "axisLabel": {"fontSize": 10, "showMinLabel": False, "showMaxLabel": False},
            "name": "%" if scale == 100.0 else "",
        },
        "series": [
            {
                "type": "line",
                "name": _name(metric, lang),
                "data": data,
                "connectNulls": False,
                "symbolSize": 5,
                "markLine": {
                    "silent": True,
                    "symbol": "none",
                    "lineStyle": {"type": "dashed", "color": "#9ca3af"},
                    "data": lines,
                },
            }
        ],
    }


def render_trends(trends: dict[str, Any] | None, lang: Lang) -> None:
    """Twelve-month trends of the five indicators (small multiples) in the current container."""
    with ui.card().classes("w-full").props("data-testid=trends"):
        ui.label(f"{text('trends', lang)} · {trends['year'] if trends else ''}").classes("text-lg")
        if trends is None:
            ui.label(text("no_right_data", lang))
            return
        with ui.row().classes("w-full gap-4 flex-wrap"):
            for mid, metric in trends["metrics"].items():
                with ui.column().classes("w-full md:w-[30%] min-w-[16rem] gap-0"):
                    ui.label(_name(metric, lang)).classes("text-sm text-gray-700")
                    values = trends["values"].get(mid) or []
                    if all(v is None for v in values):
                        ui.label(text("no_trend", lang)).classes("text-xs text-gray-500 h-40")
                        continue
                    ui.echart(trend_option(metric, trends["months"], values, lang)).classes(
                        "w-full h-40"
                    ).props(f"data-testid=trend-{mid}")


def _open_alarms(lists: Lists, lang: Lang) -> None:
    with ui.card().classes("w-full").props("data-testid=open-alarms"):
        with ui.row().classes("items-center gap-2"):
            ui.label(text("open_alarms", lang)).classes("text-lg")
            ui.badge(str(lists.open_total), color="red-8" if lists.open_total else "green-8")
            ui.link(text("all_alarms", lang), "/alarms").classes("text-sm")
        if not lists.open_alarms:
            ui.label(text("no_open_alarms", lang)).classes("text-sm text-gray-600")
        for a in lists.open_alarms:
            with ui.row().classes("items-baseline gap-2 w-full"):
                ui.icon("error" if a["severity"] == "critical" else "warning").classes(
                    "text-red-700" if a["severity"] == "critical" else "text-orange-700"
                )
                ui.link(
                    a["message_en" if lang == "en" else "message_zh"],
                    f"/characteristics/{a['characteristic_id']}",
                )
                ui.label(f"{str(a['opened_at'])[:16].replace('T', ' ')} UTC").classes(
                    "text-xs text-gray-500"
                )


def _alarms(lists: Lists, lang: Lang) -> None:
    with ui.card().classes("w-full").props("data-testid=alarms"):
        ui.label(text("alarms", lang)).classes("text-lg")
        ui.label(text("alarms_note", lang)).classes("text-xs text-gray-500")
        if not lists.alarms:
            ui.label(text("no_alarms", lang))
            return
        for r in lists.alarms:
            v = r["last_violation"]
            words = "; ".join((v.get("descriptions") or {}).get(lang, [])) or ", ".join(
                str(t) for t in v["tests"]
            )
            with ui.row().classes("items-baseline gap-2 w-full"):
                ui.icon("warning", color="orange-8")
                ui.link(f"{r['code']} {r['name']}", f"/characteristics/{r['id']}")
                ui.label(f"{str(v['ts'])[:16].replace('T', ' ')} UTC").classes(
                    "text-xs text-gray-500"
                )
                ui.label(words).classes("text-sm text-orange-900")


def render_overview(overview: Overview, lang: Lang) -> None:
    """Build the overview's content in the current container."""
    ui.label(f"{text('overview', lang)} · {overview.org_name}").classes("text-2xl")
    result = overview.result
    if not overview.can_assessment:
        ui.label(text("no_right_assessment", lang))
    elif result is None:
        ui.label(text("no_assessment", lang))
    else:
        level_badge(result, overview.status, lang)
        with ui.row().classes("w-full gap-4 items-stretch"):
            aspect_radar(result, lang)
            _indicators(overview, result, lang)
        binding_constraints(result, lang)


def render_lists(lists: Lists | None, shared_only: bool, lang: Lang) -> None:
    """The characteristics signalling now and those with the lowest Cpk."""
    if lists is not None:
        _open_alarms(lists, lang)
        _alarms(lists, lang)
    _worst(lists, shared_only, lang)
