"""``zhuoyue sigma``: convert between sigma level, DPMO / PPM and yield."""

from __future__ import annotations

from typing import Annotated

import typer

from zhuoyue.cli._common import err_console, handle_errors, out_console, print_json
from zhuoyue.errors import DataError, ParameterError
from zhuoyue.stats.sigma import DEFAULT_SHIFT, SigmaLevel, defect_rate, sigma_level


@handle_errors()
def sigma(
    ppm: Annotated[
        float | None,
        typer.Option("--ppm", help="Defective parts per million, in [0, 1000000)."),
    ] = None,
    dpmo: Annotated[
        float | None,
        typer.Option("--dpmo", help="Defects per million opportunities (the same number as PPM)."),
    ] = None,
    level: Annotated[
        float | None,
        typer.Option("--level", help="Sigma level Z, e.g. 6 (gives DPMO / PPM and yield)."),
    ] = None,
    yield_: Annotated[
        float | None,
        typer.Option("--yield", help="Yield as a fraction in (0, 1], e.g. 0.995 for 99.5 %."),
    ] = None,
    no_shift: Annotated[
        bool,
        typer.Option("--no-shift", help="Short-term figures: no 1.5σ long-term shift of the mean."),
    ] = False,
    tails: Annotated[
        int,
        typer.Option(
            "--tails",
            help="1 = the conventional one-tailed table (default); 2 = count the far tail too.",
        ),
    ] = 1,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the result as one JSON object on stdout.")
    ] = False,
) -> None:
    """Sigma level ⇄ DPMO / PPM ⇄ yield (1.5σ shift, one-tailed, unless told otherwise).

    Give exactly one of --ppm, --dpmo, --level, --yield.

    Shows the level, DPMO (= PPM), the yield in % and, at 3σ to 6σ, the rounded figure printed
    in the policy annex.

    Exit codes: 0 ok, 1 internal error, 2 bad option or value.
    """
    given = {
        flag: value
        for flag, value in (
            ("--ppm", ppm),
            ("--dpmo", dpmo),
            ("--level", level),
            ("--yield", yield_),
        )
        if value is not None
    }
    if len(given) != 1:
        found = "none" if not given else ", ".join(given)
        raise ParameterError(
            f"Give exactly one of --ppm, --dpmo, --level or --yield. Got {found}. "
            "Example: zhuoyue sigma --ppm 233"
        )
    if tails not in (1, 2):
        raise ParameterError(f"--tails must be 1 or 2. Got {tails}.")
    shift = 0.0 if no_shift else DEFAULT_SHIFT
    ((flag, value),) = given.items()
    try:
        if flag == "--level":
            result = defect_rate(value, shift=shift, tails=tails)
        elif flag == "--yield":
            result = sigma_level(yield_=value, shift=shift, tails=tails)
        elif flag == "--ppm":
            result = sigma_level(ppm=value, shift=shift, tails=tails)
        else:
            result = sigma_level(dpmo=value, shift=shift, tails=tails)
    except DataError as exc:
        # on the command line the value is an option: a bad one is a usage error (exit 2)
        raise ParameterError(f"{flag}: {exc}") from None
    for w in result.warnings:
        err_console.print(f"warning: {w}", markup=False)
    if json_out:
        print_json(result.to_dict())
    else:
        _print_human(result)


def _print_human(result: SigmaLevel) -> None:
    lines = result.summary().splitlines()
    # warnings went to stderr already
    out_console.print(
        "\n".join(ln for ln in lines if not ln.startswith("  warning:")), markup=False
    )
