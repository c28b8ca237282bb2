"""octo doctor against the local EmailOctopus account and a fresh store: each check must say
ok when things are fine and fail, with a fix, when they are not."""

from __future__ import annotations

import socket
from collections import namedtuple
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from octolib.api import EmailOctopusClient
from octolib.config import Settings
from octolib.fake import DEMO_API_KEY
from octolib.ops import doctor
from octolib.ops.doctor import FAIL, OK, WARN, GiB
from octolib.store import connect
from octolib.sync import run_sync


def no_sleep_client(settings, **kw):
    """The real client, minus real backoff sleeps."""
    return EmailOctopusClient.from_settings(settings, sleep=lambda _s: None, **kw)


def settings_for(server, tmp_path: Path, **kw) -> Settings:
    return Settings(data_dir=tmp_path / "data", api_base=server.base_url, api_key=DEMO_API_KEY, rate_per_s=1000,
                    rate_burst=1000, **kw)


@pytest.fixture
def store(tmp_path):
    s = connect(Settings(data_dir=tmp_path / "data"))
    yield s
    s.close()


def test_api_key_check_on_the_local_account(fake_server, tmp_path):
    good = doctor.check_api(settings_for(fake_server, tmp_path), client_factory=no_sleep_client)
    assert good.status == OK and "GET /lists" in good.detail

    wrong = settings_for(fake_server, tmp_path).replace(api_key="not-the-right-key-123")
    bad = doctor.check_api(wrong, client_factory=no_sleep_client)
    assert bad.status == FAIL and "OCTO_API_KEY" in bad.fix
    assert "not-the-right-key-123" not in bad.render()

    missing = doctor.check_api(Settings(api_key=""), client_factory=no_sleep_client)
    assert missing.status == FAIL and "OCTO_API_KEY" in missing.fix


def test_unreachable_api_is_a_failure_naming_the_url(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = Settings(api_base=f"http://127.0.0.1:{port}", api_key="k-123456789")
    check = doctor.check_api(settings, client_factory=no_sleep_client)
    assert check.status == FAIL and f"127.0.0.1:{port}" in check.detail


def test_indexes_missing_then_fixed(store):
    check = doctor.check_indexes(store)
    assert check.status == FAIL and check.detail.startswith(f"{len(doctor.expected_indexes())} missing: ")
    assert "users(username +1, unique)" in check.detail
    assert doctor.check_indexes(store, fix=True).status == OK
    store.campaigns.drop_index("emailoctopus_id_1")
    again = doctor.check_indexes(store)
    assert again.status == FAIL and "campaigns(emailoctopus_id +1, unique)" in again.detail
    assert "--fix" in again.fix


def test_last_sync_age_and_status(fake_server, tmp_path, store):
    now = datetime.now(timezone.utc)
    none_yet = doctor.check_last_sync(store, now=now, sync_every_minutes=60)
    assert none_yet.status == FAIL and "octo sync" in none_yet.fix

    settings = settings_for(fake_server, tmp_path)
    with EmailOctopusClient.from_settings(settings) as client:
        result = run_sync(store, client, progress=False)
    finished = result.finished_at
    assert doctor.check_last_sync(store, now=finished + timedelta(minutes=5), sync_every_minutes=60).status == OK
    assert doctor.check_last_sync(store, now=finished + timedelta(hours=2.5), sync_every_minutes=60).status == WARN
    stale = doctor.check_last_sync(store, now=finished + timedelta(hours=4), sync_every_minutes=60)
    assert stale.status == FAIL and "stale" in stale.detail
    # A longer interval moves the bar.
    assert doctor.check_last_sync(store, now=finished + timedelta(hours=4), sync_every_minutes=240).status == OK

    store.sync_runs.insert_one({"started_at": finished + timedelta(minutes=1), "finished_at": finished + timedelta(minutes=2),
                                "status": "failed", "errors": [{"stage": "lists", "level": "error",
                                                                "message": "401 Unauthorized for GET /lists"}]})
    failed = doctor.check_last_sync(store, now=finished + timedelta(minutes=3), sync_every_minutes=60)
    assert failed.status == FAIL and "401 Unauthorized" in failed.detail

    store.sync_runs.insert_one({"started_at": finished + timedelta(minutes=10), "status": "running"})
    killed = doctor.check_last_sync(store, now=finished + timedelta(minutes=30), sync_every_minutes=60)
    assert killed.status == WARN and "never finished" in killed.detail


Usage = namedtuple("Usage", "total used free")


@pytest.mark.parametrize("free_gib,status", [(0.5, FAIL), (3, WARN), (50, OK)])
def test_disk_thresholds(tmp_path, free_gib, status):
    check = doctor.check_disk(tmp_path / "not" / "yet" / "made",
                              usage=lambda p: Usage(100 * GiB, 100 * GiB - free_gib * GiB, free_gib * GiB))
    assert check.status == status and str(tmp_path) in check.detail


def test_backups_age(tmp_path, store):
    from octolib.ops.backup import backup, default_archive_path

    now = datetime.now(timezone.utc)
    assert doctor.check_backups(tmp_path / "backups", now=now).status == WARN
    backup(store, default_archive_path(tmp_path / "backups", "octopus", now))
    assert doctor.check_backups(tmp_path / "backups", now=now).status == OK
    assert doctor.check_backups(tmp_path / "backups", now=now + timedelta(days=8)).status == WARN


def test_smtp_check_only_when_configured():
    assert doctor.check_smtp(Settings()).status == OK
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    check = doctor.check_smtp(Settings(smtp_host="127.0.0.1", smtp_port=port, smtp_from="r@x.example",
                                       smtp_password="hunter2-secret", timeout_s=2))
    assert check.status == FAIL and "hunter2-secret" not in check.render()


def test_whole_report_ok_then_failing(fake_server, tmp_path):
    settings = settings_for(fake_server, tmp_path)
    with connect(settings) as store, EmailOctopusClient.from_settings(settings) as client:
        run_sync(store, client, progress=False)
    report = doctor.run_doctor(settings, client_factory=no_sleep_client)
    assert report.ok, report.render()
    assert [c.name for c in report.checks] == ["api key", "store", "indexes", "last sync", "disk", "backups", "smtp",
                                                "chromium", "poppler"]

    broken = doctor.run_doctor(settings.replace(api_key="revoked-key-0000"), client_factory=no_sleep_client)
    assert not broken.ok and [c.name for c in broken.failed] == ["api key"]
    text = broken.render()
    assert text.startswith("octo doctor: 1 problem(s)") and "FAIL  api key" in text and "->" in text


def test_store_that_cannot_open_fails_and_skips_its_checks(tmp_path):
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("x")
    report = doctor.run_doctor(Settings(data_dir=blocker), skip=("api", "smtp"))
    assert [c.name for c in report.failed] == ["store"]
    assert "indexes" not in [c.name for c in report.checks]


def test_expected_indexes_match_what_the_store_creates(store):
    store.ensure_indexes()
    assert doctor.check_indexes(store).status == OK
    assert len(doctor.expected_indexes()) > 10
