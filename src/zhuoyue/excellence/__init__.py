"""zhuoyue.excellence — the five-level model of the Manufacturing Excellence Quality Project.

The policy (《制造业卓越质量工程实施意见》, 工信部联科〔2023〕249号) grades a manufacturer's quality
management capability 经验级 → 检验级 → 保证级 → 预防级 → 卓越级 over four aspects. Here the
grading is **data** (a model file: levels, aspects, indicators with cumulative anchors, metric
thresholds, weights) and **pure functions** over it::

    from zhuoyue.excellence import default_model, load_model, evaluate, build_plan

    model = default_model()                      # or load_model("group-standard.toml")
    result = evaluate(metrics, answers, model, coverage={"months": 12})
    result.level, result.level_name_zh           # 3, "保证级"
    result.binding                               # what holds the level, in words and numbers
    result.gaps                                  # every item below the next level, in numbers
    result.plan                                  # 以评促改: quantified actions citing the key tasks
    result.to_dict(); print(result.summary())

``metrics`` maps quantitative indicator ids to ``{"value", "tracked", "detail"}``; ``answers``
maps questionnaire indicator ids to ``{"level", "evidence", "respondent"}``. Anything missing is
"not tracked / not computed" or "not answered": 经验级 for that indicator, never an error.
"""

from zhuoyue.excellence.evaluate import (
    Answer,
    AspectResult,
    AssessmentResult,
    Constraint,
    Gap,
    IndicatorResult,
    MetricInput,
    MetricResult,
    Unsupported,
    evaluate,
)
from zhuoyue.excellence.model import (
    DEFAULT_MODEL_ID,
    Anchor,
    Aspect,
    Indicator,
    Level,
    Model,
    ModelError,
    ModelInfo,
    ModelProblem,
    PolicyTask,
    Threshold,
    builtin_models,
    compare,
    default_model,
    load_model,
    parse_model,
)
from zhuoyue.excellence.plan import Action, build_plan, cpk_targets, sigma_to_ppm

__all__ = [
    "DEFAULT_MODEL_ID",
    "Action",
    "Anchor",
    "Answer",
    "Aspect",
    "AspectResult",
    "AssessmentResult",
    "Constraint",
    "Gap",
    "Indicator",
    "IndicatorResult",
    "Level",
    "MetricInput",
    "MetricResult",
    "Model",
    "ModelError",
    "ModelInfo",
    "ModelProblem",
    "PolicyTask",
    "Threshold",
    "Unsupported",
    "build_plan",
    "builtin_models",
    "compare",
    "cpk_targets",
    "default_model",
    "evaluate",
    "load_model",
    "parse_model",
    "sigma_to_ppm",
]
