"""Bad input to ``capability``, the warnings it must never hide, and the shape of its result.

Every error is a :class:`~zhuoyue.errors.ParameterError` (a parameter value cannot be used) or
a :class:`~zhuoyue.errors.DataError` (the data cannot be used), both ``ValueError``. The tests
check the class, the ``code`` and ``index`` where set, and the key words of the message. The
non-normal methods are checked through the contract with ``zhuoyue.stats.nonnormal`` using a
stand-in module (the real one is tested where it exists).
"""

from __future__ import annotations

import json
import sys
import types
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from scipy import stats as sps

from zhuoyue.errors import DataError, ParameterError, ZhuoyueError
from zhuoyue.stats.capability import (
    INDEX_NAMES,
    NONNORMAL_METHODS,
    CapabilityResult,
    anderson_darling_normal,
    capability,
)
from zhuoyue.stats.results import ChartResult

RNG = np.random.default_rng(3)
GOOD = 10.0 + 0.1 * RNG.standard_normal(125)  # 25 subgroups of 5
SPEC = {"lsl": 9.6, "usl": 10.4}
CONTRACT_KEYS = [
    "n", "mean", "sigma_within", "sigma_overall", "sigma_method", "lsl", "usl", "target",
    "cp", "cpl", "cpu", "cpk", "cpm", "pp", "ppl", "ppu", "ppk",
    "ppm_within", "ppm_overall", "ppm_observed", "intervals", "normality", "warnings",
]  # fmt: skip


def raises(exc: type[ZhuoyueError], *needles: str, code: str | None = None) -> Any:
    """pytest.raises that also checks the message words and the error code."""

    class Checker:
        def __enter__(self) -> None:
            self.ctx = pytest.raises(exc)
            self.info = self.ctx.__enter__()

        def __exit__(self, *a: Any) -> bool:
            out = self.ctx.__exit__(*a)
            msg = str(self.info.value)
            for needle in needles:
                assert needle in msg, (needle, msg)
            if code is not None:
                assert self.info.value.code == code
            return bool(out)

    return Checker()


# --------------------------------------------------------------------------- parameters


@pytest.mark.parametrize(
    ("kwargs", "needles"),
    [
        ({}, ("at least one specification limit", "lsl=")),
        ({"lsl": 10.4, "usl": 9.6}, ("lsl < usl", "swapped")),
        ({"lsl": 10.0, "usl": 10.0}, ("lsl < usl",)),
        ({"lsl": float("nan"), "usl": 10.4}, ("'lsl'", "finite")),
        ({"lsl": "low", "usl": 10.4}, ("'lsl'", "number")),
        ({"usl": float("inf")}, ("'usl'", "finite")),
        ({**SPEC, "target": float("nan")}, ("'target'", "finite")),
        ({**SPEC, "confidence": 1.0}, ("'confidence'", "(0, 1)")),
        ({**SPEC, "confidence": 0.0}, ("'confidence'", "(0, 1)")),
        ({**SPEC, "confidence": 95}, ("'confidence'", "0.95")),
        ({**SPEC, "confidence": "high"}, ("'confidence'",)),
        ({**SPEC, "sigma_method": "magic"}, ("'sigma_method'", "pooled", "mr", "'magic'")),
        ({**SPEC, "sigma_method": "mr"}, ("does not apply to subgroups", "pooled")),
        ({**SPEC, "overall_method": "mad"}, ("'overall_method'", "sd_c4")),
        ({**SPEC, "cpm_method": "taguchi"}, ("'cpm_method'", "minitab")),
        ({**SPEC, "ci_method": "bootstrap"}, ("'ci_method'", "qcc")),
        ({**SPEC, "method": "cauchy"}, ("'method'", "boxcox", "auto")),
        ({**SPEC, "constants": "rounded"}, ("'constants'", "exact")),
        ({**SPEC, "nan_policy": "drop"}, ("nan_policy",)),
        ({**SPEC, "sigma": 0.0}, ("'sigma'", "> 0")),
        ({**SPEC, "sigma": -1.0}, ("'sigma'",)),
    ],
)
def test_parameter_errors(kwargs: dict[str, Any], needles: tuple[str, ...]) -> None:
    with raises(ParameterError, *needles):
        capability(GOOD, 5, **kwargs)


def test_individual_sigma_method_names_the_alternatives() -> None:
    with raises(ParameterError, "does not apply to individual values", "mr_median", "subgroups="):
        capability(GOOD, None, **SPEC, sigma_method="pooled")


def test_subgroup_parameter_errors() -> None:
    with raises(ParameterError, "'subgroups'"):
        capability(GOOD, 0, **SPEC)
    with raises(ParameterError, "one label per value"):
        capability(GOOD, ["a", "b"], **SPEC)


def test_qcc_aliases_accepted() -> None:
    res = capability(GOOD, 5, **SPEC, sigma_method="UWAVE-R", stability=False)
    assert res.sigma_method == "rbar/d2 unweighted"


def test_table_constants_beyond_25() -> None:
    x = np.random.default_rng(1).normal(size=60)
    with raises(ParameterError, "n <= 25", "exact"):
        capability(x, 30, lsl=-4, usl=4, sigma_method="rbar", constants="table")


def test_unknown_interval_name_and_level() -> None:
    res = capability(GOOD, 5, **SPEC, stability=False)
    with raises(ParameterError, "'name'", "cpk"):
        res.interval("cpx")
    with raises(ParameterError, "'level'", "(0, 1)"):
        res.interval("cp", 1.5)
    with raises(ParameterError, "sixpack needs"):
        res.sixpack(last=0)


# --------------------------------------------------------------------------- data


def test_too_few_values() -> None:
    with raises(DataError, "at least 2 values", "got 1", code="too_few"):
        capability([10.0], **SPEC)
    with raises(DataError, "got 0", code="too_few"):
        capability([], **SPEC)
    with raises(DataError, "got 1", code="too_few"):
        capability([10.0, float("nan")], **SPEC, nan_policy="omit")


@pytest.mark.parametrize("subgroups", [None, 5])
def test_nan_names_the_index(subgroups: Any) -> None:
    x = GOOD.copy()
    x[17] = np.nan
    x[40] = np.nan
    with pytest.raises(DataError) as info:
        capability(x, subgroups, **SPEC)
    err = info.value
    assert err.code == "not_finite" and err.index == 17
    assert "index 17" in str(err) and "(and 1 more)" in str(err) and "nan_policy='omit'" in str(err)


def test_inf_is_never_omitted() -> None:
    x = GOOD.copy()
    x[3] = np.inf
    with pytest.raises(DataError) as info:
        capability(x, 5, **SPEC, nan_policy="omit")
    assert info.value.index == 3 and info.value.code == "not_finite"
    assert "nan_policy" not in str(info.value)


def test_nan_policy_omit() -> None:
    x = GOOD.copy()
    x[[4, 60]] = np.nan
    ind = capability(x, None, **SPEC, nan_policy="omit", stability=False)
    ref = capability(np.delete(GOOD, [4, 60]), None, **SPEC, stability=False)
    assert ind.n == 123 and ind.cpk == ref.cpk
    sub = capability(x, 5, **SPEC, nan_policy="omit", stability=False)
    assert sub.n == 123 and sub.n_subgroups == 25 and sub.subgroup_size is None


def test_not_numbers() -> None:
    with raises(DataError, "needs numbers"):
        capability(["1.0", "x", "2"], **SPEC)
    with raises(ParameterError, "1-D"):
        capability(GOOD.reshape(25, 5), **SPEC)


@pytest.mark.parametrize("subgroups", [None, 5])
def test_zero_variance(subgroups: Any) -> None:
    with raises(DataError, "all 10 values are equal", "gauge resolution", code="zero_sigma"):
        capability(np.full(10, 3.0), subgroups, lsl=2, usl=4)


def test_zero_within_sigma() -> None:
    x = np.repeat([1.0, 2.0, 3.0, 4.0], 3)  # constant subgroups, different means
    with raises(DataError, "every subgroup has zero spread", code="zero_sigma"):
        capability(x, 3, lsl=0, usl=5)
    x = np.array([1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0])  # 6 of 7 moving ranges are 0
    with raises(DataError, "moving ranges are 0", "sigma_method='mr'", code="zero_sigma"):
        capability(x, None, lsl=0, usl=3, sigma_method="mr_median")


def test_subgroup_of_one() -> None:
    with raises(DataError, "subgroup b (index 1) has 1", code="subgroup_too_small"):
        capability([1.0, 2.0, 3.0, 2.0, 4.0], ["a", "a", "b", "c", "c"], lsl=0, usl=5)
    with raises(DataError, "subgroup 2 (0-based) has 1", code="subgroup_too_small"):
        capability(np.arange(7.0), 3, lsl=-1, usl=8)


def test_missing_subgroup_label() -> None:
    with raises(DataError, "subgroup label missing at index 2", code="missing_subgroup"):
        capability([1.0, 2.0, 3.0, 4.0], [1.0, 1.0, np.nan, 2.0], lsl=0, usl=5)


def test_anderson_darling_errors() -> None:
    with raises(DataError, "at least 3 values", code="too_few"):
        anderson_darling_normal([1.0, 2.0])
    with raises(DataError, "all 4 values are equal", code="zero_sigma"):
        anderson_darling_normal([1.0, 1.0, 1.0, 1.0])
    with raises(DataError, "finite", code="not_finite"):
        anderson_darling_normal([1.0, np.nan, 2.0, 3.0])


# --------------------------------------------------------------------------- warnings


def test_target_outside_specs_warns_not_errors() -> None:
    res = capability(GOOD, 5, **SPEC, target=11.0, stability=False)
    assert any("target 11 lies outside" in w for w in res.warnings)
    assert res.cpm is not None and res.cpm < 0


def test_unstable_process_is_flagged() -> None:
    x = GOOD.copy()
    x[100:] += 0.5  # the last 5 subgroups shift by 5σ
    res = capability(x, 5, **SPEC)
    assert res.in_control is False
    assert isinstance(res.chart, ChartResult) and res.chart.chart == "xbar_r"
    note = next(w for w in res.warnings if "not in control" in w)
    assert "fire on the Xbar chart" in note and "tests 1" in note
    assert "capability of an unstable process is not a prediction" in note
    assert "WARNING" not in res.summary() and "NOT in control" in res.summary()


def test_stability_chart_choice() -> None:
    x = np.random.default_rng(8).normal(size=200)
    assert capability(x, lsl=-4, usl=4).chart.chart == "imr"  # type: ignore[union-attr]
    assert capability(x, 8, lsl=-4, usl=4).chart.chart == "xbar_r"  # type: ignore[union-attr]
    assert capability(x, 10, lsl=-4, usl=4).chart.chart == "xbar_s"  # type: ignore[union-attr]
    assert capability(x, 10, lsl=-4, usl=4, stability=False).chart is None


def test_stability_check_that_cannot_run_is_reported() -> None:
    res = capability([1.0, 2.0, 1.5, 2.5], 4, lsl=0, usl=3)  # one subgroup: no Xbar chart
    assert res.in_control is None
    assert any("stability check could not run" in w for w in res.warnings)


def test_non_normal_data_warn() -> None:
    x = np.random.default_rng(4).exponential(size=300)
    res = capability(x, 5, lsl=0.0, usl=8.0, stability=False)
    assert res.normality["p_value"] < 0.05
    assert any("do not look normal" in w and "method='auto'" in w for w in res.warnings)
    quiet = capability(x, 5, lsl=0.0, usl=8.0, stability=False, normality=False)
    assert quiet.normality == {"method": None, "statistic": None, "p_value": None}
    assert not any("normal" in w for w in quiet.warnings)


def test_few_data_and_sigma_ratio_warn() -> None:
    x = np.repeat([0.0, 3.0, -3.0, 1.0], 5) + np.random.default_rng(0).normal(0, 0.5, 20)
    res = capability(x, 5, lsl=-10, usl=10, stability=False)
    text = " | ".join(res.warnings)
    assert "only 20 values" in text and "only 4 subgroups" in text
    assert "much smaller than σ overall" in text and "Pp/Ppk" in text


def test_last_subgroup_short_warns() -> None:
    res = capability(GOOD[:123], 5, **SPEC, stability=False)
    assert any("last subgroup has 3 values" in w for w in res.warnings)
    assert res.subgroup_size is None and res.n_subgroups == 25


# --------------------------------------------------------------------------- result shape


def test_to_dict_contract() -> None:
    res = capability(GOOD, 5, **SPEC, target=10.1)
    d = res.to_dict()
    assert list(d)[: len(CONTRACT_KEYS)] == CONTRACT_KEYS
    for key in ("ppm_within", "ppm_overall", "ppm_observed"):
        assert list(d[key]) == ["below_lsl", "above_usl", "total"]
    assert list(d["intervals"])[:4] == ["cp", "cpk", "pp", "ppk"]
    assert all(len(v) == 2 for v in d["intervals"].values())
    assert list(d["normality"]) == ["method", "statistic", "p_value"]
    assert d["sigma_method"] == "pooled/c4" and d["target"] == 10.1
    assert json.loads(json.dumps(d, allow_nan=False)) == d
    one = capability(GOOD, 5, lsl=9.6, stability=False).to_dict()
    assert one["cp"] is None and one["pp"] is None and one["cpm"] is None
    assert one["intervals"]["cp"] is None and one["ppm_within"]["above_usl"] is None
    assert one["target"] is None


def test_given_sigma_has_no_minitab_interval() -> None:
    res = capability(GOOD, 5, **SPEC, sigma=0.1, stability=False)
    assert res.sigma_method == "given" and res.interval("cp") is None
    assert res.interval("pp") is not None
    qcc = capability(GOOD, 5, **SPEC, sigma=0.1, ci_method="qcc", stability=False)
    assert qcc.interval("cp") is not None


def test_summary_and_html() -> None:
    res = capability(GOOD, 5, **SPEC, target=10.0)
    text = res.summary()
    for needle in ("Process capability (normal) of 125 values in 25 subgroups of 5", "Cpk",
                   "PPU", "Z.Bench", "Anderson-Darling", "Stability: in control", "minitab"):  # fmt: skip
        assert needle in text
    assert str(res) == text
    assert res._repr_html_().startswith("<pre>")
    assert "&lt;" in res._repr_html_()  # "< LSL" is escaped


def test_result_is_frozen() -> None:
    res = capability(GOOD, 5, **SPEC, stability=False)
    with pytest.raises(AttributeError):
        res.cp = 2.0  # type: ignore[misc]


def test_huge_capability_stays_finite() -> None:
    """Tails far below float range: PPM 0 but Z.bench finite (log-probabilities)."""
    res = capability(GOOD, 5, lsl=5.0, usl=20.0, stability=False)  # Z.LSL ≈ 50, Z.USL ≈ 89
    assert res.ppm_within["total"] == 0.0
    z = res.z_within["bench"]
    assert z is not None and np.isfinite(z)
    assert z == pytest.approx(res.z_within["lsl"], rel=1e-12)  # the far tail adds nothing


def test_sixpack() -> None:
    res = capability(GOOD, 5, **SPEC, target=10.0, stability=False)
    six = res.sixpack()
    assert isinstance(six["chart"], ChartResult) and six["chart"].chart == "xbar_r"
    last = six["last"]
    assert last["kind"] == "subgroups" and len(last["values"]) == 25
    assert last["values"][-1] == GOOD[-5:].tolist()
    h = six["histogram"]
    assert int(h["counts"].sum()) == 125 and h["edges"].size == h["counts"].size + 1
    assert 5 <= h["counts"].size <= 60
    assert h["grid"][0] <= 9.6 and h["grid"][-1] >= 10.4
    # the density integrates to ~1 over the grid
    area = np.trapezoid(h["density_overall"], h["grid"])
    assert area == pytest.approx(1.0, abs=1e-3)
    pp = six["probability_plot"]
    assert np.all(np.diff(pp["values"]) >= 0) and pp["values"].size == 125
    assert pp["percent"][0] == pytest.approx(100 * 0.7 / 125.4)
    assert six["capability"] == res.to_dict()
    assert six["capability_plot"]["specs"] == [9.6, 10.4]
    big = capability(np.random.default_rng(2).normal(size=50_000), lsl=-4, usl=4,
                     normality=False, stability=False).sixpack(max_points=500)  # fmt: skip
    assert big["probability_plot"]["values"].size == 500
    assert np.all(np.diff(big["probability_plot"]["values"]) >= 0)
    assert big["last"]["kind"] == "observations" and len(big["last"]["values"]) == 25
    assert big["chart"].chart == "imr"


def test_sixpack_labels() -> None:
    labels = np.repeat([f"lot{i:02d}" for i in range(25)], 5)
    six = capability(GOOD, labels, **SPEC).sixpack(last=3)
    assert six["last"]["labels"] == ["lot22", "lot23", "lot24"]


# --------------------------------------------------------------------------- non-normal methods


@dataclass(frozen=True)
class FakeNonNormal:
    """A stand-in for nonnormal.NonNormalCapability (the agreed contract)."""

    method: str
    pp: float | None
    ppl: float | None
    ppu: float | None
    ppk: float | None
    ppm_overall: dict[str, float | None]
    details: dict[str, Any] = field(default_factory=dict)
    candidates: list[dict[str, Any]] = field(default_factory=list)
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "pp": self.pp, "details": self.details}


@pytest.fixture
def fake_nonnormal(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    calls: list[tuple[Any, ...]] = []
    mod = types.ModuleType("zhuoyue.stats.nonnormal")

    def capability_nonnormal(x: Any, lsl: Any, usl: Any, target: Any, method: str) -> Any:
        calls.append((x, lsl, usl, target, method))
        used = "weibull" if method == "auto" else method
        if method == "gamma":
            used = "normal"  # as "auto" may recommend the normal model
        return FakeNonNormal(
            method=used, pp=1.1, ppl=1.3, ppu=1.2, ppk=1.2,
            ppm_overall={"below_lsl": 10.0, "above_usl": 30.0, "total": 40.0},
            details={"shape": 2.0}, candidates=[{"method": used, "ad": 0.3}],
            warnings=("fit is approximate",),
        )  # fmt: skip

    mod.capability_nonnormal = capability_nonnormal  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "zhuoyue.stats.nonnormal", mod)
    return calls


def test_nonnormal_contract(fake_nonnormal: list[tuple[Any, ...]]) -> None:
    res = capability(GOOD, 5, **SPEC, method="auto")
    x, lsl, usl, target, method = fake_nonnormal[0]
    assert x.size == 125 and (lsl, usl, target, method) == (9.6, 10.4, 10.0, "auto")
    assert res.method == "auto" and res.nonnormal is not None and res.nonnormal.method == "weibull"
    assert (res.pp, res.ppl, res.ppu, res.ppk) == (1.1, 1.3, 1.2, 1.2)
    assert res.cp is None and res.cpk is None and res.cpm is None
    assert res.ppm_overall == {"below_lsl": 10.0, "above_usl": 30.0, "total": 40.0}
    assert res.ppm_within["total"] is None
    assert res.z_overall["bench"] == pytest.approx(sps.norm.isf(40e-6), rel=1e-12)
    assert all(res.interval(name) is None for name in INDEX_NAMES)
    assert "fit is approximate" in res.warnings
    d = res.to_dict()
    assert d["method"] == "auto" and d["nonnormal"]["details"] == {"shape": 2.0}
    assert "Non-normal method used: weibull" in res.summary()


def test_nonnormal_may_recommend_normal(fake_nonnormal: list[tuple[Any, ...]]) -> None:
    res = capability(GOOD, 5, **SPEC, method="gamma", stability=False)
    normal = capability(GOOD, 5, **SPEC, stability=False)
    assert res.cpk == normal.cpk and res.ppk == normal.ppk
    assert res.nonnormal is not None and res.nonnormal.method == "normal"


@pytest.mark.parametrize("method", NONNORMAL_METHODS)
def test_real_nonnormal_module(method: str) -> None:
    """Through zhuoyue.stats.nonnormal."""
    x = np.random.default_rng(6).lognormal(0.0, 0.4, 200)
    res = capability(x, None, lsl=0.2, usl=4.0, method=method, stability=False)
    assert isinstance(res, CapabilityResult) and res.nonnormal is not None
    if res.nonnormal.method != "normal":
        assert res.ppk == res.nonnormal.ppk and res.cpk is None
    json.dumps(res.to_dict(), allow_nan=False)
