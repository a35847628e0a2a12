"""The self-declaration (自我声明) of the five-level self-assessment: HTML and PDF.

The document an enterprise hands to an assessor after :func:`zhuoyue.services.assessment.assess`
(or :func:`zhuoyue.excellence.evaluate`): who it is, the period, the level reached as a badge with
the score, the four aspects on a radar chart, each quantitative indicator of the policy annex
against its five thresholds, what holds the level (binding constraints), the gap to the next level
in numbers, the improvement plan with the policy's key tasks, the evidence behind every
questionnaire answer (claims without evidence flagged 无证据), data coverage, warnings, the model
and its conventions, and the declaration with a place for the top manager's signature and the
company seal.

The layout is A4 portrait for print (``@page`` with a running header — enterprise and model id —
and "第 n 页 / 共 m 页"); the same HTML is the on-screen document. One self-contained file: inline
CSS and SVG, no scripts, nothing fetched. :func:`write_declaration` writes it as ``.html`` or, with
WeasyPrint (the ``report`` extra) and a CJK font (Debian: ``fonts-noto-cjk``), as ``.pdf``.

Chinese comes first with English in smaller text (``lang="zh"``), or the other way round
(``lang="en"``); long texts (binding constraints, actions, evidence) are in the chosen language.
Nothing here knows the ids of the built-in model: thresholds, names, policy tasks and the
conventions are read from the model the result was evaluated with.

Examples
--------
>>> from datetime import datetime
>>> from zhuoyue.excellence import evaluate
>>> res = evaluate({"sigma_level": 4.2, "cpk": 1.4, "rolled_yield": 0.96,
...                 "internal_loss_rate": 0.02, "external_loss_rate": 0.012})
>>> page = render_declaration(res, enterprise={"name": "示例机械有限公司"}, period="2024 年度",
...                           generated_at=datetime(2025, 1, 15, 9, 30))
>>> "制造业企业质量管理能力自我声明" in page and "最高管理者" in page and "<script" not in page
True
"""

from __future__ import annotations

import contextlib
import importlib
import math
import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

import zhuoyue
from zhuoyue.errors import OutputError, ParameterError
from zhuoyue.excellence import AssessmentResult, Model, builtin_models, load_model
from zhuoyue.excellence.model import OP_NEGATION, OP_SYMBOL, Indicator
from zhuoyue.excellence.plan import sigma_to_ppm
from zhuoyue.reports._text import check_lang, fmt_num, ordered
from zhuoyue.reports.html import _environment, write_report
from zhuoyue.reports.svg import _e, _text_width

if TYPE_CHECKING:
    from zhuoyue.services.assessment import AssessmentOutcome

__all__ = ["FONT_STACK", "radar_svg", "render_declaration", "write_declaration"]

#: fonts of the declaration: Debian's Noto CJK first (what WeasyPrint embeds), then the usual
#: Chinese system fonts for the on-screen document
FONT_STACK = (
    "'Noto Sans CJK SC','Noto Serif CJK SC','Source Han Sans SC','Microsoft YaHei',"
    "'PingFang SC',sans-serif"
)
#: the serif face of the declaration paragraph
SERIF_STACK = (
    "'Noto Serif CJK SC','Source Han Serif SC','Noto Sans CJK SC','SimSun','Songti SC',serif"
)

#: rows of the data-basis tables (the rest is counted in a note)
_MAX_CHARACTERISTICS = 20
_MAX_STEPS = 40
_MAX_PRODUCTS = 12

#: the radar chart's width and the radius of level 5 (the height follows the labels)
_RADAR_W, _RADAR_R = 500.0, 112.0

#: level colours (text, background): 经验级 red … 卓越级 blue (as in the capability report)
LEVEL_COLORS: dict[int, tuple[str, str]] = {
    1: ("#b71c1c", "#fdecea"),
    2: ("#c25e00", "#fff0e0"),
    3: ("#7a6400", "#fff6cc"),
    4: ("#2e7d32", "#e8f5e9"),
    5: ("#0d47a1", "#e3f2fd"),
}
_RADAR_FILL: dict[int, str] = {
    1: "#d32f2f",
    2: "#ef6c00",
    3: "#b08900",
    4: "#2e7d32",
    5: "#1565c0",
}

_CN_NUMERALS = "一二三四五六七八九"

#: enterprise fields in print order: key, accepted keys (English and the workbook's Chinese),
#: label
_ENTERPRISE_FIELDS: tuple[tuple[str, tuple[str, ...], tuple[str, str]], ...] = (
    (
        "name",
        ("name", "enterprise", "enterprise_name", "company", "企业名称", "名称"),
        ("企业名称", "Enterprise"),
    ),
    (
        "credit_code",
        (
            "credit_code",
            "unified_social_credit_code",
            "social_credit_code",
            "uscc",
            "统一社会信用代码",
            "信用代码",
        ),
        ("统一社会信用代码", "Unified social credit code"),
    ),
    ("industry", ("industry", "sector", "所属行业", "行业"), ("所属行业", "Industry")),
    ("region", ("region", "location", "所在地区", "地区"), ("所在地区", "Region")),
    ("address", ("address", "地址", "通讯地址"), ("地址", "Address")),
    ("top_manager", ("top_manager", "最高管理者"), ("最高管理者", "Top manager")),
    ("contact", ("contact", "联系人"), ("联系人", "Contact")),
    ("phone", ("phone", "telephone", "联系电话", "电话"), ("联系电话", "Telephone")),
)
#: shown even when empty (a blank line to fill in by hand)
_ENTERPRISE_REQUIRED = ("name", "credit_code", "industry", "region")
#: consumed elsewhere (the period), never listed as an extra field
_ENTERPRISE_SKIP = ("year", "年度", "评价年度")

_COVERAGE_LABELS: dict[str, tuple[str, str]] = {
    "year": ("评价年度", "Assessed year"),
    "year_source": ("年度来源", "Year taken from"),
    "months": ("数据覆盖月数（各表最少）", "Months of data (fewest over the tables)"),
    "months_by_table": ("各表覆盖月数", "Months by table"),
    "characteristics": ("特性数", "Characteristics"),
    "key_characteristics": ("关键特性数", "Key characteristics"),
    "key_characteristics_computed": ("已计算 Cpk 的关键特性", "Key characteristics with Cpk"),
    "key_characteristics_without_specs": (
        "无规格限的关键特性",
        "Key characteristics without specification limits",
    ),
    "key_characteristics_without_data": (
        "无测量数据的关键特性",
        "Key characteristics without measurements",
    ),
    "measurements": ("测量值（行）", "Measurements (rows)"),
    "steps": ("交验工序数", "Inspected process steps"),
    "inspection_rows": ("交验记录（行）", "Inspection rows"),
    "cost_rows": ("质量成本记录（行）", "Quality-cost rows"),
    "product_quality_rows": ("产品质量记录（行）", "Product-quality rows"),
    "output_value_year": ("年度总产值所属年度", "Year of the output value"),
    "tables": ("数据表", "Tables"),
    "rows_outside_year": ("评价年度以外的行（未计入）", "Rows outside the year (left out)"),
}
_YEAR_SOURCES: dict[str, tuple[str, str]] = {
    "given": ("指定", "given"),
    "data": ("数据集声明", "declared by the data set"),
    "enterprise": ("企业信息", "enterprise information"),
    "output_value": ("年度总产值", "annual output value"),
    "latest_in_data": ("数据中最近的年度", "latest year in the data"),
    "none": ("无", "none"),
}

Pair = dict[str, str]


# ------------------------------------------------------------------------------------------------
# Small helpers
# ------------------------------------------------------------------------------------------------
def _bi(zh: str, en: str, lang: str) -> Pair:
    pri, sec = ordered(zh, en, lang)
    return {"pri": pri, "sec": sec}


def _pick(zh: str, en: str, lang: str) -> str:
    """The text in the chosen language (the other one when it is empty)."""
    return (zh or en) if lang == "zh" else (en or zh)


def _num(x: Any) -> float | None:
    if x is None or isinstance(x, bool):
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _int(x: Any) -> int | None:
    v = _num(x)
    return None if v is None else round(v)


def _fmt_score(x: float) -> str:
    """``621.25``, ``740``: at most two decimals, none when whole."""
    text = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _fmt_count(x: Any) -> str:
    v = _num(x)
    if v is None:
        return "—"
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.2f}"


def _fmt_amount(x: Any) -> str:
    v = _num(x)
    return "—" if v is None else f"{v:,.2f}"


def _fmt_pct(x: Any, decimals: int = 2) -> str:
    v = _num(x)
    return "—" if v is None else f"{v * 100:.{decimals}f} %"


def _fmt_g(x: Any, digits: int = 5) -> str:
    """A measurement to ``digits`` significant digits (``10.007``, ``0.020434``)."""
    v = _num(x)
    if v is None:
        return "—"
    return fmt_num(float(f"{v:.{digits}g}"))


def _fmt_index(x: Any) -> str:
    """A capability index with 3 decimals: 1.666 must not print as 1.67."""
    v = _num(x)
    if v is None:
        return "—"
    text = f"{v:.3f}"
    return text[1:] if text.startswith("-") and float(text) == 0.0 else text


def _fmt_ppm(x: Any) -> str:
    v = _num(x)
    if v is None:
        return "—"
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 1:
        return f"{v:.1f}"
    return f"{v:.3g}"


def _section_number(k: int, lang: str) -> str:
    """``"十一、"`` (zh, 1..99) or ``"11. "``."""
    if lang == "zh" and 1 <= k <= 99:
        tens, ones = divmod(k, 10)
        head = "" if tens == 0 else ("十" if tens == 1 else _CN_NUMERALS[tens - 1] + "十")
        return f"{head}{_CN_NUMERALS[ones - 1] if ones else ''}、"
    return f"{k}. "


def _level_names(result: AssessmentResult, model: Model) -> dict[int, tuple[str, str]]:
    if len(result.level_names) == 5:
        return {k + 1: pair for k, pair in enumerate(result.level_names)}
    return {lv.level: (lv.name_zh, lv.name_en) for lv in model.levels}


def _level_pair(level: int, names: Mapping[int, tuple[str, str]], lang: str) -> Pair:
    zh, en = names.get(level, (str(level), str(level)))
    return _bi(zh, en, lang)


def _level_label(level: int, names: Mapping[int, tuple[str, str]], lang: str) -> str:
    """``"L3 保证级"`` / ``"L3 Assurance"``."""
    zh, en = names.get(level, ("", ""))
    return f"L{level} {_pick(zh, en, lang)}".rstrip()


# ------------------------------------------------------------------------------------------------
# Inputs: outcome or result, model, enterprise, period
# ------------------------------------------------------------------------------------------------
def _unpack(
    obj: AssessmentOutcome | AssessmentResult, func: str
) -> tuple[AssessmentResult, Mapping[str, Any], int | None, str | None]:
    """(result, enterprise, year, source) of an AssessmentOutcome or an AssessmentResult."""
    if isinstance(obj, AssessmentResult):
        year = _int(obj.coverage.get("year")) if isinstance(obj.coverage, Mapping) else None
        return obj, {}, year, None
    result = getattr(obj, "result", None)
    if isinstance(result, AssessmentResult):
        enterprise = getattr(obj, "enterprise", None)
        source = getattr(obj, "source", None)
        return (
            result,
            enterprise if isinstance(enterprise, Mapping) else {},
            _int(getattr(obj, "year", None)),
            None if source is None else str(source),
        )
    raise ParameterError(
        f"{func} needs an AssessmentOutcome (from zhuoyue.services.assessment.assess) or an "
        f"AssessmentResult (from zhuoyue.excellence.evaluate); got {type(obj).__name__}."
    )


def _resolve_model(result: AssessmentResult, model: Model | None, func: str) -> Model:
    if model is not None:
        if not isinstance(model, Model):
            raise ParameterError(
                f"The 'model' parameter of {func} must be a zhuoyue.excellence.Model; "
                f"got {type(model).__name__}."
            )
        if model.id != result.model_id:
            raise ParameterError(
                f"{func}: the result was evaluated with model {result.model_id!r}, not "
                f"{model.id!r}. Pass the same model."
            )
        return model
    if result.model_id in {m.id for m in builtin_models()}:
        return load_model(result.model_id)
    raise ParameterError(
        f"{func}: the result was evaluated with model {result.model_id!r}, which is not built "
        "in. Pass it: model=zhuoyue.excellence.load_model(path)."
    )


def _text_value(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    text = str(v).strip()
    return text or None


def _enterprise_rows(
    merged: Mapping[str, Any], lang: str
) -> tuple[list[dict[str, Any]], str | None]:
    """The enterprise table's rows and the name (``None`` when not given)."""
    used: set[str] = set()
    rows: list[dict[str, Any]] = []
    name: str | None = None
    lowered = {str(k).strip().lower(): k for k in merged}
    for key, aliases, (zh, en) in _ENTERPRISE_FIELDS:
        value: str | None = None
        for alias in aliases:
            original = lowered.get(alias.lower())
            if original is None:
                continue
            used.add(str(original))
            if value is None:
                value = _text_value(merged[original])
        if key == "name":
            name = value
        if value is None and key not in _ENTERPRISE_REQUIRED:
            continue
        rows.append({"key": key, "label": _bi(zh, en, lang), "value": value})
    skip = {s.lower() for s in _ENTERPRISE_SKIP}
    for k, v in merged.items():
        if str(k) in used or str(k).strip().lower() in skip:
            continue
        text = _text_value(v)
        if text is not None:
            rows.append({"key": str(k), "label": {"pri": str(k), "sec": ""}, "value": text})
    return rows, name


def _period(period: str | None, year: int | None, lang: str) -> str:
    if period is not None:
        if not isinstance(period, str):
            raise ParameterError(
                "The 'period' parameter of render_declaration must be a str such as "
                f"'2024 年度'; got {type(period).__name__}."
            )
        return period.strip() or "—"
    if year is None:
        return "—"
    if lang == "zh":
        return f"{year} 年度（{year}-01-01 至 {year}-12-31）"
    return f"Year {year} ({year}-01-01 to {year}-12-31)"


def _generated(generated_at: datetime | str | None) -> str:
    if generated_at is None:
        return datetime.now().astimezone().strftime("%Y-%m-%d %H:%M")
    if isinstance(generated_at, datetime):
        return generated_at.strftime("%Y-%m-%d %H:%M")
    if isinstance(generated_at, str):
        return generated_at
    raise ParameterError(
        "The 'generated_at' parameter of render_declaration must be a datetime, a str or None; "
        f"got {type(generated_at).__name__}."
    )


# ------------------------------------------------------------------------------------------------
# The radar chart
# ------------------------------------------------------------------------------------------------
def _wrap(text: str, width: float, size: float) -> list[str]:
    """Lines of ``text`` no wider than ``width`` (words kept whole; CJK wraps anywhere)."""
    lines: list[str] = []
    line = ""
    tokens: list[str] = []
    word = ""
    for ch in text:
        if ord(ch) > 0x2E80:
            if word:
                tokens.append(word)
                word = ""
            tokens.append(ch)
        elif ch == " ":
            tokens.append(word + " ")
            word = ""
        else:
            word += ch
    if word:
        tokens.append(word)
    for tok in tokens:
        if line and _text_width((line + tok).rstrip(), size) > width:
            lines.append(line.rstrip())
            line = tok.lstrip()
        else:
            line += tok
    if line.strip():
        lines.append(line.rstrip())
    return lines or [text]


def radar_svg(
    result: AssessmentResult,
    *,
    lang: str = "zh",
    names: Mapping[int, tuple[str, str]] | None = None,
) -> str:
    """The aspects of ``result`` on a radar chart (inline SVG, levels 1–5).

    One axis per aspect (the first at the top, clockwise); the rings are levels 1–5 at radii
    proportional to the level (level 5 = the outer ring, ``data-radius`` on the root). The
    achieved polygon (``data-role="achieved"``) joins each aspect's level; the dashed polygon
    (``data-role="next"``) is the next level every aspect must reach (absent at level 5).
    ``data-levels`` on the achieved polygon lists the levels in axis order; the centre is
    ``data-cx``, ``data-cy`` on the root. The box grows to hold the labels.

    >>> from zhuoyue.excellence import evaluate
    >>> svg = radar_svg(evaluate({}))
    >>> svg.count('data-role="achieved"'), svg.count('data-role="next"')
    (1, 1)
    """
    check_lang(lang, "radar_svg")
    lv_names = names if names is not None else {k + 1: p for k, p in enumerate(result.level_names)}
    aspects = result.aspects
    n = len(aspects)
    w, r_max = _RADAR_W, _RADAR_R
    size, step = 13.0, 16.0
    angles = [-math.pi / 2 + 2 * math.pi * i / n for i in range(n)]
    cx = w / 2

    # first pass, centre at y = 0: the labels' lines and where they sit
    labels: list[tuple[float, float, str, list[tuple[str, bool]], int]] = []
    top, bottom = -r_max - 8.0, r_max + 8.0
    for i, a in enumerate(aspects):
        c, s = math.cos(angles[i]), math.sin(angles[i])
        x, y = cx + (r_max + 12) * c, (r_max + 12) * s
        if c > 0.25:
            anchor, room = "start", w - x - 4
        elif c < -0.25:
            anchor, room = "end", x - 4
        else:
            anchor, room = "middle", w - 8
        lines = [(ln, False) for ln in _wrap(_pick(a.name_zh, a.name_en, lang), room, size)]
        lines.append((_level_label(a.level, lv_names, lang), True))
        height = step * len(lines)
        if s < -0.25:
            first = y - height + size * 0.55
        elif s > 0.25:
            first = y + size
        else:
            first = y - height / 2 + size * 0.85
        top = min(top, first - size)
        bottom = max(bottom, first + step * (len(lines) - 1) + size * 0.35)
        labels.append((x, first, anchor, lines, a.level))
    pad = 6.0
    cy = -top + pad
    h = bottom - top + 2 * pad

    def point(i: int, level: float) -> tuple[float, float]:
        rad = r_max * level / 5.0
        return cx + rad * math.cos(angles[i]), cy + rad * math.sin(angles[i])

    def poly(levels: Sequence[float]) -> str:
        return " ".join(f"{x:.2f},{y:.2f}" for x, y in (point(i, v) for i, v in enumerate(levels)))

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w:.0f} {h:.0f}" '
        f'width="{w:.0f}" height="{h:.0f}" class="radar" data-plot="radar" role="img" '
        f'data-cx="{cx:.2f}" data-cy="{cy:.2f}" data-radius="{r_max:.2f}" '
        f'font-family="{_e(FONT_STACK)}" font-size="{size:.0f}" '
        f'aria-label="{_e(_pick("各方面等级雷达图", "Aspect levels radar chart", lang))}">'
    ]
    if n == 0:
        out.append("</svg>")
        return "".join(out)
    # rings and axes
    for k in range(1, 6):
        if n >= 3:
            out.append(
                f'<polygon points="{poly([k] * n)}" fill="{"#f7f9fb" if k == 5 else "none"}" '
                f'stroke="#aeb8c3" stroke-width="{1.2 if k == 5 else 0.8}" data-ring="{k}"/>'
            )
    for i in range(n):
        x, y = point(i, 5)
        out.append(
            f'<line x1="{cx:.2f}" y1="{cy:.2f}" x2="{x:.2f}" y2="{y:.2f}" '
            'stroke="#aeb8c3" stroke-width="0.8"/>'
        )
    for k in range(1, 6):  # ring numbers along the first axis
        x, y = point(0, k)
        out.append(
            f'<text x="{x + 4:.1f}" y="{y + 11:.1f}" font-size="10" fill="#7b8591" '
            f'data-ring-label="{k}">{k}</text>'
        )
    levels = [a.level for a in aspects]
    nxt = result.next_level
    if nxt is not None:
        out.append(
            f'<polygon points="{poly([nxt] * n)}" fill="none" stroke="#37474f" '
            f'stroke-width="1.4" stroke-dasharray="5 4" data-role="next" data-level="{nxt}"/>'
        )
    color = _RADAR_FILL.get(result.level, "#1f4e79")
    out.append(
        f'<polygon points="{poly(levels)}" fill="{color}" fill-opacity="0.22" stroke="{color}" '
        f'stroke-width="2.2" stroke-linejoin="round" data-role="achieved" '
        f'data-levels="{" ".join(str(v) for v in levels)}"/>'
    )
    for i, v in enumerate(levels):
        x, y = point(i, v)
        out.append(f'<circle cx="{x:.2f}" cy="{y:.2f}" r="3.6" fill="{color}"/>')
    # labels: the aspect's name (wrapped) and its level in the level's colour
    for x, first, anchor, lines, level in labels:
        fg = LEVEL_COLORS.get(level, ("#1d2329", ""))[0]
        for k, (ln, is_level) in enumerate(lines):
            attrs = f'font-weight="700" fill="{fg}"' if is_level else 'fill="#1d2329"'
            out.append(
                f'<text x="{x:.1f}" y="{cy + first + k * step:.1f}" text-anchor="{anchor}" '
                f"{attrs}>{_e(ln)}</text>"
            )
    out.append("</svg>")
    return "".join(out)


# ------------------------------------------------------------------------------------------------
# Quantitative indicators against their thresholds
# ------------------------------------------------------------------------------------------------
def _threshold_cells(ind: Indicator, lang: str) -> list[Pair]:
    """The five cells of a metric: level 1 is what falls short of level 2."""
    by_level = {t.level: t for t in ind.thresholds}
    cells: list[Pair] = []
    t2 = by_level.get(2)
    if t2 is None or t2.op == "tracked":
        cells.append(_bi("未统计", "not tracked", lang))
    else:
        neg = OP_NEGATION.get(t2.op, "")
        cells.append(
            {
                "pri": f"{neg} {ind.display(t2.value)}",
                "sec": _pick("或未统计", "or not tracked", lang),
            }
        )
    for k in range(2, 6):
        t = by_level.get(k)
        if t is None:
            cells.append({"pri": "—", "sec": ""})
        elif t.op == "tracked":
            cells.append(_bi("已统计", "tracked", lang))
        else:
            text = f"{OP_SYMBOL.get(t.op, t.op)} {ind.display(t.value)}"
            cells.append({"pri": text, "sec": ""})
    return cells


def _metric_note(ind: Indicator, detail: Mapping[str, Any], lang: str) -> str:
    """One line under a metric's value: what it was computed from."""
    if ind.method == "sigma_level":
        ppm = _num(detail.get("ppm"))
        if ppm is None:
            return ""
        unit = "DPMO" if detail.get("basis") == "defects" else "ppm"
        return f"{_fmt_ppm(ppm)} {unit}"
    if ind.method == "cpk":
        low = detail.get("lowest")
        computed = _int(detail.get("computed"))
        if low is None:
            return ""
        if lang == "zh":
            return f"最低 {low}" + (f"（共 {computed} 项）" if computed else "")
        return f"lowest {low}" + (f" of {computed}" if computed else "")
    if ind.method == "rolled_yield":
        n = _int(detail.get("n_steps"))
        if not n:
            return ""
        return f"{n} 道工序之积" if lang == "zh" else f"{n} steps"
    if ind.method == "loss_rate":
        cost, ov = _num(detail.get("cost")), _num(detail.get("output_value"))
        if cost is None or ov is None:
            return ""
        return f"{_fmt_count(cost)} ÷ {_fmt_count(ov)}"
    return ""


def _not_tracked_reason(detail: Any, reason_zh: str, reason_en: str, lang: str) -> str:
    """Why a metric has no value: the data layer's reason when it gave one."""
    why = detail.get("reason") if isinstance(detail, Mapping) else None
    label = _pick("原因", "why", lang)
    if isinstance(why, str) and why.strip():
        return f"{label}：{why.strip()}" if lang == "zh" else f"{label}: {why.strip()}"
    return _pick(reason_zh, reason_en, lang)


def _metrics_context(
    result: AssessmentResult, model: Model, names: Mapping[int, tuple[str, str]], lang: str
) -> list[dict[str, Any]]:
    rows = []
    for ind in model.metrics:
        m = result.metrics.get(ind.id)
        if m is None:
            continue
        detail = m.detail if isinstance(m.detail, Mapping) else {}
        ok = m.status == "ok" and m.value is not None
        rows.append(
            {
                "id": ind.id,
                "name": _bi(ind.name_zh, ind.name_en, lang),
                "ok": ok,
                "value": ind.display(m.value) if ok else "",
                "not_tracked": _bi("未统计", "not tracked", lang),
                "reason": ""
                if ok
                else _not_tracked_reason(m.detail, m.reason_zh, m.reason_en, lang),
                "note": _metric_note(ind, detail, lang) if ok else "",
                "level": m.level,
                "level_label": _level_label(m.level, names, lang),
                "cells": _threshold_cells(ind, lang),
            }
        )
    return rows


# ------------------------------------------------------------------------------------------------
# Basis of the metrics: the data behind each value (by the indicator's method)
# ------------------------------------------------------------------------------------------------
def _as_rows(x: Any) -> list[Mapping[str, Any]]:
    if isinstance(x, Sequence) and not isinstance(x, str):
        return [r for r in x if isinstance(r, Mapping)]
    return []


def _basis_sigma(ind: Indicator, d: Mapping[str, Any], lang: str) -> dict[str, Any] | None:
    if _num(d.get("ppm")) is None:
        return None
    defects = d.get("basis") == "defects"
    kv = [
        (
            _bi("计算依据", "Basis", lang),
            _pick("缺陷数 / 机会数（DPMO）", "defects per opportunities (DPMO)", lang)
            if defects
            else _pick("不合格品数 / 产品数", "defectives per unit", lang),
        ),
        (_bi("产品数", "Units", lang), _fmt_count(d.get("units"))),
    ]
    if defects:
        kv.append((_bi("缺陷数", "Defects", lang), _fmt_count(d.get("defects"))))
        kv.append((_bi("机会数", "Opportunities", lang), _fmt_count(d.get("opportunities"))))
    else:
        kv.append((_bi("不合格品数", "Defectives", lang), _fmt_count(d.get("defective"))))
    kv.append((_bi("百万分率", "Parts per million", lang), _fmt_ppm(d.get("ppm"))))
    sig = _num(d.get("sigma_level"))
    shift = _num(d.get("shift"))
    kv.append(
        (
            _bi("西格玛水平", "Sigma level", lang),
            ("—" if sig is None else f"{sig:.2f}σ")
            + (
                ""
                if shift is None
                else _pick(f"（含 {shift:g}σ 漂移）", f" ({shift:g}σ shift)", lang)
            ),
        )
    )
    if d.get("capped"):
        kv.append(
            (_bi("说明", "Note", lang), _pick("零不良：按上限处理", "no defects: capped", lang))
        )
    products = _as_rows(d.get("products"))
    rows = []
    if len(products) > 1:
        for p in products[:_MAX_PRODUCTS]:
            sl = _num(p.get("sigma_level"))
            rows.append(
                [
                    str(p.get("product", "—")),
                    _fmt_count(p.get("units")),
                    _fmt_count(p.get("defective", p.get("defects"))),
                    _fmt_ppm(p.get("ppm")),
                    "—" if sl is None else f"{sl:.2f}σ",
                ]
            )
    return {
        "kind": "kv",
        "title": _bi(ind.name_zh, ind.name_en, lang),
        "kv": [{"label": k, "value": v} for k, v in kv],
        "head": [
            _bi("产品", "Product", lang),
            _bi("产品数", "Units", lang),
            _bi("不合格", "Defective", lang),
            {"pri": "ppm", "sec": ""},
            _bi("西格玛水平", "Sigma", lang),
        ],
        "num_from": 1,
        "rows": rows,
        "more": max(0, len(products) - _MAX_PRODUCTS) if len(products) > 1 else 0,
    }


def _basis_cpk(
    ind: Indicator, d: Mapping[str, Any], names: Mapping[int, tuple[str, str]], lang: str
) -> dict[str, Any] | None:
    chars = _as_rows(d.get("characteristics"))
    if not chars:
        return None
    computed = [
        c for c in chars if c.get("status", "ok") == "ok" and _num(c.get("cpk")) is not None
    ]
    missing = [c for c in chars if c not in computed]
    shown = computed[:_MAX_CHARACTERISTICS] + missing[:_MAX_CHARACTERISTICS]
    rows = []
    for c in shown:
        lv = _int(c.get("level"))
        stable = c.get("in_control")
        if stable is None:
            st = "—"
        else:
            st = (
                _pick("受控", "in control", lang)
                if stable
                else _pick("失控", "not in control", lang)
            )
        reason = str(c.get("reason") or "")
        rows.append(
            {
                "cells": [
                    str(c.get("code", "—")),
                    str(c.get("name") or ""),
                    str(c.get("step") or ""),
                    _fmt_count(c.get("n")),
                    _fmt_g(c.get("mean")),
                    _fmt_g(c.get("sigma", c.get("sigma_within"))),
                    _fmt_g(c.get("lsl")),
                    _fmt_g(c.get("usl")),
                    _fmt_index(c.get("cpk")),
                ],
                "level": lv,
                "level_label": "—" if lv is None else _level_label(lv, names, lang),
                "stable": st,
                "unstable": stable is False,
                "reason": reason,
            }
        )
    more = len(chars) - len(shown)
    nt = _num(d.get("next_threshold"))
    failing = [str(x) for x in d.get("failing_next", ()) or ()]
    note = ""
    if nt is not None and failing:
        nl = _int(d.get("next_level"))
        lvl = "" if nl is None else _level_label(nl, names, lang)
        listed = ", ".join(failing[:12]) + (" …" if len(failing) > 12 else "")
        note = _pick(
            f"低于 {lvl} 门槛 Cpk {nt:g} 的关键特性：{listed}",
            f"Key characteristics below the {lvl} threshold Cpk {nt:g}: {listed}",
            lang,
        )
    return {
        "kind": "cpk",
        "title": _bi(ind.name_zh, ind.name_en, lang),
        "head": [
            _bi("特性", "Code", lang),
            _bi("名称", "Name", lang),
            _bi("工序", "Step", lang),
            {"pri": "n", "sec": ""},
            _bi("均值", "Mean", lang),
            _bi("σ组内", "σ within", lang),
            {"pri": "LSL", "sec": ""},
            {"pri": "USL", "sec": ""},
            {"pri": "Cpk", "sec": ""},
        ],
        "rows": rows,
        "more": more,
        "note": note,
    }


def _basis_yield(ind: Indicator, d: Mapping[str, Any], lang: str) -> dict[str, Any] | None:
    steps = _as_rows(d.get("steps"))
    if not steps:
        return None
    weakest = d.get("weakest_step")
    rows = []
    for s in steps[:_MAX_STEPS]:
        fpy = _num(s.get("fpy"))
        if fpy is None:
            sub, ok = _num(s.get("submitted")), _num(s.get("passed_first"))
            fpy = ok / sub if sub and ok is not None else None
        rows.append(
            {
                "cells": [
                    str(s.get("step", "—")),
                    _fmt_count(s.get("submitted")),
                    _fmt_count(s.get("passed_first")),
                    _fmt_pct(fpy),
                ],
                "weak": weakest is not None and s.get("step") == weakest,
            }
        )
    ry = _num(d.get("rolled_yield"))
    return {
        "kind": "steps",
        "title": _bi(ind.name_zh, ind.name_en, lang),
        "head": [
            _bi("工序", "Step", lang),
            _bi("交验数", "Submitted", lang),
            _bi("一次交验合格数", "Passed first", lang),
            _bi("一次交验合格率", "First-pass yield", lang),
        ],
        "rows": rows,
        "more": max(0, len(steps) - _MAX_STEPS),
        "total": _fmt_pct(ry),
        "total_label": _bi("全过程（各工序之积）", "Rolled (product over the steps)", lang),
    }


def _basis_loss(ind: Indicator, d: Mapping[str, Any], lang: str) -> dict[str, Any] | None:
    cats = _as_rows(d.get("categories"))
    if not cats:
        return None
    rows = []
    for c in cats:
        zh = str(c.get("name_zh") or c.get("category") or "")
        en = str(c.get("name_en") or c.get("category") or "")
        rows.append(
            {
                "cells": [
                    _pick(zh, en, lang),
                    str(c.get("category", "")),
                    _fmt_amount(c.get("amount")),
                    _fmt_pct(c.get("share"), 1),
                    _fmt_pct(c.get("cumulative_share"), 1),
                ]
            }
        )
    return {
        "kind": "loss",
        "title": _bi(ind.name_zh, ind.name_en, lang),
        "head": [
            _bi("费用类别", "Category", lang),
            _bi("代码", "Code", lang),
            _bi("金额", "Amount", lang),
            _bi("占比", "Share", lang),
            _bi("累计", "Cumulative", lang),
        ],
        "rows": rows,
        "more": 0,
        "total": _fmt_amount(d.get("cost")),
        "total_label": _bi("合计", "Total", lang),
        "output_value": _fmt_amount(d.get("output_value")),
        "rate": _fmt_pct(d.get("rate")),
    }


def _basis_context(
    result: AssessmentResult, model: Model, names: Mapping[int, tuple[str, str]], lang: str
) -> list[dict[str, Any]]:
    out = []
    for ind in model.metrics:
        m = result.metrics.get(ind.id)
        if m is None or m.status != "ok" or not isinstance(m.detail, Mapping):
            continue
        block: dict[str, Any] | None = None
        if ind.method == "sigma_level":
            block = _basis_sigma(ind, m.detail, lang)
        elif ind.method == "cpk":
            block = _basis_cpk(ind, m.detail, names, lang)
        elif ind.method == "rolled_yield":
            block = _basis_yield(ind, m.detail, lang)
        elif ind.method == "loss_rate":
            block = _basis_loss(ind, m.detail, lang)
        if block is not None:
            out.append(block)
    return out


# ------------------------------------------------------------------------------------------------
# Gaps, plan, evidence
# ------------------------------------------------------------------------------------------------
def _gap_value(x: float | None, decimals: int, unit: str) -> str:
    if x is None:
        return "—"
    text = f"{x:.{decimals}f}"
    if not unit:
        return text
    return f"{text} {unit}" if unit == "%" else f"{text}{unit}"


def _gaps_context(
    result: AssessmentResult, model: Model, names: Mapping[int, tuple[str, str]], lang: str
) -> list[dict[str, Any]]:
    rows = []
    for g in sorted(result.gaps, key=lambda g: not g.binding):
        try:
            ind: Indicator | None = model.indicator(g.item)
        except KeyError:
            ind = None
        target = _level_label(g.target_level, names, lang)
        if g.kind == "metric" and ind is not None:
            dec = ind.decimals
            if g.current is None:
                current = _pick("未统计", "not tracked", lang)
            else:
                current = _gap_value(g.current, dec, g.unit)
            if g.op == "tracked" or g.required is None:
                required = _pick("已统计", "tracked", lang)
            else:
                required = f"{OP_SYMBOL.get(g.op, g.op)} {_gap_value(g.required, dec, g.unit)}"
            if g.difference is None:
                gap = _pick("先建立统计", "start tracking", lang)
            else:
                d = abs(g.difference)
                strict = g.op in (">", "<")
                up = g.difference >= 0
                pp = g.unit == "%"
                amount = f"{d:.{dec}f}"
                if lang == "zh":
                    unit = " 个百分点" if pp else (g.unit and f" {g.unit}")
                    gap = f"{'提高' if up else '降低'} {amount}{unit}{'以上' if strict else ''}"
                else:
                    unit = " pp" if pp else g.unit
                    more = "more than " if strict else ""
                    gap = f"{'raise' if up else 'cut'} by {more}{amount}{unit}"
        else:
            cur = _int(g.current)
            req = _int(g.required)
            if g.kind == "aspect" and g.current is not None:
                current = f"{g.current:.2f}"
            elif cur is None:
                current = "—"
            else:
                ires = None
                with contextlib.suppress(KeyError):
                    ires = result.indicator(g.item)
                if ires is not None and ires.reached_by == "unanswered":
                    current = _pick("未作答（L1）", "not answered (L1)", lang)
                else:
                    current = _level_label(cur, names, lang)
            required = "—" if req is None else f"≥ {_level_label(req, names, lang)}"
            diff = g.difference or 0.0
            d_text = (
                f"{diff:.2f}".rstrip("0").rstrip(".") if not diff.is_integer() else f"{diff:.0f}"
            )
            gap = f"差 {d_text} 级" if lang == "zh" else f"{d_text} level{'s' if diff > 1 else ''}"
        aspect = ""
        try:
            a = model.aspect(g.aspect)
            aspect = _pick(a.name_zh, a.name_en, lang)
        except KeyError:
            pass
        rows.append(
            {
                "name": _bi(g.name_zh, g.name_en, lang),
                "aspect": aspect,
                "kind": g.kind,
                "current": current,
                "required": required,
                "target": target,
                "gap": gap,
                "binding": g.binding,
            }
        )
    return rows


def _plan_context(
    result: AssessmentResult, names: Mapping[int, tuple[str, str]], lang: str
) -> list[dict[str, Any]]:
    rows = []
    for k, act in enumerate(result.plan, start=1):
        kind = {
            "metric": _bi("量化指标", "metric", lang),
            "indicator": _bi("达到锚点", "anchor", lang),
            "evidence": _bi("补充证据", "evidence", lang),
        }.get(act.kind, {"pri": act.kind, "sec": ""})
        rows.append(
            {
                "number": k,
                "text": _pick(act.action_zh, act.action_en, lang),
                "kind": kind,
                "evidence": act.kind == "evidence",
                "target": _level_label(act.target_level, names, lang),
                "task": _pick(act.policy_task, act.policy_task_en, lang) or "—",
                "binding": act.binding,
            }
        )
    return rows


def _evidence_context(
    result: AssessmentResult, model: Model, names: Mapping[int, tuple[str, str]], lang: str
) -> list[dict[str, Any]]:
    groups = []
    for a in result.aspects:
        rows = []
        for r in a.indicators:
            if r.kind == "metric":
                continue
            if r.reached_by == "unanswered":
                status = "unanswered"
            elif r.evidence_ok is False:
                status = "missing"
            elif r.evidence:
                status = "ok"
            else:
                status = "not_needed"
            claimed = "—" if r.claimed is None else _level_label(r.claimed, names, lang)
            counted = (
                _level_label(r.level, names, lang)
                if r.claimed is not None and r.claimed != r.level
                else ""
            )
            rows.append(
                {
                    "id": r.id,
                    "name": _bi(r.name_zh, r.name_en, lang),
                    "claimed": claimed,
                    "claimed_level": r.claimed,
                    "counted": counted,
                    "evidence": list(r.evidence),
                    "respondent": r.respondent or "",
                    "status": status,
                    "note": _pick(r.note_zh, r.note_en, lang),
                }
            )
        if rows:
            groups.append({"name": _bi(a.name_zh, a.name_en, lang), "rows": rows})
    return groups


# ------------------------------------------------------------------------------------------------
# Coverage, model, conventions, declaration
# ------------------------------------------------------------------------------------------------
def _plain_value(v: Any, lang: str, key: str = "") -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return _pick("是", "yes", lang) if v else _pick("否", "no", lang)
    if isinstance(v, int | float):
        if "year" in key and float(v).is_integer():
            return str(int(v))
        return _fmt_count(v)
    sep = "；" if lang == "zh" else "; "
    if isinstance(v, Mapping):
        if not v:
            return _pick("无", "none", lang)
        return sep.join(f"{k} {_plain_value(x, lang, str(k))}" for k, x in v.items())
    if isinstance(v, Sequence) and not isinstance(v, str):
        if not v:
            return _pick("无", "none", lang)
        return ", ".join(_plain_value(x, lang, key) for x in v)
    return str(v)


#: a coverage value longer than this takes a whole row of the table
_WIDE = 16


def _coverage_context(
    coverage: Mapping[str, Any],
    data_summary: Mapping[str, Any] | None,
    source: str | None,
    lang: str,
) -> list[list[dict[str, Any]]]:
    """Rows of the coverage table: two short items side by side, long ones alone."""
    items: list[dict[str, Any]] = []
    for key, value in coverage.items():
        label = _COVERAGE_LABELS.get(str(key))
        if key == "year_source" and isinstance(value, str) and value in _YEAR_SOURCES:
            text = _pick(*_YEAR_SOURCES[value], lang)
        else:
            text = _plain_value(value, lang, str(key))
        items.append(
            {"label": _bi(*label, lang) if label else {"pri": str(key), "sec": ""}, "value": text}
        )
    if source:
        items.append({"label": _bi("数据来源", "Source", lang), "value": source})
    for key, value in (data_summary or {}).items():
        items.append(
            {"label": {"pri": str(key), "sec": ""}, "value": _plain_value(value, lang, str(key))}
        )
    short = [i for i in items if len(i["value"]) <= _WIDE]
    wide = [i for i in items if len(i["value"]) > _WIDE]
    rows = [short[k : k + 2] for k in range(0, len(short), 2)]
    rows.extend([i] for i in wide)
    return rows


def _conventions(result: AssessmentResult, model: Model, lang: str) -> list[str]:
    out: list[str] = []
    rules = sorted({a.rule for a in model.aspects})
    weighted = "weighted" in rules
    out.append(
        _pick(
            "最弱环节原则：企业等级为各方面及各量化指标所达等级中的最低者；"
            + (
                "方面等级取其指标等级的最低者。"
                if not weighted
                else "方面等级按其规则取指标等级的最低者（min）或加权平均后向下取整（weighted）。"
            )
            + "必备指标未达到其起始等级时，所在方面止于前一级。",
            "Weakest link: the enterprise's level is the lowest level reached by any aspect or "
            "quantitative indicator; "
            + (
                "an aspect's level is the lowest of its indicators. "
                if not weighted
                else "an aspect's level is the lowest of its indicators (min) or the floor of "
                "their weighted mean (weighted). "
            )
            + "A mandatory indicator below its starting level caps its aspect one level below.",
            lang,
        )
    )
    for ind in model.metrics:
        if ind.method != "sigma_level":
            continue
        shift = _num(ind.params.get("shift"))
        shift = 1.5 if shift is None else shift
        ppm = "、".join(f"{z}σ ≈ {_fmt_ppm(sigma_to_ppm(z, shift))}" for z in (3, 4, 5, 6))
        ppm_en = ", ".join(f"{z}σ ≈ {_fmt_ppm(sigma_to_ppm(z, shift))}" for z in (3, 4, 5, 6))
        out.append(
            _pick(
                f"{ind.name_zh}：按惯例含 {shift:g}σ 长期漂移，ppm = Φ(−(Z − {shift:g})) × 10⁶"
                f"（{ppm} ppm，按精确值计算）。",
                f"{ind.name_en}: with the conventional {shift:g}σ long-term shift, "
                f"ppm = Φ(−(Z − {shift:g})) × 10⁶ ({ppm_en} ppm, computed exactly).",
                lang,
            )
        )
        break
    for ind in model.metrics:
        if ind.method == "cpk":
            out.append(
                _pick(
                    f"{ind.name_zh}：取各关键特性 Cpk 的最小值；Cpk 以稳定受控过程为前提，"
                    "失控特性的能力指数仅供参考。",
                    f"{ind.name_en}: the lowest Cpk among the key characteristics; Cpk presumes "
                    "a stable process, so the index of a characteristic not in control is "
                    "indicative only.",
                    lang,
                )
            )
            break
    if any(ind.method == "loss_rate" for ind in model.metrics):
        out.append(
            _pick(
                "内、外部质量损失率 = 评价年度的相应损失费用 ÷ 年度总产值；预防和鉴定费用单独统计，"
                "不计入损失率。",
                "Internal and external loss rates = the failure costs of the assessed year ÷ the "
                "annual total output value; prevention and appraisal costs are tracked apart and "
                "are not in the rates.",
                lang,
            )
        )
    out.append(
        _pick(
            f"阈值比较：与阈值相对相差不超过 {model.rel_tol:g} 的数值视为等于阈值"
            "（如 190/200 即为 95 %）。",
            f"Thresholds: a value within {model.rel_tol:g} (relative) of a threshold equals it "
            "(190/200 is exactly 95 %).",
            lang,
        )
    )
    if result.require_evidence:
        ev_zh = "未提供证据的自评按经验级计。"
        ev_en = "answers without evidence count as level 1."
    else:
        ev_zh = "未提供证据的自评已计入并标注“无证据”，待核实。"
        ev_en = "answers without evidence are counted, flagged and to be verified."
    out.append(
        _pick(
            f"证据：锚点累积，自评 L{model.evidence_from} 及以上须列明证据；{ev_zh}",
            f"Evidence: anchors are cumulative; answers at level {model.evidence_from} or higher "
            f"must name their evidence; {ev_en}",
            lang,
        )
    )
    if model.scoring_method == "linear":
        score_zh = "指标得分 = 权重 × (等级 − 1) / 4"
        score_en = "indicator score = weight × (level − 1) / 4"
    else:
        score_zh = "指标得分按模型文件给出的各级分值"
        score_en = "indicator scores are the points the model file gives for each level"
    out.append(
        _pick(
            f"得分：满分 {_fmt_score(model.scoring_total)}，{score_zh}；得分仅供参考，等级只由"
            "最弱环节原则决定。",
            f"Score: out of {_fmt_score(model.scoring_total)}; {score_en}. The score informs; "
            "the level is decided by the weakest-link rule alone.",
            lang,
        )
    )
    if model.source_zh or model.source_en:
        out.append(
            _pick(
                f"阈值与等级描述来源：{model.source_zh}",
                f"Thresholds and level descriptions: {model.source_en}",
                lang,
            )
        )
    return out


def _declaration_text(
    result: AssessmentResult,
    model: Model,
    name: str | None,
    period: str,
    names: Mapping[int, tuple[str, str]],
    lang: str,
) -> list[str]:
    level = _level_label(result.level, names, lang)
    score = f"{_fmt_score(result.score)} / {_fmt_score(result.max_score)}"
    title = _pick(model.title_zh, model.title_en, lang) or model.id
    n_unsupported = len(result.unsupported)
    if lang == "zh":
        who = name or "本企业"
        paras = [
            f"{who}依据《制造业卓越质量工程实施意见》（工信部联科〔2023〕249号）及其附件"
            f"《制造业企业质量管理能力等级划分说明》，采用评价模型《{title}》（{model.id}，"
            f"版本 {model.version}），对本企业 {period} 的质量管理能力开展了自我评价。"
            f"评价结果为：质量管理能力等级 {level}，得分 {score}。",
            "本企业郑重声明：本声明所依据的数据、自评结论及证据材料真实、准确、完整，评价过程遵循"
            "上述模型的规则；如有不实，本企业承担相应责任。本企业将按本声明所列改进计划持续改进，"
            "并接受主管部门及第三方评价机构的核查。",
        ]
        if n_unsupported:
            paras.append(
                f"其中 {n_unsupported} 项自评尚未提供证据（见“证据索引”中标注“无证据”的条目），"
                "本企业将补充相应证据后提交核查。"
            )
        return paras
    who = name or "The enterprise"
    paras = [
        f"{who} has assessed its quality management capability for {period} under the "
        "Implementation Opinions on the Manufacturing Excellence Quality Project (MIIT "
        f"249/2023) and its annex on capability levels, with the model {model.id} version "
        f"{model.version} ({title}). The result is the quality "
        f"management capability level {level}, with a score of {score}.",
        "The enterprise declares that the data, self-assessment answers and evidence behind this "
        "declaration are true, accurate and complete, and that the assessment followed the rules "
        "of the model; it bears the responsibility for any untrue statement. It will improve "
        "along the plan of this declaration and accepts verification by the competent "
        "authorities and third-party assessors.",
    ]
    if n_unsupported:
        paras.append(
            f"{n_unsupported} answer(s) do not yet name their evidence (flagged as no evidence in "
            "the evidence index); the enterprise will supply it before verification."
        )
    return paras


# ------------------------------------------------------------------------------------------------
# Public API
# ------------------------------------------------------------------------------------------------
def render_declaration(
    outcome_or_result: AssessmentOutcome | AssessmentResult,
    *,
    enterprise: Mapping[str, Any] | None = None,
    period: str | None = None,
    lang: str = "zh",
    generated_at: datetime | str | None = None,
    data_summary: Mapping[str, Any] | None = None,
    model: Model | None = None,
) -> str:
    """The self-declaration (自我声明) as one self-contained HTML document (A4, printable).

    Parameters
    ----------
    outcome_or_result : AssessmentOutcome or AssessmentResult
        From :func:`zhuoyue.services.assessment.assess` (its enterprise, year, data source and
        coverage are used) or :func:`zhuoyue.excellence.evaluate`.
    enterprise : mapping, optional
        ``name``, ``credit_code`` (统一社会信用代码), ``industry``, ``region`` and optionally
        ``address``, ``contact``, ``phone`` (the workbook's Chinese labels are accepted too);
        overrides the outcome's. Other keys are listed as they are.
    period : str, optional
        The assessed period as printed; default the assessed year (``2024 年度（2024-01-01 至
        2024-12-31）``).
    lang : {"zh", "en"}
        ``"zh"``: Chinese first, English in smaller text; ``"en"``: the other way round.
    generated_at : datetime or str, optional
        The time printed on the document; default now (pass one for byte-identical output).
    data_summary : mapping, optional
        More lines for the data-coverage table (e.g. files read and their rows).
    model : Model, optional
        The model the result was evaluated with; default the built-in model of that id.

    Returns
    -------
    str
        The HTML document: title, enterprise, the level badge with the score, the aspect radar
        chart, the quantitative indicators against their five thresholds and the data behind
        them, binding constraints, gaps, the improvement plan, the evidence index, data
        coverage, warnings, the model and its conventions, the declaration and the signature
        block. Every text from the data is escaped.

    Raises
    ------
    ParameterError
        An unknown ``lang``; an argument of the wrong type; a result of a model that is not
        built in and not passed as ``model``.
    """
    func = "render_declaration"
    check_lang(lang, func)
    result, ent_out, year, source = _unpack(outcome_or_result, func)
    model = _resolve_model(result, model, func)
    if enterprise is not None and not isinstance(enterprise, Mapping):
        raise ParameterError(
            f"The 'enterprise' parameter of {func} must be a mapping such as "
            f"{{'name': ..., 'credit_code': ...}}; got {type(enterprise).__name__}."
        )
    if data_summary is not None and not isinstance(data_summary, Mapping):
        raise ParameterError(
            f"The 'data_summary' parameter of {func} must be a mapping; "
            f"got {type(data_summary).__name__}."
        )
    merged: dict[str, Any] = {**dict(ent_out), **dict(enterprise or {})}
    if year is None:
        for key in _ENTERPRISE_SKIP:
            if key in merged:
                year = _int(merged[key]) if _num(merged[key]) is not None else None
                break
    names = _level_names(result, model)
    rows, name = _enterprise_rows(merged, lang)
    period_text = _period(period, year, lang)
    nxt = result.next_level
    coverage = result.coverage if isinstance(result.coverage, Mapping) else {}
    sections = [
        "enterprise",
        "result",
        "metrics",
        "binding",
        "gaps",
        "plan",
        "evidence",
        "coverage",
        "warnings",
        "model",
        "declaration",
    ]
    number = {s: _section_number(k + 1, lang) for k, s in enumerate(sections)}
    context: dict[str, Any] = {
        "lang": lang,
        "html_lang": "zh-CN" if lang == "zh" else "en",
        "version": zhuoyue.__version__,
        "font_stack": FONT_STACK,
        "serif_stack": SERIF_STACK,
        "n": number,
        "title": _bi(
            "制造业企业质量管理能力自我声明",
            "Self-declaration of the quality management capability of a manufacturing enterprise",
            lang,
        ),
        "basis": _bi(
            "依据《制造业卓越质量工程实施意见》（工信部联科〔2023〕249号）附件"
            "《制造业企业质量管理能力等级划分说明》",
            "under the annex of the Implementation Opinions on the Manufacturing Excellence "
            "Quality Project (MIIT 249/2023)",
            lang,
        ),
        "doc_title": (
            f"{name + ' · ' if name else ''}"
            f"{_pick('质量管理能力自我声明', 'Quality management self-declaration', lang)}"
        ),
        "running_title": _pick("质量管理能力自我声明", "Quality management self-declaration", lang),
        "page_label": (
            ('"第 " counter(page) " 页 / 共 " counter(pages) " 页"')
            if lang == "zh"
            else ('"Page " counter(page) " of " counter(pages)')
        ),
        "enterprise": rows,
        "name": name,
        "top_manager": next((r["value"] for r in rows if r["key"] == "top_manager"), None),
        "period": period_text,
        "generated_at": _generated(generated_at),
        "model": {
            "id": model.id,
            "version": model.version,
            "title": _bi(model.title_zh, model.title_en, lang),
            "source": _pick(model.source_zh, model.source_en, lang),
            "notes": _pick(model.notes_zh, model.notes_en, lang),
            "file": os.path.basename(model.source) if model.source else "",
        },
        "level": {
            "level": result.level,
            "name": _level_pair(result.level, names, lang),
            "label": _level_label(result.level, names, lang),
            "score": _fmt_score(result.score),
            "max_score": _fmt_score(result.max_score),
            "next": None if nxt is None else _level_label(nxt, names, lang),
            "ladder": [
                {"level": k, "name": _level_pair(k, names, lang), "active": k == result.level}
                for k in range(1, 6)
            ],
        },
        "radar": Markup(radar_svg(result, lang=lang, names=names)),
        "aspects": [
            {
                "name": _bi(a.name_zh, a.name_en, lang),
                "level": a.level,
                "label": _level_label(a.level, names, lang),
                "score": _fmt_score(a.score),
                "max_score": _fmt_score(a.max_score),
                "indicators": len(a.indicators),
                "below_next": 0 if nxt is None else sum(1 for i in a.indicators if i.level < nxt),
            }
            for a in result.aspects
        ],
        "metrics": _metrics_context(result, model, names, lang),
        "basis_blocks": _basis_context(result, model, names, lang),
        "binding": [{"text": _pick(c.message_zh, c.message_en, lang)} for c in result.binding],
        "gaps": _gaps_context(result, model, names, lang),
        "plan": _plan_context(result, names, lang),
        "evidence": _evidence_context(result, model, names, lang),
        "unsupported": len(result.unsupported),
        "require_evidence": result.require_evidence,
        "coverage": _coverage_context(coverage, data_summary, source, lang),
        "warnings": list(result.warnings),
        "conventions": _conventions(result, model, lang),
        "declaration": _declaration_text(result, model, name, period_text, names, lang),
        "level_colors": LEVEL_COLORS,
    }
    return _environment().get_template("declaration.html.j2").render(context)


_SUFFIXES = (".html", ".htm", ".pdf")


def write_declaration(
    outcome_or_result: AssessmentOutcome | AssessmentResult,
    path: str | os.PathLike[str],
    *,
    lang: str = "zh",
    enterprise: Mapping[str, Any] | None = None,
    period: str | None = None,
    generated_at: datetime | str | None = None,
    data_summary: Mapping[str, Any] | None = None,
    model: Model | None = None,
) -> Path:
    """Write the self-declaration to ``path``: ``.html`` (or ``.htm``) as HTML, ``.pdf`` as PDF.

    The PDF is rendered by WeasyPrint (the ``report`` extra) with the CJK font of the system
    (Debian: ``fonts-noto-cjk``), which it embeds. The file is replaced in one step. The other
    parameters are those of :func:`render_declaration`.

    Returns
    -------
    Path
        The path written.

    Raises
    ------
    ParameterError
        ``path`` does not end in ``.html``, ``.htm`` or ``.pdf``; an unknown ``lang``; see
        :func:`render_declaration`.
    OutputError
        The folder does not exist or is not writable, the path is a folder, WeasyPrint is not
        installed (``pip install 'zhuoyue[report]'``) or cannot render the PDF.
    """
    func = "write_declaration"
    check_lang(lang, func)
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in _SUFFIXES:
        raise ParameterError(
            f"The 'path' parameter of {func} must end in .html or .pdf. Got {target.name!r}. "
            "Example: declaration.pdf"
        )
    html = render_declaration(
        outcome_or_result,
        enterprise=enterprise,
        period=period,
        lang=lang,
        generated_at=generated_at,
        data_summary=data_summary,
        model=model,
    )
    if suffix != ".pdf":
        return write_report(html, target)
    return _write_pdf(html, target)


def _check_folder(target: Path) -> Path:
    folder = target.parent
    if target.is_dir():
        raise OutputError(
            f"Cannot write the declaration to {target}: it is a folder. Give a file name, "
            f"e.g. {target / 'declaration.pdf'}."
        )
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise OutputError(
            f"Cannot write the declaration to {target}: the folder {folder} {what}. "
            "Create the folder first or choose another path."
        )
    return folder


def _write_pdf(html: str, target: Path) -> Path:
    folder = _check_folder(target)
    try:
        weasyprint = importlib.import_module("weasyprint")
    except ImportError as exc:
        raise OutputError(
            f"Cannot write the PDF {target}: WeasyPrint is not installed. Install the report "
            "extra: pip install 'zhuoyue[report]' (or write .html and print it from a browser)."
        ) from exc
    except OSError as exc:  # WeasyPrint loads Pango at import time
        raise OutputError(
            f"Cannot write the PDF {target}: WeasyPrint cannot load its system libraries "
            f"({exc}). Install Pango (Debian: libpango-1.0-0 libpangoft2-1.0-0) and a CJK font "
            "(fonts-noto-cjk), or write .html."
        ) from exc
    tmp = folder / f".{target.name}.{os.getpid()}.tmp"
    try:
        weasyprint.HTML(string=html, base_url=str(folder.resolve())).write_pdf(str(tmp))
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        reason = exc.strerror or str(exc)
        raise OutputError(
            f"Cannot write the PDF {target}: {reason}. Check that the folder is writable and has "
            "free space, or choose another path."
        ) from exc
    except Exception as exc:  # a rendering failure inside WeasyPrint: name it, never a bare crash
        tmp.unlink(missing_ok=True)
        raise OutputError(
            f"Cannot write the PDF {target}: WeasyPrint failed to render the declaration "
            f"({type(exc).__name__}: {exc}). Write .html instead and report this problem."
        ) from exc
    return target
