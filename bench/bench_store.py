"""Time zhuoyue.store.bulk against the raw database drivers doing the same work.

Run from the project root::

    .venv/bin/python bench/bench_store.py [--rows 1e6] [--repeat 3] [--no-postgres] [--json out.json]

For SQLite (a file in a temporary folder, migrated to head) and PostgreSQL (a throwaway server
started by ``tests/fixtures_db.start_postgres``, fsync off), in one run, best of ``--repeat``,
with the zhuoyue and raw runs interleaved:

* **insert**: ``--rows`` measurement rows of one characteristic (characteristic_id, ts, seq,
  subgroup, value; from NumPy arrays) into the empty table, through
  ``bulk.insert_measurements`` vs the raw driver: sqlite3 ``executemany`` in one transaction,
  psycopg ``COPY ... FROM STDIN`` with ``write_row`` (rows built from the same arrays with
  ``tolist``; the time includes building them). The table keeps its indexes and foreign key.
* **insert+text**: the same with two text columns (lot, operator), which takes the general
  (variable-length) path of the binary COPY encoder.
* **read**: one characteristic's values into NumPy through ``bulk.read_series`` (ts as
  datetime64[us], value float64, subgroup int64, ordered by ts and seq) vs the raw driver's
  ``fetchall`` of ``SELECT value ... ORDER BY ts, seq`` into ``numpy.array`` (one column: the
  floor) and of all three columns (``read3``: ``numpy.array(rows, dtype=object)``, untyped).

Target (issue 5): within 2x of the raw driver. The Markdown table goes to stdout, progress to
stderr; ``--json`` writes the numbers and the versions.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import json
import os
import platform
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from fixtures_db import PostgresUnavailable, start_postgres
from zhuoyue.store import bulk, migrate
from zhuoyue.store.engine import make_engine, transaction
from zhuoyue.store.models import Characteristic, Organization

SEED = 4754
TARGET = 2.0
T0 = np.datetime64("2024-01-01T00:00:00", "us")
READ_SQL = "SELECT {cols} FROM measurement WHERE characteristic_id = {p} ORDER BY ts, seq"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def make_data(n: int) -> dict[str, Any]:
    rng = np.random.default_rng(SEED)
    # one value every 2 s, 5 per subgroup, a few at the same instant (seq > 0)
    ts = T0 + np.arange(n, dtype=np.int64) * np.timedelta64(2, "s")
    ts[1::97] = ts[0:-1:97]
    return {
        "ts": ts,
        "seq": bulk.assign_seq(np.ones(n, dtype=np.int64), ts),
        "subgroup": np.arange(n, dtype=np.int64) // 5,
        "value": 25.4 + 0.01 * rng.standard_normal(n),
        "lot": np.array([f"L{i // 5000:05d}" for i in range(n)], dtype=object),
        "operator": np.array(["张三", "李四", "王五", "Zoë"] * (n // 4 + 1), dtype=object)[:n],
    }


def best(fn: Callable[[], Any], prepare: Callable[[], Any] | None, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        if prepare is not None:
            prepare()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def interleaved(
    tasks: dict[str, Callable[[], Any]], prepare: Callable[[], Any] | None, repeat: int
) -> dict[str, float]:
    out = {k: float("inf") for k in tasks}
    for _ in range(repeat):
        for name, fn in tasks.items():
            out[name] = min(out[name], best(fn, prepare, 1))
    return out


def setup_db(url: str) -> tuple[sa.Engine, int]:
    migrate.upgrade(url)
    engine = make_engine(url)
    with transaction(engine) as s:
        org = Organization(code="bench", name="Bench")
        s.add(org)
        s.flush()
        char = Characteristic(org_id=org.id, code="d1", subgroup_size=5)
        s.add(char)
        s.flush()
        return engine, char.id


# ----------------------------------------------------------------------------------- SQLite
def bench_sqlite(folder: Path, data: dict[str, Any], repeat: int) -> list[dict[str, Any]]:
    path = folder / "bench.db"
    engine, cid = setup_db(f"sqlite:///{path}")
    n = data["value"].size
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("PRAGMA foreign_keys=ON")
    raw.execute("PRAGMA synchronous=NORMAL")
    raw.execute("PRAGMA busy_timeout=30000")

    def clear() -> None:
        raw.execute("DELETE FROM measurement")

    def z_insert(text: bool) -> Callable[[], Any]:
        extra = {"lot": data["lot"], "operator": data["operator"]} if text else {}
        return lambda: bulk.insert_measurements(
            engine, characteristic_id=cid, ts=data["ts"], seq=data["seq"],
            subgroup=data["subgroup"], value=data["value"], **extra,
        )  # fmt: skip

    def raw_insert(text: bool) -> Callable[[], Any]:
        def run() -> None:
            cols = [
                [cid] * n,
                data["ts"].view(np.int64).tolist(),  # zhuoyue's SQLite storage: µs since epoch
                data["seq"].tolist(),
                data["subgroup"].tolist(),
                data["value"].tolist(),
            ]
            names = "characteristic_id, ts, seq, subgroup, value"
            if text:
                cols += [data["lot"].tolist(), data["operator"].tolist()]
                names += ", lot, operator"
            marks = ", ".join("?" * len(cols))
            raw.execute("BEGIN")
            raw.executemany(
                f"INSERT INTO measurement ({names}) VALUES ({marks})", zip(*cols, strict=True)
            )
            raw.execute("COMMIT")

        return run

    rows: list[dict[str, Any]] = []
    for task, text in (("insert", False), ("insert+text", True)):
        log(f"sqlite {task} ...")
        t = interleaved({"zhuoyue": z_insert(text), "raw": raw_insert(text)}, clear, repeat)
        rows.append(row("sqlite", task, n, t["zhuoyue"], t["raw"], "sqlite3 executemany"))

    clear()
    z_insert(False)()
    raw.execute("ANALYZE")

    def raw_read1() -> Any:
        rs = raw.execute(READ_SQL.format(cols="value", p="?"), (cid,)).fetchall()
        return np.array(rs)[:, 0]

    def raw_read3() -> Any:
        rs = raw.execute(READ_SQL.format(cols="ts, value, subgroup", p="?"), (cid,)).fetchall()
        return np.array(rs, dtype=object)

    def z_read() -> Any:
        return bulk.read_series(engine, cid)

    check_read(z_read(), data)
    log("sqlite read ...")
    t = interleaved({"zhuoyue": z_read, "raw1": raw_read1, "raw3": raw_read3}, None, repeat)
    rows.append(row("sqlite", "read", n, t["zhuoyue"], t["raw1"], "fetchall value → np.array"))
    rows.append(row("sqlite", "read3", n, t["zhuoyue"], t["raw3"], "fetchall 3 columns → np.array"))
    raw.close()
    engine.dispose()
    return rows


# ------------------------------------------------------------------------------- PostgreSQL
def bench_postgres(data: dict[str, Any], repeat: int) -> tuple[list[dict[str, Any]], str]:
    import psycopg

    url, stop = start_postgres()
    try:
        engine, cid = setup_db(url)
        n = data["value"].size
        conninfo = sa.make_url(url).set(drivername="postgresql").render_as_string(False)
        raw = psycopg.connect(conninfo, autocommit=False)
        raw.execute("SET TIME ZONE 'UTC'")
        version = str(raw.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
        raw.commit()

        def clear() -> None:
            raw.execute("TRUNCATE measurement")
            raw.commit()

        def z_insert(text: bool) -> Callable[[], Any]:
            extra = {"lot": data["lot"], "operator": data["operator"]} if text else {}
            return lambda: bulk.insert_measurements(
                engine, characteristic_id=cid, ts=data["ts"], seq=data["seq"],
                subgroup=data["subgroup"], value=data["value"], **extra,
            )  # fmt: skip

        def raw_insert(text: bool) -> Callable[[], Any]:
            def run() -> None:
                cols = [
                    [cid] * n,
                    data["ts"].tolist(),  # naive datetimes, UTC session
                    data["seq"].tolist(),
                    data["subgroup"].tolist(),
                    data["value"].tolist(),
                ]
                names = "characteristic_id, ts, seq, subgroup, value"
                if text:
                    cols += [data["lot"].tolist(), data["operator"].tolist()]
                    names += ", lot, operator"
                with (
                    raw.cursor() as cur,
                    cur.copy(f"COPY measurement ({names}) FROM STDIN") as copy,
                ):
                    for r in zip(*cols, strict=True):
                        copy.write_row(r)
                raw.commit()

            return run

        rows: list[dict[str, Any]] = []
        for task, text in (("insert", False), ("insert+text", True)):
            log(f"postgresql {task} ...")
            t = interleaved({"zhuoyue": z_insert(text), "raw": raw_insert(text)}, clear, repeat)
            rows.append(
                row("postgresql", task, n, t["zhuoyue"], t["raw"], "psycopg COPY write_row")
            )

        clear()
        z_insert(False)()
        raw.autocommit = True
        raw.execute("VACUUM ANALYZE measurement")
        raw.autocommit = False

        def raw_read1() -> Any:
            with raw.cursor() as cur:
                cur.execute(READ_SQL.format(cols="value", p="%s"), (cid,))
                out = np.array(cur.fetchall())[:, 0]
            raw.rollback()
            return out

        def raw_read3() -> Any:
            with raw.cursor() as cur:
                cur.execute(READ_SQL.format(cols="ts, value, subgroup", p="%s"), (cid,))
                out = np.array(cur.fetchall(), dtype=object)
            raw.rollback()
            return out

        def z_read() -> Any:
            return bulk.read_series(engine, cid)

        check_read(z_read(), data)
        log("postgresql read ...")
        t = interleaved({"zhuoyue": z_read, "raw1": raw_read1, "raw3": raw_read3}, None, repeat)
        rows.append(
            row("postgresql", "read", n, t["zhuoyue"], t["raw1"], "fetchall value → np.array")
        )
        rows.append(
            row("postgresql", "read3", n, t["zhuoyue"], t["raw3"], "fetchall 3 columns → np.array")
        )
        raw.close()
        engine.dispose()
        return rows, version
    finally:
        stop()


def check_read(s: bulk.Series, data: dict[str, Any]) -> None:
    order = np.lexsort((data["seq"], data["ts"]))
    assert np.array_equal(s.ts, data["ts"][order])
    assert np.array_equal(s.value.view(np.uint64), data["value"][order].view(np.uint64))
    assert np.array_equal(s.subgroup, data["subgroup"][order])


def row(backend: str, task: str, n: int, z: float, raw: float, raw_name: str) -> dict[str, Any]:
    return {
        "backend": backend,
        "task": task,
        "rows": n,
        "zhuoyue_s": round(z, 4),
        "raw_s": round(raw, 4),
        "raw": raw_name,
        "ratio": round(z / raw, 3),
        "zhuoyue_rows_per_s": round(n / z),
        "within_target": z / raw <= TARGET,
    }


def versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version}
    for pkg in ("numpy", "polars", "sqlalchemy", "psycopg", "alembic"):
        try:
            out[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:  # pragma: no cover
            out[pkg] = "-"
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=float, default=1e6)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-postgres", action="store_true", help="SQLite only")
    ap.add_argument("--json", type=Path, help="write the results here")
    args = ap.parse_args(argv)
    n = int(args.rows)
    log(f"generating {n:,} rows ...")
    data = make_data(n)
    results: list[dict[str, Any]] = []
    env = versions()
    with tempfile.TemporaryDirectory(prefix="zhuoyue-bench-") as tmp:
        results += bench_sqlite(Path(tmp), data, args.repeat)
    if not args.no_postgres:
        try:
            pg_rows, pg_version = bench_postgres(data, args.repeat)
            results += pg_rows
            env["postgresql"] = pg_version
        except PostgresUnavailable as exc:
            log(f"PostgreSQL skipped: {exc}")

    print(f"\n{n:,} measurement rows, best of {args.repeat}; target: zhuoyue ≤ {TARGET}× raw\n")
    print("| backend | task | zhuoyue s | raw driver | raw s | ratio | zhuoyue rows/s |")
    print("|---|---|---:|---|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['backend']} | {r['task']} | {r['zhuoyue_s']:.3f} | {r['raw']} | "
            f"{r['raw_s']:.3f} | {r['ratio']:.2f} | {r['zhuoyue_rows_per_s']:,} |"
        )
    print("\n" + ", ".join(f"{k} {v}" for k, v in env.items()) + f", {os.cpu_count()} CPUs")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    "rows": n,
                    "repeat": args.repeat,
                    "target_ratio": TARGET,
                    "environment": {**env, "cpus": os.cpu_count(), "machine": platform.machine()},
                    "results": results,
                },
                indent=2,
                ensure_ascii=False,
            )
            + "\n",
            encoding="utf-8",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
