"""The pure evaluator: metrics + answers + model → the enterprise's level, why, and the gaps.

Rules (the model file chooses the data; these are the rules of the code):

* **Metrics.** Each quantitative indicator gets a :class:`MetricInput` ``{value, tracked,
  detail}``. Its level is the highest level whose threshold the value meets; thresholds are
  checked from level 2 upwards and the first one missed stops the climb. A value within the
  model's ``rel_tol`` of a threshold equals it (190/200 is exactly 95 %). A missing value,
  ``tracked=False`` or a non-finite value is **not tracked / not computed**: level 1 (the annex's
  经验级: "过程能力指数未做统计", "对内外部质量损失率未做统计") with that reason — never a crash, never
  a silent zero. A value outside the metric's domain (a yield of 1.2) is a
  :class:`~zhuoyue.errors.ParameterError`.
* **Answers.** Each questionnaire indicator gets an :class:`Answer` ``{level, evidence,
  respondent}``; anchors are cumulative. An answer at ``model.evidence_from`` (2) or higher
  without evidence is *unsupported*: by default it counts as claimed and is listed in
  ``unsupported`` (自我声明须有证据: the claim stands but is flagged for the assessor); with
  ``require_evidence=True`` it is capped at level 1. An unanswered indicator is level 1.
* **Aspects.** ``rule = "min"``: the lowest level of the aspect's indicators (weakest link);
  ``rule = "weighted"``: ``floor(Σ wᵢ·Lᵢ / Σ wᵢ)``. Either way an indicator with
  ``mandatory_from = k`` that is below k caps its aspect at k − 1.
* **Overall level** = the minimum over the aspects and the quantitative indicators.
* **Binding constraints** are the items that stop the next level; **gaps** list every item below
  the next level with current and required values and the difference in the metric's unit.
* **Score** = Σ indicator scores (``weight × (level − 1) / 4``, or the file's points); it informs
  and never decides the level.

The evaluator reads nothing but its arguments (the default model is a packaged file loaded once).

Examples
--------
>>> from zhuoyue.excellence import evaluate, default_model
>>> model = default_model()
>>> answers = {i.id: {"level": 4, "evidence": ["记录"]} for i in model.questionnaire}
>>> metrics = {
...     "sigma_level": 5.2,
...     "cpk": 1.71,
...     "rolled_yield": 0.975,
...     "internal_loss_rate": 0.012,
...     "external_loss_rate": 0.013,
... }
>>> res = evaluate(metrics, answers, model)
>>> res.level, res.level_name_zh, res.level_name_en, res.score
(3, '保证级', 'Assurance', 740.0)
>>> print(res.binding[0].message_en)
held at 保证级 (Assurance) by the external quality loss rate 1.30 % ≥ 1.00 % (预防级 needs < 1.00 %)
>>> print(res.binding[0].message_zh)
外部质量损失率 1.30 % 未低于 1.00 %，等级停留在保证级（预防级要求 < 1.00 %）
>>> g = res.gaps[0]
>>> g.item, g.current, g.required, round(g.difference, 6), g.unit
('external_loss_rate', 1.3, 1.0, -0.3, '%')
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from zhuoyue.errors import ParameterError
from zhuoyue.excellence.model import (
    OP_NEGATION,
    OP_SYMBOL,
    Indicator,
    Model,
    default_model,
)
from zhuoyue.excellence.plan import Action, build_plan

__all__ = [
    "Answer",
    "AspectResult",
    "AssessmentResult",
    "Constraint",
    "Gap",
    "IndicatorResult",
    "MetricInput",
    "MetricResult",
    "Unsupported",
    "evaluate",
]

_EMPTY: Mapping[str, Any] = MappingProxyType({})


# ------------------------------------------------------------------------------------------------
# Inputs
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class MetricInput:
    """One quantitative indicator's data.

    Attributes
    ----------
    value : float or None
        In the metric's unit (rates and yields as fractions: 0.013 = 1.3 %). ``None``: not
        computed.
    tracked : bool or None
        ``False``: the enterprise does not track it (the value, if any, is ignored with a
        warning). ``None``: tracked when a value is given.
    detail : mapping
        What the plan uses: ``characteristics`` (cpk), ``steps`` (rolled yield),
        ``categories`` and ``output_value`` (loss rates), ``ppm`` (sigma level); echoed in the
        result.
    """

    value: float | None = None
    tracked: bool | None = None
    detail: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True, slots=True)
class Answer:
    """One self-assessment answer: the claimed level (anchors 1..level hold) and its evidence."""

    level: int
    evidence: tuple[str, ...] = ()
    respondent: str | None = None


# ------------------------------------------------------------------------------------------------
# Results
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class MetricResult:
    """A quantitative indicator: its value, level and why (``status``: ok / not_tracked /
    not_computed)."""

    id: str
    name_zh: str
    name_en: str
    value: float | None
    display: str
    unit: str
    level: int
    level_name_zh: str
    level_name_en: str
    status: str
    reason_zh: str
    reason_en: str
    detail: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name_zh": self.name_zh,
            "name_en": self.name_en,
            "value": _num(self.value),
            "display": self.display,
            "unit": self.unit,
            "level": self.level,
            "level_name": {"zh": self.level_name_zh, "en": self.level_name_en},
            "status": self.status,
            "reason_zh": self.reason_zh,
            "reason_en": self.reason_en,
            "detail": _jsonable(self.detail),
        }


@dataclass(frozen=True, slots=True)
class IndicatorResult:
    """One indicator's level and how it was reached.

    ``reached_by``: ``"metric"``, ``"not_tracked"``, ``"not_computed"`` (metrics);
    ``"answer"``, ``"answer_unsupported"`` (counted, no evidence), ``"capped_no_evidence"``
    (``require_evidence=True``), ``"unanswered"`` (questionnaire). ``evidence_ok`` is ``None``
    where evidence does not apply (metrics, unanswered).
    """

    id: str
    aspect: str
    kind: str
    name_zh: str
    name_en: str
    level: int
    level_name_zh: str
    level_name_en: str
    reached_by: str
    claimed: int | None
    evidence_ok: bool | None
    evidence: tuple[str, ...]
    respondent: str | None
    weight: float
    score: float
    mandatory_from: int | None
    note_zh: str = ""
    note_en: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "aspect": self.aspect,
            "kind": self.kind,
            "name_zh": self.name_zh,
            "name_en": self.name_en,
            "level": self.level,
            "level_name": {"zh": self.level_name_zh, "en": self.level_name_en},
            "reached_by": self.reached_by,
            "claimed": self.claimed,
            "evidence_ok": self.evidence_ok,
            "evidence": list(self.evidence),
            "respondent": self.respondent,
            "weight": self.weight,
            "score": self.score,
            "mandatory_from": self.mandatory_from,
            "note_zh": self.note_zh,
            "note_en": self.note_en,
        }


@dataclass(frozen=True, slots=True)
class AspectResult:
    """One aspect: its level (rule ``min`` or ``weighted``, then mandatory caps) and score."""

    id: str
    name_zh: str
    name_en: str
    rule: str
    level: int
    level_name_zh: str
    level_name_en: str
    score: float
    max_score: float
    indicators: tuple[IndicatorResult, ...]
    weighted_level: float | None = None
    mandatory_cap: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name_zh": self.name_zh,
            "name_en": self.name_en,
            "rule": self.rule,
            "level": self.level,
            "level_name": {"zh": self.level_name_zh, "en": self.level_name_en},
            "score": self.score,
            "max_score": self.max_score,
            "weighted_level": self.weighted_level,
            "mandatory_cap": self.mandatory_cap,
            "indicators": [i.to_dict() for i in self.indicators],
        }


@dataclass(frozen=True, slots=True)
class Constraint:
    """A binding constraint: an item that holds the enterprise at ``level``.

    ``kind``: ``"metric"``, ``"indicator"``, ``"aspect"`` (a weighted aspect's mean) or
    ``"mandatory"`` (an indicator required from ``next_level``).
    """

    item: str
    kind: str
    aspect: str
    level: int
    next_level: int
    message_zh: str
    message_en: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "kind": self.kind,
            "aspect": self.aspect,
            "level": self.level,
            "next_level": self.next_level,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
        }


@dataclass(frozen=True, slots=True)
class Gap:
    """An item below the next level: current and required values in the item's unit.

    For metrics the values are in display units (``%`` for rates: 1.3 means 1.3 %) and
    ``difference = required − current`` (negative: must come down); ``current`` is ``None`` when
    the metric is not tracked / not computed, ``required`` is ``None`` when the next level only
    asks for tracking (``op == "tracked"``). For indicators and aspects the unit is ``"level"``.
    """

    item: str
    kind: str
    aspect: str
    name_zh: str
    name_en: str
    target_level: int
    current: float | None
    required: float | None
    op: str
    difference: float | None
    unit: str
    binding: bool
    message_zh: str
    message_en: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "kind": self.kind,
            "aspect": self.aspect,
            "name_zh": self.name_zh,
            "name_en": self.name_en,
            "target_level": self.target_level,
            "current": _num(self.current),
            "required": _num(self.required),
            "op": self.op,
            "difference": _num(self.difference),
            "unit": self.unit,
            "binding": self.binding,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
        }


@dataclass(frozen=True, slots=True)
class Unsupported:
    """An answer that claims an anchor (level ≥ ``evidence_from``) without evidence."""

    item: str
    name_zh: str
    name_en: str
    claimed: int
    counted: int
    respondent: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "name_zh": self.name_zh,
            "name_en": self.name_en,
            "claimed": self.claimed,
            "counted": self.counted,
            "respondent": self.respondent,
        }


@dataclass(frozen=True, slots=True)
class AssessmentResult:
    """The result of :func:`evaluate` (frozen; ``to_dict()`` is the documented JSON).

    Attributes
    ----------
    model_id, model_version : str
    level : int
        1..5, the weakest link over aspects and quantitative indicators.
    level_name_zh, level_name_en : str
    score, max_score : float
    aspects : tuple of AspectResult
        With their indicators.
    metrics : mapping of str to MetricResult
        The quantitative indicators by id.
    binding : tuple of Constraint
        What holds the level (empty at level 5).
    gaps : tuple of Gap
        Every item below the next level, in numbers.
    plan : tuple of Action
        The improvement plan (:func:`~zhuoyue.excellence.build_plan`) to the next level.
    coverage : mapping
        Data coverage as passed in (months, characteristics, steps, ...).
    unsupported : tuple of Unsupported
        Answers claiming anchors without evidence.
    require_evidence : bool
        Whether unsupported answers were capped at level 1.
    warnings : tuple of str
    """

    model_id: str
    model_version: str
    level: int
    level_name_zh: str
    level_name_en: str
    score: float
    max_score: float
    aspects: tuple[AspectResult, ...]
    metrics: Mapping[str, MetricResult]
    binding: tuple[Constraint, ...]
    gaps: tuple[Gap, ...]
    plan: tuple[Action, ...] = ()
    coverage: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    unsupported: tuple[Unsupported, ...] = ()
    require_evidence: bool = False
    warnings: tuple[str, ...] = ()
    model_title_zh: str = ""
    model_title_en: str = ""
    #: the model's five level names ((zh, en) for levels 1..5)
    level_names: tuple[tuple[str, str], ...] = ()

    @property
    def next_level(self) -> int | None:
        return self.level + 1 if self.level < 5 else None

    def aspect(self, aspect_id: str) -> AspectResult:
        for a in self.aspects:
            if a.id == aspect_id:
                return a
        raise KeyError(aspect_id)

    def indicator(self, indicator_id: str) -> IndicatorResult:
        for a in self.aspects:
            for i in a.indicators:
                if i.id == indicator_id:
                    return i
        raise KeyError(indicator_id)

    @property
    def indicators(self) -> tuple[IndicatorResult, ...]:
        return tuple(i for a in self.aspects for i in a.indicators)

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON object."""
        return {
            "model": {
                "id": self.model_id,
                "version": self.model_version,
                "title_zh": self.model_title_zh,
                "title_en": self.model_title_en,
            },
            "level": self.level,
            "level_name": {"zh": self.level_name_zh, "en": self.level_name_en},
            "score": {"value": self.score, "max": self.max_score},
            "aspects": [a.to_dict() for a in self.aspects],
            "metrics": {k: m.to_dict() for k, m in self.metrics.items()},
            "binding": [c.to_dict() for c in self.binding],
            "gaps": [g.to_dict() for g in self.gaps],
            "plan": [a.to_dict() for a in self.plan],
            "coverage": _jsonable(self.coverage),
            "unsupported": [u.to_dict() for u in self.unsupported],
            "require_evidence": self.require_evidence,
            "warnings": list(self.warnings),
        }

    def summary(self, *, max_actions: int = 12) -> str:
        """A plain-text report in Chinese with English.

        At most ``max_actions`` binding constraints, gaps and plan actions are listed (``...
        (+n)`` says how many more); :meth:`to_dict` has them all.
        """
        nl = self.next_level
        lines = [
            f"质量管理能力等级 Level: L{self.level} {self.level_name_zh} {self.level_name_en}"
            f"    得分 Score: {self.score:g} / {self.max_score:g}",
            f"评价模型 Model: {self.model_id} {self.model_version}",
            "各方面 Aspects:",
        ]
        for a in self.aspects:
            extra = f", weighted {a.weighted_level:.2f}" if a.weighted_level is not None else ""
            lines.append(
                f"  {a.name_zh} / {a.name_en}: L{a.level} {a.level_name_zh} "
                f"({a.score:g}/{a.max_score:g}{extra})"
            )
        if self.metrics:
            lines.append("量化指标 Metrics:")
            for m in self.metrics.values():
                shown = m.status == "ok" or (m.reason_en and m.reason_en in m.display)
                why = "" if shown else f"  [{m.reason_zh} / {m.reason_en}]"
                lines.append(
                    f"  {m.name_zh} / {m.name_en}: {m.display} → L{m.level} {m.level_name_zh}{why}"
                )
        if self.binding:
            lines.append("制约因素 Binding constraints:")
            for c in self.binding[:max_actions]:
                lines.append(f"  - {c.message_zh}")
                lines.append(f"    {c.message_en}")
            if len(self.binding) > max_actions:
                lines.append(f"  ... (+{len(self.binding) - max_actions})")
        if nl is not None and self.gaps:
            nz, ne = self.level_names[nl - 1]
            lines.append(f"距{nz}的差距 Gaps to L{nl} {ne}:")
            for g in self.gaps[:max_actions]:
                mark = "*" if g.binding else "-"
                lines.append(f"  {mark} {g.message_zh}")
                lines.append(f"    {g.message_en}")
            if len(self.gaps) > max_actions:
                lines.append(f"  ... (+{len(self.gaps) - max_actions})")
        if self.plan:
            lines.append(f"改进计划（以评促改）Improvement plan: {len(self.plan)} actions")
            for act in self.plan[:max_actions]:
                task = f"[{act.policy_task}] " if act.policy_task else ""
                lines.append(f"  - {task}{act.action_zh}")
                lines.append(f"    {act.action_en}")
            if len(self.plan) > max_actions:
                lines.append(f"  ... (+{len(self.plan) - max_actions})")
        if self.unsupported:
            lines.append("缺少证据的自评 Answers without evidence:")
            for u in self.unsupported:
                lines.append(
                    f"  - {u.name_zh} / {u.name_en}: claimed L{u.claimed}, counted L{u.counted}"
                )
        if self.coverage:
            cov = ", ".join(f"{k} {v}" for k, v in self.coverage.items())
            lines.append(f"数据覆盖 Coverage: {cov}")
        lines.extend(f"警告 warning: {w}" for w in self.warnings)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return "<pre>" + html.escape(self.summary()) + "</pre>"


def _num(x: float | None) -> float | None:
    if x is None or not math.isfinite(x):
        return None
    return float(x)


def _jsonable(x: Any) -> Any:
    if isinstance(x, Mapping):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, (str, int, bool)) or x is None:
        return x
    try:  # NumPy scalars and the like
        f = float(x)
    except (TypeError, ValueError):
        return str(x)
    return f if math.isfinite(f) else None


# ------------------------------------------------------------------------------------------------
# Input normalization
# ------------------------------------------------------------------------------------------------
def _is_number(x: Any) -> bool:
    if isinstance(x, bool):
        return False
    try:
        float(x)
    except (TypeError, ValueError):
        return False
    return not isinstance(x, str)


def _as_float(x: Any) -> float | None:
    return float(x) if _is_number(x) else None


def _metric_input(ind: Indicator, raw: Any) -> MetricInput:
    where = f"metrics[{ind.id!r}]"
    if raw is None:
        return MetricInput()
    if isinstance(raw, MetricInput):
        mi = raw
    elif isinstance(raw, Mapping):
        unknown = set(raw) - {"value", "tracked", "detail"}
        if unknown:
            raise ParameterError(
                f"{where} has unknown key(s) {sorted(map(str, unknown))}; a metric is "
                "{'value': number or None, 'tracked': bool, 'detail': {...}}."
            )
        mi = MetricInput(raw.get("value"), raw.get("tracked"), raw.get("detail") or _EMPTY)
    elif _is_number(raw):
        mi = MetricInput(float(raw))
    else:
        raise ParameterError(
            f"{where} must be a number, None, or {{'value', 'tracked', 'detail'}}; got {raw!r}."
        )
    if mi.value is not None and not _is_number(mi.value):
        raise ParameterError(f"{where}['value'] must be a number or None; got {mi.value!r}.")
    if mi.tracked is not None and not isinstance(mi.tracked, bool):
        raise ParameterError(f"{where}['tracked'] must be true, false or None; got {mi.tracked!r}.")
    if not isinstance(mi.detail, Mapping):
        raise ParameterError(f"{where}['detail'] must be a mapping; got {mi.detail!r}.")
    value = None if mi.value is None else float(mi.value)
    if value is not None and math.isfinite(value) and ind.domain is not None:
        lo, hi = ind.domain
        if not lo <= value <= hi:
            shown = f" ({ind.display(value)})" if ind.scale != 1 else ""
            raise ParameterError(
                f"{where}: {value:g}{shown} is outside the possible range [{lo:g}, {hi:g}] of "
                f"{ind.name_en}. Give the value in the model's unit"
                + (" (a fraction: 0.013 for 1.3 %)." if ind.scale != 1 else ".")
            )
    return MetricInput(value, mi.tracked, mi.detail)


def _answer(ind: Indicator, raw: Any) -> Answer | None:
    where = f"answers[{ind.id!r}]"
    if raw is None:
        return None
    if isinstance(raw, Answer):
        level: Any = raw.level
        evidence: Any = raw.evidence
        respondent: Any = raw.respondent
    elif isinstance(raw, Mapping):
        unknown = set(raw) - {"level", "evidence", "respondent", "note"}
        if unknown:
            raise ParameterError(
                f"{where} has unknown key(s) {sorted(map(str, unknown))}; an answer is "
                "{'level': 1..5, 'evidence': [...], 'respondent': str}."
            )
        if "level" not in raw:
            raise ParameterError(f"{where} needs 'level' (1..5).")
        level, evidence, respondent = raw["level"], raw.get("evidence"), raw.get("respondent")
    else:
        level, evidence, respondent = raw, None, None
    if isinstance(level, float) and level.is_integer():
        level = int(level)
    if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 5:
        raise ParameterError(
            f"{where}: the level must be an integer from 1 (经验级) to 5 (卓越级); got {level!r}."
        )
    if evidence is None:
        ev: tuple[str, ...] = ()
    elif isinstance(evidence, str):
        ev = (evidence.strip(),) if evidence.strip() else ()
    elif isinstance(evidence, Sequence) and all(isinstance(e, str) for e in evidence):
        ev = tuple(e.strip() for e in evidence if e.strip())
    else:
        raise ParameterError(
            f"{where}: evidence must be a string or a list of strings; got {evidence!r}."
        )
    if respondent is not None and not isinstance(respondent, str):
        raise ParameterError(f"{where}: respondent must be a string; got {respondent!r}.")
    return Answer(level, ev, respondent)


# ------------------------------------------------------------------------------------------------
# The evaluator
# ------------------------------------------------------------------------------------------------
def evaluate(
    metrics: Mapping[str, Any] | None = None,
    answers: Mapping[str, Any] | None = None,
    model: Model | None = None,
    *,
    coverage: Mapping[str, Any] | None = None,
    require_evidence: bool | None = None,
    plan: bool = True,
) -> AssessmentResult:
    """Decide the enterprise's level from its metrics and answers under ``model``.

    Parameters
    ----------
    metrics : mapping, optional
        Indicator id → :class:`MetricInput`, ``{"value", "tracked", "detail"}``, a number or
        ``None``. Missing ids are *not tracked / not computed* (level 1 for that indicator).
    answers : mapping, optional
        Indicator id → :class:`Answer`, ``{"level", "evidence", "respondent"}`` or a level.
        Missing ids are unanswered (level 1).
    model : Model, optional
        Default :func:`~zhuoyue.excellence.default_model`.
    coverage : mapping, optional
        Data coverage (``months``, ``characteristics``, ``steps`` ...), echoed in the result;
        fewer ``months`` than the model's ``min_months`` gives a warning.
    require_evidence : bool, optional
        Cap answers without evidence at level 1. Default: the model's ``rules.require_evidence``
        (``False`` in the built-in model: counted and flagged in ``unsupported``).
    plan : bool
        Build the improvement plan to the next level (default True).

    Returns
    -------
    AssessmentResult

    Raises
    ------
    ParameterError
        An answer's level is not 1..5, a metric value is not a number or outside its domain, an
        input has unknown keys.
    """
    model = default_model() if model is None else model
    metrics = {} if metrics is None else metrics
    answers = {} if answers is None else answers
    if not isinstance(metrics, Mapping):
        raise ParameterError(f"metrics must be a mapping of indicator id to data; got {metrics!r}.")
    if not isinstance(answers, Mapping):
        raise ParameterError(
            f"answers must be a mapping of indicator id to answer; got {answers!r}."
        )
    req = model.require_evidence if require_evidence is None else bool(require_evidence)
    warnings: list[str] = []
    ids = {i.id: i for i in model.indicators}
    for key in metrics:
        if key not in ids:
            warnings.append(
                f"metrics[{key!r}] ignored: model {model.id} has no indicator {key!r} "
                f"(metrics: {[i.id for i in model.metrics]})."
            )
        elif not ids[key].is_metric:
            warnings.append(
                f"metrics[{key!r}] ignored: {key!r} is a questionnaire indicator; answer it in "
                "answers."
            )
    for key in answers:
        if key not in ids:
            warnings.append(f"answers[{key!r}] ignored: model {model.id} has no indicator {key!r}.")
        elif ids[key].is_metric:
            warnings.append(
                f"answers[{key!r}] ignored: {key!r} is a quantitative indicator computed from "
                "data; pass it in metrics."
            )

    names = {lv.level: (lv.name_zh, lv.name_en) for lv in model.levels}
    ind_results: dict[str, IndicatorResult] = {}
    metric_results: dict[str, MetricResult] = {}
    unsupported: list[Unsupported] = []

    for ind in model.indicators:
        if ind.is_metric:
            mres = _evaluate_metric(ind, metrics.get(ind.id), model, names, warnings)
            metric_results[ind.id] = mres
            ind_results[ind.id] = IndicatorResult(
                id=ind.id,
                aspect=ind.aspect,
                kind=ind.kind,
                name_zh=ind.name_zh,
                name_en=ind.name_en,
                level=mres.level,
                level_name_zh=names[mres.level][0],
                level_name_en=names[mres.level][1],
                reached_by="metric" if mres.status == "ok" else mres.status,
                claimed=None,
                evidence_ok=None,
                evidence=(),
                respondent=None,
                weight=ind.weight,
                score=model.indicator_score(ind, mres.level),
                mandatory_from=ind.mandatory_from,
                note_zh=mres.reason_zh,
                note_en=mres.reason_en,
            )
        else:
            ans = _answer(ind, answers.get(ind.id))
            ires = _evaluate_answer(ind, ans, model, names, req)
            ind_results[ind.id] = ires
            if ires.evidence_ok is False and ires.claimed is not None:
                unsupported.append(
                    Unsupported(
                        ind.id, ind.name_zh, ind.name_en, ires.claimed, ires.level, ires.respondent
                    )
                )

    aspects: list[AspectResult] = []
    raw_weighted: dict[str, int] = {}
    for asp in model.aspects:
        inds = [ind_results[i.id] for i in model.indicators_of(asp.id)]
        weighted: float | None = None
        if asp.rule == "weighted":
            wsum = math.fsum(r.weight for r in inds)
            if wsum > 0:
                weighted = math.fsum(r.weight * r.level for r in inds) / wsum
            else:
                weighted = math.fsum(r.level for r in inds) / len(inds)
            raw = math.floor(weighted + 1e-9)
        else:
            raw = min(r.level for r in inds)
        raw_weighted[asp.id] = raw
        caps = [
            r.mandatory_from - 1
            for r in inds
            if r.mandatory_from is not None and r.level < r.mandatory_from
        ]
        cap = min(caps) if caps else None
        level = min(raw, cap) if cap is not None else raw
        aspects.append(
            AspectResult(
                id=asp.id,
                name_zh=asp.name_zh,
                name_en=asp.name_en,
                rule=asp.rule,
                level=level,
                level_name_zh=names[level][0],
                level_name_en=names[level][1],
                score=math.fsum(r.score for r in inds),
                max_score=math.fsum(model.indicator_score(model.indicator(r.id), 5) for r in inds),
                indicators=tuple(inds),
                weighted_level=weighted,
                mandatory_cap=cap,
            )
        )
    overall = min([a.level for a in aspects] + [m.level for m in metric_results.values()])

    binding = _binding(model, overall, aspects, raw_weighted, metric_results, ind_results, names)
    binding_ids = {c.item for c in binding}
    gaps = _gaps(model, overall, aspects, metric_results, ind_results, names, binding_ids)

    cov = dict(coverage or {})
    months = _as_float(cov.get("months"))
    if model.min_months is not None and months is not None and months < model.min_months:
        warnings.append(
            f"the data cover {months:g} months, fewer than the {model.min_months} the model asks "
            "for (loss rates are per year of output value): the level may not be representative."
        )
    if req and unsupported:
        warnings.append(
            f"{len(unsupported)} answer(s) without evidence were counted as 经验级 "
            "(require_evidence=True)."
        )

    result = AssessmentResult(
        model_id=model.id,
        model_version=model.version,
        level=overall,
        level_name_zh=names[overall][0],
        level_name_en=names[overall][1],
        score=math.fsum(a.score for a in aspects),
        max_score=math.fsum(a.max_score for a in aspects),
        aspects=tuple(aspects),
        metrics=MappingProxyType(metric_results),
        binding=tuple(binding),
        gaps=tuple(gaps),
        coverage=MappingProxyType(cov),
        unsupported=tuple(unsupported),
        require_evidence=req,
        warnings=tuple(warnings),
        model_title_zh=model.title_zh,
        model_title_en=model.title_en,
        level_names=tuple(names[k] for k in sorted(names)),
    )
    if plan:
        result = replace(result, plan=build_plan(result, model))
    return result


def _evaluate_metric(
    ind: Indicator,
    raw: Any,
    model: Model,
    names: Mapping[int, tuple[str, str]],
    warnings: list[str],
) -> MetricResult:
    mi = _metric_input(ind, raw)
    value = mi.value
    status = "ok"
    reason_zh = reason_en = ""
    extra = str(mi.detail.get("reason", "")) if isinstance(mi.detail, Mapping) else ""
    if mi.tracked is False:
        if value is not None:
            warnings.append(
                f"metrics[{ind.id!r}]: tracked=False, so the value {value:g} is ignored."
            )
        value, status = None, "not_tracked"
        reason_zh, reason_en = "未做统计", "not tracked"
    elif value is None:
        status = "not_computed"
        reason_zh, reason_en = "未做统计或未能计算", "not tracked / not computed"
    elif not math.isfinite(value):
        warnings.append(f"metrics[{ind.id!r}]: the value {value} is not finite; not computed.")
        value, status = None, "not_computed"
        reason_zh, reason_en = "数值无效，未能计算", "not computed (the value is not finite)"
    if extra and status != "ok":
        reason_zh, reason_en = f"{reason_zh}：{extra}", f"{reason_en}: {extra}"
    level = ind.reached_level(value, model.rel_tol)
    return MetricResult(
        id=ind.id,
        name_zh=ind.name_zh,
        name_en=ind.name_en,
        value=value,
        display=ind.display(value) if value is not None else reason_en,
        unit=ind.unit,
        level=level,
        level_name_zh=names[level][0],
        level_name_en=names[level][1],
        status=status,
        reason_zh=reason_zh,
        reason_en=reason_en,
        detail=mi.detail,
    )


def _evaluate_answer(
    ind: Indicator,
    ans: Answer | None,
    model: Model,
    names: Mapping[int, tuple[str, str]],
    require_evidence: bool,
) -> IndicatorResult:
    common: dict[str, Any] = {
        "id": ind.id,
        "aspect": ind.aspect,
        "kind": ind.kind,
        "name_zh": ind.name_zh,
        "name_en": ind.name_en,
        "weight": ind.weight,
        "mandatory_from": ind.mandatory_from,
    }
    if ans is None:
        return IndicatorResult(
            **common,
            level=1,
            level_name_zh=names[1][0],
            level_name_en=names[1][1],
            reached_by="unanswered",
            claimed=None,
            evidence_ok=None,
            evidence=(),
            respondent=None,
            score=model.indicator_score(ind, 1),
            note_zh="未作答，按经验级计",
            note_en="not answered: counted as level 1",
        )
    needs = ans.level >= model.evidence_from
    ok = bool(ans.evidence) or not needs
    level = ans.level
    reached_by = "answer"
    note_zh = note_en = ""
    if not ok:
        if require_evidence:
            level, reached_by = 1, "capped_no_evidence"
            note_zh = f"自评{names[ans.level][0]}但未提供证据，按经验级计"
            note_en = f"claims level {ans.level} without evidence: counted as level 1"
        else:
            reached_by = "answer_unsupported"
            note_zh = f"自评{names[ans.level][0]}但未提供证据（已计入，待核实）"
            note_en = f"claims level {ans.level} without evidence (counted, to be verified)"
    return IndicatorResult(
        **common,
        level=level,
        level_name_zh=names[level][0],
        level_name_en=names[level][1],
        reached_by=reached_by,
        claimed=ans.level,
        evidence_ok=ok,
        evidence=ans.evidence,
        respondent=ans.respondent,
        score=model.indicator_score(ind, level),
        note_zh=note_zh,
        note_en=note_en,
    )


# ------------------------------------------------------------------------------------------------
# Binding constraints and gaps
# ------------------------------------------------------------------------------------------------
def _article(name_en: str) -> str:
    """``"the external quality loss rate"``; names starting with an acronym keep their case."""
    if len(name_en) > 1 and name_en[1].isupper():
        return name_en
    return "the " + name_en[:1].lower() + name_en[1:]


def _metric_failure(
    ind: Indicator, m: MetricResult, target: int, names: Mapping[int, tuple[str, str]]
) -> tuple[str, str, str, str]:
    """Why ``m`` misses ``target``: (fact_zh, need_zh, fact_en, need_en).

    E.g. ``("外部质量损失率 1.30 % 未低于 1.00 %", "预防级要求 < 1.00 %",
    "the external quality loss rate 1.30 % ≥ 1.00 %", "预防级 needs < 1.00 %")``.
    """
    t = ind.threshold(target)
    tz = names[target][0]
    if t.op == "tracked":
        need_zh, need_en = f"{tz}要求已统计", f"{tz} needs it tracked"
    else:
        th = ind.display(t.value)
        need_zh = f"{tz}要求 {OP_SYMBOL[t.op]} {th}"
        need_en = f"{tz} needs {OP_SYMBOL[t.op]} {th}"
    if m.status != "ok":
        return (
            f"{ind.name_zh}{m.reason_zh}",
            need_zh,
            f"{_article(ind.name_en)}: {m.reason_en}",
            need_en,
        )
    neg_zh = {">=": "低于", ">": "未高于", "<": "未低于", "<=": "高于"}[t.op]
    th = ind.display(t.value)
    return (
        f"{ind.name_zh} {m.display} {neg_zh} {th}",
        need_zh,
        f"{_article(ind.name_en)} {m.display} {OP_NEGATION[t.op]} {th}",
        need_en,
    )


def _binding(
    model: Model,
    overall: int,
    aspects: Sequence[AspectResult],
    raw_weighted: Mapping[str, int],
    metrics: Mapping[str, MetricResult],
    inds: Mapping[str, IndicatorResult],
    names: Mapping[int, tuple[str, str]],
) -> list[Constraint]:
    if overall >= 5:
        return []
    target = overall + 1
    lz, le = names[overall]
    tz = names[target][0]
    held_en = f"held at {lz} ({le}) by"
    out: list[Constraint] = []
    seen: set[str] = set()

    def metric_constraint(ind: Indicator) -> None:
        if ind.id in seen:
            return
        seen.add(ind.id)
        fact_zh, need_zh, fact_en, need_en = _metric_failure(ind, metrics[ind.id], target, names)
        zh = f"{fact_zh}，等级停留在{lz}（{need_zh}）"
        en = f"{held_en} {fact_en} ({need_en})"
        out.append(Constraint(ind.id, "metric", ind.aspect, overall, target, zh, en))

    def indicator_constraint(r: IndicatorResult, kind: str) -> None:
        if r.id in seen:
            return
        seen.add(r.id)
        ind = model.indicator(r.id)
        anchor = ind.anchor(target)
        how_zh = "未作答" if r.reached_by == "unanswered" else f"自评{r.level_name_zh}"
        how_en = "not answered" if r.reached_by == "unanswered" else f"at level {r.level}"
        if kind == "mandatory":
            zh = (
                f"{ind.name_zh}为{names[r.mandatory_from or target][0]}必备指标，当前{how_zh}，"
                f"等级停留在{lz}；{tz}要求：{anchor.text_zh}"
            )
            en = (
                f"{held_en} {ind.name_en}, mandatory from level {r.mandatory_from}, {how_en}; "
                f"level {target} needs: {anchor.text_en}"
            )
        else:
            zh = f"{ind.name_zh}{how_zh}，等级停留在{lz}；{tz}要求：{anchor.text_zh}"
            en = f"{held_en} {ind.name_en} ({how_en}); level {target} needs: {anchor.text_en}"
        out.append(Constraint(r.id, kind, r.aspect, overall, target, zh, en))

    for a in aspects:
        if a.level != overall:
            continue
        if a.rule == "min":
            for r in a.indicators:
                if r.level == overall:
                    ind = model.indicator(r.id)
                    if ind.is_metric:
                        metric_constraint(ind)
                    else:
                        indicator_constraint(r, "indicator")
        else:
            if raw_weighted[a.id] == overall and a.id not in seen:
                seen.add(a.id)
                wl = a.weighted_level or 0.0
                out.append(
                    Constraint(
                        a.id,
                        "aspect",
                        a.id,
                        overall,
                        target,
                        f"{a.name_zh}加权等级 {wl:.2f} 低于 {target}，等级停留在{lz}",
                        f"{held_en} the aspect {a.name_en}: weighted level {wl:.2f} < {target}",
                    )
                )
            for r in a.indicators:
                if (
                    r.mandatory_from is not None
                    and r.level < r.mandatory_from
                    and r.mandatory_from - 1 == overall
                ):
                    ind = model.indicator(r.id)
                    if ind.is_metric:
                        metric_constraint(ind)
                    else:
                        indicator_constraint(r, "mandatory")
    for ind in model.metrics:
        if metrics[ind.id].level == overall:
            metric_constraint(ind)
    return out


def _gaps(
    model: Model,
    overall: int,
    aspects: Sequence[AspectResult],
    metrics: Mapping[str, MetricResult],
    inds: Mapping[str, IndicatorResult],
    names: Mapping[int, tuple[str, str]],
    binding_ids: set[str],
) -> list[Gap]:
    if overall >= 5:
        return []
    target = overall + 1
    tz, te = names[target]
    out: list[Gap] = []
    for a in aspects:
        if a.rule == "weighted" and a.weighted_level is not None and a.weighted_level < target:
            out.append(
                Gap(
                    item=a.id,
                    kind="aspect",
                    aspect=a.id,
                    name_zh=a.name_zh,
                    name_en=a.name_en,
                    target_level=target,
                    current=a.weighted_level,
                    required=float(target),
                    op=">=",
                    difference=target - a.weighted_level,
                    unit="level",
                    binding=a.id in binding_ids,
                    message_zh=f"{a.name_zh}加权等级 {a.weighted_level:.2f} → ≥ {target}"
                    f"（差 {target - a.weighted_level:.2f} 级）",
                    message_en=f"{a.name_en}: weighted level {a.weighted_level:.2f} → ≥ {target} "
                    f"(short by {target - a.weighted_level:.2f})",
                )
            )
    for ind in model.indicators:
        r = inds[ind.id]
        if r.level >= target:
            continue
        if ind.is_metric:
            out.append(_metric_gap(ind, metrics[ind.id], target, names, ind.id in binding_ids))
        else:
            anchor = ind.anchor(target)
            diff = target - r.level
            how_zh = "未作答" if r.reached_by == "unanswered" else f"L{r.level}"
            how_en = "not answered" if r.reached_by == "unanswered" else f"level {r.level}"
            out.append(
                Gap(
                    item=ind.id,
                    kind="indicator",
                    aspect=ind.aspect,
                    name_zh=ind.name_zh,
                    name_en=ind.name_en,
                    target_level=target,
                    current=float(r.level),
                    required=float(target),
                    op=">=",
                    difference=float(diff),
                    unit="level",
                    binding=ind.id in binding_ids,
                    message_zh=f"{ind.name_zh}：{how_zh} → {tz}（差 {diff} 级）：{anchor.text_zh}"
                    f" 证据：{anchor.evidence_zh}",
                    message_en=f"{ind.name_en}: {how_en} → {target} {te} ({diff} level"
                    f"{'s' if diff > 1 else ''} short): {anchor.text_en} "
                    f"Evidence: {anchor.evidence_en}",
                )
            )
    return out


def _metric_gap(
    ind: Indicator,
    m: MetricResult,
    target: int,
    names: Mapping[int, tuple[str, str]],
    binding: bool,
) -> Gap:
    t = ind.threshold(target)
    tz, te = names[target]
    current = None if m.value is None else m.value * ind.scale
    required = None if t.value is None else t.value * ind.scale
    difference = None
    if current is not None and required is not None:
        difference = required - current
    pp_zh = "个百分点" if ind.unit == "%" else ind.unit
    pp_en = "percentage points" if ind.unit == "%" else ind.unit
    if m.status != "ok":
        need = "已统计" if t.op == "tracked" else f"{OP_SYMBOL[t.op]} {ind.display(t.value)}"
        need_en = "tracked" if t.op == "tracked" else f"{OP_SYMBOL[t.op]} {ind.display(t.value)}"
        zh = f"{ind.name_zh}：{m.reason_zh} → {tz}要求 {need}：先统计并计算"
        en = f"{ind.name_en}: {m.reason_en} → level {target} {te} needs {need_en}: track it first"
    else:
        assert difference is not None
        d = abs(difference)
        fmt = f"{d:.{ind.decimals}f}"
        strict = t.op in (">", "<")
        if difference >= 0:
            verb_zh, verb_en = "提高", "raise by"
        else:
            verb_zh, verb_en = "降低", "cut by"
        more_zh = "以上" if strict else ""
        more_en = "more than " if strict else "at least "
        unit_zh = f" {pp_zh}" if pp_zh else ""
        unit_en = f" {pp_en}" if pp_en else ""
        zh = (
            f"{ind.name_zh}：{m.display} → {OP_SYMBOL[t.op]} {ind.display(t.value)}"
            f"（须{verb_zh} {fmt}{unit_zh}{more_zh}）"
        )
        en = (
            f"{ind.name_en}: {m.display} → {OP_SYMBOL[t.op]} {ind.display(t.value)} "
            f"({verb_en} {more_en}{fmt}{unit_en})"
        )
    return Gap(
        item=ind.id,
        kind="metric",
        aspect=ind.aspect,
        name_zh=ind.name_zh,
        name_en=ind.name_en,
        target_level=target,
        current=current,
        required=required,
        op=t.op,
        difference=difference,
        unit=ind.unit,
        binding=binding,
        message_zh=zh,
        message_en=en,
    )
