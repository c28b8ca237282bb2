"""Retention: old snapshots thinned to the last one per campaign per local day; young ones,
the last of every day and other collections must survive; a dry run deletes nothing."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from octolib.config import Settings
from octolib.ops.retention import cutoff_for, thin_snapshots
from octolib.store import connect

NOW = datetime(2026, 11, 27, 15, 0, tzinfo=timezone.utc)
TZ = "Europe/London"


@pytest.fixture
def store(tmp_path):
    s = connect(Settings(data_dir=tmp_path))
    s.ensure_indexes()
    yield s
    s.close()


def seed(store, rng: random.Random) -> list[dict]:
    """Snapshots at random times over 200 days for three campaigns, several per day, some
    right around local midnight (where UTC and London disagree about the day)."""
    docs = []
    for cid in ("c1", "c2", "c3"):
        for _ in range(400):
            t = NOW - timedelta(days=rng.uniform(0, 200))
            t = t.replace(microsecond=t.microsecond // 1000 * 1000)  # BSON keeps milliseconds
            docs.append({"campaign_id": cid, "snapshot_time": t, "metrics": {"sent": rng.randint(0, 99)}})
        for d in range(100, 110):  # 22:59 and 23:30 UTC: one UTC day, two London days (BST)
            base = datetime(2026, 5, 1, tzinfo=timezone.utc) + timedelta(days=d - 100)
            docs.append({"campaign_id": cid, "snapshot_time": base.replace(hour=23, minute=30), "metrics": {}})
            docs.append({"campaign_id": cid, "snapshot_time": base.replace(hour=22, minute=59), "metrics": {}})
    store.campaign_metrics_snapshots.insert_many([dict(d) for d in docs])
    store.list_count_snapshots.insert_many([{"list_id": "l1", "snapshot_time": NOW - timedelta(days=150, hours=h),
                                             "counts": {"subscribed": h}} for h in range(6)])
    return docs


def by_day(docs, zone):
    groups = defaultdict(list)
    for d in docs:
        t = d["snapshot_time"]
        t = t if t.tzinfo else t.replace(tzinfo=timezone.utc)
        groups[(d["campaign_id"], t.astimezone(zone).date())].append(t)
    return groups


def test_old_days_keep_exactly_their_last_snapshot_and_young_ones_all_stay(store):
    docs = seed(store, random.Random(3))
    cutoff = cutoff_for(NOW, 90, TZ)
    zone = ZoneInfo(TZ)
    before = by_day(docs, zone)

    result = thin_snapshots(store, 90, tz=TZ, now=NOW)

    after_docs = list(store.campaign_metrics_snapshots.find({}))
    after = by_day(after_docs, zone)
    assert set(after) == set(before), "every (campaign, day) still has a snapshot"
    for key, times in before.items():
        kept = after[key]
        if max(times) < cutoff:
            assert kept == [max(times)], f"{key}: only the last of the day survives"
        else:
            assert sorted(kept) == sorted(times), f"{key}: a day at or after the cutoff is not touched"
    thinned = result.collections[0]
    assert thinned.deleted == len(docs) - len(after_docs) > 0
    assert thinned.kept == sum(1 for times in before.values() if max(times) < cutoff)
    assert sum(thinned.by_key.values()) == thinned.deleted
    # The newest snapshot of each campaign (what the sync compares against) survives.
    for cid in ("c1", "c2", "c3"):
        newest = max(d["snapshot_time"] for d in docs if d["campaign_id"] == cid)
        assert store.campaign_metrics_snapshots.count_documents({"campaign_id": cid, "snapshot_time": newest}) == 1
    # Lists: six snapshots on (at most two) old days become one per day.
    lists = result.collections[1]
    assert store.list_count_snapshots.count_documents({}) == lists.kept == 6 - lists.deleted


def test_dry_run_reports_the_same_and_deletes_nothing(store):
    docs = seed(store, random.Random(5))
    dry = thin_snapshots(store, 90, tz=TZ, now=NOW, dry_run=True)
    assert store.campaign_metrics_snapshots.count_documents({}) == len(docs)
    assert "dry run: nothing was deleted" in dry.summary()
    real = thin_snapshots(store, 90, tz=TZ, now=NOW)
    assert [(t.deleted, t.kept, t.by_key) for t in dry.collections] == [(t.deleted, t.kept, t.by_key)
                                                                         for t in real.collections]
    again = thin_snapshots(store, 90, tz=TZ, now=NOW)
    assert again.deleted == 0, "thinning twice changes nothing"


def test_the_day_is_the_accounts_day(store):
    # 22:59 and 23:30 UTC on 1 May are one UTC day, but 23:59 on 1 May and 00:30 on 2 May in
    # London (BST): two London days, so in London both stay.
    t1 = datetime(2026, 5, 1, 22, 59, tzinfo=timezone.utc)
    t2 = datetime(2026, 5, 1, 23, 30, tzinfo=timezone.utc)
    store.campaign_metrics_snapshots.insert_many([{"campaign_id": "c", "snapshot_time": t} for t in (t1, t2)])
    assert thin_snapshots(store, 90, tz="Europe/London", now=NOW, dry_run=True).deleted == 0
    assert thin_snapshots(store, 90, tz="UTC", now=NOW, dry_run=True).deleted == 1
    thin_snapshots(store, 90, tz="UTC", now=NOW)
    (left,) = store.campaign_metrics_snapshots.find({})
    assert left["snapshot_time"].replace(tzinfo=timezone.utc) == t2, "the later one is kept"


def test_cutoff_is_a_day_boundary_and_age_must_be_positive():
    cut = cutoff_for(NOW, 1.5, "Europe/London")
    assert cut.astimezone(ZoneInfo("Europe/London")).time().isoformat() == "00:00:00"
    assert cut <= NOW - timedelta(days=1.5)
    with pytest.raises(ValueError):
        cutoff_for(NOW, 0)
