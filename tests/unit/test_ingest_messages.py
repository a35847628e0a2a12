"""Machine messages: topics, payload validation, message ids (zhuoyue.ingest.messages)."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhuoyue.ingest.messages import (
    MAX_PAYLOAD_BYTES,
    Reading,
    Rejected,
    TopicMap,
    parse_message,
    parse_payload,
)

T = "zhuoyue/jinggong-auto/C40-01"


def ok(payload: object, topic: str = T, **kw: object) -> Reading:
    raw = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
    r = parse_message(topic, raw, TopicMap(), **kw)  # type: ignore[arg-type]
    assert isinstance(r, Reading), r
    return r


def bad(payload: object, topic: str = T) -> Rejected:
    raw = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
    r = parse_message(topic, raw, TopicMap())
    assert isinstance(r, Rejected), r
    return r


def test_a_full_message() -> None:
    r = ok(
        {
            "ts": "2024-03-01T08:00:00.250+08:00",
            "value": 25.0012,
            "subgroup": 17,
            "lot": "L2403",
            "serial": "S-001",
            "machine": "M-40-2",
            "operator": "张三",
            "id": "m-40-2/000123",
            "temperature": 21.5,
        }
    )
    assert (r.org, r.characteristic, r.source, r.topic) == ("jinggong-auto", "C40-01", "mqtt", T)
    assert r.ts == datetime(2024, 3, 1, 0, 0, 0, 250000, tzinfo=UTC)
    assert r.value == 25.0012 and r.subgroup == 17
    assert (r.lot, r.serial, r.machine, r.operator) == ("L2403", "S-001", "M-40-2", "张三")
    assert r.msg_id == "m-40-2/000123"
    assert r.ignored == ("temperature",)


def test_time_forms() -> None:
    assert ok({"ts": 1709280000, "value": 1}).ts == datetime(2024, 3, 1, 8, tzinfo=UTC)
    assert ok({"ts": 1709280000.5, "value": 1}).ts == datetime(
        2024, 3, 1, 8, 0, 0, 500000, tzinfo=UTC
    )
    assert ok({"ts": "2024-03-01T08:00:00Z", "value": 1}).ts == datetime(2024, 3, 1, 8, tzinfo=UTC)
    # a time without offset is in the configured zone
    naive = {"ts": "2024-03-01 08:00:00", "value": 1}
    assert ok(naive).ts == datetime(2024, 3, 1, 8, tzinfo=UTC)
    assert ok(naive, zone=ZoneInfo("Asia/Shanghai")).ts == datetime(2024, 3, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("payload", "reason", "words"),
    [
        (b"not json", "bad_json", "not JSON"),
        (b"[1, 2]", "bad_json", "JSON list"),
        ({"ts": 1709280000}, "bad_value", "'value' is missing"),
        ({"ts": 1709280000, "value": "abc"}, "bad_value", "'abc', not a number"),
        ({"ts": 1709280000, "value": True}, "bad_value", "True"),
        ('{"ts": 1709280000, "value": NaN}', "bad_value", "NaN"),
        ('{"ts": 1709280000, "value": Infinity}', "bad_value", "inf"),
        ({"ts": 1709280000, "value": "-inf"}, "bad_value", "inf"),
        ({"value": 1}, "bad_ts", "'ts' is missing"),
        ({"ts": "yesterday", "value": 1}, "bad_ts", "not ISO 8601"),
        ({"ts": "1999-12-31T23:59:59Z", "value": 1}, "bad_ts", "2000-2200"),
        ({"ts": 1e300, "value": 1}, "bad_ts", "2000-2200"),
        ({"ts": [1], "value": 1}, "bad_ts", "list"),
        ({"ts": 1709280000, "value": 1, "subgroup": -1}, "bad_subgroup", "-1"),
        ({"ts": 1709280000, "value": 1, "subgroup": 1.5}, "bad_subgroup", "1.5"),
        ({"ts": 1709280000, "value": 1, "lot": "x" * 101}, "bad_field", "'lot'"),
        ({"ts": 1709280000, "value": 1, "operator": {"a": 1}}, "bad_field", "'operator'"),
        ({"ts": 1709280000, "value": 1, "machine": "a\nb"}, "bad_field", "control"),
        ({"ts": 1709280000, "value": 1, "id": ""}, "bad_id", "'id'"),
        ({"ts": 1709280000, "value": 1, "id": "h:abc"}, "bad_id", "h:"),
        ({"ts": 1709280000, "value": 1, "id": [1]}, "bad_id", "'id'"),
    ],
)
def test_bad_messages_say_which_field_and_what_to_send(
    payload: object, reason: str, words: str
) -> None:
    r = bad(payload)
    assert r.reason == reason
    assert words in r.message
    assert (r.org, r.characteristic, r.topic) == ("jinggong-auto", "C40-01", T)
    assert r.payload is not None  # kept for the dead-letter table


def test_too_large_and_undecodable_payloads_are_kept_truncated() -> None:
    big = b'{"value": 1, "ts": 1709280000, "pad": "' + b"x" * MAX_PAYLOAD_BYTES + b'"}'
    r = bad(big)
    assert r.reason == "too_large" and r.payload is not None
    assert len(r.payload) == MAX_PAYLOAD_BYTES
    r = bad(b"\xff\xfe{")
    assert r.reason == "bad_json" and "\ufffd" in (r.payload or "")


def test_topics() -> None:
    r = bad(b"{}", topic="zhuoyue/only-org")
    assert r.reason == "unknown_topic" and r.org is None
    assert "zhuoyue/{org}/{characteristic}" in r.message
    m = TopicMap("plant/{org}/line1/{characteristic}", {"factory/op40/od": ("a", "C40-01")})
    assert m.subscription == "plant/+/line1/+"
    assert m.resolve("plant/a/line1/C10-01") == ("a", "C10-01")
    assert m.resolve("plant/a/line2/C10-01") is None
    assert m.resolve("plant/a/b/line1/C10-01") is None  # a placeholder is one topic level
    assert m.resolve("factory/op40/od") == ("a", "C40-01")
    for template in ("x/{org}", "x/{org}/{org}/{characteristic}", "x/+/{org}/{characteristic}"):
        with pytest.raises(ValueError, match="template"):
            TopicMap(template)


def test_message_ids_recognise_a_redelivered_copy() -> None:
    a = ok({"ts": 1709280000, "value": 1.5, "serial": "S1"})
    b = ok(b'{"serial": "S1", "value": 1.5, "ts": 1709280000}')  # same fields, other order
    c = ok({"ts": 1709280000, "value": 1.5, "serial": "S2"})
    d = ok({"ts": 1709280000, "value": 1.5, "serial": "S1"}, topic="zhuoyue/jinggong-auto/C40-02")
    assert a.msg_id == b.msg_id and a.msg_id.startswith("h:") and len(a.msg_id) == 34
    assert len({a.msg_id, c.msg_id, d.msg_id}) == 3
    assert ok({"ts": 1709280000, "value": 1, "id": 42}).msg_id == "42"


def test_a_mapping_payload_from_opc_ua_or_http() -> None:
    r = parse_payload(
        {"ts": datetime(2024, 3, 1, tzinfo=UTC).isoformat(), "value": 2},
        org="o",
        characteristic="c",
        source="opcua",
    )
    assert isinstance(r, Reading) and r.source == "opcua" and r.value == 2.0


@given(
    value=st.floats(allow_nan=True, allow_infinity=True),
    ts=st.integers(946_684_800, 7_258_118_399),  # 2000-01-01 .. 2199-12-31
)
def test_any_float_is_kept_exactly_or_rejected_when_not_finite(value: float, ts: int) -> None:
    raw = json.dumps({"ts": ts, "value": value})  # json writes NaN / Infinity literals
    r = parse_message(T, raw, TopicMap())
    if math.isfinite(value):
        assert isinstance(r, Reading) and r.value == value
        assert r.ts == datetime.fromtimestamp(ts, UTC)
    else:
        assert isinstance(r, Rejected) and r.reason == "bad_value"


@given(st.binary(max_size=300))
def test_no_payload_raises(payload: bytes) -> None:
    r = parse_message(T, payload, TopicMap())
    assert isinstance(r, (Reading, Rejected))
