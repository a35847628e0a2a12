"""zhuoyue's database: SQLite by default, PostgreSQL for a plant or a group.

* :mod:`~zhuoyue.store.engine` — :func:`database_url`, :func:`make_engine`,
  :func:`session_factory`, :func:`transaction`
* :mod:`~zhuoyue.store.models` — the tables (SQLAlchemy 2 declarative)
* :mod:`~zhuoyue.store.migrate` — Alembic migrations from code: :func:`upgrade`,
  :func:`downgrade`, :func:`current`
* :mod:`~zhuoyue.store.bulk` — measurements in and out of NumPy: ``insert_measurements``,
  ``merge_measurements`` (idempotent import), ``read_series``
* :mod:`~zhuoyue.store.keys` — ``row_key`` of imported rows
* :mod:`~zhuoyue.store.validation` — 统一社会信用代码 and the other identifiers
"""

from __future__ import annotations

from zhuoyue.store.engine import database_url, make_engine, session_factory, transaction
from zhuoyue.store.migrate import current, downgrade, upgrade

__all__ = [
    "current",
    "database_url",
    "downgrade",
    "make_engine",
    "session_factory",
    "transaction",
    "upgrade",
]
