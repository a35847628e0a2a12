"""Computed views of a characteristic: control chart, capability, frozen limits, overview.

Every function is scoped by ``org_id``: a characteristic of another organization (or, with
``allowed_ids``, one not shared with a supplier) is *not found*
(:class:`~zhuoyue.services.accounts.NotFound`), never "forbidden", so ids cannot be probed.

**Data.** A characteristic's measurements with ``start <= ts < end`` (UTC; a naive datetime is
UTC) are read by :func:`zhuoyue.store.bulk.read_series` straight into NumPy, in time order
(``ts``, then ``seq``), and charted by :mod:`zhuoyue.stats` — the same functions as ``zhuoyue
spc`` and ``zhuoyue capability``, so the numbers are the library's.

**Subgroups.** When every value carries a subgroup label, the labels form the subgroups (in order
of first appearance, as :func:`zhuoyue.stats.xbar_r` does with labels); when none does, consecutive
values form subgroups of the characteristic's ``subgroup_size``; values with and without a label
mixed are an error. Subgroups of one value cannot show a range and are left out of Xbar charts and
of σ within (a note says how many), as :func:`zhuoyue.services.assessment.compute_metrics` does.

**Chart.** ``chart=`` if given, else the characteristic's ``chart`` setting, else Xbar-R for
``subgroup_size >= 2`` (or labelled subgroups) and I-MR for individual values. Charts of
measurements: :data:`CHART_TYPES`. Run rules: ``rules=`` or the characteristic's ``rules``.

**Phase I / phase II.** With ``phase="auto"`` a characteristic whose *active* frozen limits
(:class:`~zhuoyue.store.models.ControlLimits`) were frozen for the same chart is monitored against
them (phase II: the frozen ``center`` and ``sigma`` are passed to the chart function); otherwise
the limits are estimated from the data in range (phase I). ``phase="I"`` always estimates;
``phase="II"`` requires frozen limits. The result says which: ``limits_source`` is ``"frozen"``
(with who froze them, when and why) or ``"computed"``.

**Frozen limits** (:func:`freeze_limits`): phase I limits of the data in range, stored as a new
active row; the previous active row is deactivated (``active=False``, ``superseded_at``), so the
history is kept (:func:`limits_history`). The row's ``limits`` JSON is ``{"center", "sigma",
"sigma_method", "subgroup_size", "start", "end", "n_values", "rules", "panels": {panel: {center,
lcl, ucl}}}`` (``lcl``/``ucl`` ``null`` where they vary with the subgroup size). A reason is
required; freezing and :func:`unfreeze_limits` are written to the audit log.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from zhuoyue import stats
from zhuoyue.errors import DataError, ParameterError
from zhuoyue.services import audit
from zhuoyue.services.accounts import Conflict, NotFound
from zhuoyue.stats.capability import CapabilityResult
from zhuoyue.stats.results import ChartResult, jsonable
from zhuoyue.stats.rules import RULE_SET_TITLES
from zhuoyue.store import bulk
from zhuoyue.store.models import (
    AuditLog,
    Characteristic,
    ControlLimits,
    ProcessStep,
    Product,
    UserAccount,
    utcnow,
)

__all__ = [
    "CHART_TYPES",
    "MAX_PROBABILITY_POINTS",
    "MAX_REASON_CHARS",
    "PHASES",
    "RECENT_POINTS",
    "NotFound",
    "characteristic_capability",
    "characteristic_chart",
    "characteristic_sixpack",
    "characteristics_overview",
    "freeze_limits",
    "get_characteristic",
    "limits_history",
    "unfreeze_limits",
]

#: control charts of measurements that the views compute (attribute charts need counts)
CHART_TYPES: tuple[str, ...] = ("xbar_r", "xbar_s", "imr")
#: ``phase`` of :func:`characteristic_chart`
PHASES: tuple[str, ...] = ("auto", "I", "II")
#: the overview's ``in_control``: no test fires on the last this many points
RECENT_POINTS = 25
#: longest reason of a freeze / unfreeze
MAX_REASON_CHARS = 2000
#: order statistics drawn at most on the sixpack's probability plot
MAX_PROBABILITY_POINTS = 2000

_MAIN_PANEL = {"xbar_r": "xbar", "xbar_s": "xbar", "imr": "i"}
_SUBGROUPED = frozenset({"xbar_r", "xbar_s"})

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


# ------------------------------------------------------------------------------------------------
# Characteristic lookup
# ------------------------------------------------------------------------------------------------
def _check_id(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ParameterError(f"The {name!r} parameter must be an integer id. Got {value!r}.")
    return int(value)


def get_characteristic(
    session: Session,
    org_id: int,
    char_id: int,
    *,
    allowed_ids: Collection[int] | None = None,
) -> Characteristic:
    """Characteristic ``char_id`` of organization ``org_id`` (:class:`NotFound` otherwise).

    ``allowed_ids`` (a supplier's shared characteristics) narrows what is visible further.
    """
    cid = _check_id(char_id, "char_id")
    oid = _check_id(org_id, "org_id")
    if allowed_ids is not None and cid not in allowed_ids:
        raise NotFound(f"There is no characteristic {cid} in your organization.")
    char = session.scalar(
        select(Characteristic)
        .where(Characteristic.id == cid, Characteristic.org_id == oid)
        .options(selectinload(Characteristic.product), selectinload(Characteristic.step))
    )
    if char is None:
        raise NotFound(f"There is no characteristic {cid} in your organization.")
    return char


def _char_info(c: Characteristic) -> dict[str, Any]:
    return {
        "id": c.id,
        "code": c.code,
        "name": c.name,
        "step": None if c.step is None else c.step.code,
        "step_name": None if c.step is None else c.step.name,
        "product": None if c.product is None else c.product.code,
        "product_name": None if c.product is None else c.product.name,
        "unit": c.unit,
        "lsl": c.lsl,
        "usl": c.usl,
        "target": c.target,
        "subgroup_size": c.subgroup_size,
        "key": c.key,
        "chart": c.chart,
        "rules": c.rules,
    }


def _active_limits(session: Session, char_id: int) -> ControlLimits | None:
    return session.scalar(
        select(ControlLimits).where(
            ControlLimits.characteristic_id == char_id, ControlLimits.active.is_(True)
        )
    )


# ------------------------------------------------------------------------------------------------
# Series → the arguments of the chart functions
# ------------------------------------------------------------------------------------------------
def _utc(value: datetime | None, name: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise ParameterError(f"The {name!r} parameter must be a datetime. Got {value!r}.")
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+08:00 is in year 0 in UTC
        raise ParameterError(
            f"The {name!r} parameter is out of range: {value.isoformat()} has no UTC time "
            "between the years 1 and 9999."
        ) from None


def _iso(ts: npt.NDArray[np.datetime64]) -> list[str]:
    out: list[str] = np.datetime_as_string(ts, unit="us", timezone="UTC").tolist()
    return out


def _iso1(ts: np.datetime64) -> str:
    return str(np.datetime_as_string(ts, unit="us", timezone="UTC"))


@dataclass(slots=True)
class _Data:
    """The values of a characteristic arranged for one chart, and each point's time."""

    values: FloatArray
    ts: npt.NDArray[np.datetime64]
    subgroups: int | IntArray | None  # the ``subgroups`` argument (None: individual values)
    grouping: str  # "labels", "size" or "individual"
    size: int | None  # the subgroup size when fixed
    point_first: IntArray  # index into ``ts`` of each point's first and last value
    point_last: IntArray
    notes: list[str] = field(default_factory=list)
    point_labels: IntArray | None = None  # the stored subgroup of each point (labels only)


def _group_ids(labels: IntArray) -> tuple[IntArray, int]:
    """0-based subgroup of each value, subgroups in order of first appearance (as
    :func:`zhuoyue.stats._input.make_groups` orders labelled subgroups)."""
    n = labels.size
    starts = np.flatnonzero(np.concatenate(([True], labels[1:] != labels[:-1])))
    if np.unique(labels[starts]).size == starts.size:  # each label one run: no sort of values
        gid = np.zeros(n, dtype=np.int64)
        gid[starts[1:]] = 1
        return np.cumsum(gid), int(starts.size)
    _, first_idx, inverse = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.empty(first_idx.size, dtype=np.int64)
    rank[np.argsort(first_idx, kind="stable")] = np.arange(first_idx.size, dtype=np.int64)
    return rank[inverse.ravel()], int(first_idx.size)


def _arrange(
    code: str,
    series: bulk.Series,
    *,
    subgroup_size: int,
    individual: bool,
    need_subgroups: bool,
) -> _Data:
    """The values of ``series`` as individual values or subgroups (see the module notes)."""
    x = series.value
    ts = series.ts
    n = int(x.size)
    notes: list[str] = []
    if n == 0:
        raise DataError(
            f"The characteristic {code} has no measurements in the selected time range.",
            code="no_data",
        )
    labelled = series.subgroup != bulk.NO_SUBGROUP
    if individual:
        idx = np.arange(n, dtype=np.int64)
        return _Data(x, ts, None, "individual", 1, idx, idx, notes)
    n_labelled = int(labelled.sum())
    if 0 < n_labelled < n:
        raise DataError(
            f"{n - n_labelled} of {n} measurements of {code} have no subgroup and "
            f"{n_labelled} have one; give every value a subgroup or none.",
            code="missing_subgroup",
        )
    if n_labelled == n:
        labels = series.subgroup
        gid, k = _group_ids(labels)
        counts = np.bincount(gid, minlength=k)
        single = counts == 1
        if single.any():
            keep = ~single[gid]
            notes.append(
                f"{int(single.sum())} subgroup(s) of one value left out (a range needs at least "
                "2 values)"
            )
            x, ts, labels = x[keep], ts[keep], labels[keep]
            if x.size == 0:
                raise DataError(
                    f"Every subgroup of {code} in the selected range has one value; chart it "
                    "with chart='imr'.",
                    code="subgroup_too_small",
                )
            gid, k = _group_ids(labels)
            counts = np.bincount(gid, minlength=k)
        order = np.argsort(gid, kind="stable")
        ends = np.cumsum(counts)
        point_last = order[ends - 1].astype(np.int64)
        point_first = order[ends - counts].astype(np.int64)
        starts = np.flatnonzero(np.concatenate(([True], labels[1:] != labels[:-1])))
        contiguous = starts.size == k
        point_labels = labels[point_first]
        if contiguous and bool(np.all(counts == counts[0])):
            # the same subgroups as the labels, by the fixed-size fast path
            size_ = int(counts[0])
            return _Data(
                x, ts, size_, "labels", size_, point_first, point_last, notes, point_labels
            )
        return _Data(x, ts, labels, "labels", None, point_first, point_last, notes, point_labels)
    size = int(subgroup_size)
    if size < 2:
        if need_subgroups:
            raise DataError(
                f"The characteristic {code} has individual values (subgroup_size 1, no "
                "subgroup labels); an Xbar chart needs subgroups of at least 2 values. Use "
                "chart='imr', or set the subgroup size.",
                code="no_subgroups",
            )
        idx = np.arange(n, dtype=np.int64)
        return _Data(x, ts, None, "individual", 1, idx, idx, notes)
    if n % size == 1:
        notes.append(
            f"the last value does not complete a subgroup of {size} and is left out (a range "
            "needs at least 2 values)"
        )
        x, ts = x[:-1], ts[:-1]
        n -= 1
        if n == 0:
            raise DataError(
                f"The characteristic {code} has one measurement in the selected range; an Xbar "
                "chart needs subgroups of at least 2 values.",
                code="subgroup_too_small",
            )
    k = -(-n // size)
    point_first = np.arange(k, dtype=np.int64) * size
    point_last = np.minimum(point_first + size, n) - 1
    return _Data(x, ts, size, "size", size, point_first, point_last, notes)


def _default_chart(char: Characteristic, series: bulk.Series) -> str:
    labelled = bool(series.subgroup.size) and bool(np.all(series.subgroup != bulk.NO_SUBGROUP))
    return "xbar_r" if char.subgroup_size >= 2 or labelled else "imr"


def _choose_chart(
    char: Characteristic, series: bulk.Series, chart: str | None, notes: list[str]
) -> str:
    if chart is not None:
        name = str(chart).lower()
        if name not in CHART_TYPES:
            raise ParameterError(
                f"The 'chart' parameter must be one of {', '.join(CHART_TYPES)} (control charts "
                f"of measurements). Got {chart!r}."
            )
        return name
    if char.chart:
        name = char.chart.lower()
        if name in CHART_TYPES:
            return name
        default = _default_chart(char, series)
        notes.append(
            f"the characteristic's chart setting {char.chart!r} is not a chart of measurements; "
            f"{default} is shown"
        )
        return default
    return _default_chart(char, series)


# ------------------------------------------------------------------------------------------------
# The chart
# ------------------------------------------------------------------------------------------------
@dataclass(slots=True)
class _ChartRun:
    result: ChartResult
    data: _Data
    chart: str
    frozen: ControlLimits | None
    notes: list[str]


def _run_chart(
    data: _Data,
    chart: str,
    *,
    rules: str,
    center: float | None = None,
    sigma: float | None = None,
    iterate: bool = False,
) -> ChartResult:
    kwargs: dict[str, Any] = {"rules": rules}
    if center is not None:
        kwargs["center"] = center
    if sigma is not None:
        kwargs["sigma"] = sigma
    if chart == "imr":
        return stats.imr(data.values, iterate=iterate, **kwargs)
    func = stats.xbar_r if chart == "xbar_r" else stats.xbar_s
    return func(data.values, data.subgroups, iterate=iterate, **kwargs)


def _frozen_numbers(row: ControlLimits) -> tuple[float, float]:
    center = row.limits.get("center") if isinstance(row.limits, Mapping) else None
    if center is None or row.sigma is None:
        raise DataError(
            f"The frozen control limits {row.id} hold no center or sigma; freeze the limits again.",
            code="bad_frozen_limits",
        )
    return float(center), float(row.sigma)


def _compute_chart(
    session: Session,
    char: Characteristic,
    series: bulk.Series,
    *,
    chart: str | None,
    rules: str | None,
    phase: str,
    iterate: bool = False,
    active: ControlLimits | None = None,
    active_known: bool = False,
) -> _ChartRun:
    if phase not in PHASES:
        raise ParameterError(f"The 'phase' parameter must be one of {list(PHASES)}. Got {phase!r}.")
    notes: list[str] = []
    frozen = active if active_known else _active_limits(session, char.id)
    name = _choose_chart(char, series, chart, notes)
    use: ControlLimits | None = None
    if phase == "II":
        if frozen is None:
            raise DataError(
                f"The characteristic {char.code} has no active frozen control limits; freeze "
                "them first (phase I), or chart with phase='I'.",
                code="no_frozen_limits",
            )
        if chart is None:
            name = frozen.chart
        elif frozen.chart != name:
            raise ParameterError(
                f"The frozen limits of {char.code} are for a {frozen.chart} chart, not {name}. "
                f"Chart it as {frozen.chart}, or freeze limits for {name}."
            )
        use = frozen
    elif phase == "auto" and frozen is not None:
        if frozen.chart == name:
            use = frozen
        else:
            notes.append(
                f"the active frozen limits are for a {frozen.chart} chart; the {name} limits are "
                "computed from the data"
            )
    data = _arrange(
        char.code,
        series,
        subgroup_size=char.subgroup_size,
        individual=name == "imr",
        need_subgroups=name in _SUBGROUPED,
    )
    ruleset = rules if rules is not None else (char.rules or "gb4091")
    if use is not None:
        center, sigma = _frozen_numbers(use)
        result = _run_chart(data, name, rules=ruleset, center=center, sigma=sigma)
    else:
        result = _run_chart(data, name, rules=ruleset, iterate=iterate)
    return _ChartRun(result, data, name, use, notes + data.notes)


def _user_names(session: Session, ids: Sequence[int | None]) -> dict[int, dict[str, Any]]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    rows = session.execute(
        select(UserAccount.id, UserAccount.username, UserAccount.display_name).where(
            UserAccount.id.in_(wanted)
        )
    ).all()
    return {int(i): {"id": int(i), "username": u, "display_name": d} for i, u, d in rows}


def _dt(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _limits_dict(row: ControlLimits, users: Mapping[int, Mapping[str, Any]]) -> dict[str, Any]:
    lim = dict(row.limits) if isinstance(row.limits, Mapping) else {}
    return {
        "id": row.id,
        "characteristic_id": row.characteristic_id,
        "chart": row.chart,
        "center": lim.get("center"),
        "sigma": row.sigma,
        "sigma_method": lim.get("sigma_method"),
        "subgroup_size": lim.get("subgroup_size"),
        "n_subgroups": row.n_subgroups,
        "n_values": lim.get("n_values"),
        "data_start": lim.get("start"),
        "data_end": lim.get("end"),
        "rules": lim.get("rules"),
        "panels": lim.get("panels", {}),
        "frozen_at": _dt(row.frozen_at),
        "frozen_by": users.get(row.frozen_by) if row.frozen_by is not None else None,
        "reason": row.reason,
        "active": row.active,
        "superseded_at": _dt(row.superseded_at),
    }


def _conventions(run: _ChartRun, start: datetime | None, end: datetime | None) -> dict[str, str]:
    d = run.data
    res = run.result
    if d.grouping == "labels":
        grouping = (
            "subgroups from the subgroup column, in order of first appearance; each point's "
            "time is its last value's"
        )
    elif d.grouping == "size":
        grouping = (
            f"consecutive values in subgroups of {d.size} (the characteristic's subgroup_size); "
            "each point's time is its last value's"
        )
    else:
        grouping = "individual values in time order; moving ranges of 2 consecutive values"
    if run.frozen is not None:
        limits = (
            "phase II: every point is monitored against the frozen centre and sigma "
            f"(frozen limits {run.frozen.id})"
        )
    else:
        limits = (
            f"phase I: centre and sigma estimated from the {int(res.phase1.sum())} points in "
            f"range (sigma {res.sigma_method})"
        )
    window = f"{_dt(start) or 'the first value'} <= ts < {_dt(end) or 'after the last value'}"
    return {
        "time": "ts in UTC (ISO 8601); values ordered by ts, then by arrival (seq)",
        "range": window,
        "subgroups": grouping,
        "limits": limits,
        "sigma_method": res.sigma_method,
        "constants": f"{res.constants} d2/d3/c4",
        "rules": RULE_SET_TITLES.get(res.rules.name, res.rules.name),
    }


def characteristic_chart(
    session: Session,
    org_id: int,
    char_id: int,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    chart: str | None = None,
    rules: str | None = None,
    phase: str = "auto",
    allowed_ids: Collection[int] | None = None,
) -> dict[str, Any]:
    """The control chart of a characteristic's measurements with ``start <= ts < end``.

    Returns :meth:`ChartResult.to_dict` (the JSON of ``zhuoyue spc --json``) plus
    ``characteristic``, ``limits_source`` (``"frozen"`` / ``"computed"``), ``frozen_limits``
    (the active row used, with who froze it, when and why, else ``None``), ``points`` (``ts``:
    the time of each point's last value, ``ts_first``, ``subgroup``: the stored subgroup number
    of each point, ``None`` without labels), ``data`` (values, range) and
    ``conventions``; the notes of this view are appended to ``warnings``.
    """
    char = get_characteristic(session, org_id, char_id, allowed_ids=allowed_ids)
    lo, hi = _utc(start, "start"), _utc(end, "end")
    series = bulk.read_series(session.connection(), char.id, lo, hi)
    run = _compute_chart(session, char, series, chart=chart, rules=rules, phase=phase)
    res = run.result
    out = res.to_dict()
    out["warnings"] = [*out["warnings"], *run.notes]
    frozen = None
    if run.frozen is not None:
        frozen = _limits_dict(run.frozen, _user_names(session, [run.frozen.frozen_by]))
    d = run.data
    out["characteristic"] = _char_info(char)
    out["limits_source"] = "frozen" if run.frozen is not None else "computed"
    out["frozen_limits"] = frozen
    out["points"] = {
        "ts": _iso(d.ts[d.point_last]),
        "ts_first": _iso(d.ts[d.point_first]),
        "subgroup": None if d.point_labels is None else jsonable(d.point_labels),
    }
    out["data"] = {
        "n_values": int(d.values.size),
        "first_ts": _iso1(d.ts[0]),
        "last_ts": _iso1(d.ts[-1]),
        "start": _dt(lo),
        "end": _dt(hi),
    }
    out["conventions"] = _conventions(run, lo, hi)
    return out


# ------------------------------------------------------------------------------------------------
# Capability
# ------------------------------------------------------------------------------------------------
def _capability_data(char: Characteristic, series: bulk.Series) -> _Data:
    """Subgroups when the data have them (labels, or ``subgroup_size >= 2``), else individuals."""
    labelled = series.subgroup != bulk.NO_SUBGROUP
    grouped = char.subgroup_size >= 2 or bool(labelled.any())
    return _arrange(
        char.code,
        series,
        subgroup_size=char.subgroup_size,
        individual=not grouped,
        need_subgroups=False,
    )


def _capability(
    char: Characteristic, data: _Data, *, normality: bool = True, stability: bool = True
) -> CapabilityResult:
    return stats.capability(
        data.values,
        data.subgroups,
        char.lsl,
        char.usl,
        char.target,
        normality=normality,
        stability=stability,
    )


def characteristic_capability(
    session: Session,
    org_id: int,
    char_id: int,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    allowed_ids: Collection[int] | None = None,
) -> dict[str, Any]:
    """Process capability of a characteristic's measurements with ``start <= ts < end``.

    :meth:`CapabilityResult.to_dict` (the JSON of ``zhuoyue capability --json``) plus
    ``characteristic``, ``data`` and ``conventions``. Needs ``lsl`` or ``usl``.
    """
    return _capability_view(session, org_id, char_id, start, end, allowed_ids)[0]


def characteristic_sixpack(
    session: Session,
    org_id: int,
    char_id: int,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    last: int = 25,
    allowed_ids: Collection[int] | None = None,
) -> dict[str, Any]:
    """:func:`characteristic_capability` of the same data plus its sixpack plots.

    ``sixpack``: ``last`` (``{kind, labels, values}``: the last ``last`` subgroups or
    observations), ``histogram`` (``edges``, ``counts``, ``lsl``, ``usl``, ``target``, ``grid``,
    ``density_within``, ``density_overall``, ``scale``), ``probability_plot`` (``values``,
    ``quantiles``, ``percent``, ``line``, ``normality``; at most
    :data:`MAX_PROBABILITY_POINTS` order statistics) and ``capability_plot`` (``within``,
    ``overall``, ``specs``, ``target``) — JSON types, NaN as ``None``.
    """
    if isinstance(last, bool) or not isinstance(last, int) or last < 1:
        raise ParameterError(f"The 'last' parameter must be an integer >= 1. Got {last!r}.")
    out, res = _capability_view(session, org_id, char_id, start, end, allowed_ids)
    six = res.sixpack(last=last, max_points=MAX_PROBABILITY_POINTS)
    six["probability_plot"]["normality"] = out["normality"]
    out["sixpack"] = {
        key: jsonable(six[key])
        for key in ("last", "histogram", "probability_plot", "capability_plot")
    }
    return out


def _capability_view(
    session: Session,
    org_id: int,
    char_id: int,
    start: datetime | None,
    end: datetime | None,
    allowed_ids: Collection[int] | None,
) -> tuple[dict[str, Any], CapabilityResult]:
    char = get_characteristic(session, org_id, char_id, allowed_ids=allowed_ids)
    if char.lsl is None and char.usl is None:
        raise DataError(
            f"The characteristic {char.code} has no specification limit (lsl / usl); set them "
            "in its master data to compute its capability.",
            code="no_spec",
        )
    lo, hi = _utc(start, "start"), _utc(end, "end")
    series = bulk.read_series(session.connection(), char.id, lo, hi)
    data = _capability_data(char, series)
    res = _capability(char, data)
    out = res.to_dict()
    out["warnings"] = [*out["warnings"], *data.notes]
    out["characteristic"] = _char_info(char)
    out["data"] = {
        "n_values": int(data.values.size),
        "first_ts": _iso1(data.ts[0]),
        "last_ts": _iso1(data.ts[-1]),
        "start": _dt(lo),
        "end": _dt(hi),
    }
    if data.grouping == "individual":
        sg = "individual values: σ within from moving ranges (MR̄/d2)"
    elif data.grouping == "labels":
        sg = "subgroups from the subgroup column: σ within pooled (pooled SD / c4)"
    else:
        sg = f"consecutive values in subgroups of {data.size}: σ within pooled (pooled SD / c4)"
    out["conventions"] = {
        "time": "ts in UTC (ISO 8601); values ordered by ts, then by arrival (seq)",
        "subgroups": sg,
        "sigma_overall": "sample standard deviation of all values",
        "normal": "indices of a normal process; Anderson–Darling test in 'normality'",
        "stability": "the same data charted with the 8 tests of GB/T 4091 ('in_control')",
    }
    return out, res


# ------------------------------------------------------------------------------------------------
# Frozen control limits
# ------------------------------------------------------------------------------------------------
def _reason(reason: Any) -> str:
    text = reason.strip() if isinstance(reason, str) else ""
    if not text:
        raise ParameterError(
            "A reason is required (why the limits change, e.g. 'process capability study after "
            "the spindle overhaul, 125 subgroups in control')."
        )
    if len(text) > MAX_REASON_CHARS:
        raise ParameterError(
            f"The reason may have at most {MAX_REASON_CHARS} characters; it has {len(text)}."
        )
    return text


def _scalar(x: Any) -> float | None:
    if x is None or isinstance(x, np.ndarray):
        return None
    f = float(x)
    return f if np.isfinite(f) else None


def freeze_limits(
    session: Session,
    org_id: int,
    char_id: int,
    *,
    user_id: int | None,
    reason: str,
    start: datetime | None = None,
    end: datetime | None = None,
    chart: str | None = None,
    iterate: bool = False,
    allowed_ids: Collection[int] | None = None,
) -> dict[str, Any]:
    """Freeze phase I limits of the data with ``start <= ts < end`` as the active limits.

    The previous active limits are kept as history (``active=False``, ``superseded_at``).
    ``iterate=True`` leaves out phase I points beyond the limits until none is (reported in
    ``excluded``). Audited (``freeze_limits``). Returns the new limits as :func:`limits_history`
    rows, plus ``in_control``, ``excluded`` and ``warnings`` of the phase I chart.
    """
    text = _reason(reason)
    char = get_characteristic(session, org_id, char_id, allowed_ids=allowed_ids)
    lo, hi = _utc(start, "start"), _utc(end, "end")
    series = bulk.read_series(session.connection(), char.id, lo, hi)
    run = _compute_chart(session, char, series, chart=chart, rules=None, phase="I", iterate=iterate)
    res = run.result
    d = run.data
    panels = {
        name: {"center": _scalar(p.center), "lcl": _scalar(p.lcl), "ucl": _scalar(p.ucl)}
        for name, p in res.panels.items()
    }
    limits = {
        "center": float(res.center),
        "sigma": float(res.sigma),
        "sigma_method": res.sigma_method,
        "subgroup_size": d.size,
        "n_values": int(d.values.size),
        "start": _dt(lo) or _iso1(d.ts[0]),
        "end": _dt(hi) or _iso1(d.ts[-1]),
        "rules": res.rules.name,
        "panels": panels,
    }
    now = utcnow()
    previous = _active_limits(session, char.id)
    before: dict[str, Any] | None = None
    if previous is not None:
        before = {
            "id": previous.id,
            "chart": previous.chart,
            "center": previous.limits.get("center"),
            "sigma": previous.sigma,
            "reason": previous.reason,
        }
        previous.active = False
        previous.superseded_at = now
        session.flush()  # the partial unique index allows one active row per characteristic
    row = ControlLimits(
        characteristic_id=char.id,
        chart=run.chart,
        limits=limits,
        sigma=float(res.sigma),
        n_subgroups=int(res.phase1.sum()),
        frozen_at=now,
        frozen_by=user_id,
        reason=text,
        active=True,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        None,
        "freeze_limits",
        "control_limits",
        row.id,
        before,
        {
            "id": row.id,
            "characteristic_id": char.id,
            "characteristic": char.code,
            "chart": row.chart,
            "center": limits["center"],
            "sigma": row.sigma,
            "n_subgroups": row.n_subgroups,
            "start": limits["start"],
            "end": limits["end"],
            "reason": text,
        },
        org_id=char.org_id,
        user_id=user_id,
    )
    out = _limits_dict(row, _user_names(session, [user_id]))
    out["in_control"] = res.in_control
    out["excluded"] = list(res.excluded)
    out["warnings"] = [*res.warnings, *run.notes]
    if not res.in_control:
        out["warnings"].append(
            "tests fire in the phase I data: limits frozen from a process that is not in "
            "control will not detect the same special causes later"
        )
    return out


def unfreeze_limits(
    session: Session,
    org_id: int,
    char_id: int,
    *,
    user_id: int | None,
    reason: str,
    allowed_ids: Collection[int] | None = None,
) -> dict[str, Any]:
    """Deactivate the active frozen limits (charts return to phase I); audited with the reason.

    Raises :class:`~zhuoyue.services.accounts.Conflict` (``no_frozen_limits``) when there are
    none.
    """
    text = _reason(reason)
    char = get_characteristic(session, org_id, char_id, allowed_ids=allowed_ids)
    row = _active_limits(session, char.id)
    if row is None:
        raise Conflict(
            f"The characteristic {char.code} has no active frozen control limits.",
            code="no_frozen_limits",
        )
    row.active = False
    row.superseded_at = utcnow()
    session.flush()
    audit.record(
        session,
        None,
        "unfreeze_limits",
        "control_limits",
        row.id,
        {"id": row.id, "active": True},
        {"id": row.id, "active": False, "characteristic": char.code, "reason": text},
        org_id=char.org_id,
        user_id=user_id,
    )
    out = _limits_dict(row, _user_names(session, [row.frozen_by, user_id]))
    out["ended"] = {
        "action": "unfreeze_limits",
        "at": _dt(row.superseded_at),
        "by": _user_names(session, [user_id]).get(user_id) if user_id is not None else None,
        "reason": text,
    }
    return out


def limits_history(
    session: Session,
    org_id: int,
    char_id: int,
    *,
    allowed_ids: Collection[int] | None = None,
) -> list[dict[str, Any]]:
    """Every frozen limits row of a characteristic, newest first, with who froze it and why;
    ``ended`` says who unfroze a row and why (``None`` while active or when superseded by a new
    freeze)."""
    char = get_characteristic(session, org_id, char_id, allowed_ids=allowed_ids)
    rows = list(
        session.scalars(
            select(ControlLimits)
            .where(ControlLimits.characteristic_id == char.id)
            .order_by(ControlLimits.frozen_at.desc(), ControlLimits.id.desc())
        )
    )
    ended: dict[str, AuditLog] = {}
    if rows:
        for entry in session.scalars(
            select(AuditLog)
            .where(
                AuditLog.org_id == char.org_id,
                AuditLog.action == "unfreeze_limits",
                AuditLog.entity == "control_limits",
                AuditLog.entity_id.in_([str(r.id) for r in rows]),
            )
            .order_by(AuditLog.id)
        ):
            if entry.entity_id is not None:
                ended[entry.entity_id] = entry
    users = _user_names(session, [r.frozen_by for r in rows] + [e.user_id for e in ended.values()])
    out = []
    for r in rows:
        item = _limits_dict(r, users)
        e = ended.get(str(r.id))
        item["ended"] = (
            None
            if e is None
            else {
                "action": e.action,
                "at": _dt(e.at),
                "by": users.get(e.user_id) if e.user_id is not None else None,
                "reason": (e.after or {}).get("reason"),
            }
        )
        out.append(item)
    return out


# ------------------------------------------------------------------------------------------------
# Overview
# ------------------------------------------------------------------------------------------------
def _last_violation(run: _ChartRun, recent: int) -> tuple[bool, int, dict[str, Any] | None]:
    """(in control over the last ``recent`` points, points signalling among them, the last
    signal: point, ts, tests, panels)."""
    res = run.result
    k = res.n_points
    idx_parts = [p.violations.index for p in res.panels.values() if len(p.violations)]
    if not idx_parts:
        return True, 0, None
    idx = np.concatenate(idx_parts)
    rule = np.concatenate([p.violations.rule for p in res.panels.values() if len(p.violations)])
    cut = max(k - recent, 0)
    recent_points = int(np.unique(idx[idx >= cut]).size)
    last = int(idx.max())
    at = idx == last
    panels = [name for name, p in res.panels.items() if bool(np.any(p.violations.index == last))]
    tests = sorted({int(t) for t in rule[at].tolist()})
    d = run.data
    return (
        recent_points == 0,
        recent_points,
        {
            "point": last,
            "ts": _iso1(d.ts[d.point_last[last]]),
            "tests": tests,
            "panels": panels,
            "descriptions": {
                lang: [f"{t}: {res.rules.describe(t, lang)}" for t in tests]
                for lang in ("zh", "en")
            },
        },
    )


def characteristics_overview(
    session: Session,
    org_id: int,
    *,
    step: str | None = None,
    product: str | None = None,
    key_only: bool = False,
    allowed_ids: Collection[int] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    recent: int = RECENT_POINTS,
) -> list[dict[str, Any]]:
    """One row per characteristic (by step sequence, then code): its data, Cpk, Ppk and state.

    ``in_control`` is true when no test fires on the last ``recent`` points of its chart
    (frozen limits when active, else the data's own); ``last_violation`` is the latest point
    that fires a test (``ts``, ``tests``, ``panels``, and ``descriptions``: the tests in words,
    ``{"zh": [...], "en": [...]}``). Characteristics without data have
    ``n = 0`` and ``None`` values; a chart or capability that cannot be computed leaves its
    fields ``None`` and says why in ``error``. Filters: ``step`` / ``product`` codes, key
    characteristics only, ``allowed_ids`` (a supplier's shares).
    """
    oid = _check_id(org_id, "org_id")
    if isinstance(recent, bool) or not isinstance(recent, int) or recent < 1:
        raise ParameterError(f"The 'recent' parameter must be an integer >= 1. Got {recent!r}.")
    lo, hi = _utc(start, "start"), _utc(end, "end")
    stmt = (
        select(Characteristic)
        .outerjoin(ProcessStep, Characteristic.step_id == ProcessStep.id)
        .where(Characteristic.org_id == oid)
        .options(selectinload(Characteristic.product), selectinload(Characteristic.step))
        .order_by(ProcessStep.sequence, Characteristic.code)
    )
    if step is not None:
        stmt = stmt.where(ProcessStep.code == step)
    if product is not None:
        stmt = stmt.where(
            Characteristic.product_id.in_(
                select(Product.id).where(Product.org_id == oid, Product.code == product)
            )
        )
    if key_only:
        stmt = stmt.where(Characteristic.key.is_(True))
    if allowed_ids is not None:
        stmt = stmt.where(Characteristic.id.in_([int(i) for i in allowed_ids]))
    chars = list(session.scalars(stmt))
    active = {
        row.characteristic_id: row
        for row in session.scalars(
            select(ControlLimits).where(
                ControlLimits.characteristic_id.in_([c.id for c in chars]),
                ControlLimits.active.is_(True),
            )
        )
    }
    conn = session.connection()
    rows: list[dict[str, Any]] = []
    for c in chars:
        series = bulk.read_series(conn, c.id, lo, hi)
        n = int(series.value.size)
        row: dict[str, Any] = {
            "id": c.id,
            "code": c.code,
            "name": c.name,
            "step": None if c.step is None else c.step.code,
            "step_name": None if c.step is None else c.step.name,
            "product": None if c.product is None else c.product.code,
            "key": c.key,
            "unit": c.unit,
            "lsl": c.lsl,
            "usl": c.usl,
            "n": n,
            "first_ts": _iso1(series.ts[0]) if n else None,
            "last_ts": _iso1(series.ts[-1]) if n else None,
            "chart": None,
            "n_points": 0,
            "mean": None,
            "cpk": None,
            "ppk": None,
            "in_control": None,
            "recent_points_signalling": None,
            "last_violation": None,
            "limits_source": "frozen" if c.id in active else "computed",
            "error": None,
        }
        rows.append(row)
        if n == 0:
            continue
        errors: list[str] = []
        chart_data: _Data | None = None
        try:
            run = _compute_chart(
                session,
                c,
                series,
                chart=None,
                rules=None,
                phase="auto",
                active=active.get(c.id),
                active_known=True,
            )
        except (DataError, ParameterError) as exc:
            errors.append(f"chart: {exc}")
        else:
            chart_data = run.data
            ok, signalling, last = _last_violation(run, recent)
            row.update(
                chart=run.chart,
                n_points=run.result.n_points,
                in_control=ok,
                recent_points_signalling=signalling,
                last_violation=last,
                limits_source="frozen" if run.frozen is not None else "computed",
            )
        if c.lsl is not None or c.usl is not None:
            grouped = c.subgroup_size >= 2 or bool(np.any(series.subgroup != bulk.NO_SUBGROUP))
            try:
                if chart_data is not None and (chart_data.grouping != "individual") == grouped:
                    data = chart_data  # the chart's subgroups are the capability's
                else:
                    data = _capability_data(c, series)
                cap = _capability(c, data, normality=False, stability=False)
            except (DataError, ParameterError) as exc:
                errors.append(f"capability: {exc}")
            else:
                row.update(mean=cap.mean, cpk=cap.cpk, ppk=cap.ppk)
        if errors:
            row["error"] = "; ".join(errors)
    return rows
