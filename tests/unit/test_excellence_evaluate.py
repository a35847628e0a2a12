"""The evaluator and the improvement plan on hand-computed enterprise cases.

Each expected value was computed by hand from the annex thresholds (DESIGN.md table) and the
rules in the docstring of :mod:`zhuoyue.excellence.evaluate`; the arithmetic is written next to
the assertion. Scores: linear, indicator score = weight × (level − 1) / 4, questionnaire weights
800, five metrics × 40.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from zhuoyue.errors import ParameterError
from zhuoyue.excellence import (
    Answer,
    AssessmentResult,
    MetricInput,
    build_plan,
    cpk_targets,
    default_model,
    evaluate,
    load_model,
    sigma_to_ppm,
)

ALT_FILE = Path(__file__).resolve().parents[1] / "data" / "alt_model.toml"
MODEL = default_model()
METRIC_IDS = [i.id for i in MODEL.metrics]

# metric values that reach exactly one level each (hand-checked against the table)
LEVEL_METRICS: dict[int, dict[str, Any]] = {
    1: {"sigma_level": 2.5, "cpk": 0.9, "rolled_yield": 0.85},  # loss rates not tracked
    2: {
        "sigma_level": 3.2,
        "cpk": 1.05,
        "rolled_yield": 0.91,
        "internal_loss_rate": 0.045,
        "external_loss_rate": 0.03,
    },
    3: {
        "sigma_level": 4.1,
        "cpk": 1.4,
        "rolled_yield": 0.96,
        "internal_loss_rate": 0.02,
        "external_loss_rate": 0.015,
    },
    4: {
        "sigma_level": 5.3,
        "cpk": 1.8,
        "rolled_yield": 0.975,
        "internal_loss_rate": 0.01,
        "external_loss_rate": 0.008,
    },
    5: {
        "sigma_level": 6.2,
        "cpk": 2.1,
        "rolled_yield": 0.99,
        "internal_loss_rate": 0.005,
        "external_loss_rate": 0.003,
    },
}


def answers_at(level: int, evidence: bool = True) -> dict[str, dict[str, Any]]:
    return {
        i.id: {"level": level, "evidence": ["记录 record"] if evidence else [], "respondent": "QM"}
        for i in MODEL.questionnaire
    }


def enterprise(level: int) -> AssessmentResult:
    return evaluate(LEVEL_METRICS[level], answers_at(level), coverage={"months": 12})


# ------------------------------------------------------------------------------------------------
# One enterprise at each of the five levels
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("level", [1, 2, 3, 4, 5])
def test_enterprise_at_each_level(level: int) -> None:
    res = enterprise(level)
    assert res.level == level
    assert res.level_name_zh == MODEL.level_name(level)
    assert all(a.level == level for a in res.aspects)
    assert all(m.level == level for m in res.metrics.values())
    # every indicator at `level`: score = 1000 × (level − 1) / 4
    assert res.score == pytest.approx(250.0 * (level - 1))
    assert res.max_score == 1000
    assert res.unsupported == () and res.warnings == ()
    if level == 5:
        assert res.binding == () and res.gaps == () and res.plan == ()
        assert res.next_level is None
    else:
        # everything is at `level`: all 31 indicators bind, and all are gaps
        assert {c.item for c in res.binding} == {i.id for i in MODEL.indicators}
        assert len(res.gaps) == len(MODEL.indicators)
        assert all(g.target_level == level + 1 and g.binding for g in res.gaps)
        assert res.plan and all(a.target_level == level + 1 for a in res.plan)


def test_level_1_enterprise_reasons() -> None:
    res = enterprise(1)
    for key in ("internal_loss_rate", "external_loss_rate"):
        m = res.metrics[key]
        assert m.value is None and m.status == "not_computed" and m.level == 1
        assert m.reason_en == "not tracked / not computed" and m.reason_zh == "未做统计或未能计算"
        assert m.display == "not tracked / not computed"
        assert res.indicator(key).reached_by == "not_computed"
    binding = {c.item: c for c in res.binding}
    assert binding["internal_loss_rate"].message_en == (
        "held at 经验级 (Experience) by the internal quality loss rate: not tracked / not "
        "computed (检验级 needs it tracked)"
    )
    assert binding["internal_loss_rate"].message_zh == (
        "内部质量损失率未做统计或未能计算，等级停留在经验级（检验级要求已统计）"
    )
    assert binding["cpk"].message_en.endswith("0.90 < 1.00 (检验级 needs ≥ 1.00)")


# ------------------------------------------------------------------------------------------------
# The worked example of the issue: held at 保证级 by the external loss rate 1.3 % ≥ 1.0 %
# ------------------------------------------------------------------------------------------------
def issue_example() -> AssessmentResult:
    metrics = dict(LEVEL_METRICS[4], external_loss_rate=0.013)
    return evaluate(metrics, answers_at(4))


def test_binding_message_of_the_issue() -> None:
    res = issue_example()
    assert res.level == 3 and res.level_name_en == "Assurance"
    assert [c.item for c in res.binding] == ["external_loss_rate"]
    c = res.binding[0]
    assert c.kind == "metric" and c.level == 3 and c.next_level == 4
    assert c.message_en == (
        "held at 保证级 (Assurance) by the external quality loss rate 1.30 % ≥ 1.00 % "
        "(预防级 needs < 1.00 %)"
    )
    assert (
        c.message_zh
        == "外部质量损失率 1.30 % 未低于 1.00 %，等级停留在保证级（预防级要求 < 1.00 %）"
    )
    # the performance aspect is at 3, the other aspects at 4
    assert [a.level for a in res.aspects] == [4, 4, 4, 3]
    # score: 800×3/4 + 4 metrics×30 + 40×2/4 = 600 + 120 + 20
    assert res.score == 740


def test_gap_of_the_issue_in_numbers() -> None:
    res = issue_example()
    assert len(res.gaps) == 1
    g = res.gaps[0]
    assert (g.item, g.kind, g.target_level, g.op, g.unit) == (
        "external_loss_rate",
        "metric",
        4,
        "<",
        "%",
    )
    assert g.current == pytest.approx(1.3) and g.required == pytest.approx(1.0)
    assert g.difference == pytest.approx(-0.3)
    assert g.message_en == (
        "External quality loss rate: 1.30 % → < 1.00 % (cut by more than 0.30 percentage points)"
    )
    assert g.message_zh == "外部质量损失率：1.30 % → < 1.00 %（须降低 0.30 个百分点以上）"


# ------------------------------------------------------------------------------------------------
# Boundaries
# ------------------------------------------------------------------------------------------------
BOUNDARIES = [
    ("cpk", 1.33, 3),
    ("cpk", 1.3299, 2),
    ("cpk", 1.0, 2),
    ("cpk", 0.9999, 1),
    ("cpk", 1.67, 4),
    ("cpk", 2.0, 5),
    ("cpk", -0.5, 1),
    ("rolled_yield", 0.95, 3),
    ("rolled_yield", 190 / 200, 3),
    ("rolled_yield", math.nextafter(0.95, 0.0), 3),  # within tolerance of 95 %
    ("rolled_yield", 0.9499, 2),
    ("rolled_yield", 0.90, 2),
    ("rolled_yield", 0.8999, 1),
    ("rolled_yield", 0.97, 4),
    ("rolled_yield", 0.98, 5),
    ("rolled_yield", 1.0, 5),
    ("internal_loss_rate", 0.0299, 3),
    ("internal_loss_rate", 0.03, 2),
    ("internal_loss_rate", math.nextafter(0.03, 0.0), 2),  # 3.00 % computed: not below 3.0 %
    ("internal_loss_rate", 0.0149, 4),
    ("internal_loss_rate", 0.015, 3),
    ("internal_loss_rate", 0.0075, 4),
    ("internal_loss_rate", 0.0074, 5),
    ("internal_loss_rate", 0.25, 2),  # any tracked value reaches 检验级
    ("internal_loss_rate", 0.0, 5),  # a real zero, tracked
    ("external_loss_rate", 0.023, 2),
    ("external_loss_rate", 0.0229, 3),
    ("external_loss_rate", 0.01, 3),
    ("external_loss_rate", 0.0099, 4),
    ("external_loss_rate", 0.005, 4),
    ("external_loss_rate", 0.0049, 5),
    ("sigma_level", 3.0, 2),
    ("sigma_level", 2.999, 1),
    ("sigma_level", 4.0, 3),
    ("sigma_level", 5.0, 4),
    ("sigma_level", 6.0, 5),
]


@pytest.mark.parametrize(("metric", "value", "level"), BOUNDARIES)
def test_metric_boundaries(metric: str, value: float, level: int) -> None:
    res = evaluate({metric: value})
    assert res.metrics[metric].level == level
    assert res.indicator(metric).level == level


def test_rolled_yield_from_step_counts_reaches_95() -> None:
    # 2 steps: 199/200 and 191/200 → 0.995 × 0.955 = 0.950225 ≥ 0.95 → L3
    value = (199 / 200) * (191 / 200)
    assert evaluate({"rolled_yield": value}).metrics["rolled_yield"].level == 3
    # 0.99 × 0.96 = 0.9504 → L3; 0.98 × 0.969 = 0.94962 → L2
    assert evaluate({"rolled_yield": 0.99 * 0.96}).metrics["rolled_yield"].level == 3
    assert evaluate({"rolled_yield": 0.98 * 0.969}).metrics["rolled_yield"].level == 2


def test_enterprise_exactly_at_the_l3_boundaries() -> None:
    metrics = {
        "sigma_level": 4.0,
        "cpk": 1.33,
        "rolled_yield": 190 / 200,
        "internal_loss_rate": 0.0299,
        "external_loss_rate": 0.0229,
    }
    res = evaluate(metrics, answers_at(5))
    assert res.level == 3
    assert {m.level for m in res.metrics.values()} == {3}
    # and with internal loss exactly 3.00 % the enterprise falls to 检验级
    res2 = evaluate(dict(metrics, internal_loss_rate=0.03), answers_at(5))
    assert res2.level == 2
    assert [c.item for c in res2.binding] == ["internal_loss_rate"]
    assert "3.00 % ≥ 3.00 %" in res2.binding[0].message_en


# ------------------------------------------------------------------------------------------------
# Missing data: not tracked / not computed, never a crash, never a silent zero
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (None, "not_computed"),
        ({"value": None}, "not_computed"),
        ({"value": None, "tracked": True}, "not_computed"),
        ({"tracked": False}, "not_tracked"),
        (MetricInput(None, False), "not_tracked"),
        ({"value": None, "detail": {"reason": "no output value"}}, "not_computed"),
    ],
)
def test_untracked_costs(raw: Any, status: str) -> None:
    res = evaluate({"internal_loss_rate": raw})
    m = res.metrics["internal_loss_rate"]
    assert (m.level, m.status, m.value) == (1, status, None)
    if isinstance(raw, dict) and "detail" in raw:
        assert m.reason_en.endswith(": no output value")
    assert res.to_dict()["metrics"]["internal_loss_rate"]["value"] is None


def test_missing_metrics_and_answers_are_level_1() -> None:
    res = evaluate()
    assert res.level == 1 and res.score == 0
    assert all(m.status == "not_computed" for m in res.metrics.values())
    assert all(
        i.reached_by == "unanswered" and i.evidence_ok is None
        for i in res.indicators
        if i.kind == "questionnaire"
    )
    plan_items = {a.item for a in res.plan}
    assert set(METRIC_IDS) <= plan_items


def test_tracked_false_ignores_a_value_with_a_warning() -> None:
    res = evaluate({"cpk": {"value": 1.5, "tracked": False}})
    assert res.metrics["cpk"].level == 1 and res.metrics["cpk"].status == "not_tracked"
    assert any("tracked=False" in w for w in res.warnings)


def test_nan_is_not_computed_with_a_warning() -> None:
    res = evaluate({"cpk": math.nan, "sigma_level": math.inf})
    assert res.metrics["cpk"].status == "not_computed" and res.metrics["cpk"].level == 1
    assert res.metrics["sigma_level"].level == 1
    assert sum("not finite" in w for w in res.warnings) == 2
    json.dumps(res.to_dict(), allow_nan=False)


# ------------------------------------------------------------------------------------------------
# Answers and evidence
# ------------------------------------------------------------------------------------------------
def test_unsupported_answers_are_counted_and_flagged_by_default() -> None:
    answers = answers_at(4)
    answers["quality_culture"] = {"level": 4}  # no evidence
    answers["leadership"] = {"level": 3, "evidence": "   "}  # blank is no evidence
    answers["participation"] = {"level": 1}  # level 1 needs none
    res = evaluate(LEVEL_METRICS[4], answers)
    assert [u.item for u in res.unsupported] == ["leadership", "quality_culture"]
    culture = res.indicator("quality_culture")
    assert culture.level == 4 and culture.reached_by == "answer_unsupported"
    assert culture.evidence_ok is False
    assert res.indicator("participation").evidence_ok is True
    assert res.level == 1  # participation at 1
    evidence_actions = [a for a in res.plan if a.kind == "evidence"]
    assert [a.item for a in evidence_actions] == ["leadership", "quality_culture"]
    assert "质量理念文件" in evidence_actions[1].action_zh  # the level-2 anchor's evidence


def test_require_evidence_caps_at_level_1() -> None:
    answers = answers_at(4)
    answers["quality_culture"] = {"level": 4, "evidence": []}
    res = evaluate(LEVEL_METRICS[4], answers, require_evidence=True)
    culture = res.indicator("quality_culture")
    assert (culture.level, culture.claimed, culture.reached_by) == (1, 4, "capped_no_evidence")
    assert res.level == 1 and res.require_evidence
    assert res.unsupported[0].counted == 1
    assert any("require_evidence=True" in w for w in res.warnings)
    assert evaluate(LEVEL_METRICS[4], answers).level == 4


def test_answer_forms() -> None:
    answers: dict[str, Any] = answers_at(3)
    answers["leadership"] = 3  # a bare level: no evidence, flagged
    answers["participation"] = Answer(3, ("QC 小组成果",), "张三")
    answers["quality_strategy"] = {"level": 3.0, "evidence": "方针"}  # Excel gives floats
    res = evaluate(LEVEL_METRICS[3], answers)
    assert res.level == 3
    assert res.indicator("participation").respondent == "张三"
    assert [u.item for u in res.unsupported] == ["leadership"]


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        ({"level": 6}, "integer from 1"),
        ({"level": 0}, "integer from 1"),
        ({"level": "3"}, "integer from 1"),
        ({"level": True}, "integer from 1"),
        (2.5, "integer from 1"),
        ({"evidence": ["x"]}, "needs 'level'"),
        ({"level": 2, "proof": "x"}, "unknown key"),
        ({"level": 2, "evidence": [1]}, "list of strings"),
        ({"level": 2, "respondent": 7}, "respondent"),
    ],
)
def test_bad_answers(answer: Any, words: str) -> None:
    with pytest.raises(ParameterError, match=words) as info:
        evaluate({}, {"leadership": answer})
    assert "answers['leadership']" in str(info.value)


@pytest.mark.parametrize(
    ("metric", "raw", "words"),
    [
        ("rolled_yield", 1.2, "outside the possible range"),
        ("internal_loss_rate", 3.4, "a fraction"),
        ("internal_loss_rate", -0.01, "outside"),
        ("cpk", "1.2", "must be a number"),
        ("cpk", {"value": "x"}, "must be a number"),
        ("cpk", {"value": 1.2, "tracked": "yes"}, "tracked"),
        ("cpk", {"value": 1.2, "detail": [1]}, "detail"),
        ("cpk", {"val": 1.2}, "unknown key"),
        ("cpk", True, "must be a number"),
    ],
)
def test_bad_metrics(metric: str, raw: Any, words: str) -> None:
    with pytest.raises(ParameterError, match=words):
        evaluate({metric: raw})


def test_bad_containers_and_unknown_ids() -> None:
    with pytest.raises(ParameterError, match="metrics must be a mapping"):
        evaluate([1])  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="answers must be a mapping"):
        evaluate({}, [1])  # type: ignore[arg-type]
    res = evaluate({"cpkk": 1.2, "leadership": 2}, {"cpk": 3, "nope": 2})
    w = " ".join(res.warnings)
    assert "metrics['cpkk'] ignored" in w and "metrics['leadership'] ignored" in w
    assert "answers['cpk'] ignored" in w and "answers['nope'] ignored" in w


def test_coverage_is_echoed_and_short_data_warns() -> None:
    cov = {"months": 7, "characteristics": 12, "steps": 5}
    res = evaluate(LEVEL_METRICS[3], answers_at(3), coverage=cov)
    assert dict(res.coverage) == cov and res.to_dict()["coverage"] == cov
    assert any("7 months" in w and "12" in w for w in res.warnings)
    assert not evaluate(LEVEL_METRICS[3], answers_at(3), coverage={"months": 12}).warnings


# ------------------------------------------------------------------------------------------------
# Result shape
# ------------------------------------------------------------------------------------------------
def test_to_dict_shape_and_summary() -> None:
    res = issue_example()
    d = res.to_dict()
    assert list(d) == [
        "model",
        "level",
        "level_name",
        "score",
        "aspects",
        "metrics",
        "binding",
        "gaps",
        "plan",
        "coverage",
        "unsupported",
        "require_evidence",
        "warnings",
    ]
    json.dumps(d, ensure_ascii=False, allow_nan=False)
    assert d["model"]["id"] == MODEL.id and d["level_name"] == {"zh": "保证级", "en": "Assurance"}
    assert d["score"] == {"value": 740.0, "max": 1000.0}
    assert set(d["metrics"]) == set(METRIC_IDS)
    assert d["metrics"]["external_loss_rate"]["value"] == 0.013
    assert d["aspects"][3]["indicators"][0]["id"] == "sigma_level"
    text = res.summary()
    assert "保证级 Assurance" in text and "held at 保证级" in text and "预防级" in text
    assert str(res) == text and res._repr_html_().startswith("<pre>")
    with pytest.raises(KeyError):
        res.indicator("nope")
    with pytest.raises(KeyError):
        res.aspect("nope")


# ------------------------------------------------------------------------------------------------
# The improvement plan
# ------------------------------------------------------------------------------------------------
def test_cpk_targets_two_sided() -> None:
    # μ 10.02, σ 0.0238, spec [9.9, 10.1]: Cpk = 0.08 / 0.0714 = 1.1204;
    # σ* = 0.08 / (3 × 1.33) = 0.020050; Cp = 0.2 / 0.1428 = 1.4006 ≥ 1.33 → re-centring works,
    # centre range [9.9 + 3.99 × 0.0238, 10.1 − 3.99 × 0.0238] = [9.994962, 10.005038]
    t = cpk_targets(10.02, 0.0238, 9.9, 10.1, 1.33)
    assert t["cpk"] == pytest.approx(1.120448, rel=1e-6)
    assert t["sigma_target"] == pytest.approx(0.0200501, rel=1e-5)
    assert t["sigma_reduction"] == pytest.approx(1 - 0.0200501 / 0.0238, rel=1e-5)
    assert t["cp"] == pytest.approx(1.400560, rel=1e-6) and t["centring_possible"]
    assert t["centre_range"] == pytest.approx([9.994962, 10.005038], rel=1e-7)
    assert t["centre_shift"] == pytest.approx(10.005038 - 10.02, rel=1e-5)
    assert t["sigma_target_centred"] == pytest.approx(0.2 / 7.98)


def test_cpk_targets_centring_impossible_and_one_sided_and_outside() -> None:
    # Cp = 0.2 / 0.18 = 1.111 < 1.33: centred, σ must be ≤ 0.2 / 7.98 = 0.025063
    t = cpk_targets(10.0, 0.03, 9.9, 10.1, 1.33)
    assert not t["centring_possible"] and t["centre_range"] is None
    assert t["sigma_target_centred"] == pytest.approx(0.0250627, rel=1e-5)
    # one-sided, USL 0.035, μ 0.02, σ 0.004: σ* = 0.015 / 3.99; centre ≤ 0.035 − 0.01596
    t = cpk_targets(0.02, 0.004, None, 0.035, 1.33)
    assert t["cp"] is None and t["centring_possible"]
    assert t["sigma_target"] == pytest.approx(0.015 / 3.99)
    assert t["centre_range"][1] == pytest.approx(0.01904) and t["centre_range"][0] == -math.inf
    # mean outside the spec: no σ reaches it at this centre
    t = cpk_targets(10.2, 0.01, 9.9, 10.1, 1.33)
    assert t["sigma_target"] is None and t["cpk"] < 0 and t["centring_possible"]
    with pytest.raises(ParameterError, match="sigma > 0"):
        cpk_targets(10.0, 0.0, 9.9, 10.1, 1.33)
    with pytest.raises(ParameterError, match="specification limit"):
        cpk_targets(10.0, 0.1, None, None, 1.33)


def plan_case() -> AssessmentResult:
    metrics = {
        "sigma_level": {"value": 3.5, "detail": {"ppm": 22750.0}},
        "cpk": {
            "value": 1.12,
            "detail": {
                "characteristics": [
                    {"code": "L3", "cpk": 1.8},
                    {"code": "R2", "cpk": 1.25, "mean": 0.02, "sigma": 0.004, "usl": 0.035},
                    {
                        "code": "D1",
                        "name": "轴径",
                        "cpk": 1.12,
                        "mean": 10.02,
                        "sigma": 0.0238,
                        "lsl": 9.9,
                        "usl": 10.1,
                    },
                    {"code": "X9", "cpk": 1.2},  # no process data
                ]
            },
        },
        "rolled_yield": {
            "value": 0.98 * 0.95 * 0.99,
            "detail": {
                "steps": [
                    {"step": "turning", "fpy": 0.98},
                    {"step": "heat", "fpy": 0.95},
                    {"step": "grinding", "submitted": 200, "passed_first": 198},
                ]
            },
        },
        "internal_loss_rate": {
            "value": 0.034,
            "detail": {
                "output_value": 1e8,
                "currency": "元",
                "categories": {
                    "internal.scrap": 1.6e6,
                    "internal.rework": 1.0e6,
                    "internal.downtime": 0.5e6,
                    "internal.downgrade": 0.3e6,
                },
            },
        },
        "external_loss_rate": {"value": 0.013},
    }
    return evaluate(metrics, answers_at(4), plan=False)


def test_plan_cpk_actions() -> None:
    res = plan_case()
    assert res.level == 2
    plan = build_plan(res)
    cpk = [a for a in plan if a.item == "cpk"]
    # ranked by Cpk: D1 1.12, X9 1.20, R2 1.25 (L3 1.8 is above 1.33)
    assert [a.target["characteristic"] for a in cpk] == ["D1", "X9", "R2"]
    d1 = cpk[0]
    assert d1.policy_task == "7. 实施质量管理持续改进" and d1.binding and d1.target_level == 3
    assert d1.target["sigma_target"] == pytest.approx(0.0200501, rel=1e-5)
    assert (
        "轴径" in d1.action_zh and "0.02005" in d1.action_zh and "[9.99496, 10.005]" in d1.action_zh
    )
    assert "missing" in cpk[1].action_en
    assert "≤ 0.01904" in cpk[2].action_en


def test_plan_rolled_yield_actions() -> None:
    plan = build_plan(plan_case())
    ry = [a for a in plan if a.item == "rolled_yield"]
    overall = ry[0].target
    # Y = 0.98 × 0.95 × 0.99 = 0.921690; loss shares −ln f / −ln Y: heat 0.05129/0.08155 = 62.9 %
    assert overall["rolled_yield_from_steps"] == pytest.approx(0.92169)
    steps = overall["steps"]
    assert [s["step"] for s in steps] == ["heat", "turning", "grinding"]
    assert steps[0]["loss_share"] == pytest.approx(math.log(0.95) / math.log(0.92169), rel=1e-9)
    assert math.fsum(s["loss_share"] for s in steps) == pytest.approx(1.0)
    # heat alone: 0.95 × 0.95 / 0.92169 = 0.979181; turning alone: 0.98 × 0.95 / 0.92169 > 1
    assert steps[0]["fpy_needed_alone"] == pytest.approx(0.95 * 0.95 / 0.92169)
    assert steps[1]["fpy_needed_alone"] is None
    # proportional plan: product of fpy^(ln Y*/ln Y) is exactly Y* = 0.95
    assert math.prod(s["fpy_proportional"] for s in steps) == pytest.approx(0.95, rel=1e-12)
    # the vital few (≥ 80 % of the loss): heat 62.9 % + turning 24.8 %
    assert [a.target["step"] for a in ry[1:]] == ["heat", "turning"]
    assert ry[0].policy_task.startswith("6. ")


def test_plan_loss_rate_pareto() -> None:
    plan = build_plan(plan_case())
    loss = [a for a in plan if a.item == "internal_loss_rate"]
    q = loss[0].target
    # cost 3.4 M, allowed 3.0 % × 100 M = 3.0 M, cut > 0.4 M
    assert q["cost"] == pytest.approx(3.4e6) and q["cost_allowed"] == pytest.approx(3.0e6)
    assert q["cut"] == pytest.approx(4e5)
    pareto = q["pareto"]
    assert [p["category"] for p in pareto] == [
        "internal.scrap",
        "internal.rework",
        "internal.downtime",
        "internal.downgrade",
    ]
    assert [round(p["share"], 4) for p in pareto] == [0.4706, 0.2941, 0.1471, 0.0882]
    assert pareto[0]["name_zh"] == "报废损失费"
    assert pareto[0]["cut_proportional"] == pytest.approx(4e5 * 1.6 / 3.4)
    assert [p["covers_cut_alone"] for p in pareto] == [True, True, True, False]
    # vital few up to 80 %: 47.1 + 29.4 = 76.5 % < 80 → + downtime = 91.2 %
    assert [a.target["category"] for a in loss[1:]] == [
        "internal.scrap",
        "internal.rework",
        "internal.downtime",
    ]
    assert "400,000.00 元" in loss[0].action_zh and "以上" in loss[0].action_zh


def test_plan_loss_rate_without_output_value_and_to_next_levels() -> None:
    res = plan_case()
    plan = build_plan(res, target_level=4)
    ext = [a for a in plan if a.item == "external_loss_rate"]
    assert len(ext) == 1 and ext[0].target_level == 4
    # 1.3 % → < 1.0 %: −0.30 percentage points, no amounts without the output value
    assert ext[0].target["difference_pp"] == pytest.approx(-0.3)
    assert "No annual output value" in ext[0].action_en
    assert ext[0].policy_task == "7. 实施质量管理持续改进"


def test_plan_sigma_ppm_target() -> None:
    plan = build_plan(plan_case(), target_level=3)
    (sig,) = [a for a in plan if a.item == "sigma_level"]
    # 4σ with the 1.5σ shift: Φ(−2.5) × 10⁶ = 6209.7 ppm; 22 750 / 6 209.7 = 3.66
    assert sig.target["ppm_target"] == pytest.approx(6209.665, rel=1e-6)
    assert sig.target["reduction_factor"] == pytest.approx(22750 / 6209.665, rel=1e-6)
    assert "6 200" in sig.action_zh  # the annex's rounded figure from the model note
    assert sigma_to_ppm(6.0) == pytest.approx(3.3977, rel=1e-4)


def test_plan_untracked_loss_rate_cites_task_18() -> None:
    res = evaluate({"cpk": 1.5}, answers_at(5))
    acts = [a for a in res.plan if a.item == "internal_loss_rate"]
    assert len(acts) == 1 and acts[0].target_level == 2
    assert acts[0].policy_task == "18. 支持企业开展质量绩效评价"
    assert "报废" in acts[0].action_zh and acts[0].target["required"] == "tracked"
    # to 保证级 the same metric needs tracking and then < 3.0 %
    acts3 = [a for a in build_plan(res, target_level=3) if a.item == "internal_loss_rate"]
    assert len(acts3) == 2 and "< 3.00 %" in acts3[1].action_zh


def test_plan_qualitative_anchor_actions() -> None:
    answers = answers_at(5)
    answers["digital_manufacturing"] = {"level": 2, "evidence": ["数据采集清单"]}
    res = evaluate(LEVEL_METRICS[5], answers)
    assert res.level == 2
    plan = build_plan(res, target_level=4)
    acts = [a for a in plan if a.item == "digital_manufacturing"]
    ind = MODEL.indicator("digital_manufacturing")
    assert [a.target["anchor_level"] for a in acts] == [3, 4]
    assert acts[0].target["anchor_zh"] == ind.anchor(3).text_zh
    assert acts[1].target["evidence_en"] == ind.anchor(4).evidence_en
    assert acts[0].policy_task == "13. 促进生产制造数字化"
    assert all(a.kind == "indicator" for a in acts)


def test_plan_parameters() -> None:
    res = plan_case()
    with pytest.raises(ParameterError, match=r"target_level.*\[2, 5\]"):
        build_plan(res, target_level=6)
    with pytest.raises(ParameterError, match="target_level"):
        build_plan(res, target_level=True)
    with pytest.raises(ParameterError, match="Pass the same model"):
        build_plan(res, load_model(ALT_FILE))
    assert build_plan(enterprise(5)) == ()
    json.dumps([a.to_dict() for a in build_plan(res, target_level=5)], allow_nan=False)


def test_binding_items_come_first_in_the_plan() -> None:
    res = plan_case()
    plan = build_plan(res)
    flags = [a.binding for a in plan if a.kind != "evidence"]
    assert flags == sorted(flags, reverse=True)


# ------------------------------------------------------------------------------------------------
# The alternative model: different content, the same code
# ------------------------------------------------------------------------------------------------
ALT = load_model(ALT_FILE)


def alt_answers(plan: int, people: int, evidence: bool = True) -> dict[str, Any]:
    ev = ["doc"] if evidence else []
    return {
        "q_plan": {"level": plan, "evidence": ev},
        "q_people": {"level": people, "evidence": ev},
    }


def test_alt_weighted_aspect_and_points_score() -> None:
    metrics = {"min_cpk": 1.45, "scrap_rate": 0.015}
    res = evaluate(metrics, alt_answers(4, 2), ALT)
    mgmt = res.aspect("mgmt")
    # weighted (20 × 4 + 30 × 2) / 50 = 2.8 → 2
    assert mgmt.weighted_level == pytest.approx(2.8) and mgmt.level == 2
    assert res.level == 2 and res.level_name_zh == "基础级"
    assert [(c.item, c.kind) for c in res.binding] == [("mgmt", "aspect")]
    assert "held at 基础级 (Basic) by the aspect Management" in res.binding[0].message_en
    # points: plan L4 15 + people L2 4 + min_cpk L4 20 (1.45 > 1.4) + scrap L4 15 (≤ 2 %)
    assert res.score == 54 and res.max_score == 100
    gap = res.gaps[0]
    assert (gap.kind, gap.current, gap.required, gap.unit) == ("aspect", 2.8, 3.0, "level")


def test_alt_mandatory_caps_a_weighted_aspect() -> None:
    # weighted (20 × 2 + 30 × 5) / 50 = 3.8 → 3, but q_plan is mandatory from 3 and at 2 → cap 2
    res = evaluate({"min_cpk": 3.0, "scrap_rate": 0.001}, alt_answers(2, 5), ALT)
    mgmt = res.aspect("mgmt")
    assert mgmt.weighted_level == pytest.approx(3.8) and mgmt.mandatory_cap == 2
    assert mgmt.level == 2 and res.level == 2
    assert [(c.item, c.kind) for c in res.binding] == [("q_plan", "mandatory")]
    assert "mandatory from level 3" in res.binding[0].message_en
    assert res.plan[0].item == "q_plan" and res.plan[0].policy_task == "101. 测试任务甲"


def test_alt_operators_and_thresholds() -> None:
    def level(metric: str, value: float) -> int:
        return evaluate({metric: value}, {}, ALT).metrics[metric].level

    # min_cpk: ≥ 1.1, ≥ 1.4, > 1.4, ≥ 2.5
    assert [level("min_cpk", v) for v in (1.09, 1.1, 1.4, 1.4000001, 2.5)] == [1, 2, 3, 4, 5]
    # scrap_rate: tracked, tracked, ≤ 2 %, < 1 %
    assert [level("scrap_rate", v) for v in (0.5, 0.02, 0.0101, 0.01, 0.0099)] == [3, 4, 4, 4, 5]
    assert evaluate({}, {}, ALT).metrics["scrap_rate"].level == 1
    assert ALT.indicator("scrap_rate").display(0.015) == "15.0‰"


def test_alt_require_evidence_default_and_evidence_from() -> None:
    # evidence_from = 3: a level-2 claim needs none; a level-4 claim without evidence → level 1
    res = evaluate({"min_cpk": 3.0, "scrap_rate": 0.001}, alt_answers(4, 2, evidence=False), ALT)
    assert res.require_evidence is True
    assert res.indicator("q_people").level == 2 and res.indicator("q_people").evidence_ok
    assert res.indicator("q_plan").level == 1
    assert res.indicator("q_plan").reached_by == "capped_no_evidence"
    assert (
        evaluate({"min_cpk": 3.0}, alt_answers(4, 2, evidence=False), ALT, require_evidence=False)
        .indicator("q_plan")
        .level
        == 4
    )


def test_alt_plan_uses_the_alt_model() -> None:
    res = evaluate(
        {
            "min_cpk": {
                "value": 1.2,
                "detail": {
                    "characteristics": [
                        {"code": "A", "cpk": 1.2, "mean": 5.0, "sigma": 0.1, "lsl": 4.4, "usl": 5.6}
                    ]
                },
            },
            "scrap_rate": {
                "value": 0.025,
                "detail": {
                    "output_value": 1000.0,
                    "categories": [
                        {"category": "scrap.a", "amount": 20.0},
                        {"category": "scrap.b", "amount": 5.0},
                    ],
                },
            },
        },
        alt_answers(5, 5),
        ALT,
    )
    assert res.level == 2  # min_cpk 1.2 < 1.4
    plan = build_plan(res, ALT, target_level=4)
    cpk = next(a for a in plan if a.item == "min_cpk")
    # min_cpk target for L4 is "> 1.4"; centred Cp = 1.2 / 0.6 = 2 ≥ 1.4, σ* = 0.6 / 4.2
    assert cpk.target["op"] == ">" and cpk.target["sigma_target"] == pytest.approx(0.6 / 4.2)
    scrap = next(a for a in plan if a.item == "scrap_rate")
    # ≤ 2 % of 1000 = 20; cost 25 → cut at least 5 (op "<=": not strictly)
    assert (
        scrap.target["cut"] == pytest.approx(5.0)
        and scrap.target["pareto"][0]["name_zh"] == "甲类报废"
    )
    assert "at least" in scrap.action_en and scrap.policy_task == "102. 测试任务乙"


def test_plan_flags_cost_details_that_disagree_with_the_rate() -> None:
    # the rate says 3.4 %, the categories add up to 1 M of 100 M = 1.0 %: ask to check, no cut
    detail = {"output_value": 1e8, "categories": {"internal.scrap": 1e6}}
    res = evaluate({"internal_loss_rate": {"value": 0.034, "detail": detail}}, plan=False)
    (act,) = [a for a in build_plan(res, target_level=3) if a.item == "internal_loss_rate"]
    assert "check that the categories" in act.action_en and "核对" in act.action_zh
    assert act.target["rate_from_detail"] == pytest.approx(0.01)
    assert act.target["note"] == "the categories do not add up to the rate given"
