"""The routers of ``/api/v1``, one module per domain; :data:`ROUTERS` lists them in order.

A new domain adds a module with a ``router``
(an :class:`fastapi.APIRouter` with its ``prefix`` and ``tags``) and appends it here; the test
``tests/api/test_isolation.py`` then fails until each new route is in its sweep.
"""

from __future__ import annotations

from fastapi import APIRouter

from zhuoyue.api.routers import (
    assessments,
    audit,
    auth,
    characteristics,
    imports,
    kpi,
    measurements,
    monitoring,
    orgs,
    products,
    steps,
    tokens,
    users,
    views,
)

__all__ = ["ROUTERS"]

#: the routers mounted at ``/api/v1``
ROUTERS: tuple[APIRouter, ...] = (
    auth.router,
    orgs.router,
    users.router,
    tokens.router,
    products.router,
    steps.router,
    characteristics.router,
    measurements.router,
    views.router,
    kpi.router,
    assessments.router,
    imports.router,
    monitoring.router,
    audit.router,
)
