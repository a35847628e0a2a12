"""Dependencies of the routes: the database session of a request and the caller.

**Transactions.** Each request gets one session in one transaction (:func:`get_db`), committed
when the route function returns and rolled back when it raises — before the response is sent,
so a response never reports a change that was not committed. Routes therefore turn ORM rows into
response models inside the function.

**Authentication.** ``Authorization: Bearer zy_...`` (an API token) wins over the session cookie
:data:`SESSION_COOKIE` (``HttpOnly``, ``SameSite=Lax``; ``Secure`` over HTTPS).

**CSRF.** A request that changes something (any method but GET, HEAD, OPTIONS) and carries no
Bearer token — so the browser's cookie may be what authenticates it, login and logout included —
must carry the header ``X-Requested-With`` (any value; the web app sends ``fetch``) or an
``Origin`` equal to the server's own. A cross-site page cannot add that header without a CORS
preflight, which this server never grants; ``SameSite=Lax`` already keeps the cookie off
cross-site POSTs in current browsers. Refused requests get 403 with code ``csrf``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from zhuoyue.api.config import ApiSettings
from zhuoyue.services import accounts
from zhuoyue.services.accounts import AuthenticationError, PermissionDenied, Principal

__all__ = [
    "SESSION_COOKIE",
    "CurrentPrincipal",
    "Db",
    "Settings",
    "check_csrf",
    "get_db",
    "get_principal",
    "session_token",
]

#: name of the login session cookie
SESSION_COOKIE = "zhuoyue_session"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="An API token (`zy_...`): POST /api/v1/tokens.",
)
_cookie = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    scheme_name="session",
    description="The login session cookie set by POST /api/v1/auth/login.",
)


def get_db(request: Request) -> Iterator[Session]:
    """A session in one transaction for the request (commit on success, rollback on error)."""
    factory: sessionmaker[Session] = request.app.state.sessions
    with factory.begin() as session:
        yield session


Db = Annotated[Session, Depends(get_db, scope="function")]


def get_settings(request: Request) -> ApiSettings:
    """The settings of the app."""
    settings: ApiSettings = request.app.state.settings
    return settings


Settings = Annotated[ApiSettings, Depends(get_settings)]


def check_csrf(request: Request) -> None:
    """Refuse an unsafe cookie request without ``X-Requested-With`` or a same-origin ``Origin``."""
    if request.method in _SAFE_METHODS:
        return
    if request.headers.get("x-requested-with", "").strip():
        return
    origin = request.headers.get("origin")
    own = f"{request.url.scheme}://{request.url.netloc}"
    if origin is not None and origin.rstrip("/") == own:
        return
    raise PermissionDenied(
        "A request authenticated by the session cookie must carry the header "
        "'X-Requested-With' (cross-site request protection). Scripts should use an API token.",
        code="csrf",
    )


def session_token(request: Request) -> str | None:
    """The session cookie's token, if any."""
    token = request.cookies.get(SESSION_COOKIE)
    return token or None


def get_principal(
    request: Request,
    db: Db,
    _token: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)] = None,
    _session: Annotated[str | None, Depends(_cookie)] = None,
) -> Principal:
    """The caller, from the Bearer token or the session cookie; 401 without either."""
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationError(
                "Send the API token as 'Authorization: Bearer zy_...'.", code="bad_auth_header"
            )
        return accounts.resolve_token(db, token.strip())
    cookie = session_token(request)
    if cookie is not None:
        check_csrf(request)
        return accounts.resolve_session(db, cookie)
    raise AuthenticationError(
        "Log in (POST /api/v1/auth/login) or send an API token ('Authorization: Bearer zy_...').",
        code="unauthenticated",
    )


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
