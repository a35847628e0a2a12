"""``/characteristics``: specifications, key flag, chart settings, and sharing with suppliers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from zhuoyue.api.deps import CurrentPrincipal, Db
from zhuoyue.api.errors import ERROR_RESPONSES
from zhuoyue.api.routers._common import Id, Limit, Offset, Ref
from zhuoyue.api.schemas import (
    CharacteristicIn,
    CharacteristicOut,
    CharacteristicPatch,
    PageOut,
    ShareIn,
    ShareOut,
)
from zhuoyue.services import masterdata

__all__ = ["router"]

router = APIRouter(prefix="/characteristics", tags=["master data"], responses=ERROR_RESPONSES)

_CodeFilter = Annotated[str | None, Query(min_length=1, max_length=80)]


@router.get("", response_model=PageOut[CharacteristicOut])
def list_characteristics(
    principal: CurrentPrincipal,
    db: Db,
    step: Annotated[_CodeFilter, Query(description="Only this step (its code).")] = None,
    product: Annotated[_CodeFilter, Query(description="Only this product (its code).")] = None,
    key: Annotated[bool | None, Query(description="Only key (or only other) ones.")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> PageOut[CharacteristicOut]:
    """The characteristics you may read (a supplier: those shared with it), by code."""
    page = masterdata.list_characteristics(
        db, principal, step=step, product=product, key=key, limit=limit, offset=offset
    )
    return PageOut[CharacteristicOut].of(page, [CharacteristicOut.of(c) for c in page.items])


@router.post("", response_model=CharacteristicOut, status_code=201)
def create_characteristic(
    body: CharacteristicIn, principal: CurrentPrincipal, db: Db
) -> CharacteristicOut:
    """Create a characteristic of a step (and optionally a product)."""
    char = masterdata.create_characteristic(db, principal, body.model_dump())
    return CharacteristicOut.of(char)


@router.get("/{ref}", response_model=CharacteristicOut)
def get_characteristic(ref: Ref, principal: CurrentPrincipal, db: Db) -> CharacteristicOut:
    """One characteristic, by id or code."""
    return CharacteristicOut.of(masterdata.get_characteristic(db, principal, ref))


@router.patch("/{ref}", response_model=CharacteristicOut)
def update_characteristic(
    ref: Ref, body: CharacteristicPatch, principal: CurrentPrincipal, db: Db
) -> CharacteristicOut:
    """Change specifications, key flag or chart settings (audited with before and after)."""
    changes = body.model_dump(exclude_unset=True)
    return CharacteristicOut.of(masterdata.update_characteristic(db, principal, ref, changes))


@router.delete("/{ref}", status_code=204)
def delete_characteristic(
    ref: Ref,
    principal: CurrentPrincipal,
    db: Db,
    force: Annotated[bool, Query(description="Delete its measurements too.")] = False,
) -> Response:
    """Delete a characteristic (one with measurements only with force=true)."""
    masterdata.delete_characteristic(db, principal, ref, force=force)
    return Response(status_code=204)


@router.get("/{ref}/shares", response_model=list[ShareOut])
def list_shares(ref: Ref, principal: CurrentPrincipal, db: Db) -> list[ShareOut]:
    """The suppliers the characteristic is shared with."""
    users = masterdata.list_shares(db, principal, ref)
    return [ShareOut(user_id=u.id, username=u.username, display_name=u.display_name) for u in users]


@router.post("/{ref}/shares", response_model=ShareOut, status_code=201)
def share(ref: Ref, body: ShareIn, principal: CurrentPrincipal, db: Db) -> ShareOut:
    """Share the characteristic (and its measurements) with a supplier member."""
    user = masterdata.share_characteristic(db, principal, ref, body.username)
    return ShareOut(user_id=user.id, username=user.username, display_name=user.display_name)


@router.delete("/{ref}/shares/{user_id}", status_code=204)
def unshare(ref: Ref, user_id: Id, principal: CurrentPrincipal, db: Db) -> Response:
    """Stop sharing the characteristic with a user."""
    masterdata.unshare_characteristic(db, principal, ref, user_id)
    return Response(status_code=204)
