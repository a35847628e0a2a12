"""``/audit``: the organization's audit log (admin, quality manager)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from zhuoyue.api.deps import CurrentPrincipal, Db
from zhuoyue.api.errors import ERROR_RESPONSES
from zhuoyue.api.routers._common import Limit, Offset
from zhuoyue.api.schemas import AuditOut, PageOut
from zhuoyue.services import audit

__all__ = ["router"]

router = APIRouter(prefix="/audit", tags=["audit"], responses=ERROR_RESPONSES)


@router.get("", response_model=PageOut[AuditOut])
def list_audit(
    principal: CurrentPrincipal,
    db: Db,
    entity: Annotated[str | None, Query(max_length=60, pattern=r"^[a-z_]+$")] = None,
    entity_id: Annotated[str | None, Query(max_length=80, pattern=r"^[0-9A-Za-z_.:-]+$")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> PageOut[AuditOut]:
    """Who changed what and when, newest first; filter by entity (table) and entity id."""
    page = audit.list_entries(
        db, principal, entity=entity, entity_id=entity_id, limit=limit, offset=offset
    )
    return PageOut[AuditOut].of(page, [AuditOut.of(a) for a in page.items])
