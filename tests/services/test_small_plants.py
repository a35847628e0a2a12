"""The services on small generated plants imported by ``import_data`` into a fresh database:
two organizations with the same characteristic codes, text subgroup labels, a characteristic
without data, mixed subgroup labels."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from types import MappingProxyType

import numpy as np
import polars as pl
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from zhuoyue import stats
from zhuoyue.errors import DataError
from zhuoyue.ingest.workbook import CANONICAL_TABLES, AssessmentData
from zhuoyue.services import assessments, kpi, views
from zhuoyue.services.accounts import NotFound
from zhuoyue.services.assessment import compute_metrics
from zhuoyue.services.importing import import_data
from zhuoyue.store.engine import make_engine
from zhuoyue.store.models import Characteristic


def _table(name: str, data: Mapping[str, Sequence[object]]) -> pl.DataFrame:
    schema = CANONICAL_TABLES[name].schema
    return pl.DataFrame(data, schema={c: schema[c] for c in data})


def small_plant(seed: int, shift: float) -> AssessmentData:
    """Two characteristics of 2024: BORE (subgroups of 4 labelled 'S001', ...; key) and LEN
    (individual values), EMPTY without data, and a year of inspections, costs and output."""
    rng = np.random.default_rng(seed)
    t0 = dt.datetime(2024, 1, 3, 8, 0)
    n_sub = 60
    bore_ts = [t0 + dt.timedelta(hours=6 * k, minutes=j) for k in range(n_sub) for j in range(4)]
    bore = 20.0 + shift + rng.normal(0.0, 0.01, 4 * n_sub)
    len_ts = [t0 + dt.timedelta(hours=5 * k) for k in range(150)]
    length = 100.0 + rng.normal(0.0, 0.05, 150)
    meas = {
        "characteristic": ["BORE"] * bore.size + ["LEN"] * length.size,
        "ts": bore_ts + len_ts,
        "subgroup": [f"S{k + 1:03d}" for k in range(n_sub) for _ in range(4)] + [None] * 150,
        "value": np.round(np.concatenate([bore, length]), 4).tolist(),
    }
    days = [dt.date(2024, 1, 2) + dt.timedelta(days=7 * i) for i in range(52)]
    submitted = rng.integers(900, 1100, size=2 * len(days)).tolist()
    passed = [s - int(rng.integers(0, 30)) for s in submitted]
    tables = {
        "characteristics": _table(
            "characteristics",
            {
                "code": ["BORE", "LEN", "EMPTY"],
                "name": ["内孔", "长度", "无数据"],
                "product": ["P1", "P1", "P1"],
                "step": ["OP10", "OP20", "OP20"],
                "lsl": [19.95, 99.8, None],
                "usl": [20.05, 100.2, 1.0],
                "target": [20.0, None, None],
                "subgroup_size": [4, 1, 1],
                "key": [True, False, True],
                "chart": ["xbar_r", "imr", None],
            },
        ),
        "measurements": _table("measurements", meas),
        "inspections": _table(
            "inspections",
            {
                "date": days + days,
                "step": ["OP10"] * len(days) + ["OP20"] * len(days),
                "submitted": submitted,
                "passed_first": passed,
            },
        ),
        "product_quality": _table(
            "product_quality",
            {
                "period": [f"2024-{m:02d}" for m in range(1, 13)],
                "units": [10_000] * 12,
                "defective": rng.integers(1, 20, size=12).tolist(),
            },
        ),
        "quality_costs": _table(
            "quality_costs",
            {
                "date": [dt.date(2024, m, 15) for m in range(1, 13)] * 2,
                "category": ["internal.scrap"] * 12 + ["external.claim"] * 12,
                "amount": rng.uniform(1000, 5000, size=24).round(2).tolist(),
            },
        ),
        "output_value": _table("output_value", {"year": [2024], "total_output_value": [9e6]}),
    }
    return AssessmentData(
        source=f"small plant {seed}",
        tables=MappingProxyType(tables),
        enterprise=MappingProxyType({"name": f"小厂 {seed}", "year": "2024"}),
        year=2024,
        rows=MappingProxyType({k: v.height for k, v in tables.items()}),
    )


@pytest.fixture
def engine(migrated_url: str) -> Iterator[Engine]:
    eng = make_engine(migrated_url)
    try:
        yield eng
    finally:
        eng.dispose()


def test_two_small_plants_are_isolated(engine: Engine) -> None:
    x, y = small_plant(1, 0.0), small_plant(2, 0.004)
    rx = import_data(engine, x, org_code="plant-x", create_org=True)
    ry = import_data(engine, y, org_code="plant-y", create_org=True)
    assert rx.org_id is not None and ry.org_id is not None
    with Session(engine) as s:
        ids = {
            (org, code): cid
            for org, code, cid in s.execute(
                select(Characteristic.org_id, Characteristic.code, Characteristic.id)
            )
        }
        bx, by = ids[(rx.org_id, "BORE")], ids[(ry.org_id, "BORE")]
        # the same code in both organizations: each sees its own row only
        chart = views.characteristic_chart(s, rx.org_id, bx)
        m = x.tables["measurements"].filter(pl.col("characteristic") == "BORE")
        ref = stats.xbar_r(m["value"].to_numpy(), m["subgroup"].to_numpy())
        assert chart["center"] == pytest.approx(ref.center, rel=1e-12)
        assert chart["sigma"] == pytest.approx(ref.sigma, rel=1e-12)
        assert chart["n_points"] == 60
        with pytest.raises(NotFound):
            views.characteristic_chart(s, rx.org_id, by)
        with pytest.raises(NotFound):
            views.limits_history(s, ry.org_id, bx)
        rows = views.characteristics_overview(s, rx.org_id)
        assert [r["code"] for r in rows] == ["BORE", "EMPTY", "LEN"]  # by step, then code
        assert {r["id"] for r in rows} == {cid for (o, _), cid in ids.items() if o == rx.org_id}
        empty = next(r for r in rows if r["code"] == "EMPTY")
        assert empty["n"] == 0 and empty["cpk"] is None and empty["in_control"] is None
        with pytest.raises(DataError) as err:
            views.characteristic_chart(s, rx.org_id, ids[(rx.org_id, "EMPTY")])
        assert err.value.code == "no_data"
        # the KPIs of each plant are its own data's
        for org_id, data in ((rx.org_id, x), (ry.org_id, y)):
            out = kpi.kpis(s, org_id, 2024)
            want = compute_metrics(data.tables, year=2024)
            assert {k: v["value"] for k, v in out["metrics"].items()} == {
                k: v.value for k, v in want.metrics.items()
            }
        outcome = assessments.compute_assessment(s, ry.org_id, 2024)
        assert outcome.result.metrics["cpk"].detail["lowest"] == "BORE"


def test_mixed_subgroup_labels_are_an_error(engine: Engine) -> None:
    data = small_plant(3, 0.0)
    meas = data.tables["measurements"]
    broken = meas.with_columns(
        pl.when(pl.int_range(pl.len()) == 5)
        .then(None)
        .otherwise(pl.col("subgroup"))
        .alias("subgroup")
    )
    tables = {**data.tables, "measurements": broken}
    rep = import_data(
        engine,
        AssessmentData(data.source, MappingProxyType(tables), data.enterprise, 2024, data.rows),
        org_code="plant-z",
        create_org=True,
    )
    assert rep.org_id is not None
    with Session(engine) as s:
        cid = s.scalar(
            select(Characteristic.id).where(
                Characteristic.org_id == rep.org_id, Characteristic.code == "BORE"
            )
        )
        assert cid is not None
        with pytest.raises(DataError, match="no subgroup") as err:
            views.characteristic_chart(s, rep.org_id, cid)
        assert err.value.code == "missing_subgroup"
        row = next(r for r in views.characteristics_overview(s, rep.org_id) if r["id"] == cid)
        assert row["error"] is not None and "no subgroup" in row["error"]
        # individual values can still be charted
        imr = views.characteristic_chart(s, rep.org_id, cid, chart="imr")
        assert imr["n_points"] == 240
