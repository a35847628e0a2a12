"""``/users`` and ``/memberships``: the members of the caller's organization (admin)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from zhuoyue.api.deps import CurrentPrincipal, Db
from zhuoyue.api.errors import ERROR_RESPONSES
from zhuoyue.api.routers._common import Id, Limit, Offset
from zhuoyue.api.schemas import MemberOut, MembershipIn, MembershipPatch, PageOut, UserIn
from zhuoyue.services import accounts

__all__ = ["router"]

router = APIRouter(tags=["users"], responses=ERROR_RESPONSES)


@router.get("/users", response_model=PageOut[MemberOut])
def list_users(
    principal: CurrentPrincipal, db: Db, limit: Limit = 100, offset: Offset = 0
) -> PageOut[MemberOut]:
    """The members of your organization with their roles, by username."""
    page = accounts.list_members(db, principal, limit=limit, offset=offset)
    return PageOut[MemberOut].of(page, [MemberOut.of(m) for m in page.items])


@router.post("/users", response_model=MemberOut, status_code=201)
def create_user(body: UserIn, principal: CurrentPrincipal, db: Db) -> MemberOut:
    """Create a user who is a member of your organization with the given role."""
    member = accounts.add_user(
        db,
        principal,
        username=body.username,
        password=body.password,
        role=body.role,
        display_name=body.display_name,
        email=body.email,
    )
    return MemberOut.of(member)


@router.post("/memberships", response_model=MemberOut, status_code=201)
def add_membership(body: MembershipIn, principal: CurrentPrincipal, db: Db) -> MemberOut:
    """Make an existing user a member of your organization (e.g. a supplier's person)."""
    member = accounts.add_membership(db, principal, username=body.username, role=body.role)
    return MemberOut.of(member)


@router.patch("/memberships/{membership_id}", response_model=MemberOut)
def update_membership(
    membership_id: Id, body: MembershipPatch, principal: CurrentPrincipal, db: Db
) -> MemberOut:
    """Change a member's role (the last admin stays admin)."""
    member = accounts.update_membership(db, principal, membership_id, role=body.role)
    return MemberOut.of(member)


@router.delete("/memberships/{membership_id}", status_code=204)
def remove_membership(membership_id: Id, principal: CurrentPrincipal, db: Db) -> Response:
    """Remove a member: their tokens here are revoked and their shares dropped."""
    accounts.remove_membership(db, principal, membership_id)
    return Response(status_code=204)
