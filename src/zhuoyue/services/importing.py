"""Import the canonical tables of an enterprise into the database — ``zhuoyue import``.

:func:`import_data` loads a workbook, a folder of CSV / Parquet files (both read and checked by
:func:`~zhuoyue.ingest.workbook.read_assessment_data`: a file with problems writes nothing) or an
:class:`~zhuoyue.ingest.workbook.AssessmentData` already read, into one organization, **all or
nothing in one transaction**, and returns an :class:`ImportReport`.

What each table becomes, and when a row is new, identical, updated or a conflict:

=================  ============================================================================
table              rule
=================  ============================================================================
steps, products    Created from the codes named by characteristics, inspections and
                   product_quality (name = code; a stored name is never changed). New steps get
                   ``sequence`` 10, 20, ... after the stored ones, in order of first appearance
                   (inspections first: the process flow).
characteristics    Matched by code. New → inserted. Stored → the columns present in the file
                   are compared: a difference is **applied and reported** (:attr:`ImportReport.
                   changes`, one ``audit_log`` row with before/after per characteristic). A blank
                   lsl / usl / target means "no such limit" (a one-sided specification); other
                   blank cells keep the stored value.
measurements       Characteristic code → id (unknown codes are row problems), then
                   :func:`~zhuoyue.store.bulk.merge_measurements`: key ``(characteristic, ts,
                   seq)``, ``seq`` the ordinal of a value among the values of the same
                   characteristic and ts in file order. Same key and values → identical; same key,
                   other value, subgroup, lot, serial, machine or operator → **conflict**.
                   Numeric subgroup labels are stored as numbers; other labels as a stable
                   31-bit code (2³⁰ + CRC-32 mod 2³⁰), which keeps the grouping.
inspections,       ``row_key`` (:mod:`zhuoyue.store.keys`): inspections (date, step, product, lot,
product_quality,   defect_code), product_quality (period, product), quality_costs (date,
quality_costs      category, note, ordinal). A row repeating the key of an earlier row of the same
                   file gets its ordinal as a further key part (quality_costs always has it), so
                   that identical rows of one file are all kept and a re-import maps each onto
                   itself. Same key, same counts / amount → identical; other counts / amount →
                   **conflict** (never a second row).
output_value       One value per (organization, year): equal → identical, other → **conflict**.
self_assessment    The answers ``{item: {level, evidence: [...], respondent}}`` of the assessed
                   year go into an assessment: the latest of the year with equal answers →
                   identical; a ``draft`` → updated (file items replace stored items, audit row);
                   otherwise (none, or declared / verified) a new ``draft``.
=================  ============================================================================

A conflict, an unknown characteristic code or a value the database cannot hold (a text too
long, lsl = usl, opportunities = 0, an output value of 0, a category beyond the standard ones)
rolls the whole import back and raises :class:`ImportConflictError` (a
:class:`~zhuoyue.errors.ValidationError`, exit code 4) listing every such row: sheet, row (the
spreadsheet row: header row 1, first data row 2), column, the new and the stored value, and the
fix. Importing the same file twice inserts nothing the second time: every row is identical.
Row numbers count from the table's first data row (row 2); an :class:`AssessmentData` does not
keep the rows the reader skipped, so blank rows inside a sheet, or a header below row 1, shift
them.

Bulk paths: measurements through :mod:`zhuoyue.store.bulk` (binary COPY on PostgreSQL, one
``executemany`` on SQLite), the other tables through ``COPY ... FROM STDIN`` (PostgreSQL) or one
``executemany`` (SQLite), in the import's transaction; row keys are computed column-wise (text
normalised once per distinct value, then one SHA-1 per row).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
import time
import unicodedata
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from types import MappingProxyType
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import Connection, Engine, Table, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from zhuoyue.errors import DataError, ParameterError, Problem, ValidationError
from zhuoyue.excellence import Model, default_model
from zhuoyue.ingest.workbook import AssessmentData, read_assessment_data
from zhuoyue.stats.yields import CATEGORIES
from zhuoyue.store.bulk import assign_seq, merge_measurements
from zhuoyue.store.models import (
    Assessment,
    AuditLog,
    Base,
    Characteristic,
    Inspection,
    Organization,
    OutputValue,
    ProcessStep,
    Product,
    ProductQuality,
    QualityCost,
)
from zhuoyue.store.validation import (
    is_valid_credit_code,
    validate_industry_code,
    validate_org_code,
    validate_region_code,
)

__all__ = [
    "MAX_PROBLEMS",
    "MEASUREMENT_CHUNK_ROWS",
    "TABLES",
    "Change",
    "ImportConflictError",
    "ImportReport",
    "ProgressFn",
    "TableCounts",
    "import_data",
]

#: the tables of an :class:`ImportReport`, in the order they are imported
TABLES: tuple[str, ...] = (
    "steps",
    "products",
    "characteristics",
    "measurements",
    "inspections",
    "product_quality",
    "quality_costs",
    "output_value",
    "self_assessment",
)
#: at most this many problems are listed in an :class:`ImportConflictError` (all are counted)
MAX_PROBLEMS = 1000
#: measurements are merged in blocks of this many rows (one progress step each)
MEASUREMENT_CHUNK_ROWS = 250_000

#: ``progress(table, done, total)``: rows of ``table`` done out of ``total``
ProgressFn = Callable[[str, int, int], None]

_SEP = "\x1f"  # keys.row_key joins the parts with the ASCII unit separator
_FIX = "Correct the file, or delete the stored row, then import again."
_SUBGROUP_NUMERIC_MAX = 2**30  # numeric labels below this are stored as numbers
_TEXT_SUBGROUP_BASE = 2**30  # other labels: 2**30 + crc32 mod 2**30


# ------------------------------------------------------------------------------------------------
# Results and errors
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class TableCounts:
    """Rows of one table in the input, and what became of them."""

    rows: int = 0
    inserted: int = 0
    identical: int = 0
    updated: int = 0

    def to_dict(self) -> dict[str, int]:
        return {
            "rows": self.rows,
            "inserted": self.inserted,
            "identical": self.identical,
            "updated": self.updated,
        }


@dataclass(frozen=True, slots=True)
class Change:
    """One stored value an import changed (master data: a characteristic's spec, ...)."""

    table: str
    key: str
    column: str
    before: Any
    after: Any

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "key": self.key,
            "column": self.column,
            "before": self.before,
            "after": self.after,
        }


@dataclass(frozen=True)
class ImportReport:
    """What an import did: per table ``rows`` / ``inserted`` / ``identical`` / ``updated``.

    ``dry_run`` reports what the import would do; nothing was written. ``changes`` lists every
    stored master-data value the import changed. ``assessment_id`` is the assessment holding the
    self_assessment answers (``None`` without answers, and in a dry run when it would be new).
    """

    source: str
    org_code: str
    org_id: int | None
    org_created: bool
    year: int | None
    dry_run: bool
    tables: Mapping[str, TableCounts]
    changes: tuple[Change, ...]
    warnings: tuple[str, ...]
    duration_s: float
    assessment_id: int | None = None

    @property
    def inserted(self) -> int:
        return sum(c.inserted for c in self.tables.values())

    @property
    def identical(self) -> int:
        return sum(c.identical for c in self.tables.values())

    @property
    def updated(self) -> int:
        return sum(c.updated for c in self.tables.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "org": self.org_code,
            "org_id": self.org_id,
            "org_created": self.org_created,
            "year": self.year,
            "dry_run": self.dry_run,
            "tables": {k: v.to_dict() for k, v in self.tables.items()},
            "totals": {
                "inserted": self.inserted,
                "identical": self.identical,
                "updated": self.updated,
            },
            "changes": [c.to_dict() for c in self.changes],
            "assessment_id": self.assessment_id,
            "warnings": list(self.warnings),
            "duration_s": round(self.duration_s, 4),
        }

    def summary(self) -> str:
        head = "would import" if self.dry_run else "imported"
        lines = [f"{head} {self.source} into {self.org_code} ({self.duration_s:.2f} s)"]
        lines.append(f"{'table':<17}{'rows':>10}{'inserted':>10}{'identical':>10}{'updated':>9}")
        for name, c in self.tables.items():
            lines.append(
                f"{name:<17}{c.rows:>10,}{c.inserted:>10,}{c.identical:>10,}{c.updated:>9,}"
            )
        for ch in self.changes:
            lines.append(f"  changed {ch.table} {ch.key} {ch.column}: {ch.before!r} → {ch.after!r}")
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)


class ImportConflictError(ValidationError):
    """Rows conflict with stored rows or cannot be stored: the import wrote nothing.

    ``problems`` lists the first :data:`MAX_PROBLEMS` (sheet, row, column, new value, code, and a
    message with the stored value and the fix); ``total`` counts them all.
    """

    code = "import_conflict"

    def __init__(self, problems: Sequence[Problem], *, source: str, total: int) -> None:
        super().__init__(problems, source=source)
        self.total = total
        first = problems[0].message if problems else "no details"
        listed = f"; the first {len(problems)} are listed" if total > len(problems) else ""
        plural = "s" if total != 1 else ""
        self.args = (
            f"{source}: {total} row problem{plural}{listed}; nothing was imported. First: {first}",
        )


class _Problems:
    """Problems of the import: the first :data:`MAX_PROBLEMS` kept, all counted."""

    def __init__(self) -> None:
        self.items: list[Problem] = []
        self.total = 0

    def add(
        self,
        sheet: str,
        index: int | None,
        column: str | None,
        value: Any,
        code: str,
        text: str,
    ) -> None:
        self.total += 1
        if len(self.items) >= MAX_PROBLEMS:
            return
        row = None if index is None else index + 2  # header row 1, first data row 2
        where = sheet + (f", row {row}" if row is not None else "")
        where += f', column "{column}"' if column else ""
        self.items.append(Problem(row, column, _plain(value), code, f"{where}: {text}", sheet))

    def mask(
        self,
        sheet: str,
        frame: pl.DataFrame,
        mask: pl.Series,
        column: str,
        code: str,
        text: Callable[[Any], str],
    ) -> None:
        """One problem per row where ``mask`` is true (a vectorised check of one column)."""
        mask = mask.fill_null(False)
        n = int(mask.sum())
        if n == 0:
            return
        room = max(0, MAX_PROBLEMS - len(self.items))
        idx = mask.arg_true().head(room).to_list()
        values = frame.get_column(column).gather(idx).to_list() if idx else []
        for i, v in zip(idx, values, strict=True):
            self.add(sheet, int(i), column, v, code, text(v))
        self.total += n - len(idx)

    def raise_if_any(self, source: str) -> None:
        if self.total:
            raise ImportConflictError(self.items, source=source, total=self.total)


def _plain(v: Any) -> Any:
    """A JSON-ready value (dates as ISO text, non-finite floats as text)."""
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    return v


def _show(v: Any) -> str:
    if v is None:
        return "(blank)"
    if isinstance(v, str):
        return f'"{v}"'
    if isinstance(v, float):
        return f"{v:.15g}"
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v)


# ------------------------------------------------------------------------------------------------
# Checks that need no database: values the tables cannot hold
# ------------------------------------------------------------------------------------------------
def _length(model: type[Base], column: str) -> int:
    table = model.__table__
    assert isinstance(table, Table)
    length = getattr(table.c[column].type, "length", None)
    assert isinstance(length, int)
    return length


def _text_limits() -> dict[str, dict[str, int]]:
    product = _length(Product, "code")
    step = _length(ProcessStep, "code")
    from zhuoyue.store.bulk import TEXT_MAX_CHARS

    return {
        "characteristics": {
            "code": _length(Characteristic, "code"),
            "name": _length(Characteristic, "name"),
            "product": product,
            "step": step,
            "unit": _length(Characteristic, "unit"),
            "chart": _length(Characteristic, "chart"),
        },
        "measurements": {
            "characteristic": _length(Characteristic, "code"),
            **dict.fromkeys(("lot", "serial", "machine", "operator"), TEXT_MAX_CHARS),
        },
        "inspections": {
            "step": step,
            "product": product,
            "lot": _length(Inspection, "lot"),
            "defect_code": _length(Inspection, "defect_code"),
        },
        "product_quality": {"period": _length(ProductQuality, "period"), "product": product},
    }


def _too_long(limit: int) -> Callable[[Any], str]:
    return lambda v: (
        f"{_show(v)} has {len(v)} characters; the database holds at most {limit}. Shorten it."
    )


def _precheck(tables: Mapping[str, pl.DataFrame], out: _Problems) -> None:
    """Values the database cannot store, reported per row before anything is written."""
    for sheet, limits in _text_limits().items():
        df = tables.get(sheet)
        if df is None:
            continue
        for col, limit in limits.items():
            if col in df.columns and df.schema[col] == pl.String:
                out.mask(
                    sheet,
                    df,
                    df[col].str.len_chars() > limit,
                    col,
                    "too_long",
                    _too_long(limit),
                )
    chars = tables.get("characteristics")
    if chars is not None and {"lsl", "usl"} <= set(chars.columns):
        out.mask(
            "characteristics",
            chars,
            chars["lsl"] == chars["usl"],
            "lsl",
            "spec_limits_order",
            lambda v: (
                f"{_show(v)} equals usl in the same row. The lower specification limit must be "
                "below the upper one."
            ),
        )
    pq = tables.get("product_quality")
    if pq is not None and "opportunities" in pq.columns:
        out.mask(
            "product_quality",
            pq,
            pq["opportunities"] < 1,
            "opportunities",
            "out_of_range",
            lambda v: f"{_show(v)}: a unit has at least 1 defect opportunity.",
        )
    costs = tables.get("quality_costs")
    if costs is not None and "category" in costs.columns:
        out.mask(
            "quality_costs",
            costs,
            ~costs["category"].is_in(list(CATEGORIES)),
            "category",
            "unknown_category",
            lambda v: (
                f"{_show(v)} is not one of the categories the database stores: "
                f"{', '.join(CATEGORIES)}."
            ),
        )
    ov = tables.get("output_value")
    if ov is not None and "total_output_value" in ov.columns:
        out.mask(
            "output_value",
            ov,
            ov["total_output_value"] <= 0,
            "total_output_value",
            "out_of_range",
            lambda v: f"{_show(v)}: the annual output value must be more than 0.",
        )
        if "year" in ov.columns:
            firsts = ov.select(
                pl.col("total_output_value").first().over("year").alias("first")
            ).to_series()
            out.mask(
                "output_value",
                ov,
                ov["total_output_value"] != firsts,
                "year",
                "duplicate_year",
                lambda v: (
                    f"{_show(v)} is listed more than once with different output values. Keep "
                    "one row per year."
                ),
            )


# ------------------------------------------------------------------------------------------------
# Row keys, column-wise (the same text as zhuoyue.store.keys.row_key)
# ------------------------------------------------------------------------------------------------
def _norm_text(s: pl.Series) -> pl.Series:
    """``keys.row_key``'s normalisation of text parts: NFKC, stripped; blank and null are ""."""
    s = s.cast(pl.String)
    uniques = s.drop_nulls().unique().to_list()
    mapping = {u: unicodedata.normalize("NFKC", u).strip() for u in uniques}
    return s.replace_strict(mapping, default="", return_dtype=pl.String).fill_null("")


def _norm_date(s: pl.Series) -> pl.Series:
    return s.dt.to_string("%Y-%m-%d").fill_null("")


def _row_keys(parts: Sequence[pl.Series], *, ordinal: str) -> pl.Series:
    """SHA-1 row keys of the rows given by the normalised text ``parts``.

    ``ordinal="always"`` appends the ordinal of the row among earlier rows with the same parts
    (``keys.occurrence_ordinals``); ``"repeat"`` appends it only from the second such row on.
    """
    frame = pl.DataFrame({f"p{i}": p for i, p in enumerate(parts)})
    joined = pl.concat_str([pl.col(c) for c in frame.columns], separator=_SEP)
    nth = pl.int_range(pl.len(), dtype=pl.Int64).over(joined)
    if ordinal == "always":
        text = pl.concat_str([joined, nth.cast(pl.String)], separator=_SEP)
    else:
        text = pl.when(nth > 0).then(joined + _SEP + nth.cast(pl.String)).otherwise(joined)
    texts = frame.select(text.alias("t")).to_series().to_list()
    sha1 = hashlib.sha1
    return pl.Series(
        "row_key",
        [sha1(t.encode("utf-8"), usedforsecurity=False).hexdigest() for t in texts],
        dtype=pl.String,
    )


def _col(df: pl.DataFrame, name: str, dtype: pl.DataType) -> pl.Series:
    """Column ``name``, or a null column of ``dtype`` when the file has none."""
    if name in df.columns:
        return df[name]
    return pl.Series(name, [None] * df.height, dtype=dtype)


# ------------------------------------------------------------------------------------------------
# Bulk writes of the small tables (COPY / executemany, in the import's transaction)
# ------------------------------------------------------------------------------------------------
def _bulk_insert(conn: Connection, table: str, frame: pl.DataFrame) -> int:
    if frame.height == 0:
        return 0
    cols = frame.columns
    raw = conn.connection.dbapi_connection
    assert raw is not None
    dbapi = conn.dialect.loaded_dbapi
    try:
        if conn.dialect.name == "postgresql":
            sql = f"COPY {table} ({', '.join(cols)}) FROM STDIN"
            with raw.cursor() as cur, cur.copy(sql) as copy:  # type: ignore[attr-defined]
                for row in frame.iter_rows():
                    copy.write_row(row)
        else:
            # SQLAlchemy stores a SQLite DATE as ISO text
            dates = [c for c, t in frame.schema.items() if t == pl.Date]
            if dates:
                frame = frame.with_columns(pl.col(dates).dt.to_string("%Y-%m-%d"))
            marks = ", ".join("?" * len(cols))
            scur: Any = raw.cursor()
            try:
                scur.executemany(
                    f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})", frame.iter_rows()
                )
            finally:
                scur.close()
    except dbapi.Error as exc:
        raise DBAPIError.instance(
            f"bulk insert into {table}", None, exc, dbapi.Error, dialect=conn.dialect
        ) from exc
    return frame.height


# ------------------------------------------------------------------------------------------------
# The importer
# ------------------------------------------------------------------------------------------------
@dataclass
class _Counts:
    rows: int = 0
    inserted: int = 0
    identical: int = 0
    updated: int = 0

    def freeze(self) -> TableCounts:
        return TableCounts(self.rows, self.inserted, self.identical, self.updated)


@dataclass
class _Run:
    conn: Connection
    session: Session
    data: AssessmentData
    model: Model
    org: Organization
    user_id: int | None
    progress: ProgressFn | None
    problems: _Problems
    counts: dict[str, _Counts] = field(default_factory=lambda: {t: _Counts() for t in TABLES})
    changes: list[Change] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    step_ids: dict[str, int] = field(default_factory=dict)
    product_ids: dict[str, int] = field(default_factory=dict)
    assessment_id: int | None = None
    year: int | None = None

    @property
    def org_id(self) -> int:
        return self.org.id

    def tick(self, table: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(table, done, total)

    def audit(
        self,
        action: str,
        entity: str,
        entity_id: Any,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> None:
        self.session.add(
            AuditLog(
                org_id=self.org_id,
                user_id=self.user_id,
                action=action,
                entity=entity,
                entity_id=None if entity_id is None else str(entity_id),
                before=before,
                after=after,
            )
        )


def _codes_in_order(
    tables: Mapping[str, pl.DataFrame], places: Iterable[tuple[str, str]]
) -> list[str]:
    seen: dict[str, None] = {}
    for table, column in places:
        df = tables.get(table)
        if df is None or column not in df.columns:
            continue
        for code in df[column].drop_nulls().unique(maintain_order=True).to_list():
            seen.setdefault(str(code), None)
    return list(seen)


def _master(run: _Run) -> None:
    """Process steps and products named by the tables: created when missing."""
    tables = run.data.tables
    step_codes = _codes_in_order(tables, [("inspections", "step"), ("characteristics", "step")])
    product_codes = _codes_in_order(
        tables,
        [
            ("characteristics", "product"),
            ("inspections", "product"),
            ("product_quality", "product"),
        ],
    )
    s = run.session
    for table, model, codes in (
        ("steps", ProcessStep, step_codes),
        ("products", Product, product_codes),
    ):
        run.tick(table, 0, len(codes))
        stored = {
            code: id_
            for code, id_ in s.execute(
                select(model.code, model.id).where(model.org_id == run.org_id)
            ).all()
        }
        counts = run.counts[table]
        counts.rows = len(codes)
        new = [c for c in codes if c not in stored]
        counts.identical = len(codes) - len(new)
        next_seq = 0
        if model is ProcessStep and new:
            top = s.scalar(
                select(ProcessStep.sequence)
                .where(ProcessStep.org_id == run.org_id)
                .order_by(ProcessStep.sequence.desc())
                .limit(1)
            )
            next_seq = (int(top or 0) // 10 + 1) * 10
        objs: list[ProcessStep | Product] = []
        for i, code in enumerate(new):
            if model is ProcessStep:
                objs.append(
                    ProcessStep(org_id=run.org_id, code=code, name=code, sequence=next_seq + 10 * i)
                )
            else:
                objs.append(Product(org_id=run.org_id, code=code, name=code))
        s.add_all(objs)
        s.flush()
        for obj in objs:
            stored[obj.code] = obj.id
            after: dict[str, Any] = {"code": obj.code, "name": obj.name}
            if isinstance(obj, ProcessStep):
                after["sequence"] = obj.sequence
            run.audit("create", model.__tablename__, obj.id, None, after)
        counts.inserted = len(new)
        if model is ProcessStep:
            run.step_ids = stored
        else:
            run.product_ids = stored
        run.tick(table, len(codes), len(codes))


_SPEC = ("lsl", "usl", "target")
_CHAR_FIELDS = (
    "name",
    "product",
    "step",
    "unit",
    "lsl",
    "usl",
    "target",
    "subgroup_size",
    "key",
    "chart",
)


def _characteristic_state(
    c: Characteristic, products: Mapping[int, str], steps: Mapping[int, str]
) -> dict[str, Any]:
    return {
        "name": c.name,
        "product": None if c.product_id is None else products.get(c.product_id),
        "step": None if c.step_id is None else steps.get(c.step_id),
        "unit": c.unit,
        "lsl": c.lsl,
        "usl": c.usl,
        "target": c.target,
        "subgroup_size": c.subgroup_size,
        "key": c.key,
        "chart": c.chart,
    }


def _characteristics(run: _Run) -> dict[str, int]:
    """Upsert the characteristics of the file; returns code → id of every stored one."""
    s = run.session
    stored = {
        c.code: c
        for c in s.scalars(select(Characteristic).where(Characteristic.org_id == run.org_id))
    }
    df = run.data.tables.get("characteristics")
    counts = run.counts["characteristics"]
    if df is None:
        return {code: c.id for code, c in stored.items()}
    run.tick("characteristics", 0, df.height)
    counts.rows = df.height
    present = [f for f in _CHAR_FIELDS if f in df.columns]
    products = {v: k for k, v in run.product_ids.items()}
    steps = {v: k for k, v in run.step_ids.items()}
    new_objs: list[Characteristic] = []
    for i, row in enumerate(df.iter_rows(named=True)):
        code = row["code"]
        values = {f: row[f] for f in present}
        if "subgroup_size" in values and values["subgroup_size"] is not None:
            values["subgroup_size"] = int(values["subgroup_size"])
        old = stored.get(code)
        if old is None:
            obj = Characteristic(
                org_id=run.org_id,
                code=code,
                name=values.get("name"),
                product_id=_id_or_none(run.product_ids, values.get("product")),
                step_id=_id_or_none(run.step_ids, values.get("step")),
                unit=values.get("unit"),
                lsl=values.get("lsl"),
                usl=values.get("usl"),
                target=values.get("target"),
                subgroup_size=values.get("subgroup_size") or 1,
                key=bool(values.get("key")),
                chart=values.get("chart"),
            )
            new_objs.append(obj)
            stored[code] = obj
            continue
        before = _characteristic_state(old, products, steps)
        after = dict(before)
        for f, v in values.items():
            if v is None and f not in _SPEC:
                continue  # a blank descriptive cell keeps the stored value
            after[f] = v
        diff = [f for f in _CHAR_FIELDS if after[f] != before[f]]
        if not diff:
            counts.identical += 1
            continue
        lo, hi = after["lsl"], after["usl"]
        if lo is not None and hi is not None and not lo < hi:
            run.problems.add(
                "characteristics",
                i,
                "usl" if "usl" in values else "lsl",
                values.get("usl", values.get("lsl")),
                "spec_limits_order",
                f"with the stored limits the characteristic {code} would have lsl {_show(lo)} "
                f"and usl {_show(hi)}; the lower limit must be below the upper one. Give both "
                "limits in the file.",
            )
            continue
        old.name = after["name"]
        old.product_id = _id_or_none(run.product_ids, after["product"])
        old.step_id = _id_or_none(run.step_ids, after["step"])
        old.unit = after["unit"]
        old.lsl, old.usl, old.target = after["lsl"], after["usl"], after["target"]
        old.subgroup_size = int(after["subgroup_size"] or 1)
        old.key = bool(after["key"])
        old.chart = after["chart"]
        counts.updated += 1
        for f in diff:
            run.changes.append(Change("characteristics", code, f, before[f], after[f]))
        run.audit(
            "update",
            "characteristic",
            old.id,
            {f: before[f] for f in diff} | {"code": code},
            {f: after[f] for f in diff} | {"code": code},
        )
    s.add_all(new_objs)
    s.flush()
    for obj in new_objs:
        run.audit(
            "create",
            "characteristic",
            obj.id,
            None,
            {"code": obj.code}
            | {
                f: v
                for f, v in _characteristic_state(obj, products, steps).items()
                if v is not None
            },
        )
    counts.inserted = len(new_objs)
    run.tick("characteristics", df.height, df.height)
    return {code: c.id for code, c in stored.items()}


def _id_or_none(ids: Mapping[str, int], code: Any) -> int | None:
    return None if code is None else ids[str(code)]


def _subgroup_numbers(labels: pl.Series) -> pl.Series:
    """Subgroup labels as the integers the measurement table stores (see the module notes)."""
    if labels.dtype.is_integer():
        return labels.cast(pl.Int64)
    text = labels.cast(pl.String)
    num = text.str.strip_chars().cast(pl.Float64, strict=False)
    numeric = (
        num.is_not_null() & (num == num.floor()) & (num >= 0) & (num < _SUBGROUP_NUMERIC_MAX)
    ).fill_null(False)
    out = num.set(~numeric, None).cast(pl.Int64)
    other = text.is_not_null() & ~numeric
    if other.any():
        uniques = text.filter(other).unique().to_list()
        codes = {
            u: _TEXT_SUBGROUP_BASE + zlib.crc32(u.encode("utf-8")) % _TEXT_SUBGROUP_BASE
            for u in uniques
        }
        hashed = text.replace_strict(codes, default=None, return_dtype=pl.Int64)
        out = pl.select(pl.when(other).then(hashed).otherwise(out)).to_series()
    return out.alias("subgroup")


_MEASUREMENT_TEXTS = ("lot", "serial", "machine", "operator")


def _measurements(run: _Run, char_ids: Mapping[str, int]) -> None:
    df = run.data.tables.get("measurements")
    if df is None:
        return
    counts = run.counts["measurements"]
    counts.rows = df.height
    run.tick("measurements", 0, df.height)
    cid = df["characteristic"].replace_strict(dict(char_ids), default=None, return_dtype=pl.Int64)
    unknown = cid.is_null() & df["characteristic"].is_not_null()
    if unknown.any():
        run.problems.mask(
            "measurements",
            df,
            unknown,
            "characteristic",
            "unknown_characteristic",
            lambda v: (
                f"{_show(v)} is not a characteristic of organization {run.org.code}: it is "
                "neither in the characteristics table of the file nor stored. Add it to the "
                "characteristics table, or correct the code."
            ),
        )
    cols: dict[str, pl.Series] = {
        "_row": pl.Series("_row", np.arange(df.height, dtype=np.int64)),
        "characteristic_id": cid,
        "ts": df["ts"],
        "value": df["value"],
    }
    if "subgroup" in df.columns:
        cols["subgroup"] = _subgroup_numbers(df["subgroup"])
    for name in _MEASUREMENT_TEXTS:
        if name in df.columns:
            cols[name] = df[name]
    frame = pl.DataFrame(cols)
    if unknown.any():
        frame = frame.filter(~unknown)
    if frame.height == 0:
        run.tick("measurements", df.height, df.height)
        return
    seq = assign_seq(
        frame["characteristic_id"].to_numpy(), frame["ts"].dt.cast_time_unit("us").to_numpy()
    )
    # blocks in key order: each block's time span barely overlaps the next one's
    frame = frame.with_columns(pl.Series("seq", seq)).sort(
        ["characteristic_id", "ts", "seq"], maintain_order=True
    )
    done = int(unknown.sum())
    for lo in range(0, frame.height, MEASUREMENT_CHUNK_ROWS):
        block = frame.slice(lo, MEASUREMENT_CHUNK_ROWS)
        result = merge_measurements(run.conn, block.drop("_row"), on_conflict="abort")
        counts.inserted += result.inserted
        counts.identical += result.identical
        if not result.ok:
            _measurement_conflicts(run, df, block, result.conflicts)
        done += block.height
        run.tick("measurements", done, df.height)


def _measurement_conflicts(
    run: _Run, df: pl.DataFrame, block: pl.DataFrame, conflicts: pl.DataFrame
) -> None:
    rows = block["_row"].to_numpy()
    for c in conflicts.iter_rows(named=True):
        j = int(c["index"])
        i = int(rows[j])
        new = {"value": block["value"][j]}
        if "subgroup" in block.columns:
            new["subgroup"] = block["subgroup"][j]
        for name in _MEASUREMENT_TEXTS:
            new[name] = block[name][j] if name in block.columns else None
        stored = {
            "value": c["stored_value"],
            "subgroup": c["stored_subgroup"],
            **{name: c[f"stored_{name}"] for name in _MEASUREMENT_TEXTS},
        }
        when = df["ts"][i]
        what = f"{df['characteristic'][i]} at {_show(when)}, value no. {int(block['seq'][j]) + 1} of that time"
        for col in ("value", "subgroup", *_MEASUREMENT_TEXTS):
            if col not in new or new[col] == stored[col]:
                continue
            shown_new = df[col][i] if col in df.columns else None
            run.problems.add(
                "measurements",
                i,
                col,
                shown_new,
                "conflict",
                f"the file has {_show(shown_new)}, the database has {_show(stored[col])} for "
                f"the same measurement ({what}). {_FIX}",
            )


@dataclass(frozen=True)
class _Keyed:
    """One row-keyed table: the rows to merge and how to compare them."""

    sheet: str
    model: type[Base]
    frame: pl.DataFrame  # _row, row_key, the table's columns
    payload: tuple[str, ...]  # compared for conflicts (db column → file column in shown)
    shown: Mapping[str, str]  # db payload column → the file's column
    date_col: str | None
    describe: Callable[[int], str]


def _merge_keyed(run: _Run, k: _Keyed) -> None:
    counts = run.counts[k.sheet]
    counts.rows = k.frame.height
    run.tick(k.sheet, 0, k.frame.height)
    table = k.model.__table__
    assert isinstance(table, Table)
    cols = [table.c.row_key, *(table.c[p] for p in k.payload)]
    query = select(*cols).where(table.c.org_id == run.org_id)
    if k.date_col is not None:
        dates = k.frame[k.date_col]
        query = query.where(table.c[k.date_col].between(dates.min(), dates.max()))
    schema = {"row_key": pl.String(), **{p: k.frame.schema[p] for p in k.payload}}
    stored = pl.DataFrame(
        [tuple(r) for r in run.conn.execute(query).all()], schema=schema, orient="row"
    )
    stored = stored.rename({p: f"{p}__stored" for p in k.payload}).with_columns(
        pl.lit(True).alias("_found")
    )
    joined = k.frame.join(stored, on="row_key", how="left", maintain_order="left")
    found = joined["_found"].fill_null(False)
    same = pl.Series([True] * joined.height)
    for p in k.payload:
        same = same & joined[p].eq_missing(joined[f"{p}__stored"])
    identical = found & same
    conflict = found & ~same
    counts.identical = int(identical.sum())
    if conflict.any():
        for r in joined.filter(conflict).iter_rows(named=True):
            i = int(r["_row"])
            for p in k.payload:
                if r[p] == r[f"{p}__stored"]:
                    continue
                run.problems.add(
                    k.sheet,
                    i,
                    k.shown.get(p, p),
                    r[p],
                    "conflict",
                    f"the file has {_show(r[p])}, the database has {_show(r[f'{p}__stored'])} "
                    f"for the same row ({k.describe(i)}). {_FIX}",
                )
    new = k.frame.filter(~found).drop("_row")
    counts.inserted = _bulk_insert(run.conn, table.name, new)
    run.tick(k.sheet, k.frame.height, k.frame.height)


def _ids(codes: pl.Series, ids: Mapping[str, int]) -> pl.Series:
    return codes.replace_strict(dict(ids), default=None, return_dtype=pl.Int64)


def _inspections(run: _Run) -> _Keyed | None:
    df = run.data.tables.get("inspections")
    if df is None:
        return None
    product = _col(df, "product", pl.String())
    lot = _col(df, "lot", pl.String())
    defect_code = _col(df, "defect_code", pl.String())
    key = _row_keys(
        [
            _norm_date(df["date"]),
            _norm_text(df["step"]),
            _norm_text(product),
            _norm_text(lot),
            _norm_text(defect_code),
        ],
        ordinal="repeat",
    )
    frame = pl.DataFrame(
        {
            "_row": np.arange(df.height, dtype=np.int64),
            "org_id": [run.org_id] * df.height,
            "date": df["date"],
            "step_id": _ids(df["step"], run.step_ids),
            "product_id": _ids(product, run.product_ids),
            "lot": lot,
            "submitted": df["submitted"],
            "passed_first": df["passed_first"],
            "defects": _col(df, "defects", pl.Int64()),
            "defect_code": defect_code,
            "row_key": key,
        },
        schema_overrides={"org_id": pl.Int64},
    )

    def describe(i: int) -> str:
        parts = [f"date {_show(df['date'][i])}", f"step {df['step'][i]}"]
        parts += [f"{n} {v[i]}" for n, v in (("product", product), ("lot", lot)) if v[i]]
        if defect_code[i]:
            parts.append(f"defect_code {defect_code[i]}")
        return ", ".join(parts)

    return _Keyed(
        "inspections",
        Inspection,
        frame,
        ("submitted", "passed_first", "defects"),
        {},
        "date",
        describe,
    )


def _product_quality(run: _Run) -> _Keyed | None:
    df = run.data.tables.get("product_quality")
    if df is None:
        return None
    product = _col(df, "product", pl.String())
    key = _row_keys([_norm_text(df["period"]), _norm_text(product)], ordinal="repeat")
    frame = pl.DataFrame(
        {
            "_row": np.arange(df.height, dtype=np.int64),
            "org_id": [run.org_id] * df.height,
            "period": df["period"],
            "product_id": _ids(product, run.product_ids),
            "units": df["units"],
            "defective": _col(df, "defective", pl.Int64()),
            "defects": _col(df, "defects", pl.Int64()),
            "opportunities": _col(df, "opportunities", pl.Int64()),
            "row_key": key,
        },
        schema_overrides={"org_id": pl.Int64},
    )

    def describe(i: int) -> str:
        return f"period {df['period'][i]}" + (f", product {product[i]}" if product[i] else "")

    return _Keyed(
        "product_quality",
        ProductQuality,
        frame,
        ("units", "defective", "defects", "opportunities"),
        {},
        None,
        describe,
    )


def _quality_costs(run: _Run) -> _Keyed | None:
    df = run.data.tables.get("quality_costs")
    if df is None:
        return None
    note = _col(df, "note", pl.String())
    key = _row_keys(
        [_norm_date(df["date"]), _norm_text(df["category"]), _norm_text(note)], ordinal="always"
    )
    frame = pl.DataFrame(
        {
            "_row": np.arange(df.height, dtype=np.int64),
            "org_id": [run.org_id] * df.height,
            "date": df["date"],
            "category": df["category"],
            "amount": df["amount"],
            "note": note,
            "row_key": key,
        },
        schema_overrides={"org_id": pl.Int64},
    )

    def describe(i: int) -> str:
        text = f"date {_show(df['date'][i])}, category {df['category'][i]}"
        return text + (f", note {_show(note[i])}" if note[i] else "")

    return _Keyed("quality_costs", QualityCost, frame, ("amount",), {}, "date", describe)


def _output_value(run: _Run) -> None:
    df = run.data.tables.get("output_value")
    if df is None:
        return
    counts = run.counts["output_value"]
    counts.rows = df.height
    run.tick("output_value", 0, df.height)
    stored = {
        int(y): float(v)
        for y, v in run.conn.execute(
            select(OutputValue.year, OutputValue.total_output_value).where(
                OutputValue.org_id == run.org_id
            )
        ).all()
    }
    new: dict[int, float] = {}
    for i, (year, value) in enumerate(
        zip(df["year"].to_list(), df["total_output_value"].to_list(), strict=True)
    ):
        y, v = int(year), float(value)
        if y in new:
            counts.identical += 1  # a repeated row with the same value (others: precheck)
        elif y not in stored:
            new[y] = v
        elif stored[y] == v:
            counts.identical += 1
        else:
            run.problems.add(
                "output_value",
                i,
                "total_output_value",
                v,
                "conflict",
                f"the file has {_show(v)}, the database has {_show(stored[y])} as the output "
                f"value of {y}. {_FIX}",
            )
    run.session.add_all(
        OutputValue(org_id=run.org_id, year=y, total_output_value=v) for y, v in new.items()
    )
    counts.inserted = len(new)
    run.tick("output_value", df.height, df.height)


_EVIDENCE_SPLIT = re.compile(r"[;；\n]+")


def _answers(df: pl.DataFrame) -> dict[str, dict[str, Any]]:
    """``{item: {level, evidence, respondent}}``; an item answered twice keeps its lowest level."""
    out: dict[str, dict[str, Any]] = {}
    evidence = _col(df, "evidence", pl.String()).to_list()
    respondent = _col(df, "respondent", pl.String()).to_list()
    levels = _col(df, "level", pl.Int64()).to_list()
    for item, lv, ev, who in zip(df["item"].to_list(), levels, evidence, respondent, strict=True):
        if item is None or lv is None:
            continue
        ans = {
            "level": int(lv),
            "evidence": [e.strip() for e in _EVIDENCE_SPLIT.split(ev or "") if e.strip()],
            "respondent": who,
        }
        prev = out.get(item)
        if prev is not None:
            low = prev if prev["level"] <= ans["level"] else ans
            merged = list(dict.fromkeys([*prev["evidence"], *ans["evidence"]]))
            ans = {**low, "evidence": merged}
        out[item] = ans
    return out


def _self_assessment(run: _Run) -> None:
    df = run.data.tables.get("self_assessment")
    if df is None:
        return
    counts = run.counts["self_assessment"]
    counts.rows = df.height
    run.tick("self_assessment", 0, df.height)
    if run.year is None:
        run.problems.add(
            "self_assessment",
            None,
            None,
            None,
            "no_year",
            "the answers belong to an assessed year, and the file names none. Fill in the year "
            "(评价年度) on the enterprise sheet.",
        )
        return
    answers = _answers(df)
    s = run.session
    latest = s.scalars(
        select(Assessment)
        .where(
            Assessment.org_id == run.org_id,
            Assessment.year == run.year,
            Assessment.model_id == run.model.id,
        )
        .order_by(Assessment.id.desc())
        .limit(1)
    ).first()
    if latest is not None and dict(latest.answers or {}) | answers == dict(latest.answers or {}):
        counts.identical = df.height
        run.assessment_id = latest.id
    elif latest is not None and latest.status == "draft":
        before = dict(latest.answers or {})
        latest.answers = before | answers
        latest.model_version = run.model.version
        s.flush()
        counts.updated = df.height
        run.assessment_id = latest.id
        changed = sorted(k for k in answers if before.get(k) != answers[k])
        run.audit(
            "update",
            "assessment",
            latest.id,
            {"answers": {k: before.get(k) for k in changed}},
            {"answers": {k: answers[k] for k in changed}},
        )
    else:
        obj = Assessment(
            org_id=run.org_id,
            year=run.year,
            model_id=run.model.id,
            model_version=run.model.version,
            status="draft",
            answers=answers,
            created_by=run.user_id,
        )
        s.add(obj)
        s.flush()
        counts.inserted = df.height
        run.assessment_id = obj.id
        run.audit("create", "assessment", obj.id, None, {"year": run.year, "answers": answers})
    run.tick("self_assessment", df.height, df.height)


# ------------------------------------------------------------------------------------------------
# The organization
# ------------------------------------------------------------------------------------------------
_INDUSTRY_TOKEN = re.compile(r"^\s*([A-Ta-t]\d{2,4})\b")
_REGION_TOKEN = re.compile(r"^\s*([1-9]\d{5})\b")


def _identifiers(ent: Mapping[str, str | None], warnings: list[str]) -> dict[str, str | None]:
    """统一社会信用代码, industry and region codes of the enterprise sheet, when well-formed."""
    out: dict[str, str | None] = {"credit_code": None, "industry_code": None, "region_code": None}
    credit = (ent.get("credit_code") or "").strip().upper()
    if credit:
        if is_valid_credit_code(credit):
            out["credit_code"] = credit
        else:
            warnings.append(
                f"enterprise: {credit!r} is not a valid 统一社会信用代码 and was not stored."
            )
    m = _INDUSTRY_TOKEN.match(ent.get("industry") or "")
    if m:
        out["industry_code"] = validate_industry_code(m[1])
    m = _REGION_TOKEN.match(ent.get("region") or "")
    if m:
        out["region_code"] = validate_region_code(m[1])
    return out


def _organization(
    session: Session,
    code: str,
    *,
    create: bool,
    name: str | None,
    enterprise: Mapping[str, str | None],
    warnings: list[str],
    problems: _Problems,
) -> tuple[Organization, bool]:
    org = session.scalars(select(Organization).where(Organization.code == code)).first()
    ids = _identifiers(enterprise, warnings)
    if org is not None:
        credit = ids["credit_code"]
        if credit and org.credit_code and credit != org.credit_code:
            problems.add(
                "enterprise",
                None,
                "credit_code",
                credit,
                "other_enterprise",
                f"the file is of the enterprise with 统一社会信用代码 {credit}, but organization "
                f"{code} has {org.credit_code}. Check --org.",
            )
        return org, False
    if not create:
        raise _no_org(code)
    if ids["credit_code"] is not None:
        taken = session.scalars(
            select(Organization.code).where(Organization.credit_code == ids["credit_code"])
        ).first()
        if taken is not None:
            problems.add(
                "enterprise",
                None,
                "credit_code",
                ids["credit_code"],
                "other_enterprise",
                f"organization {taken} has the 统一社会信用代码 {ids['credit_code']} already. "
                f"Import into --org {taken}, or correct the code.",
            )
            ids["credit_code"] = None
    org = Organization(
        code=code,
        name=(name or enterprise.get("name") or code).strip()[:200],
        **ids,
    )
    session.add(org)
    session.flush()
    return org, True


def _no_org(code: str) -> ParameterError:
    return ParameterError(
        f"There is no organization {code!r} in the database. Check --org, or pass --create-org "
        "(and --org-name) to create it."
    )


# ------------------------------------------------------------------------------------------------
# import_data
# ------------------------------------------------------------------------------------------------
def import_data(
    engine: Engine,
    path_or_data: str | PathLike[str] | AssessmentData,
    *,
    org_code: str,
    create_org: bool = False,
    org_name: str | None = None,
    progress: ProgressFn | None = None,
    dry_run: bool = False,
    model: Model | None = None,
    user_id: int | None = None,
) -> ImportReport:
    """Import a workbook, a folder of CSV / Parquet files or an AssessmentData into ``org_code``.

    All or nothing in one transaction (see the module notes for the rules); ``dry_run`` does the
    whole import and rolls it back. ``progress(table, done, total)`` is called as tables are
    done. ``user_id`` is recorded in the audit log.

    Raises
    ------
    ParameterError
        ``org_code`` is not a valid code, or the organization does not exist and ``create_org``
        is false.
    InputFileError
        The file or folder cannot be read.
    ValidationError
        The file has problems (:class:`~zhuoyue.ingest.workbook.AssessmentDataError`), or rows
        conflict with stored rows or cannot be stored (:class:`ImportConflictError`).
    DataError
        The database rejected the data (``code="integrity"``).
    """
    t0 = time.perf_counter()
    try:
        code = validate_org_code(org_code)
    except DataError as exc:
        raise ParameterError(str(exc)) from None
    model = default_model() if model is None else model
    if not create_org:
        with Session(engine) as s:
            if s.scalars(select(Organization.id).where(Organization.code == code)).first() is None:
                raise _no_org(code)
    if isinstance(path_or_data, AssessmentData):
        data = path_or_data
    else:
        data = read_assessment_data(path_or_data, model=model)
    source = str(data.source)
    problems = _Problems()
    _precheck(data.tables, problems)
    problems.raise_if_any(source)

    from zhuoyue.services.assessment import resolve_year

    warnings: list[str] = []
    year: int | None = None
    if "self_assessment" in data.tables:
        year, _ = resolve_year(data.tables, data_year=data.year, enterprise=data.enterprise)
    else:
        year = data.year

    with engine.connect() as conn:
        trans = conn.begin()
        try:
            with Session(bind=conn, autoflush=False, expire_on_commit=False) as session:
                org, created = _organization(
                    session,
                    code,
                    create=create_org,
                    name=org_name,
                    enterprise=data.enterprise,
                    warnings=warnings,
                    problems=problems,
                )
                run = _Run(conn, session, data, model, org, user_id, progress, problems)
                run.warnings = warnings
                run.year = year
                if created:
                    run.audit(
                        "create",
                        "organization",
                        org.id,
                        None,
                        {
                            "code": org.code,
                            "name": org.name,
                            "credit_code": org.credit_code,
                            "industry_code": org.industry_code,
                            "region_code": org.region_code,
                        },
                    )
                _master(run)
                char_ids = _characteristics(run)
                session.flush()
                _measurements(run, char_ids)
                for build in (_inspections, _product_quality, _quality_costs):
                    keyed = build(run)
                    if keyed is not None:
                        _merge_keyed(run, keyed)
                _output_value(run)
                _self_assessment(run)
                session.flush()
                problems.raise_if_any(source)
                org_id = org.id
            if dry_run:
                trans.rollback()
            else:
                trans.commit()
        except IntegrityError as exc:
            trans.rollback()
            detail = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise DataError(
                f"{source}: the database rejected the import ({detail}); nothing was imported.",
                code="integrity",
            ) from None
        except BaseException:
            trans.rollback()
            raise
    return ImportReport(
        source=source,
        org_code=code,
        org_id=None if dry_run and created else org_id,
        org_created=created,
        year=year,
        dry_run=dry_run,
        tables=MappingProxyType({t: run.counts[t].freeze() for t in TABLES}),
        changes=tuple(run.changes),
        warnings=tuple(run.warnings),
        duration_s=time.perf_counter() - t0,
        assessment_id=run.assessment_id,
    )
