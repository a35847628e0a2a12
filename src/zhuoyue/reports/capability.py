"""Process capability sixpack reports: self-contained HTML with inline SVG (no scripts, offline).

For each :class:`~zhuoyue.stats.capability.CapabilityResult` the report draws the six panels of
Minitab's Process Capability Sixpack from :meth:`CapabilityResult.sixpack` — the control chart
(Xbar-R, Xbar-S or I-MR with the house look of :func:`~zhuoyue.reports.svg.panel_svg`), the last
subgroups, the capability histogram with the within and overall normal curves, the normal
probability plot and the capability plot — and the numbers: indices with their confidence
intervals, expected and observed PPM, Z.bench, normality, stability, the non-normal method and
every warning. Cpk is placed in the five levels of the policy annex (经验级 … 卓越级); the
thresholds come from the excellence model file, not from this code.

Chinese comes first with English in smaller text (``lang="zh"``), or the other way round
(``lang="en"``). The page shares its CSS and layout with the control chart report
(``templates/_base.html.j2``) and prints on A4 landscape.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from markupsafe import Markup
from scipy import special

import zhuoyue
from zhuoyue.errors import ParameterError, ZhuoyueError
from zhuoyue.excellence import default_model
from zhuoyue.excellence.model import OP_SYMBOL, Indicator, Model
from zhuoyue.reports._text import (
    chart_name,
    check_lang,
    fmt_num,
    ordered,
    panel_formatter,
    panel_name,
    sigma_method_name,
)
from zhuoyue.reports.html import _bi, _environment
from zhuoyue.reports.svg import FONT_STACK, _e, _text, _text_width, _y_ticks, panel_svg
from zhuoyue.stats.capability import CapabilityResult
from zhuoyue.stats.results import ChartResult

__all__ = [
    "CapabilitySection",
    "cpk_band",
    "fmt_index",
    "fmt_ppm",
    "render_capability_report",
    "sixpack_svgs",
]

FloatArray = npt.NDArray[np.float64]
Fmt = Callable[[float | None], str]
Pair = dict[str, str]

#: size of the control chart panels (as in the chart report: 1:1 on a 1280 px screen)
_CHART_W, _CHART_H = 1120, 220
#: size of the four small plots (two per row)
_PLOT_W, _PLOT_H = 548, 300
#: markers drawn at most per small plot (points closer than 1 px share one)
_MAX_DOTS = 2000
#: control chart panels with more violation markers than this lose the markers' tooltips
_SLIM_MARKERS_ABOVE = 400

_AXIS = "#444444"
_GRID = "#e6e6e6"
_TITLE = "#222222"
_SEC = "#777777"
_POINT = "#1f4e79"
_WITHIN = "#1565c0"
_OVERALL = "#2b2b2b"
_SPEC = "#c62828"
_TARGET = "#2e7d32"
_BAR_FILL = "#dbe6f1"
_BAR_STROKE = "#7f9fbf"
_MEAN = "#2e7d32"

#: white outline behind text drawn over lines
_HALO = 'stroke="#ffffff" stroke-width="3" paint-order="stroke"'
#: left edge of the titles of the small plots (their plot areas start here or further right)
_TITLE_X = 56.0

#: the percent ticks of the normal probability plot
_PERCENT_TICKS = (0.1, 1.0, 5.0, 10.0, 20.0, 50.0, 80.0, 90.0, 95.0, 99.0, 99.9)
#: further out, shown only when the plot reaches them (large samples)
_PERCENT_TAILS = (0.001, 0.01, 99.99, 99.999)
#: which percent ticks give way first when the axis is crowded (higher: dropped first)
_TICK_RANK = {
    1.0: 1, 99.0: 1, 10.0: 2, 90.0: 2, 0.1: 3, 99.9: 3, 0.01: 4, 99.99: 4,
    0.001: 5, 99.999: 5, 5.0: 6, 95.0: 6, 20.0: 7, 80.0: 7,
}  # fmt: skip

_OVERALL_METHODS: dict[str, tuple[str, str]] = {
    "sd": ("样本标准差 S（N−1）", "sample standard deviation S (N−1)"),
    "sd/c4": ("样本标准差 S/c4(N)", "sample standard deviation S/c4(N)"),
}
_CPM_METHODS: dict[str, tuple[str, str]] = {
    "minitab": (
        "Minitab：用全部数据对目标值的均方根",
        "Minitab: root mean square deviation of all values from the target",
    ),
    "qcc": ("qcc：Cp / √(1 + ((x̄ − T)/σ组内)²)", "qcc: Cp / √(1 + ((x̄ − T)/σ within)²)"),
}
_NONNORMAL_NAMES: dict[str, tuple[str, str]] = {
    "boxcox": ("Box-Cox 变换", "Box-Cox transformation"),
    "johnson": ("Johnson 变换", "Johnson transformation"),
    "lognormal": ("对数正态分布", "lognormal distribution"),
    "weibull": ("威布尔分布", "Weibull distribution"),
    "gamma": ("伽马分布", "gamma distribution"),
    "normal": ("正态分布（未变换）", "normal distribution (no transformation)"),
    "auto": ("自动选择", "automatic choice"),
}
_DETAIL_NAMES: dict[str, tuple[str, str]] = {
    "lambda": ("λ", "λ"),
    "lambda_mle": ("λ 极大似然估计", "λ (maximum likelihood)"),
    "lambda_source": ("λ 来源", "λ source"),
    "family": ("Johnson 族", "Johnson family"),
    "transformation": ("变换", "transformation"),
    "transformed_lsl": ("变换后规格下限", "transformed LSL"),
    "transformed_usl": ("变换后规格上限", "transformed USL"),
    "transformed_target": ("变换后目标", "transformed target"),
    "transformed_mean": ("变换后均值", "transformed mean"),
    "transformed_sd": ("变换后标准差", "transformed SD"),
    "shape": ("形状参数", "shape"),
    "scale": ("尺度参数", "scale"),
    "threshold": ("阈值（位置）", "threshold"),
    "index_method": ("指数计算方法", "index method"),
    "ad_statistic": ("拟合优度 A²", "goodness of fit A²"),
    "ad_pvalue": ("拟合优度 p 值", "goodness of fit p"),
    "pvalue_method": ("p 值方法", "p-value method"),
    "ppm_observed": ("实测 PPM", "observed PPM"),
    "mu": ("μ（ln x 的均值）", "μ (mean of ln x)"),
    "sigma": ("σ（ln x 的标准差）", "σ (SD of ln x)"),
    "x_0_135": ("0.135% 分位数", "0.135th percentile"),
    "x_50": ("中位数（50% 分位数）", "median (50th percentile)"),
    "x_99_865": ("99.865% 分位数", "99.865th percentile"),
    "gamma": ("γ", "γ"),
    "eta": ("η", "η"),
    "epsilon": ("ε", "ε"),
    "selection": ("选择规则", "selection"),
}


@dataclass(frozen=True, slots=True)
class CapabilitySection:
    """One characteristic in a capability report.

    Attributes
    ----------
    title : str
        Heading of the section, e.g. ``"活塞环外径 Piston ring diameter"``.
    result : CapabilityResult
        The capability study to show (from :func:`zhuoyue.stats.capability`).
    source : str
        Where the data came from, e.g. ``"rings.csv: diameter"``.
    description : str
        A paragraph under the heading (line breaks are kept).
    """

    title: str
    result: CapabilityResult
    source: str = ""
    description: str = ""


# --------------------------------------------------------------------------- number formats


def fmt_index(value: float | None) -> str:
    """A capability index with 3 decimals (``"1.646"``); ``"—"`` when undefined.

    Three decimals keep the policy's thresholds readable: a Cpk of 1.666 is below 1.67 and
    must not print as ``"1.67"``.

    >>> fmt_index(1.64597), fmt_index(None), fmt_index(-0.0001)
    ('1.646', '—', '0.000')
    """
    if value is None or not math.isfinite(float(value)):
        return "—"
    text = f"{float(value):.3f}"
    return text[1:] if text.startswith("-") and float(text) == 0.0 else text


def _fmt_ci(ci: Sequence[float] | None) -> str:
    if ci is None:
        return "—"
    return f"{fmt_index(ci[0])} – {fmt_index(ci[1])}"


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def fmt_ppm(value: float | None) -> str:
    """Parts per million for people: thousands separators, decimals only where they matter.

    >>> [fmt_ppm(v) for v in (323977.06, 6210.4, 66.81, 0.5113, 0.001973, 1.2e-9, 0.0, None)]
    ['323,977', '6,210', '66.81', '0.511', '0.00197', '1.2×10⁻⁹', '0', '—']
    """
    if value is None or not math.isfinite(float(value)):
        return "—"
    v = float(value)
    if v == 0.0:
        return "0"
    if abs(v) >= 100.0:
        return f"{v:,.0f}"
    if abs(v) >= 1.0:
        return f"{v:.2f}"
    if abs(v) >= 1e-3:
        return f"{v:.3g}"
    mantissa, exponent = f"{v:.1e}".split("e")
    return f"{mantissa}×10{str(int(exponent)).translate(_SUPERSCRIPT)}"


def _fmt_p(p: float | None) -> str:
    if p is None or not math.isfinite(float(p)):
        return "—"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _p_text(p: float | None, name: str = "p") -> str:
    """``"p = 0.896"`` or ``"p < 0.001"``."""
    text = _fmt_p(p)
    return f"{name} {text}" if text.startswith("<") else f"{name} = {text}"


def _fmt_z(z: float | None) -> str:
    if z is None or not math.isfinite(float(z)):
        return "—"
    return f"{float(z):.2f}"


def _fmt_detail(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "是 yes" if value else "否 no"
    if isinstance(value, int | float | np.integer | np.floating):
        return fmt_num(float(value))
    if isinstance(value, Mapping):
        return "; ".join(f"{k} = {_fmt_detail(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_fmt_detail(v) for v in value)
    return str(value)


# --------------------------------------------------------------------------- policy bands


@dataclass(frozen=True, slots=True)
class _Band:
    level: int
    name_zh: str
    name_en: str
    lower: float | None  # threshold of this level (None for level 1)
    op: str


def _cpk_model() -> tuple[Model, Indicator] | None:
    model = default_model()
    try:
        return model, model.indicator("cpk")
    except KeyError:
        return None


def _bands() -> list[_Band]:
    found = _cpk_model()
    if found is None:
        return []
    model, ind = found
    out = [_Band(1, model.level_name(1, "zh"), model.level_name(1, "en"), None, "")]
    for t in sorted(ind.thresholds, key=lambda t: t.level):
        value = None if t.value is None else float(t.value)
        out.append(
            _Band(
                t.level,
                model.level_name(t.level, "zh"),
                model.level_name(t.level, "en"),
                value,
                t.op,
            )
        )
    return out


def cpk_band(cpk: float | None) -> tuple[int, str, str] | None:
    """The policy level band a Cpk falls in: ``(level, name_zh, name_en)``.

    The thresholds are those of the capability index in the annex of the policy (工信部联科
    〔2023〕249号), read from the built-in excellence model: < 1.00 经验级, ≥ 1.00 检验级,
    ≥ 1.33 保证级, ≥ 1.67 预防级, ≥ 2.00 卓越级. ``None`` when Cpk is undefined (a non-normal
    method gives only Ppk) or the model has no Cpk indicator.

    >>> cpk_band(0.2975), cpk_band(1.646), cpk_band(None)
    ((1, '经验级', 'Experience'), (3, '保证级', 'Assurance'), None)
    """
    found = _cpk_model()
    if found is None or cpk is None or not math.isfinite(float(cpk)):
        return None
    model, ind = found
    level = ind.reached_level(float(cpk), model.rel_tol)
    return level, model.level_name(level, "zh"), model.level_name(level, "en")


def _band_context(cpk: float | None, in_control: bool | None, lang: str) -> dict[str, Any]:
    bands = _bands()
    band = cpk_band(cpk)
    segments = []
    for k, b in enumerate(bands):
        if b.lower is None:
            nxt = bands[k + 1].lower if k + 1 < len(bands) else None
            rng = "—" if nxt is None else f"< {nxt:.2f}"
        else:
            rng = f"{OP_SYMBOL.get(b.op, b.op)} {b.lower:.2f}"
        segments.append(
            {
                "level": b.level,
                "name": _bi(b.name_zh, b.name_en, lang),
                "range": rng,
                "active": band is not None and band[0] == b.level,
            }
        )
    marker = None
    if band is not None and cpk is not None and bands:
        # the marker sits inside its band, linearly between the band's thresholds
        k = next(i for i, b in enumerate(bands) if b.level == band[0])
        lower = bands[k].lower
        lo = 0.0 if lower is None else lower
        upper = bands[k + 1].lower if k + 1 < len(bands) else None
        hi = lo + 0.67 if upper is None else upper
        frac = min(max((float(cpk) - lo) / (hi - lo), 0.0), 1.0) if hi > lo else 0.5
        marker = round(min(max(100.0 * (k + 0.06 + 0.88 * frac) / len(bands), 7.0), 93.0), 2)
    return {
        "known": band is not None,
        "level": band[0] if band else None,
        "name": _bi(band[1], band[2], lang) if band else _bi("未计算", "not computed", lang),
        "segments": segments,
        "marker": marker,
        "value": fmt_index(cpk),
        "provisional": band is not None and in_control is False,
    }


# --------------------------------------------------------------------------- warnings


_CHART_ZH = {"Xbar": "Xbar 图", "R": "R 图", "S": "S 图", "I": "单值 I 图", "MR": "移动极差 MR 图"}


def _tests_zh(parts: str) -> str:
    out = []
    for nums, chart in re.findall(r"tests? ([\d, ]+?) fires? on the (\w+) chart", parts):
        out.append(f"{_CHART_ZH.get(chart, chart + ' 图')}触发检验 {nums.strip()}")
    return "；".join(out) if out else parts


_WARNINGS_ZH: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (
        re.compile(r"the process is not in control \((.*)\): capability of an unstable process"),
        lambda m: f"过程不受控（{_tests_zh(m.group(1))}）：不稳定过程的能力指数不能预测未来表现",
    ),
    (
        re.compile(
            r"the data do not look normal \(Anderson-Darling A² = (\S+), p = (\S+) < (\S+)\)"
        ),
        lambda m: (
            f"数据不像正态分布（Anderson-Darling A² = {m.group(1)}，p = {m.group(2)} < "
            f"{m.group(3)}）：预期 PPM 与能力指数假定正态分布；可改用非正态方法 method='auto'"
            "（或 boxcox、johnson、lognormal、weibull、gamma）"
        ),
    ),
    (
        re.compile(r"only (\d+) values: at least (\d+) are recommended"),
        lambda m: (
            f"仅 {m.group(1)} 个数据：能力研究建议至少 {m.group(2)} 个；指数不够精确（见置信区间）"
        ),
    ),
    (
        re.compile(r"only (\d+) subgroups: (\d+) or more are recommended"),
        lambda m: f"仅 {m.group(1)} 个子组：建议 {m.group(2)} 个或更多（AIAG SPC 手册）",
    ),
    (
        re.compile(r"σ within \((\S+)\) is much smaller than σ overall \((\S+), ratio (\S+)\)"),
        lambda m: (
            f"组内 σ（{m.group(1)}）远小于整体 σ（{m.group(2)}，比值 {m.group(3)}）：过程在子组"
            "之间漂移，Cp/Cpk 高估了实际交付的能力，Pp/Ppk 才反映实际"
        ),
    ),
    (
        re.compile(r"the last subgroup has (\d+) values, fewer than the subgroup size (\d+)"),
        lambda m: f"最后一个子组只有 {m.group(1)} 个值，少于子组大小 {m.group(2)}",
    ),
    (
        re.compile(r"the target (\S+) lies outside the specification limits"),
        lambda m: f"目标值 {m.group(1)} 在规格限之外",
    ),
    (
        re.compile(r"the stability check could not run: (.*)"),
        lambda m: f"稳定性检查无法运行：{m.group(1)}",
    ),
]


def _warning(text: str, lang: str) -> Pair:
    """A warning of the statistics layer (English) with its Chinese wording when known."""
    for pattern, zh in _WARNINGS_ZH:
        m = pattern.match(text)
        if m:
            return _bi(zh(m), text, lang)
    return {"pri": text, "sec": ""}


# --------------------------------------------------------------------------- SVG primitives


def _polyline(x: FloatArray, y: FloatArray) -> str:
    """``d`` of a polyline through finite points (gaps start a new subpath)."""
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return ""
    prev = np.r_[False, ok[:-1]]
    cmd = np.where(prev, "L", "M")[ok]
    xs = np.char.mod("%.1f", x[ok])
    ys = np.char.mod("%.1f", y[ok])
    return "".join(np.char.add(np.char.add(np.char.add(cmd, xs), " "), ys).tolist())


def _dots(x: FloatArray, y: FloatArray, r: float, attrs: str) -> str:
    """Circles at (x, y); points within the same 1 px cell are drawn once."""
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if x.size == 0:
        return ""
    cell = np.round(x).astype(np.int64) * 100_000 + np.round(y).astype(np.int64)
    _, first = np.unique(cell, return_index=True)
    first = np.sort(first)[:_MAX_DOTS]
    xs = np.char.mod("%.1f", x[first])
    ys = np.char.mod("%.1f", y[first])
    parts = np.char.add(
        np.char.add(np.char.add(np.char.add('<circle cx="', xs), '" cy="'), ys), f'" r="{r:g}"/>'
    )
    return f"<g {attrs}>{''.join(parts.tolist())}</g>"


def _tick_labels(ticks: FloatArray, decimals: int) -> list[str]:
    labels = [f"{t:.{decimals}f}" for t in ticks.tolist()]
    return [s[1:] if s.startswith("-") and float(s) == 0.0 else s for s in labels]


class _Plot:
    """A rectangular plot area with linear x and y scales, drawn into a list of SVG strings."""

    def __init__(
        self,
        width: int,
        height: int,
        margins: tuple[float, float, float, float],
        xlim: tuple[float, float],
        ylim: tuple[float, float],
    ) -> None:
        left, right, top, bottom = margins
        self.width, self.height = width, height
        self.left, self.top = left, top
        self.right = width - right
        self.bottom = height - bottom
        self.x0, self.x1 = xlim
        self.y0, self.y1 = ylim
        if not self.x1 > self.x0:
            self.x0, self.x1 = self.x0 - 0.5, self.x0 + 0.5
        if not self.y1 > self.y0:
            self.y0, self.y1 = self.y0 - 0.5, self.y0 + 0.5
        self.out: list[str] = []

    def x(self, v: npt.ArrayLike) -> FloatArray:
        a = np.asarray(v, dtype=np.float64)
        return self.left + (a - self.x0) * ((self.right - self.left) / (self.x1 - self.x0))

    def y(self, v: npt.ArrayLike) -> FloatArray:
        a = np.asarray(v, dtype=np.float64)
        return self.bottom - (a - self.y0) * ((self.bottom - self.top) / (self.y1 - self.y0))

    def fx(self, v: float) -> float:
        return float(self.x(v))

    def fy(self, v: float) -> float:
        return float(self.y(v))

    def open(self, kind: str, title: tuple[str, str], lang: str) -> None:
        pri, sec = ordered(*title, lang)
        w, h = self.width, self.height
        self.out += [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
            f'viewBox="0 0 {w} {h}" role="img" font-family="{FONT_STACK}" font-size="11" '
            f'class="zy-chart zy-capability" data-plot="{kind}">',
            f"<title>{_e(pri)} ({_e(sec)})</title>",
            f'<rect x="0" y="0" width="{w}" height="{h}" fill="#ffffff"/>',
            f'<text x="{_TITLE_X:.1f}" y="18" fill="{_TITLE}"><tspan font-size="13" '
            f'font-weight="bold">{_e(pri)}</tspan><tspan dx="6" fill="{_SEC}">{_e(sec)}</tspan>'
            "</text>",
        ]

    def frame(self) -> None:
        self.out.append(
            f'<rect x="{self.left:.1f}" y="{self.top:.1f}" width="{self.right - self.left:.1f}" '
            f'height="{self.bottom - self.top:.1f}" fill="none" stroke="{_AXIS}" stroke-width="1"/>'
        )

    def x_axis(self, target: int | None = None, grid: bool = False) -> None:
        """Nice numeric ticks and labels under the plot area."""
        n = target or max(3, int((self.right - self.left) // 85))
        ticks, decimals = _y_ticks(self.x0, self.x1, n)
        xs = self.x(ticks)
        if grid:
            d = "".join(f"M{x:.1f} {self.top:.1f}V{self.bottom:.1f}" for x in xs.tolist())
            self.out.append(f'<path d="{d}" stroke="{_GRID}" fill="none"/>')
        marks = "".join(f"M{x:.1f} {self.bottom:.1f}v4" for x in xs.tolist())
        self.out.append(f'<path d="{marks}" stroke="{_AXIS}" fill="none"/>')
        self.out.append(f'<g fill="{_AXIS}" text-anchor="middle">')
        for x, s in zip(xs.tolist(), _tick_labels(ticks, decimals), strict=True):
            self.out.append(_text(x, self.bottom + 16, s))
        self.out.append("</g>")

    def y_axis(self, ticks: FloatArray, labels: list[str], grid: bool = True) -> None:
        ys = self.y(ticks)
        if grid:
            d = "".join(f"M{self.left:.1f} {y:.1f}H{self.right:.1f}" for y in ys.tolist())
            self.out.append(f'<path d="{d}" stroke="{_GRID}" fill="none"/>')
        self.out.append(f'<g fill="{_AXIS}" text-anchor="end">')
        for y, s in zip(ys.tolist(), labels, strict=True):
            self.out.append(_text(self.left - 6, y + 4, s))
        self.out.append("</g>")

    def axis_title(self, pair: tuple[str, str], lang: str) -> None:
        pri, sec = ordered(*pair, lang)
        self.out.append(
            _text(
                (self.left + self.right) / 2,
                self.height - 5,
                f"{pri} {sec}",
                f'text-anchor="middle" fill="{_AXIS}"',
            )
        )

    def legend(self, items: list[tuple[str, str, str]], y: float = 18.0) -> None:
        """Right-aligned legend in the title row: (label, colour, dasharray or "")."""
        x = float(self.width) - 8.0
        for label, color, dash in reversed(items):
            self.out.append(_text(x, y, label, f'text-anchor="end" fill="{_AXIS}"'))
            x -= _text_width(label) + 6.0
            dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
            self.out.append(
                f'<path d="M{x - 22:.1f} {y - 4:.1f}h22" stroke="{color}" stroke-width="2"'
                f'{dash_attr} fill="none"/>'
            )
            x -= 34.0

    def close(self) -> str:
        self.out.append("</svg>")
        return "".join(s for s in self.out if s)


def _span(values: Sequence[float | None]) -> tuple[float, float]:
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not finite:
        return 0.0, 1.0
    lo, hi = min(finite), max(finite)
    if hi <= lo:
        d = abs(lo) * 0.01 or 1.0
        return lo - d, hi + d
    return lo, hi


def _padded(lo: float, hi: float, frac: float) -> tuple[float, float]:
    d = (hi - lo) * frac
    return lo - d, hi + d


def _place_labels(
    items: list[tuple[float, str, str, str]], rows: list[float], width: float
) -> list[str]:
    """Labels centred over x positions, each in the first row where it overlaps nothing.

    ``items`` are (x, text, colour, css class); a thin tick joins a label to its x.
    """
    placed: list[list[tuple[float, float]]] = [[] for _ in rows]
    out = []
    for x, text, color, cls in sorted(items, key=lambda t: t[0]):
        w = _text_width(text)
        cx = min(max(x, 2.0 + w / 2), width - 2.0 - w / 2)
        lo, hi = cx - w / 2 - 4, cx + w / 2 + 4
        row = next(
            (k for k, spans in enumerate(placed) if all(hi <= a or lo >= b for a, b in spans)),
            None,
        )
        if row is None:  # crowded: the row with the least overlap
            row = min(
                range(len(rows)),
                key=lambda k: sum(max(0.0, min(hi, b) - max(lo, a)) for a, b in placed[k]),
            )
        placed[row].append((lo, hi))
        out.append(
            f'<text class="{cls}" x="{cx:.1f}" y="{rows[row]:.1f}" text-anchor="middle" '
            f'fill="{color}">{_e(text)}</text>'
        )
    return out


# --------------------------------------------------------------------------- the six panels


def _last_svg(last: Mapping[str, Any], mean: float, fmt: Fmt, lang: str) -> str:
    """Last subgroups (values as dots per subgroup, means joined) or last observations."""
    labels = [str(v) for v in last.get("labels", [])]
    subgroups = last.get("kind") == "subgroups"
    if subgroups:
        groups = [np.asarray(g, dtype=np.float64) for g in last.get("values", [])]
    else:
        groups = [np.asarray([v], dtype=np.float64) for v in last.get("values", [])]
    k = len(groups)
    allv = np.concatenate(groups) if groups else np.empty(0)
    lo, hi = _span([*allv[np.isfinite(allv)].tolist(), mean])
    title = (
        (f"最后 {k} 个子组", f"Last {k} subgroups")
        if subgroups
        else (f"最后 {k} 个观测值", f"Last {k} observations")
    )
    pl = _Plot(_PLOT_W, _PLOT_H, (_TITLE_X, 14, 34, 36), (0.5, k + 0.5), _padded(lo, hi, 0.08))
    pl.open("last", title, lang)
    ticks, decimals = _y_ticks(pl.y0, pl.y1, 6)
    pl.y_axis(ticks, _tick_labels(ticks, decimals))
    ym = pl.fy(mean)
    pl.out.append(
        f'<path class="mean" d="M{pl.left:.1f} {ym:.1f}H{pl.right:.1f}" stroke="{_MEAN}" '
        'stroke-width="1.2" stroke-dasharray="6 3" fill="none"/>'
    )
    means = np.array([float(np.mean(g)) if g.size else np.nan for g in groups])
    pos = np.arange(1, k + 1, dtype=np.float64)
    if k:
        pl.out.append(
            f'<path class="means" d="{_polyline(pl.x(pos), pl.y(means))}" fill="none" '
            f'stroke="{_POINT}" stroke-width="1" stroke-opacity="{0.55 if subgroups else 1}"/>'
        )
    sizes = np.array([g.size for g in groups], dtype=np.int64)
    if int(sizes.sum()) <= _MAX_DOTS:
        xs = np.repeat(pos, sizes)
        pl.out.append(
            _dots(pl.x(xs), pl.y(allv), 2.6, f'class="values" fill="{_POINT}" fill-opacity="0.8"')
        )
    else:  # very large subgroups: the range of each subgroup and its mean
        mins = np.array([float(g.min()) if g.size else np.nan for g in groups])
        maxs = np.array([float(g.max()) if g.size else np.nan for g in groups])
        d = "".join(
            f"M{x:.1f} {a:.1f}V{b:.1f}"
            for x, a, b in zip(
                pl.x(pos).tolist(), pl.y(mins).tolist(), pl.y(maxs).tolist(), strict=True
            )
            if math.isfinite(a) and math.isfinite(b)
        )
        pl.out.append(
            f'<path class="ranges" d="{d}" stroke="{_POINT}" stroke-width="3" fill="none"/>'
        )
        pl.out.append(_dots(pl.x(pos), pl.y(means), 3.0, f'class="values" fill="{_POINT}"'))
    pl.legend([(" ".join(ordered("均值", "Mean", lang)) + f" {fmt(mean)}", _MEAN, "6 3")])
    pl.frame()
    # x labels: every step-th so that they do not collide
    if k:
        spacing = (pl.right - pl.left) / k
        short = [s if len(s) <= 10 else s[:9] + "…" for s in labels]
        widest = max((_text_width(s) for s in short), default=0.0)
        step = max(1, math.ceil((widest + 8) / spacing))
        idx = list(range(0, k, step))
        xs_l = pl.x(pos[idx]).tolist()
        marks = "".join(f"M{x:.1f} {pl.bottom:.1f}v4" for x in xs_l)
        pl.out.append(f'<path d="{marks}" stroke="{_AXIS}" fill="none"/>')
        pl.out.append(f'<g fill="{_AXIS}" text-anchor="middle">')
        pl.out.extend(_text(x, pl.bottom + 16, short[i]) for x, i in zip(xs_l, idx, strict=True))
        pl.out.append("</g>")
    pl.axis_title(("子组", "Subgroup") if subgroups else ("观测值", "Observation"), lang)
    return pl.close()


def _histogram_svg(h: Mapping[str, Any], fmt: Fmt, lang: str) -> str:
    """Capability histogram: bars, LSL/USL/target lines, within and overall normal curves."""
    edges = np.asarray(h["edges"], dtype=np.float64)
    counts = np.asarray(h["counts"], dtype=np.float64)
    grid = np.asarray(h["grid"], dtype=np.float64)
    scale = float(h["scale"])
    d_w = np.asarray(h["density_within"], dtype=np.float64) * scale
    d_o = np.asarray(h["density_overall"], dtype=np.float64) * scale
    specs = [(h.get("lsl"), "lsl"), (h.get("usl"), "usl"), (h.get("target"), "target")]
    lo, hi = _span([*edges.tolist(), *grid.tolist(), *(v for v, _ in specs)])
    top = max(float(counts.max(initial=0.0)), float(np.nanmax(d_w)), float(np.nanmax(d_o)), 1.0)
    pl = _Plot(_PLOT_W, _PLOT_H, (_TITLE_X, 14, 62, 36), _padded(lo, hi, 0.03), (0.0, top * 1.06))
    pl.open("histogram", ("能力直方图", "Capability histogram"), lang)
    ticks, decimals = _y_ticks(0.0, pl.y1, 5)
    if decimals > 0:  # counts are whole numbers
        ticks = np.unique(np.floor(ticks))
        decimals = 0
    pl.y_axis(ticks, _tick_labels(ticks, decimals))
    x0 = pl.x(edges[:-1])
    x1 = pl.x(edges[1:])
    y = pl.y(counts)
    bars = [
        f'<rect class="bar" x="{a:.1f}" y="{b:.1f}" width="{max(w, 0.0):.1f}" height="{c:.1f}"/>'
        for a, b, w, c in zip(
            x0.tolist(), y.tolist(), (x1 - x0).tolist(), (pl.bottom - y).tolist(), strict=True
        )
    ]
    pl.out.append(
        f'<g class="bars" fill="{_BAR_FILL}" stroke="{_BAR_STROKE}" stroke-width="0.8">'
        + "".join(bars)
        + "</g>"
    )
    gx = pl.x(grid)
    pl.out.append(
        f'<path class="density-overall" d="{_polyline(gx, pl.y(d_o))}" fill="none" '
        f'stroke="{_OVERALL}" stroke-width="1.6" stroke-dasharray="6 4"/>'
    )
    pl.out.append(
        f'<path class="density-within" d="{_polyline(gx, pl.y(d_w))}" fill="none" '
        f'stroke="{_WITHIN}" stroke-width="1.8"/>'
    )
    names = {
        "lsl": ("规格下限", "LSL"),
        "usl": ("规格上限", "USL"),
        "target": ("目标", "Target"),
    }
    labels: list[tuple[float, str, str, str]] = []
    for value, key in specs:
        if value is None:
            continue
        xv = pl.fx(float(value))
        color = _TARGET if key == "target" else _SPEC
        dash = "2 3" if key == "target" else "7 3"
        zh, en = names[key]
        text = " ".join(ordered(zh, en, lang)) + f" {fmt_num(float(value))}"
        pl.out.append(
            f'<path class="spec" data-spec="{key}" d="M{xv:.1f} {pl.top - 8:.1f}V{pl.bottom:.1f}" '
            f'stroke="{color}" stroke-width="1.6" stroke-dasharray="{dash}" fill="none">'
            f"<title>{_e(text)}</title></path>"
        )
        labels.append((xv, text, color, f"spec-label {key}"))
    pl.out.extend(_place_labels(labels, [pl.top - 28, pl.top - 12], float(pl.width)))
    pl.frame()
    pl.x_axis()
    pl.legend(
        [
            (" ".join(ordered("组内", "Within", lang)), _WITHIN, ""),
            (" ".join(ordered("整体", "Overall", lang)), _OVERALL, "6 4"),
        ]
    )
    pl.axis_title(("测量值", "Value"), lang)
    return pl.close()


def _percent_ticks(pl: _Plot, z0: float, z1: float) -> list[float]:
    """The percent ticks inside [z0, z1], at least 12 px apart (the middle ones first)."""
    ticks = [p for p in (*_PERCENT_TICKS, *_PERCENT_TAILS) if z0 <= special.ndtri(p / 100) <= z1]
    kept: list[tuple[float, float]] = []
    for p in sorted(ticks, key=lambda p: (abs(p - 50.0) > 0, _TICK_RANK.get(p, 9))):
        y = pl.fy(float(special.ndtri(p / 100.0)))
        if all(abs(y - yk) >= 12.0 for _, yk in kept):
            kept.append((p, y))
    return sorted(p for p, _ in kept)


def _probability_svg(p: Mapping[str, Any], n: int, lang: str) -> str:
    """Normal probability plot: ordered values against normal quantiles, the fitted line."""
    values = np.asarray(p["values"], dtype=np.float64)
    q = np.asarray(p["quantiles"], dtype=np.float64)
    line = p["line"]
    lq = np.asarray(line["quantiles"], dtype=np.float64)
    lv = np.asarray(line["values"], dtype=np.float64)
    slope = float((lv[-1] - lv[0]) / (lq[-1] - lq[0]))
    icpt = float(lv[0] - slope * lq[0])
    qf = q[np.isfinite(q)]
    z0 = min(-3.25, float(qf.min()) - 0.15) if qf.size else -3.25
    z1 = max(3.25, float(qf.max()) + 0.15) if qf.size else 3.25
    lo, hi = _span([*values.tolist(), icpt + slope * z0, icpt + slope * z1])
    pl = _Plot(_PLOT_W, _PLOT_H, (_TITLE_X, 14, 34, 36), _padded(lo, hi, 0.03), (z0, z1))
    pl.open("probability", ("正态概率图", "Normal probability plot"), lang)
    pct = _percent_ticks(pl, z0, z1)
    zt = special.ndtri(np.array(pct) / 100.0)
    pl.y_axis(np.asarray(zt, dtype=np.float64), [f"{v:g}" for v in pct])
    pl.x_axis(grid=True)
    pl.out.append(
        f'<path class="fit" d="M{pl.fx(icpt + slope * z0):.1f} {pl.fy(z0):.1f}'
        f'L{pl.fx(icpt + slope * z1):.1f} {pl.fy(z1):.1f}" stroke="{_SPEC}" stroke-width="1.4" '
        'fill="none"/>'
    )
    pl.out.append(
        _dots(pl.x(values), pl.y(q), 2.2, f'class="points" fill="{_POINT}" fill-opacity="0.75"')
    )
    norm = p.get("normality") or {}
    stat, pval = norm.get("statistic"), norm.get("p_value")
    if stat is not None:
        lines = [f"N = {n:,}", f"AD (A²) = {float(stat):.3f}", _p_text(pval, "P")]
    else:
        lines = [f"N = {n:,}", " ".join(ordered("未做正态性检验", "normality not tested", lang))]
    for k, s in enumerate(lines):
        pl.out.append(_text(pl.left + 8, pl.top + 16 + 15 * k, s, f'fill="{_TITLE}" {_HALO}'))
    pl.frame()
    yc = (pl.top + pl.bottom) / 2
    pl.out.append(
        _text(
            14,
            yc,
            " ".join(ordered("百分比", "Percent", lang)),
            f'text-anchor="middle" fill="{_AXIS}" transform="rotate(-90 14 {yc:.1f})"',
        )
    )
    pl.legend([(" ".join(ordered("正态拟合", "normal fit", lang)), _SPEC, "")])
    pl.axis_title(("测量值", "Value"), lang)
    return pl.close()


def _capability_plot_svg(res: CapabilityResult, c: Mapping[str, Any], fmt: Fmt, lang: str) -> str:
    """Within and overall ±3σ intervals against the specification interval."""
    within = [float(v) for v in c["within"]]
    overall = [float(v) for v in c["overall"]]
    lsl, usl = c["specs"]
    target = c.get("target")
    lo, hi = _span([*within, *overall, lsl, usl, target, res.mean])
    pl = _Plot(_PLOT_W, _PLOT_H, (104, 18, 34, 104), _padded(lo, hi, 0.08), (0.0, 3.0))
    pl.open("capability", ("能力图", "Capability plot"), lang)
    pl.x_axis(grid=True)
    rows = [
        (("组内", "Within"), within, _WITHIN, "within"),
        (("整体", "Overall"), overall, _OVERALL, "overall"),
    ]
    # spec lines through every row
    for value, key in ((lsl, "lsl"), (usl, "usl")):
        if value is None:
            continue
        xv = pl.fx(float(value))
        pl.out.append(
            f'<path class="spec" data-spec="{key}" d="M{xv:.1f} {pl.top:.1f}V{pl.bottom:.1f}" '
            f'stroke="{_SPEC}" stroke-width="1.2" stroke-dasharray="7 3" fill="none"/>'
        )
    for k, (name, (a, b), color, cls) in enumerate(rows):
        yy = pl.fy(2.5 - k)
        xa, xb, xm = pl.fx(a), pl.fx(b), pl.fx(res.mean)
        pl.out.append(
            f'<g class="interval {cls}" stroke="{color}" fill="none">'
            f'<path d="M{xa:.1f} {yy:.1f}H{xb:.1f}" stroke-width="3"/>'
            f'<path d="M{xa:.1f} {yy - 8:.1f}v16M{xb:.1f} {yy - 8:.1f}v16" stroke-width="2"/>'
            f'<path d="M{xm:.1f} {yy - 6:.1f}l5 6l-5 6l-5 -6Z" fill="{color}" stroke-width="1"/>'
            "</g>"
        )
        pri, sec = ordered(*name, lang)
        pl.out.append(
            f'<text x="{pl.left - 8:.1f}" y="{yy + 4:.1f}" text-anchor="end" fill="{color}">'
            f'<tspan font-weight="bold">{_e(pri)}</tspan> <tspan fill="{_SEC}" font-size="10">'
            f"{_e(sec)}</tspan></text>"
        )
        attrs = f'text-anchor="middle" fill="{color}" font-size="10" {_HALO}'
        pl.out.append(_text(xa, yy - 11, fmt(a), attrs) + _text(xb, yy - 11, fmt(b), attrs))
    # the specification row: from LSL to USL, open (an arrow to the edge) on a missing side
    ys = pl.fy(0.5)
    xa = pl.left if lsl is None else pl.fx(float(lsl))
    xb = pl.right if usl is None else pl.fx(float(usl))
    parts = [f'<path d="M{xa:.1f} {ys:.1f}H{xb:.1f}" stroke-width="3"/>']
    ends = ""
    if lsl is not None:
        ends += f"M{xa:.1f} {ys - 8:.1f}v16"
    else:
        parts.append(f'<path d="M{xa:.1f} {ys:.1f}l9 -5v10Z" fill="{_SPEC}"/>')
    if usl is not None:
        ends += f"M{xb:.1f} {ys - 8:.1f}v16"
    else:
        parts.append(f'<path d="M{xb:.1f} {ys:.1f}l-9 -5v10Z" fill="{_SPEC}"/>')
    if ends:
        parts.append(f'<path d="{ends}" stroke-width="2"/>')
    if target is not None:
        xt = pl.fx(float(target))
        parts.append(
            f'<path class="target" d="M{xt:.1f} {ys - 8:.1f}v16" stroke="{_TARGET}" '
            'stroke-width="2.5"/>'
        )
    pl.out.append(f'<g class="interval specs" stroke="{_SPEC}" fill="none">{"".join(parts)}</g>')
    pri, sec = ordered("规格", "Specs", lang)
    pl.out.append(
        f'<text x="{pl.left - 8:.1f}" y="{ys + 4:.1f}" text-anchor="end" fill="{_SPEC}">'
        f'<tspan font-weight="bold">{_e(pri)}</tspan> <tspan fill="{_SEC}" font-size="10">'
        f"{_e(sec)}</tspan></text>"
    )
    attrs = f'text-anchor="middle" fill="{_SPEC}" font-size="10" {_HALO}'
    for value in (lsl, usl):
        if value is not None:
            pl.out.append(_text(pl.fx(float(value)), ys - 11, fmt_num(float(value)), attrs))
    pl.frame()
    # the indices under the plot, as in Minitab's capability plot: two pairs per line
    groups = [
        (
            ("组内", "Within"),
            _WITHIN,
            [
                ("σ", fmt(res.sigma_within)),
                ("PPM", fmt_ppm(res.ppm_within.get("total"))),
                ("Cp", fmt_index(res.cp)),
                ("Cpk", fmt_index(res.cpk)),
            ],
        ),
        (
            ("整体", "Overall"),
            _OVERALL,
            [
                ("σ", fmt(res.sigma_overall)),
                ("PPM", fmt_ppm(res.ppm_overall.get("total"))),
                ("Pp", fmt_index(res.pp)),
                ("Ppk", fmt_index(res.ppk)),
                ("Cpm", fmt_index(res.cpm)),
            ],
        ),
    ]
    y0 = pl.bottom + 40
    group_w = (pl.width - 28) / 2
    for j, (name, color, items) in enumerate(groups):
        x0 = 14 + j * group_w
        pri, sec = ordered(*name, lang)
        pl.out.append(
            f'<text x="{x0:.1f}" y="{y0:.1f}" fill="{color}"><tspan font-weight="bold">{_e(pri)}'
            f'</tspan> <tspan fill="{_SEC}" font-size="10">{_e(sec)}</tspan></text>'
        )
        for i, (label, value) in enumerate(items):
            xl = x0 + 4 + (i % 2) * 128
            yy = y0 + 16 * (i // 2 + 1)
            pl.out.append(_text(xl, yy, label, f'fill="{_AXIS}"'))
            pl.out.append(_text(xl + 112, yy, value, f'text-anchor="end" fill="{_TITLE}"'))
    return pl.close()


_TOOLTIP = re.compile(r"<title>[^<]*</title>")


def _slim_markers(svg: str) -> str:
    """Drop the tooltips of the violation markers when a panel has very many of them.

    A long in-control series still raises false alarms (10⁶ values: thousands); panel_svg then
    draws up to 2 000 markers, each with a tooltip that only counts the points of its pixel
    cell. Without those tooltips a 10⁶-value report stays small; the red markers stay, and
    the stability row names the tests that fired.
    """
    start = svg.find('<g class="violations"')
    if start < 0:
        return svg
    end = svg.find("</g>", start)
    group = svg[start:end]
    if group.count("<circle") <= _SLIM_MARKERS_ABOVE:
        return svg
    return svg[:start] + _TOOLTIP.sub("", group) + svg[end:]


def _chart_panels(chart: ChartResult, lang: str) -> list[Markup]:
    return [
        Markup(_slim_markers(panel_svg(chart, name, width=_CHART_W, height=_CHART_H, lang=lang)))
        for name in chart.panels
    ]


def _value_formatter(chart: ChartResult | None) -> Fmt:
    """The number format of the first chart panel (resolves ~1 % of its σ); else fmt_num."""
    if chart is None or not chart.panels:
        return fmt_num
    return panel_formatter(next(iter(chart.panels.values())))


def sixpack_svgs(result: CapabilityResult, *, lang: str = "zh") -> dict[str, Any]:
    """The six panels of a capability sixpack as inline SVG strings.

    Parameters
    ----------
    result : CapabilityResult
        From :func:`zhuoyue.stats.capability`.
    lang : {"zh", "en"}
        Language shown first in labels; the other follows.

    Returns
    -------
    dict
        ``chart`` (a list of SVGs, one per control chart panel: Xbar/I then R/S/MR), ``last``,
        ``histogram``, ``probability`` and ``capability`` (one SVG each). The data come from
        :meth:`CapabilityResult.sixpack`, which already reduces large samples (at most 60 bins,
        2 000 order statistics), so every SVG stays small for 10⁶ values.

    Examples
    --------
    >>> import numpy as np
    >>> from zhuoyue.stats.capability import capability
    >>> x = 10.0 + np.random.default_rng(2).normal(0.0, 0.1, 125)
    >>> svgs = sixpack_svgs(capability(x, 5, lsl=9.6, usl=10.4), lang="en")
    >>> len(svgs["chart"]), svgs["histogram"].startswith("<svg")
    (2, True)
    """
    check_lang(lang, "sixpack_svgs")
    return _sixpack_svgs(result, result.sixpack(), lang)


def _sixpack_svgs(res: CapabilityResult, six: Mapping[str, Any], lang: str) -> dict[str, Any]:
    chart: ChartResult = six["chart"]
    fmt = _value_formatter(chart)
    return {
        "chart": _chart_panels(chart, lang),
        "last": Markup(_last_svg(six["last"], res.mean, fmt, lang)),
        "histogram": Markup(_histogram_svg(six["histogram"], fmt, lang)),
        "probability": Markup(_probability_svg(six["probability_plot"], res.n, lang)),
        "capability": Markup(_capability_plot_svg(res, six["capability_plot"], fmt, lang)),
    }


# --------------------------------------------------------------------------- section context


def _data_text(res: CapabilityResult, lang: str) -> Pair:
    n = f"{res.n:,}"
    if res.individual:
        return _bi(f"{n} 个单值", f"{n} individual values", lang)
    k = f"{res.n_subgroups:,}"
    if res.subgroup_size is not None:
        return _bi(
            f"{n} 个值，{k} 个子组 × {res.subgroup_size}",
            f"{n} values in {k} subgroups of {res.subgroup_size}",
            lang,
        )
    lo, hi = int(res.sizes.min()), int(res.sizes.max())
    return _bi(
        f"{n} 个值，{k} 个子组（大小 {lo}–{hi}）",
        f"{n} values in {k} subgroups (sizes {lo}–{hi})",
        lang,
    )


def _stability(res: CapabilityResult, chart: ChartResult | None, lang: str) -> dict[str, Any]:
    in_control = res.in_control
    from_chart = False
    if in_control is None and chart is not None:
        in_control, from_chart = chart.in_control, True
    if in_control is None:
        return {
            "ok": None,
            "label": _bi("未检查", "Not checked", lang),
            "note": _bi("未做稳定性检查", "stability was not checked", lang),
        }
    tests = []
    if chart is not None:
        for name, panel in chart.panels.items():
            fired = sorted({int(t) for t in panel.violations.rule.tolist()})
            if fired:
                pzh, pen = panel_name(name)
                nums = ", ".join(map(str, fired))
                tests.append((f"{pzh}：检验 {nums}", f"{pen}: tests {nums}"))
    rules = "GB/T 4091 八项判异准则" if lang == "zh" else "the 8 tests of GB/T 4091"
    if in_control:
        note = _bi(
            f"{chart_name(chart.chart)[0] if chart else ''}按 GB/T 4091 八项判异准则无失控信号",
            f"no signals on the {chart_name(chart.chart)[1] if chart else 'chart'} ({rules})",
            lang,
        )
    else:
        detail_zh = "；".join(t[0] for t in tests)
        detail_en = "; ".join(t[1] for t in tests)
        note = _bi(
            f"过程不受控：能力指数不代表未来表现（{detail_zh}）",
            "Process not in control: the capability indices do not predict future performance "
            f"({detail_en})",
            lang,
        )
    if from_chart:
        extra = _bi("（依据本报告的控制图）", " (from the chart in this report)", lang)
        note = {"pri": note["pri"] + extra["pri"], "sec": note["sec"] + extra["sec"]}
    return {
        "ok": bool(in_control),
        "label": _bi("受控", "In control", lang)
        if in_control
        else _bi("不受控", "Not in control", lang),
        "note": note,
    }


def _kv(zh: str, en: str, value: str, lang: str, note: Pair | None = None) -> dict[str, Any]:
    return {"label": _bi(zh, en, lang), "value": value, "note": note}


def _method_note(label: str, zh: str, en: str, lang: str) -> Pair:
    """``"pooled/c4 合并标准差法 Sp/c4"`` with the other language's wording after it."""
    pri, sec = ordered(zh, en, lang)
    return {"pri": f"{label} {pri}", "sec": sec if sec != label else ""}


def _process_rows(
    section: CapabilitySection, chart: ChartResult | None, fmt: Fmt, lang: str
) -> list[dict[str, Any]]:
    res = section.result
    rows = []
    if section.source:
        rows.append(_kv("数据来源", "Source", section.source, lang))
    data = _data_text(res, lang)
    rows.append(_kv("样本量 n", "Sample size n", f"{res.n:,}", lang, data))
    rows.append(_kv("规格下限 LSL", "Lower spec LSL", fmt_num(res.lsl), lang))
    rows.append(_kv("目标", "Target", fmt_num(res.target), lang))
    rows.append(_kv("规格上限 USL", "Upper spec USL", fmt_num(res.usl), lang))
    rows.append(_kv("均值", "Mean", fmt(res.mean), lang))
    zh, en = sigma_method_name(res.sigma_method)
    rows.append(
        _kv(
            "σ 组内",
            "σ within",
            fmt(res.sigma_within),
            lang,
            _method_note(res.sigma_method, zh, en, lang),
        )
    )
    ozh, oen = _OVERALL_METHODS.get(res.overall_method, (res.overall_method, res.overall_method))
    rows.append(
        _kv(
            "σ 整体",
            "σ overall",
            fmt(res.sigma_overall),
            lang,
            _method_note(res.overall_method, ozh, oen, lang),
        )
    )
    if chart is not None:
        czh, cen = chart_name(chart.chart)
        pri, sec = ordered(czh, cen, lang)
        rows.append(_kv("稳定性控制图", "Stability chart", pri, lang, {"pri": sec, "sec": ""}))
    level = f"{100 * res.confidence:g} %"
    dof_w, dof_o = res.dof.get("cp") or res.dof.get("cpk"), res.dof.get("pp") or res.dof.get("ppk")
    rows.append(
        _kv(
            "置信水平",
            "Confidence level",
            level,
            lang,
            _bi(
                f"双侧区间，{res.ci_method} 公式；自由度 组内 {fmt_num(dof_w)}，整体 {fmt_num(dof_o)}",
                f"two-sided, {res.ci_method} formulas; degrees of freedom within "
                f"{fmt_num(dof_w)}, overall {fmt_num(dof_o)}",
                lang,
            ),
        )
    )
    rows.append(
        _kv(
            "Cpm 方法",
            "Cpm method",
            res.cpm_method,
            lang,
            _bi(*_CPM_METHODS.get(res.cpm_method, (res.cpm_method,) * 2), lang)
            if res.cpm is not None
            else _bi("无目标值，不计算 Cpm", "no target, so no Cpm", lang),
        )
    )
    return rows


def _index_rows(res: CapabilityResult, band: Mapping[str, Any]) -> list[dict[str, Any]]:
    pairs = [("cp", "pp"), ("cpl", "ppl"), ("cpu", "ppu"), ("cpk", "ppk"), (None, "cpm")]
    labels = {
        "cp": "Cp", "cpl": "Cpl", "cpu": "Cpu", "cpk": "Cpk", "cpm": "Cpm",
        "pp": "Pp", "ppl": "Ppl", "ppu": "Ppu", "ppk": "Ppk",
    }  # fmt: skip
    rows = []
    for w, o in pairs:
        row: dict[str, Any] = {"band": band if w == "cpk" else None}
        for side, key in (("w", w), ("o", o)):
            if key is None:
                row[side] = None
                continue
            ci = res.interval(key)
            row[side] = {
                "name": labels[key],
                "key": key,
                "value": fmt_index(getattr(res, key)),
                "ci": _fmt_ci(ci),
            }
        rows.append(row)
    return rows


def _ppm_rows(res: CapabilityResult, lang: str) -> list[dict[str, Any]]:
    rows = []
    for key, zh, en in (
        ("below_lsl", "低于规格下限", "< LSL"),
        ("above_usl", "高于规格上限", "> USL"),
        ("total", "合计", "Total"),
    ):
        rows.append(
            {
                "label": _bi(zh, en, lang),
                "total": key == "total",
                "observed": fmt_ppm(res.ppm_observed.get(key)),
                "within": fmt_ppm(res.ppm_within.get(key)),
                "overall": fmt_ppm(res.ppm_overall.get(key)),
            }
        )
    rows.append(
        {
            "label": {"pri": "Z.bench", "sec": ""},
            "total": False,
            "observed": "—",
            "within": _fmt_z(res.z_within.get("bench")),
            "overall": _fmt_z(res.z_overall.get("bench")),
        }
    )
    return rows


def _normality(res: CapabilityResult, lang: str) -> dict[str, Any]:
    stat = res.normality.get("statistic")
    p = res.normality.get("p_value")
    if stat is None:
        return {"ok": None, "text": "—", "p": "", "note": _bi("未做正态性检验", "not tested", lang)}
    ok = p is None or p >= 0.05
    text = f"A² = {float(stat):.3f}, {_p_text(p)}"
    note = (
        _bi("p ≥ 0.05：未发现偏离正态", "p ≥ 0.05: no evidence against normality", lang)
        if ok
        else _bi("p < 0.05：数据不像正态分布", "p < 0.05: the data do not look normal", lang)
    )
    return {"ok": ok, "text": text, "p": _p_text(p), "note": note}


def _nonnormal(res: CapabilityResult, lang: str) -> dict[str, Any] | None:
    nn = res.nonnormal
    if nn is None:
        return None
    name = _NONNORMAL_NAMES.get(nn.method, (nn.method, nn.method))
    used = nn.method != "normal"
    rows = [
        {"name": "Pp", "value": fmt_index(nn.pp)},
        {"name": "Ppl", "value": fmt_index(nn.ppl)},
        {"name": "Ppu", "value": fmt_index(nn.ppu)},
        {"name": "Ppk", "value": fmt_index(nn.ppk)},
    ]
    ppm = [
        {"label": _bi(zh, en, lang), "value": fmt_ppm(nn.ppm_overall.get(key))}
        for key, zh, en in (
            ("below_lsl", "低于规格下限", "< LSL"),
            ("above_usl", "高于规格上限", "> USL"),
            ("total", "合计", "Total"),
        )
    ]
    details = []
    for key, value in nn.details.items():
        if key == "method":
            continue
        zh, en = _DETAIL_NAMES.get(key, (key, key))
        label = _bi(zh, en, lang) if zh != en else {"pri": zh, "sec": ""}
        details.append({"label": label, "key": key, "value": _fmt_detail(value)})
    candidates = []
    for c in nn.candidates:
        cname = _NONNORMAL_NAMES.get(str(c.get("method")), (str(c.get("method")),) * 2)
        candidates.append(
            {
                "rank": c.get("rank") if c.get("rank") is not None else "—",
                "name": _bi(*cname, lang),
                "status": str(c.get("status", "")),
                "ad": fmt_index(c.get("ad_statistic")),
                "p": _fmt_p(c.get("ad_pvalue")),
                "acceptable": c.get("acceptable"),
                "ppk": fmt_index(c.get("ppk")),
                "ppm": fmt_ppm(c.get("ppm_total")),
                "message": str(c.get("message") or ""),
            }
        )
    note = (
        _bi(
            "整体指数与预期 PPM 按此分布计算；组内指数不适用",
            "the overall indices and expected PPM use this distribution; within indices do not apply",
            lang,
        )
        if used
        else _bi(
            "自动选择的结果是正态分布：上面的正态指数即为结果",
            "the automatic choice is the normal distribution: the normal indices above apply",
            lang,
        )
    )
    return {
        "requested": res.method,
        "name": _bi(*name, lang),
        "name_zh": name[0],
        "name_en": name[1],
        "used": used,
        "note": note,
        "rows": rows,
        "ppm": ppm,
        "details": details,
        "candidates": candidates,
    }


def _section_context(number: int, section: CapabilitySection, lang: str) -> dict[str, Any]:
    res = section.result
    svgs: dict[str, Any] | None = None
    chart = res.chart
    problem = None
    try:
        six = res.sixpack()
    except ZhuoyueError as exc:  # the stability chart cannot be drawn for these data
        problem = _bi(f"无法绘制六合一图：{exc}", f"the sixpack cannot be drawn: {exc}", lang)
    else:
        chart = six["chart"]
        svgs = _sixpack_svgs(res, six, lang)
    fmt = _value_formatter(chart)
    stability = _stability(res, chart, lang)
    band = _band_context(res.cpk, stability["ok"], lang)
    return {
        "number": number,
        "anchor": f"capability-{number}",
        "title": section.title,
        "description": section.description,
        "source": section.source,
        "chart": _bi(*chart_name(chart.chart), lang) if chart is not None else None,
        "data": _data_text(res, lang),
        "n": f"{res.n:,}",
        "cpk": fmt_index(res.cpk),
        "ppk": fmt_index(res.ppk),
        "ppm_overall": fmt_ppm(res.ppm_overall.get("total")),
        "method": res.method,
        "stability": stability,
        "band": band,
        "svgs": svgs,
        "problem": problem,
        "process": _process_rows(section, chart, fmt, lang),
        "indices": _index_rows(res, band),
        "confidence": f"{100 * res.confidence:g}%",
        "ppm": _ppm_rows(res, lang),
        "normality": _normality(res, lang),
        "nonnormal": _nonnormal(res, lang),
        "warnings": [_warning(w, lang) for w in res.warnings],
    }


def _sections(
    results: Sequence[CapabilityResult | CapabilitySection], func: str, lang: str
) -> list[CapabilitySection]:
    if isinstance(results, CapabilityResult | CapabilitySection):
        raise ParameterError(
            f"The 'results' parameter of {func} must be a sequence; got one "
            f"{type(results).__name__}. Pass [result]."
        )
    out = []
    for k, item in enumerate(results):
        if isinstance(item, CapabilitySection):
            out.append(item)
        elif isinstance(item, CapabilityResult):
            title = f"特性 {k + 1}" if lang == "zh" else f"Characteristic {k + 1}"
            out.append(CapabilitySection(title, item))
        else:
            raise ParameterError(
                f"The 'results' parameter of {func} must hold CapabilityResult or "
                f"CapabilitySection objects; item {k} is {type(item).__name__}."
            )
    if not out:
        raise ParameterError(f"{func} needs at least one capability result; got none.")
    return out


def _policy_note(lang: str) -> dict[str, Any] | None:
    bands = _bands()
    if not bands:
        return None
    parts_zh, parts_en = [], []
    for k, b in enumerate(bands):
        if b.lower is None:
            nxt = bands[k + 1].lower if k + 1 < len(bands) else None
            rng = "" if nxt is None else f" < {nxt:.2f}"
        else:
            rng = f" {OP_SYMBOL.get(b.op, b.op)} {b.lower:.2f}"
        parts_zh.append(f"{b.name_zh}{rng}")
        parts_en.append(f"{b.name_en}{rng}")
    return _bi(
        "Cpk 等级按《制造业卓越质量工程实施意见》（工信部联科〔2023〕249号）附件的过程能力指数阈值："
        + "，".join(parts_zh)
        + "。政策取各关键特性 Cpk 的最小值，并以过程稳定受控为前提。",
        "Cpk bands: the process capability thresholds of the annex of the Manufacturing Excellence "
        "Quality Project (MIIT 249/2023): "
        + ", ".join(parts_en)
        + ". The policy takes the lowest Cpk of the key characteristics and presumes a stable, "
        "in-control process.",
        lang,
    )


def render_capability_report(
    results: Sequence[CapabilityResult | CapabilitySection],
    *,
    title: str,
    lang: str = "zh",
    generated_at: str | None = None,
) -> str:
    """Render capability studies as one self-contained HTML report (a sixpack per result).

    Parameters
    ----------
    results : sequence of CapabilityResult or CapabilitySection
        The studies, in order; a bare result is titled ``特性 k`` (``Characteristic k``).
    title : str
        The report title (escaped like every other text).
    lang : {"zh", "en"}
        ``"zh"``: Chinese first, English in smaller text; ``"en"``: the other way round.
    generated_at : str, optional
        The time stamp printed in the header; the current local time when omitted (pass a
        fixed value for byte-identical reports).

    Returns
    -------
    str
        The HTML document: a summary table (n, Cpk, Ppk, expected PPM overall, stability and the
        policy band of Cpk per result), then per result the sixpack — control chart panels, last
        subgroups, capability histogram, normal probability plot, capability plot — and the
        numbers: process data with the σ methods, Cp … Cpk and Pp … Ppk with confidence
        intervals, Cpm, PPM observed / expected within / expected overall, Z.bench, normality
        (Anderson–Darling), stability, the Cpk band on the policy's five-level scale, the
        non-normal method when used, and every warning (with its Chinese wording). Inline CSS
        and SVG only, no scripts; printable (A4 landscape).

    Raises
    ------
    ParameterError
        No results, an item that is neither a CapabilityResult nor a CapabilitySection, or an
        unknown ``lang``.

    Examples
    --------
    >>> import numpy as np
    >>> from zhuoyue.stats.capability import capability
    >>> x = 10.0 + np.random.default_rng(2).normal(0.0, 0.1, 125)
    >>> res = capability(x, 5, lsl=9.6, usl=10.4)
    >>> page = render_capability_report(
    ...     [CapabilitySection("轴径", res, "shaft.csv: d")], title="示例", generated_at="2024-03-04"
    ... )
    >>> "能力直方图" in page and "检验级" in page and "<script" not in page
    True
    """
    func = "render_capability_report"
    check_lang(lang, func)
    sections = _sections(results, func, lang)
    if generated_at is None:
        generated_at = datetime.now().astimezone().isoformat(timespec="seconds")
    context = {
        "lang": lang,
        "html_lang": "zh-CN" if lang == "zh" else "en",
        "title": title,
        "kind": _bi("过程能力六合一报告", "Process capability sixpack report", lang),
        "generated_at": generated_at,
        "version": zhuoyue.__version__,
        "font_stack": FONT_STACK,
        "policy_note": _policy_note(lang),
        "sections": [_section_context(k + 1, s, lang) for k, s in enumerate(sections)],
    }
    return _environment().get_template("capability_report.html.j2").render(context)
