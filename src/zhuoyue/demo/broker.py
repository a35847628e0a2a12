"""A private Mosquitto broker: for the demo factory's live feed, the tests and the benchmarks.

:func:`start_mosquitto` runs Debian's ``mosquitto`` on a free loopback port with its own
configuration and persistence file in a folder: anonymous access on 127.0.0.1 only,
``max_queued_messages`` and ``max_inflight_messages`` raised (the defaults, 1 000 and 20, make
Mosquitto drop messages silently for a slow subscriber and throttle manual acknowledgements),
and persistence on, so a restart keeps the persistent sessions.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["MOSQUITTO", "Broker", "find_mosquitto", "start_mosquitto"]


#: Debian's broker
MOSQUITTO = Path("/usr/sbin/mosquitto")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:
    """In the broker's process before exec: SIGTERM when the process that started it ends, so a
    demo or a test that is killed never leaves a broker behind (Linux prctl PR_SET_PDEATHSIG)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


@dataclass
class Broker:
    """A running Mosquitto: its port, folder and process (restartable on the same port)."""

    folder: Path
    port: int
    proc: subprocess.Popen[bytes] | None = None

    @property
    def config(self) -> Path:
        return self.folder / "mosquitto.conf"

    def start(self, timeout: float = 10.0) -> None:
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {self.folder}/\n"
            "autosave_interval 1\n"
            "max_queued_messages 1000000\n"
            "max_inflight_messages 1000\n"
            "log_dest stderr\n"
            "log_type error\n"
            "log_type warning\n" + ("user root\n" if os.geteuid() == 0 else "")
            # as root, mosquitto would switch to the mosquitto user, who cannot write the folder
        )
        log = (self.folder / "mosquitto.log").open("ab")
        self.proc = subprocess.Popen(
            [str(find_mosquitto() or MOSQUITTO), "-c", str(self.config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"mosquitto exited with {self.proc.returncode}: "
                    + (self.folder / "mosquitto.log").read_text(errors="replace")[-2000:]
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"mosquitto did not listen on port {self.port} within {timeout} s")

    def stop(self) -> None:
        """Stop gracefully (SIGTERM: the persistence file is written)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def find_mosquitto() -> Path | None:
    """The mosquitto binary, or None when it is not installed."""
    if MOSQUITTO.exists():
        return MOSQUITTO
    found = shutil.which("mosquitto")
    return Path(found) if found else None


def start_mosquitto(folder: Path) -> Broker:
    """Start a broker in ``folder`` on a free port."""
    if find_mosquitto() is None:
        raise FileNotFoundError(
            f"{MOSQUITTO} is missing: install Debian's mosquitto package (make test does)"
        )
    folder.mkdir(parents=True, exist_ok=True)
    broker = Broker(folder, _free_port())
    broker.start()
    return broker
