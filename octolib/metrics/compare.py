"""Each campaign against the account and against its own list's recent history.

Two baselines, because they answer different questions: the account median says "is this
campaign unusual for us", the trailing median of the same list's previous campaigns says
"is this list drifting". Medians, not means: one viral or broken campaign must not move
the baseline. The history excludes the campaign itself and uses the ``window`` campaigns
sent to the same list just before it (by ``sent_at``); fewer than ``min_history`` defined
values give no baseline (NaN), so a new list is not judged on one campaign.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from octolib.metrics.grouping import factorize
from octolib.metrics.timezones import utc_seconds

__all__ = ["TrailingHistory", "trailing_history", "Comparison", "compare_campaigns"]


@dataclass(frozen=True)
class TrailingHistory:
    """Per item: median, sample std and size of its group's previous ``window`` values."""

    median: np.ndarray
    std: np.ndarray
    n: np.ndarray  # defined values in the window


def trailing_history(values: ArrayLike, group: ArrayLike, time: ArrayLike, window: int = 10,
                     min_history: int = 3) -> TrailingHistory:
    """Median and std of the previous ``window`` values of the same group, in time order.

    Items with NaT times sort last in their group. NaN values are skipped (they shrink
    ``n``). The std is the sample one, NaN below two values.

    >>> t = np.array(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"], dtype="datetime64[s]")
    >>> h = trailing_history([0.4, 0.5, 0.3, 0.6, 0.1], ["a"] * 5, t, window=3, min_history=3)
    >>> h.median.tolist(), h.n.tolist()
    ([nan, nan, nan, 0.4, 0.5], [0, 1, 2, 3, 3])
    """
    if window < 1 or min_history < 1:
        raise ValueError("window and min_history must be at least 1")
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    n = v.size
    nan_out = np.full(n, np.nan)
    if n == 0:
        return TrailingHistory(nan_out, nan_out.copy(), np.zeros(0, dtype=np.int64))
    _, codes = factorize(group)
    secs, ok = utc_seconds(time)
    t_key = np.where(ok, secs, np.iinfo(np.int64).max)
    order = np.lexsort((np.arange(n), t_key, codes))
    sv = v[order]
    sc = codes[order]
    first_of_group = np.r_[True, sc[1:] != sc[:-1]]
    starts = np.maximum.accumulate(np.where(first_of_group, np.arange(n), 0))
    pos = np.arange(n) - starts
    lags = np.arange(1, window + 1)
    prev = np.arange(n)[:, None] - lags[None, :]
    has = lags[None, :] <= pos[:, None]
    hist = np.where(has, sv[np.maximum(prev, 0)], np.nan)
    count = (~np.isnan(hist)).sum(axis=1)
    med, std = _row_median_std(hist, count)
    med[count < min_history] = np.nan
    std[count < min_history] = np.nan
    out_med, out_std, out_n = np.empty(n), np.empty(n), np.empty(n, dtype=np.int64)
    out_med[order], out_std[order], out_n[order] = med, std, count
    return TrailingHistory(out_med, out_std, out_n)


def _row_median_std(rows: np.ndarray, count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: median and sample std of the non-NaN values (NaN where too few).

    Vectorised on purpose: ``np.nanmedian`` over many short rows loops in Python.
    """
    n = rows.shape[0]
    med = np.full(n, np.nan)
    std = np.full(n, np.nan)
    if n == 0 or rows.shape[1] == 0:
        return med, std
    ordered = np.sort(rows, axis=1)  # NaN sorts last, so the first ``count`` are the values
    has = count > 0
    lo = np.clip((count - 1) // 2, 0, None)
    hi = np.clip(count // 2, 0, None)
    pick_lo = np.take_along_axis(ordered, np.minimum(lo, rows.shape[1] - 1)[:, None], axis=1)[:, 0]
    pick_hi = np.take_along_axis(ordered, np.minimum(hi, rows.shape[1] - 1)[:, None], axis=1)[:, 0]
    med[has] = (pick_lo[has] + pick_hi[has]) / 2
    # every row at once, then keep the rows with two values or more: no masked copies
    valid = ~np.isnan(rows)
    filled = np.where(valid, rows, 0.0)
    two = count >= 2
    mean = filled.sum(axis=1) / np.maximum(count, 1)
    dev = np.where(valid, filled - mean[:, None], 0.0)
    std[two] = np.sqrt((dev * dev).sum(axis=1)[two] / (count[two] - 1))
    return med, std


@dataclass(frozen=True)
class Comparison:
    """A rate per campaign with both baselines and the differences (in rate units)."""

    value: np.ndarray
    account_median: float
    vs_account: np.ndarray  # value - account median
    list_median: np.ndarray  # trailing median of the same list
    list_std: np.ndarray
    list_history: np.ndarray  # campaigns the list baseline rests on
    vs_list: np.ndarray  # value - list median


def compare_campaigns(values: ArrayLike, list_id: ArrayLike, sent_at: ArrayLike, window: int = 10,
                      min_history: int = 3) -> Comparison:
    """Compare each campaign's rate with the account median and its list's trailing median.

    >>> t = np.array(["2024-01-01", "2024-01-08", "2024-01-15", "2024-01-22"], dtype="datetime64[s]")
    >>> c = compare_campaigns([0.4, 0.5, 0.3, 0.2], ["l"] * 4, t, min_history=3)
    >>> round(c.account_median, 3), c.vs_account.round(3).tolist(), c.list_median.tolist()
    (0.35, [0.05, 0.15, -0.05, -0.15], [nan, nan, nan, 0.4])
    """
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    defined = v[~np.isnan(v)]
    median = float(np.median(defined)) if defined.size else float("nan")
    hist = trailing_history(v, list_id, sent_at, window, min_history)
    return Comparison(v, median, v - median, hist.median, hist.std, hist.n, v - hist.median)
