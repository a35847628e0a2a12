"""The 特性详情 page: control chart, phase I / II and frozen limits, sixpack, measurements.

``/characteristics/{ref}`` (``ref``: the id, or the code, as in the API) shows a characteristic
the user may read — a supplier only one shared with it; anything else is "not found", never
data. The query (``start``, ``end`` as dates, the last one included; ``chart``, ``rules``,
``phase``) selects the data and the chart, so a link or a language switch keeps the view.

Everything is computed by the services in a worker thread (:meth:`PageContext.call`): the chart
by :func:`zhuoyue.services.views.characteristic_chart`, the capability sixpack by
:func:`zhuoyue.services.sixpack.characteristic_sixpack`, frozen limits by
:func:`~zhuoyue.services.views.freeze_limits` / :func:`~zhuoyue.services.views.unfreeze_limits`
(audited, with the reason), the measurements by
:func:`zhuoyue.services.measurements.list_measurements`. A chart of many points is thinned by
:func:`zhuoyue.web.downsample.downsample` before it leaves the server (every signalling point
kept); the ECharts options are built by the pure functions of this module.
"""

from __future__ import annotations

import asyncio
import csv
import html
import io
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import numpy as np
from fastapi.responses import RedirectResponse
from nicegui import ui
from sqlalchemy.orm import Session, sessionmaker

from zhuoyue.errors import DataError, ParameterError, ZhuoyueError
from zhuoyue.reports._text import chart_name, fmt_num, panel_name, sigma_method_name
from zhuoyue.reports.capability import fmt_index, fmt_ppm
from zhuoyue.services import masterdata, views
from zhuoyue.services.accounts import NotFound, Principal, require
from zhuoyue.services.measurements import MAX_PAGE, list_measurements
from zhuoyue.services.views import characteristic_sixpack
from zhuoyue.stats.rules import RULE_SETS, RuleSet
from zhuoyue.web.downsample import DEFAULT_MAX_POINTS, downsample
from zhuoyue.web.i18n import Lang, add_texts, text
from zhuoyue.web.layout import (
    PageContext,
    busy,
    content,
    empty_state,
    notify_error,
    open_page,
    section,
    show_error,
    subscribe_live,
)

__all__ = [
    "CSV_COLUMNS",
    "Query",
    "chart_option",
    "downsample_note",
    "histogram_option",
    "index_rows",
    "js_data",
    "last_option",
    "measurements_csv",
    "newest_first_window",
    "parse_day",
    "pattern_points",
    "pattern_width",
    "probability_option",
    "register",
    "tooltip_words",
    "violation_rows",
    "violation_tests",
]

#: rows of the measurement table per page
PAGE_ROWS = 20
#: the columns of the CSV download (the measurements table of DESIGN.md: it imports back)
CSV_COLUMNS = ("characteristic", "ts", "subgroup", "value", "lot", "serial", "machine", "operator")
_RED = "#c62828"
_CENTER = "#2e7d32"
_ZONE = "#9ca3af"
_LINE = "#1f4e79"

add_texts(
    {
        "chr_title": ("特性详情", "Characteristic"),
        "chr_step": ("工序", "Step"),
        "chr_product": ("产品", "Product"),
        "chr_unit": ("单位", "Unit"),
        "chr_lsl": ("下规格限 LSL", "LSL"),
        "chr_target": ("目标值", "Target"),
        "chr_usl": ("上规格限 USL", "USL"),
        "chr_key": ("★ 关键特性", "★ key characteristic"),
        "chr_subgroup_size": ("子组大小", "Subgroup size"),
        "chr_start": ("起始日期", "From (date)"),
        "chr_end": ("截止日期（含）", "To (date, included)"),
        "chr_bad_date": ("请按 YYYY-MM-DD 输入日期", "Enter the date as YYYY-MM-DD"),
        "chr_end_before": ("截止日期不能早于起始日期", "The end cannot be before the start"),
        "chr_chart": ("控制图", "Chart"),
        "chr_rules": ("判异准则", "Run rules"),
        "chr_phase": ("阶段", "Phase"),
        "chr_default": ("默认（特性设置）", "default (the characteristic's)"),
        "chr_phase_auto": ("自动", "automatic"),
        "chr_phase_I": ("阶段 I：由数据计算控制限", "phase I: limits from the data"),
        "chr_phase_II": ("阶段 II：使用冻结的控制限", "phase II: frozen limits"),
        "chr_apply": ("应用", "Apply"),
        "chr_rules_gb4091": ("GB/T 4091 八项检验", "GB/T 4091, 8 tests"),
        "chr_rules_we": ("西方电气 4 项", "Western Electric 1-4"),
        "chr_rules_none": ("不判异", "no run rules"),
        "chr_phase1_text": (
            "阶段 I：控制限由所选时间段的 {n} 个点估计（σ：{method}）。",
            "Phase I: the limits are estimated from the {n} points in range (σ: {method}).",
        ),
        "chr_phase2_text": (
            "阶段 II：按冻结的控制限监控（中心 {center}，σ {sigma}），{by} 于 {at} 冻结，原因：{why}",
            "Phase II: monitored against frozen limits (centre {center}, σ {sigma}), frozen by "
            "{by} on {at}, because: {why}",
        ),
        "chr_chart_card": ("控制图", "Control chart"),
        "chr_point": ("点", "point"),
        "chr_points": ("点", "points"),
        "chr_pattern": ("构成该模式的点", "points forming the pattern"),
        "chr_test": ("检验", "Test"),
        "chr_downsampled": (
            "显示 {shown} / {total} 点，所有判异点均保留",
            "Showing {shown} of {total} points; every signalling point is kept",
        ),
        "chr_all_points": ("显示全部 {total} 点", "Showing all {total} points"),
        "chr_violations": ("判异点", "Signals"),
        "chr_no_violation": (
            "所选时间段内没有判异点：过程受控。",
            "No signal in the selected range: the process is in control.",
        ),
        "chr_panel": ("图", "Panel"),
        "chr_description": ("说明", "Description"),
        "chr_count": ("点数", "Points"),
        "chr_last": ("最近一次", "Latest"),
        "chr_notes": ("说明与约定", "Notes and conventions"),
        "chr_ucl": ("上控制限 UCL", "UCL"),
        "chr_lcl": ("下控制限 LCL", "LCL"),
        "chr_cl": ("中心线 CL", "CL"),
        "chr_zone": ("±1σ / ±2σ 分区线", "±1σ / ±2σ zone lines"),
        "chr_limits": ("控制限冻结", "Frozen control limits"),
        "chr_reason": ("原因", "Reason"),
        "chr_need_reason": ("请填写原因", "Give a reason"),
        "chr_freeze": ("冻结控制限（进入阶段 II）", "Freeze the limits (phase II)"),
        "chr_freeze_hint": (
            "按当前时间段与控制图计算阶段 I 控制限并冻结；之后的点按冻结限监控。操作记入审计日志。",
            "Computes phase I limits of the selected range and chart and freezes them; later "
            "points are monitored against them. Recorded in the audit log.",
        ),
        "chr_unfreeze": ("解除冻结（回到阶段 I）", "Unfreeze (back to phase I)"),
        "chr_frozen_ok": ("控制限已冻结", "The limits are frozen"),
        "chr_unfrozen_ok": ("已解除冻结", "The limits are unfrozen"),
        "chr_no_right_freeze": (
            "您的角色无权冻结控制限。",
            "Your role may not freeze control limits.",
        ),
        "chr_history": ("控制限历史", "Limits history"),
        "chr_no_history": (
            "尚未冻结过控制限：过程稳定后，填写原因并冻结，即进入阶段 II 监控。",
            "No limits frozen yet: once the process is stable, give a reason and freeze them to "
            "monitor in phase II.",
        ),
        "chr_frozen_at": ("冻结时间", "Frozen at"),
        "chr_frozen_by": ("冻结人", "By"),
        "chr_center": ("中心", "Centre"),
        "chr_sigma": ("σ", "σ"),
        "chr_state": ("状态", "State"),
        "chr_active": ("生效中", "active"),
        "chr_ended": ("已结束", "ended"),
        "chr_sixpack": ("过程能力六合图", "Capability sixpack"),
        "chr_sixpack_open": ("展开以计算过程能力", "Open to compute the capability"),
        "chr_histogram": ("能力直方图", "Capability histogram"),
        "chr_probability": ("正态概率图", "Normal probability plot"),
        "chr_last25": ("最近 {n} 个子组", "Last {n} subgroups"),
        "chr_last_obs": ("最近 {n} 个观测值", "Last {n} observations"),
        "chr_within": ("组内", "within"),
        "chr_overall": ("整体", "overall"),
        "chr_fit": ("拟合线", "fitted line"),
        "chr_count_axis": ("频数", "count"),
        "chr_z_axis": ("正态分位数 z", "normal quantile z"),
        "chr_index": ("指数", "Index"),
        "chr_value": ("数值", "Value"),
        "chr_ci": ("置信区间", "Confidence interval"),
        "chr_ppm": ("PPM（百万分之不合格）", "PPM (parts per million out of spec)"),
        "chr_below": ("< LSL", "< LSL"),
        "chr_above": ("> USL", "> USL"),
        "chr_total": ("合计", "total"),
        "chr_expected_within": ("预期（组内）", "expected within"),
        "chr_expected_overall": ("预期（整体）", "expected overall"),
        "chr_observed": ("实测", "observed"),
        "chr_ad": (
            "Anderson–Darling 正态性检验：A² = {a2}，p = {p}",
            "Anderson–Darling normality test: A² = {a2}, p = {p}",
        ),
        "chr_conv_within": (
            "σ组内（Cp、Cpk）：{method}，{k} 个子组",
            "σ within (Cp, Cpk): {method}, {k} subgroups",
        ),
        "chr_conv_overall": (
            "σ整体（Pp、Ppk）：全部 {n} 个数据的样本标准差",
            "σ overall (Pp, Ppk): sample standard deviation of all {n} values",
        ),
        "chr_conv_ci": ("{c}% 置信区间", "{c}% confidence intervals"),
        "chr_measurements": ("测量数据", "Measurements"),
        "chr_csv": ("下载 CSV", "Download CSV"),
        "chr_no_measurements": (
            "所选时间段内没有测量数据：调整日期范围，或在“数据导入”导入测量值。",
            "No measurement in the selected range: change the dates, or import measurements.",
        ),
        "chr_no_chart_data": (
            "所选时间段内没有可绘制的数据：调整日期范围，或先导入测量数据。",
            "Nothing to chart in the selected range: change the dates or import measurements.",
        ),
        "chr_ts": ("时间 (UTC)", "Time (UTC)"),
        "chr_subgroup": ("子组", "Subgroup"),
        "chr_lot": ("批次", "Lot"),
        "chr_serial": ("序列号", "Serial"),
        "chr_machine": ("设备", "Machine"),
        "chr_operator": ("操作者", "Operator"),
        "chr_rows": ("共 {n} 条，最新在前", "{n} rows, newest first"),
        "chr_warnings": ("提示", "Warnings"),
        "chr_conv_subgroups": ("子组", "Subgroups"),
        "chr_conv_limits": ("控制限", "Limits"),
        "chr_conv_rules": ("判异准则", "Run rules"),
        "chr_conv_range": ("时间范围", "Range"),
        "chr_conv_time": ("时间", "Time"),
        "chr_conv_constants": ("常数", "Constants"),
        "chr_no_spec": (
            "该特性没有规格限（LSL / USL）：在主数据中设置规格限后即可计算过程能力。",
            "This characteristic has no specification limit (LSL / USL): set them in its master "
            "data to compute its capability.",
        ),
    }
)


# ------------------------------------------------------------------------------------------------
# Query and small pure helpers
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Query:
    """What the page shows: a date range (``end`` included) and the chart options."""

    start: date | None = None
    end: date | None = None
    chart: str | None = None
    rules: str | None = None
    phase: str = "auto"

    @property
    def start_ts(self) -> datetime | None:
        """The first instant of ``start`` (UTC)."""
        return None if self.start is None else datetime(*self.start.timetuple()[:3], tzinfo=UTC)

    @property
    def end_ts(self) -> datetime | None:
        """The instant after ``end`` (UTC): the end date is included."""
        if self.end is None:
            return None
        return datetime(*self.end.timetuple()[:3], tzinfo=UTC) + timedelta(days=1)

    def url(self, ref: str) -> str:
        """The page's address with this query."""
        q = {
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "chart": self.chart,
            "rules": self.rules,
            "phase": None if self.phase == "auto" else self.phase,
        }
        tail = urlencode({k: v for k, v in q.items() if v})
        return f"/characteristics/{ref}" + (f"?{tail}" if tail else "")


def parse_day(value: str | None) -> date | None:
    """A ``YYYY-MM-DD`` date (``None`` for empty); :class:`ParameterError` when it is not one."""
    if value is None or not str(value).strip():
        return None
    try:
        day = date.fromisoformat(str(value).strip())
    except ValueError:
        raise ParameterError(f"{value!r} is not a date (YYYY-MM-DD).") from None
    if not 1900 <= day.year <= 2200:
        raise ParameterError(f"{value!r} lies outside the years 1900–2200.")
    return day


def _query(
    start: str | None, end: str | None, chart: str | None, rules: str | None, phase: str | None
) -> Query:
    """The page query from the URL; unknown values fall back to the defaults."""

    def day(v: str | None) -> date | None:
        try:
            return parse_day(v)
        except ParameterError:
            return None

    return Query(
        start=day(start),
        end=day(end),
        chart=chart if chart in views.CHART_TYPES else None,
        rules=rules if rules in RULE_SETS else None,
        phase=phase if phase in views.PHASES else "auto",
    )


def newest_first_window(total: int, page: int, size: int) -> tuple[int, int]:
    """``(offset, limit)`` of page ``page`` (1-based) of ``total`` rows in time order when pages
    list the newest first (reverse the rows of the window to show them)."""
    if total <= 0 or size <= 0:
        return 0, 0
    pages = max(1, -(-total // size))
    page = min(max(1, page), pages)
    hi = total - (page - 1) * size
    lo = max(0, hi - size)
    return lo, hi - lo


def _ts_text(value: Any) -> str:
    """A stored time as people read it: ``2024-03-01 08:00:00`` (UTC)."""
    if isinstance(value, datetime):
        moment = value.astimezone(UTC) if value.tzinfo else value
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    s = str(value or "")
    return s[:19].replace("T", " ")


def _count(n: int, lang: Lang) -> str:
    """A count with thin spaces as thousands separators (``100 000``)."""
    return f"{n:,}".replace(",", " " if lang == "zh" else ",")


def measurements_csv(code: str, rows: Iterable[Mapping[str, Any]]) -> bytes:
    """The measurements as CSV (UTF-8 with BOM, so Excel reads the Chinese): the columns of
    :data:`CSV_COLUMNS`, ``ts`` ISO 8601 in UTC; the file imports back unchanged."""
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(CSV_COLUMNS)
    for r in rows:
        ts = r.get("ts")
        if isinstance(ts, datetime):
            aware = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
            ts_text = aware.isoformat().replace("+00:00", "Z")
        else:
            ts_text = str(ts or "")
        value = r.get("value")
        w.writerow(
            [
                code,
                ts_text,
                "" if r.get("subgroup") is None else int(r["subgroup"]),
                "" if value is None else repr(float(value)),
                *("" if r.get(k) is None else str(r[k]) for k in CSV_COLUMNS[4:]),
            ]
        )
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


# ------------------------------------------------------------------------------------------------
# The control chart: violations in words, ECharts option
# ------------------------------------------------------------------------------------------------
def _ruleset(rules: Mapping[str, Any]) -> RuleSet:
    k = {int(t): float(v) for t, v in (rules.get("k") or {}).items()}
    return RuleSet(
        name=str(rules.get("set", "gb4091")),
        tests=tuple(int(t) for t in rules.get("tests") or ()),
        k=k,
        test8=rules.get("test8", "both"),
    )


def pattern_width(rules: Mapping[str, Any], test: int) -> int:
    """How many points form the pattern of ``test``: the window the test looks at (1 point for
    "beyond 3σ", K points for runs, trends, alternation, within 1σ and mixtures, K + 1 for
    "K of K + 1")."""
    rs = _ruleset(rules)
    kind = rs.kind(test)
    if kind == "beyond":
        return 1
    k = int(rs.k_of(test))
    return k + 1 if kind == "k_of_k1" else k


def pattern_points(rules: Mapping[str, Any], test: int, index: int) -> tuple[int, int]:
    """The first and last 0-based point of the pattern that makes ``test`` fire at ``index``
    (:func:`pattern_width` points ending there, cut at the start of the series)."""
    return max(0, index - pattern_width(rules, test) + 1), index


def _describe(rules: Mapping[str, Any], test: int, lang: Lang) -> str:
    try:
        return _ruleset(rules).describe(test, lang)
    except KeyError:
        return f"{text('chr_test', lang)} {test}"


def tooltip_words(rules: Mapping[str, Any], lang: Lang) -> dict[str, Any]:
    """What the chart's tooltip needs to explain a signal in the browser: the words, each test's
    description (HTML-escaped) and pattern width, by test number."""
    tests = [int(t) for t in rules.get("tests") or ()]
    return {
        "point": text("chr_point", lang),
        "test": text("chr_test", lang),
        "pattern": text("chr_pattern", lang),
        "desc": {str(t): html.escape(_describe(rules, t, lang)) for t in tests},
        "width": {str(t): pattern_width(rules, t) for t in tests},
    }


def violation_tests(violations: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, list[str]]:
    """The points (0-based, sorted) that fire a test and, for each, its tests as ``"2,6"``."""
    if not violations:
        return np.empty(0, dtype=np.int64), []
    index = np.fromiter((int(v["index"]) for v in violations), dtype=np.int64)
    rule = np.fromiter((int(v["rule"]) for v in violations), dtype=np.int64)
    order = np.lexsort((rule, index))
    index, rule = index[order], rule[order]
    points, starts = np.unique(index, return_index=True)
    groups = np.split(rule.astype(str), starts[1:])
    return points, [",".join(dict.fromkeys(g.tolist())) for g in groups]


def violation_rows(chart: Mapping[str, Any], lang: Lang) -> list[dict[str, Any]]:
    """One row per panel and test that fires: the test in words, how many points, the latest
    point (number and time) and the points forming its pattern."""
    ts = (chart.get("points") or {}).get("ts") or []
    rows: list[dict[str, Any]] = []
    for pname, p in chart["panels"].items():
        by_test: dict[int, list[int]] = {}
        for v in p["violations"]:
            by_test.setdefault(int(v["rule"]), []).append(int(v["index"]))
        for t in sorted(by_test):
            idx = by_test[t]
            last = max(idx)
            a, b = pattern_points(chart["rules"], t, last)
            rows.append(
                {
                    "id": f"{pname}-{t}",
                    "panel": panel_name(pname)[0 if lang == "zh" else 1],
                    "test": t,
                    "description": _describe(chart["rules"], t, lang),
                    "count": len(set(idx)),
                    "last": f"{text('chr_point', lang)} {last + 1}"
                    + (f" · {_ts_text(ts[last])}" if last < len(ts) else ""),
                    "pattern": f"{a + 1}–{b + 1}" if a != b else f"{b + 1}",
                }
            )
    return rows


def js_data(items: Sequence[Any]) -> str:
    """Series data as a JavaScript literal for an option key with a ``:`` prefix (NiceGUI
    evaluates it in the browser): one string instead of thousands of small lists, which the
    server would otherwise wrap one by one as observable properties."""
    return json.dumps(items, separators=(",", ":"), allow_nan=False)


def _rounded(x: np.ndarray, digits: int = 9) -> np.ndarray:
    """``x`` rounded to ``digits`` significant digits of its largest magnitude (what a chart can
    show; shorter JSON)."""
    finite = np.abs(x[np.isfinite(x)])
    top = float(finite.max()) if finite.size else 0.0
    if top == 0.0:
        return x
    return np.round(x, max(0, digits - 1 - math.floor(math.log10(top))))


def _finite(x: float) -> float | None:
    """A float for JSON (``None`` for NaN / infinities)."""
    return float(x) if math.isfinite(x) else None


def _as_array(x: Any, n: int) -> np.ndarray | None:
    """A limit (scalar, per-point list or None) as ``n`` floats (NaN where undefined)."""
    if x is None:
        return None
    if isinstance(x, list):
        return np.array([np.nan if v is None else float(v) for v in x], dtype=np.float64)
    return np.full(n, float(x))


def _step_points(values: np.ndarray, idx: np.ndarray, max_points: int) -> list[list[float | None]]:
    """``[[point number, value], ...]`` of a limit for a step line: the drawn points plus every
    point where the limit changes (and the one before), so steps fall where they belong."""
    n = values.size
    if n == 0:
        return []
    same = (values[1:] == values[:-1]) | (np.isnan(values[1:]) & np.isnan(values[:-1]))
    change = np.flatnonzero(~same) + 1
    if not change.size:
        where = np.array([0, n - 1], dtype=np.int64)
    elif change.size * 2 <= 4 * max_points:
        where = np.unique(np.concatenate(([0, n - 1], change, change - 1)))
    else:  # too many steps to draw: follow the drawn points
        where = idx
    xs = (where + 1).astype(np.float64)
    ys = values[where]
    return [
        [float(x), None if not math.isfinite(y) else round(float(y), 12)]
        for x, y in zip(xs, ys, strict=True)
    ]


def downsample_note(shown: int, total: int, lang: Lang) -> str:
    """What the chart shows: all points, or how many of them (every signal kept)."""
    if shown >= total:
        return text("chr_all_points", lang).format(total=_count(total, lang))
    return text("chr_downsampled", lang).format(
        shown=_count(shown, lang), total=_count(total, lang)
    )


#: the chart's tooltip: a point's number, time and value; for a signal, each test in words and
#: the points forming its pattern. Data items are [point, value, "tests", "time"].
_TOOLTIP_JS = """(p) => {
  const M = %s;
  const d = Array.isArray(p.data) ? p.data : (p.data && p.data.value) || [];
  if (d.length < 2 || d[1] === null || d[1] === undefined) return '';
  let s = p.marker + p.seriesName + '<br/>' + M.point + ' ' + d[0];
  if (d[3]) s += ' · ' + d[3] + ' UTC';
  s += '<br/>' + (+d[1].toPrecision(8));
  if (d[2]) {
    for (const t of String(d[2]).split(',')) {
      const w = M.width[t] || 1;
      const a = Math.max(1, d[0] - w + 1);
      s += '<br/><span style="color:#c62828">' + M.test + ' ' + t + ': ' + (M.desc[t] || '')
        + '</span><br/>' + M.pattern + ': ' + (a === d[0] ? d[0] : a + '–' + d[0]);
    }
  }
  return s;
}"""
#: signals drawn with their time in the tooltip at most (beyond: point number only, lighter)
_MAX_TIMED_SIGNALS = 2000


def chart_option(
    chart: Mapping[str, Any], lang: Lang, max_points: int = DEFAULT_MAX_POINTS
) -> tuple[dict[str, Any], int]:
    """The ECharts option of a control chart (one grid per panel: statistic, CL, UCL/LCL as step
    lines, ±1σ/±2σ zone lines, signalling points in red with their explanation as tooltip)
    and the number of points drawn on the first panel (after down-sampling, every signal).

    Each panel's line is :func:`downsample`-d to ``max_points`` (through every signalling point
    when there are no more than ``max_points`` of them); the signals are a red scatter of all of
    them. Data items are ``[point number, value, "tests", "time"]``, explained in the browser by
    the tooltip formatter from :func:`tooltip_words`, so no per-point text is sent."""
    panels = list(chart["panels"].items())
    n = int(chart["n_points"])
    ts = (chart.get("points") or {}).get("ts") or []
    height = 100.0 / max(1, len(panels))
    grids, xaxes, yaxes, series = [], [], [], []
    shown_first = 0
    for g, (pname, p) in enumerate(panels):
        label = panel_name(pname)[0 if lang == "zh" else 1]
        stat = _rounded(np.array([np.nan if v is None else float(v) for v in p["statistic"]]))
        viol, tests = violation_tests(p["violations"])
        # the line passes through the signals when they are few; many (a shifted process) are
        # drawn as their own red points over a line of max_points
        idx = downsample(stat, max_points, keep=viol if viol.size <= max_points else None)
        if g == 0:
            shown_first = int(np.union1d(idx, viol).size)
        top = g * height
        grids.append(
            {
                "left": 72,
                "right": 96,
                "top": f"{top + (9 if g == 0 else 6):.1f}%",
                "height": f"{height - 15:.1f}%",
            }
        )
        xaxes.append(
            {
                "type": "value",
                "gridIndex": g,
                "min": 1,
                "max": max(n, 2),
                "minInterval": 1,
                "name": text("chr_point", lang) if g == len(panels) - 1 else "",
                "nameLocation": "middle",
                "nameGap": 22,
                "nameTextStyle": {"fontSize": 10, "color": "#6b7280"},
                "axisLabel": {"fontSize": 10},
            }
        )
        yaxes.append(
            {
                "type": "value",
                "gridIndex": g,
                "scale": True,
                "name": label,
                "nameTextStyle": {"fontSize": 11, "align": "left"},
                "axisLabel": {"fontSize": 10},
                "splitLine": {"show": False},
            }
        )
        data = [
            [i + 1, _finite(stat[i]), "", _ts_text(ts[i]) if i < len(ts) else ""]
            for i in idx.tolist()
        ]
        series.append(
            {
                "type": "line",
                "name": label,
                "xAxisIndex": g,
                "yAxisIndex": g,
                ":data": js_data(data),
                "showSymbol": len(data) <= 400,
                "symbolSize": 4,
                "lineStyle": {"width": 1, "color": _LINE},
                "itemStyle": {"color": _LINE},
                "connectNulls": False,
                "z": 3,
            }
        )
        center = _as_array(p.get("center"), n)
        ucl = _as_array(p.get("ucl"), n)
        lcl = _as_array(p.get("lcl"), n)
        limit_lines: list[tuple[str, np.ndarray | None, str, str, float]] = [
            (text("chr_ucl", lang), ucl, _RED, "solid", 1.2),
            (text("chr_cl", lang), center, _CENTER, "solid", 1.2),
            (text("chr_lcl", lang), lcl, _RED, "solid", 1.2),
        ]
        if center is not None and ucl is not None:
            sigma = (ucl - center) / 3.0
            for k in (2.0, 1.0, -1.0, -2.0):
                zone = center + k * sigma
                if lcl is not None:  # a zone line below a clipped LCL (R charts) means nothing
                    zone = np.where(zone < lcl, np.nan, zone)
                limit_lines.append((f"{k:+g}σ", zone, _ZONE, "dashed", 0.8))
        for name, values, colour, style, width in limit_lines:
            if values is None or not np.isfinite(values).any():
                continue
            pts = _step_points(values, idx, max_points)
            last = next((y for _, y in reversed(pts) if y is not None), None)
            series.append(
                {
                    "type": "line",
                    "name": name,
                    "xAxisIndex": g,
                    "yAxisIndex": g,
                    ":data": js_data(pts),
                    "step": "middle",
                    "symbol": "none",
                    "silent": True,
                    "tooltip": {"show": False},
                    "lineStyle": {"color": colour, "type": style, "width": width},
                    "endLabel": {
                        "show": last is not None and style == "solid",
                        "formatter": f"{name.split(' ')[-1]} {fmt_num(last)}",
                        "fontSize": 10,
                        "color": colour,
                    },
                    "z": 2,
                }
            )
        timed = viol.size <= _MAX_TIMED_SIGNALS
        signals: list[list[Any]] = [
            [i + 1, _finite(stat[i]), t, _ts_text(ts[i])] if timed and i < len(ts)
            else [i + 1, _finite(stat[i]), t]
            for i, t in zip(viol.tolist(), tests, strict=True)
        ]  # fmt: skip
        series.append(
            {
                "type": "scatter",
                "name": f"{label} · {text('chr_violations', lang)}",
                "xAxisIndex": g,
                "yAxisIndex": g,
                ":data": js_data(signals),
                "symbolSize": 7 if viol.size <= max_points else 4,
                "large": viol.size > max_points,
                "itemStyle": {"color": _RED},
                "z": 4,
            }
        )
    option: dict[str, Any] = {
        "animation": False,
        "grid": grids,
        "xAxis": xaxes,
        "yAxis": yaxes,
        "series": series,
        "tooltip": {
            "trigger": "item",
            "confine": True,
            ":formatter": _TOOLTIP_JS
            % json.dumps(tooltip_words(chart["rules"], lang), ensure_ascii=False),
        },
        "dataZoom": [{"type": "inside", "xAxisIndex": list(range(len(panels)))}],
    }
    return option, shown_first


# ------------------------------------------------------------------------------------------------
# The sixpack
# ------------------------------------------------------------------------------------------------
def _num_or_none(x: Any) -> float | None:
    return None if x is None or not math.isfinite(float(x)) else float(x)


def histogram_option(cap: Mapping[str, Any], lang: Lang) -> dict[str, Any]:
    """The capability histogram: counts as a filled step outline, the within and overall normal
    curves scaled to counts, LSL / USL / target as vertical lines."""
    h = cap["sixpack"]["histogram"]
    edges = [float(e) for e in h["edges"]]
    counts = [int(c) for c in h["counts"]]
    scale = float(h["scale"])
    bars = [[edges[i], counts[i]] for i in range(len(counts))] + [[edges[-1], counts[-1]]]
    grid = [float(v) for v in h["grid"]]

    def curve(key: str) -> list[list[float]]:
        return [
            [x, round(float(d) * scale, 9)]
            for x, d in zip(grid, h[key], strict=True)
            if d is not None
        ]

    marks: list[dict[str, Any]] = []
    spots: list[float] = []
    for key, name, colour in (
        ("lsl", "LSL", _RED),
        ("usl", "USL", _RED),
        ("target", text("chr_target", lang), _CENTER),
    ):
        v = _num_or_none(h.get(key))
        if v is not None:
            spots.append(v)
            marks.append(
                {
                    "xAxis": v,
                    "name": name,
                    "lineStyle": {
                        "color": colour,
                        "type": "dashed" if key == "target" else "solid",
                    },
                    "label": {"formatter": f"{name}\n{fmt_num(v)}", "fontSize": 10},
                }
            )
    lo = min([edges[0], grid[0], *spots])
    hi = max([edges[-1], grid[-1], *spots])
    return {
        "animation": False,
        "grid": {"left": 48, "right": 24, "top": 36, "bottom": 28},
        "legend": {"top": 0, "textStyle": {"fontSize": 10}},
        "tooltip": {"trigger": "axis"},
        "xAxis": {
            "type": "value",
            "min": lo,
            "max": hi,
            "scale": True,
            "axisLabel": {"fontSize": 10},
        },
        "yAxis": {
            "type": "value",
            "name": text("chr_count_axis", lang),
            "axisLabel": {"fontSize": 10},
        },
        "series": [
            {
                "type": "line",
                "name": text("chr_count_axis", lang),
                "data": bars,
                "step": "end",
                "symbol": "none",
                "areaStyle": {"color": "#dbe6f1"},
                "lineStyle": {"color": "#7a9cc6", "width": 1},
                "markLine": {"silent": True, "symbol": "none", "data": marks},
            },
            {
                "type": "line",
                "name": text("chr_within", lang),
                "data": curve("density_within"),
                "symbol": "none",
                "smooth": True,
                "lineStyle": {"color": "#1565c0", "width": 1.5},
            },
            {
                "type": "line",
                "name": text("chr_overall", lang),
                "data": curve("density_overall"),
                "symbol": "none",
                "smooth": True,
                "lineStyle": {"color": "#2b2b2b", "width": 1.5, "type": "dashed"},
            },
        ],
    }


def probability_option(cap: Mapping[str, Any], lang: Lang) -> dict[str, Any]:
    """The normal probability plot: ordered values against normal quantiles, the fitted line."""
    pp = cap["sixpack"]["probability_plot"]
    pts = [
        [float(v), round(float(q), 6)]
        for v, q in zip(pp["values"], pp["quantiles"], strict=True)
        if v is not None and q is not None
    ]
    line = [
        [float(v), float(q)]
        for v, q in zip(pp["line"]["values"], pp["line"]["quantiles"], strict=True)
    ]
    return {
        "animation": False,
        "grid": {"left": 48, "right": 24, "top": 36, "bottom": 28},
        "legend": {"top": 0, "textStyle": {"fontSize": 10}},
        "xAxis": {"type": "value", "scale": True, "axisLabel": {"fontSize": 10}},
        "yAxis": {
            "type": "value",
            "min": -3.5,
            "max": 3.5,
            "name": text("chr_z_axis", lang),
            "axisLabel": {"fontSize": 10},
        },
        "series": [
            {
                "type": "scatter",
                "name": text("chr_probability", lang),
                "data": pts,
                "symbolSize": 3,
                "itemStyle": {"color": _LINE},
            },
            {
                "type": "line",
                "name": text("chr_fit", lang),
                "data": line,
                "symbol": "none",
                "lineStyle": {"color": _RED, "width": 1},
            },
        ],
    }


def last_option(cap: Mapping[str, Any], lang: Lang) -> dict[str, Any]:
    """The last subgroups (each value a dot over its subgroup) or observations."""
    last = cap["sixpack"]["last"]
    labels = [str(x) for x in last["labels"]]
    if last["kind"] == "subgroups":
        pts = [[j, float(v)] for j, group in enumerate(last["values"]) for v in group]
        means = [[j, float(np.mean(group))] for j, group in enumerate(last["values"]) if group]
    else:
        pts = [[j, float(v)] for j, v in enumerate(last["values"])]
        means = []
    series: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "name": text("chr_value", lang),
            "data": pts,
            "symbolSize": 4,
            "itemStyle": {"color": _LINE},
        }
    ]
    if means:
        series.append(
            {
                "type": "line",
                "name": "Xbar",
                "data": means,
                "symbolSize": 3,
                "lineStyle": {"color": _CENTER, "width": 1},
                "itemStyle": {"color": _CENTER},
            }
        )
    return {
        "animation": False,
        "grid": {"left": 56, "right": 24, "top": 24, "bottom": 28},
        "tooltip": {"trigger": "item"},
        "xAxis": {
            "type": "category",
            "data": labels,
            "boundaryGap": True,
            "axisLabel": {"fontSize": 9},
        },
        "yAxis": {"type": "value", "scale": True, "axisLabel": {"fontSize": 10}},
        "series": series,
    }


def index_rows(cap: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The indices table: Cp, Cpk, Pp, Ppk (and their one-sided parts, Cpm when defined) with
    their confidence intervals."""
    ci = cap.get("intervals") or {}
    rows = []
    for key, label in (
        ("cp", "Cp"),
        ("cpk", "Cpk"),
        ("cpl", "CPL"),
        ("cpu", "CPU"),
        ("pp", "Pp"),
        ("ppk", "Ppk"),
        ("ppl", "PPL"),
        ("ppu", "PPU"),
        ("cpm", "Cpm"),
    ):
        value = cap.get(key)
        if key == "cpm" and value is None:
            continue
        interval = ci.get(key)
        rows.append(
            {
                "id": key,
                "index": label,
                "value": fmt_index(value),
                "ci": "—"
                if not interval
                else f"{fmt_index(interval[0])} – {fmt_index(interval[1])}",
            }
        )
    return rows


def _ppm_rows(cap: Mapping[str, Any], lang: Lang) -> list[dict[str, Any]]:
    rows = []
    for key, label in (
        ("ppm_within", "chr_expected_within"),
        ("ppm_overall", "chr_expected_overall"),
        ("ppm_observed", "chr_observed"),
    ):
        d = cap.get(key) or {}
        rows.append(
            {
                "id": key,
                "kind": text(label, lang),
                "below": fmt_ppm(d.get("below_lsl")),
                "above": fmt_ppm(d.get("above_usl")),
                "total": fmt_ppm(d.get("total")),
            }
        )
    return rows


# ------------------------------------------------------------------------------------------------
# Service calls (worker thread): the same permission checks as the API
# ------------------------------------------------------------------------------------------------
def _readable(s: Session, p: Principal, ref: str) -> tuple[int, set[int] | None]:
    """The id of a characteristic the user may read, and the ids it is limited to (a supplier:
    the characteristic itself, which is shared with it; else the whole organization)."""
    char = masterdata.get_characteristic(s, p, ref)
    shared_only = require(p, "read", "read_shared") == "read_shared"
    return char.id, ({char.id} if shared_only else None)


def _load_chart(s: Session, p: Principal, ref: str, q: Query) -> dict[str, Any]:
    cid, allowed = _readable(s, p, ref)
    return views.characteristic_chart(
        s,
        p.org_id,
        cid,
        start=q.start_ts,
        end=q.end_ts,
        chart=q.chart,
        rules=q.rules,
        phase=q.phase,
        allowed_ids=allowed,
    )


def _load_info(s: Session, p: Principal, ref: str) -> dict[str, Any]:
    c = masterdata.get_characteristic(s, p, ref)
    return {
        "id": c.id,
        "code": c.code,
        "name": c.name,
        "step": None if c.step is None else c.step.code,
        "step_name": None if c.step is None else c.step.name,
        "product": None if c.product is None else c.product.code,
        "product_name": None if c.product is None else c.product.name,
        "unit": c.unit,
        "lsl": c.lsl,
        "usl": c.usl,
        "target": c.target,
        "subgroup_size": c.subgroup_size,
        "key": c.key,
    }


def _load_view(
    s: Session, p: Principal, ref: str, q: Query
) -> tuple[dict[str, Any], dict[str, Any] | None, ZhuoyueError | None]:
    """The characteristic's header, and its chart or why there is none (no data in range,
    a chart that does not fit the data)."""
    info = _load_info(s, p, ref)
    try:
        return info, _load_chart(s, p, ref, q), None
    except NotFound:
        raise
    except (DataError, ParameterError) as exc:
        return info, None, exc


def _load_history(s: Session, p: Principal, ref: str) -> list[dict[str, Any]]:
    cid, allowed = _readable(s, p, ref)
    return views.limits_history(s, p.org_id, cid, allowed_ids=allowed)


def _load_sixpack(s: Session, p: Principal, ref: str, q: Query) -> dict[str, Any]:
    cid, allowed = _readable(s, p, ref)
    return characteristic_sixpack(
        s, p.org_id, cid, start=q.start_ts, end=q.end_ts, allowed_ids=allowed
    )


def _freeze(s: Session, p: Principal, ref: str, q: Query, reason: str) -> dict[str, Any]:
    require(p, "freeze_limits")
    char = masterdata.get_characteristic(s, p, ref, actions=("freeze_limits",))
    return views.freeze_limits(
        s,
        p.org_id,
        char.id,
        user_id=p.user_id,
        reason=reason,
        start=q.start_ts,
        end=q.end_ts,
        chart=q.chart,
    )


def _unfreeze(s: Session, p: Principal, ref: str, reason: str) -> dict[str, Any]:
    require(p, "freeze_limits")
    char = masterdata.get_characteristic(s, p, ref, actions=("freeze_limits",))
    return views.unfreeze_limits(s, p.org_id, char.id, user_id=p.user_id, reason=reason)


def _row(m: Any) -> dict[str, Any]:
    return {
        "ts": m.ts,
        "subgroup": m.subgroup,
        "value": m.value,
        "lot": m.lot,
        "serial": m.serial,
        "machine": m.machine,
        "operator": m.operator,
    }


def _load_page(
    s: Session, p: Principal, ref: str, q: Query, page: int
) -> tuple[int, list[dict[str, Any]]]:
    """The total in range and page ``page`` of the measurements, newest first."""
    first = list_measurements(s, p, ref, start=q.start_ts, end=q.end_ts, limit=1)
    offset, limit = newest_first_window(first.total, page, PAGE_ROWS)
    if limit == 0:
        return first.total, []
    rows = list_measurements(s, p, ref, start=q.start_ts, end=q.end_ts, limit=limit, offset=offset)
    return first.total, [_row(m) for m in reversed(rows.items)]


def _load_csv(s: Session, p: Principal, ref: str, q: Query) -> tuple[str, bytes]:
    """Every measurement in range as CSV (in time order) and the characteristic's code."""
    char = masterdata.get_characteristic(s, p, ref)
    rows: list[dict[str, Any]] = []
    offset = 0
    while True:
        page = list_measurements(
            s, p, ref, start=q.start_ts, end=q.end_ts, limit=MAX_PAGE, offset=offset
        )
        rows.extend(_row(m) for m in page.items)
        offset += len(page.items)
        if not page.items or offset >= page.total:
            break
    return char.code, measurements_csv(char.code, rows)


# ------------------------------------------------------------------------------------------------
# Rendering
# ------------------------------------------------------------------------------------------------
def _who(user: Mapping[str, Any] | None) -> str:
    if not user:
        return "—"
    return str(user.get("display_name") or user.get("username") or "—")


def _header(info: Mapping[str, Any], lang: Lang) -> None:
    with ui.row().classes("items-center gap-3 flex-wrap"):
        ui.label(f"{info['code']} {info['name']}").classes("text-2xl").props(
            "data-testid=chr-title"
        )
        if info.get("key"):
            ui.badge(text("chr_key", lang), color="orange-8").props("data-testid=chr-key")
    facts = [
        ("chr_step", " ".join(str(x) for x in (info.get("step"), info.get("step_name")) if x)),
        (
            "chr_product",
            " ".join(str(x) for x in (info.get("product"), info.get("product_name")) if x),
        ),
        ("chr_unit", info.get("unit") or ""),
        ("chr_lsl", fmt_num(info.get("lsl"))),
        ("chr_target", fmt_num(info.get("target"))),
        ("chr_usl", fmt_num(info.get("usl"))),
        ("chr_subgroup_size", str(info.get("subgroup_size") or "")),
    ]
    with ui.row().classes("gap-x-6 gap-y-1 flex-wrap text-sm").props("data-testid=chr-facts"):
        for key, value in facts:
            with ui.row().classes("gap-1 items-baseline"):
                ui.label(text(key, lang)).classes("text-gray-500")
                ui.label(value or "—")


def _controls(ref: str, q: Query, lang: Lang) -> None:
    charts = {"": text("chr_default", lang)} | {
        c: chart_name(c)[0 if lang == "zh" else 1] for c in views.CHART_TYPES
    }
    rules = {"": text("chr_default", lang)} | {r: text(f"chr_rules_{r}", lang) for r in RULE_SETS}
    phases = {
        "auto": text("chr_phase_auto", lang),
        "I": text("chr_phase_I", lang),
        "II": text("chr_phase_II", lang),
    }
    with ui.row().classes("items-start gap-3 flex-wrap w-full"):
        start = ui.input(
            text("chr_start", lang), value=q.start.isoformat() if q.start else ""
        ).props("dense outlined clearable data-testid=chr-start placeholder=YYYY-MM-DD")
        end = ui.input(text("chr_end", lang), value=q.end.isoformat() if q.end else "").props(
            "dense outlined clearable data-testid=chr-end placeholder=YYYY-MM-DD"
        )
        for field in (start, end):
            with field.add_slot("append"):
                icon = ui.icon("event").classes("cursor-pointer")
                with ui.menu() as menu:
                    ui.date(mask="YYYY-MM-DD").bind_value(field).on(
                        "update:model-value", menu.close
                    )
                icon.on("click", menu.open)
        chart = (
            ui.select(charts, value=q.chart or "", label=text("chr_chart", lang))
            .props("dense outlined options-dense data-testid=chr-chart-type")
            .classes("min-w-[12rem]")
        )
        rule = (
            ui.select(rules, value=q.rules or "", label=text("chr_rules", lang))
            .props("dense outlined options-dense data-testid=chr-rules")
            .classes("min-w-[12rem]")
        )
        phase = (
            ui.select(phases, value=q.phase, label=text("chr_phase", lang))
            .props("dense outlined options-dense data-testid=chr-phase")
            .classes("min-w-[12rem]")
        )

        def apply() -> None:
            days: list[date | None] = []
            for field in (start, end):
                try:
                    days.append(parse_day(field.value))
                    field.error = None
                except ParameterError:
                    days.append(None)
                    field.error = text("chr_bad_date", lang)
            if start.error or end.error:
                return
            if days[0] and days[1] and days[1] < days[0]:
                end.error = text("chr_end_before", lang)
                return
            new = Query(days[0], days[1], chart.value or None, rule.value or None, phase.value)
            ui.navigate.to(new.url(ref))

        ui.button(text("chr_apply", lang), icon="refresh", on_click=apply).props(
            "data-testid=chr-apply"
        ).classes("mt-1")


def _phase_text(chart: Mapping[str, Any], lang: Lang) -> str:
    frozen = chart.get("frozen_limits")
    method = sigma_method_name(str(chart.get("sigma_method")))[0 if lang == "zh" else 1]
    if frozen is None:
        n = int(chart.get("phase1_points") or 0)
        return text("chr_phase1_text", lang).format(n=_count(n, lang), method=method)
    return text("chr_phase2_text", lang).format(
        center=fmt_num(frozen.get("center")),
        sigma=fmt_num(frozen.get("sigma")),
        by=_who(frozen.get("frozen_by")),
        at=_ts_text(frozen.get("frozen_at")),
        why=frozen.get("reason") or "—",
    )


def _render_chart(chart: Mapping[str, Any], lang: Lang) -> None:
    option, shown = chart_option(chart, lang)
    n = int(chart["n_points"])
    title = chart_name(str(chart["chart"]))[0 if lang == "zh" else 1]
    with section(f"{text('chr_chart_card', lang)} · {title}"):
        phase = "II" if chart.get("limits_source") == "frozen" else "I"
        ui.label(_phase_text(chart, lang)).classes(
            "text-sm " + ("text-blue-900" if phase == "II" else "text-gray-700")
        ).props(f"data-testid=chr-phase-{phase}")
        height = "h-[36rem]" if len(chart["panels"]) > 1 else "h-96"
        ui.echart(option).classes(f"w-full {height}").props("data-testid=control-chart")
        ui.label(downsample_note(shown, n, lang)).classes("text-xs text-gray-500").props(
            "data-testid=chr-downsample"
        )
        rows = violation_rows(chart, lang)
        ui.label(text("chr_violations", lang)).classes("text-base mt-2")
        if not rows:
            ui.label(text("chr_no_violation", lang)).props("data-testid=chr-in-control")
        else:
            columns = [
                {
                    "name": "panel",
                    "label": text("chr_panel", lang),
                    "field": "panel",
                    "align": "left",
                },
                {"name": "test", "label": text("chr_test", lang), "field": "test"},
                {
                    "name": "description",
                    "label": text("chr_description", lang),
                    "field": "description",
                    "align": "left",
                },
                {
                    "name": "count",
                    "label": text("chr_count", lang),
                    "field": "count",
                    "align": "right",
                },
                {"name": "last", "label": text("chr_last", lang), "field": "last", "align": "left"},
                {
                    "name": "pattern",
                    "label": text("chr_pattern", lang),
                    "field": "pattern",
                    "align": "left",
                },
            ]
            ui.table(columns=columns, rows=rows, row_key="id").classes("w-full").props(
                "flat dense wrap-cells data-testid=chr-violations"
            )
        notes = [*chart.get("warnings", [])]
        conv = chart.get("conventions") or {}
        with ui.expansion(text("chr_notes", lang)).classes("w-full text-sm"):
            for key in ("subgroups", "limits", "rules", "range", "time", "constants"):
                if conv.get(key):
                    ui.label(f"{text('chr_conv_' + key, lang)}: {conv[key]}").classes(
                        "text-xs text-gray-600"
                    )
            for w in notes:
                ui.label(f"⚠ {w}").classes("text-xs text-amber-900")


def _render_history(history: Sequence[Mapping[str, Any]], lang: Lang) -> None:
    ui.label(text("chr_history", lang)).classes("text-base mt-2")
    if not history:
        empty_state(text("chr_no_history", lang), testid="chr-no-history")
        return
    rows = []
    for h in history:
        ended = h.get("ended")
        state = text("chr_active", lang) if h.get("active") else text("chr_ended", lang)
        if ended:
            state += f" · {_who(ended.get('by'))} {_ts_text(ended.get('at'))}: {ended.get('reason') or ''}"
        rows.append(
            {
                "id": h["id"],
                "at": _ts_text(h.get("frozen_at")),
                "by": _who(h.get("frozen_by")),
                "chart": chart_name(str(h.get("chart")))[0 if lang == "zh" else 1],
                "center": fmt_num(h.get("center")),
                "sigma": fmt_num(h.get("sigma")),
                "reason": h.get("reason") or "",
                "state": state,
            }
        )
    columns = [
        {"name": k, "label": text(label, lang), "field": k, "align": "left"}
        for k, label in (
            ("at", "chr_frozen_at"),
            ("by", "chr_frozen_by"),
            ("chart", "chr_chart"),
            ("center", "chr_center"),
            ("sigma", "chr_sigma"),
            ("reason", "chr_reason"),
            ("state", "chr_state"),
        )
    ]
    ui.table(columns=columns, rows=rows, row_key="id").classes("w-full").props(
        "flat dense wrap-cells data-testid=chr-history"
    )


def _limits_card(
    ctx: PageContext, ref: str, q: Query, chart: Mapping[str, Any] | None
) -> ui.column:
    """The freeze / unfreeze forms (for those who may) and a box for the history."""
    lang = ctx.lang
    frozen = chart is not None and chart.get("frozen_limits") is not None
    with section(text("chr_limits", lang)):
        if not ctx.can("freeze_limits"):
            ui.label(text("chr_no_right_freeze", lang)).classes("text-sm text-gray-600")
        else:
            ui.label(text("chr_freeze_hint", lang)).classes("text-xs text-gray-600")
            with ui.row().classes("items-start gap-3 w-full flex-wrap"):
                reason = (
                    ui.textarea(text("chr_reason", lang))
                    .props("outlined autogrow dense data-testid=chr-freeze-reason")
                    .classes("flex-1 min-w-[18rem]")
                )
                freeze_btn = ui.button(text("chr_freeze", lang), icon="lock")
                freeze_btn.props("data-testid=chr-freeze")

            async def freeze() -> None:
                why = str(reason.value or "").strip()
                reason.error = None if why else text("chr_need_reason", lang)
                if not why:
                    return
                async with busy(freeze_btn):
                    try:
                        await ctx.call(_freeze, ref, q, why)
                    except ParameterError as exc:
                        reason.error = str(exc)
                        return
                    except Exception as exc:
                        notify_error(exc, lang)
                        return
                ui.notify(text("chr_frozen_ok", lang), type="positive")
                ui.navigate.to(Query(q.start, q.end, q.chart, q.rules, "auto").url(ref))

            freeze_btn.on_click(freeze)
            if frozen:
                with ui.row().classes("items-start gap-3 w-full flex-wrap"):
                    why_un = (
                        ui.input(text("chr_reason", lang))
                        .props("outlined dense data-testid=chr-unfreeze-reason")
                        .classes("flex-1 min-w-[18rem]")
                    )
                    un_btn = ui.button(text("chr_unfreeze", lang), icon="lock_open").props(
                        "outline data-testid=chr-unfreeze"
                    )

                async def unfreeze() -> None:
                    why = str(why_un.value or "").strip()
                    why_un.error = None if why else text("chr_need_reason", lang)
                    if not why:
                        return
                    async with busy(un_btn):
                        try:
                            await ctx.call(_unfreeze, ref, why)
                        except ParameterError as exc:
                            why_un.error = str(exc)
                            return
                        except Exception as exc:
                            notify_error(exc, lang)
                            return
                    ui.notify(text("chr_unfrozen_ok", lang), type="positive")
                    ui.navigate.reload()

                un_btn.on_click(unfreeze)
        box = ui.column().classes("w-full gap-2")
    return box


def _render_sixpack(cap: Mapping[str, Any], lang: Lang) -> None:
    six = cap["sixpack"]
    n_last = len(six["last"]["labels"])
    last_title = text(
        "chr_last25" if six["last"]["kind"] == "subgroups" else "chr_last_obs", lang
    ).format(n=n_last)
    with ui.row().classes("w-full gap-4 flex-wrap"):
        for title, option, testid in (
            (text("chr_histogram", lang), histogram_option(cap, lang), "chr-histogram"),
            (text("chr_probability", lang), probability_option(cap, lang), "chr-probability"),
            (last_title, last_option(cap, lang), "chr-last"),
        ):
            with ui.column().classes("flex-1 min-w-[20rem] gap-0"):
                ui.label(title).classes("text-sm text-gray-700")
                ui.echart(option).classes("w-full h-64").props(f"data-testid={testid}")
    norm = cap.get("normality") or {}
    if norm.get("statistic") is not None:
        ui.label(
            text("chr_ad", lang).format(
                a2=f"{float(norm['statistic']):.3f}",
                p="—" if norm.get("p_value") is None else f"{float(norm['p_value']):.4f}",
            )
        ).classes("text-sm").props("data-testid=chr-ad")
    with ui.row().classes("w-full gap-4 flex-wrap items-start"):
        ui.table(
            columns=[
                {
                    "name": "index",
                    "label": text("chr_index", lang),
                    "field": "index",
                    "align": "left",
                },
                {
                    "name": "value",
                    "label": text("chr_value", lang),
                    "field": "value",
                    "align": "right",
                },
                {"name": "ci", "label": text("chr_ci", lang), "field": "ci", "align": "right"},
            ],
            rows=index_rows(cap),
            row_key="id",
        ).props("flat dense data-testid=chr-indices").classes("min-w-[20rem]")
        with ui.column().classes("gap-1"):
            ui.label(text("chr_ppm", lang)).classes("text-sm")
            ui.table(
                columns=[
                    {"name": "kind", "label": "", "field": "kind", "align": "left"},
                    {
                        "name": "below",
                        "label": text("chr_below", lang),
                        "field": "below",
                        "align": "right",
                    },
                    {
                        "name": "above",
                        "label": text("chr_above", lang),
                        "field": "above",
                        "align": "right",
                    },
                    {
                        "name": "total",
                        "label": text("chr_total", lang),
                        "field": "total",
                        "align": "right",
                    },
                ],
                rows=_ppm_rows(cap, lang),
                row_key="id",
            ).props("flat dense data-testid=chr-ppm")
    method = sigma_method_name(str(cap.get("sigma_method")))[0 if lang == "zh" else 1]
    with ui.column().classes("gap-0 text-xs text-gray-600").props("data-testid=chr-conventions"):
        ui.label(
            text("chr_conv_within", lang).format(method=method, k=cap.get("n_subgroups") or "—")
        )
        ui.label(text("chr_conv_overall", lang).format(n=cap.get("n")))
        if cap.get("confidence"):
            ui.label(text("chr_conv_ci", lang).format(c=f"{float(cap['confidence']) * 100:g}"))
        for w in cap.get("warnings") or []:
            ui.label(f"⚠ {w}").classes("text-amber-900")


def _measurement_table(ctx: PageContext, ref: str, q: Query) -> None:
    lang = ctx.lang
    columns = [
        {"name": k, "label": text(label, lang), "field": k, "align": a}
        for k, label, a in (
            ("ts", "chr_ts", "left"),
            ("subgroup", "chr_subgroup", "right"),
            ("value", "chr_value", "right"),
            ("lot", "chr_lot", "left"),
            ("serial", "chr_serial", "left"),
            ("machine", "chr_machine", "left"),
            ("operator", "chr_operator", "left"),
        )
    ]
    with section(text("chr_measurements", lang)):
        with ui.row().classes("items-center gap-3 w-full flex-wrap"):
            summary = ui.label("").classes("text-sm text-gray-600").props("data-testid=chr-rows")
            ui.space()
            csv_btn = ui.button(text("chr_csv", lang), icon="download").props(
                "outline data-testid=chr-csv"
            )
        table = (
            ui.table(columns=columns, rows=[], row_key="key")
            .classes("w-full")
            .props("flat dense data-testid=chr-measurements")
        )
        pager = ui.pagination(1, 1, direction_links=True).props("max-pages=7 boundary-numbers")
        pager.props("data-testid=chr-pager")
        empty = ui.column().classes("w-full")

    async def show(page: int) -> None:
        try:
            total, rows = await ctx.call(_load_page, ref, q, page)
        except Exception as exc:
            empty.clear()
            with empty:
                show_error(exc, lang)
            return
        empty.clear()
        summary.text = text("chr_rows", lang).format(n=_count(total, lang))
        table.rows = [
            {
                **r,
                "key": f"{page}-{j}",
                "ts": _ts_text(r["ts"]),
                "value": fmt_num(r["value"]),
                "subgroup": "" if r["subgroup"] is None else r["subgroup"],
            }
            for j, r in enumerate(rows)
        ]
        table.update()
        pager.max = max(1, -(-total // PAGE_ROWS))
        if not total:
            with empty:
                empty_state(text("chr_no_measurements", lang), testid="chr-no-measurements")

    async def download() -> None:
        async with busy(csv_btn):
            try:
                code, data = await ctx.call(_load_csv, ref, q)
            except Exception as exc:
                notify_error(exc, lang)
                return
        span = "_".join(d.isoformat() for d in (q.start, q.end) if d)
        ui.download.content(data, f"{code}{'_' + span if span else ''}.csv", "text/csv")

    pager.on_value_change(lambda e: show(int(e.value)))
    csv_btn.on_click(download)
    ui.timer(0, lambda: show(1), once=True)


def _sixpack_loader(ctx: PageContext, ref: str, q: Query) -> None:
    """An expansion that computes and draws the sixpack the first time it is opened."""
    lang = ctx.lang
    loaded = False
    exp = ui.expansion(text("chr_sixpack_open", lang), icon="query_stats").classes("w-full")
    exp.props("data-testid=chr-sixpack-toggle")
    with exp:
        box = ui.column().classes("w-full gap-3").props("data-testid=chr-sixpack")

    async def load(e: Any) -> None:
        nonlocal loaded
        if not e.value or loaded:
            return
        loaded = True
        with box:
            ui.spinner(size="lg")
        try:
            cap = await ctx.call(_load_sixpack, ref, q)
        except Exception as exc:
            box.clear()
            with box:
                show_error(exc, lang)
            return
        box.clear()
        with box:
            _render_sixpack(cap, lang)

    exp.on_value_change(load)


def _not_found(lang: Lang) -> None:
    with ui.card().classes("w-full bg-amber-50").props("data-testid=chr-not-found"):
        ui.label(text("not_found", lang)).classes("text-amber-900 font-bold")
        ui.link(text("nav_characteristics", lang), "/characteristics")


def register(sessions: sessionmaker[Session]) -> None:
    """Add the page to the UI."""

    @ui.page("/characteristics/{ref}", title="特性详情 · zhuoyue", response_timeout=60)
    async def page(
        ref: str,
        start: str | None = None,
        end: str | None = None,
        chart: str | None = None,
        rules: str | None = None,
        phase: str | None = None,
    ) -> RedirectResponse | None:
        ctx = await open_page(sessions, "characteristics")
        if isinstance(ctx, RedirectResponse):
            return ctx
        lang = ctx.lang
        q = _query(start, end, chart, rules, phase)
        # the chart is computed while the browser loads the page frame (the two overlap)
        view = asyncio.ensure_future(ctx.read(_load_view, ref, q))
        with content():
            body = ui.column().classes("w-full gap-4")
            with body:
                ui.spinner(size="lg").props("data-testid=loading")
        try:
            await ui.context.client.connected(timeout=30)
        except TimeoutError:  # the browser went away
            view.cancel()
            return None
        body.clear()
        with body:
            try:
                info, data, problem = await view
            except NotFound:
                _not_found(lang)
                return None
            except Exception as exc:
                show_error(exc, lang)
                return None
            _header(info, lang)
            _controls(ref, q, lang)
            if problem is not None:
                if getattr(problem, "code", None) == "no_data":
                    empty_state(text("chr_no_chart_data", lang), testid="chr-no-chart-data")
                else:
                    show_error(problem, lang)
            chart_box = ui.column().classes("w-full gap-0")
            if data is not None:
                with chart_box:
                    _render_chart(data, lang)
            history_box = _limits_card(ctx, ref, q, data)
            with section(text("chr_sixpack", lang)):
                if info.get("lsl") is None and info.get("usl") is None:
                    empty_state(text("chr_no_spec", lang), testid="chr-no-spec")
                else:
                    _sixpack_loader(ctx, ref, q)
            _measurement_table(ctx, ref, q)

        async def fill_history() -> None:
            try:
                history = await ctx.call(_load_history, ref)
            except Exception as exc:
                with history_box:
                    show_error(exc, lang)
                return
            with history_box:
                _render_history(history, lang)

        ui.timer(0, fill_history, once=True)

        async def on_points(events: list[dict[str, Any]]) -> None:
            """New values of this characteristic arrived: chart the range again."""
            try:
                _, fresh, _ = await ctx.read(_load_view, ref, q)
            except Exception:
                return  # the chart on screen stays; the next points try again
            if fresh is None:
                return
            chart_box.clear()
            with chart_box:
                _render_chart(fresh, lang)

        if q.end is None:  # a range open at the end follows the stream (pushed, not polled)
            char_id = info["id"]
            await subscribe_live(
                ctx,
                on_points,
                wanted=lambda e: (
                    e.get("type") == "points" and e.get("characteristic_id") == char_id
                ),
                every=2.0,
            )
        return None
