"""Where the data lives (DESIGN.md §3): ``connect()``, the ``Store``, locks and numpy readers.

Use::

    from octolib.store import connect
    store = connect(settings)          # a Store: .db, .kind, .description, one attribute per collection
    store.ensure_indexes()
    n = store.contacts.count_documents({"status": "subscribed"})

Modules: :mod:`~octolib.store.core` (connect, Store, collection names, indexes),
:mod:`~octolib.store.mongod` (the private local mongod), :mod:`~octolib.store.locks`
(named locks with expiry), :mod:`~octolib.store.readers` (projections to numpy arrays).
"""

from octolib.store.core import (
    AUDIT_LOG,
    CAMPAIGN_LINKS,
    CAMPAIGN_METRICS_SNAPSHOTS,
    CAMPAIGNS,
    COLLECTIONS,
    CONTACTS,
    ENGAGEMENT_EVENTS,
    LIST_COUNT_SNAPSHOTS,
    LISTS,
    LOCKS,
    PARTNERS,
    REPORTS,
    SYNC_RUNS,
    USERS,
    Store,
    connect,
    connect_embedded,
    iter_batches,
    redact_uri,
)
from octolib.store.readers import (
    METRIC_KEYS,
    campaign_arrays,
    contact_arrays,
    event_arrays,
    link_rows,
    list_count_arrays,
    snapshot_arrays,
)

__all__ = [
    "Store",
    "connect",
    "connect_embedded",
    "iter_batches",
    "redact_uri",
    "COLLECTIONS",
    "USERS",
    "AUDIT_LOG",
    "CAMPAIGNS",
    "CAMPAIGN_METRICS_SNAPSHOTS",
    "CAMPAIGN_LINKS",
    "LISTS",
    "LIST_COUNT_SNAPSHOTS",
    "CONTACTS",
    "ENGAGEMENT_EVENTS",
    "SYNC_RUNS",
    "PARTNERS",
    "REPORTS",
    "LOCKS",
    "METRIC_KEYS",
    "campaign_arrays",
    "event_arrays",
    "contact_arrays",
    "snapshot_arrays",
    "list_count_arrays",
    "link_rows",
]
