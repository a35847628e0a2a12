"""The ``zhuoyue`` command line (Typer + Rich)."""
