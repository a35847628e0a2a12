"""``zhuoyue.monitor.MonitorState``: streaming the reference cases, events, errors, persistence.

Reference cases (``shared/reference/spc``, 1-based indexes in the files, 0-based here): the
values of each case are streamed one by one against the case's frozen centre and sigma, and the
violations must be those published in the file (where the file has phase II signals for the
monitor's convention) and exactly those of the batch chart in phase II with the same numbers.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest

from zhuoyue import stats
from zhuoyue.errors import DataError, ParameterError
from zhuoyue.monitor import MonitorState, RuleViolation, SpecBreach, SubgroupDropped

NELSON_KEYS = {
    1: "test1_1_beyond_3s",
    2: "test2_9_same_side",
    3: "test3_6_trend",
    4: "test4_14_alternating",
    5: "test5_2of3_beyond_2s_same_side",
    6: "test6_4of5_beyond_1s_same_side",
    7: "test7_15_within_1s",
    8: "test8_8_beyond_1s_either_side",
}
WE_KEYS = {
    1: "we1_1_beyond_3s",
    2: "we2_2of3_beyond_2s_same_side",
    3: "we3_4of5_beyond_1s_same_side",
    4: "we4_8_same_side",
}
QCC_RULES: dict[str, Any] = {"tests": [1, 2], "rule_k": {2: 7}}


# --------------------------------------------------------------------------- helpers


def run(m: MonitorState, values: Any, labels: Any = None) -> list[Any]:
    events: list[Any] = []
    for i, v in enumerate(values):
        events.extend(m.push(float(v), subgroup=None if labels is None else labels[i]))
    events.extend(m.flush())
    return events


def fired(events: list[Any], panel: str, test: int) -> list[int]:
    """1-based points of ``panel`` firing ``test``."""
    return [
        e.index + 1
        for e in events
        if isinstance(e, RuleViolation) and e.panel == panel and e.test == test
    ]


def triples(events: list[Any]) -> set[tuple[str, int, int]]:
    return {(e.panel, e.index, e.test) for e in events if isinstance(e, RuleViolation)}


def batch_triples(res: stats.ChartResult) -> set[tuple[str, int, int]]:
    return {
        (name, int(i), int(t))
        for name, p in res.panels.items()
        for i, t in zip(p.violations.index, p.violations.rule, strict=True)
    }


def pistonrings(case: Any) -> tuple[np.ndarray, list[str]]:
    return case.column("diameter"), case.text("sample")


# --------------------------------------------------------------------------- reference cases


@pytest.mark.parametrize("test8", ["either", "both"])
def test_reference_run_rules_pistonrings_gb4091(reference, test8):
    """All 8 tests on the piston-ring Xbar chart, phase II against the file's centre and sigma.

    Source: ``run_rules_pistonrings_xbar`` (``nelson_iso_minitab_tests``, variant
    ``test8_both_sides_required``; sigma = R̄/2.326, the qcc d2 table).
    """
    case = reference("run_rules_pistonrings_xbar")
    e = case.expected
    x, s = pistonrings(case)
    kw = {"rules": "gb4091", "test8": test8, "constants": "table"}
    m = MonitorState("xbar_r", e["center"], e["sigma"], subgroup_size=5, **kw)
    events = run(m, x, s)
    assert m.n_points == 40
    for test, key in NELSON_KEYS.items():
        expected = e["nelson_iso_minitab_tests"][key]
        if test == 8 and test8 == "both":
            expected = e["variants"]["test8_both_sides_required"]
        assert fired(events, "xbar", test) == expected, key
    res = stats.xbar_r(x, s, center=e["center"], sigma=e["sigma"], **kw)
    assert triples(events) == batch_triples(res)


def test_reference_run_rules_pistonrings_western_electric(reference):
    """Western Electric 1-4. Source: ``western_electric`` of ``run_rules_pistonrings_xbar``."""
    case = reference("run_rules_pistonrings_xbar")
    e = case.expected
    x, s = pistonrings(case)
    m = MonitorState("xbar_r", e["center"], e["sigma"], subgroup_size=5, rules="we",
                     constants="table")  # fmt: skip
    events = run(m, x, s)
    for test, key in WE_KEYS.items():
        assert fired(events, "xbar", test) == e["western_electric"][key], key
    res = stats.xbar_r(x, s, center=e["center"], sigma=e["sigma"], rules="we", constants="table")
    assert triples(events) == batch_triples(res)


def test_reference_run_rules_pistonrings_qcc27(reference):
    """qcc 2.7 rules: beyond limits and runs of 7. Source: ``qcc27_shewhart_rules``."""
    case = reference("run_rules_pistonrings_xbar")
    e = case.expected
    q = e["qcc27_shewhart_rules"]
    x, s = pistonrings(case)
    m = MonitorState("xbar_r", e["center"], e["sigma"], subgroup_size=5, constants="table",
                     **QCC_RULES)  # fmt: skip
    events = run(m, x, s)
    assert fired(events, "xbar", 1) == q["beyond_limits"]
    assert fired(events, "xbar", 2) == q["violating_runs_7"]


@pytest.mark.parametrize(
    ("case_name", "chart", "panel", "block"),
    [
        ("xbar_r_pistonrings", "xbar_r", "r", "R"),
        ("xbar_s_pistonrings", "xbar_s", "s", "S"),
    ],
)
@pytest.mark.parametrize("labelled", [True, False])
def test_reference_xbar_pistonrings_qcc_phase2(reference, case_name, chart, panel, block,
                                               labelled):  # fmt: skip
    """Phase II samples 26-40 against the phase I limits of samples 1-25: the Xbar panel's
    beyond-limits and runs-of-7 signals of qcc 2.7, streamed by label and by count.

    Source: ``xbar_r_pistonrings`` / ``xbar_s_pistonrings`` (qcc 2.7, ``newdata=``). The
    dispersion panel is compared with the batch (its qcc centre is the mean R / S of phase I,
    zhuoyue's frozen one d2σ / c4σ), and the qcc file lists no dispersion signals either.
    """
    case = reference(case_name)
    e = case.expected
    x, s = pistonrings(case)
    center, sigma = e["xbar"]["center"], e["xbar"]["std_dev"]
    kw: dict[str, Any] = {"constants": "table", **QCC_RULES}
    m = MonitorState(chart, center, sigma, subgroup_size=5, **kw)
    events = run(m, x, s if labelled else None)
    assert fired(events, "xbar", 1) == e["xbar"]["violations_beyond_limits_1based"]
    assert fired(events, "xbar", 2) == e["xbar"]["violations_runs_1based"]
    assert fired(events, panel, 1) == e[block]["violations_beyond_limits_1based"]
    res = stats.CHARTS[chart](x, 5, center=center, sigma=sigma, **kw)
    assert triples(events) == batch_triples(res)
    # the plotted statistics are the file's
    means = [ev.statistic for ev in events if isinstance(ev, RuleViolation) and ev.panel == "xbar"]
    idx = [ev.index for ev in events if isinstance(ev, RuleViolation) and ev.panel == "xbar"]
    np.testing.assert_allclose(means, np.array(e["xbar"]["statistics"])[idx], rtol=1e-9)


@pytest.mark.parametrize("chart", ["xbar_r", "xbar_s"])
@pytest.mark.parametrize("rules", ["gb4091", "we", "qcc"])
@pytest.mark.parametrize(
    "block", ["minitab_convention_exact_d2", "minitab_convention_qcc_d2_table"]
)
def test_reference_xbar_unequal_n(reference, chart, rules, block):
    """Unequal subgroup sizes (per-point limits): streamed by label, no nominal size.

    Source: ``xbar_unequal_n`` (centre and R̄-based sigma of the Minitab-convention blocks; the
    qcc block's xbar signals, none, for the qcc rules). Equal to the batch chart in phase II.
    """
    case = reference("xbar_unequal_n")
    b = case.expected[block]
    constants = "exact" if "exact" in block else "table"
    x, s = pistonrings(case)
    kw: dict[str, Any] = dict(QCC_RULES) if rules == "qcc" else {"rules": rules}
    center, sigma = b["xbar_center"], b["sigma_Rbar"]
    m = MonitorState(chart, center, sigma, constants=constants, **kw)
    events = run(m, x, s)
    sizes = [int(n) for n in case.expected["subgroup_sizes"]]
    assert m.n_points == len(sizes)
    res = stats.CHARTS[chart](x, s, center=center, sigma=sigma, constants=constants, **kw)
    assert triples(events) == batch_triples(res)
    if rules == "qcc":
        q = case.expected["qcc"]["xbar_UWAVE-R"]
        assert fired(events, "xbar", 1) == q["violations_beyond_limits_1based"]
        assert fired(events, "xbar", 2) == q["violations_runs_1based"]


@pytest.mark.parametrize("rules", ["gb4091", "we"])
@pytest.mark.parametrize("test8", ["both", "either"])
def test_reference_pistonrings_as_individuals(reference, rules, test8):
    """The 200 piston-ring diameters as individual values (I-MR), limits from the first 125.

    No published I-MR signals exist for these data: the reference is the batch chart.
    """
    case = reference("xbar_r_pistonrings")
    x = case.column("diameter")
    phase1 = stats.imr(x[:125])
    m = MonitorState("imr", phase1.center, phase1.sigma, rules=rules, test8=test8)
    events = run(m, x)
    res = stats.imr(x, center=phase1.center, sigma=phase1.sigma, rules=rules, test8=test8)
    assert triples(events) == batch_triples(res)
    assert triples(events)  # the data do signal


# --------------------------------------------------------------------------- behaviour


def test_imr_events_and_points():
    m = MonitorState("imr", 0.0, 1.0, lsl=-2.5, usl=2.5)
    events = run(m, [0.5] * 8 + [0.6, 4.0, -3.0])
    kinds = [
        (type(e).__name__, getattr(e, "panel", None), getattr(e, "test", None)) for e in events
    ]
    same_side = [e for e in events if isinstance(e, RuleViolation) and e.test == 2]
    assert [e.index for e in same_side] == [8, 9]  # the run goes on: each further point fires
    assert [e.points for e in same_side] == [tuple(range(9)), tuple(range(1, 10))]
    assert ("SpecBreach", None, None) in kinds
    breaches = [e for e in events if isinstance(e, SpecBreach)]
    assert [(b.value_index, b.side, b.limit) for b in breaches] == [
        (9, "usl", 2.5),
        (10, "lsl", -2.5),
    ]
    mr = [e for e in events if isinstance(e, RuleViolation) and e.panel == "mr"]
    assert [(e.index, e.statistic) for e in mr] == [(10, 7.0)]  # 3.4 < UCL 3.686; 7 > UCL
    assert m.tests("mr") == (1,)
    assert m.tests("i") == tuple(range(1, 9))


def test_k_of_k1_points_are_the_points_beyond_the_zone():
    m = MonitorState("imr", 0.0, 1.0, tests=[5])
    events = run(m, [2.5, 0.0, 2.1])
    assert [(e.index, e.points) for e in events] == [(2, (0, 2))]


def test_subgroup_closes_on_label_change_size_and_flush():
    m = MonitorState("xbar_r", 10.0, 1.0, subgroup_size=3, usl=100.0)
    assert m.push(10.0, subgroup="a") == []
    assert m.push(10.5, subgroup="a") == []
    assert m.pending == 2
    m.push(9.0, subgroup="b")  # closes "a" with 2 values
    assert (m.n_points, m.pending) == (1, 1)
    m.push(9.0, subgroup="b")
    m.push(9.0, subgroup="b")  # full: closes "b"
    assert (m.n_points, m.pending) == (2, 0)
    with pytest.raises(DataError) as err:
        m.push(9.0, subgroup="b")
    assert err.value.code == "subgroup_closed"
    m.push(200.0, subgroup="c", ts="t1", key="k1")
    events = m.flush()
    assert [type(e) for e in events] == [SubgroupDropped]
    assert (events[0].subgroup, events[0].ts, events[0].key) == ("c", "t1", "k1")
    assert m.n_points == 2
    assert m.flush() == []


def test_unlabelled_subgroups_by_count_and_mixing_rejected():
    m = MonitorState("xbar_s", 0.0, 1.0, subgroup_size=2)
    for v in (0.1, 0.2, 0.3):
        m.push(v)
    assert (m.n_points, m.pending) == (1, 1)
    with pytest.raises(DataError) as err:
        m.push(0.4, subgroup="x")
    assert err.value.code == "missing_subgroup"
    labels_only = MonitorState("xbar_r", 0.0, 1.0)
    with pytest.raises(DataError) as err:
        labels_only.push(0.4)
    assert err.value.code == "missing_subgroup"


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, "x", None, True])
def test_bad_values_rejected_state_unchanged(bad):
    m = MonitorState("xbar_r", 0.0, 1.0, subgroup_size=3)
    m.push(0.1)
    before = m.to_dict()
    with pytest.raises(DataError) as err:
        m.push(bad)
    assert err.value.code in ("not_finite", "not_a_number")
    assert err.value.index == 1
    assert m.to_dict() == before


def test_table_constants_cap_labelled_subgroups():
    m = MonitorState("xbar_r", 0.0, 1.0, constants="table")
    for _ in range(25):
        m.push(0.0, subgroup=1)
    with pytest.raises(DataError) as err:
        m.push(0.0, subgroup=1)
    assert err.value.code == "subgroup_too_large"
    assert m.pending == 25


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        (("p", 0.0, 1.0), {}),
        (("imr", 0.0, 0.0), {}),
        (("imr", math.nan, 1.0), {}),
        (("imr", 0.0, 1.0), {"subgroup_size": 5}),
        (("xbar_r", 0.0, 1.0), {"subgroup_size": 1}),
        (("xbar_r", 0.0, 1.0), {"subgroup_size": 30, "constants": "table"}),
        (("xbar_r", 0.0, 1.0), {"lsl": 2.0, "usl": 1.0}),
        (("xbar_r", 0.0, 1.0), {"rules": "nelson"}),
        (("xbar_r", 0.0, 1.0), {"tests": [9]}),
        (("imr", 0.0, 1.0), {"constants": "qcc"}),
    ],
)
def test_parameters_checked(args, kwargs):
    with pytest.raises(ParameterError):
        MonitorState(*args, **kwargs)


def test_push_argument_types_checked():
    m = MonitorState("imr", 0.0, 1.0)
    with pytest.raises(ParameterError):
        m.push(1.0, subgroup=1.5)  # type: ignore[arg-type]
    with pytest.raises(ParameterError):
        m.push(1.0, key=[1])  # type: ignore[arg-type]
    with pytest.raises(ParameterError):
        m.push(1.0, ts=math.nan)
    assert m.n_values == 0


def test_to_dict_round_trip_with_datetimes_and_open_subgroup():
    ts = datetime(2025, 3, 1, 8, 30, tzinfo=UTC)
    m = MonitorState("xbar_r", 0.0, 1.0, subgroup_size=3, rules="we", rule_k={4: 6}, usl=9.0)
    m.push(0.5, subgroup="a", ts=ts, key=1)
    saved = json.loads(json.dumps(m.to_dict(), allow_nan=False))
    back = MonitorState.from_dict(saved)
    assert back.to_dict() == m.to_dict()
    assert back.rules.k_of(4) == 6.0
    a = m.push(0.7, subgroup="a", ts=ts, key=2) + m.push(9.5, subgroup="a", ts=ts, key=3)
    b = back.push(0.7, subgroup="a", ts=ts, key=2) + back.push(9.5, subgroup="a", ts=ts, key=3)
    assert [e.to_dict() for e in a] == [e.to_dict() for e in b]
    assert any(isinstance(e, SpecBreach) for e in a)
    assert json.dumps([e.to_dict() for e in a])


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.update(version=99),
        lambda d: d.pop("panels"),
        lambda d: d["panels"]["xbar"].update(tests=[]),
        lambda d: d["panels"]["xbar"]["tests"][0].__setitem__(1, ["x", 0]),
        lambda d: d.update(n_values=-1),
        lambda d: d["open"].update(values=[0.1, 0.2, 0.3]),
        lambda d: d["open"].update(first=7),
        lambda d: d["config"].update(chart="p"),
    ],
)
def test_from_dict_rejects_damaged_state(mutate):
    m = MonitorState("xbar_r", 0.0, 1.0, subgroup_size=3)
    m.push(0.5)
    saved = m.to_dict()
    mutate(saved)
    with pytest.raises(ParameterError):
        MonitorState.from_dict(saved)


def test_no_rules_only_spec_events():
    m = MonitorState("imr", 0.0, 1.0, rules="none", usl=1.0)
    events = run(m, [5.0, -5.0, 5.0])
    assert [e.kind for e in events] == ["spec", "spec"]
