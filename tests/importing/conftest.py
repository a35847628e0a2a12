"""Fixtures of the import tests: an engine on a migrated database (SQLite and PostgreSQL) and a
snapshot of every table (row counts and a checksum of the rows), to prove that a rejected import
changes nothing. Data builders are in ``importing_helpers``."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from importing_helpers import table_snapshot
from sqlalchemy import Engine

from zhuoyue.store.engine import make_engine


@pytest.fixture
def engine(migrated_url: str) -> Iterator[Engine]:
    """An engine on an empty database migrated to head (SQLite and PostgreSQL)."""
    eng = make_engine(migrated_url)
    try:
        yield eng
    finally:
        eng.dispose()


@pytest.fixture
def snapshot() -> Callable[[Engine], dict[str, tuple[int, str]]]:
    return table_snapshot
