"""A campaign's metric curve after sending: how its rate grew hour by hour.

Two sources, because each has gaps:

- ``campaign_metrics_snapshots``: the counts as each sync saw them. Exact totals, but only
  as often as syncs ran (a snapshot is stored only when the counts changed).
- engagement event times: every contact's first open/click with its time. Fine-grained,
  but only for campaigns whose contact reports were read.

Both give a :class:`Curve` of hours after the send against a value (a rate in [0, 1], or a
share of all events seen), so one chart draws either. :func:`events_within` gives the
classic "opens in the first hour, day, week" per campaign.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from octolib.metrics.engagement import time_to_event
from octolib.metrics.ratios import safe_ratio
from octolib.metrics.timezones import utc_seconds

__all__ = ["Curve", "snapshot_curve", "event_curve", "events_within", "FIRST_HOUR_DAY_WEEK_S"]

#: Windows (seconds after the send) of :func:`events_within`: 1 hour, 1 day, 1 week.
FIRST_HOUR_DAY_WEEK_S: tuple[int, ...] = (3600, 86400, 7 * 86400)


@dataclass(frozen=True)
class Curve:
    """Value against hours after the send, hours increasing."""

    hours: np.ndarray  # float64
    value: np.ndarray  # float64 (a rate or share in [0, 1]; NaN where undefined)

    def __len__(self) -> int:
        return len(self.hours)


def snapshot_curve(snapshot_time: ArrayLike, numerator: ArrayLike, denominator: ArrayLike,
                   sent_at: ArrayLike) -> Curve:
    """One campaign's rate at each snapshot, e.g. unique opens / delivered.

    Snapshots without a time or taken before the send are left out; a campaign that was
    never sent (``sent_at`` NaT) has an empty curve.

    >>> t = np.array(["2024-01-01T12:00", "2024-01-01T10:00", "2024-01-01T08:00"], dtype="datetime64[s]")
    >>> c = snapshot_curve(t, [40, 20, 0], [100, 100, 100], np.datetime64("2024-01-01T09:00"))
    >>> c.hours.tolist(), c.value.tolist()
    ([1.0, 3.0], [0.2, 0.4])
    """
    t, ok = utc_seconds(snapshot_time)
    sent = np.datetime64(sent_at, "s")
    if np.isnat(sent):
        return Curve(np.zeros(0), np.zeros(0))
    hours = (t - sent.astype(np.int64)) / 3600.0
    ok &= hours >= 0
    order = np.argsort(hours[ok], kind="stable")
    num = np.asarray(numerator, dtype=np.float64).reshape(-1)[ok][order]
    den = np.asarray(denominator, dtype=np.float64).reshape(-1)[ok][order]
    return Curve(hours[ok][order], safe_ratio(num, den))


def event_curve(delays_s: ArrayLike, denominator: float | None = None, horizon_h: float = 168.0,
                step_h: float = 1.0) -> Curve:
    """Cumulative events by hour after the send, from delays (:func:`time_to_event`).

    With ``denominator`` (e.g. delivered) the value is a rate; without it, the share of all
    events with a known delay (so the curve ends at 1 if the horizon covers them all).

    >>> c = event_curve([600, 4000, 90000, float("nan")], horizon_h=2)
    >>> c.hours.tolist(), c.value.tolist()
    ([0.0, 1.0, 2.0], [0.0, 0.3333333333333333, 0.6666666666666666])
    >>> event_curve([600], denominator=0, horizon_h=1).value.tolist()
    [nan, nan]
    """
    if step_h <= 0 or horizon_h < 0:
        raise ValueError("step_h must be positive and horizon_h not negative")
    d = np.asarray(delays_s, dtype=np.float64).reshape(-1)
    d = np.sort(d[~np.isnan(d)])
    hours = np.arange(0.0, horizon_h + step_h / 2, step_h)
    cumulative = np.searchsorted(d, hours * 3600.0, side="right")
    den = d.size if denominator is None else denominator
    return Curve(hours, safe_ratio(cumulative, np.full(hours.size, den, dtype=np.float64)))


def events_within(event_campaign: ArrayLike, occurred_at: ArrayLike, campaign_sent_at: ArrayLike,
                  windows_s: Sequence[int] = FIRST_HOUR_DAY_WEEK_S) -> np.ndarray:
    """Per campaign, events within each window after its send: shape ``(campaigns, windows)``.

    Pass the open events to get opens in the first hour, day and week; divide by delivered
    (:func:`~octolib.metrics.ratios.safe_ratio`) for rates.

    >>> sent = np.array(["2024-01-01T00:00", "2024-01-01T00:00"], dtype="datetime64[s]")
    >>> at = np.array(["2024-01-01T00:30", "2024-01-01T05:00", "2024-01-03T00:00", "2024-01-01T00:10"],
    ...               dtype="datetime64[s]")
    >>> events_within([0, 0, 0, 1], at, sent).tolist()
    [[1, 2, 3], [1, 1, 1]]
    """
    sent_n = np.asarray(campaign_sent_at).reshape(-1).size
    delays = time_to_event(event_campaign, occurred_at, campaign_sent_at)
    camp = np.asarray(event_campaign, dtype=np.intp).reshape(-1)
    out = np.zeros((sent_n, len(windows_s)), dtype=np.int64)
    for j, w in enumerate(windows_s):
        # a NaN delay (unknown campaign or send, before the send) compares False, so it is
        # never inside, and a known delay has a valid campaign index
        out[:, j] = np.bincount(camp[delays <= w], minlength=sent_n)
    return out
