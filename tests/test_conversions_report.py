"""The Conversions section of a partner's PDF and CSV (issue 13): present only with goal
links or uploads, and never showing another partner's conversions.

Built against the tiny account synced over HTTP (``conftest.synced_template``): "harbour"
owns the list whose contacts clicked, "canyon" the other list. Canyon's upload is planted
with a value no real outcome has (and its own file name), and a goal link; the harbour PDF and
CSV must contain neither.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from octolib.config import Settings
from octolib.conversions import import_outcomes
from octolib.fake import FakeAccount
from octolib.fake.outcomes import sample_outcomes_csv
from octolib.reports.kit import build, make_context, write
from octolib.reports.partners import save_partner
from octolib.store import Store

pypdf = pytest.importorskip("pypdf")

PERIOD = ("2026-01-01", "2026-10-31")
PLANTED_VALUE = "98765.43"


@pytest.fixture(scope="module")
def store(synced_copy: Callable[[str], tuple[Settings, Store]]) -> Iterator[tuple[Settings, Store]]:
    settings, st = synced_copy("conv-report")
    lists = sorted(d["emailoctopus_id"] for d in st.lists.find({}, {"emailoctopus_id": 1}))
    account = FakeAccount.generate(seed=7, size="tiny")
    # harbour: the list with clicks (the tiny account's clicks are all on one list)
    by_clicks = sorted(lists, key=lambda lst: -len(sample_outcomes_csv(account, [lst], n=50)))
    mine, other = by_clicks
    save_partner(st, {"slug": "harbour", "name": "Harbour Partner", "campaigns": {"list_ids": [mine]},
                      "goal_links": ["*shop.example.com/sale*"]})
    save_partner(st, {"slug": "canyon", "name": "Canyon Partner", "campaigns": {"list_ids": [other]},
                      "goal_links": ["*canyon-secret.example/*"]})
    save_partner(st, {"slug": "plain", "name": "Plain Partner", "campaigns": {"list_ids": [mine]}})
    import_outcomes(st, "harbour", sample_outcomes_csv(account, [mine], n=30), filename="harbour-outcomes.csv",
                    actor="ana")
    canyon_email = st.contacts.find_one({"list_id": other})["email"]
    import_outcomes(st, "canyon", f"email,time,value\n{canyon_email},2026-09-10T10:00:00Z,{PLANTED_VALUE}\n",
                    filename="canyon-secret-outcomes.csv", actor="ana")
    yield settings, st
    st.close()


def _written(store: tuple[Settings, Store], partner: str, out: Path) -> tuple[str, str]:
    settings, st = store
    ctx = make_context(settings, st, "campaign_summary", partner, *PERIOD)
    info = write(build(ctx), out, ctx)
    pdf_text = "\n".join(page.extract_text() for page in pypdf.PdfReader(out / info["files"]["pdf"]).pages)
    return pdf_text, (out / info["files"]["csv"]).read_text(encoding="utf-8")


def test_the_section_is_in_the_pdf_and_csv_with_only_the_partners_conversions(store, tmp_path):
    pdf, appendix = _written(store, "harbour", tmp_path)
    assert "Conversions by campaign" in pdf and "EmailOctopus reports no conversions" in pdf
    assert "harbour-outcomes.csv" in pdf
    rows = [r for r in csv.DictReader(io.StringIO(appendix)) if r["table"] == "conversions"]
    columns = {r["column"] for r in rows}
    assert {"Goal clicks", "Goal rate", "Conversions", "Conversion rate", "Value"} <= columns
    total = {r["column"]: r["value"] for r in rows if r["row"] == "All campaigns"}
    assert int(total["Conversions"]) > 0 and int(total["Goal clicks"]) > 0
    for text in (pdf, appendix):
        assert PLANTED_VALUE not in text and "98,765.43" not in text
        assert "canyon" not in text.lower()


def test_the_section_is_left_out_without_goal_links_or_uploads(store, tmp_path):
    pdf, appendix = _written(store, "plain", tmp_path)
    assert "Conversions by campaign" not in pdf and "Campaigns in the period" in pdf
    assert ",conversions," not in appendix
