"""Process capability of a table (a file's column) — the use case behind ``zhuoyue capability``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from zhuoyue.errors import DataError, ParameterError, Problem, ValidationError
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
    sub_col = table.column(req.subgroup, role="subgroup column") if req.subgroup else None
    problems: list[Problem] = []
    values, blank, probs = table.numbers(value_col, skip_blank=req.skip_blank)
    problems += probs
    keep = ~blank if req.skip_blank else np.ones(len(table), dtype=bool)
    labels = None
    if sub_col is not None:
        labels, _, probs = table.labels(sub_col)
        problems += [
            p for p in probs if p.row is None or bool(keep[int(p.row) - table.header_rows - 1])
        ]
    if problems:
        problems.sort(key=lambda p: (p.row or 0, p.column or ""))
        raise ValidationError(problems, source=table.source)
    idx = np.flatnonzero(keep)
    rows = np.asarray(table.row_number(idx), dtype=np.int64)
    skipped = tuple(int(r) for r in np.asarray(table.row_number(np.flatnonzero(~keep))))
    x = values[idx]
    if x.size == 0:
        raise DataError(f"{table.source}: column {value_col!r} has no values.", code="empty")
    subgroups: Any = labels[idx] if labels is not None else req.subgroup_size
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
        if exc.index is not None and exc.code in _ROW_CODES and 0 <= exc.index < rows.size:
            raise DataError(
                f"Row {int(rows[exc.index])}: {exc}", index=exc.index, code=exc.code
            ) from None
        if exc.code in ("subgroup_too_small", "too_few", "zero_sigma"):
            raise DataError(f"{table.source}: {exc}", index=exc.index, code=exc.code) from None
        raise
    notes = []
    if skipped:
        notes.append(f"skipped {len(skipped)} row(s) with a blank {value_col!r}")
    return CapabilityOutcome(
        result=result, table=table, rows=rows, skipped_rows=skipped, notes=tuple(notes)
    )


def analyse_file(
    path: str | Path, req: CapabilityRequest, *, sheet: str | None = None
) -> CapabilityOutcome:
    """Read ``path`` (CSV, Excel, Parquet) and analyse it as :func:`analyse_table`."""
    _check_options(req)  # usage errors before file errors
    return analyse_table(read_table(path, sheet=sheet), req)
