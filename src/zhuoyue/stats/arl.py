"""Average run lengths (ARL) of Shewhart, CUSUM and EWMA charts for individual N(μ, 1) values.

Used to design charts (how quickly a shift of ``shift`` standard deviations is detected; how
often a stable process raises a false alarm, ``ARL0``). Zero-state ARLs by the Nyström method:
the integral equation of the ARL function is discretized with Gauss–Legendre nodes (Brook &
Evans 1972; Crowder 1987; Lucas & Saccucci 1990), as in R's ``spc`` package.

* CUSUM, one-sided upper ``S = max(0, S + x - k)``, signal ``S > h``:
  ``L(u) = 1 + L(0) Φ(k - u - μ) + ∫₀ʰ L(y) φ(y + k - u - μ) dy``.
  Two-sided: ``1/ARL = 1/ARL⁺(μ) + 1/ARL⁺(-μ)`` (Lucas & Crosier 1982; as ``spc``).
* EWMA with asymptotic ("fixed") limits ``±c``, ``c = L sqrt(λ/(2-λ))``:
  ``L(z) = 1 + (1/λ) ∫₋꜀ᶜ L(y) φ((y - (1-λ)z)/λ - μ) dy``. With the exact time-varying limits
  (``limits="vacl"``, zhuoyue's chart default) the density of the statistic is propagated
  through the first steps, until the limits equal the asymptotic ones to 1e-12, and the fixed-limit
  ARL function finishes the sum.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import special

from zhuoyue.errors import ParameterError

__all__ = ["arl_cusum", "arl_ewma", "arl_shewhart"]

FloatArray = npt.NDArray[np.float64]
_SQRT2PI = np.sqrt(2.0 * np.pi)


def _phi(x: FloatArray) -> FloatArray:
    return np.asarray(np.exp(-0.5 * x * x) / _SQRT2PI)


def _nodes(a: float, b: float, r: int) -> tuple[FloatArray, FloatArray]:
    x, w = special.roots_legendre(r)
    half = (b - a) / 2.0
    return half * x + (a + b) / 2.0, half * w


def _shifts(shift: npt.ArrayLike) -> FloatArray:
    mu = np.asarray(shift, dtype=np.float64)
    if not np.all(np.isfinite(mu)):
        raise ParameterError(f"The 'shift' parameter must be finite. Got {shift!r}.")
    return mu


def arl_shewhart(shift: npt.ArrayLike = 0.0, L: float = 3.0) -> FloatArray:
    """ARL of a Shewhart chart with limits at ±L σ: ``1 / (Φ(-L-μ) + Φ(μ-L))``.

    Examples
    --------
    >>> round(float(arl_shewhart(0.0)), 2)
    370.4
    """
    mu = _shifts(shift)
    return np.asarray(1.0 / (special.ndtr(-L - mu) + special.ndtr(mu - L)))


def _cusum_upper(mu: float, k: float, h: float, r: int, start: float) -> float:
    y, w = _nodes(0.0, h, r)
    pts = np.concatenate(([0.0], y))  # unknowns: L(0), L(y_1..y_r)
    u = pts[:, None]
    a = np.zeros((r + 1, r + 1))
    a[:, 0] = special.ndtr(k - pts - mu)
    a[:, 1:] = w[None, :] * _phi(y[None, :] + k - u - mu)
    sol = np.linalg.solve(np.eye(r + 1) - a, np.ones(r + 1))
    if start == 0.0:
        return float(sol[0])
    # L(start) by the Nyström interpolation formula
    return float(
        1.0 + sol[0] * special.ndtr(k - start - mu) + np.sum(w * _phi(y + k - start - mu) * sol[1:])
    )


def arl_cusum(
    shift: npt.ArrayLike = 0.0,
    k: float = 0.5,
    h: float = 5.0,
    *,
    sided: str = "two",
    headstart: float = 0.0,
    nodes: int = 100,
) -> FloatArray:
    """Zero-state ARL of a tabular CUSUM (``k``, ``h`` in σ units) at mean shifts ``shift``.

    ``sided``: ``"two"`` (default), ``"upper"`` or ``"lower"``. ``headstart`` is the FIR start
    value as a fraction of ``h``.

    Examples
    --------
    >>> round(float(arl_cusum(0.0, 0.5, 5.0)), 1)
    465.4
    """
    if sided not in ("two", "upper", "lower"):
        raise ParameterError(
            f"The 'sided' parameter must be 'two', 'upper' or 'lower'. Got {sided!r}."
        )
    if not (k >= 0 and h > 0 and 0 <= headstart < 1):
        raise ParameterError(
            f"arl_cusum needs k >= 0, h > 0 and 0 <= headstart < 1. Got k={k}, h={h}, headstart={headstart}."
        )
    mu = _shifts(shift)
    start = headstart * h
    up = np.vectorize(lambda m: _cusum_upper(float(m), k, h, nodes, start), otypes=[float])
    if sided == "upper":
        return np.asarray(up(mu))
    if sided == "lower":
        return np.asarray(up(-mu))
    return np.asarray(1.0 / (1.0 / up(mu) + 1.0 / up(-mu)))


def _ewma_fixed_solution(
    mu: float, lam: float, c: float, r: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    y, w = _nodes(-c, c, r)
    kern = w[None, :] / lam * _phi((y[None, :] - (1.0 - lam) * y[:, None]) / lam - mu)
    sol = np.asarray(np.linalg.solve(np.eye(r) - kern, np.ones(r)), dtype=np.float64)
    return y, w, sol


def _ewma_l_at(
    z: FloatArray, mu: float, lam: float, y: FloatArray, w: FloatArray, sol: FloatArray
) -> FloatArray:
    kern = w[None, :] / lam * _phi((y[None, :] - (1.0 - lam) * z[:, None]) / lam - mu)
    return np.asarray(1.0 + kern @ sol)


def arl_ewma(
    shift: npt.ArrayLike = 0.0,
    lam: float = 0.2,
    L: float = 3.0,
    *,
    limits: str = "fixed",
    nodes: int = 200,
) -> FloatArray:
    """Zero-state ARL of a two-sided EWMA chart of individual values (start ``z₀ = μ₀``).

    ``limits="fixed"`` uses the asymptotic limits; ``"vacl"`` the exact time-varying limits that
    :func:`zhuoyue.stats.ewma` draws by default.

    Examples
    --------
    >>> round(float(arl_ewma(0.0, 0.2, 3.0)), 1)
    559.9
    """
    if limits not in ("fixed", "vacl"):
        raise ParameterError(f"The 'limits' parameter must be 'fixed' or 'vacl'. Got {limits!r}.")
    if not (0 < lam <= 1 and L > 0):
        raise ParameterError(f"arl_ewma needs 0 < lam <= 1 and L > 0. Got lam={lam}, L={L}.")
    mu_arr = _shifts(shift)
    c = L * np.sqrt(lam / (2.0 - lam))

    def one(mu: float) -> float:
        y, w, sol = _ewma_fixed_solution(mu, lam, c, nodes)
        if limits == "fixed":
            return float(_ewma_l_at(np.zeros(1), mu, lam, y, w, sol)[0])
        total = 1.0
        # step 1: Z1 = λ X1 ~ N(λμ, λ²), kept where |Z1| <= c1
        t = 1
        ct = c * np.sqrt(1.0 - (1.0 - lam) ** 2)
        zt, wt = _nodes(-ct, ct, nodes)
        dens = _phi(zt / lam - mu) / lam
        while True:
            surv = float(np.sum(wt * dens))
            if (1.0 - lam) ** (2 * t) < 1e-13 or surv < 1e-300:
                break
            total += surv
            t += 1
            cn = c * np.sqrt(1.0 - (1.0 - lam) ** (2 * t))
            zn, wn = _nodes(-cn, cn, nodes)
            kern = _phi((zn[:, None] - (1.0 - lam) * zt[None, :]) / lam - mu) / lam
            dens = kern @ (wt * dens)
            zt, wt = zn, wn
        # limits are now the asymptotic ones: finish with the fixed-limit ARL function
        tail = _ewma_l_at(zt, mu, lam, y, w, sol)
        return total + float(np.sum(wt * dens * tail))

    return np.asarray(np.vectorize(one, otypes=[float])(mu_arr))
