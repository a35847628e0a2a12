"""Sigma level, yields, DPMO and cost of quality against reference values.

* ``shared/reference/spc/sigma_dpmo`` (R 4.2.2 ``pnorm``/``qnorm``): every block of
  ``expected.json`` -- one tail, two tails, no shift, inverse, from yield, table rounding.
* The conventional Six Sigma table and the policy annex (《制造业卓越质量工程实施意见》附件,
  名词解释 1), at their printed precision.
* Published yield and DPMO examples, each cited where it is used.
* Yields and the cost of quality against formulas written out independently in this file.

Tolerances: ``RTOL = 1e-9`` protects exact maths (a change of formula or convention moves a value
by far more; zhuoyue agrees with R to ~1e-15 today). Published values are compared at their
printed precision: zhuoyue's value is rounded the way the source printed it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from scipy import special

from zhuoyue.stats.sigma import ANNEX_PPM, defect_rate, sigma_level
from zhuoyue.stats.yields import (
    CATEGORIES,
    cost_of_quality,
    dpmo,
    dpu,
    first_pass_yield,
    rolled_yield,
)

# protects exact maths (see the module docstring)
RTOL = 1e-9


def close(actual: Any, expected: Any, rtol: float = RTOL) -> None:
    np.testing.assert_allclose(
        np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64), rtol=rtol
    )


@pytest.fixture
def case(reference: Callable[[str], Any]) -> Any:
    return reference("sigma_dpmo")


# --------------------------------------------------------------------------- sigma_dpmo case


def test_case_inputs_match_expected(case: Any) -> None:
    """data.csv and data_inverse.csv hold the same points as expected.json."""
    close(case.column("sigma_level"), case.expected["sigma_levels"], rtol=0)
    inverse = case.read("data_inverse.csv")
    close(case.column("dpmo", inverse), case.expected["inverse_dpmo_points"], rtol=0)


def test_one_tail_with_shift(case: Any) -> None:
    """DPMO(s) = 1e6 (1 - Φ(s - 1.5)): the conventional table."""
    res = defect_rate(case.column("sigma_level"))
    close(res.dpmo, case.expected["dpmo_one_tail"])
    close(res.ppm, case.expected["dpmo_one_tail"])
    close(1.0 - res.yield_, np.asarray(case.expected["dpmo_one_tail"]) / 1e6)
    assert (res.shift, res.tails, res.given) == (1.5, 1, "level")


def test_two_tails_with_shift(case: Any) -> None:
    """DPMO2(s) = 1e6 ((1 - Φ(s - 1.5)) + Φ(-s - 1.5))."""
    res = defect_rate(case.column("sigma_level"), tails=2)
    close(res.dpmo, case.expected["dpmo_two_tail"])


def test_two_tails_inverse(case: Any) -> None:
    """The numerical two-tailed inverse recovers the levels from R's two-tailed DPMO."""
    res = sigma_level(dpmo=case.expected["dpmo_two_tail"], tails=2)
    close(res.level, case.expected["sigma_levels"])


def test_no_shift(case: Any) -> None:
    """1e6 (1 - Φ(s)): short-term Z, and back."""
    res = defect_rate(case.column("sigma_level"), shift=0)
    close(res.dpmo, case.expected["dpmo_no_shift"])
    back = sigma_level(dpmo=case.expected["dpmo_no_shift"], shift=0)
    close(back.level, case.expected["sigma_levels"])


def test_inverse(case: Any) -> None:
    """s(DPMO) = Φ⁻¹(1 - DPMO/1e6) + 1.5, from DPMO and from PPM alike."""
    points = case.column("dpmo", case.read("data_inverse.csv"))
    close(sigma_level(dpmo=points).level, case.expected["inverse_sigma_level"])
    close(sigma_level(ppm=points).level, case.expected["inverse_sigma_level"])


def test_from_yield(case: Any) -> None:
    """s(Y) = Φ⁻¹(Y) + 1.5."""
    res = sigma_level(yield_=case.expected["yield_points"])
    close(res.level, case.expected["sigma_from_yield"])
    assert res.given == "yield"


def test_inverse_scalars_one_by_one(case: Any) -> None:
    """Scalars in, floats out, the same values as the vectorized call."""
    for d, s in zip(
        case.expected["inverse_dpmo_points"], case.expected["inverse_sigma_level"], strict=True
    ):
        level = sigma_level(dpmo=d).level
        assert isinstance(level, float)
        close(level, s)


def test_table_check_rounded(case: Any) -> None:
    """The ``table_check_rounded`` block: 6σ → 3.4, 5σ → 233, 4σ → 6 210, 3σ → 66 807."""
    table = case.expected["table_check_rounded"]
    assert round(defect_rate(6).dpmo, 1) == table["s6"]
    assert round(defect_rate(5).dpmo) == table["s5"]
    assert round(defect_rate(4).dpmo, -1) == table["s4"]
    assert round(defect_rate(3).dpmo) == table["s3"]


# --------------------------------------------------------------------------- published tables


def test_conventional_table_at_printed_precision() -> None:
    """The conventional Six Sigma conversion table (the published cross-check named in the
    ``source`` of the sigma_dpmo case; also Montgomery, *Introduction to Statistical Quality
    Control*, ch. 1): 1σ → 691 462, 2σ → 308 537, 3σ → 66 807, 4σ → 6 210, 5σ → 233,
    6σ → 3.4. Versions of the table round some entries and truncate others (308 537.54 is
    printed 308 537, 6 209.67 as 6 210), so "printed precision" is: within one unit of the last
    printed digit."""
    res = defect_rate([1, 2, 3, 4, 5, 6])
    printed = [691_462, 308_537, 66_807, 6_210, 233, 3.4]
    unit = [1, 1, 1, 1, 1, 0.1]
    for value, p, u in zip(res.dpmo.tolist(), printed, unit, strict=True):
        assert abs(value - p) < u, (value, p)
    # the 6σ yield as usually printed: 99.99966 %
    assert round(100 * float(res.yield_[5]), 5) == 99.99966


def test_policy_annex_figures() -> None:
    """The annex, 名词解释 1: "当σ值达到6时 … 每百万单位只有3.4个不良品；… 5 … 230个；… 4 …
    6200个；… 3 … 66800个". Each figure is the exact value rounded as printed (3.4 to one decimal,
    230 and 6 200 to two significant figures, 66 800 to three), and results carry it."""
    assert dict(ANNEX_PPM) == {3: 66800.0, 4: 6200.0, 5: 230.0, 6: 3.4}
    res = defect_rate([3, 4, 5, 6])
    d = [float(x) for x in res.dpmo]
    assert round(d[3], 1) == 3.4
    assert float(f"{d[2]:.2g}") == 230
    assert float(f"{d[1]:.2g}") == 6200
    assert float(f"{d[0]:.3g}") == 66800
    close(res.annex_ppm, [66800, 6200, 230, 3.4], rtol=0)
    assert defect_rate(6).annex_ppm == 3.4
    # the annex's own figures map back to the annex levels (to two decimals, as quoted)
    back = sigma_level(ppm=[66800, 6200, 230, 3.4])
    assert np.round(back.level, 2).tolist() == [3.0, 4.0, 5.0, 6.0]
    close(back.annex_ppm, [66800, 6200, 230, 3.4], rtol=0)


def test_annex_figure_only_for_the_annex_convention() -> None:
    assert defect_rate(6, shift=0).annex_ppm is None
    assert defect_rate(6, tails=2).annex_ppm is None
    assert defect_rate(5.5).annex_ppm is None
    assert np.isnan(defect_rate([5.5, 6]).annex_ppm[0])


def test_short_term_three_sigma_keller() -> None:
    """Keller, *Six Sigma Demystified*, 2nd ed. (McGraw-Hill, 2011), p. 106: without the
    shift, the area beyond 3σ is 0.00135, "resulting in 1,350 DPMO"."""
    res = defect_rate(3, shift=0)
    assert round(res.dpmo / 1e6, 5) == 0.00135
    assert round(res.dpmo, -1) == 1350


# --------------------------------------------------------------------------- yields


def test_rolled_yield_three_steps_by_hand() -> None:
    """0.95 · 0.98 · 0.99 = 0.92169; normalized yield = its cube root; weakest = first step."""
    res = rolled_yield(first_pass_yields=[0.95, 0.98, 0.99], step=["机加工", "热处理", "装配"])
    assert res.rolled_yield == pytest.approx(0.95 * 0.98 * 0.99, rel=1e-15)
    close(res.rolled_yield, 0.92169)
    close(res.normalized_yield, math.exp((math.log(0.95) + math.log(0.98) + math.log(0.99)) / 3))
    assert res.weakest_step == "机加工"
    assert res.steps == ("机加工", "热处理", "装配")
    assert res.submitted is None and res.passed_first is None


def test_rolled_yield_from_counts_by_hand() -> None:
    """Rows of the same step are pooled first: FPY_step = Σ passed / Σ submitted."""
    step = ["cut", "weld", "cut", "paint", "weld", "cut"]
    submitted = [400, 350, 100, 300, 150, 500]
    passed = [388, 330, 96, 297, 149, 490]
    res = rolled_yield(submitted, passed, step=step)
    # independent computation: a dict per step, in order of first appearance
    sums: dict[str, list[int]] = {}
    for s, n, p in zip(step, submitted, passed, strict=True):
        acc = sums.setdefault(s, [0, 0])
        acc[0] += n
        acc[1] += p
    fpy = {s: p / n for s, (n, p) in sums.items()}
    assert res.steps == tuple(sums)
    close(res.first_pass_yield, list(fpy.values()))
    assert res.submitted.tolist() == [v[0] for v in sums.values()]
    assert res.passed_first.tolist() == [v[1] for v in sums.values()]
    rty = math.prod(fpy.values())
    close(res.rolled_yield, rty)
    close(res.normalized_yield, rty ** (1 / 3))
    assert res.weakest_step == min(fpy, key=lambda k: fpy[k])
    assert res.n_rows == 6 and res.n_steps == 3


def test_rolled_yield_to_dict_contract() -> None:
    res = rolled_yield([200, 300], [190, 297], step=["A", "B"])
    out = res.to_dict()
    assert out["steps"] == [
        {"step": "A", "submitted": 200, "passed_first": 190, "first_pass_yield": 0.95},
        {"step": "B", "submitted": 300, "passed_first": 297, "first_pass_yield": 0.99},
    ]
    assert out["weakest_step"] == "A"
    close(out["rolled_yield"], 0.95 * 0.99)
    close(out["normalized_yield"], math.sqrt(0.95 * 0.99))
    assert {"n_steps", "n_rows", "warnings"} <= out.keys()


def test_first_pass_yield_by_hand() -> None:
    """一次交验合格率 = 初次提交检验的合格品数量 / 全部交验产品总数量 (annex, 名词解释 3)."""
    close(first_pass_yield([250, 80, 1000], [240, 80, 985]), [240 / 250, 1.0, 0.985])
    assert first_pass_yield(200, 190) == 0.95


def test_rolled_yield_pyzdek_table_24() -> None:
    """Pyzdek, *The Six Sigma Project Planner* (McGraw-Hill, 2003), p. 241, Table 24: a
    four-step process with DPMO 5 000, 15 000, 1 000 and 50 per step, step yields
    1 - DPMO/10⁶, "Rolled Throughput Yield = 0.995 x 0.985 x 0.999 x 0.99995 = 0.979"; "to get
    1,000 units out of this process, you should start with … 1,022 units of input"."""
    step_dpmo = np.array([5_000, 15_000, 1_000, 50])
    res = rolled_yield(first_pass_yields=1 - step_dpmo / 1e6)
    assert round(res.rolled_yield, 3) == 0.979
    assert math.ceil(1000 / res.rolled_yield) == 1022
    # the same from counts: a million units submitted at each step
    counts = rolled_yield(np.full(4, 1_000_000), 1_000_000 - step_dpmo)
    close(counts.rolled_yield, res.rolled_yield)
    assert counts.weakest_step == "2"


def test_throughput_yield_harry() -> None:
    """M. Harry, "How Can I Determine If My Rolled Throughput Yield (RTY) Is Acceptable?",
    iSixSigma, 23 Feb 2004: dpu .10, .05, .008 at steps A, B, C; throughput yield e^-dpu
    = 0.951229 (B) and 0.992032 (C); Y.rt = 0.853850 = e^-.158. (The article prints 0.904834 for
    step A, a typo: e^-0.10 = 0.9048374; and "(.010+.050+.008)" for the total .158.)"""
    a = dpu(100, 1000)
    b = dpu([20, 30], [500, 500])  # 0.05 pooled over two lots
    c = dpu(8, 1000)
    assert round(a.dpu, 3) == 0.10 and round(b.dpu, 3) == 0.05 and round(c.dpu, 3) == 0.008
    assert round(a.yield_, 6) == 0.904837
    assert round(b.yield_, 6) == 0.951229
    assert round(c.yield_, 6) == 0.992032
    rty = rolled_yield(first_pass_yields=[a.yield_, b.yield_, c.yield_], step=["A", "B", "C"])
    assert round(rty.rolled_yield, 6) == 0.853850
    close(rty.rolled_yield, math.exp(-0.158))
    assert rty.weakest_step == "A"


def test_dpmo_shifter_assembly_example() -> None:
    """dmaictools.com, "DPMO Calculation – Product Example": 40 000 shifter assemblies, 6 defect
    opportunities each, 40 defects → "40 divided by 240,000, times one million, or 167 DPMO";
    "the corresponding sigma level is 5.1"."""
    res = dpmo(40, 40_000, 6)
    assert res.opportunities == 240_000
    assert round(res.dpmo) == 167
    assert round(res.sigma.level, 1) == 5.1
    close(res.dpmo, 40 / 240_000 * 1e6)
    close(res.dpu, 40 / 40_000)
    close(res.yield_, math.exp(-40 / 40_000))


def test_dpmo_hard_drive_example() -> None:
    """LearnGxP community, "How to calculate the Sigma level of a process": 83 934 hard drives,
    8 checks each, 3 432 rejected → "DPMO 5111.158768", "Sigma Level 4.1"."""
    res = dpmo(3432, 83934, 8)
    assert round(res.dpmo, 6) == 5111.158768
    assert round(res.sigma.level, 1) == 4.1
    close(res.sigma.level, 1.5 - float(special.ndtri(res.dpo)))


def test_dpmo_pools_rows_by_hand() -> None:
    """DPO = Σ d / Σ (u · o): rows with different opportunities per unit."""
    d, u, o = [3, 0, 5], [100, 50, 80], [4, 4, 10]
    res = dpmo(d, u, o)
    total_o = sum(ui * oi for ui, oi in zip(u, o, strict=True))
    close(res.opportunities, total_o)
    close(res.dpmo, 1e6 * sum(d) / total_o)
    close(res.dpu, sum(d) / sum(u))
    close(res.sigma.level, sigma_level(dpmo=1e6 * sum(d) / total_o).level)
    assert res.n_rows == 3


# --------------------------------------------------------------------------- cost of quality

# a hand-built year: every category once in English, once in Chinese (both languages mixed)
COQ_ROWS = [
    ("prevention", 12_000.0),
    ("预防成本", 3_000.0),
    ("appraisal", 20_000.0),
    ("鉴定成本", 5_000.0),
    ("internal.scrap", 40_000.0),
    ("报废", 8_000.0),
    ("internal.rework", 15_000.0),
    ("返工返修", 10_000.0),
    ("internal.downgrade", 2_500.0),
    ("降级", 500.0),
    ("internal.downtime", 6_000.0),
    ("停工", 1_000.0),
    ("internal.incident", 0.0),
    ("质量事故处理", 4_000.0),
    ("external.claim", 9_000.0),
    ("索赔", 3_000.0),
    ("external.return", 7_000.0),
    ("退货", 0.0),
    ("external.discount", 1_000.0),
    ("折价", 1_500.0),
    ("external.warranty", 2_000.0),
    ("保修", 2_500.0),
]
OUTPUT_VALUE = 5_000_000.0


def test_cost_of_quality_hand_built_example() -> None:
    """Totals, buckets and the policy's loss rates (annex, 名词解释 4 and 5), by hand:
    internal = scrap 48 000 + rework 25 000 + downgrade 3 000 + downtime 7 000 + incident 4 000
    = 87 000 → 1.74 % of 5 000 000; external = claim 12 000 + return 7 000 + discount 2 500 +
    warranty 4 500 = 26 000 → 0.52 %. Prevention 15 000 and appraisal 25 000 are in neither."""
    cats, amounts = zip(*COQ_ROWS, strict=True)
    res = cost_of_quality(list(cats), list(amounts), OUTPUT_VALUE, year=2024)
    expected_cat = {
        "prevention": 15_000,
        "appraisal": 25_000,
        "internal.scrap": 48_000,
        "internal.rework": 25_000,
        "internal.downgrade": 3_000,
        "internal.downtime": 7_000,
        "internal.incident": 4_000,
        "external.claim": 12_000,
        "external.return": 7_000,
        "external.discount": 2_500,
        "external.warranty": 4_500,
    }
    assert dict(res.totals_by_category) == expected_cat
    assert list(res.totals_by_category) == list(CATEGORIES)
    assert dict(res.totals_by_bucket) == {
        "prevention": 15_000,
        "appraisal": 25_000,
        "internal_failure": 87_000,
        "external_failure": 26_000,
    }
    assert res.total == 153_000
    close(res.internal_loss_rate, 87_000 / 5_000_000)
    close(res.external_loss_rate, 26_000 / 5_000_000)
    assert round(100 * res.internal_loss_rate, 2) == 1.74
    assert round(100 * res.external_loss_rate, 2) == 0.52
    close(res.rate("internal_failure"), res.internal_loss_rate)
    close(res.rate(), 153_000 / 5_000_000)
    assert res.year == 2024 and res.n_rows == len(COQ_ROWS)


def test_cost_of_quality_pareto_by_hand() -> None:
    """Failure categories only, largest first, shares of the failure cost 113 000."""
    cats, amounts = zip(*COQ_ROWS, strict=True)
    res = cost_of_quality(list(cats), list(amounts), OUTPUT_VALUE)
    expected = [
        ("internal.scrap", 48_000),
        ("internal.rework", 25_000),
        ("external.claim", 12_000),
        ("internal.downtime", 7_000),
        ("external.return", 7_000),  # tie with downtime: report order (internal first)
        ("external.warranty", 4_500),
        ("internal.incident", 4_000),
        ("internal.downgrade", 3_000),
        ("external.discount", 2_500),
    ]
    assert [(p.category, p.amount) for p in res.pareto] == expected
    running = 0.0
    for item, (_, amount) in zip(res.pareto, expected, strict=True):
        running += amount
        close(item.share, amount / 113_000)
        close(item.cumulative_share, running / 113_000)
    assert res.pareto[-1].cumulative_share == pytest.approx(1.0, rel=1e-15)
    out = res.to_dict()["pareto"][0]
    assert out == {
        "category": "internal.scrap",
        "name_zh": "报废损失费",
        "bucket": "internal_failure",
        "amount": 48_000.0,
        "share": 48_000 / 113_000,
        "cumulative_share": 48_000 / 113_000,
    }


def test_cost_of_quality_languages_agree() -> None:
    """The Chinese names and the policy glossary's own words give the same totals as English."""
    english = ["prevention", "appraisal", "internal.scrap", "internal.rework",
               "internal.downgrade", "internal.downtime", "internal.incident", "external.claim",
               "external.return", "external.discount", "external.warranty"]  # fmt: skip
    chinese = ["预防成本", "鉴定成本", "报废", "返工返修", "降级", "停工", "质量事故处理", "索赔",
               "退货", "折价", "保修"]  # fmt: skip
    glossary = ["预防成本", "鉴定成本", "报废损失费", "返修费", "降级损失费", "停工损失费",
                "产品质量事故处理费", "索赔费", "退货损失费", "折价损失费", "保修费"]  # fmt: skip
    amounts = [float(10 * (i + 1)) for i in range(11)]
    results = [
        cost_of_quality(names, amounts, 1_000.0).to_dict() for names in (english, chinese, glossary)
    ]
    assert results[0] == results[1] == results[2]
    assert results[0]["totals_by_category"] == dict(zip(english, amounts, strict=True))


def test_cost_of_quality_to_dict_keys() -> None:
    res = cost_of_quality(["internal.scrap"], [10.0], 1_000.0, year=2023)
    assert set(res.to_dict()) == {
        "year", "output_value", "total", "internal_loss_rate", "external_loss_rate",
        "totals_by_bucket", "totals_by_category", "pareto", "n_rows", "warnings",
    }  # fmt: skip
