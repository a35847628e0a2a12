"""``zhuoyue import``: load a workbook or a folder of CSV / Parquet files into the database."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from zhuoyue.cli._common import JsonOpt, err_console, handle_errors, out_console, print_json
from zhuoyue.cli.db import DbOpt, database_errors, require_schema, shown_url

if TYPE_CHECKING:
    from zhuoyue.services.importing import ImportReport

__all__ = ["import_"]

_TABLE_ZH = {
    "steps": "工序",
    "products": "产品",
    "characteristics": "特性",
    "measurements": "测量",
    "inspections": "交验",
    "product_quality": "产品质量",
    "quality_costs": "质量成本",
    "output_value": "产值",
    "self_assessment": "自评",
}


@handle_errors()
def import_(
    path: Annotated[
        Path,
        typer.Argument(
            help="The assessment workbook (.xlsx), or a folder of CSV / Parquet files named "
            "after the tables (measurements.csv, inspections.csv, ...)."
        ),
    ],
    org: Annotated[
        str, typer.Option("--org", help="Code of the organization to import into, e.g. acme-auto.")
    ],
    db: DbOpt = None,
    create_org: Annotated[
        bool,
        typer.Option("--create-org", help="Create the organization when it does not exist."),
    ] = False,
    name: Annotated[
        str | None,
        typer.Option(
            "--org-name",
            help="Name of a created organization (default: the enterprise sheet's name).",
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Check and count everything, then write nothing."),
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Import the tables of a workbook or folder into the database, all or nothing.

    Re-importing the same rows adds nothing (they count as identical). A row that differs from
    the stored row with the same key is a conflict: nothing is imported and every conflicting
    row is listed (sheet, row, column, stored and new value). A changed specification of a
    stored characteristic is applied and reported.

    Exit codes: 0 ok; 1 internal error; 2 bad option (bad --org code, unknown organization
    without --create-org, bad --db URL); 3 the file, folder or database cannot be read (or the
    database is not migrated: zhuoyue db upgrade); 4 problems in the data or conflicts with
    stored rows (each listed; nothing imported).
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

    from zhuoyue.services.importing import import_data
    from zhuoyue.store import database_url, make_engine

    url = database_url(db)
    require_schema(url)
    with database_errors(url):
        engine = make_engine(url)
    progress = Progress(
        TextColumn("{task.description:<22}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    )
    tasks: dict[str, TaskID] = {}

    def tick(table: str, done: int, total: int) -> None:
        if "" in tasks:  # the file is read: the tables follow
            progress.remove_task(tasks.pop(""))
        if table not in tasks:
            tasks[table] = progress.add_task(f"{table} {_TABLE_ZH.get(table, '')}", total=total)
        progress.update(tasks[table], completed=done, total=total)

    try:
        with progress, database_errors(url):
            tasks[""] = progress.add_task(f"reading {path.name}", total=None)
            report = import_data(
                engine,
                path,
                org_code=org,
                create_org=create_org,
                org_name=name,
                progress=tick,
                dry_run=dry_run,
            )
    finally:
        engine.dispose()
    for w in report.warnings:
        err_console.print(f"warning: {w}", markup=False)
    if json_out:
        out = report.to_dict()
        out["database"] = shown_url(url)
        print_json(out)
    else:
        _print_summary(report, shown_url(url))


def _print_summary(report: ImportReport, url: str) -> None:
    from rich.table import Table

    verb = "would import (dry run, nothing written)" if report.dry_run else "imported"
    title = f"{verb} {report.source} → {report.org_code} @ {url}"
    table = Table(title=title, title_justify="left")
    table.add_column("table")
    for col in ("rows", "inserted", "identical", "updated"):
        table.add_column(col, justify="right")
    for key, c in report.tables.items():
        if c.rows == 0:
            continue
        table.add_row(
            f"{key} {_TABLE_ZH.get(key, '')}",
            f"{c.rows:,}",
            f"{c.inserted:,}",
            f"{c.identical:,}",
            f"{c.updated:,}",
        )
    table.add_row(
        "total", "", f"{report.inserted:,}", f"{report.identical:,}", f"{report.updated:,}"
    )
    out_console.print(table)
    for ch in report.changes:
        out_console.print(
            f"changed {ch.table} {ch.key}: {ch.column} {ch.before!r} → {ch.after!r}",
            markup=False,
        )
    extra = " (organization created)" if report.org_created else ""
    out_console.print(f"done in {report.duration_s:.2f} s{extra}", markup=False)
