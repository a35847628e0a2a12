"""Time the online monitor: MQTT publish → validation → storage → run rules → alarm, per second.

Run from the project root::

    .venv/bin/python bench/bench_monitor.py [--messages 20000] [--chars 20] [--repeat 2]
        [--steady-seconds 15] [--steady-share 0.1,0.25,0.5] [--json out.json]

One throwaway Mosquitto (``tests/fixtures_mqtt.start_mosquitto``: persistence on, 1 000
in-flight and 10^6 queued messages per client) serves every run. **The publisher** is a
subprocess (this script with ``--publish``): one paho client, QoS 1, 1 000 messages in flight,
``--chars`` characteristics in turn on ``zhuoyue/bench/cNN``, payload
``{"ts": <publish time, Unix epoch seconds>, "value": N(10, 1), "id": "<run>-<i>"}``. The
consumer runs in this process, on its own threads, so publisher and consumer do not share a GIL:

* **bare paho**: a plain paho subscriber (QoS 1, automatic acknowledgement) that only notes the
  arrival time of each message — the floor the broker and the publisher set;
* **zhuoyue monitor**: :func:`zhuoyue.services.monitor_runtime.start` as ``zhuoyue monitor``
  runs it (MQTT source in a child process — ``--mqtt-thread``: on a thread of this process —
  with a persistent session and manual acknowledgement after the commit,
  the worker's batches, the notifier) on a fresh SQLite file (WAL, migrated to head) with one
  organization and ``--chars`` I-MR characteristics with frozen limits (centre 10, sigma 1,
  GB/T 4091 rules, spec 5-15). A :class:`~zhuoyue.services.monitoring.LiveHub` listener notes
  the time each batch's points are published, which happens after the batch has been committed
  (values, SPC state, alarms) and acknowledged.

Two measurements, each consumer in turn (best of ``--repeat`` for the rate):

1. **Max sustained rate**: the publisher sends ``--messages`` as fast as it can; the rate is
   messages / (last message received (bare) or stored-and-judged (monitor) − first publish).
2. **Latency at steady rates**: the publisher paces each ``--steady-share`` of the monitor's max
   rate (or each ``--steady-rate``) for ``--steady-seconds``; latency = arrival (bare) or
   commit-then-hub time (monitor) minus the publish time in the payload; p50, p99 and max.

Before each monitor run, two values per characteristic (an hour back) warm the monitor up
(statement compilation, caches); the monitor's counters in the JSON include them. The JSON rows
of the monitor also split its time: ``to_queue_*`` (publish → validated and
queued for the worker by the MQTT source), ``batch_*`` (messages per batch, wall and CPU
milliseconds of the worker per batch).

Target (issue 7): the monitor at least 50 % of the bare-subscriber rate with QoS 1, and p99
under 200 ms at a steady rate below saturation. The Markdown table goes to stdout, progress to
stderr; ``--json`` writes the numbers and the versions. ``--profile FILE`` also writes a cProfile
of the monitor's worker thread (``pstats`` format) during the steady runs.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.metadata
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from fixtures_mqtt import Broker, start_mosquitto

SEED = 7
ORG = "bench"
TARGET_SHARE = 0.5
TARGET_P99_MS = 200.0
#: --mqtt-thread: the monitor receives MQTT on a thread of its own process (not a child process)
MQTT_THREAD = False


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------ publisher
def publish_main(port: int, n: int, rate: float, chars: int, run: str) -> int:
    """The publisher subprocess: ``n`` messages at ``rate`` per second (0: as fast as it can)."""
    values = np.round(np.random.default_rng(SEED).normal(10.0, 1.0, n), 3).tolist()
    topics = [f"zhuoyue/{ORG}/c{i + 1:02d}" for i in range(chars)]
    acked = 0
    done = threading.Event()

    def on_publish(client: Any, userdata: Any, mid: int, reason: Any, props: Any) -> None:
        nonlocal acked
        acked += 1
        if acked >= n:
            done.set()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{run}")
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.on_publish = on_publish
    client.connect("127.0.0.1", port)
    client.loop_start()
    dumps = json.dumps
    first = time.time()
    t0 = time.monotonic()
    for i in range(n):
        if rate > 0:
            wait = t0 + i / rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        body = dumps({"ts": time.time(), "value": values[i], "id": f"{run}-{i}"})
        client.publish(topics[i % chars], body, qos=1)
    last = time.time()
    ok = done.wait(300)
    acked_at = time.time()
    client.disconnect()
    client.loop_stop()
    print(json.dumps({"published": n, "acked": acked, "ok": ok, "first": first, "last": last,
                      "acked_at": acked_at}))  # fmt: skip
    return 0


def run_publisher(port: int, n: int, rate: float, chars: int, run: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--publish", str(port), str(n), str(rate), str(chars), run],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    if not result["ok"]:
        raise RuntimeError(f"the broker acknowledged {result['acked']} of {n} publishes")
    return result


# ------------------------------------------------------------------------------------ consumers
class Bare:
    """A plain paho subscriber (QoS 1, automatic acknowledgement) noting arrival times."""

    def __init__(self, port: int, name: str) -> None:
        self.arrivals: list[tuple[float, Any]] = []
        ready = threading.Event()
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=name, clean_session=True)
        client.on_connect = lambda c, u, f, r, p: c.subscribe(f"zhuoyue/{ORG}/+", qos=1)
        client.on_subscribe = lambda c, u, m, r, p: ready.set()
        arrivals = self.arrivals
        now = time.time
        client.on_message = lambda c, u, msg: arrivals.append((now(), msg.payload))
        client.connect("127.0.0.1", port)
        client.loop_start()
        if not ready.wait(10):
            raise RuntimeError("the bare subscriber did not subscribe")
        self.client = client

    def wait(self, n: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while len(self.arrivals) < n and time.monotonic() < deadline:
            time.sleep(0.01)

    def done_times(self) -> list[float]:
        return [t for t, _ in self.arrivals]

    def latencies(self) -> np.ndarray:
        return np.array([t - json.loads(p)["ts"] for t, p in self.arrivals])

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def make_database(path: Path, chars: int) -> str:
    from zhuoyue.store import migrate
    from zhuoyue.store.engine import make_engine, transaction
    from zhuoyue.store.models import Characteristic, ControlLimits, Organization

    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        with transaction(engine) as s:
            org = Organization(code=ORG, name="Bench plant")
            s.add(org)
            s.flush()
            for i in range(chars):
                c = Characteristic(
                    org_id=org.id, code=f"c{i + 1:02d}", name=f"char {i + 1}", lsl=5.0,
                    usl=15.0, subgroup_size=1, rules="gb4091", chart="imr",
                )  # fmt: skip
                s.add(c)
                s.flush()
                s.add(
                    ControlLimits(
                        characteristic_id=c.id, chart="imr", sigma=1.0, reason="bench",
                        limits={"center": 10.0, "sigma": 1.0, "subgroup_size": 1,
                                "rules": "gb4091"},
                    )
                )  # fmt: skip
    finally:
        engine.dispose()
    return url


class Monitor:
    """``zhuoyue monitor`` in-process on a fresh database, with a live-event listener."""

    def __init__(self, port: int, folder: Path, chars: int, name: str, profile: bool) -> None:
        from zhuoyue.ingest.mqtt import MqttSettings
        from zhuoyue.services import monitor_runtime
        from zhuoyue.services.monitoring import LiveHub
        from zhuoyue.store.engine import make_engine, session_factory

        self.url = make_database(folder / f"{name}.db", chars)
        self.engine = make_engine(self.url)
        self.done: list[tuple[float, list[tuple[str, float]]]] = []
        self.alarms = 0
        self.profiler: cProfile.Profile | None = None
        hub = LiveHub()
        hub.subscribe(self._on_event)
        config = monitor_runtime.MonitorConfig(
            mqtt=MqttSettings(host="127.0.0.1", port=port, client_id=name),
            mqtt_process=not MQTT_THREAD,
        )
        sessions = session_factory(self.engine)
        self.running = monitor_runtime.start(sessions, config, hub=hub)
        if profile:
            self._profile_worker()
        self.batches: list[tuple[int, float]] = []  # (messages, seconds) of each batch
        self.cpu: list[float] = []  # CPU seconds of the worker thread in each batch
        self.queued: list[tuple[float, Any]] = []  # (time handed to the worker, item)
        self._instrument()
        assert self.running.mqtt is not None
        if not self.running.mqtt.wait_connected(10):
            raise RuntimeError("the monitor did not connect")
        time.sleep(0.5)  # the subscription is acknowledged
        self._warm_up(port, chars)

    def _warm_up(self, port: int, chars: int) -> None:
        """Two values per characteristic an hour back, stored before the clock starts (the
        first batches compile the statements and fill the caches; a long-running monitor has)."""
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-warm-up")
        client.connect("127.0.0.1", port)
        client.loop_start()
        t0 = time.time() - 3600.0
        infos = [
            client.publish(
                f"zhuoyue/{ORG}/c{i % chars + 1:02d}",
                json.dumps({"ts": t0 + i, "value": 10.0, "id": f"warm-{i}"}),
                qos=1,
            )
            for i in range(2 * chars)
        ]
        for info in infos:
            info.wait_for_publish(10)
        client.disconnect()
        client.loop_stop()
        self.wait(2 * chars, timeout=30)
        if self.count() < 2 * chars:
            raise RuntimeError("the monitor did not store the warm-up values")
        self.done.clear()
        self.batches.clear()
        self.cpu.clear()
        self.queued.clear()
        self.alarms = 0

    def _instrument(self) -> None:
        service = self.running.service
        mqtt_source = self.running.mqtt
        assert mqtt_source is not None
        process_now, submit = service.process_now, mqtt_source._consumer
        batches, queued, now = self.batches, self.queued, time.time

        def timed(batch: Any) -> None:
            t, cpu = time.perf_counter(), time.thread_time()
            process_now(batch)
            batches.append((len(batch), time.perf_counter() - t))
            self.cpu.append(time.thread_time() - cpu)

        def noted(item: Any, ack: Any) -> None:
            queued.append((now(), item))
            submit(item, ack)

        service.process_now = timed  # type: ignore[method-assign]
        mqtt_source._consumer = noted

    def queue_latencies(self) -> np.ndarray:
        """Publish → handed to the worker's queue (paho and validation), in seconds."""
        return np.array([t - item.ts.timestamp() for t, item in self.queued if hasattr(item, "ts")])

    def _profile_worker(self) -> None:
        service = self.running.service
        profiler = cProfile.Profile()
        original = service.process_now

        def profiled(batch: Any) -> None:
            profiler.enable()
            try:
                original(batch)
            finally:
                profiler.disable()

        service.process_now = profiled  # type: ignore[method-assign]
        self.profiler = profiler

    def _on_event(self, event: dict[str, Any]) -> None:
        if event["type"] == "points":
            self.done.append((time.time(), event["points"]))
        elif event["type"] == "alarm":
            self.alarms += 1

    def count(self) -> int:
        return sum(len(p) for _, p in self.done)

    def wait(self, n: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.count() < n and time.monotonic() < deadline:
            time.sleep(0.01)

    def done_times(self) -> list[float]:
        return [t for t, pts in self.done for _ in pts]

    def latencies(self) -> np.ndarray:
        parse = datetime.fromisoformat
        return np.array([t - parse(ts).timestamp() for t, pts in self.done for ts, _ in pts])

    def close(self) -> dict[str, Any]:
        self.running.stop()
        stats = self.running.stats()
        self.engine.dispose()
        self._end_session()
        return stats

    def _end_session(self) -> None:
        """Remove the run's persistent session from the broker: else it keeps queueing every
        later run's messages for a client that is gone, and the broker slows down run by run."""
        settings = self.running.mqtt.settings if self.running.mqtt is not None else None
        if settings is None:
            return
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=settings.client_id, clean_session=True
        )
        client.connect(settings.host, settings.port)
        client.loop_start()
        time.sleep(0.2)
        client.disconnect()
        client.loop_stop()


# ------------------------------------------------------------------------------------ runs
def one_run(
    kind: str, broker: Broker, folder: Path, n: int, rate: float, chars: int, tag: str,
    profile: bool = False,
) -> dict[str, Any]:  # fmt: skip
    name = f"bench-{kind}-{tag}"
    consumer: Bare | Monitor = (
        Bare(broker.port, name)
        if kind == "bare"
        else Monitor(broker.port, folder, chars, name, profile)
    )
    extra: dict[str, Any] = {}
    try:
        pub = run_publisher(broker.port, n, rate, chars, tag)
        consumer.wait(n, timeout=max(120.0, n / 200))
        times = consumer.done_times()
        lat = consumer.latencies() * 1000.0
    finally:
        if isinstance(consumer, Monitor):
            extra = consumer.close()
            extra["alarm_events"] = consumer.alarms
            sizes = np.array([b for b, _ in consumer.batches] or [0])
            secs = np.array([t for _, t in consumer.batches] or [0.0]) * 1000.0
            extra["batch_mean_size"] = round(float(sizes.mean()), 1)
            extra["batch_mean_ms"] = round(float(secs.mean()), 1)
            extra["batch_p99_ms"] = round(float(np.percentile(secs, 99)), 1)
            extra["batch_mean_cpu_ms"] = round(float(np.mean(consumer.cpu or [0.0])) * 1000, 1)
            q = consumer.queue_latencies() * 1000.0
            if q.size:
                extra["to_queue_p50_ms"] = round(float(np.percentile(q, 50)), 2)
                extra["to_queue_p99_ms"] = round(float(np.percentile(q, 99)), 2)
            if consumer.profiler is not None:
                extra["profiler"] = consumer.profiler
        else:
            consumer.close()
    got = len(times)
    span = (max(times) - pub["first"]) if times else float("nan")
    return {
        "consumer": kind,
        "messages": n,
        "received": got,
        "paced_rate": rate or None,
        "publisher_rate": round(n / (pub["acked_at"] - pub["first"]), 1),
        "rate": round(got / span, 1) if got else 0.0,
        "seconds": round(span, 3),
        "p50_ms": round(float(np.percentile(lat, 50)), 2) if got else None,
        "p99_ms": round(float(np.percentile(lat, 99)), 2) if got else None,
        "max_ms": round(float(lat.max()), 2) if got else None,
        **{k: v for k, v in extra.items() if k != "profiler"},
        **({"_profiler": extra["profiler"]} if "profiler" in extra else {}),
    }


def versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version}
    for pkg in ("zhuoyue", "paho-mqtt", "sqlalchemy", "numpy"):
        try:
            out[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:  # pragma: no cover
            out[pkg] = "-"
    try:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        head = subprocess.run([binary, "-h"], capture_output=True, text=True, timeout=10)
        out["mosquitto"] = (head.stdout or head.stderr).splitlines()[0].split()[-1]
    except (OSError, IndexError, subprocess.SubprocessError):  # pragma: no cover
        out["mosquitto"] = "-"
    try:
        out["commit"] = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except OSError:  # pragma: no cover
        out["commit"] = "-"
    out["cpus"] = str(os.cpu_count())
    return out


def table(rows: list[dict[str, Any]], summary: dict[str, Any]) -> str:
    lines = [
        "| measurement | consumer | messages | paced at (msg/s) | received/stored (msg/s) "
        "| publisher (msg/s) | p50 ms | p99 ms | max ms |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        what = "max rate" if r["paced_rate"] is None else "steady"
        name = "bare paho (QoS 1, auto-ack)" if r["consumer"] == "bare" else "zhuoyue monitor"
        lines.append(
            f"| {what} | {name} | {r['messages']:,} | {r['paced_rate'] or '—'} | "
            f"{r['rate']:,.0f} | {r['publisher_rate']:,.0f} | {r['p50_ms']} | {r['p99_ms']} | "
            f"{r['max_ms']} |"
        )
    lines += ["", "| target (issue 7) | measured | verdict |", "|---|---|---|"]
    measured_max = summary["monitor_rate"] == summary["monitor_rate"]  # not NaN (--no-max)
    if measured_max:
        lines.append(
            f"| monitor ≥ 50 % of the bare-subscriber rate (QoS 1) | {summary['share']:.0%} "
            f"({summary['monitor_rate']:,.0f} / {summary['bare_rate']:,.0f} msg/s) | "
            f"**{'PASS' if summary['share'] >= TARGET_SHARE else 'FAIL'}** |"
        )
    for rate, p99 in summary["steady_p99_ms"].items():
        share = f" ({rate / summary['monitor_rate']:.0%} of the max)" if measured_max else ""
        lines.append(
            f"| p99 publish → stored and judged < {TARGET_P99_MS:.0f} ms at {rate:,} msg/s"
            f"{share} | {p99} ms | **{'PASS' if p99 < TARGET_P99_MS else 'FAIL'}** |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--messages", type=int, default=20_000, help="messages of a max-rate run")
    ap.add_argument("--chars", type=int, default=20, help="characteristics")
    ap.add_argument("--repeat", type=int, default=2, help="max-rate runs per consumer (best)")
    ap.add_argument("--steady-seconds", type=float, default=15.0)
    ap.add_argument(
        "--steady-share", default="0.1,0.25,0.5", help="steady rates as shares of the monitor's max"
    )
    ap.add_argument("--steady-rate", help="steady rates in msg/s (instead), e.g. 300,600")
    ap.add_argument(
        "--switch-interval", type=float, help="sys.setswitchinterval of this process (seconds)"
    )
    ap.add_argument(
        "--mqtt-thread",
        action="store_true",
        help="receive MQTT on a thread of the monitor's process, not in a child process",
    )
    ap.add_argument("--no-max", action="store_true", help="steady runs only (needs --steady-rate)")
    ap.add_argument("--json", type=Path, help="write the results here")
    ap.add_argument("--profile", type=Path, help="write a cProfile of the monitor's worker")
    args = ap.parse_args(argv)
    if args.no_max and not args.steady_rate:
        ap.error("--no-max needs --steady-rate")
    global MQTT_THREAD
    MQTT_THREAD = args.mqtt_thread
    if args.switch_interval:
        sys.setswitchinterval(args.switch_interval)
    rows: list[dict[str, Any]] = []
    profile_stats: Any = None
    with tempfile.TemporaryDirectory(prefix="zhuoyue-bench-monitor-") as tmp:
        folder = Path(tmp)
        broker = start_mosquitto(folder / "mosquitto")
        try:
            best: dict[str, dict[str, Any]] = {}
            for k in range(0 if args.no_max else args.repeat):
                for kind in ("bare", "monitor"):
                    log(f"max rate, {kind}, run {k + 1}/{args.repeat}: {args.messages:,} msgs")
                    r = one_run(kind, broker, folder, args.messages, 0.0, args.chars,
                                f"max{k}{kind[0]}")  # fmt: skip
                    log(f"  {r['rate']:,.0f} msg/s ({r['received']:,} in {r['seconds']} s)")
                    if kind not in best or r["rate"] > best[kind]["rate"]:
                        best[kind] = r
            rows += list(best.values())
            if args.steady_rate:
                rates = [round(float(x)) for x in args.steady_rate.split(",")]
            else:
                shares = [float(x) for x in args.steady_share.split(",")]
                rates = [round(best["monitor"]["rate"] * x) for x in shares]
            for steady in rates:
                n = max(1, round(steady * args.steady_seconds))
                for kind in ("bare", "monitor"):
                    log(f"steady {steady:,} msg/s, {kind}: {n:,} msgs")
                    want_profile = args.profile is not None and kind == "monitor"
                    r = one_run(kind, broker, folder, n, float(steady), args.chars,
                                f"st{steady}{kind[0]}", profile=want_profile)  # fmt: skip
                    prof = r.pop("_profiler", None)
                    if prof is not None:
                        profile_stats = prof
                    log(f"  p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, max {r['max_ms']} ms")
                    rows.append(r)
        finally:
            broker.stop()
    steady_monitor = [r for r in rows if r["consumer"] == "monitor" and r["paced_rate"]]
    bare_rate = best["bare"]["rate"] if best else float("nan")
    monitor_rate = best["monitor"]["rate"] if best else float("nan")
    summary = {
        "bare_rate": bare_rate,
        "monitor_rate": monitor_rate,
        "share": monitor_rate / bare_rate,
        "switch_interval": sys.getswitchinterval(),
        "mqtt": "thread" if MQTT_THREAD else "child process",
        "steady_p50_ms": {round(r["paced_rate"]): r["p50_ms"] for r in steady_monitor},
        "steady_p99_ms": {round(r["paced_rate"]): r["p99_ms"] for r in steady_monitor},
    }
    print(table(rows, summary))
    if profile_stats is not None and args.profile is not None:
        profile_stats.dump_stats(str(args.profile))
        log(f"profile of the monitor's worker: {args.profile}")
    if args.json is not None:
        doc = {
            "arrangement": "publisher: subprocess; consumer (bare paho or the monitor with "
            "its MQTT source, worker, notifier and a LiveHub listener): the bench process",
            "chars": args.chars,
            "rows": rows,
            "summary": summary,
            "versions": versions(),
        }
        args.json.write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--publish":
        port, n, rate, chars, run = sys.argv[2:7]
        sys.exit(publish_main(int(port), int(n), float(rate), int(chars), run))
    sys.exit(main())
