"""Self-contained HTML reports of control charts (inline CSS and SVG; no scripts, nothing fetched).

The same HTML is the on-screen report and the source of the PDF (printable with ``@media print``).
Chinese comes first with English in smaller text (``lang="zh"``), or the other way round
(``lang="en"``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
from markupsafe import Markup

import zhuoyue
from zhuoyue.errors import OutputError, ParameterError
from zhuoyue.reports._text import (
    chart_name,
    check_lang,
    fmt_num,
    ordered,
    panel_formatter,
    panel_name,
    panel_tests,
    phase1_end,
    sigma_method_name,
    test_description,
    x_axis_name,
)
from zhuoyue.reports.svg import FONT_STACK, panel_svg
from zhuoyue.stats.results import ArrayOrScalar, ChartResult
from zhuoyue.stats.rules import RULE_SET_TITLES

__all__ = ["MAX_VIOLATION_ROWS", "ReportSection", "render_chart_report", "write_report"]

#: rows of the violations table per section; the rest is counted in a note
MAX_VIOLATION_ROWS = 200
#: size of the panels in the report: 1:1 on a 1280 px screen, scaled down on paper
_SVG_WIDTH, _SVG_HEIGHT = 1120, 280

Pair = tuple[str, str]

_RULE_SET_ZH = {
    "gb4091": "GB/T 4091-2001 / ISO 7870-2 八项判异准则",
    "we": "西部电气（Western Electric）判异准则 1–4",
    "none": "不用判异准则",
}
_PARAM_NAMES: dict[str, Pair] = {
    "lambda": ("平滑系数 λ", "smoothing constant λ"),
    "L": ("控制限宽度 L", "limit width L"),
    "limits": ("控制限类型", "limits"),
    "k": ("参考值 k（σ 倍数）", "reference value k (in σ)"),
    "h": ("决策区间 h（σ 倍数）", "decision interval h (in σ)"),
    "K": ("参考值 K", "reference value K"),
    "H": ("决策区间 H", "decision interval H"),
    "units": ("单位", "units"),
    "headstart": ("快速初始响应 headstart", "fast initial response (headstart)"),
    "dispersion_center": ("R/S 图中心线", "R/S centre line"),
    "mr_span": ("移动极差跨度", "moving-range span"),
}
_CONSTANTS: dict[str, Pair] = {
    "exact": ("精确值（数值积分）", "exact values (numerical integration)"),
    "table": ("三位小数表值", "3-decimal table values"),
}


@dataclass(frozen=True, slots=True)
class ReportSection:
    """One chart in a report.

    Attributes
    ----------
    title : str
        Heading of the section, e.g. ``"精密轴外径 Shaft diameter"``.
    description : str
        A paragraph under the heading (line breaks are kept).
    result : ChartResult
        The chart to show.
    source : str
        Where the data came from: a file name and column, e.g. ``"shaft_diameter.csv: value"``.
    """

    title: str
    description: str
    result: ChartResult
    source: str = ""


def _bi(zh: str, en: str, lang: str) -> dict[str, str]:
    pri, sec = ordered(zh, en, lang)
    return {"pri": pri, "sec": sec}


def _limit_text(x: ArrayOrScalar, lang: str, fmt: Callable[[float | None], str]) -> dict[str, str]:
    if x is None:
        return _bi("无", "none", lang)
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 0:
        return {"pri": fmt(float(arr)), "sec": ""}
    finite = arr[np.isfinite(arr)]
    if finite.size == 0:
        return _bi("无", "none", lang)
    lo, hi = fmt(float(finite.min())), fmt(float(finite.max()))
    return _bi(f"逐点变化：{lo} – {hi}", f"varies per point: {lo} – {hi}", lang)


def _points_text(idx: Sequence[int]) -> str:
    """1-based point numbers with consecutive ones as ranges: ``"1–3, 7"``."""
    if not idx:
        return ""
    out: list[str] = []
    start = prev = idx[0]
    for i in [*idx[1:], None]:
        if i is not None and i == prev + 1:
            prev = i
            continue
        out.append(f"{start + 1}" if start == prev else f"{start + 1}–{prev + 1}")
        if i is not None:
            start = prev = i
    return ", ".join(out)


def _param_value(value: Any) -> str:
    if isinstance(value, bool | str):
        return str(value)
    if isinstance(value, int | float | np.integer | np.floating):
        return fmt_num(float(value))
    return str(value)


def _conventions(section: ReportSection, lang: str) -> list[dict[str, Any]]:
    res = section.result
    rows: list[dict[str, Any]] = []

    def row(zh: str, en: str, value: str, note: dict[str, str] | None = None) -> None:
        rows.append({"label": _bi(zh, en, lang), "value": value, "note": note})

    if section.source:
        row("数据来源", "Source", section.source)
    sizes = np.asarray(res.sizes, dtype=np.float64)
    unit_zh, unit_en = x_axis_name(res)
    n_text = f"{res.n_points}"
    if sizes.size and res.chart not in ("imr",) and float(sizes.max()) > 1.0:
        lo, hi = fmt_num(float(sizes.min())), fmt_num(float(sizes.max()))
        size_text = lo if lo == hi else f"{lo} – {hi}"
        row(
            "点数",
            "Points",
            n_text,
            _bi(
                f"每{unit_zh}样本量 n = {size_text}",
                f"size per {unit_en.lower()} n = {size_text}",
                lang,
            ),
        )
    else:
        row("点数", "Points", n_text)
    row("过程中心", "Process centre", fmt_num(res.center))
    row("σ", "Sigma", fmt_num(res.sigma))
    row(
        "σ 估计方法",
        "Sigma method",
        res.sigma_method,
        _bi(*sigma_method_name(res.sigma_method), lang),
    )
    row(
        "常数",
        "Constants",
        res.constants,
        _bi(*_CONSTANTS.get(res.constants, (res.constants,) * 2), lang),
    )
    rs = res.rules
    row(
        "判异准则",
        "Run rules",
        rs.name,
        _bi(_RULE_SET_ZH.get(rs.name, rs.name), RULE_SET_TITLES.get(rs.name, rs.name), lang),
    )
    if rs.tests:
        per_zh, per_en = [], []
        for name in res.panels:
            nums = ", ".join(str(t) for t in panel_tests(res, name)) or "—"
            per_zh.append(f"{panel_name(name)[0]}：{nums}")
            per_en.append(f"{panel_name(name)[1]}: {nums}")
        row(
            "启用的检验",
            "Tests on",
            ", ".join(str(t) for t in rs.tests),
            _bi(
                "本图适用 " + "；".join(per_zh),
                "applied here: " + "; ".join(per_en),
                lang,
            ),
        )
    if rs.k:
        row(
            "K 值（已修改）", "K changed", ", ".join(f"{t}: {v:g}" for t, v in sorted(rs.k.items()))
        )
    if rs.name == "gb4091" and 8 in rs.tests:
        row("检验 8 的措辞", "Test 8 wording", rs.test8)
    end1 = phase1_end(res)
    n1 = int(np.asarray(res.phase1).sum())
    if end1 is None:
        row(
            "第一阶段",
            "Phase I",
            "—",
            _bi("无：中心与 σ 为给定值", "none: centre and sigma given", lang),
        )
    elif end1 >= res.n_points - 1:
        row(
            "第一阶段",
            "Phase I",
            f"1–{res.n_points}",
            _bi(
                f"全部点估计控制限（{n1} 点）", f"all points estimate the limits ({n1} used)", lang
            ),
        )
    else:
        row(
            "第一阶段",
            "Phase I",
            f"1–{end1 + 1}",
            _bi(
                f"{n1} 点估计控制限；第 {end1 + 2}–{res.n_points} 点为第二阶段（按冻结的控制限监控）",
                f"{n1} points estimate the limits; points {end1 + 2}–{res.n_points} are phase II "
                "(monitored against the frozen limits)",
                lang,
            ),
        )
    excluded = sorted(int(i) for i in res.excluded)
    row("剔除点", "Excluded points", _points_text(excluded) or "—")
    for key, value in res.params.items():
        zh, en = _PARAM_NAMES.get(key, (key, key))
        row(zh, en, _param_value(value))
    return rows


def _violation_rows(res: ChartResult, lang: str) -> tuple[list[dict[str, Any]], int]:
    rows: list[dict[str, Any]] = []
    total = 0
    end1 = phase1_end(res)
    descriptions: dict[int, dict[str, str]] = {}
    for name, panel in res.panels.items():
        v = panel.violations
        total += len(v)
        room = MAX_VIOLATION_ROWS - len(rows)
        if room <= 0:
            continue
        pan = _bi(*panel_name(name), lang)
        fmt = panel_formatter(panel)
        for i, t in zip(v.index[:room].tolist(), v.rule[:room].tolist(), strict=True):
            if t not in descriptions:
                descriptions[t] = _bi(*test_description(res, t), lang)
            label = ""
            if res.labels is not None and i < res.labels.size:
                label = str(res.labels[i])
            phase = "I" if end1 is not None and i <= end1 else "II"
            rows.append(
                {
                    "panel": pan,
                    "point": i + 1,
                    "label": label,
                    "phase": phase,
                    "value": fmt(float(panel.statistic[i])),
                    "test": t,
                    "description": descriptions[t],
                }
            )
    return rows, total - len(rows)


def _labels_informative(res: ChartResult) -> bool:
    """True when subgroup labels say more than the 1-based point numbers."""
    if res.labels is None:
        return False
    numbers = [str(i + 1) for i in range(res.labels.size)]
    return [str(x) for x in res.labels.tolist()] != numbers


def _status(res: ChartResult, lang: str) -> dict[str, Any]:
    idx = [p.violations.index for p in res.panels.values()]
    points = np.unique(np.concatenate(idx)) if idx else np.empty(0, np.int64)
    signals = sum(len(p.violations) for p in res.panels.values())
    end1 = phase1_end(res)
    in_phase1 = int(np.sum(points <= end1)) if end1 is not None else 0
    tests = sorted({int(t) for p in res.panels.values() for t in p.violations.rule.tolist()})
    n = int(points.size)
    if n == 0:
        label = _bi("受控", "In control", lang)
        detail = _bi("无失控信号", "no signals", lang)
    else:
        label = _bi("失控", "Out of control", lang)
        detail = _bi(
            f"{n} 个失控点，{signals} 个信号（第一阶段 {in_phase1} 点，第二阶段 {n - in_phase1} 点）",
            f"{n} points, {signals} signals (phase I {in_phase1}, phase II {n - in_phase1})",
            lang,
        )
    return {
        "ok": n == 0,
        "label": label,
        "detail": detail,
        "points": n,
        "signals": signals,
        "tests": ", ".join(str(t) for t in tests),
    }


def _section_context(number: int, section: ReportSection, lang: str) -> dict[str, Any]:
    res = section.result
    panels = []
    for name, panel in res.panels.items():
        fmt = panel_formatter(panel)
        panels.append(
            {
                "name": _bi(*panel_name(name), lang),
                "center": _limit_text(panel.center, lang, fmt),
                "lcl": _limit_text(panel.lcl, lang, fmt),
                "ucl": _limit_text(panel.ucl, lang, fmt),
                "count": len(panel.violations),
                "svg": Markup(
                    panel_svg(res, name, width=_SVG_WIDTH, height=_SVG_HEIGHT, lang=lang)
                ),
            }
        )
    violations, more = _violation_rows(res, lang)
    applied = {t for name in res.panels for t in panel_tests(res, name)}
    tests = [
        {"number": t, "description": _bi(*test_description(res, t), lang)}
        for t in res.rules.tests
        if t in applied
    ]
    return {
        "number": number,
        "anchor": f"section-{number}",
        "title": section.title,
        "description": section.description,
        "chart": _bi(*chart_name(res.chart), lang),
        "status": _status(res, lang),
        "conventions": _conventions(section, lang),
        "tests": tests,
        "panels": panels,
        "violations": violations,
        "more": more,
        "has_labels": _labels_informative(res),
        "warnings": list(res.warnings),
        "n_points": res.n_points,
    }


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("zhuoyue.reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_chart_report(
    sections: Sequence[ReportSection],
    *,
    title: str,
    lang: str = "zh",
    generated_at: str | None = None,
) -> str:
    """Render control charts as one self-contained HTML report.

    Parameters
    ----------
    sections : sequence of ReportSection
        The charts, in order.
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
        The HTML document: a summary table (受控 / 失控 with counts per section), then per
        section the conventions (sigma method, constants, rules and tests, phase I, excluded
        points, parameters), a limits table and an inline SVG per panel, the violations table
        (first ``MAX_VIOLATION_ROWS`` rows and a count of the rest) and the result's warnings.
        Inline CSS only, with a system CJK font stack and a ``@media print`` block.

    Examples
    --------
    >>> from zhuoyue import stats
    >>> res = stats.imr([10.0, 10.4, 9.8, 10.1, 10.3, 9.9, 13.0])
    >>> page = render_chart_report(
    ...     [ReportSection("炉温", "每小时一次", res, "oven.csv: temp")],
    ...     title="示例", generated_at="2024-03-04 08:00",
    ... )
    >>> "单值-移动极差图" in page and "<script" not in page
    True
    """
    func = "render_chart_report"
    check_lang(lang, func)
    if not sections:
        raise ParameterError(f"{func} needs at least one ReportSection; got none.")
    for k, s in enumerate(sections):
        if not isinstance(s, ReportSection):
            raise ParameterError(
                f"The 'sections' parameter of {func} must hold ReportSection objects; "
                f"item {k} is {type(s).__name__}."
            )
    if generated_at is None:
        generated_at = datetime.now().astimezone().isoformat(timespec="seconds")
    context = {
        "lang": lang,
        "html_lang": "zh-CN" if lang == "zh" else "en",
        "title": title,
        "kind": _bi("控制图报告", "Control chart report", lang),
        "generated_at": generated_at,
        "version": zhuoyue.__version__,
        "font_stack": FONT_STACK,
        "max_rows": MAX_VIOLATION_ROWS,
        "sections": [_section_context(k + 1, s, lang) for k, s in enumerate(sections)],
    }
    return _environment().get_template("chart_report.html.j2").render(context)


def write_report(html: str, path: str | os.PathLike[str]) -> Path:
    """Write an HTML report as UTF-8, replacing the file in one step.

    Parameters
    ----------
    html : str
        The document from :func:`render_chart_report`.
    path : str or path-like
        The file to write; its folder must exist.

    Returns
    -------
    Path
        The path written.

    Raises
    ------
    OutputError
        When the folder does not exist, the path is a folder, or the file cannot be written
        (permissions, full disk, ...).
    """
    target = Path(path)
    folder = target.parent
    if target.is_dir():
        raise OutputError(
            f"Cannot write the report to {target}: it is a folder. Give a file name, "
            f"e.g. {target / 'report.html'}."
        )
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise OutputError(
            f"Cannot write the report to {target}: the folder {folder} {what}. "
            "Create the folder first or choose another path."
        )
    tmp = folder / f".{target.name}.{os.getpid()}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(html)
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        reason = exc.strerror or str(exc)
        raise OutputError(
            f"Cannot write the report to {target}: {reason}. Check that the folder is "
            "writable and has free space, or choose another path."
        ) from exc
    return target
