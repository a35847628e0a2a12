"""The online SPC state of one characteristic: phase II against frozen limits, value by value.

A :class:`MonitorState` is built from the frozen phase I numbers of a characteristic (chart type,
centre, within sigma, subgroup size, run rules, spec limits). :meth:`MonitorState.push` takes one
measured value and returns the events it causes; nothing of the past is re-evaluated, and only the
counters and short windows the run rules need are kept (at most ``K + 1`` flags per test, plus the
values of the subgroup being filled).

Subgroups (Xbar-R, Xbar-S)
--------------------------
Values accumulate into the *open* subgroup. The open subgroup closes, and its mean and range (or
SD) are judged on the Xbar and R (S) panels, when

* it reaches ``subgroup_size`` values, or
* a value with another ``subgroup`` label arrives (the new value starts the next subgroup), or
* :meth:`MonitorState.flush` is called (end of a lot or shift, shutdown).

Either every value carries a label or none does (``subgroup_size`` is then required and
consecutive values form the subgroups). A subgroup's values are expected together: a value for
the subgroup closed last is rejected (:class:`~zhuoyue.errors.DataError`, code
``"subgroup_closed"``) because that subgroup has been judged; a label seen again after another
subgroup starts a new subgroup (the batch chart would merge them). A subgroup that closes with a
single value has no range and is left out, as the platform's batch charts leave it out: a
:class:`~zhuoyue.monitor.events.SubgroupDropped` event says so and the subgroup takes no point
index.

Equivalence with the batch charts
---------------------------------
The stream gives the same violations (panel, point index, test) as the batch chart of the same
values in phase II with the same frozen centre and sigma -- :func:`zhuoyue.stats.imr`,
:func:`~zhuoyue.stats.xbar_r`, :func:`~zhuoyue.stats.xbar_s` with ``center=``, ``sigma=`` -- point
for point, including points exactly on the centre line or on a zone boundary. The batch applies
every selected test to the I and Xbar panels, the zone-free tests (1-4 of GB/T 4091, 1 and 4 of
Western Electric) to the R and S panels, and test 1 alone to the MR panel; so does the stream.

The batch compares points with limits in one of two ways, which agree except within a rounding
error of a boundary: when every subgroup has the same size the limits are constants and a point
is compared with ``centre ± k·σ_x̄``; when sizes differ the limits are per point and
``z = (x̄ - centre) / σ_x̄ᵢ`` is compared with ``k`` (subgroup means are also summed in another
order). A stream cannot know the sizes of its future subgroups, so a subgroup of exactly
``subgroup_size`` values is judged the way the batch judges a series of equal subgroups, and any
other subgroup (every subgroup when ``subgroup_size`` is None) the way it judges a series of
unequal ones. Results are identical to the batch when the series' subgroups all have
``subgroup_size`` values, or when ``subgroup_size`` is None and the sizes differ; in a series
that mixes nominal and other sizes a nominal subgroup whose statistic lies within about 1e-16
(relative) of a boundary may be judged differently. I-MR results are always identical.

Persistence
-----------
:meth:`MonitorState.to_dict` returns JSON-safe data (the configuration and every counter);
:meth:`MonitorState.from_dict` restores it, and the restored state continues exactly as the
original would have.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import numpy as np

from zhuoyue.errors import DataError, ParameterError
from zhuoyue.monitor._judge import PanelJudge
from zhuoyue.monitor.events import (
    Event,
    Key,
    Label,
    RuleViolation,
    SpecBreach,
    SubgroupDropped,
    Timestamp,
)
from zhuoyue.stats import constants as K
from zhuoyue.stats.rules import RuleSet, applicable_tests, resolve_rules

__all__ = ["CHARTS", "MonitorState"]

#: chart types the monitor runs
CHARTS: Final = ("imr", "xbar_r", "xbar_s")
#: version of the :meth:`MonitorState.to_dict` layout
STATE_VERSION: Final = 1
#: largest subgroup the 3-decimal d2/d3 tables cover (``constants="table"``)
_TABLE_MAX_N: Final = 25
_ZERO_START = np.zeros(1, dtype=np.intp)


@dataclass(frozen=True, slots=True)
class _Limits:
    """Centre, sigma and control limits of the two panels for one subgroup size."""

    x_sigma: float
    x_lcl: float
    x_ucl: float
    d_center: float
    d_sigma: float
    d_lcl: float
    d_ucl: float


class _Open:
    """The subgroup being filled: its values, label, first value index, last ts and key."""

    __slots__ = ("first", "key", "label", "ts", "values")

    def __init__(self, label: Label | None, first: int) -> None:
        self.label = label
        self.first = first
        self.values: list[float] = []
        self.ts: Timestamp | None = None
        self.key: Key | None = None


# --------------------------------------------------------------------------- checking


def _finite_value(value: Any, index: int) -> float:
    if type(value) is float and math.isfinite(value):  # the common case, first
        return value
    if isinstance(value, bool):
        raise DataError(f"A measured value must be a number; got {value!r}.", index=index,
                        code="not_a_number")  # fmt: skip
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise DataError(
            f"A measured value must be a number; got {value!r}.", index=index, code="not_a_number"
        ) from None
    if not math.isfinite(x):
        raise DataError(
            f"A measured value must be finite; got {value!r}. The value is not used and the "
            "monitor's state is unchanged.",
            index=index,
            code="not_finite",
        )
    return x


def _check_label(label: Any) -> None:
    if label is not None and (isinstance(label, bool) or not isinstance(label, (str, int))):
        raise ParameterError(
            f"The 'subgroup' parameter of push must be a str or int label or None. Got {label!r}."
        )


def _check_ts(ts: Any) -> None:
    if ts is None or isinstance(ts, (str, datetime)):
        return
    if isinstance(ts, (int, float)) and not isinstance(ts, bool) and math.isfinite(ts):
        return
    raise ParameterError(
        f"The 'ts' parameter of push must be a datetime, str, finite number or None. Got {ts!r}."
    )


def _check_key(key: Any) -> None:
    if key is not None and (isinstance(key, bool) or not isinstance(key, (str, int))):
        raise ParameterError(
            f"The 'key' parameter of push must be a str, int or None. Got {key!r}."
        )


def _encode_ts(ts: Timestamp | None) -> Any:
    return {"datetime": ts.isoformat()} if isinstance(ts, datetime) else ts


def _decode_ts(data: Any) -> Timestamp | None:
    if isinstance(data, dict):
        try:
            return datetime.fromisoformat(data["datetime"])
        except (KeyError, TypeError, ValueError):
            raise ParameterError(f"A saved time stamp is not valid: {data!r}.") from None
    _check_ts(data)
    return data  # type: ignore[no-any-return]


def _opt_float(value: Any, name: str) -> float | None:
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ParameterError(
            f"The {name!r} parameter must be a number or None. Got {value!r}."
        ) from None
    if not math.isfinite(v):
        raise ParameterError(f"The {name!r} parameter must be finite. Got {value!r}.")
    return v


# --------------------------------------------------------------------------- subgroup statistics
# Both functions reproduce the batch arithmetic of zhuoyue.stats._input.Groups bit for bit.


def _stats_equal(values: list[float], dispersion: str) -> tuple[float, float]:
    """Mean and R or S as the batch computes them for a series of equal subgroups.

    The batch sums each subgroup value by value (a reduction across the rows of a block of
    subgroups): ``((v0 + v1) + v2) + ...``, then divides by ``n``.
    """
    n = len(values)
    it = iter(values)
    acc = next(it)
    for v in it:
        acc += v
    mean = acc / n
    if dispersion == "r":
        return mean, max(values) - min(values)
    d = values[0] - mean
    ss = d * d
    for v in values[1:]:
        d = v - mean
        ss += d * d
    return mean, math.sqrt(ss / (n - 1))


def _stats_unequal(values: list[float], dispersion: str) -> tuple[float, float]:
    """Mean and R or S as the batch computes them for a series of unequal subgroups.

    The batch sums with ``np.add.reduceat`` (pairwise summation after the first value); the
    same NumPy call on the one subgroup gives the same sums.
    """
    arr = np.array(values, dtype=np.float64)
    n = arr.size
    mean = float(np.add.reduceat(arr, _ZERO_START)[0] / n)
    if dispersion == "r":
        return mean, max(values) - min(values)
    dev = arr - mean
    ss = float(np.add.reduceat(dev * dev, _ZERO_START)[0])
    return mean, math.sqrt(ss / (n - 1))


# --------------------------------------------------------------------------- the state


class MonitorState:
    """Online SPC of one characteristic against frozen phase I limits (phase II).

    Parameters
    ----------
    chart : {"imr", "xbar_r", "xbar_s"}
    center : float
        The frozen process centre (the I / Xbar centre line).
    sigma : float
        The frozen within sigma of individual values (> 0). Limits follow as in the batch
        charts: I ``center ± 3σ``; MR ``d2(2)σ`` with UCL ``(d2 + 3 d3)σ``; Xbar
        ``center ± 3σ/√n``; R ``d2(n)σ ± 3 d3(n)σ``; S ``c4(n)σ ± 3σ√(1 - c4²)``; lower R, S and
        MR limits floored at 0.
    subgroup_size : int, optional
        Xbar charts: values per subgroup (2 or more); a subgroup closes when it is full. None:
        subgroups are defined by labels only (every value must carry one). Must be None or 1 for
        I-MR.
    rules, tests, rule_k, test8
        Run rules, as for the chart functions (:func:`zhuoyue.stats.rules.resolve_rules`): a set
        name (``"gb4091"``, ``"we"``, ``"none"``) or a :class:`~zhuoyue.stats.rules.RuleSet`,
        the tests switched on, ``K`` per test, the test 8 wording.
    lsl, usl : float, optional
        Specification limits; a value strictly outside them is a :class:`SpecBreach`.
    constants : {"exact", "table"}
        d2/d3 values, as for the chart functions.

    Notes
    -----
    The module documentation (:mod:`zhuoyue.monitor.state`) defines when subgroups close and in
    which sense the results equal those of the batch charts.

    Examples
    --------
    >>> m = MonitorState("imr", center=10.0, sigma=1.0, usl=12.5)
    >>> [e.kind for v in (10.2, 9.9, 13.4) for e in m.push(v)]
    ['spec', 'rule']
    >>> [(e.panel, e.index, e.test) for e in m.push(9.5)]  # moving range 3.9 > 3.686
    [('mr', 3, 1)]
    """

    __slots__ = (
        "_center",
        "_chart",
        "_constants",
        "_dispersion",
        "_judges",
        "_labelled",
        "_last_label",
        "_limits",
        "_lsl",
        "_mr",
        "_n_values",
        "_open",
        "_panels",
        "_previous",
        "_rules",
        "_sigma",
        "_size",
        "_usl",
    )

    def __init__(
        self,
        chart: str,
        center: float,
        sigma: float,
        *,
        subgroup_size: int | None = None,
        rules: str | RuleSet = "gb4091",
        tests: Iterable[int] | None = None,
        rule_k: Mapping[int, float] | None = None,
        test8: str | None = None,
        lsl: float | None = None,
        usl: float | None = None,
        constants: str = "exact",
    ) -> None:
        name = str(chart).lower()
        if name not in CHARTS:
            raise ParameterError(
                f"The 'chart' parameter of MonitorState must be one of {list(CHARTS)}. "
                f"Got {chart!r}."
            )
        if constants not in K.CONSTANTS:
            raise ParameterError(
                f"The 'constants' parameter must be one of {list(K.CONSTANTS)}. Got {constants!r}."
            )
        c = _opt_float(center, "center")
        s = _opt_float(sigma, "sigma")
        if c is None:
            raise ParameterError("The 'center' parameter of MonitorState is required.")
        if s is None or s <= 0.0:
            raise ParameterError(
                f"The 'sigma' parameter of MonitorState must be a finite number > 0. Got {sigma!r}."
            )
        size: int | None = None
        if subgroup_size is not None:
            if isinstance(subgroup_size, bool) or not isinstance(subgroup_size, (int, np.integer)):
                raise ParameterError(
                    f"The 'subgroup_size' parameter must be an int or None. Got {subgroup_size!r}."
                )
            size = int(subgroup_size)
        if name == "imr":
            if size not in (None, 1):
                raise ParameterError(
                    f"The 'subgroup_size' parameter of an imr monitor must be 1 or None. Got {size}."
                    " Use xbar_r or xbar_s for subgroups."
                )
            size = None
        elif size is not None:
            top = _TABLE_MAX_N if constants == "table" else None
            if size < 2 or (top is not None and size > top):
                bound = f"[2, {top}] (constants='table')" if top else ">= 2"
                raise ParameterError(
                    f"The 'subgroup_size' parameter of an {name} monitor must be an int in "
                    f"{bound}, or None for subgroups by label. Got {size}."
                )
        lo = _opt_float(lsl, "lsl")
        hi = _opt_float(usl, "usl")
        if lo is not None and hi is not None and not lo < hi:
            raise ParameterError(f"The spec limits need lsl < usl. Got lsl={lo!r}, usl={hi!r}.")
        ruleset = resolve_rules(rules, tests=tests, k=rule_k, test8=test8)

        self._chart: str = name
        self._center: float = c
        self._sigma: float = s
        self._size: int | None = size
        self._rules: RuleSet = ruleset
        self._constants: str = constants
        self._lsl: float | None = lo
        self._usl: float | None = hi
        self._n_values = 0
        self._previous: float | None = None  # I-MR: the last value
        self._open: _Open | None = None
        self._last_label: Label | None = None  # label of the subgroup closed last
        self._labelled: bool | None = None  # do values carry subgroup labels?
        self._limits: dict[int, _Limits] = {}
        main = applicable_tests(ruleset)
        if name == "imr":
            self._panels: tuple[str, str] = ("i", "mr")
            second = applicable_tests(ruleset, zones=False, only=(1,))
            d2_2 = float(K.d2(2, constants))
            d3_2 = float(K.d3(2, constants))
            mr_c = d2_2 * s
            mr_s = d3_2 * s
            self._mr = (mr_c, mr_s, max(mr_c - 3.0 * mr_s, 0.0), mr_c + 3.0 * mr_s)
            self._dispersion = ""
        else:
            self._dispersion = "r" if name == "xbar_r" else "s"
            self._panels = ("xbar", self._dispersion)
            second = applicable_tests(ruleset, zones=False)
            self._mr = (0.0, 0.0, 0.0, 0.0)
        self._judges = (PanelJudge(ruleset, main), PanelJudge(ruleset, second))

    # ----------------------------------------------------------------- properties

    @property
    def chart(self) -> str:
        """``"imr"``, ``"xbar_r"`` or ``"xbar_s"``."""
        return self._chart

    @property
    def center(self) -> float:
        return self._center

    @property
    def sigma(self) -> float:
        return self._sigma

    @property
    def subgroup_size(self) -> int | None:
        return self._size

    @property
    def rules(self) -> RuleSet:
        return self._rules

    @property
    def lsl(self) -> float | None:
        return self._lsl

    @property
    def usl(self) -> float | None:
        return self._usl

    @property
    def panels(self) -> tuple[str, str]:
        """Names of the two panels: ``("i", "mr")``, ``("xbar", "r")`` or ``("xbar", "s")``."""
        return self._panels

    @property
    def n_values(self) -> int:
        """Values accepted so far."""
        return self._n_values

    @property
    def n_points(self) -> int:
        """Points judged so far (values for I-MR, closed subgroups for Xbar charts)."""
        return self._judges[0].n_points

    @property
    def pending(self) -> int:
        """Values in the open subgroup, not judged yet (always 0 for I-MR)."""
        return 0 if self._open is None else len(self._open.values)

    def tests(self, panel: str) -> tuple[int, ...]:
        """The tests applied to ``panel`` (as the batch chart applies them)."""
        try:
            return self._judges[self._panels.index(panel)].tests
        except ValueError:
            raise ParameterError(
                f"The 'panel' parameter must be one of {list(self._panels)}. Got {panel!r}."
            ) from None

    def __repr__(self) -> str:
        return (
            f"MonitorState({self._chart!r}, center={self._center!r}, sigma={self._sigma!r}, "
            f"subgroup_size={self._size!r}, rules={self._rules.name!r}, "
            f"n_values={self._n_values}, n_points={self.n_points})"
        )

    # ----------------------------------------------------------------- streaming

    def push(
        self,
        value: float,
        *,
        subgroup: Label | None = None,
        ts: Timestamp | None = None,
        key: Key | None = None,
    ) -> list[Event]:
        """Take one measured value; return the events it causes, in order.

        Parameters
        ----------
        value : float
            The measurement. NaN, infinities and non-numbers raise
            :class:`~zhuoyue.errors.DataError` (codes ``"not_finite"``, ``"not_a_number"``)
            and leave the state unchanged.
        subgroup : str or int, optional
            The value's subgroup label (Xbar charts; carried into the events of I-MR charts).
        ts, key
            The value's time stamp and the caller's key, passed through to the events.

        Returns
        -------
        list of Event
            For Xbar charts, when the label changes: the rule violations of the subgroup it
            closes (or its :class:`SubgroupDropped`); then the value's :class:`SpecBreach`, if
            any; then the violations of the subgroup the value completes. For I-MR: the spec
            breach, then the violations of the I and MR points. Violations of one point are
            ordered by panel, then test.

        Raises
        ------
        DataError
            Codes ``"not_finite"``, ``"not_a_number"``; for Xbar charts ``"missing_subgroup"``
            (labelled and unlabelled values mixed, or no label when ``subgroup_size`` is None),
            ``"subgroup_closed"`` (a value for the subgroup judged last) and
            ``"subgroup_too_large"`` (``constants="table"`` and more than 25 values in a
            subgroup). The state is unchanged.
        """
        i = self._n_values
        x = _finite_value(value, i)
        _check_label(subgroup)
        _check_ts(ts)
        _check_key(key)
        if self._chart == "imr":
            return self._push_individual(x, i, subgroup, ts, key)
        return self._push_subgrouped(x, i, subgroup, ts, key)

    def flush(self) -> list[Event]:
        """Close the open subgroup now and return its events (nothing for I-MR or when empty)."""
        if self._open is None:
            return []
        return self._close()

    def _spec(
        self, x: float, i: int, label: Label | None, ts: Timestamp | None, key: Key | None
    ) -> SpecBreach | None:
        if self._lsl is not None and x < self._lsl:
            return SpecBreach(i, x, "lsl", self._lsl, label, ts, key)
        if self._usl is not None and x > self._usl:
            return SpecBreach(i, x, "usl", self._usl, label, ts, key)
        return None

    def _push_individual(
        self, x: float, i: int, label: Label | None, ts: Timestamp | None, key: Key | None
    ) -> list[Event]:
        events: list[Event] = []
        breach = self._spec(x, i, label, ts, key)
        if breach is not None:
            events.append(breach)
        c = self._center
        s = self._sigma
        i_judge, mr_judge = self._judges
        for test, points in i_judge.judge(x, c, s, c - 3.0 * s, c + 3.0 * s, scalar=True):
            events.append(RuleViolation("i", i, test, points, x, 1, i, label, ts, key))
        mr = math.nan if self._previous is None else abs(x - self._previous)
        mr_c, mr_s, mr_lcl, mr_ucl = self._mr
        for test, points in mr_judge.judge(mr, mr_c, mr_s, mr_lcl, mr_ucl, scalar=True):
            events.append(RuleViolation("mr", i, test, points, mr, 1, i, label, ts, key))
        self._previous = x
        self._n_values = i + 1
        return events

    def _push_subgrouped(
        self, x: float, i: int, label: Label | None, ts: Timestamp | None, key: Key | None
    ) -> list[Event]:
        labelled = label is not None
        if (self._labelled is not None and labelled != self._labelled) or (
            not labelled and self._size is None
        ):
            need = "a subgroup label" if self._labelled or self._size is None else "no label"
            raise DataError(
                f"Value {i} has {'a' if labelled else 'no'} subgroup label, but this monitor's "
                f"values need {need}: give every value a subgroup or none"
                + (" (subgroup_size is None: subgroups are defined by labels)." if self._size
                   is None else "."),
                index=i,
                code="missing_subgroup",
            )  # fmt: skip
        current = self._open
        starts_new = current is None or (labelled and label != current.label)
        if starts_new and labelled and label == self._last_label:
            raise DataError(
                f"Value {i} belongs to subgroup {label!r}, which has already been closed and "
                "judged; its values must arrive together (check the message order and the "
                "subgroup size).",
                index=i,
                code="subgroup_closed",
            )
        if (
            not starts_new
            and current is not None
            and self._size is None
            and self._constants == "table"
            and len(current.values) >= _TABLE_MAX_N
        ):
            raise DataError(
                f"Value {i} would make subgroup {label!r} larger than {_TABLE_MAX_N} values, the "
                "largest the d2/d3 tables cover (constants='table'). Use constants='exact'.",
                index=i,
                code="subgroup_too_large",
            )
        events: list[Event] = []
        if starts_new:
            if current is not None:
                events.extend(self._close())
            current = self._open = _Open(label, i)
        assert current is not None
        self._labelled = labelled
        current.values.append(x)
        current.ts = ts
        current.key = key
        self._n_values = i + 1
        breach = self._spec(x, i, label, ts, key)
        if breach is not None:
            events.append(breach)
        if len(current.values) == self._size:
            events.extend(self._close())
        return events

    def _subgroup_limits(self, n: int) -> _Limits:
        lim = self._limits.get(n)
        if lim is not None:
            return lim
        c = self._center
        s = self._sigma
        sx = s / math.sqrt(float(n))
        if self._dispersion == "r":
            dc = float(K.d2(n, self._constants)) * s
            ds = float(K.d3(n, self._constants)) * s
        else:
            c4 = float(K.c4(n))
            dc = c4 * s
            ds = s * math.sqrt(1.0 - c4 * c4)
        lim = _Limits(
            sx, c - 3.0 * sx, c + 3.0 * sx, dc, ds, max(dc - 3.0 * ds, 0.0), dc + 3.0 * ds
        )
        if len(self._limits) < 64:  # a handful of sizes in practice; bounded regardless
            self._limits[n] = lim
        return lim

    def _close(self) -> list[Event]:
        group = self._open
        assert group is not None
        self._open = None
        self._last_label = group.label
        n = len(group.values)
        last = group.first + n - 1
        if n < 2:
            return [SubgroupDropped(group.first, group.label, group.ts, group.key)]
        nominal = n == self._size
        compute = _stats_equal if nominal else _stats_unequal
        mean, disp = compute(group.values, self._dispersion)
        lim = self._subgroup_limits(n)
        x_judge, d_judge = self._judges
        index = x_judge.n_points
        events: list[Event] = []
        for test, points in x_judge.judge(
            mean, self._center, lim.x_sigma, lim.x_lcl, lim.x_ucl, scalar=nominal
        ):
            events.append(
                RuleViolation("xbar", index, test, points, mean, n, last, group.label,
                              group.ts, group.key)
            )  # fmt: skip
        for test, points in d_judge.judge(
            disp, lim.d_center, lim.d_sigma, lim.d_lcl, lim.d_ucl, scalar=nominal
        ):
            events.append(
                RuleViolation(self._dispersion, index, test, points, disp, n, last, group.label,
                              group.ts, group.key)
            )  # fmt: skip
        return events

    # ----------------------------------------------------------------- persistence

    def to_dict(self) -> dict[str, Any]:
        """The whole state as JSON-safe data: configuration, counters and the open subgroup.

        ``MonitorState.from_dict(json.loads(json.dumps(state.to_dict())))`` continues exactly
        as ``state`` would. Datetime time stamps are saved as ISO 8601 text and restored.
        """
        group = self._open
        return {
            "version": STATE_VERSION,
            "config": {
                "chart": self._chart,
                "center": self._center,
                "sigma": self._sigma,
                "subgroup_size": self._size,
                "rules": self._rules.to_dict(),
                "constants": self._constants,
                "lsl": self._lsl,
                "usl": self._usl,
            },
            "n_values": self._n_values,
            "previous": self._previous,
            "labelled": self._labelled,
            "last_label": self._last_label,
            "open": None
            if group is None
            else {
                "label": group.label,
                "first": group.first,
                "values": list(group.values),
                "ts": _encode_ts(group.ts),
                "key": group.key,
            },
            "panels": {
                name: j.to_dict() for name, j in zip(self._panels, self._judges, strict=True)
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MonitorState:
        """Restore a state saved by :meth:`to_dict`.

        Raises
        ------
        ParameterError
            The data are not a saved state of this version (the message says what is wrong).
        """
        try:
            version = data["version"]
            config = data["config"]
            rules = config["rules"]
        except (TypeError, KeyError) as exc:
            raise ParameterError(f"A saved monitor state must have {exc}.") from None
        if version != STATE_VERSION:
            raise ParameterError(
                f"The saved monitor state has version {version!r}; this zhuoyue reads version "
                f"{STATE_VERSION}."
            )
        try:
            state = cls(
                config["chart"],
                config["center"],
                config["sigma"],
                subgroup_size=config["subgroup_size"],
                rules=rules["set"],
                tests=rules["tests"],
                rule_k={int(t): float(k) for t, k in rules["k"].items()},
                test8=rules["test8"],
                lsl=config["lsl"],
                usl=config["usl"],
                constants=config["constants"],
            )
            n_values = data["n_values"]
            previous = data["previous"]
            labelled = data["labelled"]
            last_label = data["last_label"]
            group = data["open"]
            panels = data["panels"]
        except (TypeError, KeyError, AttributeError) as exc:
            raise ParameterError(
                f"A saved monitor state is incomplete or malformed: {exc!r}."
            ) from None
        if isinstance(n_values, bool) or not isinstance(n_values, int) or n_values < 0:
            raise ParameterError(f"A saved value count must be an int >= 0. Got {n_values!r}.")
        state._n_values = n_values
        state._previous = _opt_float(previous, "previous")
        if labelled not in (None, True, False):
            raise ParameterError(
                f"A saved 'labelled' flag must be a bool or null. Got {labelled!r}."
            )
        state._labelled = labelled
        _check_label(last_label)
        state._last_label = last_label
        if group is not None:
            try:
                label = group["label"]
                first = group["first"]
                values = [_finite_value(v, first) for v in group["values"]]
                ts = _decode_ts(group["ts"])
                key = group["key"]
            except (TypeError, KeyError) as exc:
                raise ParameterError(f"A saved open subgroup must have {exc}.") from None
            _check_label(label)
            _check_key(key)
            if not values or (state._size is not None and len(values) >= state._size):
                raise ParameterError(
                    f"A saved open subgroup must hold 1 to subgroup_size - 1 values. Got {values!r}."
                )
            if (
                isinstance(first, bool)
                or not isinstance(first, int)
                or first + len(values) != n_values
            ):
                raise ParameterError(
                    f"A saved open subgroup must start at value {n_values - len(values)}. Got {first!r}."
                )
            opened = _Open(label, first)
            opened.values = values
            opened.ts = ts
            opened.key = key
            state._open = opened
        if not isinstance(panels, Mapping) or set(panels) != set(state._panels):
            raise ParameterError(
                f"A saved monitor state must have the panels {list(state._panels)}. Got {panels!r}."
            )
        for name, judge in zip(state._panels, state._judges, strict=True):
            judge.load(panels[name])
        return state
