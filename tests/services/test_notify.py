"""Alarm notifications: webhook POSTs and e-mail through real local servers, retries, failures
that never stop the notifier."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from email import message_from_bytes
from email.policy import default as email_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy.orm import sessionmaker

from zhuoyue.services.notify import Delivery, Notifier, SmtpSettings, payload, send_email
from zhuoyue.store.engine import make_engine
from zhuoyue.store.models import NotificationChannel, Organization

ALARM: dict[str, Any] = {
    "id": 7,
    "org_id": 0,  # set by the tests
    "kind": "rule",
    "panel": "xbar",
    "test": 1,
    "severity": "critical",
    "status": "open",
    "message_zh": "C40-01 轴承位外径（均值图）检验 1：1 个点落在 3σ 控制限以外",
    "message_en": "C40-01 (Xbar chart) test 1: 1 point beyond 3σ",
    "opened_at": "2024-06-01T08:00:00+00:00",
    "first_point_ts": "2024-06-01T07:59:00+00:00",
    "detail": {"point": 12},
    "characteristic": {"id": 3, "code": "C40-01", "name": "轴承位外径"},
}


class Hook:
    """A local webhook receiver: answers ``codes`` in turn (then 200) and keeps the bodies."""

    def __init__(self, codes: list[int] | None = None) -> None:
        self.codes = list(codes or [])
        self.bodies: list[dict[str, Any]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                n = int(self.headers["Content-Length"])
                hook.bodies.append(json.loads(self.rfile.read(n)))
                code = hook.codes.pop(0) if hook.codes else 200
                self.send_response(code)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook()
    yield h
    h.close()


@pytest.fixture
def smtp() -> Iterator[tuple[SmtpSettings, list[Any]]]:
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    received: list[Any] = []

    class Keep(Message):
        def handle_message(self, message: Any) -> None:
            received.append(message)

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Keep(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpSettings("127.0.0.1", port, sender="zhuoyue@plant.example"), received
    finally:
        controller.stop()


def _wait(cond: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_webhook_payload() -> None:
    p = payload(ALARM)
    assert p["event"] == "alarm.opened"
    assert p["alarm"]["severity"] == "critical" and p["alarm"]["test"] == 1
    assert p["characteristic"]["code"] == "C40-01"


def test_email_in_chinese_and_english(smtp: tuple[SmtpSettings, list[Any]]) -> None:
    settings, received = smtp
    send_email(settings, "qm@plant.example", ALARM)
    _wait(lambda: len(received) == 1)
    msg = received[0]
    assert msg["To"] == "qm@plant.example" and msg["From"] == "zhuoyue@plant.example"
    parsed = message_from_bytes(msg.as_bytes(), policy=email_policy)
    assert "[zhuoyue 严重]" in str(parsed["Subject"])
    body = parsed.get_content() if not parsed.is_multipart() else ""
    assert "检验 1" in body and "test 1" in body and "OCAP" in body


def test_smtp_settings_from_the_environment() -> None:
    assert SmtpSettings.from_env({}) is None
    s = SmtpSettings.from_env(
        {"ZHUOYUE_SMTP_HOST": "mail", "ZHUOYUE_SMTP_PORT": "587", "ZHUOYUE_SMTP_STARTTLS": "yes"}
    )
    assert s == SmtpSettings("mail", 587, starttls=True)


def test_notifier_sends_to_the_channels_of_the_alarms_organization(
    migrated_url: str, hook: Hook, smtp: tuple[SmtpSettings, list[Any]]
) -> None:
    settings, received = smtp
    engine = make_engine(migrated_url)
    sessions = sessionmaker(engine, expire_on_commit=False)
    try:
        with sessions.begin() as s:
            a, b = Organization(code="plant-a", name="A"), Organization(code="plant-b", name="B")
            s.add_all([a, b])
            s.flush()
            s.add_all(
                [
                    NotificationChannel(org_id=a.id, kind="webhook", target=hook.url),
                    NotificationChannel(
                        org_id=a.id, kind="email", target="qm@a.example", min_severity="critical"
                    ),
                    NotificationChannel(org_id=b.id, kind="webhook", target=hook.url + "/b"),
                    NotificationChannel(
                        org_id=a.id, kind="webhook", target=hook.url + "/off", active=False
                    ),
                ]
            )
            org_a = a.id
        n = Notifier(sessions, smtp=settings, first_pause=0.01)
        n.submit([dict(ALARM, org_id=org_a, id=1)])  # critical: webhook and e-mail
        n.submit([dict(ALARM, org_id=org_a, id=2, severity="warning")])  # webhook only
        n.close()
        assert (n.sent, n.failed) == (3, 0)
        assert sorted(b["alarm"]["id"] for b in hook.bodies) == [1, 2]
        _wait(lambda: len(received) == 1)
        assert received[0]["To"] == "qm@a.example"
    finally:
        engine.dispose()


def test_a_failing_receiver_is_retried_then_counted_and_never_stops_the_rest(
    migrated_url: str,
) -> None:
    flaky = Hook([500, 503])  # fails twice, then succeeds
    dead = Hook([500, 500, 500])
    engine = make_engine(migrated_url)
    sessions = sessionmaker(engine, expire_on_commit=False)
    try:
        with sessions.begin() as s:
            org = Organization(code="plant-a", name="A")
            s.add(org)
            s.flush()
            s.add(NotificationChannel(org_id=org.id, kind="webhook", target=flaky.url))
            s.add(NotificationChannel(org_id=org.id, kind="webhook", target=dead.url))
            s.add(NotificationChannel(org_id=org.id, kind="email", target="qm@a.example"))
            org_id = org.id
        n = Notifier(sessions, smtp=None, first_pause=0.01)  # no SMTP server: e-mail fails
        n.submit([dict(ALARM, org_id=org_id)])
        n.close()
        assert len(flaky.bodies) == 3 and len(dead.bodies) == 3
        assert (n.sent, n.failed) == (1, 2)
    finally:
        flaky.close()
        dead.close()
        engine.dispose()


def test_a_sender_that_raises_anything_is_contained(migrated_url: str) -> None:
    engine = make_engine(migrated_url)
    sessions = sessionmaker(engine, expire_on_commit=False)
    calls: list[Delivery] = []

    def boom(d: Delivery) -> None:
        calls.append(d)
        raise RuntimeError("receiver bug")

    try:
        with sessions.begin() as s:
            org = Organization(code="plant-a", name="A")
            s.add(org)
            s.flush()
            s.add(NotificationChannel(org_id=org.id, kind="webhook", target="http://x.example/h"))
            org_id = org.id
        n = Notifier(sessions, first_pause=0.0, attempts=2, senders={"webhook": boom})
        n.submit([dict(ALARM, org_id=org_id)])
        n.submit([dict(ALARM, org_id=org_id, id=8)])
        n.close()
        assert len(calls) == 4 and n.failed == 2 and n.sent == 0
    finally:
        engine.dispose()
