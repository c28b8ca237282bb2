"""Flags: campaigns that need a look, by thresholds the account can change.

Defaults follow the mailbox providers' guidance: a bounce rate above 2 % of sends and a
complaint rate above 0.1 % of deliveries hurt sender reputation; an open rate more than 2
standard deviations below the list's trailing median says something broke (content,
deliverability, list quality). Thresholds live in :class:`FlagThresholds`; pass your own.

Small numbers are not flagged: below ``min_denominator`` recipients one bounce is already
a few percent, so such campaigns are skipped (set it to 0 to flag everything). The spread
used for the open-rate rule is at least ``open_drop_min_spread``, so a list whose history
is perfectly flat is not flagged for a 0.1-point dip.

Campaigns still in progress (``octolib.metrics.maturity``) are passed as not ``eligible``:
they are neither flagged nor part of any list's baseline, because their opens are still
coming in (a 15-hour-old send is not an "open drop").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from octolib.metrics.compare import trailing_history
from octolib.metrics.display import format_rate, format_rates_apart
from octolib.metrics.rates import CampaignRates

__all__ = ["FlagThresholds", "CampaignFlags", "campaign_flags"]


@dataclass(frozen=True)
class FlagThresholds:
    """When a campaign is flagged (rates are ratios: 0.02 is 2 %)."""

    bounce_rate: float = 0.02
    complaint_rate: float = 0.001
    open_drop_sigma: float = 2.0
    open_drop_min_spread: float = 0.005
    history_window: int = 10
    min_history: int = 3
    min_denominator: int = 50


@dataclass(frozen=True)
class CampaignFlags:
    """Boolean flags per campaign, with the baseline the open-rate rule used."""

    high_bounce: np.ndarray
    high_complaints: np.ndarray
    open_drop: np.ndarray
    open_baseline: np.ndarray  # trailing median open rate of the list (NaN: no history)
    open_spread: np.ndarray  # trailing std used (after the minimum spread)
    values: CampaignRates
    thresholds: FlagThresholds

    @property
    def any(self) -> np.ndarray:
        return self.high_bounce | self.high_complaints | self.open_drop

    def messages(self, labels: Sequence[str] | ArrayLike) -> list[str]:
        """One sentence per raised flag, in campaign order, naming the campaign by ``labels``.

        NaN never reaches the text: formatters print "—".
        """
        names = [str(x) for x in np.asarray(labels, dtype=object).reshape(-1)]
        t = self.thresholds
        out: list[str] = []
        for i in np.flatnonzero(self.any):
            if self.high_bounce[i]:
                value, limit = format_rates_apart(self.values.bounce_rate[i], t.bounce_rate)
                out.append(f"{names[i]}: bounce rate {value} is above {limit}")
            if self.high_complaints[i]:
                value, limit = format_rates_apart(self.values.complaint_rate[i], t.complaint_rate, 2)
                out.append(f"{names[i]}: complaint rate {value} is above {limit}")
            if self.open_drop[i]:
                out.append(f"{names[i]}: open rate {format_rate(self.values.open_rate[i])} is more than "
                           f"{t.open_drop_sigma:g} standard deviations below the list's recent median "
                           f"({format_rate(self.open_baseline[i])})")
        return out


def campaign_flags(rates: CampaignRates, list_id: ArrayLike, sent_at: ArrayLike,
                   thresholds: FlagThresholds | None = None, eligible: ArrayLike | None = None) -> CampaignFlags:
    """Flag high bounces, high complaints and open-rate drops (see module doc).

    >>> from octolib.metrics.rates import campaign_rates
    >>> r = campaign_rates(sent=[1000, 1000, 20], bounced_hard=[30, 0, 2], bounced_soft=[0, 0, 0],
    ...                    opened_unique=[400, 400, 5], clicked_unique=[0, 0, 0], unsubscribed=[0, 0, 0],
    ...                    complained=[0, 2, 0])
    >>> f = campaign_flags(r, ["a", "a", "a"], np.array(["2024-01-01", "2024-01-02", "2024-01-03"], "datetime64[s]"))
    >>> f.high_bounce.tolist(), f.high_complaints.tolist(), f.any.tolist()
    ([True, False, False], [False, True, False], [True, True, False])
    >>> f.messages(["May", "June", "Tiny"])[0]
    'May: bounce rate 3.0% is above 2.0%'
    >>> t = np.array(["2024-01-01", "2024-01-02", "2024-01-03"], "datetime64[s]")
    >>> campaign_flags(r, ["a"] * 3, t, eligible=[False, True, True]).any.tolist()  # May in progress
    [False, True, False]
    """
    t = thresholds or FlagThresholds()
    sent = np.asarray(rates.sent_count, dtype=np.float64)
    delivered = np.asarray(rates.delivered_count, dtype=np.float64)
    ok = np.ones(sent.shape, dtype=bool) if eligible is None else np.asarray(eligible, dtype=bool).reshape(-1)
    big_sent = (sent >= t.min_denominator) & ok
    big_delivered = (delivered >= t.min_denominator) & ok
    bounce = rates.bounce_rate
    complaints = rates.complaint_rate
    high_bounce = big_sent & ~np.isnan(bounce) & (np.nan_to_num(bounce) > t.bounce_rate)
    high_complaints = big_delivered & ~np.isnan(complaints) & (np.nan_to_num(complaints) > t.complaint_rate)
    # the open-rate history only uses campaigns big enough to be read
    opens = np.where(big_delivered, rates.open_rate, np.nan)
    hist = trailing_history(opens, list_id, sent_at, t.history_window, t.min_history)
    spread = np.where(np.isnan(hist.std), np.nan, np.fmax(hist.std, t.open_drop_min_spread))
    floor = hist.median - t.open_drop_sigma * spread
    known = ~np.isnan(opens) & ~np.isnan(floor)
    open_drop = known & (np.where(known, opens, 0.0) < np.where(known, floor, 0.0))
    return CampaignFlags(high_bounce, high_complaints, open_drop, hist.median, spread, rates, t)
