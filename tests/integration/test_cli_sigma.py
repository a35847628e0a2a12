"""``zhuoyue sigma`` end to end: output, ``--json`` contract, stdout/stderr and exit codes.

The command is registered here on a local Typer app (``app.command(name="sigma")(sigma)``, as
the root app does) and run with Typer's CliRunner, which keeps stdout and stderr apart. One test
runs it in a subprocess as a user would.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
import typer
from typer.testing import CliRunner, Result

from zhuoyue.cli.sigma import sigma
from zhuoyue.stats.sigma import defect_rate, sigma_level

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
app.command(name="sigma")(sigma)


@app.callback()
def _root() -> None:
    """A group, so that the command is invoked as ``sigma`` like under ``zhuoyue``."""


runner = CliRunner()


def run(*args: str) -> Result:
    return runner.invoke(app, ["sigma", *args])


def as_json(data: dict[str, Any]) -> Any:
    """What a JSON round trip makes of ``data`` (tuples become lists, ...)."""
    return json.loads(json.dumps(data, allow_nan=False))


# --------------------------------------------------------------------------- JSON contract


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--ppm", "3.4"], lambda: sigma_level(ppm=3.4)),
        (["--dpmo", "66807"], lambda: sigma_level(dpmo=66807)),
        (["--level", "6"], lambda: defect_rate(6.0)),
        (["--yield", "0.99"], lambda: sigma_level(yield_=0.99)),
        (["--level", "4", "--no-shift"], lambda: defect_rate(4.0, shift=0)),
        (["--level", "3", "--tails", "2"], lambda: defect_rate(3.0, tails=2)),
        (["--dpmo", "1000", "--tails", "2", "--no-shift"],
         lambda: sigma_level(dpmo=1000, tails=2, shift=0)),
    ],
)  # fmt: skip
def test_json_is_exactly_to_dict(args: list[str], expected: Any) -> None:
    r = run(*args, "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout) == as_json(expected().to_dict())
    assert r.stdout.count("\n") == 1  # one JSON document, nothing else on stdout
    assert r.stderr == ""


def test_json_keys_and_values() -> None:
    out = json.loads(run("--level", "6", "--json").stdout)
    assert set(out) == {"level", "dpmo", "ppm", "yield", "shift", "tails", "given", "annex_ppm",
                        "warnings"}  # fmt: skip
    assert out["dpmo"] == out["ppm"] == pytest.approx(3.39767312473006, rel=1e-9)
    assert out["annex_ppm"] == 3.4
    assert (out["shift"], out["tails"], out["given"]) == (1.5, 1, "level")


# --------------------------------------------------------------------------- human output


def test_human_output_level_six() -> None:
    r = run("--level", "6")
    assert r.exit_code == 0, r.stderr
    out = r.stdout
    assert "西格玛水平" in out and "6" in out
    assert "3.39767" in out  # DPMO = PPM
    assert "99.99966023 %" in out  # yield in %
    assert "6σ ≈ 3.4 ppm" in out  # the annex rounding
    assert "1.5σ shift, one-tailed" in out


def test_human_output_from_ppm_shows_annex_figure() -> None:
    r = run("--ppm", "233")
    assert r.exit_code == 0
    assert "4.99958" in r.stdout and "5σ ≈ 230 ppm" in r.stdout


def test_human_output_no_annex_outside_convention() -> None:
    r = run("--level", "3", "--no-shift")
    assert r.exit_code == 0
    assert "no shift" in r.stdout and "1349.9" in r.stdout
    assert "annex" not in r.stdout


def test_zero_dpmo_warns_on_stderr() -> None:
    r = run("--dpmo", "0")
    assert r.exit_code == 0
    assert "∞" in r.stdout
    assert "warning:" in r.stderr and "infinite" in r.stderr
    assert "warning" not in r.stdout
    j = run("--dpmo", "0", "--json")
    out = json.loads(j.stdout)
    assert out["level"] is None and out["warnings"]


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--ppm", "1", "--dpmo", "1"],
        ["--level", "6", "--yield", "0.9"],
        ["--ppm", "1", "--dpmo", "1", "--level", "1", "--yield", "0.5"],
    ],
)
def test_none_or_several_inputs(args: list[str]) -> None:
    r = run(*args)
    assert r.exit_code == 2
    assert "exactly one of --ppm, --dpmo, --level or --yield" in r.stderr
    assert r.stdout == ""


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--dpmo", "1000000"], ["--dpmo", "[0, 1 000 000)"]),
        (["--ppm", "-5"], ["--ppm", "got -5"]),
        (["--yield", "99.5"], ["--yield", "percentages"]),
        (["--yield", "0"], ["--yield", "(0, 1]"]),
        (["--level", "-1", "--tails", "2"], ["--level", ">= 0"]),
        (["--level", "nan"], ["--level"]),
        (["--level", "3", "--tails", "3"], ["--tails must be 1 or 2"]),
    ],
)
def test_bad_values_exit_2(args: list[str], words: list[str]) -> None:
    r = run(*args)
    assert r.exit_code == 2, r.stdout
    for w in words:
        assert w in r.stderr, (w, r.stderr)
    assert "Traceback" not in r.stderr and r.stdout == ""


def test_error_with_json_flag_writes_error_object() -> None:
    r = run("--dpmo", "2000000", "--json")
    assert r.exit_code == 2
    body = json.loads(r.stdout)
    assert body["error"]["code"] == "parameter"
    assert "--dpmo" in body["error"]["message"]


def test_unparsable_number_is_a_usage_error() -> None:
    r = run("--ppm", "lots")
    assert r.exit_code == 2


# --------------------------------------------------------------------------- as a user runs it


def test_subprocess_json() -> None:
    code = (
        "import typer, sys\n"
        "from zhuoyue.cli.sigma import sigma\n"
        "app = typer.Typer()\n"
        "app.command(name='sigma')(sigma)\n"
        "app.callback()(lambda: None)\n"
        "app(prog_name='zhuoyue')\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code, "sigma", "--yield", "0.9999966", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == as_json(sigma_level(yield_=0.9999966).to_dict())
    bad = subprocess.run(
        [sys.executable, "-c", code, "sigma"], capture_output=True, text=True, timeout=120
    )
    assert bad.returncode == 2 and "exactly one" in bad.stderr and bad.stdout == ""
