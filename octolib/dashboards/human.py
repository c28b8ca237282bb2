"""The human-rate cards shown beside the raw rates on the overview and campaign pages.

Why one function: both pages (and the PDFs, through the same
:func:`octolib.metrics.rate_specs.pooled_values`) show the human rates, labelled as
octopus's estimate, with the share of automated activity left out; writing it once keeps
the pages in step with each other and with the PDF. The raw rates stay EmailOctopus's own.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike

from octolib.metrics import format_rate
from octolib.metrics.rate_specs import HUMAN_RATE_PAIRS, RATES, pooled_values

__all__ = ["human_rate_values", "human_cards"]

_SHORT = {"human_open_rate": "Human open rate", "human_click_rate": "Human click rate",
          "human_click_to_open_rate": "Human click-to-open"}
_SHARE_TEXT = {"machine_open_share": "of opens were machine opens", "bot_click_share": "of clicks were bot clicks"}


def human_rate_values(counts: Mapping[str, ArrayLike], rows: ArrayLike | None = None) -> dict[str, float]:
    """The human rates, their raw rates and the shares excluded, pooled over ``rows``."""
    names: list[str] = []
    for human, raw, share in HUMAN_RATE_PAIRS:
        names += [human, raw] + ([share] if share else [])
    return pooled_values(counts, tuple(names), rows)


def human_cards(counts: Mapping[str, ArrayLike], rows: ArrayLike | None = None) -> list[tuple[str, str, str]]:
    """``(title, value, note)`` KPI cards: each human rate, "octopus estimate" and the share left out."""
    v = human_rate_values(counts, rows)
    cards = []
    for human, _raw, share in HUMAN_RATE_PAIRS:
        note = "octopus estimate"
        if share and not np.isnan(v[share]):
            note += f" · {format_rate(v[share])} {_SHARE_TEXT[share]}"
        cards.append((_SHORT.get(human, RATES[human].label), format_rate(v[human]), note))
    return cards
