"""Partner reports end to end: the tiny account synced over HTTP, templates run by papermill,
PDFs read back and checked against numbers computed here from the account itself.

One module-scoped batch keeps the kernel starts few (each papermill run is a fresh kernel).
"""

from __future__ import annotations

import io
import json
import re
import shutil
import struct
import zlib
from datetime import datetime, timezone
from pathlib import Path

import nbformat
import pytest

from octolib.errors import ConfigError
from octolib.fake import DEMO_API_KEY, FakeAccount
from octolib.reports.document import EMAIL_PATTERN
from octolib.reports.kit import build, make_context
from octolib.reports.partners import save_partner
from octolib.reports.pdf import build_pdf, creation_date
from octolib.reports.runner import ReportRequest, check_parameters, list_reports, run_batch
from octolib.reports.templates import DEFAULT_TEMPLATES_DIR, TEMPLATES

pypdf = pytest.importorskip("pypdf")

PASSWORD = "Tentacle-Garden-42"  # an analyst's password, stored (hashed) in the same database
PERIOD = ("2026-01-01", "2026-10-31")


def tiny_png(path: Path) -> Path:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(b"\x00\x0b\x6e\x4f")) + chunk(b"IEND", b""))
    path.write_bytes(png)
    return path


@pytest.fixture(scope="module")
def synced(tmp_path_factory, sync_into):
    """(settings, store, account): the tiny account synced into a fresh embedded store, two partners."""
    from octolib.auth.users import UserStore

    data = tmp_path_factory.mktemp("reports-data")
    account = FakeAccount.generate(seed=7, size="tiny")
    settings, store = sync_into(data, account)
    UserStore(store.users, store.audit_log).create("ana", PASSWORD, email="ana@octopus.example")
    list_ids = [lst["id"] for lst in account.lists]
    save_partner(store, {
        "slug": "events", "name": "Events Partner Ltd", "brand_colour": "#0B6E4F",
        "logo": str(tiny_png(data / "logo.png")), "campaigns": {"list_ids": list_ids},
        "default_range": {"from": PERIOD[0], "to": PERIOD[1]}, "recipients": ["ops@events.example"],
        "note": "Every rate here rests on few emails; contact ops@events.example with questions.",
    })
    save_partner(store, {
        "slug": "quiet", "name": "Quiet Co", "campaigns": {"name_pattern": "^Survey"},
        "default_range": {"from": "2020-01-01", "to": "2020-03-31"},
    })
    yield settings, store, account
    store.close()


@pytest.fixture(scope="module")
def batch(synced):
    settings, store, _ = synced
    requests = [ReportRequest("events", t) for t in TEMPLATES] + [ReportRequest("quiet", "campaign_summary")]
    seen: list[tuple[int, int]] = []
    result = run_batch(settings, requests, store=store, workers=2, user="tester",
                       progress=lambda done, total, r: seen.append((done, total)))
    result.progress_calls = seen  # type: ignore[attr-defined]
    return result


def pdf_text(path: Path) -> tuple[str, int]:
    reader = pypdf.PdfReader(str(path))
    return "\n".join(page.extract_text() for page in reader.pages), len(reader.pages)


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def by(batch, partner: str, template: str):
    return next(r for r in batch.results if r.request.partner == partner and r.request.template == template)


def expected_kpis(account: FakeAccount) -> dict[str, str]:
    """The events partner's period KPIs, computed from the fake account (not from the store).

    A campaign still ``sending`` is in progress (``octolib.metrics.maturity``): listed in the
    report but not in its KPIs. The account's clock is a month before the sync's as-of time, so
    every ``sent`` campaign is settled."""
    lo = datetime(2026, 1, 1, tzinfo=timezone.utc)
    hi = datetime(2026, 11, 1, tzinfo=timezone.utc)
    sent = delivered = opened = clicked = n = 0
    for c in account.campaigns:
        if not c.get("sent_at") or c["status"] != "sent":
            continue
        at = datetime.fromisoformat(c["sent_at"])
        s = account.summary(c["id"])
        if not (lo <= at < hi) or s["sent"] <= 0:
            continue
        n += 1
        sent += s["sent"]
        d = s["sent"] - s["bounced"]["hard"] - s["bounced"]["soft"]
        delivered += d
        opened += s["opened"]["unique"]
        clicked += s["clicked"]["unique"]
    mark = lambda k, den: f"{100 * k / den:.1f}%" + (f" † (n={den})" if den < 50 else "")  # noqa: E731
    return {"Campaigns sent": str(n), "Emails sent": f"{sent:,}", "Delivered": f"{delivered:,}",
            "Open rate": mark(opened, delivered), "Click rate": mark(clicked, delivered)}


def csv_rows(path: Path) -> list[dict[str, str]]:
    import csv

    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_every_template_runs_and_the_batch_is_recorded(batch, synced):
    _, store, _ = synced
    n = len(TEMPLATES) + 1  # every template for "events", and the quiet partner's summary
    assert [r.status for r in batch.results] == ["succeeded"] * n, batch.summary()
    assert batch.progress_calls[-1] == (n, n)
    for r in batch.results:
        assert r.pdf.is_file() and r.csv.is_file() and r.notebook.is_file()
        assert r.notebook.parent == r.pdf.parent  # the executed notebook is kept beside its PDF
    manifest = json.loads(batch.manifest.read_text())
    assert manifest["succeeded"] == n and manifest["failed"] == 0
    assert {(m["partner"], m["template"]) for m in manifest["reports"]} == {
        (r.request.partner, r.request.template) for r in batch.results}
    run = store.sync_runs.find_one({"status": "succeeded"}, sort=[("finished_at", -1)])
    docs = list_reports(store, partner="events")
    assert {d["template"] for d in docs} == set(TEMPLATES)
    for d in docs:
        assert d["status"] == "succeeded" and d["user"] == "tester" and d["duration_s"] > 0
        assert d["sync_run_id"] == str(run["_id"])
        assert abs((d["data_as_of"].replace(tzinfo=timezone.utc)
                    - run["finished_at"].replace(tzinfo=timezone.utc)).total_seconds()) < 0.01
        assert d["period"] == {"from": PERIOD[0], "to": PERIOD[1], "tz": "UTC"}
        assert d["template_version"] == TEMPLATES[d["template"]].version
        assert (Path(d["files_root"]) / d["files"]["pdf"]).is_file()


def test_campaign_summary_kpis_match_the_account(batch, synced):
    _, _, account = synced
    r = by(batch, "events", "campaign_summary")
    text, pages = pdf_text(r.pdf)
    expected = expected_kpis(account)
    kpi = {row["row"]: row["value"] for row in csv_rows(r.csv) if row["table"] == "kpis" and row["column"] == "This period"}
    for label, value in expected.items():
        assert kpi[label] == value, label
        assert squash(label + value) in squash(text), f"{label} {value} not printed in the PDF"
    assert f"Page 1 of {pages}" in text and f"Page {pages} of {pages}" in text
    assert json.loads(r.pdf.with_suffix(".json").read_text())["pages"] == pages
    assert pages >= 4  # cover + campaigns + rates over time + links + definitions
    cover = pypdf.PdfReader(str(r.pdf)).pages[0].extract_text()
    assert "Events Partner Ltd" in cover and "Campaign summary" in cover
    assert "Every rate here rests on few emails" in cover  # the analyst note travels with the report
    assert "†" in text  # the tiny account's rates rest on fewer than 50 emails: marked


#: Templates with numbers on this store: the segment analysis needs linked customers, which
#: this store has none of (it says so instead; tests/test_customers_link.py covers its numbers).
WITH_NUMBERS = [t for t in TEMPLATES if t != "segment_analysis"]


@pytest.mark.parametrize("template", WITH_NUMBERS)
def test_every_number_of_the_csv_is_in_the_pdf(batch, template):
    r = by(batch, "events", template)
    text = squash(pdf_text(r.pdf)[0])
    rows = csv_rows(r.csv)
    assert rows, "the appendix has the PDF's numbers"
    for row in rows:
        assert squash(row["value"]) in text, row
    info = json.loads(r.pdf.with_suffix(".json").read_text())
    assert info["template_version"] == TEMPLATES[template].version


def test_the_notebook_shows_the_same_numbers(batch):
    r = by(batch, "events", "campaign_summary")
    nb = nbformat.read(str(r.notebook), as_version=4)
    shown = "".join(
        out.get("data", {}).get("text/html", "") if isinstance(out.get("data", {}).get("text/html", ""), str)
        else "".join(out["data"]["text/html"])
        for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", []))
    for row in csv_rows(r.csv):
        if row["table"] == "kpis":
            assert row["value"].replace("&", "&amp;") in shown
    if shutil.which("chromium") or shutil.which("chromium-browser"):  # charts need a browser to become images
        assert any(out.get("data", {}).get("image/png") for c in nb.cells for out in c.get("outputs", []))


def test_a_partner_without_campaigns_in_the_period_gets_a_short_clear_pdf(batch):
    r = by(batch, "quiet", "campaign_summary")
    text, pages = pdf_text(r.pdf)
    assert pages == 1
    assert "Quiet Co" in text
    assert "had no campaign sent in Q1 2020" in text
    assert json.loads(r.pdf.with_suffix(".json").read_text())["empty"] is True


def test_no_secret_and_no_contact_address_in_any_output(batch, synced):
    _, _, account = synced
    emails = {c["email_address"].lower() for rows in account.contacts.values() for c in rows}
    assert emails
    forbidden = [DEMO_API_KEY, PASSWORD, "ops@events.example", *emails]
    checked = 0
    for path in sorted(batch.directory.rglob("*")):
        if not path.is_file():
            continue
        raw = path.read_bytes().decode("utf-8", "replace")
        readable = pdf_text(path)[0] if path.suffix == ".pdf" else raw
        for text in (raw.lower(), readable.lower()):
            for secret in forbidden:
                assert secret.lower() not in text, f"{secret!r} found in {path.name}"
        if path.suffix in (".pdf", ".csv"):
            assert not EMAIL_PATTERN.search(readable), f"an address in {path.name}"
        checked += 1
    assert checked >= 4 * 4 + 1  # pdf, csv, json, notebook per report, and the manifest


def test_building_twice_from_the_same_data_gives_identical_bytes(batch, synced):
    settings, store, _ = synced
    r = by(batch, "events", "campaign_summary")
    made = r.pdf.read_bytes()
    created = creation_date(made)
    assert created is not None and created.year >= 2026  # the real date, not ReportLab's 2000-01-01
    again = build_pdf(build(make_context(settings, store, "campaign_summary", "events")), created=created)
    assert again == made  # computed and printed in the kernel, charts from another Chromium


@pytest.mark.parametrize("template, expected", [
    ("engagement_analysis", "had no campaign sent in Q1 2020"),
    ("list_performance", "No list belongs to Drafts Only"),
])
def test_the_other_templates_say_clearly_when_there_is_nothing(synced, template, expected):
    settings, store, account = synced
    draft = next(c["id"] for c in account.campaigns if not c.get("sent_at"))
    save_partner(store, {"slug": "drafts", "name": "Drafts Only", "campaigns": {"ids": [draft]},
                         "default_range": {"from": "2020-01-01", "to": "2020-03-31"}})
    try:
        report = build(make_context(settings, store, template, "drafts"))
    finally:
        store.partners.delete_one({"slug": "drafts"})
    assert report.is_empty and expected in report.empty_message
    pages = [p.extract_text() for p in pypdf.PdfReader(io.BytesIO(build_pdf(report))).pages]
    assert len(pages) == 1 and expected in pages[0] and "Drafts Only" in pages[0]


def broken_templates(tmp_path: Path) -> Path:
    """The real templates, with one cell of list_performance that fails (the fixture notebook)."""
    folder = tmp_path / "templates"
    shutil.copytree(DEFAULT_TEMPLATES_DIR, folder)
    path = folder / "list_performance.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    cell = nbformat.v4.new_code_cell("raise RuntimeError('this template cell is broken on purpose')")
    cell.id = "broken-cell"
    cell.metadata["octopus"] = {"name": "broken-cell"}
    nb.cells.insert(4, cell)
    nbformat.write(nb, str(path))
    return folder


def test_a_broken_cell_fails_that_report_names_the_cell_and_the_batch_goes_on(synced, tmp_path):
    settings, store, _ = synced
    requests = [ReportRequest("events", "list_performance"), ReportRequest("quiet", "campaign_summary")]
    result = run_batch(settings, requests, store=store, workers=2, templates_dir=broken_templates(tmp_path))
    broken, fine = result.results
    assert broken.status == "failed" and fine.status == "succeeded"
    assert "broken-cell" in broken.failed_cell
    assert "RuntimeError: this template cell is broken on purpose" in broken.error
    assert broken.notebook.is_file()  # the executed notebook, with the traceback, is kept
    assert "events/list_performance" in result.summary() and "broken-cell" in result.summary()
    doc = store.reports.find_one({"report_id": broken.report_id})
    assert doc["status"] == "failed" and "broken-cell" in doc["failed_cell"]
    manifest = json.loads(result.manifest.read_text())
    assert manifest["failed"] == 1 and manifest["succeeded"] == 1


def test_unknown_parameters_are_errors_before_any_kernel_starts(synced):
    settings, store, _ = synced
    path = DEFAULT_TEMPLATES_DIR / "campaign_summary.ipynb"
    with pytest.raises(ConfigError, match="no parameter 'colour'"):
        check_parameters(path, {"partner": "events", "colour": "red"})
    before = store.reports.count_documents({})
    with pytest.raises(ConfigError, match="no parameter 'colour'"):
        run_batch(settings, [ReportRequest("events", "campaign_summary", parameters={"colour": "red"})],
                  store=store, images=False)
    assert store.reports.count_documents({}) == before  # a run that never started leaves no history


def test_a_bad_date_fails_the_whole_batch_before_any_run_is_recorded(synced):
    settings, store, _ = synced
    before = store.reports.count_documents({})
    requests = [ReportRequest("events", t, "2025-13-45", "2025-12-31") for t in TEMPLATES]
    with pytest.raises(ConfigError) as exc:
        run_batch(settings, requests, store=store, images=False)
    assert "'2025-13-45'" in str(exc.value) and "YYYY-MM-DD" in str(exc.value)
    assert "\n" not in str(exc.value)
    assert store.reports.count_documents({}) == before


def test_an_unknown_partner_or_template_is_refused_up_front(synced):
    from octolib.reports.runner import requests_for

    _, store, _ = synced
    with pytest.raises(ConfigError, match="known partners: events, quiet"):
        requests_for(store, ["nobody"])
    with pytest.raises(ConfigError, match="unknown report template"):
        requests_for(store, ["events"], ["pie_chart"])
    assert len(requests_for(store)) == 2 * len([t for t in TEMPLATES.values() if t.in_all])  # --all: not the segments


def test_templates_declare_literal_typed_commented_parameters_and_no_secret():
    from octolib.reports.runner import RUNNER_PARAMETERS, template_parameters
    from octolib.reports.templates import CUSTOM_PARAMETERS

    for name in TEMPLATES:
        path = DEFAULT_TEMPLATES_DIR / f"{name}.ipynb"
        nb = nbformat.read(str(path), as_version=4)
        assert "parameters" in nb.cells[0].metadata.get("tags", []), f"{name}: parameters cell first"
        params = template_parameters(path)
        assert set(params) == set(TEMPLATES[name].parameters) >= set(RUNNER_PARAMETERS) | set(CUSTOM_PARAMETERS)
        for p in params.values():
            # the custom report's (issue 13) default to None, "not chosen": papermill cannot read a
            # "list | None" annotation, so they are untyped and their comment says the type
            typed = p["inferred_type_name"] == "str" or (p["name"] in CUSTOM_PARAMETERS and p["default"] == "None")
            assert typed and p["help"], p
            assert not re.search(r"key|password|secret|token|uri", p["name"], re.I)
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "committed without outputs"


def test_list_reports_newest_first(batch, synced):
    _, store, _ = synced
    docs = list_reports(store, limit=100)
    starts = [d["started_at"] for d in docs]
    assert starts == sorted(starts, reverse=True)


