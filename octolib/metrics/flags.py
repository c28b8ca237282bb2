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

__all__ = ["FlagThresholds", "FLAG_HALF_LIFE_DAYS", "CampaignFlags", "campaign_flags", "Flag", "RULE_WEIGHTS", "flag_items", "flag_scores",
           "rank_flags", "group_flags"]

#: Ranking: a flag this many days older than another, equally severe, counts half as much.
FLAG_HALF_LIFE_DAYS = 30.0


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
    open_history_n: np.ndarray | None = None  # how many earlier campaigns the list's median rests on

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
    return CampaignFlags(high_bounce, high_complaints, open_drop, hist.median, spread, rates, t, hist.n)


# -- flags worth reading: one item per raised flag, ranked, grouped, dismissable ---------------

#: How much a rule weighs in the ranking: complaints and bounces hurt the sender's reputation
#: with every later campaign; an open-rate drop is one campaign's problem.
RULE_WEIGHTS: dict[str, float] = {"complaints": 3.0, "bounces": 2.0, "open_drop": 1.0}


@dataclass(frozen=True)
class Flag:
    """One raised flag. ``key`` (campaign id + rule) is stable across syncs, so a dismissal
    keyed by it outlives new data; ``severity`` is how far past its threshold (1 = at it),
    ``text`` the one sentence with the comparison that raised it."""

    key: str
    row: int
    campaign_id: str
    campaign: str
    list_id: str
    rule: str
    severity: float
    sent_at: np.datetime64
    text: str


def flag_items(flags: CampaignFlags, campaign_ids: ArrayLike, names: ArrayLike, list_ids: ArrayLike,
               sent_at: ArrayLike, mask: ArrayLike | None = None) -> list[Flag]:
    """Every raised flag (of the rows in ``mask``) as a :class:`Flag`, in row order.

    >>> from octolib.metrics.rates import campaign_rates
    >>> r = campaign_rates(sent=[1000], bounced_hard=[31], bounced_soft=[0], opened_unique=[400],
    ...                    clicked_unique=[0], unsubscribed=[0], complained=[0])
    >>> f = campaign_flags(r, ["l"], np.array(["2024-01-01"], "datetime64[s]"))
    >>> item = flag_items(f, ["c1"], ["May"], ["l"], np.array(["2024-01-01"], "datetime64[s]"))[0]
    >>> item.key, round(item.severity, 2), item.text
    ('c1:bounces', 1.55, 'Bounce rate 3.1% is 1.1 points above the 2.0% limit (of 1,000 sent).')
    """
    ids = np.asarray(campaign_ids, dtype=object).reshape(-1)
    labels = np.asarray(names, dtype=object).reshape(-1)
    lists = np.asarray(list_ids, dtype=object).reshape(-1)
    times = np.asarray(sent_at, dtype="datetime64[s]").reshape(-1)
    use = flags.any if mask is None else flags.any & np.asarray(mask, dtype=bool)
    t = flags.thresholds
    v = flags.values
    hist_n = flags.open_history_n
    out: list[Flag] = []

    def points(a: float, b: float, digits: int = 1) -> str:
        # from the printed rates, so the reader's own subtraction agrees with the sentence
        pa, pb = (float(format_rate(x, digits).rstrip("%")) for x in (a, b))
        return f"{abs(pa - pb):.{digits}f}"

    for i in np.flatnonzero(use):
        common = dict(row=int(i), campaign_id=str(ids[i]), campaign=str(labels[i]), list_id=str(lists[i]),
                      sent_at=times[i])
        if flags.high_complaints[i]:
            rate = float(v.complaint_rate[i])
            out.append(Flag(key=f"{ids[i]}:complaints", rule="complaints", severity=_excess(rate, t.complaint_rate),
                            text=(f"Complaint rate {format_rate(rate, 2)} is {points(rate, t.complaint_rate, 2)} "
                                  f"points above the {format_rate(t.complaint_rate, 2)} limit (of "
                                  f"{int(v.delivered_count[i]):,} delivered)."),
                            **common))  # type: ignore[arg-type]
        if flags.high_bounce[i]:
            rate = float(v.bounce_rate[i])
            out.append(Flag(key=f"{ids[i]}:bounces", rule="bounces", severity=_excess(rate, t.bounce_rate),
                            text=(f"Bounce rate {format_rate(rate)} is {points(rate, t.bounce_rate)} points above "
                                  f"the {format_rate(t.bounce_rate)} limit (of {int(v.sent_count[i]):,} sent)."),
                            **common))  # type: ignore[arg-type]
        if flags.open_drop[i]:
            rate, median = float(v.open_rate[i]), float(flags.open_baseline[i])
            floor_gap = t.open_drop_sigma * float(flags.open_spread[i])
            n = int(hist_n[i]) if hist_n is not None else t.history_window
            out.append(Flag(key=f"{ids[i]}:open_drop", rule="open_drop",
                            severity=(median - rate) / floor_gap if floor_gap > 0 else 1.0,
                            text=(f"Open rate {format_rate(rate)} is {points(rate, median)} points below the list's "
                                  f"median {format_rate(median)} of the previous {n} settled campaigns "
                                  f"(flagged beyond {t.open_drop_sigma:g} standard deviations, "
                                  f"{floor_gap * 100:.1f} points)."),
                            **common))  # type: ignore[arg-type]
    return out


def _excess(value: float, limit: float) -> float:
    """How many times its limit a value is (a zero limit: 1 + the value, so any value ranks)."""
    return value / limit if limit > 0 else 1.0 + value


def flag_scores(severity: ArrayLike, sent_at: ArrayLike, now: np.datetime64, rule_weight: ArrayLike,
                half_life_days: float = FLAG_HALF_LIFE_DAYS) -> np.ndarray:
    """Ranking score: rule weight × severity × ½^(age in days ÷ half-life). A flag as severe
    but a half-life older counts half; an undated one counts as of ``now``.

    >>> now = np.datetime64("2024-03-01", "s")
    >>> flag_scores([2.0, 2.0, 1.0], np.array(["2024-03-01", "2024-01-31", "2024-03-01"], "datetime64[s]"),
    ...             now, [1.0, 1.0, 3.0]).round(2).tolist()
    [2.0, 1.0, 3.0]
    """
    sev = np.asarray(severity, dtype=np.float64)
    times = np.asarray(sent_at, dtype="datetime64[s]")
    age_s = (np.datetime64(now, "s") - times).astype(np.float64)
    age_days = np.where(np.isnat(times), 0.0, np.fmax(age_s, 0.0) / 86400.0)
    decay = 0.5 ** (age_days / half_life_days) if half_life_days > 0 else np.ones_like(age_days)
    return np.asarray(rule_weight, dtype=np.float64) * sev * decay


def rank_flags(items: Sequence[Flag], now: np.datetime64, half_life_days: float = FLAG_HALF_LIFE_DAYS) -> list[Flag]:
    """``items`` most important first (:func:`flag_scores`; ties: newer first, then key)."""
    if not items:
        return []
    scores = flag_scores([f.severity for f in items], np.array([f.sent_at for f in items], dtype="datetime64[s]"),
                         now, [RULE_WEIGHTS.get(f.rule, 1.0) for f in items], half_life_days)
    order = sorted(range(len(items)), key=lambda k: (-scores[k], -_epoch(items[k].sent_at), items[k].key))
    return [items[k] for k in order]


def _epoch(t: np.datetime64) -> int:
    return 0 if np.isnat(t) else int(np.datetime64(t, "s").astype(np.int64))


def group_flags(ranked: Sequence[Flag], by: str = "campaign") -> list[tuple[str, list[Flag]]]:
    """Ranked flags grouped per campaign (``by="campaign"``) or per list (``"list"``); groups in
    the order of their first (most important) flag, flags in rank order within each.

    >>> a = Flag("a:bounces", 0, "a", "May", "l1", "bounces", 2.0, np.datetime64("2024-01-01"), "")
    >>> b = Flag("b:bounces", 1, "b", "June", "l2", "bounces", 1.5, np.datetime64("2024-01-02"), "")
    >>> c = Flag("a:open_drop", 0, "a", "May", "l1", "open_drop", 1.2, np.datetime64("2024-01-01"), "")
    >>> [(k, [f.key for f in fs]) for k, fs in group_flags([a, b, c])]
    [('a', ['a:bounces', 'a:open_drop']), ('b', ['b:bounces'])]
    """
    if by not in ("campaign", "list"):
        raise ValueError(f"group flags by 'campaign' or 'list', not {by!r}")
    groups: dict[str, list[Flag]] = {}
    for f in ranked:
        groups.setdefault(f.campaign_id if by == "campaign" else f.list_id, []).append(f)
    return list(groups.items())
