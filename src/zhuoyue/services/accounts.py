"""Accounts: passwords, login sessions, API tokens, memberships, and who may do what.

Who is calling
--------------
Every use case of the platform takes a :class:`Principal`: the user, the organization they work in
(``org_id``: every query of the services filters by it), their role in it, and — for an API token
— the token's scopes. A principal comes from a login session (:func:`resolve_session`, the web
app's cookie) or from an API token (:func:`resolve_token`, ``Authorization: Bearer zy_...``).

Permission matrix
-----------------
:func:`can` is true when the principal's **role** grants the action *and* (for a token) one of
its **scopes** does. A session has every scope.

=========================  =====  ========  ========  ======  ========  ========
action                     admin  quality   quality   viewer  supplier  assessor
                                  manager   engineer
=========================  =====  ========  ========  ======  ========  ========
read                       ✓      ✓         ✓         ✓
read_shared                                                   ✓
read_assessment            ✓      ✓         ✓         ✓
read_shared_assessment                                                  ✓
read_audit                 ✓      ✓
write_measurements         ✓      ✓         ✓
write_shared_measurements                                     ✓
write_data                 ✓      ✓         ✓
write_master               ✓      ✓         ✓
freeze_limits              ✓      ✓         ✓
share                      ✓      ✓
declare_assessment         ✓      ✓
verify_assessment                                                       ✓
manage_users               ✓
manage_org                 ✓
manage_tokens              ✓
own_tokens                 ✓      ✓         ✓         ✓       ✓         ✓
=========================  =====  ========  ========  ======  ========  ========

* ``read``: the organization's master data (products, steps, characteristics) and measurements;
  ``read_shared``: only the characteristics shared with the user (``characteristic_share``) and
  their measurements. ``write_shared_measurements``: measurements of those characteristics.
* ``read_shared_assessment`` / ``verify_assessment``: only assessments shared with the user
  (``assessment_share``). The admin does *not* verify: a verification is a third party's by
  definition (第三方评价); it is the one thing an admin cannot do in its organization.
* ``write_data``: inspections, quality costs, output value, imports; ``write_master``: products,
  steps, characteristics and their specifications; ``share``: share characteristics with
  suppliers (and assessments with assessors).
* ``manage_tokens``: list and revoke every token of the organization; ``own_tokens``: create,
  list and revoke one's own tokens.

Scopes of API tokens (:data:`SCOPES`)
-------------------------------------
====================  ===========================================================================
scope                 actions
====================  ===========================================================================
``read``              read, read_shared, read_assessment, read_shared_assessment, read_audit
``measurements:write``  write_measurements, write_shared_measurements (a machine feeding data)
``write``             every write of data: measurements, data, master data, freeze_limits
``admin``             everything the role allows, including tokens, users and the organization
====================  ===========================================================================

A token is bound to the organization it was created in. A token can create tokens only with the
``admin`` scope, and never with scopes it does not have itself. A scope that grants nothing to the
role (``write`` for a viewer) is refused when the token is created.

Secrets
-------
Passwords are hashed with argon2id (``argon2-cffi``); a login rehashes the password when the
hasher's parameters have changed. A failed login for an unknown user spends the time of a
verification too. Session and API tokens are random (``secrets.token_urlsafe(32)``); only their
SHA-256 is stored. Sessions expire after :data:`SESSION_IDLE` without use (sliding) and at the
latest :data:`SESSION_MAX` after login.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Generic, Literal, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import Session

from zhuoyue.errors import (
    AuthenticationError,
    Conflict,
    DataError,
    NotFound,
    ParameterError,
    PermissionDenied,
)
from zhuoyue.services import audit
from zhuoyue.store.models import (
    ROLES,
    ApiToken,
    Characteristic,
    CharacteristicShare,
    Membership,
    Organization,
    UserAccount,
    UserSession,
    utcnow,
)
from zhuoyue.store.validation import (
    validate_credit_code,
    validate_industry_code,
    validate_org_code,
    validate_region_code,
)

__all__ = [
    "ACTIONS",
    "ROLES",
    "ROLE_ACTIONS",
    "SCOPES",
    "SCOPE_ACTIONS",
    "SESSION_IDLE",
    "SESSION_MAX",
    "TOKEN_PREFIX",
    "AuthenticationError",
    "Conflict",
    "LoginResult",
    "NotFound",
    "Page",
    "PermissionDenied",
    "Principal",
    "add_membership",
    "add_user",
    "authenticate",
    "bad_text",
    "bootstrap",
    "can",
    "change_password",
    "create_organization",
    "create_organization_as",
    "create_session",
    "create_token",
    "create_user",
    "get_organization",
    "hash_password",
    "hash_secret",
    "list_members",
    "list_organizations",
    "list_tokens",
    "login",
    "logout",
    "page_of",
    "password_hasher",
    "purge_expired_sessions",
    "remove_membership",
    "require",
    "resolve_session",
    "resolve_token",
    "revoke_token",
    "set_password_hasher",
    "switch_org",
    "update_membership",
    "update_organization",
]


# ------------------------------------------------------------------------------- pagination
T = TypeVar("T")

#: the largest page any list returns
MAX_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list: ``items``, the ``total`` number of matches, ``limit`` and ``offset``."""

    items: list[T]
    total: int
    limit: int
    offset: int


def check_page(limit: int, offset: int, *, max_limit: int = MAX_LIMIT) -> None:
    """Raise :class:`ParameterError` unless ``1 <= limit <= max_limit`` and ``offset >= 0``."""
    if not 1 <= limit <= max_limit:
        raise ParameterError(f"The 'limit' parameter must be in [1, {max_limit}]. Got {limit}.")
    if not 0 <= offset <= 2**31 - 1:
        raise ParameterError(f"The 'offset' parameter must be in [0, 2147483647]. Got {offset}.")


def page_of(
    session: Session, stmt: Select[T], limit: int, offset: int, *, max_limit: int = MAX_LIMIT
) -> Page[T]:
    """Run ``stmt`` (already ordered) for one page, and count all its rows."""
    check_page(limit, offset, max_limit=max_limit)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    items = list(session.scalars(stmt.limit(limit).offset(offset)))
    return Page(items, int(total or 0), limit, offset)


# ------------------------------------------------------------------------------ permissions
SCOPES: tuple[str, ...] = ("read", "write", "measurements:write", "admin")

ACTIONS: tuple[str, ...] = (
    "read",
    "read_shared",
    "read_assessment",
    "read_shared_assessment",
    "read_audit",
    "write_measurements",
    "write_shared_measurements",
    "write_data",
    "write_master",
    "freeze_limits",
    "share",
    "declare_assessment",
    "verify_assessment",
    "manage_users",
    "manage_org",
    "manage_tokens",
    "own_tokens",
)

_ENGINEER = frozenset(
    {
        "read",
        "read_assessment",
        "write_measurements",
        "write_data",
        "write_master",
        "freeze_limits",
        "own_tokens",
    }
)
_MANAGER = _ENGINEER | {"read_audit", "share", "declare_assessment"}

#: what each role may do in its organization (see the matrix in the module notes)
ROLE_ACTIONS: dict[str, frozenset[str]] = {
    "admin": _MANAGER | {"manage_users", "manage_org", "manage_tokens"},
    "quality_manager": _MANAGER,
    "quality_engineer": _ENGINEER,
    "viewer": frozenset({"read", "read_assessment", "own_tokens"}),
    "supplier": frozenset({"read_shared", "write_shared_measurements", "own_tokens"}),
    "assessor": frozenset({"read_shared_assessment", "verify_assessment", "own_tokens"}),
}

_WRITES = frozenset({"write_measurements", "write_shared_measurements"})
#: what each token scope allows (a session has every scope)
SCOPE_ACTIONS: dict[str, frozenset[str]] = {
    "read": frozenset(
        {"read", "read_shared", "read_assessment", "read_shared_assessment", "read_audit"}
    ),
    "measurements:write": _WRITES,
    "write": _WRITES | {"write_data", "write_master", "freeze_limits"},
    "admin": frozenset(ACTIONS),
}

_ACTION_TEXT = {
    "read": "reading the organization's data",
    "read_shared": "reading shared characteristics",
    "read_assessment": "reading assessments",
    "read_shared_assessment": "reading shared assessments",
    "read_audit": "reading the audit log",
    "write_measurements": "adding measurements",
    "write_shared_measurements": "adding measurements of shared characteristics",
    "write_data": "changing data",
    "write_master": "changing master data (products, steps, characteristics)",
    "freeze_limits": "freezing control limits",
    "share": "sharing with suppliers and assessors",
    "declare_assessment": "declaring an assessment",
    "verify_assessment": "verifying an assessment",
    "manage_users": "managing users and memberships",
    "manage_org": "changing the organization",
    "manage_tokens": "managing the organization's API tokens",
    "own_tokens": "managing your API tokens",
}


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a user working in one organization with one role, by session or token."""

    user_id: int
    username: str
    org_id: int
    org_code: str
    role: str
    scopes: frozenset[str] = field(default_factory=lambda: frozenset(SCOPES))
    token_id: int | None = None
    via: Literal["session", "token"] = "session"

    def can(self, action: str) -> bool:
        """Whether the principal may do ``action`` (see :func:`can`)."""
        return can(self, action)


def can(principal: Principal, action: str) -> bool:
    """True when the principal's role grants ``action`` and one of its scopes allows it."""
    if action not in _ACTION_TEXT:
        raise ParameterError(f"Unknown action {action!r}; the actions are {', '.join(ACTIONS)}.")
    if action not in ROLE_ACTIONS.get(principal.role, frozenset()):
        return False
    return any(action in SCOPE_ACTIONS.get(s, frozenset()) for s in principal.scopes)


def require(principal: Principal, *actions: str) -> str:
    """The first of ``actions`` the principal may do; :class:`PermissionDenied` when none."""
    for action in actions:
        if can(principal, action):
            return action
    what = _ACTION_TEXT[actions[0]]
    if any(a in ROLE_ACTIONS.get(principal.role, frozenset()) for a in actions):
        needed = sorted({s for s in SCOPES for a in actions if a in SCOPE_ACTIONS[s]})
        raise PermissionDenied(
            f"This API token's scopes ({' '.join(sorted(principal.scopes)) or 'none'}) do not "
            f"allow {what}. Use a token with the scope {' or '.join(needed)}.",
            code="scope",
        )
    raise PermissionDenied(
        f"Your role '{principal.role}' in organization '{principal.org_code}' does not allow "
        f"{what}. Ask an administrator of the organization."
    )


# -------------------------------------------------------------------------------- passwords
_hasher = PasswordHasher()
_dummy_hash: tuple[PasswordHasher, str] | None = None

#: shortest and longest password accepted
PASSWORD_MIN = 8
PASSWORD_MAX = 1024


def password_hasher() -> PasswordHasher:
    """The argon2 hasher in use."""
    return _hasher


def set_password_hasher(hasher: PasswordHasher) -> PasswordHasher:
    """Use ``hasher`` from now on (cheaper parameters in tests); returns the previous one.

    Stored hashes made with other parameters still verify and are rehashed at the next login.
    """
    global _hasher
    previous, _hasher = _hasher, hasher
    return previous


def _check_password(password: str) -> None:
    if not isinstance(password, str) or not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise DataError(
            f"A password has {PASSWORD_MIN} to {PASSWORD_MAX} characters. Choose a longer one "
            "(a phrase of several words is easy to remember).",
            code="password",
        )
    if "\x00" in password:
        raise DataError("A password cannot contain the NUL character.", code="password")


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (checked for length first)."""
    _check_password(password)
    return _hasher.hash(password)


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _waste_a_verification(password: str) -> None:
    """Spend the time of a verification, so that unknown users fail as slowly as known ones."""
    global _dummy_hash
    if _dummy_hash is None or _dummy_hash[0] is not _hasher:
        _dummy_hash = (_hasher, _hasher.hash(secrets.token_urlsafe(16)))
    _verify(_dummy_hash[1], password)


def bad_text(value: str) -> bool:
    """True when ``value`` holds a control character or a lone surrogate (not storable text)."""
    return any(unicodedata.category(c) in ("Cc", "Cs") for c in value)


def hash_secret(secret: str) -> str:
    """SHA-256 hex of a session or API token (what the database stores)."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


# ----------------------------------------------------------------------------------- users
_USERNAME_RE = re.compile(r"[a-z0-9][a-z0-9._@-]{1,79}")


def _username(name: str) -> str:
    norm = unicodedata.normalize("NFKC", name).strip().lower() if isinstance(name, str) else ""
    if not _USERNAME_RE.fullmatch(norm):
        raise DataError(
            "A username is 2 to 80 characters: lower-case letters, digits and . _ @ -, starting "
            f"with a letter or digit, e.g. 'li.wei'. Got {name!r}.",
            code="username",
        )
    return norm


def _optional_text(value: str | None, name: str, max_chars: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or bad_text(value):
        raise DataError(f"{name} must be text without control characters.", code="bad_text")
    text = value.strip()
    if len(text) > max_chars:
        raise DataError(f"{name} has at most {max_chars} characters.", code="too_long")
    return text or None


def create_user(
    session: Session,
    username: str,
    password: str | None = None,
    *,
    display_name: str | None = None,
    email: str | None = None,
    locale: str = "zh",
) -> UserAccount:
    """A new user (no membership); ``password=None``: no password login (service identity)."""
    name = _username(username)
    if session.scalar(select(UserAccount.id).where(UserAccount.username == name)) is not None:
        raise Conflict(
            f"The username {name!r} is taken. Choose another one, or add the existing user "
            "to the organization (POST /memberships).",
            code="username_taken",
        )
    if locale not in ("zh", "en"):
        raise ParameterError(f"The 'locale' parameter must be 'zh' or 'en'. Got {locale!r}.")
    user = UserAccount(
        username=name,
        password_hash=None if password is None else hash_password(password),
        display_name=_optional_text(display_name, "display_name", 200),
        email=_optional_text(email, "email", 255),
        locale=locale,
    )
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, username: str, password: str) -> UserAccount:
    """The active user with this username and password, else :class:`AuthenticationError`.

    The hash is upgraded when the hasher's parameters have changed since it was made.
    """
    try:
        name = _username(username)
    except DataError:
        name = None
    user = (
        None
        if name is None
        else session.scalar(select(UserAccount).where(UserAccount.username == name))
    )
    ok = False
    if user is None or user.password_hash is None or not isinstance(password, str):
        _waste_a_verification(password if isinstance(password, str) else "")
    else:
        ok = _verify(user.password_hash, password)
    if user is None or not ok or not user.is_active:
        raise AuthenticationError(
            "Wrong username or password (or the account is disabled).", code="bad_credentials"
        )
    assert user.password_hash is not None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = utcnow()
    return user


def change_password(
    session: Session, principal: Principal, current: str, new: str, *, keep_session: str | None
) -> None:
    """Change the caller's password; every other login session of the user ends."""
    if principal.via != "session":
        raise PermissionDenied("Change a password in a login session, not with an API token.")
    user = session.get(UserAccount, principal.user_id)
    if user is None or user.password_hash is None or not _verify(user.password_hash, current):
        raise AuthenticationError("The current password is wrong.", code="bad_credentials")
    user.password_hash = hash_password(new)
    stmt = delete(UserSession).where(UserSession.user_id == user.id)
    if keep_session is not None:
        stmt = stmt.where(UserSession.token_hash != hash_secret(keep_session))
    session.execute(stmt)
    audit.record(session, principal, "change_password", "user_account", user.id, None, None)


# --------------------------------------------------------------------------- organizations
def _membership(session: Session, user_id: int, org_id: int) -> Membership | None:
    return session.scalar(
        select(Membership).where(Membership.user_id == user_id, Membership.org_id == org_id)
    )


def list_organizations(session: Session, user_id: int) -> list[tuple[Organization, str]]:
    """The organizations the user is a member of, with the user's role, by code."""
    rows = session.execute(
        select(Organization, Membership.role)
        .join(Membership, Membership.org_id == Organization.id)
        .where(Membership.user_id == user_id)
        .order_by(Organization.code)
    ).all()
    return [(org, role) for org, role in rows]


def _org_fields(
    code: str | None,
    name: str | None,
    credit_code: str | None,
    industry_code: str | None,
    region_code: str | None,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if code is not None:
        out["code"] = validate_org_code(code)
    if name is not None:
        text = name.strip() if isinstance(name, str) else ""
        if not text or len(text) > 200 or bad_text(text):
            raise DataError("An organization's name has 1 to 200 characters.", code="name")
        out["name"] = text
    if credit_code is not None:
        out["credit_code"] = validate_credit_code(credit_code) if credit_code.strip() else None
    if industry_code is not None:
        out["industry_code"] = (
            validate_industry_code(industry_code) if industry_code.strip() else None
        )
    if region_code is not None:
        out["region_code"] = validate_region_code(region_code) if region_code.strip() else None
    return out


def _check_org_unique(session: Session, fields: Mapping[str, Any], org_id: int | None) -> None:
    for column in ("code", "credit_code"):
        value = fields.get(column)
        if value is None:
            continue
        stmt = select(Organization.id).where(getattr(Organization, column) == value)
        if org_id is not None:
            stmt = stmt.where(Organization.id != org_id)
        if session.scalar(stmt) is not None:
            raise Conflict(
                f"An organization with {column} {value!r} is registered already.",
                code=f"{column}_taken",
            )


def create_organization(
    session: Session,
    code: str,
    name: str,
    *,
    credit_code: str | None = None,
    industry_code: str | None = None,
    region_code: str | None = None,
) -> Organization:
    """A new organization (no members): for the CLI, the demo and :func:`bootstrap`."""
    fields = _org_fields(code, name, credit_code, industry_code, region_code)
    _check_org_unique(session, fields, None)
    org = Organization(**fields)
    session.add(org)
    session.flush()
    return org


def bootstrap(
    session: Session,
    *,
    org_code: str,
    org_name: str,
    username: str,
    password: str,
    display_name: str | None = None,
    credit_code: str | None = None,
    industry_code: str | None = None,
    region_code: str | None = None,
) -> tuple[Organization, UserAccount]:
    """The first organization and its admin (``zhuoyue`` CLI, demo): an existing user is reused
    (their password is left unchanged)."""
    org = create_organization(
        session,
        org_code,
        org_name,
        credit_code=credit_code,
        industry_code=industry_code,
        region_code=region_code,
    )
    user = session.scalar(select(UserAccount).where(UserAccount.username == _username(username)))
    if user is None:
        user = create_user(session, username, password, display_name=display_name)
    session.add(Membership(user_id=user.id, org_id=org.id, role="admin"))
    session.flush()
    audit.record(
        session,
        None,
        "create",
        "organization",
        org.id,
        None,
        audit.snapshot(org),
        org_id=org.id,
        user_id=user.id,
    )
    return org, user


def create_organization_as(
    session: Session,
    principal: Principal,
    *,
    superusers: Collection[str],
    code: str,
    name: str,
    credit_code: str | None = None,
    industry_code: str | None = None,
    region_code: str | None = None,
) -> Organization:
    """A new organization created by a platform operator (a user named in ``superusers``),
    who becomes its admin."""
    if principal.username not in superusers:
        raise PermissionDenied(
            "Only the platform's operators (ZHUOYUE_SUPERUSERS) create organizations.",
            code="not_superuser",
        )
    if principal.via == "token" and "admin" not in principal.scopes:
        raise PermissionDenied("Creating an organization needs a token with the admin scope.")
    org = create_organization(
        session,
        code,
        name,
        credit_code=credit_code,
        industry_code=industry_code,
        region_code=region_code,
    )
    session.add(Membership(user_id=principal.user_id, org_id=org.id, role="admin"))
    session.flush()
    audit.record(
        session, principal, "create", "organization", org.id, None, audit.snapshot(org),
        org_id=org.id,
    )  # fmt: skip
    return org


def get_organization(session: Session, principal: Principal, org_id: int) -> Organization:
    """An organization the caller is a member of (any other id: :class:`NotFound`)."""
    org = session.get(Organization, org_id) if 0 < org_id <= 2**31 - 1 else None
    if org is None or _membership(session, principal.user_id, org.id) is None:
        raise NotFound(f"There is no organization {org_id} among yours.")
    return org


def update_organization(
    session: Session, principal: Principal, org_id: int, changes: Mapping[str, Any]
) -> Organization:
    """Change the name and identifiers of the caller's current organization (admin)."""
    org = get_organization(session, principal, org_id)
    if org.id != principal.org_id:
        raise PermissionDenied(
            f"You are working in '{principal.org_code}'. Switch to '{org.code}' first "
            "(POST /auth/switch-org).",
            code="other_org",
        )
    require(principal, "manage_org")
    unknown = set(changes) - {"code", "name", "credit_code", "industry_code", "region_code"}
    if unknown:
        raise ParameterError(f"Unknown organization field(s): {', '.join(sorted(unknown))}.")
    fields = _org_fields(
        changes.get("code"),
        changes.get("name"),
        changes.get("credit_code"),
        changes.get("industry_code"),
        changes.get("region_code"),
    )
    for column in ("credit_code", "industry_code", "region_code"):
        if column in changes and changes[column] is None:
            fields[column] = None
    _check_org_unique(session, fields, org.id)
    before = audit.snapshot(org)
    for key, value in fields.items():
        setattr(org, key, value)
    session.flush()
    audit.record(session, principal, "update", "organization", org.id, before, audit.snapshot(org))
    return org


# ---------------------------------------------------------------------------- memberships
def _check_role(role: str) -> str:
    if role not in ROLES:
        raise DataError(
            f"A role is one of {', '.join(ROLES)}. Got {role!r}.",
            code="role",
        )
    return role


def list_members(
    session: Session, principal: Principal, *, limit: int = 100, offset: int = 0
) -> Page[Membership]:
    """Members of the caller's organization (their user loaded), by username."""
    require(principal, "manage_users")
    stmt = (
        select(Membership)
        .join(UserAccount, UserAccount.id == Membership.user_id)
        .where(Membership.org_id == principal.org_id)
        .order_by(UserAccount.username)
    )
    return page_of(session, stmt, limit, offset)


def add_user(
    session: Session,
    principal: Principal,
    *,
    username: str,
    password: str,
    role: str,
    display_name: str | None = None,
    email: str | None = None,
) -> Membership:
    """A new user, member of the caller's organization with ``role`` (admin)."""
    require(principal, "manage_users")
    _check_role(role)
    user = create_user(session, username, password, display_name=display_name, email=email)
    member = Membership(user_id=user.id, org_id=principal.org_id, role=role)
    session.add(member)
    session.flush()
    audit.record(
        session, principal, "create", "user_account", user.id, None,
        {**audit.snapshot(user, exclude=("password_hash",)), "role": role},
    )  # fmt: skip
    return member


def add_membership(
    session: Session, principal: Principal, *, username: str, role: str
) -> Membership:
    """Make an existing user a member of the caller's organization (admin)."""
    require(principal, "manage_users")
    _check_role(role)
    try:
        name = _username(username)
    except DataError:
        name = None
    user = (
        None
        if name is None
        else session.scalar(select(UserAccount).where(UserAccount.username == name))
    )
    if user is None:
        raise NotFound(f"There is no user {username!r}. Create it with POST /users.")
    if _membership(session, user.id, principal.org_id) is not None:
        raise Conflict(
            f"{user.username!r} is a member of '{principal.org_code}' already; change the role "
            "with PATCH /memberships/{id}.",
            code="member_already",
        )
    member = Membership(user_id=user.id, org_id=principal.org_id, role=role)
    session.add(member)
    session.flush()
    audit.record(
        session, principal, "create", "membership", member.id, None, audit.snapshot(member)
    )
    return member


def _get_membership(session: Session, principal: Principal, membership_id: int) -> Membership:
    member = session.get(Membership, membership_id) if 0 < membership_id <= 2**31 - 1 else None
    if member is None or member.org_id != principal.org_id:
        raise NotFound(f"There is no membership {membership_id} in '{principal.org_code}'.")
    return member


def _keep_an_admin(session: Session, member: Membership) -> None:
    admins = session.scalar(
        select(func.count())
        .select_from(Membership)
        .where(Membership.org_id == member.org_id, Membership.role == "admin")
    )
    if member.role == "admin" and int(admins or 0) <= 1:
        raise Conflict(
            "This is the organization's last admin. Make another member admin first.",
            code="last_admin",
        )


def update_membership(
    session: Session, principal: Principal, membership_id: int, *, role: str
) -> Membership:
    """Change a member's role (admin); the last admin stays admin."""
    require(principal, "manage_users")
    _check_role(role)
    member = _get_membership(session, principal, membership_id)
    if role != member.role:
        _keep_an_admin(session, member)
    before = audit.snapshot(member)
    member.role = role
    session.flush()
    audit.record(
        session, principal, "update", "membership", member.id, before, audit.snapshot(member)
    )
    return member


def remove_membership(session: Session, principal: Principal, membership_id: int) -> None:
    """Remove a member (admin): their tokens of the organization are revoked, their shares of
    its characteristics dropped; the last admin stays."""
    require(principal, "manage_users")
    member = _get_membership(session, principal, membership_id)
    _keep_an_admin(session, member)
    now = utcnow()
    for token in session.scalars(
        select(ApiToken).where(
            ApiToken.org_id == member.org_id,
            ApiToken.user_id == member.user_id,
            ApiToken.revoked_at.is_(None),
        )
    ):
        token.revoked_at = now
    shared = select(Characteristic.id).where(Characteristic.org_id == member.org_id)
    session.execute(
        delete(CharacteristicShare).where(
            CharacteristicShare.user_id == member.user_id,
            CharacteristicShare.characteristic_id.in_(shared),
        )
    )
    before = audit.snapshot(member)
    session.delete(member)
    session.flush()
    audit.record(session, principal, "delete", "membership", membership_id, before, None)


# -------------------------------------------------------------------------------- sessions
#: a session ends after this long without a request (sliding expiry)
SESSION_IDLE = timedelta(hours=12)
#: and at the latest this long after the login
SESSION_MAX = timedelta(days=7)
#: last_seen_at / last_used_at are written at most this often (not on every request)
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class LoginResult:
    """A successful login: the session token (for the cookie, shown once) and the principal."""

    token: str
    expires_at: datetime
    principal: Principal
    user: UserAccount


def _pick_org(session: Session, user: UserAccount, org: int | str | None) -> Membership:
    members = list(
        session.scalars(
            select(Membership)
            .join(Organization, Organization.id == Membership.org_id)
            .where(Membership.user_id == user.id)
            .order_by(Organization.code)
        )
    )
    if org is None:
        if not members:
            raise PermissionDenied(
                "Your account is not a member of any organization. Ask an administrator to add "
                "you.",
                code="no_organization",
            )
        return members[0]
    # an int is an id; text is a code, or an id when no code matches
    by_code = [m for m in members if isinstance(org, str) and m.organization.code == org]
    by_id = [m for m in members if str(m.org_id) == str(org).strip()]
    for m in by_code or by_id:
        return m
    raise NotFound(f"There is no organization {org!r} among yours.")


def _principal(member: Membership, user: UserAccount, **kw: Any) -> Principal:
    return Principal(
        user_id=user.id,
        username=user.username,
        org_id=member.org_id,
        org_code=member.organization.code,
        role=member.role,
        **kw,
    )


def create_session(session: Session, user: UserAccount, org_id: int) -> tuple[str, UserSession]:
    """A new login session of ``user`` working in ``org_id``; returns the token (for the cookie)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = UserSession(
        token_hash=hash_secret(token),
        user_id=user.id,
        org_id=org_id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + SESSION_IDLE,
    )
    session.add(row)
    session.flush()
    return token, row


def login(
    session: Session, username: str, password: str, *, org: int | str | None = None
) -> LoginResult:
    """Check the password and open a session in ``org`` (id or code; default: the first by code)."""
    user = authenticate(session, username, password)
    member = _pick_org(session, user, org)
    token, row = create_session(session, user, member.org_id)
    principal = _principal(member, user)
    audit.record(session, principal, "login", "user_account", user.id, None, None)
    return LoginResult(token, row.expires_at, principal, user)


def _session_row(session: Session, token: str) -> UserSession:
    row = session.scalar(select(UserSession).where(UserSession.token_hash == hash_secret(token)))
    now = utcnow()
    if row is None or row.expires_at <= now or row.created_at + SESSION_MAX <= now:
        raise AuthenticationError(
            "Your login session has ended (expired or logged out). Log in again.",
            code="session_expired",
        )
    return row


def resolve_session(session: Session, token: str) -> Principal:
    """The principal of a session token; extends the session (sliding expiry)."""
    row = _session_row(session, token)
    user = session.get(UserAccount, row.user_id)
    if user is None or not user.is_active:
        raise AuthenticationError("The account is disabled. Log in again.", code="disabled")
    member = None if row.org_id is None else _membership(session, user.id, row.org_id)
    if member is None:  # removed from the organization: fall back to another one
        others = list_organizations(session, user.id)
        if not others:
            raise AuthenticationError(
                "Your account is no longer a member of any organization.", code="no_organization"
            )
        member = _membership(session, user.id, others[0][0].id)
        assert member is not None
        row.org_id = member.org_id
    now = utcnow()
    if row.last_seen_at is None or now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        row.expires_at = min(now + SESSION_IDLE, row.created_at + SESSION_MAX)
    return _principal(member, user)


def logout(session: Session, token: str) -> None:
    """End the session of ``token`` (nothing happens when it is unknown)."""
    session.execute(delete(UserSession).where(UserSession.token_hash == hash_secret(token)))


def switch_org(session: Session, principal: Principal, token: str, org: int | str) -> Principal:
    """Work in another organization of the user from now on (login sessions only)."""
    if principal.via != "session":
        raise PermissionDenied(
            "An API token is bound to the organization it was created in; create a token in "
            "the other organization.",
            code="token_bound",
        )
    row = _session_row(session, token)
    user = session.get(UserAccount, row.user_id)
    assert user is not None
    member = _pick_org(session, user, org)
    row.org_id = member.org_id
    session.flush()
    return _principal(member, user)


def purge_expired_sessions(session: Session) -> int:
    """Delete ended sessions; returns how many."""
    now = utcnow()
    result = session.execute(
        delete(UserSession).where(
            (UserSession.expires_at <= now) | (UserSession.created_at <= now - SESSION_MAX)
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


# ---------------------------------------------------------------------------------- tokens
TOKEN_PREFIX = "zy_"
#: longest validity of a token, in days
TOKEN_MAX_DAYS = 3650


def _check_scopes(principal: Principal, scopes: Iterable[str]) -> frozenset[str]:
    wanted = frozenset(scopes)
    if not wanted:
        raise DataError(f"Give the token at least one scope of {', '.join(SCOPES)}.", code="scope")
    unknown = sorted(wanted - set(SCOPES))
    if unknown:
        raise DataError(
            f"Unknown scope(s) {', '.join(map(repr, unknown))}; the scopes are "
            f"{', '.join(SCOPES)}.",
            code="scope",
        )
    role_actions = ROLE_ACTIONS[principal.role]
    useless = sorted(s for s in wanted if not SCOPE_ACTIONS[s] & role_actions)
    if useless:
        raise DataError(
            f"The scope(s) {', '.join(useless)} grant nothing to the role '{principal.role}'.",
            code="scope",
        )
    if principal.via == "token":
        held = frozenset().union(*(SCOPE_ACTIONS.get(s, frozenset()) for s in principal.scopes))
        beyond = sorted(s for s in wanted if not SCOPE_ACTIONS[s] <= held)
        if beyond:
            raise PermissionDenied(
                "A token cannot create a token with scopes it does not have itself "
                f"({' '.join(beyond)}).",
                code="scope",
            )
    return wanted


def create_token(
    session: Session,
    principal: Principal,
    *,
    name: str,
    scopes: Iterable[str],
    expires_in_days: int | None = 90,
) -> tuple[str, ApiToken]:
    """A new API token of the caller in their organization; the token text is returned only here."""
    require(principal, "own_tokens")
    wanted = _check_scopes(principal, scopes)
    label = name.strip() if isinstance(name, str) else ""
    if not 1 <= len(label) <= 100 or bad_text(label):
        raise DataError("A token's name has 1 to 100 characters, e.g. 'cmm-line-3'.", code="name")
    if expires_in_days is not None and not 1 <= expires_in_days <= TOKEN_MAX_DAYS:
        raise ParameterError(
            f"The 'expires_in_days' parameter must be in [1, {TOKEN_MAX_DAYS}] or null (never). "
            f"Got {expires_in_days}."
        )
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    token = ApiToken(
        org_id=principal.org_id,
        user_id=principal.user_id,
        name=label,
        token_hash=hash_secret(plain),
        prefix=plain[:8],
        scopes=" ".join(s for s in SCOPES if s in wanted),
        created_at=now,
        expires_at=None if expires_in_days is None else now + timedelta(days=expires_in_days),
    )
    session.add(token)
    session.flush()
    audit.record(
        session, principal, "create", "api_token", token.id, None,
        audit.snapshot(token, exclude=("token_hash",)),
    )  # fmt: skip
    return plain, token


def resolve_token(session: Session, plain: str) -> Principal:
    """The principal of an API token; records when it was last used."""
    if not plain.startswith(TOKEN_PREFIX):
        raise AuthenticationError(
            "This is not a zhuoyue API token (they start with 'zy_').", code="bad_token"
        )
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_secret(plain)))
    if token is None:
        raise AuthenticationError("Unknown API token.", code="bad_token")
    now = utcnow()
    if token.revoked_at is not None:
        raise AuthenticationError(
            f"The API token '{token.name}' ({token.prefix}…) was revoked.", code="token_revoked"
        )
    if token.expires_at is not None and token.expires_at <= now:
        raise AuthenticationError(
            f"The API token '{token.name}' ({token.prefix}…) expired on "
            f"{token.expires_at:%Y-%m-%d %H:%M} UTC. Create a new one.",
            code="token_expired",
        )
    user = session.get(UserAccount, token.user_id)
    member = None if user is None else _membership(session, token.user_id, token.org_id)
    if user is None or not user.is_active or member is None:
        raise AuthenticationError(
            "The API token's user is disabled or no longer a member of its organization.",
            code="bad_token",
        )
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY:
        token.last_used_at = now
    return _principal(
        member, user, scopes=frozenset(token.scopes.split()), token_id=token.id, via="token"
    )


def list_tokens(
    session: Session, principal: Principal, *, limit: int = 100, offset: int = 0
) -> Page[ApiToken]:
    """The caller's tokens in the organization, or all of them for an admin (newest first)."""
    action = require(principal, "manage_tokens", "own_tokens")
    stmt = select(ApiToken).where(ApiToken.org_id == principal.org_id)
    if action != "manage_tokens":
        stmt = stmt.where(ApiToken.user_id == principal.user_id)
    return page_of(session, stmt.order_by(ApiToken.id.desc()), limit, offset)


def revoke_token(session: Session, principal: Principal, token_id: int) -> ApiToken:
    """Revoke a token (one's own, or any of the organization for an admin); idempotent."""
    action = require(principal, "manage_tokens", "own_tokens")
    token = session.get(ApiToken, token_id) if 0 < token_id <= 2**31 - 1 else None
    if (
        token is None
        or token.org_id != principal.org_id
        or (action != "manage_tokens" and token.user_id != principal.user_id)
    ):
        raise NotFound(f"There is no API token {token_id} of yours in '{principal.org_code}'.")
    if token.revoked_at is None:
        before = audit.snapshot(token, exclude=("token_hash",))
        token.revoked_at = utcnow()
        session.flush()
        audit.record(
            session, principal, "revoke", "api_token", token.id, before,
            audit.snapshot(token, exclude=("token_hash",)),
        )  # fmt: skip
    return token
