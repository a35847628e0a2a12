"""The pure parts of the import page: the error table's rows, the preview counts per table,
the progress of a whole import, and what the page makes of an upload's outcome."""

from __future__ import annotations

from types import MappingProxyType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhuoyue.errors import (
    DataError,
    InputFileError,
    PermissionDenied,
    Problem,
)
from zhuoyue.ingest.workbook import AssessmentDataError
from zhuoyue.services.importing import TABLES, ImportConflictError, ImportReport, TableCounts
from zhuoyue.services.uploads import UploadOutcome, UploadTooLarge
from zhuoyue.web.importing import (
    conflict_counts,
    display_value,
    overall_progress,
    preview_rows,
    problem_rows,
    verdict_of,
)

BAD_CELL = Problem(
    3,
    "value",
    "12,5x",
    "not_a_number",
    'measurements.csv, row 3, column "value": ...',
    "measurements",
)
CLASH = Problem(6, "passed_first", 47, "conflict", "inspections, row 6: stored 48", "inspections")


def report(**tables: TableCounts) -> ImportReport:
    return ImportReport(
        source="good.zip",
        org_code="acme",
        org_id=1,
        org_created=False,
        year=None,
        dry_run=True,
        tables=MappingProxyType({t: tables.get(t, TableCounts()) for t in TABLES}),
        changes=(),
        warnings=("w",),
        duration_s=0.1,
    )


def test_problem_rows_name_sheet_row_column_value_and_message() -> None:
    blank = Problem(None, None, None, "missing_sheet", "no table", None)
    rows = problem_rows([BAD_CELL, CLASH, blank])
    assert rows[0] == {
        "id": 0,
        "sheet": "measurements",
        "row": 3,
        "column": "value",
        "value": "12,5x",
        "code": "not_a_number",
        "message": BAD_CELL.message,
    }
    assert (rows[1]["row"], rows[1]["value"]) == (6, "47")
    assert (rows[2]["sheet"], rows[2]["row"], rows[2]["column"], rows[2]["value"]) == (
        "",
        "",
        "",
        "",
    )
    assert [r["id"] for r in rows] == [0, 1, 2]  # unique keys of the paged table


def test_display_value() -> None:
    assert display_value(None) == ""
    assert display_value(0.1 + 0.2) == "0.3"
    assert display_value(12) == "12"
    long = display_value("x" * 200)
    assert len(long) == 60 and long.endswith("…")


@given(st.one_of(st.none(), st.text(), st.floats(), st.integers()))
def test_display_value_is_short_text(value: object) -> None:
    shown = display_value(value)
    assert isinstance(shown, str) and len(shown) <= 60


def test_preview_rows_of_a_valid_file_follow_the_import_order() -> None:
    rows = preview_rows(
        report(
            measurements=TableCounts(rows=5, inserted=3, identical=2),
            steps=TableCounts(rows=1, identical=1),
            characteristics=TableCounts(rows=2, updated=1, identical=1),
        )
    )
    assert [r["table"] for r in rows] == ["steps", "characteristics", "measurements"]
    assert rows[2] == {
        "table": "measurements",
        "rows": 5,
        "inserted": 3,
        "identical": 2,
        "updated": 0,
        "conflicting": 0,
    }


def test_preview_rows_of_an_invalid_file_count_the_problems_per_table() -> None:
    problems = [BAD_CELL, BAD_CELL, CLASH, Problem(None, None, None, "x", "m", "enterprise")]
    assert conflict_counts(problems) == {"measurements": 2, "inspections": 1, "enterprise": 1}
    rows = preview_rows(None, problems)
    assert [(r["table"], r["rows"], r["conflicting"]) for r in rows] == [
        ("measurements", 0, 2),
        ("inspections", 0, 1),
        ("enterprise", 0, 1),
    ]


def test_overall_progress() -> None:
    n = len(TABLES)
    assert overall_progress("steps", 0, 10) == 0
    assert overall_progress("measurements", 5, 10) == pytest.approx((3 + 0.5) / n)
    assert overall_progress("self_assessment", 1, 1) == 1
    assert overall_progress("measurements", 0, 0) == pytest.approx(4 / n)  # an empty table is done
    assert overall_progress("nope", 1, 1) == 0


@given(
    st.sampled_from(TABLES),
    st.integers(0, 10**6),
    st.integers(0, 10**6),
    st.sampled_from(TABLES),
)
def test_overall_progress_is_a_monotone_fraction(a: str, done: int, total: int, b: str) -> None:
    x = overall_progress(a, done, total)
    assert 0 <= x <= 1
    if TABLES.index(a) < TABLES.index(b):  # a later table is further on
        assert overall_progress(b, 0, max(total, 1)) >= x


def test_verdicts() -> None:
    outcome = UploadOutcome(report(measurements=TableCounts(rows=1, inserted=1)), ("notes.txt",))
    v = verdict_of(outcome)
    assert v.kind == "valid" and v.outcome is outcome
    assert v.warnings == ("w", "not imported (not a table file): notes.txt")

    bad = AssessmentDataError([BAD_CELL], source="bad.zip", total=1234)
    v = verdict_of(bad)
    assert (v.kind, v.total, v.clash, v.problems) == ("invalid", 1234, False, (BAD_CELL,))

    clash = ImportConflictError([CLASH], source="c.zip", total=1)
    v = verdict_of(clash)
    assert (v.kind, v.total, v.clash) == ("invalid", 1, True)

    assert verdict_of(UploadTooLarge("big")).kind == "too_large"
    assert verdict_of(InputFileError("x.zip: neither")).kind == "bad_file"
    assert verdict_of(PermissionDenied("no")).kind == "not_allowed"
    v = verdict_of(DataError("rejected", code="integrity"))
    assert (v.kind, v.message) == ("failed", "rejected")


def test_a_bug_is_not_a_verdict() -> None:
    with pytest.raises(KeyError):
        verdict_of(KeyError("bug"))
