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

from typing import TYPE_CHECKING, Any

import numpy as np

from octolib.charts.campaigns import comparison_figure, link_bars_figure
from octolib.charts.time import rate_over_time_figure
from octolib.metrics.aggregate import summarize, top_bottom
from octolib.metrics.display import format_rate
from octolib.metrics.flags import FlagThresholds, campaign_flags
from octolib.metrics.links import link_performance
from octolib.metrics.rate_specs import RATES
from octolib.metrics.ratios import is_small
from octolib.metrics.rates import campaign_rates_from
from octolib.metrics.timeseries import rate_over_time
from octolib.reports import narrative
from octolib.reports.builders.common import (
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
from octolib.reports.document import ReportDocument, Section, Table
from octolib.reports.partners import campaign_query, partner_lists
from octolib.store import campaign_arrays, link_rows

if TYPE_CHECKING:
    from octolib.reports.kit import ReportContext

__all__ = ["build", "KPI_RATES"]

#: The KPI table's rates: every row of the rate table, in its order.
KPI_RATES: tuple[str, ...] = tuple(RATES)


def _unit_for(days: int) -> str:
    return "day" if days <= 31 else ("week" if days <= 190 else "month")


def build(ctx: ReportContext) -> ReportDocument:
    """The campaign summary of ``ctx.partner`` for ``ctx.period``."""
    partner, period, previous, tz = ctx.partner, ctx.period, ctx.previous, ctx.tz
    info = ctx.template
    mine_all = campaign_arrays(ctx.store, campaign_query(partner))
    now_all = in_period(mine_all, period)
    ripe = settled_rows(ctx, now_all)
    now = CampaignSet(take(now_all, ripe))
    pending = CampaignSet(take(now_all, ~ripe))
    before_all = in_period(mine_all, previous)
    before = CampaignSet(take(before_all, settled_rows(ctx, before_all)))
    definitions = definitions_for(["delivered_count", *KPI_RATES])
    doc = ReportDocument(
        template=info.name, title=info.title, partner_slug=partner.slug, partner_name=partner.name,
        period=period, provenance=ctx.provenance(definitions), brand_colour=partner.brand_colour,
        logo_path=partner.logo, note=partner.note,
    )
    pending_note = in_progress_note(ctx, len(pending))
    if len(now) == 0 and len(pending) == 0:
        doc.empty_message = _empty_message(partner.name, period, mine_all, tz)
        return doc
    if len(now) == 0:
        doc.empty_message = (f"{partner.name}'s campaigns in {period.label()} are all still in progress, so there is "
                             f"nothing settled to report yet. {pending_note}")
        return doc

    account_all = in_period(campaign_arrays(ctx.store), period)
    account = CampaignSet(take(account_all, settled_rows(ctx, account_all)))
    t_now, t_before = now.totals(), before.totals()
    pooled_now, pooled_before = campaign_rates_from(t_now), campaign_rates_from(t_before)
    per_campaign = campaign_rates_from(now.arrays)
    per_account = campaign_rates_from(account.arrays)

    # -- KPIs ------------------------------------------------------------------------------
    kpi_rows = [
        ["Campaigns sent", count_cell(len(now)), count_cell(len(before)), _count_delta(len(now), len(before)), MISSING],
        ["Emails sent", count_cell(now.sum("sent")), count_cell(before.sum("sent")),
         _count_delta(now.sum("sent"), before.sum("sent")), MISSING],
        ["Delivered", count_cell(int(pooled_now.delivered_count[0])), count_cell(int(pooled_before.delivered_count[0])),
         _count_delta(int(pooled_now.delivered_count[0]), int(pooled_before.delivered_count[0])), MISSING],
    ]
    changes: dict[str, narrative.RateChange] = {}
    for name in KPI_RATES:
        label = RATES[name].label
        r_now = float(pooled_now.rate(name)[0])
        r_before = float(pooled_before.rate(name)[0])
        n_now = int(np.nan_to_num(pooled_now.denominator(name)[0]))
        n_before = int(np.nan_to_num(pooled_before.denominator(name)[0]))
        median = summarize(per_account.rate(name)).median
        kpi_rows.append([label, rate_cell(r_now, n_now), rate_cell(r_before, n_before),
                         delta_cell(r_now, r_before, n_now, n_before), format_rate(median)])
        changes[name] = narrative.RateChange(label, r_now, r_before, n_now, n_before, median)
    kpis = Table("kpis", "Key figures", ["Metric", "This period", "Previous period", "Change",
                                         f"Account median ({len(account)} campaigns)"],
                 kpi_rows, numeric=(1, 2, 3, 4),
                 notes=[f"This period: {period.label()} ({period.start} to {period.end}); previous period: "
                        f"{previous.label()} ({previous.start} to {previous.end}).", SMALL_NOTE,
                        "Change: the difference of the two printed rates in percentage points (pp); — when either "
                        "side is missing or rests on too few emails. "
                        "Account median: the median per-campaign rate of every settled campaign of the account sent "
                        "in this period."] + ([pending_note] if pending_note else []),
                 col_widths=(2.2, 1.4, 1.6, 1.0, 1.8))
    doc.kpis = kpis

    # -- per campaign ----------------------------------------------------------------------
    names = [str(x) for x in now.arrays["name"]]
    days = local_day(now.arrays["sent_at"], tz)
    own_lists = partner_lists(partner)
    list_names = {str(d["emailoctopus_id"]): str(d.get("name") or d["emailoctopus_id"]) for d in ctx.store.lists.find(
        {"emailoctopus_id": {"$in": list(own_lists)}}, {"_id": 0, "emailoctopus_id": 1, "name": 1})}
    rows = []
    for i in range(len(now)):
        d = int(per_campaign.delivered_count[i])
        openers = int(per_campaign.denominator("click_to_open_rate")[i])
        rows.append([
            names[i], lists_cell(now.arrays["list_ids"][i], list_names, own_lists), days[i], count_cell(d),
            rate_cell(per_campaign.open_rate[i], d), rate_cell(per_campaign.click_rate[i], d),
            rate_cell(per_campaign.click_to_open_rate[i], openers),
            rate_cell(per_campaign.bounce_rate[i], int(now.arrays["sent"][i])),
            rate_cell(per_campaign.unsubscribe_rate[i], d),
        ])
    pending_days = local_day(pending.arrays["sent_at"], tz)
    for i in range(len(pending)):  # shown apart, after the settled ones, without rates to judge
        rows.append([f"{pending.arrays['name'][i]} ({IN_PROGRESS})",
                     lists_cell(pending.arrays["list_ids"][i], list_names, own_lists), pending_days[i],
                     IN_PROGRESS, MISSING, MISSING, MISSING, MISSING, MISSING])
    campaigns_table = Table(
        "campaigns", "Campaigns in the period",
        ["Campaign", "Lists", "Sent on", "Delivered", "Open rate", "Click rate", "Click-to-open", "Bounce rate",
         "Unsub. rate"],
        rows, numeric=(3, 4, 5, 6, 7, 8), notes=[SMALL_NOTE, "Lists: the partner's lists by name; other lists the "
                                                 "campaign also went to are only counted."]
        + ([pending_note] if pending_note else []),
        col_widths=(2.4, 1.6, 1.3, 1.2, 1.2, 1.2, 1.25, 1.2, 1.25),
    )

    # -- best campaign and flags -----------------------------------------------------------
    eligible = ~np.asarray(is_small(per_campaign.delivered_count), dtype=bool)
    ranking = top_bottom(per_campaign.open_rate, k=3, eligible=eligible)
    best_rows = [[names[i], rate_cell(per_campaign.open_rate[i], int(per_campaign.delivered_count[i])),
                  rate_cell(per_campaign.click_rate[i], int(per_campaign.delivered_count[i])),
                  count_cell(int(per_campaign.delivered_count[i]))] for i in ranking.top]
    # Flags look at the partner's whole history, so "open rate fell below the list's recent
    # median" has a baseline; only the period's campaigns are reported.
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
    flagged_ids = set(history["campaign_id"][in_now & hist_flags.any])
    compare_fig = comparison_figure(
        names, per_campaign.open_rate, "Open rate by campaign", reference=summarize(per_account.open_rate).median,
        highlight=[cid in flagged_ids for cid in now.arrays["campaign_id"]], value_name="Open rate")

    # -- over time ---------------------------------------------------------------------------
    unit = _unit_for(period.days)
    first, last = np.datetime64(period.start, "D"), np.datetime64(period.end, "D")
    sent_at = now.arrays["sent_at"]
    opens = rate_over_time(sent_at, now.arrays["opened"], per_campaign.delivered_count, unit, tz, first, last)
    clicks = rate_over_time(sent_at, now.arrays["clicked"], per_campaign.delivered_count, unit, tz, first, last)
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

    # -- links -------------------------------------------------------------------------------
    rows_l = link_rows(ctx.store, now.ids)
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

    # -- narrative ---------------------------------------------------------------------------
    comparison = period.comparison_name()
    sentences = [narrative.volume_sentence(partner.name, period.label(), comparison, len(now),
                                           int(pooled_now.delivered_count[0]), len(before),
                                           int(pooled_before.delivered_count[0]))]
    for name in ("open_rate", "click_rate"):
        sentences.append(narrative.rate_sentence(changes[name], comparison, format_rate))
    if ranking.top.size:
        i = int(ranking.top[0])
        sentences.append(narrative.best_sentence(names[i], "open rate", format_rate(per_campaign.open_rate[i]),
                                                 int(per_campaign.delivered_count[i])))
    else:
        sentences.append(f"No campaign reached {SMALL} delivered emails, so none is named best.")
    sentences += narrative.flag_sentences(flags)
    doc.narrative = sentences

    campaign_blocks: list[Any] = [campaigns_table]
    if best_rows:
        whole = len(ranking.ranked) <= len(ranking.top)  # the "best" would be every ranked campaign: say so
        title = (f"Best {len(ranking.top)} campaigns by open rate" if not whole else
                 "The only ranked campaign by open rate" if len(ranking.ranked) == 1 else
                 f"All {len(ranking.ranked)} ranked campaigns by open rate")
        campaign_blocks.append(Table("best", title,
                                     ["Campaign", "Open rate", "Click rate", "Delivered"], best_rows,
                                     numeric=(1, 2, 3),
                                     notes=[f"Only campaigns with at least {SMALL} delivered emails are ranked."]))
    campaign_blocks.append(ctx.chart("open_rate_by_campaign", "Open rate by campaign against the account median",
                                     compare_fig, height=max(300, 120 + 28 * len(now))))
    doc.sections = [
        Section("Campaigns", campaign_blocks),
        Section("Rates over time", [ctx.chart("open_rate_over_time", f"Open rate by {unit} of sending", open_fig),
                                    ctx.chart("click_rate_over_time", f"Click rate by {unit} of sending", click_fig),
                                    over_time_table]),
        Section("Links", [ctx.chart("links", "Clicks by destination", links_fig,
                                    height=max(300, 120 + 28 * min(len(links), 10))), links_table]),
    ]
    return doc


def _sent(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    mask = ~np.isnat(arrays["sent_at"]) & (np.asarray(arrays["sent"]) > 0)
    return {k: v[mask] for k, v in arrays.items()}


def _count_delta(now: int, before: int) -> str:
    if before == 0 and now == 0:
        return "±0"
    d = now - before
    return f"{d:+,}" if d else "±0"


def _empty_message(name: str, period: Any, mine_all: dict[str, np.ndarray], tz: str) -> str:
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
