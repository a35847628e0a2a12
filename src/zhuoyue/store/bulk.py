"""Bulk writes and reads of the ``measurement`` table, vectorised from and into NumPy.

Writing
-------
:func:`insert_measurements` appends rows; :func:`merge_measurements` is the idempotent import:
rows whose key ``(characteristic_id, ts, seq)`` is already stored with the same values are
skipped, rows stored with other values are returned as conflicts (and, by default, nothing is
written), the rest is inserted. Both take a Polars DataFrame or arrays by keyword::

    insert_measurements(engine, characteristic_id=7, ts=ts_datetime64, value=values)

Columns: ``characteristic_id`` (int, or one int for all rows), ``ts`` (datetime64, Polars
Datetime, or datetime objects; naive is UTC; kept to the microsecond), ``value`` (finite float;
read back bitwise equal, except that -0.0 is stored as 0.0), and optionally ``seq`` (default:
:func:`assign_seq`, the ordinal of each value among the values of the same characteristic and
ts, in input order), ``subgroup`` (int >= 0 or null) and the text columns ``lot``, ``serial``,
``machine``, ``operator``, ``msg_id`` (at most 100 characters). Invalid input raises
:class:`~zhuoyue.errors.DataError` (``index``: the first bad row) before anything is written.

On PostgreSQL the rows go through ``COPY ... FROM STDIN (FORMAT binary)``, the binary rows built
by NumPy (no Python loop over rows); on SQLite through one ``executemany`` on the raw sqlite3
connection, in the caller's transaction. ``bind`` is an :class:`~sqlalchemy.Engine` (the call is
its own transaction, committed at the end) or a :class:`~sqlalchemy.Connection` (the call runs in
its transaction, which the caller commits or rolls back: an import of several tables is then all
or nothing).

Reading
-------
:func:`read_series` returns one characteristic's values ordered by ``(ts, seq)`` as NumPy arrays.
On PostgreSQL the server packs the rows into one ``bytea`` (``timestamptz_send(ts) ||
float8send(value) || ...``, aggregated in pages of :data:`PG_PAGE_ROWS` rows) that NumPy views as
a structured array; on SQLite the rows are fetched and converted by one ``numpy.array`` call.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, NamedTuple

import numpy as np
import numpy.typing as npt
import polars as pl
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from zhuoyue.errors import DataError, ParameterError

__all__ = [
    "NO_SUBGROUP",
    "PG_PAGE_ROWS",
    "TEXT_COLUMNS",
    "MergeResult",
    "Series",
    "assign_seq",
    "insert_measurements",
    "merge_measurements",
    "read_series",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
DatetimeArray = npt.NDArray[np.datetime64]
Bind = Engine | Connection

#: subgroup of a value stored without one, in :attr:`Series.subgroup` (stored subgroups are >= 0)
NO_SUBGROUP = -1
#: optional text columns of a measurement
TEXT_COLUMNS: tuple[str, ...] = ("lot", "serial", "machine", "operator", "msg_id")
#: longest text the text columns hold (VARCHAR(100))
TEXT_MAX_CHARS = 100
#: rows per PostgreSQL page of read_series (24 bytes each: one bytea well below 1 GB)
PG_PAGE_ROWS = 4_000_000
#: rows encoded or sent per block when writing (bounds the memory of the encoder)
WRITE_BLOCK_ROWS = 262_144

_INT4_MAX = 2**31 - 1
#: microseconds from the Unix epoch to the PostgreSQL epoch (2000-01-01)
_PG_EPOCH_US = 946_684_800_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_PGCOPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
_PGCOPY_TRAILER = b"\xff\xff"
# float64 holds integers exactly below 2**53; µs timestamps do so for years 1685 to 2255
_EXACT_F64 = 2**53


# ------------------------------------------------------------------------------------ results
class Series(NamedTuple):
    """One characteristic's values in time order (``ts``, then ``seq``).

    ``subgroup`` is :data:`NO_SUBGROUP` (-1) where a value was stored without a subgroup.
    """

    ts: DatetimeArray
    value: FloatArray
    subgroup: IntArray


@dataclass(frozen=True, slots=True)
class MergeResult:
    """Outcome of :func:`merge_measurements`.

    ``conflicts`` has one row per input row whose key is stored with other values: ``index`` (the
    0-based input row), the key, the new ``value`` and the stored row (``stored_id``,
    ``stored_value``, ``stored_subgroup``, ``stored_lot``, ...).
    """

    inserted: int
    identical: int
    conflicts: pl.DataFrame

    @property
    def ok(self) -> bool:
        """True when no input row conflicts with a stored row."""
        return self.conflicts.height == 0


# ----------------------------------------------------------------------------- the input batch
@dataclass(slots=True)
class _Batch:
    """Validated, normalised measurement rows."""

    characteristic_id: IntArray
    ts: IntArray  # µs since 1970-01-01 UTC
    seq: IntArray
    value: FloatArray
    subgroup: IntArray | None  # None: no subgroups
    subgroup_null: BoolArray | None  # None: no nulls
    texts: dict[str, pl.Series]  # only the columns given with at least one value

    @property
    def n(self) -> int:
        return int(self.value.shape[0])

    def columns(self) -> list[str]:
        cols = ["characteristic_id", "ts", "seq", "value"]
        if self.subgroup is not None:
            cols.append("subgroup")
        return cols + list(self.texts)

    def take(self, lo: int, hi: int) -> _Batch:
        return _Batch(
            self.characteristic_id[lo:hi],
            self.ts[lo:hi],
            self.seq[lo:hi],
            self.value[lo:hi],
            None if self.subgroup is None else self.subgroup[lo:hi],
            None if self.subgroup_null is None else self.subgroup_null[lo:hi],
            {k: s.slice(lo, hi - lo) for k, s in self.texts.items()},
        )


def _fail(message: str, index: int | None = None, code: str = "measurement") -> DataError:
    return DataError(message, index=index, code=code)


def _first_true(mask: BoolArray) -> int:
    return int(np.flatnonzero(mask)[0])


def _series(name: str, values: Any) -> pl.Series:
    if isinstance(values, pl.Series):
        return values.alias(name)
    if isinstance(values, np.ndarray):
        return pl.Series(name, values)
    return pl.Series(name, list(values) if not isinstance(values, list) else values)


def _int_column(name: str, values: Any, n: int, *, lo: int, nullable: bool) -> pl.Series:
    s = _series(name, values)
    if s.len() != n:
        raise ParameterError(
            f"The {name!r} column of the measurements has {s.len()} values; 'value' has {n}."
        )
    if s.dtype == pl.Null:
        s = s.cast(pl.Int64)
    if not s.dtype.is_integer():
        if s.dtype.is_float():
            bad = (s.is_not_null() & (s != s.round(0))).fill_null(False)
            if bad.any():
                i = _first_true(bad.to_numpy())
                raise _fail(f"{name} must be whole numbers; row {i} has {s[i]!r}.", i)
        else:
            raise _fail(f"{name} must be integers; got a column of type {s.dtype}.")
        s = s.cast(pl.Int64)
    s = s.cast(pl.Int64)
    nulls = s.is_null()
    if not nullable and nulls.any():
        i = _first_true(nulls.to_numpy())
        raise _fail(f"{name} is missing in row {i}.", i)
    out_of_range = ((s < lo) | (s > _INT4_MAX)).fill_null(False)
    if out_of_range.any():
        i = _first_true(out_of_range.to_numpy())
        raise _fail(f"{name} must be between {lo} and {_INT4_MAX}; row {i} has {s[i]}.", i)
    return s


def _ts_column(values: Any, n: int) -> IntArray:
    if isinstance(values, np.ndarray) and np.issubdtype(values.dtype, np.datetime64):
        if np.isnat(values).any():
            i = _first_true(np.isnat(values))
            raise _fail(f"ts is missing in row {i}.", i)
        return values.astype("datetime64[us]").view(np.int64)
    s = _series("ts", values)
    if s.len() != n:
        raise ParameterError(
            f"The 'ts' column of the measurements has {s.len()} values; 'value' has {n}."
        )
    if not isinstance(s.dtype, pl.Datetime):
        raise _fail(
            f"ts must be date-times (numpy datetime64, Polars Datetime or datetime objects); got "
            f"a column of type {s.dtype}. Parse text with the file readers first."
        )
    if s.dtype.time_zone is not None:
        s = s.dt.convert_time_zone("UTC")
    if s.null_count():
        i = _first_true(s.is_null().to_numpy())
        raise _fail(f"ts is missing in row {i}.", i)
    out: IntArray = s.dt.cast_time_unit("us").to_physical().to_numpy().astype(np.int64)
    return out


def assign_seq(characteristic_id: npt.ArrayLike, ts: npt.ArrayLike) -> IntArray:
    """For each row, how many earlier rows have the same characteristic and ts (0 for the first).

    This is the ``seq`` of the natural key ``(characteristic_id, ts, seq)``: computed over a whole
    file, it gives every row the same key on every import of that file.

    >>> assign_seq([1, 1, 2, 1], np.array([5, 5, 5, 6], dtype="datetime64[s]")).tolist()
    [0, 1, 0, 0]
    """
    cid = np.asarray(characteristic_id, dtype=np.int64)
    t = np.asarray(ts)
    t = t.astype("datetime64[us]").view(np.int64) if t.dtype.kind == "M" else t.astype(np.int64)
    n = cid.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    pos = np.arange(n, dtype=np.int64)
    order = np.lexsort((pos, t, cid))
    sc, st = cid[order], t[order]
    starts = np.ones(n, dtype=bool)
    starts[1:] = (sc[1:] != sc[:-1]) | (st[1:] != st[:-1])
    group_start = np.maximum.accumulate(np.where(starts, pos, 0))
    seq = np.empty(n, dtype=np.int64)
    seq[order] = pos - group_start
    return seq


def _batch(data: pl.DataFrame | Mapping[str, Any] | None, columns: Mapping[str, Any]) -> _Batch:
    given: dict[str, Any] = {}
    if data is not None:
        if isinstance(data, pl.DataFrame):
            given.update({c: data.get_column(c) for c in data.columns})
        else:
            given.update(data)
    given.update({k: v for k, v in columns.items() if v is not None})
    known = {"characteristic_id", "ts", "seq", "value", "subgroup", *TEXT_COLUMNS}
    unknown = sorted(set(given) - known)
    if unknown:
        raise ParameterError(
            f"Unknown measurement column(s) {unknown}; the columns are {sorted(known)}."
        )
    for required in ("characteristic_id", "ts", "value"):
        if required not in given:
            raise ParameterError(f"The measurements need a {required!r} column.")

    value = _series("value", given["value"])
    if not (value.dtype.is_numeric() or value.dtype == pl.Null):
        raise _fail(f"value must be numbers; got a column of type {value.dtype}.")
    # + 0.0 turns -0.0 into 0.0, as SQLite stores it: reads are then bitwise equal on both
    varr = value.cast(pl.Float64).to_numpy().astype(np.float64, copy=False) + 0.0
    n = int(varr.shape[0])
    bad = ~np.isfinite(varr)
    if bad.any():
        i = _first_true(bad)
        raise _fail(f"value must be a finite number; row {i} has {float(varr[i])!r}.", i)

    cid_in = given["characteristic_id"]
    if isinstance(cid_in, (int, np.integer)):
        cid_in = np.full(n, int(cid_in), dtype=np.int64)
    cid = _int_column("characteristic_id", cid_in, n, lo=1, nullable=False).to_numpy()
    ts = _ts_column(given["ts"], n)
    if "seq" in given:
        seq = _int_column("seq", given["seq"], n, lo=0, nullable=False).to_numpy()
    else:
        seq = assign_seq(cid, ts)

    subgroup: IntArray | None = None
    subgroup_null: BoolArray | None = None
    if "subgroup" in given:
        sg = _int_column("subgroup", given["subgroup"], n, lo=0, nullable=True)
        nulls = sg.null_count()
        if nulls < n:
            subgroup = sg.fill_null(0).to_numpy().astype(np.int64, copy=False)
            if nulls:
                subgroup_null = sg.is_null().to_numpy()

    texts: dict[str, pl.Series] = {}
    for name in TEXT_COLUMNS:
        if name not in given:
            continue
        s = _series(name, given[name])
        if s.len() != n:
            raise ParameterError(
                f"The {name!r} column of the measurements has {s.len()} values; 'value' has {n}."
            )
        s = s.cast(pl.String)
        if s.null_count() == n:
            continue
        too_long = (s.str.len_chars() > TEXT_MAX_CHARS).fill_null(False)
        if too_long.any():
            i = _first_true(too_long.to_numpy())
            raise _fail(f"{name} holds at most {TEXT_MAX_CHARS} characters; row {i} is longer.", i)
        texts[name] = s

    # the key must be unique within the batch, or the unique index would reject the whole load
    if n > 1:
        order = np.lexsort((seq, ts, cid))
        same = (
            (cid[order][1:] == cid[order][:-1])
            & (ts[order][1:] == ts[order][:-1])
            & (seq[order][1:] == seq[order][:-1])
        )
        if same.any():
            j = _first_true(same)
            first, second = sorted((int(order[j]), int(order[j + 1])))
            raise _fail(
                f"rows {first} and {second} have the same characteristic, ts and seq; give each "
                "value of one characteristic and ts its own seq (or leave seq out).",
                second,
                code="duplicate_key",
            )
    return _Batch(cid, ts, seq, varr, subgroup, subgroup_null, texts)


# ------------------------------------------------------------------ PostgreSQL binary COPY rows
def _scatter(buf: npt.NDArray[np.uint8], pos: IntArray, values: npt.NDArray[Any]) -> None:
    """Write each fixed-size big-endian value at its byte position ``pos`` in ``buf``."""
    k = values.dtype.itemsize
    idx = (pos[:, None] + np.arange(k, dtype=np.int64)).ravel()
    buf[idx] = np.ascontiguousarray(values).view(np.uint8)


def _pg_fields(b: _Batch, with_index: int | None) -> list[tuple[str, Any, BoolArray | None]]:
    """(binary kind, values, null mask) of each column, in :meth:`_Batch.columns` order."""
    fields: list[tuple[str, Any, BoolArray | None]] = []
    if with_index is not None:
        fields.append((">i4", np.arange(with_index, with_index + b.n, dtype=np.int64), None))
    fields += [
        (">i4", b.characteristic_id, None),
        (">i8", b.ts - _PG_EPOCH_US, None),
        (">i4", b.seq, None),
        (">f8", b.value, None),
    ]
    if b.subgroup is not None:
        fields.append((">i4", b.subgroup, b.subgroup_null))
    for s in b.texts.values():
        fields.append(("text", s, s.is_null().to_numpy() if s.null_count() else None))
    return fields


def _pg_rows(b: _Batch, with_index: int | None = None) -> bytes:
    """The rows of ``b`` in PostgreSQL's binary COPY format (no header or trailer)."""
    fields = _pg_fields(b, with_index)
    n, nf = b.n, len(fields)
    if all(kind != "text" and null is None for kind, _, null in fields):
        # every row has the same layout: one structured array
        spec: list[tuple[str, str]] = [("n", ">i2")]
        for j, (kind, _, _) in enumerate(fields):
            spec += [(f"l{j}", ">i4"), (f"v{j}", kind)]
        rows = np.empty(n, dtype=np.dtype(spec))
        rows["n"] = nf
        for j, (kind, values, _) in enumerate(fields):
            rows[f"l{j}"] = np.dtype(kind).itemsize
            rows[f"v{j}"] = values
        return rows.tobytes()
    # rows of different lengths (nulls, text): compute each field's byte position and scatter
    lengths: list[IntArray] = []
    blobs: list[npt.NDArray[np.uint8] | None] = []
    for kind, values, null in fields:
        if kind == "text":
            s: pl.Series = values
            lengths.append(s.str.len_bytes().fill_null(0).to_numpy().astype(np.int64))
            joined = s.str.join("", ignore_nulls=True).item()
            blobs.append(np.frombuffer(joined.encode("utf-8"), dtype=np.uint8))
        else:
            size = np.dtype(kind).itemsize
            lengths.append(
                np.full(n, size, dtype=np.int64) if null is None else np.where(null, 0, size)
            )
            blobs.append(None)
    sizes = 2 + 4 * nf + np.sum(lengths, axis=0, dtype=np.int64)
    ends = np.cumsum(sizes)
    pos = ends - sizes
    buf = np.empty(int(ends[-1]) if n else 0, dtype=np.uint8)
    _scatter(buf, pos, np.full(n, nf, dtype=">i2"))
    pos += 2
    for (kind, values, null), length, blob in zip(fields, lengths, blobs, strict=True):
        header = length if null is None else np.where(null, -1, length)
        _scatter(buf, pos, header.astype(">i4"))
        pos += 4
        if blob is not None:
            src_start = np.cumsum(length) - length
            dest = np.repeat(pos - src_start, length) + np.arange(blob.size, dtype=np.int64)
            buf[dest] = blob
        elif null is None:
            _scatter(buf, pos, np.asarray(values).astype(kind))
        else:
            keep = ~null
            _scatter(buf, pos[keep], np.asarray(values)[keep].astype(kind))
        pos += length
    return buf.tobytes()


def _pg_copy(dbapi_conn: Any, table: str, b: _Batch, *, with_index: bool = False) -> None:
    cols = (["i"] if with_index else []) + b.columns()
    sql = f"COPY {table} ({', '.join(cols)}) FROM STDIN (FORMAT binary)"
    with dbapi_conn.cursor() as cur, cur.copy(sql) as copy:
        copy.write(_PGCOPY_HEADER)
        for lo in range(0, b.n, WRITE_BLOCK_ROWS):
            hi = min(lo + WRITE_BLOCK_ROWS, b.n)
            copy.write(_pg_rows(b.take(lo, hi), lo if with_index else None))
        copy.write(_PGCOPY_TRAILER)


# ------------------------------------------------------------------------- SQLite executemany
def _sqlite_rows(b: _Batch, with_index: int | None = None) -> Iterator[tuple[Any, ...]]:
    cols: list[Any] = []
    if with_index is not None:
        cols.append(range(with_index, with_index + b.n))
    cols += [b.characteristic_id.tolist(), b.ts.tolist(), b.seq.tolist(), b.value.tolist()]
    if b.subgroup is not None:
        sg: list[int | None] = b.subgroup.tolist()
        if b.subgroup_null is not None:
            for i in np.flatnonzero(b.subgroup_null).tolist():
                sg[i] = None
        cols.append(sg)
    cols += [s.to_list() for s in b.texts.values()]
    return zip(*cols, strict=True)


def _sqlite_insert(dbapi_conn: Any, table: str, b: _Batch, *, with_index: bool = False) -> None:
    cols = (["i"] if with_index else []) + b.columns()
    sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    cur = dbapi_conn.cursor()
    try:
        for lo in range(0, b.n, WRITE_BLOCK_ROWS):
            hi = min(lo + WRITE_BLOCK_ROWS, b.n)
            cur.executemany(sql, _sqlite_rows(b.take(lo, hi), lo if with_index else None))
    finally:
        cur.close()


# ------------------------------------------------------------------------------------ helpers
class _Tx:
    """The connection for ``bind``: an engine's own transaction, or the caller's connection."""

    def __init__(self, bind: Bind, *, write: bool) -> None:
        self.bind = bind
        self.write = write
        self.conn: Connection | None = None
        self._own: Any = None

    def __enter__(self) -> Connection:
        if isinstance(self.bind, Engine):
            self._own = self.bind.begin() if self.write else self.bind.connect()
            self.conn = self._own.__enter__()
        else:
            self.conn = self.bind
            if not self.conn.in_transaction():
                self.conn.begin()  # the caller's transaction: the caller commits
        assert self.conn is not None
        return self.conn

    def __exit__(self, *exc: Any) -> None:
        if self._own is not None:
            self._own.__exit__(*exc)


def _dbapi(conn: Connection) -> Any:
    return conn.connection.dbapi_connection


@contextmanager
def _driver_errors(conn: Connection, what: str) -> Iterator[None]:
    """Raise the driver's errors as SQLAlchemy's (IntegrityError, ...), as the ORM would."""
    dbapi = conn.dialect.loaded_dbapi
    try:
        yield
    except dbapi.Error as exc:
        raise DBAPIError.instance(what, None, exc, dbapi.Error, dialect=conn.dialect) from exc


def _write(conn: Connection, table: str, b: _Batch, *, with_index: bool = False) -> None:
    if b.n == 0:
        return
    raw = _dbapi(conn)
    with _driver_errors(conn, f"bulk insert into {table}"):
        if conn.dialect.name == "postgresql":
            _pg_copy(raw, table, b, with_index=with_index)
        elif conn.dialect.name == "sqlite":
            _sqlite_insert(raw, table, b, with_index=with_index)
        else:  # pragma: no cover - zhuoyue supports SQLite and PostgreSQL
            raise ParameterError(
                f"Bulk measurements need SQLite or PostgreSQL, not {conn.dialect.name}."
            )


def _us_to_datetime(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def _ts_param(conn: Connection, us: int) -> Any:
    """A µs timestamp as the driver takes it: an int on SQLite, an aware datetime otherwise."""
    return us if conn.dialect.name == "sqlite" else _us_to_datetime(us)


# ---------------------------------------------------------------------------------- insertion
def insert_measurements(
    bind: Bind,
    data: pl.DataFrame | Mapping[str, Any] | None = None,
    *,
    characteristic_id: Any = None,
    ts: Any = None,
    value: Any = None,
    seq: Any = None,
    subgroup: Any = None,
    lot: Any = None,
    serial: Any = None,
    machine: Any = None,
    operator: Any = None,
    msg_id: Any = None,
) -> int:
    """Append measurement rows (see the module notes); returns the number of rows written.

    A key ``(characteristic_id, ts, seq)`` that is already stored makes the database reject the
    whole call (:class:`sqlalchemy.exc.IntegrityError`); :func:`merge_measurements` skips or
    reports such rows instead.
    """
    b = _batch(
        data,
        dict(
            characteristic_id=characteristic_id, ts=ts, value=value, seq=seq, subgroup=subgroup,
            lot=lot, serial=serial, machine=machine, operator=operator, msg_id=msg_id,
        ),
    )  # fmt: skip
    with _Tx(bind, write=True) as conn:
        _write(conn, "measurement", b)
    return b.n


def _overlaps(conn: Connection, b: _Batch) -> bool:
    """Whether any stored row of the batch's characteristics lies in the batch's time span."""
    if b.n == 0:
        return False
    frame = pl.DataFrame({"c": b.characteristic_id, "t": b.ts})
    spans = frame.group_by("c").agg(pl.col("t").min().alias("lo"), pl.col("t").max().alias("hi"))
    raw = _dbapi(conn)
    sql = (
        "SELECT 1 FROM measurement WHERE characteristic_id = {p} AND ts >= {p} AND ts <= {p} "
        "LIMIT 1"
    ).format(p="%s" if conn.dialect.name == "postgresql" else "?")
    cur = raw.cursor()
    try:
        for c, lo, hi in spans.iter_rows():
            cur.execute(sql, (c, _ts_param(conn, lo), _ts_param(conn, hi)))
            if cur.fetchone() is not None:
                return True
    finally:
        cur.close()
    return False


def merge_measurements(
    bind: Bind,
    data: pl.DataFrame | Mapping[str, Any] | None = None,
    *,
    on_conflict: Literal["abort", "skip"] = "abort",
    characteristic_id: Any = None,
    ts: Any = None,
    value: Any = None,
    seq: Any = None,
    subgroup: Any = None,
    lot: Any = None,
    serial: Any = None,
    machine: Any = None,
    operator: Any = None,
    msg_id: Any = None,
) -> MergeResult:
    """Insert the rows whose key is not stored yet; skip identical rows; report conflicts.

    A row is identical when every column (value, subgroup and the text columns; a column not
    given counts as null) equals the stored row of the same key; otherwise it is a conflict.
    ``on_conflict="abort"`` (default) writes nothing when there is a conflict;
    ``"skip"`` inserts the new rows anyway and leaves the conflicting ones as stored.

    When no stored row of the batch's characteristics falls in the batch's time span, the rows
    are written directly (the first import of a file); otherwise they go to a temporary table and
    are compared in SQL.
    """
    if on_conflict not in ("abort", "skip"):
        raise ParameterError(
            f"The 'on_conflict' parameter of merge_measurements must be 'abort' or 'skip'. "
            f"Got {on_conflict!r}."
        )
    b = _batch(
        data,
        dict(
            characteristic_id=characteristic_id, ts=ts, value=value, seq=seq, subgroup=subgroup,
            lot=lot, serial=serial, machine=machine, operator=operator, msg_id=msg_id,
        ),
    )  # fmt: skip
    with _Tx(bind, write=True) as conn:
        if not _overlaps(conn, b):
            _write(conn, "measurement", b)
            return MergeResult(b.n, 0, _no_conflicts())
        return _merge_via_temp(conn, b, on_conflict)


_PAYLOAD = ("value", "subgroup", *TEXT_COLUMNS)
_TEMP_TYPES = {
    "postgresql": {"i": "int4", "characteristic_id": "int4", "ts": "timestamptz", "seq": "int4",
                   "value": "float8", "subgroup": "int4", "text": "text"},
    "sqlite": {"i": "INTEGER", "characteristic_id": "INTEGER", "ts": "INTEGER", "seq": "INTEGER",
               "value": "REAL", "subgroup": "INTEGER", "text": "TEXT"},
}  # fmt: skip


def _no_conflicts() -> pl.DataFrame:
    schema: dict[str, Any] = {
        "index": pl.Int64,
        "characteristic_id": pl.Int64,
        "ts": pl.Datetime("us", "UTC"),
        "seq": pl.Int64,
        "value": pl.Float64,
        "stored_id": pl.Int64,
        "stored_value": pl.Float64,
        "stored_subgroup": pl.Int64,
    }
    schema.update({f"stored_{c}": pl.String for c in TEXT_COLUMNS})
    return pl.DataFrame(schema=schema)


def _merge_via_temp(conn: Connection, b: _Batch, on_conflict: str) -> MergeResult:
    """Load the batch into a temporary table, count identical rows, list conflicts, insert."""
    dialect = conn.dialect.name
    types = _TEMP_TYPES[dialect]
    table = f"zy_merge_{uuid.uuid4().hex[:12]}"
    cols = ["i", *b.columns()]
    ddl = ", ".join(f"{c} {types.get(c, types['text'])}" for c in cols)
    raw = _dbapi(conn)
    temp = "CREATE TEMPORARY TABLE" if dialect == "postgresql" else "CREATE TEMP TABLE"
    cur = raw.cursor()
    try:
        with _driver_errors(conn, "merge of measurements"):
            return _merge_in_temp(conn, cur, b, table, f"{temp} {table} ({ddl})", on_conflict)
    finally:
        cur.close()


def _merge_in_temp(
    conn: Connection, cur: Any, b: _Batch, table: str, create: str, on_conflict: str
) -> MergeResult:
    dialect = conn.dialect.name
    cur.execute(create)
    _write(conn, table, b, with_index=True)
    if dialect == "postgresql":
        cur.execute(f"ANALYZE {table}")
    same_op = "IS NOT DISTINCT FROM" if dialect == "postgresql" else "IS"
    given = set(b.columns())
    same = " AND ".join(f"m.{c} {same_op} {'b.' + c if c in given else 'NULL'}" for c in _PAYLOAD)
    join = (
        f"FROM {table} b JOIN measurement m ON m.characteristic_id = b.characteristic_id "
        "AND m.ts = b.ts AND m.seq = b.seq"
    )
    cur.execute(f"SELECT count(*) {join} WHERE {same}")
    identical = int(cur.fetchone()[0])
    stored = ", ".join(f"m.{c}" for c in _PAYLOAD)
    cur.execute(
        f"SELECT b.i, b.characteristic_id, b.ts, b.seq, b.value, m.id, {stored} "
        f"{join} WHERE NOT ({same}) ORDER BY b.i"
    )
    rows = cur.fetchall()
    conflicts = _conflict_frame(rows, dialect)
    inserted = 0
    if conflicts.height == 0 or on_conflict == "skip":
        data_cols = ", ".join(b.columns())
        cur.execute(
            f"INSERT INTO measurement ({data_cols}) SELECT {data_cols} FROM {table} b "
            "WHERE NOT EXISTS (SELECT 1 FROM measurement m WHERE m.characteristic_id = "
            "b.characteristic_id AND m.ts = b.ts AND m.seq = b.seq) ORDER BY b.i"
        )
        inserted = int(cur.rowcount)
    cur.execute(f"DROP TABLE {table}")
    return MergeResult(inserted, identical, conflicts)


def _conflict_frame(rows: Sequence[Sequence[Any]], dialect: str) -> pl.DataFrame:
    empty = _no_conflicts()
    if not rows:
        return empty
    names = empty.columns
    cols: dict[str, list[Any]] = {name: [r[j] for r in rows] for j, name in enumerate(names)}
    if dialect == "sqlite":
        cols["ts"] = [_us_to_datetime(t) for t in cols["ts"]]
    return pl.DataFrame(cols, schema=empty.schema)


# -------------------------------------------------------------------------------------- reads
def _bound_us(value: datetime | np.datetime64 | None, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, np.datetime64):
        if np.isnat(value):
            raise ParameterError(
                f"The {name!r} parameter of read_series must be a date-time, not NaT."
            )
        return int(value.astype("datetime64[us]").astype(np.int64))
    if isinstance(value, datetime):
        aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value
        return (aware - _EPOCH) // timedelta(microseconds=1)
    raise ParameterError(
        f"The {name!r} parameter of read_series must be a datetime or numpy.datetime64. "
        f"Got {value!r}."
    )


def read_series(
    bind: Bind,
    characteristic_id: int,
    start: datetime | np.datetime64 | None = None,
    end: datetime | np.datetime64 | None = None,
) -> Series:
    """The values of one characteristic with ``start <= ts < end``, ordered by ``(ts, seq)``.

    ``ts`` is ``datetime64[us]`` (UTC), ``value`` float64, ``subgroup`` int64 with
    :data:`NO_SUBGROUP` where a value has none. Naive ``start``/``end`` are UTC.
    """
    lo = _bound_us(start, "start")
    hi = _bound_us(end, "end")
    with _Tx(bind, write=False) as conn:
        if conn.dialect.name == "postgresql":
            ts, value, subgroup = _pg_read(conn, int(characteristic_id), lo, hi)
        else:
            ts, value, subgroup = _sqlite_read(conn, int(characteristic_id), lo, hi)
    return Series(ts.view("datetime64[us]"), value, subgroup)


def _sqlite_read(
    conn: Connection, cid: int, lo: int | None, hi: int | None
) -> tuple[IntArray, FloatArray, IntArray]:
    where = "characteristic_id = ?"
    params: list[int] = [cid]
    if lo is not None:
        where += " AND ts >= ?"
        params.append(lo)
    if hi is not None:
        where += " AND ts < ?"
        params.append(hi)
    sql = f"SELECT ts, value, subgroup FROM measurement WHERE {where} ORDER BY ts, seq"
    cur = _dbapi(conn).cursor()
    try:
        rows = cur.execute(sql, params).fetchall()
    finally:
        cur.close()
    if not rows:
        return np.zeros(0, np.int64), np.zeros(0, np.float64), np.zeros(0, np.int64)
    # one C-level conversion of all rows; a NULL subgroup becomes NaN
    table = np.array(rows, dtype=np.float64)
    tsf = table[:, 0]
    if np.abs(tsf).max() < _EXACT_F64:
        ts = tsf.astype(np.int64)
    else:  # pragma: no cover - timestamps before 1685 or after 2255
        ts = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    value = np.ascontiguousarray(table[:, 1])
    sgf = table[:, 2]
    subgroup = np.where(np.isnan(sgf), NO_SUBGROUP, sgf).astype(np.int64)
    return ts, value, subgroup


_PG_ROW = np.dtype([("ts", ">i8"), ("seq", ">i4"), ("value", ">f8"), ("subgroup", ">i4")])


def _pg_read(
    conn: Connection, cid: int, lo: int | None, hi: int | None
) -> tuple[IntArray, FloatArray, IntArray]:
    pack = (
        "string_agg(timestamptz_send(ts) || int4send(seq) || float8send(value) || "
        f"int4send(coalesce(subgroup, {NO_SUBGROUP})), ''::bytea)"
    )
    pages: list[npt.NDArray[np.void]] = []
    after: tuple[datetime, int] | None = None
    raw = _dbapi(conn)
    with raw.cursor(binary=True) as cur:
        while True:
            where = "characteristic_id = %s"
            params: list[Any] = [cid]
            if lo is not None:
                where += " AND ts >= %s"
                params.append(_ts_param(conn, lo))
            if hi is not None:
                where += " AND ts < %s"
                params.append(_ts_param(conn, hi))
            if after is not None:
                where += " AND (ts, seq) > (%s, %s)"
                params += list(after)
            # the aggregate reads the ordered, limited subquery in its order (checked below)
            cur.execute(
                f"SELECT {pack} FROM (SELECT ts, seq, value, subgroup FROM measurement "
                f"WHERE {where} ORDER BY ts, seq LIMIT {PG_PAGE_ROWS}) AS page",
                params,
            )
            row = cur.fetchone()
            blob = row[0] if row is not None else None
            if not blob:
                break
            page = np.frombuffer(blob, dtype=_PG_ROW)
            pages.append(page)
            if page.shape[0] < PG_PAGE_ROWS:
                break
            last = page[-1]
            after = (_ts_param(conn, int(last["ts"]) + _PG_EPOCH_US), int(last["seq"]))
    if not pages:
        return np.zeros(0, np.int64), np.zeros(0, np.float64), np.zeros(0, np.int64)
    rows = np.concatenate(pages) if len(pages) > 1 else pages[0]
    ts = rows["ts"].astype(np.int64) + _PG_EPOCH_US
    seq = rows["seq"].astype(np.int64)
    ordered = (ts[1:] > ts[:-1]) | ((ts[1:] == ts[:-1]) & (seq[1:] > seq[:-1]))
    if not ordered.all():  # pragma: no cover - PostgreSQL keeps the subquery order
        order = np.lexsort((seq, ts))
        rows, ts = rows[order], ts[order]
    return ts, rows["value"].astype(np.float64), rows["subgroup"].astype(np.int64)
