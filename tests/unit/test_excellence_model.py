"""The five-level model as data: the built-in model's content and every broken-file error.

The built-in model is checked against the policy (annex level descriptions verbatim, the
thresholds table of DESIGN.md, the key tasks 1-19). Broken files are written to ``tmp_path``
(TOML by editing the built-in text, JSON from a mutated copy) so that each error names the file,
the key path and the fix.
"""

from __future__ import annotations

import copy
import json
import math
import os
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from zhuoyue.errors import DataError, InputFileError
from zhuoyue.excellence import (
    DEFAULT_MODEL_ID,
    ModelError,
    builtin_models,
    compare,
    default_model,
    evaluate,
    load_model,
    parse_model,
    sigma_to_ppm,
)
from zhuoyue.excellence.model import _builtin_dir

DEFAULT_FILE = _builtin_dir() / "miit-2023-v1.toml"
ALT_FILE = Path(__file__).resolve().parents[1] / "data" / "alt_model.toml"
POLICY_FILE = Path(__file__).resolve().parents[3] / "shared" / "policy" / "000_cefd280a9e6b2ac4.txt"


def default_data() -> dict[str, Any]:
    with DEFAULT_FILE.open("rb") as fh:
        return tomllib.load(fh)


def policy_text() -> str:
    if not POLICY_FILE.is_file():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"policy text not found: {POLICY_FILE} (CI=true: it must be there)")
        pytest.skip(f"policy text not found: {POLICY_FILE}")
    return POLICY_FILE.read_text(encoding="utf-8")


# ------------------------------------------------------------------------------------------------
# The built-in model
# ------------------------------------------------------------------------------------------------
def test_builtin_list_and_default() -> None:
    infos = builtin_models()
    assert [i.id for i in infos] == [DEFAULT_MODEL_ID]
    assert infos[0].filename == "miit-2023-v1.toml"
    m = default_model()
    assert m is default_model()  # cached
    assert m is load_model(DEFAULT_MODEL_ID)
    assert load_model(DEFAULT_FILE).id == DEFAULT_MODEL_ID
    assert load_model(str(DEFAULT_FILE)).to_dict() == m.to_dict()
    assert m.version == "1.0.0"


def test_levels_are_the_annex_five() -> None:
    m = default_model()
    assert [(lv.level, lv.name_zh, lv.name_en) for lv in m.levels] == [
        (1, "经验级", "Experience"),
        (2, "检验级", "Inspection"),
        (3, "保证级", "Assurance"),
        (4, "预防级", "Prevention"),
        (5, "卓越级", "Excellence"),
    ]
    for lv in m.levels:
        assert lv.description_en and lv.description_zh.endswith("。")


def test_level_descriptions_are_verbatim_from_the_annex() -> None:
    text = policy_text()
    m = default_model()
    for lv in m.levels:
        # the annex writes "经验级。 质量管理..." with ASCII punctuation in the page copy
        body = lv.description_zh.replace("，", ",").replace("；", ";").rstrip("。")
        assert body in text.replace("，", ",").replace("；", ";"), lv.name_zh
    for a in m.aspects:
        for sentence in a.annex_zh:
            assert sentence.replace("，", ",") in text.replace("，", ","), (a.id, sentence)


def test_policy_tasks_are_the_nineteen_key_tasks() -> None:
    text = policy_text()
    m = default_model()
    assert [t.number for t in m.policy_tasks] == list(range(1, 20))
    for t in m.policy_tasks:
        assert f"{t.number}.{t.title_zh}。" in text or f"{t.number}. {t.title_zh}。" in text
        assert t.title_en
    assert m.task(7).label_zh == "7. 实施质量管理持续改进"


def test_aspects_indicators_weights() -> None:
    m = default_model()
    assert [(a.id, a.name_zh, a.rule) for a in m.aspects] == [
        ("system", "质量管理体系有效性", "min"),
        ("digital", "质量管理数字化", "min"),
        ("success", "企业持续成功的能力", "min"),
        ("performance", "全过程质量绩效", "min"),
    ]
    assert 28 <= len(m.indicators) <= 32
    assert math.fsum(i.weight for i in m.indicators) == 1000
    per_aspect = {a.id: sum(i.weight for i in m.indicators_of(a.id)) for a in m.aspects}
    assert per_aspect == {"system": 300, "digital": 200, "success": 200, "performance": 300}
    assert [i.id for i in m.metrics] == [
        "sigma_level",
        "cpk",
        "rolled_yield",
        "internal_loss_rate",
        "external_loss_rate",
    ]
    assert all(i.aspect == "performance" for i in m.metrics)
    ids = [i.id for i in m.indicators]
    assert len(ids) == len(set(ids))
    # digitalization: R&D design, manufacturing, quality assurance and supply chain (annex)
    digital = {i.id for i in m.indicators_of("digital")}
    assert {"digital_design", "digital_manufacturing", "digital_inspection"} <= digital
    assert "digital_supply_chain" in digital
    # every key task 1-15 and 16-19 is cited by at least one indicator
    cited = {t for i in m.indicators for t in i.tasks}
    assert set(range(1, 20)) <= cited


def test_questionnaire_anchors_are_complete_and_cumulative() -> None:
    m = default_model()
    for ind in m.questionnaire:
        assert [a.level for a in ind.anchors] == [1, 2, 3, 4, 5], ind.id
        for a in ind.anchors:
            assert a.text_zh.strip() and a.text_en.strip(), (ind.id, a.level)
            assert a.evidence_zh.strip() and a.evidence_en.strip(), (ind.id, a.level)
        texts = [a.text_zh for a in ind.anchors]
        assert len(set(texts)) == 5, ind.id
        assert ind.tasks, ind.id


def test_digitalization_anchor_wording_follows_the_annex() -> None:
    m = default_model()
    for ind in m.indicators_of("digital"):
        assert "未开展" in ind.anchor(1).text_zh or "未建立" in ind.anchor(1).text_zh, ind.id
    top = " ".join(i.anchor(5).text_zh for i in m.indicators_of("digital"))
    assert "共享" in top and ("智能" in top or "人工智能" in top)


THRESHOLDS: dict[str, list[tuple[str, float | None]]] = {
    # DESIGN.md table: (op, value) for levels 2..5
    "sigma_level": [(">=", 3.0), (">=", 4.0), (">=", 5.0), (">=", 6.0)],
    "cpk": [(">=", 1.0), (">=", 1.33), (">=", 1.67), (">=", 2.0)],
    "rolled_yield": [(">=", 0.90), (">=", 0.95), (">=", 0.97), (">=", 0.98)],
    "internal_loss_rate": [("tracked", None), ("<", 0.03), ("<", 0.015), ("<", 0.0075)],
    "external_loss_rate": [("tracked", None), ("<", 0.023), ("<", 0.010), ("<", 0.005)],
}


@pytest.mark.parametrize("metric", list(THRESHOLDS))
def test_metric_thresholds_match_the_design_table(metric: str) -> None:
    ind = default_model().indicator(metric)
    assert [(t.level, t.op, t.value) for t in ind.thresholds] == [
        (lv, op, v) for lv, (op, v) in zip(range(2, 6), THRESHOLDS[metric], strict=True)
    ]


def test_loss_rate_l2_interpretation_is_documented_in_the_file() -> None:
    text = DEFAULT_FILE.read_text(encoding="utf-8")
    assert "大于等于3.0%" in text and "tracked" in text
    ind = default_model().indicator("internal_loss_rate")
    t2 = ind.threshold(2)
    assert t2.op == "tracked" and "3.0%" in t2.note_zh and t2.tasks == (18,)
    assert "报废" in t2.action_zh


def test_sigma_notes_show_exact_and_annex_ppm() -> None:
    ind = default_model().indicator("sigma_level")
    annex = {2: 66800, 3: 6200, 4: 230, 5: 3.4}
    for t in ind.thresholds:
        exact = sigma_to_ppm(t.value or 0.0)
        assert (
            f"{annex[t.level]:,}".replace(",", " ") in t.note_zh or str(annex[t.level]) in t.note_zh
        )
        assert math.isclose(exact, annex[t.level], rel_tol=0.02)  # the annex rounds
    assert ind.params["shift"] == 1.5


def test_compare_tolerance() -> None:
    assert compare(190 / 200, ">=", 0.95, 1e-9)
    assert compare(math.nextafter(0.95, 0.0), ">=", 0.95, 1e-9)  # one ulp below still equals
    assert not compare(0.9499, ">=", 0.95, 1e-9)
    assert compare(0.0299, "<", 0.03, 1e-9)
    assert not compare(0.03, "<", 0.03, 1e-9)
    assert not compare(math.nextafter(0.03, 0.0), "<", 0.03, 1e-9)  # equal, so not below
    assert compare(0.02, "<=", 0.02, 1e-9) and not compare(1.4, ">", 1.4, 1e-9)
    assert compare(123.0, "tracked", None, 1e-9) and not compare(math.nan, "tracked", None, 1e-9)
    with pytest.raises(ValueError, match="unknown operator"):
        compare(1.0, "=>", 1.0, 1e-9)


def test_model_to_dict_and_summary() -> None:
    m = default_model()
    d = m.to_dict()
    json.dumps(d, ensure_ascii=False, allow_nan=False)
    assert d["id"] == DEFAULT_MODEL_ID and len(d["indicators"]) == len(m.indicators)
    again = parse_model(d, source="roundtrip")
    assert again.to_dict() == d
    text = m.summary()
    assert "质量管理体系有效性" in text and "L3 < 3.00 %" in text and "mandatory from L2" in text


def test_display_and_reached_level() -> None:
    m = default_model()
    ext = m.indicator("external_loss_rate")
    assert ext.display(0.013) == "1.30 %" and ext.display(None) == "—"
    assert m.indicator("sigma_level").display(4.5) == "4.50σ"
    assert ext.reached_level(None, m.rel_tol) == 1
    assert ext.reached_level(0.5, m.rel_tol) == 2  # tracked, any value
    with pytest.raises(KeyError):
        m.indicator("nope")
    with pytest.raises(KeyError):
        ext.anchor(3)
    with pytest.raises(KeyError):
        m.aspect("nope")
    with pytest.raises(KeyError):
        m.level(6)


# ------------------------------------------------------------------------------------------------
# The alternative model loads without code changes
# ------------------------------------------------------------------------------------------------
def test_alternative_model_loads() -> None:
    alt = load_model(ALT_FILE)
    assert alt.id == "test/alt-model" and alt.version == "9.1"
    assert alt.scoring_method == "points" and alt.scoring_total == 100
    assert alt.require_evidence is True and alt.evidence_from == 3
    assert [a.rule for a in alt.aspects] == ["weighted", "min"]
    assert alt.level_name(1) == "起步级" and alt.level_name(5, "en") == "Leading"
    assert [i.id for i in alt.metrics] == ["min_cpk", "scrap_rate"]
    assert alt.indicator_score(alt.indicator("q_people"), 4) == 20
    assert alt.indicator_score(alt.indicator("scrap_rate"), 5) == 25
    res = evaluate({}, {}, alt)
    assert res.model_id == "test/alt-model" and res.level == 1
    assert res.level_name_zh == "起步级"


# ------------------------------------------------------------------------------------------------
# Broken files: every error names the file and the key path
# ------------------------------------------------------------------------------------------------
def write_json(tmp_path: Path, data: dict[str, Any], name: str = "broken.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def find(data: dict[str, Any], indicator_id: str) -> dict[str, Any]:
    return next(i for i in data["indicators"] if i["id"] == indicator_id)


def model_error(path: Path, *keys: str, code: str | None = None) -> ModelError:
    with pytest.raises(ModelError) as info:
        load_model(path)
    err = info.value
    assert isinstance(err, DataError) and isinstance(err, ValueError)
    assert err.code == "model" and err.exit_code == 4
    message = str(err)
    assert str(path) in message and err.source == str(path)
    problem_keys = [p.key for p in err.problems]
    for key in keys:
        assert any(key in k for k in problem_keys), (key, problem_keys)
        assert key in message
    if code is not None:
        assert code in [p.code for p in err.problems], [p.code for p in err.problems]
    return err


def _drop(key: str) -> Callable[[dict[str, Any]], None]:
    def edit(d: dict[str, Any]) -> None:
        del d[key]

    return edit


BROKEN: list[tuple[str, Callable[[dict[str, Any]], None], str, str]] = [
    ("missing_version", _drop("version"), "version", "missing"),
    ("missing_levels", _drop("levels"), "levels", "missing"),
    (
        "missing_anchor_text",
        lambda d: find(d, "leadership")["anchors"][2].pop("text_en"),
        "indicators[leadership].anchors[3].text_en",
        "missing",
    ),
    (
        "weight_is_text",
        lambda d: find(d, "cpk").__setitem__("weight", "40"),
        "indicators[cpk].weight",
        "type",
    ),
    (
        "weights_do_not_add_up",
        lambda d: find(d, "cpk").__setitem__("weight", 45),
        "indicators[*].weight",
        "weights",
    ),
    (
        "anchor_level_6",
        lambda d: find(d, "leadership")["anchors"][4].__setitem__("level", 6),
        "indicators[leadership].anchors[6].level",
        "value",
    ),
    (
        "level_0",
        lambda d: d["levels"][0].__setitem__("level", 0),
        "levels[0].level",
        "value",
    ),
    (
        "four_levels",
        lambda d: d["levels"].pop(),
        "levels",
        "levels",
    ),
    (
        "duplicate_indicator_id",
        lambda d: find(d, "leadership").__setitem__("id", "quality_strategy"),
        "indicators[quality_strategy]",
        "duplicate",
    ),
    (
        "duplicate_aspect_id",
        lambda d: d["aspects"][1].__setitem__("id", "system"),
        "aspects[system]",
        "duplicate",
    ),
    (
        "cpk_not_monotone",
        lambda d: find(d, "cpk")["thresholds"][2].__setitem__("value", 1.2),
        "indicators[cpk].thresholds[4].value",
        "monotone",
    ),
    (
        "loss_rate_not_monotone",
        lambda d: find(d, "internal_loss_rate")["thresholds"][3].__setitem__("value", 0.02),
        "indicators[internal_loss_rate].thresholds[5].value",
        "monotone",
    ),
    (
        "tracked_after_numeric",
        lambda d: (
            find(d, "external_loss_rate")["thresholds"][3].update(op="tracked", value=None)
            or find(d, "external_loss_rate")["thresholds"][3].pop("value")
        ),
        "indicators[external_loss_rate].thresholds[5].op",
        "monotone",
    ),
    (
        "op_against_better",
        lambda d: find(d, "rolled_yield")["thresholds"][0].__setitem__("op", "<"),
        "indicators[rolled_yield].thresholds[2].op",
        "value",
    ),
    (
        "unknown_op",
        lambda d: find(d, "rolled_yield")["thresholds"][0].__setitem__("op", "=>"),
        "indicators[rolled_yield].thresholds[2].op",
        "value",
    ),
    (
        "missing_threshold_level",
        lambda d: find(d, "cpk")["thresholds"].pop(1),
        "indicators[cpk].thresholds",
        "levels",
    ),
    (
        "missing_anchor_level",
        lambda d: find(d, "leadership")["anchors"].pop(3),
        "indicators[leadership].anchors",
        "levels",
    ),
    (
        "typo_key",
        lambda d: find(d, "cpk").__setitem__("weigth", 1),
        "indicators[cpk].weigth",
        "unknown_key",
    ),
    (
        "unknown_aspect",
        lambda d: find(d, "cpk").__setitem__("aspect", "perf"),
        "indicators[cpk].aspect",
        "reference",
    ),
    (
        "unknown_task",
        lambda d: find(d, "cpk").__setitem__("tasks", [7, 42]),
        "indicators[cpk].tasks",
        "reference",
    ),
    (
        "unknown_kind",
        lambda d: find(d, "cpk").__setitem__("kind", "number"),
        "indicators[cpk].kind",
        "value",
    ),
    (
        "unknown_rule",
        lambda d: d["aspects"][0].__setitem__("rule", "average"),
        "aspects[system].rule",
        "value",
    ),
    (
        "schema_2",
        lambda d: d.__setitem__("schema", 2),
        "schema",
        "value",
    ),
    (
        "mandatory_from_1",
        lambda d: find(d, "leadership").__setitem__("mandatory_from", 1),
        "indicators[leadership].mandatory_from",
        "value",
    ),
    (
        "threshold_outside_domain",
        lambda d: find(d, "rolled_yield")["thresholds"][3].__setitem__("value", 98),
        "indicators[rolled_yield].thresholds[5].value",
        "value",
    ),
    (
        "tracked_with_value",
        lambda d: find(d, "internal_loss_rate")["thresholds"][0].__setitem__("value", 0.03),
        "indicators[internal_loss_rate].thresholds[2].value",
        "value",
    ),
    (
        "numeric_without_value",
        lambda d: find(d, "cpk")["thresholds"][0].pop("value"),
        "indicators[cpk].thresholds[2].value",
        "missing",
    ),
    (
        "points_in_linear_model",
        lambda d: find(d, "leadership")["anchors"][0].__setitem__("points", 0),
        "indicators[leadership].anchors[1].points",
        "value",
    ),
    (
        "points_method_without_points",
        lambda d: d["scoring"].__setitem__("method", "points"),
        "indicators[leadership].anchors",
        "missing",
    ),
    (
        "empty_text",
        lambda d: find(d, "leadership").__setitem__("name_zh", "  "),
        "indicators[leadership].name_zh",
        "empty",
    ),
    (
        "evidence_from_9",
        lambda d: d["rules"].__setitem__("evidence_from", 9),
        "rules.evidence_from",
        "value",
    ),
    (
        "anchors_not_tables",
        lambda d: find(d, "leadership").__setitem__("anchors", ["a", "b"]),
        "indicators[leadership].anchors",
        "type",
    ),
]


@pytest.mark.parametrize(("name", "edit", "key", "code"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_model_files(
    tmp_path: Path, name: str, edit: Callable[[dict[str, Any]], None], key: str, code: str
) -> None:
    data = copy.deepcopy(default_data())
    edit(data)
    model_error(write_json(tmp_path, data, f"{name}.json"), key, code=code)


def test_aspect_without_indicators(tmp_path: Path) -> None:
    data = default_data()
    data["aspects"].append({"id": "extra", "name_zh": "额外", "name_en": "Extra"})
    err = model_error(write_json(tmp_path, data), "aspects[extra]", code="empty_aspect")
    assert "has no indicator" in str(err)


def test_every_problem_is_collected(tmp_path: Path) -> None:
    data = default_data()
    del data["version"]
    find(data, "cpk")["weight"] = "forty"
    find(data, "leadership")["anchors"][0]["level"] = 9
    err = model_error(
        write_json(tmp_path, data),
        "version",
        "indicators[cpk].weight",
        "indicators[leadership].anchors[9].level",
    )
    assert len(err.problems) >= 3
    assert "problems" in str(err).splitlines()[0]
    assert all(set(p.to_dict()) == {"key", "code", "message"} for p in err.problems)


def test_weight_error_says_by_how_much(tmp_path: Path) -> None:
    data = default_data()
    find(data, "cpk")["weight"] = 45
    err = model_error(write_json(tmp_path, data), "indicators[*].weight", code="weights")
    assert "1005" in str(err) and "-5" in str(err) and "performance 305" in str(err)


def test_broken_toml_text(tmp_path: Path) -> None:
    text = DEFAULT_FILE.read_text(encoding="utf-8")
    path = tmp_path / "weights.toml"
    path.write_text(text.replace('id = "cpk"\n', 'id = "cpk"\nweigth = 3\n', 1), encoding="utf-8")
    model_error(path, "indicators[cpk].weigth", code="unknown_key")


def test_invalid_toml_is_an_input_file_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('id = "x"\n[[levels]\n', encoding="utf-8")
    with pytest.raises(InputFileError, match=r"bad\.toml.*not valid TOML.*line 2"):
        load_model(path)


def test_invalid_json_and_missing_file_and_suffix(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"bad\.json.*not valid JSON.*line 1"):
        load_model(bad)
    with pytest.raises(InputFileError, match=r"does not exist.*miit-249-2023/zhuoyue-v1"):
        load_model(tmp_path / "nope.toml")
    with pytest.raises(InputFileError, match=r"does not exist"):
        load_model("no-such-model-id")
    other = tmp_path / "model.ini"
    other.write_text("x", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"unsupported format '\.ini'"):
        load_model(other)
    arr = tmp_path / "list.json"
    arr.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(InputFileError, match="table/object"):
        load_model(arr)
    latin = tmp_path / "latin.toml"
    latin.write_bytes("id = 'é'".encode("latin-1"))
    with pytest.raises(InputFileError, match="UTF-8"):
        load_model(latin)


def test_yaml_needs_pyyaml_or_loads(tmp_path: Path) -> None:
    path = tmp_path / "model.yaml"
    path.write_text("id: x\n", encoding="utf-8")
    try:
        import yaml  # type: ignore[import-untyped]  # noqa: F401
    except ImportError:
        with pytest.raises(InputFileError, match="PyYAML"):
            load_model(path)
    else:  # pragma: no cover - PyYAML is not a dependency
        with pytest.raises(ModelError):
            load_model(path)


def test_json_copy_of_the_builtin_model_loads(tmp_path: Path) -> None:
    path = write_json(tmp_path, default_data(), "copy.json")
    assert load_model(path).to_dict() == default_model().to_dict() | {"id": DEFAULT_MODEL_ID}


def test_parse_model_rejects_non_tables() -> None:
    with pytest.raises(ModelError, match="must hold a table"):
        parse_model([], source="x")  # type: ignore[arg-type]
    with pytest.raises(ModelError, match="levels"):
        parse_model({"schema": 1, "id": "x", "version": "1", "levels": 3}, source="x")
