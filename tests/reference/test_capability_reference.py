"""zhuoyue's process capability against the shared reference case and published values.

Case ``shared/reference/spc/capability_pistonrings`` (Montgomery's piston rings, phase I: 25
subgroups of 5): every block of every spec scenario that zhuoyue can produce —

* ``qcc_within``: R qcc 2.7 ``process.capability`` = ``sigma_method="rbar", constants="table",
  cpm_method="qcc", ci_method="qcc"``;
* ``qcc_with_overall_sd``: the same with ``std.dev = sd(x)`` = ``sigma=sd(x)``;
* ``oracle_independent``: every σ variant, the Minitab defaults (pooled σ within, sample SD
  overall, Minitab Cpm, Minitab intervals), SD/c4(N), observed PPM, one-sided specs;
* ``published_crosscheck_mistat``: the rounded values of the mistat test suite (Kenett, Zacks,
  Gedeck 2022) at their printed precision.

The Anderson–Darling test is checked against R fBasics/nortest values published in the
statsmodels test suite and against ``scipy.stats.anderson``'s statistic.

Tolerances: ``rtol=1e-9`` for computed values protects exact maths (any change of formula,
constant, convention or degrees of freedom moves a value by far more; today the agreement is
~1e-13). Published rounded values are compared at half a unit of their last printed digit.

Known, documented differences with qcc (by design, see ``shared/reference/README.md``):

* qcc reports an expected fraction below 1e-4 as exactly 0; zhuoyue reports the untruncated
  tail, so such a block is checked as "below 1e-4".
* with a one-sided spec qcc 2.7 returns ``Cp_k = NA`` and echoes the limit as the target;
  zhuoyue's Cpk is the available one-sided index (as the oracle block and Minitab) and the
  target is ``None``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from scipy import stats as sps

from zhuoyue.stats import constants as K
from zhuoyue.stats.capability import CapabilityResult, anderson_darling_normal, capability
from zhuoyue.stats.charts import imr, xbar_r, xbar_s

RTOL = 1e-9  # protects exact maths (see the module docstring)
CASE = "capability_pistonrings"
SCENARIOS = [
    "spec_73.95_74.05",
    "spec_73.95_74.05_target_74.02",
    "spec_73.99_74.01",
    "usl_only_74.01",
    "lsl_only_73.99",
]
QCC = {"sigma_method": "rbar", "constants": "table", "cpm_method": "qcc", "ci_method": "qcc"}
QCC_NAMES = {"Cp": "cp", "Cp_l": "cpl", "Cp_u": "cpu", "Cp_k": "cpk", "Cpm": "cpm"}
QCC_TRUNCATION = 1e-4  # qcc sets expected fractions below this to 0


def close(actual: Any, expected: Any, rtol: float = RTOL) -> None:
    if expected is None:
        assert actual is None
        return
    assert actual is not None
    np.testing.assert_allclose(
        np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64), rtol=rtol
    )


@pytest.fixture
def piston(reference: Any) -> tuple[np.ndarray, list[str], dict[str, Any]]:
    case = reference(CASE)
    return case.column("diameter"), case.text("sample"), case.expected


def specs(block: dict[str, Any]) -> dict[str, Any]:
    lsl, usl = block["spec_limits"]
    return {"lsl": lsl, "usl": usl, "target": block["target_argument"]}


def run(x: np.ndarray, s: list[str], block: dict[str, Any], **kw: Any) -> CapabilityResult:
    return capability(x, s, **specs(block), stability=False, normality=False, **kw)


def check_qcc_fraction(ours_ppm: float | None, qcc_fraction: float | None) -> None:
    if qcc_fraction is None:
        assert ours_ppm is None
        return
    assert ours_ppm is not None
    if qcc_fraction == 0.0:
        assert ours_ppm / 1e6 < QCC_TRUNCATION  # qcc truncated it to 0
    else:
        close(ours_ppm / 1e6, qcc_fraction)


def check_qcc_block(res: CapabilityResult, b: dict[str, Any], sigma: float) -> None:
    assert res.n == b["nobs"]
    close(res.mean, b["center"])
    close(sigma, b["std_dev"])
    if res.lsl is not None and res.usl is not None:
        close(res.target, b["target"])
    else:
        assert res.target is None  # qcc echoes the limit; zhuoyue has no target
    one_sided = res.lsl is None or res.usl is None
    for qname, key in QCC_NAMES.items():
        exp = b["indices"][qname]
        if qname == "Cp_k" and one_sided:
            # qcc: NA; zhuoyue: the available one-sided index, with the same interval
            avail = b["indices"]["Cp_l" if res.usl is None else "Cp_u"]
            assert exp["value"] is None
            close(res.cpk, avail["value"])
            continue
        close(getattr(res, key), exp["value"])
        ci = res.interval(key)
        if exp["value"] is None:
            assert ci is None
        else:
            assert ci is not None
            close(ci[0], exp["lower_2.5"])
            close(ci[1], exp["upper_97.5"])


# --------------------------------------------------------------------------- qcc blocks


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_qcc_within(piston: Any, scenario: str) -> None:
    """qcc 2.7: ``process.capability(qcc(diameter[1:25,], type='xbar'), spec.limits, target)``."""
    x, s, e = piston
    block = e[scenario]
    b = block["qcc_within"]
    res = run(x, s, block, **QCC)
    assert res.sigma_method == "rbar/d2"
    check_qcc_block(res, b, res.sigma_within)
    check_qcc_fraction(res.ppm_within["below_lsl"], b["exp_below_LSL_fraction"])
    check_qcc_fraction(res.ppm_within["above_usl"], b["exp_above_USL_fraction"])
    check_qcc_fraction(res.ppm_observed["below_lsl"], b["obs_below_LSL_fraction"])
    check_qcc_fraction(res.ppm_observed["above_usl"], b["obs_above_USL_fraction"])


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_qcc_with_overall_sd(piston: Any, scenario: str) -> None:
    """qcc 2.7 with ``std.dev = sd(all 125 values)``: a given σ, and zhuoyue's Pp family."""
    x, s, e = piston
    block = e[scenario]
    b = block["qcc_with_overall_sd"]
    sd = float(np.std(x, ddof=1))
    res = run(x, s, block, sigma=sd, cpm_method="qcc", ci_method="qcc")
    assert res.sigma_method == "given"
    check_qcc_block(res, b, res.sigma_within)
    check_qcc_fraction(res.ppm_within["below_lsl"], b["exp_below_LSL_fraction"])
    check_qcc_fraction(res.ppm_within["above_usl"], b["exp_above_USL_fraction"])
    # the same numbers are zhuoyue's overall indices and their qcc-convention intervals
    default = run(x, s, block, ci_method="qcc")
    for qname, key in (("Cp", "pp"), ("Cp_l", "ppl"), ("Cp_u", "ppu")):
        exp = b["indices"][qname]
        close(getattr(default, key), exp["value"])
        ci = default.interval(key)
        if exp["value"] is None:
            assert ci is None
        else:
            assert ci is not None
            close(list(ci), [exp["lower_2.5"], exp["upper_97.5"]])
    check_qcc_fraction(default.ppm_overall["below_lsl"], b["exp_below_LSL_fraction"])
    check_qcc_fraction(default.ppm_overall["above_usl"], b["exp_above_USL_fraction"])


# --------------------------------------------------------------------------- oracle blocks


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_oracle_sigma_variants(piston: Any, scenario: str) -> None:
    """Every σ within and σ overall variant of the oracle (its own R code)."""
    x, s, e = piston
    o = e[scenario]["oracle_independent"]
    block = e[scenario]
    v = o["sigma_within_variants"]
    close(run(x, s, block, sigma_method="rbar", constants="table").sigma_within,
          v["Rbar_over_d2_qcc_table"])  # fmt: skip
    close(run(x, s, block, sigma_method="rbar").sigma_within, v["Rbar_over_d2_exact"])
    close(run(x, s, block, sigma_method="sbar").sigma_within, v["Sbar_over_c4"])
    default = run(x, s, block)
    assert default.sigma_method == "pooled/c4"
    close(default.sigma_within, v["pooled_over_c4"])
    # pooled SD without c4 (Minitab's "unbiasing constants" off) is not offered; it is the
    # default divided back by c4(Σ(nᵢ-1) + 1)
    close(default.sigma_within * float(K.c4(101)), v["pooled_no_c4"])
    w = o["sigma_overall_variants"]
    assert default.overall_method == "sd"
    close(default.sigma_overall, w["sd_n_minus_1"])
    c4n = run(x, s, block, overall_method="sd_c4")
    assert c4n.overall_method == "sd/c4"
    close(c4n.sigma_overall, w["sd_over_c4N"])
    assert default.n == o["N"]
    close(default.mean, o["mean"])
    assert (default.lsl, default.usl) == (o["LSL"], o["USL"])
    close(default.target, o["target_used"])


def check_ppm(ppm: Any, block: dict[str, Any]) -> None:
    close(ppm["below_lsl"], block["ppm_below_LSL"])
    close(ppm["above_usl"], block["ppm_above_USL"])
    close(ppm["total"], block["ppm_total"])


def check_minitab_ci(res: CapabilityResult, ci: dict[str, Any], two: str, k: str) -> None:
    if ci["Cp_CI"] is None:
        assert res.interval(two) is None
    else:
        close(list(res.interval(two) or ()), ci["Cp_CI"])
    close(list(res.interval(k) or ()), ci["Cpk_CI"])


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_oracle_within_qcc_sigma(piston: Any, scenario: str) -> None:
    """R̄/d2 (3-decimal d2) within indices, untruncated PPM and the qcc Cpm formula."""
    x, s, e = piston
    block = e[scenario]
    b = block["oracle_independent"]["within_qcc_default_sigma"]
    res = run(x, s, block, sigma_method="rbar", constants="table", cpm_method="qcc")
    close(res.sigma_within, b["sigma"])
    for key in ("Cp", "Cpl", "Cpu", "Cpk"):
        close(getattr(res, key.lower()), b[key])
    check_ppm(res.ppm_within, b)
    close(res.cpm, b["Cpm_qcc_formula"])


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_oracle_minitab_defaults(piston: Any, scenario: str) -> None:
    """Minitab conventions (zhuoyue's defaults): pooled σ within, SD overall, Minitab Cpm and
    intervals (ν = Σ(nᵢ-1) = 100 within, N-1 = 124 overall), observed PPM."""
    x, s, e = piston
    block = e[scenario]
    o = block["oracle_independent"]
    res = run(x, s, block)
    w = o["within_minitab_default_sigma"]
    close(res.sigma_within, w["sigma"])
    for key in ("Cp", "Cpl", "Cpu", "Cpk"):
        close(getattr(res, key.lower()), w[key])
    check_ppm(res.ppm_within, w)
    assert res.dof["cp"] == w["minitab_CI_95"]["nu"]
    check_minitab_ci(res, w["minitab_CI_95"], "cp", "cpk")
    ov = o["overall_sd"]
    close(res.sigma_overall, ov["sigma"])
    for key in ("Pp", "Ppl", "Ppu", "Ppk"):
        close(getattr(res, key.lower()), ov[key])
    check_ppm(res.ppm_overall, ov)
    assert res.dof["pp"] == ov["minitab_CI_95"]["nu"]
    check_minitab_ci(res, ov["minitab_CI_95"], "pp", "ppk")
    close(res.cpm, o["Cpm_minitab_formula"])
    close(res.ppm_observed["below_lsl"], o["observed_ppm"]["below_LSL"])
    close(res.ppm_observed["above_usl"], o["observed_ppm"]["above_USL"])
    # the JSON carries the same intervals at the default 95 %
    d = res.to_dict()
    close(d["intervals"]["cpk"], w["minitab_CI_95"]["Cpk_CI"])
    close(d["intervals"]["ppk"], ov["minitab_CI_95"]["Cpk_CI"])


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_oracle_overall_sd_over_c4(piston: Any, scenario: str) -> None:
    """σ overall = SD/c4(N) (Minitab 14, 'use unbiasing constants' for overall)."""
    x, s, e = piston
    block = e[scenario]
    b = block["oracle_independent"]["overall_sd_over_c4N"]
    res = run(x, s, block, overall_method="sd_c4")
    close(res.sigma_overall, b["sigma"])
    for key in ("Pp", "Ppl", "Ppu", "Ppk"):
        close(getattr(res, key.lower()), b[key])
    check_ppm(res.ppm_overall, b)


# --------------------------------------------------------------------------- published values


def printed(value: float | None, published: float) -> None:
    """``value`` equals a published rounded number: 3 decimals from 1 up, 4 below (as printed)."""
    assert value is not None
    decimals = 3 if abs(published) >= 1 else 4
    assert abs(value - published) <= 0.5 * 10.0**-decimals + 1e-12, (value, published)


@pytest.mark.parametrize(
    "scenario", ["spec_73.95_74.05", "spec_73.95_74.05_target_74.02", "spec_73.99_74.01"]
)
def test_published_mistat(piston: Any, scenario: str) -> None:
    """mistat test suite (Kenett, Zacks, Gedeck 2022; mistat/qcc/tests/test_processCapability.py)
    — the qcc computation, value and 95 % limits at printed precision."""
    x, s, e = piston
    pub = e["published_crosscheck_mistat"][scenario]
    res = run(x, s, e[scenario], **QCC)
    for qname, triple in pub.items():
        if qname not in QCC_NAMES:
            continue
        key = QCC_NAMES[qname]
        ci = res.interval(key)
        assert ci is not None
        for ours, theirs in zip((getattr(res, key), *ci), triple, strict=True):
            printed(ours, theirs)
    if "exp_LSL_pct_approx" in pub:
        # percentages printed as whole numbers
        for ours, theirs in (
            (res.ppm_within["below_lsl"], pub["exp_LSL_pct_approx"]),
            (res.ppm_within["above_usl"], pub["exp_USL_pct_approx"]),
            (res.ppm_observed["below_lsl"], pub["obs_LSL_pct_approx"]),
            (res.ppm_observed["above_usl"], pub["obs_USL_pct_approx"]),
        ):
            assert ours is not None
            assert round(ours / 1e4) == theirs


# --------------------------------------------------------------------------- consistency


def test_sigma_within_is_the_control_chart_estimate(piston: Any) -> None:
    """σ within comes from the same estimators as the control charts (no second implementation)."""
    x, s, _ = piston
    for method, chart in (("rbar", xbar_r), ("rbar_unweighted", xbar_r), ("sbar", xbar_s),
                          ("sbar_unweighted", xbar_s), ("pooled", xbar_s)):  # fmt: skip
        for constants in ("exact", "table"):
            res = capability(x, s, 73.95, 74.05, sigma_method=method, constants=constants)
            close(res.sigma_within, chart(x, s, sigma_method=method, constants=constants).sigma)
    for method in ("mr", "mr_median", "sd"):
        res = capability(x, None, 73.95, 74.05, sigma_method=method)
        close(res.sigma_within, imr(x, sigma_method=method).sigma)


def test_minitab_degrees_of_freedom(piston: Any) -> None:
    """Minitab 21 Help, Normal Capability Analysis, "Methods and formulas for potential
    capability": ν by the σ within method (k = 25 subgroups, n̄ = 5, N = 125)."""
    x, s, _ = piston
    expected = {
        "pooled": 100.0,  # Σ(nᵢ-1)
        "rbar": 0.9 * 25 * 4,  # 0.9 k (n̄-1)
        "rbar_unweighted": 0.9 * 25 * 4,
        "sbar": 0.95 * 25 * 4,  # f₅ = 0.95
        "sbar_unweighted": 0.95 * 25 * 4,
    }
    for method, nu in expected.items():
        res = capability(x, s, 73.95, 74.05, sigma_method=method, stability=False)
        assert res.dof["cp"] == pytest.approx(nu, rel=1e-15)
        alpha = 0.05
        lo = res.cp * math.sqrt(sps.chi2.ppf(alpha / 2, nu) / nu)
        hi = res.cp * math.sqrt(sps.chi2.ppf(1 - alpha / 2, nu) / nu)
        close(list(res.interval("cp") or ()), [lo, hi])
        half = sps.norm.ppf(1 - alpha / 2) * math.sqrt(1 / (9 * 125) + res.cpk**2 / (2 * nu))
        close(list(res.interval("cpk") or ()), [res.cpk - half, res.cpk + half])
    for method in ("mr", "mr_median", "sd"):  # k - w + 1 = N - 1 for span 2; SD: N - 1
        res = capability(x, None, 73.95, 74.05, sigma_method=method, stability=False)
        assert res.dof["cp"] == 124.0
    # S̄ factor table: n = 2 -> 0.88, 9 -> 0.97, 12 -> 0.98, 30 -> 0.99, 70 -> 1.0
    rng = np.random.default_rng(5)
    for n, f in ((2, 0.88), (9, 0.97), (12, 0.98), (30, 0.99), (70, 1.0)):
        v = rng.normal(size=10 * n)
        res = capability(v, n, -5, 5, sigma_method="sbar", stability=False, normality=False)
        assert res.dof["cp"] == pytest.approx(f * 10 * (n - 1), rel=1e-15)


def test_cpm_interval_boyles(piston: Any) -> None:
    """Cpm interval: chi-square on Boyles' ν = N(1+a²)²/(1+2a²), a = (x̄-T)/s (Minitab)."""
    x, s, _ = piston
    res = capability(x, s, 73.95, 74.05, 74.02, stability=False)
    a = (res.mean - 74.02) / float(np.std(x, ddof=1))
    nu = 125 * (1 + a * a) ** 2 / (1 + 2 * a * a)
    assert res.dof["cpm"] == pytest.approx(nu, rel=1e-12)
    lo = res.cpm * math.sqrt(sps.chi2.ppf(0.025, nu) / nu)
    hi = res.cpm * math.sqrt(sps.chi2.ppf(0.975, nu) / nu)
    close(list(res.interval("cpm") or ()), [lo, hi])


# --------------------------------------------------------------------------- Anderson-Darling

# statsmodels/statsmodels, statsmodels/stats/tests/test_statstools.py (test_adnorm): a random
# array rounded to 4 decimals and R fBasics::adTest (= nortest::ad.test) statistic and p-value
AD_X = np.array([-0.1184, -1.3403, 0.0063, -0.612, -0.3869, -0.2313, -2.8485, -0.2167, 0.4153,
                 1.8492, -0.3706, 0.9726, -0.1501, -0.0337, -1.4423, 1.2489, 0.9182, -0.2331,
                 -0.6182, 0.183])  # fmt: skip
AD_R = [
    (AD_X, 0.5867235358882148, 0.1115380760041617),
    (AD_X**2, 2.976266267594575e00, 8.753003709960645e-08),
    (np.log(AD_X**2), 0.4892557856308528, 0.1968040759316307),
    (np.exp(-(AD_X**2)), 1.4599014654282669312, 0.0006380009232897535),
]


@pytest.mark.parametrize(("data", "a2", "p"), AD_R)
def test_anderson_darling_r(data: np.ndarray, a2: float, p: float) -> None:
    """A² and p-value as R fBasics/nortest (every branch of the p-value formula but one)."""
    stat, pval = anderson_darling_normal(data)
    close(stat, a2)
    close(pval, p)


def test_anderson_darling_scipy_statistic() -> None:
    """The statistic is scipy.stats.anderson's A² (unmodified), for several sizes."""
    rng = np.random.default_rng(11)
    for n in (8, 25, 200, 5000):
        for v in (rng.normal(size=n), rng.exponential(size=n)):
            close(anderson_darling_normal(v)[0], sps.anderson(v, method="interpolate").statistic)


def test_anderson_darling_small_statistic_branch() -> None:
    """A*² < 0.2: p = 1 - exp(-13.436 + 101.14 A* - 223.73 A*²) (Stephens 1986, Table 4.9)."""
    v = sps.norm.ppf((np.arange(1, 51) - 0.5) / 50)  # almost perfectly normal: tiny A²
    a2, p = anderson_darling_normal(v)
    a = a2 * (1 + 0.75 / 50 + 2.25 / 2500)
    assert a < 0.2
    close(p, 1 - math.exp(-13.436 + 101.14 * a - 223.73 * a * a))


def test_normality_in_result(piston: Any) -> None:
    x, s, _ = piston
    res = capability(x, s, 73.95, 74.05)
    a2, p = anderson_darling_normal(x)
    assert res.normality == {"method": "anderson-darling", "statistic": a2, "p_value": p}
