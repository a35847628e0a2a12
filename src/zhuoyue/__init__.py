"""卓越 zhuoyue — quality statistics, the five-level self-assessment of the Manufacturing
Excellence Quality Project (工信部联科〔2023〕249号) and a quality data platform.

The statistics layer is importable on its own (NumPy and SciPy only)::

    from zhuoyue import stats
"""

from zhuoyue import errors

__version__ = "0.1.0"

__all__ = ["__version__", "errors"]
