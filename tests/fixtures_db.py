"""Database fixtures: a throwaway PostgreSQL server and ``db_url`` over SQLite and PostgreSQL.

Use from any test folder with ``pytest_plugins = ["fixtures_db"]`` in the root ``conftest.py``
(``tests/`` is on ``sys.path`` in pytest's default import mode), or import the fixtures into a
folder's ``conftest.py`` as ``tests/store/conftest.py`` does. The server helpers are plain
functions so that ``bench/`` can start the same server::

    url, stop = start_postgres()
    try:
        ...
    finally:
        stop()

The server runs from the PostgreSQL binaries (``initdb``, ``pg_ctl``) found on ``PATH`` or under
``/usr/lib/postgresql/<version>/bin`` (Debian package ``postgresql``), in a fresh folder of the
system temporary directory, on a free loopback port, with fsync off (``-F``) and trust
authentication. Running as root, it runs as the ``postgres`` user (``runuser``), which owns the
folder. When the binaries are missing, the fixtures skip locally and fail on CI (``CI=true``).
"""

from __future__ import annotations

import atexit
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

__all__ = [
    "PostgresUnavailable",
    "create_database",
    "db_url",
    "empty_tables",
    "find_postgres_bin",
    "migrated_url",
    "pg_url",
    "start_postgres",
]

#: server settings for a disposable test server: no durability, small footprint
SERVER_OPTIONS = (
    "-F",  # fsync off
    "-c synchronous_commit=off",
    "-c full_page_writes=off",
    "-c max_connections=50",
    "-c shared_buffers=64MB",
    "-c max_wal_size=1GB",
)
DATABASE = "zhuoyue"


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL server binaries are not installed, or the server did not start."""


def find_postgres_bin() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``, or None when PostgreSQL is not installed."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).parent

    def version(p: Path) -> tuple[int, ...]:
        return tuple(int(x) for x in p.parent.name.split(".") if x.isdigit())

    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version, reverse=True)
    for cand in candidates:
        if (cand / "initdb").is_file() and (cand / "pg_ctl").is_file():
            return cand
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _runner() -> tuple[list[str], int | None, int | None]:
    """Command prefix and uid/gid to run the server as (``postgres`` when we are root)."""
    if os.geteuid() != 0:
        return [], None, None
    try:
        pw = pwd.getpwnam("postgres")
    except KeyError:
        raise PostgresUnavailable("running as root and there is no 'postgres' user") from None
    if shutil.which("runuser") is None:
        raise PostgresUnavailable("running as root and 'runuser' (util-linux) is not installed")
    return ["runuser", "-u", "postgres", "--"], pw.pw_uid, pw.pw_gid


def create_database(url: str, name: str, *, template: str | None = None) -> str:
    """Create database ``name`` on the server of ``url``; returns the URL of the new database."""
    import psycopg
    from sqlalchemy.engine import make_url

    u = make_url(url)
    conninfo = f"host={u.host} port={u.port} user={u.username} dbname=postgres"
    sql = f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(sql.encode())
    return u.set(database=name).render_as_string(hide_password=False)


def start_postgres(
    tmpdir: str | Path | None = None, *, database: str = DATABASE
) -> tuple[str, Callable[[], None]]:
    """Start a throwaway PostgreSQL server; returns its URL (database ``database``) and ``stop``.

    ``tmpdir`` is the parent of the server's own fresh folder (default: the system temporary
    directory). As root it must be reachable by the ``postgres`` user, so pytest's ``tmp_path``
    (mode 0700, owned by root) will not do. ``stop()`` stops the server and removes the folder.
    Raises :class:`PostgresUnavailable` when the binaries are missing or the server fails.
    """
    bindir = find_postgres_bin()
    if bindir is None:
        raise PostgresUnavailable(
            "PostgreSQL server binaries (initdb, pg_ctl) not found; install the Debian package "
            "'postgresql'"
        )
    prefix, uid, gid = _runner()
    root = Path(tempfile.mkdtemp(prefix="zhuoyue-pg-", dir=tmpdir))
    if uid is not None and gid is not None:
        os.chown(root, uid, gid)
    data = root / "data"
    log = root / "server.log"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*prefix, *args], check=False, capture_output=True, text=True, cwd=root, timeout=120
        )

    def stop() -> None:
        if (data / "postmaster.pid").exists():
            run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)

    atexit.register(stop)  # no server outlives the process, even when teardown never runs

    init = run(
        str(bindir / "initdb"),
        "-D",
        str(data),
        "-U",
        "postgres",
        "--auth=trust",
        "--encoding=UTF8",
        "--locale=C",
        "--no-sync",
    )
    if init.returncode != 0:
        stop()
        raise PostgresUnavailable(f"initdb failed:\n{init.stdout}\n{init.stderr}")
    for attempt in range(5):
        port = _free_port()
        options = " ".join((f"-k {root}", "-h 127.0.0.1", f"-p {port}", *SERVER_OPTIONS))
        started = run(
            str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "start"
        )
        if started.returncode == 0:
            break
        if attempt == 4:
            text = log.read_text(errors="replace") if log.exists() else ""
            stop()
            raise PostgresUnavailable(f"pg_ctl start failed:\n{started.stderr}\n{text}")
        time.sleep(0.2)
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    try:
        url = create_database(url, database)
    except Exception:
        stop()
        raise
    return url, stop


def _unavailable(message: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " (CI=true: the PostgreSQL tests must run on CI)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """URL of a throwaway PostgreSQL server's empty database ``zhuoyue`` (one per session)."""
    try:
        url, stop = start_postgres()
    except PostgresUnavailable as exc:
        _unavailable(str(exc))
        raise  # unreachable: skip/fail raise
    try:
        yield url
    finally:
        stop()


_counter = itertools.count(1)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of a fresh, empty database: a SQLite file in ``tmp_path``, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'zhuoyue.db'}"
    server: str = request.getfixturevalue("pg_url")
    return create_database(server, f"test_{os.getpid()}_{next(_counter)}")


def empty_tables(url: str) -> None:
    """Empty every table of a PostgreSQL database but ``alembic_version``; restart the ids."""
    import psycopg
    from sqlalchemy.engine import make_url

    u = make_url(url)
    conninfo = f"host={u.host} port={u.port} user={u.username} dbname={u.database}"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("SET lock_timeout = '10s'")  # a connection left open fails the test, not hangs
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT quote_ident(tablename) FROM pg_tables "
                "WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
            )
        ]
        if tables:
            conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE".encode())


@pytest.fixture(scope="session")
def _migrated_templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Per backend, the database migrated once per session (see :func:`migrated_url`)."""
    return {}


@pytest.fixture(params=["sqlite", "postgresql"])
def migrated_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    _migrated_templates: dict[str, str],
) -> str:
    """URL of an empty database migrated to ``head``; tests must not change its schema.

    SQLite: a copy of a file migrated once. PostgreSQL: one database migrated once, its tables
    emptied before each test (faster than a new database per test).
    """
    from zhuoyue.store import migrate

    backend: str = request.param
    if backend == "sqlite":
        template = _migrated_templates.get("sqlite")
        if template is None:
            path = tmp_path_factory.mktemp("template") / "template.db"
            migrate.upgrade(f"sqlite:///{path}")
            template = _migrated_templates["sqlite"] = str(path)
        target = tmp_path / "zhuoyue.db"
        shutil.copyfile(template, target)
        return f"sqlite:///{target}"
    url = _migrated_templates.get("postgresql")
    if url is None:
        server: str = request.getfixturevalue("pg_url")
        url = _migrated_templates["postgresql"] = create_database(server, "zhuoyue_migrated")
        migrate.upgrade(url)
    else:
        empty_tables(url)
    return url
