"""Overview: KPI cards, the trend of a rate with its moving average, the best and worst
campaigns, the flags, and when the data was last synced."""

from __future__ import annotations

from typing import Any

import ipywidgets as w
import numpy as np

from octolib import charts, metrics
from octolib.config import Settings
from octolib.dashboards.base import Dashboard, DateRange, page_for_settings
from octolib.dashboards.data import DashboardData, in_window
from octolib.dashboards.rates import RATE_CHOICES, rate_choice
from octolib.dashboards.widgets import Chart, esc, fmt_time, kpi_cards, section
from octolib.metrics import format_count, format_rate
from octolib.vocabulary import SENT_STATUSES

__all__ = ["OverviewPage", "build_overview", "overview_page"]

#: Campaign statuses that have results.


class OverviewPage(Dashboard):
    """The overview. Controls: ``period`` (a :class:`DateRange`), ``rate`` (which rate the
    trend and the rankings use), ``unit`` (week or month). Results: ``cards`` (HTML),
    ``kpis`` (the numbers behind the cards), ``trend`` (a :class:`Chart`), ``best`` and
    ``worst`` (campaign ids), ``flags`` (messages)."""

    def __init__(self, data: DashboardData) -> None:
        super().__init__(data, "Overview", "overview")
        self.period = DateRange(self.today, data.tz, self.guard(self.update))
        self.rate = w.Dropdown(options=[(c.label, c.name) for c in RATE_CHOICES], value="open_rate",
                               description="Rate", layout=w.Layout(width="260px"))
        self.unit = w.ToggleButtons(options=[("Week", "week"), ("Month", "month")], value="week",
                                    style={"button_width": "70px"})
        self.cards = w.HTML()
        self.trend = Chart("Trend")
        self.rankings = w.HTML()
        self.flag_box = w.HTML()
        self.kpis: dict[str, Any] = {}
        self.best: list[str] = []
        self.worst: list[str] = []
        self.flags: list[str] = []
        self.rate.observe(lambda _: self.guard(self.update)(), "value")
        self.unit.observe(lambda _: self.guard(self.update)(), "value")
        self.body.children = [
            w.HBox([self.period.widget, self.rate, self.unit], layout=w.Layout(flex_flow="row wrap")),
            self.cards,
            section("Trend"), self.trend.widget,
            section("Best and worst campaigns"), self.rankings,
            section("Flags"), self.flag_box,
        ]
        self.ready()

    def _selection(self) -> np.ndarray:
        table = self.table
        lo, hi = self.period.bounds()
        sent = np.isin(table.cols["status"], SENT_STATUSES)
        return sent & in_window(table.cols["sent_at"], lo, hi)

    def reload(self) -> None:
        self.update()

    def update(self) -> None:
        self.say("", "")
        self.table = self.data.campaigns()
        choice = rate_choice(self.rate.value)
        if len(self.table) == 0:
            self._clear("No campaigns yet. Run a sync (Sync page or `octo sync`) to load the account.", "info")
            return
        if self.period.reversed:
            self._clear("The start date is after the end date: pick a start on or before the end.", "warn")
            return
        sel = self._selection()
        if not sel.any():
            self._clear(f"No campaigns were sent in this period ({self.period.describe()}). "
                        "Choose a longer period.", "info")
            return
        t = self.table
        cols = {k: v[sel] for k, v in t.cols.items()}
        rates = t.rates
        delivered = np.asarray(rates.delivered_count)[sel]
        totals = metrics.totals({k: cols[k] for k in ("sent", "opened", "clicked", "bounced_hard", "bounced_soft",
                                                      "unsubscribed", "spam_complaints")})
        open_s = metrics.summarize(np.asarray(rates.open_rate)[sel], weights=delivered)
        click_s = metrics.summarize(np.asarray(rates.click_rate)[sel], weights=delivered)
        ctor_s = metrics.summarize(np.asarray(rates.click_to_open_rate)[sel],
                                   weights=rates.denominator("click_to_open_rate")[sel])
        bounces = totals["bounced_hard"] + totals["bounced_soft"]
        self.kpis = {
            "campaigns": int(sel.sum()),
            "sent": totals["sent"],
            "open_rate_mean": open_s.mean, "open_rate_median": open_s.median,
            "click_rate_mean": click_s.mean, "click_rate_median": click_s.median,
            "click_to_open_rate_mean": ctor_s.mean, "click_to_open_rate_median": ctor_s.median,
            "bounces": bounces, "unsubscribes": totals["unsubscribed"], "complaints": totals["spam_complaints"],
        }
        k = self.kpis
        self.cards.value = kpi_cards([
            ("Campaigns", format_count(k["campaigns"]), self.period.describe()),
            ("Emails sent", format_count(k["sent"]), f"{format_count(int(delivered.sum()))} delivered"),
            ("Open rate", format_rate(k["open_rate_mean"]), f"average · median {format_rate(k['open_rate_median'])}"),
            ("Click rate", format_rate(k["click_rate_mean"]), f"average · median {format_rate(k['click_rate_median'])}"),
            ("Click-to-open", format_rate(k["click_to_open_rate_mean"]),
             f"average · median {format_rate(k['click_to_open_rate_median'])}"),
            ("Bounces", format_count(bounces), f"{format_rate(metrics.pooled_rate(bounces, totals['sent']), 2)} of sent"),
            ("Unsubscribes", format_count(k["unsubscribes"]),
             f"{format_rate(metrics.pooled_rate(k['unsubscribes'], delivered.sum()), 2)} of delivered"),
            ("Complaints", format_count(k["complaints"]),
             f"{format_rate(metrics.pooled_rate(k['complaints'], delivered.sum()), 2)} of delivered"),
        ])
        # trend
        num, den = choice.parts(t)
        series = metrics.rate_over_time(t.cols["sent_at"][sel], np.asarray(num)[sel], np.asarray(den)[sel],
                                        unit=self.unit.value, tz=self.data.tz)
        window = 4 if self.unit.value == "week" else 3
        self.trend.show(charts.rate_over_time_figure(series, f"{choice.label} by {self.unit.value} of sending",
                                                     label=choice.label, window=window))
        # rankings: small campaigns cannot top the table
        values = choice.values(t)[sel]
        eligible = ~np.asarray(metrics.is_small(choice.weights(t)[sel]), dtype=bool)
        ranking = metrics.top_bottom(values, k=5, eligible=eligible)
        idx = np.flatnonzero(sel)
        self.best = [str(t.cols["campaign_id"][idx[i]]) for i in ranking.top]
        self.worst = [str(t.cols["campaign_id"][idx[i]]) for i in ranking.bottom]
        self.rankings.value = self._rank_html(ranking.top, ranking.bottom, idx, values, choice.label)
        # flags
        per_campaign = t.flag_messages()
        flagged = [i for i in np.flatnonzero(t.flags.any & sel)]
        self.flags = [m for i in flagged for m in per_campaign.get(int(i), [])]
        if self.flags:
            items = "".join(
                f'<li><a href="campaign.ipynb?id={esc(t.cols["campaign_id"][i])}">{esc(m)}</a></li>'
                for i in flagged for m in per_campaign.get(int(i), []))
            self.flag_box.value = f'<ul class="octo-flag-list">{items}</ul>'
        else:
            self.flag_box.value = '<div class="octo-muted">No flags in this period: bounces, complaints and open ' \
                                  'rates are within their thresholds.</div>'
        if not eligible.any():
            self.say("info", "Every campaign in this period has fewer than "
                             f"{metrics.SMALL_DENOMINATOR} recipients for this rate, so none is ranked.")

    def _rank_html(self, top: np.ndarray, bottom: np.ndarray, idx: np.ndarray, values: np.ndarray, label: str) -> str:
        t = self.table

        def rows(order: np.ndarray) -> str:
            if not len(order):
                return '<tr><td colspan="3" class="octo-empty">No campaign with enough recipients.</td></tr>'
            out = []
            for i in order:
                j = idx[i]
                cid = esc(t.cols["campaign_id"][j])
                out.append(f'<tr><td><a href="campaign.ipynb?id={cid}">{esc(t.cols["name"][j])}</a></td>'
                           f'<td>{esc(fmt_time(t.cols["sent_at"][j], self.data.tz, with_time=False))}</td>'
                           f'<td class="num">{esc(format_rate(values[i]))}</td></tr>')
            return "".join(out)

        head = f'<tr><th>Campaign</th><th>Sent</th><th class="num">{esc(label)}</th></tr>'
        return ('<div style="display:flex;gap:20px;flex-wrap:wrap">'
                f'<div style="flex:1 1 420px"><b>Best 5</b><table class="octo-table" data-rank="best">{head}{rows(top)}</table></div>'
                f'<div style="flex:1 1 420px"><b>Worst 5</b><table class="octo-table" data-rank="worst">{head}{rows(bottom)}</table></div>'
                '</div>')

    def _clear(self, text: str, kind: str) -> None:
        self.say(kind, text)
        self.kpis, self.best, self.worst, self.flags = {}, [], [], []
        self.cards.value = ""
        self.trend.show(charts.empty_figure("Trend", "No data for this selection"))
        self.rankings.value = ""
        self.flag_box.value = ""


def build_overview(data: DashboardData) -> OverviewPage:
    """The overview page over ``data`` (tests call this with a synced tiny account)."""
    return OverviewPage(data)


def overview_page(settings: Settings) -> OverviewPage:
    """The overview page for the store ``settings`` point at (what the notebook calls)."""
    return page_for_settings("Overview", "overview", build_overview, settings)  # type: ignore[return-value]
