"""Control charts: Xbar-R, Xbar-S, I-MR, p, np, c, u, EWMA and tabular CUSUM.

Every function takes the whole series, estimates the limits from phase I (all points, the first
``phase1`` points, or a boolean mask; ``exclude`` leaves points out; ``iterate=True`` removes
phase I points beyond the limits until none is left) or takes them as given (``center=``,
``sigma=``: phase II), evaluates the run rules on every point, and returns one
:class:`~zhuoyue.stats.results.ChartResult`.

Conventions (the defaults of ``shared/reference/README.md``; the result names the one used):

* d2, d3: exact values (``constants="exact"``); ``"table"`` = 3-decimal d2 (qcc, textbooks).
* Xbar-R sigma: ``"rbar"`` = R̄/d2, with unequal subgroup sizes Minitab's weighted estimator
  (qcc ``MVLUE-R``, weights (d2/d3)²). Also ``"rbar_unweighted"`` (qcc ``UWAVE-R``), ``"sbar"``
  (weighted S̄/c4, qcc ``MVLUE-SD``), ``"sbar_unweighted"`` (``UWAVE-SD``), ``"pooled"`` (pooled
  SD / c4(Σ(nᵢ-1)+1), qcc ``RMSDF``). Xbar-S default: ``"sbar"``.
* R and S charts: centre line ``d2(nᵢ)σ`` / ``c4(nᵢ)σ`` per subgroup (Minitab), limits
  ``± 3 d3(nᵢ)σ`` / ``± 3σ sqrt(1 - c4²)``, LCL floored at 0. ``dispersion_center="mean"`` gives
  qcc's single n-weighted R̄ / S̄ centre line.
* Individuals: ``"mr"`` = MR̄/d2(2) over moving ranges of span 2; also ``"mr_median"`` (median
  MR / 0.954) and ``"sd"`` (S / c4(N)).
* p: p̄ = Σd/Σn, limits p̄ ± 3 sqrt(p̄(1-p̄)/nᵢ) in [0, 1]; np: centre nᵢp̄; c: c̄ ± 3 sqrt(c̄);
  u: ū = Σc/Σn, ū ± 3 sqrt(ū/nᵢ); lower limits floored at 0.
* EWMA: z₀ = centre, zᵢ = λ x̄ᵢ + (1-λ) zᵢ₋₁, exact time-varying limits
  ``centre ± L sqrt(Var zᵢ)`` (``limits="asymptotic"`` for the steady-state ones).
* CUSUM: tabular C⁺ = max(0, C⁺ + x̄ᵢ - (μ₀ + K)), C⁻ = max(0, C⁻ + (μ₀ - K) - x̄ᵢ) in data units
  with K = kσ_x̄ and H = hσ_x̄, counters N⁺/N⁻, no reset after a signal; ``units="standardized"``
  works in σ_x̄ units.
* Run rules: see :mod:`zhuoyue.stats.rules`. All selected tests run on the main panel of Xbar and
  I charts; like Minitab, only the zone-free tests (1-4) on R, S, p, np, c and u charts, and only
  test 1 on MR, EWMA and CUSUM panels.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import special

from zhuoyue.errors import DataError, ParameterError
from zhuoyue.stats import constants as K
from zhuoyue.stats._input import (
    Groups,
    as_float_array,
    check_finite_scalar,
    check_nan_policy,
    check_positive_scalar,
    make_groups,
    phase1_mask,
)
from zhuoyue.stats.results import ChartResult, Panel, _collapse
from zhuoyue.stats.rules import (
    ZONE_FREE,
    RuleSet,
    Violations,
    applicable_tests,
    evaluate_chart,
    resolve_rules,
)

__all__ = [
    "SIGMA_METHODS",
    "c_chart",
    "cusum",
    "ewma",
    "imr",
    "np_chart",
    "p_chart",
    "u_chart",
    "xbar_r",
    "xbar_s",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

SUBGROUP_METHODS = ("rbar", "rbar_unweighted", "sbar", "sbar_unweighted", "pooled")
INDIVIDUAL_METHODS = ("mr", "mr_median", "sd")
SIGMA_METHODS = {"subgroups": SUBGROUP_METHODS, "individuals": INDIVIDUAL_METHODS}
_ALIASES = {
    "mvlue-r": "rbar",
    "uwave-r": "rbar_unweighted",
    "mvlue-sd": "sbar",
    "uwave-sd": "sbar_unweighted",
    "rmsdf": "pooled",
}
_LABELS = {
    "rbar": "rbar/d2",
    "rbar_unweighted": "rbar/d2 unweighted",
    "sbar": "sbar/c4",
    "sbar_unweighted": "sbar/c4 unweighted",
    "pooled": "pooled/c4",
    "mr": "mr/d2",
    "mr_median": "median mr/0.954",
    "sd": "sd/c4",
}
#: median of |X1 - X2| for standard normals: sqrt(2) * Φ⁻¹(0.75)
MEDIAN_MR_FACTOR = float(np.sqrt(2.0) * special.ndtri(0.75))
_MAX_ITER = 25
_FEW_SUBGROUPS = 20


# --------------------------------------------------------------------------- shared helpers


def _rules(
    rules: str | RuleSet,
    tests: Iterable[int] | None,
    rule_k: Mapping[int, float] | None,
    test8: str | None,
) -> RuleSet:
    return resolve_rules(rules, tests=tests, k=rule_k, test8=test8)


def _method(name: str | None, default: str, allowed: tuple[str, ...], func: str) -> str:
    if name is None:
        return default
    key = _ALIASES.get(str(name).lower(), str(name).lower())
    if key not in allowed:
        raise ParameterError(
            f"The 'sigma_method' parameter of {func} must be one of {list(allowed)}. Got {name!r}."
        )
    return key


def _check_constants(constants: str) -> None:
    if constants not in K.CONSTANTS:
        raise ParameterError(
            f"The 'constants' parameter must be one of {list(K.CONSTANTS)}. Got {constants!r}."
        )


def _where(groups: Groups | None, i: int, what: str = "subgroup") -> str:
    if groups is not None and groups.labels is not None:
        return f"{what} {groups.labels[i]!s} (index {i})"
    return f"{what} {i} (0-based)"


def _select(x: npt.NDArray[Any], mask: BoolArray, full: bool) -> npt.NDArray[Any]:
    """``x[mask]`` without the copy when every point is selected."""
    return x if full else x[mask]


def _weighted_mean(
    x: FloatArray, sizes: npt.NDArray[np.int64], mask: BoolArray, full: bool, equal: bool
) -> float:
    """Σ nᵢxᵢ / Σ nᵢ over the selected points (the plain mean when sizes are equal)."""
    xs = _select(x, mask, full)
    if equal:
        return float(np.mean(xs))
    ns = _select(sizes, mask, full)
    return float(np.dot(ns, xs) / np.sum(ns))


def _sigma_from_subgroups(
    method: str,
    sizes: npt.NDArray[np.int64],
    ranges: FloatArray | None,
    sds: FloatArray | None,
    mask: BoolArray,
    constants: str,
    equal: int | None = None,
) -> float:
    """Within-subgroup sigma of the phase I subgroups by ``method`` (see the module notes)."""
    full = bool(mask.all())
    n: Any = equal if equal is not None else sizes[mask]
    same = equal is not None or bool(np.all(n == n[0]))
    if method in ("rbar", "rbar_unweighted"):
        assert ranges is not None
        r = _select(ranges, mask, full)
        d2 = K.d2(n, constants)
        if method == "rbar_unweighted" or same:
            return float(np.mean(r / d2))
        w = (d2 / K.d3(n, constants)) ** 2
        return float(np.sum(w * r / d2) / np.sum(w))
    assert sds is not None
    s = _select(sds, mask, full)
    c4 = K.c4(n)
    if method in ("sbar", "sbar_unweighted"):
        if method == "sbar_unweighted" or same:
            return float(np.mean(s / c4))
        w = c4 * c4 / (1.0 - c4 * c4)
        return float(np.sum(w * s / c4) / np.sum(w))
    # pooled
    if equal is not None:
        total = float(s.size * (equal - 1))
        return float(np.sqrt(np.mean(s * s)) / K.c4(total + 1.0))
    dof = (n - 1).astype(np.float64)
    total = float(dof.sum())
    return float(np.sqrt(np.sum(dof * s * s) / total) / K.c4(total + 1.0))


def _given_excluded(
    k: int, phase1: Any, exclude: Any, mask: BoolArray, func: str, what: str
) -> tuple[int, ...]:
    """Phase I points left out by ``exclude`` (reported in ``result.excluded``)."""
    if exclude is None:
        return ()
    designated = phase1_mask(k, phase1, None, func, what)
    return tuple(int(i) for i in np.flatnonzero(~mask & designated))


def _require_phase1(
    mask: BoolArray, need: int, func: str, what: str, given: str = "center= and sigma="
) -> None:
    have = int(mask.sum())
    if have < need:
        raise DataError(
            f"{func} needs at least {need} {what} in phase I to estimate the limits; "
            f"{have} {'is' if have == 1 else 'are'} left. Give more data or set {given}.",
            code="too_few",
        )


def _require_spread(sigma: float, func: str, what: str) -> None:
    if not np.isfinite(sigma) or sigma <= 0.0:
        raise DataError(
            f"{func}: the estimated sigma is {sigma:g} because {what}. Control limits would "
            "collapse onto the centre line. Check the gauge resolution and the data, or give "
            "sigma= explicitly.",
            code="zero_sigma",
        )


def _few_warning(mask: BoolArray, what: str) -> list[str]:
    m = int(mask.sum())
    if 0 < m < _FEW_SUBGROUPS:
        return [
            f"limits estimated from only {m} {what}; 20-25 or more are recommended "
            "(AIAG SPC manual); treat them as trial limits"
        ]
    return []


def _panel(
    name: str,
    statistic: FloatArray,
    center: float | FloatArray,
    sigma_stat: float | FloatArray,
    rules: RuleSet,
    *,
    floor: float | None = None,
    cap: float | None = None,
    zones: bool = True,
    only: tuple[int, ...] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Panel:
    c = np.asarray(center, dtype=np.float64)
    s = np.asarray(sigma_stat, dtype=np.float64)
    lcl = c - 3.0 * s
    ucl = c + 3.0 * s
    if floor is not None:
        lcl = np.maximum(lcl, floor)
    if cap is not None:
        ucl = np.minimum(ucl, cap)
    center_v = _collapse(c if c.ndim else float(c))
    sigma_v = _collapse(s if s.ndim else float(s))
    lcl_v = _collapse(lcl if lcl.ndim else float(lcl))
    ucl_v = _collapse(ucl if ucl.ndim else float(ucl))
    violations = evaluate_chart(
        statistic, center_v, sigma_v, lcl_v, ucl_v, rules, zones=zones, only=only
    )
    return Panel(
        name=name,
        statistic=statistic,
        center=center_v,
        lcl=lcl_v,
        ucl=ucl_v,
        sigma=sigma_v,
        violations=violations,
        tests=applicable_tests(rules, zones=zones, only=only),
        extra=dict(extra or {}),
    )


def _phase1_end(k: int, phase1: Any, estimating: bool) -> int:
    """Leading points designated phase I (before exclusions); 0 for pure phase II."""
    if not estimating:
        return 0
    if phase1 is None:
        return k
    if isinstance(phase1, (int, np.integer)) and not isinstance(phase1, bool):
        return int(phase1)
    idx = np.flatnonzero(np.asarray(phase1))
    return int(idx[-1]) + 1 if idx.size else 0


def _limits_beyond(panel: Panel) -> BoolArray:
    """Points strictly outside the panel's limits (independent of the selected tests)."""
    x = panel.statistic
    out = np.zeros(x.size, dtype=bool)
    with np.errstate(invalid="ignore"):
        if panel.ucl is not None:
            out |= x > np.asarray(panel.ucl)
        if panel.lcl is not None:
            out |= x < np.asarray(panel.lcl)
    return out


def _skipped_tests_warning(rules: RuleSet, chart: str) -> list[str]:
    skipped = [t for t in rules.tests if rules.kind(t) not in ZONE_FREE]
    if not skipped:
        return []
    return [
        f"tests {', '.join(map(str, skipped))} need zones of a normal statistic and are not "
        f"applied to the {chart} chart (as in Minitab)"
    ]


# --------------------------------------------------------------------------- Xbar-R / Xbar-S


def _xbar(
    values: npt.ArrayLike,
    subgroups: Any,
    *,
    dispersion: str,
    func: str,
    center: float | None,
    sigma: float | None,
    phase1: Any,
    exclude: Any,
    iterate: bool,
    sigma_method: str | None,
    constants: str,
    dispersion_center: str,
    rules: str | RuleSet,
    tests: Iterable[int] | None,
    rule_k: Mapping[int, float] | None,
    test8: str | None,
    nan_policy: str,
) -> ChartResult:
    check_nan_policy(nan_policy)
    _check_constants(constants)
    ruleset = _rules(rules, tests, rule_k, test8)
    default = "rbar" if dispersion == "r" else "sbar"
    method = _method(sigma_method, default, SUBGROUP_METHODS, func)
    if dispersion_center not in ("sigma", "mean"):
        raise ParameterError(
            f"The 'dispersion_center' parameter of {func} must be 'sigma' or 'mean'. "
            f"Got {dispersion_center!r}."
        )
    x = as_float_array(values, "values", func, nan_policy=nan_policy)
    if subgroups is None:
        raise ParameterError(
            f"{func} needs 'subgroups': a subgroup size (int) or one label per value. "
            "Use imr() for individual values."
        )
    groups = make_groups(x, subgroups, func, nan_policy=nan_policy)
    if groups.k == 0:
        raise DataError(f"{func} needs data; got no values.", code="empty")
    small = np.flatnonzero(groups.sizes < 2)
    if small.size:
        i = int(small[0])
        raise DataError(
            f"{func} needs subgroups of at least 2 values; {_where(groups, i)} has "
            f"{int(groups.sizes[i])}. Use imr() for individual values.",
            index=i,
            code="subgroup_too_small",
        )
    g_center = None if center is None else check_finite_scalar(center, "center", func)
    g_sigma = None if sigma is None else check_positive_scalar(sigma, "sigma", func)
    if constants == "table" and int(groups.sizes.max()) > 25:
        raise ParameterError(
            f"constants='table' covers subgroup sizes up to 25; the largest subgroup has "
            f"{int(groups.sizes.max())} values. Use constants='exact'."
        )
    sizes = groups.sizes
    equal = groups.equal
    means, ranges, sds = groups.stats(
        want_range=dispersion == "r" or method.startswith("rbar"),
        want_sd=dispersion == "s" or not method.startswith("rbar"),
    )
    disp = ranges if dispersion == "r" else sds
    assert disp is not None
    k = groups.k
    mask = phase1_mask(k, phase1, exclude, func)
    estimating = g_center is None or g_sigma is None
    if estimating:
        _require_phase1(mask, 2, func, "subgroups")
    given_excluded = _given_excluded(k, phase1, exclude, mask, func, "subgroups")
    warnings: list[str] = []
    if equal is None and isinstance(subgroups, (int, np.integer)):
        warnings.append(
            f"the last subgroup has {int(sizes[-1])} values, fewer than the subgroup size "
            f"{int(subgroups)}; it is kept with its own limits"
        )
    # constants per subgroup only when the sizes differ: scalar limits otherwise
    n_c: Any = equal if equal is not None else sizes
    nsq = np.sqrt(np.asarray(n_c, dtype=np.float64))
    d2n = K.d2(n_c, constants) if dispersion == "r" else None
    d3n = K.d3(n_c, constants) if dispersion == "r" else None
    c4n = K.c4(n_c) if dispersion == "s" else None
    found: list[int] = []
    for _ in range(_MAX_ITER + 1):
        full = bool(mask.all())
        cen = (
            _weighted_mean(means, sizes, mask, full, equal is not None)
            if g_center is None
            else g_center
        )
        if g_sigma is None:
            sig = _sigma_from_subgroups(method, sizes, ranges, sds, mask, constants, equal)
            _require_spread(sig, func, "every phase I subgroup has zero spread")
            sig_label = _LABELS[method]
        else:
            sig = g_sigma
            sig_label = "given"
        xbar_panel = _panel("xbar", means, cen, sig / nsq, ruleset)
        if dispersion == "r":
            assert d2n is not None and d3n is not None
            if dispersion_center == "mean" and estimating:
                dcen: float | FloatArray = _weighted_mean(
                    disp, sizes, mask, full, equal is not None
                )
            else:
                dcen = d2n * sig
            d_panel = _panel("r", disp, dcen, d3n * sig, ruleset, floor=0.0, zones=False)
        else:
            assert c4n is not None
            if dispersion_center == "mean" and estimating:
                dcen = _weighted_mean(disp, sizes, mask, full, equal is not None)
            else:
                dcen = c4n * sig
            d_panel = _panel(
                "s", disp, dcen, sig * np.sqrt(1.0 - c4n * c4n), ruleset, floor=0.0, zones=False
            )
        if not iterate or not estimating:
            break
        out = mask & (_limits_beyond(xbar_panel) | _limits_beyond(d_panel))
        if not out.any():
            break
        found.extend(int(i) for i in np.flatnonzero(out))
        mask = mask & ~out
        _require_phase1(mask, 2, func, "subgroups")
    else:
        warnings.append(f"iterative exclusion stopped after {_MAX_ITER} rounds")
    if not estimating:
        mask = np.zeros(k, dtype=bool)
    warnings += _few_warning(mask, "subgroups") if estimating else []
    if iterate and not estimating:
        warnings.append("iterate=True has no effect when both center and sigma are given")
    return ChartResult(
        chart=func,
        center=cen,
        sigma=sig,
        sigma_method=sig_label,
        constants=constants,
        sizes=sizes,
        panels={"xbar": xbar_panel, dispersion: d_panel},
        phase1=mask,
        phase1_end=_phase1_end(k, phase1, estimating),
        excluded=tuple(sorted(set(given_excluded) | set(found))),
        rules=ruleset,
        params={"dispersion_center": dispersion_center},
        warnings=tuple(warnings),
        labels=groups.labels,
    )


def xbar_r(
    values: npt.ArrayLike,
    subgroups: Any,
    *,
    center: float | None = None,
    sigma: float | None = None,
    phase1: Any = None,
    exclude: Any = None,
    iterate: bool = False,
    sigma_method: str | None = None,
    constants: str = "exact",
    dispersion_center: str = "sigma",
    rules: str | RuleSet = "gb4091",
    tests: Iterable[int] | None = None,
    rule_k: Mapping[int, float] | None = None,
    test8: str | None = None,
    nan_policy: str = "raise",
) -> ChartResult:
    """Xbar and R charts.

    Parameters
    ----------
    values : array_like, 1-D
        The measurements.
    subgroups : int or array_like
        A fixed subgroup size (consecutive values form subgroups) or one label per value.
    center, sigma : float, optional
        Known or frozen process centre and within-subgroup sigma (phase II). Either may be given
        alone; the other is estimated from phase I.
    phase1 : int or array of bool, optional
        The first N subgroups (or a mask) estimate the limits; the rest is monitored.
    exclude : sequence of int, optional
        0-based subgroups left out of the estimate (they are still plotted and tested).
    iterate : bool
        Remove phase I subgroups beyond the Xbar or R limits and re-estimate until none is left;
        the removed ones are reported in ``result.excluded``.
    sigma_method : {"rbar", "rbar_unweighted", "sbar", "sbar_unweighted", "pooled"}
        Also the qcc names ``"MVLUE-R"``, ``"UWAVE-R"``, ``"MVLUE-SD"``, ``"UWAVE-SD"``, ``"RMSDF"``.
    constants : {"exact", "table"}
    dispersion_center : {"sigma", "mean"}
        R chart centre ``d2(nᵢ)σ`` (Minitab) or the n-weighted mean range (qcc).
    rules, tests, rule_k, test8
        Run rules: set name, tests switched on, K per test, test 8 wording. See
        :mod:`zhuoyue.stats.rules`.
    nan_policy : {"raise", "omit"}

    Returns
    -------
    ChartResult
        Panels ``xbar`` and ``r``.

    Notes
    -----
    Xbar limits: ``X̄̄ ± 3σ/sqrt(nᵢ)``; R chart: ``d2(nᵢ)σ ± 3 d3(nᵢ)σ``, LCL floored at 0
    (Montgomery, *Introduction to SQC*, 8th ed., sec. 6.2). With equal n and ``σ = R̄/d2`` these are
    the familiar ``X̄̄ ± A2 R̄`` and ``D3 R̄, D4 R̄``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(7)
    >>> res = xbar_r(rng.normal(10, 1, 125), 5)
    >>> res.sigma_method, len(res["xbar"])
    ('rbar/d2', 25)
    """
    return _xbar(
        values, subgroups, dispersion="r", func="xbar_r", center=center, sigma=sigma,
        phase1=phase1, exclude=exclude, iterate=iterate, sigma_method=sigma_method,
        constants=constants, dispersion_center=dispersion_center, rules=rules, tests=tests,
        rule_k=rule_k, test8=test8, nan_policy=nan_policy,
    )  # fmt: skip


def xbar_s(
    values: npt.ArrayLike,
    subgroups: Any,
    *,
    center: float | None = None,
    sigma: float | None = None,
    phase1: Any = None,
    exclude: Any = None,
    iterate: bool = False,
    sigma_method: str | None = None,
    constants: str = "exact",
    dispersion_center: str = "sigma",
    rules: str | RuleSet = "gb4091",
    tests: Iterable[int] | None = None,
    rule_k: Mapping[int, float] | None = None,
    test8: str | None = None,
    nan_policy: str = "raise",
) -> ChartResult:
    """Xbar and S charts (panels ``xbar`` and ``s``); parameters as :func:`xbar_r`.

    The default sigma is S̄/c4 (weighted by c4²/(1-c4²) when subgroup sizes differ). S chart:
    ``c4(nᵢ)σ ± 3σ sqrt(1 - c4(nᵢ)²)``, LCL floored at 0.

    Examples
    --------
    >>> import numpy as np
    >>> res = xbar_s(np.arange(20.0) % 7, 4)
    >>> res.sigma_method
    'sbar/c4'
    """
    return _xbar(
        values, subgroups, dispersion="s", func="xbar_s", center=center, sigma=sigma,
        phase1=phase1, exclude=exclude, iterate=iterate, sigma_method=sigma_method,
        constants=constants, dispersion_center=dispersion_center, rules=rules, tests=tests,
        rule_k=rule_k, test8=test8, nan_policy=nan_policy,
    )  # fmt: skip


# --------------------------------------------------------------------------- I-MR


def _sigma_individuals(
    method: str, x: FloatArray, mr: FloatArray, mask: BoolArray, constants: str
) -> float:
    full = bool(mask.all())
    if method == "sd":
        v = _select(x, mask, full)
        return float(np.std(v, ddof=1) / K.c4(v.size))
    if full:
        m = mr[1:]
    else:
        mr_mask = np.zeros(x.size, dtype=bool)
        mr_mask[1:] = mask[1:] & mask[:-1]
        m = mr[mr_mask]
    if m.size == 0:
        return float("nan")
    if method == "mr_median":
        return float(np.median(m) / MEDIAN_MR_FACTOR)
    return float(np.mean(m) / K.d2(2, constants))


def imr(
    values: npt.ArrayLike,
    *,
    center: float | None = None,
    sigma: float | None = None,
    phase1: Any = None,
    exclude: Any = None,
    iterate: bool = False,
    sigma_method: str | None = None,
    constants: str = "exact",
    rules: str | RuleSet = "gb4091",
    tests: Iterable[int] | None = None,
    rule_k: Mapping[int, float] | None = None,
    test8: str | None = None,
    nan_policy: str = "raise",
) -> ChartResult:
    """Individuals and moving range charts (panels ``i`` and ``mr``).

    ``σ = MR̄/d2(2)`` by default (moving ranges of two consecutive phase I points; a moving range
    that touches an excluded point is left out). I chart: ``X̄ ± 3σ``; MR chart: centre
    ``d2(2)σ`` (= MR̄), UCL ``(d2 + 3 d3)σ`` (= 3.267 MR̄), LCL 0. The first point has no moving
    range (NaN, ``null`` in JSON). With ``nan_policy="omit"`` missing values are dropped first.

    Examples
    --------
    >>> res = imr([10.0, 10.4, 9.8, 10.1, 10.3, 9.9])  # MR̄ = 1.9/5 = 0.38, σ = 0.38/1.128379
    >>> round(res.sigma, 6)
    0.336766
    """
    func = "imr"
    check_nan_policy(nan_policy)
    _check_constants(constants)
    ruleset = _rules(rules, tests, rule_k, test8)
    method = _method(sigma_method, "mr", INDIVIDUAL_METHODS, func)
    x = as_float_array(values, "values", func, nan_policy=nan_policy)
    if nan_policy == "omit":
        x = x[~np.isnan(x)]
    n = x.size
    if n == 0:
        raise DataError(f"{func} needs data; got no values.", code="empty")
    g_center = None if center is None else check_finite_scalar(center, "center", func)
    g_sigma = None if sigma is None else check_positive_scalar(sigma, "sigma", func)
    mr = np.empty(n)
    mr[0] = np.nan
    np.subtract(x[1:], x[:-1], out=mr[1:])
    np.abs(mr[1:], out=mr[1:])
    mask = phase1_mask(n, phase1, exclude, func, "points")
    given_excluded = _given_excluded(n, phase1, exclude, mask, func, "points")
    estimating = g_center is None or g_sigma is None
    if estimating:
        _require_phase1(mask, 2, func, "points")
    d2_2 = float(K.d2(2, constants))
    d3_2 = float(K.d3(2, constants))
    found: list[int] = []
    warnings: list[str] = []
    for _ in range(_MAX_ITER + 1):
        cen = float(np.mean(_select(x, mask, bool(mask.all())))) if g_center is None else g_center
        if g_sigma is None:
            sig = _sigma_individuals(method, x, mr, mask, constants)
            _require_spread(
                sig, func,
                "no two consecutive phase I points differ" if method != "sd" else "all phase I values are equal",
            )  # fmt: skip
            sig_label = _LABELS[method]
        else:
            sig = g_sigma
            sig_label = "given"
        i_panel = _panel("i", x, cen, sig, ruleset)
        mr_panel = _panel(
            "mr", mr, d2_2 * sig, d3_2 * sig, ruleset, floor=0.0, zones=False, only=(1,)
        )
        if not iterate or not estimating:
            break
        out = mask & _limits_beyond(i_panel)
        if not out.any():
            break
        found.extend(int(i) for i in np.flatnonzero(out))
        mask = mask & ~out
        _require_phase1(mask, 2, func, "points")
    else:
        warnings.append(f"iterative exclusion stopped after {_MAX_ITER} rounds")
    if not estimating:
        mask = np.zeros(n, dtype=bool)
    warnings += _few_warning(mask, "individual values") if estimating else []
    return ChartResult(
        chart=func,
        center=cen,
        sigma=sig,
        sigma_method=sig_label,
        constants=constants,
        sizes=np.broadcast_to(np.int64(1), (n,)),  # a read-only view: no memory per point
        panels={"i": i_panel, "mr": mr_panel},
        phase1=mask,
        phase1_end=_phase1_end(n, phase1, estimating),
        excluded=tuple(sorted(set(given_excluded) | set(found))),
        rules=ruleset,
        params={"mr_span": 2},
        warnings=tuple(warnings),
    )


# --------------------------------------------------------------------------- attributes


def _counts(values: npt.ArrayLike, name: str, func: str, *, integer: bool = True) -> FloatArray:
    arr = as_float_array(values, name, func, nan_policy=None)
    neg = arr < 0
    if neg.any():
        i = int(np.flatnonzero(neg)[0])
        raise DataError(
            f"{func} needs {name} >= 0; found {arr[i]:g} at index {i}.", index=i, code="negative"
        )
    if integer:
        frac = arr != np.floor(arr)
        if frac.any():
            i = int(np.flatnonzero(frac)[0])
            raise DataError(
                f"{func} needs whole numbers in {name}; found {arr[i]:g} at index {i}.",
                index=i,
                code="not_integer",
            )
    return arr


def _sizes(sizes: Any, n: int, func: str, *, integer: bool) -> FloatArray:
    if sizes is None:
        raise ParameterError(f"{func} needs 'sizes': the sample size of every point (or one int).")
    arr = np.asarray(sizes)
    if arr.ndim == 0:
        arr = np.full(n, arr)
    s = as_float_array(arr, "sizes", func, nan_policy=None)
    if s.size != n:
        raise ParameterError(f"{func} needs one size per point: {n} counts but {s.size} sizes.")
    bad = s <= 0
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{func} needs sample sizes > 0; found {s[i]:g} at index {i}.",
            index=i,
            code="size_not_positive",
        )
    if integer:
        frac = s != np.floor(s)
        if frac.any():
            i = int(np.flatnonzero(frac)[0])
            raise DataError(
                f"{func} needs whole-number sample sizes; found {s[i]:g} at index {i}.",
                index=i,
                code="not_integer",
            )
    return s


def _attribute(
    chart: str,
    counts: npt.ArrayLike,
    sizes: Any,
    *,
    center: float | None,
    phase1: Any,
    exclude: Any,
    iterate: bool,
    rules: str | RuleSet,
    tests: Iterable[int] | None,
    rule_k: Mapping[int, float] | None,
    test8: str | None,
) -> ChartResult:
    func = {"p": "p_chart", "np": "np_chart", "c": "c_chart", "u": "u_chart"}[chart]
    ruleset = _rules(rules, tests, rule_k, test8)
    name = "defectives" if chart in ("p", "np") else "counts"
    d = _counts(counts, name, func)
    n_pts = d.size
    if n_pts == 0:
        raise DataError(f"{func} needs data; got no values.", code="empty")
    if chart == "c":
        n = np.ones(n_pts) if sizes is None else _sizes(sizes, n_pts, func, integer=False)
    else:
        n = _sizes(sizes, n_pts, func, integer=chart in ("p", "np"))
    if chart in ("p", "np"):
        over = d > n
        if over.any():
            i = int(np.flatnonzero(over)[0])
            raise DataError(
                f"{func}: {d[i]:g} defectives at index {i} exceed the sample size {n[i]:g}. "
                "Defectives are units, so they cannot exceed the units inspected; for defects "
                "per unit use u_chart().",
                index=i,
                code="defectives_exceed_size",
            )
    g_center: float | None = None
    if center is not None:
        g_center = check_finite_scalar(center, "center", func)
        if chart in ("p", "np") and not 0.0 < g_center < 1.0:
            raise ParameterError(
                f"The 'center' parameter of {func} is the proportion defective p̄ and must be in "
                f"(0, 1). Got {center!r}."
            )
        if chart in ("c", "u") and g_center <= 0.0:
            raise ParameterError(f"The 'center' parameter of {func} must be > 0. Got {center!r}.")
    mask = phase1_mask(n_pts, phase1, exclude, func, "samples")
    given_excluded = _given_excluded(n_pts, phase1, exclude, mask, func, "samples")
    estimating = g_center is None
    if estimating:
        _require_phase1(mask, 2, func, "samples", "center=")
    found: list[int] = []
    warnings: list[str] = []
    for _ in range(_MAX_ITER + 1):
        if g_center is None:
            cbar = (
                float(np.mean(d[mask]))
                if chart == "c"
                else float(np.sum(d[mask]) / np.sum(n[mask]))
            )
            if cbar <= 0.0 or (chart in ("p", "np") and cbar >= 1.0):
                what = "no defectives" if cbar <= 0 else "every unit defective"
                raise DataError(
                    f"{func}: phase I has {what} (centre {cbar:g}), so the limits collapse. "
                    "Collect more samples, use larger samples, or give center= from history.",
                    code="zero_sigma",
                )
        else:
            cbar = g_center
        if chart == "p":
            unit_sigma = float(np.sqrt(cbar * (1.0 - cbar)))
            panel = _panel(
                "p", d / n, cbar, unit_sigma / np.sqrt(n), ruleset, floor=0.0, cap=1.0, zones=False
            )
        elif chart == "np":
            unit_sigma = float(np.sqrt(cbar * (1.0 - cbar)))
            # sqrt(n p (1 - p)) in one root: an LCL of exactly 0 must stay exactly 0
            panel = _panel(
                "np", d, n * cbar, np.sqrt(n * cbar * (1.0 - cbar)), ruleset, floor=0.0, zones=False
            )
        elif chart == "c":
            unit_sigma = float(np.sqrt(cbar))
            panel = _panel("c", d, cbar, unit_sigma, ruleset, floor=0.0, zones=False)
        else:
            unit_sigma = float(np.sqrt(cbar))
            panel = _panel(
                "u", d / n, cbar, unit_sigma / np.sqrt(n), ruleset, floor=0.0, zones=False
            )
        if not iterate or not estimating:
            break
        out = mask & _limits_beyond(panel)
        if not out.any():
            break
        found.extend(int(i) for i in np.flatnonzero(out))
        mask = mask & ~out
        _require_phase1(mask, 2, func, "samples", "center=")
    else:
        warnings.append(f"iterative exclusion stopped after {_MAX_ITER} rounds")
    if not estimating:
        mask = np.zeros(n_pts, dtype=bool)
    warnings += _few_warning(mask, "samples") if estimating else []
    warnings += _skipped_tests_warning(ruleset, chart)
    method = {"p": "binomial", "np": "binomial", "c": "poisson", "u": "poisson"}[chart]
    return ChartResult(
        chart=chart,
        center=cbar,
        sigma=unit_sigma,
        sigma_method=method if estimating else f"{method} (given center)",
        constants="exact",
        sizes=n.astype(np.int64) if chart in ("p", "np") else n,
        panels={chart: panel},
        phase1=mask,
        phase1_end=_phase1_end(n_pts, phase1, estimating),
        excluded=tuple(sorted(set(given_excluded) | set(found))),
        rules=ruleset,
        params={},
        warnings=tuple(warnings),
    )


def p_chart(
    defectives: npt.ArrayLike,
    sizes: Any,
    *,
    center: float | None = None,
    phase1: Any = None,
    exclude: Any = None,
    iterate: bool = False,
    rules: str | RuleSet = "gb4091",
    tests: Iterable[int] | None = None,
    rule_k: Mapping[int, float] | None = None,
    test8: str | None = None,
) -> ChartResult:
    """p chart of the proportion defective (panel ``p``).

    ``p̄ = Σdᵢ/Σnᵢ`` over phase I (or ``center=`` given); limits ``p̄ ± 3 sqrt(p̄(1-p̄)/nᵢ)``,
    clipped to [0, 1]; per-point limits when sample sizes vary. ``result.sigma`` is the per-unit
    ``sqrt(p̄(1-p̄))``. Montgomery, *Introduction to SQC*, 8th ed., sec. 7.2.

    Examples
    --------
    >>> res = p_chart([3, 5, 2, 4], 50)
    >>> round(res.center, 4)
    0.07
    """
    return _attribute("p", defectives, sizes, center=center, phase1=phase1, exclude=exclude,
                      iterate=iterate, rules=rules, tests=tests, rule_k=rule_k, test8=test8)  # fmt: skip


def np_chart(
    defectives: npt.ArrayLike,
    sizes: Any,
    *,
    center: float | None = None,
    phase1: Any = None,
    exclude: Any = None,
    iterate: bool = False,
    rules: str | RuleSet = "gb4091",
    tests: Iterable[int] | None = None,
    rule_k: Mapping[int, float] | None = None,
    test8: str | None = None,
) -> ChartResult:
    """np chart of the number defective (panel ``np``).

    Centre ``nᵢp̄``, limits ``nᵢp̄ ± 3 sqrt(nᵢp̄(1-p̄))``, LCL floored at 0; ``center=`` is p̄.

    Examples
    --------
    >>> res = np_chart([3, 5, 2, 4], 50)
    >>> round(res["np"].center, 9)  # n·p̄ = 50 · 14/200
    3.5
    """
    return _attribute("np", defectives, sizes, center=center, phase1=phase1, exclude=exclude,
                      iterate=iterate, rules=rules, tests=tests, rule_k=rule_k, test8=test8)  # fmt: skip


def c_chart(
    counts: npt.ArrayLike,
    *,
    sizes: Any = None,
    center: float | None = None,
    phase1: Any = None,
    exclude: Any = None,
    iterate: bool = False,
    rules: str | RuleSet = "gb4091",
    tests: Iterable[int] | None = None,
    rule_k: Mapping[int, float] | None = None,
    test8: str | None = None,
) -> ChartResult:
    """c chart of the number of nonconformities per inspection unit (panel ``c``).

    ``c̄`` = mean count over phase I; limits ``c̄ ± 3 sqrt(c̄)``, LCL floored at 0. The c chart
    assumes a constant area of opportunity; when it varies, use :func:`u_chart`.

    Examples
    --------
    >>> res = c_chart([21, 24, 16, 12, 15])  # c̄ = 88/5 = 17.6, UCL = 17.6 + 3·sqrt(17.6)
    >>> round(res["c"].ucl, 3)
    30.186
    """
    return _attribute("c", counts, sizes, center=center, phase1=phase1, exclude=exclude,
                      iterate=iterate, rules=rules, tests=tests, rule_k=rule_k, test8=test8)  # fmt: skip


def u_chart(
    counts: npt.ArrayLike,
    sizes: Any,
    *,
    center: float | None = None,
    phase1: Any = None,
    exclude: Any = None,
    iterate: bool = False,
    rules: str | RuleSet = "gb4091",
    tests: Iterable[int] | None = None,
    rule_k: Mapping[int, float] | None = None,
    test8: str | None = None,
) -> ChartResult:
    """u chart of nonconformities per unit (panel ``u``); sizes may be fractional units.

    ``ū = Σcᵢ/Σnᵢ``; limits ``ū ± 3 sqrt(ū/nᵢ)``, LCL floored at 0.

    Examples
    --------
    >>> res = u_chart([14, 12, 20], [10, 8, 13])  # ū = 46/31
    >>> round(res.center, 4)
    1.4839
    """
    return _attribute("u", counts, sizes, center=center, phase1=phase1, exclude=exclude,
                      iterate=iterate, rules=rules, tests=tests, rule_k=rule_k, test8=test8)  # fmt: skip


# --------------------------------------------------------------------------- EWMA / CUSUM


@dataclass(frozen=True, slots=True)
class _Series:
    """Points of an EWMA or CUSUM chart with the centre and sigma behind them."""

    points: FloatArray  # individual values or subgroup means
    sizes: npt.NDArray[np.int64]
    center: float
    sigma: float
    sigma_label: str
    mask: BoolArray
    phase1_end: int
    excluded: tuple[int, ...]
    warnings: list[str]
    labels: npt.NDArray[Any] | None


def _time_weighted_base(
    func: str,
    values: npt.ArrayLike,
    subgroups: Any,
    center: float | None,
    sigma: float | None,
    phase1: Any,
    exclude: Any,
    sigma_method: str | None,
    constants: str,
    nan_policy: str,
) -> _Series:
    """Points, sizes, centre, sigma for EWMA and CUSUM (subgroup means or individuals)."""
    check_nan_policy(nan_policy)
    _check_constants(constants)
    x = as_float_array(values, "values", func, nan_policy=nan_policy)
    g_center = None if center is None else check_finite_scalar(center, "center", func)
    g_sigma = None if sigma is None else check_positive_scalar(sigma, "sigma", func)
    warnings: list[str] = []
    groups: Groups | None = None
    if subgroups is None or (isinstance(subgroups, (int, np.integer)) and int(subgroups) == 1):
        if nan_policy == "omit":
            x = x[~np.isnan(x)]
        points = x
        sizes = np.ones(x.size, dtype=np.int64)
        method = _method(sigma_method, "mr", INDIVIDUAL_METHODS, func)
    else:
        groups = make_groups(x, subgroups, func, nan_policy=nan_policy)
        points = groups.means()
        sizes = groups.sizes
        method = _method(sigma_method, "rbar", SUBGROUP_METHODS, func)
    k = points.size
    if k == 0:
        raise DataError(f"{func} needs data; got no values.", code="empty")
    mask = phase1_mask(k, phase1, exclude, func, "points")
    given_excluded = _given_excluded(k, phase1, exclude, mask, func, "points")
    estimating = g_center is None or g_sigma is None
    if estimating:
        _require_phase1(mask, 2, func, "points")
    if g_center is None:
        cen = float(np.sum(sizes[mask] * points[mask]) / np.sum(sizes[mask]))
    else:
        cen = g_center
    if g_sigma is not None:
        sig, label = g_sigma, "given"
    elif groups is None:
        mr = np.r_[np.nan, np.abs(np.diff(points))]
        sig = _sigma_individuals(method, points, mr, mask, constants)
        label = _LABELS[method]
        _require_spread(sig, func, "no two consecutive phase I points differ")
    else:
        small = np.flatnonzero(groups.sizes < 2)
        if small.size:
            i = int(small[0])
            raise DataError(
                f"{func} estimates sigma within subgroups, which needs at least 2 values each; "
                f"{_where(groups, i)} has {int(groups.sizes[i])}. Give sigma= or use "
                "individual values.",
                index=i,
                code="subgroup_too_small",
            )
        sig = _sigma_from_subgroups(
            method, sizes, groups.ranges(), groups.sds(points), mask, constants
        )
        label = _LABELS[method]
        _require_spread(sig, func, "every phase I subgroup has zero spread")
    if not estimating:
        mask = np.zeros(k, dtype=bool)
    else:
        warnings += _few_warning(mask, "points" if groups is None else "subgroups")
    return _Series(
        points=points,
        sizes=sizes,
        center=cen,
        sigma=sig,
        sigma_label=label,
        mask=mask,
        phase1_end=_phase1_end(k, phase1, estimating),
        excluded=given_excluded,
        warnings=warnings,
        labels=None if groups is None else groups.labels,
    )


def _linear_recurrence(u: FloatArray, a: float, y0: float) -> FloatArray:
    """``y_i = a·y_{i-1} + u_i`` with ``y_{-1} = y0``, vectorized block by block (0 <= a < 1).

    Within a block ``y_j = a^(j+1) (y_start + Σ_{m<=j} a^-(m+1) u_m)``. The block length keeps
    ``a^-B`` below 1e200 (no overflow); the rounding of the scaled cumulative sum, relative to its
    largest term, is undone by the same scaling, so the error stays near ``B·eps·|u|``.
    """
    out = np.empty_like(u)
    if a == 0.0:
        out[:] = u
        return out
    block = int(max(1, min(4096, np.floor(200.0 * np.log(10.0) / -np.log(a)))))
    j = np.arange(1, block + 1, dtype=np.float64)
    up = a**j  # a^(j+1) for j = 0..block-1
    down = 1.0 / up
    y = y0
    for lo in range(0, u.size, block):
        seg = u[lo : lo + block]
        m = seg.size
        acc = np.cumsum(seg * down[:m])
        acc += y
        acc *= up[:m]
        out[lo : lo + m] = acc
        y = float(acc[-1])
    return out


def ewma(
    values: npt.ArrayLike,
    subgroups: Any = None,
    *,
    lam: float = 0.2,
    L: float = 3.0,
    center: float | None = None,
    sigma: float | None = None,
    phase1: Any = None,
    exclude: Any = None,
    sigma_method: str | None = None,
    constants: str = "exact",
    limits: str = "exact",
    rules: str | RuleSet = "gb4091",
    tests: Iterable[int] | None = None,
    nan_policy: str = "raise",
) -> ChartResult:
    """EWMA chart (panel ``ewma``) of individual values or subgroup means.

    ``z₀ = centre``, ``zᵢ = λ x̄ᵢ + (1-λ) zᵢ₋₁``; with ``σᵢ² = σ²/nᵢ``,
    ``Var(zᵢ) = Σⱼ λ²(1-λ)^{2(i-j)} σⱼ²`` — for constant n the familiar
    ``σ²/n · λ/(2-λ) · (1 - (1-λ)^{2i})``. Limits ``centre ± L sqrt(Var zᵢ)`` (exact, time
    varying) or ``± L σ/sqrt(n) sqrt(λ/(2-λ))`` (``limits="asymptotic"``). A point signals when
    ``zᵢ`` is strictly beyond its limit (reported as test 1; ``tests=()`` or ``rules="none"``
    switches it off). Montgomery, *Introduction to SQC*, 8th ed., sec. 9.2; NIST/SEMATECH
    e-Handbook 6.3.2.4.

    Examples
    --------
    >>> res = ewma([52.0, 47.0, 53.0, 49.3], lam=0.3, L=3, center=50, sigma=2.0539)
    >>> [round(float(v), 2) for v in res["ewma"].statistic]
    [50.6, 49.52, 50.56, 50.18]
    """
    func = "ewma"
    lam_f = check_positive_scalar(lam, "lam", func)
    if lam_f > 1.0:
        raise ParameterError(f"The 'lam' parameter of ewma must be in (0, 1]. Got {lam!r}.")
    l_f = check_positive_scalar(L, "L", func)
    if limits not in ("exact", "asymptotic"):
        raise ParameterError(
            f"The 'limits' parameter of ewma must be 'exact' or 'asymptotic'. Got {limits!r}."
        )
    ruleset = _time_weighted_rules(rules, tests)
    ser = _time_weighted_base(
        func, values, subgroups, center, sigma, phase1, exclude, sigma_method, constants, nan_policy
    )
    cen = ser.center
    a = 1.0 - lam_f
    # work about the centre so that the recurrence never adds large offsets
    z = _linear_recurrence(lam_f * (ser.points - cen), a, 0.0) + cen
    var_point = ser.sigma * ser.sigma / ser.sizes.astype(np.float64)
    if limits == "exact":
        var_z = _linear_recurrence(lam_f * lam_f * var_point, a * a, 0.0)
    else:
        var_z = var_point * lam_f / (2.0 - lam_f)
    sd_z = np.sqrt(var_z)
    lcl = cen - l_f * sd_z
    ucl = cen + l_f * sd_z
    panel = Panel(
        name="ewma",
        statistic=z,
        center=cen,
        lcl=_collapse(lcl),
        ucl=_collapse(ucl),
        sigma=_collapse(sd_z),
        violations=_signals((z > ucl) | (z < lcl), ruleset),
        tests=applicable_tests(ruleset, only=(1,)),
        extra={"points": ser.points},
    )
    return ChartResult(
        chart=func,
        center=cen,
        sigma=ser.sigma,
        sigma_method=ser.sigma_label,
        constants=constants,
        sizes=ser.sizes,
        panels={"ewma": panel},
        phase1=ser.mask,
        phase1_end=ser.phase1_end,
        excluded=ser.excluded,
        rules=ruleset,
        params={"lambda": lam_f, "L": l_f, "limits": limits},
        warnings=tuple(ser.warnings),
        labels=ser.labels,
    )


def _time_weighted_rules(rules: str | RuleSet, tests: Iterable[int] | None) -> RuleSet:
    """EWMA and CUSUM signal by test 1 only; ``tests`` may switch it off."""
    return resolve_rules(rules, tests=tests)


def _signals(hit: BoolArray, ruleset: RuleSet) -> Violations:
    if 1 not in ruleset.tests:
        return Violations.empty()
    idx = np.flatnonzero(hit).astype(np.int64)
    return Violations(idx, np.ones(idx.size, dtype=np.int64))


_BLOCK = 4096


def _lindley(y: FloatArray, start: float) -> FloatArray:
    """S_i = max(0, S_{i-1} + y_i), S_0 = start, vectorized block by block.

    Within a block, ``S = c - min(0, running min of c)`` with ``c`` the cumulative sum started at
    the previous block's last value; blocks bound the rounding of long cumulative sums.
    """
    out = np.empty_like(y)
    s = start
    for lo in range(0, y.size, _BLOCK):
        c = np.cumsum(y[lo : lo + _BLOCK])
        c += s
        out[lo : lo + _BLOCK] = c - np.minimum(np.minimum.accumulate(c), 0.0)
        s = float(out[min(lo + _BLOCK, y.size) - 1])
    return out


def cusum(
    values: npt.ArrayLike,
    subgroups: Any = None,
    *,
    k: float = 0.5,
    h: float = 5.0,
    center: float | None = None,
    sigma: float | None = None,
    phase1: Any = None,
    exclude: Any = None,
    sigma_method: str | None = None,
    constants: str = "exact",
    units: str = "data",
    headstart: float = 0.0,
    rules: str | RuleSet = "gb4091",
    tests: Iterable[int] | None = None,
    nan_policy: str = "raise",
) -> ChartResult:
    """Two-sided tabular CUSUM (panels ``cusum_upper`` and ``cusum_lower``).

    In data units (default), with μ₀ the centre, ``σ_x̄ = σ/sqrt(n)``, ``K = kσ_x̄`` and
    ``H = hσ_x̄``::

        C⁺ᵢ = max(0, x̄ᵢ - (μ₀ + K) + C⁺ᵢ₋₁)      C⁻ᵢ = max(0, (μ₀ - K) - x̄ᵢ + C⁻ᵢ₋₁)

    Both are reported as non-negative numbers; a point signals (test 1) when ``C > H``
    strictly; the sums are not reset after a signal. ``N⁺``/``N⁻`` (panel field ``counter``)
    count the consecutive periods each sum has been non-zero, so the new mean after an upper
    signal at i is estimated by ``μ₀ + K + C⁺ᵢ/N⁺ᵢ`` (:func:`cusum_new_mean`). ``units="standardized"``
    reports ``C/σ_x̄`` with limit ``h`` (needed when subgroup sizes differ). ``headstart`` is the
    fast-initial-response start value as a fraction of ``h`` (0.5 is common). Montgomery,
    *Introduction to SQC*, 8th ed., sec. 9.1.

    Examples
    --------
    >>> res = cusum([102.0, 94.8, 98.3, 98.4], center=99, sigma=2, k=0.5, h=5)
    >>> res["cusum_upper"].statistic.round(2).tolist(), res["cusum_lower"].statistic.round(2).tolist()
    ([2.0, 0.0, 0.0, 0.0], [0.0, 3.2, 2.9, 2.5])
    """
    func = "cusum"
    k_f = check_positive_scalar(k, "k", func, allow_zero=True)
    h_f = check_positive_scalar(h, "h", func)
    hs = check_positive_scalar(headstart, "headstart", func, allow_zero=True)
    if hs >= 1.0:
        raise ParameterError(
            f"The 'headstart' parameter of cusum is a fraction of h in [0, 1). Got {headstart!r}."
        )
    if units not in ("data", "standardized"):
        raise ParameterError(
            f"The 'units' parameter of cusum must be 'data' or 'standardized'. Got {units!r}."
        )
    ruleset = _time_weighted_rules(rules, tests)
    ser = _time_weighted_base(
        func, values, subgroups, center, sigma, phase1, exclude, sigma_method, constants, nan_policy
    )
    sd_point = ser.sigma / np.sqrt(ser.sizes.astype(np.float64))
    if units == "data" and not bool(np.all(ser.sizes == ser.sizes[0])):
        raise ParameterError(
            "cusum in data units needs equal subgroup sizes (K and H are multiples of "
            "sigma/sqrt(n)); the sizes differ here. Use units='standardized'."
        )
    zs = (ser.points - ser.center) / sd_point
    scale = float(sd_point[0]) if units == "data" else 1.0
    limit = h_f * scale
    panels = {}
    for name, sums in (
        ("cusum_upper", _lindley(zs - k_f, hs * h_f)),
        ("cusum_lower", _lindley(-zs - k_f, hs * h_f)),
    ):
        stat = sums * scale
        idx = np.arange(sums.size, dtype=np.int64)
        counter = idx - np.maximum.accumulate(np.where(sums > 0, -1, idx))
        panels[name] = Panel(
            name=name,
            statistic=stat,
            center=0.0,
            lcl=None,
            ucl=limit,
            sigma=None,
            violations=_signals(stat > limit, ruleset),
            tests=applicable_tests(ruleset, only=(1,)),
            extra={"counter": counter},
        )
    return ChartResult(
        chart=func,
        center=ser.center,
        sigma=ser.sigma,
        sigma_method=ser.sigma_label,
        constants=constants,
        sizes=ser.sizes,
        panels=panels,
        phase1=ser.mask,
        phase1_end=ser.phase1_end,
        excluded=ser.excluded,
        rules=ruleset,
        params={
            "k": k_f,
            "h": h_f,
            "K": k_f * scale if units == "data" else k_f,
            "H": limit,
            "units": units,
            "headstart": hs,
        },
        warnings=tuple(ser.warnings),
        labels=ser.labels,
    )


def cusum_new_mean(result: ChartResult, index: int) -> float | None:
    """Estimate of the shifted process mean at a CUSUM point (Montgomery eq. 9.4).

    ``μ₀ + K + C⁺/N⁺`` when the upper sum is non-zero there, ``μ₀ - K - C⁻/N⁻`` when the lower
    one is; ``None`` when neither is (no evidence of a shift). Data units only.
    """
    if result.chart != "cusum" or result.params.get("units") != "data":
        raise ParameterError("cusum_new_mean needs a cusum result in data units.")
    kk = float(result.params["K"])
    up = result.panels["cusum_upper"]
    lo = result.panels["cusum_lower"]
    nu = int(up.extra["counter"][index])
    nl = int(lo.extra["counter"][index])
    if nu > 0 and up.statistic[index] >= lo.statistic[index]:
        return result.center + kk + float(up.statistic[index]) / nu
    if nl > 0:
        return result.center - kk - float(lo.statistic[index]) / nl
    return None
