"""``GET /health``: the server and its database answer."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from zhuoyue import __version__
from zhuoyue.api.deps import Db
from zhuoyue.api.schemas import HealthOut

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthOut)
def health(db: Db) -> HealthOut:
    """The server is up and its database answers (no authentication)."""
    db.execute(text("SELECT 1"))
    return HealthOut(status="ok", database=db.get_bind().dialect.name, version=__version__)
