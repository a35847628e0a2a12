"""The demo factory: deterministic plants with the workbook reader's columns, plant A at L3 with
its capability as the binding constraint, plant B at L2, and the demo database."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from zhuoyue.demo.factory import (
    DEMO_PASSWORD,
    YEAR,
    build_demo_database,
    make_plant,
)
from zhuoyue.errors import ParameterError
from zhuoyue.ingest.workbook import CANONICAL_TABLES, read_assessment_data
from zhuoyue.services.assessment import assess
from zhuoyue.store.engine import make_engine
from zhuoyue.store.models import (
    Assessment,
    AssessmentShare,
    Characteristic,
    CharacteristicShare,
    Measurement,
    Membership,
    Organization,
    ProcessStep,
    UserAccount,
)


def test_same_seed_same_tables() -> None:
    a1 = make_plant("a", seed=11, scale=0.2)
    a2 = make_plant("a", seed=11, scale=0.2)
    other = make_plant("a", seed=12, scale=0.2)
    assert list(a1.tables) == list(CANONICAL_TABLES)
    for name in CANONICAL_TABLES:
        assert a1.tables[name].equals(a2.tables[name]), name
    assert not a1.tables["measurements"].equals(other.tables["measurements"])
    assert a1.enterprise == a2.enterprise


def test_the_plants_are_realistic() -> None:
    a = make_plant("a")
    chars = a.tables["characteristics"]
    assert chars.height == 40 and int(chars["key"].sum()) == 11
    assert sorted(chars["step"].unique().to_list()) == [f"OP{10 * i}" for i in range(1, 9)]
    assert [name for _, name in a.steps] == [
        "下料", "车削", "热处理", "磨削", "清洗", "装配", "终检", "包装",
    ]  # fmt: skip
    m = a.tables["measurements"]
    assert 80_000 <= m.height <= 120_000
    assert m["ts"].dt.year().unique().to_list() == [YEAR]
    assert m["ts"].dt.month().n_unique() == 12
    per_char = m.group_by("characteristic").len()
    assert per_char["len"].min() >= 500
    q = a.tables["self_assessment"]
    assert q["evidence"].null_count() == 0 and q.height == 26
    assert make_plant("a", scale=0.5).tables["measurements"].height < m.height * 0.6


@pytest.mark.parametrize("plant", ["a", "b"])
def test_tables_read_back_through_the_workbook_reader(plant: str, tmp_path: Path) -> None:
    p = make_plant(plant, scale=0.2)
    for name, df in p.tables.items():
        assert df.schema == pl.Schema(CANONICAL_TABLES[name].schema), name
        df.write_parquet(tmp_path / f"{name}.parquet")
    lines = ["key,value"] + [f"{k},{v}" for k, v in p.enterprise.items()]
    (tmp_path / "enterprise.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    data = read_assessment_data(tmp_path)  # every row passes the reader's checks
    assert data.year == YEAR
    for name, df in p.tables.items():
        assert data.tables[name].equals(df), name


def test_plant_a_is_assurance_level_bound_by_capability() -> None:
    outcome = assess(make_plant("a").data())
    result = outcome.result
    assert result.level == 3
    assert [(b.item, b.kind) for b in result.binding] == [("cpk", "metric")]
    assert {k: m.level for k, m in result.metrics.items()} == {
        "sigma_level": 4,
        "cpk": 3,
        "rolled_yield": 4,
        "internal_loss_rate": 4,
        "external_loss_rate": 4,
    }
    cpk = outcome.metrics.metrics["cpk"].detail
    assert cpk["lowest"] == "C40-01" and "C40-01" in cpk["failing_next"]
    assert 1.33 < outcome.metrics.metrics["cpk"].value < 1.5
    assert not result.unsupported


def test_plant_b_is_inspection_level() -> None:
    result = assess(make_plant("b").data()).result
    assert result.level == 2
    assert {m.level for m in result.metrics.values()} == {2}


def test_bad_parameters() -> None:
    with pytest.raises(ParameterError, match="plant"):
        make_plant("c")
    with pytest.raises(ParameterError, match="scale"):
        make_plant("a", scale=0)


def test_build_demo_database(migrated_url: str) -> None:
    calls: list[str] = []
    info = build_demo_database(migrated_url, scale=0.25, progress=lambda t, d, n: calls.append(t))
    assert [(o.code, o.level, o.status) for o in info.orgs] == [
        ("jinggong-auto", 3, "self_declared"),
        ("hengli-parts", 2, "draft"),
    ]
    assert "A measurements" in calls and "B inspections" in calls
    assert {u.username for u in info.logins} >= {"demo", "admin", "supplier", "assessor"}
    engine = make_engine(migrated_url)
    try:
        with engine.connect() as conn:
            orgs = {o.code: o for o in conn.execute(select(Organization)).all()}
            a_id = orgs["jinggong-auto"].id
            assert orgs["jinggong-auto"].credit_code is not None
            demo = conn.execute(select(UserAccount).where(UserAccount.username == "demo")).one()
            assert PasswordHasher().verify(demo.password_hash, DEMO_PASSWORD)
            roles = dict(
                conn.execute(
                    select(Organization.code, Membership.role)
                    .join(Membership, Membership.org_id == Organization.id)
                    .where(Membership.user_id == demo.id)
                ).all()
            )
            assert roles == {"jinggong-auto": "quality_manager", "hengli-parts": "viewer"}
            shared = conn.execute(
                select(Characteristic.code)
                .join(CharacteristicShare)
                .join(UserAccount, UserAccount.id == CharacteristicShare.user_id)
                .where(UserAccount.username == "supplier")
            ).scalars()
            assert sorted(shared) == [f"C30-0{i}" for i in range(1, 6)]
            a = conn.execute(select(Assessment).where(Assessment.org_id == a_id)).one()
            assert a.result["level"] == 3 and a.score is not None and a.declared_by == demo.id
            assert conn.execute(select(func.count()).select_from(AssessmentShare)).scalar_one() == 1
            names = dict(
                conn.execute(
                    select(ProcessStep.code, ProcessStep.name).where(ProcessStep.org_id == a_id)
                ).all()
            )
            assert names["OP40"] == "磨削"
            n = conn.execute(select(func.count()).select_from(Measurement)).scalar_one()
        again = build_demo_database(migrated_url, scale=0.25)
        assert [r.inserted for r in again.reports] == [0, 0]
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(Measurement)).scalar_one() == n
            assert conn.execute(select(func.count()).select_from(Assessment)).scalar_one() == 2
    finally:
        engine.dispose()
