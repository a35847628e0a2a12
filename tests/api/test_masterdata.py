"""Products, steps, characteristics and sharing through the API (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest
from apitools import World, assert_error, char_count
from sqlalchemy import select

from zhuoyue.store.engine import transaction
from zhuoyue.store.models import AuditLog

V1 = "/api/v1"


def _get(world: World, path: str, user: str = "alice", **params: Any) -> Any:
    r = world.client.get(V1 + path, headers=world.auth(user), params=params)
    assert r.status_code == 200, r.text
    return r.json()


# ---------------------------------------------------------------------------- products, steps
@pytest.mark.parametrize("kind", ["products", "steps"])
def test_crud_of_products_and_steps(world: World, kind: str) -> None:
    h = world.auth("eve")
    body: dict[str, Any] = {"code": "X-1", "name": "Housing"}
    if kind == "steps":
        body["sequence"] = 20
    r = world.client.post(f"{V1}/{kind}", json=body, headers=h)
    assert r.status_code == 201, r.text
    created = r.json()
    assert {k: created[k] for k in body} == body
    for ref in (str(created["id"]), "X-1", "code:X-1"):
        assert _get(world, f"/{kind}/{ref}", "vic")["id"] == created["id"]
    r = world.client.patch(f"{V1}/{kind}/X-1", json={"name": "Cover"}, headers=h)
    assert r.status_code == 200 and r.json()["name"] == "Cover" and r.json()["code"] == "X-1"
    assert_error(world.client.post(f"{V1}/{kind}", json=body, headers=h), 409, "code_taken")
    r = world.client.patch(
        f"{V1}/{kind}/X-1", json={"code": "P-acme" if kind == "products" else "OP10"}, headers=h
    )
    assert_error(r, 409, "code_taken")
    assert_error(world.client.patch(f"{V1}/{kind}/X-1", json={"name": None}, headers=h), 422)
    assert world.client.delete(f"{V1}/{kind}/X-1", headers=h).status_code == 204
    assert_error(world.client.get(f"{V1}/{kind}/X-1", headers=h), 404, "not_found")
    assert_error(world.client.delete(f"{V1}/{kind}/X-1", headers=h), 404, "not_found")
    with transaction(world.engine) as s:
        entity = "product" if kind == "products" else "process_step"
        actions = s.scalars(
            select(AuditLog.action)
            .where(AuditLog.entity == entity, AuditLog.entity_id == str(created["id"]))
            .order_by(AuditLog.id)
        ).all()
        assert actions == ["create", "update", "delete"]


@pytest.mark.parametrize(("kind", "ref"), [("products", "P-acme"), ("steps", "OP10")])
def test_master_data_in_use_is_not_deleted(world: World, kind: str, ref: str) -> None:
    error = assert_error(
        world.client.delete(f"{V1}/{kind}/{ref}", headers=world.auth("alice")), 409, "in_use"
    )
    assert "characteristics" in error["message"]


def test_steps_are_listed_in_process_order(world: World) -> None:
    h = world.auth("eve")
    world.client.post(f"{V1}/steps", json={"code": "OP05", "sequence": 5}, headers=h)
    world.client.post(f"{V1}/steps", json={"code": "OP90", "sequence": 90}, headers=h)
    assert [s["code"] for s in _get(world, "/steps")["items"]] == ["OP05", "OP10", "OP90"]


# ---------------------------------------------------------------------------- characteristics
def test_characteristic_crud_with_specs_audited(world: World) -> None:
    h = world.auth("eve")
    body = {
        "code": "OD-2", "name": "Outer diameter", "step": "OP10", "product": "P-acme",
        "unit": "mm", "lsl": 24.95, "usl": 25.05, "target": 25.0, "subgroup_size": 5,
        "key": True, "chart": "xbar_r", "rules": "we",
    }  # fmt: skip
    r = world.client.post(f"{V1}/characteristics", json=body, headers=h)
    assert r.status_code == 201, r.text
    created = r.json()
    assert {k: created[k] for k in body} == body
    r = world.client.patch(f"{V1}/characteristics/OD-2", json={"usl": 25.04}, headers=h)
    assert r.status_code == 200 and r.json()["usl"] == 25.04 and r.json()["lsl"] == 24.95
    r = world.client.patch(
        f"{V1}/characteristics/OD-2", json={"product": None, "key": False}, headers=h
    )
    assert r.json()["product"] is None and r.json()["key"] is False
    with transaction(world.engine) as s:
        entry = s.scalars(
            select(AuditLog).where(
                AuditLog.action == "update_specs", AuditLog.entity_id == str(created["id"])
            )
        ).one()
        assert entry.before["usl"] == 25.05 and entry.after["usl"] == 25.04
        assert entry.user_id == world.user_ids["eve"] and entry.token_id is not None
    assert world.client.delete(f"{V1}/characteristics/OD-2", headers=h).status_code == 204


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"code": "Z", "step": "OP10", "lsl": 2.0, "usl": 1.0}, 422, "lsl_above_usl"),
        ({"code": "Z", "step": "OP10", "lsl": 1.0, "usl": 1.0}, 422, "lsl_above_usl"),
        ({"code": "Z", "step": "NOPE"}, 422, "unknown_step"),
        ({"code": "Z", "step": "OP10", "product": "NOPE"}, 422, "unknown_product"),
        ({"code": "Z", "step": "OP10", "chart": "pie"}, 422, "chart"),
        ({"code": "Z", "step": "OP10", "rules": "mine"}, 422, "rules"),
        ({"code": "Z"}, 422, "request_validation"),
        ({"code": "Z", "step": "OP10", "subgroup_size": 0}, 422, "request_validation"),
        ({"code": "Z", "step": "OP10", "org_id": 2}, 422, "request_validation"),
        ({"code": "Z\x00", "step": "OP10"}, 422, "request_validation"),
        ({"code": "x" * 81, "step": "OP10"}, 422, "request_validation"),
        ({"code": "code:Z", "step": "OP10"}, 422, "data"),
        ({"code": "BORE-D", "step": "OP10"}, 409, "code_taken"),
    ],
)
def test_bad_characteristics_are_refused(
    world: World, body: dict[str, Any], status: int, code: str
) -> None:
    before = world.state()
    r = world.client.post(f"{V1}/characteristics", json=body, headers=world.auth("eve"))
    error = assert_error(r, status, code)
    if code == "request_validation":
        assert error["problems"] and all(p["loc"] for p in error["problems"])
    assert world.state() == before


def test_patch_checks_limits_against_stored_ones(world: World) -> None:
    r = world.client.patch(
        f"{V1}/characteristics/BORE-D", json={"lsl": 10.5}, headers=world.auth("eve")
    )
    assert_error(r, 422, "lsl_above_usl")


def test_refs_by_id_code_and_code_prefix(world: World) -> None:
    numeric = world.a.chars["1001"]
    assert _get(world, "/characteristics/code:1001")["id"] == numeric
    assert _get(world, f"/characteristics/{numeric}")["code"] == "1001"
    # digits are an id: "1001" is no id of acme
    assert_error(world.client.get(f"{V1}/characteristics/1001", headers=world.auth("alice")), 404)
    for ref in ("0", "99999999999999999999", "code:", "%00", "x" * 200):
        r = world.client.get(f"{V1}/characteristics/{ref}", headers=world.auth("alice"))
        assert_error(r, 404)


def test_delete_with_measurements_needs_force(world: World) -> None:
    h = world.auth("alice")
    cid = world.a.chars["RUNOUT"]
    error = assert_error(world.client.delete(f"{V1}/characteristics/RUNOUT", headers=h), 409)
    assert "force=true" in error["message"]
    assert char_count(world.engine, cid) == 20
    r = world.client.delete(f"{V1}/characteristics/RUNOUT", headers=h, params={"force": True})
    assert r.status_code == 204
    assert char_count(world.engine, cid) == 0


def test_filters_and_pagination(world: World) -> None:
    h = world.auth("eve")
    world.client.post(f"{V1}/steps", json={"code": "OP20"}, headers=h)
    world.client.post(f"{V1}/characteristics", json={"code": "A-20", "step": "OP20"}, headers=h)
    everything = _get(world, "/characteristics")
    assert everything["total"] == 4 and everything["limit"] == 100 and everything["offset"] == 0
    assert [c["code"] for c in everything["items"]] == ["1001", "A-20", "BORE-D", "RUNOUT"]
    assert [c["code"] for c in _get(world, "/characteristics", step="OP20")["items"]] == ["A-20"]
    assert _get(world, "/characteristics", product="P-acme")["total"] == 3
    assert [c["code"] for c in _get(world, "/characteristics", key=True)["items"]] == ["BORE-D"]
    assert _get(world, "/characteristics", key=False)["total"] == 3
    assert _get(world, "/characteristics", step="NOPE")["total"] == 0
    assert _get(world, "/characteristics", step="bad\x01")["total"] == 0
    page = _get(world, "/characteristics", limit=2, offset=1)
    assert [c["code"] for c in page["items"]] == ["A-20", "BORE-D"] and page["total"] == 4
    assert _get(world, "/characteristics", offset=10)["items"] == []
    for params in ({"limit": 0}, {"limit": 1001}, {"offset": -1}, {"key": "maybe"}):
        r = world.client.get(f"{V1}/characteristics", headers=h, params=params)
        assert_error(r, 422, "request_validation")


# ------------------------------------------------------------------------------------ sharing
def test_sharing_with_suppliers(world: World) -> None:
    h = world.auth("quinn")
    shares = world.client.get(f"{V1}/characteristics/BORE-D/shares", headers=h).json()
    assert [s["username"] for s in shares] == ["sam"]
    r = world.client.post(
        f"{V1}/characteristics/RUNOUT/shares", json={"username": "sam"}, headers=h
    )
    assert r.status_code == 201 and r.json()["username"] == "sam"
    r = world.client.post(
        f"{V1}/characteristics/RUNOUT/shares", json={"username": "sam"}, headers=h
    )
    assert r.status_code == 201  # idempotent
    codes = [c["code"] for c in _get(world, "/characteristics", "sam")["items"]]
    assert codes == ["BORE-D", "RUNOUT"]
    # only suppliers of the organization
    for name in ("vic", "bob", "nobody"):
        r = world.client.post(
            f"{V1}/characteristics/RUNOUT/shares", json={"username": name}, headers=h
        )
        assert_error(r, 422, "unknown_supplier")
    sam = world.user_ids["sam"]
    r = world.client.delete(f"{V1}/characteristics/RUNOUT/shares/{sam}", headers=h)
    assert r.status_code == 204
    assert_error(world.client.delete(f"{V1}/characteristics/RUNOUT/shares/{sam}", headers=h), 404)
    assert [c["code"] for c in _get(world, "/characteristics", "sam")["items"]] == ["BORE-D"]
    # an engineer does not share
    r = world.client.post(
        f"{V1}/characteristics/RUNOUT/shares", json={"username": "sam"}, headers=world.auth("eve")
    )
    assert_error(r, 403, "forbidden")


def test_audit_log_lists_changes_of_the_organization(world: World) -> None:
    h = world.auth("eve")
    world.client.patch(f"{V1}/products/P-acme", json={"name": "Main shaft"}, headers=h)
    page = _get(world, "/audit", "quinn", entity="product")
    assert page["items"][0]["action"] == "update"
    assert page["items"][0]["before"]["name"] == "Shaft"
    assert page["items"][0]["after"]["name"] == "Main shaft"
    assert_error(world.client.get(f"{V1}/audit", headers=h), 403)
