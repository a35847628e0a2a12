"""The MQTT client acknowledges TCP segments at once (see ``zhuoyue.ingest.mqtt._Client``).

Without it a broker with Nagle's algorithm on (Mosquitto's default) holds each next message back
until the client's delayed TCP acknowledgement, because the monitor's MQTT acknowledgements come
only after a commit: ~10 ms more per message (measured in ``bench/bench_monitor.py``).
"""

from __future__ import annotations

import socket
import sys

import pytest
from paho.mqtt.enums import CallbackAPIVersion

from zhuoyue.ingest.mqtt import _Client

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="TCP_QUICKACK is Linux's"
)


def test_every_read_puts_the_socket_in_quick_ack_mode() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        client_sock = socket.create_connection(server.getsockname())
        peer, _ = server.accept()
        try:
            client = _Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="t")
            client._sock = client_sock
            # delayed acknowledgements, as the kernel sets them on a connection that writes
            # little (a plain recv leaves them so)
            client_sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 0)
            peer.sendall(b"\x30\x00")
            assert client._sock_recv(2) == b"\x30\x00"
            assert client_sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK) == 1
        finally:
            client._sock = None
            client_sock.close()
            peer.close()


def test_a_socket_without_options_is_left_alone() -> None:
    class Plain:
        def recv(self, n: int) -> bytes:
            return b"x"

    client = _Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="t")
    client._sock = Plain()  # type: ignore[assignment]
    try:
        assert client._sock_recv(1) == b"x"
    finally:
        client._sock = None
