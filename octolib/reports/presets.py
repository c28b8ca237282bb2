"""A partner's preset: the custom report an analyst saved, so next month's report is one click.

A preset is parameters, never a template: which template, which sections in which order,
how campaigns are chosen, and the analyst note. It is stored with the partner (the
``preset`` field of its ``partners`` document), and it is what scheduled runs, ``octo report
--all`` and ``octo report --partner SLUG`` (without ``--template``) make for that partner
(:func:`octolib.reports.runner.requests_for`).

How campaigns are chosen, so a monthly report picks up next month's campaigns:

- ``rules``: the partner's campaign rules at run time, minus the campaigns the analyst
  unticked (``remove``), plus the ones they ticked beyond the rules (``add``); a new campaign
  the rules match comes in by itself. The additions are re-checked against
  :mod:`octolib.reports.campaign_choice` at every run (another partner may claim one later).
- ``fixed``: exactly ``ids`` (a one-off selection that should never grow).

The stored document::

    "preset": {"template": "campaign_summary", "sections": ["summary", "kpis", "campaigns", ...] | null,
               "campaigns": {"policy": "rules" | "fixed", "add": [...], "remove": [...], "ids": [...]},
               "note": "..." | null, "saved_by": "analyst", "saved_at": datetime}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from octolib.errors import ConfigError
from octolib.reports.campaign_choice import check_campaign_ids
from octolib.reports.partners import Partner, campaign_query, get_partner
from octolib.reports.templates import template_info

if TYPE_CHECKING:
    from octolib.store import Store

__all__ = ["POLICIES", "CampaignChoice", "Preset", "choice_from_selection", "rule_campaign_ids", "save_preset",
           "get_preset", "delete_preset", "preset_parameters"]

#: How a preset chooses campaigns (see the module docstring).
POLICIES = ("rules", "fixed")


@dataclass(frozen=True)
class CampaignChoice:
    """How a preset picks campaigns: ``rules`` (+ ``add`` - ``remove``) or ``fixed`` ``ids``."""

    policy: str = "rules"
    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise ConfigError(f"campaign policy {self.policy!r} is unknown; use one of: {', '.join(POLICIES)}")

    @property
    def is_plain_rules(self) -> bool:
        """The partner's rules as they are (no explicit ``campaign_ids`` parameter needed)."""
        return self.policy == "rules" and not self.add and not self.remove

    def resolve(self, store: Store, partner: Partner) -> tuple[str, ...] | None:
        """The campaign ids for a run now (None: the partner's rules unchanged), checked."""
        if self.is_plain_rules:
            return None
        if self.policy == "fixed":
            ids: Sequence[str] = self.ids
        else:
            removed = set(self.remove)
            ids = [i for i in rule_campaign_ids(store, partner) if i not in removed]
            ids += [i for i in self.add if i not in ids]
        return check_campaign_ids(store, partner, ids)

    def as_dict(self) -> dict[str, Any]:
        return {"policy": self.policy, "add": list(self.add), "remove": list(self.remove), "ids": list(self.ids)}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any] | None) -> "CampaignChoice":
        raw = raw or {}
        return cls(str(raw.get("policy", "rules")), tuple(map(str, raw.get("add") or ())),
                   tuple(map(str, raw.get("remove") or ())), tuple(map(str, raw.get("ids") or ())))


@dataclass(frozen=True)
class Preset:
    """A partner's saved custom report (parameters only)."""

    template: str
    sections: tuple[str, ...] | None = None
    campaigns: CampaignChoice = field(default_factory=CampaignChoice)
    note: str | None = None
    saved_by: str = ""
    saved_at: datetime | None = None

    def as_document(self) -> dict[str, Any]:
        return {"template": self.template, "sections": None if self.sections is None else list(self.sections),
                "campaigns": self.campaigns.as_dict(), "note": self.note, "saved_by": self.saved_by,
                "saved_at": self.saved_at}

    @classmethod
    def from_document(cls, raw: Mapping[str, Any]) -> "Preset":
        sections = raw.get("sections")
        return cls(str(raw.get("template", "")), None if sections is None else tuple(map(str, sections)),
                   CampaignChoice.from_dict(raw.get("campaigns")), raw.get("note"), str(raw.get("saved_by", "")),
                   raw.get("saved_at"))


def rule_campaign_ids(store: Store, partner: Partner) -> list[str]:
    """The ids of the campaigns ``partner``'s rules select now."""
    return [str(d["emailoctopus_id"]) for d in store.campaigns.find(campaign_query(partner),
                                                                   {"_id": 0, "emailoctopus_id": 1})]


def choice_from_selection(store: Store, partner: Partner, selected: Iterable[str], policy: str = "rules") -> CampaignChoice:
    """The :class:`CampaignChoice` of the campaigns an analyst ticked: as differences from the
    rules (``rules``: so later campaigns the rules match come in) or as they are (``fixed``)."""
    chosen = list(dict.fromkeys(map(str, selected)))
    if policy == "fixed":
        return CampaignChoice("fixed", ids=tuple(chosen))
    rules = rule_campaign_ids(store, partner)
    ticked = set(chosen)
    return CampaignChoice("rules", add=tuple(i for i in chosen if i not in set(rules)),
                          remove=tuple(i for i in rules if i not in ticked))


def _check(store: Store, partner: Partner, preset: Preset) -> None:
    info = template_info(preset.template)
    if preset.sections is not None:
        info.check_sections(preset.sections)
    preset.campaigns.resolve(store, partner)


def save_preset(store: Store, slug: str, preset: Preset, *, user: str = "", now: datetime | None = None) -> Preset:
    """Check ``preset`` against the template and the partner (campaign rule included), then
    store it with the partner, replacing any earlier one. Nothing is stored when it is not valid."""
    partner = get_partner(store, slug)
    _check(store, partner, preset)
    when = now or datetime.now(timezone.utc)
    when = when.replace(microsecond=when.microsecond // 1000 * 1000)  # what MongoDB keeps (milliseconds)
    saved = Preset(preset.template, preset.sections, preset.campaigns, preset.note, user, when)
    store.partners.update_one({"slug": slug}, {"$set": {"preset": saved.as_document()}})
    return saved


def get_preset(store: Store, slug: str) -> Preset | None:
    """The partner's preset, or None (the partner must exist)."""
    doc = store.partners.find_one({"slug": slug}, {"_id": 0, "preset": 1})
    if doc is None:
        get_partner(store, slug)  # the one message for an unknown slug
    raw = (doc or {}).get("preset")
    return Preset.from_document(raw) if raw else None


def delete_preset(store: Store, slug: str) -> bool:
    """Forget the partner's preset (its reports go back to every template). True if it had one."""
    return store.partners.update_one({"slug": slug, "preset": {"$exists": True}},
                                     {"$unset": {"preset": ""}}).modified_count == 1


def preset_parameters(store: Store, partner: Partner, preset: Preset) -> dict[str, Any]:
    """The template parameters of a run of ``preset`` now (only the ones it sets)."""
    params: dict[str, Any] = {}
    if preset.sections is not None:
        params["sections"] = list(preset.sections)
    ids = preset.campaigns.resolve(store, partner)
    if ids is not None:
        params["campaign_ids"] = list(ids)
    if preset.note is not None:
        params["note"] = preset.note
    return params
