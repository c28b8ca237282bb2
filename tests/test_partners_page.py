"""The Partners page's form logic over the synced demo store: each bad field is refused with
its own message next to it and nothing is stored (a failed edit leaves the stored partner
as it was); a valid partner is saved, audited by the analyst, archived (out of --all and
the schedules) and round-trips through the YAML export/import."""

from __future__ import annotations

import io
from datetime import datetime, timezone
from pathlib import Path

import pytest

from octolib import audit
from octolib.config import Settings
from octolib.dashboards.data import DashboardData
from octolib.dashboards.partners import LOGO_MAX_BYTES, build_partners, check_logo, form_errors, match_preview
from octolib.reports.partners import (export_partners_yaml, get_partner, import_partners, list_partners,
                                      validate_partner)


_EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _png(size: tuple[int, int] = (40, 20), fmt: str = "PNG") -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, (31, 111, 235)).save(buf, format=fmt)
    return buf.getvalue()


@pytest.fixture
def page(synced_store, tmp_path):
    data = DashboardData(synced_store, cache_dir=tmp_path / "cache")
    settings = Settings(data_dir=tmp_path / "live")
    return build_partners(data, settings, analyst=lambda: "dora")


def _fill(page, **values) -> None:
    page.name.value = values.get("name", "Acme Outdoor")
    page.slug.value = values.get("slug", "acme")
    page.brand_colour.value = values.get("colour", "#1F6FEB")
    page.name_pattern.value = values.get("name_pattern", "^Spring")
    page.list_ids.value = values.get("list_ids", "")
    page.recipients.value = values.get("recipients", "ops@acme.example")
    page.goal_links.value = values.get("goal_links", "")


def _field_errors(page) -> dict[str, str]:
    return {f: label.value for f, label in page.errors.items() if label.value}


def test_a_valid_partner_is_created_with_its_logo_and_audited(page, synced_store):
    list_id = next(iter(page.known_lists))
    _fill(page, list_ids=list_id)
    page.note.value = "Quarterly review"
    page.goal_links.value = "*acme.example/signup*\n*acme.example/thanks*"
    page.schedule.value = "first monday monthly at 07:30"
    page.delivery.value = True
    page.logo_upload.value = ({"name": "acme.png", "type": "image/png", "size": 0, "content": memoryview(_png()),
                               "last_modified": _EPOCH},)
    assert page.save() is True, (page.last_message, _field_errors(page))
    stored = get_partner(synced_store, "acme")
    assert (stored.name, stored.brand_colour, stored.campaigns.list_ids, stored.recipients, stored.delivery) == \
        ("Acme Outdoor", "#1F6FEB", (list_id,), ("ops@acme.example",), True)
    assert stored.goal_links == ("*acme.example/signup*", "*acme.example/thanks*")
    assert stored.note == "Quarterly review" and stored.schedule == "first monday monthly at 07:30"
    assert Path(stored.logo).is_file() and Path(stored.logo).read_bytes() == _png()
    rec = audit.recent(synced_store, 1)[0]
    assert (rec.actor, rec.action, rec.target) == ("dora", "partner_created", "acme")
    assert [r["slug"] for r in page.table.rows] == ["acme"] and page.choose.value == "acme"
    assert page.slug.disabled  # an existing partner's slug is not renamed


BAD = {
    "brand_colour": dict(colour="blue"),
    "campaigns.name_pattern": dict(name_pattern="^(Spring"),
    "campaigns.list_ids": dict(list_ids="no-such-list"),
    "recipients": dict(recipients="ops@acme.example, not-an-address"),
    "slug": dict(slug="Acme Outdoor!"),
    "goal_links": dict(goal_links="*"),  # would count every click as a conversion
}


@pytest.mark.parametrize("field", sorted(BAD))
def test_each_bad_field_is_refused_next_to_it_and_nothing_is_stored(page, synced_store, field):
    _fill(page, **BAD[field])
    before = synced_store.audit_log.count_documents({})
    assert page.save() is False
    errors = _field_errors(page)
    assert list(errors) == [field], errors
    assert page.last_message[0] == "warn" and "unchanged" in page.last_message[1]
    assert synced_store.partners.count_documents({}) == 0
    assert synced_store.audit_log.count_documents({}) == before


def test_a_bad_logo_is_refused_and_no_file_is_kept(page, synced_store, tmp_path):
    _fill(page)
    for name, content, words in [("logo.png", b"%PDF-1.7 not an image", "not a PNG or JPEG"),
                                 ("logo.png", _png()[:40], "cannot be read"),
                                 ("big.png", _png() + b"\0" * LOGO_MAX_BYTES, "the limit is")]:
        page.logo_upload.value = ({"name": name, "type": "image/png", "size": len(content),
                                   "content": memoryview(content), "last_modified": _EPOCH},)
        assert "logo" in _field_errors(page)  # said as soon as it is picked
        assert page.save() is False
        assert words in page.errors["logo"].value and list(_field_errors(page)) == ["logo"]
    assert synced_store.partners.count_documents({}) == 0
    assert not (tmp_path / "live" / "partners").exists()


def test_all_problems_are_listed_at_once():
    errors = form_errors({"slug": "ok", "name": "", "brand_colour": "red", "campaigns": {"name_pattern": "("},
                          "recipients": ["nobody"]}, known_lists={})
    assert set(errors) == {"name", "brand_colour", "campaigns.name_pattern", "recipients"}


def test_a_failed_edit_leaves_the_stored_partner_as_it_was(page, synced_store):
    _fill(page)
    assert page.save()
    before = synced_store.partners.find_one({"slug": "acme"}, {"_id": 0})
    page.brand_colour.value = "#12345"
    page.note.value = "changed"
    assert page.save() is False and "brand_colour" in _field_errors(page)
    assert synced_store.partners.find_one({"slug": "acme"}, {"_id": 0}) == before
    page.brand_colour.value = "#123456"
    assert page.save()
    rec = audit.recent(synced_store, 1)[0]
    assert rec.action == "partner_updated" and rec.details["fields"] == ["brand_colour", "note"]


def test_a_new_partner_cannot_take_an_existing_slug(page, synced_store):
    _fill(page)
    assert page.save()
    page.choose.value = ""
    _fill(page, name="Someone else")
    assert page.save() is False and "already a partner" in page.errors["slug"].value
    assert get_partner(synced_store, "acme").name == "Acme Outdoor"


def test_rules_show_their_matches_live(page, synced_store):
    names = [c["name"] for c in synced_store.campaigns.find({}, {"name": 1})]
    page.name_pattern.value = "^Spring"
    expected = sum(1 for n in names if n.lower().startswith("spring"))
    assert expected > 0 and f'data-matches="{expected}"' in page.matches.value
    page.name_pattern.value = "^(Spring"
    assert "not a valid regular expression" in page.errors["campaigns.name_pattern"].value
    page.name_pattern.value = ""
    page.list_ids.value = "nope"
    assert "not a list of this account" in page.errors["campaigns.list_ids"].value
    preview = match_preview({"name_pattern": "."}, synced_store.campaigns.find({}))
    assert preview.count == len(names)


def test_archive_keeps_the_partner_out_of_runs_and_yaml_round_trips(page, synced_store):
    _fill(page)
    assert page.save()
    page.toggle_archived()
    assert get_partner(synced_store, "acme").archived is True
    assert list_partners(synced_store) == [] and page.archive_button.description == "Restore"
    from octolib.ops.scheduler import _partner_documents

    settings = Settings(data_dir=Path(synced_store.db.name if False else page.settings.data_dir))
    assert all(d["slug"] != "acme" for d in _partner_documents(settings))
    assert audit.recent(synced_store, 1)[0].action == "partner_archived"

    text = export_partners_yaml(synced_store)
    assert "archived: true" in text
    stored = synced_store.partners.find_one({"slug": "acme"}, {"_id": 0, "created_at": 0, "updated_at": 0})
    synced_store.partners.delete_many({})
    import_partners(synced_store, text)
    assert synced_store.partners.find_one({"slug": "acme"}, {"_id": 0, "created_at": 0, "updated_at": 0}) == stored
    assert validate_partner(stored) == get_partner(synced_store, "acme")


def test_check_logo_accepts_png_and_jpeg():
    assert check_logo("a.png", _png()) == (".png", "")
    assert check_logo("a.jpg", _png(fmt="JPEG")) == (".jpg", "")


def test_yaml_import_on_the_page_is_all_or_nothing_and_audited(page, synced_store):
    def upload(text: str) -> None:
        data = text.encode()
        page.import_upload.value = ({"name": "partners.yml", "type": "application/yaml", "size": len(data),
                                     "content": memoryview(data), "last_modified": _EPOCH},)

    upload("partners:\n- {slug: good, name: Good, campaigns: {name_pattern: '^S'}}\n"
           "- {slug: bad, name: Bad, brand_colour: red, campaigns: {name_pattern: '^S'}}\n")
    assert page.last_message[0] == "error" and "brand_colour" in page.last_message[1]
    assert synced_store.partners.count_documents({}) == 0 and page.import_upload.value == ()
    upload("partners:\n- {slug: good, name: Good, campaigns: {name_pattern: '^S'}}\n")
    assert page.last_message[0] == "ok" and [r["slug"] for r in page.table.rows] == ["good"]
    assert audit.recent(synced_store, 1)[0].sentence == "dora imported partners from partners.yml (1)"


def test_a_new_partners_slug_follows_its_name_until_typed(page):
    page.name.value = "Acme Outdoor & Co."
    assert page.slug.value == "acme-outdoor-co"
    page.slug.value = "acme"
    page.name.value = "Acme Outdoor"
    assert page.slug.value == "acme"
