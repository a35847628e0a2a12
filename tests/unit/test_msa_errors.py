"""Bad input to the MSA functions, edge cases, and the JSON shape of their results.

Every error is a :class:`~zhuoyue.errors.DataError` (the data cannot be used; ``code`` and, where
a value is at fault, ``index``) or a :class:`~zhuoyue.errors.ParameterError`; the tests check the
class, the code, the index and the key words of the message a person reads.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest

from zhuoyue.errors import DataError, ParameterError
from zhuoyue.stats import msa

# a 3 parts x 2 operators x 2 trials study
PARTS = np.repeat([1, 2, 3], 4)
OPS = np.tile(["A", "A", "B", "B"], 3)
VALUES = np.array([10.0, 10.1, 10.2, 10.2, 11.0, 11.1, 11.3, 11.1, 9.0, 9.2, 9.1, 9.3])


def grr(**kw: Any) -> msa.GaugeRRResult:
    return msa.gauge_rr(PARTS, OPS, VALUES, **kw)


def data_error(code: str, *words: str, index: int | None = None, **kw: Any) -> DataError:
    args = kw.pop("args", (PARTS, OPS, VALUES))
    with pytest.raises(DataError) as info:
        msa.gauge_rr(*args, **kw)
    err = info.value
    assert err.code == code, str(err)
    for w in words:
        assert w in str(err), str(err)
    if index is not None:
        assert err.index == index
    return err


# --------------------------------------------------------------------------- parameters


@pytest.mark.parametrize(
    ("kw", "needle"),
    [
        ({"method": "range"}, "'method'"),
        ({"interaction": "drop"}, "'interaction'"),
        ({"ndc_rule": "1.414"}, "'ndc_rule'"),
        ({"constants": "table"}, "'constants'"),
        ({"alpha_remove": 1.5}, "alpha_remove"),
        ({"alpha_remove": "x"}, "alpha_remove"),
        ({"study_var": 0}, "study_var"),
        ({"study_var": math.nan}, "study_var"),
        ({"tolerance": 0.0}, "tolerance"),
        ({"tolerance": 1.0, "lsl": 0.0, "usl": 1.0}, "not both"),
        ({"lsl": 1.0}, "only lsl"),
        ({"usl": 1.0}, "only usl"),
        ({"lsl": 2.0, "usl": 1.0}, "usl > lsl"),
        ({"process_sigma": -1.0}, "process_sigma"),
        ({"confidence": 1.5}, "confidence"),
        ({"confidence": 0.0}, "confidence"),
        ({"method": "xbar_r", "confidence": 0.9}, "method='anova'"),
        ({"method": "xbar_r", "interaction": "keep"}, "no interaction"),
    ],
)
def test_bad_parameters(kw: dict[str, Any], needle: str) -> None:
    with pytest.raises(ParameterError, match=None) as info:
        grr(**kw)
    assert needle in str(info.value)
    assert isinstance(info.value, ValueError)


def test_labels_of_wrong_length() -> None:
    with pytest.raises(ParameterError, match="one label per value"):
        msa.gauge_rr(PARTS[:-1], OPS, VALUES)


def test_aiag_k_tables_cover_2_to_3_operators_and_2_to_10_parts() -> None:
    parts = np.repeat(np.arange(11), 4)
    ops = np.tile(["A", "A", "B", "B"], 11)
    y = np.arange(44.0) % 7 + parts
    with pytest.raises(ParameterError, match="constants='exact'"):
        msa.gauge_rr(parts, ops, y, method="xbar_r")
    res = msa.gauge_rr(parts, ops, y, method="xbar_r", constants="exact")
    assert res.constants == "exact" and res.average_range is not None
    with pytest.raises(ParameterError):
        msa.k_factors(3, 3, 10, constants="duncan")


def test_d2_star_parameters() -> None:
    with pytest.raises(ParameterError):
        msa.d2_star(1)
    with pytest.raises(ParameterError):
        msa.d2_star(2.5)  # type: ignore[arg-type]
    with pytest.raises(ParameterError):
        msa.d2_star(3, 0.5)


# --------------------------------------------------------------------------- data


def test_value_not_finite_names_the_index() -> None:
    y = VALUES.copy()
    y[5] = np.nan
    data_error("not_finite", "index 5", index=5, args=(PARTS, OPS, y))
    y[5] = np.inf
    data_error("not_finite", "inf", index=5, args=(PARTS, OPS, y))


def test_value_not_a_number() -> None:
    y = VALUES.astype(object)
    y[3] = "12,5x"
    with pytest.raises(DataError, match="not numbers"):
        msa.gauge_rr(PARTS, OPS, y)


@pytest.mark.parametrize("missing", [None, math.nan, ""])
def test_missing_labels(missing: Any) -> None:
    ops = OPS.astype(object)
    ops[7] = missing
    data_error(
        "missing_label", "operator label is missing at index 7", index=7, args=(PARTS, ops, VALUES)
    )
    parts = PARTS.astype(float)
    parts[2] = math.nan
    data_error("missing_label", "part label", index=2, args=(parts, OPS, VALUES))


def test_one_operator_one_part_one_trial() -> None:
    data_error(
        "too_few_operators", "at least 2 operators", "found 1 (A)", args=(PARTS, ["A"] * 12, VALUES)
    )
    data_error("too_few_parts", "at least 2 parts", args=([7] * 12, OPS, VALUES))
    parts = np.repeat([1, 2, 3], 2)
    ops = np.tile(["A", "B"], 3)
    data_error("one_trial", "at least 2 trials", "repeatability", args=(parts, ops, VALUES[:6]))


def test_missing_cell_names_part_and_operator() -> None:
    keep = ~((PARTS == 2) & (OPS == "B"))
    err = data_error(
        "missing_cell",
        "part 2 / operator B",
        "crossed",
        args=(PARTS[keep], OPS[keep], VALUES[keep]),
    )
    assert err.index is None


def test_unbalanced_cell_names_counts_and_first_row() -> None:
    drop = np.ones(PARTS.size, dtype=bool)
    drop[6] = False  # part 2 / operator B keeps 1 of 2 trials
    err = data_error(
        "unbalanced",
        "part 2 / operator B has 1 measurement while most cells have 2",
        args=(PARTS[drop], OPS[drop], VALUES[drop]),
    )
    assert err.index == 6  # the remaining value of that cell, at position 6 after the drop
    extra_p = np.append(PARTS, 3)
    extra_o = np.append(OPS, "A")
    data_error(
        "unbalanced",
        "part 3 / operator A has 3 measurements",
        index=8,
        args=(extra_p, extra_o, np.append(VALUES, 9.1)),
    )


def test_no_variation_and_no_data() -> None:
    data_error("zero_spread", "all 12 measurements are equal", args=(PARTS, OPS, np.full(12, 5.0)))
    data_error("empty", "no values", args=([], [], []))


# --------------------------------------------------------------------------- edge results


def test_perfect_gauge_has_no_ndc() -> None:
    """Repeat readings and operators agree exactly: GRR = 0, ndc undefined (JSON null)."""
    y = np.repeat([10.0, 11.0, 9.0], 4)
    res = msa.gauge_rr(PARTS, OPS, y, interaction="pool")
    assert res.variance["grr"] == 0.0 and res.ndc is None
    assert res.verdict.code == "acceptable"
    assert any("no measurement variation" in w for w in res.warnings)
    out = json.loads(json.dumps(res.to_dict(), allow_nan=False))
    assert out["ndc"] is None and out["ndc_raw"] is None


def test_negative_appraiser_variation_is_zeroed() -> None:
    # operators agree on average: (X_diff K2)² < EV²/(n r)
    y = np.array([10.0, 10.4, 10.4, 10.0, 11.0, 11.4, 11.4, 11.0, 9.0, 9.4, 9.4, 9.0])
    res = msa.gauge_rr(PARTS, OPS, y, method="xbar_r")
    assert res.zeroed == ("reproducibility",) and res.variance["reproducibility"] == 0.0
    assert any("AV" in w for w in res.warnings)


def test_ranges_beyond_ucl_are_reported() -> None:
    y = VALUES.copy()
    y[1] += 3.0
    res = grr(interaction="keep")
    assert not any("UCL" in w for w in res.warnings)
    parts = np.repeat(np.arange(1, 6), 4)
    ops = np.tile(["A", "A", "B", "B"], 5)
    y = parts + np.tile([0.0, 0.1, 0.05, 0.12], 5)
    y[1] += 2.0
    res = msa.gauge_rr(parts, ops, y)
    assert any("part 1 / operator A" in w and "UCL" in w for w in res.warnings)


def test_labels_any_type_and_natural_order() -> None:
    text_parts = np.array([str(v) for v in np.repeat([1, 2, 10], 4)])
    res = msa.gauge_rr(text_parts, OPS, VALUES)
    assert res.parts == ("1", "2", "10")
    mixed = np.array([1, "x", 2.5] * 4, dtype=object)[
        np.argsort(np.tile([0, 1, 2], 4), kind="stable")
    ]
    res2 = msa.gauge_rr(mixed, OPS, VALUES)
    assert res2.parts == ("1", "2.5", "x")
    dates = np.repeat(
        np.array(["2024-01-01", "2024-01-02", "2024-01-03"], dtype="datetime64[D]"), 4
    )
    assert msa.gauge_rr(dates, OPS, VALUES).n_parts == 3


def test_result_json_summary_charts() -> None:
    res = grr(tolerance=2.0, process_sigma=1.0, confidence=0.9)
    text = json.dumps(res.to_dict(), allow_nan=False, ensure_ascii=False)
    out = json.loads(text)
    assert out["study"] == "gauge_rr" and out["verdict"]["code"] in (
        "acceptable",
        "conditional",
        "unacceptable",
    )
    assert set(out["acceptance"]) == {"study_var", "tolerance", "process", "ndc"}
    assert out["intervals"]["confidence"] == 0.9
    assert len(out["intervals"]["sd"]["grr"]) == 2
    summary = res.summary()
    for needle in ("量具R&R合计", "Total Gage R&R", "%Tolerance", "%Process", "ndc", "置信区间"):
        assert needle in summary
    assert res._repr_html_().startswith("<pre>")
    charts = json.loads(json.dumps(res.charts(), allow_nan=False))
    assert charts["r_chart"]["operators"] == ["A", "B"]
    assert np.asarray(charts["r_chart"]["ranges"]).shape == (2, 3)  # operators x parts
    assert np.asarray(charts["by_part"]["values"]).shape == (3, 4)
    assert np.asarray(charts["interaction"]["means"]).shape == (2, 3)
    assert charts["components"]["sources"] == ["grr", "repeatability", "reproducibility", "part"]
    assert charts["r_chart"]["ucl"] > charts["r_chart"]["center"] >= charts["r_chart"]["lcl"]


# --------------------------------------------------------------------------- bias and linearity

REF = np.repeat([1.0, 2.0, 3.0], 4)
X = REF + np.tile([0.01, -0.02, 0.03, 0.0], 3)


def test_bias_study_errors() -> None:
    with pytest.raises(DataError, match="at least 2 readings") as info:
        msa.bias_study(1.0, [1.1])
    assert info.value.code == "too_few"
    with pytest.raises(DataError) as info:
        msa.bias_study(1.0, [1.1, math.nan, 1.0])
    assert info.value.index == 1 and info.value.code == "not_finite"
    with pytest.raises(ParameterError, match="confidence"):
        msa.bias_study(1.0, [1.0, 1.1], confidence=95)
    with pytest.raises(ParameterError, match="tolerance"):
        msa.bias_study(1.0, [1.0, 1.1], tolerance=-1)
    with pytest.raises(ParameterError, match="reference_value"):
        msa.bias_study(math.inf, [1.0, 1.1])


def test_bias_study_no_spread() -> None:
    res = msa.bias_study(1.0, [1.2, 1.2, 1.2])
    assert res.row.t == math.inf and res.row.p == 0.0 and not res.acceptable
    assert any("all readings are equal" in w for w in res.warnings)
    json.dumps(res.to_dict(), allow_nan=False)
    assert "偏倚" in res.summary()


def test_bias_linearity_errors() -> None:
    with pytest.raises(ParameterError, match="one reference value per reading"):
        msa.bias_linearity(REF[:-1], X)
    with pytest.raises(DataError, match="bias_study") as info:
        msa.bias_linearity(np.ones(5), np.ones(5))
    assert info.value.code == "too_few_parts"
    parts = np.repeat(["a", "b", "c"], 4)
    ref = REF.copy()
    ref[6] = 2.5
    with pytest.raises(DataError, match="part b has more than one reference value") as info:
        msa.bias_linearity(ref, X, parts=parts)
    assert info.value.index == 6 and info.value.code == "reference_varies"
    with pytest.raises(DataError, match="bias_study"):
        msa.bias_linearity(np.ones(12), X, parts=parts)
    x = X.copy()
    x[4] = math.inf
    with pytest.raises(DataError) as info:
        msa.bias_linearity(REF, x)
    assert info.value.index == 4


def test_bias_linearity_single_readings_and_json() -> None:
    ref = np.array([1.0, 2.0, 3.0, 3.0])
    res = msa.bias_linearity(ref, ref + np.array([0.1, 0.0, -0.1, -0.05]))
    assert res.parts[0].t is None and res.parts[0].ci is None
    assert any("single reading" in w for w in res.warnings)
    out = json.loads(json.dumps(res.to_dict(), allow_nan=False, ensure_ascii=False))
    assert out["study"] == "linearity" and out["n_parts"] == 3
    charts = json.loads(json.dumps(res.charts(), allow_nan=False))
    assert len(charts["fit"]["reference"]) == 101
    assert "Linearity" in res.summary() or "%Linearity" in res.summary()


def test_no_repeat_variation_keeps_tests_undefined() -> None:
    """Operators differ by a constant, repeat readings agree exactly: the interaction's F is 0/0
    (rounding noise is not taken for an interaction), so it is pooled and JSON shows null."""
    y = np.repeat([10.0, 11.0, 9.0], 4) + np.tile([0.0, 0.0, 0.1, 0.1], 3)
    res = msa.gauge_rr(PARTS, OPS, y)
    assert res.anova is not None
    row = res.anova[2]
    assert row.source == "part_x_operator" and row.ss == 0.0
    assert math.isnan(row.f or 0.0) and res.interaction_pooled
    assert res.variance["repeatability"] == 0.0 and res.variance["operator"] > 0.0
    out = json.loads(json.dumps(res.to_dict(), allow_nan=False))
    assert out["anova"][2]["f"] is None and out["interaction"]["p_value"] is None
