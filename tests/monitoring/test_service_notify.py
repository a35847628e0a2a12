"""The monitor service end to end without a broker: queued messages are stored, acknowledged
after the commit, published live, and the alarms they open reach the organization's webhook."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from zhuoyue.ingest.messages import TopicMap, parse_message
from zhuoyue.services.monitoring import LiveHub, MonitorService
from zhuoyue.services.notify import Notifier
from zhuoyue.store.engine import make_engine
from zhuoyue.store.models import (
    Characteristic,
    ControlLimits,
    Measurement,
    NotificationChannel,
    Organization,
    ProcessStep,
)

T0 = dt.datetime(2024, 6, 1, 8, tzinfo=dt.UTC)


@pytest.fixture
def hook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    bodies: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/alarms", bodies
    server.shutdown()
    server.server_close()


def test_queue_to_store_ack_live_and_webhook(
    migrated_url: str, hook: tuple[str, list[dict[str, Any]]]
) -> None:
    url, bodies = hook
    engine = make_engine(migrated_url)
    sessions = sessionmaker(engine, expire_on_commit=False)
    try:
        with sessions.begin() as s:
            org = Organization(code="plant", name="Plant")
            s.add(org)
            s.flush()
            step = ProcessStep(org_id=org.id, code="OP10", name="Turning", sequence=10)
            s.add(step)
            s.flush()
            c = Characteristic(org_id=org.id, code="C1", name="OD", step_id=step.id,
                               subgroup_size=1, key=True, rules="gb4091")  # fmt: skip
            s.add(c)
            s.flush()
            s.add(ControlLimits(characteristic_id=c.id, chart="imr", sigma=1.0, reason="phase I",
                                limits={"center": 10.0, "sigma": 1.0, "rules": "gb4091"}))  # fmt: skip
            s.add(NotificationChannel(org_id=org.id, kind="webhook", target=url))
        hub = LiveHub()
        events: list[dict[str, Any]] = []
        hub.subscribe(events.append)
        notifier = Notifier(sessions, first_pause=0.01)
        service = MonitorService(sessions, notifier=notifier, hub=hub, max_wait=0.01)
        service.start()
        acked: list[int] = []
        values = [10.0, 10.2, 9.9, 15.0, 10.1]  # 15.0 is beyond 3σ
        for i, v in enumerate(values):
            body = json.dumps({"ts": (T0 + dt.timedelta(minutes=i)).isoformat(), "value": v})
            item = parse_message("zhuoyue/plant/C1", body, TopicMap())
            service.submit(item, lambda i=i: acked.append(i))
        deadline = time.monotonic() + 20
        while len(acked) < len(values) or not bodies:
            assert time.monotonic() < deadline, (acked, bodies, service.stats())
            time.sleep(0.05)
        service.stop()
        notifier.close()
        assert sorted(acked) == list(range(len(values)))
        with Session(engine) as s:
            assert s.scalar(select(func.count()).select_from(Measurement)) == len(values)
        stats = service.stats()
        assert (stats["stored"], stats["rejected"], stats["failures"]) == (5, 0, 0)
        assert {e["type"] for e in events} == {"points", "alarm"}
        assert sum(len(e["points"]) for e in events if e["type"] == "points") == 5
        keys = sorted((b["alarm"]["panel"], b["alarm"]["test"]) for b in bodies)
        assert ("i", 1) in keys and all(b["event"] == "alarm.opened" for b in bodies)
        assert notifier.sent == len(bodies) and notifier.failed == 0
    finally:
        engine.dispose()
