"""zhuoyue.stats — vectorized statistics for quality engineering (pure NumPy/SciPy, no I/O).

Control charts return one :class:`ChartResult` each::

    from zhuoyue import stats
    res = stats.xbar_r(values, 5)            # or subgroups=<one label per value>
    res.to_dict()                            # the documented JSON
    print(res.summary())
"""

from zhuoyue.stats import constants, rules
from zhuoyue.stats.arl import arl_cusum, arl_ewma, arl_shewhart
from zhuoyue.stats.capability import CapabilityResult, anderson_darling_normal, capability
from zhuoyue.stats.charts import (
    SIGMA_METHODS,
    c_chart,
    cusum,
    cusum_new_mean,
    ewma,
    imr,
    np_chart,
    p_chart,
    u_chart,
    xbar_r,
    xbar_s,
)
from zhuoyue.stats.msa import (
    BiasResult,
    GaugeRRResult,
    LinearityResult,
    bias_linearity,
    bias_study,
    gauge_rr,
)
from zhuoyue.stats.results import ChartResult, Panel
from zhuoyue.stats.rules import RuleSet, Violations, resolve_rules
from zhuoyue.stats.sigma import SigmaLevel, defect_rate, sigma_level
from zhuoyue.stats.yields import (
    CostOfQuality,
    DefectMetrics,
    RolledYield,
    cost_of_quality,
    dpmo,
    dpu,
    first_pass_yield,
    rolled_yield,
)

CHARTS = {
    "xbar_r": xbar_r,
    "xbar_s": xbar_s,
    "imr": imr,
    "p": p_chart,
    "np": np_chart,
    "c": c_chart,
    "u": u_chart,
    "ewma": ewma,
    "cusum": cusum,
}

__all__ = [
    "CHARTS",
    "SIGMA_METHODS",
    "BiasResult",
    "CapabilityResult",
    "ChartResult",
    "CostOfQuality",
    "DefectMetrics",
    "GaugeRRResult",
    "LinearityResult",
    "Panel",
    "RolledYield",
    "RuleSet",
    "SigmaLevel",
    "Violations",
    "anderson_darling_normal",
    "arl_cusum",
    "arl_ewma",
    "arl_shewhart",
    "bias_linearity",
    "bias_study",
    "c_chart",
    "capability",
    "constants",
    "cost_of_quality",
    "cusum",
    "cusum_new_mean",
    "defect_rate",
    "dpmo",
    "dpu",
    "ewma",
    "first_pass_yield",
    "gauge_rr",
    "imr",
    "np_chart",
    "p_chart",
    "resolve_rules",
    "rolled_yield",
    "rules",
    "sigma_level",
    "u_chart",
    "xbar_r",
    "xbar_s",
]
