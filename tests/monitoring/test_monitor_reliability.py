"""The monitor against a real Mosquitto: kill it mid-stream (SIGKILL) and restart it, restart the
broker, send bad messages — every QoS 1 point is stored exactly once and every alarm fires once.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from fixtures_mqtt import Broker
from zhuoyue.services import views
from zhuoyue.store import migrate
from zhuoyue.store.engine import make_engine
from zhuoyue.store.models import (
    Alarm,
    Characteristic,
    ControlLimits,
    DeadLetter,
    Measurement,
    Organization,
    ProcessStep,
)

pytestmark = pytest.mark.slow

T0 = dt.datetime(2024, 6, 1, 8, tzinfo=dt.UTC)
ZHUOYUE = Path(sys.executable).with_name("zhuoyue")


def _database(path: Path) -> tuple[str, dict[str, int]]:
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        with sessionmaker(engine).begin() as s:
            org = Organization(code="plant", name="Plant")
            s.add(org)
            s.flush()
            step = ProcessStep(org_id=org.id, code="OP10", name="Turning", sequence=10)
            s.add(step)
            s.flush()
            c = Characteristic(
                org_id=org.id, code="C1", name="OD", step_id=step.id, lsl=5.0, usl=15.0,
                subgroup_size=1, key=True, rules="gb4091", chart="imr",
            )  # fmt: skip
            s.add(c)
            s.flush()
            s.add(
                ControlLimits(
                    characteristic_id=c.id, chart="imr", sigma=1.0, reason="phase I",
                    limits={"center": 10.0, "sigma": 1.0, "subgroup_size": 1, "rules": "gb4091"},
                )
            )  # fmt: skip
            ids = {"org": org.id, "C1": c.id}
    finally:
        engine.dispose()
    return url, ids


def _values(n: int) -> np.ndarray:
    rng = np.random.default_rng(7)
    v = np.round(rng.normal(10.0, 1.0, n), 2)
    v[n // 2 : n // 2 + 30] += 1.6  # a shift: tests 2, 5, 6
    v[[n // 5, 3 * n // 4]] += 5.0  # beyond 3σ and the USL
    return v


class Monitor:
    def __init__(self, url: str, broker: Broker, folder: Path) -> None:
        self.url, self.broker, self.folder = url, broker, folder
        self.proc: subprocess.Popen[bytes] | None = None
        self.runs = 0

    def start(self) -> None:
        self.runs += 1
        log = (self.folder / f"monitor-{self.runs}.log").open("wb")
        self.proc = subprocess.Popen(
            [str(ZHUOYUE), "monitor", "--db", self.url, "--mqtt",
             f"mqtt://127.0.0.1:{self.broker.port}", "--client-id", "test-monitor",
             "--stats-every", "0"],
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "ZHUOYUE_SMTP_HOST": ""},
        )  # fmt: skip

    def wait_connected(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while "MQTT connected" not in self.log().split("zhuoyue monitor:")[-1]:
            assert self.proc is not None and self.proc.poll() is None, self.log()
            assert time.monotonic() < deadline, self.log()
            time.sleep(0.1)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(30)

    def log(self) -> str:
        return "".join(
            p.read_text(errors="replace") for p in sorted(self.folder.glob("monitor-*.log"))
        )


def _publisher(port: int) -> mqtt.Client:
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-publisher", clean_session=False)
    pub.max_queued_messages_set(0)
    pub.reconnect_delay_set(0.2, 2)
    pub.connect("127.0.0.1", port)
    pub.loop_start()
    return pub


def _publish(pub: mqtt.Client, values: np.ndarray, lo: int, hi: int) -> None:
    infos = [
        pub.publish(
            "zhuoyue/plant/C1",
            json.dumps(
                {
                    "ts": (T0 + dt.timedelta(minutes=i)).isoformat(),
                    "value": float(values[i]),
                    "id": f"m{i:05d}",
                }
            ),
            qos=1,
        )
        for i in range(lo, hi)
    ]
    for info in infos:
        info.wait_for_publish(30)


def _wait_rows(url: str, n: int, timeout: float, monitor: Monitor) -> None:
    engine = make_engine(url)
    deadline = time.monotonic() + timeout
    try:
        while True:
            with engine.connect() as c:
                got = c.execute(select(func.count()).select_from(Measurement)).scalar_one()
            if got >= n:
                return
            assert time.monotonic() < deadline, f"{got} of {n} rows stored\n{monitor.log()}"
            time.sleep(0.2)
    finally:
        engine.dispose()


def test_kill_and_restart_loses_nothing_and_stores_nothing_twice(
    tmp_path: Path, mosquitto: Broker
) -> None:
    n = 600
    url, ids = _database(tmp_path / "plant.db")
    values = _values(n)
    mon = Monitor(url, mosquitto, tmp_path)
    mon.start()
    pub = _publisher(mosquitto.port)
    try:
        mon.wait_connected()  # the monitor's persistent session exists from now on
        _publish(pub, values, 0, 250)
        _wait_rows(url, 120, 60, mon)
        mon.kill()  # in the middle of the stream, without a chance to clean up
        _publish(pub, values, 250, 450)  # the broker queues these for the session
        # bad and duplicate messages on the way
        pub.publish("zhuoyue/plant/C1", b"{not json", qos=1).wait_for_publish(10)
        pub.publish("zhuoyue/plant/C1", json.dumps({"ts": T0.isoformat(), "value": "NaN"}),
                    qos=1).wait_for_publish(10)  # fmt: skip
        pub.publish("zhuoyue/plant/C404", json.dumps({"ts": T0.isoformat(), "value": 1}),
                    qos=1).wait_for_publish(10)  # fmt: skip
        _publish(pub, values, 100, 110)  # redelivered copies: same ids
        mon.start()
        mon.wait_connected()
        _wait_rows(url, 450, 60, mon)
        # the broker restarts under the running monitor
        mosquitto.stop()
        time.sleep(1.0)
        mosquitto.start()
        deadline = time.monotonic() + 30
        while not pub.is_connected():  # the publisher reconnects too
            assert time.monotonic() < deadline
            time.sleep(0.1)
        _publish(pub, values, 450, n)
        _wait_rows(url, n, 90, mon)
        time.sleep(1.0)
        assert mon.stop() == 0, mon.log()
    finally:
        pub.loop_stop()
        pub.disconnect()
        if mon.proc is not None and mon.proc.poll() is None:
            mon.proc.kill()
    engine = make_engine(url)
    try:
        with sessionmaker(engine)() as s:
            rows = s.execute(select(Measurement.msg_id, Measurement.value)).all()
            assert len(rows) == n  # exactly once
            assert sorted(r[0] for r in rows) == [f"m{i:05d}" for i in range(n)]
            letters = s.scalars(select(DeadLetter).order_by(DeadLetter.reason)).all()
            # each bad message is one dead letter, however often it was delivered
            assert [d.reason for d in letters] == [
                "bad_json",
                "bad_value",
                "unknown_characteristic",
            ]
            assert all(d.copies >= 1 for d in letters)
            got: dict[str, tuple[int, Any]] = {
                a.dedup_key: (a.signals, a.first_point_ts)
                for a in s.scalars(select(Alarm).where(Alarm.kind == "rule"))
            }
            chart = views.characteristic_chart(s, ids["org"], ids["C1"], phase="II")
            spec = s.scalars(select(Alarm).where(Alarm.kind == "spec")).all()
    finally:
        engine.dispose()
    want: dict[str, int] = {}
    for panel, p in chart["panels"].items():
        for v in p["violations"]:
            key = f"rule:{panel}:{v['rule']}"
            want[key] = want.get(key, 0) + 1
    assert {k: c for k, (c, _) in got.items()} == want  # each signal counted once
    above, below = int((values > 15.0).sum()), int((values < 5.0).sum())
    assert above >= 1 and below == 0
    assert [(a.dedup_key, a.signals) for a in spec] == [("spec:usl", above)]


def test_serve_runs_the_monitor(tmp_path: Path, mosquitto: Broker) -> None:
    """``zhuoyue serve --mqtt`` stores and judges what the broker delivers, next to the web app."""
    import socket
    import urllib.request

    url, _ = _database(tmp_path / "plant.db")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [str(ZHUOYUE), "serve", "--db", url, "--port", str(port),
         "--mqtt", f"mqtt://127.0.0.1:{mosquitto.port}"],
        stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path,
        env={**os.environ, "NICEGUI_STORAGE_PATH": str(tmp_path / "nicegui")},
    )  # fmt: skip
    pub = _publisher(mosquitto.port)
    try:
        deadline = time.monotonic() + 60
        while True:  # the web server answers, and the monitor has subscribed
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, (
                tmp_path / "serve.log"
            ).read_text(errors="replace")
            time.sleep(0.2)
        time.sleep(1.0)
        values = _values(40)
        _publish(pub, values, 0, 40)
        engine = make_engine(url)
        try:
            deadline = time.monotonic() + 60
            while True:
                with engine.connect() as c:
                    n = c.execute(select(func.count()).select_from(Measurement)).scalar_one()
                if n >= 40:
                    break
                assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
                time.sleep(0.2)
        finally:
            engine.dispose()
        assert n == 40
        assert "online monitor: MQTT" in (tmp_path / "serve.log").read_text(errors="replace")
    finally:
        pub.loop_stop()
        pub.disconnect()
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
