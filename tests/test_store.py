"""The store: connect() order, indexes, the embedded store's promises, locks, numpy readers.

Store tests run on the embedded store always, and on a real MongoDB when
``OCTO_TEST_MONGODB_URI`` is set or ``mongod`` is on PATH (skipped with the reason otherwise).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import textwrap
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from pymongo import UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError

from octolib.config import Settings
from octolib.errors import StoreError
from octolib.store import (
    COLLECTIONS,
    CONTACTS,
    ENGAGEMENT_EVENTS,
    METRIC_KEYS,
    Store,
    campaign_arrays,
    connect,
    contact_arrays,
    event_arrays,
    iter_batches,
    link_rows,
    list_count_arrays,
    redact_uri,
    snapshot_arrays,
)
from octolib.store.core import NATURAL_KEYS, natural_id
from octolib.store.locks import LockHeld, acquire_lock, new_owner, refresh_lock, release_lock
from octolib.store.mongod import LocalMongod

UTC = timezone.utc
NO_MONGOD = lambda name: None  # noqa: E731 - find_mongod that finds nothing


def real_mongodb_reason() -> str | None:
    if os.environ.get("OCTO_TEST_MONGODB_URI") or shutil.which("mongod"):
        return None
    return "no real MongoDB: set OCTO_TEST_MONGODB_URI or put mongod on PATH to run the store tests against it"


@pytest.fixture(params=["embedded", "mongodb"])
def store(request, tmp_path):
    """A fresh, empty store of each kind (indexes created)."""
    if request.param == "embedded":
        st = connect(Settings(data_dir=tmp_path), find_mongod=NO_MONGOD)
        st.ensure_indexes()
        yield st
        st.close()
        return
    reason = real_mongodb_reason()
    if reason:
        pytest.skip(reason)
    db_name = f"octotest_{uuid.uuid4().hex[:8]}"
    uri = os.environ.get("OCTO_TEST_MONGODB_URI", "")
    st = connect(Settings(mongodb_uri=uri, data_dir=tmp_path, db_name=db_name))
    st.ensure_indexes()
    yield st
    st.client.drop_database(db_name)
    st.close()
    if not uri:
        LocalMongod(tmp_path / "mongod").stop()


# ---------------------------------------------------------------- connect()

def test_connect_without_uri_or_mongod_opens_the_embedded_store_and_says_so_once(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="octolib.store.core")
    data_dir = tmp_path / "data"
    first = connect(Settings(data_dir=data_dir), find_mongod=NO_MONGOD)
    second = connect(Settings(data_dir=data_dir), find_mongod=NO_MONGOD)
    try:
        assert first.kind == second.kind == "embedded"
        assert str((data_dir / "embedded").resolve()) in first.description
        announcements = [r for r in caplog.records if "using the embedded store at" in r.getMessage()]
        assert len(announcements) == 1
        assert (data_dir / "embedded").is_dir()
    finally:
        first.close()
        second.close()


def test_store_has_an_attribute_for_every_collection(tmp_path):
    with connect(Settings(data_dir=tmp_path), find_mongod=NO_MONGOD) as st:
        assert isinstance(st, Store)
        for name in COLLECTIONS:
            assert getattr(st, name).name == name
        assert st.db.name == "octopus"


def test_uri_wins_and_an_unreachable_server_fails_without_showing_the_password(tmp_path):
    calls = []

    def find(name):
        calls.append(name)
        return "/nonexistent/mongod"

    settings = Settings(data_dir=tmp_path, mongodb_uri="mongodb://ana:hunter22@127.0.0.1:9/?serverSelectionTimeoutMS=300")
    with pytest.raises(StoreError) as err:
        connect(settings, find_mongod=find)
    assert "hunter22" not in str(err.value)
    assert "ana:***@127.0.0.1:9" in str(err.value)
    assert calls == []  # the URI is used before any mongod lookup


def test_redact_uri_masks_the_password_only():
    assert redact_uri("mongodb://u:p%40ss@h1,h2/db?authSource=admin") == "mongodb://u:***@h1,h2/db?authSource=admin"
    assert redact_uri("mongodb://h/db") == "mongodb://h/db"


def _fake_mongod(tmp_path: Path, body: str) -> str:
    script = tmp_path / "bin" / "mongod"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(f"#!{sys.executable}\n" + textwrap.dedent(body))
    script.chmod(0o755)
    return str(script)


def test_a_mongod_on_path_is_preferred_to_the_embedded_store_and_its_failure_is_reported(tmp_path):
    # A "mongod" that writes a log line and exits: connect() must try it, not fall back silently.
    binary = _fake_mongod(tmp_path, """
        import sys
        args = sys.argv[1:]
        log = args[args.index("--logpath") + 1]
        assert args[args.index("--bind_ip") + 1] == "127.0.0.1"
        open(log, "a").write("fake mongod: unsupported storage engine\\n")
        sys.exit(14)
    """)
    with pytest.raises(StoreError) as err:
        connect(Settings(data_dir=tmp_path / "data"), find_mongod=lambda name: binary)
    assert "exited with code 14" in str(err.value)
    assert "unsupported storage engine" in str(err.value)
    assert (tmp_path / "data" / "mongod" / "db").is_dir()


def test_a_mongod_that_never_answers_is_killed_after_the_timeout(tmp_path):
    binary = _fake_mongod(tmp_path, "import time\ntime.sleep(60)\n")
    server = LocalMongod(tmp_path / "m", binary=binary, start_timeout_s=0.5)
    with pytest.raises(StoreError, match="did not answer"):
        server.ensure_running()
    assert not server.state_file.exists()
    assert server.stop() is False  # nothing recorded, nothing to stop


# ---------------------------------------------------------------- indexes and writes

def test_ensure_indexes_is_idempotent_and_unique_keys_are_enforced(store):
    store.ensure_indexes()  # second call: no error, same indexes
    # Contacts and events are unique by their natural _id (one primary-key check per insert).
    for name, a, b in ((CONTACTS, {"list_id": "L1", "emailoctopus_id": "c1"}, {"list_id": "L2", "emailoctopus_id": "c1"}),
                       (ENGAGEMENT_EVENTS, {"campaign_id": "k", "contact_id": "c1", "event_type": "opened"},
                        {"campaign_id": "k", "contact_id": "c1", "event_type": "clicked"})):
        coll = store.db[name]
        coll.insert_one(dict(a, _id=natural_id(name, a)))
        coll.insert_one(dict(b, _id=natural_id(name, b)))  # same person, other list / other event: fine
        with pytest.raises(DuplicateKeyError):
            coll.insert_one(dict(a, _id=natural_id(name, a)))
        assert not [v for v in coll.index_information().values() if v.get("unique") and len(v["key"]) > 1]
    for coll in ("campaigns", "lists"):
        getattr(store, coll).insert_one({"emailoctopus_id": "x"})
        with pytest.raises(DuplicateKeyError):
            getattr(store, coll).insert_one({"emailoctopus_id": "x"})
    store.users.insert_one({"username": "ana"})
    with pytest.raises(DuplicateKeyError):
        store.users.insert_one({"username": "ana"})


def test_natural_ids_are_one_to_one():
    a = natural_id(ENGAGEMENT_EVENTS, {"campaign_id": "a:b", "contact_id": "c", "event_type": "opened"})
    b = natural_id(ENGAGEMENT_EVENTS, {"campaign_id": "a", "contact_id": "b:c", "event_type": "opened"})
    assert a != b
    uuid_key = {"list_id": "00000000-0000-1000-8000-000000000001", "emailoctopus_id": "f0e1d2c3-0000-1000-8000-00000000abcd"}
    assert natural_id(CONTACTS, uuid_key) == f"{uuid_key['list_id']}:{uuid_key['emailoctopus_id']}"


def _old_style(store, name, docs):
    """Make ``name`` look like a store written before natural ids: ObjectIds, a unique compound index."""
    coll = store.db[name]
    coll.drop()
    coll.create_index([(f, 1) for f in NATURAL_KEYS[name]], unique=True)
    coll.insert_many([dict(d) for d in docs])


def test_a_store_with_object_ids_is_migrated_to_natural_ids_once_and_keeps_every_document(store):
    at = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
    events = [{"campaign_id": f"k{i % 7}", "contact_id": f"c{i}", "event_type": t, "count": i,
               "occurred_at": at + timedelta(minutes=i)} for i in range(300) for t in ("opened", "clicked")]
    contacts = [{"list_id": "L", "emailoctopus_id": f"c{i}", "email": f"c{i}@example.com"} for i in range(300)]
    _old_style(store, ENGAGEMENT_EVENTS, events)
    _old_style(store, CONTACTS, contacts + [{"email": "typed-in-by-hand@example.com"}])
    store.ensure_indexes()
    for name, docs in ((ENGAGEMENT_EVENTS, events), (CONTACTS, contacts)):
        stored = {d["_id"]: d for d in store.db[name].find({NATURAL_KEYS[name][0]: {"$exists": True}})}
        assert len(stored) == len(docs)
        assert all(stored[natural_id(name, d)][k] == v for d in docs for k, v in d.items())
        info = store.db[name].index_information()
        assert not [v for v in info.values() if v.get("unique") and len(v["key"]) > 1]
        assert store.migrate_natural_ids(name) == 0  # marked done: not scanned again
    assert store.contacts.count_documents({"email": "typed-in-by-hand@example.com"}) == 1  # no key: left alone
    # A writer now finds every migrated document: nothing inserted twice.
    from octolib.sync.writers import save_events

    counts = save_events(store, events, datetime(2025, 1, 1, tzinfo=UTC))
    assert (counts.inserted, counts.unchanged) == (0, len(events))
    assert store.engagement_events.count_documents({}) == len(events)


def test_an_interrupted_migration_finishes_without_losing_or_doubling_documents(store):
    events = [{"campaign_id": "k", "contact_id": f"c{i}", "event_type": "opened"} for i in range(50)]
    _old_style(store, ENGAGEMENT_EVENTS, events)
    # As if a run copied the first 20 and died before deleting their originals.
    store.engagement_events.drop_index("campaign_id_1_contact_id_1_event_type_1")
    store.engagement_events.insert_many([dict(d, _id=natural_id(ENGAGEMENT_EVENTS, d)) for d in events[:20]])
    assert store.engagement_events.count_documents({}) == 70
    assert store.migrate_natural_ids(ENGAGEMENT_EVENTS) == 50
    assert sorted(d["_id"] for d in store.engagement_events.find({})) == sorted(
        natural_id(ENGAGEMENT_EVENTS, d) for d in events)


def test_unordered_bulk_upserts_write_everything_but_the_duplicate(store):
    store.lists.insert_one({"emailoctopus_id": "dup", "name": "old"})
    ops = [UpdateOne({"emailoctopus_id": f"l{i}"}, {"$set": {"name": f"n{i}"}}, upsert=True) for i in range(5)]
    result = store.lists.bulk_write(ops, ordered=False)
    assert (result.upserted_count, result.modified_count) == (5, 0)
    again = store.lists.bulk_write(ops, ordered=False)
    assert (again.upserted_count, again.matched_count, again.modified_count) == (0, 5, 0)
    from pymongo import InsertOne

    with pytest.raises(BulkWriteError):
        store.lists.bulk_write([InsertOne({"emailoctopus_id": "dup"}), InsertOne({"emailoctopus_id": "new"})],
                               ordered=False)
    assert store.lists.count_documents({"emailoctopus_id": "new"}) == 1
    assert store.lists.find_one({"emailoctopus_id": "dup"})["name"] == "old"


def test_datetimes_come_back_tz_aware_utc_at_the_same_instant(store):
    plus2 = timezone(timedelta(hours=2))
    sent = datetime(2024, 5, 1, 14, 0, 0, tzinfo=plus2)
    store.campaigns.insert_one({"emailoctopus_id": "c", "sent_at": sent})
    back = store.campaigns.find_one({"emailoctopus_id": "c"})["sent_at"]
    assert back.utcoffset() == timedelta(0)
    assert back == sent
    assert store.campaigns.count_documents({"sent_at": {"$gte": datetime(2024, 5, 1, 12, tzinfo=UTC)}}) == 1
    assert store.campaigns.count_documents({"sent_at": {"$gt": datetime(2024, 5, 1, 12, tzinfo=UTC)}}) == 0


def test_iter_batches_yields_every_matching_document_once(store):
    store.contacts.insert_many([{"list_id": "L", "emailoctopus_id": f"c{i:04d}", "n": i} for i in range(2500)])
    store.contacts.insert_one({"list_id": "other", "emailoctopus_id": "z"})
    batches = list(iter_batches(store.contacts, {"list_id": "L"}, {"_id": 0, "n": 1}, batch_size=1000))
    assert [len(b) for b in batches] == [1000, 1000, 500]
    assert sorted(d["n"] for b in batches for d in b) == list(range(2500))
    assert all(set(d) == {"n"} for b in batches for d in b)


# ---------------------------------------------------------------- the embedded store across processes

def test_embedded_store_is_shared_with_another_process(tmp_path):
    data_dir = tmp_path / "shared"
    st = connect(Settings(data_dir=data_dir), find_mongod=NO_MONGOD)
    st.ensure_indexes()
    st.lists.insert_one({"emailoctopus_id": "from-parent"})
    assert st.lists.count_documents({}) == 1  # the parent has read (and cached) the collection
    child = textwrap.dedent(f"""
        import sys
        from pymongo.errors import DuplicateKeyError
        from octolib.config import Settings
        from octolib.store import connect
        st = connect(Settings(data_dir={str(data_dir)!r}), find_mongod=lambda n: None)
        assert st.lists.count_documents({{"emailoctopus_id": "from-parent"}}) == 1, "child cannot see parent"
        try:
            st.lists.insert_one({{"emailoctopus_id": "from-parent"}})
            sys.exit("unique index not enforced in the second process")
        except DuplicateKeyError:
            pass
        st.lists.insert_one({{"emailoctopus_id": "from-child"}})
        st.close()
    """)
    proc = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "using the embedded store at" in proc.stderr  # announced in the child too
    assert sorted(d["emailoctopus_id"] for d in st.lists.find({}, {"_id": 0})) == ["from-child", "from-parent"]
    with pytest.raises(DuplicateKeyError):  # the parent's unique check sees the child's document
        st.lists.insert_one({"emailoctopus_id": "from-child"})
    st.close()


# ---------------------------------------------------------------- locks

def test_a_lock_is_exclusive_until_released_or_expired(store):
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    ana, bob = new_owner(label="ana"), new_owner(label="bob")
    acquire_lock(store.locks, "sync", ana, ttl_s=60, now=t0)
    with pytest.raises(LockHeld) as held:
        acquire_lock(store.locks, "sync", bob, ttl_s=60, now=t0 + timedelta(seconds=30))
    assert "ana" in str(held.value)
    assert refresh_lock(store.locks, "sync", ana, ttl_s=60, now=t0 + timedelta(seconds=50))
    with pytest.raises(LockHeld):  # the refresh pushed the expiry to t0+110 s
        acquire_lock(store.locks, "sync", bob, ttl_s=60, now=t0 + timedelta(seconds=100))
    doc = acquire_lock(store.locks, "sync", bob, ttl_s=60, now=t0 + timedelta(seconds=111))
    assert doc["owner"]["label"] == "bob" and doc["previous_owner"]["label"] == "ana"
    assert not refresh_lock(store.locks, "sync", ana, ttl_s=60)  # ana lost it
    assert not release_lock(store.locks, "sync", ana)
    assert release_lock(store.locks, "sync", bob)
    acquire_lock(store.locks, "sync", ana, ttl_s=60, now=t0)


def test_a_lock_left_by_a_dead_process_on_this_host_is_taken_at_once(store):
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = new_owner(label="killed sync")
    dead["pid"] = int(proc.stdout)
    acquire_lock(store.locks, "sync", dead, ttl_s=3600)
    me = new_owner(label="me")
    assert acquire_lock(store.locks, "sync", me, ttl_s=60)["owner"]["token"] == me["token"]


# ---------------------------------------------------------------- readers

def _t(day: int, hour: int = 0) -> datetime:
    return datetime(2024, 3, day, hour, tzinfo=UTC)


def test_campaign_arrays_are_typed_sorted_and_default_missing_values(store):
    docs = [
        {"emailoctopus_id": "b", "name": "B", "subject": "sb", "status": "sent", "list_ids": ["L2", "L1"],
         "created_at": _t(1), "sent_at": _t(3),
         "current_metrics": {k: i + 1 for i, k in enumerate(METRIC_KEYS)}},
        {"emailoctopus_id": "a", "name": "A", "subject": None, "status": "sent", "list_ids": ["L1"],
         "created_at": _t(1), "sent_at": _t(2), "current_metrics": {"sent": 7}},
        {"emailoctopus_id": "d", "name": "Draft", "status": "draft", "list_ids": [], "created_at": _t(4),
         "sent_at": None},
    ]
    store.campaigns.insert_many(docs)
    arr = campaign_arrays(store)
    assert arr["campaign_id"].tolist() == ["a", "b", "d"]  # by sent_at, unsent last
    assert arr["list_id"].tolist() == ["L1", "L2", ""]
    assert arr["subject"].tolist() == ["", "sb", ""]
    assert arr["sent_at"].dtype == np.dtype("datetime64[s]")
    assert np.isnat(arr["sent_at"][2]) and arr["sent_at"][0] == np.datetime64("2024-03-02T00:00:00")
    for i, key in enumerate(METRIC_KEYS):
        assert arr[key].dtype == np.int64
        assert arr[key].tolist() == [7 if key == "sent" else 0, i + 1, 0]
    sent_only = campaign_arrays(store, {"status": "sent"})
    assert sent_only["campaign_id"].tolist() == ["a", "b"]
    assert set(sent_only) == set(arr)
    empty = campaign_arrays(store, {"status": "nope"})
    assert all(len(v) == 0 for v in empty.values()) and empty["sent_at"].dtype == np.dtype("datetime64[s]")


def test_event_arrays_filter_by_campaign_type_and_half_open_window(store):
    rows = []
    for c in ("k1", "k2"):
        for i in range(30):
            rows.append({"campaign_id": c, "contact_id": f"p{i:02d}", "event_type": "opened" if i % 3 else "clicked",
                         "occurred_at": _t(1) + timedelta(hours=i), "count": 1 + i % 2})
    store.engagement_events.insert_many(rows)
    since, until = _t(1, 5), _t(1, 20)
    got = event_arrays(store, campaign_ids=["k1"], event_types=["opened"], since=since, until=until)
    want = sorted((r["occurred_at"], r["contact_id"], r["count"]) for r in rows
                  if r["campaign_id"] == "k1" and r["event_type"] == "opened" and since <= r["occurred_at"] < until)
    assert got["contact_id"].tolist() == [w[1] for w in want]
    assert got["count"].tolist() == [w[2] for w in want]
    assert (got["occurred_at"] == np.array([w[0].replace(tzinfo=None) for w in want], dtype="datetime64[s]")).all()
    assert len(event_arrays(store)["campaign_id"]) == 60


def test_contact_snapshot_list_count_and_link_readers(store):
    store.contacts.insert_many([
        {"list_id": "L1", "emailoctopus_id": "c2", "status": "subscribed", "created_at": _t(2), "opens": 3,
         "clicks": 1, "last_opened_at": _t(5), "last_clicked_at": None},
        {"list_id": "L1", "emailoctopus_id": "c1", "status": "pending", "created_at": _t(1)},
        {"list_id": "L2", "emailoctopus_id": "c3", "status": "unsubscribed", "created_at": _t(3)},
    ])
    c = contact_arrays(store, list_ids=["L1"])
    assert c["contact_id"].tolist() == ["c1", "c2"]
    assert c["opens"].tolist() == [0, 3] and c["clicks"].tolist() == [0, 1]
    assert np.isnat(c["last_opened_at"][0]) and not np.isnat(c["last_opened_at"][1])
    assert len(contact_arrays(store)["contact_id"]) == 3

    store.campaign_metrics_snapshots.insert_many([
        {"campaign_id": "k", "snapshot_time": _t(2), "metrics": {"sent": 10, "opened": 2}},
        {"campaign_id": "k", "snapshot_time": _t(1), "metrics": {"sent": 10, "opened": 1}},
        {"campaign_id": "j", "snapshot_time": _t(1), "metrics": {"sent": 5}},
    ])
    s = snapshot_arrays(store, ["k"])
    assert s["opened"].tolist() == [1, 2] and s["sent"].tolist() == [10, 10]
    assert snapshot_arrays(store)["campaign_id"].tolist() == ["j", "k", "k"]

    store.list_count_snapshots.insert_many([
        {"list_id": "L1", "snapshot_time": _t(2), "counts": {"subscribed": 5, "unsubscribed": 1, "pending": 0}},
        {"list_id": "L1", "snapshot_time": _t(1), "counts": {"subscribed": 4, "unsubscribed": 0, "pending": 2}},
    ])
    lc = list_count_arrays(store)
    assert lc["subscribed"].tolist() == [4, 5] and lc["pending"].tolist() == [2, 0]

    store.campaign_links.insert_many([
        {"campaign_id": "k", "url": "https://b", "clicked_total": 2, "clicked_unique": 2},
        {"campaign_id": "k", "url": "https://a", "clicked_total": 9, "clicked_unique": 4},
        {"campaign_id": "j", "url": "https://c", "clicked_total": 1, "clicked_unique": 1},
    ])
    assert [r["url"] for r in link_rows(store, ["k"])] == ["https://a", "https://b"]
    assert [r["campaign_id"] for r in link_rows(store, None)] == ["j", "k", "k"]


# ---------------------------------------------------------------- real MongoDB only

def test_snapshot_collections_are_time_series_on_mongodb_5(store):
    if store.kind == "embedded":
        assert not store.is_time_series("campaign_metrics_snapshots")
        return
    if store.server_version < (5,):
        pytest.skip(f"MongoDB {store.server_version} has no time-series collections")
    assert store.is_time_series("campaign_metrics_snapshots")
    assert store.is_time_series("list_count_snapshots")


# ---------------------------------------------------------------- the embedded store's sequential pass

def _aggregated(collection, query, projection):
    """What litemongo's own aggregation returns (the path iter_batches used before the scan)."""
    pipeline = [{"$match": query}] + ([{"$project": projection}] if projection else [])
    return list(collection.aggregate(pipeline))


@pytest.mark.parametrize("name, query, projection", [
    ("contacts", {}, None),
    ("contacts", {}, {"_id": 0, "list_id": 1, "emailoctopus_id": 1, "email": 1, "tags": 1}),
    ("contacts", {"status": "subscribed"}, {"_id": 1, "email": 1, "fields.CustomerId": 1}),
    ("contacts", {"status": {"$in": ["pending", "unsubscribed"]}, "opens": {"$gt": 0}}, {"state": 0}),
    ("engagement_events", {"event_type": {"$in": ["opened", "clicked"]}}, {"_id": 0, "campaign_id": 1, "occurred_at": 1}),
    ("engagement_events", {"occurred_at": {"$gte": datetime(2026, 10, 1, tzinfo=UTC)}}, None),
    ("campaigns", {"list_ids": "no-such-list"}, None),
    ("engagement_events", {"event_type": {"$in": ["clicked", "bounced"]}, "count": {"$gte": 1}}, {"_id": 0, "contact_id": 1}),
])
def test_embedded_scan_reads_what_the_aggregation_reads(synced_store, name, query, projection):
    """The sequential pass gives the same documents, fields and order as litemongo's aggregation,
    for whole-collection reads, the string filters it tests itself, and filters it leaves to
    mongomock's matcher (a comparison, a list field, a dotted projection, an exclusion)."""
    from octolib.store.embedded_scan import scan_batches

    collection = synced_store.db[name]
    expected = _aggregated(collection, query, projection)
    assert expected or query == {"list_ids": "no-such-list"}, "a read that finds nothing proves little"
    batches = scan_batches(collection, query, projection, batch_size=7)
    assert batches is not None, "the embedded store should be read by the sequential pass"
    got = [d for b in batches for d in b]
    assert got == expected
    assert name != "contacts" or query or len(got) == synced_store.contacts.count_documents({}) > 20
    via_core = [d for b in iter_batches(collection, query, projection, 7, scan=True) for d in b]
    assert via_core == expected
    from octolib.store.embedded_scan import indexed_batches

    if query:  # a selective read: candidates from litemongo's indexes, each document read once
        by_index = indexed_batches(collection, query, projection, 7)
        assert by_index is not None
        assert [d for b in by_index for d in b] == expected
        assert [d for b in iter_batches(collection, query, projection, 7) for d in b] == expected


def test_embedded_scan_sees_writes_made_between_batches(store):
    """Each batch is a fresh SELECT: an update made while the caller holds a batch (as the link
    step and the summaries do) neither breaks the pass nor makes it read a row twice."""
    if store.kind != "embedded":
        pytest.skip("the sequential pass exists only on the embedded store")
    store.contacts.insert_many([{"_id": f"L:c{i:03d}", "n": i} for i in range(250)])
    seen = []
    for batch in iter_batches(store.contacts, {}, {"n": 1}, batch_size=100):
        seen.extend(d["n"] for d in batch)
        store.contacts.update_many({"n": {"$lt": 300}}, {"$inc": {"n": 1000}})
    assert len(seen) == 250 and len(set(d % 1000 for d in seen)) == 250
    assert seen[:100] == list(range(100))  # the first batch was read before any update
    assert seen[100:] == [i + 1000 for i in range(100, 250)]  # later ones after the first update


def test_scan_is_not_used_for_other_stores():
    from octolib.store.embedded_scan import scan_batches

    class NotLitemongo:
        def aggregate(self, pipeline, **kw):
            raise AssertionError("not called")

    assert scan_batches(NotLitemongo(), {}, None, 10) is None


def test_docs_by_id_reads_what_find_reads(synced_store):
    """The primary-key read gives the documents find({"_id": {"$in": ...}}) gives (missing ids
    skipped), projected the same way; datetimes compare equal once both are UTC."""
    from octolib.store.core import docs_by_id
    from octolib.sync.compare import canon

    ids = [d["_id"] for d in synced_store.contacts.find({}, {"_id": 1}).limit(12)] + ["no-such-id"]
    projection = {"_id": 0, "email": 1, "status": 1, "created_at": 1, "tags": 1}
    expected = list(synced_store.contacts.find({"_id": {"$in": ids}}, projection))
    got = docs_by_id(synced_store.contacts, ids, projection)
    assert len(got) == len(expected) == 12
    by_email = lambda docs: sorted((canon(d) for d in docs), key=lambda d: d["email"])  # noqa: E731
    assert by_email(got) == by_email(expected)


def test_first_sorted_finds_the_latest_run_like_the_aggregation(store):
    """first_sorted gives the document $sort + $limit 1 gives (ties broken by the second key,
    a missing field sorting first in ascending order), projected, datetimes aware UTC."""
    from bson import ObjectId

    from octolib.store.core import first_sorted

    t = datetime(2026, 11, 1, 12, tzinfo=UTC)
    ids = [ObjectId() for _ in range(5)]
    store.sync_runs.insert_many([
        {"_id": ids[0], "status": "succeeded", "finished_at": t, "state": {"w": [t] * 50}},
        {"_id": ids[1], "status": "failed", "finished_at": t + timedelta(hours=2)},
        {"_id": ids[2], "status": "succeeded", "finished_at": t + timedelta(hours=1)},
        {"_id": ids[3], "status": "succeeded", "finished_at": t + timedelta(hours=1)},
        {"_id": ids[4], "status": "running", "finished_at": None},
    ])
    query = {"status": {"$in": ["succeeded", "failed"]}, "finished_at": {"$ne": None}}
    latest = first_sorted(store.sync_runs, query, [("finished_at", -1), ("_id", -1)], {"status": 1, "finished_at": 1})
    assert latest == {"_id": ids[1], "status": "failed", "finished_at": t + timedelta(hours=2)}
    tie = first_sorted(store.sync_runs, {"status": "succeeded"}, [("finished_at", -1), ("_id", -1)], {"status": 1})
    assert tie == {"_id": ids[3], "status": "succeeded"}
    oldest = first_sorted(store.sync_runs, {}, [("finished_at", 1)])
    assert oldest["_id"] == ids[4]
    whole = first_sorted(store.sync_runs, {"_id": ids[0]}, [("finished_at", 1)])
    assert whole["state"]["w"][0] == t and whole["state"]["w"][0].tzinfo is not None
    assert first_sorted(store.sync_runs, {"status": "nope"}, [("finished_at", 1)]) is None


def test_a_bulk_read_runs_without_the_cycle_collector_and_puts_it_back(synced_store):
    """A read of every contact or event runs no cyclic collection while it makes its objects
    (octolib.gc_pause: at 10x the demo those collections were a fifth to a third of a
    page's build), and leaves the collector as it found it, on or off. The collector may run
    once as each read ends (what accumulated, collected once): a few in all, where a
    collection every ten objects made 26 here before."""
    import gc

    from octolib.gc_pause import cyclic_gc_paused
    from octolib.store.readers import contact_arrays, event_arrays

    started: list[int] = []

    def count(phase: str, info: dict) -> None:
        if phase == "start":
            started.append(info["generation"])

    old = gc.get_threshold()
    gc.set_threshold(10)  # a collection every ten new container objects, were it on
    gc.callbacks.append(count)
    try:
        contacts = contact_arrays(synced_store, with_email=True)
        events = event_arrays(synced_store)
        during = list(started)
        assert gc.isenabled()
        gc.disable()
        contact_arrays(synced_store)
        assert not gc.isenabled(), "a read turned on a collector its caller had turned off"
        gc.enable()
        started.clear()
        with cyclic_gc_paused():
            pass
        [{"n": i} for i in range(100)]  # back on: new objects are collected again
    finally:
        gc.callbacks.remove(count)
        gc.set_threshold(*old)
        gc.enable()
    assert len(contacts["contact_id"]) > 20 and len(events["event_type"]) > 20
    assert len(during) <= 4, f"{len(during)} cyclic collections during two bulk reads"
    assert started, "the collector did not run again after the pause"
