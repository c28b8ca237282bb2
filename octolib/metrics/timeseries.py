"""Time series by send date: day, week (Monday first) and month buckets in a local zone.

Why buckets are contiguous: a chart of weekly open rates must show a quiet week as a gap,
not silently join its neighbours, and a moving average must move over time, not over
campaigns. So every series covers each bucket from the first to the last (or the requested
``first``..``last``), with count 0 and rate NaN where nothing was sent.

Rates per bucket are *pooled*: the sum of the numerators over the sum of the denominators
(a campaign to 10,000 people weighs more than one to 50), the same as a weighted mean of
the campaign rates with their denominators as weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from octolib.metrics.ratios import safe_ratio
from octolib.metrics.timezones import local_seconds, quarter_hour_counts

__all__ = [
    "UNITS",
    "bucket_ordinals",
    "ordinal_starts",
    "bucket_starts",
    "RateSeries",
    "CountSeries",
    "rate_over_time",
    "count_over_time",
    "moving_average",
    "rolling_rate",
]

UNITS = ("day", "week", "month")


def _check_unit(unit: str) -> None:
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {UNITS}, not {unit!r}")


def _ordinal_from_local(local: np.ndarray, unit: str) -> np.ndarray:
    if unit == "month":
        return local.view("datetime64[s]").astype("datetime64[M]").view(np.int64)
    day = local // 86400
    if unit == "day":
        return day
    return (day + 3) // 7  # 1970-01-01 was a Thursday: week 0 starts Monday 1969-12-29


def bucket_ordinals(times: ArrayLike, unit: str = "week", tz: str = "UTC") -> tuple[np.ndarray, np.ndarray]:
    """Integer bucket numbers (days, weeks or months since 1970 in local time) and the valid mask.

    >>> t = np.array(["2024-01-07T23:30", "2024-01-08T00:30"], dtype="datetime64[s]")
    >>> o, ok = bucket_ordinals(t, "week", "UTC")
    >>> (o[1] - o[0]).item(), ordinal_starts(o, "week").astype(str).tolist()
    (1, ['2024-01-01', '2024-01-08'])
    """
    _check_unit(unit)
    local, valid = local_seconds(times, tz)
    if valid.all():
        return _ordinal_from_local(local, unit), valid
    out = np.zeros(local.size, dtype=np.int64)
    if valid.any():
        out[valid] = _ordinal_from_local(local[valid], unit)
    return out, valid


def ordinal_starts(ordinals: ArrayLike, unit: str) -> np.ndarray:
    """The local date each bucket starts on, as ``datetime64[D]``.

    >>> ordinal_starts([0, 1], "month").astype(str).tolist()
    ['1970-01-01', '1970-02-01']
    """
    _check_unit(unit)
    o = np.asarray(ordinals, dtype=np.int64)
    if unit == "month":
        return o.view("datetime64[M]").astype("datetime64[D]")
    if unit == "week":
        return (o * 7 - 3).view("datetime64[D]")
    return o.view("datetime64[D]")


def bucket_starts(times: ArrayLike, unit: str = "week", tz: str = "UTC") -> np.ndarray:
    """Per element, the local start date of its bucket (``datetime64[D]``, NaT for NaT).

    >>> t = np.array(["2024-03-31T23:30", "NaT"], dtype="datetime64[s]")
    >>> bucket_starts(t, "month", "Europe/Berlin").astype(str).tolist()
    ['2024-04-01', 'NaT']
    """
    o, valid = bucket_ordinals(times, unit, tz)
    out = np.full(o.size, np.datetime64("NaT"), dtype="datetime64[D]")
    out[valid] = ordinal_starts(o[valid], unit)
    return out


def _bound(day: ArrayLike | None, unit: str) -> int | None:
    if day is None:
        return None
    d = np.datetime64(day, "D")
    if np.isnat(d):
        return None
    seconds = np.array([d.astype("datetime64[s]").view(np.int64)])
    return int(_ordinal_from_local(seconds, unit)[0])


def _range(o: np.ndarray, unit: str, first: ArrayLike | None, last: ArrayLike | None) -> tuple[int, int] | None:
    lo = _bound(first, unit)
    hi = _bound(last, unit)
    if lo is None:
        lo = int(o.min()) if o.size else None
    if hi is None:
        hi = int(o.max()) if o.size else None
    if lo is None or hi is None or hi < lo:
        return None
    return lo, hi


@dataclass(frozen=True)
class CountSeries:
    """Counts (or summed weights) per bucket, every bucket from first to last."""

    start: np.ndarray  # datetime64[D], local start date of each bucket
    unit: str
    tz: str
    count: np.ndarray  # int64 (float64 when weights are floats)


@dataclass(frozen=True)
class RateSeries:
    """A pooled rate per bucket, with its parts."""

    start: np.ndarray  # datetime64[D]
    unit: str
    tz: str
    numerator: np.ndarray
    denominator: np.ndarray
    count: np.ndarray  # items (campaigns) in the bucket
    rate: np.ndarray  # float64, NaN where the denominator is 0 (never clipped)

    def __len__(self) -> int:
        return len(self.start)


def _bucketed(times: ArrayLike, unit: str, tz: str, first: ArrayLike | None, last: ArrayLike | None
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(start dates, bucket index per element, keep mask)."""
    o, valid = bucket_ordinals(times, unit, tz)
    all_valid = bool(valid.all())
    bounds = _range(o if all_valid else o[valid], unit, first, last)
    if bounds is None:
        return np.zeros(0, dtype="datetime64[D]"), np.zeros(o.size, dtype=np.intp), np.zeros(o.size, dtype=bool)
    lo, hi = bounds
    if first is None and last is None:
        keep, keep_all = valid, all_valid  # the range is the data's own: every valid time is in it
    else:
        keep = valid & (o >= lo) & (o <= hi)
        keep_all = bool(keep.all())
    index = (o - lo) if keep_all else np.where(keep, o - lo, 0)
    index = index.astype(np.intp, copy=False)
    return ordinal_starts(np.arange(lo, hi + 1), unit), index, keep


def _sum(index: np.ndarray, keep: np.ndarray, values: ArrayLike, n: int) -> np.ndarray:
    vals = np.broadcast_to(np.asarray(values), index.shape)
    if vals.dtype.kind in "iub":
        w = np.where(keep, vals, 0).astype(np.float64)
        return np.bincount(index, weights=w, minlength=n).round().astype(np.int64)
    v = vals.astype(np.float64)
    w = np.where(keep & ~np.isnan(v), v, 0.0)
    return np.bincount(index, weights=w, minlength=n)


def count_over_time(times: ArrayLike, unit: str = "week", tz: str = "UTC", weights: ArrayLike | None = None,
                    first: ArrayLike | None = None, last: ArrayLike | None = None) -> CountSeries:
    """How many (or how much ``weights``) per bucket; NaT and out-of-range times are dropped.

    ``first``/``last`` (local dates) fix the range, e.g. to a report period.

    >>> t = np.array(["2024-01-01T10:00", "2024-01-03T10:00", "NaT"], dtype="datetime64[s]")
    >>> s = count_over_time(t, "day")
    >>> s.start.astype(str).tolist(), s.count.tolist()
    (['2024-01-01', '2024-01-02', '2024-01-03'], [1, 0, 1])
    """
    if weights is None:
        slots = quarter_hour_counts(times, tz)
        if slots is not None:  # many events: count per quarter hour, then bucket the slots
            return count_over_time(slots[0], unit, tz, slots[1], first, last)
    starts, index, keep = _bucketed(times, unit, tz, first, last)
    n = starts.size
    if n == 0:
        count = np.zeros(0, dtype=np.int64)
    elif weights is None:
        count = np.bincount(index if keep.all() else index[keep], minlength=n).astype(np.int64)
    else:
        count = _sum(index, keep, weights, n)
    return CountSeries(starts, unit, tz, count)


def rate_over_time(times: ArrayLike, numerator: ArrayLike, denominator: ArrayLike, unit: str = "week",
                   tz: str = "UTC", first: ArrayLike | None = None, last: ArrayLike | None = None) -> RateSeries:
    """Pooled rate per bucket of send date, e.g. unique opens / delivered per week.

    Items with NaT times (unsent campaigns) are left out; missing counts (NaN) are skipped.

    >>> sent_at = np.array(["2024-01-01T09:00", "2024-01-02T09:00", "2024-01-15T09:00"], dtype="datetime64[s]")
    >>> s = rate_over_time(sent_at, [10, 30, 0], [100, 100, 0], unit="week")
    >>> s.start.astype(str).tolist(), s.count.tolist(), s.rate.tolist()
    (['2024-01-01', '2024-01-08', '2024-01-15'], [2, 0, 1], [0.2, nan, nan])
    """
    starts, index, keep = _bucketed(times, unit, tz, first, last)
    n = starts.size
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return RateSeries(starts, unit, tz, empty, empty, empty, np.zeros(0))
    num = _sum(index, keep, numerator, n)
    den = _sum(index, keep, denominator, n)
    count = np.bincount(index[keep], minlength=n).astype(np.int64)
    return RateSeries(starts, unit, tz, num, den, count, safe_ratio(num, den))


def moving_average(values: ArrayLike, window: int, min_periods: int = 1) -> np.ndarray:
    """Trailing mean over the last ``window`` points, skipping NaN.

    A point with fewer than ``min_periods`` non-NaN values in its window is NaN (so an
    average never rests on nothing).

    >>> moving_average([1.0, float("nan"), 3.0, 5.0], 2).tolist()
    [1.0, 1.0, 3.0, 4.0]
    >>> moving_average([], 3).tolist()
    []
    """
    if window < 1:
        raise ValueError("window must be at least 1")
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    ok = ~np.isnan(v)
    csum = np.concatenate([[0.0], np.cumsum(np.where(ok, v, 0.0))])
    ccount = np.concatenate([[0], np.cumsum(ok)])
    idx = np.arange(v.size)
    lo = np.maximum(idx + 1 - window, 0)
    total = csum[idx + 1] - csum[lo]
    count = ccount[idx + 1] - ccount[lo]
    out = np.full(v.size, np.nan)
    enough = count >= max(min_periods, 1)
    out[enough] = total[enough] / count[enough]
    return out


def rolling_rate(numerator: ArrayLike, denominator: ArrayLike, window: int) -> np.ndarray:
    """Pooled trailing rate: sum of numerators over sum of denominators in the last ``window``.

    The moving average the charts draw for rates: a bucket with few recipients moves it
    little, an empty bucket not at all.

    >>> rolling_rate([10, 0, 30], [100, 0, 100], 2).tolist()
    [0.1, 0.1, 0.3]
    """
    if window < 1:
        raise ValueError("window must be at least 1")
    num = np.nan_to_num(np.asarray(numerator, dtype=np.float64).reshape(-1))
    den = np.nan_to_num(np.asarray(denominator, dtype=np.float64).reshape(-1))
    cn = np.concatenate([[0.0], np.cumsum(num)])
    cd = np.concatenate([[0.0], np.cumsum(den)])
    idx = np.arange(num.size)
    lo = np.maximum(idx + 1 - window, 0)
    return safe_ratio(cn[idx + 1] - cn[lo], cd[idx + 1] - cd[lo])
