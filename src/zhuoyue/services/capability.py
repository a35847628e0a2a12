"""Process capability of a table (a file's column) — the use case behind ``zhuoyue capability``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from zhuoyue.errors import DataError, ParameterError
from zhuoyue.ingest.tabular import Table, read_table
from zhuoyue.stats.capability import METHODS, CapabilityResult, capability

__all__ = ["CapabilityOutcome", "CapabilityRequest", "analyse_file", "analyse_table"]

# stats error codes whose index is the position of a row (not of a subgroup)
_ROW_CODES = {"not_finite"}


@dataclass(frozen=True, slots=True)
class CapabilityRequest:
    """What to analyse and how; the options of ``zhuoyue capability``."""

    value: str
    subgroup: str | None = None
    subgroup_size: int | None = None
    lsl: float | None = None
    usl: float | None = None
    target: float | None = None
    sigma_method: str | None = None
    overall_method: str = "sd"
    cpm_method: str = "minitab"
    ci_method: str = "minitab"
    method: str = "normal"
    confidence: float = 0.95
    constants: str = "exact"
    skip_blank: bool = False


@dataclass(frozen=True, slots=True)
class CapabilityOutcome:
    result: CapabilityResult
    table: Table
    rows: npt.NDArray[np.int64]  # spreadsheet row of every value used
    skipped_rows: tuple[int, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)


def _check_options(req: CapabilityRequest) -> None:
    if req.subgroup and req.subgroup_size:
        raise ParameterError("Give --subgroup COL or --subgroup-size N, not both.")
    if req.subgroup_size is not None and req.subgroup_size < 1:
        raise ParameterError(f"--subgroup-size must be >= 1. Got {req.subgroup_size}.")
    if req.lsl is None and req.usl is None:
        raise ParameterError("capability needs a specification limit: give --lsl, --usl or both.")
    if req.method not in METHODS:
        raise ParameterError(f"--method must be one of {', '.join(METHODS)}. Got {req.method!r}.")


def analyse_table(table: Table, req: CapabilityRequest) -> CapabilityOutcome:
    """Validate the columns of ``table`` named by ``req`` and compute the capability.

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
    got = table.gather(value_col, skip_blank=req.skip_blank, labels=labels)
    x = got.values
    subgroups: Any = got.columns["labels"] if labels else req.subgroup_size
    try:
        result = capability(
            x,
            subgroups,
            req.lsl,
            req.usl,
            req.target,
            sigma_method=req.sigma_method,
            overall_method=req.overall_method,
            cpm_method=req.cpm_method,
            ci_method=req.ci_method,
            confidence=req.confidence,
            method=req.method,
            constants=req.constants,
        )
    except DataError as exc:
        raise got.locate(exc, _ROW_CODES) from None
    return CapabilityOutcome(
        result=result, table=table, rows=got.rows, skipped_rows=got.skipped, notes=got.notes()
    )


def analyse_file(
    path: str | Path, req: CapabilityRequest, *, sheet: str | None = None
) -> CapabilityOutcome:
    """Read ``path`` (CSV, Excel, Parquet) and analyse it as :func:`analyse_table`."""
    _check_options(req)  # usage errors before file errors
    return analyse_table(read_table(path, sheet=sheet), req)
