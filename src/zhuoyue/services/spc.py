"""Control chart analysis of a table (a file's columns) — the use case behind ``zhuoyue spc``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from zhuoyue import stats
from zhuoyue.errors import DataError, ParameterError
from zhuoyue.ingest.tabular import Table, read_table
from zhuoyue.stats.results import ChartResult

__all__ = ["CHART_NAMES", "SpcOutcome", "SpcRequest", "analyse_file", "analyse_table"]

CHART_NAMES = ("xbar_r", "xbar_s", "imr", "p", "np", "c", "u", "ewma", "cusum")
_SUBGROUPED = {"xbar_r", "xbar_s"}
_ATTRIBUTE = {"p", "np", "c", "u"}
_SIZED = {"p", "np", "u"}
_TIME_WEIGHTED = {"ewma", "cusum"}
# stats error codes whose index is the position of a row (not of a subgroup)
_ROW_CODES = {
    "not_finite",
    "negative",
    "not_integer",
    "size_not_positive",
    "defectives_exceed_size",
}


@dataclass(frozen=True, slots=True)
class SpcRequest:
    """What to chart and how; the options of ``zhuoyue spc``."""

    chart: str
    value: str
    subgroup: str | None = None
    subgroup_size: int | None = None
    size: str | None = None
    center: float | None = None
    sigma: float | None = None
    phase1: int | None = None
    exclude: tuple[int, ...] = ()
    iterate: bool = False
    sigma_method: str | None = None
    constants: str = "exact"
    rules: str = "gb4091"
    tests: tuple[int, ...] | None = None
    test8: str = "both"
    lam: float | None = None
    L: float | None = None
    limits: str | None = None
    k: float | None = None
    h: float | None = None
    units: str | None = None
    headstart: float | None = None
    skip_blank: bool = False


@dataclass(frozen=True, slots=True)
class SpcOutcome:
    result: ChartResult
    table: Table
    rows: npt.NDArray[np.int64]  # spreadsheet row of every value used
    skipped_rows: tuple[int, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)


def _check_options(req: SpcRequest) -> None:
    c = req.chart
    if c not in CHART_NAMES:
        raise ParameterError(f"--chart must be one of {', '.join(CHART_NAMES)}. Got {c!r}.")

    def only(flag: str, value: Any, charts: set[str]) -> None:
        if value is not None and value is not False and c not in charts:
            raise ParameterError(
                f"{flag} applies to --chart {'/'.join(sorted(charts))} only, not {c}."
            )

    only("--lambda", req.lam, {"ewma"})
    only("--L", req.L, {"ewma"})
    only("--limits", req.limits, {"ewma"})
    only("--k", req.k, {"cusum"})
    only("--h", req.h, {"cusum"})
    only("--units", req.units, {"cusum"})
    only("--headstart", req.headstart, {"cusum"})
    only("--size", req.size, _SIZED)
    only("--subgroup", req.subgroup, _SUBGROUPED | _TIME_WEIGHTED)
    only("--subgroup-size", req.subgroup_size, _SUBGROUPED | _TIME_WEIGHTED)
    only("--sigma", req.sigma, _SUBGROUPED | _TIME_WEIGHTED | {"imr"})
    only("--sigma-method", req.sigma_method, _SUBGROUPED | _TIME_WEIGHTED | {"imr"})
    only("--iterate", req.iterate or None, _SUBGROUPED | _ATTRIBUTE | {"imr"})
    if req.subgroup and req.subgroup_size:
        raise ParameterError("Give --subgroup COL or --subgroup-size N, not both.")
    if c in _SUBGROUPED and not (req.subgroup or req.subgroup_size):
        raise ParameterError(
            f"--chart {c} needs --subgroup COL (the subgroup of each row) or --subgroup-size N. "
            "For individual values use --chart imr."
        )
    if c in _SIZED and not req.size:
        raise ParameterError(f"--chart {c} needs --size COL: the sample size of each row.")
    if req.phase1 is not None and req.phase1 < 1:
        raise ParameterError(f"--phase1-rows must be >= 1. Got {req.phase1}.")
    if req.subgroup_size is not None and req.subgroup_size < 1:
        raise ParameterError(f"--subgroup-size must be >= 1. Got {req.subgroup_size}.")


def analyse_table(table: Table, req: SpcRequest) -> SpcOutcome:
    """Validate the columns of ``table`` named by ``req`` and compute the chart.

    Every bad cell is collected into one :class:`ValidationError`; errors found by the
    statistics layer on a particular value name its spreadsheet row.
    """
    _check_options(req)
    value_col = table.column(req.value, role="value column")
    labels = (
        {"labels": (table.column(req.subgroup, role="subgroup column"), "subgroup")}
        if req.subgroup
        else None
    )
    numbers = {"sizes": table.column(req.size, role="size column")} if req.size else None
    got = table.gather(value_col, skip_blank=req.skip_blank, labels=labels, numbers=numbers)
    kwargs: dict[str, Any] = {}
    if req.phase1 is not None:
        kwargs["phase1"] = req.phase1
    if req.exclude:
        kwargs["exclude"] = list(req.exclude)
    try:
        result = _run(
            req,
            got.values,
            got.columns.get("labels"),
            got.columns.get("sizes"),
            kwargs,
            {"rules": req.rules},
        )
    except DataError as exc:
        raise got.locate(exc, _ROW_CODES) from None
    return SpcOutcome(
        result=result, table=table, rows=got.rows, skipped_rows=got.skipped, notes=got.notes()
    )


def _run(
    req: SpcRequest,
    x: npt.NDArray[np.float64],
    labels: npt.NDArray[Any] | None,
    sizes: npt.NDArray[np.float64] | None,
    kwargs: dict[str, Any],
    rules: dict[str, Any],
) -> ChartResult:
    c = req.chart
    rule_kw: dict[str, Any] = dict(rules)
    if c not in _TIME_WEIGHTED:
        rule_kw.update(tests=req.tests, test8=req.test8)
    elif req.tests is not None and 1 not in req.tests:
        rule_kw["rules"] = "none"
    if req.center is not None:
        kwargs["center"] = req.center
    if c in _ATTRIBUTE:
        if req.iterate:
            kwargs["iterate"] = True
        if c == "p":
            return stats.p_chart(x, sizes, **kwargs, **rule_kw)
        if c == "np":
            return stats.np_chart(x, sizes, **kwargs, **rule_kw)
        if c == "u":
            return stats.u_chart(x, sizes, **kwargs, **rule_kw)
        return stats.c_chart(x, **kwargs, **rule_kw)
    if req.sigma is not None:
        kwargs["sigma"] = req.sigma
    if req.sigma_method is not None:
        kwargs["sigma_method"] = req.sigma_method
    kwargs["constants"] = req.constants
    subgroups: Any = labels if labels is not None else req.subgroup_size
    if c == "imr":
        return stats.imr(x, iterate=req.iterate, **kwargs, **rule_kw)
    if c == "xbar_r":
        return stats.xbar_r(x, subgroups, iterate=req.iterate, **kwargs, **rule_kw)
    if c == "xbar_s":
        return stats.xbar_s(x, subgroups, iterate=req.iterate, **kwargs, **rule_kw)
    extra: dict[str, Any]
    if c == "ewma":
        extra = {
            k: v
            for k, v in (("lam", req.lam), ("L", req.L), ("limits", req.limits))
            if v is not None
        }
        return stats.ewma(x, subgroups, **extra, **kwargs, **rule_kw)
    extra = {
        k: v
        for k, v in (("k", req.k), ("h", req.h), ("units", req.units), ("headstart", req.headstart))
        if v is not None
    }
    return stats.cusum(x, subgroups, **extra, **kwargs, **rule_kw)


def analyse_file(path: str | Path, req: SpcRequest, *, sheet: str | None = None) -> SpcOutcome:
    """Read ``path`` (CSV, Excel, Parquet) and chart it as :func:`analyse_table`."""
    return analyse_table(read_table(path, sheet=sheet), req)
