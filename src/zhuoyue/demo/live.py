"""The demo factory, live: frozen limits, a private broker, the monitor and a simulated feed.

``zhuoyue demo`` (``make demo``) runs this next to the web app so the charts move and alarms
open while you look:

1. :func:`freeze_demo_limits` freezes phase I limits (the year of data) for plant A's key
   characteristics that have none (idempotent, audited like a freeze in the web app);
2. :class:`LiveDemo` starts a private Mosquitto broker when Debian's ``mosquitto`` is installed
   (``make demo`` installs it) and the online monitor on it, inside the web server; a feeder
   thread publishes the ``mixed`` scenario of :mod:`zhuoyue.demo.feed` (most characteristics in
   control, one shifted by 1.5σ, one drifting) at ``rate`` values per second, stamped with the
   current time. Without the broker the feeder hands the same values to the monitor directly
   (the path after MQTT is the same).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from zhuoyue.demo.broker import Broker, find_mosquitto, start_mosquitto
from zhuoyue.demo.feed import generate, load_targets
from zhuoyue.ingest.messages import parse_payload
from zhuoyue.ingest.mqtt import MqttSettings
from zhuoyue.services import monitor_runtime, views
from zhuoyue.services.monitoring import LiveHub
from zhuoyue.store.models import Characteristic, ControlLimits, Organization, UserAccount

__all__ = ["DEMO_ORG", "LiveDemo", "freeze_demo_limits"]

_log = logging.getLogger(__name__)

#: the plant whose key characteristics are monitored live
DEMO_ORG = "jinggong-auto"
#: seconds of one cycle of the demo feed (a third in control, then a shift and a drift)
CYCLE_S = 240
_REASON = "2024 年过程能力研究：第一阶段控制限（演示工厂） · phase I study of 2024 (demo factory)"


def freeze_demo_limits(sessions: sessionmaker[Session], org_code: str = DEMO_ORG) -> int:
    """Freeze phase I limits of the key characteristics of ``org_code`` without active limits;
    how many were frozen."""
    with sessions.begin() as s:
        org_id = s.scalar(select(Organization.id).where(Organization.code == org_code))
        if org_id is None:
            return 0
        engineer = s.scalar(select(UserAccount.id).where(UserAccount.username == "engineer"))
        active = select(ControlLimits.characteristic_id).where(ControlLimits.active.is_(True))
        chars = s.scalars(
            select(Characteristic.id).where(
                Characteristic.org_id == org_id,
                Characteristic.key.is_(True),
                Characteristic.id.not_in(active),
            )
        ).all()
        for cid in chars:
            views.freeze_limits(s, org_id, cid, user_id=engineer, reason=_REASON)
        return len(chars)


@dataclass
class LiveDemo:
    """The live part of the demo (see the module notes): ``start()``, then ``stop()``."""

    sessions: sessionmaker[Session]
    hub: LiveHub
    folder: Path
    rate: float = 20.0
    org_code: str = DEMO_ORG
    broker: Broker | None = None
    running: monitor_runtime.RunningMonitor | None = None
    published: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    @property
    def via(self) -> str:
        return f"MQTT 127.0.0.1:{self.broker.port}" if self.broker else "in-process (no broker)"

    def start(self) -> None:
        mqtt: MqttSettings | None = None
        if find_mosquitto() is not None:
            try:
                self.broker = start_mosquitto(self.folder / "mosquitto")
                mqtt = MqttSettings(port=self.broker.port, client_id="zhuoyue-demo-monitor")
            except (OSError, RuntimeError) as exc:
                _log.warning("no private MQTT broker (%s): feeding the monitor directly", exc)
        config = monitor_runtime.MonitorConfig(mqtt=mqtt)
        self.running = monitor_runtime.start(self.sessions, config, hub=self.hub)
        if self.running.mqtt is not None:
            self.running.mqtt.wait_connected(10.0)
        self._thread = threading.Thread(target=self._feed, name="zhuoyue-demo-feed", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        if self.running is not None:
            self.running.stop()
        if self.broker is not None:
            self.broker.stop()

    def _feed(self) -> None:
        client = self._mqtt_client() if self.broker is not None else None
        pause = 1.0 / max(self.rate, 0.1)
        start = datetime.now(UTC).strftime("demo-%Y%m%d%H%M%S")
        cycle = 0
        try:
            while not self._stop.is_set():
                # cycles of CYCLE_S seconds: each starts in control, then one characteristic
                # shifts by 1.5σ and another drifts (the mixed scenario); the targets are read
                # again so subgroup labels continue after the stored ones
                try:
                    with self.sessions() as s:
                        targets = load_targets(s, self.org_code)
                except Exception as exc:
                    _log.warning("the demo feed cannot start: %s", exc)
                    return
                count = max(int(self.rate * CYCLE_S), 10 * len(targets))
                run = f"{start}-{cycle}"
                feed = generate(targets, count, scenario="mixed", seed=2023 + cycle, run=run)
                for value in feed:
                    if self._stop.is_set():
                        return
                    self._send(client, value.characteristic, value.payload(datetime.now(UTC)))
                    time.sleep(pause)
                cycle += 1
                self._stop.wait(2.0)  # the last subgroups are stored before labels are read
        finally:
            if client is not None:
                client.loop_stop()
                client.disconnect()

    def _send(self, client: Any, code: str, payload: dict[str, Any]) -> None:
        if client is not None:
            client.publish(f"zhuoyue/{self.org_code}/{code}", json.dumps(payload), qos=1)
        elif self.running is not None:
            item = parse_payload(payload, org=self.org_code, characteristic=code, source="http")
            self.running.service.submit(item, lambda: None)
        self.published += 1

    def _mqtt_client(self) -> Any:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        assert self.broker is not None
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="zhuoyue-demo-feed")
        client.connect("127.0.0.1", self.broker.port)
        client.loop_start()
        return client
