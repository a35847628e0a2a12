"""Property tests of the sigma-level conversions, yields and cost of quality (Hypothesis).

Computed values are compared at ``rtol=1e-9`` (this protects exact maths), with an absolute
tolerance where a value can be 0 (a sigma level of 0, a yield of 0).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from zhuoyue.stats.sigma import defect_rate, sigma_level
from zhuoyue.stats.yields import CATEGORIES, CATEGORY_NAMES_ZH, cost_of_quality, rolled_yield

RTOL = 1e-9  # protects exact maths
SOME = settings(max_examples=100, deadline=None)
MANY = settings(max_examples=300, deadline=None)

# levels whose DPMO neither rounds to 10⁶ nor underflows: the round trip is well conditioned
levels = st.floats(min_value=0.0, max_value=12.0, allow_nan=False)
shifts = st.sampled_from([0.0, 0.5, 1.5, 2.0])
tails = st.sampled_from([1, 2])
# DPMO over the whole useful range, log-uniform
dpmos = st.floats(min_value=-12.0, max_value=np.log10(999_000.0)).map(lambda e: 10.0**e)
seeds = st.integers(min_value=0, max_value=2**32 - 1)


def close(actual: Any, expected: Any, atol: float = 0.0, rtol: float = RTOL) -> None:
    np.testing.assert_allclose(
        np.asarray(actual, dtype=np.float64),
        np.asarray(expected, dtype=np.float64),
        rtol=rtol,
        atol=atol,
    )


# --------------------------------------------------------------------------- sigma level


@MANY
@given(level=levels, shift=shifts, tails=tails)
def test_round_trip_level_dpmo_level(level: float, shift: float, tails: int) -> None:
    there = defect_rate(level, shift=shift, tails=tails)
    back = sigma_level(dpmo=there.dpmo, shift=shift, tails=tails)
    close(back.level, level, atol=1e-9)


@MANY
@given(d=dpmos, shift=shifts, tails=tails)
def test_round_trip_dpmo_level_dpmo(d: float, shift: float, tails: int) -> None:
    level = sigma_level(dpmo=d, shift=shift, tails=tails).level
    close(defect_rate(level, shift=shift, tails=tails).dpmo, d)


@SOME
@given(d=dpmos, shift=shifts, tails=tails)
def test_ppm_dpmo_and_yield_agree(d: float, shift: float, tails: int) -> None:
    by_dpmo = sigma_level(dpmo=d, shift=shift, tails=tails)
    by_ppm = sigma_level(ppm=d, shift=shift, tails=tails)
    assert by_dpmo.ppm == by_dpmo.dpmo == by_ppm.dpmo
    assert by_dpmo.level == by_ppm.level
    close(by_dpmo.yield_ + by_dpmo.dpmo / 1e6, 1.0, rtol=1e-15)
    # from the yield 1 - p: the same level up to the rounding of 1 - p, an absolute error of
    # about eps in p (a yield holds no information on a p below ~1e-16)
    if d >= 1e-3:
        by_yield = sigma_level(yield_=1.0 - d / 1e6, shift=shift, tails=tails)
        p_rel = np.finfo(np.float64).eps / (d / 1e6)
        close(by_yield.level, by_dpmo.level, rtol=max(RTOL, 10 * p_rel))


@SOME
@given(seed=seeds, shift=shifts, tails=tails)
def test_monotonic(seed: int, shift: float, tails: int) -> None:
    rng = np.random.default_rng(seed)
    z = np.sort(rng.uniform(0.0, 8.0, 30))
    d = defect_rate(z, shift=shift, tails=tails).dpmo
    assert np.all(np.diff(d) <= 0)  # a higher level never has more defects
    p = np.sort(10.0 ** rng.uniform(-6, 5.9, 30))
    back = sigma_level(dpmo=p, shift=shift, tails=tails).level
    assert np.all(np.diff(back) <= 0)  # more defects, lower level


@SOME
@given(level=levels, shift=st.sampled_from([0.5, 1.5, 2.0]))
def test_two_tails_and_shift_only_add_defects(level: float, shift: float) -> None:
    one = defect_rate(level, shift=shift).dpmo
    two = defect_rate(level, shift=shift, tails=2).dpmo
    unshifted = defect_rate(level, shift=0.0).dpmo
    assert two >= one
    assert one >= unshifted
    # the same DPMO is a higher level with two tails (the far tail eats part of the budget)
    d = float(np.clip(one, 1e-9, 999_000))
    assert (
        sigma_level(dpmo=d, tails=2, shift=shift).level
        >= sigma_level(dpmo=d, shift=shift).level - 1e-12
    )


@SOME
@given(seed=seeds, shift=shifts, tails=tails)
def test_vectorized_equals_scalar(seed: int, shift: float, tails: int) -> None:
    z = np.random.default_rng(seed).uniform(0.0, 9.0, 5)
    many = defect_rate(z, shift=shift, tails=tails)
    for i, zi in enumerate(z.tolist()):
        one = defect_rate(zi, shift=shift, tails=tails)
        assert one.dpmo == many.dpmo[i]
        assert one.yield_ == many.yield_[i]


# --------------------------------------------------------------------------- rolled yield

fpys = st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=12)


@MANY
@given(values=fpys)
def test_rolled_yield_bounds(values: list[float]) -> None:
    res = rolled_yield(first_pass_yields=values)
    assert res.rolled_yield <= min(values) * (1 + 1e-12)
    assert res.rolled_yield <= res.normalized_yield * (1 + 1e-12) + 1e-300
    assert min(values) * (1 - 1e-12) <= res.normalized_yield <= max(values) * (1 + 1e-12)
    assert float(res.first_pass_yield[res.steps.index(res.weakest_step)]) == min(values)


@st.composite
def inspection_rows(draw: st.DrawFn) -> tuple[list[str], list[int], list[int]]:
    n = draw(st.integers(min_value=1, max_value=40))
    steps = draw(st.lists(st.sampled_from(["下料", "焊接", "涂装", "装配", "终检"]), min_size=n,
                          max_size=n))  # fmt: skip
    submitted = draw(st.lists(st.integers(1, 5000), min_size=n, max_size=n))
    passed = [draw(st.integers(0, s)) for s in submitted]
    return steps, submitted, passed


def per_step(res: Any) -> dict[str, tuple[int, int, float]]:
    return {
        s: (int(res.submitted[i]), int(res.passed_first[i]), float(res.first_pass_yield[i]))
        for i, s in enumerate(res.steps)
    }


@MANY
@given(rows=inspection_rows(), seed=seeds)
def test_aggregation_order_independent(rows: Any, seed: int) -> None:
    steps, submitted, passed = rows
    res = rolled_yield(submitted, passed, step=steps)
    perm = np.random.default_rng(seed).permutation(len(steps))
    shuffled = rolled_yield(
        np.asarray(submitted)[perm], np.asarray(passed)[perm], step=np.asarray(steps)[perm]
    )
    assert per_step(shuffled) == per_step(res)
    close(shuffled.rolled_yield, res.rolled_yield, atol=1e-300)
    close(shuffled.normalized_yield, res.normalized_yield, atol=1e-300)
    assert shuffled.first_pass_yield[shuffled.steps.index(shuffled.weakest_step)] == min(
        res.first_pass_yield
    )


@SOME
@given(rows=inspection_rows())
def test_aggregated_rows_equal_one_row_per_step(rows: Any) -> None:
    """Pooling first (Σ passed / Σ submitted), not averaging the rows' yields."""
    steps, submitted, passed = rows
    res = rolled_yield(submitted, passed, step=steps)
    totals = per_step(res)
    labels = list(totals)
    pooled = rolled_yield(
        [totals[s][0] for s in labels], [totals[s][1] for s in labels], step=labels
    )
    assert per_step(pooled) == totals
    assert pooled.rolled_yield == res.rolled_yield


@SOME
@given(rows=inspection_rows())
def test_rolled_yield_at_most_each_step(rows: Any) -> None:
    steps, submitted, passed = rows
    res = rolled_yield(submitted, passed, step=steps)
    assert res.rolled_yield <= float(np.min(res.first_pass_yield)) * (1 + 1e-12)


# --------------------------------------------------------------------------- cost of quality


@st.composite
def cost_rows(draw: st.DrawFn) -> tuple[list[str], list[float]]:
    n = draw(st.integers(min_value=1, max_value=40))
    cats = draw(st.lists(st.sampled_from(CATEGORIES), min_size=n, max_size=n))
    amounts = draw(
        st.lists(st.floats(min_value=0.0, max_value=1e7, allow_subnormal=False), min_size=n,
                 max_size=n)
    )  # fmt: skip
    return cats, amounts


@MANY
@given(rows=cost_rows(), value=st.floats(1e3, 1e10), k=st.floats(0.01, 100.0))
def test_loss_rates_scale_as_one_over_output_value(rows: Any, value: float, k: float) -> None:
    cats, amounts = rows
    base = cost_of_quality(cats, amounts, value)
    scaled = cost_of_quality(cats, amounts, k * value)
    close(scaled.internal_loss_rate, base.internal_loss_rate / k, atol=1e-300)
    close(scaled.external_loss_rate, base.external_loss_rate / k, atol=1e-300)
    assert scaled.totals_by_category == base.totals_by_category
    assert scaled.total == base.total


@SOME
@given(rows=cost_rows(), value=st.floats(1e3, 1e10), seed=seeds)
def test_cost_of_quality_order_and_language_independent(rows: Any, value: float, seed: int) -> None:
    cats, amounts = rows
    base = cost_of_quality(cats, amounts, value)
    perm = np.random.default_rng(seed).permutation(len(cats))
    zh = [CATEGORY_NAMES_ZH[cats[i]] for i in perm]
    other = cost_of_quality(zh, np.asarray(amounts)[perm], value)
    for c in CATEGORIES:
        close(other.totals_by_category[c], base.totals_by_category[c], atol=1e-6)
    close(other.internal_loss_rate, base.internal_loss_rate, atol=1e-15)
    close(other.external_loss_rate, base.external_loss_rate, atol=1e-15)


@SOME
@given(rows=cost_rows(), value=st.floats(1e3, 1e10))
def test_cost_of_quality_invariants(rows: Any, value: float) -> None:
    cats, amounts = rows
    res = cost_of_quality(cats, amounts, value)
    b = res.totals_by_bucket
    close(res.total, sum(amounts), atol=1e-6)
    close(sum(b.values()), res.total, atol=1e-6)
    close(res.internal_loss_rate * value, b["internal_failure"], atol=1e-6)
    close(res.external_loss_rate * value, b["external_failure"], atol=1e-6)
    # prevention and appraisal never enter the loss rates
    more = cost_of_quality([*cats, "prevention", "appraisal"], [*amounts, 1e6, 1e6], value)
    assert more.internal_loss_rate == res.internal_loss_rate
    assert more.external_loss_rate == res.external_loss_rate
    # the Pareto lists failures only, largest first, cumulative share ending at 100 %
    shares = [p.amount for p in res.pareto]
    assert shares == sorted(shares, reverse=True)
    assert all(p.bucket.endswith("_failure") for p in res.pareto)
    if res.pareto:
        close(res.pareto[-1].cumulative_share, 1.0)
