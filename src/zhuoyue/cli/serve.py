"""``zhuoyue serve``: the REST API (``/api/v1``, OpenAPI at ``/docs``) with uvicorn.

Register in ``cli/main.py`` with ``app.command(name="serve")(serve)``.
"""

from __future__ import annotations

from typing import Annotated

import typer

from zhuoyue.cli._common import err_console, handle_errors
from zhuoyue.errors import InputFileError

__all__ = ["serve"]


@handle_errors(json_flag=None)
def serve(
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (0.0.0.0: every interface).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8000,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Database URL, e.g. sqlite:///plant.db or postgresql://user@host/zhuoyue "
            "(default: $ZHUOYUE_DATABASE_URL, else the embedded SQLite file).",
        ),
    ] = None,
) -> None:
    """Serve the web app (/) and the REST API (/api/v1, /docs) of the platform (Ctrl+C stops)."""
    import uvicorn
    from sqlalchemy.engine import make_url

    from zhuoyue.api import create_app
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
    from zhuoyue.web import mount_web

    app = create_app(url)
    mount_web(app)
    err_console.print(
        f"zhuoyue on http://{host}:{port}/ — API http://{host}:{port}/api/v1, "
        f"documentation http://{host}:{port}/docs",
        markup=False,
    )
    uvicorn.run(app, host=host, port=port, log_level="info")
