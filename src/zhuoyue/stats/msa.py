"""Measurement system analysis (MSA): crossed gauge R&R, bias, linearity and type-1 studies.

Crossed gauge R&R (:func:`gauge_rr`), every operator measures every part the same number of
times (a balanced crossed study, AIAG MSA 4th ed. ch. III-B):

* ``method="anova"`` (default, Minitab): two-way random-effects ANOVA with the part × operator
  interaction. With ``interaction="auto"`` the interaction is pooled into the error (repeatability)
  when its p-value exceeds ``alpha_remove`` (Minitab's "alpha to remove interaction term", 0.25);
  ``"keep"`` always keeps it (AIAG), ``"pool"`` always pools it. Variance components from the
  expected mean squares (Montgomery & Runger 1993; AIAG MSA 4th ed. Appendix A)::

      repeatability   = MS_E
      part × operator = (MS_PO - MS_E) / r
      operator        = (MS_O - MS_PO) / (p r)      pooled model: (MS_O - MS_E') / (p r)
      part            = (MS_P - MS_PO) / (o r)      pooled model: (MS_P - MS_E') / (o r)

  with p parts, o operators, r trials and MS_E' the pooled error mean square. A negative
  estimate is set to 0 (as Minitab and AIAG do) and the result says so (``zeroed``).
* ``method="xbar_r"``: the AIAG Average & Range method: ``EV = R̿ K1``,
  ``AV = sqrt((X_diff K2)² - EV²/(n r))`` (0 when the root is negative), ``GRR = sqrt(EV² + AV²)``,
  ``PV = R_p K3``, ``TV = sqrt(GRR² + PV²)``.

The constants K1, K2, K3 (AIAG MSA 4th ed., Average & Range worksheet) are reciprocals of
``d2*(m, g) = sqrt(d2(m)² + d3(m)²/g)``, the root mean square of the mean of g ranges of m standard
normal values (Duncan 1986, Table D3, which AIAG reprints as the d2* table; :func:`d2_star`):

* ``K2 = 1/d2*(appraisers, 1)`` and ``K3 = 1/d2*(parts, 1)``: one range (of the appraiser
  averages, of the part averages), g = 1.
* ``K1 = 1/d2*(trials, g)`` with g = appraisers × parts ranges. AIAG tabulates K1 for g > 15, where
  the d2* table gives the limit g → ∞, i.e. ``K1 = 1/d2(trials)`` (0.8862 = 1/1.128, 0.5908 =
  1/1.693). For the usual 3 × 10 study, d2*(3, 30) = 1.7003 would give K1 = 0.5881.

``constants="aiag"`` (default) uses the 4-decimal AIAG tables (2-3 trials, 2-3 appraisers, 2-10
parts), as AIAG worksheets do; ``constants="exact"`` uses ``1/d2*`` unrounded for any design, with
K1 for the actual g = appraisers × parts.

Figures of both methods (Minitab / AIAG):

* %Contribution = 100 · variance / total variance; %Study Var = 100 · SD / total SD;
  study variation = ``study_var`` · SD (6 by default; AIAG 3rd ed. used 5.15 — the percentages
  do not depend on it);
* %Tolerance = 100 · study_var · SD / (USL - LSL) when a tolerance is given;
  %Process = 100 · SD / process_sigma when a historical process sigma is given;
* ndc = floor(√2 · SD_part / SD_GRR) (Minitab; at least 1), or with ``ndc_rule="1.41"``
  floor(1.41 · PV / GRR) (AIAG). ``ndc_raw`` is the value before truncation.
* Acceptance (AIAG MSA 4th ed., Table II-D 1), for %Study Var, %Tolerance and %Process:
  under 10 % acceptable (可接受), 10 % to 30 % conditionally acceptable (有条件接受), over 30 %
  unacceptable (不可接受); ndc should be 5 or more. ``verdict`` is the worst band of the bases
  computed.

Bias and linearity (:func:`bias_linearity`, AIAG MSA 4th ed. ch. III-B "Guidelines for
determining linearity") and a single-part bias / type-1 study (:func:`bias_study`) are below.

References
----------
AIAG, *Measurement Systems Analysis Reference Manual*, 4th ed. (2010).
Burdick, R. K., Borror, C. M. & Montgomery, D. C., *Design and Analysis of Gauge R&R Studies*,
ASA-SIAM (2005) — confidence intervals (modified large-sample method).
Duncan, A. J., *Quality Control and Industrial Statistics*, 5th ed. (1986), Table D3 (d2*).
"""

from __future__ import annotations

import html
import math
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import special

from zhuoyue.errors import DataError, ParameterError
from zhuoyue.stats import constants as K
from zhuoyue.stats._input import as_float_array, check_finite_scalar, check_positive_scalar
from zhuoyue.stats.results import jsonable

__all__ = [
    "AIAG_K1",
    "AIAG_K2",
    "AIAG_K3",
    "Acceptance",
    "AnovaRow",
    "BiasResult",
    "BiasRow",
    "GaugeRRResult",
    "LinearityResult",
    "bias_linearity",
    "bias_study",
    "d2_star",
    "gauge_rr",
    "grade",
    "k_factors",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: AIAG MSA 4th ed., Average & Range method: K1 by number of trials (= 1/d2, g > 15)
AIAG_K1: Mapping[int, float] = {2: 0.8862, 3: 0.5908}
#: AIAG MSA 4th ed.: K2 by number of appraisers (= 1/d2*(appraisers, 1))
AIAG_K2: Mapping[int, float] = {2: 0.7071, 3: 0.5231}
#: AIAG MSA 4th ed.: K3 by number of parts (= 1/d2*(parts, 1))
AIAG_K3: Mapping[int, float] = {
    2: 0.7071, 3: 0.5231, 4: 0.4467, 5: 0.4030, 6: 0.3742, 7: 0.3534, 8: 0.3375, 9: 0.3249,
    10: 0.3146,
}  # fmt: skip

METHODS = ("anova", "xbar_r")
INTERACTIONS = ("auto", "keep", "pool")
NDC_RULES = ("sqrt2", "1.41")
K_CONSTANTS = ("aiag", "exact")
#: AIAG guidance: at least 5 distinct categories
NDC_MIN = 5

_BANDS: Mapping[str, tuple[str, str]] = {
    "acceptable": ("可接受", "acceptable"),
    "conditional": ("有条件接受", "conditionally acceptable"),
    "unacceptable": ("不可接受", "unacceptable"),
    "adequate": ("分辨力足够（ndc ≥ 5）", "adequate resolution (ndc ≥ 5)"),
    "inadequate": ("分辨力不足（ndc < 5）", "inadequate resolution (ndc < 5)"),
}
_RANK = {"acceptable": 0, "conditional": 1, "unacceptable": 2}
_BASIS_TITLES: Mapping[str, tuple[str, str]] = {
    "study_var": ("%研究变异", "%Study Var"),
    "tolerance": ("%公差", "%Tolerance"),
    "process": ("%过程", "%Process"),
    "ndc": ("可区分类别数", "ndc"),
}
# display order and bilingual names of the variance sources (Minitab's order)
_SOURCES: Mapping[str, tuple[str, str, int]] = {
    "grr": ("Total Gage R&R", "量具R&R合计", 0),
    "repeatability": ("Repeatability", "重复性", 1),
    "reproducibility": ("Reproducibility", "再现性", 1),
    "operator": ("Operator", "操作员", 2),
    "part_x_operator": ("Operator × Part", "操作员×零件", 2),
    "part": ("Part-to-Part", "零件间", 0),
    "total": ("Total Variation", "总变异", 0),
}
_ANOVA_NAMES: Mapping[str, str] = {
    "part": "Part 零件",
    "operator": "Operator 操作员",
    "part_x_operator": "Part × Operator 零件×操作员",
    "repeatability": "Repeatability 重复性",
    "total": "Total 合计",
}


# --------------------------------------------------------------------------- constants


def d2_star(m: int, g: float = 1.0) -> float:
    """``d2*(m, g) = sqrt(d2(m)² + d3(m)²/g)``: AIAG's d2* table (Duncan 1986, Table D3), exactly.

    The root mean square of the average of ``g`` ranges of ``m`` independent N(0, 1) values,
    ``E[R̄²] = d2² + d3²/g``, from the exact d2 and d3 of :mod:`zhuoyue.stats.constants`.
    Patnaik's approximation ``R̄/σ ≈ d2* χ_ν/√ν``, behind the table, matches these two moments.
    The printed table (5 decimals, from older tables of the range) differs from the exact values
    by up to 1 in the 5th decimal (d2*(3, 1): 1.91155 printed, 1.911540 exact); the 4-decimal K
    constants of AIAG are the same either way. ``g = inf`` gives d2 (the table's row g > 15).

    Examples
    --------
    >>> round(d2_star(2), 5), round(d2_star(3), 6), round(d2_star(2, 2), 5)
    (1.41421, 1.91154, 1.2793)
    >>> round(d2_star(3, math.inf), 5)  # = d2(3)
    1.69257
    """
    if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 2:
        raise ParameterError(f"d2_star needs a whole range size m >= 2. Got {m!r}.")
    gf = float(g)
    if not gf >= 1.0:
        raise ParameterError(f"d2_star needs a number of ranges g >= 1. Got {g!r}.")
    d2m = float(K.d2(int(m)))
    d3m = float(K.d3(int(m)))
    return math.sqrt(d2m * d2m + d3m * d3m / gf)


def k_factors(
    n_trials: int, n_operators: int, n_parts: int, constants: str = "aiag"
) -> dict[str, float]:
    """The Average & Range constants K1, K2, K3 for a study design.

    ``constants="aiag"``: the 4-decimal AIAG tables (:data:`AIAG_K1`, :data:`AIAG_K2`,
    :data:`AIAG_K3`); ``"exact"``: ``1/d2*(trials, operators × parts)``, ``1/d2*(operators, 1)``,
    ``1/d2*(parts, 1)`` unrounded (see the module notes).

    Examples
    --------
    >>> k_factors(3, 3, 10)
    {'K1': 0.5908, 'K2': 0.5231, 'K3': 0.3146}
    >>> {k: round(v, 4) for k, v in k_factors(3, 3, 10, constants="exact").items()}
    {'K1': 0.5881, 'K2': 0.5231, 'K3': 0.3146}
    """
    if constants not in K_CONSTANTS:
        raise ParameterError(
            f"The 'constants' parameter must be one of {list(K_CONSTANTS)}. Got {constants!r}."
        )
    if constants == "exact":
        return {
            "K1": 1.0 / d2_star(n_trials, n_operators * n_parts),
            "K2": 1.0 / d2_star(n_operators, 1),
            "K3": 1.0 / d2_star(n_parts, 1),
        }
    for table, value, what in (
        (AIAG_K1, n_trials, "trials"),
        (AIAG_K2, n_operators, "operators"),
        (AIAG_K3, n_parts, "parts"),
    ):
        if value not in table:
            raise ParameterError(
                f"The AIAG K table covers {min(table)}-{max(table)} {what}; the study has "
                f"{value}. Use constants='exact' (1/d2* for any design) or method='anova'."
            )
    return {"K1": AIAG_K1[n_trials], "K2": AIAG_K2[n_operators], "K3": AIAG_K3[n_parts]}


# --------------------------------------------------------------------------- small results


@dataclass(frozen=True, slots=True)
class Acceptance:
    """One acceptance decision: the basis, its value, a code and the bilingual text.

    ``code`` is ``acceptable`` / ``conditional`` / ``unacceptable`` for the percentage bases
    (``study_var``, ``tolerance``, ``process``) and ``adequate`` / ``inadequate`` for ``ndc``.
    """

    basis: str
    value: float | None
    code: str
    zh: str
    en: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "basis": self.basis,
            "value": jsonable(self.value),
            "code": self.code,
            "zh": self.zh,
            "en": self.en,
        }


def grade(percent: float, basis: str = "study_var") -> Acceptance:
    """The AIAG band of a GRR percentage: < 10 acceptable, 10-30 conditional, > 30 unacceptable.

    AIAG MSA 4th ed., Table II-D 1 ("under 10 percent ... generally considered acceptable",
    "10 percent to 30 percent ... may be acceptable", "over 30 percent ... unacceptable").

    Examples
    --------
    >>> grade(9.99).code, grade(10.0).code, grade(30.0).code, grade(30.01).zh
    ('acceptable', 'conditional', 'conditional', '不可接受')
    """
    value = float(percent)
    if value < 10.0:
        code = "acceptable"
    elif value <= 30.0:
        code = "conditional"
    else:
        code = "unacceptable"
    zh, en = _BANDS[code]
    return Acceptance(basis=basis, value=value, code=code, zh=zh, en=en)


def _ndc_acceptance(ndc: int | None) -> Acceptance:
    code = "adequate" if ndc is None or ndc >= NDC_MIN else "inadequate"
    zh, en = _BANDS[code]
    return Acceptance(
        basis="ndc", value=None if ndc is None else float(ndc), code=code, zh=zh, en=en
    )


@dataclass(frozen=True, slots=True)
class AnovaRow:
    """One row of an ANOVA table (``ms``, ``f``, ``p`` are ``None`` where they do not apply)."""

    source: str
    df: int
    ss: float
    ms: float | None = None
    f: float | None = None
    p: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "df": self.df,
            "ss": jsonable(self.ss),
            "ms": jsonable(self.ms),
            "f": jsonable(self.f),
            "p": jsonable(self.p),
        }


# --------------------------------------------------------------------------- text helpers


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    """Left-justify ``text`` to ``width`` terminal columns (CJK characters take two)."""
    return text + " " * max(0, width - _width(text))


def _rjust(text: str, width: int) -> str:
    """Right-justify ``text`` to ``width`` terminal columns (CJK characters take two)."""
    return " " * max(0, width - _width(text)) + text


def _num(x: float | None, spec: str = ".6g", width: int = 12) -> str:
    if x is None or not math.isfinite(x):
        return "—".rjust(width)
    return format(x, spec).rjust(width)


def _pct(x: float | None, width: int = 10) -> str:
    return _num(x, ".2f", width)


def _p(x: float | None, width: int = 8) -> str:
    if x is None or not math.isfinite(x):
        return "—".rjust(width)
    return ("<0.001" if x < 0.001 else f"{x:.3f}").rjust(width)


# --------------------------------------------------------------------------- input helpers


def _levels(labels: Any, n: int, name: str, func: str) -> tuple[IntArray, tuple[Any, ...]]:
    """Codes 0..k-1 of one label per value, and the levels in natural order.

    Levels are sorted (numbers numerically; text that all reads as numbers, e.g. "1".."10" from
    a file, numerically too; other text in code-point order), so that the result never depends
    on the order of the rows.
    """
    arr = np.asarray(labels)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1 or arr.size != n:
        raise ParameterError(
            f"The {name!r} parameter of {func} must give one label per value ({n} values). "
            f"Got {arr.size} labels of shape {arr.shape}."
        )
    kind = arr.dtype.kind
    if kind == "f":
        missing = ~np.isfinite(arr)
    elif kind == "O":
        none = np.array([None], dtype=object)
        missing = np.asarray(np.equal(arr, none) | np.not_equal(arr, arr), dtype=bool)
        arr = arr.astype(str)
        missing |= np.char.str_len(np.char.strip(arr)) == 0
    elif kind in "US":
        missing = np.char.str_len(np.char.strip(arr.astype(str))) == 0
    elif kind == "M":
        missing = np.isnat(arr)
    else:
        missing = np.zeros(n, dtype=bool)
    if missing.any():
        where = np.flatnonzero(missing)
        i = int(where[0])
        more = f" (and {where.size - 1} more)" if where.size > 1 else ""
        raise DataError(
            f"{func}: the {name} label is missing at index {i}{more}. Give every measurement "
            f"its {name}.",
            index=i,
            code="missing_label",
        )
    levels, codes = np.unique(arr, return_inverse=True)
    codes = codes.reshape(-1).astype(np.int64)
    level_list = levels.tolist()
    if levels.dtype.kind in "US":
        try:
            numeric = [float(v) for v in level_list]
        except ValueError:
            numeric = None
        if numeric is not None:
            order = np.argsort(np.asarray(numeric), kind="stable")
            rank = np.empty(order.size, dtype=np.int64)
            rank[order] = np.arange(order.size)
            codes = rank[codes]
            level_list = [level_list[i] for i in order.tolist()]
    return codes, tuple(level_list)


def _spec(
    tolerance: float | None, lsl: float | None, usl: float | None, func: str
) -> tuple[float | None, float | None, float | None]:
    """The tolerance width (USL - LSL) from ``tolerance`` or ``lsl``/``usl``."""
    if tolerance is not None and (lsl is not None or usl is not None):
        raise ParameterError(
            f"{func}: give tolerance= (the width USL - LSL) or lsl= and usl=, not both."
        )
    if tolerance is not None:
        return check_positive_scalar(tolerance, "tolerance", func), None, None
    if lsl is None and usl is None:
        return None, None, None
    if lsl is None or usl is None:
        given = "lsl" if usl is None else "usl"
        raise ParameterError(
            f"{func} needs both lsl and usl for %Tolerance (tolerance = usl - lsl); only {given} "
            "was given. One-sided tolerances are not supported: give both limits or tolerance=."
        )
    lo = check_finite_scalar(lsl, "lsl", func)
    hi = check_finite_scalar(usl, "usl", func)
    if hi <= lo:
        raise ParameterError(f"{func} needs usl > lsl. Got lsl={lo:g}, usl={hi:g}.")
    return hi - lo, lo, hi


def _choice(value: Any, allowed: Sequence[str], name: str, func: str) -> str:
    if value not in allowed:
        raise ParameterError(
            f"The {name!r} parameter of {func} must be one of {list(allowed)}. Got {value!r}."
        )
    return str(value)


def _confidence(value: Any, func: str) -> float:
    try:
        c = float(value)
    except (TypeError, ValueError):
        c = math.nan
    if not 0.0 < c < 1.0:
        raise ParameterError(
            f"The 'confidence' parameter of {func} must be a level in (0, 1), e.g. 0.95. "
            f"Got {value!r}."
        )
    return c


def _ratio(a: float, b: float) -> float:
    """``a / b`` with ``x/0 = inf`` (x > 0) and ``0/0 = nan``, without warnings."""
    if b == 0.0:
        return math.inf if a > 0.0 else (math.nan if a == 0.0 else -math.inf)
    return a / b


def _signed_ratio(a: float, b: float) -> float:
    """``a / b`` for ``b >= 0``: ``±inf`` when ``b == 0`` and ``a != 0``, ``nan`` for ``0/0``."""
    return _ratio(a, b) if a >= 0.0 else -_ratio(-a, b)


def _f_p(f: float, df1: float, df2: float) -> float:
    if math.isnan(f):
        return math.nan
    return float(special.fdtrc(df1, df2, f))


def _t_p(t: float, df: float) -> float:
    """Two-sided p-value of a t statistic."""
    if math.isnan(t) or df <= 0:
        return math.nan
    return float(2.0 * special.stdtr(df, -abs(t)))


def _t_q(q: float, df: float) -> float:
    return float(special.stdtrit(df, q))


# --------------------------------------------------------------------------- crossed design


@dataclass(frozen=True, slots=True)
class _Crossed:
    y: FloatArray  # (parts, operators, trials)
    parts: tuple[Any, ...]
    operators: tuple[Any, ...]


def _where(parts: tuple[Any, ...], operators: tuple[Any, ...], cell: int) -> str:
    o = len(operators)
    return f"part {parts[cell // o]!s} / operator {operators[cell % o]!s}"


def _crossed(parts: Any, operators: Any, values: Any, func: str) -> _Crossed:
    y = as_float_array(values, "values", func, nan_policy=None)
    n = y.size
    if n == 0:
        raise DataError(f"{func} needs data; got no values.", code="empty")
    pc, plev = _levels(parts, n, "part", func)
    oc, olev = _levels(operators, n, "operator", func)
    p, o = len(plev), len(olev)
    if o < 2:
        raise DataError(
            f"{func} needs at least 2 operators to estimate reproducibility; found 1 "
            f"({olev[0]!s}). With one operator use bias_study() on a reference part (type-1 "
            "study), or add operators.",
            code="too_few_operators",
        )
    if p < 2:
        raise DataError(
            f"{func} needs at least 2 parts to separate part variation; found 1 ({plev[0]!s}). "
            "AIAG recommends 10 parts that span the process range.",
            code="too_few_parts",
        )
    cell = pc * o + oc
    counts = np.bincount(cell, minlength=p * o)
    empty = np.flatnonzero(counts == 0)
    if empty.size:
        shown = "; ".join(_where(plev, olev, int(c)) for c in empty[:5])
        more = f" (and {empty.size - 5} more)" if empty.size > 5 else ""
        raise DataError(
            f"{func} needs a crossed study: every operator measures every part. "
            f"{empty.size} part/operator cell{'s have' if empty.size > 1 else ' has'} no "
            f"measurement: {shown}{more}. Measure the missing combinations.",
            code="missing_cell",
        )
    r = int(np.bincount(counts).argmax())  # the usual number of trials per cell
    odd = np.flatnonzero(counts != r)
    if odd.size:
        c = int(odd[0])
        first = int(np.flatnonzero(cell == c)[0])
        raise DataError(
            f"{func} needs a balanced study: the same number of trials in every part/operator "
            f"cell. {_where(plev, olev, c)} has {int(counts[c])} measurement"
            f"{'s' if counts[c] != 1 else ''} while most cells have {r} "
            f"({odd.size} cell{'s differ' if odd.size > 1 else ' differs'}). Add the missing "
            "trials or remove the extra ones.",
            index=first,
            code="unbalanced",
        )
    if r < 2:
        raise DataError(
            f"{func} needs at least 2 trials per part and operator to estimate repeatability; "
            "every cell has 1 measurement. Let each operator measure each part 2-3 times "
            "(AIAG).",
            code="one_trial",
        )
    order = np.argsort(cell, kind="stable")
    cube = y[order].reshape(p, o, r)
    if not np.ptp(y) > 0.0:
        raise DataError(
            f"{func}: all {n} measurements are equal ({y[0]:g}); the study shows no variation "
            "to split. Check the gauge resolution (AIAG: at least a tenth of the process "
            "variation).",
            code="zero_spread",
        )
    return _Crossed(cube, plev, olev)


# --------------------------------------------------------------------------- intervals


def _mls(coef: FloatArray, ms: FloatArray, df: FloatArray, alpha: float) -> tuple[float, float]:
    """Modified large-sample interval of ``γ = Σ c_q E[MS_q]`` (Ting et al. 1990).

    Burdick, Borror & Montgomery (2005), sec. 3 and Appendix B: with ``a_q = |c_q| MS_q``,
    ``G_q = 1 - 1/F(1-α/2; n_q, ∞)``, ``H_q = 1/F(α/2; n_q, ∞) - 1``, the lower bound is
    ``γ̂ - sqrt(Σ⁺ G² a² + Σ⁻ H² a² + Σ⁺⁻ G_qr a_q a_r + Σ⁺⁺ G*_qt a_q a_t)`` and the upper
    ``γ̂ + sqrt(Σ⁺ H² a² + Σ⁻ G² a² + Σ⁺⁻ H_qr a_q a_r)``; for one positive term this is the exact
    chi-square interval. Both bounds are floored at 0. At most one negative term is supported
    (enough for every gauge R&R component).
    """
    est = float(coef @ ms)
    keep = coef != 0
    c, s, n = coef[keep], ms[keep], df[keep]
    a = np.abs(c) * s
    pos = np.flatnonzero(c > 0)
    neg = np.flatnonzero(c < 0)
    assert neg.size <= 1
    upper_q = special.chdtri(n, alpha / 2.0)  # upper α/2 point of χ²(n)
    lower_q = special.chdtri(n, 1.0 - alpha / 2.0)  # lower α/2 point
    g = 1.0 - n / upper_q
    h = n / lower_q - 1.0
    vl = float(np.sum((g[pos] * a[pos]) ** 2) + np.sum((h[neg] * a[neg]) ** 2))
    vu = float(np.sum((h[pos] * a[pos]) ** 2) + np.sum((g[neg] * a[neg]) ** 2))
    for rr in neg.tolist():
        for q in pos.tolist():
            f_hi = float(special.fdtri(n[q], n[rr], 1.0 - alpha / 2.0))
            f_lo = float(special.fdtri(n[q], n[rr], alpha / 2.0))
            g_qr = ((f_hi - 1.0) ** 2 - g[q] ** 2 * f_hi**2 - h[rr] ** 2) / f_hi
            h_qr = ((1.0 - f_lo) ** 2 - h[q] ** 2 * f_lo**2 - g[rr] ** 2) / f_lo
            vl += g_qr * a[q] * a[rr]
            vu += h_qr * a[q] * a[rr]
    if neg.size and pos.size > 1:
        # a difference with several positive terms: Ting et al.'s G* cross terms
        npos = pos.size
        for i in range(npos):
            for j in range(i + 1, npos):
                q, t = int(pos[i]), int(pos[j])
                nn = n[q] + n[t]
                g_nn = 1.0 - nn / special.chdtri(nn, alpha / 2.0)
                g_star = (
                    g_nn**2 * nn**2 / (n[q] * n[t])
                    - g[q] ** 2 * n[q] / n[t]
                    - g[t] ** 2 * n[t] / n[q]
                ) / (npos - 1)
                vl += g_star * a[q] * a[t]
    lo = est - math.sqrt(max(vl, 0.0))
    hi = est + math.sqrt(max(vu, 0.0))
    return max(0.0, lo), max(0.0, hi)


# --------------------------------------------------------------------------- gauge R&R result


@dataclass(frozen=True, slots=True)
class GaugeRRResult:
    """The result of a crossed gauge R&R study (:func:`gauge_rr`).

    The per-source mappings (``variance``, ``sd``, ``study_var``, ``pct_*``) have the keys
    ``grr`` (total gauge R&R), ``repeatability``, ``reproducibility``, ``operator`` (ANOVA
    method), ``part_x_operator`` (ANOVA method with the interaction kept), ``part`` and
    ``total``.

    Attributes
    ----------
    method : str
        ``"anova"`` or ``"xbar_r"`` (AIAG Average & Range).
    parts, operators : tuple
        The part and operator labels, in natural order.
    n_trials : int
        Measurements per part and operator.
    anova : tuple of AnovaRow or None
        The two-way ANOVA table with interaction (ANOVA method): rows ``part``, ``operator``,
        ``part_x_operator``, ``repeatability``, ``total``. F of part and operator is tested
        against the interaction mean square (random effects), as in Minitab.
    anova_reduced : tuple of AnovaRow or None
        The table without interaction (interaction pooled into ``repeatability``), when pooled.
    interaction : str or None
        The requested handling (``auto``, ``keep``, ``pool``); ``None`` for ``xbar_r``.
    interaction_pooled : bool
        Whether the variance components come from the model without interaction.
    interaction_p, alpha_remove : float
        The interaction's p-value and the alpha-to-remove it was compared with.
    variance, sd, study_var, pct_contribution, pct_study_var : mapping of str to float
    pct_tolerance, pct_process : mapping of str to float or None
        When a tolerance / a historical process sigma was given.
    study_var_multiplier : float
        The number of SDs in the study variation (6; AIAG 3rd ed.: 5.15).
    tolerance, lsl, usl, process_sigma : float or None
    ndc, ndc_raw, ndc_rule
        Number of distinct categories (truncated, at least 1; ``None`` when the study shows no
        gauge variation), before truncation, and the rule (``sqrt2`` Minitab, ``1.41`` AIAG).
    acceptance : mapping of str to Acceptance
        ``study_var`` always; ``tolerance``, ``process`` when given; ``ndc``.
    verdict : Acceptance
        The worst band of the percentage bases.
    zeroed : tuple of str
        Variance components whose estimate was negative and is reported as 0.
    intervals : mapping or None
        With ``confidence``: ``{"confidence", "method", "variance", "sd", "study_var",
        "pct_tolerance", "pct_process"}``, each a mapping of source to ``(lower, upper)``.
    average_range : mapping or None
        Average & Range worksheet figures (``xbar_r``): R̄ and X̄ per operator, R̿, X_diff, part
        averages, R_p, K1-K3, EV, AV, GRR, PV, TV.
    constants : str or None
        K constants of ``xbar_r`` (``aiag`` or ``exact``).
    warnings : tuple of str
    data : ndarray, shape (parts, operators, trials)
        The measurements arranged by part, operator and trial (for :meth:`charts`).
    """

    method: str
    parts: tuple[Any, ...]
    operators: tuple[Any, ...]
    n_trials: int
    anova: tuple[AnovaRow, ...] | None
    anova_reduced: tuple[AnovaRow, ...] | None
    interaction: str | None
    interaction_pooled: bool
    interaction_p: float | None
    alpha_remove: float | None
    variance: Mapping[str, float]
    sd: Mapping[str, float]
    study_var: Mapping[str, float]
    pct_contribution: Mapping[str, float]
    pct_study_var: Mapping[str, float]
    pct_tolerance: Mapping[str, float] | None
    pct_process: Mapping[str, float] | None
    study_var_multiplier: float
    tolerance: float | None
    lsl: float | None
    usl: float | None
    process_sigma: float | None
    ndc: int | None
    ndc_raw: float | None
    ndc_rule: str
    acceptance: Mapping[str, Acceptance]
    verdict: Acceptance
    zeroed: tuple[str, ...] = ()
    intervals: Mapping[str, Any] | None = None
    average_range: Mapping[str, Any] | None = None
    constants: str | None = None
    warnings: tuple[str, ...] = ()
    data: FloatArray = field(default_factory=lambda: np.empty((0, 0, 0)), repr=False, compare=False)

    @property
    def n_parts(self) -> int:
        return len(self.parts)

    @property
    def n_operators(self) -> int:
        return len(self.operators)

    @property
    def n_measurements(self) -> int:
        return self.n_parts * self.n_operators * self.n_trials

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON object (the same as ``zhuoyue msa --json``)."""

        def table(rows: tuple[AnovaRow, ...] | None) -> list[dict[str, Any]] | None:
            return None if rows is None else [r.to_dict() for r in rows]

        def block(m: Mapping[str, Any] | None) -> dict[str, Any] | None:
            return None if m is None else jsonable(dict(m))

        return {
            "study": "gauge_rr",
            "method": self.method,
            "n_parts": self.n_parts,
            "n_operators": self.n_operators,
            "n_trials": self.n_trials,
            "n_measurements": self.n_measurements,
            "parts": jsonable(list(self.parts)),
            "operators": jsonable(list(self.operators)),
            "anova": table(self.anova),
            "anova_reduced": table(self.anova_reduced),
            "interaction": None
            if self.interaction is None
            else {
                "requested": self.interaction,
                "alpha_remove": jsonable(self.alpha_remove),
                "p_value": jsonable(self.interaction_p),
                "pooled": self.interaction_pooled,
            },
            "study_var_multiplier": self.study_var_multiplier,
            "variance": block(self.variance),
            "sd": block(self.sd),
            "study_var": block(self.study_var),
            "pct_contribution": block(self.pct_contribution),
            "pct_study_var": block(self.pct_study_var),
            "pct_tolerance": block(self.pct_tolerance),
            "pct_process": block(self.pct_process),
            "tolerance": jsonable(self.tolerance),
            "lsl": jsonable(self.lsl),
            "usl": jsonable(self.usl),
            "process_sigma": jsonable(self.process_sigma),
            "ndc": self.ndc,
            "ndc_raw": jsonable(self.ndc_raw),
            "ndc_rule": self.ndc_rule,
            "acceptance": {k: a.to_dict() for k, a in self.acceptance.items()},
            "verdict": self.verdict.to_dict(),
            "zeroed": list(self.zeroed),
            "intervals": block(self.intervals),
            "average_range": block(self.average_range),
            "constants": self.constants,
            "warnings": list(self.warnings),
        }

    def charts(self) -> dict[str, Any]:
        """Data for the gauge R&R graphs (JSON-ready).

        ``components`` (components of variation bars), ``r_chart`` and ``xbar_chart`` (by
        operator: one list per operator over the parts, with R̿ / X̿ and D3/D4, A2 limits of
        ``n_trials``), ``by_part`` and ``by_operator`` (all values and means), ``interaction``
        (operator × part means: one line per operator).
        """
        y = self.data
        p, o, r = y.shape
        ranges = np.ptp(y, axis=2)  # (p, o)
        means = y.mean(axis=2)
        rbb = float(ranges.mean())
        grand = float(y.mean())
        a2 = float(K.A2(r))
        sources = ["grr", "repeatability", "reproducibility", "part"]
        comp: dict[str, Any] = {
            "sources": sources,
            "pct_contribution": [self.pct_contribution[s] for s in sources],
            "pct_study_var": [self.pct_study_var[s] for s in sources],
            "pct_tolerance": None
            if self.pct_tolerance is None
            else [self.pct_tolerance[s] for s in sources],
            "pct_process": None
            if self.pct_process is None
            else [self.pct_process[s] for s in sources],
        }
        labels = {"operators": list(self.operators), "parts": list(self.parts)}
        out = {
            "components": comp,
            "r_chart": {
                **labels,
                "ranges": ranges.T,
                "center": rbb,
                "lcl": float(K.D3(r)) * rbb,
                "ucl": float(K.D4(r)) * rbb,
            },
            "xbar_chart": {
                **labels,
                "means": means.T,
                "center": grand,
                "lcl": grand - a2 * rbb,
                "ucl": grand + a2 * rbb,
            },
            "by_part": {
                "parts": list(self.parts),
                "values": y.reshape(p, o * r),
                "means": y.mean(axis=(1, 2)),
            },
            "by_operator": {
                "operators": list(self.operators),
                "values": y.transpose(1, 0, 2).reshape(o, p * r),
                "means": y.mean(axis=(0, 2)),
            },
            "interaction": {**labels, "means": means.T},
        }
        return dict(jsonable(out))

    def summary(self, *, show_warnings: bool = True) -> str:
        """A Minitab-like gauge R&R report in Chinese and English (warnings at the end)."""
        lines: list[str] = []
        title = (
            "Gauge R&R study — ANOVA method  量具重复性与再现性研究（方差分析法）"
            if self.method == "anova"
            else "Gauge R&R study — Average & Range method  量具重复性与再现性研究（均值极差法）"
        )
        lines.append(title)
        lines.append(
            f"{self.n_parts} parts 零件 × {self.n_operators} operators 操作员 × "
            f"{self.n_trials} trials 次测量 = {self.n_measurements} measurements 个测量值"
        )
        if self.anova is not None:
            lines.append("")
            lines.append("Two-way ANOVA table with interaction  含交互作用的双因子方差分析表")
            lines.extend(_anova_lines(self.anova))
            if self.interaction_pooled and self.anova_reduced is not None:
                why = {
                    "auto": f"p = {_p(self.interaction_p, 0).strip()} > α to remove = "
                    f"{self.alpha_remove:g}",
                    "pool": "interaction='pool'",
                    "keep": "",
                }[self.interaction or "auto"]
                lines.append(f"Interaction pooled into repeatability ({why})  交互作用并入重复性")
                lines.append("")
                lines.append(
                    "Two-way ANOVA table without interaction  不含交互作用的双因子方差分析表"
                )
                lines.extend(_anova_lines(self.anova_reduced))
            else:
                why = (
                    "interaction='keep'"
                    if self.interaction == "keep"
                    else f"p = {_p(self.interaction_p, 0).strip()} ≤ α to remove = "
                    f"{self.alpha_remove:g}"
                )
                lines.append(f"Interaction kept ({why})  保留交互作用")
        if self.average_range is not None:
            ar = self.average_range
            lines.append("")
            lines.append("Average & Range worksheet  均值极差法计算表")
            lines.append(
                f"  R̿ = {ar['rbarbar']:.6g}   X_diff = {ar['xdiff']:.6g}   R_p = {ar['rp']:.6g}   "
                f"K1 = {ar['K1']:.4f}  K2 = {ar['K2']:.4f}  K3 = {ar['K3']:.4f} "
                f"({self.constants})"
            )
            lines.append(
                f"  EV = {ar['EV']:.6g}  AV = {ar['AV']:.6g}  GRR = {ar['GRR']:.6g}  "
                f"PV = {ar['PV']:.6g}  TV = {ar['TV']:.6g}"
            )
        lines.append("")
        lines.append("Gauge R&R  量具 R&R")
        names = [k for k in _SOURCES if k in self.variance]
        w = 34
        lines.append(
            _pad("Source 来源", w)
            + _rjust("VarComp 方差分量", 16)
            + _rjust("%Contribution 贡献率", 22)
        )
        for k in names:
            en, zh, depth = _SOURCES[k]
            lines.append(
                _pad("  " * depth + f"{en} {zh}", w)
                + _num(self.variance[k], ".6g", 16)
                + _pct(self.pct_contribution[k], 22)
            )
        lines.append("")
        k_sv = f"{self.study_var_multiplier:g}"
        head = (
            _pad("Source 来源", w)
            + _rjust("StdDev 标准差", 14)
            + f"StudyVar ({k_sv}×SD)".rjust(18)
            + "%StudyVar".rjust(11)
        )
        if self.pct_tolerance is not None:
            head += "%Tolerance".rjust(12)
        if self.pct_process is not None:
            head += "%Process".rjust(10)
        lines.append(head)
        for k in names:
            en, zh, depth = _SOURCES[k]
            row = (
                _pad("  " * depth + f"{en} {zh}", w)
                + _num(self.sd[k], ".6g", 14)
                + _num(self.study_var[k], ".6g", 18)
                + _pct(self.pct_study_var[k], 11)
            )
            if self.pct_tolerance is not None:
                row += _pct(self.pct_tolerance[k], 12)
            if self.pct_process is not None:
                row += _pct(self.pct_process[k], 10)
            lines.append(row)
        if self.tolerance is not None:
            lines.append(f"Tolerance 公差 = {self.tolerance:.6g}")
        if self.process_sigma is not None:
            lines.append(f"Historical process sigma 历史过程标准差 = {self.process_sigma:.6g}")
        if self.intervals is not None:
            lines.append("")
            conf = float(self.intervals["confidence"])
            lines.append(
                f"{conf * 100:g}% confidence intervals 置信区间 ({self.intervals['method']})"
            )
            for k in names:
                en, zh, depth = _SOURCES[k]
                lo, hi = self.intervals["sd"][k]
                lines.append(_pad("  " * depth + f"{en} {zh}", w) + f"SD  [{lo:.6g}, {hi:.6g}]")
        lines.append("")
        rule = (
            "floor(√2 × SD_part / SD_GRR)" if self.ndc_rule == "sqrt2" else "floor(1.41 × PV / GRR)"
        )
        ndc_txt = "—" if self.ndc is None else str(self.ndc)
        raw = (
            "—"
            if self.ndc_raw is None or not math.isfinite(self.ndc_raw)
            else f"{self.ndc_raw:.4g}"
        )
        lines.append(
            f"Number of distinct categories 可区分类别数 ndc = {ndc_txt}  ({rule}, raw {raw}; "
            f"AIAG ≥ {NDC_MIN})"
        )
        lines.append("")
        lines.append(
            "Acceptance (AIAG: < 10 % acceptable, 10-30 % conditional, > 30 % unacceptable)"
        )
        lines.append("判定（AIAG：< 10 % 可接受，10-30 % 有条件接受，> 30 % 不可接受）")
        for basis, acc in self.acceptance.items():
            zh_t, en_t = _BASIS_TITLES[basis]
            if basis == "ndc":
                lines.append(f"  {en_t} {zh_t} = {ndc_txt}: {acc.zh} / {acc.en}")
            else:
                lines.append(f"  GRR {en_t} {zh_t} = {acc.value:.2f} %: {acc.zh} / {acc.en}")
        lines.append(f"  Verdict 结论: {self.verdict.zh} / {self.verdict.en}")
        if self.warnings and show_warnings:
            lines.append("")
            lines.extend(f"warning 注意: {w_}" for w_ in self.warnings)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return "<pre>" + html.escape(self.summary()) + "</pre>"


def _anova_lines(rows: tuple[AnovaRow, ...]) -> list[str]:
    w = 30
    out = [
        _pad("Source 来源", w)
        + "DF".rjust(5)
        + "SS".rjust(13)
        + "MS".rjust(13)
        + "F".rjust(11)
        + "P".rjust(8)
    ]
    for row in rows:
        out.append(
            _pad(_ANOVA_NAMES.get(row.source, row.source), w)
            + str(row.df).rjust(5)
            + _num(row.ss, ".6g", 13)
            + ("" if row.ms is None else _num(row.ms, ".6g", 13))
            + ("" if row.f is None else _num(row.f, ".5g", 11))
            + ("" if row.p is None else _p(row.p))
        )
    return out


# --------------------------------------------------------------------------- gauge R&R


def gauge_rr(
    parts: Any,
    operators: Any,
    values: npt.ArrayLike,
    *,
    tolerance: float | None = None,
    lsl: float | None = None,
    usl: float | None = None,
    method: str = "anova",
    interaction: str = "auto",
    alpha_remove: float = 0.25,
    study_var: float = 6.0,
    process_sigma: float | None = None,
    confidence: float | None = None,
    ndc_rule: str = "sqrt2",
    constants: str = "aiag",
) -> GaugeRRResult:
    """Crossed gauge R&R study (ANOVA or AIAG Average & Range method).

    Parameters
    ----------
    parts, operators : array_like, 1-D
        The part and the operator (appraiser) of each measurement; labels of any type (numbers,
        text). Every operator must measure every part the same number of times (2 or more).
    values : array_like, 1-D
        The measurements.
    tolerance : float, optional
        The tolerance width USL - LSL, for %Tolerance. Or give ``lsl`` and ``usl``.
    lsl, usl : float, optional
        Specification limits (both), for %Tolerance.
    method : {"anova", "xbar_r"}
        Two-way ANOVA (Minitab's default) or the AIAG Average & Range method.
    interaction : {"auto", "keep", "pool"}
        ANOVA method: pool the part × operator interaction into repeatability when its p-value
        is above ``alpha_remove`` (``"auto"``, Minitab), never (``"keep"``), always (``"pool"``).
    alpha_remove : float in [0, 1]
        Minitab's alpha to remove the interaction term (0.25).
    study_var : float
        The number of standard deviations in the study variation (6; AIAG 3rd ed. 5.15).
    process_sigma : float, optional
        A historical process standard deviation, for %Process (= 100 SD / process_sigma).
    confidence : float in (0, 1), optional
        ANOVA method: add two-sided confidence intervals of the variance components, SDs, study
        variations and (fixed-denominator) %Tolerance / %Process: exact chi-square for
        repeatability, modified large-sample (MLS) intervals for the other components (Burdick,
        Borror & Montgomery 2005), computed for the unconstrained estimates and floored at 0.
    ndc_rule : {"sqrt2", "1.41"}
        ``floor(√2 SD_part / SD_GRR)`` (Minitab) or ``floor(1.41 PV / GRR)`` (AIAG).
    constants : {"aiag", "exact"}
        Average & Range method: AIAG's 4-decimal K1/K2/K3 tables or exact ``1/d2*`` (see
        :func:`k_factors`).

    Returns
    -------
    GaugeRRResult

    Raises
    ------
    DataError
        A missing label or a value that is not a finite number (``index`` = its position), one
        operator, one part, a part/operator cell without measurements, cells with different
        numbers of trials (``index`` = the first value of the odd cell), one trial per cell, or
        no variation at all.
    ParameterError
        An unknown method / interaction / rule, a bad tolerance, multiplier, sigma or level.

    Notes
    -----
    Crossed, balanced, random parts and operators (AIAG MSA 4th ed. III-B 3; Montgomery,
    *Introduction to SQC*, 8th ed., ch. 8). The ANOVA table always shows the model with
    interaction; its F for part and operator uses the interaction mean square. When the
    interaction is pooled the table without interaction follows and the variance components come
    from it. Unbalanced or nested studies are not covered (Minitab: Expanded / Nested gauge R&R).
    Ranges of a part and operator beyond the R chart's UCL ``D4(r) R̿`` are listed in
    ``warnings``: AIAG asks to find their cause and re-measure before using the study.

    Examples
    --------
    >>> import numpy as np
    >>> parts = np.repeat([1, 2, 3, 4, 5], 6)                   # 5 parts
    >>> operators = np.tile(np.repeat(["A", "B", "C"], 2), 5)   # 3 operators x 2 trials
    >>> true = np.array([10.0, 10.6, 9.5, 10.2, 9.8])[parts - 1]
    >>> offset = {"A": 0.0, "B": 0.08, "C": -0.04}
    >>> noise = np.tile([0.03, -0.02, 0.01, -0.03, 0.02, 0.0], 5) * np.repeat([1, -1, 2, 1, -2], 6)
    >>> values = true + np.array([offset[o] for o in operators]) + noise
    >>> res = gauge_rr(parts, operators, values, tolerance=2.0)
    >>> res.interaction_pooled, round(res.pct_study_var["grr"], 2), res.ndc
    (True, 16.25, 8)
    >>> res.verdict.code, res.verdict.zh
    ('conditional', '有条件接受')
    """
    func = "gauge_rr"
    method = _choice(method, METHODS, "method", func)
    interaction = _choice(interaction, INTERACTIONS, "interaction", func)
    ndc_rule = _choice(ndc_rule, NDC_RULES, "ndc_rule", func)
    constants = _choice(constants, K_CONSTANTS, "constants", func)
    try:
        alpha = float(alpha_remove)
    except (TypeError, ValueError):
        alpha = math.nan
    if not 0.0 <= alpha <= 1.0:
        raise ParameterError(
            f"The 'alpha_remove' parameter of {func} must be in [0, 1] (Minitab: 0.25). "
            f"Got {alpha_remove!r}."
        )
    k_sv = check_positive_scalar(study_var, "study_var", func)
    tol, lo_spec, hi_spec = _spec(tolerance, lsl, usl, func)
    sigma_p = (
        None
        if process_sigma is None
        else check_positive_scalar(process_sigma, "process_sigma", func)
    )
    conf = None if confidence is None else _confidence(confidence, func)
    if method == "xbar_r":
        if interaction != "auto":
            raise ParameterError(
                f"interaction={interaction!r} applies to method='anova'; the Average & Range "
                "method has no interaction term."
            )
        if conf is not None:
            raise ParameterError("Confidence intervals are available with method='anova' only.")
    study = _crossed(parts, operators, values, func)
    y = study.y
    r = y.shape[2]
    warnings: list[str] = []
    zeroed: list[str] = []
    anova_rows: tuple[AnovaRow, ...] | None = None
    reduced_rows: tuple[AnovaRow, ...] | None = None
    inter_p: float | None = None
    pooled = False
    intervals_var: dict[str, tuple[float, float]] | None = None
    average_range: dict[str, Any] | None = None
    if method == "anova":
        (anova_rows, reduced_rows, inter_p, pooled, variance, raw, lin) = _anova(
            y, interaction, alpha
        )
        for name, est in raw.items():
            if est < 0.0:
                zeroed.append(name)
                warnings.append(
                    f"the {_SOURCES[name][0].lower()} variance estimate is negative "
                    f"({est:.4g}) and is set to 0 (AIAG, Minitab)"
                )
        if conf is not None:
            coefs, ms, dfs = lin
            intervals_var = {name: _mls(c, ms, dfs, 1.0 - conf) for name, c in coefs.items()}
    else:
        variance, average_range, av2 = _average_range(y, constants)
        if av2 < 0.0:
            zeroed.append("reproducibility")
            warnings.append(
                f"(X_diff·K2)² - EV²/(n r) = {av2:.4g} is negative: the appraiser variation AV "
                "is set to 0 (AIAG)"
            )
    total = variance["total"]
    if not total > 0.0:
        raise DataError(
            f"{func}: the estimated total variation is 0: the measurements differ only by "
            "an operator × part pattern the Average & Range method cannot see. Use "
            "method='anova'.",
            code="zero_spread",
        )
    sd = {k: math.sqrt(v) for k, v in variance.items()}
    sv = {k: k_sv * s for k, s in sd.items()}
    pct_contrib = {k: 100.0 * v / total for k, v in variance.items()}
    pct_sv = {k: 100.0 * s / sd["total"] for k, s in sd.items()}
    pct_tol = None if tol is None else {k: 100.0 * v / tol for k, v in sv.items()}
    pct_proc = None if sigma_p is None else {k: 100.0 * s / sigma_p for k, s in sd.items()}
    factor = math.sqrt(2.0) if ndc_rule == "sqrt2" else 1.41
    if sd["grr"] > 0.0:
        ndc_raw: float | None = factor * sd["part"] / sd["grr"]
        assert ndc_raw is not None
        ndc: int | None = max(1, math.floor(ndc_raw))
    else:
        ndc_raw, ndc = math.inf, None
        warnings.append(
            "the study shows no measurement variation (GRR = 0): every repeat reading and every "
            "operator agree exactly. Check that the gauge resolution is fine enough (AIAG: at "
            "least a tenth of the process variation); ndc is undefined"
        )
    if ndc is not None and ndc < NDC_MIN:
        warnings.append(
            f"ndc = {ndc} < {NDC_MIN}: the gauge cannot separate parts well (AIAG: at least 5 "
            "distinct categories)"
        )
    acceptance: dict[str, Acceptance] = {"study_var": grade(pct_sv["grr"], "study_var")}
    if pct_tol is not None:
        acceptance["tolerance"] = grade(pct_tol["grr"], "tolerance")
    if pct_proc is not None:
        acceptance["process"] = grade(pct_proc["grr"], "process")
    verdict = max(acceptance.values(), key=lambda a: _RANK[a.code])
    acceptance["ndc"] = _ndc_acceptance(ndc)
    warnings.extend(_range_warnings(study))
    intervals: dict[str, Any] | None = None
    if intervals_var is not None and conf is not None:
        iv_sd = {k: (math.sqrt(lo), math.sqrt(hi)) for k, (lo, hi) in intervals_var.items()}
        intervals = {
            "confidence": conf,
            "method": "repeatability exact chi-square; other components MLS (Burdick, Borror "
            "& Montgomery 2005)",
            "variance": intervals_var,
            "sd": iv_sd,
            "study_var": {k: (k_sv * lo, k_sv * hi) for k, (lo, hi) in iv_sd.items()},
            "pct_tolerance": None
            if tol is None
            else {
                k: (100 * k_sv * lo / tol, 100 * k_sv * hi / tol) for k, (lo, hi) in iv_sd.items()
            },
            "pct_process": None
            if sigma_p is None
            else {k: (100 * lo / sigma_p, 100 * hi / sigma_p) for k, (lo, hi) in iv_sd.items()},
        }
    return GaugeRRResult(
        method=method,
        parts=study.parts,
        operators=study.operators,
        n_trials=r,
        anova=anova_rows,
        anova_reduced=reduced_rows,
        interaction=interaction if method == "anova" else None,
        interaction_pooled=pooled,
        interaction_p=inter_p,
        alpha_remove=alpha if method == "anova" else None,
        variance=variance,
        sd=sd,
        study_var=sv,
        pct_contribution=pct_contrib,
        pct_study_var=pct_sv,
        pct_tolerance=pct_tol,
        pct_process=pct_proc,
        study_var_multiplier=k_sv,
        tolerance=tol,
        lsl=lo_spec,
        usl=hi_spec,
        process_sigma=sigma_p,
        ndc=ndc,
        ndc_raw=ndc_raw,
        ndc_rule=ndc_rule,
        acceptance=acceptance,
        verdict=verdict,
        zeroed=tuple(zeroed),
        intervals=intervals,
        average_range=average_range,
        constants=constants if method == "xbar_r" else None,
        warnings=tuple(warnings),
        data=y,
    )


def _anova(
    y: FloatArray, interaction: str, alpha: float
) -> tuple[
    tuple[AnovaRow, ...],
    tuple[AnovaRow, ...] | None,
    float,
    bool,
    dict[str, float],
    dict[str, float],
    tuple[dict[str, FloatArray], FloatArray, FloatArray],
]:
    """ANOVA tables, pooling decision, variance components and their linear forms in the MS."""
    p, o, r = y.shape
    d = y - y.mean()
    cell = d.mean(axis=2)
    pe = cell.mean(axis=1)
    oe = cell.mean(axis=0)
    inter = cell - pe[:, None] - oe[None, :]
    resid = d - cell[:, :, None]
    ss_p = float(o * r * (pe @ pe))
    ss_o = float(p * r * (oe @ oe))
    ss_po = float(r * np.sum(inter * inter))
    ss_e = float(np.sum(resid * resid))
    ss_t = float(np.sum(d * d))
    # sums of squares at the level of rounding noise are 0 (e.g. no repeat variation at all),
    # so that 0/0 F tests stay undefined instead of becoming noise/0 = inf
    tiny = 1e-13 * ss_t
    ss_p, ss_o, ss_po, ss_e = (v if v > tiny else 0.0 for v in (ss_p, ss_o, ss_po, ss_e))
    df_p, df_o = p - 1, o - 1
    df_po, df_e = df_p * df_o, p * o * (r - 1)
    ms_p, ms_o, ms_po, ms_e = ss_p / df_p, ss_o / df_o, ss_po / df_po, ss_e / df_e
    f_p, f_o, f_po = _ratio(ms_p, ms_po), _ratio(ms_o, ms_po), _ratio(ms_po, ms_e)
    p_po = _f_p(f_po, df_po, df_e)
    full = (
        AnovaRow("part", df_p, ss_p, ms_p, f_p, _f_p(f_p, df_p, df_po)),
        AnovaRow("operator", df_o, ss_o, ms_o, f_o, _f_p(f_o, df_o, df_po)),
        AnovaRow("part_x_operator", df_po, ss_po, ms_po, f_po, p_po),
        AnovaRow("repeatability", df_e, ss_e, ms_e),
        AnovaRow("total", p * o * r - 1, ss_t),
    )
    if interaction == "keep":
        pooled = False
    elif interaction == "pool":
        pooled = True
    else:
        pooled = not p_po <= alpha  # an untestable interaction (NaN p) is pooled
    pr, orr = float(p * r), float(o * r)
    reduced: tuple[AnovaRow, ...] | None = None
    coefs: dict[str, FloatArray]
    if pooled:
        df_pool = df_po + df_e
        ss_pool = ss_po + ss_e
        ms_pool = ss_pool / df_pool
        fp2, fo2 = _ratio(ms_p, ms_pool), _ratio(ms_o, ms_pool)
        reduced = (
            AnovaRow("part", df_p, ss_p, ms_p, fp2, _f_p(fp2, df_p, df_pool)),
            AnovaRow("operator", df_o, ss_o, ms_o, fo2, _f_p(fo2, df_o, df_pool)),
            AnovaRow("repeatability", df_pool, ss_pool, ms_pool),
            AnovaRow("total", p * o * r - 1, ss_t),
        )
        ms = np.array([ms_p, ms_o, ms_pool])
        dfs = np.array([df_p, df_o, df_pool], dtype=np.float64)
        raw = {
            "operator": (ms_o - ms_pool) / pr,
            "part": (ms_p - ms_pool) / orr,
        }
        coefs = {
            "grr": np.array([0.0, 1 / pr, 1 - 1 / pr]),
            "repeatability": np.array([0.0, 0.0, 1.0]),
            "reproducibility": np.array([0.0, 1 / pr, -1 / pr]),
            "operator": np.array([0.0, 1 / pr, -1 / pr]),
            "part": np.array([1 / orr, 0.0, -1 / orr]),
            "total": np.array([1 / orr, 1 / pr, 1 - 1 / orr - 1 / pr]),
        }
        rep = ms_pool
        comp_po = None
    else:
        ms = np.array([ms_p, ms_o, ms_po, ms_e])
        dfs = np.array([df_p, df_o, df_po, df_e], dtype=np.float64)
        raw = {
            "operator": (ms_o - ms_po) / pr,
            "part_x_operator": (ms_po - ms_e) / r,
            "part": (ms_p - ms_po) / orr,
        }
        coefs = {
            "grr": np.array([0.0, 1 / pr, (p - 1) / pr, 1 - 1 / r]),
            "repeatability": np.array([0.0, 0.0, 0.0, 1.0]),
            "reproducibility": np.array([0.0, 1 / pr, (p - 1) / pr, -1 / r]),
            "operator": np.array([0.0, 1 / pr, -1 / pr, 0.0]),
            "part_x_operator": np.array([0.0, 0.0, 1 / r, -1 / r]),
            "part": np.array([1 / orr, 0.0, -1 / orr, 0.0]),
            "total": np.array([1 / orr, 1 / pr, (p - 1) / pr - 1 / orr, 1 - 1 / r]),
        }
        rep = ms_e
        comp_po = max(0.0, raw["part_x_operator"])
    comp_o = max(0.0, raw["operator"])
    comp_p = max(0.0, raw["part"])
    repro = comp_o + (comp_po or 0.0)
    grr = rep + repro
    variance = {
        "grr": grr,
        "repeatability": rep,
        "reproducibility": repro,
        "operator": comp_o,
    }
    if comp_po is not None:
        variance["part_x_operator"] = comp_po
    variance["part"] = comp_p
    variance["total"] = grr + comp_p
    return full, reduced, p_po, pooled, variance, raw, (coefs, ms, dfs)


def _average_range(y: FloatArray, constants: str) -> tuple[dict[str, float], dict[str, Any], float]:
    """AIAG Average & Range method: variances and the worksheet figures."""
    p, o, r = y.shape
    kf = k_factors(r, o, p, constants)
    ranges = np.ptp(y, axis=2)
    rbar_op = ranges.mean(axis=0)
    rbb = float(rbar_op.mean())
    xbar_op = y.mean(axis=(0, 2))
    xdiff = float(np.ptp(xbar_op))
    part_means = y.mean(axis=(1, 2))
    rp = float(np.ptp(part_means))
    ev = rbb * kf["K1"]
    av2 = (xdiff * kf["K2"]) ** 2 - ev * ev / (p * r)
    var_rep = ev * ev
    var_repro = max(0.0, av2)
    var_grr = var_rep + var_repro
    pv = rp * kf["K3"]
    var_part = pv * pv
    variance = {
        "grr": var_grr,
        "repeatability": var_rep,
        "reproducibility": var_repro,
        "part": var_part,
        "total": var_grr + var_part,
    }
    tv = math.sqrt(variance["total"])
    grr = math.sqrt(var_grr)
    av = math.sqrt(var_repro)
    details: dict[str, Any] = {
        "rbar_by_operator": rbar_op,
        "rbarbar": rbb,
        "xbar_by_operator": xbar_op,
        "xdiff": xdiff,
        "part_means": part_means,
        "rp": rp,
        **kf,
        "EV": ev,
        "AV": av,
        "GRR": grr,
        "PV": pv,
        "TV": tv,
        "pct_EV": _pct_of(ev, tv),
        "pct_AV": _pct_of(av, tv),
        "pct_GRR": _pct_of(grr, tv),
        "pct_PV": _pct_of(pv, tv),
    }
    return variance, details, av2


def _pct_of(a: float, b: float) -> float:
    return 100.0 * a / b if b > 0.0 else math.nan


def _range_warnings(study: _Crossed) -> list[str]:
    """AIAG: ranges beyond the R chart's UCL = D4 R̿ point to special causes; re-measure them."""
    y = study.y
    r = y.shape[2]
    ranges = np.ptp(y, axis=2)
    ucl = float(K.D4(r)) * float(ranges.mean())
    beyond = np.argwhere(ranges > ucl)
    if beyond.size == 0:
        return []
    cells = [f"part {study.parts[i]!s} / operator {study.operators[j]!s}" for i, j in beyond[:5]]
    more = f" (and {len(beyond) - 5} more)" if len(beyond) > 5 else ""
    return [
        f"{len(beyond)} range{'s' if len(beyond) > 1 else ''} beyond the R chart UCL "
        f"{ucl:.4g} (D4·R̿): {'; '.join(cells)}{more}. AIAG: find the cause and re-measure "
        "those parts before relying on the study"
    ]


# --------------------------------------------------------------------------- bias and linearity


@dataclass(frozen=True, slots=True)
class BiasRow:
    """The bias of one reference part (or the average over all parts) with its t-test.

    ``bias = mean - reference``; ``se = sd/sqrt(n)`` (per part: the part's sample SD, ``df =
    n - 1``; average: the pooled within-part SD, ``df = N - g``); ``t = bias/se``; two-sided
    ``p``; ``ci`` at the study's confidence. ``t``/``p``/``ci`` are ``None`` without repeat
    readings.
    """

    part: Any
    reference: float | None
    n: int
    mean: float | None
    bias: float
    sd: float | None
    se: float | None
    df: int
    t: float | None
    p: float | None
    ci: tuple[float, float] | None
    pct_bias_process: float | None = None
    pct_bias_tolerance: float | None = None

    @property
    def acceptable(self) -> bool | None:
        """AIAG: the bias is acceptable when 0 lies inside its confidence interval."""
        if self.ci is None:
            return None
        return bool(self.ci[0] <= 0.0 <= self.ci[1])

    def to_dict(self) -> dict[str, Any]:
        return {
            "part": jsonable(self.part),
            "reference": jsonable(self.reference),
            "n": self.n,
            "mean": jsonable(self.mean),
            "bias": jsonable(self.bias),
            "sd": jsonable(self.sd),
            "se": jsonable(self.se),
            "df": self.df,
            "t": jsonable(self.t),
            "p": jsonable(self.p),
            "ci": None if self.ci is None else jsonable(list(self.ci)),
            "acceptable": self.acceptable,
            "pct_bias_process": jsonable(self.pct_bias_process),
            "pct_bias_tolerance": jsonable(self.pct_bias_tolerance),
        }


def _bias_row(
    part: Any,
    reference: float | None,
    n: int,
    mean: float | None,
    bias: float,
    sd: float,
    se: float,
    df: int,
    level: float,
    pv: float | None,
    tol: float | None,
) -> BiasRow:
    t: float | None = None
    p: float | None = None
    ci: tuple[float, float] | None = None
    if df >= 1:
        t = _signed_ratio(bias, se)
        p = _t_p(t, df)
        half = _t_q(0.5 + level / 2.0, df) * se
        ci = (bias - half, bias + half)
    return BiasRow(
        part=part,
        reference=reference,
        n=n,
        mean=mean,
        bias=bias,
        sd=sd if df >= 1 else None,
        se=se if df >= 1 else None,
        df=df,
        t=t,
        p=p,
        ci=ci,
        pct_bias_process=None if pv is None else 100.0 * abs(bias) / pv,
        pct_bias_tolerance=None if tol is None else 100.0 * abs(bias) / tol,
    )


@dataclass(frozen=True, slots=True)
class BiasResult:
    """A single-part bias study (AIAG MSA 4th ed. "independent sample method") / type-1 study.

    Attributes
    ----------
    reference : float
    row : BiasRow
        n, mean, bias, repeatability SD (``sd``), ``se``, ``t``, ``df``, ``p``, ``ci``.
    confidence : float
    process_variation, tolerance : float or None
    cg, cgk : float or None
        Type-1 gauge capability (Bosch booklet 10 / VDA 5; Minitab "Type 1 Gage Study"), when a
        tolerance is given: ``Cg = 0.2 T / (6 s)``, ``Cgk = (0.1 T - |bias|) / (3 s)``; 1.33 or
        more is the usual requirement.
    warnings : tuple of str
    """

    reference: float
    row: BiasRow
    confidence: float
    process_variation: float | None
    tolerance: float | None
    cg: float | None
    cgk: float | None
    warnings: tuple[str, ...] = ()

    @property
    def bias(self) -> float:
        return self.row.bias

    @property
    def acceptable(self) -> bool | None:
        """AIAG: 0 inside the confidence interval of the bias."""
        return self.row.acceptable

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON object (``zhuoyue msa --reference ... --json`` with one reference)."""
        return {
            "study": "bias",
            "reference": jsonable(self.reference),
            "confidence": self.confidence,
            "bias": self.row.to_dict(),
            "process_variation": jsonable(self.process_variation),
            "tolerance": jsonable(self.tolerance),
            "cg": jsonable(self.cg),
            "cgk": jsonable(self.cgk),
            "warnings": list(self.warnings),
        }

    def summary(self, *, show_warnings: bool = True) -> str:
        """A plain-text report (Chinese and English; warnings at the end)."""
        b = self.row
        lines = [
            "Bias study  偏倚研究",
            f"reference 基准值 = {self.reference:.6g}, n = {b.n}, mean 均值 = {_num(b.mean, '.6g', 0)}",
            f"bias 偏倚 = {b.bias:.6g}, repeatability SD 重复性标准差 = {_num(b.sd, '.6g', 0)}, "
            f"SE = {_num(b.se, '.4g', 0)}",
            f"t = {_num(b.t, '.4g', 0)}, df = {b.df}, p = {_p(b.p, 0)}",
        ]
        if b.ci is not None:
            lines.append(
                f"{self.confidence * 100:g}% CI 置信区间 of the bias: [{b.ci[0]:.6g}, {b.ci[1]:.6g}] → "
                + (
                    "0 inside: bias acceptable 偏倚可接受"
                    if b.acceptable
                    else "0 outside: significant bias 偏倚显著"
                )
            )
        if b.pct_bias_process is not None:
            lines.append(f"%Bias of process variation 占过程变异 = {b.pct_bias_process:.2f} %")
        if b.pct_bias_tolerance is not None:
            lines.append(f"%Bias of tolerance 占公差 = {b.pct_bias_tolerance:.2f} %")
        if self.cg is not None:
            lines.append(
                f"Type-1 study 类型1研究: Cg = {_num(self.cg, '.4g', 0)}, "
                f"Cgk = {_num(self.cgk, '.4g', 0)}: "
                + (
                    "capable 能力足够 (both ≥ 1.33)"
                    if self.cgk is not None and min(self.cg, self.cgk) >= 1.33
                    else "not capable 能力不足 (Cg, Cgk ≥ 1.33 required 要求)"
                )
            )
        if show_warnings:
            lines.extend(f"warning 注意: {w}" for w in self.warnings)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return "<pre>" + html.escape(self.summary()) + "</pre>"


def bias_study(
    reference_value: float,
    measured: npt.ArrayLike,
    *,
    tolerance: float | None = None,
    process_variation: float | None = None,
    confidence: float = 0.95,
) -> BiasResult:
    """Bias of a gauge on one reference part, with a t-test (AIAG) and Cg/Cgk (type-1 study).

    ``bias = x̄ - reference``, ``σ_r = s`` (sample SD of the readings), ``σ_b = σ_r/√n``,
    ``t = bias/σ_b`` with ``n - 1`` df; the bias is acceptable at the chosen confidence when 0
    lies in ``bias ± t(1 - α/2, n-1) σ_b`` (AIAG MSA 4th ed., ch. III-B, bias "independent sample
    method"). ``%bias = 100 |bias| / process_variation`` (or ``/ tolerance``).

    Parameters
    ----------
    reference_value : float
        The reference (master) value of the part.
    measured : array_like, 1-D
        Repeated readings of the part (AIAG: 10 or more).
    tolerance : float, optional
        Tolerance width; adds %bias of tolerance and Cg, Cgk.
    process_variation : float, optional
        6 × the process SD (Minitab's "process variation"); adds %bias.
    confidence : float in (0, 1)

    Examples
    --------
    AIAG MSA 4th ed., bias example (reference 6.00, 15 readings):

    >>> x = [5.8, 5.7, 5.9, 5.9, 6.0, 6.1, 6.0, 6.1, 6.4, 6.3, 6.0, 6.1, 6.2, 5.6, 6.0]
    >>> res = bias_study(6.0, x)
    >>> round(res.bias, 4), round(res.row.sd, 4), [round(v, 4) for v in res.row.ci]
    (0.0067, 0.212, [-0.1107, 0.1241])
    >>> res.acceptable
    True
    """
    func = "bias_study"
    ref = check_finite_scalar(reference_value, "reference_value", func)
    x = as_float_array(measured, "measured", func, nan_policy=None)
    level = _confidence(confidence, func)
    tol = None if tolerance is None else check_positive_scalar(tolerance, "tolerance", func)
    pv = (
        None
        if process_variation is None
        else check_positive_scalar(process_variation, "process_variation", func)
    )
    n = x.size
    if n < 2:
        raise DataError(
            f"{func} needs at least 2 readings of the reference part to test the bias; got {n}. "
            "AIAG recommends 10 or more.",
            code="too_few",
        )
    mean = float(np.mean(x))
    sd = float(np.std(x, ddof=1))
    se = sd / math.sqrt(n)
    row = _bias_row(None, ref, n, mean, mean - ref, sd, se, n - 1, level, pv, tol)
    warnings: list[str] = []
    if n < 10:
        warnings.append(f"only {n} readings; AIAG recommends 10 or more for a bias study")
    if sd == 0.0:
        warnings.append(
            "all readings are equal: the repeatability cannot be estimated; check the gauge "
            "resolution"
        )
    cg = cgk = None
    if tol is not None and sd > 0.0:
        cg = 0.2 * tol / (6.0 * sd)
        cgk = (0.1 * tol - abs(mean - ref)) / (3.0 * sd)
    return BiasResult(
        reference=ref,
        row=row,
        confidence=level,
        process_variation=pv,
        tolerance=tol,
        cg=cg,
        cgk=cgk,
        warnings=tuple(warnings),
    )


@dataclass(frozen=True, slots=True)
class LinearityResult:
    """A gauge bias and linearity study (:func:`bias_linearity`).

    Attributes
    ----------
    parts : tuple of BiasRow
        Per reference part: n, mean, bias, SD, t-test and CI of the bias, %bias.
    average : BiasRow
        The average bias over all readings, tested with the pooled within-part SD.
    slope, intercept : float
        The least-squares line ``bias = intercept + slope × reference`` over all readings.
    se_slope, se_intercept, t_slope, t_intercept, p_slope, p_intercept : float
        Their standard errors and t-tests (``df = N - 2``).
    ci_slope, ci_intercept : tuple of float
    s : float
        Residual standard deviation of the line.
    r_squared : float or None
        ``None`` when every bias is the same (no variation to explain).
    linearity : float or None
        ``|slope| × process_variation`` (Minitab, AIAG 3rd ed.), when given.
    pct_linearity : float
        ``100 |slope|`` (= 100 linearity / process variation).
    zero_in_band : bool
        AIAG: the "bias = 0" line lies entirely inside the confidence band of the fitted line
        over the range of the reference values — linearity acceptable.
    confidence : float
    process_variation, tolerance : float or None
    n : int
        Number of readings.
    warnings : tuple of str
    reference_values, bias_values : ndarray
        Every reading's reference and bias (for :meth:`charts`).
    """

    parts: tuple[BiasRow, ...]
    average: BiasRow
    slope: float
    intercept: float
    se_slope: float
    se_intercept: float
    t_slope: float
    t_intercept: float
    p_slope: float
    p_intercept: float
    ci_slope: tuple[float, float]
    ci_intercept: tuple[float, float]
    s: float
    r_squared: float | None
    df: int
    linearity: float | None
    pct_linearity: float
    zero_in_band: bool
    confidence: float
    process_variation: float | None
    tolerance: float | None
    n: int
    warnings: tuple[str, ...] = ()
    reference_values: FloatArray = field(
        default_factory=lambda: np.empty(0), repr=False, compare=False
    )
    bias_values: FloatArray = field(default_factory=lambda: np.empty(0), repr=False, compare=False)

    @property
    def linearity_acceptable(self) -> bool:
        """AIAG: the bias = 0 line lies inside the confidence band (``zero_in_band``)."""
        return self.zero_in_band

    def band(
        self, x: npt.ArrayLike, confidence: float | None = None
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Fitted bias and the confidence band of the line at reference values ``x``.

        ``fit ± t(1-α/2, N-2) s sqrt(1/N + (x - x̄)²/Sxx)`` (AIAG MSA 4th ed., linearity).
        """
        level = self.confidence if confidence is None else _confidence(confidence, "band")
        xv = np.asarray(x, dtype=np.float64)
        xr = self.reference_values
        xm = float(xr.mean())
        sxx = float(np.sum((xr - xm) ** 2))
        fit = self.intercept + self.slope * xv
        half = (
            _t_q(0.5 + level / 2.0, self.df) * self.s * np.sqrt(1.0 / self.n + (xv - xm) ** 2 / sxx)
        )
        return fit, fit - half, fit + half

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON object (the same as ``zhuoyue msa --reference ... --json``)."""
        return {
            "study": "linearity",
            "n": self.n,
            "n_parts": len(self.parts),
            "confidence": self.confidence,
            "parts": [r.to_dict() for r in self.parts],
            "average": self.average.to_dict(),
            "regression": {
                "slope": jsonable(self.slope),
                "intercept": jsonable(self.intercept),
                "se_slope": jsonable(self.se_slope),
                "se_intercept": jsonable(self.se_intercept),
                "t_slope": jsonable(self.t_slope),
                "t_intercept": jsonable(self.t_intercept),
                "p_slope": jsonable(self.p_slope),
                "p_intercept": jsonable(self.p_intercept),
                "ci_slope": jsonable(list(self.ci_slope)),
                "ci_intercept": jsonable(list(self.ci_intercept)),
                "s": jsonable(self.s),
                "r_squared": jsonable(self.r_squared),
                "df": self.df,
            },
            "process_variation": jsonable(self.process_variation),
            "tolerance": jsonable(self.tolerance),
            "linearity": jsonable(self.linearity),
            "pct_linearity": jsonable(self.pct_linearity),
            "zero_in_band": self.zero_in_band,
            "linearity_acceptable": self.linearity_acceptable,
            "warnings": list(self.warnings),
        }

    def charts(self, points: int = 101) -> dict[str, Any]:
        """Data for the bias-versus-reference plot: readings, part averages, line and band."""
        xr = self.reference_values
        grid = np.linspace(float(xr.min()), float(xr.max()), int(points))
        fit, lo, hi = self.band(grid)
        out = {
            "points": {"reference": xr, "bias": self.bias_values},
            "averages": {
                "reference": [r.reference for r in self.parts],
                "bias": [r.bias for r in self.parts],
            },
            "fit": {"reference": grid, "bias": fit, "lower": lo, "upper": hi},
        }
        return dict(jsonable(out))

    def summary(self, *, show_warnings: bool = True) -> str:
        """A Minitab-like bias and linearity report (Chinese and English; warnings at the end)."""
        lines = [
            "Gauge linearity and bias study  量具线性与偏倚研究",
            f"{len(self.parts)} reference parts 基准件, {self.n} readings 测量值",
            "",
            f"Bias = {self.intercept:.6g} + ({self.slope:.6g}) × Reference   偏倚 = 截距 + 斜率 × 基准值",
            _pad("Predictor 项", 20)
            + _rjust("Coef 系数", 12)
            + "SE".rjust(11)
            + "T".rjust(9)
            + "P".rjust(8),
            _pad("Constant 截距", 20)
            + _num(self.intercept, ".6g", 12)
            + _num(self.se_intercept, ".4g", 11)
            + _num(self.t_intercept, ".4g", 9)
            + _p(self.p_intercept),
            _pad("Slope 斜率", 20)
            + _num(self.slope, ".6g", 12)
            + _num(self.se_slope, ".4g", 11)
            + _num(self.t_slope, ".4g", 9)
            + _p(self.p_slope),
            f"S = {self.s:.6g}   R-Sq = "
            + ("—" if self.r_squared is None else f"{100 * self.r_squared:.1f} %"),
        ]
        if self.linearity is not None:
            lines.append(
                f"Linearity 线性 = |slope| × {self.process_variation:.6g} = {self.linearity:.6g}, "
                f"%Linearity = {self.pct_linearity:.2f} %"
            )
        else:
            lines.append(f"%Linearity = 100 |slope| = {self.pct_linearity:.2f} %")
        lines.append(
            "bias = 0 line inside the "
            f"{self.confidence * 100:g}% band: "
            + (
                "yes → linearity acceptable 线性可接受"
                if self.zero_in_band
                else "no → linearity problem 线性不可接受"
            )
        )
        lines.append("")
        head = (
            _pad("Reference 基准值", 18)
            + "n".rjust(4)
            + _rjust("Bias 偏倚", 12)
            + "SD".rjust(10)
            + "T".rjust(9)
            + "P".rjust(8)
        )
        if self.process_variation is not None:
            head += "%Bias".rjust(8)
        lines.append(head)
        for row in (self.average, *self.parts):
            name = "Average 平均" if row is self.average else f"{row.reference:g}"
            line = (
                _pad(name, 18)
                + str(row.n).rjust(4)
                + _num(row.bias, ".6g", 12)
                + _num(row.sd, ".4g", 10)
                + _num(row.t, ".4g", 9)
                + _p(row.p)
            )
            if self.process_variation is not None:
                line += _num(row.pct_bias_process, ".2f", 8)
            lines.append(line)
        if show_warnings:
            lines.extend(f"warning 注意: {w}" for w in self.warnings)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return "<pre>" + html.escape(self.summary()) + "</pre>"


def bias_linearity(
    reference: npt.ArrayLike,
    measured: npt.ArrayLike,
    *,
    parts: Any = None,
    process_variation: float | None = None,
    tolerance: float | None = None,
    confidence: float = 0.95,
) -> LinearityResult:
    """Gauge bias and linearity study (AIAG MSA 4th ed.; Minitab "Gage Linearity and Bias").

    Parameters
    ----------
    reference : array_like, 1-D
        The reference (master) value of the part of each reading.
    measured : array_like, 1-D
        The readings.
    parts : array_like, optional
        The part of each reading (labels of any type); each part must have one reference value.
        Without it, readings are grouped by reference value.
    process_variation : float, optional
        6 × the process SD (Minitab: the total study variation of a gauge R&R); adds
        linearity = |slope| × process variation and %bias.
    tolerance : float, optional
        Tolerance width; adds %bias of tolerance.
    confidence : float in (0, 1)
        Level of the bias intervals and of the band of the line (0.95).

    Returns
    -------
    LinearityResult

    Notes
    -----
    Bias of each reading ``b = x - reference``. Per part: average bias, sample SD ``s_i``,
    ``t = b̄_i / (s_i/√n_i)`` with ``n_i - 1`` df (AIAG's bias t-test). Average bias: the mean of
    all readings' biases, ``t = b̄ / (s_p/√N)`` with the pooled within-part SD
    ``s_p² = Σ(n_i-1)s_i² / (N - g)`` and ``N - g`` df. Linearity: least squares of ``b`` on the
    reference over all N readings (AIAG), t-tests of slope and intercept with ``N - 2`` df,
    ``%linearity = 100 |slope|``; linearity is acceptable when the line ``bias = 0`` lies inside
    the confidence band of the fit across the reference range.

    Examples
    --------
    AIAG MSA 4th ed. linearity example (5 parts, 12 readings each):

    >>> import numpy as np
    >>> ref = np.repeat([2.0, 4.0, 6.0, 8.0, 10.0], 12)
    >>> x = [2.7, 2.5, 2.4, 2.5, 2.7, 2.3, 2.5, 2.5, 2.4, 2.4, 2.6, 2.4,
    ...      5.1, 3.9, 4.2, 5.0, 3.8, 3.9, 3.9, 3.9, 3.9, 4.0, 4.1, 3.8,
    ...      5.8, 5.7, 5.9, 5.9, 6.0, 6.1, 6.0, 6.1, 6.4, 6.3, 6.0, 6.1,
    ...      7.6, 7.7, 7.8, 7.7, 7.8, 7.8, 7.8, 7.7, 7.8, 7.5, 7.6, 7.7,
    ...      9.1, 9.3, 9.5, 9.3, 9.4, 9.5, 9.5, 9.5, 9.6, 9.2, 9.3, 9.4]
    >>> res = bias_linearity(ref, x)
    >>> round(res.slope, 6), round(res.intercept, 6), round(res.r_squared, 3)
    (-0.131667, 0.736667, 0.714)
    >>> res.zero_in_band
    False
    """
    func = "bias_linearity"
    ref = as_float_array(reference, "reference", func, nan_policy=None)
    x = as_float_array(measured, "measured", func, nan_policy=None)
    if ref.size != x.size:
        raise ParameterError(
            f"{func} needs one reference value per reading: got {ref.size} references and "
            f"{x.size} readings."
        )
    level = _confidence(confidence, func)
    pv = (
        None
        if process_variation is None
        else check_positive_scalar(process_variation, "process_variation", func)
    )
    tol = None if tolerance is None else check_positive_scalar(tolerance, "tolerance", func)
    n = x.size
    if parts is None:
        codes, levels = _levels(ref, n, "reference", func)
        part_labels: tuple[Any, ...] = levels
    else:
        codes, part_labels = _levels(parts, n, "part", func)
    g = len(part_labels)
    counts = np.bincount(codes, minlength=g)
    _, first = np.unique(codes, return_index=True)
    off = np.flatnonzero(ref != ref[first][codes])
    if off.size:
        i = int(off[0])
        raise DataError(
            f"{func}: part {part_labels[codes[i]]!s} has more than one reference value "
            f"({ref[i]:g} at index {i}). Each part must have a single reference value.",
            index=i,
            code="reference_varies",
        )
    if g < 2:
        raise DataError(
            f"{func} needs at least 2 reference parts with different reference values to fit a "
            f"line; found 1 (reference {ref[0]:g}). For one part use bias_study().",
            code="too_few_parts",
        )
    ref_part = np.bincount(codes, weights=ref, minlength=g) / counts
    if np.unique(ref_part).size < 2:
        raise DataError(
            f"{func} needs reference values that differ to fit a line; every part has "
            f"reference {ref_part[0]:g}. For one reference use bias_study().",
            code="too_few_parts",
        )
    if n < 3:
        raise DataError(f"{func} needs at least 3 readings; got {n}.", code="too_few")
    b = x - ref
    # per part: mean bias, SD and t-test
    b_sum = np.bincount(codes, weights=b, minlength=g)
    b_mean = b_sum / counts
    dev = b - b_mean[codes]
    ss = np.bincount(codes, weights=dev * dev, minlength=g)
    dfs = counts - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        sds = np.sqrt(ss / dfs)
        ses = sds / np.sqrt(counts)
    x_mean = np.bincount(codes, weights=x, minlength=g) / counts
    rows = tuple(
        _bias_row(
            part_labels[i],
            float(ref_part[i]),
            int(counts[i]),
            float(x_mean[i]),
            float(b_mean[i]),
            float(sds[i]),
            float(ses[i]),
            int(dfs[i]),
            level,
            pv,
            tol,
        )
        for i in range(g)
    )
    warnings: list[str] = []
    single = [str(part_labels[i]) for i in np.flatnonzero(counts < 2)]
    if single:
        warnings.append(
            f"part(s) {', '.join(single)} have a single reading: no t-test of their bias "
            "(AIAG: 10 or more readings per part)"
        )
    df_pool = int(n - g)
    ss_pool = float(np.sum(ss))
    sp = math.sqrt(ss_pool / df_pool) if df_pool > 0 else math.nan
    b_avg = float(np.mean(b))
    average = _bias_row(
        "average", None, n, None, b_avg, sp, sp / math.sqrt(n), df_pool, level, pv, tol
    )
    # regression of bias on reference over all readings
    xm = float(ref.mean())
    dx = ref - xm
    sxx = float(dx @ dx)
    ym = float(b.mean())
    dy = b - ym
    syy = float(dy @ dy)
    slope = float(dx @ dy) / sxx
    intercept = ym - slope * xm
    resid = dy - slope * dx
    sse = float(resid @ resid)
    df_reg = n - 2
    s = math.sqrt(sse / df_reg)
    r2 = None if syy == 0.0 else 1.0 - sse / syy
    se_slope = s / math.sqrt(sxx)
    se_int = s * math.sqrt(1.0 / n + xm * xm / sxx)
    t_slope = _signed_ratio(slope, se_slope)
    t_int = _signed_ratio(intercept, se_int)
    tq = _t_q(0.5 + level / 2.0, df_reg)
    ci_slope = (slope - tq * se_slope, slope + tq * se_slope)
    ci_int = (intercept - tq * se_int, intercept + tq * se_int)
    # the band is fit(x) ∓ c·sqrt(1/n + (x - x̄)²/Sxx): its lower edge is concave and its upper
    # edge convex, so their extremes over [min, max] are at the ends or where the slope of the
    # fit equals the slope of the half-width: (x - x̄)² = slope² (1/n) / (B (c² B - slope²))
    lo_x, hi_x = float(ref.min()), float(ref.max())
    cand = [lo_x, hi_x]
    c2 = (tq * s) ** 2
    bb = 1.0 / sxx
    denom = bb * (c2 * bb - slope * slope)
    if denom > 0.0:
        u = math.sqrt(slope * slope / n / denom)
        cand += [v for v in (xm - u, xm + u) if lo_x < v < hi_x]
    cx = np.asarray(cand)
    fit = intercept + slope * cx
    half = tq * s * np.sqrt(1.0 / n + (cx - xm) ** 2 / sxx)
    zero_in_band = bool(np.all(fit - half <= 0.0) and np.all(fit + half >= 0.0))
    if g < 5:
        warnings.append(f"only {g} reference parts; AIAG recommends at least 5 across the range")
    return LinearityResult(
        parts=rows,
        average=average,
        slope=slope,
        intercept=intercept,
        se_slope=se_slope,
        se_intercept=se_int,
        t_slope=t_slope,
        t_intercept=t_int,
        p_slope=_t_p(t_slope, df_reg),
        p_intercept=_t_p(t_int, df_reg),
        ci_slope=ci_slope,
        ci_intercept=ci_int,
        s=s,
        r_squared=r2,
        df=df_reg,
        linearity=None if pv is None else abs(slope) * pv,
        pct_linearity=100.0 * abs(slope),
        zero_in_band=zero_in_band,
        confidence=level,
        process_variation=pv,
        tolerance=tol,
        n=n,
        warnings=tuple(warnings),
        reference_values=ref,
        bias_values=b,
    )
