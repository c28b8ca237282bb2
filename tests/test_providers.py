"""Mailbox providers: the domain table, the grouping (pure numpy), and the deliverability
section of the campaign detail and lists pages over a synced store whose contacts are given
real-world domains (the demo account's addresses are all at reserved example domains)."""

from __future__ import annotations

import numpy as np

from octolib.metrics.providers import OTHER, provider_counts, provider_of, provider_table
from octolib.store import Store

DOMAINS = ["gmail.com", "hotmail.co.uk", "yahoo.com", "icloud.com", "web.de", "acme-industries.example"]
EXPECTED = ["gmail", "microsoft", "yahoo_aol", "apple", "gmx_webde", OTHER]


def test_the_table_names_the_big_providers_and_each_domain_once() -> None:
    t = provider_table()
    assert t.keys[-1] == OTHER and "gmail" in t.keys and t.reviewed
    assert provider_of([f"x@{d}" for d in DOMAINS]).tolist() == EXPECTED
    assert provider_of(["X@GOOGLEMAIL.COM", "y@me.com", "z@mail.ru", "q@qq.com", "n@orange.fr"]).tolist() == [
        "gmail", "apple", "mailru_yandex", "china", "france"]
    assert provider_of(["", "no-at-sign", None]).tolist() == [OTHER] * 3


def test_counts_and_rates_per_campaign_and_provider() -> None:
    c = provider_counts(["a"] * 4 + ["b"] * 2, ["gmail", "gmail", "gmail", "other", "gmail", "other"],
                        ["a", "a", "a", "a", "b"], ["gmail", "gmail", "other", "gmail", "other"],
                        ["opened", "clicked", "bounced", "complained", "opened"])
    rows = {(str(k), str(p)): i for i, (k, p) in enumerate(zip(c.campaign_id, c.provider))}
    assert set(rows) == {("a", "gmail"), ("a", "other"), ("b", "gmail"), ("b", "other")}
    i = rows[("a", "gmail")]
    assert (c.counts["sent"][i], c.counts["delivered"][i], c.counts["opened"][i], c.counts["clicked"][i],
            c.counts["spam_complaints"][i]) == (3, 3, 1, 1, 1)
    r = c.rates()
    assert r["open_rate"][i] == 1 / 3 and r["complaint_rate"][i] == 1 / 3
    j = rows[("a", "other")]
    assert r["bounce_rate"][j] == 1.0 and np.isnan(r["open_rate"][j])  # nothing delivered: undefined, not 0
    # an event with no recipient behind it is counted, not dropped: the rate shows the disagreement
    k = rows[("b", "other")]
    assert r["open_rate"][k] == 1.0


def test_recipients_are_the_stored_sends_when_there_are_any_else_the_lists_at_send_time() -> None:
    from octolib.metrics.providers import provider_view

    t = np.datetime64("2026-03-01T09:00", "s")
    campaigns = {"campaign_id": np.array(["c"], dtype=object), "sent": np.array([3]),
                 "sent_at": np.array([t]), "list_ids": np.array([("l",)], dtype=object)}
    contacts = {"contact_id": np.array(["a", "b", "c", "d"], dtype=object), "list_id": np.array(["l"] * 4, dtype=object),
                "status": np.array(["subscribed", "subscribed", "pending", "subscribed"], dtype=object),
                "created_at": np.array([t - 60, t - 60, t - 60, t + 60]),  # d joined after the send
                "email": np.array(["a@gmail.com", "b@web.de", "c@gmail.com", "d@gmail.com"], dtype=object)}
    opened = {"campaign_id": np.array(["c"], dtype=object), "contact_id": np.array(["a"], dtype=object),
              "event_type": np.array(["opened"], dtype=object)}
    estimated = provider_view(["c"], campaigns, contacts, opened)
    assert not estimated.exact and estimated.recipients == 2 and estimated.summary_sent == 3
    assert dict(zip(estimated.counts.provider.tolist(), estimated.counts.counts["sent"].tolist())) == {
        "gmail": 1, "gmx_webde": 1}
    sends = {k: np.concatenate([v, np.array(x, dtype=object)]) for (k, v), x in
             zip(opened.items(), (["c", "c"], ["a", "d"], ["sent", "sent"]))}
    exact = provider_view(["c"], campaigns, contacts, sends)
    assert exact.exact and exact.recipients == 2
    gmail = exact.counts.provider.tolist().index("gmail")
    assert exact.counts.counts["sent"].tolist() == [2] and exact.counts.counts["opened"][gmail] == 1


def test_the_pages_group_a_campaigns_recipients_by_provider(synced_store: Store) -> None:
    from octolib.dashboards import build_campaign_detail, build_lists
    from octolib.dashboards.data import DashboardData

    contacts = list(synced_store.contacts.find({}, {"_id": 1, "email": 1}))
    for n, doc in enumerate(contacts):
        local = str(doc["email"]).split("@")[0]
        synced_store.contacts.update_one({"_id": doc["_id"]}, {"$set": {"email": f"{local}@{DOMAINS[n % 6]}"}})
    data = DashboardData(synced_store, cache_dir=None)
    camp = max(synced_store.campaigns.find({"status": "sent"}), key=lambda d: d["current_metrics"]["sent"])
    cid = camp["emailoctopus_id"]
    page = build_campaign_detail(data, cid)
    html = page.providers_html.value
    assert 'data-table="providers"' in html and "Gmail" in html and "Other / business domains" in html
    from octolib.dashboards.providers import provider_view

    view = provider_view(data, [cid])
    opened = synced_store.engagement_events.count_documents({"campaign_id": cid, "event_type": "opened"})
    assert int(view.counts.counts["opened"].sum()) == opened == camp["current_metrics"]["opened"]
    # without stored sends, recipients are estimated from list membership, and the page says how far
    # the estimate is from the summary's sent (never silently scaled to match)
    assert not view.exact and view.recipients == int(view.counts.counts["sent"].sum())
    assert view.summary_sent == camp["current_metrics"]["sent"]
    assert f"{view.recipients} recipients found against {view.summary_sent} sent" in html
    assert "estimated from list membership" in html
    assert set(view.counts.provider.tolist()) <= set(EXPECTED)
    lists = build_lists(data)
    assert 'data-table="providers"' in lists.providers_html.value and "Summed over" in lists.providers_html.value


def test_the_pdf_section_is_printed_only_when_asked_and_sums_to_the_recipients(synced_store: Store,
                                                                                tmp_path) -> None:
    import pypdf

    from octolib.config import Settings
    from octolib.reports.kit import build, make_context, write
    from octolib.reports.partners import save_partner

    store = synced_store
    for n, doc in enumerate(store.contacts.find({}, {"_id": 1, "email": 1})):
        store.contacts.update_one({"_id": doc["_id"]},
                                  {"$set": {"email": f"{str(doc['email']).split('@')[0]}@{DOMAINS[n % 6]}"}})
    list_id = next(c["list_ids"][0] for c in store.campaigns.find({"status": "sent"}) if len(c["list_ids"]) == 1)
    save_partner(store, {"slug": "alpha", "name": "Alpha", "campaigns": {"list_ids": [list_id]},
                         "default_range": {"from": "2025-01-01", "to": "2026-10-31"}})
    ctx = make_context(Settings(data_dir=tmp_path), store, "campaign_summary", "alpha", "2025-01-01", "2026-10-31")
    assert "providers" not in [t.key for t in build(ctx).tables()]  # off by default
    doc = build(ctx, ["campaigns", "providers"])
    table = next(t for t in doc.tables() if t.key == "providers")
    assert [r[0] for r in table.rows][0] == "Gmail" and table.rows[-1][0] == "Other / business domains"
    write(doc, tmp_path / "out", ctx)
    text = " ".join(p.extract_text() for p in pypdf.PdfReader(str(tmp_path / "out" / "campaign_summary.pdf")).pages)
    assert "Deliverability by mailbox provider" in " ".join(text.split())


def test_the_pdf_reads_the_same_numbers_as_the_pages_without_dashboard_code(synced_store: Store) -> None:
    from octolib.dashboards.data import DashboardData
    from octolib.dashboards.providers import provider_view
    from octolib.reports.providers import report_provider_view
    from octolib.store.readers import campaign_arrays

    store = synced_store
    for n, doc in enumerate(store.contacts.find({}, {"_id": 1, "email": 1})):
        store.contacts.update_one({"_id": doc["_id"]},
                                  {"$set": {"email": f"{str(doc['email']).split('@')[0]}@{DOMAINS[n % 6]}"}})
    sent = campaign_arrays(store, {"status": "sent"})
    ids = sent["campaign_id"].tolist()
    page = provider_view(DashboardData(store, cache_dir=None), ids)
    pdf = report_provider_view(store, sent)
    assert len(pdf.counts) > 1 and pdf.recipients > 0
    assert (pdf.exact, pdf.recipients, pdf.summary_sent) == (page.exact, page.recipients, page.summary_sent)
    assert pdf.counts.provider.tolist() == page.counts.provider.tolist()
    for key, values in page.counts.counts.items():
        assert pdf.counts.counts[key].tolist() == values.tolist(), key


def test_reports_do_not_import_dashboard_code() -> None:
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "octolib" / "reports"
    offenders = [p.relative_to(root).as_posix() for p in root.rglob("*.py")
                 if re.search(r"^\s*(from|import) octolib\.dashboards", p.read_text(), flags=re.M)]
    assert offenders == []
