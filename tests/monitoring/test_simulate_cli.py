"""``zhuoyue simulate`` against a throwaway Mosquitto, counted by a plain paho subscriber."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
import typer
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy.orm import sessionmaker
from typer.testing import CliRunner

from fixtures_mqtt import Broker
from zhuoyue.cli.simulate import simulate
from zhuoyue.ingest.messages import Reading, TopicMap, parse_message
from zhuoyue.store import migrate
from zhuoyue.store.engine import make_engine
from zhuoyue.store.models import (
    Characteristic,
    ControlLimits,
    Measurement,
    Organization,
    ProcessStep,
)

pytestmark = pytest.mark.slow

T0 = dt.datetime(2024, 6, 1, 8, tzinfo=dt.UTC)


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command(name="simulate")(simulate)

    @app.command(name="noop")
    def noop() -> None:  # a second command keeps "simulate" a sub-command
        """Nothing."""

    return app


def _database(path: Path) -> str:
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
            chars = {}
            for code, size, chart in (("C1", 1, "imr"), ("C2", 5, "xbar_r"), ("C3", 1, "imr")):
                c = Characteristic(
                    org_id=org.id, code=code, name=code, step_id=step.id, lsl=0.0, usl=20.0,
                    subgroup_size=size, key=False, rules="gb4091", chart=chart,
                )  # fmt: skip
                s.add(c)
                s.flush()
                chars[code] = c
            for code, center in (("C1", 10.0), ("C2", 12.0)):  # C3: no frozen limits
                c = chars[code]
                s.add(
                    ControlLimits(
                        characteristic_id=c.id, chart=c.chart or "imr", sigma=0.5,
                        reason="phase I", limits={"center": center, "sigma": 0.5,
                        "subgroup_size": c.subgroup_size, "rules": "gb4091"},
                    )
                )  # fmt: skip
            # C2 has subgroups up to 7 stored: the feed continues with 8
            s.add(
                Measurement(characteristic_id=chars["C2"].id, ts=T0, seq=0, subgroup=7, value=12.0)
            )
    finally:
        engine.dispose()
    return url


class Counter:
    """A bare paho subscriber (QoS 1) keeping what arrives."""

    def __init__(self, port: int) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-counter")
        self.client.on_connect = lambda c, u, f, r, p: c.subscribe("zhuoyue/#", qos=1)
        self.client.on_subscribe = lambda c, u, m, r, p: self.subscribed.set()
        self.client.on_message = lambda c, u, msg: self.messages.append(
            (msg.topic, bytes(msg.payload))
        )
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert self.subscribed.wait(10)

    def wait(self, n: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.messages) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # anything beyond n would arrive now

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def test_simulate_publishes_valid_unique_messages_of_the_frozen_characteristics(
    tmp_path: Path, mosquitto: Broker
) -> None:
    url = _database(tmp_path / "plant.db")
    counter = Counter(mosquitto.port)
    try:
        result = CliRunner().invoke(
            _app(),
            ["simulate", "--org", "plant", "--db", url, "--mqtt",
             f"mqtt://127.0.0.1:{mosquitto.port}", "--count", "301", "--rate", "400",
             "--scenario", "mixed", "--seed", "3", "--json"],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        counter.wait(301)
    finally:
        counter.close()
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["published"] == summary["acknowledged"] == 301
    assert set(summary["characteristics"]) == {"C1", "C2"}
    assert len(counter.messages) == 301
    readings = [parse_message(t, p, TopicMap()) for t, p in counter.messages]
    assert all(isinstance(r, Reading) for r in readings), readings
    got = [r for r in readings if isinstance(r, Reading)]
    assert len({r.msg_id for r in got}) == 301
    assert {r.characteristic for r in got} == {"C1", "C2"}
    assert {r.org for r in got} == {"plant"}
    # live times, subgroups of 5 from label 8 on
    now = dt.datetime.now(dt.UTC)
    assert all(now - dt.timedelta(minutes=5) < r.ts <= now for r in got)
    c2 = [r.subgroup for r in got if r.characteristic == "C2"]
    assert c2[:10] == [8] * 5 + [9] * 5
    assert all(r.subgroup is None for r in got if r.characteristic == "C1")


def test_simulate_with_simulated_time_and_count(tmp_path: Path, mosquitto: Broker) -> None:
    url = _database(tmp_path / "plant.db")
    counter = Counter(mosquitto.port)
    try:
        result = CliRunner().invoke(
            _app(),
            ["simulate", "--org", "plant", "--db", url, "--mqtt",
             f"mqtt://127.0.0.1:{mosquitto.port}", "--count", "12", "--rate", "1000",
             "--start", "2024-06-02T08:00:00+08:00", "--step", "60", "--seed", "1",
             "--scenario", "normal", "--run", "t2"],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        counter.wait(12)
    finally:
        counter.close()
    got = [parse_message(t, p, TopicMap()) for t, p in counter.messages]
    assert len(got) == 12
    assert all(isinstance(r, Reading) for r in got)
    times = sorted(r.ts for r in got if isinstance(r, Reading))
    assert times[0] == dt.datetime(2024, 6, 2, tzinfo=dt.UTC)
    assert times[-1] == times[0] + dt.timedelta(minutes=11)
    assert sorted(r.msg_id for r in got if isinstance(r, Reading)) == sorted(
        f"t2-{i}" for i in range(12)
    )
    assert "12 published, 12 acknowledged" in result.stderr


def test_simulate_explains_an_unknown_organization_and_an_absent_broker(tmp_path: Path) -> None:
    url = _database(tmp_path / "plant.db")
    result = CliRunner().invoke(_app(), ["simulate", "--org", "nope", "--db", url, "--count", "1"])
    assert result.exit_code == 4
    assert "no organization 'nope'" in result.stderr
    result = CliRunner().invoke(
        _app(), ["simulate", "--org", "plant", "--db", url, "--mqtt", "mqtt://127.0.0.1:1"]
    )
    assert result.exit_code == 3
    assert "cannot connect to the MQTT broker" in result.stderr
