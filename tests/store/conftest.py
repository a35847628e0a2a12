"""Fixtures of the store tests: databases on SQLite and on a throwaway PostgreSQL server.

The database fixtures live in ``tests/fixtures_db.py``, registered for every test folder by
``pytest_plugins`` in ``tests/conftest.py`` (``db_url`` and ``migrated_url`` run each test on both
backends).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from zhuoyue.store.engine import make_engine


@pytest.fixture
def engine(migrated_url: str) -> Iterator[Engine]:
    """An engine on a fresh database migrated to head (SQLite and PostgreSQL)."""
    eng = make_engine(migrated_url)
    try:
        yield eng
    finally:
        eng.dispose()
