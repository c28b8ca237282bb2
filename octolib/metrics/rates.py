"""Per-campaign rates: the definitions of :data:`~octolib.metrics.definitions.METRIC_DEFINITIONS`.

Inputs are count arrays with one element per campaign (``int64`` from
:func:`octolib.store.readers.campaign_arrays`); float arrays with NaN are accepted for a
missing count and make the rates that need it NaN. Denominators follow the industry usage:
bounces are shares of *sent*, everything a recipient does is a share of *delivered*, and
click-to-open is a share of *unique opens*. A campaign that delivered nothing (a draft,
or every address bounced) has NaN engagement rates, never 0 % (see
:func:`~octolib.metrics.ratios.safe_ratio`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from octolib.metrics.ratios import safe_ratio

__all__ = [
    "CampaignRates",
    "delivered_count",
    "campaign_rates",
    "campaign_rates_from",
    "Funnel",
    "funnel",
    "RATE_NAMES",
]

#: The rate fields of :class:`CampaignRates`, in display order.
RATE_NAMES: tuple[str, ...] = (
    "open_rate",
    "click_rate",
    "click_to_open_rate",
    "bounce_rate",
    "hard_bounce_rate",
    "soft_bounce_rate",
    "unsubscribe_rate",
    "complaint_rate",
)


def _counts(x: ArrayLike) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype.kind in "iub":
        return arr.astype(np.int64, copy=False)
    return arr.astype(np.float64, copy=False)


def delivered_count(sent: ArrayLike, bounced_hard: ArrayLike, bounced_soft: ArrayLike) -> np.ndarray:
    """Sent minus bounced, never below 0 (a bounce count above ``sent`` is a data error).

    ``int64`` for integer input; ``float64`` with NaN where a count was missing.

    >>> delivered_count([100, 10, 0], [2, 8, 0], [3, 5, 0]).tolist()
    [95, 0, 0]
    """
    out = _counts(sent) - _counts(bounced_hard) - _counts(bounced_soft)
    return np.maximum(out, 0)  # np.maximum keeps NaN: a missing count stays missing


@dataclass(frozen=True)
class CampaignRates:
    """Counts and rates of a set of campaigns, aligned with the input arrays."""

    sent_count: np.ndarray
    delivered_count: np.ndarray
    opened_count: np.ndarray  # unique opens, the click-to-open denominator
    open_rate: np.ndarray
    click_rate: np.ndarray
    click_to_open_rate: np.ndarray
    bounce_rate: np.ndarray
    hard_bounce_rate: np.ndarray
    soft_bounce_rate: np.ndarray
    unsubscribe_rate: np.ndarray
    complaint_rate: np.ndarray

    def __len__(self) -> int:
        return len(self.sent_count)

    def rate(self, name: str) -> np.ndarray:
        """One rate by name (one of :data:`RATE_NAMES`), for callers that pick a metric."""
        if name not in RATE_NAMES:
            raise KeyError(f"unknown rate {name!r}; one of {', '.join(RATE_NAMES)}")
        return getattr(self, name)

    def denominator(self, name: str) -> np.ndarray:
        """The count a rate is a share of: its natural weight when averaging campaigns.

        >>> r = campaign_rates([10], [1], [0], [4], [2], [0], [0])
        >>> r.denominator("bounce_rate").tolist(), r.denominator("click_to_open_rate").tolist()
        ([10], [4])
        """
        self.rate(name)
        if name.endswith("bounce_rate"):
            return self.sent_count
        if name == "click_to_open_rate":
            return self.opened_count
        return self.delivered_count


def campaign_rates(
    sent: ArrayLike,
    bounced_hard: ArrayLike,
    bounced_soft: ArrayLike,
    opened_unique: ArrayLike,
    clicked_unique: ArrayLike,
    unsubscribed: ArrayLike,
    complained: ArrayLike,
) -> CampaignRates:
    """Every per-campaign rate at once (all arrays the same length).

    >>> r = campaign_rates(sent=[1000, 0], bounced_hard=[10, 0], bounced_soft=[10, 0],
    ...                    opened_unique=[490, 0], clicked_unique=[49, 0],
    ...                    unsubscribed=[2, 0], complained=[1, 0])
    >>> r.delivered_count.tolist(), r.open_rate.tolist(), r.click_to_open_rate.tolist()
    ([980, 0], [0.5, nan], [0.1, nan])
    >>> float(r.bounce_rate[0]), float(r.complaint_rate[0])
    (0.02, 0.0010204081632653062)
    """
    sent_c = _counts(sent)
    hard = _counts(bounced_hard)
    soft = _counts(bounced_soft)
    delivered = delivered_count(sent_c, hard, soft)
    opened = _counts(opened_unique)
    clicked = _counts(clicked_unique)
    return CampaignRates(
        sent_count=sent_c,
        delivered_count=delivered,
        opened_count=opened,
        open_rate=safe_ratio(opened, delivered),
        click_rate=safe_ratio(clicked, delivered),
        click_to_open_rate=safe_ratio(clicked, opened),
        bounce_rate=safe_ratio(hard + soft, sent_c),
        hard_bounce_rate=safe_ratio(hard, sent_c),
        soft_bounce_rate=safe_ratio(soft, sent_c),
        unsubscribe_rate=safe_ratio(_counts(unsubscribed), delivered),
        complaint_rate=safe_ratio(_counts(complained), delivered),
    )


# Names the store readers use (DESIGN.md §3) -> the parameter names above.
_ALIASES = {
    "opened_unique": ("opened_unique", "opened"),
    "clicked_unique": ("clicked_unique", "clicked"),
    "complained": ("complained", "spam_complaints"),
}


def campaign_rates_from(columns: Mapping[str, ArrayLike]) -> CampaignRates:
    """:func:`campaign_rates` from a dict of columns, e.g. ``campaign_arrays(store)``.

    Accepts the store's names (``opened``, ``clicked``, ``spam_complaints``) as well as the
    parameter names; a column that is absent counts as missing (NaN rates), not as zeros.

    >>> r = campaign_rates_from({"sent": [10], "bounced_hard": [0], "bounced_soft": [0],
    ...                          "opened": [5], "clicked": [1], "unsubscribed": [0]})
    >>> r.open_rate.tolist(), r.complaint_rate.tolist()
    ([0.5], [nan])
    """
    n = len(np.asarray(columns["sent"]))
    kwargs: dict[str, ArrayLike] = {}
    for name in ("sent", "bounced_hard", "bounced_soft", "opened_unique", "clicked_unique",
                 "unsubscribed", "complained"):
        for key in _ALIASES.get(name, (name,)):
            if key in columns:
                kwargs[name] = columns[key]
                break
        else:
            kwargs[name] = np.full(n, np.nan)
    return campaign_rates(**kwargs)


@dataclass(frozen=True)
class Funnel:
    """Sent → delivered → opened → clicked, summed over a selection."""

    stages: tuple[str, ...]
    counts: np.ndarray  # int64, one per stage
    rate_of_previous: np.ndarray  # stage / previous stage (first: NaN)
    rate_of_first: np.ndarray  # stage / sent


def funnel(sent: ArrayLike, delivered: ArrayLike, opened_unique: ArrayLike, clicked_unique: ArrayLike) -> Funnel:
    """The funnel of a selection of campaigns (scalars or per-campaign arrays are summed).

    Missing counts (NaN) are skipped in the sums; an empty selection gives zeros and NaN
    rates.

    >>> f = funnel([100, 100], [90, 98], [40, 60], [10, 5])
    >>> f.counts.tolist(), f.rate_of_previous.tolist()
    ([200, 188, 100, 15], [nan, 0.94, 0.5319148936170213, 0.15])
    """
    totals = np.array([np.nansum(np.asarray(x, dtype=np.float64)) for x in (sent, delivered, opened_unique,
                                                                          clicked_unique)])
    counts = totals.astype(np.int64)
    prev = np.concatenate([[np.nan], safe_ratio(counts[1:], counts[:-1])])
    return Funnel(("Sent", "Delivered", "Opened", "Clicked"), counts, prev, safe_ratio(counts, counts[0]))
