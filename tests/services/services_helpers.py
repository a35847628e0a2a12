"""The demo of the service tests (imported by the tests and the conftest of this folder)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl
from sqlalchemy import Engine

from zhuoyue.demo.factory import DemoInfo, DemoPlant

#: a quarter of the demo's measurements: the same stories, a faster build
SCALE = 0.25
SEED = 2023


@dataclass(frozen=True)
class Demo:
    """The demo database of one backend and the plants it was built from."""

    backend: str
    url: str
    engine: Engine
    info: DemoInfo
    plants: Mapping[str, DemoPlant]
    chars: Mapping[str, Mapping[str, int]]  # plant → code → characteristic id
    users: Mapping[str, int]  # username → id

    def org(self, plant: str) -> int:
        return next(o.org_id for o in self.info.orgs if o.plant == plant)

    def assessment(self, plant: str) -> int:
        aid = next(o.assessment_id for o in self.info.orgs if o.plant == plant)
        assert aid is not None
        return aid

    def measurements(self, plant: str, code: str) -> pl.DataFrame:
        """The generated measurements of one characteristic, in time order."""
        m = self.plants[plant].tables["measurements"]
        return m.filter(pl.col("characteristic") == code).sort("ts", maintain_order=True)

    def characteristic(self, plant: str, code: str) -> dict[str, object]:
        c = self.plants[plant].tables["characteristics"]
        return c.filter(pl.col("code") == code).row(0, named=True)
