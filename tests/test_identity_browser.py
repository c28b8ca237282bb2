"""The analyst recorded for an action is the one signed in to the browser, not the server's
OS user, even though the page was pre-rendered in a pooled kernel before anyone arrived.

Two analysts sign in to the real ``octo serve`` in headless Chromium, each opens the Sync
page and clicks "Sync now"; ``audit_log`` and the page's activity list name each of them.
(The server has no EmailOctopus key, so the sync itself ends in a message; the record is
written when the sync is started.)
"""

from __future__ import annotations

import getpass
from pathlib import Path

import pytest

from octolib import audit
from octolib.config import Settings
from octolib.dashboards.testing import add_user, sync_fake_account
from octolib.server.testing import running_server
from octolib.store import connect
from tests.test_dashboard_browser import ARGS, _chromium

pytestmark = pytest.mark.slow

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
USERS = {"ana": "Identity-Test-Pass-1", "ben": "Identity-Test-Pass-2"}
WAIT_MS = 90_000  # a stalled render or a lost click never ends; this only bounds the failure


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    data_dir = tmp_path_factory.mktemp("identity") / "data"
    sync_fake_account(data_dir, size="tiny")
    for name, password in USERS.items():
        add_user(data_dir, name, password)
    with running_server(NOTEBOOKS, data_dir, pool_size=1, pool_notebooks=("sync.ipynb",),
                        wait_for_pools=True) as srv:
        yield srv


@pytest.fixture(scope="module")
def browser():
    chromium = _chromium()
    if chromium is None:
        pytest.skip("chromium not found (Debian: apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=ARGS, headless=True)
        yield b
        b.close()


def _sign_in(browser, url: str, username: str):
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.goto(url + "login")
    page.fill("#username", username)
    page.fill("#password", USERS[username])
    page.click("#login_submit")
    page.wait_for_url("**/dashboards*", timeout=30_000)
    return context, page


@pytest.mark.timeout(600)
def test_each_signed_in_analyst_is_recorded_on_the_sync_page(served, browser, tmp_path):
    for username in USERS:
        context, page = _sign_in(browser, served.url, username)
        try:
            page.goto(served.url + "voila/render/sync.ipynb", wait_until="commit", timeout=WAIT_MS)
            page.locator("button:has-text('Sync now')").wait_for(timeout=WAIT_MS)
            page.wait_for_selector("table.octo-table, .octo-empty", timeout=WAIT_MS)
            page.click("button:has-text('Sync now')")
            # the page answers with a message once the (keyless) sync has ended
            page.wait_for_function("() => document.body.innerText.includes('The sync could not run') || "
                                   "document.body.innerText.includes('Sync succeeded')", timeout=WAIT_MS)
            page.click("button:has-text('Refresh list')")
            page.wait_for_function("u => [...document.querySelectorAll('table.octo-table td')]"
                                   ".some(td => td.innerText.trim() === u + ' started a sync')",
                                   arg=username, timeout=WAIT_MS)
            page.screenshot(path=str(tmp_path / f"sync-{username}.png"), full_page=True)
        finally:
            context.close()
    store = connect(Settings(data_dir=served.data_dir))
    try:
        started = [r.actor for r in audit.recent(store, 50, actions=("sync_started",))]
        signed_in = [r.actor for r in audit.recent(store, 50, actions=("login",))]
    finally:
        store.close()
    assert started == ["ben", "ana"], started
    assert sorted(signed_in) == ["ana", "ben"]
    assert getpass.getuser() not in started
    print(f"screenshots: {tmp_path}")
