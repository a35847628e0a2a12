"""Fixtures of the API tests: an app on a migrated database (SQLite and PostgreSQL) holding two
organizations with data, users of every role and their tokens.

``world`` is the usual entry point::

    def test_x(world):
        r = world.client.get("/api/v1/products", headers=world.auth("alice"))

Organization A (``acme``) has the users alice (admin), quinn (quality_manager), eve (quality
engineer), vic (viewer), sam (supplier; BORE-D is shared with him), ada (assessor) and carol
(viewer here, admin of B). Organization B (``beta``) has bob (admin) and carol. Both have a
characteristic ``BORE-D`` (same code, different rows); ``ONLY-B`` exists in B only.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from apitools import World, build_world, close_world
from argon2 import PasswordHasher

from zhuoyue.api import ApiSettings
from zhuoyue.services import accounts


@pytest.fixture(autouse=True)
def cheap_hashing() -> Iterator[None]:
    """argon2 with small parameters: the tests hash many passwords."""
    previous = accounts.set_password_hasher(
        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    try:
        yield
    finally:
        accounts.set_password_hasher(previous)


@pytest.fixture
def settings() -> ApiSettings:
    return ApiSettings(database_url="", superusers="root", max_upload_mb=1)


@pytest.fixture
def world(migrated_url: str, settings: ApiSettings) -> Iterator[World]:
    """The two organizations on a fresh database (SQLite and PostgreSQL)."""
    built = build_world(migrated_url, settings)
    try:
        yield built
    finally:
        close_world(built)
