"""``/orgs``: the caller's organizations; creating one is for the platform's operators.

Creating an organization needs a user named in ``ZHUOYUE_SUPERUSERS`` (the platform's operators;
the first organization of a fresh database comes from the CLI or the demo, see
:func:`zhuoyue.services.accounts.bootstrap`). The creator becomes its admin. Changing an
organization needs its admin, working in it.
"""

from __future__ import annotations

from fastapi import APIRouter

from zhuoyue.api.deps import CurrentPrincipal, Db, Settings
from zhuoyue.api.errors import ERROR_RESPONSES
from zhuoyue.api.routers._common import Id
from zhuoyue.api.schemas import OrgIn, OrgOut, OrgPatch
from zhuoyue.services import accounts

__all__ = ["router"]

router = APIRouter(prefix="/orgs", tags=["organizations"], responses=ERROR_RESPONSES)


def _role(db: Db, principal: CurrentPrincipal, org_id: int) -> str | None:
    return next(
        (role for o, role in accounts.list_organizations(db, principal.user_id) if o.id == org_id),
        None,
    )


@router.get("", response_model=list[OrgOut])
def list_orgs(principal: CurrentPrincipal, db: Db) -> list[OrgOut]:
    """The organizations you are a member of, with your role in each."""
    return [OrgOut.of(o, role) for o, role in accounts.list_organizations(db, principal.user_id)]


@router.post("", response_model=OrgOut, status_code=201)
def create_org(body: OrgIn, principal: CurrentPrincipal, db: Db, settings: Settings) -> OrgOut:
    """Create an organization (platform operators only); you become its admin."""
    org = accounts.create_organization_as(
        db,
        principal,
        superusers=settings.superuser_names,
        code=body.code,
        name=body.name,
        credit_code=body.credit_code,
        industry_code=body.industry_code,
        region_code=body.region_code,
    )
    return OrgOut.of(org, "admin")


@router.get("/{org_id}", response_model=OrgOut)
def get_org(org_id: Id, principal: CurrentPrincipal, db: Db) -> OrgOut:
    """One of your organizations."""
    org = accounts.get_organization(db, principal, org_id)
    return OrgOut.of(org, _role(db, principal, org.id))


@router.patch("/{org_id}", response_model=OrgOut)
def update_org(org_id: Id, body: OrgPatch, principal: CurrentPrincipal, db: Db) -> OrgOut:
    """Change your current organization's name and identifiers (admin)."""
    org = accounts.update_organization(db, principal, org_id, body.model_dump(exclude_unset=True))
    return OrgOut.of(org, principal.role)
