"""``zhuoyue assess``: the five-level self-assessment of one enterprise and year."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from zhuoyue.cli._common import JsonOpt, LangOpt, err_console, handle_errors, print_json
from zhuoyue.errors import ParameterError

if TYPE_CHECKING:
    from zhuoyue.services.assessment import AssessmentOutcome

_REPORT_SUFFIXES = (".html", ".htm", ".pdf")


@handle_errors()
def assess(
    path: Annotated[
        Path,
        typer.Argument(
            help="The assessment workbook (.xlsx, from `zhuoyue template`) or a folder of CSV / "
            "Parquet files named after the tables (measurements.csv, inspections.csv, ...)."
        ),
    ],
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="A model file (TOML/YAML) or the id of a built-in model "
            "(default: the built-in miit-249-2023/zhuoyue-v1).",
        ),
    ] = None,
    year: Annotated[
        int | None,
        typer.Option(
            "--year",
            help="The assessed calendar year (default: the workbook's year, else the year of "
            "the output value, else the latest year in the data).",
        ),
    ] = None,
    report: Annotated[
        Path | None,
        typer.Option(
            "--report",
            help="Also write the self-declaration (自我声明) to OUT.html or OUT.pdf.",
        ),
    ] = None,
    lang: LangOpt = "zh",
    require_evidence: Annotated[
        bool | None,
        typer.Option(
            "--require-evidence/--no-require-evidence",
            help="Count an answer without evidence as 经验级 (default: the model's rule).",
        ),
    ] = None,
    normality: Annotated[
        bool,
        typer.Option(
            "--normality", help="Test every key characteristic for normality (Anderson–Darling)."
        ),
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Assess the quality management capability level (经验级 … 卓越级) from data and answers.

    Computes the policy's quantitative indicators (product sigma level, lowest Cpk of the key
    characteristics, rolled first-pass yield, internal and external loss rates) from the tables
    of the assessed year, reads the self_assessment answers, and decides the level by the
    weakest-link rule of the model. Prints the level, what binds it, the gaps to the next level
    and the improvement plan (or, with --json, every number as one JSON object).

    Exit codes: 0 ok; 1 internal error; 2 bad option (unknown --lang, report suffix); 3 the
    workbook/folder cannot be read; 4 the data or the model file are invalid (every problem
    with sheet, row, column and fix); 5 the report cannot be written.
    """
    if lang not in ("zh", "en"):
        raise ParameterError(f"--lang must be zh or en. Got {lang!r}.")
    if report is not None and report.suffix.lower() not in _REPORT_SUFFIXES:
        raise ParameterError(
            f"--report must end in .html or .pdf. Got {report.name!r}. "
            "Example: --report declaration.pdf"
        )
    from zhuoyue.excellence import default_model, load_model
    from zhuoyue.ingest.workbook import read_assessment_data
    from zhuoyue.services.assessment import assess as run_assessment

    mdl = default_model() if model is None else load_model(model)
    # rows outside the year the workbook declares (enterprise sheet) are errors; --year only
    # selects the year of a multi-year data set (other rows are left out with a warning)
    data = read_assessment_data(path, model=mdl)
    outcome = run_assessment(
        data, model=mdl, year=year, require_evidence=require_evidence, normality=normality
    )
    if report is not None:
        from zhuoyue.reports.declaration import write_declaration

        written = write_declaration(outcome, report, lang=lang)
        err_console.print(f"self-declaration: {written.resolve()}", markup=False)
    if json_out:
        print_json(outcome.to_dict())
        return
    for w in outcome.warnings:
        err_console.print(f"warning: {w}", markup=False)
    typer.echo(_human(outcome))


def _human(outcome: AssessmentOutcome) -> str:
    res = outcome.result
    head = []
    name = outcome.enterprise.get("name")
    if name:
        head.append(f"{name} — {outcome.year}" if outcome.year else str(name))
    summary = res.summary()
    # warnings went to stderr already
    lines = [ln for ln in summary.splitlines() if not ln.startswith("警告 warning:")]
    return "\n".join([*head, *lines])
