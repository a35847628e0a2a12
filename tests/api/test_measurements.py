"""Measurements through the API: bulk JSON and CSV, all or nothing, idempotent; range queries
and series (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest
from apitools import World, assert_error, char_count

V1 = "/api/v1"
BORE = f"{V1}/characteristics/BORE-D/measurements"
CSV_URL = f"{V1}/measurements/csv"


def rows(n: int = 5, start: int = 0, **extra: Any) -> list[dict[str, Any]]:
    return [
        {"ts": f"2025-01-01T08:{start + i:02d}:00+08:00", "value": 10.0 + i / 100, **extra}
        for i in range(n)
    ]


def post_csv(world: World, text: str | bytes, user: str = "eve", **data: str) -> Any:
    content = text.encode() if isinstance(text, str) else text
    return world.client.post(
        CSV_URL,
        files={"file": ("m.csv", content, "text/csv")},
        data=data,
        headers=world.auth(user),
    )


# ---------------------------------------------------------------------------------- JSON bulk
def test_json_bulk_is_idempotent(world: World) -> None:
    cid = world.a.chars["BORE-D"]
    body = rows(5, subgroup=3, lot="L1", machine="M-7", operator="王工")
    r = world.client.post(BORE, json=body, headers=world.auth("eve"))
    assert r.status_code == 200, r.text
    assert r.json() == {
        "received": 5, "inserted": 5, "identical": 0, "conflicts_skipped": 0,
        "characteristics": ["BORE-D"], "ignored_columns": [],
    }  # fmt: skip
    again = world.client.post(BORE, json=body, headers=world.auth("eve")).json()
    assert (again["inserted"], again["identical"]) == (0, 5)
    assert char_count(world.engine, cid) == 25
    page = world.client.get(
        BORE, headers=world.auth("vic"), params={"start": "2025-01-01T00:00:00Z"}
    ).json()
    assert page["total"] == 5
    first = page["items"][0]
    assert first["ts"] == "2025-01-01T00:00:00Z"  # +08:00 stored as UTC
    assert (first["subgroup"], first["lot"], first["machine"], first["operator"]) == (
        3, "L1", "M-7", "王工",
    )  # fmt: skip


def test_values_sharing_a_time_stamp_keep_their_order(world: World) -> None:
    body = [{"ts": "2025-02-01 00:00", "value": v, "subgroup": 1} for v in (3.0, 1.0, 2.0)]
    assert world.client.post(BORE, json=body, headers=world.auth("eve")).json()["inserted"] == 3
    page = world.client.get(
        BORE, headers=world.auth("eve"), params={"start": "2025-02-01T00:00:00"}
    ).json()
    assert [(m["seq"], m["value"]) for m in page["items"]] == [(0, 3.0), (1, 1.0), (2, 2.0)]


def test_conflicts_abort_by_default_and_skip_on_request(world: World) -> None:
    h = world.auth("eve")
    world.client.post(BORE, json=rows(5), headers=h)
    changed = rows(6)
    changed[2]["value"] = 99.0
    changed[4]["lot"] = "other"
    before = world.state()
    r = world.client.post(BORE, json=changed, headers=h)
    error = assert_error(r, 409, "measurement_conflict")
    assert [p["row"] for p in error["problems"]] == [2, 4]
    assert all(p["code"] == "conflict" for p in error["problems"])
    assert "stored 10.02, sent 99.0" in error["problems"][0]["message"]
    assert "lot (stored None, sent 'other')" in error["problems"][1]["message"]
    assert world.state() == before  # nothing written, not even the new sixth row
    r = world.client.post(BORE, json=changed, headers=h, params={"on_conflict": "skip"})
    assert r.status_code == 200
    assert (r.json()["inserted"], r.json()["identical"], r.json()["conflicts_skipped"]) == (1, 3, 2)


BAD_JSON: list[tuple[str, Any, list[tuple[int | None, str | None, str]]]] = [
    (
        "every bad row reported",
        [
            {"ts": "2025-01-01 08:00", "value": 1.0},
            {"ts": "yesterday", "value": "12,5x"},
            {"value": 1.0},
            {"ts": "2025-01-01 08:01"},
            {"ts": "2025-13-01 08:00", "value": 1.0, "subgroup": -1},
            {"ts": "1850-01-01", "value": 1.0, "lott": "x"},
            7,
            {"ts": "2025-01-01", "value": True, "machine": "x" * 101},
            {"ts": 20250101, "value": 1.0, "operator": "a\x00b"},
        ],
        [
            (1, "ts", "bad_ts"), (1, "value", "not_a_number"), (2, "ts", "missing"),
            (3, "value", "missing"), (4, "subgroup", "bad_subgroup"), (4, "ts", "bad_ts"),
            (5, "lott", "unknown_field"), (5, "ts", "ts_range"), (6, None, "bad_type"),
            (7, "machine", "too_long"), (7, "value", "not_a_number"),
            (8, "operator", "bad_text"), (8, "ts", "bad_type"),
        ],
    ),
    (
        "duplicate message ids",
        [{"ts": "2025-01-01", "value": 1.0, "msg_id": "m1"},
         {"ts": "2025-01-02", "value": 2.0, "msg_id": "m1"}],
        [(1, "msg_id", "duplicate_msg_id")],
    ),
    ("not a list", {"ts": "2025-01-01", "value": 1.0}, [(None, None, "bad_body")]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "expected"), [c[1:] for c in BAD_JSON], ids=[c[0] for c in BAD_JSON]
)
def test_bad_json_rows_change_nothing(
    world: World, body: Any, expected: list[tuple[int | None, str | None, str]]
) -> None:
    before = world.state()
    r = world.client.post(BORE, json=body, headers=world.auth("eve"))
    if expected[0][2] == "bad_body":
        assert_error(r, 422, "bad_body")
    else:
        error = assert_error(r, 422, "validation")
        got = sorted(
            ((p["row"], p["column"], p["code"]) for p in error["problems"]),
            key=lambda t: (t[0] or 0, t[1] or ""),
        )
        assert got == sorted(expected, key=lambda t: (t[0] or 0, t[1] or ""))
        assert all(p["message"].startswith(f"Item {p['row']}") for p in error["problems"])
    assert world.state() == before


def test_msg_id_taken_by_a_stored_row_is_a_conflict(world: World) -> None:
    h = world.auth("eve")
    world.client.post(BORE, json=[{"ts": "2025-01-01", "value": 1.0, "msg_id": "m1"}], headers=h)
    before = world.state()
    r = world.client.post(
        BORE, json=[{"ts": "2025-01-02", "value": 1.0, "msg_id": "m1"}], headers=h
    )
    assert_error(r, 409, "msg_id_taken")
    assert world.state() == before


def test_time_zone_of_naive_time_stamps(world: World) -> None:
    h = world.auth("eve")
    body = [{"ts": "2025-03-01 08:00:00", "value": 1.0}]
    r = world.client.post(BORE, json=body, headers=h, params={"tz": "Asia/Shanghai"})
    assert r.status_code == 200
    page = world.client.get(BORE, headers=h, params={"start": "2025-03-01T00:00:00Z"}).json()
    assert page["items"][0]["ts"] == "2025-03-01T00:00:00Z"
    assert_error(world.client.post(BORE, json=body, headers=h, params={"tz": "Mars/Olympus"}), 422)


def test_empty_list_adds_nothing(world: World) -> None:
    r = world.client.post(BORE, json=[], headers=world.auth("eve"))
    assert r.status_code == 200 and r.json()["received"] == 0


def test_too_many_rows(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from zhuoyue.services import measurements

    monkeypatch.setattr(measurements, "MAX_ROWS", 3)
    assert_error(
        world.client.post(BORE, json=rows(4), headers=world.auth("eve")), 422, "too_many_rows"
    )


# ---------------------------------------------------------------------------------------- CSV
def test_csv_upload_of_several_characteristics(world: World) -> None:
    text = (
        "characteristic,ts,value,subgroup,lot,extra\n"
        "BORE-D,2025-01-01 08:00,10.01,1,L1,x\n"
        "RUNOUT,2025/1/1 08:00,0.02,1,L1,x\n"
        "1001,2025-01-01T08:00:00Z,5,,L1,x\n"
    )
    r = post_csv(world, text)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["received"], body["inserted"]) == (3, 3)
    assert body["characteristics"] == ["1001", "BORE-D", "RUNOUT"]
    assert body["ignored_columns"] == ["extra"]
    assert post_csv(world, text).json()["identical"] == 3


def test_csv_with_chinese_headers_in_gbk_and_semicolons(world: World) -> None:
    text = "特性 (characteristic);时间 (ts);测量值 (value)\nBORE-D;2025-01-01 08:00;10,5\n"
    r = post_csv(world, text.encode("gb18030"))
    error = assert_error(r, 422, "validation")
    (problem,) = error["problems"]
    assert (problem["row"], problem["column"], problem["value"]) == (2, "测量值 (value)", "10,5")
    assert problem["message"].startswith('Row 2, column "测量值 (value)"')
    r = post_csv(world, text.replace("10,5", "10.5").encode("gb18030"))
    assert r.status_code == 200 and r.json()["inserted"] == 1


def test_csv_for_one_characteristic_by_form_field(world: World) -> None:
    r = post_csv(world, "ts,value\n2025-01-01 08:00,10.0\n", characteristic="BORE-D")
    assert r.status_code == 200 and r.json()["characteristics"] == ["BORE-D"]
    assert_error(post_csv(world, "ts,value\n2025-01-01 08:00,10.0\n"), 422, "missing_column")
    assert_error(post_csv(world, "ts,value\n2025-01-01 08:00,10.0\n", characteristic="ONLY-B"), 404)


BAD_CSV: list[tuple[str, bytes, int, str, list[tuple[int | None, str]]]] = [
    (
        "bad rows",
        b"characteristic,ts,value,subgroup\nBORE-D,2025-01-01,10,1\nNOPE,2025-01-01,1,1\n"
        b"BORE-D,,x,1\nBORE-D,2025-01-01,1,1,extra\n,2025-01-02,1,1\nONLY-B,2025-01-03,1,1\n"
        b"BORE-D,2025-01-04,inf,a\n",
        422, "validation",
        [(3, "unknown_characteristic"), (4, "missing"), (4, "not_a_number"), (5, "ragged"),
         (6, "unknown_characteristic"), (7, "unknown_characteristic"), (8, "not_finite"),
         (8, "bad_subgroup")],
    ),
    ("missing value column", b"characteristic,ts,val\nBORE-D,2025-01-01,1\n", 422,
     "missing_column", []),
    ("empty file", b"", 422, "empty", []),
    ("header only", b"characteristic,ts,value\n", 422, "empty", []),
    ("duplicate header", b"ts,ts,value\n1,2,3\n", 400, "malformed", []),
    ("not text", b"\xff\xfe\x00\x00\xc3\x28\x81", 400, "input_file", []),
    ("NUL bytes", b"characteristic,ts,value\nBORE-D,2025-01-01,1\x00\n", 400, "input_file", []),
]  # fmt: skip


@pytest.mark.parametrize(
    ("content", "status", "code", "expected"),
    [c[1:] for c in BAD_CSV],
    ids=[c[0] for c in BAD_CSV],
)
def test_bad_csv_changes_nothing(
    world: World, content: bytes, status: int, code: str, expected: list[tuple[int, str]]
) -> None:
    before = world.state()
    error = assert_error(post_csv(world, content), status, code)
    if expected:
        assert sorted((p["row"], p["code"]) for p in error["problems"]) == sorted(expected)
    assert world.state() == before


def test_csv_too_large_is_413(world: World) -> None:
    big = b"characteristic,ts,value\n" + b"BORE-D,2025-01-01,1\n" * 60_000  # > 1 MiB
    before = world.state()
    assert_error(post_csv(world, big), 413, "too_large")
    assert world.state() == before


def test_csv_needs_a_file(world: World) -> None:
    r = world.client.post(CSV_URL, headers=world.auth("eve"), data={"characteristic": "BORE-D"})
    assert_error(r, 422, "request_validation")


# -------------------------------------------------------------------------------------- reads
def test_range_query_pages_in_time_order(world: World) -> None:
    h = world.auth("vic")
    page = world.client.get(BORE, headers=h, params={"limit": 7, "offset": 5}).json()
    assert page["total"] == 20 and page["limit"] == 7 and page["offset"] == 5
    ts = [m["ts"] for m in page["items"]]
    assert ts == sorted(ts) and ts[0] == "2024-03-01T00:05:00Z"
    window = world.client.get(
        BORE,
        headers=h,
        params={"start": "2024-03-01T00:02:00Z", "end": "2024-03-01T08:04:00+08:00"},
    ).json()
    assert [m["ts"][-9:-1] for m in window["items"]] == ["00:02:00", "00:03:00"]
    for params in (
        {"limit": 10_001},
        {"start": "yesterday"},
        {"start": "0001-01-01T00:00:00+14:00"},
    ):
        assert_error(world.client.get(BORE, headers=h, params=params), 422)


def test_series_returns_parallel_arrays(world: World) -> None:
    h = world.auth("vic")
    world.client.post(BORE, json=[{"ts": "2025-01-01", "value": 1.5}], headers=world.auth("eve"))
    series = world.client.get(f"{V1}/characteristics/BORE-D/series", headers=h).json()
    assert series["code"] == "BORE-D" and series["characteristic_id"] == world.a.chars["BORE-D"]
    assert len(series["ts"]) == len(series["value"]) == len(series["subgroup"]) == 21
    assert series["subgroup"][:6] == [0, 0, 0, 0, 0, 1] and series["subgroup"][-1] is None
    assert series["value"][-1] == 1.5 and series["ts"][-1] == "2025-01-01T00:00:00Z"
    part = world.client.get(
        f"{V1}/characteristics/BORE-D/series",
        headers=h,
        params={"start": "2024-03-01T00:10:00Z", "end": "2024-03-01T00:12:00Z"},
    ).json()
    assert part["ts"] == ["2024-03-01T00:10:00Z", "2024-03-01T00:11:00Z"]
