"""Mount the NiceGUI pages on the FastAPI app of :func:`zhuoyue.api.create_app`.

The UI lives at ``/`` next to the API (``/api/v1``, ``/docs``, ``/health`` keep precedence:
they are routes of the app, the UI a mount added after them). Pages read and write through the
services with the app's session factory (``app.state.sessions``); the login session token is kept
in the browser's NiceGUI user storage, signed with ``ZHUOYUE_SECRET`` (else a random secret per
process, so logins end when the server restarts).

NiceGUI keeps one global UI per process: call :func:`mount_web` once per process.
"""

from __future__ import annotations

import logging
import os
import secrets
import uuid
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from nicegui import app as ui_app
from nicegui import run, ui
from sqlalchemy.orm import Session, sessionmaker

from zhuoyue.errors import AuthenticationError
from zhuoyue.web import data
from zhuoyue.web.i18n import Lang, text
from zhuoyue.web.overview import render_overview

__all__ = ["SECRET_ENV", "mount_web"]

#: the environment variable holding the secret that signs the browser storage cookie
SECRET_ENV = "ZHUOYUE_SECRET"

_log = logging.getLogger(__name__)


def _lang() -> Lang:
    return "en" if ui_app.storage.user.get("lang") == "en" else "zh"


def _toggle_lang() -> None:
    ui_app.storage.user["lang"] = "zh" if _lang() == "en" else "en"
    ui.navigate.reload()


def _friendly_error(exc: BaseException, lang: Lang) -> None:
    """Log ``exc`` with a reference and show a message (never a traceback) in its place."""
    ref = uuid.uuid4().hex[:8]
    _log.error("web page failed (ref %s)", ref, exc_info=exc)
    with ui.card().classes("w-full bg-red-50"):
        ui.label(text("error", lang)).classes("text-red-800")
        ui.label(f"{text('error_ref', lang)}: {ref}").classes("text-xs text-gray-500")


def _header(lang: Lang, right: Callable[[], None] | None = None) -> None:
    with ui.header().classes("items-center justify-between bg-blue-900"):
        ui.label(text("app", lang)).classes("text-lg font-bold")
        with ui.row().classes("items-center gap-2"):
            if right is not None:
                right()
            ui.button(text("language", lang), on_click=_toggle_lang).props(
                "flat color=white no-caps data-testid=lang-switch"
            )


def mount_web(app: FastAPI) -> None:
    """Mount the UI at ``/`` of ``app`` (made by :func:`zhuoyue.api.create_app`)."""
    sessions: sessionmaker[Session] = app.state.sessions
    secret = os.environ.get(SECRET_ENV) or secrets.token_urlsafe(32)

    @ui.page("/login", title="登录 · zhuoyue")
    def login_page() -> None:
        lang = _lang()
        _header(lang)
        with ui.card().classes("absolute-center w-96"):
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
        lang = _lang()
        token = ui_app.storage.user.get("token")
        if not isinstance(token, str):
            return RedirectResponse("/login")
        try:
            loaded = await run.io_bound(data.load_overview, sessions, token)
        except AuthenticationError:
            ui_app.storage.user.pop("token", None)
            return RedirectResponse("/login")
        except Exception as exc:
            _header(lang)
            with ui.column().classes("w-full p-4"):
                _friendly_error(exc, lang)
            return None
        if loaded is None:  # the server is shutting down
            return None
        overview: data.Overview = loaded

        async def logout() -> None:
            ui_app.storage.user.pop("token", None)
            try:
                await run.io_bound(data.logout, sessions, token)
            finally:
                ui.navigate.to("/login")

        async def switch(org_id: Any) -> None:
            if org_id != overview.org_id:
                await run.io_bound(data.switch_org, sessions, token, int(org_id))
                ui.navigate.reload()

        def right() -> None:
            if len(overview.orgs) > 1:
                ui.select(
                    overview.orgs,
                    value=overview.org_id,
                    on_change=lambda e: switch(e.value),
                ).props("dense dark outlined options-dense data-testid=org-switch").classes(
                    "min-w-[16rem]"
                )
            else:
                ui.label(overview.org_name).classes("text-sm")
            ui.label(overview.display_name or overview.username).classes("text-sm")
            ui.button(text("logout", lang), on_click=logout).props(
                "flat color=white no-caps data-testid=logout"
            )

        _header(lang, right)
        with ui.column().classes("w-full p-4 gap-4"):
            try:
                render_overview(overview, lang)
            except Exception as exc:
                _friendly_error(exc, lang)
        return None

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
