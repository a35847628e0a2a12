"""The metrics of the self-assessment from raw tables (:mod:`zhuoyue.services.assessment`).

Every expected number is computed here by hand (the arithmetic is written next to it) or by an
independent formula: the sigma level Z = 1.5 + Φ⁻¹(1 − p) with ``scipy.stats.norm``; σ within
= pooled SD / c4(Σ(nᵢ − 1) + 1) for subgroups and MR̄ / d2(2) with d2(2) = 2/√π for individual
values (the defaults of :func:`zhuoyue.stats.capability`); the rolled yield Π Σpassed / Σsubmitted;
loss rates Σ cost / output value.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from scipy.stats import norm

from zhuoyue.errors import DataError, ParameterError, ValidationError
from zhuoyue.excellence import default_model, load_model
from zhuoyue.services.assessment import (
    MetricsBundle,
    assess,
    compute_metrics,
    parse_period,
    resolve_year,
)

YEAR = 2024
MODEL = default_model()
ALT_FILE = Path(__file__).resolve().parents[1] / "data" / "alt_model.toml"
D = dt.date


def sigma_of(ppm: float) -> float:
    return 1.5 + float(norm.isf(ppm / 1e6))


def days(n: int, start: dt.datetime = dt.datetime(YEAR, 1, 1, 8)) -> list[dt.datetime]:
    return [start + dt.timedelta(days=i) for i in range(n)]


def metrics(tables: dict[str, pl.DataFrame], **kw: Any) -> MetricsBundle:
    kw.setdefault("year", YEAR)
    return compute_metrics(tables, **kw)


def problems(exc: pytest.ExceptionInfo[ValidationError]) -> list[tuple[Any, ...]]:
    return [(p.sheet, p.row, p.column, p.value, p.code) for p in exc.value.problems]


# ------------------------------------------------------------------------------------------------
# Sigma level (product_quality)
# ------------------------------------------------------------------------------------------------
def test_sigma_level_from_defective_units() -> None:
    pq = pl.DataFrame(
        {
            "period": ["2024-01", "2024Q2", "2023-12"],
            "units": [40_000, 60_000, 1_000],
            "defective": [200, 400, 999],  # the 2023 row is left out
        }
    )
    b = metrics({"product_quality": pq})
    m = b.metrics["sigma_level"]
    # (200 + 400) / (40 000 + 60 000) = 6 000 ppm → Z = 1.5 + Φ⁻¹(0.994) = 4.0121
    assert m.tracked is True
    assert m.value == pytest.approx(sigma_of(6_000), rel=1e-9)
    assert round(m.value, 4) == 4.0121
    d = m.detail
    assert (d["basis"], d["units"], d["defective"], d["ppm"]) == ("defective", 1e5, 600.0, 6e3)
    assert d["dpmo"] is None and d["shift"] == 1.5 and d["capped"] is False
    assert d["rows"] == 2 and d["months"] == [1, 4, 5, 6]
    assert b.coverage["product_quality_rows"] == 2
    assert b.coverage["months_by_table"]["product_quality"] == 4
    assert b.coverage["rows_outside_year"] == {"product_quality": 1}


def test_sigma_level_from_defects_and_opportunities() -> None:
    pq = pl.DataFrame(
        {"period": ["2024H1", "2024H2"], "units": [500, 1_500], "defects": [30, 20]}
    ).with_columns(pl.Series("opportunities", [20, 10]))
    m = metrics({"product_quality": pq}).metrics["sigma_level"]
    # opportunities 500 × 20 + 1 500 × 10 = 25 000; 50 defects → 2 000 DPMO
    assert m.detail["basis"] == "defects"
    assert (m.detail["defects"], m.detail["opportunities"]) == (50.0, 25_000.0)
    assert m.detail["dpmo"] == pytest.approx(2_000.0) and m.detail["ppm"] == pytest.approx(2e3)
    assert m.value == pytest.approx(sigma_of(2_000), rel=1e-9)


def test_sigma_level_per_product_rows() -> None:
    pq = pl.DataFrame(
        {
            "period": ["2024-01", "2024-02", "2024-01"],
            "product": ["齿轮", "齿轮", "轴"],
            "units": [1_000, 3_000, 10_000],
            "defective": [10, 10, 5],
        }
    )
    m = metrics({"product_quality": pq}).metrics["sigma_level"]
    by = {p["product"]: p for p in m.detail["products"]}
    # 齿轮: 20 / 4 000 = 5 000 ppm; 轴: 5 / 10 000 = 500 ppm; all: 25 / 14 000
    assert by["齿轮"]["units"] == 4_000 and by["齿轮"]["defective"] == 20
    assert by["齿轮"]["ppm"] == pytest.approx(5_000.0)
    assert by["齿轮"]["sigma_level"] == pytest.approx(sigma_of(5_000), rel=1e-9)
    assert by["轴"]["ppm"] == pytest.approx(500.0)
    assert by["轴"]["sigma_level"] == pytest.approx(sigma_of(500), rel=1e-9)
    assert m.value == pytest.approx(sigma_of(25 / 14_000 * 1e6), rel=1e-9)


def test_sigma_level_without_defectives_is_capped_with_the_rule_of_three() -> None:
    pq = pl.DataFrame({"period": ["2024"], "units": [1_000], "defective": [0]})
    b = metrics({"product_quality": pq})
    m = b.metrics["sigma_level"]
    lo, hi = MODEL.indicator("sigma_level").domain or (0.0, 0.0)
    assert m.value == hi and m.detail["capped"] is True and m.detail["sigma_level"] is None
    # 95 % upper bound 3 / 1 000 = 3 000 ppm → at least 1.5 + Φ⁻¹(0.997) = 4.25σ
    assert m.detail["upper_ppm_95"] == pytest.approx(3_000.0)
    assert any("rule of three" in w and "4.25σ" in w for w in b.warnings)
    # every unit defective: the model's lower bound, with a warning
    pq = pl.DataFrame({"period": ["2024"], "units": [1_000], "defective": [1_000]})
    b = metrics({"product_quality": pq})
    assert b.metrics["sigma_level"].value == lo and b.metrics["sigma_level"].detail["capped"]
    assert any("lower bound" in w for w in b.warnings)


def test_sigma_level_rows_without_counts_are_left_out_with_a_warning() -> None:
    pq = pl.DataFrame({"period": ["2024", "2024-02"], "units": [1_000, None], "defective": [3, 4]})
    b = metrics({"product_quality": pq})
    assert b.metrics["sigma_level"].value == pytest.approx(sigma_of(3_000), rel=1e-9)
    assert b.metrics["sigma_level"].detail["rows"] == 1
    assert any("1 row(s) of 2024 without units / defective" in w for w in b.warnings)


def test_sigma_level_not_computed_reasons() -> None:
    cases = [
        ({}, "no product_quality table (units and defectives per period)"),
        (
            {"product_quality": pl.DataFrame({"period": ["2023"], "units": [5], "defective": [1]})},
            "no product_quality rows for 2024",
        ),
        (
            {"product_quality": pl.DataFrame({"period": ["2024"], "units": [0], "defective": [0]})},
            "product_quality of 2024 counts no units",
        ),
        (
            {
                "product_quality": pl.DataFrame(
                    {"period": ["2024"], "units": [5], "defective": [None]},
                    schema_overrides={"defective": pl.Int64},
                )
            },
            "product_quality of 2024 has no defective (or defects) counts",
        ),
    ]
    for tables, reason in cases:
        m = metrics(tables).metrics["sigma_level"]
        assert (m.value, m.tracked, m.detail["reason"]) == (None, None, reason)
    with pytest.raises(DataError, match="'defective' column") as exc:
        metrics({"product_quality": pl.DataFrame({"period": ["2024"], "units": [5]})})
    assert exc.value.code == "missing_column"


# ------------------------------------------------------------------------------------------------
# Cpk of the key characteristics
# ------------------------------------------------------------------------------------------------
def cpk_tables(chars: dict[str, list[Any]], meas: dict[str, list[Any]]) -> dict[str, Any]:
    return {"characteristics": pl.DataFrame(chars), "measurements": pl.DataFrame(meas)}


def test_cpk_by_hand_with_subgroups_pooled_sd_over_c4() -> None:
    # subgroups (9, 10, 11) and (10, 11, 12): each s = 1, pooled s = 1 on 4 degrees of freedom;
    # σ within = 1 / c4(5) = 1 / 0.9400 (Montgomery, appendix VI) = 1.06385; x̄ = 10.5;
    # Cpu = (14 − 10.5) / (3 × 1.06385) = 1.0966, Cpl = (10.5 − 6) / 3.19154 = 1.4100
    t = cpk_tables(
        {"code": ["A"], "key": [True], "lsl": [6.0], "usl": [14.0]},
        {
            "characteristic": ["A"] * 6,
            "ts": days(6),
            "subgroup": [1, 1, 1, 2, 2, 2],
            "value": [9.0, 10.0, 11.0, 10.0, 11.0, 12.0],
        },
    )
    m = metrics(t).metrics["cpk"]
    e = m.detail["characteristics"][0]
    assert e["sigma_within"] == pytest.approx(1 / 0.9400, rel=1e-4)
    assert e["mean"] == pytest.approx(10.5)
    assert (e["n"], e["n_subgroups"], e["subgroup_size"]) == (6, 2, 3)
    assert e["sigma_method"] == "pooled/c4"
    assert m.value == pytest.approx(3.5 / (3 / 0.9400), rel=1e-4)
    assert round(m.value, 4) == 1.0966
    assert e["cp"] == pytest.approx(8 / (6 / 0.9400), rel=1e-4)


def test_cpk_by_hand_with_individual_values_mr_over_d2() -> None:
    # 10, 12, 11, 13, 12: moving ranges 2, 1, 2, 1 → MR̄ = 1.5; σ = 1.5 / (2/√π) = 1.32934;
    # x̄ = 11.6; Cpl = (11.6 − 8) / (3 × 1.32934) = 0.90270 < Cpu = 4.4 / 3.98802 = 1.10330
    t = cpk_tables(
        {"code": ["A"], "key": [True], "lsl": [8.0], "usl": [16.0]},
        {"characteristic": ["A"] * 5, "ts": days(5), "value": [10.0, 12.0, 11.0, 13.0, 12.0]},
    )
    m = metrics(t).metrics["cpk"]
    sigma = 1.5 / (2 / math.sqrt(math.pi))
    assert m.detail["characteristics"][0]["sigma_within"] == pytest.approx(sigma, rel=1e-12)
    assert m.value == pytest.approx(3.6 / (3 * sigma), rel=1e-12)
    assert round(m.value, 4) == 0.9027


def rng_values(seed: int, n: int = 50, sd: float = 0.1) -> list[float]:
    return list(10.0 + np.random.default_rng(seed).normal(0.0, sd, n))


def mr_cpk(values: list[float], lsl: float | None, usl: float | None) -> float:
    x = np.asarray(values)
    sigma = float(np.abs(np.diff(x)).mean()) / (2 / math.sqrt(math.pi))
    mean = float(x.mean())
    sides = [(usl - mean) if usl is not None else None, (mean - lsl) if lsl is not None else None]
    return min(s for s in sides if s is not None) / (3 * sigma)


def test_cpk_is_the_lowest_key_characteristic_and_lists_the_others() -> None:
    a, b_, n = rng_values(1), rng_values(2), rng_values(3)
    chars = {
        "code": ["A", "B", "N", "NOSPEC", "NODATA"],
        "name": ["外径", "长度", "外观", "硬度", "粗糙度"],
        "key": ["是", "是", "否", "是", "是"],
        "lsl": [9.5, 9.0, 9.95, None, 1.0],
        "usl": [10.5, 11.0, 10.05, None, 2.0],
    }
    meas = {
        "characteristic": ["A"] * 50 + ["B"] * 50 + ["N"] * 50 + ["NOSPEC"] * 50,
        "ts": days(50) * 4,
        "value": a + b_ + n + a,
    }
    b = metrics(cpk_tables(chars, meas))
    m = b.metrics["cpk"]
    cpk_a, cpk_b = mr_cpk(a, 9.5, 10.5), mr_cpk(b_, 9.0, 11.0)
    assert cpk_a < cpk_b and mr_cpk(n, 9.95, 10.05) < cpk_a  # the non-key N is the lowest
    assert m.value == pytest.approx(cpk_a, rel=1e-9)
    d = m.detail
    assert d["lowest"] == "A" and d["computed"] == 2
    assert [e["code"] for e in d["characteristics"]] == ["A", "B", "NOSPEC", "NODATA"]
    assert d["not_computed"] == ["NOSPEC", "NODATA"]
    by = {e["code"]: e for e in d["characteristics"]}
    assert by["NOSPEC"]["status"] == "not_computed" and by["NOSPEC"]["cpk"] is None
    assert by["NOSPEC"]["reason"] == "no specification limit (lsl / usl)"
    assert by["NODATA"]["reason"] == "no measurements in 2024"
    assert by["A"]["name"] == "外径" and by["B"]["cpk"] == pytest.approx(cpk_b, rel=1e-9)
    assert any("Cpk not computed for 2 of 4 key characteristic(s)" in w for w in b.warnings)
    cov = b.coverage
    assert (cov["characteristics"], cov["key_characteristics"]) == (5, 4)
    assert cov["key_characteristics_computed"] == 2
    assert cov["key_characteristics_without_specs"] == 1
    assert cov["key_characteristics_without_data"] == 1
    assert cov["measurements"] == 200


def test_cpk_failing_next_lists_every_key_characteristic_below_the_next_threshold() -> None:
    # σ of each series by MR̄/d2; specs placed at x̄ ± 3·c·σ give Cpk c exactly
    series = {"A": rng_values(11), "B": rng_values(12), "C": rng_values(13)}
    wanted = {"A": 1.40, "B": 1.50, "C": 1.80}  # lowest 1.40 → 保证级; 1.67 next
    lsl, usl = [], []
    for code, x in series.items():
        sigma = float(np.abs(np.diff(x)).mean()) / (2 / math.sqrt(math.pi))
        mean = float(np.mean(x))
        lsl.append(mean - 3 * wanted[code] * sigma)
        usl.append(mean + 3 * wanted[code] * sigma)
    t = cpk_tables(
        {"code": list(series), "key": [True] * 3, "lsl": lsl, "usl": usl},
        {
            "characteristic": [c for c in series for _ in range(50)],
            "ts": days(50) * 3,
            "value": [v for x in series.values() for v in x],
        },
    )
    d = metrics(t).metrics["cpk"].detail
    assert (d["next_level"], d["next_threshold"]) == (4, 1.67)
    assert d["failing_next"] == ["A", "B"]
    by = {e["code"]: e for e in d["characteristics"]}
    assert [by[c]["level"] for c in "ABC"] == [3, 3, 4]
    assert [by[c]["fails_next"] for c in "ABC"] == [True, True, False]
    assert [by[c]["cpk"] for c in "ABC"] == pytest.approx([1.4, 1.5, 1.8], rel=1e-9)


def test_cpk_one_sided_spec_and_subgroup_size_from_the_characteristics() -> None:
    # subgroup_size 3 and no subgroup column: the same two subgroups as the hand example,
    # the 7th value does not complete a subgroup and is left out; USL only → Cpk = Cpu
    t = cpk_tables(
        {"code": ["A"], "key": [1], "usl": [14.0], "subgroup_size": [3]},
        {"characteristic": ["A"] * 7, "ts": days(7), "value": [9.0, 10, 11, 10, 11, 12, 50]},
    )
    m = metrics(t).metrics["cpk"]
    e = m.detail["characteristics"][0]
    assert e["n"] == 6 and e["cp"] is None and e["lsl"] is None
    assert m.value == pytest.approx(3.5 / (3 / 0.9400), rel=1e-4)
    assert any("does not complete a subgroup of 3" in w for w in e["warnings"])


@pytest.mark.parametrize(
    ("key", "computed"),
    [
        ([True, False], ["A"]),
        ([1, 0], ["A"]),
        ([1.0, 0.0], ["A"]),  # a spreadsheet's numbers
        (["是", "否"], ["A"]),
        (["yes", "no"], ["A"]),
        (["TRUE", None], ["A"]),
        ([0.0, 1.0], ["B"]),
    ],
)
def test_key_flag_spellings(key: list[Any], computed: list[str]) -> None:
    t = cpk_tables(
        {"code": ["A", "B"], "key": key, "lsl": [8.0, 8.0], "usl": [16.0, 16.0]},
        {
            "characteristic": ["A"] * 5 + ["B"] * 5,
            "ts": days(5) * 2,
            "value": [10.0, 12.0, 11.0, 13.0, 12.0] * 2,
        },
    )
    d = metrics(t).metrics["cpk"].detail
    assert [e["code"] for e in d["characteristics"]] == computed


def test_cpk_measurements_in_any_row_order_are_sorted_by_time() -> None:
    a, b_ = rng_values(21, 30), rng_values(22, 30)
    ts = days(30)
    chars = {"code": ["A", "B"], "key": [True, True], "lsl": [9.6, 9.7], "usl": [10.4, 10.3]}
    ordered = pl.DataFrame(
        {"characteristic": ["A"] * 30 + ["B"] * 30, "ts": ts * 2, "value": a + b_}
    )
    shuffled = ordered.sample(fraction=1.0, shuffle=True, seed=5)
    assert shuffled["value"].to_list() != ordered["value"].to_list()
    got = [
        metrics({"characteristics": pl.DataFrame(chars), "measurements": df}).metrics["cpk"]
        for df in (ordered, shuffled)
    ]
    assert got[0].value == pytest.approx(min(mr_cpk(a, 9.6, 10.4), mr_cpk(b_, 9.7, 10.3)))
    assert got[1].value == got[0].value


def test_cpk_blank_values_and_one_value_subgroups_are_left_out() -> None:
    t = cpk_tables(
        {"code": ["A"], "key": [True], "lsl": [8.0], "usl": [16.0]},
        {
            "characteristic": ["A"] * 7,
            "ts": days(7),
            "value": [10.0, 12.0, None, 11.0, 13.0, float("nan"), 12.0],
        },
    )
    b = metrics(t)
    assert b.metrics["cpk"].value == pytest.approx(3.6 / (3 * 1.5 / (2 / math.sqrt(math.pi))))
    assert any("2 value(s) of key characteristics in 2024 are blank" in w for w in b.warnings)
    t = cpk_tables(
        {"code": ["A"], "key": [True], "lsl": [6.0], "usl": [14.0]},
        {
            "characteristic": ["A"] * 7,
            "ts": days(7),
            "subgroup": ["g1", "g1", "g1", "g2", "g2", "g2", "g3"],
            "value": [9.0, 10.0, 11.0, 10.0, 11.0, 12.0, 40.0],
        },
    )
    e = metrics(t).metrics["cpk"].detail["characteristics"][0]
    assert e["n"] == 6 and e["cpk"] == pytest.approx(3.5 / (3 / 0.9400), rel=1e-4)
    assert "1 subgroup(s) of one value left out" in e["warnings"][0]


def test_cpk_not_computed_reasons() -> None:
    chars = {"code": ["A"], "key": [True], "lsl": [8.0], "usl": [16.0]}
    m = metrics({}).metrics["cpk"]
    assert m.value is None and m.detail["reason"].startswith("no characteristics table")
    m = metrics({"characteristics": pl.DataFrame(dict(chars, key=[False]))}).metrics["cpk"]
    assert m.detail["reason"] == "no key characteristic (key = true) in the characteristics table"
    m = metrics({"characteristics": pl.DataFrame(chars)}).metrics["cpk"]
    assert m.value is None and m.tracked is None
    assert m.detail["characteristics"][0]["reason"] == "no measurements table"
    assert (
        m.detail["reason"] == "no key characteristic could be computed (A: no measurements table)"
    )
    # all values equal: σ = 0, the characteristic is not computed (never an infinite Cpk)
    t = cpk_tables(chars, {"characteristic": ["A"] * 4, "ts": days(4), "value": [9.0] * 4})
    m = metrics(t).metrics["cpk"]
    assert m.value is None and "σ is 0" in m.detail["characteristics"][0]["reason"]


def test_cpk_duplicate_key_codes_are_an_error() -> None:
    chars = {"code": ["A", "A"], "key": [True, True], "lsl": [1.0, 1.0], "usl": [2.0, 2.0]}
    with pytest.raises(DataError, match="more than once") as exc:
        metrics({"characteristics": pl.DataFrame(chars)})
    assert exc.value.code == "duplicate_characteristic"


def test_cpk_beyond_the_model_range_is_capped_not_a_crash() -> None:
    # σ within ≈ 1.5e-4 / 1.128 against a tolerance of ±1: Cpk ≈ 2 500, beyond [−100, 100]
    x = list(10.0 + np.tile([-1e-4, 1e-4, 0.0, 2e-4, -2e-4], 20))
    t = cpk_tables(
        {"code": ["A"], "key": [True], "lsl": [9.0], "usl": [11.0]},
        {"characteristic": ["A"] * 100, "ts": days(100), "value": x},
    )
    t["self_assessment"] = pl.DataFrame({"item": ["leadership"], "level": [2], "evidence": ["x"]})
    out = assess((t, {}), year=YEAR)
    m = out.metrics.metrics["cpk"]
    assert m.value == 100.0 and m.detail["capped"] is True
    assert m.detail["characteristics"][0]["cpk"] == pytest.approx(mr_cpk(x, 9.0, 11.0))
    assert out.result.metrics["cpk"].level == 5
    assert any("outside the model's range" in w for w in out.warnings)


def test_cpk_unstable_key_characteristic_is_flagged() -> None:
    # a step of 5 in the middle of the year: the I chart fires, Cpk is kept but flagged
    x = list(np.r_[np.zeros(30), np.full(30, 5.0)] + np.tile([0.1, -0.1, 0.05, -0.05, 0.0], 12))
    t = cpk_tables(
        {"code": ["A"], "key": [True], "lsl": [-20.0], "usl": [20.0]},
        {"characteristic": ["A"] * 60, "ts": days(60), "value": x},
    )
    b = metrics(t)
    assert b.metrics["cpk"].value == pytest.approx(mr_cpk(x, -20.0, 20.0), rel=1e-9)
    assert b.metrics["cpk"].detail["unstable"] == ["A"]
    assert any("fire control-chart tests" in w for w in b.warnings)


# ------------------------------------------------------------------------------------------------
# Rolled first-pass yield
# ------------------------------------------------------------------------------------------------
def test_rolled_yield_pools_each_step_then_multiplies() -> None:
    insp = pl.DataFrame(
        {
            "date": [D(2024, 1, 3), D(2024, 1, 4), D(2024, 2, 1), D(2024, 3, 1), D(2024, 3, 9)],
            "step": ["机加工", "热处理", "机加工", "装配", "热处理"],
            "submitted": [100, 200, 300, 50, 200],
            "passed_first": [96, 196, 284, 50, 196],
            "lot": ["L1", "L1", "L2", "L2", "L3"],
        }
    )
    b = metrics({"inspections": insp})
    m = b.metrics["rolled_yield"]
    # 机加工 (96 + 284) / (100 + 300) = 380/400 = 0.95; 热处理 392/400 = 0.98; 装配 50/50 = 1
    assert m.value == pytest.approx(0.95 * 0.98 * 1.0, rel=1e-12)
    d = m.detail
    assert [(s["step"], s["submitted"], s["passed_first"], s["rows"]) for s in d["steps"]] == [
        ("机加工", 400, 380, 2),
        ("热处理", 400, 392, 2),
        ("装配", 50, 50, 1),
    ]
    assert [s["fpy"] for s in d["steps"]] == pytest.approx([0.95, 0.98, 1.0])
    assert d["weakest_step"] == "机加工" and d["n_steps"] == 3 and d["rows"] == 5
    assert d["normalized_yield"] == pytest.approx((0.95 * 0.98) ** (1 / 3), rel=1e-12)
    assert d["months"] == 3
    assert (b.coverage["steps"], b.coverage["inspection_rows"]) == (3, 5)


def test_rolled_yield_left_out_rows_and_empty_steps_warn() -> None:
    insp = pl.DataFrame(
        {
            "date": [D(2024, 1, 3), D(2024, 1, 4), D(2024, 1, 5), D(2024, 1, 6)],
            "step": ["A", None, "B", "C"],
            "submitted": [100, 10, 0, 20],
            "passed_first": [90, 10, 0, None],
        }
    )
    b = metrics({"inspections": insp})
    m = b.metrics["rolled_yield"]
    assert m.value == pytest.approx(0.9) and [s["step"] for s in m.detail["steps"]] == ["A"]
    assert any("2 row(s) of 2024 without step, submitted or passed_first" in w for w in b.warnings)
    assert any("step(s) B submitted no unit" in w for w in b.warnings)


def test_rolled_yield_not_computed_reasons() -> None:
    assert metrics({}).metrics["rolled_yield"].detail["reason"].startswith("no inspections table")
    insp = pl.DataFrame(
        {"date": [D(2023, 5, 1)], "step": ["A"], "submitted": [10], "passed_first": [9]}
    )
    m = metrics({"inspections": insp}).metrics["rolled_yield"]
    assert (m.value, m.detail["reason"]) == (None, "no inspections rows in 2024")
    insp = insp.with_columns(pl.lit(D(2024, 5, 1)).alias("date"), pl.lit(0).alias("submitted"))
    insp = insp.with_columns(pl.lit(0).alias("passed_first"))
    m = metrics({"inspections": insp}).metrics["rolled_yield"]
    assert m.detail["reason"] == "no unit was submitted to inspection in 2024"


# ------------------------------------------------------------------------------------------------
# Loss rates
# ------------------------------------------------------------------------------------------------
COSTS = pl.DataFrame(
    {
        "date": [
            D(2024, 1, 5),
            D(2024, 2, 5),
            D(2024, 3, 5),
            D(2024, 3, 6),
            D(2024, 4, 1),
            D(2024, 5, 1),
            D(2024, 6, 1),
            D(2024, 7, 1),
            D(2023, 12, 31),
        ],
        "category": [
            "报废",
            "返工",
            "Internal_Rework",
            "internal-scrap",
            "索赔费",
            "退货",
            "prevention",
            "鉴定成本",
            "报废",
        ],
        "amount": [1000.0, 300.0, 200.0, 500.0, 800.0, 200.0, 5000.0, 100.0, 99_999.0],
    }
)
OUTPUT = pl.DataFrame({"year": [2023, 2024], "total_output_value": [1e6, 200_000.0]})


def test_loss_rates_with_chinese_aliases_and_their_pareto() -> None:
    b = metrics({"quality_costs": COSTS, "output_value": OUTPUT})
    internal = b.metrics["internal_loss_rate"]
    # internal: scrap 1 000 + 500, rework 300 + 200 → 2 000 / 200 000 = 1.0 %
    assert internal.tracked is True and internal.value == pytest.approx(0.01, rel=1e-12)
    d = internal.detail
    assert (d["cost"], d["output_value"], d["year"], d["rows"]) == (2000.0, 200_000.0, 2024, 4)
    assert [(c["category"], c["amount"], c["rows"]) for c in d["categories"]] == [
        ("internal.scrap", 1500.0, 2),
        ("internal.rework", 500.0, 2),
    ]
    assert [c["share"] for c in d["categories"]] == pytest.approx([0.75, 0.25])
    assert [c["cumulative_share"] for c in d["categories"]] == pytest.approx([0.75, 1.0])
    assert d["categories"][0]["name_zh"] == "报废损失费"
    # external: claims 800, returns 200 → 1 000 / 200 000 = 0.5 %; largest first
    external = b.metrics["external_loss_rate"]
    assert external.value == pytest.approx(0.005, rel=1e-12)
    assert [c["category"] for c in external.detail["categories"]] == [
        "external.claim",
        "external.return",
    ]
    # prevention and appraisal are tracked but not in the rates
    paf = d["paf"]["totals_by_bucket"]
    assert paf == {
        "prevention": 5000.0,
        "appraisal": 100.0,
        "internal_failure": 2000.0,
        "external_failure": 1000.0,
    }
    assert d["paf"]["rate_total"] == pytest.approx(8100 / 200_000)
    assert [p["category"] for p in d["failure_pareto"]] == [
        "internal.scrap",
        "external.claim",
        "internal.rework",
        "external.return",
    ]
    assert d["failure_pareto"][0]["share"] == pytest.approx(1500 / 3000)
    # the 2023 row is out of the year: counted and warned
    assert b.coverage["cost_rows"] == 8 and b.coverage["rows_outside_year"] == {"quality_costs": 1}
    assert "rows outside 2024 were left out: quality_costs 1." in b.warnings
    assert b.coverage["output_value_year"] == 2024
    assert b.coverage["months_by_table"]["quality_costs"] == 7


def test_loss_rates_unknown_categories_warn_and_count_in_no_rate() -> None:
    qc = pl.DataFrame(
        {"date": [D(2024, 1, 1)] * 2, "category": ["杂费", "报废"], "amount": [9.0, 1.0]}
    )
    b = metrics({"quality_costs": qc, "output_value": OUTPUT})
    assert b.metrics["internal_loss_rate"].value == pytest.approx(1 / 200_000)
    assert any("categor" in w and "杂费" in w and "no loss rate" in w for w in b.warnings)


def test_loss_rates_not_tracked_reasons() -> None:
    cases: list[tuple[dict[str, pl.DataFrame], int, str]] = [
        ({}, YEAR, "no quality_costs table"),
        ({"quality_costs": COSTS, "output_value": OUTPUT}, 2022, "no quality_costs rows in 2022"),
        (
            {"quality_costs": COSTS},
            YEAR,
            "no output_value table (annual total output value)",
        ),
        (
            {
                "quality_costs": COSTS,
                "output_value": pl.DataFrame(
                    {"year": [2022, 2023], "total_output_value": [1.0, 2.0]}
                ),
            },
            YEAR,
            "no output value for 2024 (the output_value table has 2022, 2023)",
        ),
        (
            {
                "quality_costs": COSTS,
                "output_value": pl.DataFrame({"year": [2024], "total_output_value": [0.0]}),
            },
            YEAR,
            "the output value of 2024 is 0, not > 0",
        ),
    ]
    for tables, year, reason in cases:
        for key in ("internal_loss_rate", "external_loss_rate"):
            m = metrics(tables, year=year).metrics[key]
            assert (m.value, m.tracked, m.detail["reason"]) == (None, False, reason)


def test_loss_rate_above_100_percent_is_a_unit_error() -> None:
    ov = pl.DataFrame({"year": [2024], "total_output_value": [1_000.0]})
    with pytest.raises(DataError, match="same unit") as exc:
        metrics({"quality_costs": COSTS, "output_value": ov})
    assert exc.value.code == "loss_rate_out_of_range"


def test_output_value_twice_for_the_year() -> None:
    ov = pl.DataFrame({"year": [2024, 2024], "total_output_value": [1e6, 2e6]})
    with pytest.raises(DataError, match="2 different values for 2024") as exc:
        metrics({"quality_costs": COSTS, "output_value": ov})
    assert exc.value.code == "duplicate_output_value"
    # the same value twice: a warning, and the value is used once
    ov = pl.DataFrame({"year": [2024, 2024], "total_output_value": [200_000.0, 200_000.0]})
    b = metrics({"quality_costs": COSTS, "output_value": ov})
    assert b.metrics["internal_loss_rate"].value == pytest.approx(0.01)
    assert "output_value: 2024 is given 2 times (the same value)." in b.warnings


# ------------------------------------------------------------------------------------------------
# The assessed year
# ------------------------------------------------------------------------------------------------
def dated_tables() -> dict[str, pl.DataFrame]:
    return {
        "inspections": pl.DataFrame(
            {
                "date": [D(2022, 6, 1), D(2023, 6, 1), D(2023, 7, 1), D(2024, 6, 1)],
                "step": ["A"] * 4,
                "submitted": [10, 100, 100, 10],
                "passed_first": [5, 90, 80, 9],
            }
        ),
        "quality_costs": pl.DataFrame(
            {
                "date": [D(2023, 1, 1), D(2024, 1, 1), D(2024, 2, 1)],
                "category": ["internal.scrap"] * 3,
                "amount": [10.0, 20.0, 30.0],
            }
        ),
        "output_value": pl.DataFrame({"year": [2022, 2023], "total_output_value": [1e3, 2e3]}),
    }


def test_year_given_cuts_every_table_and_counts_the_rows_left_out() -> None:
    b = compute_metrics(dated_tables(), year=2023)
    assert (b.year, b.year_source) == (2023, "given")
    # 2023: inspections (90 + 80) / 200 = 0.85; costs 10 / 2 000 = 0.5 %
    assert b.metrics["rolled_yield"].value == pytest.approx(0.85)
    assert b.metrics["internal_loss_rate"].value == pytest.approx(0.005)
    assert b.coverage["rows_outside_year"] == {"inspections": 2, "quality_costs": 2}
    assert "rows outside 2023 were left out: inspections 2, quality_costs 2." in b.warnings


def test_year_from_the_data_set_and_the_enterprise() -> None:
    b = compute_metrics(dated_tables(), year=None, data_year=2022)
    assert (b.year, b.year_source) == (2022, "data")
    assert b.metrics["rolled_yield"].value == pytest.approx(0.5)
    b = compute_metrics(dated_tables(), year=None, enterprise={"name": "厂", "year": "2024年度"})
    assert (b.year, b.year_source) == (2024, "enterprise")
    # assess reads the enterprise's year too; year= overrides it
    out = assess((dated_tables(), {"评价年度": "2024"}))
    assert out.year == 2024 and out.metrics.year_source == "enterprise"
    out = assess((dated_tables(), {"year": "2024"}), year=2022)
    assert (out.year, out.metrics.year_source) == (2022, "given")


def test_year_from_output_value_then_from_the_latest_data() -> None:
    b = compute_metrics(dated_tables(), year=None)
    assert (b.year, b.year_source) == (2023, "output_value")  # the latest output value
    tables = dated_tables()
    del tables["output_value"]
    b = compute_metrics(tables, year=None)
    assert (b.year, b.year_source) == (2024, "latest_in_data")
    pq = pl.DataFrame({"period": ["2025年3月"], "units": [10], "defective": [0]})
    assert resolve_year({**tables, "product_quality": pq}) == (2025, "latest_in_data")
    b = compute_metrics({}, year=None)
    assert (b.year, b.year_source) == (None, "none")
    assert any(w.startswith("no assessed year") for w in b.warnings)
    assert all(m.value is None for m in b.metrics.values())


@pytest.mark.parametrize("bad", [24, 20245, True, "2024"])
def test_year_must_be_four_digits(bad: Any) -> None:
    with pytest.raises(ParameterError, match="four-digit"):
        compute_metrics({}, year=bad)


# ------------------------------------------------------------------------------------------------
# Periods of product_quality
# ------------------------------------------------------------------------------------------------
ALL_YEAR = tuple(range(1, 13))


@pytest.mark.parametrize(
    ("period", "months"),
    [
        ("2024", ALL_YEAR),
        (2024, ALL_YEAR),
        ("2024年", ALL_YEAR),
        ("2024年度", ALL_YEAR),
        ("2024-03", (3,)),
        ("2024/3", (3,)),
        ("2024.03", (3,)),
        ("2024-03-31", (3,)),
        ("2024/12/01 00:00:00", (12,)),
        ("2024年3月", (3,)),
        ("2024年11月份", (11,)),
        ("2024Q1", (1, 2, 3)),
        ("2024-Q2", (4, 5, 6)),
        ("2024q4", (10, 11, 12)),
        ("2024年第1季度", (1, 2, 3)),
        ("2024年第三季度", (7, 8, 9)),
        ("2024H2", (7, 8, 9, 10, 11, 12)),
        ("2024-H1", (1, 2, 3, 4, 5, 6)),
        ("2024年上半年", (1, 2, 3, 4, 5, 6)),
        ("2024年下半年", (7, 8, 9, 10, 11, 12)),
        (D(2024, 5, 31), (5,)),
    ],
)
def test_periods(period: Any, months: tuple[int, ...]) -> None:
    assert parse_period(period) == (2024, months)


@pytest.mark.parametrize("bad", ["2024-13", "24-03", "March 2024", "", None, "2024Q5"])
def test_bad_periods(bad: Any) -> None:
    with pytest.raises(DataError, match="is not a period") as exc:
        parse_period(bad)
    assert exc.value.code == "bad_period"


def test_period_formats_attribute_rows_to_their_year_and_months() -> None:
    pq = pl.DataFrame(
        {
            "period": ["2024年第1季度", "2024-04", "2024年5月", "2024H2", "2023Q4", "2025-01"],
            "units": [100, 100, 100, 100, 100, 100],
            "defective": [1, 1, 1, 1, 50, 50],
        }
    )
    b = metrics({"product_quality": pq})
    m = b.metrics["sigma_level"]
    # Q1 + April + May + H2: every month but June
    assert m.detail["months"] == [1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12] and m.detail["rows"] == 4
    assert b.coverage["months_by_table"]["product_quality"] == 11
    assert m.detail["ppm"] == pytest.approx(4 / 400 * 1e6)
    assert b.coverage["rows_outside_year"] == {"product_quality": 2}
    # a date column works too
    pq = pl.DataFrame({"period": [D(2024, 1, 31), D(2024, 2, 29)], "units": [10, 10]})
    pq = pq.with_columns(pl.Series("defective", [1, 0]))
    assert metrics({"product_quality": pq}).metrics["sigma_level"].detail["months"] == [1, 2]


# ------------------------------------------------------------------------------------------------
# Bad rows: every problem with table, row (as in Excel: header = row 1) and column
# ------------------------------------------------------------------------------------------------
def test_passed_first_above_submitted_names_the_row() -> None:
    insp = pl.DataFrame(
        {
            "date": [D(2023, 12, 30), D(2024, 1, 2), D(2024, 1, 3), D(2024, 1, 4)],
            "step": ["A", "A", "B", "B"],
            "submitted": [10, 10, 10, -5],
            "passed_first": [11, 9, 12, 0],
        }
    )
    with pytest.raises(ValidationError) as exc:
        metrics({"inspections": insp})
    got = problems(exc)
    # rows of the assessed year are checked; row numbers are those of the whole sheet
    assert ("inspections", 4, "passed_first", 12, "passed_exceeds_submitted") in got
    assert ("inspections", 5, "submitted", -5, "negative") in got
    assert all(row != 2 for _, row, *_ in got)  # the 2023 row is not in the assessment
    assert exc.value.source == "inspections"
    messages = [p.message for p in exc.value.problems]
    assert any(
        m.startswith("inspections, row 4, column 'passed_first': 12 exceeds the units submitted")
        for m in messages
    )


def test_negative_and_blank_amounts_and_missing_categories() -> None:
    qc = pl.DataFrame(
        {
            "date": [D(2023, 1, 1), D(2024, 1, 1), D(2024, 2, 1), D(2024, 3, 1)],
            "category": ["报废", "internal.scrap", None, "返工"],
            "amount": [-5.0, -1.0, 1.0, None],
        }
    )
    with pytest.raises(ValidationError) as exc:
        metrics({"quality_costs": qc, "output_value": OUTPUT})
    assert sorted(problems(exc), key=lambda p: p[1]) == [
        ("quality_costs", 3, "amount", -1.0, "negative"),
        ("quality_costs", 4, "category", None, "missing_category"),
        ("quality_costs", 5, "amount", None, "blank"),
    ]


def test_defective_above_units_and_defects_above_opportunities() -> None:
    pq = pl.DataFrame(
        {"period": ["2023", "2024-01", "2024-02"], "units": [10, 10, 10], "defective": [30, 11, 3]}
    )
    with pytest.raises(ValidationError) as exc:
        metrics({"product_quality": pq})
    assert problems(exc) == [("product_quality", 3, "defective", 11, "exceeds_units")]
    pq = pl.DataFrame({"period": ["2024"], "units": [10], "defects": [21], "opportunities": [2]})
    with pytest.raises(ValidationError) as exc:
        metrics({"product_quality": pq})
    assert problems(exc) == [("product_quality", 2, "defects", 21, "defects_exceed_opportunities")]


def test_bad_periods_are_collected_with_their_rows() -> None:
    pq = pl.DataFrame(
        {"period": ["2024", "2024-13", "last year"], "units": [1, 1, 1], "defective": [0, 0, 0]}
    )
    with pytest.raises(ValidationError) as exc:
        metrics({"product_quality": pq})
    assert [(p[1], p[2], p[3], p[4]) for p in problems(exc)] == [
        (3, "period", "2024-13", "bad_period"),
        (4, "period", "last year", "bad_period"),
    ]


def test_missing_columns_and_undated_dates_are_data_errors() -> None:
    with pytest.raises(DataError, match="no column 'passed_first'") as exc:
        metrics(
            {
                "inspections": pl.DataFrame(
                    {"date": [D(2024, 1, 1)], "step": ["A"], "submitted": [1]}
                )
            }
        )
    assert exc.value.code == "missing_column"
    insp = pl.DataFrame(
        {"date": ["2024-01-01"], "step": ["A"], "submitted": [1], "passed_first": [1]}
    )
    with pytest.raises(DataError, match="must hold dates") as exc:
        metrics({"inspections": insp})
    assert exc.value.code == "not_a_date"
    with pytest.raises(ParameterError, match="polars DataFrame"):
        metrics({"inspections": {"date": []}})  # type: ignore[dict-item]


# ------------------------------------------------------------------------------------------------
# Missing tables: None with a reason, never 0, never a crash
# ------------------------------------------------------------------------------------------------
def test_missing_tables_give_none_with_a_reason_and_level_1() -> None:
    out = assess(({}, {"name": "空白厂"}), year=YEAR)
    for key, m in out.metrics.metrics.items():
        assert m.value is None, key
        assert m.detail["reason"], key
        assert m.tracked in (None, False)
    res = out.result
    assert res.level == 1
    assert all(m.level == 1 and m.value is None for m in res.metrics.values())
    assert {m.status for m in res.metrics.values()} == {"not_computed", "not_tracked"}
    assert "no self_assessment table: every questionnaire indicator is unanswered (经验级)." in (
        out.warnings
    )
    json.dumps(out.to_dict(), ensure_ascii=False, allow_nan=False)
    assert out.to_dict()["enterprise"] == {"name": "空白厂"} and out.to_dict()["year"] == YEAR


# ------------------------------------------------------------------------------------------------
# Coverage
# ------------------------------------------------------------------------------------------------
def test_coverage_counts_months_steps_and_characteristics() -> None:
    x = rng_values(31, 24)
    tables = {
        "characteristics": pl.DataFrame(
            {"code": ["A", "B"], "key": [True, False], "lsl": [9.0, 9.0], "usl": [11.0, 11.0]}
        ),
        "measurements": pl.DataFrame(
            {
                "characteristic": ["A"] * 24 + ["B"] * 2,
                # A: two values a month for 12 months; B: two values in 2023
                "ts": [dt.datetime(YEAR, 1 + i // 2, 10 + i % 2) for i in range(24)]
                + [dt.datetime(2023, 5, 1), dt.datetime(2023, 5, 2)],
                "value": [*x, 10.0, 10.1],
            }
        ),
        "inspections": pl.DataFrame(
            {
                "date": [D(YEAR, m, 1) for m in (1, 2, 3)] * 2,
                "step": ["A"] * 3 + ["B"] * 3,
                "submitted": [10] * 6,
                "passed_first": [10] * 6,
            }
        ),
        "product_quality": pl.DataFrame({"period": ["2024H1"], "units": [10], "defective": [0]}),
    }
    cov = metrics(tables).coverage
    assert cov["months_by_table"] == {"measurements": 12, "inspections": 3, "product_quality": 6}
    assert cov["months"] == 3  # the fewest months over the dated tables present
    assert (cov["steps"], cov["inspection_rows"]) == (2, 6)
    assert (cov["characteristics"], cov["key_characteristics"]) == (2, 1)
    assert cov["key_characteristics_computed"] == 1 and cov["measurements"] == 24
    assert cov["rows_outside_year"] == {"measurements": 2}
    assert cov["tables"] == sorted(tables)
    # the evaluator warns: 3 months < the model's 12
    res = assess((tables, {}), year=YEAR).result
    assert res.coverage["months"] == 3
    assert any("cover 3 months" in w for w in res.warnings)


def test_alt_model_metrics_and_coverage() -> None:
    alt = load_model(ALT_FILE)
    qc = pl.DataFrame(
        {
            "date": [D(2024, 1, 5), D(2024, 2, 5), D(2024, 3, 5)],
            "category": ["scrap.a", "scrap.b", "internal.scrap"],
            "amount": [30.0, 10.0, 7.0],
        }
    )
    insp = pl.DataFrame(
        {"date": [D(2024, 1, 1)], "step": ["A"], "submitted": [9], "passed_first": [9]}
    )
    ov = pl.DataFrame({"year": [2024], "total_output_value": [2_000.0]})
    b = metrics({"quality_costs": qc, "output_value": ov, "inspections": insp}, model=alt)
    assert set(b.metrics) == {"min_cpk", "scrap_rate"}
    m = b.metrics["scrap_rate"]
    # the model's own categories: (30 + 10) / 2 000 = 2 %
    assert m.value == pytest.approx(0.02)
    assert [(c["category"], c["name_zh"]) for c in m.detail["categories"]] == [
        ("scrap.a", "甲类报废"),
        ("scrap.b", "乙类报废"),
    ]
    # the model computes no yield, yet its inspection row of 2024 is not "outside the year"
    assert b.coverage["rows_outside_year"] == {} and b.coverage["inspection_rows"] == 1
    sa = pl.DataFrame(
        {"item": ["q_plan", "q_people"], "level": [5, 5], "evidence": ["计划", "矩阵"]}
    )
    res = assess(
        ({"quality_costs": qc, "output_value": ov, "self_assessment": sa}, {}), model=alt
    ).result
    assert res.model_id == "test/alt-model"
    assert res.metrics["scrap_rate"].level == 4  # 2 % ≤ 2 % (op <=)
    assert res.level == 1 and [c.item for c in res.binding] == ["min_cpk"]


def model_variant(tmp_path: Path, *edits: tuple[str, str]) -> Any:
    """The alternative model with some of its text replaced."""
    text = ALT_FILE.read_text(encoding="utf-8")
    for old, new in edits:
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / f"variant{len(list(tmp_path.iterdir()))}.toml"
    path.write_text(text, encoding="utf-8")
    return load_model(path)


PARAMS = (
    '[indicators.params]\ncategories = [["scrap.a", "甲类报废", "scrap A"], '
    '["scrap.b", "乙类报废", "scrap B"]]\n'
)


def test_loss_rate_category_fallback_and_other_methods(tmp_path: Path) -> None:
    qc = pl.DataFrame(
        {
            "date": [D(2024, 1, 5)] * 3,
            "category": ["scrap.a", "报废", "索赔"],
            "amount": [9.0, 7.0, 5.0],
        }
    )
    ov = pl.DataFrame({"year": [2024], "total_output_value": [2e3]})
    tables = {"quality_costs": qc, "output_value": ov}
    # no params.categories and an id with "internal": the internal.* categories, 7 / 2 000
    fallback = model_variant(tmp_path, (PARAMS, ""), ('id = "scrap_rate"', 'id = "internal_scrap"'))
    b = metrics(tables, model=fallback)
    assert b.metrics["internal_scrap"].value == pytest.approx(7 / 2e3)
    assert [c["category"] for c in b.metrics["internal_scrap"].detail["categories"]] == [
        "internal.scrap"
    ]
    # no categories and neither internal nor external in the id: not computed, with a warning
    b = metrics(tables, model=model_variant(tmp_path, (PARAMS, "")))
    m = b.metrics["scrap_rate"]
    assert m.value is None
    assert m.detail["reason"] == "the model gives no cost categories for this rate"
    assert any("params.categories" in w for w in b.warnings)
    # a "generic" metric has no computation from raw data
    generic = model_variant(tmp_path, ('method = "loss_rate"', 'method = "generic"'))
    b = metrics(tables, model=generic)
    assert b.metrics["scrap_rate"].value is None
    assert any("no computation from raw data for method 'generic'" in w for w in b.warnings)


# ------------------------------------------------------------------------------------------------
# The self_assessment answers
# ------------------------------------------------------------------------------------------------
def answers_outcome(sa: pl.DataFrame) -> Any:
    return assess(({"self_assessment": sa}, {"name": "厂"}), year=YEAR)


def test_duplicate_items_take_the_lowest_level_and_merge_the_evidence() -> None:
    sa = pl.DataFrame(
        {
            "item": ["leadership", "leadership", " quality_strategy "],
            "level": [4, 2, 3],
            "evidence": ["手册;记录", "记录\n培训", "A；B ; ;C"],
            "respondent": ["甲", "乙", None],
        }
    )
    out = answers_outcome(sa)
    r = out.result.indicator("leadership")
    assert (r.level, r.claimed, r.respondent) == (2, 2, "乙")
    assert r.evidence == ("手册", "记录", "培训")  # split on ; and newlines, duplicates once
    assert (
        "self_assessment: item 'leadership' is answered more than once; the lowest level "
        "counts (2)." in out.warnings
    )
    q = out.result.indicator("quality_strategy")  # the item's spaces are stripped
    assert (q.level, q.evidence) == (3, ("A", "B", "C"))  # full-width ；too, blanks dropped


def test_blank_levels_are_unanswered_and_listed() -> None:
    sa = pl.DataFrame(
        {
            "item": ["participation", "customer_focus", "risk_prevention"],
            "level": [None, None, 3],
            "evidence": [None, "x", None],
        },
        schema_overrides={"level": pl.Int64},
    )
    out = answers_outcome(sa)
    assert out.result.indicator("participation").reached_by == "unanswered"
    assert out.result.indicator("customer_focus").level == 1
    assert (
        "self_assessment: 2 item(s) without a level are unanswered: participation, customer_focus."
        in out.warnings
    )
    # an answer above 1 without evidence is counted and listed as unsupported
    r = out.result.indicator("risk_prevention")
    assert (r.level, r.reached_by, r.evidence_ok) == (3, "answer_unsupported", False)
    assert [u.item for u in out.result.unsupported] == ["risk_prevention"]
    # a questionnaire with no level at all (a column of nulls) is unanswered, not an error
    empty = pl.DataFrame({"item": ["leadership", "participation"], "level": [None, None]})
    out = answers_outcome(empty)
    assert out.result.indicator("leadership").reached_by == "unanswered"
    assert any("2 item(s) without a level" in w for w in out.warnings)


@pytest.mark.parametrize("level", [6, 0, -1, 2.5, 5.5])
def test_levels_outside_1_to_5_are_row_problems(level: Any) -> None:
    sa = pl.DataFrame({"item": ["leadership", "participation"], "level": [float(3), level]})
    if isinstance(level, int):
        sa = sa.with_columns(pl.col("level").cast(pl.Int64))
    with pytest.raises(ValidationError) as exc:
        answers_outcome(sa)
    assert problems(exc) == [("self_assessment", 3, "level", level, "out_of_range")]


def test_answers_need_an_item_and_numeric_levels() -> None:
    with pytest.raises(ValidationError) as exc:
        answers_outcome(pl.DataFrame({"item": ["leadership", None], "level": [3, 2]}))
    assert [(p[1], p[2], p[4]) for p in problems(exc)] == [(3, "item", "missing_item")]
    with pytest.raises(DataError, match=r"must hold numbers 1\.\.5") as exc2:
        answers_outcome(pl.DataFrame({"item": ["leadership"], "level": ["三"]}))
    assert exc2.value.code == "not_a_number"
    with pytest.raises(DataError, match="no column 'level'"):
        answers_outcome(pl.DataFrame({"item": ["leadership"]}))


def test_integral_float_levels_are_levels() -> None:
    sa = pl.DataFrame({"item": ["leadership"], "level": [4.0], "evidence": ["记录"]})
    assert answers_outcome(sa).result.indicator("leadership").level == 4
