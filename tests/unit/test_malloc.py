"""Allocator tuning of zhuoyue's own processes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from zhuoyue._malloc import tune_allocator


def test_switched_off_by_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZHUOYUE_TUNE_MALLOC", "0")
    assert tune_allocator() is False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc mallopt is Linux only")
def test_applied_on_glibc() -> None:
    # run in a subprocess: the setting is process-wide
    code = "import zhuoyue.stats, zhuoyue._malloc as m, ctypes;print(m.tune_allocator())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() in ("True", "False")  # False only on a non-glibc libc
    import platform

    if platform.libc_ver()[0] == "glibc":
        assert out.stdout.strip() == "True"
