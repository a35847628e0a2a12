"""Online monitoring over HTTP: the feed, alarms (OCAP), dead letters, notification channels.

``POST /feed`` takes machine values in bulk and sends them down the monitor's own path
(:class:`zhuoyue.services.monitoring.Pipeline`): each item is validated like an MQTT payload,
stored once (its ``id``, or a digest of its fields, makes a resend harmless), judged against
the characteristic's frozen limits, and alarms open. Items are independent: bad ones are
answered in ``problems`` (index, reason, message) and recorded as dead letters; the good ones
are stored. Permission: ``write_measurements`` (a supplier: ``write_shared_measurements`` for
the characteristics shared with it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from zhuoyue.api.deps import CurrentPrincipal, Db
from zhuoyue.api.errors import ERROR_RESPONSES
from zhuoyue.api.routers._common import Id, Limit, Offset
from zhuoyue.api.schemas import PageOut
from zhuoyue.errors import DataError
from zhuoyue.ingest.messages import Reading, Rejected, parse_payload
from zhuoyue.services import alarms, masterdata
from zhuoyue.services.accounts import NotFound, Page, page_of, require
from zhuoyue.services.monitoring import Pipeline
from zhuoyue.store.models import DeadLetter

__all__ = ["MAX_FEED_ITEMS", "router"]

router = APIRouter(tags=["online monitoring"], responses=ERROR_RESPONSES)

#: most items of one feed request
MAX_FEED_ITEMS = 10_000
_OcapText = Annotated[str, Field(min_length=1, max_length=alarms.MAX_OCAP_CHARS)]
#: an alarm's id (a big table: 64-bit ids)
AlarmId = Annotated[int, Path(ge=1, le=2**63 - 1)]
_CharFilter = Annotated[
    str | None, Query(min_length=1, max_length=200, description="Characteristic id or code.")
]


class AlarmOut(BaseModel):
    id: int
    characteristic: dict[str, Any] | None = None
    characteristic_id: int
    kind: str
    panel: str | None
    test: int | None
    severity: str
    status: str
    message_zh: str
    message_en: str
    detail: dict[str, Any]
    signals: int
    opened_at: datetime
    last_signal_at: datetime
    first_point_ts: datetime | None
    last_point_ts: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: int | None
    assignable_cause: str | None
    corrective_action: str | None


class AckIn(BaseModel):
    """The OCAP record of an alarm."""

    assignable_cause: _OcapText
    corrective_action: _OcapText


class SuggestionOut(BaseModel):
    characteristic: dict[str, Any]
    alarms: int
    days: int
    last_opened_at: str | None
    suggestion_zh: str
    suggestion_en: str


class DeadLetterOut(BaseModel):
    id: int
    source: str
    topic: str | None
    payload: str | None
    reason: str
    message: str
    copies: int
    received_at: datetime
    last_received_at: datetime


class ChannelIn(BaseModel):
    kind: Literal["webhook", "email"]
    target: Annotated[str, Field(min_length=3, max_length=500)]
    min_severity: Literal["warning", "critical"] = "warning"


class ChannelOut(BaseModel):
    id: int
    kind: str
    target: str
    min_severity: str
    active: bool
    created_at: datetime


class FeedItem(BaseModel):
    """One machine value (the MQTT payload plus the characteristic)."""

    characteristic: Annotated[str, Field(min_length=1, max_length=80)]
    ts: str | float
    value: float | str
    subgroup: int | None = None
    lot: str | None = None
    serial: str | None = None
    machine: str | None = None
    operator: str | None = None
    id: str | int | None = None


class FeedProblem(BaseModel):
    index: int
    reason: str
    message: str


class FeedOut(BaseModel):
    received: int
    stored: int
    duplicates: int
    rejected: int
    out_of_order: int
    no_limits: int
    not_judged: int
    alarms_opened: list[int]
    problems: list[FeedProblem]


# ------------------------------------------------------------------------------------- alarms
@router.get("/alarms", response_model=PageOut[AlarmOut])
def list_alarms(
    principal: CurrentPrincipal,
    db: Db,
    status: Annotated[Literal["open", "acknowledged"] | None, Query()] = None,
    severity: Annotated[Literal["warning", "critical"] | None, Query()] = None,
    characteristic: _CharFilter = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Any:
    """The alarms the caller may read, newest first (a supplier: its shared characteristics)."""
    char_id = None
    if characteristic is not None:
        char_id = masterdata.get_characteristic(db, principal, characteristic).id
    page = alarms.list_alarms(
        db,
        principal,
        status=status,
        severity=severity,
        characteristic_id=char_id,
        limit=limit,
        offset=offset,
    )
    return {"items": page.items, "total": page.total, "limit": limit, "offset": offset}


@router.get("/alarms/suggestions", response_model=list[SuggestionOut])
def suggestions(principal: CurrentPrincipal, db: Db) -> Any:
    """Characteristics whose alarms keep coming back: open a nonconformance report."""
    return alarms.nonconformance_suggestions(db, principal)


@router.get("/alarms/{alarm_id}", response_model=AlarmOut)
def get_alarm(alarm_id: AlarmId, principal: CurrentPrincipal, db: Db) -> Any:
    """One alarm."""
    alarm = alarms.get_alarm(db, principal, alarm_id)
    char = masterdata.get_characteristic(db, principal, str(alarm.characteristic_id))
    return alarms.alarm_dict(alarm, char)


@router.post("/alarms/{alarm_id}/acknowledge", response_model=AlarmOut)
def acknowledge(
    alarm_id: AlarmId, principal: CurrentPrincipal, db: Db, body: Annotated[AckIn, Body()]
) -> Any:
    """Close an open alarm with its assignable cause and corrective action (audited)."""
    alarm = alarms.acknowledge(
        db,
        principal,
        alarm_id,
        assignable_cause=body.assignable_cause,
        corrective_action=body.corrective_action,
    )
    return alarms.alarm_dict(alarm)


# ------------------------------------------------------------------------------- dead letters
@router.get("/dead-letters", response_model=PageOut[DeadLetterOut])
def dead_letters(
    principal: CurrentPrincipal,
    db: Db,
    reason: Annotated[str | None, Query(max_length=40, pattern=r"^[a-z_]+$")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Any:
    """The organization's rejected machine messages, newest first, with their reasons."""
    require(principal, "read")
    stmt = select(DeadLetter).where(DeadLetter.org_id == principal.org_id)
    if reason is not None:
        stmt = stmt.where(DeadLetter.reason == reason)
    page: Page[DeadLetter] = page_of(
        db, stmt.order_by(DeadLetter.last_received_at.desc(), DeadLetter.id.desc()), limit, offset
    )
    return {
        "items": [DeadLetterOut.model_validate(d, from_attributes=True) for d in page.items],
        "total": page.total,
        "limit": limit,
        "offset": offset,
    }


# ------------------------------------------------------------------------ notification channels
@router.get("/notification-channels", response_model=list[ChannelOut])
def list_channels(principal: CurrentPrincipal, db: Db) -> Any:
    """Where the organization's alarms are sent."""
    channels = alarms.list_channels(db, principal)
    return [ChannelOut.model_validate(c, from_attributes=True) for c in channels]


@router.post("/notification-channels", response_model=ChannelOut, status_code=201)
def add_channel(principal: CurrentPrincipal, db: Db, body: Annotated[ChannelIn, Body()]) -> Any:
    """Send alarms to a webhook (JSON POST) or an e-mail address (audited)."""
    channel = alarms.add_channel(
        db, principal, kind=body.kind, target=body.target, min_severity=body.min_severity
    )
    return ChannelOut.model_validate(channel, from_attributes=True)


@router.delete("/notification-channels/{channel_id}", status_code=204)
def remove_channel(channel_id: Id, principal: CurrentPrincipal, db: Db) -> Response:
    """Stop sending to a channel (audited)."""
    alarms.remove_channel(db, principal, channel_id)
    return Response(status_code=204)


# ---------------------------------------------------------------------------------------- feed
@router.post("/feed", response_model=FeedOut)
def feed(
    request: Request,
    principal: CurrentPrincipal,
    db: Db,
    items: Annotated[list[FeedItem], Body(max_length=MAX_FEED_ITEMS)],
) -> Any:
    """Machine values through the online monitor (see the module notes)."""
    action = require(principal, "write_measurements", "write_shared_measurements")
    if not items:
        raise DataError("The body is an empty list: send at least one value.", code="empty")
    known: dict[str, bool] = {}
    parsed: list[Reading | Rejected] = []
    problems: list[FeedProblem] = []
    for i, item in enumerate(items):
        code = item.characteristic
        if code not in known:
            try:
                masterdata.get_characteristic(db, principal, code, actions=(action,))
                known[code] = True
            except NotFound:
                known[code] = False
        payload = item.model_dump(exclude={"characteristic"}, exclude_none=True)
        if not known[code]:
            problems.append(
                FeedProblem(
                    index=i,
                    reason="unknown_characteristic",
                    message=f"There is no characteristic {code!r} you may write to in "
                    f"'{principal.org_code}'.",
                )
            )
            continue
        one = parse_payload(
            payload, org=principal.org_code, characteristic=code, source="http", topic=None
        )
        if isinstance(one, Rejected):
            problems.append(FeedProblem(index=i, reason=one.reason, message=one.message))
        parsed.append(one)
    db.rollback()  # the pipeline works in its own transaction
    pipeline = Pipeline(_sessions(db))
    result = pipeline.process(parsed)
    hub = getattr(request.app.state, "hub", None)
    if hub is not None:
        hub.publish_batch(result)
    return FeedOut(
        received=len(items),
        stored=result.stored,
        duplicates=result.duplicates,
        rejected=len(problems),
        out_of_order=result.out_of_order,
        no_limits=result.no_limits,
        not_judged=result.not_judged,
        alarms_opened=[int(a["id"]) for a in result.opened],
        problems=problems,
    )


def _sessions(db: Any) -> Any:
    from sqlalchemy.orm import sessionmaker

    return sessionmaker(db.get_bind(), expire_on_commit=False)
