"""Retention: old metric snapshots thinned to one per day per campaign (and per list).

Why: the sync appends a snapshot whenever a campaign's counts change, so a campaign that is
still collecting opens gets one per hourly sync. For recent weeks that detail shows how a
campaign unfolds; months later a daily value is all any chart or report uses, and the rest
only makes the store slower.

The rule, for snapshots older than ``older_than_days`` (counted back from ``now`` and then
rounded down to the start of that day in ``tz``, so only whole days are thinned): within each
(campaign, local day), keep the **last** snapshot of the day and delete the others. The last
one of a day is never deleted, so the value at the end of every day survives, and so does
the newest snapshot of every campaign (the sync compares new counts against it). The same
rule applies to ``list_count_snapshots`` per list.

``dry_run=True`` computes exactly what would go and deletes nothing.

On MongoDB, the snapshot collections are time-series collections (MongoDB >= 5); deleting
from them by ``_id`` needs MongoDB 7 or later. An older server gets a :class:`StoreError`
saying so, and nothing is deleted from that collection.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from octolib.errors import StoreError
from octolib.store import CAMPAIGN_METRICS_SNAPSHOTS, LIST_COUNT_SNAPSHOTS, Store

__all__ = ["SNAPSHOT_KEYS", "Thinning", "RetentionResult", "cutoff_for", "thin_snapshots"]

log = logging.getLogger(__name__)

#: Snapshot collection -> the field that says whose snapshot it is.
SNAPSHOT_KEYS: dict[str, str] = {CAMPAIGN_METRICS_SNAPSHOTS: "campaign_id", LIST_COUNT_SNAPSHOTS: "list_id"}


@dataclass
class Thinning:
    """What happened (or would happen) to one collection."""

    collection: str
    key_field: str
    cutoff: datetime
    examined: int = 0
    kept: int = 0
    deleted: int = 0
    days: int = 0
    by_key: dict[str, int] = field(default_factory=dict)  # whose snapshots go, how many

    def line(self, dry_run: bool) -> str:
        verb = "would delete" if dry_run else "deleted"
        return (f"{self.collection}: {self.examined:,} snapshots before {self.cutoff.isoformat()} in "
                f"{self.days:,} {self.key_field.split('_')[0]}-days; {verb} {self.deleted:,}, kept {self.kept:,} "
                "(the last of each day)")


@dataclass
class RetentionResult:
    dry_run: bool
    older_than_days: float
    collections: list[Thinning]

    @property
    def deleted(self) -> int:
        return sum(t.deleted for t in self.collections)

    def summary(self, detail: int = 10) -> str:
        """The lines ``octo retention`` prints; ``detail`` largest per-campaign counts each."""
        lines = [t.line(self.dry_run) for t in self.collections]
        for t in self.collections:
            top = sorted(t.by_key.items(), key=lambda kv: (-kv[1], kv[0]))[:detail]
            lines += [f"  {t.key_field} {k}: {n:,}" for k, n in top]
            if len(t.by_key) > detail:
                lines.append(f"  ... and {len(t.by_key) - detail} more")
        if self.dry_run:
            lines.append("dry run: nothing was deleted")
        return "\n".join(lines)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def cutoff_for(now: datetime, older_than_days: float, tz: str = "UTC") -> datetime:
    """The start (in ``tz``, returned in UTC) of the day that is ``older_than_days`` before ``now``.

    >>> cutoff_for(datetime(2026, 11, 27, 15, 0, tzinfo=timezone.utc), 90).isoformat()
    '2026-08-29T00:00:00+00:00'
    """
    if older_than_days <= 0:
        raise ValueError(f"older_than_days must be positive, got {older_than_days}")
    zone = ZoneInfo(tz)
    local = (_as_utc(now) - timedelta(days=older_than_days)).astimezone(zone)
    return datetime.combine(local.date(), time(0), zone).astimezone(timezone.utc)


def _old_snapshots(collection: Any, key_field: str, cutoff: datetime, batch: int) -> Iterator[dict[str, Any]]:
    pipeline = [
        {"$match": {"snapshot_time": {"$lt": cutoff}}},
        {"$project": {key_field: 1, "snapshot_time": 1}},
        {"$sort": {key_field: 1, "snapshot_time": 1, "_id": 1}},
    ]
    cursor = collection.aggregate(pipeline, batchSize=batch)
    try:
        yield from cursor
    finally:
        cursor.close()


def _delete(collection: Any, ids: list[Any], name: str) -> int:
    if not ids:
        return 0
    try:
        return int(collection.delete_many({"_id": {"$in": ids}}).deleted_count)
    except Exception as exc:
        from pymongo.errors import OperationFailure

        if isinstance(exc, OperationFailure):
            raise StoreError(f"cannot delete from {name}: {exc}. Thinning a time-series collection needs "
                             "MongoDB 7 or later; nothing more was deleted") from None
        raise


def _thin_one(store: Store, name: str, key_field: str, cutoff: datetime, zone: ZoneInfo, dry_run: bool,
              batch: int) -> Thinning:
    result = Thinning(name, key_field, cutoff)
    collection = store.db[name]
    pending: list[Any] = []
    group: tuple[Any, date] | None = None
    group_ids: list[Any] = []

    def close_group() -> None:
        # Everything but the last of the day goes.
        nonlocal pending
        if not group_ids:
            return
        result.days += 1
        result.kept += 1
        doomed = group_ids[:-1]
        if doomed:
            result.deleted += len(doomed)
            key = str(group[0]) if group else ""
            result.by_key[key] = result.by_key.get(key, 0) + len(doomed)
            pending += doomed
        if not dry_run and len(pending) >= batch:
            _delete(collection, pending, name)
            pending = []

    for doc in _old_snapshots(collection, key_field, cutoff, batch):
        result.examined += 1
        when = doc.get("snapshot_time")
        if not isinstance(when, datetime):
            continue  # not a dated snapshot: not ours to judge
        this = (doc.get(key_field), _as_utc(when).astimezone(zone).date())
        if this != group:
            close_group()
            group, group_ids = this, []
        group_ids.append(doc["_id"])
    close_group()
    if not dry_run:
        _delete(collection, pending, name)
    log.info("%s", result.line(dry_run))
    return result


def thin_snapshots(
    store: Store,
    older_than_days: float,
    *,
    tz: str = "UTC",
    dry_run: bool = False,
    now: datetime | None = None,
    clock: Callable[[], datetime] = _utcnow,
    collections: Sequence[str] = tuple(SNAPSHOT_KEYS),
    batch: int = 1000,
) -> RetentionResult:
    """Thin snapshots older than ``older_than_days`` to the last one per key per day (see above)."""
    cutoff = cutoff_for(now or clock(), older_than_days, tz)
    zone = ZoneInfo(tz)
    done = [_thin_one(store, name, SNAPSHOT_KEYS[name], cutoff, zone, dry_run, batch) for name in collections]
    return RetentionResult(dry_run=dry_run, older_than_days=older_than_days, collections=done)
