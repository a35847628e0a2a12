"""Master data of an organization: products, process steps, characteristics and their sharing.

Every function takes the caller's :class:`~zhuoyue.services.accounts.Principal` and sees only
the rows of ``principal.org_id``: an id or a code of another organization behaves exactly like
one that does not exist (:class:`~zhuoyue.services.accounts.NotFound`). A supplier sees only the
characteristics shared with it (``characteristic_share``), and no products or steps.

**References.** Products, steps and characteristics are addressed by a *ref*: digits are the
numeric id (``"17"``), ``"code:" + code`` is a code (``"code:1001"``, for codes made of digits
only), and any other text is a code (``"BORE-D"``).

Every change is written to the audit log (:func:`zhuoyue.services.audit.record`) with the row
before and after.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, TypeVar

from sqlalchemy import Select, exists, false, func, select
from sqlalchemy.orm import Session, selectinload

from zhuoyue.errors import DataError, ParameterError
from zhuoyue.services import audit
from zhuoyue.services.accounts import (
    Conflict,
    NotFound,
    Page,
    Principal,
    bad_text,
    page_of,
    require,
)
from zhuoyue.services.spc import CHART_NAMES
from zhuoyue.stats.rules import RULE_SETS
from zhuoyue.store.models import (
    Characteristic,
    CharacteristicShare,
    Inspection,
    Measurement,
    Membership,
    ProcessStep,
    Product,
    ProductQuality,
    UserAccount,
)

__all__ = [
    "CHARACTERISTIC_FIELDS",
    "create_characteristic",
    "create_product",
    "create_step",
    "delete_characteristic",
    "delete_product",
    "delete_step",
    "get_characteristic",
    "get_product",
    "get_step",
    "list_characteristics",
    "list_products",
    "list_shares",
    "list_steps",
    "parse_ref",
    "share_characteristic",
    "unshare_characteristic",
    "update_characteristic",
    "update_product",
    "update_step",
    "visible_characteristics",
]

_INT4_MAX = 2**31 - 1
_DIGITS = re.compile(r"[0-9]+")
#: the fields of a characteristic a caller may set
CHARACTERISTIC_FIELDS = (
    "code",
    "name",
    "product",
    "step",
    "unit",
    "lsl",
    "usl",
    "target",
    "subgroup_size",
    "key",
    "chart",
    "rules",
)
#: largest subgroup size accepted
MAX_SUBGROUP_SIZE = 1000


# ---------------------------------------------------------------------------------- helpers
def parse_ref(ref: str) -> tuple[int | None, str | None]:
    """``(id, None)`` or ``(None, code)`` of a ref; ``(None, None)`` when it names nothing."""
    if ref.startswith("code:"):
        code: str = ref[5:]
    elif _DIGITS.fullmatch(ref):
        number = int(ref)
        return (number, None) if 0 < number <= _INT4_MAX else (None, None)
    else:
        code = ref
    if not code or len(code) > 80 or bad_text(code):
        return None, None
    return None, code


def _text(
    fields: Mapping[str, Any], name: str, max_chars: int, *, required: bool = False
) -> str | None:
    value = fields.get(name)
    if value is None:
        if required:
            raise DataError(f'The field "{name}" is required.', code="missing")
        return None
    if not isinstance(value, str):
        raise DataError(f'The field "{name}" must be text; got {value!r}.', code="bad_type")
    text = value.strip()
    if bad_text(text):
        raise DataError(
            f'The field "{name}" contains a control character; remove it.', code="bad_text"
        )
    if len(text) > max_chars:
        raise DataError(
            f'The field "{name}" has at most {max_chars} characters; got {len(text)}.',
            code="too_long",
        )
    if not text:
        if required:
            raise DataError(f'The field "{name}" cannot be empty.', code="missing")
        return None
    return text


def _code(fields: Mapping[str, Any], max_chars: int) -> str:
    code = _text(fields, "code", max_chars, required=True)
    assert code is not None
    if code.startswith("code:"):
        raise DataError('A code cannot start with "code:" (that prefix marks a code in a URL).')
    return code


def _float(fields: Mapping[str, Any], name: str) -> float | None:
    value = fields.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DataError(f'The field "{name}" must be a number; got {value!r}.', code="bad_type")
    number = float(value)
    if not math.isfinite(number):
        raise DataError(f'The field "{name}" must be a finite number.', code="not_finite")
    return number


def _unknown(fields: Mapping[str, Any], allowed: tuple[str, ...], what: str) -> None:
    unknown = sorted(set(fields) - set(allowed))
    if unknown:
        raise ParameterError(
            f"Unknown {what} field(s): {', '.join(unknown)}. The fields are: {', '.join(allowed)}."
        )


M = TypeVar("M", Product, ProcessStep)


def _by_ref(session: Session, principal: Principal, model: type[M], ref: str, what: str) -> M:
    require(principal, "read")
    row_id, code = parse_ref(ref)
    found: M | None = None
    if row_id is not None:
        found = session.scalar(
            select(model).where(model.id == row_id, model.org_id == principal.org_id)
        )
    elif code is not None:
        found = session.scalar(
            select(model).where(model.code == code, model.org_id == principal.org_id)
        )
    if found is None:
        raise NotFound(f"There is no {what} {ref!r} in '{principal.org_code}'.")
    return found


def _code_taken(
    session: Session, model: type[Any], principal: Principal, code: str, own_id: int | None
) -> None:
    stmt = select(model.id).where(model.org_id == principal.org_id, model.code == code)
    if own_id is not None:
        stmt = stmt.where(model.id != own_id)
    if session.scalar(stmt) is not None:
        raise Conflict(
            f"The code {code!r} is used by another {model.__tablename__.replace('_', ' ')} "
            f"of '{principal.org_code}'.",
            code="code_taken",
        )


def _references(session: Session, checks: list[tuple[str, Any]]) -> list[str]:
    return [label for label, cond in checks if session.scalar(select(exists().where(cond)))]


# ---------------------------------------------------------------------------------- products
def list_products(
    session: Session, principal: Principal, *, limit: int = 100, offset: int = 0
) -> Page[Product]:
    """The organization's products, by code."""
    require(principal, "read")
    stmt = select(Product).where(Product.org_id == principal.org_id).order_by(Product.code)
    return page_of(session, stmt, limit, offset)


def get_product(session: Session, principal: Principal, ref: str) -> Product:
    """One product of the organization."""
    return _by_ref(session, principal, Product, ref, "product")


def create_product(session: Session, principal: Principal, fields: Mapping[str, Any]) -> Product:
    """A new product (``code``, ``name``)."""
    require(principal, "write_master")
    _unknown(fields, ("code", "name"), "product")
    code = _code(fields, 40)
    name = _text(fields, "name", 200) or code
    _code_taken(session, Product, principal, code, None)
    product = Product(org_id=principal.org_id, code=code, name=name)
    session.add(product)
    session.flush()
    audit.record(session, principal, "create", "product", product.id, None, audit.snapshot(product))
    return product


def update_product(
    session: Session, principal: Principal, ref: str, fields: Mapping[str, Any]
) -> Product:
    """Change a product's code or name."""
    product = get_product(session, principal, ref)
    require(principal, "write_master")
    _unknown(fields, ("code", "name"), "product")
    before = audit.snapshot(product)
    if "code" in fields:
        code = _code(fields, 40)
        _code_taken(session, Product, principal, code, product.id)
        product.code = code
    if "name" in fields:
        product.name = _text(fields, "name", 200, required=True) or product.name
    session.flush()
    audit.record(
        session, principal, "update", "product", product.id, before, audit.snapshot(product)
    )
    return product


def delete_product(session: Session, principal: Principal, ref: str) -> None:
    """Delete a product that nothing refers to."""
    product = get_product(session, principal, ref)
    require(principal, "write_master")
    used = _references(
        session,
        [
            ("characteristics", Characteristic.product_id == product.id),
            ("inspections", Inspection.product_id == product.id),
            ("product quality rows", ProductQuality.product_id == product.id),
        ],
    )
    if used:
        raise Conflict(
            f"The product {product.code!r} is used by {', '.join(used)}. Move or delete those "
            "first.",
            code="in_use",
        )
    before = audit.snapshot(product)
    session.delete(product)
    session.flush()
    audit.record(session, principal, "delete", "product", before["id"], before, None)


# ------------------------------------------------------------------------------------- steps
def _sequence(fields: Mapping[str, Any]) -> int:
    value = fields.get("sequence", 0)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _INT4_MAX:
        raise DataError(
            f'The field "sequence" is a whole number >= 0 (the order of the steps); got {value!r}.',
            code="bad_type",
        )
    return value


def list_steps(
    session: Session, principal: Principal, *, limit: int = 100, offset: int = 0
) -> Page[ProcessStep]:
    """The organization's process steps, in ``sequence`` order."""
    require(principal, "read")
    stmt = (
        select(ProcessStep)
        .where(ProcessStep.org_id == principal.org_id)
        .order_by(ProcessStep.sequence, ProcessStep.code)
    )
    return page_of(session, stmt, limit, offset)


def get_step(session: Session, principal: Principal, ref: str) -> ProcessStep:
    """One process step of the organization."""
    return _by_ref(session, principal, ProcessStep, ref, "process step")


def create_step(session: Session, principal: Principal, fields: Mapping[str, Any]) -> ProcessStep:
    """A new process step (``code``, ``name``, ``sequence``)."""
    require(principal, "write_master")
    _unknown(fields, ("code", "name", "sequence"), "step")
    code = _code(fields, 40)
    name = _text(fields, "name", 200) or code
    sequence = _sequence(fields)
    _code_taken(session, ProcessStep, principal, code, None)
    step = ProcessStep(org_id=principal.org_id, code=code, name=name, sequence=sequence)
    session.add(step)
    session.flush()
    audit.record(session, principal, "create", "process_step", step.id, None, audit.snapshot(step))
    return step


def update_step(
    session: Session, principal: Principal, ref: str, fields: Mapping[str, Any]
) -> ProcessStep:
    """Change a step's code, name or sequence."""
    step = get_step(session, principal, ref)
    require(principal, "write_master")
    _unknown(fields, ("code", "name", "sequence"), "step")
    before = audit.snapshot(step)
    if "code" in fields:
        code = _code(fields, 40)
        _code_taken(session, ProcessStep, principal, code, step.id)
        step.code = code
    if "name" in fields:
        step.name = _text(fields, "name", 200, required=True) or step.name
    if "sequence" in fields:
        step.sequence = _sequence(fields)
    session.flush()
    audit.record(
        session, principal, "update", "process_step", step.id, before, audit.snapshot(step)
    )
    return step


def delete_step(session: Session, principal: Principal, ref: str) -> None:
    """Delete a step that nothing refers to."""
    step = get_step(session, principal, ref)
    require(principal, "write_master")
    used = _references(
        session,
        [
            ("characteristics", Characteristic.step_id == step.id),
            ("inspections", Inspection.step_id == step.id),
        ],
    )
    if used:
        raise Conflict(
            f"The step {step.code!r} is used by {', '.join(used)}. Move or delete those first.",
            code="in_use",
        )
    before = audit.snapshot(step)
    session.delete(step)
    session.flush()
    audit.record(session, principal, "delete", "process_step", before["id"], before, None)


# --------------------------------------------------------------------------- characteristics
def visible_characteristics(principal: Principal, *actions: str) -> Select[Characteristic]:
    """The characteristics the principal may use for the first allowed of ``actions``.

    ``actions`` pairs an organization-wide action with its shared-only twin, e.g.
    ``("read", "read_shared")``: the second limits the rows to those shared with the user.
    """
    action = require(principal, *actions)
    stmt = select(Characteristic).where(Characteristic.org_id == principal.org_id)
    if action in ("read_shared", "write_shared_measurements"):
        shared = select(CharacteristicShare.characteristic_id).where(
            CharacteristicShare.user_id == principal.user_id
        )
        stmt = stmt.where(Characteristic.id.in_(shared))
    return stmt


def get_characteristic(
    session: Session,
    principal: Principal,
    ref: str,
    *,
    actions: tuple[str, ...] = ("read", "read_shared"),
) -> Characteristic:
    """One characteristic the principal may use for ``actions`` (see
    :func:`visible_characteristics`)."""
    stmt = visible_characteristics(principal, *actions)
    row_id, code = parse_ref(ref)
    found: Characteristic | None = None
    if row_id is not None:
        found = session.scalar(stmt.where(Characteristic.id == row_id))
    elif code is not None:
        found = session.scalar(stmt.where(Characteristic.code == code))
    if found is None:
        raise NotFound(f"There is no characteristic {ref!r} in '{principal.org_code}'.")
    return found


def list_characteristics(
    session: Session,
    principal: Principal,
    *,
    step: str | None = None,
    product: str | None = None,
    key: bool | None = None,
    limit: int = 100,
    offset: int = 0,
) -> Page[Characteristic]:
    """The characteristics the caller may read, by code; filters by step and product code and
    the key flag."""
    stmt = visible_characteristics(principal, "read", "read_shared").options(
        selectinload(Characteristic.product), selectinload(Characteristic.step)
    )
    if step is not None:
        stmt = stmt.where(
            Characteristic.step_id.in_(
                select(ProcessStep.id).where(
                    ProcessStep.org_id == principal.org_id, ProcessStep.code == step
                )
            )
        )
    if product is not None:
        stmt = stmt.where(
            Characteristic.product_id.in_(
                select(Product.id).where(
                    Product.org_id == principal.org_id, Product.code == product
                )
            )
        )
    if key is not None:
        stmt = stmt.where(Characteristic.key.is_(key))
    if any(f is not None and bad_text(f) for f in (step, product)):
        stmt = stmt.where(false())  # no code holds a control character
    return page_of(session, stmt.order_by(Characteristic.code), limit, offset)


def _master_by_code(
    session: Session, principal: Principal, model: type[M], code: str, what: str
) -> M:
    found = session.scalar(
        select(model).where(model.org_id == principal.org_id, model.code == code)
    )
    if found is None:
        raise DataError(
            f"The {what} {code!r} does not exist in '{principal.org_code}'. Create it first "
            f"(POST /{'products' if model is Product else 'steps'}) or fix the code.",
            code=f"unknown_{what}",
        )
    return found


def _apply_characteristic(
    session: Session,
    principal: Principal,
    char: Characteristic,
    fields: Mapping[str, Any],
) -> None:
    """Validate ``fields`` and set them on ``char`` (checks across fields at the end)."""
    with session.no_autoflush:  # a half-changed row must not reach the database
        _apply_fields(session, principal, char, fields)


def _apply_fields(
    session: Session, principal: Principal, char: Characteristic, fields: Mapping[str, Any]
) -> None:
    _unknown(fields, CHARACTERISTIC_FIELDS, "characteristic")
    if "code" in fields:
        code = _code(fields, 80)
        _code_taken(session, Characteristic, principal, code, char.id)
        char.code = code
    if "name" in fields:
        char.name = _text(fields, "name", 200)
    if "unit" in fields:
        char.unit = _text(fields, "unit", 20)
    if "product" in fields:
        product = _text(fields, "product", 40)
        char.product = (
            None
            if product is None
            else _master_by_code(session, principal, Product, product, "product")
        )
    if "step" in fields:
        step = _text(fields, "step", 40, required=True)
        assert step is not None
        char.step = _master_by_code(session, principal, ProcessStep, step, "step")
    for name in ("lsl", "usl", "target"):
        if name in fields:
            setattr(char, name, _float(fields, name))
    if "subgroup_size" in fields:
        size = fields["subgroup_size"]
        if (
            isinstance(size, bool)
            or not isinstance(size, int)
            or not 1 <= size <= MAX_SUBGROUP_SIZE
        ):
            raise DataError(
                f'The field "subgroup_size" is a whole number in [1, {MAX_SUBGROUP_SIZE}] '
                f"(1 for individual values); got {size!r}.",
                code="bad_type",
            )
        char.subgroup_size = size
    if "key" in fields:
        flag = fields["key"]
        if not isinstance(flag, bool):
            raise DataError(f'The field "key" is true or false; got {flag!r}.', code="bad_type")
        char.key = flag
    if "chart" in fields:
        chart = fields["chart"]
        if chart is not None and chart not in CHART_NAMES:
            raise DataError(
                f'The field "chart" is one of {", ".join(CHART_NAMES)} or null (chosen from the '
                f"subgroup size); got {chart!r}.",
                code="chart",
            )
        char.chart = chart
    if "rules" in fields:
        rules = fields["rules"]
        if rules not in RULE_SETS:
            raise DataError(
                f'The field "rules" is one of {", ".join(RULE_SETS)}; got {rules!r}.',
                code="rules",
            )
        char.rules = rules
    if char.lsl is not None and char.usl is not None and not char.lsl < char.usl:
        raise DataError(
            f"The lower specification limit (lsl = {char.lsl}) must be below the upper one "
            f"(usl = {char.usl}). Swap them or correct the value.",
            code="lsl_above_usl",
        )


def create_characteristic(
    session: Session, principal: Principal, fields: Mapping[str, Any]
) -> Characteristic:
    """A new characteristic: ``code`` and ``step`` (a step code) are required."""
    require(principal, "write_master")
    for required in ("code", "step"):
        if fields.get(required) is None:
            raise DataError(f'The field "{required}" is required.', code="missing")
    char = Characteristic(org_id=principal.org_id, subgroup_size=1, key=False, rules="gb4091")
    _apply_characteristic(session, principal, char, fields)
    session.add(char)
    session.flush()
    audit.record(
        session, principal, "create", "characteristic", char.id, None, audit.snapshot(char)
    )
    return char


def update_characteristic(
    session: Session, principal: Principal, ref: str, fields: Mapping[str, Any]
) -> Characteristic:
    """Change a characteristic (specifications, key flag, chart settings, ...)."""
    char = get_characteristic(session, principal, ref)
    require(principal, "write_master")
    before = audit.snapshot(char)
    _apply_characteristic(session, principal, char, fields)
    session.flush()
    after = audit.snapshot(char)
    action = (
        "update_specs" if any(before[k] != after[k] for k in ("lsl", "usl", "target")) else "update"
    )
    audit.record(session, principal, action, "characteristic", char.id, before, after)
    return char


def delete_characteristic(
    session: Session, principal: Principal, ref: str, *, force: bool = False
) -> None:
    """Delete a characteristic; with measurements only when ``force`` (they are deleted too)."""
    char = get_characteristic(session, principal, ref)
    require(principal, "write_master")
    count = int(
        session.scalar(
            select(func.count())
            .select_from(Measurement)
            .where(Measurement.characteristic_id == char.id)
        )
        or 0
    )
    if count and not force:
        raise Conflict(
            f"The characteristic {char.code!r} has {count} measurements. Delete with force=true "
            "to delete them too.",
            code="has_measurements",
        )
    before = {**audit.snapshot(char), "measurements": count}
    session.delete(char)
    session.flush()
    audit.record(session, principal, "delete", "characteristic", before["id"], before, None)


# ----------------------------------------------------------------------------------- sharing
def list_shares(session: Session, principal: Principal, ref: str) -> list[UserAccount]:
    """The users a characteristic is shared with, by username."""
    require(principal, "share")
    char = get_characteristic(session, principal, ref)
    return list(
        session.scalars(
            select(UserAccount)
            .join(CharacteristicShare, CharacteristicShare.user_id == UserAccount.id)
            .where(CharacteristicShare.characteristic_id == char.id)
            .order_by(UserAccount.username)
        )
    )


def share_characteristic(
    session: Session, principal: Principal, ref: str, username: str
) -> UserAccount:
    """Share a characteristic with a supplier member of the organization (idempotent)."""
    require(principal, "share")
    char = get_characteristic(session, principal, ref)
    name = username.strip().lower() if isinstance(username, str) else ""
    user = None
    if name and not bad_text(name):
        user = session.scalar(
            select(UserAccount)
            .join(Membership, Membership.user_id == UserAccount.id)
            .where(
                UserAccount.username == name,
                Membership.org_id == principal.org_id,
                Membership.role == "supplier",
            )
        )
    if user is None:
        raise DataError(
            f"There is no supplier {username!r} in '{principal.org_code}'. Add the user with the "
            "role 'supplier' first (POST /memberships).",
            code="unknown_supplier",
        )
    if session.get(CharacteristicShare, (char.id, user.id)) is None:
        session.add(CharacteristicShare(characteristic_id=char.id, user_id=user.id))
        session.flush()
        audit.record(
            session, principal, "share", "characteristic", char.id, None,
            {"user_id": user.id, "username": user.username},
        )  # fmt: skip
    return user


def unshare_characteristic(session: Session, principal: Principal, ref: str, user_id: int) -> None:
    """Stop sharing a characteristic with a user."""
    require(principal, "share")
    char = get_characteristic(session, principal, ref)
    share = (
        session.get(CharacteristicShare, (char.id, user_id)) if 0 < user_id <= _INT4_MAX else None
    )
    if share is None:
        raise NotFound(f"The characteristic {char.code!r} is not shared with user {user_id}.")
    session.delete(share)
    session.flush()
    audit.record(
        session, principal, "unshare", "characteristic", char.id, {"user_id": user_id}, None
    )
