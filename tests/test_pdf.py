"""The PDF builder, the report document and the narrative, on hand-built documents (fast)."""

from __future__ import annotations

import io
import math
from datetime import date, datetime, timezone

import pytest

from octolib.reports.builders.common import SMALL_MARK, delta_cell, rate_cell
from octolib.reports.document import (
    Chart,
    Paragraph,
    Provenance,
    ReportDocument,
    Section,
    Table,
    appendix_csv,
    scrub,
)
from octolib.reports.narrative import RateChange, flag_sentences, rate_sentence, volume_sentence
from octolib.reports.pdf import _column_widths, build_pdf, creation_date
from octolib.reports.period import Period

pypdf = pytest.importorskip("pypdf")

PCT = lambda x: f"{100 * x:.1f}%"  # noqa: E731 - the formatter the narrative is given


def doc(rows: int = 5, empty: str = "", colour: str = "#1F6FEB", note: str = "Moved to Thursdays.") -> ReportDocument:
    prov = Provenance("campaign_summary", "1.0", datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc), "run-42",
                      [("Open rate", "unique opens ÷ delivered", "Share of delivered emails opened.")])
    kpis = Table("kpis", "Key figures", ["Metric", "This period", "Previous period"],
                 [["Open rate", "38.2%", "31.0%"], ["Delivered", "12,345", "10,002"]], numeric=(1, 2))
    table = Table("campaigns", "Campaigns", ["Campaign", "Delivered", "Open rate"],
                  [[f"Campaign {i}", f"{100 + i:,}", f"{30 + i}.0%"] for i in range(rows)], numeric=(1, 2))
    return ReportDocument(
        template="campaign_summary", title="Campaign summary", partner_slug="acme", partner_name="Acme Outdoor",
        period=Period(date(2026, 7, 1), date(2026, 9, 30)), provenance=prov, brand_colour=colour,
        narrative=["Open rate rose from 31.0% to 38.2% against the previous quarter."], note=note,
        kpis=kpis, sections=[Section("Campaigns", [table, Chart("c", "A chart", png=None, error="no renderer"),
                                                  Paragraph("Plain words.")])],
        empty_message=empty,
    )


def read(pdf: bytes) -> tuple[list[str], int]:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return [p.extract_text() for p in reader.pages], len(reader.pages)


def test_same_document_same_bytes():
    assert build_pdf(doc(), reproducible=True) == build_pdf(doc(), reproducible=True)
    made = datetime(2026, 11, 30, 15, 4, 5, tzinfo=timezone.utc)
    assert build_pdf(doc(), created=made) == build_pdf(doc(), created=made)


def test_different_data_different_bytes():
    other = doc()
    other.kpis.rows[0][1] = "38.3%"
    assert build_pdf(other, reproducible=True) != build_pdf(doc(), reproducible=True)


def test_the_metadata_carries_the_real_creation_date():
    before = datetime.now(timezone.utc).replace(microsecond=0)
    pdf = build_pdf(doc())
    meta = pypdf.PdfReader(io.BytesIO(pdf)).metadata
    made = meta.creation_date.astimezone(timezone.utc)
    assert before <= made <= datetime.now(timezone.utc) and made.year != 2000
    assert creation_date(pdf) == made
    # what a byte-for-byte comparison does: rebuild with the first one's date
    assert build_pdf(doc(), created=made) == pdf
    assert pypdf.PdfReader(io.BytesIO(build_pdf(doc(), reproducible=True))).metadata.creation_date.year == 2000


def test_cover_page_numbers_and_footer_provenance():
    pages, n = read(build_pdf(doc(rows=120)))
    assert n >= 3  # cover, a long table over two pages, definitions
    assert "Acme Outdoor" in pages[0] and "Q3 2026" in pages[0] and "Moved to Thursdays." in pages[0]
    for i, text in enumerate(pages, start=1):
        assert f"Page {i} of {n}" in text
        assert "Data as of 2026-11-01 12:00 UTC (sync run run-42)" in text
        assert "template campaign_summary v1.0" in text
        assert f"metric definitions on page {n}" in text
    assert "unique opens ÷ delivered" in pages[-1]  # the metric definitions
    assert "Campaign 119" in "".join(pages)  # the table's last row made it
    assert "This chart could not be drawn (no renderer)" in "".join(pages)


def test_an_empty_report_is_one_clear_page():
    pages, n = read(build_pdf(doc(empty="Acme had no campaign sent in Q3 2026.")))
    assert n == 1
    assert "Acme had no campaign sent in Q3 2026." in pages[0]
    assert "Campaign 0" not in pages[0]  # no tables of nothing


def test_a_light_brand_colour_gets_dark_header_text():
    from octolib.reports.pdf import _ink_on

    assert _ink_on("#FFFF00") == "#000000" and _ink_on("#1F4E79") == "#FFFFFF"
    assert build_pdf(doc(colour="#FFFF00"))  # builds


def test_email_addresses_never_reach_the_document():
    d = doc(note="Ask ana@acme.example or bob%40acme.example")
    d.sections[0].blocks.append(Table("links", "Links", ["Destination", "Clicks"],
                                      [["https://x.example/?e=carl@mail.example", "3"]]))
    pages, _ = read(build_pdf(d))
    text = "".join(pages) + appendix_csv(d).decode()
    assert "@" not in text and "%40" not in text
    assert "[address removed]" in text


def test_scrub_leaves_ordinary_text_alone():
    assert scrub("38.2% of 1,200 (n=16) — Q3 2026") == "38.2% of 1,200 (n=16) — Q3 2026"


def test_the_appendix_has_every_printed_cell_once():
    d = doc()
    lines = appendix_csv(d).decode().splitlines()
    assert lines[0] == "partner,template,period_from,period_to,table,row,column,value"
    assert "acme,campaign_summary,2026-07-01,2026-09-30,kpis,Open rate,This period,38.2%" in lines
    cells = sum(len(t.rows) * (len(t.columns) - 1) for t in d.tables())
    assert len(lines) == 1 + cells


def test_a_row_with_the_wrong_number_of_cells_is_refused():
    with pytest.raises(ValueError, match="3 columns"):
        Table("t", "T", ["a", "b", "c"], [["1", "2"]])


def test_columns_fit_the_page_and_headers_are_not_broken():
    from reportlab.pdfbase.pdfmetrics import stringWidth

    from octolib.reports.pdf import FONT_BOLD, _register_fonts

    _register_fonts()
    t = Table("t", "T", ["Campaign", "Delivered", "Unsubscribed", "Open rate"],
              [["A rather long campaign name that wraps", "1,234", "12", "25.0% † (n=16)"]], numeric=(1, 2, 3),
              col_widths=(6, 0.5, 0.5, 0.5))
    widths = _column_widths(t, 495.0)
    assert math.isclose(sum(widths), 495.0)
    assert widths[2] >= stringWidth("Unsubscribed", FONT_BOLD, 8)


# -- small numbers -------------------------------------------------------------------------

def test_small_numbers_are_shown_with_their_count_and_marked():
    assert rate_cell(0.25, 16) == f"25.0% {SMALL_MARK} (n=16)"
    assert rate_cell(0.25, 50) == "25.0%"
    assert rate_cell(float("nan"), 0) == "—"
    assert delta_cell(0.3, 0.2, 16, 1000) == "—"  # no change claimed on 16 emails
    assert delta_cell(0.3, 0.2, 1000, 1000) == "+10.0 pp"


# -- narrative ---------------------------------------------------------------------------

@pytest.mark.parametrize("cur, prev, n_cur, n_prev, expected", [
    (0.382, 0.31, 900, 800, "Open rate rose from 31.0% to 38.2% against the previous quarter."),
    (0.25, 0.31, 900, 800, "Open rate fell from 31.0% to 25.0% against the previous quarter."),
    (0.3101, 0.3099, 900, 800, "Open rate held steady at 31.0% against the previous quarter."),
    (0.4, float("nan"), 900, 0, "Open rate was 40.0%; the previous quarter has no delivered campaign to compare with."),
    (0.4, 0.3, 12, 800, "Open rate was 40.0% on only 12 delivered emails, too few to compare reliably."),
    (float("nan"), 0.3, 0, 800, "Open rate cannot be computed: nothing was delivered in this period."),
])
def test_rate_sentences_follow_the_numbers(cur, prev, n_cur, n_prev, expected):
    assert rate_sentence(RateChange("Open rate", cur, prev, n_cur, n_prev), "the previous quarter", PCT) == expected


def test_the_account_median_is_named_when_known():
    s = rate_sentence(RateChange("Click rate", 0.05, 0.04, 900, 800, median=0.045), "the previous month", PCT)
    assert s == "Click rate rose from 4.0% to 5.0% against the previous month (account median 4.5%)."


def test_volume_and_flags():
    assert volume_sentence("Acme", "Q3 2026", "the previous quarter", 1, 1, 0, 0) == (
        "Acme sent 1 campaign in Q3 2026, delivered to 1 recipient (none in the previous quarter).")
    assert flag_sentences([("a bounce rate above 2.0%", ["May"])]) == ["1 campaign had a bounce rate above 2.0%: “May”."]
    many = flag_sentences([("x", [str(i) for i in range(7)])])[0]
    assert many.endswith("and others.") and many.startswith("7 campaigns")
