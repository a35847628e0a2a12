"""Online monitoring over the API (SQLite and PostgreSQL): the feed through the monitor's path,
alarms and their OCAP acknowledgement, dead letters, notification channels, who may do what."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from apitools import World, assert_error, char_count
from sqlalchemy import select
from sqlalchemy.orm import Session

from zhuoyue.store.models import AuditLog, ControlLimits

V1 = "/api/v1"
T0 = datetime(2024, 6, 1, 8, tzinfo=UTC)


def _freeze(world: World, ref: str = "BORE-D") -> dict[str, Any]:
    r = world.client.post(
        f"{V1}/characteristics/{ref}/limits", headers=world.auth("alice"), json={"reason": "study"}
    )
    assert r.status_code == 201, r.text
    with Session(world.engine) as s:
        row = s.scalar(select(ControlLimits).where(ControlLimits.active.is_(True)))
        assert row is not None
        return dict(row.limits)


def _items(limits: dict[str, Any], n: int, *, start: int = 0, jump: int | None = None) -> list[Any]:
    c, sd = limits["center"], limits["sigma"]
    out = []
    for i in range(start, start + n):
        v = c + (0.3 if i % 2 else -0.3) * sd
        if jump is not None and i // 5 == jump:
            v = max(c + 8 * sd, 10.15)  # far beyond 3σ/√5, and above the USL 10.1
        out.append({"characteristic": "BORE-D", "ts": (T0 + timedelta(minutes=i)).isoformat(),
                    "value": v, "subgroup": i // 5, "id": f"m{i}"})  # fmt: skip
    return out


def test_feed_stores_judges_and_alarms(world: World) -> None:
    limits = _freeze(world)
    char = world.a.chars["BORE-D"]
    before = char_count(world.engine, char)
    items = _items(limits, 50, jump=4)
    items += [
        {"characteristic": "BORE-D", "ts": T0.isoformat(), "value": "NaN"},
        {"characteristic": "ONLY-B", "ts": T0.isoformat(), "value": 1.0},  # B's: not found
        {"characteristic": "BORE-D", "ts": "yesterday", "value": 1.0},
    ]
    r = world.client.post(f"{V1}/feed", headers=world.auth("eve"), json=items)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["received"], body["stored"], body["rejected"]) == (53, 50, 3)
    assert [(p["index"], p["reason"]) for p in body["problems"]] == [
        (50, "bad_value"), (51, "unknown_characteristic"), (52, "bad_ts"),
    ]  # fmt: skip
    assert body["alarms_opened"]
    assert char_count(world.engine, char) == before + 50
    # resent: nothing stored twice, nothing alarmed twice
    again = world.client.post(f"{V1}/feed", headers=world.auth("eve"), json=items[:50]).json()
    assert (again["stored"], again["duplicates"], again["alarms_opened"]) == (0, 50, [])
    alarms = world.client.get(f"{V1}/alarms", headers=world.auth("vic")).json()
    keys = {(a["panel"], a["test"], a["kind"]) for a in alarms["items"]}
    assert ("xbar", 1, "rule") in keys and ("value", None, "spec") not in keys
    xbar1 = next(a for a in alarms["items"] if a["panel"] == "xbar" and a["test"] == 1)
    assert xbar1["characteristic"]["code"] == "BORE-D" and xbar1["severity"] == "critical"
    assert xbar1["status"] == "open" and "检验 1" in xbar1["message_zh"]
    spec = [a for a in alarms["items"] if a["kind"] == "spec"]
    assert spec and spec[0]["detail"]["limit"] == "usl"
    # dead letters of A hold the rejected ones that named A's characteristics
    letters = world.client.get(f"{V1}/dead-letters", headers=world.auth("vic")).json()
    assert sorted(d["reason"] for d in letters["items"]) == ["bad_ts", "bad_value"]


def test_acknowledge_with_ocap(world: World) -> None:
    limits = _freeze(world)
    world.client.post(f"{V1}/feed", headers=world.auth("eve"), json=_items(limits, 30, jump=2))
    alarm = world.client.get(
        f"{V1}/alarms", headers=world.auth("eve"), params={"status": "open", "severity": "critical"}
    ).json()["items"][0]
    url = f"{V1}/alarms/{alarm['id']}/acknowledge"
    assert_error(world.client.post(url, headers=world.auth("eve"), json={}), 422)
    body = {"assignable_cause": "刀具磨损", "corrective_action": "换刀并首件检验"}
    assert_error(world.client.post(url, headers=world.auth("vic"), json=body), 403)
    r = world.client.post(url, headers=world.auth("eve"), json=body)
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "acknowledged" and done["assignable_cause"] == "刀具磨损"
    assert done["acknowledged_by"] == world.user_ids["eve"]
    assert_error(world.client.post(url, headers=world.auth("eve"), json=body), 409)
    with Session(world.engine) as s:
        entry = s.scalar(select(AuditLog).where(AuditLog.entity == "alarm"))
        assert entry is not None and entry.action == "acknowledge"
    got = world.client.get(f"{V1}/alarms/{alarm['id']}", headers=world.auth("vic")).json()
    assert got["corrective_action"] == "换刀并首件检验"
    assert_error(world.client.get(f"{V1}/alarms/{alarm['id']}", headers=world.auth("bob")), 404)


def test_supplier_feeds_and_sees_only_shared(world: World) -> None:
    limits = _freeze(world)  # BORE-D is shared with sam
    r = world.client.post(f"{V1}/feed", headers=world.auth("sam"), json=_items(limits, 10, jump=0))
    assert r.status_code == 200 and r.json()["stored"] == 10
    runout = [{"characteristic": "RUNOUT", "ts": T0.isoformat(), "value": 1.0}]
    r = world.client.post(f"{V1}/feed", headers=world.auth("sam"), json=runout)
    assert r.json()["problems"][0]["reason"] == "unknown_characteristic"
    seen = world.client.get(f"{V1}/alarms", headers=world.auth("sam")).json()["items"]
    assert seen and {a["characteristic"]["code"] for a in seen} == {"BORE-D"}
    assert_error(world.client.get(f"{V1}/dead-letters", headers=world.auth("sam")), 403)
    assert_error(world.client.post(f"{V1}/feed", headers=world.auth("vic"), json=runout), 403)
    assert_error(world.client.post(f"{V1}/feed", headers=world.auth("eve"), json=[]), 422)


def test_notification_channels(world: World) -> None:
    url = f"{V1}/notification-channels"
    body = {"kind": "email", "target": "qm@acme.example", "min_severity": "critical"}
    assert_error(world.client.post(url, headers=world.auth("eve"), json=body), 403)
    assert_error(
        world.client.post(url, headers=world.auth("alice"), json={**body, "target": "nope"}), 422
    )
    r = world.client.post(url, headers=world.auth("alice"), json=body)
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    assert_error(world.client.post(url, headers=world.auth("alice"), json=body), 409)
    assert [c["id"] for c in world.client.get(url, headers=world.auth("eve")).json()] == [cid]
    assert world.client.get(url, headers=world.auth("bob")).json() == []
    assert_error(world.client.delete(f"{url}/{cid}", headers=world.auth("bob")), 404)
    assert world.client.delete(f"{url}/{cid}", headers=world.auth("alice")).status_code == 204
