"""Where the data lives: one ``connect()``, one ``Store``, the only module that knows collection names.

``connect(settings)`` picks the store in the order DESIGN.md §3 fixes:

1. ``settings.mongodb_uri`` (``OCTO_MONGODB_URI``): that server (``kind == "uri"``);
2. a ``mongod`` binary on PATH: a private server on 127.0.0.1 with its data under
   ``settings.data_dir`` (``kind == "mongod"``), started once and reused by every process
   while it runs (see :mod:`octolib.store.mongod`);
3. otherwise the embedded store, ``litemongo`` (``kind == "embedded"``): the pymongo API over
   SQLite files under ``settings.data_dir``, shared by every process on the machine. It is
   announced once per process with a warning, because it is slower than MongoDB.

Whatever the store, callers use only the pymongo API on :attr:`Store.db` and the collection
attributes, so the same code runs on all three.

The embedded store is tied to the thread that opened it (SQLite connections are); open one
``Store`` per thread, or keep store access on one thread as :mod:`octolib.sync` does.
"""

from __future__ import annotations

import logging
import re
import shutil
import threading
from collections.abc import Callable, Iterator, Mapping
from itertools import islice
from pathlib import Path
from typing import Any
from urllib.parse import quote

from octolib.config import Settings
from octolib.errors import StoreError, redact

__all__ = [
    "Store",
    "connect",
    "COLLECTIONS",
    "INDEXES",
    "LOGIN_ATTEMPTS",
    "DELIVERIES",
    "CONVERSION_UPLOADS",
    "CONVERSIONS",
    "USERS",
    "AUDIT_LOG",
    "CAMPAIGNS",
    "CAMPAIGN_METRICS_SNAPSHOTS",
    "CAMPAIGN_LINKS",
    "LISTS",
    "LIST_COUNT_SNAPSHOTS",
    "CONTACTS",
    "ENGAGEMENT_EVENTS",
    "SYNC_RUNS",
    "PARTNERS",
    "REPORTS",
    "LOCKS",
    "iter_batches",
    "docs_by_id",
    "first_sorted",
    "redact_uri",
    "NATURAL_KEYS",
    "natural_id",
    "CUSTOMERS",
    "ENERGY_ANALYSES",
    "CUSTOMER_SCHEMAS",
    "PROJECT_RULES",
    "LINK_REPORTS",
    "ReadOnlyCollection",
    "customer_collections",
]

logger = logging.getLogger(__name__)

USERS = "users"
AUDIT_LOG = "audit_log"
CAMPAIGNS = "campaigns"
CAMPAIGN_METRICS_SNAPSHOTS = "campaign_metrics_snapshots"
CAMPAIGN_LINKS = "campaign_links"
LISTS = "lists"
LIST_COUNT_SNAPSHOTS = "list_count_snapshots"
CONTACTS = "contacts"
ENGAGEMENT_EVENTS = "engagement_events"
SYNC_RUNS = "sync_runs"
PARTNERS = "partners"
REPORTS = "reports"
LOCKS = "locks"
LOGIN_ATTEMPTS = "login_attempts"
DELIVERIES = "deliveries"
#: Conversions (issue 13): a partner's uploaded outcome files and the outcomes they hold
#: (octolib.conversions); an outcome counts only while its upload exists.
CONVERSION_UPLOADS = "conversion_uploads"
CONVERSIONS = "conversions"
# Customers and energy projects (issue 15). ``customers``/``energy_analyses`` are octopus's own
# copies filled by ``octo customers import`` / ``octo projects import``; an owner's existing
# collections are opened by :func:`customer_collections` instead, read-only.
CUSTOMERS = "customers"
ENERGY_ANALYSES = "energy_analyses"
CUSTOMER_SCHEMAS = "customer_schemas"  # the mapping (segment fields, kinds, bands) per source
PROJECT_RULES = "project_rules"  # which campaigns belong to which project (rules live with octopus)
LINK_REPORTS = "link_reports"  # the last contact-to-customer link report

#: Every collection octopus uses; ``Store`` has an attribute of the same name for each.
COLLECTIONS: tuple[str, ...] = (
    USERS,
    AUDIT_LOG,
    CAMPAIGNS,
    CAMPAIGN_METRICS_SNAPSHOTS,
    CAMPAIGN_LINKS,
    LISTS,
    LIST_COUNT_SNAPSHOTS,
    CONTACTS,
    ENGAGEMENT_EVENTS,
    SYNC_RUNS,
    PARTNERS,
    REPORTS,
    LOCKS,
    LOGIN_ATTEMPTS,
    DELIVERIES,
    CONVERSION_UPLOADS,
    CONVERSIONS,
    CUSTOMERS,
    ENERGY_ANALYSES,
    CUSTOMER_SCHEMAS,
    PROJECT_RULES,
    LINK_REPORTS,
)

#: (collection, keys, options), read by ``octo doctor`` too. Unique keys are what makes every writer an idempotent upsert.
INDEXES: tuple[tuple[str, list[tuple[str, int]], dict[str, Any]], ...] = (
    (USERS, [("username", 1)], {"unique": True}),
    (CAMPAIGNS, [("emailoctopus_id", 1)], {"unique": True}),
    (CAMPAIGNS, [("status", 1)], {}),
    (CAMPAIGNS, [("sent_at", -1)], {}),
    (CAMPAIGNS, [("list_ids", 1)], {}),
    (CAMPAIGN_METRICS_SNAPSHOTS, [("campaign_id", 1), ("snapshot_time", -1)], {}),
    (CAMPAIGN_LINKS, [("campaign_id", 1), ("url", 1)], {"unique": True}),
    (LISTS, [("emailoctopus_id", 1)], {"unique": True}),
    (LIST_COUNT_SNAPSHOTS, [("list_id", 1), ("snapshot_time", -1)], {}),
    (CONTACTS, [("list_id", 1), ("emailoctopus_id", 1)], {"name": "contact_key"}),  # unique as _id
    (CONTACTS, [("emailoctopus_id", 1)], {}),
    (CONTACTS, [("list_id", 1), ("status", 1)], {}),
    (CONTACTS, [("email", 1)], {}),
    (ENGAGEMENT_EVENTS, [("campaign_id", 1), ("contact_id", 1), ("event_type", 1)], {"name": "event_key"}),  # unique as _id
    (ENGAGEMENT_EVENTS, [("contact_id", 1)], {}),
    (ENGAGEMENT_EVENTS, [("campaign_id", 1), ("event_type", 1)], {}),
    (ENGAGEMENT_EVENTS, [("occurred_at", 1)], {}),
    (SYNC_RUNS, [("started_at", -1)], {}),
    (SYNC_RUNS, [("status", 1)], {}),
    (REPORTS, [("created_at", -1)], {}),
    (CONVERSION_UPLOADS, [("partner", 1), ("uploaded_at", -1)], {}),
    (CONVERSIONS, [("upload_id", 1)], {}),
    (CONVERSIONS, [("partner", 1), ("campaign_id", 1)], {}),
    (CONTACTS, [("customer_id", 1)], {}),
    (CAMPAIGNS, [("project_id", 1)], {}),
)

#: Collections whose ``_id`` is the natural key, made by :func:`natural_id` from these fields.
#:
#: Why: a compound unique index is checked on every insert, and the embedded store checks it
#: by intersecting one hash set per field; the ``event_type`` and ``list_id`` sets hold a
#: large share of the collection, so every insert cost time proportional to the data (a 5x
#: account took 98x as long to sync). ``_id`` is unique on every store and checked in one
#: primary-key lookup, so keying these documents by it keeps the guarantee (one document per
#: key) on MongoDB and makes it cheap in litemongo. The compound indexes stay, not unique,
#: for reads; their names (``contact_key``, ``event_key``) mark a collection whose ids are
#: natural (see :meth:`Store.ensure_indexes`, which migrates older stores).
NATURAL_KEYS: dict[str, tuple[str, ...]] = {
    CONTACTS: ("list_id", "emailoctopus_id"),
    ENGAGEMENT_EVENTS: ("campaign_id", "contact_id", "event_type"),
}

#: The index whose presence says a collection's ids are natural (created after a migration).
_NATURAL_MARKS: dict[str, str] = {CONTACTS: "contact_key", ENGAGEMENT_EVENTS: "event_key"}


def natural_id(collection: str, doc: Mapping[str, Any]) -> str:
    """The ``_id`` of ``doc`` in ``collection``: its key fields, each quoted, joined by ``:``.

    Quoting keeps it one-to-one (a ``:`` inside an id cannot make two keys collide); the
    EmailOctopus ids are UUIDs and pass unchanged.

    >>> natural_id("engagement_events", {"campaign_id": "c1", "contact_id": "p:2", "event_type": "opened"})
    'c1:p%3A2:opened'
    """
    return ":".join(quote(str(doc[field]), safe="-_.") for field in NATURAL_KEYS[collection])


# Append-only series that become native time-series collections on MongoDB >= 5.
_TIME_SERIES: dict[str, dict[str, str]] = {
    CAMPAIGN_METRICS_SNAPSHOTS: {"timeField": "snapshot_time", "metaField": "campaign_id", "granularity": "hours"},
    LIST_COUNT_SNAPSHOTS: {"timeField": "snapshot_time", "metaField": "list_id", "granularity": "hours"},
}

_announced: set[str] = set()
_announce_lock = threading.Lock()


def redact_uri(uri: str) -> str:
    """A MongoDB URI fit for logs and screens: the password (and any secret option) masked.

    >>> redact_uri("mongodb+srv://ana:s3cr3t@cluster0.example.net/?retryWrites=true")
    'mongodb+srv://ana:***@cluster0.example.net/?retryWrites=true'
    """
    masked = re.sub(r"^([a-z+]+://[^:/@]+):[^@]*@", r"\1:***@", uri, flags=re.I)
    return redact(masked)


class Store:
    """An open store: the database, its collections, and what kind of store it is.

    ``kind`` is ``"uri"``, ``"mongod"`` or ``"embedded"``; ``description`` is human text for
    screens and logs (never a password). Collections are attributes named like the
    collections (``store.contacts``); :data:`COLLECTIONS` lists them.
    """

    users: Any
    audit_log: Any
    campaigns: Any
    campaign_metrics_snapshots: Any
    campaign_links: Any
    lists: Any
    list_count_snapshots: Any
    contacts: Any
    engagement_events: Any
    sync_runs: Any
    partners: Any
    reports: Any
    locks: Any
    login_attempts: Any
    deliveries: Any
    conversion_uploads: Any
    conversions: Any
    customers: Any
    energy_analyses: Any
    customer_schemas: Any
    project_rules: Any
    link_reports: Any

    def __init__(self, client: Any, db_name: str, kind: str, description: str) -> None:
        self.client = client
        self.db = client[db_name]
        self.kind = kind
        self.description = description
        for name in COLLECTIONS:
            setattr(self, name, self.db[name])
        self._server_version: tuple[int, ...] | None = None

    def __repr__(self) -> str:
        return f"<Store {self.kind}: {self.description}>"

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def server_version(self) -> tuple[int, ...]:
        """MongoDB's version, ``(0,)`` for the embedded store (which has no server)."""
        if self._server_version is None:
            if self.kind == "embedded":
                self._server_version = (0,)
            else:
                try:
                    info = self.db.command("buildInfo")
                    self._server_version = tuple(int(x) for x in info.get("versionArray", [0])[:3])
                except Exception as exc:  # noqa: BLE001 - an unknown version only disables time series
                    logger.debug("buildInfo failed: %s", exc)
                    self._server_version = (0,)
        return self._server_version

    def ensure_indexes(self) -> None:
        """Create the collections and indexes octopus relies on. Safe to call on every start.

        On MongoDB >= 5 the two snapshot collections are created as native time-series
        collections (only when they do not exist yet: an existing collection is never
        converted). Unique indexes: ``emailoctopus_id`` on campaigns and lists,
        (campaign_id, url) on links, ``username`` on users; contacts and engagement events
        are unique by their natural ``_id`` (:data:`NATURAL_KEYS`). A store written before
        natural ids is migrated here first (:meth:`migrate_natural_ids`).
        """
        try:
            if self.server_version >= (5,):
                existing = set(self.db.list_collection_names())
                for name, spec in _TIME_SERIES.items():
                    if name not in existing:
                        self._create_time_series(name, spec)
            for name in NATURAL_KEYS:
                self.migrate_natural_ids(name)
            for name, keys, options in INDEXES:
                self.db[name].create_index(keys, **options)
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(f"could not create the indexes in {self.description}: {exc}") from exc

    def migrate_natural_ids(self, name: str, batch_size: int = 200) -> int:
        """Re-key a collection written before natural ids; return how many documents moved.

        Runs when the collection lacks its marker index (:data:`_NATURAL_MARKS`), which
        ``ensure_indexes`` creates after this: so it is one read of index names on every
        later call. Steps, each safe to repeat after a crash: drop the old unique compound
        index (it would make every copy below conflict), copy each document whose ``_id`` is
        not natural under its natural ``_id`` (a copy left by an interrupted run counts as
        done), then delete the original. Nothing is deleted before its copy exists.
        """
        from pymongo.errors import BulkWriteError

        collection = self.db[name]
        key = NATURAL_KEYS[name]
        info = collection.index_information()
        if _NATURAL_MARKS[name] in info:
            return 0
        for index_name, spec in info.items():
            if [tuple(k) for k in spec.get("key", [])][:len(key)] == [(f, 1) for f in key] and spec.get("unique"):
                collection.drop_index(index_name)
        old_ids: list[Any] = []
        for batch in iter_batches(collection, {}, {field: 1 for field in key}):
            # A document without its key fields was not written by a sync: left as it is.
            old_ids.extend(d["_id"] for d in batch
                           if all(d.get(f) is not None for f in key) and d["_id"] != natural_id(name, d))
        for start in range(0, len(old_ids), batch_size):
            chunk = old_ids[start:start + batch_size]
            # Small batches through iter_batches: the embedded store's find() and $in are
            # quadratic in the batch.
            copies = [dict(d, _id=natural_id(name, d))
                      for batch in iter_batches(collection, {"_id": {"$in": chunk}}) for d in batch]
            try:
                if copies:
                    collection.insert_many(copies, ordered=False)
            except BulkWriteError as exc:
                if any(err.get("code") != 11000 for err in exc.details.get("writeErrors", [])):
                    raise
            collection.delete_many({"_id": {"$in": chunk}})
        if old_ids:
            logger.warning("moved %d %s documents to natural ids", len(old_ids), name)
        return len(old_ids)

    def _create_time_series(self, name: str, spec: dict[str, str]) -> None:
        from pymongo.errors import CollectionInvalid, OperationFailure

        try:
            self.db.create_collection(name, timeseries=spec)
            logger.info("created time-series collection %s", name)
        except (CollectionInvalid, OperationFailure) as exc:
            # Another process created it first: fine. Anything else is a real problem.
            if "already exists" not in str(exc) and getattr(exc, "code", None) != 48:
                raise

    def is_time_series(self, name: str) -> bool:
        """Whether collection ``name`` is a native time-series collection."""
        if self.kind == "embedded":
            return False
        infos = list(self.db.list_collections(filter={"name": name}))
        return bool(infos) and infos[0].get("type") == "timeseries"

    def close(self) -> None:
        """Close the client. A private mongod keeps running for other processes."""
        try:
            self.client.close()
        except Exception as exc:  # noqa: BLE001 - closing must not mask the caller's error
            logger.debug("closing the store failed: %s", exc)


def iter_batches(
    collection: Any,
    query: dict[str, Any] | None = None,
    projection: dict[str, Any] | None = None,
    batch_size: int = 10_000,
    *,
    scan: bool = False,
) -> Iterator[list[dict[str, Any]]]:
    """Yield the documents matching ``query`` in lists of at most ``batch_size``.

    Uses an aggregation (``$match`` then ``$project``) rather than ``find()``: the embedded
    store's ``find`` cursor copies its whole result list at every step (quadratic; 100k
    documents take ~16 s), while its aggregation cursor is linear and uses the indexes for
    the ``$match``. On MongoDB both stream. Datetimes come back naive (meaning UTC) from the
    embedded store's aggregation and tz-aware from MongoDB: callers must accept both.

    On the embedded store, a read of the whole collection (``query`` empty) or one the
    caller marks ``scan`` (it matches a large share of the collection, e.g. every event of
    one type) is one sequential pass over the SQLite file instead
    (:func:`octolib.store.embedded_scan.scan_batches`: the same documents, 30-100 times
    cheaper, because litemongo's query engine rewrites and copies every document in Python).
    A selective query (a few campaigns' events) uses litemongo's indexes for its candidates,
    then decodes, tests and projects each once
    (:func:`octolib.store.embedded_scan.indexed_batches`). ``scan`` means nothing on MongoDB.
    """
    from octolib.store.embedded_scan import indexed_batches, scan_batches

    if scan or not query:
        batches = scan_batches(collection, query, projection, batch_size)
    else:
        batches = indexed_batches(collection, query, projection, batch_size)
    if batches is not None:
        yield from batches
        return
    pipeline: list[dict[str, Any]] = [{"$match": query or {}}]
    if projection:
        pipeline.append({"$project": projection})
    cursor = collection.aggregate(pipeline, batchSize=batch_size)
    try:
        while True:
            batch = list(islice(cursor, batch_size))
            if not batch:
                return
            yield batch
    finally:
        cursor.close()


def docs_by_id(collection: Any, ids: list[Any], projection: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The documents whose ``_id`` is in ``ids`` (the ones that exist), projected.

    On the embedded store a primary-key read of the SQLite file
    (:func:`octolib.store.embedded_scan.docs_by_id`: litemongo would first index the whole
    collection in a new process); elsewhere ``find({"_id": {"$in": ids}})``. Datetimes may
    come back naive (UTC) or aware, as from :func:`iter_batches`.
    """
    from octolib.store.embedded_scan import docs_by_id as embedded_docs_by_id

    found = embedded_docs_by_id(collection, ids, projection)
    if found is not None:
        return found
    return list(collection.find({"_id": {"$in": list(ids)}}, projection))


def first_sorted(collection: Any, query: dict[str, Any], sort: list[tuple[str, int]],
                 projection: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The first document matching ``query`` in the order ``sort`` (e.g. the latest sync run),
    projected; None when none matches. Datetimes come back aware (UTC).

    On MongoDB an aggregation (``$match``, ``$sort``, ``$limit`` 1, ``$project``) that its
    indexes serve; on the embedded store :func:`octolib.store.embedded_scan.first_sorted`
    (litemongo would copy every matching document in full first).
    """
    from octolib.store.embedded_scan import first_sorted as embedded_first_sorted

    handled, doc = embedded_first_sorted(collection, query, sort, projection)
    if handled:
        return doc
    pipeline: list[dict[str, Any]] = [{"$match": query}, {"$sort": dict(sort)}, {"$limit": 1}]
    if projection:
        pipeline.append({"$project": projection})
    return next(iter(collection.aggregate(pipeline)), None)


def connect(settings: Settings, *, find_mongod: Callable[[str], str | None] = shutil.which) -> Store:
    """Open the store that ``settings`` point to (see the module docstring for the order).

    ``find_mongod`` looks a binary up on PATH (``shutil.which``); tests pass their own.
    Raises :class:`~octolib.errors.StoreError` with a one-line reason when the store cannot
    be opened.
    """
    if settings.mongodb_uri:
        return _connect_uri(settings.mongodb_uri, settings.db_name, kind="uri")
    mongod = find_mongod("mongod")
    if mongod:
        from octolib.store.mongod import LocalMongod

        server = LocalMongod(Path(settings.data_dir) / "mongod", binary=mongod)
        uri = server.ensure_running()
        store = _connect_uri(uri, settings.db_name, kind="mongod")
        store.description = f"private mongod at {uri.split('://', 1)[1]} (data in {server.dbpath})"
        return store
    return connect_embedded(Path(settings.data_dir) / "embedded", settings.db_name)


def _connect_uri(uri: str, db_name: str, kind: str) -> Store:
    import pymongo
    from pymongo.errors import ConfigurationError, PyMongoError

    shown = redact_uri(uri)
    # Fail within 10 s when the server is away, unless the URI sets its own timeout.
    options: dict[str, Any] = {} if "serverselectiontimeoutms" in uri.lower() else {"serverSelectionTimeoutMS": 10_000}
    try:
        client: Any = pymongo.MongoClient(uri, tz_aware=True, appname="octopus", **options)
        client.admin.command("ping")
    except ConfigurationError as exc:
        raise StoreError(f"OCTO_MONGODB_URI is not a valid MongoDB URI ({shown}): {redact(str(exc))}") from None
    except PyMongoError as exc:
        raise StoreError(f"cannot reach MongoDB at {shown}: {redact_uri(str(exc))[:300]}") from None
    return Store(client, db_name, kind, f"MongoDB at {shown}, database {db_name!r}")


def connect_embedded(path: Path, db_name: str = "octopus") -> Store:
    """Open (creating if needed) the embedded litemongo store in folder ``path``."""
    try:
        from litemongo import MongoClient, sqlite_store  # type: ignore[attr-defined,unused-ignore]
    except ImportError as exc:  # pragma: no cover - litemongo is a dependency on Python >= 3.11
        raise StoreError(
            f"the embedded store needs the litemongo package (Python 3.11+): {exc}. "
            "Install it, or set OCTO_MONGODB_URI to a MongoDB server"
        ) from None
    path = Path(path).expanduser().resolve()
    try:
        client = MongoClient(sqlite_store.ServerStore(path), tz_aware=True)
    except (OSError, ValueError) as exc:
        raise StoreError(f"cannot open the embedded store at {path}: {exc}") from None
    with _announce_lock:
        if str(path) not in _announced:
            _announced.add(str(path))
            logger.warning(
                "using the embedded store at %s (litemongo: fine for trying out and small accounts; "
                "set OCTO_MONGODB_URI or install mongod for a real MongoDB)",
                path,
            )
    return Store(client, db_name, "embedded", f"embedded store (litemongo) at {path}, database {db_name!r}")


_WRITE_METHODS = frozenset({
    "insert_one", "insert_many", "update_one", "update_many", "replace_one", "delete_one", "delete_many",
    "bulk_write", "find_one_and_update", "find_one_and_replace", "find_one_and_delete", "drop",
    "create_index", "create_indexes", "drop_index", "drop_indexes", "rename",
})


class ReadOnlyCollection:
    """A collection octopus must only read (an owner's ``customers`` / ``energy_analyses``).

    Reads pass through; any write raises :class:`~octolib.errors.StoreError` and is counted
    in ``attempted_writes``, so a test can prove octopus never wrote, and a bug cannot
    silently change the owner's data. An aggregation with ``$out``/``$merge`` is a write too.
    """

    def __init__(self, collection: Any) -> None:
        self._collection = collection
        self.attempted_writes = 0
        self.name: str = getattr(collection, "name", "?")

    def aggregate(self, pipeline: list[dict[str, Any]], *args: Any, **kwargs: Any) -> Any:
        if any("$out" in stage or "$merge" in stage for stage in pipeline):
            self._refuse("aggregate with $out/$merge")
        return self._collection.aggregate(pipeline, *args, **kwargs)

    def _refuse(self, what: str) -> None:
        self.attempted_writes += 1
        raise StoreError(f"{self.name} is the owner's collection (read-only for octopus); refused {what}")

    def __getattr__(self, attr: str) -> Any:
        if attr in _WRITE_METHODS:
            def refuse(*_args: Any, **_kwargs: Any) -> Any:
                self._refuse(attr)
            return refuse
        return getattr(self._collection, attr)


def customer_collections(
    store: Store, *, db_name: str = "", customers: str = CUSTOMERS, projects: str = ENERGY_ANALYSES,
    existing: bool = False,
) -> tuple[Any, Any]:
    """The (customers, projects) collections: octopus's own, or an owner's existing ones.

    ``existing`` (``OCTO_CUSTOMERS_SOURCE=existing``) opens ``db_name.customers`` and
    ``db_name.projects`` on the same server wrapped in :class:`ReadOnlyCollection`: octopus
    reads them and never writes (DESIGN.md §2, phase 2). Otherwise the store's own
    collections of those names, written only by the importers.
    """
    db = store.client[db_name] if db_name else store.db
    if existing:
        return ReadOnlyCollection(db[customers]), ReadOnlyCollection(db[projects])
    return db[customers], db[projects]
