"""When people engage: weekday × hour heatmaps, time to open, and recency per contact.

- The heatmap counts events by local weekday (Monday first) and hour, so "Tuesday 9:00"
  means 9:00 where the readers are (the ``tz`` argument), DST included.
- Time to open is the delay from a campaign's send to an event. The EmailOctopus report
  keeps a contact's first open per campaign, so these are first-open delays. Events with
  no known send time, or dated before the send (clock skew, bad data), have no delay (NaN)
  and are left out of the distribution, not counted as 0.
- The half-life is that of an exponential decay fitted to the delays: ``ln 2 × mean``
  (the maximum-likelihood fit). It equals the median when opens decay exponentially; a
  half-life well above the median says a long tail of late opens.
- Recency: the time since a contact's last open or click, counted in windows (30/90/180
  days by default). A last engagement after ``as_of`` counts as engaged (age 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from octolib.metrics.ratios import safe_ratio
from octolib.metrics.timezones import local_seconds, utc_seconds

__all__ = [
    "WEEKDAYS",
    "HeatmapGrid",
    "weekday_hour_heatmap",
    "time_to_event",
    "DEFAULT_DELAY_EDGES_H",
    "DelayDistribution",
    "delay_distribution",
    "median_delay",
    "half_life",
    "last_engaged_at",
    "last_event_at",
    "recency_days",
    "Recency",
    "engagement_recency",
]

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class HeatmapGrid:
    """Event counts by local weekday (rows, Monday first) and hour (columns 0..23)."""

    counts: np.ndarray  # int64, shape (7, 24)
    tz: str
    weekdays: tuple[str, ...] = WEEKDAYS
    hours: tuple[int, ...] = tuple(range(24))

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    @property
    def share(self) -> np.ndarray:
        """Each cell's share of all events (NaN everywhere when there are none)."""
        return safe_ratio(self.counts, np.full(self.counts.shape, self.total))


def weekday_hour_heatmap(times: ArrayLike, tz: str = "UTC", weights: ArrayLike | None = None) -> HeatmapGrid:
    """Count events (opens, clicks: pass their times) per local weekday and hour.

    >>> t = np.array(["2024-01-01T09:15", "2024-01-01T09:45", "2024-01-07T23:00", "NaT"], dtype="datetime64[s]")
    >>> g = weekday_hour_heatmap(t, "UTC")
    >>> int(g.counts[0, 9]), int(g.counts[6, 23]), g.total
    (2, 1, 3)
    >>> int(weekday_hour_heatmap(t, "Europe/Berlin").counts[0, 0])  # Sunday 23:00 UTC is Monday 0:00 in Berlin
    1
    """
    local, valid = local_seconds(times, tz)
    if not valid.all():
        local = local[valid]
    # hour of the week, Monday 00:00 = 0: 1970-01-01 00:00 was a Thursday, 72 h after Monday
    cell = ((local // 3600 + 72) % 168).astype(np.intp)
    if weights is None:
        counts = np.bincount(cell, minlength=7 * 24).astype(np.int64)
    else:
        w = np.asarray(weights, dtype=np.float64).reshape(-1)[valid]
        counts = np.bincount(cell, weights=np.nan_to_num(w), minlength=7 * 24).round().astype(np.int64)
    return HeatmapGrid(counts.reshape(7, 24), tz)


def time_to_event(event_campaign: ArrayLike, occurred_at: ArrayLike, campaign_sent_at: ArrayLike) -> np.ndarray:
    """Seconds from each event's campaign send to the event; NaN when unknown or negative.

    ``event_campaign`` holds indices into ``campaign_sent_at`` (-1 for an unknown campaign;
    see :func:`~octolib.metrics.grouping.index_of`).

    >>> sent = np.array(["2024-01-01T09:00", "NaT"], dtype="datetime64[s]")
    >>> at = np.array(["2024-01-01T10:30", "2024-01-01T08:00", "2024-01-02T00:00", "2024-01-01T10:00"],
    ...               dtype="datetime64[s]")
    >>> time_to_event([0, 0, 1, -1], at, sent).tolist()
    [5400.0, nan, nan, nan]
    """
    camp = np.asarray(event_campaign, dtype=np.intp).reshape(-1)
    ev, ev_ok = utc_seconds(occurred_at)
    sent, sent_ok = utc_seconds(campaign_sent_at)
    out = np.full(camp.size, np.nan)
    if sent.size == 0:
        return out
    known = (camp >= 0) & (camp < sent.size)
    safe = np.where(known, camp, 0)
    ok = known & ev_ok & sent_ok[safe]
    delay = (ev - sent[safe]).astype(np.float64)
    ok &= delay >= 0
    out[ok] = delay[ok]
    return out


#: Bin edges (hours after sending) of the time-to-open distribution.
DEFAULT_DELAY_EDGES_H: tuple[float, ...] = (0, 0.25, 0.5, 1, 2, 3, 6, 12, 24, 48, 72, 168, 336, 720)


@dataclass(frozen=True)
class DelayDistribution:
    """Time-to-event histogram and the figures that describe it (seconds)."""

    edges_s: np.ndarray  # bin edges, len = len(counts) + 1
    counts: np.ndarray  # events per bin; delays beyond the last edge are in ``beyond``
    beyond: int
    cumulative_share: np.ndarray  # share of all delays at or before each right edge
    n: int  # delays counted (NaN left out)
    median_s: float
    mean_s: float
    half_life_s: float


def median_delay(delays_s: ArrayLike) -> float:
    """Median of the known delays; NaN for none.

    >>> median_delay([60, 120, float("nan"), 600]), median_delay([])
    (120.0, nan)
    """
    d = np.asarray(delays_s, dtype=np.float64).reshape(-1)
    d = d[~np.isnan(d)]
    return float(np.median(d)) if d.size else float("nan")


def half_life(delays_s: ArrayLike) -> float:
    """Half-life of the exponential decay fitted to the delays: ``ln 2 × mean``; NaN for none.

    >>> round(half_life([3600.0, 3600.0]), 1), half_life([])
    (2495.3, nan)
    """
    d = np.asarray(delays_s, dtype=np.float64).reshape(-1)
    d = d[~np.isnan(d)]
    return float(np.log(2) * d.mean()) if d.size else float("nan")


def delay_distribution(delays_s: ArrayLike, edges_h: Sequence[float] = DEFAULT_DELAY_EDGES_H) -> DelayDistribution:
    """Histogram of delays (left-closed bins, in hours given, seconds out) with median and half-life.

    >>> d = delay_distribution([600, 1800, 7200, float("nan"), 10**7], edges_h=(0, 1, 24))
    >>> d.counts.tolist(), d.beyond, d.cumulative_share.tolist(), d.n, d.median_s
    ([2, 1], 1, [0.5, 0.75], 4, 4500.0)
    """
    edges = np.asarray(edges_h, dtype=np.float64) * 3600.0
    if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError("edges_h must be at least two increasing values")
    d = np.asarray(delays_s, dtype=np.float64).reshape(-1)
    d = d[~np.isnan(d) & (d >= edges[0])]
    # left-closed bins from "how many are below each edge": one vectorised compare per edge
    # is several times faster than np.histogram (which sorts for uneven bins and closes its
    # last bin on the right) or a binary search per element
    below = np.array([np.count_nonzero(d < e) for e in edges], dtype=np.int64)
    counts = np.diff(below)
    beyond = int(d.size - below[-1])
    cumulative = safe_ratio(below[1:], np.full(counts.size, d.size))
    mean = float(d.mean()) if d.size else float("nan")
    median = float(np.median(d)) if d.size else float("nan")
    return DelayDistribution(edges, counts, beyond, cumulative, int(d.size), median, mean,
                             float(np.log(2) * mean))


def last_engaged_at(last_opened_at: ArrayLike, last_clicked_at: ArrayLike) -> np.ndarray:
    """The later of the two times per contact; NaT only when both are NaT.

    >>> o = np.array(["2024-01-05", "NaT", "NaT"], dtype="datetime64[s]")
    >>> c = np.array(["2024-01-02", "2024-02-01", "NaT"], dtype="datetime64[s]")
    >>> last_engaged_at(o, c).astype(str).tolist()
    ['2024-01-05T00:00:00', '2024-02-01T00:00:00', 'NaT']
    """
    a, a_ok = utc_seconds(last_opened_at)
    b, b_ok = utc_seconds(last_clicked_at)
    out = np.where(a_ok & b_ok, np.maximum(a, b), np.where(a_ok, a, b))  # NaT is int64 min
    return out.view("datetime64[s]")


def last_event_at(contact_index: ArrayLike, occurred_at: ArrayLike, n_contacts: int) -> np.ndarray:
    """Latest event time per contact from raw events (NaT for contacts without events).

    For contacts whose engagement summary is missing; indices outside ``0..n-1`` are ignored.

    >>> t = np.array(["2024-01-01", "2024-03-01", "2024-02-01"], dtype="datetime64[s]")
    >>> last_event_at([0, 0, 2], t, 3).astype(str).tolist()
    ['2024-03-01T00:00:00', 'NaT', '2024-02-01T00:00:00']
    """
    idx = np.asarray(contact_index, dtype=np.intp).reshape(-1)
    secs, ok = utc_seconds(occurred_at)
    ok &= (idx >= 0) & (idx < n_contacts)
    out = np.full(n_contacts, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(out, idx[ok], secs[ok])
    return out.view("datetime64[s]")


def recency_days(last_engaged: ArrayLike, as_of: ArrayLike) -> np.ndarray:
    """Days since the last engagement at ``as_of`` (float, 0 if after it, NaN if never).

    >>> last = np.array(["2024-01-01T12:00", "NaT"], dtype="datetime64[s]")
    >>> recency_days(last, np.datetime64("2024-01-31T00:00")).tolist()
    [29.5, nan]
    """
    secs, ok = utc_seconds(last_engaged)
    out = np.full(secs.size, np.nan)
    ref_time = np.datetime64(as_of, "s")
    if np.isnat(ref_time):
        return out  # no reference day: recency is unknown for everyone
    ref = ref_time.astype(np.int64)
    out[ok] = np.maximum(ref - secs[ok], 0) / 86400.0
    return out


@dataclass(frozen=True)
class Recency:
    """Contacts engaged within each window (cumulative), as counts and shares."""

    windows_days: tuple[int, ...]
    engaged_count: np.ndarray  # int64, contacts engaged within each window
    engaged_rate: np.ndarray  # engaged_count / contacts (NaN when no contacts)
    contacts: int
    never_count: int


def engagement_recency(last_engaged: ArrayLike, as_of: ArrayLike,
                       windows_days: Sequence[int] = (30, 90, 180)) -> Recency:
    """How many contacts opened or clicked within the last 30/90/180 days of ``as_of``.

    >>> last = np.array(["2024-03-25", "2024-01-15", "2023-01-01", "NaT"], dtype="datetime64[s]")
    >>> r = engagement_recency(last, np.datetime64("2024-04-01"))
    >>> r.engaged_count.tolist(), r.engaged_rate.tolist(), r.never_count
    ([1, 2, 2], [0.25, 0.5, 0.5], 1)
    """
    days = recency_days(last_engaged, as_of)
    known = days[~np.isnan(days)]
    counts = np.array([int((known <= w).sum()) for w in windows_days], dtype=np.int64)
    total = int(days.size)
    return Recency(tuple(int(w) for w in windows_days), counts, safe_ratio(counts, np.full(counts.size, total)),
                   total, int(total - known.size))
