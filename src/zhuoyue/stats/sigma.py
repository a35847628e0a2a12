"""Sigma level ⇄ DPMO / PPM / yield, with and without the 1.5σ long-term shift.

The sigma level ``Z`` of a process is the distance, in standard deviations, from the process mean
to the specification limit(s) in the short term. The conventional Six Sigma table assumes the mean
drifts by ``shift`` = 1.5σ in the long term, towards one limit, and counts the fraction
nonconforming beyond that limit only (one tail)::

    p(Z) = 1 - Φ(Z - shift)                              tails=1 (the conventional table)
    p(Z) = (1 - Φ(Z - shift)) + Φ(-Z - shift)            tails=2 (adds the far tail)
    DPMO = PPM = 10⁶ · p          yield = 1 - p

and the inverse ``Z(p) = shift + Φ⁻¹(1 - p)`` (one tail; the two-tailed inverse is solved
numerically). ``shift=0`` gives the short-term ("no shift") figures. Upper tails are computed as
``Φ(-x)`` (``scipy.special.ndtr``) and their inverse as ``-Φ⁻¹(p)`` (``ndtri`` of the small
probability), never as ``1 - Φ(x)``, so that 6σ → 3.39767 ppm keeps full precision.

With the default convention: 6σ → 3.4 ppm, 5σ → 233, 4σ → 6 210, 3σ → 66 807, 2σ → 308 537,
1σ → 691 462. The policy's annex (《制造业卓越质量工程实施意见》附件, 名词解释 1) rounds these to
3.4 / 230 / 6 200 / 66 800 "不良品" per million units; results carry that published figure in
``annex_ppm`` next to the exact value. The sigma level feeds the annex indicator *product quality
level* (产品质量水平: L2 ≥ 3σ, L3 ≥ 4σ, L4 ≥ 5σ, L5 ≥ 6σ).

**PPM and DPMO are the same number here.** The conversion is about one probability ``p``; call
the figure PPM when ``p`` is the fraction of defective *units* (parts per million, what the annex
counts: 每百万单位的不良品) and DPMO when it is the fraction of defective *opportunities* (defects
per million opportunities, :func:`zhuoyue.stats.yields.dpmo`). Results carry both names.

Domains (``DataError`` with ``code="out_of_range"`` and the ``index`` of the first bad value):

==========  ====================================  ===========================================
input       tails=1                               tails=2
==========  ====================================  ===========================================
dpmo, ppm   0 ≤ x < 10⁶ (0 gives level +inf)      0 ≤ x ≤ 10⁶ (10⁶ gives level 0)
yield\\_     0 < y ≤ 1 (1 gives level +inf)        0 ≤ y ≤ 1
level       any real, or +inf (dpmo 0)            level ≥ 0, or +inf
==========  ====================================  ===========================================

A one-tailed level below ``shift`` means more than half the units are defective; it is valid
arithmetic (the level can be negative) but rarely a useful description of a process.

References: Montgomery, *Introduction to Statistical Quality Control*, ch. 1 (the Motorola Six
Sigma concept and its table); Bothe, D. R. (2002) "Statistical reason for the 1.5σ shift",
*Quality Engineering* 14(3), 479-487; reference values: ``shared/reference/spc/sigma_dpmo``
(R 4.2.2 ``pnorm``/``qnorm``).
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import special

from zhuoyue.errors import DataError, ParameterError
from zhuoyue.stats.results import jsonable

__all__ = [
    "ANNEX_PPM",
    "DEFAULT_SHIFT",
    "SigmaLevel",
    "defect_rate",
    "sigma_level",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Value = float | FloatArray

#: the conventional long-term shift of the process mean, in σ
DEFAULT_SHIFT = 1.5

#: defective units per million at 3σ..6σ as printed in the policy annex, glossary item 1
#: (《制造业卓越质量工程实施意见》附件 名词解释 1: 3.4 / 230 / 6200 / 66800)
ANNEX_PPM: Mapping[int, float] = MappingProxyType({3: 66800.0, 4: 6200.0, 5: 230.0, 6: 3.4})

_MILLION = 1e6
_SUMMARY_ROWS = 50
_NEWTON_MAX_ITER = 100
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


# --------------------------------------------------------------------------- result


@dataclass(frozen=True, slots=True)
class SigmaLevel:
    """A sigma level together with its DPMO / PPM and yield.

    Every numeric field is a float when the input was a scalar and an ndarray (one value per
    input value) when it was an array.

    Attributes
    ----------
    level : float or ndarray
        Sigma level Z (short-term σ to the nearest specification limit); ``inf`` when DPMO is 0.
        Feeds the annex indicator 产品质量水平 (product quality level, L2 ≥ 3σ … L5 ≥ 6σ).
    dpmo : float or ndarray
        Defects per million opportunities, ``10⁶ · p``. Numerically the same as :attr:`ppm`.
    yield_ : float or ndarray
        ``1 - p`` as a fraction (JSON key ``"yield"``).
    shift : float
        Long-term shift of the mean in σ (1.5 conventional, 0 = short-term figures).
    tails : int
        1 = the conventional one-tailed table; 2 = the far tail added.
    given : str
        Which quantity was given: ``"level"``, ``"dpmo"``, ``"ppm"`` or ``"yield"``.
    annex_ppm : float, ndarray or None
        The policy annex's printed figure (:data:`ANNEX_PPM`) where it applies: the one-tailed
        1.5σ-shift convention and a level that, rounded to two decimals as levels are quoted, is
        3, 4, 5 or 6. ``None`` under any other convention; otherwise ``None`` for a scalar level
        and NaN in an array where the level is not one of those four.
    warnings : tuple of str
    """

    level: Value
    dpmo: Value
    yield_: Value
    shift: float
    tails: int
    given: str
    annex_ppm: float | FloatArray | None
    warnings: tuple[str, ...] = ()

    @property
    def ppm(self) -> Value:
        """Parts per million: numerically the same as :attr:`dpmo` (see the module notes)."""
        return self.dpmo

    @property
    def convention(self) -> str:
        """The convention in words, e.g. ``"1.5σ shift, one-tailed"``."""
        side = "one-tailed" if self.tails == 1 else "two-tailed"
        if self.shift == 0:
            return f"no shift (short-term), {side}"
        return f"{self.shift:g}σ shift, {side}"

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON object (the same as ``zhuoyue sigma --json``).

        JSON has no infinity: an infinite level is written as ``null`` and explained in
        ``warnings``.
        """
        return {
            "level": jsonable(self.level),
            "dpmo": jsonable(self.dpmo),
            "ppm": jsonable(self.ppm),
            "yield": jsonable(self.yield_),
            "shift": float(self.shift),
            "tails": int(self.tails),
            "given": self.given,
            "annex_ppm": jsonable(self.annex_ppm),
            "warnings": list(self.warnings),
        }

    def summary(self) -> str:
        """A plain-text summary with Chinese and English labels."""
        zh_side = "单侧" if self.tails == 1 else "双侧"
        zh_shift = f"长期漂移 {self.shift:g}σ" if self.shift else "无漂移(短期)"
        lines = [f"sigma level 西格玛水平 — {self.convention} ({zh_shift}, {zh_side})"]
        if isinstance(self.level, np.ndarray):
            lines.append(
                f"  {'level σ水平':>14}  {'DPMO = PPM':>14}  {'yield 合格率 %':>18}  annex 附件"
            )
            level: list[float] = np.asarray(self.level).ravel().tolist()
            dpmo: list[float] = np.asarray(self.dpmo).ravel().tolist()
            yld: list[float] = np.asarray(self.yield_).ravel().tolist()
            annex: list[float] = (
                [math.nan] * len(level)
                if self.annex_ppm is None
                else np.asarray(self.annex_ppm, dtype=np.float64).ravel().tolist()
            )
            rows = zip(level, dpmo, yld, annex, strict=True)
            for i, (z, d, y, a) in enumerate(rows):
                if i == _SUMMARY_ROWS:
                    lines.append(f"  ... ({len(level) - i} more; see to_dict())")
                    break
                note = _annex_note(z, a) if math.isfinite(a) else ""
                lines.append(f"  {_fmt_level(z):>14}  {d:>14.6g}  {_fmt_percent(y):>18}  {note}")
        else:
            z0 = float(self.level)
            lines.append(f"  level 西格玛水平:        {_fmt_level(z0)}")
            lines.append(f"  DPMO = PPM 百万分之缺陷: {float(self.dpmo):.6g}")
            lines.append(f"  yield 合格率:            {_fmt_percent(float(self.yield_))} %")
            if self.annex_ppm is not None:
                annex_ppm = float(np.asarray(self.annex_ppm))
                lines.append(
                    f"  policy annex 政策附件:   {_annex_note(z0, annex_ppm)} (名词解释 1)"
                )
        lines.extend(f"  warning: {w}" for w in self.warnings)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return "<pre>" + html.escape(self.summary()) + "</pre>"


def _fmt_level(z: float) -> str:
    if math.isinf(z):
        return "∞" if z > 0 else "-∞"
    return f"{z:.6g}"


def _fmt_percent(y: float) -> str:
    return f"{100.0 * y:.10g}"


def _annex_note(level: float, ppm: float) -> str:
    return f"{round(level):d}σ ≈ {ppm:g} ppm"


# --------------------------------------------------------------------------- checks


def _check_convention(shift: Any, tails: Any, func: str) -> tuple[float, int]:
    if isinstance(tails, bool) or tails not in (1, 2):
        raise ParameterError(
            f"The 'tails' parameter of {func} must be 1 (the conventional one-tailed table) or 2 "
            f"(adds the far tail). Got {tails!r}."
        )
    try:
        s = float(shift)
    except (TypeError, ValueError):
        raise ParameterError(
            f"The 'shift' parameter of {func} must be a number of σ (1.5 conventional, 0 for no "
            f"shift). Got {shift!r}."
        ) from None
    if not (math.isfinite(s) and s >= 0):
        raise ParameterError(
            f"The 'shift' parameter of {func} must be a finite number >= 0 (1.5 conventional, 0 "
            f"for no shift). Got {shift!r}."
        )
    return s, int(tails)


def _as_values(values: Any, name: str, func: str) -> tuple[FloatArray, bool]:
    """``values`` as a float64 array, and whether the caller gave a scalar."""
    if isinstance(values, (str, bytes)):
        raise ParameterError(
            f"The {name!r} parameter of {func} must be a number or an array of numbers. Got {values!r}."
        )
    try:
        # a copy: the result's arrays must not change when the caller's array does
        arr = np.array(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ParameterError(
            f"The {name!r} parameter of {func} must be a number or an array of numbers. "
            f"Got {values!r}."
        ) from None
    if arr.size == 0:
        raise DataError(
            f"{func} needs at least one {name} value; got an empty array.", code="empty"
        )
    return arr, arr.ndim == 0


def _reject(arr: FloatArray, bad: BoolArray, scalar: bool, func: str, what: str, hint: str) -> None:
    """Raise a DataError naming the first value of ``arr`` flagged in ``bad`` (if any)."""
    if not bad.any():
        return
    flat = np.flatnonzero(bad.ravel())
    first = int(flat[0])
    value = float(arr.ravel()[first])
    if scalar:
        where = f"got {value:g}"
        index = None
    else:
        more = flat.size - 1
        where = f"found {value:g} at index {first}" + (f" (and {more} more)" if more else "")
        index = first
    raise DataError(f"{func} needs {what}; {where}. {hint}", index=index, code="out_of_range")


# --------------------------------------------------------------------------- maths


def _fraction_from_level(z: FloatArray, shift: float, tails: int) -> FloatArray:
    """p(Z): upper tail Φ(shift - Z), plus Φ(-Z - shift) for two tails."""
    p = special.ndtr(shift - z)
    if tails == 2:
        p = np.minimum(p + special.ndtr(-z - shift), 1.0)
    return np.asarray(p, dtype=np.float64)


def _level_from_fraction(p: FloatArray, shift: float, tails: int) -> FloatArray:
    """Z(p): the inverse of :func:`_fraction_from_level` on the documented domain."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if tails == 1:
            return np.asarray(shift - special.ndtri(p), dtype=np.float64)
        if shift == 0:
            return np.asarray(-special.ndtri(0.5 * p), dtype=np.float64)
        return _two_tailed_level(p, shift)


def _log_two_tailed(z: FloatArray, shift: float) -> FloatArray:
    """log p(Z) for two tails, accurate far into the tails (log-space sum of both tails)."""
    return np.asarray(
        np.logaddexp(special.log_ndtr(shift - z), special.log_ndtr(-z - shift)), dtype=np.float64
    )


def _two_tailed_level(p: FloatArray, shift: float) -> FloatArray:
    """Solve Φ(shift - Z) + Φ(-Z - shift) = p for Z ≥ 0 by safeguarded Newton steps.

    The root lies between the one-tailed level ``shift - Φ⁻¹(p)`` (the far tail ignored) and
    ``shift - Φ⁻¹(p/2)`` (the far tail as large as the near one); Newton runs on log p(Z),
    bisecting whenever a step leaves that bracket. The loop is over iterations (a handful), each
    on the whole array.
    """
    out = np.empty_like(p)
    out[p <= 0.0] = np.inf
    out[p >= 1.0] = 0.0
    todo = (p > 0.0) & (p < 1.0)
    if not todo.any():
        return out
    q = p[todo]
    log_q = np.log(q)
    lo = np.maximum(shift - special.ndtri(q), 0.0)
    hi = shift - special.ndtri(0.5 * q)
    z = lo.copy()
    for _ in range(_NEWTON_MAX_ITER):
        log_p = _log_two_tailed(z, shift)
        f = log_p - log_q  # decreasing in z: > 0 means z is left of the root
        left = f > 0
        lo = np.where(left, z, lo)
        hi = np.where(left, hi, z)
        # d/dz log p = -(φ(z - s) + φ(z + s)) / p, in logs so that nothing underflows
        log_dens = np.logaddexp(-0.5 * (z - shift) ** 2, -0.5 * (z + shift) ** 2) - _LOG_SQRT_2PI
        slope = -np.exp(log_dens - log_p)
        step = f / slope
        z_new = z - step
        outside = ~((z_new > lo) & (z_new < hi))
        z_new = np.where(outside, 0.5 * (lo + hi), z_new)
        done = np.abs(z_new - z) <= 4.0 * np.finfo(np.float64).eps * np.maximum(1.0, z)
        z = z_new
        if done.all():
            break
    out[todo] = z
    return out


def _annex(level: FloatArray, shift: float, tails: int, scalar: bool) -> float | FloatArray | None:
    if tails != 1 or shift != DEFAULT_SHIFT:
        return None
    with np.errstate(invalid="ignore"):
        r = np.round(level, 2)
    table = np.array([np.nan, np.nan, np.nan, *(ANNEX_PPM[k] for k in (3, 4, 5, 6))])
    hit = np.isin(r, (3.0, 4.0, 5.0, 6.0))
    idx = np.where(hit, np.nan_to_num(r, nan=0.0, posinf=0.0, neginf=0.0), 0.0).astype(np.int64)
    values = np.where(hit, table[idx], np.nan)
    if scalar:
        v = float(values.reshape(()))
        return v if math.isfinite(v) else None
    return np.asarray(values, dtype=np.float64)


def _infinite_warning(level: FloatArray, scalar: bool) -> tuple[str, ...]:
    inf = np.isposinf(level)
    if not inf.any():
        return ()
    where = "" if scalar else f" at index {int(np.flatnonzero(inf.ravel())[0])}"
    n = int(inf.sum())
    more = f" (and {n - 1} more)" if n > 1 else ""
    return (
        f"DPMO 0 (no defect) gives an infinite sigma level{where}{more}. With no defect observed, "
        "report an upper confidence bound instead: by the rule of three, about "
        "3·10⁶ / opportunities DPMO at 95 %.",
    )


def _out(x: FloatArray, scalar: bool) -> Value:
    return float(x.reshape(())) if scalar else x


def _result(
    level: FloatArray,
    p: FloatArray,
    yld: FloatArray,
    *,
    shift: float,
    tails: int,
    given: str,
    scalar: bool,
) -> SigmaLevel:
    return SigmaLevel(
        level=_out(level, scalar),
        dpmo=_out(_MILLION * p, scalar),
        yield_=_out(yld, scalar),
        shift=shift,
        tails=tails,
        given=given,
        annex_ppm=_annex(level, shift, tails, scalar),
        warnings=_infinite_warning(level, scalar),
    )


# --------------------------------------------------------------------------- public API


def sigma_level(
    *,
    ppm: npt.ArrayLike | None = None,
    dpmo: npt.ArrayLike | None = None,
    yield_: npt.ArrayLike | None = None,
    shift: float = DEFAULT_SHIFT,
    tails: int = 1,
) -> SigmaLevel:
    """Sigma level from PPM, DPMO or yield (give exactly one).

    ``Z = shift + Φ⁻¹(1 - p)`` with ``p = dpmo / 10⁶`` (or ``ppm / 10⁶``, or ``1 - yield_``) for
    one tail; for two tails ``Z ≥ 0`` solves ``(1 - Φ(Z - shift)) + Φ(-Z - shift) = p``. See the
    module notes for the conventions and the domain of each input.

    Parameters
    ----------
    ppm, dpmo : float or array_like, optional
        Defective parts per million / defects per million opportunities (the same number).
    yield_ : float or array_like, optional
        The fraction conforming, in (0, 1] (0.995, not 99.5).
    shift : float, default 1.5
        Long-term shift of the mean in σ; 0 gives the short-term level.
    tails : {1, 2}, default 1
        1 = the conventional one-tailed table; 2 = the far specification tail counted too.

    Returns
    -------
    SigmaLevel
        Arrays in, arrays out (one value per input value).

    Raises
    ------
    ParameterError
        None or several of ``ppm``, ``dpmo``, ``yield_``; a bad ``shift`` or ``tails``.
    DataError
        A value outside its domain (``code="out_of_range"``, ``index`` of the first one).

    Examples
    --------
    >>> res = sigma_level(ppm=3.4)
    >>> round(res.level, 4), res.annex_ppm
    (5.9999, 3.4)
    >>> round(sigma_level(yield_=0.99).level, 6)
    3.826348
    >>> sigma_level(dpmo=[66807, 6210]).level.round(3)
    array([3., 4.])
    >>> sigma_level(dpmo=0).level
    inf
    """
    func = "sigma_level"
    shift, tails = _check_convention(shift, tails, func)
    given = [
        (name, v) for name, v in (("ppm", ppm), ("dpmo", dpmo), ("yield", yield_)) if v is not None
    ]
    if len(given) != 1:
        found = "none" if not given else " and ".join(name for name, _ in given)
        raise ParameterError(
            f"{func} needs exactly one of 'ppm', 'dpmo' or 'yield_'. Got {found}. To convert a "
            "level into DPMO, use defect_rate(level)."
        )
    name, values = given[0]
    arg = "yield_" if name == "yield" else name
    arr, scalar = _as_values(values, arg, func)
    if name == "yield":
        if tails == 1:
            bad = ~((arr > 0.0) & (arr <= 1.0))
            what = "a yield_ in (0, 1] for one tail"
        else:
            bad = ~((arr >= 0.0) & (arr <= 1.0))
            what = "a yield_ in [0, 1] for two tails"
        hint = "Give the yield as a fraction: 0.995 for 99.5 %."
        if (arr > 1.0).any() and (arr <= 100.0).all():
            hint += " The values look like percentages: divide them by 100."
        _reject(arr, bad, scalar, func, what, hint)
        p = np.asarray(1.0 - arr, dtype=np.float64)
        yld = arr
    else:
        if tails == 1:
            bad = ~((arr >= 0.0) & (arr < _MILLION))
            what = f"{name} in [0, 1 000 000) for one tail"
            hint = f"A {name} of 10⁶ or more (every unit defective) has no sigma level."
        else:
            bad = ~((arr >= 0.0) & (arr <= _MILLION))
            what = f"{name} in [0, 1 000 000] for two tails"
            hint = f"A {name} cannot exceed one million."
        _reject(arr, bad, scalar, func, what, hint)
        p = arr / _MILLION
        yld = np.asarray(1.0 - p, dtype=np.float64)
    level = _level_from_fraction(p, shift, tails)
    return _result(level, p, yld, shift=shift, tails=tails, given=name, scalar=scalar)


def defect_rate(
    level: npt.ArrayLike, *, shift: float = DEFAULT_SHIFT, tails: int = 1
) -> SigmaLevel:
    """DPMO / PPM and yield at a sigma level (the inverse of :func:`sigma_level`).

    ``p = 1 - Φ(Z - shift)`` (one tail) or ``(1 - Φ(Z - shift)) + Φ(-Z - shift)`` (two tails);
    ``DPMO = PPM = 10⁶ p``, ``yield = 1 - p``.

    Parameters
    ----------
    level : float or array_like
        Sigma level(s) Z. Any real number or +inf for one tail; ≥ 0 (or +inf) for two tails.
    shift : float, default 1.5
        Long-term shift of the mean in σ; 0 gives the short-term figures.
    tails : {1, 2}, default 1

    Returns
    -------
    SigmaLevel
        Arrays in, arrays out.

    Raises
    ------
    ParameterError
        A bad ``shift`` or ``tails``; ``level`` not numeric.
    DataError
        A level outside its domain (``code="out_of_range"``, ``index`` of the first one).

    Examples
    --------
    >>> res = defect_rate(6)
    >>> round(res.dpmo, 5), res.annex_ppm
    (3.39767, 3.4)
    >>> defect_rate([3, 4, 5]).dpmo.round(0)
    array([66807.,  6210.,   233.])
    >>> round(defect_rate(3, shift=0, tails=2).ppm, 1)  # the short-term ±3σ figure
    2699.8
    """
    func = "defect_rate"
    shift, tails = _check_convention(shift, tails, func)
    z, scalar = _as_values(level, "level", func)
    if tails == 1:
        bad = np.isnan(z) | np.isneginf(z)
        _reject(z, bad, scalar, func, "a level that is a number or +inf", "Remove the value.")
    else:
        bad = ~(z >= 0.0)
        _reject(
            z,
            bad,
            scalar,
            func,
            "a level >= 0 for two tails (the half-width of the specification in σ)",
            "Use tails=1 for a one-sided specification.",
        )
    p = _fraction_from_level(z, shift, tails)
    yld = np.asarray(special.ndtr(z - shift), dtype=np.float64) if tails == 1 else 1.0 - p
    return _result(z, p, np.asarray(yld, dtype=np.float64), shift=shift, tails=tails,
                   given="level", scalar=scalar)  # fmt: skip
