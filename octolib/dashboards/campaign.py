"""Campaign detail: one campaign, chosen by the page's URL (``campaign.ipynb?id=<id>``) so
links can be shared. Funnel, rates against the account median and the list's history,
how the metrics grew after sending, link performance, and the contacts behind each event.

A campaign still in progress (``octolib.metrics.maturity``: sending, or younger than
``OCTO_SETTLED_HOURS`` when the data was synced) is marked so, is not compared with the
account or its list (its numbers are not final; the medians it would be held against are of
settled campaigns only), and its "after sending" curve stops at the data's as-of time.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import ipywidgets as w
import numpy as np

from octolib import charts, metrics
from octolib.config import Settings
from octolib.dashboards.base import Dashboard, page_for_settings
from octolib.dashboards.data import DashboardData
from octolib.dashboards.human import human_cards
from octolib.dashboards.providers import provider_html, provider_view
from octolib.dashboards.rates import RATE_CHOICES
from octolib.dashboards.widgets import Chart, Column, DataTable, esc, fmt_time, kpi_cards, message_html, section
from octolib.metrics import RATES, format_count, format_delta, format_rate
from octolib.sync.reconcile import badge_text, campaign_result
from octolib.vocabulary import SENT_STATUSES

__all__ = ["CampaignDetailPage", "build_campaign_detail", "campaign_page", "campaign_id_from_query"]

#: What an empty contacts table says, per event type.
NOBODY = {
    "opened": "Nobody opened this campaign (in the synced reports).",
    "clicked": "Nobody clicked a link in this campaign (in the synced reports).",
    "bounced": "No email of this campaign bounced.",
    "unsubscribed": "Nobody unsubscribed from this campaign.",
    "complained": "Nobody marked this campaign as spam.",
}

EVENT_LABELS: tuple[tuple[str, str], ...] = (
    ("Opened", "opened"),
    ("Clicked", "clicked"),
    ("Bounced", "bounced"),
    ("Unsubscribed", "unsubscribed"),
    ("Complained", "complained"),
)
HORIZON_H = 168.0  # the "after sending" chart covers the first week


def campaign_id_from_query(query: str) -> str | None:
    """The campaign id in a URL query (``?id=...``; ``campaign=`` also accepted).

    >>> campaign_id_from_query("?id=abc-1&x=2"), campaign_id_from_query(""), campaign_id_from_query("?id=")
    ('abc-1', None, None)
    """
    params = parse_qs(query.lstrip("?"), keep_blank_values=True)
    for key in ("id", "campaign", "campaign_id"):
        values = [v.strip() for v in params.get(key, []) if v.strip()]
        if values:
            return values[0]
    return None


class CampaignDetailPage(Dashboard):
    """Controls: ``picker`` (a campaign menu; the URL sets it), ``event_type`` and
    ``contacts`` (a :class:`DataTable` of the contacts behind that event). Results:
    ``campaign_id`` (None when none is chosen or it is unknown), ``funnel_chart``,
    ``comparison`` (rows of the rates table), ``curve_chart``, ``links_chart``, ``link_table``.
    """

    def __init__(self, data: DashboardData, campaign_id: str | None = None, wait_for_url: bool = True,
                 conversion_window_days: float = 7.0) -> None:
        self.conversion_window_days = conversion_window_days
        super().__init__(data, "Campaign", "campaigns")
        self.campaign_id: str | None = None
        self.picker = w.Dropdown(description="Campaign", layout=w.Layout(width="560px"))
        self.header = w.HTML()
        self.cards = w.HTML()
        self.reconciliation = w.HTML()  # do the summary, the per-contact rows and the links agree?
        self.funnel_chart = Chart("Funnel", width=560)
        self.rates_html = w.HTML()
        self.comparison: list[dict[str, Any]] = []
        self.curve_chart = Chart("After sending")
        self.curve_metric = w.ToggleButtons(options=[("Opens", "opened"), ("Clicks", "clicked")], value="opened",
                                            style={"button_width": "70px"})
        self.links_chart = Chart("Links")
        self.providers_html = w.HTML()  # deliverability by mailbox provider (dashboards/providers.py)
        self.link_table = DataTable([
            Column("url", "Destination"),
            Column("clicked_total", "Clicks", kind="count"),
            Column("clicked_unique", "Unique clicks", kind="count"),
            Column("click_share", "Share of clicks", kind="rate"),
            Column("variants", "Tracked variants", kind="count"),
        ], page_size=10, csv_name="links.csv", default_sort="clicked_total", tz=data.tz)
        self.event_type = w.ToggleButtons(options=list(EVENT_LABELS), value="opened", style={"button_width": "100px"})
        self.contacts = DataTable([
            Column("email", "Email"),
            Column("status", "Contact status"),
            Column("occurred_at", "When", kind="datetime"),
            Column("count", "Times", kind="count"),
            Column("contact_id", "Contact id"),
        ], page_size=20, search_keys=["email", "contact_id"], search_placeholder="Search email…",
            csv_name="contacts.csv", default_sort="occurred_at", default_descending=False, tz=data.tz,
            empty_text="Nobody.")
        from octolib.dashboards.project_link import ProjectLinkControl

        self.project_link = ProjectLinkControl(data.store)  # issue 15: link to an energy project by hand
        self.details = w.VBox([
            self.header, self.project_link.widget, self.cards, self.reconciliation,
            w.HBox([self.funnel_chart.widget, self.rates_html], layout=w.Layout(flex_flow="row wrap")),
            section("After sending"), self.curve_metric, self.curve_chart.widget,
            section("Links"), self.links_chart.widget, self.link_table.widget,
            section("Deliverability by mailbox provider"), self.providers_html,
            section("Contacts"), self.event_type, self.contacts.widget,
        ])
        self.body.children = [self.picker, self.details]
        self._fill_picker()
        self.picker.observe(lambda ch: self.guard(self.select)(ch["new"]), "value")
        self.curve_metric.observe(lambda _: self.guard(self._draw_curve)(), "value")
        self.event_type.observe(lambda _: self.guard(self._show_contacts)(), "value")
        # The probe sets ``query`` then bumps ``viewed``: an empty query changes nothing, so
        # the view is the signal.
        self.on_view(lambda: self._query(self.probe.query))
        self.preload_charts()
        self._show_sync()
        if campaign_id is not None:
            self.select(campaign_id)
        elif wait_for_url:
            self.details.layout.display = "none"
            self.say("info", "Loading the campaign named in the page address…")
        else:
            self.select(None)

    # -- choosing the campaign -----------------------------------------------------------

    def _fill_picker(self) -> None:
        t = self.data.campaigns()
        order = sorted(range(len(t)), key=lambda i: (np.isnat(t.cols["sent_at"][i]),
                                                     -int(t.cols["sent_at"][i].astype("datetime64[s]").astype(np.int64))
                                                     if not np.isnat(t.cols["sent_at"][i]) else 0))
        options = [("— choose a campaign —", "")]
        for i in order:
            when = fmt_time(t.cols["sent_at"][i], self.data.tz, with_time=False)
            label = f"{t.cols['name'][i] or '(no name)'} · {when if when != '—' else t.cols['status'][i]}"
            options.append((label, str(t.cols["campaign_id"][i])))
        self._picking = True
        try:
            self.picker.options = options
        finally:
            self._picking = False

    def _query(self, query: str) -> None:
        wanted = campaign_id_from_query(query)
        if wanted != self.campaign_id or self.details.layout.display == "none":
            self.select(wanted)

    def select(self, campaign_id: str | None) -> None:
        """Show ``campaign_id`` (None or unknown: say so and offer the menu)."""
        if getattr(self, "_picking", False):
            return
        t = self.data.campaigns()
        self.table = t
        self.say("", "")
        if len(t) == 0:
            self._hide("No campaigns yet. Run a sync (Sync page or `octo sync`) to load the account.", "info")
            return
        if not campaign_id:
            self._hide("Choose a campaign in the menu, or open one from the Campaigns page.", "info")
            return
        i = t.index(campaign_id)
        if i < 0:
            self._hide(f"There is no campaign with id “{campaign_id}” in the synced data. It may have been deleted, "
                       "or the link is mistyped: choose one in the menu.", "warn")
            return
        self.campaign_id = campaign_id
        self.row = i
        self._picking = True
        try:
            self.picker.value = campaign_id
        finally:
            self._picking = False
        self.details.layout.display = None
        self.project_link.show(campaign_id)
        self.update()

    def _hide(self, text: str, kind: str) -> None:
        self.campaign_id = None
        self.details.layout.display = "none"
        self._picking = True
        try:
            self.picker.value = ""
        finally:
            self._picking = False
        self.say(kind, text)

    def reload(self) -> None:
        self._fill_picker()
        if self.campaign_id:
            self.select(self.campaign_id)

    # -- drawing --------------------------------------------------------------------------

    def update(self) -> None:
        if not self.campaign_id:
            return
        t, i = self.table, self.row
        c = t.cols
        r = t.rates
        name = str(c["name"][i]) or "(no name)"
        self.heading.value = f'<div class="octo-title">{esc(name)}</div>'
        self.header.value = (
            f'<div class="octo-sub">Subject: <b>{esc(c["subject"][i])}</b> · Lists: {esc(t.list_label(i))}'
            f' · Status: {esc(c["status"][i])} · Sent: {esc(fmt_time(c["sent_at"][i], self.data.tz))}'
            f' · Id: <code>{esc(c["campaign_id"][i])}</code></div>')
        delivered = int(np.asarray(r.delivered_count)[i])
        self.cards.value = kpi_cards([
            ("Sent to", format_count(c["sent"][i]), f"{format_count(delivered)} delivered"),
            ("Open rate", format_rate(r.open_rate[i]), f"{format_count(c['opened'][i])} unique opens"),
            ("Click rate", format_rate(r.click_rate[i]), f"{format_count(c['clicked'][i])} unique clicks"),
            ("Click-to-open", format_rate(r.click_to_open_rate[i]), RATES["click_to_open_rate"].formula),
            *human_cards(r.counts, [i]),
            ("Bounces", format_count(int(c["bounced_hard"][i]) + int(c["bounced_soft"][i])),
             f"{format_rate(r.bounce_rate[i], 2)} of sent"),
            ("Unsubscribes", format_count(c["unsubscribed"][i]), f"{format_rate(r.unsubscribe_rate[i], 2)}"),
            ("Complaints", format_count(c["spam_complaints"][i]), f"{format_rate(r.complaint_rate[i], 2)}"),
            *self._conversion_cards(delivered),
        ])
        self._show_reconciliation()
        if str(c["status"][i]) not in SENT_STATUSES or int(c["sent"][i]) == 0:
            self.say("info", f"This campaign is {c['status'][i]}: it has no results yet.")
        elif t.in_progress[i] or int(c["opened"][i]) == 0:
            notes = [self._in_progress_text()] if t.in_progress[i] else []
            if int(c["opened"][i]) == 0:
                notes.append("No opens are recorded for this campaign, so there is no open or click curve.")
            self.say("info", " ".join(notes))
        f = metrics.funnel(c["sent"][i:i + 1], np.asarray(r.delivered_count)[i:i + 1], c["opened"][i:i + 1],
                           c["clicked"][i:i + 1])
        self.funnel_chart.show(charts.funnel_figure(f, "Funnel"))
        self._draw_rates()
        self._events = self.data.events()
        mine = self._events["campaign_id"] == self.campaign_id
        self._mine = {k: v[mine] for k, v in self._events.items()}
        self._draw_curve()
        self._draw_links()
        self._draw_providers()
        self._show_contacts()

    def _show_reconciliation(self) -> None:
        """The badge of :mod:`octolib.sync.reconcile`: agree, or which numbers differ and by how much."""
        if str(self.table.cols["status"][self.row]) not in SENT_STATUSES:
            self.reconciliation.value = ""
            return
        kind, text = badge_text(campaign_result(self.data.store, self.campaign_id or ""))
        self.reconciliation.value = (f'<div data-reconciliation="{esc(kind)}">'
                                     f'{message_html("info" if kind == "muted" else kind, text)}</div>')

    def _conversion_cards(self, delivered: int) -> list[tuple[str, str, str]]:
        """Goal clicks and conversions of this campaign, when a partner of it has any (issue 13)."""
        from octolib.conversions import account_conversions
        from octolib.metrics.conversions import conversion_rate, goal_rate
        from octolib.reports.conversions_section import value_cell

        conv = account_conversions(self.data.store, window_days=self.conversion_window_days).get(str(self.campaign_id))
        if conv is None:
            return []
        cards = []
        if conv.goal_clicks is not None:
            cards.append(("Goal clicks", format_count(conv.goal_clicks),
                          f"{format_rate(goal_rate(conv.goal_clicks, delivered))} goal rate"))
        if conv.conversions is not None:
            cards.append(("Conversions", format_count(conv.conversions),
                          f"{format_rate(conversion_rate(conv.conversions, delivered))} of delivered · value "
                          f"{value_cell(conv.value or 0.0)}"))
        return cards

    def _in_progress_text(self) -> str:
        t, i = self.table, self.row
        hours = float(metrics.hours_since(t.cols["sent_at"][i:i + 1], self.data.as_of())[0])
        when = "still sending" if str(t.cols["status"][i]) == "sending" else f"sent {hours:.0f} hours before the last sync"
        return (f"This campaign is {metrics.IN_PROGRESS} ({when}): opens and clicks are still coming in, so it is not "
                f"compared with the account or its list until {self.data.settled_hours:g} hours after sending, and "
                "its curve stops at the time of the last sync.")

    def _draw_rates(self) -> None:
        t, i = self.table, self.row
        # baselines rest on settled campaigns only; this one joins so its list history is found
        base = np.isin(t.cols["status"], SENT_STATUSES) & (t.cols["sent"] > 0) & t.settled
        use = base.copy()
        use[i] = bool(use[i] or (t.cols["sent"][i] > 0 and str(t.cols["status"][i]) in SENT_STATUSES))
        idx = np.flatnonzero(use)
        pending = bool(t.in_progress[i])
        self.comparison = []
        rows = []
        pos = np.flatnonzero(idx == i)
        for choice in RATE_CHOICES:
            values = choice.values(t)
            if len(pos):
                cmp = metrics.compare_campaigns(values[idx], t.cols["list_id"][idx], t.cols["sent_at"][idx])
                j = int(pos[0])
                account_median = metrics.summarize(values[base]).median
                row = {"rate": choice.label, "value": float(cmp.value[j]), "account_median": float(account_median),
                       "vs_account": float("nan") if pending else float(cmp.value[j] - account_median),
                       "list_median": float(cmp.list_median[j]),
                       "vs_list": float("nan") if pending else float(cmp.vs_list[j])}
            else:
                row = {"rate": choice.label, "value": float(values[i]), "account_median": float("nan"),
                       "vs_account": float("nan"), "list_median": float("nan"), "vs_list": float("nan")}
            self.comparison.append(row)
            rows.append(
                f"<tr><td>{esc(row['rate'])}</td><td class='num'><b>{esc(format_rate(row['value'], 2))}</b></td>"
                f"<td class='num'>{esc(format_rate(row['account_median'], 2))}</td>"
                f"<td class='num'>{esc(metrics.IN_PROGRESS if pending else format_delta(row['vs_account']))}</td>"
                f"<td class='num'>{esc(format_rate(row['list_median'], 2))}</td>"
                f"<td class='num'>{esc(metrics.IN_PROGRESS if pending else format_delta(row['vs_list']))}</td></tr>")
        self.rates_html.value = (
            '<div style="flex:1 1 460px;padding-left:12px"><div class="octo-section">Against the account and the list</div>'
            '<table class="octo-table" data-table="rates"><tr><th>Rate</th><th class="num">This campaign</th>'
            '<th class="num">Account median</th><th class="num">±</th><th class="num">List, last 10</th>'
            f'<th class="num">±</th></tr>{"".join(rows)}</table>'
            '<div class="octo-muted">List, last 10: median of the same list\'s previous 10 campaigns '
            '(— when it has fewer than 3).</div></div>')

    def _draw_curve(self) -> None:
        if not self.campaign_id:
            return
        t, i = self.table, self.row
        kind = self.curve_metric.value
        label = "Open rate" if kind == "opened" else "Click rate"
        delivered = float(np.asarray(t.rates.delivered_count)[i])
        # the curve stops at the data's "now": nothing is known about hours that have not happened
        age_h = float(metrics.hours_since(t.cols["sent_at"][i:i + 1], self.data.as_of())[0])
        horizon = HORIZON_H if np.isnan(age_h) else float(np.clip(age_h, 0.0, HORIZON_H))
        ev = self._mine
        sel = ev["event_type"] == kind
        delays = metrics.time_to_event(np.zeros(int(sel.sum()), dtype=np.int64), ev["occurred_at"][sel],
                                       t.cols["sent_at"][i:i + 1])
        curves = {f"{label} from contact events": metrics.event_curve(delays, denominator=delivered or None,
                                                                      horizon_h=horizon)}
        snaps = self.data.snapshots(self.campaign_id)
        if len(snaps["snapshot_time"]):
            snap = metrics.snapshot_curve(snaps["snapshot_time"], snaps[kind], snaps["delivered"], t.cols["sent_at"][i])
            week = np.asarray(snap.hours, dtype=np.float64) <= horizon
            if week.any():  # syncs long after the send say nothing about the first week
                curves[f"{label} at each sync (snapshots)"] = metrics.Curve(np.asarray(snap.hours)[week],
                                                                             np.asarray(snap.value)[week])
        title = (f"{label} in the week after sending" if horizon >= HORIZON_H else
                 f"{label} in the {horizon:.0f} hours since sending ({metrics.IN_PROGRESS}: up to the last sync)")
        self.curve_chart.show(charts.curve_figure(curves, title, y_title=label,
                                                  nothing=f"No {'opens' if kind == 'opened' else 'clicks'} recorded"))

    def _draw_links(self) -> None:
        rows = self.data.links(self.campaign_id or "")
        stats = metrics.link_performance([r["url"] for r in rows], [r["clicked_total"] for r in rows],
                                         [r["clicked_unique"] for r in rows])
        self.links_chart.show(charts.link_bars_figure(stats, "Clicks per link"))
        self.link_table.empty_text = "No tracked links (or no clicks) in this campaign."
        self.link_table.set_rows([
            {"url": str(stats.url[k]), "clicked_total": int(stats.clicked_total[k]),
             "clicked_unique": int(stats.clicked_unique[k]), "click_share": float(stats.click_share[k]),
             "variants": int(stats.variants[k])}
            for k in range(len(stats))])

    def _draw_providers(self) -> None:
        if str(self.table.cols["status"][self.row]) not in SENT_STATUSES:
            self.providers_html.value = '<div class="octo-muted">Not sent: no deliverability yet.</div>'
            return
        self.providers_html.value = provider_html(provider_view(self.data, [self.campaign_id or ""]))

    def _show_contacts(self) -> None:
        if not self.campaign_id:
            return
        kind = self.event_type.value
        ev = self._mine
        sel = ev["event_type"] == kind
        contacts = self.data.contacts()
        list_id = str(self.table.cols["list_id"][self.row])
        lookup: dict[str, tuple[str, str]] = {}
        for lid, cid, email, status in zip(contacts["list_id"], contacts["contact_id"], contacts["email"],
                                           contacts["status"]):
            if cid not in lookup or lid == list_id:
                lookup[cid] = (email, status)
        rows = []
        for cid, at, count in zip(ev["contact_id"][sel], ev["occurred_at"][sel], ev["count"][sel]):
            email, status = lookup.get(str(cid), ("(not in the synced lists)", ""))
            rows.append({"email": email, "status": status, "occurred_at": at, "count": int(count),
                         "contact_id": str(cid)})
        self.contacts.empty_text = NOBODY.get(kind, "Nobody.")
        self.contacts.csv.filename = f"{self.campaign_id}-{kind}.csv"
        self.contacts.set_rows(rows)


def build_campaign_detail(data: DashboardData, campaign_id: str | None = None,
                          wait_for_url: bool = False, conversion_window_days: float = 7.0) -> CampaignDetailPage:
    """The detail page over ``data`` for ``campaign_id`` (None: wait for the URL when
    ``wait_for_url``, else ask for a choice)."""
    return CampaignDetailPage(data, campaign_id, wait_for_url=wait_for_url,
                              conversion_window_days=conversion_window_days)


def campaign_page(settings: Settings, campaign_id: str | None = None) -> CampaignDetailPage:
    """What the notebook calls: the campaign comes from ``campaign_id`` or, when None, from
    the page's URL once the browser shows it (``campaign.ipynb?id=...``)."""
    page = page_for_settings("Campaign", "campaigns", build_campaign_detail, settings,
                             campaign_id=campaign_id, wait_for_url=campaign_id is None,
                             conversion_window_days=settings.conversion_window_days)
    if isinstance(page, CampaignDetailPage):
        from octolib.customers.source import SourceConfig

        page.project_link.configure(SourceConfig.from_settings(settings))
    return page  # type: ignore[return-value]
