"""``save_*``: idempotent writers keyed by the EmailOctopus id (STYLE.md practice 7).

Each writer compares the incoming documents with the stored ones (one indexed read per
batch) and then sends one unordered ``bulk_write``: ``InsertOne`` for new documents, an
``UpdateOne`` with only the changed fields for changed ones, nothing for unchanged ones. So a
second sync of the same data writes nothing, and every writer reports what it did as
:class:`Counts` (inserted, updated, unchanged) for ``sync_runs``.

``synced_at`` is the time a sync last *wrote* the document (inserted or changed it); the
freshness of the whole account is ``sync_runs.finished_at`` of the last successful run.

Snapshots (``campaign_metrics_snapshots``, ``list_count_snapshots``) are append-only: a
snapshot is written when the value differs from the latest stored snapshot. Comparing with
the snapshot collection itself (not with a copy elsewhere) makes a resumed run unable to
write the same snapshot twice.

All store access happens on the calling thread (the embedded store is single-threaded).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from pymongo import InsertOne, UpdateMany, UpdateOne
from pymongo.errors import BulkWriteError

from octolib.store import CONTACTS, ENGAGEMENT_EVENTS, Store, iter_batches
from octolib.store.core import docs_by_id, natural_id
from octolib.sync.compare import canon, same
from octolib.sync.documents import SUMMARY_FIELDS, summary_from_events

__all__ = [
    "Counts",
    "upsert_changed",
    "latest_values",
    "save_lists",
    "save_list_count_snapshots",
    "save_contacts",
    "save_campaigns",
    "save_metric_snapshots",
    "save_links",
    "save_events",
    "refresh_contact_summaries",
    "contacts_with_events",
]

log = logging.getLogger(__name__)

#: Documents per comparison read and per bulk write. Small ``$in`` lists keep the embedded
#: store's filter fast (it checks every value of ``$in`` against every candidate).
CHUNK = 200


@dataclass
class Counts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def __iadd__(self, other: "Counts") -> "Counts":
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged
        return self

    @property
    def written(self) -> int:
        return self.inserted + self.updated

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _key_query(key: Sequence[str], docs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    query: dict[str, Any] = {}
    for field in key:
        values = list(dict.fromkeys(d[field] for d in docs))
        query[field] = values[0] if len(values) == 1 else {"$in": values}
    return query


def upsert_changed(
    collection: Any,
    key: Sequence[str],
    docs: Iterable[Mapping[str, Any]],
    now: datetime,
    *,
    on_insert: Callable[[list[dict[str, Any]]], None] | None = None,
    natural: str | None = None,
) -> Counts:
    """Write ``docs`` keyed by the fields ``key``, touching only what changed.

    ``on_insert(new_docs)`` may add fields to documents about to be inserted (the contacts'
    engagement summary). Later duplicates of a key in ``docs`` win. With ``natural`` (a
    collection of :data:`~octolib.store.core.NATURAL_KEYS`) documents are read, inserted
    and updated by their natural ``_id``: one primary-key lookup each, whatever the size of
    the collection, where a query on the key fields makes the embedded store intersect
    per-field sets as large as the collection.
    """
    unique: dict[tuple[Any, ...], dict[str, Any]] = {}
    for doc in docs:
        unique[tuple(doc[f] for f in key)] = dict(doc)
    counts = Counts()
    items = list(unique.items())
    for chunk in _chunks(items, CHUNK):
        chunk_docs = [d for _, d in chunk]
        fields = sorted({f for d in chunk_docs for f in d} | set(key))
        projection = {f: 1 for f in fields}
        projection["_id"] = 0
        if natural is not None:
            ids = {k: natural_id(natural, d) for k, d in chunk}
            found = docs_by_id(collection, list(ids.values()), projection)
        else:
            found = list(collection.find(_key_query(key, chunk_docs), projection))
        stored = {tuple(s.get(f) for f in key): s for s in found}
        new_docs: list[dict[str, Any]] = []
        ops: list[Any] = []
        for k, doc in chunk:
            old = stored.get(k)
            where = {"_id": ids[k]} if natural is not None else {f: doc[f] for f in key}
            if old is None:
                new_docs.append(doc)
            elif same(old, doc):
                counts.unchanged += 1
            else:
                changed = {f: v for f, v in doc.items() if canon(old.get(f)) != canon(v)}
                changed["synced_at"] = now
                ops.append(UpdateOne(where, {"$set": changed}))
                counts.updated += 1
        if new_docs and on_insert is not None:
            on_insert(new_docs)
        for doc in new_docs:
            extra = {"_id": natural_id(natural, doc)} if natural is not None else {}
            ops.append(InsertOne(dict(doc, synced_at=now, **extra)))
        counts.inserted += len(new_docs)
        if ops:
            _bulk(collection, key, ops)
    return counts


def _bulk(collection: Any, key: Sequence[str], ops: list[Any]) -> None:
    try:
        collection.bulk_write(ops, ordered=False)
    except BulkWriteError as exc:
        # A document inserted meanwhile by someone else: turn our insert into an update.
        retry = []
        for err in exc.details.get("writeErrors", []):
            op = ops[err["index"]]
            if err.get("code") == 11000 and isinstance(op, InsertOne):
                doc = dict(op._doc)  # noqa: SLF001 - pymongo keeps the document there
                ident = doc.pop("_id", None)
                where = {"_id": ident} if isinstance(ident, str) else {f: doc[f] for f in key}
                retry.append(UpdateOne(where, {"$set": doc}, upsert=True))
            else:
                raise
        if retry:
            collection.bulk_write(retry, ordered=False)


def latest_values(collection: Any, key_field: str, value_field: str, ids: Iterable[str] | None = None) -> dict[str, Any]:
    """``{id: value}`` of the latest snapshot (by ``snapshot_time``) per ``key_field``.

    ``ids`` are matched :data:`CHUNK` at a time: the embedded store checks every ``$in``
    value against every candidate, so one ``$in`` of all campaigns costs campaigns squared.
    """
    tail: list[dict[str, Any]] = [
        {"$sort": {key_field: 1, "snapshot_time": -1}},
        {"$group": {"_id": f"${key_field}", "value": {"$first": f"${value_field}"}}},
    ]
    if ids is None:
        return {row["_id"]: row.get("value") for row in collection.aggregate(tail)}
    out: dict[str, Any] = {}
    for chunk in _chunks(list(ids), CHUNK):
        pipeline = [{"$match": {key_field: {"$in": list(chunk)}}}, *tail]
        out.update((row["_id"], row.get("value")) for row in collection.aggregate(pipeline))
    return out


def _append_snapshots(collection: Any, key_field: str, value_field: str, values: Mapping[str, Mapping[str, Any]],
                      now: datetime, run_id: Any, extra: Callable[[Mapping[str, Any]], dict[str, Any]] | None = None
                      ) -> Counts:
    counts = Counts()
    if not values:
        return counts
    latest = latest_values(collection, key_field, value_field, values.keys())
    new = []
    for ident, value in values.items():
        if ident in latest and canon(latest[ident]) == canon(value):
            counts.unchanged += 1
            continue
        doc = {key_field: ident, "snapshot_time": now, value_field: dict(value), "sync_run_id": run_id}
        if extra:
            doc.update(extra(value))
        new.append(doc)
    if new:
        collection.insert_many(new, ordered=False)
    counts.inserted = len(new)
    return counts


def save_lists(store: Store, docs: Sequence[Mapping[str, Any]], now: datetime, run_id: Any) -> dict[str, Counts]:
    """Upsert lists and append a ``list_count_snapshots`` entry for each list whose counts changed."""
    counts = upsert_changed(store.lists, ("emailoctopus_id",), docs, now)
    snaps = save_list_count_snapshots(store, {d["emailoctopus_id"]: d["counts"] for d in docs}, now, run_id)
    return {"lists": counts, "list_count_snapshots": snaps}


def save_list_count_snapshots(store: Store, counts_by_list: Mapping[str, Mapping[str, int]], now: datetime,
                              run_id: Any) -> Counts:
    return _append_snapshots(store.list_count_snapshots, "list_id", "counts", counts_by_list, now, run_id)


def save_contacts(store: Store, docs: Sequence[Mapping[str, Any]], now: datetime) -> Counts:
    """Upsert contacts keyed by (list_id, emailoctopus_id); API fields only.

    A new contact gets its engagement summary from the events already stored (its reports
    may have been read before the contact itself); later changes come from
    :func:`refresh_contact_summaries`. Updates never touch the summary fields.
    """

    def add_summary(new_docs: list[dict[str, Any]]) -> None:
        summaries = _summaries_for(store, [d["emailoctopus_id"] for d in new_docs])
        for doc in new_docs:
            doc.update(summaries.get(doc["emailoctopus_id"]) or _empty_summary())

    return upsert_changed(store.contacts, ("list_id", "emailoctopus_id"), docs, now, on_insert=add_summary,
                          natural=CONTACTS)


def _empty_summary() -> dict[str, Any]:
    return {"opens": 0, "clicks": 0, "last_opened_at": None, "last_clicked_at": None}


_EVENT_FIELDS = {"_id": 0, "contact_id": 1, "event_type": 1, "count": 1, "occurred_at": 1, "last_occurred_at": 1}


#: The event types a contact's summary is made of. They are filtered here, not in the query:
#: a query on ``event_type`` makes the embedded store copy the set of every event of that
#: type (most of the collection) on each call, while ``contact_id`` alone selects a few.
_SUMMARY_TYPES = frozenset({"opened", "clicked"})


def _summaries_for(store: Store, contact_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for chunk in _chunks(list(contact_ids), 100):
        for batch in iter_batches(store.engagement_events, {"contact_id": {"$in": list(chunk)}}, _EVENT_FIELDS):
            events.extend(d for d in batch if d.get("event_type") in _SUMMARY_TYPES)
    return summary_from_events(events)


def save_campaigns(store: Store, docs: Sequence[Mapping[str, Any]], now: datetime) -> Counts:
    return upsert_changed(store.campaigns, ("emailoctopus_id",), docs, now)


def save_metric_snapshots(store: Store, metrics_by_campaign: Mapping[str, Mapping[str, int]], now: datetime,
                          run_id: Any) -> Counts:
    """Append a snapshot (metrics and rates) for each campaign whose metrics differ from its latest one."""
    from octolib.sync.documents import metric_rates

    return _append_snapshots(store.campaign_metrics_snapshots, "campaign_id", "metrics", metrics_by_campaign, now,
                             run_id, extra=lambda m: {"rates": metric_rates(m)})


def save_links(store: Store, docs: Sequence[Mapping[str, Any]], now: datetime) -> Counts:
    return upsert_changed(store.campaign_links, ("campaign_id", "url"), docs, now)


def save_events(store: Store, docs: Sequence[Mapping[str, Any]], now: datetime) -> Counts:
    """Upsert engagement events keyed by (campaign_id, contact_id, event_type).

    A new open or click is inserted with ``automated: None``, so the labelling step
    (:mod:`octolib.sync.automation`) writes only the events its rules flag; an update
    leaves a stored label alone until that step recomputes it.
    """
    return upsert_changed(store.engagement_events, ("campaign_id", "event_type", "contact_id"), docs, now,
                          natural=ENGAGEMENT_EVENTS, on_insert=_unlabelled)


def _unlabelled(new_docs: list[dict[str, Any]]) -> None:
    for doc in new_docs:
        if doc.get("event_type") in ("opened", "clicked"):
            doc.setdefault("automated", None)


def contacts_with_events(store: Store, campaign_ids: Sequence[str]) -> list[str]:
    """Distinct contact ids with an opened/clicked event in any of ``campaign_ids``."""
    ids: dict[str, None] = {}
    for cid in campaign_ids:  # event_type filtered here, not in the query: see _SUMMARY_TYPES
        fields = {"_id": 0, "contact_id": 1, "event_type": 1}
        for batch in iter_batches(store.engagement_events, {"campaign_id": cid}, fields):
            ids.update(dict.fromkeys(str(d["contact_id"]) for d in batch if d.get("event_type") in _SUMMARY_TYPES))
    return list(ids)


def refresh_contact_summaries(store: Store, contact_ids: Sequence[str] | None, now: datetime) -> Counts:
    """Recompute ``opens, clicks, last_opened_at, last_clicked_at`` of contacts from their events.

    ``contact_ids=None`` checks every contact in two sequential reads (all opened/clicked
    events, then all contacts): cheaper than per-contact queries when most contacts are
    concerned, as after a first sync. Contacts not stored yet are skipped (they get their
    summary when inserted). Only changed summaries are written.
    """
    counts = Counts()
    projection = {f: 1 for f in SUMMARY_FIELDS}
    projection.update({"_id": 0, "emailoctopus_id": 1})
    if contact_ids is None:
        events: list[dict[str, Any]] = []
        for batch in iter_batches(store.engagement_events, {"event_type": {"$in": ["opened", "clicked"]}},
                                  _EVENT_FIELDS):
            events.extend(batch)
        summaries = summary_from_events(events)
        del events
        for batch in iter_batches(store.contacts, {}, projection):
            counts += _write_summaries(store, batch, summaries, now)
        return counts
    for chunk in _chunks(list(contact_ids), CHUNK):
        summaries = _summaries_for(store, chunk)
        found = list(store.contacts.find({"emailoctopus_id": {"$in": list(chunk)}}, projection))
        counts += _write_summaries(store, found, summaries, now)
    return counts


def _write_summaries(store: Store, stored_docs: Iterable[Mapping[str, Any]], summaries: Mapping[str, Any],
                     now: datetime) -> Counts:
    counts = Counts()
    ops = []
    for stored in stored_docs:
        new = summaries.get(stored["emailoctopus_id"]) or _empty_summary()
        if same(stored, new):
            counts.unchanged += 1
            continue
        ops.append(UpdateMany({"emailoctopus_id": stored["emailoctopus_id"]}, {"$set": dict(new, synced_at=now)}))
        counts.updated += 1
    for chunk in _chunks(ops, CHUNK):
        store.contacts.bulk_write(list(chunk), ordered=False)
    return counts
