"""The admin page in a real browser: an admin adds a user (a too-short password is refused next
to the field), changes a role, removes the member, creates an API token whose secret is shown
once and works, revokes it, and edits the organization (credit code checked next to the field);
an engineer sees only their own tokens; a supplier sees no users."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from webtools import PASSWORDS, PLANT_A, login

pytestmark = pytest.mark.slow

PLANT_A_CODE = "jinggong-auto"
FETCH = {"X-Requested-With": "fetch"}


def api_login(page: Any, username: str) -> None:
    """Log the browser context in to the API too (its session cookie), in plant A."""
    r = page.request.post(
        "/api/v1/auth/login",
        data={"username": username, "password": PASSWORDS[username], "org": PLANT_A_CODE},
        headers=FETCH,
    )
    assert r.ok, r.text()


def api_members(page: Any) -> dict[str, str]:
    r = page.request.get("/api/v1/users?limit=1000")
    assert r.ok, r.text()
    return {m["user"]["username"]: m["role"] for m in r.json()["items"]}


def field(page: Any, testid: str) -> Any:
    """The Quasar field around the input ``testid`` (where its error message shows)."""
    return page.locator(".q-field", has=page.locator(f"input[data-testid={testid}]"))


def shown_members(page: Any) -> list[str]:
    ids = page.locator("[data-testid^=member-]").evaluate_all(
        "els => els.map(e => e.dataset.testid)"
    )
    return sorted(i.removeprefix("member-") for i in ids)


def test_admin_users_tokens_and_organization(page: Any, screenshots: Path) -> None:
    login(page, "admin", org=PLANT_A)
    page.locator("[data-testid=nav-admin]").click()
    page.wait_for_url(re.compile(r"/admin$"))
    for tab in ("users", "tokens", "org"):
        page.locator(f"[data-testid=tab-{tab}]").wait_for()
    page.locator("[data-testid=member-engineer]").wait_for()
    api_login(page, "admin")
    members = api_members(page)
    assert shown_members(page) == sorted(members)
    assert "质量工程师" in page.locator("[data-testid=role-engineer]").inner_text()
    page.screenshot(path=str(screenshots / "admin-users.png"), full_page=True)

    # a password that is too short: the message is next to the field, nobody is added
    page.locator("[data-testid=new-username]").fill("li.na")
    page.locator("[data-testid=new-display-name]").fill("李娜")
    page.locator("[data-testid=new-password]").fill("short")
    page.locator("[data-testid=add-user-submit]").click()
    field(page, "new-password").get_by_text("密码至少 8 个字符").wait_for()
    page.screenshot(path=str(screenshots / "admin-password-error.png"), full_page=True)
    assert "li.na" not in api_members(page)
    # a taken username: the service's message next to the username
    page.locator("[data-testid=new-username]").fill("engineer")
    page.locator("[data-testid=new-password]").fill("a long enough phrase")
    page.locator("[data-testid=add-user-submit]").click()
    field(page, "new-username").get_by_text("is taken").wait_for()
    # a valid one
    page.locator("[data-testid=new-username]").fill("li.na")
    page.locator("[data-testid=add-user-submit]").click()
    page.locator("[data-testid=member-li\\.na]").wait_for()
    assert api_members(page)["li.na"] == "quality_engineer"
    assert "李娜" in page.locator("[data-testid=member-li\\.na]").inner_text()

    # change the new member's role
    page.locator("[data-testid=role-li\\.na]").click()
    page.get_by_role("option", name="只读").click()
    page.get_by_text("li.na 的角色已改为 只读").wait_for()
    assert api_members(page)["li.na"] == "viewer"
    page.screenshot(path=str(screenshots / "admin-role-changed.png"), full_page=True)
    # remove them
    page.locator("[data-testid=remove-li\\.na]").click()
    page.locator("[data-testid=remove-confirm]").click()
    page.locator("[data-testid=member-li\\.na]").wait_for(state="detached")
    assert "li.na" not in api_members(page)

    # an API token: the secret once, it works, then revoked it does not
    page.locator("[data-testid=tab-tokens]").click()
    page.locator("[data-testid=token-name]").fill("cmm-line-3")
    page.locator("[data-testid=create-token-submit]").click()
    dialog = page.locator("[data-testid=token-dialog]")
    dialog.wait_for()
    secret = page.locator("[data-testid=token-secret]").input_value()
    assert secret.startswith("zy_") and len(secret) > 40
    assert "只显示这一次" in dialog.inner_text()
    page.screenshot(path=str(screenshots / "admin-token-secret.png"), full_page=True)
    bearer = {"Authorization": f"Bearer {secret}"}
    me = page.request.get("/api/v1/auth/me", headers=bearer)
    assert me.ok and me.json()["user"]["username"] == "admin"
    page.locator("[data-testid=token-dialog-close]").click()
    dialog.wait_for(state="detached")
    assert secret not in page.content()  # shown once: only the prefix stays
    row = page.locator("[data-testid^=token-row-]", has_text="cmm-line-3").first
    assert secret[:8] in row.inner_text() and "有效" in row.inner_text()
    page.screenshot(path=str(screenshots / "admin-tokens.png"), full_page=True)
    row.get_by_role("button", name="吊销").click()
    page.get_by_text("已吊销令牌 cmm-line-3").wait_for()
    row = page.locator("[data-testid^=token-row-]", has_text="cmm-line-3").first
    row.get_by_text("已吊销").wait_for()
    assert page.request.get("/api/v1/auth/me", headers=bearer).status == 401

    # the organization: a mistyped credit code is refused next to the field
    page.locator("[data-testid=tab-org]").click()
    credit = page.locator("[data-testid=org-credit-code]")
    stored = credit.input_value()
    assert len(stored) == 18
    wrong = stored[:17] + ("0" if stored[17] != "0" else "1")
    credit.fill(wrong)
    field(page, "org-credit-code").get_by_text("not a valid 统一社会信用代码").wait_for()
    page.screenshot(path=str(screenshots / "admin-org-error.png"), full_page=True)
    page.locator("[data-testid=org-save]").click()
    credit.fill(stored)
    page.locator("[data-testid=org-region-code]").fill("320506")
    page.locator("[data-testid=org-save]").click()
    page.get_by_text("组织信息已保存").wait_for()
    orgs = {o["code"]: o for o in page.request.get("/api/v1/orgs").json()}
    assert (orgs[PLANT_A_CODE]["region_code"], orgs[PLANT_A_CODE]["credit_code"]) == (
        "320506",
        stored,
    )
    page.screenshot(path=str(screenshots / "admin-org.png"), full_page=True)


def test_engineer_sees_only_their_own_tokens(page: Any, screenshots: Path) -> None:
    api_login(page, "admin")
    r = page.request.post(
        "/api/v1/tokens", data={"name": "admin-only", "scopes": ["read"]}, headers=FETCH
    )
    assert r.status == 201, r.text()
    login(page, "engineer")
    page.goto("/admin")
    page.locator("[data-testid=tab-tokens]").wait_for()
    assert not page.locator("[data-testid=tab-users]").count()
    assert not page.locator("[data-testid=tab-org]").count()
    page.locator("[data-testid=no-tokens]").wait_for()
    page.locator("[data-testid=token-name]").fill("spc-export")
    page.locator("[data-testid=create-token-submit]").click()
    page.locator("[data-testid=token-dialog-close]").click()
    page.locator("[data-testid^=token-row-]", has_text="spc-export").first.wait_for()
    text = page.locator("[data-testid=adm-tokens]").inner_text()
    assert "admin-only" not in text and "API 令牌（1）" in text
    api_login(page, "engineer")
    listed = page.request.get("/api/v1/tokens").json()
    assert [t["name"] for t in listed["items"]] == ["spc-export"]
    page.screenshot(path=str(screenshots / "admin-engineer.png"), full_page=True)
    page.set_viewport_size({"width": 768, "height": 1024})  # a tablet
    page.wait_for_timeout(300)
    assert page.evaluate("document.documentElement.scrollWidth") <= 768 + 1
    page.screenshot(path=str(screenshots / "admin-engineer-tablet.png"), full_page=True)


def test_supplier_cannot_see_users(page: Any, screenshots: Path) -> None:
    login(page, "supplier")
    page.goto("/admin")
    page.locator("[data-testid=tab-tokens]").wait_for()
    page.locator("[data-testid=create-token]").wait_for()
    assert not page.locator("[data-testid=tab-users]").count()
    assert not page.locator("[data-testid^=member-]").count()
    assert "用户与角色" not in page.locator("body").inner_text()
    page.screenshot(path=str(screenshots / "admin-supplier.png"), full_page=True)
    page.locator("[data-testid=lang-switch]").click()
    page.locator("[data-testid=tab-tokens]", has_text="API tokens").wait_for()
    assert "Users & roles" not in page.locator("body").inner_text()
