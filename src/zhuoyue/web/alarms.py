"""The alarms page (报警): open and acknowledged alarms, live, with the OCAP acknowledgement.

New alarms arrive while the page is open (pushed from the monitor, not polled): they appear at
the top with a notice. Acknowledging needs the assignable cause and the corrective action
(validated next to each field) and the permission ``write_data``; the service refuses otherwise
too. Characteristics whose alarms keep coming back are listed with the suggestion to open a
nonconformance report.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import RedirectResponse
from nicegui import ui
from sqlalchemy.orm import Session, sessionmaker

from zhuoyue.services import alarms
from zhuoyue.services.accounts import Principal
from zhuoyue.web.i18n import Lang, add_texts, text
from zhuoyue.web.layout import (
    PageContext,
    busy,
    content,
    empty_state,
    notify_error,
    open_page,
    section,
    show_error,
    subscribe_live,
)

__all__ = ["alarm_row", "register"]

add_texts(
    {
        "al_title": ("报警", "Alarms"),
        "al_open": ("未处理", "Open"),
        "al_acknowledged": ("已处理", "Acknowledged"),
        "al_all": ("全部", "All"),
        "al_status": ("状态", "Status"),
        "al_severity": ("级别", "Severity"),
        "al_critical": ("严重", "critical"),
        "al_warning": ("警告", "warning"),
        "al_message": ("报警内容", "Alarm"),
        "al_opened": ("报警时间 (UTC)", "Opened (UTC)"),
        "al_point": ("数据时间 (UTC)", "Point time (UTC)"),
        "al_signals": ("信号次数", "Signals"),
        "al_ack": ("处理", "Acknowledge"),
        "al_ack_title": (
            "处理报警（OCAP：异常原因与纠正措施）",
            "Acknowledge (OCAP: cause and action)",
        ),
        "al_cause": ("异常原因（可归因原因）", "Assignable cause"),
        "al_action": ("纠正措施", "Corrective action"),
        "al_need_cause": ("请填写异常原因", "Enter the assignable cause"),
        "al_need_action": ("请填写纠正措施", "Enter the corrective action"),
        "al_too_long": ("最多 2000 个字符", "At most 2 000 characters"),
        "al_save": ("确认处理", "Acknowledge"),
        "al_cancel": ("取消", "Cancel"),
        "al_done": ("报警已处理", "The alarm is acknowledged"),
        "al_none": (
            "没有报警。冻结控制限后，在线监测会按判异准则实时报警。",
            "No alarm. Once control limits are frozen, the online monitor raises alarms by the "
            "run rules as values arrive.",
        ),
        "al_new": ("新报警", "New alarm"),
        "al_live": (
            "实时：新报警会自动出现在这里。",
            "Live: new alarms appear here by themselves.",
        ),
        "al_suggest": ("建议开具不合格报告", "Suggested nonconformance reports"),
        "al_by": ("处理人", "By"),
        "al_ocap": ("原因 / 措施", "Cause / action"),
        "al_no_right": ("您的角色无权处理报警。", "Your role may not acknowledge alarms."),
    }
)

_PAGE = 200


def alarm_row(a: dict[str, Any], lang: Lang) -> dict[str, Any]:
    """One alarm as a table row (times shortened to minutes, UTC)."""
    char = a.get("characteristic") or {}

    def short(ts: Any) -> str:
        return "" if ts is None else str(ts)[:16].replace("T", " ")

    ocap = ""
    if a.get("assignable_cause"):
        ocap = f"{a['assignable_cause']} / {a.get('corrective_action') or ''}"
    return {
        "id": a["id"],
        "char_id": char.get("id", a.get("characteristic_id")),
        "code": char.get("code", ""),
        "severity": a["severity"],
        "severity_text": text(f"al_{a['severity']}", lang),
        "message": a["message_en"] if lang == "en" else a["message_zh"],
        "opened": short(a.get("opened_at")),
        "point": short(a.get("first_point_ts")),
        "signals": a.get("signals", 1),
        "status": a["status"],
        "status_text": text(f"al_{a['status']}", lang),
        "ocap": ocap,
    }


def _load(s: Session, p: Principal, status: str | None) -> dict[str, Any]:
    page = alarms.list_alarms(s, p, status=status, limit=_PAGE)
    return {
        "items": page.items,
        "total": page.total,
        "suggestions": alarms.nonconformance_suggestions(s, p),
        "can_ack": p.can("write_data"),
    }


def _ack(s: Session, p: Principal, alarm_id: int, cause: str, action: str) -> None:
    alarms.acknowledge(s, p, alarm_id, assignable_cause=cause, corrective_action=action)


def _columns(lang: Lang) -> list[dict[str, Any]]:
    def col(name: str, key: str, align: str = "left") -> dict[str, Any]:
        return {"name": name, "label": text(key, lang), "field": name, "align": align}

    return [
        col("severity_text", "al_severity"),
        col("message", "al_message"),
        col("point", "al_point"),
        col("opened", "al_opened"),
        col("signals", "al_signals", "right"),
        col("status_text", "al_status"),
        col("ocap", "al_ocap"),
        {"name": "action", "label": "", "field": "id"},
    ]


def _ack_dialog(ctx: PageContext, on_done: Any) -> Any:
    lang = ctx.lang
    with ui.dialog() as dialog, ui.card().classes("w-[32rem] max-w-full"):
        ui.label(text("al_ack_title", lang)).classes("text-lg")
        which = ui.label("").classes("text-sm text-gray-700")
        cause = (
            ui.textarea(text("al_cause", lang))
            .classes("w-full")
            .props("data-testid=al-cause autogrow")
        )
        action = (
            ui.textarea(text("al_action", lang))
            .classes("w-full")
            .props("data-testid=al-action autogrow")
        )
        state: dict[str, Any] = {"id": None}

        async def save() -> None:
            c, a = str(cause.value or "").strip(), str(action.value or "").strip()
            cause.error = text("al_need_cause", lang) if not c else None
            action.error = text("al_need_action", lang) if not a else None
            if c and len(c) > alarms.MAX_OCAP_CHARS:
                cause.error = text("al_too_long", lang)
            if a and len(a) > alarms.MAX_OCAP_CHARS:
                action.error = text("al_too_long", lang)
            if cause.error or action.error:
                return
            async with busy(button):
                try:
                    await ctx.call(_ack, int(state["id"]), c, a)
                except Exception as exc:
                    notify_error(exc, lang)
                    return
            dialog.close()
            ui.notify(text("al_done", lang), type="positive")
            await on_done()

        with ui.row().classes("w-full justify-end gap-2"):
            ui.button(text("al_cancel", lang), on_click=dialog.close).props("flat")
            button = ui.button(text("al_save", lang), on_click=save).props(
                "color=primary data-testid=al-save"
            )

    def open_for(row: dict[str, Any]) -> None:
        state["id"] = row["id"]
        which.text = row["message"]
        cause.value, action.value = "", ""
        cause.error, action.error = None, None
        dialog.open()

    return open_for


def register(sessions: sessionmaker[Session]) -> None:
    """Add the page to the UI."""

    @ui.page("/alarms", title="报警 · zhuoyue", response_timeout=60)
    async def page(status: str | None = "open") -> RedirectResponse | None:
        ctx = await open_page(sessions, "alarms")
        if isinstance(ctx, RedirectResponse):
            return ctx
        lang = ctx.lang
        wanted = status if status in ("open", "acknowledged") else None
        with content():
            ui.label(text("al_title", lang)).classes("text-2xl")
            with ui.row().classes("items-center gap-2"):
                ui.toggle(
                    {
                        "open": text("al_open", lang),
                        "acknowledged": text("al_acknowledged", lang),
                        "all": text("al_all", lang),
                    },
                    value=wanted or "all",
                    on_change=lambda e: ui.navigate.to(f"/alarms?status={e.value}"),
                ).props("data-testid=al-status no-caps")
                ui.label(text("al_live", lang)).classes("text-xs text-gray-500")
            box = ui.column().classes("w-full gap-4")
        state: dict[str, Any] = {"table": None}

        async def refresh() -> None:
            try:
                data = await ctx.call(_load, wanted)
            except Exception as exc:
                box.clear()
                with box:
                    show_error(exc, lang)
                return
            box.clear()
            with box:
                render(data)

        open_for = _ack_dialog(ctx, refresh)

        def render(data: dict[str, Any]) -> None:
            with section(f"{text('al_title', lang)} · {data['total']}"):
                if not data["items"]:
                    empty_state(text("al_none", lang), testid="al-empty")
                rows = [alarm_row(a, lang) for a in data["items"]]
                table = ui.table(columns=_columns(lang), rows=rows, row_key="id").classes("w-full")
                table.props("flat dense wrap-cells data-testid=al-table")
                if not rows:
                    table.set_visibility(False)
                can_ack = bool(data["can_ack"])
                table.add_slot(
                    "body-cell-severity_text",
                    """<q-td :props="props"><q-badge :color="props.row.severity == 'critical'
                    ? 'red-8' : 'orange-8'">{{ props.value }}</q-badge></q-td>""",
                )
                table.add_slot(
                    "body-cell-message",
                    """<q-td :props="props"><a :href="'/characteristics/' + props.row.char_id"
                    class="text-blue-800">{{ props.value }}</a></q-td>""",
                )
                ack_button = (
                    f"""<q-btn v-if="props.row.status == 'open'" dense flat no-caps
                    color="primary" label="{text("al_ack", lang)}" data-testid="al-ack"
                    @click="$parent.$emit('ack', props.row)" />"""
                    if can_ack
                    else ""
                )
                table.add_slot("body-cell-action", f'<q-td :props="props">{ack_button}</q-td>')
                table.on("ack", lambda e: open_for(e.args))
                state["table"] = table
                if not can_ack:
                    ui.label(text("al_no_right", lang)).classes("text-xs text-gray-500")
            if data["suggestions"]:
                with section(text("al_suggest", lang)):
                    for sgg in data["suggestions"]:
                        words = sgg["suggestion_en" if lang == "en" else "suggestion_zh"]
                        ui.label(f"• {words}").classes("text-orange-900")

        await refresh()

        async def on_events(events: list[dict[str, Any]]) -> None:
            new = [e["alarm"] for e in events if e.get("type") == "alarm"]
            if not new:
                return
            for a in new[:3]:
                ui.notify(
                    f"{text('al_new', lang)}{'：' if lang == 'zh' else ': '}"
                    f"{a['message_en' if lang == 'en' else 'message_zh']}",
                    type="negative" if a["severity"] == "critical" else "warning",
                )
            if wanted in (None, "open"):
                await refresh()

        await subscribe_live(ctx, on_events, wanted=lambda e: e.get("type") == "alarm")
        return None
