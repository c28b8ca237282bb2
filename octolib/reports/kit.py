"""What a report template notebook calls: open the context, build, show, write.

A template stays thin (STYLE.md §9): a ``parameters`` cell, then::

    from octolib.reports import kit
    ctx = kit.context("campaign_summary", partner=partner, date_from=date_from, date_to=date_to,
                      data_dir=data_dir, db_name=db_name, timezone=timezone)
    report = kit.build(ctx)
    kit.show(report)
    kit.write(report, output_dir, ctx)

The notebook is an edge, like the CLI: :func:`context` is where settings are read
(``Settings.from_env()``, then the non-secret overrides the runner passes as parameters).
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from octolib import __version__
from octolib.config import Settings
from octolib.reports.document import Chart, Paragraph, Provenance, ReportDocument, Table, appendix_csv, scrub
from octolib.reports.partners import Partner, get_partner
from octolib.reports.period import Period, parse_day, resolve_range
from octolib.reports.templates import TemplateInfo, template_info
from octolib.store.data_as_of import data_as_of

if TYPE_CHECKING:
    from octolib.store import Store

__all__ = ["ReportContext", "context", "make_context", "latest_sync", "build", "show", "write"]

log = logging.getLogger(__name__)


def _utc(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def latest_sync(store: Any) -> tuple[datetime | None, str]:
    """``(finished_at, run id)`` of the run the data is as of, or ``(None, "")``.

    The report's numbers are "as of" this moment: the data cannot be newer than the sync
    that brought it. The rule is the dashboards' (:func:`octolib.store.data_as_of.data_as_of`),
    so a PDF and a page on the same store name the same run.
    """
    info = data_as_of(store)
    return _utc(info.finished_at), info.run_id


@dataclass
class ReportContext:
    """Everything a builder needs: the store, the partner, the periods and the provenance."""

    settings: Settings
    store: Store
    partner: Partner
    template: TemplateInfo
    period: Period
    data_as_of: datetime | None
    sync_run_id: str
    chart_width: int = 900
    chart_height: int = 420
    extras: dict[str, Any] = field(default_factory=dict)
    #: A custom report (issue 13): the chosen sections (None: the full report), the chosen
    #: campaigns (None: the partner's rules; checked by ``campaign_choice``) and the note
    #: (None: the partner's stored note).
    sections: tuple[str, ...] | None = None
    campaign_ids: tuple[str, ...] | None = None
    note: str | None = None

    def campaign_filter(self) -> dict[str, Any]:
        """The ``campaigns`` filter of this report: the explicit choice, else the partner's rules."""
        from octolib.reports.campaign_choice import ids_filter
        from octolib.reports.partners import campaign_query

        return campaign_query(self.partner) if self.campaign_ids is None else ids_filter(self.campaign_ids)

    @property
    def previous(self) -> Period:
        return self.period.previous()

    @property
    def tz(self) -> str:
        return self.period.tz

    def provenance(self, definitions: Any = ()) -> Provenance:
        return Provenance(
            template=self.template.name, template_version=self.template.version, data_as_of=self.data_as_of,
            sync_run_id=self.sync_run_id, definitions=tuple(definitions), timezone=self.tz,
            software=f"octolib {__version__}",
        )

    def chart(self, key: str, title: str, figure: Any, height: int | None = None) -> Chart:
        """A :class:`Chart` with its PNG rendered now (None + reason if it cannot be).

        ``title`` is printed as the chart's heading, so the image is rendered without the
        figure's own title (the same words twice would waste the page).
        """
        from octolib.reports.images import render_png

        h = height or self.chart_height
        if figure is None:
            return Chart(key=key, title=title, png=None, width_px=self.chart_width, height_px=h, error="no figure")
        import plotly.graph_objects as go

        image = go.Figure(figure)
        image.update_layout(title_text="", margin_t=min(int(image.layout.margin.t or 40), 40))
        png, error = render_png(image, width=self.chart_width, height=h)
        return Chart(key=key, title=title, figure=figure, png=png, width_px=self.chart_width, height_px=h, error=error)

    def _rows(self) -> list[tuple[str, str]]:
        return [
            ("Partner", f"{self.partner.name} ({self.partner.slug})"),
            ("Template", f"{self.template.title} v{self.template.version}"),
            ("Period", f"{self.period.label()}: {self.period.start} to {self.period.end} ({self.tz})"),
            ("Compared with", f"{self.previous.label()} ({self.period.comparison_name()})"),
            ("Data as of", f"{self.data_as_of:%Y-%m-%d %H:%M} UTC, sync run {self.sync_run_id}"
             if self.data_as_of else "no completed sync"),
        ]

    def __repr__(self) -> str:
        # What an executed notebook shows: no recipients, no settings, no addresses.
        return scrub("\n".join(f"{k}: {v}" for k, v in self._rows()))

    def _repr_html_(self) -> str:
        body = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
                       for k, v in self._rows())
        return scrub(f"<table>{body}</table>")


def make_context(settings: Settings, store: Store, template: str, partner: str, date_from: str = "",
                 date_to: str = "", today: date | None = None, *, sections: Sequence[str] | None = None,
                 campaign_ids: Sequence[str] | None = None, note: str | None = None) -> ReportContext:
    """The context from already-open settings and store (tests and the builder page use this).

    The period is ``date_from..date_to`` when both are given; otherwise the partner's
    ``default_range`` seen from the day of the last sync (so the same data gives the same
    period), or from ``today`` when nothing was ever synced. ``sections``, ``campaign_ids``
    and ``note`` make a custom report (see :class:`ReportContext`); they are checked here
    (ConfigError before any data is read).
    """
    from octolib.reports.campaign_choice import check_campaign_ids

    info = template_info(template)
    p = get_partner(store, partner)
    chosen_sections = None if sections is None else info.check_sections(sections)
    chosen_campaigns = check_campaign_ids(store, p, campaign_ids)
    as_of, run_id = latest_sync(store)
    tz = settings.timezone
    if bool(date_from) != bool(date_to):
        raise_ = "date_from" if not date_from else "date_to"
        from octolib.errors import ConfigError

        raise ConfigError(f"{raise_} is missing: give both --from and --to, or neither for the partner's default range")
    if date_from:
        period = Period(parse_day(date_from, "--from"), parse_day(date_to, "--to"), tz)
    else:
        reference = as_of.astimezone(ZoneInfo(tz)).date() if as_of else (today or datetime.now(timezone.utc).date())
        period = resolve_range(p.default_range, reference, tz)
    return ReportContext(settings=settings, store=store, partner=p, template=info, period=period,
                         data_as_of=as_of, sync_run_id=run_id, sections=chosen_sections,
                         campaign_ids=chosen_campaigns, note=note)


def context(template: str, *, partner: str, date_from: str = "", date_to: str = "", data_dir: str = "",
            db_name: str = "", timezone: str = "", image_server: str = "", env_file: str = "",
            sections: Sequence[str] | None = None, campaign_ids: Sequence[str] | None = None,
            note: str | None = None) -> ReportContext:
    """Open the store and the partner for a template run (called from the notebook).

    Settings come from the environment the kernel inherits and from ``env_file`` (the
    ``.env`` the runner's settings were read from): that is how a MongoDB URI reaches the
    kernel without ever being a parameter. Then the literal overrides. ``image_server`` is
    the runner's chart renderer (see :mod:`octolib.reports.images`).
    """
    from octolib.reports.images import set_image_server
    from octolib.store import connect

    set_image_server(image_server)
    settings = Settings.from_env(dotenv=env_file or None)
    changes: dict[str, Any] = {}
    if data_dir:
        changes["data_dir"] = Path(data_dir)
    if db_name:
        changes["db_name"] = db_name
    if timezone:
        changes["timezone"] = timezone
    settings = settings.replace(**changes)
    settings.validate_timezone()
    store = connect(settings)
    return make_context(settings, store, template, partner, date_from, date_to, sections=sections,
                        campaign_ids=campaign_ids, note=note)


def build(ctx: ReportContext, sections: Sequence[str] | None = None) -> ReportDocument:
    """Compute the report of ``ctx.template`` through its builder (the template registry's):
    the full report, or only the ``sections`` named (the registry's names, in the order
    given); ``sections`` None takes the context's choice (a custom report's parameter)."""
    return ctx.template.builder(ctx, ctx.sections if sections is None else sections)


# -- showing it in the notebook --------------------------------------------------------

def table_html(table: Table) -> str:
    """A :class:`Table` as HTML, cells exactly as in the PDF."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    body = "".join(
        "<tr>" + "".join(
            f"<td style='text-align:{'right' if i in table.numeric else 'left'}'>{html.escape(c)}</td>"
            for i, c in enumerate(row)) + "</tr>"
        for row in table.rows)
    notes = "".join(f"<p><small>{html.escape(n)}</small></p>" for n in table.notes)
    return f"<h4>{html.escape(table.title)}</h4><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{notes}"


def show(doc: ReportDocument) -> None:
    """Display the report's narrative, tables and charts (the same numbers as the PDF)."""
    from IPython.display import HTML, Image, display

    parts = [f"<h2>{html.escape(doc.partner_name)}: {html.escape(doc.title)}, {html.escape(doc.period.label())}</h2>"]
    if doc.empty_message:
        parts.append(f"<p><b>{html.escape(doc.empty_message)}</b></p>")
    if doc.narrative:
        parts.append("<ul>" + "".join(f"<li>{html.escape(s)}</li>" for s in doc.narrative) + "</ul>")
    if doc.note:
        parts.append(f"<p><i>Analyst note: {html.escape(doc.note)}</i></p>")
    if doc.kpis is not None:
        parts.append(table_html(doc.kpis))
    display(HTML("".join(parts)))
    for section in doc.sections:
        display(HTML(f"<h3>{html.escape(section.title)}</h3>"))
        for block in section.blocks:
            if isinstance(block, Table):
                display(HTML(table_html(block)))
            elif isinstance(block, Chart):
                if block.png:
                    display(HTML(f"<h4>{html.escape(block.title)}</h4>"))
                    display(Image(data=block.png, width=block.width_px))
                else:
                    display(HTML(f"<p>{html.escape(block.title)}: chart not drawn ({html.escape(block.error)})</p>"))
            elif isinstance(block, Paragraph):
                display(HTML(f"<p>{html.escape(block.text)}</p>"))


def write(doc: ReportDocument, output_dir: str | Path, ctx: ReportContext | None = None) -> dict[str, Any]:
    """Write ``<template>.pdf``, ``<template>.csv`` and ``<template>.json`` into ``output_dir``.

    The JSON is what the runner reads back: period, data as of, sync run, file names, the
    PDF's page count and SHA-256. Returns it.
    """
    from octolib.reports.pdf import build_pdf_counted

    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    pdf, pages = build_pdf_counted(doc)
    csv = appendix_csv(doc)
    (out / f"{doc.template}.pdf").write_bytes(pdf)
    (out / f"{doc.template}.csv").write_bytes(csv)
    prov = doc.provenance
    info = {
        "partner": doc.partner_slug, "template": doc.template, "template_version": prov.template_version,
        "period": doc.period.as_dict(),
        "data_as_of": prov.data_as_of.isoformat() if prov.data_as_of else "",
        "sync_run_id": prov.sync_run_id, "empty": doc.is_empty,
        "files": {"pdf": f"{doc.template}.pdf", "csv": f"{doc.template}.csv"},
        "pdf_sha256": hashlib.sha256(pdf).hexdigest(), "pages": pages,
        "store": ctx.store.description if ctx is not None else "",
    }
    (out / f"{doc.template}.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    if ctx is not None:
        ctx.extras["written"] = info
    return info
