"""KPIs from the database: the canonical tables read back, and the numbers of ``zhuoyue assess``
on the same data (plant A: L3 保证级 bound by capability)."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import polars as pl
import pytest
from services_helpers import Demo
from sqlalchemy.orm import Session

from zhuoyue import stats
from zhuoyue.errors import ParameterError
from zhuoyue.excellence import default_model
from zhuoyue.ingest.workbook import CANONICAL_TABLES
from zhuoyue.services import kpi
from zhuoyue.services.assessment import compute_metrics

TABLES = ("characteristics", "measurements", "inspections", "product_quality", "quality_costs",
          "output_value")  # fmt: skip


@pytest.mark.parametrize("plant", ["a", "b"])
def test_load_tables_gives_back_the_imported_tables(
    demo: Demo, session: Session, plant: str
) -> None:
    tables = kpi.load_tables(session, demo.org(plant))
    source = demo.plants[plant].tables
    assert list(tables) == list(TABLES)
    for name in TABLES:
        got = tables[name]
        want = source[name].select(got.columns)
        assert got.schema == pl.Schema({c: CANONICAL_TABLES[name].schema[c] for c in got.columns})
        assert got.equals(want), name
    assert tables["measurements"].columns == ["characteristic", "ts", "subgroup", "value"]
    assert "self_assessment" not in tables
    lean = kpi.load_tables(session, demo.org(plant), year=2024, measurements=False)
    assert "measurements" not in lean and lean["inspections"].equals(tables["inspections"])
    other_year = kpi.load_tables(session, demo.org(plant), year=2023)
    assert list(other_year) == ["characteristics"]
    assert other_year["characteristics"].equals(tables["characteristics"])


def test_load_tables_of_an_unknown_organization_is_empty(session: Session) -> None:
    assert kpi.load_tables(session, 10**6) == {}
    with pytest.raises(ParameterError, match="year"):
        kpi.load_tables(session, 1, year=24)


@pytest.mark.parametrize(("plant", "level"), [("a", 3), ("b", 2)])
def test_kpis_equal_compute_metrics_on_the_generated_tables(
    demo: Demo, session: Session, plant: str, level: int
) -> None:
    out = kpi.kpis(session, demo.org(plant), 2024)
    want = compute_metrics(demo.plants[plant].tables, year=2024)
    model = default_model()
    assert out["year"] == 2024 and out["model"]["id"] == model.id
    assert list(out["metrics"]) == [i.id for i in model.metrics]
    for mid, m in want.metrics.items():
        got = out["metrics"][mid]
        assert got["value"] == m.value, mid  # the same frames, the same computation
        assert got["status"] == "ok"
        assert got["thresholds"] and all("op" in t for t in got["thresholds"])
    # the weakest link of the quantitative indicators
    assert min(m["level"] for m in out["metrics"].values()) == level
    if plant == "a":
        assert out["metrics"]["cpk"]["level"] == 3
        assert out["metrics"]["cpk"]["detail"]["lowest"] == "C40-01"
        assert all(m["level"] >= 4 for mid, m in out["metrics"].items() if mid != "cpk")
    json.dumps(out, allow_nan=False)


def test_rolled_yield_by_month_and_by_step(demo: Demo, session: Session) -> None:
    out = kpi.kpis(session, demo.org("a"), 2024)
    ry = out["rolled_yield"]
    insp = demo.plants["a"].tables["inspections"]
    per_step = insp.group_by("step", maintain_order=True).agg(
        pl.col("submitted").sum(), pl.col("passed_first").sum()
    )
    ref = stats.rolled_yield(per_step["submitted"].to_numpy(), per_step["passed_first"].to_numpy())
    assert ry["value"] == pytest.approx(ref.rolled_yield, rel=1e-12)
    assert [s["step"] for s in ry["by_step"]] == [f"OP{10 * i}" for i in range(1, 9)]
    assert [s["name"] for s in ry["by_step"]][:2] == ["下料", "车削"]
    assert len(ry["by_month"]) == 12 and all(len(s["by_month"]) == 12 for s in ry["by_step"])
    for month in (2, 7, 12):
        rows = insp.filter(pl.col("date").dt.month() == month)
        g = rows.group_by("step", maintain_order=True).agg(
            pl.col("submitted").sum(), pl.col("passed_first").sum()
        )
        r = stats.rolled_yield(g["submitted"].to_numpy(), g["passed_first"].to_numpy())
        got = ry["by_month"][month - 1]
        assert got["month"] == f"2024-{month:02d}"
        assert got["rolled_yield"] == pytest.approx(r.rolled_yield, rel=1e-12)
        fpy = dict(zip(g["step"].to_list(), r.first_pass_yield.tolist(), strict=True))
        for s in ry["by_step"]:
            assert s["by_month"][month - 1] == pytest.approx(fpy[s["step"]], rel=1e-12)


def test_loss_rates_costs_sigma_and_trend(demo: Demo, session: Session) -> None:
    out = kpi.kpis(session, demo.org("a"), 2024)
    costs = demo.plants["a"].tables["quality_costs"]
    output_value = float(demo.plants["a"].tables["output_value"]["total_output_value"][0])
    internal = float(costs.filter(pl.col("category").str.starts_with("internal."))["amount"].sum())
    external = float(costs.filter(pl.col("category").str.starts_with("external."))["amount"].sum())
    rates = out["loss_rates"]
    assert set(rates) == {"internal_loss_rate", "external_loss_rate"}
    assert rates["internal_loss_rate"]["value"] == pytest.approx(internal / output_value)
    assert rates["external_loss_rate"]["value"] == pytest.approx(external / output_value)
    assert [t["level"] for t in rates["internal_loss_rate"]["thresholds"]] == [2, 3, 4, 5]
    coq = out["cost_of_quality"]
    assert coq["total"] == pytest.approx(costs["amount"].sum())
    amounts = [r["amount"] for r in coq["by_category"]]
    assert amounts == sorted(amounts, reverse=True)
    assert coq["by_category"][-1]["cumulative_share"] == pytest.approx(1.0)
    assert {p["bucket"] for p in coq["pareto"]} == {"internal_failure", "external_failure"}
    assert coq["totals_by_bucket"]["prevention"] == pytest.approx(
        costs.filter(pl.col("category") == "prevention")["amount"].sum()
    )
    pq = demo.plants["a"].tables["product_quality"]
    ppm = float(pq["defective"].sum()) / float(pq["units"].sum()) * 1e6
    sigma = out["sigma_level"]
    assert sigma["detail"]["ppm"] == pytest.approx(ppm)
    assert sigma["value"] == pytest.approx(float(stats.sigma_level(ppm=ppm).level))
    trend = out["trend"]
    assert trend["months"] == [f"2024-{m:02d}" for m in range(1, 13)]
    assert not trend["errors"]
    for mid in out["metrics"]:
        values = trend["values"][mid]
        assert len(values) == 12 and all(v is not None and math.isfinite(v) for v in values)
    # a month's loss rate: its failure cost over a twelfth of the output value
    march = costs.filter(
        (pl.col("date") >= dt.date(2024, 3, 1))
        & (pl.col("date") < dt.date(2024, 4, 1))
        & pl.col("category").str.starts_with("internal.")
    )["amount"]
    assert trend["values"]["internal_loss_rate"][2] == pytest.approx(
        float(march.sum()) / (output_value / 12)
    )
    # a month's sigma level: that month's product_quality rows
    may = pq.filter(pl.col("period") == "2024-05")
    may_ppm = float(may["defective"].sum()) / float(may["units"].sum()) * 1e6
    assert trend["values"]["sigma_level"][4] == pytest.approx(
        float(stats.sigma_level(ppm=may_ppm).level)
    )
    assert np.mean(trend["values"]["cpk"]) > 1.0


def test_kpis_of_a_year_without_data(demo: Demo, session: Session) -> None:
    out = kpi.kpis(session, demo.org("a"), 2023)
    assert all(m["value"] is None for m in out["metrics"].values())
    assert all(m["level"] == 1 for m in out["metrics"].values())
    assert out["cost_of_quality"]["total"] is None
    assert all(v is None for v in out["trend"]["values"]["rolled_yield"])
    with pytest.raises(ParameterError, match="year"):
        kpi.kpis(session, demo.org("a"), "2024")  # type: ignore[arg-type]
