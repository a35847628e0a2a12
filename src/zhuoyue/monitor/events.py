"""What the online monitor reports: run-rule violations, spec-limit breaches, dropped subgroups.

Every event is a frozen dataclass with a ``kind`` (``"rule"``, ``"spec"``, ``"dropped"``) and a
JSON-ready :meth:`to_dict`. ``ts`` and ``key`` are the time stamp and the caller's key (a message
or measurement id) of the value concerned, passed through unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Literal

__all__ = ["Event", "Key", "Label", "RuleViolation", "SpecBreach", "SubgroupDropped", "Timestamp"]

#: a subgroup label
Label = str | int
#: a time stamp: kept as given (datetimes are saved as ISO 8601 text by ``to_dict``)
Timestamp = datetime | str | int | float
#: the caller's key of a value (message id, measurement id)
Key = str | int


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


@dataclass(frozen=True, slots=True)
class RuleViolation:
    """A plotted point that completes the pattern of a run-rule test.

    Attributes
    ----------
    panel : str
        ``"i"`` or ``"mr"`` (I-MR), ``"xbar"`` and ``"r"`` or ``"s"`` (Xbar-R / Xbar-S).
    index : int
        0-based point of the chart: the value's position for I-MR, the subgroup's position for
        Xbar charts (subgroups left out, see :class:`SubgroupDropped`, take no position). The
        same index the batch chart of the same stream reports.
    test : int
        The test number in the rule set (GB/T 4091 1-8, Western Electric 1-4).
    points : tuple of int
        The points forming the pattern, ascending, ending with ``index`` (the run, the trend,
        or for "K of K + 1" tests the points beyond the zone on that side).
    statistic : float
        The plotted value of the point (individual value, moving range, mean, range or SD).
    size : int
        Values in the point (1 for I-MR).
    value_index : int
        0-based position in the stream of the last value of the point.
    subgroup : str or int or None
        The subgroup label of the point, when values carry labels.
    ts, key
        Time stamp and key of the last value of the point.
    """

    kind: ClassVar[Literal["rule"]] = "rule"

    panel: str
    index: int
    test: int
    points: tuple[int, ...]
    statistic: float
    size: int
    value_index: int
    subgroup: Label | None = None
    ts: Timestamp | None = None
    key: Key | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "panel": self.panel,
            "index": self.index,
            "test": self.test,
            "points": list(self.points),
            "statistic": self.statistic,
            "size": self.size,
            "value_index": self.value_index,
            "subgroup": self.subgroup,
            "ts": _jsonable(self.ts),
            "key": self.key,
        }


@dataclass(frozen=True, slots=True)
class SpecBreach:
    """One value outside the specification limits (``value < lsl`` or ``value > usl``).

    A value exactly on a spec limit is in specification. Reported when the value arrives,
    before its subgroup closes.
    """

    kind: ClassVar[Literal["spec"]] = "spec"

    value_index: int
    value: float
    side: Literal["lsl", "usl"]
    limit: float
    subgroup: Label | None = None
    ts: Timestamp | None = None
    key: Key | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "value_index": self.value_index,
            "value": self.value,
            "side": self.side,
            "limit": self.limit,
            "subgroup": self.subgroup,
            "ts": _jsonable(self.ts),
            "key": self.key,
        }


@dataclass(frozen=True, slots=True)
class SubgroupDropped:
    """A subgroup closed with one value: it has no range or SD and is left out of the chart.

    The platform's batch charts leave such subgroups out the same way.
    """

    kind: ClassVar[Literal["dropped"]] = "dropped"

    value_index: int
    subgroup: Label | None = None
    ts: Timestamp | None = None
    key: Key | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "value_index": self.value_index,
            "subgroup": self.subgroup,
            "ts": _jsonable(self.ts),
            "key": self.key,
        }


#: any event of :meth:`zhuoyue.monitor.MonitorState.push`
Event = RuleViolation | SpecBreach | SubgroupDropped
