"""The pages' "rate" menus: one choice per row of the rate table.

Numerators and denominators come from :data:`octolib.metrics.RATES` applied to the columns
of :func:`octolib.store.campaign_arrays`, so a trend of pooled rates per week uses the same
parts as the per-campaign rate in :func:`octolib.metrics.campaign_rates`, and a new rate in
the table appears in the menus without an edit here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from octolib.dashboards.data import CampaignTable
from octolib.metrics import RATES, rate_spec

__all__ = ["RateChoice", "RATE_CHOICES", "rate_choice"]


@dataclass(frozen=True)
class RateChoice:
    """A rate the pages can chart: its metric name and how to get its parts."""

    name: str  # e.g. "open_rate" (an attribute of CampaignRates)

    @property
    def label(self) -> str:
        return rate_spec(self.name).label

    def values(self, table: CampaignTable) -> np.ndarray:
        return np.asarray(getattr(table.rates, self.name), dtype=np.float64)

    def parts(self, table: CampaignTable) -> tuple[np.ndarray, np.ndarray]:
        """(numerator, denominator) per campaign, as the rate table defines them."""
        return rate_spec(self.name).parts(table.rates.counts)

    def weights(self, table: CampaignTable) -> np.ndarray:
        """The denominator, to weight means and to spot small numbers."""
        return np.asarray(self.parts(table)[1], dtype=np.float64)


RATE_CHOICES: tuple[RateChoice, ...] = tuple(RateChoice(n) for n in RATES)


def rate_choice(name: str) -> RateChoice:
    """The choice called ``name``; KeyError lists the known ones."""
    for choice in RATE_CHOICES:
        if choice.name == name:
            return choice
    raise KeyError(f"unknown rate {name!r}; known: {', '.join(c.name for c in RATE_CHOICES)}")
