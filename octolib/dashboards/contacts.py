"""Contacts: filter by list, status, tags, creation date and engagement recency; a paginated
table; one contact's engagement history across campaigns."""

from __future__ import annotations

from typing import Any

import ipywidgets as w
import numpy as np

from octolib import metrics
from octolib.config import Settings
from octolib.dashboards.base import Dashboard, DateRange, page_for_settings
from octolib.dashboards.campaigns import campaign_link
from octolib.dashboards.data import DashboardData, in_window
from octolib.dashboards.widgets import Column, DataTable, esc, section
from octolib.gc_pause import cyclic_gc_paused
from octolib.metrics.display import plural

__all__ = ["ContactsPage", "build_contacts", "contacts_page", "RECENCY"]

ALL = "*"
NO_HISTORY = "No opens, clicks, bounces or other events recorded for this contact."

#: Engagement recency filters: label -> (kind, days).
RECENCY: tuple[tuple[str, tuple[str, int]], ...] = (
    ("Any engagement", ("any", 0)),
    ("Opened or clicked in the last 30 days", ("within", 30)),
    ("… in the last 90 days", ("within", 90)),
    ("… in the last 180 days", ("within", 180)),
    ("Not in the last 90 days (but before)", ("lapsed", 90)),
    ("Never opened or clicked", ("never", 0)),
)


class ContactsPage(Dashboard):
    """Controls: ``list_filter``, ``status``, ``tags`` (contacts with any of them),
    ``created`` (a :class:`DateRange`), ``recency``; ``table`` (search, sort, pages, CSV);
    ``history_pick`` (a contact of the current page, ``"<list_id>|<contact_id>"``).
    Results: ``table.rows``, ``history.rows``."""

    def __init__(self, data: DashboardData) -> None:
        super().__init__(data, "Contacts", "contacts")
        self.list_filter = w.Dropdown(description="List", layout=w.Layout(width="260px"))
        self.status = w.Dropdown(options=[("Any status", ALL), ("Subscribed", "subscribed"),
                                          ("Unsubscribed", "unsubscribed"), ("Pending", "pending")],
                                 value=ALL, description="Status", layout=w.Layout(width="220px"))
        self.tags = w.SelectMultiple(description="Tags", rows=4, layout=w.Layout(width="260px"))
        self.created = DateRange(self.today, data.tz, self.guard(self.update))
        self.created.preset.description = "Created"
        self.recency = w.Dropdown(options=[(label, i) for i, (label, _) in enumerate(RECENCY)], value=0,
                                  description="Engaged", layout=w.Layout(width="380px"))
        self.table = DataTable([
            Column("email", "Email"),
            Column("list", "List"),
            Column("status", "Status"),
            Column("tags", "Tags"),
            Column("created_at", "Created", kind="date"),
            Column("last_engaged", "Last open/click", kind="datetime"),
            Column("opens", "Opens", kind="count"),
            Column("clicks", "Clicks", kind="count"),
        ], page_size=25, search_keys=["email", "tags", "contact_id"], search_placeholder="Search email or tag…",
            csv_name="contacts.csv", default_sort="created_at", tz=data.tz)
        self.history_pick = w.Dropdown(description="History of", layout=w.Layout(width="480px"))
        self.history = DataTable([
            Column("campaign", "Campaign", link=campaign_link),
            Column("sent_at", "Campaign sent", kind="datetime"),
            Column("event", "Event"),
            Column("occurred_at", "When", kind="datetime"),
            Column("count", "Times", kind="count"),
        ], page_size=20, search_keys=["campaign", "event"], csv_name="contact-history.csv",
            default_sort="occurred_at", tz=data.tz, empty_text=NO_HISTORY)
        self.history_note = w.HTML()
        self.body.children = [
            w.HBox([self.list_filter, self.status, self.recency], layout=w.Layout(flex_flow="row wrap")),
            w.HBox([self.tags, self.created.widget], layout=w.Layout(flex_flow="row wrap")),
            self.table.widget,
            section("One contact's history across campaigns"),
            w.HTML('<div class="octo-muted">Pick a contact shown on the current page of the table '
                   '(search or filter to find one).</div>'),
            self.history_pick, self.history_note, self.history.widget,
        ]
        self._fill_menus()
        for control in (self.list_filter, self.status, self.tags, self.recency):
            control.observe(lambda _: self.guard(self.update)(), "value")
        for control in (self.table.search, self.table.sort_by, self.table.descending):
            control.observe(lambda _: self.guard(self._fill_history_menu)(), "value")
        self.table.prev_button.on_click(lambda _: self.guard(self._fill_history_menu)())
        self.table.next_button.on_click(lambda _: self.guard(self._fill_history_menu)())
        self.history_pick.observe(lambda _: self.guard(self._show_history)(), "value")
        self.ready()

    def _fill_menus(self) -> None:
        docs = self.data.list_docs()
        keep = self.list_filter.value if self.list_filter.value in {d["list_id"] for d in docs} else ALL
        self.list_filter.options = [("All lists", ALL)] + [(d["name"], d["list_id"]) for d in docs]
        self.list_filter.value = keep
        contacts = self.data.contacts()
        tags = sorted({t for d in docs for t in d["tags"]} | {t for ts in contacts["tags"] for t in (ts or [])})
        chosen = tuple(t for t in self.tags.value if t in tags)
        self.tags.options = tags
        self.tags.value = chosen

    def reload(self) -> None:
        self._fill_menus()
        self.update()

    def update(self) -> None:
        self.say("", "")
        c = self.data.contacts()
        n = len(c["contact_id"])
        if n == 0:
            self.table.empty_text = "No contacts yet. Run a sync to load the account."
            self.table.set_rows([])
            self.say("info", "No contacts yet. Run a sync (Sync page or `octo sync`) to load the account.")
            self._fill_history_menu()
            return
        if self.created.reversed:
            self.table.empty_text = "The start date is after the end date."
            self.table.set_rows([])
            self.say("warn", "The creation dates are reversed: pick a start on or before the end.")
            self._fill_history_menu()
            return
        sel = np.ones(n, dtype=bool)
        if self.list_filter.value not in (None, ALL):
            sel &= c["list_id"] == self.list_filter.value
        if self.status.value not in (None, ALL):
            sel &= c["status"] == self.status.value
        wanted = set(self.tags.value)
        if wanted:
            sel &= np.fromiter((bool(wanted.intersection(ts or [])) for ts in c["tags"]), dtype=bool, count=n)
        lo, hi = self.created.bounds()
        if not (np.isnat(lo) and np.isnat(hi)):
            sel &= in_window(c["created_at"], lo, hi)
        last = metrics.last_engaged_at(c["last_opened_at"], c["last_clicked_at"])
        days = metrics.recency_days(last, self.data.now())
        kind, window = RECENCY[self.recency.value][1]
        if kind == "within":
            sel &= days <= window
        elif kind == "lapsed":
            sel &= days > window
        elif kind == "never":
            sel &= np.isnan(days)
        names = self.data.list_names()
        self.table.empty_text = "No contact matches these filters. Clear a filter or widen the dates."
        with cyclic_gc_paused():  # a dict per contact: see octolib.gc_pause
            rows = [{
                "list_id": str(c["list_id"][i]), "contact_id": str(c["contact_id"][i]), "email": str(c["email"][i]),
                "list": names.get(str(c["list_id"][i]), str(c["list_id"][i])), "status": str(c["status"][i]),
                "tags": list(c["tags"][i] or []), "created_at": c["created_at"][i], "last_engaged": last[i],
                "opens": int(c["opens"][i]), "clicks": int(c["clicks"][i]),
            } for i in np.flatnonzero(sel)]
            self.table.set_rows(rows)
        if not rows:
            self.say("info", "No contact matches these filters. Clear a filter or widen the dates.")
        self._fill_history_menu()

    def _fill_history_menu(self) -> None:
        rows = self.table.page_rows
        options = [("— choose a contact —", "")] + [
            (f"{r['email'] or r['contact_id']} ({r['list']})", f"{r['list_id']}|{r['contact_id']}") for r in rows]
        keep = self.history_pick.value if self.history_pick.value in {v for _, v in options} else ""
        self.history_pick.options = options
        self.history_pick.value = keep
        if not keep:
            self._show_history()

    def _show_history(self) -> None:
        value = self.history_pick.value or ""
        if "|" not in value:  # nobody chosen yet: say what to do, not "nothing recorded"
            self.history.empty_text = "Choose a contact above to see their opens, clicks and other events."
            self.history.set_rows([])
            self.history_note.value = ""
            return
        self.history.empty_text = NO_HISTORY
        list_id, contact_id = value.split("|", 1)
        events = self.data.events()
        mine = events["contact_id"] == contact_id
        t = self.data.campaigns()
        by_id: dict[str, int] = {str(cid): i for i, cid in enumerate(t.cols["campaign_id"])}
        rows: list[dict[str, Any]] = []
        for cid, kind, at, count in zip(events["campaign_id"][mine], events["event_type"][mine],
                                        events["occurred_at"][mine], events["count"][mine]):
            i = by_id.get(str(cid), -1)
            rows.append({"campaign_id": str(cid), "campaign": str(t.cols["name"][i]) if i >= 0 else str(cid),
                         "sent_at": t.cols["sent_at"][i] if i >= 0 else np.datetime64("NaT", "s"),
                         "event": str(kind), "occurred_at": at, "count": int(count)})
        self.history.set_rows(rows)
        email = next((r["email"] for r in self.table.visible_rows
                      if r["contact_id"] == contact_id and r["list_id"] == list_id), contact_id)
        kinds = sorted({r["event"] for r in rows})
        self.history_note.value = (f'<div class="octo-muted">{esc(email)}: {plural(len(rows), "event")} in '
                                   f'{plural(len({r["campaign_id"] for r in rows}), "campaign")}'
                                   f'{" (" + esc(", ".join(kinds)) + ")" if kinds else ""}.</div>')


def build_contacts(data: DashboardData) -> ContactsPage:
    """The contacts page over ``data``."""
    return ContactsPage(data)


def contacts_page(settings: Settings) -> ContactsPage:
    """The contacts page for the store ``settings`` point at (what the notebook calls)."""
    return page_for_settings("Contacts", "contacts", build_contacts, settings)  # type: ignore[return-value]
