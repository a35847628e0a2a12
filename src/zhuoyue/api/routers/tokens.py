"""``/tokens``: API tokens for machines and integrations (the token is shown once)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from zhuoyue.api.deps import CurrentPrincipal, Db
from zhuoyue.api.errors import ERROR_RESPONSES
from zhuoyue.api.routers._common import Id, Limit, Offset
from zhuoyue.api.schemas import PageOut, TokenCreated, TokenIn, TokenOut
from zhuoyue.services import accounts

__all__ = ["router"]

router = APIRouter(prefix="/tokens", tags=["tokens"], responses=ERROR_RESPONSES)


@router.get("", response_model=PageOut[TokenOut])
def list_tokens(
    principal: CurrentPrincipal, db: Db, limit: Limit = 100, offset: Offset = 0
) -> PageOut[TokenOut]:
    """Your tokens in this organization (an admin sees all of them), newest first."""
    page = accounts.list_tokens(db, principal, limit=limit, offset=offset)
    return PageOut[TokenOut].of(page, [TokenOut.of(t) for t in page.items])


@router.post("", response_model=TokenCreated, status_code=201)
def create_token(body: TokenIn, principal: CurrentPrincipal, db: Db) -> TokenCreated:
    """Create a token for this organization; the response is the only time it is shown."""
    plain, token = accounts.create_token(
        db, principal, name=body.name, scopes=body.scopes, expires_in_days=body.expires_in_days
    )
    return TokenCreated(**TokenOut.of(token).model_dump(), token=plain)


@router.delete("/{token_id}", status_code=204)
def revoke_token(token_id: Id, principal: CurrentPrincipal, db: Db) -> Response:
    """Revoke a token (yours, or any of the organization for an admin)."""
    accounts.revoke_token(db, principal, token_id)
    return Response(status_code=204)
