"""``/imports``: a workbook (.xlsx) or a .zip of CSV files into the caller's organization —
``zhuoyue import`` over HTTP (:func:`zhuoyue.services.importing.import_data`).

All or nothing in one transaction, idempotent. A file with bad rows answers 422 and a file whose
rows clash with stored rows 409, every problem listed with its sheet (or file), row, column and
value; the database is unchanged. A zip is unpacked into a private temporary folder: only its
``.csv`` / ``.parquet`` files, each under its own base name (no folders, so no path leaves the
folder), at most :data:`MAX_ZIP_FILES` files and ``max_unzipped_mb`` MiB once unpacked.
"""

from __future__ import annotations

import io
import re
import stat
import tempfile
import unicodedata
import zipfile
import zlib
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from starlette.exceptions import HTTPException

from zhuoyue.api.deps import CurrentPrincipal, Db, Settings
from zhuoyue.api.errors import ERROR_RESPONSES, ErrorBody
from zhuoyue.api.schemas import ImportOut, json_safe
from zhuoyue.errors import InputFileError
from zhuoyue.ingest.workbook import read_assessment_data
from zhuoyue.services.accounts import Conflict, require
from zhuoyue.services.importing import ImportConflictError, import_data

__all__ = ["MAX_ZIP_FILES", "router"]

router = APIRouter(prefix="/imports", tags=["imports"], responses=ERROR_RESPONSES)

#: most files a zip may hold
MAX_ZIP_FILES = 200
#: problem codes of rows that clash with stored rows (409); other problems are bad input (422)
_CLASHES = frozenset({"conflict", "other_enterprise"})
_TABLE_SUFFIXES = (".csv", ".parquet")
_CHUNK = 1024 * 1024


def _safe_name(filename: str | None, default: str) -> str:
    """The base name of an uploaded file, without control characters or separators."""
    base = re.split(r"[\\/]", filename or "")[-1]
    base = "".join(c for c in base if unicodedata.category(c)[0] != "C").strip()
    if base in ("", ".", ".."):
        return default
    return base[-80:]  # a file name of at most 255 bytes


def _is_workbook(archive: zipfile.ZipFile) -> bool:
    names = set(archive.namelist())
    return "[Content_Types].xml" in names and any(n.startswith("xl/") for n in names)


def _unzip(archive: zipfile.ZipFile, folder: Path, budget: int, limit_mb: int) -> list[str]:
    """Extract the table files of ``archive`` flat into ``folder``; returns the names skipped."""
    members = [m for m in archive.infolist() if not m.is_dir()]
    if len(members) > MAX_ZIP_FILES:
        raise InputFileError(
            f"The zip holds {len(members)} files; at most {MAX_ZIP_FILES} are accepted (one "
            "CSV file per table: measurements.csv, inspections.csv, ...)."
        )
    too_large = HTTPException(
        413,
        f"The files of the zip are larger than {limit_mb} MiB once unpacked. Import them "
        "in parts, or with 'zhuoyue import'.",
    )
    if sum(m.file_size for m in members) > budget:
        raise too_large
    skipped: list[str] = []
    seen: dict[str, str] = {}
    for m in members:
        path = PurePosixPath(m.filename.replace("\\", "/"))
        name = _safe_name(path.name, "")
        mode = m.external_attr >> 16
        if (
            not name
            or name.startswith(".")
            or "__MACOSX" in path.parts
            or stat.S_ISLNK(mode)
            or not name.lower().endswith(_TABLE_SUFFIXES)
        ):
            skipped.append(m.filename)
            continue
        key = name.lower()
        if key in seen:
            raise InputFileError(
                f"The zip holds two files named {name} ({seen[key]} and {m.filename}); keep one "
                "file per table."
            )
        seen[key] = m.filename
        with archive.open(m) as src, (folder / name).open("wb") as dst:
            while chunk := src.read(_CHUNK):
                budget -= len(chunk)
                if budget < 0:  # the sizes the zip declares can lie
                    raise too_large
                dst.write(chunk)
    if not seen:
        raise InputFileError(
            "The zip holds no CSV file. Put one CSV file per table in it, named after the table "
            "(measurements.csv, inspections.csv, quality_costs.csv, ...)."
        )
    return skipped


def _unpack(
    data: bytes, name: str, root: Path, budget: int, limit_mb: int
) -> tuple[Path, list[str]]:
    """The workbook file or the folder of CSV files to read, and the zip entries skipped."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError):
        archive = None
    if archive is None:
        raise InputFileError(
            f"{name}: neither a workbook (.xlsx) nor a zip of CSV files. Upload the workbook made "
            "from the template (zhuoyue template), or a .zip of CSV files named after the tables."
        )
    with archive:
        if _is_workbook(archive):
            suffix = ".xlsm" if name.lower().endswith(".xlsm") else ".xlsx"
            stem = name[: -len(suffix)] if name.lower().endswith(suffix) else name
            path = root / (stem + suffix)
            path.write_bytes(data)
            return path, []
        folder = root / name
        folder.mkdir()
        try:
            skipped = _unzip(archive, folder, budget, limit_mb)
        except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError) as exc:
            raise InputFileError(f"{name}: the zip cannot be unpacked ({exc}).") from None
        return folder, skipped


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
    if len(data) > limit:
        raise HTTPException(
            413,
            f"The file is larger than {settings.max_upload_mb} MiB. Split it, or import it "
            "with 'zhuoyue import'.",
        )
    # the import runs in its own transaction: end the request's (a SQLite writer would wait)
    db.commit()
    name = _safe_name(file.filename, "upload")
    with tempfile.TemporaryDirectory(prefix="zhuoyue-import-") as tmp:
        root = Path(tmp)
        path, skipped = _unpack(
            data, name, root, settings.max_unzipped_mb * 1024 * 1024, settings.max_unzipped_mb
        )
        try:
            read = read_assessment_data(path)
        except InputFileError as exc:  # without the temporary folder's path
            raise InputFileError(str(exc).replace(f"{root}/", "")) from None
        try:
            report = import_data(
                request.app.state.engine,
                replace(read, source=name),
                org_code=principal.org_code,
                dry_run=dry_run,
                user_id=principal.user_id,
            )
        except ImportConflictError as exc:
            if any(p.code in _CLASHES for p in exc.problems):
                raise Conflict(str(exc), problems=exc.problems, code=exc.code) from None
            raise
    out = report.to_dict()
    out["warnings"] += [f"not imported (not a table file): {n}" for n in skipped]
    return json_safe(out)
