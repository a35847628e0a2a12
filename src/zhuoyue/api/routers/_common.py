"""Parameters shared by the routers: pagination, references, ids."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from zhuoyue.services.accounts import MAX_LIMIT

__all__ = ["INT4", "Id", "Limit", "Offset", "Ref"]

INT4 = 2**31 - 1

#: page size of every list (the body has ``items``, ``total``, ``limit``, ``offset``)
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size.")]
#: rows to skip before the page
Offset = Annotated[int, Query(ge=0, le=INT4, description="Rows to skip before the page.")]
#: a numeric id of a row of the caller's organization
Id = Annotated[int, Path(ge=1, le=INT4)]
#: a product, step or characteristic: its id (digits), ``code:<code>``, or its code
Ref = Annotated[
    str,
    Path(
        min_length=1,
        max_length=200,
        description="The id (digits), or the code (`BORE-D`; `code:1001` for a code of digits).",
    ),
]
