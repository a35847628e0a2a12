"""Shared wording and number formatting of the reports (Chinese and English)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from zhuoyue.errors import ParameterError
from zhuoyue.stats.results import ChartResult, Panel

__all__ = [
    "CHART_NAMES",
    "LANGS",
    "PANEL_NAMES",
    "chart_name",
    "check_lang",
    "fmt_num",
    "ordered",
    "panel_formatter",
    "panel_name",
    "panel_tests",
    "phase1_end",
    "sigma_method_name",
    "test_description",
    "x_axis_name",
]

LANGS = ("zh", "en")

#: (Chinese, English) display names of the charts
CHART_NAMES: dict[str, tuple[str, str]] = {
    "xbar_r": ("Xbar-R 均值-极差图", "Xbar-R chart"),
    "xbar_s": ("Xbar-S 均值-标准差图", "Xbar-S chart"),
    "imr": ("I-MR 单值-移动极差图", "I-MR chart (individuals and moving range)"),
    "p": ("p 不合格品率图", "p chart (proportion defective)"),
    "np": ("np 不合格品数图", "np chart (number defective)"),
    "c": ("c 缺陷数图", "c chart (defects)"),
    "u": ("u 单位缺陷数图", "u chart (defects per unit)"),
    "ewma": ("EWMA 指数加权移动平均图", "EWMA chart"),
    "cusum": ("CUSUM 累积和图", "CUSUM chart (tabular)"),
}

#: (Chinese, English) names of the plotted statistic of each panel
PANEL_NAMES: dict[str, tuple[str, str]] = {
    "xbar": ("均值 Xbar", "Subgroup mean Xbar"),
    "r": ("极差 R", "Range R"),
    "s": ("标准差 S", "Standard deviation S"),
    "i": ("单值 I", "Individual value I"),
    "mr": ("移动极差 MR", "Moving range MR"),
    "p": ("不合格品率 p", "Proportion defective p"),
    "np": ("不合格品数 np", "Number defective np"),
    "c": ("缺陷数 c", "Defects c"),
    "u": ("单位缺陷数 u", "Defects per unit u"),
    "ewma": ("EWMA 统计量 z", "EWMA statistic z"),
    "cusum_upper": ("上侧累积和 C⁺", "Upper CUSUM C⁺"),
    "cusum_lower": ("下侧累积和 C⁻", "Lower CUSUM C⁻"),
}

_SIGMA_METHODS: dict[str, tuple[str, str]] = {
    "rbar/d2": ("平均极差法 Rbar/d2", "average range Rbar/d2"),
    "rbar/d2 unweighted": ("平均极差法 Rbar/d2（不加权）", "average range Rbar/d2, unweighted"),
    "sbar/c4": ("平均标准差法 Sbar/c4", "average standard deviation Sbar/c4"),
    "sbar/c4 unweighted": (
        "平均标准差法 Sbar/c4（不加权）",
        "average standard deviation Sbar/c4, unweighted",
    ),
    "pooled/c4": ("合并标准差法 Sp/c4", "pooled standard deviation Sp/c4"),
    "mr/d2": ("平均移动极差法 MRbar/d2", "average moving range MRbar/d2"),
    "median mr/0.954": ("移动极差中位数法 median MR/0.954", "median moving range / 0.954"),
    "sd/c4": ("样本标准差法 S/c4", "sample standard deviation S/c4"),
    "given": ("给定 σ", "given sigma"),
    "binomial": ("二项分布 √(pbar(1-pbar))", "binomial √(pbar(1-pbar))"),
    "binomial (given center)": ("二项分布，给定 pbar", "binomial, given pbar"),
    "poisson": ("泊松分布 √ubar", "Poisson √ubar"),
    "poisson (given center)": ("泊松分布，给定中心", "Poisson, given centre"),
}


def check_lang(lang: str, func: str) -> str:
    """Return ``lang`` when it is ``"zh"`` or ``"en"``; raise :class:`ParameterError` otherwise."""
    if lang not in LANGS:
        raise ParameterError(f"The 'lang' parameter of {func} must be 'zh' or 'en'. Got {lang!r}.")
    return lang


def ordered(zh: str, en: str, lang: str) -> tuple[str, str]:
    """The (primary, secondary) pair: Chinese first for ``"zh"``, English first for ``"en"``."""
    return (zh, en) if lang == "zh" else (en, zh)


def chart_name(chart: str) -> tuple[str, str]:
    """(Chinese, English) name of a chart type; unknown types are shown by their code."""
    return CHART_NAMES.get(chart, (chart, chart))


def panel_name(panel: str) -> tuple[str, str]:
    """(Chinese, English) name of a panel's plotted statistic."""
    return PANEL_NAMES.get(panel, (panel, panel))


def sigma_method_name(label: str) -> tuple[str, str]:
    """(Chinese, English) explanation of a ``ChartResult.sigma_method`` label."""
    return _SIGMA_METHODS.get(label, (label, label))


def x_axis_name(result: ChartResult) -> tuple[str, str]:
    """(Chinese, English) name of what one plotted point is."""
    if result.chart in ("p", "np", "c", "u"):
        return ("样本", "Sample")
    if result.chart in ("xbar_r", "xbar_s") or (result.sizes.size and int(result.sizes.max()) > 1):
        return ("子组", "Subgroup")
    return ("观测值", "Observation")


def test_description(result: ChartResult, test: int) -> tuple[str, str]:
    """(Chinese, English) description of a test as it applies to ``result``'s chart."""
    return (result.describe_test(test, lang="zh"), result.describe_test(test, lang="en"))


def panel_tests(result: ChartResult, panel: str) -> tuple[int, ...]:
    """The tests the chart evaluated on ``panel`` (recorded by the statistics layer)."""
    return result.panels[panel].tests


def fmt_num(value: float | None) -> str:
    """Format a number for people: 6 significant digits, no exponent for everyday magnitudes.

    Examples
    --------
    >>> fmt_num(74.001176), fmt_num(0.0001), fmt_num(25.0), fmt_num(None)
    ('74.0012', '0.0001', '25', '—')
    """
    if value is None:
        return "—"
    v = float(value)
    if not math.isfinite(v):
        return "—"
    if v == 0.0:
        return "0"
    if 1e-6 <= abs(v) < 1e9:
        return np.format_float_positional(v, precision=6, unique=False, fractional=False, trim="-")
    return f"{v:.6g}"


def panel_formatter(panel: Panel) -> Callable[[float | None], str]:
    """A number format for one panel: fixed decimals resolving about 1 % of the statistic's σ.

    Values of a panel then line up in tables (``25.00561``, ``25.00600``); without a usable
    sigma, :func:`fmt_num`.
    """
    sig = panel.sigma
    s = None
    if sig is not None:
        arr = np.asarray(sig, dtype=np.float64)
        arr = arr[np.isfinite(arr) & (arr > 0)]
        s = float(arr.min()) if arr.size else None
    if s is None:
        return fmt_num
    decimals = min(max(2 - math.floor(math.log10(s)), 0), 12)

    def fmt(value: float | None) -> str:
        if value is None or not math.isfinite(float(value)):
            return "—"
        text = f"{float(value):.{decimals}f}"
        return text[1:] if text.startswith("-") and float(text) == 0.0 else text

    return fmt


def phase1_end(result: ChartResult) -> int | None:
    """0-based index of the last phase I point (excluded points included); None without phase I."""
    return result.phase1_end - 1 if result.phase1_end > 0 else None
