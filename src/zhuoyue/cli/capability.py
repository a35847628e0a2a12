"""``zhuoyue capability``: process capability of one column of a CSV / Excel / Parquet file."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from zhuoyue.cli._common import (
    FileArg,
    JsonOpt,
    LangOpt,
    SheetOpt,
    SkipBlankOpt,
    TitleOpt,
    err_console,
    handle_errors,
    out_console,
    print_json,
)
from zhuoyue.errors import ParameterError
from zhuoyue.services.capability import CapabilityRequest, analyse_file


class Method(StrEnum):
    normal = "normal"
    boxcox = "boxcox"
    johnson = "johnson"
    lognormal = "lognormal"
    weibull = "weibull"
    gamma = "gamma"
    auto = "auto"


@handle_errors()
def capability(
    file: FileArg,
    value: Annotated[str, typer.Option("--value", help="Column of measurements.")],
    subgroup: Annotated[
        str | None, typer.Option("--subgroup", help="Column with the subgroup of each row.")
    ] = None,
    subgroup_size: Annotated[
        int | None,
        typer.Option(
            "--subgroup-size", help="Fixed subgroup size: consecutive rows form subgroups."
        ),
    ] = None,
    sheet: SheetOpt = None,
    lsl: Annotated[float | None, typer.Option("--lsl", help="Lower specification limit.")] = None,
    usl: Annotated[float | None, typer.Option("--usl", help="Upper specification limit.")] = None,
    target: Annotated[
        float | None,
        typer.Option("--target", help="Target (Cpm); default the midpoint of two limits."),
    ] = None,
    sigma_method: Annotated[
        str | None,
        typer.Option(
            "--sigma-method",
            help="σ within: pooled (default), rbar, sbar, rbar_unweighted, sbar_unweighted "
            "(subgroups); mr (default), mr_median, sd (individuals).",
        ),
    ] = None,
    method: Annotated[
        Method,
        typer.Option(
            "--method",
            help="normal (default), or a non-normal method: boxcox, johnson, lognormal, weibull, gamma, auto.",
            case_sensitive=False,
        ),
    ] = Method.normal,
    confidence: Annotated[
        float, typer.Option("--confidence", help="Level of the confidence intervals, in (0, 1).")
    ] = 0.95,
    constants: Annotated[
        str,
        typer.Option(
            "--constants", help="exact (default) or table (3-decimal d2 as in qcc / textbooks)."
        ),
    ] = "exact",
    overall_method: Annotated[
        str,
        typer.Option("--overall-method", help="σ overall: sd (default) or sd_c4 (SD / c4(N))."),
    ] = "sd",
    cpm_method: Annotated[
        str, typer.Option("--cpm-method", help="Cpm: minitab (default) or qcc.")
    ] = "minitab",
    ci_method: Annotated[
        str, typer.Option("--ci-method", help="Confidence intervals: minitab (default) or qcc.")
    ] = "minitab",
    skip_blank: SkipBlankOpt = False,
    json_out: JsonOpt = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write an HTML capability report to this file.")
    ] = None,
    lang: LangOpt = "zh",
    title: TitleOpt = None,
) -> None:
    """Process capability (Cp, Cpk, Cpm, Pp, Ppk, PPM) of one column of a file.

    Exit codes: 0 ok, 1 internal error, 2 bad option, 3 file unreadable, 4 bad data (every bad
    row is listed), 5 report not written.
    """
    if lang not in ("zh", "en"):
        raise ParameterError(f"--lang must be zh or en. Got {lang!r}.")
    req = CapabilityRequest(
        value=value,
        subgroup=subgroup,
        subgroup_size=subgroup_size,
        lsl=lsl,
        usl=usl,
        target=target,
        sigma_method=sigma_method,
        overall_method=overall_method,
        cpm_method=cpm_method,
        ci_method=ci_method,
        method=method.value,
        confidence=confidence,
        constants=constants,
        skip_blank=skip_blank,
    )
    outcome = analyse_file(file, req, sheet=sheet)
    res = outcome.result
    for note in outcome.notes:
        err_console.print(f"note: {note}", markup=False)
    for w in res.warnings:
        err_console.print(f"warning: {w}", markup=False)
    if out is not None:
        from zhuoyue.reports.capability import CapabilitySection, render_capability_report
        from zhuoyue.reports.html import write_report

        section = CapabilitySection(value, res, source=f"{file.name}: {value}")
        doc = render_capability_report(
            [section], title=title or f"{file.name} — {value}", lang=lang
        )
        write_report(str(doc), out)
        err_console.print(f"report written to {out}", markup=False)
    if json_out:
        print_json(res.to_dict())
    else:
        out_console.print(f"{outcome.table.source}, column {value!r}", markup=False)
        out_console.print(res.summary(warnings=False), markup=False)
