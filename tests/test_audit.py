"""Who did what: ``octolib.audit`` writes and reads ``audit_log`` next to the sign-in records,
refuses secrets, and the Sync page records the analyst who clicked (not the OS user) and
lists the activity, newest first."""

from __future__ import annotations

import getpass
from datetime import timedelta
from pathlib import Path

import pytest

from octolib import audit
from octolib.auth.users import UserStore
from octolib.config import Settings
from octolib.dashboards import build_sync
from octolib.dashboards.base import open_data
from octolib.dashboards.identity import (UNKNOWN_ANALYST, analyst_for_connection_file, bind_kernel,
                                         current_analyst, unbind_kernel)
from octolib.fake import DEMO_API_KEY, FakeAccount, FakeServer
from tests.conftest import FakeClock


def test_record_and_recent_newest_first_with_sign_in_records_alike(synced_store):
    clock = FakeClock(tick=timedelta(seconds=1))
    users = UserStore(synced_store.users, synced_store.audit_log, synced_store.login_attempts, clock=clock)
    users.audit("login", "alice", client_ip="10.0.0.9")
    audit.record(synced_store, actor="alice", action="partner_created", target="acme", clock=clock)
    audit.record(synced_store, actor="bob", action="partner_updated", target="acme",
                 fields=["colour", "recipients"], clock=clock)

    got = audit.recent(synced_store, 10)
    assert [(r.actor, r.action) for r in got] == [("bob", "partner_updated"), ("alice", "partner_created"),
                                                   ("alice", "login")]
    assert [r.sentence for r in got] == ["bob changed partner acme: colour, recipients",
                                         "alice created partner acme",
                                         "alice signed in from 10.0.0.9"]
    assert got[0].at is not None and got[0].at > got[1].at > got[2].at
    # the stored shape is the sign-in shape: event + username + at
    doc = synced_store.audit_log.find_one({"event": "partner_updated"})
    assert doc["username"] == "bob" and doc["target"] == "acme" and doc["details"] == {"fields": ["colour", "recipients"]}
    assert [r.action for r in audit.recent(synced_store, 10, actions=("login",))] == ["login"]
    assert len(audit.recent(synced_store, 2)) == 2


@pytest.mark.parametrize("key", ["password", "api_key", "smtp_password", "token", "key"])
def test_a_detail_that_names_a_secret_is_refused_and_nothing_written(synced_store, key):
    before = synced_store.audit_log.count_documents({})
    with pytest.raises(audit.AuditError, match="secret"):
        audit.record(synced_store, actor="alice", action="report_made", **{key: "hunter2-hunter2"})
    assert synced_store.audit_log.count_documents({}) == before


def test_kernel_binding_round_trip(tmp_path):
    cf = tmp_path / "kernel-1234.json"
    cf.write_text("{}")
    assert analyst_for_connection_file(cf) is None
    bind_kernel(cf, "alice")
    assert analyst_for_connection_file(cf) == "alice"
    assert (tmp_path / "kernel-1234.analyst").stat().st_mode & 0o077 == 0  # the server's account only
    bind_kernel(cf, "bob")  # the latest connection wins
    assert analyst_for_connection_file(cf) == "bob"
    unbind_kernel(cf)
    unbind_kernel(cf)
    assert analyst_for_connection_file(cf) is None
    # outside a kernel: unknown, never the OS user
    assert current_analyst() == UNKNOWN_ANALYST != getpass.getuser()


def test_sync_page_records_the_analyst_and_lists_the_activity(tmp_path: Path):
    with FakeServer(FakeAccount.generate(seed=7, size="tiny"), api_key=DEMO_API_KEY,
                    rate_per_s=1000, burst=1000) as server:
        settings = Settings(data_dir=tmp_path / "data", api_base=server.base_url, api_key=DEMO_API_KEY,
                            demo=True, rate_per_s=1000, rate_burst=1000, max_attempts=1)
        data, _ = open_data(settings)
        page = build_sync(data, settings, analyst=lambda: "carol")
        assert page.activity.rows == []
        page.full.value = True
        assert page.start() is True
        assert page.wait(60)
    assert page.last_message[0] == "ok"
    rec = audit.recent(data.store, 5)[0]
    assert (rec.actor, rec.action, rec.details.get("full")) == ("carol", "sync_started", True)
    assert page.runs.rows[0]["user"] == "carol"
    assert [(r["actor"], r["sentence"]) for r in page.activity.rows] == [("carol", "carol started a sync (full)")]


def test_the_report_builder_records_each_report_by_the_analyst(synced_store, tmp_path):
    from datetime import datetime, timezone

    from octolib.dashboards.data import DashboardData
    from octolib.dashboards.report_builder import build_report_builder
    from octolib.reports import save_partner, validate_partner
    from octolib.reports.runner import BatchResult, ReportResult

    save_partner(synced_store, validate_partner({"slug": "north", "name": "North Co",
                                                 "campaigns": {"name_pattern": "."}}))
    seen: dict[str, object] = {}

    def runner(settings, requests, *, store, workers, user, progress):
        seen["user"] = user
        now = datetime.now(timezone.utc)
        results = [ReportResult(r, f"rep-{i}", status="succeeded" if i == 0 else "failed", error="boom")
                   for i, r in enumerate(requests)]
        return BatchResult("b1", tmp_path, results, now, now, tmp_path / "manifest.json")

    settings = Settings(data_dir=tmp_path / "live")
    page = build_report_builder(DashboardData(synced_store, cache_dir=tmp_path / "cache"), settings,
                                runner=runner, analyst=lambda: "erin")
    page.partners.value = ("north",)
    page.templates.value = tuple(v for _, v in page.templates.options)[:2]
    assert page.start() is True
    page.wait(60)
    assert seen["user"] == "erin"
    recs = audit.recent(synced_store, 10, actions=("report_made", "report_failed"))
    assert sorted((r.actor, r.action, r.target) for r in recs) == [("erin", "report_failed", "north"),
                                                                   ("erin", "report_made", "north")]
    assert all(r.details.get("template") in page.templates.value for r in recs)
