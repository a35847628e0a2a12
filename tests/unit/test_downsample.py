"""The chart page's down-sampling keeps every signal, the extremes and the ends, within bounds."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from zhuoyue.errors import ParameterError
from zhuoyue.web.downsample import DEFAULT_MAX_POINTS, downsample

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@st.composite
def series_and_keep(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, int]:
    n = draw(st.integers(1, 5000))
    y = draw(hnp.arrays(np.float64, n, elements=finite | st.just(np.nan)))
    keep = draw(st.lists(st.integers(0, n - 1), max_size=60))
    max_points = draw(st.integers(5, 400))
    return y, np.asarray(keep, dtype=np.int64), max_points


@settings(max_examples=200, deadline=None)
@given(series_and_keep())
def test_invariants(case: tuple[np.ndarray, np.ndarray, int]) -> None:
    y, keep, max_points = case
    idx = downsample(y, max_points, keep=keep)
    n = y.size
    assert idx.dtype == np.int64
    assert np.all(np.diff(idx) > 0)  # sorted and unique
    assert idx[0] == 0 and idx[-1] == n - 1  # the ends
    assert set(keep.tolist()) <= set(idx.tolist())  # every violation kept
    assert idx.size <= max_points + np.unique(keep).size  # the size bound
    if n <= max_points:
        assert np.array_equal(idx, np.arange(n))  # identity when short
    finite_y = y[~np.isnan(y)]
    if finite_y.size:  # the global extremes are drawn
        shown = y[idx]
        assert np.nanmax(shown) == finite_y.max()
        assert np.nanmin(shown) == finite_y.min()


def test_a_long_series_is_cut_to_the_bound_and_keeps_spikes_and_signals() -> None:
    rng = np.random.default_rng(1)
    y = rng.normal(size=100_000)
    y[12_345] = 40.0  # a spike
    y[54_321] = -40.0
    signals = rng.choice(100_000, size=300, replace=False)
    idx = downsample(y, keep=signals)
    assert idx.size <= DEFAULT_MAX_POINTS + 300
    assert idx.size > DEFAULT_MAX_POINTS // 2  # the buckets are really used
    assert {12_345, 54_321} <= set(idx.tolist())
    assert set(signals.tolist()) <= set(idx.tolist())
    # every bucket contributes: no gap between drawn points wider than two buckets
    assert int(np.diff(idx).max()) <= 2 * (-(-100_000 // ((DEFAULT_MAX_POINTS - 2) // 3)))


def test_each_bucket_gives_its_first_min_and_max() -> None:
    y = np.array([5.0, 1.0, 9.0, 3.0, 2.0, 8.0, 0.0, 4.0, 7.0, 6.0, 5.0, 5.0])
    # max_points 8 → 2 buckets of 6 points: (first 0, min 1, max 2), (first 6 = min, max 8)
    idx = downsample(y, 8)
    assert idx.tolist() == [0, 1, 2, 6, 8, 11]  # and the last point


def test_short_series_and_empty_keep_are_the_identity() -> None:
    assert downsample([1.0, 2.0, 3.0], 5).tolist() == [0, 1, 2]
    assert downsample([], 5).tolist() == []


def test_nan_is_neither_minimum_nor_maximum() -> None:
    y = np.full(1000, np.nan)
    y[500] = 1.0
    y[501] = -1.0
    idx = downsample(y, 20)
    assert {500, 501} <= set(idx.tolist())


@pytest.mark.parametrize("bad", [4, 0, -1, 2.5, True])
def test_bad_max_points(bad: object) -> None:
    with pytest.raises(ParameterError, match="max_points"):
        downsample([1.0] * 10, bad)  # type: ignore[arg-type]


def test_keep_out_of_range_and_2d_input_are_refused() -> None:
    with pytest.raises(ParameterError, match="keep"):
        downsample(np.arange(10.0), 5, keep=[10])
    with pytest.raises(ParameterError, match="keep"):
        downsample(np.arange(10.0), 5, keep=[-1])
    with pytest.raises(ParameterError, match="1-D"):
        downsample(np.zeros((3, 3)), 5)
