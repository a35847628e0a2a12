"""Process capability of non-normal data: transformations and distribution fits.

:func:`capability_nonnormal` computes the overall (long-term) indices Pp, PPL, PPU, Ppk and the
expected PPM of one characteristic whose values do not follow a normal distribution, by one of
five methods or by choosing among them (``method="auto"``):

``"boxcox"``
    Box–Cox power transformation (Box & Cox 1964) ``t(x) = (x**λ - 1)/λ`` (``ln x`` for λ = 0),
    λ by maximum likelihood in [-5, 5] (Minitab's range), or given (``lam=``), or rounded to the
    nearest 0.5 (``round_lambda=True``, Minitab's "use rounded values"). The data and the specs are
    transformed; the indices and the expected PPM are the normal-theory overall ones on the
    transformed scale (sample SD, N - 1). This increasing form gives the same indices as
    Minitab's ``x**λ`` (an affine map of it), with PPL tied to the LSL also for λ < 0.
``"johnson"``
    Johnson transformation (Johnson 1949) chosen as in Chou, Polansky & Mason (1998) and Minitab:
    for z = 0.25, 0.26, ..., 1.25 the sample quantiles at Φ(-3z), Φ(-z), Φ(z), Φ(3z) give the
    SB / SU family by the quantile ratio mn/p² (< 1: SB, > 1: SU) and its parameters by the
    formulas of Slifker & Shapiro (1980); the SL (lognormal) form is tried at every z as well.
    The transformation whose transformed data have the smallest Anderson–Darling statistic
    (largest p-value) is used if its p-value exceeds ``johnson_p`` (0.10, Minitab's default).
    Above 2000 values the ~200 candidates are screened on 2000 evenly spaced order statistics
    and the best 16 are evaluated on all values.
``"lognormal"``, ``"weibull"``, ``"gamma"``
    Two-parameter maximum likelihood fits (threshold 0). Indices by the ISO 22514-2 percentile
    method: ``Pp = (USL - LSL)/(X99.865 - X0.135)``, ``PPU = (USL - X50)/(X99.865 - X50)``,
    ``PPL = (X50 - LSL)/(X50 - X0.135)``, ``Ppk = min(PPL, PPU)``, with X0.135 = F⁻¹(Φ(-3)) and
    X99.865 = F⁻¹(Φ(3)); expected PPM ``1e6 F(LSL)`` and ``1e6 (1 - F(USL))`` (survival
    function, accurate far in the tail).
``"auto"``
    Tries the normal distribution, Box–Cox, Johnson, lognormal, Weibull and gamma (the positive-
    only methods only when every value is > 0) and recommends one; every candidate is reported.

Goodness of fit is the Anderson–Darling statistic A² of the fitted CDF (for a transformation: of
the normal distribution fitted to the transformed data; A² is invariant under the increasing
transformation, so every A² here measures the fit on the original scale). p-values:

* normal, Box–Cox, Johnson, lognormal: D'Agostino & Stephens (1986, Table 4.9) formula for the
  normal case with estimated mean and variance, A*² = A²(1 + 0.75/n + 2.25/n²) (as Minitab and
  R ``nortest::ad.test``). For Box–Cox and Johnson the transformation was estimated as well and
  for the lognormal the variance is the maximum likelihood one, so these p-values are
  approximate.
* Weibull: the modified statistic A²(1 + 0.2/√n) of Stephens (1977) referred to its asymptotic
  distribution (extreme-value case, both parameters estimated): a continuous p-value where
  Minitab reports a range from Stephens' table (P < 0.010, P > 0.250); the tabled points are
  reproduced to within 0.005 in A².
* gamma: the asymptotic distribution of A² with shape and scale estimated (it depends on the
  shape; Stephens 1976), without a small-sample correction: approximate below n ≈ 30.

Asymptotic p-values are computed from the eigenvalues of the limiting covariance kernel
(Stephens 1976; Nyström discretisation) with Imhof's (1961) integral, and Zolotarev's tail
approximation (Zolotarev 1961; Sinclair & Spurr 1988) below 1e-6 (within 20 % of the true
value there: p-values that small only say "far below any significance level").

Rule of ``"auto"``: a candidate is acceptable when its AD p-value is at least ``alpha``
(default 0.05; Johnson must also pass ``johnson_p``). The recommendation is the simplest
acceptable model, by tiers of estimated parameters: the normal distribution (no transformation
needed); the 2-parameter lognormal, Weibull and gamma; Box–Cox (a normal plus λ, which nests the
lognormal); Johnson (4 parameters). Within the first tier that has an acceptable candidate the
largest p-value wins, ties broken by the smaller A². Parsimony first, because the p-values of an
estimated transformation are optimistic (they treat λ or the Johnson curve as known), so the
most flexible model would otherwise win by construction. If no candidate is acceptable, the
one with the largest p-value is recommended with a warning. ``candidates`` lists every fitted
method in this rank order, then skipped (values ≤ 0) and failed ones.

Specification limits outside the range a model allows (a spec ≤ 0 for Box–Cox, below the
threshold ε of a Johnson SL/SB fit, above the upper bound of an SB fit) cannot be transformed.
Such a side can never be violated under the model: its expected PPM is 0, its one-sided index
and Pp are not defined (``None``, with a warning), and Ppk is the other side's index. A spec
beyond which *every* possible value lies (USL ≤ 0 for Box–Cox, ...) is a :class:`DataError`.

References
----------
Box, G.E.P. & Cox, D.R. (1964). An analysis of transformations. JRSS B 26, 211-252.
Johnson, N.L. (1949). Systems of frequency curves generated by methods of translation.
Biometrika 36, 149-176.
Slifker, J.F. & Shapiro, S.S. (1980). The Johnson system: selection and parameter estimation.
Technometrics 22, 239-246.
Chou, Y.-M., Polansky, A.M. & Mason, R.L. (1998). Transforming non-normal data to normality in
statistical process control. Journal of Quality Technology 30, 133-141.
ISO 22514-2:2017, Statistical methods in process management — Capability and performance —
Part 2: Process capability and performance of time-dependent process models.
D'Agostino, R.B. & Stephens, M.A. (1986). Goodness-of-Fit Techniques. Marcel Dekker.
Stephens, M.A. (1974). EDF statistics for goodness of fit and some comparisons. JASA 69, 730-737.
Stephens, M.A. (1976). Asymptotic results for goodness-of-fit statistics with unknown
parameters. Annals of Statistics 4, 357-369.
Stephens, M.A. (1977). Goodness of fit for the extreme value distribution. Biometrika 64,
583-588.
Imhof, J.P. (1961). Computing the distribution of quadratic forms in normal variables.
Biometrika 48, 419-426.
Anderson, T.W. & Darling, D.A. (1954). A test of goodness of fit. JASA 49, 765-769.
Zolotarev, V.M. (1961). Concerning a certain probability problem. Theory of Probability and its
Applications 6, 201-204; applied to A² by Sinclair, C.D. & Spurr, B.D. (1988), JASA 83,
1190-1191.
Minitab Support, "Methods and formulas for the Johnson transformation" and "Methods and
formulas for Box-Cox transformation" (Minitab 18-21 help).
"""

from __future__ import annotations

import html
import math
import warnings as _warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from scipy import integrate, optimize, special, stats

from zhuoyue.errors import DataError, ParameterError
from zhuoyue.stats._input import FloatArray, as_float_array, check_finite_scalar, check_nan_policy
from zhuoyue.stats.results import jsonable

__all__ = [
    "METHODS",
    "NonNormalCapability",
    "ad_normal_pvalue",
    "anderson_darling",
    "boxcox_lambda",
    "capability_nonnormal",
    "gamma_mle",
    "weibull_mle",
]

_FUNC = "capability_nonnormal"

#: methods ``capability_nonnormal`` accepts ("normal": overall normal-theory indices, as a
#: candidate of "auto" can be)
METHODS = ("auto", "boxcox", "johnson", "lognormal", "weibull", "gamma", "normal")
_AUTO_ORDER = ("normal", "boxcox", "johnson", "lognormal", "weibull", "gamma")
_POSITIVE_ONLY = frozenset({"boxcox", "lognormal", "weibull", "gamma"})
#: model complexity tiers of "auto": normal; 2-parameter distributions; Box-Cox (+ λ);
#: Johnson (4 parameters)
_TIERS = {"normal": 0, "lognormal": 1, "weibull": 1, "gamma": 1, "boxcox": 2, "johnson": 3}
_TITLES = {
    "normal": "normal",
    "boxcox": "Box-Cox",
    "johnson": "Johnson",
    "lognormal": "lognormal",
    "weibull": "Weibull",
    "gamma": "gamma",
}

#: ISO 22514-2 percentile probability Φ(-3) = 0.001349898... (X0.135 and X99.865 = F⁻¹(1 - P))
P_TAIL = float(special.ndtr(-3.0))
#: fewer values than this: no fit (DataError); fewer than FEW_VALUES: a warning
MIN_VALUES = 10
FEW_VALUES = 30
#: Minitab's range of the Box–Cox λ
LAMBDA_BOUNDS = (-5.0, 5.0)
#: the z grid of Chou, Polansky & Mason (1998): 0.25, 0.26, ..., 1.25
JOHNSON_Z = np.arange(25, 126) / 100.0
#: above this many values the Johnson candidates are screened on this many evenly spaced order
#: statistics and the best _JOHNSON_KEEP are evaluated on all values (the exhaustive choice in 30
#: of 30 trials with 2500-20000 values; 10x faster at 10^5 values)
_JOHNSON_SCREEN = 2000
_JOHNSON_KEEP = 16
#: D'Agostino & Stephens (1986) p-value formula: above this A*² its quadratic turns upwards
_AD_VERTEX = 5.709 / (2 * 0.0186)
#: smallest log-probability used in A² (log of the smallest normal double): keeps logs finite
_LOG_TINY = float(np.log(np.finfo(np.float64).tiny))
_TINY = float(np.finfo(np.float64).tiny)
_ONE_MINUS = 1.0 - np.finfo(np.float64).epsneg
#: nodes of the Nyström discretisation of the asymptotic A² kernel
_KERNEL_NODES = 128
#: eigenvalues kept in Imhof's integrand (the rest by their mean)
_IMHOF_TERMS = 24


# --------------------------------------------------------------------------- result


@dataclass(frozen=True, slots=True)
class NonNormalCapability:
    """Overall capability of non-normal data (see :func:`capability_nonnormal`).

    Attributes
    ----------
    method : str
        The method used: ``"boxcox"``, ``"johnson"``, ``"lognormal"``, ``"weibull"``,
        ``"gamma"`` or, when ``"auto"`` recommends no transformation, ``"normal"``.
    pp, ppl, ppu, ppk : float or None
        Overall indices; ``None`` for a missing spec side (``pp`` needs both), or for a side
        that cannot be transformed (see the module notes; a warning says so).
    ppm_overall : dict
        Expected parts per million ``below_lsl``, ``above_usl`` and ``total`` (``None`` for a
        missing side; ``total`` sums the sides present).
    details : dict
        How the values were obtained: the method's parameters (λ; Johnson family, γ, η, ε, λ;
        distribution parameters), transformed specs or ISO percentiles, the goodness of fit
        (``ad_statistic``, ``ad_pvalue``, ``pvalue_method``), ``ppm_observed``.
    candidates : list of dict
        Every method tried, with its fit quality (``ad_statistic``, ``ad_pvalue``,
        ``acceptable``), ``pp``, ``ppk``, ``ppm_total`` and ``params``; ``rank`` 1 is the one used.
        Skipped or failed methods have ``status`` ``"skipped"`` / ``"failed"`` and a ``message``.
    warnings : tuple of str
    n : int
        Number of values used.
    lsl, usl, target : float or None
        The inputs, echoed.
    """

    method: str
    pp: float | None
    ppl: float | None
    ppu: float | None
    ppk: float | None
    ppm_overall: dict[str, float | None]
    details: dict[str, Any]
    candidates: list[dict[str, Any]]
    warnings: tuple[str, ...] = ()
    n: int = 0
    lsl: float | None = None
    usl: float | None = None
    target: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (NumPy values as Python numbers; NaN and infinities as ``None``)."""
        out: dict[str, Any] = {
            "method": self.method,
            "n": self.n,
            "lsl": self.lsl,
            "usl": self.usl,
            "target": self.target,
            "pp": self.pp,
            "ppl": self.ppl,
            "ppu": self.ppu,
            "ppk": self.ppk,
            "ppm_overall": dict(self.ppm_overall),
            "details": dict(self.details),
            "candidates": list(self.candidates),
            "warnings": list(self.warnings),
        }
        result: dict[str, Any] = jsonable(out)
        return result

    def summary(self) -> str:
        """A plain-text summary."""
        ppm = self.ppm_overall
        lines = [
            f"non-normal capability: {_TITLES.get(self.method, self.method)}, n = {self.n}",
            f"  LSL {_fmt(self.lsl)}  USL {_fmt(self.usl)}  target {_fmt(self.target)}",
            f"  Pp {_fmt(self.pp)}  PPL {_fmt(self.ppl)}  PPU {_fmt(self.ppu)}  "
            f"Ppk {_fmt(self.ppk)}",
            f"  expected PPM  < LSL {_fmt(ppm.get('below_lsl'))}  > USL "
            f"{_fmt(ppm.get('above_usl'))}  total {_fmt(ppm.get('total'))}",
            f"  fit: {_describe_params(self.method, self.details)}; AD "
            f"{_fmt(self.details.get('ad_statistic'))}, p {_fmt(self.details.get('ad_pvalue'))}",
        ]
        if len(self.candidates) > 1:
            lines.append("  candidates:")
            for c in self.candidates:
                rank = c.get("rank")
                head = f"    {rank if rank is not None else '-':>2} {c['method']:<9}"
                if c.get("status") != "fitted":
                    lines.append(f"{head} {c.get('status')}: {c.get('message')}")
                    continue
                ok = "acceptable" if c.get("acceptable") else "poor fit"
                lines.append(
                    f"{head} AD {_fmt(c.get('ad_statistic'))}  p {_fmt(c.get('ad_pvalue'))}  "
                    f"Ppk {_fmt(c.get('ppk'))}  PPM {_fmt(c.get('ppm_total'))}  {ok}"
                )
        lines.extend(f"  warning: {w}" for w in self.warnings)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return "<pre>" + html.escape(self.summary()) + "</pre>"


def _fmt(x: Any) -> str:
    if x is None:
        return "-"
    if isinstance(x, (float, np.floating)):
        return f"{float(x):.4g}" if math.isfinite(float(x)) else "-"
    return str(x)


def _describe_params(method: str, d: dict[str, Any]) -> str:
    if method == "boxcox":
        return f"Box-Cox lambda {_fmt(d.get('lambda'))} ({d.get('lambda_source')})"
    if method == "johnson":
        return (
            f"Johnson {d.get('family')} gamma {_fmt(d.get('gamma'))} eta {_fmt(d.get('eta'))} "
            f"epsilon {_fmt(d.get('epsilon'))} lambda {_fmt(d.get('lambda'))}"
        )
    if method == "lognormal":
        return f"lognormal mu {_fmt(d.get('mu'))} sigma {_fmt(d.get('sigma'))}"
    if method in ("weibull", "gamma"):
        return f"{_TITLES[method]} shape {_fmt(d.get('shape'))} scale {_fmt(d.get('scale'))}"
    return f"normal mean {_fmt(d.get('mean'))} sd {_fmt(d.get('sd'))}"


# --------------------------------------------------------------------------- goodness of fit


def _ad_from_logs(log_cdf: FloatArray, log_sf: FloatArray) -> float:
    """A² from log F and log(1 - F) at the sorted values (logs clipped to stay finite)."""
    n = log_cdf.shape[-1]
    a = np.arange(1, 2 * n, 2, dtype=np.float64)  # 2i - 1
    lf = np.maximum(log_cdf, _LOG_TINY)
    ls = np.maximum(log_sf, _LOG_TINY)
    return float(-n - (lf @ a + ls @ a[::-1]) / n)


def _ad_normal_rows(y: FloatArray) -> FloatArray:
    """A² of normality (mean and sample SD estimated) of each row of sorted values ``y``."""
    n = y.shape[-1]
    mean = y.mean(axis=-1, keepdims=True)
    sd = y.std(axis=-1, ddof=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = (y - mean) / sd
        lf = np.maximum(special.log_ndtr(w), _LOG_TINY)
        ls = np.maximum(special.log_ndtr(-w), _LOG_TINY)
    a = np.arange(1, 2 * n, 2, dtype=np.float64)
    out: FloatArray = -n - (lf @ a + ls @ a[::-1]) / n
    return out


def anderson_darling(
    x: Any,
    cdf: Callable[[FloatArray], Any],
    *,
    sf: Callable[[FloatArray], Any] | None = None,
) -> float:
    """Anderson–Darling statistic A² of the values ``x`` against the distribution ``cdf``.

    ``A² = -n - Σ (2i - 1)/n [ln F(x(i)) + ln(1 - F(x(n+1-i)))]`` over the sorted values
    (Anderson & Darling 1954; Stephens 1974). F is clipped to [tiny, 1 - ε/2] (and ``sf``, when
    given for accuracy in the upper tail, to [tiny, 1]) so that every logarithm stays finite.

    Parameters
    ----------
    x : array_like
        Finite values.
    cdf : callable
        The (fitted) cumulative distribution function, vectorized.
    sf : callable, optional
        Its survival function 1 - F, used instead of ``1 - cdf`` when given.

    Returns
    -------
    float

    Examples
    --------
    The normality statistic with estimated mean and SD equals ``scipy.stats.anderson``'s:

    >>> import numpy as np
    >>> from scipy import stats
    >>> x = np.array([9.8, 10.4, 10.1, 9.5, 10.9, 10.2, 9.9, 10.6, 9.7, 10.0])
    >>> m, s = x.mean(), x.std(ddof=1)
    >>> round(anderson_darling(x, stats.norm(m, s).cdf), 6)
    0.155848
    >>> round(float(stats.anderson(x, method="interpolate").statistic), 6)
    0.155848
    """
    arr = np.sort(as_float_array(x, "x", "anderson_darling", nan_policy=None))
    if arr.size == 0:
        raise DataError("anderson_darling needs data; got no values.", code="empty")
    f = np.clip(np.asarray(cdf(arr), dtype=np.float64), _TINY, _ONE_MINUS)
    with np.errstate(divide="ignore"):
        log_f = np.log(f)
        if sf is None:
            log_s = np.log1p(-f)
        else:
            log_s = np.log(np.clip(np.asarray(sf(arr), dtype=np.float64), _TINY, 1.0))
    return _ad_from_logs(log_f, log_s)


def ad_normal_pvalue(a2: float, n: int) -> float:
    """p-value of the Anderson–Darling normality statistic with mean and variance estimated.

    With ``A*² = A²(1 + 0.75/n + 2.25/n²)`` (D'Agostino & Stephens 1986, Table 4.9; the formula
    Minitab and R ``nortest::ad.test`` use)::

        A*² ≥ 0.60:          p = exp(1.2937 - 5.709 A*² + 0.0186 A*⁴)
        0.34 ≤ A*² < 0.60:   p = exp(0.9177 - 4.279 A*² - 1.38 A*⁴)
        0.20 ≤ A*² < 0.34:   p = 1 - exp(-8.318 + 42.796 A*² - 59.938 A*⁴)
        A*² < 0.20:          p = 1 - exp(-13.436 + 101.14 A*² - 223.73 A*⁴)

    The p-value decreases with A² on each piece; at A*² = 0.6 the published pieces meet with a
    step up of 0.0025 (0.1169 → 0.1194), kept for agreement with Minitab and R. Beyond
    A*² ≈ 153.5 the last quadratic would turn upwards: p is held at its minimum (~1e-190).

    Parameters
    ----------
    a2 : float
        The A² statistic (≥ 0).
    n : int
        Number of values (≥ 1).

    Examples
    --------
    >>> round(ad_normal_pvalue(0.155848, 10), 4)
    0.9316
    >>> round(ad_normal_pvalue(1.0, 50), 5)
    0.01126
    """
    try:
        a = float(a2)
    except (TypeError, ValueError):
        raise ParameterError(
            f"The 'a2' parameter of ad_normal_pvalue must be a number. Got {a2!r}."
        ) from None
    if not (math.isfinite(a) and a >= 0):
        raise ParameterError(
            f"The 'a2' parameter of ad_normal_pvalue must be a finite number >= 0. Got {a2!r}."
        )
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ParameterError(
            f"The 'n' parameter of ad_normal_pvalue must be an int >= 1. Got {n!r}."
        )
    s = min(a * (1.0 + 0.75 / n + 2.25 / (n * n)), _AD_VERTEX)
    if s >= 0.6:
        p = math.exp(1.2937 - 5.709 * s + 0.0186 * s * s)
    elif s >= 0.34:
        p = math.exp(0.9177 - 4.279 * s - 1.38 * s * s)
    elif s >= 0.2:
        p = 1.0 - math.exp(-8.318 + 42.796 * s - 59.938 * s * s)
    else:
        p = 1.0 - math.exp(-13.436 + 101.14 * s - 223.73 * s * s)
    return min(1.0, max(0.0, p))


# ------------------------------------------------------------ asymptotic A² with estimated params


def _kernel_eigenvalues(grad: Callable[[FloatArray], FloatArray], info: FloatArray) -> FloatArray:
    """Eigenvalues λⱼ of the limiting A² distribution Σ λⱼ χ²₁ when parameters are estimated.

    Kernel ``(min(s,t) - st - g(s)ᵀ I⁻¹ g(t)) / sqrt(s(1-s) t(1-t))`` with g = ∂F/∂θ at
    x = F⁻¹(t) and I the Fisher information per value (Stephens 1976), discretised on
    Gauss–Legendre nodes (Nyström). Without estimation it gives 1/(j(j+1)).
    """
    nodes, weights = np.polynomial.legendre.leggauss(_KERNEL_NODES)
    t = (nodes + 1.0) / 2.0
    w = weights / 2.0
    g = grad(t)
    rho = np.minimum.outer(t, t) - np.outer(t, t) - g @ np.linalg.solve(info, g.T)
    q = np.sqrt(t * (1.0 - t) / w)
    lam = np.linalg.eigvalsh(rho / np.outer(q, q))
    out: FloatArray = np.sort(lam[lam > 1e-12])[::-1]
    return out


def _quadratic_form_sf(x: float, lam: FloatArray) -> float:
    """P(Σ λⱼ χ²₁ > x): Imhof (1961); Zolotarev's tail approximation where it is below 1e-6.

    Eigenvalues beyond the largest ``_IMHOF_TERMS`` enter by their mean (their variance,
    2 Σ λⱼ² ≈ 1e-5, does not move a p-value visibly): a shorter integrand, same values.
    """
    if x <= 0:
        return 1.0
    lam1 = float(lam[0])
    tail = math.exp(-0.5 * float(np.sum(np.log1p(-lam[1:] / lam1)))) * float(
        special.erfc(math.sqrt(x / (2.0 * lam1)))
    )
    if tail < 1e-6:
        return tail
    head = lam[:_IMHOF_TERMS]
    x = x - float(lam[_IMHOF_TERMS:].sum())
    if x <= 0:
        return 1.0
    half_trace = 0.5 * float(head.sum())

    def integrand(u: float) -> float:
        if u == 0.0:
            return half_trace - 0.5 * x
        lu = head * u
        theta = 0.5 * float(np.arctan(lu).sum()) - 0.5 * x * u
        log_rho = 0.25 * float(np.log1p(lu * lu).sum())
        return math.sin(theta) / (u * math.exp(log_rho))

    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore", integrate.IntegrationWarning)
        value, _ = integrate.quad(integrand, 0.0, np.inf, limit=200, epsabs=1e-11)
    return min(1.0, max(0.0, 0.5 + float(value) / math.pi))


def _grad_extreme_value(t: FloatArray) -> FloatArray:
    # smallest extreme value (log of a Weibull), location u and scale b = 1 at w = F⁻¹(t)
    h = -np.log1p(-t)  # exp(w)
    dens = h * (1.0 - t)
    return np.column_stack([-dens, -np.log(h) * dens])


_EULER = float(np.euler_gamma)
#: Fisher information of the smallest extreme value distribution (location, scale), scale 1
_INFO_EXTREME_VALUE = np.array(
    [[1.0, 1.0 - _EULER], [1.0 - _EULER, math.pi**2 / 6.0 + (1.0 - _EULER) ** 2]]
)


@lru_cache(maxsize=1)
def _eigen_extreme_value() -> FloatArray:
    lam = _kernel_eigenvalues(_grad_extreme_value, _INFO_EXTREME_VALUE)
    lam.setflags(write=False)
    return lam


@lru_cache(maxsize=32)
def _eigen_gamma(shape: float) -> FloatArray:
    def grad(t: FloatArray) -> FloatArray:
        x = special.gammaincinv(shape, t)
        dens = np.exp((shape - 1.0) * np.log(x) - x - special.gammaln(shape))
        h = 1e-5 * max(shape, 1.0)
        d_shape = (special.gammainc(shape + h, x) - special.gammainc(shape - h, x)) / (2 * h)
        out: FloatArray = np.column_stack([d_shape, -x * dens])
        return out

    info = np.array([[float(special.polygamma(1, shape)), 1.0], [1.0, shape]])
    lam = _kernel_eigenvalues(grad, info)
    lam.setflags(write=False)
    return lam


def _weibull_pvalue(a2: float, n: int) -> float:
    return _quadratic_form_sf(a2 * (1.0 + 0.2 / math.sqrt(n)), _eigen_extreme_value())


def _gamma_pvalue(a2: float, shape: float) -> float:
    return _quadratic_form_sf(a2, _eigen_gamma(float(shape)))


_PV_NORMAL = "D'Agostino & Stephens (1986) normal formula, A²(1 + 0.75/n + 2.25/n²)"
_PV_TRANSFORM = _PV_NORMAL + "; approximate (transformation estimated)"
_PV_LOGNORMAL = _PV_NORMAL + " on ln x; approximate (ML variance)"
_PV_WEIBULL = "asymptotic, Stephens (1977) modified A²(1 + 0.2/sqrt(n)); approximate"
_PV_GAMMA = "asymptotic (Stephens 1976), shape and scale estimated; approximate"


# --------------------------------------------------------------------------- fits


@dataclass(frozen=True, slots=True)
class _Spec:
    lsl: float | None
    usl: float | None
    target: float | None


@dataclass(frozen=True, slots=True)
class _Indices:
    pp: float | None
    ppl: float | None
    ppu: float | None
    ppk: float | None
    below: float | None
    above: float | None
    extra: dict[str, Any]
    warnings: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Fit:
    method: str
    ad_statistic: float
    ad_pvalue: float
    pvalue_method: str
    params: dict[str, Any]
    indices: _Indices
    warnings: tuple[str, ...] = ()
    qualifies: bool = True  # Johnson: p above the johnson_p criterion
    note: str | None = None


@dataclass(frozen=True, slots=True)
class _Options:
    lam: float | None
    round_lambda: bool
    alpha: float
    johnson_p: float


def _f(v: Any) -> float:
    return float(v)


def _side_outside(side: str, spec: float, what: str) -> str:
    if side == "lsl":
        return (
            f"LSL = {spec:g} lies below every value the {what} allows, so it cannot be "
            "transformed: the expected PPM below LSL is 0 and PPL and Pp are not defined "
            "(Ppk = PPU)."
        )
    return (
        f"USL = {spec:g} lies above every value the {what} allows, so it cannot be "
        "transformed: the expected PPM above USL is 0 and PPU and Pp are not defined "
        "(Ppk = PPL)."
    )


def _transformed_indices(
    y: FloatArray,
    transform: Callable[[float], float],
    spec: _Spec,
    what: str,
) -> _Indices:
    """Normal-theory overall indices of the transformed values ``y`` and transformed specs.

    ``transform`` returns -inf / +inf for a spec below / above the range the model allows.
    """
    mean = _f(y.mean())
    sd = _f(y.std(ddof=1))
    if not (sd > 0 and math.isfinite(sd)):
        raise DataError(
            f"{_FUNC}: the {what} gives transformed values without spread (SD {sd!r}); "
            "capability cannot be computed. Use another method.",
            code="no_spread",
        )
    notes: list[str] = []
    tl = transform(spec.lsl) if spec.lsl is not None else None
    tu = transform(spec.usl) if spec.usl is not None else None
    for name, t, value in (("LSL", tl, spec.lsl), ("USL", tu, spec.usl)):
        if t is None or value is None:
            continue
        beyond = (name == "LSL" and t == math.inf) or (name == "USL" and t == -math.inf)
        if beyond or math.isnan(t):
            where = "above" if name == "LSL" else "below"
            raise DataError(
                f"{_FUNC}: {name} = {value:g} lies {where} every value the {what} allows: every "
                "unit would be out of specification. Check the specification limits or use "
                "another method.",
                code="spec_outside_support",
            )
    ppl = ppu = pp = None
    below = above = None
    if tl is not None and spec.lsl is not None:
        if tl == -math.inf:
            notes.append(_side_outside("lsl", spec.lsl, what))
            below = 0.0
        else:
            ppl = (mean - tl) / (3.0 * sd)
            below = 1e6 * _f(special.ndtr((tl - mean) / sd))
    if tu is not None and spec.usl is not None:
        if tu == math.inf:
            notes.append(_side_outside("usl", spec.usl, what))
            above = 0.0
        else:
            ppu = (tu - mean) / (3.0 * sd)
            above = 1e6 * _f(special.ndtr((mean - tu) / sd))
    if ppl is not None and ppu is not None and tl is not None and tu is not None:
        pp = (tu - tl) / (6.0 * sd)
    sides = [v for v in (ppl, ppu) if v is not None]
    ppk = min(sides) if sides else None
    tt = transform(spec.target) if spec.target is not None else None
    extra: dict[str, Any] = {
        "transformed_lsl": tl,
        "transformed_usl": tu,
        "transformed_target": tt,
        "transformed_mean": mean,
        "transformed_sd": sd,
    }
    return _Indices(pp, ppl, ppu, ppk, below, above, extra, tuple(notes))


def _percentile_indices(dist: Any, spec: _Spec) -> _Indices:
    """ISO 22514-2 percentile indices and the expected PPM of a fitted (frozen scipy) dist."""
    x_lo = _f(dist.ppf(P_TAIL))
    x_med = _f(dist.ppf(0.5))
    x_hi = _f(dist.isf(P_TAIL))
    ppl = ppu = pp = None
    below = above = None
    if spec.lsl is not None:
        ppl = (x_med - spec.lsl) / (x_med - x_lo)
        below = 1e6 * _f(dist.cdf(spec.lsl))
    if spec.usl is not None:
        ppu = (spec.usl - x_med) / (x_hi - x_med)
        above = 1e6 * _f(dist.sf(spec.usl))
    if spec.lsl is not None and spec.usl is not None:
        pp = (spec.usl - spec.lsl) / (x_hi - x_lo)
    sides = [v for v in (ppl, ppu) if v is not None]
    extra = {
        "index_method": "ISO 22514-2 percentiles",
        "x_0_135": x_lo,
        "x_50": x_med,
        "x_99_865": x_hi,
    }
    return _Indices(pp, ppl, ppu, min(sides) if sides else None, below, above, extra, ())


def _fit_normal(xs: FloatArray, spec: _Spec, opts: _Options) -> _Fit:
    """Overall normal-theory indices (sample SD, N - 1): the identity "transformation"."""
    a2 = float(_ad_normal_rows(xs[None, :])[0])
    ix = _transformed_indices(xs, lambda v: v, spec, "normal distribution")
    params = {
        "mean": ix.extra["transformed_mean"],
        "sd": ix.extra["transformed_sd"],
        "sigma_method": "sample SD (N - 1)",
    }
    indices = _Indices(ix.pp, ix.ppl, ix.ppu, ix.ppk, ix.below, ix.above, {}, ())
    return _Fit("normal", a2, ad_normal_pvalue(a2, xs.size), _PV_NORMAL, params, indices)


# ----- Box–Cox


def _boxcox_objective(lam: float, d: FloatArray) -> float:
    """log of the variance of the normalised Box–Cox transform of x (d = ln x - mean ln x).

    The profile log-likelihood of λ is ``-n ln(ġ) - (n/2) * this`` (ġ: geometric mean), so its
    minimum is the maximum likelihood λ; also Minitab's "smallest SD of the standardised
    transformed values" (there with the overall SD).
    """
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if lam == 0.0:
            v = _f(np.var(d))
            return math.log(v) if v > 0 else math.inf
        if abs(lam) < 0.5:
            v = _f(np.var(np.expm1(lam * d) / lam))
            return math.log(v) if v > 0 and math.isfinite(v) else math.inf
        shift = _f(d.max()) if lam > 0 else _f(d.min())
        v = _f(np.var(np.exp(lam * (d - shift))))
    if not (v > 0 and math.isfinite(v)):
        return math.inf
    return math.log(v) + 2.0 * lam * shift - 2.0 * math.log(abs(lam))


def boxcox_lambda(x: Any) -> float:
    """Maximum likelihood Box–Cox λ of positive values, searched in [-5, 5] (Minitab's range).

    A grid of step 0.5 locates the optimum, bounded Brent refines it (``xatol`` 1e-10).

    Examples
    --------
    Values whose logarithms are symmetric have λ = 0 (the likelihood is even in λ):

    >>> import numpy as np
    >>> round(boxcox_lambda(np.exp([-1.0, -0.3, 0.0, 0.2, 0.3, -0.2, 1.0])), 8) + 0.0
    0.0
    """
    arr = as_float_array(x, "x", "boxcox_lambda", nan_policy=None)
    _require_positive(arr, "boxcox", "boxcox_lambda")
    if arr.size < 2 or arr.min() == arr.max():
        raise DataError(
            f"boxcox_lambda needs at least 2 different values; got {arr.size} value(s) "
            "without spread.",
            code="no_spread",
        )
    logs = np.log(arr)
    return _boxcox_mle(logs - logs.mean())


def _boxcox_mle(d: FloatArray) -> float:
    lo, hi = LAMBDA_BOUNDS
    grid = np.linspace(lo, hi, 21)
    values = np.array([_boxcox_objective(float(g), d) for g in grid])
    i = int(np.argmin(values))
    a, b = float(grid[max(i - 1, 0)]), float(grid[min(i + 1, grid.size - 1)])
    res = optimize.minimize_scalar(
        lambda v: _boxcox_objective(float(v), d),
        bounds=(a, b),
        method="bounded",
        options={"xatol": 1e-10},
    )
    best = float(res.x)
    # the bounded search never evaluates its end points: keep a grid end point that is better
    if values[i] < _boxcox_objective(best, d):
        best = float(grid[i])
    return best


#: below this |λ| the Box-Cox transform uses its series ln v (1 + λ ln v / 2)
_TINY_LAMBDA = 1e-8


def _boxcox_transform(lam: float) -> Callable[[float], float]:
    def transform(v: float) -> float:
        if v <= 0:
            return -math.inf
        log_v = math.log(v)
        if abs(lam) < _TINY_LAMBDA:
            # series of expm1(λ ln v)/λ: exact in doubles where λ·ln v underflows
            return log_v * (1.0 + 0.5 * lam * log_v)
        return math.expm1(lam * log_v) / lam

    return transform


def _fit_boxcox(xs: FloatArray, spec: _Spec, opts: _Options) -> _Fit:
    logs = np.log(xs)
    notes: list[str] = []
    lam_mle: float | None = None
    if opts.lam is not None:
        lam = opts.lam
        source = "given"
    else:
        lam_mle = _boxcox_mle(logs - logs.mean())
        lam = lam_mle
        source = "mle"
        if lam_mle in LAMBDA_BOUNDS or abs(abs(lam_mle) - 5.0) < 1e-6:
            notes.append(
                f"The Box-Cox lambda is at the end of its search range [-5, 5] ({lam_mle:g}): "
                "the power transformation does not suit these data well. Try the Johnson "
                "transformation or a distribution fit."
            )
        if opts.round_lambda:
            lam = math.floor(2.0 * lam_mle + 0.5) / 2.0
            source = "mle_rounded"
    with np.errstate(over="ignore", invalid="ignore"):
        y = (
            logs * (1.0 + 0.5 * lam * logs)
            if abs(lam) < _TINY_LAMBDA
            else np.expm1(lam * logs) / lam
        )
    if not np.all(np.isfinite(y)):
        raise DataError(
            f"{_FUNC}: the Box-Cox transformation with lambda = {lam:g} overflows for these "
            "values. Use a smaller |lambda| or the Johnson transformation.",
            code="overflow",
        )
    a2 = float(_ad_normal_rows(y[None, :])[0])
    indices = _transformed_indices(y, _boxcox_transform(lam), spec, "Box-Cox transformation")
    params = {
        "lambda": lam,
        "lambda_mle": lam_mle,
        "lambda_source": source,
        "transformation": "ln(x)" if lam == 0.0 else "(x**lambda - 1)/lambda",
    }
    return _Fit(
        "boxcox",
        a2,
        ad_normal_pvalue(a2, xs.size),
        _PV_TRANSFORM,
        params,
        indices,
        tuple(notes) + indices.warnings,
    )


# ----- Johnson


_SB, _SL, _SU = 0, 1, 2
_FAMILY_NAMES = ("SB", "SL", "SU")


def _johnson_parameters(
    xm3: FloatArray, xm1: FloatArray, xp1: FloatArray, xp3: FloatArray, z: FloatArray
) -> tuple[FloatArray, ...]:
    """Candidate Johnson transformations from the quantiles at -3z, -z, z, 3z.

    Slifker & Shapiro (1980) with m = x(3z) - x(z), n = x(-z) - x(-3z), p = x(z) - x(-z): the
    family indicated by mn/p² (SB below 1, SU above 1) and the SL form, for every z. Returns
    arrays ``family, gamma, eta, epsilon, lambda, z, ratio`` of the valid candidates
    (η > 0, λ > 0, finite).
    """
    m = xp3 - xp1
    n = xm1 - xm3
    p = xp1 - xm1
    centre = 0.5 * (xp1 + xm1)
    with np.errstate(all="ignore"):
        mp, np_ = m / p, n / p
        ratio = mp * np_
        # SU
        eta_u = 2.0 * z / np.arccosh(0.5 * (mp + np_))
        gam_u = eta_u * np.arcsinh((np_ - mp) / (2.0 * np.sqrt(ratio - 1.0)))
        lam_u = 2.0 * p * np.sqrt(ratio - 1.0) / ((mp + np_ - 2.0) * np.sqrt(mp + np_ + 2.0))
        eps_u = centre + p * (np_ - mp) / (2.0 * (mp + np_ - 2.0))
        # SB
        pm, pn = p / m, p / n
        prod = (1.0 + pm) * (1.0 + pn)
        eta_b = z / np.arccosh(0.5 * np.sqrt(prod))
        gam_b = eta_b * np.arcsinh((pn - pm) * np.sqrt(prod - 4.0) / (2.0 * (pm * pn - 1.0)))
        lam_b = p * np.sqrt((prod - 2.0) ** 2 - 4.0) / (pm * pn - 1.0)
        eps_b = centre - 0.5 * lam_b + p * (pn - pm) / (2.0 * (pm * pn - 1.0))
        # SL
        eta_l = 2.0 * z / np.log(mp)
        gam_l = eta_l * np.log((mp - 1.0) / (p * np.sqrt(mp)))
        eps_l = centre - 0.5 * p * (mp + 1.0) / (mp - 1.0)
    bounded = ratio < 1.0
    fam_q = np.where(bounded, _SB, _SU)
    family = np.concatenate([fam_q, np.full(z.size, _SL)])
    gamma = np.concatenate([np.where(bounded, gam_b, gam_u), gam_l])
    eta = np.concatenate([np.where(bounded, eta_b, eta_u), eta_l])
    eps = np.concatenate([np.where(bounded, eps_b, eps_u), eps_l])
    lam = np.concatenate([np.where(bounded, lam_b, lam_u), np.ones(z.size)])
    zz = np.concatenate([z, z])
    rr = np.concatenate([ratio, ratio])
    ok = np.isfinite(gamma) & np.isfinite(eta) & np.isfinite(eps) & np.isfinite(lam)
    ok &= (eta > 0) & (lam > 0)
    return family[ok], gamma[ok], eta[ok], eps[ok], lam[ok], zz[ok], rr[ok]


def _johnson_apply(
    family: FloatArray | int,
    gamma: FloatArray | float,
    eta: FloatArray | float,
    eps: FloatArray | float,
    lam: FloatArray | float,
    x: FloatArray,
) -> FloatArray:
    """γ + η f(x; ε, λ) for each candidate (rows) and value (columns); -inf/+inf outside.

    Below ε (SB, SL) the result is -inf, above ε + λ (SB) +inf: the value cannot be transformed.
    """
    fam = np.atleast_1d(np.asarray(family))
    g = np.atleast_1d(np.asarray(gamma, dtype=np.float64))[:, None]
    e = np.atleast_1d(np.asarray(eta, dtype=np.float64))[:, None]
    lo = np.atleast_1d(np.asarray(eps, dtype=np.float64))[:, None]
    sc = np.atleast_1d(np.asarray(lam, dtype=np.float64))[:, None]
    out: FloatArray = np.empty((fam.size, x.size))
    with np.errstate(divide="ignore", invalid="ignore"):
        for code in (_SB, _SL, _SU):  # three families, each on whole arrays
            rows = np.flatnonzero(fam == code)
            if rows.size == 0:
                continue
            u = x - lo[rows]
            if code == _SU:
                core = np.arcsinh(u / sc[rows])
            elif code == _SL:
                core = np.where(u > 0, np.log(u), -np.inf)
            else:
                w = sc[rows] - u
                core = np.log(u) - np.log(w)
                core = np.where(u <= 0, -np.inf, np.where(w <= 0, np.inf, core))
            out[rows] = g[rows] + e[rows] * core
    return out


def _johnson_search(xs: FloatArray) -> tuple[dict[str, Any], float, int, bool]:
    """The Johnson transformation with the smallest normality A² (largest p-value)."""
    n = xs.size
    z = JOHNSON_Z
    probs = special.ndtr(np.concatenate([-3.0 * z, -z, z, 3.0 * z]))
    q = np.quantile(xs, probs, method="hazen").reshape(4, z.size)
    fam, gam, eta, eps, lam, zz, rr = _johnson_parameters(q[0], q[1], q[2], q[3], z)
    lo_x, hi_x = xs[0], xs[-1]
    inside = (fam == _SU) | ((eps < lo_x) & ((fam == _SL) | (eps + lam > hi_x)))
    fam, gam, eta, eps, lam, zz, rr = (a[inside] for a in (fam, gam, eta, eps, lam, zz, rr))
    if fam.size == 0:
        raise DataError(
            f"{_FUNC}: no Johnson transformation fits these data (the quantiles give no valid "
            "SB, SL or SU parameters, e.g. because of many tied values). Use a distribution "
            "fit or method='auto'.",
            code="no_fit",
        )
    screened = n > _JOHNSON_SCREEN
    if screened:
        pick = np.round(np.linspace(0, n - 1, _JOHNSON_SCREEN)).astype(np.int64)
        y = _johnson_apply(fam, gam, eta, eps, lam, xs[pick])
        a2_screen = _ad_normal_rows(y)
        a2_screen = np.where(np.isfinite(a2_screen), a2_screen, np.inf)
        keep = np.argsort(a2_screen, kind="stable")[:_JOHNSON_KEEP]
        fam, gam, eta, eps, lam, zz, rr = (a[keep] for a in (fam, gam, eta, eps, lam, zz, rr))
    a2 = np.empty(fam.size)
    step = max(1, (1 << 21) // n)
    for lo in range(0, fam.size, step):  # blocks of candidates: bounded memory
        hi = lo + step
        y = _johnson_apply(fam[lo:hi], gam[lo:hi], eta[lo:hi], eps[lo:hi], lam[lo:hi], xs)
        a2[lo:hi] = _ad_normal_rows(y)
    a2 = np.where(np.isfinite(a2), a2, np.inf)
    best = int(np.argmin(a2))
    if not math.isfinite(float(a2[best])):
        raise DataError(
            f"{_FUNC}: no Johnson transformation gives usable transformed values. Use a "
            "distribution fit or method='auto'.",
            code="no_fit",
        )
    family = int(fam[best])
    chosen = {
        "family": _FAMILY_NAMES[family],
        "gamma": float(gam[best]),
        "eta": float(eta[best]),
        "epsilon": float(eps[best]),
        "lambda": None if family == _SL else float(lam[best]),
        "z": float(zz[best]),
        "quantile_ratio": float(rr[best]),
        "_code": family,
        "_lam": float(lam[best]),
    }
    return chosen, float(a2[best]), int(inside.sum()), screened


_JOHNSON_FORMS = {
    "SB": "gamma + eta * ln((x - epsilon) / (lambda + epsilon - x))",
    "SL": "gamma + eta * ln(x - epsilon)",
    "SU": "gamma + eta * asinh((x - epsilon) / lambda)",
}


def _fit_johnson(xs: FloatArray, spec: _Spec, opts: _Options, *, required: bool) -> _Fit:
    chosen, a2, tried, screened = _johnson_search(xs)
    code, lam_ = chosen.pop("_code"), chosen.pop("_lam")
    g, e, eps = chosen["gamma"], chosen["eta"], chosen["epsilon"]
    p = ad_normal_pvalue(a2, xs.size)
    qualifies = p > opts.johnson_p
    name = f"Johnson {chosen['family']} (z = {chosen['z']:.2f})"
    if not qualifies and required:
        raise DataError(
            f"{_FUNC}: no Johnson transformation makes these data normal enough: the best, "
            f"{name}, has Anderson-Darling p = {p:.4g}, not above johnson_p = "
            f"{opts.johnson_p:g} (Minitab's criterion is 0.10). Try method='auto' or a "
            "distribution fit (method='weibull', 'gamma', 'lognormal'), or lower johnson_p "
            "to accept it anyway.",
            code="no_fit",
        )
    y = _johnson_apply(code, g, e, eps, lam_, xs)[0]

    def transform(v: float) -> float:
        return float(_johnson_apply(code, g, e, eps, lam_, np.array([v]))[0, 0])

    what = f"{name} transformation"
    indices = _transformed_indices(y, transform, spec, what)
    support = [
        eps if code != _SU else None,
        eps + lam_ if code == _SB else None,
    ]
    params = {
        **chosen,
        "transformation": _JOHNSON_FORMS[chosen["family"]],
        "support": support,
        "p_criterion": opts.johnson_p,
        "transformations_tried": tried,
        "screened": screened,
    }
    note = None
    if not qualifies:
        note = (
            f"no Johnson transformation has AD p above johnson_p = {opts.johnson_p:g}; "
            f"the best ({name}) has p = {p:.4g}"
        )
    return _Fit(
        "johnson",
        a2,
        p,
        _PV_TRANSFORM,
        params,
        indices,
        indices.warnings,
        qualifies=qualifies,
        note=note,
    )


# ----- distributions


def _fit_lognormal(xs: FloatArray, spec: _Spec, opts: _Options) -> _Fit:
    logs = np.log(xs)
    mu = _f(logs.mean())
    sigma = _f(np.sqrt(np.mean((logs - mu) ** 2)))  # maximum likelihood (N)
    _check_scale(sigma, "lognormal")
    dist = stats.lognorm(s=sigma, scale=math.exp(mu))
    w = (logs - mu) / sigma
    a2 = _ad_from_logs(special.log_ndtr(w), special.log_ndtr(-w))
    params = {"mu": mu, "sigma": sigma, "scale": math.exp(mu), "threshold": 0.0}
    return _Fit(
        "lognormal",
        a2,
        ad_normal_pvalue(a2, xs.size),
        _PV_LOGNORMAL,
        params,
        _percentile_indices(dist, spec),
    )


def _check_scale(value: float, what: str) -> None:
    if not (math.isfinite(value) and value > 0):
        raise DataError(
            f"{_FUNC}: the {what} fit failed (parameter {value!r}); the data may have too "
            "little spread. Use another method.",
            code="no_fit",
        )


def weibull_mle(x: Any) -> tuple[float, float]:
    """Maximum likelihood (shape, scale) of a two-parameter Weibull distribution (threshold 0).

    The shape k solves ``Σ xᵏ ln x / Σ xᵏ - 1/k - mean(ln x) = 0`` (increasing in k; Brent's
    root finder on values scaled by their maximum, so xᵏ cannot overflow), the scale is
    ``mean(xᵏ)^(1/k)``. Agrees with ``scipy.stats.weibull_min.fit(x, floc=0)``.

    Examples
    --------
    >>> k, s = weibull_mle([1.2, 0.8, 2.1, 1.5, 0.4, 1.9, 1.1, 0.9, 1.6, 1.3])
    >>> round(k, 4), round(s, 4)
    (2.8893, 1.4371)
    """
    arr = as_float_array(x, "x", "weibull_mle", nan_policy=None)
    _require_positive(arr, "weibull", "weibull_mle")
    top = _f(arr.max())
    logs = np.log(arr / top)  # <= 0
    mean_log = _f(logs.mean())
    if mean_log == 0.0:
        raise DataError("weibull_mle needs values with spread; all are equal.", code="no_spread")

    def h(log_k: float) -> float:
        k = math.exp(log_k)
        wts = np.exp(k * logs)
        return _f(wts @ logs / wts.sum()) - 1.0 / k - mean_log

    lo, hi = 0.0, 0.0
    for _ in range(60):  # h -> -inf as k -> 0 and -> -mean(ln x) > 0 as k -> inf
        if h(lo) <= 0:
            break
        lo -= 1.0
    for _ in range(60):
        if h(hi) >= 0:
            break
        hi += 1.0
    if not h(lo) <= 0 <= h(hi):
        raise DataError(
            "weibull_mle: the shape equation has no root for these values.", code="no_fit"
        )
    shape = math.exp(optimize.brentq(h, lo, hi, xtol=1e-14, rtol=4 * np.finfo(float).eps))
    scale = top * _f(np.mean(np.exp(shape * logs))) ** (1.0 / shape)
    return shape, scale


def gamma_mle(x: Any) -> tuple[float, float]:
    """Maximum likelihood (shape, scale) of a two-parameter gamma distribution (threshold 0).

    The shape k solves ``ln k - ψ(k) = ln(mean x) - mean(ln x)`` (Newton's method from the
    closed-form start of Choi & Wette 1969 / Minka 2002), the scale is ``mean(x)/k``. Agrees
    with ``scipy.stats.gamma.fit(x, floc=0)``.

    Examples
    --------
    >>> k, s = gamma_mle([1.2, 0.8, 2.1, 1.5, 0.4, 1.9, 1.1, 0.9, 1.6, 1.3])
    >>> round(k, 4), round(s, 4)
    (5.631, 0.2273)
    """
    arr = as_float_array(x, "x", "gamma_mle", nan_policy=None)
    _require_positive(arr, "gamma", "gamma_mle")
    mean = _f(arr.mean())
    s = math.log(mean) - _f(np.log(arr).mean())
    if not s > 0:
        raise DataError("gamma_mle needs values with spread; all are equal.", code="no_spread")
    k = (3.0 - s + math.sqrt((s - 3.0) ** 2 + 24.0 * s)) / (12.0 * s)
    for _ in range(100):  # Newton on a convex decreasing function: converges in a few steps
        f = math.log(k) - _f(special.digamma(k)) - s
        step = f / (1.0 / k - _f(special.polygamma(1, k)))
        k_new = k - step
        if k_new <= 0:
            k_new = k / 2.0
        if abs(k_new - k) <= 1e-15 * k:
            k = k_new
            break
        k = k_new
    return k, mean / k


def _fit_weibull(xs: FloatArray, spec: _Spec, opts: _Options) -> _Fit:
    shape, scale = weibull_mle(xs)
    _check_scale(shape, "Weibull")
    dist = stats.weibull_min(c=shape, scale=scale)
    u = (xs / scale) ** shape
    with np.errstate(divide="ignore"):
        log_cdf = np.log(-np.expm1(-u))
    a2 = _ad_from_logs(log_cdf, -u)
    params = {"shape": shape, "scale": scale, "threshold": 0.0}
    return _Fit(
        "weibull",
        a2,
        _weibull_pvalue(a2, xs.size),
        _PV_WEIBULL,
        params,
        _percentile_indices(dist, spec),
    )


def _fit_gamma(xs: FloatArray, spec: _Spec, opts: _Options) -> _Fit:
    shape, scale = gamma_mle(xs)
    _check_scale(shape, "gamma")
    dist = stats.gamma(a=shape, scale=scale)
    u = xs / scale
    with np.errstate(divide="ignore"):
        log_cdf = np.log(special.gammainc(shape, u))
        log_sf = np.log(special.gammaincc(shape, u))
    a2 = _ad_from_logs(log_cdf, log_sf)
    params = {"shape": shape, "scale": scale, "threshold": 0.0}
    return _Fit(
        "gamma",
        a2,
        _gamma_pvalue(a2, shape),
        _PV_GAMMA,
        params,
        _percentile_indices(dist, spec),
    )


_FITTERS: dict[str, Callable[[FloatArray, _Spec, _Options], _Fit]] = {
    "normal": _fit_normal,
    "boxcox": _fit_boxcox,
    "lognormal": _fit_lognormal,
    "weibull": _fit_weibull,
    "gamma": _fit_gamma,
}


def _run(name: str, xs: FloatArray, spec: _Spec, opts: _Options, *, required: bool) -> _Fit:
    if name == "johnson":
        return _fit_johnson(xs, spec, opts, required=required)
    return _FITTERS[name](xs, spec, opts)


# --------------------------------------------------------------------------- checks


def _require_positive(arr: FloatArray, method: str, func: str) -> None:
    bad = np.flatnonzero(arr <= 0)
    if bad.size:
        first = int(bad[0])
        more = f" (and {bad.size - 1} more)" if bad.size > 1 else ""
        what = {
            "boxcox": "The Box-Cox transformation",
            "lognormal": "The lognormal distribution",
            "weibull": "The 2-parameter Weibull distribution",
            "gamma": "The 2-parameter gamma distribution",
        }[method]
        raise DataError(
            f"{func}: {what} needs values > 0; found {float(arr[first])!r} at index {first}{more}. "
            "Use method='johnson' (any real values) or method='auto'.",
            index=first,
            code="not_positive",
        )


def _check_specs(lsl: Any, usl: Any, target: Any) -> _Spec:
    lo = None if lsl is None else check_finite_scalar(lsl, "lsl", _FUNC)
    hi = None if usl is None else check_finite_scalar(usl, "usl", _FUNC)
    tg = None if target is None else check_finite_scalar(target, "target", _FUNC)
    if lo is None and hi is None:
        raise ParameterError(
            f"{_FUNC} needs at least one specification limit: give 'lsl', 'usl' or both. "
            "Got neither."
        )
    if lo is not None and hi is not None and not lo < hi:
        raise ParameterError(
            f"The 'lsl' parameter of {_FUNC} must be below 'usl'. Got lsl={lsl!r}, usl={usl!r}."
        )
    return _Spec(lo, hi, tg)


def _check_options(
    method: Any, lam: Any, round_lambda: Any, alpha: Any, johnson_p: Any
) -> tuple[str, _Options]:
    if not isinstance(method, str) or method.lower() not in METHODS:
        raise ParameterError(
            f"The 'method' parameter of {_FUNC} must be one of {', '.join(METHODS)}. "
            f"Got {method!r}."
        )
    name = method.lower()
    lam_v: float | None = None
    if lam is not None:
        if name not in ("boxcox", "auto"):
            raise ParameterError(
                f"The 'lam' parameter of {_FUNC} applies to method='boxcox' (or the Box-Cox "
                f"candidate of 'auto'). Got lam={lam!r} with method={method!r}."
            )
        lam_v = check_finite_scalar(lam, "lam", _FUNC)
        if not LAMBDA_BOUNDS[0] <= lam_v <= LAMBDA_BOUNDS[1]:
            raise ParameterError(
                f"The 'lam' parameter of {_FUNC} must be in [-5, 5] (Minitab's range). Got {lam!r}."
            )
    if not isinstance(round_lambda, (bool, np.bool_)):
        raise ParameterError(
            f"The 'round_lambda' parameter of {_FUNC} must be True or False. Got {round_lambda!r}."
        )
    if round_lambda and lam_v is not None:
        raise ParameterError(
            f"{_FUNC}: give either a fixed 'lam' or round_lambda=True (which rounds the "
            f"estimated lambda), not both. Got lam={lam!r}, round_lambda=True."
        )
    a = check_finite_scalar(alpha, "alpha", _FUNC)
    if not 0 < a < 1:
        raise ParameterError(f"The 'alpha' parameter of {_FUNC} must be in (0, 1). Got {alpha!r}.")
    jp = check_finite_scalar(johnson_p, "johnson_p", _FUNC)
    if not 0 <= jp < 1:
        raise ParameterError(
            f"The 'johnson_p' parameter of {_FUNC} must be in [0, 1). Got {johnson_p!r}."
        )
    return name, _Options(lam_v, bool(round_lambda), a, jp)


# --------------------------------------------------------------------------- main


def _candidate(fit: _Fit, opts: _Options) -> dict[str, Any]:
    ix = fit.indices
    sides = [v for v in (ix.below, ix.above) if v is not None]
    acceptable = fit.ad_pvalue >= opts.alpha and fit.qualifies
    return {
        "method": fit.method,
        "status": "fitted",
        "message": fit.note,
        "ad_statistic": fit.ad_statistic,
        "ad_pvalue": fit.ad_pvalue,
        "pvalue_method": fit.pvalue_method,
        "acceptable": acceptable,
        "rank": None,
        "pp": ix.pp,
        "ppk": ix.ppk,
        "ppm_total": sum(sides) if sides else None,
        "params": {k: v for k, v in fit.params.items() if not k.startswith("_")},
        "warnings": list(fit.warnings),
    }


def _result(
    fit: _Fit,
    spec: _Spec,
    arr: FloatArray,
    candidates: list[dict[str, Any]],
    warnings: Sequence[str],
    extra: dict[str, Any] | None = None,
) -> NonNormalCapability:
    ix = fit.indices
    n = arr.size
    sides = [v for v in (ix.below, ix.above) if v is not None]
    ppm = {"below_lsl": ix.below, "above_usl": ix.above, "total": sum(sides) if sides else None}
    observed: dict[str, float | None] = {"below_lsl": None, "above_usl": None}
    if spec.lsl is not None:
        observed["below_lsl"] = 1e6 * np.count_nonzero(arr < spec.lsl) / n
    if spec.usl is not None:
        observed["above_usl"] = 1e6 * np.count_nonzero(arr > spec.usl) / n
    obs_sides = [v for v in observed.values() if v is not None]
    observed["total"] = sum(obs_sides)
    details: dict[str, Any] = {
        "method": fit.method,
        **fit.params,
        **ix.extra,
        "ad_statistic": fit.ad_statistic,
        "ad_pvalue": fit.ad_pvalue,
        "pvalue_method": fit.pvalue_method,
        "ppm_observed": observed,
    }
    if extra:
        details.update(extra)
    all_warnings = list(warnings) + [w for w in fit.warnings if w not in warnings]
    return NonNormalCapability(
        method=fit.method,
        pp=ix.pp,
        ppl=ix.ppl,
        ppu=ix.ppu,
        ppk=ix.ppk,
        ppm_overall=ppm,
        details=details,
        candidates=candidates,
        warnings=tuple(all_warnings),
        n=n,
        lsl=spec.lsl,
        usl=spec.usl,
        target=spec.target,
    )


def _auto(
    arr: FloatArray, xs: FloatArray, spec: _Spec, opts: _Options, warnings: list[str]
) -> NonNormalCapability:
    fits: list[_Fit] = []
    others: list[dict[str, Any]] = []
    positive = bool(xs[0] > 0)
    for name in _AUTO_ORDER:
        if name in _POSITIVE_ONLY and not positive:
            others.append(
                {
                    "method": name,
                    "status": "skipped",
                    "message": f"needs values > 0; the smallest is {float(xs[0]):.6g}",
                }
            )
            continue
        try:
            fits.append(_run(name, xs, spec, opts, required=False))
        except DataError as exc:
            others.append({"method": name, "status": "failed", "message": str(exc)})
    if not fits:
        reasons = "; ".join(f"{c['method']}: {c['message']}" for c in others)
        raise DataError(f"{_FUNC}: no method could be fitted ({reasons}).", code="no_fit")
    cands = {id(f): _candidate(f, opts) for f in fits}
    if any(c["acceptable"] for c in cands.values()):
        # the simplest acceptable model: fewer estimated parameters first (see module notes)
        good = [f for f in fits if cands[id(f)]["acceptable"]]
        poor = [f for f in fits if not cands[id(f)]["acceptable"]]
        ranked = sorted(good, key=lambda f: (_TIERS[f.method], -f.ad_pvalue, f.ad_statistic))
        ranked += sorted(poor, key=lambda f: (-f.ad_pvalue, f.ad_statistic))
        rule = "normal" if ranked[0].method == "normal" else "acceptable"
    else:
        ranked = sorted(fits, key=lambda f: (-f.ad_pvalue, f.ad_statistic))
        rule = "best_of_poor"
    best = ranked[0]
    if rule == "best_of_poor":
        warnings.append(
            f"No method fits these data well (AD p-value >= {opts.alpha:g}): the best is "
            f"{_TITLES[best.method]} with p = {best.ad_pvalue:.3g}. The capability figures are "
            "doubtful; look for causes (mixtures, outliers, a shifting process) first."
        )
    candidates = []
    for rank, f in enumerate(ranked, start=1):
        c = cands[id(f)]
        c["rank"] = rank
        candidates.append(c)
    candidates.extend(others)
    extra = {
        "selection": {
            "rule": (
                "acceptable: AD p >= alpha (Johnson also p > johnson_p); the first tier with "
                "an acceptable candidate (normal; lognormal/Weibull/gamma; Box-Cox; Johnson), "
                "within it the largest p, ties by the smaller A²; none acceptable: the "
                "largest p (warning)"
            ),
            "outcome": rule,
            "alpha": opts.alpha,
            "johnson_p": opts.johnson_p,
        }
    }
    return _result(best, spec, arr, candidates, warnings, extra)


def capability_nonnormal(
    x: Any,
    lsl: float | None = None,
    usl: float | None = None,
    target: float | None = None,
    method: str = "auto",
    *,
    lam: float | None = None,
    round_lambda: bool = False,
    alpha: float = 0.05,
    johnson_p: float = 0.10,
    nan_policy: str = "raise",
) -> NonNormalCapability:
    """Overall capability (Pp, PPL, PPU, Ppk, expected PPM) of non-normal data.

    See the module documentation for the methods, the goodness-of-fit p-values and the rule of
    ``method="auto"``.

    Parameters
    ----------
    x : array_like
        Individual values (at least 10; a warning under 30).
    lsl, usl : float or None
        Specification limits; at least one, ``lsl < usl``.
    target : float or None
        Echoed; transformed along with the specs by the transformation methods (no index here
        uses it: Cpm is a normal-theory index).
    method : {"auto", "boxcox", "johnson", "lognormal", "weibull", "gamma", "normal"}
    lam : float, optional
        Fixed Box–Cox λ in [-5, 5] (``method="boxcox"`` or the Box–Cox candidate of ``"auto"``).
    round_lambda : bool
        Round the estimated Box–Cox λ to the nearest 0.5 (Minitab's "use rounded values").
    alpha : float
        ``"auto"``: a candidate with AD p-value ≥ ``alpha`` fits acceptably.
    johnson_p : float
        The Johnson transformation is used only if its AD p-value exceeds this (Minitab: 0.10).
        With ``method="johnson"`` a :class:`DataError` says so otherwise.
    nan_policy : {"raise", "omit"}
        Missing values (NaN) are an error, or are left out.

    Returns
    -------
    NonNormalCapability

    Raises
    ------
    ParameterError
        Bad method, specs, λ or thresholds.
    DataError
        Non-finite values, fewer than 10 values, no spread, values ≤ 0 for a method that needs
        positive values, no Johnson transformation good enough, a spec beyond every value the
        model allows.

    Examples
    --------
    Lognormal-shaped values (exact quantiles of LN(0, 0.5²)) with an upper specification:

    >>> import numpy as np
    >>> from scipy import stats
    >>> x = np.exp(0.5 * stats.norm.ppf((np.arange(1, 101) - 0.5) / 100))
    >>> res = capability_nonnormal(x, usl=4.5, method="lognormal")
    >>> round(res.ppk, 4), round(res.ppm_overall["above_usl"], 1)
    (1.0177, 1233.2)
    >>> res.ppl is None and res.pp is None
    True

    ``"auto"`` recommends the simplest acceptable model and reports every candidate:

    >>> res = capability_nonnormal(x, lsl=0.2, usl=4.5)
    >>> res.method, round(res.ppk, 4)
    ('lognormal', 1.0177)
    >>> [(c["method"], c["acceptable"]) for c in res.candidates][:4]
    [('lognormal', True), ('gamma', True), ('boxcox', True), ('johnson', True)]

    Box–Cox: λ by maximum likelihood (0 here: the logarithms are symmetric):

    >>> res = capability_nonnormal(x, lsl=0.2, usl=4.5, method="boxcox")
    >>> round(res.details["lambda"], 6) + 0.0, round(res.ppk, 4)
    (0.0, 1.0041)
    """
    check_nan_policy(nan_policy)
    name, opts = _check_options(method, lam, round_lambda, alpha, johnson_p)
    spec = _check_specs(lsl, usl, target)
    arr = as_float_array(x, "x", _FUNC, nan_policy=nan_policy)
    if nan_policy == "omit":
        keep = ~np.isnan(arr)
        if name in _POSITIVE_ONLY:
            _require_positive(np.where(keep, arr, 1.0), name, _FUNC)  # index in the input
        arr = arr[keep]
    elif name in _POSITIVE_ONLY:
        _require_positive(arr, name, _FUNC)
    n = arr.size
    if n < MIN_VALUES:
        raise DataError(
            f"{_FUNC} needs at least {MIN_VALUES} values to fit a distribution; got {n}. "
            "Collect more data (30 or more; 100 for a reliable fit).",
            code="empty" if n == 0 else "too_few",
        )
    xs = np.sort(arr)
    if xs[0] == xs[-1]:
        raise DataError(
            f"{_FUNC} needs values with spread; all {n} values equal {float(xs[0])!r}. "
            "Check the gauge resolution or the data.",
            code="no_spread",
        )
    warnings: list[str] = []
    if n < FEW_VALUES:
        warnings.append(
            f"Only {n} values: the fit and its goodness-of-fit test are uncertain and the "
            f"tail-based indices may be far off. Use {FEW_VALUES} or more (100 or more for a "
            "reliable fit)."
        )
    if name == "auto":
        return _auto(arr, xs, spec, opts, warnings)
    fit = _run(name, xs, spec, opts, required=True)
    cand = _candidate(fit, opts)
    cand["rank"] = 1
    if not cand["acceptable"]:
        warnings.append(
            f"The {_TITLES[name]} fit is poor (Anderson-Darling p = {fit.ad_pvalue:.3g} < "
            f"{opts.alpha:g}): the capability figures may be misleading. Try method='auto'."
        )
    return _result(fit, spec, arr, [cand], warnings)
