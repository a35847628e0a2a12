"""Organization A cannot read or change organization B's data, by any route.

:data:`SWEEP` has one attack per route of the app: org A's admin (alice, the widest rights in A)
guesses B's ids, puts B's codes in paths and bodies and forges filters (``?org_id=``). Reads of B's
objects must be 404 exactly like missing ones (never 403), lists must hold none of B's rows, and
after every attack a checksum of all of B's rows is unchanged. Probes run with alice's API token
and with her login session. :func:`test_every_route_is_in_the_sweep` fails when a route is added
without an attack here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from apitools import XHR, TestClient, World, assert_error, char_count, org_state
from fastapi.routing import APIRoute

from zhuoyue.api import ApiSettings, create_app

V1 = "/api/v1"


class Attacker:
    """Alice of org A, by token and by session."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.token = world.auth("alice")
        self.session = world.login("alice")

    def both(self, method: str, path: str, status: int, **kw: Any) -> list[Any]:
        """The request by token and by session cookie: both get ``status``."""
        out = []
        for client, headers in ((self.world.client, self.token), (self.session, XHR)):
            r = client.request(method, V1 + path, headers=headers, **kw)
            if status >= 400:
                assert_error(r, status)
            else:
                assert r.status_code == status, r.text
            out.append(r)
        return out

    def once(self, method: str, path: str, status: int, **kw: Any) -> Any:
        r = self.world.client.request(method, V1 + path, headers=self.token, **kw)
        if status >= 400:
            assert_error(r, status)
        else:
            assert r.status_code == status, r.text
        return r

    def refs_of_b(self, kind: str) -> list[str]:
        b = self.world.b
        if kind == "products":
            return [str(b.product_id), "P-beta", "code:P-beta"]
        if kind == "steps":
            return [str(b.step_id)]
        return [str(b.chars["ONLY-B"]), str(b.chars["BORE-D"]), "ONLY-B", "code:ONLY-B"]


FORGED = {"org_id": "2", "org": "beta", "org_code": "beta"}


def _ids(r: Any) -> set[int]:
    body = r.json()
    items = body["items"] if isinstance(body, dict) and "items" in body else body
    return {int(i["id"]) for i in items}


# ------------------------------------------------------------------------------------ attacks
def health(a: Attacker) -> None:
    r = a.world.client.get("/health")
    assert r.status_code == 200 and set(r.json()) == {"status", "database", "version"}


def login(a: Attacker) -> None:
    client = TestClient(a.world.client.app)
    for org in ("beta", a.world.b.id):
        body = {"username": "alice", "password": "correct horse battery", "org": org}
        assert_error(client.post(V1 + "/auth/login", json=body, headers=XHR), 404)


def logout(a: Attacker) -> None:
    a.once("POST", "/auth/logout", 204)
    r = a.session.post(V1 + "/auth/logout", headers=XHR)
    assert r.status_code == 204


def me(a: Attacker) -> None:
    for r in a.both("GET", "/auth/me", 200, params=FORGED):
        assert [o["code"] for o in r.json()["orgs"]] == ["acme"]
        assert r.json()["org"]["code"] == "acme"


def switch_org(a: Attacker) -> None:
    for org in ("beta", a.world.b.id, str(a.world.b.id)):
        r = a.session.post(V1 + "/auth/switch-org", json={"org": org}, headers=XHR)
        assert_error(r, 404)
    assert_error(a.once("POST", "/auth/switch-org", 403, json={"org": "beta"}), 403)


def password(a: Attacker) -> None:
    body = {"current_password": "correct horse battery", "new_password": "another phrase"}
    a.session.post(V1 + "/auth/password", json=body, headers=XHR)
    assert a.world.client.get(V1 + "/auth/me", headers=a.world.auth("bob")).status_code == 200


def list_orgs(a: Attacker) -> None:
    for r in a.both("GET", "/orgs", 200, params=FORGED):
        assert [o["code"] for o in r.json()] == ["acme"]


def create_org(a: Attacker) -> None:
    a.once("POST", "/orgs", 403, json={"code": "gamma", "name": "Gamma"})
    root = a.world.auth("root")
    r = a.world.client.post(V1 + "/orgs", json={"code": "gamma", "name": "G"}, headers=root)
    assert r.status_code == 201
    assert_error(
        a.world.client.post(V1 + "/orgs", json={"code": "beta", "name": "B"}, headers=root), 409
    )


def get_org(a: Attacker) -> None:
    a.both("GET", f"/orgs/{a.world.b.id}", 404)


def update_org(a: Attacker) -> None:
    a.both("PATCH", f"/orgs/{a.world.b.id}", 404, json={"name": "Pwned"})


def list_users(a: Attacker) -> None:
    for r in a.both("GET", "/users", 200, params=FORGED):
        names = {m["user"]["username"] for m in r.json()["items"]}
        assert "bob" not in names and "alice" in names


def create_user(a: Attacker) -> None:
    body = {"username": "mallory", "password": "long enough 1", "role": "admin"}
    a.once("POST", "/users", 422, json={**body, "org_id": a.world.b.id})
    member = a.once("POST", "/users", 201, json=body).json()
    users = a.world.client.get(V1 + "/users", headers=a.world.auth("bob")).json()["items"]
    assert "mallory" not in {m["user"]["username"] for m in users}
    assert member["role"] == "admin"


def add_membership(a: Attacker) -> None:
    # by design any admin may add an existing user to *its* organization; B is untouched
    a.once("POST", "/memberships", 201, json={"username": "bob", "role": "viewer"})
    a.once("POST", "/memberships", 422, json={"username": "bob", "role": "admin", "org_id": 2})


def update_membership(a: Attacker) -> None:
    for mid in a.world.b.membership_ids:
        a.both("PATCH", f"/memberships/{mid}", 404, json={"role": "viewer"})


def remove_membership(a: Attacker) -> None:
    for mid in a.world.b.membership_ids:
        a.both("DELETE", f"/memberships/{mid}", 404)


def list_tokens(a: Attacker) -> None:
    for r in a.both("GET", "/tokens", 200, params=FORGED):
        assert not _ids(r) & set(a.world.b.token_ids)


def create_token(a: Attacker) -> None:
    r = a.once("POST", "/tokens", 201, json={"name": "x", "scopes": ["admin"]})
    h = {"Authorization": f"Bearer {r.json()['token']}"}
    r = a.world.client.get(f"{V1}/characteristics/{a.world.b.chars['ONLY-B']}", headers=h)
    assert_error(r, 404)


def revoke_token(a: Attacker) -> None:
    for tid in a.world.b.token_ids:
        a.both("DELETE", f"/tokens/{tid}", 404)


def _list(kind: str) -> Callable[[Attacker], None]:
    def attack(a: Attacker) -> None:
        b = a.world.b
        theirs = {
            "products": {b.product_id},
            "steps": {b.step_id},
            "characteristics": set(b.chars.values()),
        }[kind]
        for r in a.both("GET", f"/{kind}", 200, params=FORGED):
            assert _ids(r) and not _ids(r) & theirs

    return attack


def _create(kind: str) -> Callable[[Attacker], None]:
    def attack(a: Attacker) -> None:
        if kind == "characteristics":
            body = {"code": "ONLY-B", "step": "OP10"}
            created = a.once("POST", "/characteristics", 201, json=body).json()
            assert created["id"] not in a.world.b.chars.values()
            body = {"code": "NEW", "step": "OP10", "product": "P-beta"}
            assert_error(a.once("POST", "/characteristics", 422, json=body), 422)
        else:
            code = "P-beta" if kind == "products" else "OP99"
            created = a.once("POST", f"/{kind}", 201, json={"code": code}).json()
            assert created["code"] == code
        a.once("POST", f"/{kind}", 422, json={"code": "Z9", "org_id": a.world.b.id})

    return attack


def _get(kind: str) -> Callable[[Attacker], None]:
    def attack(a: Attacker) -> None:
        for ref in a.refs_of_b(kind):
            a.both("GET", f"/{kind}/{ref}", 404)
        if kind == "characteristics":  # a code both have resolves to A's own
            r = a.once("GET", "/characteristics/BORE-D", 200, params=FORGED)
            assert r.json()["id"] == a.world.a.chars["BORE-D"]
        if kind == "steps":
            r = a.once("GET", "/steps/code:OP10", 200, params=FORGED)
            assert r.json()["id"] == a.world.a.step_id

    return attack


def _patch(kind: str) -> Callable[[Attacker], None]:
    def attack(a: Attacker) -> None:
        for ref in a.refs_of_b(kind):
            a.both("PATCH", f"/{kind}/{ref}", 404, json={"name": "Pwned"})

    return attack


def _delete(kind: str) -> Callable[[Attacker], None]:
    def attack(a: Attacker) -> None:
        for ref in a.refs_of_b(kind):
            a.both("DELETE", f"/{kind}/{ref}", 404, params={"force": True})

    return attack


def list_shares(a: Attacker) -> None:
    for ref in a.refs_of_b("characteristics"):
        a.both("GET", f"/characteristics/{ref}/shares", 404)


def share(a: Attacker) -> None:
    for ref in a.refs_of_b("characteristics"):
        a.both("POST", f"/characteristics/{ref}/shares", 404, json={"username": "sam"})
    # B's people are not suppliers of A
    a.once("POST", "/characteristics/RUNOUT/shares", 422, json={"username": "bob"})


def unshare(a: Attacker) -> None:
    sam, bob = a.world.user_ids["sam"], a.world.user_ids["bob"]
    for ref in a.refs_of_b("characteristics"):
        a.both("DELETE", f"/characteristics/{ref}/shares/{sam}", 404)
    a.both("DELETE", f"/characteristics/BORE-D/shares/{bob}", 404)


def add_measurements(a: Attacker) -> None:
    rows = [{"ts": "2025-01-01T00:00:00Z", "value": 1.0}]
    for ref in a.refs_of_b("characteristics"):
        a.both("POST", f"/characteristics/{ref}/measurements", 404, json=rows)
    b_bore = a.world.b.chars["BORE-D"]
    before = char_count(a.world.engine, b_bore)
    a.once("POST", "/characteristics/BORE-D/measurements", 200, json=rows, params=FORGED)
    assert char_count(a.world.engine, b_bore) == before


def upload_csv(a: Attacker) -> None:
    text = "characteristic,ts,value\nONLY-B,2025-01-01,1\n"
    files = {"file": ("m.csv", text.encode(), "text/csv")}
    error = assert_error(a.once("POST", "/measurements/csv", 422, files=files), 422)
    assert error["problems"][0]["code"] == "unknown_characteristic"
    for ref in a.refs_of_b("characteristics"):
        files = {"file": ("m.csv", b"ts,value\n2025-01-01,1\n", "text/csv")}
        a.once("POST", "/measurements/csv", 404, files=files, data={"characteristic": ref})


def list_measurements(a: Attacker) -> None:
    for ref in a.refs_of_b("characteristics"):
        a.both("GET", f"/characteristics/{ref}/measurements", 404)


def series(a: Attacker) -> None:
    for ref in a.refs_of_b("characteristics"):
        a.both("GET", f"/characteristics/{ref}/series", 404)


def audit(a: Attacker) -> None:
    b_char = str(a.world.b.chars["ONLY-B"])
    for r in a.both(
        "GET", "/audit", 200, params={**FORGED, "entity": "characteristic", "entity_id": b_char}
    ):
        assert r.json()["items"] == []
    for r in a.both("GET", "/audit", 200, params={**FORGED, "limit": 1000}):
        for entry in r.json()["items"]:
            assert entry["user_id"] != a.world.user_ids["bob"]


SWEEP: dict[tuple[str, str], Callable[[Attacker], None]] = {
    ("GET", "/health"): health,
    ("POST", V1 + "/auth/login"): login,
    ("POST", V1 + "/auth/logout"): logout,
    ("GET", V1 + "/auth/me"): me,
    ("POST", V1 + "/auth/switch-org"): switch_org,
    ("POST", V1 + "/auth/password"): password,
    ("GET", V1 + "/orgs"): list_orgs,
    ("POST", V1 + "/orgs"): create_org,
    ("GET", V1 + "/orgs/{org_id}"): get_org,
    ("PATCH", V1 + "/orgs/{org_id}"): update_org,
    ("GET", V1 + "/users"): list_users,
    ("POST", V1 + "/users"): create_user,
    ("POST", V1 + "/memberships"): add_membership,
    ("PATCH", V1 + "/memberships/{membership_id}"): update_membership,
    ("DELETE", V1 + "/memberships/{membership_id}"): remove_membership,
    ("GET", V1 + "/tokens"): list_tokens,
    ("POST", V1 + "/tokens"): create_token,
    ("DELETE", V1 + "/tokens/{token_id}"): revoke_token,
    **{
        key: attack
        for kind in ("products", "steps", "characteristics")
        for key, attack in (
            (("GET", f"{V1}/{kind}"), _list(kind)),
            (("POST", f"{V1}/{kind}"), _create(kind)),
            (("GET", f"{V1}/{kind}/{{ref}}"), _get(kind)),
            (("PATCH", f"{V1}/{kind}/{{ref}}"), _patch(kind)),
            (("DELETE", f"{V1}/{kind}/{{ref}}"), _delete(kind)),
        )
    },
    ("GET", V1 + "/characteristics/{ref}/shares"): list_shares,
    ("POST", V1 + "/characteristics/{ref}/shares"): share,
    ("DELETE", V1 + "/characteristics/{ref}/shares/{user_id}"): unshare,
    ("POST", V1 + "/characteristics/{ref}/measurements"): add_measurements,
    ("GET", V1 + "/characteristics/{ref}/measurements"): list_measurements,
    ("GET", V1 + "/characteristics/{ref}/series"): series,
    ("POST", V1 + "/measurements/csv"): upload_csv,
    ("GET", V1 + "/audit"): audit,
}


def _walk(routes: list[Any], prefix: str = "") -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for route in routes:
        if isinstance(route, APIRoute):
            out |= {(m, prefix + route.path) for m in route.methods}
        elif hasattr(route, "original_router"):  # FastAPI >= 0.16x includes routers lazily
            inner = route.include_context.prefix if hasattr(route, "include_context") else ""
            out |= _walk(route.original_router.routes, prefix + inner)
    return out


def app_routes() -> set[tuple[str, str]]:
    """(method, path) of every API route of the app, from its routes and its OpenAPI paths."""
    app = create_app("sqlite://", settings=ApiSettings())
    routes = _walk(list(app.routes))
    documented = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    assert documented <= routes  # the walk sees at least what the OpenAPI document lists
    return routes


def test_every_route_is_in_the_sweep() -> None:
    routes = app_routes()
    missing = sorted(routes - set(SWEEP))
    assert not missing, f"routes without an isolation attack in SWEEP: {missing}"
    stale = sorted(set(SWEEP) - routes)
    assert not stale, f"SWEEP names routes that do not exist: {stale}"


@pytest.mark.parametrize("route", sorted(SWEEP), ids=lambda r: f"{r[0]} {r[1]}")
def test_org_a_cannot_touch_org_b(world: World, route: tuple[str, str]) -> None:
    attacker = Attacker(world)
    before = org_state(world.engine, world.b.id)
    SWEEP[route](attacker)
    assert org_state(world.engine, world.b.id) == before
    # and B still sees its own data
    r = world.client.get(f"{V1}/characteristics/ONLY-B", headers=world.auth("bob"))
    assert r.status_code == 200


def test_a_member_of_both_sees_one_organization_at_a_time(world: World) -> None:
    carol_a = world.auth("carol")  # her token was created in acme
    for ref in (str(world.b.chars["ONLY-B"]), "ONLY-B"):
        assert_error(world.client.get(f"{V1}/characteristics/{ref}", headers=carol_a), 404)
    r = world.client.get(f"{V1}/characteristics/BORE-D", headers=carol_a)
    assert r.json()["id"] == world.a.chars["BORE-D"]
    session = world.login("carol", org="beta")
    assert session.get(f"{V1}/characteristics/BORE-D").json()["id"] == world.b.chars["BORE-D"]
    assert_error(session.get(f"{V1}/characteristics/RUNOUT"), 404)
