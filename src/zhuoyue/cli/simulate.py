"""``zhuoyue simulate``: publish a simulated machine feed over MQTT for the online monitor."""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from zhuoyue.cli._common import JsonOpt, err_console, handle_errors, print_json
from zhuoyue.errors import InputFileError, ParameterError

#: seconds between progress lines
_PROGRESS_EVERY = 5.0


def _start_time(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ParameterError(
            f"--start must be ISO 8601 text such as 2024-06-01T08:00:00+08:00. Got {text!r}."
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


class _Publisher:
    """A paho client publishing with QoS 1 and counting the broker's acknowledgements."""

    def __init__(self, host: str, port: int, client_id: str) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self.acked = 0
        self._cond = threading.Condition()
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
        client.max_inflight_messages_set(200)
        client.max_queued_messages_set(0)  # no limit: the rate is paced here
        client.on_publish = self._on_publish
        try:
            client.connect(host, port, keepalive=30)
        except OSError as exc:
            raise InputFileError(
                f"cannot connect to the MQTT broker mqtt://{host}:{port} ({exc}). Start the "
                "broker (e.g. mosquitto) or give --mqtt mqtt://host:port."
            ) from None
        client.loop_start()
        self.client = client

    def _on_publish(self, client: Any, userdata: Any, mid: int, reason: Any, props: Any) -> None:
        with self._cond:
            self.acked += 1
            self._cond.notify_all()

    def publish(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1)

    def wait_acked(self, n: int, timeout: float) -> bool:
        """Wait until ``n`` messages are acknowledged; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.acked < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@handle_errors()
def simulate(
    org: Annotated[
        str, typer.Option("--org", help="Organization code (default: demo plant A).")
    ] = "jinggong-auto",
    db: Annotated[
        str | None,
        typer.Option("--db", help="Database URL (default: $ZHUOYUE_DATABASE_URL, else SQLite)."),
    ] = None,
    mqtt: Annotated[
        str | None,
        typer.Option(
            "--mqtt",
            help="MQTT broker, mqtt://host:port (default: $ZHUOYUE_MQTT_URL, else "
            "mqtt://127.0.0.1:1883).",
        ),
    ] = None,
    topic: Annotated[
        str | None,
        typer.Option("--topic", help="Topic template with {org} and {characteristic}."),
    ] = None,
    scenario: Annotated[
        str,
        typer.Option(
            "--scenario",
            help="normal, shift (every mean +1.5σ after a third), trend (a slow rise) or mixed "
            "(most normal, one shift, one trend).",
        ),
    ] = "mixed",
    rate: Annotated[
        float, typer.Option("--rate", min=0.001, help="Values per second (all characteristics).")
    ] = 10.0,
    duration: Annotated[
        float, typer.Option("--duration", min=0, help="Seconds to publish (rate × duration).")
    ] = 60.0,
    count: Annotated[
        int | None, typer.Option("--count", min=0, help="Values to publish (instead of duration).")
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            "--start", help="Simulated time of the first value (ISO 8601; default: now, live)."
        ),
    ] = None,
    step: Annotated[
        float, typer.Option("--step", min=0, help="Simulated seconds between values (--start).")
    ] = 1.0,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed of the values.")] = None,
    run: Annotated[
        str | None,
        typer.Option("--run", help="Prefix of the message ids (default: sim + the start time)."),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Publish simulated measurements of the characteristics with frozen limits (QoS 1).

    Values follow N(centre, sigma) of each characteristic's active frozen limits, in whole
    subgroups with consecutive subgroup labels for Xbar charts, on the topics and payload the
    monitor reads (zhuoyue/{org}/{characteristic}), each with a unique message id. Progress and
    the summary go to stderr (--json: the summary on stdout).
    """
    from zhuoyue.cli.monitor import _open_database
    from zhuoyue.demo import feed
    from zhuoyue.ingest.messages import DEFAULT_TEMPLATE, TopicMap
    from zhuoyue.services.monitor_runtime import parse_mqtt_url

    if scenario not in feed.SCENARIOS:
        raise ParameterError(
            f"--scenario must be one of {', '.join(feed.SCENARIOS)}. Got {scenario!r}."
        )
    host, port = parse_mqtt_url(mqtt or os.environ.get("ZHUOYUE_MQTT_URL") or "mqtt://127.0.0.1")
    template = topic or os.environ.get("ZHUOYUE_MQTT_TOPIC") or DEFAULT_TEMPLATE
    try:
        TopicMap(template)
    except ValueError as exc:
        raise ParameterError(str(exc)) from None
    t_start = _start_time(start)
    total = count if count is not None else round(rate * duration)
    sessions = _open_database(db)
    try:
        with sessions() as s:
            targets = feed.load_targets(s, org)
    finally:
        sessions.kw["bind"].dispose()
    run_id = run or "sim" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    plans = feed.plan(targets, scenario, total, seed=seed)
    disturbed = {
        t.code: f"{d.kind} from value {d.start}"
        for t, d in zip(targets, plans, strict=True)
        if d.kind != "normal"
    }
    err_console.print(
        f"simulate: {total} values of {len(targets)} characteristics of {org} at {rate:g}/s "
        f"to mqtt://{host}:{port} ({scenario}"
        + (": " + ", ".join(f"{c} {k}" for c, k in disturbed.items()) if disturbed else "")
        + ")",
        markup=False,
    )
    topics = {t.code: template.format(org=org, characteristic=t.code) for t in targets}
    values = feed.generate(
        targets, total, seed=seed, run=run_id, start=t_start, step=step, disturbances=plans
    )
    import json

    pub = _Publisher(host, port, f"zhuoyue-simulate-{os.getpid()}")
    per: dict[str, int] = {t.code: 0 for t in targets}
    t0 = time.monotonic()
    last_report = t0
    sent = 0
    try:
        for v in values:
            due = t0 + v.index / rate
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            ts = None if v.ts is not None else datetime.now(UTC)
            body = json.dumps(v.payload(ts), separators=(",", ":")).encode()
            pub.publish(topics[v.characteristic], body)
            per[v.characteristic] += 1
            sent += 1
            if time.monotonic() - last_report >= _PROGRESS_EVERY:
                last_report = time.monotonic()
                err_console.print(
                    f"simulate: {sent}/{total} published, {pub.acked} acknowledged", markup=False
                )
        complete = pub.wait_acked(sent, timeout=60.0)
    finally:
        pub.close()
    elapsed = time.monotonic() - t0
    summary = {
        "org": org,
        "broker": f"mqtt://{host}:{port}",
        "scenario": scenario,
        "seed": seed,
        "run": run_id,
        "published": sent,
        "acknowledged": pub.acked,
        "seconds": round(elapsed, 3),
        "rate": round(sent / elapsed, 1) if elapsed > 0 else None,
        "characteristics": per,
        "disturbed": disturbed,
    }
    err_console.print(
        f"simulate: {sent} published, {pub.acked} acknowledged by the broker in {elapsed:.1f} s "
        f"({summary['rate']}/s)",
        markup=False,
    )
    if json_out:
        print_json(summary)
    if not complete:
        raise InputFileError(
            f"The broker acknowledged {pub.acked} of {sent} messages within 60 s; the rest may "
            "be lost."
        )
