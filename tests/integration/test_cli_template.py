"""``zhuoyue template`` end to end: the workbook written, stdout/stderr and exit codes.

The command is registered here on a local Typer app (``app.command(name="template")(template)``,
as the root app does) and run with Typer's CliRunner, which keeps stdout and stderr apart.
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
import typer
from typer.testing import CliRunner, Result

from zhuoyue.cli.workbook import template
from zhuoyue.excellence import default_model, load_model
from zhuoyue.ingest.workbook import CANONICAL_TABLES, read_assessment_data

ALT_MODEL = Path(__file__).resolve().parents[1] / "data" / "alt_model.toml"

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
app.command(name="template")(template)


@app.callback()
def _root() -> None:
    """A group, so that the command is invoked as ``template`` like under ``zhuoyue``."""


runner = CliRunner()


def run(*args: str) -> Result:
    return runner.invoke(app, ["template", *args])


def items(path: Path) -> list[str]:
    ws = openpyxl.load_workbook(path)["self_assessment"]
    return [str(ws.cell(row=r, column=1).value) for r in range(2, ws.max_row + 1)]


def test_writes_the_workbook_and_prints_its_path(tmp_path: Path) -> None:
    out = tmp_path / "自评估.xlsx"
    r = run(str(out))
    assert r.exit_code == 0, r.stderr
    assert r.stdout.strip() == str(out)
    assert "template:" in r.stderr
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["说明", "enterprise", *CANONICAL_TABLES]
    assert items(out) == [i.id for i in default_model().questionnaire]
    assert read_assessment_data(out).rows == {"self_assessment": len(items(out))}


def test_english_and_another_model(tmp_path: Path) -> None:
    out = tmp_path / "en.xlsx"
    r = run(str(out), "--lang", "en", "--model", str(ALT_MODEL))
    assert r.exit_code == 0, r.stderr
    assert openpyxl.load_workbook(out).sheetnames[0] == "Instructions"
    assert items(out) == [i.id for i in load_model(ALT_MODEL).questionnaire]


def test_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    out = tmp_path / "t.xlsx"
    out.write_bytes(b"keep me")
    r = run(str(out))
    assert r.exit_code == 5
    assert "exists" in r.stderr and "--force" in r.stderr
    assert r.stdout == ""
    assert out.read_bytes() == b"keep me"
    r = run(str(out), "--force")
    assert r.exit_code == 0, r.stderr
    assert "self_assessment" in openpyxl.load_workbook(out).sheetnames


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    r = run(str(tmp_path / "t.xlsx"), "--lang", "fr")
    assert r.exit_code == 2
    assert "--lang must be zh or en" in r.stderr
    r = run(str(tmp_path / "t.csv"))
    assert r.exit_code == 2
    assert ".xlsx" in r.stderr
    assert not list(tmp_path.iterdir())
    r = run()
    assert r.exit_code == 2  # OUT is required


def test_model_errors_and_unwritable_output(tmp_path: Path) -> None:
    r = run(str(tmp_path / "t.xlsx"), "--model", str(tmp_path / "none.toml"))
    assert r.exit_code == 3, r.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text('schema = 1\nid = "x"\n', encoding="utf-8")
    r = run(str(tmp_path / "t.xlsx"), "--model", str(bad))
    assert r.exit_code == 4, r.stderr
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = run(str(blocker / "t.xlsx"))
    assert r.exit_code == 5, r.stderr
    assert "Traceback" not in r.stderr
