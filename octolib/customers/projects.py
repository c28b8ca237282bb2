"""Link campaigns to energy projects: ``campaigns.project_id``.

By rules (``project_rules``, set by ``octo projects import``: ids, name/subject patterns,
list ids, as partner rules are) and by hand (an analyst picks the project for one campaign;
recorded as ``project_link = {by: "hand", actor, at}``). A hand link always wins over the
rules and survives every re-run; a campaign two projects' rules both claim is left unlinked
and reported, as an ambiguous contact is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from pymongo import UpdateOne

from octolib.customers.source import CustomerSource
from octolib.errors import ConfigError

__all__ = ["ProjectLinkReport", "rule_matches", "link_projects", "set_campaign_project", "project_names"]


@dataclass
class ProjectLinkReport:
    campaigns: int = 0
    by_rule: int = 0
    by_hand: int = 0
    ambiguous: list[str] = field(default_factory=list)  # campaign ids claimed by two projects
    changed: int = 0

    def render(self) -> str:
        text = (f"{self.campaigns} campaigns: {self.by_rule} linked to a project by rule, {self.by_hand} by hand, "
                f"{len(self.ambiguous)} claimed by two projects (not linked); {self.changed} changed")
        return text


def rule_matches(rules: Mapping[str, Any], campaign: Mapping[str, Any]) -> bool:
    """Whether a campaign document is selected by one project's rules (any rule matches).

    >>> rule_matches({"subject_pattern": "heat pump"}, {"subject": "Your Heat Pump survey"})
    True
    >>> rule_matches({"ids": ["c1"]}, {"emailoctopus_id": "c2", "subject": "x"})
    False
    """
    if campaign.get("emailoctopus_id") in (rules.get("ids") or ()):
        return True
    if rules.get("name_pattern") and re.search(rules["name_pattern"], campaign.get("name") or "", re.I):
        return True
    if rules.get("subject_pattern") and re.search(rules["subject_pattern"], campaign.get("subject") or "", re.I):
        return True
    return bool(set(campaign.get("list_ids") or ()) & set(rules.get("list_ids") or ()))


def link_projects(source: CustomerSource) -> ProjectLinkReport:
    """Set ``project_id`` on campaigns from the stored rules; hand links are kept."""
    store = source.store
    rules = [(str(d["_id"]), d.get("rules") or {}) for d in store.project_rules.find({})]
    report = ProjectLinkReport()
    ops: list[UpdateOne] = []
    fields = {"emailoctopus_id": 1, "name": 1, "subject": 1, "list_ids": 1, "project_id": 1, "project_link": 1}
    for camp in store.campaigns.find({}, fields):
        report.campaigns += 1
        if (camp.get("project_link") or {}).get("by") == "hand":
            report.by_hand += 1
            continue
        claims = [pid for pid, r in rules if rule_matches(r, camp)]
        target = claims[0] if len(claims) == 1 else None
        if len(claims) > 1:
            report.ambiguous.append(camp["emailoctopus_id"])
        if target is not None:
            report.by_rule += 1
        if camp.get("project_id") != target:
            update = ({"$set": {"project_id": target, "project_link": {"by": "rule"}}} if target
                      else {"$unset": {"project_id": "", "project_link": ""}})
            ops.append(UpdateOne({"_id": camp["_id"]}, update))
    if ops:
        store.campaigns.bulk_write(ops, ordered=False)
    report.changed = len(ops)
    return report


def set_campaign_project(source: CustomerSource, campaign_id: str, project_id: str | None, *, actor: str,
                         now: datetime | None = None) -> None:
    """An analyst links one campaign to a project by hand (or, with ``None``, unlinks it).

    Recorded with who and when on the campaign (``project_link``); a hand link wins over rules.
    """
    store = source.store
    if store.campaigns.find_one({"emailoctopus_id": campaign_id}, {"_id": 1}) is None:
        raise ConfigError(f"no campaign {campaign_id!r} in the store")
    when = now or datetime.now(timezone.utc)
    if project_id is None:
        store.campaigns.update_one({"emailoctopus_id": campaign_id},
                                   {"$set": {"project_link": {"by": "hand", "actor": actor, "at": when}},
                                    "$unset": {"project_id": ""}})
        return
    if source.projects.find_one({"_id": project_id}, {"_id": 1}) is None:
        raise ConfigError(f"no project {project_id!r}; known: {', '.join(sorted(project_names(source))) or 'none'}")
    store.campaigns.update_one({"emailoctopus_id": campaign_id},
                               {"$set": {"project_id": project_id,
                                         "project_link": {"by": "hand", "actor": actor, "at": when}}})


def project_names(source: CustomerSource) -> dict[str, str]:
    """``{project id: name}`` of every project (for menus)."""
    return {str(d["_id"]): str(d.get("name") or d["_id"]) for d in source.projects.find({}, {"_id": 1, "name": 1})}
