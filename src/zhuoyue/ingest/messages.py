"""Machine messages → validated readings: the door of the online monitor.

Every source (MQTT, OPC UA, the HTTP bulk endpoint) turns what it receives into a
:class:`Reading` (one value of one characteristic, validated) or a :class:`Rejected` (the raw
message with a stable ``reason`` code and a message naming the field, the value and the fix).
A rejected message is recorded in the ``dead_letter`` table and counted, never dropped silently,
and never stops the stream.

**MQTT topics.** By default ``zhuoyue/{org}/{characteristic}`` (organization code and
characteristic code); :class:`TopicMap` takes another template (``plant/{org}/line1/{characteristic}``)
and explicit topics (``{"factory/op40/od": ("jinggong-auto", "C40-01")}``) that win over it.

**Payload** (JSON object, UTF-8)::

    {"ts": "2024-03-01T08:00:00+08:00", "value": 25.0012,
     "subgroup": 17, "lot": "L2403", "serial": "S-001", "machine": "M-40-2", "operator": "张三",
     "id": "m-40-2/000123"}

* ``value`` (required): a finite number (a numeric string is accepted); NaN and infinities are
  rejected (``bad_value``).
* ``ts`` (required): ISO 8601 text (a time without offset is in the configured zone, UTC by
  default) or Unix epoch seconds (a number); between the years 2000 and 2200 (``bad_ts``).
* ``subgroup``: an integer ≥ 0; ``lot``, ``serial``, ``machine``, ``operator``: text of at most
  100 characters.
* ``id``: the message id, at most 100 characters, unique per characteristic: a message that
  arrives twice (QoS 1 redelivers after a reconnect) is stored once. Without one, the id is a
  digest of the topic and the payload's fields (``h:`` + 32 hex digits), so a redelivered copy of
  the same message is recognised too.

Unknown fields are ignored (listed in :attr:`Reading.ignored`).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Literal

__all__ = [
    "DEFAULT_TEMPLATE",
    "FIELDS",
    "MAX_PAYLOAD_BYTES",
    "Reading",
    "Rejected",
    "Source",
    "TopicMap",
    "parse_message",
    "parse_payload",
]

Source = Literal["mqtt", "opcua", "http"]

#: the default topic template
DEFAULT_TEMPLATE = "zhuoyue/{org}/{characteristic}"
#: the payload's fields
FIELDS = ("ts", "value", "subgroup", "lot", "serial", "machine", "operator", "id")
#: the largest payload read (a dead letter keeps at most this much of a larger one)
MAX_PAYLOAD_BYTES = 64 * 1024
_TEXT_FIELDS = ("lot", "serial", "machine", "operator")
_MAX_TEXT = 100
_TS_MIN = datetime(2000, 1, 1, tzinfo=UTC)
_TS_MAX = datetime(2200, 1, 1, tzinfo=UTC)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_PLACEHOLDER = re.compile(r"\{(org|characteristic)\}")


@dataclass(frozen=True, slots=True)
class Reading:
    """One validated value of one characteristic of one organization."""

    org: str  # organization code
    characteristic: str  # characteristic code
    ts: datetime  # aware UTC
    value: float
    msg_id: str
    source: Source
    topic: str | None = None
    subgroup: int | None = None
    lot: str | None = None
    serial: str | None = None
    machine: str | None = None
    operator: str | None = None
    ignored: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Rejected:
    """A message that cannot be used: why (``reason`` code and ``message``) and what it was."""

    source: Source
    reason: str
    message: str
    topic: str | None = None
    payload: str | None = None  # as received, decoded with replacement characters
    org: str | None = None  # the organization code the topic names, when it names one
    characteristic: str | None = None


@dataclass(frozen=True, slots=True)
class TopicMap:
    """How topics name organizations and characteristics (see the module notes)."""

    template: str = DEFAULT_TEMPLATE
    topics: Mapping[str, tuple[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        names = _PLACEHOLDER.findall(self.template)
        if sorted(names) != ["characteristic", "org"]:
            raise ValueError(
                f"The topic template {self.template!r} must hold {{org}} and {{characteristic}} "
                "once each, e.g. 'zhuoyue/{org}/{characteristic}'."
            )
        if any(c in self.template for c in "+#"):
            raise ValueError(f"The topic template {self.template!r} may not hold + or #.")

    @property
    def subscription(self) -> str:
        """The MQTT subscription that receives the template's topics (placeholders as ``+``)."""
        return _PLACEHOLDER.sub("+", self.template)

    def _pattern(self) -> re.Pattern[str]:
        parts = _PLACEHOLDER.split(self.template)
        out = []
        for i, part in enumerate(parts):
            # split() alternates literal text and the captured placeholder names
            out.append(f"(?P<{part}>[^/+#]+)" if i % 2 else re.escape(part))
        return re.compile("".join(out))

    def resolve(self, topic: str) -> tuple[str, str] | None:
        """``(org, characteristic)`` of a topic, or ``None`` when it matches nothing."""
        if topic in self.topics:
            return self.topics[topic]
        m = self._pattern().fullmatch(topic)
        if m is None:
            return None
        return m["org"], m["characteristic"]


def _decode(payload: bytes | str) -> str:
    if isinstance(payload, str):
        return payload[:MAX_PAYLOAD_BYTES]
    return payload[:MAX_PAYLOAD_BYTES].decode("utf-8", errors="replace")


def _ts(raw: Any, zone: tzinfo) -> datetime | str:
    """An aware UTC datetime, or the reason it is not one."""
    if isinstance(raw, bool) or raw is None:
        return "is missing" if raw is None else f"is {raw!r}"
    if isinstance(raw, (int, float)):
        if not math.isfinite(raw):
            return f"is {raw!r}"
        try:
            out = _EPOCH + timedelta(seconds=float(raw))
        except OverflowError:
            return f"is {raw!r}, far outside the years 2000-2200"
    elif isinstance(raw, str):
        text = raw.strip()
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return f"is {raw[:40]!r}, not ISO 8601 text or Unix epoch seconds"
        out = parsed.replace(tzinfo=zone) if parsed.tzinfo is None else parsed
        try:
            out = out.astimezone(UTC)
        except OverflowError:
            return f"is {raw[:40]!r}, outside the years 2000-2200"
    else:
        return f"is a {type(raw).__name__}, not ISO 8601 text or Unix epoch seconds"
    if not _TS_MIN <= out < _TS_MAX:
        return f"is {out.isoformat()}, outside the years 2000-2200"
    return out


def _value(raw: Any) -> float | str:
    if isinstance(raw, bool) or raw is None:
        return "is missing" if raw is None else f"is {raw!r}, not a number"
    if isinstance(raw, (int, float)):
        x = float(raw)
    elif isinstance(raw, str):
        try:
            x = float(raw.strip())
        except ValueError:
            return f"is {raw[:40]!r}, not a number"
    else:
        return f"is a {type(raw).__name__}, not a number"
    if not math.isfinite(x):
        return f"is {x!r}: NaN and infinities cannot be charted"
    return x


def _digest(topic: str | None, fields: Mapping[str, Any]) -> str:
    blob = json.dumps([topic, [fields.get(k) for k in FIELDS]], sort_keys=True, default=str)
    return "h:" + hashlib.sha256(blob.encode()).hexdigest()[:32]


def parse_payload(
    payload: bytes | str | Mapping[str, Any],
    *,
    org: str,
    characteristic: str,
    source: Source,
    topic: str | None = None,
    zone: tzinfo = UTC,
) -> Reading | Rejected:
    """Validate one message of ``characteristic`` in ``org`` (see the module notes).

    >>> r = parse_payload(b'{"ts": "2024-03-01T08:00:00+08:00", "value": 25.0012, "id": "a1"}',
    ...                   org="plant", characteristic="C40-01", source="mqtt")
    >>> r.ts.isoformat(), r.value, r.msg_id
    ('2024-03-01T00:00:00+00:00', 25.0012, 'a1')
    >>> parse_payload(b'{"ts": 1709280000, "value": "NaN"}', org="plant",
    ...               characteristic="C40-01", source="mqtt").reason
    'bad_value'
    """
    text = None if isinstance(payload, Mapping) else _decode(payload)

    def reject(reason: str, message: str) -> Rejected:
        return Rejected(
            source,
            reason,
            message,
            topic=topic,
            payload=text if text is not None else json.dumps(payload, default=str)[:2000],
            org=org,
            characteristic=characteristic,
        )

    if isinstance(payload, (bytes, bytearray)) and len(payload) > MAX_PAYLOAD_BYTES:
        return reject(
            "too_large",
            f"The payload has {len(payload)} bytes; at most {MAX_PAYLOAD_BYTES} are read. Send "
            "one value per message.",
        )
    if isinstance(payload, Mapping):
        doc: Any = payload
    else:
        try:
            doc = json.loads(text or "")
        except json.JSONDecodeError as exc:
            return reject(
                "bad_json",
                f"The payload is not JSON ({exc.msg} at character {exc.pos}). Send an object "
                'such as {"ts": "2024-03-01T08:00:00+08:00", "value": 25.0012}.',
            )
    if not isinstance(doc, Mapping):
        return reject(
            "bad_json",
            f"The payload is a JSON {type(doc).__name__}, not an object. Send an object such "
            'as {"ts": "2024-03-01T08:00:00+08:00", "value": 25.0012}.',
        )
    value = _value(doc.get("value"))
    if isinstance(value, str):
        return reject("bad_value", f"The field 'value' {value}. Send a finite number.")
    ts = _ts(doc.get("ts"), zone)
    if isinstance(ts, str):
        return reject(
            "bad_ts",
            f"The field 'ts' {ts}. Send ISO 8601 text with an offset "
            "('2024-03-01T08:00:00+08:00') or Unix epoch seconds.",
        )
    subgroup = doc.get("subgroup")
    if subgroup is not None and (
        isinstance(subgroup, bool)
        or not isinstance(subgroup, int)
        or not 0 <= subgroup <= 2**31 - 1
    ):
        return reject(
            "bad_subgroup",
            f"The field 'subgroup' is {subgroup!r}; it must be an integer >= 0 (the subgroup's "
            "number).",
        )
    texts: dict[str, str | None] = {}
    for name in _TEXT_FIELDS:
        raw = doc.get(name)
        if raw is None:
            texts[name] = None
            continue
        if isinstance(raw, bool) or not isinstance(raw, (str, int)):
            return reject("bad_field", f"The field {name!r} is {raw!r}; it must be text.")
        s = str(raw).strip()
        if len(s) > _MAX_TEXT or any(ord(c) < 32 for c in s):
            return reject(
                "bad_field",
                f"The field {name!r} must be text of at most {_MAX_TEXT} characters without "
                f"control characters. Got {s[:40]!r}.",
            )
        texts[name] = s or None
    raw_id = doc.get("id")
    if raw_id is None:
        msg_id = _digest(topic, doc)
    elif isinstance(raw_id, bool) or not isinstance(raw_id, (str, int)):
        return reject("bad_id", f"The field 'id' is {raw_id!r}; it must be text or an integer.")
    else:
        msg_id = str(raw_id).strip()
        if not msg_id or len(msg_id) > _MAX_TEXT or msg_id.startswith("h:"):
            return reject(
                "bad_id",
                f"The field 'id' must be 1 to {_MAX_TEXT} characters and may not start with "
                f"'h:' (kept for digests). Got {msg_id[:40]!r}.",
            )
    return Reading(
        org=org,
        characteristic=characteristic,
        ts=ts,
        value=value,
        msg_id=msg_id,
        source=source,
        topic=topic,
        subgroup=subgroup,
        ignored=tuple(sorted(str(k) for k in doc if k not in FIELDS)),
        **texts,
    )


def parse_message(
    topic: str,
    payload: bytes | str,
    topics: TopicMap,
    *,
    source: Source = "mqtt",
    zone: tzinfo = UTC,
) -> Reading | Rejected:
    """Validate one message of a topic (the topic names the organization and characteristic).

    >>> parse_message("zhuoyue/plant/C40-01", b'{"ts": 1709280000, "value": 1}', TopicMap()).org
    'plant'
    >>> parse_message("other/topic", b"{}", TopicMap()).reason
    'unknown_topic'
    """
    target = topics.resolve(topic)
    if target is None:
        return Rejected(
            source,
            "unknown_topic",
            f"The topic {topic[:200]!r} names no characteristic: publish to "
            f"{topics.template!r} or map the topic in the monitor's configuration.",
            topic=topic,
            payload=_decode(payload),
        )
    org, characteristic = target
    return parse_payload(
        payload, org=org, characteristic=characteristic, source=source, topic=topic, zone=zone
    )
