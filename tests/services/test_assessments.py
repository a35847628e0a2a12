"""Stored self-assessments: the live result equals ``zhuoyue assess``, drafts are checked and
audited, a declaration locks the assessment, assessors verify, evidence files, the PDF."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import pytest
from services_helpers import Demo
from sqlalchemy import select
from sqlalchemy.orm import Session

from zhuoyue.errors import ParameterError, ValidationError
from zhuoyue.reports.declaration import render_declaration
from zhuoyue.services import assessments
from zhuoyue.services.accounts import Conflict, NotFound
from zhuoyue.services.assessment import assess
from zhuoyue.store.models import Assessment, AssessmentEvidence, AssessmentShare, AuditLog


def _audit(
    session: Session, action: str, entity_id: int, entity: str = "assessment"
) -> list[AuditLog]:
    return list(
        session.scalars(
            select(AuditLog)
            .where(
                AuditLog.action == action,
                AuditLog.entity == entity,
                AuditLog.entity_id == str(entity_id),
            )
            .order_by(AuditLog.id)
        )
    )


# ---------------------------------------------------------------------------------- compute
@pytest.mark.parametrize(("plant", "level"), [("a", 3), ("b", 2)])
def test_compute_equals_assess_on_the_generated_tables(
    demo: Demo, session: Session, plant: str, level: int
) -> None:
    outcome = assessments.compute_assessment(session, demo.org(plant), 2024)
    want = assess(demo.plants[plant].data())
    assert outcome.level == want.level == level
    assert outcome.result.score == pytest.approx(want.result.score, rel=1e-12)
    for mid, m in want.result.metrics.items():
        assert outcome.result.metrics[mid].value == m.value, mid
    assert [i.level for i in outcome.result.indicators] == [i.level for i in want.result.indicators]
    if plant == "a":
        assert [c.item for c in outcome.result.binding] == ["cpk"]
        assert outcome.result.metrics["cpk"].detail["lowest"] == "C40-01"


def test_compute_with_answers_is_a_preview(demo: Demo, session: Session) -> None:
    org = demo.org("b")
    before = session.get(Assessment, demo.assessment("b"))
    assert before is not None
    stored = json.dumps(before.answers, sort_keys=True)
    raised = {item: 5 for item in before.answers}
    preview = assessments.compute_assessment(session, org, 2024, answers=raised)
    assert all(i.claimed == 5 for i in preview.result.indicators if i.kind == "questionnaire")
    assert json.dumps(before.answers, sort_keys=True) == stored  # nothing stored
    with pytest.raises(ValidationError) as err:
        assessments.compute_assessment(session, org, 2024, answers={"no_such_item": 3})
    assert err.value.problems[0].code == "unknown_item"


# ------------------------------------------------------------------------------- the draft
def test_save_draft_checks_every_answer(demo: Demo, session: Session) -> None:
    org, aid = demo.org("b"), demo.assessment("b")
    a = session.get(Assessment, aid)
    assert a is not None
    stored = json.dumps(a.answers, sort_keys=True)
    bad: dict[str, Any] = {
        "leadership": 6,
        "quality_strategy": "high",
        "no_such_item": 3,
        "traceability": {"level": 3, "colour": "red"},
        "benchmarking": {"level": 2, "evidence": 42},
    }
    with pytest.raises(ValidationError) as err:
        assessments.save_draft(session, org, 2024, bad, demo.users["admin"])
    codes = sorted(p.code for p in err.value.problems)
    assert codes == ["bad_evidence", "out_of_range", "out_of_range", "unknown_field",
                     "unknown_item"]  # fmt: skip
    assert json.dumps(a.answers, sort_keys=True) == stored
    with pytest.raises(ParameterError, match="mapping"):
        assessments.save_draft(session, org, 2024, [("leadership", 3)], None)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="year"):
        assessments.save_draft(session, org, 24, {"leadership": 3}, None)


def test_save_draft_merges_and_audits(demo: Demo, session: Session) -> None:
    org, aid = demo.org("b"), demo.assessment("b")
    user = demo.users["admin"]
    out = assessments.save_draft(
        session,
        org,
        2024,
        {
            "leadership": {
                "level": 4,
                "evidence": "管理评审纪要；质量目标分解",
                "respondent": "总经理",
            },
            "quality_strategy": None,  # removed
        },
        user,
    )
    assert out["id"] == aid and out["status"] == "draft" and out["locked"] is False
    assert out["answers"]["leadership"] == {
        "level": 4,
        "evidence": ["管理评审纪要", "质量目标分解"],
        "respondent": "总经理",
    }
    assert "quality_strategy" not in out["answers"]
    assert out["result"] is None and out["level"] is None  # the stale snapshot is cleared
    (entry,) = _audit(session, "update", aid)
    assert entry.user_id == user and entry.org_id == org
    assert entry.before is not None and entry.after is not None
    assert set(entry.after["answers"]) == {"leadership", "quality_strategy"}
    assert entry.after["answers"]["quality_strategy"] is None
    # the live result uses the saved answers
    outcome = assessments.compute_assessment(session, org, 2024)
    assert outcome.result.indicator("leadership").claimed == 4
    # saving the same answers again changes nothing
    assessments.save_draft(session, org, 2024, {"leadership": out["answers"]["leadership"]}, user)
    assert len(_audit(session, "update", aid)) == 1
    # a year without an assessment gets a new draft
    new = assessments.save_draft(session, org, 2025, {"leadership": 2}, user)
    assert new["id"] != aid and new["year"] == 2025 and new["answers"]["leadership"]["level"] == 2
    assert len(_audit(session, "create", new["id"])) == 1


# ------------------------------------------------------------------------ declare and lock
def test_declare_stores_the_snapshot_and_locks(demo: Demo, session: Session) -> None:
    org, aid = demo.org("b"), demo.assessment("b")
    user = demo.users["admin"]
    out = assessments.declare(session, org, aid, user)
    assert out["status"] == "self_declared" and out["locked"] is True
    assert out["level"] == 2 and out["declared_by"]["username"] == "admin"
    assert out["declared_at"] is not None
    want = assess(demo.plants["b"].data())
    assert out["result"]["level"] == want.level
    assert out["score"] == pytest.approx(want.result.score, rel=1e-12)
    assert "inputs" not in out["result"]  # kept in the database, not shown
    a = session.get(Assessment, aid)
    assert a is not None and a.result is not None and "inputs" in a.result
    (entry,) = _audit(session, "declare", aid)
    assert entry.after == {"status": "self_declared", "level": 2, "score": a.score, "year": 2024}

    with pytest.raises(assessments.AssessmentLocked, match="locked") as err:
        assessments.save_draft(session, org, 2024, {"leadership": 5}, user, assessment_id=aid)
    assert err.value.code == "assessment_locked" and isinstance(err.value, Conflict)
    with pytest.raises(assessments.AssessmentLocked):
        assessments.save_draft(session, org, 2024, {"leadership": 5}, user)
    with pytest.raises(assessments.AssessmentLocked):
        assessments.declare(session, org, aid, user)
    with pytest.raises(assessments.AssessmentLocked):
        assessments.add_evidence(
            session, org, aid, "leadership", "a.pdf", "application/pdf", b"%PDF-1.4", user
        )
    assert a.answers["leadership"]["level"] != 5
    # a revision is a new draft, based on the declared answers
    revision = assessments.save_draft(session, org, 2024, {"leadership": 5}, user, new_draft=True)
    assert revision["id"] != aid and revision["status"] == "draft"
    assert revision["answers"]["leadership"]["level"] == 5
    assert revision["answers"]["traceability"] == a.answers["traceability"]
    listed = assessments.list_assessments(session, org)
    assert [x["id"] for x in listed] == [revision["id"], aid]


def test_verify_by_the_assessor_it_is_shared_with(demo: Demo, session: Session) -> None:
    org, aid = demo.org("a"), demo.assessment("a")  # self-declared by "demo", shared with assessor
    assessor, declarer = demo.users["assessor"], demo.users["demo"]
    with pytest.raises(NotFound):
        assessments.verify(session, org, aid, demo.users["engineer"])  # not shared with him
    session.add(AssessmentShare(assessment_id=aid, user_id=declarer))
    session.flush()
    with pytest.raises(Conflict) as err:
        assessments.verify(session, org, aid, declarer)
    assert err.value.code == "own_declaration"
    out = assessments.verify(session, org, aid, assessor, note="  现场核查通过  ")
    assert out["status"] == "verified" and out["verified_by"]["username"] == "assessor"
    (entry,) = _audit(session, "verify", aid)
    assert entry.user_id == assessor and entry.after is not None
    assert entry.after["note"] == "现场核查通过"
    with pytest.raises(Conflict) as err:
        assessments.verify(session, org, aid, assessor)
    assert err.value.code == "already_verified"
    # a draft shared with the assessor is not verifiable yet
    org_b, draft = demo.org("b"), demo.assessment("b")
    with pytest.raises(NotFound):
        assessments.verify(session, org_b, draft, assessor)
    session.add(AssessmentShare(assessment_id=draft, user_id=assessor))
    session.flush()
    with pytest.raises(Conflict) as err:
        assessments.verify(session, org_b, draft, assessor)
    assert err.value.code == "not_declared"


def test_assessor_sees_only_shared_assessments(demo: Demo, session: Session) -> None:
    org = demo.org("a")
    assessor = demo.users["assessor"]
    mine = assessments.list_assessments(session, org, shared_with_user=assessor)
    assert [x["id"] for x in mine] == [demo.assessment("a")]
    assert assessments.list_assessments(session, demo.org("b"), shared_with_user=assessor) == []
    got = assessments.get_assessment(session, org, demo.assessment("a"), shared_with_user=assessor)
    assert got["status"] == "self_declared" and got["result"]["level"] == 3
    assert assessments.list_assessments(session, org, year=2023) == []


# -------------------------------------------------------------------------------- evidence
def test_evidence_files(demo: Demo, session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    org, aid = demo.org("b"), demo.assessment("b")
    user = demo.users["admin"]
    data = "管理评审报告 2024".encode()
    meta = assessments.add_evidence(
        session, org, aid, "leadership", "C:\\docs\\管理评审.pdf", "application/pdf", data, user
    )
    assert meta["sha256"] == hashlib.sha256(data).hexdigest() and meta["size"] == len(data)
    assert meta["filename"] == "管理评审.pdf" and meta["uploaded_by"] == user
    again = assessments.add_evidence(
        session, org, aid, "leadership", "copy.pdf", "application/pdf", data, user
    )
    assert again["id"] == meta["id"]  # the same file is stored once
    (entry,) = _audit(session, "create", meta["id"], "assessment_evidence")
    assert entry.entity == "assessment_evidence" and entry.after is not None
    assert entry.after["sha256"] == meta["sha256"] and "data" not in entry.after
    listed = assessments.list_evidence(session, org, aid)
    assert [e["id"] for e in listed] == [meta["id"]]
    got_meta, content = assessments.get_evidence(session, org, aid, meta["id"])
    assert content == data and got_meta == meta
    # an uploaded file is evidence of the item's answer
    outcome = assessments.compute_assessment(session, org, 2024)
    assert any("管理评审.pdf" in e for e in outcome.result.indicator("leadership").evidence)

    with pytest.raises(ParameterError, match="indicator"):
        assessments.add_evidence(session, org, aid, "nope", "a.txt", None, b"x", user)
    with pytest.raises(ParameterError, match="empty"):
        assessments.add_evidence(session, org, aid, "leadership", "a.txt", None, b"", user)
    with pytest.raises(ParameterError, match="name"):
        assessments.add_evidence(session, org, aid, "leadership", "../", None, b"x", user)
    assert assessments.MAX_EVIDENCE_BYTES == 20 * 1024 * 1024
    monkeypatch.setattr(assessments, "MAX_EVIDENCE_BYTES", 16)
    with pytest.raises(ParameterError, match="at most 16"):
        assessments.add_evidence(session, org, aid, "leadership", "big.bin", None, b"x" * 17, user)
    assessments.delete_evidence(session, org, aid, meta["id"], user)
    assert assessments.list_evidence(session, org, aid) == []
    assert len(_audit(session, "delete", meta["id"], "assessment_evidence")) == 1


# ---------------------------------------------------------------------------- declaration
def test_declaration_pdf_of_a_declared_and_a_new_declaration(demo: Demo, session: Session) -> None:
    org = demo.org("a")
    pdf = assessments.declaration_pdf(session, org, demo.assessment("a"), "zh")
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
    # the snapshot is evaluated again, not today's data: the stored level
    a = session.get(Assessment, demo.assessment("a"))
    assert a is not None
    again = assessments._snapshot_outcome(a, assessments._model_of(a), session)
    assert again.level == a.level == 3
    org_b, aid = demo.org("b"), demo.assessment("b")
    assessments.declare(session, org_b, aid, demo.users["admin"])
    b = session.get(Assessment, aid)
    assert b is not None
    rebuilt = assessments._snapshot_outcome(b, assessments._model_of(b), session)
    assert rebuilt.level == b.level == 2
    assert rebuilt.result.score == pytest.approx(b.score, rel=1e-12)
    assert rebuilt.to_dict()["metrics"] == {
        k: v
        for k, v in b.result["metrics"].items()  # type: ignore[index]
    }
    # the same document as the PDF, as HTML (WeasyPrint runs once per backend, above)
    page = render_declaration(rebuilt, lang="en")
    assert demo.plants["b"].name in page and "<script" not in page


# ------------------------------------------------------------------------------- isolation
def test_another_organizations_assessment_is_not_found(demo: Demo, session: Session) -> None:
    org_a = demo.org("a")
    foreign = demo.assessment("b")
    user = demo.users["admin"]
    calls: list[Callable[[], object]] = [
        lambda: assessments.get_assessment(session, org_a, foreign),
        lambda: assessments.declare(session, org_a, foreign, user),
        lambda: assessments.verify(session, org_a, foreign, demo.users["assessor"]),
        lambda: assessments.save_draft(
            session, org_a, 2024, {"leadership": 3}, user, assessment_id=foreign
        ),
        lambda: assessments.add_evidence(
            session, org_a, foreign, "leadership", "a.txt", None, b"x", user
        ),
        lambda: assessments.list_evidence(session, org_a, foreign),
        lambda: assessments.get_evidence(session, org_a, foreign, 1),
        lambda: assessments.delete_evidence(session, org_a, foreign, 1, user),
        lambda: assessments.declaration_pdf(session, org_a, foreign),
        lambda: assessments.get_assessment(session, org_a, 10**9),
    ]
    for call in calls:
        with pytest.raises(NotFound) as err:
            call()
        assert err.value.code == "not_found"
    b = session.get(Assessment, foreign)
    assert b is not None and b.status == "draft"
    assert session.scalar(select(AssessmentEvidence.id)) is None
    assert [x["org_id"] for x in assessments.list_assessments(session, org_a)] == [org_a]
