"""Partners: list, create, edit and archive partners in the browser, with no YAML and no terminal.

Every field of a ``partners.yml`` entry has a control here (name, slug, brand colour with a
swatch, logo upload, campaign rules, default range, recipients, schedule, delivery, note).
The checks are the YAML import's own (:func:`octolib.reports.partners.validate_partner`),
plus two only a page can make: the list ids must be lists of this account, and an uploaded
logo must be a PNG or JPEG no bigger than :data:`LOGO_MAX_BYTES`. Each problem is shown next
to its field (:func:`form_errors` collects them all, not only the first), and nothing is
stored unless the whole partner is valid: a refused save leaves the stored partner, and its
logo, as they were.

While the rules are edited the page shows which campaigns they match and how many
(:func:`match_preview`), so the effect is seen before saving. Partners are archived, not
deleted: an archived partner keeps its definition and reports but is left out of
``octo report --all``, the schedules and the report builder. Every change is recorded in
``audit_log`` by the signed-in analyst (:mod:`octolib.audit`). The YAML export offered here
is :func:`octolib.reports.partners.export_partners_yaml`, which the import reads back.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import ipywidgets as w

from octolib import audit
from octolib.config import Settings
from octolib.dashboards.base import Dashboard, page_for_settings
from octolib.dashboards.data import DashboardData
from octolib.dashboards.identity import current_analyst
from octolib.dashboards.widgets import Column, DataTable, FileDownload, IsoDateInput, esc, section
from octolib.metrics.display import plural
from octolib.reports.partners import (DEFAULT_COLOUR, CampaignRules, Partner, PartnerError, campaign_matches, export_partners_yaml,
                                      get_partner, import_partners, list_partners, save_partner, set_archived,
                                      validate_partner)
from octolib.reports.period import NAMED_RANGES

__all__ = ["PartnersPage", "build_partners", "partners_page", "form_errors", "check_logo", "match_preview",
           "MatchPreview", "LOGO_MAX_BYTES", "logo_dir", "slugify"]

log = logging.getLogger(__name__)

#: The largest logo accepted (bytes). A logo is printed a few centimetres wide on the cover;
#: a bigger file only slows every PDF down.
LOGO_MAX_BYTES = 1_000_000

#: What the default-range menu offers besides the named ranges.
CUSTOM_RANGE = "custom"

#: The form's fields, as ``validate_partner`` names them in its errors.
FORM_FIELDS = ("name", "slug", "brand_colour", "logo", "campaigns", "campaigns.ids", "campaigns.name_pattern",
               "campaigns.subject_pattern", "campaigns.list_ids", "default_range", "recipients", "schedule",
               "schedule.templates", "delivery", "note", "goal_links")

# What replaces a bad field so the next check can run (see form_errors).
_STAND_INS: dict[str, Any] = {
    "slug": "x", "name": "x", "brand_colour": DEFAULT_COLOUR, "logo": "", "default_range": "last_quarter",
    "recipients": [], "delivery": False, "schedule": None, "schedule.templates": None, "note": "", "archived": False,
    "goal_links": [],
}
_SPLIT = re.compile(r"[\s,;]+")


def _split(text: str) -> list[str]:
    return [part for part in _SPLIT.split(text or "") if part]


# -- checks (no widgets: tests call these directly) ------------------------------------------

def form_errors(raw: Mapping[str, Any], *, known_lists: Mapping[str, str] | None = None,
                existing_slugs: Iterable[str] = ()) -> dict[str, str]:
    """Every problem of a partner definition, by field (empty: it can be saved).

    ``validate_partner`` stops at the first problem; here each refused field is replaced by
    a harmless stand-in and the check runs again, so the analyst sees every message at
    once. ``known_lists`` (list id -> name) refuses list ids this account does not have;
    ``existing_slugs`` refuses a new partner's slug that is already taken.
    """
    errors: dict[str, str] = {}
    work: dict[str, Any] = {k: v for k, v in raw.items()}
    work["campaigns"] = dict(raw.get("campaigns") or {})
    for _ in range(len(FORM_FIELDS) + 2):
        try:
            validate_partner(work, check_logo=bool(work.get("logo")))
            break
        except PartnerError as exc:
            fld = exc.field or "name"
            errors.setdefault(fld, exc.problem or str(exc))
            if fld.startswith("campaigns."):
                work["campaigns"].pop(fld.split(".", 1)[1], None)
                if not work["campaigns"]:
                    work["campaigns"] = {"ids": ["x"]}
            elif fld == "campaigns":
                work["campaigns"] = {"ids": ["x"]}
            elif fld in _STAND_INS:
                work[fld.split(".")[0]] = _STAND_INS[fld]
            else:  # a field the form does not have: stop rather than loop
                break
    if known_lists is not None and "campaigns.list_ids" not in errors:
        unknown = [i for i in (raw.get("campaigns") or {}).get("list_ids") or [] if i not in known_lists]
        if unknown:
            names = ", ".join(f"{name} ({lid})" for lid, name in sorted(known_lists.items(), key=lambda kv: kv[1]))
            errors["campaigns.list_ids"] = (f"{', '.join(map(repr, unknown))} {'is' if len(unknown) == 1 else 'are'} "
                                            f"not a list of this account; lists: {names or 'none synced yet'}")
    slug = raw.get("slug")
    if "slug" not in errors and isinstance(slug, str) and slug in set(existing_slugs):
        errors["slug"] = f"{slug!r} is already a partner; choose another slug, or pick that partner to edit it"
    return errors


_PNG = b"\x89PNG\r\n\x1a\n"
_JPEG = b"\xff\xd8\xff"


def check_logo(filename: str, content: bytes, max_bytes: int = LOGO_MAX_BYTES) -> tuple[str, str]:
    """Check an uploaded logo; returns ``(extension, "")`` or ``("", problem)``.

    The type is read from the bytes (the PNG or JPEG signature, then Pillow decodes the
    header), not from the name, so a renamed PDF or a truncated file is refused too.
    """
    if not content:
        return "", "the file is empty; upload a PNG or JPEG image"
    if len(content) > max_bytes:
        return "", (f"{filename} is {len(content) / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.1f} MB "
                    "(a logo prints a few centimetres wide: export it at about 600 pixels)")
    if content.startswith(_PNG):
        ext, kind = ".png", "PNG"
    elif content.startswith(_JPEG):
        ext, kind = ".jpg", "JPEG"
    else:
        return "", f"{filename} is not a PNG or JPEG image; save the logo as .png and upload it again"
    try:
        from PIL import Image  # Pillow: ReportLab's own image library

        with Image.open(io.BytesIO(content)) as image:
            image.verify()
            if image.format != kind:
                raise ValueError(f"{image.format} inside")
    except Exception as exc:  # noqa: BLE001 - any decoding failure means the same to the analyst
        return "", f"{filename} looks like a {kind} but cannot be read ({exc}); export it again and upload that"
    return ext, ""


def logo_dir(settings: Settings) -> Path:
    """Where uploaded logos are kept: ``<data dir>/partners/logos``."""
    return Path(settings.data_dir).expanduser() / "partners" / "logos"


def _store_logo(settings: Settings, slug: str, ext: str, content: bytes) -> Path:
    """Write an uploaded logo under a name made from its content: a new logo never
    overwrites the file a stored partner points at, so a failed save changes nothing."""
    folder = logo_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{slug}-{hashlib.sha256(content).hexdigest()[:12]}{ext}"
    if not target.exists():
        tmp = target.with_name(target.name + f".{os.getpid()}.tmp")
        tmp.write_bytes(content)
        os.replace(tmp, target)
    return target


@dataclass(frozen=True)
class MatchPreview:
    """Which campaigns a set of rules selects: ``count``, the first ``names``, or the
    ``field`` and ``problem`` that keep the rules from being read."""

    count: int
    names: tuple[str, ...]
    field: str = ""
    problem: str = ""


def match_preview(rules: Mapping[str, Any], campaigns: Iterable[Mapping[str, Any]], limit: int = 12) -> MatchPreview:
    """The campaigns ``rules`` (the ``campaigns`` mapping of a partner) match, by the same
    rules as reports (:func:`octolib.reports.partners.campaign_matches`)."""
    try:
        partner = validate_partner({"slug": "preview", "name": "preview", "campaigns": dict(rules)})
    except PartnerError as exc:
        return MatchPreview(0, (), exc.field, exc.problem)
    matched = [c for c in campaigns if campaign_matches(partner, c)]
    matched.sort(key=lambda c: str(c.get("sent_at") or ""), reverse=True)
    return MatchPreview(len(matched), tuple(str(c.get("name") or c.get("emailoctopus_id")) for c in matched[:limit]))


# -- the page ------------------------------------------------------------------------------

def _error_label() -> w.HTML:
    return w.HTML("", layout=w.Layout(margin="0 0 0 8px"))


class PartnersPage(Dashboard):
    """Controls: ``choose`` (slug being edited, "" = new), one widget per field (``name``,
    ``slug``, ``brand_colour``, ``logo_upload``, ``remove_logo``, ``ids``, ``name_pattern``,
    ``subject_pattern``, ``list_ids``, ``default_range`` (+ ``range_from``/``range_to``),
    ``recipients``, ``schedule``, ``schedule_templates``, ``delivery``, ``note``),
    ``save_button``, ``archive_button``, ``show_archived``. State: ``errors`` (field ->
    message label), ``matches`` (the live preview), ``table`` (the partners)."""

    def __init__(self, data: DashboardData, settings: Settings,
                 analyst: Callable[[], str] = current_analyst) -> None:
        super().__init__(data, "Partners", "partners")
        from octolib.reports.templates import TEMPLATES

        self.settings = settings
        self.analyst = analyst
        self._campaigns: list[dict[str, Any]] = []
        self.known_lists: dict[str, str] = {}
        self._editing: Partner | None = None
        self._quiet_choose = False
        wide = w.Layout(width="520px")
        style = {"description_width": "140px"}

        self.show_archived = w.Checkbox(value=False, indent=False, description="Show archived partners")
        self.table = DataTable([
            Column("name", "Partner"), Column("slug", "Slug"), Column("colour", "Colour", kind="html", sortable=False),
            Column("matched", "Campaigns", kind="count"), Column("recipients", "Recipients", kind="count"),
            Column("delivery", "Emailed"), Column("schedule", "Schedule"), Column("state", "State"),
        ], page_size=15, default_sort="name", default_descending=False, csv_name="partners.csv", tz=data.tz,
            empty_text="No partner yet: fill in the form below and save.")
        self.export = FileDownload(lambda: export_partners_yaml(self.data.store), "partners.yml",
                                   mime="application/yaml", label="Export partners.yml",
                                   on_error=lambda exc: self.say("error", f"Export failed: {exc}"))
        self.import_upload = w.FileUpload(accept=".yml,.yaml", multiple=False, description="Import partners.yml",
                                          layout=w.Layout(width="auto"))

        self.choose = w.Dropdown(description="Edit", options=[("New partner", "")], value="",
                                 layout=w.Layout(width="520px"), style=style)
        self.name = w.Text(description="Name", placeholder="Acme Outdoor", layout=wide, style=style)
        self.slug = w.Text(description="Slug", placeholder="acme-outdoor", layout=wide, style=style)
        self.brand_colour = w.Text(description="Brand colour", placeholder="#1F6FEB", value=DEFAULT_COLOUR,
                                   layout=w.Layout(width="300px"), style=style)
        self.swatch = w.HTML()
        self.logo_upload = w.FileUpload(accept="image/png,image/jpeg,.png,.jpg,.jpeg", multiple=False,
                                        description="Upload logo", layout=w.Layout(width="160px"))
        self.logo_state = w.HTML()
        self.remove_logo = w.Checkbox(value=False, indent=False, description="Remove the logo")
        self.ids = w.Text(description="Campaign ids", placeholder="ids, separated by commas", layout=wide, style=style)
        self.name_pattern = w.Text(description="Name matches", placeholder="^ACME  (regular expression)",
                                   layout=wide, style=style)
        self.subject_pattern = w.Text(description="Subject matches", placeholder="acme  (regular expression)",
                                      layout=wide, style=style)
        self.list_ids = w.Text(description="List ids", placeholder="list ids, separated by commas", layout=wide,
                               style=style)
        self.lists_hint = w.HTML()
        self.matches = w.HTML()
        self.default_range = w.Dropdown(description="Default period",
                                        options=[(k.replace("_", " "), k) for k in NAMED_RANGES]
                                        + [("custom dates", CUSTOM_RANGE)], value="last_quarter",
                                        layout=w.Layout(width="360px"), style=style)
        self.range_from = IsoDateInput(description="From")
        self.range_to = IsoDateInput(description="To")
        self.recipients = w.Textarea(description="Recipients", placeholder="ops@acme.example, one per line",
                                     layout=w.Layout(width="520px", height="64px"), style=style)
        self.schedule = w.Text(description="Schedule", placeholder="first monday monthly at 07:30 (empty: none)",
                               layout=wide, style=style)
        self.schedule_templates = w.SelectMultiple(
            description="Scheduled templates", options=[(info.title, name) for name, info in TEMPLATES.items()],
            rows=3, layout=w.Layout(width="520px"), style=style)
        self.delivery = w.Checkbox(value=False, indent=False,
                                   description="Email scheduled reports to the recipients (needs SMTP settings)",
                                   layout=w.Layout(width="auto", margin="2px 0 2px 148px"))
        self.goal_links = w.Textarea(
            description="Goal links", placeholder="*acme.example/signup*  (one pattern per line; empty: none)",
            layout=w.Layout(width="520px", height="64px"), style=style)
        self.note = w.Textarea(description="Note", placeholder="The analyst note printed in every report",
                               layout=w.Layout(width="520px", height="80px"), style=style)
        self.save_button = w.Button(description="Save partner", button_style="primary", layout=w.Layout(width="150px"))
        self.archive_button = w.Button(description="Archive", layout=w.Layout(width="120px"), disabled=True,
                                       tooltip="Keep the partner and its reports, but leave it out of --all, "
                                               "the schedules and the report builder")
        self.errors: dict[str, w.HTML] = {f: _error_label() for f in FORM_FIELDS}

        def row(widget: w.Widget, *fields: str) -> w.HBox:
            return w.HBox([widget, *(self.errors[f] for f in fields)], layout=w.Layout(align_items="center"))

        self.form = w.VBox([
            row(self.name, "name"), row(self.slug, "slug"),
            w.HBox([self.brand_colour, self.swatch, self.errors["brand_colour"]], layout=w.Layout(align_items="center")),
            w.HBox([w.HTML('<span style="display:inline-block;width:140px;text-align:right;padding-right:8px">'
                           'Logo</span>'), self.logo_upload, self.logo_state, self.remove_logo, self.errors["logo"]],
                   layout=w.Layout(align_items="center")),
            w.HTML('<div class="octo-muted" style="margin-left:148px">PNG or JPEG, at most '
                   f'{LOGO_MAX_BYTES / 1e6:.0f} MB.</div>'),
            section("Which campaigns are the partner's"),
            w.HTML('<div class="octo-muted">A campaign is the partner\'s if any rule matches. Patterns are regular '
                   'expressions, case-insensitive: <code>^ACME</code> = names starting with ACME.</div>'),
            self.errors["campaigns"],
            row(self.ids, "campaigns.ids"), row(self.name_pattern, "campaigns.name_pattern"),
            row(self.subject_pattern, "campaigns.subject_pattern"), row(self.list_ids, "campaigns.list_ids"),
            self.lists_hint, self.matches,
            section("Reports"),
            w.HBox([self.default_range, self.range_from, self.range_to, self.errors["default_range"]],
                   layout=w.Layout(align_items="center", flex_flow="row wrap")),
            row(self.recipients, "recipients"), row(self.schedule, "schedule"),
            row(self.schedule_templates, "schedule.templates"), row(self.delivery, "delivery"), row(self.note, "note"),
            section("Conversions"),
            w.HTML('<div class="octo-muted">EmailOctopus has no conversion data. A click on a link matching one of '
                   'these patterns counts as a conversion (goal clicks and goal rate per campaign). Shell-style '
                   'patterns, case-insensitive: <code>*acme.example/signup*</code>.</div>'),
            row(self.goal_links, "goal_links"),
            w.HBox([self.save_button, self.archive_button], layout=w.Layout(margin="8px 0")),
        ])
        self.body.children = [
            w.HTML('<div class="octo-muted">Who the reports are for, and which campaigns are theirs. The same '
                   'checks as <code>octo report --import-partners</code>; nothing is saved until every field is '
                   'right. Archived partners are kept, but left out of <code>--all</code>, the schedules and '
                   'the report builder.</div>'),
            w.HBox([self.show_archived, self.export, self.import_upload],
                   layout=w.Layout(align_items="center", flex_flow="row wrap")),
            self.table.widget,
            section("Create or edit"), self.choose, self.form,
        ]
        for widget in (self.ids, self.name_pattern, self.subject_pattern, self.list_ids):
            widget.observe(self.guard(lambda _c: self._preview()), "value")
        self.brand_colour.observe(self.guard(lambda _c: self._draw_swatch()), "value")
        self.name.observe(self.guard(self._suggest_slug), "value")
        self.default_range.observe(self.guard(lambda _c: self._range_mode()), "value")
        self.logo_upload.observe(self.guard(lambda _c: self._logo_picked()), "value")
        self.choose.observe(self.guard(self._chosen), "value")
        self.show_archived.observe(self.guard(lambda _c: self.update()), "value")
        self.save_button.on_click(lambda _b: self.guard(self.save)())
        self.archive_button.on_click(lambda _b: self.guard(self.toggle_archived)())
        self.import_upload.observe(self.guard(lambda _c: self._import_picked()), "value")
        self._read_account()
        self.load("")
        self.ready()

    # -- reading -------------------------------------------------------------------------

    def _read_account(self) -> None:
        store = self.data.store
        self._campaigns = list(store.campaigns.find(
            {}, {"_id": 0, "emailoctopus_id": 1, "name": 1, "subject": 1, "list_ids": 1, "sent_at": 1}))
        self.known_lists = {str(d["emailoctopus_id"]): str(d.get("name") or d["emailoctopus_id"])
                            for d in store.lists.find({}, {"_id": 0, "emailoctopus_id": 1, "name": 1})}
        hint = ", ".join(f"{esc(name)} <code>{esc(lid)}</code>"
                         for lid, name in sorted(self.known_lists.items(), key=lambda kv: kv[1]))
        self.lists_hint.value = (f'<div class="octo-muted" style="margin-left:148px">Lists of this account: '
                                 f'{hint or "none synced yet"}</div>')

    def reload(self) -> None:
        self._read_account()
        self.update()
        self._preview()

    def update(self) -> None:
        """Redraw the partners table and the partner menu from the store."""
        partners = list_partners(self.data.store, include_archived=True)
        shown = [p for p in partners if self.show_archived.value or not p.archived]
        rows = []
        for p in shown:
            matched = sum(1 for c in self._campaigns if campaign_matches(p, c))
            schedule = p.schedule.get("when", "") if isinstance(p.schedule, Mapping) else (p.schedule or "")
            rows.append({"name": p.name, "slug": p.slug, "colour": _swatch_html(p.brand_colour),
                         "matched": matched, "recipients": len(p.recipients), "delivery": "yes" if p.delivery else "no",
                         "schedule": schedule, "state": "archived" if p.archived else "active"})
        self.table.set_rows(rows)
        current = self.choose.value
        options = [("New partner", "")] + [(f"{p.name} (archived)" if p.archived else p.name, p.slug) for p in partners]
        self._quiet_choose = True  # new options are not a pick: the form keeps what is typed
        try:
            self.choose.options = options
            self.choose.value = current if current in {v for _, v in options} else ""
        finally:
            self._quiet_choose = False

    # -- the form --------------------------------------------------------------------------

    def _chosen(self, _change: Any) -> None:
        if not self._quiet_choose:
            self.load(self.choose.value)

    def load(self, slug: str) -> None:
        """Fill the form with the stored partner ``slug`` ("" = an empty form for a new one)."""
        self.clear_errors()
        partner = get_partner(self.data.store, slug) if slug else None
        self._editing = partner
        p = partner or Partner(slug="", name="", campaigns=CampaignRules())
        rules = p.campaigns
        self.name.value = p.name
        self.slug.value = p.slug
        self.slug.disabled = partner is not None  # a slug names stored reports; it is not renamed here
        self.brand_colour.value = p.brand_colour
        self.logo_upload.value = ()
        self.remove_logo.value = False
        self.ids.value = ", ".join(rules.ids)
        self.name_pattern.value = rules.name_pattern
        self.subject_pattern.value = rules.subject_pattern
        self.list_ids.value = ", ".join(rules.list_ids)
        if isinstance(p.default_range, Mapping):
            self.default_range.value = CUSTOM_RANGE
            self.range_from.value = _day(p.default_range.get("from"))
            self.range_to.value = _day(p.default_range.get("to"))
        else:
            self.default_range.value = p.default_range if p.default_range in NAMED_RANGES else "last_quarter"
            self.range_from.value = self.range_to.value = None
        self.recipients.value = "\n".join(p.recipients)
        when, templates = (p.schedule.get("when", ""), p.schedule.get("templates") or ()) \
            if isinstance(p.schedule, Mapping) else (p.schedule or "", ())
        self.schedule.value = str(when)
        known = {v for _, v in self.schedule_templates.options}
        self.schedule_templates.value = tuple(t for t in ([templates] if isinstance(templates, str) else templates)
                                              if t in known)
        self.delivery.value = p.delivery
        self.note.value = p.note
        self.goal_links.value = "\n".join(p.goal_links)
        self.archive_button.disabled = partner is None
        self.archive_button.description = "Restore" if partner and partner.archived else "Archive"
        self.save_button.description = "Save changes" if partner else "Create partner"
        self._show_logo()
        self._draw_swatch()
        self._range_mode()
        self._preview()

    def form_values(self) -> dict[str, Any]:
        """The form as a partner definition (the shape ``validate_partner`` reads)."""
        rules: dict[str, Any] = {}
        if _split(self.ids.value):
            rules["ids"] = _split(self.ids.value)
        if self.name_pattern.value.strip():
            rules["name_pattern"] = self.name_pattern.value.strip()
        if self.subject_pattern.value.strip():
            rules["subject_pattern"] = self.subject_pattern.value.strip()
        if _split(self.list_ids.value):
            rules["list_ids"] = _split(self.list_ids.value)
        default_range: Any = self.default_range.value
        if default_range == CUSTOM_RANGE:
            default_range = {"from": _iso(self.range_from.value), "to": _iso(self.range_to.value)}
        when = self.schedule.value.strip()
        schedule: Any = None
        if when:
            schedule = {"when": when, "templates": list(self.schedule_templates.value)} \
                if self.schedule_templates.value else when
        logo = "" if self.remove_logo.value or self._editing is None else self._editing.logo
        return {
            "slug": self.slug.value.strip(), "name": self.name.value.strip(),
            "brand_colour": self.brand_colour.value.strip(), "logo": logo, "campaigns": rules,
            "default_range": default_range, "recipients": _split(self.recipients.value),
            "delivery": bool(self.delivery.value), "schedule": schedule, "note": self.note.value,
            "archived": bool(self._editing.archived) if self._editing else False,
            "goal_links": _split(self.goal_links.value),
        }

    def clear_errors(self) -> None:
        for label in self.errors.values():
            label.value = ""

    def show_errors(self, errors: Mapping[str, str]) -> None:
        self.clear_errors()
        for fld, problem in errors.items():
            label = self.errors.get(fld) or self.errors["name"]
            label.value = f'<span class="octo-field-error" data-field="{esc(fld)}" ' \
                          f'style="color:#b03a2e;font-size:12px">{esc(problem)}</span>'

    def _uploaded(self) -> tuple[str, bytes] | None:
        files = self.logo_upload.value
        if not files:
            return None
        item = files[0]
        return str(item.get("name") or "logo"), bytes(item.get("content") or b"")

    # -- saving ----------------------------------------------------------------------------

    def save(self) -> bool:
        """Validate the whole form and store the partner; False (messages by the fields,
        nothing stored) when any field is wrong."""
        raw = self.form_values()
        creating = self._editing is None
        existing = [d["slug"] for d in self.data.store.partners.find({}, {"_id": 0, "slug": 1})] if creating else []
        errors = form_errors(raw, known_lists=self.known_lists, existing_slugs=existing)
        upload = self._uploaded()
        ext = ""
        if upload is not None and not self.remove_logo.value:
            ext, problem = check_logo(*upload)
            if problem:
                errors["logo"] = problem
        if errors:
            self.show_errors(errors)
            self.say("warn", f"Not saved: {plural(len(errors), 'field')} need{'s' if len(errors) == 1 else ''} "
                             "attention (see the messages next to them). The stored partner is unchanged.")
            return False
        if upload is not None and ext:
            raw["logo"] = str(_store_logo(self.settings, raw["slug"], ext, upload[1]))
        partner = validate_partner(raw, check_logo=bool(raw["logo"]))
        before = self._editing
        saved = save_partner(self.data.store, partner)
        actor = self.analyst()
        if before is None:
            audit.record(self.data.store, actor=actor, action="partner_created", target=saved.slug)
        else:
            old, new = before.as_document(), saved.as_document()
            changed = [k for k in new if old.get(k) != new.get(k)]
            audit.record(self.data.store, actor=actor, action="partner_updated", target=saved.slug,
                         fields=changed or None)
        self.clear_errors()
        self.say("ok", f"{'Created' if before is None else 'Saved'} {saved.name} ({saved.slug}).")
        self._editing = saved
        self.update()
        self._quiet_choose = True
        try:
            self.choose.value = saved.slug
        finally:
            self._quiet_choose = False
        self.load(saved.slug)
        return True

    def toggle_archived(self) -> None:
        """Archive the partner being edited, or restore it when it is archived."""
        if self._editing is None:
            return
        archive = not self._editing.archived
        saved = set_archived(self.data.store, self._editing.slug, archive)
        audit.record(self.data.store, actor=self.analyst(), action="partner_archived" if archive
                     else "partner_restored", target=saved.slug)
        self.say("ok", f"{saved.name} is archived: kept with its reports, but left out of --all, the schedules and "
                       "the report builder." if archive else f"{saved.name} is active again.")
        self.update()
        self.load(saved.slug)

    def _import_picked(self) -> None:
        files = self.import_upload.value
        if not files:
            return
        item = files[0]
        text = bytes(item.get("content") or b"").decode("utf-8", errors="replace")
        try:
            saved = import_partners(self.data.store, text)
        except PartnerError as exc:
            self.say("error", f"Nothing imported: {exc}")
        else:
            audit.record(self.data.store, actor=self.analyst(), action="partners_imported",
                         target=str(item.get("name") or "partners.yml"), count=len(saved))
            self.say("ok", f"Imported {plural(len(saved), 'partner')} from {item.get('name') or 'the file'}.")
            self.update()
        finally:
            self.import_upload.value = ()

    # -- live feedback -------------------------------------------------------------------------

    def _suggest_slug(self, change: Any) -> None:
        """A new partner's slug follows its name until the analyst types a slug of their own."""
        if self._editing is not None:
            return
        if self.slug.value in ("", slugify(change.get("old") or "")):
            self.slug.value = slugify(change.get("new") or "")

    def _draw_swatch(self) -> None:
        self.swatch.value = _swatch_html(self.brand_colour.value.strip())

    def _range_mode(self) -> None:
        custom = self.default_range.value == CUSTOM_RANGE
        self.range_from.disabled = self.range_to.disabled = not custom

    def _show_logo(self) -> None:
        logo = self._editing.logo if self._editing else ""
        self.logo_state.value = (f'<span class="octo-muted">current: {esc(Path(logo).name)}</span>' if logo
                                 else '<span class="octo-muted">no logo</span>')

    def _logo_picked(self) -> None:
        upload = self._uploaded()
        if upload is None:
            self._show_logo()
            return
        ext, problem = check_logo(*upload)
        self.errors["logo"].value = "" if not problem else \
            f'<span class="octo-field-error" data-field="logo" style="color:#b03a2e;font-size:12px">{esc(problem)}</span>'
        if not problem:
            self.logo_state.value = (f'<span class="octo-muted">new: {esc(upload[0])} '
                                     f'({len(upload[1]) / 1024:.1f} KiB), saved with the partner</span>')

    def _preview(self) -> None:
        rules = self.form_values()["campaigns"]
        for fld in ("campaigns", "campaigns.ids", "campaigns.name_pattern", "campaigns.subject_pattern",
                    "campaigns.list_ids"):
            self.errors[fld].value = ""
        if not rules:
            self.matches.value = '<div class="octo-muted" style="margin-left:148px">Give at least one rule to see ' \
                                 'which campaigns it matches.</div>'
            return
        preview = match_preview(rules, self._campaigns)
        if preview.problem:
            self.show_field_error(preview.field, preview.problem)
            self.matches.value = '<div class="octo-muted" style="margin-left:148px">Fix the rule to see the ' \
                                 'campaigns it matches.</div>'
            return
        unknown = [i for i in rules.get("list_ids", []) if i not in self.known_lists]
        if unknown:
            self.show_field_error("campaigns.list_ids", f"not a list of this account: {', '.join(unknown)}")
        names = "".join(f"<li>{esc(n)}</li>" for n in preview.names)
        more = preview.count - len(preview.names)
        self.matches.value = (
            f'<div style="margin-left:148px" data-matches="{preview.count}"><b>{esc(plural(preview.count, "campaign"))} '
            f'match{"es" if preview.count == 1 else ""}</b> of {len(self._campaigns)} synced'
            + (f'<ul style="margin:2px 0 0 0">{names}</ul>' if names else "")
            + (f'<div class="octo-muted">and {more} more</div>' if more > 0 else "") + "</div>")

    def show_field_error(self, fld: str, problem: str) -> None:
        label = self.errors.get(fld) or self.errors["campaigns"]
        label.value = f'<span class="octo-field-error" data-field="{esc(fld)}" ' \
                      f'style="color:#b03a2e;font-size:12px">{esc(problem)}</span>'


def slugify(name: str) -> str:
    """A slug suggested for a partner name: ``"Acme Outdoor!"`` -> ``"acme-outdoor"``.

    >>> slugify("Acme Outdoor & Co.")
    'acme-outdoor-co'
    """
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:64].strip("-")


def _swatch_html(colour: str) -> str:
    if not re.fullmatch(r"#[0-9A-Fa-f]{6}", colour or ""):
        return '<span class="octo-muted">(no swatch: not #RRGGBB)</span>'
    return (f'<span title="{esc(colour)}" style="display:inline-block;width:28px;height:18px;vertical-align:middle;'
            f'border:1px solid #8795a1;border-radius:3px;background:{esc(colour)}"></span>')


def _day(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _iso(value: date | None) -> str:
    return value.isoformat() if value else ""


def build_partners(data: DashboardData, settings: Settings, **kwargs: Any) -> PartnersPage:
    """The Partners page over ``data``; ``settings`` say where uploaded logos go."""
    return PartnersPage(data, settings, **kwargs)


def partners_page(settings: Settings) -> Any:
    """What ``notebooks/partners.ipynb`` displays."""
    return page_for_settings("Partners", "partners", build_partners, settings, pass_settings=True)
