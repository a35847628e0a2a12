"""``/imports``: a workbook (.xlsx) or a .zip of CSV files into the caller's organization —
``zhuoyue import`` over HTTP (:func:`zhuoyue.services.uploads.import_upload`).

All or nothing in one transaction, idempotent. A file with bad rows answers 422 and a file whose
rows clash with stored rows 409, every problem listed with its sheet (or file), row, column and
value; the database is unchanged. A zip is unpacked as :mod:`zhuoyue.services.uploads` says:
only its ``.csv`` / ``.parquet`` files, at most :data:`MAX_ZIP_FILES` files and
``max_unzipped_mb`` MiB once unpacked; a file beyond the limits answers 413.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from starlette.exceptions import HTTPException

from zhuoyue.api.deps import CurrentPrincipal, Db, Settings
from zhuoyue.api.errors import ERROR_RESPONSES, ErrorBody
from zhuoyue.api.schemas import ImportOut, json_safe
from zhuoyue.services.accounts import Conflict, require
from zhuoyue.services.importing import ImportConflictError
from zhuoyue.services.uploads import MAX_ZIP_FILES, UploadTooLarge, import_upload, is_clash

__all__ = ["MAX_ZIP_FILES", "router"]

router = APIRouter(prefix="/imports", tags=["imports"], responses=ERROR_RESPONSES)


@router.post(
    "",
    response_model=ImportOut,
    responses={413: {"model": ErrorBody, "description": "The file is too large"}},
)
def import_file(
    request: Request,
    file: Annotated[
        UploadFile,
        File(
            description="A workbook (.xlsx, from 'zhuoyue template') or a .zip of CSV files "
            "named after the tables (measurements.csv, inspections.csv, ...)."
        ),
    ],
    principal: CurrentPrincipal,
    db: Db,
    settings: Settings,
    dry_run: Annotated[
        bool, Form(description="Check everything and report what would change; write nothing.")
    ] = False,
) -> Any:
    """Import the canonical tables of a file into your organization, all or nothing."""
    require(principal, "write_data")
    limit = settings.max_upload_mb * 1024 * 1024
    data = file.file.read(limit + 1)
    # the import runs in its own transaction: end the request's (a SQLite writer would wait)
    db.commit()
    try:
        outcome = import_upload(
            request.app.state.engine,
            data,
            file.filename,
            org_code=principal.org_code,
            user_id=principal.user_id,
            dry_run=dry_run,
            max_upload_mb=settings.max_upload_mb,
            max_unzipped_mb=settings.max_unzipped_mb,
        )
    except UploadTooLarge as exc:
        raise HTTPException(413, str(exc)) from None
    except ImportConflictError as exc:
        if is_clash(exc.problems):
            raise Conflict(str(exc), problems=exc.problems, code=exc.code) from None
        raise
    return json_safe(outcome.to_dict())
