"""Alarms of the online monitor: open without floods, acknowledge with OCAP, notify, escalate.

**One open alarm per characteristic and signal kind.** A signal is a run-rule test firing on a
chart panel (``kind="rule"``, key ``rule:<panel>:<test>``) or a value outside a specification
limit (``kind="spec"``, key ``spec:lsl`` / ``spec:usl``). The first signal of a key opens an
alarm; further signals of the same key while it is open only count (``signals``) and move
``last_signal_at`` / ``last_point_ts`` — a shift that fires test 2 on 500 points in a row is one
alarm, not 500. Acknowledging closes it (status ``acknowledged``); the next signal opens a new one.

**Severity.** ``critical``: a value outside the specification, or test 1 (a point beyond the
control limits); ``warning``: the other run-rule tests.

**Acknowledgement (OCAP, out-of-control action plan).** The assignable cause and the corrective
action are required (1 to 2 000 characters each); who and when are recorded, and the change is
written to the audit log. Permission: ``write_data`` (quality engineers and managers,
administrators).

**Escalation.** A characteristic with :data:`NONCONFORMANCE_ALARMS` or more alarms opened within
:data:`NONCONFORMANCE_DAYS` days is listed by :func:`nonconformance_suggestions`: repeated special
causes call for a nonconformance report (不合格品/不符合项处置) and a root-cause analysis, not
another acknowledgement.

Everything is scoped by the caller's organization; a supplier sees the alarms of the
characteristics shared with it only; another organization's alarm is *not found*.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

from sqlalchemy import Connection, Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from zhuoyue.errors import DataError, ParameterError
from zhuoyue.services import audit
from zhuoyue.services.accounts import Conflict, NotFound, Page, Principal, page_of, require
from zhuoyue.services.masterdata import visible_characteristics
from zhuoyue.store.models import (
    ALARM_SEVERITIES,
    ALARM_STATUSES,
    CHANNEL_KINDS,
    Alarm,
    Characteristic,
    NotificationChannel,
    utcnow,
)

__all__ = [
    "MAX_OCAP_CHARS",
    "NONCONFORMANCE_ALARMS",
    "NONCONFORMANCE_DAYS",
    "Signal",
    "Subject",
    "acknowledge",
    "add_channel",
    "alarm_dict",
    "channels_for",
    "get_alarm",
    "list_alarms",
    "list_channels",
    "nonconformance_suggestions",
    "record_batch",
    "record_signals",
    "remove_channel",
    "severity_of",
]

#: longest assignable cause / corrective action
MAX_OCAP_CHARS = 2000
#: alarms within NONCONFORMANCE_DAYS that suggest a nonconformance
NONCONFORMANCE_ALARMS = 3
NONCONFORMANCE_DAYS = 30

_PANEL_NAMES = {
    "xbar": ("均值图", "Xbar chart"),
    "r": ("极差图", "R chart"),
    "s": ("标准差图", "S chart"),
    "i": ("单值图", "I chart"),
    "mr": ("移动极差图", "MR chart"),
}
_EMAIL = re.compile(r"[^@\s]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,24}")
_URL = re.compile(r"https?://[^\s]{3,490}")


@dataclass(frozen=True, slots=True)
class Signal:
    """One signal of the monitor for a characteristic (see the module notes)."""

    kind: str  # "rule" or "spec"
    point_ts: datetime | None  # the time of the point (or value) that signalled
    panel: str | None = None  # rule: the chart panel (xbar, r, s, i, mr)
    test: int | None = None  # rule: the test number
    description_zh: str = ""  # rule: the test in words; spec: "超出上规格限 USL 25.05"
    description_en: str = ""
    detail: dict[str, Any] = field(default_factory=dict)  # point index, value, pattern points ...

    @property
    def key(self) -> str:
        if self.kind == "rule":
            return f"rule:{self.panel}:{self.test}"
        return f"spec:{self.detail.get('limit', 'usl')}"


def severity_of(signal: Signal) -> str:
    """``critical`` for a spec breach or test 1, else ``warning``."""
    return "critical" if signal.kind == "spec" or signal.test == 1 else "warning"


class Subject(Protocol):
    """What the alarms of a characteristic need to know of it (a :class:`Characteristic`, or the
    monitor's lighter record of one)."""

    @property
    def id(self) -> int: ...
    @property
    def org_id(self) -> int: ...
    @property
    def code(self) -> str: ...
    @property
    def name(self) -> str | None: ...


def _messages(char: Subject, s: Signal) -> tuple[str, str]:
    name = f"{char.code} {char.name or ''}".strip()
    if s.kind == "spec":
        return f"{name}：{s.description_zh}", f"{name}: {s.description_en}"
    zh_panel, en_panel = _PANEL_NAMES.get(s.panel or "", (s.panel or "", s.panel or ""))
    return (
        f"{name}（{zh_panel}）检验 {s.test}：{s.description_zh}",
        f"{name} ({en_panel}) test {s.test}: {s.description_en}",
    )


_ALARM = cast(Table, Alarm.__table__)
_OPEN_SELECT = select(_ALARM.c.id, _ALARM.c.characteristic_id, _ALARM.c.dedup_key).where(
    _ALARM.c.characteristic_id.in_(bindparam("cids", expanding=True)), _ALARM.c.status == "open"
)
_COUNT = (
    update(_ALARM)
    .where(_ALARM.c.id == bindparam("b_id"))
    .values(
        signals=_ALARM.c.signals + bindparam("b_n"),
        last_signal_at=bindparam("b_at", type_=_ALARM.c.last_signal_at.type),
        last_point_ts=func.coalesce(
            bindparam("b_pts", type_=_ALARM.c.last_point_ts.type), _ALARM.c.last_point_ts
        ),
    )
)


def record_batch(
    conn: Connection,
    groups: Sequence[tuple[Subject, Sequence[Signal]]],
    *,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Open or count alarms for the signals of several characteristics (each in order); the
    alarms opened now, as :func:`alarm_dict` dicts with their characteristic.

    Runs inside the caller's transaction with SQLAlchemy Core, three statements however many
    characteristics and signals (the online monitor calls it for every batch).
    """
    when = now or utcnow()
    groups = [(subject, sigs) for subject, sigs in groups if sigs]
    if not groups:
        return []
    open_ids = {
        (int(cid), str(key)): int(aid)
        for aid, cid, key in conn.execute(
            _OPEN_SELECT, {"cids": sorted({subject.id for subject, _ in groups})}
        )
    }
    counted: dict[int, dict[str, Any]] = {}
    new: dict[tuple[int, str], dict[str, Any]] = {}
    subjects: dict[int, Subject] = {}
    for subject, sigs in groups:
        subjects[subject.id] = subject
        for sig in sigs:
            key = (subject.id, sig.key)
            aid = open_ids.get(key)
            if aid is not None:
                row = counted.setdefault(aid, {"b_id": aid, "b_n": 0, "b_at": when, "b_pts": None})
                row["b_n"] += 1
                if sig.point_ts is not None:
                    row["b_pts"] = sig.point_ts
                continue
            pending = new.get(key)
            if pending is not None:
                pending["signals"] += 1
                if sig.point_ts is not None:
                    pending["last_point_ts"] = sig.point_ts
                continue
            zh, en = _messages(subject, sig)
            new[key] = {
                "org_id": subject.org_id,
                "characteristic_id": subject.id,
                "kind": sig.kind,
                "panel": sig.panel,
                "test": sig.test,
                "dedup_key": sig.key,
                "severity": severity_of(sig),
                "status": "open",
                "message_zh": zh,
                "message_en": en,
                "detail": dict(sig.detail),
                "signals": 1,
                "opened_at": when,
                "last_signal_at": when,
                "first_point_ts": sig.point_ts,
                "last_point_ts": sig.point_ts,
            }
    if counted:
        conn.execute(_COUNT, list(counted.values()))
    if not new:
        return []
    rows = conn.execute(
        insert(_ALARM).returning(*_ALARM.c, sort_by_parameter_order=True), list(new.values())
    )
    opened: list[dict[str, Any]] = []
    for rec in rows:
        out = audit.snapshot_row(Alarm, rec._mapping)
        subject = subjects[int(out["characteristic_id"])]
        out["characteristic"] = {"id": subject.id, "code": subject.code, "name": subject.name}
        opened.append(out)
    return opened


def record_signals(
    session: Session,
    char: Characteristic,
    signals: Iterable[Signal],
    *,
    now: datetime | None = None,
) -> list[Alarm]:
    """Open or count alarms for ``signals`` of ``char`` (in order); the alarms opened now.

    Runs inside the caller's transaction (:func:`record_batch` for one characteristic).
    """
    session.flush()
    opened = record_batch(session.connection(), [(char, list(signals))], now=now)
    # the counts moved in the database: alarms of this characteristic loaded before re-read
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Alarm) and obj.characteristic_id == char.id:
            session.expire(obj)
    return [session.get_one(Alarm, a["id"]) for a in opened]


def alarm_dict(alarm: Alarm, char: Characteristic | None = None) -> dict[str, Any]:
    """An alarm as JSON-ready data (times in ISO 8601 UTC)."""
    out = audit.snapshot(alarm)
    if char is not None:
        out["characteristic"] = {"id": char.id, "code": char.code, "name": char.name}
    return out


def _alarms_stmt(principal: Principal) -> Any:
    chars = visible_characteristics(principal, "read", "read_shared").with_only_columns(
        Characteristic.id
    )
    return (
        select(Alarm, Characteristic)
        .join(Characteristic, Characteristic.id == Alarm.characteristic_id)
        .where(Alarm.org_id == principal.org_id, Alarm.characteristic_id.in_(chars))
    )


def list_alarms(
    session: Session,
    principal: Principal,
    *,
    status: str | None = None,
    characteristic_id: int | None = None,
    severity: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> Page[dict[str, Any]]:
    """The alarms the principal may read, newest first (filters: status, characteristic,
    severity)."""
    stmt = _alarms_stmt(principal)
    if status is not None:
        if status not in ALARM_STATUSES:
            raise ParameterError(
                f"The 'status' parameter must be one of {', '.join(ALARM_STATUSES)}. "
                f"Got {status!r}."
            )
        stmt = stmt.where(Alarm.status == status)
    if severity is not None:
        if severity not in ALARM_SEVERITIES:
            raise ParameterError(
                f"The 'severity' parameter must be one of {', '.join(ALARM_SEVERITIES)}. "
                f"Got {severity!r}."
            )
        stmt = stmt.where(Alarm.severity == severity)
    if characteristic_id is not None:
        stmt = stmt.where(Alarm.characteristic_id == characteristic_id)
    stmt = stmt.order_by(Alarm.opened_at.desc(), Alarm.id.desc())
    page = page_of(session, stmt.with_only_columns(Alarm.id), limit, offset)
    ids = list(page.items)
    rows = {a.id: (a, c) for a, c in session.execute(stmt.where(Alarm.id.in_(ids)))}
    return Page([alarm_dict(*rows[i]) for i in ids], page.total, limit, offset)


def get_alarm(session: Session, principal: Principal, alarm_id: int) -> Alarm:
    """One alarm the principal may read (:class:`NotFound` otherwise)."""
    row = session.execute(_alarms_stmt(principal).where(Alarm.id == alarm_id)).first()
    if row is None:
        raise NotFound(f"There is no alarm {alarm_id} in '{principal.org_code}'.")
    alarm: Alarm = row[0]
    return alarm


def _ocap_text(value: Any, name: str, example: str) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise DataError(f"The {name} is required, e.g. '{example}'.", code=name)
    if len(text) > MAX_OCAP_CHARS:
        raise DataError(
            f"The {name} may have at most {MAX_OCAP_CHARS} characters; it has {len(text)}.",
            code=name,
        )
    return text


def acknowledge(
    session: Session,
    principal: Principal,
    alarm_id: int,
    *,
    assignable_cause: str,
    corrective_action: str,
) -> Alarm:
    """Acknowledge an open alarm with its assignable cause and corrective action (audited)."""
    require(principal, "write_data")
    alarm = get_alarm(session, principal, alarm_id)
    cause = _ocap_text(
        assignable_cause, "assignable_cause", "grinding wheel worn: dressing interval exceeded"
    )
    action = _ocap_text(
        corrective_action,
        "corrective_action",
        "wheel dressed, 5 parts re-measured in tolerance, dressing every 200 parts",
    )
    if alarm.status != "open":
        raise Conflict(
            f"The alarm {alarm.id} was acknowledged already ({alarm.acknowledged_at}).",
            code="acknowledged",
        )
    before = audit.snapshot(alarm)
    alarm.status = "acknowledged"
    alarm.acknowledged_at = utcnow()
    alarm.acknowledged_by = principal.user_id
    alarm.assignable_cause = cause
    alarm.corrective_action = action
    session.flush()
    audit.record(
        session, principal, "acknowledge", "alarm", alarm.id, before, audit.snapshot(alarm)
    )
    return alarm


def nonconformance_suggestions(
    session: Session,
    principal: Principal,
    *,
    now: datetime | None = None,
    days: int = NONCONFORMANCE_DAYS,
    threshold: int = NONCONFORMANCE_ALARMS,
) -> list[dict[str, Any]]:
    """Characteristics with ``threshold`` or more alarms opened in the last ``days`` days."""
    since = (now or utcnow()) - timedelta(days=days)
    chars = visible_characteristics(principal, "read", "read_shared").with_only_columns(
        Characteristic.id
    )
    rows = session.execute(
        select(
            Characteristic.id,
            Characteristic.code,
            Characteristic.name,
            func.count(Alarm.id),
            func.max(Alarm.opened_at),
        )
        .join(Alarm, Alarm.characteristic_id == Characteristic.id)
        .where(
            Alarm.org_id == principal.org_id,
            Alarm.opened_at >= since,
            Characteristic.id.in_(chars),
        )
        .group_by(Characteristic.id, Characteristic.code, Characteristic.name)
        .having(func.count(Alarm.id) >= threshold)
        .order_by(func.count(Alarm.id).desc(), Characteristic.code)
    ).all()
    return [
        {
            "characteristic": {"id": cid, "code": code, "name": name},
            "alarms": int(n),
            "days": days,
            "last_opened_at": last.isoformat() if last is not None else None,
            "suggestion_zh": (
                f"{code} 在 {days} 天内报警 {n} 次：异常反复出现，建议开具不合格（不符合项）报告并"
                "做根本原因分析，而不只是逐条确认报警。"
            ),
            "suggestion_en": (
                f"{code} alarmed {n} times in {days} days: the special cause keeps coming back. "
                "Open a nonconformance report and find the root cause rather than acknowledging "
                "alarm by alarm."
            ),
        }
        for cid, code, name, n, last in rows
    ]


# ------------------------------------------------------------------------- notification channels
def list_channels(session: Session, principal: Principal) -> list[NotificationChannel]:
    """The organization's notification channels."""
    require(principal, "read")
    return list(
        session.scalars(
            select(NotificationChannel)
            .where(NotificationChannel.org_id == principal.org_id)
            .order_by(NotificationChannel.kind, NotificationChannel.target)
        )
    )


def add_channel(
    session: Session,
    principal: Principal,
    *,
    kind: str,
    target: str,
    min_severity: str = "warning",
) -> NotificationChannel:
    """Send the organization's alarms to a webhook URL or an e-mail address (audited)."""
    require(principal, "manage_org")
    if kind not in CHANNEL_KINDS:
        raise DataError(
            f"The 'kind' must be one of {', '.join(CHANNEL_KINDS)}. Got {kind!r}.", code="kind"
        )
    if min_severity not in ALARM_SEVERITIES:
        raise DataError(
            f"The 'min_severity' must be one of {', '.join(ALARM_SEVERITIES)}. "
            f"Got {min_severity!r}.",
            code="min_severity",
        )
    text = target.strip() if isinstance(target, str) else ""
    pattern, example = (
        (_URL, "https://hooks.example.com/zhuoyue")
        if kind == "webhook"
        else (
            _EMAIL,
            "quality@example.com",
        )
    )
    if not pattern.fullmatch(text):
        raise DataError(
            f"The target of a {kind} channel must look like {example!r}. Got {text[:80]!r}.",
            code="target",
        )
    existing = session.scalar(
        select(NotificationChannel).where(
            NotificationChannel.org_id == principal.org_id,
            NotificationChannel.kind == kind,
            NotificationChannel.target == text,
        )
    )
    if existing is not None:
        raise Conflict(f"The {kind} channel {text!r} exists already.", code="channel_exists")
    channel = NotificationChannel(
        org_id=principal.org_id,
        kind=kind,
        target=text,
        min_severity=min_severity,
        active=True,
        created_by=principal.user_id,
    )
    session.add(channel)
    session.flush()
    audit.record(
        session, principal, "create", "notification_channel", channel.id, None,
        audit.snapshot(channel),
    )  # fmt: skip
    return channel


def remove_channel(session: Session, principal: Principal, channel_id: int) -> None:
    """Stop sending to a channel (audited)."""
    require(principal, "manage_org")
    channel = session.scalar(
        select(NotificationChannel).where(
            NotificationChannel.id == channel_id,
            NotificationChannel.org_id == principal.org_id,
        )
    )
    if channel is None:
        raise NotFound(f"There is no notification channel {channel_id} in '{principal.org_code}'.")
    before = audit.snapshot(channel)
    session.delete(channel)
    audit.record(session, principal, "delete", "notification_channel", channel_id, before, None)


def channels_for(session: Session, org_id: int, severity: str) -> Sequence[NotificationChannel]:
    """The active channels of ``org_id`` that take alarms of ``severity``."""
    accepted = ("warning", "critical") if severity == "critical" else ("warning",)
    return list(
        session.scalars(
            select(NotificationChannel).where(
                NotificationChannel.org_id == org_id,
                NotificationChannel.active.is_(True),
                NotificationChannel.min_severity.in_(accepted),
            )
        )
    )
