"""What the pages show, read through the services (no SQL here); plain dicts for the UI."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from zhuoyue.excellence import default_model
from zhuoyue.services import accounts
from zhuoyue.services import alarms as alarm_service
from zhuoyue.services.assessments import compute_assessment, get_assessment, list_assessments
from zhuoyue.services.kpi import kpis
from zhuoyue.services.masterdata import visible_characteristics
from zhuoyue.services.views import characteristics_overview
from zhuoyue.store.models import Characteristic, Organization, UserAccount

__all__ = [
    "ALARM_COUNT",
    "WORST_COUNT",
    "Lists",
    "Overview",
    "load_lists",
    "load_overview",
    "load_trends",
    "login",
]

#: how many characteristics the overview lists, lowest Cpk first
WORST_COUNT = 10
#: how many signalling characteristics the overview lists, latest first
ALARM_COUNT = 10


@dataclass(frozen=True, slots=True)
class Overview:
    """The overview of the user's current organization."""

    username: str
    display_name: str | None
    org_name: str
    role: str
    can_assessment: bool
    can_data: bool
    status: str | None = None  # of the assessment shown; None when computed only
    result: dict[str, Any] | None = None  # the evaluator's result (to_dict shape)
    thresholds: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    org_id: int = 0
    shared_only: bool = False  # a supplier: the characteristics shared with the user only


def login(sessions: sessionmaker[Session], username: str, password: str) -> str:
    """Open a login session; the token (raises AuthenticationError on a wrong password)."""
    with sessions.begin() as s:
        return accounts.login(s, username, password).token


def _thresholds(indicator_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    model = default_model()
    return {
        i: [
            {
                "level": t.level,
                "op": t.op,
                "value": t.value,
                "name": {"zh": model.level_name(t.level), "en": model.level_name(t.level, "en")},
            }
            for t in model.indicator(i).thresholds
        ]
        for i in indicator_ids
    }


def load_overview(s: Session, p: accounts.Principal) -> Overview:
    """The overview of the principal's organization: the latest assessment (its stored result
    when declared, else computed from the current data) and its indicators."""
    org = s.get(Organization, p.org_id)
    org_name = org.name if org is not None else p.org_code
    user = s.get(UserAccount, p.user_id)
    display = user.display_name if user is not None else None
    can_assessment, can_data = p.can("read_assessment"), p.can("read")
    status: str | None = None
    result: dict[str, Any] | None = None
    if can_assessment:
        latest = list_assessments(s, p.org_id)
        if latest and latest[0]["locked"]:
            result = get_assessment(s, p.org_id, latest[0]["id"]).get("result")
            status = latest[0]["status"] if result is not None else None
        if result is None:
            year = latest[0]["year"] if latest else dt.date.today().year - 1
            result = compute_assessment(s, p.org_id, year).to_dict()
            status = None
    thresholds = _thresholds(list(result["metrics"])) if result is not None else {}
    return Overview(
        username=p.username,
        display_name=display,
        org_name=org_name,
        role=p.role,
        can_assessment=can_assessment,
        can_data=can_data,
        status=status,
        result=result,
        thresholds=thresholds,
        org_id=p.org_id,
        shared_only=not can_data and p.can("read_shared"),
    )


@dataclass(frozen=True, slots=True)
class Lists:
    """The overview's lists of characteristics (all, or a supplier's shared ones)."""

    worst: list[dict[str, Any]]  # lowest Cpk first
    alarms: list[dict[str, Any]]  # signalling on their latest points, latest signal first
    #: the open alarms of the online monitor (newest first, at most ALARM_COUNT) and how many
    open_alarms: list[dict[str, Any]] = field(default_factory=list)
    open_total: int = 0


def load_lists(s: Session, p: accounts.Principal) -> Lists | None:
    """The characteristics with the lowest Cpk and those signalling now; ``None`` when the user
    may read no characteristic."""
    allowed: set[int] | None = None
    if not p.can("read"):
        if not p.can("read_shared"):
            return None
        stmt = visible_characteristics(p, "read_shared")
        allowed = set(s.scalars(stmt.with_only_columns(Characteristic.id)))
    rows = characteristics_overview(s, p.org_id, allowed_ids=allowed)
    worst = sorted((r for r in rows if r["cpk"] is not None), key=lambda r: r["cpk"])
    alarms = sorted(
        (r for r in rows if r["in_control"] is False and r["last_violation"]),
        key=lambda r: str(r["last_violation"]["ts"]),
        reverse=True,
    )
    page = alarm_service.list_alarms(s, p, status="open", limit=ALARM_COUNT)
    return Lists(worst[:WORST_COUNT], alarms[:ALARM_COUNT], page.items, page.total)


def load_trends(s: Session, p: accounts.Principal, year: int) -> dict[str, Any] | None:
    """Twelve monthly values and levels of every quantitative indicator in ``year`` (the
    ``trend`` of :func:`zhuoyue.services.kpi.kpis`), with the indicators' names, units and
    thresholds; ``None`` when the user may not read the organization's data."""
    if not p.can("read"):
        return None
    k = kpis(s, p.org_id, year)
    metrics = k["metrics"]
    return {
        "year": k["year"],
        "months": k["trend"]["months"],
        "values": k["trend"]["values"],
        "levels": k["trend"]["levels"],
        "errors": k["trend"]["errors"],
        "metrics": {
            mid: {k: m.get(k) for k in ("name_zh", "name_en", "unit", "better", "thresholds")}
            for mid, m in metrics.items()
        },
    }
