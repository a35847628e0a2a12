"""Checks of the identifiers of an organization: slug, 统一社会信用代码, region and industry codes.

Each ``validate_*`` function returns the normalised value or raises
:class:`zhuoyue.errors.DataError` with a stable ``code`` and a message that says what to do.
"""

from __future__ import annotations

import re

from zhuoyue.errors import DataError

__all__ = [
    "CREDIT_CODE_CHARS",
    "CREDIT_CODE_WEIGHTS",
    "credit_code_check_char",
    "is_valid_credit_code",
    "validate_credit_code",
    "validate_industry_code",
    "validate_org_code",
    "validate_region_code",
]

#: GB 32100-2015 code characters: digits and capitals without I, O, Z, S, V; the index is the value
CREDIT_CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
#: GB 32100-2015 weights of positions 1..17: 3**(i-1) mod 31
CREDIT_CODE_WEIGHTS: tuple[int, ...] = tuple(pow(3, i, 31) for i in range(17))

_CREDIT_RE = re.compile(rf"[{CREDIT_CODE_CHARS}]{{2}}[0-9]{{6}}[{CREDIT_CODE_CHARS}]{{10}}")
_ORG_CODE_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?")
_REGION_RE = re.compile(r"[1-9][0-9]{5}")
_INDUSTRY_RE = re.compile(r"[A-T](?:[0-9]{2}|[0-9]{3}|[0-9]{4})?")


def credit_code_check_char(first17: str) -> str:
    """The check character (position 18) of a 统一社会信用代码 from its first 17 characters.

    GB 32100-2015, 5.3: ``C18 = 31 - (sum(Ci * Wi) mod 31)``, with 31 written as ``0``.

    >>> credit_code_check_char("91350100M000100Y4")
    '3'
    """
    if len(first17) != 17 or any(c not in CREDIT_CODE_CHARS for c in first17):
        raise DataError(
            f"A 统一社会信用代码 starts with 17 characters of {CREDIT_CODE_CHARS!r}; "
            f"got {first17!r}.",
            code="credit_code",
        )
    total = sum(
        CREDIT_CODE_CHARS.index(c) * w for c, w in zip(first17, CREDIT_CODE_WEIGHTS, strict=True)
    )
    return CREDIT_CODE_CHARS[(31 - total % 31) % 31]


def is_valid_credit_code(code: str) -> bool:
    """True when ``code`` (upper case, no spaces) is a well-formed 统一社会信用代码."""
    return bool(_CREDIT_RE.fullmatch(code)) and credit_code_check_char(code[:17]) == code[17]


def validate_credit_code(code: str) -> str:
    """The 统一社会信用代码 ``code``, stripped and upper-cased, after checking its check digit.

    Positions 3–8 must be digits (the region code) and the 18th character must be the GB 32100
    check character of the first 17.
    """
    norm = code.strip().upper()
    if len(norm) != 18:
        raise DataError(
            f"A 统一社会信用代码 has 18 characters; {code!r} has {len(norm)}.",
            code="credit_code",
        )
    if not _CREDIT_RE.fullmatch(norm):
        raise DataError(
            f"{code!r} is not a 统一社会信用代码: use the characters {CREDIT_CODE_CHARS!r} "
            "(no I, O, Z, S, V) with digits in positions 3 to 8.",
            code="credit_code",
        )
    expected = credit_code_check_char(norm[:17])
    if norm[17] != expected:
        raise DataError(
            f"{code!r} is not a valid 统一社会信用代码: its check character is {norm[17]!r}, "
            f"but the first 17 characters need {expected!r}. Check for a typing error.",
            code="credit_code",
        )
    return norm


def validate_org_code(code: str) -> str:
    """An organization's short code: 1–40 of ``a-z``, ``0-9`` and ``-``, not starting or ending in ``-``."""
    norm = code.strip()
    if not _ORG_CODE_RE.fullmatch(norm):
        raise DataError(
            f"An organization code is 1 to 40 lower-case letters, digits and '-' (not at either "
            f"end), e.g. 'acme-auto'; got {code!r}.",
            code="org_code",
        )
    return norm


def validate_region_code(code: str) -> str:
    """A 6-digit administrative division code (GB/T 2260), e.g. ``"320500"`` (苏州市)."""
    norm = code.strip()
    if not _REGION_RE.fullmatch(norm):
        raise DataError(
            f"A region code (GB/T 2260) is 6 digits, e.g. '320500'; got {code!r}.",
            code="region_code",
        )
    return norm


def validate_industry_code(code: str) -> str:
    """An industry code of GB/T 4754: a section letter and 2, 3 or 4 digits, e.g. ``"C3670"``."""
    norm = code.strip().upper()
    if not _INDUSTRY_RE.fullmatch(norm):
        raise DataError(
            "An industry code (GB/T 4754) is a section letter A–T and 2 to 4 digits, e.g. "
            f"'C3670'; got {code!r}.",
            code="industry_code",
        )
    return norm
