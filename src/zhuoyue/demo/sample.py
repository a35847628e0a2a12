"""A deterministic sample data set of a precision auto-parts plant (精密轴 shaft machining).

Four CSV files, the same bytes on every machine: NumPy's ``default_rng`` with fixed seeds, every
float written with a fixed number of decimals, UTF-8, a header row and ``\\n`` newlines. The
files also ship as package data in ``zhuoyue/data/sample/`` (a test checks that :func:`generate`
reproduces them byte for byte).

==========================  ======  ====================================================
file                        chart   story
==========================  ======  ====================================================
``shaft_diameter.csv``      Xbar-R  φ25 mm shaft OD, 60 subgroups of 5; phase I stable
                                    (1-30); after a tool change at subgroup 41 the mean
                                    is 1.5σ high until the offset is corrected at 51;
                                    tool wear drifts the mean up from subgroup 53
``bore_runout.csv``         I-MR    bore runout, 120 hourly values; slow upward trend
                                    after the first 60 (bearing wear of the spindle)
``final_inspection.csv``    p       30 days of final inspection, 180-220 shafts a day;
                                    one bad day (a mislabelled bar-stock lot)
``paint_defects.csv``       u       30 painted panel batches of varying area, in control
==========================  ======  ====================================================
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from types import MappingProxyType

import numpy as np

from zhuoyue.errors import OutputError, ParameterError

__all__ = ["DATASETS", "Dataset", "csv_text", "generate", "packaged_file"]

_TZ = timezone(timedelta(hours=8))  # China Standard Time
_START = datetime(2024, 3, 4, 8, 0, tzinfo=_TZ)

Table = tuple[list[str], list[list[str]]]


@dataclass(frozen=True, slots=True)
class Dataset:
    """How one sample file is charted.

    Attributes
    ----------
    key : str
        Short name, also the file stem.
    file : str
        The CSV file name.
    chart : str
        The chart type (``"xbar_r"``, ``"imr"``, ``"p"``, ``"u"``).
    value_column : str
        The measured value, defectives or defect count.
    size_column : str or None
        The subgroup label column (variables charts) or the sample size column (attributes).
    phase1 : int
        Number of points (subgroups, values, samples) that estimate the limits.
    unit : str
        Unit of the value column.
    title_zh, title_en, description_zh, description_en : str
        What the data are, in Chinese and English.
    """

    key: str
    file: str
    chart: str
    value_column: str
    size_column: str | None
    phase1: int
    unit: str
    title_zh: str
    title_en: str
    description_zh: str
    description_en: str


DATASETS: Mapping[str, Dataset] = MappingProxyType(
    {
        "shaft_diameter": Dataset(
            key="shaft_diameter",
            file="shaft_diameter.csv",
            chart="xbar_r",
            value_column="value",
            size_column="subgroup",
            phase1=30,
            unit="mm",
            title_zh="精密轴外径 φ25 mm",
            title_en="Precision shaft outside diameter φ25 mm",
            description_zh=(
                "数控车床 CK6150-07 精车外径，每 30 分钟抽 5 件（名义值 25.000 mm）。前 30 个子组为"
                "第一阶段；第 41 子组换刀后刀补偏大，均值上移约 1.5σ，第 51 子组修正；第 53 子组起刀具磨损，"
                "均值缓慢上升。"
            ),
            description_en=(
                "Finish-turned OD on CNC lathe CK6150-07, 5 parts every 30 minutes (nominal "
                "25.000 mm). Subgroups 1-30 are phase I; after a tool change at subgroup 41 the "
                "offset is 1.5σ high until it is corrected at 51; tool wear drifts the mean up "
                "from subgroup 53."
            ),
        ),
        "bore_runout": Dataset(
            key="bore_runout",
            file="bore_runout.csv",
            chart="imr",
            value_column="value",
            size_column=None,
            phase1=60,
            unit="mm",
            title_zh="内孔径向跳动",
            title_en="Bore radial runout",
            description_zh="每小时测 1 件的内孔径向跳动。前 60 个值为第一阶段；之后主轴轴承磨损使跳动缓慢上升。",
            description_en=(
                "Bore radial runout, one part an hour. The first 60 values are phase I; spindle "
                "bearing wear then raises the runout slowly."
            ),
        ),
        "final_inspection": Dataset(
            key="final_inspection",
            file="final_inspection.csv",
            chart="p",
            value_column="defective",
            size_column="inspected",
            phase1=20,
            unit="shafts",
            title_zh="终检不合格品率",
            title_en="Final inspection proportion defective",
            description_zh="每天终检 180–220 根轴。前 20 天为第一阶段；3 月 24 日一批棒料混料，不合格品率明显升高。",
            description_en=(
                "180-220 shafts inspected a day. The first 20 days are phase I; on 24 March a "
                "mixed-up bar-stock lot raised the proportion defective."
            ),
        ),
        "paint_defects": Dataset(
            key="paint_defects",
            file="paint_defects.csv",
            chart="u",
            value_column="defects",
            size_column="units",
            phase1=20,
            unit="m²",
            title_zh="喷漆缺陷（单位面积缺陷数）",
            title_en="Paint defects per unit area",
            description_zh="防护罩喷漆批次，按喷涂面积（m²，可为小数）统计缺陷数。前 20 批为第一阶段。",
            description_en=(
                "Painted guard batches: defects counted over the painted area (m², fractional). "
                "The first 20 batches are phase I."
            ),
        ),
    }
)

#: one fixed seed per file (chosen so that the stories above show clearly)
_SEEDS = {
    "shaft_diameter": 20240306,
    "bore_runout": 20240666,
    "final_inspection": 20240301,
    "paint_defects": 20240306,
}


def _ts(t: datetime) -> str:
    return t.isoformat(timespec="seconds")


def _shaft(rng: np.random.Generator) -> Table:
    k, n = 60, 5
    nominal, sigma = 25.000, 0.004
    g = np.arange(1, k + 1)
    offset = np.zeros(k)
    offset[(g >= 41) & (g <= 50)] = 1.5 * sigma  # tool change: offset set 1.5σ high
    wear = g >= 53
    offset[wear] = 0.0009 * (g[wear] - 52)  # tool wear, about 0.22σ per subgroup
    values = nominal + offset[:, None] + rng.normal(0.0, sigma, (k, n))
    operators = np.where(((g - 1) // 16) % 2 == 0, "王磊", "陈静")
    rows: list[list[str]] = []
    for i in range(k):
        for j in range(n):
            t = _START + timedelta(minutes=30 * i + 2 * j)
            rows.append([_ts(t), str(i + 1), f"{values[i, j]:.4f}", "CK6150-07", str(operators[i])])
    return ["ts", "subgroup", "value", "machine", "operator"], rows


def _runout(rng: np.random.Generator) -> Table:
    n = 120
    i = np.arange(n)
    trend = np.where(i >= 60, 0.00004 * (i - 59), 0.0)  # spindle bearing wear
    values = 0.0180 + trend + rng.normal(0.0, 0.0015, n)
    rows = [
        [_ts(_START + timedelta(hours=int(h))), f"{v:.4f}"] for h, v in zip(i, values, strict=True)
    ]
    return ["ts", "value"], rows


def _inspection(rng: np.random.Generator) -> Table:
    days = 30
    inspected = rng.integers(180, 221, days)
    p = np.full(days, 0.025)
    p[23] = 0.09  # 24 March: mixed-up bar-stock lot
    defective = rng.binomial(inspected, p)
    first = date(2024, 3, 1)
    rows = [
        [(first + timedelta(days=d)).isoformat(), str(int(inspected[d])), str(int(defective[d]))]
        for d in range(days)
    ]
    return ["date", "inspected", "defective"], rows


def _paint(rng: np.random.Generator) -> Table:
    batches = 30
    units = np.round(rng.uniform(6.0, 14.0, batches), 1)
    defects = rng.poisson(0.9 * units)
    rows = [
        [f"PB2403-{b + 1:02d}", f"{units[b]:.1f}", str(int(defects[b]))] for b in range(batches)
    ]
    return ["panel_batch", "units", "defects"], rows


_MAKERS: dict[str, Callable[[np.random.Generator], Table]] = {
    "shaft_diameter": _shaft,
    "bore_runout": _runout,
    "final_inspection": _inspection,
    "paint_defects": _paint,
}


def _text(table: Table) -> str:
    header, rows = table
    return "".join(",".join(r) + "\n" for r in [header, *rows])


def csv_text(key: str) -> str:
    """The CSV text of one sample file (header row, ``\\n`` newlines).

    Examples
    --------
    >>> csv_text("bore_runout").splitlines()[0]
    'ts,value'
    """
    if key not in _MAKERS:
        raise ParameterError(
            f"The 'key' parameter of csv_text must be one of {list(DATASETS)}. Got {key!r}."
        )
    return _text(_MAKERS[key](np.random.default_rng(_SEEDS[key])))


def generate(out_dir: Path | str) -> dict[str, Path]:
    """Write the sample CSV files into ``out_dir`` (created if missing).

    Parameters
    ----------
    out_dir : Path or str
        The folder to write into.

    Returns
    -------
    dict of str to Path
        The path of each file, by dataset key (see :data:`DATASETS`).

    Raises
    ------
    OutputError
        When the folder cannot be created or a file cannot be written.
    """
    folder = Path(out_dir)
    written: dict[str, Path] = {}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for key, ds in DATASETS.items():
            path = folder / ds.file
            path.write_bytes(csv_text(key).encode("utf-8"))
            written[key] = path
    except OSError as exc:
        raise OutputError(
            f"Cannot write the sample data to {folder}: {exc.strerror or exc}. Choose a "
            "writable folder."
        ) from exc
    return written


def packaged_file(key: str) -> Traversable:
    """The copy of a sample file shipped in the package (``zhuoyue/data/sample/``)."""
    if key not in DATASETS:
        raise ParameterError(
            f"The 'key' parameter of packaged_file must be one of {list(DATASETS)}. Got {key!r}."
        )
    return resources.files("zhuoyue").joinpath("data", "sample", DATASETS[key].file)
