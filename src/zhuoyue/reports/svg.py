"""Self-contained inline SVG drawings of control-chart panels.

The SVG has no JavaScript, no external assets and fetches nothing: it can be inlined in an HTML
report, printed, or saved as a file. Long series are down-sampled per pixel column (minimum and
maximum of each column, first and last point) while every violation point, every excluded point
and the exact outline of per-point limits (at pixel resolution) are kept.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from html import escape

import numpy as np
import numpy.typing as npt

from zhuoyue.errors import ParameterError
from zhuoyue.reports._text import (
    chart_name,
    check_lang,
    ordered,
    panel_formatter,
    panel_name,
    phase1_end,
    test_description,
    x_axis_name,
)
from zhuoyue.stats.results import ChartResult, Panel

__all__ = ["FONT_STACK", "panel_svg"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
StrArray = npt.NDArray[np.str_]

#: the system CJK font stack shared by the SVG and the HTML report
FONT_STACK = "'Noto Sans CJK SC','Source Han Sans SC','Microsoft YaHei','PingFang SC',sans-serif"

# margins: left (y tick labels), right (limit labels), top (titles), bottom (x tick labels)
_ML, _MR, _MT, _MB = 64, 104, 30, 36
_MIN_WIDTH, _MIN_HEIGHT = 320, 140
#: above this many violation points, tooltips list test numbers only (the report's table has
#: the descriptions); keeps a 10^5-point SVG small
_FULL_TOOLTIPS = 400
#: markers beyond this many are merged into larger cells (a series out of control everywhere)
_MAX_MARKERS = 2000

_LINE = "#1f4e79"
_CENTER = "#2e7d32"
_LIMIT = "#c62828"
_RED = "#d62728"
_DARK_RED = "#8b0000"
_GRID = "#e6e6e6"
_AXIS = "#444444"
_ZONE_C = "#e8f5e9"
_ZONE_B = "#fff8e1"
_ZONE_A = "#fdecea"


class _Frame:
    """Maps point indexes and values to SVG coordinates."""

    def __init__(self, width: int, height: int, n: int, lo: float, hi: float) -> None:
        self.left = float(_ML)
        self.top = float(_MT)
        self.pw = float(width - _ML - _MR)
        self.ph = float(height - _MT - _MB)
        self.n = max(n, 1)
        self.lo = lo
        self.hi = hi

    @property
    def right(self) -> float:
        return self.left + self.pw

    @property
    def bottom(self) -> float:
        return self.top + self.ph

    def xc(self, idx: npt.ArrayLike) -> FloatArray:
        """x of the centre of point ``idx`` (0-based)."""
        return self.xe(np.asarray(idx, dtype=np.float64) + 0.5)

    def xe(self, pos: npt.ArrayLike) -> FloatArray:
        """x of a boundary position in [0, n] (point i spans [i, i + 1])."""
        return self.left + np.asarray(pos, dtype=np.float64) * (self.pw / self.n)

    def y(self, v: npt.ArrayLike) -> FloatArray:
        return self.top + (self.hi - np.asarray(v, dtype=np.float64)) * (
            self.ph / (self.hi - self.lo)
        )


def _e(text: str) -> str:
    return escape(text, quote=True)


def _c(values: npt.ArrayLike) -> StrArray:
    """Coordinates as strings with one decimal (vectorized)."""
    out: StrArray = np.char.mod("%.1f", np.asarray(values, dtype=np.float64))
    return out


def _path(cmd: StrArray, x: FloatArray, y: FloatArray) -> str:
    """``d`` attribute from parallel arrays of commands (M/L) and coordinates."""
    if cmd.size == 0:
        return ""
    parts = np.char.add(np.char.add(np.char.add(cmd, _c(x)), " "), _c(y))
    return "".join(parts.tolist())


def _full(x: float | FloatArray | None, n: int) -> FloatArray | None:
    if x is None:
        return None
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 0:
        return np.full(n, float(arr))
    return arr


def _finite_range(arrays: list[FloatArray]) -> tuple[float, float] | None:
    lo, hi = math.inf, -math.inf
    for a in arrays:
        f = a[np.isfinite(a)]
        if f.size:
            lo = min(lo, float(f.min()))
            hi = max(hi, float(f.max()))
    return (lo, hi) if lo <= hi else None


def _nice_step(span: float, target: int) -> float:
    """The 1, 2 or 5 × 10^k step nearest to ``span / target``."""
    raw = span / max(target, 1)
    mag = 10.0 ** math.floor(math.log10(raw))
    f = raw / mag
    m = 1.0 if f < 1.5 else 2.0 if f < 3.5 else 5.0 if f < 7.5 else 10.0
    return m * mag


def _y_ticks(lo: float, hi: float, target: int) -> tuple[FloatArray, int]:
    """Nice tick values in [lo, hi] and the number of decimals that shows them exactly."""
    step = _nice_step(hi - lo, target)
    first = math.ceil(lo / step - 1e-9)
    last = math.floor(hi / step + 1e-9)
    ticks = np.arange(first, last + 1, dtype=np.float64) * step
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    return ticks, min(decimals, 12)


def _x_ticks(n: int, pw: float) -> IntArray:
    """1-based point labels: 1, then multiples of a nice integer step."""
    target = max(2, int(pw // 70))
    step = max(1, round(_nice_step(max(n - 1, 1), target)))
    ticks = np.arange(step, n + 1, step, dtype=np.int64)
    ticks = ticks[ticks - 1 >= step / 2]
    return np.concatenate([np.array([1], dtype=np.int64), ticks])


def _first_per_bucket(cand: IntArray, bucket: IntArray) -> IntArray:
    _, first = np.unique(bucket[cand], return_index=True)
    return cand[first]


def _bucket_starts(n: int, buckets: int) -> tuple[IntArray, IntArray]:
    bucket = (np.arange(n, dtype=np.int64) * buckets) // n
    starts = np.searchsorted(bucket, np.arange(buckets, dtype=np.int64)).astype(np.int64)
    return bucket, starts


def _reduce(y: FloatArray, buckets: int, keep: IntArray) -> IntArray:
    """Indexes to draw: per-bucket min and max, first and last, NaN gaps and ``keep``."""
    n = y.size
    bucket, starts = _bucket_starts(n, buckets)
    nan = np.isnan(y)
    lo_v = np.where(nan, np.inf, y)
    hi_v = np.where(nan, -np.inf, y)
    mins = np.minimum.reduceat(lo_v, starts)
    maxs = np.maximum.reduceat(hi_v, starts)
    at_min = _first_per_bucket(np.flatnonzero(lo_v == mins[bucket]), bucket)
    at_max = _first_per_bucket(np.flatnonzero(hi_v == maxs[bucket]), bucket)
    gap_starts = np.flatnonzero(nan & ~np.r_[False, nan[:-1]])
    ends = np.array([0, n - 1], dtype=np.int64)
    return np.unique(np.concatenate([ends, at_min, at_max, gap_starts, keep.astype(np.int64)]))


def _segments(
    values: FloatArray, fr: _Frame, buckets: int | None, agg: str
) -> tuple[IntArray, IntArray, FloatArray]:
    """Runs of equal drawn height: (start, end exclusive, pixel y), per point or per bucket.

    Heights are compared at 0.1 px, so limits that converge (EWMA) or differ by rounding
    collapse into one run.
    """
    n = values.size
    if buckets is None:
        starts = np.arange(n, dtype=np.int64)
        vals = values
    else:
        _, starts = _bucket_starts(n, buckets)
        if agg == "max":
            vals = np.fmax.reduceat(values, starts)
        elif agg == "min":
            vals = np.fmin.reduceat(values, starts)
        else:
            finite = np.isfinite(values)
            total = np.add.reduceat(np.where(finite, values, 0.0), starts)
            count = np.add.reduceat(finite.astype(np.float64), starts)
            with np.errstate(invalid="ignore", divide="ignore"):
                vals = np.where(count > 0, total / count, np.nan)
    ypix = np.round(fr.y(vals), 1)
    nan = np.isnan(ypix)
    same = (ypix[1:] == ypix[:-1]) | (nan[1:] & nan[:-1])
    first = np.r_[True, ~same]
    run_start = starts[first]
    run_end = np.r_[run_start[1:], n].astype(np.int64)
    return run_start, run_end, ypix[first]


def _step_vertices(
    values: FloatArray, fr: _Frame, buckets: int | None, agg: str
) -> tuple[StrArray, FloatArray, FloatArray]:
    """Vertices of a step line; NaN stretches become gaps (a new ``M``)."""
    s, e, ypix = _segments(values, fr, buckets, agg)
    ok = np.isfinite(ypix)
    s, e, ypix = s[ok], e[ok], ypix[ok]
    brk = np.r_[True, s[1:] != e[:-1]]
    x = np.column_stack([fr.xe(s), fr.xe(e)]).ravel()
    y = np.repeat(ypix, 2)
    cmd = np.column_stack([np.where(brk, "M", "L"), np.full(s.size, "L")]).ravel()
    return cmd.astype(np.str_), x, y


def _line(values: FloatArray, fr: _Frame, buckets: int | None, agg: str, attrs: str) -> str:
    d = _path(*_step_vertices(values, fr, buckets, agg))
    return f'<path d="{d}" fill="none" {attrs}/>' if d else ""


def _band(upper: FloatArray, lower: FloatArray, fr: _Frame, buckets: int | None, color: str) -> str:
    if not (np.all(np.isfinite(upper)) and np.all(np.isfinite(lower))):
        return ""
    _, xu, yu = _step_vertices(upper, fr, buckets, "mean")
    _, xl, yl = _step_vertices(lower, fr, buckets, "mean")
    x = np.concatenate([xu, xl[::-1]])
    y = np.concatenate([yu, yl[::-1]])
    cmd = np.full(x.size, "L").astype(np.str_)
    cmd[0] = "M"
    return f'<path d="{_path(cmd, x, y)}Z" fill="{color}" stroke="none"/>'


def _zone_bands(
    p: Panel,
    n: int,
    lcl: FloatArray | None,
    ucl: FloatArray | None,
    fr: _Frame,
    buckets: int | None,
) -> list[str]:
    zones = p.zones()
    if not zones or lcl is None or ucl is None:
        return []
    edge: dict[str, FloatArray] = {}
    for key, value in zones.items():
        arr = _full(value, n)
        if arr is None:
            return []
        edge[key] = np.minimum(np.maximum(arr, lcl), ucl)
    # nested: each band is painted over the wider one
    return [
        _band(ucl, lcl, fr, buckets, _ZONE_A),
        _band(edge["plus2"], edge["minus2"], fr, buckets, _ZONE_B),
        _band(edge["plus1"], edge["minus1"], fr, buckets, _ZONE_C),
    ]


def _last_finite(a: FloatArray) -> float | None:
    f = a[np.isfinite(a)]
    return float(f[-1]) if f.size else None


def _circles(x: FloatArray, y: FloatArray, r: float) -> str:
    if x.size == 0:
        return ""
    parts = np.char.add(
        np.char.add(np.char.add(np.char.add('<circle cx="', _c(x)), '" cy="'), _c(y)),
        f'" r="{r:.1f}"/>',
    )
    return "".join(parts.tolist())


def _point_words(result: ChartResult, first: int, last: int, lang: str) -> str:
    """ "第 38 点" / "Point 38" (1-based), a range for consecutive points, with subgroup labels."""
    a, b = first + 1, last + 1
    label = ""
    if first == last and result.labels is not None and first < result.labels.size:
        text = str(result.labels[first])
        if text != str(a):
            label = f"（子组 {text}）" if lang == "zh" else f" (subgroup {text})"
    if lang == "zh":
        return f"第 {a} 点{label}" if a == b else f"第 {a}–{b} 点"
    return f"Point {a}{label}" if a == b else f"Points {a}–{b}"


def _violation_markers(
    result: ChartResult, p: Panel, fr: _Frame, excluded: set[int], lang: str
) -> str:
    """Red markers with ``<title>`` tooltips for every violation point.

    Points that fall in the same 2 px cell share a marker; consecutive points with the same
    tests are written as a range. Up to ``_FULL_TOOLTIPS`` markers the tooltip gives the value
    and the bilingual description of each test; up to ``_MAX_MARKERS`` it names each point (or
    range) with its test numbers. Beyond that (a series that is out of control nearly
    everywhere) the cells grow until the markers fit, and a marker holding scattered points
    names their span, their count and the tests.
    """
    v = p.violations
    if len(v) == 0:
        return ""
    points = v.points()
    points = points[np.isfinite(p.statistic[points])]
    if points.size == 0:
        return ""
    # the tests of each point as a text key ("1,5,"), built test by test (at most 8 passes)
    key = np.full(points.size, "", dtype=object)
    for t in sorted(set(v.rule.tolist())):
        key = np.where(np.isin(points, v.for_rule(t)), key + f"{t},", key)
    px = fr.xc(points)
    py = fr.y(p.statistic[points])
    size = 2.0
    while True:
        cell = (px // size).astype(np.int64) * 1_000_000 + (py // size).astype(np.int64)
        cells, marker_of_point = np.unique(cell, return_inverse=True)
        if cells.size <= _MAX_MARKERS:
            break
        size *= 1.5
    new_run = np.r_[True, (np.diff(points) != 1) | (cell[1:] != cell[:-1]) | (key[1:] != key[:-1])]
    run_first = np.flatnonzero(new_run)
    run_last = np.r_[run_first[1:] - 1, points.size - 1]
    n_runs = np.bincount(marker_of_point[run_first], minlength=cells.size)
    full = cells.size <= _FULL_TOOLTIPS
    fmt = panel_formatter(p)
    lines: list[list[str]] = [[] for _ in range(cells.size)]
    tests_of: list[set[int]] = [set() for _ in range(cells.size)]
    span: list[list[int]] = [[-1, -1, 0] for _ in range(cells.size)]
    anchor = np.full(cells.size, -1, dtype=np.int64)
    for f, last in zip(run_first.tolist(), run_last.tolist(), strict=True):
        m = int(marker_of_point[f])
        i0, i1 = int(points[f]), int(points[last])
        if anchor[m] < 0:
            anchor[m] = f
            span[m][0] = i0
        span[m][1] = i1
        span[m][2] += last - f + 1
        tests = [int(t) for t in str(key[f]).split(",") if t]
        tests_of[m].update(tests)
        if n_runs[m] > 8 and not full:
            continue  # summarised below
        words = _point_words(result, i0, i1, lang)
        if full and i0 == i1:
            pan = panel_name(p.name)[0 if lang == "zh" else 1]
            words += f"，{pan} = " if lang == "zh" else f", {pan} = "
            words += fmt(float(p.statistic[i0]))
        nums = ", ".join(str(t) for t in tests)
        lines[m].append(f"{words}：检验 {nums}" if lang == "zh" else f"{words}: tests {nums}")
    xs = _c(px[anchor]).tolist()
    ys = _c(py[anchor]).tolist()
    radius = "4" if full else "2.5"
    out = [f'<g class="violations" fill="{_RED}" stroke="{_RED}" stroke-width="1">']
    for m in range(cells.size):
        text = lines[m]
        nums = ", ".join(str(t) for t in sorted(tests_of[m]))
        if not text:
            a, b, count = span[m][0] + 1, span[m][1] + 1, span[m][2]
            text = [
                f"第 {a}–{b} 点中的 {count} 个点：检验 {nums}"
                if lang == "zh"
                else f"{count} points in {a}–{b}: tests {nums}"
            ]
        if full:
            for t in sorted(tests_of[m]):
                zh, en = test_description(result, t)
                text = [*text, " / ".join(ordered(f"检验 {t}：{zh}", f"Test {t}: {en}", lang))]
        hollow = ' fill="#ffffff"' if int(points[anchor[m]]) in excluded else ""
        out.append(
            f'<circle cx="{xs[m]}" cy="{ys[m]}" r="{radius}"{hollow}><title>'
            f"{_e(chr(10).join(text))}</title></circle>"
        )
    out.append("</g>")
    return "".join(out)


def _text_width(text: str, size: float = 11.0) -> float:
    """Rough rendered width: CJK characters are square, Latin ones about half as wide."""
    wide = sum(1 for ch in text if ord(ch) > 0x2E80)
    return size * (wide + 0.56 * (len(text) - wide))


def _text(x: float, y: float, text: str, attrs: str = "") -> str:
    extra = f" {attrs}" if attrs else ""
    return f'<text x="{x:.1f}" y="{y:.1f}"{extra}>{_e(text)}</text>'


def _limit_labels(
    items: list[tuple[str, float, str]], fr: _Frame, fmt: Callable[[float | None], str]
) -> list[str]:
    """Right-margin labels (name, value, colour), pushed apart so they never overlap."""
    placed = sorted(((float(fr.y(v)), name, v, col) for name, v, col in items), key=lambda t: t[0])
    gap = 12.0
    ys = [t[0] for t in placed]
    for k in range(1, len(ys)):
        ys[k] = max(ys[k], ys[k - 1] + gap)
    overflow = ys[-1] - (fr.bottom + 4.0) if ys else 0.0
    if overflow > 0:
        ys = [y - overflow for y in ys]
    out = []
    for y, (_, name, v, col) in zip(ys, placed, strict=True):
        out.append(_text(fr.right + 6, y + 4, f"{name} {fmt(v)}", f'fill="{col}" font-size="11"'))
    return out


def panel_svg(
    result: ChartResult,
    panel: str,
    *,
    width: int = 900,
    height: int = 260,
    lang: str = "zh",
) -> str:
    """Draw one panel of a control chart as a self-contained inline SVG.

    Parameters
    ----------
    result : ChartResult
        A chart from :mod:`zhuoyue.stats`.
    panel : str
        The panel name, a key of ``result.panels`` (``"xbar"``, ``"r"``, ``"mr"``, ...).
    width, height : int
        Size in CSS pixels (the SVG has a ``viewBox`` and scales).
    lang : {"zh", "en"}
        Language shown first in labels and tooltips; the other follows.

    Returns
    -------
    str
        An ``<svg>`` element: the statistic as a line with point markers, the centre line, the
        control limits (step lines when they vary per point; absent when ``None``), zone bands
        at ±1σ/±2σ where the panel defines zones, the phase I / phase II separator, violation
        points in red with a ``<title>`` tooltip naming the point and each test it fires, and
        excluded phase I points hollow. NaN values leave a gap.

    Notes
    -----
    With more than ``2 × plot width`` points the series is reduced to the minimum and maximum
    of each pixel column (plus the first and last point); violation, excluded and NaN-gap points
    are always kept, and per-point limits are drawn as their outer envelope per pixel column
    (the largest UCL, the smallest LCL), so no kept point appears outside limits it is inside.
    Above 400 violation points the tooltips name the tests by number only.

    Examples
    --------
    >>> from zhuoyue import stats
    >>> res = stats.imr([10.0, 10.4, 9.8, 10.1, 10.3, 9.9, 13.0])
    >>> svg = panel_svg(res, "i", lang="en")
    >>> svg.startswith("<svg") and "Individual value I" in svg
    True
    """
    func = "panel_svg"
    check_lang(lang, func)
    if panel not in result.panels:
        raise ParameterError(
            f"The 'panel' parameter of {func} must be one of {list(result.panels)}. Got {panel!r}."
        )
    for name, value, least in (("width", width, _MIN_WIDTH), ("height", height, _MIN_HEIGHT)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < least:
            raise ParameterError(
                f"The {name!r} parameter of {func} must be an int >= {least}. Got {value!r}."
            )
    width, height = int(width), int(height)
    p = result.panels[panel]
    y = np.asarray(p.statistic, dtype=np.float64)
    n = int(y.size)
    center = _full(p.center, n)
    lcl = _full(p.lcl, n)
    ucl = _full(p.ucl, n)
    known = [a for a in (y, center, lcl, ucl) if a is not None]
    rng = _finite_range(known) or (0.0, 1.0)
    lo, hi = rng
    span = hi - lo
    if span <= 0.0:
        span = abs(hi) * 0.02 or 1.0
        lo, hi = lo - span / 2, hi + span / 2
    pad = 0.07 * (hi - lo)
    fr = _Frame(width, height, n, lo - pad, hi + pad)
    # the series is reduced above 2 points per pixel column; limits are drawn per pixel column
    # above 1 point per column, the light zone bands per 6 px
    buckets = int(fr.pw) if n > 2 * int(fr.pw) else None
    limit_buckets = int(fr.pw) if n > int(fr.pw) else None
    band_buckets = int(fr.pw // 6) if n > int(fr.pw // 6) else None

    excluded = {int(i) for i in result.excluded if 0 <= int(i) < n}
    end1 = phase1_end(result)
    viol_points = p.violations.points()
    keep = np.concatenate(
        [
            # on the line too, unless there are very many: a marker always sits on the
            # min-max stroke of its pixel column anyway
            viol_points.astype(np.int64)
            if viol_points.size <= 2 * fr.pw
            else np.empty(0, np.int64),
            np.fromiter(sorted(excluded), dtype=np.int64, count=len(excluded)),
            np.array([] if end1 is None else [end1, min(end1 + 1, n - 1)], dtype=np.int64),
        ]
    )
    idx = np.arange(n, dtype=np.int64) if buckets is None else _reduce(y, buckets, keep)

    chart_zh, chart_en = chart_name(result.chart)
    pan_zh, pan_en = panel_name(p.name)
    title_pri, title_sec = ordered(f"{chart_zh} · {pan_zh}", f"{chart_en} · {pan_en}", lang)
    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" font-family="{FONT_STACK}" '
        f'font-size="11" class="zy-chart" data-panel="{_e(p.name)}">',
        f"<title>{_e(title_pri)} ({_e(title_sec)})</title>",
        f"<desc>{_e(f'{n} points, {len(viol_points)} flagged; drawn {idx.size}')}</desc>",
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
    ]

    # zone bands, then grid
    out.extend(b for b in _zone_bands(p, n, lcl, ucl, fr, band_buckets) if b)
    ticks, decimals = _y_ticks(fr.lo, fr.hi, max(3, int(fr.ph // 45)))
    ty = fr.y(ticks)
    grid = [f"M{fr.left:.1f} {t:.1f}H{fr.right:.1f}" for t in ty.tolist()]
    out.append(f'<path d="{"".join(grid)}" stroke="{_GRID}" stroke-width="1" fill="none"/>')
    labels = [f"{t:.{decimals}f}" for t in ticks.tolist()]
    labels = [s[1:] if s.startswith("-") and float(s) == 0.0 else s for s in labels]
    out.append(f'<g fill="{_AXIS}" text-anchor="end">')
    out.extend(_text(fr.left - 6, yy + 4, s) for yy, s in zip(ty.tolist(), labels, strict=True))
    out.append("</g>")

    # centre line and limits
    if center is not None:
        out.append(
            _line(center, fr, limit_buckets, "mean", f'stroke="{_CENTER}" stroke-width="1.2"')
        )
    limit_attrs = f'stroke="{_LIMIT}" stroke-width="1.2" stroke-dasharray="6 3"'
    if ucl is not None:
        out.append(_line(ucl, fr, limit_buckets, "max", limit_attrs))
    if lcl is not None:
        out.append(_line(lcl, fr, limit_buckets, "min", limit_attrs))

    # the statistic: one path; NaN values start a new subpath
    xs = fr.xc(idx)
    ys_all = fr.y(y[idx])
    fin = np.isfinite(ys_all)
    prev = np.r_[False, fin[:-1]]
    cmd = np.where(prev, "L", "M")[fin].astype(np.str_)
    d = _path(cmd, xs[fin], ys_all[fin])
    if d:
        out.append(
            f'<path class="statistic" d="{d}" fill="none" stroke="{_LINE}" '
            'stroke-width="1.3" stroke-linejoin="round"/>'
        )

    # ordinary point markers when they are at least 3 px apart
    special = np.zeros(n, dtype=bool)
    special[viol_points] = True
    special[list(excluded)] = True
    spacing = fr.pw / n
    if idx.size <= fr.pw / 3:
        plain = idx[fin & ~special[idx]]
        r = min(3.0, max(1.8, spacing / 3))
        out.append(f'<g fill="{_LINE}">{_circles(fr.xc(plain), fr.y(y[plain]), r)}</g>')
    flagged = set(viol_points.tolist())
    exc_plain = np.array(sorted(excluded - flagged), dtype=np.int64)
    exc_plain = exc_plain[np.isfinite(y[exc_plain])]
    if exc_plain.size:
        out.append(
            f'<g class="excluded" fill="#ffffff" stroke="{_LINE}" stroke-width="1.5">'
            f"{_circles(fr.xc(exc_plain), fr.y(y[exc_plain]), 3.5)}</g>"
        )
    out.append(_violation_markers(result, p, fr, excluded, lang))

    # phase I / phase II separator
    if end1 is not None and end1 < n - 1:
        xsep = float(fr.xe(end1 + 1))
        out.append(
            f'<path d="M{xsep:.1f} {fr.top:.1f}V{fr.bottom:.1f}" stroke="#555555" '
            'stroke-width="1" stroke-dasharray="5 4" fill="none"/>'
        )
        halo = 'stroke="#ffffff" stroke-width="3" paint-order="stroke" fill="#555555"'
        ph1 = " ".join(ordered("第一阶段", "Phase I", lang))
        ph2 = " ".join(ordered("第二阶段", "Phase II", lang))
        out.append(_text(xsep - 5, fr.top + 12, ph1, f'text-anchor="end" {halo}'))
        out.append(_text(xsep + 5, fr.top + 12, ph2, halo))

    # right-margin labels of the limits at the last point
    items: list[tuple[str, float, str]] = []
    upper = "H" if result.chart == "cusum" else "UCL"
    for name, arr, col in ((upper, ucl, _LIMIT), ("CL", center, _CENTER), ("LCL", lcl, _LIMIT)):
        last = None if arr is None else _last_finite(arr)
        if last is not None:
            items.append((name, last, col))
    out.extend(_limit_labels(items, fr, panel_formatter(p)))

    # frame, x ticks, titles, legend
    out.append(
        f'<rect x="{fr.left:.1f}" y="{fr.top:.1f}" width="{fr.pw:.1f}" height="{fr.ph:.1f}" '
        f'fill="none" stroke="{_AXIS}" stroke-width="1"/>'
    )
    xt = _x_ticks(n, fr.pw)
    xtx = fr.xc(xt - 1)
    marks = "".join(f"M{x:.1f} {fr.bottom:.1f}v4" for x in xtx.tolist())
    out.append(f'<path d="{marks}" stroke="{_AXIS}" fill="none"/>')
    out.append(f'<g fill="{_AXIS}" text-anchor="middle">')
    out.extend(
        _text(x, fr.bottom + 16, str(t)) for x, t in zip(xtx.tolist(), xt.tolist(), strict=True)
    )
    out.append("</g>")
    ax_pri, ax_sec = ordered(*x_axis_name(result), lang)
    out.append(
        _text(
            fr.left + fr.pw / 2,
            float(height) - 4,
            f"{ax_pri} {ax_sec}",
            f'text-anchor="middle" fill="{_AXIS}"',
        )
    )
    pri, sec = ordered(pan_zh, pan_en, lang)
    out.append(
        f'<text x="{fr.left:.1f}" y="18" fill="#222222"><tspan font-size="13" '
        f'font-weight="bold">{_e(pri)}</tspan><tspan dx="6" fill="#777777">{_e(sec)}</tspan></text>'
    )
    legend: list[str] = []
    lx = float(width) - 8
    if excluded:
        text = " ".join(ordered("剔除点", "excluded", lang))
        legend.append(_text(lx, 18, text, f'text-anchor="end" fill="{_AXIS}"'))
        lx -= 9 + _text_width(text)
        legend.append(
            f'<circle cx="{lx:.1f}" cy="14" r="3.5" fill="#ffffff" stroke="{_LINE}" stroke-width="1.5"/>'
        )
        lx -= 10
    if len(viol_points):
        text = " ".join(ordered("失控点", "out of control", lang))
        legend.append(_text(lx, 18, text, f'text-anchor="end" fill="{_AXIS}"'))
        lx -= 9 + _text_width(text)
        legend.append(f'<circle cx="{lx:.1f}" cy="14" r="4" fill="{_RED}" stroke="{_RED}"/>')
    out.extend(legend)
    out.append("</svg>")
    return "".join(s for s in out if s)
