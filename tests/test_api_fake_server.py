"""The client against the local fake EmailOctopus (``octolib.fake``) over a real socket.

The server is real (threads, HTTP, its own token bucket and faults); the client's waits are
recorded and shortened, so retry tests stay fast while still crossing the wire.
The ``fake_server`` fixture (tests/conftest.py) serves the "tiny" account with the real limits.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid

import pytest

from octolib.api import (
    AuthError,
    EmailOctopusClient,
    NotFound,
    ServerError,
    TransportError,
    ValidationError,
)
from octolib.fake import CONTACT_STATUSES, DEMO_API_KEY, FakeServer

END_FORMS = ("omit_next", "null_next", "empty_array", "omit_paging")


class QuickSleep:
    """Records every wait the client asks for, then sleeps at most 10 ms of it."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self._lock = threading.Lock()

    def __call__(self, seconds: float) -> None:
        with self._lock:
            self.waits.append(seconds)
        time.sleep(min(seconds, 0.01))


def client_for(server: FakeServer, key: str = DEMO_API_KEY, **kwargs) -> tuple[EmailOctopusClient, QuickSleep]:
    sleep = QuickSleep()
    kwargs.setdefault("timeout_s", 5.0)
    return EmailOctopusClient(key, server.base_url, sleep=sleep, **kwargs), sleep


def all_contacts(client: EmailOctopusClient, list_id: str, status: str, limit: int = 5) -> list:
    return list(client.iter_contacts(list_id, status=status, limit=limit))


def test_paging_across_many_small_pages_matches_the_list_counts(fake_server):
    client, _ = client_for(fake_server)
    lists = list(client.iter_lists(limit=1))
    assert len(lists) >= 2
    assert len({l.id for l in lists}) == len(lists)
    for lst in lists:
        for status in CONTACT_STATUSES:
            contacts = all_contacts(client, lst.id, status, limit=5)
            assert len(contacts) == getattr(lst.counts, status), f"{lst.id} {status}"
            assert len({c.id for c in contacts}) == len(contacts), "no duplicates across pages"
            assert all(c.status == status and c.list_id == lst.id for c in contacts)
    campaigns = list(client.iter_campaigns(limit=2))
    assert campaigns and len({c.id for c in campaigns}) == len(campaigns)
    assert all(c.created_at is not None and c.created_at.tzinfo is not None for c in campaigns)
    assert client.stats.requests == fake_server.request_count


@pytest.mark.parametrize("end", END_FORMS)
def test_every_end_of_paging_form_gives_the_same_items(fake_server, end):
    client, _ = client_for(fake_server)
    lst = next(client.iter_lists())
    expected = [c.id for c in all_contacts(client, lst.id, "subscribed", limit=100)]
    fake_server.faults.end_of_paging = end
    before = fake_server.request_count
    got = [c.id for c in all_contacts(client, lst.id, "subscribed", limit=7)]
    assert got == expected
    assert fake_server.request_count - before == max(1, -(-len(expected) // 7)), "one request per page, no extra"


def test_filters_survive_a_next_url_that_drops_them(fake_server):
    client, _ = client_for(fake_server)
    fake_server.faults.next_url_drops_filters = True
    for lst in client.iter_lists():
        unsubscribed = all_contacts(client, lst.id, "unsubscribed", limit=2)
        assert len(unsubscribed) == lst.counts.unsubscribed
        assert {c.status for c in unsubscribed} <= {"unsubscribed"}


def test_contact_date_filter_is_applied_on_every_page(fake_server):
    client, _ = client_for(fake_server)
    lst = next(client.iter_lists())
    everyone = all_contacts(client, lst.id, "subscribed", limit=100)
    cutoff = sorted(c.created_at for c in everyone)[len(everyone) // 2]
    recent = list(client.iter_contacts(lst.id, status="subscribed", created_gte=cutoff, limit=3))
    assert [c.id for c in recent] == [c.id for c in everyone if c.created_at >= cutoff]


def test_summary_agrees_with_paged_report_rows(fake_server):
    client, _ = client_for(fake_server)
    sent = [c for c in client.iter_campaigns() if c.status == "sent"]
    assert sent
    camp = sent[0]
    summary = client.get_campaign_summary(camp.id)
    rows = list(client.iter_campaign_report(camp.id, "sent", limit=10))
    assert len(rows) == summary.sent > 0
    opened = list(client.iter_campaign_report(camp.id, "opened", limit=10))
    assert len({r.contact_id for r in opened}) == summary.opened_unique
    links = client.get_campaign_links(camp.id)
    assert sum(l.clicked_total for l in links) == summary.clicked_total


def test_a_429_storm_ends_in_success_within_the_retry_budget(fake_server):
    client, sleep = client_for(fake_server, max_attempts=6)
    fake_server.faults.rate_limit_storm = 4
    lists = list(client.iter_lists())
    assert lists
    assert fake_server.requests_by_status.get(429) == 4
    assert client.stats.retries == 4 and client.stats.by_status[429] == 4
    # X-RateLimit-Retry-After (whole seconds) is honoured; the shorter waits in between are
    # the local bucket, emptied by each 429 so that the next request is paced.
    assert [w for w in sleep.waits if w >= 0.9] == [1.0] * 4
    assert client.stats.rate_limit_waits >= 4


def test_a_429_storm_longer_than_the_budget_is_rate_limited_naming_the_request(fake_server):
    from octolib.api import RateLimited

    client, _ = client_for(fake_server, max_attempts=3)
    fake_server.faults.rate_limit_storm = 10
    with pytest.raises(RateLimited, match=r"GET /lists\?limit=100.*gave up after 3 attempts"):
        list(client.iter_lists())


def test_persistent_5xx_ends_in_server_error_naming_the_endpoint(fake_server):
    client, sleep = client_for(fake_server, max_attempts=4)
    fake_server.faults.error_5xx_every = 1
    with pytest.raises(ServerError) as info:
        list(client.iter_campaigns())
    assert "GET /campaigns?limit=100" in str(info.value) and "gave up after 4 attempts" in str(info.value)
    assert fake_server.requests_by_status.get(500) == 4
    assert len(sleep.waits) == 3


def test_occasional_5xx_html_502_and_dropped_connections_are_survived(fake_server):
    client, _ = client_for(fake_server, max_attempts=6)
    lst = next(client.iter_lists())
    expected = [c.id for c in all_contacts(client, lst.id, "subscribed", limit=100)]
    fake_server.faults.error_5xx_every = 3
    fake_server.faults.html_502_every = 4
    fake_server.faults.drop_connection_every = 5
    got = [c.id for c in all_contacts(client, lst.id, "subscribed", limit=4)]
    assert got == expected
    by_status = fake_server.requests_by_status
    assert by_status.get(500) and by_status.get(502) and by_status.get(0), by_status


def test_always_dropped_connection_is_a_transport_error(fake_server):
    client, _ = client_for(fake_server, max_attempts=3)
    fake_server.faults.drop_connection_every = 1
    with pytest.raises(TransportError, match=r"GET /lists\?limit=100: connection failed"):
        list(client.iter_lists())


def test_html_502_every_time_is_a_server_error_not_a_crash(fake_server):
    client, _ = client_for(fake_server, max_attempts=2)
    fake_server.faults.html_502_every = 1
    with pytest.raises(ServerError) as info:
        list(client.iter_lists())
    assert "502" in str(info.value) and "cloudflare" in str(info.value.body)


def test_malformed_json_is_a_validation_error(fake_server):
    client, _ = client_for(fake_server)
    lst = next(client.iter_lists())
    fake_server.faults.malformed_json_every = 1
    fake_server.faults.malformed_json_path = "/contacts"
    with pytest.raises(ValidationError, match=rf"GET /lists/{lst.id}/contacts\?.*not valid JSON"):
        all_contacts(client, lst.id, "subscribed")


@pytest.mark.parametrize("mode,field", [("missing_data", "data missing"), ("null_id", r"data\[0\]\.id missing")])
def test_schema_breaks_are_validation_errors_naming_the_field(fake_server, mode, field):
    client, _ = client_for(fake_server)
    fake_server.faults.schema_break_path = "/campaigns"
    fake_server.faults.schema_break = mode
    with pytest.raises(ValidationError, match=rf"GET /campaigns: {field}"):
        list(client.iter_campaigns())


def test_wrong_key_and_missing_key_are_auth_errors_without_retry(fake_server):
    wrong, _ = client_for(fake_server, key="legacy-key-from-2023")
    with pytest.raises(AuthError, match="Invalid key.*legacy.*create a new key"):
        list(wrong.iter_lists())
    empty, _ = client_for(fake_server, key="")
    with pytest.raises(AuthError, match="Full authentication is required"):
        list(empty.iter_lists())
    assert fake_server.requests_by_status == {401: 2}


def test_unknown_list_is_not_found_naming_it(fake_server):
    client, _ = client_for(fake_server)
    missing = str(uuid.uuid1())
    with pytest.raises(NotFound, match=f"list {missing}"):
        client.get_list(missing)


def test_contact_by_email_md5_and_counts_as_array(fake_server):
    client, _ = client_for(fake_server)
    lst = next(client.iter_lists())
    contact = all_contacts(client, lst.id, "subscribed", limit=100)[0]
    found = client.get_contact(lst.id, contact.email_address.upper())
    assert found.id == contact.id and found.email_address == contact.email_address
    assert client.get_contact(lst.id, contact.id).id == contact.id
    as_object = client.get_list(lst.id).counts
    fake_server.faults.counts_shape = "array"
    assert client.get_list(lst.id).counts == as_object


def test_empty_fields_as_list_become_empty_dicts(fake_server):
    client, _ = client_for(fake_server)
    fake_server.faults.empty_fields_as_list = True
    contacts = [c for lst in client.iter_lists() for s in CONTACT_STATUSES for c in all_contacts(client, lst.id, s, 100)]
    assert all(isinstance(c.fields, dict) for c in contacts)
    assert any(c.raw.get("fields") == [] for c in contacts), "the fault must have produced [] at least once"


def test_map_over_real_socket_matches_sequential_results(fake_server):
    client, _ = client_for(fake_server, max_workers=4)
    lists = list(client.iter_lists())
    streams = [(l.id, s) for l in lists for s in CONTACT_STATUSES]
    sequential = [[c.id for c in all_contacts(client, l, s, 5)] for l, s in streams]
    concurrent = list(client.map(lambda st: [c.id for c in all_contacts(client, st[0], st[1], 5)], streams))
    assert concurrent == sequential


def test_key_stays_out_of_logs_over_the_wire(fake_server, caplog):
    client, _ = client_for(fake_server, max_attempts=2)
    fake_server.faults.rate_limit_storm = 1
    with caplog.at_level(logging.DEBUG):
        list(client.iter_lists())
        fake_server.faults.error_5xx_every = 1
        with pytest.raises(ServerError) as info:
            client.get_list(str(uuid.uuid1()))
    texts = [r.getMessage() for r in caplog.records] + [str(info.value), repr(client)]
    assert any("GET /lists?limit=100 429" in t for t in texts)
    assert not [t for t in texts if DEMO_API_KEY in t]
