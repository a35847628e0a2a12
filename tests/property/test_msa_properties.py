"""Property tests of gauge R&R and bias/linearity (Hypothesis, small designs).

Data come from NumPy generators seeded by Hypothesis, with random part, operator, interaction
and repeatability standard deviations, so that no estimate sits exactly on a threshold (a
variance estimate at 0, the interaction p-value at alpha, ndc at an integer). Computed values are
compared at ``rtol=1e-9`` (this protects exact maths); variances that can be exactly 0 also get
an absolute tolerance of 1e-9 of the total variance.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from zhuoyue.stats import msa

RTOL = 1e-9  # protects exact maths
FEW = settings(max_examples=40, deadline=None)

seeds = st.integers(min_value=0, max_value=2**32 - 1)
designs = st.tuples(
    st.integers(min_value=2, max_value=6),  # parts
    st.integers(min_value=2, max_value=4),  # operators
    st.integers(min_value=2, max_value=3),  # trials
)
methods = st.sampled_from(["anova", "xbar_r"])
interactions = st.sampled_from(["auto", "keep", "pool"])


def make_study(
    seed: int, design: tuple[int, int, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Part labels (ints), operator labels (text) and values of a random balanced study."""
    p, o, r = design
    rng = np.random.default_rng(seed)
    sd_part, sd_op, sd_int, sd_rep = rng.uniform(0.05, 2.0, 4)
    parts = np.repeat(np.arange(1, p + 1), o * r)
    ops = np.tile(np.repeat(np.array([f"op{j}" for j in range(o)]), r), p)
    pi = parts - 1
    oi = np.tile(np.repeat(np.arange(o), r), p)
    y = (
        rng.uniform(-100, 100)
        + rng.normal(0, sd_part, p)[pi]
        + rng.normal(0, sd_op, o)[oi]
        + rng.normal(0, sd_int, (p, o))[pi, oi]
        + rng.normal(0, sd_rep, pi.size)
    )
    return parts, ops, y


def opts(method: str, interaction: str = "auto") -> dict[str, Any]:
    """Method options; the Average & Range method with exact K (AIAG tables stop at 3 operators)."""
    if method == "xbar_r":
        return {"method": method, "constants": "exact"}
    return {"method": method, "interaction": interaction}


def close(actual: Any, expected: Any, atol: float = 0.0) -> None:
    np.testing.assert_allclose(
        np.asarray(actual, dtype=np.float64),
        np.asarray(expected, dtype=np.float64),
        rtol=RTOL,
        atol=atol,
    )


def same_mapping(a: Mapping[str, float], b: Mapping[str, float], atol: float = 0.0) -> None:
    assert a.keys() == b.keys()
    for k in a:
        close(a[k], b[k], atol=atol)


def same_study(a: msa.GaugeRRResult, b: msa.GaugeRRResult, scale: float = 1.0) -> None:
    """b is a's study with the data multiplied by ``scale`` (and maybe shifted / reordered)."""
    tv = a.variance["total"]
    same_mapping(
        {k: v * scale**2 for k, v in a.variance.items()}, b.variance, atol=1e-9 * tv * scale**2
    )
    same_mapping(
        {k: v * abs(scale) for k, v in a.sd.items()}, b.sd, atol=1e-9 * math.sqrt(tv) * abs(scale)
    )
    for name in ("pct_contribution", "pct_study_var"):
        same_mapping(getattr(a, name), getattr(b, name), atol=1e-7)
    assert a.interaction_pooled == b.interaction_pooled
    assert a.ndc == b.ndc
    assert a.verdict.code == b.verdict.code
    assert a.zeroed == b.zeroed


@FEW
@given(seeds, designs, methods, interactions, st.floats(-1e4, 1e4))
def test_shift_leaves_components_unchanged(
    seed: int, design: tuple[int, int, int], method: str, interaction: str, c: float
) -> None:
    parts, ops, y = make_study(seed, design)
    kw = opts(method, interaction)
    a = msa.gauge_rr(parts, ops, y, **kw)
    b = msa.gauge_rr(parts, ops, y + c, **kw)
    same_study(a, b)
    if a.anova is not None and b.anova is not None:
        for ra, rb in zip(a.anova, b.anova, strict=True):
            close(ra.ss, rb.ss, atol=1e-9 * a.anova[-1].ss)


@FEW
@given(
    seeds,
    designs,
    methods,
    st.floats(1e-3, 1e3),
    st.sampled_from([1.0, -1.0]),
)
def test_scale_multiplies_sds_and_keeps_percentages_and_ndc(
    seed: int, design: tuple[int, int, int], method: str, b: float, sign: float
) -> None:
    parts, ops, y = make_study(seed, design)
    scale = sign * b
    a = msa.gauge_rr(parts, ops, y, tolerance=10.0, **opts(method))
    s = msa.gauge_rr(parts, ops, y * scale, tolerance=10.0 * abs(scale), **opts(method))
    same_study(a, s, scale)
    assert a.pct_tolerance is not None and s.pct_tolerance is not None
    same_mapping(a.pct_tolerance, s.pct_tolerance, atol=1e-7)


@FEW
@given(seeds, designs, methods, st.randoms(use_true_random=False))
def test_row_order_changes_nothing(
    seed: int, design: tuple[int, int, int], method: str, rnd: Any
) -> None:
    parts, ops, y = make_study(seed, design)
    order = list(range(y.size))
    rnd.shuffle(order)
    idx = np.asarray(order)
    a = msa.gauge_rr(parts, ops, y, **opts(method))
    b = msa.gauge_rr(parts[idx], ops[idx], y[idx], **opts(method))
    same_study(a, b)
    assert a.parts == b.parts and a.operators == b.operators


@FEW
@given(seeds, designs, methods, st.randoms(use_true_random=False))
def test_relabelling_changes_nothing(
    seed: int, design: tuple[int, int, int], method: str, rnd: Any
) -> None:
    parts, ops, y = make_study(seed, design)
    p, o, _ = design
    new_parts = [f"件{k}" for k in range(p)]
    rnd.shuffle(new_parts)
    new_ops = list(range(100, 100 + o))  # text labels become numbers
    rnd.shuffle(new_ops)
    op_index = {f"op{j}": j for j in range(o)}
    relab_p = np.array([new_parts[v - 1] for v in parts.tolist()], dtype=object)
    relab_o = np.array([new_ops[op_index[v]] for v in ops.tolist()])
    a = msa.gauge_rr(parts, ops, y, **opts(method))
    b = msa.gauge_rr(relab_p, relab_o, y, **opts(method))
    same_study(a, b)


@FEW
@given(seeds, designs, methods, interactions)
def test_contributions_add_up(
    seed: int, design: tuple[int, int, int], method: str, interaction: str
) -> None:
    parts, ops, y = make_study(seed, design)
    kw = opts(method, interaction)
    res = msa.gauge_rr(parts, ops, y, **kw)
    pc = res.pct_contribution
    close(pc["grr"] + pc["part"], 100.0)
    close(pc["repeatability"] + pc["reproducibility"], pc["grr"], atol=1e-9)
    close(res.pct_study_var["total"], 100.0)
    # %StudyVar adds in squares, not linearly
    close(res.pct_study_var["grr"] ** 2 + res.pct_study_var["part"] ** 2, 1e4)
    if "part_x_operator" in res.variance:
        close(pc["operator"] + pc["part_x_operator"], pc["reproducibility"], atol=1e-9)
    if res.anova is not None:
        rows = {r.source: r for r in res.anova}
        parts_ss = sum(rows[k].ss for k in ("part", "operator", "part_x_operator", "repeatability"))
        close(parts_ss, rows["total"].ss)
        assert rows["total"].df == y.size - 1


@FEW
@given(seeds, designs)
def test_intervals_bracket_repeatability_and_widen_with_confidence(
    seed: int, design: tuple[int, int, int]
) -> None:
    parts, ops, y = make_study(seed, design)
    r90 = msa.gauge_rr(parts, ops, y, confidence=0.90)
    r99 = msa.gauge_rr(parts, ops, y, confidence=0.99)
    assert r90.intervals is not None and r99.intervals is not None
    lo, hi = r90.intervals["variance"]["repeatability"]
    assert lo <= r90.variance["repeatability"] <= hi  # exact chi-square interval
    for k, (lo90, hi90) in r90.intervals["variance"].items():
        lo99, hi99 = r99.intervals["variance"][k]
        assert 0.0 <= lo99 <= lo90 + 1e-12 and hi90 <= hi99 + 1e-12


@FEW
@given(
    seeds,
    st.integers(min_value=3, max_value=6),
    st.integers(min_value=2, max_value=5),
    st.floats(-50, 50),
    st.floats(0.01, 100),
)
def test_linearity_affine_and_order(seed: int, g: int, m: int, c: float, b: float) -> None:
    rng = np.random.default_rng(seed)
    refs = np.sort(rng.uniform(0, 10, g))
    ref = np.repeat(refs, m)
    x = ref + rng.uniform(-0.5, 0.5) + rng.uniform(-0.1, 0.1) * ref + rng.normal(0, 0.2, ref.size)
    base = msa.bias_linearity(ref, x)
    # a constant offset of the gauge moves the intercept and every bias, not the slope
    shifted = msa.bias_linearity(ref, x + c)
    close(shifted.slope, base.slope, atol=1e-9 * (abs(c) + 1))
    close(shifted.intercept, base.intercept + c, atol=1e-9 * (abs(c) + 1))
    close(shifted.s, base.s, atol=1e-9 * (abs(c) + 1))
    # a change of unit scales biases and intercept, keeps slope, t and p
    scaled = msa.bias_linearity(ref * b, x * b)
    close(scaled.slope, base.slope, atol=1e-12)
    close(scaled.intercept, base.intercept * b, atol=1e-12 * b)
    close(scaled.t_slope, base.t_slope, atol=1e-9)
    close(scaled.p_slope, base.p_slope, atol=1e-12)
    assert scaled.zero_in_band == base.zero_in_band
    # the order of the readings does not matter
    idx = rng.permutation(ref.size)
    perm = msa.bias_linearity(ref[idx], x[idx])
    close(perm.slope, base.slope, atol=1e-12)
    close([r.bias for r in perm.parts], [r.bias for r in base.parts], atol=1e-12)


def test_interval_coverage_is_near_nominal() -> None:
    """Simulated studies (fixed seed): the 90 % intervals cover the true components about 90 %
    of the time (MLS intervals are slightly conservative). 300 studies: a band of ±3 SE."""
    rng = np.random.default_rng(20240601)
    p, o, r = 10, 3, 2
    sd_part, sd_op, sd_int, sd_rep = 1.0, 0.3, 0.2, 0.25
    truth = {
        "repeatability": sd_rep**2,
        "operator": sd_op**2,
        "part_x_operator": sd_int**2,
        "part": sd_part**2,
    }
    truth["reproducibility"] = truth["operator"] + truth["part_x_operator"]
    truth["grr"] = truth["reproducibility"] + truth["repeatability"]
    truth["total"] = truth["grr"] + truth["part"]
    parts = np.repeat(np.arange(p), o * r)
    ops = np.tile(np.repeat(np.arange(o), r), p)
    hits = dict.fromkeys(truth, 0)
    n = 300
    for _ in range(n):
        y = (
            rng.normal(0, sd_part, p)[parts]
            + rng.normal(0, sd_op, o)[ops]
            + rng.normal(0, sd_int, (p, o))[parts, ops]
            + rng.normal(0, sd_rep, parts.size)
        )
        res = msa.gauge_rr(parts, ops, y, interaction="keep", confidence=0.9)
        assert res.intervals is not None
        for k, (lo, hi) in res.intervals["variance"].items():
            hits[k] += lo <= truth[k] <= hi
    se = math.sqrt(0.9 * 0.1 / n)
    for k, h in hits.items():
        assert 0.9 - 3 * se <= h / n <= 0.9 + 4 * se, (k, h / n)
