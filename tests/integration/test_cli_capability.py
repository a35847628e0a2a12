"""``zhuoyue capability`` end to end, in a subprocess: stdout/stderr separation and exit codes.

The subprocess runs the real root app of ``zhuoyue.cli.main``; when ``capability`` is not
registered there yet, the runner registers it on that app first (the line the lead adds to
``cli/main.py``), so these tests run unchanged before and after the registration.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import polars as pl
import pytest

from zhuoyue.stats.capability import capability

REF = Path(__file__).resolve().parents[3] / "shared" / "reference" / "spc"
RUNNER = (
    "from zhuoyue.cli import main as m\n"
    "if not any(c.name == 'capability' for c in m.app.registered_commands):\n"
    "    from zhuoyue.cli.capability import capability\n"
    "    m.app.command(name='capability')(capability)\n"
    "m.main()\n"
)


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", RUNNER, "capability", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def piston_csv() -> Path:
    path = REF / "capability_pistonrings" / "data.csv"
    if not path.exists():
        pytest.skip("shared reference data not present")
    return path


def piston_arrays(path: Path) -> tuple[np.ndarray, np.ndarray]:
    df = pl.read_csv(path)
    return df["diameter"].to_numpy(), df["sample"].cast(pl.String).to_numpy()


def as_json(d: dict[str, Any]) -> Any:
    return json.loads(json.dumps(d))


def test_json_contract_matches_python_api(piston_csv: Path) -> None:
    r = run(piston_csv, "--value", "diameter", "--subgroup", "sample",
            "--lsl", "73.95", "--usl", "74.05", "--json")  # fmt: skip
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert list(out)[:8] == ["n", "mean", "sigma_within", "sigma_overall", "sigma_method",
                             "lsl", "usl", "target"]  # fmt: skip
    x, s = piston_arrays(piston_csv)
    assert out == as_json(capability(x, s, 73.95, 74.05).to_dict())
    assert out["sigma_method"] == "pooled/c4" and out["n"] == 125
    assert out["intervals"]["cpk"] == pytest.approx([1.4104941751778919, 1.8814580796630704])
    assert r.stderr == ""  # in control, normal, 125 values: nothing to warn about


def test_options_reach_the_statistics(piston_csv: Path) -> None:
    """qcc conventions from the command line reproduce qcc 2.7 (reference case)."""
    r = run(piston_csv, "--value", "diameter", "--subgroup-size", "5", "--lsl", "73.95",
            "--usl", "74.05", "--target", "74.02", "--sigma-method", "rbar", "--constants",
            "table", "--cpm-method", "qcc", "--ci-method", "qcc", "--confidence", "0.95",
            "--overall-method", "sd_c4", "--json")  # fmt: skip
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["sigma_within"] == pytest.approx(0.009785038693035299, rel=1e-12)
    assert out["cpm"] == pytest.approx(0.7855956821391963, rel=1e-9)
    assert out["intervals"]["cpm"] == pytest.approx([0.655592093820643, 0.9153591856522052])
    assert out["sigma_overall"] == pytest.approx(0.010090290740737213, rel=1e-12)
    assert (out["ci_method"], out["cpm_method"], out["overall_method"]) == ("qcc", "qcc", "sd/c4")
    r90 = run(piston_csv, "--value", "diameter", "--lsl", "73.95", "--confidence", "0.9",
              "--sigma-method", "mr_median", "--json")  # fmt: skip
    assert r90.returncode == 0, r90.stderr
    out90 = json.loads(r90.stdout)
    assert out90["confidence"] == 0.9 and out90["sigma_method"] == "median mr/0.954"
    assert out90["cp"] is None and out90["usl"] is None and out90["subgroup_size"] == 1


def test_human_output_and_warnings_on_stderr(tmp_path: Path) -> None:
    """The summary goes to stdout, warnings to stderr (an out-of-control, short series)."""
    src = REF / "xbar_r_pistonrings" / "data.csv"
    if not src.exists():
        pytest.skip("shared reference data not present")
    r = run(src, "--value", "diameter", "--subgroup", "sample", "--lsl", "73.95", "--usl",
            "74.05")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "Process capability (normal) of 200 values in 40 subgroups of 5" in r.stdout
    assert "Cpk" in r.stdout and "Z.Bench" in r.stdout and "NOT in control" in r.stdout
    assert "warning: the process is not in control" in r.stderr
    assert "fire on the Xbar chart" in r.stderr
    assert "warning" not in r.stdout


def test_excel_sheet_and_labels(piston_csv: Path, tmp_path: Path) -> None:
    x, s = piston_arrays(piston_csv)
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "测量"
    ws.append(["样本 (sample)", "直径 (diameter)"])
    for si, xi in zip(s.tolist(), x.tolist(), strict=True):
        ws.append([si, xi])
    path = tmp_path / "数据.xlsx"
    wb.save(path)
    r = run(path, "--sheet", "测量", "--value", "直径", "--subgroup", "sample", "--usl", "74.01",
            "--json")  # fmt: skip
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["cpk"] == pytest.approx(0.2974785627635242, rel=1e-9)
    assert out["ppm_observed"]["above_usl"] == pytest.approx(160000.0)


def write(tmp_path: Path, text: str, name: str = "d.csv") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


GOOD = "x\n" + "\n".join(f"{v:.4f}" for v in np.random.default_rng(1).normal(10, 1, 30)) + "\n"


@pytest.mark.parametrize(
    ("content", "args", "code", "needle"),
    [
        (GOOD, ["--value", "x"], 2, "needs a specification limit"),
        (GOOD, ["--value", "x", "--lsl", "12", "--usl", "8"], 2, "lsl < usl"),
        (GOOD, ["--value", "x", "--lsl", "8", "--sigma-method", "pooled"], 2, "does not apply"),
        (GOOD, ["--value", "x", "--lsl", "8", "--confidence", "1.5"], 2, "(0, 1)"),
        (GOOD, ["--value", "x", "--lsl", "8", "--method", "cauchy"], 2, ""),
        (GOOD, ["--value", "x", "--lsl", "8", "--lang", "fr"], 2, "--lang"),
        (
            GOOD,
            ["--value", "x", "--lsl", "8", "--subgroup", "x", "--subgroup-size", "5"],
            2,
            "both",
        ),
        (GOOD, ["--value", "x", "--lsl", "8", "--subgroup-size", "0"], 2, ">= 1"),
        (GOOD, ["--value", "y", "--lsl", "8"], 4, "there is no value column 'y'"),
        ("x\n1\nabc\n3\n", ["--value", "x", "--lsl", "0"], 4, 'Row 3, column "x": "abc"'),
        ("x\n1\n\n3\n", ["--value", "x", "--lsl", "0"], 4, "Row 3"),
        ("x\n1\ninf\n3\n", ["--value", "x", "--lsl", "0"], 4, "Row 3"),
        ("x\n5\n5\n5\n5\n", ["--value", "x", "--lsl", "0"], 4, "σ is 0"),
        ("x\n5\n", ["--value", "x", "--lsl", "0"], 4, "at least 2 values"),
        ("s,x\n1,1\n1,2\n2,3\n", ["--value", "x", "--subgroup", "s", "--lsl", "0"], 4, "index 1"),
        ("", ["--value", "x", "--lsl", "0"], 4, "empty"),
    ],
)
def test_bad_input(tmp_path: Path, content: str, args: list[str], code: int, needle: str) -> None:
    r = run(write(tmp_path, content), *args)
    assert r.returncode == code, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    assert needle in r.stderr
    assert r.stdout == ""


def test_json_error_body_and_skip_blank(tmp_path: Path) -> None:
    path = write(tmp_path, "x\n1\nabc\n3\n\n5\n")
    r = run(path, "--value", "x", "--lsl", "0", "--json")
    assert r.returncode == 4
    problems = json.loads(r.stdout)["error"]["problems"]
    assert [(p["row"], p["code"]) for p in problems] == [(3, "not_a_number"), (5, "blank")]
    path = write(tmp_path, "x\n1\n\n3\n2.5\n4\n")
    r = run(path, "--value", "x", "--lsl", "0", "--skip-blank", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["n"] == 4
    assert "skipped 1 row" in r.stderr and "only 4 values" in r.stderr


def test_missing_file_and_type(tmp_path: Path) -> None:
    r = run(tmp_path / "none.csv", "--value", "x", "--lsl", "0")
    assert r.returncode == 3 and "no such file" in r.stderr
    r = run(write(tmp_path, "x\n1\n", "d.json"), "--value", "x", "--lsl", "0")
    assert r.returncode == 3 and "unsupported file type" in r.stderr
    r = run(tmp_path / "none.csv", "--value", "x")  # a usage error comes before the file
    assert r.returncode == 2


def test_out_writes_report(piston_csv: Path, tmp_path: Path) -> None:
    report = tmp_path / "r.html"
    r = run(piston_csv, "--value", "diameter", "--subgroup", "sample", "--lsl", "73.95",
            "--usl", "74.05", "--out", report, "--lang", "en")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "report written" in r.stderr and report.exists()


def test_nonnormal_method(piston_csv: Path) -> None:
    r = run(piston_csv, "--value", "diameter", "--lsl", "73.9", "--usl", "74.1", "--method",
            "auto", "--json")  # fmt: skip
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["method"] == "auto" and out["nonnormal"] is not None


def test_help() -> None:
    r = run("--help")
    assert r.returncode == 0
    for flag in ("--lsl", "--usl", "--target", "--subgroup-size", "--sigma-method", "--method",
                 "--confidence", "--skip-blank", "--json", "--out", "--lang"):  # fmt: skip
        assert flag in r.stdout
