"""The typed error tree of zhuoyue.

Every error raised on purpose by zhuoyue is a :class:`ZhuoyueError`. Each one also subclasses the
builtin exception it refines (``ValueError``, ``OSError``, ``LookupError``), so code that does not
know zhuoyue still catches it the usual way. Shells map errors to exit codes (CLI) or HTTP statuses
(web) in one place each; the codes below are the documented CLI exit codes.

====  ==========================================================================
code  meaning
====  ==========================================================================
0     success
1     unexpected internal error (a bug: please report it; ``--debug`` shows the traceback)
2     usage error: unknown option, bad parameter value (:class:`ParameterError`)
3     an input file cannot be read: missing, unsupported format, missing sheet (:class:`InputFileError`)
4     the data cannot be used: missing column, cells that are not numbers, too few values, zero
      spread ... (:class:`DataError`, :class:`ValidationError`)
5     an output file cannot be written (:class:`OutputError`)
6     not authenticated or not allowed (:class:`AuthenticationError`, :class:`PermissionDenied`)
====  ==========================================================================

The platform's errors map to HTTP statuses in ``zhuoyue.api.errors``: :class:`ParameterError`,
:class:`DataError`, :class:`ValidationError` → 422 (malformed bodies 400), :class:`InputFileError`
→ 400, :class:`AuthenticationError` → 401, :class:`PermissionDenied` → 403, :class:`NotFound`
→ 404 (another organization's object is *not found*, never *forbidden*), :class:`Conflict` → 409.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "AuthenticationError",
    "Conflict",
    "DataError",
    "InputFileError",
    "NotFound",
    "OutputError",
    "ParameterError",
    "PermissionDenied",
    "Problem",
    "ValidationError",
    "ZhuoyueError",
]


class ZhuoyueError(Exception):
    """Base of every error zhuoyue raises on purpose."""

    #: stable machine-readable code, also used in JSON error bodies
    code: str = "error"
    #: CLI exit code (see the module docstring)
    exit_code: int = 1


class ParameterError(ZhuoyueError, ValueError):
    """A parameter has a value zhuoyue cannot use (wrong type, out of range, unknown name)."""

    code = "parameter"
    exit_code = 2


class InputFileError(ZhuoyueError, OSError):
    """An input file is missing, unreadable, or of an unsupported format."""

    code = "input_file"
    exit_code = 3


class DataError(ZhuoyueError, ValueError):
    """The data do not allow the requested analysis (too few values, zero spread, NaN ...).

    ``index`` is the 0-based position of the first offending value when there is one, so that a
    shell can translate it into the row number a person sees.
    """

    code = "data"
    exit_code = 4

    def __init__(self, message: str, *, index: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.index = index
        if code is not None:
            self.code = code


class OutputError(ZhuoyueError, OSError):
    """An output file cannot be written."""

    code = "output"
    exit_code = 5


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem found in a table: the row a person sees in Excel, the column, the value.

    ``sheet`` names the workbook sheet (or CSV file) when the input has several tables.
    """

    row: int | None
    column: str | None
    value: Any
    code: str
    message: str
    sheet: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {
            "row": self.row,
            "column": self.column,
            "value": self.value,
            "code": self.code,
            "message": self.message,
        }
        if self.sheet is not None:
            out = {"sheet": self.sheet, **out}
        return out


class ValidationError(DataError):
    """A table has problems; every problem is collected before this is raised."""

    code = "validation"

    def __init__(self, problems: Iterable[Problem], *, source: str | None = None) -> None:
        self.problems: Sequence[Problem] = tuple(problems)
        self.source = source
        first = self.problems[0].message if self.problems else "no details"
        more = len(self.problems) - 1
        where = f"{source}: " if source else ""
        suffix = f" (and {more} more problem{'s' if more != 1 else ''})" if more > 0 else ""
        super().__init__(f"{where}{first}{suffix}")


class AuthenticationError(ZhuoyueError, PermissionError):
    """The caller is not authenticated: no credentials, a wrong password, an expired token."""

    code = "unauthenticated"
    exit_code = 6

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class PermissionDenied(ZhuoyueError, PermissionError):
    """The caller is known but their role or their token's scopes do not allow the action."""

    code = "forbidden"
    exit_code = 6

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class NotFound(ZhuoyueError, LookupError):
    """No such object *in the caller's organization* (another organization's is the same)."""

    code = "not_found"
    exit_code = 4


class Conflict(ZhuoyueError, ValueError):
    """The change clashes with stored data: a code taken, rows stored with other values."""

    code = "conflict"
    exit_code = 4

    def __init__(
        self, message: str, *, problems: Iterable[Problem] = (), code: str | None = None
    ) -> None:
        super().__init__(message)
        self.problems: Sequence[Problem] = tuple(problems)
        if code is not None:
            self.code = code
