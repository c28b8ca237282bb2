"""Custom reports (issue 13): chosen sections in a chosen order, chosen campaigns, the
analyst's note, and the partner's preset that scheduled and ``--all`` runs make.

Against the tiny account synced over HTTP (``conftest.synced_template``), with two partners
owning one list each and a campaign no partner's rules match. The other partner's list is
renamed to a marker that must appear nowhere in a report of the first (PDF text, CSV,
executed notebook). One report runs through papermill, as ``octo report`` runs it.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest

from octolib.config import Settings
from octolib.errors import ConfigError
from octolib.reports.templates import TEMPLATES
from octolib.reports.campaign_choice import campaign_options, check_campaign_ids
from octolib.reports.kit import build, make_context, write
from octolib.reports.partners import get_partner, save_partner
from octolib.reports.presets import (CampaignChoice, Preset, choice_from_selection, get_preset, rule_campaign_ids,
                                     save_preset)
from octolib.reports.runner import ReportRequest, requests_for, run_batch
from octolib.store import Store

pypdf = pytest.importorskip("pypdf")

PERIOD = ("2026-01-01", "2026-10-31")
OTHER_LIST = "Canyon Secret Members"
NOTE = "Autumn push: the October send went to the new members first."


@pytest.fixture(scope="module")
def world(synced_copy: Callable[[str], tuple[Settings, Store]]) -> Iterator[tuple[Settings, Store]]:
    settings, st = synced_copy("custom")
    # mine: the list most of the tiny account's campaigns went to; other: the second one
    mine, other = (d["emailoctopus_id"] for d in st.lists.find({}, {"emailoctopus_id": 1}).sort("emailoctopus_id", -1))
    st.lists.update_one({"emailoctopus_id": other}, {"$set": {"name": OTHER_LIST}})
    template = st.campaigns.find_one({"status": "sent", "current_metrics.sent": {"$gt": 0}}, {"_id": 0})
    for cid, name, lists in (("unclaimed-1", "Unclaimed one-off", []), ("canyon-only", "Canyon private send", [other])):
        doc = copy.deepcopy(template)
        doc.update(emailoctopus_id=cid, name=name, subject=name, list_ids=lists, sent_at=datetime(2026, 9, 15, 9, 0))
        st.campaigns.insert_one(doc)
    save_partner(st, {"slug": "harbour", "name": "Harbour Partner", "campaigns": {"list_ids": [mine]},
                      "default_range": {"from": PERIOD[0], "to": PERIOD[1]}, "note": "stored note"})
    save_partner(st, {"slug": "canyon", "name": "Canyon Partner", "campaigns": {"list_ids": [other]},
                      "default_range": {"from": PERIOD[0], "to": PERIOD[1]}})
    yield settings, st
    st.close()


def _pdf_text(path: Path) -> str:
    """The PDF's text with all white space removed (table cells wrap words onto new lines)."""
    return re.sub(r"\s+", "", "".join(p.extract_text() for p in pypdf.PdfReader(str(path)).pages))


def _s(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_only_the_chosen_parts_print_in_the_chosen_order_with_the_note(world, tmp_path):
    settings, st = world
    ctx = make_context(settings, st, "campaign_summary", "harbour", *PERIOD,
                       sections=["links", "summary", "campaigns"], note=NOTE)
    doc = build(ctx)
    assert not doc.is_empty, doc.empty_message
    assert [s.title for s in doc.sections] == ["Links", "Campaigns"]
    assert doc.narrative and doc.kpis is None and not doc.provenance.definitions and doc.note == NOTE
    write(doc, tmp_path, ctx)
    text = _pdf_text(tmp_path / "campaign_summary.pdf")
    assert _s("Harbour Partner") in text and _s(NOTE) in text and _s("stored note") not in text
    assert text.index(_s("Link performance by destination")) < text.index(_s("Campaigns in the period"))
    for omitted in ("Key figures", "Rates over time", "Metric definitions"):
        assert _s(omitted) not in text
    assert _s(OTHER_LIST) not in text and OTHER_LIST not in (tmp_path / "campaign_summary.csv").read_text()


def test_the_custom_report_can_hold_every_section_the_issue_lists(world):
    settings, st = world
    ctx = make_context(settings, st, "campaign_summary", "harbour", *PERIOD,
                       sections=["lists", "engagement", "rates_over_time"])
    titles = [s.title for s in build(ctx).sections]
    assert titles == ["The partner's lists", "When and how soon people open", "Rates over time"]
    lists_table = build(ctx, ["lists"]).sections[0].blocks
    assert OTHER_LIST not in repr(lists_table)


def test_campaigns_are_the_rules_minus_removed_plus_unclaimed_never_another_partners(world):
    settings, st = world
    harbour = get_partner(st, "harbour")
    rules = rule_campaign_ids(st, harbour)
    assert "canyon-only" not in rules and "unclaimed-1" not in rules and len(rules) >= 2
    options = {o.campaign_id: o.by_rules for o in campaign_options(st, harbour)}
    assert options["unclaimed-1"] is False and "canyon-only" not in options
    assert all(options[i] for i in rules)
    chosen = [*rules[1:], "unclaimed-1"]
    ctx = make_context(settings, st, "campaign_summary", "harbour", *PERIOD, campaign_ids=chosen)
    table = build(ctx, ["campaigns"]).sections[0].blocks[0]
    names = {d["emailoctopus_id"]: d["name"] for d in st.campaigns.find({}, {"emailoctopus_id": 1, "name": 1})}
    printed = {row[0] for row in table.rows}
    assert "Unclaimed one-off" in printed and names[rules[0]] not in printed
    with pytest.raises(ConfigError) as err:
        check_campaign_ids(st, harbour, [rules[0], "canyon-only"])
    assert str(err.value) == ("'Canyon private send' belongs to another partner's campaign rules, so Harbour "
                              "Partner's report cannot hold it")
    with pytest.raises(ConfigError, match="no campaign nope in the synced data"):
        make_context(settings, st, "campaign_summary", "harbour", *PERIOD, campaign_ids=["nope"])


def test_a_preset_is_stored_with_the_partner_and_runs_use_it(world):
    settings, st = world
    harbour = get_partner(st, "harbour")
    rules = rule_campaign_ids(st, harbour)
    choice = choice_from_selection(st, harbour, [*rules[1:], "unclaimed-1"])
    assert choice == CampaignChoice("rules", add=("unclaimed-1",), remove=(rules[0],))
    saved = save_preset(st, "harbour", Preset("campaign_summary", ("summary", "campaigns"), choice, NOTE), user="ana")
    stored = get_preset(st, "harbour")
    assert stored is not None and stored.sections == saved.sections and stored.campaigns == choice
    assert stored.note == NOTE and stored.saved_by == "ana" and stored.saved_at == saved.saved_at
    # a bad preset is refused and the stored one stays
    for bad in (Preset("campaign_summary", ("weather",)),
                Preset("campaign_summary", None, CampaignChoice("rules", add=("canyon-only",)))):
        with pytest.raises(ConfigError):
            save_preset(st, "harbour", bad)
        assert get_preset(st, "harbour") == stored
    # the partner's preset is what --all and the scheduler (both requests_for) make
    reqs = requests_for(st)
    mine = [r for r in reqs if r.partner == "harbour"]
    assert [(r.template, r.parameters["sections"], r.parameters["note"]) for r in mine] == [
        ("campaign_summary", ["summary", "campaigns"], NOTE)]
    assert set(mine[0].parameters["campaign_ids"]) == {*rules[1:], "unclaimed-1"}
    in_all = [n for n, t in TEMPLATES.items() if t.in_all]  # the segment analysis only when named
    assert len([r for r in reqs if r.partner == "canyon"]) == len(in_all) == 3 and all(
        not r.parameters for r in reqs if r.partner == "canyon")
    named = requests_for(st, ["harbour"], ["campaign_summary", "list_performance"])
    assert [bool(r.parameters) for r in named] == [True, False]
    assert len(requests_for(st, ["harbour"], presets=False)) == len(in_all)
    st.partners.update_one({"slug": "harbour"}, {"$unset": {"preset": ""}})


def test_a_custom_report_through_papermill(world):
    """The template notebook takes the parameters: a PDF with the chosen parts only, the
    note, and nothing of the other partner in the PDF, CSV or executed notebook."""
    settings, st = world
    rules = rule_campaign_ids(st, get_partner(st, "harbour"))
    req = ReportRequest("harbour", "campaign_summary", *PERIOD, parameters={
        "sections": ["campaigns", "summary", "links"], "campaign_ids": [*rules, "unclaimed-1"], "note": NOTE})
    with pytest.raises(ConfigError, match="another partner"):
        run_batch(settings, [ReportRequest("harbour", "campaign_summary", *PERIOD,
                                           parameters={"campaign_ids": ["canyon-only"]})], store=st)
    result = run_batch(settings, [req], store=st, workers=1, user="tester").results[0]
    assert result.ok, result.error
    text = _pdf_text(result.pdf)
    assert _s("Harbour Partner") in text and _s(NOTE) in text and _s("Unclaimed one-off") in text
    assert text.index(_s("Campaigns in the period")) < text.index(_s("Link performance by destination"))
    assert _s("Key figures") not in text and _s("Rates over time") not in text
    for path in (result.csv, result.notebook):
        assert OTHER_LIST not in path.read_text(encoding="utf-8") and "Canyon" not in path.read_text(encoding="utf-8")
    assert _s(OTHER_LIST) not in text and "Canyon" not in text
