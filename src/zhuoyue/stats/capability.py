"""Process capability of a normal process: Cp, Cpk, Cpm, Pp, Ppk, PPM, Z.bench and intervals.

One call, :func:`capability`, returns one :class:`CapabilityResult` with the potential (within)
and overall indices, expected PPM within and overall (untruncated normal tails), observed PPM,
Z.bench, confidence intervals, the Anderson–Darling normality test and a stability check on the
same data (Xbar-R, Xbar-S or I-MR with the tests of GB/T 4091). Non-normal methods (Box-Cox,
Johnson, lognormal, Weibull, gamma, automatic choice) are computed by
:mod:`zhuoyue.stats.nonnormal` through ``method=``.

Conventions (the defaults of ``shared/reference/README.md``; the result names the one used):

* σ within: pooled SD / c4(Σ(nᵢ-1)+1) for subgroups, MR̄/d2(2) for individual values (Minitab);
  ``sigma_method`` selects ``"rbar"`` (R̄/d2: AIAG, qcc; with ``constants="table"`` qcc's 3-decimal
  d2), ``"sbar"``, ``"pooled"``, ``"rbar_unweighted"``, ``"sbar_unweighted"`` for subgroups and
  ``"mr"``, ``"mr_median"``, ``"sd"`` for individual values. The estimators are those of the
  control charts (:mod:`zhuoyue.stats.charts`).
* σ overall: the sample standard deviation (N-1), ``overall_method="sd_c4"`` divides it by c4(N).
* Cp = (USL-LSL)/6σ, Cpl = (x̄-LSL)/3σ, Cpu = (USL-x̄)/3σ, Cpk = min of those defined (the
  available one-sided index with a one-sided spec, where Cp is undefined); Pp... likewise with
  σ overall. x̄ is the mean of all values.
* Target: the spec midpoint by default with two limits; none with a one-sided spec (no Cpm
  unless a target is given).
* Cpm (Minitab, default): min(T-LSL, USL-T) / (3 sqrt(Σ(xᵢ-T)²/(N-1))), which is
  (USL-LSL)/(6 sqrt(...)) when T is the midpoint, and (USL-T) or (T-LSL) over 3 sqrt(...) with a
  one-sided spec. ``cpm_method="qcc"``: Cp / sqrt(1 + ((x̄-T)/σ_within)²) (two-sided only).
* Expected PPM: 10⁶ Φ((LSL-x̄)/σ) and 10⁶ Φ((x̄-USL)/σ) (upper tail by symmetry, accurate far
  out); observed PPM counts values strictly beyond a limit. Z.bench = Φ⁻¹(1 - P(total)), computed
  from log-probabilities so that it stays finite for tiny tails; Z.LSL = (x̄-LSL)/σ,
  Z.USL = (USL-x̄)/σ.
* Confidence intervals (``ci_method="minitab"``, default; Minitab 21 Help, Normal Capability
  Analysis, "Methods and formulas for potential capability measures" and "... for overall
  capability measures", support.minitab.com/en-us/minitab/21/help-and-how-to/
  quality-and-process-improvement/capability-analysis/how-to/capability-analysis/
  normal-capability-analysis/methods-and-formulas/): Cp, Pp: C·sqrt(χ²_{α/2,ν}/ν) ..
  C·sqrt(χ²_{1-α/2,ν}/ν); Cpk, Ppk: C ∓ z_{1-α/2} sqrt(1/(9N) + C²/(2ν)), also used for the
  one-sided indices (Minitab documents no separate CPL/CPU interval; with a one-sided spec its Cpk
  is that index); Cpm: Boyles' (1991) chi-square approximation, ν = N(1+a²)²/(1+2a²),
  a = (x̄-T)/s. Degrees of freedom ν of σ within by its method (Minitab, same pages): pooled
  Σ(nᵢ-1); R̄ 0.9k(n̄-1); S̄ fₙk(n̄-1) with fₙ = 0.88, 0.92, 0.94, 0.95 (n = 2..5), 0.96 (6, 7),
  0.97 (8, 9), 0.98 (10-17), 0.99 (18-64), 1 (65 and more) at the average subgroup size n̄ rounded;
  average or median moving range k - w + 1 = N - 1 (span w = 2); ``"sd"`` N - 1; a given σ has no
  interval. Overall ν = N - 1. ``ci_method="qcc"`` reproduces R qcc 2.7: ν = N - 1 throughout,
  one-sided z = Φ⁻¹(level) for Cpl/Cpu (Ppl/Ppu), z_{1-α/2} for Cpk, and Cpm on
  ν = N(1+d²)/(1+2d²), d = (x̄-T)/σ_within.
* Normality: Anderson–Darling A² against the normal with the sample mean and SD; p-value from the
  modified A*² = A²(1 + 0.75/N + 2.25/N²) (D'Agostino & Stephens 1986, Table 4.9; as Minitab
  and R nortest). A warning when p < 0.05.

References: Montgomery, *Introduction to Statistical Quality Control*, 8th ed., ch. 8; AIAG SPC
manual, 2nd ed.; Minitab 21 Help, Normal Capability Analysis, Methods and formulas; Scrucca,
qcc 2.7 ``process.capability``; Boyles (1991), *J. Quality Technology* 23(1).
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

import numpy as np
import numpy.typing as npt
from scipy import special

from zhuoyue.errors import DataError, ParameterError
from zhuoyue.stats import constants as K
from zhuoyue.stats._input import (
    Groups,
    as_float_array,
    check_nan_policy,
    check_positive_scalar,
    make_groups,
)
from zhuoyue.stats.charts import (
    _ALIASES,
    _LABELS,
    INDIVIDUAL_METHODS,
    SUBGROUP_METHODS,
    _sigma_from_subgroups,
    _sigma_individuals,
    imr,
    xbar_r,
    xbar_s,
)
from zhuoyue.stats.results import ChartResult, jsonable

__all__ = [
    "CI_METHODS",
    "CPM_METHODS",
    "INDEX_NAMES",
    "METHODS",
    "NONNORMAL_METHODS",
    "OVERALL_METHODS",
    "CapabilityResult",
    "NonNormalLike",
    "anderson_darling_normal",
    "capability",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

INDEX_NAMES = ("cp", "cpl", "cpu", "cpk", "cpm", "pp", "ppl", "ppu", "ppk")
CPM_METHODS = ("minitab", "qcc")
CI_METHODS = ("minitab", "qcc")
OVERALL_METHODS = ("sd", "sd_c4")
NONNORMAL_METHODS = ("boxcox", "johnson", "lognormal", "weibull", "gamma", "auto")
METHODS = ("normal", *NONNORMAL_METHODS)
_OVERALL_LABELS = {"sd": "sd", "sd_c4": "sd/c4"}

#: fewer values than this draw a warning (Minitab Assistant: at least 100 for capability)
FEW_VALUES = 100
#: fewer subgroups than this draw a warning (AIAG SPC manual: 25 or more)
FEW_SUBGROUPS = 25
#: σ overall / σ within at or above this draws a warning (shifts between subgroups)
SIGMA_RATIO_WARNING = 1.5
#: Anderson-Darling p-value below this draws a non-normality warning
NORMALITY_ALPHA = 0.05
#: subgroup size up to which the stability check uses an R chart (Minitab Sixpack)
_MAX_R_CHART = 8

# Minitab's adjustment factor f_n of the S̄ degrees of freedom, by (rounded) subgroup size
_SBAR_FN = (
    (2, 0.88),
    (3, 0.92),
    (4, 0.94),
    (5, 0.95),
    (7, 0.96),
    (9, 0.97),
    (17, 0.98),
    (64, 0.99),
)
# one pass over ``values`` in blocks of this many (temporaries stay in the CPU cache)
_SCAN_BLOCK = 131072
_INDEX_LABELS = {
    "cp": "Cp", "cpl": "CPL", "cpu": "CPU", "cpk": "Cpk", "cpm": "Cpm",
    "pp": "Pp", "ppl": "PPL", "ppu": "PPU", "ppk": "Ppk",
}  # fmt: skip
_CHART_NAMES = {"xbar": "Xbar", "r": "R", "s": "S", "i": "I", "mr": "MR"}
_FUNC = "capability"


class NonNormalLike(Protocol):
    """What :func:`capability` needs from ``zhuoyue.stats.nonnormal.NonNormalCapability``."""

    @property
    def method(self) -> str: ...
    @property
    def pp(self) -> float | None: ...
    @property
    def ppl(self) -> float | None: ...
    @property
    def ppu(self) -> float | None: ...
    @property
    def ppk(self) -> float | None: ...
    @property
    def ppm_overall(self) -> Mapping[str, float | None]: ...
    @property
    def details(self) -> Mapping[str, Any]: ...
    @property
    def candidates(self) -> Sequence[Mapping[str, Any]]: ...
    @property
    def warnings(self) -> tuple[str, ...]: ...
    def to_dict(self) -> dict[str, Any]: ...


# --------------------------------------------------------------------------- normality


def _ad_p_value(a_star: float) -> float:
    """p-value of the modified A*² (D'Agostino & Stephens 1986, Table 4.9)."""
    if a_star >= 0.6:
        # the quadratic turns up beyond its vertex (A* ≈ 153.5, p ≈ 1e-190): hold it there
        a = min(a_star, 5.709 / (2 * 0.0186))
        p = math.exp(1.2937 - 5.709 * a + 0.0186 * a * a)
    elif a_star >= 0.34:
        p = math.exp(0.9177 - 4.279 * a_star - 1.38 * a_star * a_star)
    elif a_star >= 0.2:
        p = 1.0 - math.exp(-8.318 + 42.796 * a_star - 59.938 * a_star * a_star)
    else:
        p = 1.0 - math.exp(-13.436 + 101.14 * a_star - 223.73 * a_star * a_star)
    return min(1.0, max(0.0, p))


def anderson_darling_normal(x: npt.ArrayLike) -> tuple[float, float]:
    """Anderson–Darling test of normality with estimated mean and standard deviation.

    ``A² = -N - (1/N) Σ (2i-1) [ln Φ(zᵢ) + ln(1 - Φ(z₍N+1-i₎))]`` with ``zᵢ`` the sorted values
    standardized by the sample mean and SD (N-1). The p-value comes from the modified statistic
    ``A*² = A²(1 + 0.75/N + 2.25/N²)`` by the piecewise formulas of D'Agostino & Stephens,
    *Goodness-of-Fit Techniques* (1986), Table 4.9 — as Minitab and R ``nortest::ad.test``. The
    statistic returned is the unmodified A² (as Minitab, nortest and ``scipy.stats.anderson``
    report it). Logarithms of the tails come from ``log_ndtr``, so far-out values do not
    overflow.

    Parameters
    ----------
    x : array_like, 1-D
        At least 3 finite values, not all equal.

    Returns
    -------
    (float, float)
        A² and the p-value (small: the data do not look normal).

    Examples
    --------
    >>> a2, p = anderson_darling_normal([2.1, 2.5, 1.9, 2.2, 2.8, 2.4, 2.0, 2.3, 2.6, 2.2])
    >>> round(a2, 4), round(p, 4)
    (0.1402, 0.958)
    """
    func = "anderson_darling_normal"
    arr = as_float_array(x, "x", func, nan_policy=None)
    n = arr.size
    if n < 3:
        raise DataError(
            f"{func} needs at least 3 values; got {n}. Collect more data.", code="too_few"
        )
    s = np.sort(arr)
    mean = float(np.mean(s))
    sd = float(np.std(s, ddof=1))
    if not sd > 0.0:
        raise DataError(
            f"{func}: all {n} values are equal, so there is no spread to test. Check the gauge "
            "resolution and the data.",
            code="zero_sigma",
        )
    z = (s - mean) / sd
    w = np.arange(1.0, 2.0 * n, 2.0)  # 2i - 1
    total = float(np.add.reduce(w * special.log_ndtr(z))) + float(
        np.add.reduce(w[::-1] * special.log_ndtr(-z))
    )
    a2 = -n - total / n
    a_star = a2 * (1.0 + 0.75 / n + 2.25 / (n * n))
    return float(a2), _ad_p_value(a_star)


# --------------------------------------------------------------------------- helpers


def _spec(value: Any, name: str) -> float | None:
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ParameterError(
            f"The {name!r} parameter of capability must be a number or None. Got {value!r}."
        ) from None
    if not math.isfinite(v):
        raise ParameterError(
            f"The {name!r} parameter of capability must be a finite number or None. Got {value!r}."
        )
    return v


def _choice(value: Any, name: str, allowed: tuple[str, ...]) -> str:
    key = str(value).lower() if isinstance(value, str) else value
    if key not in allowed:
        raise ParameterError(
            f"The {name!r} parameter of capability must be one of {list(allowed)}. Got {value!r}."
        )
    return str(key)


def _level(value: Any, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ParameterError(
            f"The {name!r} parameter of capability must be a number in (0, 1), e.g. 0.95. "
            f"Got {value!r}."
        ) from None
    if not 0.0 < v < 1.0:
        raise ParameterError(
            f"The {name!r} parameter of capability must be in (0, 1), e.g. 0.95 for 95 %. "
            f"Got {value!r}."
        )
    return v


def _sigma_method(name: str | None, individual: bool) -> str:
    if name is None:
        return "mr" if individual else "pooled"
    key = _ALIASES.get(str(name).lower(), str(name).lower())
    mine, other = (
        (INDIVIDUAL_METHODS, SUBGROUP_METHODS)
        if individual
        else (SUBGROUP_METHODS, INDIVIDUAL_METHODS)
    )
    if key in mine:
        return key
    if key in other:
        have = "individual values" if individual else "subgroups"
        raise ParameterError(
            f"sigma_method={name!r} does not apply to {have}. For {have} use one of "
            f"{list(mine)}" + ("; give subgroups= to use a subgroup method." if individual else ".")
        )
    raise ParameterError(
        "The 'sigma_method' parameter of capability must be one of "
        f"{list(SUBGROUP_METHODS)} (subgroups) or {list(INDIVIDUAL_METHODS)} (individual "
        f"values). Got {name!r}."
    )


def _scan(
    x: FloatArray,
    mean: float,
    lsl: float | None,
    usl: float | None,
    *,
    want_ss: bool,
    want_mr: bool,
) -> tuple[float, float, int, int]:
    """Σ(x-x̄)², Σ|xᵢ-xᵢ₋₁| and the counts below LSL / above USL in one blocked pass."""
    n = x.size
    ss = 0.0
    mr = 0.0
    below = 0
    above = 0
    if not (want_ss or want_mr):
        if lsl is not None:
            below = int(np.count_nonzero(x < lsl))
        if usl is not None:
            above = int(np.count_nonzero(x > usl))
        return ss, mr, below, above
    buf = np.empty(min(_SCAN_BLOCK, n))
    for lo in range(0, n, _SCAN_BLOCK):
        hi = min(n, lo + _SCAN_BLOCK)
        blk = x[lo:hi]
        if want_ss:
            d = buf[: hi - lo]
            np.subtract(blk, mean, out=d)
            np.multiply(d, d, out=d)
            ss += float(np.add.reduce(d))  # pairwise, deterministic (no threaded BLAS)
        if want_mr:
            end = min(n, hi + 1)  # the moving range that straddles the next block belongs here
            e = buf[: end - 1 - lo]
            np.subtract(x[lo + 1 : end], x[lo : end - 1], out=e)
            np.abs(e, out=e)
            mr += float(np.add.reduce(e))
        if lsl is not None:
            below += int(np.count_nonzero(blk < lsl))
        if usl is not None:
            above += int(np.count_nonzero(blk > usl))
    return ss, mr, below, above


def _within_dof(method: str, n: int, k: int) -> float | None:
    """Degrees of freedom of σ within for the Minitab intervals (see the module notes)."""
    nbar = n / k
    if method == "pooled":
        return float(n - k)
    if method in ("rbar", "rbar_unweighted"):
        return 0.9 * k * (nbar - 1.0)
    if method in ("sbar", "sbar_unweighted"):
        size = math.floor(nbar + 0.5)
        fn = next((f for top, f in _SBAR_FN if size <= top), 1.0)
        return fn * k * (nbar - 1.0)
    if method in ("mr", "mr_median", "sd"):
        return float(n - 1)
    return None  # a given sigma


def _ppm(mean: float, sigma: float | None, lsl: float | None, usl: float | None) -> dict[str, Any]:
    if sigma is None:
        return {"below_lsl": None, "above_usl": None, "total": None}
    below = None if lsl is None else 1e6 * float(special.ndtr((lsl - mean) / sigma))
    above = None if usl is None else 1e6 * float(special.ndtr((mean - usl) / sigma))
    return _ppm_dict(below, above)


def _ppm_dict(below: float | None, above: float | None) -> dict[str, Any]:
    parts = [p for p in (below, above) if p is not None]
    return {"below_lsl": below, "above_usl": above, "total": float(sum(parts)) if parts else None}


def _z(mean: float, sigma: float | None, lsl: float | None, usl: float | None) -> dict[str, Any]:
    """Z.LSL, Z.USL and Z.bench = Φ⁻¹(1 - P(total)) from log tail probabilities."""
    if sigma is None:
        return {"lsl": None, "usl": None, "bench": None}
    z_lsl = None if lsl is None else (mean - lsl) / sigma
    z_usl = None if usl is None else (usl - mean) / sigma
    logs = [float(special.log_ndtr(-z)) for z in (z_lsl, z_usl) if z is not None]
    log_p = float(np.logaddexp.reduce(logs))
    return {"lsl": z_lsl, "usl": z_usl, "bench": float(-special.ndtri_exp(log_p))}


def _z_from_ppm(ppm: Mapping[str, float | None]) -> dict[str, Any]:
    def z(p: float | None) -> float | None:
        if p is None or not 0.0 < p < 1e6:
            return None
        return float(-special.ndtri(p / 1e6))

    return {
        "lsl": z(ppm.get("below_lsl")),
        "usl": z(ppm.get("above_usl")),
        "bench": z(ppm.get("total")),
    }


def _indices(
    mean: float, sigma: float, lsl: float | None, usl: float | None
) -> tuple[float | None, float | None, float | None, float]:
    """(C_p, C_pl, C_pu, C_pk) for one sigma; C_p is None with a one-sided spec."""
    cl = None if lsl is None else (mean - lsl) / (3.0 * sigma)
    cu = None if usl is None else (usl - mean) / (3.0 * sigma)
    cp = None if lsl is None or usl is None else (usl - lsl) / (6.0 * sigma)
    ck = min(c for c in (cl, cu) if c is not None)
    return cp, cl, cu, ck


def _interval(
    key: str, value: float, dof: float, level: float, n: int, ci_method: str
) -> tuple[float, float]:
    alpha = 1.0 - level
    if key in ("cp", "pp", "cpm"):
        # special.chdtri(ν, q) is the chi-square quantile with upper-tail probability q
        lo = value * math.sqrt(float(special.chdtri(dof, 1.0 - alpha / 2.0)) / dof)
        hi = value * math.sqrt(float(special.chdtri(dof, alpha / 2.0)) / dof)
        return lo, hi
    if ci_method == "qcc" and key in ("cpl", "cpu", "ppl", "ppu"):
        z = float(special.ndtri(level))  # qcc 2.7 uses the one-sided quantile here
    else:
        z = float(-special.ndtri(alpha / 2.0))
    half = z * math.sqrt(1.0 / (9.0 * n) + value * value / (2.0 * dof))
    return value - half, value + half


def _chart_size(sizes: IntArray) -> int:
    """Minitab's rule: the most common size if over half the subgroups have it, else the largest."""
    vals, counts = np.unique(sizes, return_counts=True)
    top = int(np.argmax(counts))
    if counts[top] > sizes.size / 2:
        return int(vals[top])
    return int(vals[-1])


def _stability_chart(
    values: FloatArray,
    sizes: IntArray,
    equal: int | None,
    labels: npt.NDArray[Any] | None,
    individual: bool,
    constants: str,
) -> ChartResult:
    """The control chart of the stability check: I-MR, Xbar-R (n ≤ 8) or Xbar-S (n ≥ 9)."""
    if individual:
        return imr(values, constants=constants)
    if labels is not None:
        subgroups: Any = np.repeat(labels, sizes)
    else:  # a fixed size (the last subgroup may be shorter)
        subgroups = equal if equal is not None else int(sizes[0])
    size = _chart_size(sizes)
    consts = constants if int(sizes.max()) <= 25 else "exact"
    if size <= _MAX_R_CHART:
        return xbar_r(values, subgroups, constants=consts)
    return xbar_s(values, subgroups, constants=consts)


def _stability_warning(chart: ChartResult) -> str | None:
    if chart.in_control:
        return None
    parts = []
    for name, panel in chart.panels.items():
        tests = sorted(set(panel.violations.rule.tolist()))
        if tests:
            word = "test" if len(tests) == 1 else "tests"
            verb = "fires" if len(tests) == 1 else "fire"
            parts.append(
                f"{word} {', '.join(map(str, tests))} {verb} on the "
                f"{_CHART_NAMES.get(name, name)} chart"
            )
    return (
        f"the process is not in control ({'; '.join(parts)}): capability of an unstable process "
        "is not a prediction"
    )


def _nonnormal(
    x: FloatArray, lsl: float | None, usl: float | None, target: float | None, method: str
) -> NonNormalLike:
    from zhuoyue.stats.nonnormal import capability_nonnormal  # imported on use: fits are heavy

    return cast(NonNormalLike, capability_nonnormal(x, lsl, usl, target, method))


def _g(x: float | None) -> str:
    return "*" if x is None else f"{x:.6g}"


def _fmt(x: float | None, digits: int = 4) -> str:
    if x is None or not math.isfinite(x):
        return "*"
    if x != 0.0 and (abs(x) >= 1e6 or abs(x) < 1e-3):
        return f"{x:.{digits}g}"
    return f"{x:.{digits}f}" if abs(x) < 1e3 else f"{x:.1f}"


# --------------------------------------------------------------------------- result


@dataclass(frozen=True, slots=True)
class CapabilityResult:
    """The result of :func:`capability`.

    Indices are ``None`` where they are undefined (Cp and Pp with a one-sided spec, Cpm without
    a target, the within indices of a non-normal method). ``ppm_*`` are mappings
    ``{below_lsl, above_usl, total}`` (``None`` for a missing side); ``z_within`` and
    ``z_overall`` are ``{lsl, usl, bench}``; ``normality`` is ``{method, statistic, p_value}``
    (all ``None`` when not tested). ``dof`` gives the degrees of freedom behind the interval of
    each index (``None``: no interval). ``chart`` is the control chart of the stability check
    (``None`` with ``stability=False``); ``values``, ``sizes`` and ``labels`` keep the data
    (ordered subgroup by subgroup, no copy when the input was already float64 and contiguous)
    for :meth:`sixpack`. With a non-normal ``method`` the overall indices and ``ppm_overall``
    are those of the distribution used (``nonnormal`` has the details).
    """

    n: int
    n_subgroups: int
    subgroup_size: int | None
    mean: float
    sigma_within: float
    sigma_overall: float
    sigma_method: str
    overall_method: str
    lsl: float | None
    usl: float | None
    target: float | None
    cp: float | None
    cpl: float | None
    cpu: float | None
    cpk: float | None
    cpm: float | None
    pp: float | None
    ppl: float | None
    ppu: float | None
    ppk: float | None
    ppm_within: Mapping[str, float | None]
    ppm_overall: Mapping[str, float | None]
    ppm_observed: Mapping[str, float | None]
    z_within: Mapping[str, float | None]
    z_overall: Mapping[str, float | None]
    normality: Mapping[str, Any]
    in_control: bool | None
    warnings: tuple[str, ...]
    nonnormal: NonNormalLike | None
    method: str
    confidence: float
    ci_method: str
    cpm_method: str
    constants: str
    dof: Mapping[str, float | None]
    chart: ChartResult | None = field(default=None, repr=False, compare=False)
    values: FloatArray = field(default_factory=lambda: np.empty(0), repr=False, compare=False)
    sizes: IntArray = field(
        default_factory=lambda: np.empty(0, np.int64), repr=False, compare=False
    )
    labels: npt.NDArray[Any] | None = field(default=None, repr=False, compare=False)

    @property
    def individual(self) -> bool:
        """True when the data are individual values (subgroups of one)."""
        return self.subgroup_size == 1

    def interval(self, name: str, level: float | None = None) -> tuple[float, float] | None:
        """Confidence interval of index ``name`` at ``level`` (default: ``confidence``).

        ``None`` when the index is undefined or has no interval (a given sigma under the Minitab
        convention, the indices of a non-normal method). See the module notes for the formulas.
        """
        key = str(name).lower()
        if key not in INDEX_NAMES:
            raise ParameterError(
                f"The 'name' parameter of interval must be one of {list(INDEX_NAMES)}. "
                f"Got {name!r}."
            )
        lvl = self.confidence if level is None else _level(level, "level")
        value = getattr(self, key)
        dof = self.dof.get(key)
        if value is None or dof is None:
            return None
        return _interval(key, float(value), float(dof), lvl, self.n, self.ci_method)

    def intervals(self, level: float | None = None) -> dict[str, list[float] | None]:
        """Every index's interval at ``level`` as ``{name: [lower, upper] or None}``."""
        out: dict[str, list[float] | None] = {}
        for key in ("cp", "cpk", "pp", "ppk", "cpl", "cpu", "ppl", "ppu", "cpm"):
            ci = self.interval(key, level)
            out[key] = None if ci is None else [ci[0], ci[1]]
        return out

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON object (the same as ``zhuoyue capability --json``)."""
        out: dict[str, Any] = {
            "n": self.n,
            "mean": self.mean,
            "sigma_within": self.sigma_within,
            "sigma_overall": self.sigma_overall,
            "sigma_method": self.sigma_method,
            "lsl": self.lsl,
            "usl": self.usl,
            "target": self.target,
        }
        for key in INDEX_NAMES:
            out[key] = getattr(self, key)
        out["ppm_within"] = dict(self.ppm_within)
        out["ppm_overall"] = dict(self.ppm_overall)
        out["ppm_observed"] = dict(self.ppm_observed)
        out["intervals"] = self.intervals()
        out["normality"] = dict(self.normality)
        out["warnings"] = list(self.warnings)
        # additions to the stable contract
        out["overall_method"] = self.overall_method
        out["method"] = self.method
        out["confidence"] = self.confidence
        out["ci_method"] = self.ci_method
        out["cpm_method"] = self.cpm_method
        out["constants"] = self.constants
        out["n_subgroups"] = self.n_subgroups
        out["subgroup_size"] = self.subgroup_size
        out["dof"] = dict(self.dof)
        out["z_within"] = dict(self.z_within)
        out["z_overall"] = dict(self.z_overall)
        out["in_control"] = self.in_control
        out["nonnormal"] = None if self.nonnormal is None else self.nonnormal.to_dict()
        return cast(dict[str, Any], jsonable(out))

    def summary(self, *, warnings: bool = True) -> str:
        """A plain-text capability report laid out like Minitab's (``warnings=False``: without
        the warning lines, for shells that print them elsewhere)."""
        f = _fmt
        if self.individual:
            data = f"{self.n} individual values"
        elif self.subgroup_size is not None:
            data = f"{self.n} values in {self.n_subgroups} subgroups of {self.subgroup_size}"
        else:
            data = f"{self.n} values in {self.n_subgroups} subgroups of unequal size"
        lines = [
            f"Process capability ({self.method}) of {data}",
            f"  LSL {_g(self.lsl)}   Target {_g(self.target)}   USL {_g(self.usl)}",
            f"  Mean {self.mean:.6g}   StDev(within) {self.sigma_within:.6g} ({self.sigma_method})"
            f"   StDev(overall) {self.sigma_overall:.6g} ({self.overall_method})",
            "",
            f"  {'Potential (within)':<34}Overall",
        ]

        def cell(name: str) -> str:
            ci = self.interval(name)
            text = f"{_INDEX_LABELS[name]:<4}{f(getattr(self, name)):>8}"
            if ci is not None:
                text += f" [{f(ci[0])}, {f(ci[1])}]"
            return text

        for w, o in (("cp", "pp"), ("cpl", "ppl"), ("cpu", "ppu"), ("cpk", "ppk")):
            lines.append(f"  {cell(w):<34}{cell(o)}")
        lines.append(f"  {cell('cpm')}  ({self.cpm_method})")
        lines.append(
            f"  intervals: {100 * self.confidence:g}% ({self.ci_method}; degrees of freedom "
            f"within {_g(self.dof.get('cp'))}, overall {_g(self.dof.get('pp'))})"
        )
        lines += ["", f"  {'PPM':<8}{'observed':>14}{'exp. within':>14}{'exp. overall':>14}"]
        for key, label in (("below_lsl", "< LSL"), ("above_usl", "> USL"), ("total", "total")):
            lines.append(
                f"  {label:<8}{f(self.ppm_observed.get(key), 2):>14}"
                f"{f(self.ppm_within.get(key), 2):>14}{f(self.ppm_overall.get(key), 2):>14}"
            )
        lines.append(
            f"  Z.Bench  within {f(self.z_within.get('bench'), 3)}   "
            f"overall {f(self.z_overall.get('bench'), 3)}"
        )
        if self.normality.get("statistic") is not None:
            lines.append(
                f"  Normality: Anderson-Darling A² = {self.normality['statistic']:.4g}, "
                f"p = {self.normality['p_value']:.4g}"
            )
        if self.in_control is not None:
            lines.append(f"  Stability: {'in control' if self.in_control else 'NOT in control'}")
        if self.nonnormal is not None:
            lines.append(f"  Non-normal method used: {self.nonnormal.method}")
        if warnings:
            lines.extend(f"  warning: {w}" for w in self.warnings)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return "<pre>" + html.escape(self.summary()) + "</pre>"

    def sixpack(
        self, *, last: int = 25, grid_points: int = 201, max_points: int = 2000
    ) -> dict[str, Any]:
        """Plain data for a capability sixpack (Minitab's six panels) in a UI or HTML report.

        Returns a dict with

        * ``chart``: the :class:`~zhuoyue.stats.results.ChartResult` of the stability check
          (Xbar-R, Xbar-S or I-MR; computed now when ``stability=False`` was used);
        * ``last``: ``{kind, labels, values}`` — the last ``last`` subgroups (``values`` a list of
          lists) or observations (``kind="observations"``, a flat list);
        * ``histogram``: ``edges``, ``counts`` (Freedman–Diaconis bins, 5 to 60), ``lsl``,
          ``usl``, ``target``, a ``grid`` and the normal densities ``density_within`` /
          ``density_overall`` on it, and ``scale`` = N × bin width (density × scale = counts);
        * ``probability_plot``: sorted ``values`` against the normal ``quantiles`` of Benard's
          median ranks (i-0.3)/(N+0.4) (``percent`` = 100 × rank; at most ``max_points``
          evenly spaced order statistics), the fitted ``line`` through (mean ± 3.5σ overall) and
          the Anderson–Darling ``normality``;
        * ``capability_plot``: the ±3σ intervals ``within`` and ``overall`` against ``specs``;
        * ``capability``: :meth:`to_dict`.
        """
        if last < 1 or grid_points < 2 or max_points < 2:
            raise ParameterError(
                "sixpack needs last >= 1, grid_points >= 2 and max_points >= 2. "
                f"Got last={last}, grid_points={grid_points}, max_points={max_points}."
            )
        x = self.values
        n = x.size
        chart = self.chart
        if chart is None:
            chart = _stability_chart(
                x, self.sizes, self.subgroup_size, self.labels, self.individual, self.constants
            )
        # last subgroups / observations
        if self.individual:
            first = max(0, n - last)
            last_block: dict[str, Any] = {
                "kind": "observations",
                "labels": list(range(first + 1, n + 1)),
                "values": x[first:].tolist(),
            }
        else:
            k = self.sizes.size
            first = max(0, k - last)
            starts = np.concatenate(([0], np.cumsum(self.sizes)))
            groups = [x[starts[i] : starts[i + 1]].tolist() for i in range(first, k)]
            labels = (
                [str(v) for v in self.labels[first:].tolist()]
                if self.labels is not None
                else [str(i + 1) for i in range(first, k)]
            )
            last_block = {"kind": "subgroups", "labels": labels, "values": groups}
        # histogram with fitted normal densities
        lo_x, hi_x = float(x.min()), float(x.max())
        edges = np.histogram_bin_edges(x, bins="fd")
        nbins = int(min(60, max(5, edges.size - 1)))
        counts, edges = np.histogram(x, bins=nbins, range=(lo_x, hi_x))
        spread = 4.0 * max(self.sigma_within, self.sigma_overall)
        ends = [lo_x, hi_x, self.mean - spread, self.mean + spread]
        ends += [v for v in (self.lsl, self.usl) if v is not None]
        grid = np.linspace(min(ends), max(ends), grid_points)

        def density(sigma: float) -> FloatArray:
            u = (grid - self.mean) / sigma
            return np.asarray(np.exp(-0.5 * u * u) / (sigma * math.sqrt(2.0 * math.pi)))

        histogram = {
            "edges": edges,
            "counts": counts,
            "lsl": self.lsl,
            "usl": self.usl,
            "target": self.target,
            "grid": grid,
            "density_within": density(self.sigma_within),
            "density_overall": density(self.sigma_overall),
            "scale": n * float(edges[1] - edges[0]),
        }
        # normal probability plot
        if n <= max_points:
            ranks = np.arange(n, dtype=np.int64)
            ordered = np.sort(x)
        else:
            ranks = np.unique(np.round(np.linspace(0, n - 1, max_points)).astype(np.int64))
            ordered = np.partition(x, ranks)[ranks]
        p = (ranks + 1 - 0.3) / (n + 0.4)
        zline = np.array([-3.5, 3.5])
        prob = {
            "values": ordered,
            "quantiles": special.ndtri(p),
            "percent": 100.0 * p,
            "line": {"quantiles": zline, "values": self.mean + self.sigma_overall * zline},
            "normality": dict(self.normality),
        }
        cap_plot = {
            "within": [self.mean - 3 * self.sigma_within, self.mean + 3 * self.sigma_within],
            "overall": [self.mean - 3 * self.sigma_overall, self.mean + 3 * self.sigma_overall],
            "specs": [self.lsl, self.usl],
            "target": self.target,
        }
        return {
            "chart": chart,
            "last": last_block,
            "histogram": histogram,
            "probability_plot": prob,
            "capability_plot": cap_plot,
            "capability": self.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class _Stats:
    """What one pass over the data gives: centre, spread, counts beyond the limits."""

    k: int
    sizes: IntArray
    size: int | None
    mean: float
    ss: float  # Σ(x - x̄)²
    s_within: float
    below: int
    above: int
    zero_reason: str
    notes: tuple[str, ...] = ()


def _individual_stats(
    data: FloatArray,
    key: str,
    lsl: float | None,
    usl: float | None,
    given: float | None,
    constants: str,
) -> _Stats:
    n = data.size
    mean = float(np.add.reduce(data)) / n
    fused_mr = key == "mr" and given is None
    ss, mr_sum, below, above = _scan(data, mean, lsl, usl, want_ss=True, want_mr=fused_mr)
    if given is not None:
        s_within = given
    elif key == "mr":
        # MR̄/d2(2) of the control charts, its sum taken in the same pass as Σ(x-x̄)²
        s_within = mr_sum / (n - 1) / float(K.d2(2, constants))
    else:
        mr = np.empty(n)
        mr[0] = np.nan
        np.subtract(data[1:], data[:-1], out=mr[1:])
        np.abs(mr[1:], out=mr[1:])
        s_within = _sigma_individuals(key, data, mr, np.ones(n, dtype=bool), constants)
    reasons = {
        "sd": "all values are equal",
        "mr": "no two consecutive values differ",
        "mr_median": "more than half of the moving ranges are 0 (use sigma_method='mr' or 'sd')",
    }
    return _Stats(
        k=n,
        sizes=np.broadcast_to(np.int64(1), (n,)),  # a read-only view: no memory per point
        size=1,
        mean=mean,
        ss=ss,
        s_within=s_within,
        below=below,
        above=above,
        zero_reason=reasons[key],
    )


def _subgroup_stats(
    groups: Groups,
    subgroups: Any,
    key: str,
    lsl: float | None,
    usl: float | None,
    given: float | None,
    constants: str,
) -> _Stats:
    k = groups.k
    n = groups.values.size
    sizes = groups.sizes
    size = groups.equal
    small = np.flatnonzero(sizes < 2) if size is None or size < 2 else np.empty(0, np.int64)
    if small.size:
        i = int(small[0])
        where = (
            f"subgroup {groups.labels[i]!s} (index {i})"
            if groups.labels is not None
            else f"subgroup {i} (0-based)"
        )
        raise DataError(
            f"capability needs subgroups of at least 2 values to estimate σ within; {where} "
            f"has {int(sizes[i])}. Merge or drop it, or give subgroups=None for individual "
            "values.",
            index=i,
            code="subgroup_too_small",
        )
    notes: tuple[str, ...] = ()
    if size is None and isinstance(subgroups, (int, np.integer)):
        notes = (
            f"the last subgroup has {int(sizes[-1])} values, fewer than the subgroup size "
            f"{int(subgroups)}",
        )
    means, ranges, sds = groups.stats(want_range=key.startswith("rbar"), want_sd=True)
    assert sds is not None
    # Σ(x - x̄)² = Σ(nᵢ-1)sᵢ² + Σnᵢ(x̄ᵢ - x̄)²: no second pass over the data
    if size is not None:
        mean = float(np.add.reduce(means)) / k
        tmp = np.multiply(sds, sds)
        ss_within = float(np.add.reduce(tmp))
        np.subtract(means, mean, out=tmp)
        np.multiply(tmp, tmp, out=tmp)
        ss = (size - 1) * ss_within + size * float(np.add.reduce(tmp))
    else:
        mean = float(np.add.reduce(sizes * means)) / n
        dm = means - mean
        ss = float(np.add.reduce((sizes - 1) * sds * sds)) + float(np.add.reduce(sizes * dm * dm))
    _, _, below, above = _scan(groups.values, mean, lsl, usl, want_ss=False, want_mr=False)
    if given is not None:
        s_within = given
    else:
        s_within = _sigma_from_subgroups(
            key, sizes, ranges, sds, np.ones(k, dtype=bool), constants, size
        )
    return _Stats(
        k=k,
        sizes=sizes,
        size=size,
        mean=mean,
        ss=ss,
        s_within=s_within,
        below=below,
        above=above,
        zero_reason="every subgroup has zero spread",
        notes=notes,
    )


# --------------------------------------------------------------------------- capability()


def capability(
    values: npt.ArrayLike,
    subgroups: Any = None,
    lsl: float | None = None,
    usl: float | None = None,
    target: float | None = None,
    *,
    sigma_method: str | None = None,
    overall_method: str = "sd",
    cpm_method: str = "minitab",
    ci_method: str = "minitab",
    confidence: float = 0.95,
    method: str = "normal",
    normality: bool = True,
    constants: str = "exact",
    nan_policy: str = "raise",
    stability: bool = True,
    sigma: float | None = None,
) -> CapabilityResult:
    """Process capability and performance of a normal process (and non-normal methods).

    Parameters
    ----------
    values : array_like, 1-D
        The measurements, in time order.
    subgroups : int or array_like, optional
        A fixed subgroup size (consecutive values form subgroups) or one label per value;
        ``None`` or ``1``: individual values.
    lsl, usl : float, optional
        Specification limits; at least one, and ``lsl < usl`` when both are given.
    target : float, optional
        Target for Cpm; default the spec midpoint (two-sided), none with a one-sided spec.
    sigma_method : str, optional
        σ within: ``"pooled"`` (default), ``"rbar"``, ``"sbar"``, ``"rbar_unweighted"``,
        ``"sbar_unweighted"`` for subgroups (also qcc's names ``"UWAVE-R"`` ...); ``"mr"``
        (default), ``"mr_median"``, ``"sd"`` for individual values.
    overall_method : {"sd", "sd_c4"}
        σ overall: sample SD, or SD / c4(N).
    cpm_method : {"minitab", "qcc"}
    ci_method : {"minitab", "qcc"}
        Interval formulas and degrees of freedom (module notes).
    confidence : float
        Level of the intervals in ``to_dict`` (``result.interval(name, level)`` for others).
    method : {"normal", "boxcox", "johnson", "lognormal", "weibull", "gamma", "auto"}
        ``"normal"`` here; the others are computed by :mod:`zhuoyue.stats.nonnormal` and give the
        overall indices and PPM (the within indices are then ``None``).
    normality : bool
        Run the Anderson–Darling test (it sorts the data; ``False`` for the fastest call).
    constants : {"exact", "table"}
        d2/d3 values (``"table"``: the 3-decimal d2 of qcc and the textbooks).
    nan_policy : {"raise", "omit"}
    stability : bool
        Chart the same data (I-MR; Xbar-R for subgroups up to 8, Xbar-S above, as Minitab's
        sixpack) with the 8 tests of GB/T 4091 and warn when a test fires.
    sigma : float, optional
        A known (historical) σ within instead of the estimate; its intervals follow qcc
        (ν = N - 1) or are not given (Minitab).

    Returns
    -------
    CapabilityResult

    Raises
    ------
    ParameterError
        No spec limit, ``lsl >= usl``, an unknown method name, ``confidence`` outside (0, 1).
    DataError
        Fewer than 2 values, NaN or infinite values (``index`` names the first), zero spread,
        a subgroup of one value.

    Notes
    -----
    See the module docstring for every formula and its source. Capability of a process that is
    not in control is not a prediction: the result says so in ``warnings`` (never hidden), as it
    does for non-normal data (Anderson–Darling p < 0.05), few data (< 100 values or < 25
    subgroups) and a σ within much smaller than σ overall.

    Examples
    --------
    >>> import numpy as np
    >>> x = 10.0 + np.random.default_rng(2).normal(0.0, 0.1, 125)
    >>> res = capability(x, 5, lsl=9.6, usl=10.4)
    >>> res.sigma_method, round(res.cp, 3), round(res.cpk, 3), round(res.ppk, 3)
    ('pooled/c4', 1.297, 1.287, 1.356)
    >>> [round(v, 3) for v in res.interval("cpk")], res.in_control, res.warnings
    ([1.1, 1.475], True, ())
    >>> round(capability(x, lsl=9.6, normality=False, stability=False).cpk, 3)  # one-sided, I-MR
    1.334
    """
    check_nan_policy(nan_policy)
    if constants not in K.CONSTANTS:
        raise ParameterError(
            f"The 'constants' parameter of capability must be one of {list(K.CONSTANTS)}. "
            f"Got {constants!r}."
        )
    overall_key = _choice(overall_method, "overall_method", OVERALL_METHODS)
    cpm_key = _choice(cpm_method, "cpm_method", CPM_METHODS)
    ci_key = _choice(ci_method, "ci_method", CI_METHODS)
    method_key = _choice(method, "method", METHODS)
    level = _level(confidence, "confidence")
    lo_spec = _spec(lsl, "lsl")
    hi_spec = _spec(usl, "usl")
    tgt = _spec(target, "target")
    if lo_spec is None and hi_spec is None:
        raise ParameterError(
            "capability needs at least one specification limit: give lsl=, usl= or both."
        )
    if lo_spec is not None and hi_spec is not None and lo_spec >= hi_spec:
        raise ParameterError(
            f"capability needs lsl < usl. Got lsl={lo_spec:g} and usl={hi_spec:g}; check that "
            "the limits are not swapped."
        )
    given = None if sigma is None else check_positive_scalar(sigma, "sigma", _FUNC)
    individual = subgroups is None or (
        isinstance(subgroups, (int, np.integer))
        and not isinstance(subgroups, bool)
        and int(subgroups) == 1
    )
    key = _sigma_method(sigma_method, individual)
    x = as_float_array(values, "values", _FUNC, nan_policy=nan_policy)
    warnings: list[str] = []
    groups: Groups | None = None
    if individual:
        if nan_policy == "omit" and x.size and not np.isfinite(np.add.reduce(x)):
            x = x[~np.isnan(x)]
        data = x
    else:
        groups = make_groups(x, subgroups, _FUNC, nan_policy=nan_policy)
        data = groups.values
    n = int(data.size)
    if n < 2:
        raise DataError(
            f"capability needs at least 2 values; got {n}. Collect more data (100 or more are "
            "recommended).",
            code="too_few",
        )
    if individual:
        st = _individual_stats(data, key, lo_spec, hi_spec, given, constants)
    else:
        assert groups is not None
        st = _subgroup_stats(groups, subgroups, key, lo_spec, hi_spec, given, constants)
        warnings.extend(st.notes)
    k, sizes, size = st.k, st.sizes, st.size
    mean, ss, s_within, below, above = st.mean, st.ss, st.s_within, st.below, st.above
    sd = math.sqrt(ss / (n - 1))
    if not sd > 0.0:
        raise DataError(
            f"capability: all {n} values are equal, so σ is 0 and the indices are infinite. "
            "Check the gauge resolution and the data.",
            code="zero_sigma",
        )
    if not (math.isfinite(s_within) and s_within > 0.0):
        raise DataError(
            f"capability: σ within is {s_within:g} because {st.zero_reason}. Check the gauge "
            "resolution and the data, or choose another sigma_method.",
            code="zero_sigma",
        )
    s_overall = sd / float(K.c4(n)) if overall_key == "sd_c4" else sd
    if tgt is None and lo_spec is not None and hi_spec is not None:
        tgt = (lo_spec + hi_spec) / 2.0
    if tgt is not None and (
        (lo_spec is not None and tgt < lo_spec) or (hi_spec is not None and tgt > hi_spec)
    ):
        warnings.append(f"the target {tgt:g} lies outside the specification limits")

    cpk: float | None
    ppk: float | None
    cp, cpl, cpu, cpk = _indices(mean, s_within, lo_spec, hi_spec)
    pp, ppl, ppu, ppk = _indices(mean, s_overall, lo_spec, hi_spec)
    cpm: float | None = None
    if tgt is not None:
        if cpm_key == "minitab":
            rms = math.sqrt((ss + n * (mean - tgt) ** 2) / (n - 1))
            if lo_spec is not None and hi_spec is not None and tgt == (lo_spec + hi_spec) / 2.0:
                cpm = (hi_spec - lo_spec) / (6.0 * rms)
            else:
                half = min(
                    d
                    for d in (
                        None if lo_spec is None else tgt - lo_spec,
                        None if hi_spec is None else hi_spec - tgt,
                    )
                    if d is not None
                )
                cpm = half / (3.0 * rms)
        elif cp is not None:
            cpm = cp / math.sqrt(1.0 + ((mean - tgt) / s_within) ** 2)

    # degrees of freedom of each interval
    if ci_key == "qcc":
        nu_w: float | None = float(n - 1)
    else:
        nu_w = None if given is not None else _within_dof(key, n, k)
    nu_o = float(n - 1)
    nu_cpm: float | None = None
    if cpm is not None:
        if ci_key == "qcc":
            d2 = ((mean - tgt) / s_within) ** 2 if tgt is not None else 0.0
            nu_cpm = n * (1.0 + d2) / (1.0 + 2.0 * d2)
        else:
            a2 = ((mean - tgt) / sd) ** 2 if tgt is not None else 0.0
            nu_cpm = n * (1.0 + a2) ** 2 / (1.0 + 2.0 * a2)
    dof: dict[str, float | None] = {k_: nu_w for k_ in ("cp", "cpl", "cpu", "cpk")}
    dof.update({k_: nu_o for k_ in ("pp", "ppl", "ppu", "ppk")})
    dof["cpm"] = nu_cpm

    ppm_within = _ppm(mean, s_within, lo_spec, hi_spec)
    ppm_overall = _ppm(mean, s_overall, lo_spec, hi_spec)
    ppm_observed = _ppm_dict(
        None if lo_spec is None else 1e6 * below / n,
        None if hi_spec is None else 1e6 * above / n,
    )
    z_within = _z(mean, s_within, lo_spec, hi_spec)
    z_overall = _z(mean, s_overall, lo_spec, hi_spec)

    norm: dict[str, Any] = {"method": None, "statistic": None, "p_value": None}
    if normality and n >= 3:
        a2_stat, p_value = anderson_darling_normal(data)
        norm = {"method": "anderson-darling", "statistic": a2_stat, "p_value": p_value}

    chart: ChartResult | None = None
    in_control: bool | None = None
    if stability:
        try:
            chart = _stability_chart(
                data,
                sizes,
                size,
                None if groups is None else groups.labels,
                individual,
                constants,
            )
        except DataError as exc:
            warnings.append(f"the stability check could not run: {exc}")
        else:
            in_control = chart.in_control
            note = _stability_warning(chart)
            if note:
                warnings.append(note)

    nonnormal: NonNormalLike | None = None
    if method_key != "normal":
        nonnormal = _nonnormal(data, lo_spec, hi_spec, tgt, method_key)
        if nonnormal.method != "normal":
            cp = cpl = cpu = cpk = cpm = None
            pp, ppl, ppu, ppk = nonnormal.pp, nonnormal.ppl, nonnormal.ppu, nonnormal.ppk
            ppm_within = _ppm(mean, None, lo_spec, hi_spec)
            ppm_overall = _ppm_dict(
                nonnormal.ppm_overall.get("below_lsl"), nonnormal.ppm_overall.get("above_usl")
            )
            z_within = _z(mean, None, lo_spec, hi_spec)
            z_overall = _z_from_ppm(ppm_overall)
            dof = dict.fromkeys(INDEX_NAMES)
        warnings.extend(nonnormal.warnings)

    if n < FEW_VALUES:
        warnings.append(
            f"only {n} values: at least {FEW_VALUES} are recommended for a capability study; "
            "the indices are imprecise (see the intervals)"
        )
    if not individual and k < FEW_SUBGROUPS:
        warnings.append(
            f"only {k} subgroups: {FEW_SUBGROUPS} or more are recommended (AIAG SPC manual)"
        )
    p_value = norm["p_value"]
    if method_key == "normal" and p_value is not None and p_value < NORMALITY_ALPHA:
        warnings.append(
            f"the data do not look normal (Anderson-Darling A² = {norm['statistic']:.3g}, "
            f"p = {p_value:.3g} < {NORMALITY_ALPHA:g}): the expected PPM and the indices assume "
            "a normal distribution; try method='auto' (or boxcox, johnson, lognormal, weibull, "
            "gamma)"
        )
    if given is None and s_overall >= SIGMA_RATIO_WARNING * s_within:
        warnings.append(
            f"σ within ({s_within:.4g}) is much smaller than σ overall ({s_overall:.4g}, ratio "
            f"{s_overall / s_within:.2f}): the process shifts between subgroups, so Cp/Cpk "
            "overstate what is delivered; Pp/Ppk describe it"
        )

    return CapabilityResult(
        n=n,
        n_subgroups=k,
        subgroup_size=size,
        mean=mean,
        sigma_within=s_within,
        sigma_overall=s_overall,
        sigma_method="given" if given is not None else _LABELS[key],
        overall_method=_OVERALL_LABELS[overall_key],
        lsl=lo_spec,
        usl=hi_spec,
        target=tgt,
        cp=cp,
        cpl=cpl,
        cpu=cpu,
        cpk=cpk,
        cpm=cpm,
        pp=pp,
        ppl=ppl,
        ppu=ppu,
        ppk=ppk,
        ppm_within=ppm_within,
        ppm_overall=ppm_overall,
        ppm_observed=ppm_observed,
        z_within=z_within,
        z_overall=z_overall,
        normality=norm,
        in_control=in_control,
        warnings=tuple(warnings),
        nonnormal=nonnormal,
        method=method_key,
        confidence=level,
        ci_method=ci_key,
        cpm_method=cpm_key,
        constants=constants,
        dof=dof,
        chart=chart,
        values=data,
        sizes=np.asarray(sizes),
        labels=None if groups is None else groups.labels,
    )
