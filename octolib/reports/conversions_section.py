"""The "Conversions" section of a partner report: goal clicks and uploaded conversions.

Printed only when the partner has goal links or an outcome upload (:func:`octolib.conversions.has_conversions`),
so a partner who never gave either does not get an empty table. The numbers come from
:func:`octolib.conversions.conversion_table` (definitions in :mod:`octolib.metrics.conversions`)
for the report's campaigns only: the partner's campaigns, and outcomes uploaded for this
partner, never another's. The table is a :class:`~octolib.reports.document.Table`, so the
CSV appendix carries the same cells.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from octolib.conversions import conversion_table, has_conversions
from octolib.metrics.conversions import conversion_rate, goal_rate
from octolib.metrics.display import format_count
from octolib.reports.builders.common import count_cell, rate_cell
from octolib.reports.document import Block, Paragraph, Table

if TYPE_CHECKING:
    from octolib.reports.kit import ReportContext

__all__ = ["conversions_blocks", "value_cell"]

NO_API_DATA = ("EmailOctopus reports no conversions, so these come from the partner's own sources: clicks on its "
               "goal links, and the outcome files it gave us.")


def value_cell(value: float) -> str:
    """A conversion value as printed: two decimals, thousands separated, no currency (the
    file's own unit).

    >>> value_cell(1234.5), value_cell(0.0)
    ('1,234.50', '0.00')
    """
    return f"{value:,.2f}"


def conversions_blocks(ctx: ReportContext, campaign_ids: Sequence[str], names: Sequence[str]) -> list[Block] | None:
    """The section's blocks for the report's campaigns (``names`` aligned with ``campaign_ids``);
    None when the partner has neither goal links nor uploads."""
    if not has_conversions(ctx.store, ctx.partner):
        return None
    table = conversion_table(ctx.store, ctx.partner, campaign_ids, window_days=ctx.settings.conversion_window_days)
    name_of = dict(zip(campaign_ids, names))
    columns = ["Campaign", "Delivered"]
    if table.has_goal_links:
        columns += ["Goal clicks", "Goal rate"]
    if table.has_uploads:
        columns += ["Conversions", "Conversion rate", "Value"]
    rows: list[list[str]] = []

    def cells(delivered: int, goals: int, g_rate: float, conversions: int, c_rate: float, value: float) -> list[str]:
        out = [count_cell(delivered)]
        if table.has_goal_links:
            out += [count_cell(goals), rate_cell(g_rate, delivered)]
        if table.has_uploads:
            out += [count_cell(conversions), rate_cell(c_rate, delivered), value_cell(value)]
        return out

    for i, cid in enumerate(table.campaign_ids):
        rows.append([name_of.get(str(cid), str(cid)),
                     *cells(int(table.delivered[i]), int(table.goal_clicks[i]), float(table.goal_rate[i]),
                            int(table.conversion_count[i]), float(table.conversion_rate[i]),
                            float(table.conversion_value[i]))])
    delivered, goals, conversions = int(table.delivered.sum()), int(table.goal_clicks.sum()), int(table.conversion_count.sum())
    rows.append(["All campaigns", *cells(delivered, goals, float(goal_rate(goals, delivered)), conversions,
                                         float(conversion_rate(conversions, delivered)),
                                         float(table.conversion_value.sum()))])
    notes = [NO_API_DATA]
    if table.has_goal_links:
        notes.append("Goal clicks: unique clicks on links matching the partner's goal link patterns ("
                     + ", ".join(ctx.partner.goal_links) + "), summed over those links; goal rate = goal clicks ÷ "
                     "delivered.")
    if table.has_uploads:
        notes.append(f"Conversions: outcomes from the partner's files credited to the last campaign the contact "
                     f"clicked within {table.window_days:g} days before the outcome; conversion rate = conversions ÷ "
                     f"delivered; value = the sum of the values given ({format_count(int(table.valued_count.sum()))} "
                     "of the conversions had one).")
        notes.append(f"Of {format_count(table.outcomes)} outcomes uploaded, {format_count(table.unattributed)} followed "
                     f"no click within the window and {format_count(table.elsewhere)} were credited to campaigns "
                     "outside this period.")
    blocks: list[Block] = [Table("conversions", "Conversions by campaign", columns, rows,
                                 numeric=tuple(range(1, len(columns))), notes=notes)]
    if table.has_uploads:
        files = "; ".join(f"{u.filename} ({u.uploaded_at:%Y-%m-%d}, {format_count(u.rows)} outcomes)"
                          for u in table.uploads)
        blocks.append(Paragraph(f"Outcome files: {files}."))
    return blocks
