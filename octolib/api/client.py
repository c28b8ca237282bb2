"""The EmailOctopus API v2 client: the read endpoints octopus needs, as typed results.

Shape (STYLE.md: httpx and dlt's rest_client are the models):

- :class:`~octolib.api.transport.Transport` sends one GET with the whole request policy
  (token bucket, retries, typed errors, one log line); the ``requests.Session`` is passed
  in, so tests mount a fake server adapter on it instead of patching ``requests``.
- :func:`~octolib.api.paging.paginate` is the one loop over pages. Each paged endpoint has
  one typed method that owns its path and its checks (``*_pages``: whole pages of models
  with the cursor, for the resumable sync); ``iter_*`` flattens them item by item.
  :meth:`pages` is the raw loop for endpoints without a typed method.
- :meth:`map` runs independent calls concurrently (bounded by ``max_workers``) so that
  request latency does not waste the rate budget; every worker draws on the same bucket.

Endpoints and shapes: API_NOTES.md §4-§6. Traps handled here: T3 (contact status is
explicit), T4 (one report path with ``status``), T6/T7 (paging), T8 (links: no paging, no
``limit``), T13 (an email is looked up as the MD5 of its lowercased form), T14 (filter
timestamps sent in the ``Z`` form).
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date, datetime, timezone
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter

from octolib.api.models import (
    CONTACT_STATUSES,
    REPORT_STATUSES,
    Campaign,
    CampaignSummary,
    Contact,
    LinkStat,
    MailList,
    ReportRow,
    parse_timestamp,
)
from octolib.api.paging import MAX_LIMIT, ModelPage, Page, paginate, validate_page
from octolib.api.ratelimit import TokenBucket
from octolib.api.transport import ClientStats, Transport

if TYPE_CHECKING:
    from octolib.config import Settings

__all__ = ["EmailOctopusClient", "DEFAULT_BASE_URL", "format_filter_time", "contact_key"]

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.emailoctopus.com"

T = TypeVar("T")
R = TypeVar("R")


def format_filter_time(value: datetime | date | str | None, name: str = "value") -> str | None:
    """A contacts filter bound in the ``YYYY-MM-DDTHH:MM:SSZ`` form the API's examples use.

    Naive datetimes and dates are taken as UTC; aware ones are converted. Sending ``Z``
    avoids the unencoded ``+`` that turns into a space (trap T14).

    >>> format_filter_time("2024-01-19T14:14:28+02:00")
    '2024-01-19T12:14:28Z'
    >>> format_filter_time(date(2024, 1, 19))
    '2024-01-19T00:00:00Z'
    """
    if value is None:
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    try:
        dt = parse_timestamp(value)
    except (ValueError, TypeError):
        raise ValueError(f"{name} must be a datetime or an ISO 8601 string, got {value!r}") from None
    assert dt is not None
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def contact_key(id_or_email: str) -> str:
    """The path key for a contact: its id as given, or the MD5 of the lowercased email.

    >>> contact_key("Otto@Example.com") == hashlib.md5(b"otto@example.com").hexdigest()
    True
    """
    if "@" in id_or_email:
        return hashlib.md5(id_or_email.strip().lower().encode("utf-8")).hexdigest()
    return id_or_email


def _seg(value: str, what: str) -> str:
    """One path segment, quoted so an id can never change the path."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")
    return quote(value.strip(), safe="")


def _required_keys(path: str) -> tuple[str, ...]:
    """The keys each item of a paged endpoint must carry (contact reports and tags have no id)."""
    tail = path.rstrip("/").rsplit("/", 1)[-1]
    if tail == "reports":
        return ("contact_id",)
    if tail == "tags":
        return ("tag",)
    return ("id",)


def _flatten(pages: Iterator[ModelPage[T]]) -> Iterator[T]:
    for page in pages:
        yield from page.items


class EmailOctopusClient:
    """Reads an EmailOctopus account through API v2. Thread-safe; use as a context manager.

    ``session`` lets tests (and the demo) mount an adapter; when omitted the client makes
    and later closes its own. ``clock``/``sleep``/``rng`` drive the token bucket and the
    backoff, so tests run them on fakes. The key is never logged, raised or shown in repr.
    """

    def __init__(
        self,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        rate_per_s: float = 10.0,
        burst: int = 100,
        max_workers: int = 4,
        timeout_s: float = 30.0,
        max_attempts: int = 6,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
        backoff_base_s: float = 0.5,
        backoff_cap_s: float = 30.0,
        retry_after_cap_s: float = 60.0,
    ) -> None:
        if max_workers < 1:
            raise ValueError(f"max_workers must be >= 1, got {max_workers!r}")
        self.max_workers = max_workers
        self._own_session = session is None
        if session is None:
            session = requests.Session()
            adapter = HTTPAdapter(pool_connections=1, pool_maxsize=max(10, max_workers))
            session.mount("https://", adapter)
            session.mount("http://", adapter)
        self.bucket = TokenBucket(rate_per_s, burst, clock=clock, sleep=sleep)
        self._transport = Transport(
            api_key,
            base_url,
            session=session,
            bucket=self.bucket,
            timeout_s=timeout_s,
            max_attempts=max_attempts,
            max_in_flight=max_workers,
            backoff_base_s=backoff_base_s,
            backoff_cap_s=backoff_cap_s,
            retry_after_cap_s=retry_after_cap_s,
            clock=clock,
            sleep=sleep,
            rng=rng,
        )

    @classmethod
    def from_settings(cls, settings: "Settings", **kwargs: Any) -> "EmailOctopusClient":
        """Build from :class:`~octolib.config.Settings` (the edge builds those, not us).

        Outside demo mode a missing key is a ``ConfigError`` naming ``OCTO_API_KEY``; in demo
        mode the key is used as it is (the local fake account decides what it accepts).
        """
        key = settings.api_key if settings.demo else settings.require_api_key()
        options: dict[str, Any] = dict(
            rate_per_s=settings.rate_per_s,
            burst=settings.rate_burst,
            max_workers=settings.max_workers,
            timeout_s=settings.timeout_s,
            max_attempts=settings.max_attempts,
        )
        options.update(kwargs)
        return cls(key, settings.api_base, **options)

    def __repr__(self) -> str:
        t = self._transport
        return (
            f"EmailOctopusClient(base_url={t.base_url!r}, rate_per_s={self.bucket.rate_per_s:g}, "
            f"burst={self.bucket.capacity:g}, max_workers={self.max_workers}, max_attempts={t.max_attempts})"
        )

    @property
    def base_url(self) -> str:
        return self._transport.base_url

    @property
    def session(self) -> requests.Session:
        return self._transport.session

    @property
    def stats(self) -> ClientStats:
        """A consistent snapshot of the request counters (see :class:`ClientStats`)."""
        return self._transport.stats()

    def close(self) -> None:
        """Close the HTTP session if the client made it."""
        if self._own_session:
            self._transport.session.close()

    def __enter__(self) -> "EmailOctopusClient":
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- raw access -------------------------------------------------------------------------

    def get_json(self, path: str, params: Mapping[str, Any] | None = None, *, resource: str = "") -> Any:
        """GET one path and return its JSON body (for endpoints without a typed method)."""
        return self._transport.get_json(path, params, resource=resource)[0]

    def pages(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        start_after: str | None = None,
        limit: int = MAX_LIMIT,
        required: Sequence[str] | None = None,
    ) -> Iterator[Page]:
        """Every page of a paged endpoint, for a sync that checkpoints ``Page.next_cursor``.

        Each request is ``params`` + ``limit`` + ``starting_after``; see :mod:`octolib.api.paging`.
        ``required`` are the keys every item must carry (default: ``id``, or ``contact_id`` for
        contact reports and ``tag`` for tags).
        """
        if not path.startswith("/"):
            raise ValueError(f"path must start with '/', got {path!r}")

        def fetch(query: dict[str, Any]) -> tuple[Any, str]:
            return self._transport.get_json(path, query)

        return paginate(
            fetch,
            f"GET {path}",
            params,
            start_after=start_after,
            limit=limit,
            required=_required_keys(path) if required is None else tuple(required),
        )

    def _model_pages(
        self,
        path: str,
        params: Mapping[str, Any] | None,
        build: Callable[[dict[str, Any], str, str], T],
        *,
        start_after: str | None,
        limit: int,
    ) -> Iterator[ModelPage[T]]:
        where = f"GET {path}"
        for page in self.pages(path, params, start_after=start_after, limit=limit):
            models = [build(item, where, f"data[{index}]") for index, item in enumerate(page.items)]
            yield ModelPage(models, page.next_cursor)

    # -- collections, page by page (the sync checkpoints ``next_cursor``) -------------------

    def campaign_pages(self, *, start_after: str | None = None, limit: int = MAX_LIMIT) -> Iterator[ModelPage[Campaign]]:
        """All campaigns, drafts included (newest first on the real API; do not rely on it)."""
        return self._model_pages("/campaigns", None, Campaign.from_api, start_after=start_after, limit=limit)

    def list_pages(self, *, start_after: str | None = None, limit: int = MAX_LIMIT) -> Iterator[ModelPage[MailList]]:
        """All lists of the account."""
        return self._model_pages("/lists", None, MailList.from_api, start_after=start_after, limit=limit)

    def contact_pages(
        self,
        list_id: str,
        *,
        status: str = "subscribed",
        tag: str | None = None,
        created_gte: datetime | date | str | None = None,
        created_lte: datetime | date | str | None = None,
        updated_gte: datetime | date | str | None = None,
        updated_lte: datetime | date | str | None = None,
        start_after: str | None = None,
        limit: int = MAX_LIMIT,
    ) -> Iterator[ModelPage[Contact]]:
        """Contacts of one list with ONE status (trap T3: the API defaults to subscribed only).

        A full copy calls this for each of ``subscribed``, ``unsubscribed`` and ``pending``.
        Date bounds are inclusive and sent as ``created_at.gte`` etc. in the ``Z`` form. Bad
        arguments raise ``ValueError`` here, before any request.
        """
        status_l = status.lower() if isinstance(status, str) else ""
        if status_l not in CONTACT_STATUSES:
            raise ValueError(f"contact status must be one of {', '.join(CONTACT_STATUSES)}; got {status!r}")
        path = f"/lists/{_seg(list_id, 'list_id')}/contacts"
        params = {
            "status": status_l,
            "tag": tag,
            "created_at.gte": format_filter_time(created_gte, "created_gte"),
            "created_at.lte": format_filter_time(created_lte, "created_lte"),
            "last_updated_at.gte": format_filter_time(updated_gte, "updated_gte"),
            "last_updated_at.lte": format_filter_time(updated_lte, "updated_lte"),
        }

        def build(item: dict[str, Any], where: str, at: str) -> Contact:
            return Contact.from_api(item, where, at, list_id=list_id)

        return self._model_pages(path, params, build, start_after=start_after, limit=limit)

    def campaign_report_pages(
        self, campaign_id: str, status: str, *, start_after: str | None = None, limit: int = MAX_LIMIT
    ) -> Iterator[ModelPage[ReportRow]]:
        """Contacts of a campaign by event ``status`` (trap T4: one path, ``status`` required).

        Ask only for ``sending``/``sent`` campaigns: drafts are answered with a 4xx (§4.3).
        """
        status_l = status.lower() if isinstance(status, str) else ""
        if status_l not in REPORT_STATUSES:
            raise ValueError(f"report status must be one of {', '.join(REPORT_STATUSES)}; got {status!r}")
        path = f"/campaigns/{_seg(campaign_id, 'campaign_id')}/reports"

        def build(item: dict[str, Any], where: str, at: str) -> ReportRow:
            return ReportRow.from_api(item, where, at, campaign_id=campaign_id, status=status_l)

        return self._model_pages(path, {"status": status_l}, build, start_after=start_after, limit=limit)

    def list_tag_pages(self, list_id: str, *, start_after: str | None = None,
                       limit: int = MAX_LIMIT) -> Iterator[ModelPage[str]]:
        """Tag names of one list (the list object's ``tags`` holds the same names)."""
        path = f"/lists/{_seg(list_id, 'list_id')}/tags"
        return self._model_pages(path, None, lambda d, where, at: str(d["tag"]), start_after=start_after, limit=limit)

    # -- collections, item by item ----------------------------------------------------------

    def iter_campaigns(self, limit: int = MAX_LIMIT) -> Iterator[Campaign]:
        """All campaigns, item by item (see :meth:`campaign_pages`)."""
        return _flatten(self.campaign_pages(limit=limit))

    def iter_lists(self, limit: int = MAX_LIMIT) -> Iterator[MailList]:
        """All lists, item by item (see :meth:`list_pages`)."""
        return _flatten(self.list_pages(limit=limit))

    def iter_contacts(
        self,
        list_id: str,
        *,
        status: str = "subscribed",
        tag: str | None = None,
        created_gte: datetime | date | str | None = None,
        created_lte: datetime | date | str | None = None,
        updated_gte: datetime | date | str | None = None,
        updated_lte: datetime | date | str | None = None,
        limit: int = MAX_LIMIT,
    ) -> Iterator[Contact]:
        """Contacts of one list with one status, item by item (see :meth:`contact_pages`)."""
        return _flatten(self.contact_pages(
            list_id, status=status, tag=tag, created_gte=created_gte, created_lte=created_lte,
            updated_gte=updated_gte, updated_lte=updated_lte, limit=limit))

    def iter_campaign_report(self, campaign_id: str, status: str, limit: int = MAX_LIMIT) -> Iterator[ReportRow]:
        """Report rows of one campaign and status, item by item (see :meth:`campaign_report_pages`)."""
        return _flatten(self.campaign_report_pages(campaign_id, status, limit=limit))

    def iter_list_tags(self, list_id: str, limit: int = MAX_LIMIT) -> Iterator[str]:
        """Tag names of one list, item by item (see :meth:`list_tag_pages`)."""
        return _flatten(self.list_tag_pages(list_id, limit=limit))

    # -- single resources -------------------------------------------------------------------

    def get_campaign(self, campaign_id: str) -> Campaign:
        path = f"/campaigns/{_seg(campaign_id, 'campaign_id')}"
        body, _ = self._transport.get_json(path, resource=f"campaign {campaign_id}")
        return Campaign.from_api(body, f"GET {path}")

    def get_campaign_summary(self, campaign_id: str) -> CampaignSummary:
        """The summary counters of a campaign (a bare object: no ``data`` envelope)."""
        path = f"/campaigns/{_seg(campaign_id, 'campaign_id')}/reports/summary"
        body, _ = self._transport.get_json(path, resource=f"summary report of campaign {campaign_id}")
        return CampaignSummary.from_api(body, f"GET {path}", campaign_id=campaign_id)

    def get_campaign_links(self, campaign_id: str) -> list[LinkStat]:
        """Clicks per link. No paging and no ``limit`` (trap T8): one request, ``data`` only."""
        path = f"/campaigns/{_seg(campaign_id, 'campaign_id')}/reports/links"
        where = f"GET {path}"
        body, _ = self._transport.get_json(path, resource=f"links report of campaign {campaign_id}")
        items = validate_page(body, where, required=("url",))
        return [LinkStat.from_api(item, where, f"data[{i}]") for i, item in enumerate(items)]

    def get_list(self, list_id: str) -> MailList:
        path = f"/lists/{_seg(list_id, 'list_id')}"
        body, _ = self._transport.get_json(path, resource=f"list {list_id}")
        return MailList.from_api(body, f"GET {path}")

    def get_contact(self, list_id: str, id_or_email: str) -> Contact:
        """One contact by id, or by email address (sent as the MD5 of its lowercased form)."""
        _seg(id_or_email, "id_or_email")
        key = contact_key(id_or_email.strip())
        how = " (looked up by email)" if "@" in id_or_email else ""
        path = f"/lists/{_seg(list_id, 'list_id')}/contacts/{_seg(key, 'contact id')}"
        body, _ = self._transport.get_json(path, resource=f"contact {key}{how} in list {list_id}")
        return Contact.from_api(body, f"GET {path}", list_id=list_id)

    # -- concurrency ------------------------------------------------------------------------

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """Run ``fn(item)`` for each item on up to ``max_workers`` threads; yield in input order.

        Why: with ~150 ms per request one thread makes ~6 requests/s, below the 10/s budget;
        a few threads sharing the one token bucket use all of it and never more. An exception
        raised by ``fn`` is re-raised when its result is reached; work not yet started is then
        cancelled. ``items`` is consumed lazily (at most ``2 * max_workers`` are in flight).
        """
        window = self.max_workers * 2
        iterator = iter(items)
        with ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix="octolib-api") as pool:
            pending: deque[Future[R]] = deque()
            try:
                for item in iterator:
                    pending.append(pool.submit(fn, item))
                    if len(pending) >= window:
                        yield pending.popleft().result()
                while pending:
                    yield pending.popleft().result()
            finally:
                for future in pending:
                    future.cancel()
