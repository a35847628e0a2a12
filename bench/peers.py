"""Benchmark adapters for peer Python SPC libraries (capstat-core, pyspc, manufacturing).

Each adapter computes the library's own Xbar-R or I-MR limits and runs every run rule
(special-cause test) the library offers on the location chart, so that timings compare like
with like against zhuoyue.  Adapters return a small dict (limits and violation counts per
rule) so the work cannot be optimised away; they never print.

``PEERS`` maps library name -> {"xbar_r": fn, "imr": fn}; a library that is not installed
(or whose import-time dependencies are missing) is left out and ``PEER_NOTES`` says so.
Peers are imported lazily, inside the adapters, so importing this module is cheap and
never fails because of a peer.

Shapes of the returned dicts::

    xbar_r(values, n) -> {"xbar": {"center", "lcl", "ucl"}, "r": {...},
                          "violations": {rule: count}, "total_violations": int}
    imr(values)       -> {"i": {...}, "mr": {...}, "violations": {...}, "total_violations": int}

Counts are the library's own: capstat-core counts rule firings, pyspc and manufacturing
count flagged points (see ``PEER_NOTES``), so compare them within a library, not across.

Run ``python bench/peers.py`` for a smoke check against the textbook formulas.
Versions read when writing this: capstat-core 0.4.3, pyspc 0.4, manufacturing 1.6.0
(with numpy 2.4, pandas 3.1, matplotlib 3.11).
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
Result = dict[str, Any]
Adapter = Callable[..., Result]


# --------------------------------------------------------------------------- helpers


def _limits(center: float, lcl: float, ucl: float) -> dict[str, float]:
    return {"center": float(center), "lcl": float(lcl), "ucl": float(ucl)}


def _result(
    location_key: str,
    location: dict[str, float],
    dispersion_key: str,
    dispersion: dict[str, float],
    violations: dict[str, int],
    **extra: Any,
) -> Result:
    return {
        location_key: location,
        dispersion_key: dispersion,
        "violations": violations,
        "total_violations": sum(violations.values()),
        **extra,
    }


def _as_1d(values: npt.ArrayLike) -> FloatArray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"expected a 1-D array, got {arr.ndim} dimension(s)")
    return arr


def _as_subgroups(values: npt.ArrayLike, n: int) -> FloatArray:
    arr = _as_1d(values)
    if n < 2 or arr.size % n:
        raise ValueError(f"need n >= 2 and len(values) divisible by n; got {arr.size=}, {n=}")
    return arr.reshape(-1, n)


def _use_agg() -> None:
    """Force the non-interactive Agg backend before a peer imports matplotlib.pyplot."""
    import matplotlib

    matplotlib.use("Agg")


class _Null:
    """Absorbs any attribute access or call: a stand-in for matplotlib objects that draws
    nothing, so a peer's plotting calls cost nothing and only its computation is timed."""

    def __getattr__(self, name: str) -> _Null:
        return self

    def __call__(self, *args: Any, **kwargs: Any) -> _Null:
        return self


class _RecordingAxes(_Null):
    """Duck-typed Figure/Axes for ``manufacturing``: draws nothing, but records the texts
    (where the library writes its UCL/LCL values) and the scatter calls (one per rule that
    flagged points, labelled with the rule name) so the library's own numbers come back."""

    def __init__(self) -> None:
        self.texts: list[tuple[str, float]] = []
        self.highlighted: dict[str, int] = {}
        self.children: list[_RecordingAxes] = []

    def text(self, *args: Any, **kwargs: Any) -> _Null:
        s = kwargs.get("s", args[2] if len(args) > 2 else "")
        y = kwargs.get("y", args[1] if len(args) > 1 else math.nan)
        self.texts.append((str(s), float(y)))
        return _Null()

    def scatter(self, x: Any, *args: Any, label: str | None = None, **kwargs: Any) -> _Null:
        self.highlighted[str(label)] = len(x)
        return _Null()

    def get_xlim(self) -> tuple[float, float]:
        return (0.0, 1.0)

    def get_ylim(self) -> tuple[float, float]:
        return (0.0, 1.0)

    def add_subplot(self, *args: Any, **kwargs: Any) -> _RecordingAxes:
        child = _RecordingAxes()
        self.children.append(child)
        return child

    def written(self, prefix: str) -> float:
        """The y of the first text starting with ``prefix`` (e.g. "UCL=")."""
        for s, y in self.texts:
            if s.startswith(prefix):
                return y
        raise LookupError(f"manufacturing wrote no text starting with {prefix!r}")


# --------------------------------------------------------------------------- capstat-core


def _capstat_rules(location: Any) -> dict[str, int]:
    from capstat_core import nelson_rules, western_electric_rules

    counts = {f"nelson{r}": 0 for r in range(1, 9)} | {f"we{r}": 0 for r in range(1, 5)}
    for v in nelson_rules(location):  # all 8 (rules=None)
        counts[f"nelson{v.rule}"] += 1
    for v in western_electric_rules(location):  # all 4
        counts[f"we{v.rule}"] += 1
    return counts


def capstat_xbar_r(values: FloatArray, n: int) -> Result:
    from capstat_core import xbar_r_chart

    pair = xbar_r_chart(_as_subgroups(values, n))
    loc, disp = pair.location.limits, pair.dispersion.limits
    return _result(
        "xbar",
        _limits(loc.center, loc.lower, loc.upper),
        "r",
        _limits(disp.center, disp.lower, disp.upper),
        _capstat_rules(pair.location),
    )


def capstat_imr(values: FloatArray) -> Result:
    from capstat_core import i_mr_chart

    pair = i_mr_chart(_as_1d(values))
    loc, disp = pair.location.limits, pair.dispersion.limits
    return _result(
        "i",
        _limits(loc.center, loc.lower, loc.upper),
        "mr",
        _limits(disp.center, disp.lower, disp.upper),
        _capstat_rules(pair.location),
    )


# --------------------------------------------------------------------------- pyspc


def _import_pyspc() -> Any:
    """Import pyspc without letting it leak global state.

    ``pyspc/__init__`` runs ``warnings.simplefilter("ignore")`` (silencing every warning in
    the process) and ``pyspc.pyspc`` runs ``plt.style.use('grayscale')`` and changes
    rcParams; both are undone when the import is wrapped like this.
    """
    _use_agg()
    import warnings

    import matplotlib

    with warnings.catch_warnings(), matplotlib.rc_context():
        import pyspc
    return pyspc


def _pyspc_rules(pyspc: Any, points: Any, center: float, lcl: float, ucl: float) -> dict[str, int]:
    # rules() defaults to 'BASIC', the only working set: RULE_1_BEYOND_3SIGMA and
    # RULE_7_ON_ONE_SIDE.  Each rule plots a marker on `ax` per flagged point; a null axes
    # keeps that free.  (plot_violation_points would return only their de-duplicated union.)
    ax = _Null()
    return {rule.__name__: len(rule(ax, points, center, lcl, ucl)) for rule in pyspc.rules().rules}


def pyspc_xbar_r(values: FloatArray, n: int) -> Result:
    pyspc = _import_pyspc()
    data = _as_subgroups(values, n)
    # The chart classes' .plot() methods only compute (values, center, lcl, ucl, title);
    # spc.make() is what draws, and it is broken on matplotlib >= 3.6.
    xbars, xbarbar, lcl_x, ucl_x, _ = pyspc.xbar_rbar().plot(data, n)
    _, rbar, lcl_r, ucl_r, _ = pyspc.rbar().plot(data, n)
    return _result(
        "xbar",
        _limits(xbarbar, lcl_x, ucl_x),
        "r",
        _limits(rbar, lcl_r, ucl_r),
        _pyspc_rules(pyspc, xbars, xbarbar, lcl_x, ucl_x),
    )


def pyspc_imr(values: FloatArray) -> Result:
    pyspc = _import_pyspc()
    data = _as_1d(values)
    xs, xbar, lcl_x, ucl_x, _ = pyspc.xmr().plot(data, 1)
    _, mrbar, lcl_mr, ucl_mr, _ = pyspc.mr().plot(data, 1)
    return _result(
        "i",
        _limits(xbar, lcl_x, ucl_x),
        "mr",
        _limits(mrbar, lcl_mr, ucl_mr),
        _pyspc_rules(pyspc, xs, xbar, lcl_x, ucl_x),
    )


# --------------------------------------------------------------------------- manufacturing

#: The eight tests manufacturing.visual.control_chart_base can run, by keyword and by the
#: scatter label it highlights their points with.
_MFG_RULES: dict[str, str] = {
    "highlight_beyond_limits": "beyond limits",
    "highlight_zone_a": "zone a",
    "highlight_zone_b": "zone b",
    "highlight_zone_c": "zone c",
    "highlight_trend": "trend",
    "highlight_mixture": "mixture",
    "highlight_stratification": "stratification",
    "highlight_overcontrol": "overcontrol",
}


def _mfg_counts(ax: _RecordingAxes) -> dict[str, int]:
    return {label: ax.highlighted.get(label, 0) for label in _MFG_RULES.values()}


def _run_manufacturing(chart: Callable[..., Any], *args: Any, **kwargs: Any) -> _RecordingAxes:
    """Call a manufacturing chart function on a recording figure with every rule on and no
    truncation (the default max_points=60 runs the rules on the last 60 points only)."""
    _use_agg()
    import matplotlib.pyplot as plt

    before = set(plt.get_fignums())
    fig = _RecordingAxes()
    try:
        chart(*args, figure=fig, max_points=None, **dict.fromkeys(_MFG_RULES, True), **kwargs)
    finally:
        # control_chart_base ends with plt.gcf().tight_layout(), which creates a real
        # (empty) pyplot figure when none is current: close any figure we caused.
        for num in set(plt.get_fignums()) - before:
            plt.close(num)
    return fig


def manufacturing_xbar_r(values: FloatArray, n: int) -> Result:
    from manufacturing import xbar_r_chart
    from manufacturing.lookup_tables import calc_D4

    _as_subgroups(values, n)  # validate only: the library does its own chunking
    fig = _run_manufacturing(xbar_r_chart, _as_1d(values), subgroup_size=n)
    ax_x, ax_r = fig.children
    ucl_x, lcl_x = ax_x.written("UCL="), ax_x.written("LCL=")
    ucl_r, lcl_r = ax_r.written("UCL="), ax_r.written("LCL=")
    return _result(
        "xbar",
        _limits((ucl_x + lcl_x) / 2, lcl_x, ucl_x),
        "r",
        _limits(ucl_r / calc_D4(n), lcl_r, ucl_r),  # the Rbar the limits were built from
        _mfg_counts(ax_x),
        violations_r_chart=_mfg_counts(ax_r),  # xbar_r_chart runs the same rules on R
    )


def manufacturing_imr(values: FloatArray) -> Result:
    from manufacturing import x_mr_chart

    fig = _run_manufacturing(x_mr_chart, _as_1d(values))
    ax_i, ax_mr = fig.children
    ucl_i, lcl_i = ax_i.written("UCL="), ax_i.written("LCL=")
    ucl_mr, lcl_mr = ax_mr.written("UCL="), ax_mr.written("LCL=")
    return _result(
        "i",
        _limits((ucl_i + lcl_i) / 2, lcl_i, ucl_i),
        "mr",
        _limits(ucl_mr / 3.2665, lcl_mr, ucl_mr),  # x_mr_chart: UCL_mR = 3.2665 * mRbar
        _mfg_counts(ax_i),
        violations_mr_chart=_mfg_counts(ax_mr),  # beyond-limits only on the mR chart
    )


# --------------------------------------------------------------------------- registry

_NOTES: dict[str, str] = {
    "capstat-core": (
        "xbar_r: capstat_core.xbar_r_chart(values.reshape(-1, n)) (n <= 25); imr: "
        "capstat_core.i_mr_chart(values). Limits are the textbook ones (Xbar: xbarbar +/- "
        "A2*Rbar, R: D3*Rbar..D4*Rbar; I: xbar +/- 3*MRbar/d2(2), MR: 0..D4(2)*MRbar), "
        "constants computed, not tabulated. Run rules on the location chart: "
        "capstat_core.nelson_rules(pair.location) (all 8 Nelson tests = the 8 GB/T 4091 "
        "tests) and capstat_core.western_electric_rules(pair.location) (all 4 WE rules; "
        "WE 1-3 repeat Nelson 1, 5, 6, WE 4 is 8-on-a-side); counts are rule firings. "
        "Cannot: run rules on R/MR charts (refuses, asymmetric limits). No plotting, no "
        "matplotlib/pandas. Rules are per-window Python loops over numpy slices, and every "
        "chart stores its points as a tuple of Python floats, so it slows down at 1e5-1e6; "
        "importing it takes ~1.5 s (scipy)."
    ),
    "pyspc": (
        "xbar_r: pyspc.xbar_rbar().plot(data2d, n) and pyspc.rbar().plot(data2d, n) (n <= "
        "10, Python loop over subgroups); imr: pyspc.xmr().plot(values, 1) and "
        "pyspc.mr().plot(values, 1) (Python-loop moving ranges). Those .plot() methods only "
        "compute; the drawing pipeline spc(data) + chart + rules() -> .make() fails on "
        "matplotlib >= 3.6 (canvas.set_window_title), so it is not used. Run rules: only "
        "the 'BASIC' set of pyspc.rules(), i.e. RULE_1_BEYOND_3SIGMA (outside the limits) "
        "and RULE_7_ON_ONE_SIDE (7 in a row on one side), called one by one with a null "
        "axes (each rule calls ax.plot per flagged point); counts are flagged points. "
        "Cannot: any other WE/Nelson test (trend, 2-of-3, 4-of-5, zone C, alternation, "
        "mixture). Importing pyspc imports matplotlib.pyplot (Agg forced here) and pandas, "
        "reads 13 sample CSVs, calls warnings.simplefilter('ignore') process-wide and "
        "plt.style.use('grayscale'); the adapter imports it inside "
        "warnings.catch_warnings() and matplotlib.rc_context() to undo that."
    ),
    "manufacturing": (
        "xbar_r: manufacturing.xbar_r_chart(values, subgroup_size=n, figure=<recorder>, "
        "max_points=None, highlight_*=True for all 8 tests) (2 <= n <= 11); imr: "
        "manufacturing.x_mr_chart(values, figure=<recorder>, max_points=None, all 8 "
        "highlight_*=True). The library only exposes limits and rules through these "
        "matplotlib plotting functions; the adapter passes a duck-typed figure that draws "
        "nothing and records the UCL=/LCL= texts and the per-rule scatter calls, so only "
        "the computation (pandas, numpy, Python loops) is timed. The library still calls "
        "plt.gcf().tight_layout() on a real pyplot figure (Agg forced; figures it creates "
        "are closed). Limits are NOT textbook: data are IQR outlier-filtered first and, for "
        "Xbar-R, the filtered series is re-chunked with np.array_split so Rbar/xbarbar come "
        "from shifted subgroups whenever an outlier is dropped; xbar centre reported = "
        "(UCL+LCL)/2, R centre = UCL_R/D4(n), I centre = (UCL+LCL)/2, mR centre = "
        "UCL/3.2665. Its 8 tests: beyond limits; 'zone a' = 3 of 3 (not 2 of 3) beyond 2 "
        "sigma; 'zone b' = 4 of 5 beyond 1 sigma; 'zone c' = 7 (not 8/9) on one side; "
        "'trend' = 8 points non-strictly monotone (not 6); 'mixture' can never fire (its "
        "condition is p > upper and p < lower) but still costs a loop; 'stratification' = "
        "15 within zone C; 'overcontrol' = 14 alternating. Counts are points flagged, not "
        "firings. xbar_r_chart also runs all these tests on the R chart (reported as "
        "violations_r_chart, included in the timing); x_mr_chart runs only beyond-limits "
        "on the mR chart. By default max_points=60 would run the rules on the last 60 "
        "points only. Per-window pandas slicing plus try/except per window make it the "
        "slowest peer; logging.info f-strings in the loops are built even when unlogged."
    ),
}

#: Top-level modules each peer needs at import time.
_REQUIRES: dict[str, tuple[str, ...]] = {
    "capstat-core": ("capstat_core", "scipy"),
    "pyspc": ("pyspc", "matplotlib", "pandas"),
    "manufacturing": ("manufacturing", "matplotlib", "pandas", "scipy"),
}

_ADAPTERS: dict[str, dict[str, Adapter]] = {
    "capstat-core": {"xbar_r": capstat_xbar_r, "imr": capstat_imr},
    "pyspc": {"xbar_r": pyspc_xbar_r, "imr": pyspc_imr},
    "manufacturing": {"xbar_r": manufacturing_xbar_r, "imr": manufacturing_imr},
}


def _missing(modules: tuple[str, ...]) -> list[str]:
    absent = []
    for name in modules:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            absent.append(name)
    return absent


def _build() -> tuple[dict[str, dict[str, Adapter]], dict[str, str]]:
    peers: dict[str, dict[str, Adapter]] = {}
    notes: dict[str, str] = {}
    for name, adapters in _ADAPTERS.items():
        absent = _missing(_REQUIRES[name])
        if absent:
            notes[name] = (
                f"NOT AVAILABLE: module(s) {', '.join(absent)} not installed "
                f"(pip install {name}); adapter omitted. When installed: {_NOTES[name]}"
            )
        else:
            peers[name] = adapters
            notes[name] = _NOTES[name]
    return peers, notes


PEERS: dict[str, dict[str, Adapter]]
PEER_NOTES: dict[str, str]
PEERS, PEER_NOTES = _build()


# --------------------------------------------------------------------------- smoke check


def _textbook(values: FloatArray, n: int) -> tuple[Result, Result]:
    """Reference limits with the printed constants A2(5)=0.577, D4(5)=2.114, 2.66, 3.267."""
    groups = values.reshape(-1, n)
    xbarbar = float(groups.mean(axis=1).mean())
    rbar = float(np.ptp(groups, axis=1).mean())
    xbar = float(values.mean())
    mrbar = float(np.abs(np.diff(values)).mean())
    xbar_r = {
        "xbar": _limits(xbarbar, xbarbar - 0.577 * rbar, xbarbar + 0.577 * rbar),
        "r": _limits(rbar, 0.0, 2.114 * rbar),
    }
    imr = {
        "i": _limits(xbar, xbar - 2.66 * mrbar, xbar + 2.66 * mrbar),
        "mr": _limits(mrbar, 0.0, 3.267 * mrbar),
    }
    return xbar_r, imr


def _fmt(limits: dict[str, float]) -> str:
    return "  ".join(f"{k}={v:+.5f}" for k, v in limits.items())


def main() -> None:
    n = 5
    values = np.random.default_rng(1).standard_normal(1000)
    ref_xbar_r, ref_imr = _textbook(values, n)
    print(f"1,000 standard-normal values (numpy default_rng(1)), Xbar-R with n={n}")
    for chart in ("xbar", "r"):
        print(f"  textbook {chart:<5}{_fmt(ref_xbar_r[chart])}")
    for chart in ("i", "mr"):
        print(f"  textbook {chart:<5}{_fmt(ref_imr[chart])}")
    for name in _ADAPTERS:
        print(f"\n== {name}")
        if name not in PEERS:
            print(f"  {PEER_NOTES[name]}")
            continue
        for task, fn in PEERS[name].items():
            res = fn(values, n) if task == "xbar_r" else fn(values)
            charts = ("xbar", "r") if task == "xbar_r" else ("i", "mr")
            for chart in charts:
                print(f"  {task:<7}{chart:<5}{_fmt(res[chart])}")
            print(f"  {task:<7}violations {res['violations']}")


if __name__ == "__main__":
    main()
