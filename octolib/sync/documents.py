"""API models -> MongoDB documents (DESIGN.md §3 field names). Pure functions, no I/O.

Keeping the mapping in one place means the writers, the tests and anyone reading the
store agree on what each field holds:

- ``campaigns``: ``emailoctopus_id, name, subject, status, from_name, from_email, list_ids,
  created_at, sent_at`` and ``current_metrics`` (see :func:`metrics_from_summary`, plus
  ``clicked_without_open``, counted from the events by :mod:`octolib.sync.derived`); the HTML
  body is not stored (trap T16: it is large and the analytics do not need it).
- ``lists``: ``emailoctopus_id, name, double_opt_in, fields [{tag, type, label, fallback}]``
  (plus ``choices`` on choice fields), ``counts {subscribed, unsubscribed, pending}``,
  ``created_at``, and also ``tags`` and ``last_updated_at`` as the API sends them, and
  ``deleted_at``: null, or when the sync got a 404 for the list (it is then skipped until
  ``GET /lists`` shows it again).
- ``contacts``: ``list_id, emailoctopus_id, email, status, fields, tags, created_at,
  last_updated_at``; the engagement summary (``opens, clicks, last_opened_at,
  last_clicked_at``) is computed from ``engagement_events`` by the sync, never from the API.
- ``engagement_events``: one per (campaign_id, contact_id, event_type), see :func:`event_docs`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from octolib.api.models import Campaign, CampaignSummary, Contact, LinkStat, MailList, ReportRow
from octolib.metrics.rate_specs import rate_values
from octolib.vocabulary import EVENT_TYPES, SENT_STATUSES

__all__ = [
    "REPORTABLE_STATUSES",
    "EVENT_TYPES",
    "campaign_doc",
    "metrics_from_summary",
    "metric_rates",
    "list_doc",
    "contact_doc",
    "link_doc",
    "event_docs",
    "summary_from_events",
    "SUMMARY_FIELDS",
]

#: Campaign statuses that have reports (:data:`octolib.vocabulary.SENT_STATUSES`).
REPORTABLE_STATUSES = SENT_STATUSES

#: The contact fields the sync derives from ``engagement_events``.
SUMMARY_FIELDS: tuple[str, ...] = ("opens", "clicks", "last_opened_at", "last_clicked_at")


def campaign_doc(c: Campaign) -> dict[str, Any]:
    """The campaign's own fields (``current_metrics`` is added by the sync when it has a report)."""
    return {
        "emailoctopus_id": c.id,
        "name": c.name,
        "subject": c.subject,
        "status": c.status,
        "from_name": c.from_name,
        "from_email": c.from_email,
        "list_ids": list(c.to),
        "created_at": c.created_at,
        "sent_at": c.sent_at,
    }


def metrics_from_summary(s: CampaignSummary) -> dict[str, int]:
    """``current_metrics`` counts from a summary report (seed names kept, details added).

    ``opened``/``clicked`` are unique counts, ``*_total`` every event; ``bounced`` is hard +
    soft; ``delivered`` = sent - bounced (the API has no such field, API_NOTES §12);
    ``spam_complaints`` is the API's ``complained``.

    >>> from octolib.api.models import CampaignSummary
    >>> s = CampaignSummary("k", 200, 10, 5, 110, 85, 30, 22, 1, 3, raw={})
    >>> m = metrics_from_summary(s); (m["delivered"], m["bounced"], m["opened"], m["clicked_total"])
    (185, 15, 85, 30)
    """
    bounced = s.bounced_hard + s.bounced_soft
    return {
        "sent": s.sent,
        "delivered": max(0, s.sent - bounced),
        "opened": s.opened_unique,
        "opened_total": s.opened_total,
        "clicked": s.clicked_unique,
        "clicked_total": s.clicked_total,
        "bounced": bounced,
        "bounced_hard": s.bounced_hard,
        "bounced_soft": s.bounced_soft,
        "unsubscribed": s.unsubscribed,
        "spam_complaints": s.complained,
    }


def metric_rates(m: Mapping[str, int]) -> dict[str, float | None]:
    """Rates stored with each snapshot: every row of :data:`octolib.metrics.RATES` applied
    to the snapshot's counts, ``None`` where the denominator is 0 (nothing delivered).

    The same function as the dashboards and PDFs, so a snapshot can never disagree with
    them; a value above 1 is kept (the counts disagree) and the sync warns about it.

    >>> metric_rates({"sent": 10, "delivered": 8, "opened": 4, "clicked": 1, "bounced": 2,
    ...               "unsubscribed": 0, "spam_complaints": 0})["open_rate"]
    0.5
    >>> metric_rates({"sent": 0, "delivered": 0, "opened": 0, "clicked": 0, "bounced": 0,
    ...               "unsubscribed": 0, "spam_complaints": 0})["open_rate"] is None
    True
    """
    return rate_values(m)


def list_doc(lst: MailList) -> dict[str, Any]:
    fields = []
    for f in lst.fields:
        item: dict[str, Any] = {"tag": f.tag, "type": f.type, "label": f.label, "fallback": f.fallback}
        if f.choices:
            item["choices"] = list(f.choices)
        fields.append(item)
    return {
        "emailoctopus_id": lst.id,
        "name": lst.name,
        "double_opt_in": lst.double_opt_in,
        "fields": fields,
        "tags": list(lst.tags),
        "counts": {
            "subscribed": lst.counts.subscribed,
            "unsubscribed": lst.counts.unsubscribed,
            "pending": lst.counts.pending,
        },
        "created_at": lst.created_at,
        "last_updated_at": lst.last_updated_at,
        "deleted_at": None,
    }


def contact_doc(c: Contact) -> dict[str, Any]:
    return {
        "list_id": c.list_id,
        "emailoctopus_id": c.id,
        "email": c.email_address,
        "status": c.status,
        "fields": dict(c.fields),
        "tags": list(c.tags),
        "created_at": c.created_at,
        "last_updated_at": c.last_updated_at,
    }


def link_doc(campaign_id: str, link: LinkStat) -> dict[str, Any]:
    return {
        "campaign_id": campaign_id,
        "url": link.url,
        "clicked_total": link.clicked_total,
        "clicked_unique": link.clicked_unique,
    }


def event_docs(campaign_id: str, event_type: str, rows: Iterable[ReportRow]) -> list[dict[str, Any]]:
    """One document per contact from the rows of one campaign report status.

    The API may send one row per contact or one per raw event (API_NOTES §4.5, unknown), so
    rows of one contact are folded: ``occurred_at`` is the first time, ``last_occurred_at``
    the last, ``count`` the number of rows. A row without a time keeps ``occurred_at`` null.
    """
    folded: dict[str, dict[str, Any]] = {}
    for row in rows:
        doc = folded.get(row.contact_id)
        when = row.occurred_at
        if doc is None:
            folded[row.contact_id] = {
                "campaign_id": campaign_id,
                "contact_id": row.contact_id,
                "event_type": event_type,
                "occurred_at": when,
                "last_occurred_at": when,
                "count": 1,
            }
            continue
        doc["count"] += 1
        if when is not None:
            if doc["occurred_at"] is None or when < doc["occurred_at"]:
                doc["occurred_at"] = when
            if doc["last_occurred_at"] is None or when > doc["last_occurred_at"]:
                doc["last_occurred_at"] = when
    return list(folded.values())


def summary_from_events(events: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """The engagement summary per contact id from its ``opened``/``clicked`` events.

    ``opens``/``clicks`` add up the events' ``count`` (one per campaign opened, unless the API
    sends a row per raw event); ``last_opened_at``/``last_clicked_at`` are the latest times.
    """
    out: dict[str, dict[str, Any]] = {}
    for ev in events:
        kind = ev.get("event_type")
        if kind not in ("opened", "clicked"):
            continue
        s = out.setdefault(str(ev["contact_id"]), {"opens": 0, "clicks": 0, "last_opened_at": None,
                                                   "last_clicked_at": None})
        n = int(ev.get("count") or 1)
        when = ev.get("last_occurred_at") or ev.get("occurred_at")
        count_key, time_key = ("opens", "last_opened_at") if kind == "opened" else ("clicks", "last_clicked_at")
        s[count_key] += n
        if isinstance(when, datetime) and (s[time_key] is None or _later(when, s[time_key])):
            s[time_key] = when
    return out


def _later(a: datetime, b: datetime) -> bool:
    from octolib.sync.compare import as_utc

    return as_utc(a) > as_utc(b)
