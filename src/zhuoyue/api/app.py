"""The FastAPI application: :func:`create_app`.

One engine per app (``app.state.engine``, disposed at shutdown), the routers of
:data:`zhuoyue.api.routers.ROUTERS` under ``/api/v1``, ``GET /health``, the OpenAPI document at
``/openapi.json`` and its pages at ``/docs``. Errors have one shape (:mod:`zhuoyue.api.errors`);
authentication and CSRF rules are in :mod:`zhuoyue.api.deps`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import ASGIApp

from zhuoyue import __version__
from zhuoyue.api.config import ApiSettings
from zhuoyue.api.errors import TooLargeAsJson, install_error_handlers
from zhuoyue.api.routers import ROUTERS, health
from zhuoyue.services.monitoring import LiveHub
from zhuoyue.store.engine import database_url as resolve_url
from zhuoyue.store.engine import make_engine, session_factory

__all__ = ["API_PREFIX", "create_app"]

#: where the versioned API lives
API_PREFIX = "/api/v1"

_DESCRIPTION = """\
The quality data platform of 卓越 zhuoyue: master data, measurements, accounts.

* **Authentication**: `Authorization: Bearer zy_...` (an API token, `POST /api/v1/tokens`) or the
  session cookie of `POST /api/v1/auth/login`. Cookie requests that change something need the
  header `X-Requested-With`.
* **Organizations**: every request works in one organization (the token's, or the session's
  current one: `POST /api/v1/auth/switch-org`). Ids and codes of other organizations are unknown
  (404).
* **Lists**: `limit` and `offset`; the body is `{items, total, limit, offset}`.
* **References**: products, steps and characteristics are addressed by id (digits) or code
  (`code:1001` for a code of digits).
* **Errors**: `{"error": {"code", "message", "problems": [{row, column, value, code, message}]}}`.
"""


class _App(FastAPI):
    """FastAPI with the 413 of the body limit in the one error shape."""

    def build_middleware_stack(self) -> ASGIApp:
        return TooLargeAsJson(super().build_middleware_stack())


def create_app(database_url: str | None = None, *, settings: ApiSettings | None = None) -> FastAPI:
    """The REST API on the database ``database_url`` (default: the settings', else the
    embedded SQLite file). The schema must be migrated (``zhuoyue db upgrade``)."""
    settings = settings if settings is not None else ApiSettings()
    url = resolve_url(database_url or settings.database_url or None)
    engine = make_engine(url, pool_pre_ping=True)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            engine.dispose()

    app = _App(
        title="zhuoyue",
        version=__version__,
        description=_DESCRIPTION,
        docs_url="/docs",
        openapi_url="/openapi.json",
        lifespan=lifespan,
        # the whole body, files included: the CSV limit plus room for the multipart envelope
        max_body_size=(settings.max_upload_mb + 1) * 1024 * 1024,
    )
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    app.state.settings = settings
    #: live events (new points, opened alarms) for the web app: the HTTP feed and the monitor
    app.state.hub = LiveHub()
    install_error_handlers(app)
    app.include_router(health.router)
    for router in ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    return app
