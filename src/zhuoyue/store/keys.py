"""Natural keys of imported rows (``row_key``), so that re-importing a file adds nothing.

``row_key(*parts)`` is the sha1 (40 hex characters) of the parts, each normalised: ``None`` and
blank are the empty string; text is NFKC-normalised (full-width ``ＡＢ１`` is ``AB1``) and stripped,
case kept; dates are ISO 8601; numbers are written by ``repr`` (integers in float form count as
integers: ``3.0`` is ``3``). Parts are joined by the ASCII unit separator, so ``("ab", "c")`` and
``("a", "bc")`` differ.

Keys of the tables (each scoped by ``org_id``):

* inspection: ``(date, step code, product code, lot, defect_code)``
* product_quality: ``(period, product code)``
* quality_cost: ``(date, category, note, ordinal)`` where ``ordinal`` counts the earlier rows of
  the same import with equal ``(date, category, note)`` (:func:`occurrence_ordinals`): identical
  entries of one file are all kept, and a re-import maps each onto itself.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import unicodedata
from collections.abc import Hashable, Iterable, Sequence

__all__ = ["occurrence_ordinals", "row_key", "row_keys"]

_SEP = "\x1f"


def _norm(part: object) -> str:
    if part is None:
        return ""
    if isinstance(part, dt.datetime):
        return part.isoformat()
    if isinstance(part, dt.date):
        return part.isoformat()
    if isinstance(part, bool):
        return "1" if part else "0"
    if isinstance(part, float):
        return str(int(part)) if part.is_integer() else repr(part)
    if isinstance(part, int):
        return str(part)
    return unicodedata.normalize("NFKC", str(part)).strip()


def row_key(*parts: object) -> str:
    """The sha1 hex of the normalised ``parts`` (see the module notes).

    >>> row_key("2024-03-01", "cnc-1", None, "L7", "") == row_key("2024-03-01", " cnc-1", "", "L7")
    False
    >>> row_key("2024-03-01", "cnc-1", None) == row_key(dt.date(2024, 3, 1), "ｃｎｃ-1 ", "")
    True
    """
    text = _SEP.join(_norm(p) for p in parts)
    return hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def occurrence_ordinals(keys: Iterable[Hashable]) -> list[int]:
    """For each key, how many earlier items have the same key (0 for the first).

    >>> occurrence_ordinals(["a", "b", "a", "a"])
    [0, 0, 1, 2]
    """
    seen: dict[Hashable, int] = {}
    out: list[int] = []
    for k in keys:
        n = seen.get(k, 0)
        out.append(n)
        seen[k] = n + 1
    return out


def row_keys(columns: Sequence[Sequence[object]]) -> list[str]:
    """``row_key`` of each row of equally long ``columns`` (one sequence per key part)."""
    return [row_key(*parts) for parts in zip(*columns, strict=True)]
