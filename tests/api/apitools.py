"""Helpers of the API tests: the two-organization world, error-shape and table-state checks."""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Engine, func, select, text

from zhuoyue.api import ApiSettings, create_app
from zhuoyue.services import accounts, masterdata
from zhuoyue.services.accounts import Principal
from zhuoyue.store import bulk
from zhuoyue.store.engine import make_engine, transaction
from zhuoyue.store.models import Base, Measurement, Membership, Organization

with warnings.catch_warnings():
    # starlette asks for httpx2; the httpx test client works and is what FastAPI documents
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PASSWORD = "correct horse battery"
#: X-Requested-With for cookie requests that change something
XHR = {"X-Requested-With": "fetch"}

ROLES_A = {
    "alice": "admin",
    "quinn": "quality_manager",
    "eve": "quality_engineer",
    "vic": "viewer",
    "sam": "supplier",
    "ada": "assessor",
    "carol": "viewer",
}


@dataclass
class Org:
    id: int
    code: str
    product_id: int
    step_id: int
    #: code -> id
    chars: dict[str, int]
    admin_membership_id: int = 0
    token_ids: list[int] = field(default_factory=list)
    membership_ids: list[int] = field(default_factory=list)


@dataclass
class World:
    """Two organizations with data, on one app."""

    url: str
    engine: Engine
    client: TestClient
    a: Org
    b: Org
    #: username -> token (admin scope) in the user's first organization
    tokens: dict[str, str]
    user_ids: dict[str, int]

    def auth(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[username]}"}

    def token(self, username: str, scopes: list[str], *, org: str = "acme", **kw: Any) -> str:
        """A new token of ``username`` in ``org`` with ``scopes``."""
        with transaction(self.engine) as s:
            plain, _ = accounts.create_token(
                s, principal(s, username, org), name="t", scopes=scopes, **kw
            )
        return plain

    def login(self, username: str, org: str | None = None) -> TestClient:
        """A fresh client with a login session cookie."""
        client = TestClient(self.client.app)
        body: dict[str, Any] = {"username": username, "password": PASSWORD}
        if org is not None:
            body["org"] = org
        r = client.post("/api/v1/auth/login", json=body, headers=XHR)
        assert r.status_code == 200, r.text
        return client

    def state(self) -> dict[str, Any]:
        """Row counts of every table and a checksum of the measurement table."""
        return table_state(self.engine)


def principal(session: Any, username: str, org_code: str) -> Principal:
    user_id = session.scalar(
        text("SELECT id FROM user_account WHERE username = :u"), {"u": username}
    )
    org = session.scalar(select(Organization).where(Organization.code == org_code))
    role = session.scalar(
        select(Membership.role).where(Membership.user_id == user_id, Membership.org_id == org.id)
    )
    return Principal(
        user_id=user_id, username=username, org_id=org.id, org_code=org.code, role=role
    )


def table_state(engine: Engine) -> dict[str, Any]:
    """Row counts of every table and a checksum of the measurement table (for 'nothing changed')."""
    out: dict[str, Any] = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            out[table.name] = conn.scalar(select(func.count()).select_from(table))
        digest = hashlib.sha256()
        for row in conn.execute(select(Measurement.__table__).order_by(Measurement.id)):
            digest.update(repr(tuple(row)).encode())
        out["measurement_sha256"] = digest.hexdigest()
    return out


def seed_org(session: Any, code: str, admin: str, chars: list[str]) -> Org:
    org, _ = accounts.bootstrap(
        session, org_code=code, org_name=code.title(), username=admin, password=PASSWORD
    )
    p = principal(session, admin, code)
    product = masterdata.create_product(session, p, {"code": f"P-{code}", "name": "Shaft"})
    step = masterdata.create_step(session, p, {"code": "OP10", "name": "Turning", "sequence": 10})
    ids = {}
    for c in chars:
        char = masterdata.create_characteristic(
            session,
            p,
            {"code": c, "step": "OP10", "product": product.code, "lsl": 9.9, "usl": 10.1,
             "key": c == "BORE-D", "subgroup_size": 5},
        )  # fmt: skip
        ids[c] = char.id
    admin_m = session.scalar(select(Membership.id).where(Membership.org_id == org.id))
    return Org(org.id, org.code, product.id, step.id, ids, admin_m)


def measure(engine: Engine, char_id: int, n: int, offset: float) -> None:
    start = np.datetime64("2024-03-01T00:00:00", "us")
    ts = start + np.arange(n) * np.timedelta64(60, "s")
    value = 10.0 + offset + 0.01 * np.sin(np.arange(n))
    bulk.insert_measurements(
        engine, characteristic_id=char_id, ts=ts, value=value, subgroup=np.arange(n) // 5
    )


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is an error of ``status`` in the one error shape; returns its ``error``."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "problems"}, error
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["problems"], list)
    for p in error["problems"]:
        assert {"row", "column", "value", "code", "message"} <= set(p), p
    if code is not None:
        assert error["code"] == code, error
    if status == 401:
        assert response.headers.get("www-authenticate", "").startswith("Bearer")
    return dict(error)


def set_column(engine: Engine, table: type[Any], row_id: int, **values: Any) -> None:
    """Change stored columns directly (expire a token, age a session)."""
    with transaction(engine) as s:
        obj = s.get(table, row_id)
        for k, v in values.items():
            setattr(obj, k, v)


def past(**kw: float) -> datetime:
    return datetime.now(UTC) - timedelta(**kw)


def char_count(engine: Engine, char_id: int) -> int:
    with engine.connect() as conn:
        return int(
            conn.scalar(
                select(func.count())
                .select_from(Measurement)
                .where(Measurement.characteristic_id == char_id)
            )
            or 0
        )


def org_state(engine: Engine, org_id: int) -> str:
    """A checksum of every row that belongs to one organization (for 'nothing of B changed')."""
    from zhuoyue.store.models import (
        ApiToken,
        AuditLog,
        Characteristic,
        CharacteristicShare,
        ControlLimits,
        MonitorState,
        UserAccount,
    )

    digest = hashlib.sha256()
    with engine.connect() as conn:
        chars = select(Characteristic.id).where(Characteristic.org_id == org_id)
        members = select(Membership.user_id).where(Membership.org_id == org_id)
        queries = [
            select(t).where(t.c.org_id == org_id).order_by(*t.primary_key.columns)
            for t in Base.metadata.sorted_tables
            if "org_id" in t.c and t.name not in ("audit_log", "user_session", "api_token")
        ]
        queries += [
            select(Measurement.__table__).where(Measurement.characteristic_id.in_(chars)),
            select(ControlLimits.__table__).where(ControlLimits.characteristic_id.in_(chars)),
            select(MonitorState.__table__).where(MonitorState.characteristic_id.in_(chars)),
            select(CharacteristicShare.__table__).where(
                CharacteristicShare.characteristic_id.in_(chars)
            ),
            select(UserAccount.__table__)
            .where(UserAccount.id.in_(members))
            .order_by(UserAccount.id),
            select(AuditLog.__table__)
            .where(AuditLog.org_id == org_id, AuditLog.action != "login")
            .order_by(AuditLog.id),
            select(ApiToken.revoked_at).where(ApiToken.org_id == org_id).order_by(ApiToken.id),
        ]
        for query in queries:
            for row in conn.execute(query):
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def build_world(url: str, settings: ApiSettings) -> World:
    """Seed the two organizations into the migrated database ``url``; an entered test client."""
    engine = make_engine(url)
    with transaction(engine) as s:
        a = seed_org(s, "acme", "alice", ["BORE-D", "RUNOUT", "1001"])
        b = seed_org(s, "beta", "bob", ["BORE-D", "ONLY-B"])
        for name, role in ROLES_A.items():
            if name == "alice":
                continue
            member = accounts.add_user(
                s, principal(s, "alice", "acme"), username=name, password=PASSWORD, role=role
            )
            a.membership_ids.append(member.id)
        s.add(Membership(user_id=principal(s, "carol", "acme").user_id, org_id=b.id, role="admin"))
        s.flush()
        b.membership_ids = list(s.scalars(select(Membership.id).where(Membership.org_id == b.id)))
        masterdata.share_characteristic(s, principal(s, "alice", "acme"), "BORE-D", "sam")
        accounts.create_user(s, "root", PASSWORD)
        s.add(Membership(user_id=principal(s, "root", "acme").user_id, org_id=a.id, role="viewer"))
        tokens: dict[str, str] = {}
        user_ids: dict[str, int] = {}
        for name in [*ROLES_A, "bob", "root"]:
            org = "beta" if name == "bob" else "acme"
            p = principal(s, name, org)
            plain, tok = accounts.create_token(s, p, name=f"{name}-all", scopes=["admin"])
            tokens[name] = plain
            user_ids[name] = p.user_id
            (b if name == "bob" else a).token_ids.append(tok.id)
    for org, offset in ((a, 0.0), (b, 0.05)):
        for char_id in org.chars.values():
            measure(engine, char_id, 20, offset)
    app = create_app(url, settings=settings)
    client = TestClient(app)
    client.__enter__()  # runs the app's lifespan; left by close_world
    return World(url, engine, client, a, b, tokens, user_ids)


def close_world(world: World) -> None:
    world.client.__exit__(None, None, None)
    world.engine.dispose()
