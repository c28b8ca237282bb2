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

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import numpy as np

from octolib.charts.engagement import cohort_figure, heatmap_figure, recency_figure, time_to_open_figure
from octolib.metrics.cohorts import signup_cohorts
from octolib.metrics.display import MISSING, format_duration, format_rate
from octolib.metrics.engagement import (
    WEEKDAYS,
    DelayDistribution,
    HeatmapGrid,
    Recency,
    delay_distribution,
    engagement_recency,
    last_engaged_at,
    time_to_event,
    weekday_hour_heatmap,
)
from octolib.metrics.grouping import index_of
from octolib.metrics.rate_specs import HUMAN_RATE_PAIRS, RATES, pooled_values
from octolib.metrics.ratios import safe_ratio
from octolib.reports.builders.common import (
    assemble,
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
from octolib.reports.document import Block, Paragraph, ReportDocument, Table
from octolib.reports.sections import Nothing, SectionSpec, plan
from octolib.store import campaign_arrays, contact_arrays, event_arrays

if TYPE_CHECKING:
    from octolib.reports.kit import ReportContext

__all__ = ["build", "prepare", "EngagementData", "SECTIONS", "key_figures", "summary"]

WITHIN_H = (1, 6, 24, 72, 168)
COHORT_MONTHS = 6
MAX_COHORTS = 12
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class EngagementData:
    """What every part of the engagement analysis reads, computed once by :func:`prepare`.

    ``campaigns`` are the partner's settled campaigns of the period; ``history`` every open
    and click of the partner's campaigns sent before the period ends (the cohorts need it),
    ``events`` its rows of the period's campaigns. ``grid`` (opens by weekday and hour),
    ``delays``/``dist`` (time to first open) and ``recency`` are shared by the KPI table,
    the narrative and their sections. ``contacts`` is None when the partner has no list.
    """

    ctx: ReportContext
    campaigns: dict[str, np.ndarray]
    history: dict[str, np.ndarray]
    events: dict[str, np.ndarray]
    pending_note: str
    grid: HeatmapGrid
    busiest: np.ndarray
    delays: np.ndarray
    dist: DelayDistribution
    list_ids: list[str]
    contacts: dict[str, np.ndarray] | None
    as_of: datetime
    recency: Recency | None

    @property
    def is_open(self) -> np.ndarray:
        return np.asarray(self.events["event_type"] == "opened")

    @property
    def is_click(self) -> np.ndarray:
        return np.asarray(self.events["event_type"] == "clicked")

    @property
    def n_opens(self) -> int:
        """Opens in the heatmap (first opens per recipient and campaign)."""
        return int(np.asarray(self.grid.counts).sum())

    @property
    def engaged90(self) -> tuple[float, int]:
        """The share of subscribed contacts engaged in the last 90 days and how many they are
        (NaN, 0 without contacts)."""
        if self.recency is None:
            return float("nan"), 0
        for w, r in zip(self.recency.windows_days, self.recency.engaged_rate, strict=True):
            if w == 90:
                return float(r), self.recency.contacts
        return float("nan"), 0


def build(ctx: ReportContext, sections: Sequence[str] | None = None) -> ReportDocument:
    """The engagement analysis of ``ctx.partner`` for ``ctx.period``: the KPI table and the
    narrative, then ``sections`` (names of :data:`SECTIONS`, in the order given; all by default)."""
    chosen = plan(SECTIONS, sections, ctx.template.name)
    return assemble(ctx, definitions_for(["time_to_open", "engaged_rate", *HUMAN_RATE_NAMES]), chosen, prepare,
                    key_figures, summary)


#: The raw rates, the human rates beside them and the shares excluded (issue 14), in the
#: key figures and the definitions.
HUMAN_RATE_NAMES: tuple[str, ...] = tuple(
    n for human, raw, share in HUMAN_RATE_PAIRS for n in (raw, human, share) if n is not None)


def human_rate_rows(campaigns: dict[str, np.ndarray]) -> list[list[str]]:
    """One key-figure row per rate of :data:`HUMAN_RATE_NAMES`, pooled over ``campaigns``:
    the same :func:`~octolib.metrics.rate_specs.pooled_values` the pages use."""
    values = pooled_values(campaigns, HUMAN_RATE_NAMES)
    rows = []
    for name in HUMAN_RATE_NAMES:
        den = float(np.sum(np.atleast_1d(RATES[name].parts(campaigns)[1])))
        rows.append([RATES[name].label, rate_cell(values[name], den)])
    return rows


def prepare(ctx: ReportContext) -> EngagementData | Nothing:
    """The period's settled campaigns, their opens and clicks (and the history before them),
    the weekday x hour grid, the delays to first open and the recency of the partner's
    lists; :class:`Nothing` when no campaign of the period is settled."""
    partner, period, tz = ctx.partner, ctx.period, ctx.tz
    mine = campaign_arrays(ctx.store, ctx.campaign_filter())
    now = in_period(mine, period)
    ripe = settled_rows(ctx, now)
    pending_note = in_progress_note(ctx, int((~ripe).sum()))
    now = take(now, ripe)
    if not len(now["campaign_id"]) and pending_note:
        return Nothing(f"{partner.name}'s campaigns in {period.label()} are all still in progress, so there is "
                       f"no settled engagement to analyse yet. {pending_note}")
    if not len(now["campaign_id"]):
        return Nothing(f"{partner.name} had no campaign sent in {period.label()} ({period.start.isoformat()} "
                       f"to {period.end.isoformat()}), so there is no engagement to analyse for this period.")

    # One read of the events: every partner campaign sent before the period ends (the cohorts
    # need the history); the period's events are a mask of it. The store is the slow part.
    period_end = np.datetime64(period.bounds_utc()[1].replace(tzinfo=None), "s")
    upto = ~np.isnat(mine["sent_at"]) & (np.where(np.isnat(mine["sent_at"]), period_end, mine["sent_at"]) < period_end)
    hist_ids = [str(c) for c in mine["campaign_id"][upto]]
    hist = event_arrays(ctx.store, campaign_ids=hist_ids, event_types=["opened", "clicked"])
    in_now = np.isin(hist["campaign_id"], now["campaign_id"])
    events = {k: v[in_now] for k, v in hist.items()}
    is_open = events["event_type"] == "opened"
    opens_at = events["occurred_at"][is_open]

    grid = weekday_hour_heatmap(opens_at, tz)
    busiest = np.argsort(-np.asarray(grid.counts).reshape(-1), kind="stable")[:5]
    camp_index = index_of(events["campaign_id"][is_open], now["campaign_id"])
    delays = time_to_event(camp_index, opens_at, now["sent_at"])

    list_ids = partner_list_ids(partner, ctx.store)
    contacts = contact_arrays(ctx.store, list_ids) if list_ids else None
    as_of = ctx.data_as_of or datetime.combine(period.end, datetime.min.time(), timezone.utc)
    recency = None
    if contacts is not None and len(contacts["contact_id"]):
        as_of64 = np.datetime64(as_of.astimezone(timezone.utc).replace(tzinfo=None), "s")
        subscribed = contacts["status"] == "subscribed"
        last = last_engaged_at(contacts["last_opened_at"], contacts["last_clicked_at"])[subscribed]
        recency = engagement_recency(last, as_of64, (30, 90, 180))
    return EngagementData(
        ctx=ctx, campaigns=now, history=hist, events=events, pending_note=pending_note, grid=grid, busiest=busiest,
        delays=delays, dist=delay_distribution(delays), list_ids=list_ids, contacts=contacts, as_of=as_of,
        recency=recency,
    )


# -- the head: key figures and the narrative ---------------------------------------------------

def _best_hour(d: EngagementData) -> int:
    """The busiest weekday x hour cell (``weekday * 24 + hour``), -1 without opens."""
    return int(d.busiest[0]) if d.n_opens else -1


def key_figures(d: EngagementData) -> Table:
    """Campaigns, opening and clicking recipients, time to open, the busiest hour, recency."""
    tz = d.ctx.tz
    best = _best_hour(d)
    best_text = f"{WEEKDAY_NAMES[best // 24]} {best % 24:02d}:00" if best >= 0 else MISSING
    engaged90, recency_n = d.engaged90
    kpi_rows = [
        ["Campaigns in the period", count_cell(len(d.campaigns["campaign_id"]))],
        ["Recipients who opened (per campaign, summed)", count_cell(int(d.is_open.sum()))],
        ["Recipients who clicked (per campaign, summed)", count_cell(int(d.is_click.sum()))],
        *human_rate_rows(d.campaigns),
        # The median said as a reader takes it in; a half-life beside it (ln 2 x mean, pulled
        # up by the long tail) read as a contradiction (issue 16 #12).
        ["Half of all first opens came within", format_duration(d.dist.median_s)],
        [f"Busiest hour for opens ({tz})", best_text],
        ["Subscribers engaged in the last 90 days",
         rate_cell(engaged90, recency_n) if d.recency is not None else MISSING],
    ]
    return Table("kpis", "Key figures", ["Metric", d.ctx.period.label()], kpi_rows, numeric=(1,),
                 notes=["Opens and clicks are first events per recipient and campaign."]
                 + ([d.pending_note] if d.pending_note else []),
                 col_widths=(3.0, 1.6))


def summary(d: EngagementData) -> list[str]:
    """The narrative: opening and clicking recipients, the peak hour, time to open, recency."""
    partner, period, tz = d.ctx.partner, d.ctx.period, d.ctx.tz
    n_campaigns, n_open, n_click = len(d.campaigns["campaign_id"]), int(d.is_open.sum()), int(d.is_click.sum())
    sentences = [f"{partner.name}'s {n_campaigns} campaign{'s' if n_campaigns != 1 else ''} in {period.label()} "
                 f"drew {n_open:,} opening and {n_click:,} clicking recipients."]
    best = _best_hour(d)
    if best >= 0:
        sentences.append(f"Opens peaked on {WEEKDAY_NAMES[best // 24]}s between {best % 24:02d}:00 and "
                         f"{best % 24:02d}:59 ({tz}), with {format_rate(d.grid.share.reshape(-1)[best])} of all opens.")
    delays = d.delays[~np.isnan(d.delays)]
    if delays.size:
        sentences.append(f"Half of the first opens came within {format_duration(d.dist.median_s)} of sending"
                         + (f" (from only {delays.size} opens, so read with care)." if delays.size < 50 else "."))
    engaged90, _ = d.engaged90
    if d.recency is not None and not np.isnan(engaged90):
        sentences.append(f"{format_rate(engaged90)} of the subscribers of the partner's lists opened or clicked "
                         "in the last 90 days.")
    return sentences


# -- the sections ------------------------------------------------------------------------------

def when_section(d: EngagementData) -> list[Block]:
    """Opens by weekday and hour (heatmap), the busiest hours, opens and clicks by weekday."""
    tz = d.ctx.tz
    counts = np.asarray(d.grid.counts).reshape(-1)
    share = d.grid.share.reshape(-1)
    n_opens = d.n_opens
    top_rows = [[f"{WEEKDAY_NAMES[k // 24]} {k % 24:02d}:00–{k % 24:02d}:59", count_cell(int(counts[k])),
                 rate_cell(share[k], n_opens)] for k in d.busiest if counts[k] > 0]
    opens_note = SMALL_NOTE.replace("delivered emails", "opens")
    top_table = Table("top_hours", f"Busiest hours for opens ({tz})", ["Weekday and hour", "Opens", "Share of opens"],
                      top_rows, numeric=(1, 2), notes=[opens_note])
    click_grid = weekday_hour_heatmap(d.events["occurred_at"][d.is_click], tz)
    day_open = np.asarray(d.grid.counts).sum(axis=1)
    day_click = np.asarray(click_grid.counts).sum(axis=1)
    day_share = safe_ratio(day_open, np.full(7, n_opens))
    day_rows = [[WEEKDAY_NAMES[i], count_cell(int(day_open[i])), count_cell(int(day_click[i])),
                 rate_cell(day_share[i], n_opens)] for i in range(7)]
    day_table = Table("weekdays", f"Opens and clicks by weekday ({tz})", ["Weekday", "Opens", "Clicks",
                                                                          "Share of opens"], day_rows,
                      numeric=(1, 2, 3), notes=["Each recipient's first open and first click of each campaign.",
                                                opens_note])
    heat_fig = heatmap_figure(d.grid, f"Opens by weekday and hour ({tz})", "Opens")
    return [d.ctx.chart("heatmap", f"Opens by weekday and hour ({tz})", heat_fig, height=380), top_table, day_table]


def how_soon_section(d: EngagementData) -> list[Block]:
    """The time from sending to first open: its distribution and the share within 1 h ... 7 days."""
    delays = d.delays[~np.isnan(d.delays)]
    within_rows = [[_hours(h), count_cell(int((delays < h * 3600).sum())),
                    rate_cell(float(safe_ratio((delays < h * 3600).sum(), delays.size)), int(delays.size))]
                   for h in WITHIN_H]
    within_table = Table("time_to_open", "First opens within ... of sending",
                         ["Within", "First opens", "Share of first opens"], within_rows, numeric=(1, 2),
                         notes=[SMALL_NOTE.replace("delivered emails", "first opens")])
    ttopen_fig = time_to_open_figure(d.dist, "Time from sending to first open")
    return [d.ctx.chart("time_to_open", "Time from sending to first open", ttopen_fig), within_table]


def recency_section(d: EngagementData) -> list[Block] | None:
    """How recently the subscribed contacts of the partner's lists engaged (None without contacts)."""
    recency = d.recency
    if recency is None:
        return None
    recency_rows = [[f"Last {w} days", count_cell(int(c)), rate_cell(float(r), recency.contacts)]
                    for w, c, r in zip(recency.windows_days, recency.engaged_count, recency.engaged_rate, strict=True)]
    recency_rows.append(["Never opened or clicked", count_cell(recency.never_count),
                         rate_cell(float(safe_ratio(recency.never_count, recency.contacts)), recency.contacts)])
    recency_table = Table("recency", "Engagement recency (subscribed contacts of the partner's lists)",
                          ["Engaged in", "Contacts", "Share"], recency_rows, numeric=(1, 2),
                          notes=[f"Opened or clicked any campaign, as of {d.as_of:%Y-%m-%d %H:%M} UTC "
                                 f"({count_cell(recency.contacts)} subscribed contacts).",
                                 SMALL_NOTE.replace("delivered emails", "contacts")])
    recency_fig = recency_figure(recency, "Subscribers by last engagement")
    return [d.ctx.chart("recency", "Subscribers by last engagement", recency_fig, height=340), recency_table]


def cohorts_section(d: EngagementData) -> list[Block] | None:
    """Signup month x months later: the share engaging with the partner's campaigns (None
    without contacts)."""
    contacts, hist = d.contacts, d.history
    if contacts is None or d.recency is None:
        return None
    who = index_of(hist["contact_id"], contacts["contact_id"])
    cohorts = signup_cohorts(contacts["created_at"], who, hist["occurred_at"], d.ctx.tz, max_offset=COHORT_MONTHS)
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
    return [d.ctx.chart("cohorts", "Engaged share by month since signup", cohort_fig, height=460), cohort_table]


def partner_lists_section(d: EngagementData) -> list[Block] | None:
    """Why list recency and cohorts are missing, for a partner without lists (None otherwise)."""
    if d.list_ids:
        return None
    return [Paragraph(
        f"No list belongs to {d.ctx.partner.name}: a partner's lists are the ones its definition names in list_ids, "
        "and it names none that the synced data holds, so list recency and signup cohorts are left out. Add "
        "list_ids to the partner in partners.yml to see them.", "small")]


#: The sections of the engagement analysis, in print order: the one list the template
#: registry and custom reports read.
SECTIONS: tuple[SectionSpec[EngagementData], ...] = (
    SectionSpec("when", "When people open", when_section),
    SectionSpec("how_soon", "How soon people open", how_soon_section),
    SectionSpec("recency", "Engagement recency", recency_section),
    SectionSpec("cohorts", "Signup cohorts", cohorts_section),
    SectionSpec("partner_lists", "The partner's lists", partner_lists_section),
)


def _hours(h: int) -> str:
    if h < 24:
        return f"{h} hour{'s' if h != 1 else ''}"
    days = h // 24
    return f"{days} day{'s' if days != 1 else ''}"


assert len(WEEKDAYS) == len(WEEKDAY_NAMES)  # the metrics count weekdays from Monday, as here
