"""The report builder page, driven through its widgets over a synced tiny account.

What must hold: the page runs the real report runner in the background (the kernel stays
free), shows progress, previews and downloads exactly the PDF that was made, lists past
reports, and turns bad choices (no partner, a reversed period) into messages, not errors.
"""

from __future__ import annotations

import base64
import shutil
from datetime import date
from pathlib import Path

import pytest

from octolib.config import Settings
from octolib.dashboards.base import open_data
from octolib.dashboards.report_builder import build_report_builder
from octolib.dashboards.testing import sync_fake_account
from octolib.reports import save_partner, validate_partner
from octolib.store import connect


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    s = sync_fake_account(tmp_path_factory.mktemp("builder") / "data", size="tiny", seed=7)
    store = connect(s)
    try:
        list_ids = [d["emailoctopus_id"] for d in store.lists.find({}, {"emailoctopus_id": 1})]
        save_partner(store, validate_partner({"slug": "north", "name": "North Co", "brand_colour": "#2E7D32",
                                              "campaigns": {"list_ids": list_ids}, "default_range": "last_365_days"},
                                             check_logo=False))
    finally:
        store.close()
    return s


def test_bad_choices_are_messages_and_nothing_runs(settings):
    data, _ = open_data(settings)
    page = build_report_builder(data, settings, runner=lambda *a, **k: pytest.fail("must not run"))
    assert page.start() is False and page.last_message == ("warn", "Pick at least one partner.")
    page.partners.value = ("north",)
    page.use_default_period.value = False
    assert not page.date_from.disabled
    page.date_from.value, page.date_to.value = date(2026, 6, 1), date(2026, 1, 1)
    assert page.start() is False
    kind, text = page.last_message
    assert kind == "warn" and "starts (2026-06-01) after it ends (2026-01-01)" in text
    assert not page.running


def test_a_batch_runs_in_the_background_then_preview_and_download_show_its_pdf(settings):
    data, _ = open_data(settings)
    page = build_report_builder(data, settings, workers=1)
    assert [v for _, v in page.partners.options] == ["north"]
    page.partners.value = ("north",)
    page.templates.value = ("campaign_summary",)
    assert page.start() is True
    assert page.run_button.disabled  # while the batch runs, a second click is refused
    page.wait(300)
    assert page.error is None, page.error
    assert page.last_message[0] == "ok", page.last_message
    assert page.progress.value == page.progress.max == 1
    (result,) = page.batch.results
    assert result.ok and result.pdf.is_file()
    # Said in a reader's words: names and titles, one report (not "report(s)"), no server path.
    assert page.last_message[1] == "1 report made: preview and download it below."
    assert str(settings.data_dir) not in page.last_message[1]
    row = page.history.rows[0]
    assert (row["partner"], row["template"]) == ("North Co", "Campaign summary")
    label = dict((v, k) for k, v in page.pick.options)[result.report_id]
    assert label.startswith("North Co · Campaign summary") and "campaign_summary" not in label
    assert [k for k, _ in page.partners.options] == ["North Co"]

    # The past-reports table and the picker show the new report; the download is its bytes.
    assert [r["report_id"] for r in page.history.rows][:1] == [result.report_id]
    assert page.pick.value == result.report_id
    sent = page.download.payload()
    assert base64.b64decode(sent["data"]) == result.pdf.read_bytes()
    assert sent["mime"] == "application/pdf"
    if shutil.which("pdftoppm"):
        assert page.preview.value[:8] == b"\x89PNG\r\n\x1a\n"
    else:
        assert "pdftoppm" in page.preview_note.value

    # A PDF removed from disk is said so, not raised.
    moved = result.pdf.with_suffix(".moved")
    result.pdf.rename(moved)
    try:
        page.pick.value = None
        page.pick.value = result.report_id
        assert "no longer on disk" in page.preview_note.value
        assert page.download.disabled
    finally:
        moved.rename(result.pdf)


def test_an_account_without_partners_says_how_to_add_them(tmp_path):
    s = Settings(data_dir=tmp_path / "empty")
    data, _ = open_data(s)
    page = build_report_builder(data, s)
    assert page.partners.options == ()
    assert "octo report --import-partners" in page.body.children[0].value
    assert page.start() is False
