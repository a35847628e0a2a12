"""The self-assessment pages' pure pieces: answers ↔ draft payload, progress, grouping by
aspect, evidence checks, the result's tables (indicators, gaps, plan, coverage)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhuoyue.errors import Problem, ValidationError
from zhuoyue.excellence import default_model, evaluate
from zhuoyue.services.assessments import MAX_EVIDENCE_BYTES
from zhuoyue.web.assessment import (
    EVIDENCE_TYPES,
    MAX_TEXT,
    FormAnswer,
    answers_from_stored,
    check_year,
    coverage_rows,
    draft_action,
    draft_payload,
    evidence_problem,
    format_size,
    gap_rows,
    group_by_aspect,
    metric_rows,
    plan_rows,
    problems_by_item,
    progress,
    split_evidence,
    validate_answer,
)

MODEL = default_model()
ITEMS = [i.id for i in MODEL.questionnaire]

# an evidence entry as the service keeps it: no separator, no surrounding blanks
entry = (
    st.text(
        alphabet=st.characters(blacklist_characters=";；\n\r", blacklist_categories=("Cs",)),
        min_size=1,
        max_size=30,
    )
    .map(str.strip)
    .filter(bool)
)
respondent = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r"), max_size=20
).map(str.strip)
answer = st.builds(
    lambda level, ev, who: FormAnswer(level, "\n".join(ev), who),
    st.integers(1, 5),
    st.lists(entry, max_size=4),
    respondent,
)
form = st.dictionaries(st.sampled_from(ITEMS), answer, max_size=len(ITEMS))


# ------------------------------------------------------------------------------ round trip
@given(form)
def test_answers_to_payload_to_answers_is_the_identity(f: dict[str, FormAnswer]) -> None:
    payload = draft_payload(f, {})
    assert answers_from_stored(payload) == f


@given(form)
def test_payload_is_what_the_service_stores(f: dict[str, FormAnswer]) -> None:
    payload = draft_payload(f, {})
    assert set(payload) == set(f)
    for item, ans in payload.items():
        assert ans is not None
        assert set(ans) == {"level", "evidence", "respondent"}
        assert ans["level"] == f[item].level
        assert ans["evidence"] == split_evidence(f[item].evidence)
        assert ans["respondent"] == (f[item].respondent or None)


@given(
    st.dictionaries(
        st.sampled_from(ITEMS),
        st.builds(
            FormAnswer,
            st.one_of(st.none(), st.integers(1, 5)),
            st.text(max_size=40),
            st.text(max_size=10),
        ),
    )
)
def test_payload_of_any_text_is_a_fixed_point(f: dict[str, FormAnswer]) -> None:
    """Whatever was typed, saving what was loaded changes nothing."""
    payload = draft_payload(f, {})
    again = draft_payload(answers_from_stored(payload), {})
    assert again == payload


def test_an_item_no_longer_answered_is_removed_and_others_are_kept() -> None:
    stored = {
        "leadership": {"level": 3, "evidence": ["管理评审报告"], "respondent": "质量部"},
        "participation": {"level": 2, "evidence": [], "respondent": None},
    }
    f = answers_from_stored(stored)
    f["leadership"] = FormAnswer(None, "", "")
    f["quality_strategy"] = FormAnswer(2, "质量方针；年度目标\n 检查记录 ", " 质量部 ")
    payload = draft_payload(f, stored)
    assert payload["leadership"] is None
    assert payload["participation"] == {"level": 2, "evidence": [], "respondent": None}
    assert payload["quality_strategy"] == {
        "level": 2,
        "evidence": ["质量方针", "年度目标", "检查记录"],
        "respondent": "质量部",
    }
    # an unanswered item never stored is not sent
    f["customer_focus"] = FormAnswer()
    assert "customer_focus" not in draft_payload(f, stored)


def test_stored_answers_in_the_short_form_and_without_level() -> None:
    got = answers_from_stored(
        {"leadership": 4, "participation": {"level": None}, "x": {"level": True}}
    )
    assert got == {"leadership": FormAnswer(4, "", "")}
    got = answers_from_stored({"leadership": {"level": 2, "evidence": "a; b；c"}})
    assert got["leadership"].evidence == "a\nb\nc"


# ------------------------------------------------------------------------------ progress, groups
@given(form)
def test_progress_counts_answered_items(f: dict[str, FormAnswer]) -> None:
    answered, total = progress(f, ITEMS)
    assert total == len(ITEMS) == 26
    assert answered == len(f)
    assert 0 <= answered <= total


def test_progress_ignores_unanswered_and_unknown_items() -> None:
    f = {"leadership": FormAnswer(None), "quality_strategy": FormAnswer(1), "zzz": FormAnswer(5)}
    assert progress(f, ITEMS) == (1, 26)
    assert progress({}, []) == (0, 0)


def test_group_by_aspect_follows_the_model() -> None:
    groups = group_by_aspect(MODEL)
    assert [a.id for a, _ in groups] == ["system", "digital", "success", "performance"]
    counts = {a.id: sum(1 for i in inds if not i.is_metric) for a, inds in groups}
    assert counts == {"system": 10, "digital": 6, "success": 7, "performance": 3}
    metrics = [i.id for _, inds in groups for i in inds if i.is_metric]
    assert metrics == [
        "sigma_level",
        "cpk",
        "rolled_yield",
        "internal_loss_rate",
        "external_loss_rate",
    ]
    # every indicator exactly once, in model order within its aspect
    flat = [i.id for _, inds in groups for i in inds]
    assert sorted(flat) == sorted(i.id for i in MODEL.indicators)
    for aspect, inds in groups:
        assert all(i.aspect == aspect.id for i in inds)


# ------------------------------------------------------------------------------ validation
def test_validate_answer_marks_fields_too_long() -> None:
    assert validate_answer(FormAnswer(2, "证据", "质量部"), "zh") == {}
    bad = validate_answer(FormAnswer(2, "x" * (MAX_TEXT + 1), "y" * (MAX_TEXT + 1)), "en")
    assert bad == {"evidence": f"At most {MAX_TEXT} characters"} | {
        "respondent": f"At most {MAX_TEXT} characters"
    }
    # the limit is per entry: many short lines are fine
    assert validate_answer(FormAnswer(2, "\n".join(["y" * 100] * 50), ""), "zh") == {}


def test_problems_by_item_keeps_the_first_message_of_each_item() -> None:
    exc = ValidationError(
        [
            Problem(None, "leadership", 7, "out_of_range", "first"),
            Problem(None, "leadership", 8, "out_of_range", "second"),
            Problem(None, "participation", None, "too_long", "third"),
            Problem(None, None, None, "other", "no item"),
        ]
    )
    assert problems_by_item(exc) == {"leadership": "first", "participation": "third"}


@pytest.mark.parametrize(
    ("name", "size", "expected"),
    [
        ("方针.pdf", 10, None),
        ("PHOTO.JPG", 1, None),
        ("a/b\\c.xlsx", MAX_EVIDENCE_BYTES, None),
        ("empty.pdf", 0, "文件为空"),
        ("big.pdf", MAX_EVIDENCE_BYTES + 1, "文件过大：最大 20 MB"),
        ("run.exe", 10, "不支持的文件类型“.exe”"),
        ("page.html", 10, "不支持的文件类型“.html”"),
        ("noextension", 10, "不支持的文件类型“noextension”"),
        (".pdf", 10, "不支持的文件类型"),
    ],
)
def test_evidence_problem(name: str, size: int, expected: str | None) -> None:
    got = evidence_problem(name, size, "zh")
    if expected is None:
        assert got is None
    else:
        assert got is not None and got.startswith(expected)


def test_evidence_problem_in_english_lists_the_accepted_types() -> None:
    got = evidence_problem("x.svg", 5, "en")
    assert got is not None and got.startswith("The file type “.svg” is not accepted")
    assert all(t.lstrip(".") in got for t in EVIDENCE_TYPES)
    assert evidence_problem("x.txt", 0, "en") == "The file is empty: choose a file with content."


def test_format_size() -> None:
    assert format_size(0) == "0 B"
    assert format_size(999) == "999 B"
    assert format_size(12_345) == "12.3 kB"
    assert format_size(20 * 1024 * 1024) == "21 MB"
    assert format_size(3_000_000_000_000) == "3e+03 GB"


@pytest.mark.parametrize(
    ("value", "year"),
    [(2024, 2024), (2024.0, 2024), ("2023", 2023), (1000, 1000), (9998, 9998)],
)
def test_check_year_accepts_whole_years(value: Any, year: int) -> None:
    assert check_year(value) == year


@pytest.mark.parametrize("value", [None, True, 999, 9999, 2024.5, "x", "", float("nan")])
def test_check_year_refuses_the_rest(value: Any) -> None:
    assert check_year(value) is None


def test_draft_action() -> None:
    rows = [
        {"id": 5, "year": 2024, "status": "draft"},
        {"id": 3, "year": 2024, "status": "self_declared"},
        {"id": 2, "year": 2023, "status": "verified"},
    ]
    assert draft_action(rows, 2024) == ("open", 5)
    assert draft_action(rows, 2023) == ("revise", None)
    assert draft_action(rows, 2022) == ("create", None)
    assert draft_action([], 2024) == ("create", None)
    # the latest of the year decides, whatever the order of the rows
    assert draft_action(list(reversed(rows[:2])), 2024) == ("open", 5)


# ------------------------------------------------------------------------------ the result
def _result() -> dict[str, Any]:
    """A result of the built-in model: Cpk 1.12 of one key characteristic, loss rates, and
    every questionnaire item answered at level 3 (one without evidence)."""
    metrics = {
        "sigma_level": {"value": 4.2},
        "cpk": {
            "value": 1.12,
            "detail": {
                "characteristics": [
                    {
                        "code": "D1",
                        "cpk": 1.12,
                        "mean": 10.02,
                        "sigma": 0.0238,
                        "lsl": 9.9,
                        "usl": 10.1,
                    }
                ]
            },
        },
        "rolled_yield": {"value": 0.96},
        "internal_loss_rate": {"value": 0.02},
        "external_loss_rate": {"value": 0.012},
    }
    answers = {i: {"level": 3, "evidence": ["记录"]} for i in ITEMS}
    answers["leadership"] = {"level": 3, "evidence": []}
    out = evaluate(metrics, answers, MODEL).to_dict()
    out["coverage"] = {
        "year": 2024,
        "months": 12,
        "months_by_table": {"measurements": 12},
        "key_characteristics": 11,
        "key_characteristics_computed": 10,
        "measurements": 11795,
        "tables": ["measurements", "inspections"],
        "rows_outside_year": {},
    }
    return out


def test_metric_rows_put_values_against_thresholds() -> None:
    result = _result()
    rows = {r["id"]: r for r in metric_rows(result, MODEL, "zh")}
    assert list(rows) == list(result["metrics"])
    cpk = rows["cpk"]
    assert cpk["value"] == "1.12"
    assert cpk["level"] == "L2 检验级"
    assert cpk["met"] == [2]
    assert (cpk["l2"], cpk["l3"], cpk["l4"], cpk["l5"]) == ("≥ 1.00", "≥ 1.33", "≥ 1.67", "≥ 2.00")
    loss = rows["internal_loss_rate"]
    assert loss["l2"] == "有统计" and loss["l3"] == "< 3.00 %"
    assert loss["level"].startswith("L3") and loss["met"] == [2, 3]
    assert metric_rows(result, MODEL, "en")[1]["level"] == "L2 Inspection"
    assert metric_rows({}, MODEL, "zh") == []


def test_gap_rows_binding_first_in_the_metric_units() -> None:
    result = _result()
    rows = gap_rows(result, MODEL, "zh")
    assert len(rows) == len(result["gaps"])
    flags = [r["binding"] for r in rows]
    assert flags == sorted(flags, reverse=True)  # binding ones first
    cpk = next(r for r in rows if r["item"] == "cpk")
    assert cpk["binding"] and cpk["target"] == "L3"
    assert (cpk["current"], cpk["required"], cpk["difference"]) == ("1.12", "≥ 1.33", "0.21")
    assert "1.33" in cpk["message"]
    en = next(r for r in gap_rows(result, MODEL, "en") if r["item"] == "cpk")
    assert en["name"].startswith("Process capability")
    assert gap_rows({"gaps": []}, MODEL, "zh") == []


def test_plan_rows_cite_the_policy_task() -> None:
    result = _result()
    rows = plan_rows(result, MODEL, "zh")
    assert len(rows) == len(result["plan"])
    cpk = next(r for r in rows if r["item"] == "cpk")
    assert cpk["name"] == MODEL.indicator("cpk").name_zh
    assert cpk["task"] == "7. 实施质量管理持续改进"
    assert cpk["target_level"] == 3 and "D1" in cpk["action"]
    keys = [(not r["binding"], r["target_level"]) for r in rows]
    assert keys == sorted(keys)
    en = next(r for r in plan_rows(result, MODEL, "en") if r["item"] == "cpk")
    assert en["task"].startswith("7. Implement") and "Key characteristic D1" in en["action"]


def test_coverage_rows() -> None:
    rows = dict(coverage_rows(_result()["coverage"], "zh"))
    assert rows["评价年度"] == "2024"
    assert rows["关键特性（已计算 / 总数）"] == "10 / 11"
    assert rows["测量值"] == "11,795"
    assert rows["各表月数"] == "measurements 12"
    assert rows["使用的数据表"] == "measurements, inspections"
    assert "工序数" not in rows  # absent figures are left out
    assert coverage_rows({}, "en") == []
    assert dict(coverage_rows({"months": 7}, "en")) == {"Months with data": "7"}
