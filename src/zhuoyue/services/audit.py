"""The audit log: who changed what, when, with the row before and after (``audit_log``).

Every service that changes master data, specifications, control limits, assessments, users,
memberships or tokens calls :func:`record` in the same transaction as the change, so that a change
and its audit entry are committed (or rolled back) together.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from zhuoyue.store.models import AuditLog

if TYPE_CHECKING:
    from zhuoyue.services.accounts import Page, Principal

__all__ = ["list_entries", "record", "snapshot", "snapshot_row"]


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, bytes):
        return None
    return value


def snapshot(obj: Any, *, exclude: Collection[str] = ()) -> dict[str, Any]:
    """The column values of a mapped object as a JSON document (dates in ISO 8601)."""
    mapper = inspect(obj).mapper
    return {
        attr.key: _json_value(getattr(obj, attr.key))
        for attr in mapper.column_attrs
        if attr.key not in exclude and not attr.deferred
    }


def snapshot_row(model: type[Any], row: Mapping[Any, Any]) -> dict[str, Any]:
    """Like :func:`snapshot` for a row of ``model``'s table read with SQLAlchemy Core (a result
    row's ``_mapping``, keyed by the table's columns)."""
    mapper = inspect(model)
    return {
        attr.key: _json_value(row[attr.columns[0]])
        for attr in mapper.column_attrs
        if not attr.deferred
    }


def record(
    session: Session,
    principal: Principal | None,
    action: str,
    entity: str,
    entity_id: int | str | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    *,
    org_id: int | None = None,
    user_id: int | None = None,
) -> AuditLog:
    """Add an audit entry for ``action`` on ``entity`` (a table name) by ``principal``.

    ``org_id`` and ``user_id`` default to the principal's; give them when there is no principal
    (a bootstrap from the CLI).
    """
    entry = AuditLog(
        org_id=org_id if org_id is not None else (principal.org_id if principal else None),
        user_id=user_id if user_id is not None else (principal.user_id if principal else None),
        token_id=principal.token_id if principal else None,
        action=action,
        entity=entity,
        entity_id=None if entity_id is None else str(entity_id),
        before=before,
        after=after,
    )
    session.add(entry)
    return entry


def list_entries(
    session: Session,
    principal: Principal,
    *,
    entity: str | None = None,
    entity_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> Page[AuditLog]:
    """The audit entries of the caller's organization, newest first (admin, quality manager)."""
    from zhuoyue.services.accounts import page_of, require

    require(principal, "read_audit")
    stmt = select(AuditLog).where(AuditLog.org_id == principal.org_id)
    if entity is not None:
        stmt = stmt.where(AuditLog.entity == entity)
    if entity_id is not None:
        stmt = stmt.where(AuditLog.entity_id == entity_id)
    return page_of(session, stmt.order_by(AuditLog.id.desc()), limit, offset)
