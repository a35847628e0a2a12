"""``/kpis``: the quality KPIs of the caller's organization, with the numbers of ``zhuoyue
assess`` (:func:`zhuoyue.services.kpi.kpis`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from zhuoyue.api.deps import CurrentPrincipal, Db
from zhuoyue.api.errors import ERROR_RESPONSES
from zhuoyue.api.schemas import MAX_YEAR, MIN_YEAR, KpisOut, json_safe
from zhuoyue.errors import DataError
from zhuoyue.services import kpi
from zhuoyue.services.accounts import require
from zhuoyue.services.assessment import resolve_year

__all__ = ["router"]

router = APIRouter(prefix="/kpis", tags=["KPIs"], responses=ERROR_RESPONSES)


def _default_year(db: Session, org_id: int) -> tuple[int, str]:
    """The year ``zhuoyue assess`` would take: the latest with an output value, else the latest
    date in the data (measurements are read only when no other table has a date)."""
    year, source = resolve_year(kpi.load_tables(db, org_id, measurements=False))
    if year is None:
        year, source = resolve_year(kpi.load_tables(db, org_id))
    if year is None:
        raise DataError(
            "The organization has no dated data yet (no output value, inspections, quality "
            "costs, product quality or measurements): import data first, or give ?year=.",
            code="no_data",
        )
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise DataError(
            f"The latest year in the data is {year}; give a year from {MIN_YEAR} to {MAX_YEAR} "
            "as ?year=.",
            code="bad_year",
        )
    return year, source


@router.get("", response_model=KpisOut)
def get_kpis(
    principal: CurrentPrincipal,
    db: Db,
    year: Annotated[
        int | None,
        Query(
            ge=MIN_YEAR,
            le=MAX_YEAR,
            description="The calendar year; default: the latest year with an output value, "
            "else the latest year in the data.",
        ),
    ] = None,
) -> Any:
    """Rolled yield by month and step, loss rates, cost of quality, sigma level, and a
    twelve-month trend of every quantitative indicator of the model."""
    require(principal, "read")
    source = "given"
    if year is None:
        year, source = _default_year(db, principal.org_id)
    out = kpi.kpis(db, principal.org_id, year)
    out["year_source"] = source
    return json_safe(out)
