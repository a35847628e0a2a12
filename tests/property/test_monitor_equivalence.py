"""Streaming equals batch: ``MonitorState.push`` against the phase II chart functions (Hypothesis).

For random series, rule settings and frozen limits, the violations (panel, point index, test)
of the values streamed one by one through :class:`zhuoyue.monitor.MonitorState` must be exactly
those of :func:`zhuoyue.stats.imr` / ``xbar_r`` / ``xbar_s`` called with the same ``center=`` and
``sigma=`` -- compared as exact lists, no tolerance: the monitor promises bit-identical decisions.

The data are built to hit the hard cases on purpose: values on a grid of a quarter of the
plotted sigma around the centre (many ties, many points exactly on the centre line and on the
1σ, 2σ, 3σ boundaries), values computed as ``centre ± k·sigma`` exactly as the batch computes its
boundaries, and continuous noise. Rule settings are random: set, tests switched off, ``K``
overrides, test 8 wording, d2 constants.

A second group of properties cuts a stream anywhere, saves the state through JSON
(``to_dict`` / ``json`` / ``from_dict``) and checks that the resumed monitor reports exactly the
events of an uninterrupted run.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from zhuoyue import stats
from zhuoyue.monitor import MonitorState, RuleViolation
from zhuoyue.stats import constants as K
from zhuoyue.stats.rules import RULE_SETS

SOME = settings(max_examples=100, deadline=None)
MANY = settings(max_examples=200, deadline=None)

CENTERS = (0.0, 10.0, 74.0, -3.5, 0.1)
SIGMAS = (1.0, 2.0, 0.5, 0.01, 0.3, 0.7)
# the admissible K of each kind, small enough that patterns occur in short series
K_CHOICES = {
    "beyond": (1.5, 2.0, 2.5, 3.0, 3.5),
    "same_side": tuple(range(2, 12)),
    "trend": tuple(range(3, 9)),
    "alternate": tuple(range(4, 16)),
    "k_of_k1": tuple(range(2, 7)),
    "within": tuple(range(2, 17)),
    "mixture": tuple(range(2, 10)),
}


# --------------------------------------------------------------------------- strategies


@st.composite
def rule_settings(draw: Any) -> dict[str, Any]:
    """Rule set, tests switched on, K overrides and test 8 wording."""
    name = draw(st.sampled_from(["gb4091", "we"]))
    available = sorted(RULE_SETS[name])
    tests = draw(
        st.one_of(
            st.none(),
            st.lists(st.sampled_from(available), min_size=1, unique=True).map(sorted),
        )
    )
    chosen = available if tests is None else tests
    k: dict[int, float] = {}
    for t in chosen:
        if draw(st.booleans()):
            k[t] = draw(st.sampled_from(K_CHOICES[RULE_SETS[name][t][0]]))
    test8 = draw(st.sampled_from(["both", "either"]))
    return {"rules": name, "tests": tests, "rule_k": k or None, "test8": test8}


KINDS = ("grid", "grid", "boundary", "mixed", "noise")


def _series(
    draw: Any, size: int, center: float, unit: float, kinds: tuple[str, ...] = KINDS
) -> list[float]:
    """``size`` values: grid points (ties, exact boundaries), exact ``center ± k·unit``, noise."""
    kind = draw(st.sampled_from(kinds))
    grid = draw(st.lists(st.integers(-14, 14), min_size=size, max_size=size))
    if kind == "grid":
        return [center + j * (unit / 4.0) for j in grid]
    if kind == "boundary":
        return [center + (j % 7 - 3) * unit if j % 2 else center - (j % 4) * unit for j in grid]
    seed = draw(st.integers(0, 2**32 - 1))
    noise = np.random.default_rng(seed).normal(center, unit * 1.5, size).tolist()
    if kind == "noise":
        return [float(v) for v in noise]
    return [
        float(noise[i]) if j % 3 == 0 else center + j * (unit / 4.0) for i, j in enumerate(grid)
    ]


def _subgroups(
    draw: Any,
    sizes: list[int],
    center: float,
    sigma: float,
    constants: str,
    kinds: tuple[str, ...] = KINDS,
) -> list[float]:
    """Values subgroup by subgroup; besides the series kinds, subgroups of identical values
    exactly on a zone boundary of their own size (``center + l·sigma/√n`` computed as the
    batch computes its boundaries) and subgroups whose range is a boundary of the R chart."""
    base = _series(draw, sum(sizes), center, sigma / math.sqrt(min(sizes)), kinds)
    if kinds != KINDS:
        return base
    out: list[float] = []
    pos = 0
    for n in sizes:
        kind = draw(st.sampled_from(["series", "series", "flat", "range"]))
        level = float(draw(st.integers(-3, 3)))
        if kind == "flat":
            out.extend([center + level * (sigma / math.sqrt(float(n)))] * n)
        elif kind == "range":
            dc = float(K.d2(n, constants)) * sigma
            ds = float(K.d3(n, constants)) * sigma
            t = max(dc + level * ds, 0.0)
            out.extend([center, center + t] + [center + t / 2.0] * (n - 2))
        else:
            out.extend(base[pos : pos + n])
        pos += n
    return out


@st.composite
def individuals_case(draw: Any) -> dict[str, Any]:
    center = draw(st.sampled_from(CENTERS))
    sigma = draw(st.sampled_from(SIGMAS))
    n = draw(st.integers(1, 150))
    return {
        "chart": "imr",
        "center": center,
        "sigma": sigma,
        "values": _series(draw, n, center, sigma),
        "settings": draw(rule_settings()),
        "constants": draw(st.sampled_from(["exact", "table"])),
    }


@st.composite
def equal_subgroups_case(draw: Any) -> dict[str, Any]:
    """Every subgroup has ``n`` values: the batch's constant-limit arithmetic."""
    center = draw(st.sampled_from(CENTERS))
    sigma = draw(st.sampled_from(SIGMAS))
    n = draw(st.integers(2, 10))
    # the batch sums a lone subgroup of 8 or more values pairwise (a NumPy reduction over a
    # (n, 1) block); a stream cannot tell a series of one subgroup from the start of a longer one
    k = draw(st.integers(2 if n >= 8 else 1, 40))
    constants = draw(st.sampled_from(["exact", "table"]))
    return {
        "chart": draw(st.sampled_from(["xbar_r", "xbar_s"])),
        "center": center,
        "sigma": sigma,
        "values": _subgroups(draw, [n] * k, center, sigma, constants),
        "size": n,
        "labels": draw(st.booleans()),
        "sizes": [n] * k,
        "settings": draw(rule_settings()),
        "constants": constants,
    }


@st.composite
def unequal_subgroups_case(draw: Any, kinds: tuple[str, ...] = KINDS) -> dict[str, Any]:
    """Subgroup sizes vary (by label): the batch's per-point-limit arithmetic."""
    center = draw(st.sampled_from(CENTERS))
    sigma = draw(st.sampled_from(SIGMAS))
    sizes = draw(st.lists(st.integers(2, 9), min_size=2, max_size=40))
    assume(len(set(sizes)) > 1)
    constants = draw(st.sampled_from(["exact", "table"]))
    return {
        "chart": draw(st.sampled_from(["xbar_r", "xbar_s"])),
        "center": center,
        "sigma": sigma,
        "values": _subgroups(draw, sizes, center, sigma, constants, kinds),
        "size": None,
        "labels": True,
        "sizes": sizes,
        "settings": draw(rule_settings()),
        "constants": constants,
    }


# --------------------------------------------------------------------------- helpers


def labels_of(sizes: list[int]) -> list[str]:
    return [f"g{j}" for j, n in enumerate(sizes) for _ in range(n)]


def batch(case: dict[str, Any]) -> tuple[list[tuple[str, int, int]], stats.ChartResult]:
    """(panel, index, test) of the phase II batch chart, in panel order then index, test."""
    kw = {"center": case["center"], "sigma": case["sigma"], "constants": case["constants"]}
    kw.update(case["settings"])
    x = np.array(case["values"])
    if case["chart"] == "imr":
        res = stats.imr(x, **kw)
    else:
        sub: Any = np.array(labels_of(case["sizes"])) if case["labels"] else case["size"]
        res = stats.CHARTS[case["chart"]](x, sub, **kw)
    out = [
        (name, int(i), int(t))
        for name, panel in res.panels.items()
        for i, t in zip(panel.violations.index, panel.violations.rule, strict=True)
    ]
    return out, res


def new_monitor(case: dict[str, Any]) -> MonitorState:
    return MonitorState(
        case["chart"],
        case["center"],
        case["sigma"],
        subgroup_size=case.get("size"),
        constants=case["constants"],
        **case["settings"],
    )


def stream(case: dict[str, Any], cuts: tuple[int, ...] = (), *, flush: bool = True) -> list[Any]:
    """Every event of the case streamed value by value; at each cut the state is saved as
    JSON text and a new monitor resumes from it."""
    m = new_monitor(case)
    labels = labels_of(case["sizes"]) if case.get("labels") else None
    events: list[Any] = []
    for i, v in enumerate(case["values"]):
        if i in cuts:
            m = MonitorState.from_dict(json.loads(json.dumps(m.to_dict(), allow_nan=False)))
        events.extend(m.push(v, subgroup=None if labels is None else labels[i], key=i))
    if flush:
        events.extend(m.flush())
    return events


def violations(events: list[Any], panels: tuple[str, ...]) -> list[tuple[str, int, int]]:
    rv = [(e.panel, e.index, e.test) for e in events if isinstance(e, RuleViolation)]
    return sorted(rv, key=lambda r: (panels.index(r[0]), r[1], r[2]))


def check_equal(case: dict[str, Any], *, bitwise: bool = True) -> None:
    expected, res = batch(case)
    events = stream(case)
    got = violations(events, tuple(res.panels))
    assert got == expected
    for e in events:
        if isinstance(e, RuleViolation):
            # the reported statistic is the batch's, bit for bit (to rounding where the stream
            # cannot know the batch's summation order)
            want = res[e.panel].statistic[e.index]
            assert (
                e.statistic == want if bitwise else math.isclose(e.statistic, want, rel_tol=1e-14)
            )
            assert e.points[-1] == e.index


# --------------------------------------------------------------------------- streaming = batch


@MANY
@given(individuals_case())
def test_imr_stream_equals_batch(case):
    check_equal(case)


@MANY
@given(equal_subgroups_case())
def test_xbar_equal_n_stream_equals_batch(case):
    check_equal(case)


@MANY
@given(unequal_subgroups_case())
def test_xbar_unequal_n_stream_equals_batch(case):
    check_equal(case)


@SOME
@given(unequal_subgroups_case(), st.integers(1, 5))
def test_labelled_subgroups_shorter_than_subgroup_size(case, extra):
    """With labels, a subgroup closes on the next label before it is full: same as batch."""
    check_equal(dict(case, size=max(case["sizes"]) + extra))


@SOME
@given(unequal_subgroups_case(kinds=("noise",)))
def test_mixed_sizes_with_a_nominal_size_continuous_data(case):
    """Nominal-size subgroups in a series of mixed sizes are judged with the constant-limit
    arithmetic; with continuous data (no point within rounding of a boundary) the result is the
    batch's (the module notes say why exact boundary points may differ in this one case)."""
    check_equal(dict(case, size=max(case["sizes"])), bitwise=False)


@SOME
@given(unequal_subgroups_case(), st.lists(st.integers(0, 400), max_size=3))
def test_dropped_single_value_subgroups_match_the_platform(case, where):
    """Subgroups of one value are left out (as the platform's batch path leaves them out)."""
    sizes = list(case["sizes"])
    values = list(case["values"])
    for w in where:
        j = w % (len(sizes) + 1)
        pos = sum(sizes[:j])
        sizes.insert(j, 1)
        values.insert(pos, case["center"])
    full = dict(case, sizes=sizes, values=values)
    kept_sizes = [n for n in sizes if n > 1]
    starts = np.cumsum([0, *sizes[:-1]])
    kept_values = [
        v for s, n in zip(starts, sizes, strict=True) if n > 1 for v in values[s : s + n]
    ]
    reduced = dict(case, sizes=kept_sizes, values=kept_values)
    expected, res = batch(reduced)
    events = stream(full)
    assert violations(events, tuple(res.panels)) == expected
    assert sum(e.kind == "dropped" for e in events) == len(where)


# --------------------------------------------------------------------------- save and resume


def _cuts(draw: Any, n: int) -> tuple[int, ...]:
    return tuple(sorted(set(draw(st.lists(st.integers(0, max(n, 1)), max_size=4)))))


@SOME
@given(st.one_of(individuals_case(), equal_subgroups_case(), unequal_subgroups_case()), st.data())
def test_resume_from_saved_state_gives_the_same_events(case, data):
    """Cut the stream anywhere (also inside a subgroup), save to JSON, resume: same events."""
    cuts = _cuts(data.draw, len(case["values"]))
    one_run = [e.to_dict() for e in stream(case)]
    resumed = [e.to_dict() for e in stream(case, cuts)]
    assert resumed == one_run


@SOME
@given(st.one_of(individuals_case(), equal_subgroups_case()), st.data())
def test_saved_state_is_canonical(case, data):
    """Saving, restoring and saving again gives the same data (nothing is lost or added)."""
    m = new_monitor(case)
    labels = labels_of(case["sizes"]) if case.get("labels") else None
    stop = data.draw(st.integers(0, len(case["values"])))
    for i, v in enumerate(case["values"][:stop]):
        m.push(v, subgroup=None if labels is None else labels[i])
    saved = m.to_dict()
    again = MonitorState.from_dict(json.loads(json.dumps(saved))).to_dict()
    assert again == saved


@pytest.mark.parametrize("chart", ["imr", "xbar_r", "xbar_s"])
def test_long_stream_state_stays_small(chart):
    """The saved state does not grow with the length of the stream (bounded history)."""
    rng = np.random.default_rng(3)
    m = MonitorState(chart, 0.0, 1.0, subgroup_size=None if chart == "imr" else 5)
    sizes = []
    for v in rng.normal(0.0, 1.0, 20_000):
        m.push(float(v))
        if m.n_values in (1_000, 20_000):
            sizes.append(len(json.dumps(m.to_dict())))
    assert sizes[1] <= sizes[0] + 16  # a few more digits in the counters at most
