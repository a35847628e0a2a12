"""Settings from ZHUOYUE_* environment variables."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from zhuoyue.settings import Settings, default_data_dir


def test_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    for var in ("ZHUOYUE_DATA_DIR", "ZHUOYUE_DATABASE_URL", "ZHUOYUE_LANG", "ZHUOYUE_DEBUG"):
        monkeypatch.delenv(var, raising=False)
    s = Settings()
    assert s.data_dir == tmp_path / "xdg" / "zhuoyue" == default_data_dir()
    assert s.lang == "zh"
    assert s.resolved_database_url == f"sqlite:///{tmp_path / 'xdg' / 'zhuoyue' / 'zhuoyue.db'}"


def test_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ZHUOYUE_DATABASE_URL", "postgresql+psycopg://u@localhost/q")
    monkeypatch.setenv("ZHUOYUE_LANG", "en")
    monkeypatch.setenv("ZHUOYUE_DEBUG", "1")
    s = Settings()
    assert s.resolved_database_url == "postgresql+psycopg://u@localhost/q"
    assert s.lang == "en" and s.debug is True
    monkeypatch.setenv("ZHUOYUE_LANG", "fr")
    with pytest.raises(ValidationError):
        Settings()
