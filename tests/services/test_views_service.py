"""Control chart, capability, frozen limits and overview of stored characteristics.

The independent path: the demo factory's generated tables (never the database) charted by
:mod:`zhuoyue.stats` directly; the services must give the same numbers from the database.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl
import pytest
from services_helpers import Demo
from sqlalchemy import select
from sqlalchemy.orm import Session

from zhuoyue import stats
from zhuoyue.errors import DataError, ParameterError
from zhuoyue.services import views
from zhuoyue.services.accounts import Conflict, NotFound
from zhuoyue.services.assessment import compute_metrics
from zhuoyue.stats.results import ChartResult
from zhuoyue.store.models import AuditLog, Characteristic, ControlLimits

# the chart and capability results are computed by the same functions on the same float64
# values: anything beyond rounding of a different summation order would be a bug
RTOL = 1e-12
UTC = dt.UTC


def _same_chart(view: dict[str, Any], ref: ChartResult) -> None:
    want = ref.to_dict()
    assert view["chart"] == want["chart"]
    assert view["n_points"] == want["n_points"]
    assert view["sigma_method"] == want["sigma_method"]
    np.testing.assert_allclose(view["center"], want["center"], rtol=RTOL)
    np.testing.assert_allclose(view["sigma"], want["sigma"], rtol=RTOL)
    assert view["panels"].keys() == want["panels"].keys()
    for name, panel in want["panels"].items():
        got = view["panels"][name]
        for key in ("statistic", "center", "lcl", "ucl"):
            a = np.array(got[key], dtype=float)
            b = np.array(panel[key], dtype=float)
            np.testing.assert_allclose(a, b, rtol=RTOL, equal_nan=True, err_msg=f"{name}.{key}")
        assert got["violations"] == panel["violations"], name


def _labels(m: pl.DataFrame) -> np.ndarray:
    return m["subgroup"].to_numpy()


# ------------------------------------------------------------------------------------ charts
@pytest.mark.parametrize(
    ("code", "chart"),
    [("C40-01", "xbar_r"), ("C30-01", "xbar_r"), ("C10-02", "imr"), ("C50-02", "imr")],
)
def test_chart_equals_stats_on_the_generated_tables(
    demo: Demo, session: Session, code: str, chart: str
) -> None:
    m = demo.measurements("a", code)
    x = m["value"].to_numpy()
    if chart == "xbar_r":
        ref = stats.xbar_r(x, _labels(m))
    else:
        ref = stats.imr(x)
    view = views.characteristic_chart(session, demo.org("a"), demo.chars["a"][code])
    _same_chart(view, ref)
    assert view["limits_source"] == "computed" and view["frozen_limits"] is None
    assert view["characteristic"]["code"] == code
    assert view["data"]["n_values"] == m.height
    assert len(view["points"]["ts"]) == ref.n_points
    # each point's time is the time of its last value
    last = m.group_by("subgroup", maintain_order=True).agg(pl.col("ts").max())["ts"]
    if chart == "imr":
        last = m["ts"]
    want = [t.strftime("%Y-%m-%dT%H:%M:%S.%fZ") for t in last.to_list()]
    assert view["points"]["ts"] == want
    if chart == "xbar_r":  # the demo numbers its subgroups 1, 2, ...
        assert view["points"]["subgroup"] == [
            int(v) for v in m["subgroup"].unique(maintain_order=True)
        ]
    else:
        assert view["points"]["subgroup"] is None
    assert {"time", "subgroups", "limits", "rules"} <= view["conventions"].keys()
    json.dumps(view, allow_nan=False)


def test_chart_of_a_time_range(demo: Demo, session: Session) -> None:
    code = "C20-01"
    lo, hi = dt.datetime(2024, 3, 1), dt.datetime(2024, 7, 1)
    m = demo.measurements("a", code).filter((pl.col("ts") >= lo) & (pl.col("ts") < hi))
    ref = stats.xbar_s(m["value"].to_numpy(), _labels(m), rules="we")
    view = views.characteristic_chart(
        session,
        demo.org("a"),
        demo.chars["a"][code],
        start=lo.replace(tzinfo=UTC),
        end=hi,  # naive is UTC
        chart="xbar_s",
        rules="we",
    )
    _same_chart(view, ref)
    assert view["rules"]["set"] == "we"
    assert view["data"]["first_ts"] >= "2024-03-01" and view["data"]["last_ts"] < "2024-07-01"


def test_chart_parameters_and_data_errors(demo: Demo, session: Session) -> None:
    org, cid = demo.org("a"), demo.chars["a"]["C40-01"]
    with pytest.raises(ParameterError, match="chart"):
        views.characteristic_chart(session, org, cid, chart="p")
    with pytest.raises(ParameterError, match="phase"):
        views.characteristic_chart(session, org, cid, phase="III")
    with pytest.raises(DataError, match="no measurements") as err:
        views.characteristic_chart(session, org, cid, start=dt.datetime(2031, 1, 1))
    assert err.value.code == "no_data"
    with pytest.raises(DataError, match="frozen") as err:
        views.characteristic_chart(session, org, cid, phase="II")
    assert err.value.code == "no_frozen_limits"
    individual = demo.chars["a"]["C10-02"]
    with pytest.raises(DataError, match="imr") as err:
        views.characteristic_chart(session, org, individual, chart="xbar_r")
    assert err.value.code == "no_subgroups"


# ------------------------------------------------------------------------------ capability
@pytest.mark.parametrize("code", ["C40-01", "C10-02", "C80-04"])
def test_capability_equals_stats(demo: Demo, session: Session, code: str) -> None:
    m = demo.measurements("a", code)
    spec: dict[str, Any] = demo.characteristic("a", code)
    subgroups = _labels(m) if spec["subgroup_size"] > 1 else None
    ref = stats.capability(
        m["value"].to_numpy(), subgroups, spec["lsl"], spec["usl"], spec["target"]
    ).to_dict()
    got = views.characteristic_capability(session, demo.org("a"), demo.chars["a"][code])
    for key in ("cp", "cpk", "pp", "ppk", "cpm", "mean", "sigma_within", "sigma_overall"):
        if ref[key] is None:
            assert got[key] is None, key
        else:
            np.testing.assert_allclose(got[key], ref[key], rtol=RTOL, err_msg=key)
    for key in ("n", "n_subgroups", "subgroup_size", "lsl", "usl", "target", "in_control"):
        assert got[key] == ref[key], key
    assert got["characteristic"]["code"] == code
    json.dumps(got, allow_nan=False)


def test_capability_of_the_binding_characteristic_is_the_assessment_cpk(
    demo: Demo, session: Session
) -> None:
    bundle = compute_metrics(demo.plants["a"].tables, year=2024)
    cpk = bundle.metrics["cpk"]
    assert cpk.detail["lowest"] == "C40-01"
    got = views.characteristic_capability(session, demo.org("a"), demo.chars["a"]["C40-01"])
    assert got["cpk"] == pytest.approx(cpk.value, rel=RTOL)


def test_capability_needs_a_specification(demo: Demo, session: Session) -> None:
    org = demo.org("a")
    bare = Characteristic(org_id=org, code="NO-SPEC", subgroup_size=1)
    session.add(bare)
    session.flush()
    with pytest.raises(DataError, match="specification") as err:
        views.characteristic_capability(session, org, bare.id)
    assert err.value.code == "no_spec"


# --------------------------------------------------------------------------- frozen limits
def test_frozen_limits_are_used_in_phase_two(demo: Demo, session: Session) -> None:
    org, code = demo.org("a"), "C40-01"
    cid = demo.chars["a"][code]
    user = demo.users["engineer"]
    q1_end = dt.datetime(2024, 4, 1, tzinfo=UTC)
    frozen = views.freeze_limits(
        session, org, cid, user_id=user, reason="  capability study Q1 2024  ", end=q1_end
    )
    m = demo.measurements("a", code)
    q1 = m.filter(pl.col("ts") < dt.datetime(2024, 4, 1))
    phase1 = stats.xbar_r(q1["value"].to_numpy(), _labels(q1))
    assert frozen["active"] and frozen["chart"] == "xbar_r"
    assert frozen["reason"] == "capability study Q1 2024"
    assert frozen["frozen_by"]["username"] == "engineer"
    assert frozen["center"] == pytest.approx(phase1.center, rel=RTOL)
    assert frozen["sigma"] == pytest.approx(phase1.sigma, rel=RTOL)
    assert frozen["n_subgroups"] == phase1.n_points
    assert frozen["panels"]["xbar"]["ucl"] == pytest.approx(phase1["xbar"].ucl, rel=RTOL)

    view = views.characteristic_chart(session, org, cid)
    assert view["limits_source"] == "frozen"
    assert view["frozen_limits"]["id"] == frozen["id"]
    assert view["frozen_limits"]["reason"] == "capability study Q1 2024"
    assert view["phase1_points"] == 0 and view["sigma_method"] == "given"
    ref = stats.xbar_r(m["value"].to_numpy(), _labels(m), center=phase1.center, sigma=phase1.sigma)
    _same_chart(view, ref)
    # phase I on request: the year's own limits
    own = views.characteristic_chart(session, org, cid, phase="I")
    assert own["limits_source"] == "computed"
    _same_chart(own, stats.xbar_r(m["value"].to_numpy(), _labels(m)))
    # a chart of another type does not use them
    other = views.characteristic_chart(session, org, cid, chart="xbar_s")
    assert other["limits_source"] == "computed"
    assert any("frozen" in w for w in other["warnings"])
    with pytest.raises(ParameterError, match="xbar_r"):
        views.characteristic_chart(session, org, cid, chart="xbar_s", phase="II")

    entry = session.scalar(
        select(AuditLog).where(
            AuditLog.action == "freeze_limits", AuditLog.entity_id == str(frozen["id"])
        )
    )
    assert entry is not None
    assert entry.org_id == org and entry.user_id == user and entry.entity == "control_limits"
    assert entry.before is None
    assert entry.after is not None and entry.after["reason"] == "capability study Q1 2024"
    assert entry.after["characteristic"] == code


def test_freezing_again_keeps_the_history(demo: Demo, session: Session) -> None:
    org, cid = demo.org("a"), demo.chars["a"]["C30-01"]
    user = demo.users["demo"]
    first = views.freeze_limits(session, org, cid, user_id=user, reason="before the overhaul",
                                end=dt.datetime(2024, 7, 15))  # fmt: skip
    second = views.freeze_limits(session, org, cid, user_id=user, reason="after the overhaul",
                                 start=dt.datetime(2024, 7, 15))  # fmt: skip
    assert second["center"] > first["center"]  # the hardness moved up after the overhaul
    history = views.limits_history(session, org, cid)
    assert [h["id"] for h in history] == [second["id"], first["id"]]
    assert [h["active"] for h in history] == [True, False]
    assert history[1]["superseded_at"] is not None and history[0]["superseded_at"] is None
    assert history[1]["reason"] == "before the overhaul" and history[1]["ended"] is None
    assert history[0]["data_start"].startswith("2024-07-15")
    active = session.scalars(
        select(ControlLimits).where(
            ControlLimits.characteristic_id == cid, ControlLimits.active.is_(True)
        )
    ).all()
    assert [r.id for r in active] == [second["id"]]
    entry = session.scalar(
        select(AuditLog).where(
            AuditLog.action == "freeze_limits", AuditLog.entity_id == str(second["id"])
        )
    )
    assert entry is not None and entry.before is not None
    assert entry.before["id"] == first["id"]

    ended = views.unfreeze_limits(session, org, cid, user_id=user, reason="new grinding wheel")
    assert ended["active"] is False and ended["ended"]["reason"] == "new grinding wheel"
    history = views.limits_history(session, org, cid)
    assert not any(h["active"] for h in history)
    assert history[0]["ended"]["reason"] == "new grinding wheel"
    assert history[0]["ended"]["by"]["username"] == "demo"
    assert views.characteristic_chart(session, org, cid)["limits_source"] == "computed"
    with pytest.raises(Conflict) as err:
        views.unfreeze_limits(session, org, cid, user_id=user, reason="again")
    assert err.value.code == "no_frozen_limits"


@pytest.mark.parametrize("reason", ["", "   ", None, "x" * (views.MAX_REASON_CHARS + 1)])
def test_a_freeze_needs_a_reason(demo: Demo, session: Session, reason: Any) -> None:
    org, cid = demo.org("a"), demo.chars["a"]["C40-01"]
    with pytest.raises(ParameterError, match="reason"):
        views.freeze_limits(session, org, cid, user_id=demo.users["demo"], reason=reason)
    assert session.scalar(select(ControlLimits.id)) is None
    assert session.scalar(select(AuditLog.id).where(AuditLog.action == "freeze_limits")) is None


# -------------------------------------------------------------------------------- overview
def test_overview_of_the_plant(demo: Demo, session: Session) -> None:
    org = demo.org("a")
    rows = views.characteristics_overview(session, org)
    chars = demo.plants["a"].tables["characteristics"]
    assert len(rows) == chars.height == 40
    assert [r["step"] for r in rows] == sorted(r["step"] for r in rows)  # by step sequence
    counts = demo.plants["a"].tables["measurements"].group_by("characteristic").len()
    n_of = dict(zip(counts["characteristic"].to_list(), counts["len"].to_list(), strict=True))
    assert {r["code"]: r["n"] for r in rows} == n_of
    assert all(r["error"] is None for r in rows)
    by_code = {r["code"]: r for r in rows}
    binding = by_code["C40-01"]
    cap = views.characteristic_capability(session, org, binding["id"])
    assert binding["cpk"] == pytest.approx(cap["cpk"], rel=RTOL)
    assert binding["ppk"] == pytest.approx(cap["ppk"], rel=RTOL)
    assert binding["key"] is True and binding["chart"] == "xbar_r"
    # in_control and last_violation agree with the chart itself
    for code in ("C40-01", "C20-07", "C10-02"):
        row = by_code[code]
        chart = views.characteristic_chart(session, org, row["id"])
        k = chart["n_points"]
        hits = sorted({v["index"] for p in chart["panels"].values() for v in p["violations"]})
        recent = [i for i in hits if i >= k - views.RECENT_POINTS]
        assert row["in_control"] is (not recent)
        assert row["recent_points_signalling"] == len(recent)
        if hits:
            last = row["last_violation"]
            assert last["point"] == hits[-1]
            assert last["ts"] == chart["points"]["ts"][hits[-1]]
            tests = {
                v["rule"]
                for p in chart["panels"].values()
                for v in p["violations"]
                if v["index"] == hits[-1]
            }
            assert set(last["tests"]) == tests
    assert by_code["C20-07"]["last_violation"] is not None  # the outliers fire test 1
    json.dumps(rows, allow_nan=False)


def test_overview_filters(demo: Demo, session: Session) -> None:
    org = demo.org("a")
    key = views.characteristics_overview(session, org, key_only=True)
    assert len(key) == 11 and all(r["key"] for r in key)
    grinding = views.characteristics_overview(session, org, step="OP40")
    assert {r["code"] for r in grinding} == {f"C40-0{i}" for i in range(1, 7)}
    hub = views.characteristics_overview(session, org, product="HU-3105")
    assert hub and all(r["product"] == "HU-3105" for r in hub)
    shared = [demo.chars["a"]["C30-01"], demo.chars["a"]["C30-02"]]
    rows = views.characteristics_overview(session, org, allowed_ids=shared)
    assert [r["code"] for r in rows] == ["C30-01", "C30-02"]
    assert views.characteristics_overview(session, org, step="OP99") == []
    recent = views.characteristics_overview(
        session, org, step="OP40", start=dt.datetime(2024, 12, 1), recent=5
    )
    assert all(r["first_ts"] >= "2024-12-01" for r in recent)
    with pytest.raises(ParameterError, match="recent"):
        views.characteristics_overview(session, org, recent=0)


# --------------------------------------------------------------------------- isolation
def test_another_organizations_characteristic_is_not_found(demo: Demo, session: Session) -> None:
    org_a = demo.org("a")
    foreign = demo.chars["b"]["C40-01"]  # the same code, plant B's row
    user = demo.users["admin"]
    calls: list[Callable[[], object]] = [
        lambda: views.characteristic_chart(session, org_a, foreign),
        lambda: views.characteristic_capability(session, org_a, foreign),
        lambda: views.freeze_limits(session, org_a, foreign, user_id=user, reason="probe"),
        lambda: views.unfreeze_limits(session, org_a, foreign, user_id=user, reason="probe"),
        lambda: views.limits_history(session, org_a, foreign),
        lambda: views.get_characteristic(session, org_a, foreign),
        lambda: views.characteristic_chart(session, org_a, 10**9),
    ]
    for call in calls:
        with pytest.raises(NotFound) as err:
            call()
        assert err.value.code == "not_found"
        assert isinstance(err.value, LookupError)
    assert views.characteristics_overview(session, org_a, allowed_ids=[foreign]) == []
    assert session.scalar(select(ControlLimits.id)) is None
    # a supplier sees only what is shared with it
    mine = demo.chars["a"]["C40-01"]
    shared = {demo.chars["a"]["C30-01"]}
    with pytest.raises(NotFound):
        views.characteristic_chart(session, org_a, mine, allowed_ids=shared)
    assert views.characteristic_chart(session, org_a, min(shared), allowed_ids=shared)
