"""``zhuoyue msa``: measurement system analysis of a CSV / Excel / Parquet file.

One command, three studies, chosen by the columns given:

* gauge R&R: ``--part COL --operator COL --value COL``;
* bias and linearity: ``--reference COL --value COL`` (``--part COL`` optional; rows are grouped
  by reference value otherwise); with a single reference value this is a bias study;
* bias / type-1 study of one part: ``--reference-value X --value COL``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from zhuoyue.cli._common import (
    FileArg,
    JsonOpt,
    SheetOpt,
    SkipBlankOpt,
    err_console,
    handle_errors,
    out_console,
    print_json,
)
from zhuoyue.services.msa import MsaRequest, analyse_file


class Method(StrEnum):
    anova = "anova"
    xbar_r = "xbar_r"


class Interaction(StrEnum):
    auto = "auto"
    keep = "keep"
    pool = "pool"


class NdcRule(StrEnum):
    sqrt2 = "sqrt2"
    aiag = "1.41"


class KConstants(StrEnum):
    aiag = "aiag"
    exact = "exact"


@handle_errors()
def msa(
    file: FileArg,
    value: Annotated[str, typer.Option("--value", help="Column of measurements.")],
    part: Annotated[
        str | None,
        typer.Option(
            "--part", help="Column with the part of each row (gauge R&R; optional for linearity)."
        ),
    ] = None,
    operator: Annotated[
        str | None,
        typer.Option("--operator", help="Column with the operator (appraiser): gauge R&R."),
    ] = None,
    reference: Annotated[
        str | None,
        typer.Option("--reference", help="Column with the reference value: bias/linearity study."),
    ] = None,
    reference_value: Annotated[
        float | None,
        typer.Option("--reference-value", help="Reference value of one part: bias (type-1) study."),
    ] = None,
    sheet: SheetOpt = None,
    tolerance: Annotated[
        float | None, typer.Option("--tolerance", help="Tolerance width USL - LSL (%Tolerance).")
    ] = None,
    lsl: Annotated[float | None, typer.Option("--lsl", help="Lower specification limit.")] = None,
    usl: Annotated[float | None, typer.Option("--usl", help="Upper specification limit.")] = None,
    method: Annotated[
        Method | None,
        typer.Option(
            "--method",
            help="Gauge R&R method: anova (default, Minitab) or xbar_r (AIAG Average & Range).",
            case_sensitive=False,
        ),
    ] = None,
    interaction: Annotated[
        Interaction | None,
        typer.Option(
            "--interaction",
            help="ANOVA: pool the part×operator interaction when p > --alpha-remove (auto, "
            "default), keep it, or always pool it.",
            case_sensitive=False,
        ),
    ] = None,
    alpha_remove: Annotated[
        float | None,
        typer.Option("--alpha-remove", help="Alpha to remove the interaction (default 0.25)."),
    ] = None,
    study_var: Annotated[
        float | None,
        typer.Option("--study-var", help="SDs in the study variation: 6 (default) or 5.15."),
    ] = None,
    process_sigma: Annotated[
        float | None,
        typer.Option("--process-sigma", help="Historical process SD, for %Process (gauge R&R)."),
    ] = None,
    ndc_rule: Annotated[
        NdcRule | None,
        typer.Option("--ndc-rule", help="ndc: sqrt2 (Minitab, default) or 1.41 (AIAG)."),
    ] = None,
    constants: Annotated[
        KConstants | None,
        typer.Option(
            "--constants",
            help="Average & Range K1/K2/K3: aiag (4-decimal tables, default) or exact (1/d2*).",
        ),
    ] = None,
    process_variation: Annotated[
        float | None,
        typer.Option(
            "--process-variation",
            help="6 × process SD, for linearity and %Bias (bias/linearity study).",
        ),
    ] = None,
    confidence: Annotated[
        float | None,
        typer.Option(
            "--confidence",
            help="Confidence level, e.g. 0.95: intervals of the variance components (gauge "
            "R&R, ANOVA); bias intervals and band (bias/linearity, default 0.95).",
        ),
    ] = None,
    skip_blank: SkipBlankOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Measurement system analysis: gauge R&R, bias and linearity of a file's columns.

    Gauge R&R: --part COL --operator COL --value COL. Bias/linearity: --reference COL --value
    COL [--part COL]. Bias (type-1) study of one part: --reference-value X --value COL.

    Exit codes: 0 ok, 1 internal error, 2 bad option, 3 file unreadable, 4 bad data (every bad
    row is listed; an unbalanced or incomplete study names the part and operator).
    """
    req = MsaRequest(
        value=value,
        part=part,
        operator=operator,
        reference=reference,
        reference_value=reference_value,
        tolerance=tolerance,
        lsl=lsl,
        usl=usl,
        method=None if method is None else method.value,
        interaction=None if interaction is None else interaction.value,
        alpha_remove=alpha_remove,
        study_var=study_var,
        process_sigma=process_sigma,
        ndc_rule=None if ndc_rule is None else ndc_rule.value,
        constants=None if constants is None else constants.value,
        process_variation=process_variation,
        confidence=confidence,
        skip_blank=skip_blank,
    )
    outcome = analyse_file(file, req, sheet=sheet)
    for note in outcome.notes:
        err_console.print(f"note: {note}", markup=False)
    for w in outcome.result.warnings:
        err_console.print(f"warning: {w}", markup=False)
    if json_out:
        print_json(outcome.result.to_dict())
    else:
        out_console.print(
            f"{outcome.table.source}: {outcome.rows.size} rows", markup=False, highlight=False
        )
        out_console.print(outcome.result.summary(show_warnings=False), markup=False)
