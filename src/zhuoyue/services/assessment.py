"""The five-level self-assessment from raw data — the use case behind ``zhuoyue assess``.

:func:`compute_metrics` turns the canonical tables (DESIGN.md, *Data contracts*) into the
quantitative indicators of a model; :func:`assess` adds the questionnaire answers of the
``self_assessment`` table and runs :func:`~zhuoyue.excellence.evaluate`.

**Which computation feeds which indicator.** The model decides: every metric indicator is
computed by its ``method`` (nothing here knows the ids of the built-in model):

================  =============================================================================
method            computed from
================  =============================================================================
``sigma_level``   ``product_quality`` of the year: ppm = Σ defective / Σ units · 10⁶ (or DPMO =
                  Σ defects / Σ (units · opportunities) · 10⁶) → :func:`~zhuoyue.stats.sigma_level`
                  with the indicator's ``params.shift`` (default 1.5σ).
``cpk``           every **key** characteristic (``key`` true) with a specification limit: its
                  measurements of the year in time order → :func:`~zhuoyue.stats.capability`
                  (with the stability check); the lowest Cpk is the value.
``rolled_yield``  ``inspections`` of the year → :func:`~zhuoyue.stats.rolled_yield` (rows of a
                  step pooled, then the product over the steps).
``loss_rate``     ``quality_costs`` of the year in the indicator's ``params.categories`` ÷ the
                  year's ``output_value``. Without ``params.categories``, an id containing
                  ``internal`` / ``external`` takes the ``internal.*`` / ``external.*``
                  categories of :data:`zhuoyue.stats.yields.CATEGORIES` (the documented
                  fallback); any other indicator is *not computed*.
``generic``       nothing: *not computed* (a warning names it).
================  =============================================================================

**The assessed year.** Every dated table is cut to one calendar year: the ``year`` given; else
the ``year`` of the data set (:class:`AssessmentData`) or the enterprise's ``year``; else the
latest year of ``output_value`` (the loss rates need it); else the latest year found in any dated
table. ``product_quality.period`` is attributed to its year: ``"2024"``, ``"2024-03"``,
``"2024/3"``, ``"2024-03-31"``, ``"2024Q1"``, ``"2024-Q1"``, ``"2024H2"``, ``"2024年"``,
``"2024年3月"``, ``"2024年第1季度"``, ``"2024年上半年"``. Rows of other years are left out with a
warning that counts them.

**Not tracked / not computed, never a zero.** A missing table, a table without rows in the
year, a key characteristic without specifications or data, costs without the year's output value:
the metric's value is ``None`` (the evaluator's 经验级 for that indicator) and ``detail["reason"]``
says why. Loss rates are *tracked* only when the year has at least one cost row in one of the
indicator's categories **and** an output value: a year without external failures is declared by
a row with amount 0, never inferred from silence.

**Metric details** (``MetricInput.detail``; what :func:`~zhuoyue.excellence.build_plan` reads):

* ``sigma_level``: ``basis`` (``"defective"`` or ``"defects"``), ``ppm`` (the defect rate behind
  the level, per million units or opportunities), ``dpmo`` (basis defects, else ``None``),
  ``units``, ``defective``, ``defects``, ``opportunities``, ``sigma_level`` (uncapped; ``None``
  when infinite), ``shift``, ``capped``, ``upper_ppm_95`` (zero defectives: the rule-of-three
  bound), ``rows``, ``months``, ``products`` (``[{product, units, defective | defects, ppm,
  sigma_level}]``).
* ``cpk``: ``characteristics`` — one entry per key characteristic ``{code, name, product, step,
  status ("ok" / "not_computed"), reason, n, n_subgroups, subgroup_size, mean, sigma (= σ
  within), sigma_within, sigma_overall, sigma_method, lsl, usl, target, cp, cpk, ppk, level,
  in_control, normality_p, fails_next, warnings}`` (lowest Cpk first, then the not computed);
  ``lowest`` (code), ``computed``, ``not_computed`` (codes), ``unstable`` (codes),
  ``next_level``, ``next_threshold``, ``failing_next`` (codes below the next level's threshold),
  ``capped`` (the lowest Cpk lay outside the indicator's ``domain`` and the value is that bound,
  with a warning).
* ``rolled_yield``: ``steps`` (``[{step, submitted, passed_first, fpy, rows}]`` in order of first
  appearance), ``rolled_yield``, ``normalized_yield``, ``weakest_step``, ``n_steps``, ``rows``,
  ``months``.
* ``loss_rate``: ``categories`` (``[{category, name_zh, name_en, amount, rows, share,
  cumulative_share}]``, largest first: the Pareto of this rate), ``cost``, ``output_value``,
  ``rate``, ``year``, ``rows``, ``months``, ``paf`` (prevention / appraisal / internal / external
  totals of the year) and ``failure_pareto`` (internal and external categories together).

Not computed metrics carry ``reason`` (and whatever was found, e.g. ``output_value``).

Examples
--------
>>> import datetime as dt
>>> import polars as pl
>>> tables = {
...     "inspections": pl.DataFrame({
...         "date": [dt.date(2024, 3, 1), dt.date(2024, 3, 2)],
...         "step": ["OP10", "OP20"], "submitted": [200, 100], "passed_first": [190, 99]}),
...     "quality_costs": pl.DataFrame({
...         "date": [dt.date(2024, 5, 1)], "category": ["internal.scrap"], "amount": [299.0]}),
...     "output_value": pl.DataFrame({"year": [2024], "total_output_value": [10_000.0]}),
... }
>>> bundle = compute_metrics(tables, year=None)
>>> bundle.year, round(bundle.metrics["rolled_yield"].value, 4)
(2024, 0.9405)
>>> bundle.metrics["internal_loss_rate"].value, bundle.metrics["external_loss_rate"].value
(0.0299, None)
>>> print(bundle.metrics["external_loss_rate"].detail["reason"])  # doctest: +NORMALIZE_WHITESPACE
no quality_costs rows of 2024 in the categories external.claim, external.return,
external.discount, external.warranty (record a row with amount 0 to declare a year without such
cost)
>>> outcome = assess((tables, {"name": "示例厂"}))
>>> outcome.result.metrics["internal_loss_rate"].level, outcome.result.level
(3, 1)
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import polars as pl

from zhuoyue.errors import DataError, ParameterError, Problem, ValidationError
from zhuoyue.excellence import (
    AssessmentResult,
    Indicator,
    MetricInput,
    Model,
    compare,
    default_model,
    evaluate,
)
from zhuoyue.stats import capability, cost_of_quality, rolled_yield, sigma_level
from zhuoyue.stats.sigma import DEFAULT_SHIFT
from zhuoyue.stats.yields import CATEGORIES, CATEGORY_ALIASES, CATEGORY_NAMES_ZH

__all__ = [
    "DATED_TABLES",
    "AssessmentOutcome",
    "MetricsBundle",
    "assess",
    "compute_metrics",
    "parse_period",
    "resolve_year",
]

_EMPTY: Mapping[str, Any] = MappingProxyType({})
_NULL_CODE = np.uint32(0xFFFFFFFF)  # a missing subgroup label after the categorical encoding
_ROW = "_zhuoyue_row"  # the 0-based position of a row in its table, kept through the filters
_MAX_PROBLEMS = 200

#: the tables cut to the assessed year, with their date column
DATED_TABLES: Mapping[str, str] = MappingProxyType(
    {
        "measurements": "ts",
        "inspections": "date",
        "quality_costs": "date",
        "product_quality": "period",
    }
)

_INTERNAL = tuple(c for c in CATEGORIES if c.startswith("internal."))
_EXTERNAL = tuple(c for c in CATEGORIES if c.startswith("external."))
_CATEGORY_NAMES_EN = {c: c.split(".")[-1] for c in CATEGORIES}


# ------------------------------------------------------------------------------------------------
# Results
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class MetricsBundle:
    """The quantitative indicators computed from raw data, with the data coverage.

    Attributes
    ----------
    metrics : mapping of str to MetricInput
        Indicator id → ``{value, tracked, detail}`` for every metric indicator of the model.
    coverage : mapping
        ``year``, ``year_source``, ``months`` (the fewest months with data over the dated tables
        present), ``months_by_table``, ``characteristics``, ``key_characteristics``,
        ``key_characteristics_computed``, ``key_characteristics_without_specs``,
        ``key_characteristics_without_data``, ``measurements``, ``steps``, ``inspection_rows``,
        ``cost_rows``, ``product_quality_rows``, ``output_value_year``, ``tables``,
        ``rows_outside_year``.
    warnings : tuple of str
    year : int or None
        The assessed year (``None``: no dated data and no year given).
    year_source : str
        ``"given"``, ``"data"``, ``"enterprise"``, ``"output_value"``, ``"latest_in_data"`` or
        ``"none"``.
    """

    metrics: Mapping[str, MetricInput]
    coverage: Mapping[str, Any]
    warnings: tuple[str, ...]
    year: int | None
    year_source: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "year": self.year,
            "year_source": self.year_source,
            "metrics": {
                k: {"value": m.value, "tracked": m.tracked, "detail": _plain(m.detail)}
                for k, m in self.metrics.items()
            },
            "coverage": _plain(self.coverage),
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True, slots=True)
class AssessmentOutcome:
    """An assessment of one enterprise and year: the evaluator's result and what fed it.

    ``result.warnings`` holds the data warnings of :func:`compute_metrics` followed by the
    evaluator's; ``warnings`` is the same tuple.
    """

    result: AssessmentResult
    metrics: MetricsBundle
    enterprise: Mapping[str, str | None]
    year: int | None
    warnings: tuple[str, ...] = ()
    source: str | None = None

    @property
    def level(self) -> int:
        return self.result.level

    def to_dict(self) -> dict[str, Any]:
        """``result.to_dict()`` (the contract keys first) plus ``enterprise`` and ``year``."""
        out = self.result.to_dict()
        out["enterprise"] = {str(k): v for k, v in self.enterprise.items()}
        out["year"] = self.year
        return out


class _DataLike(Protocol):
    """What :func:`assess` reads of :class:`zhuoyue.ingest.workbook.AssessmentData`."""

    @property
    def tables(self) -> Mapping[str, pl.DataFrame]: ...

    @property
    def enterprise(self) -> Mapping[str, str | None]: ...

    @property
    def year(self) -> int | None: ...


# ------------------------------------------------------------------------------------------------
# Small helpers
# ------------------------------------------------------------------------------------------------
def _plain(x: Any) -> Any:
    if isinstance(x, Mapping):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def _f(x: Any) -> float | None:
    """A finite Python float, or ``None``."""
    if x is None or isinstance(x, bool):
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _table(
    tables: Mapping[str, pl.DataFrame], name: str, required: Sequence[str]
) -> pl.DataFrame | None:
    """The table, or ``None`` when absent; a present table must have its required columns."""
    df = tables.get(name)
    if df is None:
        return None
    if not isinstance(df, pl.DataFrame):
        raise ParameterError(
            f"tables[{name!r}] must be a polars DataFrame; got {type(df).__name__}."
        )
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise DataError(
            f"The {name} table has no column {', '.join(map(repr, missing))} "
            f"(it has {', '.join(df.columns) or 'no columns'}). See the data contracts: "
            f"{name} needs {', '.join(required)}.",
            code="missing_column",
        )
    return df


def _problems(
    df: pl.DataFrame, mask: pl.Expr, table: str, column: str, code: str, message: str
) -> list[Problem]:
    """One :class:`Problem` per row where ``mask`` holds (row = position + 2: the header is row 1).

    The position is the row's place in the whole table: a table cut to the year carries it in
    the column ``_ROW`` (:func:`_numbered`).
    """
    numbered = df if _ROW in df.columns else _numbered(df)
    bad = numbered.filter(mask).head(_MAX_PROBLEMS)
    out = []
    for i, v in zip(bad[_ROW].to_list(), bad[column].to_list(), strict=True):
        out.append(
            Problem(
                row=int(i) + 2,
                column=column,
                value=v if v is None or isinstance(v, (int, float, str, bool)) else str(v),
                code=code,
                message=f"{table}, row {int(i) + 2}, column {column!r}: {v!r} {message}",
                sheet=table,
            )
        )
    return out


def _numbered(df: pl.DataFrame) -> pl.DataFrame:
    """``df`` with each row's position in the table, so that filtered rows keep their number."""
    return df.with_row_index(_ROW)


def _raise_problems(problems: list[Problem], table: str) -> None:
    if problems:
        raise ValidationError(problems, source=table)


def _is_temporal(dtype: pl.DataType) -> bool:
    return dtype == pl.Date or isinstance(dtype, pl.Datetime)


def _year_bounds(dtype: pl.DataType, year: int) -> tuple[Any, Any]:
    if isinstance(dtype, pl.Datetime):
        return dt.datetime(year, 1, 1), dt.datetime(year + 1, 1, 1)
    return dt.date(year, 1, 1), dt.date(year + 1, 1, 1)


def _date_column(df: pl.DataFrame, table: str, column: str) -> pl.Expr:
    """The date column as a naive Date/Datetime expression (time zones dropped: local time)."""
    dtype = df.schema[column]
    if not _is_temporal(dtype):
        raise DataError(
            f"The {table} table's column {column!r} must hold dates (got {dtype}); read the file "
            "with zhuoyue.ingest.workbook.read_assessment_data, which parses them.",
            code="not_a_date",
        )
    expr = pl.col(column)
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
        expr = expr.dt.replace_time_zone(None)
    return expr


def _in_year(df: pl.DataFrame, table: str, column: str, year: int) -> pl.Expr:
    expr = _date_column(df, table, column)
    lo, hi = _year_bounds(df.schema[column], year)
    inside: pl.Expr = (expr >= lo) & (expr < hi)
    return inside


def _month_exprs(df: pl.DataFrame, table: str, column: str, year: int) -> list[pl.Expr]:
    """Twelve boolean aggregations: does month m of ``year`` have a row? (cheap comparisons)."""
    expr = _date_column(df, table, column)
    dtype = df.schema[column]
    mk = dt.datetime if isinstance(dtype, pl.Datetime) else dt.date
    out = []
    for m in range(1, 13):
        lo = mk(year, m, 1)
        hi = mk(year + (m == 12), m % 12 + 1, 1)
        out.append(((expr >= lo) & (expr < hi)).any().alias(f"_m{m}"))
    return out


# ------------------------------------------------------------------------------------------------
# Periods of product_quality
# ------------------------------------------------------------------------------------------------
_P_YEAR = re.compile(r"^\s*(\d{4})\s*(?:年度?)?\s*$")
_P_MONTH = re.compile(r"^\s*(\d{4})\s*(?:[-/.]\s*|年\s*)(\d{1,2})\s*(?:月(?:份)?)?\s*$")
_P_DATE = re.compile(r"^\s*(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T].*)?$")
_P_QUARTER = re.compile(
    r"^\s*(\d{4})\s*(?:[-/ ]?\s*Q\s*([1-4])|年?\s*第?\s*([1-4一二三四])\s*季度?)\s*$", re.I
)
_P_HALF = re.compile(r"^\s*(\d{4})\s*(?:[-/ ]?\s*H\s*([12])|年?\s*([上下])半年)\s*$", re.I)
_CN_DIGIT = {"一": 1, "二": 2, "三": 3, "四": 4}


def parse_period(period: Any) -> tuple[int, tuple[int, ...]]:
    """The year and the months (1..12) of a ``product_quality`` period.

    >>> parse_period("2024"), parse_period("2024-03"), parse_period("2024Q2")
    ((2024, (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)), (2024, (3,)), (2024, (4, 5, 6)))
    >>> parse_period("2024年第3季度"), parse_period("2024H2")[1], parse_period("2024年3月")
    ((2024, (7, 8, 9)), (7, 8, 9, 10, 11, 12), (2024, (3,)))

    Raises
    ------
    DataError
        ``code="bad_period"`` for anything else.
    """
    if isinstance(period, dt.date):
        return period.year, (period.month,)
    if isinstance(period, int) and not isinstance(period, bool) and 1000 <= period <= 9999:
        return period, tuple(range(1, 13))
    text = str(period) if period is not None else ""
    if (m := _P_YEAR.match(text)) is not None:
        return int(m[1]), tuple(range(1, 13))
    if (m := _P_MONTH.match(text)) is not None or (m := _P_DATE.match(text)) is not None:
        month = int(m[2])
        if 1 <= month <= 12:
            return int(m[1]), (month,)
    if (m := _P_QUARTER.match(text)) is not None:
        q = m[2] or m[3]
        qn = _CN_DIGIT.get(q, 0) or int(q)
        return int(m[1]), tuple(range(3 * qn - 2, 3 * qn + 1))
    if (m := _P_HALF.match(text)) is not None:
        h = 1 if (m[2] == "1" or m[3] == "上") else 2
        return int(m[1]), tuple(range(6 * h - 5, 6 * h + 1))
    raise DataError(
        f"{period!r} is not a period: write a year (2024), a month (2024-03), a quarter "
        "(2024Q1) or a half year (2024H1).",
        code="bad_period",
    )


def _periods(pq: pl.DataFrame) -> tuple[list[int], list[tuple[int, ...]]]:
    """Year and months of every product_quality row; every bad period is reported."""
    col = pq["period"]
    if _is_temporal(col.dtype):
        dates = col.cast(pl.Date).to_list()
        values: list[Any] = dates
    else:
        values = col.to_list()
    years: list[int] = []
    months: list[tuple[int, ...]] = []
    problems: list[Problem] = []
    for i, v in enumerate(values):
        try:
            y, ms = parse_period(v)
        except DataError as exc:
            problems.append(
                Problem(
                    row=i + 2,
                    column="period",
                    value=None if v is None else str(v),
                    code="bad_period",
                    message=f"product_quality, row {i + 2}, column 'period': {exc}",
                    sheet="product_quality",
                )
            )
            y, ms = 0, ()
        years.append(y)
        months.append(ms)
    _raise_problems(problems[:_MAX_PROBLEMS], "product_quality")
    return years, months


# ------------------------------------------------------------------------------------------------
# The assessed year
# ------------------------------------------------------------------------------------------------
def _year_hint(enterprise: Mapping[str, Any] | None) -> int | None:
    if not enterprise:
        return None
    for key in ("year", "assessment_year", "period", "年度", "评价年度"):
        v = enterprise.get(key)
        if v is None:
            continue
        m = re.search(r"(\d{4})", str(v))
        if m:
            return int(m[1])
    return None


def _latest_year(tables: Mapping[str, pl.DataFrame]) -> int | None:
    latest: int | None = None
    for name, column in DATED_TABLES.items():
        df = tables.get(name)
        if not isinstance(df, pl.DataFrame) or column not in df.columns or df.height == 0:
            continue
        if name == "product_quality" and not _is_temporal(df.schema[column]):
            years = [y for y in _periods(df)[0] if y]
            y = max(years) if years else None
        else:
            value = df.select(_date_column(df, name, column).max()).item()
            y = None if value is None else int(value.year)
        if y is not None and (latest is None or y > latest):
            latest = y
    return latest


def _output_value_years(tables: Mapping[str, pl.DataFrame]) -> list[int]:
    ov = tables.get("output_value")
    if not isinstance(ov, pl.DataFrame) or "year" not in ov.columns or ov.height == 0:
        return []
    return sorted({int(y) for y in ov["year"].drop_nulls().to_list()})


def resolve_year(
    tables: Mapping[str, pl.DataFrame],
    year: int | None = None,
    *,
    data_year: int | None = None,
    enterprise: Mapping[str, Any] | None = None,
) -> tuple[int | None, str]:
    """The assessed year and where it came from (see the module notes for the order).

    >>> import polars as pl
    >>> resolve_year({"output_value": pl.DataFrame({"year": [2023, 2024]})})
    (2024, 'output_value')
    >>> resolve_year({}, 2022), resolve_year({})
    ((2022, 'given'), (None, 'none'))
    """
    for value, source in ((year, "given"), (data_year, "data")):
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int) or not 1000 <= value <= 9999:
                raise ParameterError(f"The year must be a four-digit integer. Got {value!r}.")
            return int(value), source
    hint = _year_hint(enterprise)
    if hint is not None:
        return hint, "enterprise"
    ov_years = _output_value_years(tables)
    if ov_years:
        return ov_years[-1], "output_value"
    latest = _latest_year(tables)
    if latest is not None:
        return latest, "latest_in_data"
    return None, "none"


# ------------------------------------------------------------------------------------------------
# Sigma level
# ------------------------------------------------------------------------------------------------
def _sigma_metric(
    ind: Indicator,
    pq: pl.DataFrame | None,
    year: int | None,
    cov: dict[str, Any],
    warnings: list[str],
) -> MetricInput:
    if pq is None:
        return _not_computed("no product_quality table (units and defectives per period)")
    years, months = _periods(pq)
    cov["product_quality_rows_total"] = pq.height
    if year is None:
        return _not_computed("no assessed year: the data have no dates and no year was given")
    keep = [y == year for y in years]
    rows = _numbered(pq).filter(pl.Series(keep, dtype=pl.Boolean))
    month_set = sorted({mo for k, ms in zip(keep, months, strict=True) if k for mo in ms})
    cov["months_by_table"]["product_quality"] = len(month_set)
    cov["product_quality_rows"] = rows.height
    if rows.height == 0:
        return _not_computed(f"no product_quality rows for {year}")
    cols = set(rows.columns)
    has_defective = "defective" in cols and rows["defective"].null_count() < rows.height
    has_defects = {"defects", "opportunities"} <= cols and rows.filter(
        pl.col("defects").is_not_null() & pl.col("opportunities").is_not_null()
    ).height > 0
    if not has_defective and not has_defects:
        if "defective" not in cols and not {"defects", "opportunities"} <= cols:
            raise DataError(
                "The product_quality table needs a 'defective' column (defective units) or "
                "'defects' and 'opportunities' columns.",
                code="missing_column",
            )
        return _not_computed(f"product_quality of {year} has no defective (or defects) counts")
    basis = "defective" if has_defective else "defects"
    need = ["units", "defective"] if basis == "defective" else ["units", "defects", "opportunities"]
    usable = rows.filter(pl.all_horizontal(pl.col(c).is_not_null() for c in need))
    if usable.height < rows.height:
        warnings.append(
            f"product_quality: {rows.height - usable.height} row(s) of {year} without "
            f"{' / '.join(need)} were left out of the sigma level."
        )
    problems = _problems(
        usable, pl.col("units") < 0, "product_quality", "units", "negative", "is negative."
    )
    for c in need[1:]:
        problems += _problems(
            usable, pl.col(c) < 0, "product_quality", c, "negative", "is negative."
        )
    if basis == "defective":
        problems += _problems(
            usable,
            pl.col("defective") > pl.col("units"),
            "product_quality",
            "defective",
            "exceeds_units",
            "exceeds the units of the row.",
        )
    else:
        problems += _problems(
            usable,
            pl.col("defects") > pl.col("units") * pl.col("opportunities"),
            "product_quality",
            "defects",
            "defects_exceed_opportunities",
            "exceeds units × opportunities of the row.",
        )
    _raise_problems(problems, "product_quality")
    shift = _f(ind.params.get("shift"))
    shift = DEFAULT_SHIFT if shift is None else shift
    units = float(usable["units"].cast(pl.Float64).sum())
    if not units > 0:
        return _not_computed(f"product_quality of {year} counts no units")
    detail: dict[str, Any] = {
        "basis": basis,
        "units": units,
        "defective": None,
        "defects": None,
        "opportunities": None,
        "dpmo": None,
        "shift": shift,
        "rows": usable.height,
        "months": month_set,
    }
    if basis == "defective":
        bad = float(usable["defective"].cast(pl.Float64).sum())
        rate = bad / units * 1e6
        detail["defective"] = bad
    else:
        bad = float(usable["defects"].cast(pl.Float64).sum())
        opp = float(
            (usable["units"].cast(pl.Float64) * usable["opportunities"].cast(pl.Float64)).sum()
        )
        rate = bad / opp * 1e6
        detail.update(defects=bad, opportunities=opp, dpmo=rate)
    detail["ppm"] = rate
    z = _sigma_of(rate, shift)
    detail["sigma_level"] = z if math.isfinite(z) else None
    value = z
    lo, hi = ind.domain if ind.domain is not None else (-10.0, 20.0)
    detail["capped"] = False
    if bad == 0:
        upper = 3.0 / (units if basis == "defective" else float(detail["opportunities"])) * 1e6
        z_up = _sigma_of(upper, shift)
        detail["upper_ppm_95"] = upper
        value = hi
        detail["capped"] = True
        warnings.append(
            f"sigma level: no {'defective unit' if basis == 'defective' else 'defect'} in "
            f"{units:,.0f} units of {year}: the level is unbounded and is shown as "
            f"{ind.display(hi)} (the model's upper bound); the data support at least "
            f"{z_up:.2f}σ (95 % upper bound {upper:,.1f} ppm by the rule of three)."
        )
    elif not math.isfinite(z) or z < lo:
        value = lo
        detail["capped"] = True
        warnings.append(
            f"sigma level: {rate:,.0f} per million of {year} is below the model's lower bound "
            f"{ind.display(lo)}; shown as that bound."
        )
    if "product" in usable.columns:
        detail["products"] = _sigma_products(usable, basis, shift)
    return MetricInput(value=value, tracked=True, detail=detail)


def _sigma_of(rate_per_million: float, shift: float) -> float:
    if rate_per_million >= 1e6:
        return -math.inf
    return float(np.asarray(sigma_level(ppm=rate_per_million, shift=shift).level))


def _sigma_products(rows: pl.DataFrame, basis: str, shift: float) -> list[dict[str, Any]]:
    aggs = [pl.col("units").cast(pl.Float64).sum().alias("units")]
    if basis == "defective":
        aggs.append(pl.col("defective").cast(pl.Float64).sum().alias("bad"))
        aggs.append(pl.col("units").cast(pl.Float64).sum().alias("chances"))
    else:
        aggs.append(pl.col("defects").cast(pl.Float64).sum().alias("bad"))
        aggs.append(
            (pl.col("units").cast(pl.Float64) * pl.col("opportunities").cast(pl.Float64))
            .sum()
            .alias("chances")
        )
    g = rows.group_by("product", maintain_order=True).agg(aggs)
    out = []
    for product, units, bad, chances in g.iter_rows():
        rate = bad / chances * 1e6 if chances > 0 else None
        z = _sigma_of(rate, shift) if rate is not None else None
        out.append(
            {
                "product": product,
                "units": units,
                basis: bad,
                "ppm": rate,
                "sigma_level": z if z is not None and math.isfinite(z) else None,
            }
        )
    return out


# ------------------------------------------------------------------------------------------------
# Cpk of the key characteristics
# ------------------------------------------------------------------------------------------------
def _key_mask(chars: pl.DataFrame) -> pl.Series:
    key = chars["key"]
    if key.dtype.is_numeric():  # 1 / 0, also when a spreadsheet gives them as 1.0 / 0.0
        key = key.cast(pl.Float64).fill_nan(None) != 0
    elif key.dtype != pl.Boolean:
        text = key.cast(pl.String).str.strip_chars().str.to_lowercase()
        key = text.is_in(["true", "1", "yes", "y", "是", "关键", "√", "x"])
    return key.fill_null(False)


def _subgroups(
    x: npt.NDArray[np.float64], g: npt.NDArray[np.uint32] | None, size: int | None
) -> tuple[npt.NDArray[np.float64], Any, list[str]]:
    """Values and the ``subgroups`` argument of capability; subgroups of one value are left out."""
    notes: list[str] = []
    if g is not None:
        missing = g == _NULL_CODE
        if missing.all():
            g = None
        elif missing.any():
            raise DataError(
                f"{int(missing.sum())} of {g.size} measurements have no subgroup label; label "
                "every value or none",
                code="missing_subgroup",
            )
    if g is None:
        if size is None or size < 2:
            return x, None, notes
        rest = x.size % size
        if rest == 1:
            notes.append(
                f"the last value does not complete a subgroup of {size} and is left out "
                "(σ within needs subgroups of at least 2 values)"
            )
            x = x[:-1]
        return x, size, notes
    starts = np.flatnonzero(np.concatenate(([True], g[1:] != g[:-1])))
    sizes = np.diff(np.append(starts, g.size))
    run_labels = np.sort(g[starts])
    contiguous = not bool(np.any(run_labels[1:] == run_labels[:-1]))
    if contiguous:
        single = sizes == 1
        if single.any():
            keep = np.repeat(~single, sizes)
            notes.append(
                f"{int(single.sum())} subgroup(s) of one value left out (σ within needs "
                "subgroups of at least 2 values)"
            )
            x, g = x[keep], g[keep]
            sizes = sizes[~single]
        if sizes.size and bool(np.all(sizes == sizes[0])):
            return x, int(sizes[0]), notes  # the same subgroups, the fast fixed-size path
        return x, g, notes
    _, inverse, counts = np.unique(g, return_inverse=True, return_counts=True)
    single = counts[inverse.ravel()] == 1
    if single.any():
        notes.append(
            f"{int((counts == 1).sum())} subgroup(s) of one value left out (σ within needs "
            "subgroups of at least 2 values)"
        )
        x, g = x[~single], g[~single]
    return x, g, notes


def _cpk_metric(
    ind: Indicator,
    model: Model,
    chars: pl.DataFrame | None,
    meas: pl.DataFrame | None,
    year: int | None,
    cov: dict[str, Any],
    warnings: list[str],
    normality: bool,
) -> MetricInput:
    if chars is None:
        return _not_computed(
            "no characteristics table (key characteristics and their specifications)"
        )
    key = _key_mask(chars)
    cov["characteristics"] = chars.height
    keys = chars.filter(key)
    cov["key_characteristics"] = keys.height
    if keys.height == 0:
        return _not_computed("no key characteristic (key = true) in the characteristics table")
    codes = keys["code"].cast(pl.String).to_list()
    if len(set(codes)) < len(codes):
        dupes = sorted({c for c in codes if codes.count(c) > 1})
        raise DataError(
            f"The characteristics table lists the key characteristic(s) {', '.join(dupes)} more "
            "than once; keep one row per code.",
            code="duplicate_characteristic",
        )

    def col(name: str) -> list[Any]:
        return keys[name].to_list() if name in keys.columns else [None] * keys.height

    info = {
        c: {
            "code": c,
            "name": n,
            "product": p,
            "step": s,
            "lsl": _f(lo),
            "usl": _f(hi),
            "target": _f(t),
            "subgroup_size": None if sz is None else int(sz),
        }
        for c, n, p, s, lo, hi, t, sz in zip(
            codes,
            col("name"),
            col("product"),
            col("step"),
            col("lsl"),
            col("usl"),
            col("target"),
            col("subgroup_size"),
            strict=True,
        )
    }
    entries: dict[str, dict[str, Any]] = {}
    with_specs = []
    for c in codes:
        if info[c]["lsl"] is None and info[c]["usl"] is None:
            entries[c] = _nc_entry(info[c], "no specification limit (lsl / usl)")
        else:
            with_specs.append(c)
    cov["key_characteristics_without_specs"] = len(codes) - len(with_specs)
    slices: dict[str, tuple[int, int]] = {}
    values = np.empty(0)
    labels: npt.NDArray[np.uint32] | None = None
    if meas is not None and year is not None and with_specs:
        values, labels, slices, months = _key_measurements(meas, with_specs, year, warnings)
        cov["months_by_table"]["measurements"] = months
    for c in with_specs:
        if c not in slices:
            why = (
                "no measurements table"
                if meas is None
                else f"no measurements in {year}"
                if year is not None
                else "no assessed year"
            )
            entries[c] = _nc_entry(info[c], why)
            continue
        start, end = slices[c]
        g = None if labels is None else labels[start:end]
        entries[c] = _capability_entry(info[c], values[start:end], g, normality)
    cov["key_characteristics_without_data"] = sum(
        1 for c in with_specs if entries[c]["status"] != "ok"
    )
    ok = [entries[c] for c in codes if entries[c]["status"] == "ok"]
    nc = [entries[c] for c in codes if entries[c]["status"] != "ok"]
    cov["key_characteristics_computed"] = len(ok)
    for e in ok:
        e["level"] = ind.reached_level(e["cpk"], model.rel_tol)
    ok.sort(key=lambda e: e["cpk"])
    unstable = [e["code"] for e in ok if e["in_control"] is False]
    detail: dict[str, Any] = {
        "characteristics": ok + nc,
        "computed": len(ok),
        "not_computed": [e["code"] for e in nc],
        "unstable": unstable,
    }
    if nc:
        shown = ", ".join(f"{e['code']} ({e['reason']})" for e in nc[:10])
        more = f" and {len(nc) - 10} more" if len(nc) > 10 else ""
        warnings.append(
            f"Cpk not computed for {len(nc)} of {len(codes)} key characteristic(s): {shown}{more}."
        )
    if unstable:
        rates = [
            e["stability"]["signal_rate"]
            for e in ok
            if e["in_control"] is False and e.get("stability")
        ]
        shown = ", ".join(unstable[:10]) + (
            f" and {len(unstable) - 10} more" if len(unstable) > 10 else ""
        )
        spread = f"; {min(rates):.1%} to {max(rates):.1%} of their points signal" if rates else ""
        warnings.append(
            f"{len(unstable)} of {len(ok)} key characteristic(s) fire control-chart tests over "
            f"the year ({shown}{spread}): Cpk presumes a stable process (policy glossary 2), so "
            "their capability is not a prediction until the special causes are found."
        )
    if not ok:
        detail["reason"] = (
            "no key characteristic could be computed ("
            + "; ".join(f"{e['code']}: {e['reason']}" for e in nc[:5])
            + (" ..." if len(nc) > 5 else "")
            + ")"
        )
        return MetricInput(value=None, tracked=None, detail=detail)
    value = float(ok[0]["cpk"])
    detail["lowest"] = ok[0]["code"]
    detail["capped"] = False
    if ind.domain is not None and not ind.domain[0] <= value <= ind.domain[1]:
        # a gauge too coarse for the tolerance (or a process far outside it) gives a Cpk beyond
        # the model's range: show the bound, which is on the same side of every threshold
        bound = min(max(value, ind.domain[0]), ind.domain[1])
        warnings.append(
            f"Cpk: the lowest key characteristic {ok[0]['code']} has Cpk {value:,.4g}, outside "
            f"the model's range [{ind.domain[0]:g}, {ind.domain[1]:g}]; shown as {bound:g}. "
            "Check its specification limits and the gauge resolution."
        )
        value = bound
        detail["capped"] = True
    level = ind.reached_level(value, model.rel_tol)
    detail["next_level"] = level + 1 if level < 5 else None
    detail["next_threshold"] = None
    detail["failing_next"] = []
    if level < 5:
        t = ind.threshold(level + 1)
        detail["next_threshold"] = t.value
        for e in ok:
            e["fails_next"] = t.value is not None and not compare(
                e["cpk"], t.op, t.value, model.rel_tol
            )
        detail["failing_next"] = [e["code"] for e in ok if e["fails_next"]]
    return MetricInput(value=value, tracked=True, detail=detail)


def _key_measurements(
    meas: pl.DataFrame, codes: list[str], year: int, warnings: list[str]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.uint32] | None, dict[str, tuple[int, int]], int]:
    """The key characteristics' values of ``year``, sorted by characteristic and time, and the
    number of months with such values.

    One Polars pass filters and sorts; the boundaries of each characteristic come from a
    run-length encoding, and the values are NumPy slices of one array (no copy per
    characteristic, no loop over rows).
    """
    use_sg = "subgroup" in meas.columns and meas["subgroup"].null_count() < meas.height
    cols: list[pl.Expr] = [
        pl.col("characteristic").cast(pl.String),
        pl.col("value").cast(pl.Float64),
    ]
    if use_sg:
        cols.append(
            pl.col("subgroup")
            .cast(pl.String)
            .cast(pl.Categorical)
            .to_physical()
            .cast(pl.UInt32)
            .fill_null(int(_NULL_CODE))
            .alias("_sg")
        )
    ts = _date_column(meas, "measurements", "ts")
    lo, hi = _year_bounds(meas.schema["ts"], year)
    sel = (
        meas.lazy()
        .filter(pl.col("characteristic").cast(pl.String).is_in(codes) & (ts >= lo) & (ts < hi))
        .select(*cols, ts.alias("_ts"))
        .collect()
    )
    # files usually hold each characteristic in one block in time order: then no sort is needed
    block_start = pl.col("characteristic") != pl.col("characteristic").shift()
    ordered = sel.select(
        ((pl.col("_ts").diff() >= 0) | block_start).all().alias("in_time"),
        block_start.fill_null(True).sum().alias("blocks"),
        pl.col("characteristic").n_unique().alias("codes"),
    ).row(0, named=True)
    if not (ordered["in_time"] and ordered["blocks"] == ordered["codes"]):
        sel = sel.sort(["characteristic", "_ts"], maintain_order=True)
    bad = sel.filter(
        pl.col("value").is_null() | pl.col("value").is_nan() | pl.col("value").is_infinite()
    )
    if bad.height:
        warnings.append(
            f"measurements: {bad.height} value(s) of key characteristics in {year} are blank or "
            "not finite and were left out."
        )
        sel = sel.filter(pl.col("value").is_not_null() & pl.col("value").is_finite())
    runs = sel.select(pl.col("characteristic").rle()).unnest("characteristic")
    lens = runs["len"].to_numpy().astype(np.int64)
    ends = np.cumsum(lens)
    slices = {
        str(c): (int(e - n), int(e))
        for c, n, e in zip(runs["value"].to_list(), lens.tolist(), ends.tolist(), strict=True)
    }
    values = sel["value"].to_numpy()
    labels = sel["_sg"].to_numpy() if use_sg else None
    months = 0
    if sel.height:
        months = int(
            sum(bool(v) for v in sel.select(_month_exprs(sel, "measurements", "_ts", year)).row(0))
        )
    return values, labels, slices, months


def _nc_entry(info: Mapping[str, Any], reason: str) -> dict[str, Any]:
    return {
        **info,
        "status": "not_computed",
        "reason": reason,
        "n": 0,
        "cpk": None,
        "in_control": None,
        "warnings": [],
    }


def _capability_entry(
    info: Mapping[str, Any],
    x: npt.NDArray[np.float64],
    g: npt.NDArray[np.uint32] | None,
    normality: bool,
) -> dict[str, Any]:
    size = info["subgroup_size"]
    try:
        xs, subgroups, notes = _subgroups(x, g, size)
        res = capability(
            xs,
            subgroups,
            info["lsl"],
            info["usl"],
            info["target"],
            normality=normality,
            stability=True,
        )
    except (DataError, ParameterError) as exc:
        return {**_nc_entry(info, str(exc)), "n": int(x.size)}
    if res.cpk is None:  # pragma: no cover - normal method always gives Cpk
        return {**_nc_entry(info, "Cpk is undefined"), "n": int(x.size)}
    stability: dict[str, Any] | None = None
    if res.chart is not None:
        signals = {
            name: {
                "points": int(np.unique(p.violations.index).size),
                "tests": sorted({int(r) for r in p.violations.rule.tolist()}),
            }
            for name, p in res.chart.panels.items()
            if len(p.violations)
        }
        flagged = [p.violations.index for p in res.chart.panels.values() if len(p.violations)]
        n_flagged = int(np.unique(np.concatenate(flagged)).size) if flagged else 0
        stability = {
            "chart": res.chart.chart,
            "points": res.chart.n_points,
            "points_signalling": n_flagged,
            "signal_rate": n_flagged / res.chart.n_points if res.chart.n_points else 0.0,
            "signals": signals,
        }
    return {
        **info,
        "target": res.target,
        "status": "ok",
        "reason": "",
        "n": res.n,
        "n_subgroups": res.n_subgroups,
        "subgroup_size": res.subgroup_size,
        "mean": res.mean,
        "sigma": res.sigma_within,
        "sigma_within": res.sigma_within,
        "sigma_overall": res.sigma_overall,
        "sigma_method": res.sigma_method,
        "cp": res.cp,
        "cpk": float(res.cpk),
        "ppk": res.ppk,
        "level": None,
        "in_control": res.in_control,
        "stability": stability,
        "normality_p": _f(res.normality.get("p_value")),
        "fails_next": False,
        "warnings": [*notes, *res.warnings],
    }


# ------------------------------------------------------------------------------------------------
# Rolled first-pass yield
# ------------------------------------------------------------------------------------------------
def _yield_metric(
    insp: pl.DataFrame | None, year: int | None, cov: dict[str, Any], warnings: list[str]
) -> MetricInput:
    if insp is None:
        return _not_computed("no inspections table (submitted / passed first per step)")
    if year is None:
        return _not_computed("no assessed year: the data have no dates and no year was given")
    in_year = _in_year(insp, "inspections", "date", year)
    rows = _numbered(insp).filter(in_year)
    cov["inspection_rows"] = rows.height
    if rows.height == 0:
        return _not_computed(f"no inspections rows in {year}")
    got = rows.select(_month_exprs(rows, "inspections", "date", year)).row(0)
    cov["months_by_table"]["inspections"] = int(sum(bool(v) for v in got))
    problems = _problems(
        rows, pl.col("submitted") < 0, "inspections", "submitted", "negative", "is negative."
    )
    problems += _problems(
        rows, pl.col("passed_first") < 0, "inspections", "passed_first", "negative", "is negative."
    )
    problems += _problems(
        rows,
        pl.col("passed_first") > pl.col("submitted"),
        "inspections",
        "passed_first",
        "passed_exceeds_submitted",
        "exceeds the units submitted (are the two columns swapped?).",
    )
    _raise_problems(problems, "inspections")
    usable = rows.filter(
        pl.col("step").is_not_null()
        & pl.col("submitted").is_not_null()
        & pl.col("passed_first").is_not_null()
    )
    if usable.height < rows.height:
        warnings.append(
            f"inspections: {rows.height - usable.height} row(s) of {year} without step, submitted "
            "or passed_first were left out of the rolled yield."
        )
    per = usable.group_by(pl.col("step").cast(pl.String), maintain_order=True).agg(
        pl.col("submitted").cast(pl.Int64).sum().alias("submitted"),
        pl.col("passed_first").cast(pl.Int64).sum().alias("passed_first"),
        pl.len().alias("rows"),
    )
    empty = per.filter(pl.col("submitted") == 0)
    if empty.height:
        warnings.append(
            f"inspections: step(s) {', '.join(empty['step'].to_list())} submitted no unit in "
            f"{year} and are not in the rolled yield."
        )
        per = per.filter(pl.col("submitted") > 0)
    cov["steps"] = per.height
    if per.height == 0:
        return _not_computed(f"no unit was submitted to inspection in {year}")
    res = rolled_yield(
        per["submitted"].to_numpy(), per["passed_first"].to_numpy(), step=per["step"].to_numpy()
    )
    warnings.extend(f"rolled yield: {w}" for w in res.warnings)
    steps = [
        {"step": s, "submitted": int(sub), "passed_first": int(ok), "fpy": float(f), "rows": int(n)}
        for s, sub, ok, f, n in zip(
            res.steps,
            per["submitted"].to_list(),
            per["passed_first"].to_list(),
            res.first_pass_yield.tolist(),
            per["rows"].to_list(),
            strict=True,
        )
    ]
    detail = {
        "steps": steps,
        "rolled_yield": res.rolled_yield,
        "normalized_yield": res.normalized_yield,
        "weakest_step": res.weakest_step,
        "n_steps": res.n_steps,
        "rows": usable.height,
        "months": cov["months_by_table"].get("inspections"),
    }
    return MetricInput(value=res.rolled_yield, tracked=True, detail=detail)


# ------------------------------------------------------------------------------------------------
# Loss rates
# ------------------------------------------------------------------------------------------------
def _canonical(name: str) -> str:
    """A cost category in its canonical spelling (``报废`` → ``internal.scrap``); unknown names
    are kept as written (stripped), so that a model with its own categories can use them."""
    key = name.strip().casefold()
    cat = CATEGORY_ALIASES.get(key)
    if cat is None:
        cat = CATEGORY_ALIASES.get("".join("." if ch in "_- " else ch for ch in key))
    return cat if cat is not None else name.strip()


def _loss_categories(ind: Indicator) -> tuple[tuple[str, str, str], ...] | None:
    """(code, name_zh, name_en) of the categories of a loss-rate indicator (module notes)."""
    raw = ind.params.get("categories")
    out: list[tuple[str, str, str]] = []
    if isinstance(raw, Sequence) and not isinstance(raw, str):
        for row in raw:
            if isinstance(row, str):
                c = _canonical(row)
                out.append((c, CATEGORY_NAMES_ZH.get(c, c), _CATEGORY_NAMES_EN.get(c, c)))
            elif isinstance(row, Sequence) and row and isinstance(row[0], str):
                c = _canonical(row[0])
                zh = str(row[1]) if len(row) > 1 else CATEGORY_NAMES_ZH.get(c, c)
                en = str(row[2]) if len(row) > 2 else _CATEGORY_NAMES_EN.get(c, c)
                out.append((c, zh, en))
    if out:
        return tuple(out)
    lowered = ind.id.lower()
    fallback = _INTERNAL if "internal" in lowered else _EXTERNAL if "external" in lowered else ()
    if not fallback:
        return None
    return tuple((c, CATEGORY_NAMES_ZH[c], _CATEGORY_NAMES_EN[c]) for c in fallback)


@dataclass(slots=True)
class _Costs:
    """The year's cost records aggregated per canonical category."""

    table_present: bool
    by_category: dict[str, float]
    rows_by_category: dict[str, int]
    rows: int
    months: int
    output_value: float | None
    output_value_note: str
    paf: dict[str, Any] | None = None
    failure_pareto: list[dict[str, Any]] = field(default_factory=list)


def _costs(
    tables: Mapping[str, pl.DataFrame],
    year: int | None,
    cov: dict[str, Any],
    warnings: list[str],
    known: set[str],
) -> _Costs | None:
    qc = _table(tables, "quality_costs", ("date", "category", "amount"))
    ov = _table(tables, "output_value", ("year", "total_output_value"))
    if year is None:
        return None
    output_value: float | None = None
    note = ""
    if ov is None:
        note = "no output_value table (annual total output value)"
    else:
        rows = ov.filter(pl.col("year") == year)["total_output_value"].drop_nulls().cast(pl.Float64)
        values = sorted(set(rows.to_list()))
        if not values:
            have = _output_value_years(tables)
            note = f"no output value for {year}" + (
                f" (the output_value table has {', '.join(map(str, have))})" if have else ""
            )
        elif len(values) > 1:
            raise DataError(
                f"The output_value table gives {len(values)} different values for {year} "
                f"({', '.join(f'{v:,.2f}' for v in values)}); keep one annual total per year.",
                code="duplicate_output_value",
            )
        elif not values[0] > 0:
            note = f"the output value of {year} is {values[0]:g}, not > 0"
        else:
            output_value = values[0]
            if rows.len() > 1:
                warnings.append(
                    f"output_value: {year} is given {rows.len()} times (the same value)."
                )
    cov["output_value_year"] = year if output_value is not None else None
    if qc is None:
        return _Costs(False, {}, {}, 0, 0, output_value, note)
    assert year is not None
    rows_y = _numbered(qc).filter(_in_year(qc, "quality_costs", "date", year))
    problems = _problems(
        rows_y,
        pl.col("amount").is_null() | pl.col("amount").cast(pl.Float64).is_nan(),
        "quality_costs",
        "amount",
        "blank",
        "is not an amount.",
    )
    problems += _problems(
        rows_y,
        pl.col("amount") < 0,
        "quality_costs",
        "amount",
        "negative",
        "is negative: net a recovery into the cost it reduces instead of booking a negative row.",
    )
    problems += _problems(
        rows_y,
        pl.col("category").is_null(),
        "quality_costs",
        "category",
        "missing_category",
        "is not a category.",
    )
    _raise_problems(problems, "quality_costs")
    cov["cost_rows"] = rows_y.height
    months = 0
    if rows_y.height:
        months = int(sum(rows_y.select(_month_exprs(rows_y, "quality_costs", "date", year)).row(0)))
    cov["months_by_table"]["quality_costs"] = months
    agg = rows_y.group_by(pl.col("category").cast(pl.String)).agg(
        pl.col("amount").cast(pl.Float64).sum().alias("amount"), pl.len().alias("rows")
    )
    by_cat: dict[str, float] = {}
    rows_by: dict[str, int] = {}
    for cat, amount, n in agg.iter_rows():
        c = _canonical(cat)
        by_cat[c] = by_cat.get(c, 0.0) + float(amount)
        rows_by[c] = rows_by.get(c, 0) + int(n)
    unused = sorted(c for c in by_cat if c not in known and c not in CATEGORIES)
    if unused:
        warnings.append(
            f"quality_costs: categor{'y' if len(unused) == 1 else 'ies'} {', '.join(unused)} "
            "belong to no loss rate of the model and were left out."
        )
    costs = _Costs(True, by_cat, rows_by, rows_y.height, months, output_value, note)
    standard = {c: a for c, a in by_cat.items() if c in CATEGORIES}
    if standard and output_value is not None:
        coq = cost_of_quality(list(standard), list(standard.values()), output_value, year=year)
        costs.paf = {
            "totals_by_bucket": dict(coq.totals_by_bucket),
            "total": coq.total,
            "rate_total": coq.rate(),
        }
        costs.failure_pareto = [p.to_dict() for p in coq.pareto]
        warnings.extend(f"quality costs: {w}" for w in coq.warnings if "no failure cost" not in w)
    return costs


def _loss_metric(
    ind: Indicator, costs: _Costs | None, year: int | None, warnings: list[str]
) -> MetricInput:
    cats = _loss_categories(ind)
    if cats is None:
        warnings.append(
            f"{ind.id}: the model gives no cost categories (params.categories) for this loss "
            "rate; it is not computed."
        )
        return _not_computed("the model gives no cost categories for this rate")
    if costs is None:
        return _not_computed("no assessed year: the data have no dates and no year was given")
    codes = [c for c, _, _ in cats]
    recorded = [c for c in codes if c in costs.rows_by_category]
    base: dict[str, Any] = {"year": year, "output_value": costs.output_value}
    if not costs.table_present:
        reason = "no quality_costs table"
    elif costs.rows == 0:
        reason = f"no quality_costs rows in {year}"
    elif not recorded:
        reason = (
            f"no quality_costs rows of {year} in the categories {', '.join(codes)} (record a row "
            "with amount 0 to declare a year without such cost)"
        )
    elif costs.output_value is None:
        reason = costs.output_value_note
    else:
        reason = ""
    if reason:
        return MetricInput(value=None, tracked=False, detail={**base, "reason": reason})
    assert costs.output_value is not None
    names = {c: (zh, en) for c, zh, en in cats}
    cost = math.fsum(costs.by_category[c] for c in recorded)
    items: list[dict[str, Any]] = sorted(
        (
            {
                "category": c,
                "name_zh": names[c][0],
                "name_en": names[c][1],
                "amount": costs.by_category[c],
                "rows": costs.rows_by_category[c],
            }
            for c in recorded
        ),
        key=lambda r: -float(r["amount"]),
    )
    cum = 0.0
    for r in items:
        share = float(r["amount"]) / cost if cost > 0 else 0.0
        cum += share
        r["share"], r["cumulative_share"] = share, cum
    rate = cost / costs.output_value
    if ind.domain is not None and not ind.domain[0] <= rate <= ind.domain[1]:
        raise DataError(
            f"{ind.name_en}: the failure cost {cost:,.2f} of {year} is {rate:.1%} of the output "
            f"value {costs.output_value:,.2f}, outside [{ind.domain[0]:g}, {ind.domain[1]:g}]. "
            "Check that the amounts and the output value use the same unit (元 / 万元).",
            code="loss_rate_out_of_range",
        )
    detail = {
        **base,
        "categories": items,
        "cost": cost,
        "rate": rate,
        "rows": sum(costs.rows_by_category[c] for c in recorded),
        "months": costs.months,
        "paf": costs.paf,
        "failure_pareto": costs.failure_pareto,
    }
    return MetricInput(value=rate, tracked=True, detail=detail)


def _not_computed(reason: str) -> MetricInput:
    return MetricInput(value=None, tracked=None, detail={"reason": reason})


# ------------------------------------------------------------------------------------------------
# Coverage of the dated tables
# ------------------------------------------------------------------------------------------------
def _dated_coverage(
    tables: Mapping[str, pl.DataFrame], year: int, cov: dict[str, Any], warnings: list[str]
) -> None:
    """Rows of the year and outside it per dated table; months with measurements when the key
    characteristics did not already give them."""
    outside: dict[str, int] = {}
    meas = tables.get("measurements")
    if isinstance(meas, pl.DataFrame) and "ts" in meas.columns:
        inside = _in_year(meas, "measurements", "ts", year).sum()
        if "measurements" in cov["months_by_table"]:
            n_in = int(meas.select(inside).item() or 0)
        else:
            got = meas.select(inside, *_month_exprs(meas, "measurements", "ts", year)).row(0)
            n_in = int(got[0] or 0)
            cov["months_by_table"]["measurements"] = int(sum(bool(v) for v in got[1:]))
        cov["measurements"] = n_in
        if meas.height - n_in:
            outside["measurements"] = meas.height - n_in
    for name, column, key in (
        ("inspections", "date", "inspection_rows"),
        ("quality_costs", "date", "cost_rows"),
    ):
        df = tables.get(name)
        if not isinstance(df, pl.DataFrame) or column not in df.columns:
            continue
        if not _is_temporal(df.schema[column]):
            continue  # a model without this table's metric: the table is not read
        # counted here too: a model without the table's metric did not count its rows
        n_in = int(df.select(_in_year(df, name, column, year).sum()).item() or 0)
        cov[key] = n_in
        if df.height - n_in:
            outside[name] = df.height - n_in
    pq_total = cov.get("product_quality_rows_total")
    if pq_total is not None and pq_total - cov.get("product_quality_rows", 0):
        outside["product_quality"] = pq_total - cov.get("product_quality_rows", 0)
    cov["rows_outside_year"] = outside
    if outside:
        listed = ", ".join(f"{k} {v:,}" for k, v in outside.items())
        warnings.append(f"rows outside {year} were left out: {listed}.")


# ------------------------------------------------------------------------------------------------
# The public functions
# ------------------------------------------------------------------------------------------------
def compute_metrics(
    tables: Mapping[str, pl.DataFrame],
    *,
    year: int | None,
    model: Model | None = None,
    enterprise: Mapping[str, Any] | None = None,
    data_year: int | None = None,
    normality: bool = False,
) -> MetricsBundle:
    """Every quantitative indicator of ``model`` from the canonical tables of one year.

    Parameters
    ----------
    tables : mapping of str to polars.DataFrame
        The canonical tables (``characteristics``, ``measurements``, ``inspections``,
        ``product_quality``, ``quality_costs``, ``output_value``); any may be absent.
    year : int or None
        The assessed year; ``None``: see :func:`resolve_year`.
    model : Model, optional
        Default :func:`~zhuoyue.excellence.default_model`.
    enterprise : mapping, optional
        Its ``year`` is used when ``year`` and ``data_year`` are ``None``.
    data_year : int, optional
        The year the data set declares (``AssessmentData.year``).
    normality : bool
        Run the Anderson–Darling test on each key characteristic (its p-value is in the detail).

    Returns
    -------
    MetricsBundle

    Raises
    ------
    DataError
        A present table lacks a required column or a date column holds no dates; two output
        values for the year; a loss rate outside the indicator's domain.
    ValidationError
        Rows that cannot be counted (negative counts or amounts, passed > submitted, defective
        > units, periods that are not periods), each with table, row and column.
    """
    model = default_model() if model is None else model
    warnings: list[str] = []
    chars = _table(tables, "characteristics", ("code", "key"))
    meas = _table(tables, "measurements", ("characteristic", "ts", "value"))
    insp = _table(tables, "inspections", ("date", "step", "submitted", "passed_first"))
    pq = _table(tables, "product_quality", ("period", "units"))
    y, source = resolve_year(tables, year, data_year=data_year, enterprise=enterprise)
    cov: dict[str, Any] = {
        "year": y,
        "year_source": source,
        "months": None,
        "months_by_table": {},
        "tables": sorted(k for k, v in tables.items() if isinstance(v, pl.DataFrame)),
        "characteristics": 0 if chars is None else chars.height,
        "key_characteristics": 0,
        "key_characteristics_computed": 0,
        "key_characteristics_without_specs": 0,
        "key_characteristics_without_data": 0,
        "measurements": 0,
        "steps": 0,
        "inspection_rows": 0,
        "cost_rows": 0,
        "product_quality_rows": 0,
        "output_value_year": None,
    }
    if y is None:
        warnings.append(
            "no assessed year: no year was given and the data hold no dates or output value; "
            "every metric that needs dated data is not computed."
        )
    metrics: dict[str, MetricInput] = {}
    loss_inds = [i for i in model.metrics if i.method == "loss_rate"]
    known = {c for i in loss_inds for c, _, _ in (_loss_categories(i) or ())}
    costs = _costs(tables, y, cov, warnings, known) if loss_inds else None
    for ind in model.metrics:
        if ind.method == "sigma_level":
            mi = _sigma_metric(ind, pq, y, cov, warnings)
        elif ind.method == "cpk":
            mi = _cpk_metric(ind, model, chars, meas, y, cov, warnings, normality)
        elif ind.method == "rolled_yield":
            mi = _yield_metric(insp, y, cov, warnings)
        elif ind.method == "loss_rate":
            mi = _loss_metric(ind, costs, y, warnings)
        else:
            warnings.append(
                f"{ind.id}: no computation from raw data for method {ind.method!r}; not computed."
            )
            mi = _not_computed(f"zhuoyue computes no {ind.method!r} metric from raw data")
        metrics[ind.id] = mi
    if y is not None:
        _dated_coverage(tables, y, cov, warnings)
    cov.pop("product_quality_rows_total", None)
    by_table = cov["months_by_table"]
    present = [by_table[t] for t in DATED_TABLES if t in by_table]
    cov["months"] = min(present) if present else None
    return MetricsBundle(
        metrics=MappingProxyType(metrics),
        coverage=MappingProxyType(cov),
        warnings=tuple(warnings),
        year=y,
        year_source=source,
    )


def _answers(sa: pl.DataFrame | None, warnings: list[str]) -> dict[str, dict[str, Any]]:
    """Questionnaire answers of the ``self_assessment`` table: item → {level, evidence, respondent}."""
    if sa is None or sa.height == 0:
        return {}
    level = pl.col("level")
    if sa.schema["level"] == pl.Null:  # every level blank: a questionnaire not filled in yet
        bad_level: pl.Expr = pl.lit(False)
    elif sa.schema["level"] in (pl.Float32, pl.Float64):
        bad_level = level.is_not_null() & ((level != level.floor()) | (level < 1) | (level > 5))
    elif sa.schema["level"].is_integer():
        bad_level = level.is_not_null() & ((level < 1) | (level > 5))
    else:
        raise DataError(
            f"The self_assessment table's column 'level' must hold numbers 1..5 (got "
            f"{sa.schema['level']}).",
            code="not_a_number",
        )
    problems = _problems(
        sa, bad_level, "self_assessment", "level", "out_of_range", "is not a level 1..5."
    )
    problems += _problems(
        sa, pl.col("item").is_null(), "self_assessment", "item", "missing_item", "names no item."
    )
    _raise_problems(problems, "self_assessment")
    cols = sa.columns
    items = sa["item"].cast(pl.String).to_list()
    levels = sa["level"].to_list()
    evidence = (
        sa["evidence"].cast(pl.String).to_list() if "evidence" in cols else [None] * sa.height
    )
    resp = (
        sa["respondent"].cast(pl.String).to_list() if "respondent" in cols else [None] * sa.height
    )
    out: dict[str, dict[str, Any]] = {}
    blank = []
    for item, lv, ev, who in zip(items, levels, evidence, resp, strict=True):
        key = item.strip()
        if lv is None:
            blank.append(key)
            continue
        ev_list = [e.strip() for e in re.split(r"[;；\n]+", ev or "") if e.strip()]
        ans = {"level": int(lv), "evidence": ev_list, "respondent": who}
        if key in out:
            prev = out[key]
            warnings.append(
                f"self_assessment: item {key!r} is answered more than once; the lowest level "
                f"counts ({min(prev['level'], ans['level'])})."
            )
            low = prev if prev["level"] <= ans["level"] else ans
            merged = list(dict.fromkeys([*prev["evidence"], *ans["evidence"]]))
            out[key] = {**low, "evidence": merged}
        else:
            out[key] = ans
    if blank:
        warnings.append(
            f"self_assessment: {len(blank)} item(s) without a level are unanswered: "
            f"{', '.join(blank[:10])}{' ...' if len(blank) > 10 else ''}."
        )
    return out


def _unpack(
    data: _DataLike | tuple[Mapping[str, pl.DataFrame], Mapping[str, Any]],
) -> tuple[Mapping[str, pl.DataFrame], Mapping[str, Any], int | None, str | None]:
    if isinstance(data, tuple):
        if len(data) != 2:
            raise ParameterError(
                "assess needs an AssessmentData or a (tables, enterprise) pair; got a tuple of "
                f"{len(data)} items."
            )
        pair_tables, pair_enterprise = data
        return pair_tables, dict(pair_enterprise or {}), None, None
    tables = getattr(data, "tables", None)
    if not isinstance(tables, Mapping):
        raise ParameterError(
            "assess needs an AssessmentData (with .tables, .enterprise, .year) or a "
            f"(tables, enterprise) pair; got {type(data).__name__}."
        )
    enterprise = getattr(data, "enterprise", None) or {}
    source = getattr(data, "source", None)
    return (
        tables,
        dict(enterprise),
        getattr(data, "year", None),
        None if source is None else str(source),
    )


def assess(
    data: _DataLike | tuple[Mapping[str, pl.DataFrame], Mapping[str, Any]],
    *,
    model: Model | None = None,
    year: int | None = None,
    require_evidence: bool | None = None,
    normality: bool = False,
) -> AssessmentOutcome:
    """Assess one enterprise: metrics from raw data, answers from ``self_assessment``, evaluate.

    ``data`` is an :class:`~zhuoyue.ingest.workbook.AssessmentData` or a ``(tables,
    enterprise)`` pair. ``year`` overrides the data's year (see :func:`resolve_year`).
    """
    tables, enterprise, data_year, source = _unpack(data)
    model = default_model() if model is None else model
    bundle = compute_metrics(
        tables,
        year=year,
        model=model,
        enterprise=enterprise,
        data_year=data_year,
        normality=normality,
    )
    warnings = list(bundle.warnings)
    sa = _table(tables, "self_assessment", ("item", "level"))
    answers = _answers(sa, warnings)
    if sa is None:
        warnings.append(
            "no self_assessment table: every questionnaire indicator is unanswered (经验级)."
        )
    result = evaluate(
        dict(bundle.metrics),
        answers,
        model,
        coverage=bundle.coverage,
        require_evidence=require_evidence,
    )
    all_warnings = (*warnings, *result.warnings)
    result = replace(result, warnings=all_warnings)
    ent = {str(k): (None if v is None else str(v)) for k, v in enterprise.items()}
    return AssessmentOutcome(
        result=result,
        metrics=bundle,
        enterprise=MappingProxyType(ent),
        year=bundle.year,
        warnings=all_warnings,
        source=source,
    )
