"""The outcome upload on the Campaigns page, in headless Chromium behind the login (issue 13).

One page load checks the whole path a user takes: sign in, open Campaigns, pick the
partner, upload a bad file (refused next to the field, nothing stored), upload the sample
file (stored, the conversion columns appear), and the upload is recorded under the
signed-in analyst, not the server's operating-system user. A screenshot goes to the test's
temporary folder (path printed with ``pytest -s``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from octolib.config import Settings
from octolib.dashboards.testing import add_user, sync_fake_account
from octolib.fake import FakeAccount
from octolib.fake.outcomes import sample_outcomes_csv
from octolib.reports.partners import save_partner
from octolib.server.testing import browser_sign_in, running_server
from octolib.store import connect

from test_dashboard_browser import ARGS, STALL_S, _chromium, _screenshot

pytestmark = pytest.mark.slow

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
USER, PASSWORD = "ana", "Conversions-Pass-9"


def _choose(page, panel, path: Path) -> None:
    """Pick a file as a user does: ipywidgets' upload button opens the browser's file chooser
    (its file input is not in the page)."""
    with page.expect_file_chooser(timeout=60_000) as chooser:
        panel.locator(".widget-upload").click()
    chooser.value.set_files(str(path))


@pytest.mark.timeout(900)
def test_an_analyst_uploads_outcomes_on_the_campaigns_page(tmp_path: Path):
    chromium = _chromium()
    if chromium is None:
        pytest.skip("chromium not found (Debian: apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    data_dir = tmp_path / "data"
    sync_fake_account(data_dir, size="tiny")
    add_user(data_dir, USER, PASSWORD)
    account = FakeAccount.generate(seed=7, size="tiny")
    with connect(Settings(data_dir=data_dir)) as store:
        lists = sorted(d["emailoctopus_id"] for d in store.lists.find({}, {"emailoctopus_id": 1}))
        mine = max(lists, key=lambda lst: len(sample_outcomes_csv(account, [lst])))
        save_partner(store, {"slug": "harbour", "name": "Harbour Partner", "campaigns": {"list_ids": [mine]},
                             "goal_links": ["*shop.example.com/sale*"]})
    good = tmp_path / "harbour-outcomes.csv"
    good.write_text(sample_outcomes_csv(account, [mine]), encoding="utf-8")
    bad = tmp_path / "bad-outcomes.csv"
    bad.write_text("email,time,value\nnobody@nowhere.example,2026-10-01,5\nx,yesterday,1\n", encoding="utf-8")

    with running_server(NOTEBOOKS, data_dir, pool_size=1, pool_notebooks=("campaigns.ipynb",),
                        wait_for_pools=True) as server, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS, headless=True)
        try:
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            browser_sign_in(page, server.url, USER, PASSWORD)
            page.goto(server.url + "voila/render/campaigns.ipynb", wait_until="commit", timeout=STALL_S * 1000)
            panel = page.locator(".octo-conversions")
            panel.wait_for(timeout=STALL_S * 1000)
            headers = page.locator("table.octo-table").first.locator("th").all_inner_texts()
            assert "Goal clicks" in headers, "harbour has goal links: the columns show before any upload"

            _choose(page, panel, bad)
            panel.get_by_role("button", name="Upload outcomes").click()
            page.wait_for_selector(".octo-conversions .octo-msg.error", timeout=60_000)
            error = panel.locator(".octo-msg.error").inner_text()
            assert "3 problems, nothing was stored" in error and "line 2:" in error and "line 3:" in error
            assert "nobody@" not in error

            _choose(page, panel, good)
            panel.get_by_role("button", name="Upload outcomes").click()
            page.wait_for_selector(".octo-conversions .octo-msg.ok", timeout=60_000)
            assert f"by {USER}" in panel.locator(".octo-msg.ok").inner_text()
            page.wait_for_function("() => [...document.querySelectorAll('table.octo-table th')]"
                                   ".some(th => th.textContent.trim() === 'Conversions')", timeout=60_000)
            shot = _screenshot(page, tmp_path / "campaigns-conversions.png")
            print(f"screenshot: {shot}")
        finally:
            browser.close()

    with connect(Settings(data_dir=data_dir)) as store:
        uploads = list(store.conversion_uploads.find({}))
        assert [(u["filename"], u["uploaded_by"]) for u in uploads] == [("harbour-outcomes.csv", USER)]
        assert store.audit_log.count_documents({"event": "conversions_uploaded", "username": USER}) == 1
        # the upload reaches the partner's PDF and its CSV appendix
        import pypdf

        from octolib.reports.kit import build, make_context, write

        settings = Settings(data_dir=data_dir)
        ctx = make_context(settings, store, "campaign_summary", "harbour", "2025-01-01", "2026-12-31")
        info = write(build(ctx), tmp_path / "pdf", ctx)
        pdf = "\n".join(p.extract_text() for p in pypdf.PdfReader(tmp_path / "pdf" / info["files"]["pdf"]).pages)
        assert "Conversions by campaign" in pdf and "harbour-outcomes.csv" in pdf
        appendix = (tmp_path / "pdf" / info["files"]["csv"]).read_text(encoding="utf-8")
        import csv
        import io

        rows = [r for r in csv.DictReader(io.StringIO(appendix)) if r["table"] == "conversions"]
        assert {"Conversions", "Goal clicks"} <= {r["column"] for r in rows}, "the appendix has the conversions"
