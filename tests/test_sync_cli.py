"""``octo sync``, ``octo init-db`` and their thin script wrappers, configured through OCTO_* variables."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from octolib.cli import main as octo
from octolib.config import Settings
from octolib.fake import DEMO_API_KEY, FakeAccount, FakeServer
from octolib.store import COLLECTIONS, connect
from octolib.store.locks import acquire_lock, new_owner

ROOT = Path(__file__).resolve().parents[1]


def load_script(name: str):
    spec = importlib.util.spec_from_file_location(f"script_{name}", ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def env(tmp_path, monkeypatch):
    """OCTO_* for a fast local account and an embedded store in tmp_path (no mongod on PATH)."""
    account = FakeAccount.generate(seed=7, size="tiny")
    with FakeServer(account, api_key=DEMO_API_KEY, rate_per_s=1000, burst=1000) as server:
        monkeypatch.chdir(tmp_path)  # no stray .env
        for key, value in {
            "OCTO_API_BASE": server.base_url, "OCTO_API_KEY": DEMO_API_KEY, "OCTO_DATA_DIR": str(tmp_path / "data"),
            "OCTO_RATE_PER_S": "1000", "OCTO_RATE_BURST": "1000", "OCTO_MONGODB_URI": "", "OCTO_DEMO": "0",
        }.items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("PATH", "/usr/bin:/bin")
        yield account, tmp_path / "data"


def test_init_db_creates_the_collections_and_says_which_store(env, capsys):
    _, data_dir = env
    assert octo(["init-db"]) == 0
    out = capsys.readouterr().out
    assert "embedded store (litemongo)" in out and str(data_dir) in out
    for name in COLLECTIONS:
        assert name in out
    with connect(Settings(data_dir=data_dir), find_mongod=lambda n: None) as store:
        # Contacts are unique by their natural _id ({list}:{contact}); the compound index serves reads.
        assert "contact_key" in store.contacts.index_information()
    assert load_script("init_db").main([]) == 0  # again, through the script: idempotent


def test_octo_sync_shows_progress_per_stage_and_ends_with_a_summary_table(env, capsys):
    account, data_dir = env
    assert octo(["sync"]) == 0
    captured = capsys.readouterr()
    for stage in ("lists", "contacts", "campaigns", "reports"):
        assert stage in captured.err  # the tqdm bars
    assert "sync succeeded" in captured.out
    assert "collection" in captured.out and "engagement_events" in captured.out
    with connect(Settings(data_dir=data_dir), find_mongod=lambda n: None) as store:
        assert store.lists.count_documents({}) == len(account.lists)
        run = store.sync_runs.find_one({})
        assert run["trigger"] == "cli" and run["status"] == "succeeded"


def test_manual_sync_script_passes_its_options_through(env, capsys):
    account, data_dir = env
    assert load_script("manual_sync").main(["--only", "lists", "--no-progress", "--trigger", "cron",
                                            "--user", "ops"]) == 0
    assert "sync succeeded" in capsys.readouterr().out
    with connect(Settings(data_dir=data_dir), find_mongod=lambda n: None) as store:
        run = store.sync_runs.find_one({})
        assert (run["trigger"], run["user"], run["only"]) == ("cron", "ops", ["lists"])
        assert store.contacts.count_documents({}) == 0


def test_octo_sync_exits_1_when_another_sync_runs(env, capsys):
    _, data_dir = env
    with connect(Settings(data_dir=data_dir), find_mongod=lambda n: None) as store:
        store.ensure_indexes()
        acquire_lock(store.locks, "sync", new_owner(label="the nightly sync"), ttl_s=600)
    assert octo(["sync", "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "another sync is running" in err and "the nightly sync" in err


def test_octo_sync_exits_1_when_the_run_fails(env, capsys, monkeypatch):
    monkeypatch.setenv("OCTO_API_KEY", "not-the-key")
    monkeypatch.setenv("OCTO_MAX_ATTEMPTS", "1")
    assert octo(["sync", "--no-progress"]) == 1
    out = capsys.readouterr().out
    assert "sync failed" in out and "401" in out and "not-the-key" not in out
