"""Uploaded files to import: a workbook (.xlsx) or a .zip of CSV files, checked, unpacked and
imported into one organization (``POST /api/v1/imports`` and the web app's import page).

A zip is unpacked into a private temporary folder: only its ``.csv`` / ``.parquet`` files, each
under its own base name (no folders, so no path leaves the folder; links, hidden files and
``__MACOSX`` entries are skipped), at most :data:`MAX_ZIP_FILES` files and ``max_unzipped_mb``
MiB once unpacked (the sizes a zip declares are not trusted: the bytes written are counted).
A file larger than the limits raises :class:`UploadTooLarge` (HTTP 413 in the API).

:func:`import_upload` unpacks, reads (:func:`~zhuoyue.ingest.workbook.read_assessment_data`)
and imports (:func:`~zhuoyue.services.importing.import_data`: all or nothing, idempotent) an
upload; :func:`import_upload_as` does it for a principal who may ``write_data``.
"""

from __future__ import annotations

import io
import re
import stat
import tempfile
import unicodedata
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from zhuoyue.errors import InputFileError, Problem
from zhuoyue.ingest.workbook import read_assessment_data, write_template
from zhuoyue.services.accounts import Principal, require
from zhuoyue.services.importing import ImportReport, ProgressFn, import_data

__all__ = [
    "CLASHES",
    "MAX_UNZIPPED_MB",
    "MAX_UPLOAD_MB",
    "MAX_ZIP_FILES",
    "TABLE_SUFFIXES",
    "UploadOutcome",
    "UploadTooLarge",
    "check_upload_size",
    "import_upload",
    "import_upload_as",
    "is_clash",
    "is_workbook",
    "safe_name",
    "template_bytes",
    "unpack",
    "unzip",
]

#: most files a zip may hold
MAX_ZIP_FILES = 200
#: default largest upload, in MiB (the API's ``ZHUOYUE_MAX_UPLOAD_MB``)
MAX_UPLOAD_MB = 50
#: default largest total size of a zip's files once unpacked, in MiB
MAX_UNZIPPED_MB = 1024
#: problem codes of rows that clash with stored rows (HTTP 409); other problems are bad input
CLASHES = frozenset({"conflict", "other_enterprise"})
#: the files of a zip that are read (one per table, named after it)
TABLE_SUFFIXES = (".csv", ".parquet")
_CHUNK = 1024 * 1024


class UploadTooLarge(InputFileError):
    """The upload, or the files of a zip once unpacked, exceed the size limit."""

    code = "too_large"


def check_upload_size(size: int, max_upload_mb: int) -> None:
    """Raise :class:`UploadTooLarge` when ``size`` bytes exceed ``max_upload_mb`` MiB."""
    if size > max_upload_mb * 1024 * 1024:
        raise UploadTooLarge(
            f"The file is larger than {max_upload_mb} MiB. Split it, or import it "
            "with 'zhuoyue import'."
        )


def safe_name(filename: str | None, default: str) -> str:
    """The base name of an uploaded file, without control characters or separators."""
    base = re.split(r"[\\/]", filename or "")[-1]
    base = "".join(c for c in base if unicodedata.category(c)[0] != "C").strip()
    if base in ("", ".", ".."):
        return default
    return base[-80:]  # a file name of at most 255 bytes


def is_workbook(archive: zipfile.ZipFile) -> bool:
    """Whether a zip archive is an Excel workbook (.xlsx / .xlsm) rather than a zip of files."""
    names = set(archive.namelist())
    return "[Content_Types].xml" in names and any(n.startswith("xl/") for n in names)


def is_clash(problems: Iterable[Problem]) -> bool:
    """Whether some of ``problems`` are rows clashing with stored rows (not bad input)."""
    return any(p.code in CLASHES for p in problems)


def unzip(archive: zipfile.ZipFile, folder: Path, budget: int, limit_mb: int) -> list[str]:
    """Extract the table files of ``archive`` flat into ``folder``; returns the names skipped.

    ``budget`` is the most bytes the extracted files may hold (``limit_mb`` MiB, for messages).
    """
    members = [m for m in archive.infolist() if not m.is_dir()]
    if len(members) > MAX_ZIP_FILES:
        raise InputFileError(
            f"The zip holds {len(members)} files; at most {MAX_ZIP_FILES} are accepted (one "
            "CSV file per table: measurements.csv, inspections.csv, ...)."
        )
    too_large = UploadTooLarge(
        f"The files of the zip are larger than {limit_mb} MiB once unpacked. Import them "
        "in parts, or with 'zhuoyue import'."
    )
    if sum(m.file_size for m in members) > budget:
        raise too_large
    skipped: list[str] = []
    seen: dict[str, str] = {}
    for m in members:
        path = PurePosixPath(m.filename.replace("\\", "/"))
        name = safe_name(path.name, "")
        mode = m.external_attr >> 16
        if (
            not name
            or name.startswith(".")
            or "__MACOSX" in path.parts
            or stat.S_ISLNK(mode)
            or not name.lower().endswith(TABLE_SUFFIXES)
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


def unpack(
    data: bytes, name: str, root: Path, budget: int, limit_mb: int
) -> tuple[Path, list[str]]:
    """The workbook file or the folder of CSV files to read (under ``root``), and the zip
    entries skipped."""
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
        if is_workbook(archive):
            suffix = ".xlsm" if name.lower().endswith(".xlsm") else ".xlsx"
            stem = name[: -len(suffix)] if name.lower().endswith(suffix) else name
            path = root / (stem + suffix)
            path.write_bytes(data)
            return path, []
        folder = root / name
        folder.mkdir()
        try:
            skipped = unzip(archive, folder, budget, limit_mb)
        except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError) as exc:
            raise InputFileError(f"{name}: the zip cannot be unpacked ({exc}).") from None
        return folder, skipped


@dataclass(frozen=True, slots=True)
class UploadOutcome:
    """What importing an upload did (or would do, in a dry run), and the zip entries skipped."""

    report: ImportReport
    skipped: tuple[str, ...] = ()

    @property
    def warnings(self) -> tuple[str, ...]:
        """The import's warnings, then one per zip entry that is not a table file."""
        return self.report.warnings + tuple(
            f"not imported (not a table file): {n}" for n in self.skipped
        )

    def to_dict(self) -> dict[str, Any]:
        """The report's :meth:`~zhuoyue.services.importing.ImportReport.to_dict` with
        :attr:`warnings`."""
        out = self.report.to_dict()
        out["warnings"] = list(self.warnings)
        return out


def import_upload(
    engine: Engine,
    data: bytes,
    filename: str | None,
    *,
    org_code: str,
    user_id: int | None = None,
    dry_run: bool = False,
    progress: ProgressFn | None = None,
    max_upload_mb: int = MAX_UPLOAD_MB,
    max_unzipped_mb: int = MAX_UNZIPPED_MB,
) -> UploadOutcome:
    """Import an uploaded workbook or zip of CSV files into ``org_code``, all or nothing.

    Raises :class:`UploadTooLarge`, :class:`~zhuoyue.errors.InputFileError` (not a workbook or
    zip, an unsafe zip), and whatever :func:`~zhuoyue.services.importing.import_data` raises
    (:class:`~zhuoyue.services.importing.ImportConflictError`, ...); nothing is written then.
    Messages name the upload, never the temporary folder.
    """
    check_upload_size(len(data), max_upload_mb)
    name = safe_name(filename, "upload")
    with tempfile.TemporaryDirectory(prefix="zhuoyue-import-") as tmp:
        root = Path(tmp)
        path, skipped = unpack(data, name, root, max_unzipped_mb * 1024 * 1024, max_unzipped_mb)
        try:
            read = read_assessment_data(path)
        except InputFileError as exc:  # without the temporary folder's path
            raise InputFileError(str(exc).replace(f"{root}/", "")) from None
        report = import_data(
            engine,
            replace(read, source=name),
            org_code=org_code,
            dry_run=dry_run,
            user_id=user_id,
            progress=progress,
        )
    return UploadOutcome(report, tuple(skipped))


def import_upload_as(
    session: Session,
    principal: Principal,
    data: bytes,
    filename: str | None,
    *,
    dry_run: bool = False,
    progress: ProgressFn | None = None,
    max_upload_mb: int = MAX_UPLOAD_MB,
    max_unzipped_mb: int = MAX_UNZIPPED_MB,
) -> UploadOutcome:
    """:func:`import_upload` into the principal's organization (needs ``write_data``).

    The import runs in its own transaction on the session's engine: ``session`` must not hold
    a write (SQLite would make the import wait for it).
    """
    require(principal, "write_data")
    engine = session.get_bind()
    if not isinstance(engine, Engine):
        engine = engine.engine
    return import_upload(
        engine,
        data,
        filename,
        org_code=principal.org_code,
        user_id=principal.user_id,
        dry_run=dry_run,
        progress=progress,
        max_upload_mb=max_upload_mb,
        max_unzipped_mb=max_unzipped_mb,
    )


def template_bytes(lang: str = "zh") -> bytes:
    """The empty workbook to fill in (:func:`~zhuoyue.ingest.workbook.write_template`)."""
    with tempfile.TemporaryDirectory(prefix="zhuoyue-template-") as tmp:
        path = write_template(Path(tmp) / "template.xlsx", lang=lang)
        return path.read_bytes()
