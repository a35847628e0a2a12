"""``zhuoyue spc`` end to end, in a subprocess: stdout/stderr separation and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import openpyxl
import polars as pl
import pytest

from zhuoyue import stats

REF = Path(__file__).resolve().parents[3] / "shared" / "reference" / "spc"


def cli(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "zhuoyue.cli.main", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return cli("spc", *args)


@pytest.fixture(scope="module")
def piston_csv() -> Path:
    path = REF / "xbar_r_pistonrings" / "data.csv"
    if not path.exists():
        pytest.skip("shared reference data not present")
    return path


def piston_arrays(path: Path) -> tuple[np.ndarray, np.ndarray]:
    df = pl.read_csv(path)
    return df["diameter"].to_numpy(), df["sample"].to_numpy()


def test_json_contract_matches_python_api(piston_csv: Path) -> None:
    r = run(piston_csv, "--chart", "xbar_r", "--value", "diameter", "--subgroup", "sample",
            "--phase1-rows", "25", "--json")  # fmt: skip
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert {"chart", "sigma", "sigma_method", "panels"} <= out.keys()
    assert out["chart"] == "xbar_r"
    assert out["sigma_method"] == "rbar/d2"
    assert set(out["panels"]) == {"xbar", "r"}
    for panel in out["panels"].values():
        assert {"statistic", "center", "lcl", "ucl", "violations"} <= panel.keys()
    x, s = piston_arrays(piston_csv)
    expected = stats.xbar_r(x, s, phase1=25).to_dict()
    assert out == json.loads(json.dumps(expected))
    beyond = [v["index"] for v in out["panels"]["xbar"]["violations"] if v["rule"] == 1]
    assert beyond == [36, 37, 38]  # 0-based; Montgomery: samples 37-39 out


def test_human_output_and_report(piston_csv: Path, tmp_path: Path) -> None:
    report = tmp_path / "r.html"
    r = run(piston_csv, "--chart", "xbar_r", "--value", "diameter", "--subgroup", "sample",
            "--phase1-rows", "25", "--out", report)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "subgroups 37, 38, 39" in r.stdout
    assert "report written" in r.stderr
    assert report.exists() and "<svg" in report.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("chart", "extra", "panels"),
    [
        ("xbar_s", ["--subgroup", "sample"], {"xbar", "s"}),
        ("imr", [], {"i", "mr"}),
        ("ewma", ["--subgroup", "sample", "--lambda", "0.2", "--L", "3"], {"ewma"}),
        (
            "cusum",
            ["--subgroup", "sample", "--k", "0.5", "--h", "4"],
            {"cusum_upper", "cusum_lower"},
        ),
    ],
)
def test_variable_charts(piston_csv: Path, chart: str, extra: list[str], panels: set[str]) -> None:
    r = run(
        piston_csv, "--chart", chart, "--value", "diameter", *extra, "--phase1-rows", "25", "--json"
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert set(out["panels"]) == panels
    if chart == "cusum":
        assert out["params"]["h"] == 4.0
        assert out["panels"]["cusum_upper"]["lcl"] is None
    if chart == "imr":
        assert out["panels"]["mr"]["statistic"][0] is None


def test_attribute_charts_and_phase2(tmp_path: Path) -> None:
    src = REF / "p_np_orangejuice" / "data.csv"
    if not src.exists():
        pytest.skip("shared reference data not present")
    for chart in ("p", "np"):
        r = run(
            src, "--chart", chart, "--value", "D", "--size", "size", "--phase1-rows", "30", "--json"
        )
        assert r.returncode == 0, r.stderr
        out = json.loads(r.stdout)
        assert out["center"] == pytest.approx(0.23133333333333334, rel=1e-12)
    r = run(src, "--chart", "p", "--value", "D", "--size", "size", "--center", "0.215", "--json")
    out = json.loads(r.stdout)
    assert out["panels"]["p"]["ucl"] == pytest.approx(0.38929716004571047, rel=1e-9)
    c = REF / "c_circuit" / "data.csv"
    r = run(c, "--chart", "c", "--value", "x", "--phase1-rows", "26", "--iterate", "--json")
    out = json.loads(r.stdout)
    assert out["excluded"] == [5, 19]
    assert out["center"] == pytest.approx(19.666666666666668, rel=1e-12)
    u = REF / "u_dyedcloth" / "data.csv"
    r = run(u, "--chart", "u", "--value", "x", "--size", "size", "--json")
    assert json.loads(r.stdout)["center"] == pytest.approx(1.4232558139534883, rel=1e-12)


def test_rules_selection(piston_csv: Path) -> None:
    base = [piston_csv, "--chart", "xbar_r", "--value", "diameter", "--subgroup", "sample",
            "--phase1-rows", "25", "--json"]  # fmt: skip
    r = run(*base, "--tests", "1")
    rules = {v["rule"] for v in json.loads(r.stdout)["panels"]["xbar"]["violations"]}
    assert rules == {1}
    r = run(*base, "--rules", "none")
    assert json.loads(r.stdout)["panels"]["xbar"]["violations"] == []
    r = run(*base, "--rules", "we")
    out = json.loads(r.stdout)
    assert out["rules"]["set"] == "we"
    assert {v["rule"] for v in out["panels"]["xbar"]["violations"]} == {1, 2, 3}


def test_excel_gbk_semicolon_and_parquet(piston_csv: Path, tmp_path: Path) -> None:
    x, s = piston_arrays(piston_csv)
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "测量数据"
    ws.append(["样本 (sample)", "直径 (diameter)"])
    for si, xi in zip(s.tolist(), x.tolist(), strict=True):
        ws.append([si, xi])
    xlsx = tmp_path / "数据.xlsx"
    wb.save(xlsx)
    expected = stats.xbar_r(x, s).to_dict()
    r = run(
        xlsx,
        "--sheet",
        "测量数据",
        "--chart",
        "xbar_r",
        "--value",
        "diameter",
        "--subgroup",
        "样本",
        "--json",
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["panels"]["xbar"]["ucl"] == pytest.approx(
        expected["panels"]["xbar"]["ucl"], rel=1e-12
    )
    gbk = tmp_path / "gbk.csv"
    lines = ["样本;直径"] + [f"{a};{b}" for a, b in zip(s.tolist(), x.tolist(), strict=True)]
    gbk.write_bytes("\r\n".join(lines).encode("gb18030"))
    r = run(gbk, "--chart", "xbar_r", "--value", "直径", "--subgroup", "样本", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["sigma"] == pytest.approx(expected["sigma"], rel=1e-12)
    pq = tmp_path / "d.parquet"
    pl.DataFrame({"sample": s, "diameter": x}).write_parquet(pq)
    r = run(pq, "--chart", "xbar_r", "--value", "diameter", "--subgroup", "sample", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["sigma"] == pytest.approx(expected["sigma"], rel=1e-12)


# ---------------------------------------------------------------- bad input: message + exit code


def write(tmp_path: Path, text: str, name: str = "d.csv") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


@pytest.mark.parametrize(
    ("content", "args", "code", "needle"),
    [
        ("", ["--chart", "imr", "--value", "x"], 4, "empty"),
        ("x\n", ["--chart", "imr", "--value", "x"], 4, "no data rows"),
        (
            'x\n1\n"12,5x"\n3\n',
            ["--chart", "imr", "--value", "x"],
            4,
            'Row 3, column "x": "12,5x" is not a number',
        ),
        (
            "x\n1\n\n3\n",
            ["--chart", "imr", "--value", "x"],
            4,
            'Row 3, column "x": the cell is empty',
        ),
        (
            "x\n1\nnan\n3\n4\n",
            ["--chart", "imr", "--value", "x"],
            4,
            'Row 3, column "x": "nan" is not a finite number',
        ),
        ("x\n1\ninf\n3\n4\n", ["--chart", "imr", "--value", "x"], 4, "Row 3"),
        ("x\n5\n5\n5\n5\n", ["--chart", "imr", "--value", "x"], 4, "sigma is 0"),
        ("x\n1\n2\n", ["--chart", "imr", "--value", "y"], 4, "there is no value column 'y'"),
        (
            "s,x\n1,1\n1,2\n2,3\n",
            ["--chart", "xbar_r", "--value", "x", "--subgroup", "s"],
            4,
            "Use imr()",
        ),
        ("d,n\n1,10\n12,10\n3,10\n", ["--chart", "p", "--value", "d", "--size", "n"], 4, "Row 3"),
        (
            "d,n\n1,10\n2,0\n3,10\n",
            ["--chart", "p", "--value", "d", "--size", "n"],
            4,
            "sample sizes > 0",
        ),
        ("d,n\n1,10\n2,-5\n3,10\n", ["--chart", "p", "--value", "d", "--size", "n"], 4, "Row 3"),
        ("d,n\n1,10\n2,10\n", ["--chart", "p", "--value", "d"], 2, "needs --size"),
        (
            "x\n1\n2\n3\n",
            ["--chart", "imr", "--value", "x", "--lambda", "0.2"],
            2,
            "--lambda applies",
        ),
        ("x\n1\n2\n3\n", ["--chart", "imr", "--value", "x", "--rules", "nelson"], 2, ""),
        ("x\n1\n2\n3\n", ["--chart", "imr", "--value", "x", "--phase1-rows", "9"], 2, "phase1"),
        (
            "x\n1\n2\n3\n",
            ["--chart", "imr", "--value", "x", "--tests", "1,x"],
            2,
            "comma-separated",
        ),
        ("x\n1\n2\n3\n", ["--chart", "ewma", "--value", "x", "--lambda", "1.5"], 2, "(0, 1]"),
        ("a,b\n1,2,3\n", ["--chart", "imr", "--value", "a"], 4, "well-formed"),
    ],
)
def test_bad_input(tmp_path: Path, content: str, args: list[str], code: int, needle: str) -> None:
    path = write(tmp_path, content)
    r = run(path, *args)
    assert r.returncode == code, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    assert needle in r.stderr
    assert r.stdout == ""


def test_every_bad_row_is_reported_and_json_lists_them(tmp_path: Path) -> None:
    path = write(tmp_path, "x\n1\nabc\n3\n\n5\n1e\n")
    r = run(path, "--chart", "imr", "--value", "x", "--json")
    assert r.returncode == 4
    body = json.loads(r.stdout)
    problems = body["error"]["problems"]
    assert [(p["row"], p["code"]) for p in problems] == [
        (3, "not_a_number"),
        (5, "blank"),
        (7, "not_a_number"),
    ]
    assert all(p["column"] == "x" for p in problems)
    assert "Row 3" in r.stderr and "Row 5" in r.stderr and "Row 7" in r.stderr


def test_skip_blank(tmp_path: Path) -> None:
    path = write(tmp_path, "x\n1\n\n3\n2.5\n4\n")
    r = run(path, "--chart", "imr", "--value", "x", "--skip-blank", "--json")
    assert r.returncode == 0, r.stderr
    assert len(json.loads(r.stdout)["panels"]["i"]["statistic"]) == 4
    assert "skipped 1 row" in r.stderr


def test_missing_file_sheet_and_type(tmp_path: Path) -> None:
    r = run(tmp_path / "none.csv", "--chart", "imr", "--value", "x")
    assert r.returncode == 3 and "no such file" in r.stderr
    odd = write(tmp_path, "x\n1\n", "d.json")
    r = run(odd, "--chart", "imr", "--value", "x")
    assert r.returncode == 3 and "unsupported file type" in r.stderr
    wb = openpyxl.Workbook()
    wb.save(tmp_path / "w.xlsx")
    r = run(tmp_path / "w.xlsx", "--sheet", "nope", "--chart", "imr", "--value", "x")
    assert r.returncode == 3 and "no sheet 'nope'" in r.stderr


def test_unwritable_report(piston_csv: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = run(piston_csv, "--chart", "imr", "--value", "diameter", "--out", blocker / "r.html")
    assert r.returncode == 5, r.stderr
    assert "Traceback" not in r.stderr


def test_version_and_help() -> None:
    r = cli("--version")
    assert r.returncode == 0 and r.stdout.startswith("zhuoyue ")
    r = cli("spc", "--help")
    assert r.returncode == 0 and "--phase1-rows" in r.stdout


def test_demo_command(tmp_path: Path) -> None:
    r = cli("demo", "--out", tmp_path / "demo", "--no-serve")
    assert r.returncode == 0, r.stderr
    report = Path(r.stdout.strip())
    assert report == (tmp_path / "demo" / "report.html").resolve()
    text = report.read_text(encoding="utf-8")
    assert "Xbar-R" in text and "<svg" in text
    assert sorted(p.name for p in (tmp_path / "demo" / "data").iterdir()) == [
        "bore_runout.csv",
        "final_inspection.csv",
        "paint_defects.csv",
        "shaft_diameter.csv",
    ]
    blocker = tmp_path / "f"
    blocker.write_text("x")
    r = cli("demo", "--out", blocker / "demo", "--no-serve")
    assert r.returncode == 5, r.stderr
    assert "Traceback" not in r.stderr
