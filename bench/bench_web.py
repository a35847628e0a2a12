"""Time to first meaningful paint of the web app's pages in headless Chromium.

Run from the project root::

    .venv/bin/python bench/bench_web.py [--repeat 5] [--points 100000] [--json out.json]

The demo factory (scale 1) is built in a temporary folder, plus one characteristic of plant A,
``C99-01``, with ``--points`` individual values (a shift and outliers, so the chart has
violations to keep). ``zhuoyue serve`` serves it; Debian's Chromium (Playwright, the flags of the
browser tests) logs in as ``demo``, switches to plant A and opens each page ``--repeat`` times.

A page's time is ``performance.now()`` (milliseconds since the navigation started) at the first
animation frame where its meaningful content is in the page, read by ``wait_for_function``:

* **login** (the floor: a NiceGUI page with no data): the login button;
* **overview**: the level badge (with the radar and the indicators); the lists of
  characteristics and the monthly trends fill in after it (reported as the next two rows);
* **chart 10⁵**: the detail page of ``C99-01`` with its control chart drawn (the canvas of
  ``[data-testid=control-chart]``).

The services behind the pages are also timed in-process (``load_overview``,
``characteristic_chart`` of the 10⁵ values) to show how much of a page is the computation.
Targets (issue 6): overview under 1 s, chart page of 10⁵ points under 2 s. Markdown to stdout,
progress to stderr; ``--json`` writes the numbers and the versions.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "web"))
from webtools import PLANT_A, login

from zhuoyue.demo.factory import build_demo_database
from zhuoyue.services import accounts, masterdata
from zhuoyue.services.views import characteristic_chart
from zhuoyue.store import bulk
from zhuoyue.store.engine import make_engine, session_factory
from zhuoyue.web import data

SEED = 6
CHROMIUM = "/usr/bin/chromium"
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
TARGETS = {"overview": 1000.0, "chart": 2000.0}
READY = {
    "login": "document.querySelector('[data-testid=login]')",
    "overview": "document.querySelector('[data-testid=level-badge]')",
    "overview_lists": "document.querySelector('[data-testid=worst]')",
    "overview_trends": "document.querySelector('[data-testid=trend-cpk] canvas')",
    "chart": "document.querySelector('[data-testid=control-chart] canvas')",
}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def add_long_characteristic(url: str, points: int) -> tuple[int, int]:
    """Add C99-01 with ``points`` values to plant A; its id and the number of values."""
    rng = np.random.default_rng(SEED)
    values = rng.normal(25.0, 0.01, points)
    values[int(points * 0.8) :] += 0.015  # a shift: runs on one side
    outliers = rng.choice(points, size=20, replace=False)
    values[outliers] += 0.05  # beyond 3 sigma
    ts = np.datetime64("2024-01-01T00:00:00", "us") + np.arange(points) * np.timedelta64(300, "s")
    engine = make_engine(url)
    sessions = session_factory(engine)
    try:
        with sessions.begin() as s:
            p = accounts.login(s, "admin", "zhuoyue-admin", org="jinggong-auto").principal
            char = masterdata.create_characteristic(
                s,
                p,
                {
                    "code": "C99-01",
                    "name": "长序列（10万点）",
                    "step": "OP40",
                    "lsl": 24.95,
                    "usl": 25.05,
                    "target": 25.0,
                    "unit": "mm",
                },
            )
            cid = char.id
            bulk.insert_measurements(
                s.connection(),
                characteristic_id=np.full(points, cid),
                ts=ts,
                value=values,
                seq=np.zeros(points, dtype=np.int64),
            )
    finally:
        engine.dispose()
    return cid, points


def service_times(url: str, cid: int, repeat: int) -> dict[str, float]:
    """Best time (ms) of the services behind the overview and the chart page."""
    engine = make_engine(url)
    sessions = session_factory(engine)
    out: dict[str, float] = {}
    try:
        with sessions.begin() as s:
            p = accounts.login(s, "demo", "zhuoyue-demo", org="jinggong-auto").principal
        jobs: dict[str, Callable[[Any], Any]] = {
            "load_overview": lambda s: data.load_overview(s, p),
            "characteristic_chart": lambda s: characteristic_chart(s, p.org_id, cid),
        }
        for name, job in jobs.items():
            best = float("inf")
            for _ in range(repeat):
                with sessions.begin() as s:
                    t0 = time.perf_counter()
                    job(s)
                    best = min(best, (time.perf_counter() - t0) * 1000)
            out[name] = best
    finally:
        engine.dispose()
    return out


def _serve(url: str, folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {
        **os.environ,
        "ZHUOYUE_SECRET": "bench-secret",
        "NICEGUI_STORAGE_PATH": str(folder / "nicegui"),
    }
    exe = Path(sys.executable).with_name("zhuoyue")
    proc = subprocess.Popen(
        [str(exe), "serve", "--db", url, "--port", str(port)],
        cwd=folder,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/health", timeout=2) as r:
                if r.status == 200:
                    return proc, base
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("the server did not start")


def paint_times(base: str, cid: int, repeat: int, only: list[str]) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    paths = {
        "login": "/login",
        "overview": "/",
        "overview_lists": "/",
        "overview_trends": "/",
        "chart": f"/characteristics/{cid}",
    }
    pages = {k: v for k, v in paths.items() if k in only}
    out: dict[str, list[float]] = {k: [] for k in pages}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=base)
            context.set_default_timeout(60_000)
            page = context.new_page()
            login(page, "demo", org=PLANT_A)
            for name, path in pages.items():
                ctx = browser.new_context() if name == "login" else context
                pg = ctx.new_page() if name == "login" else page
                for i in range(repeat + 1):  # the first visit warms the server's caches
                    pg.goto(base + path, wait_until="commit")
                    ms = float(
                        pg.wait_for_function(
                            f"({READY[name]}) && performance.now()", polling="raf"
                        ).json_value()
                    )
                    if i:
                        out[name].append(ms)
                    log(f"  {name} {'(warm-up)' if not i else ''} {ms:.0f} ms")
                if name == "login":
                    ctx.close()
        finally:
            browser.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--pages", default=",".join(READY), help="which pages (comma-separated)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="zhuoyue-bench-web-") as tmp:
        folder = Path(tmp)
        url = f"sqlite:///{folder / 'demo.db'}"
        log("building the demo factory (scale 1) ...")
        build_demo_database(url, scale=1.0)
        cid, n = add_long_characteristic(url, args.points)
        log(f"C99-01 (id {cid}) with {n} values; timing the services ...")
        services = service_times(url, cid, args.repeat)
        proc, base = _serve(url, folder)
        try:
            log(f"server at {base}; timing the pages ...")
            paints = paint_times(base, cid, args.repeat, args.pages.split(","))
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    rows = []
    print("| page | median (ms) | best (ms) | target (ms) | within |")
    print("|---|---:|---:|---:|---|")
    for name, times in paints.items():
        med, best = statistics.median(times), min(times)
        target = TARGETS.get(name)
        ok = "" if target is None else ("yes" if med < target else "NO")
        label = {
            "login": "login (floor: no data)",
            "overview": "overview: level, radar, indicators",
            "overview_lists": "overview: lists of characteristics too",
            "overview_trends": "overview: monthly trends too",
            "chart": f"characteristic, {n:,} values",
        }[name]
        print(
            f"| {label} | {med:.0f} | {best:.0f} | {'' if target is None else f'{target:.0f}'} "
            f"| {ok} |"
        )
        rows.append(
            {
                "page": name,
                "median_ms": med,
                "best_ms": best,
                "times_ms": times,
                "target_ms": target,
            }
        )
    print()
    print("| service (in-process) | best (ms) |")
    print("|---|---:|")
    for name, ms in services.items():
        print(f"| {name} | {ms:.0f} |")
    if args.json:
        versions = {
            pkg: importlib.metadata.version(pkg)
            for pkg in ("nicegui", "playwright", "numpy", "sqlalchemy")
        }
        chromium = subprocess.run(
            [CHROMIUM, "--version"], capture_output=True, text=True, check=False
        ).stdout.strip()
        args.json.write_text(
            json.dumps(
                {
                    "points": n,
                    "repeat": args.repeat,
                    "pages": rows,
                    "services_ms": services,
                    "versions": versions,
                    "chromium": chromium,
                    "python": platform.python_version(),
                    "machine": platform.machine(),
                    "cpus": os.cpu_count(),
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
