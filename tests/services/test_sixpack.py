"""The capability sixpack of a characteristic: the capability view's numbers plus the plots of
the same data, checked against zhuoyue.stats on the generated tables."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import numpy as np
import polars as pl
import pytest
from services_helpers import Demo
from sqlalchemy.orm import Session

from zhuoyue import stats
from zhuoyue.errors import DataError, ParameterError
from zhuoyue.services import views
from zhuoyue.services.accounts import NotFound
from zhuoyue.services.views import MAX_PROBABILITY_POINTS, characteristic_sixpack
from zhuoyue.store.models import Characteristic


def _labels(m: pl.DataFrame) -> np.ndarray:
    return m["subgroup"].to_numpy().astype(np.int64)


@pytest.mark.parametrize("code", ["C40-01", "C80-04"])
def test_sixpack_is_the_capability_view_plus_the_plots_of_stats(
    demo: Demo, session: Session, code: str
) -> None:
    org, cid = demo.org("a"), demo.chars["a"][code]
    got = characteristic_sixpack(session, org, cid)
    view = views.characteristic_capability(session, org, cid)
    for key in ("cp", "cpk", "pp", "ppk", "n", "mean", "sigma_within", "normality", "warnings"):
        assert got[key] == view[key], key
    m = demo.measurements("a", code)
    spec: dict[str, Any] = demo.characteristic("a", code)
    subgroups = _labels(m) if spec["subgroup_size"] > 1 else None
    ref = stats.capability(
        m["value"].to_numpy(), subgroups, spec["lsl"], spec["usl"], spec["target"]
    ).sixpack(max_points=MAX_PROBABILITY_POINTS)
    six = got["sixpack"]
    h = six["histogram"]
    assert sum(h["counts"]) == got["n"] == m.height
    assert h["counts"] == ref["histogram"]["counts"].tolist()
    np.testing.assert_allclose(h["edges"], ref["histogram"]["edges"], rtol=1e-12)
    np.testing.assert_allclose(h["density_within"], ref["histogram"]["density_within"], rtol=1e-9)
    assert (h["lsl"], h["usl"], h["target"]) == (spec["lsl"], spec["usl"], spec["target"])
    assert six["last"]["values"] == ref["last"]["values"]
    assert six["last"]["kind"] == ("subgroups" if subgroups is not None else "observations")
    assert len(six["last"]["labels"]) == 25
    pp = six["probability_plot"]
    assert len(pp["values"]) == min(m.height, MAX_PROBABILITY_POINTS)
    assert pp["values"] == sorted(pp["values"])
    assert pp["normality"] == view["normality"]
    json.dumps(got, allow_nan=False)  # plain JSON: the page sends it as it is


def test_sixpack_of_a_time_range(demo: Demo, session: Session) -> None:
    org, cid = demo.org("a"), demo.chars["a"]["C40-01"]
    start, end = datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 6, 1, tzinfo=UTC)
    got = characteristic_sixpack(session, org, cid, start=start, end=end, last=10)
    view = views.characteristic_capability(session, org, cid, start=start, end=end)
    assert got["n"] == view["n"] < characteristic_sixpack(session, org, cid)["n"]
    assert sum(got["sixpack"]["histogram"]["counts"]) == got["n"]
    assert len(got["sixpack"]["last"]["values"]) == 10


def test_sixpack_refuses_what_the_capability_view_refuses(demo: Demo, session: Session) -> None:
    org = demo.org("a")
    cid = demo.chars["a"]["C40-01"]
    with pytest.raises(NotFound):  # a supplier's shares do not hold it
        characteristic_sixpack(session, org, cid, allowed_ids={demo.chars["a"]["C30-01"]})
    with pytest.raises(NotFound):  # another organization's characteristic
        characteristic_sixpack(session, demo.org("b"), cid)
    bare = Characteristic(org_id=org, code="NO-SPEC-6", subgroup_size=1)
    session.add(bare)
    session.flush()
    with pytest.raises(DataError) as err:
        characteristic_sixpack(session, org, bare.id)
    assert err.value.code == "no_spec"
    for bad in (0, True, 2.5):
        with pytest.raises(ParameterError, match="last"):
            characteristic_sixpack(session, org, cid, last=bad)  # type: ignore[arg-type]
