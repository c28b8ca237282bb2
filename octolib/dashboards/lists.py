"""Lists: every list with its counts, growth over time and net change per month, engagement
per list, the field configuration (tag, type, label, fallback) and the tags."""

from __future__ import annotations

from collections import Counter
import ipywidgets as w
import numpy as np

from octolib import charts, metrics
from octolib.config import Settings
from octolib.dashboards.base import Dashboard, page_for_settings
from octolib.dashboards.data import DashboardData
from octolib.dashboards.providers import provider_html, provider_view
from octolib.dashboards.widgets import Chart, Column, DataTable, esc, section
from octolib.metrics import format_count
from octolib.vocabulary import SENT_STATUSES

__all__ = ["ListsPage", "build_lists", "lists_page"]

ALL = "*"
ENGAGED_DAYS = 90


class ListsPage(Dashboard):
    """Controls: ``list_pick`` (one list or all, for growth, fields and tags), ``unit``
    (month or week). Results: ``table`` (one row per list), ``growth_chart``,
    ``growth_table`` (net change per bucket), ``engagement_chart``, ``fields_table``,
    ``tags`` (tag -> contacts)."""

    def __init__(self, data: DashboardData) -> None:
        super().__init__(data, "Lists", "lists")
        self.table = DataTable([
            Column("name", "List"),
            Column("subscribed", "Subscribed", kind="count"),
            Column("unsubscribed", "Unsubscribed", kind="count"),
            Column("pending", "Pending", kind="count"),
            Column("engaged_rate", f"Engaged ({ENGAGED_DAYS} d)", kind="rate"),
            Column("created_at", "Created", kind="date"),
            Column("double_opt_in", "Double opt-in"),
            Column("fields", "Fields", kind="count"),
            Column("tags", "Tags", kind="count"),
        ], page_size=20, csv_name="lists.csv", default_sort="subscribed", tz=data.tz,
            empty_text="No lists yet. Run a sync to load the account.")
        self.list_pick = w.Dropdown(description="List", layout=w.Layout(width="320px"))
        self.unit = w.ToggleButtons(options=[("Month", "month"), ("Week", "week")], value="month",
                                    style={"button_width": "70px"})
        self.growth_chart = Chart("Growth")
        self.growth_table = DataTable([
            Column("start", "Period starting", kind="text"),
            Column("joined", "Joined", kind="count"),
            Column("left", "Left", kind="count"),
            Column("net", "Net change", kind="count"),
            Column("subscribers", "Subscribers at end", kind="count"),
            Column("churn_rate", "Churn", kind="rate"),
        ], page_size=12, csv_name="list-growth.csv", default_sort="start", tz=data.tz)
        self.engagement_chart = Chart("Engagement per list")
        self.fields_table = DataTable([
            Column("list", "List"),
            Column("tag", "Tag"),
            Column("type", "Type"),
            Column("label", "Label"),
            Column("fallback", "Fallback"),
            Column("choices", "Choices"),
        ], page_size=30, csv_name="list-fields.csv", default_sort="list", default_descending=False, tz=data.tz,
            empty_text="No custom fields.")
        self.tags_html = w.HTML()
        self.providers_html = w.HTML()  # deliverability by mailbox provider of the picked list's campaigns
        self.tags: dict[str, int] = {}
        self.body.children = [
            self.table.widget,
            section("Growth"),
            w.HBox([self.list_pick, self.unit]),
            self.growth_chart.widget, self.growth_table.widget,
            section(f"Engagement: share of subscribed contacts who opened or clicked in the last {ENGAGED_DAYS} days"),
            self.engagement_chart.widget,
            section("Fields"), self.fields_table.widget,
            section("Tags"), self.tags_html,
            section("Deliverability by mailbox provider (campaigns sent to the list chosen above)"),
            self.providers_html,
        ]
        self._fill_menu()
        self.list_pick.observe(lambda _: self.guard(self._draw_list)(), "value")
        self.unit.observe(lambda _: self.guard(self._draw_list)(), "value")
        self.ready()

    def _fill_menu(self) -> None:
        docs = self.data.list_docs()
        keep = self.list_pick.value if self.list_pick.value in {d["list_id"] for d in docs} else ALL
        self.list_pick.options = [("All lists", ALL)] + [(d["name"], d["list_id"]) for d in docs]
        self.list_pick.value = keep

    def reload(self) -> None:
        self._fill_menu()
        self.update()

    def update(self) -> None:
        self.say("", "")
        docs = self.data.list_docs()
        contacts = self.data.contacts()
        if not docs:
            self.say("info", "No lists yet. Run a sync (Sync page or `octo sync`) to load the account.")
        last = metrics.last_engaged_at(contacts["last_opened_at"], contacts["last_clicked_at"])
        eng = metrics.list_engagement(contacts["list_id"], contacts["status"], last, self.data.now(),
                                      days=ENGAGED_DAYS)
        eng_rate = {str(k): float(v) for k, v in zip(eng.list_id, eng.engaged_rate)}
        counts = metrics.list_counts(contacts["list_id"], contacts["status"])
        from_contacts = {str(k): (int(s), int(u), int(p)) for k, s, u, p in
                         zip(counts.list_id, counts.subscribed, counts.unsubscribed, counts.pending)}
        rows = []
        for d in docs:
            # The API's counts are the account's truth; the synced contacts back them up when
            # the list document has none (older syncs).
            c = d["counts"]
            sub, unsub, pend = (c["subscribed"], c["unsubscribed"], c["pending"])
            if not any((sub, unsub, pend)) and d["list_id"] in from_contacts:
                sub, unsub, pend = from_contacts[d["list_id"]]
            rows.append({"list_id": d["list_id"], "name": d["name"], "subscribed": sub, "unsubscribed": unsub,
                         "pending": pend, "engaged_rate": eng_rate.get(d["list_id"], float("nan")),
                         "created_at": d["created_at"], "double_opt_in": "yes" if d["double_opt_in"] else "no",
                         "fields": len(d["fields"]), "tags": len(d["tags"])})
        self.table.set_rows(rows)
        names = {d["list_id"]: d["name"] for d in docs}
        labels = [names.get(str(k), str(k)) for k in eng.list_id]
        self.engagement_chart.show(charts.comparison_figure(
            labels, np.asarray(eng.engaged_rate, dtype=np.float64), f"Engaged in the last {ENGAGED_DAYS} days",
            reference=metrics.pooled_rate(eng.engaged_count, eng.subscribed_count), reference_label="All lists",
            value_name="Engaged"))
        self._draw_list()

    def _draw_list(self) -> None:
        docs = self.data.list_docs()
        contacts = self.data.contacts()
        pick = self.list_pick.value
        chosen = docs if pick in (None, ALL) else [d for d in docs if d["list_id"] == pick]
        sel = np.ones(len(contacts["list_id"]), dtype=bool) if pick in (None, ALL) else contacts["list_id"] == pick
        name = "all lists" if pick in (None, ALL) else (chosen[0]["name"] if chosen else pick)
        joined, left = metrics.membership_times(contacts["status"][sel], contacts["created_at"][sel],
                                                contacts["last_updated_at"][sel])
        growth = metrics.list_growth(joined, left, unit=self.unit.value, tz=self.data.tz)
        self.growth_chart.show(charts.list_growth_figure(growth, f"Joins, leaves and subscribers: {name}"))
        self.growth = growth
        self.growth_table.set_rows([
            {"start": str(s), "joined": int(j), "left": int(lf), "net": int(n), "subscribers": int(sb),
             "churn_rate": float(c)}
            for s, j, lf, n, sb, c in zip(growth.start, growth.joined_count, growth.left_count, growth.net_change,
                                          growth.subscribers, growth.churn_rate)])
        self.growth_table.empty_text = f"No contacts in {name} yet."
        self.fields_table.set_rows([
            {"list": d["name"], "tag": f.get("tag", ""), "type": f.get("type", ""), "label": f.get("label", ""),
             "fallback": "" if f.get("fallback") is None else str(f.get("fallback")),
             "choices": ", ".join(map(str, f.get("choices") or []))}
            for d in chosen for f in d["fields"]])
        tag_counts: Counter[str] = Counter()
        for tags in contacts["tags"][sel]:
            tag_counts.update(tags or [])
        declared = sorted({t for d in chosen for t in d["tags"]})
        self.tags = {t: tag_counts.get(t, 0) for t in declared}
        for t, n in tag_counts.items():
            self.tags.setdefault(t, n)
        if self.tags:
            items = "".join(f"<tr><td>{esc(t)}</td><td class='num'>{esc(format_count(n))}</td></tr>"
                            for t, n in sorted(self.tags.items(), key=lambda kv: (-kv[1], kv[0])))
            self.tags_html.value = (f'<table class="octo-table" data-table="tags" style="max-width:420px">'
                                    f"<tr><th>Tag</th><th class='num'>Contacts</th></tr>{items}</table>")
        else:
            self.tags_html.value = f'<div class="octo-empty">No tags on {esc(name)}.</div>'
        self._draw_providers(pick)

    def _draw_providers(self, pick: str | None) -> None:
        """Per provider, summed over the campaigns sent to ``pick`` (every sent campaign for all lists)."""
        t = self.data.campaigns()
        ids = t.cols["campaign_id"]
        sent = np.isin(t.cols["status"], SENT_STATUSES) & (np.asarray(t.cols["sent"]) > 0)
        if pick not in (None, ALL):
            sent &= np.array([pick in (lists or ()) for lists in t.cols["list_ids"]], dtype=bool)
        chosen = [str(c) for c in ids[sent]]
        if not chosen:
            self.providers_html.value = '<div class="octo-empty">No campaign has been sent to this list yet.</div>'
            return
        self.providers_html.value = (f'<div class="octo-muted">Summed over {format_count(len(chosen))} sent '
                                     f'campaign{"s" if len(chosen) != 1 else ""}.</div>'
                                     + provider_html(provider_view(self.data, chosen)))


def build_lists(data: DashboardData) -> ListsPage:
    """The lists page over ``data``."""
    return ListsPage(data)


def lists_page(settings: Settings) -> ListsPage:
    """The lists page for the store ``settings`` point at (what the notebook calls)."""
    return page_for_settings("Lists", "lists", build_lists, settings)  # type: ignore[return-value]
