"""The frame every signed-in page shares: sign-in check, header with navigation, errors, calls.

A page is written as::

    @ui.page("/kpis", title="质量指标 · zhuoyue")
    async def kpis_page() -> RedirectResponse | None:
        ctx = await open_page(sessions, "kpis")
        if isinstance(ctx, RedirectResponse):
            return ctx
        with content():
            try:
                data = await ctx.call(kpi_service_function, year)
            except Exception as exc:
                show_error(exc, ctx.lang)
                return None
            ...

:func:`open_page` redirects to ``/login`` when the browser has no live session, else builds the
header (navigation filtered by the user's role, organization switch, language, logout) and
returns a :class:`PageContext`. :meth:`PageContext.call` runs a service function in a worker
thread inside one transaction with the session's principal, so pages hold no SQL and never block
the event loop. :func:`show_error` turns an exception into a message in the user's language:
the message of a zhuoyue error (bad input, not found, not allowed) as it is, anything else as a
friendly text with a reference that is written to the log with the traceback — a page never
shows a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from fastapi.responses import RedirectResponse
from nicegui import app as ui_app
from nicegui import background_tasks, run, ui
from nicegui.elements.mixins.disableable_element import DisableableElement
from sqlalchemy.orm import Session, sessionmaker

from zhuoyue.errors import AuthenticationError, ZhuoyueError
from zhuoyue.services import accounts
from zhuoyue.services.accounts import Principal
from zhuoyue.services.masterdata import visible_characteristics
from zhuoyue.services.monitoring import LiveHub
from zhuoyue.store.engine import READ_ONLY
from zhuoyue.store.models import Characteristic, UserAccount
from zhuoyue.web.i18n import Lang, text

__all__ = [
    "NAV",
    "NavItem",
    "PageContext",
    "busy",
    "content",
    "current_lang",
    "empty_state",
    "header",
    "notify_error",
    "open_page",
    "section",
    "set_live_hub",
    "show_error",
    "subscribe_live",
    "toggle_lang",
]

T = TypeVar("T")
_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class NavItem:
    """A page in the navigation: shown when the principal may do one of ``actions``."""

    key: str  # the i18n key of its label, and the ``active`` name pages pass to open_page
    path: str
    icon: str
    actions: tuple[str, ...] = ()

    def visible(self, principal: Principal) -> bool:
        return not self.actions or any(principal.can(a) for a in self.actions)


#: the navigation, in order
NAV: tuple[NavItem, ...] = (
    NavItem("nav_overview", "/", "dashboard"),
    NavItem("nav_characteristics", "/characteristics", "insights", ("read", "read_shared")),
    NavItem("nav_alarms", "/alarms", "notifications_active", ("read", "read_shared")),
    NavItem("nav_kpis", "/kpis", "leaderboard", ("read",)),
    NavItem(
        "nav_assessment", "/assessment", "fact_check", ("read_assessment", "read_shared_assessment")
    ),
    NavItem("nav_import", "/import", "upload_file", ("write_data",)),
    NavItem(
        "nav_admin",
        "/admin",
        "admin_panel_settings",
        ("manage_users", "manage_org", "manage_tokens", "own_tokens"),
    ),
)


def current_lang() -> Lang:
    """The language chosen in this browser (Chinese by default)."""
    return "en" if ui_app.storage.user.get("lang") == "en" else "zh"


def toggle_lang() -> None:
    """Switch between 中文 and English and rebuild the page."""
    ui_app.storage.user["lang"] = "zh" if current_lang() == "en" else "en"
    ui.navigate.reload()


@dataclass(frozen=True, slots=True)
class PageContext:
    """What a signed-in page knows: who, in which organization, in which language."""

    sessions: sessionmaker[Session]
    token: str
    principal: Principal
    lang: Lang
    display_name: str | None
    orgs: dict[int, str] = field(default_factory=dict)  # the user's organizations: id → name

    @property
    def org_id(self) -> int:
        return self.principal.org_id

    @property
    def org_name(self) -> str:
        return self.orgs.get(self.principal.org_id, self.principal.org_code)

    def t(self, key: str) -> str:
        """The text ``key`` in the page's language."""
        return text(key, self.lang)

    def can(self, *actions: str) -> bool:
        """Whether the user may do one of ``actions`` here."""
        return any(self.principal.can(a) for a in actions)

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(session, principal, *args, **kwargs)`` in a worker thread, in one transaction
        (committed when ``fn`` returns, rolled back when it raises)."""

        def work() -> T:
            with self.sessions.begin() as s:
                return fn(s, self.principal, *args, **kwargs)

        # io_bound answers None only while the server shuts down
        return cast(T, await run.io_bound(work))

    async def read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Like :meth:`call` for a function that only reads: on SQLite its transaction does not
        take the write lock, so pages load while the monitor writes (and do not queue behind
        each other)."""

        def work() -> T:
            with self.sessions() as s:
                s.connection(execution_options={READ_ONLY: True})
                try:
                    return fn(s, self.principal, *args, **kwargs)
                finally:
                    s.rollback()

        return cast(T, await run.io_bound(work))


def _resolve(
    sessions: sessionmaker[Session], token: str
) -> tuple[Principal, str | None, dict[int, str]]:
    with sessions.begin() as s:
        p = accounts.resolve_session(s, token)
        user = s.get(UserAccount, p.user_id)
        orgs = {o.id: o.name for o, _ in accounts.list_organizations(s, p.user_id)}
        return p, (user.display_name if user is not None else None), orgs


def _switch_org(sessions: sessionmaker[Session], token: str, org_id: int) -> None:
    with sessions.begin() as s:
        accounts.switch_org(s, accounts.resolve_session(s, token), token, org_id)


def _logout(sessions: sessionmaker[Session], token: str) -> None:
    with sessions.begin() as s:
        accounts.logout(s, token)


def header(lang: Lang, right: Callable[[], None] | None = None) -> None:
    """The top bar: the product name, then ``right`` (navigation, user), then the language."""
    with ui.header().classes("items-center justify-between bg-blue-900 px-4 py-2 gap-2"):
        with ui.link(target="/").classes("text-white no-underline"):
            ui.label(text("app", lang)).classes("text-lg font-bold whitespace-nowrap")
        with ui.row().classes("items-center gap-2 flex-wrap justify-end"):
            if right is not None:
                right()
            ui.button(text("language", lang), on_click=toggle_lang).props(
                "flat color=white no-caps data-testid=lang-switch"
            )


def _nav(ctx: PageContext, active: str) -> None:
    items = [item for item in NAV if item.visible(ctx.principal)]
    # wide screens: a row of buttons; narrow screens (tablets upright): one menu button
    with ui.row().classes("gap-0 gt-sm"):
        for item in items:
            b = ui.button(
                ctx.t(item.key), icon=item.icon, on_click=lambda i=item: ui.navigate.to(i.path)
            ).props(
                f"flat color=white no-caps dense data-testid=nav-{item.path.strip('/') or 'home'}"
            )
            if item.key == f"nav_{active}":
                b.classes("bg-blue-700")
    with (
        ui.button(icon="menu")
        .props("flat color=white dense data-testid=nav-menu")
        .classes("lt-md"),
        ui.menu(),
    ):
        for item in items:
            ui.menu_item(ctx.t(item.key), on_click=lambda i=item: ui.navigate.to(i.path))


def _user_bar(ctx: PageContext) -> None:
    async def switch(org_id: Any) -> None:
        if org_id is not None and int(org_id) != ctx.org_id:
            await run.io_bound(_switch_org, ctx.sessions, ctx.token, int(org_id))
            ui.navigate.reload()

    async def logout() -> None:
        ui_app.storage.user.pop("token", None)
        try:
            await run.io_bound(_logout, ctx.sessions, ctx.token)
        finally:
            ui.navigate.to("/login")

    if len(ctx.orgs) > 1:
        ui.select(ctx.orgs, value=ctx.org_id, on_change=lambda e: switch(e.value)).props(
            "dense dark outlined options-dense data-testid=org-switch"
        ).classes("min-w-[14rem]")
    else:
        ui.label(ctx.org_name).classes("text-sm")
    ui.label(ctx.display_name or ctx.principal.username).classes("text-sm gt-xs")
    ui.button(text("logout", ctx.lang), on_click=logout).props(
        "flat color=white no-caps dense data-testid=logout"
    )


async def open_page(sessions: sessionmaker[Session], active: str) -> PageContext | RedirectResponse:
    """Check the browser's session and build the header; a redirect to ``/login`` without one.

    ``active`` names the page in the navigation (``"overview"``, ``"characteristics"``, ...).
    """
    lang = current_lang()
    token = ui_app.storage.user.get("token")
    if not isinstance(token, str):
        return RedirectResponse("/login")
    try:
        resolved = await run.io_bound(_resolve, sessions, token)
    except AuthenticationError:
        ui_app.storage.user.pop("token", None)
        return RedirectResponse("/login")
    if resolved is None:  # the server is shutting down
        return RedirectResponse("/login")
    principal, display, orgs = resolved
    ctx = PageContext(sessions, token, principal, lang, display, orgs)

    def right() -> None:
        _nav(ctx, active)
        _user_bar(ctx)

    header(lang, right)
    return ctx


def content() -> ui.column:
    """The page body below the header (a full-width column with padding)."""
    return ui.column().classes("w-full max-w-screen-2xl mx-auto p-4 gap-4")


def show_error(exc: BaseException, lang: Lang) -> None:
    """Show ``exc`` where the content would be: its message when it is a zhuoyue error (bad
    input, not found, not allowed), else a friendly text with a logged reference."""
    if isinstance(exc, AuthenticationError):
        ui_app.storage.user.pop("token", None)
        with ui.card().classes("w-full bg-amber-50"):
            ui.label(text("session_ended", lang))
            ui.link(text("login", lang), "/login")
        return
    if isinstance(exc, ZhuoyueError):
        with ui.card().classes("w-full bg-amber-50").props("data-testid=page-error"):
            ui.label(text("cannot", lang)).classes("text-amber-900 font-bold")
            ui.label(str(exc)).classes("text-amber-900")
        return
    ref = uuid.uuid4().hex[:8]
    _log.error("web page failed (ref %s)", ref, exc_info=exc)
    with ui.card().classes("w-full bg-red-50").props("data-testid=page-error"):
        ui.label(text("error", lang)).classes("text-red-800")
        ui.label(f"{text('error_ref', lang)}: {ref}").classes("text-xs text-gray-500")


def notify_error(exc: BaseException, lang: Lang) -> None:
    """A toast for a failed action (same rules as :func:`show_error`)."""
    if isinstance(exc, ZhuoyueError):
        ui.notify(str(exc), type="warning", multi_line=True, close_button=True)
        return
    ref = uuid.uuid4().hex[:8]
    _log.error("web action failed (ref %s)", ref, exc_info=exc)
    ui.notify(f"{text('error', lang)} ({text('error_ref', lang)}: {ref})", type="negative")


def empty_state(message: str, *, icon: str = "info", testid: str = "empty") -> None:
    """An explanation where a table or chart would be (what to do next)."""
    with ui.row().classes("items-center gap-2 text-gray-600 p-4").props(f"data-testid={testid}"):
        ui.icon(icon).classes("text-2xl")
        ui.label(message)


@contextlib.asynccontextmanager
async def busy(*elements: DisableableElement, spinner: bool = True) -> AsyncIterator[None]:
    """Disable ``elements`` (buttons) and show them loading while a long action runs."""
    for e in elements:
        e.disable()
        if spinner and isinstance(e, ui.button):
            e.props("loading")
    try:
        yield
    finally:
        for e in elements:
            e.enable()
            if spinner and isinstance(e, ui.button):
                e.props(remove="loading")


# ------------------------------------------------------------------------------ live events
_hub: LiveHub | None = None


def set_live_hub(hub: LiveHub | None) -> None:
    """The hub whose events (new points, opened alarms) the pages show live."""
    global _hub
    _hub = hub


def _shared_ids(s: Session, p: Principal) -> set[int]:
    stmt = visible_characteristics(p, "read", "read_shared")
    return set(s.scalars(stmt.with_only_columns(Characteristic.id)))


async def subscribe_live(
    ctx: PageContext,
    handler: Callable[[list[dict[str, Any]]], Awaitable[None]],
    *,
    wanted: Callable[[dict[str, Any]], bool] = lambda e: True,
    every: float = 1.0,
) -> None:
    """Push the live events of the user's organization to ``handler`` while the page is open.

    Events come from the monitor's worker thread; they are handed to this page's event loop,
    gathered for ``every`` seconds and passed on in one call (a burst of points redraws a chart
    once). Only events of the current organization that ``wanted`` accepts are passed (for a
    supplier: of the characteristics shared with it); the subscription ends when the browser
    disconnects.
    """
    hub = _hub
    if hub is None or not ctx.can("read", "read_shared"):
        return
    allowed = None if ctx.can("read") else await ctx.call(_shared_ids)
    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    org_id = ctx.org_id

    def char_of(event: dict[str, Any]) -> Any:
        if "characteristic_id" in event:
            return event["characteristic_id"]
        return (event.get("alarm") or {}).get("characteristic_id")

    def on_event(event: dict[str, Any]) -> None:  # the monitor's thread
        if event.get("org_id") != org_id or not wanted(event):
            return
        if allowed is not None and char_of(event) not in allowed:
            return
        loop.call_soon_threadsafe(inbox.put_nowait, event)

    slot = ui.context.slot  # the handler builds and notifies in the page's context

    async def pump() -> None:
        while True:
            events = [await inbox.get()]
            await asyncio.sleep(every)
            while not inbox.empty():
                events.append(inbox.get_nowait())
            try:
                with slot:
                    await handler(events)
            except Exception:
                _log.exception("a live update failed")

    token = hub.subscribe(on_event)
    task = background_tasks.create(pump(), name="live-events")

    def stop() -> None:
        hub.unsubscribe(token)
        task.cancel()

    ui.context.client.on_disconnect(stop)
    ui.context.client.on_delete(stop)


@contextlib.contextmanager
def section(title: str, *, classes: str = "w-full") -> Iterator[ui.card]:
    """A titled card."""
    with ui.card().classes(classes) as card:
        ui.label(title).classes("text-lg")
        yield card
