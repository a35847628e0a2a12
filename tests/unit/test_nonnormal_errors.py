"""Bad input to ``capability_nonnormal`` and its helpers, and the shape of the result.

Every error is a :class:`~zhuoyue.errors.DataError` (the data cannot be used) or a
:class:`~zhuoyue.errors.ParameterError` (a parameter value cannot be used), both ``ValueError``.
The tests check the class, the ``code`` and ``index`` where set, and the key words of the
message a person reads (what was needed, what was found, what to do).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from scipy import stats

from zhuoyue.errors import DataError, ParameterError, ZhuoyueError
from zhuoyue.stats.nonnormal import (
    METHODS,
    NonNormalCapability,
    ad_normal_pvalue,
    anderson_darling,
    boxcox_lambda,
    capability_nonnormal,
    gamma_mle,
    weibull_mle,
)

# 40 positive, right-skewed values without ties (exact quantiles of a gamma(2) distribution)
GOOD = stats.gamma(2.0).ppf((np.arange(1, 41) - 0.5) / 40)
POSITIVE_ONLY = ["boxcox", "lognormal", "weibull", "gamma"]
FIT_METHODS = ["boxcox", "johnson", "lognormal", "weibull", "gamma", "normal"]


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


# --------------------------------------------------------------------------- data


@pytest.mark.parametrize("method", METHODS)
def test_empty(method):
    raises(DataError, lambda: capability_nonnormal([], usl=5, method=method), "needs at least 10")


@pytest.mark.parametrize("method", METHODS)
def test_too_few_values(method):
    raises(
        DataError,
        lambda: capability_nonnormal(GOOD[:9], usl=5, method=method),
        "at least 10",
        "got 9",
        code="too_few",
    )


def test_few_values_warn():
    res = capability_nonnormal(GOOD[:12], usl=8, method="weibull")
    assert any("Only 12 values" in w for w in res.warnings)
    assert not any("Only" in w for w in capability_nonnormal(GOOD, usl=8).warnings)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite(bad):
    x = GOOD.copy()
    x[7] = bad
    raises(
        DataError,
        lambda: capability_nonnormal(x, usl=8),
        "finite",
        "index 7",
        code="not_finite",
        index=7,
    )


def test_nan_omit():
    x = np.concatenate([GOOD, [np.nan, np.nan]])
    a = capability_nonnormal(x, usl=8, method="gamma", nan_policy="omit")
    b = capability_nonnormal(GOOD, usl=8, method="gamma")
    assert a.n == 40 and a.ppk == b.ppk
    raises(ParameterError, lambda: capability_nonnormal(x, usl=8, nan_policy="skip"), "nan_policy")


def test_nan_omit_reports_the_index_in_the_input():
    x = np.concatenate([[np.nan], GOOD])
    x[5] = -1.0
    raises(
        DataError,
        lambda: capability_nonnormal(x, usl=8, method="weibull", nan_policy="omit"),
        "index 5",
        index=5,
    )


def test_not_numbers():
    raises(DataError, lambda: capability_nonnormal(["a"] * 12, usl=1), "not numbers")


def test_two_dimensional():
    raises(ParameterError, lambda: capability_nonnormal(GOOD.reshape(8, 5), usl=5), "1-D")


def test_no_spread():
    raises(
        DataError,
        lambda: capability_nonnormal(np.full(20, 3.0), usl=5),
        "spread",
        "3.0",
        code="no_spread",
    )


@pytest.mark.parametrize("method", POSITIVE_ONLY)
def test_positive_only_methods_name_the_first_bad_value(method):
    x = GOOD.copy()
    x[3] = 0.0
    x[11] = -2.0
    err = raises(
        DataError,
        lambda: capability_nonnormal(x, usl=8, method=method),
        "> 0",
        "0.0 at index 3",
        "(and 1 more)",
        "johnson",
        code="not_positive",
        index=3,
    )
    assert "Johnson" in str(err) or "johnson" in str(err)


def test_auto_skips_positive_only_methods_for_negative_values():
    x = GOOD - 1.0
    res = capability_nonnormal(x, lsl=-1.5, usl=6)
    skipped = {c["method"]: c["message"] for c in res.candidates if c["status"] == "skipped"}
    assert set(skipped) == set(POSITIVE_ONLY)
    assert all("> 0" in m for m in skipped.values())
    assert res.method in ("normal", "johnson")


def test_johnson_without_a_good_fit():
    # two far-apart clusters: no Johnson curve makes that normal
    x = np.concatenate([np.linspace(0, 1, 30), np.linspace(10, 11, 30)])
    raises(
        DataError,
        lambda: capability_nonnormal(x, usl=12, method="johnson"),
        "johnson_p",
        "0.1",
        "method='auto'",
        code="no_fit",
    )
    # accepted when the criterion is lowered; in "auto" it is a candidate that does not qualify
    assert capability_nonnormal(x, usl=12, method="johnson", johnson_p=0.0).method == "johnson"
    res = capability_nonnormal(x, usl=12)
    johnson = next(c for c in res.candidates if c["method"] == "johnson")
    assert not johnson["acceptable"]
    assert "johnson_p" in johnson["message"]
    assert any("No method fits" in w for w in res.warnings)


def test_johnson_with_heavy_ties():
    x = np.array([1.0] * 20 + [2.0] * 20 + [3.0])
    raises(DataError, lambda: capability_nonnormal(x, usl=5, method="johnson"), code="no_fit")


# --------------------------------------------------------------------------- specs


def test_no_specification():
    raises(ParameterError, lambda: capability_nonnormal(GOOD), "at least one specification")


@pytest.mark.parametrize(("lsl", "usl"), [(5, 5), (6, 5)])
def test_lsl_not_below_usl(lsl, usl):
    raises(ParameterError, lambda: capability_nonnormal(GOOD, lsl, usl), "below 'usl'")


@pytest.mark.parametrize("name", ["lsl", "usl", "target"])
@pytest.mark.parametrize("value", [np.nan, np.inf, "x"])
def test_bad_spec_values(name, value):
    kwargs: dict[str, Any] = {"lsl": 0.01, "usl": 9.0}
    kwargs[name] = value
    raises(ParameterError, lambda: capability_nonnormal(GOOD, **kwargs), repr(name))


def test_boxcox_lsl_not_positive_is_never_violated():
    res = capability_nonnormal(GOOD, lsl=0.0, usl=8, method="boxcox")
    assert res.ppl is None and res.pp is None
    assert res.ppk == res.ppu
    assert res.ppm_overall["below_lsl"] == 0.0
    assert res.ppm_overall["total"] == res.ppm_overall["above_usl"]
    assert any("LSL = 0" in w and "cannot be transformed" in w for w in res.warnings)
    assert res.to_dict()["details"]["transformed_lsl"] is None  # -inf in JSON


def test_boxcox_usl_not_positive():
    raises(
        DataError,
        lambda: capability_nonnormal(GOOD, usl=-1.0, method="boxcox"),
        "USL = -1",
        "out of specification",
        code="spec_outside_support",
    )


def test_johnson_sb_spec_outside_the_bounds():
    # exact quantiles of a bounded SB distribution on (0, 10): the fit is SB with bounds near
    # the data range; specs beyond them cannot be violated under the model
    x = stats.johnsonsb(a=0.3, b=1.5, loc=0, scale=10).ppf((np.arange(1, 201) - 0.5) / 200)
    res = capability_nonnormal(x, lsl=-5, usl=15, method="johnson")
    assert res.details["family"] == "SB"
    assert res.ppk is None and res.pp is None
    assert res.ppm_overall == {"below_lsl": 0.0, "above_usl": 0.0, "total": 0.0}
    assert len(res.warnings) == 2
    raises(
        DataError,
        lambda: capability_nonnormal(x, usl=-5, method="johnson"),
        "USL = -5",
        code="spec_outside_support",
    )


def test_percentile_method_spec_below_zero_is_fine():
    res = capability_nonnormal(GOOD, lsl=-1, usl=8, method="gamma")
    assert res.ppm_overall["below_lsl"] == 0.0
    assert res.ppl is not None and res.ppl > res.ppu


# --------------------------------------------------------------------------- parameters


@pytest.mark.parametrize("method", ["", "weibul", 3, None, "Box-Cox"])
def test_bad_method(method):
    raises(ParameterError, lambda: capability_nonnormal(GOOD, usl=8, method=method), "'method'")


def test_method_is_case_insensitive():
    assert capability_nonnormal(GOOD, usl=8, method="Weibull").method == "weibull"


@pytest.mark.parametrize("method", ["johnson", "lognormal", "weibull", "gamma", "normal"])
def test_lam_only_for_boxcox(method):
    raises(
        ParameterError,
        lambda: capability_nonnormal(GOOD, usl=8, method=method, lam=0.5),
        "'lam'",
        "boxcox",
    )


@pytest.mark.parametrize("lam", [5.5, -6, np.nan, "half"])
def test_bad_lam(lam):
    raises(ParameterError, lambda: capability_nonnormal(GOOD, usl=8, method="boxcox", lam=lam))


def test_lam_and_round_lambda():
    raises(
        ParameterError,
        lambda: capability_nonnormal(GOOD, usl=8, method="boxcox", lam=0.5, round_lambda=True),
        "either",
    )
    raises(
        ParameterError,
        lambda: capability_nonnormal(GOOD, usl=8, method="boxcox", round_lambda="yes"),
        "round_lambda",
    )


@pytest.mark.parametrize("alpha", [0, 1, -0.1, np.nan])
def test_bad_alpha(alpha):
    raises(ParameterError, lambda: capability_nonnormal(GOOD, usl=8, alpha=alpha), "'alpha'")


@pytest.mark.parametrize("jp", [1, -0.1, 2])
def test_bad_johnson_p(jp):
    raises(ParameterError, lambda: capability_nonnormal(GOOD, usl=8, johnson_p=jp), "johnson_p")


def test_auto_uses_a_given_lambda_for_its_boxcox_candidate():
    res = capability_nonnormal(GOOD, usl=8, lam=0.5)
    boxcox = next(c for c in res.candidates if c["method"] == "boxcox")
    assert boxcox["params"]["lambda"] == 0.5
    assert boxcox["params"]["lambda_source"] == "given"


# --------------------------------------------------------------------------- helpers


def test_anderson_darling_errors():
    raises(DataError, lambda: anderson_darling([], stats.norm.cdf), "needs data", code="empty")
    raises(DataError, lambda: anderson_darling([1.0, np.nan], stats.norm.cdf), "finite")


def test_anderson_darling_clips_far_tails():
    # values far beyond the fitted distribution: large but finite
    a2 = anderson_darling([-50.0, 0.0, 50.0], stats.norm.cdf)
    assert math.isfinite(a2) and a2 > 100


@pytest.mark.parametrize("a2", [-0.1, np.nan, np.inf, "x", None])
def test_ad_normal_pvalue_bad_statistic(a2):
    raises(ParameterError, lambda: ad_normal_pvalue(a2, 10), "'a2'")


@pytest.mark.parametrize("n", [0, -3, 2.5, True, "10"])
def test_ad_normal_pvalue_bad_n(n):
    raises(ParameterError, lambda: ad_normal_pvalue(0.5, n), "'n'")


def test_ad_normal_pvalue_extremes():
    assert ad_normal_pvalue(0.0, 10) == pytest.approx(1.0, abs=2e-6)
    assert ad_normal_pvalue(1e6, 10) < 1e-150  # held at the formula's minimum, never rising


@pytest.mark.parametrize("func", [boxcox_lambda, weibull_mle, gamma_mle])
def test_mle_helpers_need_positive_values_with_spread(func):
    raises(DataError, lambda: func([1.0, -2.0, 3.0]), "index 1", code="not_positive")
    raises(DataError, lambda: func([2.0, 2.0, 2.0]), "spread", code="no_spread")


# --------------------------------------------------------------------------- result


@pytest.mark.parametrize("method", [*FIT_METHODS, "auto"])
def test_result_shape_and_json(method):
    res = capability_nonnormal(GOOD, lsl=0.01, usl=8, target=2.0, method=method)
    assert isinstance(res, NonNormalCapability)
    with pytest.raises(AttributeError):
        res.ppk = 3.0  # type: ignore[misc]  # frozen
    assert not hasattr(res, "__dict__")  # slots
    out = res.to_dict()
    text = json.dumps(out, allow_nan=False)
    assert json.loads(text)["method"] == res.method
    assert set(out) >= {
        "method",
        "pp",
        "ppl",
        "ppu",
        "ppk",
        "ppm_overall",
        "details",
        "candidates",
        "warnings",
    }
    assert set(out["ppm_overall"]) == {"below_lsl", "above_usl", "total"}
    assert out["details"]["ad_statistic"] > 0
    for c in out["candidates"]:
        assert c["status"] in ("fitted", "skipped", "failed")
    summary = res.summary()
    assert "Ppk" in summary and "PPM" in summary
    assert str(res) == summary
    assert res._repr_html_().startswith("<pre>")


def test_one_sided_specs():
    upper = capability_nonnormal(GOOD, usl=8, method="weibull")
    assert upper.ppl is None and upper.pp is None and upper.ppk == upper.ppu
    assert upper.ppm_overall["below_lsl"] is None
    assert upper.ppm_overall["total"] == upper.ppm_overall["above_usl"]
    lower = capability_nonnormal(GOOD, lsl=0.05, method="boxcox")
    assert lower.ppu is None and lower.pp is None and lower.ppk == lower.ppl
    assert lower.ppm_overall["above_usl"] is None


def test_poor_fit_of_an_explicit_method_warns():
    res = capability_nonnormal(GOOD, usl=8, method="normal")
    assert any("fit is poor" in w for w in res.warnings)
    assert res.candidates[0]["acceptable"] is False


def test_target_is_echoed_and_transformed():
    res = capability_nonnormal(GOOD, lsl=0.01, usl=8, target=2.0, method="boxcox", lam=0)
    assert res.target == 2.0
    assert res.details["transformed_target"] == pytest.approx(math.log(2.0), rel=1e-12)
