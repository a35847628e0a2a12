"""Login sessions, CSRF, API tokens and their failures (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from apitools import PASSWORD, XHR, TestClient, World, assert_error, past, set_column
from argon2 import PasswordHasher
from sqlalchemy import select

from zhuoyue.services import accounts
from zhuoyue.store.engine import transaction
from zhuoyue.store.models import ApiToken, AuditLog, Membership, UserAccount, UserSession

ME = "/api/v1/auth/me"
LOGIN = "/api/v1/auth/login"


# ------------------------------------------------------------------------------------- login
def test_login_sets_an_httponly_lax_cookie_and_returns_user_and_orgs(world: World) -> None:
    client = TestClient(world.client.app)
    r = client.post(LOGIN, json={"username": "carol", "password": PASSWORD}, headers=XHR)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user"]["username"] == "carol"
    assert body["org"]["code"] == "acme"  # the first organization by code
    assert body["role"] == "viewer" and body["via"] == "session"
    assert {(o["code"], o["role"]) for o in body["orgs"]} == {("acme", "viewer"), ("beta", "admin")}
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("zhuoyue_session=")
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower() and "Path=/" in cookie
    assert "secure" not in cookie.lower()  # plain http in the test client
    assert client.get(ME).json()["user"]["username"] == "carol"
    with transaction(world.engine) as s:
        stored = s.scalars(select(UserSession.token_hash)).all()
        token = client.cookies["zhuoyue_session"]
        assert accounts.hash_secret(token) in stored and token not in stored
        assert s.scalar(select(AuditLog).where(AuditLog.action == "login")) is not None


def test_login_into_a_named_organization(world: World) -> None:
    client = world.login("carol", org="beta")
    assert client.get(ME).json()["org"]["code"] == "beta"


@pytest.mark.parametrize(
    ("username", "password"),
    [("alice", "wrong password"), ("nobody", PASSWORD), ("ALICE ", "x"), ("", PASSWORD)],
)
def test_wrong_credentials_are_401_with_one_message(
    world: World, username: str, password: str
) -> None:
    r = world.client.post(LOGIN, json={"username": username, "password": password}, headers=XHR)
    if username == "":
        assert_error(r, 422, "request_validation")
        return
    error = assert_error(r, 401, "bad_credentials")
    assert error["message"] == "Wrong username or password (or the account is disabled)."
    assert "set-cookie" not in r.headers


def test_disabled_user_cannot_log_in_or_use_sessions_and_tokens(world: World) -> None:
    client = world.login("vic")
    set_column(world.engine, UserAccount, world.user_ids["vic"], is_active=False)
    assert_error(client.get(ME), 401, "disabled")
    assert_error(world.client.get(ME, headers=world.auth("vic")), 401, "bad_token")
    r = world.client.post(LOGIN, json={"username": "vic", "password": PASSWORD}, headers=XHR)
    assert_error(r, 401, "bad_credentials")


def test_login_without_csrf_header_is_refused(world: World) -> None:
    r = world.client.post(LOGIN, json={"username": "alice", "password": PASSWORD})
    assert_error(r, 403, "csrf")


def test_password_is_rehashed_when_the_parameters_change(world: World) -> None:
    with transaction(world.engine) as s:
        old = s.get(UserAccount, world.user_ids["alice"]).password_hash
    accounts.set_password_hasher(PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1))
    world.login("alice")
    with transaction(world.engine) as s:
        new = s.get(UserAccount, world.user_ids["alice"]).password_hash
    assert new != old and "m=2048,t=2" in new
    world.login("alice")  # the new hash verifies


# -------------------------------------------------------------------------------------- CSRF
def test_cookie_requests_that_change_something_need_the_csrf_header(world: World) -> None:
    client = world.login("alice")
    body = {"code": "NEW", "name": "New"}
    assert client.get("/api/v1/products").status_code == 200  # safe methods need nothing
    assert_error(client.post("/api/v1/products", json=body), 403, "csrf")
    foreign = {"Origin": "https://evil.example"}
    assert_error(client.post("/api/v1/products", json=body, headers=foreign), 403, "csrf")
    same = {"Origin": "http://testserver"}
    assert client.post("/api/v1/products", json=body, headers=same).status_code == 201
    body["code"] = "NEW2"
    assert client.post("/api/v1/products", json=body, headers=XHR).status_code == 201
    assert_error(client.delete("/api/v1/products/NEW"), 403, "csrf")
    assert_error(client.post("/api/v1/auth/logout"), 403, "csrf")


def test_a_bearer_token_needs_no_csrf_header(world: World) -> None:
    r = world.client.post("/api/v1/products", json={"code": "T1"}, headers=world.auth("alice"))
    assert r.status_code == 201


# ---------------------------------------------------------------------------------- sessions
def test_logout_ends_the_session(world: World) -> None:
    client = world.login("alice")
    token = client.cookies["zhuoyue_session"]
    r = client.post("/api/v1/auth/logout", headers=XHR)
    assert r.status_code == 204
    assert 'zhuoyue_session=""' in r.headers["set-cookie"] or "Max-Age=0" in r.headers["set-cookie"]
    stale = TestClient(world.client.app, cookies={"zhuoyue_session": token})
    assert_error(stale.get(ME), 401, "session_expired")
    # logging out without a session is fine
    assert world.client.post("/api/v1/auth/logout").status_code == 204


def test_no_credentials_is_401_with_www_authenticate(world: World) -> None:
    error = assert_error(world.client.get("/api/v1/products"), 401, "unauthenticated")
    assert "Bearer" in error["message"]


def test_expired_session_is_401(world: World) -> None:
    client = world.login("alice")
    with transaction(world.engine) as s:
        row = s.scalars(select(UserSession)).one()
        row.expires_at = past(seconds=1)
    assert_error(client.get(ME), 401, "session_expired")


def test_session_expiry_slides_but_not_beyond_the_maximum(world: World) -> None:
    client = world.login("alice")
    with transaction(world.engine) as s:
        row = s.scalars(select(UserSession)).one()
        row.last_seen_at = past(hours=2)
        row.expires_at = past(hours=-1)  # one hour left
    assert client.get(ME).status_code == 200
    with transaction(world.engine) as s:
        row = s.scalars(select(UserSession)).one()
        assert row.expires_at > past(hours=-11)  # extended to about 12 h
        row.created_at = past(days=7, seconds=-10)  # 10 s of the maximum left
        row.last_seen_at = past(hours=1)
    assert client.get(ME).status_code == 200
    with transaction(world.engine) as s:
        row = s.scalars(select(UserSession)).one()
        assert row.expires_at <= row.created_at + accounts.SESSION_MAX
        row.created_at = past(days=7, seconds=1)
    assert_error(client.get(ME), 401, "session_expired")


def test_switch_org_only_to_own_organizations(world: World) -> None:
    client = world.login("carol")
    assert client.get("/api/v1/products").json()["items"][0]["code"] == "P-acme"
    r = client.post("/api/v1/auth/switch-org", json={"org": "beta"}, headers=XHR)
    assert r.status_code == 200 and r.json()["org"]["code"] == "beta"
    assert r.json()["role"] == "admin"
    assert client.get("/api/v1/products").json()["items"][0]["code"] == "P-beta"
    r = client.post("/api/v1/auth/switch-org", json={"org": world.a.id}, headers=XHR)
    assert r.json()["org"]["code"] == "acme"
    alice = world.login("alice")
    for target in ("beta", world.b.id, "nope"):
        r = alice.post("/api/v1/auth/switch-org", json={"org": target}, headers=XHR)
        assert_error(r, 404, "not_found")
    r = world.client.post(
        "/api/v1/auth/switch-org", json={"org": "beta"}, headers=world.auth("carol")
    )
    assert_error(r, 403, "token_bound")


def test_removed_membership_falls_back_to_another_organization(world: World) -> None:
    client = world.login("carol", org="beta")
    carol_b = next(m for m in world.b.membership_ids if m != world.b.admin_membership_id)
    r = world.client.delete(f"/api/v1/memberships/{carol_b}", headers=world.auth("bob"))
    assert r.status_code == 204
    assert client.get(ME).json()["org"]["code"] == "acme"


def test_change_password_ends_other_sessions(world: World) -> None:
    one, two = world.login("eve"), world.login("eve")
    r = one.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "a new passphrase"},
        headers=XHR,
    )
    assert r.status_code == 204
    assert one.get(ME).status_code == 200
    assert_error(two.get(ME), 401, "session_expired")
    r = world.client.post(
        LOGIN, json={"username": "eve", "password": "a new passphrase"}, headers=XHR
    )
    assert r.status_code == 200
    r = one.post(
        "/api/v1/auth/password",
        json={"current_password": "wrong one", "new_password": "another passphrase"},
        headers=XHR,
    )
    assert_error(r, 401, "bad_credentials")
    r = world.client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "another passphrase"},
        headers=world.auth("eve"),
    )
    assert_error(r, 403)


# ------------------------------------------------------------------------------------ tokens
def test_token_is_shown_once_and_stored_as_a_hash(world: World) -> None:
    r = world.client.post(
        "/api/v1/tokens",
        json={"name": "cmm-3", "scopes": ["measurements:write"]},
        headers=world.auth("eve"),
    )
    assert r.status_code == 201, r.text
    body = r.json()
    plain = body["token"]
    assert plain.startswith("zy_") and len(plain) > 40 and body["prefix"] == plain[:8]
    assert body["scopes"] == ["measurements:write"]
    listed = world.client.get("/api/v1/tokens", headers=world.auth("eve")).json()
    assert all("token" not in t for t in listed["items"])
    assert {t["name"] for t in listed["items"]} == {"eve-all", "cmm-3"}  # only her own
    everyone = world.client.get("/api/v1/tokens", headers=world.auth("alice")).json()
    assert everyone["total"] == len(world.a.token_ids) + 1  # the admin sees all of acme's
    with transaction(world.engine) as s:
        token = s.get(ApiToken, body["id"])
        assert token.token_hash == accounts.hash_secret(plain)
    me = world.client.get(ME, headers={"Authorization": f"Bearer {plain}"}).json()
    assert me["via"] == "token" and me["scopes"] == ["measurements:write"]
    with transaction(world.engine) as s:
        assert s.get(ApiToken, body["id"]).last_used_at is not None


@pytest.mark.parametrize(
    ("header", "code"),
    [
        ("Bearer zy_not-a-real-token", "bad_token"),
        ("Bearer abc", "bad_token"),
        ("Basic YWxpY2U6eA==", "bad_auth_header"),
        ("Bearer", "bad_auth_header"),
    ],
)
def test_bad_tokens_are_401(world: World, header: str, code: str) -> None:
    assert_error(world.client.get(ME, headers={"Authorization": header}), 401, code)


def test_expired_and_revoked_tokens_are_401(world: World) -> None:
    plain = world.token("eve", ["read"], expires_in_days=1)
    h = {"Authorization": f"Bearer {plain}"}
    assert world.client.get(ME, headers=h).status_code == 200
    token_id = world.client.get(ME, headers=h).json()["token_id"]
    set_column(world.engine, ApiToken, token_id, expires_at=past(seconds=1))
    assert_error(world.client.get(ME, headers=h), 401, "token_expired")
    set_column(world.engine, ApiToken, token_id, expires_at=None)
    assert world.client.get(ME, headers=h).status_code == 200
    r = world.client.delete(f"/api/v1/tokens/{token_id}", headers=world.auth("eve"))
    assert r.status_code == 204
    assert_error(world.client.get(ME, headers=h), 401, "token_revoked")
    # revoking twice is fine
    r = world.client.delete(f"/api/v1/tokens/{token_id}", headers=world.auth("eve"))
    assert r.status_code == 204


def test_only_the_owner_or_an_admin_revokes_a_token(world: World) -> None:
    plain = world.token("eve", ["read"])
    token_id = world.client.get(ME, headers={"Authorization": f"Bearer {plain}"}).json()["token_id"]
    assert_error(world.client.delete(f"/api/v1/tokens/{token_id}", headers=world.auth("vic")), 404)
    r = world.client.delete(f"/api/v1/tokens/{token_id}", headers=world.auth("alice"))
    assert r.status_code == 204


def test_scope_too_narrow_is_403(world: World) -> None:
    read_only = {"Authorization": f"Bearer {world.token('alice', ['read'])}"}
    assert world.client.get("/api/v1/products", headers=read_only).status_code == 200
    error = assert_error(
        world.client.post("/api/v1/products", json={"code": "X"}, headers=read_only), 403, "scope"
    )
    assert "write" in error["message"]
    machine = {"Authorization": f"Bearer {world.token('eve', ['measurements:write'])}"}
    rows = [{"ts": "2025-01-01T00:00:00Z", "value": 10.0}]
    r = world.client.post("/api/v1/characteristics/BORE-D/measurements", json=rows, headers=machine)
    assert r.status_code == 200, r.text
    assert_error(world.client.get("/api/v1/characteristics", headers=machine), 403, "scope")
    assert_error(
        world.client.post("/api/v1/steps", json={"code": "OP20"}, headers=machine), 403, "scope"
    )
    # a token without the admin scope cannot make tokens
    r = world.client.post(
        "/api/v1/tokens", json={"name": "x", "scopes": ["read"]}, headers=read_only
    )
    assert_error(r, 403, "scope")


def test_token_scopes_are_checked_when_created(world: World) -> None:
    def create(user: str, scopes: list[str], auth: dict[str, str] | None = None) -> object:
        return world.client.post(
            "/api/v1/tokens",
            json={"name": "x", "scopes": scopes},
            headers=auth or world.auth(user),
        )

    assert_error(create("vic", ["write"]), 422, "scope")  # grants nothing to a viewer
    assert_error(create("vic", ["nonsense"]), 422, "request_validation")
    assert_error(create("vic", []), 422, "request_validation")
    assert create("vic", ["read"]).status_code == 201
    assert create("sam", ["measurements:write"]).status_code == 201
    # a token creates tokens only with its own scopes
    narrow = {"Authorization": f"Bearer {world.token('alice', ['admin', 'read'])}"}
    assert create("alice", ["read"], narrow).status_code == 201
    assert create("alice", ["admin"], narrow).status_code == 201
    limited = {"Authorization": f"Bearer {world.token('alice', ['read'])}"}
    assert_error(create("alice", ["read"], limited), 403, "scope")


def test_token_of_a_removed_member_stops_working(world: World) -> None:
    members = world.client.get("/api/v1/users", headers=world.auth("alice")).json()["items"]
    eve = next(m for m in members if m["user"]["username"] == "eve")
    r = world.client.delete(f"/api/v1/memberships/{eve['id']}", headers=world.auth("alice"))
    assert r.status_code == 204
    assert_error(world.client.get(ME, headers=world.auth("eve")), 401)
    with transaction(world.engine) as s:
        assert s.scalar(
            select(ApiToken.revoked_at).where(ApiToken.user_id == world.user_ids["eve"])
        )
        assert not s.scalars(
            select(Membership).where(Membership.user_id == world.user_ids["eve"])
        ).all()


def test_expiry_of_a_new_token(world: World) -> None:
    r = world.client.post(
        "/api/v1/tokens",
        json={"name": "forever", "scopes": ["read"], "expires_in_days": None},
        headers=world.auth("alice"),
    )
    assert r.status_code == 201 and r.json()["expires_at"] is None
    r = world.client.post(
        "/api/v1/tokens", json={"name": "d", "scopes": ["read"]}, headers=world.auth("alice")
    )
    body = r.json()
    assert body["expires_at"] is not None
    assert_error(
        world.client.post(
            "/api/v1/tokens",
            json={"name": "d", "scopes": ["read"], "expires_in_days": 0},
            headers=world.auth("alice"),
        ),
        422,
    )
