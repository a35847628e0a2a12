"""``zhuoyue assess`` end to end: CSV folders and workbooks in, level / JSON / declaration out.

The plant below is computed by hand so the command's numbers can be checked:

* inspections 2024: OP10 200 submitted, 194 first-pass (97 %), OP20 100 / 99 (99 %)
  → rolled yield 0.97 × 0.99 = 0.9603 → 保证级 (≥ 95 %, < 97 %);
* quality costs 2024: internal 150 000 + 50 000 = 200 000, external 80 000; output value
  10 000 000 → internal 2.00 % (保证级: < 3.0 %, not < 1.5 %), external 0.80 % (预防级);
* product quality 2024: 100 000 units, 50 defective → 500 ppm → Z = 1.5 + Φ⁻¹(1 − 0.0005)
  = 4.7905 → 保证级 (≥ 4σ);
* no characteristics → Cpk not computed → 经验级, which binds the level at L1.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest
from scipy.stats import norm
from typer.testing import CliRunner

from zhuoyue.cli.main import app
from zhuoyue.excellence import default_model

DATA = Path(__file__).resolve().parents[1] / "data"
runner = CliRunner()


def _plant(folder: Path, *, with_chars: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "inspections.csv").write_text(
        "date,step,submitted,passed_first\n"
        "2024-03-01,OP10,120,116\n2024-04-01,OP10,80,78\n2024-05-01,OP20,100,99\n"
        "2023-12-30,OP20,100,1\n",  # another year: left out with a warning
        encoding="utf-8",
    )
    (folder / "quality_costs.csv").write_text(
        "date,category,amount\n"
        "2024-02-01,internal.scrap,150000\n2024-06-01,internal.rework,50000\n"
        "2024-07-01,external.claim,80000\n2024-08-01,prevention,30000\n",
        encoding="utf-8",
    )
    (folder / "output_value.csv").write_text(
        "year,total_output_value\n2024,10000000\n", encoding="utf-8"
    )
    (folder / "product_quality.csv").write_text(
        "period,units,defective\n2024-01,60000,30\n2024-02,40000,20\n", encoding="utf-8"
    )
    items = [i.id for i in default_model().questionnaire]
    rows = "\n".join(f"{i},4,证据-{i}.pdf,张三" for i in items)
    (folder / "self_assessment.csv").write_text(
        "item,level,evidence,respondent\n" + rows + "\n", encoding="utf-8"
    )
    if with_chars:
        (folder / "characteristics.csv").write_text(
            "code,step,lsl,usl,key\nD1,OP10,9.9,10.1,true\n", encoding="utf-8"
        )
        values = [10.0 + 0.01 * ((i * 7) % 11 - 5) for i in range(100)]
        lines = [
            f"D1,2024-01-{1 + i // 10:02d}T{i % 10:02d}:00:00,{v}" for i, v in enumerate(values)
        ]
        (folder / "measurements.csv").write_text(
            "characteristic,ts,value\n" + "\n".join(lines) + "\n", encoding="utf-8"
        )
    return folder


def _json(args: list[str]) -> tuple[int, dict]:
    res = runner.invoke(app, [*args, "--json"])
    return res.exit_code, json.loads(res.stdout)


def test_csv_folder_json_contract_and_hand_computed_metrics(tmp_path: Path) -> None:
    code, out = _json(["assess", str(_plant(tmp_path / "plant"))])
    assert code == 0
    for key in (
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
        "warnings",
    ):
        assert key in out
    m = out["metrics"]
    assert set(m) >= {
        "sigma_level",
        "cpk",
        "rolled_yield",
        "internal_loss_rate",
        "external_loss_rate",
    }
    for v in m.values():
        assert {"value", "level", "detail"} <= set(v)
    assert m["rolled_yield"]["value"] == pytest.approx(0.97 * 0.99, rel=1e-12)
    assert m["rolled_yield"]["level"] == 3
    assert m["internal_loss_rate"]["value"] == pytest.approx(0.02, rel=1e-12)
    assert m["internal_loss_rate"]["level"] == 3
    assert m["external_loss_rate"]["value"] == pytest.approx(0.008, rel=1e-12)
    assert m["external_loss_rate"]["level"] == 4
    z = 1.5 + norm.isf(50 / 100_000)
    assert m["sigma_level"]["value"] == pytest.approx(z, rel=1e-9)
    assert 4 <= z < 5
    assert m["sigma_level"]["level"] == 3
    assert m["cpk"]["value"] is None and m["cpk"]["level"] == 1
    assert out["level"] == 1
    assert out["level_name"] == {"zh": "经验级", "en": "Experience"}
    assert any("cpk" in json.dumps(b) for b in out["binding"])
    assert out["year"] == 2024
    assert any("2023" in w or "outside" in w for w in out["warnings"])
    assert {a["level"] for a in out["aspects"]} <= {1, 2, 3, 4, 5}
    for a in out["aspects"]:
        assert {"level", "score", "indicators"} <= set(a)


def test_human_output_names_level_binding_and_plan(tmp_path: Path) -> None:
    res = runner.invoke(app, ["assess", str(_plant(tmp_path / "p"))])
    assert res.exit_code == 0, res.output
    assert "L1 经验级" in res.stdout
    assert "过程能力指数" in res.stdout and "制约因素" in res.stdout
    assert "改进计划" in res.stdout


def test_year_option_selects_the_year(tmp_path: Path) -> None:
    code, out = _json(["assess", str(_plant(tmp_path / "p")), "--year", "2023"])
    assert code == 0
    assert out["year"] == 2023
    # 2023 has OP20 only: 1 / 100 first-pass
    assert out["metrics"]["rolled_yield"]["value"] == pytest.approx(0.01)
    assert out["metrics"]["internal_loss_rate"]["value"] is None  # no output value of 2023


def test_workbook_from_template(tmp_path: Path) -> None:
    wb_path = tmp_path / "t.xlsx"
    assert runner.invoke(app, ["template", str(wb_path)]).exit_code == 0
    wb = openpyxl.load_workbook(wb_path)
    ws = wb["inspections"]
    header = [c.value for c in ws[1]]
    col = {h.split("（")[-1].rstrip("）") if "（" in h else h: i for i, h in enumerate(header)}
    for r, (d, step, sub, ok) in enumerate(
        [(dt.date(2024, 1, 5), "OP10", 200, 190), (dt.date(2024, 2, 5), "OP20", 50, 50)], start=2
    ):
        ws.cell(r, col["date"] + 1, d)
        ws.cell(r, col["step"] + 1, step)
        ws.cell(r, col["submitted"] + 1, sub)
        ws.cell(r, col["passed_first"] + 1, ok)
    wb.save(wb_path)
    code, out = _json(["assess", str(wb_path)])
    assert code == 0
    assert out["metrics"]["rolled_yield"]["value"] == pytest.approx(0.95, rel=1e-12)
    assert out["metrics"]["rolled_yield"]["level"] == 3  # exactly 95 % reaches 保证级


def test_bad_rows_exit_4_with_every_problem(tmp_path: Path) -> None:
    folder = _plant(tmp_path / "bad")
    (folder / "inspections.csv").write_text(
        "date,step,submitted,passed_first\n2024-03-01,OP10,100,101\n2024-03-02,OP10,-5,0\n",
        encoding="utf-8",
    )
    (folder / "quality_costs.csv").write_text(
        "date,category,amount\n2024-01-01,internal.scrap,-1\n", encoding="utf-8"
    )
    (folder / "self_assessment.csv").write_text(
        "item,level\nquality_strategy,6\nno_such_item,3\n", encoding="utf-8"
    )
    res = runner.invoke(app, ["assess", str(folder), "--json"])
    assert res.exit_code == 4
    body = json.loads(res.stdout)
    problems = body["error"]["problems"]
    seen = {(p.get("sheet"), p["row"], p["column"]) for p in problems}
    assert ("inspections", 2, "passed_first") in seen
    assert any(s == "inspections" and r == 3 for s, r, _ in seen)
    assert any(s == "quality_costs" and r == 2 for s, r, _ in seen)
    assert any(s == "self_assessment" and r == 2 for s, r, _ in seen)
    assert any(s == "self_assessment" and r == 3 for s, r, _ in seen)
    for p in problems:
        assert p["message"]
    # human output: the problems are listed on stderr
    res = runner.invoke(app, ["assess", str(folder)])
    assert res.exit_code == 4
    assert "passed_first" in res.stderr or "一次交验" in res.stderr


def test_exit_codes_for_files_options_and_reports(tmp_path: Path) -> None:
    plant = _plant(tmp_path / "p")
    assert runner.invoke(app, ["assess", str(tmp_path / "missing")]).exit_code == 3
    assert runner.invoke(app, ["assess", str(plant), "--lang", "fr"]).exit_code == 2
    assert runner.invoke(app, ["assess", str(plant), "--report", "x.docx"]).exit_code == 2
    bad_model = tmp_path / "m.toml"
    bad_model.write_text("schema = 1\nid = 3\n", encoding="utf-8")
    assert runner.invoke(app, ["assess", str(plant), "--model", str(bad_model)]).exit_code == 4
    res = runner.invoke(
        app, ["assess", str(plant), "--report", str(tmp_path / "no" / "such" / "d.html")]
    )
    assert res.exit_code == 5


def test_alternative_model_file(tmp_path: Path) -> None:
    plant = _plant(tmp_path / "p", with_chars=True)
    (plant / "self_assessment.csv").write_text(
        "item,level,evidence\nq_plan,4,plan.pdf\nq_people,4,\n", encoding="utf-8"
    )
    code, out = _json(["assess", str(plant), "--model", str(DATA / "alt_model.toml")])
    assert code == 0, out
    assert out["model"]["id"] == "test/alt-model"
    assert "min_cpk" in out["metrics"]
    assert out["metrics"]["min_cpk"]["value"] is not None


def test_html_and_pdf_declaration(tmp_path: Path) -> None:
    plant = _plant(tmp_path / "p")
    html = tmp_path / "d.html"
    res = runner.invoke(app, ["assess", str(plant), "--report", str(html)])
    assert res.exit_code == 0, res.output
    text = html.read_text(encoding="utf-8")
    assert "自我声明" in text and "经验级" in text
    if shutil.which("pdftotext") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("pdftotext (poppler-utils) is missing on CI")
        pytest.skip("pdftotext not installed")
    pdf = tmp_path / "d.pdf"
    res = runner.invoke(app, ["assess", str(plant), "--report", str(pdf), "--lang", "en"])
    assert res.exit_code == 0, res.output
    assert pdf.read_bytes().startswith(b"%PDF")
    out = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True)
    assert "Experience" in out.stdout
