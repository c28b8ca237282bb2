"""One number, one place (issue 11): every surface derives from the rate table and shows the
same value; every view names the same sync run.

The case that found the problem: 3 unique clicks and 2 unique opens (a client that blocks
images records a click without an open). The snapshot stored 1.5 while the pages and PDFs
clipped it to 1.0. Now click-to-open counts clickers without a recorded open as openers:
here opens {a, b}, clicks {a, c, d} -> 3 ÷ (2 + 2) = 75.0 % on every surface.
"""

from __future__ import annotations

import csv
import io
import json
import math
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from octolib.api.client import EmailOctopusClient
from octolib.config import Settings
from octolib.dashboards.campaign import build_campaign_detail
from octolib.dashboards.campaigns import build_campaigns
from octolib.dashboards.data import DashboardData
from octolib.dashboards.rates import RATE_CHOICES
from octolib.fake import DEMO_API_KEY, FakeAccount, FakeServer
from octolib.metrics import METRIC_DEFINITIONS, RATES, campaign_rates_from, definitions_markdown, rate_values
from octolib.metrics.rates import RATE_NAMES, campaign_rates
from octolib.ops.export import KINDS, RATE_KEYS, export
from octolib.reports.builders.campaign_summary import KPI_RATES
from octolib.reports.kit import build, make_context, write
from octolib.reports.partners import save_partner
from octolib.store import connect
from octolib.store.data_as_of import data_as_of
from octolib.sync import run_sync
from octolib.sync.derived import clicked_without_open
from octolib.sync.documents import metric_rates

pypdf = pytest.importorskip("pypdf")

COUNTS = {"sent": 10, "delivered": 10, "opened": 2, "clicked": 3, "bounced": 0, "bounced_hard": 0,
          "bounced_soft": 0, "unsubscribed": 0, "spam_complaints": 0}
ROOT = Path(__file__).resolve().parents[1]


# -- the table reaches every surface --------------------------------------------------------

def test_every_surface_lists_every_rate_of_the_table():
    names = list(RATES)
    assert list(RATE_NAMES) == names
    assert [c.name for c in RATE_CHOICES] == names, "dashboards' rate menus"
    assert list(KPI_RATES) == names, "report KPI table"
    assert list(RATE_KEYS) == names, "snapshot export columns"
    assert all(f"rates.{n}" in KINDS["snapshots"].columns for n in names)
    assert list(metric_rates(COUNTS)) == names, "snapshot documents"
    assert list(campaign_rates_from({k: [v] for k, v in COUNTS.items()}).rates) == names, "CampaignRates"
    assert [d.name for d in METRIC_DEFINITIONS if d.name in RATES] == names, "printed definitions"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for spec in RATES.values():
        assert f"| {spec.label} (`{spec.name}`) | {spec.formula} |" in readme, f"README row of {spec.name}"
    assert definitions_markdown().strip() in readme


def test_each_rate_is_its_rows_numerator_over_denominator():
    r = campaign_rates_from({k: [v] for k, v in COUNTS.items()} | {"clicked_without_open": [1]})
    for name, spec in RATES.items():
        num, den = spec.parts(r.counts)
        assert same(r.rate(name), num / den if den[0] > 0 else [np.nan]), name
        assert same(r.denominator(name), den), name


def same(a, b) -> bool:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and bool(np.all((a == b) | (np.isnan(a) & np.isnan(b))))


# -- no silent clipping -----------------------------------------------------------------------

def test_snapshot_and_dashboard_click_to_open_agree_and_nothing_is_clipped():
    stored = metric_rates(COUNTS)["click_to_open_rate"]
    shown = float(campaign_rates_from({k: [v] for k, v in COUNTS.items()}).click_to_open_rate[0])
    assert math.isclose(stored, shown) and stored == 1.5  # not counted yet: the disagreement shows
    with_events = dict(COUNTS, clicked_without_open=1)
    assert rate_values(with_events)["click_to_open_rate"] == 1.0  # 3 ÷ (2 + 1)


def test_clicked_without_open_counts_contacts_not_events():
    events = [{"contact_id": c, "event_type": t} for c, t in
              [("a", "opened"), ("b", "opened"), ("a", "clicked"), ("c", "clicked"), ("d", "clicked"),
               ("d", "clicked"), ("e", "bounced")]]
    assert clicked_without_open(events) == 2


def test_consistent_inputs_never_exceed_one():
    r = campaign_rates([100], [0], [0], [2], [3], [0], [0], clicked_without_open=[2])
    assert r.click_to_open_rate.tolist() == [0.75]


# -- the clicks > opens case on every surface ------------------------------------------------

def _plant_clicks_without_opens(account: FakeAccount) -> tuple[str, datetime]:
    """Rewrite one sent campaign's opens and clicks: opens {a, b}, clicks {a, c, d}."""
    now = int(account.now.timestamp())
    for camp in account._campaigns:  # noqa: SLF001 - the fake's own data, before any request
        if camp.status(now) != "sent" or camp.sent_at is None:
            continue
        bounced = {cid for _, cid, _ in camp.bounces}
        people = [cid for cid in camp.send_ids if cid not in bounced]
        if len(people) < 4 or not camp.links:
            continue
        a, b, c, d = people[:4]
        t = max(camp.send_times) + 60
        camp.opens = [(t, a), (t + 1, b)]
        camp.clicks = [(t + 10, a, 0), (t + 11, c, 0), (t + 12, d, 0)]
        account._cache.clear()  # noqa: SLF001
        return camp.id, datetime.fromtimestamp(camp.sent_at, tz=timezone.utc)
    raise AssertionError("the tiny account has no sent campaign with four recipients")


@pytest.fixture(scope="module")
def planted(tmp_path_factory, sync_into):
    """(settings, store, campaign id, sent day): the tiny account with the planted campaign,
    synced over a real socket; then a second sync that failed (wrong key)."""
    account = FakeAccount.generate(seed=7, size="tiny")
    cid, sent_at = _plant_clicks_without_opens(account)
    settings, store = sync_into(tmp_path_factory.mktemp("one-number"), account)
    save_partner(store, {"slug": "solo", "name": "Solo Partner", "campaigns": {"ids": [cid]}})
    yield settings, store, cid, sent_at.date().isoformat(), account
    store.close()


def test_the_sync_counts_clickers_without_an_open_and_snapshots_them(planted):
    _, store, cid, _, account = planted
    assert account.summary(cid)["opened"]["unique"] == 2 and account.summary(cid)["clicked"]["unique"] == 3
    doc = store.campaigns.find_one({"emailoctopus_id": cid})
    assert doc["current_metrics"]["clicked_without_open"] == 2
    snaps = list(store.campaign_metrics_snapshots.find({"campaign_id": cid}).sort("snapshot_time", 1))
    assert len(snaps) == 1, "one snapshot, written once the per-contact reports were read"
    assert snaps[-1]["metrics"]["clicked_without_open"] == 2
    assert snaps[-1]["rates"]["click_to_open_rate"] == 0.75


def test_exports_publish_the_same_rate(planted):
    _, store, cid, _, _ = planted
    out = io.StringIO()
    export(store, "snapshots", out, fmt="csv")
    rows = [r for r in csv.DictReader(io.StringIO(out.getvalue())) if r["campaign_id"] == cid]
    assert rows[-1]["rates.click_to_open_rate"] == "0.75"
    out = io.StringIO()
    export(store, "campaigns", out, fmt="jsonl")
    doc = next(json.loads(line) for line in out.getvalue().splitlines() if json.loads(line)["emailoctopus_id"] == cid)
    assert doc["current_metrics"]["clicked_without_open"] == 2


def test_dashboard_cards_show_the_same_rate(planted):
    _, store, cid, _, _ = planted
    data = DashboardData(store)
    page = build_campaign_detail(data, cid)
    assert "Click-to-open" in page.cards.value
    # the card itself (other cards, e.g. the share of bot clicks, may read 100%)
    card = page.cards.value.split('data-kpi="Click-to-open"', 1)[1].split("data-kpi=", 1)[0]
    assert "75.0%" in card and "100.0%" not in card and "150.0%" not in card
    row = next(r for r in page.comparison if r["rate"] == RATES["click_to_open_rate"].label)
    assert row["value"] == 0.75
    table = build_campaigns(data)
    i = data.campaigns().index(cid)
    assert float(data.campaigns().rates.click_to_open_rate[i]) == 0.75
    assert table is not None


def test_pdf_kpi_and_csv_appendix_show_the_same_rate_and_name_the_dashboards_run(planted, tmp_path):
    settings, store, cid, day, _ = planted
    ctx = make_context(settings, store, "campaign_summary", "solo", date_from=day, date_to=day)
    doc = build(ctx)
    files = write(doc, tmp_path, ctx)
    rows = list(csv.DictReader((tmp_path / "campaign_summary.csv").open(encoding="utf-8")))
    kpi = {r["row"]: r["value"] for r in rows if r["table"] == "kpis" and r["column"] == "This period"}
    assert kpi["Click-to-open rate"].startswith("75.0%"), kpi
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(str(tmp_path / "campaign_summary.pdf")).pages)
    assert "75.0%" in text
    # the PDF and the dashboard rest on the same run
    run = data_as_of(store)
    assert run.run_id and ctx.sync_run_id == run.run_id and files
    assert run.run_id in text.replace("\n", "")
    assert run.run_id[-6:] in DashboardData(store).sync.describe()


def test_after_a_failed_run_pdf_and_dashboard_still_name_the_same_run(planted, tmp_path):
    settings, store, _, day, account = planted
    before = data_as_of(store)
    with FakeServer(account, api_key=DEMO_API_KEY, rate_per_s=1000, burst=1000) as srv:
        client = EmailOctopusClient("wrong-key-0000", srv.base_url, rate_per_s=1000, burst=1000)
        assert run_sync(store, client, progress=False).status == "failed"
    run = data_as_of(store)
    assert run.run_id != before.run_id and run.status == "failed"
    header = DashboardData(store).sync.describe()
    assert run.run_id[-6:] in header and "failed" in header
    ctx = make_context(settings, store, "campaign_summary", "solo", date_from=day, date_to=day)
    assert ctx.sync_run_id == run.run_id
    write(build(ctx), tmp_path, ctx)
    text = "".join(p.extract_text() for p in pypdf.PdfReader(str(tmp_path / "campaign_summary.pdf")).pages)
    assert run.run_id in text.replace("\n", "")


def test_a_store_synced_before_the_count_gets_it_from_its_stored_events(planted):
    settings, store, cid, _, account = planted
    store.campaigns.update_many({}, {"$unset": {"current_metrics.clicked_without_open": ""}})
    with FakeServer(account, api_key=DEMO_API_KEY, rate_per_s=1000, burst=1000) as srv:
        client = EmailOctopusClient(DEMO_API_KEY, srv.base_url, rate_per_s=1000, burst=1000)
        result = run_sync(store, client, only=["campaigns"], progress=False)
    assert result.status == "succeeded"
    doc = store.campaigns.find_one({"emailoctopus_id": cid})
    assert doc["current_metrics"]["clicked_without_open"] == 2  # from the events, not 0


def test_inputs_that_still_disagree_are_stored_as_they_are_and_warned_about(tmp_path):
    from octolib.sync.derived import finish_campaigns

    store = connect(Settings(data_dir=tmp_path))
    store.ensure_indexes()
    # the summary says 3 unique clicks and 2 unique opens, but no per-contact events were stored
    store.campaigns.insert_one({"emailoctopus_id": "c1", "status": "sent", "current_metrics": dict(COUNTS)})
    counts, warnings = finish_campaigns(store, ["c1"], datetime(2026, 11, 1, tzinfo=timezone.utc), "run-1")
    assert counts.inserted == 1
    snap = store.campaign_metrics_snapshots.find_one({"campaign_id": "c1"})
    assert snap["rates"]["click_to_open_rate"] == 1.5 and snap["metrics"]["clicked_without_open"] == 0
    # two warnings: the reconciliation (rows vs summary, octolib.sync.reconcile) and the rate above 100 %
    assert len(warnings) == 2 and all("c1" in w for w in warnings)
    assert "differ by 3" in warnings[0] and "click_to_open_rate" in warnings[1]
    store.close()
