"""The sample data set and the demo report (zhuoyue.demo)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest

from zhuoyue import stats
from zhuoyue.demo import sample
from zhuoyue.demo.run import REPORT_NAME, run_demo
from zhuoyue.errors import OutputError, ParameterError
from zhuoyue.reports._text import chart_name


def _rows(key: str) -> list[dict[str, str]]:
    text = sample.packaged_file(key).read_bytes().decode("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def test_generator_reproduces_the_package_data_byte_for_byte(tmp_path: Path) -> None:
    written = sample.generate(tmp_path)
    assert set(written) == set(sample.DATASETS)
    for key, path in written.items():
        assert path == tmp_path / sample.DATASETS[key].file
        assert path.read_bytes() == sample.packaged_file(key).read_bytes(), key


def test_csv_format(tmp_path: Path) -> None:
    for path in sample.generate(tmp_path / "new" / "folder").values():
        raw = path.read_bytes()
        assert b"\r" not in raw and raw.endswith(b"\n")
        assert not raw.startswith(b"\xef\xbb\xbf")  # no BOM
        raw.decode("utf-8")


@pytest.mark.parametrize("key", list(sample.DATASETS))
def test_datasets_describe_their_files(key: str) -> None:
    ds = sample.DATASETS[key]
    assert ds.key == key and ds.file == f"{key}.csv"
    rows = _rows(key)
    header = list(rows[0])
    assert ds.value_column in header
    assert ds.size_column is None or ds.size_column in header
    assert ds.chart in stats.CHARTS
    assert ds.title_zh and ds.title_en and ds.description_zh and ds.description_en
    group = ds.size_column if ds.chart == "xbar_r" else None
    points = len({r[group] for r in rows}) if group is not None else len(rows)
    assert 0 < ds.phase1 < points


def test_shaft_diameter_layout() -> None:
    rows = _rows("shaft_diameter")
    assert list(rows[0]) == ["ts", "subgroup", "value", "machine", "operator"]
    assert len(rows) == 300
    sub = np.array([int(r["subgroup"]) for r in rows])
    assert (np.bincount(sub)[1:] == 5).all() and sub.max() == 60
    values = np.array([float(r["value"]) for r in rows])
    assert abs(values[:150].mean() - 25.0) < 0.002
    assert 0.003 < values[:150].std(ddof=1) < 0.005
    assert all(len(r["value"].split(".")[1]) == 4 for r in rows)
    assert rows[0]["ts"] == "2024-03-04T08:00:00+08:00"


def test_shaft_xbar_r_signals_in_phase_ii_only() -> None:
    rows = _rows("shaft_diameter")
    res = stats.xbar_r(
        [float(r["value"]) for r in rows], [int(r["subgroup"]) for r in rows], phase1=30
    )
    xbar = res["xbar"].violations
    assert len(xbar) > 0
    assert xbar.index.min() >= 30  # phase I in control
    assert {1, 2, 5, 6} <= set(xbar.rule.tolist())
    assert len(res["r"].violations) == 0


def test_other_stories() -> None:
    runout = stats.imr([float(r["value"]) for r in _rows("bore_runout")], phase1=60)
    i = runout["i"].violations
    assert {2, 3} <= set(i.rule.tolist()) and i.index.min() >= 90  # late
    inspect = _rows("final_inspection")
    assert all(180 <= int(r["inspected"]) <= 220 for r in inspect)
    p = stats.p_chart(
        [int(r["defective"]) for r in inspect], [int(r["inspected"]) for r in inspect], phase1=20
    )
    assert p["p"].violations.to_list() == [{"index": 23, "rule": 1}]
    assert inspect[23]["date"] == "2024-03-24"
    paint = _rows("paint_defects")
    units = [float(r["units"]) for r in paint]
    assert any(u != int(u) for u in units)
    assert stats.u_chart([int(r["defects"]) for r in paint], units, phase1=20).in_control


def test_run_demo_writes_one_report_with_every_section(tmp_path: Path) -> None:
    path = run_demo(tmp_path / "out", generated_at="2024-03-04 08:00")
    assert path == tmp_path / "out" / REPORT_NAME
    assert sorted(p.name for p in (tmp_path / "out" / "data").iterdir()) == sorted(
        ds.file for ds in sample.DATASETS.values()
    )
    page = path.read_text(encoding="utf-8")
    for ds in sample.DATASETS.values():
        assert ds.title_zh in page and ds.title_en in page
    for chart in ("xbar_r", "ewma", "cusum", "imr", "p", "u"):
        assert chart_name(chart)[0] in page
    assert page.count('<section class="card chart"') == 6
    assert "<script" not in page
    # the same inputs give the same bytes
    again = run_demo(tmp_path / "again", generated_at="2024-03-04 08:00")
    assert again.read_bytes() == path.read_bytes()


def test_run_demo_english(tmp_path: Path) -> None:
    page = run_demo(tmp_path, lang="en", generated_at="t").read_text(encoding="utf-8")
    assert '<html lang="en">' in page
    assert page.index("Precision shaft outside diameter") < page.index("精密轴外径")


def test_demo_errors(tmp_path: Path) -> None:
    (tmp_path / "a_file").write_text("x", encoding="utf-8")
    with pytest.raises(OutputError, match="Cannot create the demo folder"):
        run_demo(tmp_path / "a_file" / "out")
    with pytest.raises(OutputError, match="Cannot write the sample data"):
        sample.generate(tmp_path / "a_file")
    with pytest.raises(ParameterError, match="'lang'"):
        run_demo(tmp_path, lang="fr")
    with pytest.raises(ParameterError, match="'key'"):
        sample.csv_text("nope")


def test_demo_writes_the_capability_report(tmp_path: Path) -> None:
    from zhuoyue.demo.run import CAPABILITY_NAME, RUNOUT_USL, SHAFT_LSL, SHAFT_USL

    run_demo(tmp_path, generated_at="2026-01-01T00:00:00+00:00")
    text = (tmp_path / CAPABILITY_NAME).read_text(encoding="utf-8")
    assert "Cpk" in text and "<svg" in text
    # both characteristics, with their drawing limits
    for value in (SHAFT_LSL, SHAFT_USL, RUNOUT_USL):
        assert f"{value:g}" in text
