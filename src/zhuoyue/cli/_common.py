"""Shared plumbing of the CLI: consoles, error rendering and exit codes."""

from __future__ import annotations

import functools
import json
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from zhuoyue.errors import InputFileError, ValidationError, ZhuoyueError

P = ParamSpec("P")
R = TypeVar("R")

#: messages, progress and errors: stderr; data: stdout
err_console = Console(stderr=True, highlight=False, soft_wrap=True)
out_console = Console(highlight=False, soft_wrap=True)

_MAX_PROBLEMS_SHOWN = 20

# options shared by the commands that read a table (one definition, the same help everywhere)
FileArg = Annotated[
    Path, typer.Argument(help="CSV, Excel or Parquet file; the first row is the header.")
]
SheetOpt = Annotated[
    str | None, typer.Option("--sheet", help="Excel sheet name (default: the first).")
]
SkipBlankOpt = Annotated[
    bool,
    typer.Option("--skip-blank", help="Skip rows whose value cell is empty instead of failing."),
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print the result as one JSON object on stdout.")
]
LangOpt = Annotated[str, typer.Option("--lang", help="Report language: zh (default) or en.")]
TitleOpt = Annotated[str | None, typer.Option("--title", help="Report title.")]


class State:
    debug = False


def print_json(data: Any) -> None:
    """Data for machines on stdout: one JSON document, UTF-8, no NaN."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, allow_nan=False))
    sys.stdout.write("\n")
    sys.stdout.flush()


def report_error(exc: ZhuoyueError) -> None:
    err_console.print(f"[bold red]error:[/] {escape(str(exc))}", markup=True, highlight=False)
    if isinstance(exc, ValidationError) and len(exc.problems) > 1:
        for p in exc.problems[:_MAX_PROBLEMS_SHOWN]:
            err_console.print(f"  - {p.message}", markup=False)
        rest = len(exc.problems) - _MAX_PROBLEMS_SHOWN
        if rest > 0:
            err_console.print(f"  ... and {rest} more (use --json for the full list)", markup=False)


def handle_errors(json_flag: str | None = "json_out") -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Map zhuoyue errors to their documented exit codes; never show a traceback unless --debug.

    With ``--json``, a :class:`ValidationError` also writes ``{"error": ..., "problems": [...]}``
    to stdout so scripts get every row problem.
    """

    def deco(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return fn(*args, **kwargs)
            except typer.Exit:
                raise
            except ZhuoyueError as exc:
                if State.debug:
                    traceback.print_exc()
                report_error(exc)
                if json_flag and kwargs.get(json_flag):
                    body: dict[str, Any] = {"error": {"code": exc.code, "message": str(exc)}}
                    if isinstance(exc, ValidationError):
                        body["error"]["problems"] = [p.to_dict() for p in exc.problems]
                    print_json(body)
                raise typer.Exit(exc.exit_code) from None
            except KeyboardInterrupt:
                err_console.print("interrupted", markup=False)
                raise typer.Exit(130) from None
            except Exception as exc:
                if State.debug:
                    traceback.print_exc()
                err_console.print(
                    f"[bold red]internal error:[/] {type(exc).__name__}: {escape(str(exc))}\n"
                    "This is a bug in zhuoyue. Run again with --debug for the traceback and "
                    "report it.",
                    markup=True,
                    highlight=False,
                )
                raise typer.Exit(1) from None

        return wrapper

    return deco


def migrated_database(db: str | None) -> str:
    """The database URL of ``--db`` (else the settings'), checked to be at the newest schema;
    :class:`InputFileError` (exit 3) naming the database and the command to run otherwise."""
    from sqlalchemy.engine import make_url

    from zhuoyue.store import migrate
    from zhuoyue.store.engine import database_url

    url = database_url(db)
    shown = make_url(url).render_as_string(hide_password=True)
    try:
        current = migrate.current(url)
    except Exception as exc:  # unreachable server, bad file: say which database
        raise InputFileError(f"cannot open the database {shown}: {exc}") from None
    if current != migrate.head():
        raise InputFileError(
            f"The database {shown} is not at the newest schema (at {current or 'nothing'}). "
            f"Run: zhuoyue db upgrade --db {shown}"
        )
    return url
