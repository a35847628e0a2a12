"""Fixtures of the service tests: the demo factory in a database (SQLite and PostgreSQL), built
once per backend, and a session whose changes are rolled back after each test.

``demo`` holds the database and, for the independent path of the tests, the generated tables of
both plants (the same seed and scale): a test computes ``zhuoyue.stats`` on the tables and
compares with what the services compute from the database.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from services_helpers import SCALE, SEED, Demo
from sqlalchemy import select
from sqlalchemy.orm import Session

from zhuoyue.demo.factory import build_demo_database, make_plant
from zhuoyue.store.engine import make_engine
from zhuoyue.store.models import Characteristic, UserAccount


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Demo]:
    """Both demo plants in a database of each backend (built once per test session)."""
    backend: str = request.param
    if backend == "sqlite":
        url = f"sqlite:///{Path(tmp_path_factory.mktemp('services')) / 'demo.db'}"
    else:
        from fixtures_db import create_database

        server: str = request.getfixturevalue("pg_url")
        url = create_database(server, f"services_demo_{os.getpid()}")
    info = build_demo_database(url, seed=SEED, scale=SCALE)
    plants = {p: make_plant(p, seed=SEED, scale=SCALE) for p in ("a", "b")}
    engine = make_engine(url)
    with Session(engine) as s:
        chars: dict[str, dict[str, int]] = {}
        for o in info.orgs:
            rows = s.execute(
                select(Characteristic.code, Characteristic.id).where(
                    Characteristic.org_id == o.org_id
                )
            ).all()
            chars[o.plant] = {str(code): int(cid) for code, cid in rows}
        users = {str(u): int(i) for u, i in s.execute(select(UserAccount.username, UserAccount.id))}
    try:
        yield Demo(backend, url, engine, info, plants, chars, users)
    finally:
        engine.dispose()


@pytest.fixture
def session(demo: Demo) -> Iterator[Session]:
    """A session on the demo database in one transaction, rolled back after the test."""
    with demo.engine.connect() as conn:
        trans = conn.begin()
        s = Session(bind=conn, expire_on_commit=False)
        try:
            yield s
        finally:
            s.close()
            trans.rollback()
