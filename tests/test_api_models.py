"""Typed results: every tolerated shape variant (API_NOTES §13) normalises the same way."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from octolib.api import (
    Campaign,
    CampaignSummary,
    Contact,
    LinkStat,
    MailList,
    ReportRow,
    ValidationError,
    format_filter_time,
    parse_timestamp,
)

UTC = timezone.utc

CAMPAIGN = {
    "id": "8d091a5a-5ad6-11ef-b6e8-0565847a7cda",
    "status": "SENT",
    "name": None,
    "subject": "Week 2",
    "to": ["3c1d9e52-7557-11eb-a3d0-06b4694bee2a"],
    "from": {"name": "Otto", "email_address": "otto@example.com"},
    "content": {"html": "<html></html>"},
    "created_at": "2024-08-07T09:12:44+00:00",
    "sent_at": "2024-08-07T12:59:37Z",
}

LIST = {
    "id": "3c1d9e52-7557-11eb-a3d0-06b4694bee2a",
    "name": "Newsletter",
    "double_opt_in": False,
    "fields": [
        {"label": "First name", "tag": "FirstName", "type": "TEXT", "fallback": "there"},
        {"label": "Region", "tag": "Region", "type": "choice_single", "choices": ["North", "South"], "fallback": None},
    ],
    "tags": ["vip"],
    "counts": {"pending": 1, "subscribed": 6276, "unsubscribed": 143},
    "created_at": "2021-02-22T18:03:11+00:00",
    "last_updated_at": "2026-09-24T07:10:02Z",
}


@pytest.mark.parametrize(
    "text",
    ["2024-01-19T12:14:28Z", "2024-01-19T12:14:28+00:00", "2024-01-19T14:14:28+02:00", "2024-01-19T12:14:28"],
)
def test_every_timestamp_form_becomes_the_same_aware_utc_instant(text):
    dt = parse_timestamp(text)
    assert dt == datetime(2024, 1, 19, 12, 14, 28, tzinfo=UTC)
    assert dt.utcoffset() == timedelta(0)


def test_campaign_normalises_case_nulls_and_keeps_raw():
    c = Campaign.from_api(CAMPAIGN, "GET /campaigns")
    assert c.status == "sent"
    assert c.name is None and c.subject == "Week 2"
    assert c.sent_at == datetime(2024, 8, 7, 12, 59, 37, tzinfo=UTC)
    assert c.from_email == "otto@example.com" and c.to == ("3c1d9e52-7557-11eb-a3d0-06b4694bee2a",)
    assert c.html == "<html></html>"
    assert c.raw == CAMPAIGN
    draft = Campaign.from_api(dict(CAMPAIGN, sent_at=None, status="draft", to=None, **{"from": None}))
    assert draft.sent_at is None and draft.to == () and draft.from_name is None


def test_campaign_without_id_names_endpoint_and_field():
    with pytest.raises(ValidationError, match=r"GET /campaigns: data\[2\]\.id missing"):
        Campaign.from_api(dict(CAMPAIGN, id=None), "GET /campaigns", "data[2]")


def test_bad_timestamp_is_a_validation_error_naming_the_field():
    with pytest.raises(ValidationError, match="sent_at"):
        Campaign.from_api(dict(CAMPAIGN, sent_at="yesterday"), "GET /campaigns/x")


@pytest.mark.parametrize("counts", [LIST["counts"], [LIST["counts"]]], ids=["object", "array"])
def test_list_counts_object_or_one_element_array(counts):
    m = MailList.from_api(dict(LIST, counts=counts), "GET /lists/x")
    assert (m.counts.subscribed, m.counts.unsubscribed, m.counts.pending) == (6276, 143, 1)
    assert [f.tag for f in m.fields] == ["FirstName", "Region"]
    assert m.fields[0].type == "text", "field types are lowercased (T12)"
    assert m.fields[1].choices == ("North", "South")
    assert m.last_updated_at == datetime(2026, 9, 24, 7, 10, 2, tzinfo=UTC)


def test_list_with_empty_counts_array_and_no_fields_survives():
    m = MailList.from_api(dict(LIST, counts=[], fields=[], tags=None, name=None))
    assert m.counts.subscribed == 0 and m.fields == () and m.tags == () and m.name is None


def test_contact_fields_empty_array_becomes_dict_and_status_lowercased():
    raw = {
        "id": "e3ab8c80-5f65-11ed-835e-030e4bb63150",
        "email_address": "claire@example.com",
        "fields": [],
        "tags": ["vip"],
        "status": "SUBSCRIBED",
        "created_at": "2022-11-07T15:20:23+00:00",
        "last_updated_at": "2024-01-19T12:14:28Z",
    }
    c = Contact.from_api(raw, "GET /lists/l/contacts", list_id="l")
    assert c.fields == {} and c.status == "subscribed" and c.list_id == "l"
    assert c.raw["fields"] == []


def test_summary_flattens_nested_counters():
    raw = {
        "id": "c1",
        "sent": 200,
        "bounced": {"hard": 10, "soft": 5},
        "opened": {"total": 110, "unique": 85},
        "clicked": {"total": 30, "unique": 22},
        "complained": 1,
        "unsubscribed": 3,
    }
    s = CampaignSummary.from_api(raw)
    assert (s.sent, s.bounced_hard, s.bounced_soft) == (200, 10, 5)
    assert (s.opened_total, s.opened_unique, s.clicked_total, s.clicked_unique) == (110, 85, 30, 22)
    assert (s.complained, s.unsubscribed) == (1, 3)
    with pytest.raises(ValidationError, match=r"opened\.unique"):
        CampaignSummary.from_api(dict(raw, opened={"total": 1, "unique": "many"}), "GET /campaigns/c1/reports/summary")


def test_report_row_accepts_null_email_and_time():
    r = ReportRow.from_api(
        {"contact_id": "x", "contact_email_address": None, "occurred_at": None}, campaign_id="c", status="sent"
    )
    assert r.email_address is None and r.occurred_at is None and r.status == "sent"


def test_link_stat_requires_url():
    assert LinkStat.from_api({"url": "https://a", "clicked_total": 4, "clicked_unique": 3}).clicked_unique == 3
    with pytest.raises(ValidationError, match="url missing"):
        LinkStat.from_api({"clicked_total": 4}, "GET /campaigns/c/reports/links", "data[0]")


def test_non_object_body_is_a_validation_error():
    with pytest.raises(ValidationError, match="GET /lists/x: body is not an object"):
        MailList.from_api(["not", "an", "object"], "GET /lists/x")


def test_filter_times_are_sent_in_z_form():
    assert format_filter_time(datetime(2024, 1, 19, 14, 0, tzinfo=timezone(timedelta(hours=2)))) == "2024-01-19T12:00:00Z"
    assert format_filter_time(datetime(2024, 1, 19, 12, 0)) == "2024-01-19T12:00:00Z"
    assert format_filter_time("2024-01-19T12:00:00+00:00") == "2024-01-19T12:00:00Z"
    with pytest.raises(ValueError, match="updated_gte"):
        format_filter_time("last tuesday", "updated_gte")
