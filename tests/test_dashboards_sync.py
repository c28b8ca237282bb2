"""The Sync page: "Sync now" runs the real sync against the local EmailOctopus account on a
worker thread, moves one progress bar per stage, lists the run, and refuses politely while
another sync holds the lock. A wrong key or a dead server ends in a message, not a raise.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from octolib.config import Settings
from octolib.dashboards import build_sync
from octolib.dashboards.base import open_data
from octolib.dashboards.sync import STAGE_LABELS, StageBar
from octolib.fake import DEMO_API_KEY, FakeAccount, FakeServer
from octolib.store.locks import acquire_lock, new_owner, release_lock


@pytest.fixture
def account_server():
    with FakeServer(FakeAccount.generate(seed=7, size="tiny"), api_key=DEMO_API_KEY,
                    rate_per_s=1000, burst=1000) as server:
        yield server


def _settings(tmp_path: Path, server: FakeServer, key: str = DEMO_API_KEY) -> Settings:
    return Settings(data_dir=tmp_path / "data", api_base=server.base_url, api_key=key, demo=True,
                    rate_per_s=1000, rate_burst=1000, max_attempts=1)


def test_sync_now_runs_in_the_background_with_progress_per_stage(tmp_path, account_server):
    settings = _settings(tmp_path, account_server)
    data, _ = open_data(settings)
    page = build_sync(data, settings)
    assert page.runs.rows == [] and "No sync has finished yet" in page.status_line.value

    assert page.start() is True
    # a second click while it runs is refused, not queued
    assert page.start() is False and page.last_message[0] == "warn"
    assert page.wait(60), "the sync did not finish in 60 s"

    assert page.last_message[0] == "ok" and "succeeded" in page.last_message[1]
    assert [page.bars[s].state for s, _ in STAGE_LABELS] == ["succeeded"] * len(STAGE_LABELS)
    contacts = data.store.contacts.count_documents({})
    assert page.bars["contacts"].done == contacts > 0
    assert page.bars["contacts"].bar.value == page.bars["contacts"].bar.max
    assert len(page.runs.rows) == 1 and page.runs.rows[0]["status"] == "succeeded"
    assert page.runs.rows[0]["written"] > 0 and page.runs.rows[0]["trigger"] == "dashboard"
    assert "Data as of" in page.status_line.value and page.run_button.disabled is False
    # the page's data now reads the new run (its cache key moved on)
    assert data.sync.run_id == page.runs.rows[0]["run_id"]
    assert len(data.campaigns()) == data.store.campaigns.count_documents({})


def test_sync_refuses_while_another_process_holds_the_lock(tmp_path, account_server):
    settings = _settings(tmp_path, account_server)
    data, _ = open_data(settings)
    page = build_sync(data, settings)
    owner = new_owner(label="cli sync by ana")
    acquire_lock(data.store.locks, "sync", owner, 300)
    try:
        assert page.start() is False
        kind, text = page.last_message
        assert kind == "warn" and "cli sync by ana" in text and "Only one sync runs at a time" in text
        assert page.running is False
    finally:
        release_lock(data.store.locks, "sync", owner)
    page.update()
    assert page.runs.rows == []


def test_a_wrong_key_ends_in_a_message(tmp_path, account_server):
    settings = _settings(tmp_path, account_server, key="not-the-key")
    data, _ = open_data(settings)
    page = build_sync(data, settings)
    assert page.start()
    assert page.wait(60)
    kind, text = page.last_message
    assert kind == "error" and "failed" in text
    assert page.runs.rows and page.runs.rows[0]["status"] == "failed" and page.runs.rows[0]["errors"]
    assert page.run_button.disabled is False


def test_an_unreachable_account_ends_in_a_message(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", api_base="http://127.0.0.1:9", api_key=DEMO_API_KEY, demo=True,
                        max_attempts=1, timeout_s=2)
    data, _ = open_data(settings)

    def broken_client(_settings: Settings):
        raise ConnectionError("the account is away")

    page = build_sync(data, settings, client_factory=broken_client)
    assert page.start()
    assert page.wait(30)
    kind, text = page.last_message
    assert kind == "error" and "the account is away" in text


def test_stage_bar_throttles_and_counts():
    ticks = iter([0.0, 0.05, 0.1, 0.5, 0.55, 2.0, 2.0, 2.0])
    bar = StageBar("Contacts", min_interval=0.2, clock=lambda: next(ticks))
    bar.start(10, "contact")          # t=0: drawn
    bar.update(3)                     # t=0.05: throttled
    assert bar.bar.value == 0 and bar.done == 3
    bar.update(2)                     # t=0.1: throttled
    bar.update(1)                     # t=0.5: drawn
    assert bar.bar.value == 6 and "6 of 10" in bar.text.value
    bar.close()                       # forced
    bar.finish("succeeded")
    assert bar.bar.value == bar.bar.max == 10 and bar.bar.bar_style == "success"


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_double_click_on_sync_now_records_one_run_even_when_the_first_ends_at_once(tmp_path, account_server):
    """Clicked twice 300 ms apart: an incremental sync with nothing new can end before the
    second click arrives; the second click is still refused (one run recorded)."""
    settings = _settings(tmp_path, account_server)
    data, _ = open_data(settings)
    clock = _Clock()
    page = build_sync(data, settings, clock=clock)
    page.run_button.click()  # the button's own handler, as a browser click runs it
    assert page.wait(60)
    first = data.store.sync_runs.count_documents({})
    assert first == 1 and page.last_message[0] == "ok"

    clock.now += 0.3  # the second click of a double-click
    page.run_button.click()
    assert page.wait(60)
    assert data.store.sync_runs.count_documents({}) == 1
    assert page.last_message[0] == "info" and "just finished" in page.last_message[1]

    clock.now += 10  # a deliberate click later runs again, and says what it did
    page.run_button.click()
    assert page.wait(60)
    assert data.store.sync_runs.count_documents({}) == 2
    kind, text = page.last_message
    assert kind == "ok" and "API request" in text and "documents" not in text
