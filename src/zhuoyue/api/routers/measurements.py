"""Measurements: bulk add (JSON list, CSV upload), range queries and series.

Bulk adds are checked row by row before anything is written, all or nothing, and idempotent
(see :mod:`zhuoyue.services.measurements`): re-sending a batch adds nothing; a row stored with
other values is a conflict (409, every row listed) unless ``on_conflict=skip``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, File, Form, Query, UploadFile
from starlette.exceptions import HTTPException

from zhuoyue.api.deps import CurrentPrincipal, Db, Settings
from zhuoyue.api.errors import ERROR_RESPONSES, ErrorBody
from zhuoyue.api.routers._common import Ref
from zhuoyue.api.schemas import LoadOut, MeasurementOut, MeasurementRow, PageOut, SeriesOut
from zhuoyue.services import measurements
from zhuoyue.services.measurements import MAX_PAGE, MAX_ROWS, LoadResult
from zhuoyue.store.bulk import NO_SUBGROUP

__all__ = ["router"]

router = APIRouter(tags=["measurements"], responses=ERROR_RESPONSES)

OnConflict = Annotated[
    Literal["abort", "skip"],
    Query(description="A row stored with other values: refuse the batch (abort) or keep it."),
]
Tz = Annotated[
    str,
    Query(
        min_length=1,
        max_length=64,
        description="Time zone of time stamps without offset (IANA name, e.g. Asia/Shanghai).",
    ),
]
Start = Annotated[datetime | None, Query(description="From this time on (naive: UTC).")]
End = Annotated[datetime | None, Query(description="Before this time (naive: UTC).")]

_ROWS_SCHEMA = {
    "type": "array",
    "maxItems": MAX_ROWS,
    "items": MeasurementRow.model_json_schema(),
}


def _load(result: LoadResult) -> LoadOut:
    return LoadOut(
        received=result.received,
        inserted=result.inserted,
        identical=result.identical,
        conflicts_skipped=result.conflicts_skipped,
        characteristics=list(result.characteristics),
        ignored_columns=list(result.ignored_columns),
    )


@router.post(
    "/characteristics/{ref}/measurements",
    response_model=LoadOut,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _ROWS_SCHEMA}},
        }
    },
)
def add_measurements(
    ref: Ref,
    items: Annotated[Any, Body()],
    principal: CurrentPrincipal,
    db: Db,
    on_conflict: OnConflict = "abort",
    tz: Tz = "UTC",
) -> LoadOut:
    """Add a JSON list of measurements ``{ts, value, subgroup, lot, serial, machine, operator,
    msg_id}`` to the characteristic."""
    result = measurements.add_measurements(
        db, principal, ref, items, on_conflict=on_conflict, tz=tz
    )
    return _load(result)


@router.post(
    "/measurements/csv",
    response_model=LoadOut,
    responses={413: {"model": ErrorBody, "description": "The file is too large"}},
)
def upload_csv(
    file: Annotated[
        UploadFile,
        File(
            description="CSV (UTF-8 or GB18030) with the columns characteristic, ts, value and "
            "optionally subgroup, lot, serial, machine, operator, msg_id."
        ),
    ],
    principal: CurrentPrincipal,
    db: Db,
    settings: Settings,
    characteristic: Annotated[
        str | None,
        Form(
            max_length=200,
            description="The characteristic of every row, when the file "
            "has no characteristic column (id or code).",
        ),
    ] = None,
    on_conflict: OnConflict = "abort",
    tz: Tz = "UTC",
) -> LoadOut:
    """Upload a CSV file of measurements (multipart/form-data, field ``file``)."""
    limit = settings.max_upload_mb * 1024 * 1024
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise HTTPException(
            413,
            f"The file is larger than {settings.max_upload_mb} MiB. Split it, or import it "
            "with 'zhuoyue import'.",
        )
    result = measurements.add_measurements_csv(
        db,
        principal,
        data,
        filename=file.filename or "upload.csv",
        characteristic=characteristic,
        on_conflict=on_conflict,
        tz=tz,
    )
    return _load(result)


@router.get("/characteristics/{ref}/measurements", response_model=PageOut[MeasurementOut])
def list_measurements(
    ref: Ref,
    principal: CurrentPrincipal,
    db: Db,
    start: Start = None,
    end: End = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1000,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> PageOut[MeasurementOut]:
    """One page of the characteristic's measurements with start <= ts < end, in time order."""
    page = measurements.list_measurements(
        db, principal, ref, start=start, end=end, limit=limit, offset=offset
    )
    return PageOut[MeasurementOut].of(page, [MeasurementOut.of(m) for m in page.items])


@router.get("/characteristics/{ref}/series", response_model=SeriesOut)
def read_series(
    ref: Ref, principal: CurrentPrincipal, db: Db, start: Start = None, end: End = None
) -> SeriesOut:
    """All values of the characteristic with start <= ts < end as parallel arrays."""
    char, series = measurements.read_series(db, principal, ref, start=start, end=end)
    subgroup = series.subgroup.astype(object)
    subgroup[series.subgroup == NO_SUBGROUP] = None
    return SeriesOut(
        characteristic_id=char.id,
        code=char.code,
        ts=[t.replace(tzinfo=UTC) for t in series.ts.astype("datetime64[us]").tolist()],
        value=series.value.tolist(),
        subgroup=subgroup.tolist(),
    )
