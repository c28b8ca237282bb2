"""The analysts' pages in headless Chromium against the real ``octo serve``.

* Who did what: the analyst recorded for an action is the one signed in to the browser,
  not the server's OS user, even though the page was pre-rendered in a pooled kernel before
  anyone arrived. Two analysts each open the Sync page and click "Sync now"; ``audit_log``
  and the page's activity list name each of them. (The server has no EmailOctopus key, so
  the sync itself ends in a message; the record is written when the sync is started.)
* The Partners page: a bad colour is refused next to the field and nothing is stored; the
  fixed form, with a logo uploaded, creates the partner, recorded as by the analyst.

Screenshots go to the test's temporary folder (printed with ``-s``).
"""

from __future__ import annotations

import getpass
from pathlib import Path

import pytest

from octolib import audit
from octolib.config import Settings
from octolib.dashboards.testing import add_user, sync_fake_account
from octolib.server.testing import browser_sign_in, running_server
from octolib.store import connect
# The browser fixture is the dashboard browser test's (one Chromium per module).
from tests.test_dashboard_browser import _screenshot, browser  # noqa: F401

pytestmark = pytest.mark.slow

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
USERS = {"ana": "Identity-Test-Pass-1", "ben": "Identity-Test-Pass-2"}
WAIT_MS = 180_000  # a stalled render or a lost click never ends; this only bounds the failure


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    data_dir = tmp_path_factory.mktemp("identity") / "data"
    sync_fake_account(data_dir, size="tiny")
    for name, password in USERS.items():
        add_user(data_dir, name, password)
    with running_server(NOTEBOOKS, data_dir, pool_size=1, pool_notebooks=("sync.ipynb", "partners.ipynb"),
                        wait_for_pools=True, start_timeout_s=300) as srv:
        # (two notebooks pre-render at once; 40-50 s each was seen on a loaded 2-core machine)
        yield srv


def _sign_in(browser, url: str, username: str):
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    browser_sign_in(page, url, username, USERS[username])
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
            _screenshot(page, tmp_path / f"sync-{username}.png")
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


def _text(page, label: str, kind: str = "text"):
    tag = "textarea" if kind == "textarea" else "input"
    return page.locator(f".widget-{kind}:has(label:text-is('{label}')) {tag}")


@pytest.mark.timeout(600)
def test_a_partner_is_created_on_the_partners_page(served, browser, tmp_path):
    from PIL import Image

    logo = tmp_path / "logo.png"
    Image.new("RGB", (120, 40), (200, 60, 20)).save(logo)
    store = connect(Settings(data_dir=served.data_dir))
    try:
        campaign_names = [c["name"] for c in store.campaigns.find({}, {"name": 1})]
    finally:
        store.close()
    expected = sum(1 for n in campaign_names if n.lower().startswith("spring"))
    context, page = _sign_in(browser, served.url, "ana")
    try:
        page.goto(served.url + "voila/render/partners.ipynb", wait_until="commit", timeout=WAIT_MS)
        page.locator("button:has-text('Create partner')").wait_for(timeout=WAIT_MS)
        _text(page, "Name").fill("Browser Outdoor")
        _text(page, "Slug").fill("browser-outdoor")
        _text(page, "Brand colour").fill("blue")
        _text(page, "Name matches").fill("^Spring")
        page.wait_for_selector(f"[data-matches='{expected}']", timeout=WAIT_MS)  # the live preview
        _text(page, "Recipients", "textarea").fill("ops@browser.example")
        # ipywidgets' upload button opens a file chooser from a detached <input type=file>
        with page.expect_file_chooser() as chooser:
            page.click("button.widget-upload:has-text('Upload logo')")
        chooser.value.set_files(str(logo))
        page.wait_for_function("() => document.body.innerText.includes('saved with the partner')", timeout=WAIT_MS)
        page.click("button:has-text('Create partner')")
        error = page.locator(".octo-field-error[data-field='brand_colour']")
        error.wait_for(timeout=WAIT_MS)
        assert "not a hex colour" in error.inner_text()
        _screenshot(page, tmp_path / "partners-refused.png")
        store = connect(Settings(data_dir=served.data_dir))
        try:
            assert store.partners.count_documents({}) == 0
        finally:
            store.close()
        _text(page, "Brand colour").fill("#C83C14")
        page.click("button:has-text('Create partner')")
        page.wait_for_function("() => document.body.innerText.includes('Created Browser Outdoor')", timeout=WAIT_MS)
        page.locator("table.octo-table td:text-is('browser-outdoor')").wait_for(timeout=WAIT_MS)
        _screenshot(page, tmp_path / "partners-created.png")
    finally:
        context.close()
    store = connect(Settings(data_dir=served.data_dir))
    try:
        doc = store.partners.find_one({"slug": "browser-outdoor"})
        created = audit.recent(store, 5, actions=("partner_created",))
    finally:
        store.close()
    assert doc["name"] == "Browser Outdoor" and doc["brand_colour"] == "#C83C14"
    assert doc["campaigns"] == {"name_pattern": "^Spring"} and doc["recipients"] == ["ops@browser.example"]
    assert Path(doc["logo"]).read_bytes() == logo.read_bytes()
    assert [(r.actor, r.target) for r in created] == [("ana", "browser-outdoor")]
    print(f"screenshots: {tmp_path}")
