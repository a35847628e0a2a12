"""The 质量指标 page (being built)."""

from __future__ import annotations

from fastapi.responses import RedirectResponse
from nicegui import ui
from sqlalchemy.orm import Session, sessionmaker

from zhuoyue.web.layout import content, open_page

__all__ = ["register"]


def register(sessions: sessionmaker[Session]) -> None:
    """Add the page to the UI."""

    @ui.page("/kpis", title="质量指标 · zhuoyue")
    async def page() -> RedirectResponse | None:
        ctx = await open_page(sessions, "kpis")
        if isinstance(ctx, RedirectResponse):
            return ctx
        with content():
            ui.label("质量指标")
        return None
