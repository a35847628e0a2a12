"""Every error has one shape; nothing answers with a traceback; the OpenAPI document is served."""

from __future__ import annotations

import pytest
from apitools import TestClient, World, assert_error
from fastapi import APIRouter

from zhuoyue.api import ApiSettings, create_app
from zhuoyue.api.deps import CurrentPrincipal
from zhuoyue.errors import DataError, InputFileError, OutputError, ParameterError

V1 = "/api/v1"


def test_unknown_route_and_method(world: World) -> None:
    assert_error(world.client.get(V1 + "/nope"), 404, "not_found")
    assert_error(world.client.put(V1 + "/products", headers=world.auth("alice")), 405)


def test_body_beyond_the_app_limit_is_413(world: World) -> None:
    r = world.client.post(
        V1 + "/characteristics/BORE-D/measurements",
        content=b"[" + b" " * (3 * 1024 * 1024) + b"]",
        headers={**world.auth("alice"), "Content-Type": "application/json"},
    )
    assert_error(r, 413, "too_large")


def test_malformed_json_is_400(world: World) -> None:
    r = world.client.post(
        V1 + "/products",
        content=b'{"code": ',
        headers={**world.auth("alice"), "Content-Type": "application/json"},
    )
    assert_error(r, 400, "malformed")


def test_request_validation_lists_every_problem(world: World) -> None:
    r = world.client.post(
        V1 + "/characteristics",
        json={"code": "", "step": None, "lsl": "low", "colour": "red"},
        headers=world.auth("alice"),
    )
    error = assert_error(r, 422, "request_validation")
    columns = {p["column"] for p in error["problems"]}
    assert {"code", "step", "lsl", "colour"} <= columns
    assert all(p["loc"][0] == "body" for p in error["problems"])


def test_path_ids_out_of_range_are_422(world: World) -> None:
    h = world.auth("alice")
    for path in ("/tokens/0", "/tokens/99999999999", "/memberships/-1", "/orgs/abc"):
        r = world.client.request("DELETE" if "orgs" not in path else "GET", V1 + path, headers=h)
        assert_error(r, 422, "request_validation")


@pytest.fixture
def failing_client(migrated_url: str) -> TestClient:
    """An app with routes that raise, to see the handlers."""
    app = create_app(migrated_url, settings=ApiSettings())
    router = APIRouter()

    @router.get("/boom/{kind}")
    def boom(kind: str) -> None:
        raise {
            "runtime": RuntimeError("secret internals"),
            "output": OutputError("cannot write /etc/x"),
            "data": DataError("bad data", code="malformed"),
            "param": ParameterError("bad parameter"),
            "file": InputFileError("no file"),
        }[kind]

    @router.get("/me-or-boom")
    def needs_auth(principal: CurrentPrincipal) -> None:
        raise RuntimeError(principal.username)

    app.include_router(router)
    return TestClient(app, raise_server_exceptions=False)


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        ("runtime", 500, "internal"),
        ("output", 500, "internal"),
        ("data", 400, "malformed"),
        ("param", 422, "parameter"),
        ("file", 400, "input_file"),
    ],
)
def test_errors_map_to_statuses_without_tracebacks(
    failing_client: TestClient, kind: str, status: int, code: str
) -> None:
    r = failing_client.get(f"/boom/{kind}")
    error = assert_error(r, status, code)
    assert "Traceback" not in r.text and "secret internals" not in r.text
    if status == 500:
        assert "reference" in error["message"]


def test_openapi_and_docs(world: World) -> None:
    schema = world.client.get("/openapi.json").json()
    assert schema["info"]["title"] == "zhuoyue"
    assert "/api/v1/characteristics/{ref}/measurements" in schema["paths"]
    schemes = schema["components"]["securitySchemes"]
    assert schemes["token"]["scheme"] == "bearer" and schemes["session"]["in"] == "cookie"
    body = schema["paths"]["/api/v1/characteristics/{ref}/measurements"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"]["type"] == "array"
    assert world.client.get("/docs").status_code == 200


def test_health(world: World) -> None:
    body = world.client.get("/health").json()
    assert body["status"] == "ok" and body["database"] in ("sqlite", "postgresql")
