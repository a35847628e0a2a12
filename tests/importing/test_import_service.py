"""services.importing.import_data on SQLite and PostgreSQL: all or nothing, idempotent, every
conflict reported with sheet, row, column, stored and new value."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from importing_helpers import plant_rows, write_folder, write_workbook
from sqlalchemy import Engine, func, select

from zhuoyue.errors import InputFileError, ParameterError, ValidationError
from zhuoyue.ingest.workbook import AssessmentDataError, read_assessment_data
from zhuoyue.services.importing import TABLES, ImportConflictError, ImportReport, import_data
from zhuoyue.store.bulk import read_series
from zhuoyue.store.keys import row_key
from zhuoyue.store.models import (
    Assessment,
    AuditLog,
    Characteristic,
    Inspection,
    Measurement,
    Organization,
    ProcessStep,
    QualityCost,
)
from zhuoyue.store.validation import credit_code_check_char

Snapshot = Callable[[Engine], dict[str, tuple[int, str]]]

ENTERPRISE = {"name": "示例精密机械有限公司", "year": "2024", "industry": "C3670 汽车零部件"}
ROWS = {
    "steps": 2,
    "products": 1,
    "characteristics": 2,
    "measurements": 20,
    "inspections": 4,
    "product_quality": 1,
    "quality_costs": 4,
    "output_value": 1,
    "self_assessment": 2,
}


def counts(report: ImportReport, what: str) -> dict[str, int]:
    return {t: getattr(c, what) for t, c in report.tables.items() if c.rows}


def count(engine: Engine, model: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model)).scalar_one())


@pytest.mark.parametrize("kind", ["workbook", "folder"])
def test_import_then_reimport_is_idempotent(engine: Engine, tmp_path: Path, kind: str) -> None:
    rows = plant_rows()
    if kind == "workbook":
        src = write_workbook(tmp_path / "plant.xlsx", rows, ENTERPRISE)
    else:
        src = write_folder(tmp_path / "plant", rows, ENTERPRISE)
    first = import_data(engine, src, org_code="acme", create_org=True)
    assert first.org_created and first.year == 2024 and not first.dry_run
    assert counts(first, "rows") == ROWS
    assert counts(first, "inserted") == ROWS
    assert first.identical == 0 and first.updated == 0
    assert list(first.tables) == list(TABLES)

    second = import_data(engine, src, org_code="acme")
    assert not second.org_created
    assert second.inserted == 0 and second.updated == 0
    assert counts(second, "identical") == ROWS
    assert second.to_dict()["totals"] == {"inserted": 0, "identical": 24 + 13, "updated": 0}

    assert count(engine, Measurement) == 20
    assert count(engine, Inspection) == 4  # the repeated row of the file is kept, once
    assert count(engine, QualityCost) == 4
    with engine.connect() as conn:
        org = conn.execute(select(Organization)).one()
        assert (org.code, org.name, org.industry_code) == ("acme", ENTERPRISE["name"], "C3670")
        c1 = conn.execute(select(Characteristic).where(Characteristic.code == "C1")).one()
        assert (c1.lsl, c1.usl, c1.target, c1.subgroup_size, c1.key) == (
            9.95, 10.05, 10.0, 5, True,
        )  # fmt: skip
        steps = conn.execute(select(ProcessStep.code, ProcessStep.sequence)).all()
        assert sorted(steps) == [("OP10", 10), ("OP20", 20)]
    s = read_series(engine, c1.id)
    assert s.value.size == 15 and sorted(set(s.subgroup.tolist())) == [1, 2, 3]
    assert s.ts[0] == np.datetime64("2024-03-01T08:00:00", "us")


def test_row_keys_are_those_of_store_keys(engine: Engine, tmp_path: Path) -> None:
    rows = plant_rows()
    rows["inspections"].append([dt.date(2024, 3, 3), " ＯＰ10", "P-100", "Ｌ2 ", 5, 5, 0, None])
    import_data(engine, write_folder(tmp_path / "p", rows), org_code="acme", create_org=True)
    with engine.connect() as conn:
        keys = set(conn.execute(select(Inspection.row_key)).scalars())
        cost_keys = set(conn.execute(select(QualityCost.row_key)).scalars())
    d1, d2, d3 = dt.date(2024, 3, 1), dt.date(2024, 3, 2), dt.date(2024, 3, 3)
    assert keys == {
        row_key(d1, "OP10", "P-100", "L1", "D01"),
        row_key(d1, "OP20", "P-100", "L1", None),
        row_key(d2, "OP10", "P-100", None, None),
        row_key(d2, "OP10", "P-100", None, None, 1),  # the second of two equal rows
        row_key(d3, "OP10", "P-100", "L2", None),  # NFKC and stripped
    }
    assert cost_keys == {
        row_key(dt.date(2024, 3, 5), "internal.scrap", "报废 3 件", 0),
        row_key(dt.date(2024, 3, 5), "internal.scrap", "报废 3 件", 1),
        row_key(dt.date(2024, 3, 6), "internal.rework", None, 0),
        row_key(dt.date(2024, 3, 7), "external.claim", None, 0),
    }


def test_changed_rows_are_conflicts_and_change_nothing(
    engine: Engine, tmp_path: Path, snapshot: Snapshot
) -> None:
    rows = plant_rows()
    import_data(engine, write_folder(tmp_path / "v1", rows), org_code="acme", create_org=True)
    before = snapshot(engine)
    changed = copy.deepcopy(rows)
    changed["inspections"][1][5] = 190  # passed_first of row 3 (sheet row numbers)
    changed["measurements"][6][3] = 10.5  # value of row 8
    changed["quality_costs"][2][2] = 301.0  # amount of row 4
    changed["output_value"][0][1] = 26_000_000.0
    changed["measurements"].append(["C1", dt.datetime(2024, 6, 1), "9", 10.0, None, None, None])
    with pytest.raises(ImportConflictError) as info:
        import_data(engine, write_folder(tmp_path / "v2", changed), org_code="acme")
    err = info.value
    assert isinstance(err, ValidationError) and err.exit_code == 4 and err.total == 4
    got = {(p.sheet, p.row, p.column, p.value, p.code) for p in err.problems}
    assert got == {
        ("inspections", 3, "passed_first", 190, "conflict"),
        ("measurements", 8, "value", 10.5, "conflict"),
        ("quality_costs", 4, "amount", 301.0, "conflict"),
        ("output_value", 2, "total_output_value", 26_000_000.0, "conflict"),
    }
    msg = {p.sheet: p.message for p in err.problems}
    assert "the database has 195" in msg["inspections"]
    assert "step OP20" in msg["inspections"] and "delete the stored row" in msg["inspections"]
    assert "the database has 300.5" in msg["quality_costs"]
    assert "nothing was imported" in str(err)
    assert snapshot(engine) == before  # the new measurement of June was not written either


def test_bad_file_writes_nothing(engine: Engine, tmp_path: Path, snapshot: Snapshot) -> None:
    before = snapshot(engine)
    rows = plant_rows()
    rows["measurements"][3][3] = "12.5x"
    rows["inspections"][0][5] = 300  # passed_first > submitted
    with pytest.raises(AssessmentDataError) as info:
        import_data(engine, write_folder(tmp_path / "bad", rows), org_code="x", create_org=True)
    assert {(p.sheet, p.row, p.code) for p in info.value.problems} == {
        ("measurements", 5, "not_a_number"),
        ("inspections", 2, "passed_exceeds_submitted"),
    }
    with pytest.raises(InputFileError):
        import_data(engine, tmp_path / "missing", org_code="x", create_org=True)
    (tmp_path / "junk.xlsx").write_bytes(b"not a workbook")
    with pytest.raises(InputFileError):
        import_data(engine, tmp_path / "junk.xlsx", org_code="x", create_org=True)
    assert snapshot(engine) == before


def test_unknown_characteristic_code(engine: Engine, tmp_path: Path, snapshot: Snapshot) -> None:
    import_data(
        engine, write_folder(tmp_path / "a", plant_rows()), org_code="acme", create_org=True
    )
    before = snapshot(engine)
    rows = {
        "measurements": [
            ["C1", dt.datetime(2024, 4, 1, 8), "1", 10.0, None, None, None],
            ["C99", dt.datetime(2024, 4, 1, 8), None, 1.0, None, None, None],
            ["C99", dt.datetime(2024, 4, 1, 9), None, 1.5, None, None, None],
        ]
    }
    with pytest.raises(ImportConflictError) as info:
        import_data(engine, write_folder(tmp_path / "b", rows), org_code="acme")
    problems = info.value.problems
    assert [(p.row, p.column, p.value, p.code) for p in problems] == [
        (3, "characteristic", "C99", "unknown_characteristic"),
        (4, "characteristic", "C99", "unknown_characteristic"),
    ]
    assert "Add it to the characteristics table" in problems[0].message
    assert snapshot(engine) == before
    # a code stored by an earlier import is known without a characteristics table in the file
    ok = import_data(engine, write_folder(tmp_path / "c", {"measurements": rows["measurements"][:1]}),
                     org_code="acme")  # fmt: skip
    assert ok.tables["measurements"].inserted == 1


def test_dry_run_writes_nothing(engine: Engine, tmp_path: Path, snapshot: Snapshot) -> None:
    before = snapshot(engine)
    folder = write_folder(tmp_path / "p", plant_rows(), ENTERPRISE)
    report = import_data(engine, folder, org_code="acme", create_org=True, dry_run=True)
    assert report.dry_run and report.org_created and report.org_id is None
    assert counts(report, "inserted") == ROWS
    assert snapshot(engine) == before
    real = import_data(engine, folder, org_code="acme", create_org=True)
    after = snapshot(engine)
    again = import_data(engine, folder, org_code="acme", dry_run=True)
    assert counts(again, "identical") == ROWS and real.inserted == report.inserted
    assert snapshot(engine) == after


def test_changed_spec_is_applied_reported_and_audited(engine: Engine, tmp_path: Path) -> None:
    rows = plant_rows()
    import_data(engine, write_folder(tmp_path / "v1", rows), org_code="acme", create_org=True)
    rows["characteristics"][0][6] = 10.04  # usl of C1
    rows["characteristics"][0][1] = None  # a blank name keeps the stored one
    rows["characteristics"][1][5] = 49.8  # C2 gets a lower limit
    report = import_data(engine, write_folder(tmp_path / "v2", rows), org_code="acme")
    assert report.tables["characteristics"].updated == 2
    assert [(c.key, c.column, c.before, c.after) for c in report.changes] == [
        ("C1", "usl", 10.05, 10.04),
        ("C2", "lsl", None, 49.8),
    ]
    with engine.connect() as conn:
        c1 = conn.execute(select(Characteristic).where(Characteristic.code == "C1")).one()
        assert (c1.name, c1.usl) == ("外径", 10.04)
        audit = conn.execute(
            select(AuditLog).where(AuditLog.entity == "characteristic", AuditLog.action == "update")
        ).all()
    assert {(a.before["code"], a.before.get("usl"), a.after.get("usl")) for a in audit} == {
        ("C1", 10.05, 10.04),
        ("C2", None, None),
    }
    assert import_data(engine, write_folder(tmp_path / "v2", rows), org_code="acme").updated == 0


def test_self_assessment_draft_updated_then_new_draft_after_declaration(
    engine: Engine, tmp_path: Path
) -> None:
    rows = plant_rows()
    first = import_data(engine, write_folder(tmp_path / "v1", rows), org_code="acme",
                        create_org=True)  # fmt: skip
    rows["self_assessment"][1][1] = 3
    second = import_data(engine, write_folder(tmp_path / "v2", rows), org_code="acme")
    assert second.tables["self_assessment"].updated == 2
    assert second.assessment_id == first.assessment_id
    with engine.begin() as conn:
        a = conn.execute(select(Assessment)).one()
        assert a.status == "draft" and a.year == 2024
        assert a.answers["leadership"] == {
            "level": 3, "evidence": ["管理评审报告"], "respondent": "总经理办公室",
        }  # fmt: skip
        assert a.answers["quality_strategy"]["evidence"] == ["QM-001 质量手册", "年度质量目标"]
        conn.execute(Assessment.__table__.update().values(status="self_declared"))
    rows["self_assessment"][0][1] = 4
    third = import_data(engine, write_folder(tmp_path / "v3", rows), org_code="acme")
    assert third.tables["self_assessment"].inserted == 2
    assert third.assessment_id != first.assessment_id
    assert count(engine, Assessment) == 2


def test_checks_before_writing(engine: Engine, tmp_path: Path, snapshot: Snapshot) -> None:
    before = snapshot(engine)
    rows = plant_rows()
    rows["characteristics"][0][5] = 10.05  # lsl = usl
    rows["inspections"][0][2] = "P" * 41  # product code longer than the column
    rows["output_value"][0][1] = 0.0
    with pytest.raises(ImportConflictError) as info:
        import_data(engine, write_folder(tmp_path / "p", rows), org_code="acme", create_org=True)
    assert {(p.sheet, p.row, p.column, p.code) for p in info.value.problems} == {
        ("characteristics", 2, "lsl", "spec_limits_order"),
        ("inspections", 2, "product", "too_long"),
        ("output_value", 2, "total_output_value", "out_of_range"),
    }
    assert snapshot(engine) == before


def test_organization_rules(engine: Engine, tmp_path: Path, snapshot: Snapshot) -> None:
    folder = write_folder(tmp_path / "p", plant_rows())
    with pytest.raises(ParameterError, match="--create-org"):
        import_data(engine, folder, org_code="acme")
    with pytest.raises(ParameterError, match="lower-case"):
        import_data(engine, folder, org_code="Bad Code", create_org=True)
    mine = "91350100M000100Y43"
    other = "91320505MA1XK7Q3P" + credit_code_check_char("91320505MA1XK7Q3P")
    own = write_folder(tmp_path / "own", plant_rows(), {"credit_code": mine, "region": "350100"})
    report = import_data(engine, own, org_code="acme", create_org=True, org_name="Acme 精密")
    assert report.warnings == ()
    with engine.connect() as conn:
        org = conn.execute(select(Organization)).one()
    assert (org.name, org.credit_code, org.region_code) == ("Acme 精密", mine, "350100")
    before = snapshot(engine)
    # a file of another enterprise (by its 统一社会信用代码) is refused
    theirs = write_folder(tmp_path / "theirs", plant_rows(), {"credit_code": other})
    with pytest.raises(ImportConflictError) as info:
        import_data(engine, theirs, org_code="acme")
    assert info.value.problems[0].code == "other_enterprise"
    # an invalid code is not stored: a warning
    bad = write_folder(tmp_path / "bad", plant_rows(), {"credit_code": "91350100M000100Y44"})
    warned = import_data(engine, bad, org_code="acme-2", create_org=True, dry_run=True)
    assert "not a valid 统一社会信用代码" in warned.warnings[0]
    assert snapshot(engine) == before


def test_subgroup_labels_numbers_and_text(engine: Engine, tmp_path: Path) -> None:
    t = dt.datetime(2024, 5, 1, 8)
    labels = ["1", "1", "2", "2", "A-早班", "A-早班", "A-中班", "A-中班"]
    rows = {
        "characteristics": [["C1", None, None, "OP10", None, 1.0, 2.0, None, 2, "TRUE", None]],
        "measurements": [
            ["C1", t + dt.timedelta(minutes=i), lab, 1.5, None, None, None]
            for i, lab in enumerate(labels)
        ],
    }
    folder = write_folder(tmp_path / "p", rows)
    import_data(engine, folder, org_code="acme", create_org=True)
    with engine.connect() as conn:
        cid = conn.execute(select(Characteristic.id)).scalar_one()
    sg = read_series(engine, cid).subgroup.tolist()
    assert sg[:4] == [1, 1, 2, 2]
    assert sg[4] == sg[5] != sg[6] == sg[7] and min(sg[4:]) >= 2**30
    assert import_data(engine, folder, org_code="acme").tables["measurements"].identical == 8


def test_progress_and_assessment_data_input(engine: Engine, tmp_path: Path) -> None:
    data = read_assessment_data(write_folder(tmp_path / "p", plant_rows(), ENTERPRISE))
    calls: list[tuple[str, int, int]] = []
    report = import_data(
        engine, data, org_code="acme", create_org=True, progress=lambda *a: calls.append(a)
    )
    assert report.source == data.source
    done = {t: (d, n) for t, d, n in calls}
    for table, n in ROWS.items():
        assert (table, 0, n) in calls and done[table] == (n, n)
    assert report.to_dict()["tables"]["measurements"] == {
        "rows": 20, "inserted": 20, "identical": 0, "updated": 0,
    }  # fmt: skip
