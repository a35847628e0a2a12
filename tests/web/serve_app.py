"""Serve create_app + mount_web on a database: ``python serve_app.py URL PORT`` (for the tests)."""

from __future__ import annotations

import sys

import uvicorn

from zhuoyue.api import create_app
from zhuoyue.web import mount_web


def main(url: str, port: int) -> None:
    app = create_app(url)
    mount_web(app)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
