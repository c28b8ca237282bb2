"""Segments: how a campaign, a project or a period worked for each kind of customer.

Pick what to analyse (one campaign, one energy project, or every campaign of a period) and a
customer field (bands of a number such as annual kWh, or the categories of a field such as
home type); the page shows one rate per segment with its 95 % interval, the test of whether
the segments differ in words, and the table (downloadable as CSV) of every rate. Groups
smaller than ``OCTO_SEGMENT_MIN_GROUP`` never appear (merged into "Other" or left out). All
numbers come from :func:`octolib.customers.analysis.analyse`, as in the PDF.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as w
import numpy as np

from octolib import charts
from octolib.config import Settings
from octolib.customers.analysis import PRIVACY_NOTE, SegmentAnalysis, analyse, test_sentence
from octolib.customers.link import last_link_report
from octolib.customers.projects import project_names
from octolib.customers.segments_data import Selection
from octolib.customers.source import CustomerSource, SourceConfig, open_source
from octolib.dashboards.base import Dashboard, DateRange, page_for_settings
from octolib.dashboards.data import DashboardData
from octolib.dashboards.widgets import Chart, Column, DataTable, esc, section
from octolib.metrics.rate_specs import RATES
from octolib.metrics.segments import SEGMENT_RATES

__all__ = ["SegmentsPage", "build_segments", "segments_page"]

SCOPES = (("Campaign", "campaign"), ("Project", "project"), ("Period", "period"))


class SegmentsPage(Dashboard):
    """Controls: ``scope``, ``campaign``, ``project``, ``period``, ``field``, ``rate``.
    Results: ``analysis`` (:class:`SegmentAnalysis`), ``chart``, ``table``, ``test_line``."""

    def __init__(self, data: DashboardData, settings: Settings | None = None) -> None:
        super().__init__(data, "Segments", "segments")
        settings = settings or Settings()
        self.min_group = settings.segment_min_group
        self.source: CustomerSource = open_source(data.store, SourceConfig.from_settings(settings))
        self.analysis: SegmentAnalysis | None = None
        self.scope = w.ToggleButtons(options=list(SCOPES), value="campaign", style={"button_width": "90px"})
        self.campaign = w.Dropdown(description="Campaign", layout=w.Layout(width="460px"))
        self.project = w.Dropdown(description="Project", layout=w.Layout(width="360px"))
        self.period = DateRange(self.today, data.tz, self.guard(self.update))
        self.field = w.Dropdown(description="Customer field", style={"description_width": "initial"},
                                layout=w.Layout(width="300px"))
        self.rate = w.Dropdown(options=[(RATES[r].label, r) for r in SEGMENT_RATES], value="click_rate",
                               description="Rate", layout=w.Layout(width="260px"))
        self.field_note = w.HTML()
        self.link_line = w.HTML()
        self.summary = w.HTML()
        self.test_line = w.HTML()
        self.chart = Chart("By segment")
        self.table = DataTable(
            [Column("order", "#", "count"), Column("segment", "Segment"), Column("contacts", "Contacts", "count")]
            + [c for r in SEGMENT_RATES for c in (Column(r, RATES[r].label, "rate"),
                                                  Column(f"{r}_ci", "95% interval"))],
            csv_name="segments.csv", default_sort="order", default_descending=False, search_keys=["segment"])
        self.scope_box = w.HBox([])
        self.body.children = [
            w.HBox([self.scope, self.scope_box], layout=w.Layout(flex_flow="row wrap", align_items="center")),
            w.HBox([self.field, self.field_note, self.rate], layout=w.Layout(flex_flow="row wrap",
                                                                             align_items="center")),
            self.link_line, self.summary, self.test_line,
            section("Rate by segment"), self.chart.widget,
            section("Every rate by segment"), self.table.widget,
            w.HTML(f'<div class="octo-muted">{esc(PRIVACY_NOTE.format(n=self.min_group))} '
                   "Intervals are 95% Wilson intervals; the test is a chi-square test of independence.</div>"),
        ]
        self._fill_menus()
        for control in (self.scope, self.campaign, self.project, self.field, self.rate):
            control.observe(lambda _: self.guard(self.update)(), "value")
        self.ready()

    # -- menus -------------------------------------------------------------------------------

    def _fill_menus(self) -> None:
        t = self.data.campaigns()
        sent = [i for i in range(len(t)) if t.cols["status"][i] in ("sent", "sending")]
        sent.sort(key=lambda i: t.cols["sent_at"][i], reverse=True)
        keep = self.campaign.value
        self.campaign.options = [(str(t.cols["name"][i]), str(t.cols["campaign_id"][i])) for i in sent]
        ids = [v for _, v in self.campaign.options]
        self.campaign.value = keep if keep in ids else (ids[0] if ids else None)
        names = project_names(self.source)
        keep_p = self.project.value
        self.project.options = sorted(((n, pid) for pid, n in names.items()), key=lambda x: x[0])
        self.project.value = keep_p if keep_p in names else (next(iter(sorted(names, key=names.get))) if names  # type: ignore[arg-type]
                                                              else None)
        mapping = self.source.mapping()
        fields = [f.name for f in mapping.segment_fields] if mapping else []
        keep_f = self.field.value
        self.field.options = [(f.replace("_", " "), f) for f in fields]
        self.field.value = keep_f if keep_f in fields else (fields[0] if fields else None)

    def reload(self) -> None:
        self._fill_menus()
        self.update()

    # -- results -----------------------------------------------------------------------------

    def _selection(self) -> Selection | None:
        scope = self.scope.value
        if scope == "campaign":
            self.scope_box.children = [self.campaign]
            return Selection(campaign_ids=(self.campaign.value,)) if self.campaign.value else None
        if scope == "project":
            self.scope_box.children = [self.project]
            return Selection(project_id=self.project.value) if self.project.value else None
        self.scope_box.children = [self.period.widget]
        if self.period.reversed:
            return None
        lo, hi = self.period.bounds()
        start = None if np.isnat(lo) else lo.astype("datetime64[us]").item()
        end = None if np.isnat(hi) else hi.astype("datetime64[us]").item()
        from datetime import timezone

        return Selection(start=start.replace(tzinfo=timezone.utc) if start else None,
                         end=end.replace(tzinfo=timezone.utc) if end else None)

    def _clear(self, kind: str, text: str) -> None:
        self.say(kind, text)
        self.summary.value = self.test_line.value = ""
        self.chart.show(charts.empty_figure("By segment"))
        self.table.set_rows([])

    def _link_text(self) -> str:
        report = last_link_report(self.source)
        if not report:
            return ""
        return (f'<div class="octo-sub">Contacts linked to customers: {report["by_email"] + report["by_field"]:,} '
                f'({report["by_email"]:,} by address, {report["by_field"]:,} by custom field), '
                f'{report["unmatched"]:,} without a customer, {report["ambiguous"]:,} ambiguous (not linked).</div>')

    def update(self) -> None:
        self.say("", "")
        self.field_note.value = ""
        self.link_line.value = self._link_text()
        selection = self._selection()
        if self.field.value is None:
            self.field_note.value = '<span style="color:#b45309">no customer fields yet</span>'
            self._clear("info", "No customer data yet: import it with `octo customers import FILE --mapping MAP.yml` "
                                "(or set OCTO_CUSTOMERS_SOURCE=existing), then run `octo link`.")
            return
        if selection is None:
            if self.scope.value == "period" and self.period.reversed:
                self._clear("warn", "The start date is after the end date: pick a start on or before the end.")
            else:
                what = {"campaign": "sent campaign", "project": "project"}[self.scope.value]
                self._clear("info", f"There is no {what} to analyse yet.")
            return
        self.analysis = analysis = analyse(self.source, selection, min_group=self.min_group)
        table = analysis.table(self.field.value)
        self.summary.value = f'<div class="octo-sub">{esc(analysis.describe())}</div>'
        if table is None or not table.labels:
            self._clear("info", "No group of this field reaches the minimum size for this selection "
                                f"({self.min_group} contacts); pick a wider selection.")
            self.summary.value = f'<div class="octo-sub">{esc(analysis.describe())}</div>'
            return
        rate = self.rate.value
        test = table.tests.get(rate)
        colour = "#b45309" if test is not None and test.significant else "#52606d"
        self.test_line.value = (f'<div class="octo-sub" style="color:{colour}"><b>'
                                f'{esc(test_sentence(table, rate))}</b></div>')
        extra = []
        if table.suppressed_contacts:
            extra.append(f"{table.suppressed_contacts:,} in groups too small to show")
        if table.unknown_contacts:
            extra.append(f"{table.unknown_contacts:,} without a value")
        if extra:
            self.summary.value += f'<div class="octo-muted">Not in the chart: {esc("; ".join(extra))}.</div>'
        self.chart.show(charts.segment_figure(table, rate, f"{RATES[rate].label} by {table.field.replace('_', ' ')}"))
        rows: list[dict[str, Any]] = []
        for order, row in enumerate(table.rows(), start=1):
            row["order"] = order  # bands in their natural order, low to high
            for r in SEGMENT_RATES:
                lo, hi = row[f"{r}_low"], row[f"{r}_high"]
                row[f"{r}_ci"] = (f"{float(lo):.1%} to {float(hi):.1%}"  # type: ignore[arg-type]
                                  if lo == lo and hi == hi else "—")
            rows.append(row)
        self.table.set_rows(rows)


def build_segments(data: DashboardData, settings: Settings | None = None) -> SegmentsPage:
    """The segments page over ``data`` (``settings`` for the customer source and minimum group)."""
    return SegmentsPage(data, settings)


def segments_page(settings: Settings) -> SegmentsPage:
    """The segments page for the store ``settings`` point at (what the notebook calls)."""
    return page_for_settings("Segments", "segments", build_segments, settings,  # type: ignore[return-value]
                             pass_settings=True)
