"""``list_performance``: the partner's lists.

Growth, net change per month, churn, engagement per list and the field configuration.
The partner's lists are exactly the ones its definition names (``campaigns.list_ids``, see
:func:`octolib.reports.partners.partner_lists`): a campaign that also went to another list
never brings that list in, so no other partner's list is shown. A rule-only partner has no
lists and gets a report that says so. Computed through ``octolib.metrics`` only.

Definitions used here (``octolib.metrics.lists``): a contact joined at its creation unless
still pending, and left at its last update if unsubscribed (the API has no unsubscribe
date); churn in a period is who left over everyone on the list during it. Engagement
("engaged in the last N days": an open or a click) is measured at the data's as-of time,
because the store keeps each contact's latest engagement only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import numpy as np

from octolib.charts.campaigns import comparison_figure
from octolib.charts.time import list_growth_figure
from octolib.metrics.aggregate import pooled_rate
from octolib.metrics.display import MISSING, format_rate
from octolib.metrics.engagement import last_engaged_at
from octolib.metrics.lists import (
    Growth,
    ListCounts,
    ListEngagement,
    list_counts,
    list_engagement,
    list_growth,
    membership_times,
)
from octolib.metrics.ratios import safe_ratio
from octolib.metrics.rates import campaign_rates_from
from octolib.reports import narrative
from octolib.reports.builders.common import (
    assemble,
    SMALL_NOTE,
    count_cell,
    definitions_for,
    in_period,
    rate_cell,
    settled_rows,
    take,
)
from octolib.reports.document import Block, Paragraph, ReportDocument, Table
from octolib.reports.partners import Partner, partner_lists
from octolib.reports.period import Period
from octolib.reports.sections import Nothing, SectionSpec, plan
from octolib.store import campaign_arrays, contact_arrays

if TYPE_CHECKING:
    from octolib.reports.kit import ReportContext
    from octolib.store import Store

__all__ = ["build", "prepare", "ListData", "SECTIONS", "key_figures", "summary", "partner_list_ids", "period_flow"]

WINDOWS = (30, 90, 180)


def partner_list_ids(partner: Partner, store: Store) -> list[str]:
    """The partner's lists that the store knows, in the definition's order.

    Exactly :func:`~octolib.reports.partners.partner_lists` (never widened from the
    campaigns: a campaign sent to the partner's list and another partner's list leaves the
    other list out); ids the store does not hold are dropped.
    """
    wanted = list(partner_lists(partner))
    if not wanted:
        return []
    known = {str(d["emailoctopus_id"]) for d in store.lists.find({"emailoctopus_id": {"$in": wanted}},
                                                                   {"_id": 0, "emailoctopus_id": 1})}
    return [i for i in wanted if i in known]


def period_flow(growth: Growth, period: Period) -> dict[str, float]:
    """Joined, left, subscribers at the start and end, net change and churn in ``period``,
    from a daily :class:`~octolib.metrics.lists.Growth`."""
    start = np.asarray(growth.start, dtype="datetime64[D]")
    lo, hi = np.datetime64(period.start, "D"), np.datetime64(period.end, "D")
    inside = (start >= lo) & (start <= hi)
    before = start < lo
    at_start = int(growth.subscribers[before][-1]) if before.any() else 0
    joined = int(np.asarray(growth.joined_count)[inside].sum())
    left = int(np.asarray(growth.left_count)[inside].sum())
    upto = start <= hi
    at_end = int(growth.subscribers[upto][-1]) if upto.any() else 0
    churn = float(safe_ratio(left, at_start + joined))
    return {"at_start": at_start, "joined": joined, "left": left, "net": joined - left, "at_end": at_end,
            "churn": churn}


def _months_in(growth: Growth, period: Period) -> Growth:
    start = np.asarray(growth.start, dtype="datetime64[D]")
    lo = np.datetime64(period.start.replace(day=1), "D")
    hi = np.datetime64(period.end, "D")
    m = (start >= lo) & (start <= hi)
    return Growth(start[m], growth.unit, growth.joined_count[m], growth.left_count[m], growth.net_change[m],
                  growth.subscribers[m], growth.churn_rate[m])


@dataclass(frozen=True)
class ListData:
    """What every part of the list report reads, computed once by :func:`prepare`.

    ``list_ids`` are the partner's lists the store holds (``lists`` their documents,
    ``names`` their printed names); ``contacts`` every contact of them with ``joined``/``left``
    times; ``flow``/``flow_before`` the flows of all the lists together in the period and the
    previous one, ``per_list`` each list's in the period; ``counts`` subscribed, unsubscribed
    and pending now; ``engaged`` the engagement per list for each of :data:`WINDOWS`.
    """

    ctx: ReportContext
    list_ids: list[str]
    lists: dict[str, dict[str, Any]]
    names: dict[str, str]
    contacts: dict[str, np.ndarray]
    joined: np.ndarray
    left: np.ndarray
    as_of: datetime
    flow: dict[str, float]
    flow_before: dict[str, float]
    per_list: dict[str, dict[str, float]]
    counts: ListCounts
    engaged: dict[int, ListEngagement]

    def count(self, arr: np.ndarray, lid: str) -> str:
        """List ``lid``'s entry of ``arr`` (a column of :attr:`counts`), "0" when it has no contact."""
        cidx = {str(k): i for i, k in enumerate(self.counts.list_id)}
        return count_cell(int(arr[cidx[lid]])) if lid in cidx else "0"

    @property
    def engaged_index(self) -> dict[str, int]:
        """Where each list is in the :attr:`engaged` arrays."""
        return {str(k): i for i, k in enumerate(self.engaged[WINDOWS[0]].list_id)}


def build(ctx: ReportContext, sections: Sequence[str] | None = None) -> ReportDocument:
    """The list performance of ``ctx.partner`` for ``ctx.period``: the KPI table and the
    narrative, then ``sections`` (names of :data:`SECTIONS`, in the order given; all by default)."""
    chosen = plan(SECTIONS, sections, ctx.template.name)
    return assemble(ctx, definitions_for(["churn_rate", "engaged_rate", "open_rate", "delivered_count"]), chosen, prepare, key_figures, summary)


def prepare(ctx: ReportContext) -> ListData | Nothing:
    """The partner's lists, their contacts, flows and engagement; :class:`Nothing` when the
    partner has no list the store holds."""
    partner, period, previous, tz = ctx.partner, ctx.period, ctx.previous, ctx.tz
    list_ids = partner_list_ids(partner, ctx.store)
    list_docs = {d["emailoctopus_id"]: d for d in ctx.store.lists.find(
        {"emailoctopus_id": {"$in": list_ids}}, {"_id": 0, "emailoctopus_id": 1, "name": 1, "fields": 1,
                                                 "double_opt_in": 1, "counts": 1})}
    list_ids = [i for i in list_ids if i in list_docs]
    if not list_ids:
        return Nothing(f"No list belongs to {partner.name}: a partner's lists are the ones its definition "
                       "names in list_ids, and it names none that the synced data holds. Add list_ids to "
                       "the partner in partners.yml to report on its lists.")
    contacts = contact_arrays(ctx.store, list_ids)
    joined, left = membership_times(contacts["status"], contacts["created_at"], contacts["last_updated_at"])
    as_of = ctx.data_as_of or datetime.combine(period.end, datetime.min.time(), timezone.utc)
    as_of64 = np.datetime64(as_of.astimezone(timezone.utc).replace(tzinfo=None), "s")
    daily = list_growth(joined, left, "day", tz)
    per_list: dict[str, dict[str, float]] = {}
    for lid in list_ids:
        m = contacts["list_id"] == lid
        per_list[lid] = period_flow(list_growth(joined[m], left[m], "day", tz), period)
    last = last_engaged_at(contacts["last_opened_at"], contacts["last_clicked_at"])
    return ListData(
        ctx=ctx, list_ids=list_ids, lists=list_docs, names={i: str(list_docs[i].get("name") or i) for i in list_ids},
        contacts=contacts, joined=joined, left=left, as_of=as_of, flow=period_flow(daily, period),
        flow_before=period_flow(daily, previous), per_list=per_list,
        counts=list_counts(contacts["list_id"], contacts["status"]),
        engaged={w: list_engagement(contacts["list_id"], contacts["status"], last, as_of64, w) for w in WINDOWS},
    )


# -- the head: key figures and the narrative ---------------------------------------------------

def key_figures(d: ListData) -> Table:
    """The lists' flows this period and the previous one: start, joined, left, net, end, churn."""
    now, before, period, previous = d.flow, d.flow_before, d.ctx.period, d.ctx.previous
    n = len(d.list_ids)
    return Table("kpis", "Key figures", ["Metric", "This period", "Previous period"], [
        ["Lists", count_cell(n), count_cell(n)],
        ["Subscribers at the start", count_cell(now["at_start"]), count_cell(before["at_start"])],
        ["Joined", count_cell(now["joined"]), count_cell(before["joined"])],
        ["Left (unsubscribed)", count_cell(now["left"]), count_cell(before["left"])],
        ["Net change", _signed(now["net"]), _signed(before["net"])],
        ["Subscribers at the end", count_cell(now["at_end"]), count_cell(before["at_end"])],
        ["Churn rate", rate_cell(now["churn"], now["at_start"] + now["joined"]),
         rate_cell(before["churn"], before["at_start"] + before["joined"])],
    ], numeric=(1, 2), notes=[f"This period: {period.label()} ({period.start} to {period.end}); previous period: "
                              f"{previous.label()} ({previous.start} to {previous.end}).",
                              SMALL_NOTE.replace("delivered emails", "people on the lists")],
        col_widths=(2.4, 1.3, 1.3))


def summary(d: ListData) -> list[str]:
    """The narrative: net change, churn against the previous period, the most engaged list."""
    now, before, period, names, list_ids = d.flow, d.flow_before, d.ctx.period, d.names, d.list_ids
    comparison = period.comparison_name()
    lists_word = narrative.plural(len(list_ids), "list")
    direction = "grew by" if now["net"] > 0 else ("shrank by" if now["net"] < 0 else "held steady at")
    amount = f"{abs(int(now['net'])):,} net subscribers" if now["net"] else f"{now['at_end']:,} subscribers"
    sentences = [
        f"{d.ctx.partner.name}'s {lists_word} {direction} {amount} in {period.label()} "
        f"({now['joined']:,} joined, {now['left']:,} left), ending with {now['at_end']:,} subscribers.",
    ]
    n_now, n_before = now["at_start"] + now["joined"], before["at_start"] + before["joined"]
    sentences.append(narrative.rate_sentence(narrative.RateChange("Churn", now["churn"], before["churn"], int(n_now),
                                                                  int(n_before)), comparison, format_rate)
                     .replace("delivered emails", "people on the lists").replace("delivered email", "person on the lists")
                     .replace("nothing was delivered", "nobody was on the lists"))
    e90, eidx = d.engaged[90], d.engaged_index
    valid = [(float(e90.engaged_rate[eidx[lid]]), lid) for lid in list_ids
             if lid in eidx and not np.isnan(e90.engaged_rate[eidx[lid]])]
    if valid:
        rate, lid = max(valid)
        lead = f"The most engaged list is “{names[lid]}”:" if len(list_ids) > 1 else f"Of “{names[lid]}”,"
        sentences.append(f"{lead} {format_rate(rate)} of its subscribers opened or clicked in the last 90 days."
                         if len(list_ids) > 1 else
                         f"{lead} {format_rate(rate)} of the subscribers opened or clicked in the last 90 days.")
    return sentences


# -- the sections ------------------------------------------------------------------------------

def lists_section(d: ListData) -> list[Block]:
    """Each list's counts and flows in the period, and the net change per month."""
    names, per_list, counts = d.names, d.per_list, d.counts
    overview = Table("lists", "Lists", ["List", "Subscribed now", "Unsubscribed", "Pending", "Joined in period",
                                        "Left in period", "Net change", "Churn rate"], [
        [names[lid], d.count(counts.subscribed, lid), d.count(counts.unsubscribed, lid),
         d.count(counts.pending, lid), count_cell(per_list[lid]["joined"]), count_cell(per_list[lid]["left"]),
         _signed(per_list[lid]["net"]),
         rate_cell(per_list[lid]["churn"], per_list[lid]["at_start"] + per_list[lid]["joined"])]
        for lid in d.list_ids
    ], numeric=(1, 2, 3, 4, 5, 6, 7), notes=[SMALL_NOTE.replace("delivered emails", "people on the list"),
                                             "Counts now are from the contacts as of the last sync."],
        col_widths=(2.6, 1.2, 1.2, 1.0, 1.1, 1.1, 1.1, 1.3))

    monthly = _months_in(list_growth(d.joined, d.left, "month", d.ctx.tz), d.ctx.period)
    month_rows = [[str(monthly.start[i])[:7], count_cell(int(monthly.joined_count[i])),
                   count_cell(int(monthly.left_count[i])), _signed(int(monthly.net_change[i])),
                   count_cell(int(monthly.subscribers[i])),
                   rate_cell(monthly.churn_rate[i], int(monthly.subscribers[i] - monthly.net_change[i]
                                                        + monthly.joined_count[i]))]
                  for i in range(len(monthly))]
    month_table = Table("monthly", "Net change per month (all the partner's lists)",
                        ["Month", "Joined", "Left", "Net change", "Subscribers at month end", "Churn rate"],
                        month_rows, numeric=(1, 2, 3, 4, 5), notes=[SMALL_NOTE.replace("delivered emails",
                                                                                      "people on the lists")])
    growth_fig = list_growth_figure(monthly, "Joined, left and subscribers per month")
    return [overview, d.ctx.chart("growth", "Joined, left and subscribers per month", growth_fig), month_table]


def engagement_section(d: ListData) -> list[Block]:
    """Each list's engaged share over :data:`WINDOWS` and the open rate of the period's
    settled campaigns sent to it."""
    ctx, names, eidx = d.ctx, d.names, d.engaged_index
    mine = campaign_arrays(ctx.store, ctx.campaign_filter())
    sent_now = in_period(mine, ctx.period)
    sent_now = take(sent_now, settled_rows(ctx, sent_now))  # in-progress campaigns have no final rate yet
    delivered = np.asarray(campaign_rates_from(sent_now).delivered_count)
    eng_rows = []
    for lid in d.list_ids:
        row = [names[lid], d.count(d.counts.subscribed, lid)]
        for w in WINDOWS:
            e = d.engaged[w]
            row.append(rate_cell(e.engaged_rate[eidx[lid]], int(e.subscribed_count[eidx[lid]])) if lid in eidx
                       else MISSING)
        to_list = np.array([lid in ids for ids in sent_now["list_ids"]], dtype=bool)
        if to_list.any():
            row += [count_cell(int(to_list.sum())),
                    rate_cell(pooled_rate(sent_now["opened"][to_list], delivered[to_list]),
                              int(delivered[to_list].sum()))]
        else:
            row += ["0", MISSING]
        eng_rows.append(row)
    engagement_table = Table(
        "engagement", "Engagement per list",
        ["List", "Subscribed", *[f"Engaged {w} d" for w in WINDOWS], "Campaigns in period", "Open rate in period"],
        eng_rows, numeric=(1, 2, 3, 4, 5, 6),
        notes=[f"Engaged N d: subscribed contacts with an open or a click in the N days before "
               f"{d.as_of:%Y-%m-%d %H:%M} UTC (the data's as-of time). Open rate: the partner's settled campaigns of "
               "the period sent to the list (a campaign sent to two lists counts for each), pooled over "
               "their whole sends.", SMALL_NOTE])
    e90 = d.engaged[90]
    eng_fig = comparison_figure([names.get(str(k), str(k)) for k in e90.list_id], e90.engaged_rate,
                                "Subscribers engaged in the last 90 days", value_name="Engaged (90 days)")
    return [ctx.chart("engaged_90", "Subscribers engaged in the last 90 days", eng_fig,
                      height=max(300, 120 + 28 * len(d.list_ids))), engagement_table]


def fields_section(d: ListData) -> list[Block]:
    """Each list's custom fields (tag, type, label, fallback) and whether double opt-in is on."""
    field_rows = []
    for lid in d.list_ids:
        for f in d.lists[lid].get("fields") or []:
            fallback = f.get("fallback")
            field_rows.append([d.names[lid], str(f.get("tag", "")), str(f.get("type", "")), str(f.get("label", "")),
                               MISSING if fallback in (None, "") else str(fallback)])
    fields_table = Table("fields", "Field configuration", ["List", "Tag", "Type", "Label", "Fallback"], field_rows,
                         col_widths=(2.2, 1.6, 1.4, 1.8, 1.4))
    doi = [f"{d.names[lid]}: double opt-in {'on' if d.lists[lid].get('double_opt_in') else 'off'}"
           for lid in d.list_ids]
    return [fields_table, Paragraph("; ".join(doi) + ".", "small")]


#: The sections of the list performance report, in print order: the one list the template
#: registry and custom reports read.
SECTIONS: tuple[SectionSpec[ListData], ...] = (
    SectionSpec("lists", "Lists and growth", lists_section),
    SectionSpec("engagement", "Engagement", engagement_section),
    SectionSpec("fields", "Field configuration", fields_section),
)


def _signed(n: float) -> str:
    n = int(n)
    return f"{n:+,}" if n else "±0"
