"""The built-in demo: a local EmailOctopus account on 127.0.0.1 and settings that point at it.

The demo runs the same code paths as production (the HTTP client over a real socket, the
sync into the store); only the API base URL and the key differ. Its data lives apart from
production data, under ``<data dir>/demo``.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone

from octolib.api import EmailOctopusClient
from octolib.config import Settings
from octolib.fake import DEMO_API_KEY, FakeAccount, FakeServer
from octolib.metrics.display import plural

DEMO_SEED = 7


def demo_now() -> datetime:
    """The demo account's clock: today at midnight UTC, so the data looks current and a
    given day always gives the same account."""
    today = datetime.now(timezone.utc).date()
    return datetime(today.year, today.month, today.day, tzinfo=timezone.utc)


@contextlib.contextmanager
def demo_server(
    *, seed: int = DEMO_SEED, size: str = "demo", port: int = 0, now: datetime | None = None,
    rate_per_s: float = 10.0, burst: int = 100,
) -> Iterator[FakeServer]:
    """Run the local EmailOctopus account with the real API's rate limits (10/s, burst 100)."""
    account = FakeAccount.generate(seed=seed, size=size, now=now or demo_now())
    with FakeServer(account, api_key=DEMO_API_KEY, port=port, rate_per_s=rate_per_s, burst=burst) as server:
        yield server


def demo_partner_definitions(lists: list[dict]) -> list[dict]:
    """Partners for the demo account, so the report builder has something to build.

    One partner per list (by list id) plus one by subject pattern, with a default range of
    the last quarter. Plain dicts in the ``partners.yml`` shape; validated on save.
    """
    colours = ["#1F6FEB", "#C0392B", "#2E7D32", "#8E44AD"]
    partners = [{
        "slug": "acme", "name": "Acme (case studies)", "brand_colour": "#E67E22",
        "campaigns": {"subject_pattern": "acme"}, "default_range": "last_365_days",
        "note": "Demo partner: every campaign whose subject mentions Acme.",
    }]
    for i, lst in enumerate(sorted(lists, key=lambda x: x.get("name") or "")):
        name = lst.get("name") or lst["id"]
        partners.append({
            "slug": "-".join(name.lower().split())[:40], "name": f"{name} partner",
            "brand_colour": colours[i % len(colours)], "campaigns": {"list_ids": [lst["id"]]},
            "default_range": "last_quarter",
        })
    return partners


def ensure_demo_partners(store, lists: list[dict]) -> int:  # type: ignore[no-untyped-def]
    """Store the demo partners once; an analyst's later edits are kept. Returns how many were added."""
    from octolib.reports.partners import save_partner, validate_partner

    added = 0
    for raw in demo_partner_definitions(lists):
        if store.partners.find_one({"slug": raw["slug"]}) is not None:
            continue
        save_partner(store, validate_partner(raw, check_logo=False))
        added += 1
    return added


def demo_settings(base: Settings, server: FakeServer) -> Settings:
    """Point ``base`` at the local account, with the demo key, a separate data folder and the
    demo's customer-id field."""
    from octolib.fake.customers import FIELD_TAG

    # The demo's customers are linked by its CustomerId field as well as by address: every sync
    # of the demo (the Sync page's too) must link the same way, or those links would be undone.
    return base.replace(api_base=server.base_url, api_key=DEMO_API_KEY, demo=True,
                        data_dir=base.data_dir / "demo", link_field=base.link_field or FIELD_TAG)


@dataclass
class AccountSummary:
    """What the client pulled: enough to show the account is reachable and whole."""

    lists: list[tuple[str, int, int, int]] = field(default_factory=list)  # name, subscribed, unsubscribed, pending
    campaigns_by_status: Counter = field(default_factory=Counter)
    first_sent: datetime | None = None
    last_sent: datetime | None = None
    requests: int = 0

    def render(self) -> str:
        lines = [f"{plural(len(self.lists), 'list')}:"]
        for name, sub, unsub, pend in self.lists:
            lines.append(f"  {name:<28} {sub:>7,} subscribed {unsub:>6,} unsubscribed {pend:>5,} pending")
        total = sum(self.campaigns_by_status.values())
        by_status = ", ".join(f"{n} {s}" for s, n in sorted(self.campaigns_by_status.items()))
        lines.append(f"{plural(total, 'campaign')}: {by_status}")
        if self.first_sent and self.last_sent:
            lines.append(f"  sent between {self.first_sent:%Y-%m-%d} and {self.last_sent:%Y-%m-%d}")
        lines.append(plural(self.requests, "API request"))
        return "\n".join(lines)


def pull_account_summary(client: EmailOctopusClient) -> AccountSummary:
    """Read every list and campaign through the client (all pages)."""
    summary = AccountSummary()
    for lst in client.iter_lists():
        c = lst.counts
        summary.lists.append((lst.name or lst.id, c.subscribed, c.unsubscribed, c.pending))
    sent_times = []
    for camp in client.iter_campaigns():
        summary.campaigns_by_status[camp.status or "unknown"] += 1
        if camp.sent_at:
            sent_times.append(camp.sent_at)
    if sent_times:
        summary.first_sent, summary.last_sent = min(sent_times), max(sent_times)
    summary.requests = client.stats.requests
    return summary
