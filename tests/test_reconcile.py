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
        # other campaigns were not re-read (unchanged summaries): they keep their clean result
        others = synced_store.campaigns.count_documents({"reconciliation.status": "differ"})
        assert others == 1

        server.faults.summary_disagree_by = 0  # the fault is lifted: the next sync re-reads and agrees
        run = _sync(synced_store, server)
        assert run["reconciliation"]["differ"] == [] and run["reconciliation"]["checked"] >= 1
        doc = synced_store.campaigns.find_one({"emailoctopus_id": target["id"]})
        assert doc["reconciliation"]["status"] == "agree"
