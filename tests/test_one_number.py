"""One number, one place: every surface shows the same rate for the same counts (issue 11).

The case that found the problem: 3 unique clicks and 2 unique opens (a client that blocks
images records a click without an open).
"""

from __future__ import annotations

import math

from octolib.metrics import campaign_rates_from
from octolib.sync.documents import metric_rates

COUNTS = {"sent": 10, "delivered": 10, "opened": 2, "clicked": 3, "bounced": 0, "bounced_hard": 0,
          "bounced_soft": 0, "unsubscribed": 0, "spam_complaints": 0}


def test_snapshot_and_dashboard_click_to_open_agree():
    stored = metric_rates(COUNTS)["click_to_open_rate"]
    shown = float(campaign_rates_from({k: [v] for k, v in COUNTS.items()}).click_to_open_rate[0])
    assert math.isclose(stored, shown), (stored, shown)
