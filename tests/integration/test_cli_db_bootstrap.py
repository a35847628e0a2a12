"""``zhuoyue db bootstrap``: the first organization and admin of a new database."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from zhuoyue.cli.main import app
from zhuoyue.services.accounts import authenticate
from zhuoyue.store import make_engine, transaction
from zhuoyue.store.models import AuditLog, Membership, Organization

runner = CliRunner()


def test_bootstrap_creates_org_and_admin_who_can_log_in(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'z.db'}"
    assert runner.invoke(app, ["db", "upgrade", "--db", url]).exit_code == 0
    res = runner.invoke(
        app,
        ["db", "bootstrap", "--org", "acme-auto", "--name", "卓越汽车", "--db", url, "--json"],
        input="s3cret-pass\n",
    )
    assert res.exit_code == 0, res.output
    body = json.loads(res.stdout)
    assert body["org"]["code"] == "acme-auto" and body["user"]["username"] == "admin"
    engine = make_engine(url)
    with transaction(engine) as s:
        org = s.scalar(select(Organization))
        assert org is not None and org.name == "卓越汽车"
        roles = [m.role for m in s.scalars(select(Membership))]
        assert roles == ["admin"]
        assert s.scalar(select(AuditLog)) is not None
        assert authenticate(s, "admin", "s3cret-pass") is not None
    engine.dispose()


def test_bootstrap_refusals_change_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'z.db'}"
    base = ["db", "bootstrap", "--org", "acme", "--name", "A", "--db", url]
    # not migrated yet: exit 3 and no file created
    assert runner.invoke(app, base, input="long-enough-pw\n").exit_code == 3
    assert not (tmp_path / "z.db").exists()
    assert runner.invoke(app, ["db", "upgrade", "--db", url]).exit_code == 0
    assert runner.invoke(app, base, input="\n").exit_code == 2  # empty password
    assert (
        runner.invoke(app, [*base, "--credit-code", "123"], input="long-enough-pw\n").exit_code == 4
    )
    assert runner.invoke(app, base, input="long-enough-pw\n").exit_code == 0
    assert runner.invoke(app, base, input="long-enough-pw\n").exit_code == 4  # code taken
    engine = make_engine(url)
    with transaction(engine) as s:
        assert len(s.scalars(select(Organization)).all()) == 1
    engine.dispose()
