"""``zhuoyue msa`` end to end through Typer's CliRunner (the command on a local Typer app).

Checks the documented contract: ``--json`` writes exactly ``result.to_dict()`` of the Python API
to stdout; messages and warnings go to stderr; exit codes 0 ok, 2 bad option, 3 file unreadable,
4 bad data with the spreadsheet row of each bad cell (header = row 1).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pytest
import typer
from typer.testing import CliRunner, Result

from zhuoyue.cli.msa import msa as msa_command
from zhuoyue.stats import msa

REF = Path(__file__).resolve().parents[3] / "shared" / "reference" / "spc" / "gauge_rr_aiag"

app = typer.Typer(pretty_exceptions_enable=False)
app.command(name="msa")(msa_command)


@app.callback()
def _root() -> None:
    """Test root: ``msa`` is a sub-command as under ``zhuoyue``."""


def run(*args: Any) -> Result:
    return CliRunner().invoke(app, ["msa", *map(str, args)])


def jsonify(d: dict[str, Any]) -> Any:
    return json.loads(json.dumps(d, allow_nan=False, ensure_ascii=False))


@pytest.fixture(scope="module")
def gauge_rows() -> list[dict[str, str]]:
    path = REF / "data.csv"
    if not path.exists():
        pytest.skip("shared reference data not present")
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture
def gauge_csv(tmp_path: Path, gauge_rows: list[dict[str, str]]) -> Path:
    return write_rows(tmp_path / "grr.csv", gauge_rows)


def write_rows(path: Path, rows: list[dict[str, str]], columns: list[str] | None = None) -> Path:
    cols = columns or list(rows[0])
    lines = [",".join(cols)] + [",".join(r.get(c, "") for c in cols) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def api(rows: list[dict[str, str]], **kw: Any) -> dict[str, Any]:
    res = msa.gauge_rr(
        [r["part"] for r in rows],
        [r["operator"] for r in rows],
        np.array([float(r["y"]) for r in rows]),
        **kw,
    )
    return dict(jsonify(res.to_dict()))


GRR = ["--part", "part", "--operator", "operator", "--value", "y"]


# --------------------------------------------------------------------------- gauge R&R


@pytest.mark.parametrize(
    ("args", "kw"),
    [
        ([], {}),
        (["--tolerance", "6"], {"tolerance": 6.0}),
        (
            ["--lsl", "-3", "--usl", "3", "--interaction", "keep"],
            {"lsl": -3.0, "usl": 3.0, "interaction": "keep"},
        ),
        (["--method", "xbar_r", "--ndc-rule", "1.41"], {"method": "xbar_r", "ndc_rule": "1.41"}),
        (
            ["--method", "xbar_r", "--constants", "exact"],
            {"method": "xbar_r", "constants": "exact"},
        ),
        (
            [
                "--confidence",
                "0.9",
                "--process-sigma",
                "1.2",
                "--study-var",
                "5.15",
                "--alpha-remove",
                "0.99",
            ],
            {"confidence": 0.9, "process_sigma": 1.2, "study_var": 5.15, "alpha_remove": 0.99},
        ),
    ],
)
def test_gauge_json_equals_python_api(
    gauge_csv: Path, gauge_rows: list[dict[str, str]], args: list[str], kw: dict[str, Any]
) -> None:
    r = run(gauge_csv, *GRR, *args, "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout) == api(gauge_rows, **kw)
    assert "warning: ndc = 4 < 5" in r.stderr or "ndc" not in r.stderr


def test_gauge_human_output(gauge_csv: Path) -> None:
    r = run(gauge_csv, *GRR, "--tolerance", "6")
    assert r.exit_code == 0, r.stderr
    out = r.stdout
    assert "grr.csv: 90 rows" in out
    assert "Two-way ANOVA table without interaction" in out
    assert "Total Gage R&R 量具R&R合计" in out and "27.86" in out and "30.24" in out
    assert "Verdict 结论: 不可接受 / unacceptable" in out
    assert "ndc = 4" in out
    # warnings on stderr only
    assert "warning" not in out and "warning: " in r.stderr
    assert "part 4 / operator B" in r.stderr


def test_excel_sheet_and_chinese_headers(tmp_path: Path, gauge_rows: list[dict[str, str]]) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "测量系统"
    ws.append(["零件 (part)", "操作员 (operator)", "测量值 (value)"])
    for row in gauge_rows:
        ws.append([int(row["part"]), row["operator"], float(row["y"])])
    path = tmp_path / "msa.xlsx"
    wb.save(path)
    r = run(
        path,
        "--sheet",
        "测量系统",
        "--part",
        "零件",
        "--operator",
        "operator",
        "--value",
        "测量值",
        "--json",
    )
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)
    expected = api(gauge_rows)
    assert out["variance"] == pytest.approx(expected["variance"], rel=1e-12)
    assert out["parts"] == [str(i) for i in range(1, 11)]


# --------------------------------------------------------------------------- bias and linearity

LIN = {
    2.0: [2.7, 2.5, 2.4, 2.5, 2.7, 2.3, 2.5, 2.5, 2.4, 2.4, 2.6, 2.4],
    4.0: [5.1, 3.9, 4.2, 5.0, 3.8, 3.9, 3.9, 3.9, 3.9, 4.0, 4.1, 3.8],
    6.0: [5.8, 5.7, 5.9, 5.9, 6.0, 6.1, 6.0, 6.1, 6.4, 6.3, 6.0, 6.1],
    8.0: [7.6, 7.7, 7.8, 7.7, 7.8, 7.8, 7.8, 7.7, 7.8, 7.5, 7.6, 7.7],
    10.0: [9.1, 9.3, 9.5, 9.3, 9.4, 9.5, 9.5, 9.5, 9.6, 9.2, 9.3, 9.4],
}


@pytest.fixture
def lin_csv(tmp_path: Path) -> Path:
    rows = [
        {"part": str(i + 1), "reference": f"{ref:g}", "value": f"{v:g}"}
        for i, (ref, vals) in enumerate(LIN.items())
        for v in vals
    ]
    return write_rows(tmp_path / "lin.csv", rows)


def test_linearity_json_equals_python_api(lin_csv: Path) -> None:
    ref = np.repeat(list(LIN), 12)
    x = np.concatenate(list(LIN.values()))
    r = run(
        lin_csv,
        "--reference",
        "reference",
        "--value",
        "value",
        "--process-variation",
        "16.536",
        "--json",
    )
    assert r.exit_code == 0, r.stderr
    expected = msa.bias_linearity(ref, x, process_variation=16.536)
    assert json.loads(r.stdout) == jsonify(expected.to_dict())
    r = run(lin_csv, "--reference", "reference", "--part", "part", "--value", "value", "--json")
    assert r.exit_code == 0, r.stderr
    parts = np.repeat([str(i) for i in range(1, 6)], 12)
    assert json.loads(r.stdout) == jsonify(msa.bias_linearity(ref, x, parts=parts).to_dict())
    r = run(lin_csv, "--reference", "reference", "--value", "value", "--tolerance", "4")
    assert r.exit_code == 0, r.stderr
    assert "Bias = 0.736667 + (-0.131667) × Reference" in r.stdout
    assert "linearity problem" in r.stdout


def test_bias_study_from_reference_value_or_constant_column(tmp_path: Path) -> None:
    x = LIN[6.0] + [6.2, 5.6, 6.0]
    path = write_rows(tmp_path / "b.csv", [{"x": f"{v:g}", "ref": "6"} for v in x])
    expected = jsonify(msa.bias_study(6.0, x, tolerance=2.0).to_dict())
    r = run(path, "--reference-value", "6", "--value", "x", "--tolerance", "2", "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout) == expected
    r = run(path, "--reference", "ref", "--value", "x", "--lsl", "5", "--usl", "7", "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout) == expected
    r = run(path, "--reference-value", "6", "--value", "x")
    assert r.exit_code == 0 and "bias acceptable" in r.stdout


# --------------------------------------------------------------------------- bad input


def modified(gauge_rows: list[dict[str, str]], tmp_path: Path, change: Any) -> Path:
    rows = [dict(r) for r in gauge_rows]
    rows = change(rows) or rows
    return write_rows(tmp_path / "bad.csv", rows, ["part", "operator", "trial", "y"])


def test_bad_cells_are_listed_with_rows(tmp_path: Path, gauge_rows: list[dict[str, str]]) -> None:
    def change(rows: list[dict[str, str]]) -> None:
        rows[3]["y"] = "12.5x"  # spreadsheet row 5
        rows[10]["part"] = ""  # row 12
        rows[20]["operator"] = " "  # row 22

    path = modified(gauge_rows, tmp_path, change)
    r = run(path, *GRR, "--json")
    assert r.exit_code == 4
    problems = json.loads(r.stdout)["error"]["problems"]
    assert [(p["row"], p["column"], p["code"]) for p in problems] == [
        (5, "y", "not_a_number"),
        (12, "part", "blank"),
        (22, "operator", "blank"),
    ]
    assert 'Row 5, column "y": "12.5x" is not a number' in r.stderr
    assert 'Row 12, column "part": the part is empty' in r.stderr
    assert 'Row 22, column "operator": the operator is empty' in r.stderr


def test_unbalanced_study_names_row_part_and_operator(
    tmp_path: Path, gauge_rows: list[dict[str, str]]
) -> None:
    path = modified(gauge_rows, tmp_path, lambda rows: [*rows, dict(rows[0])])  # 4th trial 1/A
    r = run(path, *GRR)
    assert r.exit_code == 4
    assert "Row 2:" in r.stderr  # the first row of that cell
    assert "part 1 / operator A has 4 measurements while most cells have 3" in r.stderr
    assert r.stdout == "" and "Traceback" not in r.stderr


def test_missing_cell_and_single_operator(tmp_path: Path, gauge_rows: list[dict[str, str]]) -> None:
    path = modified(
        gauge_rows,
        tmp_path,
        lambda rows: [r for r in rows if not (r["part"] == "3" and r["operator"] == "B")],
    )
    r = run(path, *GRR)
    assert r.exit_code == 4 and "part 3 / operator B" in r.stderr and "crossed" in r.stderr
    path = modified(gauge_rows, tmp_path, lambda rows: [r for r in rows if r["operator"] == "A"])
    r = run(path, *GRR)
    assert r.exit_code == 4 and "at least 2 operators" in r.stderr


def test_skip_blank_then_unbalanced(tmp_path: Path, gauge_rows: list[dict[str, str]]) -> None:
    def change(rows: list[dict[str, str]]) -> None:
        rows[0]["y"] = ""

    path = modified(gauge_rows, tmp_path, change)
    r = run(path, *GRR)
    assert r.exit_code == 4 and "Row 2" in r.stderr and "--skip-blank" in r.stderr
    r = run(path, *GRR, "--skip-blank")
    assert r.exit_code == 4
    # row 2 was skipped: the odd cell now starts at row 3
    assert "Row 3:" in r.stderr and "part 1 / operator A has 2 measurements" in r.stderr


def test_bias_linearity_bad_reference(tmp_path: Path) -> None:
    rows = [
        {"part": "a", "reference": "1", "value": "1.1"},
        {"part": "a", "reference": "1", "value": "1.0"},
        {"part": "b", "reference": "2", "value": "2.1"},
        {"part": "b", "reference": "2.5", "value": "2.0"},
        {"part": "c", "reference": "x", "value": "3.0"},
    ]
    path = write_rows(tmp_path / "l.csv", rows)
    r = run(path, "--reference", "reference", "--part", "part", "--value", "value")
    assert r.exit_code == 4 and 'Row 6, column "reference": "x" is not a number' in r.stderr
    path = write_rows(tmp_path / "l.csv", rows[:4])
    r = run(path, "--reference", "reference", "--part", "part", "--value", "value")
    assert (
        r.exit_code == 4
        and "Row 5:" in r.stderr
        and "part b has more than one reference" in r.stderr
    )


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--part", "part", "--value", "y"], "needs --operator"),
        (["--value", "y"], "needs --part and --operator"),
        ([*GRR, "--process-variation", "3"], "--process-sigma"),
        (
            ["--reference-value", "1", "--value", "y", "--interaction", "keep"],
            "--interaction applies",
        ),
        (
            ["--reference-value", "1", "--value", "y", "--operator", "operator"],
            "--operator applies",
        ),
        (["--reference-value", "1", "--reference", "part", "--value", "y"], "not both"),
        (["--reference-value", "1", "--part", "part", "--value", "y"], "drop --part"),
        (["--reference-value", "1", "--value", "y", "--lsl", "1"], "both --lsl and --usl"),
        ([*GRR, "--tolerance", "6", "--lsl", "1", "--usl", "2"], "not both"),
        ([*GRR, "--confidence", "1.5"], "confidence"),
        ([*GRR, "--method", "xbar_r", "--confidence", "0.9"], "method='anova'"),
        ([*GRR, "--method", "xbar_r", "--interaction", "keep"], "no interaction"),
        ([*GRR, "--alpha-remove", "2"], "alpha_remove"),
        ([*GRR, "--method", "nested"], ""),
    ],
)
def test_bad_options_exit_2(gauge_csv: Path, args: list[str], needle: str) -> None:
    r = run(gauge_csv, *args)
    assert r.exit_code == 2, (r.stdout, r.stderr)
    assert needle in r.stderr
    assert r.stdout == ""


def test_files_and_columns(tmp_path: Path, gauge_csv: Path) -> None:
    r = run(tmp_path / "none.csv", *GRR)
    assert r.exit_code == 3 and "no such file" in r.stderr
    r = run(gauge_csv, "--sheet", "x", *GRR)
    assert r.exit_code == 3 and "Excel workbooks only" in r.stderr
    r = run(gauge_csv, "--part", "parts", "--operator", "operator", "--value", "y")
    assert r.exit_code == 4 and "there is no part column 'parts'" in r.stderr
    assert "Did you mean 'part'?" in r.stderr
    r = run(gauge_csv, *GRR, "--json", "--part", "nope")
    assert r.exit_code == 4 and json.loads(r.stdout)["error"]["code"] == "missing_column"
