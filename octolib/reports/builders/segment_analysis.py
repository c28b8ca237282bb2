"""``segment_analysis``: which kinds of customer the partner's (or a project's) campaigns reached and moved.

The partner's campaigns of the period (narrowed to one energy project when the template's
``project`` parameter names one), their recipients on the partner's own lists, linked to
customers; per customer field (bands of a number, categories) the open, click,
click-to-open and unsubscribe rates with 95 % Wilson intervals and a chi-square test in
words. Every number comes from :func:`octolib.customers.analysis.analyse`, as on the
Segments page.

Privacy: only groups of at least ``OCTO_SEGMENT_MIN_GROUP`` contacts are printed (smaller
ones are merged into "Other" or left out); the PDF and its CSV appendix carry segment labels
and rates, never a customer's own value, id or address.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timezone
from typing import TYPE_CHECKING

from octolib.charts.segments import segment_figure
from octolib.customers.analysis import PRIVACY_NOTE, SegmentAnalysis, analyse, test_sentence
from octolib.customers.segments_data import Selection
from octolib.customers.source import SourceConfig, open_source
from octolib.metrics.rate_specs import RATES
from octolib.metrics.segments import SEGMENT_RATES
from octolib.reports.builders.common import assemble, count_cell, definitions_for
from octolib.reports.document import Block, Paragraph, Table
from octolib.reports.sections import Nothing, SectionSpec, plan

if TYPE_CHECKING:
    from octolib.reports.document import ReportDocument
    from octolib.reports.kit import ReportContext

__all__ = ["build", "prepare", "SegmentData", "SECTIONS", "key_figures", "summary"]


@dataclass(frozen=True)
class SegmentData:
    """The analysis of the partner's (project's) campaigns of the period."""

    ctx: ReportContext
    analysis: SegmentAnalysis
    project: str  # project id, "" for every campaign of the partner
    project_name: str


def build(ctx: ReportContext, sections: Sequence[str] | None = None) -> ReportDocument:
    """The segment analysis of ``ctx.partner`` (and ``ctx.extras["project"]``) for ``ctx.period``."""
    chosen = plan(SECTIONS, sections, ctx.template.name)
    return assemble(ctx, definitions_for(list(SEGMENT_RATES)), chosen, prepare, key_figures, summary)


def prepare(ctx: ReportContext) -> SegmentData | Nothing:
    source = open_source(ctx.store, SourceConfig.from_settings(ctx.settings))
    project = str(ctx.extras.get("project") or "")
    project_name = ""
    if project:
        doc = source.projects.find_one({"_id": project}, {"name": 1})
        if doc is None:
            return Nothing(f"There is no energy project {project!r}, so there is nothing to analyse.")
        project_name = str(doc.get("name") or project)
    start, end = ctx.period.bounds_utc()
    selection = Selection(partner=ctx.partner.slug, project_id=project,
                          start=start.astimezone(timezone.utc), end=end.astimezone(timezone.utc))
    analysis = analyse(source, selection, min_group=ctx.settings.segment_min_group)
    whose = f"{ctx.partner.name}'s campaigns" + (f" for {project_name}" if project else "")
    if not analysis.campaigns:
        return Nothing(f"{whose} had no campaign sent in {ctx.period.label()}, so there are no segments to analyse.")
    if source.mapping() is None:
        return Nothing("No customer data is linked yet (octo customers import, then octo link), so there are no "
                       "segments to analyse.")
    if not any(t.labels for t in analysis.tables):
        return Nothing(f"{whose} in {ctx.period.label()} reached too few linked customers: no group reaches the "
                       f"minimum of {analysis.min_group} contacts, so nothing can be shown.")
    return SegmentData(ctx=ctx, analysis=analysis, project=project, project_name=project_name)


def key_figures(d: SegmentData) -> Table:
    a = d.analysis
    rows = [["Campaigns", count_cell(len(a.campaigns))],
            ["Deliveries to contacts linked to a customer", count_cell(a.rows)],
            ["Deliveries to contacts without a customer (left out)", count_cell(a.unlinked)],
            ["Smallest group shown (contacts)", count_cell(a.min_group)]]
    if d.project:
        rows.insert(0, ["Energy project", d.project_name])
    notes = [PRIVACY_NOTE.format(n=a.min_group)]
    if a.estimated:
        notes.append("Recipients are estimated from list membership at the send time.")
    return Table("kpis", "Key figures", ["Figure", d.ctx.period.label()], rows, numeric=(1,), notes=notes,
                 col_widths=(3.2, 1.4))


def summary(d: SegmentData) -> list[str]:
    sentences = [f"{len(d.analysis.campaigns)} campaign(s) reached {d.analysis.rows:,} linked contacts in "
                 f"{d.ctx.period.label()}."]
    for table in d.analysis.tables:
        if table.labels:
            sentences.append(test_sentence(table, "click_rate") + ".")
    return sentences


def _pct(value: float) -> str:
    return "—" if value != value else f"{value:.1%}"


def tests_section(d: SegmentData) -> list[Block]:
    """Every field x rate: does it differ between segments, in words."""
    rows = []
    for table in d.analysis.tables:
        if not table.labels:
            continue
        for rate in SEGMENT_RATES:
            test = table.tests.get(rate)
            rows.append([table.field.replace("_", " "), RATES[rate].label,
                         test.words if test else "no test (one group, or nobody / everybody did it)"])
    return [Table("tests", "Do the segments differ?", ["Customer field", "Rate", "Answer"], rows,
                  notes=["Chi-square test of independence between segment and outcome; p is the chance of a "
                         "difference at least this large if the segments did not differ."],
                  col_widths=(1.4, 1.4, 3.6))]


def segments_section(d: SegmentData) -> list[Block]:
    """Per customer field: the click rate by segment (chart) and every rate with its interval."""
    blocks: list[Block] = []
    for table in d.analysis.tables:
        if not table.labels:
            continue
        name = table.field.replace("_", " ")
        blocks.append(d.ctx.chart(f"seg_{table.field}", f"Click rate by {name}",
                                  segment_figure(table, "click_rate", f"Click rate by {name}"), height=360))
        rows = []
        for i, label in enumerate(table.labels):
            rows.append([label, count_cell(int(table.contacts[i]))]
                        + [f"{_pct(float(table.rates[r][i]))} ({_pct(float(table.low[r][i]))}–{_pct(float(table.high[r][i]))})"
                           for r in SEGMENT_RATES])
        notes = ["Each rate with its 95% Wilson interval in brackets."]
        if table.suppressed_contacts:
            notes.append(f"{table.suppressed_contacts:,} contacts in groups too small to show are left out.")
        blocks.append(Table(f"segments_{table.field}", f"Rates by {name}",
                            ["Segment", "Contacts", *[RATES[r].label for r in SEGMENT_RATES]], rows,
                            numeric=(1, 2, 3, 4, 5), notes=notes, col_widths=(1.5, 0.8, 1.1, 1.1, 1.1, 1.1)))
    return blocks


def method_section(d: SegmentData) -> list[Block]:
    return [Paragraph(PRIVACY_NOTE.format(n=d.analysis.min_group) + " Contacts are linked to customers by their "
                      "address (or a customer-id field); contacts without a customer, or whose address matches "
                      "two customers, are left out.", "small")]


SECTIONS: tuple[SectionSpec[SegmentData], ...] = (
    SectionSpec("tests", "Do the segments differ?", tests_section),
    SectionSpec("segments", "Rates by segment", segments_section),
    SectionSpec("method", "How this was computed", method_section),
)
