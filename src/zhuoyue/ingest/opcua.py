"""OPC UA source of the online monitor (asyncua client).

:class:`OpcUaSource` connects to an OPC UA server, subscribes to the configured node ids
(``sampling_interval`` ms, a queue of ``queue_size`` values per node on the server so bursts
between publishing cycles are not lost) and turns every data change into a
:class:`~zhuoyue.ingest.messages.Reading` of the characteristic the node is mapped to:

* the value is the node's value (a number; anything else is rejected like a bad payload);
* the time is the value's **source timestamp** (the machine's clock), else the server's;
* the message id is ``opcua:<node id>:<source timestamp in µs>``, so a value seen twice (after
  a reconnect the server sends the current value again) is stored once.

It runs its own event loop in a thread and reconnects by itself (1 s, doubling up to 30 s) when
the connection is lost; the subscription is created again on every connection. OPC UA keeps no
queue for a disconnected client: values that change while the monitor is away are not
delivered (use MQTT with a persistent session, or the HTTP bulk endpoint, to backfill).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from asyncua.client.client import Client
from asyncua.common.node import Node
from asyncua.ua import Double
from asyncua.ua.uaerrors import UaError

from zhuoyue.ingest.messages import Reading, Rejected, parse_payload
from zhuoyue.ingest.mqtt import Consumer

__all__ = ["OpcUaSettings", "OpcUaSource"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class OpcUaSettings:
    """The server and the node ids to watch: node id → (organization code, characteristic code)."""

    url: str
    nodes: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    sampling_interval: float = 50.0  # ms
    publishing_interval: float = 100.0  # ms
    queue_size: int = 100
    timeout: float = 4.0


def _noop() -> None:
    """OPC UA has nothing to acknowledge."""


class _Handler:
    def __init__(self, source: OpcUaSource) -> None:
        self.source = source

    def datachange_notification(self, node: Node, val: Any, data: Any) -> None:
        self.source._on_value(node, val, data)


class OpcUaSource:
    """Watch OPC UA nodes and feed a consumer (see the module notes).

    ``start()`` runs the client in a thread; ``stop()`` ends it. ``connected`` is set while
    subscribed; ``received``, ``rejected`` and ``connections`` count.
    """

    def __init__(self, settings: OpcUaSettings, consumer: Consumer) -> None:
        if not settings.nodes:
            raise ValueError("Map at least one OPC UA node id to a characteristic.")
        self.settings = settings
        self._consumer = consumer
        self.connected = threading.Event()
        self.received = 0
        self.rejected = 0
        self.connections = 0
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._node_map: dict[str, tuple[str, str]] = {}

    # ------------------------------------------------------------------ values
    def _on_value(self, node: Node, val: Any, data: Any) -> None:
        self.received += 1
        node_id = node.nodeid.to_string()
        org, characteristic = self._node_map.get(node_id, ("", ""))
        dv = getattr(getattr(data, "monitored_item", None), "Value", None)
        ts = getattr(dv, "SourceTimestamp", None) or getattr(dv, "ServerTimestamp", None)
        if ts is None:
            ts = datetime.now(UTC)
        elif ts.tzinfo is None:  # asyncua gives naive UTC datetimes
            ts = ts.replace(tzinfo=UTC)
        micros = int(ts.timestamp() * 1_000_000)
        value = val if isinstance(val, (int, float)) and not isinstance(val, bool) else str(val)
        item: Reading | Rejected = parse_payload(
            {"ts": ts.isoformat(), "value": value, "id": f"opcua:{node_id}:{micros}"[:100]},
            org=org,
            characteristic=characteristic,
            source="opcua",
            topic=node_id,
        )
        if isinstance(item, Rejected):
            self.rejected += 1
        try:
            self._consumer(item, _noop)
        except Exception:
            _log.exception("the OPC UA consumer failed on a value of %s", node_id)

    # ------------------------------------------------------------------ the client loop
    async def _session(self, stop: asyncio.Event) -> None:
        s = self.settings
        client = Client(s.url, timeout=s.timeout)
        await client.connect()
        try:
            nodes = [client.get_node(n) for n in s.nodes]
            self._node_map = {
                node.nodeid.to_string(): s.nodes[key]
                for node, key in zip(nodes, s.nodes, strict=True)
            }
            sub = await client.create_subscription(s.publishing_interval, _Handler(self))
            await sub.subscribe_data_change(
                nodes, queuesize=s.queue_size, sampling_interval=Double(s.sampling_interval)
            )
            self.connections += 1
            self.connected.set()
            _log.info("OPC UA connected to %s (%d nodes)", s.url, len(nodes))
            while not stop.is_set():
                try:
                    await asyncio.wait_for(stop.wait(), timeout=1.0)
                except TimeoutError:
                    await client.check_connection()
        finally:
            self.connected.clear()
            with contextlib.suppress(Exception):  # the connection is gone already
                await client.disconnect()

    async def _main(self) -> None:
        self._stop = stop = asyncio.Event()
        delay = 1.0
        while not stop.is_set():
            try:
                await self._session(stop)
                delay = 1.0
            except (OSError, TimeoutError, UaError, ConnectionError) as exc:
                _log.warning("OPC UA connection to %s failed: %s; retrying", self.settings.url, exc)
            except Exception:
                _log.exception("OPC UA client failed; retrying")
            if stop.is_set():
                return
            try:
                await asyncio.wait_for(stop.wait(), timeout=delay)
            except TimeoutError:
                delay = min(delay * 2, 30.0)

    def start(self) -> None:
        """Run the client in a background thread (and keep reconnecting)."""

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            try:
                self._loop.run_until_complete(self._main())
            finally:
                self._loop.close()

        self._thread = threading.Thread(target=run, name="zhuoyue-opcua", daemon=True)
        self._thread.start()

    def wait_connected(self, timeout: float = 10.0) -> bool:
        """Wait until subscribed; False on timeout."""
        return self.connected.wait(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Disconnect and end the thread."""
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stop.set)
        if self._thread is not None:
            self._thread.join(timeout)
