"""A partner sees only what is theirs (issue 16, items 1 and 4).

One synced store is shared by every test here (module scope): the tiny account synced over
HTTP, its two lists renamed so their names cannot occur by chance, and planted beside the
synced data: a campaign sent to BOTH lists (the partner's and another partner's) and a
campaign sent only to the other partner's list. Each template is built for the partner and
written as PDF + CSV + JSON; the other list's name and id must appear in none of them (nor in
the charts' figures), while the shared campaign and the partner's own list do appear.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from octolib.fake import FakeAccount
from octolib.reports.document import Chart
from octolib.reports.kit import build, make_context, write
from octolib.reports.partners import partner_lists, save_partner, validate_partner
from octolib.reports.templates import TEMPLATES

pypdf = pytest.importorskip("pypdf")

PERIOD = ("2026-01-01", "2026-10-31")
MINE_NAME = "Harbour Members"
OTHER_NAME = "Canyon Club Secret"
JOINT = "Joint launch - September 2026"
OTHER_ONLY = "Canyon private preview - September 2026"


@pytest.fixture(scope="module")
def scoped(tmp_path_factory, sync_into):
    """(settings, store, mine_id, other_id): synced tiny account plus the planted campaigns."""
    account = FakeAccount.generate(seed=7, size="tiny")
    settings, store = sync_into(tmp_path_factory.mktemp("scope-data"), account)
    mine_id, other_id = (lst["id"] for lst in account.lists)
    store.lists.update_one({"emailoctopus_id": mine_id}, {"$set": {"name": MINE_NAME}})
    store.lists.update_one({"emailoctopus_id": other_id}, {"$set": {"name": OTHER_NAME}})
    template = store.campaigns.find_one({"status": "sent", "current_metrics.sent": {"$gt": 0}}, {"_id": 0})
    for cid, name, lists, day in (("planted-joint", JOINT, [mine_id, other_id], 15),
                                  ("planted-other", OTHER_ONLY, [other_id], 16)):
        doc = copy.deepcopy(template)
        doc.update(emailoctopus_id=cid, name=name, subject=name, list_ids=lists,
                   sent_at=datetime(2026, 9, day, 9, 0), created_at=datetime(2026, 9, day - 1, 9, 0))
        store.campaigns.insert_one(doc)
    save_partner(store, {"slug": "harbour", "name": "Harbour Partner", "campaigns": {"list_ids": [mine_id]},
                         "default_range": {"from": PERIOD[0], "to": PERIOD[1]}})
    save_partner(store, {"slug": "canyon", "name": "Canyon Partner", "campaigns": {"list_ids": [other_id]},
                         "default_range": {"from": PERIOD[0], "to": PERIOD[1]}})
    save_partner(store, {"slug": "joint-rule", "name": "Rule Partner", "campaigns": {"name_pattern": "^Joint"},
                         "default_range": {"from": PERIOD[0], "to": PERIOD[1]}})
    yield settings, store, mine_id, other_id
    store.close()


def _figures_json(doc) -> str:
    out = []
    for section in doc.sections:
        for block in section.blocks:
            if isinstance(block, Chart) and block.figure is not None:
                out.append(block.figure.to_json() if hasattr(block.figure, "to_json") else json.dumps(block.figure))
    return "\n".join(out)


def _render(scoped, tmp_path: Path, partner: str, template: str) -> dict[str, str]:
    settings, store, _, _ = scoped
    ctx = make_context(settings, store, template, partner, *PERIOD)
    doc = build(ctx)
    write(doc, tmp_path, ctx)
    reader = pypdf.PdfReader(str(tmp_path / f"{template}.pdf"))
    return {
        "pdf": "\n".join(page.extract_text() for page in reader.pages),
        "csv": (tmp_path / f"{template}.csv").read_text(encoding="utf-8"),
        "json": (tmp_path / f"{template}.json").read_text(encoding="utf-8"),
        "figures": _figures_json(doc),
    }


def _assert_nowhere(out: dict[str, str], *needles: str) -> None:
    for where, text in out.items():
        for needle in needles:
            assert needle not in text, f"{needle!r} leaked into the {where}"


def test_a_partners_lists_are_exactly_the_ones_it_names(scoped):
    _, store, mine_id, other_id = scoped
    from octolib.reports.builders.list_performance import partner_list_ids
    from octolib.reports.partners import get_partner

    harbour = get_partner(store, "harbour")
    assert partner_lists(harbour) == (mine_id,)
    assert partner_list_ids(harbour, store) == [mine_id]  # the joint campaign does not bring the other list in
    assert partner_list_ids(get_partner(store, "joint-rule"), store) == []
    assert partner_lists(validate_partner({"slug": "x", "name": "X", "campaigns": {"list_ids": ["nope"]}})) == ("nope",)


def test_list_performance_shows_only_the_partners_list(scoped, tmp_path):
    _, _, mine_id, other_id = scoped
    out = _render(scoped, tmp_path, "harbour", "list_performance")
    _assert_nowhere(out, OTHER_NAME, other_id)
    assert MINE_NAME in out["pdf"] and MINE_NAME in out["csv"]
    assert "Harbour Partner's 1 list " in out["pdf"].replace("\n", " ")  # not "2 lists"


def test_campaign_summary_names_only_the_partners_list(scoped, tmp_path):
    _, _, mine_id, other_id = scoped
    out = _render(scoped, tmp_path, "harbour", "campaign_summary")
    _assert_nowhere(out, OTHER_NAME, other_id, OTHER_ONLY)
    assert JOINT in out["csv"]  # the shared campaign is the partner's: it is reported ...
    joint_lists = next(line for line in out["csv"].splitlines() if JOINT in line and ",Lists," in line)
    assert f"{MINE_NAME} + 1 other list" in joint_lists  # ... with its other list counted, never named


def test_engagement_analysis_uses_only_the_partners_list(scoped, tmp_path):
    _, store, mine_id, other_id = scoped
    out = _render(scoped, tmp_path, "harbour", "engagement_analysis")
    _assert_nowhere(out, OTHER_NAME, other_id)
    subscribed_mine = store.contacts.count_documents({"list_id": mine_id, "status": "subscribed"})
    subscribed_all = store.contacts.count_documents({"status": "subscribed"})
    assert subscribed_mine < subscribed_all
    assert f"({subscribed_mine} subscribed contacts)" in out["pdf"].replace("\n", " ")  # the partner's list only


def test_a_rule_only_partner_has_no_lists(scoped, tmp_path):
    _, _, mine_id, other_id = scoped
    lists = _render(scoped, tmp_path / "lists", "joint-rule", "list_performance")
    assert "No list belongs to Rule Partner" in lists["pdf"].replace("\n", " ")
    summary = _render(scoped, tmp_path / "summary", "joint-rule", "campaign_summary")
    _assert_nowhere(summary, OTHER_NAME, other_id, MINE_NAME, mine_id)
    assert "2 other lists" in summary["csv"]
    engagement = _render(scoped, tmp_path / "engagement", "joint-rule", "engagement_analysis")
    _assert_nowhere(engagement, OTHER_NAME, other_id, MINE_NAME, mine_id)


def test_segment_analysis_shows_nothing_of_another_partner(scoped, tmp_path):
    # This store has no linked customers, so the report says so; tests/test_customers_link.py
    # checks the same with customers linked (another partner's planted customers appear nowhere).
    _, _, mine_id, other_id = scoped
    out = _render(scoped, tmp_path, "harbour", "segment_analysis")
    _assert_nowhere(out, OTHER_NAME, other_id, OTHER_ONLY)
    assert "No customer data is linked yet" in out["pdf"].replace("\n", " ")


def test_every_template_is_checked_here():
    assert set(TEMPLATES) == {"campaign_summary", "engagement_analysis", "list_performance", "segment_analysis"}
