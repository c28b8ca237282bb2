"""Engagement charts: weekday × hour heatmap, time to open, recency, signup cohorts."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from octolib.charts.theme import NEUTRAL, PALETTE, SEQUENTIAL, empty_figure, new_figure
from octolib.metrics.cohorts import CohortGrid
from octolib.metrics.display import format_count, format_duration, format_rate, plural
from octolib.metrics.engagement import DelayDistribution, HeatmapGrid, Recency

__all__ = ["heatmap_figure", "time_to_open_figure", "median_sentence", "recency_figure", "cohort_figure"]


def heatmap_figure(grid: HeatmapGrid, title: str, label: str = "Opens") -> go.Figure:
    """Events by weekday (rows, Monday on top) and local hour (columns).

    >>> import numpy as np
    >>> from octolib.metrics import weekday_hour_heatmap
    >>> g = weekday_hour_heatmap(np.array(["2024-01-01T09:00"], dtype="datetime64[s]"))
    >>> fig = heatmap_figure(g, "Opens by weekday and hour")
    >>> fig.data[0].type, len(fig.data[0].z), len(fig.data[0].z[0])
    ('heatmap', 7, 24)
    """
    if grid.total <= 0:
        return empty_figure(title)
    fig = new_figure(title)
    hours = [f"{h:02d}" for h in grid.hours]
    share = grid.share
    hover = [[f"{d} {h}:00: {format_count(c)} {label.lower()} ({format_rate(s)})"
              for h, c, s in zip(hours, row_c, row_s)]
             for d, row_c, row_s in zip(grid.weekdays, grid.counts, share)]
    fig.add_trace(go.Heatmap(z=np.asarray(grid.counts).tolist(), x=hours, y=list(grid.weekdays), name=label,
                             colorscale=SEQUENTIAL, hovertext=hover, hoverinfo="text", xgap=1, ygap=1,
                             colorbar=dict(title=dict(text=label), thickness=12)))
    fig.update_yaxes(autorange="reversed", showgrid=False, type="category")
    fig.update_xaxes(showgrid=False, type="category", title=f"Hour ({grid.tz})")
    return fig


def _edge_label(seconds: float) -> str:
    return "≤ " + format_duration(seconds)


def time_to_open_figure(dist: DelayDistribution, title: str, event: str = "open") -> go.Figure:
    """Share of ``event``s (``"open"`` or ``"click"``) per delay bin (bars) and cumulative
    share (line), with the median said as what it means: "half of all opens came within ...".

    The half-life of a fitted exponential (ln 2 × mean) is not shown beside the median: long
    tails make it hours longer than the median, and two "halves" that disagree confuse.

    >>> from octolib.metrics import delay_distribution
    >>> fig = time_to_open_figure(delay_distribution([600, 7200]), "Time to open")
    >>> [tr.name for tr in fig.data]
    ['Opens in bin', 'Cumulative share']
    >>> fig = time_to_open_figure(delay_distribution([600, 7200]), "Time to click", event="click")
    >>> [tr.name for tr in fig.data], fig.layout.yaxis.title.text
    (['Clicks in bin', 'Cumulative share'], 'Share of clicks')
    """
    if dist.n == 0:
        return empty_figure(title)
    noun = f"{event}s"
    fig = new_figure(title)
    labels = [_edge_label(e) for e in dist.edges_s[1:]]
    per_bin = np.asarray(dist.counts, dtype=np.float64) / dist.n
    fig.add_trace(go.Bar(x=labels, y=per_bin.tolist(), name=f"{noun.capitalize()} in bin",
                         marker=dict(color=PALETTE[5]),
                         hovertext=[f"{lab}: {plural(c, event)} ({format_rate(s)})"
                                    for lab, c, s in zip(labels, dist.counts, per_bin)], hoverinfo="text"))
    fig.add_trace(go.Scatter(x=labels, y=np.asarray(dist.cumulative_share, dtype=np.float64).tolist(),
                             name="Cumulative share", mode="lines+markers", line=dict(color=PALETTE[0], width=2.5),
                             hovertext=[f"{lab}: {format_rate(s)} of {noun}" for lab, s in
                                        zip(labels, dist.cumulative_share)], hoverinfo="text"))
    note = median_sentence(dist, event)
    if dist.beyond:
        note += f" · {format_count(dist.beyond)} later than {format_duration(dist.edges_s[-1])}"
    fig.add_annotation(text=note, x=1.0, y=1.0, xref="paper", yref="paper", xanchor="right", yanchor="bottom",
                       showarrow=False, font=dict(color=NEUTRAL))
    fig.update_yaxes(tickformat=".0%", range=[0, 1.05], title=f"Share of {noun}")
    fig.update_xaxes(type="category", title="Time after sending")
    fig.update_layout(legend=dict(y=1.08))
    return fig


def median_sentence(dist: DelayDistribution, event: str = "open") -> str:
    """The median delay as a reader takes it in at once.

    >>> from octolib.metrics import delay_distribution
    >>> median_sentence(delay_distribution([600, 1800, 7200]), "click")
    'Half of all clicks came within 30 min'
    """
    return f"Half of all {event}s came within {format_duration(dist.median_s)}"


def recency_figure(recency: Recency, title: str) -> go.Figure:
    """Share of contacts engaged within each window (30/90/180 days) and never.

    >>> import numpy as np
    >>> from octolib.metrics import engagement_recency
    >>> r = engagement_recency(np.array(["2024-03-30", "NaT"], dtype="datetime64[s]"), np.datetime64("2024-04-01"))
    >>> list(recency_figure(r, "Recency").data[0].x)
    ['30 days', '90 days', '180 days', 'Never']
    """
    if recency.contacts <= 0:
        return empty_figure(title)
    fig = new_figure(title)
    labels = [f"{w} days" for w in recency.windows_days] + ["Never"]
    counts = list(np.asarray(recency.engaged_count).tolist()) + [recency.never_count]
    rates = list(np.asarray(recency.engaged_rate).tolist()) + [recency.never_count / recency.contacts]
    colours = [PALETTE[0]] * len(recency.windows_days) + [NEUTRAL]
    fig.add_trace(go.Bar(x=labels, y=rates, name="Contacts", marker=dict(color=colours),
                         text=[format_rate(r) for r in rates], textposition="outside", cliponaxis=False,
                         hovertext=[f"{lab}: {format_count(c)} of {format_count(recency.contacts)} contacts"
                                    for lab, c in zip(labels, counts)], hoverinfo="text"))
    fig.update_yaxes(tickformat=".0%", range=[0, 1.1], title="Share of contacts")
    fig.update_xaxes(type="category", title="Opened or clicked within")
    fig.update_layout(showlegend=False)
    return fig


def cohort_figure(grid: CohortGrid, title: str) -> go.Figure:
    """Signup month (rows) × months since signup (columns): share of the cohort engaged.

    Cells a cohort has not reached yet are blank.

    >>> import numpy as np
    >>> from octolib.metrics import signup_cohorts
    >>> g = signup_cohorts(np.array(["2024-01-10"], dtype="datetime64[s]"), [0],
    ...                    np.array(["2024-02-01"], dtype="datetime64[s]"), max_offset=1)
    >>> fig = cohort_figure(g, "Cohorts")
    >>> list(fig.data[0].x), list(fig.data[0].y)
    (['0', '1'], ['2024-01 (n=1)'])
    """
    if len(grid) == 0 or int(np.sum(grid.size)) == 0:
        return empty_figure(title)
    fig = new_figure(title)
    rate = np.asarray(grid.engaged_rate, dtype=np.float64)
    x = [str(k) for k in grid.offsets]
    y = [f"{str(s)[:7]} (n={format_count(n)})" for s, n in zip(grid.cohort_start.astype(str), grid.size)]
    text = [["" if np.isnan(v) else format_rate(v, 0) for v in row] for row in rate]
    hover = [[f"{yl}, month {xl}: {format_rate(v)} engaged ({format_count(c)})" if not np.isnan(v)
              else f"{yl}, month {xl}: —" for xl, v, c in zip(x, row, crow)]
             for yl, row, crow in zip(y, rate, grid.engaged_count)]
    fig.add_trace(go.Heatmap(z=[[None if np.isnan(v) else float(v) for v in row] for row in rate], x=x, y=y,
                             text=text, texttemplate="%{text}", hovertext=hover, hoverinfo="text",
                             colorscale=SEQUENTIAL, zmin=0, zmax=1, xgap=1, ygap=1, name="Engaged",
                             colorbar=dict(title=dict(text="Engaged"), tickformat=".0%", thickness=12)))
    fig.update_yaxes(autorange="reversed", type="category", showgrid=False, title="Signup month")
    fig.update_xaxes(type="category", showgrid=False, title="Months since signup")
    fig.update_layout(height=max(320, 140 + 26 * len(y)))
    return fig
