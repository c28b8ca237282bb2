"""The account's fixed words: campaign statuses, engagement event types, sync stages.

Why one module: these tuples were written in several modules, in different orders, and a
copy that misses a value silently drops data (a page that does not know ``sending`` hides
a campaign in progress). Everything else imports them from here.
"""

from __future__ import annotations

__all__ = ["SENT_STATUSES", "EVENT_TYPES", "SYNC_STAGES", "STAGE_LABELS"]

#: Campaign statuses that have results: EmailOctopus answers reports for these only (drafts
#: get a 4xx, API_NOTES §4.3), and the pages count them as sent.
SENT_STATUSES: tuple[str, ...] = ("sending", "sent")

#: Per-contact report statuses stored as engagement events, in funnel order (``sent`` is
#: added by the sync only when the setting asks for it).
EVENT_TYPES: tuple[str, ...] = ("opened", "clicked", "bounced", "unsubscribed", "complained")

#: The sync stages ``only`` can name, in the order they run.
SYNC_STAGES: tuple[str, ...] = ("lists", "contacts", "campaigns", "reports")

#: Every stage a run records (the stages, then the contact summaries), with its label for people.
STAGE_LABELS: tuple[tuple[str, str], ...] = (
    ("lists", "Lists"),
    ("contacts", "Contacts"),
    ("campaigns", "Campaigns"),
    ("reports", "Campaign reports"),
    ("summary", "Contact summaries"),
)
