"""``zhuoyue demo``: builds the demo factory, prints the logins, serves the API (a real process)."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _zhuoyue(*args: str) -> list[str]:
    return [sys.executable, "-c", "from zhuoyue.cli.main import main; main()", *args]


def _brokers_of(folder: Path) -> list[str]:
    """Command lines of running mosquitto processes configured inside ``folder``."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        text = " ".join(a.decode(errors="replace") for a in args)
        if "mosquitto" in text and str(folder) in text:
            found.append(text)
    return found


def test_demo_builds_database_reports_and_serves(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    port = _free_port()
    env = {**os.environ, "ZHUOYUE_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.Popen(
        _zhuoyue("demo", "--out", str(out), "--port", str(port)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while True:
            if proc.poll() is not None:
                pytest.fail(f"demo exited with {proc.returncode}: {proc.stderr.read()}")
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("the demo server did not answer within 240 s")
            time.sleep(0.5)
        with httpx.Client(base_url=base, headers={"X-Requested-With": "test"}) as client:
            r = client.post(
                "/api/v1/auth/login", json={"username": "demo", "password": "zhuoyue-demo"}
            )
            assert r.status_code == 200, r.text
            chars = client.get("/api/v1/characteristics", params={"limit": 1000})
            assert chars.status_code == 200
            assert chars.json()["total"] == 40
            assert client.get("/docs").status_code == 200
            page = client.get("/login")  # the web app is mounted on the same server
            assert page.status_code == 200 and "zhuoyue" in page.text
            wrong = client.post(
                "/api/v1/auth/login", json={"username": "demo", "password": "wrong"}
            )
            assert wrong.status_code == 401
    finally:
        proc.terminate()
        try:
            _, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
    assert "demo / zhuoyue-demo" in err
    assert f"http://127.0.0.1:{port}/" in err
    # the live feed's private broker ends with the demo
    deadline = time.monotonic() + 10
    while _brokers_of(out):
        assert time.monotonic() < deadline, _brokers_of(out)
        time.sleep(0.2)
    for name in ("report.html", "capability.html", "declaration.pdf", "zhuoyue-demo.db"):
        assert (out / name).is_file(), name
    assert (out / "declaration.pdf").read_bytes().startswith(b"%PDF")
    with sqlite3.connect(out / "zhuoyue-demo.db") as db:
        assert db.execute("select count(*) from organization").fetchone()[0] == 2
        levels = dict(db.execute("select status, level from assessment").fetchall())
    assert levels["self_declared"] == 3


def test_demo_no_serve_is_idempotent(tmp_path: Path) -> None:
    out = tmp_path / "d"
    for i in range(2):
        res = subprocess.run(
            _zhuoyue("demo", "--out", str(out), "--no-serve"),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert res.returncode == 0, res.stderr
        assert res.stdout.strip().endswith("report.html")
        with sqlite3.connect(out / "zhuoyue-demo.db") as db:
            counts = (
                db.execute("select count(*) from measurement").fetchone()[0],
                db.execute("select count(*) from inspection").fetchone()[0],
                db.execute("select count(*) from user_account").fetchone()[0],
            )
        if i == 0:
            first = counts
    assert counts == first
    assert counts[0] > 50_000
