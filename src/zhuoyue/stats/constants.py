"""Control chart constants d2, d3, c4 and the factor family derived from them.

Definitions (Montgomery, *Introduction to Statistical Quality Control*, 8th ed., Appendix VI;
ASTM E2587-16, Table 1): for a sample of ``n`` independent N(0, 1) values with range ``W`` and
standard deviation ``S``,

* ``d2(n) = E[W]``, ``d3(n) = SD[W]``
* ``c4(n) = E[S] = sqrt(2/(n-1)) * Gamma(n/2) / Gamma((n-1)/2)``

zhuoyue uses *exact* values by default: ``c4`` in closed form (log-gamma, any ``n``), ``d2`` and
``d3`` by numerical integration. The tables ``_D2`` and ``_D3`` for ``n = 2..50`` below were
produced by :func:`compute_d2_d3` (run ``python -m zhuoyue.stats.constants`` to print them again);
``tests/reference/test_constants.py`` recomputes them and compares them with the published
3-decimal tables and with closed forms (``d2(2) = 2/sqrt(pi)``, ``d3(2) = sqrt(2 - 4/pi)``).

For comparison with software that uses rounded tables, ``constants="table"`` selects d2 rounded to
3 decimals and d3 to 7 decimals as in R's qcc 2.7 (``qcc.options("exp.R.unscaled")`` and
``"se.R.unscaled"``), which reproduce the 3-decimal textbook tables for n <= 25.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import special

from zhuoyue.errors import ParameterError

__all__ = [
    "A2",
    "A3",
    "B3",
    "B4",
    "CONSTANTS",
    "D3",
    "D4",
    "N_MAX",
    "ConstantsName",
    "c4",
    "compute_d2_d3",
    "d2",
    "d3",
    "factors",
]

ConstantsName = Literal["exact", "table"]
CONSTANTS: tuple[ConstantsName, ...] = ("exact", "table")
#: largest subgroup size with tabulated d2/d3; larger sizes are integrated on demand
N_MAX = 50

FloatArray = npt.NDArray[np.float64]

# fmt: off
# Exact d2(n) = E[range of n standard normals], n = 2..50 (compute_d2_d3; abs. error < 1e-13).
_D2 = (
    1.1283791670955128, 1.692568750643269, 2.058750746007928, 2.325928947281039, 2.5344127212229424,
    2.7043567512138083, 2.847200612090554, 2.970026324418472, 3.0775054616703446,
    3.1728727038159996, 3.2584552797438255, 3.3359803540982536, 3.406763108199952,
    3.471826889882074, 3.5319827861095736, 3.587883961765381, 3.640063757937443, 3.688963023207648,
    3.7349501195966397, 3.778335829842619, 3.8193846433628322, 3.858323423285005,
    3.8953481484513546, 3.9306292195071104, 3.964315679522623, 3.996538604013156, 4.027413848246529,
    4.057044292095184, 4.08552168834302, 4.112928195276386, 4.139337655857811, 4.164816671940271,
    4.189425511536967, 4.213218879207902, 4.2362465735129815, 4.258554050746442, 4.2801829104704066,
    4.301171315457525, 4.321554356350038, 4.341364369506932, 4.360631215038836, 4.379382520842679,
    4.397643897484959, 4.415439127996885, 4.432790336001003, 4.4497181350589585, 4.466241761691598,
    4.48237919415841, 4.4981472587796985,
)
# Exact d3(n) = SD[range of n standard normals], n = 2..50 (compute_d2_d3; abs. error < 1e-12).
_D3 = (
    0.8525024664274327, 0.8883680040451959, 0.8798082028249731, 0.864081941099497,
    0.8480396861174704, 0.8332053356222823, 0.8198314897919355, 0.8078342745532834,
    0.7970506735194286, 0.7873146205503169, 0.7784783412033544, 0.7704162020637426,
    0.7630230956247763, 0.7562114297279334, 0.7499080894099024, 0.7440517839607181,
    0.7385908533781642, 0.733481495518831, 0.7286863457072911, 0.72417334071747, 0.719914808434183,
    0.7158867354918017, 0.7120681751479241, 0.70844076588865, 0.7049883378034738,
    0.7016965888636999, 0.6985528171693562, 0.6955456982561321, 0.692665098883405,
    0.6899019205211451, 0.687247967147921, 0.6846958330532591, 0.6822388071871531,
    0.679870791263207, 0.6775862293481794, 0.675380047090096, 0.6732475990662373,
    0.6711846230048811, 0.6691871998451403, 0.6672517187774494, 0.6653748465471822,
    0.6635535004214953, 0.6617848243129637, 0.6600661676346331, 0.6583950665236749,
    0.6567692271266863, 0.6551865106842575, 0.6536449201898145, 0.6521425884299303,
)
# R qcc 2.7 qcc.options("exp.R.unscaled"), n = 2..25: d2 rounded to 3 decimals (textbook tables).
_D2_TABLE = (
    1.128, 1.693, 2.059, 2.326, 2.534, 2.704, 2.847, 2.970, 3.078, 3.173, 3.258, 3.336,
    3.407, 3.472, 3.532, 3.588, 3.640, 3.689, 3.735, 3.778, 3.819, 3.858, 3.895, 3.931,
)
# R qcc 2.7 qcc.options("se.R.unscaled"), n = 2..50: d3 to 7 decimals.
_D3_TABLE = (
    0.8525033, 0.8883697, 0.8798108, 0.8640855, 0.8480442, 0.8332108, 0.8198378, 0.8078413,
    0.7970584, 0.7873230, 0.7784873, 0.7704257, 0.7630330, 0.7562217, 0.7499188, 0.7440627,
    0.7386021, 0.7334929, 0.7286980, 0.7241851, 0.7199267, 0.7158987, 0.7120802, 0.7084528,
    0.7050004, 0.7017086, 0.6985648, 0.6955576, 0.6926770, 0.6899137, 0.6872596, 0.6847074,
    0.6822502, 0.6798821, 0.6775973, 0.6753910, 0.6732584, 0.6711952, 0.6691976, 0.6672619,
    0.6653848, 0.6635632, 0.6617943, 0.6600754, 0.6584041, 0.6567780, 0.6551950, 0.6536532,
    0.6521506,
)
# fmt: on

_D2_EXACT = np.array((np.nan, np.nan, *_D2))
_D3_EXACT = np.array((np.nan, np.nan, *_D3))
_D2_QCC = np.array((np.nan, np.nan, *_D2_TABLE))
_D3_QCC = np.array((np.nan, np.nan, *_D3_TABLE))


def compute_d2_d3(n: int, *, nx: int = 6001, nw: int = 160) -> tuple[float, float]:
    """Compute ``d2(n)`` and ``d3(n)`` by numerical integration.

    ``d2(n) = ∫ [1 - Φ(x)^n - (1 - Φ(x))^n] dx`` (adaptive quadrature) and
    ``E[W²] = 2 ∫_0^∞ w P(W > w) dw`` with ``P(W ≤ w) = n ∫ φ(x) [Φ(x + w) - Φ(x)]^(n-1) dx``
    (trapezoid rule in x, which converges geometrically for this smooth integrand, and
    Gauss-Legendre panels in w); ``d3 = sqrt(E[W²] - d2²)``.

    Examples
    --------
    >>> d2_, d3_ = compute_d2_d3(2)
    >>> round(d2_, 12), round(d3_, 12)
    (1.128379167096, 0.852502466427)
    """
    from scipy import integrate  # imported here: only the table generator needs it

    if n < 2:
        raise ParameterError(f"d2/d3 need a subgroup size n >= 2. Got {n}.")
    d2_val = integrate.quad(
        lambda x: 1.0 - special.ndtr(x) ** n - special.ndtr(-x) ** n,
        -np.inf,
        np.inf,
        epsabs=1e-14,
        epsrel=1e-13,
        limit=400,
    )[0]
    x = np.linspace(-9.0, 9.0, nx)
    hx = x[1] - x[0]
    cdf = special.ndtr(x)
    phi = np.exp(-0.5 * x * x) / np.sqrt(2.0 * np.pi)
    # normalizing by the rule's own integral of phi removes its O(1e-14) bias, which the
    # outer integral would otherwise multiply by ~W²/2
    mass = phi.sum() * hx
    nodes, weights = special.roots_legendre(nw)
    edges = np.linspace(0.0, 16.0, 9)
    half = (edges[1:] - edges[:-1])[:, None] / 2.0
    mid = (edges[1:] + edges[:-1])[:, None] / 2.0
    w = (half * nodes[None, :] + mid).ravel()
    wt = (half * weights[None, :]).ravel()
    spread = np.clip(special.ndtr(x[None, :] + w[:, None]) - cdf[None, :], 0.0, 1.0)
    cdf_w = n * (phi[None, :] * spread ** (n - 1)).sum(axis=1) * hx / mass
    er2 = 2.0 * float(np.sum(wt * w * (1.0 - cdf_w)))
    return float(d2_val), float(np.sqrt(er2 - d2_val * d2_val))


@lru_cache(maxsize=256)
def _large_n(n: int) -> tuple[float, float]:
    return compute_d2_d3(n)


def _check_n(n: npt.ArrayLike, name: str) -> npt.NDArray[np.int64]:
    arr = np.asarray(n)
    if arr.size and (not np.issubdtype(arr.dtype, np.number) or np.any(arr != np.floor(arr))):
        raise ParameterError(f"{name}(n) needs integer subgroup sizes. Got {n!r}.")
    out = arr.astype(np.int64)
    if out.size and out.min() < 2:
        raise ParameterError(f"{name}(n) needs subgroup sizes n >= 2. Got {int(out.min())}.")
    return out


def _lookup(
    n: npt.ArrayLike, exact: FloatArray, table: FloatArray, which: int, constants: str, name: str
) -> FloatArray:
    idx = _check_n(n, name)
    if constants == "exact":
        src = exact
    elif constants == "table":
        src = table
    else:
        raise ParameterError(
            f"The 'constants' parameter must be one of {list(CONSTANTS)}. Got {constants!r}."
        )
    if idx.size and idx.max() >= src.size:
        if constants == "table":
            raise ParameterError(
                f"The rounded {name} table covers n <= {src.size - 1}; got n = {int(idx.max())}. "
                "Use constants='exact'."
            )
        big = np.unique(idx[idx >= src.size])
        extra = {int(k): _large_n(int(k))[which] for k in big}
        out = np.where(idx < src.size, src[np.minimum(idx, src.size - 1)], np.nan)
        for k, v in extra.items():
            out[idx == k] = v
        return np.asarray(out, dtype=np.float64)
    return np.asarray(src[idx], dtype=np.float64)


def d2(n: npt.ArrayLike, constants: str = "exact") -> FloatArray:
    """Expected range of ``n`` standard normal values (vectorized over ``n``).

    Examples
    --------
    >>> round(float(d2(5)), 12)
    2.325928947281
    >>> float(d2(5, constants="table"))
    2.326
    """
    return _lookup(n, _D2_EXACT, _D2_QCC, 0, constants, "d2")


def d3(n: npt.ArrayLike, constants: str = "exact") -> FloatArray:
    """Standard deviation of the range of ``n`` standard normal values (vectorized over ``n``)."""
    return _lookup(n, _D3_EXACT, _D3_QCC, 1, constants, "d3")


def c4(n: npt.ArrayLike) -> FloatArray:
    """Unbiasing constant of the sample standard deviation, ``E[S] = c4(n) σ`` (closed form).

    Examples
    --------
    >>> round(float(c4(5)), 10)
    0.939985603
    """
    nn = np.asarray(n, dtype=np.float64)
    if nn.size and np.nanmin(nn) < 2:
        raise ParameterError(f"c4(n) needs n >= 2. Got {float(np.nanmin(nn)):g}.")
    return np.asarray(
        np.sqrt(2.0 / (nn - 1.0))
        * np.exp(special.gammaln(nn / 2.0) - special.gammaln((nn - 1.0) / 2.0)),
        dtype=np.float64,
    )


def A2(n: npt.ArrayLike, constants: str = "exact") -> FloatArray:
    """``A2 = 3 / (d2 sqrt(n))``: Xbar limits are ``Xbarbar ± A2 Rbar``."""
    return np.asarray(3.0 / (d2(n, constants) * np.sqrt(np.asarray(n, dtype=np.float64))))


def A3(n: npt.ArrayLike) -> FloatArray:
    """``A3 = 3 / (c4 sqrt(n))``: Xbar limits are ``Xbarbar ± A3 Sbar``."""
    return np.asarray(3.0 / (c4(n) * np.sqrt(np.asarray(n, dtype=np.float64))))


def D4(n: npt.ArrayLike, constants: str = "exact") -> FloatArray:
    """``D4 = 1 + 3 d3/d2``: R chart UCL is ``D4 Rbar``."""
    return np.asarray(1.0 + 3.0 * d3(n, constants) / d2(n, constants))


def D3(n: npt.ArrayLike, constants: str = "exact") -> FloatArray:
    """``D3 = max(0, 1 - 3 d3/d2)``: R chart LCL is ``D3 Rbar``."""
    return np.asarray(np.maximum(0.0, 1.0 - 3.0 * d3(n, constants) / d2(n, constants)))


def B3(n: npt.ArrayLike) -> FloatArray:
    """``B3 = max(0, 1 - 3 sqrt(1 - c4²)/c4)``: S chart LCL is ``B3 Sbar``."""
    c = c4(n)
    return np.asarray(np.maximum(0.0, 1.0 - 3.0 * np.sqrt(1.0 - c * c) / c))


def B4(n: npt.ArrayLike) -> FloatArray:
    """``B4 = 1 + 3 sqrt(1 - c4²)/c4``: S chart UCL is ``B4 Sbar``."""
    c = c4(n)
    return np.asarray(1.0 + 3.0 * np.sqrt(1.0 - c * c) / c)


def factors(n: npt.ArrayLike, constants: str = "exact") -> dict[str, FloatArray]:
    """The control chart factor table for subgroup sizes ``n`` (as in Montgomery, Appendix VI).

    Examples
    --------
    >>> t = factors([2, 5])
    >>> [round(float(v), 3) for v in t["A2"]], [round(float(v), 3) for v in t["D4"]]
    ([1.88, 0.577], [3.267, 2.114])
    """
    return {
        "n": np.asarray(n, dtype=np.float64),
        "A2": A2(n, constants),
        "A3": A3(n),
        "c4": c4(n),
        "B3": B3(n),
        "B4": B4(n),
        "d2": d2(n, constants),
        "d3": d3(n, constants),
        "D3": D3(n, constants),
        "D4": D4(n, constants),
    }


def _print_tables() -> None:  # pragma: no cover - regeneration helper
    rows = [compute_d2_d3(n) for n in range(2, N_MAX + 1)]
    print("_D2 =", tuple(r[0] for r in rows))
    print("_D3 =", tuple(r[1] for r in rows))


if __name__ == "__main__":  # pragma: no cover
    _print_tables()
