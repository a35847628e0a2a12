"""``zhuoyue template``: write the empty assessment workbook to fill in."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from zhuoyue.cli._common import err_console, handle_errors
from zhuoyue.errors import OutputError, ParameterError


@handle_errors(json_flag=None)
def template(
    out: Annotated[
        Path, typer.Argument(help="The workbook to write, e.g. 自评估.xlsx (must end in .xlsx).")
    ],
    lang: Annotated[
        str, typer.Option("--lang", help="Workbook language: zh (default) or en.")
    ] = "zh",
    model: Annotated[
        Path | None,
        typer.Option(
            "--model",
            help="Model file (TOML/JSON/YAML) or built-in model id whose indicators to list.",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite OUT when it exists.")] = False,
) -> None:
    """Write the self-assessment workbook: instructions, enterprise, one sheet per table.

    The self_assessment sheet lists every questionnaire indicator of the model with its five
    level descriptions, a 1-5 drop-down and evidence columns. Fill it in, then run
    ``zhuoyue assess OUT.xlsx``. The path written is printed on stdout.

    Exit codes: 0 ok, 1 internal error, 2 bad option (--lang, not .xlsx), 3 model file
    unreadable, 4 model file invalid, 5 OUT exists (without --force) or cannot be written.
    """
    from zhuoyue.excellence import load_model
    from zhuoyue.ingest.workbook import TEMPLATE_LANGS, write_template

    if lang not in TEMPLATE_LANGS:
        raise ParameterError(f"--lang must be zh or en. Got {lang!r}.")
    if out.suffix.lower() != ".xlsx":
        raise ParameterError(
            f"The template is an Excel workbook: OUT must end in .xlsx. Got {out.name!r}."
        )
    if out.exists() and not force:
        raise OutputError(f"{out}: the file exists. Use --force to overwrite it.")
    chosen = load_model(str(model)) if model is not None else None  # a file or a built-in id
    written = write_template(out, lang=lang, model=chosen)
    err_console.print(f"template: {written.resolve()}", markup=False)
    typer.echo(str(written))
