"""The online monitor: machine readings → stored values → SPC state → alarms.

:class:`Pipeline` handles a batch of validated messages (:mod:`zhuoyue.ingest.messages`) in
**one transaction**: the rejected ones become dead letters; each reading is resolved to its
characteristic (organization code + characteristic code; unknown ones become dead letters too),
checked against the message ids already stored (a redelivered copy is a *duplicate*: counted,
not stored again), stored as a measurement, and pushed through the characteristic's online SPC
state (:class:`zhuoyue.monitor.MonitorState`, built from the active frozen limits and saved in
``monitor_state`` with the batch); the signals open or count alarms
(:func:`zhuoyue.services.alarms.record_batch`). Values, states and alarms commit together, so
a monitor killed at any moment resumes exactly where the database says it was, and the source
acknowledges the messages only after the commit (:class:`MonitorService`).

**Phase II only.** A characteristic without active frozen limits is stored and checked against
its specification limits, but its run rules wait for limits (counted as ``no_limits``): freeze
phase I limits in the web app or with the API to start the online run rules.

**Time order.** The run rules judge points in time order. A reading older than the last value
the state has seen is stored (the batch chart shows it in its place) but not judged online
(counted as ``out_of_order``); its spec check still applies.

:class:`MonitorService` runs a pipeline in a worker thread: sources put ``(item, ack)`` pairs
in its queue; it takes up to ``max_batch`` of them (collecting until ``max_wait`` seconds after
the first arrived: a backlog that built up while the last batch ran goes at once), processes
them, then acknowledges them, hands the opened alarms to the notifier and publishes live events
(:class:`LiveHub`) for the web app. A batch the database refuses is
retried item by item; an item that still fails is recorded as a dead letter (``store_failed``)
in its own transaction and acknowledged — the stream never stops on one bad message.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import numpy as np
from sqlalchemy import Connection, Table, and_, bindparam, func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from zhuoyue.errors import DataError
from zhuoyue.ingest.messages import Reading, Rejected
from zhuoyue.monitor import MonitorState, RuleViolation, SpecBreach
from zhuoyue.services import alarms
from zhuoyue.services.alarms import Signal
from zhuoyue.stats.rules import resolve_rules
from zhuoyue.store import bulk
from zhuoyue.store.models import (
    Characteristic,
    ControlLimits,
    DeadLetter,
    Measurement,
    Organization,
    utcnow,
)
from zhuoyue.store.models import (
    MonitorState as MonitorStateRow,
)

__all__ = [
    "PROCESS_LOCK",
    "BatchResult",
    "LiveHub",
    "MonitorService",
    "Pipeline",
]

_log = logging.getLogger(__name__)
#: one batch at a time per process (the monitor's worker and the HTTP feed share the states)
PROCESS_LOCK = threading.Lock()
_PAYLOAD_CHARS = 64 * 1024
_COUNTS = (
    "received",
    "stored",
    "duplicates",
    "rejected",
    "out_of_order",
    "no_limits",
    "not_judged",
)


@dataclass
class BatchResult:
    """What one batch did."""

    received: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    out_of_order: int = 0
    no_limits: int = 0
    #: stored, but refused by the SPC state (e.g. a value for a subgroup judged already)
    not_judged: int = 0
    notes: list[str] = field(default_factory=list)
    #: the alarms opened (dicts of :func:`zhuoyue.services.alarms.alarm_dict`)
    opened: list[dict[str, Any]] = field(default_factory=list)
    #: the values stored, per characteristic: (org_id, char_id) → [(ts ISO, value), ...]
    points: dict[tuple[int, int], list[tuple[str, float]]] = field(default_factory=dict)

    def add(self, other: BatchResult) -> None:
        for name in _COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.notes.extend(other.notes[-100:])
        self.opened.extend(other.opened)
        for key, pts in other.points.items():
            self.points.setdefault(key, []).extend(pts)


@dataclass(frozen=True, slots=True)
class _Char:
    """A characteristic as the monitor needs it, with its active frozen limits (if any)."""

    id: int
    org_id: int
    code: str
    name: str | None
    lsl: float | None
    usl: float | None
    rules: str | None
    subgroup_size: int | None
    limits_id: int | None = None
    limits_chart: str | None = None
    limits_doc: dict[str, Any] | None = None


def _digest(item: Rejected) -> str:
    blob = "\x1f".join((item.source, item.topic or "", item.payload or "", item.reason))
    return hashlib.sha256(blob.encode("utf-8", errors="replace")).hexdigest()


def _dead_letters(s: Session, items: Sequence[Rejected], orgs: dict[str, int]) -> None:
    """Record rejected messages; a copy of one recorded already counts in its ``copies``."""
    if not items:
        return
    digests = [_digest(i) for i in items]
    known = {
        d.digest: d
        for d in s.scalars(select(DeadLetter).where(DeadLetter.digest.in_(set(digests))))
    }
    now = utcnow()
    for item, digest in zip(items, digests, strict=True):
        row = known.get(digest)
        if row is not None:
            row.copies += 1
            row.last_received_at = now
            continue
        row = DeadLetter(
            org_id=orgs.get(item.org or ""),
            source=item.source,
            topic=None if item.topic is None else item.topic[:400],
            payload=None if item.payload is None else item.payload[:_PAYLOAD_CHARS],
            reason=item.reason[:40],
            message=item.message,
            digest=digest,
            copies=1,
            received_at=now,
            last_received_at=now,
        )
        s.add(row)
        known[digest] = row


def _as_rejected(r: Reading, reason: str, message: str) -> Rejected:
    return Rejected(
        r.source,
        reason,
        message,
        topic=r.topic,
        payload=f'{{"ts": "{r.ts.isoformat()}", "value": {r.value!r}, "id": "{r.msg_id}"}}',
        org=r.org,
        characteristic=r.characteristic,
    )


def _new_state(char: _Char) -> MonitorState:
    doc = char.limits_doc or {}
    chart = str(char.limits_chart)
    rules = resolve_rules(str(doc.get("rules") or char.rules or "gb4091"))
    size = int(doc.get("subgroup_size") or char.subgroup_size or 1)
    return MonitorState(
        chart,
        float(doc["center"]),
        float(doc["sigma"]),
        subgroup_size=None if chart == "imr" or size < 2 else size,
        rules=rules,
        lsl=char.lsl,
        usl=char.usl,
    )


def _signal(event: RuleViolation | SpecBreach, rules_name: str) -> Signal:
    ts = event.ts if isinstance(event.ts, datetime) else None
    if isinstance(event, SpecBreach):
        side = event.side.upper()
        return Signal(
            "spec",
            ts,
            description_zh=f"测量值 {event.value:g} 超出{'下' if side == 'LSL' else '上'}规格限 "
            f"{side} {event.limit:g}",
            description_en=f"value {event.value:g} outside the specification: {side} "
            f"{event.limit:g}",
            detail={"limit": event.side, "value": event.value, "limit_value": event.limit,
                    "key": event.key, "subgroup": event.subgroup},
        )  # fmt: skip
    rules = resolve_rules(rules_name)
    return Signal(
        "rule",
        ts,
        panel=event.panel,
        test=event.test,
        description_zh=rules.describe(event.test, "zh"),
        description_en=rules.describe(event.test, "en"),
        detail={
            "point": event.index,
            "points": list(event.points),
            "statistic": event.statistic,
            "size": event.size,
            "subgroup": event.subgroup,
            "key": event.key,
        },
    )


def _spec_signals(char: _Char, r: Reading) -> list[Signal]:
    """The spec breaches of a value judged outside the SPC state (no limits, or late)."""
    out: list[Signal] = []
    if char.lsl is not None and r.value < char.lsl:
        out.append(
            _signal(SpecBreach(-1, r.value, "lsl", char.lsl, r.subgroup, r.ts, r.msg_id), "")
        )
    if char.usl is not None and r.value > char.usl:
        out.append(
            _signal(SpecBreach(-1, r.value, "usl", char.usl, r.subgroup, r.ts, r.msg_id), "")
        )
    return out


_ORG = cast(Table, Organization.__table__)
_CHAR = cast(Table, Characteristic.__table__)
_LIMITS = cast(Table, ControlLimits.__table__)
_MEAS = cast(Table, Measurement.__table__)
_STATE = cast(Table, MonitorStateRow.__table__)
_STATE_UPDATE = (
    update(_STATE)
    .where(_STATE.c.characteristic_id == bindparam("b_cid"))
    .values(
        limits_id=bindparam("b_limits_id", type_=_STATE.c.limits_id.type),
        state=bindparam("b_state", type_=_STATE.c.state.type),
        n_values=bindparam("b_n_values", type_=_STATE.c.n_values.type),
        last_ts=bindparam("b_last_ts", type_=_STATE.c.last_ts.type),
        updated_at=bindparam("b_updated_at", type_=_STATE.c.updated_at.type),
    )
)

# the statements of a batch, built once (building a select costs more than running it)
_CHARS_SELECT = (
    select(
        _ORG.c.code.label("org_code"),
        _CHAR.c.id,
        _CHAR.c.org_id,
        _CHAR.c.code,
        _CHAR.c.name,
        _CHAR.c.lsl,
        _CHAR.c.usl,
        _CHAR.c.rules,
        _CHAR.c.subgroup_size,
        _LIMITS.c.id.label("limits_id"),
        _LIMITS.c.chart.label("limits_chart"),
        _LIMITS.c.limits.label("limits_doc"),
    )
    .select_from(
        _CHAR.join(_ORG, _ORG.c.id == _CHAR.c.org_id).outerjoin(
            _LIMITS, and_(_LIMITS.c.characteristic_id == _CHAR.c.id, _LIMITS.c.active.is_(True))
        )
    )
    .where(
        _ORG.c.code.in_(bindparam("orgs", expanding=True)),
        _CHAR.c.code.in_(bindparam("codes", expanding=True)),
    )
    .order_by(_LIMITS.c.id)
)
_STATE_SELECT = (
    select(_STATE.c.characteristic_id, _STATE.c.limits_id, _STATE.c.n_values, _STATE.c.last_ts)
    .where(_STATE.c.characteristic_id.in_(bindparam("cids", expanding=True)))
    .with_for_update()
)
_STORED_SELECT = select(_MEAS.c.characteristic_id, _MEAS.c.msg_id).where(
    _MEAS.c.characteristic_id.in_(bindparam("cids", expanding=True)),
    _MEAS.c.msg_id.in_(bindparam("ids", expanding=True)),
)
_SEQ_SELECT = (
    select(_MEAS.c.characteristic_id, _MEAS.c.ts, func.max(_MEAS.c.seq) + 1)
    .where(
        _MEAS.c.characteristic_id.in_(bindparam("cids", expanding=True)),
        _MEAS.c.ts.in_(bindparam("times", expanding=True, type_=_MEAS.c.ts.type)),
    )
    .group_by(_MEAS.c.characteristic_id, _MEAS.c.ts)
)


class Pipeline:
    """Process batches of messages (see the module notes). Not thread-safe: one per worker.

    The steps run once for the whole batch (one statement each, SQLAlchemy Core: a batch of a
    live feed has a few values per characteristic, so the fixed cost of a statement, not the
    rows, is what a batch costs).
    """

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        # characteristic id → (limits id, state, values judged) kept between batches; used
        # while the saved state has the same count (else another pipeline moved it: reload);
        # dropped whenever a batch fails (the database has the truth)
        self._states: dict[int, tuple[int, MonitorState, int]] = {}

    def process(self, items: Sequence[Reading | Rejected]) -> BatchResult:
        """Store, judge and alarm one batch in one transaction."""
        try:
            with PROCESS_LOCK, self._sessions.begin() as s:
                return self._process(s, items)
        except Exception:
            self._states.clear()
            raise

    def dead_letter(self, item: Reading | Rejected, reason: str, message: str) -> None:
        """Record one message as a dead letter in its own transaction."""
        if isinstance(item, Rejected):
            rejected = Rejected(item.source, reason, message, item.topic, item.payload, item.org)
        else:
            rejected = _as_rejected(item, reason, message)
        with self._sessions.begin() as s:
            _dead_letters(s, [rejected], self._org_ids(s.connection(), [rejected.org]))

    # ------------------------------------------------------------------ the steps
    @staticmethod
    def _org_ids(conn: Connection, codes: Iterable[str | None]) -> dict[str, int]:
        wanted = sorted({c for c in codes if c})
        if not wanted:
            return {}
        rows = conn.execute(select(_ORG.c.code, _ORG.c.id).where(_ORG.c.code.in_(wanted)))
        return {str(code): int(oid) for code, oid in rows}

    @staticmethod
    def _chars(conn: Connection, keys: set[tuple[str, str]]) -> dict[tuple[str, str], _Char]:
        """The characteristics of ``(organization code, characteristic code)`` keys, with their
        active frozen limits, in one query."""
        if not keys:
            return {}
        params = {"orgs": sorted({o for o, _ in keys}), "codes": sorted({c for _, c in keys})}
        found: dict[tuple[str, str], _Char] = {}
        for row in conn.execute(_CHARS_SELECT, params).mappings():
            key = (str(row["org_code"]), str(row["code"]))
            if key not in keys:
                continue
            found[key] = _Char(
                id=int(row["id"]),
                org_id=int(row["org_id"]),
                code=str(row["code"]),
                name=row["name"],
                lsl=row["lsl"],
                usl=row["usl"],
                rules=row["rules"],
                subgroup_size=row["subgroup_size"],
                limits_id=row["limits_id"],
                limits_chart=row["limits_chart"],
                limits_doc=row["limits_doc"],
            )
        return found

    def _state(self, conn: Connection, char: _Char, row: Any) -> tuple[MonitorState, bool]:
        """The characteristic's SPC state, and whether it continues the saved one."""
        cached = self._states.get(char.id)
        if row is not None and row.limits_id == char.limits_id:
            if cached is not None and cached[0] == char.limits_id and cached[2] == row.n_values:
                return cached[1], True
            doc = conn.execute(
                select(_STATE.c.state).where(_STATE.c.characteristic_id == char.id)
            ).scalar_one()
            return MonitorState.from_dict(doc), True
        return _new_state(char), False

    def _process(self, s: Session, items: Sequence[Reading | Rejected]) -> BatchResult:
        conn = s.connection()
        out = BatchResult(received=len(items))
        rejected = [i for i in items if isinstance(i, Rejected)]
        readings = [i for i in items if isinstance(i, Reading)]
        groups: dict[tuple[str, str], list[Reading]] = defaultdict(list)
        for r in readings:
            groups[(r.org, r.characteristic)].append(r)
        chars = self._chars(conn, set(groups))
        unknown = [key for key in groups if key not in chars]
        if rejected or unknown:
            orgs = self._org_ids(conn, [i.org for i in rejected] + [org for org, _ in unknown])
            for key in unknown:
                org, code = key
                message = (
                    f"There is no characteristic {code!r} in organization {org!r}: create it "
                    "(master data) or correct the topic."
                    if org in orgs
                    else f"There is no organization {org!r}: correct the topic."
                )
                rejected.extend(
                    _as_rejected(r, "unknown_characteristic", message) for r in groups[key]
                )
            _dead_letters(s, rejected, orgs)
            s.flush()
        out.rejected = len(rejected)
        todo = [(chars[key], rs) for key, rs in groups.items() if key in chars]
        fresh = self._fresh(conn, todo, out)
        if not fresh:
            return out
        self._store(conn, fresh, out)
        judged = [info.id for info, _ in fresh if info.limits_id is not None]
        rows: dict[int, Any] = {}
        if judged:
            rows = {
                int(row.characteristic_id): row
                for row in conn.execute(_STATE_SELECT, {"cids": judged})
            }
        updates: list[dict[str, Any]] = []
        inserts: list[dict[str, Any]] = []
        signals: list[tuple[_Char, list[Signal]]] = []
        now = utcnow()
        for info, rs in fresh:
            found = self._judge(conn, info, rs, rows.get(info.id), out, now, updates, inserts)
            if found:
                signals.append((info, found))
        if updates:
            conn.execute(_STATE_UPDATE, updates)
        if inserts:
            conn.execute(insert(_STATE), inserts)
        out.opened.extend(alarms.record_batch(conn, signals, now=now))
        return out

    @staticmethod
    def _fresh(
        conn: Connection, todo: list[tuple[_Char, list[Reading]]], out: BatchResult
    ) -> list[tuple[_Char, list[Reading]]]:
        """The readings not stored yet (duplicates: already stored, or twice in the batch)."""
        if not todo:
            return []
        wanted = {(info.id, r.msg_id) for info, rs in todo for r in rs}
        stored: set[tuple[int, Any]] = set()
        for cids, ids in _lookups(wanted):
            found = conn.execute(_STORED_SELECT, {"cids": cids, "ids": ids})
            stored.update((int(cid), str(mid)) for cid, mid in found)
        stored &= wanted
        result: list[tuple[_Char, list[Reading]]] = []
        for info, rs in todo:
            cid = info.id
            fresh: list[Reading] = []
            for r in rs:
                key = (cid, r.msg_id)
                if key in stored:
                    out.duplicates += 1
                    continue
                stored.add(key)
                fresh.append(r)
            if fresh:
                result.append((info, fresh))
        return result

    @staticmethod
    def _store(
        conn: Connection, fresh: list[tuple[_Char, list[Reading]]], out: BatchResult
    ) -> None:
        """Insert the fresh readings of every characteristic in one call."""
        # seq: after the values already stored at the same time
        wanted_ts = {(info.id, r.ts) for info, rs in fresh for r in rs}
        base: dict[tuple[int, datetime], int] = {}
        for keys, times in _lookups(wanted_ts):
            found = conn.execute(_SEQ_SELECT, {"cids": keys, "times": times})
            for cid, ts, n in found:
                key = (int(cid), _utc(ts))
                if key in wanted_ts:
                    base[key] = int(n or 0)
        flat = [(info.id, r) for info, rs in fresh for r in rs]
        cids = np.array([cid for cid, _ in flat], dtype=np.int64)
        ts_us = np.array([_us(r.ts) for _, r in flat], dtype=np.int64)
        seq = bulk.assign_seq(cids, ts_us)
        if base:
            seq = seq + np.array([base.get((cid, r.ts), 0) for cid, r in flat], dtype=np.int64)
        if len(flat) <= _SMALL_INSERT:
            # a live batch: an executemany of the rows costs less than building columns
            conn.execute(
                insert(_MEAS),
                [
                    {
                        "characteristic_id": cid, "ts": r.ts, "seq": int(q), "value": r.value,
                        "subgroup": r.subgroup, "lot": r.lot, "serial": r.serial,
                        "machine": r.machine, "operator": r.operator, "msg_id": r.msg_id,
                    }
                    for (cid, r), q in zip(flat, seq.tolist(), strict=True)
                ],
            )  # fmt: skip
        else:
            bulk.insert_measurements(
                conn,
                characteristic_id=cids,
                ts=ts_us.astype("datetime64[us]"),
                value=np.array([r.value for _, r in flat], dtype=np.float64),
                seq=seq,
                subgroup=[r.subgroup for _, r in flat],
                lot=[r.lot for _, r in flat],
                serial=[r.serial for _, r in flat],
                machine=[r.machine for _, r in flat],
                operator=[r.operator for _, r in flat],
                msg_id=[r.msg_id for _, r in flat],
            )
        out.stored += len(flat)
        for info, rs in fresh:
            out.points[(info.org_id, info.id)] = [(r.ts.isoformat(), r.value) for r in rs]

    def _judge(
        self,
        conn: Connection,
        char: _Char,
        fresh: list[Reading],
        row: Any,
        out: BatchResult,
        now: datetime,
        updates: list[dict[str, Any]],
        inserts: list[dict[str, Any]],
    ) -> list[Signal]:
        """Push stored readings through the characteristic's SPC state; the signals. The
        state's new row goes to ``updates`` or ``inserts``."""
        signals: list[Signal] = []
        if char.limits_id is None:
            out.no_limits += len(fresh)
            for r in fresh:
                signals.extend(_spec_signals(char, r))
            return signals
        state, continued = self._state(conn, char, row)
        rules_name = str((char.limits_doc or {}).get("rules") or char.rules or "gb4091")
        last = _utc(row.last_ts) if row is not None and continued and row.last_ts else None
        pushed = 0
        for r in fresh:
            if last is not None and r.ts < last:
                out.out_of_order += 1
                signals.extend(_spec_signals(char, r))
                continue
            try:
                events = state.push(r.value, subgroup=r.subgroup, ts=r.ts, key=r.msg_id)
            except DataError as exc:  # e.g. a value for a subgroup judged already
                out.not_judged += 1
                out.notes.append(f"{char.code} {r.msg_id}: {exc}")
                signals.extend(_spec_signals(char, r))
                continue
            last = r.ts
            pushed += 1
            for event in events:
                if isinstance(event, (RuleViolation, SpecBreach)):
                    signals.append(_signal(event, rules_name))
        n_values = (int(row.n_values or 0) if row is not None and continued else 0) + pushed
        values = {
            "b_limits_id": char.limits_id,
            "b_state": state.to_dict(),
            "b_n_values": n_values,
            "b_last_ts": last,
            "b_updated_at": now,
        }
        if row is None:
            inserts.append({k[2:]: v for k, v in values.items()} | {"characteristic_id": char.id})
        else:
            updates.append(values | {"b_cid": char.id})
        self._states[char.id] = (char.limits_id, state, n_values)
        return signals


#: batches up to this many rows are inserted row by row (executemany), larger ones by columns
_SMALL_INSERT = 500
#: index probes one lookup may cost (characteristics × values) before it is split
_MAX_PROBES = 100_000


def _lookups(wanted: set[tuple[int, Any]]) -> Iterable[tuple[list[int], list[Any]]]:
    """``(characteristic ids, values)`` to look up ``wanted`` pairs with statements of one
    shape (compiled once, not per batch): all at once, or per characteristic when the cross
    product of the two lists would cost too many index probes. The caller filters the pairs."""
    by_char: dict[int, list[Any]] = defaultdict(list)
    for cid, value in wanted:
        by_char[cid].append(value)
    values = sorted({v for _, v in wanted})
    if len(by_char) * len(values) <= _MAX_PROBES:
        return [(sorted(by_char), values)]
    return [([cid], sorted(vs)) for cid, vs in sorted(by_char.items())]


def _utc(ts: datetime) -> datetime:
    """An aware UTC time (SQLite gives naive UTC times back)."""
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def _us(ts: datetime) -> int:
    delta = ts - datetime(1970, 1, 1, tzinfo=ts.tzinfo)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


class LiveHub:
    """Thread-safe fan-out of live events (new points, opened alarms) to subscribers.

    A subscriber is a callable taking one event dict; it must not block (the web app's
    subscribers hand the event to their event loop with ``call_soon_threadsafe``).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: dict[int, Callable[[dict[str, Any]], None]] = {}
        self._next = 0

    def subscribe(self, callback: Callable[[dict[str, Any]], None]) -> int:
        with self._lock:
            self._next += 1
            self._subscribers[self._next] = callback
            return self._next

    def unsubscribe(self, token: int) -> None:
        with self._lock:
            self._subscribers.pop(token, None)

    def publish(self, event: dict[str, Any]) -> None:
        with self._lock:
            targets = list(self._subscribers.values())
        for callback in targets:
            try:
                callback(event)
            except Exception:
                _log.exception("a live-event subscriber failed")

    def publish_batch(self, result: BatchResult) -> None:
        """The points of each characteristic, then each opened alarm."""
        for (org_id, char_id), pts in result.points.items():
            self.publish(
                {"type": "points", "org_id": org_id, "characteristic_id": char_id, "points": pts}
            )
        for a in result.opened:
            self.publish({"type": "alarm", "org_id": a["org_id"], "alarm": a})


Item = tuple[Reading | Rejected, Callable[[], None]]


class MonitorService:
    """Run a :class:`Pipeline` in a worker thread over a queue of ``(item, ack)`` pairs."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        notifier: Any | None = None,
        hub: LiveHub | None = None,
        max_batch: int = 1000,
        max_wait: float = 0.02,
        retry_pause: float = 1.0,
    ) -> None:
        self.pipeline = Pipeline(sessions)
        self.notifier = notifier
        self.hub = hub
        self.max_batch = max_batch
        self.max_wait = max_wait
        self.retry_pause = retry_pause
        self.queue: queue.Queue[Item] = queue.Queue()
        self.totals = BatchResult()
        self.batches = 0
        self.failures = 0
        self._stop = threading.Event()
        self._collected = 0.0  # when the last batch was collected (time.monotonic)
        self._thread = threading.Thread(target=self._run, name="zhuoyue-monitor", daemon=True)

    def submit(self, item: Reading | Rejected, ack: Callable[[], None]) -> None:
        """Queue one message (the sources' consumer)."""
        self.queue.put((item, ack))

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Process what is queued, then stop."""
        self._stop.set()
        self._thread.join(timeout)

    def stats(self) -> dict[str, Any]:
        t = self.totals
        return {
            "received": t.received,
            "stored": t.stored,
            "duplicates": t.duplicates,
            "rejected": t.rejected,
            "out_of_order": t.out_of_order,
            "no_limits": t.no_limits,
            "not_judged": t.not_judged,
            "alarms_opened": len(t.opened),
            "batches": self.batches,
            "failures": self.failures,
            "queued": self.queue.qsize(),
        }

    def _take(self) -> list[Item]:
        try:
            first = self.queue.get(timeout=0.2)
        except queue.Empty:
            return []
        batch = [first]
        # Collect for max_wait after the first item arrived, to share the fixed cost of a batch
        # (several statements) among its items: a first item that came to an empty queue
        # arrived now; one queued while the last batch ran arrived after the last collection
        # ended, so waiting until then + max_wait delays no item more than max_wait.
        now = time.monotonic()
        arrived = now if self.queue.empty() else max(self._collected, now - self.max_wait)
        left = arrived + self.max_wait - now
        # Sleep, then take what came: waiting on the queue item by item would wake this thread
        # for every message and hand the GIL back and forth with the source's thread (each
        # handover can wait for the interpreter's switch interval, 5 ms).
        if left > 0 and self.queue.qsize() < self.max_batch - 1:
            time.sleep(left)
        while len(batch) < self.max_batch:
            try:
                batch.append(self.queue.get_nowait())
            except queue.Empty:
                break
        self._collected = time.monotonic()
        return batch

    def _done(self, batch: Sequence[Item], result: BatchResult) -> None:
        for _, ack in batch:
            try:
                ack()
            except Exception:
                _log.exception("acknowledging a message failed")
        self.batches += 1
        opened = result.opened
        result.opened = []
        self.totals.add(result)
        self.totals.opened.extend({"id": a["id"]} for a in opened)
        if self.notifier is not None and opened:
            self.notifier.submit(opened)
        if self.hub is not None:
            result.opened = opened
            self.hub.publish_batch(result)

    def process_now(self, batch: Sequence[Item]) -> None:
        """Process one batch (item by item after a failure; see the module notes)."""
        try:
            result = self.pipeline.process([i for i, _ in batch])
        except Exception:
            self.failures += 1
            _log.exception("a batch of %d messages failed; retrying one by one", len(batch))
            for one in batch:
                try:
                    result = self.pipeline.process([one[0]])
                except Exception as exc:
                    _log.exception("a message failed on its own; recording it as a dead letter")
                    try:
                        self.pipeline.dead_letter(one[0], "store_failed", f"storing failed: {exc}")
                    except Exception:
                        # the database itself is down: keep the message unacknowledged; the
                        # broker delivers it again after a reconnect
                        _log.exception("the database refuses even a dead letter")
                        time.sleep(self.retry_pause)
                        continue
                    result = BatchResult(received=1, rejected=1)
                self._done([one], result)
            return
        self._done(batch, result)

    def _run(self) -> None:
        while True:
            batch = self._take()
            if not batch:
                if self._stop.is_set():
                    return
                continue
            self.process_now(batch)
