"""The analyst's whole flow in a real browser, shared by ``tests/test_workspace_flow.py`` (which
checks it) and ``benchmarks/bench_workspace_flow.py`` (which times it).

Sign in, create a partner on the Partners page, open the report builder, choose that partner's
campaigns (one unticked) and sections (some left out, one moved), write the note, make the
PDF and download it. Another partner's list is planted beforehand (:func:`prepare_account`)
so the caller can check that nothing of it reaches the PDF.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from octolib.config import Settings
from octolib.dashboards.testing import add_user, sync_fake_account
from octolib.reports.partners import save_partner
from octolib.server.testing import fill_login_form, submit_login_form
from octolib.store import connect

USER, PASSWORD = "flo", "Workspace-Flow-Pass-1"
PARTNER_NAME, PARTNER_SLUG = "Lighthouse Trust", "lighthouse"
RIVAL_LIST = "Rival Confidential Donors"
NOTE = "Lighthouse: October was the strongest month; the survey is still sending."
#: The PDF headings of the body sections the flow keeps, in the order it puts them (links moved
#: above the campaigns, against the template's order).
KEPT = ("Link performance by destination", "Campaigns in the period")
#: Sections the flow unticks: their headings must not be in the PDF.
DROPPED = ("Key figures", "Rates over time", "Metric definitions")
WAIT_MS = 180_000  # bounds a failure only; a healthy step takes seconds


@dataclass
class FlowResult:
    pdf: Path
    seconds: float
    unticked_campaign: str
    steps: dict[str, float] = field(default_factory=dict)


def prepare_account(data_dir: Path, size: str = "tiny") -> str:
    """Sync the local account into ``data_dir``, add the flow's user, plant a rival partner
    owning the second list (renamed to :data:`RIVAL_LIST`); return the first list's id (the one
    the flow's partner gets)."""
    sync_fake_account(data_dir, size=size)
    add_user(data_dir, USER, PASSWORD)
    store = connect(Settings(data_dir=data_dir))
    try:
        counts = {str(d["emailoctopus_id"]): 0 for d in store.lists.find({}, {"emailoctopus_id": 1})}
        for c in store.campaigns.find({"status": "sent"}, {"list_ids": 1}):
            for lid in c.get("list_ids") or []:
                counts[lid] = counts.get(lid, 0) + 1
        ranked = sorted(counts, key=lambda k: (-counts[k], k))  # mine: the list most sends went to
        mine, rival = ranked[0], ranked[1]
        store.lists.update_one({"emailoctopus_id": rival}, {"$set": {"name": RIVAL_LIST}})
        save_partner(store, {"slug": "rival", "name": "Rival Org", "campaigns": {"list_ids": [rival]}})
    finally:
        store.close()
    return mine


def _checkbox(page: Any, title: str) -> Any:
    return page.locator(f"label.widget-label-basic:has(span:text-is({title!r})) input[type=checkbox]").first


def run_flow(browser: Any, url: str, list_id: str, out_dir: Path, screenshots: bool = True) -> FlowResult:
    """The flow, from the login form to the downloaded PDF; the time from pressing "sign in"
    to the saved download is :attr:`FlowResult.seconds` (``steps``: where it went)."""
    context = browser.new_context(viewport={"width": 1280, "height": 1100}, accept_downloads=True)
    steps: dict[str, float] = {}
    try:
        page = context.new_page()
        fill_login_form(page, url, USER, PASSWORD)
        started = last = time.perf_counter()

        def step(name: str) -> None:
            nonlocal last
            now = time.perf_counter()
            steps[name] = round(now - last, 2)
            last = now

        submit_login_form(page, WAIT_MS)
        step("sign in")

        # -- the Partners page: a new partner owning the first list ----------------------------
        page.goto(url + "voila/render/partners.ipynb", wait_until="commit", timeout=WAIT_MS)
        save = page.locator("button:has-text('Create partner'), button:has-text('Save partner')").first
        save.wait_for(timeout=WAIT_MS)
        page.get_by_label("Name", exact=True).fill(PARTNER_NAME)
        page.get_by_label("Slug", exact=True).fill(PARTNER_SLUG)
        page.get_by_label("List ids", exact=True).fill(list_id)
        page.get_by_label("Default period", exact=True).select_option(label="last 365 days")
        page.get_by_label("Recipients", exact=True).fill("board@lighthouse.example")
        page.get_by_label("List ids", exact=True).press("Tab")
        save.click()
        page.wait_for_selector(f".octo-msg.ok:has-text('Created {PARTNER_NAME}')", timeout=WAIT_MS)
        if screenshots:
            page.screenshot(path=str(out_dir / "flow-partners.png"), full_page=True)
        step("create the partner")

        # -- the report builder: campaigns, sections, note -----------------------------------
        page.goto(url + "voila/render/report_builder.ipynb", wait_until="commit", timeout=WAIT_MS)
        partner = page.get_by_label("Partner", exact=True)
        # ipywidgets writes option labels with no-break spaces
        page.wait_for_function(
            "name => [...document.querySelectorAll('select option')]"
            ".some(o => o.textContent.replace(/\\u00a0/g, ' ') === name)",
            arg=PARTNER_NAME, timeout=WAIT_MS)
        labels = partner.locator("option").all_inner_texts()
        partner.select_option(index=[t.replace("\u00a0", " ") for t in labels].index(PARTNER_NAME))
        first = page.locator("label.widget-label-basic:has(span:text(' · '))").first
        first.wait_for(timeout=WAIT_MS)
        unticked = first.inner_text().split(" · ")[0].strip()
        first.locator("input").uncheck()
        for title in DROPPED:
            _checkbox(page, title).uncheck()
        # Links up past rates over time, best campaigns and campaigns: links now come first
        links_row = page.locator(".widget-hbox:has(> .widget-checkbox span:text-is('Links'))").first
        for _ in range(3):
            links_row.locator("button[title='Move up']").click()
            page.wait_for_timeout(150)  # the rows are redrawn after each move
            links_row = page.locator(".widget-hbox:has(> .widget-checkbox span:text-is('Links'))").first
        page.locator("textarea[placeholder^='The analyst note printed on the cover']").fill(NOTE)
        page.locator("textarea[placeholder^='The analyst note printed on the cover']").press("Tab")
        step("choose campaigns, sections, note")
        page.click("button:has-text('Make this report')")
        page.wait_for_selector(".octo-msg.ok:has-text('1 report made')", timeout=WAIT_MS)
        step("make the PDF")
        with page.expect_download(timeout=WAIT_MS) as download:
            page.click("button:has-text('Download PDF')")
        pdf = out_dir / "flow.pdf"
        download.value.save_as(pdf)
        step("download")
        seconds = time.perf_counter() - started
        if screenshots:
            page.screenshot(path=str(out_dir / "flow-builder.png"), full_page=True)
        return FlowResult(pdf, seconds, unticked, steps)
    except Exception:
        for i, shown in enumerate(context.pages):  # what the browser showed when it failed
            shown.screenshot(path=str(out_dir / f"flow-failed-{i}.png"), full_page=True)
        raise
    finally:
        context.close()
