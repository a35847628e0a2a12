"""Property tests of the five-level evaluator (Hypothesis), on the built-in and the alternative
model.

Invariants: improving any metric or any answer never lowers the level, an aspect's level or the
score; the overall level is the minimum over the aspects and the quantitative indicators (so it
never exceeds any of them); binding constraints exist exactly below level 5 and sit at the
overall level; the plan and the JSON never fail; capping answers without evidence never raises
the level.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zhuoyue.excellence import Indicator, Model, build_plan, default_model, evaluate, load_model

SOME = settings(max_examples=150, deadline=None)

MODELS = {
    "default": default_model(),
    "alt": load_model(Path(__file__).resolve().parents[1] / "data" / "alt_model.toml"),
}
MODEL_IDS = list(MODELS)


def metric_values(ind: Indicator) -> st.SearchStrategy[float | None]:
    """Values in the metric's domain, with threshold values themselves drawn often."""
    lo, hi = ind.domain or (-1.0, 10.0)
    lo, hi = max(lo, -1.0), min(hi, 10.0)
    exact = [t.value for t in ind.thresholds if t.value is not None]
    return st.one_of(
        st.none(),
        st.sampled_from(exact) if exact else st.nothing(),
        st.floats(min_value=lo, max_value=hi, allow_nan=False),
    )


@st.composite
def cases(draw: st.DrawFn, model: Model) -> tuple[dict[str, Any], dict[str, Any]]:
    metrics: dict[str, Any] = {}
    for ind in model.metrics:
        if draw(st.booleans()):
            metrics[ind.id] = draw(metric_values(ind))
    answers: dict[str, Any] = {}
    for ind in model.questionnaire:
        if draw(st.integers(0, 5)) == 0:
            continue  # unanswered
        level = draw(st.integers(1, 5))
        evidence = ["doc"] if draw(st.integers(0, 3)) else []
        answers[ind.id] = {"level": level, "evidence": evidence}
    return metrics, answers


def better_value(ind: Indicator, value: float | None, step: float) -> float:
    """A value at least as good as ``value`` (a missing value becomes any value)."""
    lo, hi = ind.domain or (-math.inf, math.inf)
    if value is None:
        return min(max(step, lo), hi)
    if ind.better == "higher":
        return min(value + abs(step), hi)
    return max(value - abs(step), lo)


def check_invariants(model: Model, metrics: dict[str, Any], answers: dict[str, Any]) -> None:
    res = evaluate(metrics, answers, model)
    aspect_levels = [a.level for a in res.aspects]
    metric_levels = [m.level for m in res.metrics.values()]
    assert res.level == min(aspect_levels + metric_levels)
    assert all(res.level <= lv for lv in aspect_levels + metric_levels)
    for a in res.aspects:
        levels = [i.level for i in a.indicators]
        if a.rule == "min":
            assert a.level == min(levels)
        assert min(levels) <= a.level <= max(levels)
    assert (res.level == 5) == (len(res.binding) == 0)
    assert all(c.level == res.level and c.next_level == res.level + 1 for c in res.binding)
    assert all(g.target_level == res.level + 1 for g in res.gaps)
    assert {c.item for c in res.binding} <= {g.item for g in res.gaps}
    assert 0 <= res.score <= res.max_score + 1e-9
    json.dumps(res.to_dict(), ensure_ascii=False, allow_nan=False)
    for target in range(2, 6):
        plan = build_plan(res, model, target_level=target)
        below = {i.id for i in res.indicators if i.level < target}
        assert below <= {a.item for a in plan}  # every item below the target gets an action
        json.dumps([a.to_dict() for a in plan], ensure_ascii=False, allow_nan=False)


@pytest.mark.parametrize("name", MODEL_IDS)
@SOME
@given(data=st.data())
def test_invariants(name: str, data: st.DataObject) -> None:
    model = MODELS[name]
    metrics, answers = data.draw(cases(model))
    check_invariants(model, metrics, answers)


@pytest.mark.parametrize("name", MODEL_IDS)
@SOME
@given(data=st.data(), step=st.floats(min_value=0.0, max_value=2.0, allow_nan=False))
def test_improving_a_metric_never_lowers_the_level(
    name: str, data: st.DataObject, step: float
) -> None:
    model = MODELS[name]
    metrics, answers = data.draw(cases(model))
    ind = data.draw(st.sampled_from(model.metrics))
    before = evaluate(metrics, answers, model, plan=False)
    improved = dict(metrics)
    improved[ind.id] = better_value(ind, metrics.get(ind.id), step)
    after = evaluate(improved, answers, model, plan=False)
    assert after.level >= before.level
    assert after.metrics[ind.id].level >= before.metrics[ind.id].level
    assert all(a.level >= b.level for a, b in zip(after.aspects, before.aspects, strict=True))
    assert after.score >= before.score - 1e-9


@pytest.mark.parametrize("name", MODEL_IDS)
@SOME
@given(data=st.data(), require=st.booleans())
def test_improving_an_answer_never_lowers_the_level(
    name: str, data: st.DataObject, require: bool
) -> None:
    model = MODELS[name]
    metrics, answers = data.draw(cases(model))
    ind = data.draw(st.sampled_from(model.questionnaire))
    old = answers.get(ind.id)
    old_level = old["level"] if old else 1
    new_level = data.draw(st.integers(old_level, 5))
    old_evidence = old["evidence"] if old else []
    # an improvement: a level at least as high, evidence kept or added
    new_evidence = old_evidence or (["doc"] if data.draw(st.booleans()) else [])
    if new_level > old_level and not new_evidence and require:
        new_evidence = ["doc"]  # a higher claim without evidence is not an improvement here
    improved = dict(answers)
    improved[ind.id] = {"level": new_level, "evidence": new_evidence}
    before = evaluate(metrics, answers, model, require_evidence=require, plan=False)
    after = evaluate(metrics, improved, model, require_evidence=require, plan=False)
    assert after.level >= before.level
    assert after.indicator(ind.id).level >= before.indicator(ind.id).level
    assert all(a.level >= b.level for a, b in zip(after.aspects, before.aspects, strict=True))
    assert after.score >= before.score - 1e-9


@pytest.mark.parametrize("name", MODEL_IDS)
@SOME
@given(data=st.data())
def test_requiring_evidence_never_raises_the_level(name: str, data: st.DataObject) -> None:
    model = MODELS[name]
    metrics, answers = data.draw(cases(model))
    lax = evaluate(metrics, answers, model, require_evidence=False, plan=False)
    strict = evaluate(metrics, answers, model, require_evidence=True, plan=False)
    assert strict.level <= lax.level and strict.score <= lax.score + 1e-9
    assert [u.item for u in strict.unsupported] == [u.item for u in lax.unsupported]


@SOME
@given(
    value=st.floats(min_value=0.0, max_value=1.0, allow_nan=False),
    factor=st.floats(min_value=0.5, max_value=2.0, allow_nan=False),
)
def test_loss_rate_level_is_monotone_in_the_rate(value: float, factor: float) -> None:
    model = MODELS["default"]
    a = evaluate({"internal_loss_rate": value}, {}, model, plan=False)
    b = evaluate({"internal_loss_rate": min(value * factor, 1.0)}, {}, model, plan=False)
    la, lb = a.metrics["internal_loss_rate"].level, b.metrics["internal_loss_rate"].level
    assert (lb <= la) if factor >= 1 else (lb >= la)
    assert la >= 2 and lb >= 2  # any tracked value reaches 检验级
