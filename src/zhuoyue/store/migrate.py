"""Schema migrations (Alembic) from code: no ``alembic.ini`` needed at run time.

``upgrade()`` brings the database of :func:`zhuoyue.store.engine.database_url` to the newest
schema (``zhuoyue db upgrade``); ``alembic_config(url)`` serves every other Alembic command, e.g.
a new revision during development::

    from alembic import command
    command.revision(alembic_config("sqlite:///dev.db"), "add x", autogenerate=True)

Write the new file in ``migrations/versions/`` as ``NNNN_name.py`` with ``revision = "NNNN"``;
``tests/store/test_store_migrations.py`` then checks it against the models on both backends.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL

from zhuoyue.store.engine import database_url, make_engine

__all__ = ["MIGRATIONS_DIR", "alembic_config", "current", "downgrade", "head", "upgrade"]

#: the Alembic script folder shipped inside the package
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | URL | None = None) -> Config:
    """An Alembic config for ``database_url(url)`` with the package's script folder.

    Usable with every ``alembic.command`` (e.g. ``command.revision(cfg, autogenerate=True)``).
    """
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation: a literal "%" (URL-escaped passwords) must be doubled
    cfg.set_main_option("sqlalchemy.url", database_url(url).replace("%", "%%"))
    return cfg


def _run(url: str | URL | None, revision: str, *, up: bool) -> None:
    cfg = alembic_config(url)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            cfg.attributes["connection"] = conn
            if up:
                command.upgrade(cfg, revision)
            else:
                command.downgrade(cfg, revision)
            conn.commit()
    finally:
        engine.dispose()


def upgrade(url: str | URL | None = None, revision: str = "head") -> None:
    """Migrate the database of ``database_url(url)`` up to ``revision`` (default: the newest)."""
    _run(url, revision, up=True)


def downgrade(url: str | URL | None, revision: str) -> None:
    """Migrate down to ``revision`` (``"base"`` drops every table of zhuoyue)."""
    _run(url, revision, up=False)


def current(url: str | URL | None = None) -> str | None:
    """The revision the database is at, or None for an empty (unmigrated) database."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def head() -> str:
    """The newest revision shipped with this version of zhuoyue."""
    rev = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    if rev is None:  # pragma: no cover - the package always ships a migration
        raise RuntimeError(f"no migration found in {MIGRATIONS_DIR}")
    return rev
