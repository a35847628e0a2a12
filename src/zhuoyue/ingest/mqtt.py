"""MQTT source of the online monitor (paho-mqtt 2).

:class:`MqttSource` subscribes with QoS 1 in a **persistent session** (``clean_session=False``
and a fixed client id), so the broker keeps the messages published while the monitor is down
and delivers them when it is back. Acknowledgements are **manual**: every message is validated
(:func:`zhuoyue.ingest.messages.parse_message`) and handed with an ``ack`` callable to the
consumer, which calls it only after the value (or its dead letter) is committed to the
database. A monitor killed between the two gets the message again, and the message id makes
the second copy a duplicate: every point is stored exactly once.

The client reconnects by itself (1 s, doubling up to 30 s) after a broker restart or a network
failure; the subscription is renewed on every connection.

**Broker settings.** Mosquitto hands a client at most ``max_inflight_messages`` (default 20)
unacknowledged QoS 1 messages at a time, and queues at most ``max_queued_messages`` (default
1 000) for it — above that it drops messages *silently*. For a machine feed, raise both, e.g.::

    max_inflight_messages 1000
    max_queued_messages 1000000
    persistence true
    set_tcp_nodelay true

(``set_tcp_nodelay``: the broker sends each message at once instead of gathering small ones
until the client's TCP acknowledgement comes; the client also acknowledges TCP segments at once,
see :class:`_Client`.)
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from zhuoyue.ingest.messages import Reading, Rejected, TopicMap, parse_message

__all__ = ["Ack", "Consumer", "MqttSettings", "MqttSource"]

_log = logging.getLogger(__name__)

#: acknowledges one message to the broker (after its value is stored)
Ack = Callable[[], None]
#: receives every message, validated, with its acknowledgement
Consumer = Callable[[Reading | Rejected, Ack], None]


@dataclass(frozen=True, slots=True)
class MqttSettings:
    """Where to subscribe and how topics map to characteristics."""

    host: str = "127.0.0.1"
    port: int = 1883
    client_id: str = "zhuoyue-monitor"
    username: str | None = None
    password: str | None = None
    topics: TopicMap = field(default_factory=TopicMap)
    keepalive: int = 30
    #: time zone of payload times without an offset
    zone: tzinfo = UTC


class _Client(mqtt.Client):
    """paho's client, acknowledging every TCP segment it receives at once (Linux TCP_QUICKACK).

    The monitor sends its MQTT acknowledgements only after a batch is committed, so between
    batches the client sends nothing and the kernel delays its TCP acknowledgements (up to
    40 ms). A broker with Nagle's algorithm on (Mosquitto's default, ``set_tcp_nodelay false``)
    then holds back each next message until that TCP acknowledgement comes: measured, publish →
    received went from 0.4 ms to p50 10 ms, p99 21 ms at 845 msg/s with acknowledgements every
    25 ms. The quick-ack mode is not sticky (the kernel leaves it by itself), so it is set again
    after every read.
    """

    def _sock_recv(self, bufsize: int) -> bytes:
        data = super()._sock_recv(bufsize)
        setsockopt = getattr(self._sock, "setsockopt", None)
        if _QUICKACK is not None and setsockopt is not None:
            with contextlib.suppress(OSError):  # not a TCP socket: nothing to do
                setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
        return data


#: Linux only; elsewhere delayed TCP acknowledgements stay (set_tcp_nodelay on the broker helps)
_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)


class MqttSource:
    """Subscribe to the topic map's topics and feed a consumer (see the module notes).

    ``start()`` connects in the background (the consumer runs on paho's network thread, so it
    must only queue the message); ``stop()`` disconnects. ``connected`` is set while connected;
    ``received`` and ``rejected`` count messages.
    """

    def __init__(self, settings: MqttSettings, consumer: Consumer) -> None:
        self.settings = settings
        self._consumer = consumer
        self.connected = threading.Event()
        self.received = 0
        self.rejected = 0
        self.connections = 0
        client = _Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=settings.client_id,
            clean_session=False,
            protocol=mqtt.MQTTv311,
            manual_ack=True,
        )
        if settings.username:
            client.username_pw_set(settings.username, settings.password)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self._client = client

    # ------------------------------------------------------------------ paho callbacks
    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        if getattr(reason, "is_failure", False):
            _log.warning("MQTT broker refused the connection: %s", reason)
            return
        self.connections += 1
        client.subscribe(self.settings.topics.subscription, qos=1)
        for topic in self.settings.topics.topics:
            client.subscribe(topic, qos=1)
        self.connected.set()
        _log.info(
            "MQTT connected to %s:%s (session present: %s)",
            self.settings.host, self.settings.port, getattr(flags, "session_present", None),
        )  # fmt: skip

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        self.connected.clear()
        _log.warning("MQTT disconnected (%s); reconnecting", reason)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        self.received += 1
        item = parse_message(
            msg.topic,
            bytes(msg.payload),
            self.settings.topics,
            source="mqtt",
            zone=self.settings.zone,
        )
        if isinstance(item, Rejected):
            self.rejected += 1
        mid, qos = msg.mid, msg.qos

        def ack() -> None:
            if qos > 0:
                client.ack(mid, qos)

        try:
            self._consumer(item, ack)
        except Exception:  # a consumer bug must not kill paho's network thread
            _log.exception("the MQTT consumer failed on a message of %s", msg.topic)

    # ------------------------------------------------------------------ control
    def start(self) -> None:
        """Connect in the background (and keep reconnecting)."""
        self._client.connect_async(
            self.settings.host, self.settings.port, keepalive=self.settings.keepalive
        )
        self._client.loop_start()

    def wait_connected(self, timeout: float = 10.0) -> bool:
        """Wait until connected; False on timeout."""
        return self.connected.wait(timeout)

    def stop(self) -> None:
        """Disconnect and stop the network thread (the broker keeps the session)."""
        self._client.disconnect()
        self._client.loop_stop()
        self.connected.clear()
