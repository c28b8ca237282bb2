"""The sync (DESIGN.md §4): the API client's typed pages → ``save_*`` writers → store.

Entry point: :func:`run_sync` (``octo sync``, ``scripts/manual_sync.py``, the demo)::

    from octolib.sync import run_sync
    result = run_sync(store, client, full=False, only=None, trigger="cli", user="ana")
    print(result.table())

Modules: :mod:`~octolib.sync.service` (stages, locking, errors), :mod:`~octolib.sync.runs`
(the ``sync_runs`` record, carried state, checkpoints), :mod:`~octolib.sync.writers`
(``save_*``), :mod:`~octolib.sync.documents` (API models → documents),
:mod:`~octolib.sync.streams` (concurrent paged fetching). Reading the API is the client's
job alone (:class:`~octolib.api.EmailOctopusClient` owns every path and its checks; the
``*_pages`` methods give whole validated pages and the cursor to checkpoint).
"""

from octolib.sync.documents import (
    EVENT_TYPES,
    REPORTABLE_STATUSES,
    campaign_doc,
    contact_doc,
    event_docs,
    link_doc,
    list_doc,
    metric_rates,
    metrics_from_summary,
    summary_from_events,
)
from octolib.sync.service import STAGES, SyncBusy, SyncResult, SyncService, run_sync
from octolib.sync.writers import (
    Counts,
    refresh_contact_summaries,
    save_campaigns,
    save_contacts,
    save_events,
    save_links,
    save_list_count_snapshots,
    save_lists,
    save_metric_snapshots,
)

__all__ = [
    "run_sync",
    "SyncService",
    "SyncResult",
    "SyncBusy",
    "STAGES",
    "Counts",
    "EVENT_TYPES",
    "REPORTABLE_STATUSES",
    "save_lists",
    "save_list_count_snapshots",
    "save_contacts",
    "save_campaigns",
    "save_metric_snapshots",
    "save_links",
    "save_events",
    "refresh_contact_summaries",
    "campaign_doc",
    "contact_doc",
    "list_doc",
    "link_doc",
    "event_docs",
    "metrics_from_summary",
    "metric_rates",
    "summary_from_events",
]
