"""Organization A cannot read or change organization B's data, by any route.

:data:`SWEEP` has one attack per route of the app: org A's admin (alice, the widest rights in A)
guesses B's ids, puts B's codes in paths and bodies and forges filters (``?org_id=``). Reads of B's
objects must be 404 exactly like missing ones (never 403), lists must hold none of B's rows, and
after every attack a checksum of all of B's rows is unchanged. Probes run with alice's API token
and with her login session. :func:`test_every_route_is_in_the_sweep` fails when a route is added
without an attack here.

For the routes of frozen limits and assessments B first gets something to find (:func:`seed_b`):
active frozen limits on both its characteristics, a draft of 2024 with an evidence file, and a
self-declared assessment of 2023 shared with ada, the assessor of A.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from apitools import XHR, TestClient, World, assert_error, char_count, org_state
from fastapi.routing import APIRoute
from sqlalchemy import select

from zhuoyue.api import ApiSettings, create_app
from zhuoyue.services import assessments, views
from zhuoyue.store.engine import transaction
from zhuoyue.store.models import Assessment, AssessmentEvidence, AssessmentShare

V1 = "/api/v1"


class Attacker:
    """Alice of org A, by token and by session."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.token = world.auth("alice")
        self.session = world.login("alice")
        #: B's rows made by :func:`seed_b`: draft, declared (assessment ids), evidence (id)
        self.b_rows: dict[str, int] = {}

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


# ---------------------------------------------------------------- computed views, assessments
def seed_b(world: World) -> dict[str, int]:
    """Frozen limits, a draft with evidence and a declared assessment (shared with ada) in B."""
    bob = world.user_ids["bob"]
    with transaction(world.engine) as s:
        for cid in world.b.chars.values():
            views.freeze_limits(s, world.b.id, cid, user_id=bob, reason="B's own study")
        draft = assessments.save_draft(s, world.b.id, 2024, {"leadership": 3}, bob)["id"]
        evidence = assessments.add_evidence(
            s, world.b.id, draft, "leadership", "b.pdf", "application/pdf", b"%PDF b", bob
        )["id"]
        declared = Assessment(
            org_id=world.b.id,
            year=2023,
            model_id="miit-249-2023/zhuoyue-v1",
            model_version="1.0.0",
            status="self_declared",
            answers={"leadership": {"level": 3, "evidence": [], "respondent": None}},
            result={"level": 1},
            level=1,
            declared_at=datetime(2024, 1, 15, tzinfo=UTC),
            declared_by=bob,
        )
        s.add(declared)
        s.flush()
        s.add(AssessmentShare(assessment_id=declared.id, user_id=world.user_ids["ada"]))
    return {"draft": draft, "declared": declared.id, "evidence": evidence}


def b_files(world: World) -> str:
    """A checksum of B's evidence files and assessment shares (tables without an org_id)."""
    digest = hashlib.sha256()
    with world.engine.connect() as conn:
        ids = select(Assessment.id).where(Assessment.org_id == world.b.id)
        for table in (AssessmentEvidence.__table__, AssessmentShare.__table__):
            rows = conn.execute(
                select(table)
                .where(table.c.assessment_id.in_(ids))
                .order_by(*table.primary_key.columns)
            )
            for row in rows:
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def _view(view: str) -> Callable[[Attacker], None]:
    def attack(a: Attacker) -> None:
        for ref in a.refs_of_b("characteristics"):
            a.both("GET", f"/characteristics/{ref}/{view}", 404, params=FORGED)
        # a code both have is A's own
        r = a.once("GET", f"/characteristics/BORE-D/{view}", 200, params=FORGED)
        body = r.json()
        if view == "limits":
            assert body == []  # B's frozen limits are not A's
        else:
            assert body["characteristic"]["id"] == a.world.a.chars["BORE-D"]
            assert body["mean"] < 10.02 if view == "capability" else body["center"] < 10.02

    return attack


def freeze(a: Attacker) -> None:
    for ref in a.refs_of_b("characteristics"):
        a.both("POST", f"/characteristics/{ref}/limits", 404, json={"reason": "pwned"})
    body = {"reason": "A's study", "org_id": a.world.b.id}
    a.once("POST", "/characteristics/BORE-D/limits", 422, json=body)
    r = a.once("POST", "/characteristics/BORE-D/limits", 201, json={"reason": "A's study"})
    assert r.json()["characteristic_id"] == a.world.a.chars["BORE-D"]


def unfreeze(a: Attacker) -> None:
    for ref in a.refs_of_b("characteristics"):
        a.both("DELETE", f"/characteristics/{ref}/limits", 404, params={"reason": "pwned"})
    # A's BORE-D has no frozen limits (B's has): nothing to unfreeze
    a.once("DELETE", "/characteristics/BORE-D/limits", 409, params={"reason": "x", **FORGED})


def overview(a: Attacker) -> None:
    b_ids = set(a.world.b.chars.values())
    for params in (FORGED, {**FORGED, "step": "OP10"}, {"product": "P-beta"}):
        for r in a.both("GET", "/overview/characteristics", 200, params=params):
            assert not _ids(r) & b_ids
    r = a.once("GET", "/overview/characteristics", 200, params=FORGED)
    assert {i["code"] for i in r.json()["items"]} == {"BORE-D", "RUNOUT", "1001"}


def kpis(a: Attacker) -> None:
    for r in a.both("GET", "/kpis", 200, params={**FORGED, "year": 2024}):
        assert r.json()["org_id"] == a.world.a.id


def list_assessments(a: Attacker) -> None:
    theirs = {a.b_rows["draft"], a.b_rows["declared"]}
    for params in (FORGED, {**FORGED, "year": 2023}):
        for r in a.both("GET", "/assessments", 200, params=params):
            assert not _ids(r) & theirs
    # not even for an assessor B shared a declaration with
    r = a.world.client.get(V1 + "/assessments", headers=a.world.auth("ada"), params=FORGED)
    assert r.status_code == 200 and not _ids(r) & theirs


def compute(a: Attacker) -> None:
    a.once("POST", "/assessments/compute", 422, json={"year": 2024, "org_id": a.world.b.id})
    for r in a.both("POST", "/assessments/compute", 200, json={"year": 2024}, params=FORGED):
        assert r.json()["enterprise"]["name"] == "Acme"


def save_draft(a: Attacker) -> None:
    body = {"answers": {"leadership": 5}}
    a.once("PUT", "/assessments/2024/draft", 422, json={**body, "org_id": a.world.b.id})
    a.once("PUT", "/assessments/2024/draft", 422, json={**body, "assessment_id": a.b_rows["draft"]})
    r = a.once("PUT", "/assessments/2024/draft", 200, json=body, params=FORGED)
    assert r.json()["org_id"] == a.world.a.id and r.json()["id"] != a.b_rows["draft"]


def get_assessment(a: Attacker) -> None:
    for aid in (a.b_rows["draft"], a.b_rows["declared"]):
        a.both("GET", f"/assessments/{aid}", 404)
    r = a.world.client.get(f"{V1}/assessments/{a.b_rows['declared']}", headers=a.world.auth("ada"))
    assert_error(r, 404)


def declare(a: Attacker) -> None:
    a.both("POST", f"/assessments/{a.b_rows['draft']}/declare", 404)


def verify(a: Attacker) -> None:
    # B shared its declaration with ada, but she works in A: not found
    r = a.world.client.post(
        f"{V1}/assessments/{a.b_rows['declared']}/verify", headers=a.world.auth("ada")
    )
    assert_error(r, 404)
    a.both("POST", f"/assessments/{a.b_rows['declared']}/verify", 403)  # alice never verifies


def list_assessment_shares(a: Attacker) -> None:
    for aid in (a.b_rows["draft"], a.b_rows["declared"]):
        a.both("GET", f"/assessments/{aid}/shares", 404)


def share_assessment(a: Attacker) -> None:
    ada = a.world.user_ids["ada"]
    for aid in (a.b_rows["draft"], a.b_rows["declared"]):
        a.both("POST", f"/assessments/{aid}/shares", 404, json={"user": "ada"})
        a.both("POST", f"/assessments/{aid}/shares", 404, json={"user": ada})
    # B's people are not assessors of A
    own = _own_draft(a)
    a.once("POST", f"/assessments/{own}/shares", 422, json={"user": "bob"})
    a.once("POST", f"/assessments/{own}/shares", 422, json={"user": a.world.user_ids["bob"]})


def unshare_assessment(a: Attacker) -> None:
    ada = a.world.user_ids["ada"]
    for aid in (a.b_rows["draft"], a.b_rows["declared"]):  # B's declaration is shared with ada
        a.both("DELETE", f"/assessments/{aid}/shares/{ada}", 404)


def declaration_pdf(a: Attacker) -> None:
    for aid in (a.b_rows["draft"], a.b_rows["declared"]):
        a.both("GET", f"/assessments/{aid}/declaration.pdf", 404)
    path = f"{V1}/assessments/{a.b_rows['declared']}/declaration.pdf"
    assert_error(a.world.client.get(path, headers=a.world.auth("ada")), 404)


def _own_draft(a: Attacker) -> int:
    r = a.once("PUT", "/assessments/2024/draft", 200, json={"answers": {"leadership": 2}})
    return int(r.json()["id"])


def add_evidence(a: Attacker) -> None:
    files = {"file": ("x.pdf", b"%PDF pwned", "application/pdf")}
    data = {"indicator_id": "leadership"}
    a.both("POST", f"/assessments/{a.b_rows['draft']}/evidence", 404, files=files, data=data)
    own = _own_draft(a)
    data = {"indicator_id": "leadership", "assessment_id": str(a.b_rows["draft"])}
    r = a.once("POST", f"/assessments/{own}/evidence", 201, files=files, data=data)
    assert r.json()["assessment_id"] == own


def list_evidence(a: Attacker) -> None:
    for aid in (a.b_rows["draft"], a.b_rows["declared"]):
        a.both("GET", f"/assessments/{aid}/evidence", 404)


def download_evidence(a: Attacker) -> None:
    eid = a.b_rows["evidence"]
    a.both("GET", f"/assessments/{a.b_rows['draft']}/evidence/{eid}", 404)
    a.both("GET", f"/assessments/{_own_draft(a)}/evidence/{eid}", 404)  # B's file, A's id


def delete_evidence(a: Attacker) -> None:
    eid = a.b_rows["evidence"]
    a.both("DELETE", f"/assessments/{a.b_rows['draft']}/evidence/{eid}", 404)
    a.both("DELETE", f"/assessments/{_own_draft(a)}/evidence/{eid}", 404)


def _zip(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    return buf.getvalue()


def imports(a: Attacker) -> None:
    # B's characteristics are unknown to A's imports
    meas = _zip({"measurements.csv": "characteristic,ts,value\nONLY-B,2024-05-01 08:00,1\n"})
    files = {"file": ("m.zip", meas, "application/zip")}
    error = assert_error(a.once("POST", "/imports", 422, files=files, data=FORGED), 422)
    assert {p["code"] for p in error["problems"]} == {"unknown_characteristic"}
    # a file naming B's codes creates A's own rows; forged form fields change nothing
    chars = _zip({"characteristics.csv": "code,step,key\nONLY-B,OP10,false\n"})
    files = {"file": ("c.zip", chars, "application/zip")}
    r = a.once("POST", "/imports", 200, files=files, data=FORGED)
    assert (r.json()["org"], r.json()["org_id"]) == ("acme", a.world.a.id)
    assert r.json()["tables"]["characteristics"]["inserted"] == 1


def seed_b_monitoring(world: World) -> dict[str, int]:
    """An open alarm, a dead letter and a notification channel of B."""
    from zhuoyue.ingest.messages import Rejected
    from zhuoyue.services import alarms as alarm_service
    from zhuoyue.services.monitoring import _dead_letters
    from zhuoyue.store.models import Characteristic, DeadLetter, NotificationChannel

    with transaction(world.engine) as s:
        char = s.get(Characteristic, world.b.chars["BORE-D"])
        assert char is not None
        signal = alarm_service.Signal("rule", datetime(2024, 3, 1, tzinfo=UTC), panel="xbar",
                                      test=1, description_zh="b", description_en="b")  # fmt: skip
        (alarm,) = alarm_service.record_signals(s, char, [signal])
        _dead_letters(s, [Rejected("mqtt", "bad_json", "B's", "zhuoyue/beta/BORE-D", "{")],
                      {"beta": world.b.id})  # fmt: skip
        channel = NotificationChannel(org_id=world.b.id, kind="email", target="q@beta.example")
        s.add(channel)
        s.flush()
        letter = s.scalar(select(DeadLetter.id).where(DeadLetter.org_id == world.b.id))
        return {"alarm": alarm.id, "letter": int(letter or 0), "channel": channel.id}


def list_alarms(a: Attacker) -> None:
    b = a.b_rows
    for params in (FORGED, {"characteristic": "BORE-D"}, {"status": "open"}):
        for r in a.both("GET", "/alarms", 200, params=params):
            assert b["alarm"] not in _ids(r)
    for ref in [*a.refs_of_b("characteristics")[:1], "ONLY-B"]:
        a.both("GET", "/alarms", 404, params={"characteristic": ref})


def alarm_suggestions(a: Attacker) -> None:
    for r in a.both("GET", "/alarms/suggestions", 200, params=FORGED):
        assert r.json() == []


def get_alarm(a: Attacker) -> None:
    b = a.b_rows
    a.both("GET", f"/alarms/{b['alarm']}", 404, params=FORGED)


def acknowledge_alarm(a: Attacker) -> None:
    b = a.b_rows
    body = {"assignable_cause": "x", "corrective_action": "y"}
    a.both("POST", f"/alarms/{b['alarm']}/acknowledge", 404, json=body, params=FORGED)


def dead_letters(a: Attacker) -> None:
    b = a.b_rows
    for r in a.both("GET", "/dead-letters", 200, params=FORGED):
        assert b["letter"] not in _ids(r)


def list_channels(a: Attacker) -> None:
    b = a.b_rows
    for r in a.both("GET", "/notification-channels", 200, params=FORGED):
        assert b["channel"] not in {c["id"] for c in r.json()}


def add_channel(a: Attacker) -> None:
    body = {"kind": "webhook", "target": "https://a.example/h", "org_id": a.world.b.id}
    r = a.once("POST", "/notification-channels", 201, json=body, params=FORGED)
    assert r.json()["target"] == "https://a.example/h"  # A's own, never B's


def remove_channel(a: Attacker) -> None:
    b = a.b_rows
    a.both("DELETE", f"/notification-channels/{b['channel']}", 404, params=FORGED)


def feed(a: Attacker) -> None:
    before = char_count(a.world.engine, a.world.b.chars["BORE-D"])
    items = [
        {"characteristic": ref, "ts": "2024-03-01T00:00:00Z", "value": 10.0, "org": "beta"}
        for ref in ("ONLY-B", "code:ONLY-B", str(a.world.b.chars["BORE-D"]))
    ]
    r = a.once("POST", "/feed", 200, json=items, params=FORGED)
    assert [p["reason"] for p in r.json()["problems"]] == ["unknown_characteristic"] * 3
    # BORE-D by code is A's own characteristic
    body = [{"characteristic": "BORE-D", "ts": "2024-03-01T00:00:00Z", "value": 10.0}]
    assert a.once("POST", "/feed", 200, json=body, params=FORGED).json()["stored"] == 1
    assert char_count(a.world.engine, a.world.b.chars["BORE-D"]) == before


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
    ("GET", V1 + "/characteristics/{ref}/chart"): _view("chart"),
    ("GET", V1 + "/characteristics/{ref}/capability"): _view("capability"),
    ("GET", V1 + "/characteristics/{ref}/limits"): _view("limits"),
    ("POST", V1 + "/characteristics/{ref}/limits"): freeze,
    ("DELETE", V1 + "/characteristics/{ref}/limits"): unfreeze,
    ("GET", V1 + "/overview/characteristics"): overview,
    ("GET", V1 + "/kpis"): kpis,
    ("GET", V1 + "/assessments"): list_assessments,
    ("POST", V1 + "/assessments/compute"): compute,
    ("PUT", V1 + "/assessments/{year}/draft"): save_draft,
    ("GET", V1 + "/assessments/{assessment_id}"): get_assessment,
    ("POST", V1 + "/assessments/{assessment_id}/declare"): declare,
    ("POST", V1 + "/assessments/{assessment_id}/verify"): verify,
    ("GET", V1 + "/assessments/{assessment_id}/declaration.pdf"): declaration_pdf,
    ("GET", V1 + "/assessments/{assessment_id}/shares"): list_assessment_shares,
    ("POST", V1 + "/assessments/{assessment_id}/shares"): share_assessment,
    ("DELETE", V1 + "/assessments/{assessment_id}/shares/{user_id}"): unshare_assessment,
    ("POST", V1 + "/assessments/{assessment_id}/evidence"): add_evidence,
    ("GET", V1 + "/assessments/{assessment_id}/evidence"): list_evidence,
    ("GET", V1 + "/assessments/{assessment_id}/evidence/{evidence_id}"): download_evidence,
    ("DELETE", V1 + "/assessments/{assessment_id}/evidence/{evidence_id}"): delete_evidence,
    ("POST", V1 + "/imports"): imports,
    ("GET", V1 + "/alarms"): list_alarms,
    ("GET", V1 + "/alarms/suggestions"): alarm_suggestions,
    ("GET", V1 + "/alarms/{alarm_id}"): get_alarm,
    ("POST", V1 + "/alarms/{alarm_id}/acknowledge"): acknowledge_alarm,
    ("GET", V1 + "/dead-letters"): dead_letters,
    ("GET", V1 + "/notification-channels"): list_channels,
    ("POST", V1 + "/notification-channels"): add_channel,
    ("DELETE", V1 + "/notification-channels/{channel_id}"): remove_channel,
    ("POST", V1 + "/feed"): feed,
}
#: routes whose attacks need B's rows of :func:`seed_b`
SEEDED = {route for route in SWEEP if "/assessments" in route[1] or route[1].endswith("/limits")}
#: routes whose attacks need B's alarm, dead letter and channel (:func:`seed_b_monitoring`)
SEEDED_MONITORING = {
    route
    for route in SWEEP
    if any(p in route[1] for p in ("/alarms", "/dead-letters", "/notification-channels"))
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
    if route in SEEDED:
        attacker.b_rows = seed_b(world)
    if route in SEEDED_MONITORING:
        attacker.b_rows = seed_b_monitoring(world)
    before = org_state(world.engine, world.b.id), b_files(world)
    SWEEP[route](attacker)
    assert (org_state(world.engine, world.b.id), b_files(world)) == before
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
