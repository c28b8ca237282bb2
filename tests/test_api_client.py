"""The client against an in-process fake EmailOctopus (a requests adapter): fake the server,
not the library. No real sleeping: the clock and sleep are fakes and the waits are asserted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

import octolib.api as api
from octolib.api import (
    APIError,
    AuthError,
    EmailOctopusClient,
    NotFound,
    RateLimited,
    ServerError,
    TransportError,
    ValidationError,
)
from octolib.config import Settings
from octolib.errors import ConfigError

KEY = "eo_live_SECRET_6f1c0aa25f6511ed"
BASE = "https://api.test"


# --------------------------------------------------------------------------- the fake server


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]


@dataclass
class Reply:
    status: int = 200
    json: Any = None
    text: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Call], "Reply | BaseException"]


class FakeAPI(BaseAdapter):
    """Answers requests from a handler function; records every call and the in-flight peak."""

    def __init__(self, handler: Handler, gate: threading.Barrier | None = None) -> None:
        super().__init__()
        self.handler = handler
        self.gate = gate
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        parts = urlsplit(request.url)
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        call = Call(request.method, parts.path, query, dict(request.headers))
        with self._lock:
            self.calls.append(call)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.gate is not None:
                self.gate.wait(timeout=5)  # proves `gate.parties` requests are in flight together
            reply = self.handler(call)
        finally:
            with self._lock:
                self.in_flight -= 1
        if isinstance(reply, BaseException):
            raise reply
        resp = requests.Response()
        resp.status_code = reply.status
        resp.request = request
        resp.url = request.url
        body = reply.text if reply.text is not None else json.dumps(reply.json)
        resp._content = body.encode("utf-8")
        resp.encoding = "utf-8"
        ctype = "text/html" if reply.text is not None else "application/json"
        resp.headers = CaseInsensitiveDict({"Content-Type": ctype, **reply.headers})
        return resp

    def close(self) -> None:
        pass


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self.t

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.t += seconds


def make_client(handler: Handler, *, gate=None, rng=lambda: 1.0, **kwargs) -> tuple[EmailOctopusClient, FakeAPI, FakeClock]:
    adapter = FakeAPI(handler, gate)
    session = requests.Session()
    session.mount("https://", adapter)
    clock = FakeClock()
    client = EmailOctopusClient(KEY, BASE, session=session, clock=clock.now, sleep=clock.sleep, rng=rng, **kwargs)
    return client, adapter, clock


def items(n: int, prefix: str = "id") -> list[dict[str, Any]]:
    return [{"id": f"{prefix}-{i:03d}", "name": f"item {i}"} for i in range(n)]


END_FORMS: dict[str, Callable[[], dict[str, Any]]] = {
    "paging missing": lambda: {},
    "paging {}": lambda: {"paging": {}},
    "paging []": lambda: {"paging": []},
    "paging null": lambda: {"paging": None},
    "next missing": lambda: {"paging": {"prev": None}},
    "next null": lambda: {"paging": {"next": None}},
    "next {}": lambda: {"paging": {"next": {}}},
    "empty starting_after": lambda: {"paging": {"next": {"url": None, "starting_after": ""}}},
}


def paged(data: list[dict], *, end: str = "paging {}", keep_filters_in_url: bool = True, key: str = "id") -> Handler:
    """A paged collection: cursor = 'c<offset>', honours `limit`; `end` picks the last page's form."""

    def handle(call: Call) -> Reply:
        limit = int(call.query.get("limit", 100))
        offset = int(call.query["starting_after"][1:]) if "starting_after" in call.query else 0
        page = data[offset : offset + limit]
        body: dict[str, Any] = {"data": page}
        if offset + limit < len(data):
            cursor = f"c{offset + limit}"
            q = dict(call.query) if keep_filters_in_url else {}
            q.update(limit=limit, starting_after=cursor)
            body["paging"] = {"next": {"url": f"{BASE}{call.path}?{urlencode(q)}", "starting_after": cursor}}
        else:
            body.update(END_FORMS[end]())
        return Reply(json=body, headers={"X-RateLimiting-Remaining": "90"})

    return handle


# --------------------------------------------------------------------------- paging


@pytest.mark.parametrize("end", list(END_FORMS))
def test_paginator_ends_on_every_end_of_data_form(end):
    data = items(12)
    client, adapter, _ = make_client(paged(data, end=end))
    pages = list(client.pages("/lists", limit=5))
    assert [len(p.items) for p in pages] == [5, 5, 2]
    assert [p.next_cursor for p in pages] == ["c5", "c10", None]
    assert [i["id"] for p in pages for i in p.items] == [d["id"] for d in data]
    assert len(adapter.calls) == 3, "must stop after the last page, not ask again"


def test_short_or_empty_page_with_a_cursor_is_not_the_end():
    answers = iter(
        [
            {"data": items(2, "a"), "paging": {"next": {"starting_after": "x1"}}},
            {"data": [], "paging": {"next": {"starting_after": "x2"}}},
            {"data": items(1, "b"), "paging": {"next": None}},
        ]
    )
    client, adapter, _ = make_client(lambda call: Reply(json=next(answers)))
    got = [c.id for c in client.iter_lists(limit=100)]
    assert got == ["a-000", "a-001", "b-000"]
    assert [c.query.get("starting_after") for c in adapter.calls] == [None, "x1", "x2"]


def test_filters_are_kept_on_later_pages_even_when_next_url_drops_them():
    contacts = [
        {"id": f"u{i}", "email_address": f"u{i}@example.com", "status": "unsubscribed", "fields": {}, "tags": []}
        for i in range(7)
    ]
    client, adapter, _ = make_client(paged(contacts, keep_filters_in_url=False))
    got = list(
        client.iter_contacts("list-1", status="unsubscribed", tag="vip", updated_gte="2024-01-19T12:14:28+00:00", limit=3)
    )
    assert [c.id for c in got] == [c["id"] for c in contacts]
    assert all(c.list_id == "list-1" for c in got)
    assert len(adapter.calls) == 3
    for call in adapter.calls:
        assert call.path == "/lists/list-1/contacts"
        assert call.query["status"] == "unsubscribed"
        assert call.query["tag"] == "vip"
        assert call.query["last_updated_at.gte"] == "2024-01-19T12:14:28Z"
        assert call.query["limit"] == "3"
    assert [c.query.get("starting_after") for c in adapter.calls] == [None, "c3", "c6"]


def test_cursor_is_taken_from_next_url_when_starting_after_is_absent():
    answers = iter(
        [
            {"data": items(1, "a"), "paging": {"next": {"url": f"{BASE}/campaigns?starting_after=Wz1&limit=1"}}},
            {"data": items(1, "b"), "paging": {"next": None}},
        ]
    )
    client, adapter, _ = make_client(lambda call: Reply(json=next(answers)))
    assert [p.next_cursor for p in client.pages("/campaigns", limit=1)] == ["Wz1", None]
    assert adapter.calls[1].query == {"limit": "1", "starting_after": "Wz1"}


def test_pages_resume_from_a_checkpointed_cursor():
    client, adapter, _ = make_client(paged(items(12)))
    pages = list(client.pages("/lists", start_after="c10", limit=5))
    assert [i["id"] for p in pages for i in p.items] == ["id-010", "id-011"]
    assert adapter.calls[0].query["starting_after"] == "c10"
    assert pages[0].url.startswith(f"{BASE}/lists?") and "starting_after=c10" in pages[0].url


def test_repeated_cursor_raises_instead_of_looping_forever():
    client, adapter, _ = make_client(lambda call: Reply(json={"data": items(1), "paging": {"next": {"starting_after": "same"}}}))
    with pytest.raises(ValidationError, match="GET /lists: .*repeats an earlier cursor"):
        list(client.pages("/lists"))
    assert len(adapter.calls) == 2


def test_malformed_json_page_is_a_clear_validation_error():
    answers = iter([Reply(json={"data": items(2), "paging": {"next": {"starting_after": "c2"}}}), Reply(text='{"data": [{"id": ')])
    client, _, _ = make_client(lambda call: next(answers))
    got = []
    with pytest.raises(ValidationError) as info:
        for page in client.pages("/lists", limit=2):
            got.extend(page.items)
    assert len(got) == 2, "the good first page must have been delivered"
    assert not isinstance(info.value, json.JSONDecodeError)
    assert "GET /lists?limit=2&starting_after=c2" in str(info.value)
    assert "not valid JSON" in str(info.value)


@pytest.mark.parametrize(
    "body,message",
    [
        ({"paging": {}}, r"GET /lists: data missing"),
        ({"data": {"id": "x"}}, r"GET /lists: data is not an array"),
        ({"data": [{"id": "a"}, "b"]}, r"GET /lists: data\[1\] is not an object"),
        ({"data": [{"id": "a"}, {"id": "b"}, {"id": "c"}, {"name": "no id"}]}, r"GET /lists: data\[3\]\.id missing"),
        ({"data": [{"id": 7}]}, r"GET /lists: data\[0\]\.id is not a string"),
        (["data"], r"GET /lists: body is not a JSON object"),
    ],
)
def test_page_shape_errors_name_endpoint_and_field(body, message):
    client, _, _ = make_client(lambda call: Reply(json=body))
    with pytest.raises(ValidationError, match=message):
        list(client.pages("/lists"))


def test_report_rows_need_contact_id_and_tags_need_tag():
    client, _, _ = make_client(lambda call: Reply(json={"data": [{"contact_email_address": "a@b.c"}]}))
    with pytest.raises(ValidationError, match=r"GET /campaigns/c1/reports: data\[0\]\.contact_id missing"):
        list(client.iter_campaign_report("c1", "opened"))
    with pytest.raises(ValidationError, match=r"GET /lists/l1/tags: data\[0\]\.tag missing"):
        list(client.iter_list_tags("l1"))


@pytest.mark.parametrize("limit", [0, 101, "10"])
def test_limit_outside_1_to_100_is_refused_before_any_request(limit):
    client, adapter, _ = make_client(paged(items(3)))
    with pytest.raises(ValueError, match="limit"):
        list(client.pages("/lists", limit=limit))
    assert adapter.calls == []


# --------------------------------------------------------------------------- endpoints


def test_requests_carry_bearer_auth_and_accept_json():
    client, adapter, _ = make_client(paged(items(1)))
    list(client.iter_lists())
    headers = adapter.calls[0].headers
    assert headers["Authorization"] == f"Bearer {KEY}"
    assert headers["Accept"] == "application/json"
    assert adapter.calls[0].query == {"limit": "100"}


def test_report_status_is_validated_client_side_listing_the_allowed_ones():
    client, adapter, _ = make_client(paged([]))
    with pytest.raises(ValueError) as info:
        list(client.iter_campaign_report("c1", "delivered"))
    for status in ("sent", "opened", "clicked", "bounced", "complained", "unsubscribed", "not-opened", "not-clicked"):
        assert status in str(info.value)
    with pytest.raises(ValueError, match="subscribed, unsubscribed, pending"):
        list(client.iter_contacts("l1", status="bounced"))
    assert adapter.calls == []


def test_campaign_report_sends_status_and_tags_the_rows():
    rows = [{"contact_id": f"k{i}", "contact_email_address": f"k{i}@x.io", "occurred_at": "2024-01-01T00:00:00+00:00"} for i in range(3)]
    client, adapter, _ = make_client(paged(rows, key="contact_id"))
    got = list(client.iter_campaign_report("camp-1", "NOT-OPENED", limit=2))
    assert [(r.campaign_id, r.status, r.contact_id) for r in got] == [("camp-1", "not-opened", f"k{i}") for i in range(3)]
    assert all(c.query["status"] == "not-opened" for c in adapter.calls)
    assert all(c.path == "/campaigns/camp-1/reports" for c in adapter.calls)


def test_links_report_sends_no_limit_and_does_not_page():
    body = {"data": [{"url": "https://a", "clicked_total": 10, "clicked_unique": 7}, {"url": "https://b", "clicked_total": 4, "clicked_unique": 4}],
            "paging": {"next": {"starting_after": "should-be-ignored"}}}
    client, adapter, _ = make_client(lambda call: Reply(json=body))
    links = client.get_campaign_links("c1")
    assert [(l.url, l.clicked_total, l.clicked_unique) for l in links] == [("https://a", 10, 7), ("https://b", 4, 4)]
    assert len(adapter.calls) == 1
    assert adapter.calls[0].path == "/campaigns/c1/reports/links" and adapter.calls[0].query == {}


def test_get_contact_by_email_uses_md5_of_lowercased_email():
    client, adapter, _ = make_client(lambda call: Reply(json={"id": "uuid-1", "email_address": "otto@example.com", "status": "subscribed"}))
    contact = client.get_contact("l1", "  Otto@Example.COM ")
    digest = hashlib.md5(b"otto@example.com").hexdigest()
    assert adapter.calls[0].path == f"/lists/l1/contacts/{digest}"
    assert contact.id == "uuid-1" and contact.list_id == "l1"
    client.get_contact("l1", "uuid-1")
    assert adapter.calls[1].path == "/lists/l1/contacts/uuid-1"


def test_ids_cannot_change_the_path():
    client, adapter, _ = make_client(lambda call: Reply(json={"id": "x"}))
    client.get_list("../campaigns?x=1")
    assert adapter.calls[0].path == "/lists/..%2Fcampaigns%3Fx%3D1"
    with pytest.raises(ValueError):
        client.get_list("")


def test_get_list_counts_array_and_summary():
    def handle(call: Call) -> Reply:
        if call.path.endswith("/summary"):
            return Reply(json={"id": "c1", "sent": 5, "bounced": {"hard": 1, "soft": 0}, "opened": {"total": 4, "unique": 3},
                               "clicked": {"total": 2, "unique": 1}, "complained": 0, "unsubscribed": 1})
        return Reply(json={"id": "l1", "name": "N", "counts": [{"subscribed": 3, "unsubscribed": 2, "pending": 1}], "fields": []})

    client, _, _ = make_client(handle)
    lst = client.get_list("l1")
    assert (lst.counts.subscribed, lst.counts.unsubscribed, lst.counts.pending) == (3, 2, 1)
    s = client.get_campaign_summary("c1")
    assert (s.sent, s.opened_unique, s.clicked_total, s.unsubscribed) == (5, 3, 2, 1)


# --------------------------------------------------------------------------- errors


UNAUTHORIZED = {"title": "An error occurred.", "detail": "Invalid key.", "status": 401,
                "type": "https://emailoctopus.com/api-documentation/v2#unauthorized"}
NO_AUTH = {"title": "An error occurred.", "detail": "Full authentication is required to access this resource.",
           "status": 401, "type": "/errors/401"}


@pytest.mark.parametrize("body", [UNAUTHORIZED, NO_AUTH], ids=["invalid-key", "no-header"])
def test_401_is_never_retried_and_explains_legacy_keys(body):
    client, adapter, clock = make_client(lambda call: Reply(401, body))
    with pytest.raises(AuthError) as info:
        list(client.iter_lists())
    msg = str(info.value)
    assert "GET /lists?limit=100" in msg and body["detail"] in msg
    assert "legacy" in msg and "create a new key" in msg
    assert info.value.status == 401 and info.value.type_slug in ("unauthorized", "401")
    assert len(adapter.calls) == 1 and clock.sleeps == []


def test_403_is_access_denied_not_retried():
    body = {"title": "An error occurred.", "detail": "Access denied.", "status": 403,
            "type": "https://emailoctopus.com/api-documentation/v2#access-denied"}
    client, adapter, _ = make_client(lambda call: Reply(403, body))
    with pytest.raises(AuthError, match="another account"):
        client.get_list("l1")
    assert len(adapter.calls) == 1


def test_404_names_the_resource():
    body = {"title": "An error occurred.", "detail": "Resource not found.", "status": 404,
            "type": "https://emailoctopus.com/api-documentation/v2#not-found"}
    client, adapter, _ = make_client(lambda call: Reply(404, body))
    with pytest.raises(NotFound, match=r"list 3c1d9e52 at GET /lists/3c1d9e52"):
        client.get_list("3c1d9e52")
    with pytest.raises(NotFound, match=r"contact [0-9a-f]{32} \(looked up by email\) in list l1"):
        client.get_contact("l1", "nobody@example.com")
    assert len(adapter.calls) == 2


def test_400_with_parameter_errors_is_a_plain_api_error():
    body = {"title": "An error occurred.", "detail": "Bad request.", "status": 400,
            "type": "https://emailoctopus.com/api-documentation/v2#bad-request",
            "errors": [{"parameter": "status", "detail": "The value you selected is not a valid choice."}]}
    client, adapter, _ = make_client(lambda call: Reply(400, body))
    with pytest.raises(APIError) as info:
        client.get_campaign_summary("draft-1")
    assert type(info.value) is APIError and info.value.status == 400
    assert "status: The value you selected" in str(info.value)
    assert len(adapter.calls) == 1


def sequence(*replies: Reply | BaseException) -> Handler:
    """Answers in order, then keeps repeating the last answer."""
    queue = list(replies)

    def handle(call: Call):
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return handle


OK = Reply(json={"data": items(1), "paging": {}})
TOO_MANY = {"title": "An error occurred.", "detail": "Too many requests.", "status": 429,
            "type": "https://emailoctopus.com/api-documentation/v2#too-many-requests"}


@pytest.mark.parametrize(
    "headers,expected_wait",
    [
        ({"X-RateLimit-Retry-After": "3"}, 3.0),
        ({"Retry-After": "2"}, 2.0),
        ({"X-RateLimit-Retry-After": "4", "Retry-After": "9"}, 4.0),
        ({"X-RateLimit-Retry-After": "600"}, 60.0),
        ({"Retry-After": "soon"}, 0.5),  # unreadable header: backoff (rng=1.0 → base 0.5 s)
        ({}, 0.5),
    ],
    ids=["x-ratelimit", "retry-after", "x-wins", "capped-60", "unreadable", "none"],
)
def test_429_retries_honouring_the_retry_headers(headers, expected_wait):
    client, adapter, clock = make_client(sequence(Reply(429, TOO_MANY, headers=headers), Reply(429, TOO_MANY, headers=headers), OK))
    assert [l.id for l in client.iter_lists()] == ["id-000"]
    assert len(adapter.calls) == 3
    retry_waits = clock.sleeps  # the bucket is full, so every sleep is a retry wait
    assert retry_waits[0] == pytest.approx(expected_wait)
    assert len(retry_waits) == 2
    stats = client.stats
    assert stats.requests == 3 and stats.retries == 2 and stats.by_status == {429: 2, 200: 1}
    assert stats.rate_limit_waits == 2


def test_429_lowers_the_shared_bucket_so_other_threads_slow_down():
    client, _, _ = make_client(sequence(Reply(429, TOO_MANY, headers={"Retry-After": "0"}), OK))
    list(client.iter_lists())
    assert client.bucket.tokens < 1, "after a 429 the local bucket must be emptied"


def test_low_remaining_header_lowers_the_bucket():
    client, _, _ = make_client(lambda call: Reply(json={"data": [], "paging": {}}, headers={"X-RateLimiting-Remaining": "2"}))
    list(client.iter_lists())
    assert client.bucket.tokens <= 2
    client2, _, _ = make_client(lambda call: Reply(json={"data": [], "paging": {}}, headers={"X-RateLimiting-Remaining": "80"}))
    list(client2.iter_lists())
    assert client2.bucket.tokens > 90


@pytest.mark.parametrize(
    "failure",
    [
        Reply(500, {"title": "An error occurred.", "status": 500, "type": "x#internal-error"}),
        Reply(502, text="<html><body><h1>502 Bad Gateway</h1></body></html>"),
        Reply(503, text=""),
        requests.ConnectTimeout("connect timed out"),
        requests.ReadTimeout("read timed out"),
        requests.ConnectionError("connection reset by peer"),
        requests.exceptions.ChunkedEncodingError("connection dropped mid-body"),
    ],
    ids=["500", "html-502", "empty-503", "connect-timeout", "read-timeout", "connection-error", "dropped-body"],
)
def test_transient_failures_are_retried_with_backoff(failure):
    client, adapter, clock = make_client(sequence(failure, failure, OK))
    assert [l.id for l in client.iter_lists()] == ["id-000"]
    assert len(adapter.calls) == 3
    assert clock.sleeps == pytest.approx([0.5, 1.0])
    assert client.stats.retries == 2


@pytest.mark.parametrize(
    "failure,error,words",
    [
        (Reply(429, TOO_MANY, headers={"X-RateLimit-Retry-After": "1"}), RateLimited, "429 Too many requests"),
        (Reply(500, {"title": "An error occurred.", "detail": "Boom.", "status": 500}), ServerError, "500 server error"),
        (Reply(502, text="<html>Bad gateway from the edge</html>"), ServerError, "502 server error"),
        (requests.ConnectionError("refused"), TransportError, "connection failed"),
        (requests.ReadTimeout("slow"), TransportError, "timed out"),
    ],
    ids=["429", "500", "html-502", "connection", "timeout"],
)
def test_give_up_after_max_attempts_with_a_typed_error_naming_the_request(failure, error, words):
    client, adapter, _ = make_client(lambda call: failure, max_attempts=4)
    with pytest.raises(error) as info:
        client.get_campaign("c-42")
    msg = str(info.value)
    assert "GET /campaigns/c-42" in msg and words in msg
    assert len(adapter.calls) == 4
    assert client.stats.retries == 3
    if isinstance(info.value, APIError):
        assert "gave up after 4 attempts" in msg


def test_html_error_body_is_kept_as_text_not_crashed_on():
    client, _, _ = make_client(lambda call: Reply(502, text="<html>Cloudflare</html>"), max_attempts=1)
    with pytest.raises(ServerError) as info:
        client.get_list("l1")
    assert info.value.body == "<html>Cloudflare</html>"


def test_backoff_grows_exponentially_and_is_capped():
    client, _, clock = make_client(lambda call: Reply(500, {}), max_attempts=10)
    with pytest.raises(ServerError):
        client.get_list("l1")
    assert clock.sleeps == pytest.approx([0.5, 1, 2, 4, 8, 16, 30, 30, 30])


def test_backoff_jitter_stays_within_zero_and_the_exponential_bound():
    rng = random.Random(1234)
    client, _, clock = make_client(lambda call: Reply(503, {}), max_attempts=10, rng=rng.random)
    with pytest.raises(ServerError):
        client.get_list("l1")
    bounds = [0.5, 1, 2, 4, 8, 16, 30, 30, 30]
    assert all(0 <= s <= b for s, b in zip(clock.sleeps, bounds, strict=True))
    assert len(set(clock.sleeps)) == len(clock.sleeps), "full jitter: the waits differ"
    assert client.stats.wait_seconds == pytest.approx(sum(clock.sleeps))


def test_every_request_passes_through_the_bucket():
    client, adapter, clock = make_client(lambda call: Reply(json={"id": "l1"}), rate_per_s=10, burst=100)
    for _ in range(200):
        client.get_list("l1")
    assert len(adapter.calls) == 200
    assert sum(clock.sleeps) == pytest.approx(10.0, abs=1e-6)
    stats = client.stats
    assert stats.rate_limit_waits == 100 and stats.wait_seconds == pytest.approx(10.0, abs=1e-6)
    assert stats.by_status == {200: 200} and stats.retries == 0


# --------------------------------------------------------------------------- concurrency


def test_map_preserves_order_and_runs_exactly_max_workers_at_once():
    # Every request waits at a 4-party barrier: fewer than 4 in flight would break it (timeout),
    # more than 4 would show in max_in_flight.
    client, adapter, _ = make_client(
        lambda call: Reply(json={"id": call.path.rsplit("/", 1)[1]}), gate=threading.Barrier(4), max_workers=4
    )
    ids = [f"list-{i:02d}" for i in range(16)]
    got = [m.id for m in client.map(client.get_list, ids)]
    assert got == ids
    assert adapter.max_in_flight == 4
    assert client.stats.requests == 16


def test_map_reraises_an_exception_at_its_position():
    def fn(i: int) -> int:
        if i == 3:
            raise KeyError("three")
        return i * 10

    client, _, _ = make_client(paged([]), max_workers=3)
    results = []
    with pytest.raises(KeyError, match="three"):
        for r in client.map(fn, range(8)):
            results.append(r)
    assert results == [0, 10, 20]


def test_stats_are_thread_safe():
    client, adapter, _ = make_client(lambda call: Reply(json={"id": "x"}), max_workers=4, burst=1000)
    list(client.map(lambda i: client.get_list(f"l{i}"), range(300)))
    assert client.stats.requests == 300 == len(adapter.calls)
    assert client.stats.by_status == {200: 300}


# --------------------------------------------------------------------------- secrets and logs


def test_one_info_line_per_request_with_method_path_status_ms(caplog):
    client, _, _ = make_client(sequence(Reply(500, {}), Reply(json={"data": items(2), "paging": {}})))
    with caplog.at_level(logging.INFO, logger="octolib.api"):
        list(client.pages("/lists", limit=2))
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("octolib.api")]
    assert len(lines) == 2
    assert lines[0].startswith("GET /lists?limit=2 500 ") and "retry 2/6" in lines[0]
    assert lines[1].startswith("GET /lists?limit=2 200 ") and lines[1].endswith("ms")


def test_the_key_never_appears_in_logs_errors_reprs_or_tracebacks(caplog):
    replies = {
        "/lists": Reply(401, UNAUTHORIZED),
        "/campaigns": Reply(429, TOO_MANY, headers={"X-RateLimit-Retry-After": "1"}),
        "/campaigns/c1": Reply(500, {"detail": f"echo Bearer {KEY}"}),
        "/campaigns/c2": Reply(200, text=f"<html>api_key={KEY}</html>"),
        "/lists/l1": requests.ConnectionError(f"cannot connect (Authorization: Bearer {KEY})"),
        "/lists/l2": Reply(404, {"detail": f"no list for key {KEY}"}),
    }
    client, adapter, _ = make_client(lambda call: replies[call.path], max_attempts=2)
    texts = [repr(client), str(client), repr(client.session), repr(client.bucket)]
    with caplog.at_level(logging.DEBUG):
        for call in (
            lambda: list(client.iter_lists()),
            lambda: list(client.iter_campaigns()),
            lambda: client.get_campaign("c1"),
            lambda: client.get_campaign("c2"),
            lambda: client.get_list("l1"),
            lambda: client.get_list("l2"),
        ):
            with pytest.raises(api.OctoError) as info:
                call()
            exc = info.value
            texts += [str(exc), repr(exc), str(getattr(exc, "body", "")), "".join(traceback.format_exception_only(type(exc), exc))]
    texts += [r.getMessage() for r in caplog.records]
    assert adapter.calls and all(c.headers["Authorization"] == f"Bearer {KEY}" for c in adapter.calls)
    leaks = [t for t in texts if KEY in t]
    assert leaks == []


def test_a_key_with_inner_whitespace_is_refused_without_echoing_it():
    # requests would echo the whole header value (the key) in an InvalidHeader message.
    for bad in (KEY[:10] + "\n" + KEY[10:], KEY[:10] + " " + KEY[10:], KEY + "\x00"):
        with pytest.raises(ConfigError) as info:
            EmailOctopusClient(bad)
        assert KEY[:10] not in str(info.value) and KEY[10:] not in str(info.value)


def test_surrounding_whitespace_from_copy_paste_is_stripped():
    client, adapter, _ = make_client(lambda call: Reply(json={"id": "l1"}))
    client2 = EmailOctopusClient("  " + KEY + "\n", BASE, session=client.session)
    client2.get_list("l1")
    assert adapter.calls[0].headers["Authorization"] == f"Bearer {KEY}"


def test_from_settings_requires_a_key_outside_demo_mode():
    with pytest.raises(ConfigError, match="OCTO_API_KEY"):
        EmailOctopusClient.from_settings(Settings(api_key=""))
    demo = EmailOctopusClient.from_settings(Settings(api_key="", demo=True, api_base="http://127.0.0.1:9/"))
    assert demo.base_url == "http://127.0.0.1:9"
    client = EmailOctopusClient.from_settings(Settings(api_key=KEY, rate_per_s=5, rate_burst=20, max_workers=2, max_attempts=3))
    assert (client.bucket.rate_per_s, client.bucket.capacity, client.max_workers) == (5, 20, 2)
    assert KEY not in repr(client)
    client.close()


def test_exports_are_honest():
    public = {n for n in vars(api) if not n.startswith("_")} - {"client", "models", "paging", "ratelimit", "transport", "annotations"}
    assert set(api.__all__) == public
    for name in api.__all__:
        assert getattr(api, name) is not None
