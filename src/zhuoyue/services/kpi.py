"""Quality KPIs of an organization from its database, with the numbers of ``zhuoyue assess``.

:func:`load_tables` turns an organization's rows into the canonical tables (the columns and dtypes
of :func:`zhuoyue.ingest.workbook.read_assessment_data`), so that
:func:`zhuoyue.services.assessment.compute_metrics` computes the policy's indicators from the
database exactly as from a workbook. :func:`kpis` adds what a quality manager watches: rolled
yield by month and by step, the loss rates against the model's thresholds, the cost-of-quality
Pareto, the sigma level and a twelve-month trend of every quantitative indicator.

Conventions
-----------
* Times are UTC; a measurement's ``ts`` becomes a naive UTC datetime, as the importer stores a
  naive time (so a workbook imported and read back gives the same tables).
* Rows come in the order they were stored (``id``), which is file order after an import.
* Subgroups stored as numbers come back as their decimal text (``"17"``); a text label, stored
  as a stable 31-bit code, comes back as that code: the grouping is the same.
* ``year`` cuts the dated tables to that calendar year (a ``product_quality`` period to the
  year it belongs to; ``output_value`` to that year's row).
* Monthly figures (the trend): each month's rows go through the same computation as the year;
  a loss rate of a month is that month's failure cost over one twelfth of the annual output value
  (pro rata), and the sigma level of a month uses only ``product_quality`` periods of that one
  month (a quarter or a year cannot be split and is left out of the months).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import Mapped, Session, aliased

from zhuoyue.errors import DataError, ParameterError
from zhuoyue.excellence import Model, default_model, evaluate
from zhuoyue.ingest.workbook import CANONICAL_TABLES
from zhuoyue.services.assessment import MetricsBundle, compute_metrics, parse_period
from zhuoyue.stats import cost_of_quality
from zhuoyue.stats.yields import CATEGORIES, CATEGORY_ALIASES, CATEGORY_NAMES_ZH
from zhuoyue.store import bulk
from zhuoyue.store.models import (
    Characteristic,
    Inspection,
    Organization,
    OutputValue,
    ProcessStep,
    Product,
    ProductQuality,
    QualityCost,
)

__all__ = ["MONTHS", "enterprise_of", "kpis", "load_tables"]

#: the months of a year, 1..12
MONTHS: tuple[int, ...] = tuple(range(1, 13))


# ------------------------------------------------------------------------------------------------
# The canonical tables from the database
# ------------------------------------------------------------------------------------------------
def _check_year(year: Any, *, optional: bool) -> int | None:
    if year is None and optional:
        return None
    if isinstance(year, bool) or not isinstance(year, int) or not 1000 <= year <= 9999:
        raise ParameterError(f"The 'year' parameter must be a four-digit integer. Got {year!r}.")
    return int(year)


def _frame(name: str, rows: Sequence[Sequence[Any]], columns: Sequence[str]) -> pl.DataFrame:
    """Rows as table ``name`` with the workbook reader's dtypes (and only its columns)."""
    schema = CANONICAL_TABLES[name].schema
    df = pl.DataFrame(
        [tuple(r) for r in rows],
        schema={c: schema[c] for c in columns},
        orient="row",
    )
    return df.select([pl.col(c).cast(schema[c]) for c in schema if c in columns])


def _next_year(year: int) -> int | None:
    """``year + 1``, or ``None`` for 9999 (``date`` ends there): no upper bound then."""
    return year + 1 if year < dt.MAXYEAR else None


def _date_in_year(column: Mapped[dt.date], year: int) -> ColumnElement[bool]:
    """``column`` (a date) within ``year``: ``>= 1 January`` and ``< 1 January`` of the next."""
    after = _next_year(year)
    if after is None:
        return column >= dt.date(year, 1, 1)
    return and_(column >= dt.date(year, 1, 1), column < dt.date(after, 1, 1))


def _measurements(
    session: Session, chars: Sequence[tuple[int, str]], year: int | None
) -> pl.DataFrame:
    start = end = None
    if year is not None:
        start = dt.datetime(year, 1, 1, tzinfo=dt.UTC)
        after = _next_year(year)
        end = None if after is None else dt.datetime(after, 1, 1, tzinfo=dt.UTC)
    conn = session.connection()
    parts = [bulk.read_series(conn, cid, start, end) for cid, _ in chars]
    lens = np.array([p.value.size for p in parts], dtype=np.int64)
    codes = pl.Series("characteristic", [code for _, code in chars], dtype=pl.String)
    if int(lens.sum()) == 0:
        return _frame("measurements", [], ["characteristic", "ts", "subgroup", "value"])
    which = np.repeat(np.arange(len(chars), dtype=np.int64), lens)
    ts = np.concatenate([p.ts for p in parts]).astype("datetime64[us]")
    value = np.concatenate([p.value for p in parts])
    sg = np.concatenate([p.subgroup for p in parts])
    subgroup = pl.Series("subgroup", sg, dtype=pl.Int64)
    subgroup = subgroup.set(pl.Series(sg == bulk.NO_SUBGROUP), None)
    return pl.DataFrame(
        {
            "characteristic": codes.gather(which),
            "ts": pl.Series("ts", ts, dtype=pl.Datetime("us")),
            "subgroup": subgroup.cast(pl.String),
            "value": pl.Series("value", value, dtype=pl.Float64),
        }
    )


def load_tables(
    session: Session,
    org_id: int,
    *,
    year: int | None = None,
    measurements: bool = True,
) -> dict[str, pl.DataFrame]:
    """The organization's canonical tables (``characteristics``, ``measurements``,
    ``inspections``, ``product_quality``, ``quality_costs``, ``output_value``).

    As :func:`zhuoyue.ingest.workbook.read_assessment_data` gives them: the same column names
    and dtypes, only tables with at least one row. ``measurements`` has the columns
    ``characteristic``, ``ts``, ``subgroup``, ``value`` (``measurements=False`` leaves the table
    out: it is the big one). ``year`` keeps the rows of that year (see the module notes).
    Questionnaire answers live in assessments, not here.
    """
    y = _check_year(year, optional=True)
    tables: dict[str, pl.DataFrame] = {}
    step = aliased(ProcessStep)
    product = aliased(Product)
    chars = session.execute(
        select(
            Characteristic.id,
            Characteristic.code,
            Characteristic.name,
            product.code,
            step.code,
            Characteristic.unit,
            Characteristic.lsl,
            Characteristic.usl,
            Characteristic.target,
            Characteristic.subgroup_size,
            Characteristic.key,
            Characteristic.chart,
        )
        .outerjoin(product, Characteristic.product_id == product.id)
        .outerjoin(step, Characteristic.step_id == step.id)
        .where(Characteristic.org_id == org_id)
        .order_by(Characteristic.id)
    ).all()
    if chars:
        tables["characteristics"] = _frame(
            "characteristics",
            [r[1:] for r in chars],
            [
                "code", "name", "product", "step", "unit", "lsl", "usl", "target",
                "subgroup_size", "key", "chart",
            ],
        )  # fmt: skip
    if measurements and chars:
        meas = _measurements(session, [(int(r[0]), str(r[1])) for r in chars], y)
        if meas.height:
            tables["measurements"] = meas

    insp = select(
        Inspection.date,
        step.code,
        product.code,
        Inspection.lot,
        Inspection.submitted,
        Inspection.passed_first,
        Inspection.defects,
        Inspection.defect_code,
    ).where(Inspection.org_id == org_id)
    insp = insp.join(step, Inspection.step_id == step.id).outerjoin(
        product, Inspection.product_id == product.id
    )
    if y is not None:
        insp = insp.where(_date_in_year(Inspection.date, y))
    rows = session.execute(insp.order_by(Inspection.id)).all()
    if rows:
        tables["inspections"] = _frame(
            "inspections",
            rows,
            [
                "date", "step", "product", "lot", "submitted", "passed_first", "defects",
                "defect_code",
            ],
        )  # fmt: skip

    pq_rows = session.execute(
        select(
            ProductQuality.period,
            product.code,
            ProductQuality.units,
            ProductQuality.defective,
            ProductQuality.defects,
            ProductQuality.opportunities,
        )
        .outerjoin(product, ProductQuality.product_id == product.id)
        .where(ProductQuality.org_id == org_id)
        .order_by(ProductQuality.id)
    ).all()
    if y is not None:
        pq_rows = [r for r in pq_rows if _period_year(r[0]) in (y, None)]
    if pq_rows:
        tables["product_quality"] = _frame(
            "product_quality",
            pq_rows,
            ["period", "product", "units", "defective", "defects", "opportunities"],
        )

    qc = select(QualityCost.date, QualityCost.category, QualityCost.amount, QualityCost.note).where(
        QualityCost.org_id == org_id
    )
    if y is not None:
        qc = qc.where(_date_in_year(QualityCost.date, y))
    qc_rows = session.execute(qc.order_by(QualityCost.id)).all()
    if qc_rows:
        tables["quality_costs"] = _frame(
            "quality_costs", qc_rows, ["date", "category", "amount", "note"]
        )

    ov = select(OutputValue.year, OutputValue.total_output_value).where(
        OutputValue.org_id == org_id
    )
    if y is not None:
        ov = ov.where(OutputValue.year == y)
    ov_rows = session.execute(ov.order_by(OutputValue.year)).all()
    if ov_rows:
        tables["output_value"] = _frame("output_value", ov_rows, ["year", "total_output_value"])
    return tables


def _period_year(period: Any) -> int | None:
    """The year of a product_quality period; ``None`` when it is not a period (kept, so that
    the computation reports it)."""
    try:
        return parse_period(period)[0]
    except DataError:
        return None


def enterprise_of(session: Session, org_id: int, year: int | None = None) -> dict[str, str | None]:
    """The ``enterprise`` mapping of an organization (name, codes, the assessed year)."""
    org = session.get(Organization, org_id)
    if org is None:
        return {"year": None if year is None else str(year)}
    return {
        "name": org.name,
        "credit_code": org.credit_code,
        "industry": org.industry_code,
        "region": org.region_code,
        "year": None if year is None else str(year),
    }


# ------------------------------------------------------------------------------------------------
# Months
# ------------------------------------------------------------------------------------------------
def _month_bounds(year: int, month: int) -> tuple[dt.date, dt.date | None]:
    """The first day of the month and of the next one (``None`` after December 9999)."""
    if month == 12:
        after = _next_year(year)
        return dt.date(year, 12, 1), None if after is None else dt.date(after, 1, 1)
    return dt.date(year, month, 1), dt.date(year, month + 1, 1)


def _month_tables(
    tables: Mapping[str, pl.DataFrame], year: int, month: int
) -> dict[str, pl.DataFrame]:
    lo, hi = _month_bounds(year, month)
    out: dict[str, pl.DataFrame] = {}
    for name, df in tables.items():
        if name == "measurements":
            lo_t = dt.datetime(lo.year, lo.month, 1)
            cond = pl.col("ts") >= lo_t
            if hi is not None:
                cond &= pl.col("ts") < dt.datetime(hi.year, hi.month, 1)
            df = df.filter(cond)
        elif name in ("inspections", "quality_costs"):
            cond = pl.col("date") >= lo
            if hi is not None:
                cond &= pl.col("date") < hi
            df = df.filter(cond)
        elif name == "product_quality":
            keep = [_period_months(p) == (year, (month,)) for p in df["period"].to_list()]
            df = df.filter(pl.Series(keep, dtype=pl.Boolean))
        elif name == "output_value":
            # one twelfth of the annual output value: the denominator of a month's loss rates
            df = df.filter(pl.col("year") == year).with_columns(pl.col("total_output_value") / 12.0)
        if df.height:
            out[name] = df
    return out


def _period_months(period: Any) -> tuple[int, tuple[int, ...]] | None:
    try:
        return parse_period(period)
    except DataError:
        return None


# ------------------------------------------------------------------------------------------------
# KPIs
# ------------------------------------------------------------------------------------------------
def _f(x: Any) -> float | None:
    if x is None or isinstance(x, bool):
        return None
    v = float(x)
    return v if math.isfinite(v) else None


def _thresholds(model: Model, indicator_id: str) -> list[dict[str, Any]]:
    ind = model.indicator(indicator_id)
    return [
        {
            "level": t.level,
            "op": t.op,
            "value": t.value,
            "level_name": {"zh": model.level_name(t.level), "en": model.level_name(t.level, "en")},
        }
        for t in ind.thresholds
    ]


def _metric_rows(bundle: MetricsBundle, model: Model) -> dict[str, dict[str, Any]]:
    """Every quantitative indicator: value, level (as the evaluator decides it), thresholds."""
    result = evaluate(dict(bundle.metrics), {}, model, coverage=bundle.coverage, plan=False)
    plain = bundle.to_dict()["metrics"]
    out: dict[str, dict[str, Any]] = {}
    for ind in model.metrics:
        m = result.metrics[ind.id]
        out[ind.id] = {
            "id": ind.id,
            "method": ind.method,
            "name_zh": ind.name_zh,
            "name_en": ind.name_en,
            "unit": ind.unit,
            "better": ind.better,
            "value": _f(m.value),
            "display": m.display,
            "level": m.level,
            "level_name": {"zh": m.level_name_zh, "en": m.level_name_en},
            "status": m.status,
            "reason": m.reason_en,
            "tracked": plain[ind.id]["tracked"],
            "thresholds": _thresholds(model, ind.id),
            "detail": plain[ind.id]["detail"],
        }
    return out


def _month_values(
    tables: Mapping[str, pl.DataFrame], year: int, model: Model
) -> list[dict[str, Any]]:
    """Every quantitative indicator of each month (value, level, status; the month's steps)."""
    months = []
    for month in MONTHS:
        label = f"{year}-{month:02d}"
        sub = _month_tables(tables, year, month)
        entry: dict[str, Any] = {"month": label, "metrics": {}, "steps": [], "error": None}
        try:
            bundle = compute_metrics(sub, year=year, model=model)
            rows = _metric_rows(bundle, model)
        except (DataError, ParameterError) as exc:
            entry["error"] = str(exc)
            entry["metrics"] = {
                ind.id: {"value": None, "level": None, "status": "error"} for ind in model.metrics
            }
            months.append(entry)
            continue
        for mid, row in rows.items():
            entry["metrics"][mid] = {
                "value": row["value"],
                "level": row["level"] if row["status"] == "ok" else None,
                "status": row["status"],
            }
            if row["method"] == "rolled_yield" and row["status"] == "ok":
                entry["steps"] = row["detail"].get("steps", [])
        months.append(entry)
    return months


def _step_names(session: Session, org_id: int) -> dict[str, tuple[str, int]]:
    rows = session.execute(
        select(ProcessStep.code, ProcessStep.name, ProcessStep.sequence).where(
            ProcessStep.org_id == org_id
        )
    ).all()
    return {str(c): (str(n), int(s)) for c, n, s in rows}


def _rolled_yield_view(
    metrics: Mapping[str, Mapping[str, Any]],
    months: Sequence[Mapping[str, Any]],
    steps: Mapping[str, tuple[str, int]],
) -> dict[str, Any] | None:
    rid = next((k for k, v in metrics.items() if v["method"] == "rolled_yield"), None)
    if rid is None:
        return None
    m = metrics[rid]
    year_steps = m["detail"].get("steps", []) if m["status"] == "ok" else []
    codes = [s["step"] for s in year_steps]
    for entry in months:
        for s in entry["steps"]:
            if s["step"] not in codes:
                codes.append(s["step"])
    codes.sort(key=lambda c: (steps.get(c, ("", 10**9))[1], c))
    by_year = {s["step"]: s for s in year_steps}
    by_step = []
    for code in codes:
        y = by_year.get(code, {})
        per_month = []
        for entry in months:
            hit = next((s for s in entry["steps"] if s["step"] == code), None)
            per_month.append(None if hit is None else hit["fpy"])
        by_step.append(
            {
                "step": code,
                "name": steps.get(code, (code, 0))[0],
                "sequence": steps.get(code, ("", None))[1],
                "submitted": y.get("submitted"),
                "passed_first": y.get("passed_first"),
                "fpy": y.get("fpy"),
                "by_month": per_month,
            }
        )
    return {
        "indicator": rid,
        "value": m["value"],
        "level": m["level"],
        "thresholds": m["thresholds"],
        "weakest_step": m["detail"].get("weakest_step"),
        "by_month": [
            {
                "month": e["month"],
                "rolled_yield": e["metrics"][rid]["value"],
                "level": e["metrics"][rid]["level"],
            }
            for e in months
        ],
        "by_step": by_step,
    }


def _canonical_category(name: str) -> str | None:
    key = name.strip().casefold()
    cat = CATEGORY_ALIASES.get(key) or CATEGORY_ALIASES.get(
        "".join("." if ch in "_- " else ch for ch in key)
    )
    return cat if cat in CATEGORIES else None


def _cost_view(tables: Mapping[str, pl.DataFrame], year: int) -> dict[str, Any]:
    """Cost of quality of the year (PAF) and the Pareto of every category, failures first."""
    qc = tables.get("quality_costs")
    ov = tables.get("output_value")
    output_value = None
    if ov is not None:
        values = ov.filter(pl.col("year") == year)["total_output_value"].to_list()
        output_value = _f(values[0]) if values else None
    out: dict[str, Any] = {
        "year": year,
        "output_value": output_value,
        "total": None,
        "by_category": [],
        "totals_by_bucket": None,
        "pareto": [],
        "warnings": [],
    }
    if qc is None or qc.height == 0:
        out["warnings"].append(f"no quality_costs rows in {year}")
        return out
    agg = qc.group_by(pl.col("category")).agg(pl.col("amount").sum())
    totals: dict[str, float] = {}
    unknown: list[str] = []
    for cat, amount in agg.iter_rows():
        c = _canonical_category(str(cat))
        if c is None:
            unknown.append(str(cat))
            continue
        totals[c] = totals.get(c, 0.0) + float(amount)
    if unknown:
        out["warnings"].append(f"categories outside the PAF model left out: {', '.join(unknown)}")
    total = math.fsum(totals.values())
    out["total"] = total
    rows = sorted(totals.items(), key=lambda kv: -kv[1])
    cum = 0.0
    for cat, amount in rows:
        share = amount / total if total > 0 else 0.0
        cum += share
        out["by_category"].append(
            {
                "category": cat,
                "name_zh": CATEGORY_NAMES_ZH[cat],
                "amount": amount,
                "share": share,
                "cumulative_share": cum,
                "rate": None if output_value is None else amount / output_value,
            }
        )
    if output_value is not None and output_value > 0 and totals:
        coq = cost_of_quality(list(totals), list(totals.values()), output_value, year=year)
        d = coq.to_dict()
        out["totals_by_bucket"] = d["totals_by_bucket"]
        out["pareto"] = d["pareto"]
        out["rate_total"] = coq.rate()
        out["warnings"].extend(d["warnings"])
    return out


def kpis(session: Session, org_id: int, year: int, *, model: Model | None = None) -> dict[str, Any]:
    """The quality KPIs of organization ``org_id`` in ``year``.

    ``metrics``: every quantitative indicator of the model (the values of
    :func:`~zhuoyue.services.assessment.compute_metrics` on :func:`load_tables`, so the same as
    ``zhuoyue assess``), with its level, display, thresholds and detail. ``rolled_yield``: the
    year's value, by month and by step (first-pass yield per step and month). ``loss_rates``: the
    loss-rate indicators against their thresholds, with the categories behind them.
    ``cost_of_quality``: totals by PAF bucket and the Pareto of every category. ``sigma_level``:
    the year's sigma level and ppm per product. ``trend``: twelve monthly values and levels of
    every quantitative indicator (see the module notes for months). Also ``coverage``,
    ``warnings`` and ``conventions``.
    """
    y = _check_year(year, optional=False)
    assert y is not None
    model = default_model() if model is None else model
    tables = load_tables(session, org_id, year=y)
    bundle = compute_metrics(tables, year=y, model=model)
    metrics = _metric_rows(bundle, model)
    months = _month_values(tables, y, model)
    steps = _step_names(session, org_id)
    loss_rates = {k: v for k, v in metrics.items() if v["method"] == "loss_rate"}
    sigma = next((v for v in metrics.values() if v["method"] == "sigma_level"), None)
    trend = {
        "months": [e["month"] for e in months],
        "values": {mid: [e["metrics"][mid]["value"] for e in months] for mid in metrics},
        "levels": {mid: [e["metrics"][mid]["level"] for e in months] for mid in metrics},
        "errors": {e["month"]: e["error"] for e in months if e["error"]},
    }
    return {
        "org_id": org_id,
        "year": y,
        "model": {"id": model.id, "version": model.version},
        "metrics": metrics,
        "rolled_yield": _rolled_yield_view(metrics, months, steps),
        "loss_rates": loss_rates,
        "cost_of_quality": _cost_view(tables, y),
        "sigma_level": sigma,
        "trend": trend,
        "coverage": bundle.to_dict()["coverage"],
        "warnings": list(bundle.warnings),
        "conventions": {
            "source": "the organization's stored rows of the year, computed as zhuoyue assess",
            "levels": "each indicator's level by the model's thresholds (weakest link overall)",
            "rates": "yields and rates are fractions (0.013 = 1.3 %)",
            "months": (
                "a month's loss rate = its failure cost / (annual output value / 12); its sigma "
                "level uses single-month product_quality periods only"
            ),
            "time": "UTC calendar months",
        },
    }
