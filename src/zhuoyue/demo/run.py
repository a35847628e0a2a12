"""The demo: sample data → control charts and capability → two HTML reports."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import numpy.typing as npt

from zhuoyue import stats
from zhuoyue.demo.sample import DATASETS, Dataset, generate
from zhuoyue.errors import OutputError
from zhuoyue.reports import ReportSection, render_chart_report, write_report
from zhuoyue.reports._text import check_lang
from zhuoyue.reports.capability import CapabilitySection, render_capability_report

__all__ = ["CAPABILITY_NAME", "REPORT_NAME", "build_capability", "build_sections", "run_demo"]

REPORT_NAME = "report.html"
CAPABILITY_NAME = "capability.html"
#: drawing specifications of the demo characteristics (mm): shaft Φ25 ±0.015, runout ≤ 0.025
SHAFT_LSL, SHAFT_USL = 24.985, 25.015
RUNOUT_USL = 0.025

_EWMA_LAMBDA, _EWMA_L = 0.2, 3.0
_CUSUM_K, _CUSUM_H = 0.5, 5.0


def _columns(path: Path) -> dict[str, list[str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        fields = reader.fieldnames or []
        cols: dict[str, list[str]] = {f: [] for f in fields}
        for row in reader:
            for f in fields:
                cols[f].append(row[f])
    return cols


def _floats(values: list[str]) -> npt.NDArray[np.float64]:
    return np.asarray([float(v) for v in values], dtype=np.float64)


def _text(ds: Dataset, lang: str) -> tuple[str, str]:
    if lang == "zh":
        return f"{ds.title_zh} {ds.title_en}", f"{ds.description_zh}\n{ds.description_en}"
    return f"{ds.title_en} {ds.title_zh}", f"{ds.description_en}\n{ds.description_zh}"


def build_sections(paths: dict[str, Path], *, lang: str = "zh") -> list[ReportSection]:
    """Chart the sample files written by :func:`zhuoyue.demo.sample.generate`.

    Xbar-R, EWMA and CUSUM of the shaft diameter (the time-weighted charts on the subgroup
    means), I-MR of the bore runout, a p chart of final inspection and a u chart of paint
    defects, each with the phase I of :data:`~zhuoyue.demo.sample.DATASETS`.
    """
    check_lang(lang, "build_sections")
    sections: list[ReportSection] = []

    shaft = DATASETS["shaft_diameter"]
    cols = _columns(paths["shaft_diameter"])
    values = _floats(cols[shaft.value_column])
    assert shaft.size_column is not None
    subgroups = np.asarray([int(v) for v in cols[shaft.size_column]], dtype=np.int64)
    title, desc = _text(shaft, lang)
    source = f"{shaft.file}: {shaft.value_column} ({shaft.unit}), {shaft.size_column}"
    sections.append(
        ReportSection(title, desc, stats.xbar_r(values, subgroups, phase1=shaft.phase1), source)
    )
    ewma_note = (
        f"同一数据子组均值的 EWMA 图（λ = {_EWMA_LAMBDA:g}，L = {_EWMA_L:g}），对小的持续偏移更敏感。",
        f"EWMA of the same subgroup means (λ = {_EWMA_LAMBDA:g}, L = {_EWMA_L:g}): more "
        "sensitive to small sustained shifts.",
    )
    cusum_note = (
        f"同一数据子组均值的表格型 CUSUM（k = {_CUSUM_K:g}，h = {_CUSUM_H:g}）。",
        f"Tabular CUSUM of the same subgroup means (k = {_CUSUM_K:g}, h = {_CUSUM_H:g}).",
    )
    for chart, note in (("EWMA", ewma_note), ("CUSUM", cusum_note)):
        if chart == "EWMA":
            res = stats.ewma(values, subgroups, lam=_EWMA_LAMBDA, L=_EWMA_L, phase1=shaft.phase1)
        else:
            res = stats.cusum(values, subgroups, k=_CUSUM_K, h=_CUSUM_H, phase1=shaft.phase1)
        text = note if lang == "zh" else (note[1], note[0])
        sections.append(ReportSection(f"{title} · {chart}", "\n".join(text), res, source))

    runout = DATASETS["bore_runout"]
    cols = _columns(paths["bore_runout"])
    title, desc = _text(runout, lang)
    sections.append(
        ReportSection(
            title,
            desc,
            stats.imr(_floats(cols[runout.value_column]), phase1=runout.phase1),
            f"{runout.file}: {runout.value_column} ({runout.unit})",
        )
    )

    for key, chart_fn in (("final_inspection", stats.p_chart), ("paint_defects", stats.u_chart)):
        ds = DATASETS[key]
        assert ds.size_column is not None
        cols = _columns(paths[key])
        title, desc = _text(ds, lang)
        res = chart_fn(
            _floats(cols[ds.value_column]), _floats(cols[ds.size_column]), phase1=ds.phase1
        )
        sections.append(
            ReportSection(title, desc, res, f"{ds.file}: {ds.value_column} / {ds.size_column}")
        )
    return sections


def build_capability(paths: dict[str, Path], *, lang: str = "zh") -> list[CapabilitySection]:
    """Capability of the two measured characteristics over their stable phase I.

    Capability describes a stable process, so it is computed on phase I (before the shift and
    the tool wear that the control charts flag): the shaft diameter against Φ25 ± 0.015 mm in
    subgroups of 5, the bore runout against its one-sided limit 0.025 mm.
    """
    check_lang(lang, "build_capability")
    out: list[CapabilitySection] = []
    shaft = DATASETS["shaft_diameter"]
    cols = _columns(paths["shaft_diameter"])
    assert shaft.size_column is not None
    sub = np.asarray([int(v) for v in cols[shaft.size_column]], dtype=np.int64)
    keep = sub <= shaft.phase1
    values = _floats(cols[shaft.value_column])[keep]
    title, _ = _text(shaft, lang)
    res = stats.capability(values, sub[keep], lsl=SHAFT_LSL, usl=SHAFT_USL)
    out.append(CapabilitySection(title, res, source=f"{shaft.file}: {shaft.value_column}"))
    runout = DATASETS["bore_runout"]
    cols = _columns(paths["bore_runout"])
    values = _floats(cols[runout.value_column])[: runout.phase1]
    title, _ = _text(runout, lang)
    res = stats.capability(values, usl=RUNOUT_USL)
    out.append(CapabilitySection(title, res, source=f"{runout.file}: {runout.value_column}"))
    return out


def run_demo(out_dir: Path | str, *, lang: str = "zh", generated_at: str | None = None) -> Path:
    """Generate the sample data, chart it and write the HTML reports.

    ``report.html`` holds the control charts; ``capability.html`` the capability sixpacks of the
    measured characteristics.

    Parameters
    ----------
    out_dir : Path or str
        Folder for the report (created if missing); the CSV files go to ``out_dir/data``.
    lang : {"zh", "en"}
        Language shown first.
    generated_at : str, optional
        Time stamp printed in the report (the current time when omitted).

    Returns
    -------
    Path
        ``out_dir/report.html``.

    Raises
    ------
    OutputError
        When ``out_dir`` cannot be created or written.
    """
    check_lang(lang, "run_demo")
    folder = Path(out_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"Cannot create the demo folder {folder}: {exc.strerror or exc}. Choose a writable "
            "folder."
        ) from exc
    paths = generate(folder / "data")
    sections = build_sections(paths, lang=lang)
    title = (
        "精密轴加工 统计过程控制（SPC）示例报告"
        if lang == "zh"
        else "Precision shaft machining: SPC demo report"
    )
    page = render_chart_report(sections, title=title, lang=lang, generated_at=generated_at)
    report = write_report(page, folder / REPORT_NAME)
    cap_title = (
        "精密轴加工 过程能力示例报告"
        if lang == "zh"
        else "Precision shaft machining: capability demo"
    )
    cap_page = render_capability_report(
        build_capability(paths, lang=lang), title=cap_title, lang=lang, generated_at=generated_at
    )
    write_report(cap_page, folder / CAPABILITY_NAME)
    return report
