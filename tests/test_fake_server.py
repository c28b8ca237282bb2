"""The fake EmailOctopus API over a real socket, with plain ``requests`` (not the octolib
client): shapes against the vendor spec, auth, errors, paging, filters, faults and the rate
limit. The rate-limit tests drive the server's bucket with a fake clock, never a sleep."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from octolib.fake import CONTACT_STATUSES, DEMO_API_KEY, REPORT_STATUSES, FakeAccount, FakeServer, Faults
from octolib.fake.server import TokenBucket

AUTH = {"Authorization": f"Bearer {DEMO_API_KEY}"}
DOCS = "https://emailoctopus.com/api-documentation/v2#"


def get(srv: FakeServer, path: str, params=None, headers=AUTH, session=requests) -> requests.Response:
    return session.get(srv.base_url + path, params=params, headers=headers, timeout=10)


def walk(srv: FakeServer, path: str, params=None, via_url: bool = False) -> list[requests.Response]:
    """Every page of a collection, following ``paging.next`` (rebuilt or its url)."""
    pages = [get(srv, path, params)]
    while True:
        assert pages[-1].status_code == 200, pages[-1].text
        nxt = (pages[-1].json().get("paging") or {}).get("next")
        if not nxt:
            return pages
        assert len(pages) < 500
        if via_url:
            pages.append(requests.get(nxt["url"], headers=AUTH, timeout=10))
        else:
            pages.append(get(srv, path, dict(params or {}, starting_after=nxt["starting_after"])))


def items(pages: list[requests.Response]) -> list[dict]:
    return [x for p in pages for x in p.json()["data"]]


def ids(pages: list[requests.Response], key: str = "id") -> list[str]:
    return [x[key] for x in items(pages)]


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def small_server():
    account = FakeAccount.generate(seed=4, size="small")
    with FakeServer(account, burst=10_000, rate_per_s=10_000) as srv:
        yield srv


# ----------------------------------------------------------------------------- spec shapes

def test_every_answer_of_every_endpoint_matches_the_spec(tiny_account, spec_validate):
    srv, acc = FakeServer(tiny_account, burst=10_000).start(), tiny_account
    seen = 0

    def check(template: str, path: str, params=None, pages: bool = True):
        nonlocal seen
        answers = walk(srv, path, params) if pages else [get(srv, path, params)]
        for r in answers:
            assert r.status_code == 200 and r.headers["Content-Type"] == "application/json"
            spec_validate(template, 200, r.json())
            seen += 1
        return answers

    check("/lists", "/lists", {"limit": 1})
    check("/campaigns", "/campaigns", {"limit": 4})
    for lst in acc.lists:
        lid = lst["id"]
        check("/lists/{list_id}", f"/lists/{lid}", pages=False)
        check("/lists/{list_id}/tags", f"/lists/{lid}/tags", {"limit": 2})
        for status in CONTACT_STATUSES:
            for c in items(check("/lists/{list_id}/contacts", f"/lists/{lid}/contacts", {"status": status, "limit": 7})):
                check("/lists/{list_id}/contacts/{contact_id}", f"/lists/{lid}/contacts/{c['id']}", pages=False)
    for camp in acc.campaigns:
        cid = camp["id"]
        check("/campaigns/{campaign_id}", f"/campaigns/{cid}", pages=False)
        if camp["status"] == "draft":
            continue
        check("/campaigns/{campaign_id}/reports/summary", f"/campaigns/{cid}/reports/summary", pages=False)
        check("/campaigns/{campaign_id}/reports/links", f"/campaigns/{cid}/reports/links", pages=False)
        for status in REPORT_STATUSES:
            check("/campaigns/{campaign_id}/reports", f"/campaigns/{cid}/reports", {"status": status, "limit": 5})
    srv.stop()
    assert seen > 100


def test_counts_as_an_array_is_the_spec_as_written(fake_server, spec_validate):
    import jsonschema

    body = get(fake_server, "/lists").json()
    with pytest.raises(jsonschema.ValidationError):
        spec_validate("/lists", 200, body, counts="array")  # the default object is not the spec's array
    fake_server.faults.counts_shape = "array"
    body = get(fake_server, "/lists").json()
    spec_validate("/lists", 200, body, counts="array")
    assert isinstance(body["data"][0]["counts"], list) and set(body["data"][0]["counts"][0]) == {
        "pending", "subscribed", "unsubscribed"}


def test_validator_catches_a_wrong_shape(fake_server, spec_validate):
    import jsonschema

    camp = get(fake_server, "/campaigns").json()["data"][0]
    for broken in (dict(camp, status="SENT"), dict(camp, extra=1), dict(camp, to="x")):
        with pytest.raises(jsonschema.ValidationError):
            spec_validate("/campaigns/{campaign_id}", 200, broken)


def test_answers_are_the_accounts_data(fake_server):
    srv, acc = fake_server, fake_server.account
    assert items(walk(srv, "/campaigns", {"limit": 2})) == acc.campaigns
    for lst in acc.lists:
        assert get(srv, f"/lists/{lst['id']}").json() == lst
        subscribed = [c for c in acc.contacts[lst["id"]] if c["status"] == "subscribed"]
        assert items(walk(srv, f"/lists/{lst['id']}/contacts", {"limit": 3})) == subscribed
        assert [t["tag"] for t in items(walk(srv, f"/lists/{lst['id']}/tags", {"limit": 1}))] == lst["tags"]
    camp = next(c for c in acc.campaigns if c["status"] == "sent")
    assert get(srv, f"/campaigns/{camp['id']}/reports/summary").json() == acc.summary(camp["id"])
    links = get(srv, f"/campaigns/{camp['id']}/reports/links").json()
    assert links == {"data": acc.links(camp["id"])}, "links: data only, no paging"
    rows = walk(srv, f"/campaigns/{camp['id']}/reports", {"status": "opened", "limit": 2})
    assert items(rows) == acc.report_rows(camp["id"], "opened")
    assert all(p.json()["status"] == "opened" for p in rows)


# ----------------------------------------------------------------------------- auth, 404, 405

def test_no_header_and_bad_keys_get_the_two_different_401s(fake_server, spec_validate):
    r = get(fake_server, "/lists", headers={})
    assert r.status_code == 401 and r.headers["Content-Type"] == "application/json"
    assert r.json() == {"title": "An error occurred.", "detail": "Full authentication is required to access this resource.",
                        "status": 401, "type": "/errors/401"}
    assert "X-RateLimiting-Remaining" not in r.headers
    for header in ({"Authorization": "Bearer nope"}, {"Authorization": f"Basic {DEMO_API_KEY}"},
                   {"Authorization": "Bearer "}, {"Authorization": DEMO_API_KEY}):
        r = get(fake_server, "/lists", headers=header)
        assert r.status_code == 401
        assert r.json() == {"title": "An error occurred.", "detail": "Invalid key.", "status": 401,
                            "type": DOCS + "unauthorized"}
        spec_validate("/lists", 401, r.json())


def test_another_accounts_key_sees_nothing_and_is_denied_this_accounts_ids(tiny_account):
    with FakeServer(tiny_account, other_keys=["someone-else"]) as srv:
        other = {"Authorization": "Bearer someone-else"}
        assert get(srv, "/lists", headers=other).json()["data"] == []
        assert get(srv, "/campaigns", headers=other).json()["data"] == []
        lid = tiny_account.lists[0]["id"]
        r = get(srv, f"/lists/{lid}/contacts", headers=other)
        assert r.status_code == 403 and r.json()["type"] == DOCS + "access-denied"
        assert get(srv, f"/campaigns/{tiny_account.campaigns[0]['id']}", headers=other).status_code == 403
        assert get(srv, f"/lists/{lid}").status_code == 200, "the account's own key still works"


@pytest.mark.parametrize("path", ["/v2/lists", "/", "/lists/", "/contacts", "/campaigns/reports/summary/x",
                                  "/lists/3c1d9e52-7557-11eb-a3d0-06b4694bee2a/fields"])
def test_unknown_routes_are_json_404(fake_server, path):
    r = get(fake_server, path)
    assert r.status_code == 404 and r.headers["Content-Type"] == "application/json"
    assert r.json() == {"title": "An error occurred.", "detail": "Resource not found.", "status": 404,
                        "type": DOCS + "not-found"}


def test_unknown_ids_are_404_and_malformed_ids_400(fake_server, spec_validate):
    missing = "3c1d9e52-7557-11eb-a3d0-06b4694bee2a"
    lid = fake_server.account.lists[0]["id"]
    for path in (f"/lists/{missing}", f"/lists/{missing}/contacts", f"/lists/{missing}/tags", f"/campaigns/{missing}",
                 f"/campaigns/{missing}/reports/summary", f"/lists/{lid}/contacts/{missing}",
                 f"/lists/{lid}/contacts/{'0' * 32}"):
        r = get(fake_server, path)
        assert r.status_code == 404, path
    spec_validate("/lists/{list_id}", 404, get(fake_server, f"/lists/{missing}").json())
    r = get(fake_server, "/lists/not-a-uuid")
    assert r.status_code == 400
    assert r.json()["errors"] == [{"parameter": "list_id", "detail": "This value is not a valid UUID."}]
    spec_validate("/lists/{list_id}", 400, r.json())
    assert get(fake_server, "/campaigns/42/reports/links").json()["errors"][0]["parameter"] == "campaign_id"


def test_other_verbs_on_known_routes_are_405(fake_server):
    url = fake_server.base_url
    for method, path in [("POST", "/lists"), ("DELETE", f"/lists/{fake_server.account.lists[0]['id']}"),
                         ("PUT", "/campaigns"), ("PATCH", "/lists"), ("HEAD", "/lists")]:
        r = requests.request(method, url + path, headers=AUTH, json={"name": "x"} if method != "HEAD" else None,
                             timeout=10)
        assert r.status_code == 405, (method, path)
        if method != "HEAD":
            assert r.json()["type"] == DOCS + "method-not-allowed"
    assert requests.post(url + "/nowhere", headers=AUTH, timeout=10).status_code == 404


# ----------------------------------------------------------------------------- paging

@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "", "1.5", "10 0"])
def test_limit_outside_1_to_100_is_400(fake_server, spec_validate, limit):
    r = get(fake_server, "/lists", {"limit": limit})
    assert r.status_code == 400
    body = r.json()
    assert body["errors"] == [{"parameter": "limit", "detail": "This value should be between 1 and 100."}]
    assert body["type"] == DOCS + "bad-request" and body["status"] == 400
    spec_validate("/lists", 400, body)


def test_limit_bounds_and_default(small_server):
    lid = max(small_server.account.lists, key=lambda x: x["counts"]["subscribed"])["id"]
    assert len(get(small_server, f"/lists/{lid}/contacts").json()["data"]) == 100
    assert len(get(small_server, f"/lists/{lid}/contacts", {"limit": "100"}).json()["data"]) == 100
    assert len(get(small_server, f"/lists/{lid}/contacts", {"limit": 1}).json()["data"]) == 1


def test_paging_has_no_gaps_or_repeats_and_next_url_keeps_every_parameter(small_server):
    srv = small_server
    lst = max(srv.account.lists, key=lambda x: x["counts"]["unsubscribed"])
    params = {"status": "unsubscribed", "created_at.gte": "2025-01-01T00:00:00Z", "limit": 7}
    pages = walk(srv, f"/lists/{lst['id']}/contacts", params)
    assert len(pages) > 2
    expected = [c["id"] for c in srv.account.contacts[lst["id"]]
                if c["status"] == "unsubscribed" and c["created_at"] >= "2025-01-01T00:00:00+00:00"]
    assert ids(pages) == expected
    first = pages[0].json()["paging"]["next"]
    url = urlsplit(first["url"])
    assert f"{url.scheme}://{url.netloc}" == srv.base_url and url.path == f"/lists/{lst['id']}/contacts"
    q = parse_qs(url.query)
    assert q == {"status": ["unsubscribed"], "created_at.gte": ["2025-01-01T00:00:00Z"], "limit": ["7"],
                 "starting_after": [first["starting_after"]]}
    assert ids(walk(srv, f"/lists/{lst['id']}/contacts", params, via_url=True)) == expected


def test_cursors_are_unpadded_base64url_json_arrays(small_server):
    srv = small_server
    camp = next(c for c in srv.account.campaigns if c["status"] == "sent")
    cases = [("/campaigns", {"limit": 2}, [str, str]), ("/lists", {"limit": 1}, [str]),
             (f"/campaigns/{camp['id']}/reports", {"status": "sent", "limit": 3}, [int, str]),
             (f"/lists/{srv.account.lists[0]['id']}/contacts", {"limit": 3}, [str, str]),
             (f"/lists/{srv.account.lists[0]['id']}/tags", {"limit": 1}, [int, str])]
    for path, params, types in cases:
        cursor = get(srv, path, params).json()["paging"]["next"]["starting_after"]
        assert re.fullmatch(r"[A-Za-z0-9_-]+", cursor), cursor
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        assert [type(k) for k in key] == types, path


@pytest.mark.parametrize("cursor", ["%%%", "bm90IGpzb24", base64.urlsafe_b64encode(b'{"a":1}').decode().rstrip("="),
                                    base64.urlsafe_b64encode(b"[1]").decode().rstrip("="), "WyJ4Il0"])
def test_an_undecodable_or_foreign_cursor_is_400(fake_server, cursor):
    r = get(fake_server, "/campaigns", {"starting_after": cursor})
    assert r.status_code == 400
    assert r.json()["errors"][0]["parameter"] == "starting_after"


def test_campaigns_come_newest_first_with_drafts_mixed_in(small_server):
    data = items(walk(small_server, "/campaigns", {"limit": 3}))
    created = [c["created_at"] for c in data]
    assert created == sorted(created, reverse=True)
    positions = [i for i, c in enumerate(data) if c["status"] == "draft"]
    assert any(0 < i < len(data) - 1 for i in positions), "a draft sits mid-list"


@pytest.mark.parametrize("style,expected", [("omit_next", {}), ("null_next", {"next": None}),
                                            ("empty_array", []), ("omit_paging", "absent")])
def test_each_end_of_paging_form(fake_server, style, expected):
    fake_server.faults.end_of_paging = style
    lid = fake_server.account.lists[0]["id"]
    for path, params in [("/lists", None), ("/campaigns", {"limit": 100}), (f"/lists/{lid}/tags", None)]:
        body = get(fake_server, path, params).json()
        if expected == "absent":
            assert "paging" not in body
        else:
            assert body["paging"] == expected
    first = get(fake_server, "/campaigns", {"limit": 1}).json()
    assert first["paging"]["next"]["starting_after"], "pages before the last still carry next"


def test_next_url_can_drop_the_filters(small_server):
    srv = small_server
    srv.faults.next_url_drops_filters = True
    lid = srv.account.lists[0]["id"]
    nxt = get(srv, f"/lists/{lid}/contacts", {"status": "unsubscribed", "limit": 2}).json()["paging"]["next"]
    q = parse_qs(urlsplit(nxt["url"]).query)
    assert set(q) == {"limit", "starting_after"}
    followed = requests.get(nxt["url"], headers=AUTH, timeout=10).json()["data"]
    assert {c["status"] for c in followed} == {"subscribed"}, "trap T6: following the url silently changes status"


# ----------------------------------------------------------------------------- contacts

def test_contacts_default_to_subscribed_and_filter_on_status_and_tag(small_server):
    srv = small_server
    lst = srv.account.lists[0]
    everyone = srv.account.contacts[lst["id"]]
    assert {c["status"] for c in items(walk(srv, f"/lists/{lst['id']}/contacts"))} == {"subscribed"}
    for status in CONTACT_STATUSES:
        got = ids(walk(srv, f"/lists/{lst['id']}/contacts", {"status": status}))
        assert got == [c["id"] for c in everyone if c["status"] == status]
        assert len(got) == lst["counts"][status]
    tag = lst["tags"][0]
    tagged = ids(walk(srv, f"/lists/{lst['id']}/contacts", {"tag": tag}))
    assert tagged and tagged == [c["id"] for c in everyone if c["status"] == "subscribed" and tag in c["tags"]]
    assert get(srv, f"/lists/{lst['id']}/contacts", {"tag": "no-such-tag"}).json()["data"] == []
    r = get(srv, f"/lists/{lst['id']}/contacts", {"status": "SUBSCRIBED"})
    assert r.status_code == 400 and r.json()["errors"][0]["parameter"] == "status"


def test_date_filters_are_inclusive_and_accept_z_and_offset(small_server):
    srv = small_server
    lst = srv.account.lists[0]
    everyone = [c for c in srv.account.contacts[lst["id"]] if c["status"] == "subscribed"]
    pivot = everyone[len(everyone) // 2]
    stamp = pivot["created_at"]  # 2026-...+00:00
    zulu = stamp.replace("+00:00", "Z")
    path = f"/lists/{lst['id']}/contacts"
    for value in (stamp, zulu):
        gte = ids(walk(srv, path, {"created_at.gte": value}))
        lte = ids(walk(srv, path, {"created_at.lte": value}))
        assert pivot["id"] in gte and pivot["id"] in lte, "bounds are inclusive"
        assert gte == [c["id"] for c in everyone if c["created_at"] >= stamp]
        assert lte == [c["id"] for c in everyone if c["created_at"] <= stamp]
    both = ids(walk(srv, path, {"created_at.gte": zulu, "created_at.lte": zulu}))
    assert pivot["id"] in both
    upd = everyone[-1]["last_updated_at"]
    got = items(walk(srv, path, {"last_updated_at.gte": upd}))
    assert got and all(c["last_updated_at"] >= upd for c in got)
    got = items(walk(srv, path, {"last_updated_at.lte": upd}))
    assert all(c["last_updated_at"] <= upd for c in got)
    shifted = (datetime.fromisoformat(stamp) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S+02:00")
    assert pivot["id"] in ids(walk(srv, path, {"created_at.gte": shifted, "created_at.lte": shifted}))


def test_an_unencoded_plus_in_a_date_is_400(fake_server):
    lid = fake_server.account.lists[0]["id"]
    raw = f"{fake_server.base_url}/lists/{lid}/contacts?created_at.gte=2025-01-01T00:00:00+00:00"
    r = requests.get(raw, headers=AUTH, timeout=10)
    assert r.status_code == 400
    assert r.json()["errors"][0]["parameter"] == "created_at.gte"
    assert "%2B" in r.json()["errors"][0]["detail"]
    encoded = raw.replace("+", "%2B")
    assert requests.get(encoded, headers=AUTH, timeout=10).status_code == 200
    assert get(fake_server, f"/lists/{lid}/contacts", {"last_updated_at.lte": "yesterday"}).status_code == 400


def test_one_contact_by_id_or_md5_of_the_lowercased_email(small_server):
    srv = small_server
    lst = srv.account.lists[0]
    mixed = next(c for c in srv.account.contacts[lst["id"]] if c["email_address"] != c["email_address"].lower())
    by_id = get(srv, f"/lists/{lst['id']}/contacts/{mixed['id']}")
    assert by_id.status_code == 200 and by_id.json() == mixed
    md5 = hashlib.md5(mixed["email_address"].lower().encode()).hexdigest()
    assert get(srv, f"/lists/{lst['id']}/contacts/{md5}").json() == mixed
    assert get(srv, f"/lists/{lst['id']}/contacts/{md5.upper()}").json()["id"] == mixed["id"]
    wrong = hashlib.md5(mixed["email_address"].encode()).hexdigest()
    assert get(srv, f"/lists/{lst['id']}/contacts/{wrong}").status_code == 404
    other = srv.account.lists[1]["id"]
    assert get(srv, f"/lists/{other}/contacts/{mixed['id']}").status_code == 404, "contact ids are per list"


def test_empty_fields_can_come_back_as_a_list(small_server):
    srv = small_server
    lid = srv.account.lists[0]["id"]
    before = items(walk(srv, f"/lists/{lid}/contacts"))
    assert any(c["fields"] == {} for c in before)
    srv.faults.empty_fields_as_list = True
    after = items(walk(srv, f"/lists/{lid}/contacts"))
    assert [c["fields"] == [] for c in after] == [c["fields"] == {} for c in before]
    assert all(c["fields"] for c in after if c["fields"] != [])
    bare = next(c for c in before if c["fields"] == {})
    assert get(srv, f"/lists/{lid}/contacts/{bare['id']}").json()["fields"] == []


# ----------------------------------------------------------------------------- reports

def test_report_status_is_required_and_checked(fake_server, spec_validate):
    cid = next(c for c in fake_server.account.campaigns if c["status"] == "sent")["id"]
    for params in (None, {"status": "delivered"}, {"status": "OPENED"}, {"status": ""}):
        r = get(fake_server, f"/campaigns/{cid}/reports", params)
        assert r.status_code == 400
        assert r.json()["errors"][0]["parameter"] == "status"
        spec_validate("/campaigns/{campaign_id}/reports", 400, r.json())
    for status in REPORT_STATUSES:
        assert get(fake_server, f"/campaigns/{cid}/reports", {"status": status}).json()["status"] == status


def test_drafts_have_no_reports_unless_switched_to_zeros(fake_server):
    draft = next(c for c in fake_server.account.campaigns if c["status"] == "draft")["id"]
    paths = [(f"/campaigns/{draft}/reports/summary", None), (f"/campaigns/{draft}/reports/links", None),
             (f"/campaigns/{draft}/reports", {"status": "opened"})]
    assert get(fake_server, f"/campaigns/{draft}").status_code == 200
    for path, params in paths:
        assert get(fake_server, path, params).status_code == 404
    fake_server.faults.draft_reports = "zeros"
    summary = get(fake_server, paths[0][0]).json()
    assert summary == {"id": draft, "sent": 0, "bounced": {"hard": 0, "soft": 0}, "opened": {"total": 0, "unique": 0},
                       "clicked": {"total": 0, "unique": 0}, "complained": 0, "unsubscribed": 0}
    assert get(fake_server, paths[1][0]).json() == {"data": []}
    rows = get(fake_server, paths[2][0], paths[2][1]).json()
    assert rows["data"] == [] and rows["status"] == "opened"


# ----------------------------------------------------------------------------- rate limit

def test_bucket_empties_into_429_with_both_headers_and_refills(tiny_account, spec_validate):
    clock = Clock()
    with FakeServer(tiny_account, burst=3, rate_per_s=0.5, clock=clock) as srv:
        remaining = [get(srv, "/lists").headers["X-RateLimiting-Remaining"] for _ in range(3)]
        assert remaining == ["2", "1", "0"]
        r = get(srv, "/lists")
        assert r.status_code == 429
        assert r.json() == {"title": "An error occurred.", "detail": "Too many requests.", "status": 429,
                            "type": DOCS + "too-many-requests"}
        assert r.headers["X-RateLimit-Retry-After"] == "2", "one token at 0.5/s takes 2 s"
        assert r.headers["X-RateLimiting-Remaining"] == "0"
        assert "Retry-After" not in r.headers
        srv.faults.retry_after_standard = True
        assert get(srv, "/lists").headers["Retry-After"] == "2"
        clock.t += 2.0
        ok = get(srv, "/lists")
        assert ok.status_code == 200 and ok.headers["X-RateLimiting-Remaining"] == "0"
        clock.t += 100
        assert get(srv, "/lists").headers["X-RateLimiting-Remaining"] == "2", "refill stops at the burst"
        assert srv.requests_by_status[429] == 2


def test_rate_limit_storm_and_block(tiny_account):
    clock = Clock()
    faults = Faults(rate_limit_storm=2)
    with FakeServer(tiny_account, faults=faults, burst=2, rate_per_s=1, clock=clock) as srv:
        assert [get(srv, "/lists").status_code for _ in range(3)] == [429, 429, 200]
        assert faults.rate_limit_storm == 0
        faults.rate_limit_block_s = 30
        assert get(srv, "/lists").status_code == 200
        blocked = get(srv, "/lists")
        assert blocked.status_code == 429 and blocked.headers["X-RateLimit-Retry-After"] == "30"
        clock.t += 5  # tokens are back, but the penalty lasts
        r = get(srv, "/lists")
        assert r.status_code == 429 and r.headers["X-RateLimit-Retry-After"] == "25"
        clock.t += 25
        assert get(srv, "/lists").status_code == 200


def test_token_bucket_alone():
    clock = Clock()
    bucket = TokenBucket(rate_per_s=4.0, capacity=2, clock=clock)
    assert bucket.take() == (True, 1, 0.0)
    assert bucket.take() == (True, 0, 0.0)
    allowed, left, wait = bucket.take()
    assert (allowed, left) == (False, 0) and wait == pytest.approx(0.25)
    clock.t += 0.25
    assert bucket.take()[0] is True
    with pytest.raises(ValueError):
        TokenBucket(rate_per_s=1.0, capacity=0)


# ----------------------------------------------------------------------------- faults

def test_latency_is_added(fake_server):
    fake_server.faults.latency_s = 0.2
    t0 = time.perf_counter()
    assert get(fake_server, "/lists").status_code == 200
    assert time.perf_counter() - t0 >= 0.2


def test_every_nth_request_is_a_json_500(fake_server):
    fake_server.faults.error_5xx_every = 3
    codes = [get(fake_server, "/lists").status_code for _ in range(7)]
    assert codes == [200, 200, 500, 200, 200, 500, 200]
    assert get(fake_server, "/lists").status_code == 200  # the 8th is fine, the 9th fails
    r = get(fake_server, "/lists")
    assert r.status_code == 500 and r.json()["type"] == DOCS + "internal-error"
    fake_server.faults.error_5xx_every = 0
    assert all(get(fake_server, "/lists").status_code == 200 for _ in range(4))


def test_html_502_page_is_not_json(fake_server):
    fake_server.faults.html_502_every = 2
    codes = []
    for _ in range(4):
        r = get(fake_server, "/campaigns")
        codes.append(r.status_code)
        if r.status_code == 502:
            assert r.headers["Content-Type"] == "text/html"
            assert b"502 Bad Gateway" in r.content
            with pytest.raises(ValueError):
                r.json()
    assert codes == [200, 502, 200, 502]


def test_dropped_connections_give_no_answer_and_the_server_keeps_going(fake_server):
    fake_server.faults.drop_connection_every = 2
    with requests.Session() as s:
        assert get(fake_server, "/lists", session=s).status_code == 200
        with pytest.raises(requests.ConnectionError):
            get(fake_server, "/lists", session=s)
        assert get(fake_server, "/lists", session=s).status_code == 200
    assert fake_server.requests_by_status[0] == 1


def test_faults_path_limits_the_failures_to_matching_requests(fake_server):
    fake_server.faults.faults_path = "/contacts"
    fake_server.faults.error_5xx_every = 1
    lid = fake_server.account.lists[0]["id"]
    assert get(fake_server, "/lists").status_code == 200
    assert get(fake_server, f"/lists/{lid}/contacts").status_code == 500
    assert get(fake_server, f"/lists/{lid}").status_code == 200


def test_malformed_json_only_on_the_named_path(fake_server):
    fake_server.faults.malformed_json_every = 1
    fake_server.faults.malformed_json_path = "status=opened"
    cid = next(c for c in fake_server.account.campaigns if c["status"] == "sent")["id"]
    bad = get(fake_server, f"/campaigns/{cid}/reports", {"status": "opened"})
    assert bad.status_code == 200 and bad.headers["Content-Type"] == "application/json"
    with pytest.raises(ValueError):
        json.loads(bad.content)
    assert get(fake_server, f"/campaigns/{cid}/reports", {"status": "sent"}).json()["status"] == "sent"
    assert get(fake_server, "/lists").json()["data"]


def test_schema_breaks_on_the_named_path(fake_server):
    srv = fake_server
    lid = srv.account.lists[0]["id"]
    srv.faults.schema_break_path = "/contacts"
    body = get(srv, f"/lists/{lid}/contacts").json()
    assert "data" not in body and "paging" in body
    assert "data" in get(srv, "/lists").json(), "other paths are untouched"
    srv.faults.schema_break = "null_id"
    data = get(srv, f"/lists/{lid}/contacts").json()["data"]
    assert data and all(c["id"] is None for c in data)
    srv.faults.schema_break_path = "/reports"
    cid = next(c for c in srv.account.campaigns if c["status"] == "sent")["id"]
    rows = get(srv, f"/campaigns/{cid}/reports", {"status": "sent"}).json()["data"]
    assert rows and all(r["contact_id"] is None for r in rows)
    assert get(srv, f"/campaigns/{cid}/reports/summary").json()["id"] is None
    assert srv.account.summary(cid)["id"] == cid, "the account itself is not changed"


def test_faults_refuse_unknown_names_and_choices():
    f = Faults()
    with pytest.raises(ValueError):
        f.update({"nonsense": 1})
    with pytest.raises(ValueError):
        f.update({"end_of_paging": "maybe"})
    with pytest.raises(ValueError):
        f.update({"error_5xx_every": "3"})
    with pytest.raises(ValueError):
        Faults(latency_s=-1)
    f.update({"latency_s": 1, "draft_reports": "zeros"})
    assert f.latency_s == 1.0 and f.draft_reports == "zeros"


# ----------------------------------------------------------------------------- admin, stats, threads

def test_admin_endpoints_drive_the_server_without_a_key(fake_server):
    url = fake_server.base_url
    lid = fake_server.account.lists[0]["id"]
    before = get(fake_server, f"/lists/{lid}").json()
    r = requests.post(url + "/_fake/advance", params={"hours": 240}, timeout=10)
    assert r.status_code == 200 and r.json()["now"] == "2026-11-11T00:00:00+00:00"
    assert fake_server.account.now.isoformat() == r.json()["now"]
    after = get(fake_server, f"/lists/{lid}").json()
    assert sum(after["counts"].values()) >= sum(before["counts"].values())
    r = requests.post(url + "/_fake/faults", json={"error_5xx_every": 1}, timeout=10)
    assert r.status_code == 200 and r.json()["error_5xx_every"] == 1
    assert get(fake_server, "/lists").status_code == 500
    assert requests.post(url + "/_fake/faults", json={"bogus": 1}, timeout=10).status_code == 400
    assert requests.post(url + "/_fake/advance", params={"hours": "soon"}, timeout=10).status_code == 400
    requests.post(url + "/_fake/faults", json={"error_5xx_every": 0}, timeout=10)
    stats = requests.get(url + "/_fake/stats", timeout=10).json()
    assert stats["request_count"] == 3, "admin calls are not counted"
    assert stats["requests_by_status"] == {"200": 2, "500": 1}
    assert requests.get(url + "/_fake/nothing", timeout=10).status_code == 404


def test_concurrent_clients_are_all_answered(small_server):
    errors: list[str] = []

    def worker() -> None:
        with requests.Session() as s:
            for _ in range(10):
                r = get(small_server, "/campaigns", {"limit": 3}, session=s)
                if r.status_code != 200 or len(r.json()["data"]) != 3:
                    errors.append(r.text)

    def advancer() -> None:
        for _ in range(5):
            small_server.account.advance(1)

    threads = [threading.Thread(target=worker) for _ in range(6)] + [threading.Thread(target=advancer)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors
    assert small_server.request_count == 60 and small_server.requests_by_status == {200: 60}


def test_stop_closes_kept_alive_connections(tiny_account):
    srv = FakeServer(tiny_account).start()
    with requests.Session() as s:
        assert get(srv, "/lists", session=s).status_code == 200
        srv.stop()
        with pytest.raises(requests.ConnectionError):
            s.get(srv.base_url + "/lists", headers=AUTH, timeout=5)
    srv.stop()  # twice is harmless


@pytest.mark.slow
def test_octo_fake_api_runs_in_another_process_until_interrupted():
    proc = subprocess.Popen(
        [sys.executable, "-m", "octolib.cli", "fake-api", "--port", "0", "--size", "tiny", "--seed", "3"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    try:
        lines = [proc.stdout.readline() for _ in range(3)]
        base = re.search(r"http://127\.0\.0\.1:\d+", lines[0]).group(0)
        assert lines[2].strip() == f"export OCTO_API_KEY={DEMO_API_KEY}"
        assert requests.get(base + "/lists", headers=AUTH, timeout=10).status_code == 200
        assert requests.post(base + "/_fake/advance?hours=1", timeout=10).json()["now"] == "2026-11-01T01:00:00+00:00"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
