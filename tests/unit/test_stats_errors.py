"""Bad input to every chart function, and the JSON shape of ``ChartResult``.

Every error zhuoyue raises on purpose is a :class:`~zhuoyue.errors.DataError` (the data cannot
be used) or a :class:`~zhuoyue.errors.ParameterError` (a parameter value cannot be used); both
subclass ``ValueError``. The tests check the class, the ``code`` and ``index`` where set, and the
key words of the message a person reads.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from zhuoyue import stats
from zhuoyue.errors import DataError, ParameterError, ZhuoyueError
from zhuoyue.stats.rules import resolve_rules

# a series every variables chart accepts: 20 values, 4 subgroups of 5 with spread
GOOD = (np.arange(20.0) * 7) % 11

# name, call with the values as first argument (subgroup size 5 where the chart takes one)
VARIABLES: list[tuple[str, Callable[..., stats.ChartResult]]] = [
    ("xbar_r", lambda v, **kw: stats.xbar_r(v, 5, **kw)),
    ("xbar_s", lambda v, **kw: stats.xbar_s(v, 5, **kw)),
    ("imr", lambda v, **kw: stats.imr(v, **kw)),
    ("ewma", lambda v, **kw: stats.ewma(v, **kw)),
    ("ewma_subgroups", lambda v, **kw: stats.ewma(v, 5, **kw)),
    ("cusum", lambda v, **kw: stats.cusum(v, **kw)),
    ("cusum_subgroups", lambda v, **kw: stats.cusum(v, 5, **kw)),
]
VAR_IDS = [v[0] for v in VARIABLES]

# name, call with (counts, sizes)
ATTRIBUTES: list[tuple[str, Callable[..., stats.ChartResult]]] = [
    ("p_chart", stats.p_chart),
    ("np_chart", stats.np_chart),
    ("c_chart", lambda d, n, **kw: stats.c_chart(d, sizes=n, **kw)),
    ("u_chart", stats.u_chart),
]
ATTR_IDS = [a[0] for a in ATTRIBUTES]


def raises(
    exc: type[ZhuoyueError],
    call: Callable[[], Any],
    *words: str,
    code: str | None = None,
    index: int | None = None,
) -> ZhuoyueError:
    """``call()`` raises ``exc`` (also a ValueError) whose message contains every word."""
    with pytest.raises(exc) as info:
        call()
    err = info.value
    assert isinstance(err, ValueError)
    message = str(err)
    for w in words:
        assert w in message, (w, message)
    if code is not None:
        assert err.code == code
    if index is not None:
        assert isinstance(err, DataError)
        assert err.index == index
    return err


# --------------------------------------------------------------------------- variables charts


@pytest.mark.parametrize(("name", "chart"), VARIABLES, ids=VAR_IDS)
def test_empty_input(name, chart):
    raises(DataError, lambda: chart([]), "needs data", code="empty")


@pytest.mark.parametrize(("name", "chart"), VARIABLES, ids=VAR_IDS)
def test_non_numeric_values(name, chart):
    values = ["1.0", "2.5", "n/a", *[str(v) for v in GOOD[3:]]]
    raises(DataError, lambda: chart(values), "needs numbers", "'values'")


@pytest.mark.parametrize(("name", "chart"), VARIABLES, ids=VAR_IDS)
@pytest.mark.parametrize(("bad", "word"), [(math.nan, "nan_policy='omit'"), (math.inf, "inf")])
def test_nan_and_inf_name_the_index(name, chart, bad, word):
    values = GOOD.copy()
    values[7] = bad
    err = raises(DataError, lambda: chart(values), "finite", "index 7", word, code="not_finite")
    assert err.index == 7


@pytest.mark.parametrize(("name", "chart"), VARIABLES, ids=VAR_IDS)
def test_nan_policy_omit(name, chart):
    values = GOOD.copy()
    values[7] = math.nan
    # the subgroups become unequal, which the CUSUM handles in standardized units only
    kw = {"units": "standardized"} if name == "cusum_subgroups" else {}
    res = chart(values, nan_policy="omit", **kw)
    if name in ("imr", "ewma", "cusum"):
        # individual values: the missing one is dropped
        clean = chart(np.delete(values, 7))
    else:
        # subgroups of 5: the missing value leaves its subgroup (the 2nd) with 4 values
        labels = np.delete(np.arange(20) // 5, 7)
        sub = {"xbar_r": stats.xbar_r, "xbar_s": stats.xbar_s}.get(name)
        func = sub or (stats.ewma if name.startswith("ewma") else stats.cusum)
        clean = func(np.delete(values, 7), labels, **kw)
        assert res.sizes.tolist() == [5, 4, 5, 5]
    assert res.n_points == clean.n_points
    np.testing.assert_allclose(res.center, clean.center, rtol=1e-12)
    np.testing.assert_allclose(res.sigma, clean.sigma, rtol=1e-12)


@pytest.mark.parametrize(("name", "chart"), VARIABLES, ids=VAR_IDS)
def test_nan_policy_unknown(name, chart):
    raises(ParameterError, lambda: chart(GOOD, nan_policy="drop"), "nan_policy", "'drop'")


@pytest.mark.parametrize(("name", "chart"), VARIABLES, ids=VAR_IDS)
def test_two_dimensional_values(name, chart):
    raises(ParameterError, lambda: chart(GOOD.reshape(4, 5)), "1-D")


@pytest.mark.parametrize(("name", "chart"), VARIABLES, ids=VAR_IDS)
def test_constant_data_zero_sigma(name, chart):
    err = raises(DataError, lambda: chart(np.full(20, 3.25)), "sigma", "sigma=", code="zero_sigma")
    assert "zero spread" in str(err) or "differ" in str(err)


@pytest.mark.parametrize(("name", "chart"), VARIABLES, ids=VAR_IDS)
def test_too_few_phase1_points(name, chart):
    raises(DataError, lambda: chart(GOOD, phase1=1), "at least 2", "phase I", code="too_few")


@pytest.mark.parametrize(("name", "chart"), VARIABLES, ids=VAR_IDS)
@pytest.mark.parametrize("phase1", [0, 100, -1])
def test_phase1_out_of_range(name, chart, phase1):
    raises(ParameterError, lambda: chart(GOOD, phase1=phase1), "phase1", str(phase1))


@pytest.mark.parametrize(("name", "chart"), VARIABLES, ids=VAR_IDS)
def test_phase1_mask_of_wrong_length(name, chart):
    raises(ParameterError, lambda: chart(GOOD, phase1=np.ones(3, dtype=bool)), "phase1")


@pytest.mark.parametrize(("name", "chart"), VARIABLES, ids=VAR_IDS)
@pytest.mark.parametrize("exclude", [[100], [-1], [0.5], [True]])
def test_exclude_out_of_range(name, chart, exclude):
    raises(ParameterError, lambda: chart(GOOD, exclude=exclude), "exclude", "0-based")


@pytest.mark.parametrize(("name", "chart"), VARIABLES, ids=VAR_IDS)
def test_unknown_sigma_method(name, chart):
    raises(ParameterError, lambda: chart(GOOD, sigma_method="range"), "sigma_method", "'range'")


@pytest.mark.parametrize(("name", "chart"), VARIABLES, ids=VAR_IDS)
def test_unknown_rules(name, chart):
    raises(ParameterError, lambda: chart(GOOD, rules="nelson"), "rules", "gb4091", "'nelson'")


@pytest.mark.parametrize(("name", "chart"), VARIABLES, ids=VAR_IDS)
def test_unknown_constants(name, chart):
    raises(ParameterError, lambda: chart(GOOD, constants="rounded"), "constants", "'rounded'")


@pytest.mark.parametrize(("name", "chart"), VARIABLES, ids=VAR_IDS)
@pytest.mark.parametrize("sigma", [0.0, -1.0, math.nan, math.inf, "wide"])
def test_bad_given_sigma(name, chart, sigma):
    raises(ParameterError, lambda: chart(GOOD, sigma=sigma), "'sigma'")


@pytest.mark.parametrize(("name", "chart"), VARIABLES, ids=VAR_IDS)
@pytest.mark.parametrize("center", [math.nan, math.inf, "middle"])
def test_bad_given_center(name, chart, center):
    raises(ParameterError, lambda: chart(GOOD, center=center), "'center'")


@pytest.mark.parametrize("chart", [stats.xbar_r, stats.xbar_s])
def test_subgroup_of_one(chart):
    raises(
        DataError,
        lambda: chart(GOOD, 1),
        "at least 2 values",
        "Use imr()",
        code="subgroup_too_small",
        index=0,
    )
    # with labels, the message names the label
    err = raises(
        DataError,
        lambda: chart([1.0, 2.0, 3.0, 4.0, 5.0], ["a", "a", "b", "c", "c"]),
        "subgroup b",
        "Use imr()",
        code="subgroup_too_small",
    )
    assert err.index == 1


@pytest.mark.parametrize("chart", [stats.xbar_r, stats.xbar_s])
def test_subgroups_missing_or_malformed(chart):
    raises(ParameterError, lambda: chart(GOOD, None), "subgroups", "Use imr()")
    raises(ParameterError, lambda: chart(GOOD, 0), "subgroups", ">= 1")
    raises(ParameterError, lambda: chart(GOOD, [1, 2]), "one label per value", "20 values")
    raises(
        DataError,
        lambda: chart([1.0, 2.0, 3.0, 4.0], [1.0, 1.0, math.nan, 2.0]),
        "label missing",
        code="missing_subgroup",
        index=2,
    )
    raises(
        DataError,
        lambda: chart([1.0, 2.0, 3.0, 4.0], ["a", None, "b", "b"]),
        "label missing",
        code="missing_subgroup",
        index=1,
    )


@pytest.mark.parametrize("chart", [stats.xbar_r, stats.xbar_s])
def test_other_bad_xbar_parameters(chart):
    raises(ParameterError, lambda: chart(GOOD, 5, dispersion_center="median"), "dispersion_center")
    raises(ParameterError, lambda: chart(GOOD, 5, test8="neither"), "test8", "'neither'")
    big = np.arange(60.0) % 7
    raises(ParameterError, lambda: chart(big, 30, constants="table"), "up to 25", "exact")
    # the same data are fine with the exact constants
    assert chart(big, 30).n_points == 2


@pytest.mark.parametrize("tests", [[9], [0], [True], [1.5], ["1"]])
def test_tests_not_in_the_set(tests):
    raises(ParameterError, lambda: stats.xbar_r(GOOD, 5, tests=tests), "'tests'", "gb4091")


@pytest.mark.parametrize("chart", [stats.ewma, stats.cusum])
def test_time_weighted_tests_parameter(chart):
    shifted = np.r_[GOOD, GOOD + 40.0]
    raises(ParameterError, lambda: chart(shifted, tests=[9]), "'tests'")
    assert len(chart(shifted, center=5.0, sigma=1.0).panels) >= 1
    on = chart(shifted, center=5.0, sigma=1.0, tests=[1])
    off = chart(shifted, center=5.0, sigma=1.0, tests=[])
    assert not on.in_control  # a shift of 40 sigma signals
    assert off.in_control
    for panel in on.panels.values():
        assert panel.tests == (1,)
    for panel in off.panels.values():
        assert panel.tests == ()


def test_tests_not_in_the_we_set():
    raises(ParameterError, lambda: stats.imr(GOOD, rules="we", tests=[5]), "'we'", "[1, 2, 3, 4]")


@pytest.mark.parametrize(
    ("rule_k", "words"),
    [
        ({2: 1}, ("K of test 2", "integer >= 2")),
        ({2: 7.5}, ("K of test 2",)),
        ({3: 2}, ("K of test 3", "integer >= 3")),
        ({4: 3}, ("K of test 4", "integer >= 4")),
        ({1: 0}, ("K of test 1", "> 0")),
        ({1: math.nan}, ("K of test 1",)),
        ({9: 3}, ("test 9",)),
    ],
)
def test_bad_rule_k(rule_k, words):
    raises(ParameterError, lambda: stats.imr(GOOD, rule_k=rule_k), *words)


def test_imr_sd_method_constant_data():
    raises(DataError, lambda: stats.imr(np.full(10, 2.0), sigma_method="sd"), code="zero_sigma")


def test_imr_single_value():
    raises(DataError, lambda: stats.imr([1.0]), "at least 2", code="too_few")
    # with the limits given, one value is a valid phase II chart
    assert stats.imr([1.0], center=0.0, sigma=1.0).n_points == 1


@pytest.mark.parametrize("lam", [0.0, -0.2, 1.5, 1.0000001, math.nan, "fast"])
def test_ewma_lambda_outside_0_1(lam):
    raises(ParameterError, lambda: stats.ewma(GOOD, lam=lam), "'lam'")


def test_ewma_lambda_one_is_allowed():
    # λ = 1 is the Shewhart chart of the points
    res = stats.ewma(GOOD, lam=1.0)
    np.testing.assert_allclose(res["ewma"].statistic, GOOD, rtol=1e-12)


@pytest.mark.parametrize("L", [0.0, -3.0, math.inf])
def test_ewma_bad_L(L):
    raises(ParameterError, lambda: stats.ewma(GOOD, L=L), "'L'")


def test_ewma_bad_limits_and_small_subgroups():
    raises(ParameterError, lambda: stats.ewma(GOOD, limits="steady"), "'limits'", "asymptotic")
    raises(
        DataError,
        lambda: stats.ewma([1.0, 2.0, 3.0, 4.0, 5.0], [1, 1, 2, 3, 3]),
        "at least 2 values",
        "sigma=",
        code="subgroup_too_small",
        index=1,
    )


@pytest.mark.parametrize("h", [0.0, -1.0, math.nan])
def test_cusum_h_not_positive(h):
    raises(ParameterError, lambda: stats.cusum(GOOD, h=h), "'h'", "> 0")


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"k": -0.5}, ("'k'", ">= 0")),
        ({"headstart": 1.0}, ("'headstart'", "[0, 1)")),
        ({"headstart": -0.1}, ("'headstart'",)),
        ({"units": "sigma"}, ("'units'", "standardized")),
    ],
)
def test_cusum_bad_parameters(kwargs, words):
    raises(ParameterError, lambda: stats.cusum(GOOD, **kwargs), *words)


def test_cusum_data_units_need_equal_sizes():
    values = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
    labels = [1, 1, 2, 2, 2, 3, 3]
    raises(
        ParameterError, lambda: stats.cusum(values, labels), "equal subgroup sizes", "standardized"
    )
    res = stats.cusum(values, labels, units="standardized")
    assert res.params["units"] == "standardized"


def test_cusum_new_mean_needs_data_units():
    std = stats.cusum(GOOD, units="standardized")
    raises(ParameterError, lambda: stats.cusum_new_mean(std, 0), "data units")
    raises(ParameterError, lambda: stats.cusum_new_mean(stats.imr(GOOD), 0), "cusum")


def test_ruleset_keeps_k_and_test8_when_tests_are_restricted():
    qcc = resolve_rules("gb4091", k={2: 7}, test8="either")
    narrowed = resolve_rules(qcc, tests=[1, 2, 8])
    assert narrowed.tests == (1, 2, 8)
    assert narrowed.k_of(2) == 7.0
    assert narrowed.test8 == "either"


# --------------------------------------------------------------------------- attribute charts

COUNTS = np.array([3.0, 5.0, 2.0, 4.0, 6.0])
SIZES = np.array([50.0, 50.0, 40.0, 50.0, 60.0])


@pytest.mark.parametrize(("name", "chart"), ATTRIBUTES, ids=ATTR_IDS)
def test_attribute_empty(name, chart):
    raises(DataError, lambda: chart([], []), "needs data", code="empty")


@pytest.mark.parametrize(("name", "chart"), ATTRIBUTES, ids=ATTR_IDS)
def test_attribute_non_numeric(name, chart):
    raises(DataError, lambda: chart(["3", "x", "2", "4", "6"], SIZES), "needs numbers")


@pytest.mark.parametrize(("name", "chart"), ATTRIBUTES, ids=ATTR_IDS)
@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_attribute_not_finite(name, chart, bad):
    counts = COUNTS.copy()
    counts[3] = bad
    raises(DataError, lambda: chart(counts, SIZES), "finite", code="not_finite", index=3)


@pytest.mark.parametrize(("name", "chart"), ATTRIBUTES, ids=ATTR_IDS)
def test_attribute_negative_counts(name, chart):
    counts = COUNTS.copy()
    counts[2] = -1.0
    raises(DataError, lambda: chart(counts, SIZES), ">= 0", "index 2", code="negative", index=2)


@pytest.mark.parametrize(("name", "chart"), ATTRIBUTES, ids=ATTR_IDS)
def test_attribute_fractional_counts(name, chart):
    counts = COUNTS.copy()
    counts[1] = 2.5
    raises(DataError, lambda: chart(counts, SIZES), "whole numbers", code="not_integer", index=1)


@pytest.mark.parametrize(("name", "chart"), ATTRIBUTES, ids=ATTR_IDS)
@pytest.mark.parametrize("size", [0.0, -5.0])
def test_attribute_sizes_not_positive(name, chart, size):
    sizes = SIZES.copy()
    sizes[4] = size
    raises(DataError, lambda: chart(COUNTS, sizes), "sizes > 0", code="size_not_positive", index=4)


@pytest.mark.parametrize("chart", [stats.p_chart, stats.np_chart])
def test_p_np_fractional_sizes(chart):
    sizes = SIZES.copy()
    sizes[0] = 49.5
    raises(DataError, lambda: chart(COUNTS, sizes), "whole-number", code="not_integer", index=0)


def test_u_fractional_sizes_are_allowed():
    # inspection units may be fractional (e.g. 12.5 units of 50 m²)
    res = stats.u_chart(COUNTS, [10.0, 8.5, 12.5, 10.0, 9.0])
    assert res.n_points == 5


@pytest.mark.parametrize("chart", [stats.p_chart, stats.np_chart])
def test_defectives_exceed_size(chart):
    counts = COUNTS.copy()
    counts[3] = 51.0
    raises(
        DataError,
        lambda: chart(counts, SIZES),
        "exceed the sample size",
        "u_chart()",
        code="defectives_exceed_size",
        index=3,
    )


@pytest.mark.parametrize("chart", [stats.p_chart, stats.np_chart, stats.u_chart])
def test_attribute_sizes_missing_or_wrong_length(chart):
    raises(ParameterError, lambda: chart(COUNTS, None), "'sizes'")
    raises(ParameterError, lambda: chart(COUNTS, [50, 50]), "one size per point", "5 counts")


@pytest.mark.parametrize(("name", "chart"), ATTRIBUTES, ids=ATTR_IDS)
def test_attribute_zero_centre(name, chart):
    raises(DataError, lambda: chart(np.zeros(5), SIZES), "collapse", "center=", code="zero_sigma")


@pytest.mark.parametrize("chart", [stats.p_chart, stats.np_chart])
def test_every_unit_defective(chart):
    raises(DataError, lambda: chart(SIZES, SIZES), "every unit defective", code="zero_sigma")


@pytest.mark.parametrize("chart", [stats.p_chart, stats.np_chart])
@pytest.mark.parametrize("center", [0.0, 1.0, 1.5, -0.1, math.nan])
def test_p_np_centre_outside_0_1(chart, center):
    raises(ParameterError, lambda: chart(COUNTS, SIZES, center=center), "'center'")


@pytest.mark.parametrize("chart", [stats.c_chart, stats.u_chart])
@pytest.mark.parametrize("center", [0.0, -2.0])
def test_c_u_centre_not_positive(chart, center):
    kw: dict[str, Any] = {"sizes": SIZES, "center": center}
    raises(ParameterError, lambda: chart(COUNTS, **kw), "'center'", "> 0")


@pytest.mark.parametrize(("name", "chart"), ATTRIBUTES, ids=ATTR_IDS)
def test_attribute_too_few_and_bad_phase1(name, chart):
    raises(DataError, lambda: chart(COUNTS, SIZES, phase1=1), "at least 2", code="too_few")
    raises(ParameterError, lambda: chart(COUNTS, SIZES, phase1=9), "phase1", "between 1 and 5")
    raises(ParameterError, lambda: chart(COUNTS, SIZES, rules="x"), "rules")
    raises(ParameterError, lambda: chart(COUNTS, SIZES, tests=[9]), "'tests'")


@pytest.mark.parametrize(("name", "chart"), ATTRIBUTES, ids=ATTR_IDS)
def test_attribute_zone_tests_are_skipped_with_a_warning(name, chart):
    res = chart(COUNTS, SIZES, tests=[1, 5])
    assert any("tests 5" in w and "not applied" in w for w in res.warnings)


@pytest.mark.parametrize(("name", "chart"), ATTRIBUTES, ids=ATTR_IDS)
def test_attribute_nan_message_suggests_only_existing_options(name, chart):
    counts = COUNTS.copy()
    counts[0] = math.nan
    with pytest.raises(DataError) as info:
        chart(counts, SIZES)
    assert "nan_policy" not in str(info.value)


@pytest.mark.parametrize(("name", "chart"), ATTRIBUTES, ids=ATTR_IDS)
def test_attribute_too_few_message_suggests_only_existing_options(name, chart):
    with pytest.raises(DataError) as info:
        chart(COUNTS, SIZES, phase1=1)
    assert "sigma=" not in str(info.value)


# --------------------------------------------------------------------------- ChartResult.to_dict


def _imr_result() -> stats.ChartResult:
    return stats.imr([10.0, 10.4, 9.8, 10.1, 10.3, 9.9, 14.0])


def test_to_dict_top_level_keys():
    d = _imr_result().to_dict()
    for key in ("chart", "sigma", "sigma_method", "panels"):
        assert key in d
    assert d["chart"] == "imr"
    assert d["sigma_method"] == "mr/d2"
    assert isinstance(d["sigma"], float)
    assert list(d["panels"]) == ["i", "mr"]


def test_to_dict_panel_keys_and_violations():
    d = _imr_result().to_dict()
    for panel in d["panels"].values():
        for key in ("statistic", "center", "lcl", "ucl", "violations"):
            assert key in panel
        for v in panel["violations"]:
            assert set(v) == {"index", "rule"}
            assert isinstance(v["index"], int)
            assert isinstance(v["rule"], int)
    # the outlier 14.0 (0-based index 6) is beyond the I chart's UCL and the MR chart's UCL
    assert {"index": 6, "rule": 1} in d["panels"]["i"]["violations"]
    assert {"index": 6, "rule": 1} in d["panels"]["mr"]["violations"]


def test_to_dict_scalars_when_constant_lists_when_varying():
    const = stats.xbar_r(GOOD, 5).to_dict()["panels"]["xbar"]
    for key in ("center", "lcl", "ucl"):
        assert isinstance(const[key], float)
    assert isinstance(const["statistic"], list)
    values = [1.0, 2.0, 4.0, 3.0, 5.0, 2.0, 6.0, 1.0, 3.0, 2.0, 4.0, 5.0]
    labels = [1, 1, 1, 2, 2, 3, 3, 3, 3, 4, 4, 4]
    varying = stats.xbar_r(values, labels).to_dict()["panels"]
    assert isinstance(varying["xbar"]["center"], float)
    for key in ("lcl", "ucl"):
        assert isinstance(varying["xbar"][key], list)
        assert len(varying["xbar"][key]) == 4
    # Minitab convention: the R chart centre d2(n_i) sigma varies with n_i
    assert isinstance(varying["r"]["center"], list)
    u = stats.u_chart([14, 12, 20], [10, 8, 13]).to_dict()["panels"]["u"]
    assert isinstance(u["ucl"], list)
    assert isinstance(u["center"], float)


def test_to_dict_nan_becomes_none():
    mr = _imr_result().to_dict()["panels"]["mr"]
    assert mr["statistic"][0] is None  # the first point has no moving range
    assert all(isinstance(v, float) for v in mr["statistic"][1:])


def test_to_dict_missing_limit_is_none_and_extra_fields():
    d = stats.cusum([102.0, 94.8, 98.3, 98.4], center=99, sigma=2).to_dict()
    upper = d["panels"]["cusum_upper"]
    assert upper["lcl"] is None
    assert upper["ucl"] == 10.0
    assert upper["counter"] == [1, 0, 0, 0]


@pytest.mark.parametrize(
    "make",
    [
        _imr_result,
        lambda: stats.xbar_s(GOOD, 5),
        lambda: stats.p_chart(COUNTS, SIZES),
        lambda: stats.ewma(GOOD, 5),
        lambda: stats.cusum(GOOD),
    ],
)
def test_to_dict_is_json(make):
    res = make()
    d = res.to_dict()
    text = json.dumps(d, allow_nan=False)
    assert json.loads(text) == d


def test_panel_tests_follow_the_chart():
    # all selected tests on Xbar / I; zone-free tests 1-4 on R, S and attribute charts; test 1
    # only on MR, EWMA and CUSUM panels
    assert stats.xbar_r(GOOD, 5)["xbar"].tests == tuple(range(1, 9))
    assert stats.xbar_r(GOOD, 5)["r"].tests == (1, 2, 3, 4)
    assert stats.xbar_s(GOOD, 5)["s"].tests == (1, 2, 3, 4)
    assert stats.imr(GOOD)["i"].tests == tuple(range(1, 9))
    assert stats.imr(GOOD)["mr"].tests == (1,)
    assert stats.p_chart(COUNTS, SIZES)["p"].tests == (1, 2, 3, 4)
    assert stats.ewma(GOOD)["ewma"].tests == (1,)
    assert stats.cusum(GOOD)["cusum_upper"].tests == (1,)
    assert stats.xbar_r(GOOD, 5, tests=[2, 6])["r"].tests == (2,)
    assert stats.imr(GOOD, rules="we")["i"].tests == (1, 2, 3, 4)


def test_summary_mentions_each_panel():
    for res in (_imr_result(), stats.xbar_r(GOOD, 5), stats.cusum(GOOD), stats.c_chart(COUNTS)):
        text = res.summary()
        assert res.chart in text
        for name in res.panels:
            assert name in text
        assert str(res) == text
    text = _imr_result().summary()
    assert "test 1" in text
    assert "-> 6" in text
