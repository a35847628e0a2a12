"""Identifier checks (统一社会信用代码, codes) and the row keys of idempotent imports."""

from __future__ import annotations

import datetime as dt

import pytest

from zhuoyue.errors import DataError
from zhuoyue.store.keys import occurrence_ordinals, row_key, row_keys
from zhuoyue.store.validation import (
    CREDIT_CODE_WEIGHTS,
    credit_code_check_char,
    is_valid_credit_code,
    validate_credit_code,
    validate_industry_code,
    validate_org_code,
    validate_region_code,
)

# Codes published on business licences, whose check characters the GB 32100-2015 algorithm
# (5.3: C18 = 31 - sum(Ci * Wi) mod 31) reproduces.
PUBLISHED = [
    "914403001922038216",  # 华为技术有限公司
    "91330100716105852F",  # 阿里巴巴（中国）有限公司
    "91440300708461136T",  # 深圳市腾讯计算机系统有限公司
    "91350100M000100Y43",  # the worked example quoted with the standard
]


def test_weights_are_powers_of_three_mod_31() -> None:
    # GB 32100-2015 table 3
    assert CREDIT_CODE_WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


@pytest.mark.parametrize("code", PUBLISHED)
def test_published_codes_are_valid(code: str) -> None:
    assert credit_code_check_char(code[:17]) == code[17]
    assert is_valid_credit_code(code)
    assert validate_credit_code(f"  {code.lower()} ") == code


@pytest.mark.parametrize("code", PUBLISHED)
def test_a_changed_character_is_caught(code: str) -> None:
    # one changed character of the first 17 changes the check character (31 is prime)
    wrong = ("1" if code[5] != "1" else "2").join((code[:5], code[6:]))
    assert not is_valid_credit_code(wrong)
    with pytest.raises(DataError, match="check character") as info:
        validate_credit_code(wrong)
    assert info.value.code == "credit_code"


@pytest.mark.parametrize(
    ("code", "match"),
    [
        ("91440300708461136", "18 characters"),
        ("9144030070846113IT", "no I, O, Z, S, V"),
        ("91A40300708461136T", "positions 3 to 8"),
    ],
)
def test_malformed_codes(code: str, match: str) -> None:
    with pytest.raises(DataError, match=match):
        validate_credit_code(code)


def test_check_char_of_a_sum_divisible_by_31_is_zero() -> None:
    # 31 - 0 is written as "0", not as a 32nd character
    assert credit_code_check_char("0" * 17) == "0"


def test_other_codes() -> None:
    assert validate_org_code(" acme-auto ") == "acme-auto"
    assert validate_region_code("320500") == "320500"
    assert validate_industry_code("c3670") == "C3670"
    for bad in ("Acme", "-acme", "acme-", "ac me", "", "a" * 41):
        with pytest.raises(DataError, match="organization code"):
            validate_org_code(bad)
    for bad in ("32050", "032050", "32050a"):
        with pytest.raises(DataError, match="GB/T 2260"):
            validate_region_code(bad)
    for bad in ("3670", "C3", "Z3670", "C36701"):
        with pytest.raises(DataError, match="GB/T 4754"):
            validate_industry_code(bad)


def test_row_key_normalises() -> None:
    k = row_key(dt.date(2024, 3, 1), "cnc-1", None, "L7", "")
    assert len(k) == 40
    assert k == row_key("2024-03-01", "ｃｎｃ-１ ", "", " L7", None)  # full width, blanks
    assert k != row_key("2024-03-01", "CNC-1", "", "L7", "")  # case is kept
    assert row_key("ab", "c") != row_key("a", "bc")
    assert row_key(3.0) == row_key(3) != row_key(3.5)
    assert row_keys([["a", "b"], [1, 2]]) == [row_key("a", 1), row_key("b", 2)]


def test_occurrence_ordinals() -> None:
    keys = [("2024-01-02", "internal.scrap", None)] * 2 + [("2024-01-02", "appraisal", None)]
    assert occurrence_ordinals(keys) == [0, 1, 0]
