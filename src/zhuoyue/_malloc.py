"""Allocator tuning for zhuoyue's own processes (CLI, server).

NumPy takes large arrays from glibc's ``malloc``, which by default serves blocks above a
dynamic threshold by ``mmap`` and gives freed memory back to the OS eagerly. A chart on a
million values then pays a page fault for every fresh 4 KiB page of every result array — on
the reference machine about a third of the time of ``xbar_r`` (see BENCHMARKS.md). Keeping
freed memory in the heap (like jemalloc or tcmalloc do) removes that cost.

:func:`tune_allocator` is called by the ``zhuoyue`` entry points, never on ``import zhuoyue``:
a library must not change the allocator of the program that imports it. Set
``ZHUOYUE_TUNE_MALLOC=0`` to leave glibc's defaults.
"""

from __future__ import annotations

import ctypes
import os
import sys

__all__ = ["tune_allocator"]

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def tune_allocator(*, mmap_threshold_mb: int = 64, trim_threshold_mb: int = 256) -> bool:
    """Keep up to ``trim_threshold_mb`` of freed memory; ``mmap`` only blocks above the threshold.

    Returns True when the settings were applied (glibc on Linux), False otherwise.
    """
    if os.environ.get("ZHUOYUE_TUNE_MALLOC", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (musl, ...)
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    ok = mallopt(_M_MMAP_THRESHOLD, mmap_threshold_mb << 20) == 1
    return bool(mallopt(_M_TRIM_THRESHOLD, trim_threshold_mb << 20) == 1) and ok
