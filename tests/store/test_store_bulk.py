"""Bulk measurements: round trips bitwise, range reads, idempotent merge, bad input."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import polars as pl
import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from zhuoyue.errors import DataError, ParameterError
from zhuoyue.store import bulk
from zhuoyue.store.bulk import NO_SUBGROUP, assign_seq, insert_measurements, merge_measurements
from zhuoyue.store.bulk import read_series as read
from zhuoyue.store.engine import transaction
from zhuoyue.store.models import Characteristic, Measurement, Organization

T0 = np.datetime64("2024-03-01T08:00:00", "us")


@pytest.fixture
def chars(engine: Engine) -> list[int]:
    """Ids of two characteristics of one organization."""
    with transaction(engine) as s:
        org = Organization(code="acme", name="Acme")
        s.add(org)
        s.flush()
        cs = [Characteristic(org_id=org.id, code=c) for c in ("d1", "d2")]
        s.add_all(cs)
        s.flush()
        return [c.id for c in cs]


def _values(n: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    v = rng.standard_normal(n) * 1e-3 + 25.4
    # awkward doubles: subnormal, extremes, negative zero, shortest-repr edge cases
    v[:6] = [5e-324, 1.7976931348623157e308, -0.0, 0.1 + 0.2, -1 / 3, 2.0**-1074 * 3]
    return v


def _ts(n: int, step_ms: int = 1500) -> np.ndarray:
    return T0 + np.arange(n) * np.timedelta64(step_ms * 1000 + 7, "us")


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(Measurement)).scalar_one())


def test_round_trip_is_bitwise(engine: Engine, chars: list[int]) -> None:
    n = 5000
    value, ts = _values(n), _ts(n)
    subgroup = np.arange(n) // 5
    assert (
        insert_measurements(
            engine, characteristic_id=chars[0], ts=ts, value=value, subgroup=subgroup
        )
        == n
    )
    insert_measurements(engine, characteristic_id=chars[1], ts=ts, value=-value)
    s = read(engine, chars[0])
    assert s.ts.dtype == np.dtype("datetime64[us]") and s.value.dtype == np.float64
    np.testing.assert_array_equal(s.ts, ts)
    stored = value.copy()
    stored[2] = 0.0  # -0.0 is stored as 0.0 (SQLite cannot keep the sign of zero)
    np.testing.assert_array_equal(s.value.view(np.uint64), stored.view(np.uint64))
    np.testing.assert_array_equal(s.subgroup, subgroup)
    other = read(engine, chars[1])
    np.testing.assert_array_equal(other.value, -value)
    assert (other.subgroup == NO_SUBGROUP).all()
    empty = read(engine, 999_999)
    assert empty.ts.size == empty.value.size == empty.subgroup.size == 0


def test_order_is_ts_then_seq(engine: Engine, chars: list[int]) -> None:
    # values given out of time order, three at the same instant
    ts = np.array([T0 + 5, T0, T0 + 5, T0 + 5, T0 - 1], dtype="datetime64[us]")
    value = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    insert_measurements(engine, characteristic_id=chars[0], ts=ts, value=value)
    s = read(engine, chars[0])
    assert s.value.tolist() == [5.0, 2.0, 1.0, 3.0, 4.0]


def test_range_reads(engine: Engine, chars: list[int]) -> None:
    n = 100
    ts = _ts(n, step_ms=60_000)
    insert_measurements(engine, characteristic_id=chars[0], ts=ts, value=np.arange(n, dtype=float))
    s = read(engine, chars[0], start=ts[10], end=ts[20])  # start inclusive, end exclusive
    assert s.value.tolist() == list(range(10, 20))
    aware = dt.datetime(2024, 3, 1, 16, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))  # 08:00Z
    assert read(engine, chars[0], end=aware).value.size == 0
    naive_utc = ts[50].astype(dt.datetime)  # naive: UTC
    assert read(engine, chars[0], start=naive_utc).value[0] == 50.0
    with pytest.raises(ParameterError, match="'start'"):
        read(engine, chars[0], start="2024-03-01")  # type: ignore[arg-type]


def test_nulls_and_text_columns(engine: Engine, chars: list[int]) -> None:
    n = 7
    df = pl.DataFrame(
        {
            "characteristic_id": [chars[0]] * n,
            "ts": pl.Series(_ts(n)).dt.replace_time_zone("UTC"),
            "value": _values(n),
            "subgroup": [1, None, 2, 2, None, 3, 0],
            "lot": ["L-1", None, "批次二", "", "L-1", "x" * 100, None],
            "operator": ["张三", "李四", None, None, "王五", "", "Zoë"],
            "machine": [None] * n,  # all null: left out
        }
    )
    insert_measurements(engine, df)
    s = read(engine, chars[0])
    assert s.subgroup.tolist() == [1, NO_SUBGROUP, 2, 2, NO_SUBGROUP, 3, 0]
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(Measurement.lot, Measurement.operator, Measurement.machine).order_by(
                Measurement.ts
            )
        ).all()
    assert [r.lot for r in rows] == df["lot"].to_list()
    assert [r.operator for r in rows] == df["operator"].to_list()
    assert all(r.machine is None for r in rows)


def test_timezones_and_units_of_ts(engine: Engine, chars: list[int]) -> None:
    shanghai = dt.timezone(dt.timedelta(hours=8))
    insert_measurements(
        engine,
        characteristic_id=chars[0],
        ts=[dt.datetime(2024, 1, 1, 8, tzinfo=shanghai), dt.datetime(2024, 1, 1, 1)],
        value=[1.0, 2.0],
    )
    insert_measurements(
        engine,
        characteristic_id=chars[1],
        ts=np.array(["2024-01-01T00:00:00.000001999"], dtype="datetime64[ns]"),
        value=[3.0],
    )
    assert read(engine, chars[0]).ts.tolist() == [
        dt.datetime(2024, 1, 1, 0, 0),
        dt.datetime(2024, 1, 1, 1, 0),
    ]
    assert read(engine, chars[1]).ts[0] == np.datetime64("2024-01-01T00:00:00.000001")


def test_pg_pages(engine: Engine, chars: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk, "PG_PAGE_ROWS", 7)
    monkeypatch.setattr(bulk, "WRITE_BLOCK_ROWS", 5)
    n = 30
    ts = np.repeat(_ts(10), 3)  # pages split runs of equal ts
    insert_measurements(engine, characteristic_id=chars[0], ts=ts, value=np.arange(n, dtype=float))
    s = read(engine, chars[0])
    assert s.value.tolist() == list(range(n))
    assert read(engine, chars[0], start=ts[4], end=ts[25]).value.tolist() == list(range(3, 24))


def test_merge_is_idempotent_and_reports_conflicts(engine: Engine, chars: list[int]) -> None:
    n = 1000
    ts = np.repeat(_ts(n // 2), 2)
    value = _values(n)
    lot = pl.Series(["A", None] * (n // 2))
    first = merge_measurements(engine, characteristic_id=chars[0], ts=ts, value=value, lot=lot)
    assert (first.inserted, first.identical, first.conflicts.height) == (n, 0, 0)

    again = merge_measurements(engine, characteristic_id=chars[0], ts=ts, value=value, lot=lot)
    assert (again.inserted, again.identical, again.ok) == (0, n, True)
    assert _count(engine) == n

    # extend the file: 10 changed rows, 20 new ones
    ts2 = np.concatenate([ts, np.repeat(_ts(n // 2 + 10)[-10:], 2)])
    value2 = np.concatenate([value, np.arange(20.0)])
    value2[[3, 10, 500]] += 1e-9
    lot2 = pl.concat([lot, pl.Series([None] * 20, dtype=pl.String)])
    lot2[7] = "B"
    aborted = merge_measurements(engine, characteristic_id=chars[0], ts=ts2, value=value2, lot=lot2)
    assert aborted.inserted == 0 and aborted.conflicts["index"].to_list() == [3, 7, 10, 500]
    assert aborted.identical == n - 4
    assert _count(engine) == n
    c = aborted.conflicts.row(0, named=True)
    assert c["stored_value"] == value[3] and c["value"] == value2[3] and c["stored_lot"] is None
    assert c["ts"] == ts[3].astype(dt.datetime).replace(tzinfo=dt.UTC)
    assert aborted.conflicts["stored_lot"].to_list() == [None, None, "A", "A"]  # 7: None -> "B"

    skipped = merge_measurements(
        engine, on_conflict="skip", characteristic_id=chars[0], ts=ts2, value=value2, lot=lot2
    )
    assert (skipped.inserted, skipped.identical, skipped.conflicts.height) == (20, n - 4, 4)
    assert _count(engine) == n + 20
    assert read(engine, chars[0]).value[3] == value[3]  # stored value kept


def test_merge_compares_columns_not_given_as_null(engine: Engine, chars: list[int]) -> None:
    ts = _ts(3)
    insert_measurements(
        engine, characteristic_id=chars[0], ts=ts, value=[1.0, 2, 3], subgroup=[0, 0, 1]
    )
    r = merge_measurements(engine, characteristic_id=chars[0], ts=ts, value=[1.0, 2, 3])
    assert r.conflicts["index"].to_list() == [0, 1, 2]
    assert r.conflicts["stored_subgroup"].to_list() == [0, 0, 1]


def test_all_or_nothing_in_the_callers_transaction(engine: Engine, chars: list[int]) -> None:
    ts = _ts(10)
    with pytest.raises(RuntimeError), engine.begin() as conn:  # noqa: PT012
        insert_measurements(conn, characteristic_id=chars[0], ts=ts, value=np.ones(10))
        assert read(conn, chars[0]).value.size == 10  # visible inside the transaction
        raise RuntimeError("a later table of the import failed")
    assert _count(engine) == 0
    with engine.connect() as conn:
        merge_measurements(conn, characteristic_id=chars[0], ts=ts, value=np.ones(10))
        conn.commit()
    assert _count(engine) == 10


def test_insert_rejects_stored_keys(engine: Engine, chars: list[int]) -> None:
    insert_measurements(engine, characteristic_id=chars[0], ts=_ts(3), value=np.ones(3))
    with pytest.raises(IntegrityError):
        insert_measurements(engine, characteristic_id=chars[0], ts=_ts(3), value=np.ones(3))
    assert _count(engine) == 3


def test_unknown_characteristic_is_rejected(engine: Engine, chars: list[int]) -> None:
    with pytest.raises(IntegrityError):
        insert_measurements(engine, characteristic_id=12345, ts=_ts(3), value=np.ones(3))


@pytest.mark.parametrize(
    ("columns", "error", "match"),
    [
        ({"value": [1.0, np.nan]}, DataError, "row 1 has nan"),
        ({"value": [1.0, np.inf]}, DataError, "finite"),
        ({"value": ["1", "2"]}, DataError, "numbers"),
        (
            {"ts": np.array(["2024-01-01", "NaT"], dtype="datetime64[s]")},
            DataError,
            "ts is missing",
        ),
        ({"ts": ["2024-01-01", "2024-01-02"]}, DataError, "Parse text"),
        ({"seq": [0, 0], "ts": np.array([T0, T0])}, DataError, "rows 0 and 1 have the same"),
        ({"seq": [0, -1]}, DataError, "seq must be between 0"),
        ({"subgroup": [1.5, 2]}, DataError, "whole numbers"),
        ({"lot": ["x" * 101, None]}, DataError, "at most 100"),
        ({"characteristic_id": [1, None]}, DataError, "characteristic_id is missing in row 1"),
        ({"batch": [1, 2]}, ParameterError, "Unknown measurement column"),
        ({"lot": ["a"]}, ParameterError, "has 1 values"),
    ],
)
def test_bad_input_is_reported(
    engine: Engine, chars: list[int], columns: dict[str, Any], error: type[Exception], match: str
) -> None:
    base: dict[str, Any] = {"characteristic_id": chars[0], "ts": _ts(2), "value": [1.0, 2.0]}
    with pytest.raises(error, match=match):
        insert_measurements(engine, {**base, **columns})
    assert _count(engine) == 0


def test_assign_seq() -> None:
    cid = np.array([1, 1, 2, 1, 1, 2])
    ts = np.array([5, 5, 5, 6, 5, 5], dtype="datetime64[s]")
    assert assign_seq(cid, ts).tolist() == [0, 1, 0, 0, 2, 1]
    assert assign_seq(np.array([], dtype=int), np.array([], dtype="datetime64[s]")).size == 0
