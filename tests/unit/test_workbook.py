"""The assessment workbook: the template, reading it back, CSV folders and every bad-input path."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import openpyxl
import polars as pl
import pytest

from zhuoyue.errors import InputFileError, OutputError, ParameterError, Problem, ValidationError
from zhuoyue.excellence import default_model, load_model
from zhuoyue.ingest.workbook import (
    CANONICAL_TABLES,
    DTYPES,
    ENTERPRISE_FIELDS,
    MAX_PROBLEMS,
    AssessmentDataError,
    read_assessment_data,
    write_template,
)
from zhuoyue.stats.yields import CATEGORIES, CATEGORY_NAMES_ZH

ALT_MODEL = Path(__file__).resolve().parents[1] / "data" / "alt_model.toml"
QUESTIONNAIRE = [i.id for i in default_model().questionnaire]


# --------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def template_zh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_template(tmp_path_factory.mktemp("tpl") / "自评估.xlsx")


@pytest.fixture(scope="module")
def template_en(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_template(tmp_path_factory.mktemp("tpl") / "assessment.xlsx", lang="en")


def filled(
    template: Path,
    out: Path,
    rows: dict[str, Sequence[Sequence[Any]]],
    *,
    enterprise: dict[str, Any] | None = None,
    levels: dict[str, Any] | None = None,
) -> Path:
    """A copy of ``template`` with data rows appended (in the template's column order), the
    enterprise values set by key and self-assessment levels set by item."""
    wb = openpyxl.load_workbook(template)
    for sheet, data in rows.items():
        ws = wb[sheet]
        for r in data:
            ws.append(list(r))
    if enterprise:
        ws = wb["enterprise"]
        keys = [f.key for f in ENTERPRISE_FIELDS]
        for key, value in enterprise.items():
            ws.cell(row=2 + keys.index(key), column=2, value=value)
    if levels:
        ws = wb["self_assessment"]
        heads = [c.value for c in ws[1]]
        level_col = 1 + next(i for i, h in enumerate(heads) if "level" in str(h))
        ev_col = level_col + 1
        for row in range(2, ws.max_row + 1):
            item = ws.cell(row=row, column=1).value
            if item in levels:
                ws.cell(row=row, column=level_col, value=levels[item])
                ws.cell(row=row, column=ev_col, value=f"证据 {item}")
    wb.save(out)
    return out


def workbook(path: Path, sheets: dict[str, Sequence[Sequence[Any]]]) -> Path:
    """A plain workbook: each sheet's first row is its header."""
    wb = openpyxl.Workbook()
    ws0 = wb.active
    assert ws0 is not None
    wb.remove(ws0)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for r in rows:
            ws.append(list(r))
    wb.save(path)
    return path


def problems_of(path: Path, **kwargs: Any) -> list[Problem]:
    with pytest.raises(AssessmentDataError) as info:
        read_assessment_data(path, **kwargs)
    assert isinstance(info.value, ValidationError)
    return list(info.value.problems)


def one(problems: list[Problem], code: str) -> Problem:
    hits = [p for p in problems if p.code == code]
    assert len(hits) == 1, [(p.code, p.message) for p in problems]
    return hits[0]


def csv_folder(folder: Path, files: dict[str, str], encoding: str = "utf-8") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_bytes(text.encode(encoding))
    return folder


# --------------------------------------------------------------------------- the contract


def test_canonical_tables_follow_the_data_contract() -> None:
    assert list(CANONICAL_TABLES) == [
        "characteristics",
        "measurements",
        "inspections",
        "product_quality",
        "quality_costs",
        "output_value",
        "self_assessment",
    ]
    required = {name: spec.required for name, spec in CANONICAL_TABLES.items()}
    assert required == {
        "characteristics": ("code", "step", "key"),
        "measurements": ("characteristic", "ts", "value"),
        "inspections": ("date", "step", "submitted", "passed_first"),
        "product_quality": ("period", "units"),  # + defective, or defects and opportunities
        "quality_costs": ("date", "category", "amount"),
        "output_value": ("year", "total_output_value"),
        "self_assessment": ("item", "level"),
    }
    assert CANONICAL_TABLES["characteristics"].column("key").dtype == "bool"
    assert CANONICAL_TABLES["measurements"].column("ts").dtype == "datetime"
    for spec in CANONICAL_TABLES.values():
        for col in spec.columns:
            assert col.dtype in DTYPES
            assert col.zh and col.help_zh and col.help_en
    assert [f.key for f in ENTERPRISE_FIELDS] == [
        "name",
        "credit_code",
        "industry",
        "region",
        "year",
        "contact",
        "top_manager",
    ]


# --------------------------------------------------------------------------- the template


def _validations(ws: Any) -> list[tuple[str, str | None, str | None, str, str | None]]:
    return [
        (dv.type, dv.operator, dv.formula1, str(dv.sqref), dv.formula2)
        for dv in ws.data_validations.dataValidation
    ]


def test_template_zh_sheets_headers_notes(template_zh: Path) -> None:
    wb = openpyxl.load_workbook(template_zh)
    assert wb.sheetnames == ["说明", "enterprise", *CANONICAL_TABLES]
    for spec in CANONICAL_TABLES.values():
        ws = wb[spec.name]
        heads = [c.value for c in ws[1]]
        for col in spec.columns:
            assert col.header("zh") in heads, (spec.name, col.key)
            cell = ws.cell(row=1, column=heads.index(col.header("zh")) + 1)
            assert cell.comment is not None and col.help_zh in cell.comment.text
            assert col.help_en in cell.comment.text
        assert ws.freeze_panes == ("D2" if spec.name == "self_assessment" else "A2")
    assert wb["measurements"].cell(row=1, column=4).value == "测量值（value）"
    # an empty template: no data row in the tables apart from the questionnaire
    assert wb["measurements"].max_row == 1
    text = "\n".join(
        str(v) for row in wb["说明"].iter_rows(values_only=True) for v in row if v is not None
    )
    for needle in ("measurements.csv", "退出码", "internal.scrap", "报废损失费", "经验级", "C001"):
        assert needle in text
    ent = wb["enterprise"]
    assert [ent.cell(row=r, column=1).value for r in range(2, 9)] == [
        f.header("zh") for f in ENTERPRISE_FIELDS
    ]


def test_template_data_validation(template_zh: Path, template_en: Path) -> None:
    wb = openpyxl.load_workbook(template_zh)
    chars = _validations(wb["characteristics"])
    assert ("list", None, '"TRUE,FALSE"', "J2:J1048576", None) in chars
    assert ("whole", "greaterThanOrEqual", "1", "I2:I1048576", None) in chars  # subgroup_size
    insp = _validations(wb["inspections"])
    for letter in "EFG":  # submitted, passed_first, defects
        assert ("whole", "greaterThanOrEqual", "0", f"{letter}2:{letter}1048576", None) in insp
    costs = _validations(wb["quality_costs"])
    assert ("decimal", "greaterThanOrEqual", "0", "C2:C1048576", None) in costs
    lists = [v for v in costs if v[0] == "list"]
    assert len(lists) == 1 and lists[0][3] == "B2:B1048576"
    assert lists[0][2] == '"' + ",".join(CATEGORY_NAMES_ZH[c] for c in CATEGORIES) + '"'
    assert ("list", None, '"1,2,3,4,5"', "I2:I1048576", None) in _validations(wb["self_assessment"])
    assert ("whole", "between", "1000", "A2:A1048576", "9999") in _validations(wb["output_value"])
    en_costs = [v for v in _validations(openpyxl.load_workbook(template_en)["quality_costs"])]
    assert ('"' + ",".join(CATEGORIES) + '"') in [v[2] for v in en_costs]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_template_lists_every_questionnaire_item(
    lang: str, template_zh: Path, template_en: Path
) -> None:
    path = template_zh if lang == "zh" else template_en
    ws = openpyxl.load_workbook(path)["self_assessment"]
    heads = [c.value for c in ws[1]]
    model = default_model()
    items = [ws.cell(row=r, column=1).value for r in range(2, ws.max_row + 1)]
    assert items == QUESTIONNAIRE
    first = model.questionnaire[0]
    row = [c.value for c in ws[2]]
    anchors = [a.text_zh if lang == "zh" else a.text_en for a in first.anchors]
    for text in anchors:
        assert any(isinstance(v, str) and v.startswith(text) for v in row), text
    assert (first.name_zh if lang == "zh" else first.name_en) in row
    level = heads.index("自评等级（level）" if lang == "zh" else "level (自评等级)")
    assert all(ws.cell(row=r, column=level + 1).value is None for r in range(2, ws.max_row + 1))
    if lang == "en":
        assert heads[0] == "item (指标编号)"
        assert openpyxl.load_workbook(path).sheetnames[0] == "Instructions"
        assert "1 Experience (L1)" in heads


def test_template_of_another_model(tmp_path: Path) -> None:
    alt = load_model(ALT_MODEL)
    path = write_template(tmp_path / "alt.xlsx", model=alt, lang="en")
    ws = openpyxl.load_workbook(path)["self_assessment"]
    assert [ws.cell(row=r, column=1).value for r in range(2, ws.max_row + 1)] == [
        i.id for i in alt.questionnaire
    ]
    assert "1 Starter (L1)" in [c.value for c in ws[1]]


def test_template_errors(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="'zh' or 'en'"):
        write_template(tmp_path / "a.xlsx", lang="fr")
    with pytest.raises(ParameterError, match=r"\.xlsx"):
        write_template(tmp_path / "a.xls")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="cannot write"):
        write_template(blocker / "sub" / "a.xlsx")
    (tmp_path / "dir.xlsx").mkdir()
    with pytest.raises(OutputError, match="folder"):
        write_template(tmp_path / "dir.xlsx")
    assert not list(tmp_path.glob(".zhuoyue-*"))  # no temporary file left behind


def test_empty_template_reads_as_unanswered_questionnaire(template_zh: Path) -> None:
    data = read_assessment_data(template_zh)
    assert list(data.tables) == ["self_assessment"]
    sa = data.tables["self_assessment"]
    assert sa["item"].to_list() == QUESTIONNAIRE
    assert sa["level"].null_count() == sa.height and sa.schema["level"] == pl.Int64
    assert data.year is None
    assert data.enterprise == dict.fromkeys(f.key for f in ENTERPRISE_FIELDS)


# --------------------------------------------------------------------------- round trip


def test_round_trip(template_zh: Path, tmp_path: Path) -> None:
    path = filled(
        template_zh,
        tmp_path / "filled.xlsx",
        {
            "characteristics": [
                ["C001", "外径", "P-100", "OP10", "mm", 9.95, 10.05, 10, 5, True, "xbar_r"],
                ["C002", None, None, "OP20", None, None, 3.2, None, None, "否", None],
            ],
            "measurements": [
                ["C001", dt.datetime(2025, 3, 1, 8, 30), 1, 10.012],
                ["C001", "2025-03-01 08:30:00", "1", "10.004"],
                [" C002 ", "2025/3/2 9:15", None, 3.1, "L1", None, "M01", "张三"],
            ],
            "inspections": [[dt.date(2025, 3, 1), "OP10", "P-100", "L1", 500, 492, 8, "D01"]],
            "product_quality": [["2025-03", "P-100", 12000, 35]],
            "quality_costs": [
                ["2025-03-05", "报废损失费", 1250.5, "3 件"],
                [dt.date(2025, 4, 1), "External.Claim", 0, None],
            ],
            "output_value": [[2025, 2.5e8]],
        },
        enterprise={
            "name": "示例精密机械有限公司",
            "year": 2025,
            "credit_code": "91350100M000100Y3K",
        },
        levels={"quality_strategy": 3, "leadership": 2},
    )
    data = read_assessment_data(path)
    assert data.year == 2025
    assert data.enterprise["name"] == "示例精密机械有限公司"
    assert data.enterprise["year"] == "2025"
    assert data.rows == {
        "characteristics": 2,
        "measurements": 3,
        "inspections": 1,
        "product_quality": 1,
        "quality_costs": 2,
        "output_value": 1,
        "self_assessment": len(QUESTIONNAIRE),
    }
    for name, df in data.tables.items():
        spec = CANONICAL_TABLES[name]
        for col, dtype in df.schema.items():
            assert dtype == spec.schema[col], (name, col)
    chars = data.tables["characteristics"]
    assert chars.columns == list(CANONICAL_TABLES["characteristics"].keys)
    assert chars["key"].to_list() == [True, False]
    assert chars["subgroup_size"].to_list() == [5, None]
    assert chars["lsl"].to_list() == [9.95, None]
    meas = data.tables["measurements"]
    assert meas["characteristic"].to_list() == ["C001", "C001", "C002"]
    assert meas["ts"].to_list() == [
        dt.datetime(2025, 3, 1, 8, 30),
        dt.datetime(2025, 3, 1, 8, 30),
        dt.datetime(2025, 3, 2, 9, 15),
    ]
    assert meas["subgroup"].to_list() == ["1", "1", None]
    assert meas["value"].to_list() == [10.012, 10.004, 3.1]
    insp = data.tables["inspections"]
    assert insp.row(0) == (dt.date(2025, 3, 1), "OP10", "P-100", "L1", 500, 492, 8, "D01")
    costs = data.tables["quality_costs"]
    assert costs["category"].to_list() == ["internal.scrap", "external.claim"]
    assert costs["date"].to_list() == [dt.date(2025, 3, 5), dt.date(2025, 4, 1)]
    assert data.tables["output_value"].row(0) == (2025, 2.5e8)
    sa = data.tables["self_assessment"]
    answered = sa.filter(pl.col("level").is_not_null())
    assert answered.select("item", "level").rows() == [("quality_strategy", 3), ("leadership", 2)]
    assert answered["evidence"].to_list() == ["证据 quality_strategy", "证据 leadership"]


def test_round_trip_feeds_the_assessment(template_en: Path, tmp_path: Path) -> None:
    from zhuoyue.services.assessment import assess

    path = filled(
        template_en,
        tmp_path / "en.xlsx",
        {
            "inspections": [
                ["2025-01-10", "OP10", None, None, 200, 190],
                ["2025-02-10", "OP20", None, None, 100, 99],
            ],
            "quality_costs": [["2025-05-01", "internal.scrap", 299]],
            "output_value": [[2025, 10000]],
        },
        enterprise={"year": "2025年"},
        levels=dict.fromkeys(QUESTIONNAIRE, 5),
    )
    data = read_assessment_data(path)
    outcome = assess(data)
    assert outcome.year == 2025
    assert outcome.result.metrics["internal_loss_rate"].value == pytest.approx(0.0299)


# --------------------------------------------------------------------------- CSV folders


def test_csv_folder_encodings_headers_and_parquet(tmp_path: Path) -> None:
    folder = csv_folder(
        tmp_path / "plant",
        {
            "measurements.csv": "\ufeff特性编码 characteristic,时间,测量值（value）,备注\n"
            "C001,2025-03-01T08:00:00,1.5,x\nC001,2025-03-01T08:00:01,1.6,\n",
            "readme.txt": "not a table",
            "说明.csv": "nothing,to,see\n1,2,3\n",
        },
    )
    (folder / "inspections.csv").write_bytes(
        "日期;工序;交验数（submitted）;passed_first (一次交验合格数);产品\n"
        "2025/3/1;OP10;100;98;轴\n".encode("gb18030")
    )
    (folder / "quality_costs.csv").write_bytes(
        "date,CATEGORY,Amount\n2025-01-02,返工,10\n2025-01-03,Internal_Scrap,5.5\n".encode("gbk")
    )
    (folder / "enterprise.csv").write_bytes("企业名称,甲厂\n评价年度,2025\n".encode("gbk"))
    pl.DataFrame({"year": [2025], "total_output_value": [1e6]}).write_parquet(
        folder / "output_value.parquet"
    )
    data = read_assessment_data(folder)
    assert set(data.tables) == {"measurements", "inspections", "quality_costs", "output_value"}
    assert data.enterprise == {"name": "甲厂", "year": "2025"} and data.year == 2025
    meas = data.tables["measurements"]
    assert meas.columns == ["characteristic", "ts", "value"]
    assert meas["value"].to_list() == [1.5, 1.6]
    insp = data.tables["inspections"]
    assert insp.row(0) == (dt.date(2025, 3, 1), "OP10", "轴", 100, 98)
    assert data.tables["quality_costs"]["category"].to_list() == [
        "internal.rework",
        "internal.scrap",
    ]
    assert data.tables["output_value"].schema == {
        "year": pl.Int64,
        "total_output_value": pl.Float64,
    }


def test_gbk_after_the_first_64_kib(tmp_path: Path) -> None:
    rows = "".join(f"C{i:04d},2025-01-01 00:00:00,{i}\n" for i in range(5000))
    text = "characteristic,ts,value\n" + rows + "中文,2025-01-02 00:00:00,1\n"
    folder = csv_folder(tmp_path / "f", {"measurements.csv": text}, encoding="gbk")
    meas = read_assessment_data(folder).tables["measurements"]
    assert meas.height == 5001 and meas["characteristic"][-1] == "中文"


def test_blank_rows_are_ignored_and_rows_stay_right(tmp_path: Path) -> None:
    folder = csv_folder(
        tmp_path / "f",
        {"inspections.csv": "date,step,submitted,passed_first\n"
         "2025-01-01,OP10,10,9\n,,,\n2025-01-02,OP10,10,x\n\n,,,\n"},
    )  # fmt: skip
    p = one(problems_of(folder), "not_a_number")
    assert (p.sheet, p.row, p.column, p.value) == ("inspections", 4, "passed_first", "x")
    (folder / "inspections.csv").write_text(
        "date,step,submitted,passed_first\n2025-01-01,OP10,10,9\n,,,\n2025-01-02,OP10,10,8\n,,,\n"
    )
    assert read_assessment_data(folder).rows == {"inspections": 2}


def test_excel_header_below_empty_rows_keeps_excel_row_numbers(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "output_value"
    ws["A3"], ws["B3"] = "年度", "年度总产值"
    ws["A4"], ws["B4"] = 2025, -5
    ws2 = wb.create_sheet("交验 inspections")  # a sheet may be named in Chinese, or both
    ws2["A2"], ws2["B2"], ws2["C2"] = "日期", "工序", "交验数"
    ws2["A3"], ws2["B3"], ws2["C3"] = "2025-01-01", "OP10", 3
    wb.save(tmp_path / "w.xlsx")
    problems = problems_of(tmp_path / "w.xlsx")
    p = one(problems, "negative")
    assert (p.sheet, p.row, p.column, p.value) == ("output_value", 4, "total_output_value", -5.0)
    assert p.message.startswith('sheet "output_value", row 4, column "年度总产值": -5 is negative.')
    m = one(problems, "missing_column")
    assert (m.sheet, m.row, m.column) == ("inspections", 2, "passed_first")
    assert m.message.startswith('sheet "交验 inspections", row 2, column "passed_first": ')


def test_tables_parameter_and_bad_parameters(template_zh: Path, tmp_path: Path) -> None:
    path = filled(template_zh, tmp_path / "t.xlsx", {"output_value": [[2025, 1.0]]})
    assert list(read_assessment_data(path, tables=["output_value"]).tables) == ["output_value"]
    with pytest.raises(ParameterError, match="canonical tables"):
        read_assessment_data(path, tables=["measurement"])
    with pytest.raises(ParameterError, match="four-digit"):
        read_assessment_data(path, year=25)


# --------------------------------------------------------------------------- bad input


BAD_CELLS = [
    # sheet, rows, code, column, value, row, words of the fix
    ("measurements", [["C001", "2025-03-01 08:00", None, "12,5x"]], "not_a_number", "value",
     "12,5x", 2, "plain number"),
    ("measurements", [["C001", "2025-03-01 08:00", None, "nan"]], "not_finite", "value", "nan", 2,
     "finite"),
    ("measurements", [["C001", "yesterday", None, 1]], "not_a_datetime", "ts", "yesterday", 2,
     "2025-03-01 08:30:00"),
    ("measurements", [["C001", None, None, 1]], "blank", "ts", None, 2, "Fill it in"),
    ("inspections", [["2025-02-30", "OP10", None, None, 10, 9]], "not_a_date", "date",
     "2025-02-30", 2, "2025-03-01"),
    ("inspections", [["2025-02-03", "OP10", None, None, 10.5, 9]], "not_whole", "submitted",
     "10.5", 2, "whole number"),
    ("inspections", [["2025-02-03", "OP10", None, None, 10, 12]], "passed_exceeds_submitted",
     "passed_first", 12, 2, "check both"),
    ("inspections", [["2025-02-03", "OP10", None, None, -1, 0]], "negative", "submitted", -1.0, 2,
     "≥ 0"),
    ("characteristics", [["C1", None, None, "OP10", None, None, None, None, None, "maybe"]],
     "not_a_bool", "key", "maybe", 2, "TRUE"),
    ("characteristics", [["C1", None, None, "OP10", None, 2, 1, None, None, True]],
     "spec_limits_order", "lsl", 2.0, 2, "below the upper"),
    ("characteristics", [["C1", None, None, "OP10", None, None, None, None, None, True],
                         ["C1", None, None, "OP20", None, None, None, None, None, True]],
     "duplicate_code", "code", "C1", 3, "row 2"),
    ("product_quality", [["2025", None, 100, 101]], "defective_exceeds_units", "defective", 101,
     2, "part of the units"),
    ("product_quality", [["Q1", None, 100, 1]], "bad_period", "period", "Q1", 2, "2025Q1"),
    ("product_quality", [["2025", None, 100, None]], "blank", "defective", None, 2,
     "defective units"),
    ("product_quality", [["2025", None, 10, None, 50, 4]], "defects_exceed_opportunities",
     "defects", 50, 2, "opportunities per unit"),
    ("quality_costs", [["2025-01-01", "internal.scarp", 1]], "unknown_category", "category",
     "internal.scarp", 2, 'Did you mean "internal.scrap"'),
    ("quality_costs", [["2025-01-01", "prevention", -3]], "negative", "amount", -3.0, 2,
     "recovery"),
    ("output_value", [[2025.5, 1]], "not_whole", "year", "2025.5", 2, "whole"),
    ("output_value", [[25, 1]], "out_of_range", "year", 25.0, 2, "1000 to 9999"),
]  # fmt: skip


@pytest.mark.parametrize(("sheet", "rows", "code", "column", "value", "row", "fix"), BAD_CELLS)
def test_each_bad_cell_names_sheet_row_column_value_and_fix(
    template_zh: Path,
    tmp_path: Path,
    sheet: str,
    rows: list[list[Any]],
    code: str,
    column: str,
    value: Any,
    row: int,
    fix: str,
) -> None:
    path = filled(template_zh, tmp_path / "bad.xlsx", {sheet: rows})
    p = one(problems_of(path), code)
    assert (p.sheet, p.row, p.column, p.value) == (sheet, row, column, value)
    header = CANONICAL_TABLES[sheet].column(column).header("zh")
    assert p.message.startswith(f'sheet "{sheet}", row {row}, column "{header}": ')
    assert fix in p.message
    json.dumps(p.to_dict(), allow_nan=False)


@pytest.mark.parametrize(
    ("level", "code", "shown"),
    [(6, "out_of_range", 6.0), (0, "out_of_range", 0.0), (2.5, "not_whole", "2.5"),
     ("三", "not_a_number", "三")],
)  # fmt: skip
def test_levels_outside_1_to_5(
    template_zh: Path, tmp_path: Path, level: Any, code: str, shown: Any
) -> None:
    path = filled(template_zh, tmp_path / "lv.xlsx", {}, levels={"leadership": level})
    p = one(problems_of(path), code)
    row = 2 + QUESTIONNAIRE.index("leadership")
    assert (p.sheet, p.row, p.column, p.value) == ("self_assessment", row, "level", shown)
    if code == "out_of_range":
        assert "1 to 5" in p.message


def test_unknown_items_get_a_suggestion_and_metrics_are_refused(tmp_path: Path) -> None:
    path = workbook(
        tmp_path / "sa.xlsx",
        {"self_assessment": [["item", "level"], ["quality_stratgy", 3], ["cpk", 4],
                             ["质量战略与质量目标", 2], ["", None]]},
    )  # fmt: skip
    problems = problems_of(path)
    p = one(problems, "unknown_item")
    assert (p.row, p.column, p.value) == (2, "item", "quality_stratgy")
    assert 'Did you mean "quality_strategy"?' in p.message
    q = one(problems, "not_questionnaire")
    assert (q.row, q.value) == (3, "cpk")
    assert len(problems) == 2  # the Chinese name of an indicator stands for its id
    ok = workbook(
        tmp_path / "ok.xlsx", {"self_assessment": [["item", "level"], ["质量战略与质量目标", 2]]}
    )
    assert read_assessment_data(ok).tables["self_assessment"]["item"].to_list() == [
        "quality_strategy"
    ]
    alt = load_model(ALT_MODEL)
    alt_ok = workbook(
        tmp_path / "alt.xlsx", {"self_assessment": [["item", "level"], ["q_plan", 2]]}
    )
    assert read_assessment_data(alt_ok, model=alt).rows == {"self_assessment": 1}
    assert one(problems_of(alt_ok), "unknown_item").value == "q_plan"


def test_model_categories_are_accepted(tmp_path: Path) -> None:
    folder = csv_folder(
        tmp_path / "f", {"quality_costs.csv": "date,category,amount\n2025-01-01,scrap.a,3\n"}
    )
    data = read_assessment_data(folder, model=load_model(ALT_MODEL))
    assert data.tables["quality_costs"]["category"].to_list() == ["scrap.a"]
    assert one(problems_of(folder), "unknown_category").value == "scrap.a"


def test_dates_outside_the_assessed_year(template_zh: Path, tmp_path: Path) -> None:
    rows = {
        "measurements": [["C1", "2024-12-31 23:59:59", None, 1], ["C1", "2025-01-01", None, 1]],
        "inspections": [["2026-01-01", "OP10", None, None, 1, 1]],
        "quality_costs": [["2025-06-01", "prevention", 1]],
        "product_quality": [["2024Q4", None, 10, 0], ["2025年3月", None, 10, 0]],
    }
    path = filled(template_zh, tmp_path / "y.xlsx", rows, enterprise={"year": 2025})
    problems = problems_of(path)
    got = [(p.sheet, p.row, p.column, p.value) for p in problems]
    assert got == [
        ("measurements", 2, "ts", "2024-12-31 23:59:59"),
        ("inspections", 2, "date", "2026-01-01"),
        ("product_quality", 2, "period", "2024Q4"),
    ]
    assert all(p.code == "outside_year" and "2025" in p.message for p in problems)
    # the year parameter wins over the enterprise sheet; no year: no check
    assert len(problems_of(path, year=2024)) == 4
    plain = filled(template_zh, tmp_path / "n.xlsx", rows)
    assert read_assessment_data(plain).year is None


def test_bad_enterprise_year(template_zh: Path, tmp_path: Path) -> None:
    path = filled(template_zh, tmp_path / "e.xlsx", {}, enterprise={"year": "明年"})
    p = one(problems_of(path), "bad_year")
    assert (p.sheet, p.row, p.column, p.value) == ("enterprise", 6, "year", "明年")


def test_missing_and_duplicate_columns(tmp_path: Path) -> None:
    path = workbook(
        tmp_path / "m.xlsx",
        {
            "inspections": [["date", "工序", "交验数"], ["2025-01-01", "OP10", 5]],
            "measurements": [
                ["characteristic", "ts", "value", "测量值"],
                ["C", "2025-01-01", 1, 2],
            ],
            "product_quality": [["period", "units"], ["2025", 10]],
            "output_value": [["Jahr", "Wert"], [2025, 1]],  # misnamed: reported, not skipped
        },
    )
    problems = problems_of(path)
    p = next(p for p in problems if p.sheet == "inspections")
    assert (p.row, p.column, p.code) == (1, "passed_first", "missing_column")
    assert '"一次交验合格数（passed_first）"' in p.message and '"交验数"' in p.message
    d = one(problems, "duplicate_column")
    assert (d.sheet, d.column) == ("measurements", "value")
    pq = next(p for p in problems if p.sheet == "product_quality")
    assert (pq.code, pq.column) == ("missing_column", "defective")
    assert {p.column for p in problems if p.sheet == "output_value"} == {
        "year",
        "total_output_value",
    }


def test_every_problem_is_reported_in_sheet_and_row_order(
    template_zh: Path, tmp_path: Path
) -> None:
    path = filled(
        template_zh,
        tmp_path / "many.xlsx",
        {
            "quality_costs": [["2025-01-01", "??", -1]],
            "inspections": [
                ["2025-01-01", "OP10", None, None, 5, 6],
                ["x", None, None, None, 1, 1],
            ],
        },
        levels={"leadership": 9},
    )
    with pytest.raises(AssessmentDataError) as info:
        read_assessment_data(path)
    exc = info.value
    got = [(p.sheet, p.row, p.column, p.code) for p in exc.problems]
    assert got == [
        ("inspections", 2, "passed_first", "passed_exceeds_submitted"),
        ("inspections", 3, "date", "not_a_date"),
        ("inspections", 3, "step", "blank"),
        ("quality_costs", 2, "category", "unknown_category"),
        ("quality_costs", 2, "amount", "negative"),
        ("self_assessment", 2 + QUESTIONNAIRE.index("leadership"), "level", "out_of_range"),
    ]
    assert exc.total == 6 and exc.exit_code == 4 and exc.code == "validation"
    assert str(exc).startswith("many.xlsx: 6 problems in the data; nothing was computed.")


def test_problems_are_capped_but_counted(tmp_path: Path) -> None:
    n = MAX_PROBLEMS + 500
    text = "characteristic,ts,value\n" + "C,2025-01-01,x\n" * n
    folder = csv_folder(tmp_path / "f", {"measurements.csv": text})
    with pytest.raises(AssessmentDataError) as info:
        read_assessment_data(folder)
    assert len(info.value.problems) == MAX_PROBLEMS and info.value.total == n
    assert f"{n} problems" in str(info.value)
    assert f"the first {MAX_PROBLEMS} are listed" in str(info.value)
    assert [p.row for p in info.value.problems[:3]] == [2, 3, 4]


def test_malformed_csv_is_a_problem_of_its_table(tmp_path: Path) -> None:
    folder = csv_folder(
        tmp_path / "f",
        {"inspections.csv": "date,step,submitted,passed_first\n2025-01-01,OP10,1,1,9,9\n",
         "output_value.csv": "year,total_output_value\n2025,-1\n"},
    )  # fmt: skip
    problems = problems_of(folder)
    assert [(p.sheet, p.code) for p in problems] == [
        ("inspections", "malformed"),
        ("output_value", "negative"),
    ]
    assert "inspections.csv" in problems[0].message


# --------------------------------------------------------------------------- unreadable input


def test_input_file_errors(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="no such file"):
        read_assessment_data(tmp_path / "missing.xlsx")
    (tmp_path / "data.csv").write_text("a\n1\n")
    with pytest.raises(InputFileError, match="not a workbook"):
        read_assessment_data(tmp_path / "data.csv")
    (tmp_path / "broken.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(InputFileError, match="cannot open the workbook"):
        read_assessment_data(tmp_path / "broken.xlsx")
    other = workbook(tmp_path / "other.xlsx", {"Sheet1": [["a"], [1]]})
    with pytest.raises(InputFileError, match="none of the sheets"):
        read_assessment_data(other)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputFileError, match="no table files"):
        read_assessment_data(empty)
    workbook(empty / "book.xlsx", {"x": [["a"]]})
    with pytest.raises(InputFileError, match="pass that file instead"):
        read_assessment_data(empty)
    two = csv_folder(tmp_path / "two", {"measurements.csv": "a\n", "测量.csv": "a\n"})
    with pytest.raises(InputFileError, match="2 files hold the table measurements"):
        read_assessment_data(two)
    binary = csv_folder(tmp_path / "bin", {})
    (binary / "measurements.csv").write_bytes(b"\xff\xfe\x00\x81\x30\xff\xff")
    with pytest.raises(InputFileError, match="neither UTF-8 nor GB18030"):
        read_assessment_data(binary)
