"""The OPC UA source against an asyncua server in this process: values with their source
timestamps, mapping to characteristics, rejection of non-numbers, reconnection."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from asyncua import Server, ua

from zhuoyue.ingest.messages import Reading, Rejected
from zhuoyue.ingest.opcua import OpcUaSettings, OpcUaSource


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class UaServer:
    """An asyncua server on its own event loop thread with two variables."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"opc.tcp://127.0.0.1:{port}/zhuoyue/"
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server: Any = None
        self.od: Any = None
        self.status: Any = None

    def call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    async def _start(self) -> None:
        server = Server()
        await server.init()
        server.set_endpoint(self.url)
        ns = await server.register_namespace("urn:zhuoyue:test")
        machine = await server.nodes.objects.add_object(ns, "OP40")
        self.od = await machine.add_variable(ua.NodeId("OP40.OD", ns), "OD", 25.0)
        self.status = await machine.add_variable(ua.NodeId("OP40.Status", ns), "Status", "ok")
        await server.start()
        self.server = server

    def start(self) -> None:
        self.call(self._start())

    async def _write(self, node: Any, value: Any, ts: datetime) -> None:
        variant = ua.Variant(value, ua.VariantType.Double if isinstance(value, float) else None)
        await node.write_value(ua.DataValue(variant, SourceTimestamp=ts, ServerTimestamp=ts))

    def write(self, node: Any, value: Any, ts: datetime) -> None:
        self.call(self._write(node, value, ts))

    def stop(self) -> None:
        if self.server is not None:
            self.call(self.server.stop())
            self.server = None

    def close(self) -> None:
        self.stop()

        async def cancel_the_rest() -> None:  # the server's own tasks, so none is left pending
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        self.call(cancel_the_rest())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture
def ua_server() -> Iterator[UaServer]:
    s = UaServer(_free_port())
    s.start()
    yield s
    s.close()


def _wait(cond: Any, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.mark.slow
def test_values_arrive_with_their_source_time_and_reconnect(ua_server: UaServer) -> None:
    got: list[Reading | Rejected] = []
    ns_od = ua_server.od.nodeid.to_string()
    ns_status = ua_server.status.nodeid.to_string()
    settings = OpcUaSettings(
        ua_server.url,
        {ns_od: ("jinggong-auto", "C40-01"), ns_status: ("jinggong-auto", "C40-02")},
        sampling_interval=10,
        publishing_interval=20,
    )
    source = OpcUaSource(settings, lambda item, ack: (got.append(item), ack()))
    source.start()
    try:
        assert source.wait_connected(15)
        _wait(lambda: len(got) >= 2)  # the initial values of both nodes
        initial = {g.characteristic: g for g in got}
        assert isinstance(initial["C40-01"], Reading) and initial["C40-01"].value == 25.0
        assert isinstance(initial["C40-02"], Rejected)  # "ok" is not a number
        assert initial["C40-02"].reason == "bad_value"
        got.clear()
        t0 = datetime(2024, 6, 1, 8, tzinfo=UTC)
        for i in range(5):
            ua_server.write(ua_server.od, 25.0 + (i + 1) / 1000, t0 + timedelta(seconds=i))
            time.sleep(0.05)
        _wait(lambda: len(got) >= 5)
        readings = [g for g in got if isinstance(g, Reading)]
        assert [r.value for r in readings] == [25.0 + (i + 1) / 1000 for i in range(5)]
        assert [r.ts for r in readings] == [t0 + timedelta(seconds=i) for i in range(5)]
        assert all(r.org == "jinggong-auto" and r.characteristic == "C40-01" for r in readings)
        assert all(r.source == "opcua" and r.topic == ns_od for r in readings)
        assert len({r.msg_id for r in readings}) == 5
        assert readings[0].msg_id == f"opcua:{ns_od}:{int(t0.timestamp() * 1e6)}"
        # the server restarts: the source reconnects and subscribes again
        ua_server.stop()
        _wait(lambda: not source.connected.is_set())
        ua_server.start()
        _wait(lambda: source.connections >= 2, timeout=40)
        got.clear()
        ua_server.write(ua_server.od, 26.5, t0 + timedelta(minutes=1))
        _wait(lambda: any(isinstance(g, Reading) and g.value == 26.5 for g in got))
    finally:
        source.stop()


def test_a_source_needs_nodes() -> None:
    with pytest.raises(ValueError, match="at least one"):
        OpcUaSource(OpcUaSettings("opc.tcp://127.0.0.1:1/"), lambda item, ack: None)
