"""Hand-computed enterprise cases of the five-level self-assessment, from raw tables.

Each case builds the canonical tables of one enterprise (DESIGN.md, *Data contracts*) for 2024,
answers every questionnaire indicator at 卓越级 with evidence (so that the metrics decide), runs
:func:`zhuoyue.services.assessment.assess` and checks the level, the metrics, the binding
constraints and the gaps against numbers computed here, independently of the code under test:

* thresholds: the annex of 工信部联科〔2023〕249号 (the table in DESIGN.md);
* sigma level: Z = 1.5 + Φ⁻¹(1 − ppm/10⁶) with ``scipy.stats.norm`` (the 1.5σ shift of the
  annex's glossary 1), so that 4σ is exactly Φ(−2.5)·10⁶ = 6 209.665 ppm;
* Cpk: min((USL − x̄), (x̄ − LSL)) / 3σ with σ within = pooled SD / c4(Σ(nᵢ − 1) + 1), the default
  of :func:`zhuoyue.stats.capability` for subgroups, c4 from its closed form with ``math.lgamma``;
  the specification limits are placed from the data so that Cpk is exactly the value wanted;
* rolled yield: Π (Σ passed_first / Σ submitted) per step (annex, glossary 3);
* loss rates: Σ failure cost ÷ annual output value (annex, glossary 4 and 5).

Scores: every questionnaire indicator at level 5 scores its weight (800 in all); each of the five
metrics scores 40 × (level − 1) / 4.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import polars as pl
import pytest
from scipy.stats import norm

from zhuoyue.excellence import AssessmentResult, default_model
from zhuoyue.services.assessment import AssessmentOutcome, assess

YEAR = 2024
MODEL = default_model()
METRICS = ("sigma_level", "cpk", "rolled_yield", "internal_loss_rate", "external_loss_rate")
OUTPUT_VALUE = 1_000_000.0  # 年度总产值 (元): 1 % of it is 10 000 元
SHIFT = 1.5
PPM_4_SIGMA = norm.cdf(-(4.0 - SHIFT)) * 1e6  # 6 209.665 ppm


# ------------------------------------------------------------------------------------------------
# Independent formulas
# ------------------------------------------------------------------------------------------------
def sigma_of(ppm: float) -> float:
    """Sigma level with the 1.5σ shift: Z = 1.5 + Φ⁻¹(1 − p)."""
    return SHIFT + float(norm.isf(ppm / 1e6))


def c4(n: int) -> float:
    """E[S] = c4(n)·σ: sqrt(2/(n−1)) Γ(n/2) / Γ((n−1)/2) (Montgomery, appendix VI)."""
    return math.sqrt(2.0 / (n - 1)) * math.exp(math.lgamma(n / 2) - math.lgamma((n - 1) / 2))


def pooled_sigma_within(values: np.ndarray, size: int) -> float:
    """Pooled SD of consecutive subgroups of ``size``, unbiased by c4(Σ(nᵢ − 1) + 1)."""
    groups = values.reshape(-1, size)
    dof = groups.shape[0] * (size - 1)
    ss = float(((groups - groups.mean(axis=1, keepdims=True)) ** 2).sum())
    return math.sqrt(ss / dof) / c4(dof + 1)


# ------------------------------------------------------------------------------------------------
# The raw tables of one enterprise
# ------------------------------------------------------------------------------------------------
N_SUBGROUPS, SUBGROUP = 25, 5


def _values(seed: int) -> np.ndarray:
    return 10.0 + np.random.default_rng(seed).normal(0.0, 0.05, N_SUBGROUPS * SUBGROUP)


KEY_VALUES = {"D1": _values(1), "D2": _values(2), "N1": _values(3)}
STATS = {c: (float(v.mean()), pooled_sigma_within(v, SUBGROUP)) for c, v in KEY_VALUES.items()}


def specs_for(code: str, cpk: float) -> tuple[float, float]:
    """(lsl, usl) that give ``code`` exactly ``cpk``: USL binds (Cpu = cpk, Cpl = cpk + 1)."""
    mean, sigma = STATS[code]
    return mean - 3.0 * (cpk + 1.0) * sigma, mean + 3.0 * cpk * sigma


def measurement_tables(cpk: float) -> dict[str, pl.DataFrame]:
    """Key D1 with Cpk ``cpk`` (the lowest), key D2 with ``cpk + 0.5``, non-key N1 with 0.5."""
    codes = list(KEY_VALUES)
    limits = [specs_for("D1", cpk), specs_for("D2", cpk + 0.5), specs_for("N1", 0.5)]
    chars = pl.DataFrame(
        {
            "code": codes,
            "name": ["外径", "长度", "外观"],
            "step": ["OP10", "OP20", "OP20"],
            "lsl": [lo for lo, _ in limits],
            "usl": [hi for _, hi in limits],
            "key": [True, True, False],
        }
    )
    n = N_SUBGROUPS * SUBGROUP
    start = dt.datetime(YEAR, 1, 1, 8)
    # one value every 70 hours: 125 values span the 12 months of 2024
    ts = [start + dt.timedelta(hours=70 * i) for i in range(n)]
    meas = pl.DataFrame(
        {
            "characteristic": [c for c in codes for _ in range(n)],
            "ts": ts * len(codes),
            "subgroup": [f"S{i // SUBGROUP + 1:02d}" for i in range(n)] * len(codes),
            "value": np.concatenate([KEY_VALUES[c] for c in codes]),
        }
    )
    return {"characteristics": chars, "measurements": meas}


def self_assessment(level: int = 5) -> pl.DataFrame:
    items = [i.id for i in MODEL.questionnaire]
    return pl.DataFrame(
        {
            "item": items,
            "level": [level] * len(items),
            "evidence": ["质量手册 QM-01; 记录 R-2024"] * len(items),
            "respondent": ["质量部"] * len(items),
        }
    )


def enterprise_tables(
    *,
    units: int = 1_000_000,
    defective: int = 3,
    cpk: float = 2.2,
    steps: list[tuple[int, int]] | None = None,
    internal: float | None = 5_000.0,
    external: float | None = 3_000.0,
    output_value: float | None = OUTPUT_VALUE,
) -> dict[str, pl.DataFrame]:
    """Raw tables of 2024; the defaults give 卓越级 on every metric.

    ``steps``: (submitted, passed_first) per step; ``internal`` / ``external``: the failure cost
    of the year (``None``: no row of that kind).
    """
    steps = [(1000, 995), (1000, 990)] if steps is None else steps
    tables = measurement_tables(cpk)
    tables["product_quality"] = pl.DataFrame(
        {"period": [str(YEAR)], "product": ["P1"], "units": [units], "defective": [defective]}
    )
    tables["inspections"] = pl.DataFrame(
        {
            "date": [dt.date(YEAR, 3 + i, 15) for i in range(len(steps))],
            "step": [f"OP{10 * (i + 1)}" for i in range(len(steps))],
            "submitted": [s for s, _ in steps],
            "passed_first": [p for _, p in steps],
        }
    )
    cost_rows: list[tuple[dt.date, str, float]] = [(dt.date(YEAR, 2, 1), "prevention", 8_000.0)]
    if internal is not None:
        cost_rows.append((dt.date(YEAR, 6, 30), "internal.scrap", internal))
    if external is not None:
        cost_rows.append((dt.date(YEAR, 9, 30), "external.claim", external))
    if internal is not None or external is not None:
        tables["quality_costs"] = pl.DataFrame(
            {
                "date": [d for d, _, _ in cost_rows],
                "category": [c for _, c, _ in cost_rows],
                "amount": [a for _, _, a in cost_rows],
            }
        )
    if output_value is not None:
        tables["output_value"] = pl.DataFrame(
            {"year": [YEAR], "total_output_value": [output_value]}
        )
    tables["self_assessment"] = self_assessment()
    return tables


def run(tables: dict[str, pl.DataFrame]) -> AssessmentOutcome:
    return assess((tables, {"name": "示例机械厂"}), year=YEAR)


def levels(res: AssessmentResult) -> dict[str, int]:
    return {k: res.metrics[k].level for k in METRICS}


def expected_score(metric_levels: dict[str, int]) -> float:
    return 800.0 + sum(40.0 * (lv - 1) / 4 for lv in metric_levels.values())


# ------------------------------------------------------------------------------------------------
# The independent formulas themselves, on textbook numbers
# ------------------------------------------------------------------------------------------------
def test_independent_formulas_match_the_printed_tables() -> None:
    # c4 (Montgomery, appendix VI): n = 2 → 0.7979, n = 5 → 0.9400, n = 25 → 0.9896
    assert [round(c4(n), 4) for n in (2, 5, 25)] == [0.7979, 0.9400, 0.9896]
    # the annex's sigma table (rounded there): 3σ 66 800, 4σ 6 200, 5σ 230, 6σ 3.4 ppm
    assert norm.cdf(-1.5) * 1e6 == pytest.approx(66_807.2, abs=0.1)
    assert round(PPM_4_SIGMA, 3) == 6_209.665
    assert norm.cdf(-3.5) * 1e6 == pytest.approx(232.6, abs=0.1)
    assert norm.cdf(-4.5) * 1e6 == pytest.approx(3.4, abs=0.05)


# ------------------------------------------------------------------------------------------------
# One enterprise at each of the five levels
# ------------------------------------------------------------------------------------------------
# (units, defective), Cpk of the lowest key characteristic, steps, internal, external failure cost
LEVEL_CASES: dict[int, dict[str, Any]] = {
    # ppm 100 000 → Z = 1.5 + 1.2816 = 2.78 < 3; Cpk 0.8 < 1; 0.90 × 0.95 = 0.855 < 0.90;
    # no quality_costs table: both loss rates not tracked
    1: {
        "defective": 100_000,
        "cpk": 0.8,
        "steps": [(1000, 900), (1000, 950)],
        "internal": None,
        "external": None,
    },
    # ppm 30 000 → Z = 1.5 + 1.8808 = 3.38; Cpk 1.1; 0.96 × 0.96 = 0.9216; 4.0 %, 3.0 % (tracked)
    2: {
        "defective": 30_000,
        "cpk": 1.1,
        "steps": [(1000, 960), (1000, 960)],
        "internal": 40_000.0,
        "external": 30_000.0,
    },
    # ppm 5 000 → Z = 1.5 + 2.5758 = 4.08; Cpk 1.4; 0.98 × 0.98 = 0.9604; 2.0 % < 3.0, 1.5 % < 2.3
    3: {
        "defective": 5_000,
        "cpk": 1.4,
        "steps": [(1000, 980), (1000, 980)],
        "internal": 20_000.0,
        "external": 15_000.0,
    },
    # ppm 100 → Z = 1.5 + 3.7190 = 5.22; Cpk 1.8; 0.99 × 0.985 = 0.97515; 1.0 % < 1.5, 0.8 % < 1.0
    4: {
        "defective": 100,
        "cpk": 1.8,
        "steps": [(1000, 990), (1000, 985)],
        "internal": 10_000.0,
        "external": 8_000.0,
    },
    # ppm 3 → Z = 1.5 + 4.5264 = 6.03; Cpk 2.2; 0.995 × 0.99 = 0.98505; 0.5 % < 0.75, 0.3 % < 0.5
    5: {
        "defective": 3,
        "cpk": 2.2,
        "steps": [(1000, 995), (1000, 990)],
        "internal": 5_000.0,
        "external": 3_000.0,
    },
}


@pytest.mark.parametrize("level", [1, 2, 3, 4, 5])
def test_enterprise_at_each_level(level: int) -> None:
    case = LEVEL_CASES[level]
    out = run(enterprise_tables(**case))
    res = out.result
    assert out.year == YEAR and res.level == level
    assert levels(res) == dict.fromkeys(METRICS, level)
    # the questionnaire is at 5: the performance aspect (which holds the metrics) is at `level`
    assert {a.id: a.level for a in res.aspects} == {
        "system": 5,
        "digital": 5,
        "success": 5,
        "performance": level,
    }
    assert res.score == pytest.approx(expected_score(dict.fromkeys(METRICS, level)))
    assert res.unsupported == ()

    m = res.metrics
    ppm = case["defective"] / 1_000_000 * 1e6
    assert m["sigma_level"].value == pytest.approx(sigma_of(ppm), rel=1e-9)
    assert m["sigma_level"].detail["ppm"] == pytest.approx(ppm, rel=1e-12)
    assert m["cpk"].value == pytest.approx(case["cpk"], rel=1e-9)
    assert m["cpk"].detail["lowest"] == "D1"
    ry = math.prod(p / s for s, p in case["steps"])
    assert m["rolled_yield"].value == pytest.approx(ry, rel=1e-12)
    for key in ("internal", "external"):
        amount = case[key]
        metric = m[f"{key}_loss_rate"]
        if amount is None:
            assert metric.value is None and metric.status == "not_tracked"
        else:
            assert metric.value == pytest.approx(amount / OUTPUT_VALUE, rel=1e-12)

    if level == 5:
        assert res.binding == () and res.gaps == ()
    else:
        # every metric sits at `level`: all five bind, and each has a gap to level + 1
        assert {c.item for c in res.binding} == set(METRICS)
        assert all(c.kind == "metric" and c.next_level == level + 1 for c in res.binding)
        gaps = {g.item: g for g in res.gaps}
        assert set(gaps) == set(METRICS)
        assert all(g.binding and g.target_level == level + 1 for g in gaps.values())


def test_level_gaps_in_numbers_at_assurance() -> None:
    res = run(enterprise_tables(**LEVEL_CASES[3])).result
    gaps = {g.item: g for g in res.gaps}
    # sigma: 4.0758 → ≥ 5: raise by 5 − (1.5 + Φ⁻¹(1 − 0.005))
    assert gaps["sigma_level"].difference == pytest.approx(5.0 - sigma_of(5_000), rel=1e-9)
    # Cpk 1.40 → ≥ 1.67: raise by 0.27
    assert gaps["cpk"].difference == pytest.approx(0.27, rel=1e-9)
    # rolled yield 96.04 % → ≥ 97 %: 0.96 percentage point
    assert gaps["rolled_yield"].current == pytest.approx(96.04)
    assert gaps["rolled_yield"].difference == pytest.approx(0.96)
    # internal 2.00 % → < 1.50 %: −0.50 pp; external 1.50 % → < 1.00 %: −0.50 pp
    assert gaps["internal_loss_rate"].difference == pytest.approx(-0.5)
    assert gaps["external_loss_rate"].difference == pytest.approx(-0.5)
    assert gaps["external_loss_rate"].unit == "%"


def test_level_1_reasons_name_the_missing_costs() -> None:
    res = run(enterprise_tables(**LEVEL_CASES[1])).result
    for key in ("internal_loss_rate", "external_loss_rate"):
        m = res.metrics[key]
        assert (m.level, m.status, m.value) == (1, "not_tracked", None)
        assert m.reason_en == "not tracked: no quality_costs table"
        assert res.to_dict()["metrics"][key]["value"] is None
    binding = {c.item: c for c in res.binding}
    assert binding["external_loss_rate"].message_en == (
        "held at 经验级 (Experience) by the external quality loss rate: not tracked: no "
        "quality_costs table (检验级 needs it tracked)"
    )
    assert binding["cpk"].message_en.endswith("0.80 < 1.00 (检验级 needs ≥ 1.00)")


# ------------------------------------------------------------------------------------------------
# The example: held at 保证级 by the external loss rate 1.3 % ≥ 1.0 %
# ------------------------------------------------------------------------------------------------
def test_external_loss_binds_with_its_gap_in_percent_and_money() -> None:
    # everything at 预防级 but the external failure cost: 13 000 / 1 000 000 = 1.30 %
    out = run(enterprise_tables(**dict(LEVEL_CASES[4], external=13_000.0)))
    res = out.result
    assert res.level == 3
    assert levels(res) == {
        "sigma_level": 4,
        "cpk": 4,
        "rolled_yield": 4,
        "internal_loss_rate": 4,
        "external_loss_rate": 3,
    }
    assert [c.item for c in res.binding] == ["external_loss_rate"]
    assert res.binding[0].message_en == (
        "held at 保证级 (Assurance) by the external quality loss rate 1.30 % ≥ 1.00 % "
        "(预防级 needs < 1.00 %)"
    )
    assert res.binding[0].message_zh == (
        "外部质量损失率 1.30 % 未低于 1.00 %，等级停留在保证级（预防级要求 < 1.00 %）"
    )
    [gap] = res.gaps
    assert (gap.item, gap.target_level, gap.op, gap.unit) == ("external_loss_rate", 4, "<", "%")
    assert gap.current == pytest.approx(1.3) and gap.required == pytest.approx(1.0)
    assert gap.difference == pytest.approx(-0.3)  # 0.3 percentage point of the output value
    # in money: 13 000 − 1.0 % × 1 000 000 = 3 000 元 to cut (strictly more: the threshold is <)
    action = next(a for a in res.plan if a.item == "external_loss_rate" and "cut" in a.target)
    assert "a cut of more than 3,000.00" in action.action_en
    assert action.target["cost"] == pytest.approx(13_000.0)
    assert action.target["cost_allowed"] == pytest.approx(10_000.0)
    assert action.target["cut"] == pytest.approx(3_000.0)
    # score: 800 + 4 metrics × 40 × 3/4 + 40 × 2/4 = 800 + 120 + 20
    assert res.score == pytest.approx(940.0)


# ------------------------------------------------------------------------------------------------
# Boundaries: every other metric is at 卓越级, so the metric under test decides the level
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("cpk", "level"), [(1.33, 3), (1.3299, 2), (1.0, 2), (0.9999, 1)])
def test_cpk_boundary(cpk: float, level: int) -> None:
    # specs placed from the data: USL = x̄ + 3 × cpk × σ within, so Cpk = cpk exactly
    res = run(enterprise_tables(cpk=cpk)).result
    assert res.metrics["cpk"].value == pytest.approx(cpk, rel=1e-12)
    assert res.metrics["cpk"].level == level and res.level == level
    assert [c.item for c in res.binding] == ["cpk"]
    detail = res.metrics["cpk"].detail
    assert detail["failing_next"] == ["D1"]  # D2 (cpk + 0.5) reaches the next level
    assert detail["next_threshold"] == {1: 1.0, 2: 1.33, 3: 1.67}[level]


def test_cpk_exactly_1_33_is_assurance_with_its_gap_to_1_67() -> None:
    res = run(enterprise_tables(cpk=1.33)).result
    [gap] = res.gaps
    assert (gap.item, gap.required) == ("cpk", 1.67)
    assert gap.difference == pytest.approx(1.67 - 1.33, rel=1e-9)
    assert res.binding[0].message_en == (
        "held at 保证级 (Assurance) by the process capability index Cpk (lowest key "
        "characteristic) 1.33 < 1.67 (预防级 needs ≥ 1.67)"
    )


@pytest.mark.parametrize(
    ("steps", "expected", "level"),
    [
        ([(200, 190)], 190 / 200, 3),  # 95 % exactly, one step
        ([(100, 96), (96, 95)], 0.96 * 95 / 96, 3),  # 0.96 × 0.98958… = 0.95 exactly
        ([(10_000, 9_499)], 0.9499, 2),  # 94.99 %
        ([(100, 95), (100, 100), (1000, 1000)], 0.95, 3),  # perfect steps change nothing
        ([(200, 180)], 0.90, 2),  # 90 % exactly: 检验级
        ([(10_000, 8_999)], 0.8999, 1),
    ],
)
def test_rolled_yield_boundary(steps: list[tuple[int, int]], expected: float, level: int) -> None:
    res = run(enterprise_tables(steps=steps)).result
    assert res.metrics["rolled_yield"].value == pytest.approx(expected, rel=1e-12)
    assert res.metrics["rolled_yield"].level == level and res.level == level
    assert [c.item for c in res.binding] == ["rolled_yield"]


def test_rolled_yield_of_95_percent_from_pooled_rows() -> None:
    # step OP10 in two rows, 60/58 and 40/38: pooled 96/100; OP20 96/95 → 0.96 × 95/96 = 0.95
    tables = enterprise_tables()
    tables["inspections"] = pl.DataFrame(
        {
            "date": [dt.date(YEAR, 1, 5), dt.date(YEAR, 2, 5), dt.date(YEAR, 2, 6)],
            "step": ["OP10", "OP20", "OP10"],
            "submitted": [60, 96, 40],
            "passed_first": [58, 95, 38],
        }
    )
    res = run(tables).result
    ry = res.metrics["rolled_yield"]
    assert ry.value == pytest.approx(0.95, rel=1e-12) and ry.level == 3
    assert [(s["step"], s["submitted"], s["passed_first"]) for s in ry.detail["steps"]] == [
        ("OP10", 100, 96),
        ("OP20", 96, 95),
    ]


@pytest.mark.parametrize(
    ("internal", "level"),
    [
        (29_900.0, 3),  # 2.99 % < 3.0 %: 保证级
        (30_000.0, 2),  # 3.00 % is not < 3.0 %: 检验级 (tracked)
        (14_999.0, 4),  # 1.4999 % < 1.5 %
        (15_000.0, 3),
        (7_499.0, 5),
        (7_500.0, 4),
    ],
)
def test_internal_loss_boundary(internal: float, level: int) -> None:
    res = run(enterprise_tables(internal=internal)).result
    m = res.metrics["internal_loss_rate"]
    assert m.value == pytest.approx(internal / OUTPUT_VALUE, rel=1e-12)
    assert m.level == level and res.level == level
    assert [c.item for c in res.binding] == ([] if level == 5 else ["internal_loss_rate"])


def test_internal_loss_of_3_percent_binds_at_inspection() -> None:
    res = run(enterprise_tables(internal=30_000.0)).result
    assert res.binding[0].message_en == (
        "held at 检验级 (Inspection) by the internal quality loss rate 3.00 % ≥ 3.00 % "
        "(保证级 needs < 3.00 %)"
    )
    [gap] = res.gaps
    assert gap.current == pytest.approx(3.0) and gap.required == pytest.approx(3.0)
    assert gap.difference == pytest.approx(0.0, abs=1e-12)
    action = next(a for a in res.plan if a.item == "internal_loss_rate" and "cut" in a.target)
    assert action.target["cut"] == pytest.approx(0.0, abs=1e-6)  # and strictly more than 0


@pytest.mark.parametrize(
    ("external", "level"),
    [(22_999.0, 3), (23_000.0, 2), (9_999.0, 4), (10_000.0, 3), (4_999.0, 5), (5_000.0, 4)],
)
def test_external_loss_boundary(external: float, level: int) -> None:
    res = run(enterprise_tables(external=external)).result
    assert res.metrics["external_loss_rate"].value == pytest.approx(external / OUTPUT_VALUE)
    assert res.metrics["external_loss_rate"].level == level and res.level == level


def test_untracked_costs_are_experience_level() -> None:
    # no cost row at all: neither rate is tracked → 经验级 for both, the enterprise at 经验级
    res = run(enterprise_tables(internal=None, external=None)).result
    assert res.level == 1
    assert {c.item for c in res.binding} == {"internal_loss_rate", "external_loss_rate"}
    for key in ("internal_loss_rate", "external_loss_rate"):
        m = res.metrics[key]
        assert (m.value, m.status, m.level) == (None, "not_tracked", 1)
        assert m.value != 0.0
    # internal rows only: the external rate is not tracked, with the fix in its reason
    res = run(enterprise_tables(external=None)).result
    assert res.level == 1 and [c.item for c in res.binding] == ["external_loss_rate"]
    reason = res.metrics["external_loss_rate"].detail["reason"]
    assert "record a row with amount 0" in reason
    # costs without the year's output value: not tracked either
    res = run(enterprise_tables(output_value=None)).result
    assert res.level == 1
    for key in ("internal_loss_rate", "external_loss_rate"):
        assert res.metrics[key].status == "not_tracked"
        assert (
            res.metrics[key].detail["reason"] == "no output_value table (annual total output value)"
        )


def test_a_zero_amount_row_declares_a_tracked_zero() -> None:
    # a year without external failures is declared by one row of amount 0 → 0 % < 0.5 %: 卓越级
    res = run(enterprise_tables(external=0.0)).result
    m = res.metrics["external_loss_rate"]
    assert (m.value, m.status, m.level) == (0.0, "ok", 5)
    assert res.level == 5


@pytest.mark.parametrize(
    ("defective", "level"),
    [
        (6_209, 3),  # 6 209 ppm < 6 209.665: Z = 4.00004 ≥ 4
        (6_210, 2),  # 6 210 ppm > 6 209.665: Z = 3.99998 < 4
        (66_807, 2),  # 66 807 < Φ(−1.5)·10⁶ = 66 807.2: just 3σ
        (66_808, 1),
        (233, 3),  # 233 > Φ(−3.5)·10⁶ = 232.63: just below 5σ
        (232, 4),
        (3, 5),  # 3 < 3.398: 6σ
        (4, 4),
    ],
)
def test_sigma_level_boundary(defective: int, level: int) -> None:
    # 1 000 000 units: ppm = defective
    res = run(enterprise_tables(defective=defective)).result
    m = res.metrics["sigma_level"]
    assert m.value == pytest.approx(sigma_of(defective), rel=1e-9)
    assert m.level == level and res.level == level
    assert [c.item for c in res.binding] == ([] if level == 5 else ["sigma_level"])


def test_sigma_at_the_4_sigma_ppm_from_both_sides() -> None:
    below, above = math.floor(PPM_4_SIGMA), math.ceil(PPM_4_SIGMA)
    assert (below, above) == (6_209, 6_210)
    lo = run(enterprise_tables(defective=above)).result.metrics["sigma_level"]
    hi = run(enterprise_tables(defective=below)).result.metrics["sigma_level"]
    assert lo.value < 4.0 < hi.value
    # the distance is real, not rounding: |ΔZ| ≈ 0.66 ppm / (10⁶ φ(2.5)) ≈ 3.8e-5
    assert 4.0 - lo.value == pytest.approx((above - PPM_4_SIGMA) / 1e6 / norm.pdf(2.5), rel=1e-3)


def test_sigma_level_from_defects_and_opportunities_at_4_sigma() -> None:
    # 10 000 units × 100 opportunities = 10⁶ opportunities; 6 209 defects → 6 209 DPMO
    for defects, level in ((6_209, 3), (6_210, 2)):
        tables = enterprise_tables()
        tables["product_quality"] = pl.DataFrame(
            {
                "period": ["2024Q1", "2024Q2"],
                "units": [4_000, 6_000],
                "defects": [2_000, defects - 2_000],
                "opportunities": [100, 100],
            }
        )
        res = run(tables).result
        m = res.metrics["sigma_level"]
        assert m.detail["basis"] == "defects"
        assert m.detail["dpmo"] == pytest.approx(defects, rel=1e-12)
        assert m.value == pytest.approx(sigma_of(defects), rel=1e-9)
        assert m.level == level


# ------------------------------------------------------------------------------------------------
# All five metrics exactly at the 保证级 boundaries at once
# ------------------------------------------------------------------------------------------------
def test_enterprise_exactly_at_every_assurance_boundary() -> None:
    tables = enterprise_tables(
        defective=6_209,  # Z just above 4
        cpk=1.33,
        steps=[(200, 190)],  # 95 %
        internal=29_900.0,  # 2.99 %
        external=22_900.0,  # 2.29 %
    )
    res = run(tables).result
    assert res.level == 3
    assert levels(res) == dict.fromkeys(METRICS, 3)
    # and one unit more of internal loss per 100 000 → 3.00 %: 检验级, held by that rate alone
    tables = dict(tables)
    tables["quality_costs"] = tables["quality_costs"].with_columns(
        pl.when(pl.col("category") == "internal.scrap")
        .then(30_000.0)
        .otherwise(pl.col("amount"))
        .alias("amount")
    )
    res = run(tables).result
    assert res.level == 2 and [c.item for c in res.binding] == ["internal_loss_rate"]


def test_an_unanswered_indicator_binds_with_the_metrics_at_excellence() -> None:
    # metrics at 卓越级; the questionnaire at 5 except one item answered 2 with evidence
    tables = enterprise_tables()
    tables["self_assessment"] = self_assessment().with_columns(
        pl.when(pl.col("item") == "risk_prevention")
        .then(2)
        .otherwise(pl.col("level"))
        .alias("level")
    )
    res = run(tables).result
    assert res.level == 2
    assert levels(res) == dict.fromkeys(METRICS, 5)
    assert [c.item for c in res.binding] == ["risk_prevention"]
    assert res.binding[0].kind == "indicator"
    assert res.indicator("risk_prevention").evidence == ("质量手册 QM-01", "记录 R-2024")
