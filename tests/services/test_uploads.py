"""Uploads to import (zhuoyue.services.uploads): names made safe, zips unpacked flat and
within limits (too many files, path traversal, links, duplicates, no CSV, not a zip, too large
once unpacked), and an upload imported all or nothing — a bad file writes nothing."""

from __future__ import annotations

import io
import re
import stat
import zipfile
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from zhuoyue.demo.factory import build_demo_database
from zhuoyue.errors import InputFileError, PermissionDenied, ValidationError
from zhuoyue.services import accounts
from zhuoyue.services.accounts import Principal
from zhuoyue.services.importing import ImportConflictError
from zhuoyue.services.measurements import list_measurements
from zhuoyue.services.uploads import (
    MAX_ZIP_FILES,
    UploadTooLarge,
    check_upload_size,
    import_upload,
    import_upload_as,
    is_clash,
    is_workbook,
    safe_name,
    template_bytes,
    unpack,
    unzip,
)
from zhuoyue.store.engine import make_engine

PLANT_A = "jinggong-auto"
MIB = 1024 * 1024


def zipped(files: dict[str, bytes | str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in files.items():
            z.writestr(name, content)
    return buf.getvalue()


def measurements_csv(values: list[str], second0: int = 0) -> str:
    rows = [f'C40-01,2024-12-31 23:58:{second0 + i:02d},"{v}"' for i, v in enumerate(values)]
    return "characteristic,ts,value\n" + "\n".join(rows) + "\n"


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*"))


# --------------------------------------------------------------------------- safe names
@pytest.mark.parametrize(
    ("given_name", "expected"),
    [
        ("plant.zip", "plant.zip"),
        ("C:\\Users\\li\\数据.xlsx", "数据.xlsx"),
        ("../../etc/passwd", "passwd"),
        ("..", "upload"),
        ("", "upload"),
        (None, "upload"),
        ("a\x00b\n.zip", "ab.zip"),
        ("x" * 100 + ".zip", ("x" * 100 + ".zip")[-80:]),
    ],
)
def test_safe_name(given_name: str | None, expected: str) -> None:
    assert safe_name(given_name, "upload") == expected


@given(st.text(max_size=300))
def test_safe_name_never_leaves_the_folder(name: str) -> None:
    out = safe_name(name, "upload")
    assert out and "/" not in out and "\\" not in out and out not in (".", "..")
    assert len(out) <= 80
    assert not any(ord(c) < 32 for c in out)


def test_check_upload_size() -> None:
    check_upload_size(MIB, 1)
    with pytest.raises(UploadTooLarge, match="larger than 1 MiB"):
        check_upload_size(MIB + 1, 1)


# --------------------------------------------------------------------------- unpacking
def test_a_workbook_is_kept_whole(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    buf = io.BytesIO()
    wb.save(buf)
    data = buf.getvalue()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert is_workbook(z)
    path, skipped = unpack(data, "数据", tmp_path, 10 * MIB, 10)
    assert (path.name, skipped) == ("数据.xlsx", [])
    assert path.read_bytes() == data
    path, _ = unpack(data, "book.XLSM", tmp_path, 10 * MIB, 10)
    assert path.name == "book.xlsm"


def test_a_zip_of_csv_files_is_unpacked_flat(tmp_path: Path) -> None:
    data = zipped(
        {
            "plant/measurements.csv": "a\n1\n",
            "plant/notes.txt": "hello",
            "plant/.hidden.csv": "x",
            "__MACOSX/plant/._measurements.csv": "junk",
        }
    )
    folder, skipped = unpack(data, "plant.zip", tmp_path, 10 * MIB, 10)
    assert folder == tmp_path / "plant.zip"
    assert files_in(folder) == ["measurements.csv"]
    assert sorted(skipped) == sorted(
        ["plant/notes.txt", "plant/.hidden.csv", "__MACOSX/plant/._measurements.csv"]
    )


def test_not_a_zip(tmp_path: Path) -> None:
    for content in (b"code,step\nX,OP10\n", b"", b"PK\x03\x04junk"):
        with pytest.raises(InputFileError, match="neither a workbook"):
            unpack(content, "c.csv", tmp_path, MIB, 1)
    assert files_in(tmp_path) == []


def test_too_many_files(tmp_path: Path) -> None:
    data = zipped({f"f{i}.csv": "a\n" for i in range(MAX_ZIP_FILES + 1)})
    with pytest.raises(InputFileError, match=f"holds {MAX_ZIP_FILES + 1} files"):
        unpack(data, "many.zip", tmp_path, 10 * MIB, 10)
    ok = zipped({f"f{i}.csv": "a\n" for i in range(MAX_ZIP_FILES)})
    folder, _ = unpack(ok, "ok.zip", tmp_path, 10 * MIB, 10)
    assert len(files_in(folder)) == MAX_ZIP_FILES


def test_path_traversal_names_are_written_by_their_base_name(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    outside = tmp_path / "escaped"
    data = zipped(
        {
            f"../../../../{outside}/characteristics.csv": "code\nX\n",
            "/etc/zhuoyue-measurements.csv": "x",
            "..\\..\\windows\\inspections.csv": "y",
        }
    )
    folder, skipped = unpack(data, "evil.zip", root, MIB, 1)
    assert skipped == []
    assert files_in(folder) == [
        "characteristics.csv",
        "inspections.csv",
        "zhuoyue-measurements.csv",
    ]
    assert not outside.exists() and not Path("/etc/zhuoyue-measurements.csv").exists()
    assert [p.parent for p in folder.iterdir()] == [folder] * 3


def test_symlinks_are_skipped_not_followed(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        link = zipfile.ZipInfo("output_value.csv")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        z.writestr(link, "/etc/passwd")
        z.writestr("measurements.csv", "a\n1\n")
    folder, skipped = unpack(buf.getvalue(), "l.zip", tmp_path, MIB, 1)
    assert skipped == ["output_value.csv"]
    assert files_in(folder) == ["measurements.csv"]


def test_duplicate_names(tmp_path: Path) -> None:
    data = zipped({"a/characteristics.csv": "x", "b/Characteristics.CSV": "y"})
    with pytest.raises(InputFileError, match=re.escape("two files named Characteristics.CSV")):
        unpack(data, "dup.zip", tmp_path, MIB, 1)


def test_no_csv(tmp_path: Path) -> None:
    for i, files in enumerate(({"readme.txt": "hello"}, {"folder/": ""})):
        with pytest.raises(InputFileError, match="holds no CSV file"):
            unpack(zipped(files), f"n{i}.zip", tmp_path, MIB, 1)


def test_too_large_once_unpacked(tmp_path: Path) -> None:
    bomb = zipped({"characteristics.csv": "code\n" + "\n" * (3 * MIB)})
    assert len(bomb) < 100_000
    with pytest.raises(UploadTooLarge, match="larger than 2 MiB once unpacked"):
        unpack(bomb, "bomb.zip", tmp_path, 2 * MIB, 2)


def test_the_limit_is_the_size_once_unpacked(tmp_path: Path) -> None:
    content = "a\n" * 1000
    data = zipped({"measurements.csv": content, "notes.txt": "x" * 10})
    for i, budget in enumerate((len(content) + 10, len(content) + 9)):
        folder = tmp_path / str(i)
        folder.mkdir()
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            if i == 0:
                assert unzip(z, folder, budget, 1) == ["notes.txt"]
            else:
                with pytest.raises(UploadTooLarge):
                    unzip(z, folder, budget, 1)


def test_is_clash() -> None:
    from zhuoyue.errors import Problem

    assert is_clash([Problem(2, "value", 1.0, "conflict", "m", "measurements")])
    assert not is_clash([Problem(2, "value", "x", "not_a_number", "m", "measurements")])
    assert not is_clash([])


def test_template_is_the_workbook_to_fill_in() -> None:
    data = template_bytes("en")
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert {"enterprise", "measurements", "characteristics"} <= set(wb.sheetnames)


# --------------------------------------------------------------------------- importing
@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """The demo factory (small) in a SQLite file of this module."""
    url = f"sqlite:///{tmp_path_factory.mktemp('uploads') / 'demo.db'}"
    build_demo_database(url, scale=0.02)
    eng = make_engine(url)
    try:
        yield eng
    finally:
        eng.dispose()


def principal(engine: Engine, username: str, org_code: str = PLANT_A) -> Principal:
    with Session(engine) as s:
        return accounts.login(s, username, f"zhuoyue-{username}", org=org_code).principal


def measurement_count(engine: Engine, p: Principal) -> int:
    with Session(engine) as s:
        return list_measurements(s, p, "C40-01", limit=1).total


def test_a_bad_file_writes_nothing(engine: Engine) -> None:
    p = principal(engine, "engineer")
    before = measurement_count(engine, p)
    bad = zipped({"measurements.csv": measurements_csv(["12.5", "12,5x", "13"])})
    with pytest.raises(ValidationError) as info:
        import_upload(engine, bad, "bad.zip", org_code=PLANT_A, user_id=p.user_id)
    [problem] = info.value.problems
    assert (problem.sheet, problem.row, problem.column, problem.value) == (
        "measurements",
        3,
        "value",
        "12,5x",
    )
    assert "/tmp" not in str(info.value)
    unknown = zipped({"measurements.csv": measurements_csv(["1"]).replace("C40-01", "NOPE")})
    with pytest.raises(ImportConflictError):
        import_upload(engine, unknown, "u.zip", org_code=PLANT_A)
    with pytest.raises(UploadTooLarge):
        import_upload(engine, b"x" * (MIB + 1), "big.zip", org_code=PLANT_A, max_upload_mb=1)
    assert measurement_count(engine, p) == before


def test_a_good_file_dry_run_commit_and_again(engine: Engine) -> None:
    p = principal(engine, "engineer")
    before = measurement_count(engine, p)
    good = zipped({"m/measurements.csv": measurements_csv(["20.01", "20.02", "20.03"], 30)})
    ticks: list[tuple[str, int, int]] = []
    with Session(engine) as s:
        dry = import_upload_as(s, p, good, "good.zip", dry_run=True)
    assert dry.report.dry_run and dry.report.source == "good.zip"
    assert dry.report.tables["measurements"].inserted == 3
    assert measurement_count(engine, p) == before
    with Session(engine) as s:
        done = import_upload_as(s, p, good, "good.zip", progress=lambda *a: ticks.append(a))
    assert done.report.tables["measurements"].inserted == 3
    assert ("measurements", 3, 3) in ticks
    assert measurement_count(engine, p) == before + 3
    with Session(engine) as s:
        again = import_upload_as(s, p, good, "good.zip")
    assert (again.report.inserted, again.report.tables["measurements"].identical) == (0, 3)
    assert measurement_count(engine, p) == before + 3
    # the same rows with another value: a conflict, nothing written
    changed = zipped({"measurements.csv": measurements_csv(["20.01", "99", "20.03"], 30)})
    with Session(engine) as s, pytest.raises(ImportConflictError) as info:
        import_upload_as(s, p, changed, "changed.zip")
    assert is_clash(info.value.problems)
    assert measurement_count(engine, p) == before + 3


def test_skipped_entries_are_warnings(engine: Engine) -> None:
    data = zipped({"measurements.csv": measurements_csv(["20.5"], 50), "notes.txt": "x"})
    outcome = import_upload(engine, data, "w.zip", org_code=PLANT_A, dry_run=True)
    assert outcome.warnings[-1] == "not imported (not a table file): notes.txt"
    assert outcome.to_dict()["warnings"] == list(outcome.warnings)


def test_only_writers_import(engine: Engine) -> None:
    viewer = principal(engine, "demo", "hengli-parts")  # a viewer in plant B
    good = zipped({"measurements.csv": measurements_csv(["1"])})
    with Session(engine) as s, pytest.raises(PermissionDenied):
        import_upload_as(s, viewer, good, "good.zip", dry_run=True)
