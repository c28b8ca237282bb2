"""Linking and segments on a synced account with the generated customers (issue 15).

One "small" account (600 contacts) is synced once for this module over a real socket: the
tiny session store has too few recipients for a segment test to mean anything.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from octolib.config import Settings
from octolib.customers.importer import import_customers, import_projects
from octolib.customers.link import LinkOptions, link_contacts
from octolib.customers.mapping import load_mapping
from octolib.customers.projects import link_projects, set_campaign_project
from octolib.customers.segments_data import Selection, campaign_outcomes, segment_tables
from octolib.customers.source import open_source
from octolib.fake import DEMO_API_KEY, FakeAccount, FakeServer
from octolib.fake.customers import FIELD_TAG, write_customer_files

OPTIONS = LinkOptions(field_tag=FIELD_TAG)


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from octolib.api import EmailOctopusClient
    from octolib.store import connect
    from octolib.sync import run_sync

    root = tmp_path_factory.mktemp("customers")
    account = FakeAccount.generate(seed=7, size="small")
    with FakeServer(account, api_key=DEMO_API_KEY, rate_per_s=1000, burst=1000) as server:
        settings = Settings(data_dir=root, api_base=server.base_url, api_key=DEMO_API_KEY,
                            rate_per_s=1000, rate_burst=1000)
        store = connect(settings)
        with EmailOctopusClient.from_settings(settings) as client:
            assert run_sync(store, client, progress=False).ok
        customers, mapping, projects = write_customer_files(account.customer_plan, root / "files")
        source = open_source(store)
        import_customers(source, customers, load_mapping(mapping))
        import_projects(source, projects)
        report = link_contacts(source, OPTIONS)
        yield {"store": store, "source": source, "plan": account.customer_plan, "report": report,
               "account": account, "settings": settings}
        store.close()


def test_link_counts_equal_what_the_generator_planted(linked):
    report, expected = linked["report"], linked["plan"].expected
    assert (report.by_email, report.by_field, report.unmatched, report.ambiguous) == (
        expected["by_email"], expected["by_field"], expected["unmatched"], expected["ambiguous"])
    assert report.customers_without_contact == expected["customers_without_contact"]
    assert min(report.by_field, report.ambiguous, report.unmatched) > 0
    store = linked["store"]
    assert store.contacts.count_documents({"customer_id": {"$exists": True}}) == report.matched
    ambiguous = {a["contact_id"] for a in report.ambiguous_contacts}
    assert len(ambiguous) == report.ambiguous
    assert store.contacts.count_documents({"_id": {"$in": sorted(ambiguous)}, "customer_id": {"$exists": True}}) == 0


def test_relinking_changes_nothing_and_a_case_change_stays_linked(linked):
    store, source = linked["store"], linked["source"]
    before = {d["_id"]: d for d in store.contacts.find({})}
    again = link_contacts(source, OPTIONS)
    assert again.changed == 0
    assert {d["_id"]: d for d in store.contacts.find({})} == before
    contact = store.contacts.find_one({"customer_id": {"$exists": True}, f"fields.{FIELD_TAG}": {"$exists": False}})
    store.contacts.update_one({"_id": contact["_id"]}, {"$set": {"email": "  " + contact["email"].upper()}})
    third = link_contacts(source, OPTIONS)
    assert third.changed == 0
    assert store.contacts.find_one({"_id": contact["_id"]})["customer_id"] == contact["customer_id"]


def test_campaigns_link_to_projects_by_rule_and_by_hand(linked):
    store, source, plan = linked["store"], linked["source"], linked["plan"]
    report = link_projects(source)
    assert store.campaigns.find_one({"emailoctopus_id": plan.heat_pump_campaign})["project_id"] == "P-HEAT"
    assert report.by_rule >= 2  # the heat-pump campaign and the surveys/webinars by name
    other = store.campaigns.find_one({"project_id": {"$exists": False}, "status": "sent"})
    set_campaign_project(source, other["emailoctopus_id"], "P-INSUL", actor="ana")
    link_projects(source)
    doc = store.campaigns.find_one({"_id": other["_id"]})
    assert doc["project_id"] == "P-INSUL" and doc["project_link"]["actor"] == "ana"
    assert link_projects(source).changed == 0


def test_an_analyst_links_a_campaign_to_a_project_on_the_campaign_page(linked):
    from octolib.dashboards.campaign import build_campaign_detail
    from octolib.dashboards.data import DashboardData

    store, source = linked["store"], linked["source"]
    link_projects(source)
    camp = store.campaigns.find_one({"status": "sent", "project_id": {"$exists": False}})
    page = build_campaign_detail(DashboardData(store), camp["emailoctopus_id"])
    control = page.project_link
    assert control.widget.layout.display is None and control.menu.value == "-"
    control.analyst = lambda: "ben"
    control.menu.value = "P-SURVEY"
    control.save.click()
    doc = store.campaigns.find_one({"_id": camp["_id"]})
    assert doc["project_id"] == "P-SURVEY" and doc["project_link"]["by"] == "hand"
    assert "by hand by ben" in control.status.value
    entry = store.audit_log.find_one({"event": "campaign_project_set", "target": camp["emailoctopus_id"]})
    assert entry["username"] == "ben" and entry["details"] == {"project": "P-SURVEY"}
    assert link_projects(source).changed == 0  # the rules leave a hand link alone


def test_the_planted_effect_is_found_and_the_null_is_not(linked):
    source, plan = linked["source"], linked["plan"]
    outcomes = campaign_outcomes(source, Selection(campaign_ids=(plan.heat_pump_campaign,)))
    tables = {t.field: t for t in segment_tables(source, outcomes, min_group=10)}
    usage, home = tables["annual_kwh"], tables["home_type"]
    assert usage.tests["click_rate"] is not None and usage.tests["click_rate"].significant, usage.tests
    assert "real difference" in usage.tests["click_rate"].words
    assert usage.rates["click_rate"][-1] == max(usage.rates["click_rate"])  # the top band clicks most
    assert home.tests["click_rate"] is None or not home.tests["click_rate"].significant
    assert "postcode" not in tables  # private fields are never segments


def test_a_group_under_the_minimum_is_merged_or_suppressed(linked):
    source, plan = linked["source"], linked["plan"]
    outcomes = campaign_outcomes(source, Selection(campaign_ids=(plan.heat_pump_campaign,)))
    sizes = {t.field: dict(zip(t.labels, t.contacts.tolist())) for t in segment_tables(source, outcomes, min_group=1)}
    home = sizes["home_type"]
    cut = sorted(home.values())[1] + 1  # the two smallest home types fall under this minimum
    table = next(t for t in segment_tables(source, outcomes, min_group=cut) if t.field == "home_type")
    assert min(table.contacts) >= cut
    small = [label for label, n in home.items() if n < cut]
    assert not set(small) & set(table.labels)
    assert "Other" in table.labels or table.suppressed_contacts == sum(home[s] for s in small)


def test_segments_page_shows_only_groups_at_or_above_the_minimum(linked):
    """The page driven as a user would: pick the heat-pump campaign, the usage field, a rate;
    then raise the minimum so home types fall under it: they leave the chart, table and CSV."""
    from octolib.dashboards.data import DashboardData
    from octolib.dashboards.segments import build_segments

    store, plan = linked["store"], linked["plan"]
    link_projects(linked["source"])
    page = build_segments(DashboardData(store), Settings(data_dir=Path("unused")))
    assert page.last_message[0] != "error", page.last_message
    page.campaign.value = plan.heat_pump_campaign
    page.field.value = "annual_kwh"
    page.rate.value = "click_rate"
    assert "real difference" in page.test_line.value
    assert len(page.chart.traces[0].x) == len(page.table.rows) == 4
    page.scope.value = "project"
    page.project.value = "P-HEAT"
    assert page.analysis is not None and [c["emailoctopus_id"] for c in page.analysis.campaigns] == [plan.heat_pump_campaign]

    sizes = {t.field: dict(zip(t.labels, t.contacts.tolist())) for t in page.analysis.tables}["home_type"]
    cut = sorted(sizes.values())[1] + 1
    small = {label for label, n in sizes.items() if n < cut}
    strict = build_segments(DashboardData(store), Settings(data_dir=Path("unused"), segment_min_group=cut))
    strict.scope.value = "project"
    strict.project.value = "P-HEAT"
    strict.field.value = "home_type"
    shown = {r["segment"] for r in strict.table.rows}
    assert shown and not shown & small
    assert all(r["contacts"] >= cut for r in strict.table.rows)
    csv_text = strict.table.csv_text()
    assert not any(label in csv_text for label in small)
    assert not any(label in str(strict.chart.traces[0].x) for label in small)
    emails = [c["email"] for c in plan.customers[:50]]
    assert not any(e.strip() in csv_text for e in emails)


def test_segment_report_is_the_partners_own_and_prints_no_small_group(linked, tmp_path):
    """The PDF and CSV of a partner's project: another partner's customers (a planted home
    type) appear nowhere, nor a group under the minimum, nor any address or customer id."""
    pypdf = pytest.importorskip("pypdf")
    from octolib.reports import kit
    from octolib.reports.partners import save_partner, validate_partner

    store, source, plan = linked["store"], linked["source"], linked["plan"]
    link_projects(source)
    hp = store.campaigns.find_one({"emailoctopus_id": plan.heat_pump_campaign})
    mine = hp["list_ids"][0]
    others = [d["emailoctopus_id"] for d in store.lists.find({}) if d["emailoctopus_id"] != mine]
    save_partner(store, validate_partner({"slug": "heat", "name": "Heat Co", "campaigns": {"list_ids": [mine]}},
                                         check_logo=False))
    save_partner(store, validate_partner({"slug": "other", "name": "Other Co", "campaigns": {"list_ids": others}},
                                         check_logo=False))
    on_mine = {d["customer_id"] for d in store.contacts.find({"list_id": mine, "customer_id": {"$exists": True}})}
    theirs = {d["customer_id"] for d in store.contacts.find({"list_id": {"$in": others}, "customer_id": {"$exists": True}})}
    planted = sorted(theirs - on_mine)
    assert len(planted) >= 10
    source.customers.update_many({"_id": {"$in": planted}}, {"$set": {"home_type": "PLANTEDOTHER"}})

    settings = Settings(data_dir=Path("unused"), segment_min_group=10)
    ctx = kit.make_context(settings, store, "segment_analysis", "heat", "2020-01-01", "2030-12-31")
    ctx.extras["project"] = "P-HEAT"
    sizes = {t.field: dict(zip(t.labels, t.contacts.tolist()))
             for t in segment_tables(source, campaign_outcomes(source, Selection(partner="heat", project_id="P-HEAT")),
                                     min_group=1)}["home_type"]
    cut = sorted(sizes.values())[1] + 1
    small = [label for label, n in sizes.items() if n < cut]
    ctx.settings = settings.replace(segment_min_group=cut)
    doc = kit.build(ctx)
    assert not doc.is_empty, doc.empty_message
    info = kit.write(doc, tmp_path, ctx)
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(str(tmp_path / info["files"]["pdf"])).pages)
    csv_text = (tmp_path / info["files"]["csv"]).read_text()
    assert "Heat pump rollout" in text and "annual kwh" in text.lower()
    for published in (text, csv_text):
        assert "PLANTEDOTHER" not in published
        for label in small:
            assert f"\n{label}" not in published and f"{label}," not in published, label
        assert "CUST-" not in published and "@" not in published.replace("@example.com", "")


def test_a_sync_links_contacts_in_its_after_step(linked):
    """``octo sync`` passes after_sync_hook: contacts unlinked in the store are linked again
    by the next (incremental) sync, with the settings' custom field."""
    from octolib.api import EmailOctopusClient
    from octolib.customers.link import after_sync_hook
    from octolib.sync import run_sync

    store, settings = linked["store"], linked["settings"].replace(link_field=FIELD_TAG)
    store.contacts.update_many({}, {"$unset": {"customer_id": ""}})
    with EmailOctopusClient.from_settings(settings) as client:
        assert run_sync(store, client, progress=False, after=after_sync_hook(settings)).ok
    assert store.contacts.count_documents({"customer_id": {"$exists": True}}) == linked["report"].matched
    assert store.link_reports.find_one({"_id": "contacts"})["by_field"] == linked["plan"].expected["by_field"]


def test_the_after_sync_link_is_skipped_when_no_contact_or_customer_changed(linked):
    """The after-sync step links once, then skips (and the sync says so) while no sync writes a
    contact and the customers stay the same; a changed customer address makes it link again."""
    from octolib.api import EmailOctopusClient
    from octolib.customers.link import after_sync_hook
    from octolib.sync import run_sync

    store, settings = linked["store"], linked["settings"].replace(link_field=FIELD_TAG)
    store.link_reports.delete_one({"_id": "after-sync-stamp"})  # as on a store that never ran the step
    hook = after_sync_hook(settings)
    with EmailOctopusClient.from_settings(settings) as client:
        first = run_sync(store, client, progress=False, after=hook)
        assert first.ok and first.after_note.startswith("customer link: ") and "skipped" not in first.after_note
        assert f"{linked['report'].matched} of " in first.after_note
        store.contacts.update_many({}, {"$unset": {"customer_id": ""}})  # by hand: not noticed, on purpose
        idle = run_sync(store, client, progress=False, after=hook)
        assert idle.ok and idle.written("contacts") == 0
        assert idle.after_note == "customer link: skipped (no contact or customer changed since the last link)"
        assert idle.after_note in idle.table()
        assert store.contacts.count_documents({"customer_id": {"$exists": True}}) == 0
        one = store.customers.find_one({})
        store.customers.update_one({"_id": one["_id"]}, {"$set": {linked["source"].email_field(): "new@example.org"}})
        again = run_sync(store, client, progress=False, after=hook)
    assert "skipped" not in again.after_note, again.after_note
    assert 0 < store.contacts.count_documents({"customer_id": {"$exists": True}}) >= linked["report"].matched - 1
