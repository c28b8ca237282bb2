"""EmailOctopus API v2 client: auth, one paginator, rate limit, retries, typed errors.

::

    from octolib.api import EmailOctopusClient
    with EmailOctopusClient.from_settings(settings) as client:
        for campaign in client.iter_campaigns():
            summary = client.get_campaign_summary(campaign.id)

Modules: ``client`` (endpoints, ``map``), ``transport`` (one GET with the request policy),
``paging`` (the one paginator), ``ratelimit`` (the token bucket), ``models`` (typed
results). The exception tree lives in :mod:`octolib.errors` and is re-exported here.
"""

from octolib.api.client import DEFAULT_BASE_URL, EmailOctopusClient, contact_key, format_filter_time
from octolib.api.models import (
    CONTACT_STATUSES,
    REPORT_STATUSES,
    Campaign,
    CampaignSummary,
    Contact,
    LinkStat,
    ListCounts,
    ListField,
    MailList,
    ReportRow,
    parse_timestamp,
)
from octolib.api.paging import ModelPage, Page, next_cursor, paginate
from octolib.api.ratelimit import TokenBucket
from octolib.api.transport import ClientStats, backoff_delay, parse_retry_after
from octolib.errors import (
    APIError,
    AuthError,
    ConfigError,
    NotFound,
    OctoError,
    RateLimited,
    ServerError,
    TransportError,
    ValidationError,
)

__all__ = [
    "EmailOctopusClient",
    "ClientStats",
    "Page",
    "ModelPage",
    "TokenBucket",
    "DEFAULT_BASE_URL",
    "Campaign",
    "CampaignSummary",
    "LinkStat",
    "MailList",
    "ListField",
    "ListCounts",
    "Contact",
    "ReportRow",
    "CONTACT_STATUSES",
    "REPORT_STATUSES",
    "parse_timestamp",
    "format_filter_time",
    "contact_key",
    "paginate",
    "next_cursor",
    "backoff_delay",
    "parse_retry_after",
    "OctoError",
    "ConfigError",
    "TransportError",
    "APIError",
    "AuthError",
    "NotFound",
    "RateLimited",
    "ServerError",
    "ValidationError",
]
