"""Property tests of non-normal capability (Hypothesis).

Data come from NumPy generators seeded by Hypothesis (continuous distributions: no ties).
Tolerances: 1e-9 relative for exact maths; 1e-6 where an optimiser's stopping point enters
(the Box–Cox λ is flat at its optimum, so λ itself is only determined to ~1e-8).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special, stats

from zhuoyue.stats import nonnormal as nn
from zhuoyue.stats.nonnormal import ad_normal_pvalue, capability_nonnormal

# the fits cost a few ms each, "auto" and the Weibull/gamma p-values ~50 ms: few examples there
FEW = settings(max_examples=12, deadline=None)
SOME = settings(max_examples=40, deadline=None)
MANY = settings(max_examples=200, deadline=None)

seeds = st.integers(min_value=0, max_value=2**32 - 1)
sizes = st.integers(min_value=10, max_value=150)
scales = st.floats(min_value=1e-3, max_value=1e3)


def positive_sample(seed: int, n: int) -> np.ndarray:
    """Skewed positive values: one of lognormal, Weibull, gamma, chosen by the seed."""
    rng = np.random.default_rng(seed)
    kind = seed % 3
    if kind == 0:
        return rng.lognormal(rng.uniform(-1, 2), rng.uniform(0.1, 1.0), n)
    if kind == 1:
        return rng.uniform(0.5, 5) * rng.weibull(rng.uniform(0.8, 4), n)
    return rng.gamma(rng.uniform(0.8, 10), rng.uniform(0.2, 5), n)


def specs_for(x: np.ndarray) -> tuple[float, float]:
    lo, hi = float(np.quantile(x, 0.01)), float(np.quantile(x, 0.99))
    span = hi - lo
    return max(lo - 0.2 * span, lo / 2), hi + 0.3 * span


# --------------------------------------------------------------------------- transformations


@MANY
@given(
    lam=st.floats(min_value=-5, max_value=5),
    a=st.floats(min_value=1e-3, max_value=1e3),
    ratio=st.floats(min_value=1.0001, max_value=100.0),
)
def test_boxcox_transform_is_increasing(lam, a, ratio):
    t = nn._boxcox_transform(lam)
    b = a * ratio
    assert t(a) <= t(b)
    if min(a**lam, b**lam) > 1e-10:  # else both round to -1/λ: not resolvable in doubles
        assert t(a) < t(b)


@SOME
@given(
    family=st.sampled_from([0, 1, 2]),
    gamma=st.floats(min_value=-5, max_value=5),
    eta=st.floats(min_value=0.05, max_value=10),
    eps=st.floats(min_value=-10, max_value=10),
    lam=st.floats(min_value=0.1, max_value=20),
    seed=seeds,
)
def test_johnson_transform_is_increasing(family, gamma, eta, eps, lam, seed):
    rng = np.random.default_rng(seed)
    lo = eps if family != 2 else eps - 5 * lam
    hi = eps + lam if family == 0 else eps + 5 * lam
    x = np.sort(rng.uniform(lo, hi, 50))
    y = nn._johnson_apply(family, gamma, eta, eps, lam, x)[0]
    assert np.all(np.diff(y) >= 0)
    # beyond the support: -inf below, +inf above (SB)
    below = nn._johnson_apply(family, gamma, eta, eps, lam, np.array([lo - 1.0]))[0, 0]
    assert below == -np.inf or family == 2
    if family == 0:
        assert nn._johnson_apply(family, gamma, eta, eps, lam, np.array([hi + 1.0]))[0, 0] == np.inf


@SOME
@given(seed=seeds, n=sizes, method=st.sampled_from(["boxcox", "johnson"]))
def test_transformed_specs_keep_their_order(seed, n, method):
    x = positive_sample(seed, n)
    lsl, usl = specs_for(x)
    try:
        res = capability_nonnormal(x, lsl=lsl, usl=usl, method=method, johnson_p=0.0)
    except nn.DataError:
        return  # a spec beyond the fitted support: covered by the error tests
    tl, tu = res.details["transformed_lsl"], res.details["transformed_usl"]
    assert tl < tu


# --------------------------------------------------------------------------- invariance


@FEW
@given(
    seed=seeds,
    n=sizes,
    b=scales,
    method=st.sampled_from(["boxcox", "lognormal", "weibull", "gamma"]),
)
def test_scaling_data_and_specs_leaves_indices_unchanged(seed, n, b, method):
    """Scale families (and the Box–Cox λ, whose likelihood is scale-free): x, specs -> b x."""
    x = positive_sample(seed, n)
    lsl, usl = specs_for(x)
    a = capability_nonnormal(x, lsl=lsl, usl=usl, method=method)
    s = capability_nonnormal(b * x, lsl=b * lsl, usl=b * usl, method=method)
    for key in ("pp", "ppl", "ppu", "ppk"):
        assert getattr(s, key) == pytest.approx(getattr(a, key), rel=1e-6, abs=1e-9)
    for key in ("below_lsl", "above_usl"):
        assert s.ppm_overall[key] == pytest.approx(a.ppm_overall[key], rel=1e-5, abs=1e-6)
    assert s.details["ad_statistic"] == pytest.approx(a.details["ad_statistic"], rel=1e-6)


@FEW
@given(seed=seeds, n=sizes)
def test_order_of_the_values_does_not_matter(seed, n):
    x = positive_sample(seed, n)
    lsl, usl = specs_for(x)
    perm = np.random.default_rng(seed).permutation(n)
    a = capability_nonnormal(x, lsl=lsl, usl=usl)
    b = capability_nonnormal(x[perm], lsl=lsl, usl=usl)
    assert a.method == b.method
    assert b.ppk == pytest.approx(a.ppk, rel=1e-6)


# --------------------------------------------------------------------------- indices


@SOME
@given(
    seed=seeds,
    n=sizes,
    method=st.sampled_from(["boxcox", "johnson", "lognormal", "weibull", "gamma", "normal"]),
)
def test_ppk_is_the_smaller_side_and_at_most_pp(seed, n, method):
    x = positive_sample(seed, n)
    lsl, usl = specs_for(x)
    try:
        res = capability_nonnormal(x, lsl=lsl, usl=usl, method=method, johnson_p=0.0)
    except nn.DataError:
        return
    sides = [v for v in (res.ppl, res.ppu) if v is not None]
    if not sides:
        # both specs outside a fitted bounded support (Johnson SB): no index, and it says so
        assert res.ppk is None and res.pp is None
        assert sum("cannot be transformed" in w for w in res.warnings) == 2
        assert res.ppm_overall["total"] == 0
        return
    assert res.ppk == min(sides)
    if res.pp is not None:
        assert res.ppk <= res.pp * (1 + 1e-12)
    ppm = res.ppm_overall
    assert 0 <= ppm["total"] <= 1e6
    assert ppm["total"] == pytest.approx(ppm["below_lsl"] + ppm["above_usl"], rel=1e-12)


@SOME
@given(seed=seeds, n=sizes, method=st.sampled_from(["boxcox", "johnson", "normal"]))
def test_transformation_ppm_is_the_normal_tail_of_the_index(seed, n, method):
    # on the transformed scale the indices are normal-theory: PPM above USL = 1e6 Φ(-3 PPU)
    x = positive_sample(seed, n)
    lsl, usl = specs_for(x)
    try:
        res = capability_nonnormal(x, lsl=lsl, usl=usl, method=method, johnson_p=0.0)
    except nn.DataError:
        return
    if res.ppu is not None:
        assert res.ppm_overall["above_usl"] == pytest.approx(
            1e6 * special.ndtr(-3 * res.ppu), rel=1e-9, abs=1e-300
        )
    if res.ppl is not None:
        assert res.ppm_overall["below_lsl"] == pytest.approx(
            1e6 * special.ndtr(-3 * res.ppl), rel=1e-9, abs=1e-300
        )


@MANY
@given(
    mu=st.floats(min_value=-100, max_value=100),
    sigma=st.floats(min_value=1e-3, max_value=10),
    lo=st.floats(min_value=-6, max_value=0),
    hi=st.floats(min_value=0.1, max_value=6),
)
def test_percentile_method_on_a_normal_is_the_normal_capability(mu, sigma, lo, hi):
    lsl, usl = mu + lo * sigma, mu + hi * sigma
    ix = nn._percentile_indices(stats.norm(mu, sigma), nn._Spec(lsl, usl, None))
    assert ix.pp == pytest.approx((usl - lsl) / (6 * sigma), rel=1e-9)
    assert ix.ppu == pytest.approx((usl - mu) / (3 * sigma), rel=1e-9, abs=1e-9)
    assert ix.ppl == pytest.approx((mu - lsl) / (3 * sigma), rel=1e-9, abs=1e-9)


# --------------------------------------------------------------------------- auto


@FEW
@given(seed=seeds, n=sizes, shift=st.sampled_from([0.0, -1.0]))
def test_auto_returns_one_of_its_candidates(seed, n, shift):
    x = positive_sample(seed, n)
    x = x + shift * float(np.median(x))  # shift < 0: some values <= 0, positive-only skipped
    lsl, usl = float(np.quantile(x, 0.02)), float(np.quantile(x, 0.98))
    res = capability_nonnormal(x, lsl=lsl, usl=usl)
    fitted = [c for c in res.candidates if c["status"] == "fitted"]
    assert res.method in {c["method"] for c in fitted}
    assert [c["rank"] for c in fitted] == list(range(1, len(fitted) + 1))
    first = fitted[0]
    assert first["method"] == res.method
    assert first["ppk"] == res.ppk
    if not first["acceptable"]:
        assert any("No method fits" in w for w in res.warnings)
    else:
        # the simplest acceptable tier wins
        tiers = [nn._TIERS[c["method"]] for c in fitted if c["acceptable"]]
        assert nn._TIERS[res.method] == min(tiers)
    if shift < 0 and x.min() <= 0:
        skipped = {c["method"] for c in res.candidates if c["status"] == "skipped"}
        assert skipped == {"boxcox", "lognormal", "weibull", "gamma"}
    json.dumps(res.to_dict(), allow_nan=False)


# --------------------------------------------------------------------------- goodness of fit


@MANY
@given(
    a=st.floats(min_value=0, max_value=200),
    b=st.floats(min_value=0, max_value=200),
    n=st.integers(min_value=3, max_value=10**6),
)
def test_ad_pvalue_decreases_with_the_statistic(a, b, n):
    lo, hi = min(a, b), max(a, b)
    p_lo, p_hi = ad_normal_pvalue(lo, n), ad_normal_pvalue(hi, n)
    assert 0 <= p_hi <= 1 and 0 <= p_lo <= 1
    # non-increasing, up to the published formula's step of 0.0025 up at A*² = 0.6
    assert p_hi <= p_lo + 0.0026
    factor = 1 + 0.75 / n + 2.25 / n**2
    if not lo * factor < 0.6 <= hi * factor:
        assert p_hi <= p_lo


@SOME
@given(seed=seeds, n=sizes)
def test_ad_statistic_is_positive_and_order_free(seed, n):
    x = positive_sample(seed, n)
    dist = stats.lognorm(s=1.0)
    a2 = nn.anderson_darling(x, dist.cdf)
    assert a2 > 0
    assert nn.anderson_darling(x[::-1], dist.cdf) == pytest.approx(a2, rel=1e-12)


@FEW
@given(seed=seeds, n=st.integers(min_value=10, max_value=60))
def test_weibull_and_gamma_pvalues_are_probabilities(seed, n):
    x = positive_sample(seed, n)
    for method in ("weibull", "gamma"):
        res = capability_nonnormal(x, usl=float(x.max() * 2), method=method)
        p = res.details["ad_pvalue"]
        assert 0 <= p <= 1
        assert math.isfinite(res.details["ad_statistic"])
