"""Imports over the API (SQLite and PostgreSQL): a zip of CSV files or a workbook into the
caller's organization, all or nothing, idempotent; bad rows 422 and clashes 409 with every
problem listed and the database unchanged; unsafe zips refused."""

from __future__ import annotations

import hashlib
import io
import stat
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import polars as pl
import pytest
from apitools import World, assert_error, org_state
from sqlalchemy import Engine, select

from zhuoyue.api import ApiSettings
from zhuoyue.demo.factory import make_plant
from zhuoyue.services.importing import import_data
from zhuoyue.store.models import Base

V1 = "/api/v1"
URL = f"{V1}/imports"


@pytest.fixture
def settings() -> ApiSettings:
    """Uploads up to 1 MiB, zips up to 2 MiB unpacked."""
    return ApiSettings(database_url="", superusers="root", max_upload_mb=1, max_unzipped_mb=2)


@pytest.fixture(scope="module")
def tables() -> dict[str, pl.DataFrame]:
    """Plant A of the demo factory, at a small scale: seven tables of 2024."""
    return dict(make_plant("a", seed=2023, scale=0.01).tables)


def zipped(files: dict[str, bytes | str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in files.items():
            z.writestr(name, content)
    return buf.getvalue()


def csv_zip(tables: dict[str, pl.DataFrame]) -> bytes:
    return zipped({f"plant/{name}.csv": df.write_csv() for name, df in tables.items()})


def post(
    world: World, content: bytes, name: str = "plant.zip", user: str = "eve", **data: Any
) -> Any:
    return world.client.post(
        URL,
        files={"file": (name, content, "application/zip")},
        data={k: str(v).lower() for k, v in data.items()},
        headers=world.auth(user),
    )


def snapshot(engine: Engine) -> dict[str, tuple[int, str]]:
    """Per table: row count and a checksum of every row (sign-in bookkeeping left out)."""
    out: dict[str, tuple[int, str]] = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name in ("api_token", "user_session"):
                continue
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).all()
            digest = hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()
            out[table.name] = (len(rows), digest)
    return out


# ------------------------------------------------------------------------------ happy paths
def test_zip_of_csv_files_dry_run_import_and_again(
    world: World, tables: dict[str, pl.DataFrame], tmp_path: Path
) -> None:
    content = csv_zip(tables)
    folder = tmp_path / "plant"
    folder.mkdir()
    for name, df in tables.items():
        df.write_csv(folder / f"{name}.csv")
    expected = import_data(world.engine, folder, org_code="acme", dry_run=True)
    before = snapshot(world.engine)
    r = post(world, content, dry_run=True)
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["dry_run"], report["org"], report["source"]) == (True, "acme", "plant.zip")
    assert report["tables"] == expected.to_dict()["tables"]
    assert report["tables"]["measurements"]["inserted"] == tables["measurements"].height
    assert snapshot(world.engine) == before  # a dry run writes nothing
    r = post(world, content)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["dry_run"] is False and report["org_id"] == world.a.id
    assert report["tables"] == expected.to_dict()["tables"]
    assert report["totals"]["inserted"] == expected.inserted and report["assessment_id"]
    after = snapshot(world.engine)
    assert after["inspection"][0] == before["inspection"][0] + tables["inspections"].height
    # the rows land in the caller's organization and read back through the API
    page = world.client.get(f"{V1}/characteristics", headers=world.auth("vic"))
    assert page.json()["total"] == 3 + tables["characteristics"].height
    # importing the same file again adds nothing
    r = post(world, content)
    assert r.status_code == 200, r.text
    assert r.json()["totals"]["inserted"] == 0 and r.json()["totals"]["updated"] == 0
    assert r.json()["tables"]["measurements"]["identical"] == tables["measurements"].height
    assert snapshot(world.engine) == after


def test_workbook(world: World, tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    sheets = {
        "characteristics": [
            ["code", "step", "lsl", "usl", "subgroup_size", "key"],
            ["BORE-D", "OP10", 9.9, 10.1, 5, "TRUE"],
            ["LEN-9", "OP20", 49.8, 50.2, 1, "FALSE"],
        ],
        "measurements": [["characteristic", "ts", "value"]]
        + [["LEN-9", f"2024-05-01 08:{i:02d}:00", 50.0 + i / 100] for i in range(10)],
        "output_value": [["year", "total_output_value"], [2024, 12_000_000]],
    }
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    path = tmp_path / "数据.xlsx"
    wb.save(path)
    r = post(world, path.read_bytes(), name="数据.xlsx")
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["source"] == "数据.xlsx"
    counts = {t: (c["rows"], c["inserted"]) for t, c in report["tables"].items() if c["rows"]}
    assert counts == {
        "steps": (2, 1),  # OP10 exists in the organization
        "characteristics": (2, 1),
        "measurements": (10, 10),
        "output_value": (1, 1),
    }
    r = world.client.get(f"{V1}/kpis", headers=world.auth("vic"))
    assert (r.json()["year"], r.json()["year_source"]) == (2024, "output_value")


def test_imports_go_into_the_caller_s_organization(
    world: World, tables: dict[str, pl.DataFrame]
) -> None:
    small = {"characteristics": tables["characteristics"].head(2)}
    a_before = org_state(world.engine, world.a.id)
    r = post(world, csv_zip(small), user="bob", org="acme", org_id=world.a.id)
    assert r.status_code == 200, r.text
    assert (r.json()["org"], r.json()["org_id"]) == ("beta", world.b.id)
    assert org_state(world.engine, world.a.id) == a_before
    b_chars = world.client.get(f"{V1}/characteristics", headers=world.auth("bob")).json()
    assert b_chars["total"] == 4


def test_only_writers_import(world: World, tables: dict[str, pl.DataFrame]) -> None:
    content = csv_zip({"characteristics": tables["characteristics"].head(1)})
    read_only = world.token("eve", ["read", "measurements:write"])
    before = snapshot(world.engine)
    for user in ("vic", "sam", "ada"):
        assert_error(post(world, content, user=user), 403)
    r = world.client.post(
        URL,
        files={"file": ("p.zip", content, "application/zip")},
        headers={"Authorization": f"Bearer {read_only}"},
    )
    assert_error(r, 403, "scope")
    assert snapshot(world.engine) == before


# --------------------------------------------------------------------------- bad input
def test_bad_rows_are_422_and_change_nothing(world: World, tables: dict[str, pl.DataFrame]) -> None:
    meas = tables["measurements"].head(30).with_columns(pl.col("value").cast(pl.String))
    meas = meas.with_columns(
        pl.when(pl.int_range(pl.len()).is_in([3, 7])).then(pl.lit("12,5x")).otherwise("value")
        .alias("value")
    )  # fmt: skip
    content = zipped(
        {
            "characteristics.csv": tables["characteristics"].write_csv(),
            "measurements.csv": meas.write_csv(),
        }
    )
    before = snapshot(world.engine)
    error = assert_error(post(world, content), 422)
    assert [(p["sheet"], p["row"], p["column"]) for p in error["problems"]] == [
        ("measurements", 5, "value"),
        ("measurements", 9, "value"),
    ]
    assert error["problems"][0]["value"] == "12,5x"
    # a characteristic the file does not define and the organization does not have
    unknown = tables["measurements"].head(5).with_columns(pl.lit("NOPE").alias("characteristic"))
    error = assert_error(post(world, zipped({"measurements.csv": unknown.write_csv()})), 422)
    assert error["code"] == "import_conflict"
    assert {p["code"] for p in error["problems"]} == {"unknown_characteristic"}
    assert "plant.zip" in error["message"] and "/tmp" not in error["message"]
    assert snapshot(world.engine) == before


def test_conflicts_are_409_and_change_nothing(
    world: World, tables: dict[str, pl.DataFrame]
) -> None:
    small = {
        "inspections": tables["inspections"].head(20),
        "output_value": tables["output_value"],
    }
    assert post(world, csv_zip(small)).status_code == 200
    changed = dict(small)
    changed["inspections"] = small["inspections"].with_columns(
        pl.when(pl.int_range(pl.len()) == 4)
        .then(pl.col("passed_first") - 1)
        .otherwise(pl.col("passed_first"))
        .alias("passed_first")
    )
    changed["output_value"] = small["output_value"].with_columns(pl.col("total_output_value") * 2)
    changed["measurements"] = tables["measurements"].head(10)  # new rows are not half-loaded
    changed["characteristics"] = tables["characteristics"]
    before = snapshot(world.engine)
    error = assert_error(post(world, csv_zip(changed)), 409, "import_conflict")
    where = {(p["sheet"], p["row"], p["column"], p["code"]) for p in error["problems"]}
    assert where == {
        ("inspections", 6, "passed_first", "conflict"),
        ("output_value", 2, "total_output_value", "conflict"),
    }
    assert "stored" in error["problems"][0]["message"]
    assert snapshot(world.engine) == before


def test_files_that_are_not_workbooks_or_zips(world: World) -> None:
    before = snapshot(world.engine)
    for content, name in (
        (b"code,step\nX,OP10\n", "c.csv"),
        (b"", "empty.xlsx"),
        (b"PK\x03\x04junk", "x.zip"),
    ):
        error = assert_error(post(world, content, name=name), 400, "input_file")
        assert "/tmp" not in error["message"]
    # a zip without a table file, and one whose file names say nothing
    assert_error(post(world, zipped({"readme.txt": "hello"})), 400, "input_file")
    error = assert_error(post(world, zipped({"data.csv": "a,b\n1,2\n"})), 400, "input_file")
    assert "/tmp" not in error["message"] and "plant.zip" in error["message"]
    r = world.client.post(URL, data={"dry_run": "true"}, headers=world.auth("eve"))
    assert_error(r, 422, "request_validation")
    assert_error(post(world, b"x" * (1024 * 1024 + 1)), 413, "too_large")
    assert snapshot(world.engine) == before


def test_unsafe_zips(world: World, tables: dict[str, pl.DataFrame], tmp_path: Path) -> None:
    chars = tables["characteristics"].head(3).write_csv()
    before = snapshot(world.engine)
    # more than 2 MiB once unpacked
    bomb = zipped({"characteristics.csv": chars + "\n" * (3 * 1024 * 1024)})
    assert len(bomb) < 100_000
    assert_error(post(world, bomb), 413, "too_large")
    assert_error(post(world, zipped({f"f{i}.csv": "a\n" for i in range(201)})), 400, "input_file")
    dup = zipped({"a/characteristics.csv": chars, "b/characteristics.csv": chars})
    assert "two files named" in assert_error(post(world, dup), 400, "input_file")["message"]
    assert snapshot(world.engine) == before
    # names that climb out of the folder are read by their base name, nothing written outside
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("../../../../tmp/escaped/characteristics.csv", chars)
        z.writestr("/etc/zhuoyue-measurements.csv", "x")
        link = zipfile.ZipInfo("output_value.csv")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        z.writestr(link, "/etc/passwd")
        z.writestr("__MACOSX/._characteristics.csv", "junk")
    r = post(world, buf.getvalue(), dry_run=True)
    assert r.status_code == 200, r.text
    assert r.json()["tables"]["characteristics"]["rows"] == 3
    assert r.json()["tables"]["output_value"]["rows"] == 0  # the link is not followed
    skipped = [w for w in r.json()["warnings"] if w.startswith("not imported")]
    assert len(skipped) == 2
    assert not Path("/tmp/escaped").exists() and not Path("/etc/zhuoyue-measurements.csv").exists()
