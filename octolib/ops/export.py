"""Exports: campaigns, contacts, engagement events or metric snapshots as CSV or JSON Lines.

Why a module and not a notebook: an operator (or a cron job) needs the raw data out of the
store in a form a spreadsheet or another tool reads, filtered by date and list, without
writing a query. Rows are streamed from the store in batches, so a large account does not
need the whole collection in memory.

What each kind holds, the date its ``since``/``until`` filter applies to, and what the list
filter means:

============  =======================  ================  ==========================================
kind          collection               date filter on    list filter
============  =======================  ================  ==========================================
campaigns     campaigns                ``sent_at``       campaigns sent to the list
contacts      contacts                 ``created_at``    contacts on the list
events        engagement_events        ``occurred_at``   events of contacts on the list
snapshots     campaign_metrics_snap..  ``snapshot_time`` snapshots of campaigns sent to the list
============  =======================  ================  ==========================================

Dates are days in ``tz`` (the account's ``OCTO_TIMEZONE``); both ends are included. Events
carry the contact's ``email`` and ``list_id``, looked up batch by batch, and ``automated`` (empty,
``machine_open`` or ``bot_click``: :mod:`octolib.sync.automation`).

Formats: ``jsonl`` keeps every field and its nesting (``_id`` dropped, datetimes as ISO 8601
UTC). ``csv`` has fixed columns per kind (nested counts flattened as ``metrics.sent``, a
contact's custom fields as ``fields.<tag>`` from the lists' field definitions, lists of
values joined with ``;``). Text cells that a spreadsheet would run as a formula (starting with
``=``, ``+``, ``-``, ``@``, tab or carriage return) are prefixed with ``'``: contact data comes
from sign-up forms, and a CSV export must not be a way to run code on the analyst's machine.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from itertools import islice
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from octolib.errors import ConfigError
from octolib.metrics.rate_specs import RATES
from octolib.store import METRIC_KEYS, Store
from octolib.store.data_as_of import data_as_of

__all__ = ["KINDS", "FORMATS", "ExportSpec", "export", "columns_for", "day_bounds", "csv_cell"]

log = logging.getLogger(__name__)

FORMATS: tuple[str, ...] = ("csv", "jsonl")
#: The snapshot rates exported: every row of the rate table, as the sync stored them.
RATE_KEYS: tuple[str, ...] = tuple(RATES)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ExportSpec:
    """What one kind of export reads and how it filters."""

    kind: str
    collection: str
    date_field: str
    columns: tuple[str, ...]


KINDS: dict[str, ExportSpec] = {
    "campaigns": ExportSpec(
        "campaigns", "campaigns", "sent_at",
        ("emailoctopus_id", "name", "subject", "status", "from_name", "from_email", "list_ids", "created_at",
         "sent_at", *(f"current_metrics.{k}" for k in METRIC_KEYS), "current_metrics.last_updated", "synced_at"),
    ),
    "contacts": ExportSpec(
        "contacts", "contacts", "created_at",
        ("list_id", "emailoctopus_id", "email", "status", "tags", "created_at", "last_updated_at", "opens",
         "clicks", "last_opened_at", "last_clicked_at", "synced_at"),
    ),
    "events": ExportSpec(
        "events", "engagement_events", "occurred_at",
        ("campaign_id", "contact_id", "email", "list_id", "event_type", "occurred_at", "last_occurred_at", "count",
         "automated"),
    ),
    "snapshots": ExportSpec(
        "snapshots", "campaign_metrics_snapshots", "snapshot_time",
        ("campaign_id", "snapshot_time", *(f"metrics.{k}" for k in METRIC_KEYS),
         *(f"rates.{k}" for k in RATE_KEYS), "sync_run_id"),
    ),
}


def day_bounds(since: date | None, until: date | None, tz: str = "UTC") -> tuple[datetime | None, datetime | None]:
    """UTC bounds ``[start, end)`` covering the days ``since`` to ``until`` (both included) in ``tz``.

    >>> day_bounds(date(2026, 7, 1), date(2026, 7, 1), "Europe/London")[0].isoformat()
    '2026-06-30T23:00:00+00:00'
    """
    zone = ZoneInfo(tz)
    if since and until and until < since:
        raise ConfigError(f"--until {until} is before --since {since}")
    start = datetime.combine(since, time(0), zone).astimezone(timezone.utc) if since else None
    end = datetime.combine(until + timedelta(days=1), time(0), zone).astimezone(timezone.utc) if until else None
    return start, end


def csv_cell(value: Any) -> str:
    """One CSV cell: ISO datetimes (UTC), ``;``-joined lists, JSON for mappings, formula guard.

    >>> csv_cell("=HYPERLINK(\\"http://x\\")"), csv_cell(-3), csv_cell(["a", "b"]), csv_cell(None)
    ('\\'=HYPERLINK("http://x")', '-3', 'a;b', '')
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, (int, float)):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, (list, tuple)):
        return csv_cell(";".join(csv_cell(v).lstrip("'") for v in value))
    if isinstance(value, Mapping):
        return csv_cell(json.dumps(_jsonable(value), ensure_ascii=False, sort_keys=True))
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _iso(value: datetime) -> str:
    value = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items() if k != "_id"}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)  # ObjectId, Decimal128, ...


def _get(doc: Mapping[str, Any], dotted: str) -> Any:
    value: Any = doc
    for part in dotted.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _campaigns_to_list(store: Store, list_id: str) -> list[str]:
    return [d["emailoctopus_id"] for d in store.campaigns.find({"list_ids": list_id}, {"emailoctopus_id": 1, "_id": 0})]


def _field_tags(store: Store, list_id: str | None) -> list[str]:
    tags: list[str] = []
    query = {"emailoctopus_id": list_id} if list_id else {}
    for lst in store.lists.find(query, {"fields": 1, "_id": 0}).sort("name", 1):
        for f in lst.get("fields") or []:
            tag = f.get("tag") if isinstance(f, Mapping) else None
            if tag and tag not in tags:
                tags.append(tag)
    return tags


def columns_for(store: Store, kind: str, list_id: str | None = None) -> list[str]:
    """The CSV header of ``kind`` (contacts get one ``fields.<tag>`` column per custom field)."""
    spec = _spec(kind)
    cols = list(spec.columns)
    if kind == "contacts":
        cols += [f"fields.{t}" for t in _field_tags(store, list_id)]
    return cols


def _spec(kind: str) -> ExportSpec:
    try:
        return KINDS[kind]
    except KeyError:
        raise ConfigError(f"cannot export {kind!r}; choose one of {', '.join(KINDS)}") from None


def _query(store: Store, spec: ExportSpec, start: datetime | None, end: datetime | None,
           list_id: str | None) -> dict[str, Any]:
    query: dict[str, Any] = {}
    if start or end:
        query[spec.date_field] = {**({"$gte": start} if start else {}), **({"$lt": end} if end else {})}
    if list_id:
        if spec.kind == "campaigns":
            query["list_ids"] = list_id
        elif spec.kind == "contacts":
            query["list_id"] = list_id
        else:  # events and snapshots: first narrow to campaigns sent to the list
            query["campaign_id"] = {"$in": _campaigns_to_list(store, list_id)}
    return query


def _rows(store: Store, spec: ExportSpec, query: dict[str, Any], batch_size: int) -> Iterator[list[dict[str, Any]]]:
    """Matching documents in batches, in date order (then ``_id``), so exports are repeatable."""
    pipeline = [{"$match": query}, {"$sort": {spec.date_field: 1, "_id": 1}}]
    cursor = store.db[spec.collection].aggregate(pipeline, batchSize=batch_size)
    try:
        while batch := list(islice(cursor, batch_size)):
            yield batch
    finally:
        cursor.close()


def _with_contacts(store: Store, batch: list[dict[str, Any]], list_id: str | None) -> list[dict[str, Any]]:
    """Add each event's contact ``email``/``list_id``; with a list filter keep that list's only."""
    ids = list({d.get("contact_id") for d in batch})
    query: dict[str, Any] = {"emailoctopus_id": {"$in": ids}}
    if list_id:
        query["list_id"] = list_id
    contacts: dict[Any, dict[str, Any]] = {}
    for c in store.contacts.find(query, {"emailoctopus_id": 1, "email": 1, "list_id": 1, "_id": 0}):
        contacts.setdefault(c["emailoctopus_id"], c)
    out = []
    for d in batch:
        c = contacts.get(d.get("contact_id"))
        if list_id and c is None:
            continue
        out.append({**d, "email": (c or {}).get("email"), "list_id": (c or {}).get("list_id")})
    return out


def export(
    store: Store,
    kind: str,
    out: TextIO,
    *,
    fmt: str = "csv",
    since: date | None = None,
    until: date | None = None,
    list_id: str | None = None,
    tz: str = "UTC",
    batch_size: int = 5000,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the ``kind`` documents matching the filters to ``out``; return how many rows.

    ``since``/``until`` are days in ``tz``, both included; ``list_id`` is an EmailOctopus list
    id (see the module docstring for what it selects per kind). ``progress(rows_so_far)`` is
    called after each batch.
    """
    spec = _spec(kind)
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if list_id and store.lists.count_documents({"emailoctopus_id": list_id}) == 0:
        known = ", ".join(f"{d['emailoctopus_id']} ({d.get('name', '')})"
                          for d in store.lists.find({}, {"emailoctopus_id": 1, "name": 1, "_id": 0}))
        raise ConfigError(f"no list with id {list_id!r} in the store; known lists: {known or 'none (run octo sync)'}")
    start, end = day_bounds(since, until, tz)
    query = _query(store, spec, start, end, list_id)
    n = 0
    writer: Any = None
    columns: Sequence[str] = ()
    if fmt == "csv":
        columns = columns_for(store, kind, list_id)
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
    for batch in _rows(store, spec, query, batch_size):
        if kind == "events":
            batch = _with_contacts(store, batch, list_id)
        if fmt == "csv":
            writer.writerows([csv_cell(_get(doc, c)) for c in columns] for doc in batch)
        else:
            out.writelines(json.dumps(_jsonable(doc), ensure_ascii=False) + "\n" for doc in batch)
        n += len(batch)
        if progress is not None:
            progress(n)
    as_of = data_as_of(store)
    log.info("exported %d %s (%s), data as of sync run %s (%s)", n, kind, fmt, as_of.run_id or "none",
             as_of.status or "never synced")
    return n

