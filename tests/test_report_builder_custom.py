"""The report builder's custom report and "send from the page" (issue 13), driven through the
page's widgets over the tiny account synced over HTTP.

What must hold: the campaigns are prefilled from the partner's rules (another partner's
never offered), bad choices are said next to their field and nothing runs or is stored, a
saved preset comes back on the next visit and is recorded with who saved it; a custom report
made from the page carries the chosen sections and note; sending asks first, uses the
delivery code of ``octo deliver`` against a real SMTP server on 127.0.0.1 (aiosmtpd), shows
each recipient's result and records who sent it; without SMTP settings the button is off
and says why.
"""

from __future__ import annotations

import email
import email.policy
import re
import socket
from datetime import date
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from octolib import audit
from octolib.config import Settings
from octolib.dashboards.base import open_data
from octolib.dashboards.report_builder import build_report_builder
from octolib.dashboards.testing import sync_fake_account
from octolib.reports import save_partner
from octolib.reports.presets import get_preset
from octolib.store import connect

pypdf = pytest.importorskip("pypdf")

NOTE = "Spring results, with the March launch singled out."


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.messages.append((list(envelope.rcpt_tos),
                              email.message_from_bytes(envelope.content, policy=email.policy.default)))
        return "250 Message accepted"


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port, server_hostname="localhost")
    controller.start()
    inbox.port = port  # type: ignore[attr-defined]
    yield inbox
    controller.stop()


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    s = sync_fake_account(tmp_path_factory.mktemp("custom-builder") / "data", size="tiny", seed=7)
    store = connect(s)
    try:
        mine, other = (d["emailoctopus_id"] for d in
                       store.lists.find({}, {"emailoctopus_id": 1}).sort("emailoctopus_id", -1))
        save_partner(store, {"slug": "harbour", "name": "Harbour Partner", "campaigns": {"list_ids": [mine]},
                             "default_range": {"from": "2026-01-01", "to": "2026-10-31"},
                             "recipients": ["ops@harbour.example", "ceo@harbour.example"]})
        save_partner(store, {"slug": "canyon", "name": "Canyon Partner", "campaigns": {"list_ids": [other]},
                             "default_range": {"from": "2026-01-01", "to": "2026-10-31"}})
    finally:
        store.close()
    return s


def _page(settings, **kw):
    data, _ = open_data(settings)
    return build_report_builder(data, settings, workers=1, analyst=lambda: "ana", **kw), data.store


def test_bad_choices_are_said_next_to_the_field_and_nothing_runs_or_is_stored(settings):
    page, store = _page(settings, runner=lambda *a, **k: pytest.fail("must not run"))
    custom = page.custom
    custom.partner.value = "harbour"
    rules = {d["emailoctopus_id"] for d in store.campaigns.find({"list_ids": custom_list(store, "harbour")})}
    ticked = set(custom.chosen_campaigns)
    assert ticked == rules and ticked
    offered = set(custom.campaign_boxes)
    canyon_only = {d["emailoctopus_id"] for d in store.campaigns.find({"list_ids": custom_list(store, "canyon")})} - rules
    assert not offered & canyon_only  # another partner's campaigns are never offered
    assert custom.chosen_sections == list(page.custom.section_order[:len(custom.chosen_sections)])
    for box in custom.campaign_boxes.values():
        box.value = False
    for box in custom.section_boxes.values():
        box.value = False
    custom.note.value = "x" * 2001
    assert page.start_custom() is False and not page.running
    assert "Tick at least one campaign" in custom.campaign_error.value
    assert "Tick at least one section" in custom.section_error.value
    assert "2,001 characters" in custom.note_error.value
    assert page.save_preset() is False and get_preset(store, "harbour") is None


def custom_list(store, slug: str) -> dict:
    lists = store.partners.find_one({"slug": slug})["campaigns"]["list_ids"]
    return {"$in": lists}


def test_a_saved_preset_comes_back_and_says_who_saved_it(settings):
    page, store = _page(settings)
    custom = page.custom
    custom.partner.value = "harbour"
    first = custom.chosen_campaigns[0]
    custom.campaign_boxes[first].value = False
    for name in list(custom.section_boxes):
        custom.section_boxes[name].value = name in ("summary", "links", "campaigns")
    assert custom.section_order[2:6] == ["campaigns", "best", "rates_over_time", "links"]
    for _ in range(3):
        custom.move("links", -1)  # up past rates over time, best, then campaigns
    assert custom.chosen_sections == ["summary", "links", "campaigns"]
    custom.note.value = NOTE
    assert page.save_preset() is True
    preset = get_preset(store, "harbour")
    assert preset is not None and preset.sections == ("summary", "links", "campaigns") and preset.note == NOTE
    assert preset.campaigns.remove == (first,) and preset.saved_by == "ana"
    (rec,) = audit.recent(store, actions=("saved_preset_for",))
    assert rec.actor == "ana" and rec.target == "harbour"

    again, _ = _page(settings)
    again.custom.partner.value = "harbour"
    assert again.custom.chosen_sections == ["summary", "links", "campaigns"]
    assert first not in again.custom.chosen_campaigns and again.custom.note.value == NOTE
    assert "saved by ana" in again.custom.preset_line.value
    store.partners.update_one({"slug": "harbour"}, {"$unset": {"preset": ""}})


def test_a_click_made_before_the_partners_redraw_is_shown_is_kept(settings):
    """The browser shows the boxes it has until the redraw for a newly chosen partner arrives;
    a click on one of them in that moment reaches the kernel after the redraw and must win."""
    page, _ = _page(settings)
    custom = page.custom
    custom.partner.value = "canyon"
    shown = dict(custom.section_boxes)  # what the browser still shows
    custom.partner.value = "harbour"  # the redraw for harbour runs first...
    ticked = [n for n, box in shown.items() if box.value]
    dropped, added = ticked[-1], next(n for n, box in shown.items() if not box.value)
    shown[dropped].value = False  # ...then the clicks made on the boxes shown
    shown[added].value = True
    assert dropped not in custom.chosen_sections and added in custom.chosen_sections
    assert [n for n in custom.section_order if custom.section_boxes[n].value] == custom.chosen_sections
    custom.partner.value = "canyon"  # a later choice of partner still redraws from its rules
    assert dropped in custom.chosen_sections and added not in custom.chosen_sections


def test_make_a_custom_report_then_send_it_after_confirming(settings, smtp_server):
    off, _ = _page(settings)
    assert off.sender.send_button.disabled and "OCTO_SMTP_HOST" in off.sender.why_off.value

    smtp = settings.replace(smtp_host="127.0.0.1", smtp_port=smtp_server.port, smtp_from="reports@octopus.example",
                            smtp_starttls=False)
    page, store = _page(smtp)
    custom = page.custom
    custom.partner.value = "harbour"
    for name in list(custom.section_boxes):
        custom.section_boxes[name].value = name in ("campaigns", "summary")
    custom.note.value = NOTE
    page.use_default_period.value = False
    page.date_from.value, page.date_to.value = date(2026, 1, 1), date(2026, 10, 31)
    assert page.start_custom() is True
    page.wait(600)
    assert page.error is None and page.last_message[0] == "ok", page.last_message
    (result,) = page.batch.results
    text = re.sub(r"\s+", "", "".join(p.extract_text() for p in pypdf.PdfReader(str(result.pdf)).pages))
    assert "HarbourPartner" in text and re.sub(r"\s+", "", NOTE) in text and "Campaignsintheperiod" in text
    assert "Keyfigures" not in text and "Linkperformance" not in text and "Canyon" not in text

    sender = page.sender
    assert sender.report_id == result.report_id and not sender.send_button.disabled
    sender.ask()
    assert "2 recipients" in sender.question.value and sender.confirm_row.layout.display == ""
    assert smtp_server.messages == []  # nothing leaves before the confirmation
    sender.cancel()
    assert sender.confirm_row.layout.display == "none" and smtp_server.messages == []
    sender.ask()
    delivered = sender.send()
    assert delivered is not None and sorted(delivered.sent) == ["ceo@harbour.example", "ops@harbour.example"]
    assert "Sent to 2 recipients" in sender.result.value
    assert sorted(r for rcpts, _ in smtp_server.messages for r in rcpts) == sorted(delivered.sent)
    attachment = next(smtp_server.messages[0][1].iter_attachments()).get_content()
    assert attachment == Path(result.pdf).read_bytes()
    assert {d["user"] for d in store.deliveries.find({"report_id": result.report_id})} == {"ana"}
    (rec,) = audit.recent(store, actions=("emailed_report_to",))
    assert rec.actor == "ana" and rec.target == "harbour" and rec.details["sent"] == 2
    sender.ask()
    again = sender.send()  # a second send skips who already has it (the delivery code's rule)
    assert again is not None and not again.sent and "already had it" in sender.result.value
