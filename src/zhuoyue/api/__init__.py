"""The REST API of the quality data platform (FastAPI, ``/api/v1``): :func:`create_app`."""

from __future__ import annotations

from zhuoyue.api.app import API_PREFIX, create_app
from zhuoyue.api.config import ApiSettings

__all__ = ["API_PREFIX", "ApiSettings", "create_app"]
