"""Alembic environment of zhuoyue, driven from code by :mod:`zhuoyue.store.migrate`.

The URL comes from the config's ``sqlalchemy.url``, or a ready connection from
``config.attributes["connection"]``. SQLite runs in batch mode (ALTER TABLE by table copy) and
with transactional DDL: a failed migration leaves the database as it was, as on PostgreSQL.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from zhuoyue.store.engine import make_engine
from zhuoyue.store.models import Base

target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=sqlite,
        transactional_ddl=True,
        compare_type=True,
    )


def run_offline() -> None:
    url = context.config.get_main_option("sqlalchemy.url") or ""
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    config = context.config
    connection: Connection | None = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    try:
        with engine.connect() as conn:
            _configure(conn)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


# Alembic runs this file with its context set up; imported alone (doctest collection), it does
# nothing
if hasattr(context, "config"):
    if context.is_offline_mode():
        run_offline()
    else:
        run_online()
