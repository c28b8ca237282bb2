"""Campaigns still in progress are not judged as finished; best and worst never overlap
(issue 16, items 2 and 3; item 4 on the dashboards).

The rule itself (``octolib.metrics.maturity``) is tested on arrays. The pages and the report
are driven over one synced tiny account (module scope) in which the latest sent campaign is
planted as 15 hours old at the sync's as-of time and given a collapsed open rate: the very
campaign that used to be "worst", flagged "open drop" and -31 pp against the median. The
account's campaign still ``sending`` is planted as sent to both of its lists.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from octolib import metrics
from octolib.config import SETTINGS, Settings
from octolib.dashboards import build_campaign_detail, build_campaigns, build_overview
from octolib.dashboards.base import open_data
from octolib.dashboards.testing import sync_fake_account
from octolib.fake.account import DEFAULT_START, SizeSpec
from octolib.metrics.maturity import DEFAULT_SETTLED_HOURS, hours_since, in_progress, settled

SIZE = SizeSpec(lists=2, campaigns=9, contacts=300, drafts=1, sending=1)  # enough recipients to rank
YOUNG_HOURS = 15.0
PERIOD = ("2025-01-01", "2026-12-31")


# -- the rule ---------------------------------------------------------------------------------

def test_settled_needs_status_sent_and_the_settled_age_at_the_given_time():
    t = np.array(["2026-01-01T00:00", "2026-01-03T23:59:59", "2026-01-01T00:00", "2026-01-04T00:00", "NaT"],
                 dtype="datetime64[s]")
    status = ["sent", "sent", "sending", "sent", "draft"]
    as_of = np.datetime64("2026-01-04T00:00", "s")
    assert settled(status, t, as_of, 72).tolist() == [True, False, False, False, False]
    assert in_progress(status, t, as_of, 72).tolist() == [False, True, True, True, False]
    # the same data judged later: the young one has settled, the sending one never does
    later = as_of + np.timedelta64(4, "D")
    assert settled(status, t, later, 72).tolist() == [True, True, False, True, False]
    assert hours_since(t[:1], datetime(2026, 1, 1, 15, tzinfo=timezone.utc)).tolist() == [15.0]


def test_the_settled_age_is_a_documented_setting():
    assert Settings().settled_hours == DEFAULT_SETTLED_HOURS == 72
    assert Settings.from_env({"OCTO_SETTLED_HOURS": "24"}, dotenv=None).settled_hours == 24
    assert "OCTO_SETTLED_HOURS" in {s.env for s in SETTINGS}  # test_config checks the README row


def test_best_and_worst_become_one_list_with_ten_or_fewer():
    few = metrics.top_bottom(np.linspace(0.1, 0.5, 10), k=5)
    assert few.overlaps and few.ranked.tolist() == list(range(9, -1, -1))
    many = metrics.top_bottom(np.linspace(0.1, 0.5, 11), k=5)
    assert not many.overlaps and not set(many.top) & set(many.bottom)


# -- the pages and the report -------------------------------------------------------------------

@pytest.fixture(scope="module")
def young(tmp_path_factory):
    """(settings, young campaign id, sending campaign id, as-of time) over a synced account."""
    from octolib.store import connect

    settings = sync_fake_account(tmp_path_factory.mktemp("young") / "data", size=SIZE, now=DEFAULT_START)
    store = connect(settings)
    run = store.sync_runs.find_one({"status": "succeeded"}, sort=[("finished_at", -1)])
    as_of = run["finished_at"].replace(tzinfo=timezone.utc)
    latest = store.campaigns.find_one({"status": "sent", "current_metrics.sent": {"$gt": 50}},
                                      sort=[("sent_at", -1)])
    sent = latest["current_metrics"]["sent"]
    store.campaigns.update_one({"_id": latest["_id"]}, {"$set": {
        "sent_at": (as_of - timedelta(hours=YOUNG_HOURS)).replace(tzinfo=None),
        "name": "Case study - young", "current_metrics.opened": max(1, sent // 50),
        "current_metrics.clicked": 0}})
    sending = store.campaigns.find_one({"status": "sending"})
    both = [d["emailoctopus_id"] for d in store.lists.find({}, {"emailoctopus_id": 1})]
    assert len(both) == 2
    store.campaigns.update_one({"_id": sending["_id"]}, {"$set": {"list_ids": both}})  # sent to both lists
    store.close()
    return settings, latest["emailoctopus_id"], sending["emailoctopus_id"], as_of


@pytest.fixture
def data(young):
    d, _ = open_data(young[0])
    return d


def test_overview_leaves_in_progress_campaigns_out_and_lists_them_apart(young, data):
    _, young_id, sending_id, _ = young
    page = build_overview(data)
    page.period.preset.value = "All time"
    assert set(page.pending) == {young_id, sending_id}
    judged = set(page.best) | set(page.worst) | set(page.ranked)
    assert judged and not judged & {young_id, sending_id}
    assert "Case study - young" not in " ".join(page.flags)
    assert "in progress" in page.pending_box.value and "Case study - young" in page.pending_box.value
    t = data.campaigns()
    ripe = t.settled & (t.cols["sent"] > 0)
    assert page.kpis["campaigns"] == int(ripe.sum()) and page.kpis["in_progress"] == 2
    assert page.kpis["open_rate_median"] == pytest.approx(float(np.median(np.asarray(t.rates.open_rate)[ripe])))


def test_overview_shows_one_ranked_list_when_best_and_worst_would_overlap(data):
    page = build_overview(data)
    page.period.preset.value = "All time"
    assert page.ranked and page.best == [] and page.worst == []
    assert len(set(page.ranked)) == len(page.ranked)
    assert 'data-rank="ranked"' in page.rankings.value and "Worst 5" not in page.rankings.value


def test_campaign_page_marks_in_progress_and_its_curve_stops_at_now(young, data):
    _, young_id, _, _ = young
    page = build_campaign_detail(data, young_id)
    assert page.last_message[0] == "info" and "in progress" in page.last_message[1]
    open_row = next(r for r in page.comparison if r["rate"] == "Open rate")
    assert np.isnan(open_row["vs_account"]) and np.isnan(open_row["vs_list"])
    assert not np.isnan(open_row["account_median"])
    assert "in progress" in page.rates_html.value
    hours = [max(tr.x) for tr in page.curve_chart.traces if len(tr.x)]
    assert hours and max(hours) <= YOUNG_HOURS  # not flat to 168 h
    assert "in progress" in page.curve_chart.title

    settled_id = next(str(c) for c, ok in zip(data.campaigns().cols["campaign_id"], data.campaigns().settled) if ok)
    other = build_campaign_detail(data, settled_id)
    assert not np.isnan(next(r for r in other.comparison if r["rate"] == "Open rate")["vs_account"])


def test_campaigns_table_shows_every_list_and_marks_in_progress(young, data):
    settings, young_id, sending_id, _ = young
    page = build_campaigns(data)
    page.period.preset.value = "All time"
    rows = {r["campaign_id"]: r for r in page.table.rows}
    names = [d["name"] for d in data.list_docs()]
    assert len(names) == 2 and all(n in rows[sending_id]["list"] for n in names)
    assert rows[sending_id]["flags"] == rows[young_id]["flags"] == "in progress"
    for lid in (d["list_id"] for d in data.list_docs()):  # the list filter matches any of a campaign's lists
        page.list_filter.value = lid
        assert sending_id in {r["campaign_id"] for r in page.table.rows}


def test_report_marks_in_progress_and_keeps_it_out_of_kpis_and_ranking(young):
    from octolib.reports.kit import build, make_context
    from octolib.reports.partners import save_partner
    from octolib.store import connect

    settings, young_id, sending_id, _ = young
    store = connect(settings)
    try:
        save_partner(store, {"slug": "everyone", "name": "Everyone", "campaigns": {"name_pattern": "."}})
        doc = build(make_context(settings, store, "campaign_summary", "everyone", *PERIOD))
        tables = {b.key: b for s in doc.sections for b in s.blocks if hasattr(b, "rows")}
        campaign_rows = tables["campaigns"].rows
        marked = [r for r in campaign_rows if "(in progress)" in r[0]]
        assert {r[0] for r in marked} >= {"Case study - young (in progress)"} and len(marked) == 2
        assert all(r[3] == "in progress" for r in marked)
        assert all("Case study - young" not in r[0] for r in tables["best"].rows)
        kpi = {r[0]: r[1] for r in doc.kpis.rows}
        assert kpi["Campaigns sent"] == str(len(campaign_rows) - 2)
        assert any("in progress" in n for n in doc.kpis.notes)
        assert "Case study - young" not in " ".join(doc.narrative)
    finally:
        store.close()
