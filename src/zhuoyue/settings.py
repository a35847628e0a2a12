"""Runtime settings, read from ``ZHUOYUE_*`` environment variables (and a ``.env`` file)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "default_data_dir", "get_settings"]


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/zhuoyue`` (``~/.local/share/zhuoyue``)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "zhuoyue"


class Settings(BaseSettings):
    """zhuoyue settings; each field ``x`` is read from ``ZHUOYUE_X``."""

    model_config = SettingsConfigDict(env_prefix="ZHUOYUE_", env_file=".env", extra="ignore")

    #: folder for the embedded database, uploads and generated reports
    data_dir: Path = Field(default_factory=default_data_dir)
    #: SQLAlchemy URL; empty means the embedded SQLite file ``<data_dir>/zhuoyue.db``
    database_url: str = ""
    #: language of reports and messages meant for people: Chinese first by default
    lang: Literal["zh", "en"] = "zh"
    #: show tracebacks on unexpected errors
    debug: bool = False

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'zhuoyue.db'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; call ``get_settings.cache_clear()`` in tests)."""
    return Settings()
