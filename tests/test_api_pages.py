"""One way to each endpoint: the client's typed ``*_pages`` methods, over a real socket.

The sync reads the API only through these (no module rebuilds a path): each owns its path and
its checks, converts a whole page before yielding it, and resumes from a cursor.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from octolib.api import Campaign, Contact, EmailOctopusClient, MailList, ModelPage, ReportRow, ValidationError
from octolib.fake import DEMO_API_KEY, FakeServer

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def client(fake_server: FakeServer):
    with EmailOctopusClient(DEMO_API_KEY, fake_server.base_url, timeout_s=5.0) as c:
        yield c


def test_every_collection_comes_as_whole_pages_of_models_with_the_cursor(client, tiny_account):
    lists = list(client.list_pages(limit=1))
    assert all(isinstance(p, ModelPage) and len(p.items) == 1 for p in lists)
    assert [p.next_cursor is None for p in lists] == [False] * (len(lists) - 1) + [True]
    assert {p.items[0].id for p in lists} == {d["id"] for d in tiny_account.lists}
    assert all(isinstance(m, MailList) for p in lists for m in p.items)

    campaigns = [c for p in client.campaign_pages(limit=4) for c in p.items]
    assert all(isinstance(c, Campaign) for c in campaigns)
    assert sorted(c.id for c in campaigns) == sorted(d["id"] for d in tiny_account.campaigns)

    list_id = tiny_account.lists[0]["id"]
    for status in ("subscribed", "unsubscribed", "pending"):
        got = [c for p in client.contact_pages(list_id, status=status, limit=7) for c in p.items]
        want = [c for c in tiny_account.contacts[list_id] if c["status"].lower() == status]
        assert all(isinstance(c, Contact) and c.list_id == list_id for c in got)
        assert sorted(c.id for c in got) == sorted(c["id"] for c in want)

    sent = next(c for c in tiny_account.campaigns if c["status"] == "sent")
    rows = [r for p in client.campaign_report_pages(sent["id"], "opened", limit=3) for r in p.items]
    assert all(isinstance(r, ReportRow) and r.campaign_id == sent["id"] for r in rows)
    assert sorted(r.contact_id for r in rows) == sorted(d["contact_id"] for d in tiny_account.report_rows(sent["id"], "opened"))


def test_a_page_resumes_from_its_cursor_and_item_methods_are_the_same_pages_flattened(client, tiny_account):
    list_id = tiny_account.lists[0]["id"]
    pages = list(client.contact_pages(list_id, status="subscribed", limit=5))
    assert len(pages) >= 3
    resumed = list(client.contact_pages(list_id, status="subscribed", limit=5, start_after=pages[0].next_cursor))
    assert [[c.id for c in p.items] for p in resumed] == [[c.id for c in p.items] for p in pages[1:]]
    assert [c.id for c in client.iter_contacts(list_id, status="subscribed", limit=5)] == [
        c.id for p in pages for c in p.items]


def test_bad_arguments_fail_before_any_request(fake_server, client):
    before = fake_server.request_count
    with pytest.raises(ValueError, match="contact status must be one of"):
        client.contact_pages("l1", status="bounced")
    with pytest.raises(ValueError, match="report status must be one of"):
        client.campaign_report_pages("c1", "delivered")
    with pytest.raises(ValueError, match="list_id must be a non-empty string"):
        client.contact_pages(" ", status="subscribed")
    with pytest.raises(ValueError, match="updated_gte must be a datetime"):
        client.contact_pages("l1", status="subscribed", updated_gte="yesterday")
    assert fake_server.request_count == before


def test_one_bad_item_fails_its_whole_page_naming_the_endpoint(fake_server, client, tiny_account):
    list_id = tiny_account.lists[0]["id"]
    fake_server.faults.schema_break_path = "/contacts"
    fake_server.faults.schema_break = "null_id"
    pages = client.contact_pages(list_id, status="subscribed", limit=5)
    with pytest.raises(ValidationError, match=rf"GET /lists/{list_id}/contacts: data\[0\]\.id missing"):
        next(pages)


def test_the_sync_reads_the_api_only_through_the_client():
    """No module outside ``octolib/api`` builds an endpoint path or calls the raw page loop."""
    offenders = []
    for path in (ROOT / "octolib").rglob("*.py"):
        if "api" in path.relative_to(ROOT / "octolib").parts[:1] or "fake" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ("pages", "get_json") and \
                    isinstance(node.value, (ast.Name, ast.Attribute)) and "client" in ast.unparse(node.value):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {ast.unparse(node)}")
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and \
                    node.value.startswith(("/campaigns/", "/lists/")) and "{" not in node.value:
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value!r}")
            if isinstance(node, ast.JoinedStr) and ast.unparse(node).startswith(("f'/campaigns/", "f'/lists/",
                                                                                 'f"/campaigns/', 'f"/lists/')):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {ast.unparse(node)}")
    assert not (ROOT / "octolib" / "sync" / "fetch.py").exists()
    assert offenders == []
