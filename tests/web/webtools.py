"""Helpers of the browser tests: the demo logins and organizations, logging in.

Import them as ``from webtools import login, PLANT_A`` (the test folders are on ``sys.path``;
``conftest`` modules must not be imported by name: several test folders have one).
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["PASSWORDS", "PLANT_A", "PLANT_A_CODE", "PLANT_B", "Api", "login"]

#: the demo logins: username → password
PASSWORDS = {
    "admin": "zhuoyue-admin",
    "demo": "zhuoyue-demo",
    "engineer": "zhuoyue-engineer",
    "supplier": "zhuoyue-supplier",
    "assessor": "zhuoyue-assessor",
}
#: the demo organizations' names
PLANT_A = "苏州精工汽车零部件有限公司"
PLANT_B = "宁波恒力机械配件有限公司"


def login(page: Any, username: str, *, org: str | None = None) -> None:
    """Log in as a demo user (and switch to the organization named ``org``)."""
    page.goto("/login")
    page.locator("input").first.fill(username)
    page.locator("input[type=password]").fill(PASSWORDS[username])
    page.get_by_role("button", name=re.compile("^(登录|Log in)$")).click()
    page.wait_for_url(re.compile(r"/$"))
    page.locator("[data-testid=logout]").wait_for()
    if org is not None:
        switch = page.locator("[data-testid=org-switch]")
        if switch.count() and org not in switch.inner_text():
            switch.click()
            with page.expect_navigation():  # the page reloads in the other organization
                page.get_by_role("option", name=org).click()
            page.wait_for_load_state()
            page.locator("[data-testid=org-switch]", has_text=org).wait_for()
            page.locator("[data-testid=logout]").wait_for()


#: plant A's organization code
PLANT_A_CODE = "jinggong-auto"


class Api:
    """The REST API of the test server, logged in as one user of plant A (session cookie)."""

    def __init__(self, browser: Any, base: str, username: str) -> None:
        self.context = browser.new_context(base_url=base)
        r = self.context.request.post(
            "/api/v1/auth/login",
            data={"username": username, "password": PASSWORDS[username], "org": PLANT_A_CODE},
            headers={"X-Requested-With": "test"},
        )
        assert r.ok, r.text()

    def get(self, path: str, **params: Any) -> Any:
        r = self.context.request.get(f"/api/v1{path}", params=params or None)
        assert r.ok, f"{path}: {r.status} {r.text()}"
        return r.json()
