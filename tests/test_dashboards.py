"""The dashboards driven like an analyst would: build each page over a synced tiny account,
set filter widgets, and check the table rows and chart traces that result.

Expected numbers are read straight from the store's documents (not from the readers the
pages use), so a page that drops, double-counts or mislabels rows fails here. Bad input
(an empty account, a reversed date range, an unknown campaign id, a filter that matches
nothing, a campaign nobody opened) must give a message on the page and never raise.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import ipywidgets as w
import numpy as np
import pytest

from octolib.config import Settings
from octolib.dashboards import (
    build_campaign_detail,
    build_campaigns,
    build_contacts,
    build_engagement,
    build_lists,
    build_overview,
)
from octolib.dashboards.base import open_data
from octolib.dashboards.campaign import campaign_id_from_query
from octolib.dashboards.data import DashboardData
from octolib.dashboards.testing import sync_fake_account
from octolib.fake.account import DEFAULT_START, SizeSpec

# The tiny account plus one sent campaign nobody opened (tracking off).
SIZE = SizeSpec(lists=2, campaigns=7, contacts=60, drafts=1, sending=1, zero_open_campaigns=1)
NOW = DEFAULT_START


def _clock() -> datetime:
    return NOW


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A tiny account synced over a real socket into an embedded store (once per module)."""
    return sync_fake_account(tmp_path_factory.mktemp("dash") / "data", size=SIZE, now=NOW)


@pytest.fixture
def data(synced: Settings) -> DashboardData:
    d, _ = open_data(synced, clock=_clock)
    return d


@pytest.fixture
def empty(tmp_path: Path) -> DashboardData:
    d, _ = open_data(Settings(data_dir=tmp_path / "nothing"), clock=_clock)
    return d


def _docs(data: DashboardData, collection: str, query: dict | None = None) -> list[dict]:
    return list(getattr(data.store, collection).aggregate([{"$match": query or {}}]))


def _sent_campaigns(data: DashboardData) -> list[dict]:
    return [c for c in _docs(data, "campaigns") if c.get("status") in ("sent", "sending")]


def _settled_campaigns(data: DashboardData) -> list[dict]:
    """The campaigns the overview judges: ``sent`` ones (the sync's as-of time is weeks after the
    account's clock, so all are settled); the one still ``sending`` is in progress."""
    return [c for c in _sent_campaigns(data) if c.get("status") == "sent"]


def _outputs_of(widget: w.Widget) -> list[w.Widget]:
    """Every Output widget in a widget tree (there must be none: see widgets.py)."""
    found = [widget] if isinstance(widget, w.Output) else []
    for child in getattr(widget, "children", ()):
        found += _outputs_of(child)
    return found


# -- overview ---------------------------------------------------------------------------------

def test_overview_kpis_match_the_store_and_follow_the_rate_menu(data):
    page = build_overview(data)
    sent = _settled_campaigns(data)
    assert page.last_message[0] != "error"
    assert page.kpis["campaigns"] == len(sent)
    assert page.kpis["in_progress"] == len(_sent_campaigns(data)) - len(sent)
    assert page.kpis["sent"] == sum(c["current_metrics"]["sent"] for c in sent)
    bounced = sum(c["current_metrics"]["bounced_hard"] + c["current_metrics"]["bounced_soft"] for c in sent)
    assert page.kpis["bounces"] == bounced
    assert page.kpis["complaints"] == sum(c["current_metrics"]["spam_complaints"] for c in sent)
    # the median open rate is the median of opened / delivered over the sent campaigns
    delivered = [c["current_metrics"]["sent"] - c["current_metrics"]["bounced_hard"]
                 - c["current_metrics"]["bounced_soft"] for c in sent]
    rates = [c["current_metrics"]["opened"] / d for c, d in zip(sent, delivered) if d > 0]
    assert page.kpis["open_rate_median"] == pytest.approx(float(np.median(rates)))
    assert "Open rate" in page.trend.title and len(page.trend.traces) >= 1
    assert "Emails sent" in page.cards.value

    page.rate.value = "click_rate"
    assert page.trend.title.startswith("Click rate")
    page.unit.value = "month"
    assert "month" in page.trend.title
    assert not _outputs_of(page.widget)


def test_overview_flags_name_the_campaign_nobody_opened(data):
    page = build_overview(data)
    zero = [c for c in _sent_campaigns(data) if c["current_metrics"]["opened"] == 0 and c["current_metrics"]["sent"]]
    assert zero, "the fixture has a campaign nobody opened"
    # Whatever else is flagged, every flag sentence names a campaign of the period.
    names = {c["name"] for c in _sent_campaigns(data)}
    assert all(any(msg.startswith(n + ":") for n in names) for msg in page.flags)


def test_overview_reversed_range_and_empty_period_say_so(data):
    page = build_overview(data)
    page.period.start.value = date(2026, 6, 1)
    page.period.end.value = date(2026, 1, 1)
    kind, text = page.last_message
    assert kind == "warn" and "start date is after the end date" in text
    assert page.kpis == {} and page.cards.value == ""
    page.period.start.value = date(2030, 1, 1)
    page.period.end.value = date(2030, 2, 1)
    kind, text = page.last_message
    assert kind == "info" and "No campaigns were sent in this period" in text
    page.period.preset.value = "All time"
    assert page.last_message[0] in ("", "info") and page.kpis["campaigns"] == len(_settled_campaigns(data))


def test_overview_period_presets_filter_by_send_date(data):
    page = build_overview(data)
    page.period.preset.value = "Last 90 days"
    cutoff = NOW - timedelta(days=90)
    expected = [c for c in _sent_campaigns(data)
                if c.get("sent_at") and c["sent_at"].replace(tzinfo=timezone.utc) >= cutoff]
    assert page.kpis.get("campaigns", 0) + page.kpis.get("in_progress", 0) == len(expected)


def test_every_page_on_an_empty_account_shows_a_message(empty):
    pages = [build_overview(empty), build_campaigns(empty), build_campaign_detail(empty, "nope"),
             build_lists(empty), build_contacts(empty), build_engagement(empty)]
    for page in pages:
        kind, text = page.last_message
        assert kind == "info" and ("No campaigns yet" in text or "No lists yet" in text or "No contacts yet" in text), (
            type(page).__name__, page.last_message)
        assert "No sync has finished yet" in page.status_line.value


# -- campaigns --------------------------------------------------------------------------------

def test_campaigns_filters_table_and_csv(data):
    page = build_campaigns(data)
    every = _docs(data, "campaigns")
    assert len(page.table.rows) == len(every)
    assert {r["campaign_id"] for r in page.table.rows} == {c["emailoctopus_id"] for c in every}

    page.status.value = "draft"
    drafts = [c for c in every if c["status"] == "draft"]
    assert [r["campaign_id"] for r in page.table.rows] == [c["emailoctopus_id"] for c in drafts]

    page.status.value = "*"
    some_list = next(c["list_ids"][0] for c in every if c.get("list_ids"))
    page.list_filter.value = some_list
    assert {r["campaign_id"] for r in page.table.rows} == {
        c["emailoctopus_id"] for c in every if some_list in (c.get("list_ids") or [])}  # any of its lists

    page.list_filter.value = "*"
    word = every[0]["name"].split()[0]
    page.table.search.value = word.upper()  # search ignores case
    assert page.table.visible_rows and all(word.lower() in (r["name"] + r["subject"] + r["list"]).lower()
                                           for r in page.table.visible_rows)

    text = page.table.csv_text()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][0] == "Campaign" and len(rows) - 1 == len(page.table.visible_rows)

    page.table.search.value = "no campaign is called this"
    assert page.table.visible_rows == [] and page.last_message[0] == "info"
    assert 'data-empty="1"' in page.table.html.value
    assert page.comparison.title.endswith("selected campaigns")


def test_campaigns_sort_page_and_compare(data):
    page = build_campaigns(data)
    page.table.sort_by.value = "open_rate"
    page.table.descending.value = True
    rates = [r["open_rate"] for r in page.table.visible_rows if not np.isnan(r["open_rate"])]
    assert rates == sorted(rates, reverse=True)
    # undefined rates (drafts) go last in either direction
    assert np.isnan(page.table.visible_rows[-1]["open_rate"])
    page.table.page_size = 2
    page.table.go(0)
    assert len(page.table.page_rows) == 2
    page.table.next_button.click()
    assert page.table.page == 1
    chosen = tuple(r["campaign_id"] for r in page.table.visible_rows[:3])
    page.compare.value = chosen
    assert len(page.comparison.traces) >= 1
    assert len(page.comparison.traces[0].y) == 3
    page.compare_rate.value = "bounce_rate"
    assert page.comparison.title.startswith("Bounce rate")
    assert "href=\"campaign.ipynb?id=" in page.table.html.value


def test_campaigns_reversed_range_is_a_message(data):
    page = build_campaigns(data)
    page.period.start.value = date(2026, 10, 1)
    page.period.end.value = date(2026, 9, 1)
    assert page.last_message[0] == "warn" and page.table.rows == []


# -- campaign detail --------------------------------------------------------------------------

def test_campaign_detail_numbers_and_contacts_match_the_store(data):
    camp = max(_sent_campaigns(data), key=lambda c: c["current_metrics"]["opened"])
    cid = camp["emailoctopus_id"]
    page = build_campaign_detail(data, cid)
    assert page.campaign_id == cid and page.last_message[0] in ("", "info")
    m = camp["current_metrics"]
    funnel = page.funnel_chart.traces[0]
    assert list(funnel.x)[:1] == [m["sent"]] and list(funnel.x)[2] == m["opened"]
    opened = _docs(data, "engagement_events", {"campaign_id": cid, "event_type": "opened"})
    assert len(page.contacts.rows) == len(opened)
    assert {r["contact_id"] for r in page.contacts.rows} == {e["contact_id"] for e in opened}
    links = _docs(data, "campaign_links", {"campaign_id": cid})
    assert sum(r["clicked_total"] for r in page.link_table.rows) == sum(d.get("clicked_total", 0) for d in links)
    assert [row["rate"] for row in page.comparison][0] == "Open rate"
    assert page.comparison[0]["value"] == pytest.approx(m["opened"] / (m["sent"] - m["bounced_hard"] - m["bounced_soft"]))

    page.event_type.value = "clicked"
    clicked = _docs(data, "engagement_events", {"campaign_id": cid, "event_type": "clicked"})
    assert len(page.contacts.rows) == len(clicked)
    page.curve_metric.value = "clicked"
    assert page.curve_chart.title.startswith("Click rate")


def test_campaign_detail_zero_opens_unknown_id_and_url(data):
    zero = next(c for c in _sent_campaigns(data) if c["current_metrics"]["opened"] == 0 and c["current_metrics"]["sent"])
    page = build_campaign_detail(data, zero["emailoctopus_id"])
    kind, text = page.last_message
    assert kind == "info" and "No opens are recorded" in text and "yet" not in text
    assert page.contacts.rows == [] and "Nobody opened" in page.contacts.html.value
    # no flat line on a crushed 0-1% axis: the chart says what is true instead
    assert page.curve_chart.traces == ()
    assert any("No opens recorded" in (a.text or "") for a in page.curve_chart.figure.layout.annotations)

    page.select("no-such-campaign")
    kind, text = page.last_message
    assert kind == "warn" and "no-such-campaign" in text and page.campaign_id is None
    assert page.details.layout.display == "none"

    # The browser reports the page's address: the campaign named there is shown.
    other = _sent_campaigns(data)[0]["emailoctopus_id"]
    waiting = build_campaign_detail(data, None, wait_for_url=True)
    assert "Loading" in waiting.last_message[1]
    put_in: list[tuple] = []  # what the chart slots showed, in order
    for chart in waiting.charts():
        chart.widget.observe(lambda change: put_in.append(change["new"]), "children")
    waiting.probe.query = f"?id={other}"
    waiting.probe.viewed += 1
    assert waiting.campaign_id == other
    # The charts went into the page once, already drawing the campaign of the URL: none was
    # put in and then replaced (the browser would draw it for nothing and log a failed model).
    assert [children[0] for children in put_in] == [chart.figure_widget for chart in waiting.charts()]
    waiting.probe.query = ""
    waiting.probe.viewed += 1
    assert waiting.campaign_id is None and "Choose a campaign" in waiting.last_message[1]
    assert campaign_id_from_query("?campaign=abc") == "abc"


def test_campaign_detail_draft_has_no_results_message(data):
    draft = next(c for c in _docs(data, "campaigns") if c["status"] == "draft")
    page = build_campaign_detail(data, draft["emailoctopus_id"])
    assert page.last_message[0] == "info" and "no results yet" in page.last_message[1]


# -- lists, contacts, engagement --------------------------------------------------------------

def test_lists_counts_fields_tags_and_growth(data):
    page = build_lists(data)
    docs = _docs(data, "lists")
    assert sorted((r["name"], r["subscribed"]) for r in page.table.rows) == sorted(
        (d["name"], d["counts"]["subscribed"]) for d in docs)
    assert len(page.fields_table.rows) == sum(len(d.get("fields") or []) for d in docs)
    contacts = _docs(data, "contacts")
    for tag, n in page.tags.items():
        assert n == sum(tag in (c.get("tags") or []) for c in contacts)
    assert len(page.growth.start) == len(page.growth_table.rows) > 0
    assert sum(r["joined"] for r in page.growth_table.rows) <= len(contacts)
    page.list_pick.value = docs[0]["emailoctopus_id"]
    assert all(r["list"] == docs[0]["name"] for r in page.fields_table.rows)
    assert docs[0]["name"] in page.growth_chart.title


def test_contacts_filters_and_history(data):
    page = build_contacts(data)
    everyone = _docs(data, "contacts")
    assert len(page.table.rows) == len(everyone)
    page.status.value = "unsubscribed"
    assert len(page.table.rows) == sum(c["status"] == "unsubscribed" for c in everyone)
    page.status.value = "*"
    page.recency.value = 5  # never opened or clicked
    assert all(np.isnat(r["last_engaged"]) for r in page.table.rows)
    assert len(page.table.rows) == sum(not c.get("last_opened_at") and not c.get("last_clicked_at") for c in everyone)
    page.recency.value = 0
    tag = next(t for c in everyone for t in (c.get("tags") or []))
    page.tags.value = (tag,)
    assert len(page.table.rows) == sum(tag in (c.get("tags") or []) for c in everyone)
    page.tags.value = ()

    # the contact with the most events: its history lists each of them
    events = _docs(data, "engagement_events")
    busiest = max({e["contact_id"] for e in events}, key=lambda cid: sum(e["contact_id"] == cid for e in events))
    page.table.search.value = busiest
    value = next(v for _, v in page.history_pick.options if v.endswith("|" + busiest))
    page.history_pick.value = value
    assert len(page.history.rows) == sum(e["contact_id"] == busiest for e in events)

    page.created.start.value = date(2026, 5, 1)
    page.created.end.value = date(2026, 4, 1)
    assert page.last_message[0] == "warn" and page.table.rows == []


def test_engagement_heatmap_counts_every_open_of_sent_campaigns(data):
    page = build_engagement(data)
    sent_ids = {c["emailoctopus_id"] for c in _docs(data, "campaigns") if c.get("sent_at")}
    opens = [e for e in _docs(data, "engagement_events", {"event_type": "opened"}) if e["campaign_id"] in sent_ids]
    assert page.grid.total == len(opens)
    assert int(np.sum(page.delays.counts)) + int(page.delays.beyond) <= len(opens)
    page.kind.value = "clicked"
    clicks = [e for e in _docs(data, "engagement_events", {"event_type": "clicked"}) if e["campaign_id"] in sent_ids]
    assert page.grid.total == len(clicks)
    assert page.heatmap.title.startswith("Clicks")
    delay = page.time_to_open.figure  # Clicks mode: the time-to-click chart speaks of clicks
    assert [tr.name for tr in delay.data] == ["Clicks in bin", "Cumulative share"]
    assert delay.layout.yaxis.title.text == "Share of clicks"
    words = delay.to_json() + page.summary.value
    assert "opens" not in words.lower() and "Half of all clicks came within" in words
    page.period.start.value = date(2031, 1, 1)
    page.period.end.value = date(2031, 2, 1)
    assert page.last_message[0] == "info" and page.heatmap.traces == ()


# -- cache and widgets ------------------------------------------------------------------------

def test_reads_are_cached_per_sync_run_on_disk(synced, tmp_path):
    cache = tmp_path / "cache"
    first, _ = open_data(synced, clock=_clock)
    first.cache_dir = cache
    first.campaigns(), first.contacts(), first.events()
    assert first.stats["computed"] >= 3
    second, _ = open_data(synced, clock=_clock)
    second.cache_dir = cache
    second.campaigns(), second.contacts(), second.events()
    assert second.stats["computed"] == 0 and second.stats["disk_hits"] >= 3
    assert sorted(p.name.split("-v")[0] for p in cache.glob("*.pickle")) == sorted(
        {"campaigns", "contacts", "lists", "events-opened", "events-clicked", "events-bounced",
         "events-unsubscribed", "events-complained"})
    # a damaged file is ignored and rebuilt, not raised
    victim = next(cache.glob("campaigns-*.pickle"))
    victim.write_bytes(b"not a pickle")
    third, _ = open_data(synced, clock=_clock)
    third.cache_dir = cache
    assert len(third.campaigns()) == len(_docs(third, "campaigns"))


def test_no_page_uses_an_output_widget():
    """Output widgets written during Voilà's execution are what stalled renders."""
    import ast

    root = Path(__file__).resolve().parents[1] / "octolib" / "dashboards"
    offenders = []
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            # Output widgets, fig.show() (which needs one in Voilà) and print() into the output area
            if name == "Output" or (name == "show" and not node.args) or name in ("print", "display"):
                offenders.append(f"{path.name}:{node.lineno} {name}")
    assert offenders == []
