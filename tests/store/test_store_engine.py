"""SQLite transactions beside a busy writer (the online monitor commits many times a second).

A transaction that reads and then writes must wait for the writer instead of failing with
"database is locked"; a transaction that says it only reads (``READ_ONLY``) must neither wait for
the writer nor hold it up.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session

from zhuoyue.store.engine import READ_ONLY, make_engine, session_factory


def _engine(tmp_path: Path) -> Engine:
    eng = make_engine(f"sqlite:///{tmp_path / 'busy.db'}")
    with eng.begin() as c:
        c.execute(text("CREATE TABLE t (k INTEGER PRIMARY KEY, v INTEGER NOT NULL)"))
        c.execute(text("INSERT INTO t (k, v) VALUES (1, 0)"))
    return eng


def _statements(eng: Engine) -> list[str]:
    seen: list[str] = []

    @event.listens_for(eng, "before_cursor_execute")
    def _record(conn: object, cursor: object, statement: str, *rest: object) -> None:
        seen.append(statement)

    return seen


def test_begin_is_immediate_unless_the_transaction_only_reads(tmp_path: Path) -> None:
    eng = _engine(tmp_path)
    seen = _statements(eng)
    sessions = session_factory(eng)
    with sessions() as s:
        s.execute(text("SELECT v FROM t"))
        s.rollback()
    with sessions() as s:
        s.connection(execution_options={READ_ONLY: True})
        s.execute(text("SELECT v FROM t"))
        s.rollback()
    assert [st for st in seen if st.startswith("BEGIN")] == ["BEGIN IMMEDIATE", "BEGIN"]
    eng.dispose()


def test_read_then_write_waits_for_a_writer_instead_of_failing(tmp_path: Path) -> None:
    """The case that failed with a deferred BEGIN: read, another connection commits, then write."""
    eng = _engine(tmp_path)
    sessions = session_factory(eng)
    started = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            with sessions.begin() as w:
                w.execute(text("UPDATE t SET v = v + 1 WHERE k = 1"))
                started.set()
                time.sleep(0.3)  # holds the write lock while the other transaction wants it
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
            started.set()

    th = threading.Thread(target=writer)
    th.start()
    started.wait(5)
    with sessions.begin() as s:  # waits (busy_timeout) for the writer, then reads its commit
        v = s.execute(text("SELECT v FROM t WHERE k = 1")).scalar_one()
        s.execute(text("UPDATE t SET v = :v WHERE k = 1"), {"v": v + 10})
    th.join()
    assert errors == []
    with eng.connect() as c:
        assert c.execute(text("SELECT v FROM t WHERE k = 1")).scalar_one() == 11
    eng.dispose()


def test_a_read_only_transaction_reads_its_snapshot_while_a_writer_holds_the_lock(
    tmp_path: Path,
) -> None:
    eng = _engine(tmp_path)
    sessions = session_factory(eng)
    holding = threading.Event()
    release = threading.Event()

    def writer() -> None:
        with sessions.begin() as w:
            w.execute(text("UPDATE t SET v = 5 WHERE k = 1"))
            holding.set()
            release.wait(10)

    th = threading.Thread(target=writer)
    th.start()
    assert holding.wait(5)
    try:
        reader: Session
        with sessions() as reader:
            reader.connection(execution_options={READ_ONLY: True})
            v = reader.execute(text("SELECT v FROM t WHERE k = 1")).scalar_one()
            reader.rollback()
        # the value committed before the writer began: a BEGIN IMMEDIATE would have waited here
        # until the writer committed (after `release`, 10 s) and then read 5
        assert v == 0
    finally:
        release.set()
        th.join()
    with eng.connect() as c:
        assert c.execute(text("SELECT v FROM t WHERE k = 1")).scalar_one() == 5
    eng.dispose()
