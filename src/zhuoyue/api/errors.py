"""One error body for every failure: ``{"error": {"code", "message", "problems": [...]}}``.

=================================================  ======  ===================================
error                                              status  ``code``
=================================================  ======  ===================================
:class:`~zhuoyue.services.accounts.AuthenticationError`  401  ``unauthenticated``, ``bad_token``,
                                                           ``token_expired``, ... (with
                                                           ``WWW-Authenticate: Bearer``)
:class:`~zhuoyue.services.accounts.PermissionDenied`     403  ``forbidden``, ``scope``, ``csrf``
:class:`~zhuoyue.services.accounts.NotFound`             404  ``not_found``
:class:`~zhuoyue.services.accounts.Conflict`             409  ``conflict``, ``code_taken``, ...
:class:`~zhuoyue.errors.InputFileError`                  400  ``input_file``
malformed JSON or CSV                                    400  ``malformed``
:class:`~zhuoyue.errors.ValidationError`, ``DataError``,  422  the error's code; ``problems``
``ParameterError``, request validation                        lists every bad row or field
an unexpected error                                      500  ``internal`` (logged; no traceback)
=================================================  ======  ===================================

A problem is ``{row, column, value, code, message}`` (:class:`zhuoyue.errors.Problem`); problems
of the request itself (FastAPI's validation) also carry ``loc``, the path to the bad input.
"""

from __future__ import annotations

import json
import logging
import math
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from zhuoyue.errors import (
    DataError,
    InputFileError,
    ParameterError,
    Problem,
    ValidationError,
    ZhuoyueError,
)
from zhuoyue.services.accounts import AuthenticationError, Conflict, NotFound, PermissionDenied

__all__ = [
    "ERROR_RESPONSES",
    "ErrorBody",
    "TooLargeAsJson",
    "error_response",
    "install_error_handlers",
]

log = logging.getLogger("zhuoyue.api")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "too_many_requests",
}
_MAX_SHOWN = 200


class ErrorDetail(BaseModel):
    """What went wrong: a stable ``code`` for programs, a ``message`` for people, and the
    ``problems`` (rows or fields) when there are several."""

    code: str
    message: str
    problems: list[dict[str, Any]] = Field(default_factory=list)


class ErrorBody(BaseModel):
    """The body of every error response."""

    error: ErrorDetail


#: the error responses of every route, for the OpenAPI document
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Malformed request or file"},
    401: {"model": ErrorBody, "description": "Not authenticated"},
    403: {"model": ErrorBody, "description": "Not allowed"},
    404: {"model": ErrorBody, "description": "Not found (in your organization)"},
    409: {"model": ErrorBody, "description": "Conflict with stored data"},
    422: {"model": ErrorBody, "description": "Invalid input; every problem listed"},
}


def _safe(value: Any) -> Any:
    """A JSON-safe, short rendering of an input value."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    try:
        text = json.dumps(value, allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(value)[:_MAX_SHOWN]
    if len(text) > _MAX_SHOWN:
        return text[:_MAX_SHOWN] + "…"
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    return value


def _problem(p: Problem) -> dict[str, Any]:
    out = p.to_dict()
    out["value"] = _safe(out["value"])
    return out


def error_response(
    status: int,
    code: str,
    message: str,
    problems: Sequence[dict[str, Any]] = (),
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """A JSON error response in the shape of :class:`ErrorBody`."""
    body = {"error": {"code": code, "message": message, "problems": list(problems)}}
    return JSONResponse(body, status_code=status, headers=dict(headers) if headers else None)


def _status_of(exc: ZhuoyueError) -> int:
    if isinstance(exc, AuthenticationError):
        return 401
    if isinstance(exc, PermissionDenied):
        return 403
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Conflict):
        return 409
    if isinstance(exc, InputFileError):
        return 400
    if isinstance(exc, DataError) and exc.code == "malformed":
        return 400
    if isinstance(exc, DataError | ParameterError):
        return 422
    return 500


async def _zhuoyue_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ZhuoyueError)
    status = _status_of(exc)
    if status == 500:
        return await _unexpected(request, exc)
    problems: Sequence[Problem] = ()
    if isinstance(exc, ValidationError | Conflict):
        problems = exc.problems
    headers = {"WWW-Authenticate": 'Bearer realm="zhuoyue"'} if status == 401 else None
    return error_response(status, exc.code, str(exc), [_problem(p) for p in problems], headers)


async def _request_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    problems = []
    for err in errors:
        loc = [str(part) for part in err.get("loc", ())]
        problems.append(
            {
                "row": None,
                "column": ".".join(loc[1:]) or None,
                "value": _safe(err.get("input")),
                "code": str(err.get("type", "invalid")),
                "message": f"{' → '.join(loc) or 'request'}: {err.get('msg', 'invalid')}",
                "loc": loc,
            }
        )
    if any(e.get("type") == "json_invalid" for e in errors):
        return error_response(400, "malformed", "The request body is not valid JSON.", problems[:1])
    first = problems[0]["message"] if problems else "invalid request"
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return error_response(422, "request_validation", first + more, problems)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else code
    return error_response(exc.status_code, code, message, headers=exc.headers)


async def _integrity_error(request: Request, exc: Exception) -> JSONResponse:
    # a race lost against a concurrent request (two creates of one code): the checks passed
    log.warning("integrity error on %s %s: %s", request.method, request.url.path, exc)
    return error_response(
        409, "conflict", "The change clashes with data stored meanwhile. Reload and retry."
    )


async def _database_data_error(request: Request, exc: Exception) -> JSONResponse:
    # the database refused a value the validation let through (a bug to fix: logged)
    log.error("database refused a value on %s %s: %s", request.method, request.url.path, exc)
    return error_response(422, "bad_value", "The database cannot store a value of the request.")


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.error("database error on %s %s: %s", request.method, request.url.path, exc)
    return error_response(503, "database_unavailable", "The database is not available.")


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    reference = secrets.token_hex(6)
    log.error(
        "unexpected error %s on %s %s", reference, request.method, request.url.path, exc_info=exc
    )
    return error_response(
        500,
        "internal",
        f"An internal error occurred (reference {reference}); it has been logged. Please "
        "report it with the reference.",
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that give every error the shape of :class:`ErrorBody`."""
    app.add_exception_handler(ZhuoyueError, _zhuoyue_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(sa_exc.IntegrityError, _integrity_error)
    app.add_exception_handler(sa_exc.DataError, _database_data_error)
    app.add_exception_handler(sa_exc.OperationalError, _database_unavailable)
    app.add_exception_handler(Exception, _unexpected)


class TooLargeAsJson:
    """ASGI wrapper giving the 413 of the request body limit (sent by Starlette's middleware,
    outside the exception handlers) the one error body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        replaced = False

        async def send_json_413(message: Message) -> None:
            nonlocal replaced
            if replaced:
                return  # the plain-text body of the replaced response
            if message["type"] == "http.response.start" and message["status"] == 413:
                headers = dict(message.get("headers", []))
                if not headers.get(b"content-type", b"").startswith(b"application/json"):
                    replaced = True
                    body = json.dumps(
                        {
                            "error": {
                                "code": "too_large",
                                "message": "The request body is too large. Split the data, or "
                                "import files with 'zhuoyue import'.",
                                "problems": [],
                            }
                        }
                    ).encode()
                    await send(
                        {
                            "type": "http.response.start",
                            "status": 413,
                            "headers": [
                                (b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                            ],
                        }
                    )
                    await send({"type": "http.response.body", "body": body})
                    return
            await send(message)

        await self.app(scope, receive, send_json_413)
