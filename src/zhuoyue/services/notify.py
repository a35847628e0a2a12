"""Send alarm notifications to webhooks and by e-mail, off the monitor's path.

The monitor hands the alarms it opened to a :class:`Notifier` after their transaction commits;
a worker thread sends them to the organization's channels
(:func:`zhuoyue.services.alarms.channels_for`), so a slow or unreachable receiver never slows
the stream. Each delivery is tried :data:`ATTEMPTS` times with a growing pause; a delivery that
still fails is logged (with the channel and the reason) and counted in :attr:`Notifier.failed`.

* **Webhook**: ``POST`` of the JSON document :func:`payload` (UTF-8,
  ``Content-Type: application/json``); any 2xx answer is a success.
* **E-mail**: a plain-text message in Chinese and English through the SMTP server of the
  settings (``ZHUOYUE_SMTP_HOST``, ``ZHUOYUE_SMTP_PORT``, ``ZHUOYUE_SMTP_FROM``, optional
  ``ZHUOYUE_SMTP_USER`` / ``ZHUOYUE_SMTP_PASSWORD`` and ``ZHUOYUE_SMTP_STARTTLS``).
"""

from __future__ import annotations

import json
import logging
import os
import queue
import smtplib
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from zhuoyue.services.alarms import channels_for
from zhuoyue.store.engine import READ_ONLY

__all__ = [
    "ATTEMPTS",
    "Delivery",
    "Notifier",
    "SmtpSettings",
    "payload",
    "send_email",
    "send_webhook",
]

#: tries per delivery
ATTEMPTS = 3
#: seconds before the second try (doubled for each further one)
FIRST_PAUSE = 0.5
#: seconds a webhook or SMTP server may take to answer
TIMEOUT = 10.0

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """Where e-mail goes out."""

    host: str
    port: int = 25
    sender: str = "zhuoyue@localhost"
    user: str | None = None
    password: str | None = None
    starttls: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SmtpSettings | None:
        """From ``ZHUOYUE_SMTP_*`` (``None`` without a host: e-mail channels are skipped)."""
        e = os.environ if env is None else env
        host = e.get("ZHUOYUE_SMTP_HOST", "").strip()
        if not host:
            return None
        return cls(
            host=host,
            port=int(e.get("ZHUOYUE_SMTP_PORT", "25")),
            sender=e.get("ZHUOYUE_SMTP_FROM", "zhuoyue@localhost"),
            user=e.get("ZHUOYUE_SMTP_USER") or None,
            password=e.get("ZHUOYUE_SMTP_PASSWORD") or None,
            starttls=e.get("ZHUOYUE_SMTP_STARTTLS", "").lower() in ("1", "true", "yes"),
        )


@dataclass(frozen=True, slots=True)
class Delivery:
    """One alarm for one channel."""

    kind: str  # webhook / email
    target: str
    alarm: dict[str, Any]


def payload(alarm: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON document a webhook receives for an alarm."""
    char = alarm.get("characteristic") or {}
    return {
        "event": "alarm.opened",
        "alarm": {
            k: alarm.get(k)
            for k in (
                "id",
                "org_id",
                "kind",
                "panel",
                "test",
                "severity",
                "status",
                "message_zh",
                "message_en",
                "opened_at",
                "first_point_ts",
                "detail",
            )
        },
        "characteristic": char,
    }


def send_webhook(url: str, alarm: Mapping[str, Any], *, timeout: float = TIMEOUT) -> None:
    """POST the alarm's JSON to ``url``; raises :class:`OSError` unless the answer is 2xx."""
    body = json.dumps(payload(alarm), ensure_ascii=False, default=str).encode()
    req = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            if not 200 <= r.status < 300:
                raise OSError(f"the webhook answered {r.status}")
    except urllib.error.HTTPError as exc:
        raise OSError(f"the webhook answered {exc.code}") from None


def send_email(
    smtp: SmtpSettings, to: str, alarm: Mapping[str, Any], *, timeout: float = TIMEOUT
) -> None:
    """Send the alarm as a plain-text e-mail (Chinese, then English)."""
    msg = EmailMessage()
    severity = {"critical": "严重", "warning": "警告"}.get(str(alarm.get("severity")), "")
    msg["Subject"] = f"[zhuoyue {severity}] {alarm.get('message_zh', '')}"[:200]
    msg["From"] = smtp.sender
    msg["To"] = to
    lines = [
        str(alarm.get("message_zh", "")),
        f"报警时间（UTC）：{alarm.get('opened_at')}",
        f"数据时间（UTC）：{alarm.get('first_point_ts')}",
        "请在 zhuoyue 中确认报警并记录异常原因和纠正措施（OCAP）。",
        "",
        str(alarm.get("message_en", "")),
        f"Opened (UTC): {alarm.get('opened_at')}",
        f"Point time (UTC): {alarm.get('first_point_ts')}",
        "Acknowledge it in zhuoyue with the assignable cause and the corrective action (OCAP).",
    ]
    msg.set_content("\n".join(lines))
    with smtplib.SMTP(smtp.host, smtp.port, timeout=timeout) as s:
        if smtp.starttls:
            s.starttls()
        if smtp.user:
            s.login(smtp.user, smtp.password or "")
        s.send_message(msg)


class Notifier:
    """Deliver alarms in a worker thread (see the module notes).

    ``submit(alarms)`` returns at once; ``close()`` sends what is queued and stops the thread.
    ``sent`` and ``failed`` count deliveries.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        smtp: SmtpSettings | None = None,
        attempts: int = ATTEMPTS,
        first_pause: float = FIRST_PAUSE,
        senders: Mapping[str, Callable[[Delivery], None]] | None = None,
    ) -> None:
        self._sessions = sessions
        self._smtp = smtp
        self._attempts = max(int(attempts), 1)
        self._pause = first_pause
        self._queue: queue.Queue[Sequence[dict[str, Any]] | None] = queue.Queue()
        self._senders: dict[str, Callable[[Delivery], None]] = {
            "webhook": lambda d: send_webhook(d.target, d.alarm),
            "email": self._email,
        }
        self._senders.update(senders or {})
        self.sent = 0
        self.failed = 0
        self.skipped = 0
        self._thread = threading.Thread(target=self._run, name="zhuoyue-notifier", daemon=True)
        self._thread.start()

    def _email(self, d: Delivery) -> None:
        if self._smtp is None:
            raise OSError("no SMTP server is configured (ZHUOYUE_SMTP_HOST)")
        send_email(self._smtp, d.target, d.alarm)

    def submit(self, alarms: Sequence[dict[str, Any]]) -> None:
        """Queue alarms (dicts of :func:`zhuoyue.services.alarms.alarm_dict`) for sending."""
        if alarms:
            self._queue.put(list(alarms))

    def close(self, timeout: float = 30.0) -> None:
        """Send what is queued, then stop."""
        self._queue.put(None)
        self._thread.join(timeout)

    def _deliveries(self, alarms: Sequence[dict[str, Any]]) -> list[Delivery]:
        out: list[Delivery] = []
        with self._sessions() as s:
            # reads only: on SQLite no write lock, so the monitor's next commit does not wait
            s.connection(execution_options={READ_ONLY: True})
            for a in alarms:
                for ch in channels_for(s, int(a["org_id"]), str(a["severity"])):
                    out.append(Delivery(ch.kind, ch.target, a))
        return out

    def _deliver(self, d: Delivery) -> None:
        pause = self._pause
        for attempt in range(1, self._attempts + 1):
            try:
                self._senders[d.kind](d)
            except Exception as exc:  # a receiver's failure never stops the notifier
                if attempt == self._attempts:
                    self.failed += 1
                    _log.warning(
                        "alarm %s: %s %s failed after %d tries: %s",
                        d.alarm.get("id"), d.kind, d.target, attempt, exc,
                    )  # fmt: skip
                    return
                time.sleep(pause)
                pause *= 2
            else:
                self.sent += 1
                return

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            try:
                deliveries = self._deliveries(item)
            except Exception:
                _log.exception("cannot read the notification channels")
                self.failed += len(item)
                continue
            for d in deliveries:
                self._deliver(d)
