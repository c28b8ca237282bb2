"""Report builder: pick partner(s), template(s) and period, run, watch progress, preview the
first page, download the PDF, and find past reports again. One partner's custom report
(campaigns, sections, note, saved as its preset: :mod:`octolib.dashboards.custom_report`) and
emailing a made report to the partner (:mod:`octolib.dashboards.send_report`) live here too.

The page calls :mod:`octolib.reports` (the same runner as ``octo report``); it computes
nothing itself. The batch runs on a worker thread with its own store connection (the
embedded store is tied to the thread that opened it), so the page keeps answering while
reports are made. PDFs reach the browser through a download button that asks the kernel
for the file, because the server serves no file without a session and Voilà serves none.
"""

from __future__ import annotations

import getpass
import logging
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from octolib import audit
from octolib.config import Settings
from octolib.dashboards.base import Dashboard, page_for_settings
from octolib.dashboards.custom_report import CustomReportPanel
from octolib.dashboards.data import DashboardData
from octolib.dashboards.identity import UNKNOWN_ANALYST, current_analyst
from octolib.dashboards.send_report import SendPanel
from octolib.dashboards.widgets import Column, DataTable, FileDownload, IsoDateInput, esc, section
from octolib.metrics.display import plural

if TYPE_CHECKING:
    from octolib.store import Store

__all__ = ["ReportBuilderPage", "build_report_builder", "report_builder_page", "first_page_png"]

log = logging.getLogger(__name__)


def _download_name(path: Path | None) -> str:
    """``<partner>-<template>-<batch>.pdf``: a name that still says what it is in Downloads."""
    if path is None:
        return "report.pdf"
    parts = path.parts
    batch, partner = (parts[-3], parts[-2]) if len(parts) >= 3 else ("", "")
    return "-".join(p for p in (partner, path.stem, batch) if p) + path.suffix


def first_page_png(pdf: Path, width_px: int = 600) -> bytes | None:
    """The first page as PNG (poppler's ``pdftoppm``), or None when it is not installed."""
    exe = shutil.which("pdftoppm")
    if exe is None or not pdf.is_file():
        return None
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "page"
        proc = subprocess.run([exe, "-png", "-f", "1", "-l", "1", "-singlefile", "-scale-to", str(width_px),
                               str(pdf), str(out)], capture_output=True, timeout=60)
        png = out.with_suffix(".png")
        return png.read_bytes() if proc.returncode == 0 and png.is_file() else None


class ReportBuilderPage(Dashboard):
    """Controls: ``partners`` (SelectMultiple of slugs), ``templates`` (SelectMultiple),
    ``use_default_period``, ``date_from``/``date_to``, ``run_button``. State: ``running``,
    ``batch`` (the last :class:`octolib.reports.BatchResult`), ``history`` (a DataTable of
    past reports), ``pick`` (which report the preview and the download show). ``wait()``
    joins the worker (tests)."""

    def __init__(self, data: DashboardData, settings: Settings,
                 runner: Callable[..., Any] | None = None, workers: int = 2,
                 analyst: Callable[[], str] = current_analyst, smtp_session: Any = None) -> None:
        super().__init__(data, "Report builder", "report_builder")
        self.analyst = analyst
        from octolib.reports import TEMPLATES, list_partners

        self.settings = settings
        self.workers = workers
        self._runner = runner
        partners = list_partners(data.store)
        # People read names: "Acme (case studies)", "Campaign summary", never slugs or paths.
        self.partner_names: dict[str, str] = {p.slug: p.name for p in partners}
        self.template_titles: dict[str, str] = {name: info.title for name, info in TEMPLATES.items()}
        self.partners = w.SelectMultiple(options=[(p.name, p.slug) for p in partners],
                                         description="Partners", rows=min(8, max(3, len(partners))),
                                         layout=w.Layout(width="420px"))
        self.templates = w.SelectMultiple(options=[(info.title, name) for name, info in TEMPLATES.items()],
                                          value=tuple(n for n, t in TEMPLATES.items() if t.in_all), description="Templates", rows=len(TEMPLATES),
                                          layout=w.Layout(width="420px"))
        self.use_default_period = w.Checkbox(value=True, indent=False, layout=w.Layout(width="auto"),
                                             description="Use each partner's default period (untick to pick dates)")
        self.date_from = IsoDateInput(description="From", disabled=True)
        self.date_to = IsoDateInput(description="To", disabled=True)
        self.use_default_period.observe(self.guard(self._period_mode), "value")
        self.run_button = w.Button(description="Make reports", button_style="primary", icon="",
                                   layout=w.Layout(width="160px"))
        self.progress = w.IntProgress(value=0, min=0, max=1, description="Progress",
                                      layout=w.Layout(width="520px", visibility="hidden"))
        self.progress_text = w.HTML()
        self.pick = w.Dropdown(description="Report", options=[], layout=w.Layout(width="640px"))
        self.download = FileDownload(None, "report.pdf", mime="application/pdf", label="Download PDF", disabled=True,
                                     on_error=lambda exc: self.say("error", f"Download failed: {exc}"))
        self.preview = w.Image(format="png", layout=w.Layout(max_width="600px", border="1px solid #d0d7de"))
        self.preview_note = w.HTML()
        self.history = DataTable([
            Column("started_at", "Made", kind="datetime"),
            Column("partner", "Partner"),
            Column("template", "Template"),
            Column("period", "Period"),
            Column("status", "Status"),
            Column("pages", "Pages", kind="count"),
            Column("user", "By"),
            Column("error", "Problem"),
        ], page_size=10, default_sort="started_at", csv_name="reports.csv", tz=data.tz,
            empty_text="No report has been made yet.")
        self.running = False
        self._store: Any = None
        self.batch: Any = None
        self.error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self.run_button.on_click(lambda _: self.guard(self.start)())
        self.pick.observe(self.guard(self._picked), "value")
        self.custom = CustomReportPanel(self._current_store, [(p.name, p.slug) for p in partners], self.say,
                                        self.guard)
        self.custom.make_button.on_click(lambda _: self.guard(self.start_custom)())
        self.custom.save_button.on_click(lambda _: self.guard(self.save_preset)())
        self.sender = SendPanel(settings, self._current_store, self.analyst, self.guard, session=smtp_session)
        # A pre-started page was built before the analyst arrived: partners created since (on
        # the Partners page) must be offered when the browser shows it.
        self.on_view(self.refresh_partners)
        hint = "" if partners else ('<div class="octo-muted">No partner is defined yet: import a partners.yml with '
                                    '<code>octo report --import-partners partners.yml</code>.</div>')
        self.body.children = [
            w.HTML('<div class="octo-muted">Makes branded PDF reports (with a CSV of the same numbers and the '
                   'executed notebook) for the chosen partners. It runs in the background.</div>' + hint),
            w.HBox([self.partners, self.templates], layout=w.Layout(flex_flow="row wrap")),
            w.HTML('<div class="octo-muted">Ctrl-click (⌘-click on a Mac) to pick several partners or templates.</div>'),
            self.use_default_period, w.HBox([self.date_from, self.date_to]),
            w.HBox([self.run_button], layout=w.Layout(margin="6px 0")),
            w.HBox([self.progress, self.progress_text], layout=w.Layout(align_items="center")),
            section("Custom report for one partner"), self.custom.widget,
            section("Preview and download"), w.HBox([self.pick, self.download], layout=w.Layout(align_items="center")),
            self.sender.widget,
            self.preview_note, self.preview,
            section("Past reports"), self.history.widget,
        ]
        self.ready()

    # -- reading -------------------------------------------------------------------------

    def update(self, store: Store | None = None) -> None:
        """Re-read past reports. ``store``: the worker thread's own connection, when called
        from it (the embedded store is tied to the thread that opened it)."""
        from octolib.reports import list_reports

        self._store = store or self.data.store
        docs = list_reports(self._store, limit=200)
        rows = []
        for d in docs:
            period = d.get("period") or {}
            rows.append({
                "started_at": d.get("started_at"), "partner": self._partner_name(d.get("partner", "")),
                "template": self._template_title(d.get("template", "")),
                "period": f"{period.get('from', '')} to {period.get('to', '')}" if period else "",
                "status": d.get("status", ""), "pages": d.get("pages"), "user": d.get("user", ""),
                "error": d.get("error", ""), "report_id": d.get("report_id", ""),
            })
        self.history.set_rows(rows)
        options = [(f"{r['partner']} · {r['template']} · {r['period'] or 'no period'} · "
                    f"{r['started_at']:%Y-%m-%d %H:%M}" if r["started_at"] else r["report_id"], r["report_id"])
                   for r in rows if r["status"] == "succeeded"]
        current = self.pick.value
        self.pick.options = options
        if options:
            self.pick.value = current if current in dict((v, k) for k, v in options) else options[0][1]
        else:
            self._show(None)

    def _pdf_of(self, report_id: str) -> Path | None:
        from octolib.reports import get_report

        doc = get_report(getattr(self, "_store", None) or self.data.store, report_id) if report_id else None
        if not doc or not (doc.get("files") or {}).get("pdf"):
            return None
        root = Path(doc.get("files_root") or Path(self.settings.data_dir).expanduser() / "reports")
        return root / doc["files"]["pdf"]

    def _picked(self, _change: Any) -> None:
        self._show(self._pdf_of(self.pick.value or ""))
        self.sender.point_at(self.pick.value or "")

    def refresh_partners(self) -> None:
        """Offer the partners stored now (keeping the choices that still exist)."""
        from octolib.reports import list_partners

        partners = list_partners(self.data.store)
        names = {p.slug: p.name for p in partners}
        if names == self.partner_names:
            return
        self.partner_names = names
        keep = tuple(v for v in self.partners.value if v in names)
        self.partners.options = [(p.name, p.slug) for p in partners]
        self.partners.value = keep
        self.custom.set_partners([(p.name, p.slug) for p in partners])

    def _current_store(self) -> Any:
        return getattr(self, "_store", None) or self.data.store

    def _show(self, pdf: Path | None) -> None:
        self.download.point_at(pdf, _download_name(pdf))
        if pdf is None:
            self.preview.value = b""
            self.preview.layout.display = "none"
            self.preview_note.value = '<div class="octo-muted">Make a report to preview it here.</div>'
            return
        if not pdf.is_file():
            self.preview.layout.display = "none"
            self.preview_note.value = (f'<div class="octo-muted">The PDF {esc(pdf.name)} is no longer on disk '
                                       "(moved or cleaned up); make the report again.</div>")
            return
        png = first_page_png(pdf)
        if png is None:
            self.preview.layout.display = "none"
            self.preview_note.value = ('<div class="octo-muted">No preview: install poppler-utils (pdftoppm) to see '
                                       "the first page here. The download works without it.</div>")
            return
        self.preview.value = png
        self.preview.layout.display = ""
        self.preview_note.value = '<div class="octo-muted">First page</div>'

    # -- running -------------------------------------------------------------------------

    def _period_mode(self, _change: Any) -> None:
        custom = not self.use_default_period.value
        self.date_from.disabled = self.date_to.disabled = not custom

    def _period(self) -> tuple[str, str] | None:
        if self.use_default_period.value:
            return "", ""
        start, end = self.date_from.value, self.date_to.value
        if start is None or end is None:
            self.say("warn", "Pick both dates of the period, or tick the partners' default period.")
            return None
        if start > end:
            self.say("warn", f"The period starts ({start}) after it ends ({end}): swap the dates.")
            return None
        return _iso(start), _iso(end)

    def start(self) -> bool:
        """Start the batch in the background; False (and a message) when it cannot start."""
        from octolib.reports import requests_for

        if self.running:
            self.say("info", "Reports are being made; wait for this batch to finish.")
            return False
        if not self.partners.value:
            self.say("warn", "Pick at least one partner.")
            return False
        if not self.templates.value:
            self.say("warn", "Pick at least one template.")
            return False
        period = self._period()
        if period is None:
            return False
        requests = requests_for(self.data.store, list(self.partners.value), list(self.templates.value), *period)
        return self._launch(requests)

    def start_custom(self) -> bool:
        """Make the custom report of the panel (one partner); False (and why, next to the
        field) when the choice is not valid."""
        if self.running:
            self.say("info", "Reports are being made; wait for this batch to finish.")
            return False
        period = self._period()
        if period is None:
            return False
        request = self.custom.request(*period)
        if request is None:
            self.say("warn", "The custom report cannot be made yet: see the messages next to the fields.")
            return False
        return self._launch([request])

    def save_preset(self) -> bool:
        """Store the panel's choice as the partner's preset (and who saved it in the audit log)."""
        actor = self.analyst()
        saved = self.custom.save_preset(actor)
        if saved is None:
            self.say("warn", "The preset was not saved: see the messages next to the fields.")
            return False
        slug = self.custom.partner.value
        audit.record(self.data.store, actor=actor, action="saved_preset_for", target=slug, template=saved.template,
                     sections=list(saved.sections or ()), policy=saved.campaigns.policy)
        self.say("ok", f"Saved as {self._partner_name(slug)}'s preset: its scheduled reports and octo report --all "
                       "make this report now.")
        return True

    def _launch(self, requests: list[Any]) -> bool:
        self.say("", "")
        self.running = True
        self.error = None
        self.run_button.disabled = True
        self.progress.max, self.progress.value, self.progress.bar_style = len(requests), 0, "info"
        self.progress.layout.visibility = "visible"
        self.progress_text.value = f'<span class="octo-muted">0 of {plural(len(requests), "report")}</span>'
        actor = self.analyst()
        self._thread = threading.Thread(target=self._work, args=(requests, actor), name="octo-report-builder",
                                        daemon=True)
        self._thread.start()
        return True

    def _work(self, requests: list[Any], actor: str = UNKNOWN_ANALYST) -> None:
        from octolib.reports import run_batch
        from octolib.store import connect

        failed: list[str] = []

        def progress(done: int, total: int, result: Any) -> None:
            self.progress.value = done
            what = f"{self._partner_name(result.request.partner)}, {self._template_title(result.request.template)}"
            if not result.ok:
                failed.append(f"{what}: {result.error}")
            self.progress_text.value = (f'<span class="octo-muted">{done} of {plural(total, "report")} · last: '
                                        f"{esc(what)}: {esc(result.status)}</span>")

        store = None
        try:
            store = connect(self.settings)
            run = self._runner or run_batch
            self.batch = run(self.settings, requests, store=store, workers=self.workers,
                             user=actor if actor != UNKNOWN_ANALYST else _whoami(), progress=progress)
            _audit_batch(store, actor, self.batch)
        except BaseException as exc:  # noqa: BLE001 - reported on the page
            log.exception("report batch failed")
            self.error = exc
        finally:
            self.running = False
            self.run_button.disabled = False
            try:
                self._finished(failed, store)
            finally:
                self._store = None
                if store is not None:
                    store.close()

    def _finished(self, failed: list[str], store: Store | None) -> None:
        if self.error is not None:
            self.progress.bar_style = "danger"
            self.say("error", f"The batch could not run: {type(self.error).__name__}: {self.error}")
        elif failed:
            self.progress.bar_style = "warning"
            made = len(self.batch.succeeded) if self.batch is not None else 0
            self.say("warn", f"{plural(len(failed), 'report')} failed and {plural(made, 'report')} were made: "
                             + "; ".join(failed))
        else:
            self.progress.bar_style = "success"
            n = len(self.batch.results) if self.batch is not None else 0
            self.say("ok", f"{plural(n, 'report')} made: preview and download {'it' if n == 1 else 'them'} below.")
        self.guard(self.update)(store)
        if self.batch is not None and self.batch.succeeded:
            first = self.batch.succeeded[0].report_id
            if first in [v for _, v in self.pick.options]:
                self.pick.value = first
                self._show(self._pdf_of(first))
                self.sender.point_at(first)

    def _partner_name(self, slug: str) -> str:
        return self.partner_names.get(slug, slug)

    def _template_title(self, name: str) -> str:
        return self.template_titles.get(name, name)

    def wait(self, timeout: float = 600.0) -> None:
        if self._thread is not None:
            self._thread.join(timeout)


def _audit_batch(store: Any, actor: str, batch: Any) -> None:
    """One ``audit_log`` record per report of the batch, by the analyst who clicked."""
    for result in getattr(batch, "results", None) or []:
        request = result.request
        audit.record(store, actor=actor, action="report_made" if result.ok else "report_failed",
                     target=request.partner, template=request.template,
                     report_id=getattr(result, "report_id", None) or None)


def _iso(d: date) -> str:
    return d.isoformat()


def _whoami() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001
        return "dashboard"


def build_report_builder(data: DashboardData, settings: Settings, **kwargs: Any) -> ReportBuilderPage:
    """The page over ``data`` (tests pass a runner or fewer workers through ``kwargs``)."""
    return ReportBuilderPage(data, settings, **kwargs)


def report_builder_page(settings: Settings) -> Any:
    """What ``notebooks/report_builder.ipynb`` displays."""
    return page_for_settings("Report builder", "report_builder", build_report_builder, settings, pass_settings=True)
