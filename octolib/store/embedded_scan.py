"""One sequential pass over an embedded (litemongo) collection, decoding each document once.

Why: litemongo answers every query through mongomock, which for each document decodes the
BSON, rewrites every datetime in it, deep-copies it, tests the filter twice (before the copy
and in the ``$match`` stage) and only then applies the projection; before the first query
of a process it also decodes the whole collection once more to build its in-memory hash
indexes. Reading 60,000 contacts that way took 30-60 s on this machine; reading the same
rows straight from the collection's SQLite file and decoding them with the C BSON decoder
takes about half a second. Dashboards and the sync's whole-collection passes read most of
a collection at once, so for them an index cannot help and the sequential pass is the
cheap way.

:func:`scan_batches` does exactly that and gives the same documents as the aggregation it
replaces (``$match`` then ``$project``): the filter is mongomock's own matcher (with a
shortcut for plain string equality and ``$in``, the filters octopus uses on large reads),
datetimes come back naive (meaning UTC), as they do from litemongo's aggregation, and rows
come in natural (insertion) order. It returns None for anything it is not sure to read the
same way (another kind of store, or a change of litemongo's internals), and the caller then
uses the aggregation. Only :mod:`octolib.store.core` calls it; on MongoDB it is never used.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Any

__all__ = ["scan_batches", "indexed_batches", "docs_by_id", "first_sorted"]

log = logging.getLogger(__name__)

_Doc = dict[str, Any]


def _sqlite_parts(collection: Any) -> tuple[Any, Callable[[bytes], _Doc], Any] | None:
    """(connection, decode, collection store) of a litemongo SQLite collection, else None."""
    try:
        from litemongo import sqlite_store  # type: ignore[attr-defined,unused-ignore]
    except ImportError:  # pragma: no cover - litemongo is installed on Python >= 3.11
        return None
    store = getattr(collection, "_store", None)
    if not isinstance(store, sqlite_store.CollectionStore):
        return None
    documents = getattr(store, "_documents", None)
    connection = getattr(store, "_connection", None)
    if not isinstance(documents, sqlite_store.TableDict) or connection is None:
        return None
    return connection, documents._decode_doc, store


def _matcher(query: Mapping[str, Any]) -> Callable[[_Doc], bool]:
    """A predicate equal to mongomock's ``filter_applies(query, doc)``.

    Plain top-level string equality and ``$in`` over strings (``{"event_type": {"$in":
    [...]}}``) are tested directly when the document's value is a string; any other value
    (a list, a missing field) or any other filter goes through mongomock's matcher.
    """
    from litemongo._vendor.mongomock import helpers
    from litemongo._vendor.mongomock.filtering import filter_applies

    if not query:
        return lambda doc: True
    spec = helpers.patch_datetime_awareness_in_document(dict(query))
    simple: list[tuple[str, frozenset[str]]] = []
    for key, value in spec.items():
        if key.startswith("$") or "." in key:
            simple = []
            break
        if isinstance(value, str):
            simple.append((key, frozenset((value,))))
        elif (isinstance(value, Mapping) and set(value) == {"$in"} and isinstance(value["$in"], (list, tuple))
              and all(isinstance(v, str) for v in value["$in"])):
            simple.append((key, frozenset(value["$in"])))
        else:
            simple = []
            break
    if len(simple) != len(spec):
        return lambda doc: bool(filter_applies(spec, doc))

    def match(doc: _Doc) -> bool:
        for key, allowed in simple:
            value = doc.get(key)
            if not isinstance(value, str):
                return bool(filter_applies(spec, doc))
            if value not in allowed:
                return False
        return True

    return match


def _projector(projection: Mapping[str, Any] | None) -> Callable[[list[_Doc]], list[_Doc]]:
    """A function applying ``{"$project": projection}`` to a batch, as mongomock does."""
    if not projection:
        return lambda docs: docs
    plain = all(not k.startswith("$") and "." not in k and v in (0, 1, True, False)
                for k, v in projection.items())
    included = [k for k, v in projection.items() if k != "_id" and v]
    excluded = [k for k, v in projection.items() if k != "_id" and not v]
    if plain and included and not excluded:
        fields = included if projection.get("_id", 1) == 0 else ["_id", *included]

        def include(docs: list[_Doc]) -> list[_Doc]:
            return [{k: d[k] for k in fields if k in d} for d in docs]

        return include
    from litemongo._vendor.mongomock import aggregate

    spec = dict(projection)

    def project(docs: list[_Doc]) -> list[_Doc]:
        return list(aggregate.process_pipeline(docs, None, [{"$project": spec}], None))

    return project


def scan_batches(
    collection: Any,
    query: Mapping[str, Any] | None,
    projection: Mapping[str, Any] | None,
    batch_size: int,
) -> Iterator[list[_Doc]] | None:
    """Batches of the documents of ``collection`` matching ``query``, projected, in natural
    order; None when ``collection`` is not a litemongo SQLite collection.

    Each batch is one ``SELECT`` of the next rows by ROWID, so writes between two batches
    (the link step's updates) never disturb the pass, and no row is read twice.
    """
    parts = _sqlite_parts(collection)
    if parts is None:
        return None
    connection, decode, store = parts
    match = _matcher(query or {})
    project = _projector(projection)
    remove_expired = getattr(store, "_remove_expired_documents", None)
    if callable(remove_expired):
        remove_expired()  # TTL indexes: what mongomock does before each read
    return _batches(connection, decode, match, project, max(1, int(batch_size)))


def _batches(connection: Any, decode: Callable[[bytes], _Doc], match: Callable[[_Doc], bool],
             project: Callable[[list[_Doc]], list[_Doc]], batch_size: int) -> Iterator[list[_Doc]]:
    last = None
    pending: list[_Doc] = []
    while True:
        if last is None:
            rows = connection.execute("SELECT ROWID, doc FROM documents ORDER BY ROWID LIMIT ?",
                                      (batch_size,)).fetchall()
        else:
            rows = connection.execute("SELECT ROWID, doc FROM documents WHERE ROWID > ? ORDER BY ROWID LIMIT ?",
                                      (last, batch_size)).fetchall()
        if not rows:
            break
        last = rows[-1][0]
        for _, blob in rows:
            doc = decode(blob)
            if match(doc):
                pending.append(doc)
        while len(pending) >= batch_size:
            yield project(pending[:batch_size])
            pending = pending[batch_size:]
    if pending:
        yield project(pending)


def docs_by_id(collection: Any, ids: list[Any], projection: Mapping[str, Any] | None) -> list[_Doc] | None:
    """The documents of ``collection`` whose ``_id`` is in ``ids`` (those that exist, in the
    order of ``ids``), projected; None when ``collection`` is not a litemongo SQLite collection.

    Why: a query on ``_id`` through litemongo first builds its in-memory indexes over the
    whole collection (every document decoded: seconds at tens of thousands) in each new
    process; a primary-key read needs none of that, so a sync that finds a few contacts
    unchanged does not pay for the whole collection.
    """
    parts = _sqlite_parts(collection)
    if parts is None:
        return None
    _, _, store = parts
    remove_expired = getattr(store, "_remove_expired_documents", None)
    if callable(remove_expired):
        remove_expired()
    found = list(store._documents.get_many(ids))
    return _projector(projection)(found)


def _bson_rank(value: Any) -> tuple[int, Any]:
    """A sort key following MongoDB's order of types (null, numbers, strings, objects, arrays,
    binary, ObjectId, booleans, dates); datetimes compared as UTC."""
    import datetime as _dt

    from bson import ObjectId

    if value is None:
        return (1, 0)
    if isinstance(value, bool):
        return (8, value)
    if isinstance(value, (int, float)):
        return (2, value)
    if isinstance(value, str):
        return (3, value)
    if isinstance(value, Mapping):
        return (4, repr(value))
    if isinstance(value, (list, tuple)):
        return (5, repr(value))
    if isinstance(value, (bytes, bytearray)):
        return (6, bytes(value))
    if isinstance(value, ObjectId):
        return (7, value.binary)
    if isinstance(value, _dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=_dt.timezone.utc)
        return (9, aware.astimezone(_dt.timezone.utc))
    return (10, repr(value))


def _aware_utc(value: Any) -> Any:
    """``value`` with every naive datetime made aware UTC (what a tz-aware client returns)."""
    import datetime as _dt

    if isinstance(value, _dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=_dt.timezone.utc)
    if isinstance(value, dict):
        return {k: _aware_utc(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_aware_utc(v) for v in value]
    return value


def first_sorted(collection: Any, query: Mapping[str, Any] | None, sort: list[tuple[str, int]],
                 projection: Mapping[str, Any] | None) -> tuple[bool, _Doc | None]:
    """``(True, doc)``: the first document matching ``query`` in the order ``sort`` (top-level
    fields, 1 or -1), projected, datetimes aware UTC; ``(False, None)`` when ``collection`` is
    not a litemongo SQLite collection.

    Why: litemongo answers ``$sort`` + ``$limit 1`` by copying every matching document in
    full; ``sync_runs`` gains a document per sync (each with the run's queues), so finding the
    latest run, which every page and every sync does, grew with the store's history. Here only
    ``_id`` and the sort fields are kept from the pass, then one document is read by key.
    """
    fields = [f for f, _ in sort]
    batches = scan_batches(collection, query, {"_id": 1, **{f: 1 for f in fields}}, 5000)
    if batches is None:
        return False, None
    rows = [d for batch in batches for d in batch]
    for field, direction in reversed(sort):  # stable sorts, least significant key first
        rows.sort(key=lambda d: _bson_rank(d.get(field)), reverse=direction < 0)
    if not rows:
        return True, None
    found = docs_by_id(collection, [rows[0]["_id"]], projection)
    return True, (_aware_utc(found[0]) if found else None)


def indexed_batches(
    collection: Any,
    query: Mapping[str, Any],
    projection: Mapping[str, Any] | None,
    batch_size: int,
) -> Iterator[list[_Doc]] | None:
    """Like :func:`scan_batches`, for a selective query: the candidates come from litemongo's
    own indexes (``find_candidates``, what its aggregation uses), each decoded once, tested
    once and projected; None when ``collection`` is not a litemongo SQLite collection.

    Why: litemongo's aggregation then rewrites every datetime of each candidate, deep-copies
    it and tests the filter a second time in its ``$match`` stage, about 100 us a document;
    the sync's per-contact and per-campaign event reads spent most of a day's sync there.
    """
    parts = _sqlite_parts(collection)
    if parts is None or not callable(getattr(parts[2], "find_candidates", None)):
        return None
    from litemongo._vendor.mongomock import helpers

    store = parts[2]
    spec = helpers.patch_datetime_awareness_in_document(dict(query))
    match = _matcher(spec)
    project = _projector(projection)
    size = max(1, int(batch_size))

    # Read in full before the first batch, as the aggregation does: the caller may write to
    # the collection between batches.
    found = [doc for doc in store.find_candidates(spec) if match(doc)]

    def batches() -> Iterator[list[_Doc]]:
        for start in range(0, len(found), size):
            yield project(found[start:start + size])

    return batches()
