"""What a report's "Deliverability by mailbox provider" section reads.

The numbers are :func:`octolib.metrics.providers.provider_view`, as on the campaign detail
and lists pages; this module only gathers its inputs from the store for one report. It reads
the events of the report's campaigns and the contacts of those campaigns' lists only (never
the whole account's contacts: a partner's report has no business loading other partners'
addresses, even to discard them).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from octolib.metrics.providers import ProviderView, provider_view
from octolib.store import Store, iter_batches
from octolib.store.readers import contact_arrays, event_arrays
from octolib.vocabulary import EVENT_TYPES

__all__ = ["report_provider_view"]


def _with_emails(store: Store, contacts: dict[str, np.ndarray], list_ids: list[str]) -> dict[str, np.ndarray]:
    """``contacts`` plus an ``email`` column (empty when the address is missing)."""
    email_of: dict[tuple[str, str], str] = {}
    for batch in iter_batches(store.contacts, {"list_id": {"$in": list_ids}},
                              {"_id": 0, "list_id": 1, "emailoctopus_id": 1, "email": 1}):
        for d in batch:
            email_of[(str(d.get("list_id") or ""), str(d.get("emailoctopus_id") or ""))] = str(d.get("email") or "")
    emails = np.array([email_of.get((str(lst), str(cid)), "") for lst, cid in
                       zip(contacts["list_id"], contacts["contact_id"])], dtype=object)
    return {**contacts, "email": emails}


def report_provider_view(store: Store, campaigns: Mapping[str, np.ndarray]) -> ProviderView:
    """Provider counts summed over ``campaigns`` (``campaign_arrays`` rows of the report)."""
    ids = [str(c) for c in campaigns["campaign_id"]]
    lists = sorted({str(x) for row in campaigns["list_ids"] for x in row})
    contacts = _with_emails(store, contact_arrays(store, lists), lists)
    events = event_arrays(store, campaign_ids=ids, event_types=(*EVENT_TYPES, "sent"))
    return provider_view(ids, campaigns, contacts, events)
