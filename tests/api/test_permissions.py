"""Roles, scopes and the permission matrix; suppliers and assessors see only what is shared."""

from __future__ import annotations

import re
from typing import Any

import pytest
from apitools import World, assert_error

from zhuoyue.services import accounts
from zhuoyue.services.accounts import ACTIONS, ROLE_ACTIONS, ROLES, SCOPES, Principal, can

V1 = "/api/v1"


def _doc_matrix() -> dict[str, set[str]]:
    """The matrix written in the docstring of zhuoyue.services.accounts, role -> actions."""
    doc = accounts.__doc__ or ""
    table = doc.split("Permission matrix")[1].split("\n\n")[1]
    lines = table.splitlines()
    border = lines[0]
    spans = [(m.start(), m.end()) for m in re.finditer("=+", border)]
    roles = list(ROLES)
    out: dict[str, set[str]] = {r: set() for r in roles}
    for line in lines:
        action = line[: spans[0][1]].strip()
        if action not in ACTIONS:
            continue
        for role, (lo, hi) in zip(roles, spans[1:], strict=True):
            if line[lo:hi].strip() == "✓":
                out[role].add(action)
    return out


def test_the_documented_matrix_is_the_enforced_one() -> None:
    assert _doc_matrix() == {r: set(a) for r, a in ROLE_ACTIONS.items()}


def test_every_role_and_action_is_known() -> None:
    assert set(ROLE_ACTIONS) == set(ROLES)
    assert set().union(*ROLE_ACTIONS.values()) <= set(ACTIONS)
    with pytest.raises(ValueError, match="Unknown action"):
        can(Principal(1, "x", 1, "o", "admin"), "fly")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("scope", SCOPES)
def test_a_token_can_at_most_what_role_and_scope_both_allow(role: str, scope: str) -> None:
    p = Principal(1, "x", 1, "o", role, scopes=frozenset({scope}), token_id=1, via="token")
    for action in ACTIONS:
        expected = action in ROLE_ACTIONS[role] and action in accounts.SCOPE_ACTIONS[scope]
        assert can(p, action) is expected
    session = Principal(1, "x", 1, "o", role)
    assert {a for a in ACTIONS if can(session, a)} == ROLE_ACTIONS[role]


def test_the_admin_does_not_verify_its_own_assessment() -> None:
    assert not can(Principal(1, "x", 1, "o", "admin"), "verify_assessment")
    assert can(Principal(1, "x", 1, "o", "assessor"), "verify_assessment")


USERS = ["alice", "quinn", "eve", "vic", "sam", "ada"]  # admin, manager, engineer, viewer, ...
#: request -> expected status for alice, quinn, eve, vic, sam, ada
CASES: list[tuple[str, str, dict[str, Any], list[int]]] = [
    ("GET", "/products", {}, [200, 200, 200, 200, 403, 403]),
    ("POST", "/products", {"json": {"code": "N"}}, [201, 201, 201, 403, 403, 403]),
    ("GET", "/steps", {}, [200, 200, 200, 200, 403, 403]),
    ("GET", "/characteristics", {}, [200, 200, 200, 200, 200, 403]),
    ("PATCH", "/characteristics/BORE-D", {"json": {"usl": 10.2}}, [200, 200, 200, 403, 403, 403]),
    ("GET", "/characteristics/BORE-D/shares", {}, [200, 200, 403, 403, 403, 403]),
    ("POST", "/characteristics/BORE-D/measurements",
     {"json": [{"ts": "2025-01-01", "value": 1.0}]}, [200, 200, 200, 403, 200, 403]),
    ("GET", "/characteristics/BORE-D/series", {}, [200, 200, 200, 200, 200, 403]),
    ("GET", "/users", {}, [200, 403, 403, 403, 403, 403]),
    ("POST", "/memberships", {"json": {"username": "bob", "role": "viewer"}},
     [201, 403, 403, 403, 403, 403]),
    ("GET", "/audit", {}, [200, 200, 403, 403, 403, 403]),
    ("PATCH", "/orgs/1", {"json": {"name": "Acme Ltd"}}, [200, 403, 403, 403, 403, 403]),
    ("GET", "/tokens", {}, [200, 200, 200, 200, 200, 200]),
    ("GET", "/auth/me", {}, [200, 200, 200, 200, 200, 200]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("method", "path", "kw", "statuses"), CASES, ids=[f"{c[0]} {c[1]}" for c in CASES]
)
def test_roles_over_http(
    world: World, method: str, path: str, kw: dict[str, Any], statuses: list[int]
) -> None:
    path = path.replace("/orgs/1", f"/orgs/{world.a.id}")
    for user, expected in zip(USERS, statuses, strict=True):
        if method != "GET":
            kw = {**kw}
            if "json" in kw and isinstance(kw["json"], dict) and "code" in kw["json"]:
                kw["json"] = {**kw["json"], "code": f"N-{user}"}
        r = world.client.request(method, V1 + path, headers=world.auth(user), **kw)
        if expected >= 400:
            assert_error(r, expected, "forbidden")
        else:
            assert r.status_code == expected, (user, r.text)


def test_supplier_sees_only_shared_characteristics(world: World) -> None:
    h = world.auth("sam")
    listed = world.client.get(f"{V1}/characteristics", headers=h).json()
    assert [c["code"] for c in listed["items"]] == ["BORE-D"] and listed["total"] == 1
    runout = str(world.a.chars["RUNOUT"])
    for ref in ("RUNOUT", runout, "code:RUNOUT"):
        for suffix in ("", "/measurements", "/series"):
            assert_error(world.client.get(f"{V1}/characteristics/{ref}{suffix}", headers=h), 404)
        r = world.client.post(
            f"{V1}/characteristics/{ref}/measurements",
            json=[{"ts": "2025-01-01", "value": 1.0}],
            headers=h,
        )
        assert_error(r, 404)
    assert (
        world.client.get(f"{V1}/characteristics/BORE-D/measurements", headers=h).json()["total"]
        == 20
    )
    text = b"characteristic,ts,value\nBORE-D,2025-01-01,1\nRUNOUT,2025-01-01,1\n"
    r = world.client.post(
        f"{V1}/measurements/csv", files={"file": ("m.csv", text, "text/csv")}, headers=h
    )
    error = assert_error(r, 422)
    assert [(p["row"], p["code"]) for p in error["problems"]] == [(3, "unknown_characteristic")]
    # a read-only token of the supplier reads but does not write
    read = {"Authorization": f"Bearer {world.token('sam', ['read'])}"}
    assert world.client.get(f"{V1}/characteristics/BORE-D", headers=read).status_code == 200
    r = world.client.post(
        f"{V1}/characteristics/BORE-D/measurements",
        json=[{"ts": "2025-01-01", "value": 1.0}],
        headers=read,
    )
    assert_error(r, 403, "scope")
    # the supplier does not change specifications of shared characteristics
    r = world.client.patch(f"{V1}/characteristics/BORE-D", json={"usl": 11}, headers=h)
    assert_error(r, 403, "forbidden")


def test_assessor_sees_no_master_data(world: World) -> None:
    h = world.auth("ada")
    for path in ("/characteristics", "/characteristics/BORE-D", "/products", "/steps"):
        assert_error(world.client.get(V1 + path, headers=h), 403, "forbidden")


# ------------------------------------------------------------------------------ organizations
def test_only_superusers_create_organizations(world: World) -> None:
    body = {
        "code": "gamma-auto",
        "name": "Gamma Auto Parts",
        "credit_code": "91350100M000100Y43",
        "industry_code": "c3670",
        "region_code": "320500",
    }
    assert_error(
        world.client.post(f"{V1}/orgs", json=body, headers=world.auth("alice")),
        403,
        "not_superuser",
    )
    r = world.client.post(f"{V1}/orgs", json=body, headers=world.auth("root"))
    assert r.status_code == 201, r.text
    assert r.json()["role"] == "admin" and r.json()["industry_code"] == "C3670"
    assert_error(world.client.post(f"{V1}/orgs", json=body, headers=world.auth("root")), 409)
    for bad in ({"credit_code": "91350100M000100Y44"}, {"code": "Bad Code"}, {"region_code": "12"}):
        r = world.client.post(
            f"{V1}/orgs", json={**body, "code": "delta", **bad}, headers=world.auth("root")
        )
        assert_error(r, 422)
    client = world.login("root", org="gamma-auto")
    assert client.get(f"{V1}/auth/me").json()["role"] == "admin"


def test_update_organization(world: World) -> None:
    h = world.auth("alice")
    r = world.client.patch(
        f"{V1}/orgs/{world.a.id}",
        json={"name": "Acme Precision", "region_code": "320500"},
        headers=h,
    )
    assert r.status_code == 200 and r.json()["name"] == "Acme Precision"
    r = world.client.patch(f"{V1}/orgs/{world.a.id}", json={"code": "beta"}, headers=h)
    assert_error(r, 409, "code_taken")
    r = world.client.patch(f"{V1}/orgs/{world.a.id}", json={"region_code": None}, headers=h)
    assert r.json()["region_code"] is None
    # carol is admin of beta but works in acme with her token
    r = world.client.patch(
        f"{V1}/orgs/{world.b.id}", json={"name": "x"}, headers=world.auth("carol")
    )
    assert_error(r, 403, "other_org")


# -------------------------------------------------------------------------------- memberships
def test_users_and_memberships(world: World) -> None:
    h = world.auth("alice")
    r = world.client.post(
        f"{V1}/users",
        json={"username": "Zhang.San", "password": "long enough", "role": "quality_engineer",
              "display_name": "张三"},
        headers=h,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json()["user"]["username"] == "zhang.san" and r.json()["role"] == "quality_engineer"
    member_id = r.json()["id"]
    again = {"username": "zhang.san", "password": "long enough", "role": "viewer"}
    assert_error(world.client.post(f"{V1}/users", json=again, headers=h), 409, "username_taken")
    for bad in ({"username": "a b"}, {"password": "short"}, {"role": "king"}):
        r = world.client.post(f"{V1}/users", json={**again, "username": "li", **bad}, headers=h)
        assert_error(r, 422)
    r = world.client.patch(f"{V1}/memberships/{member_id}", json={"role": "viewer"}, headers=h)
    assert r.status_code == 200 and r.json()["role"] == "viewer"
    page = world.client.get(f"{V1}/users", headers=h, params={"limit": 3}).json()
    assert page["total"] == 9 and len(page["items"]) == 3
    assert [m["user"]["username"] for m in page["items"]] == ["ada", "alice", "carol"]
    r = world.client.post(
        f"{V1}/memberships", json={"username": "bob", "role": "supplier"}, headers=h
    )
    assert r.status_code == 201
    r = world.client.post(
        f"{V1}/memberships", json={"username": "bob", "role": "viewer"}, headers=h
    )
    assert_error(r, 409, "member_already")
    r = world.client.post(
        f"{V1}/memberships", json={"username": "nobody", "role": "viewer"}, headers=h
    )
    assert_error(r, 404)
    assert world.client.delete(f"{V1}/memberships/{member_id}", headers=h).status_code == 204


def test_the_last_admin_stays(world: World) -> None:
    h = world.auth("alice")
    admin = world.a.admin_membership_id
    r = world.client.patch(f"{V1}/memberships/{admin}", json={"role": "viewer"}, headers=h)
    assert_error(r, 409, "last_admin")
    assert_error(world.client.delete(f"{V1}/memberships/{admin}", headers=h), 409, "last_admin")
    members = world.client.get(f"{V1}/users", headers=h).json()["items"]
    quinn = next(m["id"] for m in members if m["user"]["username"] == "quinn")
    world.client.patch(f"{V1}/memberships/{quinn}", json={"role": "admin"}, headers=h)
    r = world.client.patch(f"{V1}/memberships/{admin}", json={"role": "viewer"}, headers=h)
    assert r.status_code == 200
