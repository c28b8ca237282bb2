"""Lists: growth over time, current counts, and how engaged each list is.

The API gives each contact a ``created_at``, a ``status`` and a ``last_updated_at`` but no
unsubscribe date, so growth is rebuilt from what is known:

- a contact *joined* at ``created_at`` unless still ``pending`` (never confirmed, so never
  a subscriber);
- a contact whose status is ``unsubscribed`` *left* at ``last_updated_at`` (the best
  available proxy: the status change is the last update in almost every case; an edit
  after the unsubscribe moves it later).

Subscribers at the end of a bucket are everyone joined so far minus everyone left so far.
Churn in a bucket is the people who left over everyone on the list during it (at its start
plus joined in it), so it stays in [0, 1] even for a list born in that bucket.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from octolib.metrics.engagement import recency_days
from octolib.metrics.grouping import factorize, group_count
from octolib.metrics.ratios import safe_ratio
from octolib.metrics.timeseries import count_over_time
from octolib.metrics.timezones import utc_seconds

__all__ = [
    "STATUSES",
    "membership_times",
    "Growth",
    "list_growth",
    "ListCounts",
    "list_counts",
    "ListEngagement",
    "list_engagement",
]

STATUSES = ("subscribed", "unsubscribed", "pending")


def membership_times(status: ArrayLike, created_at: ArrayLike, last_updated_at: ArrayLike
                     ) -> tuple[np.ndarray, np.ndarray]:
    """``(joined_at, left_at)`` per contact, NaT where it did not happen (see module doc).

    >>> st = np.array(["subscribed", "unsubscribed", "pending"], dtype=object)
    >>> c = np.array(["2024-01-01", "2024-01-02", "2024-01-03"], dtype="datetime64[s]")
    >>> u = np.array(["2024-05-01", "2024-03-01", "2024-01-04"], dtype="datetime64[s]")
    >>> [x.astype("datetime64[D]").astype(str).tolist() for x in membership_times(st, c, u)]
    [['2024-01-01', '2024-01-02', 'NaT'], ['NaT', '2024-03-01', 'NaT']]
    """
    st = np.asarray(status).reshape(-1)
    created = np.asarray(created_at).astype("datetime64[s]").reshape(-1)
    updated = np.asarray(last_updated_at).astype("datetime64[s]").reshape(-1)
    nat = np.datetime64("NaT", "s")
    joined = np.where(st != "pending", created, nat)
    left = np.where(st == "unsubscribed", updated, nat)
    # a contact that left without a known join still joined at some point: keep counts sane
    left = np.where(np.isnat(joined), nat, left)
    left_s, left_ok = utc_seconds(left)
    join_s, _ = utc_seconds(joined)
    left = np.where(left_ok & (left_s < join_s), joined, left)  # cannot leave before joining
    return joined, left


@dataclass(frozen=True)
class Growth:
    """A list's (or several lists') growth per bucket, contiguous buckets."""

    start: np.ndarray  # datetime64[D], local bucket starts
    unit: str
    joined_count: np.ndarray
    left_count: np.ndarray
    net_change: np.ndarray
    subscribers: np.ndarray  # at the end of each bucket
    churn_rate: np.ndarray  # left / (subscribers at start + joined), NaN when nobody

    def __len__(self) -> int:
        return len(self.start)


def list_growth(joined_at: ArrayLike, left_at: ArrayLike, unit: str = "month", tz: str = "UTC") -> Growth:
    """Joins, leaves, net change, subscribers and churn per bucket (from :func:`membership_times`).

    >>> j = np.array(["2024-01-05", "2024-01-20", "2024-03-02", "NaT"], dtype="datetime64[s]")
    >>> l = np.array(["NaT", "2024-03-10", "NaT", "NaT"], dtype="datetime64[s]")
    >>> g = list_growth(j, l)
    >>> g.start.astype(str).tolist(), g.net_change.tolist(), g.subscribers.tolist()
    (['2024-01-01', '2024-02-01', '2024-03-01'], [2, 0, 0], [2, 2, 2])
    >>> g.churn_rate.tolist()
    [0.0, 0.0, 0.3333333333333333]
    """
    j = np.asarray(joined_at).astype("datetime64[s]").reshape(-1)
    left = np.asarray(left_at).astype("datetime64[s]").reshape(-1)
    both = np.concatenate([j, left])
    span = count_over_time(both, unit, tz)  # the union of both ranges
    if span.start.size == 0:
        zero = np.zeros(0, dtype=np.int64)
        return Growth(span.start, unit, zero, zero, zero, zero, np.zeros(0))
    first, last = span.start[0], span.start[-1]
    joined = count_over_time(j, unit, tz, first=first, last=last).count
    gone = count_over_time(left, unit, tz, first=first, last=last).count
    net = joined - gone
    subscribers = np.cumsum(net)
    at_start = subscribers - net
    return Growth(span.start, unit, joined, gone, net, subscribers, safe_ratio(gone, at_start + joined))


@dataclass(frozen=True)
class ListCounts:
    """Contacts per list and status, lists sorted by id."""

    list_id: np.ndarray
    subscribed: np.ndarray
    unsubscribed: np.ndarray
    pending: np.ndarray
    total: np.ndarray


def list_counts(list_id: ArrayLike, status: ArrayLike) -> ListCounts:
    """Current counts per list from the contacts (unknown statuses count only in ``total``).

    >>> c = list_counts(["b", "a", "a", "a"], ["subscribed", "subscribed", "pending", "unsubscribed"])
    >>> c.list_id.tolist(), c.subscribed.tolist(), c.unsubscribed.tolist(), c.pending.tolist()
    (['a', 'b'], [1, 1], [1, 0], [1, 0])
    """
    keys, inverse = factorize(list_id)
    st = np.asarray(status).reshape(-1)
    n = keys.size
    per = {s: group_count(inverse[st == s], n) for s in STATUSES}
    return ListCounts(keys, per["subscribed"], per["unsubscribed"], per["pending"], group_count(inverse, n))


@dataclass(frozen=True)
class ListEngagement:
    """Per list, subscribed contacts who opened or clicked within ``days`` of ``as_of``."""

    list_id: np.ndarray
    days: int
    subscribed_count: np.ndarray
    engaged_count: np.ndarray
    engaged_rate: np.ndarray


def list_engagement(list_id: ArrayLike, status: ArrayLike, last_engaged: ArrayLike, as_of: ArrayLike,
                    days: int = 90) -> ListEngagement:
    """Share of each list's subscribed contacts engaged in the last ``days`` days.

    ``last_engaged`` comes from :func:`~octolib.metrics.engagement.last_engaged_at`.

    >>> last = np.array(["2024-03-30", "2023-01-01", "NaT", "2024-03-01"], dtype="datetime64[s]")
    >>> e = list_engagement(["a", "a", "a", "b"], ["subscribed"] * 3 + ["unsubscribed"], last,
    ...                     np.datetime64("2024-04-01"), days=30)
    >>> e.list_id.tolist(), e.subscribed_count.tolist(), e.engaged_count.tolist(), e.engaged_rate.tolist()
    (['a', 'b'], [3, 0], [1, 0], [0.3333333333333333, nan])
    """
    keys, inverse = factorize(list_id)
    n = keys.size
    subscribed = np.asarray(status).reshape(-1) == "subscribed"
    age = recency_days(last_engaged, as_of)
    engaged = subscribed & ~np.isnan(age) & (np.where(np.isnan(age), np.inf, age) <= days)
    sub_n = group_count(inverse[subscribed], n)
    eng_n = group_count(inverse[engaged], n)
    return ListEngagement(keys, int(days), sub_n, eng_n, safe_ratio(eng_n, sub_n))
