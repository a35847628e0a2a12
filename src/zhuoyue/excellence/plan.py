"""The improvement plan (以评促改): from an assessment to concrete, quantified actions.

:func:`build_plan` is pure: it reads the result of :func:`~zhuoyue.excellence.evaluate` (levels
and the metrics' ``detail``) and the model, and returns one :class:`Action` per thing to do for
every item below the target level (default: the next level). Each action cites the policy's key
task (重点任务) from the model (the threshold's ``tasks`` when it has them, else the indicator's)
and carries a quantified ``target`` computed from the data, by the metric's ``method``:

``cpk``
    For each key characteristic (``detail["characteristics"]``: ``code``, ``cpk``, ``mean``,
    ``sigma``, ``lsl``, ``usl``) below the target c*: the standard deviation that reaches c* at
    the current centre, σ* = min(USL − μ, μ − LSL) / (3c*), and whether re-centring alone can
    reach it — possible when Cp = (USL − LSL) / (6σ) ≥ c*, with the centre range
    [LSL + 3c*σ, USL − 3c*σ] and the smallest move into it; otherwise the σ needed when centred,
    (USL − LSL) / (6c*). One-sided specifications use the one limit.
``rolled_yield``
    Steps (``detail["steps"]``: ``step`` and ``fpy``, or ``submitted`` and ``passed_first``)
    ranked by their share of the loss, −ln FPYᵢ / −ln Y; for each, the FPY it would need if the
    others stayed, FPYᵢ · Y* / Y (``None`` when above 100 %), and the FPY of a proportional
    plan, FPYᵢ^(ln Y* / ln Y), whose product is exactly Y*.
``loss_rate``
    The Pareto of failure-cost categories (``detail["categories"]``: mapping or list of
    ``{category, amount}``, ``detail["output_value"]``): shares, cumulative shares, the vital
    few up to 80 %, and the amount to cut, cost − threshold × output value (strictly more when
    the threshold is ``<``), split in proportion to the categories.
``sigma_level``
    The defect rate of the target sigma level, ppm* = Φ(−(Z* − shift)) × 10⁶ (shift from the
    model's ``params.shift``, 1.5 when absent), against the current ppm.
``generic``
    The current and required values and the difference.

Questionnaire indicators get one action per anchor between their level and the target: the
anchor's text and the evidence it asks for. Answers without evidence get an action to supply it.

Examples
--------
>>> from zhuoyue.excellence import evaluate
>>> cpk = {"value": 1.12, "detail": {"characteristics": [
...     {"code": "D1", "cpk": 1.12, "mean": 10.02, "sigma": 0.0238, "lsl": 9.9, "usl": 10.1}]}}
>>> res = evaluate({"cpk": cpk}, plan=False)
>>> res.metrics["cpk"].level
2
>>> act = next(a for a in build_plan(res, target_level=3) if a.item == "cpk")
>>> act.policy_task, act.target_level
('7. 实施质量管理持续改进', 3)
>>> t = act.target
>>> round(t["sigma_target"], 5), t["centring_possible"], [round(x, 5) for x in t["centre_range"]]
(0.02005, True, [9.99496, 10.00504])
>>> print(act.action_en)  # doctest: +NORMALIZE_WHITESPACE
Key characteristic D1: Cpk 1.12 → ≥ 1.33. At the current mean 10.02 cut sigma from 0.0238 to
0.02005 (−15.8 %); or re-centre only: Cp = 1.40 ≥ 1.33, move the mean to [9.99496, 10.005]
(shift -0.01496).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from zhuoyue.errors import ParameterError
from zhuoyue.excellence.model import OP_SYMBOL, Indicator, Model, Threshold, compare

if TYPE_CHECKING:
    from zhuoyue.excellence.evaluate import AssessmentResult, IndicatorResult, MetricResult

__all__ = ["Action", "build_plan", "cpk_targets", "sigma_to_ppm"]

_EMPTY: Mapping[str, Any] = MappingProxyType({})
_VITAL_FEW = 0.8  # Pareto: the categories / steps that make up 80 % of the loss


@dataclass(frozen=True, slots=True)
class Action:
    """One improvement action.

    Attributes
    ----------
    target_level : int
        The level the action serves.
    item : str
        The indicator id.
    kind : str
        ``"metric"``, ``"indicator"`` (an anchor to reach) or ``"evidence"`` (supply evidence).
    aspect : str
    action_zh, action_en : str
        What to do, with the numbers.
    policy_task, policy_task_en : str
        The policy's key task, e.g. ``"7. 实施质量管理持续改进"`` (empty when the model has none).
    target : mapping
        The quantified target (see the module docstring for each method's keys).
    binding : bool
        The item is one of the binding constraints of the result.
    """

    target_level: int
    item: str
    kind: str
    aspect: str
    action_zh: str
    action_en: str
    policy_task: str
    policy_task_en: str
    target: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    binding: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "target_level": self.target_level,
            "item": self.item,
            "kind": self.kind,
            "aspect": self.aspect,
            "action_zh": self.action_zh,
            "action_en": self.action_en,
            "policy_task": self.policy_task,
            "policy_task_en": self.policy_task_en,
            "target": _plain(self.target),
            "binding": self.binding,
        }


def _plain(x: Any) -> Any:
    if isinstance(x, Mapping):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def build_plan(
    result: AssessmentResult, model: Model | None = None, *, target_level: int | None = None
) -> tuple[Action, ...]:
    """The actions that lift every item below ``target_level`` (default: the next level).

    Parameters
    ----------
    result : AssessmentResult
        From :func:`~zhuoyue.excellence.evaluate` (its metrics carry the data details).
    model : Model, optional
        The model the result was evaluated with (default: the built-in model). Its id must match.
    target_level : int, optional
        2..5; default ``result.level + 1``. At level 5 with no target the plan holds only the
        evidence actions.

    Returns
    -------
    tuple of Action
        Binding items first, then the other gaps, then answers to back with evidence.
    """
    if model is None:
        from zhuoyue.excellence.model import default_model

        model = default_model()
    if model.id != result.model_id:
        raise ParameterError(
            f"build_plan: the result was evaluated with model {result.model_id!r}, not "
            f"{model.id!r}. Pass the same model."
        )
    if target_level is None:
        target = result.level + 1
    elif (
        isinstance(target_level, bool)
        or not isinstance(target_level, int)
        or not (2 <= target_level <= 5)
    ):
        raise ParameterError(
            f"The 'target_level' parameter of build_plan must be an int in [2, 5]. "
            f"Got {target_level!r}."
        )
    else:
        target = target_level
    binding_ids = {c.item for c in result.binding}
    first: list[Action] = []
    rest: list[Action] = []
    if target <= 5:
        for ires in result.indicators:
            if ires.level >= target:
                continue
            ind = model.indicator(ires.id)
            binding = ires.id in binding_ids
            if ind.is_metric:
                acts = _metric_actions(ind, result.metrics[ind.id], target, model, binding)
            else:
                acts = _anchor_actions(ind, ires, target, model, binding)
            (first if binding else rest).extend(acts)
    evidence = [_evidence_action(model, result.indicator(u.item)) for u in result.unsupported]
    return tuple(first + rest + evidence)


# ------------------------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------------------------
def _task(model: Model, numbers: Sequence[int]) -> tuple[str, str]:
    for n in numbers:
        try:
            t = model.task(n)
        except KeyError:
            continue
        return t.label_zh, t.label_en
    return "", ""


def _g(x: float, digits: int = 4) -> str:
    """A measurement in 4 significant digits (``10.02``, ``0.02005``)."""
    return f"{x:.{digits}g}"


def _pct(x: float, decimals: int = 2) -> str:
    return f"{x * 100:.{decimals}f} %"


def _money(x: float) -> str:
    return f"{x:,.2f}"


def _num(x: Any) -> float | None:
    if isinstance(x, bool) or x is None:
        return None
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _action(
    ind: Indicator,
    target: int,
    zh: str,
    en: str,
    tasks: Sequence[int],
    model: Model,
    binding: bool,
    quantified: Mapping[str, Any],
    kind: str = "metric",
) -> Action:
    tz, te = _task(model, tasks)
    return Action(
        target_level=target,
        item=ind.id,
        kind=kind,
        aspect=ind.aspect,
        action_zh=zh,
        action_en=en,
        policy_task=tz,
        policy_task_en=te,
        target=MappingProxyType(dict(quantified)),
        binding=binding,
    )


def _anchor_actions(
    ind: Indicator, ires: IndicatorResult, target: int, model: Model, binding: bool
) -> list[Action]:
    out = []
    for k in range(ires.level + 1, target + 1):
        a = ind.anchor(k)
        lz, le = model.level_name(k), model.level_name(k, "en")
        out.append(
            _action(
                ind,
                target,
                f"【{ind.name_zh}】达到{lz}锚点：{a.text_zh} 证据：{a.evidence_zh}",
                f"[{ind.name_en}] reach the {le} anchor: {a.text_en} Evidence: {a.evidence_en}",
                ind.tasks,
                model,
                binding,
                {
                    "from_level": ires.level,
                    "anchor_level": k,
                    "anchor_zh": a.text_zh,
                    "anchor_en": a.text_en,
                    "evidence_zh": a.evidence_zh,
                    "evidence_en": a.evidence_en,
                },
                kind="indicator",
            )
        )
    return out


def _evidence_action(model: Model, ires: IndicatorResult) -> Action:
    ind = model.indicator(ires.id)
    claimed = ires.claimed or ires.level
    needed = [ind.anchor(k) for k in range(model.evidence_from, claimed + 1)]
    ev_zh = "；".join(a.evidence_zh for a in needed)
    ev_en = "; ".join(a.evidence_en for a in needed)
    return _action(
        ind,
        claimed,
        f"【{ind.name_zh}】自评{model.level_name(claimed)}未提供证据，补充：{ev_zh}",
        f"[{ind.name_en}] level {claimed} is claimed without evidence; provide: {ev_en}",
        ind.tasks,
        model,
        False,
        {"claimed": claimed, "counted": ires.level, "evidence_zh": ev_zh, "evidence_en": ev_en},
        kind="evidence",
    )


def _metric_actions(
    ind: Indicator, m: MetricResult, target: int, model: Model, binding: bool
) -> list[Action]:
    t = ind.threshold(target)
    tasks = t.tasks or ind.tasks
    if m.status != "ok" or m.value is None:
        out = [_start_tracking(ind, m, target, model, binding)]
        if t.op != "tracked":
            out.append(_generic(ind, None, t, target, model, binding))
        return out
    if t.op == "tracked":  # a tracked metric already meets a "tracked" threshold
        return []
    value = m.value
    detail = m.detail if isinstance(m.detail, Mapping) else _EMPTY
    if ind.method == "cpk":
        acts = _plan_cpk(ind, value, detail, t, target, model, binding, tasks)
    elif ind.method == "rolled_yield":
        acts = _plan_rolled_yield(ind, value, detail, t, target, model, binding, tasks)
    elif ind.method == "loss_rate":
        acts = _plan_loss_rate(ind, value, detail, t, target, model, binding, tasks)
    elif ind.method == "sigma_level":
        acts = _plan_sigma(ind, value, detail, t, target, model, binding, tasks)
    else:
        acts = []
    return acts or [_generic(ind, value, t, target, model, binding)]


def _start_tracking(
    ind: Indicator, m: MetricResult, target: int, model: Model, binding: bool
) -> Action:
    first = ind.thresholds[0]  # the lowest level's threshold: what "tracking" means here
    zh = first.action_zh or (
        f"{ind.name_zh}{m.reason_zh}：建立数据采集与统计，计算{ind.name_zh}并每月复核。"
    )
    en = first.action_en or (
        f"{ind.name_en} is {m.reason_en}: collect the data, compute it and review it monthly."
    )
    return _action(
        ind,
        target,
        zh,
        en,
        first.tasks or ind.tasks,
        model,
        binding,
        {"current": None, "status": m.status, "required": "tracked"},
    )


def _generic(
    ind: Indicator,
    value: float | None,
    t: Threshold,
    target: int,
    model: Model,
    binding: bool,
) -> Action:
    th = ind.display(t.value)
    sym = OP_SYMBOL[t.op]
    lz, le = model.level_name(target), model.level_name(target, "en")
    q: dict[str, Any] = {"current": value, "op": t.op, "required": t.value}
    if value is None:
        zh = f"{ind.name_zh}达到{lz}要求：{sym} {th}"
        en = f"Bring {ind.name_en} to {sym} {th} ({le})"
    else:
        q["difference"] = (t.value or 0.0) - value
        zh = f"{ind.name_zh}由 {ind.display(value)} 改进到 {sym} {th}（{lz}）"
        en = f"Bring {ind.name_en} from {ind.display(value)} to {sym} {th} ({le})"
    if t.note_zh:
        zh += f"；{t.note_zh}"
        en += f"; {t.note_en}"
    return _action(ind, target, zh, en, t.tasks or ind.tasks, model, binding, q)


# ------------------------------------------------------------------------------------------------
# Cpk: sigma reduction and re-centring per key characteristic
# ------------------------------------------------------------------------------------------------
def cpk_targets(
    mean: float, sigma: float, lsl: float | None, usl: float | None, c_target: float
) -> dict[str, Any]:
    """What reaches ``c_target``: σ at the current centre, and whether re-centring alone can.

    Returns ``cpk`` (recomputed), ``sigma_target`` (None when the mean is outside the spec),
    ``sigma_reduction`` (fraction), ``cp`` (two-sided only), ``centring_possible``,
    ``centre_range`` ([low, high] means that reach c* at the current σ), ``centre_shift`` (the
    smallest move into that range, 0 when inside) and ``sigma_target_centred``.

    >>> t = cpk_targets(10.02, 0.0238, 9.9, 10.1, 1.33)
    >>> round(t["cpk"], 4), round(t["sigma_target"], 5), round(t["cp"], 4)
    (1.1204, 0.02005, 1.4006)
    >>> cpk_targets(10.0, 0.03, 9.9, 10.1, 1.33)["centring_possible"]
    False
    """
    if sigma <= 0:
        raise ParameterError(f"cpk_targets needs sigma > 0; got {sigma!r}.")
    if lsl is None and usl is None:
        raise ParameterError("cpk_targets needs at least one specification limit (lsl or usl).")
    dists = [
        d
        for d in (
            (usl - mean) if usl is not None else None,
            (mean - lsl) if lsl is not None else None,
        )
        if d is not None
    ]
    d = min(dists)
    out: dict[str, Any] = {"cpk": d / (3 * sigma)}
    out["sigma_target"] = d / (3 * c_target) if d > 0 else None
    out["sigma_reduction"] = (
        1 - out["sigma_target"] / sigma if out["sigma_target"] is not None else None
    )
    half = 3 * c_target * sigma
    lo = lsl + half if lsl is not None else -math.inf
    hi = usl - half if usl is not None else math.inf
    if lsl is not None and usl is not None:
        out["cp"] = (usl - lsl) / (6 * sigma)
        out["sigma_target_centred"] = (usl - lsl) / (6 * c_target)
        possible = out["cp"] >= c_target or math.isclose(out["cp"], c_target, rel_tol=1e-9)
    else:
        out["cp"] = None
        out["sigma_target_centred"] = None
        possible = True
    out["centring_possible"] = possible
    if possible:
        lo, hi = (min(lo, hi), max(lo, hi))
        out["centre_range"] = [lo, hi]
        out["centre_shift"] = (lo - mean) if mean < lo else (hi - mean) if mean > hi else 0.0
    else:
        out["centre_range"] = None
        out["centre_shift"] = None
    return out


def _characteristics(detail: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    chars = detail.get("characteristics")
    if isinstance(chars, Mapping):
        return [
            dict(v, code=k) if isinstance(v, Mapping) else {"code": k, "cpk": v}
            for k, v in chars.items()
        ]
    if isinstance(chars, Sequence) and not isinstance(chars, str):
        return [c for c in chars if isinstance(c, Mapping)]
    return []


def _plan_cpk(
    ind: Indicator,
    value: float,
    detail: Mapping[str, Any],
    t: Threshold,
    target: int,
    model: Model,
    binding: bool,
    tasks: Sequence[int],
) -> list[Action]:
    assert t.value is not None
    c_star = t.value
    sym = OP_SYMBOL[t.op]
    rows = []
    for c in _characteristics(detail):
        mean, sigma = _num(c.get("mean")), _num(c.get("sigma", c.get("sigma_within")))
        lsl, usl = _num(c.get("lsl")), _num(c.get("usl"))
        cpk = _num(c.get("cpk"))
        stats = None
        if (
            mean is not None
            and sigma is not None
            and sigma > 0
            and (lsl is not None or usl is not None)
        ):
            stats = cpk_targets(mean, sigma, lsl, usl, c_star)
            if cpk is None:
                cpk = stats["cpk"]
        if cpk is None or compare(cpk, t.op, c_star, model.rel_tol):
            continue
        rows.append((cpk, c, stats, mean, sigma))
    rows.sort(key=lambda r: r[0])
    out = []
    for cpk, c, stats, mean, sigma in rows:
        code = str(c.get("code", c.get("characteristic", "?")))
        name = str(c.get("name", "")).strip()
        label_zh = f"关键特性 {code}" + (f"（{name}）" if name else "")
        label_en = f"Key characteristic {code}" + (f" ({name})" if name else "")
        q: dict[str, Any] = {"characteristic": code, "cpk": cpk, "cpk_target": c_star, "op": t.op}
        zh = f"{label_zh}：Cpk {cpk:.2f} → {sym} {c_star:.2f}。"
        en = f"{label_en}: Cpk {cpk:.2f} → {sym} {c_star:.2f}."
        if stats is not None and mean is not None and sigma is not None:
            q.update(
                mean=mean, sigma=sigma, lsl=_num(c.get("lsl")), usl=_num(c.get("usl")), **stats
            )
            st = stats["sigma_target"]
            if st is not None:
                red = stats["sigma_reduction"] * 100
                zh += f"在当前均值 {_g(mean)} 下，标准差须由 {_g(sigma)} 降至 {_g(st)}（−{red:.1f} %）；"
                en += (
                    f" At the current mean {_g(mean)} cut sigma from {_g(sigma)} to {_g(st)} "
                    f"(−{red:.1f} %);"
                )
            else:
                zh += f"均值 {_g(mean)} 已在规格限外，仅降低标准差无法达到；"
                en += f" The mean {_g(mean)} lies outside the specification: cutting sigma alone cannot reach it;"
            if stats["centring_possible"]:
                lo, hi = stats["centre_range"]
                cp_zh = (
                    f"Cp = {stats['cp']:.2f} ≥ {c_star:.2f}，" if stats["cp"] is not None else ""
                )
                cp_en = (
                    f"Cp = {stats['cp']:.2f} ≥ {c_star:.2f}, " if stats["cp"] is not None else ""
                )
                if math.isinf(lo):
                    rng_zh, rng_en = f"≤ {_g(hi, 6)}", f"≤ {_g(hi, 6)}"
                elif math.isinf(hi):
                    rng_zh, rng_en = f"≥ {_g(lo, 6)}", f"≥ {_g(lo, 6)}"
                else:
                    rng_zh = rng_en = f"[{_g(lo, 6)}, {_g(hi, 6)}]"
                zh += f"或仅调整中心：{cp_zh}将均值调整到 {rng_zh}（移动 {stats['centre_shift']:+.4g}）。"
                en += (
                    f" or re-centre only: {cp_en}move the mean to {rng_en} "
                    f"(shift {stats['centre_shift']:+.4g})."
                )
            else:
                zh += (
                    f"仅调整中心不能达到（Cp = {stats['cp']:.2f} < {c_star:.2f}）：居中时标准差须"
                    f" ≤ {_g(stats['sigma_target_centred'])}。"
                )
                en += (
                    f" re-centring alone cannot reach it (Cp = {stats['cp']:.2f} < {c_star:.2f}): "
                    f"centred, sigma must be ≤ {_g(stats['sigma_target_centred'])}."
                )
        else:
            zh += "（缺少均值、标准差或规格限，无法计算标准差与中心目标；请补充过程数据。）"
            en += " (mean, sigma or specification limits missing: add them to compute the targets.)"
        out.append(_action(ind, target, zh, en, tasks, model, binding, q))
    return out


# ------------------------------------------------------------------------------------------------
# Rolled first-pass yield: the steps that cost most
# ------------------------------------------------------------------------------------------------
def _steps(detail: Mapping[str, Any]) -> list[tuple[str, float]]:
    raw = detail.get("steps")
    out: list[tuple[str, float]] = []
    if isinstance(raw, Mapping):
        items: list[Any] = [{"step": k, "fpy": v} for k, v in raw.items()]
    elif isinstance(raw, Sequence) and not isinstance(raw, str):
        items = list(raw)
    else:
        return []
    for s in items:
        if not isinstance(s, Mapping):
            continue
        fpy = _num(s.get("fpy", s.get("first_pass_yield")))
        if fpy is None:
            sub, ok = _num(s.get("submitted")), _num(s.get("passed_first"))
            if sub and ok is not None and sub > 0:
                fpy = ok / sub
        if fpy is None or not 0 <= fpy <= 1:
            continue
        out.append((str(s.get("step", s.get("name", "?"))), fpy))
    return out


def _plan_rolled_yield(
    ind: Indicator,
    value: float,
    detail: Mapping[str, Any],
    t: Threshold,
    target: int,
    model: Model,
    binding: bool,
    tasks: Sequence[int],
) -> list[Action]:
    assert t.value is not None
    y_star = t.value
    sym = OP_SYMBOL[t.op]
    steps = _steps(detail)
    if not steps:
        return []
    y = math.prod(f for _, f in steps)
    total_loss = -math.log(y) if y > 0 else math.inf
    ranked: list[dict[str, Any]] = []
    for name, f in steps:
        share = (
            (-math.log(f) / total_loss)
            if (f > 0 and 0 < total_loss < math.inf)
            else (1.0 if f == 0 else 0.0)
        )
        alone = f * y_star / y if y > 0 else None
        prop = f ** (math.log(y_star) / math.log(y)) if 0 < y < 1 else None
        ranked.append(
            {
                "step": name,
                "fpy": f,
                "loss_share": share,
                "fpy_needed_alone": alone if alone is not None and alone <= 1 else None,
                "fpy_proportional": prop,
            }
        )
    ranked.sort(key=lambda r: (-r["loss_share"], r["fpy"]))
    q: dict[str, Any] = {
        "rolled_yield": value,
        "rolled_yield_from_steps": y,
        "target": y_star,
        "op": t.op,
        "steps": ranked,
    }
    cum = 0.0
    vital: list[dict[str, Any]] = []
    for r in ranked:
        if r["loss_share"] <= 0:
            break
        vital.append(r)
        cum += r["loss_share"]
        if cum >= _VITAL_FEW or len(vital) >= 5:
            break
    top_zh = "、".join(f"{r['step']}（{r['loss_share'] * 100:.0f} %）" for r in vital)
    top_en = ", ".join(f"{r['step']} ({r['loss_share'] * 100:.0f} %)" for r in vital)
    out = [
        _action(
            ind,
            target,
            f"全过程一次交验合格率 {_pct(value)} → {sym} {_pct(y_star)}：损失主要来自 {top_zh}。",
            f"Rolled first-pass yield {_pct(value)} → {sym} {_pct(y_star)}: the loss comes mainly "
            f"from {top_en}.",
            tasks,
            model,
            binding,
            q,
        )
    ]
    for r in vital:
        alone, prop = r["fpy_needed_alone"], r["fpy_proportional"]
        alone_zh = (
            f"若其它工序不变须提高到 {_pct(alone)}"
            if alone is not None
            else "仅改进此工序不能达到目标"
        )
        alone_en = (
            f"alone it must reach {_pct(alone)}"
            if alone is not None
            else "improving it alone cannot reach the target"
        )
        prop_zh = f"；各工序按比例改进时须达到 {_pct(prop)}" if prop is not None else ""
        prop_en = (
            f"; with every step improved in proportion, {_pct(prop)}" if prop is not None else ""
        )
        out.append(
            _action(
                ind,
                target,
                f"工序 {r['step']} 一次交验合格率 {_pct(r['fpy'])}（占全过程损失 "
                f"{r['loss_share'] * 100:.0f} %）：{alone_zh}{prop_zh}。",
                f"Step {r['step']} first-pass yield {_pct(r['fpy'])} ({r['loss_share'] * 100:.0f} % "
                f"of the loss): {alone_en}{prop_en}.",
                tasks,
                model,
                binding,
                dict(r, target=y_star),
            )
        )
    return out


# ------------------------------------------------------------------------------------------------
# Loss rates: Pareto of the cost categories
# ------------------------------------------------------------------------------------------------
def _categories(detail: Mapping[str, Any]) -> list[tuple[str, float]]:
    raw = detail.get("categories")
    out: list[tuple[str, float]] = []
    if isinstance(raw, Mapping):
        pairs: list[tuple[Any, Any]] = list(raw.items())
    elif isinstance(raw, Sequence) and not isinstance(raw, str):
        pairs = [(c.get("category"), c.get("amount")) for c in raw if isinstance(c, Mapping)]
    else:
        return []
    for cat, amount in pairs:
        a = _num(amount)
        if cat is None or a is None:
            continue
        out.append((str(cat), a))
    return out


def _category_names(ind: Indicator) -> dict[str, tuple[str, str]]:
    names: dict[str, tuple[str, str]] = {}
    raw = ind.params.get("categories", ())
    if isinstance(raw, Sequence):
        for row in raw:
            if isinstance(row, Sequence) and len(row) >= 3 and all(isinstance(x, str) for x in row):
                names[row[0]] = (row[1], row[2])
    return names


def _plan_loss_rate(
    ind: Indicator,
    value: float,
    detail: Mapping[str, Any],
    t: Threshold,
    target: int,
    model: Model,
    binding: bool,
    tasks: Sequence[int],
) -> list[Action]:
    assert t.value is not None
    r_star = t.value
    sym = OP_SYMBOL[t.op]
    strict = t.op == "<"
    cats = _categories(detail)
    output_value = _num(detail.get("output_value"))
    currency = str(detail.get("currency", "")).strip()
    cur = f" {currency}" if currency else ""
    names = _category_names(ind)
    lz = model.level_name(target)
    if output_value is None or output_value <= 0:
        pp = (value - r_star) * 100
        more_zh, more_en = ("以上", "more than ") if strict else ("", "at least ")
        return [
            _action(
                ind,
                target,
                f"{ind.name_zh} {_pct(value)} → {sym} {_pct(r_star)}（{lz}）：须降低 "
                f"{pp:.2f} 个百分点{more_zh}。（缺少年度总产值，无法换算金额。）",
                f"{ind.name_en} {_pct(value)} → {sym} {_pct(r_star)}: cut by {more_en}{pp:.2f} "
                "percentage points. (No annual output value: amounts cannot be computed.)",
                tasks,
                model,
                binding,
                {"rate": value, "target_rate": r_star, "op": t.op, "difference_pp": -pp},
            )
        ]
    cost = math.fsum(a for _, a in cats) if cats else value * output_value
    allowed = r_star * output_value
    cut = cost - allowed
    pareto: list[dict[str, Any]] = []
    cum = 0.0
    for cat, amount in sorted(cats, key=lambda c: -c[1]):
        share = amount / cost if cost > 0 else 0.0
        cum += share
        zh, en = names.get(cat, (cat, cat))
        pareto.append(
            {
                "category": cat,
                "name_zh": zh,
                "name_en": en,
                "amount": amount,
                "share": share,
                "cumulative_share": cum,
                "cut_proportional": max(cut, 0.0) * share,
                "covers_cut_alone": amount > cut if strict else amount >= cut,
            }
        )
    q: dict[str, Any] = {
        "rate": value,
        "target_rate": r_star,
        "op": t.op,
        "output_value": output_value,
        "cost": cost,
        "cost_allowed": allowed,
        "cut": cut,
        "pareto": pareto,
    }
    if cats:
        q["rate_from_detail"] = cost / output_value
        if not math.isclose(cost / output_value, value, rel_tol=1e-6, abs_tol=1e-12):
            q["note"] = "the categories do not add up to the rate given"
    more_zh, more_en = ("以上", "more than ") if strict else ("", "at least ")
    if compare(cost / output_value, t.op, r_star, model.rel_tol):
        # the cost details already meet the target although the rate does not: they disagree
        return [
            _action(
                ind,
                target,
                f"{ind.name_zh} {_pct(value)} 未达到 {sym} {_pct(r_star)}，但费用明细合计 "
                f"{_money(cost)}{cur} 只相当于 {_pct(cost / output_value)}：请核对费用类别、"
                "年度总产值与损失率的计算是否一致。",
                f"{ind.name_en} {_pct(value)} misses {sym} {_pct(r_star)}, but the cost details "
                f"add up to {_money(cost)}{cur}, only {_pct(cost / output_value)}: check that the "
                "categories, the annual output value and the rate agree.",
                tasks,
                model,
                binding,
                q,
            )
        ]
    vital: list[dict[str, Any]] = []
    for p in pareto:
        vital.append(p)
        if p["cumulative_share"] >= _VITAL_FEW - 1e-12:
            break
    top_zh = "、".join(f"{p['name_zh']} {p['share'] * 100:.0f} %" for p in vital)
    top_en = ", ".join(f"{p['name_en']} {p['share'] * 100:.0f} %" for p in vital)
    head_zh = (
        f"{ind.name_zh} {_pct(value)} → {sym} {_pct(r_star)}（{lz}）：年度损失 {_money(cost)}{cur} "
        f"须降至 {_money(allowed)}{cur}{'以下' if strict else '及以下'}，即减少 {_money(cut)}{cur}{more_zh}"
    )
    head_en = (
        f"{ind.name_en} {_pct(value)} → {sym} {_pct(r_star)}: the annual failure cost "
        f"{_money(cost)}{cur} must fall {'below' if strict else 'to'} {_money(allowed)}{cur}, "
        f"a cut of {more_en}{_money(cut)}{cur}"
    )
    if vital:
        head_zh += f"；按帕累托优先治理：{top_zh}。"
        head_en += f"; Pareto, tackle first: {top_en}."
    else:
        head_zh += "。（未给出费用类别，无法做帕累托分析。）"
        head_en += ". (No cost categories given: no Pareto.)"
    out = [_action(ind, target, head_zh, head_en, tasks, model, binding, q)]
    for p in vital:
        alone_zh = "，单独治理此项即可达标" if p["covers_cut_alone"] else ""
        alone_en = "; this category alone can cover the cut" if p["covers_cut_alone"] else ""
        out.append(
            _action(
                ind,
                target,
                f"{p['name_zh']}（{p['category']}）{_money(p['amount'])}{cur}，占 "
                f"{p['share'] * 100:.1f} %：按比例须减少 {_money(p['cut_proportional'])}{cur}{alone_zh}。",
                f"{p['name_en'][:1].upper()}{p['name_en'][1:]} ({p['category']}) "
                f"{_money(p['amount'])}{cur}, "
                f"{p['share'] * 100:.1f} % of the cost: cut {_money(p['cut_proportional'])}{cur} "
                f"in proportion{alone_en}.",
                tasks,
                model,
                binding,
                dict(p, target_rate=r_star),
            )
        )
    return out


# ------------------------------------------------------------------------------------------------
# Sigma level: the ppm target
# ------------------------------------------------------------------------------------------------
def sigma_to_ppm(z: float, shift: float = 1.5) -> float:
    """Defects per million at sigma level ``z`` with a long-term ``shift``: Φ(−(z − shift))·10⁶.

    >>> round(sigma_to_ppm(6), 1), round(sigma_to_ppm(4)), round(sigma_to_ppm(3))
    (3.4, 6210, 66807)
    """
    return NormalDist().cdf(-(z - shift)) * 1e6


def _plan_sigma(
    ind: Indicator,
    value: float,
    detail: Mapping[str, Any],
    t: Threshold,
    target: int,
    model: Model,
    binding: bool,
    tasks: Sequence[int],
) -> list[Action]:
    assert t.value is not None
    shift = _num(ind.params.get("shift"))
    shift = 1.5 if shift is None else shift
    ppm_now = _num(detail.get("ppm"))
    if ppm_now is None:
        ppm_now = sigma_to_ppm(value, shift)
    ppm_target = sigma_to_ppm(t.value, shift)
    factor = ppm_now / ppm_target if ppm_target > 0 else math.inf
    q: dict[str, Any] = {
        "sigma_level": value,
        "target": t.value,
        "op": t.op,
        "shift": shift,
        "ppm": ppm_now,
        "ppm_target": ppm_target,
        "reduction_factor": factor,
    }
    note_zh = f"；{t.note_zh}" if t.note_zh else ""
    note_en = f"; {t.note_en}" if t.note_en else ""
    sym = OP_SYMBOL[t.op]
    return [
        _action(
            ind,
            target,
            f"{ind.name_zh} {value:.2f}σ（{ppm_now:,.1f} ppm）→ {sym} {t.value:g}σ：不良率须降至 "
            f"{ppm_target:,.1f} ppm 以下（降为当前的 1/{factor:.1f}）{note_zh}。",
            f"{ind.name_en} {value:.2f}σ ({ppm_now:,.1f} ppm) → {sym} {t.value:g}σ: bring defects "
            f"down to {ppm_target:,.1f} ppm (1/{factor:.1f} of today){note_en}.",
            tasks,
            model,
            binding,
            q,
        )
    ]
