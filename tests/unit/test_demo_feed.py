"""The simulated machine feed (zhuoyue.demo.feed): seeded, the disturbances it promises."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest

from zhuoyue.demo import feed
from zhuoyue.demo.feed import Disturbance, FeedTarget, generate, plan
from zhuoyue.errors import ParameterError
from zhuoyue.ingest.messages import Reading, TopicMap, parse_message

TARGETS = [
    FeedTarget("C1", 10.0, 0.5),
    FeedTarget("C2", 25.0, 0.002, subgroup_size=5, first_subgroup=41),
    FeedTarget("C3", 100.0, 2.0, subgroup_size=3),
]


def _values(items: list[feed.FeedValue], code: str) -> np.ndarray:
    return np.array([v.value for v in items if v.characteristic == code])


def test_the_same_seed_gives_the_same_feed_and_another_seed_another() -> None:
    a = list(generate(TARGETS, 900, scenario="mixed", seed=7))
    b = list(generate(TARGETS, 900, scenario="mixed", seed=7))
    c = list(generate(TARGETS, 900, scenario="mixed", seed=8))
    assert a == b
    assert [v.value for v in a] != [v.value for v in c]
    assert plan(TARGETS, "mixed", 900, seed=7) == plan(TARGETS, "mixed", 900, seed=7)


def test_count_ids_and_payloads_are_valid_messages() -> None:
    start = dt.datetime(2024, 6, 1, 8, tzinfo=dt.UTC)
    items = list(generate(TARGETS, 1001, seed=1, run="r1", start=start, step=2.0))
    assert len(items) == 1001
    assert len({v.msg_id for v in items}) == 1001
    assert [v.index for v in items] == list(range(1001))
    assert items[3].ts == start + dt.timedelta(seconds=6)
    for v in items:
        got = parse_message(f"zhuoyue/plant/{v.characteristic}", _payload(v), TopicMap())
        assert isinstance(got, Reading), got
        want = (v.value, v.subgroup, v.msg_id, v.ts)
        assert (got.value, got.subgroup, got.msg_id, got.ts) == want


def _payload(v: feed.FeedValue) -> bytes:
    return json.dumps(v.payload()).encode()


def test_values_without_start_need_a_time_to_be_published() -> None:
    v = next(generate(TARGETS, 1, seed=1))
    assert v.ts is None
    with pytest.raises(ParameterError):
        v.payload()
    now = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    assert v.payload(now)["ts"] == now.isoformat()


def test_subgroups_are_whole_and_their_labels_consecutive() -> None:
    items = list(generate(TARGETS, 3 * 900 + 4, seed=3))
    assert all(v.subgroup is None for v in items if v.characteristic == "C1")
    for code, size, first in (("C2", 5, 41), ("C3", 3, 1)):
        labels = [v.subgroup for v in items if v.characteristic == code]
        # consecutive labels, each on `size` values in a row (the last subgroup may be open)
        runs = [labels[i : i + size] for i in range(0, len(labels), size)]
        assert [r[0] for r in runs] == list(range(first, first + len(runs)))
        assert all(len(set(r)) == 1 for r in runs)
        assert all(len(r) == size for r in runs[:-1])
    # a subgroup's values arrive together, not interleaved with another characteristic's
    positions = [i for i, v in enumerate(items) if v.characteristic == "C2" and v.subgroup == 41]
    assert positions == list(range(positions[0], positions[0] + 5))


def test_values_per_target_share_the_count_by_subgroup_turns() -> None:
    assert feed.values_per_target(TARGETS, 9) == [1, 5, 3]
    assert feed.values_per_target(TARGETS, 9 * 10 + 4) == [11, 53, 30]
    assert sum(feed.values_per_target(TARGETS, 12345)) == 12345


def test_normal_values_follow_the_centre_and_sigma() -> None:
    t = [FeedTarget("C1", 10.0, 0.5)]
    x = _values(list(generate(t, 40_000, seed=11)), "C1")
    assert abs(x.mean() - 10.0) < 4 * 0.5 / np.sqrt(x.size)
    assert x.std(ddof=1) == pytest.approx(0.5, rel=0.03)


def test_the_shift_moves_the_mean_by_one_and_a_half_sigma() -> None:
    t = [FeedTarget("C1", 10.0, 0.5)]
    n = 60_000
    d = plan(t, "shift", n)[0]
    assert d.kind == "shift" and d.size == feed.SHIFT_SIGMA == 1.5
    assert d.start == n // 3
    x = _values(list(generate(t, n, scenario="shift", seed=5)), "C1")
    before, after = x[: d.start], x[d.start :]
    moved = (after.mean() - before.mean()) / 0.5
    assert moved == pytest.approx(1.5, abs=4 * np.sqrt(1 / before.size + 1 / after.size))
    assert abs(before.mean() - 10.0) < 4 * 0.5 / np.sqrt(before.size)


def test_the_trend_rises_monotonically_in_expectation() -> None:
    t = [FeedTarget("C1", 10.0, 0.5)]
    n = 3000
    d = plan(t, "trend", n)[0]
    offsets = feed.mean_offsets(d, n)
    assert np.all(np.diff(offsets) >= 0)
    assert np.all(offsets[: d.start + 1] == 0) and np.all(np.diff(offsets[d.start :]) > 0)
    assert offsets[-1] == pytest.approx(feed.TREND_SIGMA)
    # the mean of many seeds follows the expected line (monotone up to noise)
    runs = np.array([_values(list(generate(t, n, scenario="trend", seed=s)), "C1")
                     for s in range(40)])  # fmt: skip
    blocks = runs.mean(axis=0).reshape(10, -1).mean(axis=1)
    assert np.all(np.diff(blocks[4:]) > 0)
    assert (blocks[-1] - 10.0) / 0.5 == pytest.approx(offsets[-300:].mean(), abs=0.1)


def test_mixed_disturbs_one_characteristic_with_a_shift_and_one_with_a_trend() -> None:
    plans = plan(TARGETS, "mixed", 3000, seed=2)
    assert sorted(d.kind for d in plans) == ["normal", "shift", "trend"]
    many = [FeedTarget(f"C{i}", 1.0, 0.1) for i in range(20)]
    kinds = [d.kind for d in plan(many, "mixed", 3000, seed=2)]
    assert kinds.count("shift") == 1 and kinds.count("trend") == 1
    assert [d.kind for d in plan(TARGETS, "normal", 3000)] == ["normal"] * 3


def test_values_are_rounded_to_the_gauge_resolution() -> None:
    assert FeedTarget("C2", 25.0, 0.002).resolution == 4
    assert FeedTarget("C3", 100.0, 2.0).resolution == 1
    x = _values(list(generate(TARGETS, 600, seed=1)), "C2")
    assert np.allclose(x, np.round(x, 4), rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"scenario": "chaos"}, "scenario"),
        ({"step": -1.0}, "step"),
        ({"disturbances": [Disturbance()]}, "one disturbance"),
    ],
)
def test_bad_parameters_say_what_to_give(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        list(generate(TARGETS, 10, **kwargs))  # type: ignore[arg-type]


def test_a_target_needs_a_positive_sigma() -> None:
    with pytest.raises(ParameterError, match="sigma"):
        FeedTarget("C1", 1.0, 0.0)
    with pytest.raises(ParameterError, match="nothing to simulate"):
        generate([], 10)


def test_a_long_feed_is_drawn_lazily_and_the_same_as_in_one_block() -> None:
    t = [FeedTarget("C1", 10.0, 0.5), FeedTarget("C2", 1.0, 0.01, subgroup_size=5)]
    feed_ = generate(t, 10**9, scenario="mixed", seed=4)  # no 10^9 values in memory
    head = [next(feed_).value for _ in range(20_000)]
    rng = np.random.default_rng([4, 0])
    c1 = np.round(10.0 + 0.5 * rng.standard_normal(20_000 // 6 + 1), 2)  # resolution σ/8
    assert [v for i, v in enumerate(head) if i % 6 == 0] == c1[: len(head[::6])].tolist()
