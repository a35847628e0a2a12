"""Measurements of a characteristic: bulk add (JSON rows or CSV text), range queries, series.

**Checked at the door, all or nothing.** Every row of a batch is checked before anything is
written; a batch with problems raises :class:`~zhuoyue.errors.ValidationError` listing each bad
row (``row``, ``column``, ``value``, ``code`` and a ``message`` that says how to fix it) and
writes nothing. For a JSON list ``row`` is the 0-based index of the item; for a CSV file it is the
row a spreadsheet shows (the header is row 1).

**Idempotent.** Rows go through :func:`zhuoyue.store.bulk.merge_measurements`, keyed by
``(characteristic, ts, seq)`` where ``seq`` numbers the values of one characteristic and ``ts``
in the order of the batch: sending a batch twice adds nothing the second time. A row whose key is
stored with other values is a *conflict*: by default (``on_conflict="abort"``) the batch is
refused with :class:`~zhuoyue.services.accounts.Conflict` listing the rows; with ``"skip"`` the
new rows are added and the stored ones kept. Values sharing one ``ts`` must therefore come in one
batch.

**Time.** ``ts`` is ISO 8601 (``2024-03-01T08:00:00+08:00``, ``2024-03-01 08:00``, ``2024/3/1``,
``...Z``); a time without an offset is read in the zone ``tz`` (IANA name, default UTC, e.g.
``Asia/Shanghai``). Stored and returned in UTC. Years 1900–2200.

A supplier adds and reads only measurements of characteristics shared with it; any other
characteristic is unknown to it.
"""

from __future__ import annotations

import csv
import difflib
import io
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import polars as pl
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from zhuoyue.errors import DataError, InputFileError, ParameterError, Problem, ValidationError
from zhuoyue.ingest.tabular import Table
from zhuoyue.services import audit
from zhuoyue.services.accounts import Conflict, Page, Principal, bad_text, check_page, page_of
from zhuoyue.services.masterdata import get_characteristic, visible_characteristics
from zhuoyue.store import bulk
from zhuoyue.store.models import Characteristic, Measurement

__all__ = [
    "MAX_PROBLEMS",
    "MAX_ROWS",
    "ROW_FIELDS",
    "LoadResult",
    "add_measurements",
    "add_measurements_csv",
    "list_measurements",
    "parse_ts",
    "read_series",
    "resolve_tz",
    "utc_bound",
]

#: most rows one request may carry (larger loads: the import)
MAX_ROWS = 100_000
#: most problems listed in one error (the message gives the total)
MAX_PROBLEMS = 1000
#: largest page of a measurement range query
MAX_PAGE = 10_000
#: the fields of a measurement row (``ts`` and ``value`` required)
ROW_FIELDS = ("ts", "value", "subgroup", "lot", "serial", "machine", "operator", "msg_id")
_TEXT_FIELDS = ("lot", "serial", "machine", "operator", "msg_id")
_WRITE = ("write_measurements", "write_shared_measurements")
_READ = ("read", "read_shared")
_INT4_MAX = 2**31 - 1
_YEARS = (1900, 2200)

_TS_RE = re.compile(
    r"(?P<y>\d{4})[-/](?P<mo>\d{1,2})[-/](?P<d>\d{1,2})"
    r"(?:[T ]+(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<f>\d{1,9}))?)?)?"
    r"\s*(?P<z>Z|z|UTC|[+-]\d{2}(?::?\d{2})?)?"
)
_NUMBER_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


@dataclass(frozen=True, slots=True)
class LoadResult:
    """Outcome of a bulk add: rows received, inserted, already stored (identical), skipped
    conflicts, and the characteristics touched."""

    received: int
    inserted: int
    identical: int
    conflicts_skipped: int
    characteristics: tuple[str, ...]
    ignored_columns: tuple[str, ...] = ()


# ----------------------------------------------------------------------------------- parsing
def resolve_tz(name: str) -> tzinfo:
    """The time zone of an IANA name (``UTC``, ``Asia/Shanghai``)."""
    if name.upper() == "UTC":
        return UTC
    try:
        if bad_text(name) or not re.fullmatch(r"[A-Za-z0-9_+\-/]{1,64}", name):
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ParameterError(
            f"The 'tz' parameter must be an IANA time zone such as 'Asia/Shanghai' or 'UTC'. "
            f"Got {name!r}."
        ) from None


def parse_ts(text: str, zone: tzinfo = UTC) -> datetime | None:
    """An aware UTC datetime from ISO 8601-like text, or None when it is not one.

    A time without offset is in ``zone``.
    """
    m = _TS_RE.fullmatch(text.strip())
    if m is None:
        return None
    try:
        frac = (m["f"] or "0")[:6].ljust(6, "0")
        naive = datetime(
            int(m["y"]),
            int(m["mo"]),
            int(m["d"]),
            int(m["h"] or 0),
            int(m["mi"] or 0),
            int(m["s"] or 0),
            int(frac),
        )
    except ValueError:
        return None
    z = m["z"]
    if z is None:
        local = naive.replace(tzinfo=zone)
    elif z.upper() in ("Z", "UTC"):
        local = naive.replace(tzinfo=UTC)
    else:
        sign = -1 if z[0] == "-" else 1
        digits = z[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:] or 0)
        if hours > 23 or minutes > 59:
            return None
        local = naive.replace(tzinfo=timezone(sign * timedelta(hours=hours, minutes=minutes)))
    return local.astimezone(UTC)


class _Rows:
    """Collects the checked values of a batch and every problem found."""

    def __init__(
        self, mode: Literal["json", "csv"], zone: tzinfo, names: Mapping[str, str] | None = None
    ) -> None:
        self.mode = mode
        self.names = dict(names or {})  # field -> the header a person wrote
        self.zone = zone
        self.problems: list[Problem] = []
        self.rows: list[int] = []  # the row number shown for each kept row
        self.codes: list[str] = []
        self.ts: list[datetime] = []
        self.value: list[float] = []
        self.subgroup: list[int | None] = []
        self.texts: dict[str, list[str | None]] = {f: [] for f in _TEXT_FIELDS}

    def where(self, row: int, column: str) -> str:
        if self.mode == "json":
            return f'Item {row}, field "{column}"'
        return f'Row {row}, column "{column}"'

    def problem(self, row: int, column: str | None, value: Any, code: str, text: str) -> None:
        column = self.names.get(column, column) if column is not None else None
        head = f"Item {row}" if self.mode == "json" else f"Row {row}"
        where = self.where(row, column) if column else head
        shown = value if value is None or isinstance(value, int | float | str | bool) else None
        if isinstance(shown, float) and not math.isfinite(shown):
            shown = str(shown)
        self.problems.append(Problem(row, column, shown, code, f"{where}: {text}"))

    # -- one field each; return None after recording a problem
    def read_ts(self, row: int, raw: Any) -> datetime | None:
        if raw is None or raw == "":
            self.problem(row, "ts", None, "missing", "the time stamp is missing. Give ts.")
            return None
        if not isinstance(raw, str):
            self.problem(
                row, "ts", raw, "bad_type",
                f"{raw!r} is not a time stamp. Send ISO 8601 text, e.g. "
                '"2024-03-01T08:00:00+08:00".',
            )  # fmt: skip
            return None
        ts = parse_ts(raw, self.zone)
        if ts is None:
            self.problem(
                row, "ts", raw, "bad_ts",
                f'"{raw}" is not a date and time. Write it as 2024-03-01 08:00:00 '
                "(optionally with an offset such as +08:00).",
            )  # fmt: skip
            return None
        if not _YEARS[0] <= ts.year <= _YEARS[1]:
            self.problem(
                row, "ts", raw, "ts_range",
                f'"{raw}" lies outside the years {_YEARS[0]}–{_YEARS[1]}. Check the date.',
            )  # fmt: skip
            return None
        return ts

    def read_value(self, row: int, raw: Any) -> float | None:
        if raw is None or raw == "":
            self.problem(
                row, "value", None, "missing",
                "the value is missing. Enter the measured value or delete the row.",
            )  # fmt: skip
            return None
        number: float | None = None
        if isinstance(raw, bool):
            number = None
        elif isinstance(raw, int | float):
            try:
                number = float(raw)
            except OverflowError:
                number = math.inf
        elif isinstance(raw, str) and self.mode == "csv":
            text = raw.strip()
            if _NUMBER_RE.fullmatch(text):
                number = float(text)
            elif text.lower().lstrip("+-") in ("nan", "inf", "infinity"):
                number = math.nan
        if number is None:
            fix = (
                "Send the measured value as a JSON number, e.g. 12.5."
                if self.mode == "json"
                else "Use a decimal point and digits only, e.g. 12.5."
            )
            self.problem(row, "value", raw, "not_a_number", f"{raw!r} is not a number. {fix}")
            return None
        if not math.isfinite(number):
            self.problem(
                row, "value", raw, "not_finite",
                f"{raw!r} is not a finite number. Enter the measured value.",
            )  # fmt: skip
            return None
        return number

    def read_subgroup(self, row: int, raw: Any) -> tuple[bool, int | None]:
        if raw is None or raw == "":
            return True, None
        number: int | None = None
        if isinstance(raw, bool):
            number = None
        elif isinstance(raw, int):
            number = raw
        elif isinstance(raw, float) and raw.is_integer():
            number = int(raw)
        elif isinstance(raw, str) and self.mode == "csv" and re.fullmatch(r"\d{1,10}", raw.strip()):
            number = int(raw.strip())
        if number is None or not 0 <= number <= _INT4_MAX:
            self.problem(
                row, "subgroup", raw, "bad_subgroup",
                f"{raw!r} is not a subgroup number. Number the subgroups 0, 1, 2, ... "
                "(whole numbers up to 2147483647) or leave the subgroup out.",
            )  # fmt: skip
            return False, None
        return True, number

    def read_text(self, row: int, name: str, raw: Any) -> tuple[bool, str | None]:
        if raw is None or raw == "":
            return True, None
        if isinstance(raw, int) and not isinstance(raw, bool):
            raw = str(raw)
        if not isinstance(raw, str):
            self.problem(row, name, raw, "bad_type", f"{raw!r} is not text. Send a string.")
            return False, None
        text = raw.strip()
        if bad_text(text):
            self.problem(
                row, name, None, "bad_text",
                "the text contains a control character. Remove it.",
            )  # fmt: skip
            return False, None
        if len(text) > bulk.TEXT_MAX_CHARS:
            self.problem(
                row, name, text[:20] + "…", "too_long",
                f"the text has {len(text)} characters; at most {bulk.TEXT_MAX_CHARS} fit.",
            )  # fmt: skip
            return False, None
        return True, text or None

    def add(self, row: int, code: str, item: Mapping[str, Any]) -> None:
        """Check one row; keep it when every field is good."""
        ts = self.read_ts(row, item.get("ts"))
        value = self.read_value(row, item.get("value"))
        ok_sg, subgroup = self.read_subgroup(row, item.get("subgroup"))
        texts: dict[str, str | None] = {}
        ok = ts is not None and value is not None and ok_sg
        for name in _TEXT_FIELDS:
            good, texts[name] = self.read_text(row, name, item.get(name))
            ok = ok and good
        if not ok:
            return
        assert ts is not None and value is not None
        self.rows.append(row)
        self.codes.append(code)
        self.ts.append(ts)
        self.value.append(value)
        self.subgroup.append(subgroup)
        for name in _TEXT_FIELDS:
            self.texts[name].append(texts[name])

    def fail_if_problems(self, source: str) -> None:
        if not self.problems:
            return
        problems = sorted(self.problems, key=lambda p: (p.row or 0, p.column or ""))
        total = len(problems)
        if total > MAX_PROBLEMS:
            problems = problems[:MAX_PROBLEMS]
        error = ValidationError(problems, source=source)
        if total > MAX_PROBLEMS:
            error.args = (f"{error.args[0]} (listing the first {MAX_PROBLEMS} of {total})",)
        raise error


def _did_you_mean(name: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    return f" Did you mean {close[0]!r}?" if close else ""


def _check_count(n: int) -> None:
    if n > MAX_ROWS:
        raise DataError(
            f"A request carries at most {MAX_ROWS} measurements; this one has {n}. Split it, or "
            "import the file (zhuoyue import).",
            code="too_many_rows",
        )


# ------------------------------------------------------------------------------------ writes
def _write(
    session: Session,
    principal: Principal,
    rows: _Rows,
    ids: Mapping[str, int],
    on_conflict: str,
    source: str,
) -> LoadResult:
    if on_conflict not in ("abort", "skip"):
        raise ParameterError(
            f"The 'on_conflict' parameter must be 'abort' or 'skip'. Got {on_conflict!r}."
        )
    n = len(rows.value)
    cid = np.array([ids[c] for c in rows.codes], dtype=np.int64)
    ts = np.array([t.replace(tzinfo=None) for t in rows.ts], dtype="datetime64[us]")
    seq = bulk.assign_seq(cid, ts)
    # msg_id is unique per characteristic: a repeat inside the batch is the sender's mistake
    seen: dict[tuple[int, str], int] = {}
    for i, msg in enumerate(rows.texts["msg_id"]):
        if msg is None:
            continue
        first = seen.setdefault((int(cid[i]), msg), i)
        if first != i:
            rows.problem(
                rows.rows[i], "msg_id", msg, "duplicate_msg_id",
                f"the msg_id {msg!r} is used by an earlier row ({rows.rows[first]}) too; a "
                "message id names one value.",
            )  # fmt: skip
    rows.fail_if_problems(source)
    columns: dict[str, Any] = {
        "characteristic_id": cid,
        "ts": ts,
        "seq": seq,
        "value": np.array(rows.value, dtype=np.float64),
    }
    if any(s is not None for s in rows.subgroup):
        columns["subgroup"] = pl.Series("subgroup", rows.subgroup, dtype=pl.Int64)
    for name in _TEXT_FIELDS:
        if any(t is not None for t in rows.texts[name]):
            columns[name] = pl.Series(name, rows.texts[name], dtype=pl.String)
    try:
        result = bulk.merge_measurements(
            session.connection(), columns, on_conflict="skip" if on_conflict == "skip" else "abort"
        )
    except IntegrityError:
        raise Conflict(
            "A msg_id of this batch is stored already with another time stamp. A message id "
            "names one value: send new ids, or leave msg_id out.",
            code="msg_id_taken",
        ) from None
    if result.conflicts.height and on_conflict == "abort":
        raise _conflict_error(rows, ids, columns, result.conflicts, n)
    codes = tuple(sorted(set(rows.codes)))
    audit.record(
        session, principal, "add_measurements", "measurement", None, None,
        {"source": source, "received": n, "inserted": result.inserted,
         "identical": result.identical, "conflicts_skipped": result.conflicts.height,
         "characteristics": list(codes)},
    )  # fmt: skip
    return LoadResult(
        received=n,
        inserted=result.inserted,
        identical=result.identical,
        conflicts_skipped=result.conflicts.height,
        characteristics=codes,
    )


def _conflict_error(
    rows: _Rows,
    ids: Mapping[str, int],
    columns: Mapping[str, Any],
    conflicts: pl.DataFrame,
    n: int,
) -> Conflict:
    code_of = {v: k for k, v in ids.items()}
    problems: list[Problem] = []
    for rec in conflicts.head(MAX_PROBLEMS).iter_rows(named=True):
        i = int(rec["index"])
        new: dict[str, Any] = {
            "value": rows.value[i],
            "subgroup": rows.subgroup[i],
            **{t: rows.texts[t][i] for t in _TEXT_FIELDS},
        }
        stored = {
            "value": rec["stored_value"],
            "subgroup": rec["stored_subgroup"],
            **{t: rec[f"stored_{t}"] for t in _TEXT_FIELDS},
        }
        diffs = [f"{k} (stored {stored[k]!r}, sent {new[k]!r})" for k in new if new[k] != stored[k]]
        where = f"Item {rows.rows[i]}" if rows.mode == "json" else f"Row {rows.rows[i]}"
        ts = rows.ts[i].isoformat()
        problems.append(
            Problem(
                rows.rows[i],
                "value",
                rows.value[i],
                "conflict",
                f"{where}: {code_of[int(rec['characteristic_id'])]} at {ts} is stored with "
                f"other values: {', '.join(diffs) or 'another row'}. Stored values are never "
                "overwritten: resend the stored row, or use on_conflict=skip to keep it.",
            )
        )
    total = conflicts.height
    return Conflict(
        f"{total} of {n} rows clash with stored measurements; nothing was written. "
        + problems[0].message,
        problems=problems,
        code="measurement_conflict",
    )


def add_measurements(
    session: Session,
    principal: Principal,
    ref: str,
    items: Any,
    *,
    on_conflict: str = "abort",
    tz: str = "UTC",
) -> LoadResult:
    """Add a JSON list of measurement rows (objects with :data:`ROW_FIELDS`) to a characteristic."""
    char = get_characteristic(session, principal, ref, actions=_WRITE)
    zone = resolve_tz(tz)
    if not isinstance(items, list):
        raise DataError(
            "The body must be a JSON list of measurements, e.g. "
            '[{"ts": "2024-03-01T08:00:00+08:00", "value": 12.5}].',
            code="bad_body",
        )
    _check_count(len(items))
    rows = _Rows("json", zone)
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            rows.problem(
                i, None, None, "bad_type",
                'each item is an object such as {"ts": "2024-03-01T08:00:00", "value": 12.5}.',
            )  # fmt: skip
            continue
        for name in item:
            if name not in ROW_FIELDS:
                rows.problem(
                    i, str(name)[:80], None, "unknown_field",
                    f"there is no field {str(name)[:80]!r}.{_did_you_mean(str(name), ROW_FIELDS)}"
                    f" The fields are {', '.join(ROW_FIELDS)}.",
                )  # fmt: skip
        rows.add(i, char.code, item)
    rows.fail_if_problems(char.code)
    if not rows.value:
        return LoadResult(0, 0, 0, 0, ())
    return _write(session, principal, rows, {char.code: char.id}, on_conflict, "json")


def _decode(data: bytes, source: str) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InputFileError(
        f"{source}: the file is neither UTF-8 nor GB18030/GBK text. Save it as CSV UTF-8 "
        "(Excel: 另存为 → CSV UTF-8)."
    )


def _read_csv(data: bytes, source: str) -> tuple[Table, list[int], list[Problem]]:
    """The CSV as a table of text, the spreadsheet row of each data row, ragged-row problems."""
    text = _decode(data, source)
    if not text.strip():
        raise DataError(
            f"{source}: the file is empty. Export the data with a header row.", code="empty"
        )
    if "\x00" in text:
        raise InputFileError(f"{source}: the file holds NUL bytes; it is not a CSV text file.")
    first = text.lstrip("\r\n").split("\n", 1)[0]
    try:
        delimiter = csv.Sniffer().sniff(first, delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise DataError(
            f"{source}: the file is not a well-formed CSV table ({exc}).", code="malformed"
        ) from None
    numbered = [(i + 1, r) for i, r in enumerate(records) if any(c.strip() for c in r)]
    if not numbered:
        raise DataError(f"{source}: the file has no header row.", code="empty")
    (_, header), body = numbered[0], numbered[1:]
    header = [h.strip() for h in header]
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes or not all(header):
        raise DataError(
            f"{source}: every column needs a distinct, non-empty header; check "
            f"{', '.join(map(repr, dupes)) or 'the empty header cells'}.",
            code="malformed",
        )
    if not body:
        raise DataError(
            f"{source}: no data rows. The first row must be the header and data must follow.",
            code="empty",
        )
    problems: list[Problem] = []
    rows: list[list[str]] = []
    line_numbers: list[int] = []
    for line, record in body:
        if len(record) != len(header):
            problems.append(
                Problem(
                    line, None, None, "ragged",
                    f"Row {line}: {len(record)} cells, but the header has {len(header)}. "
                    "Check the delimiters and quotes in this row.",
                )
            )  # fmt: skip
            continue
        rows.append(record)
        line_numbers.append(line)
    columns = {h: [r[j] for r in rows] for j, h in enumerate(header)}
    frame = pl.DataFrame(columns, schema=dict.fromkeys(header, pl.String))
    return Table(frame=frame, source=source), line_numbers, problems


def _optional_column(table: Table, name: str) -> str | None:
    try:
        return table.column(name)
    except DataError as exc:
        if exc.code == "missing_column":
            return None
        raise


def add_measurements_csv(
    session: Session,
    principal: Principal,
    data: bytes,
    *,
    filename: str = "upload.csv",
    characteristic: str | None = None,
    on_conflict: str = "abort",
    tz: str = "UTC",
) -> LoadResult:
    """Add the rows of a CSV file (DESIGN.md measurements columns; ``msg_id`` too).

    Without a ``characteristic`` column every row belongs to ``characteristic`` (a ref).
    """
    zone = resolve_tz(tz)
    source = filename if filename and not bad_text(filename) else "upload.csv"
    table, lines, problems = _read_csv(data, source)
    _check_count(len(table) + len(problems))
    found = {name: _optional_column(table, name) for name in ("characteristic", *ROW_FIELDS)}
    for required in ("ts", "value"):
        if found[required] is None:
            table.column(required)  # raises with the columns and a "did you mean"
    default_code: str | None = None
    if found["characteristic"] is None:
        if characteristic is None:
            table.column("characteristic")  # raises: the column or the parameter is needed
        assert characteristic is not None
        default_code = get_characteristic(session, principal, characteristic, actions=_WRITE).code
    used = {c for c in found.values() if c is not None}
    ignored = tuple(c for c in table.columns if c not in used)

    frame = table.frame
    col = {k: (frame.get_column(v).to_list() if v is not None else None) for k, v in found.items()}
    codes: list[str] = (
        [c.strip() for c in col["characteristic"]]
        if col["characteristic"] is not None
        else [default_code or ""] * len(table)
    )
    visible = visible_characteristics(principal, *_WRITE)
    wanted = sorted({c for c in codes if c and len(c) <= 80 and not bad_text(c)})
    ids: dict[str, int] = {}
    for lo in range(0, len(wanted), 500):
        chunk = wanted[lo : lo + 500]
        for cid, code in session.execute(
            visible.with_only_columns(Characteristic.id, Characteristic.code).where(
                Characteristic.code.in_(chunk)
            )
        ):
            ids[code] = cid

    rows = _Rows("csv", zone, {k: v for k, v in found.items() if v is not None})
    rows.problems.extend(problems)

    def get(key: str, i: int) -> Any:
        values = col[key]
        return None if values is None else values[i]

    for i, line in enumerate(lines):
        code = codes[i]
        if code not in ids:
            rows.problem(
                line, "characteristic", code or None,
                "unknown_characteristic",
                f'"{code}" is not a characteristic of \'{principal.org_code}\'. Create it first '
                "(POST /characteristics) or fix the code." if code else
                "the characteristic is empty. Give every row its characteristic code.",
            )  # fmt: skip
        rows.add(line, code, {k: get(k, i) for k in ROW_FIELDS})
    rows.fail_if_problems(source)
    if not rows.value:
        return LoadResult(0, 0, 0, 0, (), ignored)
    result = _write(session, principal, rows, ids, on_conflict, source)
    return LoadResult(
        result.received,
        result.inserted,
        result.identical,
        result.conflicts_skipped,
        result.characteristics,
        ignored,
    )


# ------------------------------------------------------------------------------------- reads
def utc_bound(value: datetime | None, name: str) -> datetime | None:
    """``value`` as aware UTC (naive is UTC), within the years a datetime can shift (2..9998);
    :class:`ParameterError` naming the parameter ``name`` otherwise."""
    if value is None:
        return None
    try:
        aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:
        aware = None
    if aware is None or not 2 <= aware.year <= 9998:
        raise ParameterError(
            f"The {name!r} parameter must be a date-time between the years 2 and 9998. "
            f"Got {value.isoformat()}."
        )
    return aware


def list_measurements(
    session: Session,
    principal: Principal,
    ref: str,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 1000,
    offset: int = 0,
) -> Page[Measurement]:
    """One page of a characteristic's measurements with ``start <= ts < end``, by (ts, seq)."""
    check_page(limit, offset, max_limit=MAX_PAGE)
    start, end = utc_bound(start, "start"), utc_bound(end, "end")
    char = get_characteristic(session, principal, ref, actions=_READ)
    stmt = select(Measurement).where(Measurement.characteristic_id == char.id)
    if start is not None:
        stmt = stmt.where(Measurement.ts >= start)
    if end is not None:
        stmt = stmt.where(Measurement.ts < end)
    stmt = stmt.order_by(Measurement.ts, Measurement.seq)
    return page_of(session, stmt, limit, offset, max_limit=MAX_PAGE)


def read_series(
    session: Session,
    principal: Principal,
    ref: str,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> tuple[Characteristic, bulk.Series]:
    """A characteristic and its values with ``start <= ts < end`` as NumPy arrays."""
    start, end = utc_bound(start, "start"), utc_bound(end, "end")
    char = get_characteristic(session, principal, ref, actions=_READ)
    return char, bulk.read_series(session.connection(), char.id, start, end)
