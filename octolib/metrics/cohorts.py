"""Signup cohorts: of the people who joined in a month, how many engaged k months later.

Rows are signup months (local time), columns are months since signup (0 = the signup
month itself). A cell is the number of *distinct* contacts of the cohort with at least one
event (open or click: the caller chooses which events) in that month, and its rate divides
by the cohort size. Cells a cohort has not lived to yet (later than the last month with
data) are NaN, so a young cohort does not read as disengaged. Events before a contact's
signup month (a re-subscribe) and events of unknown contacts are left out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from octolib.metrics.ratios import safe_ratio
from octolib.metrics.timeseries import bucket_ordinals, ordinal_starts

__all__ = ["CohortGrid", "signup_cohorts"]


@dataclass(frozen=True)
class CohortGrid:
    """Cohort × months-since-signup engagement."""

    cohort_start: np.ndarray  # datetime64[D], first day of each signup month
    size: np.ndarray  # contacts per cohort
    offsets: np.ndarray  # 0..max_offset
    engaged_count: np.ndarray  # int64, (cohorts, offsets)
    engaged_rate: np.ndarray  # float64, NaN for cells in the future

    def __len__(self) -> int:
        return len(self.cohort_start)


def signup_cohorts(signup_at: ArrayLike, event_contact: ArrayLike, event_at: ArrayLike, tz: str = "UTC",
                   max_offset: int = 12) -> CohortGrid:
    """Build the grid from contacts' signup times and events with contact indices.

    ``event_contact`` holds indices into ``signup_at`` (-1 for unknown contacts; see
    :func:`~octolib.metrics.grouping.index_of`). The last month with data is the latest
    event or signup month.

    >>> signup = np.array(["2024-01-10", "2024-01-20", "2024-02-05"], dtype="datetime64[s]")
    >>> at = np.array(["2024-01-15", "2024-02-01", "2024-02-03", "2024-02-10", "2023-12-01"],
    ...               dtype="datetime64[s]")
    >>> g = signup_cohorts(signup, [0, 0, 1, 2, 1], at, max_offset=2)
    >>> g.cohort_start.astype(str).tolist(), g.size.tolist()
    (['2024-01-01', '2024-02-01'], [2, 1])
    >>> g.engaged_count.tolist()
    [[1, 2, 0], [1, 0, 0]]
    >>> g.engaged_rate.tolist()
    [[0.5, 1.0, nan], [1.0, nan, nan]]
    """
    if max_offset < 0:
        raise ValueError("max_offset must be 0 or more")
    offsets = np.arange(max_offset + 1)
    s_month, s_ok = bucket_ordinals(signup_at, "month", tz)
    e_month, e_ok = bucket_ordinals(event_at, "month", tz)
    contact = np.asarray(event_contact, dtype=np.intp).reshape(-1)
    n_contacts = s_month.size
    if not s_ok.any():
        return CohortGrid(np.zeros(0, dtype="datetime64[D]"), np.zeros(0, dtype=np.int64), offsets,
                          np.zeros((0, offsets.size), dtype=np.int64), np.zeros((0, offsets.size)))
    first = int(s_month[s_ok].min())
    last = int(max(s_month[s_ok].max(), e_month[e_ok].max() if e_ok.any() else s_month[s_ok].max()))
    n_cohorts = int(s_month[s_ok].max()) - first + 1
    cohort = np.where(s_ok, s_month - first, -1)
    # which (contact, offset) pairs saw an event: a boolean matrix makes "distinct" free
    ok = e_ok & (contact >= 0) & (contact < n_contacts)
    c = contact[ok]
    ok_c = s_ok[c]
    c = c[ok_c]
    off = e_month[ok][ok_c] - s_month[c]
    keep = (off >= 0) & (off <= max_offset)
    seen = np.zeros((n_contacts, offsets.size), dtype=bool)
    seen[c[keep], off[keep]] = True
    members = cohort >= 0
    size = np.bincount(cohort[members], minlength=n_cohorts).astype(np.int64)
    counts = np.zeros((n_cohorts, offsets.size), dtype=np.int64)
    for k in offsets:
        counts[:, k] = np.bincount(cohort[members], weights=seen[members, k], minlength=n_cohorts).round()
    rate = safe_ratio(counts, np.broadcast_to(size[:, None], counts.shape))
    lived = (np.arange(n_cohorts)[:, None] + first + offsets[None, :]) <= last
    rate = np.where(lived, rate, np.nan)
    starts = ordinal_starts(np.arange(first, first + n_cohorts), "month")
    return CohortGrid(starts, size, offsets, counts, rate)
