"""The assessment workbook: the canonical tables as an Excel template, and reading them back.

An enterprise fills one workbook (or, for data beyond Excel's 1,048,576 rows, a folder of CSV or
Parquet files named after the tables) with the canonical tables of DESIGN.md (*Data contracts*):
``characteristics``, ``measurements``, ``inspections``, ``product_quality``, ``quality_costs``,
``output_value`` and ``self_assessment``, plus an optional ``enterprise`` sheet of key/value rows.

* :data:`CANONICAL_TABLES` describes every column: English key, Chinese header, dtype, whether it
  is required, and help text in Chinese and English. Sheets and files are named by the table's
  English key (the Chinese name and ``测量 measurements`` also work). A header cell may hold the
  English key, the Chinese header, or both in either order (``测量值（value）``, ``value (测量值)``,
  ``测量值 value``).
* :func:`write_template` writes the empty workbook: instructions first, one sheet per table with a
  bilingual frozen header, help notes, Excel data validation, and ``self_assessment`` pre-filled
  with every questionnaire indicator of the model and its five anchors.
* :func:`read_assessment_data` reads a workbook or a folder back into typed Polars frames
  (:class:`AssessmentData`). Every cell is checked with whole-column (vectorized) operations and
  every problem is collected before :class:`AssessmentDataError` (a
  :class:`~zhuoyue.errors.ValidationError`) is raised: nothing is ever computed from half-read
  data. Each :class:`~zhuoyue.errors.Problem` names the sheet, the row a person sees (the header
  is row 1, the first data row is row 2), the column, the value, a stable ``code`` and the fix.

Problem codes: ``missing_column``, ``duplicate_column``, ``ambiguous_column``, ``malformed``,
``blank``, ``not_a_number``, ``not_finite``, ``not_whole``, ``not_a_date``, ``not_a_datetime``,
``not_a_bool``, ``negative``, ``out_of_range``, ``passed_exceeds_submitted``,
``defective_exceeds_units``, ``defects_exceed_opportunities``, ``spec_limits_order``,
``duplicate_code``, ``unknown_category``, ``unknown_item``, ``not_questionnaire``,
``bad_period``, ``outside_year``, ``bad_year``.

Examples
--------
>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "inspections.csv").write_text(
...     "日期（date）,工序（step）,交验数（submitted）,一次交验合格数（passed_first）\\n"
...     "2025-03-01,OP10,200,190\\n", encoding="utf-8")
>>> data = read_assessment_data(folder)
>>> dict(data.rows), data.tables["inspections"].schema["date"]
({'inspections': 1}, Date)
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import difflib
import io
import math
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import polars as pl

from zhuoyue.errors import InputFileError, OutputError, ParameterError, Problem, ValidationError
from zhuoyue.excellence import Model, default_model
from zhuoyue.ingest.tabular import (
    EXCEL_SUFFIXES,
    PARQUET_SUFFIXES,
    _header_aliases,
    _norm,
)
from zhuoyue.stats.yields import CATEGORIES, CATEGORY_ALIASES, CATEGORY_NAMES_ZH

__all__ = [
    "CANONICAL_TABLES",
    "DTYPES",
    "ENTERPRISE_FIELDS",
    "ENTERPRISE_SHEET",
    "MAX_PROBLEMS",
    "TEMPLATE_LANGS",
    "AssessmentData",
    "AssessmentDataError",
    "Column",
    "TableSpec",
    "read_assessment_data",
    "write_template",
]

#: the column dtypes of the canonical tables and their Polars types
DTYPES: Mapping[str, pl.DataType] = MappingProxyType(
    {
        "string": pl.String(),
        "float": pl.Float64(),
        "int": pl.Int64(),
        "bool": pl.Boolean(),
        "date": pl.Date(),
        "datetime": pl.Datetime("us"),
    }
)
#: languages of :func:`write_template`
TEMPLATE_LANGS = ("zh", "en")
#: the sheet (or file stem) of the enterprise's key/value rows
ENTERPRISE_SHEET = "enterprise"
#: at most this many problems are listed in an :class:`AssessmentDataError` (all are counted)
MAX_PROBLEMS = 1000

WORKBOOK_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xlsb", ".xls", ".ods"}) & EXCEL_SUFFIXES
_FOLDER_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".pq")
_EXCEL_MAX_ROW = 1_048_576
_YEAR_MIN, _YEAR_MAX = 1900, 2999  # plausible years of a date; anything else is a typo


# ------------------------------------------------------------------------------------------------
# The canonical tables
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Column:
    """One column of a canonical table.

    ``dtype`` is one of :data:`DTYPES`; ``required`` columns must be present and filled in every
    row (except ``self_assessment.level``: a blank level is an unanswered item). ``minimum`` /
    ``maximum`` bound numbers; ``aliases`` are further headers accepted when reading.
    """

    key: str
    zh: str
    dtype: str
    required: bool
    help_zh: str
    help_en: str
    aliases: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    blank_ok: bool = False

    @property
    def polars_dtype(self) -> pl.DataType:
        return DTYPES[self.dtype]

    def header(self, lang: str = "zh") -> str:
        """The header cell of the template: ``测量值（value）`` (zh) or ``value (测量值)`` (en)."""
        return f"{self.zh}（{self.key}）" if lang == "zh" else f"{self.key} ({self.zh})"

    def help(self, lang: str = "zh") -> str:
        return self.help_zh if lang == "zh" else self.help_en


@dataclass(frozen=True, slots=True)
class TableSpec:
    """A canonical table: its name (sheet / file stem), Chinese name, help and columns."""

    name: str
    zh: str
    help_zh: str
    help_en: str
    columns: tuple[Column, ...]

    def column(self, key: str) -> Column:
        for c in self.columns:
            if c.key == key:
                return c
        raise KeyError(f"table {self.name!r} has no column {key!r}")

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.columns)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.columns if c.required)

    @property
    def schema(self) -> dict[str, pl.DataType]:
        """Column → Polars dtype of the frames :func:`read_assessment_data` returns."""
        return {c.key: c.polars_dtype for c in self.columns}

    def title(self, lang: str = "zh") -> str:
        return f"{self.zh}（{self.name}）" if lang == "zh" else f"{self.name} ({self.zh})"


def _c(
    key: str,
    zh: str,
    dtype: str,
    required: bool,
    help_zh: str,
    help_en: str,
    *aliases: str,
    minimum: float | None = None,
    maximum: float | None = None,
    blank_ok: bool = False,
) -> Column:
    return Column(key, zh, dtype, required, help_zh, help_en, aliases, minimum, maximum, blank_ok)


_COUNT_ZH = "，非负整数"
_COUNT_EN = "; a whole number ≥ 0"

#: the seven canonical tables of DESIGN.md, in the order of the contract
CANONICAL_TABLES: Mapping[str, TableSpec] = MappingProxyType(
    {
        t.name: t
        for t in (
            TableSpec(
                "characteristics",
                "特性",
                "每个产品/过程特性一行：规格限和是否关键特性。过程能力 Cpk 指标取全部关键特性中的最低值。",
                "One row per product or process characteristic: its specification limits and "
                "whether it is a key characteristic. The Cpk indicator is the lowest Cpk of the "
                "key characteristics.",
                (
                    _c("code", "特性编码", "string", True,
                       "特性的唯一编码，测量表用它引用特性，如 C001。",
                       "Unique code of the characteristic, used by the measurements, e.g. C001.",
                       "编码", "特性代码"),
                    _c("name", "特性名称", "string", False, "特性名称，如 外径。",
                       "Name, e.g. outer diameter."),
                    _c("product", "产品", "string", False, "所属产品（型号或图号）。",
                       "Product (model or drawing number)."),
                    _c("step", "工序", "string", True, "特性所在的工序，如 OP10。",
                       "Process step of the characteristic, e.g. OP10."),
                    _c("unit", "单位", "string", False, "测量单位，如 mm。",
                       "Unit of measure, e.g. mm."),
                    _c("lsl", "规格下限", "float", False,
                       "规格下限；只有上限的单边规格留空。",
                       "Lower specification limit; blank for a one-sided upper specification.",
                       "下限", "LSL"),
                    _c("usl", "规格上限", "float", False,
                       "规格上限；只有下限的单边规格留空。",
                       "Upper specification limit; blank for a one-sided lower specification.",
                       "上限", "USL"),
                    _c("target", "目标值", "float", False, "目标值（名义值），可空。",
                       "Target (nominal) value; optional.", "名义值"),
                    _c("subgroup_size", "子组大小", "int", False,
                       "控制图子组大小，如 5；单值图为 1。",
                       "Subgroup size of the control chart, e.g. 5; 1 for individual values.",
                       "子组容量", minimum=1),
                    _c("key", "关键特性", "bool", True,
                       "是否关键特性：TRUE（是）或 FALSE（否）；也可写 是/否、Y/N、1/0、√。",
                       "Key characteristic: TRUE or FALSE (also yes/no, Y/N, 1/0, 是/否, √).",
                       "是否关键特性", "关键"),
                    _c("chart", "控制图", "string", False,
                       "控制图类型，如 xbar_r、xbar_s、imr；可空。",
                       "Control chart type, e.g. xbar_r, xbar_s, imr; optional.", "控制图类型"),
                ),
            ),
            TableSpec(
                "measurements",
                "测量",
                "每个测量值一行。数据超过 Excel 行数上限时，改用同名 CSV 文件 measurements.csv。",
                "One row per measured value. Beyond Excel's row limit use a CSV file named "
                "measurements.csv instead.",
                (
                    _c("characteristic", "特性编码", "string", True,
                       "特性编码，对应 characteristics 表的 code 列。",
                       "Code of the characteristic (the code column of characteristics).",
                       "特性"),
                    _c("ts", "测量时间", "datetime", True,
                       "测量时间，如 2025-03-01 08:30:00；只有日期时按零点计。",
                       "Time of the measurement, e.g. 2025-03-01 08:30:00; a date alone is "
                       "midnight.",
                       "时间", "日期时间", "timestamp"),
                    _c("subgroup", "子组", "string", False,
                       "子组编号：同一子组的测量值编号相同；可空。",
                       "Subgroup label: the values of one subgroup share it; optional.",
                       "子组号"),
                    _c("value", "测量值", "float", True, "测量值：纯数字，不带单位。",
                       "The measured value: a plain number without unit.", "数值"),
                    _c("lot", "批次", "string", False, "批次号，可空。", "Lot; optional.",
                       "批号"),
                    _c("serial", "序列号", "string", False, "产品序列号，可空。",
                       "Serial number; optional."),
                    _c("machine", "设备", "string", False, "设备或机台，可空。",
                       "Machine; optional.", "机台"),
                    _c("operator", "操作者", "string", False, "操作者，可空。",
                       "Operator; optional.", "操作员"),
                ),
            ),
            TableSpec(
                "inspections",
                "交验",
                "每次交验一行：各工序提交数和一次交验合格数，用于计算一次交验合格率和全过程一次交验合格率。",
                "One row per inspection: units submitted and passed at the first submission, "
                "per step; the first-pass yields and the rolled first-pass yield come from it.",
                (
                    _c("date", "日期", "date", True, "交验日期，如 2025-03-01。",
                       "Date of the inspection, e.g. 2025-03-01.", "交验日期"),
                    _c("step", "工序", "string", True, "工序，如 OP10。",
                       "Process step, e.g. OP10."),
                    _c("product", "产品", "string", False, "产品，可空。", "Product; optional."),
                    _c("lot", "批次", "string", False, "批次号，可空。", "Lot; optional.",
                       "批号"),
                    _c("submitted", "交验数", "int", True,
                       "该次交验提交的产品数量" + _COUNT_ZH + "。",
                       "Units submitted to the inspection" + _COUNT_EN + ".",
                       "交验数量", "提交数", minimum=0),
                    _c("passed_first", "一次交验合格数", "int", True,
                       "第一次交验即合格的数量（返工后合格的不算）" + _COUNT_ZH + "，不大于交验数。",
                       "Units that passed at the first submission (not after rework)"
                       + _COUNT_EN + ", at most submitted.",
                       "一次合格数", minimum=0),
                    _c("defects", "缺陷数", "int", False, "发现的缺陷数" + _COUNT_ZH + "，可空。",
                       "Defects found" + _COUNT_EN + "; optional.", minimum=0),
                    _c("defect_code", "缺陷代码", "string", False, "缺陷代码，可空。",
                       "Defect code; optional.", "缺陷类型"),
                ),
            ),
            TableSpec(
                "product_quality",
                "产品质量",
                "每个期间（年、月、季度）一行：产品数和不合格品数，用于计算产品质量水平（西格玛水平）。"
                "按缺陷机会计算时改填缺陷数和缺陷机会数。",
                "One row per period (year, month, quarter): units and defectives; the sigma "
                "level of product quality comes from it. For DPMO fill defects and "
                "opportunities instead of defective.",
                (
                    _c("period", "期间", "string", True,
                       "统计期间：年（2025）、月（2025-03）、季度（2025Q1）或半年（2025H1）。",
                       "Period: a year (2025), a month (2025-03), a quarter (2025Q1) or a half "
                       "year (2025H1).",
                       "统计期间"),
                    _c("product", "产品", "string", False, "产品，可空。", "Product; optional."),
                    _c("units", "产品数", "int", True,
                       "期间内的产品数量" + _COUNT_ZH + "。",
                       "Units produced or delivered in the period" + _COUNT_EN + ".",
                       "产品数量", "数量", minimum=0),
                    _c("defective", "不合格品数", "int", False,
                       "期间内的不合格品数" + _COUNT_ZH + "，不大于产品数；"
                       "或改填缺陷数和缺陷机会数。",
                       "Defective units in the period" + _COUNT_EN + ", at most units; or fill "
                       "defects and opportunities instead.",
                       "不合格数", minimum=0),
                    _c("defects", "缺陷数", "int", False,
                       "期间内的缺陷数" + _COUNT_ZH + "（按 DPMO 计算时填写）。",
                       "Defects in the period" + _COUNT_EN + " (for DPMO).", minimum=0),
                    _c("opportunities", "缺陷机会数", "int", False,
                       "每件产品的缺陷机会数" + _COUNT_ZH + "（按 DPMO 计算时填写）。",
                       "Defect opportunities per unit" + _COUNT_EN + " (for DPMO).",
                       "机会数", minimum=0),
                ),
            ),
            TableSpec(
                "quality_costs",
                "质量成本",
                "每笔质量成本一行：日期、类别和金额。内部、外部质量损失率 = 对应损失 ÷ 年度总产值。",
                "One row per quality cost: date, category and amount. The internal and "
                "external loss rates are those failure costs divided by the annual output value.",
                (
                    _c("date", "日期", "date", True, "费用发生日期，如 2025-03-05。",
                       "Date of the cost, e.g. 2025-03-05.", "发生日期"),
                    _c("category", "成本类别", "string", True,
                       "成本类别：英文代码（如 internal.scrap）或中文名称（如 报废损失费），"
                       "见说明页的类别表。",
                       "Cost category: the code (e.g. internal.scrap) or the Chinese name "
                       "(e.g. 报废损失费); see the table on the instructions sheet.",
                       "类别", "费用类别"),
                    _c("amount", "金额", "float", True,
                       "金额（元），不为负；与年度总产值用同一单位。",
                       "Amount (yuan), not negative; the same unit as the output value.",
                       "金额（元）", minimum=0),
                    _c("note", "备注", "string", False, "备注，可空。", "Note; optional.",
                       "说明"),
                ),
            ),
            TableSpec(
                "output_value",
                "产值",
                "每年一行：年度总产值，质量损失率的分母。",
                "One row per year: the annual total output value, the denominator of the loss "
                "rates.",
                (
                    _c("year", "年度", "int", True, "年度，如 2025。", "Year, e.g. 2025.",
                       "年份", minimum=1000, maximum=9999),
                    _c("total_output_value", "年度总产值", "float", True,
                       "年度总产值（元），不为负；与质量成本金额用同一单位。",
                       "Annual total output value (yuan), not negative; the same unit as the "
                       "quality costs.",
                       "总产值", "产值", minimum=0),
                ),
            ),
            TableSpec(
                "self_assessment",
                "自评",
                "问卷指标自评：对照各级描述，为每个指标选择企业完全达到的最高等级（1–5），并写明证据。",
                "The questionnaire: for each indicator choose the highest level (1-5) the "
                "enterprise fully reaches, comparing with the description of each level, and "
                "name the evidence.",
                (
                    _c("item", "指标编号", "string", True,
                       "指标编号：模板已列出模型的全部问卷指标，请勿修改。",
                       "Indicator id: the template lists every questionnaire indicator of the "
                       "model; do not change it.",
                       "指标", "指标代码", "indicator"),
                    _c("level", "自评等级", "int", True,
                       "自评等级 1–5（1 经验级 … 5 卓越级）：企业完全达到的最高一级；"
                       "留空表示未作答（按经验级计）。",
                       "Level 1-5 (1 Experience … 5 Excellence): the highest level fully "
                       "reached; blank means unanswered (counted as level 1).",
                       "等级", minimum=1, maximum=5, blank_ok=True),
                    _c("evidence", "证据", "string", False,
                       "支撑该等级的证据（文件编号、记录名称），多项用分号（；）分隔。",
                       "Evidence of the level (document numbers, records), separated by "
                       "semicolons.",
                       "证据材料", "佐证材料"),
                    _c("respondent", "填写人", "string", False, "填写人或责任部门。",
                       "Respondent or responsible department.", "责任人", "填报人"),
                ),
            ),
        )
    }
)  # fmt: skip

#: the rows of the optional ``enterprise`` sheet (key/value)
ENTERPRISE_FIELDS: tuple[Column, ...] = (
    _c("name", "企业名称", "string", False, "企业全称。", "Full name of the enterprise.",
       "企业", "公司名称"),
    _c("credit_code", "统一社会信用代码", "string", False, "18 位统一社会信用代码。",
       "The 18-character unified social credit code.", "信用代码"),
    _c("industry", "行业", "string", False, "所属行业，如 汽车零部件制造。",
       "Industry, e.g. automotive parts.", "所属行业"),
    _c("region", "地区", "string", False, "所在地区（省、市）。", "Region (province, city).",
       "所在地区"),
    _c("year", "评价年度", "int", False,
       "评价年度，如 2025：数据按该年度截取，其他年度的日期报为问题。",
       "The assessed year, e.g. 2025: dates of other years are reported as problems.",
       "年度", "assessment_year"),
    _c("contact", "联系人", "string", False, "联系人及电话。", "Contact person and phone."),
    _c("top_manager", "最高管理者", "string", False,
       "最高管理者姓名（在自我声明上签字）。",
       "Name of the top manager (signs the self-declaration).", "法定代表人", "总经理"),
)  # fmt: skip

_TABLE_NAMES: dict[str, str] = {
    **{_norm(t.name): t.name for t in CANONICAL_TABLES.values()},
    **{_norm(t.zh): t.name for t in CANONICAL_TABLES.values()},
    "测量数据": "measurements",
    "质量特性": "characteristics",
    "自评估": "self_assessment",
    _norm(ENTERPRISE_SHEET): ENTERPRISE_SHEET,
    "企业信息": ENTERPRISE_SHEET,
    "企业": ENTERPRISE_SHEET,
}


def _candidates(text: str) -> set[str]:
    """Normalized spellings a header (or sheet name) may stand for."""
    out = _header_aliases(text)
    parts = text.split()
    if len(parts) == 2:  # "测量值 value" / "value 测量值"
        out |= {_norm(p) for p in parts}
    return out


def _lookup(text: str, index: Mapping[str, str]) -> set[str]:
    return {index[c] for c in _candidates(text) if c in index}


def _column_index(columns: Iterable[Column]) -> dict[str, str]:
    index: dict[str, str] = {}
    for c in columns:
        for name in (c.key, c.zh, *c.aliases):
            index[_norm(name)] = c.key
    return index


_COLUMN_INDEX = {name: _column_index(t.columns) for name, t in CANONICAL_TABLES.items()}
_ENTERPRISE_INDEX = _column_index(ENTERPRISE_FIELDS)


def _table_of(name: str) -> str | None:
    hits = _lookup(name, _TABLE_NAMES)
    return hits.pop() if len(hits) == 1 else None


# ------------------------------------------------------------------------------------------------
# The result
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class AssessmentData:
    """The canonical tables of one enterprise, read and checked.

    Attributes
    ----------
    source : str
        The workbook or folder read.
    tables : mapping of str to polars.DataFrame
        Only the tables present with at least one data row, in contract order. Columns have
        their English keys and dtypes (:attr:`TableSpec.schema`); optional columns absent from
        the input are absent here too; blank optional cells are null.
    enterprise : mapping of str to str or None
        The ``enterprise`` sheet: the known fields (``name``, ``credit_code``, ``industry``,
        ``region``, ``year``, ``contact``, ``top_manager``) and any other key as written.
    year : int or None
        The assessed year: ``year=`` of :func:`read_assessment_data` when given, else the
        enterprise's ``year`` (评价年度).
    rows : mapping of str to int
        Data rows per table in :attr:`tables`.
    """

    source: str
    tables: Mapping[str, pl.DataFrame]
    enterprise: Mapping[str, str | None]
    year: int | None
    rows: Mapping[str, int]


class AssessmentDataError(ValidationError):
    """Problems in the assessment data: ``problems`` lists the first :data:`MAX_PROBLEMS`,
    ``total`` counts them all (the message says both)."""

    def __init__(self, problems: Sequence[Problem], *, source: str, total: int) -> None:
        super().__init__(problems, source=source)
        self.total = total
        first = problems[0].message if problems else "no details"
        listed = f"; the first {len(problems)} are listed" if total > len(problems) else ""
        plural = "s" if total != 1 else ""
        self.args = (
            f"{source}: {total} problem{plural} in the data{listed}; nothing was computed. "
            f"First: {first}",
        )


# ------------------------------------------------------------------------------------------------
# Problems, collected table by table
# ------------------------------------------------------------------------------------------------
def _show(v: Any) -> str:
    if v is None:
        return "(blank)"
    if isinstance(v, str):
        return f'"{v}"'
    if isinstance(v, float):
        return f"{v:.15g}"
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat(sep=" ") if isinstance(v, dt.datetime) else v.isoformat()
    return str(v)


def _plain(v: Any) -> Any:
    """A JSON-ready cell value for :class:`Problem` (dates as ISO text, NaN and ∞ as text)."""
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    return v


class _Collector:
    """Every problem of the input: the first :data:`MAX_PROBLEMS` of each check kept, all counted."""

    def __init__(self) -> None:
        self.items: list[tuple[tuple[int, int, int], Problem]] = []
        self.total = 0

    def add(self, order: tuple[int, int, int], problem: Problem) -> None:
        self.total += 1
        self.items.append((order, problem))

    def count(self, n: int) -> None:
        """``n`` problems counted but not listed (beyond the cap of one check)."""
        self.total += n

    def raise_if_any(self, source: str) -> None:
        if not self.total:
            return
        self.items.sort(key=lambda t: t[0])
        problems = [p for _, p in self.items[:MAX_PROBLEMS]]
        raise AssessmentDataError(problems, source=source, total=self.total)


_TABLE_ORDER = {name: i + 1 for i, name in enumerate(CANONICAL_TABLES)}


@dataclass
class _Sheet:
    """One table as read: its cells (text, or typed for Parquet) under their canonical keys."""

    table: str
    where: str  # 'sheet "measurements"' or 'measurements.csv'
    frame: pl.DataFrame
    headers: dict[str, str]  # canonical key -> the header as written
    all_headers: list[str]
    header_row: int  # the spreadsheet row of the header (data start one row below)
    row_numbers: pl.Series | None = None  # when blank rows were dropped

    def rows(self, idx: list[int]) -> list[int]:
        if self.row_numbers is None:
            return [i + self.header_row + 1 for i in idx]
        return [int(r) for r in self.row_numbers.gather(idx).to_list()]


class _Checker:
    """Turns masks over a table into problems with sheet, row, column, value and fix."""

    def __init__(self, sheet: _Sheet, out: _Collector) -> None:
        self.sheet = sheet
        self.out = out
        spec = CANONICAL_TABLES.get(sheet.table)
        self.keys = list(spec.keys) if spec else [c.key for c in ENTERPRISE_FIELDS]

    def header(self, key: str) -> str:
        return self.sheet.headers.get(key, key)

    def at(self, row: int | None, key: str | None, value: Any, code: str, text: str) -> None:
        col = "" if key is None else f', column "{self.header(key)}"'
        where = self.sheet.where + (f", row {row}" if row is not None else "") + col
        order = (
            _TABLE_ORDER.get(self.sheet.table, 0),
            row or 0,
            self.keys.index(key) if key in self.keys else -1,
        )
        self.out.add(
            order,
            Problem(row, key, _plain(value), code, f"{where}: {text}", sheet=self.sheet.table),
        )

    def rows(
        self,
        idx: pl.Series,
        key: str,
        code: str,
        values: pl.Series,
        text: Callable[[Any, Any], str],
        other: pl.Series | None = None,
    ) -> None:
        """One problem per row index in ``idx``: ``text(value, other_value)`` says what and how."""
        n = idx.len()
        if n == 0:
            return
        head = idx.head(MAX_PROBLEMS)
        self.out.count(n - head.len())
        pos = [int(i) for i in head.to_list()]
        vals = values.gather(head).to_list()
        others = other.gather(head).to_list() if other is not None else [None] * len(pos)
        for row, v, o in zip(self.sheet.rows(pos), vals, others, strict=True):
            self.at(row, key, v, code, text(v, o))

    def mask(
        self,
        mask: pl.Series,
        key: str,
        code: str,
        values: pl.Series,
        text: Callable[[Any, Any], str],
        other: pl.Series | None = None,
    ) -> None:
        if mask.any():
            self.rows(mask.fill_null(False).arg_true(), key, code, values, text, other)


# ------------------------------------------------------------------------------------------------
# Cell conversion (whole columns; only the cells that fail the fast path are looked at again)
# ------------------------------------------------------------------------------------------------
_BOOL_WORDS: dict[str, bool] = {
    **dict.fromkeys(
        ("true", "t", "1", "1.0", "yes", "y", "是", "√", "✓", "✔", "关键", "key"), True
    ),
    **dict.fromkeys(("false", "f", "0", "0.0", "no", "n", "否", "×", "✗", "非关键"), False),
}
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d")
_DATETIME_FORMATS = (
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S%.f",
    "%Y/%m/%d %H:%M",
    "%Y.%m.%d %H:%M:%S%.f",
    "%Y.%m.%d %H:%M",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
    "%Y年%m月%d日%H:%M:%S",
    "%Y年%m月%d日%H时%M分",
)
_NO_INDEX = pl.Series("idx", [], dtype=pl.UInt32)


@dataclass
class _Converted:
    values: pl.Series  # the target dtype; null where blank or bad
    bad: list[tuple[pl.Series, str]]  # row indices (UInt32) of cells not of the type, and why


def _strip_blank(s: pl.Series, *, stripped: bool = False) -> pl.Series:
    """Text stripped of surrounding white space; empty text becomes null."""
    t = s if stripped else s.str.strip_chars()
    empty = t.str.len_bytes() == 0
    if empty.any():
        t = t.set(empty, None)
    return t


def _retry(
    s: pl.Series, out: pl.Series, parse: Callable[[pl.Series], pl.Series]
) -> tuple[pl.Series, pl.Series]:
    """Parse again, stripped, the cells the fast path missed; the indices still bad."""
    todo = s.is_not_null() & out.is_null()
    if not todo.any():
        return out, _NO_INDEX
    idx = todo.arg_true()
    sub = s.gather(idx).str.strip_chars()
    fixed = parse(sub)
    out = out.scatter(idx, fixed)
    return out, idx.filter(fixed.is_null() & (sub.str.len_bytes() > 0))


def _temporal(kind: str) -> tuple[pl.DataType, tuple[tuple[str, bool], ...]]:
    """Target dtype and (format, has-time) candidates in the order tried."""
    dates = tuple((f, False) for f in _DATE_FORMATS)
    times = tuple((f, True) for f in _DATETIME_FORMATS)
    if kind == "date":
        return pl.Date(), dates + times
    return pl.Datetime("us"), times + dates


def _strptime(e: pl.Expr, fmt: str, with_time: bool, target: pl.DataType) -> pl.Expr:
    if target == pl.Date:
        if with_time:
            return e.str.strptime(pl.Datetime("us"), fmt, strict=False).dt.date()
        return e.str.strptime(pl.Date, fmt, strict=False)
    return e.str.strptime(pl.Datetime("us"), fmt, strict=False)


def _on(s: pl.Series, e: pl.Expr) -> pl.Series:
    return s.to_frame("x").select(e).to_series()


def _formats(s: pl.Series, kind: str) -> list[tuple[str, bool]]:
    """The candidate formats, the one the first cell uses first (one pass for a uniform column)."""
    target, formats = _temporal(kind)
    first = s.head(1000).drop_nulls()
    if first.len() == 0:
        first = s.drop_nulls()
    first = first.head(1).str.strip_chars()
    order = list(formats)
    for f in formats:
        if first.len() and _on(first, _strptime(pl.col("x"), f[0], f[1], target)).null_count() == 0:
            order.remove(f)
            order.insert(0, f)
            break
    return order


#: text with white space at either end, or empty: needs stripping (``\s`` is Unicode-aware, so
#: the ideographic space U+3000 of Chinese input counts)
_UNTRIMMED = r"^\s|\s$|^$"


def _fast(s: pl.Series, col: Column, *, trim: bool = True) -> pl.Expr:
    """The expression converting column ``col`` in one pass (run with the others in parallel);
    :func:`_convert` then looks again only at the cells it missed. ``trim=False``: text known
    to need no stripping passes through without a copy."""
    kind, dtype, e = col.dtype, s.dtype, pl.col(col.key)
    if kind == "string":
        text = e if dtype == pl.String else e.cast(pl.String)
        return text.str.strip_chars() if trim else text
    if dtype != pl.String:
        if kind in ("float", "int") and dtype.is_numeric():
            return e.cast(pl.Float64)
        if (kind == "bool" and dtype == pl.Boolean) or (
            kind in ("date", "datetime") and (dtype == pl.Date or isinstance(dtype, pl.Datetime))
        ):
            return e.cast(DTYPES[kind])
        e = e.cast(pl.String)
    if kind in ("float", "int"):
        return e.cast(pl.Float64, strict=False)
    if kind == "bool":
        t = e.str.strip_chars().str.to_lowercase()
        return t.replace_strict(_BOOL_WORDS, default=None, return_dtype=pl.Boolean)
    fmt, with_time = _formats(s if dtype == pl.String else s.cast(pl.String), kind)[0]
    return _strptime(e, fmt, with_time, DTYPES[kind])


def _convert(s: pl.Series, col: Column, out: pl.Series, *, trim: bool = True) -> _Converted:
    """Repair of the fast pass ``out`` of column ``col``: cells it missed are parsed again
    (stripped; other date formats); those still missed are bad."""
    kind = col.dtype
    if kind == "string":
        return _Converted(_strip_blank(out, stripped=True) if trim else out, [])
    if out.null_count() == s.null_count():
        conv = _Converted(out, [])
    else:
        text = s if s.dtype == pl.String else s.cast(pl.String)
        if kind in ("float", "int"):
            fixed, bad = _retry(text, out, lambda t: t.cast(pl.Float64, strict=False))
            conv = _Converted(fixed, [(bad, "not_a_number")])
        elif kind == "bool":
            fixed, bad = _retry(text, out, lambda t: _on(t, _fast(t.alias("x"), _BOOL_COLUMN)))
            conv = _Converted(fixed, [(bad, "not_a_bool")])
        else:
            target = DTYPES[kind]
            order = _formats(text, kind)

            def parse(sub: pl.Series) -> pl.Series:
                x = pl.col("x")
                return _on(sub, pl.coalesce([_strptime(x, f, w, target) for f, w in order]))

            fixed, bad = _retry(text, out, parse)
            conv = _Converted(fixed, [(bad, "not_a_date" if kind == "date" else "not_a_datetime")])
    if kind == "int":
        v = conv.values
        frac = (v != v.floor()) & v.is_finite()
        if frac.any():
            conv.bad.append((frac.arg_true(), "not_whole"))
            conv.values = v.set(frac, None)
    return conv


_BOOL_COLUMN = Column("x", "", "bool", False, "", "")


def _finish_int(values: pl.Series) -> pl.Series:
    """Whole floats as Int64 (non-finite and huge values were reported; they become null)."""
    ok = values.is_finite() & (values.abs() < 2.0**62)
    return values.set(~ok, None).cast(pl.Int64)


# ------------------------------------------------------------------------------------------------
# Checking one table
# ------------------------------------------------------------------------------------------------
_FIX = {
    "not_a_number": "is not a number. Write a plain number without unit or thousands separator, "
    "e.g. 12.5.",
    "not_whole": "is not a whole number. Counts, years and levels are whole numbers.",
    "not_a_date": "is not a date. Write it as 2025-03-01 (2025/3/1 and 2025年3月1日 also work).",
    "not_a_datetime": "is not a date and time. Write it as 2025-03-01 08:30:00 (or 2025/3/1 8:30).",
    "not_a_bool": "is not TRUE or FALSE. Write TRUE (是) or FALSE (否).",
}


def _check_table(
    sheet: _Sheet, year: int | None, model: Model, out: _Collector
) -> pl.DataFrame | None:
    """The typed frame of one table, or ``None`` (with problems recorded) when it has any."""
    spec = CANONICAL_TABLES[sheet.table]
    chk = _Checker(sheet, out)
    before = out.total
    present = [k for k in spec.keys if k in sheet.frame.columns]
    for key in spec.required:
        if key not in present:
            col = spec.column(key)
            have = ", ".join(f'"{h}"' for h in sheet.all_headers if h) or "none"
            chk.at(
                sheet.header_row,
                key,
                None,
                "missing_column",
                f"there is no column {key} ({col.zh}); the columns are: {have}. Add a column "
                f'headed "{col.header("zh")}" (the English key {key} alone also works).',
            )
    if (
        sheet.table == "product_quality"
        and "defective" not in present
        and not {"defects", "opportunities"} <= set(present)
    ):
        chk.at(
            sheet.header_row,
            "defective",
            None,
            "missing_column",
            "there is no column defective (不合格品数), nor defects and opportunities. "
            'Add a column headed "不合格品数（defective）", or the two columns '
            '"缺陷数（defects）" and "缺陷机会数（opportunities）".',
        )
    cols: dict[str, pl.Series] = {}
    frame = sheet.frame
    # looking for white space at the ends of text costs about what stripping costs but copies
    # nothing: on clean data (the rule) the text columns pass through without a second copy
    texts = [
        k for k in present if spec.column(k).dtype == "string" and frame.schema[k] == pl.String
    ]
    trim: dict[str, bool] = {}
    if texts:
        flags = frame.select(pl.col(k).str.contains(_UNTRIMMED).any() for k in texts).row(0)
        trim = {k: bool(f) for k, f in zip(texts, flags, strict=True)}
    fast = frame.select(
        _fast(frame.get_column(k), spec.column(k), trim=trim.get(k, True)).alias(k) for k in present
    )
    for key in present:
        col = spec.column(key)
        raw = frame.get_column(key)
        conv = _convert(raw, col, fast.get_column(key), trim=trim.get(key, True))
        bad_idx = [idx for idx, _ in conv.bad if idx.len()]
        if bad_idx:
            shown = _strip_blank(raw.cast(pl.String))
            for idx, code in conv.bad:
                chk.rows(idx, key, code, shown, _fix(code))
        values = conv.values
        if col.dtype == "float" or col.dtype == "int":
            _numbers(chk, key, col, raw, values, year)
            if col.dtype == "int":
                values = _finish_int(values)
        elif col.dtype in ("date", "datetime"):
            _dates(chk, key, col, values, year)
        if col.required and not col.blank_ok and conv.values.null_count():
            blank = conv.values.is_null()
            for idx in bad_idx:
                blank = blank.scatter(idx, False)
            chk.mask(
                blank,
                key,
                "blank",
                values,
                lambda _v, _o: "the cell is empty. Fill it in, or delete the row.",
            )
        cols[key] = values.alias(key)
    sheet.frame = pl.DataFrame()  # the text cells are no longer needed: free them early
    df = pl.DataFrame(cols) if cols else pl.DataFrame()
    if cols:
        df = df.with_columns(_rules(chk, sheet.table, df, year, model))
    if out.total > before:
        return None
    return df


def _fix(code: str) -> Callable[[Any, Any], str]:
    return lambda v, _o: f"{_show(v)} {_FIX[code]}"


def _numbers(
    chk: _Checker, key: str, col: Column, raw: pl.Series, values: pl.Series, year: int | None
) -> None:
    non_finite = ~values.is_finite()  # null stays null: blanks are not reported here
    chk.mask(
        non_finite,
        key,
        "not_finite",
        raw,
        lambda v, _o: f"{_show(v)} is not a finite number. Enter the counted or measured value.",
    )
    if col.minimum is not None:
        low = values < col.minimum
        if col.minimum == 0:
            chk.mask(
                low,
                key,
                "negative",
                values,
                lambda v, _o: (
                    f"{_show(v)} is negative. Counts and amounts are ≥ 0: correct "
                    "the cell (book a recovery by reducing the cost it offsets)."
                ),
            )
        else:
            lo, hi = col.minimum, col.maximum
            span = f"{lo:g} to {hi:g}" if hi is not None else f"at least {lo:g}"
            chk.mask(
                low | (values > hi) if hi is not None else low,
                key,
                "out_of_range",
                values,
                lambda v, _o: f"{_show(v)} is out of range: it must be {span}.",
            )
    elif col.maximum is not None:
        chk.mask(
            values > col.maximum,
            key,
            "out_of_range",
            values,
            lambda v, _o: f"{_show(v)} is out of range: it must be at most {col.maximum:g}.",
        )


def _year_bounds(kind: str, year: int) -> tuple[Any, Any]:
    if kind == "date":
        return dt.date(year, 1, 1), dt.date(year + 1, 1, 1)
    return dt.datetime(year, 1, 1), dt.datetime(year + 1, 1, 1)


def _dates(chk: _Checker, key: str, col: Column, values: pl.Series, year: int | None) -> None:
    """Implausible years (typos such as 25-03-01) and, when the year is known, dates outside it."""
    lo, hi = values.min(), values.max()
    lo_all = _year_bounds(col.dtype, _YEAR_MIN)[0]
    hi_all = _year_bounds(col.dtype, _YEAR_MAX)[1]
    code = "not_a_date" if col.dtype == "date" else "not_a_datetime"
    implausible: pl.Series | None = None
    if lo is not None and (lo < lo_all or hi >= hi_all):
        implausible = (values < lo_all) | (values >= hi_all)
        chk.mask(
            implausible,
            key,
            code,
            values,
            lambda v, _o: f"{_show(v)} has an implausible year. {_FIX[code].split('. ', 1)[1]}",
        )
    if year is None or lo is None:
        return
    y_lo, y_hi = _year_bounds(col.dtype, year)
    if lo >= y_lo and hi < y_hi:
        return  # the common case: one pass for min and max, no mask
    outside = (values < y_lo) | (values >= y_hi)
    chk.mask(
        outside if implausible is None else outside & ~implausible,
        key,
        "outside_year",
        values,
        lambda v, _o: (
            f"{_show(v)} is outside the assessed year {year}. Remove the rows "
            "of other years, or correct the date or the year (sheet enterprise, 评价年度)."
        ),
    )


_PERIOD_YEAR = r"^\s*(\d{4})(?:\D|$)"


def _rules(
    chk: _Checker, table: str, df: pl.DataFrame, year: int | None, model: Model
) -> list[pl.Series]:
    """The checks across columns and against the model; returns columns to replace
    (categories and items in their canonical spelling)."""
    cols = set(df.columns)

    def more(a: str, b: str, code: str, what: str) -> None:
        if {a, b} <= cols:
            chk.mask(
                df[a] > df[b],
                a,
                code,
                df[a],
                lambda v, o: f"{_show(v)} is more than {b} ({_show(o)}) in the same row. {what}",
                other=df[b],
            )

    if table == "inspections":
        more(
            "passed_first",
            "submitted",
            "passed_exceeds_submitted",
            "The units passed at the first submission are part of those submitted: check "
            "both cells.",
        )
    elif table == "product_quality":
        more(
            "defective",
            "units",
            "defective_exceeds_units",
            "Defective units are part of the units: check both cells.",
        )
        if {"defects", "units", "opportunities"} <= cols:
            chances = df["units"] * df["opportunities"]
            chk.mask(
                df["defects"] > chances,
                "defects",
                "defects_exceed_opportunities",
                df["defects"],
                lambda v, o: (
                    f"{_show(v)} is more than units × opportunities ({_show(o)}). "
                    "Check the defects and the opportunities per unit."
                ),
                other=chances,
            )
        if "units" in cols:
            _basis(chk, df)
        if "period" in cols:
            _periods(chk, df["period"], year)
    elif table == "characteristics":
        if "code" in cols:
            _duplicates(chk, df["code"])
        more(
            "lsl",
            "usl",
            "spec_limits_order",
            "The lower specification limit must be below the upper one: swap or correct them.",
        )
    elif table == "quality_costs" and "category" in cols:
        return [_categories(chk, df["category"], model)]
    elif table == "self_assessment" and "item" in cols:
        return [_items(chk, df["item"], model)]
    return []


def _basis(chk: _Checker, df: pl.DataFrame) -> None:
    """Each product_quality row needs its defectives, or its defects and opportunities."""
    cols = set(df.columns)
    has_units = df["units"].is_not_null()
    dpmo = {"defects", "opportunities"} <= cols
    both = (df["defects"].is_not_null() & df["opportunities"].is_not_null()) if dpmo else None
    if "defective" in cols:
        blank = df["defective"].is_null() & has_units
        if both is not None:
            blank = blank & ~both
        what = " (or both defects and opportunities)" if dpmo else ""
        chk.mask(
            blank,
            "defective",
            "blank",
            df["defective"],
            lambda _v, _o: f"the cell is empty. Fill in the defective units{what}.",
        )
    elif dpmo:
        for key in ("defects", "opportunities"):
            chk.mask(
                df[key].is_null() & has_units,
                key,
                "blank",
                df[key],
                lambda _v, _o: (
                    "the cell is empty. Fill in the defects and the opportunities "
                    "per unit of every row."
                ),
            )


def _duplicates(chk: _Checker, code: pl.Series) -> None:
    dup = code.is_duplicated() & ~code.is_first_distinct() & code.is_not_null()
    if not dup.any():
        return
    first = (code.is_first_distinct() & code.is_not_null()).arg_true()
    rows = chk.sheet.rows([int(i) for i in first.to_list()])
    first_row = dict(zip(code.gather(first).to_list(), rows, strict=True))
    chk.mask(
        dup,
        "code",
        "duplicate_code",
        code,
        lambda v, _o: (
            f"{_show(v)} is listed already in row {first_row[v]}. Give each "
            "characteristic one row with its own code."
        ),
    )


def _periods(chk: _Checker, period: pl.Series, year: int | None) -> None:
    y = period.str.extract(_PERIOD_YEAR, 1).cast(pl.Int64, strict=False)
    chk.mask(
        period.is_not_null() & y.is_null(),
        "period",
        "bad_period",
        period,
        lambda v, _o: (
            f"{_show(v)} is not a period. Write a year (2025), a month (2025-03), a "
            "quarter (2025Q1) or a half year (2025H1)."
        ),
    )
    if year is not None:
        chk.mask(
            y.is_not_null() & (y != year),
            "period",
            "outside_year",
            period,
            lambda v, _o: (
                f"{_show(v)} is outside the assessed year {year}. Remove the rows "
                "of other years, or correct the period or the year (sheet enterprise, 评价年度)."
            ),
        )


def _category_code(text: str) -> str | None:
    key = text.strip().casefold()
    cat = CATEGORY_ALIASES.get(key)
    if cat is None:
        cat = CATEGORY_ALIASES.get("".join("." if ch in "_- " else ch for ch in key))
    return cat


def _model_categories(model: Model) -> dict[str, str]:
    """Categories of the model's loss-rate indicators beyond the standard ones (a model may
    define its own)."""
    out: dict[str, str] = {}
    for ind in model.metrics:
        raw = ind.params.get("categories")
        if not isinstance(raw, Sequence) or isinstance(raw, str):
            continue
        for row in raw:
            name = row if isinstance(row, str) else (row[0] if row else None)
            if isinstance(name, str) and _category_code(name) is None:
                out[name.strip().casefold()] = name.strip()
    return out


def _categories(chk: _Checker, category: pl.Series, model: Model) -> pl.Series:
    """Categories in their canonical code (``报废`` → ``internal.scrap``); unknown ones reported."""
    extra = _model_categories(model)
    mapping = {
        text: _category_code(text) or extra.get(text.casefold())
        for text in category.drop_nulls().unique().to_list()
    }
    canonical = category.replace_strict(mapping, default=None, return_dtype=pl.String)
    choices = [*CATEGORIES, *CATEGORY_NAMES_ZH.values(), *extra.values()]
    allowed = ", ".join([*CATEGORIES, *extra.values()])
    names_zh = "、".join(CATEGORY_NAMES_ZH[c] for c in CATEGORIES)

    def text(v: Any, _o: Any) -> str:
        close = difflib.get_close_matches(str(v), choices, n=1, cutoff=0.5)
        hint = f' Did you mean "{close[0]}"?' if close else ""
        return (
            f"{_show(v)} is not a cost category.{hint} Use one of {allowed}, or the Chinese "
            f"names {names_zh}."
        )

    unknown = category.is_not_null() & canonical.is_null()
    chk.mask(unknown, "category", "unknown_category", category, text)
    return canonical.alias("category")


def _items(chk: _Checker, item: pl.Series, model: Model) -> pl.Series:
    """Item ids (an indicator's name is accepted for its id); unknown ids reported with the
    closest known id."""
    index: dict[str, str] = {}
    for ind in model.questionnaire:
        for name in (ind.id, ind.name_zh, ind.name_en):
            index.setdefault(name.strip().casefold(), ind.id)
    metrics = [m.id.casefold() for m in model.metrics]
    ids = [i.id for i in model.questionnaire]
    mapping = {t: index.get(t.casefold()) for t in item.drop_nulls().unique().to_list()}
    canonical = item.replace_strict(mapping, default=None, return_dtype=pl.String)
    unknown = item.is_not_null() & canonical.is_null()
    is_metric = item.str.to_lowercase().is_in(metrics)
    chk.mask(
        unknown & is_metric,
        "item",
        "not_questionnaire",
        item,
        lambda v, _o: (
            f"{_show(v)} is a quantitative indicator, computed from the data tables "
            "and not self-assessed. Delete the row."
        ),
    )

    def text(v: Any, _o: Any) -> str:
        close = difflib.get_close_matches(str(v), ids, n=1, cutoff=0.5)
        hint = f' Did you mean "{close[0]}"?' if close else ""
        return (
            f"{_show(v)} is not a questionnaire indicator of model {model.id}.{hint} Use the "
            "ids of the item column of the template (zhuoyue template)."
        )

    chk.mask(unknown & ~is_metric, "item", "unknown_item", item, text)
    return canonical.alias("item")


# ------------------------------------------------------------------------------------------------
# Reading sheets and files
# ------------------------------------------------------------------------------------------------
def _map_headers(
    table: str, headers: Sequence[str | None], where: str, out: _Collector, header_row: int = 1
) -> dict[int, str]:
    """Position → canonical key of the header cells naming a column of ``table``."""
    index = _COLUMN_INDEX[table]
    found: dict[str, list[int]] = {}
    chk = _Checker(_Sheet(table, where, pl.DataFrame(), {}, [], header_row), out)
    for pos, h in enumerate(headers):
        if h is None or not h.strip():
            continue
        base = re.sub(r"_duplicated_\d+$", "", h)  # polars renames repeated CSV headers
        hits = _lookup(base, index)
        if len(hits) > 1:
            chk.at(
                header_row,
                None,
                h,
                "ambiguous_column",
                f'the header "{h}" names several columns ({", ".join(sorted(hits))}). '
                "Head the column with one English key or one Chinese header.",
            )
        elif hits:
            found.setdefault(hits.pop(), []).append(pos)
    mapping: dict[int, str] = {}
    for key, positions in found.items():
        mapping[positions[0]] = key
        if len(positions) > 1:
            shown = " and ".join(f'"{headers[p]}" (column {p + 1})' for p in positions)
            chk.at(
                header_row,
                key,
                None,
                "duplicate_column",
                f"{len(positions)} columns stand for {key}: {shown}. Keep one of them.",
            )
    return mapping


def _trim(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.Series | None]:
    """Rows with every cell blank left out; the positions of the rows kept when any was."""
    if frame.width == 0 or frame.height == 0:
        return frame, None
    if not any(frame[c].null_count() for c in frame.columns):
        return frame, None  # no empty cell at all (CSV reads empty cells as null): no blank row
    filled = [
        (pl.col(c).is_not_null() & (pl.col(c).str.len_bytes() > 0))
        if frame.schema[c] == pl.String
        else pl.col(c).is_not_null()
        for c in frame.columns
    ]
    keep = frame.select(pl.any_horizontal(filled)).to_series()
    if keep.all():
        return frame, None
    return frame.filter(keep), keep.arg_true()


def _sheet(
    table: str,
    where: str,
    known: pl.DataFrame,
    headers: Sequence[str | None],
    mapping: Mapping[int, str],
    header_row: int,
    others: pl.DataFrame | None,
) -> _Sheet | None:
    """The known columns of one table under their keys (``None`` when it has no data row).

    ``others`` holds the other columns: data there under no known header means the headers
    are misnamed (reported as missing columns), not that the table is empty.
    """
    known, kept = _trim(known)
    if known.height == 0 and (others is None or _trim(others)[0].height == 0):
        return None
    sheet = _Sheet(
        table,
        where,
        known,
        {k: str(headers[p]) for p, k in mapping.items()},
        [str(h) for h in headers if h is not None],
        header_row,
    )
    if kept is not None:
        sheet.row_numbers = (kept.cast(pl.Int64) + header_row + 1).alias("row")
    return sheet


@dataclass
class _Input:
    sheets: list[_Sheet]
    enterprise: list[tuple[int, list[str | None]]]  # (row, cells) of the enterprise sheet
    enterprise_where: str


def _read_workbook(path: Path, wanted: Sequence[str], out: _Collector) -> _Input:
    import fastexcel

    try:
        reader = fastexcel.read_excel(str(path))
        names = list(reader.sheet_names)
    except PermissionError:
        raise InputFileError(f"{path}: permission denied.") from None
    except Exception as exc:
        raise InputFileError(
            f"{path.name}: cannot open the workbook ({str(exc).splitlines()[0]}). Save it as an "
            "Excel workbook (.xlsx)."
        ) from None
    by_table: dict[str, str] = {}
    for name in names:
        table = _table_of(name)
        if table is not None and table not in by_table:
            by_table[table] = name
    if not by_table:
        raise InputFileError(
            f"{path.name}: the workbook has none of the sheets "
            f"{', '.join([*CANONICAL_TABLES, ENTERPRISE_SHEET])} (it has "
            f"{', '.join(repr(n) for n in names)}). Start from the template: zhuoyue template "
            "OUT.xlsx."
        )
    result = _Input([], [], f'sheet "{by_table.get(ENTERPRISE_SHEET, ENTERPRISE_SHEET)}"')

    def load(name: str) -> pl.DataFrame:
        try:
            frame = reader.load_sheet(name, header_row=None, skip_rows=0, dtypes="string")
            df = frame.to_polars()
        except Exception as exc:
            raise InputFileError(
                f"{path.name}: cannot read sheet {name!r} ({str(exc).splitlines()[0]})."
            ) from None
        return df if isinstance(df, pl.DataFrame) else pl.DataFrame(df)

    for table in (*CANONICAL_TABLES, ENTERPRISE_SHEET):
        sheet_name = by_table.get(table)
        if sheet_name is None or (table != ENTERPRISE_SHEET and table not in wanted):
            continue
        df = load(sheet_name)
        if table == ENTERPRISE_SHEET:
            result.enterprise = _rows(df)
            continue
        filled = df.select(pl.any_horizontal(pl.all().is_not_null())).to_series()
        if not filled.any():
            continue
        h = int(filled.arg_true()[0])  # the header is the first row with a cell
        headers = [None if v is None else str(v) for v in df.row(h)]
        where = f'sheet "{sheet_name}"'
        mapping = _map_headers(table, headers, where, out, h + 1)
        body = df.slice(h + 1)
        cols = body.columns
        known = body.select([pl.col(cols[p]).alias(k) for p, k in mapping.items()])
        others = body.select([c for p, c in enumerate(cols) if p not in mapping])
        sheet = _sheet(table, where, known, headers, mapping, h + 1, others)
        if sheet is not None:
            result.sheets.append(sheet)
    return result


def _rows(df: pl.DataFrame) -> list[tuple[int, list[str | None]]]:
    """(row number, cells) of every non-empty row of a small sheet (first row = 1)."""
    out = []
    for i, row in enumerate(df.iter_rows()):
        cells = [None if v is None or not str(v).strip() else str(v).strip() for v in row]
        if any(c is not None for c in cells):
            out.append((i + 1, cells))
    return out


def _encoding(path: Path) -> str:
    """``"utf8"`` (with or without BOM) or ``"gb18030"`` (GBK), judged from the first 64 KiB."""
    with path.open("rb") as fh:
        head = fh.read(1 << 16)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        try:
            codecs.getincrementaldecoder("gb18030")().decode(head, final=False)
        except UnicodeDecodeError:
            raise InputFileError(
                f"{path.name}: the file is neither UTF-8 nor GB18030/GBK text. Save it as CSV "
                "UTF-8 (Excel: 另存为 → CSV UTF-8)."
            ) from None
        return "gb18030"
    return "utf8"


def _first_line(path: Path, encoding: str) -> str:
    with path.open("rb") as fh:
        head = fh.read(1 << 16)
    text = head.decode("utf-8-sig" if encoding == "utf8" else "gb18030", errors="replace")
    return text.splitlines()[0] if text.strip() else ""


def _csv_source(path: Path, encoding: str) -> Path | io.BytesIO:
    if encoding == "utf8":
        return path
    try:
        text = path.read_bytes().decode("gb18030")
    except UnicodeDecodeError:
        raise InputFileError(
            f"{path.name}: the file is neither UTF-8 nor GB18030/GBK text. Save it as CSV UTF-8 "
            "(Excel: 另存为 → CSV UTF-8)."
        ) from None
    return io.BytesIO(text.encode("utf-8"))


@dataclass(frozen=True)
class _CsvLayout:
    encoding: str
    separator: str
    header: list[str]


def _csv_layout(path: Path) -> _CsvLayout:
    """Encoding, delimiter (comma, semicolon or tab) and header cells of a CSV file."""
    encoding = _encoding(path)
    first = _first_line(path, encoding)
    if not first.strip():
        return _CsvLayout(encoding, ",", [])
    try:
        sep = csv.Sniffer().sniff(first, delimiters=",;\t").delimiter
    except csv.Error:
        sep = "\t" if path.suffix.lower() == ".tsv" else ","
    names = [h.lstrip("\ufeff") for h in next(csv.reader([first], delimiter=sep))]
    return _CsvLayout(encoding, sep, names)


def _read_csv(
    path: Path,
    layout: _CsvLayout,
    *,
    header: bool = True,
    columns: list[int] | None = None,
    numbers: Sequence[str] = (),
) -> pl.DataFrame:
    """The cells of a CSV file as text, no type inference; ``columns``: positions to read.

    Columns named in ``numbers`` are parsed as Float64 while reading (fast, in parallel); when
    any cell is not a plain number the file is read again as text, so that every bad cell can
    be reported.
    """

    def read(encoding: str, typed: bool) -> pl.DataFrame:
        return pl.read_csv(
            _csv_source(path, encoding),
            has_header=header,
            columns=columns,
            infer_schema=False,
            schema_overrides=dict.fromkeys(numbers, pl.Float64) if typed else None,
            separator=layout.separator,
            truncate_ragged_lines=False,
            raise_if_empty=False,
        )

    encoding = layout.encoding
    typed = bool(numbers)
    try:
        while True:
            try:
                return read(encoding, typed)
            except pl.exceptions.ComputeError as exc:
                if encoding == "utf8" and "utf-8" in str(exc).lower():
                    encoding = "gb18030"  # GBK text beyond the first 64 KiB
                elif typed and "could not parse" in str(exc):
                    typed = False  # a cell that is not a number: read text, report each
                else:
                    raise
    except PermissionError:
        raise InputFileError(f"{path}: permission denied.") from None
    except pl.exceptions.PolarsError as exc:
        raise _Malformed(
            f"{path.name}: the file is not a well-formed table ({str(exc).splitlines()[0]}). "
            "Check that every row has as many cells as the header and that quotes are closed."
        ) from None


class _Malformed(Exception):
    """A table file polars cannot parse; reported as a problem of that table."""


def _read_folder(folder: Path, wanted: Sequence[str], out: _Collector) -> _Input:
    files: dict[str, list[Path]] = {}
    try:
        entries = sorted(folder.iterdir())
    except PermissionError:
        raise InputFileError(f"{folder}: permission denied.") from None
    for f in entries:
        if f.is_file() and f.suffix.lower() in _FOLDER_SUFFIXES:
            table = _table_of(f.stem)
            if table is not None:
                files.setdefault(table, []).append(f)
    if not files:
        books = [f.name for f in entries if f.suffix.lower() in WORKBOOK_SUFFIXES]
        hint = f" It holds the workbook {books[0]}: pass that file instead." if books else ""
        raise InputFileError(
            f"{folder}: no table files. Name them after the tables: "
            + ", ".join(f"{t}.csv" for t in CANONICAL_TABLES)
            + f" (or .parquet), and {ENTERPRISE_SHEET}.csv.{hint}"
        )
    for table, paths in files.items():
        if len(paths) > 1:
            raise InputFileError(
                f"{folder}: {len(paths)} files hold the table {table} "
                f"({', '.join(p.name for p in paths)}). Keep one."
            )
    result = _Input([], [], ENTERPRISE_SHEET)
    ent = files.get(ENTERPRISE_SHEET)
    if ent:
        path = ent[0]
        result.enterprise_where = path.name
        if path.suffix.lower() in PARQUET_SUFFIXES:
            df = _read_parquet(path).cast(pl.String)
            rows = [(1, list(df.columns))] + [(i + 2, list(r)) for i, r in enumerate(df.rows())]
            result.enterprise = [(n, [_cell(v) for v in r]) for n, r in rows]
        else:
            try:
                result.enterprise = _rows(_read_csv(path, _csv_layout(path), header=False))
            except _Malformed as exc:
                out.add((0, 0, -1), Problem(None, None, None, "malformed", str(exc), "enterprise"))
    for table in CANONICAL_TABLES:
        if table not in files or table not in wanted:
            continue
        path = files[table][0]
        try:
            sheet = _file_sheet(path, table, out)
        except _Malformed as exc:
            order = (_TABLE_ORDER[table], 0, -1)
            out.add(order, Problem(None, None, None, "malformed", str(exc), sheet=table))
            continue
        if sheet is not None:
            result.sheets.append(sheet)
    return result


def _cell(v: Any) -> str | None:
    return None if v is None or not str(v).strip() else str(v).strip()


def _read_parquet(path: Path, columns: list[int] | None = None) -> pl.DataFrame:
    try:
        return pl.read_parquet(path, columns=columns)
    except PermissionError:
        raise InputFileError(f"{path}: permission denied.") from None
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise _Malformed(
            f"{path.name}: cannot read the Parquet file ({str(exc).splitlines()[0]})."
        ) from None


def _file_sheet(path: Path, table: str, out: _Collector) -> _Sheet | None:
    """One table file (CSV or Parquet): only the columns the table knows are parsed."""
    if path.suffix.lower() in PARQUET_SUFFIXES:
        try:
            header: list[str] = list(pl.read_parquet_schema(path))
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise _Malformed(
                f"{path.name}: cannot read the Parquet file ({str(exc).splitlines()[0]})."
            ) from None
        layout = None
    else:
        layout = _csv_layout(path)
        header = layout.header
    if not header:
        return None
    mapping = _map_headers(table, header, path.name, out)
    positions = sorted(mapping) or [0]  # no known column: read one to see whether data follow
    if layout is None:
        df = _read_parquet(path, positions)
    else:
        spec = CANONICAL_TABLES[table]
        numbers = [
            header[p] for p, k in mapping.items() if spec.column(k).dtype in ("float", "int")
        ]
        if len(set(header)) != len(header):
            numbers = []  # polars renames repeated headers: keep to text
        df = _read_csv(path, layout, columns=positions, numbers=numbers)
    if mapping:
        known = df.select(
            [pl.col(c).alias(mapping[p]) for p, c in zip(positions, df.columns, strict=True)]
        )
        return _sheet(table, path.name, known, header, mapping, 1, None)
    return _sheet(table, path.name, pl.DataFrame(), header, mapping, 1, df)


# ------------------------------------------------------------------------------------------------
# The enterprise sheet
# ------------------------------------------------------------------------------------------------
_YEAR_TEXT = re.compile(r"^\s*(\d{4})(?:\.0+)?\s*(?:年度?)?\s*$")


def _field(text: str | None) -> str | None:
    if text is None:
        return None
    hits = _lookup(text, _ENTERPRISE_INDEX)
    return hits.pop() if len(hits) == 1 else None


def _enterprise(
    rows: list[tuple[int, list[str | None]]], where: str, out: _Collector
) -> tuple[dict[str, str | None], int | None]:
    """The enterprise's fields (key/value rows, or one header row and one value row)."""
    pairs: list[tuple[int, str, str | None]] = []  # (row, key, value)
    if rows:
        first = rows[0][1]
        wide = sum(_field(c) is not None for c in first) >= 2
        if wide and len(rows) > 1:
            row2, values = rows[1]
            for pos, h in enumerate(first):
                if h is not None:
                    v = values[pos] if pos < len(values) else None
                    pairs.append((row2, _field(h) or h, v))
        elif not wide:
            for n, (row, cells) in enumerate(rows):
                key = _field(cells[0])
                if key is None and (n == 0 or cells[0] is None):
                    continue  # the header row (项目 / 内容), or a row without a key
                value = cells[1] if len(cells) > 1 else None
                pairs.append((row, key or str(cells[0]), value))
    ent: dict[str, str | None] = {}
    year: int | None = None
    sheet = _Sheet(ENTERPRISE_SHEET, where, pl.DataFrame(), {"year": "评价年度（year）"}, [], 0)
    chk = _Checker(sheet, out)
    for row, key, value in pairs:
        if key in ent and ent[key] is not None:
            continue  # the first value of a key counts
        ent[key] = value
        if key == "year" and value is not None:
            m = _YEAR_TEXT.match(value)
            if m is None or not 1000 <= int(m[1]) <= 9999:
                chk.at(
                    row,
                    "year",
                    value,
                    "bad_year",
                    f'"{value}" is not a year. Write the assessed year in four digits, e.g. 2025.',
                )
            else:
                year = int(m[1])
                ent[key] = m[1]
    return ent, year


# ------------------------------------------------------------------------------------------------
# read_assessment_data
# ------------------------------------------------------------------------------------------------
def read_assessment_data(
    path: str | os.PathLike[str],
    *,
    tables: Iterable[str] | None = None,
    year: int | None = None,
    model: Model | None = None,
) -> AssessmentData:
    """Read and check the canonical tables of a workbook or of a folder of CSV / Parquet files.

    Parameters
    ----------
    path : path
        An Excel workbook (``.xlsx``, ``.xlsm``; sheets named after the tables) or a folder of
        files named after the tables (``measurements.csv``, ``inspections.parquet``, ...; CSV in
        UTF-8, UTF-8 with BOM or GBK/GB18030, comma, semicolon or tab separated). Sheets and
        files of no table (the instructions) are ignored; missing tables are simply absent.
    tables : iterable of str, optional
        Read only these tables (default: all seven). The enterprise sheet is always read.
    year : int, optional
        The assessed year; default the enterprise's ``year`` (评价年度). When known, every date
        (and ``product_quality`` period) outside it is a problem.
    model : Model, optional
        The model whose questionnaire ids ``self_assessment.item`` must use (and whose
        loss-rate indicators may name further cost categories); default
        :func:`~zhuoyue.excellence.default_model`.

    Returns
    -------
    AssessmentData

    Raises
    ------
    ParameterError
        An unknown table name or a year that is not a four-digit integer.
    InputFileError
        The path is missing, not a workbook or folder, unreadable, or holds no table.
    AssessmentDataError
        (a :class:`~zhuoyue.errors.ValidationError`) with every problem: columns missing,
        cells of the wrong type, levels outside 1-5, unknown items or categories, negative
        counts or amounts, passed_first > submitted, defective > units, dates outside the year.
    """
    wanted = _wanted(tables)
    if year is not None and (
        isinstance(year, bool) or not isinstance(year, int) or not 1000 <= year <= 9999
    ):
        raise ParameterError(
            f"The 'year' parameter of read_assessment_data must be a four-digit integer. "
            f"Got {year!r}."
        )
    model = default_model() if model is None else model
    p = Path(path)
    if not p.exists():
        raise InputFileError(f"{p}: no such file or folder.")
    out = _Collector()
    if p.is_dir():
        got = _read_folder(p, wanted, out)
    elif p.suffix.lower() in WORKBOOK_SUFFIXES:
        got = _read_workbook(p, wanted, out)
    else:
        raise InputFileError(
            f"{p.name}: not a workbook. Give an Excel workbook (.xlsx) made from the template "
            "(zhuoyue template OUT.xlsx), or a folder of CSV files named after the tables "
            "(measurements.csv, inspections.csv, ...)."
        )
    enterprise, ent_year = _enterprise(got.enterprise, got.enterprise_where, out)
    assessed = year if year is not None else ent_year
    frames: dict[str, pl.DataFrame] = {}
    for sheet in got.sheets:
        df = _check_table(sheet, assessed, model, out)
        if df is not None:
            frames[sheet.table] = df
    out.raise_if_any(p.name)
    ordered = {t: frames[t] for t in CANONICAL_TABLES if t in frames}
    return AssessmentData(
        source=str(p),
        tables=MappingProxyType(ordered),
        enterprise=MappingProxyType(enterprise),
        year=assessed,
        rows=MappingProxyType({t: df.height for t, df in ordered.items()}),
    )


def _wanted(tables: Iterable[str] | None) -> tuple[str, ...]:
    if tables is None:
        return tuple(CANONICAL_TABLES)
    names = [tables] if isinstance(tables, str) else list(tables)
    unknown = [t for t in names if t not in CANONICAL_TABLES]
    if unknown:
        raise ParameterError(
            f"The 'tables' parameter of read_assessment_data must name canonical tables "
            f"({', '.join(CANONICAL_TABLES)}). Got {', '.join(map(repr, unknown))}."
        )
    return tuple(names)


# ------------------------------------------------------------------------------------------------
# The template
# ------------------------------------------------------------------------------------------------
_EXAMPLES: Mapping[str, tuple[Any, ...]] = MappingProxyType(
    {
        "characteristics": (
            "C001", "外径", "P-100", "OP10", "mm", 9.95, 10.05, 10.0, 5, "TRUE", "xbar_r",
        ),
        "measurements": ("C001", "2025-03-01 08:30:00", "1", 10.012, "L2503", "", "M01", "张三"),
        "inspections": ("2025-03-01", "OP10", "P-100", "L2503", 500, 492, 8, "D01"),
        "product_quality": ("2025-03", "P-100", 12000, 35, "", ""),
        "quality_costs": ("2025-03-05", "internal.scrap", 1250.0, "报废 3 件 / 3 parts scrapped"),
        "output_value": (2025, 250_000_000.0),
        "self_assessment": ("quality_strategy", 3, "QM-001 质量手册；2025 年度质量目标", "质量部"),
    }
)  # fmt: skip

_T: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "instructions": ("说明", "Instructions"),
        "title": (
            "制造业卓越质量工程 · 质量管理能力自评估工作簿",
            "Manufacturing Excellence Quality Project · quality capability self-assessment workbook",
        ),
        "model": ("评价模型", "Model"),
        "made": ("由 zhuoyue {version} 生成于 {date}", "Made by zhuoyue {version} on {date}"),
        "how": ("填写步骤", "How to fill in"),
        "steps": (
            "1. 在 enterprise 页填写企业信息，尤其是评价年度。\n"
            "2. 在各数据页（表头在第 1 行）逐行填写数据：一行一条记录，不合并单元格，不改表头。"
            "没有的数据整页留空即可（该指标按“未统计”计）。\n"
            "3. 在 self_assessment 页为每个指标对照各级描述选择自评等级 1–5，并填写证据。\n"
            "4. 运行 zhuoyue assess 本文件.xlsx（--json 输出机器可读结果，--report 生成报告）。"
            "有问题时会列出每个问题所在的工作表、行、列和改法，改正后重新运行。",
            "1. Fill in the enterprise sheet, above all the assessed year.\n"
            "2. Fill in the data sheets (header in row 1) one record per row: no merged cells, "
            "keep the headers. Leave a sheet empty when you do not have the data (the indicator "
            "then counts as not tracked).\n"
            "3. On the self_assessment sheet choose a level 1-5 for every indicator, comparing "
            "with the description of each level, and name the evidence.\n"
            "4. Run zhuoyue assess THIS.xlsx (--json for machines, --report for the report). "
            "Problems are listed with sheet, row, column and fix; correct them and run again.",
        ),
        "sheets": ("工作表", "Sheets"),
        "sheet": ("工作表", "Sheet"),
        "content": ("内容", "Content"),
        "required": ("必填列", "Required columns"),
        "enterprise_help": (
            "企业信息：每行一项（项目、内容）。评价年度决定数据截取的年份。",
            "The enterprise: one item per row (key, value). The assessed year decides which "
            "year of data is assessed.",
        ),
        "examples": (
            "示例行（每页一行，仅供参考，不要抄入数据页）",
            "Example rows (one per sheet; "
            "for reference only, do not copy them into the data sheets)",
        ),
        "rules": ("填写规则", "Rules"),
        "rule_text": (
            "• 表头：可写英文键、中文名或两者（如“测量值（value）”、“value”、“测量值”）；"
            "列的顺序不限，多余的列被忽略。深色表头为必填列，必填列的每个单元格都要填写"
            "（自评等级留空表示未作答）。\n"
            "• 日期写作 2025-03-01（也可 2025/3/1、2025年3月1日）；时间写作 2025-03-01 08:30:00。\n"
            "• 数字只写数字，不带单位、千分位或百分号；数量为非负整数；金额不为负，单位为元，"
            "与年度总产值一致。\n"
            "• 一次交验合格数不大于交验数；不合格品数不大于产品数。\n"
            "• 关键特性写 TRUE 或 FALSE（也可 是/否、1/0）。\n"
            "• 评价年度之外的日期会被报告为问题：只放评价年度的数据。\n"
            "• 数据超过 Excel 行数上限（1,048,576 行）时：把各表另存为 CSV（UTF-8），文件名为表名"
            "（如 measurements.csv），放在同一个文件夹，企业信息存为 enterprise.csv，"
            "然后运行 zhuoyue assess 文件夹。",
            '• Headers: the English key, the Chinese name or both ("value (测量值)", "value", '
            '"测量值"); any column order; other columns are ignored. Dark headers are required '
            "columns: fill every cell of them (a blank self-assessment level means unanswered).\n"
            "• Dates as 2025-03-01 (also 2025/3/1); times as 2025-03-01 08:30:00.\n"
            "• Numbers are plain numbers: no unit, thousands separator or percent sign; counts are "
            "whole numbers ≥ 0; amounts are not negative, in yuan like the output value.\n"
            "• passed_first is at most submitted; defective is at most units.\n"
            "• key is TRUE or FALSE (also yes/no, 1/0).\n"
            "• Dates outside the assessed year are reported as problems: keep to that year.\n"
            "• Beyond Excel's row limit (1,048,576 rows): save each table as CSV (UTF-8) named "
            "after it (measurements.csv ...) in one folder, the enterprise as enterprise.csv, and "
            "run zhuoyue assess FOLDER.",
        ),
        "categories": (
            "成本类别（quality_costs 的 category 列）",
            "Cost categories (category of quality_costs)",
        ),
        "code": ("代码", "Code"),
        "name_zh": ("中文名称", "Chinese name"),
        "kind": ("归类", "Kind"),
        "levels": ("等级（self_assessment 的 level 列）", "Levels (level of self_assessment)"),
        "exit": ("zhuoyue assess 的退出码", "Exit codes of zhuoyue assess"),
        "aspect": ("方面", "aspect"),
        "indicator": ("指标名称", "name"),
        "evidence_asked": ("证据：", "Evidence: "),
        "mandatory": ("自{name}起为必备项", "mandatory from {name}"),
        "key_col": ("项目", "key"),
        "value_col": ("内容", "value"),
        "help_col": ("说明", "help"),
        "req": ("必填", "required"),
        "opt": ("选填", "optional"),
        "level_prompt": ("选择 1–5；留空表示未作答", "Choose 1-5; blank means unanswered"),
        "bad_level": ("等级须为 1–5 的整数", "The level must be a whole number 1-5"),
        "bad_count": ("须为非负整数", "Must be a whole number ≥ 0"),
        "bad_amount": ("不得为负数", "Must not be negative"),
        "bad_key": ("请填写 TRUE 或 FALSE", "Enter TRUE or FALSE"),
        "bad_category": (
            "不是标准成本类别：请从下拉列表选择（也接受英文代码）",
            "Not a standard cost category: choose from the list (the Chinese names also work)",
        ),
    }
)

_KIND = {
    "prevention": ("预防成本", "prevention"),
    "appraisal": ("鉴定成本", "appraisal"),
    "internal": ("内部损失（计入内部质量损失率）", "internal failure (internal loss rate)"),
    "external": ("外部损失（计入外部质量损失率）", "external failure (external loss rate)"),
}
_EXIT_CODES = (
    (0, "评估完成", "assessment done"),
    (1, "内部错误（请报告）", "internal error (please report it)"),
    (2, "命令或参数有误", "bad command or option"),
    (3, "输入文件无法读取（不存在、不是工作簿、缺工作表）", "input cannot be read (missing, not a "
     "workbook)"),
    (4, "数据有问题：逐条列出工作表、行、列、值和改法，未做任何计算", "problems in the data: each "
     "listed with sheet, row, column, value and fix; nothing computed"),
    (5, "输出文件无法写入", "an output file cannot be written"),
)  # fmt: skip
_NUMBER_FORMATS = {
    "string": "@",
    "date": "yyyy-mm-dd",
    "datetime": "yyyy-mm-dd hh:mm:ss",
    "float": "General",
    "int": "0",
    "bool": "General",
}
_WIDTHS = {"string": 16, "float": 13, "int": 12, "bool": 11, "date": 13, "datetime": 20}


def _tr(key: str, lang: str) -> str:
    zh, en = _T[key]
    return zh if lang == "zh" else en


def _text_width(text: str) -> int:
    """Display width of a text in Excel character units (CJK characters count double)."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def write_template(
    path: str | os.PathLike[str], *, lang: str = "zh", model: Model | None = None
) -> Path:
    """Write the empty assessment workbook (.xlsx) and return its path.

    Sheets: the instructions (说明 / Instructions: the sheets, the rules, an example row of each
    table, the cost categories, the levels and the exit codes of ``zhuoyue assess``), then
    ``enterprise`` and one sheet per canonical table (:data:`CANONICAL_TABLES`) with a frozen
    bilingual header (required columns dark), help notes on the header cells, column formats and
    Excel data validation: ``key`` TRUE/FALSE, ``category`` a list of the 11 categories,
    counts and amounts ≥ 0, ``level`` a 1-5 drop-down. ``self_assessment`` lists every
    questionnaire indicator of ``model`` with its aspect, name and five anchors (grey helper
    columns), then ``level``, ``evidence`` and ``respondent`` to fill in. An existing file is
    replaced.

    Raises
    ------
    ParameterError
        ``lang`` is not ``"zh"`` or ``"en"``, or the name does not end in ``.xlsx``.
    OutputError
        The file cannot be written.
    """
    if lang not in TEMPLATE_LANGS:
        raise ParameterError(
            f"The 'lang' parameter of write_template must be 'zh' or 'en'. Got {lang!r}."
        )
    p = Path(path)
    if p.suffix.lower() != ".xlsx":
        raise ParameterError(
            f"The template is an Excel workbook: give a file name ending in .xlsx. Got {p.name!r}."
        )
    model = default_model() if model is None else model
    import openpyxl  # type: ignore[import-untyped]

    wb = openpyxl.Workbook()
    ws = wb.active
    _instructions(ws, lang, model)
    _enterprise_sheet(wb.create_sheet(ENTERPRISE_SHEET), lang)
    for spec in CANONICAL_TABLES.values():
        ws = wb.create_sheet(spec.name)
        if spec.name == "self_assessment":
            _self_assessment_sheet(ws, spec, lang, model)
        else:
            _table_sheet(ws, spec, lang)
    wb.properties.title = _tr("title", lang)
    wb.properties.creator = "zhuoyue"
    wb.properties.subject = f"{model.id} {model.version}"
    return _save(wb, p)


def _save(wb: Any, p: Path) -> Path:
    """Save next to the target, then rename: a failed write never leaves half a workbook."""
    if p.is_dir():
        raise OutputError(f"{p}: is a folder. Give the path of the .xlsx file to write.")
    tmp: str | None = None
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".zhuoyue-", suffix=".xlsx", dir=p.parent)
        os.close(fd)
        wb.save(tmp)
        os.replace(tmp, p)
        tmp = None
    except OSError as exc:
        raise OutputError(f"{p}: cannot write the workbook ({exc.strerror or exc}).") from None
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
    return p


def _styles() -> dict[str, Any]:
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side  # type: ignore[import-untyped]

    thin = Side(style="thin", color="BFBFBF")
    return {
        "req_fill": PatternFill("solid", fgColor="1F4E78"),
        "req_font": Font(bold=True, color="FFFFFF"),
        "opt_fill": PatternFill("solid", fgColor="DDEBF7"),
        "opt_font": Font(bold=True, color="1F4E78"),
        "helper_fill": PatternFill("solid", fgColor="F2F2F2"),
        "helper_font": Font(color="595959"),
        "helper_head_font": Font(bold=True, color="595959"),
        "input_fill": PatternFill("solid", fgColor="FFF2CC"),
        "title_font": Font(bold=True, size=14, color="1F4E78"),
        "section_font": Font(bold=True, size=12, color="1F4E78"),
        "bold": Font(bold=True),
        "wrap": Alignment(wrap_text=True, vertical="top"),
        "center": Alignment(horizontal="center", vertical="center", wrap_text=True),
        "border": Border(left=thin, right=thin, top=thin, bottom=thin),
    }


def _header_cell(ws: Any, row: int, col: int, text: str, required: bool, st: dict[str, Any]) -> Any:
    cell = ws.cell(row=row, column=col, value=text)
    cell.fill = st["req_fill"] if required else st["opt_fill"]
    cell.font = st["req_font"] if required else st["opt_font"]
    cell.alignment = st["center"]
    cell.border = st["border"]
    return cell


def _note(column: Column, lang: str) -> Any:
    from openpyxl.comments import Comment  # type: ignore[import-untyped]

    other = "en" if lang == "zh" else "zh"
    flag = _tr("req" if column.required and not column.blank_ok else "opt", lang)
    text = f"{column.help(lang)}\n[{flag} · {column.dtype}]\n\n{column.help(other)}"
    note = Comment(text, "zhuoyue")
    note.width = 320
    note.height = 40 + 18 * (1 + _text_width(text) // 40)
    return note


def _column_letter(i: int) -> str:
    from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]

    return str(get_column_letter(i))


def _validations(ws: Any, spec: TableSpec, positions: Mapping[str, int], lang: str) -> None:
    """Excel data validation on the whole columns (rows 2 to the last Excel row)."""
    from openpyxl.worksheet.datavalidation import DataValidation  # type: ignore[import-untyped]

    def rng(key: str) -> str:
        letter = _column_letter(positions[key])
        return f"{letter}2:{letter}{_EXCEL_MAX_ROW}"

    def add(dv: Any, key: str, error: str) -> None:
        dv.error = _tr(error, lang)
        dv.errorTitle = spec.column(key).header(lang)
        dv.showErrorMessage = True
        dv.add(rng(key))
        ws.add_data_validation(dv)

    for col in spec.columns:
        if col.key not in positions:
            continue
        if col.dtype == "bool":
            add(DataValidation(type="list", formula1='"TRUE,FALSE"', allow_blank=True), col.key,
                "bad_key")  # fmt: skip
        elif spec.name == "self_assessment" and col.key == "level":
            dv = DataValidation(type="list", formula1='"1,2,3,4,5"', allow_blank=True)
            dv.prompt = _tr("level_prompt", lang)
            dv.showInputMessage = True
            add(dv, col.key, "bad_level")
        elif col.dtype in ("int", "float") and col.minimum is not None:
            lo, hi = col.minimum, col.maximum
            kind = "whole" if col.dtype == "int" else "decimal"
            if hi is None:
                dv = DataValidation(type=kind, operator="greaterThanOrEqual", formula1=f"{lo:g}")
            else:
                dv = DataValidation(
                    type=kind, operator="between", formula1=f"{lo:g}", formula2=f"{hi:g}"
                )
            dv.allow_blank = True
            add(dv, col.key, "bad_count" if col.dtype == "int" else "bad_amount")
    if spec.name == "quality_costs":
        names = [CATEGORY_NAMES_ZH[c] for c in CATEGORIES] if lang == "zh" else list(CATEGORIES)
        dv = DataValidation(type="list", formula1='"' + ",".join(names) + '"', allow_blank=True)
        dv.errorStyle = "warning"  # the other spellings (English codes, aliases) are accepted
        add(dv, "category", "bad_category")


def _table_sheet(ws: Any, spec: TableSpec, lang: str) -> None:
    st = _styles()
    positions: dict[str, int] = {}
    for i, col in enumerate(spec.columns, start=1):
        header = col.header(lang)
        cell = _header_cell(ws, 1, i, header, col.required, st)
        cell.comment = _note(col, lang)
        letter = _column_letter(i)
        dim = ws.column_dimensions[letter]
        dim.width = max(_WIDTHS[col.dtype], min(40, _text_width(header) + 4))
        dim.number_format = _NUMBER_FORMATS[col.dtype]
        positions[col.key] = i
    ws.row_dimensions[1].height = 34
    ws.freeze_panes = "A2"
    _validations(ws, spec, positions, lang)


def _enterprise_sheet(ws: Any, lang: str) -> None:
    st = _styles()
    for i, key in enumerate(("key_col", "value_col", "help_col"), start=1):
        zh, en = _T[key]
        text = f"{zh}（{en}）" if lang == "zh" else f"{en} ({zh})"
        _header_cell(ws, 1, i, text, i < 3, st)
    for r, field in enumerate(ENTERPRISE_FIELDS, start=2):
        k = ws.cell(row=r, column=1, value=field.header(lang))
        k.fill, k.font = st["helper_fill"], st["bold"]
        v = ws.cell(row=r, column=2)
        v.fill, v.number_format = st["input_fill"], "@"
        h = ws.cell(row=r, column=3, value=field.help(lang))
        h.font, h.alignment = st["helper_font"], st["wrap"]
        if field.key == "year":
            from openpyxl.worksheet.datavalidation import DataValidation

            dv = DataValidation(type="whole", operator="between", formula1="1900", formula2="2999")
            dv.error = _tr("bad_count", lang)
            dv.add(f"B{r}")
            ws.add_data_validation(dv)
    ws.column_dimensions["A"].width = 30
    ws.column_dimensions["B"].width = 40
    ws.column_dimensions["C"].width = 60
    ws.freeze_panes = "A2"


def _self_assessment_sheet(ws: Any, spec: TableSpec, lang: str, model: Model) -> None:
    st = _styles()
    aspects = {a.id: (a.name_zh if lang == "zh" else a.name_en) for a in model.aspects}
    helpers = [_tr("aspect", lang), _tr("indicator", lang)]
    helper_heads = [
        f"{h}（{_T[k][1]}）" if lang == "zh" else f"{h} ({_T[k][0]})"
        for h, k in zip(helpers, ("aspect", "indicator"), strict=True)
    ]
    level_heads = [
        f"{lv.level} {lv.name_zh}（L{lv.level}）" if lang == "zh"
        else f"{lv.level} {lv.name_en} (L{lv.level})"
        for lv in sorted(model.levels, key=lambda lv: lv.level)
    ]  # fmt: skip
    item, level, evidence, respondent = (spec.column(k) for k in spec.keys)
    layout: list[tuple[str, Column | None]] = [(item.header(lang), item)]
    layout += [(h, None) for h in helper_heads + level_heads]
    layout += [(c.header(lang), c) for c in (level, evidence, respondent)]
    positions: dict[str, int] = {}
    for i, (text, col) in enumerate(layout, start=1):
        cell = _header_cell(ws, 1, i, text, col is not None and col.required, st)
        if col is not None:
            cell.comment = _note(col, lang)
            positions[col.key] = i
        else:
            cell.fill, cell.font = st["helper_fill"], st["helper_head_font"]
    widths = [22, 16, 24] + [42] * len(level_heads) + [12, 40, 14]
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[_column_letter(i)].width = w
    names = {lv.level: (lv.name_zh if lang == "zh" else lv.name_en) for lv in model.levels}
    for r, ind in enumerate(model.questionnaire, start=2):
        name = ind.name_zh if lang == "zh" else ind.name_en
        if ind.mandatory_from:
            name += "\n(" + _tr("mandatory", lang).format(name=names[ind.mandatory_from]) + ")"
        values: list[Any] = [ind.id, aspects.get(ind.aspect, ind.aspect), name]
        tallest = 1
        for lv in sorted(ind.anchors, key=lambda a: a.level):
            text = lv.text_zh if lang == "zh" else lv.text_en
            ev = lv.evidence_zh if lang == "zh" else lv.evidence_en
            values.append(f"{text}\n{_tr('evidence_asked', lang)}{ev}")
            tallest = max(tallest, 2 + _text_width(values[-1]) // 40)
        for i, v in enumerate(values, start=1):
            cell = ws.cell(row=r, column=i, value=v)
            cell.alignment = st["wrap"]
            cell.border = st["border"]
            if i > 1:
                cell.fill, cell.font = st["helper_fill"], st["helper_font"]
        ws.cell(row=r, column=1).font = st["bold"]
        for key in ("level", "evidence", "respondent"):
            cell = ws.cell(row=r, column=positions[key])
            cell.fill = st["input_fill"]
            cell.alignment = st["center"] if key == "level" else st["wrap"]
            cell.border = st["border"]
        ws.row_dimensions[r].height = min(409, 15 * tallest)
    ws.row_dimensions[1].height = 34
    ws.freeze_panes = "D2"
    _validations(ws, spec, positions, lang)


def _instructions(ws: Any, lang: str, model: Model) -> None:
    from zhuoyue import __version__

    st = _styles()
    ws.title = _tr("instructions", lang)
    ws.column_dimensions["A"].width = 22
    ws.column_dimensions["B"].width = 70
    for letter in "CDEFGHIJKL":
        ws.column_dimensions[letter].width = 16
    row = 1

    def put(
        *values: Any, font: Any = None, wrap: bool = False, height: float | None = None
    ) -> None:
        nonlocal row
        for i, v in enumerate(values, start=1):
            cell = ws.cell(row=row, column=i, value=v)
            if font is not None:
                cell.font = font
            if wrap:
                cell.alignment = st["wrap"]
        if height is not None:
            ws.row_dimensions[row].height = height
        row += 1

    def section(key: str) -> None:
        nonlocal row
        row += 1
        put(_tr(key, lang), font=st["section_font"])

    put(_tr("title", lang), font=st["title_font"])
    title = model.title_zh if lang == "zh" else model.title_en
    put(_tr("model", lang), f"{title} — {model.id} {model.version}", wrap=True)
    made = _tr("made", lang).format(version=__version__, date=dt.date.today().isoformat())
    put("zhuoyue", made)
    section("how")
    steps = _tr("steps", lang)
    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=6)
    put(steps, wrap=True, height=15 * (2 + _text_width(steps) // 110))
    section("sheets")
    put(_tr("sheet", lang), _tr("content", lang), _tr("required", lang), font=st["bold"])
    put(ENTERPRISE_SHEET, _tr("enterprise_help", lang), "", wrap=True, height=32)
    for spec in CANONICAL_TABLES.values():
        help_text = spec.help_zh if lang == "zh" else spec.help_en
        req = ", ".join(spec.required) + (
            " + defective | defects, opportunities" if spec.name == "product_quality" else ""
        )
        put(
            spec.title(lang),
            help_text,
            req,
            wrap=True,
            height=15 * (1 + _text_width(help_text) // 68),
        )
    section("examples")
    for spec in CANONICAL_TABLES.values():
        put(spec.name, *[c.header(lang) for c in spec.columns], font=st["helper_head_font"])
        put("", *_EXAMPLES[spec.name])
    section("rules")
    rules = _tr("rule_text", lang)
    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=6)
    put(rules, wrap=True, height=15 * (rules.count("\n") + 2 + _text_width(rules) // 110))
    section("categories")
    put(_tr("code", lang), _tr("name_zh", lang), _tr("kind", lang), font=st["bold"])
    for c in CATEGORIES:
        zh, en = _KIND[c.split(".")[0]]
        put(c, CATEGORY_NAMES_ZH[c], zh if lang == "zh" else en)
    section("levels")
    for lv in sorted(model.levels, key=lambda lv: lv.level):
        desc = lv.description_zh if lang == "zh" else lv.description_en
        name = f"{lv.name_zh}（{lv.name_en}）" if lang == "zh" else f"{lv.name_en} ({lv.name_zh})"
        put(lv.level, name, font=st["bold"])
        if desc:
            put("", desc, wrap=True, height=15 * (1 + _text_width(desc) // 68))
    section("exit")
    for code, zh, en in _EXIT_CODES:
        put(code, zh if lang == "zh" else en)
