"""``zhuoyue spc``: a control chart of a CSV / Excel / Parquet file."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table as RichTable

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
from zhuoyue.services.spc import SpcOutcome, SpcRequest, analyse_file
from zhuoyue.stats.results import ChartResult, Panel


class Chart(StrEnum):
    xbar_r = "xbar_r"
    xbar_s = "xbar_s"
    imr = "imr"
    p = "p"
    np = "np"
    c = "c"
    u = "u"
    ewma = "ewma"
    cusum = "cusum"


class Rules(StrEnum):
    gb4091 = "gb4091"
    we = "we"
    none = "none"


def _int_list(text: str | None, flag: str) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        items = tuple(int(t) for t in text.replace(" ", "").split(",") if t)
    except ValueError:
        raise ParameterError(
            f"{flag} takes comma-separated whole numbers, e.g. 1,2,5. Got {text!r}."
        ) from None
    return items


@handle_errors()
def spc(
    file: FileArg,
    chart: Annotated[Chart, typer.Option("--chart", help="Chart type.", case_sensitive=False)],
    value: Annotated[
        str, typer.Option("--value", help="Column of measurements (or defectives / counts).")
    ],
    subgroup: Annotated[
        str | None, typer.Option("--subgroup", help="Column with the subgroup of each row.")
    ] = None,
    subgroup_size: Annotated[
        int | None,
        typer.Option(
            "--subgroup-size", help="Fixed subgroup size: consecutive rows form subgroups."
        ),
    ] = None,
    size: Annotated[
        str | None, typer.Option("--size", help="Sample-size column of p, np and u charts.")
    ] = None,
    sheet: SheetOpt = None,
    center: Annotated[
        float | None,
        typer.Option("--center", help="Known/frozen centre (p̄ for p and np charts): phase II."),
    ] = None,
    sigma: Annotated[
        float | None, typer.Option("--sigma", help="Known/frozen process sigma: phase II.")
    ] = None,
    phase1_rows: Annotated[
        int | None,
        typer.Option(
            "--phase1-rows",
            help="The first N subgroups (or points) estimate the limits; the rest is monitored.",
        ),
    ] = None,
    exclude: Annotated[
        str | None,
        typer.Option(
            "--exclude", help="0-based subgroups/points left out of the estimate, e.g. 5,19."
        ),
    ] = None,
    iterate: Annotated[
        bool,
        typer.Option(
            "--iterate",
            help="Drop phase I points beyond the limits and re-estimate until none is left.",
        ),
    ] = False,
    sigma_method: Annotated[
        str | None,
        typer.Option(
            "--sigma-method",
            help="rbar, rbar_unweighted, sbar, sbar_unweighted, pooled (subgroups); mr, mr_median, sd (individuals).",
        ),
    ] = None,
    constants: Annotated[
        str,
        typer.Option(
            "--constants", help="exact (default) or table (3-decimal d2 as in qcc / textbooks)."
        ),
    ] = "exact",
    rules: Annotated[
        Rules,
        typer.Option(
            "--rules",
            help="Run rules: gb4091 (8 tests, GB/T 4091 / ISO 7870-2), we (Western Electric 1-4), none.",
            case_sensitive=False,
        ),
    ] = Rules.gb4091,
    tests: Annotated[
        str | None, typer.Option("--tests", help="Only these tests of the set, e.g. 1,2,5.")
    ] = None,
    test8: Annotated[
        str,
        typer.Option(
            "--test8", help="Test 8 wording: both (GB/T 4091, default) or either (Minitab)."
        ),
    ] = "both",
    lam: Annotated[
        float | None, typer.Option("--lambda", help="EWMA weight λ in (0, 1] (default 0.2).")
    ] = None,
    ell: Annotated[
        float | None, typer.Option("--L", help="EWMA limit width in sigmas (default 3).")
    ] = None,
    limits: Annotated[
        str | None,
        typer.Option("--limits", help="EWMA limits: exact (time-varying, default) or asymptotic."),
    ] = None,
    k: Annotated[
        float | None, typer.Option("--k", help="CUSUM reference value in sigmas (default 0.5).")
    ] = None,
    h: Annotated[
        float | None, typer.Option("--h", help="CUSUM decision interval in sigmas (default 5).")
    ] = None,
    units: Annotated[
        str | None, typer.Option("--units", help="CUSUM units: data (default) or standardized.")
    ] = None,
    headstart: Annotated[
        float | None,
        typer.Option("--headstart", help="CUSUM fast initial response, fraction of h (e.g. 0.5)."),
    ] = None,
    skip_blank: SkipBlankOpt = False,
    json_out: JsonOpt = False,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write an HTML report with the charts to this file."),
    ] = None,
    lang: LangOpt = "zh",
    title: TitleOpt = None,
) -> None:
    """Control chart with run rules of one column of a file (CSV, Excel, Parquet).

    Exit codes: 0 ok, 1 internal error, 2 bad option, 3 file unreadable, 4 bad data (every bad
    row is listed), 5 report not written.
    """
    if lang not in ("zh", "en"):
        raise ParameterError(f"--lang must be zh or en. Got {lang!r}.")
    req = SpcRequest(
        chart=chart.value,
        value=value,
        subgroup=subgroup,
        subgroup_size=subgroup_size,
        size=size,
        center=center,
        sigma=sigma,
        phase1=phase1_rows,
        exclude=_int_list(exclude, "--exclude") or (),
        iterate=iterate,
        sigma_method=sigma_method,
        constants=constants,
        rules=rules.value,
        tests=_int_list(tests, "--tests"),
        test8=test8,
        lam=lam,
        L=ell,
        limits=limits,
        k=k,
        h=h,
        units=units,
        headstart=headstart,
        skip_blank=skip_blank,
    )
    outcome = analyse_file(file, req, sheet=sheet)
    for note in outcome.notes:
        err_console.print(f"note: {note}", markup=False)
    for w in outcome.result.warnings:
        err_console.print(f"warning: {w}", markup=False)
    if out is not None:
        from zhuoyue.reports.html import ReportSection, render_chart_report, write_report

        section = ReportSection(
            title=f"{file.name} · {value}",
            description="",
            result=outcome.result,
            source=f"{file.name}, column {value!r}" + (f", sheet {sheet!r}" if sheet else ""),
        )
        html = render_chart_report(
            [section], title=title or f"{file.name} — {chart.value}", lang=lang
        )
        write_report(html, out)
        err_console.print(f"report written to {out}", markup=False)
    if json_out:
        print_json(outcome.result.to_dict())
    else:
        _print_summary(outcome)


def _fmt(x: object) -> str:
    import numpy as np

    if x is None:
        return "—"
    if isinstance(x, np.ndarray):
        f = x[np.isfinite(x)]
        return f"{f.min():.6g} … {f.max():.6g} (per point)" if f.size else "—"
    return f"{float(x):.6g}"  # type: ignore[arg-type]


def _print_summary(outcome: SpcOutcome) -> None:
    res: ChartResult = outcome.result
    rows = outcome.rows
    out_console.print(
        f"{res.chart} chart of {outcome.table.source}: {res.n_points} points from {rows.size} rows; "
        f"centre {res.center:.6g}, sigma {res.sigma:.6g} ({res.sigma_method}, constants {res.constants}); "
        f"limits from {int(res.phase1.sum())} phase I points (numbered from 1)"
        + (f", excluded {list(res.excluded)}" if res.excluded else ""),
        markup=False,
    )
    t = RichTable(title=None, show_edge=False)
    for col in ("panel", "CL", "LCL", "UCL", "signals"):
        t.add_column(col)
    for name, p in res.panels.items():
        t.add_row(name, _fmt(p.center), _fmt(p.lcl), _fmt(p.ucl), str(len(p.violations.points())))
    out_console.print(t)
    for name, p in res.panels.items():
        _print_violations(res, name, p)
    if res.in_control:
        out_console.print("in control: no test fires", markup=False)


def _print_violations(res: ChartResult, name: str, p: Panel) -> None:
    for rule in sorted(set(p.violations.rule.tolist())):
        pts = p.violations.for_rule(rule)
        if res.labels is not None:
            what = "subgroups"
            items = [str(res.labels[i]) for i in pts[:15].tolist()]
        else:
            what = "points"
            items = [str(i + 1) for i in pts[:15].tolist()]
        more = f" … (+{pts.size - 15})" if pts.size > 15 else ""
        out_console.print(
            f"{name} test {rule} ({res.rules.describe(rule)}): {what} {', '.join(items)}{more}",
            markup=False,
        )
