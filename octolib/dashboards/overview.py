"""Overview: KPI cards, the trend of a rate with its moving average, the best and worst
campaigns, the flags, and when the data was last synced.

Only settled campaigns (``octolib.metrics.maturity``) are judged: cards, trend, rankings and
flags leave out campaigns still sending or younger than ``OCTO_SETTLED_HOURS``; those are
listed apart, marked "in progress". With ten or fewer ranked campaigns, best and worst would
overlap, so one ranked list is shown instead."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as w
import numpy as np

from octolib import charts, metrics
from octolib.config import Settings
from octolib.dashboards.base import Dashboard, DateRange, page_for_settings
from octolib.dashboards.data import DashboardData, in_window
from octolib.dashboards.human import human_cards, human_rate_values
from octolib.dashboards.flag_review import Dismissal, dismiss, dismissals, dismissed_text, restore
from octolib.dashboards.identity import current_analyst
from octolib.dashboards.rates import RATE_CHOICES, rate_choice
from octolib.dashboards.widgets import Chart, esc, fmt_time, kpi_cards, section
from octolib.metrics import format_count, format_rate
from octolib.metrics.flags import Flag, flag_items, group_flags, rank_flags
from octolib.vocabulary import SENT_STATUSES

__all__ = ["OverviewPage", "build_overview", "overview_page"]

#: Campaign statuses that have results.


class OverviewPage(Dashboard):
    """The overview. Controls: ``period`` (a :class:`DateRange`), ``rate`` (which rate the
    trend and the rankings use), ``unit`` (week or month). Results: ``cards`` (HTML),
    ``kpis`` (the numbers behind the cards, settled campaigns only), ``trend`` (a
    :class:`Chart`), ``best`` and ``worst`` (campaign ids; with ten or fewer ranked campaigns
    ``ranked`` holds the one list and both are empty), ``flags`` (messages), ``pending``
    (ids of the period's in-progress campaigns)."""

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
        self.pending_box = w.HTML()
        self.flag_box = w.HTML()
        # flags worth reading: ranked, grouped, the top few unless "show all", each dismissable
        self.flag_group = w.ToggleButtons(options=[("By campaign", "campaign"), ("By list", "list")],
                                          value="campaign", style={"button_width": "100px"})
        self.flag_show_all = w.ToggleButton(value=False, description="Show all", layout=w.Layout(width="110px"))
        self.flag_rows = w.VBox()
        self.flag_items: list[Flag] = []  # ranked, not dismissed, in the period
        self.dismissed: list[Flag] = []  # the period's flags an analyst dismissed
        self._ranked_flags: list[Flag] = []  # both, most important first
        self._dismissal_of: dict[str, Dismissal] = {}  # flag key -> who dismissed it and when
        self.flag_group.observe(lambda _: self.guard(self._draw_flags)(), "value")
        self.flag_show_all.observe(lambda _: self.guard(self._draw_flags)(), "value")
        self.kpis: dict[str, Any] = {}
        self.best: list[str] = []
        self.worst: list[str] = []
        self.ranked: list[str] = []
        self.pending: list[str] = []
        self.flags: list[str] = []
        self.rate.observe(lambda _: self.guard(self.update)(), "value")
        self.unit.observe(lambda _: self.guard(self.update)(), "value")
        self.body.children = [
            w.HBox([self.period.widget, self.rate, self.unit], layout=w.Layout(flex_flow="row wrap")),
            self.cards,
            section("Trend"), self.trend.widget,
            section("Best and worst campaigns"), self.rankings,
            section("Flags"), w.HBox([self.flag_group, self.flag_show_all]), self.flag_box, self.flag_rows,
            section("In progress"), self.pending_box,
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
        started = self._selection()
        if not started.any():
            self._clear(f"No campaigns were sent in this period ({self.period.describe()}). "
                        "Choose a longer period.", "info")
            return
        t = self.table
        pending = started & t.in_progress
        self.pending = [str(c) for c in t.cols["campaign_id"][pending]]
        self._show_pending(pending)
        sel = started & t.settled
        if not sel.any():
            self._clear(f"Every campaign of this period ({self.period.describe()}) is still in progress, so none is "
                        "judged yet: see “In progress” below.", "info", keep_pending=True)
            return
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
            "in_progress": int(pending.sum()),
            "sent": totals["sent"],
            "open_rate_mean": open_s.mean, "open_rate_median": open_s.median,
            "click_rate_mean": click_s.mean, "click_rate_median": click_s.median,
            "click_to_open_rate_mean": ctor_s.mean, "click_to_open_rate_median": ctor_s.median,
            "bounces": bounces, "unsubscribes": totals["unsubscribed"], "complaints": totals["spam_complaints"],
            **human_rate_values(t.rates.counts, sel),
        }
        k = self.kpis
        self.cards.value = kpi_cards([
            ("Campaigns", format_count(k["campaigns"]), self.period.describe() + (
                f" · {format_count(k['in_progress'])} more in progress" if k["in_progress"] else "")),
            ("Emails sent", format_count(k["sent"]), f"{format_count(int(delivered.sum()))} delivered"),
            ("Open rate", format_rate(k["open_rate_mean"]), f"average · median {format_rate(k['open_rate_median'])}"),
            ("Click rate", format_rate(k["click_rate_mean"]), f"average · median {format_rate(k['click_rate_median'])}"),
            ("Click-to-open", format_rate(k["click_to_open_rate_mean"]),
             f"average · median {format_rate(k['click_to_open_rate_median'])}"),
            *human_cards(t.rates.counts, sel),
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
        if ranking.overlaps:  # best and worst would share campaigns: one ranked list
            self.best, self.worst = [], []
            self.ranked = [str(t.cols["campaign_id"][idx[i]]) for i in ranking.ranked]
            self.rankings.value = self._ranked_html(ranking.ranked, idx, values, choice.label)
        else:
            self.ranked = []
            self.best = [str(t.cols["campaign_id"][idx[i]]) for i in ranking.top]
            self.worst = [str(t.cols["campaign_id"][idx[i]]) for i in ranking.bottom]
            self.rankings.value = self._rank_html(ranking.top, ranking.bottom, idx, values, choice.label)
        # flags
        self._rank_flags(sel)
        if not eligible.any():
            self.say("info", "Every campaign in this period has fewer than "
                             f"{metrics.SMALL_DENOMINATOR} recipients for this rate, so none is ranked.")

    # -- flags ---------------------------------------------------------------------------

    def _rank_flags(self, sel: np.ndarray) -> None:
        """The period's flags, most important first (severity and recency), without dismissed ones."""
        t = self.table
        items = flag_items(t.flags, t.cols["campaign_id"], t.cols["name"], t.cols["list_id"], t.cols["sent_at"], sel)
        self._ranked_flags = rank_flags(items, self.data.as_of(), self.data.flag_half_life_days)
        self._split_flags()

    def _split_flags(self) -> None:
        """Dismissed or not, by the audit log's latest word on each flag; then redraw."""
        self._dismissal_of = dismissals(self.data.store)
        self.flag_items = [f for f in self._ranked_flags if f.key not in self._dismissal_of]
        self.dismissed = [f for f in self._ranked_flags if f.key in self._dismissal_of]
        self.flags = [f"{f.campaign}: {f.text}" for f in self.flag_items]
        self._draw_flags()

    def _draw_flags(self) -> None:
        items = self.flag_items
        if not items:
            self.flag_box.value = ('<div class="octo-muted">No flags in this period: bounces, complaints and open '
                                   'rates are within their thresholds'
                                   + (f' ({len(self.dismissed)} dismissed; "Show all" lists them)'
                                      if self.dismissed else '') + '.</div>')
            self.flag_rows.children = tuple(self._dismissed_rows())
            return
        top = self.data.flags_shown
        shown = items if self.flag_show_all.value else items[:top]
        keep = {f.key for f in shown}
        by = self.flag_group.value
        names = self.data.list_names()
        groups = [(k, [f for f in fs if f.key in keep]) for k, fs in group_flags(items, by)]
        rows: list[w.Widget] = []
        for key, fs in groups:
            if not fs:
                continue
            head = (f'<a href="campaign.ipynb?id={esc(key)}">{esc(fs[0].campaign)}</a>' if by == "campaign"
                    else esc(names.get(key, key) or "(no list)"))
            rows.append(w.HTML(f'<div class="octo-flag-group" data-group="{esc(key)}"><b>{head}</b></div>'))
            for f in fs:
                button = w.Button(description="Dismiss", layout=w.Layout(width="90px"),
                                  tooltip="Seen, nothing to do: hide this flag (recorded with your name)")
                button.on_click(lambda _, key=f.key: self.guard(self.dismiss)(key))
                where = "" if by == "campaign" else (
                    f'<a href="campaign.ipynb?id={esc(f.campaign_id)}">{esc(f.campaign)}</a>: ')
                rows.append(w.HBox([button, w.HTML(
                    f'<div class="octo-flag" data-flag="{esc(f.key)}" data-rule="{esc(f.rule)}">{where}'
                    f'{esc(f.text)}</div>')], layout=w.Layout(align_items="center", margin="0 0 0 16px")))
        more = len(items) - len(shown)
        note = (f"{len(items)} flag{'s' if len(items) != 1 else ''}, most important first (how far past its threshold, "
                "weighted by rule, and how recent)")
        if more:
            note += f"; the top {len(shown)} are shown, “Show all” lists {more} more"
        if self.dismissed:
            note += f"; {len(self.dismissed)} dismissed" + ("" if self.flag_show_all.value else " (“Show all” lists them)")
        self.flag_box.value = f'<div class="octo-muted" data-flags="{len(items)}">{esc(note)}.</div>'
        self.flag_rows.children = tuple(rows + self._dismissed_rows())

    def _dismissed_rows(self) -> list[w.Widget]:
        """With "Show all": the dismissed flags, each with who dismissed it and when, and Restore."""
        if not (self.flag_show_all.value and self.dismissed):
            return []
        rows: list[w.Widget] = [w.HTML(f'<div class="octo-flag-group" data-group="dismissed"><b>Dismissed '
                                       f'({len(self.dismissed)})</b></div>')]
        for f in self.dismissed:
            button = w.Button(description="Restore", layout=w.Layout(width="90px"),
                              tooltip="Show this flag again (recorded with your name)")
            button.on_click(lambda _, key=f.key: self.guard(self.restore)(key))
            rec = self._dismissal_of.get(f.key)
            who = dismissed_text(rec) if rec is not None else "dismissed"
            rows.append(w.HBox([button, w.HTML(
                f'<div class="octo-flag octo-muted" data-dismissed="{esc(f.key)}" data-rule="{esc(f.rule)}">'
                f'<a href="campaign.ipynb?id={esc(f.campaign_id)}">{esc(f.campaign)}</a>: {esc(f.text)} '
                f'<i>({esc(who)})</i></div>')], layout=w.Layout(align_items="center", margin="0 0 0 16px")))
        return rows

    def dismiss(self, key: str, actor: str | None = None) -> bool:
        """Dismiss the flag ``key`` as the signed-in analyst (``actor`` overrides, for tests)."""
        flag = next((f for f in self.flag_items if f.key == key), None)
        if flag is None:
            self.say("warn", "That flag is no longer shown (dismissed already, or the data changed).")
            return False
        who = actor or current_analyst()
        dismiss(self.data.store, flag, who)
        self._split_flags()
        rec = self._dismissal_of.get(key)
        self.say("ok", f"Flag dismissed: {flag.campaign}: {flag.text} ({dismissed_text(rec) if rec else who}).")
        return True

    def restore(self, key: str, actor: str | None = None) -> bool:
        """Undo the dismissal of flag ``key`` as the signed-in analyst (``actor`` overrides, for tests):
        the flag is listed again in its ranked place."""
        flag = next((f for f in self.dismissed if f.key == key), None)
        if flag is None:
            self.say("warn", "That flag is not dismissed any more (restored already, or the data changed).")
            return False
        who = actor or current_analyst()
        restore(self.data.store, flag, who)
        self._split_flags()
        self.say("ok", f"Flag restored: {flag.campaign}: {flag.text} (by {who}).")
        return True

    def _rank_html(self, top: np.ndarray, bottom: np.ndarray, idx: np.ndarray, values: np.ndarray, label: str) -> str:
        rows = self._rank_rows(idx, values)
        head = f'<tr><th>Campaign</th><th>Sent</th><th class="num">{esc(label)}</th></tr>'
        return ('<div style="display:flex;gap:20px;flex-wrap:wrap">'
                f'<div style="flex:1 1 420px"><b>Best 5</b><table class="octo-table" data-rank="best">{head}{rows(top)}</table></div>'
                f'<div style="flex:1 1 420px"><b>Worst 5</b><table class="octo-table" data-rank="worst">{head}{rows(bottom)}</table></div>'
                '</div>')

    def _ranked_html(self, order: np.ndarray, idx: np.ndarray, values: np.ndarray, label: str) -> str:
        rows = self._rank_rows(idx, values)
        head = f'<tr><th class="num">#</th><th>Campaign</th><th>Sent</th><th class="num">{esc(label)}</th></tr>'
        return (f'<div><b>All {len(order)} ranked campaigns, best first</b> '
                '<span class="octo-muted">(ten or fewer: a best 5 and a worst 5 would overlap)</span>'
                f'<table class="octo-table" data-rank="ranked">{head}{rows(order, numbered=True)}</table></div>')

    def _rank_rows(self, idx: np.ndarray, values: np.ndarray) -> Callable[..., str]:
        """A function drawing the table rows of ``order`` (positions in ``idx``)."""
        t = self.table

        def rows(order: np.ndarray, numbered: bool = False) -> str:
            if not len(order):
                return '<tr><td colspan="3" class="octo-empty">No campaign with enough recipients.</td></tr>'
            out = []
            for n, i in enumerate(order, start=1):
                j = idx[i]
                cid = esc(t.cols["campaign_id"][j])
                out.append('<tr>' + (f'<td class="num">{n}</td>' if numbered else '')
                           + f'<td><a href="campaign.ipynb?id={cid}">{esc(t.cols["name"][j])}</a></td>'
                           f'<td>{esc(fmt_time(t.cols["sent_at"][j], self.data.tz, with_time=False))}</td>'
                           f'<td class="num">{esc(format_rate(values[i]))}</td></tr>')
            return "".join(out)

        return rows

    def _show_pending(self, pending: np.ndarray) -> None:
        """The period's in-progress campaigns, apart and marked, with how old they are."""
        t = self.table
        if not pending.any():
            self.pending_box.value = ('<div class="octo-muted">No campaign of this period is in progress: every one '
                                      'is judged above.</div>')
            return
        age = metrics.hours_since(t.cols["sent_at"], self.data.as_of())
        items = []
        for i in np.flatnonzero(pending):
            when = "still sending" if str(t.cols["status"][i]) == "sending" else f"sent {age[i]:.0f} h ago"
            items.append(f'<li><a href="campaign.ipynb?id={esc(t.cols["campaign_id"][i])}">{esc(t.cols["name"][i])}</a>'
                         f' <span class="octo-muted">({metrics.IN_PROGRESS}: {esc(when)})</span></li>')
        self.pending_box.value = (
            f'<div class="octo-muted">Still sending or sent less than {self.data.settled_hours:g} hours before the '
            'data was synced: their opens and clicks are still coming in, so they are left out of the cards, trend, '
            f'rankings and flags above.</div><ul data-list="in-progress">{"".join(items)}</ul>')

    def _clear(self, text: str, kind: str, keep_pending: bool = False) -> None:
        self.say(kind, text)
        self.kpis, self.best, self.worst, self.ranked, self.flags = {}, [], [], [], []
        if not keep_pending:
            self.pending = []
            self.pending_box.value = ""
        self.cards.value = ""
        self.trend.show(charts.empty_figure("Trend", "No data for this selection"))
        self.rankings.value = ""
        self.flag_box.value = ""
        self.flag_rows.children = ()
        self.flag_items, self.dismissed, self._ranked_flags = [], [], []


def build_overview(data: DashboardData) -> OverviewPage:
    """The overview page over ``data`` (tests call this with a synced tiny account)."""
    return OverviewPage(data)


def overview_page(settings: Settings) -> OverviewPage:
    """The overview page for the store ``settings`` point at (what the notebook calls)."""
    return page_for_settings("Overview", "overview", build_overview, settings)  # type: ignore[return-value]
