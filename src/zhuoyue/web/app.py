"""Mount the NiceGUI pages on the FastAPI app of :func:`zhuoyue.api.create_app`.

The UI lives at ``/`` next to the API (``/api/v1``, ``/docs``, ``/health`` keep precedence:
they are routes of the app, the UI a mount added after them). Pages read and write through the
services with the app's session factory (``app.state.sessions``); the login session token is kept
in the browser's NiceGUI user storage, signed with ``ZHUOYUE_SECRET`` (else a random secret per
process, so logins end when the server restarts).

NiceGUI keeps one global UI per process: call :func:`mount_web` once per process.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from types import ModuleType
from typing import Any

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from nicegui import app as ui_app
from nicegui import run, ui
from sqlalchemy.orm import Session, sessionmaker

from zhuoyue.errors import AuthenticationError
from zhuoyue.web import (
    admin,
    alarms,
    assessment,
    characteristic,
    characteristics,
    data,
    importing,
    kpis,
)
from zhuoyue.web.i18n import text
from zhuoyue.web.layout import (
    content,
    current_lang,
    header,
    open_page,
    set_live_hub,
    show_error,
)
from zhuoyue.web.overview import render_lists, render_overview, render_trends

__all__ = ["SECRET_ENV", "mount_web"]

#: the environment variable holding the secret that signs the browser storage cookie
SECRET_ENV = "ZHUOYUE_SECRET"

_log = logging.getLogger(__name__)

#: the modules of the pages after the overview; each has ``register(sessions)``
PAGE_MODULES: tuple[ModuleType, ...] = (
    characteristics,
    characteristic,
    alarms,
    kpis,
    assessment,
    importing,
    admin,
)


def mount_web(app: FastAPI) -> None:
    """Mount the UI at ``/`` of ``app`` (made by :func:`zhuoyue.api.create_app`)."""
    sessions: sessionmaker[Session] = app.state.sessions
    set_live_hub(getattr(app.state, "hub", None))
    secret = os.environ.get(SECRET_ENV) or secrets.token_urlsafe(32)

    @ui.page("/login", title="登录 · zhuoyue")
    def login_page() -> None:
        lang = current_lang()
        header(lang)
        with ui.card().classes("absolute-center w-96 max-w-full"):
            ui.label(text("login", lang)).classes("text-xl")
            username = ui.input(text("username", lang)).classes("w-full")
            username.props("data-testid=username autocomplete=username")
            password = ui.input(
                text("password", lang), password=True, password_toggle_button=True
            ).classes("w-full")
            password.props("data-testid=password autocomplete=current-password")

            async def submit() -> None:
                username.error = None if username.value else text("need_username", lang)
                password.error = None if password.value else text("need_password", lang)
                if username.error or password.error:
                    return
                try:
                    token = await run.io_bound(
                        data.login, sessions, str(username.value), str(password.value)
                    )
                except AuthenticationError:
                    password.error = text("bad_credentials", lang)
                    return
                except Exception as exc:  # anything else: a message, never a traceback
                    _log.exception("login failed", exc_info=exc)
                    password.error = text("error", lang)
                    return
                ui_app.storage.user["token"] = token
                ui.navigate.to("/")

            password.on("keydown.enter", submit)
            ui.button(text("login", lang), on_click=submit).classes("w-full").props(
                "data-testid=login"
            )

    @ui.page("/", title="质量驾驶舱 · zhuoyue", response_timeout=60)
    async def overview_page() -> RedirectResponse | None:
        ctx = await open_page(sessions, "overview")
        if isinstance(ctx, RedirectResponse):
            return ctx
        # the level and indicators come with the page; the lists of characteristics, then the
        # monthly trends, fill it in once the browser is connected (their loading starts now)
        lists_task = asyncio.ensure_future(ctx.read(data.load_lists))
        overview: data.Overview | None = None
        with content():
            top = ui.column().classes("w-full gap-4")
            lists_box = ui.column().classes("w-full gap-4")
            trends_box = ui.column().classes("w-full gap-4")
        with lists_box:
            ui.spinner(size="lg").props("data-testid=loading")
        try:
            overview = await ctx.read(data.load_overview)
            with top:
                render_overview(overview, ctx.lang)
        except Exception as exc:
            with top:
                show_error(exc, ctx.lang)
        try:
            await ui.context.client.connected(timeout=30)
        except TimeoutError:  # the browser went away before it connected
            lists_task.cancel()
            return None
        try:
            lists = await lists_task
            lists_box.clear()
            with lists_box:
                render_lists(lists, not ctx.can("read") and ctx.can("read_shared"), ctx.lang)
        except Exception as exc:
            lists_box.clear()
            with lists_box:
                show_error(exc, ctx.lang)
        trends_box.clear()
        if overview is None or overview.result is None or not overview.can_data:
            return None
        with trends_box:
            ui.spinner(size="lg")
        try:
            trends = await ctx.read(data.load_trends, int(overview.result["year"]))
            trends_box.clear()
            with trends_box:
                render_trends(trends, ctx.lang)
        except Exception as exc:
            trends_box.clear()
            with trends_box:
                show_error(exc, ctx.lang)
        return None

    for module in PAGE_MODULES:
        module.register(sessions)

    run_kwargs: dict[str, Any] = {"show_welcome_message": False}
    ui.run_with(
        app,
        mount_path="/",
        storage_secret=secret,
        title="zhuoyue",
        language="zh-CN",
        favicon="📈",
        **run_kwargs,
    )
