"""Property tests of process capability (Hypothesis).

Data come from NumPy generators seeded by Hypothesis (continuous values: no ties with a spec
limit). Exact identities are compared at ``rtol=1e-9`` (this protects exact maths); the affine
invariance at ``rtol=1e-7``, because ``a + b·x`` itself rounds each value to ~1e-16 of ``|a|``,
which the differences behind σ and the distance to a limit amplify by up to |a|/(b·σ) ≤ 1e6
here.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from zhuoyue.stats.capability import INDEX_NAMES, CapabilityResult, capability

RTOL = 1e-9  # protects exact maths
AFFINE_RTOL = 1e-7  # a + b·x rounds (see the module docstring)
SOME = settings(max_examples=60, deadline=None)
MANY = settings(max_examples=150, deadline=None)

seeds = st.integers(min_value=0, max_value=2**32 - 1)
SUBGROUP_METHODS = ["pooled", "rbar", "sbar", "rbar_unweighted", "sbar_unweighted"]
INDIVIDUAL_METHODS = ["mr", "mr_median", "sd"]


def close(actual: Any, expected: Any, rtol: float = RTOL, atol: float = 0.0) -> None:
    if actual is None or expected is None:
        assert actual is None and expected is None
        return
    np.testing.assert_allclose(
        np.asarray(actual, dtype=np.float64),
        np.asarray(expected, dtype=np.float64),
        rtol=rtol,
        atol=atol,
    )


def fast(x: np.ndarray, subgroups: Any = None, **kw: Any) -> CapabilityResult:
    return capability(x, subgroups, normality=False, stability=False, **kw)


@st.composite
def process(draw: st.DrawFn) -> dict[str, Any]:
    """Subgrouped or individual data with two-sided specs around them."""
    rng = np.random.default_rng(draw(seeds))
    individual = draw(st.booleans())
    size = 1 if individual else draw(st.integers(2, 10))
    k = draw(st.integers(3, 40)) if not individual else draw(st.integers(5, 200))
    mu = draw(st.floats(-50, 50))
    sigma = draw(st.floats(0.01, 10))
    shift = draw(st.floats(0, 2))  # between-subgroup shifts in σ units
    means = mu + shift * sigma * rng.standard_normal(k)
    x = (np.repeat(means, size) + sigma * rng.standard_normal(k * size)).astype(np.float64)
    lo = mu - draw(st.floats(0.5, 6)) * sigma
    hi = mu + draw(st.floats(0.5, 6)) * sigma
    methods = INDIVIDUAL_METHODS if individual else SUBGROUP_METHODS
    return {
        "x": x,
        "subgroups": None if individual else size,
        "lsl": lo,
        "usl": hi,
        "sigma_method": draw(st.sampled_from(methods)),
        "mu": mu,
        "sigma": sigma,
    }


def call(p: dict[str, Any], **kw: Any) -> CapabilityResult:
    args = {"lsl": p["lsl"], "usl": p["usl"], "sigma_method": p["sigma_method"], **kw}
    return fast(p["x"], p["subgroups"], **args)


@SOME
@given(p=process(), a=st.floats(-1e3, 1e3), b=st.floats(1e-3, 1e3))
def test_affine_invariance(p: dict[str, Any], a: float, b: float) -> None:
    """a + b·x with specs and target transformed likewise (b > 0): every index, PPM and
    interval is unchanged; means and sigmas transform."""
    res = call(p, target=p["mu"])
    q = dict(p, x=a + b * p["x"], lsl=a + b * p["lsl"], usl=a + b * p["usl"])
    try:
        other = call(q, target=a + b * p["mu"])
    except ValueError:  # a median moving range can round to exactly 0 after the transform
        assume(False)
        raise
    for name in INDEX_NAMES:
        close(getattr(other, name), getattr(res, name), rtol=AFFINE_RTOL, atol=1e-9)
    close(other.sigma_within, b * res.sigma_within, rtol=AFFINE_RTOL)
    close(other.sigma_overall, b * res.sigma_overall, rtol=AFFINE_RTOL)
    close(other.mean, a + b * res.mean, rtol=AFFINE_RTOL, atol=1e-9 * b * res.sigma_overall)
    for which in ("ppm_within", "ppm_overall", "ppm_observed"):
        for key in ("below_lsl", "above_usl", "total"):
            close(getattr(other, which)[key], getattr(res, which)[key], rtol=1e-5, atol=1e-6)
    close(other.interval("cpk"), res.interval("cpk"), rtol=AFFINE_RTOL, atol=1e-9)


@MANY
@given(p=process())
def test_index_relations(p: dict[str, Any]) -> None:
    """Cpk ≤ Cp, Ppk ≤ Pp, Cpk = min(Cpl, Cpu), Cp = (Cpl + Cpu)/2, Pp/Cp = σw/σo,
    Minitab Cpm ≤ Pp (T = midpoint)."""
    res = call(p)
    assert res.cp is not None and res.pp is not None and res.cpk is not None
    assert res.ppk is not None and res.cpm is not None
    assert res.cpk <= res.cp * (1 + RTOL)
    assert res.ppk <= res.pp * (1 + RTOL)
    close(res.cpk, min(res.cpl, res.cpu))  # type: ignore[type-var]
    close(res.ppk, min(res.ppl, res.ppu))  # type: ignore[type-var]
    close(res.cp, (res.cpl + res.cpu) / 2)  # type: ignore[operator]
    close(res.pp / res.cp, res.sigma_within / res.sigma_overall)
    assert res.cpm <= res.pp * (1 + RTOL)  # Σ(x-T)² ≥ Σ(x-x̄)²


@SOME
@given(p=process())
def test_symmetric_specs_cpk_equals_cp(p: dict[str, Any]) -> None:
    """Specs symmetric about the mean: Cpk = Cp, Ppk = Pp, and Minitab Cpm = Pp·sqrt(...)=Pp."""
    mean = fast(p["x"], p["subgroups"], lsl=p["lsl"], usl=p["usl"]).mean
    half = (p["usl"] - p["lsl"]) / 2
    res = call(dict(p, lsl=mean - half, usl=mean + half))
    close(res.cpk, res.cp)
    close(res.ppk, res.pp)
    close(res.cpm, res.pp, rtol=1e-7)  # T = midpoint = mean (up to rounding of mean ± half)


@SOME
@given(p=process())
def test_one_sided_consistency(p: dict[str, Any]) -> None:
    """A one-sided spec gives the matching side of the two-sided analysis; Cp/Pp/Cpm undefined."""
    both = call(p)
    lower = call(dict(p, usl=None))
    upper = call(dict(p, lsl=None))
    for one, side, index in ((lower, "below_lsl", "l"), (upper, "above_usl", "u")):
        assert one.cp is None and one.pp is None and one.cpm is None and one.target is None
        close(one.cpk, getattr(both, f"cp{index}"))
        close(one.ppk, getattr(both, f"pp{index}"))
        for which in ("ppm_within", "ppm_overall", "ppm_observed"):
            close(getattr(one, which)[side], getattr(both, which)[side])
            close(getattr(one, which)["total"], getattr(both, which)[side])
        close(one.interval("cpk"), both.interval(f"cp{index}"))
        close(one.z_within["bench"], one.z_within["lsl" if index == "l" else "usl"], rtol=1e-7)
    close(both.ppm_within["total"], lower.ppm_within["total"] + upper.ppm_within["total"])


@SOME
@given(p=process())
def test_ppm_is_the_normal_tail(p: dict[str, Any]) -> None:
    """Expected PPM = 10⁶ × the normal tails at (mean, σ), computed independently by
    scipy.stats.norm; observed PPM = 10⁶ × the share strictly beyond a limit; Z.bench inverts
    the total."""
    res = call(p)
    for which, sigma in (("ppm_within", res.sigma_within), ("ppm_overall", res.sigma_overall)):
        ppm = getattr(res, which)
        below = 1e6 * sps.norm.cdf(p["lsl"], res.mean, sigma)
        above = 1e6 * sps.norm.sf(p["usl"], res.mean, sigma)
        close(ppm["below_lsl"], below, rtol=1e-9, atol=1e-300)
        close(ppm["above_usl"], above, rtol=1e-9, atol=1e-300)
        z = getattr(res, "z_within" if which == "ppm_within" else "z_overall")
        if below + above > 1e-290:
            close(z["bench"], sps.norm.isf((below + above) / 1e6), rtol=1e-9)
    x = p["x"]
    close(res.ppm_observed["below_lsl"], 1e6 * np.mean(x < p["lsl"]))
    close(res.ppm_observed["above_usl"], 1e6 * np.mean(x > p["usl"]))


@SOME
@given(seed=seeds, n=st.integers(2, 8), k=st.integers(3, 20), m=st.sampled_from(SUBGROUP_METHODS))
def test_permutation_within_subgroups(seed: int, n: int, k: int, m: str) -> None:
    """Reordering values inside each subgroup changes nothing (σ within, every index, PPM)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(10, 1, n * k)
    perm = np.arange(k)[:, None] * n + rng.permuted(np.tile(np.arange(n), (k, 1)), axis=1)
    a = fast(x, n, lsl=6, usl=14, sigma_method=m)
    b = fast(x[perm.ravel()], n, lsl=6, usl=14, sigma_method=m)
    for name in (*INDEX_NAMES, "sigma_within", "sigma_overall", "mean"):
        close(getattr(b, name), getattr(a, name), rtol=1e-12)


@SOME
@given(seed=seeds, n=st.integers(2, 6), k=st.integers(3, 15))
def test_labels_equal_fixed_size(seed: int, n: int, k: int) -> None:
    """Subgroups given as labels (shuffled rows) equal a fixed subgroup size."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, n * k)
    labels = np.repeat(np.arange(k), n)
    order = rng.permutation(x.size)
    a = fast(x, n, lsl=-3, usl=3)
    b = fast(x[order], labels[order], lsl=-3, usl=3)
    for name in (*INDEX_NAMES, "sigma_within", "sigma_overall"):
        close(getattr(b, name), getattr(a, name), rtol=1e-12)


@SOME
@given(p=process(), level=st.floats(0.5, 0.999))
def test_intervals_bracket_and_nest(p: dict[str, Any], level: float) -> None:
    """Every interval contains its estimate and widens with the level; qcc and Minitab agree on
    the overall Cp interval (both N-1)."""
    res = call(p, target=p["mu"])
    for name in INDEX_NAMES:
        ci = res.interval(name, level)
        wide = res.interval(name, min(0.9999, level + (1 - level) / 2))
        value = getattr(res, name)
        if ci is None:
            continue
        assert ci[0] <= value <= ci[1]
        assert wide is not None and wide[0] <= ci[0] and ci[1] <= wide[1]
    qcc = call(p, ci_method="qcc")
    close(qcc.interval("pp"), res.interval("pp"))
    close(qcc.interval("ppk"), res.interval("ppk"))


@SOME
@given(p=process())
def test_sd_c4_overall_scales(p: dict[str, Any]) -> None:
    """overall_method='sd_c4' divides σ overall by c4(N) and multiplies the Pp family by it."""
    a = call(p)
    b = call(p, overall_method="sd_c4")
    n = a.n
    c4 = math.sqrt(2 / (n - 1)) * math.exp(math.lgamma(n / 2) - math.lgamma((n - 1) / 2))
    close(b.sigma_overall, a.sigma_overall / c4)
    for name in ("pp", "ppl", "ppu", "ppk"):
        close(getattr(b, name), getattr(a, name) * c4)


@pytest.mark.parametrize("n", [2, 3, 10])
def test_tiny_samples_are_finite(n: int) -> None:
    x = np.linspace(0.0, 1.0, n)
    res = capability(x, lsl=-1, usl=2, stability=False)
    d = res.to_dict()
    assert all(d[k] is not None for k in ("cp", "cpk", "pp", "ppk"))
