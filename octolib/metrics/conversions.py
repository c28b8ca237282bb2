"""Conversions: goal-link clicks and uploaded outcomes, per campaign.

EmailOctopus's API has no conversion data: it reports sends, opens, clicks, bounces,
unsubscribes and complaints, and nothing about what a reader did after the click. So
octopus counts conversions two honest ways, and names which one a number comes from:

- **goal links**: a partner names URL patterns (the sign-up page, the shop's checkout)
  whose clicks count as conversions. *Goal clicks* of a campaign are the unique clicks
  (unique per link, as the API reports them) on the campaign's links that match a
  pattern, summed over those links; *goal rate* = goal clicks ÷ delivered. A contact who
  clicked two different goal links of one campaign counts twice: the API gives unique
  counts per link only, so the goal rate is an upper bound of "share of recipients who
  reached a goal page" and is never clipped.
- **uploaded outcomes**: the partner's own file of outcomes (who, when, optionally the
  value). Each outcome is attributed to the *last campaign the contact clicked* no more
  than the window (``OCTO_CONVERSION_WINDOW_DAYS``, default 7) before the outcome, both
  ends included; an outcome with no such click is unattributed and counted apart.
  *Conversions* of a campaign = outcomes attributed to it; *conversion rate* =
  conversions ÷ delivered; *conversion value* = the sum of their values. The click time
  is the contact's first click in that campaign (what the per-contact reports give).

Patterns are shell-style globs (``*`` any text, ``?`` one character, ``[abc]`` one of),
matched case-insensitively against the whole link after :func:`~octolib.metrics.links.normalize_url`
(tracking parameters removed, scheme and host lower-cased): ``*acme.example/signup*``
matches ``https://ACME.example/signup?utm_source=eo``. Globs rather than regular
expressions because URLs are full of ``.`` and ``?``, which a regular expression reads as
operators.

Pure numpy (STYLE.md §8): the store readers and :mod:`octolib.conversions` gather the
arrays; these functions only count.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from octolib.metrics.links import normalize_url
from octolib.metrics.ratios import safe_ratio

__all__ = [
    "NO_CAMPAIGN",
    "compile_goal_patterns",
    "goal_link_mask",
    "goal_clicks",
    "goal_rate",
    "attribute_outcomes",
    "conversion_rate",
    "ConversionCounts",
    "conversion_counts",
]

#: The campaign index of an outcome attributed to no campaign.
NO_CAMPAIGN = -1


def compile_goal_patterns(patterns: Sequence[str]) -> re.Pattern[str] | None:
    """One case-insensitive regular expression matching any of the globs; None for none.

    >>> bool(compile_goal_patterns(["*acme.example/signup*"]).match("https://acme.example/signup?x=1"))
    True
    >>> compile_goal_patterns([]) is None
    True
    """
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns), re.IGNORECASE)


def goal_link_mask(urls: Sequence[str], patterns: Sequence[str]) -> np.ndarray:
    """True for each link whose normalised URL matches a goal pattern (see the module doc).

    >>> goal_link_mask(["https://Acme.example/signup/?utm_source=eo", "https://acme.example/blog"],
    ...                ["*acme.example/signup"]).tolist()
    [True, False]
    """
    rx = compile_goal_patterns(patterns)
    if rx is None:
        return np.zeros(len(urls), dtype=bool)
    return np.fromiter((rx.match(normalize_url(u)) is not None for u in urls), dtype=bool, count=len(urls))


def goal_clicks(link_campaign: ArrayLike, link_unique: ArrayLike, is_goal: ArrayLike,
                campaign_ids: ArrayLike) -> np.ndarray:
    """Goal clicks per campaign of ``campaign_ids``: summed unique clicks of its goal links.

    ``link_campaign``, ``link_unique`` and ``is_goal`` are one row per campaign link. A
    campaign without goal links has 0.

    >>> goal_clicks(["c1", "c1", "c2"], [5, 3, 7], [True, True, False], ["c1", "c2", "c3"]).tolist()
    [8, 0, 0]
    """
    ids = np.asarray(campaign_ids, dtype=object)
    link_c = np.asarray(link_campaign, dtype=object)
    unique = np.asarray(link_unique, dtype=np.int64)
    goal = np.asarray(is_goal, dtype=bool)
    out = np.zeros(len(ids), dtype=np.int64)
    if not len(ids) or not goal.any():
        return out
    order = np.argsort(ids.astype(str))
    sorted_ids = ids.astype(str)[order]
    pos = np.searchsorted(sorted_ids, link_c.astype(str))
    pos_c = np.minimum(pos, len(ids) - 1)
    known = (pos < len(ids)) & (sorted_ids[pos_c] == link_c.astype(str)) & goal
    np.add.at(out, order[pos_c[known]], unique[known])
    return out


def goal_rate(goal_click_count: ArrayLike, delivered: ArrayLike) -> np.ndarray:
    """Goal clicks ÷ delivered, NaN where nothing was delivered; never clipped.

    >>> goal_rate([8, 3], [200, 0]).tolist()
    [0.04, nan]
    """
    return safe_ratio(goal_click_count, delivered)


def attribute_outcomes(outcome_person: ArrayLike, outcome_time: ArrayLike, click_person: ArrayLike,
                       click_time: ArrayLike, click_campaign: ArrayLike, window_s: float) -> np.ndarray:
    """For each outcome, the ``click_campaign`` value of the person's last click at most
    ``window_s`` seconds before it (both ends included), else :data:`NO_CAMPAIGN`.

    ``*_person`` are integer codes of one person (the same code for a contact's rows on
    several lists), ``*_time`` ``datetime64`` (UTC) or epoch seconds, ``click_campaign``
    integer campaign indexes. A click after the outcome never counts; of two clicks at the
    same second, the later row wins (callers sort rows by campaign id for a stable answer).

    >>> day = 86400
    >>> attribute_outcomes([0, 0, 1, 2], [10 * day, 20 * day, 10 * day, 5 * day],
    ...                    [0, 0, 1], [2 * day, 3 * day, 11 * day], [4, 5, 6], 7 * day).tolist()
    [5, -1, -1, -1]
    """
    o_person = np.asarray(outcome_person, dtype=np.int64)
    o_time = _seconds(outcome_time)
    c_person = np.asarray(click_person, dtype=np.int64)
    c_time = _seconds(click_time)
    c_campaign = np.asarray(click_campaign, dtype=np.int64)
    out = np.full(len(o_person), NO_CAMPAIGN, dtype=np.int64)
    if not len(o_person) or not len(c_person):
        return out
    ok_click = c_time != _NAT
    c_person, c_time, c_campaign = c_person[ok_click], c_time[ok_click], c_campaign[ok_click]
    if not len(c_person):
        return out
    order = np.lexsort((c_time, c_person))  # by person, then time (stable: row order breaks ties)
    c_person, c_time, c_campaign = c_person[order], c_time[order], c_campaign[order]
    # The last click of the same person at or before the outcome: search person, then time.
    last_of_person = np.searchsorted(c_person, o_person, side="right") - 1
    first_of_person = np.searchsorted(c_person, o_person, side="left")
    has_person = last_of_person >= first_of_person
    idx = np.full(len(o_person), -1, dtype=np.int64)
    for i in np.flatnonzero(has_person & (o_time != _NAT)):  # one bisection per outcome, within its person
        lo, hi = first_of_person[i], last_of_person[i] + 1
        j = lo + np.searchsorted(c_time[lo:hi], o_time[i], side="right") - 1
        if j >= lo:
            idx[i] = j
    found = idx >= 0
    within = np.zeros(len(o_person), dtype=bool)
    within[found] = (o_time[found] - c_time[idx[found]]) <= window_s
    out[within] = c_campaign[idx[within]]
    return out


_NAT = np.iinfo(np.int64).min


def _seconds(times: ArrayLike) -> np.ndarray:
    arr = np.asarray(times)
    if np.issubdtype(arr.dtype, np.datetime64):
        return arr.astype("datetime64[s]").astype(np.int64)  # NaT becomes int64 min
    return np.asarray(arr, dtype=np.int64)


def conversion_rate(conversion_count: ArrayLike, delivered: ArrayLike) -> np.ndarray:
    """Conversions ÷ delivered, NaN where nothing was delivered; never clipped.

    >>> conversion_rate([2, 1], [100, 0]).tolist()
    [0.02, nan]
    """
    return safe_ratio(conversion_count, delivered)


@dataclass(frozen=True)
class ConversionCounts:
    """Per-campaign conversions of uploaded outcomes (one row per campaign asked for).

    ``conversion_value`` sums the values given (an outcome without a value adds nothing;
    ``valued_count`` says how many had one); ``unattributed_count`` is the outcomes that
    reached no campaign of the selection.
    """

    conversion_count: np.ndarray
    conversion_rate: np.ndarray
    conversion_value: np.ndarray
    valued_count: np.ndarray
    unattributed_count: int


def conversion_counts(attributed: ArrayLike, values: ArrayLike, delivered: ArrayLike) -> ConversionCounts:
    """Count attributed outcomes per campaign.

    ``attributed`` is :func:`attribute_outcomes`' result (campaign index or -1) per outcome,
    ``values`` the outcome's value (NaN: none given), ``delivered`` per campaign.
    Conversion rate = conversions ÷ delivered, NaN where nothing was delivered, never clipped.

    >>> c = conversion_counts([0, 0, 1, -1], [10.0, float("nan"), 2.5, 4.0], [100, 0])
    >>> c.conversion_count.tolist(), c.conversion_rate.tolist(), c.conversion_value.tolist(), c.unattributed_count
    ([2, 1], [0.02, nan], [10.0, 2.5], 1)
    """
    idx = np.asarray(attributed, dtype=np.int64)
    vals = np.asarray(values, dtype=np.float64)
    delivered_a = np.asarray(delivered, dtype=np.float64)
    n = len(delivered_a)
    hit = idx >= 0
    counts = np.bincount(idx[hit], minlength=n).astype(np.int64)
    valued = hit & ~np.isnan(vals)
    value = np.bincount(idx[valued], weights=vals[valued], minlength=n).astype(np.float64)
    valued_count = np.bincount(idx[valued], minlength=n).astype(np.int64)
    return ConversionCounts(counts, conversion_rate(counts, delivered_a), value, valued_count, int((~hit).sum()))
