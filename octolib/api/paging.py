"""The one paginator for EmailOctopus cursor paging (API_NOTES §6).

Every paged endpoint (campaigns, lists, contacts, tags, contact reports) goes through
:func:`paginate`; there is no second loop over pages anywhere in octolib.

The rules it keeps:

- The next request is rebuilt from *our* parameters plus ``starting_after`` (trap T6);
  ``paging.next.url`` is never followed, because it may drop the ``status`` or date filters
  and silently switch a sync to subscribed-only contacts. Only the cursor is read from it,
  and only when ``starting_after`` itself is absent.
- Paging ends on every end-of-data form seen in the wild (trap T7): ``paging`` missing,
  ``{}``, ``[]`` or null; ``next`` missing, null or ``{}``; an empty ``starting_after``.
  It never ends because a page is short or empty.
- A cursor that comes back a second time raises ``ValidationError`` rather than loop forever.
- A body that is not an object, lacks a ``data`` array, or holds items that are not objects
  or lack a required key raises ``ValidationError`` naming the endpoint and the field, e.g.
  ``GET /lists/…/contacts: data[3].id missing``.

Expected JSON of one page::

    {"data": [{...}, ...], "paging": {"next": {"url": "...", "starting_after": "<cursor>"}}}
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qs, urlsplit

from octolib.errors import ValidationError

__all__ = ["Page", "ModelPage", "paginate", "next_cursor", "validate_page", "MAX_LIMIT"]

MAX_LIMIT = 100

T = TypeVar("T")


@dataclass(frozen=True)
class Page:
    """One page of a collection.

    ``items`` are the raw JSON objects of ``data``; ``next_cursor`` is the ``starting_after``
    for the page after this one, or ``None`` on the last page (a resumable sync checkpoints
    it); ``url`` is the request that produced the page (no key in it).
    """

    items: list[dict[str, Any]]
    next_cursor: str | None
    url: str


@dataclass(frozen=True)
class ModelPage(Generic[T]):
    """One page converted to models, all of it or nothing.

    Why whole pages: a resumable sync saves a page and then checkpoints ``next_cursor``; one
    item that fails validation must fail the page before any of it reaches the store.
    """

    items: list[T]
    next_cursor: str | None


def next_cursor(body: Mapping[str, Any], where: str = "") -> str | None:
    """The cursor for the next page, or ``None`` when the body says there is no more data.

    >>> next_cursor({"paging": {"next": {"starting_after": "abc", "url": "..."}}})
    'abc'
    >>> [next_cursor(b) for b in ({}, {"paging": []}, {"paging": {}}, {"paging": {"next": None}},
    ...                           {"paging": {"next": {}}}, {"paging": {"next": {"starting_after": ""}}})]
    [None, None, None, None, None, None]
    >>> next_cursor({"paging": {"next": {"url": "https://x/lists?limit=5&starting_after=Wz"}}})
    'Wz'
    """
    paging = body.get("paging")
    if not isinstance(paging, Mapping):
        return None  # missing, null, or the v1.6-style empty array
    nxt = paging.get("next")
    if not isinstance(nxt, Mapping) or not nxt:
        return None
    cursor = nxt.get("starting_after")
    if cursor is None or cursor == "":
        url = nxt.get("url")
        if isinstance(url, str) and url:
            values = parse_qs(urlsplit(url).query).get("starting_after")
            cursor = values[0] if values else None
        if not cursor:
            return None
    if not isinstance(cursor, str):
        raise ValidationError(
            f"{where}: paging.next.starting_after is not a string (got {type(cursor).__name__})", url=where
        )
    return cursor


def validate_page(body: Any, where: str, required: Sequence[str] = ("id",)) -> list[dict[str, Any]]:
    """Check a page body's shape and return its ``data`` items.

    Raises ``ValidationError`` naming ``where`` (method and path) and the offending field.
    """
    if not isinstance(body, Mapping):
        raise ValidationError(f"{where}: body is not a JSON object (got {type(body).__name__})", url=where, body=body)
    if "data" not in body:
        raise ValidationError(f"{where}: data missing from a paged response", url=where, body=body)
    data = body["data"]
    if not isinstance(data, list):
        raise ValidationError(f"{where}: data is not an array (got {type(data).__name__})", url=where, body=body)
    for i, item in enumerate(data):
        if not isinstance(item, Mapping):
            raise ValidationError(
                f"{where}: data[{i}] is not an object (got {type(item).__name__})", url=where, body=body
            )
        for key in required:
            value = item.get(key)
            if value is None or value == "":
                raise ValidationError(f"{where}: data[{i}].{key} missing", url=where, body=body)
            if not isinstance(value, str):
                raise ValidationError(
                    f"{where}: data[{i}].{key} is not a string (got {type(value).__name__})", url=where, body=body
                )
    return [dict(item) for item in data]


Fetch = Callable[[dict[str, Any]], "tuple[Any, str]"]


def paginate(
    fetch: Fetch,
    where: str,
    params: Mapping[str, Any] | None = None,
    *,
    start_after: str | None = None,
    limit: int = MAX_LIMIT,
    required: Sequence[str] = ("id",),
) -> Iterator[Page]:
    """Yield every page of a collection, from ``start_after`` (or the start) to the end.

    ``fetch(query) -> (json_body, url)`` performs one GET with exactly the query given;
    ``where`` names the endpoint in errors (``"GET /lists"``). ``params`` are our filters;
    each request is ``params`` + ``limit`` + ``starting_after`` (when there is a cursor).
    """
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be an integer from 1 to {MAX_LIMIT}, got {limit!r}")
    base = {k: v for k, v in (params or {}).items() if v is not None and k not in ("limit", "starting_after")}
    cursor = start_after or None
    seen: set[str] = {cursor} if cursor else set()
    while True:
        query = dict(base, limit=limit)
        if cursor:
            query["starting_after"] = cursor
        body, url = fetch(query)
        items = validate_page(body, where, required)
        nxt = next_cursor(body, where)
        if nxt is not None and nxt in seen:
            raise ValidationError(
                f"{where}: paging.next.starting_after repeats an earlier cursor ({nxt[:40]}); "
                "stopping instead of looping forever",
                url=url,
                body=None,
            )
        yield Page(items=items, next_cursor=nxt, url=url)
        if nxt is None:
            return
        seen.add(nxt)
        cursor = nxt
