"""The sync's labelling step: each stored open and click gets ``automated`` (issue 14).

Why here: detection needs a whole campaign's events at once (bursts, same-second clicks, a
click before the contact's open), so it runs after a campaign's per-contact reports are
stored (:func:`octolib.sync.derived.finish_campaigns`), never while rows arrive. The rules
are :func:`octolib.metrics.automation.detect_automation`; this module only turns stored
documents into its arrays and writes the answer back:

* ``engagement_events.automated``: ``None``, ``"machine_open"`` or ``"bot_click"`` on every
  ``opened``/``clicked`` event (events are never deleted; a label is overwritten only when it
  changes);
* ``campaigns.current_metrics`` (and so the snapshot) gets the counts of
  :data:`AUTOMATION_COUNTS`, from which the human rates of :data:`octolib.metrics.RATES` are
  made;
* ``campaigns.automation_fingerprint``: the rules' version and thresholds the labels rest on.
  A campaign whose fingerprint differs from the current one (a threshold setting changed, a
  rule was improved, a store labelled before this step existed) is relabelled at the next
  sync (:func:`stale_campaigns`), with no new API request.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
from pymongo import UpdateOne

from octolib.config import Settings
from octolib.metrics.rate_specs import AUTOMATION_COUNT_NAMES
from octolib.metrics.automation import BOT_CLICK, MACHINE_OPEN, AutomationThresholds, detect_automation
from octolib.store import Store, iter_batches
from octolib.sync.documents import REPORTABLE_STATUSES

__all__ = [
    "AUTOMATION_COUNTS",
    "label_events",
    "automation_counts",
    "label_campaign",
    "stale_campaigns",
    "carried_automation",
    "automation_thresholds",
]

#: Per campaign, counted from its labelled events (unique contacts):
#: ``opened_automated``/``clicked_automated`` the opens/clicks labelled automated,
#: ``opened_human``/``clicked_human`` the others, ``clicked_without_open_human`` contacts with a
#: human click and no human open (images blocked, or the open was a proxy's).
AUTOMATION_COUNTS: tuple[str, ...] = AUTOMATION_COUNT_NAMES


def _seconds(value: Any) -> float:
    """Epoch seconds of a stored time (naive = UTC, as the embedded store returns it); NaN if none."""
    if not isinstance(value, datetime):
        return float("nan")
    if value.tzinfo is None:
        return float(calendar.timegm(value.timetuple())) + value.microsecond / 1e6
    return value.timestamp()


def label_events(events: Sequence[Mapping[str, Any]], sent_at: Mapping[str, Any],
                 thresholds: AutomationThresholds | None = None) -> list[str | None]:
    """The ``automated`` label of each ``opened``/``clicked`` event document (others: ``None``).

    ``sent_at`` maps a campaign id to its send time (a datetime, or ``None`` if unknown).
    """
    kinds = [ev.get("event_type") for ev in events]
    keep = [i for i, k in enumerate(kinds) if k in ("opened", "clicked")]
    out: list[str | None] = [None] * len(events)
    if not keep:
        return out
    camp_codes: dict[str, int] = {}
    who_codes: dict[str, int] = {}
    camp = np.fromiter((camp_codes.setdefault(str(events[i]["campaign_id"]), len(camp_codes)) for i in keep),
                       dtype=np.int64, count=len(keep))
    who = np.fromiter((who_codes.setdefault(str(events[i]["contact_id"]), len(who_codes)) for i in keep),
                      dtype=np.int64, count=len(keep))
    click = np.array([kinds[i] == "clicked" for i in keep], dtype=bool)
    t = np.array([_seconds(events[i].get("occurred_at")) for i in keep], dtype=np.float64)
    sent = np.array([_seconds(sent_at.get(str(events[i]["campaign_id"]))) for i in keep], dtype=np.float64)
    labels = detect_automation(camp, who, click, t, sent, thresholds).labels
    for j, i in enumerate(keep):
        out[i] = labels[j]
    return out


def automation_counts(events: Sequence[Mapping[str, Any]], labels: Sequence[str | None]) -> dict[str, int]:
    """:data:`AUTOMATION_COUNTS` of one campaign's events and their labels.

    >>> evs = [{"contact_id": "a", "event_type": "opened"}, {"contact_id": "a", "event_type": "clicked"},
    ...        {"contact_id": "b", "event_type": "clicked"}]
    >>> automation_counts(evs, ["machine_open", None, None])["clicked_without_open_human"]
    2
    """
    human_open: set[str] = set()
    human_click: set[str] = set()
    auto_open = auto_click = 0
    for ev, label in zip(events, labels):
        kind, who = ev.get("event_type"), str(ev.get("contact_id"))
        if kind == "opened":
            if label == MACHINE_OPEN:
                auto_open += 1
            else:
                human_open.add(who)
        elif kind == "clicked":
            if label == BOT_CLICK:
                auto_click += 1
            else:
                human_click.add(who)
    return {
        "opened_automated": auto_open,
        "clicked_automated": auto_click,
        "opened_human": len(human_open),
        "clicked_human": len(human_click),
        "clicked_without_open_human": len(human_click - human_open),
    }


def label_campaign(store: Store, campaign_id: str, thresholds: AutomationThresholds | None = None) -> dict[str, int]:
    """Label one campaign's stored opens and clicks, store the counts and the fingerprint.

    Returns the counts plus ``relabelled`` (events whose label changed). Only the campaign is
    queried (see :func:`octolib.sync.derived.count_clicked_without_open` for why not
    ``event_type``).
    """
    th = thresholds or AutomationThresholds()
    doc = store.campaigns.find_one({"emailoctopus_id": campaign_id}, {"_id": 0, "sent_at": 1})
    sent_at = {campaign_id: (doc or {}).get("sent_at")}
    fields = {"_id": 1, "campaign_id": 1, "contact_id": 1, "event_type": 1, "occurred_at": 1, "automated": 1}
    events = [d for batch in iter_batches(store.engagement_events, {"campaign_id": campaign_id}, fields)
              for d in batch if d.get("event_type") in ("opened", "clicked")]
    labels = label_events(events, sent_at, th)
    ops = [UpdateOne({"_id": ev["_id"]}, {"$set": {"automated": label}})
           for ev, label in zip(events, labels) if ev.get("automated", "missing") != label]
    if ops:
        store.engagement_events.bulk_write(ops, ordered=False)
    counts = automation_counts(events, labels)
    store.campaigns.update_one(
        {"emailoctopus_id": campaign_id},
        {"$set": {**{f"current_metrics.{k}": v for k, v in counts.items()},
                  "automation_fingerprint": th.fingerprint()}},
    )
    return dict(counts, relabelled=len(ops))


def stale_campaigns(store: Store, thresholds: AutomationThresholds | None = None) -> list[str]:
    """Reportable campaigns whose labels rest on other rules or thresholds (or none)."""
    fingerprint = (thresholds or AutomationThresholds()).fingerprint()
    query = {"status": {"$in": sorted(REPORTABLE_STATUSES)}}
    return [d["emailoctopus_id"] for b in iter_batches(store.campaigns, query,
                                                         {"_id": 0, "emailoctopus_id": 1, "automation_fingerprint": 1})
            for d in b if d.get("automation_fingerprint") != fingerprint]


def carried_automation(old_metrics: Mapping[str, Any] | None) -> dict[str, int]:
    """The stored counts of :data:`AUTOMATION_COUNTS`, kept with a campaign's new summary
    until its events are labelled again (none before they ever were: human rates unknown)."""
    if not isinstance(old_metrics, Mapping):
        return {}
    return {k: int(old_metrics[k]) for k in AUTOMATION_COUNTS if isinstance(old_metrics.get(k), int)}


def automation_thresholds(settings: Settings) -> AutomationThresholds:
    """The thresholds the ``OCTO_AUTOMATION_*`` settings name (defaults documented in the README)."""
    return AutomationThresholds(
        instant_s=settings.automation_instant_s, send_window_s=settings.automation_send_window_s,
        burst_s=settings.automation_burst_s, open_burst=settings.automation_open_burst,
        click_burst=settings.automation_click_burst, same_second=settings.automation_same_second,
        click_before_open_s=settings.automation_click_before_open_s,
    )
