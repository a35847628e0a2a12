"""Run rules (tests for special causes), vectorized over the whole series.

Two rule sets are built in; the definitions follow ``shared/reference/README.md`` exactly.

``"gb4091"`` — the 8 tests of GB/T 4091-2001 / ISO 7870-2 (= Minitab's 8 tests, Nelson rules).
With ``z = (statistic - centre) / sigma`` of the plotted statistic, "beyond kσ" meaning
``|z| > k`` strictly:

1. one point beyond 3σ (``K = 3``);
2. ``K = 9`` points in a row on the same side of the centre line; a point exactly on the centre
   line breaks the run;
3. ``K = 6`` points in a row steadily increasing or decreasing; a tie breaks the trend;
4. ``K = 14`` points in a row alternating up and down;
5. ``K = 2`` of ``K + 1`` points in a row beyond 2σ on the same side, the flagged point itself
   beyond 2σ;
6. ``K = 4`` of ``K + 1`` points in a row beyond 1σ on the same side, the flagged point itself
   beyond 1σ;
7. ``K = 15`` points in a row within 1σ (``|z| <= 1``);
8. ``K = 8`` points in a row beyond 1σ with points on both sides of the centre line (GB/T 4091
   wording; ``test8="either"`` selects Minitab's wording, which does not need both sides).

``"we"`` — Western Electric rules 1–4: (1) one point beyond 3σ; (2) 2 of 3 beyond 2σ on the same
side; (3) 4 of 5 beyond 1σ on the same side; (4) 8 in a row on the same side.

Every point that completes a pattern is reported, so a run longer than ``K`` flags every further
point. Windows at the start of the series count the points available (two points both beyond 2σ
at the very start fire test 5). Tests can be switched off (``tests=(1, 2)``) and their ``K``
changed (``k={2: 7}`` reproduces qcc 2.7's run rule of 7).

Test 1 compares the statistic with the control limits themselves (strictly: a point exactly on a
limit is not a signal), so "a point beyond a limit" and "test 1" can never disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from zhuoyue.errors import ParameterError

__all__ = [
    "RULE_SETS",
    "RULE_SET_TITLES",
    "ZONE_FREE",
    "RuleSet",
    "Violations",
    "applicable_tests",
    "evaluate",
    "evaluate_chart",
    "resolve_rules",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# kind, default K, zone level (sigma multiple) where one applies
_GB: dict[int, tuple[str, float, float]] = {
    1: ("beyond", 3.0, 3.0),
    2: ("same_side", 9, 0.0),
    3: ("trend", 6, 0.0),
    4: ("alternate", 14, 0.0),
    5: ("k_of_k1", 2, 2.0),
    6: ("k_of_k1", 4, 1.0),
    7: ("within", 15, 1.0),
    8: ("mixture", 8, 1.0),
}
_WE: dict[int, tuple[str, float, float]] = {
    1: ("beyond", 3.0, 3.0),
    2: ("k_of_k1", 2, 2.0),
    3: ("k_of_k1", 4, 1.0),
    4: ("same_side", 8, 0.0),
}
RULE_SETS: dict[str, dict[int, tuple[str, float, float]]] = {"gb4091": _GB, "we": _WE, "none": {}}
RULE_SET_TITLES = {
    "gb4091": "GB/T 4091-2001 / ISO 7870-2, 8 tests",
    "we": "Western Electric rules 1-4",
    "none": "no run rules",
}
#: tests that do not need zones (valid for any plotted statistic); Minitab applies only these to
#: R, S and attribute charts
ZONE_FREE = frozenset({"beyond", "same_side", "trend", "alternate"})

_DESCRIPTIONS = {
    "beyond": ("1 point beyond {k:g}σ", "1 个点落在 {k:g}σ 控制限以外"),
    "same_side": (
        "{k:g} points in a row on the same side of the centre line",
        "连续 {k:g} 点落在中心线同一侧",
    ),
    "trend": ("{k:g} points in a row steadily increasing or decreasing", "连续 {k:g} 点递增或递减"),
    "alternate": ("{k:g} points in a row alternating up and down", "连续 {k:g} 点中相邻点交替上下"),
    "k_of_k1": (
        "{k:g} of {k1:g} points in a row beyond {z:g}σ on the same side",
        "连续 {k1:g} 点中有 {k:g} 点落在中心线同一侧的 {z:g}σ 以外",
    ),
    "within": (
        "{k:g} points in a row within 1σ of the centre line",
        "连续 {k:g} 点落在中心线两侧 1σ 以内",
    ),
    "mixture": (
        "{k:g} points in a row beyond 1σ{sides}",
        "连续 {k:g} 点落在中心线两侧且无一在 1σ 以内{sides_zh}",
    ),
}


@dataclass(frozen=True, slots=True)
class RuleSet:
    """A resolved set of run rules: which tests are on and their ``K`` values.

    Build it with :func:`resolve_rules`; chart functions accept the same arguments directly.
    """

    name: str
    tests: tuple[int, ...]
    k: Mapping[int, float] = field(default_factory=dict)
    test8: Literal["both", "either"] = "both"

    def kind(self, test: int) -> str:
        return RULE_SETS[self.name][test][0]

    def k_of(self, test: int) -> float:
        return float(self.k.get(test, RULE_SETS[self.name][test][1]))

    def describe(self, test: int, lang: str = "en") -> str:
        kind, _, zone = RULE_SETS[self.name][test]
        k = self.k_of(test)
        en, zh = _DESCRIPTIONS[kind]
        template = zh if lang == "zh" else en
        both = self.test8 == "both"
        return template.format(
            k=k,
            k1=k + 1,
            z=zone,
            sides=", on both sides of the centre line" if both else ", either side",
            sides_zh="" if both else "(不要求两侧)",
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "set": self.name,
            "tests": list(self.tests),
            "k": {str(t): self.k_of(t) for t in self.tests},
            "test8": self.test8,
        }


def resolve_rules(
    rules: str | RuleSet = "gb4091",
    tests: Iterable[int] | None = None,
    k: Mapping[int, float] | None = None,
    test8: str | None = None,
) -> RuleSet:
    """Validate and resolve a rule selection.

    ``rules`` is a set name or a :class:`RuleSet`; ``tests``, ``k`` and ``test8`` refine it (given
    a RuleSet, its own K values and test 8 wording are kept unless overridden).

    Examples
    --------
    >>> resolve_rules("gb4091", tests=[1, 2], k={2: 7}).k_of(2)
    7.0
    """
    base_k: dict[int, float] = {}
    base_test8 = "both"
    base_tests: tuple[int, ...] | None = None
    if isinstance(rules, RuleSet):
        if tests is None and k is None and test8 is None:
            return rules
        name = rules.name
        base_k = dict(rules.k)
        base_test8 = rules.test8
        base_tests = rules.tests
    else:
        name = str(rules).lower()
    if name not in RULE_SETS:
        raise ParameterError(
            f"The 'rules' parameter must be one of {sorted(RULE_SETS)}. Got {rules!r}."
        )
    available = tuple(RULE_SETS[name])
    if tests is None:
        chosen = available if base_tests is None else base_tests
    else:
        chosen_list: list[int] = []
        for t in tests:
            if isinstance(t, bool) or int(t) != t or int(t) not in available:
                raise ParameterError(
                    f"The 'tests' parameter must list tests of the {name!r} set, "
                    f"{list(available)}. Got {t!r}."
                )
            chosen_list.append(int(t))
        chosen = tuple(sorted(set(chosen_list)))
    k_map: dict[int, float] = dict(base_k)
    for t, v in (k or {}).items():
        ti = int(t)
        if ti not in available:
            raise ParameterError(
                f"The 'k' parameter sets K for tests of the {name!r} set, {list(available)}. "
                f"Got test {t!r}."
            )
        kind = RULE_SETS[name][ti][0]
        lo = 0.0 if kind == "beyond" else 1.0
        if kind == "trend" or kind == "alternate":
            lo = 3.0 if kind == "alternate" else 2.0
        fv = float(v)
        if not np.isfinite(fv) or fv <= lo or (kind != "beyond" and fv != int(fv)):
            need = "a number > 0" if kind == "beyond" else f"an integer >= {int(lo) + 1}"
            raise ParameterError(f"K of test {ti} must be {need}. Got {v!r}.")
        k_map[ti] = fv
    wording = base_test8 if test8 is None else test8
    if wording not in ("both", "either"):
        raise ParameterError(f"The 'test8' parameter must be 'both' or 'either'. Got {test8!r}.")
    return RuleSet(name=name, tests=chosen, k=k_map, test8=wording)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Violations:
    """Points that fire tests: parallel arrays sorted by point index, then test number."""

    index: IntArray
    rule: IntArray

    def __len__(self) -> int:
        return int(self.index.size)

    def points(self) -> IntArray:
        """Unique indexes of points that fire at least one test."""
        return np.unique(self.index)

    def for_rule(self, rule: int) -> IntArray:
        """Indexes of the points that fire ``rule``."""
        return np.asarray(self.index[self.rule == rule], dtype=np.int64)

    def to_list(self) -> list[dict[str, int]]:
        return [
            {"index": int(i), "rule": int(r)}
            for i, r in zip(self.index.tolist(), self.rule.tolist(), strict=True)
        ]

    @staticmethod
    def empty() -> Violations:
        return Violations(np.empty(0, np.int64), np.empty(0, np.int64))


def _shift_and(out: BoolArray, src: BoolArray, k: int) -> None:
    """``out[i] &= src[i - k]`` in place; positions before the series start become False."""
    if k >= out.size:
        out[:] = False
        return
    out[k:] &= src[: out.size - k]
    out[:k] = False


def _all_window(flag: BoolArray, width: int) -> BoolArray:
    """True where the last ``width`` positions are all True (False where fewer exist).

    Built by doubling (runs of 1, 2, 4, ... combined by the binary digits of ``width``):
    about 2·log2(width) passes over a bool array, no integer arrays.
    """
    result: BoolArray | None = None
    offset = 0
    block = flag
    span = 1
    rem = width
    while True:
        if rem & 1:
            if result is None:
                result = block.copy()
                offset = span
            else:
                _shift_and(result, block, offset)
                offset += span
        rem >>= 1
        if not rem:
            break
        doubled = block.copy()
        _shift_and(doubled, block, span)
        block = doubled
        span *= 2
    assert result is not None
    return result


def _same_sign_run(pos: BoolArray, neg: BoolArray, width: int) -> BoolArray:
    """True where the last ``width`` positions are all ``pos`` or all ``neg``.

    One window over "same nonzero sign as the previous position" instead of one window per sign.
    """
    if width <= 1:
        return pos | neg
    same = np.zeros(pos.size, dtype=bool)
    np.logical_or(pos[1:] & pos[:-1], neg[1:] & neg[:-1], out=same[1:])
    return _all_window(same, width - 1)


def _window_count(flag: BoolArray, width: int) -> npt.NDArray[np.integer[Any]]:
    """Number of True among the last ``width`` positions (those that exist) at each position."""
    if width <= 32:
        src = flag.view(np.uint8)
        acc = src.copy()
        for j in range(1, min(width, flag.size)):
            acc[j:] += src[: flag.size - j]
        return acc
    c = np.empty(flag.size + 1, dtype=np.int64)
    c[0] = 0
    np.cumsum(flag, out=c[1:])
    lo = np.maximum(np.arange(1, flag.size + 1) - width, 0)
    return np.asarray(c[1:] - c[lo])


class _Masks:
    """Zone comparisons shared between tests, computed once each.

    Either from ``z`` or, when the centre and sigma are the same for every point, straight from
    the statistic against ``centre ± level·sigma`` (no ``z`` array is needed at all).
    """

    def __init__(
        self, z: FloatArray | None, x: FloatArray, center: float = 0.0, sigma: float = 1.0
    ) -> None:
        self.z = z
        self.x = x
        self.center = center
        self.sigma = sigma
        self._cache: dict[tuple[str, float], BoolArray] = {}
        self._abs: FloatArray | None = None
        self._steps: tuple[BoolArray, BoolArray] | None = None

    @property
    def size(self) -> int:
        return int(self.x.size)

    def steps(self, x: FloatArray) -> tuple[BoolArray, BoolArray]:
        """Up and down steps of the plotted statistic (shared by the trend and alternation tests)."""
        if self._steps is None:
            d = x[1:] - x[:-1]
            self._steps = (d > 0, d < 0)
        return self._steps

    def _abs_z(self) -> FloatArray:
        assert self.z is not None
        if self._abs is None:
            self._abs = np.abs(self.z)
        return self._abs

    def get(self, op: str, level: float) -> BoolArray:
        key = (op, level)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        if self.z is not None:
            if op == ">":
                hit = self.z > level
            elif op == "<":
                hit = self.z < -level
            elif op == "|>|":
                hit = self._abs_z() > level
            else:  # "|<=|"
                hit = self._abs_z() <= level
        else:
            upper = self.center + level * self.sigma
            lower = self.center - level * self.sigma
            if op == ">":
                hit = self.x > upper
            elif op == "<":
                hit = self.x < lower
            elif op == "|>|":
                hit = self.get(">", level) | self.get("<", level)
            else:  # "|<=|": NaN is neither beyond nor within
                hit = (self.x >= lower) & (self.x <= upper)
        self._cache[key] = hit
        return hit


def _fire(
    kind: str,
    k: float,
    zone: float,
    masks: _Masks,
    x: FloatArray,
    beyond: BoolArray | None,
    both: bool,
) -> BoolArray:
    n = masks.size
    if kind == "beyond":
        return beyond if beyond is not None else masks.get("|>|", k)
    ki = int(k)
    if kind == "same_side":
        return _same_sign_run(masks.get(">", 0.0), masks.get("<", 0.0), ki)
    if kind in ("trend", "alternate"):
        out = np.zeros(n, dtype=bool)
        if n < 2:
            return out
        up, dn = masks.steps(x)
        if kind == "trend":
            # K points steadily moving = K - 1 consecutive steps of one nonzero sign
            out[1:] = _same_sign_run(up, dn, ki - 1)
        else:
            # signs compared, never multiplied: tiny differences must not underflow to 0
            alt = np.zeros(up.size, dtype=bool)
            alt[1:] = (up[1:] & dn[:-1]) | (dn[1:] & up[:-1])
            out[1:] = _all_window(alt, ki - 2)
        return out
    if kind == "k_of_k1":
        up = masks.get(">", zone)
        dn = masks.get("<", zone)
        return (up & (_window_count(up, ki + 1) >= ki)) | (dn & (_window_count(dn, ki + 1) >= ki))
    if kind == "within":
        return _all_window(masks.get("|<=|", zone), ki)
    if kind == "mixture":
        out = _all_window(masks.get("|>|", zone), ki)
        if both:
            # all beyond 1σ and not all on one side = points on both sides
            out &= ~_same_sign_run(masks.get(">", zone), masks.get("<", zone), ki)
        return out
    raise AssertionError(kind)  # pragma: no cover


def applicable_tests(
    rules: RuleSet, *, zones: bool = True, only: Iterable[int] | None = None
) -> tuple[int, ...]:
    """The selected tests that :func:`evaluate` runs with these ``zones`` / ``only`` arguments."""
    allowed = None if only is None else set(only)
    return tuple(
        t
        for t in rules.tests
        if (allowed is None or t in allowed) and (zones or rules.kind(t) in ZONE_FREE)
    )


#: points per block of rule evaluation: the working set stays in the CPU cache
BLOCK = 262144

ArrayOrScalar = float | FloatArray | None
_BlockInputs = tuple[FloatArray | None, FloatArray, BoolArray | None, float, float]


def _lookback(rules: RuleSet, tests: tuple[int, ...]) -> int:
    """Points before a block that its windows can reach (the widest window plus one)."""
    return max((int(rules.k_of(t)) + 2 for t in tests if rules.kind(t) != "beyond"), default=0)


def _part(x: ArrayOrScalar, sl: slice) -> ArrayOrScalar:
    if isinstance(x, np.ndarray) and x.ndim:
        return x[sl]
    return x


def _run_blocks(
    n: int,
    rules: RuleSet,
    tests: tuple[int, ...],
    block_inputs: Any,
    block: int,
) -> Violations:
    """Run ``tests`` block by block; ``block_inputs(slice)`` gives (z, statistic, beyond)."""
    if not tests or n == 0:
        return Violations.empty()
    overlap = _lookback(rules, tests)
    both = rules.test8 == "both"
    idx_parts: list[IntArray] = []
    rule_parts: list[IntArray] = []
    for lo in range(0, n, block):
        start = max(0, lo - overlap)
        hi = min(n, lo + block)
        z, x, beyond, center, sigma = block_inputs(slice(start, hi))
        masks = _Masks(z, x, center, sigma)
        skip = lo - start  # points of the overlap: evaluated only as history
        for test in tests:
            kind, default_k, zone = RULE_SETS[rules.name][test]
            k = rules.k_of(test)
            use_limits = beyond if (kind == "beyond" and k == default_k) else None
            fired = _fire(kind, k, zone, masks, x, use_limits, both)
            hit = np.flatnonzero(fired[skip:] if skip else fired)
            if hit.size:
                idx_parts.append(hit.astype(np.int64) + lo)
                rule_parts.append(np.full(hit.size, test, dtype=np.int64))
    if not idx_parts:
        return Violations.empty()
    index = np.concatenate(idx_parts)
    rule = np.concatenate(rule_parts)
    order = np.lexsort((rule, index))
    return Violations(index[order], rule[order])


def evaluate(
    z: npt.ArrayLike,
    rules: RuleSet,
    *,
    statistic: npt.ArrayLike | None = None,
    beyond_limits: npt.ArrayLike | None = None,
    zones: bool = True,
    only: Iterable[int] | None = None,
    block: int = BLOCK,
) -> Violations:
    """Evaluate ``rules`` on a series of standardized points ``z``.

    Parameters
    ----------
    z : array_like
        ``(statistic - centre) / sigma_of_statistic`` per point; NaN marks a point that cannot
        be judged (it breaks every run).
    rules : RuleSet
    statistic : array_like, optional
        The plotted values, used by the trend and alternation tests (defaults to ``z``).
    beyond_limits : array_like of bool, optional
        Points outside the control limits; when given, test 1 with its default ``K = 3`` uses it.
    zones : bool
        False for statistics where zone tests make no sense (R, S, attribute charts): only the
        zone-free tests (1-4 of GB/T 4091, 1 and 4 of WE) are applied.
    only : iterable of int, optional
        Restrict to these tests (e.g. ``(1,)`` for moving-range, EWMA and CUSUM charts).
    block : int
        Points per block; the series is evaluated block by block with enough history before
        each block that the result does not depend on the block size.

    Examples
    --------
    >>> import numpy as np
    >>> v = evaluate(np.array([0.5, 3.2, -0.1]), resolve_rules("gb4091"))
    >>> v.to_list()
    [{'index': 1, 'rule': 1}]
    """
    zz = np.asarray(z, dtype=np.float64)
    xx = zz if statistic is None else np.asarray(statistic, dtype=np.float64)
    bl = None if beyond_limits is None else np.asarray(beyond_limits, dtype=bool)
    tests = applicable_tests(rules, zones=zones, only=only)

    def inputs(sl: slice) -> _BlockInputs:
        return zz[sl], xx[sl], None if bl is None else bl[sl], 0.0, 1.0

    return _run_blocks(zz.size, rules, tests, inputs, max(int(block), 1))


def evaluate_chart(
    statistic: FloatArray,
    center: ArrayOrScalar,
    sigma: ArrayOrScalar,
    lcl: ArrayOrScalar,
    ucl: ArrayOrScalar,
    rules: RuleSet,
    *,
    zones: bool = True,
    only: Iterable[int] | None = None,
    block: int = BLOCK,
) -> Violations:
    """:func:`evaluate` on a plotted statistic with its centre, sigma and limits.

    ``z`` and the beyond-limits flags are computed block by block (centre, sigma and limits may
    be scalars or per-point arrays), so no full-length temporary is ever allocated.
    """
    tests = applicable_tests(rules, zones=zones, only=only)
    stat = np.asarray(statistic, dtype=np.float64)

    scalar = not isinstance(center, np.ndarray) and not isinstance(sigma, np.ndarray)

    def inputs(sl: slice) -> _BlockInputs:
        x = stat[sl]
        lo_lim = _part(lcl, sl)
        up_lim = _part(ucl, sl)
        if up_lim is not None and lo_lim is not None:
            beyond = (x > up_lim) | (x < lo_lim)
        elif up_lim is not None:
            beyond = x > up_lim
        elif lo_lim is not None:
            beyond = x < lo_lim
        else:
            beyond = np.zeros(x.size, dtype=bool)
        if scalar and sigma is not None:
            return None, x, beyond, float(center), float(sigma)  # type: ignore[arg-type]
        with np.errstate(invalid="ignore", divide="ignore"):
            z = (x - _part(center, sl)) / _part(sigma, sl)  # type: ignore[operator]
        return np.asarray(z, dtype=np.float64), x, beyond, 0.0, 1.0

    return _run_blocks(stat.size, rules, tests, inputs, max(int(block), 1))
