"""``/assessments``: the five-level self-assessment — compute, draft, declare, verify, evidence
files and the self-declaration (自我声明) PDF (:mod:`zhuoyue.services.assessments`).

An assessment moves draft → self_declared → verified. A declared assessment is locked: its
answers and evidence answer 409 (``assessment_locked``); ``new_draft`` starts a revision. An
assessor sees only the assessments shared with them (``/{id}/shares``) and is the only one who
verifies.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Body, File, Form, Path, Query, Response, UploadFile
from starlette.exceptions import HTTPException

from zhuoyue.api.deps import CurrentPrincipal, Db, Settings
from zhuoyue.api.errors import ERROR_RESPONSES, ErrorBody
from zhuoyue.api.routers._common import Id, Limit, Offset
from zhuoyue.api.schemas import (
    MAX_YEAR,
    MIN_YEAR,
    AnswerIn,
    Answers,
    AssessmentOut,
    AssessmentResultOut,
    AssessmentShareIn,
    AssessmentSummaryOut,
    ComputeIn,
    DraftIn,
    EvidenceOut,
    PageOut,
    ShareOut,
    VerifyIn,
    json_safe,
)
from zhuoyue.services import assessments
from zhuoyue.services.accounts import Principal, require
from zhuoyue.services.assessments import MAX_EVIDENCE_BYTES

__all__ = ["router"]

router = APIRouter(prefix="/assessments", tags=["assessments"], responses=ERROR_RESPONSES)

Year = Annotated[int, Path(ge=MIN_YEAR, le=MAX_YEAR, description="The assessed calendar year.")]
#: content types a browser could run as a page of this site: served as plain bytes
_ACTIVE = ("html", "xml", "javascript", "ecmascript", "svg")


def _reader(principal: Principal) -> int | None:
    """``None`` for the organization's readers; the user id of an assessor (shared only)."""
    action = require(principal, "read_assessment", "read_shared_assessment")
    return principal.user_id if action == "read_shared_assessment" else None


def _answers(answers: Answers) -> dict[str, Any]:
    return {
        item: a.model_dump(exclude_unset=True) if isinstance(a, AnswerIn) else a
        for item, a in answers.items()
    }


def _attachment(filename: str) -> str:
    """A Content-Disposition that downloads ``filename`` (RFC 6266, UTF-8 name per RFC 5987)."""
    ascii_name = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in filename
    )
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


@router.get("", response_model=PageOut[AssessmentSummaryOut])
def list_assessments(
    principal: CurrentPrincipal,
    db: Db,
    year: Annotated[
        int | None, Query(ge=MIN_YEAR, le=MAX_YEAR, description="Only this year.")
    ] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Any:
    """The organization's assessments, newest year first (an assessor: those shared with
    them): status, level, score, who declared and verified."""
    rows = assessments.list_assessments(
        db, principal.org_id, shared_with_user=_reader(principal), year=year
    )
    items = json_safe(rows[offset : offset + limit])
    return {"items": items, "total": len(rows), "limit": limit, "offset": offset}


@router.post("/compute", response_model=AssessmentResultOut)
def compute(body: ComputeIn, principal: CurrentPrincipal, db: Db) -> Any:
    """The live result of a year from the stored data and the draft's answers; ``answers``
    override them item by item. A preview: nothing is stored."""
    require(principal, "read_assessment")
    answers = None if body.answers is None else _answers(body.answers)
    outcome = assessments.compute_assessment(db, principal.org_id, body.year, answers=answers)
    return json_safe(outcome.to_dict())


@router.put("/{year}/draft", response_model=AssessmentOut)
def save_draft(year: Year, body: DraftIn, principal: CurrentPrincipal, db: Db) -> Any:
    """Merge answers into the year's draft (created when there is none; ``null`` removes an
    item). 409 when the year's assessment is declared, unless ``new_draft`` is true."""
    require(principal, "write_data")
    out = assessments.save_draft(
        db,
        principal.org_id,
        year,
        _answers(body.answers),
        principal.user_id,
        new_draft=body.new_draft,
    )
    return json_safe(out)


@router.get("/{assessment_id}", response_model=AssessmentOut)
def get_assessment(assessment_id: Id, principal: CurrentPrincipal, db: Db) -> Any:
    """One assessment: status, answers, evidence files and the stored result snapshot."""
    out = assessments.get_assessment(
        db, principal.org_id, assessment_id, shared_with_user=_reader(principal)
    )
    return json_safe(out)


@router.post("/{assessment_id}/declare", response_model=AssessmentOut)
def declare(assessment_id: Id, principal: CurrentPrincipal, db: Db) -> Any:
    """Self-declare (自我声明) a draft: compute it, store the result snapshot, lock it."""
    require(principal, "declare_assessment")
    out = assessments.declare(db, principal.org_id, assessment_id, principal.user_id)
    return json_safe(out)


@router.post("/{assessment_id}/verify", response_model=AssessmentOut)
def verify(
    assessment_id: Id,
    principal: CurrentPrincipal,
    db: Db,
    body: Annotated[VerifyIn | None, Body()] = None,
) -> Any:
    """Verify a self-declared assessment shared with you (an assessor; 第三方评价)."""
    require(principal, "verify_assessment")
    note = body.note if body is not None else None
    out = assessments.verify(db, principal.org_id, assessment_id, principal.user_id, note=note)
    return json_safe(out)


@router.get(
    "/{assessment_id}/declaration.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The PDF"}},
)
def declaration_pdf(
    assessment_id: Id,
    principal: CurrentPrincipal,
    db: Db,
    lang: Annotated[Literal["zh", "en"], Query(description="Language of the report.")] = "zh",
) -> Response:
    """The self-declaration as PDF: what was declared (a declared or verified assessment), or
    the live result (a draft)."""
    shared = _reader(principal)
    summary = assessments.get_assessment(
        db, principal.org_id, assessment_id, shared_with_user=shared, include_result=False
    )
    pdf = assessments.declaration_pdf(
        db, principal.org_id, assessment_id, lang, shared_with_user=shared
    )
    name = f"declaration-{summary['year']}-{assessment_id}-{lang}.pdf"
    return Response(
        pdf, media_type="application/pdf", headers={"Content-Disposition": _attachment(name)}
    )


@router.get("/{assessment_id}/evidence", response_model=PageOut[EvidenceOut])
def list_evidence(
    assessment_id: Id,
    principal: CurrentPrincipal,
    db: Db,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Any:
    """The evidence files of an assessment (without their content)."""
    rows = assessments.list_evidence(
        db, principal.org_id, assessment_id, shared_with_user=_reader(principal)
    )
    items = json_safe(rows[offset : offset + limit])
    return {"items": items, "total": len(rows), "limit": limit, "offset": offset}


@router.post(
    "/{assessment_id}/evidence",
    response_model=EvidenceOut,
    status_code=201,
    responses={413: {"model": ErrorBody, "description": "The file is too large"}},
)
def add_evidence(
    assessment_id: Id,
    file: Annotated[UploadFile, File(description="The evidence file (PDF, image, ...).")],
    indicator_id: Annotated[
        str, Form(min_length=1, max_length=80, description="The questionnaire item it proves.")
    ],
    principal: CurrentPrincipal,
    db: Db,
    settings: Settings,
) -> Any:
    """Attach an evidence file to an indicator of a draft (the same file twice is stored once);
    the file counts as evidence of that indicator's answer."""
    require(principal, "write_data")
    limit = min(settings.max_upload_mb * 1024 * 1024, MAX_EVIDENCE_BYTES)
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise HTTPException(
            413,
            f"The evidence file is larger than {limit // (1024 * 1024)} MiB. Compress or split it.",
        )
    meta = assessments.add_evidence(
        db,
        principal.org_id,
        assessment_id,
        indicator_id,
        file.filename or "evidence",
        file.content_type,
        data,
        principal.user_id,
    )
    return json_safe(meta)


@router.get(
    "/{assessment_id}/evidence/{evidence_id}",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "The file"}},
)
def download_evidence(
    assessment_id: Id, evidence_id: Id, principal: CurrentPrincipal, db: Db
) -> Response:
    """Download an evidence file (always as an attachment)."""
    meta, data = assessments.get_evidence(
        db, principal.org_id, assessment_id, evidence_id, shared_with_user=_reader(principal)
    )
    ctype = str(meta["content_type"])
    if any(word in ctype.lower() for word in _ACTIVE):
        ctype = "application/octet-stream"  # never rendered as a page of this site
    return Response(
        data,
        media_type=ctype,
        headers={
            "Content-Disposition": _attachment(str(meta["filename"])),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


@router.delete("/{assessment_id}/evidence/{evidence_id}", status_code=204)
def delete_evidence(
    assessment_id: Id, evidence_id: Id, principal: CurrentPrincipal, db: Db
) -> Response:
    """Delete an evidence file of a draft."""
    require(principal, "write_data")
    assessments.delete_evidence(db, principal.org_id, assessment_id, evidence_id, principal.user_id)
    return Response(status_code=204)


@router.get("/{assessment_id}/shares", response_model=list[ShareOut])
def list_shares(assessment_id: Id, principal: CurrentPrincipal, db: Db) -> list[ShareOut]:
    """The assessors the assessment is shared with."""
    require(principal, "share")
    rows = assessments.list_assessment_shares(db, principal.org_id, assessment_id)
    return [ShareOut(**row) for row in rows]


@router.post("/{assessment_id}/shares", response_model=ShareOut, status_code=201)
def share(
    assessment_id: Id, body: AssessmentShareIn, principal: CurrentPrincipal, db: Db
) -> ShareOut:
    """Share the assessment with an assessor member (by username or user id): they may then
    read and verify it. Sharing again changes nothing."""
    require(principal, "share")
    row = assessments.share_assessment(
        db, principal.org_id, assessment_id, body.user, user_id=principal.user_id
    )
    return ShareOut(**row)


@router.delete("/{assessment_id}/shares/{user_id}", status_code=204)
def unshare(assessment_id: Id, user_id: Id, principal: CurrentPrincipal, db: Db) -> Response:
    """Stop sharing the assessment with a user."""
    require(principal, "share")
    assessments.unshare_assessment(
        db, principal.org_id, assessment_id, user_id, user_id=principal.user_id
    )
    return Response(status_code=204)
