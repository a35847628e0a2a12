"""The tables of zhuoyue (SQLAlchemy 2 declarative models).

Conventions
-----------
* Every constraint and index has a name from :data:`NAMING_CONVENTION`, so that Alembic
  autogenerate and the migrations agree on both SQLite and PostgreSQL.
* Timestamps are timezone-aware UTC datetimes in Python (:class:`UTCDateTime`): ``timestamptz``
  on PostgreSQL, integer microseconds since 1970-01-01 UTC on SQLite (compact, sorts and compares
  as numbers, and lands in NumPy ``datetime64[us]`` without parsing text). A naive datetime is
  taken as UTC.
* Every table of an organization's data carries ``org_id`` (ON DELETE CASCADE), except
  ``measurement`` and ``control_limits``, which are scoped through their characteristic.
* Child rows that belong to a parent are deleted with it (``ON DELETE CASCADE``); references
  between master data (a characteristic's product, an inspection's step) are plain foreign keys
  or ``SET NULL``.
* Tables loaded by ``zhuoyue import`` have a natural key for idempotent imports: measurement
  ``(characteristic_id, ts, seq)``; inspection, product_quality and quality_cost a ``row_key``
  (see :mod:`zhuoyue.store.keys`).
"""

from __future__ import annotations

import datetime as dt
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeEngine

from zhuoyue.stats.yields import CATEGORIES

__all__ = [
    "ALARM_KINDS",
    "ALARM_SEVERITIES",
    "ALARM_STATUSES",
    "ASSESSMENT_STATUSES",
    "CHANNEL_KINDS",
    "DEAD_LETTER_SOURCES",
    "NAMING_CONVENTION",
    "ROLES",
    "Alarm",
    "ApiToken",
    "Assessment",
    "AssessmentEvidence",
    "AssessmentShare",
    "AuditLog",
    "Base",
    "Characteristic",
    "CharacteristicShare",
    "ControlLimits",
    "DeadLetter",
    "Inspection",
    "Measurement",
    "Membership",
    "MonitorState",
    "NotificationChannel",
    "Organization",
    "OutputValue",
    "ProcessStep",
    "Product",
    "ProductQuality",
    "QualityCost",
    "Site",
    "UTCDateTime",
    "UserAccount",
    "UserSession",
    "utcnow",
]

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: roles of a user in an organization (membership.role)
ROLES: tuple[str, ...] = (
    "admin",
    "quality_manager",
    "quality_engineer",
    "viewer",
    "supplier",
    "assessor",
)
#: assessment.status: draft → self_declared (自我声明) → verified (third-party evaluation)
ASSESSMENT_STATUSES: tuple[str, ...] = ("draft", "self_declared", "verified")
#: alarm.kind: a run-rule test fired on a chart panel, or a value outside the specification
ALARM_KINDS: tuple[str, ...] = ("rule", "spec")
#: alarm.severity
ALARM_SEVERITIES: tuple[str, ...] = ("warning", "critical")
#: alarm.status: open → acknowledged (assignable cause and corrective action recorded)
ALARM_STATUSES: tuple[str, ...] = ("open", "acknowledged")
#: notification_channel.kind
CHANNEL_KINDS: tuple[str, ...] = ("webhook", "email")
#: dead_letter.source: where a rejected machine message came from
DEAD_LETTER_SOURCES: tuple[str, ...] = ("mqtt", "opcua", "http")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def _in_list(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetime: ``timestamptz`` on PostgreSQL, integer µs since the epoch on SQLite."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        if dialect.name == "sqlite":
            return (value - _EPOCH) // _MICROSECOND
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return _EPOCH + timedelta(microseconds=int(value))
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


#: JSON documents: JSONB on PostgreSQL (indexable, compact), JSON text on SQLite
JsonDoc = JSON().with_variant(JSONB(), "postgresql")
#: big tables: BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    """Declarative base of every zhuoyue table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 (SQLAlchemy reads this class attribute)
        datetime: UTCDateTime(),
        float: Double(),
        dict[str, Any]: JsonDoc,
        list[Any]: JsonDoc,
    }


def _org_fk() -> Mapped[int]:
    return mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), index=True)


def _user_fk() -> Mapped[int | None]:
    return mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))


def _created() -> Mapped[datetime]:
    return mapped_column(default=utcnow)


# --------------------------------------------------------------------------------- organizations
class Organization(Base):
    """An enterprise: 统一社会信用代码, industry (GB/T 4754) and region (GB/T 2260)."""

    __tablename__ = "organization"
    __table_args__ = (
        CheckConstraint("length(credit_code) = 18", name="credit_code_length"),
        CheckConstraint("length(region_code) = 6", name="region_code_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: short slug [a-z0-9-] (checked by validation.validate_org_code)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    #: 统一社会信用代码 (GB 32100), 18 characters with its check digit
    credit_code: Mapped[str | None] = mapped_column(String(18), unique=True)
    #: 国民经济行业分类 GB/T 4754, e.g. "C3670"
    industry_code: Mapped[str | None] = mapped_column(String(5))
    #: 行政区划代码 GB/T 2260, 6 digits
    region_code: Mapped[str | None] = mapped_column(String(6))
    created_at: Mapped[datetime] = _created()


class Site(Base):
    """A plant or workshop of an organization."""

    __tablename__ = "site"
    __table_args__ = (UniqueConstraint("org_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = _org_fk()
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))


class Product(Base):
    """A product (or product family) of an organization."""

    __tablename__ = "product"
    __table_args__ = (UniqueConstraint("org_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = _org_fk()
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))


class ProcessStep(Base):
    """A step of the process (工序); ``sequence`` orders the steps of the rolled yield."""

    __tablename__ = "process_step"
    __table_args__ = (UniqueConstraint("org_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = _org_fk()
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    sequence: Mapped[int] = mapped_column(default=0, server_default=text("0"))


# ------------------------------------------------------------------------- characteristics & SPC
class Characteristic(Base):
    """A measured characteristic (特性): specification limits and chart settings."""

    __tablename__ = "characteristic"
    __table_args__ = (
        UniqueConstraint("org_id", "code"),
        CheckConstraint("subgroup_size >= 1", name="subgroup_size_positive"),
        CheckConstraint("lsl IS NULL OR usl IS NULL OR lsl < usl", name="lsl_below_usl"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = _org_fk()
    code: Mapped[str] = mapped_column(String(80))
    name: Mapped[str | None] = mapped_column(String(200))
    product_id: Mapped[int | None] = mapped_column(
        ForeignKey("product.id", ondelete="SET NULL"), index=True
    )
    step_id: Mapped[int | None] = mapped_column(
        ForeignKey("process_step.id", ondelete="SET NULL"), index=True
    )
    unit: Mapped[str | None] = mapped_column(String(20))
    lsl: Mapped[float | None]
    usl: Mapped[float | None]
    target: Mapped[float | None]
    subgroup_size: Mapped[int] = mapped_column(default=1, server_default=text("1"))
    #: 关键特性: its Cpk counts in the assessment
    key: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    #: chart type (xbar_r, xbar_s, imr, ...); None lets the service choose from subgroup_size
    chart: Mapped[str | None] = mapped_column(String(20))
    rules: Mapped[str] = mapped_column(String(40), default="gb4091", server_default="gb4091")
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    product: Mapped[Product | None] = relationship()
    step: Mapped[ProcessStep | None] = relationship()
    limits: Mapped[list[ControlLimits]] = relationship(
        back_populates="characteristic",
        order_by="ControlLimits.frozen_at",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class ControlLimits(Base):
    """Frozen control limits of a characteristic (phase II), with their history.

    Every freeze adds a row; the previous active row gets ``active=False`` and ``superseded_at``.
    At most one row per characteristic is active (partial unique index).
    """

    __tablename__ = "control_limits"
    __table_args__ = (
        Index(
            "uq_control_limits_active",
            "characteristic_id",
            unique=True,
            sqlite_where=text("active"),
            postgresql_where=text("active"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    characteristic_id: Mapped[int] = mapped_column(
        ForeignKey("characteristic.id", ondelete="CASCADE"), index=True
    )
    chart: Mapped[str] = mapped_column(String(20))
    #: {"center", "sigma", "sigma_method", "subgroup_size", "n_values", "start", "end", "rules",
    #:  "panels": {"xbar": {"center", "lcl", "ucl"}, "r": {...}}} (see services.views.freeze_limits)
    limits: Mapped[dict[str, Any]]
    sigma: Mapped[float | None]
    n_subgroups: Mapped[int | None]
    frozen_at: Mapped[datetime] = mapped_column(default=utcnow)
    frozen_by: Mapped[int | None] = _user_fk()
    reason: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=True, server_default=text("true"))
    superseded_at: Mapped[datetime | None]

    characteristic: Mapped[Characteristic] = relationship(back_populates="limits")


class Measurement(Base):
    """One measured value: the big table.

    The natural key ``(characteristic_id, ts, seq)`` (``seq``: ordinal of the value among the
    values of the same characteristic and ts, in file order) makes imports idempotent; its unique
    index also serves per-characteristic time-range reads. ``msg_id`` (machine feeds) is unique
    per characteristic when given. Bulk reads and writes go through :mod:`zhuoyue.store.bulk`.
    """

    __tablename__ = "measurement"
    __table_args__ = (
        Index("uq_measurement_key", "characteristic_id", "ts", "seq", unique=True),
        Index(
            "uq_measurement_msg_id",
            "characteristic_id",
            "msg_id",
            unique=True,
            sqlite_where=text("msg_id IS NOT NULL"),
            postgresql_where=text("msg_id IS NOT NULL"),
        ),
        CheckConstraint("seq >= 0", name="seq_not_negative"),
        CheckConstraint("subgroup >= 0", name="subgroup_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    characteristic_id: Mapped[int] = mapped_column(
        ForeignKey("characteristic.id", ondelete="CASCADE")
    )
    ts: Mapped[datetime]
    seq: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    subgroup: Mapped[int | None]
    value: Mapped[float]
    lot: Mapped[str | None] = mapped_column(String(100))
    serial: Mapped[str | None] = mapped_column(String(100))
    machine: Mapped[str | None] = mapped_column(String(100))
    operator: Mapped[str | None] = mapped_column(String(100))
    msg_id: Mapped[str | None] = mapped_column(String(100))


# ----------------------------------------------------------------------- yields, costs, output
class Inspection(Base):
    """First-pass inspection results of a step (交验): one row per date, step, product, lot."""

    __tablename__ = "inspection"
    __table_args__ = (
        UniqueConstraint("org_id", "row_key"),
        CheckConstraint("submitted >= 0", name="submitted_not_negative"),
        CheckConstraint("passed_first >= 0", name="passed_first_not_negative"),
        CheckConstraint("passed_first <= submitted", name="passed_first_le_submitted"),
        CheckConstraint("defects >= 0", name="defects_not_negative"),
        Index("ix_inspection_org_id_date", "org_id", "date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    date: Mapped[dt.date] = mapped_column(Date)
    step_id: Mapped[int] = mapped_column(ForeignKey("process_step.id"), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id"), index=True)
    lot: Mapped[str | None] = mapped_column(String(100))
    submitted: Mapped[int]
    passed_first: Mapped[int]
    defects: Mapped[int | None]
    defect_code: Mapped[str | None] = mapped_column(String(40))
    #: sha1 of (date, step code, product code, lot, defect_code), see keys.row_key
    row_key: Mapped[str] = mapped_column(String(40))


class ProductQuality(Base):
    """Units and defectives (or defects and opportunities) of a product in a period."""

    __tablename__ = "product_quality"
    __table_args__ = (
        UniqueConstraint("org_id", "row_key"),
        CheckConstraint("units >= 0", name="units_not_negative"),
        CheckConstraint("defective >= 0 AND defective <= units", name="defective_in_units"),
        CheckConstraint("defects >= 0", name="defects_not_negative"),
        CheckConstraint("opportunities >= 1", name="opportunities_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = _org_fk()
    #: "2024", "2024-03", "2024Q1", ...
    period: Mapped[str] = mapped_column(String(20))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id"), index=True)
    units: Mapped[int] = mapped_column(BigInteger)
    defective: Mapped[int | None] = mapped_column(BigInteger)
    defects: Mapped[int | None] = mapped_column(BigInteger)
    #: defect opportunities per unit
    opportunities: Mapped[int | None]
    #: sha1 of (period, product code)
    row_key: Mapped[str] = mapped_column(String(40))


class QualityCost(Base):
    """One quality cost entry (质量成本) in one of the categories of the PAF model.

    ``row_key`` is the sha1 of (date, category, note, ordinal), the ordinal counting earlier rows
    of the same import with the same date, category and note (0 for the first), so that two
    identical entries of one file are both kept and a re-import of the file adds nothing. The
    amount is not part of the key: a changed amount is a conflict, reported by the importer.
    """

    __tablename__ = "quality_cost"
    __table_args__ = (
        UniqueConstraint("org_id", "row_key"),
        CheckConstraint(_in_list("category", CATEGORIES), name="category_known"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        Index("ix_quality_cost_org_id_date", "org_id", "date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    date: Mapped[dt.date] = mapped_column(Date)
    category: Mapped[str] = mapped_column(String(30))
    #: amount in yuan (float: the loss rates are ratios of sums)
    amount: Mapped[float]
    note: Mapped[str | None] = mapped_column(Text)
    row_key: Mapped[str] = mapped_column(String(40))


class OutputValue(Base):
    """Annual total output value (年度总产值), the denominator of the loss rates."""

    __tablename__ = "output_value"
    __table_args__ = (
        UniqueConstraint("org_id", "year"),
        CheckConstraint("total_output_value > 0", name="total_output_value_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    year: Mapped[int]
    total_output_value: Mapped[float]


# ------------------------------------------------------------------------------- assessments
class Assessment(Base):
    """A five-level self-assessment of one year: answers, result snapshot, declaration."""

    __tablename__ = "assessment"
    __table_args__ = (
        CheckConstraint(_in_list("status", ASSESSMENT_STATUSES), name="status_known"),
        CheckConstraint("level BETWEEN 1 AND 5", name="level_range"),
        Index("ix_assessment_org_id_year", "org_id", "year"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    year: Mapped[int]
    model_id: Mapped[str] = mapped_column(String(80))
    model_version: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default="draft", server_default="draft")
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: snapshot of the evaluation (metrics, levels, binding constraint) when saved or declared
    result: Mapped[dict[str, Any] | None]
    level: Mapped[int | None]
    score: Mapped[float | None]
    created_by: Mapped[int | None] = _user_fk()
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    declared_at: Mapped[datetime | None]
    declared_by: Mapped[int | None] = _user_fk()
    verified_at: Mapped[datetime | None]
    verified_by: Mapped[int | None] = _user_fk()

    evidence: Mapped[list[AssessmentEvidence]] = relationship(
        back_populates="assessment", cascade="all, delete-orphan", passive_deletes=True
    )


class AssessmentEvidence(Base):
    """A file given as evidence for one indicator of an assessment."""

    __tablename__ = "assessment_evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("assessment.id", ondelete="CASCADE"), index=True
    )
    indicator_id: Mapped[str] = mapped_column(String(80))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    uploaded_by: Mapped[int | None] = _user_fk()
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)

    assessment: Mapped[Assessment] = relationship(back_populates="evidence")


class AssessmentShare(Base):
    """An assessment shared with an assessor (第三方评价)."""

    __tablename__ = "assessment_share"

    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("assessment.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True, index=True
    )


# ---------------------------------------------------------------------------------- accounts
class UserAccount(Base):
    """A person (or a service identity) who logs in."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(255))
    #: argon2 hash; None: no password login
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True, server_default=text("true"))
    locale: Mapped[str] = mapped_column(String(10), default="zh", server_default="zh")
    created_at: Mapped[datetime] = _created()
    last_login_at: Mapped[datetime | None]

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )


class Membership(Base):
    """A user's role in an organization."""

    __tablename__ = "membership"
    __table_args__ = (
        UniqueConstraint("user_id", "org_id"),
        CheckConstraint(_in_list("role", ROLES), name="role_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    org_id: Mapped[int] = _org_fk()
    role: Mapped[str] = mapped_column(String(20))

    user: Mapped[UserAccount] = relationship(back_populates="memberships")
    organization: Mapped[Organization] = relationship()


class CharacteristicShare(Base):
    """A characteristic shared with a user (what a supplier or customer sees)."""

    __tablename__ = "characteristic_share"

    characteristic_id: Mapped[int] = mapped_column(
        ForeignKey("characteristic.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class UserSession(Base):
    """A web login session; the cookie holds the token, the table its sha256."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    #: the organization the user is working in
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = _created()
    expires_at: Mapped[datetime]
    last_seen_at: Mapped[datetime | None]


class ApiToken(Base):
    """A Bearer token for machines and integrations; only its sha256 is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = _org_fk()
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    #: sha256 hex of the token
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: first 8 characters of the token, shown to tell tokens apart
    prefix: Mapped[str] = mapped_column(String(8))
    #: space separated, e.g. "measurements:write characteristics:read"
    scopes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = _created()
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class AuditLog(Base):
    """Who changed what, when: master data, specs, limits, assessments (before/after JSON)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_org_id_at", "org_id", "at"),
        Index("ix_audit_log_entity_entity_id", "entity", "entity_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = _user_fk()
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_token.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    #: create, update, delete, freeze_limits, declare, verify, login, ...
    action: Mapped[str] = mapped_column(String(40))
    #: table name of the entity
    entity: Mapped[str] = mapped_column(String(60))
    entity_id: Mapped[str | None] = mapped_column(String(80))
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]


# --------------------------------------------------------------------------- online monitoring
class MonitorState(Base):
    """The online SPC state of a characteristic (:mod:`zhuoyue.monitor`), saved as it runs.

    ``state`` is the monitor's JSON snapshot (the windows of the run rules, the open subgroup);
    it belongs to the frozen limits ``limits_id`` it was built from: new limits start a new state.
    ``last_measurement_id`` is the last stored measurement the state has seen, so a restarted
    monitor resumes exactly where it stopped.
    """

    __tablename__ = "monitor_state"

    characteristic_id: Mapped[int] = mapped_column(
        ForeignKey("characteristic.id", ondelete="CASCADE"), primary_key=True
    )
    limits_id: Mapped[int | None] = mapped_column(
        ForeignKey("control_limits.id", ondelete="SET NULL")
    )
    state: Mapped[dict[str, Any]]
    n_values: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    last_measurement_id: Mapped[int | None] = mapped_column(BigInteger)
    last_ts: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Alarm(Base):
    """An early warning: a run-rule test fired (``kind="rule"``, with ``panel`` and ``test``) or a
    value lay outside the specification (``kind="spec"``).

    One alarm per characteristic and ``dedup_key`` (kind, panel, test) is open at a time (partial
    unique index): further signals of the same kind count in ``signals`` and move
    ``last_signal_at`` instead of opening new alarms. Acknowledging records the assignable cause
    and the corrective action (OCAP) and who did it.
    """

    __tablename__ = "alarm"
    __table_args__ = (
        Index(
            "uq_alarm_open",
            "characteristic_id",
            "dedup_key",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
        Index("ix_alarm_org_id_status_opened_at", "org_id", "status", "opened_at"),
        CheckConstraint(_in_list("kind", ALARM_KINDS), name="kind_known"),
        CheckConstraint(_in_list("severity", ALARM_SEVERITIES), name="severity_known"),
        CheckConstraint(_in_list("status", ALARM_STATUSES), name="status_known"),
        CheckConstraint("signals >= 1", name="signals_positive"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    characteristic_id: Mapped[int] = mapped_column(
        ForeignKey("characteristic.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    panel: Mapped[str | None] = mapped_column(String(20))
    test: Mapped[int | None]
    #: "rule:<panel>:<test>" or "spec:<lsl|usl>"
    dedup_key: Mapped[str] = mapped_column(String(60))
    severity: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="open", server_default="open")
    message_zh: Mapped[str] = mapped_column(Text)
    message_en: Mapped[str] = mapped_column(Text)
    #: the first signal: point index, ts, value, the points of the pattern ...
    detail: Mapped[dict[str, Any]]
    signals: Mapped[int] = mapped_column(default=1, server_default=text("1"))
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_signal_at: Mapped[datetime] = mapped_column(default=utcnow)
    first_point_ts: Mapped[datetime | None]
    last_point_ts: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[int | None] = _user_fk()
    assignable_cause: Mapped[str | None] = mapped_column(Text)
    corrective_action: Mapped[str | None] = mapped_column(Text)


class DeadLetter(Base):
    """A machine message that was rejected, with its reason (never dropped silently).

    ``digest`` identifies the message (source, topic and payload): a copy delivered again (QoS 1
    after a reconnect) counts in ``copies`` instead of adding a row.
    """

    __tablename__ = "dead_letter"
    __table_args__ = (
        Index("ix_dead_letter_org_id_received_at", "org_id", "received_at"),
        Index("uq_dead_letter_digest", "digest", unique=True),
        CheckConstraint(_in_list("source", DEAD_LETTER_SOURCES), name="source_known"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: the organization the topic names, when it names a known one
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(20))
    topic: Mapped[str | None] = mapped_column(String(400))
    #: the payload as received (at most 64 KiB, decoded with replacement characters)
    payload: Mapped[str | None] = mapped_column(Text)
    #: a stable code: bad_json, bad_value, unknown_characteristic, duplicate, ...
    reason: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(64))
    copies: Mapped[int] = mapped_column(default=1, server_default=text("1"))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_received_at: Mapped[datetime] = mapped_column(default=utcnow)


class NotificationChannel(Base):
    """Where an organization's alarms are sent: a webhook URL or an e-mail address."""

    __tablename__ = "notification_channel"
    __table_args__ = (
        UniqueConstraint("org_id", "kind", "target"),
        CheckConstraint(_in_list("kind", CHANNEL_KINDS), name="kind_known"),
        CheckConstraint(_in_list("min_severity", ALARM_SEVERITIES), name="min_severity_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = _org_fk()
    kind: Mapped[str] = mapped_column(String(20))
    target: Mapped[str] = mapped_column(String(500))
    min_severity: Mapped[str] = mapped_column(
        String(20), default="warning", server_default="warning"
    )
    active: Mapped[bool] = mapped_column(default=True, server_default=text("true"))
    created_at: Mapped[datetime] = _created()
    created_by: Mapped[int | None] = _user_fk()
