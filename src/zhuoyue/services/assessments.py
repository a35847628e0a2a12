"""Stored five-level self-assessments: compute, save a draft, declare, verify, evidence, PDF.

An assessment (:class:`~zhuoyue.store.models.Assessment`) belongs to one organization and year
and moves ``draft`` → ``self_declared`` (自我声明, by the enterprise) → ``verified`` (by a third-party
assessor it was shared with). Every function is scoped by ``org_id``: another organization's
assessment is *not found* (:class:`~zhuoyue.services.accounts.NotFound`); with
``shared_with_user`` (an assessor) only the assessments shared with that user are visible.

* :func:`compute_assessment` — the live result: the organization's data of the year
  (:func:`zhuoyue.services.kpi.load_tables`) and the answers of its draft, assessed by
  :func:`zhuoyue.services.assessment.assess` (the same numbers as ``zhuoyue assess``).
* :func:`save_draft` — answers checked against the model (known questionnaire items, levels
  1–5) and merged into the year's draft (an item set to ``None`` is removed); the stale result
  snapshot of the draft is cleared. Audited.
* :func:`declare` — computes the result, stores its snapshot (the JSON of ``zhuoyue assess``
  plus the inputs it was evaluated from, so that the declaration can be rendered again exactly),
  level and score, and locks the assessment: answers and evidence of a declared assessment cannot
  change (:class:`AssessmentLocked`, HTTP 409). To revise, start a new draft. Audited.
* :func:`verify` — an assessor the assessment is shared with (never its declarer) verifies it.
* :func:`share_assessment` / :func:`unshare_assessment` / :func:`list_assessment_shares` — which
  assessors of the organization an assessment is shared with. Audited.
* :func:`add_evidence` — a file (at most :data:`MAX_EVIDENCE_BYTES`) with its SHA-256, for one
  indicator; uploaded files count as evidence of that indicator's answer.
* :func:`declaration_pdf` — the self-declaration (自我声明) as PDF bytes: from the snapshot for a
  declared or verified assessment, from the live result for a draft.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
import unicodedata
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from zhuoyue.errors import ParameterError, Problem, ValidationError
from zhuoyue.excellence import Model, builtin_models, default_model, evaluate, load_model
from zhuoyue.reports.declaration import write_declaration
from zhuoyue.services import audit
from zhuoyue.services.accounts import Conflict, NotFound, bad_text
from zhuoyue.services.assessment import AssessmentOutcome, MetricsBundle, assess
from zhuoyue.services.kpi import enterprise_of, load_tables
from zhuoyue.store.models import (
    Assessment,
    AssessmentEvidence,
    AssessmentShare,
    Membership,
    Organization,
    UserAccount,
    utcnow,
)

__all__ = [
    "MAX_EVIDENCE_BYTES",
    "AssessmentLocked",
    "add_evidence",
    "compute_assessment",
    "declaration_pdf",
    "declare",
    "delete_evidence",
    "get_assessment",
    "get_evidence",
    "list_assessment_shares",
    "list_assessments",
    "list_evidence",
    "save_draft",
    "share_assessment",
    "unshare_assessment",
    "verify",
]

#: the largest evidence file
MAX_EVIDENCE_BYTES = 20 * 1024 * 1024
_MAX_FILENAME = 255
_MAX_CONTENT_TYPE = 100
_MAX_TEXT = 2000
_EVIDENCE_SPLIT = re.compile(r"[;；\n]+")
_INT4_MAX = 2**31 - 1


class AssessmentLocked(Conflict):
    """The assessment is self-declared or verified: its answers and evidence are locked."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="assessment_locked")


# ------------------------------------------------------------------------------------------------
# Lookup
# ------------------------------------------------------------------------------------------------
def _int_id(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ParameterError(f"The {name!r} parameter must be an integer id. Got {value!r}.")
    return value


def _check_year(year: Any) -> int:
    if isinstance(year, bool) or not isinstance(year, int) or not 1000 <= year <= 9999:
        raise ParameterError(f"The 'year' parameter must be a four-digit integer. Got {year!r}.")
    return year


def _get(
    session: Session,
    org_id: int,
    assessment_id: int,
    *,
    shared_with_user: int | None = None,
) -> Assessment:
    aid = _int_id(assessment_id, "assessment_id")
    stmt = select(Assessment).where(
        Assessment.id == aid, Assessment.org_id == _int_id(org_id, "org_id")
    )
    if shared_with_user is not None:
        stmt = stmt.where(
            Assessment.id.in_(
                select(AssessmentShare.assessment_id).where(
                    AssessmentShare.user_id == shared_with_user
                )
            )
        )
    found = session.scalar(stmt)
    if found is None:
        raise NotFound(f"There is no assessment {aid} in your organization.")
    return found


def _model_of(a: Assessment, model: Model | None = None) -> Model:
    if model is not None:
        if model.id != a.model_id:
            raise ParameterError(
                f"The assessment {a.id} uses the model {a.model_id!r}, not {model.id!r}."
            )
        return model
    default = default_model()
    if a.model_id == default.id:
        return default
    if a.model_id in {m.id for m in builtin_models()}:
        return load_model(a.model_id)
    raise ParameterError(
        f"The assessment {a.id} uses the model {a.model_id!r}, which is not built in; pass it "
        "as model=."
    )


def _latest(
    session: Session, org_id: int, year: int, model_id: str, *, status: str | None = None
) -> Assessment | None:
    stmt = select(Assessment).where(
        Assessment.org_id == org_id, Assessment.year == year, Assessment.model_id == model_id
    )
    if status is not None:
        stmt = stmt.where(Assessment.status == status)
    return session.scalar(stmt.order_by(Assessment.id.desc()).limit(1))


# ------------------------------------------------------------------------------------------------
# Answers
# ------------------------------------------------------------------------------------------------
def _clean_text(value: Any, what: str, problems: list[Problem], item: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append(
            Problem(None, item, value, "not_text", f"answers[{item!r}]: {what} must be text.")
        )
        return None
    text = value.strip()
    if len(text) > _MAX_TEXT:
        problems.append(
            Problem(
                None,
                item,
                text[:40] + "…",
                "too_long",
                f"answers[{item!r}]: {what} may have at most {_MAX_TEXT} characters.",
            )
        )
        return None
    return text or None


def _normalise_answers(answers: Any, model: Model) -> dict[str, dict[str, Any] | None]:
    """``{item: {level, evidence: [...], respondent}}`` (``None``: remove the item); every bad
    item is reported at once (:class:`ValidationError`)."""
    if not isinstance(answers, Mapping):
        raise ParameterError(
            "The answers must be a mapping {item: level} or {item: {'level': 1..5, 'evidence': "
            f"[...], 'respondent': ...}}. Got {type(answers).__name__}."
        )
    items = {i.id for i in model.questionnaire}
    problems: list[Problem] = []
    out: dict[str, dict[str, Any] | None] = {}
    for raw_key, raw in answers.items():
        key = str(raw_key).strip()
        if key not in items:
            close = sorted(items, key=lambda i: -_similarity(i, key))[:3]
            problems.append(
                Problem(
                    None,
                    key,
                    raw_key,
                    "unknown_item",
                    f"{key!r} is not a questionnaire item of the model {model.id}; did you mean "
                    f"{' or '.join(close)}?",
                )
            )
            continue
        if raw is None:
            out[key] = None
            continue
        if isinstance(raw, Mapping):
            unknown = set(raw) - {"level", "evidence", "respondent"}
            if unknown:
                problems.append(
                    Problem(
                        None,
                        key,
                        sorted(map(str, unknown)),
                        "unknown_field",
                        f"answers[{key!r}] has unknown field(s) {sorted(map(str, unknown))}; an "
                        "answer has level, evidence and respondent.",
                    )
                )
                continue
            level = raw.get("level")
            evidence = raw.get("evidence")
            respondent = raw.get("respondent")
        else:
            level, evidence, respondent = raw, None, None
        if isinstance(level, float) and level.is_integer():
            level = int(level)
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 5:
            problems.append(
                Problem(
                    None,
                    key,
                    level,
                    "out_of_range",
                    f"answers[{key!r}]: the level must be an integer from 1 (经验级) to 5 (卓越级); "
                    f"got {level!r}.",
                )
            )
            continue
        ev: list[str] = []
        if isinstance(evidence, str):
            ev = [e.strip() for e in _EVIDENCE_SPLIT.split(evidence) if e.strip()]
        elif isinstance(evidence, (list, tuple)) and all(isinstance(e, str) for e in evidence):
            ev = [e.strip() for e in evidence if e.strip()]
        elif evidence is not None:
            problems.append(
                Problem(
                    None,
                    key,
                    evidence,
                    "bad_evidence",
                    f"answers[{key!r}]: evidence must be a text or a list of texts.",
                )
            )
            continue
        if any(len(e) > _MAX_TEXT for e in ev):
            problems.append(
                Problem(
                    None,
                    key,
                    None,
                    "too_long",
                    f"answers[{key!r}]: an evidence text may have at most {_MAX_TEXT} characters.",
                )
            )
            continue
        who = _clean_text(respondent, "the respondent", problems, key)
        out[key] = {"level": level, "evidence": ev, "respondent": who}
    if problems:
        raise ValidationError(problems, source="answers")
    return out


def _similarity(a: str, b: str) -> float:
    import difflib

    return difflib.SequenceMatcher(None, a, b).ratio()


def _evidence_labels(session: Session, assessment_id: int) -> dict[str, list[str]]:
    rows = session.execute(
        select(
            AssessmentEvidence.indicator_id,
            AssessmentEvidence.filename,
            AssessmentEvidence.sha256,
        )
        .where(AssessmentEvidence.assessment_id == assessment_id)
        .order_by(AssessmentEvidence.id)
    ).all()
    out: dict[str, list[str]] = {}
    for ind, name, sha in rows:
        out.setdefault(str(ind), []).append(f"{name}（附件 sha256 {str(sha)[:12]}）")
    return out


def _effective_answers(
    stored: Mapping[str, Any], files: Mapping[str, list[str]]
) -> dict[str, dict[str, Any]]:
    """Stored answers with the uploaded files of each answered item added to its evidence."""
    out: dict[str, dict[str, Any]] = {}
    for item, ans in stored.items():
        if not isinstance(ans, Mapping) or ans.get("level") is None:
            continue
        ev = [str(e) for e in (ans.get("evidence") or [])]
        ev += [f for f in files.get(item, []) if f not in ev]
        out[str(item)] = {
            "level": int(ans["level"]),
            "evidence": ev,
            "respondent": ans.get("respondent"),
        }
    return out


def _answers_table(answers: Mapping[str, Mapping[str, Any]]) -> pl.DataFrame:
    rows = [
        (item, int(a["level"]), "；".join(a.get("evidence") or []) or None, a.get("respondent"))
        for item, a in answers.items()
    ]
    return pl.DataFrame(
        rows,
        schema={
            "item": pl.String(),
            "level": pl.Int64(),
            "evidence": pl.String(),
            "respondent": pl.String(),
        },
        orient="row",
    )


def _outcome(
    session: Session,
    org_id: int,
    year: int,
    answers: Mapping[str, Mapping[str, Any]],
    model: Model,
) -> AssessmentOutcome:
    tables = load_tables(session, org_id, year=year)
    if answers:
        tables["self_assessment"] = _answers_table(answers)
    return assess((tables, enterprise_of(session, org_id, year)), model=model, year=year)


def compute_assessment(
    session: Session,
    org_id: int,
    year: int,
    *,
    answers: Mapping[str, Any] | None = None,
    model: Model | None = None,
) -> AssessmentOutcome:
    """The assessment of ``year`` from the organization's data and the answers of its draft.

    The answers are those of the year's latest draft (else of its latest assessment), with their
    uploaded evidence files; ``answers`` given here are checked and override them item by item
    (a preview: nothing is stored).
    """
    y = _check_year(year)
    oid = _int_id(org_id, "org_id")
    model = default_model() if model is None else model
    base = _latest(session, oid, y, model.id, status="draft") or _latest(session, oid, y, model.id)
    stored: dict[str, Any] = dict(base.answers or {}) if base is not None else {}
    files = _evidence_labels(session, base.id) if base is not None else {}
    if answers is not None:
        for item, ans in _normalise_answers(answers, model).items():
            if ans is None:
                stored.pop(item, None)
            else:
                stored[item] = ans
    return _outcome(session, oid, y, _effective_answers(stored, files), model)


# ------------------------------------------------------------------------------------------------
# Reading
# ------------------------------------------------------------------------------------------------
def _dt(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _users(session: Session, ids: list[int | None]) -> dict[int, dict[str, Any]]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    rows = session.execute(
        select(UserAccount.id, UserAccount.username, UserAccount.display_name).where(
            UserAccount.id.in_(wanted)
        )
    ).all()
    return {int(i): {"id": int(i), "username": u, "display_name": d} for i, u, d in rows}


def _evidence_meta(e: AssessmentEvidence) -> dict[str, Any]:
    return {
        "id": e.id,
        "assessment_id": e.assessment_id,
        "indicator_id": e.indicator_id,
        "filename": e.filename,
        "content_type": e.content_type,
        "size": e.size,
        "sha256": e.sha256,
        "uploaded_by": e.uploaded_by,
        "uploaded_at": _dt(e.uploaded_at),
    }


def _summary(a: Assessment, users: Mapping[int, Mapping[str, Any]]) -> dict[str, Any]:
    def who(i: int | None) -> Mapping[str, Any] | None:
        return None if i is None else users.get(i, {"id": i})

    return {
        "id": a.id,
        "org_id": a.org_id,
        "year": a.year,
        "model_id": a.model_id,
        "model_version": a.model_version,
        "status": a.status,
        "locked": a.status != "draft",
        "level": a.level,
        "score": a.score,
        "answered": sum(1 for v in (a.answers or {}).values() if v),
        "created_at": _dt(a.created_at),
        "created_by": who(a.created_by),
        "updated_at": _dt(a.updated_at),
        "declared_at": _dt(a.declared_at),
        "declared_by": who(a.declared_by),
        "verified_at": _dt(a.verified_at),
        "verified_by": who(a.verified_by),
    }


def list_assessments(
    session: Session,
    org_id: int,
    *,
    shared_with_user: int | None = None,
    year: int | None = None,
) -> list[dict[str, Any]]:
    """The organization's assessments, newest year first (only those shared with
    ``shared_with_user`` when given): status, level, score, who declared and verified."""
    stmt = select(Assessment).where(Assessment.org_id == _int_id(org_id, "org_id"))
    if year is not None:
        stmt = stmt.where(Assessment.year == _check_year(year))
    if shared_with_user is not None:
        stmt = stmt.where(
            Assessment.id.in_(
                select(AssessmentShare.assessment_id).where(
                    AssessmentShare.user_id == shared_with_user
                )
            )
        )
    rows = list(session.scalars(stmt.order_by(Assessment.year.desc(), Assessment.id.desc())))
    users = _users(
        session,
        [i for a in rows for i in (a.created_by, a.declared_by, a.verified_by)],
    )
    return [_summary(a, users) for a in rows]


def get_assessment(
    session: Session,
    org_id: int,
    assessment_id: int,
    *,
    shared_with_user: int | None = None,
    include_result: bool = True,
) -> dict[str, Any]:
    """One assessment: the summary, its answers, its evidence files (metadata) and, with
    ``include_result``, its stored result snapshot (``None`` for a draft not evaluated)."""
    a = _get(session, org_id, assessment_id, shared_with_user=shared_with_user)
    users = _users(session, [a.created_by, a.declared_by, a.verified_by])
    out = _summary(a, users)
    out["answers"] = dict(a.answers or {})
    out["evidence"] = [_evidence_meta(e) for e in _evidence_rows(session, a.id)]
    if include_result:
        result = dict(a.result) if a.result else None
        if result is not None:
            result.pop("inputs", None)
        out["result"] = result
    return out


def _evidence_rows(session: Session, assessment_id: int) -> list[AssessmentEvidence]:
    return list(
        session.scalars(
            select(AssessmentEvidence)
            .where(AssessmentEvidence.assessment_id == assessment_id)
            .order_by(AssessmentEvidence.id)
        )
    )


# ------------------------------------------------------------------------------------------------
# Changing
# ------------------------------------------------------------------------------------------------
def _locked(a: Assessment, what: str) -> AssessmentLocked:
    when = f" on {a.declared_at:%Y-%m-%d}" if a.declared_at is not None else ""
    status = "self-declared" if a.status == "self_declared" else a.status
    return AssessmentLocked(
        f"The assessment {a.id} of {a.year} is {status}{when}: its {what} are locked. Start a "
        "new draft of the year to revise it."
    )


def save_draft(
    session: Session,
    org_id: int,
    year: int,
    answers: Mapping[str, Any],
    user_id: int | None,
    *,
    assessment_id: int | None = None,
    new_draft: bool = False,
    model: Model | None = None,
) -> dict[str, Any]:
    """Merge ``answers`` into the draft of ``year`` and return it (as :func:`get_assessment`).

    The draft is ``assessment_id`` when given (it must be a draft of ``year``), else the year's
    latest assessment when it is a draft, else a new draft (based on the answers of the year's
    latest assessment). When the year's latest assessment is declared, saving raises
    :class:`AssessmentLocked` unless ``new_draft=True`` starts a new draft. Answers are
    ``{item: level}`` or ``{item: {level, evidence, respondent}}``; ``None`` removes an item.
    Audited; the draft's stale result snapshot is cleared.
    """
    y = _check_year(year)
    oid = _int_id(org_id, "org_id")
    if assessment_id is not None:
        target: Assessment | None = _get(session, oid, assessment_id)
        assert target is not None
        model = _model_of(target, model)
        if target.year != y:
            raise ParameterError(f"The assessment {target.id} is of {target.year}, not {y}.")
        if target.status != "draft":
            raise _locked(target, "answers")
    else:
        model = default_model() if model is None else model
        target = _latest(session, oid, y, model.id)
        if target is not None and target.status != "draft":
            if not new_draft:
                raise _locked(target, "answers")
            base = dict(target.answers or {})
            target = None
        else:
            base = {}
    normalised = _normalise_answers(answers, model)
    if target is None:
        merged = dict(base)
        for item, ans in normalised.items():
            if ans is None:
                merged.pop(item, None)
            else:
                merged[item] = ans
        target = Assessment(
            org_id=oid,
            year=y,
            model_id=model.id,
            model_version=model.version,
            status="draft",
            answers=merged,
            created_by=user_id,
        )
        session.add(target)
        session.flush()
        audit.record(
            session,
            None,
            "create",
            "assessment",
            target.id,
            None,
            {"year": y, "status": "draft", "answers": merged},
            org_id=oid,
            user_id=user_id,
        )
    else:
        before = dict(target.answers or {})
        merged = dict(before)
        for item, ans in normalised.items():
            if ans is None:
                merged.pop(item, None)
            else:
                merged[item] = ans
        changed = sorted(k for k in set(before) | set(merged) if before.get(k) != merged.get(k))
        if changed:
            target.answers = merged
            target.model_version = model.version
            target.result = None
            target.level = None
            target.score = None
            session.flush()
            audit.record(
                session,
                None,
                "update",
                "assessment",
                target.id,
                {"answers": {k: before.get(k) for k in changed}},
                {"answers": {k: merged.get(k) for k in changed}},
                org_id=oid,
                user_id=user_id,
            )
    return get_assessment(session, oid, target.id)


def _json_safe(x: Any) -> Any:
    """A JSON document without NaN or infinities (PostgreSQL's jsonb refuses them)."""
    text = json.dumps(x, ensure_ascii=False, default=str)
    return json.loads(text, parse_constant=lambda _c: None)


def _assessment_outcome(
    session: Session, a: Assessment, model: Model
) -> tuple[AssessmentOutcome, dict[str, dict[str, Any]]]:
    answers = _effective_answers(a.answers or {}, _evidence_labels(session, a.id))
    return _outcome(session, a.org_id, a.year, answers, model), answers


def declare(
    session: Session,
    org_id: int,
    assessment_id: int,
    user_id: int | None,
    *,
    model: Model | None = None,
) -> dict[str, Any]:
    """Self-declare a draft: compute it, store the result snapshot, level and score, lock it.

    Raises :class:`AssessmentLocked` when it is declared already. Audited (``declare``).
    """
    a = _get(session, org_id, assessment_id)
    if a.status != "draft":
        raise _locked(a, "answers")
    model = _model_of(a, model)
    outcome, answers = _assessment_outcome(session, a, model)
    snapshot = outcome.to_dict()
    inputs = outcome.metrics.to_dict()
    snapshot["inputs"] = {
        "metrics": inputs["metrics"],
        "coverage": inputs["coverage"],
        "year_source": inputs["year_source"],
        "answers": answers,
    }
    now = utcnow()
    a.result = _json_safe(snapshot)
    a.level = outcome.result.level
    a.score = float(outcome.result.score)
    a.model_version = model.version
    a.status = "self_declared"
    a.declared_at = now
    a.declared_by = user_id
    session.flush()
    audit.record(
        session,
        None,
        "declare",
        "assessment",
        a.id,
        {"status": "draft"},
        {"status": "self_declared", "level": a.level, "score": a.score, "year": a.year},
        org_id=a.org_id,
        user_id=user_id,
    )
    return get_assessment(session, a.org_id, a.id)


def verify(
    session: Session,
    org_id: int,
    assessment_id: int,
    user_id: int,
    *,
    note: str | None = None,
) -> dict[str, Any]:
    """An assessor verifies a self-declared assessment shared with them (第三方评价).

    Only an assessment shared with ``user_id`` is visible (:class:`NotFound` otherwise); it must
    be self-declared, and its declarer cannot verify it (:class:`Conflict`). Audited
    (``verify``, with the note).
    """
    a = _get(session, org_id, assessment_id, shared_with_user=_int_id(user_id, "user_id"))
    if a.status == "draft":
        raise Conflict(
            f"The assessment {a.id} is a draft; it can be verified once it is self-declared.",
            code="not_declared",
        )
    if a.status == "verified":
        raise Conflict(f"The assessment {a.id} is verified already.", code="already_verified")
    if a.declared_by is not None and a.declared_by == user_id:
        raise Conflict(
            "The declarer of an assessment cannot verify it: verification is a third party's.",
            code="own_declaration",
        )
    text = note.strip() if isinstance(note, str) and note.strip() else None
    if text is not None and len(text) > _MAX_TEXT:
        raise ParameterError(f"The note may have at most {_MAX_TEXT} characters.")
    a.status = "verified"
    a.verified_at = utcnow()
    a.verified_by = user_id
    session.flush()
    audit.record(
        session,
        None,
        "verify",
        "assessment",
        a.id,
        {"status": "self_declared"},
        {"status": "verified", "level": a.level, "note": text},
        org_id=a.org_id,
        user_id=user_id,
    )
    return get_assessment(session, a.org_id, a.id, shared_with_user=user_id)


# ------------------------------------------------------------------------------------------------
# Sharing with assessors
# ------------------------------------------------------------------------------------------------
def _share_row(user: UserAccount) -> dict[str, Any]:
    return {"user_id": user.id, "username": user.username, "display_name": user.display_name}


def _assessor(session: Session, org_id: int, user_ref: Any) -> UserAccount:
    """The assessor member of the organization named by ``user_ref`` (username or user id)."""
    stmt = (
        select(UserAccount)
        .join(Membership, Membership.user_id == UserAccount.id)
        .where(Membership.org_id == org_id, Membership.role == "assessor")
    )
    user: UserAccount | None = None
    if isinstance(user_ref, int) and not isinstance(user_ref, bool):
        if 0 < user_ref <= _INT4_MAX:
            user = session.scalar(stmt.where(UserAccount.id == user_ref))
    elif isinstance(user_ref, str):
        name = user_ref.strip()
        if name.isdigit() and len(name) <= 10 and 0 < int(name) <= _INT4_MAX:
            user = session.scalar(stmt.where(UserAccount.id == int(name)))
        if user is None and name and not bad_text(name):
            user = session.scalar(stmt.where(UserAccount.username == name.lower()))
    else:
        raise ParameterError(
            f"The user must be given by username or user id. Got {type(user_ref).__name__}."
        )
    if user is None:
        raise ParameterError(
            f"There is no assessor {user_ref!r} in your organization. Add the user with the role "
            "'assessor' first (POST /memberships).",
        )
    return user


def list_assessment_shares(
    session: Session, org_id: int, assessment_id: int
) -> list[dict[str, Any]]:
    """The users an assessment is shared with (``user_id``, ``username``, ``display_name``), by
    username. Another organization's assessment is :class:`NotFound`."""
    a = _get(session, org_id, assessment_id)
    users = session.scalars(
        select(UserAccount)
        .join(AssessmentShare, AssessmentShare.user_id == UserAccount.id)
        .where(AssessmentShare.assessment_id == a.id)
        .order_by(UserAccount.username)
    ).all()
    return [_share_row(u) for u in users]


def share_assessment(
    session: Session, org_id: int, assessment_id: int, user_ref: Any, *, user_id: int | None
) -> dict[str, Any]:
    """Share an assessment with an assessor member of the organization (idempotent): the
    assessor may then read and verify it. ``user_ref`` is a username or a user id; a user who is
    not an assessor of the organization is a :class:`ParameterError`. Audited (``share``)."""
    a = _get(session, org_id, assessment_id)
    user = _assessor(session, a.org_id, user_ref)
    if session.get(AssessmentShare, (a.id, user.id)) is None:
        session.add(AssessmentShare(assessment_id=a.id, user_id=user.id))
        session.flush()
        audit.record(
            session,
            None,
            "share",
            "assessment",
            a.id,
            None,
            {"user_id": user.id, "username": user.username},
            org_id=a.org_id,
            user_id=user_id,
        )
    return _share_row(user)


def unshare_assessment(
    session: Session, org_id: int, assessment_id: int, share_user_id: int, *, user_id: int | None
) -> None:
    """Stop sharing an assessment with a user (:class:`NotFound` when it is not shared with
    them). Audited (``unshare``)."""
    a = _get(session, org_id, assessment_id)
    uid = _int_id(share_user_id, "user_id")
    share = session.get(AssessmentShare, (a.id, uid)) if 0 < uid <= _INT4_MAX else None
    if share is None:
        raise NotFound(f"The assessment {a.id} is not shared with user {uid}.")
    session.delete(share)
    session.flush()
    audit.record(
        session,
        None,
        "unshare",
        "assessment",
        a.id,
        {"user_id": uid},
        None,
        org_id=a.org_id,
        user_id=user_id,
    )


# ------------------------------------------------------------------------------------------------
# Evidence files
# ------------------------------------------------------------------------------------------------
def _filename(name: Any) -> str:
    if not isinstance(name, str):
        raise ParameterError(f"The file name must be text. Got {name!r}.")
    base = re.split(r"[\\/]", name)[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    if base in ("", ".", ".."):
        raise ParameterError(f"The file name {name!r} is empty; give the file's name.")
    if len(base) > _MAX_FILENAME:
        _stem, dot, ext = base.rpartition(".")
        keep = ext if dot and len(ext) <= 10 else ""
        base = base[: _MAX_FILENAME - len(keep) - 1] + ("." + keep if keep else "")
    return base


def add_evidence(
    session: Session,
    org_id: int,
    assessment_id: int,
    indicator_id: str,
    filename: str,
    content_type: str | None,
    data: bytes,
    user_id: int | None,
) -> dict[str, Any]:
    """Store an evidence file for one indicator of a draft assessment; returns its metadata.

    At most :data:`MAX_EVIDENCE_BYTES`; the same file (SHA-256) for the same indicator is stored
    once (the stored one is returned). Locked once declared. Audited (without the content).
    """
    a = _get(session, org_id, assessment_id)
    if a.status != "draft":
        raise _locked(a, "answers and evidence")
    model = _model_of(a)
    ids = [i.id for i in model.indicators]
    if not isinstance(indicator_id, str) or indicator_id not in ids:
        raise ParameterError(
            f"{indicator_id!r} is not an indicator of the model {model.id}; the questionnaire "
            f"items are {', '.join(i.id for i in model.questionnaire)}."
        )
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ParameterError(f"The evidence must be bytes. Got {type(data).__name__}.")
    blob = bytes(data)
    if not blob:
        raise ParameterError("The evidence file is empty.")
    if len(blob) > MAX_EVIDENCE_BYTES:
        raise ParameterError(
            f"The evidence file has {len(blob):,} bytes; at most {MAX_EVIDENCE_BYTES:,} "
            f"({MAX_EVIDENCE_BYTES // (1024 * 1024)} MB) are accepted. Compress or split it."
        )
    name = _filename(filename)
    ctype = (content_type or "").strip() or "application/octet-stream"
    if len(ctype) > _MAX_CONTENT_TYPE or any(unicodedata.category(c)[0] == "C" for c in ctype):
        raise ParameterError(f"The content type {content_type!r} is not valid.")
    digest = hashlib.sha256(blob).hexdigest()
    same = session.scalar(
        select(AssessmentEvidence).where(
            AssessmentEvidence.assessment_id == a.id,
            AssessmentEvidence.indicator_id == indicator_id,
            AssessmentEvidence.sha256 == digest,
        )
    )
    if same is not None:
        return _evidence_meta(same)
    row = AssessmentEvidence(
        assessment_id=a.id,
        indicator_id=indicator_id,
        filename=name,
        content_type=ctype,
        size=len(blob),
        sha256=digest,
        data=blob,
        uploaded_by=user_id,
    )
    session.add(row)
    session.flush()
    meta = _evidence_meta(row)
    audit.record(
        session,
        None,
        "create",
        "assessment_evidence",
        row.id,
        None,
        {k: meta[k] for k in ("assessment_id", "indicator_id", "filename", "size", "sha256")},
        org_id=a.org_id,
        user_id=user_id,
    )
    return meta


def list_evidence(
    session: Session,
    org_id: int,
    assessment_id: int,
    *,
    shared_with_user: int | None = None,
) -> list[dict[str, Any]]:
    """The evidence files of an assessment (metadata, no content)."""
    a = _get(session, org_id, assessment_id, shared_with_user=shared_with_user)
    return [_evidence_meta(e) for e in _evidence_rows(session, a.id)]


def get_evidence(
    session: Session,
    org_id: int,
    assessment_id: int,
    evidence_id: int,
    *,
    shared_with_user: int | None = None,
) -> tuple[dict[str, Any], bytes]:
    """One evidence file: its metadata and its content."""
    a = _get(session, org_id, assessment_id, shared_with_user=shared_with_user)
    e = session.scalar(
        select(AssessmentEvidence).where(
            AssessmentEvidence.id == _int_id(evidence_id, "evidence_id"),
            AssessmentEvidence.assessment_id == a.id,
        )
    )
    if e is None:
        raise NotFound(f"There is no evidence file {evidence_id} of assessment {a.id}.")
    return _evidence_meta(e), bytes(e.data)


def delete_evidence(
    session: Session, org_id: int, assessment_id: int, evidence_id: int, user_id: int | None
) -> None:
    """Delete an evidence file of a draft (locked once declared). Audited."""
    a = _get(session, org_id, assessment_id)
    if a.status != "draft":
        raise _locked(a, "answers and evidence")
    e = session.scalar(
        select(AssessmentEvidence).where(
            AssessmentEvidence.id == _int_id(evidence_id, "evidence_id"),
            AssessmentEvidence.assessment_id == a.id,
        )
    )
    if e is None:
        raise NotFound(f"There is no evidence file {evidence_id} of assessment {a.id}.")
    before = _evidence_meta(e)
    session.delete(e)
    session.flush()
    audit.record(
        session,
        None,
        "delete",
        "assessment_evidence",
        before["id"],
        {k: before[k] for k in ("assessment_id", "indicator_id", "filename", "size", "sha256")},
        None,
        org_id=a.org_id,
        user_id=user_id,
    )


# ------------------------------------------------------------------------------------------------
# The declaration
# ------------------------------------------------------------------------------------------------
def _snapshot_outcome(a: Assessment, model: Model, session: Session) -> AssessmentOutcome:
    """The declared result again, from the stored snapshot (not from today's data).

    The evaluator is pure: the metric inputs, answers and coverage stored at declaration give the
    same result. A snapshot without inputs (written by other tools) gives the metric inputs back
    from its metric results.
    """
    snap: Mapping[str, Any] = a.result or {}
    inputs: Mapping[str, Any] = snap.get("inputs") or {}
    metrics: dict[str, Any]
    if inputs.get("metrics") is not None:
        metrics = {str(k): dict(v) for k, v in inputs["metrics"].items()}
        answers = dict(inputs.get("answers") or {})
    else:
        metrics = {}
        for mid, m in (snap.get("metrics") or {}).items():
            status = m.get("status")
            metrics[str(mid)] = {
                "value": m.get("value"),
                "tracked": False if status == "not_tracked" else None,
                "detail": m.get("detail") or {},
            }
        answers = _effective_answers(a.answers or {}, _evidence_labels(session, a.id))
    coverage = dict(inputs.get("coverage") or snap.get("coverage") or {})
    result = evaluate(
        metrics,
        answers,
        model,
        coverage=coverage,
        require_evidence=bool(snap.get("require_evidence", model.require_evidence)),
    )
    warnings = tuple(str(w) for w in snap.get("warnings") or result.warnings)
    result = replace(result, warnings=warnings)
    enterprise = snap.get("enterprise") or enterprise_of(session, a.org_id, a.year)
    bundle = MetricsBundle(
        metrics=MappingProxyType({}),
        coverage=MappingProxyType(coverage),
        warnings=warnings,
        year=a.year,
        year_source=str(inputs.get("year_source", "given")),
    )
    return AssessmentOutcome(
        result=result,
        metrics=bundle,
        enterprise=MappingProxyType(
            {str(k): (None if v is None else str(v)) for k, v in dict(enterprise).items()}
        ),
        year=a.year,
        warnings=warnings,
        source=None,
    )


def declaration_pdf(
    session: Session,
    org_id: int,
    assessment_id: int,
    lang: str = "zh",
    *,
    shared_with_user: int | None = None,
    generated_at: datetime | None = None,
) -> bytes:
    """The self-declaration (自我声明) of an assessment as PDF bytes (WeasyPrint, CJK fonts).

    A declared or verified assessment is rendered from its snapshot (what was declared); a draft
    from its live result. ``generated_at`` defaults to the declaration time (else now).
    """
    a = _get(session, org_id, assessment_id, shared_with_user=shared_with_user)
    model = _model_of(a)
    if a.status != "draft" and a.result:
        outcome = _snapshot_outcome(a, model, session)
    else:
        outcome, _ = _assessment_outcome(session, a, model)
    org = session.get(Organization, a.org_id)
    enterprise = dict(outcome.enterprise)
    if org is not None and not enterprise.get("name"):
        enterprise["name"] = org.name
    when = generated_at or a.declared_at or utcnow()
    with tempfile.TemporaryDirectory(prefix="zhuoyue-declaration-") as folder:
        path = Path(folder) / f"declaration-{a.id}.pdf"
        write_declaration(
            outcome,
            path,
            lang=lang,
            enterprise=enterprise,
            generated_at=when,
            model=model,
        )
        data = path.read_bytes()
    return data
