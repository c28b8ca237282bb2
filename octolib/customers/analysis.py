"""One segment analysis, the same for the page, the PDF and the CSV: selection in, tables out.

Everything a surface shows comes from :class:`SegmentAnalysis`; its tables hold only groups
of at least the minimum size (:mod:`octolib.metrics.segments`), and :func:`analysis_rows`
(the CSV and PDF rows) carries segment labels (bands, categories) and rates, never a
customer's own value or id.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from octolib.customers.segments_data import Selection, campaign_outcomes, segment_tables
from octolib.customers.source import CustomerSource
from octolib.metrics.rate_specs import RATES
from octolib.metrics.segments import SEGMENT_RATES, SegmentTable

__all__ = ["SegmentAnalysis", "analyse", "analysis_rows", "analysis_csv", "test_sentence", "PRIVACY_NOTE"]

PRIVACY_NOTE = ("Groups of fewer than {n} contacts are never shown: they are merged into \"Other\", "
                "or left out when \"Other\" is still smaller than {n}.")


@dataclass
class SegmentAnalysis:
    """What was analysed and the per-field tables."""

    selection: Selection
    campaigns: list[dict[str, Any]] = field(default_factory=list)
    rows: int = 0  # linked (recipient, campaign) pairs
    unlinked: int = 0
    estimated: bool = True
    tables: list[SegmentTable] = field(default_factory=list)
    min_group: int = 10

    def table(self, name: str) -> SegmentTable | None:
        return next((t for t in self.tables if t.field == name), None)

    def describe(self) -> str:
        n = len(self.campaigns)
        text = (f"{n} campaign{'s' if n != 1 else ''}, {self.rows:,} deliveries to linked contacts "
                f"({self.unlinked:,} to contacts without a customer left out)")
        if self.estimated and self.rows:
            text += "; recipients estimated from list membership (OCTO_SYNC_SENT_EVENTS=1 records them exactly)"
        return text


def analyse(source: CustomerSource, selection: Selection, *, min_group: int = 10) -> SegmentAnalysis:
    """Run the analysis for ``selection`` (a campaign, a project, a partner, a period)."""
    outcomes = campaign_outcomes(source, selection)
    tables = segment_tables(source, outcomes, min_group=min_group)
    return SegmentAnalysis(selection=selection, campaigns=outcomes.campaigns, rows=len(outcomes.customer_ids),
                           unlinked=outcomes.unlinked, estimated=outcomes.estimated, tables=tables,
                           min_group=min_group)


def test_sentence(table: SegmentTable, rate: str) -> str:
    """"Click rate by annual_kwh: very likely a real difference (p = 0.0012)"."""
    test = table.tests.get(rate)
    label = RATES[rate].label
    if test is None:
        return f"{label} by {table.field.replace('_', ' ')}: no test (fewer than two groups, or nobody / everybody did it)"
    return f"{label} by {table.field.replace('_', ' ')}: {test.words}"


def analysis_rows(analysis: SegmentAnalysis) -> list[dict[str, Any]]:
    """Flat rows (field, segment, contacts, each rate with its interval, the test's words)."""
    out: list[dict[str, Any]] = []
    for table in analysis.tables:
        for row in table.rows():
            flat: dict[str, Any] = {"field": table.field, **row}
            for rate in SEGMENT_RATES:
                test = table.tests.get(rate)
                flat[f"{rate}_p_value"] = test.p_value if test else None
            out.append(flat)
    return out


def analysis_csv(analysis: SegmentAnalysis) -> str:
    """The rows as CSV (rates as ratios; p-values as numbers); only groups shown on the page."""
    rows = analysis_rows(analysis)
    buf = io.StringIO()
    if not rows:
        return ""
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if v is None or (isinstance(v, float) and v != v) else v) for k, v in row.items()})
    return buf.getvalue()


