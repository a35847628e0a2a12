"""Checking and grouping of chart inputs (internal)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from zhuoyue.errors import DataError, ParameterError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def _describe_bad(arr: FloatArray, bad: BoolArray) -> tuple[int, str]:
    where = np.flatnonzero(bad)
    first = int(where[0])
    more = where.size - 1
    suffix = f" (and {more} more)" if more else ""
    return first, f"{arr[first]!r} at index {first}{suffix}"


def as_float_array(
    values: Any, name: str, func: str, *, nan_policy: str | None = "raise"
) -> FloatArray:
    """A 1-D float64 view of ``values`` with every value finite (or NaN, if omitted later).

    ``nan_policy=None``: the caller offers no way to omit missing values (NaN is an error and
    the message does not suggest ``nan_policy``).
    """
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(
            f"{func} needs numbers in {name!r}; some values are not numbers ({exc}). "
            "Clean the data or read it with zhuoyue's file readers, which name the bad rows."
        ) from None
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ParameterError(
            f"The {name!r} parameter of {func} must be 1-D. Got an array of shape {arr.shape}."
        )
    # one cheap reduction decides the common case: a finite sum means every value is finite
    if arr.size and not np.isfinite(np.add.reduce(arr)):
        bad = ~np.isfinite(arr)
    else:
        bad = np.zeros(0, dtype=bool)
    if bad.any():
        inf = np.isinf(arr)
        if inf.any() or nan_policy != "omit":
            first, desc = _describe_bad(arr, inf if inf.any() else bad)
            raise DataError(
                f"{func} needs finite numbers in {name!r}; found {desc}. "
                + (
                    "Remove or correct the value."
                    if inf.any() or nan_policy is None
                    else "Remove or correct missing values, or pass nan_policy='omit'."
                ),
                index=first,
                code="not_finite",
            )
    return arr


def check_nan_policy(nan_policy: str) -> None:
    if nan_policy not in ("raise", "omit"):
        raise ParameterError(
            f"The 'nan_policy' parameter must be 'raise' or 'omit'. Got {nan_policy!r}."
        )


#: values per block in the equal-size subgroup statistics (fits the CPU's L1/L2 cache)
_STATS_BLOCK = 65536


@dataclass(frozen=True, slots=True)
class Groups:
    """Values arranged subgroup by subgroup."""

    values: FloatArray  # values ordered so that each subgroup is contiguous
    sizes: IntArray  # n_i per subgroup
    starts_: IntArray | None  # offset of each subgroup in ``values`` (None: derive from sizes)
    equal: int | None  # the common size when every subgroup has it
    labels: npt.NDArray[Any] | None  # label per subgroup, in order of first appearance

    @property
    def k(self) -> int:
        return int(self.sizes.size)

    @property
    def starts(self) -> IntArray:
        if self.starts_ is not None:
            return self.starts_
        return np.concatenate(([0], np.cumsum(self.sizes)[:-1])).astype(np.int64)

    def means(self) -> FloatArray:
        if self.equal is not None:
            return self._equal_stats(want_range=False, want_sd=False)[0]
        return np.asarray(np.add.reduceat(self.values, self.starts) / self.sizes)

    def ranges(self) -> FloatArray:
        if self.equal is not None:
            out = self._equal_stats(want_range=True, want_sd=False)[1]
            assert out is not None
            return out
        return np.asarray(
            np.maximum.reduceat(self.values, self.starts)
            - np.minimum.reduceat(self.values, self.starts)
        )

    def sds(self, means: FloatArray | None = None) -> FloatArray:
        """Sample standard deviation (n - 1) of each subgroup (NaN for a subgroup of one)."""
        if self.equal is not None:
            if self.equal < 2:
                return np.full(self.k, np.nan)
            out = self._equal_stats(want_range=False, want_sd=True)[2]
            assert out is not None
            return out
        mu = self.means() if means is None else means
        dev = self.values - np.repeat(mu, self.sizes)
        ss = np.add.reduceat(dev * dev, self.starts)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(np.sqrt(ss / (self.sizes - 1)))

    def stats(
        self, *, want_range: bool, want_sd: bool
    ) -> tuple[FloatArray, FloatArray | None, FloatArray | None]:
        """Means, and ranges and standard deviations when asked, in one pass over the data."""
        if self.equal is not None and (self.equal >= 2 or not want_sd):
            return self._equal_stats(want_range=want_range, want_sd=want_sd)
        means = self.means()
        return (
            means,
            self.ranges() if want_range else None,
            self.sds(means) if want_sd else None,
        )

    def _equal_stats(
        self, *, want_range: bool, want_sd: bool
    ) -> tuple[FloatArray, FloatArray | None, FloatArray | None]:
        """Equal subgroups: reduce across the short subgroup axis of cache-sized blocks.

        NumPy reduces slowly along a short last axis (one inner loop per subgroup), so each
        block of subgroups is transposed (n, block) and reduced across its n rows: the same
        sums in the same order, element-wise over long rows.
        """
        n = int(self.equal or 1)
        k = self.k
        mat = self.values.reshape(k, n)
        means = np.empty(k)
        ranges = np.empty(k) if want_range else None
        sds = np.empty(k) if want_sd else None
        step = max(1, _STATS_BLOCK // n)
        buf = np.empty((n, min(step, k)))  # one buffer reused by every block: no page faults
        for lo in range(0, k, step):
            hi = min(k, lo + step)
            block = buf[:, : hi - lo]
            np.copyto(block, mat[lo:hi].T)
            mean = means[lo:hi]
            np.add.reduce(block, axis=0, out=mean)
            mean /= n
            if ranges is not None:
                r = ranges[lo:hi]
                np.maximum.reduce(block, axis=0, out=r)
                r -= np.minimum.reduce(block, axis=0)
            if sds is not None:
                block -= mean
                block *= block
                sd = sds[lo:hi]
                np.add.reduce(block, axis=0, out=sd)
                sd /= n - 1
                np.sqrt(sd, out=sd)
        return means, ranges, sds


def make_groups(
    values: FloatArray, subgroups: Any, func: str, *, nan_policy: str = "raise"
) -> Groups:
    """Arrange ``values`` by ``subgroups``: an int (fixed size, in order) or a label per value.

    Labels need not be contiguous; subgroups are ordered by the first appearance of their label.
    With an int size that does not divide the number of values, the last subgroup is smaller.
    """
    n = values.size
    if isinstance(subgroups, (int, np.integer)) and not isinstance(subgroups, bool):
        size = int(subgroups)
        if size < 1:
            raise ParameterError(
                f"The 'subgroups' parameter of {func} must be a subgroup size >= 1 or one label "
                f"per value. Got {size}."
            )
        if nan_policy == "omit" and np.isnan(values).any():
            labels_arr: npt.NDArray[Any] = np.arange(n, dtype=np.int64) // size
            return make_groups(values, labels_arr, func, nan_policy=nan_policy)
        k = -(-n // size)
        equal = size if n % size == 0 else None
        if equal is not None:
            sizes = np.broadcast_to(np.int64(size), (k,))  # a read-only view: no memory per point
        else:
            sizes = np.full(k, size, dtype=np.int64)
            sizes[-1] = n % size
        return Groups(values, sizes, None, equal, None)
    labels = np.asarray(subgroups)
    if labels.ndim != 1 or labels.size != n:
        raise ParameterError(
            f"The 'subgroups' parameter of {func} must be a subgroup size or one label per value "
            f"({n} values). Got {labels.size} labels of shape {labels.shape}."
        )
    missing: BoolArray | None = None
    if labels.dtype.kind == "f":
        missing = ~np.isfinite(labels)
    elif labels.dtype.kind == "O":
        missing = np.array(
            [v is None or (isinstance(v, float) and v != v) for v in labels.tolist()], dtype=bool
        )
        labels = labels.astype(str)
    if missing is not None and missing.any():
        first = int(np.flatnonzero(missing)[0])
        raise DataError(
            f"{func}: subgroup label missing at index {first}. Give every value a subgroup.",
            index=first,
            code="missing_subgroup",
        )
    if nan_policy == "omit":
        keep = ~np.isnan(values)
        if not keep.all():
            values = values[keep]
            labels = labels[keep]
            n = values.size
    if n == 0:
        return Groups(values, np.empty(0, np.int64), np.empty(0, np.int64), None, labels[:0])
    change = np.flatnonzero(labels[1:] != labels[:-1]) + 1
    starts = np.concatenate(([0], change)).astype(np.int64)
    run_labels = labels[starts]
    uniq = np.unique(run_labels)
    if uniq.size == run_labels.size:
        ordered = values
        sizes = np.diff(np.append(starts, n)).astype(np.int64)
        group_labels = run_labels
    else:
        # non-contiguous labels: gather each subgroup, in order of first appearance
        _, first_idx, inverse = np.unique(labels, return_index=True, return_inverse=True)
        rank = np.empty(first_idx.size, dtype=np.int64)
        rank[np.argsort(first_idx, kind="stable")] = np.arange(first_idx.size)
        gid = rank[inverse.ravel()]
        order = np.argsort(gid, kind="stable")
        ordered = values[order]
        sizes = np.bincount(gid).astype(np.int64)
        starts = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)
        group_labels = labels[np.sort(first_idx)]
    equal = int(sizes[0]) if sizes.size and bool(np.all(sizes == sizes[0])) else None
    return Groups(ordered, sizes, starts, equal, group_labels)


def phase1_mask(k: int, phase1: Any, exclude: Any, func: str, what: str = "subgroups") -> BoolArray:
    """Boolean mask of the points that estimate the limits."""
    if phase1 is None:
        mask = np.ones(k, dtype=bool)
    elif isinstance(phase1, (int, np.integer)) and not isinstance(phase1, bool):
        m = int(phase1)
        if m < 1 or m > k:
            raise ParameterError(
                f"The 'phase1' parameter of {func} must be the number of {what} that estimate the "
                f"limits, between 1 and {k}. Got {m}."
            )
        mask = np.zeros(k, dtype=bool)
        mask[:m] = True
    else:
        arr = np.asarray(phase1)
        if arr.dtype != bool or arr.shape != (k,):
            raise ParameterError(
                f"The 'phase1' parameter of {func} must be an int (the first N {what}) or one "
                f"bool per point ({k}). Got {arr.dtype} of shape {arr.shape}."
            )
        mask = arr.copy()
    if exclude is not None:
        ex = np.atleast_1d(np.asarray(exclude))
        if ex.size:
            if ex.dtype.kind not in "iu" or ex.min() < 0 or ex.max() >= k:
                raise ParameterError(
                    f"The 'exclude' parameter of {func} must list 0-based point indexes in "
                    f"[0, {k - 1}]. Got {exclude!r}."
                )
            mask[ex] = False
    return mask


def check_positive_scalar(value: Any, name: str, func: str, *, allow_zero: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ParameterError(
            f"The {name!r} parameter of {func} must be a number. Got {value!r}."
        ) from None
    ok = np.isfinite(v) and (v >= 0 if allow_zero else v > 0)
    if not ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise ParameterError(
            f"The {name!r} parameter of {func} must be a finite number {bound}. Got {value!r}."
        )
    return v


def check_finite_scalar(value: Any, name: str, func: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ParameterError(
            f"The {name!r} parameter of {func} must be a number. Got {value!r}."
        ) from None
    if not np.isfinite(v):
        raise ParameterError(f"The {name!r} parameter of {func} must be finite. Got {value!r}.")
    return v
