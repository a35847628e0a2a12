"""``/auth``: login (session cookie), logout, who am I, switch organization, password."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from zhuoyue.api.deps import (
    SESSION_COOKIE,
    CurrentPrincipal,
    Db,
    Settings,
    check_csrf,
    session_token,
)
from zhuoyue.api.errors import ERROR_RESPONSES
from zhuoyue.api.schemas import LoginIn, MeOut, OrgOut, PasswordIn, SwitchOrgIn, UserOut
from zhuoyue.services import accounts
from zhuoyue.services.accounts import SESSION_MAX, Principal
from zhuoyue.store.models import UserAccount

__all__ = ["me_of", "router"]

router = APIRouter(prefix="/auth", tags=["auth"], responses=ERROR_RESPONSES)


def me_of(db: Session, principal: Principal) -> MeOut:
    """The caller's user, organizations and rights."""
    user = db.get(UserAccount, principal.user_id)
    assert user is not None
    orgs = [OrgOut.of(o, role) for o, role in accounts.list_organizations(db, user.id)]
    current = next(o for o in orgs if o.id == principal.org_id)
    return MeOut(
        user=UserOut.of(user),
        org=current,
        role=principal.role,
        via=principal.via,
        scopes=sorted(principal.scopes),
        token_id=principal.token_id,
        orgs=orgs,
    )


def _set_cookie(response: Response, request: Request, settings: Settings, token: str) -> None:
    secure = (
        settings.cookie_secure
        if settings.cookie_secure is not None
        else request.url.scheme == "https"
    )
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(SESSION_MAX.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure,
    )


@router.post("/login", response_model=MeOut)
def login(body: LoginIn, request: Request, response: Response, db: Db, settings: Settings) -> MeOut:
    """Log in with username and password: sets the session cookie ``zhuoyue_session``."""
    check_csrf(request)
    result = accounts.login(db, body.username, body.password, org=body.org)
    _set_cookie(response, request, settings, result.token)
    me = me_of(db, result.principal)
    me.expires_at = result.expires_at
    return me


@router.post("/logout", status_code=204)
def logout(request: Request, db: Db) -> Response:
    """End the login session and clear its cookie (nothing to do without one)."""
    token = session_token(request)
    if token is not None:
        check_csrf(request)
        accounts.logout(db, token)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return response


@router.get("/me", response_model=MeOut)
def me(principal: CurrentPrincipal, db: Db) -> MeOut:
    """Who is calling: user, current organization, role, scopes and all their organizations."""
    return me_of(db, principal)


@router.post("/switch-org", response_model=MeOut)
def switch_org(body: SwitchOrgIn, request: Request, principal: CurrentPrincipal, db: Db) -> MeOut:
    """Work in another of the user's organizations (login sessions; a token is bound to one)."""
    token = session_token(request) or ""
    return me_of(db, accounts.switch_org(db, principal, token, body.org))


@router.post("/password", status_code=204)
def change_password(
    body: PasswordIn, request: Request, principal: CurrentPrincipal, db: Db
) -> Response:
    """Change your password; your other login sessions end."""
    accounts.change_password(
        db,
        principal,
        body.current_password,
        body.new_password,
        keep_session=session_token(request),
    )
    return Response(status_code=204)
