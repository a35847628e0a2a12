"""Measurement system analysis of a table (a file's columns) — the use case behind ``zhuoyue msa``.

Three studies, chosen by the columns given:

* ``part`` + ``operator`` + ``value``: crossed gauge R&R (:func:`zhuoyue.stats.msa.gauge_rr`);
* ``reference`` (a column) + ``value`` [+ ``part``]: bias and linearity
  (:func:`zhuoyue.stats.msa.bias_linearity`), or a single-part bias study when every row has the
  same reference value;
* ``reference_value`` (a number) + ``value``: a single-part bias / type-1 study
  (:func:`zhuoyue.stats.msa.bias_study`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from zhuoyue.errors import DataError, ParameterError
from zhuoyue.ingest.tabular import Table, read_table
from zhuoyue.stats import msa
from zhuoyue.stats.msa import BiasResult, GaugeRRResult, LinearityResult

__all__ = ["MsaOutcome", "MsaRequest", "MsaResult", "analyse_file", "analyse_table"]

MsaResult = GaugeRRResult | LinearityResult | BiasResult

# stats error codes whose index is the position of a row (not of a part or a cell)
_ROW_CODES = {"not_finite", "missing_label", "unbalanced", "reference_varies"}


@dataclass(frozen=True, slots=True)
class MsaRequest:
    """What to study and how; the options of ``zhuoyue msa``.

    Options left ``None`` take the defaults of the statistics functions; giving an option that
    does not apply to the chosen study is a :class:`ParameterError`.
    """

    value: str
    part: str | None = None
    operator: str | None = None
    reference: str | None = None
    reference_value: float | None = None
    tolerance: float | None = None
    lsl: float | None = None
    usl: float | None = None
    method: str | None = None
    interaction: str | None = None
    alpha_remove: float | None = None
    study_var: float | None = None
    process_sigma: float | None = None
    ndc_rule: str | None = None
    constants: str | None = None
    process_variation: float | None = None
    confidence: float | None = None
    skip_blank: bool = False

    @property
    def study(self) -> str:
        """``gauge_rr`` or ``bias_linearity`` (which may turn out a single-part bias study)."""
        if self.reference is not None or self.reference_value is not None:
            return "bias_linearity"
        return "gauge_rr"


@dataclass(frozen=True, slots=True)
class MsaOutcome:
    result: MsaResult
    table: Table
    rows: npt.NDArray[np.int64]  # spreadsheet row of every value used
    skipped_rows: tuple[int, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)


_GAUGE_ONLY = (
    ("--operator", "operator"),
    ("--method", "method"),
    ("--interaction", "interaction"),
    ("--alpha-remove", "alpha_remove"),
    ("--study-var", "study_var"),
    ("--process-sigma", "process_sigma"),
    ("--ndc-rule", "ndc_rule"),
    ("--constants", "constants"),
)


def _check_options(req: MsaRequest) -> None:
    if req.reference is not None and req.reference_value is not None:
        raise ParameterError("Give --reference COL or --reference-value X, not both.")
    if req.study == "bias_linearity":
        for flag, name in _GAUGE_ONLY:
            if getattr(req, name) is not None:
                raise ParameterError(
                    f"{flag} applies to a gauge R&R study (--part and --operator), not to a bias "
                    "or linearity study (--reference / --reference-value)."
                )
        if req.reference_value is not None and req.part is not None:
            raise ParameterError(
                "--reference-value is the reference of one part; drop --part, or give the "
                "reference of each row with --reference COL."
            )
        return
    if req.process_variation is not None:
        raise ParameterError(
            "--process-variation applies to a bias/linearity study (--reference); for gauge "
            "R&R give --process-sigma (a historical process standard deviation)."
        )
    if req.part is None or req.operator is None:
        missing = " and ".join(
            f for f, v in (("--part", req.part), ("--operator", req.operator)) if v is None
        )
        raise ParameterError(
            f"A gauge R&R study needs {missing} (the part and the operator of each row); "
            "for a bias or linearity study give --reference COL or --reference-value X."
        )


def _tolerance(req: MsaRequest) -> float | None:
    """The tolerance width for bias studies (``--tolerance`` or ``--usl`` - ``--lsl``)."""
    if req.lsl is None and req.usl is None:
        return req.tolerance
    if req.tolerance is not None:
        raise ParameterError("Give --tolerance or --lsl and --usl, not both.")
    if req.lsl is None or req.usl is None:
        raise ParameterError("Give both --lsl and --usl (the tolerance is usl - lsl).")
    if req.usl <= req.lsl:
        raise ParameterError(f"--usl must be above --lsl. Got lsl={req.lsl:g}, usl={req.usl:g}.")
    return req.usl - req.lsl


def analyse_table(table: Table, req: MsaRequest) -> MsaOutcome:
    """Validate the columns of ``table`` named by ``req`` and run the study.

    Every bad cell is collected into one :class:`ValidationError`; errors the statistics layer
    finds at a particular value (not a number, missing label, odd cell of an unbalanced study,
    a part with two reference values) name its spreadsheet row.
    """
    _check_options(req)
    value_col = table.column(req.value, role="value column")
    labels: dict[str, tuple[str, str]] = {}
    if req.part:
        labels["part"] = (table.column(req.part, role="part column"), "part")
    if req.operator:
        labels["operator"] = (table.column(req.operator, role="operator column"), "operator")
    numbers = (
        {"reference": table.column(req.reference, role="reference column")}
        if req.reference
        else None
    )
    got = table.gather(value_col, skip_blank=req.skip_blank, labels=labels, numbers=numbers)
    try:
        result = _run(
            req,
            got.values,
            got.columns.get("part"),
            got.columns.get("operator"),
            got.columns.get("reference"),
        )
    except DataError as exc:
        raise got.locate(exc, _ROW_CODES) from None
    return MsaOutcome(
        result=result, table=table, rows=got.rows, skipped_rows=got.skipped, notes=got.notes()
    )


def _run(
    req: MsaRequest,
    x: npt.NDArray[np.float64],
    parts: npt.NDArray[Any] | None,
    operators: npt.NDArray[Any] | None,
    refs: npt.NDArray[np.float64] | None,
) -> MsaResult:
    if req.study == "gauge_rr":
        assert parts is not None and operators is not None
        kwargs: dict[str, Any] = {
            k: v
            for k, v in (
                ("method", req.method),
                ("interaction", req.interaction),
                ("alpha_remove", req.alpha_remove),
                ("study_var", req.study_var),
                ("process_sigma", req.process_sigma),
                ("confidence", req.confidence),
                ("ndc_rule", req.ndc_rule),
                ("constants", req.constants),
                ("tolerance", req.tolerance),
                ("lsl", req.lsl),
                ("usl", req.usl),
            )
            if v is not None
        }
        return msa.gauge_rr(parts, operators, x, **kwargs)
    common: dict[str, Any] = {
        k: v
        for k, v in (
            ("tolerance", _tolerance(req)),
            ("process_variation", req.process_variation),
            ("confidence", req.confidence),
        )
        if v is not None
    }
    if req.reference_value is not None:
        return msa.bias_study(req.reference_value, x, **common)
    assert refs is not None
    if np.unique(refs).size == 1 and (parts is None or np.unique(parts).size == 1):
        return msa.bias_study(float(refs[0]), x, **common)
    return msa.bias_linearity(refs, x, parts=parts, **common)


def analyse_file(path: str | Path, req: MsaRequest, *, sheet: str | None = None) -> MsaOutcome:
    """Read ``path`` (CSV, Excel, Parquet) and run the study as :func:`analyse_table`."""
    return analyse_table(read_table(path, sheet=sheet), req)
