"""Readers for the metrics: dicts of numpy arrays built from projections, batch by batch.

The metrics (``octolib.metrics``) are pure numpy; these functions are the only bridge from
documents to arrays. Each reads just the fields it needs, in batches of
:data:`BATCH` documents (see :func:`octolib.store.core.iter_batches`), so a large collection
never becomes one big list of dicts.

Conventions of every returned dict:

- ids and other strings are ``object`` arrays of ``str`` (``""`` when missing);
- times are ``datetime64[s]`` in UTC, ``NaT`` when missing;
- counts are ``int64`` (0 when missing), rates ``float64`` (NaN when undefined);
- all arrays of one dict have the same length, and rows are sorted as each function says,
  so results are deterministic.

>>> _times([None, datetime(2024, 1, 2, 3, 4, 5)]).tolist()
[None, datetime.datetime(2024, 1, 2, 3, 4, 5)]
>>> _times([datetime(1969, 12, 31, 23, 59, 59, 500000), datetime(2024, 1, 2, 3, 4, 5, 999999)]).tolist()
[datetime.datetime(1969, 12, 31, 23, 59, 59), datetime.datetime(2024, 1, 2, 3, 4, 5)]
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import numpy as np

from octolib.gc_pause import cyclic_gc_paused
from octolib.store.core import Store, iter_batches

__all__ = [
    "METRIC_KEYS",
    "BATCH",
    "campaign_arrays",
    "event_arrays",
    "contact_arrays",
    "snapshot_arrays",
    "list_count_arrays",
    "link_rows",
]

#: The counts in ``campaigns.current_metrics`` and ``campaign_metrics_snapshots.metrics``.
METRIC_KEYS: tuple[str, ...] = (
    "sent",
    "delivered",
    "opened",
    "opened_total",
    "clicked",
    "clicked_total",
    "bounced",
    "bounced_hard",
    "bounced_soft",
    "unsubscribed",
    "spam_complaints",
    "clicked_without_open",  # derived by the sync from engagement_events (octolib.sync.derived)
    # Automated activity (issue 14), derived by the sync from the labelled events (octolib.sync.automation).
    "opened_automated", "clicked_automated", "opened_human", "clicked_human", "clicked_without_open_human",
)

BATCH = 10_000
_NAT = np.iinfo(np.int64).min


def _epoch(value: Any) -> int:
    """Seconds since the epoch; naive datetimes are UTC (the embedded store returns those)."""
    if not isinstance(value, datetime):
        return _NAT
    if value.tzinfo is None:
        return calendar.timegm(value.timetuple())
    return int(value.timestamp() // 1)


def _times(values: Iterable[Any]) -> np.ndarray:
    vals = list(values)
    if all(v is None or (type(v) is datetime and v.tzinfo is None) for v in vals):
        # naive UTC (the embedded store): numpy converts them in C, None becomes NaT
        return np.array(vals, dtype="datetime64[us]").astype("datetime64[s]")
    return np.fromiter((_epoch(v) for v in vals), dtype=np.int64).view("datetime64[s]")


def _strings(values: Iterable[Any]) -> np.ndarray:
    out = [("" if v is None else str(v)) for v in values]
    arr = np.empty(len(out), dtype=object)
    arr[:] = out
    return arr


def _string_tuples(values: Iterable[Any]) -> np.ndarray:
    """One tuple of strings per value (a list field such as ``list_ids``), in an object array."""
    out = [tuple(str(x) for x in v) if isinstance(v, (list, tuple)) else () for v in values]
    arr = np.empty(len(out), dtype=object)
    for i, v in enumerate(out):  # element-wise: equal-length tuples must not become a 2-D array
        arr[i] = v
    return arr


def _ints(values: Iterable[Any]) -> np.ndarray:
    return np.fromiter((int(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else 0 for v in values),
                       dtype=np.int64)


def _floats(values: Iterable[Any]) -> np.ndarray:
    return np.fromiter((float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else np.nan
                        for v in values), dtype=np.float64)


def _get(doc: dict[str, Any], path: str) -> Any:
    value: Any = doc
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


# column name -> (document path, converter)
_Columns = dict[str, tuple[str, Any]]


def _read(collection: Any, query: dict[str, Any], columns: _Columns, *, scan: bool = False) -> dict[str, np.ndarray]:
    """Run one projected read and build one array per column, batch by batch (``scan``: see
    :func:`~octolib.store.core.iter_batches`)."""
    projection = {path.split(".")[0]: 1 for path, _ in columns.values()}
    projection.setdefault("_id", 0)
    parts: dict[str, list[np.ndarray]] = {name: [] for name in columns}
    with cyclic_gc_paused():  # see octolib.gc_pause
        for batch in iter_batches(collection, query, projection, BATCH, scan=scan):
            for name, (path, convert) in columns.items():
                if "." in path:
                    parts[name].append(convert([_get(doc, path) for doc in batch]))
                else:  # a top-level field: one dict lookup per document
                    parts[name].append(convert([doc.get(path) for doc in batch]))
    out: dict[str, np.ndarray] = {}
    for name, (_, convert) in columns.items():
        out[name] = np.concatenate(parts[name]) if parts[name] else convert(())
    return out


def _sorted(arrays: dict[str, np.ndarray], keys: Sequence[str]) -> dict[str, np.ndarray]:
    """Rows ordered by ``keys`` (first key most significant); NaT sorts last."""
    if not arrays or not len(next(iter(arrays.values()))):
        return arrays
    sort_keys = []
    for key in reversed(keys):
        col = arrays[key]
        if col.dtype.kind == "M":
            sort_keys.append(np.where(np.isnat(col), np.iinfo(np.int64).max, col.view(np.int64)))
        elif col.dtype == object:
            sort_keys.append(col.astype(str))
        else:
            sort_keys.append(col)
    order = np.lexsort(sort_keys)
    return {name: col[order] for name, col in arrays.items()}


def _in(values: Iterable[str] | None) -> dict[str, Any] | None:
    return None if values is None else {"$in": list(values)}


def campaign_arrays(store: Store, query: dict[str, Any] | None = None) -> dict[str, np.ndarray]:
    """One row per campaign matching ``query`` (a MongoDB filter on ``campaigns``).

    Keys: ``campaign_id``, ``name``, ``subject``, ``status``, ``list_id`` (the first of
    ``list_ids``), ``list_ids`` (every list it was sent to, a tuple per row), ``created_at``, ``sent_at`` and every count of :data:`METRIC_KEYS` (from
    ``current_metrics``; 0 for campaigns without a report, such as drafts). Sorted by
    ``sent_at`` (unsent last), then ``campaign_id``.
    """
    columns: _Columns = {
        "campaign_id": ("emailoctopus_id", _strings),
        "name": ("name", _strings),
        "subject": ("subject", _strings),
        "status": ("status", _strings),
        "list_id": ("list_ids", lambda vs: _strings((v[0] if isinstance(v, list) and v else None) for v in vs)),
        "list_ids": ("list_ids", _string_tuples),
        "created_at": ("created_at", _times),
        "sent_at": ("sent_at", _times),
    }
    for key in METRIC_KEYS:
        columns[key] = (f"current_metrics.{key}", _ints)
    return _sorted(_read(store.campaigns, dict(query or {}), columns), ["sent_at", "campaign_id"])


def event_arrays(
    store: Store,
    campaign_ids: Iterable[str] | None = None,
    event_types: Iterable[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, np.ndarray]:
    """Engagement events, one row per (campaign, contact, event type).

    Filters: campaigns, event types (``opened``, ``clicked``, ``bounced``, ``complained``,
    ``unsubscribed``, ``sent``), and ``since <= occurred_at < until``. Keys: ``campaign_id``,
    ``contact_id``, ``event_type``, ``occurred_at`` (the first occurrence), ``count`` (rows the
    report had for that contact; 1 unless the API sends one row per raw event). Sorted by
    ``occurred_at``, then campaign and contact.
    """
    query: dict[str, Any] = {}
    types = None if event_types is None else sorted(set(event_types))
    if campaign_ids is not None:
        query["campaign_id"] = _in(campaign_ids)
    elif types is not None:
        # With campaigns named, the type is filtered after the read: a query on event_type
        # makes the embedded store copy the set of every event of that type (most of the
        # collection), so a partner's few campaigns would cost as much as the whole account.
        query["event_type"] = _in(types)
    window: dict[str, Any] = {}
    if since is not None:
        window["$gte"] = since
    if until is not None:
        window["$lt"] = until
    if window:
        query["occurred_at"] = window
    columns: _Columns = {
        "campaign_id": ("campaign_id", _strings),
        "contact_id": ("contact_id", _strings),
        "event_type": ("event_type", _strings),
        "occurred_at": ("occurred_at", _times),
        "count": ("count", lambda vs: np.maximum(_ints(vs), 1)),
    }
    # Without campaigns, the read is every event of some types (most of the collection): one
    # sequential pass on the embedded store, not an index lookup of nearly every row.
    arrays = _read(store.engagement_events, query, columns, scan=campaign_ids is None)
    if campaign_ids is not None and types is not None:
        keep = np.isin(arrays["event_type"].astype(str), types)
        arrays = {name: col[keep] for name, col in arrays.items()}
    return _sorted(arrays, ["occurred_at", "campaign_id", "contact_id"])


def _sorted_strings(values: Iterable[Any]) -> np.ndarray:
    """One sorted list of strings per value (a list field such as ``tags``), in an object array."""
    out = [sorted(str(x) for x in (v or [])) if isinstance(v, (list, tuple)) else [] for v in values]
    arr = np.empty(len(out), dtype=object)
    for i, v in enumerate(out):  # element-wise: equal-length lists must not become a 2-D array
        arr[i] = v
    return arr


def contact_arrays(store: Store, list_ids: Iterable[str] | None = None, *,
                   with_email: bool = False) -> dict[str, np.ndarray]:
    """One row per contact (per list: the same person on two lists is two rows).

    Keys: ``list_id``, ``contact_id``, ``status``, ``created_at``, ``last_updated_at``,
    ``opens``, ``clicks``, ``last_opened_at``, ``last_clicked_at`` (the engagement summary
    the sync keeps); ``with_email`` adds ``email`` (str) and ``tags`` (a sorted list of str
    per row) in the same read. Sorted by ``created_at``, then list and contact.
    """
    query: dict[str, Any] = {}
    if list_ids is not None:
        query["list_id"] = _in(list_ids)
    columns: _Columns = {
        "list_id": ("list_id", _strings),
        "contact_id": ("emailoctopus_id", _strings),
        "status": ("status", _strings),
        "created_at": ("created_at", _times),
        "last_updated_at": ("last_updated_at", _times),
        "opens": ("opens", _ints),
        "clicks": ("clicks", _ints),
        "last_opened_at": ("last_opened_at", _times),
        "last_clicked_at": ("last_clicked_at", _times),
    }
    if with_email:
        columns["email"] = ("email", _strings)
        columns["tags"] = ("tags", _sorted_strings)
    return _sorted(_read(store.contacts, query, columns), ["created_at", "list_id", "contact_id"])


def snapshot_arrays(store: Store, campaign_ids: Iterable[str] | None = None) -> dict[str, np.ndarray]:
    """The metric history: one row per stored snapshot (written only when metrics changed).

    Keys: ``campaign_id``, ``snapshot_time`` and every count of :data:`METRIC_KEYS`. Sorted by
    campaign, then time.
    """
    query: dict[str, Any] = {}
    if campaign_ids is not None:
        query["campaign_id"] = _in(campaign_ids)
    columns: _Columns = {
        "campaign_id": ("campaign_id", _strings),
        "snapshot_time": ("snapshot_time", _times),
    }
    for key in METRIC_KEYS:
        columns[key] = (f"metrics.{key}", _ints)
    return _sorted(_read(store.campaign_metrics_snapshots, query, columns), ["campaign_id", "snapshot_time"])


def list_count_arrays(store: Store, list_ids: Iterable[str] | None = None) -> dict[str, np.ndarray]:
    """List sizes over time: one row per ``list_count_snapshots`` document.

    Keys: ``list_id``, ``snapshot_time``, ``subscribed``, ``unsubscribed``, ``pending``.
    Sorted by list, then time.
    """
    query: dict[str, Any] = {}
    if list_ids is not None:
        query["list_id"] = _in(list_ids)
    columns: _Columns = {
        "list_id": ("list_id", _strings),
        "snapshot_time": ("snapshot_time", _times),
        "subscribed": ("counts.subscribed", _ints),
        "unsubscribed": ("counts.unsubscribed", _ints),
        "pending": ("counts.pending", _ints),
    }
    return _sorted(_read(store.list_count_snapshots, query, columns), ["list_id", "snapshot_time"])


def link_rows(store: Store, campaign_ids: Iterable[str] | None) -> list[dict[str, Any]]:
    """Per-link clicks of some campaigns, as small dicts (links are few per campaign).

    Each row: ``campaign_id``, ``url``, ``clicked_total``, ``clicked_unique``. Sorted by
    campaign, then ``clicked_total`` descending, then URL.
    """
    query: dict[str, Any] = {} if campaign_ids is None else {"campaign_id": _in(campaign_ids)}
    rows: list[dict[str, Any]] = [
        {
            "campaign_id": str(doc.get("campaign_id", "")),
            "url": str(doc.get("url", "")),
            "clicked_total": int(doc.get("clicked_total") or 0),
            "clicked_unique": int(doc.get("clicked_unique") or 0),
        }
        for batch in iter_batches(store.campaign_links, query,
                                  {"_id": 0, "campaign_id": 1, "url": 1, "clicked_total": 1, "clicked_unique": 1})
        for doc in batch
    ]
    rows.sort(key=lambda r: (r["campaign_id"], -r["clicked_total"], r["url"]))
    return rows
