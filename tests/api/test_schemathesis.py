"""Property-based requests from the OpenAPI document (schemathesis): no route answers 5xx.

Every operation gets generated paths, queries and bodies, sent with an admin's API token (a fresh
one per operation, so that an operation revoking tokens does not lock the next ones out), on one
seeded database per backend.

The self-declaration's PDF renderer (WeasyPrint, some seconds a document) is replaced by a stub
here: the route, its lookups and the assessment snapshot still run on every generated request, but
what the renderer draws comes from the database, not from the request, so rendering it again for
every example would only double the run time. ``test_assessments_api.py`` renders real PDFs.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from apitools import World, build_world, close_world
from argon2 import PasswordHasher
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from sqlalchemy import select, update

from zhuoyue.api import ApiSettings, create_app
from zhuoyue.services import accounts
from zhuoyue.services import assessments as assessment_service
from zhuoyue.services.accounts import Principal
from zhuoyue.store import migrate
from zhuoyue.store.engine import transaction
from zhuoyue.store.models import Membership, UserAccount

#: examples per operation: enough to hit bounds, NUL bytes, huge numbers; fast enough for CI
MAX_EXAMPLES = 6


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fuzz_world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """One seeded database per backend for all operations of the module."""
    from fixtures_db import create_database

    if request.param == "sqlite":
        url = f"sqlite:///{Path(tmp_path_factory.mktemp('fuzz')) / 'zhuoyue.db'}"
    else:
        server: str = request.getfixturevalue("pg_url")
        url = create_database(server, "zhuoyue_fuzz")
    migrate.upgrade(url)
    previous = accounts.set_password_hasher(
        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    world = build_world(url, ApiSettings(superusers="alice", max_upload_mb=1))
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(assessment_service, "write_declaration", _stub_pdf)
            yield world
    finally:
        close_world(world)
        accounts.set_password_hasher(previous)


def _stub_pdf(outcome: Any, path: str | Path, **kw: Any) -> Path:
    """A one-line PDF in place of the rendered self-declaration (see the module notes)."""
    out = Path(path)
    out.write_bytes(b"%PDF-1.7\n% stub of the fuzz run\n%%EOF\n")
    return out


@pytest.fixture
def fuzz_auth(fuzz_world: World) -> dict[str, str]:
    """A fresh admin token of alice in org A; her account and admin role are restored first
    (an earlier operation may have disabled, demoted or removed her)."""
    user_id, org_id = fuzz_world.user_ids["alice"], fuzz_world.a.id
    with transaction(fuzz_world.engine) as s:
        s.execute(update(UserAccount).where(UserAccount.id == user_id).values(is_active=True))
        member = s.scalar(
            select(Membership).where(Membership.user_id == user_id, Membership.org_id == org_id)
        )
        if member is None:
            s.add(Membership(user_id=user_id, org_id=org_id, role="admin"))
        else:
            member.role = "admin"
        s.flush()
        alice = Principal(user_id, "alice", org_id, "acme", "admin")
        plain, _ = accounts.create_token(s, alice, name="fuzz", scopes=["admin"])
    return {"Authorization": f"Bearer {plain}"}


# the document is the same for every app; each case is sent to the app of the seeded database
# (schemathesis.pytest.from_fixture needs pytest internals that pytest 9 no longer has)
schema = schemathesis.openapi.from_asgi(
    "/openapi.json", create_app("sqlite://", settings=ApiSettings())
)


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_server_errors(case: Any, fuzz_world: World, fuzz_auth: dict[str, str]) -> None:
    case.call_and_validate(
        headers=fuzz_auth, checks=[not_a_server_error], app=fuzz_world.client.app
    )
