"""The 特性详情 page (being built)."""

from __future__ import annotations

from fastapi.responses import RedirectResponse
from nicegui import ui
from sqlalchemy.orm import Session, sessionmaker

from zhuoyue.web.layout import content, open_page

__all__ = ["register"]


def register(sessions: sessionmaker[Session]) -> None:
    """Add the page to the UI."""

    @ui.page("/characteristics/{ref}", title="特性详情 · zhuoyue")
    async def page(ref: str) -> RedirectResponse | None:
        ctx = await open_page(sessions, "characteristics")
        if isinstance(ctx, RedirectResponse):
            return ctx
        with content():
            ui.label("特性详情")
        return None
