"""Yields, defect rates and the cost of quality — the policy's performance figures.

Which annex indicator each result feeds (《制造业卓越质量工程实施意见》附件; the thresholds are
data of the excellence model, not code here):

==============================  ==============================================================
result                          annex indicator
==============================  ==============================================================
:func:`rolled_yield`            全过程一次交验合格率 rolled first-pass yield (名词解释 3)
:func:`dpmo` → ``sigma``        产品质量水平 product quality level in σ (名词解释 1)
:func:`cost_of_quality`         内部质量损失率 / 外部质量损失率 internal / external quality loss
                                rate (名词解释 4, 5)
==============================  ==============================================================

Count inputs (``submitted``, ``passed_first``, ``defects``) must be finite whole numbers ≥ 0;
each problem raises :class:`~zhuoyue.errors.DataError` with a stable ``code`` and the 0-based
``index`` of the first offending row (the message counts any further ones). Mismatched lengths
and contradictory arguments raise :class:`~zhuoyue.errors.ParameterError`.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt

from zhuoyue.errors import DataError, ParameterError
from zhuoyue.stats._input import as_float_array
from zhuoyue.stats.results import jsonable
from zhuoyue.stats.sigma import DEFAULT_SHIFT, SigmaLevel, sigma_level

__all__ = [
    "BUCKETS",
    "BUCKET_NAMES_ZH",
    "CATEGORIES",
    "CATEGORY_ALIASES",
    "CATEGORY_BUCKET",
    "CATEGORY_NAMES_ZH",
    "CostOfQuality",
    "DefectMetrics",
    "ParetoItem",
    "RolledYield",
    "cost_of_quality",
    "dpmo",
    "dpu",
    "first_pass_yield",
    "rolled_yield",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


# --------------------------------------------------------------------------- shared checks


def _first(mask: BoolArray) -> tuple[int, str]:
    """Index of the first True in ``mask`` and an ``" (and N more)"`` suffix."""
    where = np.flatnonzero(mask)
    more = where.size - 1
    return int(where[0]), (f" (and {more} more)" if more else "")


def _numbers(values: Any, name: str, func: str) -> FloatArray:
    """A 1-D float64 array of finite numbers (scalars become one-element arrays)."""
    if isinstance(values, (str, bytes)):
        raise ParameterError(
            f"The {name!r} parameter of {func} must be a number or an array of numbers. "
            f"Got {values!r}."
        )
    return as_float_array(values, name, func, nan_policy=None)


def _counts(values: Any, name: str, func: str, *, positive: bool = False) -> FloatArray:
    """Whole numbers >= 0 (> 0 with ``positive``); the first bad row raises a DataError."""
    arr = _numbers(values, name, func)
    neg = arr < 0
    if neg.any():
        i, more = _first(neg)
        raise DataError(
            f"{func} needs counts >= 0 in {name!r}; found {arr[i]:g} at index {i}{more}. "
            "Correct the count.",
            index=i,
            code="negative",
        )
    frac = arr != np.floor(arr)
    if frac.any():
        i, more = _first(frac)
        raise DataError(
            f"{func} needs whole numbers in {name!r}; found {arr[i]:g} at index {i}{more}. "
            "Counts of units or defects cannot have fractions.",
            index=i,
            code="not_integer",
        )
    if positive:
        zero = arr == 0
        if zero.any():
            i, more = _first(zero)
            raise DataError(
                f"{func} needs {name!r} > 0 in every row; found 0 at index {i}{more}. "
                "Remove rows where nothing was submitted or inspected.",
                index=i,
                code="not_positive",
            )
    return arr


def _positive(values: Any, name: str, func: str) -> FloatArray:
    """Finite numbers > 0 (need not be whole: inspection units may be areas or lengths)."""
    arr = _numbers(values, name, func)
    bad = ~(arr > 0)
    if bad.any():
        i, more = _first(bad)
        raise DataError(
            f"{func} needs {name!r} > 0 in every row; found {arr[i]:g} at index {i}{more}. "
            "Remove rows where nothing was inspected.",
            index=i,
            code="not_positive",
        )
    return arr


def _same_length(func: str, shared: tuple[str, ...] = (), **arrays: FloatArray) -> int:
    """The common number of rows; the arguments named in ``shared`` may be one value for all."""
    sizes = {name: a.size for name, a in arrays.items()}
    n = max(sizes.values())
    for name, size in sizes.items():
        if size != n and not (size == 1 and name in shared):
            listed = ", ".join(f"{k}: {v}" for k, v in sizes.items())
            also = f" ({' and '.join(map(repr, shared))} may be one value for all rows)"
            raise ParameterError(
                f"{func} needs one value per row in every argument{also if shared else ''}; "
                f"got {listed}. Check {name!r}."
            )
    return n


def _nonempty(n: int, func: str, what: str) -> None:
    if n == 0:
        raise DataError(f"{func} needs data; got no {what}.", code="empty")


def _labels(values: Any, n: int, name: str, func: str) -> npt.NDArray[Any]:
    """One label per row as a string array; a missing label raises a DataError."""
    arr = np.asarray(values)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1 or arr.size != n:
        raise ParameterError(
            f"The {name!r} parameter of {func} must give one label per row ({n} rows). "
            f"Got {arr.size} labels of shape {arr.shape}."
        )
    if arr.dtype.kind == "f":
        missing = ~np.isfinite(arr)
    elif arr.dtype.kind == "O":
        missing = np.array(
            [v is None or (isinstance(v, float) and v != v) for v in arr.tolist()], dtype=bool
        )
    else:
        missing = np.zeros(n, dtype=bool)
    out = arr.astype(str)
    missing |= np.char.str_len(np.char.strip(out)) == 0
    if missing.any():
        i, more = _first(missing)
        raise DataError(
            f"{func}: {name} missing at index {i}{more}. Give every row a {name}.",
            index=i,
            code=f"missing_{name}",
        )
    return out


def _group(labels: npt.NDArray[Any]) -> tuple[IntArray, npt.NDArray[Any]]:
    """Group id per row and the group labels, groups in order of first appearance."""
    uniq, first_idx, inverse = np.unique(labels, return_index=True, return_inverse=True)
    order = np.argsort(first_idx, kind="stable")
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(order.size)
    return rank[inverse.ravel()], uniq[order]


# --------------------------------------------------------------------------- first-pass yield


def first_pass_yield(submitted: npt.ArrayLike, passed_first: npt.ArrayLike) -> float | FloatArray:
    """First-pass yield 一次交验合格率 of each row: ``passed_first / submitted``.

    The policy's definition (annex, 名词解释 3): "一次交验合格率是指初次提交检验的合格品数量占全部交验
    产品总数量的百分比" — units that pass at their first submission to inspection, over all units
    submitted. Returned as a fraction, not a percentage.

    Parameters
    ----------
    submitted : int or array_like of int
        Units submitted to inspection (交验数), > 0 in every row.
    passed_first : int or array_like of int
        Of those, the units that passed at the first submission (一次交验合格数), ≤ submitted.

    Returns
    -------
    float or ndarray
        A float for scalar inputs, one value per row for arrays.

    Raises
    ------
    DataError
        Negative (``"negative"``), fractional (``"not_integer"``) or non-finite
        (``"not_finite"``) counts, ``submitted`` 0 (``"not_positive"``), ``passed_first`` >
        ``submitted`` (``"passed_exceeds_submitted"``); ``index`` names the first such row.
    ParameterError
        Arrays of different lengths.

    Examples
    --------
    >>> first_pass_yield(200, 190)
    0.95
    >>> first_pass_yield([200, 400], [190, 396])
    array([0.95, 0.99])
    """
    func = "first_pass_yield"
    scalar = np.ndim(submitted) == 0 and np.ndim(passed_first) == 0
    sub, passed = _checked_pair(submitted, passed_first, func)
    fpy = passed / sub
    return float(fpy[0]) if scalar else fpy


def _checked_pair(submitted: Any, passed_first: Any, func: str) -> tuple[FloatArray, FloatArray]:
    sub = _counts(submitted, "submitted", func, positive=True)
    passed = _counts(passed_first, "passed_first", func)
    n = _same_length(func, submitted=sub, passed_first=passed)
    _nonempty(n, func, "rows")
    sub = np.broadcast_to(sub, (n,))
    passed = np.broadcast_to(passed, (n,))
    over = passed > sub
    if over.any():
        i, more = _first(over)
        raise DataError(
            f"{func}: passed_first {passed[i]:g} exceeds submitted {sub[i]:g} at index {i}{more}. "
            "Units passed at the first submission are part of the units submitted; check that "
            "the two columns are not swapped.",
            index=i,
            code="passed_exceeds_submitted",
        )
    return sub, passed


# --------------------------------------------------------------------------- rolled yield


@dataclass(frozen=True, slots=True)
class RolledYield:
    """Rolled first-pass yield 全过程一次交验合格率 over the steps of a process.

    Feeds the annex indicator 全过程一次交验合格率 (名词解释 3), compared with the level thresholds
    of the excellence model.

    Attributes
    ----------
    steps : tuple of str
        Step labels in order of first appearance (``"1"``, ``"2"``, … when none were given).
    first_pass_yield : ndarray
        FPY of each step: Σ passed_first / Σ submitted over the step's rows.
    submitted, passed_first : ndarray of int64 or None
        Totals per step; ``None`` when the step yields were given directly.
    rolled_yield : float
        Product of the steps' first-pass yields.
    normalized_yield : float
        ``rolled_yield ** (1 / number of steps)``: the first-pass yield every step would need
        for the same rolled yield (geometric mean).
    weakest_step : str
        The step with the lowest first-pass yield (the first one on ties).
    n_rows : int
        Input rows (more than the steps when rows were aggregated).
    warnings : tuple of str
    """

    steps: tuple[str, ...]
    first_pass_yield: FloatArray
    submitted: IntArray | None
    passed_first: IntArray | None
    rolled_yield: float
    normalized_yield: float
    weakest_step: str
    n_rows: int
    warnings: tuple[str, ...] = ()

    @property
    def n_steps(self) -> int:
        return len(self.steps)

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON object."""
        sub = self.submitted
        passed = self.passed_first
        rows = [
            {
                "step": s,
                "submitted": None if sub is None else int(sub[i]),
                "passed_first": None if passed is None else int(passed[i]),
                "first_pass_yield": jsonable(self.first_pass_yield[i]),
            }
            for i, s in enumerate(self.steps)
        ]
        return {
            "rolled_yield": jsonable(self.rolled_yield),
            "normalized_yield": jsonable(self.normalized_yield),
            "weakest_step": self.weakest_step,
            "n_steps": self.n_steps,
            "n_rows": self.n_rows,
            "steps": rows,
            "warnings": list(self.warnings),
        }

    def summary(self) -> str:
        """A plain-text summary with Chinese and English labels."""
        k = self.n_steps
        fpy = self.first_pass_yield
        weakest = self.steps.index(self.weakest_step)
        lines = [
            f"rolled first-pass yield 全过程一次交验合格率: {_pct(self.rolled_yield)} "
            f"over {k} step{'s' if k != 1 else ''} ({k} 道工序)",
            f"normalized yield 归一化合格率 (RTY^(1/{k})): {_pct(self.normalized_yield)}",
            f"weakest step 最薄弱工序: {self.weakest_step} ({_pct(float(fpy[weakest]))})",
            f"  {'step 工序':<16} {'submitted 交验数':>16} {'passed 一次合格':>16} "
            f"{'FPY 一次交验合格率':>18}",
        ]
        for i, s in enumerate(self.steps):
            sub = "-" if self.submitted is None else f"{int(self.submitted[i]):d}"
            passed = "-" if self.passed_first is None else f"{int(self.passed_first[i]):d}"
            lines.append(f"  {s:<16} {sub:>16} {passed:>16} {_pct(float(fpy[i])):>18}")
        lines.extend(f"  warning: {w}" for w in self.warnings)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return "<pre>" + html.escape(self.summary()) + "</pre>"


def _geometric_mean(x: FloatArray) -> float:
    """``Π x ** (1/k)`` computed in logs: no underflow of the product for many small yields."""
    with np.errstate(divide="ignore"):
        return float(np.exp(np.mean(np.log(x))))


def _pct(x: float) -> str:
    return f"{100.0 * x:.4f} %" if math.isfinite(x) else "-"


def rolled_yield(
    submitted: npt.ArrayLike | None = None,
    passed_first: npt.ArrayLike | None = None,
    *,
    step: npt.ArrayLike | None = None,
    first_pass_yields: npt.ArrayLike | None = None,
) -> RolledYield:
    """Rolled first-pass yield 全过程一次交验合格率: the product of the steps' first-pass yields.

    The policy's definition (annex, 名词解释 3): "全过程一次交验合格率:是产品生产各个过程一次交验
    合格率的乘积". With counts, the rows of one step are pooled first,
    ``FPY_step = Σ passed_first / Σ submitted``, then ``RTY = Π FPY_step`` and the normalized
    yield ``RTY^(1/k)`` over the ``k`` steps.

    Give either the counts (``submitted`` and ``passed_first``, one row per inspection record,
    with an optional ``step`` label per row; without labels every row is its own step) or the
    steps' yields (``first_pass_yields``, one per step, fractions in [0, 1], with optional
    unique ``step`` labels).

    Parameters
    ----------
    submitted, passed_first : array_like of int, optional
        Units submitted to inspection and units passed at the first submission, per row.
    step : array_like, optional
        Step (工序) of each row; rows with the same label are aggregated. Steps keep the order
        in which they first appear.
    first_pass_yields : array_like of float, optional
        The steps' first-pass yields, instead of counts.

    Returns
    -------
    RolledYield

    Raises
    ------
    ParameterError
        Neither or both input forms; lengths that differ.
    DataError
        Bad counts (see :func:`first_pass_yield`), a yield outside [0, 1] (``"out_of_range"``),
        a missing step label (``"missing_step"``), a repeated label with yields
        (``"duplicate_step"``), no rows (``"empty"``).

    Examples
    --------
    >>> res = rolled_yield(first_pass_yields=[0.95, 0.98, 0.99], step=["机加工", "热处理", "装配"])
    >>> round(res.rolled_yield, 6), res.weakest_step
    (0.92169, '机加工')
    >>> res = rolled_yield([100, 100, 50], [95, 97, 50], step=["A", "B", "A"])
    >>> res.first_pass_yield.tolist(), round(res.rolled_yield, 4)
    ([0.9666666666666667, 0.97], 0.9377)
    """
    func = "rolled_yield"
    counts_given = submitted is not None or passed_first is not None
    if counts_given == (first_pass_yields is not None):
        raise ParameterError(
            f"{func} needs either 'submitted' and 'passed_first' (counts per row) or "
            "'first_pass_yields' (one per step). Got " + ("both." if counts_given else "neither.")
        )
    warnings: list[str] = []
    sub_step: IntArray | None
    passed_step: IntArray | None
    if counts_given:
        if submitted is None or passed_first is None:
            missing = "passed_first" if passed_first is None else "submitted"
            raise ParameterError(
                f"{func} needs both 'submitted' and 'passed_first'; {missing!r} is missing."
            )
        sub, passed = _checked_pair(submitted, passed_first, func)
        n_rows = sub.size
        if step is None:
            labels = np.array([str(i + 1) for i in range(n_rows)])
            sub_t, passed_t = sub, passed
        else:
            gid, labels = _group(_labels(step, n_rows, "step", func))
            sub_t = np.asarray(np.bincount(gid, weights=sub), dtype=np.float64)
            passed_t = np.asarray(np.bincount(gid, weights=passed), dtype=np.float64)
        fpy = np.asarray(passed_t / sub_t, dtype=np.float64)
        sub_step = np.rint(sub_t).astype(np.int64)
        passed_step = np.rint(passed_t).astype(np.int64)
    else:
        fpy = _numbers(first_pass_yields, "first_pass_yields", func).copy()
        n_rows = fpy.size
        _nonempty(n_rows, func, "steps")
        bad = ~((fpy >= 0) & (fpy <= 1))
        if bad.any():
            i, more = _first(bad)
            pct = (
                " The values look like percentages: divide them by 100."
                if bool(np.all((fpy >= 0) & (fpy <= 100)))
                else ""
            )
            raise DataError(
                f"{func} needs first-pass yields as fractions in [0, 1]; found {fpy[i]:g} at "
                f"index {i}{more}.{pct}",
                index=i,
                code="out_of_range",
            )
        if step is None:
            labels = np.array([str(i + 1) for i in range(n_rows)])
        else:
            labels = _labels(step, n_rows, "step", func)
            gid, uniq = _group(labels)
            if uniq.size != labels.size:
                repeat = np.ones(n_rows, dtype=bool)
                repeat[np.unique(gid, return_index=True)[1]] = False
                i, _ = _first(repeat)
                raise DataError(
                    f"{func}: step {labels[i]!s} appears again at index {i}. Yields of one step "
                    "cannot be pooled without their counts: give one yield per step, or give "
                    "'submitted' and 'passed_first' instead.",
                    index=i,
                    code="duplicate_step",
                )
        sub_step = passed_step = None
    rty = float(np.prod(fpy))
    weakest = int(np.argmin(fpy))
    zero = fpy == 0
    if zero.any():
        i, _ = _first(zero)
        warnings.append(
            f"step {labels[i]!s} passed no unit at the first submission: the rolled yield is 0."
        )
    return RolledYield(
        steps=tuple(str(s) for s in labels.tolist()),
        first_pass_yield=fpy,
        submitted=sub_step,
        passed_first=passed_step,
        rolled_yield=rty,
        normalized_yield=_geometric_mean(fpy),
        weakest_step=str(labels[weakest]),
        n_rows=int(n_rows),
        warnings=tuple(warnings),
    )


# --------------------------------------------------------------------------- DPU and DPMO


@dataclass(frozen=True, slots=True)
class DefectMetrics:
    """Defects per unit (and per million opportunities) of a lot, a period or a product.

    Attributes
    ----------
    defects : int
        Σ defects.
    units : float
        Σ units inspected.
    dpu : float
        Defects per unit, Σ defects / Σ units.
    yield_ : float
        Throughput yield estimate ``e^(-DPU)``: the Poisson probability that a unit has no
        defect (JSON key ``"yield"``).
    opportunities : float or None
        Σ units · opportunities per unit (:func:`dpmo` only).
    dpo, dpmo : float or None
        Defects per opportunity and per million opportunities (:func:`dpmo` only).
    sigma : SigmaLevel or None
        The sigma level at this DPMO (:func:`zhuoyue.stats.sigma.sigma_level`, default 1.5σ
        shift, one tail); feeds the annex indicator 产品质量水平 (product quality level).
        ``None`` from :func:`dpu`, or when the DPMO has no sigma level (see ``warnings``).
    n_rows : int
    warnings : tuple of str
    """

    defects: int
    units: float
    dpu: float
    yield_: float
    opportunities: float | None = None
    dpo: float | None = None
    dpmo: float | None = None
    sigma: SigmaLevel | None = None
    n_rows: int = 1
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON object (``sigma`` nested as :meth:`SigmaLevel.to_dict`)."""
        return {
            "defects": int(self.defects),
            "units": jsonable(self.units),
            "dpu": jsonable(self.dpu),
            "yield": jsonable(self.yield_),
            "opportunities": jsonable(self.opportunities),
            "dpo": jsonable(self.dpo),
            "dpmo": jsonable(self.dpmo),
            "sigma": None if self.sigma is None else self.sigma.to_dict(),
            "n_rows": self.n_rows,
            "warnings": list(self.warnings),
        }

    def summary(self) -> str:
        """A plain-text summary with Chinese and English labels."""
        lines = [
            f"defects 缺陷数 {self.defects:d} in {self.units:g} units 单位 "
            f"({self.n_rows} row{'s' if self.n_rows != 1 else ''})",
            f"DPU 单位缺陷数: {self.dpu:.6g}",
            f"throughput yield e^(-DPU) 直通率估计: {_pct(self.yield_)}",
        ]
        if self.dpmo is not None and self.opportunities is not None:
            lines.append(
                f"DPMO 百万机会缺陷数: {self.dpmo:.6g} ({self.opportunities:g} opportunities 机会)"
            )
        if self.sigma is not None:
            z = float(np.asarray(self.sigma.level))
            shown = "∞" if math.isinf(z) else f"{z:.4g}"
            lines.append(f"sigma level 西格玛水平: {shown} ({self.sigma.convention})")
        lines.extend(f"  warning: {w}" for w in self.warnings)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return "<pre>" + html.escape(self.summary()) + "</pre>"


def _defects_units(defects: Any, units: Any, func: str) -> tuple[FloatArray, FloatArray, int]:
    d = _counts(defects, "defects", func)
    u = _positive(units, "units", func)
    n = _same_length(func, ("units",), defects=d, units=u)
    _nonempty(n, func, "rows")
    return np.broadcast_to(d, (n,)), np.broadcast_to(u, (n,)), n


def dpu(defects: npt.ArrayLike, units: npt.ArrayLike) -> DefectMetrics:
    """Defects per unit ``DPU = Σ defects / Σ units`` and the throughput yield ``e^(-DPU)``.

    ``e^(-DPU)`` is the Poisson probability of a unit with no defect, the usual estimate of the
    throughput (first-time-right) yield when defects, not defective units, are counted. Several
    rows (lots, days) are pooled.

    Parameters
    ----------
    defects : int or array_like of int
        Defects found, whole numbers ≥ 0.
    units : float or array_like of float
        Units inspected per row (or one value for every row), > 0; may be fractional when the
        inspection unit is an area or length, as for the u chart.

    Returns
    -------
    DefectMetrics
        ``dpo``, ``dpmo`` and ``sigma`` are ``None``; use :func:`dpmo` for those.

    Examples
    --------
    >>> res = dpu([3, 7], [50, 50])
    >>> res.dpu, round(res.yield_, 6)
    (0.1, 0.904837)
    """
    func = "dpu"
    d, u, n = _defects_units(defects, units, func)
    total_d = float(np.sum(d))
    total_u = float(np.sum(u))
    rate = total_d / total_u
    return DefectMetrics(
        defects=int(total_d), units=total_u, dpu=rate, yield_=math.exp(-rate), n_rows=n
    )


def dpmo(
    defects: npt.ArrayLike,
    units: npt.ArrayLike,
    opportunities: npt.ArrayLike,
    *,
    shift: float = DEFAULT_SHIFT,
    tails: int = 1,
) -> DefectMetrics:
    """Defects per million opportunities and the sigma level it corresponds to.

    ``DPO = Σ defects / Σ (units · opportunities)``, ``DPMO = 10⁶ · DPO``; also ``DPU`` and
    ``e^(-DPU)`` as in :func:`dpu`, and ``sigma = sigma_level(dpmo=DPMO, shift=, tails=)``.

    Parameters
    ----------
    defects : int or array_like of int
        Defects found, whole numbers ≥ 0.
    units : float or array_like of float
        Units inspected per row (or one value for every row), > 0.
    opportunities : int or array_like of int
        Defect opportunities per unit (one value, or one per row), whole numbers ≥ 1.
    shift, tails
        The sigma-level convention (:func:`zhuoyue.stats.sigma.sigma_level`).

    Returns
    -------
    DefectMetrics

    Raises
    ------
    DataError
        Bad counts (``"negative"``, ``"not_integer"``, ``"not_finite"``), units or opportunities
        ≤ 0 (``"not_positive"``), more defects than opportunities in a row
        (``"defects_exceed_opportunities"``).

    Examples
    --------
    >>> res = dpmo(40, 40_000, 6)  # 40 defects in 40 000 units with 6 opportunities each
    >>> round(res.dpmo, 2), round(res.sigma.level, 2)
    (166.67, 5.09)
    """
    func = "dpmo"
    d, u, n = _defects_units(defects, units, func)
    opp = _counts(opportunities, "opportunities", func, positive=True)
    n = _same_length(func, ("units", "opportunities"), defects=d, units=u, opportunities=opp)
    d, u, opp = (np.broadcast_to(a, (n,)) for a in (d, u, opp))
    chances = u * opp
    over = d > chances
    if over.any():
        i, more = _first(over)
        raise DataError(
            f"{func}: {d[i]:g} defects at index {i}{more} exceed the {chances[i]:g} opportunities "
            f"({u[i]:g} units × {opp[i]:g}). An opportunity holds at most one defect; check that "
            "'opportunities' is per unit.",
            index=i,
            code="defects_exceed_opportunities",
        )
    total_d = float(np.sum(d))
    total_u = float(np.sum(u))
    total_o = float(np.sum(chances))
    dpo = total_d / total_o
    rate = total_d / total_u
    million = 1e6 * dpo
    warnings: list[str] = []
    level: SigmaLevel | None
    try:
        level = sigma_level(dpmo=million, shift=shift, tails=tails)
    except DataError:
        level = None
        warnings.append(
            f"every opportunity is defective (DPMO {million:g}): there is no sigma level."
        )
    else:
        warnings.extend(level.warnings)
    return DefectMetrics(
        defects=int(total_d),
        units=total_u,
        dpu=rate,
        yield_=math.exp(-rate),
        opportunities=total_o,
        dpo=dpo,
        dpmo=million,
        sigma=level,
        n_rows=n,
        warnings=tuple(warnings),
    )


# --------------------------------------------------------------------------- cost of quality

#: the cost categories of the ``quality_costs`` table (DESIGN.md), in report order
CATEGORIES: tuple[str, ...] = (
    "prevention",
    "appraisal",
    "internal.scrap",
    "internal.rework",
    "internal.downgrade",
    "internal.downtime",
    "internal.incident",
    "external.claim",
    "external.return",
    "external.discount",
    "external.warranty",
)

#: the four buckets of the prevention–appraisal–failure (PAF) model
BUCKETS: tuple[str, ...] = ("prevention", "appraisal", "internal_failure", "external_failure")

BUCKET_NAMES_ZH: Mapping[str, str] = MappingProxyType(
    {
        "prevention": "预防成本",
        "appraisal": "鉴定成本",
        "internal_failure": "内部损失成本",
        "external_failure": "外部损失成本",
    }
)

#: the PAF bucket of each category
CATEGORY_BUCKET: Mapping[str, str] = MappingProxyType(
    {c: c.split(".")[0] + "_failure" if "." in c else c for c in CATEGORIES}
)

#: display names, in the words of the policy glossary items 4 and 5 where it names the cost
CATEGORY_NAMES_ZH: Mapping[str, str] = MappingProxyType(
    {
        "prevention": "预防成本",
        "appraisal": "鉴定成本",
        "internal.scrap": "报废损失费",
        "internal.rework": "返工返修费",
        "internal.downgrade": "降级损失费",
        "internal.downtime": "停工损失费",
        "internal.incident": "产品质量事故处理费",
        "external.claim": "索赔费",
        "external.return": "退货损失费",
        "external.discount": "折价损失费",
        "external.warranty": "保修费",
    }
)

_ZH_ALIASES: dict[str, tuple[str, ...]] = {
    "prevention": ("预防成本", "预防费用", "预防费"),
    "appraisal": ("鉴定成本", "鉴定费用", "鉴定费", "检验成本", "检验费用"),
    "internal.scrap": ("报废", "报废损失", "报废损失费"),
    "internal.rework": ("返工返修", "返工返修费", "返工", "返修", "返工费", "返修费", "返工损失费"),
    "internal.downgrade": ("降级", "降级损失", "降级损失费"),
    "internal.downtime": ("停工", "停工损失", "停工损失费"),
    "internal.incident": ("质量事故处理", "质量事故处理费", "产品质量事故处理费", "事故处理费"),
    "external.claim": ("索赔", "索赔费", "索赔费用"),
    "external.return": ("退货", "退货损失", "退货损失费"),
    "external.discount": ("折价", "折价损失", "折价损失费"),
    "external.warranty": ("保修", "保修费", "保修费用"),
}

#: every accepted spelling → category (English names are matched case-insensitively, and
#: ``_``, ``-`` or a space may stand for the dot: ``Internal_Scrap`` is ``internal.scrap``)
CATEGORY_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        **{c: c for c in CATEGORIES},
        **{alias: c for c, aliases in _ZH_ALIASES.items() for alias in aliases},
    }
)


def _category_code(name: str) -> int:
    """Index into CATEGORIES of one spelling, or -1."""
    key = name.strip().casefold()
    cat = CATEGORY_ALIASES.get(key)
    if cat is None:
        key = "".join("." if ch in "_- " else ch for ch in key)
        cat = CATEGORY_ALIASES.get(key)
    return -1 if cat is None else CATEGORIES.index(cat)


@dataclass(frozen=True, slots=True)
class ParetoItem:
    """One failure-cost category in the Pareto table (largest first)."""

    category: str
    amount: float
    share: float  # of the total failure cost (internal + external)
    cumulative_share: float

    @property
    def name_zh(self) -> str:
        return CATEGORY_NAMES_ZH[self.category]

    @property
    def bucket(self) -> str:
        return CATEGORY_BUCKET[self.category]

    def to_dict(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "name_zh": self.name_zh,
            "bucket": self.bucket,
            "amount": jsonable(self.amount),
            "share": jsonable(self.share),
            "cumulative_share": jsonable(self.cumulative_share),
        }


@dataclass(frozen=True, slots=True)
class CostOfQuality:
    """Cost of quality of one year (PAF model) and the policy's quality loss rates.

    Attributes
    ----------
    year : int or None
        The year the costs and the output value belong to (echoed; the rates are annual).
    output_value : float
        Annual total output value 年度总产值, in the same currency unit as the amounts.
    totals_by_category : mapping of str to float
        Every category of :data:`CATEGORIES` (0 where nothing was booked), in that order.
    totals_by_bucket : mapping of str to float
        ``prevention``, ``appraisal``, ``internal_failure``, ``external_failure``.
    total : float
        Total cost of quality: the sum of the four buckets.
    internal_loss_rate : float
        内部质量损失率 = internal failure cost ÷ annual total output value, a fraction (annex
        名词解释 4). Feeds the annex indicator of the same name.
    external_loss_rate : float
        外部质量损失率 = external failure cost ÷ annual total output value, a fraction (annex
        名词解释 5). Feeds the annex indicator of the same name.
    pareto : tuple of ParetoItem
        Failure categories with a cost, largest first, with share and cumulative share of the
        failure cost. Prevention and appraisal are not failures and are not in it.
    n_rows : int
    warnings : tuple of str
    """

    year: int | None
    output_value: float
    totals_by_category: Mapping[str, float]
    totals_by_bucket: Mapping[str, float]
    total: float
    internal_loss_rate: float
    external_loss_rate: float
    pareto: tuple[ParetoItem, ...]
    n_rows: int
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def rate(self, of: str = "total") -> float:
        """A cost as a fraction of the output value: ``"total"``, a bucket or a category.

        ``rate("internal_failure")`` is :attr:`internal_loss_rate`.
        """
        if of == "total":
            amount = self.total
        elif of in self.totals_by_bucket:
            amount = self.totals_by_bucket[of]
        elif of in self.totals_by_category:
            amount = self.totals_by_category[of]
        else:
            raise ParameterError(
                f"The 'of' parameter of rate must be 'total', a bucket ({', '.join(BUCKETS)}) "
                f"or a category ({', '.join(CATEGORIES)}). Got {of!r}."
            )
        return amount / self.output_value

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON object."""
        return {
            "year": self.year,
            "output_value": jsonable(self.output_value),
            "total": jsonable(self.total),
            "internal_loss_rate": jsonable(self.internal_loss_rate),
            "external_loss_rate": jsonable(self.external_loss_rate),
            "totals_by_bucket": jsonable(dict(self.totals_by_bucket)),
            "totals_by_category": jsonable(dict(self.totals_by_category)),
            "pareto": [p.to_dict() for p in self.pareto],
            "n_rows": self.n_rows,
            "warnings": list(self.warnings),
        }

    def summary(self) -> str:
        """A plain-text summary with Chinese and English labels."""
        year = f"{self.year} " if self.year is not None else ""
        b = self.totals_by_bucket
        lines = [
            f"cost of quality 质量成本 {year}(output value 年度总产值 {self.output_value:,.2f})",
            f"  internal loss rate 内部质量损失率: {_pct(self.internal_loss_rate)}"
            f"  ({b['internal_failure']:,.2f})",
            f"  external loss rate 外部质量损失率: {_pct(self.external_loss_rate)}"
            f"  ({b['external_failure']:,.2f})",
            f"  total cost of quality 质量成本合计: {self.total:,.2f} ({_pct(self.rate())} of "
            "output value)",
        ]
        for bucket in BUCKETS:
            lines.append(f"    {bucket:<17} {BUCKET_NAMES_ZH[bucket]:<7} {b[bucket]:>18,.2f}")
        if self.pareto:
            lines.append("  failure cost Pareto 损失成本排列图:")
            for p in self.pareto:
                lines.append(
                    f"    {p.category:<19} {p.name_zh:<10} {p.amount:>18,.2f} "
                    f"{_pct(p.share):>10} {_pct(p.cumulative_share):>10}"
                )
        lines.extend(f"  warning: {w}" for w in self.warnings)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return "<pre>" + html.escape(self.summary()) + "</pre>"


_UNIT_WARNING_RATE = 0.25


def cost_of_quality(
    categories: npt.ArrayLike,
    amounts: npt.ArrayLike,
    output_value: float,
    *,
    year: int | None = None,
) -> CostOfQuality:
    """Cost of quality by the prevention–appraisal–failure model, and the loss rates.

    One row per cost record (the ``quality_costs`` table: ``category``, ``amount``). Totals per
    category and per bucket, the total cost of quality, and the policy's rates (annex, 名词解释
    4 and 5)::

        internal_loss_rate = (scrap + rework + downgrade + downtime + incident) / output_value
        external_loss_rate = (claim + return + discount + warranty) / output_value

    Prevention and appraisal costs are totalled but are in neither rate.

    Categories (English, or the Chinese name; also the aliases in :data:`CATEGORY_ALIASES`):

    ====================  ==================  =================================================
    category              中文                 accepted Chinese spellings
    ====================  ==================  =================================================
    prevention            预防成本             预防成本, 预防费用, 预防费
    appraisal             鉴定成本             鉴定成本, 鉴定费用, 鉴定费, 检验成本, 检验费用
    internal.scrap        报废损失费           报废, 报废损失, 报废损失费
    internal.rework       返工返修费           返工返修(费), 返工(费), 返修(费), 返工损失费
    internal.downgrade    降级损失费           降级, 降级损失, 降级损失费
    internal.downtime     停工损失费           停工, 停工损失, 停工损失费
    internal.incident     产品质量事故处理费   质量事故处理(费), 产品质量事故处理费, 事故处理费
    external.claim        索赔费               索赔, 索赔费, 索赔费用
    external.return       退货损失费           退货, 退货损失, 退货损失费
    external.discount     折价损失费           折价, 折价损失, 折价损失费
    external.warranty     保修费               保修, 保修费, 保修费用
    ====================  ==================  =================================================

    The policy lists the internal losses "报废损失费、返修费、降级损失费、停工损失费、产品质量事故
    处理费等" and the external ones "索赔费、退货损失费、折价损失费、保修费等"; repairs and
    replacements after delivery (修理、更换) are booked as ``external.warranty`` or
    ``external.return``; loss of reputation (信誉损失) has no booked amount and no category.

    Amounts are ≥ 0. A recovery (salvage value of scrap, a supplier's reimbursement) is netted
    into the amount of its record before it is entered, never booked as a negative row: a
    credit alone could make a category negative and hide a failure.

    Parameters
    ----------
    categories : array_like of str
        Category of each row.
    amounts : array_like of float
        Cost of each row, ≥ 0, in the currency unit of ``output_value``.
    output_value : float
        Annual total output value 年度总产值 of the same year, > 0.
    year : int, optional
        The year (echoed in the result).

    Returns
    -------
    CostOfQuality

    Raises
    ------
    DataError
        An unknown or missing category (``"unknown_category"``, ``"missing_category"``), a
        negative or non-finite amount (``"negative"``, ``"not_finite"``), no rows
        (``"empty"``), ``output_value`` ≤ 0 or not finite (``"output_value_not_positive"``).
    ParameterError
        Lengths that differ; ``output_value`` or ``year`` of the wrong type.

    Examples
    --------
    >>> res = cost_of_quality(
    ...     ["prevention", "报废", "返工返修", "external.claim"], [50, 120, 80, 60], 10_000
    ... )
    >>> round(res.internal_loss_rate, 6), round(res.external_loss_rate, 6)
    (0.02, 0.006)
    >>> [p.category for p in res.pareto]
    ['internal.scrap', 'internal.rework', 'external.claim']
    """
    func = "cost_of_quality"
    value = _output_value(output_value, func)
    if year is not None and (isinstance(year, bool) or not isinstance(year, (int, np.integer))):
        raise ParameterError(f"The 'year' parameter of {func} must be an int. Got {year!r}.")
    amt = _numbers(amounts, "amounts", func)
    n = amt.size
    cats = _labels(categories, n, "category", func)
    _nonempty(
        n, func, "cost records (an enterprise that records none has not tracked its loss rates)"
    )
    neg = amt < 0
    if neg.any():
        i, more = _first(neg)
        raise DataError(
            f"{func} needs amounts >= 0; found {amt[i]:g} at index {i}{more}. Net a recovery "
            "(salvage, reimbursement) into the amount of the cost it reduces instead of booking "
            "a negative row.",
            index=i,
            code="negative",
        )
    uniq, inverse = np.unique(cats, return_inverse=True)
    # one dictionary look-up per distinct spelling, not per row
    codes = np.array([_category_code(str(u)) for u in uniq.tolist()], dtype=np.int64)[
        inverse.ravel()
    ]
    unknown = codes < 0
    if unknown.any():
        i, more = _first(unknown)
        raise DataError(
            f"{func}: unknown category {str(cats[i])!r} at index {i}{more}. Use one of "
            f"{', '.join(CATEGORIES)}, or the Chinese names "
            f"{', '.join(CATEGORY_NAMES_ZH[c] for c in CATEGORIES)}.",
            index=i,
            code="unknown_category",
        )
    by_cat = np.asarray(np.bincount(codes, weights=amt, minlength=len(CATEGORIES)), np.float64)
    bucket_of = np.array([BUCKETS.index(CATEGORY_BUCKET[c]) for c in CATEGORIES])
    by_bucket = np.bincount(bucket_of, weights=by_cat, minlength=len(BUCKETS))
    internal = float(by_bucket[2])
    external = float(by_bucket[3])
    pareto = _pareto(by_cat)
    warnings: list[str] = []
    if internal + external == 0:
        warnings.append(
            "no failure cost recorded: both loss rates are 0. Check that the records cover the "
            "whole year."
        )
    elif (internal + external) / value > _UNIT_WARNING_RATE:
        warnings.append(
            f"failure costs are {_pct((internal + external) / value)} of the output value: check "
            "that the amounts and output_value use the same unit (元 / 万元) and the same year."
        )
    return CostOfQuality(
        year=None if year is None else int(year),
        output_value=value,
        totals_by_category=MappingProxyType(
            {c: float(v) for c, v in zip(CATEGORIES, by_cat.tolist(), strict=True)}
        ),
        totals_by_bucket=MappingProxyType(
            {b: float(v) for b, v in zip(BUCKETS, by_bucket.tolist(), strict=True)}
        ),
        total=float(np.sum(by_bucket)),
        internal_loss_rate=internal / value,
        external_loss_rate=external / value,
        pareto=pareto,
        n_rows=n,
        warnings=tuple(warnings),
    )


def _output_value(output_value: Any, func: str) -> float:
    if isinstance(output_value, (str, bytes, bool)):
        raise ParameterError(
            f"The 'output_value' parameter of {func} must be a number (the annual total output "
            f"value). Got {output_value!r}."
        )
    try:
        value = float(output_value)
    except (TypeError, ValueError):
        raise ParameterError(
            f"The 'output_value' parameter of {func} must be a number (the annual total output "
            f"value). Got {output_value!r}."
        ) from None
    if not (math.isfinite(value) and value > 0):
        raise DataError(
            f"{func} needs the annual total output value 年度总产值 > 0; got {output_value!r}. "
            "The loss rates are costs divided by it: enter the year's output value in the unit "
            "of the amounts.",
            code="output_value_not_positive",
        )
    return value


def _pareto(by_cat: FloatArray) -> tuple[ParetoItem, ...]:
    failure_idx = np.array(
        [i for i, c in enumerate(CATEGORIES) if CATEGORY_BUCKET[c].endswith("_failure")]
    )
    amounts = by_cat[failure_idx]
    total = float(np.sum(amounts))
    if total <= 0:
        return ()
    order = np.argsort(-amounts, kind="stable")
    order = order[amounts[order] > 0]
    sorted_amounts = amounts[order]
    share = sorted_amounts / total
    cumulative = np.cumsum(sorted_amounts) / total
    return tuple(
        ParetoItem(CATEGORIES[int(failure_idx[j])], float(a), float(s), float(c))
        for j, a, s, c in zip(
            order.tolist(),
            sorted_amounts.tolist(),
            share.tolist(),
            cumulative.tolist(),
            strict=True,
        )
    )
