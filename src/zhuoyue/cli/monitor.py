"""``zhuoyue monitor``: the online monitor alone (MQTT and/or OPC UA → database → alarms)."""

from __future__ import annotations

import signal
import threading
import time
from typing import Annotated, Any

import typer

from zhuoyue.cli._common import err_console, handle_errors, migrated_database
from zhuoyue.errors import ParameterError


def _open_database(db: str | None) -> Any:
    """A session factory on the migrated database of ``--db``."""
    from zhuoyue.store.engine import make_engine, session_factory

    return session_factory(make_engine(migrated_database(db)))


@handle_errors(json_flag=None)
def monitor(
    db: Annotated[
        str | None,
        typer.Option("--db", help="Database URL (default: $ZHUOYUE_DATABASE_URL, else SQLite)."),
    ] = None,
    mqtt: Annotated[
        str | None,
        typer.Option("--mqtt", help="MQTT broker, mqtt://host:port (default: $ZHUOYUE_MQTT_URL)."),
    ] = None,
    client_id: Annotated[
        str | None,
        typer.Option("--client-id", help="Client id of the persistent MQTT session."),
    ] = None,
    topic: Annotated[
        str | None,
        typer.Option(
            "--topic", help="Topic template with {org} and {characteristic} (zhuoyue/{org}/...)."
        ),
    ] = None,
    opcua: Annotated[
        str | None,
        typer.Option("--opcua", help="OPC UA configuration file (TOML: url and [nodes])."),
    ] = None,
    tz: Annotated[
        str | None,
        typer.Option("--tz", help="Time zone of payload times without an offset (UTC)."),
    ] = None,
    stats_every: Annotated[
        float, typer.Option("--stats-every", min=0, help="Print counters every N s (0: never).")
    ] = 30.0,
    run_for: Annotated[
        float | None,
        typer.Option("--run-for", min=0, help="Stop after N seconds (default: until Ctrl+C)."),
    ] = None,
) -> None:
    """Store machine values, judge them against frozen limits and raise alarms (Ctrl+C stops).

    Every message is validated; rejected ones go to the dead-letter table with their reason.
    Values, SPC state and alarms of a batch are committed together, and MQTT messages are
    acknowledged after the commit: a restarted monitor loses nothing and stores nothing twice.
    """
    from zhuoyue.services import monitor_runtime

    config = monitor_runtime.MonitorConfig.from_env(
        mqtt_url=mqtt, client_id=client_id, topic=topic, opcua_config=opcua, tz=tz
    )
    if not config.has_source:
        raise ParameterError(
            "Nothing to monitor: give --mqtt mqtt://host:port and/or --opcua FILE "
            "(or set ZHUOYUE_MQTT_URL / ZHUOYUE_OPCUA_CONFIG)."
        )
    sessions = _open_database(db)
    running = monitor_runtime.start(sessions, config)
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    sources = []
    if config.mqtt is not None:
        sources.append(
            f"MQTT {config.mqtt.host}:{config.mqtt.port} {config.mqtt.topics.subscription}"
        )
    if config.opcua is not None:
        sources.append(f"OPC UA {config.opcua.url} ({len(config.opcua.nodes)} nodes)")
    err_console.print(f"zhuoyue monitor: {'; '.join(sources)} (Ctrl+C stops)", markup=False)
    for name, source in (("MQTT", running.mqtt), ("OPC UA", running.opcua)):
        if source is not None:
            ok = source.wait_connected(10.0)
            err_console.print(
                f"monitor: {name} {'connected' if ok else 'not connected yet (retrying)'}",
                markup=False,
            )
    started = time.monotonic()
    last = started
    try:
        while not stop.wait(0.2):
            now = time.monotonic()
            if run_for is not None and now - started >= run_for:
                break
            if stats_every and now - last >= stats_every:
                last = now
                err_console.print(_line(running.stats()), markup=False)
    finally:
        running.stop()
        err_console.print(_line(running.stats()), markup=False)


def _line(stats: dict[str, Any]) -> str:
    keys = ("received", "stored", "duplicates", "rejected", "out_of_order", "no_limits",
            "alarms_opened", "queued")  # fmt: skip
    return "monitor: " + ", ".join(f"{k.replace('_', ' ')} {stats.get(k, 0)}" for k in keys)
