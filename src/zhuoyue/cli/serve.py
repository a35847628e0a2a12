"""``zhuoyue serve``: the REST API (``/api/v1``, OpenAPI at ``/docs``) with uvicorn.

Register in ``cli/main.py`` with ``app.command(name="serve")(serve)``.
"""

from __future__ import annotations

from typing import Annotated

import typer

from zhuoyue.cli._common import err_console, handle_errors, migrated_database

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
    mqtt: Annotated[
        str | None,
        typer.Option(
            "--mqtt",
            help="Run the online monitor on this MQTT broker, mqtt://host:port "
            "(default: $ZHUOYUE_MQTT_URL; none: no monitor).",
        ),
    ] = None,
    opcua: Annotated[
        str | None,
        typer.Option("--opcua", help="Run the online monitor on the OPC UA nodes of this file."),
    ] = None,
) -> None:
    """Serve the web app (/) and the REST API (/api/v1, /docs) of the platform (Ctrl+C stops).

    With an MQTT broker or an OPC UA configuration the online monitor runs inside the server,
    and the web app shows its points and alarms live.
    """
    import uvicorn

    from zhuoyue.api import create_app

    url = migrated_database(db)
    from zhuoyue.services import monitor_runtime
    from zhuoyue.web import mount_web

    app = create_app(url)
    mount_web(app)
    config = monitor_runtime.MonitorConfig.from_env(mqtt_url=mqtt, opcua_config=opcua)
    running = None
    if config.has_source:
        running = monitor_runtime.start(app.state.sessions, config, hub=app.state.hub)
        err_console.print(
            "online monitor: "
            + "; ".join(
                x
                for x in (
                    config.mqtt and f"MQTT {config.mqtt.host}:{config.mqtt.port}",
                    config.opcua and f"OPC UA {config.opcua.url}",
                )
                if x
            ),
            markup=False,
        )
    err_console.print(
        f"zhuoyue on http://{host}:{port}/ — API http://{host}:{port}/api/v1, "
        f"documentation http://{host}:{port}/docs",
        markup=False,
    )
    try:
        uvicorn.run(app, host=host, port=port, log_level="info")
    finally:
        if running is not None:
            running.stop()
