"""Measurement system analysis against published and reference values.

* ``shared/reference/spc/gauge_rr_aiag``: the AIAG MSA 4th ed. gauge R&R example (10 parts ×
  3 appraisers × 3 trials), every block of ``expected.json`` (an R 4.2.2 ``aov`` oracle plus the
  AIAG formulas) at ``rtol=1e-9`` — this protects exact maths — and the published AIAG /
  McNeese (2015) values at their printed precision.
* AIAG MSA 4th ed. linearity example (Table III-B 4/5, Figure III-B 3: reference 2, 4, 6, 8, 10,
  12 readings each; the data as transcribed in public test suites and in ISO 22514-7 Table 7):
  Y = 0.736667 - 0.131667 X, R² = 71.4 %, t of the slope 12.043, t of the intercept 10.158,
  t(58; .975) = 2.00172, the bias = 0 line not inside the band.
* The same data analysed by SPC for Excel ("Example: Linearity and Bias Study", process sigma
  2.756; report reproduced at pt.scribd.com/document/414733344): per-reference bias t-tests with
  each reference's sample SD, the average bias with the pooled SD, SEs and CIs of the line.
* Minitab's help for the same example (support.minitab.com, "Example of Gage Linearity and Bias
  Study", total study variation 16.5368): %Linearity 13.2, %Bias of the references 0.2 to 3.7.
* AIAG MSA 4th ed. bias example (reference 6.00, 15 readings), values as quoted on the Elsmar
  Cove forum ("AIAG MSA 4th edition bias study"): t = 0.1217/0.1218, p = 0.9048, 95 % CI
  (-0.1107, 0.1241).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from scipy import special
from scipy import stats as sps

from zhuoyue.stats import constants as K
from zhuoyue.stats import msa

RTOL = 1e-9  # protects exact maths

# expected.json names -> zhuoyue's source keys
KEYS = {
    "repeatability": "repeatability",
    "reproducibility": "reproducibility",
    "operator": "operator",
    "operator_x_part": "part_x_operator",
    "GRR": "grr",
    "part": "part",
    "total": "total",
}
BLOCKS = ("variance", "sd", "study_var_6sd", "pct_contribution", "pct_study_var")
FIELDS = {
    "variance": "variance",
    "sd": "sd",
    "study_var_6sd": "study_var",
    "pct_contribution": "pct_contribution",
    "pct_study_var": "pct_study_var",
}

LIN_REF = np.repeat([2.0, 4.0, 6.0, 8.0, 10.0], 12)
LIN_X = np.array(
    [
        [2.7, 2.5, 2.4, 2.5, 2.7, 2.3, 2.5, 2.5, 2.4, 2.4, 2.6, 2.4],
        [5.1, 3.9, 4.2, 5.0, 3.8, 3.9, 3.9, 3.9, 3.9, 4.0, 4.1, 3.8],
        [5.8, 5.7, 5.9, 5.9, 6.0, 6.1, 6.0, 6.1, 6.4, 6.3, 6.0, 6.1],
        [7.6, 7.7, 7.8, 7.7, 7.8, 7.8, 7.8, 7.7, 7.8, 7.5, 7.6, 7.7],
        [9.1, 9.3, 9.5, 9.3, 9.4, 9.5, 9.5, 9.5, 9.6, 9.2, 9.3, 9.4],
    ]
).ravel()
BIAS_X = [5.8, 5.7, 5.9, 5.9, 6.0, 6.1, 6.0, 6.1, 6.4, 6.3, 6.0, 6.1, 6.2, 5.6, 6.0]


def close(actual: Any, expected: Any, rtol: float = RTOL, atol: float = 0.0) -> None:
    np.testing.assert_allclose(
        np.asarray(actual, dtype=np.float64),
        np.asarray(expected, dtype=np.float64),
        rtol=rtol,
        atol=atol,
    )


def printed(value: float, published: float) -> None:
    """``value`` rounded to the decimals of ``published`` equals it."""
    text = repr(published)
    decimals = len(text.split(".")[1]) if "." in text else 0
    assert round(value, decimals) == pytest.approx(published, abs=10 ** (-decimals) / 1000), (
        value,
        published,
    )


@pytest.fixture
def aiag(reference: Callable[[str], Any]) -> Any:
    return reference("gauge_rr_aiag")


def study(aiag: Any, **kw: Any) -> msa.GaugeRRResult:
    return msa.gauge_rr(aiag.text("part"), aiag.text("operator"), aiag.column("y"), **kw)


# --------------------------------------------------------------------------- ANOVA method


def test_anova_table_with_interaction(aiag: Any) -> None:
    exp = aiag.expected["anova_table"]
    res = study(aiag, interaction="keep")
    assert res.anova is not None
    rows = {r.source: r for r in res.anova}
    names = {"part": "part", "operator": "operator", "part_x_operator": "part_x_operator"}
    names |= {"repeatability": "repeatability", "total": "total"}
    for key, src in names.items():
        assert rows[src].df == exp["df"][key]
        close(rows[src].ss, exp["SS"][key])
        if key in exp["MS"]:
            close(rows[src].ms, exp["MS"][key])
        if key in exp["F"]:
            close(rows[src].f, exp["F"][key])
            close(rows[src].p, exp["p_value"][key])
    assert rows["repeatability"].f is None and rows["total"].ms is None


def test_minitab_rule_pools_the_interaction(aiag: Any) -> None:
    """p(interaction) = 0.974 > 0.25: Minitab's default removes the term (expected.json)."""
    exp = aiag.expected
    auto = study(aiag)
    assert auto.interaction == "auto" and auto.interaction_pooled
    close(auto.interaction_p, exp["anova_table"]["p_value"]["part_x_operator"])
    assert auto.anova is not None  # the full table is always reported
    pool = study(aiag, interaction="pool")
    assert pool.to_dict() == auto.to_dict() | {
        "interaction": auto.to_dict()["interaction"] | {"requested": "pool"}
    }
    # alpha to remove above the p-value keeps it
    assert not study(aiag, alpha_remove=0.99).interaction_pooled


def test_anova_interaction_pooled(aiag: Any) -> None:
    exp = aiag.expected["anova_interaction_pooled"]
    res = study(aiag)
    assert res.anova_reduced is not None
    rows = {r.source: r for r in res.anova_reduced}
    close(rows["repeatability"].ms, exp["MSE_pooled"])
    assert rows["repeatability"].df == exp["df_pooled"]
    close(rows["part"].f, exp["F_part"])
    close(rows["operator"].f, exp["F_operator"])
    close(rows["part"].p, exp["p_part"])
    close(rows["operator"].p, exp["p_operator"])
    assert "part_x_operator" not in res.variance
    for block in BLOCKS:
        got = getattr(res, FIELDS[block])
        for key, value in exp[block].items():
            close(got[KEYS[key]], value)
    close(res.ndc_raw, exp["ndc_raw_sqrt2"])
    assert res.ndc == exp["ndc_floor_sqrt2"] == 4
    aiag_rule = study(aiag, ndc_rule="1.41")
    close(aiag_rule.ndc_raw, exp["ndc_raw_1.41"])
    assert aiag_rule.ndc == exp["ndc_floor_1.41"]


def test_anova_with_interaction(aiag: Any) -> None:
    exp = aiag.expected["anova_with_interaction"]
    res = study(aiag, interaction="keep")
    assert not res.interaction_pooled and res.anova_reduced is None
    for block in BLOCKS:
        got = getattr(res, FIELDS[block])
        for key, value in exp[block].items():
            close(got[KEYS[key]], value)
    close(res.ndc_raw, exp["ndc_raw_sqrt2"])
    assert res.ndc == exp["ndc_floor_sqrt2"]
    close(study(aiag, interaction="keep", ndc_rule="1.41").ndc_raw, exp["ndc_raw_1.41"])
    # the interaction estimate (MS_PO - MS_E)/r is negative and reported as 0
    assert res.zeroed == ("part_x_operator",)
    assert any("negative" in w for w in res.warnings)


def test_pct_tolerance(aiag: Any) -> None:
    exp = aiag.expected["anova_with_interaction_pct_tolerance_tol6"]
    by_width = study(aiag, interaction="keep", tolerance=6.0)
    by_limits = study(aiag, interaction="keep", lsl=-3.0, usl=3.0)
    for res in (by_width, by_limits):
        assert res.pct_tolerance is not None
        for key, value in exp.items():
            close(res.pct_tolerance[KEYS[key]], value)
    assert by_limits.tolerance == 6.0 and (by_limits.lsl, by_limits.usl) == (-3.0, 3.0)


def test_study_var_multiplier_and_process_sigma(aiag: Any) -> None:
    six = study(aiag)
    aiag3 = study(aiag, study_var=5.15, process_sigma=1.0)
    for key in six.sd:
        close(aiag3.study_var[key], 5.15 * six.sd[key])
        close(aiag3.pct_study_var[key], six.pct_study_var[key])  # ratios do not depend on it
    assert aiag3.pct_process is not None
    close(aiag3.pct_process["grr"], 100.0 * six.sd["grr"])


def test_acceptance_bands(aiag: Any) -> None:
    res = study(aiag, tolerance=6.0)
    assert res.acceptance["study_var"].code == "conditional"  # 27.86 %
    assert res.acceptance["study_var"].zh == "有条件接受"
    assert res.acceptance["tolerance"].code == "unacceptable"  # 30.24 %
    assert res.verdict.code == "unacceptable" and res.verdict.zh == "不可接受"
    assert res.acceptance["ndc"].code == "inadequate"  # ndc 4 < 5
    assert msa.grade(9.999).code == "acceptable" and msa.grade(10.0).code == "conditional"
    assert msa.grade(30.0).code == "conditional" and msa.grade(30.001).code == "unacceptable"


def test_published_anova_values(aiag: Any) -> None:
    """McNeese (2015), interaction pooled, at the printed precision."""
    pub = aiag.expected["published"]["anova_method_interaction_pooled"]
    res = study(aiag)
    assert res.anova_reduced is not None
    rows = {r.source: r for r in res.anova_reduced}
    printed(res.variance["repeatability"], pub["var_repeatability"])
    printed(res.variance["reproducibility"], pub["var_reproducibility"])
    printed(res.variance["part"], pub["var_part"])
    printed(res.variance["grr"], pub["var_GRR"])
    printed(rows["part"].ss, pub["SS_part"])
    printed(rows["operator"].ss, pub["SS_operator"])
    printed(rows["repeatability"].ss, pub["SS_pooled_error"])


# --------------------------------------------------------------------------- Average & Range


def test_average_and_range_method(aiag: Any) -> None:
    exp = aiag.expected["average_and_range_method"]
    res = study(aiag, method="xbar_r", ndc_rule="1.41")
    ar = res.average_range
    assert ar is not None and res.anova is None and res.interaction is None
    close(ar["rbar_by_operator"], exp["Rbar_by_operator"])
    close(ar["xbar_by_operator"], exp["xbar_by_operator"])
    close(ar["part_means"], exp["part_means"])
    for mine, theirs in (("rbarbar", "Rbarbar"), ("xdiff", "Xdiff"), ("rp", "Rp")):
        close(ar[mine], exp[theirs])
    for key in ("K1", "K2", "K3", "EV", "AV", "GRR", "PV", "TV"):
        close(ar[key], exp[key])
    for key in ("pct_EV", "pct_AV", "pct_GRR", "pct_PV"):
        close(ar[key], exp[key])
    close(res.sd["repeatability"], exp["EV"])
    close(res.sd["reproducibility"], exp["AV"])
    close(res.sd["grr"], exp["GRR"])
    close(res.sd["part"], exp["PV"])
    close(res.sd["total"], exp["TV"])
    close(res.pct_study_var["grr"], exp["pct_GRR"])
    close(res.ndc_raw, exp["ndc_raw"])
    assert res.ndc == exp["ndc"]


def test_average_and_range_published(aiag: Any) -> None:
    """AIAG MSA 4th ed. Average & Range worked example, printed values.

    The worksheet rounds EV, AV, GRR, PV, TV to 4 decimals before it divides: the printed
    percentages are reproduced from the rounded values (17.616 -> 17.62, not 17.612 -> 17.61).
    """
    pub = aiag.expected["published"]["average_range_method"]
    ar = study(aiag, method="xbar_r", ndc_rule="1.41").average_range
    assert ar is not None
    for key, mine in (("Rbarbar", "rbarbar"), ("Xdiff", "xdiff")):
        printed(ar[mine], pub[key])
    for key in ("EV", "AV", "GRR", "PV", "TV"):
        printed(ar[key], pub[key])
    tv = round(ar["TV"], 4)
    for key in ("EV", "AV", "GRR", "PV"):
        printed(100.0 * round(ar[key], 4) / tv, pub[f"pct_{key}"])
    assert study(aiag, method="xbar_r", ndc_rule="1.41").ndc == pub["ndc"]


# --------------------------------------------------------------------------- K1, K2, K3 and d2*


def test_k_constants_are_reciprocal_d2_star() -> None:
    """AIAG's K2, K3 = 1/d2*(m, 1); K1 = 1/d2(m), the g > 15 (g -> inf) row of the d2* table."""
    for m, k in msa.AIAG_K2.items():
        assert round(1.0 / msa.d2_star(m, 1), 4) == k
    for m, k in msa.AIAG_K3.items():
        assert round(1.0 / msa.d2_star(m, 1), 4) == k
    for m, k in msa.AIAG_K1.items():
        assert round(1.0 / float(K.d2(m)), 4) == k
        assert round(1.0 / msa.d2_star(m, math.inf), 4) == k
    # with g = appraisers x parts = 30 ranges taken literally, K1 would differ in the 3rd decimal
    assert round(1.0 / msa.d2_star(3, 30), 4) == 0.5881 != msa.AIAG_K1[3]
    assert msa.k_factors(3, 3, 10) == {"K1": 0.5908, "K2": 0.5231, "K3": 0.3146}
    exact = msa.k_factors(3, 3, 10, constants="exact")
    close(exact["K1"], 1.0 / math.sqrt(float(K.d2(3)) ** 2 + float(K.d3(3)) ** 2 / 30))


def test_d2_star_closed_forms_and_printed_table() -> None:
    # E[W²] of two normals is 2; of three, 2 + 3√3/π (order statistics of N(0, 1))
    close(msa.d2_star(2), math.sqrt(2.0), rtol=1e-12)
    close(msa.d2_star(3), math.sqrt(2.0 + 3.0 * math.sqrt(3.0) / math.pi), rtol=1e-12)
    # E[W²] by a trapezoid double integral of the range density, independent of zhuoyue's d2/d3
    for m in (4, 10):
        close(msa.d2_star(m), math.sqrt(_range_second_moment(m)), rtol=1e-8)
    # Duncan's d2* table (AIAG MSA 4th ed., Appendix C), 5 decimals: agreement within 1e-5
    for (m, g), value in {
        (2, 1): 1.41421,
        (3, 1): 1.91155,
        (2, 2): 1.27931,
        (3, 2): 1.80538,
    }.items():
        assert abs(msa.d2_star(m, g) - value) <= 1.1e-5


def _range_second_moment(m: int, h: float = 0.02) -> float:
    """E[W²] = ∫∫ w² m(m-1) φ(x) φ(x+w) (Φ(x+w) - Φ(x))^(m-2) dx dw (trapezoid rule, which
    converges geometrically for this smooth integrand)."""
    x = np.arange(-10.0, 10.0 + h / 2, h)[None, :]
    w = np.arange(0.0, 16.0 + h / 2, h)[:, None]
    dens = m * (m - 1) * sps.norm.pdf(x) * sps.norm.pdf(x + w)
    dens *= (special.ndtr(x + w) - special.ndtr(x)) ** (m - 2)
    inner = np.trapezoid(dens, x[0], axis=1)
    return float(np.trapezoid(w[:, 0] ** 2 * inner, w[:, 0]))


# --------------------------------------------------------------------------- linearity and bias


def test_linearity_aiag_published() -> None:
    res = msa.bias_linearity(LIN_REF, LIN_X)
    assert res.slope == pytest.approx(-0.131667, abs=5e-7)
    assert res.intercept == pytest.approx(0.736667, abs=5e-7)
    assert round(100 * (res.r_squared or 0), 1) == 71.4
    assert round(abs(res.t_slope), 3) == 12.043
    assert round(res.t_intercept, 3) == 10.158
    assert res.df == 58 and round(float(special.stdtrit(58, 0.975)), 5) == 2.00172
    assert [round(r.bias, 6) for r in res.parts] == [0.491667, 0.125, 0.025, -0.291667, -0.616667]
    assert not res.zero_in_band and not res.linearity_acceptable


def test_linearity_against_linregress() -> None:
    """An independent least-squares fit of all 60 biases on the reference (exact maths)."""
    res = msa.bias_linearity(LIN_REF, LIN_X)
    fit = sps.linregress(LIN_REF, LIN_X - LIN_REF)
    close(res.slope, fit.slope)
    close(res.intercept, fit.intercept)
    close(res.r_squared, fit.rvalue**2)
    close(res.se_slope, fit.stderr)
    close(res.se_intercept, fit.intercept_stderr)
    close(res.p_slope, fit.pvalue, rtol=1e-6)  # p ~ 1e-17: relative error of the t tail
    t = sps.t.ppf(0.975, 58)
    close(res.ci_slope, [fit.slope - t * fit.stderr, fit.slope + t * fit.stderr])
    # per reference: one-sample t-test of the biases
    for i, row in enumerate(res.parts):
        b = LIN_X[12 * i : 12 * (i + 1)] - LIN_REF[12 * i]
        tt = sps.ttest_1samp(b, 0.0)
        close(row.t, tt.statistic)
        close(row.p, tt.pvalue)
        ci = tt.confidence_interval(0.95)
        close(row.ci, [ci.low, ci.high])


def test_linearity_spc_for_excel_report() -> None:
    """SPC for Excel, process sigma 2.756 (printed precision)."""
    res = msa.bias_linearity(LIN_REF, LIN_X, process_variation=6 * 2.756)
    assert [round(abs(r.t or 0), 2) for r in res.parts] == [13.73, 0.97, 0.44, 10.14, 14.56]
    assert [round(abs(res.parts[i].t or 0), 3) for i in (1, 2)] == [0.968, 0.442]
    assert [round(r.p or 0, 3) for r in res.parts] == [0.0, 0.354, 0.667, 0.0, 0.0]
    assert round(res.average.bias, 4) == -0.0533 and round(res.average.se or 0, 4) == 0.0308
    assert round(abs(res.average.t or 0), 3) == 1.729 and round(res.average.p or 0, 3) == 0.089
    assert round(res.s, 3) == 0.240
    assert round(res.se_intercept, 4) == 0.0725 and round(res.se_slope, 4) == 0.0109
    assert [round(v, 3) for v in res.ci_intercept] == [0.591, 0.882]
    assert [round(v, 3) for v in res.ci_slope] == [-0.154, -0.110]
    assert round(res.linearity or 0, 3) == 2.177 and round(res.pct_linearity, 2) == 13.17
    pct = [round(r.pct_bias_process or 0, 2) for r in res.parts]
    assert pct == [2.97, 0.76, 0.15, 1.76, 3.73]
    assert round(res.average.pct_bias_process or 0, 2) == 0.32
    assert [r.acceptable for r in res.parts] == [False, True, True, False, False]


def test_linearity_minitab_help() -> None:
    """Minitab help example: study variation 16.5368, %Linearity 13.2, %Bias 0.2 to 3.7."""
    res = msa.bias_linearity(LIN_REF, LIN_X, process_variation=16.5368)
    assert round(res.pct_linearity, 1) == 13.2
    pct = [round(r.pct_bias_process or 0, 1) for r in res.parts]
    assert min(pct) == 0.2 and max(pct) == 3.7
    assert round(res.average.bias, 6) == -0.053333


def test_band_and_zero_line() -> None:
    res = msa.bias_linearity(LIN_REF, LIN_X)
    fit, lo, hi = res.band([2.0, 6.0, 10.0])
    close(fit, res.intercept + res.slope * np.array([2.0, 6.0, 10.0]))
    t = sps.t.ppf(0.975, 58)
    xm = LIN_REF.mean()
    sxx = float(np.sum((LIN_REF - xm) ** 2))
    half = t * res.s * np.sqrt(1 / 60 + (np.array([2.0, 6.0, 10.0]) - xm) ** 2 / sxx)
    close(hi - fit, half)
    close(fit - lo, half)
    # a gauge with a constant small bias and no slope: zero line inside the band
    rng = np.random.default_rng(3)
    flat = msa.bias_linearity(LIN_REF, LIN_REF + rng.normal(0.0, 0.2, LIN_REF.size))
    assert flat.zero_in_band == (
        bool(np.all(flat.band(np.linspace(2, 10, 2001))[1] <= 0))
        and bool(np.all(flat.band(np.linspace(2, 10, 2001))[2] >= 0))
    )


def test_bias_study_aiag() -> None:
    res = msa.bias_study(6.0, BIAS_X)
    assert round(res.bias, 4) == 0.0067
    assert round(res.row.sd or 0, 4) == 0.2120 and round(res.row.se or 0, 4) == 0.0547
    assert round(res.row.t or 0, 3) == 0.122  # printed 0.1217 (forum) / 0.1218
    assert round(res.row.p or 0, 4) == 0.9048
    assert res.row.ci is not None
    assert [round(v, 4) for v in res.row.ci] == [-0.1107, 0.1241]
    assert res.acceptable is True and res.row.df == 14


def test_type1_cg_cgk() -> None:
    x = np.asarray(BIAS_X)
    res = msa.bias_study(6.0, x, tolerance=3.0)
    s = x.std(ddof=1)
    close(res.cg, 0.2 * 3.0 / (6 * s))
    close(res.cgk, (0.1 * 3.0 - abs(x.mean() - 6.0)) / (3 * s))


# --------------------------------------------------------------------------- confidence intervals


def _g_h(df: float, alpha: float) -> tuple[float, float]:
    """Burdick et al.'s G = 1 - 1/F(1-α/2; df, ∞) and H = 1/F(α/2; df, ∞) - 1."""
    return 1 - df / sps.chi2.ppf(1 - alpha / 2, df), df / sps.chi2.ppf(alpha / 2, df) - 1


def _g_h_cross(
    n1: float, n2: float, g1: float, h1: float, g2: float, h2: float, alpha: float
) -> tuple[float, float]:
    """G_12 (lower bound) and H_12 (upper bound) for a difference θ1 - θ2."""
    f_hi = sps.f.ppf(1 - alpha / 2, n1, n2)
    f_lo = sps.f.ppf(alpha / 2, n1, n2)
    g12 = ((f_hi - 1) ** 2 - g1**2 * f_hi**2 - h2**2) / f_hi
    h12 = ((1 - f_lo) ** 2 - h1**2 * f_lo**2 - g2**2) / f_lo
    return g12, h12


def test_mls_intervals_with_interaction_match_the_book_formulas(aiag: Any) -> None:
    """Burdick, Borror & Montgomery (2005), balanced two-factor crossed random model: the
    intervals of σ²_P, σ²_O, σ²_PO, γ_M = σ²_O + σ²_PO + σ²_E, σ²_O + σ²_PO and the total,
    written out term by term (independent of zhuoyue's generic MLS routine)."""
    alpha = 0.05
    res = study(aiag, interaction="keep", confidence=1 - alpha)
    assert res.anova is not None and res.intervals is not None
    rows = {r.source: r for r in res.anova}
    p, o, r = 10, 3, 3
    sp, so, spo, se = (rows[k].ms for k in ("part", "operator", "part_x_operator", "repeatability"))
    assert sp is not None and so is not None and spo is not None and se is not None
    n1, n2, n3, n4 = p - 1, o - 1, (p - 1) * (o - 1), p * o * (r - 1)
    g1, h1 = _g_h(n1, alpha)
    g2, h2 = _g_h(n2, alpha)
    g3, h3 = _g_h(n3, alpha)
    g4, h4 = _g_h(n4, alpha)
    g13, h13 = _g_h_cross(n1, n3, g1, h1, g3, h3, alpha)
    g23, h23 = _g_h_cross(n2, n3, g2, h2, g3, h3, alpha)
    g34, h34 = _g_h_cross(n3, n4, g3, h3, g4, h4, alpha)
    g24, h24 = _g_h_cross(n2, n4, g2, h2, g4, h4, alpha)
    g23s = (
        (1 - 1 / (sps.chi2.ppf(1 - alpha / 2, p * (o - 1)) / (p * (o - 1)))) ** 2 * p**2 / (p - 1)
        - g2**2 / (p - 1)
        - g3**2 * (p - 1)
    )
    expected = {
        "repeatability": ((1 - g4) * se, (1 + h4) * se),
        "part": (
            (sp - spo) / (o * r)
            - math.sqrt(g1**2 * sp**2 + h3**2 * spo**2 + g13 * sp * spo) / (o * r),
            (sp - spo) / (o * r)
            + math.sqrt(h1**2 * sp**2 + g3**2 * spo**2 + h13 * sp * spo) / (o * r),
        ),
        "operator": (
            (so - spo) / (p * r)
            - math.sqrt(g2**2 * so**2 + h3**2 * spo**2 + g23 * so * spo) / (p * r),
            (so - spo) / (p * r)
            + math.sqrt(h2**2 * so**2 + g3**2 * spo**2 + h23 * so * spo) / (p * r),
        ),
        "part_x_operator": (
            (spo - se) / r - math.sqrt(g3**2 * spo**2 + h4**2 * se**2 + g34 * spo * se) / r,
            (spo - se) / r + math.sqrt(h3**2 * spo**2 + g4**2 * se**2 + h34 * spo * se) / r,
        ),
    }
    gm = (so + (p - 1) * spo + p * (r - 1) * se) / (p * r)
    vlm = g2**2 * so**2 + g3**2 * (p - 1) ** 2 * spo**2 + g4**2 * p**2 * (r - 1) ** 2 * se**2
    vum = h2**2 * so**2 + h3**2 * (p - 1) ** 2 * spo**2 + h4**2 * p**2 * (r - 1) ** 2 * se**2
    expected["grr"] = (gm - math.sqrt(vlm) / (p * r), gm + math.sqrt(vum) / (p * r))
    tot = (p * sp + o * so + (p * o - p - o) * spo + p * o * (r - 1) * se) / (p * o * r)
    c = (p, o, p * o - p - o, p * o * (r - 1))
    vlt = sum(
        (g * k * s) ** 2 for g, k, s in zip((g1, g2, g3, g4), c, (sp, so, spo, se), strict=True)
    )
    vut = sum(
        (h * k * s) ** 2 for h, k, s in zip((h1, h2, h3, h4), c, (sp, so, spo, se), strict=True)
    )
    expected["total"] = (tot - math.sqrt(vlt) / (p * o * r), tot + math.sqrt(vut) / (p * o * r))
    repro = (so + (p - 1) * spo - p * se) / (p * r)
    vl = (
        g2**2 * so**2
        + g3**2 * (p - 1) ** 2 * spo**2
        + h4**2 * p**2 * se**2
        + g24 * p * so * se
        + g34 * (p - 1) * p * spo * se
        + g23s * (p - 1) * so * spo
    ) / (p * r) ** 2
    vu = (
        h2**2 * so**2
        + h3**2 * (p - 1) ** 2 * spo**2
        + g4**2 * p**2 * se**2
        + h24 * p * so * se
        + h34 * (p - 1) * p * spo * se
    ) / (p * r) ** 2
    expected["reproducibility"] = (repro - math.sqrt(vl), repro + math.sqrt(vu))
    got = res.intervals["variance"]
    assert set(got) == set(expected)
    for key, (lo, hi) in expected.items():
        close(got[key], [max(0.0, lo), max(0.0, hi)], atol=1e-15)
    # SDs and study variations follow by square roots
    close(res.intervals["sd"]["grr"], np.sqrt(got["grr"]))
    close(res.intervals["study_var"]["grr"], 6 * np.sqrt(got["grr"]))
