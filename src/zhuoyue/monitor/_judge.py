"""Incremental run-rule evaluation of one chart panel (internal).

A :class:`PanelJudge` holds, per selected test, the few counters that test needs and judges one
plotted point at a time. The counters replace the windows of :mod:`zhuoyue.stats.rules`:

==============  =================================================  ========================
kind            batch window                                       state kept here
==============  =================================================  ========================
``beyond``      the point itself                                   nothing
``same_side``   ``K`` points all above / all below the centre      two streak counters
``trend``       ``K - 1`` steps all up / all down                  two streak counters
``alternate``   ``K - 2`` alternations of the step sign            one streak, last sign
``k_of_k1``     count beyond the zone on each side in ``K + 1``    ring of ``K + 1`` flags
``within``      ``K`` points with ``|z| <= zone``                  one streak counter
``mixture``     ``K`` points with ``|z| > zone`` (not all one      three streak counters
                side when both sides are required)
==============  =================================================  ========================

Streaks are capped at the length that fires the test, so the state is bounded and canonical
(the same future gives the same result whatever the length of the past).

Comparisons are made exactly as :func:`zhuoyue.stats.rules.evaluate_chart` makes them: with
constant limits (``scalar=True``) the statistic is compared with ``centre ± level·sigma``; with
per-point limits with ``z = (statistic - centre) / sigma``; test 1 with its default ``K = 3``
compares the statistic with the control limits themselves.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from zhuoyue.errors import ParameterError
from zhuoyue.stats.rules import RULE_SETS, RuleSet

__all__ = ["PanelJudge", "Zones"]

#: a fired test: (test number, the 0-based points forming the pattern, ascending)
Fired = tuple[int, tuple[int, ...]]


class Zones:
    """Above / below flags of one point at the zone levels the panel's tests need.

    ``above[j]`` / ``below[j]`` belong to the ``j``-th level of the panel (``_Tracker.zi``).
    """

    __slots__ = ("above", "below")

    def __init__(self, above: list[bool], below: list[bool]) -> None:
        self.above = above
        self.below = below


class _Tracker:
    """One selected test; ``judge`` returns the points of the pattern when the test fires."""

    __slots__ = ("k", "test", "zi", "zone")

    def __init__(self, test: int, k: int, zone: float) -> None:
        self.test = test
        self.k = k
        self.zone = zone
        self.zi = 0  # position of ``zone`` among the panel's levels (set by PanelJudge)

    def judge(self, i: int, zones: Zones, step: int | None) -> tuple[int, ...] | None:
        raise NotImplementedError  # pragma: no cover

    def state(self) -> list[Any]:
        raise NotImplementedError  # pragma: no cover

    def load(self, state: list[Any]) -> None:
        raise NotImplementedError  # pragma: no cover


def _run(i: int, k: int) -> tuple[int, ...]:
    return tuple(range(i - k + 1, i + 1))


def _count(value: Any, cap: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= cap:
        raise ParameterError(
            f"A saved run-rule counter must be an int in [0, {cap}]. Got {value!r}."
        )
    return value


class _SameSide(_Tracker):
    """``K`` points in a row strictly on one side of the zone level (the centre line)."""

    __slots__ = ("n_above", "n_below")

    def __init__(self, test: int, k: int, zone: float) -> None:
        super().__init__(test, k, zone)
        self.n_above = 0
        self.n_below = 0

    def judge(self, i: int, zones: Zones, step: int | None) -> tuple[int, ...] | None:
        k = self.k
        if zones.above[self.zi]:
            self.n_below = 0
            if self.n_above < k:
                self.n_above += 1
            if self.n_above >= k:
                return _run(i, k)
        elif zones.below[self.zi]:
            self.n_above = 0
            if self.n_below < k:
                self.n_below += 1
            if self.n_below >= k:
                return _run(i, k)
        else:
            self.n_above = self.n_below = 0
        return None

    def state(self) -> list[Any]:
        return [self.n_above, self.n_below]

    def load(self, state: list[Any]) -> None:
        self.n_above, self.n_below = (_count(v, self.k) for v in state)


class _Trend(_Tracker):
    """``K`` points steadily increasing or decreasing: ``K - 1`` steps of one nonzero sign."""

    __slots__ = ("n_down", "n_up")

    def __init__(self, test: int, k: int, zone: float) -> None:
        super().__init__(test, k, zone)
        self.n_up = 0
        self.n_down = 0

    def judge(self, i: int, zones: Zones, step: int | None) -> tuple[int, ...] | None:
        need = self.k - 1
        self.n_up = min(self.n_up + 1, need) if step == 1 else 0
        self.n_down = min(self.n_down + 1, need) if step == -1 else 0
        if self.n_up >= need or self.n_down >= need:
            return _run(i, self.k)
        return None

    def state(self) -> list[Any]:
        return [self.n_up, self.n_down]

    def load(self, state: list[Any]) -> None:
        self.n_up, self.n_down = (_count(v, self.k - 1) for v in state)


class _Alternate(_Tracker):
    """``K`` points alternating up and down: ``K - 2`` sign changes between nonzero steps."""

    __slots__ = ("last", "n_alt")

    def __init__(self, test: int, k: int, zone: float) -> None:
        super().__init__(test, k, zone)
        self.n_alt = 0
        self.last = 0  # sign of the previous step; 0: a tie or no step yet

    def judge(self, i: int, zones: Zones, step: int | None) -> tuple[int, ...] | None:
        s = 0 if step is None else step
        need = self.k - 2
        self.n_alt = min(self.n_alt + 1, need) if s != 0 and s == -self.last else 0
        self.last = s
        if self.n_alt >= need:
            return _run(i, self.k)
        return None

    def state(self) -> list[Any]:
        return [self.n_alt, self.last]

    def load(self, state: list[Any]) -> None:
        self.n_alt = _count(state[0], self.k - 2)
        if state[1] not in (-1, 0, 1) or isinstance(state[1], bool):
            raise ParameterError(f"A saved step sign must be -1, 0 or 1. Got {state[1]!r}.")
        self.last = int(state[1])


class _KofK1(_Tracker):
    """``K`` of ``K + 1`` points beyond the zone on one side, the point itself among them."""

    __slots__ = ("n_above", "n_below", "ring")

    def __init__(self, test: int, k: int, zone: float) -> None:
        super().__init__(test, k, zone)
        self.ring: deque[int] = deque(maxlen=k + 1)  # +1 above, -1 below, 0 neither
        self.n_above = 0
        self.n_below = 0

    def judge(self, i: int, zones: Zones, step: int | None) -> tuple[int, ...] | None:
        ring = self.ring
        if len(ring) == self.k + 1:
            old = ring[0]
            if old == 1:
                self.n_above -= 1
            elif old == -1:
                self.n_below -= 1
        if zones.above[self.zi]:
            ring.append(1)
            self.n_above += 1
            if self.n_above >= self.k:
                return self._points(i, 1)
        elif zones.below[self.zi]:
            ring.append(-1)
            self.n_below += 1
            if self.n_below >= self.k:
                return self._points(i, -1)
        else:
            ring.append(0)
        return None

    def _points(self, i: int, side: int) -> tuple[int, ...]:
        first = i - len(self.ring) + 1
        return tuple(first + j for j, code in enumerate(self.ring) if code == side)

    def state(self) -> list[Any]:
        return list(self.ring)

    def load(self, state: list[Any]) -> None:
        if len(state) > self.k + 1 or any(
            isinstance(c, bool) or c not in (-1, 0, 1) for c in state
        ):
            raise ParameterError(
                f"A saved window of test {self.test} must hold at most {self.k + 1} codes "
                f"-1, 0 or 1. Got {state!r}."
            )
        self.ring = deque((int(c) for c in state), maxlen=self.k + 1)
        self.n_above = sum(1 for c in state if c == 1)
        self.n_below = sum(1 for c in state if c == -1)


class _Within(_Tracker):
    """``K`` points in a row within the zone (``|z| <= zone``)."""

    __slots__ = ("n_in",)

    def __init__(self, test: int, k: int, zone: float) -> None:
        super().__init__(test, k, zone)
        self.n_in = 0

    def judge(self, i: int, zones: Zones, step: int | None) -> tuple[int, ...] | None:
        if zones.above[self.zi] or zones.below[self.zi]:
            self.n_in = 0
            return None
        if self.n_in < self.k:
            self.n_in += 1
        if self.n_in >= self.k:
            return _run(i, self.k)
        return None

    def state(self) -> list[Any]:
        return [self.n_in]

    def load(self, state: list[Any]) -> None:
        (self.n_in,) = (_count(v, self.k) for v in state)


class _Mixture(_Tracker):
    """``K`` points in a row beyond the zone; with ``both``, not all of them on one side."""

    __slots__ = ("both", "n_above", "n_below", "n_out")

    def __init__(self, test: int, k: int, zone: float, both: bool) -> None:
        super().__init__(test, k, zone)
        self.both = both
        self.n_out = 0
        self.n_above = 0
        self.n_below = 0

    def judge(self, i: int, zones: Zones, step: int | None) -> tuple[int, ...] | None:
        k = self.k
        above = zones.above[self.zi]
        below = zones.below[self.zi]
        self.n_out = min(self.n_out + 1, k) if (above or below) else 0
        self.n_above = min(self.n_above + 1, k) if above else 0
        self.n_below = min(self.n_below + 1, k) if below else 0
        if self.n_out >= k and not (self.both and (self.n_above >= k or self.n_below >= k)):
            return _run(i, k)
        return None

    def state(self) -> list[Any]:
        return [self.n_out, self.n_above, self.n_below]

    def load(self, state: list[Any]) -> None:
        self.n_out, self.n_above, self.n_below = (_count(v, self.k) for v in state)


class PanelJudge:
    """Run rules of one panel, judged point by point.

    Parameters
    ----------
    rules : RuleSet
    tests : tuple of int
        The tests applied to this panel (:func:`zhuoyue.stats.rules.applicable_tests`).
    """

    __slots__ = (
        "_levels",
        "_need_steps",
        "_t1",
        "_t1_level",
        "_trackers",
        "n_points",
        "previous",
        "tests",
    )

    def __init__(self, rules: RuleSet, tests: tuple[int, ...]) -> None:
        self.tests = tests
        self.n_points = 0
        self.previous: float | None = None  # the last statistic (kept for the step tests only)
        self._t1: int | None = None
        self._t1_level: float | None = None  # None: test 1 compares with the control limits
        self._trackers: list[_Tracker] = []
        levels: set[float] = set()
        both = rules.test8 == "both"
        for test in tests:
            kind, default_k, zone = RULE_SETS[rules.name][test]
            k = rules.k_of(test)
            if kind == "beyond":
                self._t1 = test
                if k != default_k:
                    self._t1_level = k
                    levels.add(k)
                continue
            ki = int(k)
            tracker: _Tracker
            if kind == "same_side":
                tracker = _SameSide(test, ki, zone)
            elif kind == "trend":
                tracker = _Trend(test, ki, zone)
            elif kind == "alternate":
                tracker = _Alternate(test, ki, zone)
            elif kind == "k_of_k1":
                tracker = _KofK1(test, ki, zone)
            elif kind == "within":
                tracker = _Within(test, ki, zone)
            elif kind == "mixture":
                tracker = _Mixture(test, ki, zone, both)
            else:  # pragma: no cover - RULE_SETS lists only the kinds above
                raise AssertionError(kind)
            levels.add(zone)
            self._trackers.append(tracker)
        self._levels = tuple(sorted(levels))
        for tracker in self._trackers:
            tracker.zi = self._levels.index(tracker.zone)
        self._need_steps = any(isinstance(t, (_Trend, _Alternate)) for t in self._trackers)

    def judge(
        self,
        x: float,
        center: float,
        sigma: float,
        lcl: float,
        ucl: float,
        *,
        scalar: bool,
    ) -> list[Fired]:
        """Judge the next point; return the tests it fires with their points, by test number.

        ``scalar`` selects the batch's comparison for constant limits (``x > centre + l·sigma``);
        otherwise ``z = (x - centre) / sigma`` is compared with ``l`` (per-point limits).
        """
        i = self.n_points
        fired: list[Fired] = []
        if self._t1 is not None:
            if self._t1_level is None:
                out = x > ucl or x < lcl
            elif scalar:
                lvl = self._t1_level
                out = x > center + lvl * sigma or x < center - lvl * sigma
            else:
                out = abs((x - center) / sigma) > self._t1_level
            if out:
                fired.append((self._t1, (i,)))
        if self._trackers:
            if scalar:
                zones = Zones(
                    [x > center + lvl * sigma for lvl in self._levels],
                    [x < center - lvl * sigma for lvl in self._levels],
                )
            else:
                z = (x - center) / sigma
                zones = Zones([z > lvl for lvl in self._levels], [z < -lvl for lvl in self._levels])
            step: int | None = None
            if self._need_steps and self.previous is not None:
                d = x - self.previous
                step = 1 if d > 0 else (-1 if d < 0 else 0)
            for tracker in self._trackers:
                points = tracker.judge(i, zones, step)
                if points is not None:
                    fired.append((tracker.test, points))
            if len(fired) > 1:
                fired.sort()
        if self._need_steps:
            self.previous = x
        self.n_points = i + 1
        return fired

    def to_dict(self) -> dict[str, Any]:
        """The counters as JSON-safe data (restored by :meth:`load`)."""
        return {
            "points": self.n_points,
            "previous": self.previous,
            "tests": [[t.test, t.state()] for t in self._trackers],
        }

    def load(self, data: Any) -> None:
        """Restore the counters saved by :meth:`to_dict` (for the same rules and tests)."""
        try:
            points = data["points"]
            previous = data["previous"]
            saved = data["tests"]
        except (TypeError, KeyError) as exc:
            raise ParameterError(f"A saved panel state must have {exc}. Got {data!r}.") from None
        if isinstance(points, bool) or not isinstance(points, int) or points < 0:
            raise ParameterError(f"A saved point count must be an int >= 0. Got {points!r}.")
        if previous is not None and (
            isinstance(previous, bool) or not isinstance(previous, (int, float))
        ):
            raise ParameterError(f"A saved statistic must be a number or null. Got {previous!r}.")
        if not isinstance(saved, list) or [
            s[0] if isinstance(s, list) and s else None for s in saved
        ] != [t.test for t in self._trackers]:
            raise ParameterError(
                "The saved run-rule state is for other tests "
                f"({saved!r}); expected tests {[t.test for t in self._trackers]}."
            )
        for tracker, (_, state) in zip(self._trackers, saved, strict=True):
            if not isinstance(state, list):
                raise ParameterError(f"A saved test state must be a list. Got {state!r}.")
            try:
                tracker.load(state)
            except ValueError as exc:  # wrong number of counters
                raise ParameterError(f"Saved state of test {tracker.test}: {exc}") from None
        self.n_points = points
        self.previous = None if previous is None else float(previous)
