"""The README's first command, minus the server: local account -> client -> store."""

from __future__ import annotations

from datetime import datetime, timezone

from octolib.cli import main
from octolib.config import Settings
from octolib.fake import FakeAccount
from octolib.store import connect


def test_octo_demo_pulls_and_syncs_the_whole_account(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("OCTO_DATA_DIR", str(tmp_path))
    for var in ("OCTO_MONGODB_URI", "OCTO_API_KEY", "OCTO_API_BASE"):
        monkeypatch.delenv(var, raising=False)
    code = main(["demo", "--size", "tiny", "--no-serve", "--seed", "11"])
    out = capsys.readouterr().out
    assert code == 0, out

    # The account the demo served is a pure function of (seed, size, day): rebuild it here.
    today = datetime.now(timezone.utc).date()
    account = FakeAccount.generate(seed=11, size="tiny",
                                   now=datetime(today.year, today.month, today.day, tzinfo=timezone.utc))
    for lst in account.lists:
        assert lst["name"] in out
    assert f"{len(account.campaigns)} campaigns" in out
    assert "sync succeeded" in out

    store = connect(Settings(data_dir=tmp_path / "demo"))
    try:
        assert store.campaigns.count_documents({}) == len(account.campaigns)
        assert store.contacts.count_documents({}) == sum(len(c) for c in account.contacts.values())
        run = store.sync_runs.find_one({"trigger": "demo"})
        assert run is not None and run["status"] == "succeeded"
    finally:
        store.close()
