"""The 数据导入 page: upload a workbook or a zip of CSV files, preview, read the errors, commit.

An upload is first imported as a dry run (:func:`zhuoyue.services.uploads.import_upload_as`
with ``dry_run=True``: the whole import, rolled back): the page shows per table how many rows
would be inserted, are already stored (identical: importing twice adds nothing) or would be
updated. A file with problems (bad cells, rows clashing with stored rows) shows every problem
in a paged table — sheet or file, row, column, value, message with the fix — and nothing is
written. A valid file can then be committed, all or nothing, with a progress bar fed by the
import's progress callback (the import runs in a worker thread; a timer copies its progress to
the bar). Only users who may ``write_data`` import; the service refuses everyone else too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi.responses import RedirectResponse
from nicegui import events, run, ui
from sqlalchemy.orm import Session, sessionmaker

from zhuoyue.api.config import ApiSettings
from zhuoyue.errors import InputFileError, PermissionDenied, Problem, ValidationError, ZhuoyueError
from zhuoyue.services.importing import TABLES, ImportReport
from zhuoyue.services.uploads import (
    CLASHES,
    UploadOutcome,
    UploadTooLarge,
    import_upload_as,
    template_bytes,
)
from zhuoyue.web.i18n import Lang, add_texts, text
from zhuoyue.web.layout import PageContext, busy, content, notify_error, open_page, section

__all__ = [
    "PAGE_SIZE",
    "Verdict",
    "conflict_counts",
    "display_value",
    "overall_progress",
    "preview_rows",
    "problem_rows",
    "register",
    "verdict_of",
]

#: problems shown per page of the error table
PAGE_SIZE = 25
_COUNTS = ["rows", "inserted", "identical", "updated"]
_VALUE_CHARS = 60  # a cell value is cut to this many characters in the error table

add_texts(
    {
        "imp_title": ("数据导入", "Import data"),
        "imp_intro": (
            "上传按模板填写的工作簿（.xlsx），或包含 CSV 文件的 .zip（每张表一个文件，按表命名："
            "measurements.csv、inspections.csv……）。先预检，确认无误后再导入；有问题的文件不会写入任何数据。",
            "Upload the workbook filled in from the template (.xlsx), or a .zip of CSV files (one "
            "file per table, named after it: measurements.csv, inspections.csv, ...). The file is "
            "checked first; you then commit it. A file with problems writes nothing.",
        ),
        "imp_template": ("下载模板", "Download the template"),
        "imp_upload": ("选择或拖入文件（.xlsx 或 .zip）", "Choose or drop a file (.xlsx or .zip)"),
        "imp_rejected": (
            "文件被拒绝：只接受 .xlsx 或 .zip，且不超过 {mb} MiB。",
            "File refused: only .xlsx or .zip files up to {mb} MiB.",
        ),
        "imp_checking": (
            "正在预检（完整试导入，不写入）……",
            "Checking (a full trial import, nothing written)…",
        ),
        "imp_importing": ("正在导入……", "Importing…"),
        "imp_valid": ("预检通过：{file} 可以导入", "Check passed: {file} can be imported"),
        "imp_nothing_new": (
            "没有新数据：文件中的每一行都已存在（重复导入不会新增任何行）。",
            "Nothing new: every row of the file is stored already (importing again adds nothing).",
        ),
        "imp_invalid": (
            "{file} 有 {total} 个问题，未写入任何数据",
            "{file} has {total} problems; nothing was written",
        ),
        "imp_listed": ("（列出前 {n} 个）", "(the first {n} are listed)"),
        "imp_fix_hint": (
            "请按“说明”一列修改文件后重新上传。",
            "Correct the file as the message says, then upload it again.",
        ),
        "imp_conflict_hint": (
            "部分行与已存储的数据冲突（同一键、不同数值）：请修改文件，或先删除已存储的行。",
            "Some rows clash with stored rows (same key, other values): correct the file, or "
            "delete the stored rows first.",
        ),
        "imp_bad_file": ("无法读取文件", "The file cannot be read"),
        "imp_too_large": ("文件太大", "The file is too large"),
        "imp_commit": ("确认导入", "Commit the import"),
        "imp_done": ("导入完成：{file}", "Imported: {file}"),
        "imp_done_totals": (
            "新增 {inserted} 行，已存在 {identical} 行，更新 {updated} 行，用时 {seconds} 秒。",
            "{inserted} rows inserted, {identical} already present, {updated} updated, "
            "in {seconds} s.",
        ),
        "imp_not_allowed": (
            "您在本组织的角色无权导入数据（需要质量工程师、质量经理或管理员）。",
            "Your role in this organization may not import data (quality engineer, quality "
            "manager or admin needed).",
        ),
        "imp_empty": (
            "尚未上传文件：下载模板填写后上传，或上传 CSV 文件的 .zip。",
            "No file yet: download the template, fill it in and upload it, or upload a .zip of "
            "CSV files.",
        ),
        "imp_warnings": ("提示", "Notes"),
        "imp_changes": ("将修改的主数据", "Master data changed"),
        "imp_col_table": ("表", "Table"),
        "imp_col_rows": ("行数", "Rows"),
        "imp_col_inserted": ("新增", "Inserted"),
        "imp_col_identical": ("已存在（幂等）", "Already present"),
        "imp_col_updated": ("更新", "Updated"),
        "imp_col_conflicting": ("冲突/错误", "Conflicting / invalid"),
        "imp_col_listed": ("冲突/错误（已列出的）", "Conflicting / invalid (listed)"),
        "imp_col_sheet": ("工作表/文件", "Sheet / file"),
        "imp_col_row": ("行", "Row"),
        "imp_col_column": ("列", "Column"),
        "imp_col_value": ("值", "Value"),
        "imp_col_code": ("代码", "Code"),
        "imp_col_message": ("说明与修改方法", "Message and fix"),
        "imp_filter": ("筛选问题", "Filter the problems"),
        "imp_progress": ("进度：{table}", "Progress: {table}"),
        "imp_t_steps": ("工序", "steps"),
        "imp_t_products": ("产品", "products"),
        "imp_t_characteristics": ("特性", "characteristics"),
        "imp_t_measurements": ("测量", "measurements"),
        "imp_t_inspections": ("交验", "inspections"),
        "imp_t_product_quality": ("产品质量", "product_quality"),
        "imp_t_quality_costs": ("质量成本", "quality_costs"),
        "imp_t_output_value": ("产值", "output_value"),
        "imp_t_self_assessment": ("自评", "self_assessment"),
        "imp_t_enterprise": ("企业信息", "enterprise"),
    }
)


# ------------------------------------------------------------------------------ pure parts
@dataclass(frozen=True, slots=True)
class Verdict:
    """What became of an upload, for the page.

    ``kind``: ``valid`` (the dry run passed), ``invalid`` (row problems: bad cells or rows that
    clash with stored rows; ``clash`` tells which), ``bad_file`` (not a workbook or zip, an
    unsafe zip), ``too_large``, ``not_allowed``, ``failed`` (any other refusal).
    """

    kind: Literal["valid", "invalid", "bad_file", "too_large", "not_allowed", "failed"]
    outcome: UploadOutcome | None = None
    problems: tuple[Problem, ...] = ()
    total: int = 0  # every problem, also beyond those listed
    clash: bool = False
    message: str = ""
    warnings: tuple[str, ...] = field(default_factory=tuple)


def verdict_of(result: UploadOutcome | BaseException) -> Verdict:
    """Map the outcome of an upload (or the error it raised) to what the page shows.

    An error that is not a zhuoyue error is raised again (the page logs it with a reference).
    """
    if isinstance(result, UploadOutcome):
        return Verdict("valid", outcome=result, warnings=result.warnings)
    if isinstance(result, ValidationError) and result.problems:
        problems = tuple(result.problems)
        total = int(getattr(result, "total", len(problems)))
        clash = any(p.code in CLASHES for p in problems)
        return Verdict("invalid", problems=problems, total=total, clash=clash, message=str(result))
    if isinstance(result, UploadTooLarge):
        return Verdict("too_large", message=str(result))
    if isinstance(result, InputFileError):
        return Verdict("bad_file", message=str(result))
    if isinstance(result, PermissionDenied):
        return Verdict("not_allowed", message=str(result))
    if isinstance(result, ZhuoyueError):
        return Verdict("failed", message=str(result))
    raise result


def display_value(value: Any) -> str:
    """A cell value as the error table shows it (blank as empty, long text cut)."""
    if value is None:
        return ""
    if isinstance(value, float):
        shown = f"{value:.15g}"
    else:
        shown = str(value)
    if len(shown) > _VALUE_CHARS:
        return shown[: _VALUE_CHARS - 1] + "…"
    return shown


def problem_rows(problems: Sequence[Problem]) -> list[dict[str, Any]]:
    """The rows of the error table: sheet (or file), row, column, value, code, message."""
    return [
        {
            "id": i,
            "sheet": p.sheet or "",
            "row": p.row if p.row is not None else "",
            "column": p.column or "",
            "value": display_value(p.value),
            "code": p.code,
            "message": p.message,
        }
        for i, p in enumerate(problems)
    ]


def conflict_counts(problems: Sequence[Problem]) -> dict[str, int]:
    """Listed problems per table (sheet); problems without a sheet under ``""``."""
    return dict(Counter(p.sheet or "" for p in problems))


def preview_rows(
    report: ImportReport | None, problems: Sequence[Problem] = ()
) -> list[dict[str, Any]]:
    """Per table (in import order) with rows or problems: rows, inserted, already present
    (identical), updated and conflicting (problems listed for the table)."""
    bad = conflict_counts(problems)
    tables = list(TABLES) + sorted(t for t in bad if t not in TABLES)
    out: list[dict[str, Any]] = []
    for t in tables:
        counts = report.tables.get(t) if report is not None else None
        rows = counts.rows if counts is not None else 0
        if not rows and not bad.get(t):
            continue
        out.append(
            {
                "table": t,
                "rows": rows,
                "inserted": counts.inserted if counts is not None else 0,
                "identical": counts.identical if counts is not None else 0,
                "updated": counts.updated if counts is not None else 0,
                "conflicting": bad.get(t, 0),
            }
        )
    return out


def overall_progress(table: str, done: int, total: int) -> float:
    """The fraction of the whole import done when ``done`` of ``total`` rows of ``table`` are:
    each table of :data:`~zhuoyue.services.importing.TABLES` is an equal share, in order."""
    try:
        index = TABLES.index(table)
    except ValueError:
        return 0.0
    part = min(max(done / total, 0.0), 1.0) if total > 0 else 1.0
    return (index + part) / len(TABLES)


# ------------------------------------------------------------------------------ the page
def _table_name(table: str, lang: Lang) -> str:
    key = f"imp_t_{table}"
    try:
        return text(key, lang)
    except KeyError:
        return table or "—"


class _Progress:
    """The import's progress, written by the worker thread and read by a UI timer."""

    def __init__(self) -> None:
        self.value = 0.0
        self.table = ""

    def __call__(self, table: str, done: int, total: int) -> None:
        self.value = max(self.value, overall_progress(table, done, total))
        self.table = table


class _ImportView:
    """The state and the parts of one browser's import page."""

    def __init__(self, ctx: PageContext, settings: ApiSettings) -> None:
        self.ctx = ctx
        self.settings = settings
        self.data: bytes | None = None
        self.name = ""
        self.box: ui.column | None = None

    def t(self, key: str, **kw: Any) -> str:
        return self.ctx.t(key).format(**kw) if kw else self.ctx.t(key)

    # ---------------------------------------------------------------------------- build
    def build(self) -> None:
        with section(self.t("imp_title")) as card:
            card.props("data-testid=imp-upload-card")
            ui.label(self.t("imp_intro")).classes("text-gray-700")
            with ui.row().classes("w-full items-start gap-4 flex-wrap"):
                limit = self.settings.max_upload_mb * 1024 * 1024
                upload = ui.upload(
                    label=self.t("imp_upload"),
                    auto_upload=True,
                    max_file_size=limit,
                    on_upload=self.on_upload,
                    on_rejected=lambda: ui.notify(
                        self.t("imp_rejected", mb=self.settings.max_upload_mb), type="warning"
                    ),
                ).props('accept=".xlsx,.xlsm,.zip" flat bordered data-testid=imp-upload')
                upload.classes("w-full sm:w-96")
                self.upload = upload
                template = ui.button(self.t("imp_template"), icon="download")
                template.props("outline no-caps data-testid=imp-template")
                template.on_click(lambda: self.download_template(template))
        self.box = ui.column().classes("w-full gap-4").props("data-testid=imp-result")
        with self.box:
            ui.label(self.t("imp_empty")).classes("text-gray-600").props("data-testid=imp-empty")

    async def download_template(self, button: ui.button) -> None:
        async with busy(button):
            try:
                data = await run.io_bound(template_bytes, self.ctx.lang)
            except Exception as exc:
                notify_error(exc, self.ctx.lang)
                return
        if data is not None:
            ui.download.content(data, f"zhuoyue-template-{self.ctx.lang}.xlsx")

    # ---------------------------------------------------------------------------- run
    async def on_upload(self, e: events.UploadEventArguments) -> None:
        self.data = await e.file.read()
        self.name = e.file.name
        self.upload.reset()
        await self.run(dry_run=True)

    async def run(self, *, dry_run: bool, button: ui.button | None = None) -> None:
        assert self.box is not None
        if self.data is None:
            return
        progress = _Progress()
        self.box.clear()
        with self.box, ui.card().classes("w-full").props("data-testid=imp-progress"):
            ui.label(self.t("imp_checking" if dry_run else "imp_importing"))
            bar = ui.linear_progress(value=0, show_value=False).props("size=12px")
            where = ui.label("").classes("text-sm text-gray-600")

            def tick() -> None:
                bar.set_value(round(progress.value, 3))
                if progress.table:
                    name = _table_name(progress.table, self.ctx.lang)
                    where.set_text(self.t("imp_progress", table=name))

            timer = ui.timer(0.2, tick)
        result: UploadOutcome | BaseException
        try:
            if button is not None:
                async with busy(button):
                    result = await self._call(dry_run, progress)
            else:
                result = await self._call(dry_run, progress)
        except Exception as exc:
            result = exc
        finally:
            timer.cancel()
        try:
            verdict = verdict_of(result)
        except Exception as exc:
            self.box.clear()
            notify_error(exc, self.ctx.lang)
            with self.box:
                ui.label(self.t("imp_empty")).classes("text-gray-600")
            return
        self.box.clear()
        with self.box:
            self.render(verdict, dry_run=dry_run)

    async def _call(self, dry_run: bool, progress: _Progress) -> UploadOutcome:
        assert self.data is not None
        return await self.ctx.call(
            import_upload_as,
            self.data,
            self.name,
            dry_run=dry_run,
            progress=progress,
            max_upload_mb=self.settings.max_upload_mb,
            max_unzipped_mb=self.settings.max_unzipped_mb,
        )

    # ---------------------------------------------------------------------------- show
    def render(self, verdict: Verdict, *, dry_run: bool) -> None:
        if verdict.kind == "valid":
            assert verdict.outcome is not None
            if dry_run:
                self.render_preview(verdict)
            else:
                self.render_summary(verdict)
        elif verdict.kind == "invalid":
            self.render_problems(verdict)
        else:
            title = {"too_large": "imp_too_large", "not_allowed": "cannot"}.get(
                verdict.kind, "imp_bad_file"
            )
            with ui.card().classes("w-full bg-amber-50").props("data-testid=imp-file-error"):
                ui.label(self.t(title)).classes("text-amber-900 font-bold")
                ui.label(verdict.message).classes("text-amber-900 break-all")

    def counts_table(
        self, rows: list[dict[str, Any]], testid: str, keys: list[str], *, listed: bool = False
    ) -> None:
        """Counts per table; ``listed``: the problems are those listed (not all counted)."""
        shown = [{**r, "name": _table_name(r["table"], self.ctx.lang)} for r in rows]

        def label(k: str) -> str:
            return self.t("imp_col_listed" if listed and k == "conflicting" else f"imp_col_{k}")

        columns = [
            {"name": "name", "label": self.t("imp_col_table"), "field": "name", "align": "left"}
        ] + [{"name": k, "label": label(k), "field": k, "align": "right"} for k in keys]
        ui.table(columns=columns, rows=shown, row_key="table").classes("w-full").props(
            f"flat dense data-testid={testid}"
        )

    def render_notes(self, verdict: Verdict) -> None:
        outcome = verdict.outcome
        if outcome is not None and outcome.report.changes:
            ui.label(self.t("imp_changes")).classes("font-bold")
            for ch in outcome.report.changes:
                ui.label(f"{ch.table} {ch.key} {ch.column}: {ch.before!r} → {ch.after!r}").classes(
                    "text-sm"
                )
        if verdict.warnings:
            ui.label(self.t("imp_warnings")).classes("font-bold")
            with ui.column().classes("gap-0").props("data-testid=imp-warnings"):
                for w in verdict.warnings:
                    ui.label(w).classes("text-sm text-gray-700")

    def render_preview(self, verdict: Verdict) -> None:
        assert verdict.outcome is not None
        report = verdict.outcome.report
        with ui.card().classes("w-full").props("data-testid=imp-preview-card"):
            ui.label(self.t("imp_valid", file=report.source)).classes("text-lg text-green-800")
            self.counts_table(preview_rows(report), "imp-preview", [*_COUNTS, "conflicting"])
            self.render_notes(verdict)
            nothing = report.inserted == 0 and report.updated == 0
            if nothing:
                ui.label(self.t("imp_nothing_new")).classes("text-gray-700").props(
                    "data-testid=imp-nothing-new"
                )
            if self.ctx.can("write_data"):
                commit = ui.button(self.t("imp_commit"), icon="cloud_upload").props(
                    "color=primary data-testid=imp-commit"
                )
                commit.on_click(lambda: self.run(dry_run=False, button=commit))
                if nothing:
                    commit.disable()

    def render_summary(self, verdict: Verdict) -> None:
        assert verdict.outcome is not None
        report = verdict.outcome.report
        with ui.card().classes("w-full bg-green-50").props("data-testid=imp-summary"):
            ui.label(self.t("imp_done", file=report.source)).classes("text-lg text-green-900")
            ui.label(
                self.t(
                    "imp_done_totals",
                    inserted=f"{report.inserted:,}",
                    identical=f"{report.identical:,}",
                    updated=f"{report.updated:,}",
                    seconds=f"{report.duration_s:.1f}",
                )
            ).props("data-testid=imp-totals")
            self.counts_table(preview_rows(report), "imp-summary-table", _COUNTS)
            self.render_notes(verdict)

    def render_problems(self, verdict: Verdict) -> None:
        with ui.card().classes("w-full").props("data-testid=imp-invalid"):
            head = self.t("imp_invalid", file=self.name, total=f"{verdict.total:,}")
            if verdict.total > len(verdict.problems):
                head += " " + self.t("imp_listed", n=f"{len(verdict.problems):,}")
            ui.label(head).classes("text-lg text-red-800").props("data-testid=imp-invalid-title")
            ui.label(self.t("imp_conflict_hint" if verdict.clash else "imp_fix_hint")).classes(
                "text-gray-700"
            )
            self.counts_table(
                preview_rows(None, verdict.problems),
                "imp-problem-counts",
                ["conflicting"],
                listed=verdict.total > len(verdict.problems),
            )
            columns: list[dict[str, Any]] = [
                {
                    "name": "sheet",
                    "label": self.t("imp_col_sheet"),
                    "field": "sheet",
                    "align": "left",
                    "sortable": True,
                },
                {
                    "name": "row",
                    "label": self.t("imp_col_row"),
                    "field": "row",
                    "align": "right",
                    "sortable": True,
                },
                {
                    "name": "column",
                    "label": self.t("imp_col_column"),
                    "field": "column",
                    "align": "left",
                    "sortable": True,
                },
                {
                    "name": "value",
                    "label": self.t("imp_col_value"),
                    "field": "value",
                    "align": "left",
                },
                {
                    "name": "code",
                    "label": self.t("imp_col_code"),
                    "field": "code",
                    "align": "left",
                    "sortable": True,
                },
                {
                    "name": "message",
                    "label": self.t("imp_col_message"),
                    "field": "message",
                    "align": "left",
                },
            ]
            table = (
                ui.table(
                    columns=columns,
                    rows=problem_rows(verdict.problems),
                    row_key="id",
                    pagination={"rowsPerPage": PAGE_SIZE},
                )
                .classes("w-full")
                .props("flat dense wrap-cells data-testid=imp-errors")
            )
            if len(verdict.problems) > PAGE_SIZE:
                with table.add_slot("top-right"):
                    ui.input(self.t("imp_filter")).bind_value(table, "filter").props(
                        "dense clearable data-testid=imp-filter"
                    )


def register(sessions: sessionmaker[Session]) -> None:
    """Add the page to the UI."""
    settings = ApiSettings()

    @ui.page("/import", title="数据导入 · zhuoyue")
    async def page() -> RedirectResponse | None:
        ctx = await open_page(sessions, "import")
        if isinstance(ctx, RedirectResponse):
            return ctx
        with content():
            if not ctx.can("write_data"):
                with ui.card().classes("w-full bg-amber-50").props("data-testid=imp-denied"):
                    ui.label(ctx.t("cannot")).classes("text-amber-900 font-bold")
                    ui.label(ctx.t("imp_not_allowed")).classes("text-amber-900")
                return None
            _ImportView(ctx, settings).build()
        return None
