"""``/steps``: the organization's process steps (工序)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from zhuoyue.api.deps import CurrentPrincipal, Db
from zhuoyue.api.errors import ERROR_RESPONSES
from zhuoyue.api.routers._common import Limit, Offset, Ref
from zhuoyue.api.schemas import PageOut, StepIn, StepOut, StepPatch
from zhuoyue.services import masterdata

__all__ = ["router"]

router = APIRouter(prefix="/steps", tags=["master data"], responses=ERROR_RESPONSES)


@router.get("", response_model=PageOut[StepOut])
def list_steps(
    principal: CurrentPrincipal, db: Db, limit: Limit = 100, offset: Offset = 0
) -> PageOut[StepOut]:
    """The process steps, in the order of the process (sequence)."""
    page = masterdata.list_steps(db, principal, limit=limit, offset=offset)
    return PageOut[StepOut].of(page, [StepOut.of(s) for s in page.items])


@router.post("", response_model=StepOut, status_code=201)
def create_step(body: StepIn, principal: CurrentPrincipal, db: Db) -> StepOut:
    """Create a process step."""
    return StepOut.of(masterdata.create_step(db, principal, body.model_dump()))


@router.get("/{ref}", response_model=StepOut)
def get_step(ref: Ref, principal: CurrentPrincipal, db: Db) -> StepOut:
    """One step, by id or code."""
    return StepOut.of(masterdata.get_step(db, principal, ref))


@router.patch("/{ref}", response_model=StepOut)
def update_step(ref: Ref, body: StepPatch, principal: CurrentPrincipal, db: Db) -> StepOut:
    """Change a step's code, name or sequence."""
    changes = body.model_dump(exclude_unset=True)
    return StepOut.of(masterdata.update_step(db, principal, ref, changes))


@router.delete("/{ref}", status_code=204)
def delete_step(ref: Ref, principal: CurrentPrincipal, db: Db) -> Response:
    """Delete a step nothing refers to."""
    masterdata.delete_step(db, principal, ref)
    return Response(status_code=204)
