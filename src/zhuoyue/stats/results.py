"""Result objects of the statistics layer (frozen, JSON-ready)."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from zhuoyue.stats.rules import RULE_SET_TITLES, RuleSet, Violations

__all__ = ["ChartResult", "Panel", "jsonable"]

FloatArray = npt.NDArray[np.float64]
Scalar = float | None
ArrayOrScalar = float | FloatArray | None


def jsonable(x: Any) -> Any:
    """Convert NumPy values to JSON types; NaN and infinities become ``None``."""
    if x is None:
        return None
    if isinstance(x, np.ndarray):
        if x.dtype.kind == "f":
            out = x.astype(object)
            out[~np.isfinite(x)] = None
            return out.tolist()
        return x.tolist()
    if isinstance(x, (float, np.floating)):
        f = float(x)
        return f if math.isfinite(f) else None
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    if isinstance(x, Mapping):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    return x


def _collapse(x: ArrayOrScalar) -> ArrayOrScalar:
    """A per-point array whose values are all equal becomes a scalar (the documented shape)."""
    if isinstance(x, np.ndarray):
        if x.size and np.all(x == x.flat[0]):
            return float(x.flat[0])
        return x
    return x


@dataclass(frozen=True, slots=True)
class Panel:
    """One plotted panel of a chart (Xbar, R, S, I, MR, p, np, c, u, EWMA, CUSUM+ / CUSUM-).

    ``center``, ``lcl`` and ``ucl`` are floats when they are the same for every point and arrays
    (one value per point) when they vary, e.g. with unequal subgroup sizes. ``lcl`` / ``ucl`` are
    ``None`` where a chart has no such limit (the one-sided CUSUM panels). ``sigma`` is the
    standard deviation of the plotted statistic used for the zones (float or array; ``None`` where
    zones make no sense, as on CUSUM panels). ``tests`` are the run-rule tests evaluated on this
    panel (see :mod:`zhuoyue.stats.charts` for which tests run on which panel).
    """

    name: str
    statistic: FloatArray
    center: ArrayOrScalar
    lcl: ArrayOrScalar
    ucl: ArrayOrScalar
    sigma: ArrayOrScalar
    violations: Violations
    tests: tuple[int, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.statistic.size)

    def zones(self) -> dict[str, ArrayOrScalar]:
        """Zone boundaries at ±1σ and ±2σ of the plotted statistic (for drawing)."""
        if self.sigma is None or self.center is None:
            return {}
        c = self.center
        s = self.sigma
        return {
            "minus2": _collapse(np.asarray(c - 2 * s)),
            "minus1": _collapse(np.asarray(c - s)),
            "plus1": _collapse(np.asarray(c + s)),
            "plus2": _collapse(np.asarray(c + 2 * s)),
        }

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "statistic": jsonable(self.statistic),
            "center": jsonable(self.center),
            "lcl": jsonable(self.lcl),
            "ucl": jsonable(self.ucl),
            "violations": self.violations.to_list(),
        }
        for key, value in self.extra.items():
            out[key] = jsonable(value)
        return out


@dataclass(frozen=True, slots=True)
class ChartResult:
    """The result of one control chart.

    Attributes
    ----------
    chart : str
        ``xbar_r``, ``xbar_s``, ``imr``, ``p``, ``np``, ``c``, ``u``, ``ewma`` or ``cusum``.
    center : float
        The process centre used: grand mean, p̄, c̄, ū, or the given target.
    sigma : float
        The process standard deviation behind the limits (within-subgroup sigma for variables
        charts; ``sqrt(p̄(1-p̄))``, ``sqrt(c̄)``, ``sqrt(ū)`` per unit for attribute charts).
    sigma_method : str
        How ``sigma`` was obtained (``"rbar/d2"``, ``"pooled/c4"``, ``"mr/d2"``, ``"given"``, ...).
    constants : str
        ``"exact"`` or ``"table"`` d2/d3 values.
    sizes : ndarray
        Subgroup (sample) size per plotted point.
    panels : mapping of str to Panel
        In display order; the first panel is the chart's main statistic.
    phase1 : ndarray of bool
        Points whose data estimated the limits (after exclusions); all False when both centre and
        sigma were given (pure phase II).
    phase1_end : int
        Number of leading points designated phase I before exclusions (0 for pure phase II): the
        boundary between phase I and phase II on a chart.
    excluded : tuple of int
        Phase I points left out of the estimate (given, or found by iterative exclusion).
    rules : RuleSet
    params : mapping
        Chart parameters (``lambda``, ``L``, ``k``, ``h``, ...).
    warnings : tuple of str
    labels : ndarray or None
        The subgroup label of each point, when subgroups were given as labels.
    """

    chart: str
    center: float
    sigma: float
    sigma_method: str
    constants: str
    sizes: npt.NDArray[Any]
    panels: Mapping[str, Panel]
    phase1: npt.NDArray[np.bool_]
    phase1_end: int
    excluded: tuple[int, ...]
    rules: RuleSet
    params: Mapping[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    labels: npt.NDArray[Any] | None = None

    def __getitem__(self, name: str) -> Panel:
        return self.panels[name]

    @property
    def n_points(self) -> int:
        return int(self.sizes.size)

    @property
    def in_control(self) -> bool:
        """True when no test fires on any panel."""
        return all(len(p.violations) == 0 for p in self.panels.values())

    def limits(self) -> dict[str, float]:
        """The frozen values to pass back as ``center=`` and ``sigma=`` for phase II."""
        return {"center": self.center, "sigma": self.sigma}

    def describe_test(self, test: int, lang: str = "en") -> str:
        """What ``test`` means on this chart (test 1 of EWMA and CUSUM is their own limit)."""
        if test == 1 and self.chart == "cusum":
            if lang == "zh":
                return "累积和超出决策区间 H（C > H）"
            return "cumulative sum beyond the decision interval H (C > H)"
        if test == 1 and self.chart == "ewma":
            big_l = float(self.params.get("L", 3.0))
            if lang == "zh":
                return f"EWMA 统计量落在 ±{big_l:g}σ 控制限以外"
            return f"EWMA statistic beyond its ±{big_l:g}σ control limit"
        return self.rules.describe(test, lang)

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON object (the same as ``zhuoyue spc --json``)."""
        return {
            "chart": self.chart,
            "sigma": jsonable(self.sigma),
            "sigma_method": self.sigma_method,
            "panels": {name: p.to_dict() for name, p in self.panels.items()},
            "center": jsonable(self.center),
            "constants": self.constants,
            "n_points": self.n_points,
            "sizes": jsonable(_collapse(np.asarray(self.sizes, dtype=np.float64))),
            "phase1_points": int(self.phase1.sum()),
            "phase1_end": self.phase1_end,
            "excluded": list(self.excluded),
            "rules": self.rules.to_dict(),
            "params": jsonable(dict(self.params)),
            "warnings": list(self.warnings),
        }

    def summary(self) -> str:
        """A plain-text summary."""
        lines = [
            f"{self.chart} chart: {self.n_points} points, centre {self.center:.6g}, "
            f"sigma {self.sigma:.6g} ({self.sigma_method}, constants {self.constants})",
            f"limits from {int(self.phase1.sum())} phase I points"
            + (f", excluded {list(self.excluded)}" if self.excluded else ""),
            f"rules: {RULE_SET_TITLES[self.rules.name]}, tests {list(self.rules.tests)}",
        ]
        for name, p in self.panels.items():
            lines.append(
                f"  {name:<11} CL {_fmt(p.center)}  LCL {_fmt(p.lcl)}  UCL {_fmt(p.ucl)}  "
                f"violations {len(p.violations)} at {len(p.violations.points())} points"
            )
            for rule in sorted(set(p.violations.rule.tolist())):
                pts = p.violations.for_rule(rule)
                shown = ", ".join(str(i) for i in pts[:10].tolist())
                more = f" ... (+{pts.size - 10})" if pts.size > 10 else ""
                lines.append(f"    test {rule}: {self.describe_test(rule)} -> {shown}{more}")
        lines.extend(f"  warning: {w}" for w in self.warnings)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return "<pre>" + html.escape(self.summary()) + "</pre>"


def _fmt(x: ArrayOrScalar) -> str:
    if x is None:
        return "-"
    if isinstance(x, np.ndarray):
        finite = x[np.isfinite(x)]
        if finite.size == 0:
            return "-"
        return f"[{finite.min():.6g} .. {finite.max():.6g}]"
    return f"{x:.6g}"
