"""The numbers behind every dashboard and partner PDF: pure numpy, arrays in, arrays out.

No I/O and no pandas (STYLE.md §8). Inputs are the arrays of :mod:`octolib.store.readers`
(``int64`` counts, ``datetime64[s]`` UTC times with NaT, ``object`` string ids); outputs are
arrays, floats or small frozen dataclasses that :mod:`octolib.charts` draws.

Rules everywhere:

- ``*_rate`` is a ratio (float64), in [0, 1] when its inputs agree and never clipped
  (above 1 means they disagree, see :mod:`~octolib.metrics.rate_specs`); ``*_count`` an integer;
- a zero (or missing) denominator gives NaN, on purpose, without a ``RuntimeWarning``;
  aggregates skip NaN; an empty selection gives empty arrays or NaN summaries;
- NaN reaches people only through :mod:`~octolib.metrics.display`, which prints "—";
- functions that bucket by day/week/month/weekday/hour take ``tz`` (an IANA name) and
  convert DST-correctly (:mod:`~octolib.metrics.timezones`).

Modules, one idea each: ``ratios`` (safe division, small numbers), ``display``,
``rate_specs`` (the rate table every surface derives from), ``definitions`` (the metric
table printed in the README and PDFs), ``rates`` (per campaign), ``aggregate`` (across a
selection), ``grouping``, ``timezones``, ``timeseries`` (by send date), ``curves`` (after
sending), ``engagement`` (heatmap, time to open, recency), ``lists`` (growth, counts),
``cohorts``, ``links``, ``compare`` (baselines), ``flags``, ``maturity`` (settled or in progress).
"""

from octolib.metrics.aggregate import (
    GroupRates,
    Ranking,
    RateSummary,
    grouped_rates,
    pooled_rate,
    summarize,
    top_bottom,
    totals,
)
from octolib.metrics.cohorts import CohortGrid, signup_cohorts
from octolib.metrics.compare import Comparison, TrailingHistory, compare_campaigns, trailing_history
from octolib.metrics.curves import FIRST_HOUR_DAY_WEEK_S, Curve, event_curve, events_within, snapshot_curve
from octolib.metrics.definitions import METRIC_DEFINITIONS, MetricDefinition, definition, definitions_markdown
from octolib.metrics.display import MISSING, format_count, format_delta, format_duration, format_rate
from octolib.metrics.engagement import (
    DEFAULT_DELAY_EDGES_H,
    WEEKDAYS,
    DelayDistribution,
    HeatmapGrid,
    Recency,
    delay_distribution,
    engagement_recency,
    half_life,
    last_engaged_at,
    last_event_at,
    median_delay,
    recency_days,
    time_to_event,
    weekday_hour_heatmap,
)
from octolib.metrics.flags import CampaignFlags, FlagThresholds, campaign_flags
from octolib.metrics.grouping import factorize, group_count, group_sum, index_of
from octolib.metrics.links import LinkStats, link_performance, normalize_url
from octolib.metrics.lists import (
    Growth,
    ListCounts,
    ListEngagement,
    list_counts,
    list_engagement,
    list_growth,
    membership_times,
)
from octolib.metrics.maturity import DEFAULT_SETTLED_HOURS, IN_PROGRESS, hours_since, in_progress, settled
from octolib.metrics.rates import (
    RATE_NAMES,
    CampaignRates,
    Funnel,
    campaign_rates,
    campaign_rates_from,
    delivered_count,
    funnel,
)
from octolib.metrics.rate_specs import COUNT_NAMES, RATES, RateSpec, disagreeing, rate_spec, rate_values
from octolib.metrics.ratios import SMALL_DENOMINATOR, is_small, safe_ratio
from octolib.metrics.timeseries import (
    UNITS,
    CountSeries,
    RateSeries,
    bucket_starts,
    count_over_time,
    moving_average,
    rate_over_time,
    rolling_rate,
)
from octolib.metrics.timezones import to_local, utc_offsets

__all__ = [
    # ratios, display, definitions
    "safe_ratio", "is_small", "SMALL_DENOMINATOR",
    "format_rate", "format_count", "format_delta", "format_duration", "MISSING",
    "METRIC_DEFINITIONS", "MetricDefinition", "definition", "definitions_markdown",
    # the rate table
    "RateSpec", "RATES", "COUNT_NAMES", "rate_spec", "rate_values", "disagreeing",
    # per campaign
    "CampaignRates", "campaign_rates", "campaign_rates_from", "delivered_count", "RATE_NAMES", "Funnel", "funnel",
    # across a selection
    "totals", "pooled_rate", "RateSummary", "summarize", "Ranking", "top_bottom", "GroupRates", "grouped_rates",
    "factorize", "index_of", "group_sum", "group_count",
    # over time
    "UNITS", "to_local", "utc_offsets", "bucket_starts", "CountSeries", "RateSeries", "count_over_time",
    "rate_over_time", "moving_average", "rolling_rate",
    "Curve", "snapshot_curve", "event_curve", "events_within", "FIRST_HOUR_DAY_WEEK_S",
    # engagement
    "WEEKDAYS", "HeatmapGrid", "weekday_hour_heatmap", "time_to_event", "DEFAULT_DELAY_EDGES_H",
    "DelayDistribution", "delay_distribution", "median_delay", "half_life", "last_engaged_at",
    "last_event_at", "recency_days", "Recency", "engagement_recency",
    # lists, cohorts, links
    "membership_times", "Growth", "list_growth", "ListCounts", "list_counts", "ListEngagement",
    "list_engagement", "CohortGrid", "signup_cohorts", "LinkStats", "link_performance", "normalize_url",
    # comparisons and flags
    "TrailingHistory", "trailing_history", "Comparison", "compare_campaigns",
    "FlagThresholds", "CampaignFlags", "campaign_flags",
    # maturity: settled or in progress
    "DEFAULT_SETTLED_HOURS", "IN_PROGRESS", "settled", "in_progress", "hours_since",
]
