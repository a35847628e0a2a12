"""The throwaway Mosquitto broker of the monitoring tests (:mod:`zhuoyue.demo.broker`).

Without the binary the tests are skipped locally and fail on CI (``CI=true``), like the
PostgreSQL fixture.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from zhuoyue.demo.broker import Broker, find_mosquitto, start_mosquitto

__all__ = ["Broker", "mosquitto", "start_mosquitto"]


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Broker]:
    """A fresh Mosquitto broker for one test (skipped locally without it, a failure on CI)."""
    if find_mosquitto() is None:
        message = "mosquitto is missing: install Debian's mosquitto package"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    broker = start_mosquitto(tmp_path / "mosquitto")
    try:
        yield broker
    finally:
        broker.stop()
