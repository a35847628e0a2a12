"""The five-level model as data: loading and validating a model file.

A model file (TOML; JSON, or YAML when PyYAML is installed) holds the five levels, the aspects,
the indicators with their anchors (questionnaire) or thresholds (metrics), the weights of the
score and the policy's key tasks that the improvement plan cites. The built-in model is
``models/miit-2023-v1.toml`` beside this module; its header comment documents the schema and
every interpretation of the policy it makes. No code in :mod:`zhuoyue.excellence` assumes its
content: another file with the same schema (for instance the group standard, when an enterprise
has it) is loaded with :func:`load_model` and evaluated the same way.

Every problem of a file is collected before :class:`ModelError` is raised; each one names the
file, the key path (``indicators[cpk].thresholds[2].value``), what was found and how to fix it.

Examples
--------
>>> from zhuoyue.excellence import default_model
>>> m = default_model()
>>> m.id, len(m.aspects), len(m.indicators), m.scoring_total
('miit-249-2023/zhuoyue-v1', 4, 31, 1000.0)
>>> m.level_name(3), m.level_name(3, "en")
('保证级', 'Assurance')
>>> cpk = m.indicator("cpk")
>>> [(t.level, t.op, t.value) for t in cpk.thresholds]
[(2, '>=', 1.0), (3, '>=', 1.33), (4, '>=', 1.67), (5, '>=', 2.0)]
>>> cpk.reached_level(1.33, m.rel_tol), cpk.reached_level(1.3299, m.rel_tol)
(3, 2)
"""

from __future__ import annotations

import functools
import importlib
import itertools
import json
import math
import os
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from zhuoyue.errors import DataError, InputFileError

__all__ = [
    "ASPECT_RULES",
    "DEFAULT_MODEL_ID",
    "KINDS",
    "LEVELS",
    "METHODS",
    "OPS",
    "OP_NEGATION",
    "OP_SYMBOL",
    "Anchor",
    "Aspect",
    "Indicator",
    "Level",
    "Model",
    "ModelError",
    "ModelInfo",
    "ModelProblem",
    "PolicyTask",
    "Threshold",
    "builtin_models",
    "compare",
    "default_model",
    "load_model",
    "parse_model",
]

#: the id of the model :func:`default_model` returns
DEFAULT_MODEL_ID = "miit-249-2023/zhuoyue-v1"
#: the five levels of the policy (经验级 .. 卓越级)
LEVELS = (1, 2, 3, 4, 5)
#: comparison operators of a metric threshold; ``"tracked"`` = any computed value
OPS = (">=", ">", "<", "<=", "tracked")
#: how an aspect's level follows from its indicators' levels
ASPECT_RULES = ("min", "weighted")
#: indicator kinds
KINDS = ("questionnaire", "metric")
#: how the improvement plan computes a metric's quantified target
METHODS = ("generic", "sigma_level", "cpk", "rolled_yield", "loss_rate")
SCORING_METHODS = ("linear", "points")
SCHEMA_VERSION = 1

_OPS_FOR = {"higher": (">=", ">"), "lower": ("<", "<=")}


# ------------------------------------------------------------------------------------------------
# Errors
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ModelProblem:
    """One problem of a model file: the key path, a stable code and the message."""

    key: str
    code: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"key": self.key, "code": self.code, "message": self.message}


class ModelError(DataError):
    """A model file does not follow the schema; every problem is collected before raising.

    ``source`` is the file (or the name given to :func:`parse_model`), ``problems`` the list of
    :class:`ModelProblem`. The message names the file and lists every problem with its key path.
    """

    code = "model"

    def __init__(self, source: str, problems: Sequence[ModelProblem]) -> None:
        self.source = source
        self.problems: tuple[ModelProblem, ...] = tuple(problems)
        n = len(self.problems)
        head = f"{source}: the model file has {n} problem{'s' if n != 1 else ''}"
        shown = [f"  {p.key}: {p.message}" for p in self.problems[:25]]
        if n > 25:
            shown.append(f"  ... and {n - 25} more")
        super().__init__("\n".join([head + ":", *shown]))


# ------------------------------------------------------------------------------------------------
# The model objects (frozen)
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Level:
    """One of the five levels with its names and the annex's description."""

    level: int
    key: str
    name_zh: str
    name_en: str
    description_zh: str
    description_en: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "key": self.key,
            "name_zh": self.name_zh,
            "name_en": self.name_en,
            "description_zh": self.description_zh,
            "description_en": self.description_en,
        }


@dataclass(frozen=True, slots=True)
class PolicyTask:
    """A key task of the policy (四、重点任务), e.g. ``7. 实施质量管理持续改进``."""

    number: int
    title_zh: str
    title_en: str

    @property
    def label_zh(self) -> str:
        return f"{self.number}. {self.title_zh}"

    @property
    def label_en(self) -> str:
        return f"{self.number}. {self.title_en}"

    def to_dict(self) -> dict[str, Any]:
        return {"number": self.number, "title_zh": self.title_zh, "title_en": self.title_en}


@dataclass(frozen=True, slots=True)
class Anchor:
    """One cumulative anchor of a questionnaire indicator: what level ``level`` means."""

    level: int
    text_zh: str
    text_en: str
    evidence_zh: str
    evidence_en: str
    points: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "text_zh": self.text_zh,
            "text_en": self.text_en,
            "evidence_zh": self.evidence_zh,
            "evidence_en": self.evidence_en,
            "points": self.points,
        }


#: how an operator is printed, and its negation (what a value that fails it satisfies)
OP_SYMBOL = {">=": "≥", ">": ">", "<": "<", "<=": "≤", "tracked": "tracked"}
OP_NEGATION = {">=": "<", ">": "≤", "<": "≥", "<=": ">"}


def compare(value: float, op: str, threshold: float | None, rel_tol: float) -> bool:
    """Whether ``value op threshold`` holds, treating near-equal values as equal.

    Values within ``rel_tol`` (relative) of the threshold count as equal to it, so that a yield
    computed as 190/200 is exactly 95 % and a Cpk of 1.33 reaches ``>= 1.33`` whatever rounding
    produced it. ``"tracked"`` holds for any finite value.

    >>> compare(190 / 200, ">=", 0.95, 1e-9), compare(0.0299, "<", 0.03, 1e-9)
    (True, True)
    >>> compare(0.03, "<", 0.03, 1e-9), compare(0.03 + 1e-14, "<", 0.03, 1e-9)
    (False, False)
    """
    if op == "tracked":
        return math.isfinite(value)
    if threshold is None:
        raise ValueError(f"operator {op!r} needs a threshold value")
    equal = math.isclose(value, threshold, rel_tol=rel_tol, abs_tol=1e-12)
    if op == ">=":
        return equal or value > threshold
    if op == ">":
        return not equal and value > threshold
    if op == "<":
        return not equal and value < threshold
    if op == "<=":
        return equal or value < threshold
    raise ValueError(f"unknown operator {op!r}; use one of {list(OPS)}")


@dataclass(frozen=True, slots=True)
class Threshold:
    """What a metric needs for ``level``: ``value op threshold`` (``op="tracked"``: any value)."""

    level: int
    op: str
    value: float | None
    note_zh: str = ""
    note_en: str = ""
    action_zh: str = ""
    action_en: str = ""
    tasks: tuple[int, ...] = ()

    def holds(self, value: float, rel_tol: float) -> bool:
        return compare(value, self.op, self.value, rel_tol)

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "op": self.op,
            "value": self.value,
            "note_zh": self.note_zh,
            "note_en": self.note_en,
            "action_zh": self.action_zh,
            "action_en": self.action_en,
            "tasks": list(self.tasks),
        }


@dataclass(frozen=True, slots=True)
class Indicator:
    """An indicator: a questionnaire item with five anchors, or a metric with thresholds.

    For metrics, values and thresholds are in the metric's own unit; ``scale`` converts them for
    display only (a rate 0.013 with ``scale=100`` and ``unit="%"`` shows as ``1.30 %``).
    """

    id: str
    aspect: str
    kind: str
    name_zh: str
    name_en: str
    weight: float
    tasks: tuple[int, ...] = ()
    mandatory_from: int | None = None
    description_zh: str = ""
    description_en: str = ""
    anchors: tuple[Anchor, ...] = ()
    unit: str = ""
    scale: float = 1.0
    decimals: int = 2
    better: str = "higher"
    method: str = "generic"
    domain: tuple[float, float] | None = None
    thresholds: tuple[Threshold, ...] = ()
    points: tuple[float, ...] | None = None
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def is_metric(self) -> bool:
        return self.kind == "metric"

    def anchor(self, level: int) -> Anchor:
        """The anchor of ``level`` (questionnaire indicators)."""
        for a in self.anchors:
            if a.level == level:
                return a
        raise KeyError(f"indicator {self.id!r} has no anchor for level {level}")

    def threshold(self, level: int) -> Threshold:
        """The threshold of ``level`` (2..5, metrics)."""
        for t in self.thresholds:
            if t.level == level:
                return t
        raise KeyError(f"indicator {self.id!r} has no threshold for level {level}")

    def reached_level(self, value: float | None, rel_tol: float) -> int:
        """The highest level whose threshold ``value`` meets (1 when it is ``None``)."""
        if value is None or not math.isfinite(value):
            return 1
        level = 1
        for t in sorted(self.thresholds, key=lambda t: t.level):
            if not t.holds(value, rel_tol):
                break
            level = t.level
        return level

    def display(self, value: float | None, *, unit: bool = True) -> str:
        """``value`` in display units with the model's decimals (``"1.30 %"``, ``"1.12"``)."""
        if value is None or not math.isfinite(value):
            return "—"
        text = f"{value * self.scale:.{self.decimals}f}"
        if unit and self.unit:
            return f"{text} {self.unit}" if self.unit == "%" else f"{text}{self.unit}"
        return text

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "aspect": self.aspect,
            "kind": self.kind,
            "name_zh": self.name_zh,
            "name_en": self.name_en,
            "weight": self.weight,
            "tasks": list(self.tasks),
            "mandatory_from": self.mandatory_from,
            "description_zh": self.description_zh,
            "description_en": self.description_en,
        }
        if self.is_metric:
            out.update(
                unit=self.unit,
                scale=self.scale,
                decimals=self.decimals,
                better=self.better,
                method=self.method,
                domain=list(self.domain) if self.domain else None,
                thresholds=[t.to_dict() for t in self.thresholds],
                points=list(self.points) if self.points else None,
                params=_plain(self.params),
            )
        else:
            out["anchors"] = [a.to_dict() for a in self.anchors]
        return out


@dataclass(frozen=True, slots=True)
class Aspect:
    """One aspect (方面) of the annex: its indicators and how their levels combine."""

    id: str
    name_zh: str
    name_en: str
    rule: str = "min"
    description_zh: str = ""
    description_en: str = ""
    annex_zh: tuple[str, ...] = ()
    annex_en: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name_zh": self.name_zh,
            "name_en": self.name_en,
            "rule": self.rule,
            "description_zh": self.description_zh,
            "description_en": self.description_en,
            "annex_zh": list(self.annex_zh),
            "annex_en": list(self.annex_en),
        }


@dataclass(frozen=True, slots=True)
class Model:
    """A validated model: levels, aspects, indicators, scoring and rules (immutable).

    Attributes
    ----------
    id, version : str
        The model's identity, echoed in every result.
    levels : tuple of Level
        Exactly the five levels 1..5.
    aspects, indicators : tuple
        In file order; every indicator belongs to one aspect.
    scoring_total : float
        The indicator weights add up to it (1 000 in the built-in model).
    scoring_method : str
        ``"linear"``: indicator score = weight × (level − 1) / 4; ``"points"``: the points the
        file gives for each level (anchor ``points`` / metric ``points``).
    require_evidence : bool
        Default of :func:`~zhuoyue.excellence.evaluate`: cap answers without evidence at level 1.
    evidence_from : int
        Answers at this level or higher must name evidence.
    min_months : int or None
        Fewer months of data (``coverage["months"]``) give a warning.
    rel_tol : float
        Relative tolerance of threshold comparisons (see :func:`compare`).
    source : str
        The file the model was read from.
    """

    id: str
    version: str
    title_zh: str
    title_en: str
    levels: tuple[Level, ...]
    aspects: tuple[Aspect, ...]
    indicators: tuple[Indicator, ...]
    policy_tasks: tuple[PolicyTask, ...] = ()
    scoring_total: float = 1000.0
    scoring_method: str = "linear"
    require_evidence: bool = False
    evidence_from: int = 2
    min_months: int | None = None
    rel_tol: float = 1e-9
    source_zh: str = ""
    source_en: str = ""
    notes_zh: str = ""
    notes_en: str = ""
    source: str = ""

    def level(self, level: int) -> Level:
        for lv in self.levels:
            if lv.level == level:
                return lv
        raise KeyError(f"model {self.id!r} has no level {level}; levels are 1..5")

    def level_name(self, level: int, lang: str = "zh") -> str:
        """The level's name: ``"保证级"`` (``lang="zh"``) or ``"Assurance"`` (``"en"``)."""
        lv = self.level(level)
        return lv.name_zh if lang == "zh" else lv.name_en

    def aspect(self, aspect_id: str) -> Aspect:
        for a in self.aspects:
            if a.id == aspect_id:
                return a
        raise KeyError(f"model {self.id!r} has no aspect {aspect_id!r}")

    def indicator(self, indicator_id: str) -> Indicator:
        for i in self.indicators:
            if i.id == indicator_id:
                return i
        raise KeyError(f"model {self.id!r} has no indicator {indicator_id!r}")

    def indicators_of(self, aspect_id: str) -> tuple[Indicator, ...]:
        return tuple(i for i in self.indicators if i.aspect == aspect_id)

    @property
    def metrics(self) -> tuple[Indicator, ...]:
        """The quantitative indicators (kind ``"metric"``)."""
        return tuple(i for i in self.indicators if i.is_metric)

    @property
    def questionnaire(self) -> tuple[Indicator, ...]:
        """The questionnaire indicators (kind ``"questionnaire"``)."""
        return tuple(i for i in self.indicators if not i.is_metric)

    def task(self, number: int) -> PolicyTask:
        for t in self.policy_tasks:
            if t.number == number:
                return t
        raise KeyError(f"model {self.id!r} has no policy task {number}")

    def indicator_score(self, indicator: Indicator, level: int) -> float:
        """Points an indicator earns at ``level`` (see ``scoring_method``)."""
        if self.scoring_method == "points":
            if indicator.is_metric:
                assert indicator.points is not None  # checked at load time
                return float(indicator.points[level - 1])
            pts = indicator.anchor(level).points
            assert pts is not None  # checked at load time
            return float(pts)
        return indicator.weight * (level - 1) / 4.0

    def to_dict(self) -> dict[str, Any]:
        """The model as a JSON-ready dict (the schema of the file, normalized)."""
        return {
            "schema": SCHEMA_VERSION,
            "id": self.id,
            "version": self.version,
            "title_zh": self.title_zh,
            "title_en": self.title_en,
            "source_zh": self.source_zh,
            "source_en": self.source_en,
            "notes_zh": self.notes_zh,
            "notes_en": self.notes_en,
            "rules": {
                "require_evidence": self.require_evidence,
                "evidence_from": self.evidence_from,
                "min_months": self.min_months,
                "rel_tol": self.rel_tol,
            },
            "scoring": {"total": self.scoring_total, "method": self.scoring_method},
            "levels": [lv.to_dict() for lv in self.levels],
            "policy_tasks": [t.to_dict() for t in self.policy_tasks],
            "aspects": [a.to_dict() for a in self.aspects],
            "indicators": [i.to_dict() for i in self.indicators],
        }

    def summary(self) -> str:
        """A plain-text outline: aspects, indicators, weights, metric thresholds."""
        lines = [
            f"{self.title_zh}",
            f"{self.title_en}",
            f"model {self.id} version {self.version}; score {self.scoring_total:g} "
            f"({self.scoring_method}); levels: "
            + " · ".join(f"L{lv.level} {lv.name_zh} {lv.name_en}" for lv in self.levels),
        ]
        for a in self.aspects:
            inds = self.indicators_of(a.id)
            w = sum(i.weight for i in inds)
            lines.append(f"  {a.name_zh} / {a.name_en} [{a.id}, rule {a.rule}, weight {w:g}]")
            for i in inds:
                extra = ""
                if i.is_metric:
                    extra = "  " + ", ".join(
                        f"L{t.level} {'tracked' if t.op == 'tracked' else t.op + ' ' + i.display(t.value)}"
                        for t in i.thresholds
                    )
                if i.mandatory_from:
                    extra += f"  (mandatory from L{i.mandatory_from})"
                lines.append(f"    {i.id:<24} {i.weight:>5g}  {i.name_zh}{extra}")
        return "\n".join(lines)


def _plain(x: Any) -> Any:
    if isinstance(x, Mapping):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    return x


def _freeze(x: Any) -> Any:
    if isinstance(x, Mapping):
        return MappingProxyType({str(k): _freeze(v) for k, v in x.items()})
    if isinstance(x, (list, tuple)):
        return tuple(_freeze(v) for v in x)
    return x


# ------------------------------------------------------------------------------------------------
# Validation: a reader that collects problems with their key paths
# ------------------------------------------------------------------------------------------------
_TYPE_NAMES = {
    str: "a string",
    bool: "true or false",
    int: "an integer",
    float: "a number",
    list: "a list",
    dict: "a table",
}


def _found(value: Any) -> str:
    kind = {
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "string",
        list: "list",
        dict: "table",
    }.get(type(value), type(value).__name__)
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{text} ({kind})"


class _Reader:
    """Reads values out of the parsed file, recording a problem for each bad or missing key."""

    def __init__(self) -> None:
        self.problems: list[ModelProblem] = []

    def problem(self, key: str, message: str, code: str = "invalid") -> None:
        self.problems.append(ModelProblem(key, code, message))

    def check_keys(
        self, obj: Mapping[str, Any], path: str, required: Sequence[str], optional: Sequence[str]
    ) -> None:
        for k in required:
            if k not in obj:
                self.problem(
                    _join(path, k),
                    f"is missing. Add the key {k!r} to {path or 'the top level'}.",
                    "missing",
                )
        allowed = set(required) | set(optional)
        for k in obj:
            if k not in allowed:
                self.problem(
                    _join(path, str(k)),
                    f"is not a key of this schema. Allowed here: {sorted(allowed)}. "
                    "Check the spelling or remove it.",
                    "unknown_key",
                )

    def get(
        self,
        obj: Mapping[str, Any],
        key: str,
        path: str,
        kind: type,
        default: Any = None,
        *,
        check: Callable[[Any], str | None] | None = None,
    ) -> Any:
        """``obj[key]`` of type ``kind`` (int accepted for float), else record and return default."""
        if obj.get(key) is None:  # absent, or JSON null
            return default
        value = obj[key]
        ok = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
            ok = True
        if kind is float and ok and not math.isfinite(value):
            ok = False
        if not ok:
            self.problem(
                _join(path, key),
                f"must be {_TYPE_NAMES.get(kind, kind.__name__)}; found {_found(obj[key])}.",
                "type",
            )
            return default
        if check is not None:
            msg = check(value)
            if msg:
                self.problem(_join(path, key), msg, "value")
                return default
        return value

    def text(
        self,
        obj: Mapping[str, Any],
        key: str,
        path: str,
        default: str = "",
        *,
        required: bool = False,
    ) -> str:
        """A string; a *required* one (its absence is reported by check_keys) must not be blank."""
        value = self.get(obj, key, path, str, None)
        if value is None:
            return default
        if required and not value.strip():
            self.problem(_join(path, key), "is empty. Write the text.", "empty")
        return str(value)

    def table_list(self, obj: Mapping[str, Any], key: str, path: str) -> list[Mapping[str, Any]]:
        if key not in obj:
            return []
        value = obj[key]
        if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
            self.problem(
                _join(path, key),
                f"must be a list of tables ([[{_join(path, key)}]] blocks in TOML); "
                f"found {_found(value)}.",
                "type",
            )
            return []
        return list(value)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _label(items: Sequence[Mapping[str, Any]], i: int, key: str = "id") -> str:
    v = items[i].get(key)
    return str(v) if isinstance(v, (str, int)) and not isinstance(v, bool) else f"#{i + 1}"


def _in_levels(lo: int, hi: int) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        if not lo <= v <= hi:
            return f"must be a level from {lo} to {hi}; found {v}."
        return None

    return check


_TOP_REQUIRED = ("schema", "id", "version", "levels", "aspects", "indicators", "scoring")
_TOP_OPTIONAL = (
    "title_zh",
    "title_en",
    "source_zh",
    "source_en",
    "notes_zh",
    "notes_en",
    "rules",
    "policy_tasks",
    "meta",
)


def parse_model(data: Mapping[str, Any], source: str = "<model>") -> Model:
    """Validate a parsed model (a dict, e.g. from TOML or JSON) and build a :class:`Model`.

    Raises
    ------
    ModelError
        With every problem found, each with its key path and what to do.
    """
    r = _Reader()
    if not isinstance(data, Mapping):
        raise ModelError(source, [ModelProblem("", "type", "the file must hold a table")])
    r.check_keys(data, "", _TOP_REQUIRED, _TOP_OPTIONAL)

    schema = r.get(data, "schema", "", int)
    if schema is not None and schema != SCHEMA_VERSION:
        r.problem(
            "schema",
            f"must be {SCHEMA_VERSION} (the schema this zhuoyue reads); found {schema}. "
            "Upgrade zhuoyue or convert the file.",
            "value",
        )
    model_id = r.text(data, "id", "", required=True)
    version = r.text(data, "version", "", required=True)

    # rules and scoring
    rules = data.get("rules", {})
    require_evidence, evidence_from, min_months, rel_tol = False, 2, None, 1e-9
    if not isinstance(rules, Mapping):
        r.problem("rules", f"must be a table; found {_found(rules)}.", "type")
    else:
        r.check_keys(
            rules, "rules", (), ("require_evidence", "evidence_from", "min_months", "rel_tol")
        )
        require_evidence = r.get(rules, "require_evidence", "rules", bool, False)
        evidence_from = r.get(rules, "evidence_from", "rules", int, 2, check=_in_levels(2, 5))
        min_months = r.get(
            rules,
            "min_months",
            "rules",
            int,
            None,
            check=lambda v: None if v >= 1 else f"must be at least 1; found {v}.",
        )
        rel_tol = r.get(
            rules,
            "rel_tol",
            "rules",
            float,
            1e-9,
            check=lambda v: None if 0 <= v <= 1e-3 else f"must be in [0, 1e-3]; found {v}.",
        )
    scoring = data.get("scoring", {})
    total, method = 1000.0, "linear"
    if not isinstance(scoring, Mapping):
        r.problem("scoring", f"must be a table; found {_found(scoring)}.", "type")
    else:
        r.check_keys(scoring, "scoring", ("total",), ("method",))
        total = r.get(
            scoring,
            "total",
            "scoring",
            float,
            1000.0,
            check=lambda v: None if v > 0 else f"must be positive; found {v}.",
        )
        method = r.get(
            scoring,
            "method",
            "scoring",
            str,
            "linear",
            check=lambda v: (
                None
                if v in SCORING_METHODS
                else f"must be one of {list(SCORING_METHODS)}; found {v!r}."
            ),
        )

    levels = _read_levels(r, data)
    tasks = _read_tasks(r, data)
    aspects = _read_aspects(r, data)
    task_numbers = {t.number for t in tasks}
    aspect_ids = {a.id for a in aspects}
    indicators = _read_indicators(r, data, aspect_ids, task_numbers, method)

    # cross checks
    for a in aspects:
        if not any(i.aspect == a.id for i in indicators):
            r.problem(
                f"aspects[{a.id}]",
                "has no indicator. Give it at least one indicator (aspect = "
                f"{a.id!r}) or remove it.",
                "empty_aspect",
            )
    if indicators and not r.problems:
        weight_sum = math.fsum(i.weight for i in indicators)
        if not math.isclose(weight_sum, total, rel_tol=1e-9, abs_tol=1e-9):
            per_aspect = ", ".join(
                f"{a.id} {math.fsum(i.weight for i in indicators if i.aspect == a.id):g}"
                for a in aspects
            )
            r.problem(
                "indicators[*].weight",
                f"the weights add up to {weight_sum:g}, not scoring.total = {total:g} "
                f"(per aspect: {per_aspect}). Change the weights by {total - weight_sum:+g}.",
                "weights",
            )

    if r.problems:
        raise ModelError(source, r.problems)
    return Model(
        id=model_id,
        version=version,
        title_zh=r.text(data, "title_zh", "", model_id),
        title_en=r.text(data, "title_en", "", model_id),
        levels=levels,
        aspects=aspects,
        indicators=indicators,
        policy_tasks=tasks,
        scoring_total=float(total),
        scoring_method=method,
        require_evidence=bool(require_evidence),
        evidence_from=int(evidence_from),
        min_months=min_months,
        rel_tol=float(rel_tol),
        source_zh=str(data.get("source_zh", "")),
        source_en=str(data.get("source_en", "")),
        notes_zh=str(data.get("notes_zh", "")),
        notes_en=str(data.get("notes_en", "")),
        source=source,
    )


def _read_levels(r: _Reader, data: Mapping[str, Any]) -> tuple[Level, ...]:
    items = r.table_list(data, "levels", "")
    out: list[Level] = []
    seen: set[int] = set()
    for i, item in enumerate(items):
        path = f"levels[{_label(items, i, 'level')}]"
        r.check_keys(
            item,
            path,
            ("level", "name_zh", "name_en"),
            ("key", "description_zh", "description_en"),
        )
        lv = r.get(item, "level", path, int, None, check=_in_levels(1, 5))
        if lv is None:
            continue
        if lv in seen:
            r.problem(path, f"level {lv} is defined twice. Keep one block per level.", "duplicate")
            continue
        seen.add(lv)
        out.append(
            Level(
                level=lv,
                key=r.text(item, "key", path, f"L{lv}"),
                name_zh=r.text(item, "name_zh", path, required=True),
                name_en=r.text(item, "name_en", path, required=True),
                description_zh=r.text(item, "description_zh", path),
                description_en=r.text(item, "description_en", path),
            )
        )
    if "levels" in data and isinstance(data["levels"], list) and seen != set(LEVELS):
        missing = sorted(set(LEVELS) - seen)
        if missing:
            r.problem(
                "levels",
                f"must define the five levels 1..5 (经验级..卓越级); level(s) {missing} missing.",
                "levels",
            )
    return tuple(sorted(out, key=lambda lv: lv.level))


def _read_tasks(r: _Reader, data: Mapping[str, Any]) -> tuple[PolicyTask, ...]:
    items = r.table_list(data, "policy_tasks", "")
    out: list[PolicyTask] = []
    seen: set[int] = set()
    for i, item in enumerate(items):
        path = f"policy_tasks[{_label(items, i, 'number')}]"
        r.check_keys(item, path, ("number", "title_zh", "title_en"), ())
        n = r.get(
            item,
            "number",
            path,
            int,
            None,
            check=lambda v: None if v >= 1 else f"must be 1 or more; found {v}.",
        )
        if n is None:
            continue
        if n in seen:
            r.problem(path, f"task {n} is defined twice. Keep one block per task.", "duplicate")
            continue
        seen.add(n)
        out.append(
            PolicyTask(
                n,
                r.text(item, "title_zh", path, required=True),
                r.text(item, "title_en", path, required=True),
            )
        )
    return tuple(out)


def _read_aspects(r: _Reader, data: Mapping[str, Any]) -> tuple[Aspect, ...]:
    items = r.table_list(data, "aspects", "")
    if "aspects" in data and not items and isinstance(data["aspects"], list):
        r.problem("aspects", "is empty. Define at least one [[aspects]] block.", "empty")
    out: list[Aspect] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        path = f"aspects[{_label(items, i)}]"
        r.check_keys(
            item,
            path,
            ("id", "name_zh", "name_en"),
            ("rule", "description_zh", "description_en", "annex_zh", "annex_en"),
        )
        aid = r.text(item, "id", path, required=True)
        if not aid:
            continue
        if aid in seen:
            r.problem(path, f"aspect id {aid!r} is used twice. Ids must be unique.", "duplicate")
            continue
        seen.add(aid)
        rule = r.get(
            item,
            "rule",
            path,
            str,
            "min",
            check=lambda v: (
                None if v in ASPECT_RULES else f"must be one of {list(ASPECT_RULES)}; found {v!r}."
            ),
        )
        annex: dict[str, tuple[str, ...]] = {}
        for key in ("annex_zh", "annex_en"):
            val = r.get(item, key, path, list, [])
            if val and (len(val) != 5 or not all(isinstance(s, str) for s in val)):
                r.problem(
                    _join(path, key),
                    f"must be a list of five strings (one per level); found {len(val)} item(s).",
                    "value",
                )
                val = []
            annex[key] = tuple(val)
        out.append(
            Aspect(
                id=aid,
                name_zh=r.text(item, "name_zh", path, required=True),
                name_en=r.text(item, "name_en", path, required=True),
                rule=rule,
                description_zh=r.text(item, "description_zh", path),
                description_en=r.text(item, "description_en", path),
                annex_zh=annex["annex_zh"],
                annex_en=annex["annex_en"],
            )
        )
    return tuple(out)


_IND_REQUIRED = ("id", "aspect", "kind", "name_zh", "name_en", "weight")
_IND_COMMON = ("tasks", "mandatory_from", "description_zh", "description_en")
_IND_QUESTION = ("anchors",)
_IND_METRIC = (
    "unit",
    "scale",
    "decimals",
    "better",
    "method",
    "domain",
    "thresholds",
    "points",
    "params",
)


def _read_indicators(
    r: _Reader,
    data: Mapping[str, Any],
    aspect_ids: set[str],
    task_numbers: set[int],
    scoring_method: str,
) -> tuple[Indicator, ...]:
    items = r.table_list(data, "indicators", "")
    if "indicators" in data and not items and isinstance(data["indicators"], list):
        r.problem("indicators", "is empty. Define at least one [[indicators]] block.", "empty")
    out: list[Indicator] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        path = f"indicators[{_label(items, i)}]"
        kind = item.get("kind")
        if kind not in KINDS:
            r.check_keys(item, path, _IND_REQUIRED, (*_IND_COMMON, *_IND_QUESTION, *_IND_METRIC))
            if "kind" in item:
                r.problem(
                    _join(path, "kind"),
                    f"must be one of {list(KINDS)}; found {_found(kind)}.",
                    "value",
                )
            continue
        extra = _IND_METRIC if kind == "metric" else _IND_QUESTION
        r.check_keys(item, path, _IND_REQUIRED, (*_IND_COMMON, *extra))
        iid = r.text(item, "id", path, required=True)
        if iid in seen:
            r.problem(path, f"indicator id {iid!r} is used twice. Ids must be unique.", "duplicate")
            continue
        seen.add(iid)
        aspect = r.text(item, "aspect", path)
        if aspect and aspect not in aspect_ids:
            r.problem(
                _join(path, "aspect"),
                f"names aspect {aspect!r}, which is not defined. Aspects: {sorted(aspect_ids)}.",
                "reference",
            )
        weight = r.get(
            item,
            "weight",
            path,
            float,
            0.0,
            check=lambda v: None if v >= 0 else f"must be 0 or more; found {v}.",
        )
        tasks_raw = r.get(item, "tasks", path, list, [])
        tasks: list[int] = []
        for t in tasks_raw:
            if not isinstance(t, int) or isinstance(t, bool):
                r.problem(
                    _join(path, "tasks"),
                    f"must list policy task numbers (integers); found {_found(t)}.",
                    "type",
                )
            elif t not in task_numbers:
                r.problem(
                    _join(path, "tasks"),
                    f"cites policy task {t}, which is not defined in [[policy_tasks]]. "
                    f"Defined: {sorted(task_numbers)}.",
                    "reference",
                )
            else:
                tasks.append(t)
        mandatory = r.get(item, "mandatory_from", path, int, None, check=_in_levels(2, 5))
        common: dict[str, Any] = {
            "id": iid,
            "aspect": aspect,
            "kind": kind,
            "name_zh": r.text(item, "name_zh", path, required=True),
            "name_en": r.text(item, "name_en", path, required=True),
            "weight": float(weight),
            "tasks": tuple(tasks),
            "mandatory_from": mandatory,
            "description_zh": r.text(item, "description_zh", path),
            "description_en": r.text(item, "description_en", path),
        }
        if kind == "questionnaire":
            anchors = _read_anchors(r, item, path, float(weight), scoring_method)
            out.append(Indicator(**common, anchors=anchors))
        else:
            out.append(_read_metric(r, item, path, common, task_numbers, scoring_method))
    return tuple(out)


def _read_anchors(
    r: _Reader, item: Mapping[str, Any], path: str, weight: float, scoring_method: str
) -> tuple[Anchor, ...]:
    items = r.table_list(item, "anchors", path)
    out: dict[int, Anchor] = {}
    for j, a in enumerate(items):
        apath = f"{path}.anchors[{_label(items, j, 'level')}]"
        r.check_keys(
            a,
            apath,
            ("level", "text_zh", "text_en", "evidence_zh", "evidence_en"),
            ("points",),
        )
        lv = r.get(a, "level", apath, int, None, check=_in_levels(1, 5))
        if lv is None:
            continue
        if lv in out:
            r.problem(apath, f"level {lv} has two anchors. Keep one per level.", "duplicate")
            continue
        points = r.get(a, "points", apath, float, None)
        if points is not None and scoring_method != "points":
            r.problem(
                _join(apath, "points"),
                'is used only with scoring.method = "points". Remove it or change the method.',
                "value",
            )
        out[lv] = Anchor(
            level=lv,
            text_zh=r.text(a, "text_zh", apath, required=True),
            text_en=r.text(a, "text_en", apath, required=True),
            evidence_zh=r.text(a, "evidence_zh", apath, required=True),
            evidence_en=r.text(a, "evidence_en", apath, required=True),
            points=points,
        )
    if "anchors" not in item:
        r.problem(
            _join(path, "anchors"),
            "is missing: a questionnaire indicator needs five [[indicators.anchors]] "
            "(levels 1..5).",
            "missing",
        )
    elif set(out) != set(LEVELS) and len(out) == len(items):
        r.problem(
            _join(path, "anchors"),
            f"must have one anchor for each level 1..5; missing {sorted(set(LEVELS) - set(out))}.",
            "levels",
        )
    anchors = tuple(out[k] for k in sorted(out))
    if scoring_method == "points" and len(anchors) == 5:
        pts = [a.points for a in anchors]
        if any(p is None for p in pts):
            r.problem(
                _join(path, "anchors"),
                'scoring.method = "points": every anchor needs points (missing at levels '
                f"{[a.level for a in anchors if a.points is None]}).",
                "missing",
            )
        else:
            _check_points(
                r,
                _join(path, "anchors[*].points"),
                [float(p) for p in pts if p is not None],
                weight,
            )
    return anchors


def _check_points(r: _Reader, key: str, pts: Sequence[float], weight: float) -> None:
    if any(b < a for a, b in itertools.pairwise(pts)) or pts[0] < 0:
        r.problem(
            key,
            f"points must not decrease from level 1 to 5 and start at 0 or more; found {list(pts)}.",
            "points",
        )
    if not math.isclose(pts[-1], weight, rel_tol=1e-9, abs_tol=1e-9):
        r.problem(
            key,
            f"the level-5 points ({pts[-1]:g}) must equal the weight ({weight:g}).",
            "points",
        )


def _read_metric(
    r: _Reader,
    item: Mapping[str, Any],
    path: str,
    common: dict[str, Any],
    task_numbers: set[int],
    scoring_method: str,
) -> Indicator:
    better = r.get(
        item,
        "better",
        path,
        str,
        "higher",
        check=lambda v: None if v in _OPS_FOR else f"must be 'higher' or 'lower'; found {v!r}.",
    )
    method = r.get(
        item,
        "method",
        path,
        str,
        "generic",
        check=lambda v: None if v in METHODS else f"must be one of {list(METHODS)}; found {v!r}.",
    )
    scale = r.get(
        item,
        "scale",
        path,
        float,
        1.0,
        check=lambda v: None if v > 0 else f"must be positive; found {v}.",
    )
    decimals = r.get(
        item,
        "decimals",
        path,
        int,
        2,
        check=lambda v: None if 0 <= v <= 12 else f"must be in 0..12; found {v}.",
    )
    domain: tuple[float, float] | None = None
    raw_domain = r.get(item, "domain", path, list, None)
    if raw_domain is not None:
        if (
            len(raw_domain) == 2
            and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                for v in raw_domain
            )
            and raw_domain[0] < raw_domain[1]
        ):
            domain = (float(raw_domain[0]), float(raw_domain[1]))
        else:
            r.problem(
                _join(path, "domain"),
                f"must be [low, high] with low < high; found {_found(raw_domain)}.",
                "value",
            )
    params = r.get(item, "params", path, dict, {})
    points: tuple[float, ...] | None = None
    raw_points = r.get(item, "points", path, list, None)
    if raw_points is not None:
        if scoring_method != "points":
            r.problem(
                _join(path, "points"),
                'is used only with scoring.method = "points". Remove it or change the method.',
                "value",
            )
        elif len(raw_points) != 5 or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in raw_points
        ):
            r.problem(
                _join(path, "points"),
                f"must list five numbers (points at levels 1..5); found {_found(raw_points)}.",
                "value",
            )
        else:
            points = tuple(float(v) for v in raw_points)
            _check_points(r, _join(path, "points"), points, common["weight"])
    elif scoring_method == "points":
        r.problem(
            _join(path, "points"),
            'is missing: with scoring.method = "points" a metric needs points = [p1, .., p5].',
            "missing",
        )

    thresholds = _read_thresholds(r, item, path, better, domain, task_numbers)
    return Indicator(
        **common,
        unit=r.get(item, "unit", path, str, ""),
        scale=float(scale),
        decimals=int(decimals),
        better=better,
        method=method,
        domain=domain,
        thresholds=thresholds,
        points=points,
        params=_freeze(params),
    )


def _read_thresholds(
    r: _Reader,
    item: Mapping[str, Any],
    path: str,
    better: str,
    domain: tuple[float, float] | None,
    task_numbers: set[int],
) -> tuple[Threshold, ...]:
    items = r.table_list(item, "thresholds", path)
    if "thresholds" not in item:
        r.problem(
            _join(path, "thresholds"),
            "is missing: a metric needs [[indicators.thresholds]] for levels 2..5 "
            "(level 1 is the floor).",
            "missing",
        )
        return ()
    out: dict[int, Threshold] = {}
    for j, t in enumerate(items):
        tpath = f"{path}.thresholds[{_label(items, j, 'level')}]"
        r.check_keys(
            t,
            tpath,
            ("level", "op"),
            ("value", "note_zh", "note_en", "action_zh", "action_en", "tasks"),
        )
        lv = r.get(t, "level", tpath, int, None, check=_in_levels(2, 5))
        op = r.get(
            t,
            "op",
            tpath,
            str,
            None,
            check=lambda v: None if v in OPS else f"must be one of {list(OPS)}; found {v!r}.",
        )
        value = r.get(t, "value", tpath, float, None)
        if lv is None or op is None:
            continue
        if lv in out:
            r.problem(tpath, f"level {lv} has two thresholds. Keep one per level.", "duplicate")
            continue
        if op == "tracked":
            if value is not None:
                r.problem(
                    _join(tpath, "value"),
                    'must not be given with op = "tracked" (any computed value reaches it). '
                    "Remove it.",
                    "value",
                )
                value = None
        else:
            if "value" not in t:
                r.problem(
                    _join(tpath, "value"),
                    f"is missing: op {op!r} compares with a value. Add value = <number>.",
                    "missing",
                )
            if op not in _OPS_FOR.get(better, ()):
                r.problem(
                    _join(tpath, "op"),
                    f"{op!r} does not fit better = {better!r}: use one of "
                    f"{list(_OPS_FOR.get(better, ()))} (or 'tracked').",
                    "value",
                )
            if value is not None and domain is not None and not domain[0] <= value <= domain[1]:
                r.problem(
                    _join(tpath, "value"),
                    f"{value:g} lies outside the metric's domain [{domain[0]:g}, {domain[1]:g}].",
                    "value",
                )
        ttasks = r.get(t, "tasks", tpath, list, [])
        bad = [x for x in ttasks if not isinstance(x, int) or x not in task_numbers]
        if bad:
            r.problem(
                _join(tpath, "tasks"),
                f"cites {bad}, not defined in [[policy_tasks]]. Defined: {sorted(task_numbers)}.",
                "reference",
            )
        out[lv] = Threshold(
            level=lv,
            op=op,
            value=value,
            note_zh=r.text(t, "note_zh", tpath),
            note_en=r.text(t, "note_en", tpath),
            action_zh=r.text(t, "action_zh", tpath),
            action_en=r.text(t, "action_en", tpath),
            tasks=tuple(x for x in ttasks if x not in bad),
        )
    if len(out) == len(items) and set(out) != {2, 3, 4, 5}:
        r.problem(
            _join(path, "thresholds"),
            f"must have one threshold for each level 2..5; missing {sorted({2, 3, 4, 5} - set(out))}.",
            "levels",
        )
        return tuple(out[k] for k in sorted(out))
    ordered = [out[k] for k in sorted(out)]
    _check_monotone(r, path, ordered, better)
    return tuple(ordered)


def _check_monotone(r: _Reader, path: str, ordered: Sequence[Threshold], better: str) -> None:
    """Reaching level k+1 must imply reaching level k: tracked first, then stricter values."""
    numeric_seen = False
    prev: Threshold | None = None
    for t in ordered:
        if t.op == "tracked":
            if numeric_seen:
                r.problem(
                    f"{path}.thresholds[{t.level}].op",
                    '"tracked" may only be used at the lowest levels, before any numeric '
                    "threshold (a higher level cannot ask for less).",
                    "monotone",
                )
            continue
        numeric_seen = True
        if t.value is None:
            continue
        if prev is not None and prev.value is not None:
            a, b = prev.value, t.value
            if better == "higher":
                ok = b > a or (b == a and prev.op == ">=" and t.op == ">")
                want = "higher"
            else:
                ok = b < a or (b == a and prev.op == "<=" and t.op == "<")
                want = "lower"
            if not ok:
                r.problem(
                    f"{path}.thresholds[{t.level}].value",
                    f"thresholds must get stricter from level to level (better = {better!r}): "
                    f"level {t.level} has {t.op} {b:g} after level {prev.level} {prev.op} {a:g}. "
                    f"Give level {t.level} a {want} value.",
                    "monotone",
                )
        prev = t


# ------------------------------------------------------------------------------------------------
# Files and built-in models
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ModelInfo:
    """A built-in model: its id, version, title and file name."""

    id: str
    version: str
    title_zh: str
    title_en: str
    filename: str

    def to_dict(self) -> dict[str, str]:
        return {
            "id": self.id,
            "version": self.version,
            "title_zh": self.title_zh,
            "title_en": self.title_en,
            "filename": self.filename,
        }


def _read_file(path: Path) -> Mapping[str, Any]:
    suffix = path.suffix.lower()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputFileError(
            f"Model file {str(path)!r} does not exist. Give the path of a .toml model file or "
            f"a built-in model id: {[m.id for m in builtin_models()]}."
        ) from None
    except OSError as exc:
        raise InputFileError(f"Model file {str(path)!r} cannot be read: {exc.strerror}.") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputFileError(
            f"Model file {str(path)!r} is not UTF-8 (byte {exc.start}). Save it as UTF-8."
        ) from None
    try:
        if suffix == ".toml":
            return tomllib.loads(text)
        if suffix == ".json":
            data = json.loads(text)
        elif suffix in (".yaml", ".yml"):
            try:
                yaml = importlib.import_module("yaml")
            except ImportError:
                raise InputFileError(
                    f"Model file {str(path)!r} is YAML, which needs PyYAML (not installed). "
                    "Install it, or write the model as TOML."
                ) from None
            data = yaml.safe_load(text)
        else:
            raise InputFileError(
                f"Model file {str(path)!r}: unsupported format {suffix or '(no suffix)'!r}. "
                "Use .toml (or .json, .yaml)."
            )
    except tomllib.TOMLDecodeError as exc:
        raise InputFileError(f"Model file {str(path)!r} is not valid TOML: {exc}.") from None
    except json.JSONDecodeError as exc:
        raise InputFileError(
            f"Model file {str(path)!r} is not valid JSON: {exc.msg} "
            f"(line {exc.lineno}, column {exc.colno})."
        ) from None
    except InputFileError:
        raise
    except Exception as exc:  # YAML parser errors have no common base we can name without PyYAML
        raise InputFileError(f"Model file {str(path)!r} cannot be parsed: {exc}") from None
    if not isinstance(data, Mapping):
        raise InputFileError(
            f"Model file {str(path)!r} must hold a table/object at the top; found {_found(data)}."
        )
    return data


def _builtin_dir() -> Path:
    return Path(str(resources.files("zhuoyue.excellence").joinpath("models")))


@functools.lru_cache(maxsize=1)
def _builtin_index() -> tuple[tuple[ModelInfo, Path], ...]:
    out: list[tuple[ModelInfo, Path]] = []
    folder = _builtin_dir()
    for path in sorted(folder.glob("*.toml")):
        data = _read_file(path)
        out.append(
            (
                ModelInfo(
                    id=str(data.get("id", path.stem)),
                    version=str(data.get("version", "")),
                    title_zh=str(data.get("title_zh", "")),
                    title_en=str(data.get("title_en", "")),
                    filename=path.name,
                ),
                path,
            )
        )
    return tuple(out)


def builtin_models() -> tuple[ModelInfo, ...]:
    """The models shipped with zhuoyue (``excellence/models/*.toml``).

    >>> [m.id for m in builtin_models()]
    ['miit-249-2023/zhuoyue-v1']
    """
    return tuple(info for info, _ in _builtin_index())


@functools.lru_cache(maxsize=16)
def _load_builtin(model_id: str) -> Model:
    for info, path in _builtin_index():
        if info.id == model_id:
            return parse_model(_read_file(path), source=str(path))
    raise KeyError(model_id)


def load_model(path_or_id: str | os.PathLike[str]) -> Model:
    """Load a model by built-in id or from a file (TOML; JSON; YAML when PyYAML is installed).

    Parameters
    ----------
    path_or_id : str or path
        A built-in id (see :func:`builtin_models`) or the path of a model file.

    Raises
    ------
    InputFileError
        The file is missing, unreadable or not valid TOML/JSON/YAML.
    ModelError
        The file does not follow the schema (every problem listed with its key path).
    """
    if isinstance(path_or_id, str) and path_or_id in {m.id for m in builtin_models()}:
        return _load_builtin(path_or_id)
    path = Path(path_or_id)
    return parse_model(_read_file(path), source=str(path))


def default_model() -> Model:
    """The built-in model ``miit-249-2023/zhuoyue-v1`` (loaded once, then cached)."""
    return _load_builtin(DEFAULT_MODEL_ID)
