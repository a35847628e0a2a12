"""Shared fixtures of the test suite.

``reference`` loads one case folder of the shared reference data (``shared/reference/spc/<case>``:
``data.csv`` and ``expected.json``, see ``shared/reference/README.md``). The folder lives next to
the repository; when it is missing the reference tests are skipped locally and fail on CI
(``CI=true``), so that a CI run can never pass without them.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

# the database fixtures (SQLite and a throwaway PostgreSQL server) for every test folder
pytest_plugins = ["fixtures_db", "fixtures_mqtt"]

REFERENCE_DIR = Path(__file__).resolve().parents[2] / "shared" / "reference" / "spc"


@dataclass(frozen=True)
class Case:
    """One reference case: its rows (csv.DictReader dicts, strings) and its expected.json."""

    name: str
    folder: Path
    rows: list[dict[str, str]]
    expected: dict[str, Any]

    def read(self, filename: str) -> list[dict[str, str]]:
        """Rows of another CSV file of the case (e.g. ``data_pcmanufact.csv``)."""
        with (self.folder / filename).open(newline="", encoding="utf-8") as fh:
            return list(csv.DictReader(fh))

    def column(self, name: str, rows: list[dict[str, str]] | None = None) -> np.ndarray:
        """A numeric column as float64."""
        return np.array([float(r[name]) for r in (self.rows if rows is None else rows)])

    def text(self, name: str, rows: list[dict[str, str]] | None = None) -> list[str]:
        """A column as the strings of the file."""
        return [r[name] for r in (self.rows if rows is None else rows)]


def _missing(what: str) -> None:
    message = f"reference data not found: {what}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " (CI=true: the reference tests must run on CI)")
    pytest.skip(message)


def load_case(name: str) -> Case:
    """Load ``shared/reference/spc/<name>``; skip (locally) or fail (CI) when it is missing."""
    folder = REFERENCE_DIR / name
    data = folder / "data.csv"
    expected = folder / "expected.json"
    if not data.is_file() or not expected.is_file():
        _missing(str(folder))
    with data.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    with expected.open(encoding="utf-8") as fh:
        exp = json.load(fh)
    return Case(name=name, folder=folder, rows=rows, expected=exp)


@pytest.fixture
def reference() -> Callable[[str], Case]:
    """``reference("c_circuit")`` -> :class:`Case` (data rows and expected.json)."""
    return load_case
