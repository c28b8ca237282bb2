"""The operations commands end to end, as an operator runs them: exit codes and messages must be
right, a damaged archive through the CLI must leave the data alone, and the scheduler process
must sync at start and stop cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from octolib.api import EmailOctopusClient
from octolib.cli import main as octo
from octolib.config import Settings
from octolib.fake import DEMO_API_KEY
from octolib.store import connect
from octolib.sync import run_sync

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A clean OCTO_* environment pointing at a data dir of our own (and no .env file)."""
    for name in list(os.environ):
        if name.startswith("OCTO_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OCTO_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


@pytest.fixture
def synced(env, fake_server, monkeypatch):
    monkeypatch.setenv("OCTO_API_BASE", fake_server.base_url)
    monkeypatch.setenv("OCTO_API_KEY", DEMO_API_KEY)
    settings = Settings.from_env(dotenv=None)
    with connect(settings) as store, EmailOctopusClient.from_settings(settings, rate_per_s=1000, burst=1000) as client:
        assert run_sync(store, client, progress=False).ok
    return settings


def counts(settings) -> dict[str, int]:
    with connect(settings) as store:
        return {n: store.db[n].count_documents({}) for n in ("campaigns", "contacts", "engagement_events")}


def test_backup_check_restore_through_the_cli_and_scripts(synced, env, capsys):
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import backup_db
        import restore_db
    finally:
        sys.path.pop(0)
    before = counts(synced)
    assert backup_db.main(["--dir", str(env / "bk"), "--keep", "3"]) == 0
    (archive,) = (env / "bk").glob("octopus-*.tar.gz")
    assert "documents" in capsys.readouterr().out

    assert restore_db.main([str(archive), "--check"]) == 0
    out = capsys.readouterr().out
    assert "every checksum matches" in out and f"contacts {before['contacts']:>10,}".split()[-1] in out

    with connect(synced) as store:
        store.contacts.delete_many({})
    assert octo(["restore", str(archive)]) == 2, "no confirmation, no restore (stdin is not a terminal)"
    assert counts(synced)["contacts"] == 0
    assert octo(["restore", str(archive), "--yes"]) == 0
    assert counts(synced) == before
    assert list((Path(synced.data_dir) / "backups").glob("pre-restore-*.tar.gz")), "a safety copy was made"


def test_damaged_archive_through_the_cli_is_refused_and_data_kept(synced, env, capsys):
    assert octo(["backup", "--out", str(env / "a.tar.gz")]) == 0
    raw = bytearray((env / "a.tar.gz").read_bytes())
    raw[len(raw) // 2] ^= 0x55
    (env / "bad.tar.gz").write_bytes(bytes(raw))
    with connect(synced) as store:
        store.contacts.insert_one({"email": "new-since-backup@example.com"})
    before = counts(synced)
    capsys.readouterr()
    assert octo(["restore", str(env / "bad.tar.gz"), "--yes"]) == 1
    err = capsys.readouterr().err
    assert "damaged" in err and "Nothing was restored" in err
    assert counts(synced) == before


def test_export_to_a_file_and_bad_dates(synced, env, capsys):
    assert octo(["export", "contacts", "--format", "jsonl", "-o", str(env / "c.jsonl")]) == 0
    lines = (env / "c.jsonl").read_text().splitlines()
    assert len(lines) == counts(synced)["contacts"]
    assert octo(["export", "events", "--since", "01/08/2025"]) == 1
    assert "YYYY-MM-DD" in capsys.readouterr().err
    assert not list(env.glob(".*.partial"))


def test_retention_dry_run_and_doctor_exit_codes(synced, env, capsys):
    assert octo(["retention", "--dry-run", "--days", "1"]) == 0
    assert "dry run: nothing was deleted" in capsys.readouterr().out
    assert octo(["doctor", "--skip", "smtp"]) == 0
    assert "octo doctor:" in capsys.readouterr().out


def test_doctor_fails_with_a_readable_list(env, monkeypatch, capsys):
    monkeypatch.setenv("OCTO_API_KEY", "")
    assert octo(["doctor", "--skip", "disk"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  api key" in out and "OCTO_API_KEY" in out
    assert "FAIL  last sync" in out and "no sync has run yet" in out
    assert "FAIL  indexes" in out and "--fix" in out


def test_deliver_without_smtp_sends_nothing(env, capsys):
    assert octo(["deliver", "some/report/id"]) == 1
    assert "OCTO_SMTP_HOST" in capsys.readouterr().err
    assert octo(["deliver", "--history"]) == 0
    assert "no deliveries recorded" in capsys.readouterr().out


@pytest.mark.slow
def test_scheduler_process_syncs_at_start_and_stops_on_sigterm(env, fake_server):
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("OCTO_")}
    child_env.update(OCTO_DATA_DIR=str(env / "data"), OCTO_API_BASE=fake_server.base_url, OCTO_SYNC_EVERY="60")
    child_env["OCTO_API_KEY"] = DEMO_API_KEY  # the local account's demo key, not a real one
    proc = subprocess.Popen([sys.executable, "-m", "octolib.cli", "scheduler", "--no-retention"], cwd=env,
                            env=child_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    settings = Settings(data_dir=env / "data")
    try:
        deadline = time.monotonic() + 60
        done = False
        while time.monotonic() < deadline and not done:
            time.sleep(0.5)
            assert proc.poll() is None, proc.stdout.read()
            with connect(settings) as store:
                done = store.sync_runs.count_documents({"trigger": "scheduler", "status": "succeeded"}) == 1
                held = store.locks.find_one({"_id": "scheduler"})
        assert done, "the first sync ran at start"
        assert held is not None
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    assert "job sync: succeeded" in out and "octo scheduler stopped" in out
    with connect(settings) as store:
        assert store.locks.find_one({"_id": "scheduler"}) is None, "the lock is released on the way out"
