"""Partners: validation messages, partners.yml round trips, campaign selection, periods."""

from __future__ import annotations

import re
import struct
import zlib
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from octolib.config import Settings
from octolib.errors import ConfigError
from octolib.reports.partners import (
    PartnerError,
    campaign_matches,
    campaign_query,
    delete_partner,
    export_partners_yaml,
    get_partner,
    import_partners,
    list_partners,
    load_partners_yaml,
    save_partner,
    set_note,
    validate_partner,
)
from octolib.reports.period import Period, resolve_range


def tiny_png(path: Path) -> Path:
    """A valid 1x1 PNG, written without any imaging library."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"\x00\xff\x00\x00"
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    path.write_bytes(png)
    return path


GOOD = {"slug": "acme", "name": "Acme Outdoor", "brand_colour": "#1f6feb",
        "campaigns": {"name_pattern": "^acme", "list_ids": ["L1"]}}


@pytest.fixture()
def store(tmp_path):
    from octolib.store import connect

    s = connect(Settings(data_dir=tmp_path / "data"))
    s.ensure_indexes()
    yield s
    s.close()


def test_a_good_partner_is_normalised():
    p = validate_partner(GOOD)
    assert p.brand_colour == "#1F6FEB"
    assert p.campaigns.list_ids == ("L1",)
    assert p.default_range == "last_quarter"


@pytest.mark.parametrize(
    "change, field, fix",
    [
        ({"slug": "Acme Corp"}, "slug", "lower-case"),
        ({"name": ""}, "name", "display name"),
        ({"brand_colour": "blue"}, "brand_colour", "#RRGGBB"),
        ({"campaigns": {}}, "campaigns", "at least one of"),
        ({"campaigns": {"name_pattern": "*acme"}}, "campaigns.name_pattern", "regular expression"),
        ({"campaigns": {"list": ["x"]}}, "campaigns.list", "did you mean 'list_ids'"),
        ({"default_range": "last_fortnight"}, "default_range", "last_N_days"),
        ({"default_range": {"from": "2026-02-30", "to": "2026-03-01"}}, "default_range", "YYYY-MM-DD"),
        ({"recipients": ["not-an-address"]}, "recipients", "email address"),
        ({"colour": "#000000"}, "colour", "did you mean"),
        ({"logo": "missing.png"}, "logo", "does not exist"),
        ({"logo": "logo.gif"}, "logo", "PNG or JPEG"),
        ({"delivery": "sometimes"}, "delivery", "true or false"),
    ],
)
def test_a_bad_partner_is_refused_naming_the_field_and_the_fix(change, field, fix, tmp_path):
    raw = {**GOOD, **change}
    with pytest.raises(PartnerError) as err:
        validate_partner(raw, index=3, base_dir=tmp_path)
    message = str(err.value)
    assert message.startswith(f"partners[3] ({raw['slug']}).{field}:"), message
    assert fix in message


def test_a_bad_partner_is_a_config_error_so_the_cli_prints_one_line():
    with pytest.raises(ConfigError):
        validate_partner({"slug": "x"})


def test_campaign_rules_are_a_union_and_patterns_ignore_case():
    p = validate_partner({"slug": "p", "name": "P", "campaigns": {
        "ids": ["C9"], "subject_pattern": "newsletter", "list_ids": ["L2"]}})
    assert campaign_matches(p, {"emailoctopus_id": "C9", "name": "", "subject": "", "list_ids": []})
    assert campaign_matches(p, {"emailoctopus_id": "C1", "name": "", "subject": "Our NEWSLETTER", "list_ids": []})
    assert campaign_matches(p, {"emailoctopus_id": "C2", "name": "", "subject": "", "list_ids": ["L1", "L2"]})
    assert not campaign_matches(p, {"emailoctopus_id": "C3", "name": "newsletter", "subject": "", "list_ids": ["L1"]})


def test_the_mongo_query_selects_what_the_python_rule_selects(store):
    p = validate_partner({"slug": "p", "name": "P", "campaigns": {
        "ids": ["C9"], "name_pattern": "^acme", "subject_pattern": "sale", "list_ids": ["L2"]}})
    docs = [
        {"emailoctopus_id": "C1", "name": "ACME spring", "subject": "hi", "list_ids": ["L1"]},
        {"emailoctopus_id": "C2", "name": "Spring acme", "subject": "hi", "list_ids": ["L1"]},
        {"emailoctopus_id": "C3", "name": "x", "subject": "Big SALE", "list_ids": ["L1"]},
        {"emailoctopus_id": "C4", "name": "x", "subject": "y", "list_ids": ["L3", "L2"]},
        {"emailoctopus_id": "C9", "name": "x", "subject": "y", "list_ids": []},
        {"emailoctopus_id": "C5", "name": "x", "subject": "y", "list_ids": ["L1"]},
    ]
    store.campaigns.insert_many([dict(d) for d in docs])
    from_db = sorted(d["emailoctopus_id"] for d in store.campaigns.find(campaign_query(p)))
    expected = sorted(d["emailoctopus_id"] for d in docs if campaign_matches(p, d))
    assert from_db == expected == ["C1", "C3", "C4", "C9"]


YAML = """
partners:
  - slug: acme
    name: Acme Outdoor
    logo: logo.png
    brand_colour: "#1F6FEB"
    campaigns: {name_pattern: "^ACME", ids: [C1]}
    default_range: {from: 2026-07-01, to: 2026-09-30}
    recipients: [ops@acme.example]
    note: First note
  - slug: beta
    name: Beta
    campaigns: {list_ids: [L2]}
"""


def test_import_export_round_trip_and_the_note_carries_over(store, tmp_path):
    tiny_png(tmp_path / "logo.png")
    yml = tmp_path / "partners.yml"
    yml.write_text(YAML)
    saved = import_partners(store, yml)
    assert [p.slug for p in saved] == ["acme", "beta"]
    acme = get_partner(store, "acme")
    assert acme.logo == str((tmp_path / "logo.png").resolve())  # relative to the YAML's folder
    assert acme.default_range == {"from": "2026-07-01", "to": "2026-09-30"}

    set_note(store, "beta", "Beta changed their template in August.")
    exported = export_partners_yaml(store)
    again = [p for p, _ in load_partners_yaml(exported)]
    assert again == list_partners(store)

    # Re-import a file whose beta entry has no note: the stored note stays.
    yml.write_text(YAML)
    import_partners(store, yml)
    assert get_partner(store, "beta").note == "Beta changed their template in August."
    assert get_partner(store, "acme").note == "First note"


def test_an_import_with_one_bad_entry_writes_nothing(store, tmp_path):
    bad = YAML.replace('brand_colour: "#1F6FEB"', "brand_colour: red").replace("    logo: logo.png\n", "")
    with pytest.raises(PartnerError, match=r"partners\[0\] \(acme\)\.brand_colour"):
        import_partners(store, bad)
    assert store.partners.count_documents({}) == 0


def test_duplicate_slugs_are_refused():
    text = "partners:\n  - {slug: a, name: A, campaigns: {ids: [x]}}\n  - {slug: a, name: B, campaigns: {ids: [y]}}\n"
    with pytest.raises(PartnerError, match=r"partners\[1\] \(a\)\.slug: already used by partners\[0\]"):
        load_partners_yaml(text)


def test_fields_other_tools_add_to_a_stored_partner_do_not_break_it(store):
    save_partner(store, {**GOOD, "delivery": True})
    store.partners.update_one({"slug": "acme"}, {"$set": {"last_delivered_at": "2026-11-01"}})
    p = get_partner(store, "acme")
    assert p.delivery is True and p.name == "Acme Outdoor"
    with pytest.raises(PartnerError, match="last_delivered_at: unknown field"):
        validate_partner({**GOOD, "last_delivered_at": "x"})  # but input is checked strictly


def test_unknown_partner_names_the_known_ones(store):
    save_partner(store, GOOD)
    with pytest.raises(PartnerError, match="known partners: acme"):
        get_partner(store, "acmee")
    assert delete_partner(store, "acme")
    assert list_partners(store) == []


def test_the_example_file_is_valid():
    example = Path(__file__).resolve().parents[1] / "partners.example.yml"
    entries = load_partners_yaml(example, check_logo=False)
    assert len(entries) >= 2


# -- periods ----------------------------------------------------------------------------

@pytest.mark.parametrize(
    "spec, ref, expected",
    [
        ("last_quarter", date(2026, 1, 15), ("2025-10-01", "2025-12-31")),
        ("last_month", date(2026, 3, 31), ("2026-02-01", "2026-02-28")),
        ("last_year", date(2026, 3, 31), ("2025-01-01", "2025-12-31")),
        ("last_7_days", date(2026, 3, 1), ("2026-02-22", "2026-02-28")),
        ("quarter_to_date", date(2026, 5, 20), ("2026-04-01", "2026-05-20")),
    ],
)
def test_named_ranges(spec, ref, expected):
    period = resolve_range(spec, ref)
    assert (period.start.isoformat(), period.end.isoformat()) == expected


def test_previous_period_keeps_the_shape():
    q = Period(date(2026, 1, 1), date(2026, 3, 31))
    assert q.previous() == Period(date(2025, 10, 1), date(2025, 12, 31))
    assert q.comparison_name() == "the previous quarter"
    feb = Period(date(2024, 2, 1), date(2024, 2, 29))
    assert feb.previous() == Period(date(2024, 1, 1), date(2024, 1, 31))
    days = Period(date(2026, 3, 10), date(2026, 3, 19))
    assert days.previous() == Period(date(2026, 2, 28), date(2026, 3, 9))
    assert days.previous().days == days.days == 10


def test_bounds_follow_the_timezone_across_dst():
    p = Period(date(2026, 3, 29), date(2026, 3, 29), "Europe/London")  # the day clocks go forward
    lo, hi = p.bounds_utc()
    assert lo == datetime(2026, 3, 29, 0, 0, tzinfo=timezone.utc)
    assert hi == datetime(2026, 3, 29, 23, 0, tzinfo=timezone.utc)  # a 23-hour day


def test_a_reversed_period_is_refused():
    with pytest.raises(ConfigError, match="swap --from and --to"):
        Period(date(2026, 3, 2), date(2026, 3, 1))


def test_a_partner_schedule_is_checked_stored_and_read_by_the_scheduler(store):
    from octolib.ops.scheduler import schedules_from_partners

    good = dict(GOOD, schedule={"when": "first monday monthly at 07:30", "templates": ["campaign_summary"]})
    save_partner(store, validate_partner(good, check_logo=False))
    exported = export_partners_yaml(store)
    assert "first monday monthly at 07:30" in exported
    schedules, problems = schedules_from_partners(store.partners.find({}))
    assert problems == []
    assert [(s.partners, s.templates) for s in schedules] == [(("acme",), ("campaign_summary",))]


@pytest.mark.parametrize("schedule,field", [
    ("every blue moon", "schedule"),
    ({"when": "0 7 * * 1", "templates": ["annual_report"]}, "schedule.templates"),
    ({"at": "monday"}, "schedule"),
])
def test_a_bad_schedule_is_refused_naming_the_field(schedule, field):
    with pytest.raises(PartnerError, match=re.escape(f"'.{field}: ")):
        validate_partner(dict(GOOD, schedule=schedule), check_logo=False)
