"""Alembic migrations up and down on SQLite and PostgreSQL, and the engine set-up."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from zhuoyue.settings import get_settings
from zhuoyue.store import migrate
from zhuoyue.store.engine import database_url, is_sqlite, make_engine, transaction
from zhuoyue.store.models import Base, Organization


def _tables(url: str) -> set[str]:
    eng = make_engine(url)
    try:
        return set(sa.inspect(eng).get_table_names())
    finally:
        eng.dispose()


def test_upgrade_matches_models_and_downgrade_drops_all(db_url: str) -> None:
    assert migrate.current(db_url) is None
    migrate.upgrade(db_url)
    assert migrate.current(db_url) == migrate.head() == "0002"
    assert _tables(db_url) == set(Base.metadata.tables) | {"alembic_version"}

    eng = make_engine(db_url)
    try:
        with eng.connect() as conn:
            ctx = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": True}
            )
            diff = compare_metadata(ctx, Base.metadata)
    finally:
        eng.dispose()
    assert diff == []

    migrate.downgrade(db_url, "base")
    assert migrate.current(db_url) is None
    assert _tables(db_url) <= {"alembic_version"}
    migrate.upgrade(db_url)  # and up again
    assert migrate.current(db_url) == "0002"


MONITORING_TABLES = {"alarm", "dead_letter", "monitor_state", "notification_channel"}


def test_0002_adds_the_monitoring_tables_to_a_database_with_data(db_url: str) -> None:
    migrate.upgrade(db_url, "0001")
    assert not (_tables(db_url) & MONITORING_TABLES)
    eng = make_engine(db_url)
    try:
        with transaction(eng) as s:
            s.add(Organization(code="kept", name="Kept Ltd"))
        migrate.upgrade(db_url)
        assert _tables(db_url) >= MONITORING_TABLES
        migrate.downgrade(db_url, "0001")
        assert not (_tables(db_url) & MONITORING_TABLES)
        with transaction(eng) as s:  # the data of 0001 is untouched both ways
            name = s.scalar(sa.select(Organization.name).where(Organization.code == "kept"))
        assert name == "Kept Ltd"
    finally:
        eng.dispose()


def test_database_url_resolution(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ZHUOYUE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("ZHUOYUE_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    try:
        assert database_url() == f"sqlite:///{tmp_path / 'zhuoyue.db'}"
        monkeypatch.setenv("ZHUOYUE_DATABASE_URL", "postgresql://u:p@db:5432/q")
        get_settings.cache_clear()
        assert database_url() == "postgresql+psycopg://u:p@db:5432/q"
        assert database_url("postgres://h/q") == "postgresql+psycopg://h/q"
        assert database_url("sqlite:///x.db") == "sqlite:///x.db"
    finally:
        get_settings.cache_clear()
    assert is_sqlite("sqlite:///x.db") and not is_sqlite("postgresql+psycopg://h/q")


def test_sqlite_connections(tmp_path: Path) -> None:
    eng = make_engine(f"sqlite:///{tmp_path / 'sub' / 'z.db'}")  # creates the folder
    try:
        with eng.connect() as conn:
            pragma = {
                p: conn.exec_driver_sql(f"PRAGMA {p}").scalar()
                for p in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
            }
        assert pragma == {
            "journal_mode": "wal",
            "foreign_keys": 1,
            "busy_timeout": 30_000,
            "synchronous": 1,  # NORMAL
        }
    finally:
        eng.dispose()


def test_transaction_commits_or_rolls_back(engine: sa.Engine) -> None:
    with transaction(engine) as s:
        s.add(Organization(code="a", name="A"))

    def fail_after_flush() -> None:
        with transaction(engine) as s:
            s.add(Organization(code="b", name="B"))
            s.flush()
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fail_after_flush()
    with transaction(engine) as s:
        assert s.scalars(sa.select(Organization.code)).all() == ["a"]


def test_offline_sql_script(capsys: pytest.CaptureFixture[str]) -> None:
    from alembic import command

    command.upgrade(migrate.alembic_config("postgresql://u@db/q"), "head", sql=True)
    script = capsys.readouterr().out
    assert "CREATE TABLE measurement" in script
    assert "CREATE UNIQUE INDEX uq_control_limits_active" in script and "WHERE active" in script
