"""Computed views of characteristics: control chart, capability, frozen limits, overview.

The numbers are those of :mod:`zhuoyue.services.views` (the same functions as ``zhuoyue spc``
and ``zhuoyue capability``). A supplier sees only the characteristics shared with it; freezing
and unfreezing limits needs the permission ``freeze_limits`` and is audited with its reason.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from sqlalchemy.orm import Session

from zhuoyue.api.deps import CurrentPrincipal, Db
from zhuoyue.api.errors import ERROR_RESPONSES
from zhuoyue.api.routers._common import Limit, Offset, Ref
from zhuoyue.api.schemas import (
    CapabilityOut,
    ChartOut,
    ChartType,
    FreezeIn,
    FrozenLimitsOut,
    LimitsOut,
    LongText,
    OverviewRow,
    PageOut,
    Phase,
    RuleSetName,
    UnfreezeIn,
    json_safe,
)
from zhuoyue.errors import ParameterError
from zhuoyue.services import masterdata, views
from zhuoyue.services.accounts import Principal, bad_text, require
from zhuoyue.services.measurements import utc_bound
from zhuoyue.store.models import Characteristic

__all__ = ["router"]

router = APIRouter(tags=["computed views"], responses=ERROR_RESPONSES)

Start = Annotated[datetime | None, Query(description="From this time on (naive: UTC).")]
End = Annotated[datetime | None, Query(description="Before this time (naive: UTC).")]
_CodeFilter = Annotated[str | None, Query(min_length=1, max_length=80)]


def _allowed_ids(db: Session, principal: Principal) -> set[int] | None:
    """The characteristics shared with a supplier (``None``: the whole organization)."""
    if require(principal, "read", "read_shared") == "read":
        return None
    stmt = masterdata.visible_characteristics(principal, "read_shared")
    return set(db.scalars(stmt.with_only_columns(Characteristic.id)))


def _readable(db: Session, principal: Principal, ref: str) -> tuple[int, set[int] | None]:
    """The id of a characteristic the caller may read, and the ids it is limited to."""
    char = masterdata.get_characteristic(db, principal, ref)
    return char.id, _allowed_ids(db, principal)


@router.get("/characteristics/{ref}/chart", response_model=ChartOut)
def chart(
    ref: Ref,
    principal: CurrentPrincipal,
    db: Db,
    start: Start = None,
    end: End = None,
    chart: Annotated[
        ChartType | None, Query(description="Default: the characteristic's chart setting.")
    ] = None,
    rules: Annotated[
        RuleSetName | None, Query(description="Run rules; default: the characteristic's.")
    ] = None,
    phase: Annotated[
        Phase,
        Query(
            description="auto: against the active frozen limits when they are for this chart "
            "(phase II), else limits from the data (phase I); I or II to force one."
        ),
    ] = "auto",
) -> Any:
    """The control chart of the characteristic's measurements with start <= ts < end."""
    char_id, allowed = _readable(db, principal, ref)
    out = views.characteristic_chart(
        db,
        principal.org_id,
        char_id,
        start=utc_bound(start, "start"),
        end=utc_bound(end, "end"),
        chart=chart,
        rules=rules,
        phase=phase,
        allowed_ids=allowed,
    )
    return json_safe(out)


@router.get("/characteristics/{ref}/capability", response_model=CapabilityOut)
def capability(
    ref: Ref, principal: CurrentPrincipal, db: Db, start: Start = None, end: End = None
) -> Any:
    """Process capability (Cp, Cpk, Pp, Ppk, ppm, intervals, normality) of the measurements with
    start <= ts < end; needs lsl or usl."""
    char_id, allowed = _readable(db, principal, ref)
    out = views.characteristic_capability(
        db,
        principal.org_id,
        char_id,
        start=utc_bound(start, "start"),
        end=utc_bound(end, "end"),
        allowed_ids=allowed,
    )
    return json_safe(out)


@router.get("/characteristics/{ref}/limits", response_model=list[LimitsOut])
def limits_history(ref: Ref, principal: CurrentPrincipal, db: Db) -> Any:
    """Every frozen limits row of the characteristic, newest first: who froze, when, why, and
    who unfroze them."""
    char_id, allowed = _readable(db, principal, ref)
    return json_safe(views.limits_history(db, principal.org_id, char_id, allowed_ids=allowed))


@router.post("/characteristics/{ref}/limits", response_model=FrozenLimitsOut, status_code=201)
def freeze(ref: Ref, body: FreezeIn, principal: CurrentPrincipal, db: Db) -> Any:
    """Freeze phase I limits of the data in range as the active limits (phase II from now on);
    the previous limits stay in the history."""
    require(principal, "freeze_limits")
    char = masterdata.get_characteristic(db, principal, ref, actions=("freeze_limits",))
    out = views.freeze_limits(
        db,
        principal.org_id,
        char.id,
        user_id=principal.user_id,
        reason=body.reason,
        start=utc_bound(body.start, "start"),
        end=utc_bound(body.end, "end"),
        chart=body.chart,
        iterate=body.iterate,
    )
    return json_safe(out)


@router.delete("/characteristics/{ref}/limits", response_model=LimitsOut)
def unfreeze(
    ref: Ref,
    principal: CurrentPrincipal,
    db: Db,
    body: Annotated[UnfreezeIn | None, Body()] = None,
    reason: Annotated[
        LongText | None, Query(description='Why (or in the body: {"reason": ...}).')
    ] = None,
) -> Any:
    """End the active frozen limits (charts return to phase I); the reason is required."""
    require(principal, "freeze_limits")
    text = body.reason if body is not None else reason
    if text is None:
        raise ParameterError(
            'A reason is required: send {"reason": "..."} as the body, or ?reason=.'
        )
    char = masterdata.get_characteristic(db, principal, ref, actions=("freeze_limits",))
    out = views.unfreeze_limits(
        db, principal.org_id, char.id, user_id=principal.user_id, reason=text
    )
    return json_safe(out)


@router.get("/overview/characteristics", response_model=PageOut[OverviewRow])
def overview(
    principal: CurrentPrincipal,
    db: Db,
    step: Annotated[_CodeFilter, Query(description="Only this step (its code).")] = None,
    product: Annotated[_CodeFilter, Query(description="Only this product (its code).")] = None,
    key: Annotated[bool | None, Query(description="Only key (or only other) ones.")] = None,
    start: Start = None,
    end: End = None,
    recent: Annotated[
        int, Query(ge=1, le=100_000, description="in_control looks at this many last points.")
    ] = views.RECENT_POINTS,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Any:
    """Every characteristic you may read, by step and code: data, Cpk, Ppk, in control or not,
    the last signal. (Each row charts its characteristic; the page is cut from the whole list.)"""
    allowed = _allowed_ids(db, principal)
    if any(f is not None and bad_text(f) for f in (step, product)):
        return {"items": [], "total": 0, "limit": limit, "offset": offset}  # no such code
    rows = views.characteristics_overview(
        db,
        principal.org_id,
        step=step,
        product=product,
        key_only=key is True,
        allowed_ids=allowed,
        start=utc_bound(start, "start"),
        end=utc_bound(end, "end"),
        recent=recent,
    )
    if key is False:
        rows = [r for r in rows if not r["key"]]
    items = json_safe(rows[offset : offset + limit])
    return {"items": items, "total": len(rows), "limit": limit, "offset": offset}
