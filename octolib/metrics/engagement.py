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

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from octolib.metrics.ratios import safe_ratio
from octolib.metrics.timezones import local_seconds, quarter_hour_counts, utc_seconds

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
    if weights is None:
        slots = quarter_hour_counts(times, tz)
        if slots is not None:  # many events: count per quarter hour, then place the slots
            return weekday_hour_heatmap(slots[0], tz, slots[1])
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
    ev, _ = utc_seconds(occurred_at)
    sent, sent_ok = utc_seconds(campaign_sent_at)
    if sent.size == 0:
        return np.full(camp.size, np.nan)
    # send time per campaign as float seconds (exact: below 2**53), NaN when unsent, and one
    # NaN slot at the end for events of unknown campaigns: one gather gives every event's
    # send time, and NaN carries "unknown" through the subtraction without masks
    send = np.empty(sent.size + 1)
    send[:-1] = np.where(sent_ok, sent, np.nan)
    send[-1] = np.nan
    if camp.size and (camp.min() < 0 or camp.max() >= sent.size):
        camp = np.where((camp >= 0) & (camp < sent.size), camp, sent.size)
    delay = ev.astype(np.float64)
    delay -= send[camp]
    # NaT events are int64-min seconds, hugely negative: ``>= 0`` drops them with the
    # events dated before their send; NaN compares False and stays NaN
    return np.where(delay >= 0, delay, np.nan)


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
    d = d[d >= edges[0]]  # NaN compares False: one pass drops NaN and delays before the first edge
    quantum = _common_step(edges)
    if quantum is None or d.size == 0:
        # left-closed bins from "how many are below each edge": one compare per edge
        below = np.array([np.count_nonzero(d < e) for e in edges], dtype=np.int64)
        median = float(np.median(d)) if d.size else float("nan")
    else:
        below, median = _below_and_median(d, edges, quantum)
    counts = np.diff(below)
    beyond = int(d.size - below[-1])
    cumulative = safe_ratio(below[1:], np.full(counts.size, d.size))
    mean = float(d.mean()) if d.size else float("nan")
    return DelayDistribution(edges, counts, beyond, cumulative, int(d.size), median, mean,
                             float(np.log(2) * mean))


#: Largest table of steps :func:`_below_and_median` builds (the default edges need 2,881).
_MAX_STEPS = 1 << 20


def _common_step(edges: np.ndarray) -> float | None:
    """The largest whole number of seconds every edge is a multiple of, if the edges are
    whole, not negative, and the last edge is at most :data:`_MAX_STEPS` steps away."""
    if edges[0] < 0 or edges[-1] >= 2**53 or np.any(edges != np.floor(edges)):
        return None
    step = math.gcd(*(int(e) for e in edges))
    if step == 0 or edges[-1] / step > _MAX_STEPS:
        return None
    return float(step)


def _below_and_median(d: np.ndarray, edges: np.ndarray, step: float) -> tuple[np.ndarray, float]:
    """How many delays are below each edge, and their median, from one pass over the delays.

    Why: the edges are whole multiples of ``step`` (15 minutes for the default ones), so
    ``floor(d / step)`` (made exact, see below) puts every delay in a small table of steps
    that one ``bincount`` fills; a bin's count is a sum over its steps, and the median is
    picked inside the one or two steps that hold the middle ranks instead of partitioning
    every delay. Delays past the last edge share the last slot. ``d`` holds no NaN and no
    value below the first edge.
    """
    last = int(edges[-1] // step)
    clipped = np.minimum(d, edges[-1])
    slot = np.floor(clipped / step)  # a correctly rounded quotient is never below the floor,
    slot -= slot * step > clipped  # but can round up onto the next step: step back (exact)
    slot = slot.astype(np.intp)
    per_slot = np.bincount(slot, minlength=last + 1)
    upto = np.concatenate([[0], np.cumsum(per_slot)])  # upto[j]: delays in slots below j
    below = upto[(edges // step).astype(np.intp)].astype(np.int64)
    # np.median: the middle value, or the mean of the two middle values
    ranks = sorted({(d.size - 1) // 2, d.size // 2})
    picked = []
    inside: dict[int, np.ndarray] = {}  # the delays of a slot holding a middle rank
    for rank in ranks:
        j = int(np.searchsorted(upto, rank, side="right")) - 1
        if j not in inside:
            inside[j] = d[slot == j]
        k = rank - int(upto[j])
        picked.append(float(np.partition(inside[j], k)[k]))
    median = picked[0] if len(picked) == 1 else float(np.mean(picked))
    return below, median


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
