"""Database URL, engine, sessions and transactions.

The database is a SQLite file by default (embedded, zero setup) and PostgreSQL for a plant or a
group. :func:`database_url` resolves which one: the ``url`` argument, else the environment
variable ``ZHUOYUE_DATABASE_URL`` (through :func:`zhuoyue.settings.get_settings`), else the SQLite
file ``<data_dir>/zhuoyue.db`` of the settings (``$XDG_DATA_HOME/zhuoyue/zhuoyue.db``, or
``$ZHUOYUE_DATA_DIR/zhuoyue.db``).

SQLite connections are set up for a small server: write-ahead log (readers do not block the
writer), foreign keys enforced, a busy timeout instead of immediate "database is locked"
errors, ``synchronous=NORMAL`` (durable at checkpoints; safe with WAL).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

__all__ = [
    "BUSY_TIMEOUT_MS",
    "READ_ONLY",
    "database_url",
    "is_sqlite",
    "make_engine",
    "session_factory",
    "transaction",
]

#: how long a SQLite connection waits for a lock before "database is locked"
BUSY_TIMEOUT_MS = 30_000
#: execution option of a transaction that only reads (SQLite: a deferred BEGIN, no write lock)
READ_ONLY = "zhuoyue_read_only"


def database_url(url: str | URL | None = None) -> str:
    """The database URL: ``url``, else ``ZHUOYUE_DATABASE_URL``, else the embedded SQLite file.

    ``postgresql://`` and ``postgres://`` URLs are normalised to the psycopg 3 driver
    (``postgresql+psycopg://``).
    """
    if url is None or str(url) == "":
        try:
            from zhuoyue.settings import get_settings
        except ImportError:  # pydantic-settings not installed (no "cli" extra)
            from_env = os.environ.get("ZHUOYUE_DATABASE_URL", "")
            data_dir = os.environ.get("ZHUOYUE_DATA_DIR") or str(
                Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
                / "zhuoyue"
            )
            resolved = from_env or f"sqlite:///{Path(data_dir) / 'zhuoyue.db'}"
        else:
            resolved = get_settings().resolved_database_url
    else:
        resolved = url.render_as_string(hide_password=False) if isinstance(url, URL) else url
    return _normalise(resolved)


def _normalise(url: str) -> str:
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def is_sqlite(bind: Engine | str | URL) -> bool:
    """True when ``bind`` (an engine or a URL) is a SQLite database."""
    if isinstance(bind, Engine):
        return bind.dialect.name == "sqlite"
    return make_url(str(bind) if isinstance(bind, URL) else bind).get_backend_name() == "sqlite"


def _sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    # Python's sqlite3 opens implicit transactions itself; let SQLAlchemy emit BEGIN instead, so
    # that the pragmas below run outside a transaction and SAVEPOINTs work.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    try:
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA synchronous=NORMAL")
    finally:
        cur.close()


def _sqlite_on_begin(conn: Any) -> None:
    # IMMEDIATE: a transaction takes the write lock when it begins, waiting (busy_timeout) for
    # another writer to finish. With a deferred BEGIN, a transaction that reads and then writes
    # (a login, a sliding session, a freeze) fails at once with "database is locked" whenever
    # another connection (the online monitor, committing many times a second) wrote in between:
    # SQLite cannot upgrade a stale read snapshot, and does not wait in that case.
    # A transaction that only reads may say so (execution option READ_ONLY): it begins deferred
    # and reads its WAL snapshot without waiting for, or holding up, the writers.
    if conn.get_execution_options().get(READ_ONLY):
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str | URL | None = None, **kwargs: Any) -> Engine:
    """An engine for ``database_url(url)``; extra ``kwargs`` go to :func:`sqlalchemy.create_engine`.

    A SQLite file's folder is created when missing.
    """
    resolved = make_url(database_url(url))
    if resolved.get_backend_name() == "sqlite":
        db = resolved.database
        if db and db != ":memory:" and not db.startswith("file:"):
            Path(db).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(resolved, **kwargs)
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    return create_engine(resolved, **kwargs)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory bound to ``engine`` (objects stay usable after commit)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(bind: Engine | sessionmaker[Session]) -> Iterator[Session]:
    """A session in one transaction: committed on success, rolled back on any exception.

    ``bind`` is an engine or a session factory::

        with transaction(engine) as session:
            session.add(obj)
    """
    factory = session_factory(bind) if isinstance(bind, Engine) else bind
    with factory.begin() as session:
        yield session
