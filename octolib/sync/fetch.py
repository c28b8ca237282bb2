"""``fetch_*``: generators over the API client that yield validated models, page by page.

They hold no state and write nothing; :mod:`octolib.sync.service` pairs them with the
``save_*`` writers. Paged fetchers yield ``(models, next_cursor)`` per page so the caller can
checkpoint the cursor after saving the page, and take ``start_after`` to resume from one.
A page is converted completely before it is yielded: one bad item fails the whole page with
a :class:`~octolib.errors.ValidationError` naming the endpoint and the field, before
anything of it reaches the store.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import quote

from octolib.api import EmailOctopusClient, format_filter_time
from octolib.api.models import Campaign, CampaignSummary, Contact, LinkStat, MailList, ReportRow

__all__ = [
    "fetch_lists",
    "fetch_campaigns",
    "fetch_contact_pages",
    "fetch_report_pages",
    "fetch_summary",
    "fetch_links",
]


def _seg(value: str) -> str:
    return quote(value, safe="")


def fetch_lists(client: EmailOctopusClient) -> Iterator[list[MailList]]:
    """Every list, one page at a time."""
    where = "GET /lists"
    for page in client.pages("/lists"):
        yield [MailList.from_api(item, where, f"data[{i}]") for i, item in enumerate(page.items)]


def fetch_campaigns(client: EmailOctopusClient) -> Iterator[list[Campaign]]:
    """Every campaign (drafts included), one page at a time."""
    where = "GET /campaigns"
    for page in client.pages("/campaigns"):
        yield [Campaign.from_api(item, where, f"data[{i}]") for i, item in enumerate(page.items)]


def fetch_contact_pages(
    client: EmailOctopusClient,
    list_id: str,
    status: str,
    *,
    updated_gte: datetime | None = None,
    start_after: str | None = None,
) -> Iterator[tuple[list[Contact], str | None]]:
    """Contacts of one list with one status (trap T3), optionally only those updated since ``updated_gte``."""
    path = f"/lists/{_seg(list_id)}/contacts"
    where = f"GET {path}"
    params: dict[str, Any] = {"status": status}
    if updated_gte is not None:
        params["last_updated_at.gte"] = format_filter_time(updated_gte)
    for page in client.pages(path, params, start_after=start_after):
        contacts = [Contact.from_api(item, where, f"data[{i}]", list_id=list_id) for i, item in enumerate(page.items)]
        yield contacts, page.next_cursor


def fetch_report_pages(
    client: EmailOctopusClient, campaign_id: str, status: str, *, start_after: str | None = None
) -> Iterator[tuple[list[ReportRow], str | None]]:
    """Rows of one campaign report status (``/campaigns/{id}/reports?status=…``, trap T4)."""
    path = f"/campaigns/{_seg(campaign_id)}/reports"
    where = f"GET {path}"
    for page in client.pages(path, {"status": status}, start_after=start_after):
        rows = [ReportRow.from_api(item, where, f"data[{i}]", campaign_id=campaign_id, status=status)
                for i, item in enumerate(page.items)]
        yield rows, page.next_cursor


def fetch_summary(client: EmailOctopusClient, campaign_id: str) -> CampaignSummary:
    return client.get_campaign_summary(campaign_id)


def fetch_links(client: EmailOctopusClient, campaign_id: str) -> list[LinkStat]:
    return client.get_campaign_links(campaign_id)
