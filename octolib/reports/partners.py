"""Partners: who a report is for, and which campaigns are theirs.

A partner is a document in the ``partners`` collection, edited from a ``partners.yml``
(import/export here) or from the report builder page. Every way in goes through
:func:`validate_partner`, so a bad definition is refused with a message that names the
field and the fix, before anything is stored.

The document (and one entry of ``partners.yml``)::

    {
      "slug": "acme",                      # unique, lower-case letters, digits, "-"
      "name": "Acme Outdoor",              # shown on the cover
      "logo": "/abs/path/acme.png",        # optional PNG/JPEG; relative paths resolve
                                           # against the YAML file's folder on import
      "brand_colour": "#1F6FEB",           # "#RRGGBB"
      "campaigns": {                       # a campaign is the partner's if ANY rule matches
        "ids": ["<emailoctopus id>", ...],
        "name_pattern": "^ACME",           # regular expression, case-insensitive, on the name
        "subject_pattern": "acme",         # same, on the subject
        "list_ids": ["<list id>", ...]     # campaigns sent to any of these lists
      },
      "default_range": "last_quarter",     # or last_N_days, month_to_date, ..., {from, to}
      "recipients": ["ops@acme.example"],  # who receives the PDF (never printed in it)
      "delivery": false,                   # true: scheduled reports are emailed to the
                                           # recipients (octolib.ops.delivery; needs SMTP)
      "note": "free text",                 # the analyst note, kept between runs
      "archived": false,                   # true: kept (and its reports), but left out of
                                           # --all, the schedules and the builder's list
      "goal_links": ["*acme.example/signup*"]  # clicks on links matching these globs count
                                           # as conversions (octolib.metrics.conversions)
    }

The note carries over: importing a YAML entry without ``note`` keeps the stored note.

**Scope: a partner's lists.** A partner's lists are exactly the ones its definition names in
``campaigns.list_ids`` (:func:`partner_lists`), nothing else: a campaign of the partner that
also went to another list does not make that list the partner's, because the other list may
be another partner's. A rule-only partner (``ids``/``name_pattern``/``subject_pattern`` and
no ``list_ids``) has no lists: its reports show its campaigns and leave out list figures
(growth, engagement of the lists), and say to add ``list_ids`` to report on lists. A report
names no list outside :func:`partner_lists` (a campaign's other lists are counted, never named).
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from octolib.errors import ConfigError
from octolib.reports.period import resolve_range
from octolib.reports.templates import TEMPLATES
from octolib.schedules import parse_schedule

if TYPE_CHECKING:
    from octolib.store import Store

__all__ = [
    "Partner",
    "CampaignRules",
    "PartnerError",
    "validate_partner",
    "campaign_query",
    "campaign_matches",
    "partner_lists",
    "save_partner",
    "get_partner",
    "list_partners",
    "delete_partner",
    "set_archived",
    "set_note",
    "load_partners_yaml",
    "import_partners",
    "export_partners_yaml",
]

log = logging.getLogger(__name__)

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
_COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_LOGO_SUFFIXES = {".png", ".jpg", ".jpeg"}
#: How a check reports a bad field: raises PartnerError naming the field and the fix.
_Fail = Callable[[str, str], NoReturn]
MAX_NOTE = 4000
FIELDS = ("slug", "name", "logo", "brand_colour", "campaigns", "default_range", "recipients", "delivery", "schedule",
          "note", "archived", "goal_links")
RULE_FIELDS = ("ids", "name_pattern", "subject_pattern", "list_ids")
DEFAULT_COLOUR = "#1F4E79"


class PartnerError(ConfigError):
    """A partner definition that cannot be used; the message names the field and the fix.

    ``field`` is the field's path (``"brand_colour"``, ``"campaigns.name_pattern"``) and
    ``problem`` the message without the location, so a form can show it next to the field;
    both are empty for a definition that is not a mapping at all.
    """

    field: str = ""
    problem: str = ""


@dataclass(frozen=True)
class CampaignRules:
    """Which campaigns are the partner's: the union of every rule given."""

    ids: tuple[str, ...] = ()
    name_pattern: str = ""
    subject_pattern: str = ""
    list_ids: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.ids:
            out["ids"] = list(self.ids)
        if self.name_pattern:
            out["name_pattern"] = self.name_pattern
        if self.subject_pattern:
            out["subject_pattern"] = self.subject_pattern
        if self.list_ids:
            out["list_ids"] = list(self.list_ids)
        return out


@dataclass(frozen=True)
class Partner:
    """A validated partner definition (see the module docstring for the fields)."""

    slug: str
    name: str
    campaigns: CampaignRules
    brand_colour: str = DEFAULT_COLOUR
    logo: str = ""
    default_range: Any = "last_quarter"
    recipients: tuple[str, ...] = field(default=(), repr=False)  # addresses: never in a notebook's output
    note: str = field(default="", repr=False)
    delivery: bool = False
    schedule: Any = None  # "first monday monthly at 07:30", 5-field cron, or {when, templates}
    archived: bool = False  # kept with its reports, but not in --all, schedules or the builder
    goal_links: tuple[str, ...] = ()  # URL globs whose clicks count as conversions (issue 13)

    def as_document(self) -> dict[str, Any]:
        """The ``partners`` document (and the YAML entry) for this partner."""
        doc: dict[str, Any] = {
            "slug": self.slug,
            "name": self.name,
            "logo": self.logo,
            "brand_colour": self.brand_colour,
            "campaigns": self.campaigns.as_dict(),
            "default_range": dict(self.default_range) if isinstance(self.default_range, Mapping) else self.default_range,
            "recipients": list(self.recipients),
            "delivery": self.delivery,
            "schedule": dict(self.schedule) if isinstance(self.schedule, Mapping) else self.schedule,
            "note": self.note,
            "archived": self.archived,
            "goal_links": list(self.goal_links),
        }
        return doc


def _where(index: int | None, slug: str | None) -> str:
    if index is None:
        return f"partner {slug!r}" if slug else "partner"
    return f"partners[{index}]" + (f" ({slug})" if slug else "")


def _suggest(name: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(options), n=1)
    return f"; did you mean {close[0]!r}?" if close else f"; known fields: {', '.join(options)}"


def _str_list(value: Any, fld: str, fail: _Fail) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, (str, int)) and str(v).strip() for v in value):
        fail(fld, f"{value!r} is not a list of texts; write it as a YAML list, e.g. [\"abc\", \"def\"]")
    return tuple(dict.fromkeys(str(v).strip() for v in value))


def _pattern(value: Any, fld: str, fail: _Fail) -> str:
    if value is None or value == "":
        return ""
    if not isinstance(value, str):
        fail(fld, f"{value!r} is not text; give a regular expression such as \"^ACME\"")
    try:
        re.compile(value)
    except re.error as exc:
        fail(fld, f"{value!r} is not a valid regular expression ({exc}); for 'contains ACME' write \"ACME\", "
                  "for 'starts with' write \"^ACME\", and escape special characters with a backslash")
    return value


def validate_partner(
    raw: Mapping[str, Any], *, index: int | None = None, base_dir: Path | None = None,
    check_logo: bool = True, strict: bool = True,
) -> Partner:
    """Check one partner definition and return it as a :class:`Partner`.

    ``index`` names the YAML entry in messages (``partners[2] (acme).brand_colour: ...``);
    ``base_dir`` resolves a relative ``logo`` path (the YAML file's folder). Raises
    :class:`PartnerError` naming the field and how to fix it.
    """
    slug_hint = raw.get("slug") if isinstance(raw, Mapping) and isinstance(raw.get("slug"), str) else None

    def fail(fld: str, problem: str) -> NoReturn:
        error = PartnerError(f"{_where(index, slug_hint)}.{fld}: {problem}")
        error.field, error.problem = fld, problem
        raise error

    if not isinstance(raw, Mapping):
        raise PartnerError(f"{_where(index, None)}: expected a mapping of fields (slug, name, campaigns, ...), "
                           f"got {type(raw).__name__}")
    for key in raw:
        if strict and key not in FIELDS and key not in ("_id", "created_at", "updated_at", "brand_color"):
            fail(str(key), f"unknown field{_suggest(str(key), FIELDS)}")

    slug = raw.get("slug")
    if not isinstance(slug, str) or not _SLUG.match(slug):
        fail("slug", f"{slug!r} is not a slug; use lower-case letters, digits and '-' (e.g. \"acme-outdoor\"), "
                     "1-64 characters, starting and ending with a letter or digit")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        fail("name", "missing or empty; give the partner's display name (up to 200 characters), e.g. \"Acme Outdoor\"")

    colour = raw.get("brand_colour", raw.get("brand_color", DEFAULT_COLOUR)) or DEFAULT_COLOUR
    if not isinstance(colour, str) or not _COLOUR.match(colour.strip()):
        fail("brand_colour", f"{colour!r} is not a hex colour; write it as \"#RRGGBB\" in quotes, e.g. \"#1F6FEB\"")
    colour = colour.strip().upper()

    logo = raw.get("logo") or ""
    if not isinstance(logo, str):
        fail("logo", f"{logo!r} is not a file path; give the path of a PNG or JPEG file")
    if logo:
        path = Path(logo).expanduser()
        if not path.is_absolute() and base_dir is not None:
            path = (base_dir / path).resolve()
        if path.suffix.lower() not in _LOGO_SUFFIXES:
            fail("logo", f"{logo!r} is not a PNG or JPEG file; convert the logo to .png")
        if check_logo and not path.is_file():
            fail("logo", f"file {str(path)!r} does not exist; check the path (relative paths are read from the "
                         "folder of partners.yml) or remove the field")
        logo = str(path)

    rules_raw = raw.get("campaigns")
    if rules_raw is None or not isinstance(rules_raw, Mapping):
        fail("campaigns", "missing; say which campaigns are the partner's with ids, name_pattern, subject_pattern "
                          "and/or list_ids, e.g. {name_pattern: \"^ACME\"}")
    for key in rules_raw:
        if key not in RULE_FIELDS:
            fail(f"campaigns.{key}", f"unknown rule{_suggest(str(key), RULE_FIELDS)}")
    rules = CampaignRules(
        ids=_str_list(rules_raw.get("ids"), "campaigns.ids", fail),
        name_pattern=_pattern(rules_raw.get("name_pattern"), "campaigns.name_pattern", fail),
        subject_pattern=_pattern(rules_raw.get("subject_pattern"), "campaigns.subject_pattern", fail),
        list_ids=_str_list(rules_raw.get("list_ids"), "campaigns.list_ids", fail),
    )
    if not (rules.ids or rules.name_pattern or rules.subject_pattern or rules.list_ids):
        fail("campaigns", "no rule selects a campaign; give at least one of ids, name_pattern, subject_pattern, list_ids")

    default_range = raw.get("default_range", "last_quarter")
    if isinstance(default_range, Mapping):
        default_range = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in default_range.items()}
    try:
        resolve_range(default_range, date(2000, 6, 15))
    except ConfigError as exc:
        fail("default_range", str(exc).split(": ", 1)[-1])

    recipients = _str_list(raw.get("recipients"), "recipients", fail)
    for r in recipients:
        if not _EMAIL.match(r):
            fail("recipients", f"{r!r} is not an email address; give addresses like \"ops@example.com\"")

    delivery = raw.get("delivery", False)
    if isinstance(delivery, Mapping):  # {"enabled": true}, as octolib.ops.delivery also reads it
        delivery = delivery.get("enabled", False)
    if delivery is None:
        delivery = False
    if not isinstance(delivery, bool):
        fail("delivery", f"{delivery!r} is not true or false; write delivery: true to email scheduled reports")

    schedule = raw.get("schedule")
    if schedule not in (None, ""):
        _check_schedule(schedule, fail)
    else:
        schedule = None

    note = raw.get("note") or ""
    if not isinstance(note, str):
        fail("note", f"{note!r} is not text; write the note as a quoted string or a YAML block (|)")
    if len(note) > MAX_NOTE:
        fail("note", f"{len(note)} characters; keep the analyst note under {MAX_NOTE} characters")

    archived = raw.get("archived", False)
    if archived is None:
        archived = False
    if not isinstance(archived, bool):
        fail("archived", f"{archived!r} is not true or false; write archived: true to keep a partner out of runs")

    goal_links = _goal_links(raw.get("goal_links"), fail)

    return Partner(
        slug=slug, name=name.strip(), campaigns=rules, brand_colour=colour, logo=logo,
        default_range=default_range, recipients=recipients, note=note.strip(), delivery=delivery,
        schedule=schedule, archived=archived, goal_links=goal_links,
    )


#: At most this many goal link patterns per partner, each at most this long.
MAX_GOAL_LINKS, MAX_GOAL_LINK = 50, 500


def _goal_links(value: Any, fail: _Fail) -> tuple[str, ...]:
    """URL globs (``*`` any text, ``?`` one character; see :mod:`octolib.metrics.conversions`).

    A glob needs some literal text (``*`` alone would make every click a conversion) and no
    spaces (a URL has none); an unclosed ``[`` is refused, since it would match nothing.
    """
    patterns = _str_list(value, "goal_links", fail)
    if len(patterns) > MAX_GOAL_LINKS:
        fail("goal_links", f"{len(patterns)} patterns; give at most {MAX_GOAL_LINKS}")
    for p in patterns:
        if len(p) > MAX_GOAL_LINK or any(ch.isspace() for ch in p):
            fail("goal_links", f"{p!r} is not a URL pattern; write a glob without spaces (up to {MAX_GOAL_LINK} "
                               "characters), e.g. \"*acme.example/signup*\"")
        if len(re.sub(r"[*?\[\]!]", "", p)) < 3:
            fail("goal_links", f"{p!r} matches (nearly) every link; name the goal page, e.g. \"*acme.example/signup*\"")
        if p.count("[") != p.count("]"):
            fail("goal_links", f"{p!r} has an unmatched [ or ]; in a glob [abc] means one of a, b, c, "
                               "so write the link without brackets or use ? for that character")
    return patterns


def _check_schedule(schedule: Any, fail: _Fail) -> None:
    """A schedule the scheduler (octolib.ops.scheduler) can read, or a message with the fix."""
    when, templates = schedule, None
    if isinstance(schedule, Mapping):
        unknown = set(schedule) - {"when", "templates"}
        if unknown:
            fail("schedule", f"unknown keys {sorted(unknown)}; write {{when: \"first monday monthly\", templates: [...]}}")
        when, templates = schedule.get("when", ""), schedule.get("templates")
    if not isinstance(when, str):
        fail("schedule", f"{when!r} is not text; write e.g. \"first monday monthly at 07:30\" or a 5-field cron line")
    try:
        parse_schedule(when)
    except ConfigError as exc:
        fail("schedule", str(exc))
    if templates is not None:
        names = [templates] if isinstance(templates, str) else templates
        known = {t.name if hasattr(t, "name") else t for t in TEMPLATES}
        for name in names if isinstance(names, list) else [names]:
            if name not in known:
                fail("schedule.templates", f"{name!r} is not a template; choose from {sorted(known)}")


# -- which campaigns ---------------------------------------------------------------------

def campaign_query(partner: Partner) -> dict[str, Any]:
    """A MongoDB filter on ``campaigns`` selecting the partner's campaigns (any rule matches).

    Patterns are case-insensitive regular expressions, as in :func:`campaign_matches`.
    """
    rules = partner.campaigns
    ors: list[dict[str, Any]] = []
    if rules.ids:
        ors.append({"emailoctopus_id": {"$in": list(rules.ids)}})
    if rules.name_pattern:
        ors.append({"name": {"$regex": rules.name_pattern, "$options": "i"}})
    if rules.subject_pattern:
        ors.append({"subject": {"$regex": rules.subject_pattern, "$options": "i"}})
    if rules.list_ids:
        ors.append({"list_ids": {"$in": list(rules.list_ids)}})
    return {"$or": ors}


def partner_lists(partner: Partner) -> tuple[str, ...]:
    """The partner's lists: exactly its ``campaigns.list_ids`` (see "Scope" in the module doc).

    Never widened from the campaigns: a campaign sent to the partner's list and to another
    partner's list leaves the other list out. A rule-only partner has none.

    >>> p = validate_partner({"slug": "a", "name": "A", "campaigns": {"list_ids": ["l1"], "name_pattern": "^A"}})
    >>> partner_lists(p)
    ('l1',)
    >>> partner_lists(validate_partner({"slug": "b", "name": "B", "campaigns": {"subject_pattern": "b"}}))
    ()
    """
    return tuple(partner.campaigns.list_ids)


def campaign_matches(partner: Partner, campaign: Mapping[str, Any]) -> bool:
    """Whether one campaign document is the partner's (the same rules as :func:`campaign_query`).

    >>> p = validate_partner({"slug": "a", "name": "A", "campaigns": {"name_pattern": "^acme"}})
    >>> campaign_matches(p, {"name": "ACME spring", "subject": "x"})
    True
    >>> campaign_matches(p, {"name": "Spring ACME", "subject": "x"})
    False
    """
    rules = partner.campaigns
    if rules.ids and campaign.get("emailoctopus_id") in rules.ids:
        return True
    if rules.name_pattern and re.search(rules.name_pattern, campaign.get("name") or "", re.I):
        return True
    if rules.subject_pattern and re.search(rules.subject_pattern, campaign.get("subject") or "", re.I):
        return True
    if rules.list_ids and set(campaign.get("list_ids") or ()) & set(rules.list_ids):
        return True
    return False


# -- the partners collection ---------------------------------------------------------------

def _now() -> datetime:
    return datetime.now(timezone.utc)


def _from_document(doc: Mapping[str, Any]) -> Partner:
    return validate_partner(doc, check_logo=False, strict=False)


def save_partner(store: Store, partner: Partner | Mapping[str, Any], *, keep_note: bool = False,
                 now: datetime | None = None) -> Partner:
    """Insert or replace one partner (validated first). ``keep_note`` keeps the stored note."""
    if not isinstance(partner, Partner):
        partner = validate_partner(partner)
    doc = partner.as_document()
    if keep_note:
        doc.pop("note")
    when = now or _now()
    store.partners.update_one(
        {"slug": partner.slug},
        {"$set": {**doc, "updated_at": when}, "$setOnInsert": {"created_at": when, **({"note": ""} if keep_note else {})}},
        upsert=True,
    )
    return get_partner(store, partner.slug)


def get_partner(store: Store, slug: str) -> Partner:
    """The stored partner ``slug``; PartnerError listing the known slugs if there is none."""
    doc = store.partners.find_one({"slug": slug}, {"_id": 0})
    if doc is None:
        known = [d["slug"] for d in store.partners.find({}, {"slug": 1, "_id": 0}).sort("slug", 1)]
        hint = f"known partners: {', '.join(known)}" if known else "no partner is defined yet: import a partners.yml"
        raise PartnerError(f"partner {slug!r} does not exist; {hint} (octo report --import-partners partners.yml)")
    return _from_document(doc)


def list_partners(store: Store, *, include_archived: bool = False) -> list[Partner]:
    """The stored partners, by slug; archived ones only with ``include_archived`` (so
    ``--all``, the schedules and the builder leave them out)."""
    query: dict[str, Any] = {} if include_archived else {"archived": {"$ne": True}}
    return [_from_document(d) for d in store.partners.find(query, {"_id": 0}).sort("slug", 1)]


def set_archived(store: Store, slug: str, archived: bool = True) -> Partner:
    """Archive (or restore) a partner: its definition and past reports stay, but an archived
    partner is left out of ``octo report --all``, the schedules and the builder's list.
    Archive rather than delete, so a report can always be traced to its partner."""
    get_partner(store, slug)  # PartnerError naming the known slugs
    store.partners.update_one({"slug": slug}, {"$set": {"archived": bool(archived), "updated_at": _now()}})
    return get_partner(store, slug)


def delete_partner(store: Store, slug: str) -> bool:
    """Remove a partner definition (its past reports stay). True if it existed."""
    return store.partners.delete_one({"slug": slug}).deleted_count == 1


def set_note(store: Store, slug: str, note: str) -> Partner:
    """Replace the analyst note that every later report of the partner carries."""
    partner = get_partner(store, slug)
    updated = validate_partner({**partner.as_document(), "note": note}, check_logo=False, strict=False)
    store.partners.update_one({"slug": slug}, {"$set": {"note": updated.note, "updated_at": _now()}})
    return updated


# -- partners.yml ----------------------------------------------------------------------------

def load_partners_yaml(source: str | Path, *, check_logo: bool = True) -> list[tuple[Partner, bool]]:
    """Parse and validate a ``partners.yml`` (a path, or YAML text).

    Returns ``(partner, has_note)`` pairs; ``has_note`` is False when the entry had no
    ``note`` key (so an import keeps the stored note). Every entry is checked before any is
    used; the first problem raises :class:`PartnerError`, and duplicate slugs are refused.
    """
    import yaml

    base_dir: Path | None = None
    if isinstance(source, Path) or (isinstance(source, str) and "\n" not in source and source.endswith((".yml", ".yaml"))):
        path = Path(source)
        if not path.is_file():
            raise PartnerError(f"{path}: no such file; give the path of a partners.yml (see partners.example.yml)")
        text = path.read_text(encoding="utf-8")
        base_dir = path.resolve().parent
    else:
        text = str(source)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PartnerError(f"partners.yml is not valid YAML: {exc}") from None
    if isinstance(data, Mapping) and set(data) == {"partners"}:
        data = data["partners"]
    if data is None:
        data = []
    if not isinstance(data, list):
        raise PartnerError("partners.yml: expected a top-level 'partners:' list of partner entries")
    out: list[tuple[Partner, bool]] = []
    seen: dict[str, int] = {}
    for i, entry in enumerate(data):
        partner = validate_partner(entry, index=i, base_dir=base_dir, check_logo=check_logo)
        if partner.slug in seen:
            raise PartnerError(f"partners[{i}] ({partner.slug}).slug: already used by partners[{seen[partner.slug]}]; "
                               "slugs must be unique")
        seen[partner.slug] = i
        out.append((partner, isinstance(entry, Mapping) and "note" in entry))
    return out


def import_partners(store: Store, source: str | Path, *, prune: bool = False) -> list[Partner]:
    """Validate a whole ``partners.yml``, then upsert every entry.

    Nothing is written unless every entry is valid. Entries without ``note`` keep the
    stored note. ``prune=True`` also deletes stored partners missing from the file.
    """
    entries = load_partners_yaml(source)
    saved = [save_partner(store, p, keep_note=not has_note) for p, has_note in entries]
    if prune:
        keep = [p.slug for p, _ in entries]
        store.partners.delete_many({"slug": {"$nin": keep}})
    log.info("imported %d partner(s)", len(saved))
    return saved


def export_partners_yaml(store: Store) -> str:
    """Every stored partner as ``partners.yml`` text that :func:`import_partners` reads back."""
    import yaml

    entries = []
    for p in list_partners(store, include_archived=True):
        doc = p.as_document()
        entries.append({k: doc[k] for k in FIELDS
                        if doc.get(k) not in ("", [], {}, None, False) or k == "note"})
    return yaml.safe_dump({"partners": entries}, sort_keys=False, allow_unicode=True, width=100)


def partner_to_dict(partner: Partner) -> dict[str, Any]:
    """A JSON-friendly dict (for the report builder page)."""
    return asdict(partner)

