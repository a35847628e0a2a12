"""The MQTT source in a child process against a real Mosquitto: messages arrive validated, acks
reach the broker, a killed child is replaced, a broker restart is survived, stop() leaves nothing
behind. Publishers are paho clients with QoS 1.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from zhuoyue.demo.broker import Broker
from zhuoyue.ingest.messages import Reading, Rejected, TopicMap
from zhuoyue.ingest.mqtt import Ack, MqttSettings
from zhuoyue.ingest.mqtt_process import MqttProcessSource

T0 = dt.datetime(2024, 6, 1, 8, tzinfo=dt.UTC)
TOPIC = "zhuoyue/plant/C1"


class Collector:
    """A consumer that keeps every ``(item, ack)``; with ``auto_ack`` it acks at once."""

    def __init__(self, *, auto_ack: bool = False) -> None:
        self.auto_ack = auto_ack
        self.calls: list[tuple[Reading | Rejected, Ack]] = []
        self.lock = threading.Lock()

    def __call__(self, item: Reading | Rejected, ack: Ack) -> None:
        with self.lock:
            self.calls.append((item, ack))
        if self.auto_ack:
            ack()

    def ids(self) -> list[str]:
        with self.lock:
            return [item.msg_id for item, _ in self.calls if isinstance(item, Reading)]

    def wait_for(self, what: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not what():
            assert time.monotonic() < deadline, f"timed out; received {self.ids()}"
            time.sleep(0.01)

    def wait_ids(self, ids: set[str], timeout: float = 10.0) -> None:
        self.wait_for(lambda: ids <= set(self.ids()), timeout)


def _payload(i: int, msg_id: str | None = None) -> str:
    ts = (T0 + dt.timedelta(minutes=i)).isoformat()
    return json.dumps({"ts": ts, "value": 10.0 + i / 100, "id": msg_id or f"m{i:03d}"})


@contextmanager
def _publisher(broker: Broker, name: str = "test-publisher") -> Iterator[mqtt.Client]:
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=name)
    pub.max_queued_messages_set(0)
    pub.connect("127.0.0.1", broker.port)
    pub.loop_start()
    try:
        yield pub
    finally:
        pub.disconnect()
        pub.loop_stop()


def _publish(pub: mqtt.Client, payloads: list[str | bytes], topic: str = TOPIC) -> None:
    infos = [pub.publish(topic, p, qos=1) for p in payloads]
    for info in infos:
        info.wait_for_publish(10)


@contextmanager
def _source(
    broker: Broker, consumer: Collector, client_id: str = "test-process"
) -> Iterator[MqttProcessSource]:
    source = MqttProcessSource(MqttSettings(port=broker.port, client_id=client_id), consumer)
    source.start()
    try:
        assert source.wait_connected(15)
        yield source
    finally:
        source.stop()


def _alive(pid: int) -> bool:
    """Whether the process runs (a zombie nobody reaped counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _wait(what: Callable[[], bool], timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < deadline, message
        time.sleep(0.02)


def _leftovers(broker: Broker, client_id: str) -> list[str]:
    """What the broker still holds for ``client_id``'s session: everything delivered before a
    sentinel published after the new subscriber connected (queued messages go first)."""
    got = Collector(auto_ack=True)
    with _source(broker, got, client_id), _publisher(broker, "test-sentinel") as pub:
        _publish(pub, [_payload(0, "sentinel")])
        got.wait_ids({"sentinel"})
    ids = got.ids()
    assert ids[-1] == "sentinel"
    return ids[:-1]


def test_messages_arrive_validated_with_their_counters(
    mosquitto: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    got = Collector(auto_ack=True)
    with _source(mosquitto, got) as source, _publisher(mosquitto) as pub:
        good = [_payload(i) for i in range(5)]
        bad: list[str | bytes] = [
            b"{not json",
            json.dumps({"ts": T0.isoformat(), "value": "NaN", "id": "nan"}),
        ]
        _publish(pub, [*good[:3], *bad, *good[3:]])
        got.wait_for(lambda: len(got.calls) == 7)
        _wait(lambda: source.received == 7, 5, "the counters did not follow")
        assert (source.received, source.rejected, source.connections) == (7, 2, 1)
        items = [item for item, _ in got.calls]
    readings = [r for r in items if isinstance(r, Reading)]
    assert [r.msg_id for r in readings] == [f"m{i:03d}" for i in range(5)]  # in order
    first = readings[0]
    assert (first.org, first.characteristic, first.value, first.ts) == ("plant", "C1", 10.0, T0)
    assert (first.source, first.topic) == ("mqtt", TOPIC)
    assert readings[4].ts == T0 + dt.timedelta(minutes=4) and readings[4].value == 10.04
    rejected = [r for r in items if isinstance(r, Rejected)]
    assert [r.reason for r in rejected] == ["bad_json", "bad_value"]
    assert rejected[0].payload == "{not json" and "not JSON" in rejected[0].message
    assert (rejected[1].org, rejected[1].characteristic) == ("plant", "C1")
    # the child's log records reach this process's loggers, marked with the child
    connected = [r for r in caplog.records if "MQTT connected" in r.getMessage()]
    assert [(r.name, r.processName) for r in connected] == [("zhuoyue.ingest.mqtt", "mqtt-child-1")]
    assert _leftovers(mosquitto, "test-process") == []  # every ack reached the broker


def test_explicit_topics_are_subscribed_too(mosquitto: Broker) -> None:
    topics = TopicMap(topics={"factory/op40/od": ("plant", "C40-01")})
    got = Collector(auto_ack=True)
    source = MqttProcessSource(MqttSettings(port=mosquitto.port, topics=topics), got)
    source.start()
    try:
        assert source.wait_connected(15)  # both subscriptions acknowledged
        with _publisher(mosquitto) as pub:
            _publish(pub, [_payload(0, "od")], topic="factory/op40/od")
            _publish(pub, [_payload(1, "c1")])
        got.wait_ids({"od", "c1"})
    finally:
        source.stop()
    assert {(r.characteristic, r.msg_id) for r, _ in got.calls if isinstance(r, Reading)} == {
        ("C40-01", "od"),
        ("C1", "c1"),
    }


def test_a_failing_consumer_does_not_stop_the_stream(
    mosquitto: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    got = Collector(auto_ack=True)

    def consumer(item: Reading | Rejected, ack: Ack) -> None:
        if isinstance(item, Reading) and item.msg_id == "m000":
            raise RuntimeError("consumer bug")
        got(item, ack)

    source = MqttProcessSource(MqttSettings(port=mosquitto.port), consumer)
    source.start()
    try:
        assert source.wait_connected(15)
        with _publisher(mosquitto) as pub:
            _publish(pub, [_payload(i) for i in range(3)])
        got.wait_ids({"m001", "m002"})
    finally:
        source.stop()
    assert any("the MQTT consumer failed" in r.getMessage() for r in caplog.records)


def test_unacknowledged_messages_come_again_to_the_next_source(mosquitto: Broker) -> None:
    got = Collector()
    with _source(mosquitto, got), _publisher(mosquitto) as pub:
        _publish(pub, [_payload(i) for i in range(4)])
        got.wait_ids({"m000", "m001", "m002", "m003"})
        for item, ack in got.calls:
            if isinstance(item, Reading) and item.msg_id in ("m000", "m002"):
                ack()
    # stop() sent the acks called before it, and the broker kept the session
    assert _leftovers(mosquitto, "test-process") == ["m001", "m003"]


def test_a_killed_child_is_replaced_and_nothing_is_lost(
    mosquitto: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    got = Collector()
    all_ids = {f"m{i:03d}" for i in range(100)}
    with _source(mosquitto, got) as source, _publisher(mosquitto) as pub:
        first = source.pid
        assert first is not None
        _publish(pub, [_payload(i) for i in range(50)])
        got.wait_ids({f"m{i:03d}" for i in range(50)})
        for _, ack in got.calls[:25]:
            ack()
        os.kill(first, signal.SIGKILL)
        _publish(pub, [_payload(i) for i in range(50, 100)])  # queued for the session
        _wait(lambda: source.pid != first, 10, "no new child")
        with got.lock:
            got.auto_ack = True
            stale = [ack for _, ack in got.calls]
        for ack in stale:  # acks of the dead child's items: dropped, harmless
            ack()
        assert source.wait_connected(15)
        _publish(pub, [_payload(100, "after")])  # after what the broker held for the session
        got.wait_ids(all_ids | {"after"})
        assert source.connections == 2
        assert not _alive(first)
    assert _leftovers(mosquitto, "test-process") == []  # all acknowledged in the end
    ids = got.ids()
    assert set(ids) == all_ids | {"after"}  # at least once; the unacked ones came twice
    assert {f"m{i:03d}" for i in range(25, 50)} <= {i for i in ids if ids.count(i) == 2}
    assert any("ended (exit code -9)" in r.getMessage() for r in caplog.records)


def test_a_broker_restart_is_survived(mosquitto: Broker, caplog: pytest.LogCaptureFixture) -> None:
    got = Collector(auto_ack=True)
    with _source(mosquitto, got) as source:
        with _publisher(mosquitto) as pub:
            _publish(pub, [_payload(i) for i in range(5)])
        got.wait_ids({f"m{i:03d}" for i in range(5)})
        mosquitto.stop()
        _wait(lambda: not source.connected.is_set(), 10, "still connected")
        mosquitto.start()
        assert source.wait_connected(15)
        with _publisher(mosquitto) as pub:
            _publish(pub, [_payload(i) for i in range(5, 10)])
        got.wait_ids({f"m{i:03d}" for i in range(10)})
        assert source.connections == 2
    assert any("MQTT disconnected" in r.getMessage() for r in caplog.records)


def test_stop_ends_the_child_and_the_consumer_calls(mosquitto: Broker) -> None:
    stopped = threading.Event()
    late: list[Reading | Rejected] = []
    got = Collector(auto_ack=True)

    def consumer(item: Reading | Rejected, ack: Ack) -> None:
        if stopped.is_set():
            late.append(item)
        got(item, ack)

    source = MqttProcessSource(MqttSettings(port=mosquitto.port), consumer)
    source.stop()  # before start: nothing to do
    source.start()
    assert source.wait_connected(15)
    pid = source.pid
    assert pid is not None and _alive(pid)
    with _publisher(mosquitto) as pub:
        flood = threading.Thread(target=_publish, args=(pub, [_payload(i) for i in range(3000)]))
        flood.start()
        got.wait_for(lambda: len(got.calls) >= 100)
        source.stop()  # in the middle of the stream
        stopped.set()
        flood.join()
    time.sleep(0.3)
    assert late == []
    assert not _alive(pid)
    assert not source.connected.is_set()
    source.stop()  # twice: nothing to do


def test_the_child_dies_with_its_parent(mosquitto: Broker) -> None:
    script = textwrap.dedent(
        f"""
        import time
        from zhuoyue.ingest.mqtt import MqttSettings
        from zhuoyue.ingest.mqtt_process import MqttProcessSource

        source = MqttProcessSource(MqttSettings(port={mosquitto.port}), lambda item, ack: None)
        source.start()
        assert source.wait_connected(15)
        print(source.pid, flush=True)
        time.sleep(60)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert _alive(child)
    finally:
        parent.kill()
        parent.wait()
    _wait(lambda: not _alive(child), 10, f"the child {child} outlived its parent")
