"""The 管理 page: users and roles, API tokens, the organization.

Each tab shows only when the user may use it, as the API decides (routers ``users``, ``tokens``,
``orgs``): *users & roles* needs ``manage_users`` (list members, add a user, change a role,
remove a member); *API tokens* needs ``manage_tokens`` (every token of the organization) or
``own_tokens`` (one's own: create, list, revoke); *organization* needs ``manage_org`` (name,
统一社会信用代码 checked by GB 32100, industry and region codes). Every change goes through
:mod:`zhuoyue.services.accounts`, which checks the permission again and writes the audit log. A
new token's secret is shown once, in a dialog with a copy button; only its prefix stays.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from fastapi.responses import RedirectResponse
from nicegui import ui
from sqlalchemy.orm import Session, sessionmaker

from zhuoyue.errors import DataError, ZhuoyueError
from zhuoyue.services import accounts
from zhuoyue.services.accounts import (
    PASSWORD_MAX,
    PASSWORD_MIN,
    ROLE_ACTIONS,
    ROLES,
    SCOPE_ACTIONS,
    SCOPES,
    TOKEN_MAX_DAYS,
    Principal,
)
from zhuoyue.store.models import ApiToken, Membership, Organization
from zhuoyue.store.validation import (
    validate_credit_code,
    validate_industry_code,
    validate_region_code,
)
from zhuoyue.web.i18n import Lang, add_texts, text
from zhuoyue.web.layout import PageContext, busy, content, empty_state, notify_error, open_page

__all__ = [
    "FIELD_OF_CODE",
    "code_error",
    "error_field",
    "org_changes",
    "parse_expiry",
    "password_error",
    "register",
    "role_label",
    "token_status",
    "useful_scopes",
]

add_texts(
    {
        "adm_title": ("管理", "Administration"),
        "adm_tab_users": ("用户与角色", "Users & roles"),
        "adm_tab_tokens": ("API 令牌", "API tokens"),
        "adm_tab_org": ("组织信息", "Organization"),
        "adm_nothing": (
            "您在本组织的角色没有可管理的内容。",
            "Your role in this organization has nothing to manage here.",
        ),
        "adm_members": ("成员（{n}）", "Members ({n})"),
        "adm_username": ("用户名", "Username"),
        "adm_display_name": ("姓名", "Display name"),
        "adm_email": ("邮箱", "Email"),
        "adm_role": ("角色", "Role"),
        "adm_password": ("初始密码", "Initial password"),
        "adm_add_user": ("添加用户", "Add a user"),
        "adm_added": ("已添加用户 {name}", "User {name} added"),
        "adm_remove": ("移除", "Remove"),
        "adm_remove_q": (
            "从本组织移除 {name}？其在本组织的 API 令牌将被吊销。",
            "Remove {name} from this organization? Their API tokens here are revoked.",
        ),
        "adm_removed": ("已移除 {name}", "{name} removed"),
        "adm_role_changed": ("{name} 的角色已改为 {role}", "{name} is now {role}"),
        "adm_cancel": ("取消", "Cancel"),
        "adm_you": ("（您）", "(you)"),
        "adm_need_username": ("请输入用户名", "Enter a username"),
        "adm_pw_short": (
            "密码至少 {min} 个字符（可用几个词组成的短语）",
            "A password has at least {min} characters (a phrase of several words works)",
        ),
        "adm_pw_long": ("密码最多 {max} 个字符", "A password has at most {max} characters"),
        "adm_role_admin": ("管理员", "admin"),
        "adm_role_quality_manager": ("质量经理", "quality manager"),
        "adm_role_quality_engineer": ("质量工程师", "quality engineer"),
        "adm_role_viewer": ("只读", "viewer"),
        "adm_role_supplier": ("供应商", "supplier"),
        "adm_role_assessor": ("评价人员", "assessor"),
        "adm_tokens": ("API 令牌（{n}）", "API tokens ({n})"),
        "adm_tokens_own": (
            "您在本组织的令牌（供机器和集成调用 /api/v1）。",
            "Your tokens in this organization (for machines and integrations calling /api/v1).",
        ),
        "adm_tokens_all": (
            "本组织的全部令牌（管理员可吊销任何令牌）。",
            "Every token of this organization (an admin may revoke any).",
        ),
        "adm_no_tokens": (
            "还没有令牌：在下方创建一个，供测量设备或系统集成使用。",
            "No token yet: create one below for a gauge or an integration.",
        ),
        "adm_token_name": ("令牌名称", "Token name"),
        "adm_token_name_hint": ("例如 cmm-line-3", "e.g. cmm-line-3"),
        "adm_need_token_name": (
            "请输入令牌名称（1–100 个字符）",
            "Enter a name (1 to 100 characters)",
        ),
        "adm_scopes": ("权限范围", "Scopes"),
        "adm_need_scope": ("至少选择一个权限范围", "Choose at least one scope"),
        "adm_expires_days": ("有效天数", "Valid for (days)"),
        "adm_never": ("永不过期", "Never expires"),
        "adm_bad_days": (
            "有效天数为 1 到 {max} 的整数",
            "Give a whole number of days from 1 to {max}",
        ),
        "adm_create_token": ("创建令牌", "Create the token"),
        "adm_secret_title": ("令牌已创建：{name}", "Token created: {name}"),
        "adm_secret_once": (
            "请立即复制并妥善保存：此令牌只显示这一次，之后只能看到前缀。",
            "Copy it now and keep it safe: it is shown this once; afterwards only its prefix.",
        ),
        "adm_copy": ("复制", "Copy"),
        "adm_copied": ("已复制到剪贴板", "Copied to the clipboard"),
        "adm_close": ("我已保存，关闭", "I have saved it, close"),
        "adm_revoke": ("吊销", "Revoke"),
        "adm_revoked_ok": ("已吊销令牌 {name}", "Token {name} revoked"),
        "adm_prefix": ("前缀", "Prefix"),
        "adm_owner": ("所有者", "Owner"),
        "adm_created": ("创建", "Created"),
        "adm_expires": ("到期", "Expires"),
        "adm_last_used": ("最近使用", "Last used"),
        "adm_status": ("状态", "Status"),
        "adm_status_active": ("有效", "active"),
        "adm_status_revoked": ("已吊销", "revoked"),
        "adm_status_expired": ("已过期", "expired"),
        "adm_never_used": ("从未", "never"),
        "adm_org_code": ("组织代码", "Organization code"),
        "adm_org_name": ("组织名称", "Name"),
        "adm_credit_code": ("统一社会信用代码", "Unified social credit code"),
        "adm_industry_code": ("行业代码（GB/T 4754）", "Industry code (GB/T 4754)"),
        "adm_region_code": ("地区代码（GB/T 2260）", "Region code (GB/T 2260)"),
        "adm_need_name": ("请输入组织名称", "Enter the organization's name"),
        "adm_save": ("保存", "Save"),
        "adm_saved": ("组织信息已保存", "Organization saved"),
        "adm_unchanged": ("没有修改", "Nothing changed"),
    }
)

#: the form field of an account service error, by the error's code
FIELD_OF_CODE: Mapping[str, str] = {
    "username": "username",
    "username_taken": "username",
    "password": "password",
    "role": "role",
    "bad_text": "display_name",
    "too_long": "display_name",
    "name": "name",
    "scope": "scopes",
    "credit_code": "credit_code",
    "credit_code_taken": "credit_code",
    "industry_code": "industry_code",
    "region_code": "region_code",
    "org_code": "code",
    "code_taken": "code",
}


# ------------------------------------------------------------------------------ pure parts
def role_label(role: str, lang: Lang) -> str:
    """A role in the page's language."""
    return text(f"adm_role_{role}", lang) if role in ROLES else role


def password_error(password: str, lang: Lang) -> str | None:
    """The message next to the password field, or None when the service will accept it."""
    if len(password) < PASSWORD_MIN:
        return text("adm_pw_short", lang).format(min=PASSWORD_MIN)
    if len(password) > PASSWORD_MAX:
        return text("adm_pw_long", lang).format(max=PASSWORD_MAX)
    return None


def error_field(exc: BaseException) -> str | None:
    """The form field a service error is about (shown next to it), else None (a toast)."""
    if isinstance(exc, ZhuoyueError):
        return FIELD_OF_CODE.get(getattr(exc, "code", ""))
    return None


def useful_scopes(role: str) -> list[str]:
    """The token scopes that grant something to ``role`` (the service refuses the others)."""
    actions = ROLE_ACTIONS.get(role, frozenset())
    return [s for s in SCOPES if SCOPE_ACTIONS[s] & actions]


def parse_expiry(days: Any, never: bool) -> int | None:
    """The ``expires_in_days`` of a new token: None for never, else a whole number in
    [1, TOKEN_MAX_DAYS]; :class:`ValueError` otherwise."""
    if never:
        return None
    if days is None or isinstance(days, bool) or str(days).strip() == "":
        raise ValueError("no number of days")
    try:
        number = float(days)
    except (TypeError, ValueError):
        raise ValueError(f"not a number of days: {days!r}") from None
    if not number.is_integer() or not 1 <= number <= TOKEN_MAX_DAYS:
        raise ValueError(f"days out of range: {days!r}")
    return int(number)


def token_status(
    revoked_at: dt.datetime | None, expires_at: dt.datetime | None, now: dt.datetime
) -> str:
    """``revoked``, ``expired`` or ``active`` (times in UTC, naive or aware alike)."""
    if revoked_at is not None:
        return "revoked"

    def naive(t: dt.datetime) -> dt.datetime:
        return t.astimezone(dt.UTC).replace(tzinfo=None) if t.tzinfo else t

    if expires_at is not None and naive(expires_at) <= naive(now):
        return "expired"
    return "active"


_VALIDATORS: dict[str, Callable[[str], str]] = {
    "credit_code": validate_credit_code,
    "industry_code": validate_industry_code,
    "region_code": validate_region_code,
}


def code_error(field: str, value: str) -> str | None:
    """The message next to an identifier field (credit code GB 32100, industry code, region
    code), or None when it is blank or valid."""
    if not value.strip():
        return None
    try:
        _VALIDATORS[field](value)
    except DataError as exc:
        return str(exc)
    return None


def org_changes(stored: Mapping[str, str | None], form: Mapping[str, str]) -> dict[str, Any]:
    """The fields of the organization form that differ from the stored ones (blank → None)."""
    out: dict[str, Any] = {}
    for key, value in form.items():
        new: str | None = value.strip() or None
        if new != (stored.get(key) or None):
            out[key] = new
    return out


# ------------------------------------------------------------------------------ service calls
def _member_dict(m: Membership) -> dict[str, Any]:
    return {
        "id": m.id,
        "user_id": m.user_id,
        "role": m.role,
        "username": m.user.username,
        "display_name": m.user.display_name or "",
        "email": m.user.email or "",
    }


def _members(s: Session, p: Principal) -> list[dict[str, Any]]:
    return [_member_dict(m) for m in accounts.list_members(s, p, limit=1000).items]


def _add_user(s: Session, p: Principal, **fields: Any) -> dict[str, Any]:
    return _member_dict(accounts.add_user(s, p, **fields))


def _set_role(s: Session, p: Principal, membership_id: int, role: str) -> None:
    accounts.update_membership(s, p, membership_id, role=role)


def _remove(s: Session, p: Principal, membership_id: int) -> None:
    accounts.remove_membership(s, p, membership_id)


def _token_dict(t: ApiToken) -> dict[str, Any]:
    return {
        "id": t.id,
        "name": t.name,
        "prefix": t.prefix,
        "scopes": t.scopes.split(),
        "user_id": t.user_id,
        "created_at": t.created_at,
        "expires_at": t.expires_at,
        "last_used_at": t.last_used_at,
        "revoked_at": t.revoked_at,
    }


def _tokens(s: Session, p: Principal) -> tuple[list[dict[str, Any]], dict[int, str]]:
    """The tokens the principal may see, and the usernames of their owners (admins only)."""
    tokens = [_token_dict(t) for t in accounts.list_tokens(s, p, limit=1000).items]
    owners = {p.user_id: p.username}
    if p.can("manage_users"):
        owners |= {m["user_id"]: m["username"] for m in _members(s, p)}
    return tokens, owners


def _create_token(
    s: Session, p: Principal, name: str, scopes: list[str], days: int | None
) -> tuple[str, dict[str, Any]]:
    plain, token = accounts.create_token(s, p, name=name, scopes=scopes, expires_in_days=days)
    return plain, _token_dict(token)


def _revoke(s: Session, p: Principal, token_id: int) -> None:
    accounts.revoke_token(s, p, token_id)


def _org_dict(o: Organization) -> dict[str, Any]:
    return {
        "id": o.id,
        "code": o.code,
        "name": o.name,
        "credit_code": o.credit_code,
        "industry_code": o.industry_code,
        "region_code": o.region_code,
    }


def _org(s: Session, p: Principal) -> dict[str, Any]:
    return _org_dict(accounts.get_organization(s, p, p.org_id))


def _update_org(s: Session, p: Principal, changes: dict[str, Any]) -> dict[str, Any]:
    return _org_dict(accounts.update_organization(s, p, p.org_id, changes))


# ------------------------------------------------------------------------------ the page
def _when(t: dt.datetime | None, *, blank: str = "—") -> str:
    return blank if t is None else f"{t:%Y-%m-%d %H:%M} UTC"


def _show_field_error(exc: BaseException, fields: Mapping[str, Any], lang: Lang) -> None:
    """Put a service error next to its field, or in a toast."""
    name = error_field(exc)
    if name is not None and name in fields:
        fields[name].error = str(exc)
    else:
        notify_error(exc, lang)


class _Users:
    """The users & roles tab."""

    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx
        self.box = ui.column().classes("w-full gap-2").props("data-testid=adm-members")
        self.form()

    async def load(self) -> None:
        try:
            members = await self.ctx.call(_members)
        except Exception as exc:
            self.box.clear()
            with self.box:
                notify_error(exc, self.ctx.lang)
            return
        self.box.clear()
        with self.box:
            self.render(members)

    def render(self, members: list[dict[str, Any]]) -> None:
        t, lang = self.ctx.t, self.ctx.lang
        ui.label(t("adm_members").format(n=len(members))).classes("text-lg")
        roles = {r: role_label(r, lang) for r in ROLES}
        for m in members:
            with (
                ui.row()
                .classes("w-full items-center gap-4 flex-wrap border-b py-1")
                .props(f"data-testid=member-{m['username']}")
            ):
                with ui.column().classes("gap-0 min-w-[12rem] flex-1"):
                    you = f" {t('adm_you')}" if m["user_id"] == self.ctx.principal.user_id else ""
                    ui.label(m["username"] + you).classes("font-medium")
                    ui.label(" · ".join(x for x in (m["display_name"], m["email"]) if x)).classes(
                        "text-sm text-gray-600"
                    )
                select = ui.select(roles, value=m["role"], label=t("adm_role")).classes("w-48")
                select.props(f"dense outlined data-testid=role-{m['username']}")
                select.on_value_change(lambda e, m=m, s=select: self.set_role(m, e.value, s))
                ui.button(
                    t("adm_remove"), icon="person_remove", on_click=lambda m=m: self.confirm(m)
                ).props(f"flat dense color=negative no-caps data-testid=remove-{m['username']}")

    async def set_role(self, member: dict[str, Any], role: str, select: ui.select) -> None:
        if role == member["role"]:
            return
        try:
            await self.ctx.call(_set_role, member["id"], role)
        except Exception as exc:
            notify_error(exc, self.ctx.lang)
            select.set_value(member["role"])  # back to the stored role
            return
        member["role"] = role
        ui.notify(
            self.ctx.t("adm_role_changed").format(
                name=member["username"], role=role_label(role, self.ctx.lang)
            ),
            type="positive",
        )

    def confirm(self, member: dict[str, Any]) -> None:
        t = self.ctx.t
        with ui.dialog() as dialog, ui.card().props("data-testid=remove-dialog"):
            ui.label(t("adm_remove_q").format(name=member["username"]))
            with ui.row().classes("w-full justify-end"):
                ui.button(t("adm_cancel"), on_click=dialog.close).props("flat no-caps")
                ok = ui.button(t("adm_remove")).props(
                    "color=negative no-caps data-testid=remove-confirm"
                )

                async def remove() -> None:
                    async with busy(ok):
                        try:
                            await self.ctx.call(_remove, member["id"])
                        except Exception as exc:
                            notify_error(exc, self.ctx.lang)
                            return
                    dialog.close()
                    ui.notify(t("adm_removed").format(name=member["username"]), type="positive")
                    await self.load()

                ok.on_click(remove)
        dialog.open()

    def form(self) -> None:
        t, lang = self.ctx.t, self.ctx.lang
        with ui.card().classes("w-full").props("data-testid=add-user"):
            ui.label(t("adm_add_user")).classes("text-lg")
            with ui.row().classes("w-full gap-4 flex-wrap items-start"):
                username = ui.input(t("adm_username")).props(
                    "outlined dense data-testid=new-username autocomplete=off"
                )
                password = ui.input(
                    t("adm_password"), password=True, password_toggle_button=True
                ).props("outlined dense data-testid=new-password autocomplete=new-password")
                display = ui.input(t("adm_display_name")).props(
                    "outlined dense data-testid=new-display-name"
                )
                email = ui.input(t("adm_email")).props("outlined dense data-testid=new-email")
                role = (
                    ui.select(
                        {r: role_label(r, lang) for r in ROLES},
                        value="quality_engineer",
                        label=t("adm_role"),
                    )
                    .props("outlined dense data-testid=new-role")
                    .classes("w-48")
                )
            fields: dict[str, Any] = {
                "username": username,
                "password": password,
                "display_name": display,
                "email": email,
                "role": role,
            }
            # checked as the user types (NiceGUI's validation shows the message under the field)
            password.validation = lambda v: password_error(str(v), lang) if v else None
            button = ui.button(t("adm_add_user"), icon="person_add").props(
                "color=primary no-caps data-testid=add-user-submit"
            )

            async def submit() -> None:
                for f in fields.values():
                    f.error = None
                name = str(username.value or "").strip()
                username.error = None if name else t("adm_need_username")
                password.error = password_error(str(password.value or ""), lang)
                if username.error or password.error:
                    return
                async with busy(button):
                    try:
                        member = await self.ctx.call(
                            _add_user,
                            username=name,
                            password=str(password.value),
                            role=str(role.value),
                            display_name=str(display.value or "") or None,
                            email=str(email.value or "") or None,
                        )
                    except Exception as exc:
                        _show_field_error(exc, fields, lang)
                        return
                ui.notify(t("adm_added").format(name=member["username"]), type="positive")
                for f in (username, password, display, email):
                    f.set_value("")
                    f.error = None
                await self.load()

            button.on_click(submit)


class _Tokens:
    """The API tokens tab: one's own, or every token of the organization for an admin."""

    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx
        self.box = ui.column().classes("w-full gap-2").props("data-testid=adm-tokens")
        self.form()

    async def load(self) -> None:
        try:
            tokens, owners = await self.ctx.call(_tokens)
        except Exception as exc:
            notify_error(exc, self.ctx.lang)
            return
        self.box.clear()
        with self.box:
            self.render(tokens, owners)

    def render(self, tokens: list[dict[str, Any]], owners: dict[int, str]) -> None:
        t = self.ctx.t
        every = self.ctx.can("manage_tokens")
        ui.label(t("adm_tokens").format(n=len(tokens))).classes("text-lg")
        ui.label(t("adm_tokens_all" if every else "adm_tokens_own")).classes("text-gray-600")
        if not tokens:
            empty_state(t("adm_no_tokens"), icon="key", testid="no-tokens")
            return
        now = dt.datetime.now(dt.UTC)
        for tok in tokens:
            status = token_status(tok["revoked_at"], tok["expires_at"], now)
            with (
                ui.row()
                .classes("w-full items-center gap-x-6 gap-y-1 flex-wrap border-b py-1")
                .props(f"data-testid=token-row-{tok['id']}")
            ):
                with ui.column().classes("gap-0 min-w-[12rem] flex-1"):
                    ui.label(tok["name"]).classes("font-medium")
                    ui.label(f"{tok['prefix']}… · {' '.join(tok['scopes'])}").classes(
                        "text-sm text-gray-600 font-mono"
                    )
                if every:
                    owner = owners.get(tok["user_id"], str(tok["user_id"]))
                    ui.label(f"{t('adm_owner')}: {owner}").classes("text-sm")
                ui.label(f"{t('adm_created')}: {_when(tok['created_at'])}").classes("text-sm")
                ui.label(f"{t('adm_expires')}: {_when(tok['expires_at'])}").classes("text-sm")
                ui.label(
                    f"{t('adm_last_used')}: {_when(tok['last_used_at'], blank=t('adm_never_used'))}"
                ).classes("text-sm")
                colour = {"active": "positive", "revoked": "grey", "expired": "warning"}[status]
                ui.badge(t(f"adm_status_{status}"), color=colour).props(
                    f"data-testid=token-status-{tok['id']}"
                )
                if status == "active":
                    ui.button(
                        t("adm_revoke"), icon="block", on_click=lambda tok=tok: self.revoke(tok)
                    ).props(f"flat dense color=negative no-caps data-testid=revoke-{tok['id']}")

    async def revoke(self, tok: dict[str, Any]) -> None:
        try:
            await self.ctx.call(_revoke, tok["id"])
        except Exception as exc:
            notify_error(exc, self.ctx.lang)
            return
        ui.notify(self.ctx.t("adm_revoked_ok").format(name=tok["name"]), type="positive")
        await self.load()

    def form(self) -> None:
        t = self.ctx.t
        scopes = useful_scopes(self.ctx.principal.role)
        with ui.card().classes("w-full").props("data-testid=create-token"):
            ui.label(t("adm_create_token")).classes("text-lg")
            with ui.row().classes("w-full gap-4 flex-wrap items-start"):
                name = ui.input(t("adm_token_name"), placeholder=t("adm_token_name_hint")).props(
                    "outlined dense data-testid=token-name"
                )
                chosen = (
                    ui.select(
                        scopes,
                        value=scopes[:1],
                        multiple=True,
                        label=t("adm_scopes"),
                    )
                    .props("outlined dense use-chips data-testid=token-scopes")
                    .classes("min-w-[14rem]")
                )
                days = (
                    ui.number(
                        t("adm_expires_days"),
                        value=90,
                        min=1,
                        max=TOKEN_MAX_DAYS,
                        step=1,
                        format="%d",
                    )
                    .props("outlined dense data-testid=token-days")
                    .classes("w-40")
                )
                never = ui.checkbox(t("adm_never")).props("data-testid=token-never")
                days.bind_enabled_from(never, "value", backward=lambda v: not v)
            fields: dict[str, Any] = {"name": name, "scopes": chosen, "expires_in_days": days}
            button = ui.button(t("adm_create_token"), icon="key").props(
                "color=primary no-caps data-testid=create-token-submit"
            )

            async def submit() -> None:
                for f in fields.values():
                    f.error = None
                label = str(name.value or "").strip()
                name.error = None if 1 <= len(label) <= 100 else t("adm_need_token_name")
                wanted = [str(s) for s in (chosen.value or [])]
                chosen.error = None if wanted else t("adm_need_scope")
                expiry: int | None = None
                try:
                    expiry = parse_expiry(days.value, bool(never.value))
                except ValueError:
                    days.error = t("adm_bad_days").format(max=TOKEN_MAX_DAYS)
                if name.error or chosen.error or days.error:
                    return
                async with busy(button):
                    try:
                        plain, tok = await self.ctx.call(_create_token, label, wanted, expiry)
                    except Exception as exc:
                        _show_field_error(exc, fields, self.ctx.lang)
                        return
                name.set_value("")
                self.show_secret(plain, tok)
                await self.load()

            button.on_click(submit)

    def show_secret(self, plain: str, tok: dict[str, Any]) -> None:
        t = self.ctx.t
        with (
            ui.dialog().props("persistent") as dialog,
            ui.card().classes("w-[36rem] max-w-full").props("data-testid=token-dialog"),
        ):
            ui.label(t("adm_secret_title").format(name=tok["name"])).classes("text-lg")
            ui.label(t("adm_secret_once")).classes("text-amber-800")
            with ui.row().classes("w-full items-center gap-2 no-wrap"):
                ui.input(value=plain).props(
                    "readonly outlined dense data-testid=token-secret"
                ).classes("flex-1 font-mono")

                def copy() -> None:
                    ui.clipboard.write(plain)
                    ui.notify(t("adm_copied"), type="positive")

                ui.button(t("adm_copy"), icon="content_copy", on_click=copy).props(
                    "no-caps data-testid=token-copy"
                )

            def close() -> None:
                dialog.close()
                dialog.delete()  # the secret leaves the page

            with ui.row().classes("w-full justify-end"):
                ui.button(t("adm_close"), on_click=close).props(
                    "color=primary no-caps data-testid=token-dialog-close"
                )
        dialog.open()


class _Org:
    """The organization tab."""

    KEYS = ("name", "credit_code", "industry_code", "region_code")

    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx
        self.box = ui.column().classes("w-full gap-2").props("data-testid=adm-org")

    async def load(self) -> None:
        try:
            org = await self.ctx.call(_org)
        except Exception as exc:
            notify_error(exc, self.ctx.lang)
            return
        self.box.clear()
        with self.box:
            self.render(org)

    def render(self, org: dict[str, Any]) -> None:
        t = self.ctx.t
        stored = dict(org)
        with ui.card().classes("w-full max-w-3xl"):
            ui.input(t("adm_org_code"), value=org["code"]).props(
                "readonly outlined dense data-testid=org-code"
            ).classes("w-full")
            fields: dict[str, Any] = {}
            for key in self.KEYS:
                field = ui.input(
                    t(f"adm_{'org_name' if key == 'name' else key}"), value=org[key] or ""
                )
                field.props(f"outlined dense data-testid=org-{key.replace('_', '-')}").classes(
                    "w-full"
                )
                fields[key] = field
                if key != "name":  # checked as the user types: GB 32100, GB/T 4754, GB/T 2260
                    field.validation = lambda v, k=key: code_error(k, str(v or ""))
            button = ui.button(t("adm_save"), icon="save").props(
                "color=primary no-caps data-testid=org-save"
            )

            async def save() -> None:
                form = {k: str(f.value or "") for k, f in fields.items()}
                fields["name"].error = None if form["name"].strip() else t("adm_need_name")
                for k in self.KEYS[1:]:
                    fields[k].error = code_error(k, form[k])
                if any(f.error for f in fields.values()):
                    return
                changes = org_changes(stored, form)
                if not changes:
                    ui.notify(t("adm_unchanged"))
                    return
                async with busy(button):
                    try:
                        saved = await self.ctx.call(_update_org, changes)
                    except Exception as exc:
                        _show_field_error(exc, fields, self.ctx.lang)
                        return
                stored.update(saved)
                for k, f in fields.items():
                    f.set_value(saved[k] or "")
                ui.notify(t("adm_saved"), type="positive")

            button.on_click(save)


def register(sessions: sessionmaker[Session]) -> None:
    """Add the page to the UI."""

    @ui.page("/admin", title="管理 · zhuoyue")
    async def page() -> RedirectResponse | None:
        ctx = await open_page(sessions, "admin")
        if isinstance(ctx, RedirectResponse):
            return ctx
        tabs_shown = [
            ("users", "group", ctx.can("manage_users")),
            ("tokens", "key", ctx.can("manage_tokens", "own_tokens")),
            ("org", "apartment", ctx.can("manage_org")),
        ]
        shown = [(k, icon) for k, icon, ok in tabs_shown if ok]
        with content():
            ui.label(ctx.t("adm_title")).classes("text-xl")
            if not shown:
                empty_state(ctx.t("adm_nothing"), icon="lock", testid="adm-nothing")
                return None
            with ui.tabs().classes("w-full").props("align=left") as tabs:
                tab = {
                    k: ui.tab(k, label=ctx.t(f"adm_tab_{k}"), icon=icon).props(
                        f"no-caps data-testid=tab-{k}"
                    )
                    for k, icon in shown
                }
            loaders: list[Callable[[], Any]] = []
            with ui.tab_panels(tabs, value=tab[shown[0][0]]).classes("w-full"):
                if "users" in tab:
                    with ui.tab_panel(tab["users"]).classes("gap-4"):
                        loaders.append(_Users(ctx).load)
                if "tokens" in tab:
                    with ui.tab_panel(tab["tokens"]).classes("gap-4"):
                        loaders.append(_Tokens(ctx).load)
                if "org" in tab:
                    with ui.tab_panel(tab["org"]).classes("gap-4"):
                        loaders.append(_Org(ctx).load)
        for load in loaders:
            await load()
        return None
