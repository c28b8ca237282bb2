"""A local HTTP server that answers like EmailOctopus API v2 for the ten read endpoints.

Why a real server and not a mock inside the client: the client's paging, retries, rate
limiting and error handling are only tested for real when bytes cross a socket, and the
demo (``OCTO_DEMO=1``) needs something to talk to without a key. It serves a
:class:`~octolib.fake.account.FakeAccount` and follows API_NOTES §12:

* the 10 GET routes of API_NOTES §3 without a version prefix; any other path is a JSON 404
  ``#not-found``, another verb on a known route a 405 ``#method-not-allowed`` (the fake
  implements no writes). Routing comes before auth, as in a Symfony app;
* Bearer auth: no header gives 401 ``/errors/401``; an unknown key 401 ``#unauthorized``;
  a key of ``other_keys`` is "another account": empty collections, 403 on this account's ids;
* a token bucket per account (``burst`` tokens, ``rate_per_s`` refill, monotonic clock);
  authenticated answers carry ``X-RateLimiting-Remaining``; an empty bucket gives 429 with
  ``X-RateLimit-Retry-After`` in whole seconds. 401s carry no rate header (as observed live);
* cursors are unpadded base64url JSON arrays; page orders are fake-server choices
  (campaigns: ``created_at`` desc; lists: ``id``; contacts: ``created_at`` then ``id``;
  reports: ``occurred_at`` then ``contact_id``; tags: their order on the list);
* ids that are not UUID-shaped (list and campaign ids) answer 400 with
  ``errors[{parameter, "This value is not a valid UUID."}]``, as the spec's example error;
* :class:`~octolib.fake.faults.Faults` switch on the plausible variants and failures.

Admin endpoints (not EmailOctopus; no key; only from 127.0.0.1) let a test drive a server in
another process: ``POST /_fake/advance?hours=H``, ``GET|POST /_fake/faults`` (POST body: a JSON
object of Faults fields, applied as a partial change), ``GET /_fake/stats``.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import copy
import json
import logging
import math
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from octolib.fake.account import CONTACT_STATUSES, REPORT_STATUSES, FakeAccount, iso
from octolib.fake.faults import Faults

from octolib.api.ratelimit import TokenBucket  # the one rate limiter, here on the server side

__all__ = ["FakeServer", "TokenBucket", "DEMO_API_KEY"]

log = logging.getLogger(__name__)

#: The key the demo and the tests use. Not a real EmailOctopus key, and it says so.
DEMO_API_KEY = "octopus-demo-key-local-fake-only"

_DOCS = "https://emailoctopus.com/api-documentation/v2#"
_UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_HTML_502 = (b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway"
             b"</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n")
_LOCAL = {"127.0.0.1", "::1", "::ffff:127.0.0.1"}


@dataclass
class _Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


class _Problem(Exception):
    """An RFC 7807 error answer, raised from deep inside a handler."""

    def __init__(self, status: int, slug: str, detail: str, errors: list[dict[str, str]] | None = None,
                 type_: str | None = None) -> None:
        super().__init__(detail)
        self.body: dict[str, Any] = {"title": "An error occurred.", "detail": detail, "status": status,
                                     "type": type_ or _DOCS + slug}
        if errors:
            self.body["errors"] = errors
        self.status = status


def _bad_param(parameter: str, detail: str) -> _Problem:
    return _Problem(400, "bad-request", "Bad request.", [{"parameter": parameter, "detail": detail}])


def _not_found() -> _Problem:
    return _Problem(404, "not-found", "Resource not found.")


@dataclass
class _Request:
    method: str
    target: str  # path and query as received
    path: str
    query: list[tuple[str, str]]
    params: dict[str, str]
    foreign: bool  # authenticated with another account's key

    def get(self, name: str) -> str | None:
        for key, value in self.query:
            if key == name:
                return value
        return None


def _encode_cursor(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).rstrip(b"=").decode()


def _decode_cursor(raw: str, types: tuple[type, ...]) -> tuple[Any, ...]:
    """The cursor's key, or a 400 if it is not one this endpoint minted."""
    try:
        if not re.fullmatch(r"[A-Za-z0-9_-]+", raw):
            raise ValueError("not base64url")
        value = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        if (not isinstance(value, list) or len(value) != len(types)
                or not all(isinstance(v, t) and not isinstance(v, bool) for v, t in zip(value, types))):
            raise ValueError("wrong shape")
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise _bad_param("starting_after", "This value is not a valid cursor.") from None
    return tuple(value)


def _parse_limit(req: _Request) -> int:
    raw = req.get("limit")
    if raw is None:
        return 100
    try:
        limit = int(raw.strip()) if re.fullmatch(r"\s*-?\d+\s*", raw) else None
    except ValueError:
        limit = None
    if limit is None or not 1 <= limit <= 100:
        raise _bad_param("limit", "This value should be between 1 and 100.")
    return limit


def _parse_time_filter(name: str, raw: str) -> str:
    """A filter bound as the API's timestamp string (comparable as text with stored ones).

    Accepts ``Z`` and ``+00:00`` (and other offsets); a ``+`` sent unencoded arrives as a
    space and is rejected, as a real server would fail to parse it (trap T14).
    """
    if " " in raw:
        raise _bad_param(name, "This value is not a valid datetime: '+' must be URL-encoded as %2B (or use Z).")
    text = raw[:-1] + "+00:00" if raw.endswith(("Z", "z")) else raw
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise _bad_param(name, "This value is not a valid datetime.") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    # Stored times have whole seconds: round a fractional bound inwards, keeping it inclusive.
    ts = dt.timestamp()
    return iso(math.ceil(ts) if name.endswith(".gte") else math.floor(ts))


def _check_uuid(name: str, value: str) -> None:
    if not _UUID_RE.match(value):
        raise _bad_param(name, "This value is not a valid UUID.")


class FakeServer:
    """The account behind a real socket on ``host:port`` (``port=0``: any free port).

    Thread-safe; serves each connection in a daemon thread. Use as a context manager, or call
    :meth:`start` and :meth:`stop`.
    """

    def __init__(
        self,
        account: FakeAccount,
        api_key: str = DEMO_API_KEY,
        faults: Faults | None = None,
        rate_per_s: float = 10.0,
        burst: int = 100,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        other_keys: Iterable[str] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.account = account
        self.api_key = api_key
        self.other_keys = frozenset(other_keys) - {api_key}
        self.faults = faults if faults is not None else Faults()
        self.bucket = TokenBucket(rate_per_s=rate_per_s, capacity=burst, clock=clock)
        self.host = host
        self.port = port
        self._clock = clock
        self._lock = threading.Lock()
        self._counters: dict[str, int] = {}
        self._blocked_until = 0.0
        self._request_count = 0
        self._by_status: dict[int, int] = {}
        self._httpd: ThreadingHTTPServer | None = None
        self._bound = False  # base_url stays valid after stop(), for error messages and tests
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._routes: list[tuple[re.Pattern[str], Callable[[_Request], Any]]] = [
            (re.compile(r"^/campaigns$"), self._campaigns),
            (re.compile(r"^/campaigns/(?P<campaign_id>[^/]+)$"), self._campaign),
            (re.compile(r"^/campaigns/(?P<campaign_id>[^/]+)/reports/summary$"), self._summary),
            (re.compile(r"^/campaigns/(?P<campaign_id>[^/]+)/reports/links$"), self._links),
            (re.compile(r"^/campaigns/(?P<campaign_id>[^/]+)/reports$"), self._reports),
            (re.compile(r"^/lists$"), self._lists),
            (re.compile(r"^/lists/(?P<list_id>[^/]+)$"), self._list),
            (re.compile(r"^/lists/(?P<list_id>[^/]+)/contacts$"), self._contacts),
            (re.compile(r"^/lists/(?P<list_id>[^/]+)/contacts/(?P<contact_id>[^/]+)$"), self._contact),
            (re.compile(r"^/lists/(?P<list_id>[^/]+)/tags$"), self._tags),
        ]

    # ----------------------------------------------------------------- lifecycle

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``, the value for ``OCTO_API_BASE``."""
        if not self._bound:
            raise RuntimeError("the fake server has not been started")
        host = self.host if ":" not in self.host else f"[{self.host}]"
        return f"http://{host}:{self.port}"

    def start(self) -> FakeServer:
        """Bind and serve in a background thread; returns ``self``."""
        if self._httpd is not None:
            return self
        httpd = _HTTPServer((self.host, self.port), _Handler)
        httpd.fake = self
        self.port = httpd.server_address[1]
        self._httpd = httpd
        self._bound = True
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02},
                                        name=f"octopus-fake:{self.port}", daemon=True)
        self._thread.start()
        log.info("fake EmailOctopus API on %s (%r)", self.base_url, self.account)
        return self

    def stop(self) -> None:
        """Stop serving and close every open connection (keep-alive ones included)."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        with self._lock:
            conns = list(self._connections)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)
        log.info("fake EmailOctopus API on port %s stopped", self.port)

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ----------------------------------------------------------------- stats

    @property
    def request_count(self) -> int:
        """API requests received (any status, dropped ones too); admin requests not counted."""
        with self._lock:
            return self._request_count

    @property
    def requests_by_status(self) -> dict[int, int]:
        """HTTP status -> count; dropped connections are counted under 0."""
        with self._lock:
            return dict(self._by_status)

    def stats(self) -> dict[str, Any]:
        return {
            "request_count": self.request_count,
            "requests_by_status": {str(k): v for k, v in sorted(self.requests_by_status.items())},
            "rate_limit_remaining": self.bucket.remaining,
            "now": self.account.now.isoformat(),
            "faults": self.faults.to_dict(),
        }

    def _count(self, status: int) -> None:
        with self._lock:
            self._by_status[status] = self._by_status.get(status, 0) + 1

    def _fires(self, name: str, every: int, eligible: bool = True) -> bool:
        """The ``*_every`` counting rule (see octolib.fake.faults)."""
        with self._lock:
            if every <= 0:
                self._counters.pop(name, None)
                return False
            if not eligible:
                return False
            n = self._counters.get(name, 0) + 1
            self._counters[name] = n
            return n % every == 0

    # ----------------------------------------------------------------- the pipeline

    def handle(self, method: str, target: str, headers: Any, client_ip: str, body: bytes = b"") -> _Reply | None:
        """Answer one request; ``None`` means: close the socket without answering."""
        path = urlsplit(target).path
        if path.startswith("/_fake/"):
            return self._admin(method, target, client_ip, body)
        with self._lock:
            self._request_count += 1
        reply = self._api(method, target, headers)
        self._count(0 if reply is None else reply.status)
        log.debug("%s %s -> %s", method, target, "dropped" if reply is None else reply.status)
        return reply

    def _api(self, method: str, target: str, headers: Any) -> _Reply | None:
        faults = self.faults
        if faults.latency_s > 0:
            time.sleep(faults.latency_s)
        in_scope = faults.faults_path in target
        if self._fires("drop", faults.drop_connection_every, in_scope):
            return None
        if self._fires("html502", faults.html_502_every, in_scope):
            return _Reply(502, _HTML_502, content_type="text/html")
        split = urlsplit(target)
        try:
            handler, params = self._route(method, split.path)
            foreign = self._authenticate(headers)
        except _Problem as problem:
            return self._json(problem.status, problem.body)
        limited, left = self._rate_limit()
        if limited is not None:
            return limited
        remaining = {"X-RateLimiting-Remaining": str(left)}
        if self._fires("5xx", faults.error_5xx_every, in_scope):
            return self._json(500, {"title": "An error occurred.", "detail": "An internal error occurred.",
                                    "status": 500, "type": _DOCS + "internal-error"}, remaining)
        req = _Request(method, target, split.path, parse_qsl(split.query, keep_blank_values=True), params, foreign)
        try:
            with self.account.lock:
                payload = handler(req)
        except _Problem as problem:
            return self._json(problem.status, problem.body, remaining)
        if faults.schema_break_path and faults.schema_break_path in target:
            payload = _break_schema(copy.deepcopy(payload), faults.schema_break)
        reply = self._json(200, payload, remaining)
        if self._fires("malformed", faults.malformed_json_every, faults.malformed_json_path in target):
            reply.body = reply.body[: max(1, len(reply.body) // 2)]
        return reply

    def _route(self, method: str, path: str) -> tuple[Callable[[_Request], Any], dict[str, str]]:
        for pattern, handler in self._routes:
            m = pattern.match(path)
            if m:
                if method != "GET":
                    raise _Problem(405, "method-not-allowed", "Method not allowed.")
                return handler, {k: unquote(v) for k, v in m.groupdict().items()}
        raise _not_found()

    def _authenticate(self, headers: Any) -> bool:
        """True when the key is one of ``other_keys`` (another account)."""
        raw = headers.get("Authorization") if headers is not None else None
        if raw is None:
            raise _Problem(401, "", "Full authentication is required to access this resource.", type_="/errors/401")
        scheme, _, token = raw.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise _Problem(401, "unauthorized", "Invalid key.")
        if token == self.api_key:
            return False
        if token in self.other_keys:
            return True
        raise _Problem(401, "unauthorized", "Invalid key.")

    def _rate_limit(self) -> tuple[_Reply | None, int]:
        """``(429 reply or None, tokens left)``: storm, then penalty block, then the bucket."""
        faults = self.faults
        with self._lock:
            storm = faults.rate_limit_storm > 0
            if storm:
                faults.rate_limit_storm -= 1
            blocked = self._clock() < self._blocked_until
            wait = self._blocked_until - self._clock()
        if not storm and not blocked:
            allowed, left, wait = self.bucket.take()
            if allowed:
                return None, left
            if faults.rate_limit_block_s > 0:
                with self._lock:
                    self._blocked_until = self._clock() + faults.rate_limit_block_s
                wait = max(wait, faults.rate_limit_block_s)
        seconds = str(max(1, math.ceil(wait)))
        headers = {"X-RateLimiting-Remaining": "0", "X-RateLimit-Retry-After": seconds}
        if faults.retry_after_standard:
            headers["Retry-After"] = seconds
        return self._json(429, {"title": "An error occurred.", "detail": "Too many requests.", "status": 429,
                                "type": _DOCS + "too-many-requests"}, headers), 0

    @staticmethod
    def _json(status: int, payload: Any, headers: dict[str, str] | None = None) -> _Reply:
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        return _Reply(status, body, dict(headers or {}))

    # ----------------------------------------------------------------- admin

    def _admin(self, method: str, target: str, client_ip: str, body: bytes) -> _Reply:
        if client_ip not in _LOCAL:
            return self._json(403, {"title": "An error occurred.", "detail": "Admin endpoints answer 127.0.0.1 only.",
                                    "status": 403, "type": _DOCS + "access-denied"})
        split = urlsplit(target)
        query = dict(parse_qsl(split.query))
        try:
            if split.path == "/_fake/stats" and method == "GET":
                return self._json(200, self.stats())
            if split.path == "/_fake/faults" and method in ("GET", "POST"):
                if method == "POST":
                    changes = json.loads(body or b"{}")
                    if not isinstance(changes, dict):
                        raise ValueError("the body must be a JSON object of Faults fields")
                    with self._lock:
                        self.faults.update(changes)
                return self._json(200, self.faults.to_dict())
            if split.path == "/_fake/advance" and method == "POST":
                hours = query.get("hours")
                if hours is None and body:
                    hours = json.loads(body).get("hours")
                return self._json(200, self.account.advance(float(hours)))  # type: ignore[arg-type]
        except (ValueError, TypeError, AttributeError) as exc:
            return self._json(400, {"title": "An error occurred.", "detail": str(exc), "status": 400,
                                    "type": _DOCS + "bad-request"})
        return self._json(404, _not_found().body)

    # ----------------------------------------------------------------- paging

    def _page(self, req: _Request, items: list[Any], key_of: Callable[[Any], tuple[Any, ...]],
              cursor_types: tuple[type, ...], descending: bool = False, render: Callable[[Any], Any] = lambda x: x,
              extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """One page of ``items`` (already in page order) after the request's cursor."""
        limit = _parse_limit(req)
        raw = req.get("starting_after")
        start = 0
        if raw is not None and raw != "":
            cursor = _decode_cursor(raw, cursor_types)
            if descending:
                start = next((i for i, it in enumerate(items) if key_of(it) < cursor), len(items))
            else:
                start = bisect.bisect_right(items, cursor, key=key_of)
        chunk = items[start:start + limit]
        out: dict[str, Any] = dict(extra or {})
        out["data"] = [render(it) for it in chunk]
        style = self.faults.end_of_paging
        if start + limit < len(items) and chunk:
            cursor_out = _encode_cursor(list(key_of(chunk[-1])))
            kept = [] if self.faults.next_url_drops_filters else [
                (k, v) for k, v in req.query if k not in ("limit", "starting_after")]
            query = urlencode(kept + [("limit", str(limit)), ("starting_after", cursor_out)])
            out["paging"] = {"next": {"url": f"{self.base_url}{req.path}?{query}", "starting_after": cursor_out}}
        elif style == "omit_next":
            out["paging"] = {}
        elif style == "null_next":
            out["paging"] = {"next": None}
        elif style == "empty_array":
            out["paging"] = []
        return out

    # ----------------------------------------------------------------- endpoints

    def _campaign_or_404(self, req: _Request) -> dict[str, Any]:
        cid = req.params["campaign_id"]
        _check_uuid("campaign_id", cid)
        camp = self.account.get_campaign(cid)
        if camp is None:
            raise _not_found()
        if req.foreign:
            raise _Problem(403, "access-denied", "Access denied.")
        return camp

    def _list_or_404(self, req: _Request) -> dict[str, Any]:
        lid = req.params["list_id"]
        _check_uuid("list_id", lid)
        for lst in self.account.lists_source():
            if lst["id"] == lid:
                if req.foreign:
                    raise _Problem(403, "access-denied", "Access denied.")
                return lst
        raise _not_found()

    def _render_list(self, lst: dict[str, Any]) -> dict[str, Any]:
        if self.faults.counts_shape == "array":
            return dict(lst, counts=[lst["counts"]])
        return lst

    def _render_contact(self, contact: dict[str, Any]) -> dict[str, Any]:
        if self.faults.empty_fields_as_list and not contact["fields"]:
            return dict(contact, fields=[])
        return contact

    def _campaigns(self, req: _Request) -> dict[str, Any]:
        items = [] if req.foreign else self.account.campaigns_source()
        return self._page(req, items, lambda c: (c["created_at"], c["id"]), (str, str), descending=True)

    def _campaign(self, req: _Request) -> dict[str, Any]:
        return self._campaign_or_404(req)

    def _draft_guard(self, camp: dict[str, Any]) -> bool:
        """True: answer zeros for this draft; raises the 404 in the default mode."""
        if camp["status"] != "draft":
            return False
        if self.faults.draft_reports == "error":
            raise _not_found()
        return True

    def _summary(self, req: _Request) -> dict[str, Any]:
        camp = self._campaign_or_404(req)
        self._draft_guard(camp)
        summary = self.account.summary(camp["id"])
        by = self.faults.summary_disagree_by
        if by and self.faults.summary_disagrees == camp["id"]:  # the fault: a summary that disagrees with its rows
            summary["opened"]["unique"] += by
            summary["opened"]["total"] += by
        return summary

    def _links(self, req: _Request) -> dict[str, Any]:
        camp = self._campaign_or_404(req)
        if self._draft_guard(camp):
            return {"data": []}
        return {"data": self.account.links(camp["id"])}

    def _reports(self, req: _Request) -> dict[str, Any]:
        camp = self._campaign_or_404(req)
        status = req.get("status")
        if status is None or status not in REPORT_STATUSES:
            raise _bad_param("status", "The value you selected is not a valid choice.")
        self._draft_guard(camp)
        rows = self.account.report_source(camp["id"], status) or []
        return self._page(req, rows, lambda r: (r[0], r[1]), (int, str), render=lambda r: r[2],
                          extra={"status": status})

    def _lists(self, req: _Request) -> dict[str, Any]:
        items = [] if req.foreign else self.account.lists_source()
        return self._page(req, items, lambda x: (x["id"],), (str,), render=self._render_list)

    def _list(self, req: _Request) -> dict[str, Any]:
        return self._render_list(self._list_or_404(req))

    def _contacts(self, req: _Request) -> dict[str, Any]:
        lst = self._list_or_404(req)
        status = req.get("status")
        status = "subscribed" if status is None else status
        if status not in CONTACT_STATUSES:
            raise _bad_param("status", "The value you selected is not a valid choice.")
        tag = req.get("tag")
        bounds = {}
        for name in ("created_at.gte", "created_at.lte", "last_updated_at.gte", "last_updated_at.lte"):
            raw = req.get(name)
            if raw is not None:
                bounds[name] = _parse_time_filter(name, raw)
        items = []
        for c in self.account.contacts_page_source(lst["id"]) or []:
            if c["status"] != status or (tag is not None and tag not in c["tags"]):
                continue
            if any((c[name.split(".")[0]] < bound) if name.endswith(".gte") else (c[name.split(".")[0]] > bound)
                   for name, bound in bounds.items()):
                continue
            items.append(c)
        return self._page(req, items, lambda c: (c["created_at"], c["id"]), (str, str), render=self._render_contact)

    def _contact(self, req: _Request) -> dict[str, Any]:
        lst = self._list_or_404(req)
        contact = self.account.find_contact(lst["id"], req.params["contact_id"])
        if contact is None:
            raise _not_found()
        return self._render_contact(contact)

    def _tags(self, req: _Request) -> dict[str, Any]:
        lst = self._list_or_404(req)
        items = list(enumerate(lst["tags"]))
        return self._page(req, items, lambda it: (it[0], it[1]), (int, str), render=lambda it: {"tag": it[1]})


def _break_schema(payload: Any, mode: str) -> Any:
    """Make a 200 body wrong in the way ``Faults.schema_break`` names."""
    if not isinstance(payload, dict):
        return payload
    if mode == "missing_data":
        if "data" in payload:
            del payload["data"]
        else:
            payload.pop("id", None)
        return payload
    targets = payload["data"] if isinstance(payload.get("data"), list) else [payload]
    for item in targets:
        if isinstance(item, dict):
            for key in ("id", "contact_id"):
                if key in item:
                    item[key] = None
    return payload


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    fake: FakeServer


class _Handler(BaseHTTPRequestHandler):
    """Glue between ``http.server`` and :meth:`FakeServer.handle`."""

    protocol_version = "HTTP/1.1"  # keep-alive, as requests' sessions expect
    server_version = "octopus-fake/1"
    timeout = 60  # idle keep-alive connections are closed after this
    # Headers and body leave in one segment: with Nagle on and separate writes, every answer
    # waited ~40 ms for the client's delayed ACK (measured: 21 requests/s instead of hundreds).
    disable_nagle_algorithm = True
    wbufsize = -1
    server: _HTTPServer

    def version_string(self) -> str:
        return self.server_version

    def setup(self) -> None:
        super().setup()
        with self.server.fake._lock:
            self.server.fake._connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.fake._lock:
                self.server.fake._connections.discard(self.connection)

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        reply = self.server.fake.handle(self.command, self.path, self.headers, self.client_address[0], body)
        if reply is None:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        log.debug("%s - %s", self.address_string(), format % args)
