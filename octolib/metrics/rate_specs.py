"""The rate table: every per-campaign rate written once, as data.

Why a table: a rate used to be written in five places (metrics, the dashboards' rate menu,
the report KPIs, the snapshot documents, the exports), and the copies disagreed. Now each
surface iterates :data:`RATES` and asks a row for its parts, so a new rate is one row here,
its test, and its README line; a test fails when a surface misses a row.

A row names its numerator and denominator as sums of *count columns*: the names of
``campaigns.current_metrics`` (:data:`COUNT_NAMES`), which are also the columns of
:func:`octolib.store.campaign_arrays` and the keys of a snapshot's ``metrics``.

No clipping (the rule, also in the definitions' text): a rate is its numerator over its
denominator, never forced into [0, 1]. Click-to-open counts as openers the contacts who
clicked without a recorded open (``clicked_without_open``, counted by the sync from the
per-contact events), so with consistent inputs it cannot exceed 100 %. A rate above 100 %
that remains means the inputs disagree (e.g. the per-contact reports are not read yet);
it is shown as it is and :func:`disagreeing` names it, so the sync can warn.

>>> RATES["click_to_open_rate"].denominator
('opened', 'clicked_without_open')
>>> rate_values({"opened": 2, "clicked": 3, "clicked_without_open": 1, "delivered": 10})["click_to_open_rate"]
1.0
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from octolib.metrics.ratios import safe_ratio

__all__ = ["RateSpec", "RATES", "COUNT_NAMES", "AUTOMATION_COUNT_NAMES", "HUMAN_RATE_PAIRS", "pooled_values", "rate_spec", "rate_values", "disagreeing"]

#: The per-campaign counts rates are made of (``current_metrics`` names). ``opened`` and
#: ``clicked`` are EmailOctopus's unique counts; ``delivered`` = sent − bounces;
#: ``clicked_without_open`` is derived by the sync from ``engagement_events``.
COUNT_NAMES: tuple[str, ...] = (
    "sent", "delivered", "opened", "clicked", "clicked_without_open", "bounced", "bounced_hard", "bounced_soft",
    "unsubscribed", "spam_complaints",
    # Automated activity (issue 14): counted by the sync from the labelled events
    # (octolib.sync.automation.AUTOMATION_COUNTS); unknown (NaN) until a campaign is labelled.
    "opened_automated", "clicked_automated", "opened_human", "clicked_human", "clicked_without_open_human",
)

#: The automated-activity counts among :data:`COUNT_NAMES` (issue 14).
AUTOMATION_COUNT_NAMES: tuple[str, ...] = COUNT_NAMES[-5:]


@dataclass(frozen=True)
class RateSpec:
    """One rate: what it divides, what people read about it.

    ``numerator`` and ``denominator`` are tuples of :data:`COUNT_NAMES`, summed;
    ``formula`` and ``meaning`` are printed in the README and in every PDF.
    """

    name: str
    label: str
    numerator: tuple[str, ...]
    denominator: tuple[str, ...]
    formula: str
    meaning: str

    def parts(self, counts: Mapping[str, ArrayLike]) -> tuple[np.ndarray, np.ndarray]:
        """(numerator, denominator) as float64 arrays from count columns (or scalars).

        A column missing from ``counts`` is NaN (unknown), except ``clicked_without_open``,
        which is 0 until the sync has counted it (see the module doc: the rate then shows
        the disagreement instead of hiding it).
        """
        return _sum(counts, self.numerator), _sum(counts, self.denominator)

    def values(self, counts: Mapping[str, ArrayLike]) -> np.ndarray:
        """The rate per row: numerator ÷ denominator, NaN where the denominator is not positive."""
        return safe_ratio(*self.parts(counts))


def _sum(counts: Mapping[str, ArrayLike], names: tuple[str, ...]) -> np.ndarray:
    total: np.ndarray | None = None
    # A missing count takes the shape of the counts that are there (one per campaign).
    shape = next((np.shape(counts[n]) for n in COUNT_NAMES if n in counts), ())
    for name in names:
        if name in counts:
            col = np.asarray(counts[name], dtype=np.float64)
        elif name == "clicked_without_open":
            col = np.zeros(np.shape(total) if total is not None else shape)
        else:
            col = np.full(np.shape(total) if total is not None else shape, np.nan)
        total = col if total is None else total + col
    assert total is not None, "a rate needs at least one count"
    return total


class _Table(Mapping[str, RateSpec]):
    """The rows by name, in display order (a read-only mapping that iterates its names)."""

    def __init__(self, *rows: RateSpec) -> None:
        self._rows = {r.name: r for r in rows}
        for r in rows:
            unknown = set(r.numerator + r.denominator) - set(COUNT_NAMES)
            if unknown:
                raise ValueError(f"rate {r.name} uses unknown counts {sorted(unknown)}")

    def __getitem__(self, name: str) -> RateSpec:
        try:
            return self._rows[name]
        except KeyError:
            raise KeyError(f"unknown rate {name!r}; one of {', '.join(self._rows)}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)


RATES: Mapping[str, RateSpec] = _Table(
    RateSpec("open_rate", "Open rate", ("opened",), ("delivered",), "unique opens ÷ delivered",
             "Share of delivered emails opened at least once, as EmailOctopus counts opens (image-blocking "
             "clients undercount, privacy proxies overcount)."),
    RateSpec("click_rate", "Click rate", ("clicked",), ("delivered",), "unique clicks ÷ delivered",
             "Share of delivered emails with at least one tracked click."),
    RateSpec("click_to_open_rate", "Click-to-open rate", ("clicked",), ("opened", "clicked_without_open"),
             "unique clicks ÷ (unique opens + clickers without a recorded open)",
             "Of those who opened, the share who clicked. A contact who clicked without a recorded open "
             "(images blocked) opened the email, so counts as an opener: never above 100%. Not clipped: "
             "above 100% means the counts disagree and is shown as it is."),
    RateSpec("bounce_rate", "Bounce rate", ("bounced_hard", "bounced_soft"), ("sent",),
             "(hard + soft bounces) ÷ sent", "Share of sends that did not arrive; flagged above {bounce} by default."),
    RateSpec("hard_bounce_rate", "Hard bounce rate", ("bounced_hard",), ("sent",), "hard bounces ÷ sent",
             "Permanent failures (address does not exist)."),
    RateSpec("soft_bounce_rate", "Soft bounce rate", ("bounced_soft",), ("sent",), "soft bounces ÷ sent",
             "Temporary failures (mailbox full, server busy)."),
    RateSpec("unsubscribe_rate", "Unsubscribe rate", ("unsubscribed",), ("delivered",), "unsubscribes ÷ delivered",
             "Share of recipients who left the list from this email."),
    RateSpec("complaint_rate", "Complaint rate", ("spam_complaints",), ("delivered",),
             "spam complaints ÷ delivered",
             "Share of recipients who marked the email as spam; flagged above {complaint} by default."),
    RateSpec("delivered_rate", "Delivered rate", ("delivered",), ("sent",), "delivered ÷ sent",
             "Share of sends that reached a mailbox (1 − bounce rate)."),
    # Automated activity (issue 14): the human rates are octopus's estimate, beside the raw ones.
    RateSpec("human_open_rate", "Human open rate (octopus estimate)", ("opened_human",), ("delivered",),
             "unique opens not flagged as machine opens ÷ delivered",
             "Open rate without machine opens (privacy proxies and scanners fetching images as the email "
             "arrives), told apart by timing alone: the API gives no user agents or IP addresses, so an "
             "open within seconds of the send, or in a burst while the campaign goes out, counts as "
             "machine; a person's later open behind a proxy's earlier one cannot be seen."),
    RateSpec("human_click_rate", "Human click rate (octopus estimate)", ("clicked_human",), ("delivered",),
             "unique clicks not flagged as bot clicks ÷ delivered",
             "Click rate without bot clicks (link scanners): clicks within seconds of the send, in a "
             "burst, many contacts in the same second, or hours before the contact's open. A click "
             "without an open is not a bot click (images blocked)."),
    RateSpec("human_click_to_open_rate", "Human click-to-open rate (octopus estimate)", ("clicked_human",),
             ("opened_human", "clicked_without_open_human"),
             "human clicks ÷ (human opens + human clickers without a human open)",
             "Click-to-open with automated opens and clicks left out on both sides."),
    RateSpec("machine_open_share", "Machine opens excluded", ("opened_automated",), ("opened",),
             "unique opens flagged as machine opens ÷ unique opens",
             "Share of EmailOctopus's unique opens that octopus counts as automated."),
    RateSpec("bot_click_share", "Bot clicks excluded", ("clicked_automated",), ("clicked",),
             "unique clicks flagged as bot clicks ÷ unique clicks",
             "Share of EmailOctopus's unique clicks that octopus counts as automated."),
)


def rate_spec(name: str) -> RateSpec:
    """The row called ``name``; KeyError lists the known ones."""
    return RATES[name]


def rate_values(counts: Mapping[str, ArrayLike]) -> dict[str, float | None]:
    """Every rate of one campaign's counts, ``None`` where undefined (the snapshot form).

    >>> rate_values({"sent": 0, "delivered": 0, "opened": 0, "clicked": 0})["open_rate"] is None
    True
    """
    out: dict[str, float | None] = {}
    for name, spec in RATES.items():
        v = float(spec.values(counts))
        out[name] = None if np.isnan(v) else v
    return out


def disagreeing(counts: Mapping[str, ArrayLike]) -> list[str]:
    """Names of the rates above 100 % for these counts: inputs that disagree, to report.

    >>> disagreeing({"sent": 10, "delivered": 10, "opened": 2, "clicked": 3})
    ['click_to_open_rate']
    """
    out = []
    for name, spec in RATES.items():
        v = spec.values(counts)
        if np.any(v > 1):
            out.append(name)
    return out


#: Each human rate beside its raw rate and the share excluded (None: no single share), in
#: display order: every surface that shows the human rates walks this (issue 14).
HUMAN_RATE_PAIRS: tuple[tuple[str, str, str | None], ...] = (
    ("human_open_rate", "open_rate", "machine_open_share"),
    ("human_click_rate", "click_rate", "bot_click_share"),
    ("human_click_to_open_rate", "click_to_open_rate", None),
)


def pooled_values(counts: Mapping[str, ArrayLike], names: tuple[str, ...] | None = None,
                  rows: ArrayLike | None = None) -> dict[str, float]:
    """Each rate over a set of campaigns, pooled: summed numerators ÷ summed denominators.

    ``rows`` selects campaigns (a boolean mask or indices; all by default). NaN where the
    summed denominator is not positive or a needed count is missing. Pages and PDFs that
    show one rate for several campaigns use this, so they agree to the digit.

    >>> pooled_values({"opened_human": [1, 3], "delivered": [10, 10]}, ("human_open_rate",))
    {'human_open_rate': 0.2}
    """
    out: dict[str, float] = {}
    for name in (names if names is not None else tuple(RATES)):
        num, den = RATES[name].parts(counts)
        num, den = np.atleast_1d(num), np.atleast_1d(den)
        if rows is not None:
            pick = np.asarray(rows)
            num, den = num[pick], den[pick]
        out[name] = float(safe_ratio(np.sum(num), np.sum(den)))
    return out
