"""A simulated machine feed for the online monitor (``zhuoyue simulate``): pure and seeded.

:func:`generate` turns the frozen limits of some characteristics (:class:`FeedTarget`: centre,
within sigma, subgroup size) into a stream of :class:`FeedValue` — one MQTT message each, the
payload of :mod:`zhuoyue.ingest.messages` with a unique message id. The characteristics take
turns, one subgroup at a time (a whole subgroup of ``subgroup_size`` values, labelled with
consecutive subgroup numbers, or one individual value), so a subgroup's values arrive together
as the online monitor expects.

Values are ``N(centre + offset, sigma)`` where the offset follows the characteristic's
:class:`Disturbance`:

* ``normal`` — no offset (a process in control: alarms only by chance);
* ``shift`` — the mean moves by ``size`` sigmas (1.5 by default) from value ``start`` on;
* ``trend`` — the mean rises ``size`` sigmas per value from value ``start`` on (a slow drift:
  tool wear, a warming spindle).

Scenarios (:func:`plan`): ``normal``, ``shift`` and ``trend`` give every characteristic that
disturbance; ``mixed`` keeps most characteristics normal, shifts one by 1.5 sigma a third of the
way through and lets another drift up 3 sigma over the last two thirds — enough for tests 2, 5,
6 (and 1) of GB/T 4091 to fire on both within a few hundred values of each. Test 3 (six points
steadily rising) needs a trend of about 0.25 sigma per point to stand out of the noise; on a
slow drift it fires about as often as on a stable process (by chance, on any characteristic).
The characteristics disturbed are drawn with the seed. The same targets, scenario, count and seed give the same
values (message ids carry the ``run`` name, so two runs never collide in the monitor's duplicate
check).

:func:`load_targets` is the one function that reads the database (imported lazily): the
characteristics of an organization with active frozen limits.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from zhuoyue.errors import DataError, NotFound, ParameterError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = [
    "SCENARIOS",
    "SHIFT_SIGMA",
    "TREND_SIGMA",
    "Disturbance",
    "FeedTarget",
    "FeedValue",
    "generate",
    "load_targets",
    "mean_offsets",
    "plan",
    "values_per_target",
]

Scenario = Literal["normal", "shift", "trend", "mixed"]
#: the scenarios :func:`plan` knows
SCENARIOS: tuple[str, ...] = ("normal", "shift", "trend", "mixed")
#: the mean shift of the ``shift`` disturbance, in sigmas
SHIFT_SIGMA = 1.5
#: how far the ``trend`` disturbance moves the mean by the last value, in sigmas
TREND_SIGMA = 3.0
#: the share of a characteristic's values before a shift or trend starts
_CALM_SHARE = 1.0 / 3.0
#: values drawn at a time per characteristic
_BLOCK = 4096
_FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class FeedTarget:
    """A characteristic to simulate: its frozen centre and within sigma, and subgroups."""

    code: str
    center: float
    sigma: float
    subgroup_size: int = 1  # 1: individual values (I-MR), no subgroup labels
    first_subgroup: int = 1  # the first subgroup label (after the labels already stored)
    decimals: int | None = None  # gauge resolution; None: from sigma (at most sigma/8)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.center) and math.isfinite(self.sigma) and self.sigma > 0):
            raise ParameterError(
                f"The characteristic {self.code!r} needs a finite centre and a sigma > 0 to be "
                f"simulated. Got centre {self.center!r}, sigma {self.sigma!r}."
            )
        if self.subgroup_size < 1 or self.first_subgroup < 0:
            raise ParameterError(
                f"The characteristic {self.code!r} needs subgroup_size >= 1 and first_subgroup "
                f">= 0. Got {self.subgroup_size} and {self.first_subgroup}."
            )

    @property
    def resolution(self) -> int:
        """Decimals the values are rounded to."""
        if self.decimals is not None:
            return self.decimals
        return int(min(9, max(0, math.ceil(-math.log10(self.sigma / 8.0)))))


@dataclass(frozen=True, slots=True)
class Disturbance:
    """How the mean of one characteristic moves (see the module notes); in sigma units."""

    kind: Literal["normal", "shift", "trend"] = "normal"
    start: int = 0  # index of the characteristic's first disturbed value
    size: float = 0.0  # shift: sigmas; trend: sigmas per value


@dataclass(frozen=True, slots=True)
class FeedValue:
    """One message of the feed."""

    index: int  # position in the feed (0, 1, ...)
    characteristic: str
    value: float
    subgroup: int | None
    msg_id: str
    ts: datetime | None  # None: stamped when published

    def payload(self, ts: datetime | None = None) -> dict[str, Any]:
        """The JSON payload (:mod:`zhuoyue.ingest.messages`), stamped ``ts`` or its own time."""
        when = ts if ts is not None else self.ts
        if when is None:
            raise ParameterError("A feed value without a time needs ts= to make its payload.")
        doc: dict[str, Any] = {"ts": when.isoformat(), "value": self.value, "id": self.msg_id}
        if self.subgroup is not None:
            doc["subgroup"] = self.subgroup
        return doc


def values_per_target(targets: Sequence[FeedTarget], count: int) -> list[int]:
    """How many of ``count`` values each target gets when they take turns by subgroup."""
    sizes = [t.subgroup_size for t in targets]
    if not sizes:
        return []
    full, rest = divmod(count, sum(sizes))
    out = [full * n for n in sizes]
    for i, n in enumerate(sizes):
        take = min(n, rest)
        out[i] += take
        rest -= take
    return out


def plan(
    targets: Sequence[FeedTarget], scenario: str, count: int, *, seed: int | None = None
) -> list[Disturbance]:
    """The disturbance of each target for ``count`` values in all (see the module notes)."""
    if scenario not in SCENARIOS:
        raise ParameterError(
            f"The scenario must be one of {', '.join(SCENARIOS)}. Got {scenario!r}."
        )
    per = values_per_target(targets, count)

    def shift(n: int) -> Disturbance:
        return Disturbance("shift", int(n * _CALM_SHARE), SHIFT_SIGMA)

    def trend(n: int) -> Disturbance:
        start = int(n * _CALM_SHARE)
        return Disturbance("trend", start, TREND_SIGMA / max(1, n - start - 1))

    if scenario == "normal":
        return [Disturbance() for _ in targets]
    if scenario == "shift":
        return [shift(n) for n in per]
    if scenario == "trend":
        return [trend(n) for n in per]
    out = [Disturbance() for _ in targets]
    order = np.random.default_rng([_seed(seed), 0x5EED]).permutation(len(targets)).tolist()
    if order:
        out[order[0]] = shift(per[order[0]])
    if len(order) > 1:
        out[order[1]] = trend(per[order[1]])
    return out


def mean_offsets(d: Disturbance, n: int, first: int = 0) -> _FloatArray:
    """The expected offset of the mean, in sigmas, of a characteristic's values ``first`` to
    ``first + n - 1``."""
    k = np.arange(first, first + n, dtype=np.float64)
    if d.kind == "shift":
        return np.where(k >= d.start, d.size, 0.0)
    if d.kind == "trend":
        return np.maximum(k - d.start, 0.0) * d.size
    return np.zeros(n)


def _seed(seed: int | None) -> int:
    return 0 if seed is None else int(seed)


def generate(
    targets: Sequence[FeedTarget],
    count: int,
    *,
    scenario: str = "normal",
    seed: int | None = None,
    run: str = "sim",
    start: datetime | None = None,
    step: float = 1.0,
    disturbances: Sequence[Disturbance] | None = None,
) -> Iterator[FeedValue]:
    """``count`` feed values of ``targets`` (see the module notes).

    ``start`` and ``step`` (seconds between consecutive values of the feed) give simulated
    times; without ``start`` the values carry no time (the publisher stamps them). Message ids
    are ``{run}-{index}``. ``disturbances`` overrides :func:`plan`.

    >>> t = [FeedTarget("C1", 10.0, 1.0), FeedTarget("C2", 5.0, 0.1, subgroup_size=3)]
    >>> [(v.characteristic, v.subgroup, v.msg_id) for v in generate(t, 5, seed=1)]
    ... # doctest: +NORMALIZE_WHITESPACE
    [('C1', None, 'sim-0'), ('C2', 1, 'sim-1'), ('C2', 1, 'sim-2'), ('C2', 1, 'sim-3'),
     ('C1', None, 'sim-4')]
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ParameterError(f"The count must be an integer >= 0. Got {count!r}.")
    if not targets:
        raise ParameterError("There is nothing to simulate: give at least one characteristic.")
    if not (math.isfinite(step) and step >= 0):
        raise ParameterError(f"The step must be a number of seconds >= 0. Got {step!r}.")
    codes = [t.code for t in targets]
    if len(set(codes)) != len(codes):
        raise ParameterError("Each characteristic may be simulated once; a code repeats.")
    plans = (
        list(disturbances)
        if disturbances is not None
        else plan(targets, scenario, count, seed=seed)
    )
    if len(plans) != len(targets):
        raise ParameterError("Give one disturbance per characteristic.")
    per = values_per_target(targets, count)
    series = [
        _values(t, d, n, np.random.default_rng([_seed(seed), i]))
        for i, (t, d, n) in enumerate(zip(targets, plans, per, strict=True))
    ]
    return _interleave(targets, series, run, start, step, count)


def _values(t: FeedTarget, d: Disturbance, n: int, rng: np.random.Generator) -> Iterator[float]:
    """The ``n`` values of one target, drawn a block at a time (a long feed stays small)."""
    for first in range(0, n, _BLOCK):
        size = min(_BLOCK, n - first)
        mu = t.center + t.sigma * mean_offsets(d, size, first)
        yield from np.round(mu + t.sigma * rng.standard_normal(size), t.resolution).tolist()


def _interleave(
    targets: Sequence[FeedTarget],
    series: Sequence[Iterator[float]],
    run: str,
    start: datetime | None,
    step: float,
    count: int,
) -> Iterator[FeedValue]:
    done = [0] * len(targets)
    index = 0
    while index < count:
        for i, t in enumerate(targets):
            n = t.subgroup_size
            label = None if n < 2 else t.first_subgroup + done[i] // n
            values = series[i]
            for _ in range(n):
                if index >= count:
                    return
                yield FeedValue(
                    index=index,
                    characteristic=t.code,
                    value=next(values),
                    subgroup=label,
                    msg_id=f"{run}-{index}",
                    ts=None if start is None else start + timedelta(seconds=index * step),
                )
                done[i] += 1
                index += 1


def load_targets(session: Session, org_code: str) -> list[FeedTarget]:
    """The characteristics of organization ``org_code`` with active frozen limits, by code.

    Centre, sigma and subgroup size come from the frozen limits; the first subgroup label
    follows the largest label stored for the characteristic. Raises
    :class:`~zhuoyue.errors.NotFound` for an unknown organization and
    :class:`~zhuoyue.errors.DataError` (``no_frozen_limits``) when none has frozen limits.
    """
    from sqlalchemy import func, select

    from zhuoyue.monitor.state import CHARTS
    from zhuoyue.store.models import Characteristic, ControlLimits, Measurement, Organization

    org_id = session.scalar(select(Organization.id).where(Organization.code == org_code))
    if org_id is None:
        raise NotFound(f"There is no organization {org_code!r}: give --org with its code.")
    found = session.execute(
        select(Characteristic, ControlLimits)
        .join(ControlLimits, ControlLimits.characteristic_id == Characteristic.id)
        .where(Characteristic.org_id == org_id, ControlLimits.active.is_(True))
        .order_by(Characteristic.code)
    ).all()
    rows = [(c, lim) for c, lim in found if lim.chart in CHARTS]
    if not rows:
        raise DataError(
            f"No characteristic of {org_code!r} has active frozen control limits (I-MR, "
            "Xbar-R or Xbar-S): freeze phase I limits in the web app or with the API first.",
            code="no_frozen_limits",
        )
    last = dict(
        session.execute(
            select(Measurement.characteristic_id, func.max(Measurement.subgroup))
            .where(Measurement.characteristic_id.in_([c.id for c, _ in rows]))
            .group_by(Measurement.characteristic_id)
        ).all()
    )
    out = []
    for c, lim in rows:
        doc = lim.limits
        size = 1 if lim.chart == "imr" else int(doc.get("subgroup_size") or c.subgroup_size or 1)
        out.append(
            FeedTarget(
                code=c.code,
                center=float(doc["center"]),
                sigma=float(doc["sigma"]),
                subgroup_size=max(1, size),
                first_subgroup=int(last.get(c.id) or 0) + 1,
            )
        )
    return out
