"""The demo factory: two generated plants and a demo database, deterministic by seed.

:func:`make_plant` generates the canonical tables of DESIGN.md (the same columns and dtypes as
:func:`~zhuoyue.ingest.workbook.read_assessment_data` returns) and the enterprise of one plant;
:func:`build_demo_database` migrates a database, imports both plants through
:func:`~zhuoyue.services.importing.import_data`, names their steps and products, creates the
demo users and stores an assessment snapshot of each plant.

Plant ``"a"`` — 苏州精工汽车零部件有限公司, a precision auto-parts maker (transmission shafts and
a hub bearing unit): 8 process steps OP10 下料 … OP80 包装, 40 characteristics (11 key), one year
of measurements (subgroups of 5 or individual values, a few per shift, two shifts a day, six days
a week, no work over the Spring Festival, May Day and National Day holidays), with stories:

* ``C40-01`` 轴承位外径 Φ25k5 (grinding, key): grinding-wheel wear — a saw-tooth of the mean,
  reset at every dressing. It has the lowest Cpk of the key characteristics (≈ 1.45): **the
  binding constraint** that holds the plant at L3 保证级; every other indicator reaches L4.
* ``C30-01`` 表面硬度 (heat treatment, key): the mean shifts up after the furnace overhaul in
  mid-July.
* ``C20-01`` 外圆直径 (turning): tool wear, a saw-tooth with tool changes.
* ``C20-07`` 表面粗糙度 and ``C50-02`` 最大颗粒尺寸: occasional outliers.
* ``drift`` characteristics: a slow random walk of the mean (material lots, temperature).

Inspections per step, product and day with realistic first-pass yields (rolled yield ≈ 97.8 %),
product quality per product and month (≈ 110 ppm at the customer, ≈ 5.2σ), quality costs per
category and month (internal loss ≈ 1.1 %, external ≈ 0.55 % of the output value of 3.2 亿元)
and a questionnaire answered at level 4 (two items at 5) with evidence.

Plant ``"b"`` — 宁波恒力机械配件有限公司, a less mature machining shop with the same process: the
capability lower (lowest key Cpk ≈ 1.15), rolled yield ≈ 92.7 %, ≈ 15 000 ppm (≈ 3.7σ), loss
rates tracked but high (≈ 3.7 % and 2.6 %), answers mostly at level 2: **L2 检验级**.

``scale`` multiplies the number of measurements (the other tables do not depend on it).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from zhuoyue.errors import ParameterError
from zhuoyue.excellence import default_model
from zhuoyue.ingest.workbook import CANONICAL_TABLES, AssessmentData
from zhuoyue.store.validation import credit_code_check_char

__all__ = [
    "DEMO_PASSWORD",
    "PLANTS",
    "YEAR",
    "DemoInfo",
    "DemoLogin",
    "DemoOrg",
    "DemoPlant",
    "build_demo_database",
    "make_plant",
]

#: the year of the generated data
YEAR = 2024
#: the plants :func:`make_plant` knows
PLANTS: tuple[str, ...] = ("a", "b")
#: the password of the main demo login ``demo``
DEMO_PASSWORD = "zhuoyue-demo"

FloatArray = npt.NDArray[np.float64]

STEPS: tuple[tuple[str, str], ...] = (
    ("OP10", "下料"),
    ("OP20", "车削"),
    ("OP30", "热处理"),
    ("OP40", "磨削"),
    ("OP50", "清洗"),
    ("OP60", "装配"),
    ("OP70", "终检"),
    ("OP80", "包装"),
)


# ------------------------------------------------------------------------------------------------
# The characteristics
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Char:
    """A characteristic and how its process behaves.

    ``mean`` is the process mean of a one-sided characteristic (``target`` or the middle of the
    limits otherwise); ``cpk`` the designed capability of plant A (σ within follows from it);
    ``story`` one of stable, drift, shift, wear, outliers; ``product`` an index into the plant's
    products.
    """

    code: str
    name: str
    step: str
    product: int
    unit: str
    lsl: float | None
    usl: float | None
    target: float | None
    n: int
    key: bool
    cpk: float
    story: str = "stable"
    mean: float | None = None
    per_day: float | None = None

    @property
    def center(self) -> float:
        if self.mean is not None:
            return self.mean
        if self.target is not None:
            return self.target
        assert self.lsl is not None and self.usl is not None
        return (self.lsl + self.usl) / 2

    def sigma(self, cpk: float) -> float:
        mu = self.center
        dist = min(
            self.usl - mu if self.usl is not None else math.inf,
            mu - self.lsl if self.lsl is not None else math.inf,
        )
        return dist / (3.0 * cpk)


def _c(
    code: str,
    name: str,
    product: int,
    unit: str,
    lsl: float | None,
    usl: float | None,
    target: float | None,
    n: int,
    key: bool,
    cpk: float,
    story: str = "stable",
    *,
    mean: float | None = None,
    per_day: float | None = None,
) -> _Char:
    return _Char(
        code, name, f"OP{code[1:3]}", product, unit, lsl, usl, target, n, key, cpk, story,
        mean, per_day,
    )  # fmt: skip


CHARACTERISTICS: tuple[_Char, ...] = (
    # OP10 下料
    _c("C10-01", "棒料长度", 0, "mm", 181.7, 182.3, 182.0, 5, False, 1.95),
    _c("C10-02", "端面垂直度", 0, "mm", None, 0.08, None, 1, False, 1.6, mean=0.03),
    _c("C10-03", "棒料直径", 0, "mm", 31.85, 32.15, 32.0, 5, False, 2.1),
    _c("C10-04", "原材料硬度", 0, "HBW", 180, 230, 205, 1, False, 1.5, "drift"),
    # OP20 车削
    _c("C20-01", "外圆直径 Φ30.2", 0, "mm", 30.15, 30.25, 30.2, 5, False, 1.6, "wear"),
    _c("C20-02", "轴承位车削直径", 0, "mm", 25.27, 25.33, 25.30, 5, True, 1.95, "drift"),
    _c("C20-03", "总长", 0, "mm", 179.9, 180.1, 180.0, 5, True, 2.05),
    _c("C20-04", "台阶长度", 0, "mm", 42.45, 42.55, 42.5, 5, False, 1.7),
    _c("C20-05", "中心孔深度", 1, "mm", 5.8, 6.2, 6.0, 5, False, 1.8),
    _c("C20-06", "螺纹中径 M20×1.5", 1, "mm", 18.97, 19.03, 19.0, 5, False, 1.5),
    _c(
        "C20-07", "车削表面粗糙度 Ra", 0, "µm", None, 3.2, None, 5, False, 1.4, "outliers", mean=1.5
    ),
    _c("C20-08", "圆度", 1, "mm", None, 0.010, None, 5, False, 1.6, mean=0.004),
    _c("C20-09", "倒角宽度", 1, "mm", 0.8, 1.2, 1.0, 5, False, 2.2),
    # OP30 热处理
    _c("C30-01", "表面硬度", 0, "HRC", 58, 62, 60, 5, True, 1.85, "shift"),
    _c("C30-02", "心部硬度", 0, "HRC", 32, 42, 37, 5, False, 1.8),
    _c("C30-03", "有效硬化层深度", 0, "mm", 0.8, 1.2, 1.0, 5, True, 1.9, per_day=1.0),
    _c("C30-04", "热处理变形（径向跳动）", 1, "mm", None, 0.05, None, 5, False, 1.4, mean=0.02),
    _c("C30-05", "残余奥氏体", 0, "%", None, 20, None, 1, False, 1.6, "drift", mean=10),
    # OP40 磨削
    _c("C40-01", "轴承位外径 Φ25k5", 0, "mm", 25.002, 25.011, 25.0065, 5, True, 1.45, "wear"),
    _c("C40-02", "齿轮位外径 Φ28", 0, "mm", 27.992, 28.008, 28.0, 5, True, 1.85, "drift"),
    _c("C40-03", "圆柱度", 0, "mm", None, 0.004, None, 5, False, 1.7, mean=0.0015),
    _c("C40-04", "磨削表面粗糙度 Ra", 0, "µm", None, 0.4, None, 5, True, 1.8, mean=0.2),
    _c("C40-05", "径向圆跳动", 0, "mm", None, 0.010, None, 5, True, 1.75, mean=0.004),
    _c("C40-06", "端面圆跳动", 1, "mm", None, 0.012, None, 5, False, 1.5, mean=0.005),
    # OP50 清洗
    _c("C50-01", "清洁度（杂质质量）", 0, "mg", None, 3.0, None, 1, False, 1.5, mean=1.2),
    _c("C50-02", "最大颗粒尺寸", 0, "µm", None, 400, None, 1, False, 1.4, "outliers", mean=180),
    _c("C50-03", "清洗液浓度", 0, "%", 3.0, 5.0, 4.0, 1, False, 1.3, "drift"),
    # OP60 装配
    _c("C60-01", "锁紧螺母拧紧扭矩", 2, "N·m", 108, 132, 120, 5, True, 1.9),
    _c("C60-02", "轴承压装力", 2, "kN", 18, 28, 23, 5, False, 1.6),
    _c("C60-03", "轴向游隙", 2, "mm", 0.02, 0.08, 0.05, 5, True, 1.8, "drift"),
    _c("C60-04", "启动力矩", 2, "N·m", 0.3, 1.5, 0.9, 5, False, 1.5),
    _c("C60-05", "卡簧槽位置", 0, "mm", 56.15, 56.25, 56.2, 5, False, 1.7),
    # OP70 终检
    _c("C70-01", "泄漏量", 2, "mL/min", None, 5.0, None, 5, False, 1.6, mean=2.0),
    _c("C70-02", "运转噪声", 2, "dB(A)", None, 65, None, 5, False, 1.7, mean=58),
    _c("C70-03", "总成径向跳动", 2, "mm", None, 0.030, None, 5, True, 1.75, mean=0.012),
    _c("C70-04", "总成长度", 0, "mm", 209.8, 210.2, 210.0, 5, False, 2.0),
    # OP80 包装
    _c("C80-01", "防锈油膜重量", 0, "g", 0.8, 1.6, 1.2, 1, False, 1.5),
    _c("C80-02", "包装净重", 0, "kg", 12.0, 12.6, 12.3, 1, False, 1.8),
    _c("C80-03", "标签位置偏差", 0, "mm", None, 3.0, None, 1, False, 1.6, mean=1.0),
    _c("C80-04", "纸箱抗压强度", 0, "N", 4000, None, None, 1, False, 1.5, mean=5200),
)

#: the characteristic that binds plant A at L3 (lowest key Cpk)
BINDING_CHARACTERISTIC = "C40-01"


# ------------------------------------------------------------------------------------------------
# The plants
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _PlantSpec:
    key: str
    org_code: str
    name: str
    enterprise: Mapping[str, str]
    products: tuple[tuple[str, str], ...]
    daily_plan: tuple[int, ...]  # units a working day per product
    fpy: tuple[float, ...]  # first-pass yield per step
    ppm: float  # defective per million delivered
    output_value: float
    costs: Mapping[str, float]  # category → monthly amount (yuan)
    occasional: Mapping[str, tuple[int, float]]  # category → (months with a cost, amount)
    answers: Mapping[str, int]  # questionnaire level of every item not at `default_level`
    default_level: int
    cpk_factor: float
    key_cpk_floor: float
    frequency: float  # measurement frequency relative to plant A


def _credit_code(first17: str) -> str:
    return first17 + credit_code_check_char(first17)


_PLANTS: Mapping[str, _PlantSpec] = MappingProxyType(
    {
        "a": _PlantSpec(
            key="a",
            org_code="jinggong-auto",
            name="苏州精工汽车零部件有限公司",
            enterprise=MappingProxyType(
                {
                    "name": "苏州精工汽车零部件有限公司",
                    "credit_code": _credit_code("91320505MA1XK7Q3P"),
                    "industry": "C3670 汽车零部件及配件制造",
                    "region": "320505 江苏省苏州市虎丘区",
                    "year": str(YEAR),
                    "contact": "质量部 王建国 0512-66881234",
                    "top_manager": "陈志远",
                }
            ),
            products=(
                ("IS-2201", "变速器输入轴总成"),
                ("OS-2202", "变速器输出轴总成"),
                ("HU-3105", "轮毂轴承单元"),
            ),
            daily_plan=(620, 480, 360),
            fpy=(0.9985, 0.995, 0.998, 0.994, 0.9995, 0.996, 0.997, 0.9997),
            ppm=110.0,
            output_value=320_000_000.0,
            costs=MappingProxyType(
                {
                    "prevention": 160_000.0,
                    "appraisal": 220_000.0,
                    "internal.scrap": 150_000.0,
                    "internal.rework": 90_000.0,
                    "internal.downtime": 35_000.0,
                    "internal.downgrade": 10_000.0,
                    "external.claim": 60_000.0,
                    "external.return": 45_000.0,
                    "external.warranty": 35_000.0,
                }
            ),
            occasional=MappingProxyType(
                {"internal.incident": (2, 45_000.0), "external.discount": (3, 20_000.0)}
            ),
            answers=MappingProxyType({"traceability": 5, "customer_satisfaction": 5}),
            default_level=4,
            cpk_factor=1.0,
            key_cpk_floor=0.0,
            frequency=1.0,
        ),
        "b": _PlantSpec(
            key="b",
            org_code="hengli-parts",
            name="宁波恒力机械配件有限公司",
            enterprise=MappingProxyType(
                {
                    "name": "宁波恒力机械配件有限公司",
                    "credit_code": _credit_code("91330206MA2H8L4N7"),
                    "industry": "C3484 机械零部件加工",
                    "region": "330206 浙江省宁波市北仑区",
                    "year": str(YEAR),
                    "contact": "品管部 周敏 0574-86125678",
                    "top_manager": "徐海涛",
                }
            ),
            products=(("SH-1001", "传动轴"), ("SH-1002", "中间轴"), ("FL-1003", "法兰盘")),
            daily_plan=(420, 300, 180),
            fpy=(0.995, 0.985, 0.99, 0.98, 0.998, 0.988, 0.99, 0.998),
            ppm=15_000.0,
            output_value=85_000_000.0,
            costs=MappingProxyType(
                {
                    "prevention": 25_000.0,
                    "appraisal": 70_000.0,
                    "internal.scrap": 160_000.0,
                    "internal.rework": 70_000.0,
                    "internal.downtime": 25_000.0,
                    "internal.downgrade": 8_000.0,
                    "external.claim": 95_000.0,
                    "external.return": 60_000.0,
                    "external.warranty": 30_000.0,
                }
            ),
            occasional=MappingProxyType({"internal.incident": (3, 30_000.0)}),
            answers=MappingProxyType(
                {
                    "quality_infrastructure": 3,
                    "customer_focus": 3,
                    "leadership": 3,
                    "digital_inspection": 3,
                    "market_performance": 3,
                }
            ),
            default_level=2,
            cpk_factor=0.75,
            key_cpk_floor=1.15,
            frequency=0.5,
        ),
    }
)

_HOLIDAYS = (
    (dt.date(YEAR, 2, 9), dt.date(YEAR, 2, 17)),  # 春节
    (dt.date(YEAR, 5, 1), dt.date(YEAR, 5, 5)),  # 劳动节
    (dt.date(YEAR, 10, 1), dt.date(YEAR, 10, 7)),  # 国庆节
)
_SHIFT_START_H = 8.0  # 白班 08:00-16:00, 中班 16:00-24:00
_SHIFT_HOURS = 16.0
_OPERATORS = (("张伟", "王芳"), ("李强", "刘洋"))  # (白班, 中班) pairs, alternating by day
_FURNACE_OVERHAUL = dt.date(YEAR, 7, 15)
_DEFECT_CODES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "OP10": ("D10-01 长度超差", "D10-02 端面毛刺"),
        "OP20": ("D20-01 尺寸超差", "D20-02 表面划伤", "D20-03 螺纹不良"),
        "OP30": ("D30-01 硬度不足", "D30-02 变形超差"),
        "OP40": ("D40-01 尺寸超差", "D40-02 磨削烧伤", "D40-03 跳动超差"),
        "OP50": ("D50-01 清洁度超标",),
        "OP60": ("D60-01 扭矩不合格", "D60-02 游隙超差"),
        "OP70": ("D70-01 泄漏", "D70-02 异响"),
        "OP80": ("D80-01 标签错误",),
    }
)
_COST_NOTES: Mapping[str, str] = MappingProxyType(
    {
        "prevention": "培训、SPC 与 FMEA 工作",
        "appraisal": "检验人工、量具校准与试验",
        "internal.scrap": "报废（车削、磨削尺寸超差）",
        "internal.rework": "返工返修",
        "internal.downtime": "质量原因停线",
        "internal.downgrade": "降级处理",
        "internal.incident": "质量事故处理",
        "external.claim": "主机厂索赔",
        "external.return": "客户退货",
        "external.warranty": "三包保修",
        "external.discount": "让步接收折价",
    }
)
_RESPONDENTS: Mapping[str, str] = MappingProxyType(
    {
        "system": "质量部",
        "digital": "信息化部",
        "success": "总经理办公室",
        "performance": "质量部、销售部",
    }
)


def _working_days() -> list[dt.date]:
    days = []
    d = dt.date(YEAR, 1, 1)
    while d.year == YEAR:
        off = d.weekday() == 6 or any(a <= d <= b for a, b in _HOLIDAYS)
        if not off:
            days.append(d)
        d += dt.timedelta(days=1)
    return days


def _rng(seed: int, plant: str, *parts: int) -> np.random.Generator:
    return np.random.default_rng([seed, PLANTS.index(plant), *parts])


def _resolution(sigma: float) -> int:
    """Decimals of the gauge: a resolution of at most σ/8 (at most 5 decimals)."""
    return int(min(5, max(0, math.ceil(-math.log10(sigma / 8.0)))))


def _means(
    c: _Char, story: str, n_sub: int, sigma: float, day_of: Any, rng: np.random.Generator
) -> FloatArray:
    mu = c.center
    if story == "drift":  # AR(1) random walk of the mean, stationary sd 0.35σ
        rho = 0.97
        e = rng.standard_normal(n_sub) * 0.35 * sigma * math.sqrt(1 - rho * rho)
        m = np.empty(n_sub)
        acc = 0.0
        for k in range(n_sub):  # a short recursion per subgroup (not per value)
            acc = rho * acc + float(e[k])
            m[k] = acc
        return mu + m
    if story == "shift":  # furnace overhaul: the mean moves up 0.9σ
        after = np.array([d >= _FURNACE_OVERHAUL for d in day_of])
        return mu + np.where(after, 0.9 * sigma, 0.0)
    if story == "wear":  # saw-tooth: the mean rises with wear, reset at each tool change / dressing
        amplitude = 1.2 * sigma
        lives = rng.integers(35, 56, size=n_sub // 30 + 2)
        starts = np.concatenate(([0], np.cumsum(lives)))
        idx = np.arange(n_sub)
        tool = np.searchsorted(starts, idx, side="right") - 1
        frac = (idx - starts[tool]) / lives[np.minimum(tool, lives.size - 1)]
        wear: FloatArray = mu - amplitude / 2 + amplitude * frac
        return wear
    return np.full(n_sub, mu + 0.05 * sigma * float(rng.standard_normal()))


def _characteristic_rows(
    spec: _PlantSpec, c: _Char, index: int, days: Sequence[dt.date], seed: int, scale: float
) -> tuple[dict[str, Any], pl.DataFrame]:
    rng = _rng(seed, spec.key, 1, index)
    cpk = c.cpk * spec.cpk_factor
    if c.key:
        cpk = max(cpk, spec.key_cpk_floor)
    sigma = c.sigma(cpk)
    decimals = _resolution(sigma)
    per_day = c.per_day if c.per_day is not None else (3.0 if c.key else 1.5 if c.n > 1 else 2.0)
    n_sub = max(25, round(per_day * spec.frequency * len(days) * scale))
    pos = (np.arange(n_sub) + rng.uniform(0.1, 0.9, n_sub)) * len(days) / n_sub
    day_idx = np.minimum(pos.astype(np.int64), len(days) - 1)
    hours = _SHIFT_START_H + (pos - np.floor(pos)) * _SHIFT_HOURS
    day_of = [days[i] for i in day_idx.tolist()]
    means = _means(c, c.story, n_sub, sigma, day_of, rng)
    n = c.n
    values = np.repeat(means, n) + sigma * rng.standard_normal(n_sub * n)
    if c.story == "outliers":  # a few gross values: a chip on the gauge, a mis-seated part
        hit = rng.random(values.size) < 0.004
        sign = np.ones(values.size) if c.lsl is None else rng.choice([-1.0, 1.0], values.size)
        values = np.where(hit, c.center + sign * rng.uniform(4.5, 7.0, values.size) * sigma, values)
    if c.lsl is None and c.usl is not None:  # a one-sided upper spec: a quantity ≥ 0
        values = np.maximum(values, 10.0**-decimals)
    values = np.round(values, decimals)
    epoch_days = np.array([(d - dt.date(1970, 1, 1)).days for d in day_of], dtype=np.int64)
    start_us = epoch_days * 86_400_000_000 + np.round(hours * 3600.0).astype(np.int64) * 1_000_000
    ts_us = np.repeat(start_us, n) + np.tile(np.arange(n, dtype=np.int64) * 90_000_000, n_sub)
    day_rep = np.repeat(day_idx, n)
    late = np.repeat(hours >= _SHIFT_START_H + _SHIFT_HOURS / 2, n)
    pair = day_rep % len(_OPERATORS)
    operator = np.where(late, np.array([p[1] for p in _OPERATORS])[pair],
                        np.array([p[0] for p in _OPERATORS])[pair])  # fmt: skip
    product = spec.products[c.product % len(spec.products)][0]
    frame = pl.DataFrame(
        {
            "characteristic": pl.Series([c.code] * values.size, dtype=pl.String),
            "ts": pl.Series(ts_us, dtype=pl.Int64).cast(pl.Datetime("us")),
            "subgroup": (
                pl.Series(np.repeat(np.arange(1, n_sub + 1), n)).cast(pl.String)
                if n > 1
                else pl.Series([None] * values.size, dtype=pl.String)
            ),
            "value": values,
            "lot": pl.Series(ts_us, dtype=pl.Int64)
            .cast(pl.Datetime("us"))
            .dt.strftime(f"{product}-%y%m%d"),
            "serial": pl.Series([None] * values.size, dtype=pl.String),
            "machine": [f"{c.step}-{1 + index % 3:02d}"] * values.size,
            "operator": operator,
        }
    )
    row = {
        "code": c.code,
        "name": c.name,
        "product": product,
        "step": c.step,
        "unit": c.unit,
        "lsl": None if c.lsl is None else float(c.lsl),
        "usl": None if c.usl is None else float(c.usl),
        "target": None if c.target is None else float(c.target),
        "subgroup_size": n,
        "key": c.key,
        "chart": "xbar_r" if n > 1 else "imr",
    }
    return row, frame


def _inspections(spec: _PlantSpec, days: Sequence[dt.date], seed: int) -> pl.DataFrame:
    rng = _rng(seed, spec.key, 2)
    n_days, n_steps, n_prod = len(days), len(STEPS), len(spec.products)
    shape = (n_days, n_steps, n_prod)
    plan = np.array(spec.daily_plan, dtype=np.float64)
    submitted = np.round(plan[None, None, :] * (1 + 0.06 * rng.standard_normal(shape))).astype(
        np.int64
    )
    base = 1.0 - np.array(spec.fpy)
    # day-to-day variation of each step's defect rate, and a few bad days
    factor = rng.gamma(4.0, 0.25, size=(n_days, n_steps))
    bad = rng.random((n_days, n_steps)) < 0.01
    factor = np.where(bad, factor * 5.0, factor)
    rate = np.clip(base[None, :] * factor, 0.0, 0.5)[:, :, None]
    failed = rng.binomial(submitted, np.broadcast_to(rate, shape))
    passed = submitted - failed
    defects = failed + rng.poisson(0.1 * failed)
    choice = rng.random(shape)
    code_idx = []
    step_codes = [_DEFECT_CODES[s] for s, _ in STEPS]
    for j in range(n_steps):
        k = len(step_codes[j])
        code_idx.append(np.minimum((choice[:, j, :] ** 1.5 * k).astype(np.int64), k - 1))
    codes = np.stack(code_idx, axis=1)
    dates = np.array(days, dtype="datetime64[D]")
    d_idx, s_idx, p_idx = np.meshgrid(
        np.arange(n_days), np.arange(n_steps), np.arange(n_prod), indexing="ij"
    )
    flat = {
        "d": d_idx.ravel(),
        "s": s_idx.ravel(),
        "p": p_idx.ravel(),
    }
    step_code = np.array([s for s, _ in STEPS])[flat["s"]]
    product = np.array([p for p, _ in spec.products])[flat["p"]]
    defect_code = np.array(
        [step_codes[s][c].split()[0] for s, c in zip(flat["s"], codes.ravel(), strict=True)]
    )
    has_defects = defects.ravel() > 0
    frame = pl.DataFrame(
        {
            "date": pl.Series(dates[flat["d"]]).cast(pl.Date),
            "step": step_code,
            "product": product,
            "lot": None,
            "submitted": submitted.ravel(),
            "passed_first": passed.ravel(),
            "defects": defects.ravel(),
            "defect_code": pl.Series(np.where(has_defects, defect_code, "")).replace("", None),
        }
    )
    return frame.with_columns(
        (pl.col("product") + "-" + pl.col("date").dt.strftime("%y%m%d")).alias("lot")
    )


def _product_quality(spec: _PlantSpec, inspections: pl.DataFrame, seed: int) -> pl.DataFrame:
    rng = _rng(seed, spec.key, 3)
    shipped = (
        inspections.filter(pl.col("step") == STEPS[-1][0])
        .group_by(pl.col("date").dt.strftime("%Y-%m").alias("period"), "product")
        .agg(pl.col("passed_first").sum().alias("units"))
        .sort("period", "product")
    )
    units = shipped["units"].to_numpy()
    defective = np.minimum(rng.poisson(units * spec.ppm / 1e6), units)
    return shipped.with_columns(
        pl.Series("defective", defective),
        pl.lit(None, dtype=pl.Int64).alias("defects"),
        pl.lit(None, dtype=pl.Int64).alias("opportunities"),
    )


def _quality_costs(spec: _PlantSpec, seed: int) -> pl.DataFrame:
    rng = _rng(seed, spec.key, 4)
    rows: list[tuple[dt.date, str, float, str]] = []
    occasional = {
        cat: set(rng.choice(np.arange(1, 13), size=k, replace=False).tolist())
        for cat, (k, _) in spec.occasional.items()
    }
    for month in range(1, 13):
        day = dt.date(YEAR, month, 25)
        for cat, amount in spec.costs.items():
            a = round(amount * float(rng.lognormal(0.0, 0.2)), 2)
            rows.append((day, cat, a, f"{month}月{_COST_NOTES[cat]}"))
        for cat, (_, amount) in spec.occasional.items():
            if month in occasional[cat]:
                a = round(amount * float(rng.lognormal(0.0, 0.3)), 2)
                rows.append((day, cat, a, f"{month}月{_COST_NOTES[cat]}"))
    return pl.DataFrame(rows, schema=["date", "category", "amount", "note"], orient="row")


def _self_assessment(spec: _PlantSpec) -> pl.DataFrame:
    model = default_model()
    rows = []
    for i, ind in enumerate(model.questionnaire, start=1):
        level = spec.answers.get(ind.id, spec.default_level)
        anchor = ind.anchor(level)
        parts = [p.strip() for p in anchor.evidence_zh.replace(";", "；").split("；") if p.strip()]
        prefix = "QM" if spec.key == "a" else "HL"
        evidence = "；".join(
            f"{p}（{prefix}-{YEAR}-{i:02d}{j:02d}）" for j, p in enumerate(parts, start=1)
        )
        rows.append((ind.id, level, evidence, _RESPONDENTS.get(ind.aspect, "质量部")))
    return pl.DataFrame(rows, schema=["item", "level", "evidence", "respondent"], orient="row")


def _canonical(name: str, frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with the columns, order and dtypes of the workbook reader's table ``name``."""
    schema = CANONICAL_TABLES[name].schema
    return frame.select([pl.col(c).cast(t) for c, t in schema.items()])


@dataclass(frozen=True)
class DemoPlant:
    """One generated plant: the canonical tables, the enterprise, step and product names."""

    plant: str
    org_code: str
    name: str
    year: int
    tables: Mapping[str, pl.DataFrame]
    enterprise: Mapping[str, str | None]
    steps: tuple[tuple[str, str], ...]
    products: tuple[tuple[str, str], ...]

    @property
    def rows(self) -> dict[str, int]:
        return {k: v.height for k, v in self.tables.items()}

    def data(self) -> AssessmentData:
        """The plant as the workbook reader would return it (for import and assess)."""
        return AssessmentData(
            source=f"demo plant {self.plant} ({self.name})",
            tables=self.tables,
            enterprise=self.enterprise,
            year=self.year,
            rows=MappingProxyType(self.rows),
        )


def make_plant(plant: str = "a", *, seed: int = 2023, scale: float = 1.0) -> DemoPlant:
    """Generate plant ``"a"`` (L3 保证级) or ``"b"`` (L2 检验级); the same seed gives the same
    tables. ``scale`` multiplies the number of measurements (≈ 100 000 for plant A at 1)."""
    if plant not in _PLANTS:
        raise ParameterError(
            f"The 'plant' parameter of make_plant must be one of {', '.join(PLANTS)}. Got "
            f"{plant!r}."
        )
    if not (isinstance(scale, (int, float)) and math.isfinite(scale) and 0 < scale <= 100):
        raise ParameterError(
            f"The 'scale' parameter of make_plant must be a number in (0, 100]. Got {scale!r}."
        )
    spec = _PLANTS[plant]
    days = _working_days()
    chars: list[dict[str, Any]] = []
    frames: list[pl.DataFrame] = []
    for i, c in enumerate(CHARACTERISTICS):
        row, frame = _characteristic_rows(spec, c, i, days, seed, scale)
        chars.append(row)
        frames.append(frame)
    inspections = _inspections(spec, days, seed)
    tables = {
        "characteristics": pl.DataFrame(chars),
        "measurements": pl.concat(frames),
        "inspections": inspections,
        "product_quality": _product_quality(spec, inspections, seed),
        "quality_costs": _quality_costs(spec, seed),
        "output_value": pl.DataFrame({"year": [YEAR], "total_output_value": [spec.output_value]}),
        "self_assessment": _self_assessment(spec),
    }
    canonical = {name: _canonical(name, tables[name]) for name in CANONICAL_TABLES}
    return DemoPlant(
        plant=plant,
        org_code=spec.org_code,
        name=spec.name,
        year=YEAR,
        tables=MappingProxyType(canonical),
        enterprise=MappingProxyType(dict(spec.enterprise)),
        steps=STEPS,
        products=spec.products,
    )


# ------------------------------------------------------------------------------------------------
# The demo database
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DemoLogin:
    """A demo user: its login and what it may see."""

    username: str
    password: str
    description: str


@dataclass(frozen=True, slots=True)
class DemoOrg:
    """A demo organization and its stored assessment."""

    plant: str
    code: str
    name: str
    org_id: int
    assessment_id: int | None
    level: int
    status: str


@dataclass(frozen=True)
class DemoInfo:
    """What :func:`build_demo_database` made: the database, organizations, logins, reports."""

    url: str
    orgs: tuple[DemoOrg, ...]
    logins: tuple[DemoLogin, ...]
    reports: tuple[Any, ...]  # ImportReport of each plant
    duration_s: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "orgs": [
                {
                    "plant": o.plant,
                    "code": o.code,
                    "name": o.name,
                    "org_id": o.org_id,
                    "assessment_id": o.assessment_id,
                    "level": o.level,
                    "status": o.status,
                }
                for o in self.orgs
            ],
            "logins": [
                {"username": u.username, "password": u.password, "description": u.description}
                for u in self.logins
            ],
            "imports": [r.to_dict() for r in self.reports],
            "duration_s": round(self.duration_s, 3),
        }


#: (username, password, display name, {plant: role}, description)
_USERS: tuple[tuple[str, str, str, Mapping[str, str], str], ...] = (
    ("admin", "zhuoyue-admin", "系统管理员", {"a": "admin", "b": "admin"},
     "administrator of both plants"),
    ("demo", DEMO_PASSWORD, "王建国（质量经理）", {"a": "quality_manager", "b": "viewer"},
     "quality manager of plant A, viewer of plant B"),
    ("engineer", "zhuoyue-engineer", "李明（质量工程师）", {"a": "quality_engineer"},
     "quality engineer of plant A"),
    ("supplier", "zhuoyue-supplier", "苏州热处理外协厂", {"a": "supplier"},
     "heat-treatment supplier of plant A: sees the shared OP30 characteristics only"),
    ("assessor", "zhuoyue-assessor", "第三方评价机构 评审员", {"a": "assessor"},
     "third-party assessor: reads plant A's shared self-declaration"),
)  # fmt: skip


def _json_safe(x: Any) -> Any:
    """A JSON document without NaN or infinities (PostgreSQL's jsonb refuses them)."""
    text = json.dumps(x, ensure_ascii=False, default=str)
    return json.loads(text, parse_constant=lambda _c: None)  # NaN / Infinity → null


def build_demo_database(
    url: str | None = None,
    *,
    seed: int = 2023,
    scale: float = 1.0,
    progress: Callable[[str, int, int], None] | None = None,
) -> DemoInfo:
    """Create (or bring up to date) the demo database at ``url`` and return what it holds.

    Migrates the schema, imports plants A and B (idempotent: building twice adds nothing),
    names their steps and products, creates the demo users (:data:`DEMO_PASSWORD` for
    ``demo``), shares plant A's heat-treatment characteristics with the supplier and its
    self-declared assessment with the assessor, and stores an assessment snapshot of each plant
    (A self-declared, B draft). ``progress(table, done, total)`` follows the imports, the table
    prefixed by the plant (``"A measurements"``). Prints nothing.
    """
    from argon2 import PasswordHasher
    from sqlalchemy import select

    from zhuoyue.services.assessment import assess
    from zhuoyue.services.importing import import_data
    from zhuoyue.store import database_url, make_engine, migrate, transaction
    from zhuoyue.store.models import (
        Assessment,
        AssessmentShare,
        AuditLog,
        Characteristic,
        CharacteristicShare,
        Membership,
        ProcessStep,
        Product,
        UserAccount,
        utcnow,
    )

    t0 = time.perf_counter()
    resolved = database_url(url)
    migrate.upgrade(resolved)
    engine = make_engine(resolved)
    try:
        plants = [make_plant(p, seed=seed, scale=scale) for p in PLANTS]
        reports = []
        for p in plants:
            label = p.plant.upper()

            def tick(table: str, done: int, total: int, label: str = label) -> None:
                if progress is not None:
                    progress(f"{label} {table}", done, total)

            reports.append(
                import_data(
                    engine,
                    p.data(),
                    org_code=p.org_code,
                    create_org=True,
                    org_name=p.name,
                    progress=tick,
                )
            )
        outcomes = [assess(p.data()) for p in plants]
        hasher = PasswordHasher()
        orgs: list[DemoOrg] = []
        with transaction(engine) as s:
            org_ids = {p.plant: r.org_id for p, r in zip(plants, reports, strict=True)}
            for p in plants:
                oid = org_ids[p.plant]
                names = dict(p.steps)
                for step in s.scalars(select(ProcessStep).where(ProcessStep.org_id == oid)):
                    if step.code in names and step.name == step.code:
                        step.name = names[step.code]
                pnames = dict(p.products)
                for prod in s.scalars(select(Product).where(Product.org_id == oid)):
                    if prod.code in pnames and prod.name == prod.code:
                        prod.name = pnames[prod.code]
            users: dict[str, UserAccount] = {}
            for username, password, display, roles, _ in _USERS:
                user = s.scalars(
                    select(UserAccount).where(UserAccount.username == username)
                ).first()
                if user is None:
                    user = UserAccount(
                        username=username,
                        display_name=display,
                        password_hash=hasher.hash(password),
                        locale="zh",
                    )
                    s.add(user)
                    s.flush()
                    s.add(
                        AuditLog(
                            action="create",
                            entity="user_account",
                            entity_id=str(user.id),
                            after={"username": username, "display_name": display},
                        )
                    )
                users[username] = user
                for plant, role in roles.items():
                    oid = org_ids[plant]
                    assert oid is not None
                    have = s.scalars(
                        select(Membership).where(
                            Membership.user_id == user.id, Membership.org_id == oid
                        )
                    ).first()
                    if have is None:
                        s.add(Membership(user_id=user.id, org_id=oid, role=role))
            s.flush()
            supplier = users["supplier"]
            shared = s.scalars(
                select(Characteristic.id).where(
                    Characteristic.org_id == org_ids["a"],
                    Characteristic.code.like("C30-%"),
                )
            ).all()
            for cid in shared:
                if s.get(CharacteristicShare, (cid, supplier.id)) is None:
                    s.add(CharacteristicShare(characteristic_id=cid, user_id=supplier.id))
            for p, r, outcome in zip(plants, reports, outcomes, strict=True):
                a = s.get(Assessment, r.assessment_id) if r.assessment_id is not None else None
                assert a is not None, "the demo plants answer the questionnaire"
                a.result = _json_safe(outcome.to_dict())
                a.level = outcome.result.level
                a.score = float(outcome.result.score)
                if p.plant == "a" and a.status == "draft":
                    a.status = "self_declared"
                    a.declared_at = utcnow()
                    a.declared_by = users["demo"].id
                    s.add(
                        AuditLog(
                            org_id=a.org_id,
                            user_id=users["demo"].id,
                            action="declare",
                            entity="assessment",
                            entity_id=str(a.id),
                            before={"status": "draft"},
                            after={"status": "self_declared", "level": a.level},
                        )
                    )
                if p.plant == "a" and s.get(AssessmentShare, (a.id, users["assessor"].id)) is None:
                    s.add(AssessmentShare(assessment_id=a.id, user_id=users["assessor"].id))
                assert r.org_id is not None
                orgs.append(DemoOrg(p.plant, p.org_code, p.name, r.org_id, a.id, a.level, a.status))
    finally:
        engine.dispose()
    logins = tuple(DemoLogin(u, pw, desc) for u, pw, _, _, desc in _USERS)
    return DemoInfo(
        url=resolved,
        orgs=tuple(orgs),
        logins=logins,
        reports=tuple(reports),
        duration_s=time.perf_counter() - t0,
    )
