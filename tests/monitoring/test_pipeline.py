"""The monitor's pipeline on SQLite and PostgreSQL: values, duplicates, dead letters, states,
alarms — and the same alarms whether the stream runs in one go or through restarts, equal to
the batch chart of the stored values."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections import Counter
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from zhuoyue.ingest.messages import Reading, Rejected, TopicMap, parse_message
from zhuoyue.services import views
from zhuoyue.services.monitoring import LiveHub, Pipeline
from zhuoyue.store.engine import make_engine
from zhuoyue.store.models import (
    Alarm,
    Characteristic,
    ControlLimits,
    DeadLetter,
    Measurement,
    MonitorState,
    Organization,
    ProcessStep,
)

UTC = dt.UTC
T0 = dt.datetime(2024, 6, 1, 8, tzinfo=UTC)
ORG = "plant"


@pytest.fixture
def sessions(migrated_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(migrated_url)
    factory = sessionmaker(engine, expire_on_commit=False)
    try:
        yield factory
    finally:
        engine.dispose()


def _setup(sessions: sessionmaker[Session], *, chart: str = "imr", size: int = 1) -> dict[str, int]:
    """A plant with C1 (frozen limits: centre 10, sigma 1, spec 6..14), C2 (no limits)."""
    with sessions.begin() as s:
        org = Organization(code=ORG, name="Plant")
        s.add(org)
        s.flush()
        step = ProcessStep(org_id=org.id, code="OP10", name="Turning", sequence=10)
        s.add(step)
        s.flush()
        c1 = Characteristic(
            org_id=org.id, code="C1", name="OD", step_id=step.id, lsl=6.0, usl=14.0,
            subgroup_size=size, key=True, rules="gb4091", chart=chart,
        )  # fmt: skip
        c2 = Characteristic(
            org_id=org.id, code="C2", name="Length", step_id=step.id, usl=14.0,
            subgroup_size=1, key=False, rules="gb4091",
        )  # fmt: skip
        s.add_all([c1, c2])
        s.flush()
        s.add(
            ControlLimits(
                characteristic_id=c1.id,
                chart=chart,
                limits={"center": 10.0, "sigma": 1.0, "subgroup_size": size, "rules": "gb4091"},
                sigma=1.0,
                reason="phase I study",
                active=True,
            )
        )
        return {"org": org.id, "C1": c1.id, "C2": c2.id}


def _msg(code: str, i: int, value: float, **extra: object) -> Reading | Rejected:
    body = {"ts": (T0 + dt.timedelta(minutes=i)).isoformat(), "value": value, **extra}
    return parse_message(f"zhuoyue/{ORG}/{code}", json.dumps(body), TopicMap())


def test_a_batch_stores_counts_rejects_and_alarms(sessions: sessionmaker[Session]) -> None:
    ids = _setup(sessions)
    hub = LiveHub()
    seen: list[dict[str, object]] = []
    hub.subscribe(seen.append)
    items = [
        _msg("C1", 0, 10.1, id="a"),
        _msg("C1", 1, 14.5, id="b"),  # beyond 3σ (test 1) and above USL 14
        _msg("C1", 2, 9.8, id="c"),
        _msg("C1", 2, 9.8, id="c"),  # the same message twice in the batch
        _msg("C2", 3, 15.0, id="d"),  # no limits: stored, spec alarm only
        _msg("C9", 4, 1.0, id="e"),  # unknown characteristic
        parse_message("zhuoyue/nowhere/C1", b'{"ts": 1717228800, "value": 1}', TopicMap()),
        _msg("C1", 5, float("nan")),  # rejected at the door
    ]
    result = Pipeline(sessions).process(items)
    hub.publish_batch(result)
    assert (result.received, result.stored, result.duplicates) == (8, 4, 1)
    assert (result.rejected, result.no_limits, result.out_of_order) == (3, 1, 0)
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Measurement)) == 4
        letters = s.scalars(select(DeadLetter).order_by(DeadLetter.id)).all()
        assert sorted(d.reason for d in letters) == [
            "bad_value", "unknown_characteristic", "unknown_characteristic",
        ]  # fmt: skip
        by_reason = {d.reason: d for d in letters if d.topic and "C9" in d.topic}
        assert "no characteristic 'C9'" in by_reason["unknown_characteristic"].message
        assert by_reason["unknown_characteristic"].org_id == ids["org"]
        nowhere = next(d for d in letters if d.topic == "zhuoyue/nowhere/C1")
        assert nowhere.org_id is None and "no organization 'nowhere'" in nowhere.message
        found = {(a.characteristic_id, a.dedup_key): a for a in s.scalars(select(Alarm))}
        assert set(found) == {
            (ids["C1"], "rule:i:1"),
            (ids["C1"], "spec:usl"),
            (ids["C1"], "rule:mr:1"),  # |14.5 - 10.1| = 4.4 > 3.686σ
            (ids["C2"], "spec:usl"),
        }
        assert found[(ids["C1"], "rule:i:1")].first_point_ts == T0 + dt.timedelta(minutes=1)
        assert "检验 1" in found[(ids["C1"], "rule:i:1")].message_zh
        assert "上规格限 USL 14" in found[(ids["C2"], "spec:usl")].message_zh
        state = s.get(MonitorState, ids["C1"])
        assert state is not None and state.n_values == 3
        assert state.last_ts == T0 + dt.timedelta(minutes=2)
        assert s.get(MonitorState, ids["C2"]) is None
    kinds = Counter(str(e["type"]) for e in seen)
    assert kinds == {"points": 2, "alarm": 4}
    # the same batch again: all duplicates, nothing new
    again = Pipeline(sessions).process(items)
    assert (again.stored, again.duplicates, len(again.opened)) == (0, 5, 0)
    with sessions() as s:  # a rejected message delivered again counts in its dead letter
        assert [d.copies for d in s.scalars(select(DeadLetter))] == [2, 2, 2]


def test_late_values_are_stored_but_not_judged(sessions: sessionmaker[Session]) -> None:
    ids = _setup(sessions)
    p = Pipeline(sessions)
    p.process([_msg("C1", 10, 10.0, id="x")])
    r = p.process([_msg("C1", 5, 20.0, id="late")])  # older than the last value judged
    assert (r.stored, r.out_of_order) == (1, 1)
    with sessions() as s:
        keys = {a.dedup_key for a in s.scalars(select(Alarm))}
        assert keys == {"spec:usl"}  # the spec check still applies; no run rule
        state = s.get(MonitorState, ids["C1"])
        assert state is not None and state.n_values == 1


def _run(
    sessions: sessionmaker[Session], values: np.ndarray, splits: list[int], *, restart: bool
) -> dict[str, tuple[int, object]]:
    msgs = [_msg("C1", i, float(v), id=f"m{i}") for i, v in enumerate(values)]
    cuts = [0, *sorted(set(splits)), len(msgs)]
    p = Pipeline(sessions)
    for a, b in itertools.pairwise(cuts):
        if restart:
            p = Pipeline(sessions)  # a new process: the state comes from the database
        p.process(msgs[a:b])
    with sessions() as s:
        return {
            a.dedup_key: (a.signals, a.first_point_ts)
            for a in s.scalars(select(Alarm).where(Alarm.kind == "rule"))
        }


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.integers(0, 2**16),
    splits=st.lists(st.integers(1, 119), max_size=6),
)
def test_streamed_through_restarts_equals_the_batch_chart(
    migrated_url: str, seed: int, splits: list[int]
) -> None:
    rng = np.random.default_rng(seed)
    values = np.round(rng.normal(10.0, 1.0, 120), 1)
    values[60:80] += 1.5  # a shift: runs on one side
    values[rng.integers(0, 120, 3)] += 4.0  # beyond 3σ
    got: list[dict[str, tuple[int, object]]] = []
    for restart in (False, True):
        engine = make_engine(migrated_url)
        sessions = sessionmaker(engine, expire_on_commit=False)
        try:
            with sessions.begin() as s:  # empty the tables between the two runs
                for table in (Alarm, MonitorState, Measurement, ControlLimits, Characteristic,
                              ProcessStep, DeadLetter, Organization):  # fmt: skip
                    s.query(table).delete()
            ids = _setup(sessions)
            got.append(_run(sessions, values, splits, restart=restart))
            if restart:
                with sessions() as s:
                    chart = views.characteristic_chart(s, ids["org"], ids["C1"], phase="II")
        finally:
            engine.dispose()
    assert got[0] == got[1]
    want: Counter[str] = Counter()
    first: dict[str, object] = {}
    ts = chart["points"]["ts"]
    for panel, p in chart["panels"].items():
        for v in p["violations"]:
            key = f"rule:{panel}:{v['rule']}"
            want[key] += 1
            first.setdefault(key, ts[v["index"]])
    assert {k: n for k, (n, _) in got[1].items()} == dict(want)
    for key, (_, when) in got[1].items():
        assert when is not None
        assert when.strftime("%Y-%m-%dT%H:%M:%S.%fZ") == first[key]


def test_xbar_subgroups_by_label(sessions: sessionmaker[Session]) -> None:
    ids = _setup(sessions, chart="xbar_r", size=5)
    rng = np.random.default_rng(3)
    items = []
    for g in range(30):
        shift = 2.0 if g == 20 else 0.0  # one subgroup mean far above: test 1
        for j in range(5):
            items.append(
                _msg("C1", g * 5 + j, float(np.round(rng.normal(10 + shift, 1), 2)), subgroup=g)
            )
    Pipeline(sessions).process(items)
    with sessions() as s:
        alarms = {a.dedup_key: a for a in s.scalars(select(Alarm))}
        assert "rule:xbar:1" in alarms
        assert alarms["rule:xbar:1"].detail["subgroup"] == 20
        chart = views.characteristic_chart(s, ids["org"], ids["C1"], phase="II")
        assert chart["limits_source"] == "frozen"
        want = {
            f"rule:{p}:{v['rule']}" for p, pn in chart["panels"].items() for v in pn["violations"]
        }
        assert {k for k in alarms if k.startswith("rule:")} == want
