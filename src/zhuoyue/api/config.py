"""Settings of the REST API (``ZHUOYUE_*`` environment variables, like :mod:`zhuoyue.settings`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ApiSettings"]


class ApiSettings(BaseSettings):
    """Settings of :func:`zhuoyue.api.create_app`; each field ``x`` is read from ``ZHUOYUE_X``."""

    model_config = SettingsConfigDict(env_prefix="ZHUOYUE_", env_file=".env", extra="ignore")

    #: SQLAlchemy URL; empty: ``zhuoyue.store.database_url()`` (the embedded SQLite file)
    database_url: str = ""
    #: comma-separated usernames of the platform's operators: they may create organizations
    superusers: str = ""
    #: the session cookie's Secure flag; unset: set when the request came over HTTPS
    cookie_secure: bool | None = None
    #: largest upload (a CSV file, an evidence file, a file to import), in MiB
    max_upload_mb: int = Field(default=50, ge=1, le=4096)
    #: largest total size of the files of an imported .zip once unpacked, in MiB
    max_unzipped_mb: int = Field(default=1024, ge=1, le=65536)

    @property
    def superuser_names(self) -> frozenset[str]:
        """The usernames of :attr:`superusers`."""
        return frozenset(n.strip().lower() for n in self.superusers.split(",") if n.strip())
