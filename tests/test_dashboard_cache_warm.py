"""After a sync, the sync's own process builds the dashboards' per-run cache, so page kernels
read it instead of each reading the store again (octolib.dashboards.warm)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from octolib.api import EmailOctopusClient
from octolib.config import Settings
from octolib.dashboards.data import DashboardData
from octolib.dashboards.warm import after_sync_steps, cache_dir_for, data_options
from octolib.fake import DEMO_API_KEY, FakeAccount, FakeServer
from octolib.store import connect
from octolib.sync import run_sync


def test_the_sync_builds_the_pages_cache_for_its_run_only_where_dashboards_are_served(
        tiny_account: FakeAccount, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    store = connect(settings)
    store.ensure_indexes()
    try:
        with FakeServer(tiny_account, api_key=DEMO_API_KEY, rate_per_s=1000, burst=1000) as srv:
            client = EmailOctopusClient(DEMO_API_KEY, srv.base_url, rate_per_s=1000, burst=1000)
            first = run_sync(store, client, full=True, progress=False, after=after_sync_steps(settings))
            assert first.status == "succeeded"
            # No dashboard has used this data folder: the sync read nothing more, wrote no cache.
            assert not cache_dir_for(settings).exists()

            cache_dir_for(settings).mkdir(parents=True)  # as the first page view does
            second = run_sync(store, client, progress=False, after=after_sync_steps(settings))
            assert second.status == "succeeded"
        written = sorted(p.name for p in cache_dir_for(settings).glob("*.pickle"))
        key = DashboardData(store, **data_options(settings)).sync.key
        assert written and all(key in name for name in written), written
        assert any(name.startswith("events-opened") for name in written)

        # A page kernel opening the data now reads the sync's entries and computes nothing,
        # and what it reads is what a read of the store gives.
        page = DashboardData(store, **data_options(settings))
        opened = page.events(["opened"])
        campaigns = page.campaigns()
        assert page.stats["computed"] == 0 and page.stats["disk_hits"] >= 2
        fresh = DashboardData(store, **{**data_options(settings), "cache_dir": None})
        for name, values in fresh.events(["opened"]).items():
            np.testing.assert_array_equal(opened[name], values)
        assert len(campaigns) == len(fresh.campaigns()) > 0
    finally:
        store.close()


def test_a_sync_thread_runs_at_the_sync_priority_and_leaves_its_callers_alone() -> None:
    import os

    from octolib.sync.priority import call_in_background_thread

    before = os.nice(0)
    seen = call_in_background_thread(lambda: os.nice(0), 5)
    assert seen == min(before + 5, 19)  # the sync's thread was lowered
    assert os.nice(0) == before  # the caller's thread was not
    try:
        call_in_background_thread(lambda: 1 / 0, 5)
    except ZeroDivisionError:
        pass
    else:
        raise AssertionError("the sync's error must reach the caller")


def test_sync_nice_is_checked_before_any_work() -> None:
    import pytest

    from octolib.errors import ConfigError

    assert Settings.from_env({}, dotenv=None).sync_nice == 10
    assert Settings.from_env({"OCTO_SYNC_NICE": "0"}, dotenv=None).sync_nice == 0
    for bad in ("-1", "20", "high"):
        with pytest.raises(ConfigError, match="OCTO_SYNC_NICE"):
            Settings.from_env({"OCTO_SYNC_NICE": bad}, dotenv=None)
