"""Bounds found by fuzzing: the year 9999 in :func:`zhuoyue.services.kpi.load_tables` and
datetimes of the years 1 and 9999 with an offset in the views (:mod:`zhuoyue.services.views`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from zhuoyue.errors import ParameterError
from zhuoyue.services import accounts, kpi, views
from zhuoyue.store.engine import make_engine
from zhuoyue.store.models import Base, Inspection, ProcessStep, QualityCost

PLUS8 = dt.timezone(dt.timedelta(hours=8))
MINUS5 = dt.timezone(dt.timedelta(hours=-5))


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    engine = make_engine(f"sqlite:///{tmp_path / 'bounds.db'}")
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        yield s
    engine.dispose()


def _org(session: Session) -> int:
    org, _ = accounts.bootstrap(
        session, org_code="edge", org_name="Edge", username="edgar", password="pw-edge-12345"
    )
    return org.id


def test_load_tables_of_the_year_9999(session: Session) -> None:
    oid = _org(session)
    step = ProcessStep(org_id=oid, code="OP10", name="Turning", sequence=10)
    session.add(step)
    session.flush()
    for i, day in enumerate((dt.date(9998, 12, 31), dt.date(9999, 1, 1), dt.date(9999, 12, 31))):
        key = f"{i:040d}"
        session.add(
            Inspection(
                org_id=oid, date=day, step_id=step.id, submitted=10, passed_first=9, row_key=key
            )
        )
        session.add(
            QualityCost(org_id=oid, date=day, category="appraisal", amount=1.0, row_key=key)
        )
    session.flush()
    tables = kpi.load_tables(session, oid, year=9999)  # no date of the year 10000
    assert tables["inspections"]["date"].to_list() == [dt.date(9999, 1, 1), dt.date(9999, 12, 31)]
    assert tables["quality_costs"].height == 2
    tables = kpi.load_tables(session, oid, year=9998)
    assert tables["inspections"]["date"].to_list() == [dt.date(9998, 12, 31)]
    assert kpi.load_tables(session, oid, year=1000) == {}
    with pytest.raises(ParameterError):
        kpi.load_tables(session, oid, year=10000)


def test_month_bounds_of_december_9999() -> None:
    assert kpi._month_bounds(9999, 12) == (dt.date(9999, 12, 1), None)
    assert kpi._month_bounds(9998, 12) == (dt.date(9998, 12, 1), dt.date(9999, 1, 1))
    assert kpi._month_bounds(2024, 2) == (dt.date(2024, 2, 1), dt.date(2024, 3, 1))


@pytest.mark.parametrize(
    "value",
    [dt.datetime(1, 1, 1, tzinfo=PLUS8), dt.datetime(9999, 12, 31, 23, tzinfo=MINUS5)],
    ids=["year-1+08:00", "year-9999-05:00"],
)
def test_views_refuse_times_outside_utc(session: Session, value: dt.datetime) -> None:
    with pytest.raises(ParameterError, match="'start' parameter is out of range"):
        views._utc(value, "start")
    oid = _org(session)
    with pytest.raises(ParameterError, match="'end' parameter is out of range"):
        views.characteristics_overview(session, oid, end=value)


def test_views_utc_within_range() -> None:
    assert views._utc(dt.datetime(1, 1, 1), "start") == dt.datetime(1, 1, 1, tzinfo=dt.UTC)
    assert views._utc(dt.datetime(1, 1, 1, 8, tzinfo=PLUS8), "start") == dt.datetime(
        1, 1, 1, tzinfo=dt.UTC
    )
    assert views._utc(None, "start") is None
