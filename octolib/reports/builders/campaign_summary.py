"""``campaign_summary``: the partner's campaigns in the period.

KPIs against the partner's own previous period and the account median, one row per
campaign, rates over time, the best campaign, and link performance with destinations
grouped (tracking parameters stripped). Computed through ``octolib.metrics`` only.

Definitions used here:

- period KPIs are *pooled*: summed counts, then the rate definitions of
  ``octolib.metrics`` applied to the sums (a 10-recipient test send weighs 10, not 1);
- "account median" is the median of the per-campaign rate over every campaign of the
  account sent in the same period (the partner's included);
- "best campaign" is the highest open rate among campaigns with at least 50 delivered;
- campaigns still in progress (``octolib.metrics.maturity``: sending, or younger than
  ``OCTO_SETTLED_HOURS`` at the data's as-of time) are listed and marked but left out of
  KPIs, medians, the ranking, flags and trends, in this period and the previous one;
- the "Lists" column names only the partner's own lists (``partner_lists``) and counts
  the others, so no other partner's list is named.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from octolib.charts.campaigns import comparison_figure, link_bars_figure
from octolib.charts.time import rate_over_time_figure
from octolib.metrics.aggregate import Ranking, summarize, top_bottom
from octolib.metrics.display import format_rate
from octolib.metrics.flags import FlagThresholds, campaign_flags
from octolib.metrics.links import link_performance
from octolib.metrics.rate_specs import RATES
from octolib.metrics.ratios import is_small
from octolib.metrics.rates import CampaignRates, campaign_rates_from
from octolib.metrics.timeseries import rate_over_time
from octolib.reports import narrative
from octolib.reports.builders.common import (
    assemble,
    IN_PROGRESS,
    MISSING,
    SMALL,
    SMALL_NOTE,
    CampaignSet,
    count_cell,
    definitions_for,
    delta_cell,
    in_period,
    in_progress_note,
    lists_cell,
    local_day,
    rate_cell,
    settled_rows,
    take,
)
from octolib.reports.document import Block, ReportDocument, Table
from octolib.reports.partners import partner_lists
from octolib.reports.period import Period
from octolib.reports.sections import Nothing, SectionSpec, plan
from octolib.store import campaign_arrays, link_rows

if TYPE_CHECKING:
    from octolib.reports.kit import ReportContext

__all__ = ["build", "prepare", "SummaryData", "SECTIONS", "KPI_RATES", "key_figures", "summary"]

#: The KPI table's rates: every row of the rate table, in its order.
KPI_RATES: tuple[str, ...] = tuple(RATES)


def _unit_for(days: int) -> str:
    return "day" if days <= 31 else ("week" if days <= 190 else "month")


@dataclass(frozen=True)
class SummaryData:
    """What every part of the campaign summary reads, computed once by :func:`prepare`.

    ``now``/``before`` are the partner's settled campaigns of the period and the previous one,
    ``pending`` its in-progress ones of the period, ``account`` every settled campaign of the
    account in the period (for the medians). ``changes`` (one per KPI rate), ``ranking`` and
    ``flags`` are shared: the KPI table, the narrative and the campaigns section print them.
    """

    ctx: ReportContext
    now: CampaignSet
    pending: CampaignSet
    before: CampaignSet
    account: CampaignSet
    pooled_now: CampaignRates
    pooled_before: CampaignRates
    per_campaign: CampaignRates
    per_account: CampaignRates
    names: list[str]
    pending_note: str
    changes: dict[str, narrative.RateChange]
    ranking: Ranking
    flags: list[tuple[str, list[str]]]
    flagged_ids: set[str]


def build(ctx: ReportContext, sections: Sequence[str] | None = None) -> ReportDocument:
    """The campaign summary of ``ctx.partner`` for ``ctx.period``: the KPI table and the
    narrative, then ``sections`` (names of :data:`SECTIONS`, in the order given; all by default)."""
    chosen = plan(SECTIONS, sections, ctx.template.name)
    return assemble(ctx, definitions_for(["delivered_count", *KPI_RATES]), chosen, prepare, key_figures, summary)


def prepare(ctx: ReportContext) -> SummaryData | Nothing:
    """The partner's campaigns of the period, the previous period and the account, their
    rates, the KPI changes, the ranking and the flags; :class:`Nothing` when no campaign of
    the period is settled."""
    partner, period, previous, tz = ctx.partner, ctx.period, ctx.previous, ctx.tz
    mine_all = campaign_arrays(ctx.store, ctx.campaign_filter())
    now_all = in_period(mine_all, period)
    ripe = settled_rows(ctx, now_all)
    now = CampaignSet(take(now_all, ripe))
    pending = CampaignSet(take(now_all, ~ripe))
    before_all = in_period(mine_all, previous)
    before = CampaignSet(take(before_all, settled_rows(ctx, before_all)))
    pending_note = in_progress_note(ctx, len(pending))
    if len(now) == 0 and len(pending) == 0:
        return Nothing(_empty_message(partner.name, period, mine_all, tz))
    if len(now) == 0:
        return Nothing(f"{partner.name}'s campaigns in {period.label()} are all still in progress, so there is "
                       f"nothing settled to report yet. {pending_note}")

    account_all = in_period(campaign_arrays(ctx.store), period)
    account = CampaignSet(take(account_all, settled_rows(ctx, account_all)))
    pooled_now, pooled_before = campaign_rates_from(now.totals()), campaign_rates_from(before.totals())
    per_campaign = campaign_rates_from(now.arrays)
    per_account = campaign_rates_from(account.arrays)
    changes: dict[str, narrative.RateChange] = {}
    for name in KPI_RATES:
        changes[name] = narrative.RateChange(
            RATES[name].label, float(pooled_now.rate(name)[0]), float(pooled_before.rate(name)[0]),
            int(np.nan_to_num(pooled_now.denominator(name)[0])), int(np.nan_to_num(pooled_before.denominator(name)[0])),
            summarize(per_account.rate(name)).median)
    eligible = ~np.asarray(is_small(per_campaign.delivered_count), dtype=bool)
    flags, flagged_ids = _flags(ctx, mine_all, now)
    return SummaryData(
        ctx=ctx, now=now, pending=pending, before=before, account=account, pooled_now=pooled_now,
        pooled_before=pooled_before, per_campaign=per_campaign, per_account=per_account,
        names=[str(x) for x in now.arrays["name"]], pending_note=pending_note, changes=changes,
        ranking=top_bottom(per_campaign.open_rate, k=3, eligible=eligible), flags=flags, flagged_ids=flagged_ids,
    )


def _flags(ctx: ReportContext, mine_all: dict[str, np.ndarray],
           now: CampaignSet) -> tuple[list[tuple[str, list[str]]], set[str]]:
    """``(what, campaign names)`` per flag for the period's campaigns, and the flagged ids.

    Flags look at the partner's whole history, so "open rate fell below the list's recent
    median" has a baseline; only the period's campaigns are reported.
    """
    thresholds = FlagThresholds()
    history = _sent(mine_all)
    history = take(history, settled_rows(ctx, history))  # an unfinished send is no baseline and no flag
    hist_flags = campaign_flags(campaign_rates_from(history), history["list_id"], history["sent_at"], thresholds)
    in_now = np.isin(history["campaign_id"], now.arrays["campaign_id"])
    hist_names = [str(x) for x in history["name"]]
    flags = [
        (f"a bounce rate above {format_rate(thresholds.bounce_rate)}",
         [hist_names[i] for i in np.flatnonzero(in_now & hist_flags.high_bounce)]),
        (f"a complaint rate above {format_rate(thresholds.complaint_rate)}",
         [hist_names[i] for i in np.flatnonzero(in_now & hist_flags.high_complaints)]),
        (f"an open rate more than {thresholds.open_drop_sigma:g} standard deviations below its list's recent median",
         [hist_names[i] for i in np.flatnonzero(in_now & hist_flags.open_drop)]),
    ]
    return flags, set(history["campaign_id"][in_now & hist_flags.any])


# -- the head: key figures and the narrative ---------------------------------------------------

def key_figures(d: SummaryData) -> Table:
    """Counts and every KPI rate: this period, the previous one, the change, the account median."""
    now, before, period, previous = d.now, d.before, d.ctx.period, d.ctx.previous
    delivered_now, delivered_before = int(d.pooled_now.delivered_count[0]), int(d.pooled_before.delivered_count[0])
    kpi_rows = [
        ["Campaigns sent", count_cell(len(now)), count_cell(len(before)), _count_delta(len(now), len(before)), MISSING],
        ["Emails sent", count_cell(now.sum("sent")), count_cell(before.sum("sent")),
         _count_delta(now.sum("sent"), before.sum("sent")), MISSING],
        ["Delivered", count_cell(delivered_now), count_cell(delivered_before),
         _count_delta(delivered_now, delivered_before), MISSING],
    ]
    for c in (d.changes[name] for name in KPI_RATES):
        kpi_rows.append([c.label, rate_cell(c.current, c.current_n), rate_cell(c.previous, c.previous_n),
                         delta_cell(c.current, c.previous, c.current_n, c.previous_n), format_rate(c.median)])
    return Table("kpis", "Key figures", ["Metric", "This period", "Previous period", "Change",
                                         f"Account median ({len(d.account)} campaigns)"],
                 kpi_rows, numeric=(1, 2, 3, 4),
                 notes=[f"This period: {period.label()} ({period.start} to {period.end}); previous period: "
                        f"{previous.label()} ({previous.start} to {previous.end}).", SMALL_NOTE,
                        "Change: the difference of the two printed rates in percentage points (pp); — when either "
                        "side is missing or rests on too few emails. "
                        "Account median: the median per-campaign rate of every settled campaign of the account sent "
                        "in this period."] + ([d.pending_note] if d.pending_note else []),
                 col_widths=(2.2, 1.4, 1.6, 1.0, 1.8))


def summary(d: SummaryData) -> list[str]:
    """The narrative: volume, open and click rate against the previous period, the best
    campaign, the flags."""
    period, per_campaign = d.ctx.period, d.per_campaign
    comparison = period.comparison_name()
    sentences = [narrative.volume_sentence(d.ctx.partner.name, period.label(), comparison, len(d.now),
                                           int(d.pooled_now.delivered_count[0]), len(d.before),
                                           int(d.pooled_before.delivered_count[0]))]
    for name in ("open_rate", "click_rate"):
        sentences.append(narrative.rate_sentence(d.changes[name], comparison, format_rate))
    if d.ranking.top.size:
        i = int(d.ranking.top[0])
        sentences.append(narrative.best_sentence(d.names[i], "open rate", format_rate(per_campaign.open_rate[i]),
                                                 int(per_campaign.delivered_count[i])))
    else:
        sentences.append(f"No campaign reached {SMALL} delivered emails, so none is named best.")
    sentences += narrative.flag_sentences(d.flags)
    return sentences


# -- the sections ------------------------------------------------------------------------------

def campaigns_section(d: SummaryData) -> list[Block]:
    """Every campaign of the period (in-progress ones last) and the open rate of each against
    the account median."""
    blocks: list[Block] = [_campaigns_table(d)]
    compare_fig = comparison_figure(
        d.names, d.per_campaign.open_rate, "Open rate by campaign",
        reference=summarize(d.per_account.open_rate).median,
        highlight=[cid in d.flagged_ids for cid in d.now.arrays["campaign_id"]], value_name="Open rate")
    blocks.append(d.ctx.chart("open_rate_by_campaign", "Open rate by campaign against the account median",
                              compare_fig, height=max(300, 120 + 28 * len(d.now))))
    return blocks


def _campaigns_table(d: SummaryData) -> Table:
    now, pending, per_campaign, tz = d.now, d.pending, d.per_campaign, d.ctx.tz
    days = local_day(now.arrays["sent_at"], tz)
    own_lists = partner_lists(d.ctx.partner)
    list_names = {str(x["emailoctopus_id"]): str(x.get("name") or x["emailoctopus_id"]) for x in d.ctx.store.lists.find(
        {"emailoctopus_id": {"$in": list(own_lists)}}, {"_id": 0, "emailoctopus_id": 1, "name": 1})}
    rows = []
    for i in range(len(now)):
        delivered = int(per_campaign.delivered_count[i])
        openers = int(per_campaign.denominator("click_to_open_rate")[i])
        rows.append([
            d.names[i], lists_cell(now.arrays["list_ids"][i], list_names, own_lists), days[i], count_cell(delivered),
            rate_cell(per_campaign.open_rate[i], delivered), rate_cell(per_campaign.click_rate[i], delivered),
            rate_cell(per_campaign.click_to_open_rate[i], openers),
            rate_cell(per_campaign.bounce_rate[i], int(now.arrays["sent"][i])),
            rate_cell(per_campaign.unsubscribe_rate[i], delivered),
        ])
    pending_days = local_day(pending.arrays["sent_at"], tz)
    for i in range(len(pending)):  # shown apart, after the settled ones, without rates to judge
        rows.append([f"{pending.arrays['name'][i]} ({IN_PROGRESS})",
                     lists_cell(pending.arrays["list_ids"][i], list_names, own_lists), pending_days[i],
                     IN_PROGRESS, MISSING, MISSING, MISSING, MISSING, MISSING])
    return Table(
        "campaigns", "Campaigns in the period",
        ["Campaign", "Lists", "Sent on", "Delivered", "Open rate", "Click rate", "Click-to-open", "Bounce rate",
         "Unsub. rate"],
        rows, numeric=(3, 4, 5, 6, 7, 8), notes=[SMALL_NOTE, "Lists: the partner's lists by name; other lists the "
                                                 "campaign also went to are only counted."]
        + ([d.pending_note] if d.pending_note else []),
        col_widths=(2.4, 1.6, 1.3, 1.2, 1.2, 1.2, 1.25, 1.2, 1.25),
    )


def _best_table(d: SummaryData) -> Table | None:
    """The best campaigns by open rate among the ranked ones (None when none is ranked)."""
    ranking, per_campaign = d.ranking, d.per_campaign
    best_rows = [[d.names[i], rate_cell(per_campaign.open_rate[i], int(per_campaign.delivered_count[i])),
                  rate_cell(per_campaign.click_rate[i], int(per_campaign.delivered_count[i])),
                  count_cell(int(per_campaign.delivered_count[i]))] for i in ranking.top]
    if not best_rows:
        return None
    whole = len(ranking.ranked) <= len(ranking.top)  # the "best" would be every ranked campaign: say so
    title = (f"Best {len(ranking.top)} campaigns by open rate" if not whole else
             "The only ranked campaign by open rate" if len(ranking.ranked) == 1 else
             f"All {len(ranking.ranked)} ranked campaigns by open rate")
    return Table("best", title, ["Campaign", "Open rate", "Click rate", "Delivered"], best_rows, numeric=(1, 2, 3),
                 notes=[f"Only campaigns with at least {SMALL} delivered emails are ranked."])


def rates_over_time_section(d: SummaryData) -> list[Block]:
    """Open and click rate by day, week or month of sending (by the period's length)."""
    period, tz, now = d.ctx.period, d.ctx.tz, d.now
    unit = _unit_for(period.days)
    first, last = np.datetime64(period.start, "D"), np.datetime64(period.end, "D")
    sent_at, delivered = now.arrays["sent_at"], d.per_campaign.delivered_count
    opens = rate_over_time(sent_at, now.arrays["opened"], delivered, unit, tz, first, last)
    clicks = rate_over_time(sent_at, now.arrays["clicked"], delivered, unit, tz, first, last)
    series_rows = [
        [str(opens.start[i]), count_cell(int(opens.count[i])), count_cell(int(opens.denominator[i])),
         rate_cell(opens.rate[i], int(opens.denominator[i])), rate_cell(clicks.rate[i], int(clicks.denominator[i]))]
        for i in range(len(opens)) if opens.count[i] > 0
    ]
    over_time_table = Table("over_time", f"Rates by {unit} of sending",
                            [f"{unit.capitalize()} starting", "Campaigns", "Delivered", "Open rate", "Click rate"],
                            series_rows, numeric=(1, 2, 3, 4), notes=[SMALL_NOTE, f"{unit.capitalize()}s without a "
                                                                      "campaign are left out."])
    window = 4 if unit != "month" else 3
    open_fig = rate_over_time_figure(opens, f"Open rate by {unit} of sending", "Open rate", window)
    click_fig = rate_over_time_figure(clicks, f"Click rate by {unit} of sending", "Click rate", window)
    return [d.ctx.chart("open_rate_over_time", f"Open rate by {unit} of sending", open_fig),
            d.ctx.chart("click_rate_over_time", f"Click rate by {unit} of sending", click_fig),
            over_time_table]


def links_section(d: SummaryData) -> list[Block]:
    """Clicks by destination, tracking parameters stripped so one destination counts once."""
    rows_l = link_rows(d.ctx.store, d.now.ids)
    links = link_performance([r["url"] for r in rows_l], [r["clicked_total"] for r in rows_l],
                             [r["clicked_unique"] for r in rows_l])
    top_n = min(len(links), 15)
    link_table_rows = [[str(links.url[i]), count_cell(int(links.clicked_total[i])),
                        count_cell(int(links.clicked_unique[i])), format_rate(links.click_share[i]),
                        count_cell(int(links.variants[i]))] for i in range(top_n)]
    links_table = Table("links", "Link performance by destination",
                        ["Destination", "Clicks", "Unique clicks", "Share of clicks", "Links merged"],
                        link_table_rows, numeric=(1, 2, 3, 4), col_widths=(5.0, 1.0, 1.2, 1.2, 1.1),
                        notes=["Tracking parameters (utm_* and the like) are removed, so a destination linked "
                               "several ways counts once. Unique clicks are unique per campaign link, summed. "
                               f"Top {top_n} of {len(links)} destinations."])
    links_fig = link_bars_figure(links, "Clicks by destination", top=10)
    return [d.ctx.chart("links", "Clicks by destination", links_fig, height=max(300, 120 + 28 * min(len(links), 10))),
            links_table]


def conversions_section(d: SummaryData) -> list[Block] | None:
    """Goal clicks and uploaded conversions of the period's campaigns; left out when the
    partner has neither goal links nor uploads (:mod:`octolib.reports.conversions_section`)."""
    from octolib.reports.conversions_section import conversions_blocks

    return conversions_blocks(d.ctx, d.now.ids, d.names)


def best_section(d: SummaryData) -> list[Block] | None:
    """The best campaigns by open rate (None when no campaign is ranked)."""
    best = _best_table(d)
    return None if best is None else [best]


def engagement_section(d: SummaryData) -> list[Block] | None:
    """When people open and how soon: the engagement analysis's heatmap and time-to-open
    sections, over the same partner, period and campaign choice (``d.ctx``)."""
    from octolib.reports.builders import engagement_analysis

    data = engagement_analysis.prepare(d.ctx)
    if isinstance(data, Nothing):
        return None
    return [*engagement_analysis.when_section(data), *engagement_analysis.how_soon_section(data)]


def lists_section(d: SummaryData) -> list[Block] | None:
    """The partner's own lists and their growth (the list performance's first section);
    None for a partner without lists (``partner_lists``: never another partner's)."""
    from octolib.reports.builders import list_performance

    data = list_performance.prepare(d.ctx)
    if isinstance(data, Nothing):
        return None
    return list_performance.lists_section(data)


def providers_section(d: SummaryData) -> list[Block] | None:
    """Per mailbox provider, summed over the period's settled campaigns (``octolib.metrics.providers``)."""
    from octolib.metrics.providers import PROVIDER_RATES, provider_table
    from octolib.metrics.rate_specs import RATES
    from octolib.reports.providers import report_provider_view

    if not len(d.now):
        return None
    view = report_provider_view(d.ctx.store, d.now.arrays)
    c = view.counts
    if not len(c):
        return None
    rates = c.rates()
    table = provider_table()
    rows = []
    for k in range(len(c)):
        sent, delivered = int(c.counts["sent"][k]), int(c.counts["delivered"][k])
        rows.append([table.label(str(c.provider[k])), count_cell(sent)] + [
            rate_cell(float(rates[r][k]), sent if RATES[r].denominator == ("sent",) else delivered)
            for r in PROVIDER_RATES])
    how = ("recipients from the stored per-contact sends" if view.exact else
           "recipients estimated from list membership at the time of sending")
    return [Table("providers", "Rates per mailbox provider, over the period's settled campaigns",
                  ["Mailbox provider", "Recipients", *(RATES[r].label for r in PROVIDER_RATES)], rows,
                  numeric=tuple(range(1, 2 + len(PROVIDER_RATES))),
                  notes=[f"Provider from the address's domain (table reviewed {table.reviewed}); company domains are "
                         f"'other / business domains'. {how.capitalize()}: {view.recipients:,} found against "
                         f"{view.summary_sent:,} sent in EmailOctopus's summary. Bounces are not split into hard "
                         "and soft per contact.", SMALL_NOTE])]


#: The sections of the campaign summary, in print order: the one list the template
#: registry and custom reports read. ``best``, ``engagement`` and ``lists`` make the
#: campaign summary the custom report of issue 13 (every section it lists, in one PDF).
SECTIONS: tuple[SectionSpec[SummaryData], ...] = (
    SectionSpec("campaigns", "Campaigns", campaigns_section),
    SectionSpec("best", "Best campaigns", best_section),
    SectionSpec("rates_over_time", "Rates over time", rates_over_time_section),
    SectionSpec("links", "Links", links_section),
    SectionSpec("conversions", "Conversions", conversions_section),
    SectionSpec("engagement", "When and how soon people open", engagement_section, default=False),
    SectionSpec("lists", "The partner's lists", lists_section, default=False),
    # issue 14: printed only when a custom report names it
    SectionSpec("providers", "Deliverability by mailbox provider", providers_section, default=False),
)


def _sent(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    mask = ~np.isnat(arrays["sent_at"]) & (np.asarray(arrays["sent"]) > 0)
    return {k: v[mask] for k, v in arrays.items()}


def _count_delta(now: int, before: int) -> str:
    if before == 0 and now == 0:
        return "±0"
    d = now - before
    return f"{d:+,}" if d else "±0"


def _empty_message(name: str, period: Period, mine_all: dict[str, np.ndarray], tz: str) -> str:
    sent = ~np.isnat(mine_all["sent_at"]) & (np.asarray(mine_all["sent"]) > 0)
    msg = (f"{name} had no campaign sent in {period.label()} ({period.start.isoformat()} to "
           f"{period.end.isoformat()}), so there is nothing to report for this period.")
    if sent.any():
        lo, _ = period.bounds_utc()
        before = mine_all["sent_at"][sent]
        earlier = before[before < np.datetime64(lo.replace(tzinfo=None), "s")]
        if earlier.size:
            msg += f" The latest earlier campaign was sent on {local_day(earlier[-1:], tz)[0]}."
    else:
        msg += " No campaign matches this partner's campaign rules at all: check them in partners.yml."
    return msg
