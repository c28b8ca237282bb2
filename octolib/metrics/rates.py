"""Per-campaign rates: the rows of :data:`~octolib.metrics.rate_specs.RATES`, applied to arrays.

Inputs are count arrays with one element per campaign (``int64`` from
:func:`octolib.store.readers.campaign_arrays`); float arrays with NaN are accepted for a
missing count and make the rates that need it NaN. Denominators follow the industry usage:
bounces are shares of *sent*, everything a recipient does is a share of *delivered*, and
click-to-open is a share of *openers* (unique opens plus clickers without a recorded open). A campaign that delivered nothing (a draft,
or every address bounced) has NaN engagement rates, never 0 % (see
:func:`~octolib.metrics.ratios.safe_ratio`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from octolib.metrics.rate_specs import AUTOMATION_COUNT_NAMES, COUNT_NAMES, RATES, rate_spec
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

#: The rates of :class:`CampaignRates`, in display order: the rows of :data:`RATES`.
RATE_NAMES: tuple[str, ...] = tuple(RATES)


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
    """Counts and rates of a set of campaigns, aligned with the input arrays.

    ``counts`` holds every column of :data:`~octolib.metrics.rate_specs.COUNT_NAMES`;
    ``rates`` one array per row of :data:`RATES`. Each rate is also an attribute
    (``r.open_rate``), so a new table row needs no new field here.
    """

    counts: Mapping[str, np.ndarray]
    rates: Mapping[str, np.ndarray]

    def __getattr__(self, name: str) -> np.ndarray:
        # Only called for names that are not real attributes: the rates of the table.
        if name in RATES and "rates" in self.__dict__:
            return self.__dict__["rates"][name]
        raise AttributeError(name)

    def __len__(self) -> int:
        return len(self.sent_count)

    @property
    def sent_count(self) -> np.ndarray:
        return self.counts["sent"]

    @property
    def delivered_count(self) -> np.ndarray:
        return self.counts["delivered"]

    @property
    def opened_count(self) -> np.ndarray:
        """Unique opens (EmailOctopus's count)."""
        return self.counts["opened"]

    def rate(self, name: str) -> np.ndarray:
        """One rate by name (one of :data:`RATE_NAMES`), for callers that pick a metric."""
        rate_spec(name)  # KeyError naming the known rates
        return self.rates[name]

    def denominator(self, name: str) -> np.ndarray:
        """The count a rate is a share of (its table row's): its weight when averaging campaigns.

        >>> r = campaign_rates([10], [1], [0], [4], [2], [0], [0])
        >>> r.denominator("bounce_rate").tolist(), r.denominator("click_to_open_rate").tolist()
        ([10.0], [4.0])
        """
        return rate_spec(name).parts(self.counts)[1]


def campaign_rates(
    sent: ArrayLike,
    bounced_hard: ArrayLike,
    bounced_soft: ArrayLike,
    opened_unique: ArrayLike,
    clicked_unique: ArrayLike,
    unsubscribed: ArrayLike,
    complained: ArrayLike,
    clicked_without_open: ArrayLike | None = None,
    derived: Mapping[str, ArrayLike] | None = None,
) -> CampaignRates:
    """Every per-campaign rate of :data:`RATES` at once (all arrays the same length).

    ``clicked_without_open`` (contacts who clicked without a recorded open, from the
    per-contact events) defaults to 0: not yet counted. ``derived`` holds other counts of
    :data:`~octolib.metrics.rate_specs.COUNT_NAMES` the sync derives from the events (the
    automated-activity counts); a missing one makes the rates that need it NaN (unknown).

    >>> r = campaign_rates(sent=[1000, 0], bounced_hard=[10, 0], bounced_soft=[10, 0],
    ...                    opened_unique=[490, 0], clicked_unique=[49, 0],
    ...                    unsubscribed=[2, 0], complained=[1, 0])
    >>> r.delivered_count.tolist(), r.open_rate.tolist(), r.click_to_open_rate.tolist()
    ([980, 0], [0.5, nan], [0.1, nan])
    >>> float(r.bounce_rate[0]), float(r.complaint_rate[0])
    (0.02, 0.0010204081632653062)
    >>> campaign_rates([10], [0], [0], [2], [3], [0], [0], clicked_without_open=[1]).click_to_open_rate.tolist()
    [1.0]
    """
    sent_c = _counts(sent)
    hard = _counts(bounced_hard)
    soft = _counts(bounced_soft)
    opened = _counts(opened_unique)
    cwo = np.zeros(opened.shape, dtype=np.int64) if clicked_without_open is None else _counts(clicked_without_open)
    counts = {
        "sent": sent_c,
        "delivered": delivered_count(sent_c, hard, soft),
        "opened": opened,
        "clicked": _counts(clicked_unique),
        "clicked_without_open": cwo,
        "bounced": hard + soft,
        "bounced_hard": hard,
        "bounced_soft": soft,
        "unsubscribed": _counts(unsubscribed),
        "spam_complaints": _counts(complained),
    }
    for name, column in (derived or {}).items():
        if name in COUNT_NAMES and name not in counts:
            counts[name] = _counts(column)
    return CampaignRates(counts=counts, rates={name: spec.values(counts) for name, spec in RATES.items()})


# Names the store readers use (DESIGN.md §3) -> the parameter names above.
_ALIASES = {
    "opened_unique": ("opened_unique", "opened"),
    "clicked_unique": ("clicked_unique", "clicked"),
    "complained": ("complained", "spam_complaints"),
}


def campaign_rates_from(columns: Mapping[str, ArrayLike]) -> CampaignRates:
    """:func:`campaign_rates` from a dict of columns, e.g. ``campaign_arrays(store)``.

    Accepts the store's names (``opened``, ``clicked``, ``spam_complaints``) as well as the
    parameter names; a column that is absent counts as missing (NaN rates), not as zeros,
    except ``clicked_without_open`` (0: not counted yet).

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
    derived = {k: columns[k] for k in AUTOMATION_COUNT_NAMES if k in columns}
    return campaign_rates(**kwargs, clicked_without_open=columns.get("clicked_without_open"), derived=derived)


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
