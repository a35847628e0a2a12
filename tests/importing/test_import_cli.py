"""``zhuoyue import`` and ``zhuoyue db`` through Typer's CliRunner: exit codes, JSON, messages.

The commands are mounted on a Typer app of this test (the root app registers them the same way:
``app.command(name="import")(import_)`` and ``app.add_typer(db_app, name="db")``).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import typer
from importing_helpers import plant_rows, table_snapshot, write_folder
from sqlalchemy import Engine
from typer.testing import CliRunner

from zhuoyue.cli.db import db_app
from zhuoyue.cli.importing import import_
from zhuoyue.store import migrate

app = typer.Typer()


@app.callback()
def _root() -> None:
    """Test root."""


app.command(name="import")(import_)
app.add_typer(db_app, name="db")

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_import_json_and_exit_codes(migrated_url: str, engine: Engine, tmp_path: Path) -> None:
    rows = plant_rows()
    folder = write_folder(tmp_path / "p", rows)
    code, out, err = run("import", str(folder), "--org", "acme", "--db", migrated_url)
    assert code == 2 and "--create-org" in err and out == ""
    code, out, err = run(
        "import", str(folder), "--org", "acme", "--db", migrated_url, "--create-org", "--json"
    )
    assert code == 0, err
    body = json.loads(out)
    assert body["org_created"] and body["totals"] == {"inserted": 37, "identical": 0, "updated": 0}
    assert body["tables"]["measurements"]["inserted"] == 20
    code, out, _ = run("import", str(folder), "--org", "acme", "--db", migrated_url)
    assert code == 0 and "identical" in out and "total" in out  # the summary table

    before = table_snapshot(engine)
    changed = copy.deepcopy(rows)
    changed["inspections"][0][5] = 150
    bad = write_folder(tmp_path / "changed", changed)
    code, out, err = run("import", str(bad), "--org", "acme", "--db", migrated_url, "--json")
    assert code == 4
    problems = json.loads(out)["error"]["problems"]
    assert [(p["sheet"], p["row"], p["column"], p["value"]) for p in problems] == [
        ("inspections", 2, "passed_first", 150)
    ]
    assert "the database has 196" in err and "Traceback" not in err
    assert table_snapshot(engine) == before

    code, out, err = run("import", str(bad), "--org", "acme", "--db", migrated_url, "--dry-run")
    assert code == 4
    code, _, err = run("import", str(tmp_path / "nope"), "--org", "acme", "--db", migrated_url)
    assert code == 3 and "no such file" in err
    code, _, err = run("import", str(folder), "--org", "Not Valid", "--db", migrated_url)
    assert code == 2
    assert table_snapshot(engine) == before


def test_import_dry_run(migrated_url: str, engine: Engine, tmp_path: Path) -> None:
    before = table_snapshot(engine)
    folder = write_folder(tmp_path / "p", plant_rows())
    code, out, err = run(
        "import", str(folder), "--org", "acme", "--db", migrated_url, "--create-org", "--dry-run"
    )
    assert code == 0, err
    assert "dry run" in out
    assert table_snapshot(engine) == before


def test_import_needs_a_migrated_database(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "p", plant_rows())
    url = f"sqlite:///{tmp_path / 'new.db'}"
    code, _, err = run("import", str(folder), "--org", "acme", "--db", url)
    assert code == 3 and "zhuoyue db upgrade" in err
    assert not (tmp_path / "new.db").exists()
    code, _, err = run("import", str(folder), "--org", "acme", "--db", "nosuchdriver://x")
    assert code == 2 and "not a database URL" in err


def test_db_upgrade_current_downgrade(db_url: str) -> None:
    head = migrate.head()
    code, out, err = run("db", "upgrade", "--db", db_url, "--json")
    assert code == 0, err
    assert json.loads(out)["to"] == head and json.loads(out)["from"] is None
    code, out, _ = run("db", "current", "--db", db_url, "--json")
    body = json.loads(out)
    assert code == 0 and body["revision"] == head and body["up_to_date"] is True
    assert (
        "@" not in body["database"] or "***" in body["database"] or "postgres@" in body["database"]
    )
    code, out, _ = run("db", "current", "--db", db_url)
    assert code == 0 and "up to date" in out
    code, _, err = run("db", "upgrade", "--db", db_url)
    assert code == 0 and "already at revision" in err
    code, _, err = run("db", "downgrade", "--revision", "base", "--db", db_url)
    assert code == 2 and "--yes" in err
    assert migrate.current(db_url) == head
    code, _, err = run("db", "downgrade", "--revision", "base", "--db", db_url, "--yes")
    assert code == 0, err
    assert migrate.current(db_url) is None
    code, out, _ = run("db", "current", "--db", db_url, "--json")
    assert code == 0 and json.loads(out)["revision"] is None


@pytest.mark.parametrize("command", ["current", "upgrade"])
def test_db_bad_urls(command: str, tmp_path: Path) -> None:
    code, _, err = run("db", command, "--db", "nosuchdriver://x")
    assert code == 2 and "not a database URL" in err
    if command == "current":
        code, _, err = run("db", command, "--db", f"sqlite:///{tmp_path / 'none.db'}")
        assert code == 3 and "no database" in err


def test_urls_are_shown_without_password() -> None:
    from zhuoyue.cli.db import shown_url

    shown = shown_url("postgresql+psycopg://quality:s3cret@db.local:5432/zhuoyue")
    assert "s3cret" not in shown and "quality" in shown and "db.local" in shown
