"""Across a selection of campaigns: totals, summaries of a rate, rankings, rates per group.

Two means on purpose: the *unweighted* mean answers "how does a typical campaign do", the
*weighted* mean (weights = the rate's denominator, so it equals the pooled rate) answers
"what share of all recipients did it". NaN rates (zero denominators) are skipped, and a
summary of nothing is all NaN with ``n_valid == 0``, which the formatters print as "—".
The standard deviation is the sample one (``ddof=1``): the selection is read as a sample
of what campaigns do, and one campaign has no spread (NaN).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from octolib.metrics.grouping import factorize, group_count, group_sum
from octolib.metrics.ratios import safe_ratio

__all__ = [
    "totals",
    "pooled_rate",
    "RateSummary",
    "summarize",
    "Ranking",
    "top_bottom",
    "GroupRates",
    "grouped_rates",
]


def totals(columns: Mapping[str, ArrayLike]) -> dict[str, int]:
    """Sum of each count column, missing values (NaN) skipped; ints out.

    >>> totals({"sent": [100, 50], "opened": [10.0, float("nan")]})
    {'sent': 150, 'opened': 10}
    """
    out: dict[str, int] = {}
    for name, values in columns.items():
        arr = np.asarray(values)
        if arr.dtype.kind in "iub":
            out[name] = int(arr.sum(dtype=np.int64))
        else:
            out[name] = int(round(float(np.nansum(arr.astype(np.float64)))))
    return out


def pooled_rate(numerator: ArrayLike, denominator: ArrayLike) -> float:
    """Sum of numerators over sum of denominators (NaN pairs skipped); NaN if nothing.

    >>> pooled_rate([10, 30], [100, 100]), pooled_rate([], [])
    (0.2, nan)
    """
    num = np.asarray(numerator, dtype=np.float64).reshape(-1)
    den = np.asarray(denominator, dtype=np.float64).reshape(-1)
    ok = ~np.isnan(num) & ~np.isnan(den) & (den > 0)
    return float(safe_ratio(num[ok].sum(), den[ok].sum()))


@dataclass(frozen=True)
class RateSummary:
    """Descriptive statistics of one rate over a selection (NaN where undefined)."""

    n: int  # campaigns in the selection
    n_valid: int  # campaigns whose rate is defined
    mean: float
    weighted_mean: float
    median: float
    std: float
    min: float
    max: float
    percentiles: dict[float, float] = field(default_factory=dict)


def summarize(rates: ArrayLike, weights: ArrayLike | None = None,
              percentiles: Sequence[float] = (10, 25, 75, 90)) -> RateSummary:
    """Mean, weighted mean, median, sample std, min, max and percentiles, skipping NaN.

    ``weights`` are the rate's denominators (e.g. delivered for the open rate); without
    them the weighted mean equals the mean. Percentiles use linear interpolation.

    >>> s = summarize([0.1, 0.3, float("nan")], weights=[300, 100, 0])
    >>> s.n, s.n_valid, round(s.mean, 6), round(s.weighted_mean, 6), round(s.std, 6)
    (3, 2, 0.2, 0.15, 0.141421)
    >>> s.percentiles[25]
    0.15
    >>> summarize([]).median
    nan
    """
    r = np.asarray(rates, dtype=np.float64).reshape(-1)
    valid = ~np.isnan(r)
    v = r[valid]
    nan = float("nan")
    if v.size == 0:
        return RateSummary(int(r.size), 0, nan, nan, nan, nan, nan, nan, {float(p): nan for p in percentiles})
    lo, hi = float(v.min()), float(v.max())
    # float rounding can put a mean of equal values one ulp outside them; keep it inside
    mean = float(np.clip(v.mean(), lo, hi))
    if weights is None:
        weighted = mean
    else:
        w = np.broadcast_to(np.asarray(weights, dtype=np.float64).reshape(-1), r.shape)[valid]
        wok = ~np.isnan(w) & (w > 0)
        weighted = float(np.clip(np.dot(v[wok], w[wok]) / w[wok].sum(), lo, hi)) if wok.any() else nan
    std = float(v.std(ddof=1)) if v.size > 1 else nan
    # The median and the percentiles from one partition of the values, not two.
    median, *pct = np.percentile(v, [50.0, *percentiles])
    return RateSummary(
        n=int(r.size),
        n_valid=int(v.size),
        mean=mean,
        weighted_mean=weighted,
        median=float(median),
        std=std,
        min=lo,
        max=hi,
        percentiles={float(p): float(x) for p, x in zip(percentiles, pct)},
    )


@dataclass(frozen=True)
class Ranking:
    """Indices of the best and worst items, best first / worst first.

    ``ranked`` is every eligible item, best first. When there are ``2 k`` or fewer of them
    the top and bottom lists would share items (or be one list reversed), so a page shows
    ``ranked`` as one list instead (:attr:`overlaps`).
    """

    top: np.ndarray
    bottom: np.ndarray
    ranked: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.intp))

    @property
    def overlaps(self) -> bool:
        """True when best and worst cannot be told apart: show :attr:`ranked` as one list."""
        return len(self.ranked) <= len(self.top) + len(self.bottom) and len(self.ranked) > 0


def top_bottom(values: ArrayLike, k: int = 5, eligible: ArrayLike | None = None) -> Ranking:
    """The ``k`` highest and ``k`` lowest values' indices, NaN and ineligible items left out.

    Pass ``eligible=~is_small(delivered)`` so a 3-recipient campaign cannot top the table.
    Ties keep input order. With ``2 k`` or fewer eligible items the lists overlap (or are one
    list reversed): then ``overlaps`` is True and ``ranked`` is the one list to show.

    >>> r = top_bottom([0.2, float("nan"), 0.5, 0.1, 0.5], k=2)
    >>> r.top.tolist(), r.bottom.tolist(), r.overlaps, r.ranked.tolist()
    ([2, 4], [3, 0], True, [2, 4, 0, 3])
    >>> top_bottom(list(range(11)), k=5).overlaps
    False
    """
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    ok = ~np.isnan(v)
    if eligible is not None:
        ok &= np.asarray(eligible, dtype=bool).reshape(-1)
    idx = np.flatnonzero(ok)
    if idx.size == 0 or k <= 0:
        empty = np.zeros(0, dtype=np.intp)
        return Ranking(empty, empty)
    asc = idx[np.argsort(v[idx], kind="stable")]
    desc = idx[np.lexsort((idx, -v[idx]))]  # highest first, ties by position
    return Ranking(desc[:k], asc[:k], desc)


@dataclass(frozen=True)
class GroupRates:
    """A pooled rate per group (e.g. per list), groups sorted by key."""

    keys: np.ndarray
    count: np.ndarray  # items per group
    numerator: np.ndarray
    denominator: np.ndarray
    rate: np.ndarray


def grouped_rates(keys: ArrayLike, numerator: ArrayLike, denominator: ArrayLike) -> GroupRates:
    """Pooled rate per key, e.g. the open rate of each list's campaigns.

    >>> g = grouped_rates(["b", "a", "b"], [10, 5, 30], [100, 0, 100])
    >>> g.keys.tolist(), g.count.tolist(), g.rate.tolist()
    (['a', 'b'], [1, 2], [nan, 0.2])
    """
    uniques, inverse = factorize(keys)
    n = uniques.size
    num = group_sum(inverse, numerator, n)
    den = group_sum(inverse, denominator, n)
    return GroupRates(uniques, group_count(inverse, n), num, den, safe_ratio(num, den))
