"""Property tests of the control charts and run rules (Hypothesis).

Data come from NumPy generators seeded by Hypothesis: continuous values, so that exact ties
with a threshold have probability zero and comparisons of violations are meaningful. Computed
values are compared at ``rtol=1e-9`` (this protects exact maths), with an absolute tolerance of
1e-9 of the data's spread where a value can be exactly 0 (floored limits, CUSUM sums).

The run rules are checked against a slow, loop-based reference implementation written here from
the definitions in ``shared/reference/README.md``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from zhuoyue import stats
from zhuoyue.stats.rules import RULE_SETS, evaluate, resolve_rules

RTOL = 1e-9  # protects exact maths
FEW = settings(max_examples=50, deadline=None)
SOME = settings(max_examples=100, deadline=None)
MANY = settings(max_examples=200, deadline=None)

seeds = st.integers(min_value=0, max_value=2**32 - 1)


def close(actual: Any, expected: Any, atol: float = 0.0) -> None:
    if actual is None or expected is None:
        assert actual is None and expected is None
        return
    np.testing.assert_allclose(
        np.asarray(actual, dtype=np.float64),
        np.asarray(expected, dtype=np.float64),
        rtol=RTOL,
        atol=atol,
    )


def same_violations(a: stats.ChartResult, b: stats.ChartResult) -> None:
    assert list(a.panels) == list(b.panels)
    for name in a.panels:
        assert a[name].violations.to_list() == b[name].violations.to_list(), name


def same_result(a: stats.ChartResult, b: stats.ChartResult, atol: float = 0.0) -> None:
    """Same centre, sigma, every panel's statistic and limits, and the same violations."""
    close(a.center, b.center, atol)
    close(a.sigma, b.sigma, atol)
    for name in a.panels:
        pa, pb = a[name], b[name]
        close(pa.statistic, pb.statistic, atol)
        close(pa.center, pb.center, atol)
        close(pa.lcl, pb.lcl, atol)
        close(pa.ucl, pb.ucl, atol)
    same_violations(a, b)


def affine(v: Any, a: float, b: float) -> Any:
    return None if v is None else a + b * np.asarray(v, dtype=np.float64)


def scaled(v: Any, b: float) -> Any:
    return None if v is None else b * np.asarray(v, dtype=np.float64)


def make_data(seed: int, k: int, n: int, shift: float) -> np.ndarray:
    """k subgroups of n N(10, 1) values; the last third shifted by ``shift`` (signals)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(10.0, 1.0, size=(k, n))
    x[2 * k // 3 :] += shift
    return x.ravel()


# --------------------------------------------------------------------------- affine invariance

affine_a = st.floats(min_value=-1000.0, max_value=1000.0)
affine_b = st.floats(min_value=0.01, max_value=100.0)
shifts = st.floats(min_value=-2.5, max_value=2.5)


@pytest.mark.parametrize("chart", [stats.xbar_r, stats.xbar_s])
@FEW
@given(
    seed=seeds,
    k=st.integers(5, 40),
    n=st.integers(2, 8),
    shift=shifts,
    a=affine_a,
    b=affine_b,
)
def test_affine_xbar(chart, seed, k, n, shift, a, b):
    x = make_data(seed, k, n, shift)
    res = chart(x, n)
    res2 = chart(a + b * x, n)
    atol = 1e-9 * b  # spread of the data is ~b
    close(res2.center, a + b * res.center, atol)
    close(res2.sigma, b * res.sigma, atol)
    xb, xb2 = res["xbar"], res2["xbar"]
    close(xb2.statistic, affine(xb.statistic, a, b), atol)
    close(xb2.center, affine(xb.center, a, b), atol)
    close(xb2.lcl, affine(xb.lcl, a, b), atol)
    close(xb2.ucl, affine(xb.ucl, a, b), atol)
    close(xb2.sigma, scaled(xb.sigma, b), atol)
    disp = "r" if chart is stats.xbar_r else "s"
    d, d2 = res[disp], res2[disp]
    for attr in ("statistic", "center", "lcl", "ucl", "sigma"):
        close(getattr(d2, attr), scaled(getattr(d, attr), b), atol)
    same_violations(res, res2)


@FEW
@given(seed=seeds, m=st.integers(5, 120), shift=shifts, a=affine_a, b=affine_b)
def test_affine_imr(seed, m, shift, a, b):
    x = make_data(seed, m, 1, shift)
    res = stats.imr(x)
    res2 = stats.imr(a + b * x)
    atol = 1e-9 * b
    close(res2.center, a + b * res.center, atol)
    close(res2.sigma, b * res.sigma, atol)
    i, i2 = res["i"], res2["i"]
    for attr in ("statistic", "center", "lcl", "ucl"):
        close(getattr(i2, attr), affine(getattr(i, attr), a, b), atol)
    mr, mr2 = res["mr"], res2["mr"]
    for attr in ("statistic", "center", "lcl", "ucl"):
        close(getattr(mr2, attr), scaled(getattr(mr, attr), b), atol)
    assert np.isnan(mr2.statistic[0])
    same_violations(res, res2)


@FEW
@given(
    seed=seeds,
    k=st.integers(5, 60),
    n=st.integers(1, 5),
    shift=shifts,
    lam=st.floats(0.05, 1.0),
    a=affine_a,
    b=affine_b,
)
def test_affine_ewma(seed, k, n, shift, lam, a, b):
    x = make_data(seed, k, n, shift)
    res = stats.ewma(x, n, lam=lam)
    res2 = stats.ewma(a + b * x, n, lam=lam)
    atol = 1e-9 * b
    close(res2.center, a + b * res.center, atol)
    close(res2.sigma, b * res.sigma, atol)
    e, e2 = res["ewma"], res2["ewma"]
    for attr in ("statistic", "center", "lcl", "ucl"):
        close(getattr(e2, attr), affine(getattr(e, attr), a, b), atol)
    close(e2.sigma, scaled(e.sigma, b), atol)
    same_violations(res, res2)


@FEW
@given(
    seed=seeds,
    k=st.integers(5, 60),
    n=st.integers(1, 5),
    shift=shifts,
    # k > 0: with k = 0 and the centre estimated from all points, the cumulative sums return
    # to exactly 0 at the last point (the deviations from the mean sum to 0), a structural tie
    # that rounding decides either way
    kk=st.floats(0.05, 1.5),
    h=st.floats(0.5, 8.0),
    a=affine_a,
    b=affine_b,
)
def test_affine_cusum(seed, k, n, shift, kk, h, a, b):
    x = make_data(seed, k, n, shift)
    data = stats.cusum(x, n, k=kk, h=h)
    data2 = stats.cusum(a + b * x, n, k=kk, h=h)
    std = stats.cusum(x, n, k=kk, h=h, units="standardized")
    std2 = stats.cusum(a + b * x, n, k=kk, h=h, units="standardized")
    atol = 1e-9 * b
    close(data2.center, a + b * data.center, atol)
    close(data2.sigma, b * data.sigma, atol)
    close(data2.params["K"], b * data.params["K"])
    close(data2.params["H"], b * data.params["H"])
    for name in ("cusum_upper", "cusum_lower"):
        p, p2 = data[name], data2[name]
        close(p2.statistic, scaled(p.statistic, b), atol)
        close(p2.ucl, scaled(p.ucl, b), atol)
        assert p2.lcl is None
        s, s2 = std[name], std2[name]
        close(s2.statistic, s.statistic, 1e-9)
        assert s2.ucl == s.ucl == h
        np.testing.assert_array_equal(p2.extra["counter"], p.extra["counter"])
        np.testing.assert_array_equal(s2.extra["counter"], p.extra["counter"])
    same_violations(data, data2)
    same_violations(std, std2)
    same_violations(data, std)


# --------------------------------------------------------------------------- subgroup structure


@pytest.mark.parametrize("chart", [stats.xbar_r, stats.xbar_s])
@FEW
@given(seed=seeds, k=st.integers(3, 30), n=st.integers(2, 8), shift=shifts)
def test_permuting_within_subgroups_changes_nothing(chart, seed, k, n, shift):
    x = make_data(seed, k, n, shift)
    rng = np.random.default_rng(seed + 1)
    perm = rng.permuted(x.reshape(k, n), axis=1).ravel()
    same_result(chart(x, n), chart(perm, n), atol=1e-12)


@pytest.mark.parametrize("chart", [stats.xbar_r, stats.xbar_s, stats.ewma, stats.cusum])
@FEW
@given(seed=seeds, k=st.integers(3, 30), n=st.integers(2, 6), shift=shifts)
def test_label_array_equals_int_subgroups(chart, seed, k, n, shift):
    x = make_data(seed, k, n, shift)
    by_size = chart(x, n)
    ints = np.repeat(np.arange(k) * 7 + 100, n)
    strs = np.array([f"lot-{i:03d}" for i in ints])
    for labels in (ints, strs, strs.astype(object)):
        res = chart(x, labels)
        same_result(by_size, res)
        assert res.labels is not None
        assert res.labels.tolist() == list(dict.fromkeys(labels.tolist()))


@pytest.mark.parametrize("chart", [stats.xbar_r, stats.xbar_s, stats.ewma])
@FEW
@given(
    seed=seeds,
    sizes=st.lists(st.integers(2, 6), min_size=3, max_size=25),
    shift=shifts,
)
def test_non_contiguous_labels_equal_sorted_contiguous(chart, seed, sizes, shift):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(len(sizes)), sizes)
    x = rng.normal(10.0, 1.0, labels.size) + shift * (labels >= len(sizes) // 2)
    order = rng.permutation(labels.size)
    x_mixed, lab_mixed = x[order], labels[order]
    # the same data made contiguous, subgroups in order of first appearance, values kept in
    # their order within each subgroup
    first = {lab: i for i, lab in reversed(list(enumerate(lab_mixed.tolist())))}
    rank = np.array([first[lab] for lab in lab_mixed.tolist()])
    contiguous = np.argsort(rank, kind="stable")
    res_mixed = chart(x_mixed, lab_mixed)
    res_sorted = chart(x_mixed[contiguous], lab_mixed[contiguous])
    same_result(res_mixed, res_sorted)
    np.testing.assert_array_equal(res_mixed.sizes, res_sorted.sizes)
    assert res_mixed.labels.tolist() == res_sorted.labels.tolist()
    assert res_mixed.labels.tolist() == list(dict.fromkeys(lab_mixed.tolist()))


# --------------------------------------------------------------------------- test 1 and phase II

centers = st.floats(min_value=-100.0, max_value=100.0)
sigmas = st.floats(min_value=0.01, max_value=100.0)
beyond = st.floats(min_value=1e-6, max_value=5.0)


@FEW
@given(
    seed=seeds,
    m=st.integers(1, 60),
    data=st.data(),
    center=centers,
    sigma=sigmas,
    delta=beyond,
    below=st.booleans(),
)
def test_point_beyond_limit_fires_test1_imr(seed, m, data, center, sigma, delta, below):
    rng = np.random.default_rng(seed)
    x = rng.normal(center, sigma, m)
    j = data.draw(st.integers(0, m - 1))
    sign = -1.0 if below else 1.0
    x[j] = center + sign * (3.0 + delta) * sigma
    res = stats.imr(x, center=center, sigma=sigma)
    assert j in res["i"].violations.for_rule(1)
    assert not res.phase1.any()


@pytest.mark.parametrize("chart", [stats.xbar_r, stats.xbar_s])
@FEW
@given(
    seed=seeds,
    k=st.integers(1, 30),
    n=st.integers(2, 8),
    data=st.data(),
    center=centers,
    sigma=sigmas,
    delta=beyond,
    below=st.booleans(),
)
def test_point_beyond_limit_fires_test1_xbar(chart, seed, k, n, data, center, sigma, delta, below):
    rng = np.random.default_rng(seed)
    x = rng.normal(center, sigma, (k, n))
    j = data.draw(st.integers(0, k - 1))
    sign = -1.0 if below else 1.0
    noise = x[j] - x[j].mean()
    x[j] = noise + center + sign * (3.0 + delta) * sigma / math.sqrt(n)
    res = chart(x.ravel(), n, center=center, sigma=sigma)
    assert j in res["xbar"].violations.for_rule(1)


@FEW
@given(
    seed=seeds,
    m=st.integers(1, 60),
    data=st.data(),
    c0=st.floats(0.5, 50.0),
    extra=st.integers(1, 20),
)
def test_count_beyond_limit_fires_test1_c(seed, m, data, c0, extra):
    rng = np.random.default_rng(seed)
    counts = rng.poisson(c0, m).astype(float)
    j = data.draw(st.integers(0, m - 1))
    counts[j] = math.floor(c0 + 3.0 * math.sqrt(c0)) + extra
    res = stats.c_chart(counts, center=c0)
    assert j in res["c"].violations.for_rule(1)


PHASE2_CHARTS: list[tuple[str, Callable[..., stats.ChartResult]]] = [
    ("xbar_r", lambda x, **kw: stats.xbar_r(x, 5, **kw)),
    ("xbar_s", lambda x, **kw: stats.xbar_s(x, 5, **kw)),
    ("imr", lambda x, **kw: stats.imr(x, **kw)),
    ("ewma", lambda x, **kw: stats.ewma(x, 5, **kw)),
    ("ewma_individuals", lambda x, **kw: stats.ewma(x, lam=0.3, **kw)),
    ("cusum", lambda x, **kw: stats.cusum(x, 5, h=4.0, **kw)),
    ("cusum_individuals", lambda x, **kw: stats.cusum(x, k=0.25, **kw)),
]


@pytest.mark.parametrize(("name", "chart"), PHASE2_CHARTS, ids=[c[0] for c in PHASE2_CHARTS])
@FEW
@given(seed=seeds, k=st.integers(4, 30), shift=shifts)
def test_phase2_with_own_limits_reproduces_phase1(name, chart, seed, k, shift):
    x = make_data(seed, k, 5, shift)
    res = chart(x)
    again = chart(x, center=res.center, sigma=res.sigma)
    assert again.sigma_method == "given"
    same_result(res, again)


ATTRIBUTE_CHARTS: list[tuple[str, Callable[..., stats.ChartResult]]] = [
    ("p", stats.p_chart),
    ("np", stats.np_chart),
    ("c", lambda d, n, **kw: stats.c_chart(d, **kw)),
    ("u", stats.u_chart),
]


@st.composite
def attribute_data(draw: st.DrawFn, min_size: int = 2) -> tuple[np.ndarray, np.ndarray]:
    sizes = draw(st.lists(st.integers(1, 200), min_size=min_size, max_size=40))
    fractions = draw(st.lists(st.floats(0.0, 1.0), min_size=len(sizes), max_size=len(sizes)))
    d = np.array([math.floor(f * n) for f, n in zip(fractions, sizes, strict=True)], float)
    n = np.array(sizes, dtype=float)
    assume(0 < d.sum() < n.sum())
    return d, n


@pytest.mark.parametrize(("name", "chart"), ATTRIBUTE_CHARTS, ids=[c[0] for c in ATTRIBUTE_CHARTS])
@FEW
@given(dn=attribute_data())
def test_attribute_phase2_with_own_centre_reproduces_phase1(name, chart, dn):
    d, n = dn
    res = chart(d, n)
    again = chart(d, n, center=res.center)
    same_result(res, again)


@SOME
@given(dn=attribute_data())
def test_p_and_np_centres_and_limits(dn):
    d, n = dn
    p = stats.p_chart(d, n)
    pbar = d.sum() / n.sum()
    close(p.center, pbar)
    close(p["p"].center, pbar)
    close(p["p"].statistic, d / n)
    lcl = np.asarray(p["p"].lcl)
    ucl = np.asarray(p["p"].ucl)
    assert np.all(lcl >= 0.0)
    assert np.all(ucl <= 1.0)
    assert np.all(lcl <= pbar)
    assert np.all(ucl >= pbar)
    close(p.sigma, math.sqrt(pbar * (1.0 - pbar)))
    npc = stats.np_chart(d, n)
    close(npc.center, pbar)
    close(np.broadcast_to(npc["np"].center, n.shape), n * pbar)
    assert np.all(np.asarray(npc["np"].lcl) >= 0.0)
    close(npc["np"].statistic, d)
    # p and np flag the same points (the np chart is the p chart times n_i), except where a
    # point lies on a limit up to rounding (integer data make exact ties common; see
    # test_np_point_exactly_on_lcl_is_not_a_signal)
    lo = np.broadcast_to(np.asarray(p["p"].lcl), n.shape)
    hi = np.broadcast_to(np.asarray(p["p"].ucl), n.shape)
    ratio = d / n
    tie = np.isclose(ratio, lo, rtol=1e-9, atol=1e-12) | np.isclose(
        ratio, hi, rtol=1e-9, atol=1e-12
    )
    p_hits = [i for i in p["p"].violations.for_rule(1).tolist() if not tie[i]]
    np_hits = [i for i in npc["np"].violations.for_rule(1).tolist() if not tie[i]]
    assert p_hits == np_hits
    u = stats.u_chart(d, n)
    close(u.center, pbar)


def test_np_point_exactly_on_lcl_is_not_a_signal():
    # LCL = n p - 3 sqrt(n p (1 - p)) = 2.25 - 3 * 0.75 = 0 exactly; a point on a limit is not a
    # signal (shared/reference/README.md)
    p = stats.p_chart([0, 3, 3, 3], 3, center=0.75)
    assert p["p"].lcl == 0.0
    assert p["p"].violations.to_list() == []
    npc = stats.np_chart([0, 3, 3, 3], 3, center=0.75)
    assert npc["np"].violations.to_list() == []


# --------------------------------------------------------------------------- CUSUM / EWMA


def cusum_reference(
    x: np.ndarray, mu0: float, sd: float, k: float, h: float, headstart: float
) -> tuple[list[float], list[float], list[int], list[int]]:
    """Montgomery's tabular CUSUM in data units, one period at a time."""
    big_k, big_h = k * sd, h * sd
    cp = cm = headstart * big_h
    np_ = nm = 0
    cps, cms, nps, nms = [], [], [], []
    for xi in x.tolist():
        cp = max(0.0, xi - (mu0 + big_k) + cp)
        cm = max(0.0, (mu0 - big_k) - xi + cm)
        np_ = np_ + 1 if cp > 0 else 0
        nm = nm + 1 if cm > 0 else 0
        cps.append(cp)
        cms.append(cm)
        nps.append(np_)
        nms.append(nm)
    return cps, cms, nps, nms


@settings(max_examples=20, deadline=None)
@given(
    seed=seeds,
    m=st.integers(4000, 9000),
    k=st.floats(0.0, 1.0),
    h=st.floats(1.0, 8.0),
    headstart=st.sampled_from([0.0, 0.5]),
    given_limits=st.booleans(),
)
def test_cusum_equals_python_recursion(seed, m, k, h, headstart, given_limits):
    rng = np.random.default_rng(seed)
    # random walk of the mean: long excursions on both sides, many resets
    drift = np.repeat(rng.normal(0.0, 0.7, m // 200 + 1), 200)[:m]
    x = 50.0 + 2.0 * (rng.normal(0.0, 1.0, m) + drift)
    kw: dict[str, Any] = {"center": 50.0, "sigma": 2.0} if given_limits else {}
    res = stats.cusum(x, k=k, h=h, headstart=headstart, **kw)
    cp, cm, np_, nm = cusum_reference(x, res.center, res.sigma, k, h, headstart)
    atol = 1e-9 * res.sigma
    up, lo = res["cusum_upper"], res["cusum_lower"]
    close(up.statistic, cp, atol)
    close(lo.statistic, cm, atol)
    assert up.extra["counter"].tolist() == np_
    assert lo.extra["counter"].tolist() == nm
    big_h = h * res.sigma
    close(up.ucl, big_h)
    assert up.violations.for_rule(1).tolist() == [i for i, c in enumerate(cp) if c > big_h]
    assert lo.violations.for_rule(1).tolist() == [i for i, c in enumerate(cm) if c > big_h]
    std = stats.cusum(x, k=k, h=h, headstart=headstart, units="standardized", **kw)
    close(std["cusum_upper"].statistic, np.array(cp) / res.sigma, 1e-9)
    close(std["cusum_lower"].statistic, np.array(cm) / res.sigma, 1e-9)


def ewma_reference(
    points: np.ndarray, sizes: np.ndarray, center: float, sigma: float, lam: float, L: float
) -> tuple[list[float], list[float], list[float], list[float]]:
    """z_i = λ x̄_i + (1-λ) z_{i-1}, z_0 = centre; Var z_i = Σ_j λ²(1-λ)^{2(i-j)} σ²/n_j."""
    z, prev = [], center
    for xi in points.tolist():
        prev = lam * xi + (1.0 - lam) * prev
        z.append(prev)
    lcl, ucl, asym = [], [], []
    for i in range(points.size):
        var = sum(lam**2 * (1.0 - lam) ** (2 * (i - j)) * sigma**2 / sizes[j] for j in range(i + 1))
        lcl.append(center - L * math.sqrt(var))
        ucl.append(center + L * math.sqrt(var))
        asym.append(L * sigma / math.sqrt(sizes[i]) * math.sqrt(lam / (2.0 - lam)))
    return z, lcl, ucl, asym


@FEW
@given(
    seed=seeds,
    sizes=st.lists(st.integers(1, 6), min_size=2, max_size=60),
    lam=st.floats(0.05, 1.0),
    L=st.floats(1.0, 3.5),
    shift=shifts,
    given_limits=st.booleans(),
)
def test_ewma_equals_python_recursion(seed, sizes, lam, L, shift, given_limits):
    rng = np.random.default_rng(seed)
    n = np.array(sizes)
    labels = np.repeat(np.arange(n.size), n)
    x = rng.normal(10.0, 1.0, labels.size) + shift * (labels >= n.size // 2)
    kw: dict[str, Any] = {"center": 10.0, "sigma": 1.0} if given_limits else {}
    if not given_limits and np.any(n < 2):
        kw = {"sigma": 1.0}  # within-subgroup sigma needs n >= 2 everywhere
    res = stats.ewma(x, labels, lam=lam, L=L, **kw)
    points = np.array([x[labels == i].mean() for i in range(n.size)])
    z, lcl, ucl, asym = ewma_reference(points, n, res.center, res.sigma, lam, L)
    p = res["ewma"]
    close(p.extra["points"], points)
    close(p.statistic, z)
    close(p.lcl, lcl)
    close(p.ucl, ucl)
    hits = [i for i in range(n.size) if z[i] > ucl[i] or z[i] < lcl[i]]
    assert p.violations.for_rule(1).tolist() == hits
    a = stats.ewma(x, labels, lam=lam, L=L, limits="asymptotic", **kw)["ewma"]
    close(a.ucl, res.center + np.array(asym))
    close(a.lcl, res.center - np.array(asym))


@settings(max_examples=20, deadline=None)
@given(
    seed=seeds,
    m=st.integers(1000, 5000),
    lam=st.one_of(st.sampled_from([0.001, 0.01, 0.5, 0.9, 0.999, 1.0]), st.floats(0.001, 1.0)),
)
def test_ewma_long_series_equals_python_recursion(seed, m, lam):
    # long enough to cross the blocks of the vectorized recurrence for every lambda
    rng = np.random.default_rng(seed)
    drift = np.repeat(rng.normal(0.0, 1.0, m // 100 + 1), 100)[:m]
    x = 74.0 + 0.01 * (rng.normal(0.0, 1.0, m) + drift)
    res = stats.ewma(x, lam=lam, center=74.0, sigma=0.01)
    z, prev = [], 74.0
    for xi in x.tolist():
        prev = lam * xi + (1.0 - lam) * prev
        z.append(prev)
    p = res["ewma"]
    # z is ~74 with a spread of ~0.01: compare deviations from the centre at 1e-9 of sigma
    close(p.statistic - 74.0, np.array(z) - 74.0, atol=1e-9 * 0.01)
    i = np.arange(1, m + 1)
    half = 3.0 * 0.01 * np.sqrt(lam / (2.0 - lam) * (1.0 - (1.0 - lam) ** (2 * i)))
    close(np.broadcast_to(p.ucl, (m,)) - 74.0, half)
    close(74.0 - np.broadcast_to(p.lcl, (m,)), half)
    hits = np.flatnonzero((np.array(z) - 74.0 > half) | (74.0 - np.array(z) > half))
    assert p.violations.for_rule(1).tolist() == hits.tolist()


@FEW
@given(seed=seeds, m=st.integers(2, 80), lam=st.floats(0.05, 1.0), shift=shifts)
def test_ewma_individuals_closed_form_limits(seed, m, lam, shift):
    x = make_data(seed, m, 1, shift)
    res = stats.ewma(x, lam=lam)
    i = np.arange(1, m + 1)
    half = 3.0 * res.sigma * np.sqrt(lam / (2.0 - lam) * (1.0 - (1.0 - lam) ** (2 * i)))
    close(res["ewma"].ucl, res.center + half)
    close(res["ewma"].lcl, res.center - half)


# --------------------------------------------------------------------------- run rules

# kind of each test (from the definitions), independent of zhuoyue's tables
GB_KIND = {
    1: "beyond",
    2: "same_side",
    3: "trend",
    4: "alternate",
    5: "k_of_k1",
    6: "k_of_k1",
    7: "within",
    8: "mixture",
}
GB_DEFAULT = {1: 3.0, 2: 9, 3: 6, 4: 14, 5: 2, 6: 4, 7: 15, 8: 8}
GB_ZONE = {5: 2.0, 6: 1.0, 7: 1.0, 8: 1.0}
WE_KIND = {1: "beyond", 2: "k_of_k1", 3: "k_of_k1", 4: "same_side"}
WE_DEFAULT = {1: 3.0, 2: 2, 3: 4, 4: 8}
WE_ZONE = {2: 2.0, 3: 1.0}
ZONE_FREE = {"beyond", "same_side", "trend", "alternate"}


def _up(v: float) -> bool:
    return v > 0  # False for NaN and for 0 (a point on the centre line breaks a run)


def _down(v: float) -> bool:
    return v < 0


def reference_rules(
    z: list[float],
    x: list[float],
    rule_set: str,
    tests: list[int],
    ks: Mapping[int, float],
    test8: str,
    zones: bool = True,
) -> list[dict[str, int]]:
    """Slow, obviously correct run rules; every point completing a pattern is reported.

    A NaN point is on no side, beyond nothing and within nothing, so it breaks every run of
    the run tests; in "k of k+1" windows it is one of the points, not beyond.
    """
    kind_of = GB_KIND if rule_set == "gb4091" else WE_KIND
    default = GB_DEFAULT if rule_set == "gb4091" else WE_DEFAULT
    zone_of = GB_ZONE if rule_set == "gb4091" else WE_ZONE
    m = len(z)
    out = []
    for i in range(m):
        for t in sorted(tests):
            kind = kind_of[t]
            if not zones and kind not in ZONE_FREE:
                continue
            kk = ks.get(t, default[t])
            zone = zone_of.get(t, 0.0)
            fire = False
            if kind == "beyond":
                fire = abs(z[i]) > kk
            elif kind == "same_side":
                kk = int(kk)
                if i + 1 >= kk:
                    w = z[i - kk + 1 : i + 1]
                    fire = all(_up(v) for v in w) or all(_down(v) for v in w)
            elif kind == "trend":
                kk = int(kk)  # kk points, kk - 1 differences
                if i + 1 >= kk:
                    w = x[i - kk + 1 : i + 1]
                    pairs = list(itertools.pairwise(w))
                    fire = all(b > a for a, b in pairs) or all(b < a for a, b in pairs)
            elif kind == "alternate":
                kk = int(kk)
                if i + 1 >= kk:
                    w = x[i - kk + 1 : i + 1]
                    ups = [(b > a, b < a) for a, b in itertools.pairwise(w)]
                    fire = all(u or d for u, d in ups) and all(
                        (u1 and d2) or (d1 and u2) for (u1, d1), (u2, d2) in itertools.pairwise(ups)
                    )
            elif kind == "k_of_k1":
                kk = int(kk)
                w = z[max(0, i - kk) : i + 1]  # kk + 1 points, fewer at the start
                fire = (z[i] > zone and sum(v > zone for v in w) >= kk) or (
                    z[i] < -zone and sum(v < -zone for v in w) >= kk
                )
            elif kind == "within":
                kk = int(kk)
                if i + 1 >= kk:
                    fire = all(abs(v) <= zone for v in z[i - kk + 1 : i + 1])
            elif kind == "mixture":
                kk = int(kk)
                if i + 1 >= kk:
                    w = z[i - kk + 1 : i + 1]
                    fire = all(abs(v) > zone for v in w)
                    if test8 == "both":
                        fire = fire and any(v > zone for v in w) and any(v < -zone for v in w)
            if fire:
                out.append({"index": i, "rule": t})
    return out


# ties at every zone boundary, points on the centre line (also -0.0) and NaN (a point that
# cannot be judged); no infinities: chart statistics are always finite
special_z = st.sampled_from([0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 2.0, -2.0, 3.0, -3.0, math.nan])
rounded_z = st.floats(min_value=-4.5, max_value=4.5).map(lambda v: round(v, 1))
z_series = st.lists(st.one_of(special_z, rounded_z), min_size=0, max_size=80)


@st.composite
def k_values(draw: st.DrawFn, rule_set: str) -> dict[int, float]:
    kinds = GB_KIND if rule_set == "gb4091" else WE_KIND
    ranges = {
        "same_side": (2, 12),
        "trend": (3, 9),
        "alternate": (4, 16),
        "k_of_k1": (2, 5),
        "within": (2, 16),
        "mixture": (2, 10),
    }
    out: dict[int, float] = {}
    for t, kind in kinds.items():
        if not draw(st.booleans()):
            continue
        if kind == "beyond":
            out[t] = draw(st.sampled_from([0.5, 1.0, 1.5, 2.0, 2.5, 3.5]))
        else:
            lo, hi = ranges[kind]
            out[t] = draw(st.integers(lo, hi))
    return out


@MANY
@given(
    z=z_series,
    rule_set=st.sampled_from(["gb4091", "we"]),
    data=st.data(),
    test8=st.sampled_from(["both", "either"]),
    zones=st.booleans(),
)
def test_rules_equal_reference_implementation(z, rule_set, data, test8, zones):
    available = sorted(RULE_SETS[rule_set])
    tests = data.draw(st.lists(st.sampled_from(available), unique=True, min_size=1))
    ks = data.draw(k_values(rule_set))
    rules = resolve_rules(rule_set, tests=tests, k=ks, test8=test8)
    expected = reference_rules(z, z, rule_set, tests, ks, test8, zones)
    got = evaluate(np.array(z, dtype=np.float64), rules, zones=zones).to_list()
    assert got == expected


@SOME
@given(z=z_series, data=st.data())
def test_rules_trend_and_alternation_use_the_statistic(z, data):
    # a plotted statistic that differs from z (e.g. unequal n): trends and alternation follow it
    x = data.draw(st.lists(st.one_of(rounded_z, special_z), min_size=len(z), max_size=len(z)))
    ks = data.draw(k_values("gb4091"))
    rules = resolve_rules("gb4091", k=ks)
    expected = reference_rules(z, x, "gb4091", list(range(1, 9)), ks, "both")
    got = evaluate(np.array(z), rules, statistic=np.array(x)).to_list()
    assert got == expected


@SOME
@given(z=z_series)
def test_rules_default_gb4091_and_we(z):
    arr = np.array(z, dtype=np.float64)
    gb = evaluate(arr, resolve_rules("gb4091")).to_list()
    assert gb == reference_rules(z, z, "gb4091", list(range(1, 9)), {}, "both")
    we = evaluate(arr, resolve_rules("we")).to_list()
    assert we == reference_rules(z, z, "we", [1, 2, 3, 4], {}, "both")
    either = evaluate(arr, resolve_rules("gb4091", test8="either")).to_list()
    assert either == reference_rules(z, z, "gb4091", list(range(1, 9)), {}, "either")


def test_rules_alternation_independent_of_scale():
    # 14 points alternating up and down, in units where the steps are tiny
    rules = resolve_rules("gb4091", tests=[4])
    for step in (1.0, 1e-100, 1e-170):
        z = np.array([0.0, step] * 7)
        assert evaluate(z, rules).to_list() == [{"index": 13, "rule": 4}], step


@SOME
@given(
    z=z_series,
    rule_set=st.sampled_from(["gb4091", "we"]),
    data=st.data(),
    block=st.integers(1, 40),
)
def test_rules_do_not_depend_on_the_block_size(z, rule_set, data, block):
    # the series is evaluated block by block with enough history before each block
    ks = data.draw(k_values(rule_set))
    rules = resolve_rules(rule_set, k=ks)
    arr = np.array(z, dtype=np.float64)
    whole = evaluate(arr, rules, block=10**6).to_list()
    assert evaluate(arr, rules, block=block).to_list() == whole
    assert whole == reference_rules(z, z, rule_set, list(RULE_SETS[rule_set]), ks, "both")


@SOME
@given(
    seed=seeds,
    m=st.integers(0, 300),
    center=st.floats(-50, 50),
    sigma=st.floats(0.01, 10),
    per_point=st.booleans(),
    block=st.integers(1, 64),
)
def test_evaluate_chart_equals_evaluate_on_z(seed, m, center, sigma, per_point, block):
    # scalar centre and sigma: zones are compared on the statistic, without a z array;
    # per-point centre and sigma: through z. Both agree with evaluate() on z.
    rng = np.random.default_rng(seed)
    x = center + sigma * rng.standard_normal(m) * rng.choice([0.5, 1.5, 3.0], m)
    c = np.full(m, center) if per_point else center
    s = np.full(m, sigma) if per_point else sigma
    lcl, ucl = center - 3 * sigma, center + 3 * sigma
    rules = resolve_rules("gb4091")
    z = (x - center) / sigma
    expected = evaluate(z, rules, statistic=x, beyond_limits=(x > ucl) | (x < lcl)).to_list()
    got = rules_chart(x, c, s, lcl, ucl, rules, block)
    assert got == expected


def rules_chart(x, c, s, lcl, ucl, rules, block):
    from zhuoyue.stats.rules import evaluate_chart

    return evaluate_chart(x, c, s, lcl, ucl, rules, block=block).to_list()
