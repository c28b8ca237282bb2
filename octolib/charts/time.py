"""Charts over time: rates by send date with a moving average, metric curves after the
send, and list growth.

Gaps stay gaps: a bucket with nothing sent has no point (the metrics give NaN there and
plotly does not join across it), and the moving average is the pooled trailing rate
(:func:`octolib.metrics.timeseries.rolling_rate`), so small buckets move it little.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from octolib.charts.theme import (
    BAD,
    GOOD,
    NEUTRAL,
    PALETTE,
    TEMPLATE_NAME,
    date_axis,
    empty_figure,
    new_figure,
    nice_step,
    rate_axis,
    register_theme,
)
from octolib.metrics.curves import Curve
from octolib.metrics.display import format_count, format_rate, plural
from octolib.metrics.lists import Growth
from octolib.metrics.ratios import is_small
from octolib.metrics.timeseries import RateSeries, rolling_rate

__all__ = ["rate_over_time_figure", "curve_figure", "list_growth_figure"]

_UNIT_WORD = {"day": "day", "week": "week", "month": "month"}


def _dates(starts: np.ndarray) -> list[str]:
    return np.asarray(starts).astype("datetime64[D]").astype(str).tolist()


def rate_over_time_figure(series: RateSeries, title: str, label: str = "Open rate", window: int = 4) -> go.Figure:
    """A rate per bucket (markers; hollow where it rests on few recipients) and its
    ``window``-bucket moving average (line).

    >>> import numpy as np
    >>> from octolib.metrics import rate_over_time
    >>> t = np.array(["2024-01-01", "2024-01-08"], dtype="datetime64[s]")
    >>> fig = rate_over_time_figure(rate_over_time(t, [10, 20], [100, 100]), "Open rate by week")
    >>> [tr.name for tr in fig.data]
    ['Open rate', '4-week moving average']
    """
    rate = np.asarray(series.rate, dtype=np.float64)
    if len(series) == 0 or np.isnan(rate).all():
        return empty_figure(title)
    x = _dates(series.start)
    small = np.asarray(is_small(series.denominator), dtype=bool).reshape(-1)
    hover = [f"{d}: {format_rate(r)}<br>{format_count(n)} of {format_count(den)}, {plural(c, 'campaign')}"
             + (" (small numbers)" if s and c else "")
             for d, r, n, den, c, s in zip(x, rate, series.numerator, series.denominator, series.count, small)]
    fig = new_figure(title)
    fig.add_trace(go.Scatter(
        x=x, y=[None if np.isnan(r) else float(r) for r in rate], mode="lines+markers", name=label,
        line=dict(color=PALETTE[0], width=1), connectgaps=False,
        marker=dict(size=8, color=[("white" if s else PALETTE[0]) for s in small],
                    line=dict(color=PALETTE[0], width=1.5)),
        hovertext=hover, hoverinfo="text",
    ))
    if window > 1:
        # Drawn only where a bucket has sends: a trailing average carried into empty weeks
        # would draw a line where nothing happened (e.g. past the last campaign).
        avg = rolling_rate(series.numerator, series.denominator, window)
        avg = np.where(np.isnan(rate), np.nan, avg)
        fig.add_trace(go.Scatter(
            x=x, y=[None if np.isnan(r) else float(r) for r in avg], mode="lines",
            name=f"{window}-{_UNIT_WORD.get(series.unit, 'bucket')} moving average",
            line=dict(color=PALETTE[1], width=2.5), connectgaps=True,
            hovertext=[f"{d}: {format_rate(r)} ({window}-{series.unit} average)" for d, r in zip(x, avg)],
            hoverinfo="text",
        ))
    top = float(np.nanmax(rate))
    fig.update_yaxes(title=label, **rate_axis(top))
    fig.update_xaxes(title=f"Send date ({series.tz}, by {series.unit})", **date_axis(series.unit, len(series)))
    return fig


def curve_figure(curves: Mapping[str, Curve] | Curve, title: str, y_title: str = "Open rate",
                 as_share: bool = False, nothing: str = "") -> go.Figure:
    """Metric curves after the send: one line per campaign (or per source) against hours.

    ``as_share`` labels the axis as a share of all events instead of a rate. When every
    value is 0 the chart says ``nothing`` (e.g. "No opens recorded") instead of drawing a
    flat line on a crushed axis.

    >>> import numpy as np
    >>> from octolib.metrics import Curve
    >>> fig = curve_figure({"May": Curve(np.array([0.0, 1.0]), np.array([0.0, 0.2]))}, "After sending")
    >>> fig.data[0].name, list(fig.data[0].x)
    ('May', [0.0, 1.0])
    """
    named = {"": curves} if isinstance(curves, Curve) else dict(curves)
    drawable = {k: c for k, c in named.items() if len(c) and not np.isnan(np.asarray(c.value, float)).all()}
    if not drawable:
        return empty_figure(title)
    if all(np.nan_to_num(np.asarray(c.value, float)).max() <= 0 for c in drawable.values()):
        return empty_figure(title, nothing or f"{y_title}: 0% throughout")
    fig = new_figure(title)
    top = 0.0
    for i, (name, c) in enumerate(drawable.items()):
        v = np.asarray(c.value, dtype=np.float64)
        top = max(top, float(np.nanmax(v)))
        fig.add_trace(go.Scatter(
            x=np.asarray(c.hours, dtype=np.float64).tolist(), y=[None if np.isnan(r) else float(r) for r in v],
            mode="lines+markers" if len(c) <= 30 else "lines", name=name or y_title, line_shape="hv",
            line=dict(color=PALETTE[i % len(PALETTE)], width=2),
            hovertext=[f"{name + ': ' if name else ''}{h:g} h after sending: {format_rate(r)}"
                       for h, r in zip(c.hours, v)],
            hoverinfo="text",
        ))
    fig.update_yaxes(title=f"{y_title} (share of all)" if as_share else y_title, **rate_axis(top))
    fig.update_xaxes(title="Hours after sending", rangemode="tozero")
    fig.update_layout(showlegend=len(drawable) > 1 or bool(next(iter(drawable))))
    return fig


def list_growth_figure(growth: Growth, title: str) -> go.Figure:
    """Joins (up) and leaves (down) per bucket as bars, subscribers as a line on the right axis.

    >>> import numpy as np
    >>> from octolib.metrics import list_growth
    >>> j = np.array(["2024-01-05", "2024-02-05"], dtype="datetime64[s]")
    >>> fig = list_growth_figure(list_growth(j, np.array(["NaT", "NaT"], dtype="datetime64[s]")), "Growth")
    >>> [tr.name for tr in fig.data]
    ['Joined', 'Left', 'Subscribers']
    """
    if len(growth) == 0:
        return empty_figure(title)
    register_theme()
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.update_layout(template=TEMPLATE_NAME, title=dict(text=title or ""), barmode="relative")
    x = _dates(growth.start)
    fig.add_trace(go.Bar(x=x, y=np.asarray(growth.joined_count).tolist(), name="Joined", marker=dict(color=GOOD),
                         hovertext=[f"{d}: {format_count(v)} joined" for d, v in zip(x, growth.joined_count)],
                         hoverinfo="text"), secondary_y=False)
    fig.add_trace(go.Bar(x=x, y=(-np.asarray(growth.left_count)).tolist(), name="Left", marker=dict(color=BAD),
                         hovertext=[f"{d}: {format_count(v)} left, churn {format_rate(c)}"
                                    for d, v, c in zip(x, growth.left_count, growth.churn_rate)],
                         hoverinfo="text"), secondary_y=False)
    fig.add_trace(go.Scatter(x=x, y=np.asarray(growth.subscribers).tolist(), name="Subscribers", mode="lines",
                             line=dict(color=PALETTE[0], width=2.5),
                             hovertext=[f"{d}: {format_count(v)} subscribers" for d, v in zip(x, growth.subscribers)],
                             hoverinfo="text"), secondary_y=True)
    left, right = _aligned_ranges(np.asarray(growth.joined_count, dtype=np.float64),
                                  np.asarray(growth.left_count, dtype=np.float64),
                                  np.asarray(growth.subscribers, dtype=np.float64))
    fig.update_yaxes(title="Joined / left", secondary_y=False, zeroline=True, zerolinecolor=NEUTRAL,
                     range=left["range"], tick0=0, dtick=left["dtick"])
    fig.update_yaxes(title="Subscribers", secondary_y=True, showgrid=False, zeroline=False,
                     range=right["range"], tick0=0, dtick=right["dtick"], tickformat=",d")
    fig.update_xaxes(title=f"By {growth.unit}", **date_axis(growth.unit, len(growth)))
    return fig


def _aligned_ranges(joined: np.ndarray, left: np.ndarray, subscribers: np.ndarray) -> tuple[dict, dict]:
    """Ranges for the two y axes of the growth chart with their zeros at the same height,
    and round tick steps on both.

    Without this the bars' axis (which goes below 0 for leaves) and the subscribers' axis
    (which starts at 0) put their zeros at different heights, so the subscriber line seemed
    to dip below 0, and plotly's own right-axis ticks landed on values like 1,210.

    >>> l, r = _aligned_ranges(np.array([100.0]), np.array([50.0]), np.array([2000.0]))
    >>> [round(v, 9) for v in l["range"]], [round(v, 9) for v in r["range"]], r["dtick"]
    ([-55.0, 110.0], [-1100.0, 2200.0], 500.0)
    """
    up = max(float(np.nanmax(joined, initial=0.0)), 1.0) * 1.1
    down = float(np.nanmax(left, initial=0.0)) * 1.1
    top = max(float(np.nanmax(subscribers, initial=0.0)), 1.0) * 1.1
    below = down / up  # the share of the axis under zero, as a multiple of the part above
    return ({"range": [-down, up], "dtick": nice_step(up + down)},
            {"range": [-top * below, top], "dtick": nice_step(top, ticks=6)})
