"""From the store to segment tables: which campaigns, who received them, what each did.

One row per (linked contact, campaign) pair among the campaign's recipients, with 0/1
counts ``delivered``, ``opened``, ``clicked``, ``clicked_without_open``, ``unsubscribed``
from ``engagement_events``, and the contact's customer's segment value.

Recipients: with ``OCTO_SYNC_SENT_EVENTS=1`` the campaign's ``sent`` events say exactly who
got it. Without them (the default) they are estimated as the contacts on the campaign's
lists who existed at the send time and are not pending, plus anyone with an event for it;
contacts who joined and left before the send are then counted as recipients who did not
act (they dilute every segment alike, so the comparison between segments holds).

Only linked contacts are analysed (``customer_id`` set); ``unlinked`` says how many
recipients were left out. Customer values stay in this process: what leaves it is the
:class:`~octolib.metrics.segments.SegmentTable` of groups of at least the minimum size.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np

from octolib.customers.source import CustomerSource
from octolib.metrics.segments import SegmentTable, band_codes, category_codes, quantile_edges, segment_table
from octolib.store.core import iter_batches
from octolib.vocabulary import SENT_STATUSES

__all__ = ["Selection", "Outcomes", "select_campaigns", "campaign_outcomes", "segment_tables"]

COUNTS = ("delivered", "opened", "clicked", "clicked_without_open", "unsubscribed")


@dataclass(frozen=True)
class Selection:
    """Which campaigns: explicit ids, a project, a partner, and/or a period (all given must hold)."""

    campaign_ids: tuple[str, ...] = ()
    project_id: str = ""
    partner: str = ""
    start: datetime | None = None
    end: datetime | None = None


@dataclass
class Outcomes:
    """Per (contact, campaign) rows for linked recipients (see the module docstring)."""

    customer_ids: list[str] = field(default_factory=list)
    counts: dict[str, np.ndarray] = field(default_factory=dict)
    campaigns: list[dict[str, Any]] = field(default_factory=list)
    unlinked: int = 0
    estimated: bool = True


def _aware(dt: Any) -> Any:
    if isinstance(dt, datetime) and dt.tzinfo is None:
        return dt.replace(tzinfo=timezone.utc)
    return dt


def select_campaigns(source: CustomerSource, selection: Selection) -> tuple[list[dict[str, Any]], tuple[str, ...]]:
    """The sent campaigns of ``selection`` and the lists a partner is limited to (``()`` = any)."""
    store = source.store
    query: dict[str, Any] = {"status": {"$in": list(SENT_STATUSES)}}
    lists: tuple[str, ...] = ()
    ands: list[dict[str, Any]] = []
    if selection.campaign_ids:
        ands.append({"emailoctopus_id": {"$in": list(selection.campaign_ids)}})
    if selection.project_id:
        ands.append({"project_id": selection.project_id})
    if selection.partner:
        from octolib.reports.partners import campaign_query, get_partner, partner_lists

        partner = get_partner(store, selection.partner)
        ands.append(campaign_query(partner))
        lists = partner_lists(partner)
    if ands:
        query = {"$and": [query, *ands]}
    fields = {"emailoctopus_id": 1, "name": 1, "subject": 1, "list_ids": 1, "sent_at": 1, "project_id": 1}
    camps = []
    for c in store.campaigns.find(query, fields):
        sent = _aware(c.get("sent_at"))
        if selection.start and (sent is None or sent < selection.start):
            continue
        if selection.end and (sent is None or sent >= selection.end):
            continue
        camps.append(c)
    camps.sort(key=lambda c: (_aware(c.get("sent_at")) or datetime.min.replace(tzinfo=timezone.utc)))
    return camps, lists


def campaign_outcomes(source: CustomerSource, selection: Selection) -> Outcomes:
    """Rows of (linked recipient, campaign) with their counts, for the selected campaigns."""
    store = source.store
    camps, partner_list_ids = select_campaigns(source, selection)
    out = Outcomes(campaigns=camps)
    cols: dict[str, list[int]] = {name: [] for name in COUNTS}
    for camp in camps:
        cid = camp["emailoctopus_id"]
        events: dict[str, set[str]] = {}
        for batch in iter_batches(store.engagement_events, {"campaign_id": cid}, {"contact_id": 1, "event_type": 1}):
            for ev in batch:
                events.setdefault(str(ev.get("event_type")), set()).add(str(ev["contact_id"]))
        list_ids = [lid for lid in (camp.get("list_ids") or []) if not partner_list_ids or lid in partner_list_ids]
        if not list_ids:
            continue
        contacts: dict[str, dict[str, Any]] = {}
        for batch in iter_batches(store.contacts, {"list_id": {"$in": list_ids}},
                                  {"emailoctopus_id": 1, "customer_id": 1, "created_at": 1, "status": 1}):
            for d in batch:
                contacts[str(d["emailoctopus_id"])] = d
        sent_at = _aware(camp.get("sent_at"))
        if events.get("sent"):
            recipients = events["sent"] & contacts.keys()
            out.estimated = False
        else:
            out.estimated = True
            acted = set().union(*events.values()) if events else set()
            recipients = {k for k, d in contacts.items()
                          if k in acted or (d.get("status") != "pending" and sent_at is not None
                                            and _aware(d.get("created_at")) is not None
                                            and _aware(d.get("created_at")) <= sent_at)}
        opened, clicked = events.get("opened", set()), events.get("clicked", set())
        bounced, unsub = events.get("bounced", set()), events.get("unsubscribed", set())
        for key in sorted(recipients):
            customer = contacts[key].get("customer_id")
            if not customer:
                out.unlinked += 1
                continue
            out.customer_ids.append(str(customer))
            delivered = key not in bounced
            cols["delivered"].append(int(delivered))
            cols["opened"].append(int(delivered and key in opened))
            cols["clicked"].append(int(delivered and key in clicked))
            cols["clicked_without_open"].append(int(delivered and key in clicked and key not in opened))
            cols["unsubscribed"].append(int(delivered and key in unsub))
    out.counts = {name: np.asarray(values, dtype=np.int64) for name, values in cols.items()}
    return out


def _customer_values(source: CustomerSource, ids: Iterable[str], fields: list[str]) -> dict[str, dict[str, Any]]:
    wanted = sorted(set(ids))
    values: dict[str, dict[str, Any]] = {}
    projection = {"_id": 1, **{f: 1 for f in fields}}
    for start in range(0, len(wanted), 500):
        for batch in iter_batches(source.customers, {"_id": {"$in": wanted[start:start + 500]}}, projection):
            for d in batch:
                values[str(d["_id"])] = d
    return values


def segment_tables(source: CustomerSource, outcomes: Outcomes, *, min_group: int = 10,
                   fields: Iterable[str] | None = None) -> list[SegmentTable]:
    """One :class:`SegmentTable` per segment field of the stored mapping (or ``fields``)."""
    mapping = source.mapping()
    if mapping is None:
        return []
    specs = [f for f in mapping.segment_fields if fields is None or f.name in set(fields)]
    values = _customer_values(source, outcomes.customer_ids, [f.name for f in specs])
    tables = []
    for spec in specs:
        raw = [values.get(cid, {}).get(spec.name) for cid in outcomes.customer_ids]
        if spec.kind == "number":
            numbers = np.array([np.nan if v is None else float(v) for v in raw], dtype=np.float64)
            edges = (np.asarray(spec.bands, dtype=np.float64) if isinstance(spec.bands, tuple)
                     else quantile_edges(_per_customer(numbers, outcomes.customer_ids), spec.quantiles))
            codes, labels = band_codes(numbers, edges)
        elif spec.kind == "date":
            codes, labels = category_codes([str(v)[:4] if v else None for v in raw])  # by year
        else:
            codes, labels = category_codes(raw)
        tables.append(segment_table(spec.name, codes, labels, outcomes.counts, min_group=min_group))
    return tables


def _per_customer(numbers: np.ndarray, customer_ids: list[str]) -> np.ndarray:
    """One value per customer (a customer on many campaigns must not weigh more in the quantiles)."""
    seen: dict[str, float] = {}
    for cid, v in zip(customer_ids, numbers):
        seen.setdefault(cid, float(v))
    return np.asarray(list(seen.values()), dtype=np.float64)


