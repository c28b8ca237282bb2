"""Reconciliation at sync time: the summary, the per-contact rows and the link totals agree on
a clean account, and a planted disagreement (``Faults.summary_disagrees``) is found, named
(campaign and check) and measured, on the run and on the campaign, over a real socket."""

from __future__ import annotations

from typing import Any

from octolib.api import EmailOctopusClient
from octolib.config import Settings
from octolib.fake import DEMO_API_KEY, FakeAccount, FakeServer, Faults
from octolib.store import Store
from octolib.sync import run_sync
from octolib.sync.reconcile import badge_text


def _latest_run(store: Store) -> dict[str, Any]:
    return next(iter(store.sync_runs.find({}).sort("started_at", -1).limit(1)))


def _sync(store: Store, server: FakeServer, full: bool = False) -> dict[str, Any]:
    settings = Settings(api_base=server.base_url, api_key=DEMO_API_KEY, rate_per_s=1000, rate_burst=1000)
    with EmailOctopusClient.from_settings(settings) as client:
        result = run_sync(store, client, progress=False, full=full)
    assert result.ok, result.errors
    return _latest_run(store)


def test_clean_sync_says_the_numbers_agree(synced_store: Store) -> None:
    run = _latest_run(synced_store)
    rec = run["reconciliation"]
    reported = synced_store.campaigns.count_documents({"status": {"$in": ["sent", "sending"]}})
    assert rec["checked"] == reported > 0
    assert rec["differ"] == []
    docs = list(synced_store.campaigns.find({"status": {"$in": ["sent", "sending"]}}, {"reconciliation": 1}))
    assert {d["reconciliation"]["status"] for d in docs} == {"agree"}
    assert badge_text(docs[0]["reconciliation"])[0] == "ok"


def test_planted_disagreement_is_found_named_and_measured(synced_store: Store) -> None:
    account = FakeAccount.generate(seed=7, size="tiny")
    target = next(c for c in account.campaigns if c["status"] == "sent")
    with FakeServer(account, faults=Faults(summary_disagrees=target["id"], summary_disagree_by=7),
                    rate_per_s=1000, burst=1000) as server:
        run = _sync(synced_store, server)
        differ = run["reconciliation"]["differ"]
        assert [(d["campaign_id"], d["check"], d["by"]) for d in differ] == [(target["id"], "unique opens", -7)]
        assert differ[0]["name"] == target["name"]
        assert differ[0]["summary"] - differ[0]["found"] == 7
        doc = synced_store.campaigns.find_one({"emailoctopus_id": target["id"]})
        assert doc["reconciliation"]["status"] == "differ"
        kind, text = badge_text(doc["reconciliation"])
        assert kind == "warn" and "unique opens" in text and "differ by 7" in text
        # the run says so in its warnings too, naming the campaign
        assert any(target["id"] in e["message"] and "differ by 7" in e["message"] for e in run["errors"])
        _pages_show_the_difference(synced_store, target, server)
        # other campaigns were not re-read (unchanged summaries): they keep their clean result
        others = synced_store.campaigns.count_documents({"reconciliation.status": "differ"})
        assert others == 1

        server.faults.summary_disagree_by = 0  # the fault is lifted: the next sync re-reads and agrees
        run = _sync(synced_store, server)
        assert run["reconciliation"]["differ"] == [] and run["reconciliation"]["checked"] >= 1
        doc = synced_store.campaigns.find_one({"emailoctopus_id": target["id"]})
        assert doc["reconciliation"]["status"] == "agree"


def _pages_show_the_difference(store: Store, target: dict[str, Any], server: FakeServer) -> None:
    """The Sync page and the campaign detail say which campaign differs, in what and by how much."""
    from octolib.dashboards import build_campaign_detail, build_sync
    from octolib.dashboards.data import DashboardData

    data = DashboardData(store, cache_dir=None)
    page = build_sync(data, Settings(api_base=server.base_url, api_key=DEMO_API_KEY))
    page.update()
    html = page.reconciliation.value
    assert 'data-reconciliation="warn"' in html and target["name"] in html and "differ by 7" in html
    assert page.runs.rows[0]["reconciled"].startswith("differ in 1 of")
    detail = build_campaign_detail(data, target["id"])
    assert 'data-reconciliation="warn"' in detail.reconciliation.value
    assert "unique opens: summary" in detail.reconciliation.value
    other = next(c for c in store.campaigns.find({"status": "sent", "emailoctopus_id": {"$ne": target["id"]}}))
    assert 'data-reconciliation="ok"' in build_campaign_detail(data, other["emailoctopus_id"]).reconciliation.value


def test_the_pdf_footer_says_reconciled_or_names_the_partners_own_differing_campaign(synced_store: Store,
                                                                                     tmp_path) -> None:
    """Partner A's campaign differs (its summary is made to say 7 more unique opens than its stored
    rows): A's PDF says so in the footer and names it with the difference; partner B's PDF says its
    numbers are reconciled and never names A's campaign."""
    from datetime import datetime, timezone

    import pypdf

    from octolib.reports.kit import build, make_context, write
    from octolib.reports.partners import save_partner
    from octolib.sync.reconcile import read_campaign_events, reconcile_campaign

    store = synced_store
    sent = list(store.campaigns.find({"status": "sent", "current_metrics.sent": {"$gt": 0},
                                      "sent_at": {"$gte": datetime(2026, 1, 1)}}).sort("sent_at", 1))
    only_a = sent[0]  # in the tiny account: sent to one list only
    assert len(only_a["list_ids"]) == 1
    lists = [only_a["list_ids"][0]] + [d["emailoctopus_id"] for d in store.lists.find({}, {"emailoctopus_id": 1})
                                       if d["emailoctopus_id"] not in only_a["list_ids"]]
    metrics = dict(only_a["current_metrics"], opened=only_a["current_metrics"]["opened"] + 7)
    differences = reconcile_campaign(store, only_a["emailoctopus_id"], metrics,
                                     read_campaign_events(store, only_a["emailoctopus_id"]),
                                     datetime(2026, 11, 1, tzinfo=timezone.utc), "planted")
    assert [d.as_dict()["by"] for d in differences] == [-7]
    period = ("2026-01-01", "2026-10-31")
    for slug, list_id in (("alpha", lists[0]), ("beta", lists[1])):
        save_partner(store, {"slug": slug, "name": slug.title(), "campaigns": {"list_ids": [list_id]},
                             "default_range": {"from": period[0], "to": period[1]}})
    settings = Settings(data_dir=tmp_path / "out")
    texts = {}
    for slug in ("alpha", "beta"):
        ctx = make_context(settings, store, "campaign_summary", slug, *period)
        doc = build(ctx)
        write(doc, tmp_path / slug, ctx)
        reader = pypdf.PdfReader(str(tmp_path / slug / "campaign_summary.pdf"))
        texts[slug] = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    assert "not reconciled: 1 campaign" in texts["alpha"]  # the footer, on every page
    assert only_a["name"] in texts["alpha"] and "differ by 7" in texts["alpha"]
    assert "numbers reconciled" in texts["beta"] and "Reconciled at sync" in texts["beta"]
    assert only_a["name"] not in texts["beta"] and "differ by" not in texts["beta"]
