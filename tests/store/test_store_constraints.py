"""The database enforces the rules of the data, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from zhuoyue.store import bulk
from zhuoyue.store.engine import session_factory, transaction
from zhuoyue.store.keys import row_key
from zhuoyue.store.models import (
    ApiToken,
    Assessment,
    AssessmentEvidence,
    AuditLog,
    Characteristic,
    CharacteristicShare,
    ControlLimits,
    Inspection,
    Measurement,
    Membership,
    Organization,
    OutputValue,
    ProcessStep,
    Product,
    ProductQuality,
    QualityCost,
    Site,
    UserAccount,
)

UTC = dt.UTC


def _plant(s: Session, code: str = "acme", credit_code: str | None = None) -> dict[str, Any]:
    org = Organization(code=code, name="Acme", credit_code=credit_code)
    s.add(org)
    s.flush()
    step = ProcessStep(org_id=org.id, code="cnc", name="CNC", sequence=1)
    product = Product(org_id=org.id, code="p1", name="Shaft")
    s.add_all([step, product, Site(org_id=org.id, code="s1", name="Plant 1")])
    s.flush()
    char = Characteristic(
        org_id=org.id,
        code="d1",
        product_id=product.id,
        step_id=step.id,
        lsl=9.9,
        usl=10.1,
        key=True,
    )
    s.add(char)
    s.flush()
    return {"org": org.id, "step": step.id, "product": product.id, "char": char.id}


@pytest.fixture
def ids(engine: Engine) -> dict[str, Any]:
    """Ids of one plant: organization, step, product, characteristic."""
    with transaction(engine) as s:
        return _plant(s, credit_code="91440300708461136T")


def _add(engine: Engine, obj: object) -> None:
    with transaction(engine) as s:
        s.add(obj)


def _rejects(
    engine: Engine, ids: dict[str, Any], make: Callable[[dict[str, Any]], object], name: str
) -> None:
    """``make(ids)`` is refused by constraint ``name``.

    Both databases name a violated CHECK constraint; for a unique constraint SQLite names the
    columns instead (``name`` is then "constraint|table.column, ...").
    """
    with pytest.raises(IntegrityError, match=name):
        _add(engine, make(ids))


def _inspection(**kw: Any) -> Callable[[dict[str, Any]], Inspection]:
    def make(ids: dict[str, Any]) -> Inspection:
        return Inspection(
            org_id=ids["org"], date=dt.date(2024, 1, 2), step_id=ids["step"], row_key="k", **kw
        )

    return make


def test_passed_first_cannot_exceed_submitted(engine: Engine, ids: dict[str, Any]) -> None:
    _rejects(engine, ids, _inspection(submitted=10, passed_first=11), "passed_first_le_submitted")


def test_counts_are_not_negative(engine: Engine, ids: dict[str, Any]) -> None:
    _rejects(engine, ids, _inspection(submitted=-1, passed_first=-2), "_not_negative")


def test_inspection_row_key_is_unique_per_org(engine: Engine, ids: dict[str, Any]) -> None:
    with transaction(engine) as s:
        s.add(_inspection(submitted=10, passed_first=9)(ids))
        other = _plant(s, "other")
        s.add(_inspection(submitted=10, passed_first=9)(other))  # same key, other organization
    _rejects(
        engine,
        ids,
        _inspection(submitted=5, passed_first=5),
        "uq_inspection_org_id_row_key|inspection.org_id, inspection.row_key",
    )


def test_quality_cost_category_must_be_known(engine: Engine, ids: dict[str, Any]) -> None:
    with transaction(engine) as s:
        s.add(
            QualityCost(
                org_id=ids["org"], date=dt.date(2024, 1, 2), category="internal.scrap",
                amount=12.5, row_key=row_key("2024-01-02", "internal.scrap", None, 0),
            )
        )  # fmt: skip
    day = dt.date(2024, 1, 2)
    _rejects(
        engine,
        ids,
        lambda i: QualityCost(org_id=i["org"], date=day, category="scrap", amount=1.0, row_key="x"),
        "ck_quality_cost_category_known",
    )
    _rejects(
        engine,
        ids,
        lambda i: QualityCost(
            org_id=i["org"], date=day, category="appraisal", amount=-1.0, row_key="y"
        ),
        "ck_quality_cost_amount_not_negative",
    )


def test_output_value_positive_and_one_per_year(engine: Engine, ids: dict[str, Any]) -> None:
    with transaction(engine) as s:
        s.add(OutputValue(org_id=ids["org"], year=2024, total_output_value=1e8))
    _rejects(
        engine,
        ids,
        lambda i: OutputValue(org_id=i["org"], year=2023, total_output_value=0.0),
        "total_output_value_positive",
    )
    _rejects(
        engine,
        ids,
        lambda i: OutputValue(org_id=i["org"], year=2024, total_output_value=2e8),
        "uq_output_value_org_id_year|output_value.org_id, output_value.year",
    )


def test_assessment_status_role_and_specs(engine: Engine, ids: dict[str, Any]) -> None:
    _rejects(
        engine,
        ids,
        lambda i: Assessment(
            org_id=i["org"], year=2024, model_id="m", model_version="1", status="approved"
        ),
        "ck_assessment_status_known",
    )
    _rejects(
        engine,
        ids,
        lambda i: Characteristic(org_id=i["org"], code="x", lsl=2.0, usl=1.0),
        "ck_characteristic_lsl_below_usl",
    )
    _add(engine, UserAccount(username="wang"))
    _rejects(
        engine,
        ids,
        lambda i: Membership(user_id=1, org_id=i["org"], role="owner"),
        "ck_membership_role_known",
    )
    _rejects(
        engine,
        ids,
        lambda i: Organization(code="dup", name="D", credit_code="91440300708461136T"),
        "uq_organization_credit_code|organization.credit_code",
    )
    _rejects(
        engine,
        ids,
        lambda i: Organization(code="short", name="S", credit_code="9144"),
        "ck_organization_credit_code_length",
    )


def test_one_active_control_limits_per_characteristic(engine: Engine, ids: dict[str, Any]) -> None:
    frozen = dt.datetime(2024, 5, 1, 8, 30, tzinfo=UTC)
    with transaction(engine) as s:
        s.add(
            ControlLimits(
                characteristic_id=ids["char"], chart="imr", reason="phase I: 25 subgroups",
                limits={"i": {"center": 10.0, "lcl": 9.9, "ucl": 10.1}}, frozen_at=frozen,
            )
        )  # fmt: skip
    _rejects(
        engine,
        ids,
        lambda i: ControlLimits(characteristic_id=i["char"], chart="imr", limits={}, reason="x"),
        "uq_control_limits_active|control_limits.characteristic_id",
    )
    # superseding: deactivate the old row, then add the new one; history keeps both
    with transaction(engine) as s:
        old = s.scalars(sa.select(ControlLimits)).one()
        old.active = False
        old.superseded_at = dt.datetime(2024, 6, 1, tzinfo=UTC)
        s.flush()
        s.add(
            ControlLimits(
                characteristic_id=ids["char"], chart="imr", limits={}, reason="tool change"
            )
        )
    with transaction(engine) as s:
        rows = s.scalars(sa.select(ControlLimits).order_by(ControlLimits.id)).all()
        assert [r.active for r in rows] == [False, True]
        assert rows[0].frozen_at == frozen and rows[0].frozen_at.tzinfo is not None
        assert rows[0].limits == {"i": {"center": 10.0, "lcl": 9.9, "ucl": 10.1}}


def test_timestamps_are_aware_utc(engine: Engine, ids: dict[str, Any]) -> None:
    shanghai = dt.timezone(dt.timedelta(hours=8))
    with transaction(engine) as s:
        s.add(
            Measurement(
                characteristic_id=ids["char"], ts=dt.datetime(2024, 1, 1, 8, 0, 0, 1, shanghai),
                value=1.5,
            )
        )  # fmt: skip
    with transaction(engine) as s:
        m = s.scalars(sa.select(Measurement)).one()
        org = s.get(Organization, ids["org"])
        assert org is not None and org.created_at.tzinfo is not None
    assert m.ts == dt.datetime(2024, 1, 1, 0, 0, 0, 1, UTC)
    assert m.ts.utcoffset() == dt.timedelta(0)
    with session_factory(engine)() as s:
        since = Measurement.ts >= dt.datetime(2024, 1, 1, tzinfo=UTC)
        assert len(s.scalars(sa.select(Measurement.id).where(since)).all()) == 1


def _count(engine: Engine, model: type[Any]) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(model)).scalar_one())


def test_deleting_an_organization_deletes_its_data(engine: Engine, ids: dict[str, Any]) -> None:
    with transaction(engine) as s:
        keep = _plant(s, "other")
        user = UserAccount(username="li", display_name="李工")
        s.add(user)
        s.flush()
        s.add_all(
            [
                Membership(user_id=user.id, org_id=ids["org"], role="quality_engineer"),
                CharacteristicShare(characteristic_id=ids["char"], user_id=user.id),
                ControlLimits(characteristic_id=ids["char"], chart="imr", limits={}, reason="r"),
                _inspection(submitted=3, passed_first=3)(ids),
                ProductQuality(org_id=ids["org"], period="2024", units=10, defective=1, row_key="k"),
                ApiToken(
                    org_id=ids["org"], user_id=user.id, name="line 1", token_hash="0" * 64,
                    prefix="zy_abcde", scopes="measurements:write",
                ),
                AuditLog(org_id=ids["org"], user_id=user.id, action="create", entity="product"),
            ]
        )  # fmt: skip
        a = Assessment(org_id=ids["org"], year=2024, model_id="miit", model_version="1")
        s.add(a)
        s.flush()
        s.add(
            AssessmentEvidence(
                assessment_id=a.id, indicator_id="q1", filename="iso9001.pdf",
                content_type="application/pdf", size=3, sha256="0" * 64, data=b"pdf",
            )
        )  # fmt: skip
    ts = np.datetime64("2024-01-01T00:00:00", "us") + np.arange(5) * np.timedelta64(1, "s")
    bulk.insert_measurements(engine, characteristic_id=ids["char"], ts=ts, value=np.arange(5.0))
    bulk.insert_measurements(engine, characteristic_id=keep["char"], ts=ts, value=np.arange(5.0))

    with transaction(engine) as s:
        org = s.get(Organization, ids["org"])
        s.delete(org)

    assert _count(engine, Measurement) == 5  # the other organization's
    kept = (Organization, Characteristic, ProcessStep, Product, Site)  # the other organization's
    for model in (
        *kept, ControlLimits, Inspection, ProductQuality, Assessment, AssessmentEvidence,
        Membership, CharacteristicShare, ApiToken, AuditLog,
    ):  # fmt: skip
        assert _count(engine, model) == (1 if model in kept else 0), model
    assert _count(engine, UserAccount) == 1  # users are not owned by an organization


def test_deleting_a_characteristic_deletes_its_measurements(
    engine: Engine, ids: dict[str, Any]
) -> None:
    ts = np.datetime64("2024-01-01", "us") + np.arange(3) * np.timedelta64(1, "m")
    bulk.insert_measurements(engine, characteristic_id=ids["char"], ts=ts, value=[1.0, 2.0, 3.0])
    with engine.begin() as conn:
        conn.execute(sa.delete(Characteristic).where(Characteristic.id == ids["char"]))
    assert _count(engine, Measurement) == 0
