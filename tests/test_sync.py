"""The sync against the local EmailOctopus account over HTTP (octolib.fake on a real socket).

Expected store contents are computed here, independently of octolib.sync, from the
account generator's own API-shape views (``account.lists``, ``account.contacts``,
``account.summary()``, ``account.report_rows()``...). Most tests use the tiny account with
high rate limits on both sides, so a full sync takes well under a second.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest

from octolib.api import EmailOctopusClient
from octolib.config import Settings
from octolib.fake import DEMO_API_KEY, FakeAccount, FakeServer
from octolib.store import Store, connect
from octolib.store.locks import acquire_lock, new_owner
from octolib.metrics.automation import AutomationThresholds
from octolib.sync import STAGES, SyncBusy, SyncService, run_sync
from octolib.sync.automation import automation_counts, label_events

UTC = timezone.utc
REPORTABLE = ("sent", "sending")
EVENT_TYPES = ("opened", "clicked", "bounced", "complained", "unsubscribed")
FAST = dict(rate_per_s=1000, burst=1000)


# ------------------------------------------------------------------ fixtures

@pytest.fixture
def account() -> FakeAccount:
    return FakeAccount.generate(seed=7, size="tiny")


@pytest.fixture
def server(account: FakeAccount) -> Iterator[FakeServer]:
    with FakeServer(account, api_key=DEMO_API_KEY, **FAST) as srv:
        yield srv


class NoSleep:
    """The client's sleep: records the waits it was asked for, waits for none of them."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sleeps() -> NoSleep:
    return NoSleep()


@pytest.fixture
def client(server: FakeServer, sleeps: NoSleep) -> Iterator[EmailOctopusClient]:
    with EmailOctopusClient(DEMO_API_KEY, server.base_url, rate_per_s=1000, burst=1000, max_workers=4,
                            max_attempts=4, sleep=sleeps) as c:
        yield c


def _real_mongodb_reason() -> str | None:
    if os.environ.get("OCTO_TEST_MONGODB_URI") or shutil.which("mongod"):
        return None
    return "no real MongoDB: set OCTO_TEST_MONGODB_URI or put mongod on PATH to run the sync against it"


def open_store(kind: str, tmp_path) -> Iterator[Store]:
    if kind == "embedded":
        st = connect(Settings(data_dir=tmp_path), find_mongod=lambda name: None)
        yield st
        st.close()
        return
    reason = _real_mongodb_reason()
    if reason:
        pytest.skip(reason)
    db = f"octotest_{uuid.uuid4().hex[:8]}"
    st = connect(Settings(mongodb_uri=os.environ.get("OCTO_TEST_MONGODB_URI", ""), data_dir=tmp_path, db_name=db))
    yield st
    st.client.drop_database(db)
    st.close()
    if not os.environ.get("OCTO_TEST_MONGODB_URI"):
        from octolib.store.mongod import LocalMongod

        LocalMongod(tmp_path / "mongod").stop()


@pytest.fixture
def store(tmp_path) -> Iterator[Store]:
    yield from open_store("embedded", tmp_path)


def sync(store: Store, client: EmailOctopusClient, **kw: Any):
    kw.setdefault("progress", False)
    return run_sync(store, client, **kw)


# ------------------------------------------------------------------ the expected store, from the generator

def ts(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def norm(value: Any) -> Any:
    """Comparable form: datetimes aware UTC to the millisecond, tuples as lists."""
    if isinstance(value, datetime):
        v = value if value.tzinfo else value.replace(tzinfo=UTC)
        v = v.astimezone(UTC)
        return v.replace(microsecond=v.microsecond // 1000 * 1000)
    if isinstance(value, dict):
        return {k: norm(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [norm(v) for v in value]
    return value


def expected(account: FakeAccount, sent_events: bool = False) -> dict[str, dict[Any, dict[str, Any]]]:
    """Every collection the sync fills, keyed like its unique index, as the account shows it now."""
    exp: dict[str, dict[Any, dict[str, Any]]] = defaultdict(dict)
    for lst in account.lists:
        fields = []
        for f in lst["fields"]:
            item = {"tag": f["tag"], "type": f["type"], "label": f["label"], "fallback": f.get("fallback")}
            if f.get("choices"):
                item["choices"] = f["choices"]
            fields.append(item)
        exp["lists"][lst["id"]] = {
            "emailoctopus_id": lst["id"], "name": lst["name"], "double_opt_in": lst["double_opt_in"],
            "fields": fields, "tags": lst["tags"], "counts": dict(lst["counts"]),
            "created_at": ts(lst["created_at"]), "last_updated_at": ts(lst["last_updated_at"]), "deleted_at": None,
        }
    reportable = [c for c in account.campaigns if c["status"] in REPORTABLE]
    opens: dict[str, list[datetime]] = defaultdict(list)
    clicks: dict[str, list[datetime]] = defaultdict(list)
    for camp in account.campaigns:
        cid = camp["id"]
        doc = {
            "emailoctopus_id": cid, "name": camp["name"], "subject": camp["subject"], "status": camp["status"],
            "from_name": camp["from"]["name"], "from_email": camp["from"]["email_address"],
            "list_ids": camp["to"], "created_at": ts(camp["created_at"]), "sent_at": ts(camp["sent_at"]),
        }
        if camp["status"] in REPORTABLE:
            s = account.summary(cid)
            hard, soft = s["bounced"]["hard"], s["bounced"]["soft"]
            doc["current_metrics"] = {
                "sent": s["sent"], "delivered": s["sent"] - hard - soft,
                "opened": s["opened"]["unique"], "opened_total": s["opened"]["total"],
                "clicked": s["clicked"]["unique"], "clicked_total": s["clicked"]["total"],
                "bounced": hard + soft, "bounced_hard": hard, "bounced_soft": soft,
                "unsubscribed": s["unsubscribed"], "spam_complaints": s["complained"],
            }
            # contacts who clicked without a recorded open (the click-to-open denominator's extra)
            openers = {r["contact_id"] for r in account.report_rows(cid, "opened")}
            clickers = {r["contact_id"] for r in account.report_rows(cid, "clicked")}
            doc["current_metrics"]["clicked_without_open"] = len(clickers - openers)
            for link in account.links(cid):
                exp["campaign_links"][(cid, link["url"])] = {"campaign_id": cid, **link}
            for status in EVENT_TYPES + (("sent",) if sent_events else ()):
                for row in account.report_rows(cid, status):
                    key = (cid, row["contact_id"], status)
                    when = ts(row["occurred_at"])
                    ev = exp["engagement_events"].get(key)
                    if ev is None:
                        exp["engagement_events"][key] = {"campaign_id": cid, "contact_id": row["contact_id"],
                                                         "event_type": status, "occurred_at": when,
                                                         "last_occurred_at": when, "count": 1}
                    else:
                        ev["count"] += 1
                        ev["occurred_at"] = min(ev["occurred_at"], when)
                        ev["last_occurred_at"] = max(ev["last_occurred_at"], when)
                    if status == "opened":
                        opens[row["contact_id"]].append(when)
                    elif status == "clicked":
                        clicks[row["contact_id"]].append(when)
        if camp["status"] in REPORTABLE:
            _expect_automation(exp, doc, cid, ts(camp["sent_at"]))
        exp["campaigns"][cid] = doc
    for list_id in account.contacts:
        for c in account.contacts[list_id]:
            exp["contacts"][(list_id, c["id"])] = {
                "list_id": list_id, "emailoctopus_id": c["id"], "email": c["email_address"], "status": c["status"],
                "fields": c["fields"] if isinstance(c["fields"], dict) else {}, "tags": c["tags"],
                "created_at": ts(c["created_at"]), "last_updated_at": ts(c["last_updated_at"]),
                "opens": len(opens[c["id"]]), "clicks": len(clicks[c["id"]]),
                "last_opened_at": max(opens[c["id"]], default=None),
                "last_clicked_at": max(clicks[c["id"]], default=None),
            }
    assert reportable and exp["engagement_events"] and exp["contacts"], "the tiny account should have data"
    return exp


def _expect_automation(exp: dict[str, dict[Any, dict[str, Any]]], doc: dict[str, Any], cid: str,
                       sent_at: datetime | None) -> None:
    """What the labelling step adds (issue 14): ``automated`` on each open and click as the
    rules say for these events, the counts on ``current_metrics`` and the rules' fingerprint.
    Whether the rules are right is tests/test_automation.py's business; here, that the sync
    stores their answer whatever happens to the run."""
    events = [ev for key, ev in exp["engagement_events"].items() if key[0] == cid
              and ev["event_type"] in ("opened", "clicked")]
    labels = label_events(events, {cid: sent_at})
    for ev, label in zip(events, labels):
        ev["automated"] = label
    doc["current_metrics"].update(automation_counts(events, labels))
    doc["automation_fingerprint"] = AutomationThresholds().fingerprint()


KEYS = {
    "lists": ("emailoctopus_id",),
    "campaigns": ("emailoctopus_id",),
    "contacts": ("list_id", "emailoctopus_id"),
    "campaign_links": ("campaign_id", "url"),
    "engagement_events": ("campaign_id", "contact_id", "event_type"),
}
VOLATILE = {"_id", "synced_at"}


def stored(store: Store, name: str) -> dict[Any, dict[str, Any]]:
    out = {}
    for doc in getattr(store, name).find({}):
        key = tuple(doc[k] for k in KEYS[name])
        out[key[0] if len(key) == 1 else key] = {k: v for k, v in doc.items() if k not in VOLATILE}
    return out


def assert_matches_account(store: Store, account: FakeAccount, sent_events: bool = False) -> None:
    """Every collection equals the account: same keys, and every whole document equal."""
    exp = expected(account, sent_events)
    for name in KEYS:
        got = stored(store, name)
        assert set(got) == set(exp[name]), f"{name}: keys differ (missing {len(set(exp[name]) - set(got))}, " \
                                           f"extra {len(set(got) - set(exp[name]))})"
        for key, want in exp[name].items():
            have = dict(got[key])
            if name == "campaigns" and "current_metrics" in have:
                assert isinstance(have["current_metrics"].pop("last_updated"), datetime)
            if name == "campaigns":  # the account's three views agree: reconciled, no difference
                assert ("reconciliation" in have) == ("current_metrics" in want), (key, have.get("reconciliation"))
                rec = have.pop("reconciliation", None)
                assert rec is None or (rec["status"], rec["differences"]) == ("agree", []), (key, rec)
            assert norm(have) == norm(want), f"{name} {key}: stored {have!r} != account {want!r}"
    # Snapshots: the latest per campaign / list equals the current numbers.
    latest: dict[str, Any] = {}
    for snap in store.campaign_metrics_snapshots.find({}).sort("snapshot_time", 1):
        latest[snap["campaign_id"]] = snap["metrics"]
    assert latest == {cid: d["current_metrics"] for cid, d in exp["campaigns"].items() if "current_metrics" in d}
    latest = {}
    for snap in store.list_count_snapshots.find({}).sort("snapshot_time", 1):
        latest[snap["list_id"]] = snap["counts"]
    assert latest == {lid: d["counts"] for lid, d in exp["lists"].items()}


def dump(store: Store) -> dict[str, list[Any]]:
    """The whole synced state, minus what legitimately differs between two runs (ids, times of the run)."""
    out = {}
    for name in ("lists", "contacts", "campaigns", "campaign_links", "engagement_events",
                 "campaign_metrics_snapshots", "list_count_snapshots"):
        docs = []
        for doc in getattr(store, name).find({}):
            doc = {k: v for k, v in doc.items() if k not in VOLATILE | {"snapshot_time", "sync_run_id"}}
            if "current_metrics" in doc:
                doc["current_metrics"] = {k: v for k, v in doc["current_metrics"].items() if k != "last_updated"}
            if isinstance(doc.get("reconciliation"), dict):  # when and by which run it was found
                doc["reconciliation"] = {k: v for k, v in doc["reconciliation"].items() if k not in ("checked_at", "run_id")}
            docs.append(norm(doc))
        out[name] = sorted(docs, key=repr)
    return out


def n_requests_incremental_nothing_changed(account: FakeAccount) -> int:
    """The fewest requests that can notice every change: lists, 3 contact reads per list, the
    campaigns, one summary per reportable campaign, and for a campaign still sending its links
    plus one page per event type."""
    camps = account.campaigns
    sending = sum(1 for c in camps if c["status"] == "sending")
    reportable = sum(1 for c in camps if c["status"] in REPORTABLE)
    return 1 + 3 * len(account.lists) + 1 + reportable + sending * (1 + len(EVENT_TYPES))


# ------------------------------------------------------------------ full, repeat, incremental

@pytest.mark.parametrize("kind", ["embedded", "mongodb"])
def test_full_sync_fills_every_collection_exactly_like_the_account(kind, tmp_path, account, client, server):
    for st in open_store(kind, tmp_path):
        result = sync(st, client, trigger="test", user="ana")
        assert result.status == "succeeded", result.table()
        assert_matches_account(st, account)
        # The run is recorded with what it did.
        run = st.sync_runs.find_one({"_id": result.run_id})
        assert run["status"] == "succeeded" and run["trigger"] == "test" and run["user"] == "ana"
        assert run["finished_at"] >= run["started_at"]
        assert run["requests"] == server.request_count == result.requests
        assert run["counts"]["contacts"]["inserted"] == sum(len(account.contacts[lid]) for lid in account.contacts)
        assert run["counts"]["engagement_events"]["inserted"] == len(expected(account)["engagement_events"])
        assert run["errors"] == []
        assert set(run["stages"]) == set(STAGES) | {"summary"}


def test_second_sync_without_changes_writes_nothing_and_makes_the_minimum_requests(store, account, client, server):
    first = sync(store, client)
    before = dump(store)
    n0 = server.request_count
    second = sync(store, client)
    assert second.status == "succeeded"
    made = server.request_count - n0
    assert made == n_requests_incremental_nothing_changed(account) == second.requests
    assert made < first.requests / 2
    for name, counts in second.counts.items():
        assert counts["inserted"] == counts["updated"] == 0, f"{name} written on an unchanged account: {counts}"
    assert second.written("campaign_metrics_snapshots") == 0 and second.written("engagement_events") == 0
    assert dump(store) == before


def test_incremental_sync_after_the_clock_moves_picks_up_exactly_the_changes(store, account, client, server, tmp_path):
    sync(store, client)
    events_before = len(expected(account)["engagement_events"])
    contacts_before = len(stored(store, "contacts"))
    changes = account.advance(24 * 5)
    assert changes["new_contacts"] > 0 and changes["campaign_events"] > 0, changes
    n0 = server.request_count
    inc = sync(store, client)
    assert inc.status == "succeeded", inc.table()
    assert_matches_account(store, account)
    exp = expected(account)
    assert inc.counts["engagement_events"]["inserted"] == len(exp["engagement_events"]) - events_before
    assert inc.counts["contacts"]["inserted"] == len(exp["contacts"]) - contacts_before
    assert inc.counts["contacts"]["updated"] > 0  # status changes (unsubscribes, confirmations)
    # One new snapshot per campaign whose numbers moved, none for the others.
    snaps = defaultdict(int)
    for s in store.campaign_metrics_snapshots.find({}):
        snaps[s["campaign_id"]] += 1
    assert sum(snaps.values()) - len(snaps) == inc.counts["campaign_metrics_snapshots"]["inserted"] > 0
    # Same final state as a full sync of the same account into a fresh store.
    with connect(Settings(data_dir=tmp_path / "fresh"), find_mongod=lambda n: None) as fresh:
        sync(fresh, client, full=True)
        a, b = dump(store), dump(fresh)
        for name in ("lists", "contacts", "campaigns", "campaign_links", "engagement_events"):
            assert a[name] == b[name], name
    assert server.request_count - n0 >= inc.requests
    # A small step: few campaigns change, so only their contacts' summaries are recomputed.
    account.advance(2)
    small = sync(store, client)
    assert small.ok
    assert_matches_account(store, account)


def test_full_flag_rereads_every_report_but_writes_nothing_new(store, account, client):
    sync(store, client)
    again = sync(store, client, full=True)
    reportable = [c for c in account.campaigns if c["status"] in REPORTABLE]
    assert again.stages["reports"]["requests"] >= len(reportable) * len(EVENT_TYPES)
    assert again.written("engagement_events") == again.written("contacts") == 0
    assert again.written("campaign_metrics_snapshots") == 0


def test_sent_events_are_stored_only_when_the_setting_asks(store, account, client):
    SyncService(store, client, sent_events=True).run()
    assert_matches_account(store, account, sent_events=True)
    assert store.engagement_events.count_documents({"event_type": "sent"}) > 0


def test_only_runs_the_named_stages(store, account, client):
    result = sync(store, client, only=["lists"])
    assert set(result.stages) == {"lists"}
    assert store.lists.count_documents({}) == len(account.lists)
    assert store.contacts.count_documents({}) == store.campaigns.count_documents({}) == 0
    result = sync(store, client, only=["contacts", "campaigns"])
    assert set(result.stages) == {"contacts", "campaigns"}
    assert store.engagement_events.count_documents({}) == 0
    assert store.contacts.count_documents({}) > 0 and store.campaigns.count_documents({}) > 0
    result = sync(store, client, only="reports")  # the campaigns stage queued their reports
    assert store.engagement_events.count_documents({}) == len(expected(account)["engagement_events"])
    assert_matches_account(store, account)
    with pytest.raises(ValueError, match="unknown sync stage"):
        sync(store, client, only=["contacts", "everything"])


# ------------------------------------------------------------------ locking

def test_only_one_sync_runs_at_a_time(store, client):
    other = new_owner(label="a sync in another process")  # alive: it is our own pid
    acquire_lock(store.locks, "sync", other, ttl_s=600)
    with pytest.raises(SyncBusy, match="another sync is running"):
        sync(store, client)
    assert store.sync_runs.count_documents({}) == 0
    store.locks.delete_one({"_id": "sync"})
    assert sync(store, client).ok
    assert store.locks.count_documents({}) == 0  # released at the end


# ------------------------------------------------------------------ faults

def test_a_short_429_storm_is_ridden_out_with_waits(store, account, client, server, sleeps):
    server.faults.rate_limit_storm = 3  # fewer than max_attempts (4)
    result = sync(store, client)
    assert result.status == "succeeded", result.table()
    assert result.retries >= 3 and result.rate_limit_waits >= 3
    assert sleeps.waits, "the client should have been asked to wait"
    # the waits of parallel requests add up to more than the run took: the summary says they are summed
    assert f"{result.rate_limit_waits} rate-limit waits (together" in result.table()
    assert "summed over the parallel requests" in result.table()
    assert_matches_account(store, account)


def test_a_429_storm_longer_than_the_retry_budget_fails_the_run_and_the_next_run_resumes(
        store, account, client, server):
    sync(store, client, only=["lists"])
    before = dump(store)
    server.faults.rate_limit_storm = 50
    failed = sync(store, client)
    assert failed.status == "failed"
    assert [e["kind"] for e in failed.errors] == ["RateLimited"]
    assert "429" in failed.errors[0]["message"] and DEMO_API_KEY not in failed.errors[0]["message"]
    assert dump(store) == before  # nothing stored was touched
    server.faults.rate_limit_storm = 0
    again = sync(store, client)
    assert again.ok and again.resumed_from == failed.run_id
    assert_matches_account(store, account)


def test_server_errors_outlasting_the_retries_stop_the_run_and_the_next_run_resumes(store, account, client, server):
    server.faults.update({"faults_path": "/reports?", "error_5xx_every": 1})
    failed = sync(store, client)
    assert failed.status == "failed"
    assert [(e["stage"], e["kind"], e["status"]) for e in failed.errors] == [("reports", "ServerError", 500)]
    assert {s: failed.stages[s]["status"] for s in STAGES} == {
        "lists": "succeeded", "contacts": "succeeded", "campaigns": "succeeded", "reports": "failed"}
    assert store.engagement_events.count_documents({}) == 0
    server.faults.update({"error_5xx_every": 0})
    n0 = server.request_count
    again = sync(store, client)
    assert again.ok and again.resumed_from == failed.run_id
    assert [again.stages[s]["status"] for s in STAGES] == ["skipped", "skipped", "skipped", "succeeded"]
    reportable = [c for c in account.campaigns if c["status"] in REPORTABLE]
    assert server.request_count - n0 == len(reportable) * len(EVENT_TYPES)  # only the reports, once each
    assert_matches_account(store, account)


def test_server_errors_are_retried(store, account, server, sleeps):
    # One worker, so a request's retries follow each other and only every 3rd attempt fails.
    server.faults.error_5xx_every = 3
    with EmailOctopusClient(DEMO_API_KEY, server.base_url, max_workers=1, max_attempts=3, sleep=sleeps, **FAST) as one:
        result = sync(store, one)
    assert result.ok, result.table()
    assert result.retries == server.requests_by_status[500] > 0
    assert_matches_account(store, account)


@pytest.mark.parametrize("fault", [
    {"schema_break_path": "/contacts", "schema_break": "missing_data"},
    {"schema_break_path": "/contacts", "schema_break": "null_id"},
    {"malformed_json_path": "/contacts", "malformed_json_every": 2},
])
def test_a_broken_contacts_page_fails_its_stage_and_leaves_the_store_untouched(store, account, client, server, fault):
    sync(store, client)
    before = dump(store)
    server.faults.update(fault)
    result = sync(store, client, full=True)
    assert result.status == "failed"
    errors = [e for e in result.errors if e["level"] == "error"]
    assert [e["stage"] for e in errors] == ["contacts"]
    assert "GET /lists/" in errors[0]["message"] and "/contacts" in errors[0]["message"]
    if "schema_break" in fault:  # names the field
        assert ("data" if fault["schema_break"] == "missing_data" else "id") in errors[0]["message"]
    assert result.stages["campaigns"]["status"] == "succeeded"  # the other stages still ran
    assert dump(store) == before
    assert store.sync_runs.find_one({"_id": result.run_id})["status"] == "failed"


def test_a_broken_report_page_fails_the_reports_stage_and_keeps_the_campaign_queued(store, account, client, server):
    server.faults.update({"schema_break_path": "/reports?", "schema_break": "null_id"})
    result = sync(store, client)
    assert result.status == "failed"
    assert {e["stage"] for e in result.errors} == {"reports"}
    assert "contact_id" in result.errors[0]["message"]
    assert store.engagement_events.count_documents({}) == 0
    server.faults.update({"schema_break_path": ""})
    again = sync(store, client)
    assert again.ok
    assert_matches_account(store, account)


@pytest.mark.parametrize("variant", [
    {"end_of_paging": "omit_next"},
    {"end_of_paging": "null_next"},
    {"end_of_paging": "empty_array"},
    {"end_of_paging": "omit_paging"},
    {"counts_shape": "array"},
    {"empty_fields_as_list": True},
    {"draft_reports": "zeros"},
    {"next_url_drops_filters": True},
    {"retry_after_standard": True, "rate_limit_storm": 2},
])
def test_every_uncertain_api_variant_gives_the_same_store(store, account, client, server, variant):
    server.faults.update(variant)
    result = sync(store, client)
    assert result.ok, result.table()
    assert_matches_account(store, account)


def test_a_list_deleted_in_the_account_is_recorded_not_fatal(store, account, client):
    sync(store, client)
    gone = str(uuid.uuid1())
    store.lists.insert_one({"emailoctopus_id": gone, "name": "deleted meanwhile", "deleted_at": None})
    result = sync(store, client)
    assert result.ok
    warnings = [e for e in result.errors if e["level"] == "warning"]
    assert len(warnings) == 1 and gone in warnings[0]["message"] and warnings[0]["status"] == 404
    assert store.lists.find_one({"emailoctopus_id": gone})["deleted_at"] is not None
    assert sync(store, client).errors == []  # not asked again


# ------------------------------------------------------------------ interruption

def test_ctrl_c_records_an_interrupted_run_that_the_next_run_resumes(store, account, client):
    calls = {"n": 0}

    def clock() -> datetime:
        calls["n"] += 1
        if calls["n"] == 40:
            raise KeyboardInterrupt
        return datetime.now(UTC)

    with pytest.raises(KeyboardInterrupt):
        SyncService(store, client, clock=clock).run()
    run = store.sync_runs.find_one({})
    assert run["status"] == "interrupted"
    assert store.locks.count_documents({}) == 0
    again = sync(store, client)
    assert again.ok and again.resumed_from == run["_id"]
    assert_matches_account(store, account)


@pytest.mark.parametrize("stop_at", [25, 45, 70])
def test_with_sparse_checkpoints_an_interrupted_run_still_resumes_to_the_same_store(
        store, account, client, monkeypatch, stop_at):
    """Long stages save their checkpoints every few units (the run record grows with the account);
    a run stopped between two saves redoes those units on resume, without duplicates."""
    import octolib.sync.service as service

    monkeypatch.setattr(service, "CHECKPOINTS_PER_STAGE", 2)
    calls = {"n": 0}

    def clock() -> datetime:
        calls["n"] += 1
        if calls["n"] == stop_at:
            raise KeyboardInterrupt
        return datetime.now(UTC)

    with pytest.raises(KeyboardInterrupt):
        SyncService(store, client, clock=clock).run()
    assert store.sync_runs.find_one({})["status"] == "interrupted"
    again = sync(store, client)
    assert again.ok
    assert_matches_account(store, account)
    assert store.engagement_events.count_documents({}) == len({d["_id"] for d in store.engagement_events.find({})})
    full = sync(store, client, full=True)
    assert sum(v["inserted"] for v in full.counts.values() if isinstance(v, dict)) == 0


def test_step_checkpoints_are_saved_at_most_once_per_interval(store, account, client, monkeypatch):
    """Step checkpoints (after a page or unit) are paced by wall time too: with a long interval a
    sync saves its run record only at stage boundaries, with none every step; the store is the same."""
    import octolib.sync.service as service
    from octolib.sync.runs import RunRecorder

    saves = {"n": 0}
    real_save = RunRecorder.save

    def counting_save(self, **extra):
        saves["n"] += 1
        return real_save(self, **extra)

    monkeypatch.setattr(RunRecorder, "save", counting_save)
    monkeypatch.setattr(service, "CHECKPOINT_MIN_SECONDS", 0.0)
    assert SyncService(store, client).run().ok
    every_step = saves["n"]
    saves["n"] = 0
    monkeypatch.setattr(service, "CHECKPOINT_MIN_SECONDS", 3600.0)
    result = SyncService(store, client).run(full=True)
    assert result.ok and result.written("engagement_events") == 0
    assert saves["n"] < every_step / 2, (saves["n"], every_step)
