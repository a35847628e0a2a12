"""Non-normal capability (``zhuoyue.stats.nonnormal``) against independent values.

Sources, per block:

* SciPy 1.17 as an independent implementation: ``scipy.stats.anderson`` (A² of normality),
  ``boxcox_normmax(method="mle")``, ``weibull_min.fit`` / ``gamma.fit`` with ``floc=0``,
  ``johnsonsu`` / ``johnsonsb`` / ``lognorm`` CDFs.
* Published tables: Anderson & Darling (1954) and Stephens (1974) asymptotic points of A² for a
  fully specified distribution (10 %: 1.933, 5 %: 2.492) and eigenvalues 1/(j(j+1));
  D'Agostino (1986, in D'Agostino & Stephens, *Goodness-of-Fit Techniques*, Table 4.7 / scipy's
  ``_Avals_norm``) points of A²(1 + 0.75/n + 2.25/n²) for the normal with estimated parameters
  (15 %: 0.561, 10 %: 0.631, 5 %: 0.752, 2.5 %: 0.873, 1 %: 1.035); Stephens (1977, Biometrika 64,
  Table 1; scipy's ``_Avals_gumbel``) points of A²(1 + 0.2/√n) for the extreme-value (log-Weibull)
  case (25 %: 0.474, 10 %: 0.637, 5 %: 0.757, 2.5 %: 0.877, 1 %: 1.038).
* Closed forms: Slifker & Shapiro (1980) Johnson parameters from four population quantiles
  (exact recovery), ISO 22514-2 percentile indices of the lognormal and Weibull (quantiles in
  closed form), Box–Cox λ = 0 for values whose logarithms are symmetric, Box–Cox with λ = 0 is
  the normal capability of ln x with ln specs.

Tolerances: 1e-9 relative protects exact maths (closed forms, identical algorithms); 1e-6 where
two optimisers stop at their own tolerance; printed tables are compared at their precision (the
p-value at a tabled point equals its level within the table's rounding: 3 % relative for the
normal case, 4 % for Stephens' extreme-value table, whose points came from simulation).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import optimize, special, stats

from zhuoyue.stats import nonnormal as nn
from zhuoyue.stats.nonnormal import (
    JOHNSON_Z,
    P_TAIL,
    ad_normal_pvalue,
    anderson_darling,
    boxcox_lambda,
    capability_nonnormal,
    gamma_mle,
    weibull_mle,
)

EXACT = 1e-9


def quantile_sample(dist: object, n: int) -> np.ndarray:
    """Exact quantiles F⁻¹((i - 0.5)/n) of a frozen SciPy distribution: data without noise."""
    return np.asarray(dist.ppf((np.arange(1, n + 1) - 0.5) / n))  # type: ignore[attr-defined]


RNG = np.random.default_rng(20240611)
SAMPLES = {
    "lognormal": RNG.lognormal(1.0, 0.4, 150),
    "weibull": 3.0 * RNG.weibull(1.8, 200),
    "gamma": RNG.gamma(2.5, 1.5, 120),
    "exponential": RNG.exponential(2.0, 60),
    "normal": RNG.normal(20.0, 2.0, 80),
}


# --------------------------------------------------------------------------- Anderson–Darling


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_ad_statistic_equals_scipy_anderson(name):
    x = SAMPLES[name]
    m, s = x.mean(), x.std(ddof=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy's FutureWarning about its return type
        expected = float(stats.anderson(x, dist="norm").statistic)
    assert anderson_darling(x, stats.norm(m, s).cdf) == pytest.approx(expected, rel=EXACT)
    with_sf = anderson_darling(x, stats.norm(m, s).cdf, sf=stats.norm(m, s).sf)
    assert with_sf == pytest.approx(expected, rel=EXACT)


def test_ad_statistic_of_normal_candidate_equals_scipy():
    x = SAMPLES["normal"]
    res = capability_nonnormal(x, lsl=14, usl=26, method="normal")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = float(stats.anderson(x, dist="norm").statistic)
    assert res.details["ad_statistic"] == pytest.approx(expected, rel=EXACT)


def test_ad_statistic_weibull_equals_scipy_with_same_parameters():
    # scipy's weibull_min case computes A² from logcdf/logsf of its own 3-parameter fit; with the
    # same parameters the statistic is the same formula
    x = SAMPLES["weibull"]
    k, s = weibull_mle(x)
    dist = stats.weibull_min(c=k, scale=s)
    res = capability_nonnormal(x, usl=12.0, method="weibull")
    assert res.details["ad_statistic"] == pytest.approx(
        anderson_darling(x, dist.cdf, sf=dist.sf), rel=1e-9
    )


@pytest.mark.parametrize(
    ("point", "level"),
    [(0.561, 0.15), (0.631, 0.10), (0.752, 0.05), (0.873, 0.025), (1.035, 0.01)],
)
def test_ad_normal_pvalue_at_dagostino_stephens_points(point, level):
    """D'Agostino (1986) Table 4.7: points of A*² = A²(1 + 0.75/n + 2.25/n²)."""
    n = 40
    a2 = point / (1 + 0.75 / n + 2.25 / n**2)
    assert ad_normal_pvalue(a2, n) == pytest.approx(level, rel=0.03)


def test_ad_normal_pvalue_formula_pieces():
    # the four pieces of the published formula, evaluated by hand at one A*² each (n huge: A* = A)
    n = 10**12
    assert ad_normal_pvalue(0.1, n) == pytest.approx(
        1 - math.exp(-13.436 + 10.114 - 2.2373), rel=1e-9
    )
    assert ad_normal_pvalue(0.3, n) == pytest.approx(
        1 - math.exp(-8.318 + 12.8388 - 5.39442), rel=1e-9
    )
    assert ad_normal_pvalue(0.5, n) == pytest.approx(math.exp(0.9177 - 2.1395 - 0.345), rel=1e-9)
    assert ad_normal_pvalue(2.0, n) == pytest.approx(math.exp(1.2937 - 11.418 + 0.0744), rel=1e-9)


# --------------------------------------------------------------------------- asymptotic A²


def _quantile(lam: np.ndarray, level: float) -> float:
    return float(
        optimize.brentq(lambda a: nn._quadratic_form_sf(a, lam) - level, 0.3, 6.0, xtol=1e-5)
    )


def test_kernel_without_estimation_gives_anderson_darling_eigenvalues():
    lam = nn._kernel_eigenvalues(lambda t: np.zeros((t.size, 1)), np.eye(1))
    j = np.arange(1, 6)
    np.testing.assert_allclose(lam[:5], 1 / (j * (j + 1)), atol=1e-4)  # Nyström, 128 nodes
    assert lam.sum() == pytest.approx(1.0, rel=1e-6)  # E[A²] = 1
    # Anderson & Darling (1954), Stephens (1974) case 0: 10 % 1.933, 5 % 2.492
    assert _quantile(lam, 0.10) == pytest.approx(1.933, abs=2e-3)
    assert _quantile(lam, 0.05) == pytest.approx(2.492, abs=2e-3)


def test_kernel_normal_case_reproduces_stephens_points():
    def grad(t: np.ndarray) -> np.ndarray:
        z = special.ndtri(t)
        phi = np.exp(-z * z / 2) / math.sqrt(2 * math.pi)
        return np.column_stack([-phi, -z * phi])

    lam = nn._kernel_eigenvalues(grad, np.diag([1.0, 2.0]))
    for point, level in [(0.631, 0.10), (0.752, 0.05), (0.873, 0.025), (1.035, 0.01)]:
        assert _quantile(lam, level) == pytest.approx(point, abs=2e-3)


@pytest.mark.parametrize(
    ("point", "level"),
    [(0.474, 0.25), (0.637, 0.10), (0.757, 0.05), (0.877, 0.025), (1.038, 0.01)],
)
def test_weibull_pvalue_matches_stephens_1977_table(point, level):
    """The Weibull p-value at a tabled modified statistic is the table's level."""
    n = 50
    a2 = point / (1 + 0.2 / math.sqrt(n))
    assert nn._weibull_pvalue(a2, n) == pytest.approx(level, rel=0.04)


def test_gamma_kernel_tends_to_the_normal_case():
    # gamma with a large shape is close to normal: the same asymptotic points
    lam = nn._eigen_gamma(1e4)
    for point, level in [(0.631, 0.10), (0.752, 0.05), (1.035, 0.01)]:
        assert nn._quadratic_form_sf(point, lam) == pytest.approx(level, rel=0.02)


def test_quadratic_form_tail_is_continuous_at_the_switch():
    lam = nn._eigen_extreme_value()
    # Imhof's integral above 1e-6, Zolotarev's tail approximation below: within 20 % there
    x = _quantile(lam, 1e-6)
    below, above = nn._quadratic_form_sf(x * 0.9999, lam), nn._quadratic_form_sf(x * 1.0001, lam)
    assert below == pytest.approx(above, rel=0.2)
    assert below >= above


# --------------------------------------------------------------------------- Box–Cox


@pytest.mark.parametrize("name", ["lognormal", "weibull", "gamma", "exponential", "normal"])
def test_boxcox_lambda_equals_scipy_mle(name):
    x = SAMPLES[name]
    expected = float(stats.boxcox_normmax(x, method="mle"))
    assert -5 < expected < 5
    assert boxcox_lambda(x) == pytest.approx(expected, rel=1e-6, abs=1e-7)


def test_boxcox_lambda_scipy_llf_is_maximal():
    x = SAMPLES["gamma"]
    lam = boxcox_lambda(x)
    best = stats.boxcox_llf(lam, x)
    for d in (-1e-3, 1e-3):
        assert stats.boxcox_llf(lam + d, x) < best


def test_boxcox_lambda_zero_for_log_symmetric_values():
    # the profile likelihood is even in λ when ln x is symmetric about its mean
    x = np.exp(quantile_sample(stats.norm(0.3, 0.7), 60))
    assert boxcox_lambda(x) == pytest.approx(0.0, abs=1e-6)


def test_boxcox_lambda_zero_equals_log_normal_capability():
    """Box–Cox with λ = 0: normal overall indices of ln x with ln specs (closed form)."""
    x = SAMPLES["lognormal"]
    lsl, usl = 1.0, 9.0
    res = capability_nonnormal(x, lsl=lsl, usl=usl, method="boxcox", lam=0)
    y = np.log(x)
    m, s = y.mean(), y.std(ddof=1)
    assert res.ppu == pytest.approx((math.log(usl) - m) / (3 * s), rel=EXACT)
    assert res.ppl == pytest.approx((m - math.log(lsl)) / (3 * s), rel=EXACT)
    assert res.pp == pytest.approx((math.log(usl) - math.log(lsl)) / (6 * s), rel=EXACT)
    assert res.ppk == pytest.approx(min(res.ppu, res.ppl), rel=EXACT)
    assert res.ppm_overall["above_usl"] == pytest.approx(
        1e6 * stats.norm.sf(math.log(usl), m, s), rel=EXACT
    )
    assert res.ppm_overall["below_lsl"] == pytest.approx(
        1e6 * stats.norm.cdf(math.log(lsl), m, s), rel=EXACT
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected_ad = float(stats.anderson(y, dist="norm").statistic)
    assert res.details["ad_statistic"] == pytest.approx(expected_ad, rel=EXACT)


@pytest.mark.parametrize("lam", [-1.0, 0.5, 2.0])
def test_boxcox_fixed_lambda_matches_scipy_transform(lam):
    # zhuoyue's transform is scipy.stats.boxcox's (x**λ - 1)/λ: same indices by construction
    x = SAMPLES["weibull"]
    usl = 9.0
    res = capability_nonnormal(x, usl=usl, method="boxcox", lam=lam)
    y = stats.boxcox(x, lmbda=lam)
    tu = float(stats.boxcox(np.array([usl]), lmbda=lam)[0])
    assert res.details["transformed_usl"] == pytest.approx(tu, rel=EXACT)
    assert res.ppu == pytest.approx((tu - y.mean()) / (3 * y.std(ddof=1)), rel=EXACT)


def test_boxcox_rounded_lambda():
    x = SAMPLES["gamma"]
    lam = boxcox_lambda(x)
    res = capability_nonnormal(x, usl=20.0, method="boxcox", round_lambda=True)
    assert res.details["lambda"] == math.floor(2 * lam + 0.5) / 2
    assert res.details["lambda_mle"] == pytest.approx(lam, rel=1e-6)
    assert res.details["lambda_source"] == "mle_rounded"


def test_boxcox_lambda_one_is_the_normal_capability():
    x = SAMPLES["normal"]
    a = capability_nonnormal(x, lsl=14, usl=26, method="boxcox", lam=1)
    b = capability_nonnormal(x, lsl=14, usl=26, method="normal")
    for key in ("pp", "ppl", "ppu", "ppk"):
        assert getattr(a, key) == pytest.approx(getattr(b, key), rel=EXACT)
    assert a.details["ad_statistic"] == pytest.approx(b.details["ad_statistic"], rel=EXACT)


# --------------------------------------------------------------------------- distribution fits


@pytest.mark.parametrize("name", ["lognormal", "weibull", "gamma", "exponential"])
def test_weibull_mle_matches_scipy(name):
    x = SAMPLES[name]
    k, s = weibull_mle(x)
    kk, _, ss = stats.weibull_min.fit(x, floc=0)
    # scipy's optimiser stops earlier: agree to 1e-4, and zhuoyue's likelihood is not lower
    assert k == pytest.approx(kk, rel=1e-4)
    assert s == pytest.approx(ss, rel=1e-4)
    mine = stats.weibull_min.logpdf(x, k, scale=s).sum()
    theirs = stats.weibull_min.logpdf(x, kk, scale=ss).sum()
    assert mine >= theirs - 1e-9
    # the score equation holds
    lx = np.log(x)
    w = x**k
    assert (w @ lx) / w.sum() - 1 / k - lx.mean() == pytest.approx(0.0, abs=1e-10)


@pytest.mark.parametrize("name", ["lognormal", "weibull", "gamma", "exponential"])
def test_gamma_mle_matches_scipy(name):
    x = SAMPLES[name]
    k, s = gamma_mle(x)
    kk, _, ss = stats.gamma.fit(x, floc=0)
    assert k == pytest.approx(kk, rel=1e-9)
    assert s == pytest.approx(ss, rel=1e-9)


def test_lognormal_fit_matches_scipy():
    x = SAMPLES["lognormal"]
    res = capability_nonnormal(x, usl=10.0, method="lognormal")
    s, _, scale = stats.lognorm.fit(x, floc=0)
    assert res.details["sigma"] == pytest.approx(s, rel=1e-6)
    assert res.details["scale"] == pytest.approx(scale, rel=1e-6)


def test_iso_percentiles_lognormal_closed_form():
    """LN(μ, σ): X_p = exp(μ + σ z_p); PPU = (USL - e^μ)/(e^(μ+3σ) - e^μ) (ISO 22514-2).

    The percentile index is NOT the normal index on the log scale, (ln USL - μ)/(3σ): with
    ln USL = μ + 3σP the percentile PPU is (e^(3σP) - 1)/(e^(3σ) - 1), equal to P only at P = 1
    (both methods call a spec at the 99.865 % point "index 1"). The expected PPM is exactly the
    normal tail on the log scale.
    """
    mu, sigma = 0.2, 0.35
    x = np.exp(quantile_sample(stats.norm(mu, sigma), 400))
    res = capability_nonnormal(x, lsl=0.6, usl=3.5, method="lognormal")
    m, s = res.details["mu"], res.details["sigma"]
    # the fit: mean of ln x and its ML standard deviation
    assert m == pytest.approx(np.log(x).mean(), rel=EXACT)
    assert s == pytest.approx(np.log(x).std(ddof=0), rel=EXACT)
    lo, med, hi = math.exp(m - 3 * s), math.exp(m), math.exp(m + 3 * s)
    assert res.details["x_0_135"] == pytest.approx(lo, rel=EXACT)
    assert res.details["x_50"] == pytest.approx(med, rel=EXACT)
    assert res.details["x_99_865"] == pytest.approx(hi, rel=EXACT)
    assert res.ppu == pytest.approx((3.5 - med) / (hi - med), rel=EXACT)
    assert res.ppl == pytest.approx((med - 0.6) / (med - lo), rel=EXACT)
    assert res.pp == pytest.approx((3.5 - 0.6) / (hi - lo), rel=EXACT)
    big_p = (math.log(3.5) - m) / (3 * s)
    assert res.ppu == pytest.approx(math.expm1(3 * s * big_p) / math.expm1(3 * s), rel=EXACT)
    assert res.ppm_overall["above_usl"] == pytest.approx(1e6 * special.ndtr(-3 * big_p), rel=EXACT)
    # a spec at the fitted 99.865 % point has index 1 and 1349.9 ppm
    at = capability_nonnormal(x, usl=hi, method="lognormal")
    assert at.ppu == pytest.approx(1.0, rel=EXACT)
    assert at.ppm_overall["above_usl"] == pytest.approx(1e6 * P_TAIL, rel=1e-9)


def test_iso_percentiles_weibull_closed_form():
    """Weibull(k, θ): X_p = θ(-ln(1 - p))^(1/k); PPM = 1e6 exp(-(USL/θ)^k)."""
    x = SAMPLES["weibull"]
    res = capability_nonnormal(x, lsl=0.1, usl=9.0, method="weibull")
    k, th = res.details["shape"], res.details["scale"]

    def q(p: float) -> float:
        return th * (-math.log1p(-p)) ** (1 / k)

    lo, med, hi = q(P_TAIL), q(0.5), q(1 - P_TAIL)
    assert res.ppu == pytest.approx((9.0 - med) / (hi - med), rel=1e-9)
    assert res.ppl == pytest.approx((med - 0.1) / (med - lo), rel=1e-9)
    assert res.pp == pytest.approx(8.9 / (hi - lo), rel=1e-9)
    assert res.ppm_overall["above_usl"] == pytest.approx(1e6 * math.exp(-((9 / th) ** k)), rel=1e-9)
    assert res.ppm_overall["below_lsl"] == pytest.approx(
        -1e6 * math.expm1(-((0.1 / th) ** k)), rel=1e-9
    )


def test_percentile_method_on_a_normal_distribution_is_normal_capability():
    # X99.865 - X0.135 = 6σ and X50 = μ exactly for a normal: Pp = (USL - LSL)/(6σ)
    dist = stats.norm(10.0, 0.5)
    ix = nn._percentile_indices(dist, nn._Spec(8.8, 11.9, None))
    assert ix.pp == pytest.approx((11.9 - 8.8) / 3.0, rel=1e-12)
    assert ix.ppu == pytest.approx(1.9 / 1.5, rel=1e-12)
    assert ix.ppl == pytest.approx(1.2 / 1.5, rel=1e-12)
    assert ix.ppk == pytest.approx(1.2 / 1.5, rel=1e-12)


def test_gamma_percentiles_match_scipy():
    x = SAMPLES["gamma"]
    res = capability_nonnormal(x, usl=15.0, method="gamma")
    k, th = res.details["shape"], res.details["scale"]
    hi = stats.gamma.isf(P_TAIL, k, scale=th)
    med = stats.gamma.median(k, scale=th)
    assert res.ppu == pytest.approx((15.0 - med) / (hi - med), rel=1e-9)
    assert res.ppm_overall["above_usl"] == pytest.approx(
        1e6 * stats.gamma.sf(15.0, k, scale=th), rel=1e-9
    )


# --------------------------------------------------------------------------- Johnson


JOHNSON_CASES = [
    ("SU", stats.johnsonsu(a=-1.2, b=1.7, loc=3.0, scale=2.0), (-1.2, 1.7, 3.0, 2.0)),
    ("SB", stats.johnsonsb(a=0.8, b=1.3, loc=-1.0, scale=5.0), (0.8, 1.3, -1.0, 5.0)),
    # SL: ln(x - ε) ~ N(0.4, 0.6²)  <=>  Z = γ + η ln(x - ε) with η = 1/0.6, γ = -0.4/0.6
    ("SL", stats.lognorm(s=0.6, loc=2.0, scale=math.exp(0.4)), (-0.4 / 0.6, 1 / 0.6, 2.0, None)),
]


@pytest.mark.parametrize(
    ("family", "dist", "params"), JOHNSON_CASES, ids=[c[0] for c in JOHNSON_CASES]
)
@pytest.mark.parametrize("z", [0.25, 0.52, 1.25])
def test_johnson_parameters_recover_population_values(family, dist, params, z):
    """Slifker & Shapiro (1980): from the exact quantiles at -3z, -z, z, 3z."""
    q = dist.ppf(special.ndtr(np.array([-3 * z, -z, z, 3 * z])))
    zz = np.array([z])
    fam, gam, eta, eps, lam, _, ratio = nn._johnson_parameters(q[[0]], q[[1]], q[[2]], q[[3]], zz)
    code = nn._FAMILY_NAMES.index(family)
    if family == "SL":
        assert ratio[0] == pytest.approx(1.0, rel=1e-9)  # mn/p² = 1 exactly for a lognormal
    else:
        assert (ratio[0] < 1) == (family == "SB")
    i = int(np.flatnonzero(fam == code)[0])
    g0, e0, x0, l0 = params
    assert gam[i] == pytest.approx(g0, rel=1e-9, abs=1e-9)
    assert eta[i] == pytest.approx(e0, rel=1e-9)
    assert eps[i] == pytest.approx(x0, rel=1e-9, abs=1e-9)
    if l0 is not None:
        assert lam[i] == pytest.approx(l0, rel=1e-9)


@pytest.mark.parametrize(
    ("family", "dist", "params"), JOHNSON_CASES, ids=[c[0] for c in JOHNSON_CASES]
)
def test_johnson_transform_is_normal_quantile_of_the_cdf(family, dist, params):
    g, e, eps, lam = params
    code = nn._FAMILY_NAMES.index(family)
    x = dist.ppf(np.linspace(0.001, 0.999, 41))
    z = nn._johnson_apply(code, g, e, eps, 1.0 if lam is None else lam, x)[0]
    np.testing.assert_allclose(z, special.ndtri(dist.cdf(x)), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize(
    ("family", "dist", "params"), JOHNSON_CASES, ids=[c[0] for c in JOHNSON_CASES]
)
def test_johnson_on_exact_quantiles_of_a_johnson_distribution(family, dist, params):
    x = quantile_sample(dist, 1000)
    lo, hi = dist.ppf(0.0005), dist.ppf(0.998)
    res = capability_nonnormal(x, lsl=lo, usl=hi, method="johnson")
    d = res.details
    assert d["ad_pvalue"] > 0.99
    # the fitted transformation reproduces the tail fractions of the true distribution
    assert res.ppm_overall["below_lsl"] == pytest.approx(500, rel=0.1)
    assert res.ppm_overall["above_usl"] == pytest.approx(2000, rel=0.1)
    assert d["z"] in JOHNSON_Z
    assert d["transformations_tried"] > 0


def test_johnson_z_grid_is_chou_polansky_mason():
    assert JOHNSON_Z.size == 101
    assert JOHNSON_Z[0] == 0.25 and JOHNSON_Z[-1] == 1.25
    np.testing.assert_allclose(np.diff(JOHNSON_Z), 0.01)


def test_johnson_quantiles_are_chou_positions():
    # Chou et al.: the sample quantile at p is at position n p + 1/2 (1-based), interpolated and
    # clamped to the extremes; numpy's "hazen" method is exactly that
    x = np.sort(SAMPLES["gamma"])
    n = x.size
    for p in (0.0001, 0.2, 0.5, 0.77, 0.9999):
        pos = n * p + 0.5
        if pos < 1:
            expected = x[0]
        elif pos > n:
            expected = x[-1]
        else:
            lo = math.floor(pos)
            frac = pos - lo
            expected = x[lo - 1] + frac * (x[min(lo, n - 1)] - x[lo - 1])
        assert np.quantile(x, p, method="hazen") == pytest.approx(expected, rel=1e-12)


def test_johnson_works_with_negative_values():
    x = SAMPLES["weibull"] - 2.0
    res = capability_nonnormal(x, lsl=-1.9, usl=6.0, method="johnson")
    assert res.method == "johnson"
    assert res.details["family"] in ("SB", "SL", "SU")
    y = nn._johnson_apply(
        nn._FAMILY_NAMES.index(res.details["family"]),
        res.details["gamma"],
        res.details["eta"],
        res.details["epsilon"],
        res.details["lambda"] or 1.0,
        np.sort(x),
    )[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = float(stats.anderson(y, dist="norm").statistic)
    assert res.details["ad_statistic"] == pytest.approx(expected, rel=1e-9)
    assert res.details["transformed_usl"] == pytest.approx(
        float(
            nn._johnson_apply(
                nn._FAMILY_NAMES.index(res.details["family"]),
                res.details["gamma"],
                res.details["eta"],
                res.details["epsilon"],
                res.details["lambda"] or 1.0,
                np.array([6.0]),
            )[0, 0]
        ),
        rel=1e-12,
    )


def test_johnson_screening_keeps_the_exhaustive_choice():
    # above 2000 values the candidates are screened on 2000 order statistics: same choice here
    x = np.sort(np.random.default_rng(3).gamma(2.0, 1.0, 6000))
    screened, a2s, _, was = nn._johnson_search(x)
    assert was
    old = nn._JOHNSON_SCREEN
    try:
        nn._JOHNSON_SCREEN = 10**9
        full, a2f, _, was_full = nn._johnson_search(x)
    finally:
        nn._JOHNSON_SCREEN = old
    assert not was_full
    assert a2s == pytest.approx(a2f, rel=1e-12)
    assert screened["family"] == full["family"] and screened["z"] == full["z"]


# --------------------------------------------------------------------------- auto


def test_auto_recommends_normal_for_normal_data():
    x = quantile_sample(stats.norm(50, 2), 100)
    res = capability_nonnormal(x, lsl=44, usl=56)
    assert res.method == "normal"
    assert res.ppk == pytest.approx(6 / (3 * x.std(ddof=1)), rel=EXACT)
    assert res.candidates[0]["method"] == "normal"


@pytest.mark.parametrize(
    ("dist", "expected"),
    [
        (stats.lognorm(s=0.5, scale=2.0), "lognormal"),
        (stats.weibull_min(c=1.5, scale=3.0), "weibull"),
        (stats.gamma(a=1.5, scale=2.0), "gamma"),
    ],
)
def test_auto_recommends_the_generating_distribution(dist, expected):
    x = quantile_sample(dist, 300)
    res = capability_nonnormal(x, usl=float(dist.isf(1e-3)))
    assert res.method == expected
    assert res.candidates[0]["rank"] == 1
    assert res.candidates[0]["acceptable"]
    # the exact-quantile data give the true tail fraction: 1000 ppm above USL
    assert res.ppm_overall["above_usl"] == pytest.approx(1000, rel=0.1)
