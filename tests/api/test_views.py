"""Computed views over the API: control chart, capability, frozen limits, overview and KPIs
(SQLite and PostgreSQL). The numbers are those of the services on the same database; suppliers
see only what is shared; viewers read but do not freeze."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from apitools import PASSWORD, World, assert_error
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from zhuoyue.api.schemas import LimitsOut, OverviewRow, json_safe
from zhuoyue.demo.factory import DemoPlant, make_plant
from zhuoyue.services import accounts, kpi, views
from zhuoyue.services.importing import import_data
from zhuoyue.store.engine import transaction
from zhuoyue.store.models import AuditLog, Characteristic

V1 = "/api/v1"


def service(world: World, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
    """What the service computes on the same database, as the API would send it."""
    with Session(world.engine) as s:
        return json_safe(fn(s, *args, **kw))


def as_sent(model: type[BaseModel], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows through the route's response model (times as the API writes them)."""
    return [model.model_validate(r).model_dump(mode="json") for r in rows]


def char_id(world: World, code: str) -> int:
    with Session(world.engine) as s:
        found = s.scalar(
            select(Characteristic.id).where(
                Characteristic.org_id == world.a.id, Characteristic.code == code
            )
        )
    assert found is not None
    return int(found)


@pytest.fixture
def plant(world: World) -> DemoPlant:
    """Plant A of the demo factory (a year of 2024, 40 characteristics, at a small scale)
    imported into organization A."""
    p = make_plant("a", seed=2023, scale=0.01)
    import_data(world.engine, p.data(), org_code="acme", user_id=world.user_ids["alice"])
    return p


# ------------------------------------------------------------------------------------- chart
def test_chart_equals_the_service(world: World, plant: DemoPlant) -> None:
    key = plant.tables["characteristics"].filter(plant.tables["characteristics"]["key"])
    code = str(key["code"][0])
    cid = char_id(world, code)
    h = world.auth("vic")
    r = world.client.get(f"{V1}/characteristics/{code}/chart", headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body == service(world, views.characteristic_chart, world.a.id, cid)
    assert body["limits_source"] == "computed" and body["characteristic"]["code"] == code
    assert body["n_points"] == len(body["points"]["ts"]) > 0
    # by id, with a range, another chart and other rules: still the service's numbers
    params = {
        "start": "2024-03-01T00:00:00",
        "end": "2024-09-01T00:00:00+08:00",
        "chart": "imr",
        "rules": "we",
    }
    r = world.client.get(f"{V1}/characteristics/{cid}/chart", headers=h, params=params)
    assert r.status_code == 200, r.text
    want = service(
        world,
        views.characteristic_chart,
        world.a.id,
        cid,
        start=datetime(2024, 3, 1),
        end=datetime.fromisoformat("2024-09-01T00:00:00+08:00"),
        chart="imr",
        rules="we",
    )
    assert r.json() == want
    assert r.json()["chart"] == "imr" and r.json()["rules"]["set"] == "we"


def test_capability_equals_the_service(world: World, plant: DemoPlant) -> None:
    for code in ("BORE-D", str(plant.tables["characteristics"]["code"][0])):
        r = world.client.get(f"{V1}/characteristics/{code}/capability", headers=world.auth("vic"))
        assert r.status_code == 200, r.text
        want = service(world, views.characteristic_capability, world.a.id, char_id(world, code))
        assert r.json() == want
        assert r.json()["cpk"] == pytest.approx(want["cpk"], rel=1e-12)
        assert r.json()["cpk"] <= r.json()["cp"]


def test_chart_and_capability_errors(world: World) -> None:
    h = world.auth("vic")
    url = f"{V1}/characteristics/BORE-D"
    after = {"start": "2030-01-01T00:00:00Z"}
    assert_error(world.client.get(url + "/chart", headers=h, params=after), 422, "no_data")
    assert_error(world.client.get(url + "/capability", headers=h, params=after), 422, "no_data")
    r = world.client.get(url + "/chart", headers=h, params={"phase": "II"})
    assert_error(r, 422, "no_frozen_limits")
    for bad in ({"chart": "p"}, {"rules": "nelson"}, {"phase": "III"}, {"start": "soon"}):
        error = assert_error(world.client.get(url + "/chart", headers=h, params=bad), 422)
        assert error["code"] == "request_validation" and error["problems"][0]["loc"][0] == "query"
    r = world.client.get(url + "/chart", headers=h, params={"start": "0001-01-01T00:00:00+01:00"})
    assert "between the years" in assert_error(r, 422, "parameter")["message"]
    assert_error(world.client.get(f"{V1}/characteristics/NOPE/chart", headers=h), 404)
    # a characteristic without specification limits has no capability
    body = {"code": "NOSPEC", "step": "OP10", "subgroup_size": 1}
    r = world.client.post(f"{V1}/characteristics", json=body, headers=world.auth("eve"))
    assert r.status_code == 201, r.text
    rows = [{"ts": f"2025-01-01T00:{i:02d}:00Z", "value": 1.0 + i % 3} for i in range(10)]
    r = world.client.post(
        f"{V1}/characteristics/NOSPEC/measurements", json=rows, headers=world.auth("eve")
    )
    assert r.status_code == 200, r.text
    nospec = f"{V1}/characteristics/NOSPEC"
    assert_error(world.client.get(nospec + "/capability", headers=h), 422, "no_spec")
    assert world.client.get(nospec + "/chart", headers=h).json()["chart"] == "imr"


# ------------------------------------------------------------------------------ frozen limits
def test_freeze_monitor_and_unfreeze(world: World) -> None:
    url = f"{V1}/characteristics/BORE-D/limits"
    cid = world.a.chars["BORE-D"]
    r = world.client.post(url, json={"reason": "能力研究\n4 subgroups"}, headers=world.auth("eve"))
    assert r.status_code == 201, r.text
    frozen = r.json()
    assert frozen["active"] and frozen["reason"] == "能力研究\n4 subgroups"
    assert frozen["frozen_by"]["username"] == "eve" and frozen["chart"] == "xbar_r"
    assert frozen["n_subgroups"] == 4 and frozen["in_control"] is True
    assert any("subgroups" in w for w in frozen["warnings"])  # few subgroups
    phase1 = service(world, views.characteristic_chart, world.a.id, cid, phase="I")
    assert frozen["center"] == pytest.approx(phase1["center"], rel=1e-12)
    assert frozen["sigma"] == pytest.approx(phase1["sigma"], rel=1e-12)
    # the chart is now monitored against the frozen limits (phase II)
    chart = world.client.get(f"{V1}/characteristics/BORE-D/chart", headers=world.auth("sam"))
    assert chart.json()["limits_source"] == "frozen"
    assert chart.json()["frozen_limits"]["id"] == frozen["id"]
    # a second freeze supersedes the first; the history keeps both, newest first
    again = world.client.post(
        url, json={"reason": "after overhaul", "chart": "xbar_s"}, headers=world.auth("quinn")
    )
    assert again.status_code == 201, again.text
    history = world.client.get(url, headers=world.auth("vic")).json()
    assert [(h["id"], h["active"]) for h in history] == [
        (again.json()["id"], True),
        (frozen["id"], False),
    ]
    assert history == as_sent(LimitsOut, service(world, views.limits_history, world.a.id, cid))
    # unfreeze: the reason in the query (or the body); then there is nothing left to unfreeze
    r = world.client.delete(url, params={"reason": "tool changed"}, headers=world.auth("eve"))
    assert r.status_code == 200, r.text
    assert r.json()["active"] is False and r.json()["ended"]["reason"] == "tool changed"
    r = world.client.request("DELETE", url, json={"reason": "again"}, headers=world.auth("eve"))
    assert_error(r, 409, "no_frozen_limits")
    history = world.client.get(url, headers=world.auth("vic")).json()
    assert history[0]["ended"]["by"]["username"] == "eve"
    with Session(world.engine) as s:
        actions = s.scalars(
            select(AuditLog.action).where(AuditLog.entity == "control_limits").order_by(AuditLog.id)
        ).all()
    assert actions == ["freeze_limits", "freeze_limits", "unfreeze_limits"]


def test_freeze_needs_the_permission_and_a_reason(world: World) -> None:
    url = f"{V1}/characteristics/BORE-D/limits"
    read_only = {"Authorization": f"Bearer {world.token('eve', ['read'])}"}
    before = world.state()
    for user in ("vic", "sam", "ada"):  # BORE-D is shared with sam: he still cannot freeze
        assert_error(world.client.post(url, json={"reason": "x"}, headers=world.auth(user)), 403)
        r = world.client.request("DELETE", url, json={"reason": "x"}, headers=world.auth(user))
        assert_error(r, 403)
    assert_error(world.client.post(url, json={"reason": "x"}, headers=read_only), 403, "scope")
    h = world.auth("eve")
    for body in ({}, {"reason": ""}, {"reason": "a\x00b"}, {"reason": "x", "org_id": 2}):
        assert_error(world.client.post(url, json=body, headers=h), 422, "request_validation")
    assert_error(world.client.post(url, json={"reason": "   "}, headers=h), 422, "parameter")
    assert_error(world.client.delete(url, headers=h), 422, "parameter")
    assert world.state() == before


# ------------------------------------------------------------------------------ suppliers
def test_supplier_sees_only_shared_characteristics(world: World) -> None:
    h = world.auth("sam")
    for view in ("chart", "capability", "limits"):
        assert world.client.get(f"{V1}/characteristics/BORE-D/{view}", headers=h).is_success
        for ref in ("RUNOUT", str(world.a.chars["RUNOUT"]), str(world.b.chars["ONLY-B"])):
            assert_error(world.client.get(f"{V1}/characteristics/{ref}/{view}", headers=h), 404)
    page = world.client.get(f"{V1}/overview/characteristics", headers=h).json()
    assert [row["code"] for row in page["items"]] == ["BORE-D"] and page["total"] == 1
    shared = {world.a.chars["BORE-D"]}
    want = service(world, views.characteristics_overview, world.a.id, allowed_ids=shared)
    assert page["items"] == as_sent(OverviewRow, want)
    # the assessor reads no characteristics at all
    assert_error(world.client.get(f"{V1}/overview/characteristics", headers=world.auth("ada")), 403)
    r = world.client.get(f"{V1}/characteristics/BORE-D/chart", headers=world.auth("ada"))
    assert_error(r, 403)


# ------------------------------------------------------------------------------- overview
def test_overview_equals_the_service(world: World, plant: DemoPlant) -> None:
    h = world.auth("vic")
    url = f"{V1}/overview/characteristics"
    page = world.client.get(url, headers=h, params={"limit": 1000}).json()
    rows = as_sent(OverviewRow, service(world, views.characteristics_overview, world.a.id))
    assert page == {"items": rows, "total": len(rows), "limit": 1000, "offset": 0}
    assert page["total"] == 3 + plant.tables["characteristics"].height
    assert any(r["in_control"] is False for r in rows) and any(r["cpk"] for r in rows)
    # a page is a slice of the whole list
    part = world.client.get(url, headers=h, params={"limit": 5, "offset": 2}).json()
    assert part["items"] == rows[2:7] and part["total"] == len(rows)
    # filters: key, step, product
    key = world.client.get(url, headers=h, params={"key": True, "limit": 1000}).json()
    other = world.client.get(url, headers=h, params={"key": False, "limit": 1000}).json()
    assert {r["code"] for r in key["items"]} == {r["code"] for r in rows if r["key"]}
    assert key["total"] + other["total"] == len(rows) and not any(r["key"] for r in other["items"])
    op10 = world.client.get(url, headers=h, params={"step": "OP10", "limit": 1000}).json()
    assert op10["items"] and all(r["step"] == "OP10" for r in op10["items"])
    acme = world.client.get(url, headers=h, params={"product": "P-acme"}).json()
    assert sorted(r["code"] for r in acme["items"]) == ["1001", "BORE-D", "RUNOUT"]
    for nothing in ({"step": "NOPE"}, {"product": "P-beta"}, {"step": "OP\x0010"}):
        assert world.client.get(url, headers=h, params=nothing).json()["total"] == 0


# ------------------------------------------------------------------------------------ KPIs
def test_kpis_equal_the_service(world: World, plant: DemoPlant) -> None:
    r = world.client.get(f"{V1}/kpis", headers=world.auth("vic"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["year"], body["year_source"]) == (2024, "output_value")
    want = service(world, kpi.kpis, world.a.id, 2024)
    assert body == {**want, "year_source": "output_value"}
    assert body["metrics"]["rolled_yield"]["value"] is not None
    assert len(body["trend"]["months"]) == 12
    given = world.client.get(f"{V1}/kpis", headers=world.auth("vic"), params={"year": 2024})
    assert given.json() == {**want, "year_source": "given"}


def test_kpis_default_year_and_no_data(world: World) -> None:
    # organization B has measurements of 2024 only
    r = world.client.get(f"{V1}/kpis", headers=world.auth("bob"))
    assert (r.json()["year"], r.json()["year_source"]) == (2024, "latest_in_data")
    assert r.json()["org_id"] == world.b.id
    with transaction(world.engine) as s:
        accounts.bootstrap(
            s, org_code="empty", org_name="Empty", username="erin", password=PASSWORD
        )
    erin = world.login("erin")
    error = assert_error(erin.get(f"{V1}/kpis"), 422, "no_data")
    assert "?year=" in error["message"]
    r = erin.get(f"{V1}/kpis", params={"year": 2024})
    assert r.status_code == 200 and r.json()["metrics"]["rolled_yield"]["value"] is None
    for bad in ("99", "9999", "x"):  # 9999: the year's rows would end in year 10000
        assert_error(erin.get(f"{V1}/kpis", params={"year": bad}), 422, "request_validation")


def test_kpis_are_for_the_organization_s_readers(world: World) -> None:
    for user in ("sam", "ada"):
        assert_error(world.client.get(f"{V1}/kpis", headers=world.auth(user)), 403)
