"""The 等级自评 pages: the assessments, the questionnaire, the result, declare and verify.

* ``/assessment`` — the organization's assessments (an assessor: those shared with them), and
  for a user who writes data a year to start or open a draft, or to compute as a preview.
* ``/assessment/{id}`` — the questionnaire by aspect: each questionnaire indicator's five
  cumulative anchors as a choice, the evidence the chosen anchor asks for, the evidence texts
  and the respondent, evidence files; save the draft, compute the level (a preview of the
  form's answers, nothing stored), download the self-declaration PDF, declare (locks the
  snapshot), verify (an assessor). A declared assessment is read-only.
* ``/assessment/{id}/result`` — the level, the aspect radar, what binds it, the five
  quantitative indicators against their thresholds, the gaps to the next level, the improvement
  plan, the data coverage and the claims without evidence: the stored snapshot of a declared
  assessment, the live result of a draft.
* ``/assessment/preview/{year}`` — the live result of a year (nothing stored).

Permissions follow ``zhuoyue.api.routers.assessments`` exactly: ``read_assessment`` reads the
organization's assessments, ``read_shared_assessment`` only those shared with the user; saving
and evidence need ``write_data``, declaring ``declare_assessment``, verifying
``verify_assessment``. Every service call below checks them again.

The answer of an item holds a level, evidence texts and a respondent (the service knows no other
field): the form's "evidence and comments" box is the evidence list, one entry per line.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from fastapi.responses import RedirectResponse
from nicegui import events, ui
from sqlalchemy.orm import Session, sessionmaker

from zhuoyue.errors import ParameterError, ValidationError, ZhuoyueError
from zhuoyue.excellence import Model, default_model, load_model
from zhuoyue.excellence.model import Aspect, Indicator
from zhuoyue.services import assessments as svc
from zhuoyue.services.accounts import Principal, require
from zhuoyue.services.assessments import MAX_EVIDENCE_BYTES
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
)
from zhuoyue.web.overview import LEVEL_COLOURS, aspect_radar, binding_constraints, level_badge

__all__ = [
    "EVIDENCE_TYPES",
    "MAX_TEXT",
    "MAX_YEAR",
    "MIN_YEAR",
    "FormAnswer",
    "answers_from_stored",
    "check_year",
    "coverage_rows",
    "draft_action",
    "draft_payload",
    "evidence_problem",
    "format_size",
    "gap_rows",
    "group_by_aspect",
    "metric_rows",
    "plan_rows",
    "problems_by_item",
    "progress",
    "register",
    "split_evidence",
    "validate_answer",
]

#: the years the API accepts (``zhuoyue.api.schemas.MIN_YEAR/MAX_YEAR``)
MIN_YEAR, MAX_YEAR = 1000, 9998
#: the longest evidence text or respondent the service stores
MAX_TEXT = 2000
#: the evidence file types the page accepts (documents, images, sheets, archives)
EVIDENCE_TYPES: tuple[str, ...] = (
    ".pdf",
    ".png",
    ".jpg",
    ".jpeg",
    ".gif",
    ".webp",
    ".tif",
    ".tiff",
    ".doc",
    ".docx",
    ".xls",
    ".xlsx",
    ".ppt",
    ".pptx",
    ".odt",
    ".ods",
    ".txt",
    ".csv",
    ".zip",
    ".7z",
    ".rar",
)
#: how many actions of the improvement plan show before "more"
_PLAN_SHOWN = 12
#: the separators the service splits an evidence text at
_EVIDENCE_SPLIT = re.compile(r"[;；\n]+")

add_texts(
    {
        "as_title": ("等级自评", "Self-assessment"),
        "as_list": ("自评记录", "Assessments"),
        "as_start": ("新建或打开自评", "Start or open an assessment"),
        "as_year": ("年度", "Year"),
        "as_year_bad": (
            f"年度须为 {MIN_YEAR}–{MAX_YEAR} 之间的整数",
            f"The year must be a whole number from {MIN_YEAR} to {MAX_YEAR}",
        ),
        "as_new": ("新建草稿", "Start a draft"),
        "as_open_draft": ("打开该年度草稿", "Open the year's draft"),
        "as_revise": ("修订：以已声明的答案新建草稿", "Revise: a new draft from the declaration"),
        "as_preview": ("按当前数据计算等级", "Compute the level from the current data"),
        "as_none": (
            "尚无自评：输入年度并新建草稿，然后逐项填写问卷。",
            "No assessment yet: enter a year, start a draft, then answer the questionnaire.",
        ),
        "as_none_readonly": (
            "尚无自评：请具有数据写入权限的同事新建草稿。",
            "No assessment yet: a colleague who may write data can start a draft.",
        ),
        "as_none_shared": (
            "尚无与您共享的自我声明：请企业在评价中将您添加为评价人员。",
            "No declaration is shared with you yet: ask the enterprise to share it with you.",
        ),
        "as_shared_note": (
            "仅显示与您共享的评价。",
            "Only the assessments shared with you.",
        ),
        "as_col_status": ("状态", "Status"),
        "as_col_level": ("等级", "Level"),
        "as_col_score": ("得分", "Score"),
        "as_col_answered": ("已答", "Answered"),
        "as_col_declared": ("声明人 / 时间", "Declared by / at"),
        "as_col_verified": ("核验人 / 时间", "Verified by / at"),
        "as_questionnaire": ("自评问卷", "Questionnaire"),
        "as_progress": ("已答 {a} / {t}", "Answered {a} / {t}"),
        "as_save": ("保存草稿", "Save draft"),
        "as_saved": ("草稿已保存", "Draft saved"),
        "as_unsaved": ("有未保存的修改", "Unsaved changes"),
        "as_fix_fields": ("请先更正标出的字段。", "Correct the marked fields first."),
        "as_compute": ("计算等级", "Compute the level"),
        "as_computing": ("正在计算等级…", "Computing the level…"),
        "as_preview_box": (
            "计算结果（按问卷当前答案预览，不保存）",
            "Result (a preview of the form's answers; nothing stored)",
        ),
        "as_result": ("查看结果", "View the result"),
        "as_pdf": ("下载自我声明 PDF", "Download the self-declaration PDF"),
        "as_pdf_busy": ("正在生成 PDF（约 5–7 秒）…", "Building the PDF (about 5–7 s)…"),
        "as_pdf_ok": ("PDF 已生成", "The PDF is ready"),
        "as_declare": ("自我声明", "Declare"),
        "as_declare_title": ("确认自我声明", "Confirm the self-declaration"),
        "as_declare_text": (
            "自我声明将按已保存的答案、证据和当前数据计算等级，保存结果快照并锁定本次评价："
            "此后答案和证据不能再修改（如需修订，须新建草稿）。声明记入审计日志。",
            "Declaring computes the level from the saved answers, evidence and current data, "
            "stores the result snapshot and locks the assessment: its answers and evidence can no "
            "longer change (to revise, start a new draft). The declaration is audited.",
        ),
        "as_declare_unsaved": (
            "未保存的修改将先保存。",
            "Your unsaved changes will be saved first.",
        ),
        "as_declared_ok": ("已自我声明：L{level}", "Self-declared: L{level}"),
        "as_cancel": ("取消", "Cancel"),
        "as_locked": (
            "本次评价已于 {date} 由 {who} 自我声明并锁定，问卷只读。",
            "Self-declared on {date} by {who} and locked: the questionnaire is read-only.",
        ),
        "as_verified_note": ("已于 {date} 由 {who} 核验。", "Verified on {date} by {who}."),
        "as_readonly": (
            "您的角色只能查看本评价。",
            "Your role may only read this assessment.",
        ),
        "as_verify": ("核验", "Verify"),
        "as_verify_title": ("核验自我声明", "Verify the self-declaration"),
        "as_verify_text": (
            "作为第三方评价人员，确认该自我声明经核验属实。核验记入审计日志，且不可撤销。",
            "As the third-party assessor, confirm that the self-declaration is verified. "
            "Verification is audited and cannot be undone.",
        ),
        "as_verify_note": ("核验意见（可选）", "Note (optional)"),
        "as_verified_ok": ("已核验", "Verified"),
        "as_evidence_asked": ("所需证据", "Evidence asked for"),
        "as_evidence_text": ("证据与说明（每行一项）", "Evidence and comments (one per line)"),
        "as_respondent": ("填写人 / 部门", "Respondent"),
        "as_need_evidence": (
            "L{n} 及以上须列明证据（文字或文件），否则列为无证据声明。",
            "From L{n} an answer must name its evidence (text or file), else it is listed as "
            "a claim without evidence.",
        ),
        "as_not_answered": ("未作答", "Not answered"),
        "as_clear": ("清除答案", "Clear the answer"),
        "as_files": ("证据文件", "Evidence files"),
        "as_no_files": ("尚无证据文件。", "No evidence file yet."),
        "as_upload": ("上传证据文件", "Upload an evidence file"),
        "as_upload_hint": (
            "可上传 {types}；每个文件最大 {mb} MB。",
            "Accepted: {types}; at most {mb} MB per file.",
        ),
        "as_upload_ok": ("已上传：{name}", "Uploaded: {name}"),
        "as_empty_file": (
            "文件为空：请选择有内容的文件。",
            "The file is empty: choose a file with content.",
        ),
        "as_too_large": (
            "文件过大：最大 {mb} MB，请压缩或拆分。",
            "The file is too large: at most {mb} MB. Compress or split it.",
        ),
        "as_bad_type": (
            "不支持的文件类型“{ext}”：请上传 {types}。",
            "The file type “{ext}” is not accepted: upload {types}.",
        ),
        "as_deleted": ("已删除：{name}", "Deleted: {name}"),
        "as_too_long": ("最多 {n} 个字符", "At most {n} characters"),
        "as_metrics_note": (
            "以下定量指标由企业数据自动计算，无需填写；计算等级后显示数值。",
            "These quantitative indicators are computed from the data: nothing to answer. "
            "Compute the level to see their values.",
        ),
        "as_metrics": ("定量指标与等级阈值", "The quantitative indicators against thresholds"),
        "as_gaps": ("距下一等级的差距", "Gaps to the next level"),
        "as_no_gaps": ("无差距：已达到最高等级。", "No gap: the highest level is reached."),
        "as_plan": ("改进计划（以评促改）", "Improvement plan"),
        "as_more": ("其余 {n} 项行动", "{n} more actions"),
        "as_no_plan": ("无需改进行动。", "No action needed."),
        "as_coverage": ("数据覆盖", "Data coverage"),
        "as_unsupported": ("无证据的声明", "Claims without evidence"),
        "as_no_unsupported": (
            "无：每项声明均列明了证据。",
            "None: every claim names its evidence.",
        ),
        "as_unsupported_item": (
            "{name}：声明 L{claimed}，按 L{counted} 计",
            "{name}: claims L{claimed}, counted as L{counted}",
        ),
        "as_warnings": ("数据提示", "Data warnings"),
        "as_binding_mark": ("制约", "binding"),
        "as_target": ("目标等级", "Target"),
        "as_task": ("重点任务", "Key task"),
        "as_action": ("行动", "Action"),
        "as_current": ("当前", "Current"),
        "as_required": ("要求", "Required"),
        "as_difference": ("差距", "Gap"),
        "as_tracked": ("有统计", "tracked"),
        "as_back": ("返回问卷", "Back to the questionnaire"),
        "as_all": ("全部自评", "All assessments"),
        "as_draft_note": (
            "草稿：按当前数据和已保存的答案计算（尚未声明）。",
            "A draft: computed from the current data and the saved answers (not declared).",
        ),
        "as_snapshot_note": (
            "已声明的结果快照（声明时的数据与答案）。",
            "The declared snapshot (the data and answers at declaration).",
        ),
        "as_preview_title": (
            "{year} 年度：按当前数据计算（预览，不保存）",
            "{year}: computed from the current data (a preview, nothing stored)",
        ),
        "as_shared_draft": (
            "该评价尚未自我声明：声明后可查看其结果。",
            "This assessment is not declared yet: its result shows once it is declared.",
        ),
        "as_cov_year": ("评价年度", "Year assessed"),
        "as_cov_months": ("有数据的月数", "Months with data"),
        "as_cov_months_by_table": ("各表月数", "Months per table"),
        "as_cov_key": ("关键特性（已计算 / 总数）", "Key characteristics (computed / all)"),
        "as_cov_chars": ("特性数", "Characteristics"),
        "as_cov_measurements": ("测量值", "Measurements"),
        "as_cov_steps": ("工序数", "Steps"),
        "as_cov_inspections": ("检验记录", "Inspection rows"),
        "as_cov_costs": ("质量成本记录", "Quality cost rows"),
        "as_cov_product_quality": ("产品质量记录", "Product quality rows"),
        "as_cov_output_year": ("产值年度", "Output value year"),
        "as_cov_tables": ("使用的数据表", "Tables used"),
    }
)


# ------------------------------------------------------------------------------------------------
# Pure pieces
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class FormAnswer:
    """One questionnaire item as the form holds it (``level`` ``None``: not answered)."""

    level: int | None = None
    evidence: str = ""  # the evidence texts, one per line
    respondent: str = ""


def split_evidence(value: str) -> list[str]:
    """The evidence entries of a text (split at new lines and semicolons, as the service)."""
    return [e.strip() for e in _EVIDENCE_SPLIT.split(value) if e.strip()]


def answers_from_stored(stored: Mapping[str, Any]) -> dict[str, FormAnswer]:
    """The form's answers from a draft's stored answers (``{item: {level, evidence,
    respondent}}`` or ``{item: level}``); items without a level are left out."""
    out: dict[str, FormAnswer] = {}
    for item, raw in stored.items():
        if isinstance(raw, Mapping):
            level, evidence, who = raw.get("level"), raw.get("evidence"), raw.get("respondent")
        else:
            level, evidence, who = raw, None, None
        if isinstance(level, bool) or not isinstance(level, int):
            continue
        if isinstance(evidence, str):
            entries = split_evidence(evidence)
        else:
            entries = [str(e).strip() for e in evidence or [] if str(e).strip()]
        out[str(item)] = FormAnswer(level, "\n".join(entries), str(who or "").strip())
    return out


def draft_payload(
    form: Mapping[str, FormAnswer], stored: Mapping[str, Any]
) -> dict[str, dict[str, Any] | None]:
    """The answers :func:`zhuoyue.services.assessments.save_draft` merges: every answered item,
    and ``None`` for an item stored but no longer answered (which removes it)."""
    out: dict[str, dict[str, Any] | None] = {}
    for item, ans in form.items():
        if ans.level is None:
            if item in stored:
                out[item] = None
            continue
        out[item] = {
            "level": ans.level,
            "evidence": split_evidence(ans.evidence),
            "respondent": ans.respondent.strip() or None,
        }
    return out


def progress(form: Mapping[str, FormAnswer], items: Sequence[str]) -> tuple[int, int]:
    """(answered, total) over the questionnaire ``items``."""
    answered = sum(1 for i in items if (a := form.get(i)) is not None and a.level is not None)
    return answered, len(items)


def group_by_aspect(model: Model) -> list[tuple[Aspect, list[Indicator]]]:
    """The model's aspects in order, each with its indicators in model order (questionnaire
    and quantitative); an aspect without indicators is left out."""
    groups = [(a, list(model.indicators_of(a.id))) for a in model.aspects]
    return [(a, inds) for a, inds in groups if inds]


def validate_answer(ans: FormAnswer, lang: Lang) -> dict[str, str]:
    """Messages per field (``evidence``, ``respondent``) the service would refuse."""
    problems: dict[str, str] = {}
    too_long = text("as_too_long", lang).format(n=MAX_TEXT)
    if any(len(e) > MAX_TEXT for e in split_evidence(ans.evidence)):
        problems["evidence"] = too_long
    if len(ans.respondent.strip()) > MAX_TEXT:
        problems["respondent"] = too_long
    return problems


def problems_by_item(exc: ValidationError) -> dict[str, str]:
    """The service's answer problems by questionnaire item (the first one of each item)."""
    out: dict[str, str] = {}
    for p in exc.problems:
        if p.column is not None:
            out.setdefault(str(p.column), p.message)
    return out


def format_size(size: int) -> str:
    """A file size for people (``"12.3 kB"``)."""
    if size < 1000:
        return f"{size} B"
    for unit in ("kB", "MB", "GB"):
        size_f = size / 1000
        if size_f < 1000 or unit == "GB":
            return f"{size_f:.3g} {unit}"
        size = int(size_f)
    return f"{size} B"  # pragma: no cover - unreachable


def evidence_problem(filename: str, size: int, lang: Lang) -> str | None:
    """Why an evidence file cannot be attached (empty, too large, a type not accepted)."""
    if size <= 0:
        return text("as_empty_file", lang)
    if size > MAX_EVIDENCE_BYTES:
        return text("as_too_large", lang).format(mb=MAX_EVIDENCE_BYTES // (1024 * 1024))
    name = filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1].lower()
    ext = "." + name.rsplit(".", 1)[-1] if "." in name.strip(".") else ""
    if ext not in EVIDENCE_TYPES:
        return text("as_bad_type", lang).format(
            ext=ext or name, types=" ".join(t.lstrip(".") for t in EVIDENCE_TYPES)
        )
    return None


def check_year(value: Any) -> int | None:
    """The year a form field holds, or ``None`` when it is not a whole year the API accepts."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if not number.is_integer() or not MIN_YEAR <= number <= MAX_YEAR:
        return None
    return int(number)


def draft_action(
    rows: Sequence[Mapping[str, Any]], year: int
) -> tuple[Literal["create", "open", "revise"], int | None]:
    """What starting work on ``year`` means: open its latest assessment when it is a draft,
    revise it (a new draft) when it is declared, else create a draft; with the id to open."""
    of_year = [r for r in rows if r.get("year") == year]
    if not of_year:
        return "create", None
    latest = max(of_year, key=lambda r: int(r["id"]))
    if latest.get("status") == "draft":
        return "open", int(latest["id"])
    return "revise", None


def _name(item: Mapping[str, Any], lang: Lang) -> str:
    return str(item.get("name_en" if lang == "en" else "name_zh") or item.get("id", ""))


_OPS = {">=": "≥", ">": ">", "<=": "≤", "<": "<", "==": "="}


def _threshold_text(ind: Indicator, op: str, value: float | None, lang: Lang) -> str:
    if op == "tracked" or value is None:
        return text("as_tracked", lang)
    return f"{_OPS.get(op, op)} {ind.display(value)}"


def metric_rows(result: Mapping[str, Any], model: Model, lang: Lang) -> list[dict[str, Any]]:
    """The quantitative indicators of a result against the model's thresholds: one row each,
    with ``value``, ``level`` and a column ``l2``..``l5`` per threshold (``met``: the levels
    whose threshold the value meets)."""
    rows: list[dict[str, Any]] = []
    for mid, m in (result.get("metrics") or {}).items():
        try:
            ind = model.indicator(str(mid))
        except KeyError:
            ind = None
        level = m.get("level")
        names = m.get("level_name") or {}
        row: dict[str, Any] = {
            "id": str(mid),
            "name": _name(m, lang),
            "value": m.get("display") or "—",
            "level": f"L{level} {names.get(lang, '')}".strip() if level else "—",
            "reason": str(m.get("reason_en" if lang == "en" else "reason_zh") or ""),
            "met": list(range(2, int(level) + 1)) if level else [],
        }
        for t in ind.thresholds if ind is not None else ():
            assert ind is not None
            row[f"l{t.level}"] = _threshold_text(ind, t.op, t.value, lang)
        rows.append(row)
    return rows


def _indicator_of(model: Model, item: str) -> Indicator | None:
    try:
        return model.indicator(item)
    except KeyError:
        return None


def gap_rows(result: Mapping[str, Any], model: Model, lang: Lang) -> list[dict[str, Any]]:
    """The gaps to the next level, binding ones first: item name, current → required, the
    difference and the explanation."""
    rows: list[dict[str, Any]] = []
    for i, g in enumerate(result.get("gaps") or []):
        ind = _indicator_of(model, str(g.get("item")))
        unit = str(g.get("unit") or "")

        def show(v: Any, ind: Indicator | None = ind, unit: str = unit) -> str:
            if v is None:
                return "—"
            if unit == "level":
                return f"L{float(v):g}"
            if ind is not None and ind.is_metric:
                return ind.display(float(v))
            return f"{float(v):.4g}"

        op = _OPS.get(str(g.get("op") or ""), str(g.get("op") or ""))
        diff = g.get("difference")
        if diff is None:
            diff_text = "—"
        elif unit == "level":
            diff_text = f"{float(diff):g}"
        elif ind is not None and ind.is_metric:
            diff_text = ind.display(float(diff))
        else:
            diff_text = f"{float(diff):.4g}"
        rows.append(
            {
                "key": i,
                "item": str(g.get("item")),
                "name": _name(g, lang),
                "binding": bool(g.get("binding")),
                "target": f"L{g.get('target_level')}",
                "current": show(g.get("current")),
                "required": f"{op} {show(g.get('required'))}".strip(),
                "difference": diff_text,
                "message": str(g.get("message_en" if lang == "en" else "message_zh") or ""),
            }
        )
    rows.sort(key=lambda r: (not r["binding"], r["key"]))
    return rows


def plan_rows(result: Mapping[str, Any], model: Model, lang: Lang) -> list[dict[str, Any]]:
    """The improvement plan's actions, binding ones first: target level, item name, policy
    task (重点任务) and the action text."""
    rows: list[dict[str, Any]] = []
    for i, p in enumerate(result.get("plan") or []):
        item = str(p.get("item"))
        ind = _indicator_of(model, item)
        name = (ind.name_en if lang == "en" else ind.name_zh) if ind is not None else item
        task = p.get("policy_task_en" if lang == "en" else "policy_task") or ""
        rows.append(
            {
                "key": i,
                "item": item,
                "name": name,
                "binding": bool(p.get("binding")),
                "target_level": int(p.get("target_level") or 0),
                "task": str(task),
                "action": str(p.get("action_en" if lang == "en" else "action_zh") or ""),
            }
        )
    rows.sort(key=lambda r: (not r["binding"], r["target_level"], r["key"]))
    return rows


def coverage_rows(coverage: Mapping[str, Any], lang: Lang) -> list[tuple[str, str]]:
    """What data the result stands on, as (label, value) lines; absent figures are left out."""
    out: list[tuple[str, str]] = []

    def add(key: str, value: Any) -> None:
        if value is not None and value != "" and value != {} and value != []:
            out.append((text(key, lang), str(value)))

    add("as_cov_year", coverage.get("year"))
    add("as_cov_months", coverage.get("months"))
    by_table = coverage.get("months_by_table") or {}
    if isinstance(by_table, Mapping) and by_table:
        add("as_cov_months_by_table", ", ".join(f"{k} {v}" for k, v in by_table.items()))
    key_all, key_done = (
        coverage.get("key_characteristics"),
        coverage.get("key_characteristics_computed"),
    )
    if key_all is not None:
        add("as_cov_key", f"{key_done if key_done is not None else '—'} / {key_all}")
    add("as_cov_chars", coverage.get("characteristics"))
    for key, field in (
        ("as_cov_measurements", "measurements"),
        ("as_cov_steps", "steps"),
        ("as_cov_inspections", "inspection_rows"),
        ("as_cov_costs", "cost_rows"),
        ("as_cov_product_quality", "product_quality_rows"),
    ):
        value = coverage.get(field)
        add(key, f"{value:,}" if isinstance(value, int) else value)
    add("as_cov_output_year", coverage.get("output_value_year"))
    tables = coverage.get("tables")
    if isinstance(tables, (list, tuple)) and tables:
        add("as_cov_tables", ", ".join(map(str, tables)))
    return out


def _when(value: Any) -> str:
    return str(value)[:16].replace("T", " ") if value else ""


def _who(user: Any) -> str:
    if not isinstance(user, Mapping):
        return ""
    return str(user.get("display_name") or user.get("username") or user.get("id") or "")


def _model_for(model_id: str | None) -> Model:
    model = default_model()
    if model_id is None or model_id == model.id:
        return model
    try:
        return load_model(model_id)
    except (ZhuoyueError, OSError, KeyError):
        return model


# ------------------------------------------------------------------------------------------------
# Service calls: fn(session, principal, ...) with the API's permission checks
# ------------------------------------------------------------------------------------------------
def _reader(p: Principal) -> int | None:
    """``None`` for the organization's readers; the user id of an assessor (shared only)."""
    action = require(p, "read_assessment", "read_shared_assessment")
    return p.user_id if action == "read_shared_assessment" else None


def load_list(s: Session, p: Principal) -> list[dict[str, Any]]:
    return svc.list_assessments(s, p.org_id, shared_with_user=_reader(p))


def load_one(s: Session, p: Principal, assessment_id: int) -> dict[str, Any]:
    return svc.get_assessment(s, p.org_id, assessment_id, shared_with_user=_reader(p))


def load_result(
    s: Session, p: Principal, assessment_id: int
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The assessment and its result: the stored snapshot once declared, the live result of a
    draft (for the organization's readers; an assessor sees a shared draft's result only once
    it is declared, as through the API)."""
    shared = _reader(p)
    a = svc.get_assessment(s, p.org_id, assessment_id, shared_with_user=shared)
    result = a.pop("result", None)
    if a["status"] != "draft" and result:
        return a, result
    if shared is not None:
        return a, None
    return a, svc.compute_assessment(s, p.org_id, int(a["year"])).to_dict()


def preview(
    s: Session, p: Principal, year: int, answers: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    require(p, "read_assessment")
    return svc.compute_assessment(s, p.org_id, year, answers=answers).to_dict()


def save(
    s: Session, p: Principal, year: int, assessment_id: int, answers: Mapping[str, Any]
) -> dict[str, Any]:
    require(p, "write_data")
    return svc.save_draft(s, p.org_id, year, answers, p.user_id, assessment_id=assessment_id)


def start_draft(s: Session, p: Principal, year: int, new_draft: bool) -> dict[str, Any]:
    require(p, "write_data")
    return svc.save_draft(s, p.org_id, year, {}, p.user_id, new_draft=new_draft)


def upload_evidence(
    s: Session,
    p: Principal,
    assessment_id: int,
    indicator_id: str,
    filename: str,
    content_type: str | None,
    data: bytes,
) -> dict[str, Any]:
    require(p, "write_data")
    return svc.add_evidence(
        s, p.org_id, assessment_id, indicator_id, filename, content_type, data, p.user_id
    )


def remove_evidence(s: Session, p: Principal, assessment_id: int, evidence_id: int) -> None:
    require(p, "write_data")
    svc.delete_evidence(s, p.org_id, assessment_id, evidence_id, p.user_id)


def fetch_evidence(
    s: Session, p: Principal, assessment_id: int, evidence_id: int
) -> tuple[dict[str, Any], bytes]:
    return svc.get_evidence(s, p.org_id, assessment_id, evidence_id, shared_with_user=_reader(p))


def declaration(s: Session, p: Principal, assessment_id: int, lang: str) -> tuple[bytes, str]:
    """The self-declaration PDF and its file name (as the API names it)."""
    shared = _reader(p)
    a = svc.get_assessment(
        s, p.org_id, assessment_id, shared_with_user=shared, include_result=False
    )
    pdf = svc.declaration_pdf(s, p.org_id, assessment_id, lang, shared_with_user=shared)
    return pdf, f"declaration-{a['year']}-{assessment_id}-{lang}.pdf"


def do_declare(s: Session, p: Principal, assessment_id: int) -> dict[str, Any]:
    require(p, "declare_assessment")
    return svc.declare(s, p.org_id, assessment_id, p.user_id)


def do_verify(s: Session, p: Principal, assessment_id: int, note: str | None) -> dict[str, Any]:
    require(p, "verify_assessment")
    return svc.verify(s, p.org_id, assessment_id, p.user_id, note=note)


# ------------------------------------------------------------------------------------------------
# Rendering
# ------------------------------------------------------------------------------------------------
def _status_text(status: str | None, lang: Lang) -> str:
    return text(f"status_{status}", lang) if status else text("status_computed", lang)


_STATUS_COLOURS = {"draft": "grey-7", "self_declared": "blue-8", "verified": "green-8"}


def _status_chip(status: str, lang: Lang) -> None:
    ui.badge(_status_text(status, lang), color=_STATUS_COLOURS.get(status, "grey-7")).props(
        "data-testid=status"
    ).classes("text-sm px-2 py-1")


async def _download_pdf(ctx: PageContext, assessment_id: int, button: ui.button) -> None:
    note = ui.notification(text("as_pdf_busy", ctx.lang), spinner=True, timeout=None)
    async with busy(button):
        try:
            pdf, name = await ctx.call(declaration, assessment_id, ctx.lang)
        except Exception as exc:
            note.dismiss()
            notify_error(exc, ctx.lang)
            return
    note.dismiss()
    ui.download(pdf, name, "application/pdf")
    ui.notify(text("as_pdf_ok", ctx.lang), type="positive")


def _pdf_button(ctx: PageContext, assessment_id: int) -> ui.button:
    b = ui.button(text("as_pdf", ctx.lang), icon="picture_as_pdf").props(
        "outline no-caps data-testid=pdf"
    )
    b.on_click(lambda: _download_pdf(ctx, assessment_id, b))
    return b


def _metrics_table(result: Mapping[str, Any], model: Model, lang: Lang) -> None:
    rows = metric_rows(result, model, lang)
    names = {lv.level: (lv.name_en if lang == "en" else lv.name_zh) for lv in model.levels}
    columns = [
        {"name": "name", "label": text("indicator", lang), "field": "name", "align": "left"},
        {"name": "value", "label": text("value", lang), "field": "value", "align": "right"},
        {"name": "level", "label": text("as_col_level", lang), "field": "level", "align": "left"},
    ] + [
        {"name": f"l{k}", "label": f"L{k} {names.get(k, '')}", "field": f"l{k}", "align": "left"}
        for k in range(2, 6)
    ]
    with ui.card().classes("flex-1 min-w-[min(100%,32rem)]"):
        ui.label(text("as_metrics", lang)).classes("text-lg")
        table = ui.table(columns=columns, rows=rows, row_key="id").classes("w-full")
        table.props("flat dense wrap-cells data-testid=metrics")
        # a threshold the value meets is shown in green
        for k in range(2, 6):
            table.add_slot(
                f"body-cell-l{k}",
                f"""<q-td :props="props" :class="props.row.met.includes({k}) ?
                'text-green-8 text-weight-medium' : 'text-grey-7'">{{{{ props.value }}}}</q-td>""",
            )


def _gaps(result: Mapping[str, Any], model: Model, lang: Lang) -> None:
    rows = gap_rows(result, model, lang)
    with section(text("as_gaps", lang)) as card:
        card.props("data-testid=gaps")
        if not rows:
            ui.label(text("as_no_gaps", lang))
            return
        columns = [
            {"name": "name", "label": text("indicator", lang), "field": "name", "align": "left"},
            {"name": "target", "label": text("as_target", lang), "field": "target"},
            {"name": "current", "label": text("as_current", lang), "field": "current"},
            {"name": "required", "label": text("as_required", lang), "field": "required"},
            {"name": "difference", "label": text("as_difference", lang), "field": "difference"},
            {"name": "message", "label": "", "field": "message", "align": "left"},
        ]
        table = ui.table(columns=columns, rows=rows, row_key="key", pagination=10)
        table.classes("w-full").props("flat dense wrap-cells")
        table.add_slot(
            "body-cell-name",
            f"""<q-td :props="props"><span
            :class="props.row.binding ? 'text-orange-9 text-weight-medium' : ''">{{{{ props.value }}}}</span>
            <q-badge v-if="props.row.binding" color="orange-8" class="q-ml-xs"
            label="{text("as_binding_mark", lang)}" /></q-td>""",
        )


def _plan(result: Mapping[str, Any], model: Model, lang: Lang) -> None:
    rows = plan_rows(result, model, lang)
    with section(text("as_plan", lang)) as card:
        card.props("data-testid=plan")
        if not rows:
            ui.label(text("as_no_plan", lang))
            return
        for r in rows[:_PLAN_SHOWN]:
            _action(r, lang)
        if len(rows) > _PLAN_SHOWN:
            more = len(rows) - _PLAN_SHOWN
            with (
                ui.expansion(text("as_more", lang).format(n=more))
                .classes("w-full")
                .props("dense data-testid=plan-more")
            ):
                for r in rows[_PLAN_SHOWN:]:
                    _action(r, lang)


def _action(r: Mapping[str, Any], lang: Lang) -> None:
    with ui.row().classes("w-full items-start gap-2 no-wrap border-b py-1"):
        ui.badge(f"L{r['target_level']}", color=LEVEL_COLOURS.get(r["target_level"]))
        with ui.column().classes("gap-0 flex-1"):
            with ui.row().classes("items-center gap-2"):
                ui.label(r["name"]).classes("font-medium")
                if r["binding"]:
                    ui.badge(text("as_binding_mark", lang), color="orange-8")
                if r["task"]:
                    ui.label(f"{text('as_task', lang)} {r['task']}").classes(
                        "text-xs text-gray-500"
                    )
            ui.label(r["action"]).classes("text-sm text-gray-800")


def _coverage(result: Mapping[str, Any], lang: Lang) -> None:
    rows = coverage_rows(result.get("coverage") or {}, lang)
    with ui.card().classes("flex-1 min-w-[min(100%,20rem)]").props("data-testid=coverage"):
        ui.label(text("as_coverage", lang)).classes("text-lg")
        with ui.grid(columns=2).classes("gap-x-4 gap-y-1 text-sm"):
            for label, value in rows:
                ui.label(label).classes("text-gray-600")
                ui.label(value)
        warnings = [str(w) for w in result.get("warnings") or []]
        if warnings:
            ui.label(text("as_warnings", lang)).classes("text-sm font-medium mt-2")
            for w in warnings:
                ui.label(f"• {w}").classes("text-xs text-amber-900")


def _unsupported(result: Mapping[str, Any], lang: Lang) -> None:
    items = list(result.get("unsupported") or [])
    with ui.card().classes("flex-1 min-w-[min(100%,20rem)]").props("data-testid=unsupported"):
        ui.label(text("as_unsupported", lang)).classes("text-lg")
        if not items:
            ui.label(text("as_no_unsupported", lang)).classes("text-green-800")
        for u in items:
            ui.label(
                "• "
                + text("as_unsupported_item", lang).format(
                    name=_name(u, lang), claimed=u.get("claimed"), counted=u.get("counted")
                )
            ).classes("text-amber-900")


def render_result(result: dict[str, Any], status: str | None, model: Model, lang: Lang) -> None:
    """The whole result in the current container."""
    level_badge(result, status, lang)
    with ui.row().classes("w-full gap-4 items-stretch"):
        aspect_radar(result, lang)
        _metrics_table(result, model, lang)
    binding_constraints(result, lang)
    _gaps(result, model, lang)
    _plan(result, model, lang)
    with ui.row().classes("w-full gap-4 items-stretch"):
        _coverage(result, lang)
        _unsupported(result, lang)


# ------------------------------------------------------------------------------------------------
# The list
# ------------------------------------------------------------------------------------------------
async def _list_page(ctx: PageContext) -> None:
    lang = ctx.lang
    ui.label(f"{text('as_title', lang)} · {ctx.org_name}").classes("text-2xl")
    try:
        rows = await ctx.call(load_list)
    except Exception as exc:
        show_error(exc, lang)
        return
    shared_only = _reader_is_shared(ctx)
    if ctx.can("write_data") or ctx.can("read_assessment"):
        _start_form(ctx, rows)
    with section(text("as_list", lang)) as card:
        card.props("data-testid=assessments")
        if shared_only:
            ui.label(text("as_shared_note", lang)).classes("text-xs text-gray-500")
        if not rows:
            if shared_only:
                empty_state(text("as_none_shared", lang))
            elif ctx.can("write_data"):
                empty_state(text("as_none", lang))
            else:
                empty_state(text("as_none_readonly", lang))
            return
        total = len(default_model().questionnaire)
        table_rows = [
            {
                "id": r["id"],
                "year": r["year"],
                "status": _status_text(r["status"], lang),
                "level": (
                    f"L{r['level']} {default_model().level_name(int(r['level']), lang)}"
                    if r.get("level")
                    else "—"
                ),
                "score": "—" if r.get("score") is None else f"{float(r['score']):g}",
                "answered": f"{r.get('answered', 0)} / {total}",
                "declared": " · ".join(
                    x for x in (_who(r.get("declared_by")), _when(r.get("declared_at"))) if x
                )
                or "—",
                "verified": " · ".join(
                    x for x in (_who(r.get("verified_by")), _when(r.get("verified_at"))) if x
                )
                or "—",
            }
            for r in rows
        ]
        columns = [
            {"name": "year", "label": text("as_year", lang), "field": "year", "align": "left"},
            {"name": "status", "label": text("as_col_status", lang), "field": "status"},
            {"name": "level", "label": text("as_col_level", lang), "field": "level"},
            {"name": "score", "label": text("as_col_score", lang), "field": "score"},
            {"name": "answered", "label": text("as_col_answered", lang), "field": "answered"},
            {"name": "declared", "label": text("as_col_declared", lang), "field": "declared"},
            {"name": "verified", "label": text("as_col_verified", lang), "field": "verified"},
        ]
        for column in columns:
            column["align"] = "right" if column["name"] in ("score", "answered") else "left"
        table = ui.table(columns=columns, rows=table_rows, row_key="id").classes(
            "w-full cursor-pointer"
        )
        table.props("flat dense wrap-cells data-testid=assessment-table")
        table.on("rowClick", lambda e: ui.navigate.to(f"/assessment/{e.args[1]['id']}"))


def _reader_is_shared(ctx: PageContext) -> bool:
    return not ctx.can("read_assessment") and ctx.can("read_shared_assessment")


def _start_form(ctx: PageContext, rows: list[dict[str, Any]]) -> None:
    lang = ctx.lang
    default_year = rows[0]["year"] if rows else dt.date.today().year - 1
    with section(text("as_start", lang)), ui.row().classes("items-start gap-4 flex-wrap"):
        # the message shows next to the field on every change (NiceGUI's auto-validation)
        year = ui.number(
            text("as_year", lang),
            value=default_year,
            format="%d",
            step=1,
            validation={text("as_year_bad", lang): lambda v: check_year(v) is not None},
        )
        year.props("outlined dense data-testid=year").classes("w-36")
        start = ui.button(icon="edit_note").props("no-caps data-testid=start-draft")
        compute = ui.button(text("as_preview", lang), icon="calculate").props(
            "outline no-caps data-testid=preview"
        )
        start.set_visibility(ctx.can("write_data"))
        compute.set_visibility(ctx.can("read_assessment"))

        def refresh() -> int | None:
            y = check_year(year.value)
            year.validate()
            action = draft_action(rows, y)[0] if y is not None else "create"
            start.set_text(
                text(
                    {"create": "as_new", "open": "as_open_draft", "revise": "as_revise"}[action],
                    lang,
                )
            )
            return y

        year.on_value_change(lambda _e: refresh())
        refresh()

        async def on_start() -> None:
            y = refresh()
            if y is None:
                return
            action, aid = draft_action(rows, y)
            if action == "open" and aid is not None:
                ui.navigate.to(f"/assessment/{aid}")
                return
            async with busy(start):
                try:
                    draft = await ctx.call(start_draft, y, action == "revise")
                except Exception as exc:
                    notify_error(exc, lang)
                    return
            ui.navigate.to(f"/assessment/{draft['id']}")

        def on_compute() -> None:
            y = refresh()
            if y is not None:
                ui.navigate.to(f"/assessment/preview/{y}")

        start.on_click(on_start)
        compute.on_click(on_compute)


# ------------------------------------------------------------------------------------------------
# The questionnaire
# ------------------------------------------------------------------------------------------------
@dataclass
class _Item:
    """The widgets of one questionnaire item."""

    radio: ui.radio
    evidence: ui.textarea
    respondent: ui.input
    asked: ui.label
    hint: ui.label
    files: ui.column
    upload_error: ui.label | None


class _Questionnaire:
    """The questionnaire of one assessment: its form state and its widgets."""

    def __init__(self, ctx: PageContext, assessment: dict[str, Any]) -> None:
        self.ctx = ctx
        self.lang: Lang = ctx.lang
        self.a = assessment
        self.aid = int(assessment["id"])
        self.year = int(assessment["year"])
        self.model = _model_for(assessment.get("model_id"))
        self.items = [i.id for i in self.model.questionnaire]
        self.stored: dict[str, Any] = dict(assessment.get("answers") or {})
        self.form: dict[str, FormAnswer] = answers_from_stored(self.stored)
        self.evidence_files: list[dict[str, Any]] = list(assessment.get("evidence") or [])
        self.locked = assessment["status"] != "draft"
        self.editable = not self.locked and ctx.can("write_data")
        self.dirty = False
        self.widgets: dict[str, _Item] = {}
        self.tabs: dict[str, ui.tab] = {}
        self.progress_label: ui.label | None = None
        self.progress_bar: ui.linear_progress | None = None
        self.dirty_badge: ui.badge | None = None
        self.preview_box: ui.column | None = None

    # -- state
    def _t(self, key: str) -> str:
        return text(key, self.lang)

    def _set(self, item: str, **changes: Any) -> None:
        self.form[item] = replace(self.form.get(item, FormAnswer()), **changes)
        self.dirty = True
        self._refresh_state(item)

    def _refresh_state(self, item: str | None = None) -> None:
        """Progress, the unsaved mark, the tab counts (all, or the tab of ``item``), the item."""
        answered, total = progress(self.form, self.items)
        if self.progress_label is not None:
            self.progress_label.set_text(self._t("as_progress").format(a=answered, t=total))
        if self.progress_bar is not None:
            self.progress_bar.set_value(answered / total if total else 0.0)
        if self.dirty_badge is not None:
            self.dirty_badge.set_visibility(self.dirty)
        aspect_of = self.model.indicator(item).aspect if item is not None else None
        for aspect, inds in group_by_aspect(self.model):
            ids = [i.id for i in inds if not i.is_metric]
            tab = self.tabs.get(aspect.id)
            if tab is None or not ids or aspect_of not in (None, aspect.id):
                continue
            done, n = progress(self.form, ids)
            label = f"{self._aspect_name(aspect)} ({done}/{n})"
            if tab.props.get("label") != label:
                tab.props["label"] = label
                tab.update()
        if item is not None:
            self._refresh_item(item)

    def _refresh_item(self, item: str) -> None:
        w = self.widgets.get(item)
        if w is None:
            return
        ans = self.form.get(item, FormAnswer())
        ind = self.model.indicator(item)
        if ans.level is None:
            w.asked.set_text(f"{self._t('as_evidence_asked')}: —")
        else:
            anchor = ind.anchor(ans.level)
            asked = anchor.evidence_en if self.lang == "en" else anchor.evidence_zh
            w.asked.set_text(f"{self._t('as_evidence_asked')} (L{ans.level}): {asked}")
        files = [e for e in self.evidence_files if e.get("indicator_id") == item]
        needs = (
            ans.level is not None
            and ans.level >= self.model.evidence_from
            and not split_evidence(ans.evidence)
            and not files
        )
        w.hint.set_text(self._t("as_need_evidence").format(n=self.model.evidence_from))
        w.hint.set_visibility(needs)

    def _aspect_name(self, aspect: Aspect) -> str:
        return aspect.name_en if self.lang == "en" else aspect.name_zh

    # -- building
    def build(self) -> None:
        lang = self.lang
        with ui.row().classes("w-full items-center gap-3 flex-wrap"):
            ui.link(self._t("as_all"), "/assessment").classes("text-sm")
            ui.label(
                f"{self.year} · {self._t('as_questionnaire')}"
                if lang == "en"
                else f"{self.year} 年度 · {self._t('as_questionnaire')}"
            ).classes("text-2xl")
            _status_chip(self.a["status"], lang)
            if self.a.get("level"):
                level = int(self.a["level"])
                ui.badge(
                    f"L{level} {self.model.level_name(level, lang)}",
                    color=LEVEL_COLOURS.get(level),
                ).props("data-testid=stored-level")
        self._banner()
        self._toolbar()
        self._tabs()
        self.preview_box = ui.column().classes("w-full gap-4").props("data-testid=preview-box")
        self._refresh_state()
        for item in self.items:
            self._refresh_item(item)

    def _banner(self) -> None:
        a = self.a
        if self.locked:
            with ui.card().classes("w-full bg-blue-50").props("data-testid=locked"):
                with ui.row().classes("items-center gap-2"):
                    ui.icon("lock", color="blue-8")
                    ui.label(
                        self._t("as_locked").format(
                            date=_when(a.get("declared_at"))[:10] or "—",
                            who=_who(a.get("declared_by")) or "—",
                        )
                    )
                if a.get("verified_at"):
                    ui.label(
                        self._t("as_verified_note").format(
                            date=_when(a.get("verified_at"))[:10],
                            who=_who(a.get("verified_by")) or "—",
                        )
                    ).classes("text-green-800")
        elif not self.editable:
            with ui.card().classes("w-full bg-gray-50").props("data-testid=readonly"):
                ui.label(self._t("as_readonly"))

    def _toolbar(self) -> None:
        ctx = self.ctx
        with ui.card().classes("w-full"), ui.row().classes("w-full items-center gap-3 flex-wrap"):
            with ui.column().classes("gap-1 min-w-[12rem] flex-1"):
                self.progress_label = ui.label().props("data-testid=progress")
                self.progress_bar = ui.linear_progress(value=0.0, show_value=False).classes(
                    "w-full"
                )
            self.dirty_badge = ui.badge(self._t("as_unsaved"), color="amber-8").props(
                "data-testid=dirty"
            )
            if self.editable:
                save_btn = ui.button(self._t("as_save"), icon="save").props(
                    "no-caps data-testid=save"
                )
                save_btn.on_click(lambda: self.save(save_btn))
            if not self.locked and ctx.can("read_assessment"):
                compute_btn = ui.button(self._t("as_compute"), icon="calculate").props(
                    "outline no-caps data-testid=compute"
                )
                compute_btn.on_click(lambda: self.compute(compute_btn))
            if ctx.can("read_assessment") or self.locked:
                ui.button(
                    self._t("as_result"),
                    icon="insights",
                    on_click=lambda: ui.navigate.to(f"/assessment/{self.aid}/result"),
                ).props("outline no-caps data-testid=result")
            _pdf_button(ctx, self.aid)
            if not self.locked and ctx.can("declare_assessment"):
                ui.button(
                    self._t("as_declare"), icon="verified", on_click=self.confirm_declare
                ).props("color=deep-orange no-caps data-testid=declare")
            if self.a["status"] == "self_declared" and ctx.can("verify_assessment"):
                ui.button(
                    self._t("as_verify"), icon="task_alt", on_click=self.confirm_verify
                ).props("color=green-8 no-caps data-testid=verify")

    def _tabs(self) -> None:
        groups = group_by_aspect(self.model)
        with (
            ui.tabs()
            .classes("w-full")
            .props(
                "align=left inline-label outside-arrows mobile-arrows no-caps data-testid=aspect-tabs"
            ) as tabs
        ):
            for aspect, _inds in groups:
                self.tabs[aspect.id] = ui.tab(aspect.id, self._aspect_name(aspect)).props(
                    f"data-testid=tab-{aspect.id}"
                )
        with ui.tab_panels(tabs, value=groups[0][0].id if groups else None).classes(
            "w-full bg-transparent"
        ):
            for aspect, inds in groups:
                with ui.tab_panel(aspect.id).classes("p-0 gap-3"):
                    for ind in inds:
                        if not ind.is_metric:
                            self._item(ind)
                    metrics = [i for i in inds if i.is_metric]
                    if metrics:
                        self._metric_card(metrics)

    def _item(self, ind: Indicator) -> None:
        lang, item = self.lang, ind.id
        ans = self.form.get(item, FormAnswer())
        with ui.card().classes("w-full").props(f"data-testid=item-{item}"):
            with ui.row().classes("w-full items-baseline gap-2"):
                ui.label(ind.name_en if lang == "en" else ind.name_zh).classes("text-lg")
                ui.label(item).classes("text-xs text-gray-400")
                if self.editable:
                    ui.button(
                        self._t("as_clear"),
                        icon="backspace",
                        on_click=lambda: self._clear(item),
                    ).props(f"flat dense no-caps size=sm data-testid=clear-{item}").classes(
                        "ml-auto"
                    )
            options = {
                a.level: f"L{a.level} {self.model.level_name(a.level, lang)} — "
                + (a.text_en if lang == "en" else a.text_zh)
                for a in sorted(ind.anchors, key=lambda a: a.level)
            }
            radio = ui.radio(
                options,
                value=ans.level,
                on_change=lambda e: self._set(item, level=e.value),
            ).props(f"data-testid=level-{item}")
            if not self.editable:
                radio.disable()
            asked = ui.label().classes("text-sm text-gray-600").props(f"data-testid=asked-{item}")
            with ui.row().classes("w-full gap-4 flex-wrap items-start"):
                evidence = (
                    ui.textarea(
                        self._t("as_evidence_text"),
                        value=ans.evidence,
                        on_change=lambda e: self._set(item, evidence=str(e.value or "")),
                    )
                    .props(f"outlined dense autogrow data-testid=evidence-{item}")
                    .classes("flex-1 min-w-[16rem]")
                )
                respondent = (
                    ui.input(
                        self._t("as_respondent"),
                        value=ans.respondent,
                        on_change=lambda e: self._set(item, respondent=str(e.value or "")),
                    )
                    .props(f"outlined dense data-testid=respondent-{item}")
                    .classes("w-56")
                )
                if not self.editable:
                    evidence.props("readonly")
                    respondent.props("readonly")
            hint = ui.label().classes("text-xs text-amber-800").props(f"data-testid=hint-{item}")
            with (
                ui.expansion(self._t("as_files"), icon="attach_file")
                .classes("w-full")
                .props(f"dense data-testid=files-{item}") as exp
            ):
                files = ui.column().classes("w-full gap-1")
                upload_error: ui.label | None = None
                if self.editable:
                    upload = (
                        ui.upload(
                            label=self._t("as_upload"),
                            auto_upload=True,
                            max_file_size=MAX_EVIDENCE_BYTES,
                        )
                        .props(
                            # the type is checked on the server, so that its message can say
                            # which types are accepted (a browser filter rejects silently)
                            f"flat bordered dense hide-upload-btn data-testid=upload-{item}"
                        )
                        .classes("w-full max-w-md")
                    )
                    ui.label(
                        text("as_upload_hint", lang).format(
                            types=" ".join(t.lstrip(".") for t in EVIDENCE_TYPES),
                            mb=MAX_EVIDENCE_BYTES // (1024 * 1024),
                        )
                    ).classes("text-xs text-gray-500")
                    upload_error = (
                        ui.label()
                        .classes("text-sm text-negative")
                        .props(f"data-testid=upload-error-{item}")
                    )
                    upload_error.set_visibility(False)
                    upload.on_upload(lambda e, u=upload: self._on_upload(item, e, u))
                    upload.on_rejected(
                        lambda _e: self._upload_failed(
                            item,
                            text("as_too_large", lang).format(
                                mb=MAX_EVIDENCE_BYTES // (1024 * 1024)
                            ),
                        )
                    )
            if any(e.get("indicator_id") == item for e in self.evidence_files):
                exp.open()
        self.widgets[item] = _Item(radio, evidence, respondent, asked, hint, files, upload_error)
        self._render_files(item)

    def _metric_card(self, metrics: list[Indicator]) -> None:
        lang = self.lang
        with ui.card().classes("w-full").props("data-testid=metric-note"):
            ui.label(self._t("as_metrics")).classes("text-lg")
            ui.label(self._t("as_metrics_note")).classes("text-sm text-gray-600")
            for ind in metrics:
                limits = " · ".join(
                    f"L{t.level} {_threshold_text(ind, t.op, t.value, lang)}"
                    for t in ind.thresholds
                )
                with ui.row().classes("w-full gap-2 items-baseline flex-wrap"):
                    ui.label(ind.name_en if lang == "en" else ind.name_zh).classes("font-medium")
                    ui.label(limits).classes("text-sm text-gray-600")

    def _render_files(self, item: str) -> None:
        w = self.widgets[item]
        w.files.clear()
        files = [e for e in self.evidence_files if e.get("indicator_id") == item]
        with w.files:
            if not files:
                ui.label(self._t("as_no_files")).classes("text-sm text-gray-500")
            for e in files:
                with ui.row().classes("items-center gap-2").props(f"data-testid=file-{item}"):
                    ui.icon("description", color="grey-7")
                    ui.button(
                        str(e["filename"]),
                        on_click=lambda e=e: self._download(e),
                    ).props("flat dense no-caps color=primary")
                    ui.label(
                        f"{format_size(int(e['size']))} · sha256 {str(e['sha256'])[:12]}"
                    ).classes("text-xs text-gray-500")
                    if self.editable:
                        ui.button(icon="delete", on_click=lambda e=e: self._delete(item, e)).props(
                            f"flat dense round color=negative data-testid=delete-{item}"
                        )
        self._refresh_item(item)

    # -- actions
    def _clear(self, item: str) -> None:
        w = self.widgets[item]
        w.radio.set_value(None)
        w.evidence.set_value("")
        w.respondent.set_value("")
        self._set(item, level=None, evidence="", respondent="")

    def _upload_failed(self, item: str, message: str) -> None:
        w = self.widgets[item]
        if w.upload_error is not None:
            w.upload_error.set_text(message)
            w.upload_error.set_visibility(True)

    async def _on_upload(
        self, item: str, e: events.UploadEventArguments, upload: ui.upload
    ) -> None:
        w = self.widgets[item]
        if w.upload_error is not None:
            w.upload_error.set_visibility(False)
        data = await e.file.read()
        upload.reset()
        problem = evidence_problem(e.file.name, len(data), self.lang)
        if problem is not None:
            self._upload_failed(item, problem)
            return
        try:
            meta = await self.ctx.call(
                upload_evidence, self.aid, item, e.file.name, e.file.content_type or None, data
            )
        except ZhuoyueError as exc:
            self._upload_failed(item, str(exc))
            return
        except Exception as exc:
            notify_error(exc, self.lang)
            return
        if not any(f["id"] == meta["id"] for f in self.evidence_files):
            self.evidence_files.append(meta)
        self._render_files(item)
        ui.notify(self._t("as_upload_ok").format(name=meta["filename"]), type="positive")

    async def _delete(self, item: str, meta: dict[str, Any]) -> None:
        try:
            await self.ctx.call(remove_evidence, self.aid, int(meta["id"]))
        except Exception as exc:
            notify_error(exc, self.lang)
            return
        self.evidence_files = [f for f in self.evidence_files if f["id"] != meta["id"]]
        self._render_files(item)
        ui.notify(self._t("as_deleted").format(name=meta["filename"]))

    async def _download(self, meta: dict[str, Any]) -> None:
        try:
            info, data = await self.ctx.call(fetch_evidence, self.aid, int(meta["id"]))
        except Exception as exc:
            notify_error(exc, self.lang)
            return
        ui.download(data, str(info["filename"]), "application/octet-stream")

    def _validate(self) -> bool:
        ok = True
        for item, w in self.widgets.items():
            problems = validate_answer(self.form.get(item, FormAnswer()), self.lang)
            w.evidence.error = problems.get("evidence")
            w.respondent.error = problems.get("respondent")
            ok = ok and not problems
        return ok

    async def _save(self) -> bool:
        """Save the form; ``False`` (with the messages shown) when it could not be saved."""
        if not self._validate():
            ui.notify(self._t("as_fix_fields"), type="warning")
            return False
        payload = draft_payload(self.form, self.stored)
        try:
            saved = await self.ctx.call(save, self.year, self.aid, payload)
        except ValidationError as exc:
            for item, message in problems_by_item(exc).items():
                if item in self.widgets:
                    self.widgets[item].evidence.error = message
            notify_error(exc, self.lang)
            return False
        except Exception as exc:
            notify_error(exc, self.lang)
            return False
        self.stored = dict(saved.get("answers") or {})
        self.evidence_files = list(saved.get("evidence") or self.evidence_files)
        self.dirty = False
        self._refresh_state()
        return True

    async def save(self, button: ui.button) -> None:
        async with busy(button):
            if await self._save():
                ui.notify(self._t("as_saved"), type="positive")

    async def compute(self, button: ui.button) -> None:
        assert self.preview_box is not None
        box = self.preview_box
        problems_found = not self._validate()
        if problems_found:
            ui.notify(self._t("as_fix_fields"), type="warning")
            return
        box.clear()
        with box:
            ui.label(self._t("as_computing")).classes("text-gray-600")
            ui.linear_progress(show_value=False).props("indeterminate").props(
                "data-testid=computing"
            )
        payload = draft_payload(self.form, self.stored)
        async with busy(button):
            try:
                result = await self.ctx.call(preview, self.year, payload)
            except Exception as exc:
                box.clear()
                with box:
                    show_error(exc, self.lang)
                return
        box.clear()
        with box:
            ui.label(self._t("as_preview_box")).classes("text-xl")
            render_result(result, None, self.model, self.lang)
        ui.run_javascript("document.querySelector('[data-testid=preview-box]')?.scrollIntoView()")

    def confirm_declare(self) -> None:
        with (
            ui.dialog() as dialog,
            ui.card().classes("max-w-lg").props("data-testid=declare-dialog"),
        ):
            ui.label(self._t("as_declare_title")).classes("text-lg")
            ui.label(self._t("as_declare_text"))
            if self.dirty:
                ui.label(self._t("as_declare_unsaved")).classes("text-amber-800")
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button(self._t("as_cancel"), on_click=dialog.close).props("flat no-caps")
                ok = ui.button(self._t("as_declare"), icon="verified").props(
                    "color=deep-orange no-caps data-testid=declare-confirm"
                )

        async def go() -> None:
            async with busy(ok):
                if self.dirty and not await self._save():
                    return
                try:
                    out = await self.ctx.call(do_declare, self.aid)
                except Exception as exc:
                    notify_error(exc, self.lang)
                    return
            dialog.close()
            ui.notify(self._t("as_declared_ok").format(level=out.get("level")), type="positive")
            ui.navigate.to(f"/assessment/{self.aid}")

        ok.on_click(go)
        dialog.open()

    def confirm_verify(self) -> None:
        with (
            ui.dialog() as dialog,
            ui.card().classes("max-w-lg").props("data-testid=verify-dialog"),
        ):
            ui.label(self._t("as_verify_title")).classes("text-lg")
            ui.label(self._t("as_verify_text"))
            note = (
                ui.textarea(self._t("as_verify_note"))
                .props("outlined dense data-testid=verify-note")
                .classes("w-full")
            )
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button(self._t("as_cancel"), on_click=dialog.close).props("flat no-caps")
                ok = ui.button(self._t("as_verify"), icon="task_alt").props(
                    "color=green-8 no-caps data-testid=verify-confirm"
                )

        async def go() -> None:
            value = str(note.value or "").strip()
            if len(value) > MAX_TEXT:
                note.error = self._t("as_too_long").format(n=MAX_TEXT)
                return
            note.error = None
            async with busy(ok):
                try:
                    await self.ctx.call(do_verify, self.aid, value or None)
                except Exception as exc:
                    notify_error(exc, self.lang)
                    return
            dialog.close()
            ui.notify(self._t("as_verified_ok"), type="positive")
            ui.navigate.to(f"/assessment/{self.aid}")

        ok.on_click(go)
        dialog.open()


# ------------------------------------------------------------------------------------------------
# Pages
# ------------------------------------------------------------------------------------------------
@contextlib.asynccontextmanager
async def _loading(box: ui.column) -> Any:
    """A spinner in ``box`` while the block runs (after the browser has connected)."""
    with box:
        spinner = ui.spinner(size="lg").props("data-testid=loading")
    try:
        yield
    finally:
        spinner.delete()


async def _connected() -> bool:
    try:
        await ui.context.client.connected(timeout=30)
    except TimeoutError:  # the browser went away before it connected
        return False
    return True


async def _with_page(
    sessions: sessionmaker[Session], build: Callable[[PageContext, ui.column], Any]
) -> RedirectResponse | None:
    ctx = await open_page(sessions, "assessment")
    if isinstance(ctx, RedirectResponse):
        return ctx
    with content() as box:
        pass
    if not await _connected():
        return None
    with box:
        await build(ctx, box)
    return None


def register(sessions: sessionmaker[Session]) -> None:
    """Add the pages to the UI."""

    @ui.page("/assessment", title="等级自评 · zhuoyue", response_timeout=60)
    async def list_page() -> RedirectResponse | None:
        async def build(ctx: PageContext, box: ui.column) -> None:
            await _list_page(ctx)

        return await _with_page(sessions, build)

    @ui.page("/assessment/preview/{year}", title="等级计算 · zhuoyue", response_timeout=60)
    async def preview_page(year: int) -> RedirectResponse | None:
        async def build(ctx: PageContext, box: ui.column) -> None:
            lang = ctx.lang
            ui.link(text("as_all", lang), "/assessment").classes("text-sm")
            ui.label(text("as_preview_title", lang).format(year=year)).classes("text-2xl")
            async with _loading(box):
                try:
                    y = check_year(year)
                    if y is None:
                        raise ParameterError(text("as_year_bad", lang))
                    result = await ctx.call(preview, y)
                except Exception as exc:
                    show_error(exc, lang)
                    return
            render_result(result, None, default_model(), lang)

        return await _with_page(sessions, build)

    @ui.page("/assessment/{assessment_id}", title="自评问卷 · zhuoyue", response_timeout=60)
    async def questionnaire_page(assessment_id: int) -> RedirectResponse | None:
        async def build(ctx: PageContext, box: ui.column) -> None:
            async with _loading(box):
                try:
                    a = await ctx.call(load_one, assessment_id)
                except Exception as exc:
                    show_error(exc, ctx.lang)
                    return
            _Questionnaire(ctx, a).build()

        return await _with_page(sessions, build)

    @ui.page("/assessment/{assessment_id}/result", title="自评结果 · zhuoyue", response_timeout=60)
    async def result_page(assessment_id: int) -> RedirectResponse | None:
        async def build(ctx: PageContext, box: ui.column) -> None:
            lang = ctx.lang
            with ui.row().classes("w-full items-center gap-3 flex-wrap"):
                ui.link(text("as_all", lang), "/assessment").classes("text-sm")
                ui.link(text("as_back", lang), f"/assessment/{assessment_id}").classes(
                    "text-sm"
                ).props("data-testid=back")
            async with _loading(box):
                try:
                    a, result = await ctx.call(load_result, assessment_id)
                except Exception as exc:
                    show_error(exc, lang)
                    return
            model = _model_for(a.get("model_id"))
            with ui.row().classes("w-full items-center gap-3 flex-wrap"):
                ui.label(
                    f"{a['year']} · {text('as_title', lang)}"
                    if lang == "en"
                    else f"{a['year']} 年度 · {text('as_title', lang)}"
                ).classes("text-2xl")
                _status_chip(str(a["status"]), lang)
                _pdf_button(ctx, assessment_id)
            if result is None:
                empty_state(text("as_shared_draft", lang))
                return
            note = "as_draft_note" if a["status"] == "draft" else "as_snapshot_note"
            ui.label(text(note, lang)).classes("text-sm text-gray-600")
            render_result(result, str(a["status"]), model, lang)

        return await _with_page(sessions, build)
