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
    med = np.full(n, np.nan)
    std = np.full(n, np.nan)
    rows = count >= min_history
    if rows.any():
        med[rows] = np.nanmedian(hist[rows], axis=1)
        spread = rows & (count >= 2)
        std[spread] = np.nanstd(hist[spread], axis=1, ddof=1)
    out_med, out_std, out_n = np.empty(n), np.empty(n), np.empty(n, dtype=np.int64)
    out_med[order], out_std[order], out_n[order] = med, std, count
    return TrailingHistory(out_med, out_std, out_n)


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
