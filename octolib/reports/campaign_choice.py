"""Which campaigns a partner's custom report may hold: the partner's rules, then added or removed.

Why a rule and not a free pick: a report goes to a partner, and a partner sees only what
is theirs (DESIGN §2, "Partner scope"). An analyst may remove any of the partner's
campaigns, and may add a campaign the rules missed, but only one that is *nobody else's*:

- a campaign the partner's own rules match is always allowed;
- a campaign another stored partner's rules match is refused (naming no partner), even if
  the analyst means well: its name, subject and numbers are that partner's data;
- a campaign no partner's rules match (an unclaimed send, e.g. a one-off the rules' name
  pattern missed) may be added.

Lists are never widened by a choice: a report names only the partner's own lists
(:func:`octolib.reports.partners.partner_lists`), and counts any other list an added
campaign went to without naming it (``builders.common.lists_cell``).

A choice is checked before any kernel starts (the runner) and again where the report is
built (:func:`octolib.reports.kit.make_context`), so a hand-edited notebook parameter cannot
get around it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from octolib.errors import ConfigError
from octolib.reports.partners import Partner, campaign_matches, list_partners

if TYPE_CHECKING:
    from octolib.store import Store

__all__ = ["CampaignOption", "campaign_options", "check_campaign_ids", "ids_filter"]

_FIELDS = {"_id": 0, "emailoctopus_id": 1, "name": 1, "subject": 1, "list_ids": 1, "sent_at": 1, "status": 1}


@dataclass(frozen=True)
class CampaignOption:
    """One campaign an analyst can tick for ``partner``'s report; ``by_rules``: the rules pick it."""

    campaign_id: str
    name: str
    sent_at: Any
    by_rules: bool


def _claims(store: Store, partner: Partner) -> tuple[list[dict[str, Any]], list[Partner]]:
    campaigns = list(store.campaigns.find({}, _FIELDS))
    others = [p for p in list_partners(store) if p.slug != partner.slug]
    return campaigns, others


def campaign_options(store: Store, partner: Partner) -> list[CampaignOption]:
    """Every campaign ``partner``'s report may hold (its own, then unclaimed ones), newest first.

    What the report builder lists as checkboxes: ticked when the rules pick it.
    """
    campaigns, others = _claims(store, partner)
    out: list[CampaignOption] = []
    for c in campaigns:
        mine = campaign_matches(partner, c)
        if mine or not any(campaign_matches(o, c) for o in others):
            out.append(CampaignOption(str(c["emailoctopus_id"]), str(c.get("name") or c["emailoctopus_id"]),
                                      c.get("sent_at"), mine))
    with_dates = [o for o in out if o.sent_at is not None]
    with_dates.sort(key=lambda o: o.sent_at, reverse=True)
    return with_dates + [o for o in out if o.sent_at is None]


def check_campaign_ids(store: Store, partner: Partner, campaign_ids: Iterable[str] | None) -> tuple[str, ...] | None:
    """``campaign_ids`` if ``partner``'s report may hold each (see the module's rule); None for None.

    ConfigError, one line, naming the campaigns that are unknown or another partner's (never
    which partner's): nothing is run.
    """
    if campaign_ids is None:
        return None
    if isinstance(campaign_ids, str):
        raise ConfigError("campaign_ids must be a list of campaign ids, not one text")
    ids = tuple(dict.fromkeys(str(i) for i in campaign_ids))
    campaigns, others = _claims(store, partner)
    by_id = {str(c["emailoctopus_id"]): c for c in campaigns}
    unknown = [i for i in ids if i not in by_id]
    if unknown:
        raise ConfigError(f"no campaign {', '.join(unknown)} in the synced data; pick campaigns from the list")
    taken = [i for i in ids if not campaign_matches(partner, by_id[i])
             and any(campaign_matches(o, by_id[i]) for o in others)]
    if taken:
        names = ", ".join(repr(str(by_id[i].get("name") or i)) for i in taken)
        raise ConfigError(f"{names} belong{'s' if len(taken) == 1 else ''} to another partner's campaign rules, so "
                          f"{partner.name}'s report cannot hold {'it' if len(taken) == 1 else 'them'}")
    return ids


def ids_filter(campaign_ids: Sequence[str]) -> dict[str, Any]:
    """The ``campaigns`` filter of an explicit choice (an empty choice selects nothing)."""
    return {"emailoctopus_id": {"$in": list(campaign_ids)}}
