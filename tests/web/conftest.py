"""A real server (create_app + mount_web on the demo database) and Debian's Chromium.

The server runs in a subprocess (NiceGUI keeps one global UI per process) on a free port, with
the demo factory at scale 0.25 in a temporary folder. Without ``/usr/bin/chromium`` the browser
tests are skipped locally and fail on CI (``CI=true``).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from webtools import PASSWORDS, PLANT_A, PLANT_B, login  # noqa: F401  (tests import webtools)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "out" / "screenshots"
SERVE = Path(__file__).resolve().with_name("serve_app.py")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
            raise RuntimeError(f"the web server exited with {proc.returncode}:\n{out}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the web server did not answer {url} within {timeout} s")


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a server on a fresh demo database (users of the demo factory), one per
    test module, so a module that changes data (imports, declarations, frozen limits) cannot
    change what another module sees."""
    from zhuoyue.demo.factory import build_demo_database

    folder = tmp_path_factory.mktemp("web")
    url = f"sqlite:///{folder / 'demo.db'}"
    build_demo_database(url, scale=0.25)
    port = _free_port()
    env = {
        **os.environ,
        "ZHUOYUE_SECRET": "test-secret",
        "NICEGUI_STORAGE_PATH": str(folder / "nicegui"),
    }
    proc = subprocess.Popen(
        [sys.executable, str(SERVE), url, str(port)],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(f"{base}/health", proc)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium through Playwright (skipped locally when missing, a failure on CI)."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: install Debian's chromium package"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Any, web_server: str) -> Iterator[Any]:
    """A fresh browser context (no cookies) at 1280×800."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=web_server)
    context.set_default_timeout(30_000)
    pg = context.new_page()
    try:
        yield pg
    finally:
        context.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """The folder the browser tests write their screenshots to (for a person to look at)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
