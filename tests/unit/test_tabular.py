"""Reading tables: encodings, delimiters, Excel sheets, column names, row-level problems."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openpyxl
import polars as pl
import pytest

from zhuoyue.errors import DataError, InputFileError
from zhuoyue.ingest.tabular import read_table


def test_utf8_bom_and_semicolon(tmp_path: Path) -> None:
    p = tmp_path / "a.csv"
    p.write_bytes("\ufeff值;批次\n1.5;A\n2.5;B\n".encode())
    t = read_table(p)
    assert t.columns == ["值", "批次"]
    values, blank, problems = t.numbers("值")
    assert values.tolist() == [1.5, 2.5]
    assert not blank.any()
    assert problems == []


def test_gb18030_tab(tmp_path: Path) -> None:
    p = tmp_path / "a.tsv"
    p.write_bytes("测量值\t机台\n10.1\t一号机\n10.2\t二号机\n".encode("gb18030"))
    t = read_table(p)
    labels, _, _ = t.labels("机台")
    assert labels.tolist() == ["一号机", "二号机"]


def test_undecodable(tmp_path: Path) -> None:
    p = tmp_path / "bin.csv"
    p.write_bytes(b"\xff\xfe\x00\x81\x30\xff\xff")
    with pytest.raises(InputFileError, match="neither UTF-8 nor GB18030"):
        read_table(p)


def test_problems_name_rows_columns_and_values(tmp_path: Path) -> None:
    p = tmp_path / "a.csv"
    p.write_text('x\n1\n"12,5x"\n\n -inf \n2e3\n ３ \n', encoding="utf-8")
    t = read_table(p)
    values, blank, problems = t.numbers("x")
    assert values[0] == 1.0 and values[4] == 2000.0
    assert blank.tolist() == [False, False, True, False, False, False]
    got = [(q.row, q.column, q.value, q.code) for q in problems]
    assert (3, "x", "12,5x", "not_a_number") in got
    assert (4, "x", None, "blank") in got
    assert (5, "x", "-inf", "not_finite") in got
    assert (7, "x", "３", "not_a_number") in got  # full-width digit: not silently accepted
    msg = next(q.message for q in problems if q.row == 3)
    assert msg == 'Row 3, column "x": "12,5x" is not a number.'
    _, _, problems = t.numbers("x", skip_blank=True)
    assert all(q.code != "blank" for q in problems)


def test_column_resolution(tmp_path: Path) -> None:
    p = tmp_path / "a.csv"
    p.write_text("直径 (diameter),Sample [样本],lot\n1,2,3\n", encoding="utf-8")
    t = read_table(p)
    assert t.column("diameter") == "直径 (diameter)"
    assert t.column("直径") == "直径 (diameter)"
    assert t.column("SAMPLE") == "Sample [样本]"
    assert t.column("样本") == "Sample [样本]"
    assert t.column(" Lot ") == "lot"
    with pytest.raises(DataError, match="Did you mean 'lot'") as err:
        t.column("lots", role="value column")
    assert err.value.code == "missing_column"
    assert "no value column 'lots'" in str(err.value)


def test_excel_sheets_and_types(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "一"
    ws.append(["v", "s"])
    ws.append([1.25, "A"])
    ws.append(["bad", "A"])
    ws2 = wb.create_sheet("二")
    ws2.append(["v"])
    ws2.append([3])
    p = tmp_path / "w.xlsx"
    wb.save(p)
    t = read_table(p)  # first sheet by default
    values, _, problems = t.numbers("v")
    assert values[0] == 1.25
    assert [(q.row, q.code, q.value) for q in problems] == [(3, "not_a_number", "bad")]
    assert read_table(p, sheet="二").numbers("v")[0].tolist() == [3.0]
    with pytest.raises(InputFileError, match=r"no sheet '三'\. The sheets are: '一', '二'"):
        read_table(p, sheet="三")


def test_parquet_keeps_types(tmp_path: Path) -> None:
    p = tmp_path / "a.parquet"
    pl.DataFrame({"v": [1.0, None, 3.0], "g": [1, 1, 2]}).write_parquet(p)
    t = read_table(p)
    values, blank, problems = t.numbers("v")
    assert np.isnan(values[1]) and blank.tolist() == [False, True, False]
    assert [q.code for q in problems] == ["blank"]


@pytest.mark.parametrize(
    ("name", "content", "error", "needle"),
    [
        ("e.csv", "", DataError, "the file is empty"),
        ("e.csv", "   \n\n", DataError, "the file is empty"),
        ("h.csv", "a,b\n", DataError, "no data rows"),
        ("r.csv", "a,b\n1,2,3\n", DataError, "well-formed"),
        ("x.json", "{}", InputFileError, "unsupported file type '.json'"),
        ("noext", "a\n1\n", InputFileError, "unsupported file type"),
    ],
)
def test_bad_files(
    tmp_path: Path, name: str, content: str, error: type[Exception], needle: str
) -> None:
    p = tmp_path / name
    p.write_text(content, encoding="utf-8")
    with pytest.raises(error, match=needle):
        read_table(p)


def test_missing_and_folder(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="no such file"):
        read_table(tmp_path / "missing.csv")
    with pytest.raises(InputFileError, match="is a folder"):
        read_table(tmp_path)
    p = tmp_path / "a.csv"
    p.write_text("a\n1\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="--sheet applies to Excel"):
        read_table(p, sheet="x")
    # every error is also the builtin it refines
    assert issubclass(InputFileError, OSError) and issubclass(DataError, ValueError)


def test_parquet_nan_is_not_finite(tmp_path: Path) -> None:
    p = tmp_path / "n.parquet"
    pl.DataFrame({"v": [1.0, float("nan"), float("inf")]}).write_parquet(p)
    _, _, problems = read_table(p).numbers("v")
    assert [(q.row, q.code, q.value) for q in problems] == [
        (3, "not_finite", "nan"),
        (4, "not_finite", "inf"),
    ]
