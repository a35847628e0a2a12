"""Self-assessments over the API (SQLite and PostgreSQL): compute equals the service, drafts,
the declaration locks, assessors verify only what is shared with them, evidence files, the PDF."""

from __future__ import annotations

from typing import Any

import pytest
from apitools import World, assert_error
from sqlalchemy import select
from sqlalchemy.orm import Session

from zhuoyue.api.schemas import json_safe
from zhuoyue.demo.factory import make_plant
from zhuoyue.services import assessments
from zhuoyue.services.importing import import_data
from zhuoyue.store.engine import transaction
from zhuoyue.store.models import AssessmentShare, AuditLog

V1 = "/api/v1"
A = f"{V1}/assessments"


@pytest.fixture
def draft(world: World) -> int:
    """Plant A of the demo factory imported into organization A: a year of data (2024) and its
    questionnaire answers, which the import stores as a draft; returns the draft's id."""
    p = make_plant("a", seed=2023, scale=0.01)
    report = import_data(world.engine, p.data(), org_code="acme", user_id=world.user_ids["eve"])
    assert report.assessment_id is not None
    return report.assessment_id


def share_with(world: World, assessment_id: int, username: str) -> None:
    with transaction(world.engine) as s:
        s.add(AssessmentShare(assessment_id=assessment_id, user_id=world.user_ids[username]))


def declared(world: World, assessment_id: int) -> dict[str, Any]:
    r = world.client.post(f"{A}/{assessment_id}/declare", headers=world.auth("quinn"))
    assert r.status_code == 200, r.text
    return dict(r.json())


# ----------------------------------------------------------------------------------- compute
def test_compute_is_a_preview_equal_to_the_service(world: World, draft: int) -> None:
    before = world.state()
    r = world.client.post(f"{A}/compute", json={"year": 2024}, headers=world.auth("vic"))
    assert r.status_code == 200, r.text
    with Session(world.engine) as s:
        want = json_safe(assessments.compute_assessment(s, world.a.id, 2024).to_dict())
    assert r.json() == want
    assert r.json()["level"] == 3 and r.json()["year"] == 2024  # plant A is 保证级
    # answers override the draft's item by item, and nothing is stored
    answers = {"leadership": 5, "quality_strategy": {"level": 1, "evidence": "手册；目标"}}
    r = world.client.post(
        f"{A}/compute", json={"year": 2024, "answers": answers}, headers=world.auth("vic")
    )
    assert r.status_code == 200, r.text
    with Session(world.engine) as s:
        outcome = assessments.compute_assessment(s, world.a.id, 2024, answers=answers)
    assert r.json() == json_safe(outcome.to_dict())
    levels = {i["id"]: i["level"] for a in r.json()["aspects"] for i in a["indicators"]}
    assert levels["quality_strategy"] == 1
    assert world.state() == before
    # a year without data computes too (every metric not computed)
    r = world.client.post(f"{A}/compute", json={"year": 2019}, headers=world.auth("vic"))
    assert r.status_code == 200 and r.json()["level"] == 1


def test_compute_errors_and_permissions(world: World) -> None:
    h = world.auth("vic")
    for body in ({}, {"year": 99}, {"year": 9999}, {"year": 2024, "answers": []}, {"x": 1}):
        assert_error(world.client.post(f"{A}/compute", json=body, headers=h), 422)
    bad = {"year": 2024, "answers": {"leadershp": 3, "leadership": 7}}
    error = assert_error(world.client.post(f"{A}/compute", json=bad, headers=h), 422)
    assert sorted(p["code"] for p in error["problems"]) == ["out_of_range", "unknown_item"]
    assert "did you mean" in error["problems"][0]["message"]
    for user in ("sam", "ada"):
        r = world.client.post(f"{A}/compute", json={"year": 2024}, headers=world.auth(user))
        assert_error(r, 403)


# ------------------------------------------------------------------------ draft and declare
def test_draft_declare_lock_and_revise(world: World, draft: int) -> None:
    page = world.client.get(A, headers=world.auth("vic")).json()
    assert [(a["id"], a["status"], a["year"]) for a in page["items"]] == [(draft, "draft", 2024)]
    assert page["total"] == 1 and page["items"][0]["answered"] > 20
    # a quality engineer fills the draft; a viewer may not; bad answers change nothing
    body = {"answers": {"leadership": {"level": 4, "evidence": ["管理评审 2024"]}}}
    r = world.client.put(f"{A}/2024/draft", json=body, headers=world.auth("eve"))
    assert r.status_code == 200, r.text
    assert r.json()["id"] == draft and r.json()["answers"]["leadership"]["level"] == 4
    assert_error(world.client.put(f"{A}/2024/draft", json=body, headers=world.auth("vic")), 403)
    before = world.state()
    bad = {"answers": {"leadership": {"level": 0}, "nope": 3}}
    error = assert_error(
        world.client.put(f"{A}/2024/draft", json=bad, headers=world.auth("eve")), 422
    )
    assert len(error["problems"]) == 2
    r = world.client.put(
        f"{A}/2024/draft", json={"answers": {"leadership": {"lvl": 3}}}, headers=world.auth("eve")
    )
    assert_error(r, 422, "request_validation")
    assert world.state() == before
    # only a quality manager or admin declares; the result is stored and the draft locked
    assert_error(world.client.post(f"{A}/{draft}/declare", headers=world.auth("eve")), 403)
    out = declared(world, draft)
    assert (out["status"], out["locked"]) == ("self_declared", True)
    assert out["declared_by"]["username"] == "quinn"
    with Session(world.engine) as s:
        level = assessments.compute_assessment(s, world.a.id, 2024).level
    assert out["level"] == out["result"]["level"] == level
    got = world.client.get(f"{A}/{draft}", headers=world.auth("vic")).json()
    assert got == out
    assert_error(world.client.post(f"{A}/{draft}/declare", headers=world.auth("quinn")), 409)
    r = world.client.put(f"{A}/2024/draft", json=body, headers=world.auth("eve"))
    assert_error(r, 409, "assessment_locked")
    # a revision starts a new draft from the declared answers
    r = world.client.put(
        f"{A}/2024/draft", json={**body, "new_draft": True}, headers=world.auth("eve")
    )
    assert r.status_code == 200, r.text
    assert r.json()["id"] != draft and r.json()["status"] == "draft"
    assert r.json()["answers"]["leadership"]["level"] == 4
    years = world.client.get(A, headers=world.auth("vic"), params={"year": 2024}).json()
    assert [a["status"] for a in years["items"]] == ["draft", "self_declared"]
    assert world.client.get(A, headers=world.auth("vic"), params={"year": 2023}).json() == {
        "items": [], "total": 0, "limit": 100, "offset": 0,
    }  # fmt: skip


def test_unknown_assessments_and_ids(world: World) -> None:
    h = world.auth("alice")
    assert_error(world.client.get(f"{A}/999999", headers=h), 404, "not_found")
    assert_error(world.client.post(f"{A}/999999/declare", headers=h), 404)
    for bad in ("0", "x", str(2**31)):
        assert_error(world.client.get(f"{A}/{bad}", headers=h), 422, "request_validation")
    assert_error(world.client.put(f"{A}/12/draft", json={"answers": {}}, headers=h), 422)


# ------------------------------------------------------------------------------- assessors
def test_assessor_sees_and_verifies_only_shared_declarations(world: World, draft: int) -> None:
    ada = world.auth("ada")
    assert world.client.get(A, headers=ada).json()["total"] == 0
    assert_error(world.client.get(f"{A}/{draft}", headers=ada), 404)
    declared(world, draft)
    assert_error(world.client.post(f"{A}/{draft}/verify", headers=ada), 404)
    share_with(world, draft, "ada")
    page = world.client.get(A, headers=ada).json()
    assert [a["id"] for a in page["items"]] == [draft]
    assert world.client.get(f"{A}/{draft}", headers=ada).json()["status"] == "self_declared"
    assert world.client.get(f"{A}/{draft}/evidence", headers=ada).json()["total"] == 0
    # the assessor reads no data, declares nothing; the organization does not verify itself
    assert_error(world.client.post(f"{A}/compute", json={"year": 2024}, headers=ada), 403)
    assert_error(world.client.post(f"{A}/{draft}/declare", headers=ada), 403)
    for user in ("alice", "quinn"):
        assert_error(world.client.post(f"{A}/{draft}/verify", headers=world.auth(user)), 403)
    r = world.client.post(f"{A}/{draft}/verify", json={"note": "现场核查\n合格"}, headers=ada)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["verified_by"]["username"]) == ("verified", "ada")
    assert_error(world.client.post(f"{A}/{draft}/verify", headers=ada), 409, "already_verified")
    # a new draft of the organization is not shared with the assessor
    r = world.client.put(
        f"{A}/2024/draft", json={"answers": {}, "new_draft": True}, headers=world.auth("eve")
    )
    assert_error(world.client.get(f"{A}/{r.json()['id']}", headers=ada), 404)
    assert [a["id"] for a in world.client.get(A, headers=ada).json()["items"]] == [draft]


def test_a_draft_is_not_verified(world: World, draft: int) -> None:
    share_with(world, draft, "ada")
    r = world.client.post(f"{A}/{draft}/verify", headers=world.auth("ada"))
    assert_error(r, 409, "not_declared")


# --------------------------------------------------------------------------------- shares
def share_audit(world: World, assessment_id: int) -> list[tuple[str, int | None, Any, Any]]:
    with Session(world.engine) as s:
        rows = s.execute(
            select(AuditLog.action, AuditLog.user_id, AuditLog.before, AuditLog.after)
            .where(
                AuditLog.entity == "assessment",
                AuditLog.entity_id == str(assessment_id),
                AuditLog.action.in_(["share", "unshare"]),
            )
            .order_by(AuditLog.id)
        ).all()
    return [tuple(r) for r in rows]


def test_share_and_unshare_a_declaration(world: World, draft: int) -> None:
    declared(world, draft)
    ada, quinn, path = world.auth("ada"), world.auth("quinn"), f"{A}/{draft}/shares"
    ada_id = world.user_ids["ada"]
    assert_error(world.client.get(f"{A}/{draft}", headers=ada), 404)  # not shared yet
    assert world.client.get(path, headers=quinn).json() == []
    # the viewer, the engineer and the assessor may not share
    for user in ("vic", "eve", "ada"):
        assert_error(world.client.post(path, json={"user": "ada"}, headers=world.auth(user)), 403)
        assert_error(world.client.get(path, headers=world.auth(user)), 403)
    # only an assessor of the organization: not a supplier, viewer, nor an unknown user
    for user in ("sam", "vic", "nobody", world.user_ids["sam"], 999999):
        r = world.client.post(path, json={"user": user}, headers=quinn)
        assert_error(r, 422)
    assert share_audit(world, draft) == []
    r = world.client.post(path, json={"user": "ada"}, headers=quinn)
    assert r.status_code == 201, r.text
    assert (r.json()["user_id"], r.json()["username"]) == (ada_id, "ada")
    # idempotent, also by user id
    r = world.client.post(path, json={"user": ada_id}, headers=world.auth("alice"))
    assert r.status_code == 201, r.text
    assert [u["username"] for u in world.client.get(path, headers=quinn).json()] == ["ada"]
    assert world.client.get(f"{A}/{draft}", headers=ada).json()["status"] == "self_declared"
    assert [a["id"] for a in world.client.get(A, headers=ada).json()["items"]] == [draft]
    quinn_id = world.user_ids["quinn"]
    assert share_audit(world, draft) == [
        ("share", quinn_id, None, {"user_id": ada_id, "username": "ada"})
    ]
    # unshare: the assessor no longer sees it; a second time is not found
    assert_error(world.client.delete(f"{path}/{ada_id}", headers=world.auth("vic")), 403)
    r = world.client.delete(f"{path}/{ada_id}", headers=quinn)
    assert r.status_code == 204, r.text
    assert_error(world.client.get(f"{A}/{draft}", headers=ada), 404)
    assert world.client.get(path, headers=quinn).json() == []
    assert_error(world.client.delete(f"{path}/{ada_id}", headers=quinn), 404)
    assert share_audit(world, draft)[-1] == ("unshare", quinn_id, {"user_id": ada_id}, None)
    # an unknown assessment
    assert_error(world.client.post(f"{A}/999999/shares", json={"user": "ada"}, headers=quinn), 404)


# -------------------------------------------------------------------------------- evidence
def upload(world: World, aid: int, data: bytes, user: str = "eve", **kw: Any) -> Any:
    name = kw.pop("name", "管理评审报告.pdf")
    ctype = kw.pop("content_type", "application/pdf")
    fields = {"indicator_id": kw.pop("indicator_id", "leadership"), **kw}
    return world.client.post(
        f"{A}/{aid}/evidence",
        files={"file": (name, data, ctype)},
        data=fields,
        headers=world.auth(user),
    )


def test_evidence_files(world: World, draft: int) -> None:
    data = b"%PDF-1.4 minutes of the management review"
    r = upload(world, draft, data)
    assert r.status_code == 201, r.text
    meta = r.json()
    assert (meta["filename"], meta["size"], meta["indicator_id"]) == (
        "管理评审报告.pdf", len(data), "leadership",
    )  # fmt: skip
    assert upload(world, draft, data).json()["id"] == meta["id"]  # the same file is kept once
    page = world.client.get(f"{A}/{draft}/evidence", headers=world.auth("vic")).json()
    assert [e["id"] for e in page["items"]] == [meta["id"]]
    r = world.client.get(f"{A}/{draft}/evidence/{meta['id']}", headers=world.auth("vic"))
    assert r.status_code == 200 and r.content == data
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"].startswith("attachment;")
    assert "filename*=UTF-8''%E7%AE%A1" in r.headers["content-disposition"]
    # a file the browser could run is served as plain bytes
    page_meta = upload(
        world, draft, b"<script>alert(1)</script>", name="a.html", content_type="text/html"
    ).json()
    r = world.client.get(f"{A}/{draft}/evidence/{page_meta['id']}", headers=world.auth("vic"))
    assert r.headers["content-type"] == "application/octet-stream"
    assert r.headers["x-content-type-options"] == "nosniff"
    # the evidence counts for the indicator's answer
    with Session(world.engine) as s:
        outcome = assessments.compute_assessment(s, world.a.id, 2024)
    assert any("管理评审报告.pdf" in e for e in outcome.result.indicator("leadership").evidence)
    # delete; a viewer may not add or delete
    assert_error(upload(world, draft, b"x", user="vic"), 403)
    url = f"{A}/{draft}/evidence/{page_meta['id']}"
    assert_error(world.client.delete(url, headers=world.auth("vic")), 403)
    assert world.client.delete(url, headers=world.auth("eve")).status_code == 204
    assert_error(world.client.delete(url, headers=world.auth("eve")), 404)
    assert_error(world.client.get(url, headers=world.auth("vic")), 404)
    # once declared, the evidence is locked
    declared(world, draft)
    assert_error(upload(world, draft, b"late"), 409, "assessment_locked")
    r = world.client.delete(f"{A}/{draft}/evidence/{meta['id']}", headers=world.auth("eve"))
    assert_error(r, 409, "assessment_locked")


def test_bad_evidence_changes_nothing(world: World, draft: int) -> None:
    before = world.state()
    assert_error(upload(world, draft, b"x", indicator_id="nope"), 422, "parameter")
    assert_error(upload(world, draft, b""), 422, "parameter")
    assert_error(upload(world, draft, b"x" * (1024 * 1024 + 1)), 413, "too_large")  # 1 MiB
    r = world.client.post(
        f"{A}/{draft}/evidence", data={"indicator_id": "leadership"}, headers=world.auth("eve")
    )
    assert_error(r, 422, "request_validation")
    assert_error(upload(world, 999999, b"x"), 404)
    assert world.state() == before


# ------------------------------------------------------------------------------------- PDF
def test_declaration_pdf(world: World, draft: int, monkeypatch: pytest.MonkeyPatch) -> None:
    declared(world, draft)
    share_with(world, draft, "ada")
    r = world.client.get(f"{A}/{draft}/declaration.pdf", headers=world.auth("ada"))
    assert r.status_code == 200, r.text
    assert r.content.startswith(b"%PDF") and len(r.content) > 10_000
    assert r.headers["content-type"] == "application/pdf"
    disposition = r.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert f'filename="declaration-2024-{draft}-zh.pdf"' in disposition
    # the language is passed on (rendering is the service's, tested there; one PDF is enough)
    calls: list[tuple[Any, ...]] = []

    def fake(session: Any, org_id: int, aid: int, lang: str, **kw: Any) -> bytes:
        calls.append((org_id, aid, lang, kw))
        return b"%PDF-1.7 fake"

    monkeypatch.setattr(assessments, "declaration_pdf", fake)
    r = world.client.get(f"{A}/{draft}/declaration.pdf?lang=en", headers=world.auth("vic"))
    assert r.content == b"%PDF-1.7 fake" and "-en.pdf" in r.headers["content-disposition"]
    assert calls == [(world.a.id, draft, "en", {"shared_with_user": None})]
    r = world.client.get(f"{A}/{draft}/declaration.pdf?lang=fr", headers=world.auth("vic"))
    assert_error(r, 422, "request_validation")
    assert_error(world.client.get(f"{A}/{draft}/declaration.pdf", headers=world.auth("sam")), 403)
    r = world.client.put(
        f"{A}/2024/draft", json={"answers": {}, "new_draft": True}, headers=world.auth("eve")
    )
    other = r.json()["id"]
    r = world.client.get(f"{A}/{other}/declaration.pdf", headers=world.auth("ada"))
    assert_error(r, 404)  # not shared with the assessor
    assert len(calls) == 1
