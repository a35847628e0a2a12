"""MQTT source in a child process: receiving and validation away from the monitor's GIL.

:class:`MqttProcessSource` is a drop-in replacement for :class:`~zhuoyue.ingest.mqtt.MqttSource`
(same constructor, ``start``/``wait_connected``/``stop``, ``connected`` and the counters; the
consumer is called in this process with ``(item, ack)``).

**Why a process.** paho reads each packet with several ``recv()`` calls (and a ``select()``),
and each one gives up the GIL and has to take it back from the monitor's worker thread
(SQLAlchemy and SQLite), which can hold it for a whole switch interval at a time. Here paho and
:func:`~zhuoyue.ingest.messages.parse_message` run in ``python -m zhuoyue.ingest.mqtt_process``
(an ordinary :class:`MqttSource` whose consumer only buffers), and this process takes the GIL
once per *batch* of validated messages. Two other delays are not the source's to remove: Nagle's
algorithm in a broker without ``set_tcp_nodelay true`` holds back messages while the client's
(late, manual) acknowledgements are pending, and a full garbage collection of this process stops
every thread of it.

**The child** is started with :class:`subprocess.Popen` — not a ``fork`` of a multi-threaded
web server — with pipes on its stdin and stdout; its stderr is this process's stderr (a crash's
traceback is never lost). It ends with its parent: Linux ``PR_SET_PDEATHSIG`` (SIGKILL) and an
EOF on its stdin. The child is started by the source's reader thread, which lives as long as the
child: the death signal follows the *thread* that started a process.

**Framing.** Both ways, a frame is a 4-byte big-endian length and a pickle (our own child: the
pickles are trusted). Parent → child: the settings, the generation and the log level first, then
ack frames ``(generation, [tag, ...])``. Child → parent: ``("items", [(item, tag), ...],
counters)``, ``("status", connected, counters)`` and ``("log", record)``, in the order they
happened. paho's thread appends to an outbox and a sender thread writes everything in it as soon
as it is not empty, in one write — no timer: frames grow under load. The child's log records are
re-emitted here under their own logger names (``processName`` is ``mqtt-child-<generation>``).

**Acknowledgements.** A tag numbers the messages of one child (the child keeps each message's
ack callable by tag; MQTT packet ids would be ambiguous, the broker reuses them). ``ack()`` in
this process only appends to a list; a writer thread sends what has accumulated as one frame,
at once. At ``stop()`` the acks called so far are sent, then the child's stdin is closed: the
child sends its PUBACKs, disconnects (the broker keeps the session) and exits. Acks called after
``stop()`` are dropped, as with :class:`MqttSource`: the broker delivers those messages again.

**Generations.** Every child is one generation. When a child dies (killed, crashed: EOF on its
stdout) the source logs a warning, clears ``connected`` and starts the next one after a pause of
1 s, doubling up to 30 s while the children die before they connect. Acks of an earlier
generation's items are dropped: the persistent session (``clean_session=False``, fixed client
id) makes the broker deliver that child's unacknowledged messages to the next one, and the
monitor stores the second copy once (the message id). The counters add up over generations.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import itertools
import logging
import os
import pickle
import signal
import struct
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import paho.mqtt.client as mqtt

from zhuoyue.ingest.messages import Reading, Rejected
from zhuoyue.ingest.mqtt import Ack, Consumer, MqttSettings, MqttSource

__all__ = ["MqttProcessSource"]

# named, not __name__: in the child this module runs as __main__
_log = logging.getLogger("zhuoyue.ingest.mqtt_process")
_MQTT_LOG = "zhuoyue.ingest.mqtt"  # MqttSource's logger

_HEADER = struct.Struct(">I")
_PAUSE_MIN = 1.0
_PAUSE_MAX = 30.0
_STOP_TIMEOUT = 10.0
_PIPE_BUFFER = 1 << 16
_PR_SET_PDEATHSIG = 1
#: LogRecord attributes sent by the child (msg is sent formatted, exceptions as text)
_RECORD_FIELDS = (
    "name", "levelno", "levelname", "pathname", "filename", "module", "lineno", "funcName",
    "created", "msecs", "relativeCreated", "thread", "threadName", "process", "stack_info",
)  # fmt: skip

Counters = tuple[int, int, int]  # received, rejected, connections


def _load_prctl() -> Callable[..., int] | None:
    # resolved before any fork: dlopen between fork and exec can deadlock in a threaded parent
    if sys.platform != "linux":
        return None
    try:
        prctl: Callable[..., int] = ctypes.CDLL("libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return prctl


_PRCTL = _load_prctl()


def _read_frame(stream: IO[bytes]) -> Any:
    """The next frame's object, or None at EOF (a frame cut short counts as EOF)."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    body = stream.read(size)
    if len(body) < size:
        return None
    return pickle.loads(body)


def _frame(obj: Any) -> bytes:
    body = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(body)) + body


# ---------------------------------------------------------------------------------- the parent
class MqttProcessSource:
    """:class:`MqttSource` run in a child process (see the module notes).

    The consumer is called in this process, on the source's reader thread, in the order the
    child received the messages; like :class:`MqttSource`'s, it must only queue the message.
    ``connected`` is set while the child is connected and subscribed; ``received``, ``rejected`` and
    ``connections`` count over all the children; ``pid`` is the current child's.
    """

    def __init__(self, settings: MqttSettings, consumer: Consumer) -> None:
        self.settings = settings
        self._consumer = consumer
        self.connected = threading.Event()
        self.received = 0
        self.rejected = 0
        self.connections = 0
        self._base: Counters = (0, 0, 0)  # the counters when the current child started
        self._lock = threading.Lock()  # the child, its generation, the threads, _stopping
        self._proc: subprocess.Popen[bytes] | None = None
        self._generation = 0
        self._stopping = False
        self._wake = threading.Event()  # cuts the pause before the next child short
        self._acks: list[tuple[int, int]] = []  # (generation, tag)
        self._acks_ready = threading.Condition(threading.Lock())
        self._writer_done = False
        self._reader: threading.Thread | None = None
        self._writer: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        """The current (after ``stop()``: the last) child's process id; None before the first."""
        proc = self._proc
        return None if proc is None else proc.pid

    # ------------------------------------------------------------------ control
    def start(self) -> None:
        """Start the child (and a new one whenever it dies) in the background."""
        with self._lock:
            if self._reader is not None:
                return
            self._stopping = False
            self._wake.clear()
            self._writer_done = False
            self._reader = threading.Thread(
                target=self._supervise, name="mqtt-process-reader", daemon=True
            )
            self._writer = threading.Thread(
                target=self._write_acks, name="mqtt-process-acks", daemon=True
            )
            self._reader.start()
            self._writer.start()

    def wait_connected(self, timeout: float = 10.0) -> bool:
        """Wait until the child is connected; False on timeout."""
        return self.connected.wait(timeout)

    def stop(self) -> None:
        """Send the acks called so far, end the child (it disconnects; the broker keeps the
        session) and the threads; the consumer is not called any more once this returns."""
        with self._lock:
            reader, writer = self._reader, self._writer
            if reader is None or writer is None:
                return
            self._stopping = True
            proc = self._proc
        self._wake.set()
        with self._acks_ready:
            self._writer_done = True
            self._acks_ready.notify()
        writer.join(_STOP_TIMEOUT)
        if proc is not None:
            if writer.is_alive():  # blocked on a child that reads nothing: no clean end
                proc.kill()
            elif proc.stdin is not None:
                with contextlib.suppress(OSError):  # EOF: the child acks, disconnects, exits
                    proc.stdin.close()
            try:
                proc.wait(_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                _log.warning("the MQTT child process %s did not stop; killing it", proc.pid)
                proc.kill()
                proc.wait()
        if threading.current_thread() is not reader:  # stop() called by the consumer
            reader.join()
        writer.join()
        self.connected.clear()
        with self._lock:
            self._reader = self._writer = None

    # ------------------------------------------------------------------ reader thread
    def _supervise(self) -> None:
        pause = _PAUSE_MIN
        while True:
            proc = self._spawn()
            connected, code = False, None
            if proc is not None:
                try:
                    connected = self._read(proc)
                finally:
                    code = self._reap(proc)
            if self._stopping:
                return
            self.connected.clear()
            if connected:
                pause = _PAUSE_MIN
            if proc is not None:
                _log.warning(
                    "the MQTT child process %s ended (exit code %s); starting another in %.0f s",
                    proc.pid, code, pause,
                )  # fmt: skip
            if self._wake.wait(pause):
                return
            pause = min(2 * pause, _PAUSE_MAX)

    def _spawn(self) -> subprocess.Popen[bytes] | None:
        """Start the next child and send it its settings (None: stopping, or it failed)."""
        parent = os.getpid()

        def die_with_parent() -> None:  # in the child, between fork and exec
            if _PRCTL is not None:
                _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL)
            if os.getppid() != parent:  # the parent died before prctl took effect
                os._exit(1)

        root = str(Path(__file__).resolve().parents[2])  # the child imports this zhuoyue
        path = os.environ.get("PYTHONPATH")
        env = {**os.environ, "PYTHONPATH": root + (os.pathsep + path if path else "")}
        level = min(logging.getLogger(n).getEffectiveLevel() for n in (_log.name, _MQTT_LOG))
        with self._lock:
            if self._stopping:
                return None
            try:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "zhuoyue.ingest.mqtt_process"],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    bufsize=_PIPE_BUFFER,
                    env=env,
                    preexec_fn=die_with_parent,
                )
            except OSError:
                _log.exception("cannot start the MQTT child process")
                return None
            self._generation += 1
            self._base = (self.received, self.rejected, self.connections)
            self._proc = proc
            init = {"settings": self.settings, "generation": self._generation, "level": level}
            try:
                assert proc.stdin is not None
                proc.stdin.write(_frame(init))
                proc.stdin.flush()
            except OSError:
                pass  # it died at once: the reader sees the EOF
        return proc

    def _read(self, proc: subprocess.Popen[bytes]) -> bool:
        """Hand the child's frames on until its stdout ends; True if it connected."""
        assert proc.stdout is not None
        stream, generation, ack = proc.stdout, self._generation, self._ack
        connected = False
        while True:
            try:
                frame = _read_frame(stream)
            except (OSError, ValueError):
                return connected
            except Exception:  # a corrupt stream cannot be resynchronized
                _log.exception("unreadable frame from the MQTT child process %s", proc.pid)
                proc.kill()
                return connected
            if frame is None:
                return connected
            kind = frame[0]
            if kind == "items":
                consumer = self._consumer
                for item, tag in frame[1]:
                    if self._stopping:
                        break
                    try:
                        consumer(item, functools.partial(ack, generation, tag))
                    except Exception:  # a consumer bug must not stop the stream
                        _log.exception("the MQTT consumer failed on a message of %s", item.topic)
                self._count(frame[2])
            elif kind == "status":
                self._count(frame[2])
                if frame[1]:
                    connected = True
                    self.connected.set()
                else:
                    self.connected.clear()
            elif kind == "log":
                record = logging.makeLogRecord(frame[1])
                logger = logging.getLogger(record.name)
                if logger.isEnabledFor(record.levelno):
                    logger.handle(record)

    def _count(self, counters: Counters) -> None:
        base = self._base
        self.received = base[0] + counters[0]
        self.rejected = base[1] + counters[1]
        self.connections = base[2] + counters[2]

    def _reap(self, proc: subprocess.Popen[bytes]) -> int | None:
        try:
            code = proc.wait(_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:  # its stdout is closed, but it lives on: end it
            proc.kill()
            code = proc.wait()
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        return code

    # ------------------------------------------------------------------ acknowledgements
    def _ack(self, generation: int, tag: int) -> None:
        with self._acks_ready:
            self._acks.append((generation, tag))
            if len(self._acks) == 1:
                self._acks_ready.notify()

    def _write_acks(self) -> None:
        while True:
            with self._acks_ready:
                while not self._acks and not self._writer_done:
                    self._acks_ready.wait()
                acks, self._acks = self._acks, []
                done = self._writer_done
            if acks:
                self._send_acks(acks)
            if done:
                return

    def _send_acks(self, acks: list[tuple[int, int]]) -> None:
        with self._lock:
            proc, generation = self._proc, self._generation
        tags = [tag for g, tag in acks if g == generation]
        if len(tags) < len(acks):
            _log.debug("%d acks of an earlier MQTT child dropped", len(acks) - len(tags))
        if not tags or proc is None or proc.stdin is None:
            return
        try:
            proc.stdin.write(_frame((generation, tags)))
            proc.stdin.flush()
        except (OSError, ValueError):
            pass  # the child has died: the broker delivers its messages to the next one


# ----------------------------------------------------------------------------------- the child
class _Outbox:
    """The child's frames to its parent, written by a sender thread as soon as there are any."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._entries: list[tuple[Any, ...]] = []
        self._ready = threading.Condition(threading.Lock())
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="mqtt-child-sender", daemon=True)
        self.counters: Callable[[], Counters] = lambda: (0, 0, 0)

    def start(self) -> None:
        self._thread.start()

    def put(self, entry: tuple[Any, ...]) -> None:
        """Queue ``("i", item, tag)`` (one message) or a whole frame (status, log)."""
        with self._ready:
            self._entries.append(entry)
            if len(self._entries) == 1:
                self._ready.notify()

    def close(self) -> None:
        """Send what is queued, then end the sender thread."""
        with self._ready:
            self._closed = True
            self._ready.notify()
        self._thread.join()

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._entries and not self._closed:
                    self._ready.wait()
                entries, self._entries = self._entries, []
                closed = self._closed
            if entries:
                self._send(entries)
            if closed:
                return

    def _send(self, entries: list[tuple[Any, ...]]) -> None:
        frames: list[bytes] = []
        items: list[tuple[Reading | Rejected, int]] = []
        for entry in entries:
            if entry[0] == "i":
                items.append((entry[1], entry[2]))
                continue
            if items:  # keeps the order of messages, status changes and log records
                frames.append(_frame(("items", items, self.counters())))
                items = []
            frames.append(_frame(entry))
        if items:
            frames.append(_frame(("items", items, self.counters())))
        view = memoryview(b"".join(frames))
        try:
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError:  # the parent has gone
            os._exit(1)


class _ForwardLogs(logging.Handler):
    """Sends the child's log records to the parent as frames."""

    def __init__(self, outbox: _Outbox, process_name: str) -> None:
        super().__init__()
        self._outbox = outbox
        self._process_name = process_name

    def emit(self, record: logging.LogRecord) -> None:
        try:
            fields = {name: getattr(record, name, None) for name in _RECORD_FIELDS}
            fields["msg"] = record.getMessage()
            fields["processName"] = self._process_name
            if record.exc_info:
                fields["exc_text"] = logging.Formatter().formatException(record.exc_info)
            else:
                fields["exc_text"] = record.exc_text
            self._outbox.put(("log", fields))
        except Exception:
            self.handleError(record)


class _ChildSource(MqttSource):
    """An :class:`MqttSource` that reports its connection changes to the parent.

    It reports "connected" when the broker has acknowledged the subscriptions, not at CONNACK:
    a message published after ``wait_connected()`` is then sure to be routed to the session.
    """

    def __init__(self, settings: MqttSettings, consumer: Consumer, outbox: _Outbox) -> None:
        super().__init__(settings, consumer)
        self._outbox = outbox
        self._subacks = 0
        # as many as MqttSource._on_connect subscribes: the template's and each explicit topic
        self._subscriptions = 1 + len(settings.topics.topics)
        self._client.on_subscribe = self._on_subscribe

    def counters(self) -> Counters:
        return self.received, self.rejected, self.connections

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        self._subacks = 0  # SUBACKs come on this thread after this callback
        super()._on_connect(client, userdata, flags, reason, properties)

    def _on_subscribe(
        self, client: mqtt.Client, userdata: Any, mid: int, reasons: Any, properties: Any
    ) -> None:
        for reason in reasons:
            if getattr(reason, "is_failure", False):
                _log.warning("the MQTT broker refused a subscription: %s", reason)
        self._subacks += 1
        if self._subacks == self._subscriptions and self.connected.is_set():
            self._outbox.put(("status", True, self.counters()))

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        super()._on_disconnect(client, userdata, flags, reason, properties)
        self._outbox.put(("status", False, self.counters()))


def _child_main() -> int:
    """The child: read the settings, run an :class:`MqttSource`, ack what the parent acks,
    stop at the EOF of stdin."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C is for the parent, which stops us
    out = os.dup(1)
    os.dup2(2, 1)  # a stray print goes to stderr, not between the frames
    stdin = sys.stdin.buffer
    init = _read_frame(stdin)
    if init is None:
        return 0
    settings: MqttSettings = init["settings"]
    generation: int = init["generation"]
    outbox = _Outbox(out)
    root = logging.getLogger()
    root.handlers[:] = [_ForwardLogs(outbox, f"mqtt-child-{generation}")]
    root.setLevel(init["level"])

    pending: dict[int, Ack] = {}
    tags = itertools.count()

    def buffer(item: Reading | Rejected, ack: Ack) -> None:  # on paho's thread
        tag = next(tags)
        pending[tag] = ack
        outbox.put(("i", item, tag))

    source = _ChildSource(settings, buffer, outbox)
    outbox.counters = source.counters
    outbox.start()
    source.start()
    while (frame := _read_frame(stdin)) is not None:
        acked_generation, acked = frame
        if acked_generation != generation:
            continue
        for tag in acked:
            ack = pending.pop(tag, None)
            if ack is not None:
                ack()
    source.stop()
    outbox.close()
    return 0


if __name__ == "__main__":
    sys.exit(_child_main())
