"""Headless Chromium: sign in through the form, open a dashboard, sign out, and it is gone.

Uses Debian's chromium through Playwright (never ``playwright install``). Screenshots
go to tmp_path and their paths are printed (``pytest -s`` shows them).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from octolib.server.testing import running_server
from octolib.auth.users import open_user_store
from octolib.config import Settings

pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).parent / "notebooks"
USER, PASSWORD = "analyst", "Browser-Login-Pass-8"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-quic"]
DASHBOARD = "voila/render/hello_dashboard.ipynb"


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("chromium not found (Debian: apt-get install chromium); the browser login test needs it")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    nb_dir = root / "notebooks"
    nb_dir.mkdir()
    shutil.copy(FIXTURES / "hello_dashboard.ipynb", nb_dir)
    data_dir = root / "data"
    store = open_user_store(Settings(data_dir=data_dir))
    store.create(USER, PASSWORD, full_name="Ana Lyst")
    store.close()
    with running_server(nb_dir, data_dir) as srv:
        yield srv


def _wait_for_dashboard(page, url: str) -> None:
    """Voilà sometimes stalls a render server-side (STACK_NOTES §3): one reload, then fail."""
    for attempt in range(2):
        try:
            page.get_by_text("Hello from octopus").wait_for(timeout=45_000)
            return
        except Exception:
            if attempt == 1:
                raise
            page.goto(url)


def test_sign_in_open_dashboard_sign_out(browser, server, tmp_path):
    shots = []
    context = browser.new_context(viewport={"width": 1100, "height": 760})
    page = context.new_page()
    dashboard_url = server.url + DASHBOARD

    # Not signed in: the dashboard sends us to the login form.
    page.goto(dashboard_url)
    assert "/login" in page.url
    assert page.locator("input[name=_xsrf]").count() == 1
    shots.append(tmp_path / "1-login.png")
    page.screenshot(path=str(shots[-1]))

    # A wrong password keeps us there, with a message.
    page.fill("#username", USER)
    page.fill("#password", "Not-The-Password-1")
    page.click("#login_submit")
    page.get_by_text("Invalid username or password.").wait_for(timeout=10_000)
    assert "/login" in page.url

    # The right one brings us to the dashboard we asked for, rendered by a live kernel.
    page.fill("#password", PASSWORD)
    page.click("#login_submit")
    page.wait_for_url("**/" + DASHBOARD + "*", timeout=30_000)
    _wait_for_dashboard(page, dashboard_url)
    cookies = {c["name"]: c for c in context.cookies()}
    session = cookies[f"octopus-username-127-0-0-1-{server.port}"]
    assert session["httpOnly"] and session["sameSite"] == "Lax"
    shots.append(tmp_path / "2-dashboard.png")
    page.screenshot(path=str(shots[-1]))

    # The landing page lists the dashboard; sign out from it in a second tab.
    other = context.new_page()
    other.goto(server.url)
    assert "/dashboards" in other.url
    assert other.locator("a.dashboard-link").first.get_attribute("href").endswith(DASHBOARD)
    other.click("#logout")
    other.get_by_text("You are signed out.").wait_for(timeout=10_000)
    shots.append(tmp_path / "3-signed-out.png")
    other.screenshot(path=str(shots[-1]))

    # The dashboard is gone: reloading the first tab lands on the login form.
    page.reload()
    assert "/login" in page.url
    assert page.get_by_text("Hello from octopus").count() == 0
    page.goto(dashboard_url)
    assert "/login" in page.url
    context.close()
    for shot in shots:
        assert shot.stat().st_size > 1000
        print(f"screenshot: {shot}")
