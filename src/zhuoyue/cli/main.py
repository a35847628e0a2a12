"""The ``zhuoyue`` command: root of every sub-command."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from zhuoyue import __version__
from zhuoyue.cli._common import State, err_console, handle_errors
from zhuoyue.cli.assess import assess
from zhuoyue.cli.capability import capability
from zhuoyue.cli.db import db_app
from zhuoyue.cli.importing import import_
from zhuoyue.cli.monitor import monitor
from zhuoyue.cli.msa import msa
from zhuoyue.cli.serve import serve
from zhuoyue.cli.sigma import sigma
from zhuoyue.cli.simulate import simulate
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
app.command(name="serve")(serve)
app.command(name="monitor")(monitor)
app.command(name="simulate")(simulate)


@app.command()
def demo(
    out: Annotated[
        Path,
        typer.Option("--out", help="Folder for the sample data, the reports and the database."),
    ] = Path("out/demo"),
    lang: Annotated[
        str, typer.Option("--lang", help="Report language: zh (default) or en.")
    ] = "zh",
    db: Annotated[
        str | None,
        typer.Option("--db", help="Database URL (default: the SQLite file OUT/zhuoyue-demo.db)."),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the generated plants.")] = 2023,
    host: Annotated[str, typer.Option("--host", help="Address the server listens on.")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option("--port", help="Port of the server.")] = 8000,
    serve: Annotated[
        bool,
        typer.Option(
            "--serve/--no-serve", help="Serve the API on the demo database (Ctrl-C stops)."
        ),
    ] = True,
    live: Annotated[
        bool,
        typer.Option(
            "--live/--no-live",
            help="While serving, feed plant A's key characteristics to the online monitor "
            "(private MQTT broker when mosquitto is installed) so charts and alarms move.",
        ),
    ] = True,
    rate: Annotated[
        float, typer.Option("--rate", min=0.1, max=10000, help="Live values per second.")
    ] = 20.0,
) -> None:
    """The demo factory: two generated plants in a database, reports, and the API serving them.

    Writes the control-chart and capability reports of a sample precision-shaft plant and the
    self-declaration of demo plant A (OUT/), builds the demo database (plant A at 保证级, plant B
    at 检验级, a year of data each, users, shared data; idempotent, deterministic by --seed),
    prints the logins and the URL, and serves the web app and the REST API until Ctrl-C
    (--no-serve: stop after building). While serving, plant A's key characteristics get phase I
    limits and a simulated machine feed runs through the online monitor (--no-live: none).
    """
    _demo(
        out=out, lang=lang, db=db, seed=seed, host=host, port=port, serve=serve, live=live,
        rate=rate,
    )  # fmt: skip


@handle_errors(json_flag=None)
def _demo(
    *,
    out: Path,
    lang: str,
    db: str | None,
    seed: int,
    host: str,
    port: int,
    serve: bool,
    live: bool = True,
    rate: float = 20.0,
) -> None:
    from zhuoyue.demo.run import run_demo

    report = run_demo(out, lang=lang)
    err_console.print(f"demo report: {report.resolve()}", markup=False)
    err_console.print(
        f"capability report: {(report.parent / 'capability.html').resolve()}", markup=False
    )
    url = db or f"sqlite:///{(out / 'zhuoyue-demo.db').resolve()}"
    from zhuoyue.demo.factory import build_demo_database

    err_console.print("building the demo factory database ...", markup=False)
    info = build_demo_database(url, seed=seed)
    for org in info.orgs:
        err_console.print(
            f"  plant {org.plant}: {org.name} ({org.code}) — assessment L{org.level} {org.status}",
            markup=False,
        )
    declaration = _demo_declaration(seed, out, lang)
    if declaration is not None:
        err_console.print(f"self-declaration of plant A: {declaration.resolve()}", markup=False)
    err_console.print(f"database: {info.url}", markup=False)
    err_console.print("logins (username / password):", markup=False)
    for login in info.logins:
        err_console.print(
            f"  {login.username} / {login.password}  {login.description}", markup=False
        )
    typer.echo(str(report.resolve()))
    if not serve:
        return
    import uvicorn

    # the web app's per-browser storage lives beside the demo database
    os.environ.setdefault("NICEGUI_STORAGE_PATH", str((out / ".nicegui").resolve()))
    from zhuoyue.api import create_app
    from zhuoyue.web import mount_web

    app_ = create_app(info.url)
    mount_web(app_)
    feed = None
    if live:
        from zhuoyue.demo.live import LiveDemo, freeze_demo_limits

        frozen = freeze_demo_limits(app_.state.sessions)
        if frozen:
            err_console.print(
                f"froze phase I limits of {frozen} key characteristics of plant A", markup=False
            )
        feed = LiveDemo(app_.state.sessions, app_.state.hub, out.resolve(), rate=rate)
        feed.start()
        err_console.print(
            f"live: {rate:g} values/s of plant A through the online monitor ({feed.via}); "
            "see 报警 (alarms) and the characteristics' charts",
            markup=False,
        )
    err_console.print(
        f"serving http://{host}:{port}/ (web app; API /api/v1, documentation /docs); "
        "log in as demo / zhuoyue-demo; Ctrl-C stops",
        markup=False,
    )
    try:
        uvicorn.run(app_, host=host, port=port, log_level="warning")
    finally:
        if feed is not None:
            feed.stop()


def _demo_declaration(seed: int, out: Path, lang: str) -> Path:
    """Plant A's self-declaration (PDF when WeasyPrint works, else HTML)."""
    from zhuoyue.demo.factory import make_plant
    from zhuoyue.errors import OutputError
    from zhuoyue.reports.declaration import write_declaration
    from zhuoyue.services.assessment import assess as run_assessment

    outcome = run_assessment(make_plant("a", seed=seed).data())
    try:
        return write_declaration(outcome, out / "declaration.pdf", lang=lang)
    except OutputError as exc:
        err_console.print(f"warning: no PDF ({exc}); writing HTML instead", markup=False)
        return write_declaration(outcome, out / "declaration.html", lang=lang)


def main() -> None:
    """Console-script entry point."""
    from zhuoyue._malloc import tune_allocator

    tune_allocator()
    app(prog_name="zhuoyue")


if __name__ == "__main__":  # pragma: no cover
    main()
