"""Conversions (issue 13): goal links and uploaded outcomes, against the synced tiny account.

The store is the tiny account synced over HTTP (``conftest.synced_template``), so clicks,
contacts and link totals are what the sync really stores. Outcome files are the local
account's sample (:mod:`octolib.fake.outcomes`) or rows built here from stored clicks.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import pytest

from octolib.conversions import (
    OutcomeFileError,
    conversion_table,
    import_outcomes,
    list_uploads,
    remove_upload,
)
from octolib.fake import FakeAccount
from octolib.fake.outcomes import sample_outcomes_csv
from octolib.reports.partners import (
    PartnerError,
    export_partners_yaml,
    get_partner,
    import_partners,
    save_partner,
)
from octolib.store import Store, link_rows

GOAL = "*example.org/partners*"


def _lists(store: Store) -> list[str]:
    """The two lists, the one whose contacts clicked most first (the tiny account's clicks
    are few)."""
    lists = sorted(d["emailoctopus_id"] for d in store.lists.find({}, {"emailoctopus_id": 1}))
    clickers = {d["emailoctopus_id"]: d["list_id"] for d in store.contacts.find({}, {"emailoctopus_id": 1, "list_id": 1})}
    clicks = [clickers.get(e["contact_id"]) for e in store.engagement_events.find({"event_type": "clicked"})]
    return sorted(lists, key=lambda lst: -clicks.count(lst))


def _partner(store: Store, slug: str, **extra: Any) -> None:
    raw = {"slug": slug, "name": slug.title(), "campaigns": {"list_ids": [_lists(store)[0]]}, **extra}
    save_partner(store, raw)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _a_click(store: Store, list_id: str) -> dict[str, Any]:
    """One stored click of a contact on ``list_id``, with the contact's address."""
    ids = {d["emailoctopus_id"]: d["email"] for d in store.contacts.find({"list_id": list_id},
                                                                         {"emailoctopus_id": 1, "email": 1})}
    for ev in store.engagement_events.find({"event_type": "clicked"}).sort("occurred_at", 1):
        if ev["contact_id"] in ids:
            return {**ev, "email": ids[ev["contact_id"]], "occurred_at": _utc(ev["occurred_at"])}
    raise AssertionError("the tiny account has no click")


def test_goal_links_round_trip_through_yaml_and_a_bad_pattern_keeps_the_stored_partner(synced_store):
    _partner(synced_store, "harbour", goal_links=[GOAL, "*shop.example/checkout?*"])
    text = export_partners_yaml(synced_store)
    assert "goal_links" in text and GOAL in text
    synced_store.partners.delete_many({})
    import_partners(synced_store, text)
    assert get_partner(synced_store, "harbour").goal_links == (GOAL, "*shop.example/checkout?*")
    with pytest.raises(PartnerError, match=r"goal_links: '\*' matches \(nearly\) every link"):
        save_partner(synced_store, {**get_partner(synced_store, "harbour").as_document(), "goal_links": ["*"]})
    assert get_partner(synced_store, "harbour").goal_links == (GOAL, "*shop.example/checkout?*")


def test_goal_clicks_are_the_unique_clicks_of_matching_links_over_delivered(synced_store):
    _partner(synced_store, "harbour", goal_links=["*SHOP.example.com/sale", "*example.org/partners"])  # case-insensitive, utm-free
    table = conversion_table(synced_store, "harbour")
    links = link_rows(synced_store, [str(c) for c in table.campaign_ids])
    expected = {}
    for r in links:
        if r["url"].lower().startswith(("https://example.org/partners", "https://shop.example.com/sale?")):
            expected[r["campaign_id"]] = expected.get(r["campaign_id"], 0) + r["clicked_unique"]
    assert sum(expected.values()) > 0, "the tiny account should have clicks on a goal link"
    for i, cid in enumerate(table.campaign_ids):
        assert table.goal_clicks[i] == expected.get(cid, 0)
        if table.delivered[i]:
            assert table.goal_rate[i] == pytest.approx(table.goal_clicks[i] / table.delivered[i])
        else:
            assert np.isnan(table.goal_rate[i])
    assert not table.has_uploads and table.conversion_count.sum() == 0


def test_the_sample_file_matches_contacts_case_insensitively_and_is_attributed(synced_store):
    mine = _lists(synced_store)[0]
    _partner(synced_store, "harbour")
    text = sample_outcomes_csv(FakeAccount.generate(seed=7, size="tiny"), [mine], n=30)
    emails = [row["email"] for row in csv.DictReader(io.StringIO(text))]
    assert any(e != e.lower() for e in emails), "the sample should mix the case of addresses"
    upload = import_outcomes(synced_store, "harbour", text.encode(), filename="harbour.csv", actor="ana")
    assert upload.rows == len(emails) and upload.uploaded_by == "ana"
    table = conversion_table(synced_store, "harbour")
    assert table.outcomes == len(emails)
    assert table.conversion_count.sum() + table.unattributed + table.elsewhere == len(emails)
    assert table.conversion_count.sum() > 0
    # Value: of the attributed outcomes only, so at most the file's total.
    assert 0 < table.conversion_value.sum() <= upload.value_total + 1e-9
    assert synced_store.conversions.count_documents({"upload_id": upload.upload_id}) == len(emails)
    stored = synced_store.conversions.find_one({"upload_id": upload.upload_id})
    assert "@" not in repr(stored), "addresses are not stored, only contact ids"


def test_bad_rows_are_listed_with_their_line_numbers_and_nothing_is_stored(synced_store):
    _partner(synced_store, "harbour")
    click = _a_click(synced_store, _lists(synced_store)[0])
    good = f"{click['email'].upper()},{click['occurred_at'].isoformat()},10"
    text = "\n".join(["email,time,value", good, "nobody@nowhere.example,2026-10-01,5",
                      f"{click['email']},2026-13-01,5", f"{click['email']},2026-10-01,12 EUR", good, ""])
    with pytest.raises(OutcomeFileError) as err:
        import_outcomes(synced_store, "harbour", text, filename="bad.csv", actor="ana")
    assert [line for line, _ in err.value.problems] == [3, 4, 5]
    message = str(err.value)
    assert message.startswith("bad.csv: 3 problems, nothing was stored")
    assert "line 3: no contact with this email address" in message and "nobody@" not in message
    assert "line 4: time '2026-13-01' is not a date" in message
    assert "line 5: value '12 EUR' is not a number" in message
    with pytest.raises(OutcomeFileError, match=r"line 1: missing column time"):
        import_outcomes(synced_store, "harbour", "email,value\na@b.example,1\n", filename="x.csv", actor="ana")
    assert synced_store.conversions.count_documents({}) == 0
    assert synced_store.conversion_uploads.count_documents({}) == 0


def test_attribution_window_edges(synced_store):
    """Inside at exactly 7 days, outside a second later, never before the click."""
    list_id = _lists(synced_store)[0]
    click = _a_click(synced_store, list_id)
    # The partner owns only the clicked campaign, so no other click of the contact counts.
    save_partner(synced_store, {"slug": "one", "name": "One", "campaigns": {"ids": [click["campaign_id"]]}})
    t = click["occurred_at"]
    rows = [("at the click", t), ("7 days", t + timedelta(days=7)), ("7 days + 1 s", t + timedelta(days=7, seconds=1)),
            ("before", t - timedelta(seconds=1))]
    text = "contact_id,time\n" + "".join(f"{click['contact_id']},{when.isoformat()}\n" for _, when in rows)
    import_outcomes(synced_store, "one", text, filename="edges.csv", actor="ana")
    table = conversion_table(synced_store, "one", window_days=7)
    assert table.conversion_count.tolist() == [2] and table.unattributed == 2
    assert conversion_table(synced_store, "one", window_days=8).conversion_count.tolist() == [3]


def test_removal_removes_the_conversions_and_both_are_audited(synced_store):
    mine = _lists(synced_store)[0]
    _partner(synced_store, "harbour")
    text = sample_outcomes_csv(FakeAccount.generate(seed=7, size="tiny"), [mine], n=10)
    upload = import_outcomes(synced_store, "harbour", text, filename="h.csv", actor="ana")
    assert [u.upload_id for u in list_uploads(synced_store, "harbour")] == [upload.upload_id]
    remove_upload(synced_store, upload.upload_id, actor="ben")
    assert list_uploads(synced_store) == []
    assert synced_store.conversions.count_documents({}) == 0
    table = conversion_table(synced_store, "harbour")
    assert table.outcomes == 0 and not table.has_uploads
    from octolib.audit import recent

    actions = [(r.action, r.actor, r.target, r.details.get("upload_id")) for r in recent(synced_store)
               if r.action.startswith("conversions")]
    assert actions == [("conversions_removed", "ben", "harbour", upload.upload_id),
                       ("conversions_uploaded", "ana", "harbour", upload.upload_id)]


def test_cli_import_list_remove_records_the_analyst_or_the_cli_user(synced_store, tmp_path, monkeypatch, capsys):
    from octolib.cli import main

    mine = _lists(synced_store)[0]
    _partner(synced_store, "harbour")
    data_dir = synced_store.description.split(" at ", 1)[1].split("/embedded")[0]
    synced_store.close()
    for name in ("OCTO_MONGODB_URI", "OCTO_DB_NAME", "OCTO_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OCTO_DATA_DIR", data_dir)
    monkeypatch.chdir(tmp_path)
    good = tmp_path / "outcomes.csv"
    good.write_text(sample_outcomes_csv(FakeAccount.generate(seed=7, size="tiny"), [mine], n=8))
    bad = tmp_path / "bad.csv"
    bad.write_text("email,when\nx@y.example,2026-10-01\n")
    assert main(["conversions", "import", str(bad), "--partner", "harbour"]) == 1
    assert "bad.csv: 1 problem, nothing was stored" in capsys.readouterr().err
    assert main(["conversions", "import", str(good), "--partner", "harbour", "--as", "ana"]) == 0
    assert main(["conversions", "import", str(good), "--partner", "harbour"]) == 0
    capsys.readouterr()
    assert main(["conversions", "list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) == 2 and any("by ana" in line for line in listed)
    import getpass
    assert any(f"by cli:{getpass.getuser()}" in line for line in listed)
    upload_id = listed[0].split()[0]
    assert main(["conversions", "remove", upload_id, "--as", "ben"]) == 0
    assert f"removed upload {upload_id}" in capsys.readouterr().out
    assert main(["conversions", "list", "--partner", "harbour"]) == 0
    assert upload_id not in capsys.readouterr().out


def _file(name: str, text: str) -> tuple[dict[str, Any], ...]:
    """What ipywidgets' FileUpload holds after the browser sends a file."""
    content = text.encode()
    return ({"name": name, "type": "text/csv", "size": len(content), "content": memoryview(content),
             "last_modified": datetime(2026, 11, 1, tzinfo=timezone.utc)},)


def test_the_campaigns_page_uploads_refuses_bad_files_and_shows_conversion_columns(synced_store):
    from octolib.dashboards.campaigns import build_campaigns
    from octolib.dashboards.data import DashboardData

    mine = _lists(synced_store)[0]
    _partner(synced_store, "harbour")
    page = build_campaigns(DashboardData(synced_store), actor=lambda: "ana")
    page.period.preset.value = "All time"
    labels = [c.label for c in page.table.columns]
    assert "Conversions" not in labels, "no partner has conversions yet"
    panel = page.conversions
    panel.partner.value = "harbour"
    panel.upload.value = _file("bad.csv", "email,time\nnobody@nowhere.example,2026-10-01\n")
    assert panel.submit() is False
    assert "line 2: no contact with this email address" in panel.message.value
    assert "nothing was stored" in panel.message.value and synced_store.conversion_uploads.count_documents({}) == 0
    panel.upload.value = _file("harbour.csv", sample_outcomes_csv(FakeAccount.generate(seed=7, size="tiny"), [mine]))
    assert panel.submit() is True
    assert 'data-uploads="1"' in panel.uploads.value and "ana" in panel.uploads.value
    labels = [c.label for c in page.table.columns]
    assert labels[-4:] == ["Goal clicks", "Conversions", "Conv. value", "Flags"]
    credited = sum(r.get("conversions") or 0 for r in page.table.rows)
    assert credited == conversion_table(synced_store, "harbour").conversion_count.sum() > 0
    assert "Conversions" in page.table.html.value
    assert panel.remove() is True
    assert "Conversions" not in [c.label for c in page.table.columns]
    assert synced_store.conversions.count_documents({}) == 0


def test_the_sample_file_is_the_same_every_time_and_leaves_the_account_as_it_was():
    account = FakeAccount.generate(seed=7, size="tiny")
    before = (account.campaigns, [account.report_rows(c["id"], "clicked") for c in account.campaigns])
    first = sample_outcomes_csv(account)
    assert first == sample_outcomes_csv(FakeAccount.generate(seed=7, size="tiny"))
    assert (account.campaigns, [account.report_rows(c["id"], "clicked") for c in account.campaigns]) == before
    assert first.splitlines()[0] == "email,time,value" and len(first.splitlines()) > 1


def test_the_campaign_page_shows_goal_clicks_and_conversions_only_when_present(synced_store):
    from octolib.dashboards.campaign import build_campaign_detail
    from octolib.dashboards.data import DashboardData

    mine = _lists(synced_store)[0]
    click = _a_click(synced_store, mine)
    cid = click["campaign_id"]
    before = build_campaign_detail(DashboardData(synced_store), cid)
    assert 'data-kpi="Conversions"' not in before.cards.value and 'data-kpi="Goal clicks"' not in before.cards.value
    _partner(synced_store, "harbour", goal_links=["*shop.example.com/sale*"])
    import_outcomes(synced_store, "harbour", f"contact_id,time,value\n{click['contact_id']},"
                    f"{(click['occurred_at'] + timedelta(hours=2)).isoformat()},12.5\n", filename="one.csv", actor="ana")
    expected = conversion_table(synced_store, "harbour", [cid])
    page = build_campaign_detail(DashboardData(synced_store), cid)
    assert 'data-kpi="Goal clicks"' in page.cards.value and 'data-kpi="Conversions"' in page.cards.value
    assert int(expected.conversion_count[0]) == 1
    assert "value 12.50" in page.cards.value
