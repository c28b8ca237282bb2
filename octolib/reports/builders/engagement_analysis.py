"""``engagement_analysis``: when and how the partner's audience engages.

Weekday x hour heatmap of opens (in the settings timezone), the time-to-open curve (from
each recipient's first open of each campaign), engagement recency of the partner's lists
and signup cohorts against later engagement with the partner's campaigns. Computed
through ``octolib.metrics`` only.

The partner's lists are the ones its definition names (:func:`octolib.reports.partners.partner_lists`),
so "the subscribers of the partner's lists" never counts another partner's list; a rule-only
partner gets no list sections. Campaigns still in progress (``octolib.metrics.maturity``)
are left out: their opens are still coming, so their delays and hours would be cut short.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import numpy as np

from octolib.charts.engagement import cohort_figure, heatmap_figure, recency_figure, time_to_open_figure
from octolib.metrics.cohorts import signup_cohorts
from octolib.metrics.display import MISSING, format_duration, format_rate
from octolib.metrics.engagement import (
    WEEKDAYS,
    delay_distribution,
    engagement_recency,
    last_engaged_at,
    time_to_event,
    weekday_hour_heatmap,
)
from octolib.metrics.grouping import index_of
from octolib.metrics.ratios import safe_ratio
from octolib.reports.builders.common import (
    SMALL,
    SMALL_MARK,
    SMALL_NOTE,
    count_cell,
    definitions_for,
    in_progress_note,
    in_period,
    rate_cell,
    settled_rows,
    take,
)
from octolib.reports.builders.list_performance import partner_list_ids
from octolib.reports.document import Paragraph, ReportDocument, Section, Table
from octolib.reports.partners import campaign_query
from octolib.store import campaign_arrays, contact_arrays, event_arrays

if TYPE_CHECKING:
    from octolib.reports.kit import ReportContext

__all__ = ["build"]

WITHIN_H = (1, 6, 24, 72, 168)
COHORT_MONTHS = 6
MAX_COHORTS = 12
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def build(ctx: ReportContext) -> ReportDocument:
    partner, period, tz = ctx.partner, ctx.period, ctx.tz
    info = ctx.template
    definitions = definitions_for(["time_to_open", "engaged_rate", "open_rate"])
    doc = ReportDocument(
        template=info.name, title=info.title, partner_slug=partner.slug, partner_name=partner.name,
        period=period, provenance=ctx.provenance(definitions), brand_colour=partner.brand_colour,
        logo_path=partner.logo, note=partner.note,
    )
    mine = campaign_arrays(ctx.store, campaign_query(partner))
    now = in_period(mine, period)
    ripe = settled_rows(ctx, now)
    pending_note = in_progress_note(ctx, int((~ripe).sum()))
    now = take(now, ripe)
    ids = [str(c) for c in now["campaign_id"]]
    if not ids and pending_note:
        doc.empty_message = (f"{partner.name}'s campaigns in {period.label()} are all still in progress, so there is "
                             f"no settled engagement to analyse yet. {pending_note}")
        return doc
    if not ids:
        doc.empty_message = (f"{partner.name} had no campaign sent in {period.label()} ({period.start.isoformat()} "
                             f"to {period.end.isoformat()}), so there is no engagement to analyse for this period.")
        return doc

    # One read of the events: every partner campaign sent before the period ends (the cohorts
    # need the history); the period's events are a mask of it. The store is the slow part.
    period_end = np.datetime64(period.bounds_utc()[1].replace(tzinfo=None), "s")
    upto = ~np.isnat(mine["sent_at"]) & (np.where(np.isnat(mine["sent_at"]), period_end, mine["sent_at"]) < period_end)
    hist_ids = [str(c) for c in mine["campaign_id"][upto]]
    hist = event_arrays(ctx.store, campaign_ids=hist_ids, event_types=["opened", "clicked"])
    in_now = np.isin(hist["campaign_id"], now["campaign_id"])
    events = {k: v[in_now] for k, v in hist.items()}
    is_open = events["event_type"] == "opened"
    is_click = events["event_type"] == "clicked"
    opens_at, clicks_at = events["occurred_at"][is_open], events["occurred_at"][is_click]

    # -- when: weekday x hour ----------------------------------------------------------------
    grid = weekday_hour_heatmap(opens_at, tz)
    click_grid = weekday_hour_heatmap(clicks_at, tz)
    counts = np.asarray(grid.counts)
    share = grid.share
    order = np.argsort(-counts.reshape(-1), kind="stable")[:5]
    n_opens = int(counts.sum())
    top_rows = [[f"{WEEKDAY_NAMES[k // 24]} {k % 24:02d}:00–{k % 24:02d}:59", count_cell(int(counts.reshape(-1)[k])),
                 rate_cell(share.reshape(-1)[k], n_opens)] for k in order if counts.reshape(-1)[k] > 0]
    opens_note = SMALL_NOTE.replace("delivered emails", "opens")
    top_table = Table("top_hours", f"Busiest hours for opens ({tz})", ["Weekday and hour", "Opens", "Share of opens"],
                      top_rows, numeric=(1, 2), notes=[opens_note])
    day_open = counts.sum(axis=1)
    day_click = np.asarray(click_grid.counts).sum(axis=1)
    day_share = safe_ratio(day_open, np.full(7, n_opens))
    day_rows = [[WEEKDAY_NAMES[d], count_cell(int(day_open[d])), count_cell(int(day_click[d])),
                 rate_cell(day_share[d], n_opens)] for d in range(7)]
    day_table = Table("weekdays", f"Opens and clicks by weekday ({tz})", ["Weekday", "Opens", "Clicks",
                                                                          "Share of opens"], day_rows,
                      numeric=(1, 2, 3), notes=["Each recipient's first open and first click of each campaign.",
                                                opens_note])
    heat_fig = heatmap_figure(grid, f"Opens by weekday and hour ({tz})", "Opens")

    # -- how soon: time to open ----------------------------------------------------------------
    camp_index = index_of(events["campaign_id"][is_open], now["campaign_id"])
    delays = time_to_event(camp_index, opens_at, now["sent_at"])
    dist = delay_distribution(delays)
    d = delays[~np.isnan(delays)]
    within_rows = [[_hours(h), count_cell(int((d < h * 3600).sum())),
                    rate_cell(float(safe_ratio((d < h * 3600).sum(), d.size)), int(d.size))] for h in WITHIN_H]
    within_table = Table("time_to_open", "First opens within ... of sending",
                         ["Within", "First opens", "Share of first opens"], within_rows, numeric=(1, 2),
                         notes=[SMALL_NOTE.replace("delivered emails", "first opens")])
    ttopen_fig = time_to_open_figure(dist, "Time from sending to first open")

    # -- recency of the partner's lists ----------------------------------------------------------
    list_ids = partner_list_ids(partner, ctx.store)
    contacts = contact_arrays(ctx.store, list_ids) if list_ids else None
    as_of = ctx.data_as_of or datetime.combine(period.end, datetime.min.time(), timezone.utc)
    as_of64 = np.datetime64(as_of.astimezone(timezone.utc).replace(tzinfo=None), "s")
    recency_rows: list[list[str]] = []
    sections_extra: list[Any] = []
    engaged90 = float("nan")
    recency_n = 0
    if contacts is not None and len(contacts["contact_id"]):
        subscribed = contacts["status"] == "subscribed"
        last = last_engaged_at(contacts["last_opened_at"], contacts["last_clicked_at"])[subscribed]
        recency = engagement_recency(last, as_of64, (30, 90, 180))
        for w, c, r in zip(recency.windows_days, recency.engaged_count, recency.engaged_rate, strict=True):
            recency_rows.append([f"Last {w} days", count_cell(int(c)), rate_cell(float(r), recency.contacts)])
            if w == 90:
                engaged90, recency_n = float(r), recency.contacts
        recency_rows.append(["Never opened or clicked", count_cell(recency.never_count),
                             rate_cell(float(safe_ratio(recency.never_count, recency.contacts)), recency.contacts)])
        recency_table = Table("recency", "Engagement recency (subscribed contacts of the partner's lists)",
                              ["Engaged in", "Contacts", "Share"], recency_rows, numeric=(1, 2),
                              notes=[f"Opened or clicked any campaign, as of {as_of:%Y-%m-%d %H:%M} UTC "
                                     f"({count_cell(recency.contacts)} subscribed contacts).",
                                     SMALL_NOTE.replace("delivered emails", "contacts")])
        recency_fig = recency_figure(recency, "Subscribers by last engagement")

        # cohorts: signup month x months later, engagement with the partner's campaigns
        who = index_of(hist["contact_id"], contacts["contact_id"])
        cohorts = signup_cohorts(contacts["created_at"], who, hist["occurred_at"], tz, max_offset=COHORT_MONTHS)
        keep = slice(max(0, len(cohorts) - MAX_COHORTS), len(cohorts))
        cohort_rows = []
        for i in range(len(cohorts))[keep]:
            row = [str(cohorts.cohort_start[i])[:7], count_cell(int(cohorts.size[i]))]
            for k in range(COHORT_MONTHS + 1):
                rate = cohorts.engaged_rate[i, k]
                mark = f" {SMALL_MARK}" if cohorts.size[i] < SMALL else ""
                row.append(MISSING if np.isnan(rate) else format_rate(rate) + mark)
            cohort_rows.append(row)
        cohort_table = Table("cohorts", "Signup cohorts: share engaging with the partner's campaigns",
                             ["Signup month", "Contacts", *[f"M{k}" for k in range(COHORT_MONTHS + 1)]], cohort_rows,
                             numeric=tuple(range(1, COHORT_MONTHS + 3)),
                             notes=["M0 is the signup month, M1 the month after, and so on; — for months that "
                                    f"had not happened yet. The last {MAX_COHORTS} signup months are shown.",
                                    f"{SMALL_MARK} the cohort has fewer than {SMALL} contacts (n = Contacts): read "
                                    "with care, small numbers swing a lot."])
        cohort_fig = cohort_figure(cohorts, "Signup cohorts: engaged share by month since signup")
        sections_extra = [
            Section("Engagement recency", [ctx.chart("recency", "Subscribers by last engagement", recency_fig,
                                                     height=340), recency_table]),
            Section("Signup cohorts", [ctx.chart("cohorts", "Engaged share by month since signup", cohort_fig, height=460),
                                       cohort_table]),
        ]

    # -- KPIs and narrative ------------------------------------------------------------------
    n_open, n_click = int(is_open.sum()), int(is_click.sum())
    best = int(order[0]) if counts.sum() else -1
    best_text = f"{WEEKDAY_NAMES[best // 24]} {best % 24:02d}:00" if best >= 0 else MISSING
    kpi_rows = [
        ["Campaigns in the period", count_cell(len(ids))],
        ["Recipients who opened (per campaign, summed)", count_cell(n_open)],
        ["Recipients who clicked (per campaign, summed)", count_cell(n_click)],
        ["Median time to first open", format_duration(dist.median_s)],
        ["Half-life of opens", format_duration(dist.half_life_s)],
        [f"Busiest hour for opens ({tz})", best_text],
        ["Subscribers engaged in the last 90 days", rate_cell(engaged90, recency_n) if recency_rows else MISSING],
    ]
    doc.kpis = Table("kpis", "Key figures", ["Metric", period.label()], kpi_rows, numeric=(1,),
                     notes=["Opens and clicks are first events per recipient and campaign."]
                     + ([pending_note] if pending_note else []),
                     col_widths=(3.0, 1.6))
    sentences = [f"{partner.name}'s {len(ids)} campaign{'s' if len(ids) != 1 else ''} in {period.label()} "
                 f"drew {n_open:,} opening and {n_click:,} clicking recipients."]
    if best >= 0:
        sentences.append(f"Opens peaked on {WEEKDAY_NAMES[best // 24]}s between {best % 24:02d}:00 and "
                         f"{best % 24:02d}:59 ({tz}), with {format_rate(share.reshape(-1)[best])} of all opens.")
    if d.size:
        sentences.append(f"Half of the first opens came within {format_duration(dist.median_s)} of sending"
                         + (f" (from only {d.size} opens, so read with care)." if d.size < 50 else "."))
    if recency_rows and not np.isnan(engaged90):
        sentences.append(f"{format_rate(engaged90)} of the subscribers of the partner's lists opened or clicked "
                         "in the last 90 days.")
    doc.narrative = sentences
    doc.sections = [
        Section("When people open", [ctx.chart("heatmap", f"Opens by weekday and hour ({tz})", heat_fig, height=380),
                                     top_table, day_table]),
        Section("How soon people open", [ctx.chart("time_to_open", "Time from sending to first open", ttopen_fig),
                                         within_table]),
        *sections_extra,
    ]
    if not list_ids:
        doc.sections.append(Section("The partner's lists", [Paragraph(
            f"No list belongs to {partner.name}: a partner's lists are the ones its definition names in list_ids, "
            "and it names none that the synced data holds, so list recency and signup cohorts are left out. Add "
            "list_ids to the partner in partners.yml to see them.", "small")]))
    return doc


def _hours(h: int) -> str:
    if h < 24:
        return f"{h} hour{'s' if h != 1 else ''}"
    days = h // 24
    return f"{days} day{'s' if days != 1 else ''}"


assert len(WEEKDAYS) == len(WEEKDAY_NAMES)  # the metrics count weekdays from Monday, as here
