"""Down-sampling of a plotted series that keeps its shape and every signal.

A control chart of 10⁵ points cannot be sent to a browser point by point and stay smooth; a
screen a thousand pixels wide shows no more anyway. :func:`downsample` picks the points worth
drawing: the series is cut into equal buckets of consecutive points and each bucket gives its
first point, its lowest and its highest (so spikes, the global minimum and maximum, and the
envelope survive), plus the first and last point of the series and **every point in ``keep``**
(the points that fire a run-rule test: a signal is never thinned away). NumPy only, no Python
loop over points.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from zhuoyue.errors import ParameterError

__all__ = ["DEFAULT_MAX_POINTS", "downsample"]

#: points drawn per panel by default (about two per pixel of a wide chart)
DEFAULT_MAX_POINTS = 2000

IntArray = npt.NDArray[np.int64]


def downsample(
    y: npt.ArrayLike,
    max_points: int = DEFAULT_MAX_POINTS,
    keep: npt.ArrayLike | None = None,
) -> IntArray:
    """Sorted unique indices of the points of ``y`` to draw.

    Parameters
    ----------
    y : array_like, 1-D
        The plotted values (NaN allowed: a NaN is never a bucket's minimum or maximum).
    max_points : int
        At most this many indices besides ``keep`` (at least 5: one bucket and the ends).
    keep : array_like of int, optional
        Indices that must be drawn (the points that fire a test), in any order, repeats allowed.

    Returns
    -------
    ndarray of int64
        Sorted unique indices: ``arange(len(y))`` when ``len(y) <= max_points``; else the
        first, minimum and maximum of each of ``(max_points - 2) // 3`` buckets, the first and
        last index, and ``keep``. Its size is at most ``max_points + len(unique(keep))``.

    Examples
    --------
    >>> y = np.sin(np.linspace(0, 20, 10_000))
    >>> idx = downsample(y, 200, keep=[4321])
    >>> idx.size <= 201, 4321 in idx, idx[0], idx[-1]
    (True, True, np.int64(0), np.int64(9999))
    """
    if isinstance(max_points, bool) or not isinstance(max_points, (int, np.integer)):
        raise ParameterError(f"The 'max_points' parameter must be an integer. Got {max_points!r}.")
    if max_points < 5:
        raise ParameterError(f"The 'max_points' parameter must be at least 5. Got {max_points}.")
    values = np.asarray(y, dtype=np.float64)
    if values.ndim != 1:
        raise ParameterError(f"downsample needs a 1-D series. Got {values.ndim} dimensions.")
    n = int(values.size)
    kept = np.empty(0, dtype=np.int64) if keep is None else np.asarray(keep).astype(np.int64)
    if kept.ndim != 1:
        kept = kept.ravel()
    if kept.size and (int(kept.min()) < 0 or int(kept.max()) >= n):
        raise ParameterError(
            f"The 'keep' indices must lie in [0, {n - 1}]; got {int(kept.min())} .. "
            f"{int(kept.max())}."
        )
    if n <= max_points:
        return np.arange(n, dtype=np.int64)
    buckets = (int(max_points) - 2) // 3
    width = -(-n // buckets)  # ceil: every bucket but the last is full
    rows = -(-n // width)
    padded = np.full(rows * width, np.nan)
    padded[:n] = values
    grid = padded.reshape(rows, width)
    nan = np.isnan(grid)
    lows = np.argmin(np.where(nan, np.inf, grid), axis=1)
    highs = np.argmax(np.where(nan, -np.inf, grid), axis=1)
    base = np.arange(rows, dtype=np.int64) * width
    picked = np.concatenate(
        (base, base + lows, base + highs, np.array([0, n - 1], dtype=np.int64), kept)
    )
    return np.unique(picked[picked < n])
