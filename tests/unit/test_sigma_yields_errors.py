"""Bad input to the sigma-level conversions, yields and cost of quality.

Parameter misuse (none or several inputs, a bad ``tails`` or ``shift``, lengths that differ,
a wrong type) raises :class:`~zhuoyue.errors.ParameterError`; values that cannot be used (counts
that are negative, fractional or inconsistent, a DPMO of a million, an unknown category, an
output value ≤ 0) raise :class:`~zhuoyue.errors.DataError` with a stable ``code`` and, for a row,
its 0-based ``index``. Both subclass ``ValueError``. The tests check the class, the code, the
index and the key words of the message a person reads.

``output_value`` ≤ 0 is a DataError: it is the enterprise's own figure from the ``output_value``
table, not a tuning parameter, and the shells report it with the other data problems (exit 4).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from zhuoyue.errors import DataError, ParameterError, ZhuoyueError
from zhuoyue.stats.sigma import SigmaLevel, defect_rate, sigma_level
from zhuoyue.stats.yields import cost_of_quality, dpmo, dpu, first_pass_yield, rolled_yield


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


# --------------------------------------------------------------------------- sigma_level


def test_sigma_level_needs_exactly_one_input() -> None:
    raises(ParameterError, lambda: sigma_level(), "exactly one", "Got none")
    raises(ParameterError, lambda: sigma_level(ppm=1, dpmo=2), "Got ppm and dpmo")
    raises(ParameterError, lambda: sigma_level(dpmo=1, yield_=0.9), "dpmo and yield")


@pytest.mark.parametrize("tails", [0, 3, True, 1.5, "1"])
def test_bad_tails(tails: Any) -> None:
    raises(ParameterError, lambda: sigma_level(dpmo=1, tails=tails), "'tails'", "1", "2")
    raises(ParameterError, lambda: defect_rate(3, tails=tails), "'tails'")


@pytest.mark.parametrize("shift", [-0.5, math.inf, math.nan, "big", None])
def test_bad_shift(shift: Any) -> None:
    raises(ParameterError, lambda: sigma_level(dpmo=1, shift=shift), "'shift'")
    raises(ParameterError, lambda: defect_rate(3, shift=shift), "'shift'")


def test_dpmo_of_a_million_or_more() -> None:
    err = raises(DataError, lambda: sigma_level(dpmo=1e6), "[0, 1 000 000)", "1e+06",
                 code="out_of_range")  # fmt: skip
    assert err.index is None  # a scalar has no index
    raises(DataError, lambda: sigma_level(ppm=[10, 2e6, 3e6]), "index 1", "(and 1 more)",
           code="out_of_range", index=1)  # fmt: skip
    raises(DataError, lambda: sigma_level(dpmo=-1), "got -1", code="out_of_range")
    raises(DataError, lambda: sigma_level(dpmo=[1, math.nan]), "index 1", index=1)
    raises(DataError, lambda: sigma_level(dpmo=1.5e6, tails=2), "[0, 1 000 000]")


def test_dpmo_zero_is_infinite_and_says_so() -> None:
    res = sigma_level(dpmo=0)
    assert res.level == math.inf and res.yield_ == 1.0
    assert any("infinite" in w for w in res.warnings)
    assert res.to_dict()["level"] is None  # JSON has no infinity; the warning explains it
    assert sigma_level(yield_=1.0).level == math.inf
    assert defect_rate(math.inf).dpmo == 0.0
    # two tails: a million DPMO is a level of 0
    assert sigma_level(dpmo=1e6, tails=2).level == 0.0


def test_bad_yield() -> None:
    raises(DataError, lambda: sigma_level(yield_=0), "(0, 1]", code="out_of_range")
    raises(DataError, lambda: sigma_level(yield_=1.01), "(0, 1]")
    raises(DataError, lambda: sigma_level(yield_=[0.9, 99.5]), "index 1", "percentages",
           index=1)  # fmt: skip


def test_bad_level() -> None:
    raises(DataError, lambda: defect_rate(math.nan), "number or +inf", code="out_of_range")
    raises(DataError, lambda: defect_rate([3, -math.inf]), "index 1", index=1)
    raises(DataError, lambda: defect_rate([1, -0.5], tails=2), ">= 0", "tails=1", index=1)


@pytest.mark.parametrize("bad", ["six", b"6", {"a": 1}])
def test_non_numeric_values(bad: Any) -> None:
    raises(ParameterError, lambda: defect_rate(bad), "'level'")
    raises(ParameterError, lambda: sigma_level(dpmo=bad), "'dpmo'")


def test_empty_values() -> None:
    raises(DataError, lambda: defect_rate([]), "empty", code="empty")


def test_sigma_result_shape_and_json() -> None:
    one = defect_rate(4.5)
    assert isinstance(one, SigmaLevel)
    assert isinstance(one.level, float) and isinstance(one.dpmo, float)
    many = defect_rate([[3, 4], [5, 6]])
    assert many.dpmo.shape == (2, 2)
    out = json.loads(json.dumps(many.to_dict(), allow_nan=False))
    assert set(out) == {"level", "dpmo", "ppm", "yield", "shift", "tails", "given", "annex_ppm",
                        "warnings"}  # fmt: skip
    assert "西格玛水平" in one.summary() and "yield" in one.summary()
    assert one._repr_html_().startswith("<pre>")
    with pytest.raises(AttributeError):
        one.level = 3.0  # type: ignore[misc]


# --------------------------------------------------------------------------- yields


def test_negative_counts() -> None:
    raises(DataError, lambda: first_pass_yield([10, -1], [5, 0]), "'submitted'", "index 1",
           code="negative", index=1)  # fmt: skip
    raises(DataError, lambda: rolled_yield([10, 10], [5, -2]), "'passed_first'", "-2",
           code="negative", index=1)  # fmt: skip
    raises(DataError, lambda: dpu([-3], [10]), "'defects'", code="negative", index=0)


def test_non_integer_counts() -> None:
    raises(DataError, lambda: first_pass_yield([10, 12.5], [5, 6]), "whole numbers", "12.5",
           code="not_integer", index=1)  # fmt: skip
    raises(DataError, lambda: dpmo([1, 0.5], 10, 4), "whole numbers", code="not_integer",
           index=1)  # fmt: skip
    raises(DataError, lambda: dpmo(1, 10, 2.5), "'opportunities'", code="not_integer")


def test_not_finite_counts() -> None:
    raises(DataError, lambda: first_pass_yield([10, math.nan], [5, 6]), "finite",
           code="not_finite", index=1)  # fmt: skip


def test_passed_exceeds_submitted() -> None:
    raises(DataError, lambda: first_pass_yield([10, 20, 30], [10, 21, 31]), "exceeds",
           "index 1", "(and 1 more)", "swapped", code="passed_exceeds_submitted",
           index=1)  # fmt: skip
    raises(DataError, lambda: rolled_yield([5], [6], step=["A"]), "exceeds", index=0)


def test_zero_submitted_or_units() -> None:
    raises(DataError, lambda: first_pass_yield([10, 0], [5, 0]), "'submitted' > 0",
           code="not_positive", index=1)  # fmt: skip
    raises(DataError, lambda: dpu([1, 2], [10, 0]), "'units' > 0", code="not_positive",
           index=1)  # fmt: skip
    raises(DataError, lambda: dpmo(1, [-5], 3), "'units' > 0", index=0)
    raises(DataError, lambda: dpmo(1, 10, 0), "'opportunities' > 0", code="not_positive")


def test_defects_exceed_opportunities() -> None:
    raises(DataError, lambda: dpmo([1, 50], [10, 10], 4), "exceed the 40 opportunities",
           "per unit", code="defects_exceed_opportunities", index=1)  # fmt: skip


def test_every_opportunity_defective_has_no_level() -> None:
    res = dpmo(40, 10, 4)
    assert res.dpmo == 1e6 and res.sigma is None
    assert any("no sigma level" in w for w in res.warnings)


def test_zero_defects_is_infinite_level() -> None:
    res = dpmo(0, 1000, 5)
    assert res.sigma is not None and res.sigma.level == math.inf
    assert any("infinite" in w for w in res.warnings)


def test_length_mismatch() -> None:
    raises(ParameterError, lambda: first_pass_yield([10, 20], [5]), "one value per row")
    raises(ParameterError, lambda: rolled_yield([10, 20], [5, 6], step=["A"]), "one label per row")
    raises(ParameterError, lambda: dpmo([1, 2], [10, 10, 10], 4), "'units'")


def test_empty_rows() -> None:
    raises(DataError, lambda: first_pass_yield([], []), "no rows", code="empty")
    raises(DataError, lambda: rolled_yield(first_pass_yields=[]), "no steps", code="empty")


def test_rolled_yield_input_forms() -> None:
    raises(ParameterError, lambda: rolled_yield(), "either", "neither")
    raises(ParameterError, lambda: rolled_yield([10], [9], first_pass_yields=[0.9]), "both")
    raises(ParameterError, lambda: rolled_yield([10]), "'passed_first' is missing")


def test_rolled_yield_bad_step_yields() -> None:
    raises(DataError, lambda: rolled_yield(first_pass_yields=[0.9, 1.2]), "[0, 1]", "index 1",
           code="out_of_range", index=1)  # fmt: skip
    raises(DataError, lambda: rolled_yield(first_pass_yields=[95, 98]), "percentages")
    raises(DataError, lambda: rolled_yield(first_pass_yields=[0.9, 0.8, 0.7],
                                           step=["A", "B", "A"]),
           "step A appears again at index 2", code="duplicate_step", index=2)  # fmt: skip


def test_missing_step_label() -> None:
    raises(DataError, lambda: rolled_yield([10, 10], [9, 9], step=["A", None]), "step missing",
           code="missing_step", index=1)  # fmt: skip
    raises(DataError, lambda: rolled_yield([10, 10], [9, 9], step=["A", " "]), index=1)


def test_zero_yield_step_warns() -> None:
    res = rolled_yield([10, 10], [0, 9], step=["A", "B"])
    assert res.rolled_yield == 0.0 and res.weakest_step == "A"
    assert any("step A" in w for w in res.warnings)


# --------------------------------------------------------------------------- cost of quality


def test_unknown_category_names_the_row() -> None:
    err = raises(DataError, lambda: cost_of_quality(["prevention", "报废", "overtime", "xx"],
                                                    [1, 2, 3, 4], 100),
                 "unknown category 'overtime' at index 2", "(and 1 more)", "internal.scrap",
                 "报废损失费", code="unknown_category", index=2)  # fmt: skip
    assert "external.warranty" in str(err)


def test_missing_category() -> None:
    raises(DataError, lambda: cost_of_quality(["prevention", None], [1, 2], 100),
           "category missing at index 1", code="missing_category", index=1)  # fmt: skip
    raises(DataError, lambda: cost_of_quality(["prevention", math.nan], [1, 2], 100), index=1)


def test_negative_amount_names_the_row() -> None:
    raises(DataError, lambda: cost_of_quality(["prevention", "报废"], [5, -2], 100),
           "amounts >= 0", "-2 at index 1", "Net a recovery", code="negative",
           index=1)  # fmt: skip
    raises(DataError, lambda: cost_of_quality(["prevention"], [math.inf], 100), "finite",
           code="not_finite", index=0)  # fmt: skip


@pytest.mark.parametrize("value", [0, -1e6, math.nan, math.inf])
def test_output_value_not_positive(value: float) -> None:
    raises(DataError, lambda: cost_of_quality(["prevention"], [1], value), "年度总产值", "> 0",
           code="output_value_not_positive")  # fmt: skip


@pytest.mark.parametrize("value", ["1e6", None, True])
def test_output_value_wrong_type(value: Any) -> None:
    raises(ParameterError, lambda: cost_of_quality(["prevention"], [1], value), "'output_value'")


def test_cost_of_quality_other_misuse() -> None:
    raises(ParameterError, lambda: cost_of_quality(["prevention"], [1, 2], 100),
           "one label per row")  # fmt: skip
    raises(ParameterError, lambda: cost_of_quality(["prevention"], [1], 100, year="2024"),
           "'year'")  # fmt: skip
    raises(DataError, lambda: cost_of_quality([], [], 100), "not tracked", code="empty")
    res = cost_of_quality(["prevention"], [1], 100)
    raises(ParameterError, lambda: res.rate("overhead"), "'of'")


def test_category_spellings() -> None:
    """English is case-insensitive with ``_``/``-``/space for the dot; Chinese aliases work."""
    res = cost_of_quality([" Internal_Scrap ", "EXTERNAL-RETURN", "external warranty", "返修费",
                           "检验成本"], [1, 2, 3, 4, 5], 100)  # fmt: skip
    t = res.totals_by_category
    assert (t["internal.scrap"], t["external.return"], t["external.warranty"]) == (1, 2, 3)
    assert (t["internal.rework"], t["appraisal"]) == (4, 5)


def test_cost_of_quality_warnings() -> None:
    res = cost_of_quality(["prevention"], [10], 1000)
    assert res.internal_loss_rate == 0 and res.pareto == ()
    assert any("no failure cost" in w for w in res.warnings)
    # failure cost at 40 % of output value: probably 元 against 万元
    res = cost_of_quality(["报废"], [400], 1000)
    assert any("万元" in w for w in res.warnings)


def test_results_are_frozen_and_json_ready() -> None:
    ry = rolled_yield([10, 10], [9, 8])
    coq = cost_of_quality(["报废", "索赔"], [10, 5], 1000, year=2024)
    d = dpmo(3, 100, 5)
    for res in (ry, coq, d):
        text = json.dumps(res.to_dict(), ensure_ascii=False, allow_nan=False)
        assert json.loads(text) == res.to_dict()
        assert res._repr_html_().startswith("<pre>")
        assert str(res) == res.summary()
    assert "全过程一次交验合格率" in ry.summary()
    assert "内部质量损失率" in coq.summary() and "外部质量损失率" in coq.summary()
    assert "DPMO" in d.summary()
    with pytest.raises(AttributeError):
        coq.total = 0.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        coq.totals_by_category["prevention"] = 1.0  # type: ignore[index]
    assert np.isclose(d.to_dict()["sigma"]["dpmo"], 6000.0)
