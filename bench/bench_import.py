"""Time ``zhuoyue import`` of 10^6 measurement rows from CSV against the raw drivers.

Run from the project root::

    .venv/bin/python bench/bench_import.py [--rows 1e6] [--chars 4] [--repeat 3] [--no-postgres]
                                           [--json out.json]

One CSV folder (``characteristics.csv`` with ``--chars`` characteristics and ``measurements.csv``
with ``--rows`` rows: characteristic, ts, subgroup, value; subgroups of 5, one value every 2 s) is
loaded into SQLite (a file in a temporary folder) and into PostgreSQL (a throwaway server from
``tests/fixtures_db.start_postgres``, fsync off), each migrated to head, with the organization and
its characteristics imported first. Best of ``--repeat``, runs interleaved, the measurement table
emptied before each run:

* **zhuoyue**: ``services.importing.import_data(engine, folder, org_code=...)`` — what
  ``zhuoyue import`` runs: read and check the CSV (the workbook reader), map codes to ids, number
  the values (seq), merge into the table (binary COPY / one executemany) in one transaction.
* **raw csv → driver** (the same work by hand): Python's ``csv`` reader, ``datetime.fromisoformat``,
  ``float``/``int`` per row, streamed into sqlite3 ``executemany`` in one transaction, or psycopg
  ``COPY ... FROM STDIN`` with ``write_row``. No checks, no seq.
* **raw insert only** (the floor): the rows already parsed into Python lists; only the driver call
  is timed.

``reimport`` times the second import of the same file (every row identical: the merge compares
through a temporary table); it has no raw counterpart.

Target (issue 5): zhuoyue within 2x of the raw driver. The Markdown table goes to stdout, progress
to stderr; ``--json`` writes the numbers and the versions.
"""

from __future__ import annotations

import argparse
import csv
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
import polars as pl
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from fixtures_db import PostgresUnavailable, start_postgres
from zhuoyue.services.importing import import_data
from zhuoyue.store import migrate
from zhuoyue.store.engine import make_engine
from zhuoyue.store.models import Characteristic, Organization

SEED = 4754
TARGET = 2.0
ORG = "bench"
EPOCH = dt.datetime(1970, 1, 1)
US = dt.timedelta(microseconds=1)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def make_files(root: Path, n: int, n_chars: int) -> tuple[Path, Path]:
    """(master folder: characteristics.csv; data folder: measurements.csv)."""
    master, data = root / "master", root / "data"
    master.mkdir()
    data.mkdir()
    codes = [f"D{i + 1:02d}" for i in range(n_chars)]
    pl.DataFrame(
        {
            "code": codes,
            "step": ["OP40"] * n_chars,
            "lsl": [24.97] * n_chars,
            "usl": [25.03] * n_chars,
            "subgroup_size": [5] * n_chars,
            "key": ["TRUE"] * n_chars,
        }
    ).write_csv(master / "characteristics.csv")
    rng = np.random.default_rng(SEED)
    per = -(-n // n_chars)
    i = np.arange(n, dtype=np.int64)
    char = i // per
    k = i - char * per
    ts = np.datetime64("2024-01-01T00:00:00", "us") + k * np.timedelta64(2, "s")
    pl.DataFrame(
        {
            "characteristic": np.array(codes)[char],
            "ts": ts,
            "subgroup": k // 5 + 1,
            "value": np.round(25.0 + 0.008 * rng.standard_normal(n), 5),
        }
    ).write_csv(data / "measurements.csv", datetime_format="%Y-%m-%d %H:%M:%S")
    return master, data


def char_ids(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(Characteristic.code, Characteristic.id)
            .join(Organization)
            .where(Organization.code == ORG)
        ).all()
    return {c: i for c, i in rows}


def parsed_rows(path: Path, ids: dict[str, int], *, sqlite: bool) -> list[tuple[Any, ...]]:
    out = []
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        next(reader)
        for c, ts, sg, v in reader:
            t = dt.datetime.fromisoformat(ts)
            out.append((ids[c], (t - EPOCH) // US if sqlite else t, int(sg), float(v)))
    return out


def interleaved(
    tasks: dict[str, Callable[[], Any]], prepare: Callable[[], Any], repeat: int
) -> dict[str, float]:
    out = {k: float("inf") for k in tasks}
    for _ in range(repeat):
        for name, fn in tasks.items():
            prepare()
            t0 = time.perf_counter()
            fn()
            out[name] = min(out[name], time.perf_counter() - t0)
    return out


def z_import(engine: sa.Engine, folder: Path) -> Callable[[], Any]:
    def run() -> None:
        report = import_data(engine, folder, org_code=ORG)
        assert report.tables["measurements"].inserted == report.tables["measurements"].rows

    return run


def setup(url: str, master: Path) -> tuple[sa.Engine, dict[str, int]]:
    migrate.upgrade(url)
    engine = make_engine(url)
    import_data(engine, master, org_code=ORG, create_org=True)
    return engine, char_ids(engine)


# ----------------------------------------------------------------------------------- SQLite
def bench_sqlite(root: Path, master: Path, data: Path, repeat: int) -> list[dict[str, Any]]:
    path = root / "bench.db"
    engine, ids = setup(f"sqlite:///{path}", master)
    csv_path = data / "measurements.csv"
    raw = sqlite3.connect(path, isolation_level=None)
    for pragma in ("foreign_keys=ON", "synchronous=NORMAL", "busy_timeout=30000"):
        raw.execute(f"PRAGMA {pragma}")
    sql = "INSERT INTO measurement (characteristic_id, ts, subgroup, value) VALUES (?, ?, ?, ?)"

    def clear() -> None:
        raw.execute("DELETE FROM measurement")

    def raw_csv() -> None:
        with csv_path.open(newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            next(reader)
            raw.execute("BEGIN")
            raw.executemany(
                sql,
                (
                    (ids[c], (dt.datetime.fromisoformat(ts) - EPOCH) // US, int(sg), float(v))
                    for c, ts, sg, v in reader
                ),
            )
            raw.execute("COMMIT")

    rows = parsed_rows(csv_path, ids, sqlite=True)

    def raw_insert() -> None:
        raw.execute("BEGIN")
        raw.executemany(sql, rows)
        raw.execute("COMMIT")

    log("sqlite import ...")
    t = interleaved(
        {"zhuoyue": z_import(engine, data), "raw_csv": raw_csv, "raw_insert": raw_insert},
        clear,
        repeat,
    )
    clear()
    z_import(engine, data)()
    reimport = min(timed(lambda: import_data(engine, data, org_code=ORG)) for _ in range(repeat))
    raw.close()
    engine.dispose()
    return results("sqlite", len(rows), t, reimport, "sqlite3 executemany, one transaction")


def timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


# ------------------------------------------------------------------------------- PostgreSQL
def bench_postgres(master: Path, data: Path, repeat: int) -> tuple[list[dict[str, Any]], str]:
    import psycopg

    url, stop = start_postgres()
    try:
        engine, ids = setup(url, master)
        csv_path = data / "measurements.csv"
        conninfo = sa.make_url(url).set(drivername="postgresql").render_as_string(False)
        raw = psycopg.connect(conninfo, autocommit=False)
        raw.execute("SET TIME ZONE 'UTC'")
        version = str(raw.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
        raw.commit()
        copy_sql = "COPY measurement (characteristic_id, ts, subgroup, value) FROM STDIN"

        def clear() -> None:
            raw.execute("TRUNCATE measurement")
            raw.commit()

        def raw_csv() -> None:
            with csv_path.open(newline="", encoding="utf-8") as fh:
                reader = csv.reader(fh)
                next(reader)
                with raw.cursor() as cur, cur.copy(copy_sql) as copy:
                    for c, ts, sg, v in reader:
                        copy.write_row((ids[c], dt.datetime.fromisoformat(ts), int(sg), float(v)))
            raw.commit()

        rows = parsed_rows(csv_path, ids, sqlite=False)

        def raw_insert() -> None:
            with raw.cursor() as cur, cur.copy(copy_sql) as copy:
                for r in rows:
                    copy.write_row(r)
            raw.commit()

        log("postgresql import ...")
        t = interleaved(
            {"zhuoyue": z_import(engine, data), "raw_csv": raw_csv, "raw_insert": raw_insert},
            clear,
            repeat,
        )
        clear()
        z_import(engine, data)()
        raw.autocommit = True
        raw.execute("VACUUM ANALYZE measurement")
        raw.autocommit = False
        reimport = min(
            timed(lambda: import_data(engine, data, org_code=ORG)) for _ in range(repeat)
        )
        raw.close()
        engine.dispose()
        return results("postgresql", len(rows), t, reimport, "psycopg COPY write_row"), version
    finally:
        stop()


def results(
    backend: str, n: int, t: dict[str, float], reimport: float, raw_name: str
) -> list[dict[str, Any]]:
    def row(task: str, z: float, raw_s: float | None, what: str) -> dict[str, Any]:
        return {
            "backend": backend,
            "task": task,
            "rows": n,
            "zhuoyue_s": round(z, 4),
            "raw": what,
            "raw_s": None if raw_s is None else round(raw_s, 4),
            "ratio": None if raw_s is None else round(z / raw_s, 3),
            "zhuoyue_rows_per_s": round(n / z),
            "within_target": None if raw_s is None else z / raw_s <= TARGET,
        }

    z = t["zhuoyue"]
    return [
        row("import CSV", z, t["raw_csv"], f"csv module → {raw_name}"),
        row("import CSV (vs insert only)", z, t["raw_insert"], f"parsed lists → {raw_name}"),
        row("reimport (all identical)", reimport, None, "-"),
    ]


def versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version}
    for pkg in ("numpy", "polars", "sqlalchemy", "psycopg", "alembic"):
        try:
            out[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:  # pragma: no cover
            out[pkg] = "-"
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--rows", type=float, default=1e6)
    ap.add_argument("--chars", type=int, default=4, help="characteristics the rows belong to")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-postgres", action="store_true", help="SQLite only")
    ap.add_argument("--json", type=Path, help="write the results here")
    args = ap.parse_args(argv)
    n = int(args.rows)
    results_: list[dict[str, Any]] = []
    env = versions()
    with tempfile.TemporaryDirectory(prefix="zhuoyue-bench-import-") as tmp:
        root = Path(tmp)
        log(f"writing {n:,} rows of {args.chars} characteristics as CSV ...")
        master, data = make_files(root, n, args.chars)
        size = (data / "measurements.csv").stat().st_size
        results_ += bench_sqlite(root, master, data, args.repeat)
        if not args.no_postgres:
            try:
                pg_rows, pg_version = bench_postgres(master, data, args.repeat)
                results_ += pg_rows
                env["postgresql"] = pg_version
            except PostgresUnavailable as exc:
                log(f"PostgreSQL skipped: {exc}")

    print(
        f"\n{n:,} measurement rows of {args.chars} characteristics from one CSV file "
        f"({size / 1e6:.1f} MB), best of {args.repeat}; target: zhuoyue ≤ {TARGET}× raw\n"
    )
    print("| backend | task | zhuoyue s | raw driver | raw s | ratio | zhuoyue rows/s |")
    print("|---|---|---:|---|---:|---:|---:|")
    for r in results_:
        raw_s = "-" if r["raw_s"] is None else f"{r['raw_s']:.3f}"
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}"
        print(
            f"| {r['backend']} | {r['task']} | {r['zhuoyue_s']:.3f} | {r['raw']} | {raw_s} | "
            f"{ratio} | {r['zhuoyue_rows_per_s']:,} |"
        )
    print("\n" + ", ".join(f"{k} {v}" for k, v in env.items()) + f", {os.cpu_count()} CPUs")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    "rows": n,
                    "characteristics": args.chars,
                    "csv_bytes": size,
                    "repeat": args.repeat,
                    "target_ratio": TARGET,
                    "environment": {**env, "cpus": os.cpu_count(), "machine": platform.machine()},
                    "results": results_,
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
