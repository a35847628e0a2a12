"""The pure parts of the admin page: password and identifier messages next to the fields, which
field a service error belongs to, token scopes per role, expiry, token status, form changes."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zhuoyue.errors import Conflict, DataError, NotFound
from zhuoyue.services.accounts import (
    PASSWORD_MAX,
    PASSWORD_MIN,
    ROLE_ACTIONS,
    ROLES,
    SCOPES,
    TOKEN_MAX_DAYS,
    Principal,
    can,
    hash_password,
)
from zhuoyue.store.validation import credit_code_check_char
from zhuoyue.web.admin import (
    code_error,
    error_field,
    org_changes,
    parse_expiry,
    password_error,
    role_label,
    token_status,
    useful_scopes,
)

VALID_CREDIT = "91320505MA1XK7Q3P" + credit_code_check_char("91320505MA1XK7Q3P")


@settings(max_examples=30, deadline=None)
@given(st.text(max_size=20))
def test_password_error_agrees_with_the_service(password: str) -> None:
    message = password_error(password, "zh")
    if "\x00" in password:
        return  # the service refuses NUL too; the length is what the field checks
    try:
        hash_password(password)
    except DataError:
        assert message is not None
    else:
        assert message is None


def test_password_messages() -> None:
    assert (
        password_error("short", "zh") == f"密码至少 {PASSWORD_MIN} 个字符（可用几个词组成的短语）"
    )
    assert "at least 8" in str(password_error("short", "en"))
    assert password_error("x" * PASSWORD_MIN, "en") is None
    assert "at most" in str(password_error("x" * (PASSWORD_MAX + 1), "en"))


def test_error_field() -> None:
    assert error_field(Conflict("taken", code="username_taken")) == "username"
    assert error_field(DataError("pw", code="password")) == "password"
    assert error_field(DataError("bad", code="credit_code")) == "credit_code"
    assert error_field(Conflict("dup", code="credit_code_taken")) == "credit_code"
    assert error_field(DataError("scope", code="scope")) == "scopes"
    assert error_field(NotFound("gone")) is None  # a toast
    assert error_field(ValueError("bug")) is None


@pytest.mark.parametrize("role", ROLES)
def test_useful_scopes_grant_something_to_the_role(role: str) -> None:
    scopes = useful_scopes(role)
    assert scopes and set(scopes) <= set(SCOPES)
    for scope in SCOPES:
        p = Principal(1, "u", 1, "acme", role, scopes=frozenset({scope}), via="token")
        grants = any(can(p, a) for a in ROLE_ACTIONS[role])
        assert (scope in scopes) == grants, scope


def test_useful_scopes_of_a_viewer_exclude_the_writes() -> None:
    assert useful_scopes("viewer") == ["read", "admin"]
    assert useful_scopes("admin") == list(SCOPES)


def test_parse_expiry() -> None:
    assert parse_expiry(90, False) == 90
    assert parse_expiry(90.0, False) == 90
    assert parse_expiry("30", False) == 30
    assert parse_expiry(None, True) is None
    assert parse_expiry(5, True) is None
    for bad in (None, "", 0, -1, 1.5, TOKEN_MAX_DAYS + 1, True, "x"):
        with pytest.raises(ValueError, match="days"):
            parse_expiry(bad, False)


def test_token_status() -> None:
    now = dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)
    naive_past = dt.datetime(2025, 12, 31)
    assert token_status(None, None, now) == "active"
    assert token_status(None, naive_past, now) == "expired"
    assert token_status(None, now + dt.timedelta(seconds=1), now) == "active"
    assert token_status(naive_past, now + dt.timedelta(days=9), now) == "revoked"
    assert token_status(None, now, now) == "expired"


def test_code_error() -> None:
    assert code_error("credit_code", VALID_CREDIT) is None
    assert code_error("credit_code", "  ") is None  # blank: no code
    wrong = VALID_CREDIT[:17] + ("0" if VALID_CREDIT[17] != "0" else "1")
    assert "check character" in str(code_error("credit_code", wrong))
    assert "18 characters" in str(code_error("credit_code", "123"))
    assert code_error("industry_code", "C3670") is None
    assert "GB/T 4754" in str(code_error("industry_code", "3670"))
    assert code_error("region_code", "320505") is None
    assert "GB/T 2260" in str(code_error("region_code", "32050"))


def test_org_changes() -> None:
    stored = {"name": "A", "credit_code": VALID_CREDIT, "industry_code": None, "region_code": "1"}
    form = {"name": " A ", "credit_code": VALID_CREDIT, "industry_code": "", "region_code": ""}
    assert org_changes(stored, form) == {"region_code": None}
    form = {"name": "B", "credit_code": VALID_CREDIT, "industry_code": "C36", "region_code": "1"}
    assert org_changes(stored, form) == {"name": "B", "industry_code": "C36"}


def test_role_label() -> None:
    assert role_label("quality_engineer", "zh") == "质量工程师"
    assert role_label("viewer", "en") == "viewer"
    assert role_label("unknown", "zh") == "unknown"
