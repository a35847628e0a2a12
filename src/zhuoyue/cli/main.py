"""The ``zhuoyue`` command: root of every sub-command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from zhuoyue import __version__
from zhuoyue.cli._common import State, err_console, handle_errors
from zhuoyue.cli.assess import assess
from zhuoyue.cli.capability import capability
from zhuoyue.cli.db import db_app
from zhuoyue.cli.importing import import_
from zhuoyue.cli.msa import msa
from zhuoyue.cli.sigma import sigma
from zhuoyue.cli.spc import spc
from zhuoyue.cli.workbook import template

app = typer.Typer(
    name="zhuoyue",
    help="卓越 zhuoyue — quality statistics and the Manufacturing Excellence Quality Project toolkit.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"zhuoyue {__version__}")
        raise typer.Exit(0)


@app.callback()
def root(
    debug: Annotated[
        bool,
        typer.Option(
            "--debug", help="Show tracebacks of unexpected errors.", envvar="ZHUOYUE_DEBUG"
        ),
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """卓越 zhuoyue: control charts, capability and the five-level self-assessment."""
    State.debug = debug


app.command(name="spc")(spc)
app.command(name="capability")(capability)
app.command(name="sigma")(sigma)
app.command(name="msa")(msa)
app.command(name="template")(template)
app.command(name="assess")(assess)
app.command(name="import")(import_)
app.add_typer(db_app, name="db")


@app.command()
def demo(
    out: Annotated[
        Path, typer.Option("--out", help="Folder for the sample data and the report.")
    ] = Path("out/demo"),
    lang: Annotated[
        str, typer.Option("--lang", help="Report language: zh (default) or en.")
    ] = "zh",
) -> None:
    """Generate the bundled sample plant data, chart it and write an HTML report."""
    _demo(out=out, lang=lang)


@handle_errors(json_flag=None)
def _demo(*, out: Path, lang: str) -> None:
    from zhuoyue.demo.run import run_demo

    report = run_demo(out, lang=lang)
    err_console.print(f"demo report: {report.resolve()}", markup=False)
    err_console.print(
        f"capability report: {(report.parent / 'capability.html').resolve()}", markup=False
    )
    typer.echo(str(report.resolve()))


def main() -> None:
    """Console-script entry point."""
    from zhuoyue._malloc import tune_allocator

    tune_allocator()
    app(prog_name="zhuoyue")


if __name__ == "__main__":  # pragma: no cover
    main()
