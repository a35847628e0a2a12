"""zhuoyue.monitor — online SPC: each characteristic judged value by value against frozen limits.

The pure core (no I/O, no database) is :class:`MonitorState`::

    from zhuoyue.monitor import MonitorState
    m = MonitorState("xbar_r", center=74.001, sigma=0.0098, subgroup_size=5, usl=74.05)
    for value in feed:
        for event in m.push(value):
            ...                      # RuleViolation, SpecBreach or SubgroupDropped
    saved = m.to_dict()              # JSON-safe; MonitorState.from_dict(saved) resumes

Streaming a series gives exactly the violations of the batch chart
(:func:`zhuoyue.stats.xbar_r`, ``xbar_s``, ``imr`` with the same ``center=`` and ``sigma=``);
:mod:`zhuoyue.monitor.state` states the conditions.
"""

from zhuoyue.monitor.events import Event, RuleViolation, SpecBreach, SubgroupDropped
from zhuoyue.monitor.state import CHARTS, STATE_VERSION, MonitorState

__all__ = [
    "CHARTS",
    "STATE_VERSION",
    "Event",
    "MonitorState",
    "RuleViolation",
    "SpecBreach",
    "SubgroupDropped",
]
