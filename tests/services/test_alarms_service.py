"""Alarms: one open alarm per characteristic and signal kind, OCAP acknowledgement (audited),
access by organization and share, nonconformance suggestions, notification channels."""

from __future__ import annotations

import datetime as dt

import pytest
from services_helpers import Demo
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhuoyue.errors import DataError, ParameterError, PermissionDenied
from zhuoyue.services import alarms
from zhuoyue.services.accounts import Conflict, NotFound, Principal
from zhuoyue.services.alarms import Signal
from zhuoyue.store.models import Alarm, AuditLog, Characteristic

UTC = dt.UTC
T0 = dt.datetime(2024, 6, 1, 8, tzinfo=UTC)


def _who(demo: Demo, username: str, plant: str, role: str) -> Principal:
    org = next(o for o in demo.info.orgs if o.plant == plant)
    return Principal(demo.users[username], username, org.org_id, org.code, role)


def _char(session: Session, demo: Demo, plant: str, code: str) -> Characteristic:
    c = session.get(Characteristic, demo.chars[plant][code])
    assert c is not None
    return c


def _rule(test: int, i: int, panel: str = "xbar") -> Signal:
    return Signal(
        "rule",
        T0 + dt.timedelta(minutes=i),
        panel=panel,
        test=test,
        description_zh=f"检验{test}",
        description_en=f"test {test}",
        detail={"point": i},
    )


def _spec(limit: str, i: int, value: float) -> Signal:
    return Signal(
        "spec",
        T0 + dt.timedelta(minutes=i),
        description_zh=f"超出规格限 {limit.upper()}",
        description_en=f"outside {limit.upper()}",
        detail={"limit": limit, "value": value, "point": i},
    )


def test_one_open_alarm_per_kind_counts_the_signals(session: Session, demo: Demo) -> None:
    c = _char(session, demo, "a", "C40-01")
    opened = alarms.record_signals(session, c, [_rule(2, i) for i in range(10, 510)], now=T0)
    assert len(opened) == 1  # a long run of test 2 is one alarm, not 500
    a = opened[0]
    assert (a.kind, a.panel, a.test, a.dedup_key) == ("rule", "xbar", 2, "rule:xbar:2")
    assert a.signals == 500 and a.severity == "warning" and a.status == "open"
    assert a.first_point_ts == T0 + dt.timedelta(minutes=10)
    assert a.last_point_ts == T0 + dt.timedelta(minutes=509)
    assert (
        a.message_zh.startswith("C40-01") and "检验 2" in a.message_zh and "均值图" in a.message_zh
    )
    assert "test 2" in a.message_en and "Xbar chart" in a.message_en
    # other keys open their own alarms; a later call counts into the open ones
    more = [_rule(1, 600), _rule(2, 601), _rule(1, 602, "r"), _spec("usl", 603, 25.06)]
    opened = alarms.record_signals(session, c, more, now=T0)
    assert sorted(x.dedup_key for x in opened) == ["rule:r:1", "rule:xbar:1", "spec:usl"]
    assert {x.dedup_key: x.severity for x in opened} == {
        "rule:r:1": "critical",
        "rule:xbar:1": "critical",
        "spec:usl": "critical",
    }
    assert a.signals == 501
    n_open = session.scalar(
        select(func.count()).where(Alarm.characteristic_id == c.id, Alarm.status == "open")
    )
    assert n_open == 4


def test_acknowledge_records_ocap_and_the_next_signal_opens_a_new_alarm(
    session: Session, demo: Demo
) -> None:
    c = _char(session, demo, "a", "C40-01")
    (a,) = alarms.record_signals(session, c, [_rule(1, 1)], now=T0)
    engineer = _who(demo, "engineer", "a", "quality_engineer")
    with pytest.raises(DataError, match="assignable_cause is required"):
        alarms.acknowledge(session, engineer, a.id, assignable_cause=" ", corrective_action="x")
    with pytest.raises(DataError, match="at most 2000"):
        alarms.acknowledge(
            session, engineer, a.id, assignable_cause="x", corrective_action="y" * 2001
        )
    assert a.status == "open"
    done = alarms.acknowledge(
        session,
        engineer,
        a.id,
        assignable_cause=" 砂轮磨损 ",
        corrective_action="修整砂轮，复测 5 件合格",
    )
    assert done.status == "acknowledged" and done.assignable_cause == "砂轮磨损"
    assert done.acknowledged_by == engineer.user_id and done.acknowledged_at is not None
    entry = session.scalar(
        select(AuditLog).where(AuditLog.entity == "alarm", AuditLog.entity_id == str(a.id))
    )
    assert entry is not None and entry.action == "acknowledge"
    assert entry.before is not None and entry.before["status"] == "open"
    assert entry.after is not None and entry.after["corrective_action"] == "修整砂轮，复测 5 件合格"
    with pytest.raises(Conflict, match="acknowledged already"):
        alarms.acknowledge(session, engineer, a.id, assignable_cause="x", corrective_action="y")
    (b,) = alarms.record_signals(session, c, [_rule(1, 2)], now=T0)
    assert b.id != a.id and b.status == "open"


def test_who_may_see_and_acknowledge(session: Session, demo: Demo) -> None:
    shared = _char(session, demo, "a", "C30-01")  # shared with the supplier
    private = _char(session, demo, "a", "C40-01")
    (sa,) = alarms.record_signals(session, shared, [_rule(1, 1)], now=T0)
    (pa,) = alarms.record_signals(session, private, [_rule(1, 1)], now=T0)
    supplier = _who(demo, "supplier", "a", "supplier")
    seen = alarms.list_alarms(session, supplier)
    assert [x["id"] for x in seen.items] == [sa.id] and seen.total == 1
    assert seen.items[0]["characteristic"]["code"] == "C30-01"
    with pytest.raises(NotFound):
        alarms.get_alarm(session, supplier, pa.id)
    with pytest.raises(PermissionDenied):
        alarms.acknowledge(session, supplier, sa.id, assignable_cause="x", corrective_action="y")
    viewer_b = _who(demo, "demo", "b", "viewer")  # another organization
    assert alarms.list_alarms(session, viewer_b).total == 0
    with pytest.raises(NotFound):
        alarms.get_alarm(session, viewer_b, pa.id)
    manager = _who(demo, "demo", "a", "quality_manager")
    page = alarms.list_alarms(session, manager, status="open", severity="critical", limit=1)
    assert page.total == 2 and len(page.items) == 1
    assert alarms.list_alarms(session, manager, characteristic_id=private.id).total == 1
    with pytest.raises(ParameterError, match="status"):
        alarms.list_alarms(session, manager, status="closed")


def test_repeated_alarms_suggest_a_nonconformance(session: Session, demo: Demo) -> None:
    c = _char(session, demo, "a", "C20-01")
    engineer = _who(demo, "engineer", "a", "quality_engineer")
    for day in range(3):
        (a,) = alarms.record_signals(session, c, [_rule(5, day)], now=T0 + dt.timedelta(days=day))
        alarms.acknowledge(session, engineer, a.id, assignable_cause="x", corrective_action="y")
    got = alarms.nonconformance_suggestions(session, engineer, now=T0 + dt.timedelta(days=3))
    assert [g["characteristic"]["code"] for g in got] == ["C20-01"]
    assert got[0]["alarms"] == 3 and "不合格" in got[0]["suggestion_zh"]
    # 31 days later the first alarm is out of the window
    later = alarms.nonconformance_suggestions(session, engineer, now=T0 + dt.timedelta(days=31))
    assert later == []


def test_notification_channels(session: Session, demo: Demo) -> None:
    admin = _who(demo, "admin", "a", "admin")
    engineer = _who(demo, "engineer", "a", "quality_engineer")
    with pytest.raises(PermissionDenied):
        alarms.add_channel(session, engineer, kind="email", target="q@example.com")
    for kind, target in (("email", "not-an-address"), ("webhook", "ftp://x"), ("sms", "1")):
        with pytest.raises(DataError):
            alarms.add_channel(session, admin, kind=kind, target=target)
    hook = alarms.add_channel(session, admin, kind="webhook", target="https://hooks.example.com/q")
    mail = alarms.add_channel(
        session, admin, kind="email", target="q@example.com", min_severity="critical"
    )
    with pytest.raises(Conflict):
        alarms.add_channel(session, admin, kind="email", target="q@example.com")
    org = admin.org_id
    assert [c.id for c in alarms.channels_for(session, org, "warning")] == [hook.id]
    assert {c.id for c in alarms.channels_for(session, org, "critical")} == {hook.id, mail.id}
    assert [c.id for c in alarms.list_channels(session, engineer)] == [mail.id, hook.id]
    alarms.remove_channel(session, admin, hook.id)
    with pytest.raises(NotFound):
        alarms.remove_channel(session, _who(demo, "admin", "b", "admin"), mail.id)
    assert [c.id for c in alarms.list_channels(session, admin)] == [mail.id]
