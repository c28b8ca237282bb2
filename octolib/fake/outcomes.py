"""A sample outcome file for the local account: what a partner's own conversions CSV looks like.

EmailOctopus has no conversion data, so the demo needs a file a partner could have sent
(see :mod:`octolib.conversions`). It is drawn from the account's click reports with its own
seeded random stream (``f"{seed}:conversions"``), so the account's data is unchanged and the
same account always gives the same file. Most outcomes follow a click within a few days
(attributed); about one in six comes 9-12 days after the click (outside the default 7-day
window: unattributed); addresses are written in mixed case (matching is case-insensitive);
about a third have no value.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterable
from datetime import datetime, timedelta

from octolib.fake.account import FakeAccount

__all__ = ["sample_outcomes_csv"]


def _mixed_case(rng: random.Random, email: str) -> str:
    local, _, domain = email.partition("@")
    choice = rng.random()
    if choice < 0.3:
        return email.upper()
    if choice < 0.6:
        return f"{local[:1].upper()}{local[1:]}@{domain.capitalize()}"
    return email


def sample_outcomes_csv(account: FakeAccount, list_ids: Iterable[str] | None = None, *, n: int = 40,
                        seed: int | None = None) -> str:
    """CSV text (``email,time,value``) of up to ``n`` outcomes of contacts who clicked a
    campaign sent to ``list_ids`` (every list when None)."""
    rng = random.Random(f"{account.seed if seed is None else seed}:conversions")
    wanted = None if list_ids is None else set(list_ids)
    clicks: list[tuple[str, str, str]] = []
    for camp in sorted(account.campaigns, key=lambda c: c["id"]):
        if camp.get("sent_at") is None or (wanted is not None and not wanted & set(camp.get("to") or ())):
            continue
        clicks += [(row["occurred_at"], row["contact_id"], row["contact_email_address"])
                   for row in account.report_rows(camp["id"], "clicked")]
    clicks.sort()
    picked = rng.sample(clicks, min(n, len(clicks)))
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(["email", "time", "value"])
    for occurred, _cid, email in sorted(picked):
        clicked = datetime.fromisoformat(occurred)
        late = rng.random() < 1 / 6
        after = timedelta(days=rng.uniform(9, 12)) if late else timedelta(hours=rng.uniform(1, 6 * 24))
        value = "" if rng.random() < 1 / 3 else f"{rng.uniform(5, 200):.2f}"
        out.writerow([_mixed_case(rng, email), (clicked + after).replace(microsecond=0).isoformat(), value])
    return buf.getvalue()
