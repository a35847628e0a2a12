"""The UI's words in Chinese (default) and English; the choice is kept per user/browser."""

from __future__ import annotations

from typing import Literal

__all__ = ["LANGS", "Lang", "add_texts", "text"]

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")

_TEXTS: dict[str, tuple[str, str]] = {
    "app": ("卓越 质量平台", "zhuoyue quality platform"),
    "login": ("登录", "Log in"),
    "logout": ("退出", "Log out"),
    "username": ("用户名", "Username"),
    "password": ("密码", "Password"),
    "need_username": ("请输入用户名", "Enter your username"),
    "need_password": ("请输入密码", "Enter your password"),
    "bad_credentials": (
        "用户名或密码错误（或账号已停用）",
        "Wrong username or password (or the account is disabled)",
    ),
    "overview": ("质量驾驶舱", "Quality cockpit"),
    "level": ("质量管理能力等级", "Quality management capability level"),
    "score": ("得分", "Score"),
    "year": ("年度", "Year"),
    "status_self_declared": ("已自我声明", "self-declared"),
    "status_draft": ("草稿", "draft"),
    "status_verified": ("已第三方评价", "verified"),
    "status_computed": ("按当前数据计算", "computed from the current data"),
    "aspects": ("四个方面", "The four aspects"),
    "indicators": ("五项定量指标", "The five quantitative indicators"),
    "indicator": ("指标", "Indicator"),
    "value": ("数值", "Value"),
    "thresholds": ("等级阈值", "Level thresholds"),
    "binding": ("制约等级的因素", "What holds the level"),
    "no_binding": ("无：已达到最高等级", "Nothing: the highest level is reached"),
    "worst": ("Cpk 最低的特性", "Characteristics with the lowest Cpk"),
    "characteristic": ("特性", "Characteristic"),
    "step": ("工序", "Step"),
    "key": ("关键", "Key"),
    "in_control": ("受控", "In control"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    "no_data": ("暂无数据：请先导入测量数据。", "No data yet: import measurements first."),
    "no_assessment": (
        "尚无评价：请先导入评价数据或填写自评问卷。",
        "No assessment yet: import the assessment data or fill in the questionnaire.",
    ),
    "no_right_assessment": (
        "您的角色无权查看本组织的等级评价。",
        "Your role may not read this organization's assessment.",
    ),
    "no_right_data": (
        "您的角色无权查看本组织的全部特性。",
        "Your role may not read all characteristics of this organization.",
    ),
    "error": ("页面加载失败，请稍后重试或联系管理员。", "The page could not be built. Try again."),
    "error_ref": ("错误编号", "Error reference"),
    "session_ended": ("登录已失效，请重新登录。", "Your session has ended. Log in again."),
    "loading": ("加载中…", "Loading…"),
    "language": ("English", "中文"),
    "cannot": ("无法完成：", "This cannot be done:"),
    "nav_overview": ("驾驶舱", "Overview"),
    "nav_characteristics": ("特性与SPC", "Characteristics"),
    "nav_alarms": ("报警", "Alarms"),
    "nav_kpis": ("质量指标", "KPIs"),
    "nav_assessment": ("等级自评", "Self-assessment"),
    "nav_import": ("数据导入", "Import"),
    "nav_admin": ("管理", "Admin"),
    "trends": ("五项指标的月度趋势", "The five indicators month by month"),
    "no_trend": ("该年度没有可计算的月度数值。", "No monthly value can be computed this year."),
    "alarms": ("当前判异（未受控）的特性", "Characteristics signalling now (out of control)"),
    "alarms_note": (
        "最近 25 个点中有判异点的特性，按最新判异时间排序；点击查看控制图。",
        "Characteristics with a signal among their last 25 points, latest first; open the chart.",
    ),
    "no_alarms": (
        "没有判异：所有特性最近均受控。",
        "No signal: every characteristic is in control.",
    ),
    "open_alarms": ("在线监测：未处理报警", "Online monitor: open alarms"),
    "all_alarms": ("查看全部报警", "All alarms"),
    "no_open_alarms": (
        "没有未处理的报警（在线监测按冻结的控制限判异）。",
        "No open alarm (the online monitor judges values against frozen limits).",
    ),
    "shared_only": ("仅显示与您共享的特性。", "Only the characteristics shared with you."),
    "not_found": ("未找到：不存在或无权查看。", "Not found: it does not exist or is not yours."),
}


def add_texts(texts: dict[str, tuple[str, str]]) -> None:
    """Add a page's words (``key: (Chinese, English)``); a key may be defined only once."""
    clash = sorted(set(texts) & set(_TEXTS))
    if clash:
        raise ValueError(f"UI text keys defined twice: {', '.join(clash)}")
    _TEXTS.update(texts)


def text(key: str, lang: str) -> str:
    """The text ``key`` in ``lang`` (Chinese for anything but ``"en"``)."""
    zh, en = _TEXTS[key]
    return en if lang == "en" else zh
