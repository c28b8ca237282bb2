"""Which counts make each rate, for the pages' "rate" menus.

The formulas are the metric definitions' (:data:`octolib.metrics.METRIC_DEFINITIONS`); this
module only says which columns of :func:`octolib.store.campaign_arrays` feed them, so a
trend of pooled rates per week uses the same numerator and denominator as the per-campaign
rate in :func:`octolib.metrics.campaign_rates`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from octolib.dashboards.data import CampaignTable
from octolib.metrics import definition

__all__ = ["RateChoice", "RATE_CHOICES", "rate_choice"]


@dataclass(frozen=True)
class RateChoice:
    """A rate the pages can chart: its metric name and how to get its parts."""

    name: str  # e.g. "open_rate" (an attribute of CampaignRates)

    @property
    def label(self) -> str:
        return definition(self.name).label

    def values(self, table: CampaignTable) -> np.ndarray:
        return np.asarray(getattr(table.rates, self.name), dtype=np.float64)

    def parts(self, table: CampaignTable) -> tuple[np.ndarray, np.ndarray]:
        """(numerator, denominator) per campaign, as in the definitions table."""
        c = table.cols
        delivered = np.asarray(table.rates.delivered_count, dtype=np.int64)
        bounced = np.asarray(c["bounced_hard"], dtype=np.int64) + np.asarray(c["bounced_soft"], dtype=np.int64)
        return {
            "open_rate": (c["opened"], delivered),
            "click_rate": (c["clicked"], delivered),
            "click_to_open_rate": (c["clicked"], c["opened"]),
            "bounce_rate": (bounced, c["sent"]),
            "unsubscribe_rate": (c["unsubscribed"], delivered),
            "complaint_rate": (c["spam_complaints"], delivered),
        }[self.name]

    def weights(self, table: CampaignTable) -> np.ndarray:
        """The denominator, to weight means and to spot small numbers."""
        return np.asarray(self.parts(table)[1], dtype=np.float64)


RATE_CHOICES: tuple[RateChoice, ...] = tuple(RateChoice(n) for n in (
    "open_rate", "click_rate", "click_to_open_rate", "bounce_rate", "unsubscribe_rate", "complaint_rate"))


def rate_choice(name: str) -> RateChoice:
    """The choice called ``name``; KeyError lists the known ones."""
    for choice in RATE_CHOICES:
        if choice.name == name:
            return choice
    raise KeyError(f"unknown rate {name!r}; known: {', '.join(c.name for c in RATE_CHOICES)}")
