"""Counts the sync derives from the per-contact events, and the snapshot that waits for them.

Why: EmailOctopus's summary counts unique opens and unique clicks separately, so a contact
whose client blocked images can click without a recorded open, and clicks ÷ opens can
exceed 100 %. The rate table (:data:`octolib.metrics.RATES`) counts such a contact as an
opener; that needs ``clicked_without_open`` (contacts with a ``clicked`` event and no
``opened`` event in the campaign), which only the per-contact reports can give.

So a campaign whose summary changed gets its snapshot when its per-contact reports are read
(:func:`finish_campaigns`), not before: a snapshot never mixes new summary counts with an
old ``clicked_without_open``. The count is kept on ``campaigns.current_metrics`` and in the
snapshot's ``metrics``, where every surface (pages, PDFs, exports) reads the same number.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from octolib.metrics.automation import AutomationThresholds
from octolib.metrics.rate_specs import disagreeing
from octolib.store import Store, iter_batches
from octolib.sync.automation import AUTOMATION_COUNTS, label_campaign
from octolib.sync.reconcile import Difference, describe, events_of, read_campaign_events, reconcile_campaign
from octolib.sync.writers import Counts, save_metric_snapshots

__all__ = ["clicked_without_open", "count_clicked_without_open", "carried_clicked_without_open", "finish_campaigns"]

log = logging.getLogger(__name__)


def clicked_without_open(events: Iterable[Mapping[str, Any]]) -> int:
    """Contacts with a ``clicked`` event and no ``opened`` event, among one campaign's events.

    >>> clicked_without_open([{"contact_id": "a", "event_type": "clicked"},
    ...                       {"contact_id": "b", "event_type": "clicked"},
    ...                       {"contact_id": "b", "event_type": "opened"}])
    1
    """
    return events_of(events).clicked_without_open  # one reading of a campaign's events (reconcile)


def count_clicked_without_open(store: Store, campaign_id: str) -> int:
    """:func:`clicked_without_open` over the stored events of ``campaign_id``.

    Only the campaign is queried; other event types are skipped in Python: a query on
    ``event_type`` makes the embedded store copy the set of every event of that type (most of
    the collection), so each campaign would cost as much as the whole account.
    """
    query = {"campaign_id": campaign_id}
    events = (d for batch in iter_batches(store.engagement_events, query,
                                          {"_id": 0, "contact_id": 1, "event_type": 1}) for d in batch)
    return clicked_without_open(events)


def carried_clicked_without_open(store: Store, campaign_id: str, old_metrics: Mapping[str, Any] | None) -> int:
    """The count to keep with a campaign's new summary until its reports are read again.

    The stored one when there is one; otherwise (a store synced before this count existed)
    counted from the events already stored, so old campaigns get it without a full sync.
    """
    if isinstance(old_metrics, Mapping) and isinstance(old_metrics.get("clicked_without_open"), int):
        return int(old_metrics["clicked_without_open"])
    if not old_metrics:
        return 0  # a new campaign: no events stored yet
    return count_clicked_without_open(store, campaign_id)


def finish_campaigns(store: Store, campaign_ids: Sequence[str], now: datetime, run_id: Any,
                     automation: AutomationThresholds | None = None,
                     on_reconciled: Callable[[str, str, list[Difference]], None] | None = None,
                     ) -> tuple[Counts, list[str]]:
    """Count ``clicked_without_open`` of campaigns whose reports are read, reconcile their three
    views (:mod:`octolib.sync.reconcile`), label their automated opens and clicks
    (:func:`octolib.sync.automation.label_campaign`, with the ``automation`` thresholds), then
    snapshot them.

    Returns the snapshot counts and one warning per campaign whose rates still exceed
    100 % or whose views differ (its inputs disagree: shown as they are, and said here).
    ``on_reconciled(campaign_id, name, differences)`` is called for each campaign checked.
    """
    metrics: dict[str, dict[str, Any]] = {}
    warnings = []
    for cid in campaign_ids:
        doc = store.campaigns.find_one({"emailoctopus_id": cid}, {"_id": 0, "current_metrics": 1, "name": 1})
        current = (doc or {}).get("current_metrics")
        if not isinstance(current, dict):
            continue
        events = read_campaign_events(store, cid)  # one read serves both the count and the checks
        n = events.clicked_without_open
        differences = reconcile_campaign(store, cid, current, events, now, run_id)
        if differences:
            warnings.append(f"campaign {cid} ({(doc or {}).get('name') or '?'}): the reports disagree: "
                            f"{describe([d.as_dict() for d in differences])}")
        if on_reconciled is not None:
            on_reconciled(cid, str((doc or {}).get("name") or ""), differences)
        if current.get("clicked_without_open") != n:
            store.campaigns.update_one({"emailoctopus_id": cid}, {"$set": {"current_metrics.clicked_without_open": n}})
        counts = {k: v for k, v in current.items() if k != "last_updated"}
        counts["clicked_without_open"] = n
        labelled = label_campaign(store, cid, automation)
        counts.update({k: labelled[k] for k in AUTOMATION_COUNTS})
        metrics[cid] = counts
        bad = disagreeing(counts)
        if bad:
            warnings.append(f"campaign {cid}: {', '.join(bad)} above 100% (the summary and the per-contact reports "
                            "disagree); shown as is")
    for text in warnings:
        log.warning("%s", text)
    return save_metric_snapshots(store, metrics, now, run_id), warnings
