"""Data builders and database snapshots of the import tests (imported by the tests and the
conftest of this folder)."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import openpyxl
from sqlalchemy import Engine, select

from zhuoyue.store.models import Base

Rows = dict[str, list[list[Any]]]

HEADERS: dict[str, list[str]] = {
    "characteristics": [
        "code", "name", "product", "step", "unit", "lsl", "usl", "target", "subgroup_size",
        "key", "chart",
    ],
    "measurements": ["characteristic", "ts", "subgroup", "value", "lot", "machine", "operator"],
    "inspections": [
        "date", "step", "product", "lot", "submitted", "passed_first", "defects", "defect_code",
    ],
    "product_quality": ["period", "product", "units", "defective"],
    "quality_costs": ["date", "category", "amount", "note"],
    "output_value": ["year", "total_output_value"],
    "self_assessment": ["item", "level", "evidence", "respondent"],
}  # fmt: skip


def plant_rows() -> Rows:
    """A small plant of 2024: 2 characteristics, 20 measurements, inspections of 2 steps."""
    t0 = dt.datetime(2024, 3, 1, 8, 0)
    meas: list[list[Any]] = []
    for k in range(3):  # three subgroups of 5 of C1
        for j in range(5):
            ts = t0 + dt.timedelta(hours=k, minutes=j)
            meas.append(["C1", ts, str(k + 1), round(10.0 + 0.01 * ((j * 7 + k) % 5 - 2), 3),
                         "L240301", "CNC-01", "张伟"])  # fmt: skip
    for k in range(5):  # individual values of C2, two at the same instant
        ts = t0 + dt.timedelta(hours=k // 2)
        meas.append(["C2", ts, None, 50.0 + 0.02 * k, None, None, None])
    return {
        "characteristics": [
            ["C1", "外径", "P-100", "OP10", "mm", 9.95, 10.05, 10.0, 5, "TRUE", "xbar_r"],
            ["C2", "长度", "P-100", "OP20", "mm", None, 50.2, None, 1, "FALSE", "imr"],
        ],
        "measurements": meas,
        "inspections": [
            [dt.date(2024, 3, 1), "OP10", "P-100", "L1", 200, 196, 4, "D01"],
            [dt.date(2024, 3, 1), "OP20", "P-100", "L1", 196, 195, 1, None],
            [dt.date(2024, 3, 2), "OP10", "P-100", None, 210, 205, 5, None],
            [dt.date(2024, 3, 2), "OP10", "P-100", None, 210, 205, 5, None],  # a repeated row
        ],
        "product_quality": [["2024-03", "P-100", 12000, 30]],
        "quality_costs": [
            [dt.date(2024, 3, 5), "internal.scrap", 1250.0, "报废 3 件"],
            [dt.date(2024, 3, 5), "internal.scrap", 1250.0, "报废 3 件"],  # kept twice
            [dt.date(2024, 3, 6), "返修费", 300.5, None],
            [dt.date(2024, 3, 7), "external.claim", 0.0, None],
        ],
        "output_value": [[2024, 25_000_000.0]],
        "self_assessment": [
            ["quality_strategy", 3, "QM-001 质量手册；年度质量目标", "质量部"],
            ["leadership", 2, "管理评审报告", "总经理办公室"],
        ],
    }


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v)


def write_folder(folder: Path, rows: Rows, enterprise: dict[str, str] | None = None) -> Path:
    """The tables as CSV files (UTF-8) named after them."""
    folder.mkdir(parents=True, exist_ok=True)
    for table, data in rows.items():
        lines = [",".join(HEADERS[table])] + [",".join(_cell(v) for v in r) for r in data]
        (folder / f"{table}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    if enterprise:
        lines = ["key,value"] + [f"{k},{v}" for k, v in enterprise.items()]
        (folder / "enterprise.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def write_workbook(path: Path, rows: Rows, enterprise: dict[str, str] | None = None) -> Path:
    """The tables as sheets of one workbook (header in row 1)."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    if enterprise:
        ws = wb.create_sheet("enterprise")
        ws.append(["key", "value"])
        for k, v in enterprise.items():
            ws.append([k, v])
    for table, data in rows.items():
        ws = wb.create_sheet(table)
        ws.append(HEADERS[table])
        for r in data:
            ws.append(list(r))
    wb.save(path)
    return path


def table_snapshot(engine: Engine) -> dict[str, tuple[int, str]]:
    """Per table: (row count, sha256 of every row in primary-key order)."""
    out: dict[str, tuple[int, str]] = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            order = list(table.primary_key.columns) or list(table.columns)
            rows = conn.execute(select(table).order_by(*order)).all()
            digest = hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()
            out[table.name] = (len(rows), digest)
    return out
