"""Campaigns: every campaign in a filterable, sortable table with links to its detail page,
a comparison chart of the selected campaigns, and a CSV of the table as filtered.

The "Lists" column names every list a campaign was sent to (the list filter matches any of
them). Campaigns still in progress (``octolib.metrics.maturity``) say so in the Flags column
and are left out of the comparison's median line."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import ipywidgets as w
import numpy as np

from octolib import charts, metrics
from octolib.config import Settings
from octolib.conversions import account_conversions
from octolib.dashboards.base import Dashboard, DateRange, page_for_settings
from octolib.dashboards.conversions import conversion_upload_panel
from octolib.reports.conversions_section import value_cell
from octolib.dashboards.data import DashboardData, in_window
from octolib.dashboards.rates import RATE_CHOICES, rate_choice
from octolib.dashboards.widgets import Chart, Column, DataTable, fmt_time, section

__all__ = ["CampaignsPage", "build_campaigns", "campaigns_page", "campaign_link"]

ALL = "*"
#: Shown (before Flags) when a partner has goal links or an outcome upload (octolib.conversions).
_CONVERSION_COLUMNS = [Column("goal_clicks", "Goal clicks", kind="count"),
                       Column("conversions", "Conversions", kind="count"),
                       Column("conversion_value", "Conv. value")]  # text: two decimals, as in the PDF
MAX_COMPARED = 12


def campaign_link(row: dict[str, Any]) -> str:
    """Relative link to the campaign's detail page (shareable: the id is in the query)."""
    return f"campaign.ipynb?id={quote(str(row['campaign_id']), safe='')}"


class CampaignsPage(Dashboard):
    """Controls: ``period``, ``status``, ``list_filter``, ``table`` (search, sort, pages,
    CSV), ``compare`` (campaign ids to chart) and ``compare_rate``. Results: ``table.rows``
    (after the period/status/list filters), ``table.visible_rows`` (after search too) and
    ``comparison`` (a :class:`Chart`)."""

    def __init__(self, data: DashboardData, *, conversion_window_days: float = 7.0,
                 actor: Callable[[], str] | None = None) -> None:
        super().__init__(data, "Campaigns", "campaigns")
        self.conversion_window_days = conversion_window_days
        self.period = DateRange(self.today, data.tz, self.guard(self.update))
        self.status = w.Dropdown(description="Status", layout=w.Layout(width="200px"))
        self.list_filter = w.Dropdown(description="List", layout=w.Layout(width="260px"))
        self.table = DataTable(
            [
                Column("name", "Campaign", link=campaign_link),
                Column("subject", "Subject"),
                Column("list", "Lists"),
                Column("status", "Status"),
                Column("sent_at", "Sent", kind="datetime"),
                Column("sent", "Sent to", kind="count"),
                Column("open_rate", "Open rate", kind="rate"),
                Column("click_rate", "Click rate", kind="rate"),
                Column("click_to_open_rate", "Click-to-open", kind="rate"),
                Column("bounce_rate", "Bounce rate", kind="rate"),
                Column("unsubscribe_rate", "Unsubscribes", kind="rate"),
                Column("flags", "Flags"),
            ],
            search_keys=["name", "subject", "list", "status", "flags"],
            search_placeholder="Search name, subject, list…",
            csv_name="campaigns.csv", tz=data.tz, default_sort="sent_at", on_error=self._csv_failed,
        )
        self.table.search.observe(lambda _: self.guard(self._after_table)(), "value")
        self.compare = w.SelectMultiple(description="Compare", rows=8, layout=w.Layout(width="520px"))
        self.compare_rate = w.Dropdown(options=[(c.label, c.name) for c in RATE_CHOICES], value="open_rate",
                                       description="Rate", layout=w.Layout(width="260px"))
        self.comparison = Chart("Comparison")
        self.compare.observe(lambda _: self.guard(self._draw_comparison)(), "value")
        self.compare_rate.observe(lambda _: self.guard(self._draw_comparison)(), "value")
        self.body.children = [
            w.HBox([self.period.widget, self.status, self.list_filter], layout=w.Layout(flex_flow="row wrap")),
            self.table.widget,
            section("Compare campaigns"),
            w.HTML('<div class="octo-muted">Select campaigns (Ctrl/Cmd-click for several); the line is the '
                   'median of the settled campaigns shown in the table (those in progress are left out).</div>'),
            w.HBox([self.compare, self.compare_rate], layout=w.Layout(flex_flow="row wrap")),
            self.comparison.widget,
        ]
        # Conversions (issue 13): the upload panel, and goal clicks / conversions columns when any exist.
        self.conversions = conversion_upload_panel(data.store, tz=data.tz, on_change=self.guard(self.update),
                                                   **({"actor": actor} if actor is not None else {}))
        self._base_columns = list(self.table.columns)
        self.body.children = (*self.body.children, section("Conversions"), self.conversions.widget)
        self._fill_menus()
        self.status.observe(lambda _: self.guard(self.update)(), "value")
        self.list_filter.observe(lambda _: self.guard(self.update)(), "value")
        self.ready()

    def _csv_failed(self, exc: Exception) -> None:
        self.say("error", f"The CSV could not be made: {exc}")

    def _fill_menus(self) -> None:
        t = self.data.campaigns()
        statuses = sorted({str(s) for s in t.cols["status"] if s})
        keep_status = self.status.value if self.status.value in statuses else ALL
        self.status.options = [("All statuses", ALL)] + [(s.capitalize(), s) for s in statuses]
        self.status.value = keep_status
        lists = [(d["name"], d["list_id"]) for d in self.data.list_docs()]
        keep_list = self.list_filter.value if self.list_filter.value in {i for _, i in lists} else ALL
        self.list_filter.options = [("All lists", ALL)] + lists
        self.list_filter.value = keep_list

    def reload(self) -> None:
        self._fill_menus()
        self.update()

    def update(self) -> None:
        self.say("", "")
        t = self.data.campaigns()
        self.campaign_table = t
        if len(t) == 0:
            self.table.empty_text = "No campaigns yet. Run a sync to load the account."
            self.table.set_rows([])
            self.say("info", "No campaigns yet. Run a sync (Sync page or `octo sync`) to load the account.")
            self._after_table()
            return
        if self.period.reversed:
            self.table.empty_text = "The start date is after the end date."
            self.table.set_rows([])
            self.say("warn", "The start date is after the end date: pick a start on or before the end.")
            self._after_table()
            return
        lo, hi = self.period.bounds()
        sel = in_window(t.cols["sent_at"], lo, hi)
        if self.status.value not in (None, ALL):
            sel &= t.cols["status"] == self.status.value
        if self.list_filter.value not in (None, ALL):
            wanted = self.list_filter.value
            sel &= np.array([wanted in ids for ids in t.cols["list_ids"]], dtype=bool)
        flags = t.flag_texts()
        r = t.rates
        conv = account_conversions(self.data.store, window_days=self.conversion_window_days)
        self.table.columns = self._base_columns[:-1] + (_CONVERSION_COLUMNS if conv else []) + self._base_columns[-1:]
        rows = []
        for i in np.flatnonzero(sel):
            rows.append({
                "campaign_id": str(t.cols["campaign_id"][i]),
                "name": str(t.cols["name"][i]) or "(no name)",
                "subject": str(t.cols["subject"][i]),
                "list": t.list_label(int(i)),
                "list_id": str(t.cols["list_id"][i]),
                "settled": bool(t.settled[i]),
                "status": str(t.cols["status"][i]),
                "sent_at": t.cols["sent_at"][i],
                "sent": int(t.cols["sent"][i]),
                "open_rate": float(r.open_rate[i]),
                "click_rate": float(r.click_rate[i]),
                "click_to_open_rate": float(r.click_to_open_rate[i]),
                "bounce_rate": float(r.bounce_rate[i]),
                "unsubscribe_rate": float(r.unsubscribe_rate[i]),
                "complaint_rate": float(r.complaint_rate[i]),
                "flags": metrics.IN_PROGRESS if t.in_progress[i] else flags[i],
            })
            c = conv.get(rows[-1]["campaign_id"])
            if c is not None:
                rows[-1].update(goal_clicks=c.goal_clicks, conversions=c.conversions,
                               conversion_value="—" if c.value is None else value_cell(c.value))
        self.table.empty_text = "No campaign matches these filters. Widen the period or clear the search."
        self.table.set_rows(rows)
        self._after_table()

    def _after_table(self) -> None:
        """The comparison menu follows the table's rows (search included)."""
        rows = self.table.visible_rows
        if self.table.rows and not rows:
            self.say("info", "No campaign matches these filters. Widen the period, pick another status or list, "
                             "or clear the search.")
        elif self.table.rows:
            self.say("", "")
        options = [(f"{r['name']} ({fmt_time(r['sent_at'], self.data.tz, with_time=False)})", r["campaign_id"])
                   for r in rows]
        ids = {i for _, i in options}
        previous = [c for c in self.compare.value if c in ids]
        if not previous:
            previous = [r["campaign_id"] for r in rows if r["sent"] > 0][:8]
        self._updating = True
        try:
            self.compare.options = options
            self.compare.value = tuple(previous[:MAX_COMPARED])
        finally:
            self._updating = False
        self._draw_comparison()

    def _draw_comparison(self) -> None:
        if getattr(self, "_updating", False):
            return
        choice = rate_choice(self.compare_rate.value)
        chosen = list(self.compare.value)[:MAX_COMPARED]
        by_id = {r["campaign_id"]: r for r in self.table.visible_rows}
        rows = [by_id[c] for c in chosen if c in by_id]
        title = f"{choice.label}: selected campaigns"
        if not rows:
            self.comparison.show(charts.empty_figure(title, "Select campaigns above to compare them"))
            return
        values = np.array([r[choice.name] for r in rows], dtype=np.float64)
        labels = [f"{r['name']} ({fmt_time(r['sent_at'], self.data.tz, with_time=False)})" for r in rows]
        shown = np.array([r[choice.name] for r in self.table.visible_rows if r["sent"] > 0 and r["settled"]],
                         dtype=np.float64)
        reference = metrics.summarize(shown).median if len(shown) else None
        self.comparison.show(charts.comparison_figure(labels, values, title, reference=reference,
                                                      reference_label="Median of the table", value_name=choice.label))
        if len(self.compare.value) > MAX_COMPARED:
            self.say("info", f"Only the first {MAX_COMPARED} selected campaigns are charted.")


def build_campaigns(data: DashboardData, *, conversion_window_days: float = 7.0,
                    actor: Callable[[], str] | None = None) -> CampaignsPage:
    """The campaigns page over ``data`` (``actor``: who uploads outcomes; default the signed-in analyst)."""
    return CampaignsPage(data, conversion_window_days=conversion_window_days, actor=actor)


def campaigns_page(settings: Settings) -> CampaignsPage:
    """The campaigns page for the store ``settings`` point at (what the notebook calls)."""
    return page_for_settings("Campaigns", "campaigns", build_campaigns, settings,  # type: ignore[return-value]
                             conversion_window_days=settings.conversion_window_days)
