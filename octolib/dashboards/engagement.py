"""Engagement: when people open and click (weekday × hour heatmap), how soon after sending
(time-to-open curve), whether sign-up cohorts stay engaged, and how recently contacts
engaged, all in the configured timezone (``OCTO_TIMEZONE``)."""

from __future__ import annotations

import ipywidgets as w
import numpy as np

from octolib import charts, metrics
from octolib.config import Settings
from octolib.dashboards.base import Dashboard, DateRange, page_for_settings
from octolib.dashboards.data import DashboardData, in_window
from octolib.dashboards.widgets import Chart, section
from octolib.charts.engagement import median_sentence
from octolib.metrics.display import plural

__all__ = ["EngagementPage", "build_engagement", "engagement_page"]

ALL = "*"


class EngagementPage(Dashboard):
    """Controls: ``period`` (campaigns sent in it), ``list_filter``, ``kind`` (opens or
    clicks). Results: ``heatmap``, ``time_to_open``, ``cohorts``, ``recency`` (charts),
    ``grid`` (the :class:`~octolib.metrics.HeatmapGrid`), ``delays`` (the distribution)."""

    def __init__(self, data: DashboardData) -> None:
        super().__init__(data, "Engagement", "engagement")
        self.period = DateRange(self.today, data.tz, self.guard(self.update))
        self.list_filter = w.Dropdown(description="List", layout=w.Layout(width="260px"))
        self.kind = w.ToggleButtons(options=[("Opens", "opened"), ("Clicks", "clicked")], value="opened",
                                    style={"button_width": "70px"})
        self.summary = w.HTML()
        self.heatmap = Chart("When")
        self.time_to_open = Chart("How soon")
        self.cohorts = Chart("Cohorts")
        self.recency = Chart("Recency")
        self.body.children = [
            w.HBox([self.period.widget, self.list_filter, self.kind], layout=w.Layout(flex_flow="row wrap")),
            w.HTML(f'<div class="octo-muted">Times are shown in {data.tz}.</div>'),
            self.summary,
            section("Weekday and hour"), self.heatmap.widget,
            section("Time after sending"), self.time_to_open.widget,
            section("Sign-up cohorts"), self.cohorts.widget,
            section("Recency"), self.recency.widget,
        ]
        self._fill_menu()
        self.list_filter.observe(lambda _: self.guard(self.update)(), "value")
        self.kind.observe(lambda _: self.guard(self.update)(), "value")
        self.ready()

    def _fill_menu(self) -> None:
        docs = self.data.list_docs()
        keep = self.list_filter.value if self.list_filter.value in {d["list_id"] for d in docs} else ALL
        self.list_filter.options = [("All lists", ALL)] + [(d["name"], d["list_id"]) for d in docs]
        self.list_filter.value = keep

    def reload(self) -> None:
        self._fill_menu()
        self.update()

    def _empty(self, text: str, kind: str) -> None:
        self.say(kind, text)
        self.summary.value = ""
        for chart, title in ((self.heatmap, "When"), (self.time_to_open, "How soon"), (self.cohorts, "Cohorts"),
                             (self.recency, "Recency")):
            chart.show(charts.empty_figure(title))

    def update(self) -> None:
        self.say("", "")
        t = self.data.campaigns()
        if len(t) == 0:
            self._empty("No campaigns yet. Run a sync (Sync page or `octo sync`) to load the account.", "info")
            return
        if self.period.reversed:
            self._empty("The start date is after the end date: pick a start on or before the end.", "warn")
            return
        lo, hi = self.period.bounds()
        chosen = in_window(t.cols["sent_at"], lo, hi) & ~np.isnat(t.cols["sent_at"])
        pick = self.list_filter.value
        if pick not in (None, ALL):
            chosen &= t.cols["list_id"] == pick
        label = "Opens" if self.kind.value == "opened" else "Clicks"
        events = self.data.events([self.kind.value])
        campaign_ids = t.cols["campaign_id"][chosen]
        # index_of, not np.isin: isin compares object arrays pairwise (events x campaigns).
        in_sel = metrics.index_of(events["campaign_id"], campaign_ids) >= 0
        times = events["occurred_at"][in_sel]
        if not chosen.any():
            self._empty(f"No campaigns were sent in this period ({self.period.describe()}) for this list.", "info")
            return
        if not len(times):
            self._empty(f"No {label.lower()} recorded for the campaigns of this period and list.", "info")
            return
        tz = self.data.tz
        self.grid = metrics.weekday_hour_heatmap(times, tz)
        self.heatmap.show(charts.heatmap_figure(self.grid, f"{label} by weekday and hour ({tz})", label=label))
        index = metrics.index_of(events["campaign_id"][in_sel], t.cols["campaign_id"])
        delays = metrics.time_to_event(index, times, t.cols["sent_at"])
        self.delays = metrics.delay_distribution(delays)
        event = "open" if self.kind.value == "opened" else "click"
        self.time_to_open.show(charts.time_to_open_figure(self.delays, f"Time from sending to {event}", event=event))
        c = self.data.contacts()
        csel = np.ones(len(c["contact_id"]), dtype=bool) if pick in (None, ALL) else c["list_id"] == pick
        signup = c["created_at"][csel]
        ev_contact = metrics.index_of(events["contact_id"][in_sel], c["contact_id"][csel])
        self.cohort_grid = metrics.signup_cohorts(signup, ev_contact, times, tz=tz)
        self.cohorts.show(charts.cohort_figure(self.cohort_grid, f"Share of each sign-up month with {label.lower()}, "
                                                                 "by months since sign-up"))
        last = metrics.last_engaged_at(c["last_opened_at"][csel], c["last_clicked_at"][csel])
        self.recency_result = metrics.engagement_recency(last, self.data.now())
        self.recency.show(charts.recency_figure(self.recency_result, "Contacts who opened or clicked recently"))
        self.summary.value = (
            f'<div class="octo-sub">{plural(len(times), event)} from {plural(int(chosen.sum()), "campaign")} · '
            f"{median_sentence(self.delays, event)}</div>")


def build_engagement(data: DashboardData) -> EngagementPage:
    """The engagement page over ``data``."""
    return EngagementPage(data)


def engagement_page(settings: Settings) -> EngagementPage:
    """The engagement page for the store ``settings`` point at (what the notebook calls)."""
    return page_for_settings("Engagement", "engagement", build_engagement, settings)  # type: ignore[return-value]
