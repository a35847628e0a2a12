"""Request and response bodies of the REST API (pydantic models).

Response models are built from ORM rows inside the route (``XOut.of(row)``), while the
request's session is open. Request models bound what the database can hold (lengths, integer
ranges); the services check everything again, so other shells get the same errors.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from zhuoyue.services.accounts import SCOPES, TOKEN_MAX_DAYS, Page, bad_text
from zhuoyue.services.views import CHART_TYPES, MAX_REASON_CHARS, PHASES
from zhuoyue.stats.rules import RULE_SETS
from zhuoyue.store.models import (
    ROLES,
    ApiToken,
    AuditLog,
    Characteristic,
    Measurement,
    Membership,
    Organization,
    ProcessStep,
    Product,
    UserAccount,
)

T = TypeVar("T")
INT4 = 2**31 - 1


def _clean(value: str) -> str:
    if bad_text(value):
        raise ValueError("text must not contain control characters")
    return value


_Clean = AfterValidator(_clean)


def _clean_lines(value: str) -> str:
    if bad_text(value.replace("\n", "").replace("\r", "").replace("\t", "")):
        raise ValueError("text must not contain control characters other than line breaks and tabs")
    return value


_CleanLines = AfterValidator(_clean_lines)
# strings without control characters, of the lengths the columns hold
Code = Annotated[str, Field(min_length=1, max_length=40), _Clean]
LongCode = Annotated[str, Field(min_length=1, max_length=80), _Clean]
Name = Annotated[str, Field(min_length=1, max_length=200), _Clean]
OptName = Annotated[str, Field(max_length=200), _Clean]
Short5 = Annotated[str, Field(max_length=5), _Clean]
Short6 = Annotated[str, Field(max_length=6), _Clean]
Short18 = Annotated[str, Field(max_length=18), _Clean]
Short20 = Annotated[str, Field(max_length=20), _Clean]
Label = Annotated[str, Field(min_length=1, max_length=100), _Clean]
Username = Annotated[str, Field(min_length=1, max_length=80), _Clean]
Email = Annotated[str, Field(max_length=255), _Clean]


Role = Literal["admin", "quality_manager", "quality_engineer", "viewer", "supplier", "assessor"]
assert set(ROLES) == set(Role.__args__)  # type: ignore[attr-defined]
Scope = Literal["read", "write", "measurements:write", "admin"]
assert set(SCOPES) == set(Scope.__args__)  # type: ignore[attr-defined]
Finite = Annotated[float, Field(allow_inf_nan=False)]
ChartType = Literal["xbar_r", "xbar_s", "imr"]
assert set(CHART_TYPES) == set(ChartType.__args__)  # type: ignore[attr-defined]
RuleSetName = Literal["gb4091", "we", "none"]
assert set(RULE_SETS) == set(RuleSetName.__args__)  # type: ignore[attr-defined]
Phase = Literal["auto", "I", "II"]
assert set(PHASES) == set(Phase.__args__)  # type: ignore[attr-defined]
#: years of the data: a year's rows end where the next year begins, so 9999 has no end
MIN_YEAR, MAX_YEAR = 1000, 9998
#: several lines of text (a reason, a note): line breaks and tabs allowed
LongText = Annotated[str, Field(min_length=1, max_length=MAX_REASON_CHARS), _CleanLines]


def json_safe(value: Any) -> Any:
    """``value`` as plain JSON: NaN and infinities become ``null``, other objects their text.

    The computed views hand back dictionaries of the statistics layer; the response must be
    valid JSON whatever a degenerate data set produced.
    """
    text = json.dumps(value, ensure_ascii=False, default=_plain)
    return json.loads(text, parse_constant=lambda _constant: None)


def _plain(value: Any) -> Any:
    if hasattr(value, "tolist"):  # NumPy scalars and arrays
        return value.tolist()
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PageOut(BaseModel, Generic[T]):
    """One page of a list: ``items``, the ``total`` number of matches, ``limit`` and ``offset``."""

    items: list[T]
    total: int
    limit: int
    offset: int

    @classmethod
    def of(cls, page: Page[Any], items: list[T]) -> PageOut[T]:
        return cls(items=items, total=page.total, limit=page.limit, offset=page.offset)


# ---------------------------------------------------------------------------------- accounts
class UserOut(BaseModel):
    id: int
    username: str
    display_name: str | None
    email: str | None
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None

    @classmethod
    def of(cls, u: UserAccount) -> UserOut:
        return cls(
            id=u.id,
            username=u.username,
            display_name=u.display_name,
            email=u.email,
            is_active=u.is_active,
            created_at=u.created_at,
            last_login_at=u.last_login_at,
        )


class OrgOut(BaseModel):
    id: int
    code: str
    name: str
    credit_code: str | None
    industry_code: str | None
    region_code: str | None
    created_at: datetime
    #: the caller's role in the organization
    role: str | None = None

    @classmethod
    def of(cls, o: Organization, role: str | None = None) -> OrgOut:
        return cls(
            id=o.id,
            code=o.code,
            name=o.name,
            credit_code=o.credit_code,
            industry_code=o.industry_code,
            region_code=o.region_code,
            created_at=o.created_at,
            role=role,
        )


class OrgIn(_In):
    code: Code
    name: Name
    credit_code: Short18 | None = None
    industry_code: Short5 | None = None
    region_code: Short6 | None = None


class OrgPatch(_In):
    code: Code | None = None
    name: Name | None = None
    credit_code: Short18 | None = None
    industry_code: Short5 | None = None
    region_code: Short6 | None = None


class LoginIn(_In):
    username: Username
    password: str = Field(max_length=1024)
    #: organization to work in (id or code); default: the first of the user's by code
    org: Code | int | None = None


class SwitchOrgIn(_In):
    org: Code | int


class PasswordIn(_In):
    current_password: str = Field(max_length=1024)
    new_password: str = Field(min_length=8, max_length=1024)


class MeOut(BaseModel):
    """The caller: user, current organization and role, how they authenticated, their orgs."""

    user: UserOut
    org: OrgOut
    role: str
    via: Literal["session", "token"]
    scopes: list[str]
    token_id: int | None
    orgs: list[OrgOut]
    #: when the login session ends unless used (login only)
    expires_at: datetime | None = None


class MemberOut(BaseModel):
    """A membership: a user and their role in the organization."""

    id: int
    role: str
    user: UserOut

    @classmethod
    def of(cls, m: Membership) -> MemberOut:
        return cls(id=m.id, role=m.role, user=UserOut.of(m.user))


class UserIn(_In):
    username: Username
    password: str = Field(min_length=8, max_length=1024)
    role: Role
    display_name: OptName | None = None
    email: Email | None = None


class MembershipIn(_In):
    username: Username
    role: Role


class MembershipPatch(_In):
    role: Role


class TokenIn(_In):
    name: Label
    scopes: list[Scope] = Field(min_length=1, max_length=len(SCOPES))
    #: days until the token expires; null: never
    expires_in_days: int | None = Field(default=90, ge=1, le=TOKEN_MAX_DAYS)


class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str
    scopes: list[str]
    user_id: int
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, t: ApiToken) -> TokenOut:
        return cls(
            id=t.id,
            name=t.name,
            prefix=t.prefix,
            scopes=t.scopes.split(),
            user_id=t.user_id,
            created_at=t.created_at,
            expires_at=t.expires_at,
            last_used_at=t.last_used_at,
            revoked_at=t.revoked_at,
        )


class TokenCreated(TokenOut):
    #: the token itself: shown only in this response, store it now
    token: str


# -------------------------------------------------------------------------------- master data
class ProductOut(BaseModel):
    id: int
    code: str
    name: str

    @classmethod
    def of(cls, p: Product) -> ProductOut:
        return cls(id=p.id, code=p.code, name=p.name)


class ProductIn(_In):
    code: Code
    name: OptName | None = None


class ProductPatch(_In):
    code: Code | None = None
    name: Name | None = None


class StepOut(BaseModel):
    id: int
    code: str
    name: str
    sequence: int

    @classmethod
    def of(cls, s: ProcessStep) -> StepOut:
        return cls(id=s.id, code=s.code, name=s.name, sequence=s.sequence)


class StepIn(_In):
    code: Code
    name: OptName | None = None
    #: position of the step in the process flow (the rolled yield's order)
    sequence: int = Field(default=0, ge=0, le=INT4)


class StepPatch(_In):
    code: Code | None = None
    name: Name | None = None
    sequence: int | None = Field(default=None, ge=0, le=INT4)


class CharacteristicOut(BaseModel):
    id: int
    code: str
    name: str | None
    #: product code
    product: str | None
    #: process step code
    step: str | None
    unit: str | None
    lsl: float | None
    usl: float | None
    target: float | None
    subgroup_size: int
    key: bool
    chart: str | None
    rules: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, c: Characteristic) -> CharacteristicOut:
        return cls(
            id=c.id,
            code=c.code,
            name=c.name,
            product=c.product.code if c.product is not None else None,
            step=c.step.code if c.step is not None else None,
            unit=c.unit,
            lsl=c.lsl,
            usl=c.usl,
            target=c.target,
            subgroup_size=c.subgroup_size,
            key=c.key,
            chart=c.chart,
            rules=c.rules,
            created_at=c.created_at,
            updated_at=c.updated_at,
        )


class _CharacteristicFields(_In):
    name: OptName | None = None
    #: product code (POST /products)
    product: Code | None = None
    unit: Short20 | None = None
    lsl: Finite | None = None
    usl: Finite | None = None
    target: Finite | None = None
    chart: Short20 | None = None


class CharacteristicIn(_CharacteristicFields):
    code: LongCode
    #: process step code (POST /steps)
    step: Code
    subgroup_size: int = Field(default=1, ge=1, le=1000)
    #: 关键特性: its Cpk counts in the assessment
    key: bool = False
    rules: Short20 = "gb4091"


class CharacteristicPatch(_CharacteristicFields):
    code: LongCode | None = None
    step: Code | None = None
    subgroup_size: int | None = Field(default=None, ge=1, le=1000)
    key: bool | None = None
    rules: Short20 | None = None


class ShareIn(_In):
    #: username of a member of the organization with the role supplier
    username: Username


class ShareOut(BaseModel):
    user_id: int
    username: str
    display_name: str | None


# ------------------------------------------------------------------------------ measurements
class MeasurementRow(BaseModel):
    """One measurement to add (JSON body of POST /characteristics/{ref}/measurements)."""

    #: ISO 8601; without an offset the time is in the zone ``tz`` (default UTC)
    ts: str
    value: float
    subgroup: int | None = Field(default=None, ge=0, le=INT4)
    lot: str | None = Field(default=None, max_length=100)
    serial: str | None = Field(default=None, max_length=100)
    machine: str | None = Field(default=None, max_length=100)
    operator: str | None = Field(default=None, max_length=100)
    #: id of the message that carried the value (unique per characteristic)
    msg_id: str | None = Field(default=None, max_length=100)


class MeasurementOut(BaseModel):
    id: int
    ts: datetime
    seq: int
    subgroup: int | None
    value: float
    lot: str | None
    serial: str | None
    machine: str | None
    operator: str | None
    msg_id: str | None

    @classmethod
    def of(cls, m: Measurement) -> MeasurementOut:
        return cls(
            id=m.id,
            ts=m.ts,
            seq=m.seq,
            subgroup=m.subgroup,
            value=m.value,
            lot=m.lot,
            serial=m.serial,
            machine=m.machine,
            operator=m.operator,
            msg_id=m.msg_id,
        )


class LoadOut(BaseModel):
    """Outcome of a bulk add."""

    received: int
    inserted: int
    #: rows stored already with the same values (a re-sent batch)
    identical: int
    #: rows stored with other values, kept as stored (on_conflict=skip)
    conflicts_skipped: int
    characteristics: list[str]
    #: columns of a CSV file that were not read
    ignored_columns: list[str] = Field(default_factory=list)


class SeriesOut(BaseModel):
    """A characteristic's values in time order, as parallel arrays."""

    characteristic_id: int
    code: str
    ts: list[datetime]
    value: list[float]
    #: null where a value has no subgroup
    subgroup: list[int | None]


# ------------------------------------------------------------------------------------- audit
class AuditOut(BaseModel):
    id: int
    at: datetime
    action: str
    entity: str
    entity_id: str | None
    user_id: int | None
    token_id: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    @classmethod
    def of(cls, a: AuditLog) -> AuditOut:
        return cls(
            id=a.id,
            at=a.at,
            action=a.action,
            entity=a.entity,
            entity_id=a.entity_id,
            user_id=a.user_id,
            token_id=a.token_id,
            before=a.before,
            after=a.after,
        )


class HealthOut(BaseModel):
    status: Literal["ok"]
    database: str
    version: str


# ---------------------------------------------------------------------------- computed views
class Open(BaseModel):
    """A computed result: the fields named here, and every other field the service returns."""

    model_config = ConfigDict(extra="allow")


class ChartOut(Open):
    """A control chart (the JSON of ``zhuoyue spc --json``) of a characteristic's measurements,
    plus ``characteristic``, ``limits_source``, ``frozen_limits``, ``points``, ``data`` and
    ``conventions``."""

    chart: str
    center: float | None
    sigma: float | None
    sigma_method: str
    n_points: int
    panels: dict[str, Any]
    #: "frozen" (phase II against the active frozen limits) or "computed" (phase I)
    limits_source: Literal["frozen", "computed"]
    characteristic: dict[str, Any]
    warnings: list[str]


class CapabilityOut(Open):
    """Process capability (the JSON of ``zhuoyue capability --json``) plus ``characteristic``,
    ``data`` and ``conventions``."""

    n: int
    mean: float | None
    cp: float | None
    cpk: float | None
    pp: float | None
    ppk: float | None
    characteristic: dict[str, Any]
    warnings: list[str]


class UserRef(BaseModel):
    """A user named in a record (who froze, declared, verified)."""

    id: int
    username: str | None = None
    display_name: str | None = None


class LimitsEnded(BaseModel):
    """Who ended frozen limits by unfreezing them, when and why."""

    action: str
    at: datetime | None
    by: UserRef | None
    reason: str | None


class LimitsOut(BaseModel):
    """Frozen control limits of a characteristic: the numbers, who froze them, when and why."""

    id: int
    characteristic_id: int
    chart: str
    center: float | None
    sigma: float | None
    sigma_method: str | None
    subgroup_size: int | None
    n_subgroups: int | None
    n_values: int | None
    #: the phase I data the limits were estimated from: data_start <= ts < data_end
    data_start: datetime | None
    data_end: datetime | None
    rules: str | None
    #: per panel (xbar, r, s, i, mr): center, lcl, ucl (null where they vary with the size)
    panels: dict[str, dict[str, float | None]]
    frozen_at: datetime | None
    frozen_by: UserRef | None
    reason: str
    active: bool
    superseded_at: datetime | None
    #: set when the limits were unfrozen (null while active or when a new freeze replaced them)
    ended: LimitsEnded | None = None


class FrozenLimitsOut(LimitsOut):
    """New frozen limits, with the phase I chart's verdict."""

    in_control: bool
    #: phase I points left out (iterate=true)
    excluded: list[int]
    warnings: list[str]


class FreezeIn(_In):
    """Freeze phase I limits of the data with start <= ts < end (default: all data)."""

    reason: LongText
    start: datetime | None = None
    end: datetime | None = None
    #: default: the characteristic's chart
    chart: ChartType | None = None
    #: leave out points beyond the limits and estimate again until none is
    iterate: bool = False


class UnfreezeIn(_In):
    reason: LongText


class LastViolation(BaseModel):
    point: int
    ts: datetime
    tests: list[int]
    panels: list[str]
    descriptions: dict[str, list[str]] = Field(
        description="The tests in words by language (zh, en), e.g. '1: 1 point beyond 3σ'."
    )


class OverviewRow(BaseModel):
    """One characteristic of the overview: its data, Cpk, Ppk and whether it is in control."""

    id: int
    code: str
    name: str | None
    step: str | None
    step_name: str | None
    product: str | None
    key: bool
    unit: str | None
    lsl: float | None
    usl: float | None
    #: measurements in range
    n: int
    first_ts: datetime | None
    last_ts: datetime | None
    chart: str | None
    n_points: int
    mean: float | None
    cpk: float | None
    ppk: float | None
    #: no test fires on the last `recent` points (null without data)
    in_control: bool | None
    recent_points_signalling: int | None
    last_violation: LastViolation | None
    limits_source: Literal["frozen", "computed"]
    #: why the chart or the capability could not be computed
    error: str | None


# -------------------------------------------------------------------------------------- KPIs
class KpisOut(Open):
    """The quality KPIs of a year: ``metrics`` (every quantitative indicator of the model, as
    ``zhuoyue assess`` computes it), ``rolled_yield``, ``loss_rates``, ``cost_of_quality``,
    ``sigma_level``, a twelve-month ``trend``, ``coverage``, ``warnings``, ``conventions``."""

    year: int
    #: "given" (?year=), "output_value" or "latest_in_data"
    year_source: str
    metrics: dict[str, Any]
    warnings: list[str]


# ------------------------------------------------------------------------------- assessments
ItemId = Annotated[str, Field(min_length=1, max_length=80), _Clean]
AnswerText = Annotated[str, Field(max_length=2000), _CleanLines]


class AnswerIn(_In):
    """An answer to a questionnaire item: its level, evidence texts, who answered."""

    #: 1 (经验级) to 5 (卓越级)
    level: int | None = None
    #: texts, or one text split at ';', '；' or line breaks
    evidence: AnswerText | list[AnswerText] | None = None
    respondent: AnswerText | None = None


#: ``{item: level}`` or ``{item: {level, evidence, respondent}}``; null removes the item
Answers = dict[ItemId, int | AnswerIn | None]


class ComputeIn(_In):
    year: int = Field(ge=MIN_YEAR, le=MAX_YEAR)
    #: answers overriding the stored draft's, item by item (a preview: nothing is stored)
    answers: Answers | None = None


class DraftIn(_In):
    answers: Answers
    #: when the year's assessment is declared: start a new draft from its answers
    new_draft: bool = False


class VerifyIn(_In):
    note: LongText | None = None


class AssessmentShareIn(_In):
    #: the username or user id of a member of the organization with the role assessor
    user: Annotated[int, Field(ge=1, le=INT4)] | Username


class AssessmentResultOut(Open):
    """The result of an assessment (the JSON of ``zhuoyue assess --json``): level, score,
    aspects, indicators, metrics, binding constraints, gaps and plan."""

    level: int
    year: int | None


class EvidenceOut(BaseModel):
    id: int
    assessment_id: int
    #: the indicator (questionnaire item) the file is evidence of
    indicator_id: str
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: int | None
    uploaded_at: datetime | None


class AssessmentSummaryOut(BaseModel):
    id: int
    org_id: int
    year: int
    model_id: str
    model_version: str
    #: draft, self_declared or verified
    status: str
    #: answers and evidence cannot change (declared or verified)
    locked: bool
    level: int | None
    score: float | None
    #: questionnaire items answered
    answered: int
    created_at: datetime | None
    created_by: UserRef | None
    updated_at: datetime | None
    declared_at: datetime | None
    declared_by: UserRef | None
    verified_at: datetime | None
    verified_by: UserRef | None


class AssessmentOut(AssessmentSummaryOut):
    answers: dict[str, Any]
    evidence: list[EvidenceOut]
    #: the stored result snapshot (null for a draft not evaluated)
    result: dict[str, Any] | None


# ----------------------------------------------------------------------------------- imports
class TableCountsOut(BaseModel):
    rows: int
    inserted: int
    identical: int
    updated: int


class ImportTotals(BaseModel):
    inserted: int
    identical: int
    updated: int


class ChangeOut(BaseModel):
    table: str
    key: str
    column: str
    before: Any
    after: Any


class ImportOut(BaseModel):
    """What an import did (or, with dry_run, would do): rows per table and what became of them."""

    source: str
    org: str
    org_id: int | None
    org_created: bool
    year: int | None
    dry_run: bool
    tables: dict[str, TableCountsOut]
    totals: ImportTotals
    #: stored master-data values the import changed (a characteristic's spec, ...)
    changes: list[ChangeOut]
    #: the assessment holding the file's self_assessment answers
    assessment_id: int | None
    warnings: list[str]
    duration_s: float
