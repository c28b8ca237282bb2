"""Segment chart: one rate per segment with its 95 % interval (dashboard and PDF alike)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from octolib.charts.theme import PALETTE, empty_figure, new_figure, rate_axis
from octolib.metrics.display import format_count, format_rate
from octolib.metrics.rate_specs import RATES
from octolib.metrics.segments import SegmentTable

__all__ = ["segment_figure"]


def segment_figure(table: SegmentTable, rate: str, title: str) -> go.Figure:
    """Bars of ``rate`` per segment, whiskers for the Wilson interval, contacts in the labels.

    Only the table's shown groups are drawn (each at least the minimum size), so a chart can
    never reveal a group the table suppressed.
    """
    values = np.asarray(table.rates.get(rate, []), dtype=np.float64)
    if values.size == 0 or not np.isfinite(values).any():
        return empty_figure(title)
    lo, hi = np.asarray(table.low[rate]), np.asarray(table.high[rate])
    fig = new_figure(title)
    labels = [f"{label}<br>({format_count(n)} contacts)" for label, n in zip(table.labels, table.contacts)]
    shown = np.nan_to_num(values)
    fig.add_trace(go.Bar(
        x=labels, y=shown.tolist(), marker=dict(color=PALETTE[0]), name=RATES[rate].label,
        text=[format_rate(v) for v in values], textposition="outside",
        error_y=dict(type="data", symmetric=False, array=np.nan_to_num(hi - values).tolist(),
                     arrayminus=np.nan_to_num(values - lo).tolist(), color="#555"),
        hovertext=[f"{label}: {format_rate(v)} (95% interval {format_rate(a)} to {format_rate(b)})"
                   for label, v, a, b in zip(table.labels, values, lo, hi)], hoverinfo="text"))
    top = float(np.nanmax(np.concatenate([values, hi])))
    fig.update_yaxes(**rate_axis(top, headroom=1.2), title=RATES[rate].label)
    fig.update_layout(showlegend=False)
    return fig
