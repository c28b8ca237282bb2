"""Campaign charts: the funnel, comparison bars and link bars.

Builders take metric results (:mod:`octolib.metrics`) and a title and return a
``go.Figure``; an empty selection gives the "No data for this selection" figure. Every
number shown as text goes through :mod:`octolib.metrics.display`, so NaN prints as "—".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from numpy.typing import ArrayLike

from octolib.charts.theme import BAD, NEUTRAL, PALETTE, empty_figure, new_figure, rate_axis
from octolib.metrics.display import format_count, format_rate
from octolib.metrics.links import LinkStats
from octolib.metrics.rates import Funnel

__all__ = ["funnel_figure", "comparison_figure", "link_bars_figure", "short_url"]


def funnel_figure(funnel: Funnel, title: str) -> go.Figure:
    """Sent → delivered → opened → clicked, each stage labelled with its share of the stage
    before and that base named ("570 (36.1% of delivered)").

    Why of the previous stage, named: the open-rate card is opens ÷ delivered; a funnel
    label of opens ÷ sent beside it (34.8% against 36.1%) read as a contradiction. The
    share of the sent is in the hover.

    >>> from octolib.metrics import funnel
    >>> fig = funnel_figure(funnel([100], [95], [40], [8]), "May newsletter")
    >>> fig.data[0].type, list(fig.data[0].y)
    ('funnel', ['Sent', 'Delivered', 'Opened', 'Clicked'])
    >>> list(fig.data[0].text)
    ['100', '95 (95.0% of sent)', '40 (42.1% of delivered)', '8 (20.0% of opened)']
    """
    counts = np.asarray(funnel.counts)
    if counts.size == 0 or counts[0] <= 0:
        return empty_figure(title)
    fig = new_figure(title)
    stages = list(funnel.stages)
    text = [format_count(counts[0])] + [
        f"{format_count(c)} ({format_rate(p)} of {stages[k].lower()})"
        for k, (c, p) in enumerate(zip(counts[1:], funnel.rate_of_previous[1:]))]
    hover = [f"{s}: {format_count(c)}<br>{format_rate(r)} of sent"
             for s, c, r in zip(funnel.stages, counts, funnel.rate_of_first)]
    fig.add_trace(go.Funnel(y=list(funnel.stages), x=counts.tolist(), text=text, textinfo="text",
                            hovertext=hover, hoverinfo="text", marker=dict(color=PALETTE[0]),
                            connector=dict(line=dict(color=NEUTRAL, width=1)), name="Funnel"))
    fig.update_yaxes(showgrid=False)
    return fig


def comparison_figure(labels: Sequence[str] | ArrayLike, values: ArrayLike, title: str,
                      reference: float | None = None, reference_label: str = "Account median",
                      highlight: ArrayLike | None = None, value_name: str = "Open rate") -> go.Figure:
    """Horizontal bars of a rate per item, a reference line (e.g. the account median), and
    highlighted (flagged) items in the warning colour.

    Items whose value is NaN are listed with an empty bar and "—", so a campaign with no
    deliveries is visible, not silently dropped.

    >>> fig = comparison_figure(["A", "B"], [0.4, float("nan")], "Open rate by campaign", reference=0.35,
    ...                         highlight=[False, True])
    >>> fig.data[0].type, list(fig.data[0].text)
    ('bar', ['40.0%', '—'])
    """
    names = [str(x) for x in np.asarray(labels, dtype=object).reshape(-1)]
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    if v.size == 0 or np.isnan(v).all():
        return empty_figure(title)
    flagged = np.zeros(v.size, dtype=bool) if highlight is None else np.asarray(highlight, dtype=bool).reshape(-1)
    colours = [BAD if f else PALETTE[0] for f in flagged]
    fig = new_figure(title)
    fig.add_trace(go.Bar(
        y=names, x=np.nan_to_num(v).tolist(), orientation="h", name=value_name,
        marker=dict(color=colours), text=[format_rate(x) for x in v], textposition="outside",
        hovertext=[f"{n}: {format_rate(x)}" + (" (flagged)" if f else "") for n, x, f in zip(names, v, flagged)],
        hoverinfo="text", cliponaxis=False,
    ))
    top = float(np.nanmax(v))
    if reference is not None and np.isfinite(reference):
        fig.add_vline(x=float(reference), line=dict(color=NEUTRAL, dash="dash", width=1.5),
                      annotation_text=f"{reference_label} {format_rate(reference)}",
                      annotation_position="top")
        top = max(top, float(reference))
    fig.update_xaxes(title=value_name, **rate_axis(top, headroom=1.2))
    fig.update_yaxes(autorange="reversed", showgrid=False, type="category")
    fig.update_layout(showlegend=False, height=max(300, 120 + 28 * v.size))
    return fig


def short_url(url: str, limit: int = 60) -> str:
    """A URL for an axis label: no scheme, at most ``limit`` characters (middle cut with "…").

    >>> short_url("https://shop.example/a/very/long/path/to/a/product", 30)
    'shop.example/a/…h/to/a/product'
    """
    text = str(url)
    for prefix in ("https://", "http://"):
        if text.startswith(prefix):
            text = text[len(prefix):]
            break
    if len(text) <= limit:
        return text
    keep = limit - 1
    return text[: keep // 2 + keep % 2] + "…" + text[len(text) - keep // 2:]


def link_bars_figure(links: LinkStats, title: str, top: int = 15) -> go.Figure:
    """Total clicks per destination, the ``top`` most clicked, with unique clicks in the hover.

    >>> from octolib.metrics import link_performance
    >>> fig = link_bars_figure(link_performance(["https://a.example/x"], [3], [2]), "Links")
    >>> list(fig.data[0].y), list(fig.data[0].x)
    (['a.example/x'], [3])
    """
    total = np.asarray(links.clicked_total)
    if len(links) == 0 or float(np.sum(total)) <= 0:
        return empty_figure(title)
    n = min(top, len(links))
    urls = [str(u) for u in links.url[:n]]
    labels = _unique_labels([short_url(u) for u in urls])
    fig = new_figure(title)
    fig.add_trace(go.Bar(
        y=labels, x=total[:n].tolist(), orientation="h", name="Clicks", marker=dict(color=PALETTE[0]),
        text=[format_count(x) for x in total[:n]], textposition="outside", cliponaxis=False,
        hovertext=[f"{u}<br>{format_count(t)} clicks, {format_count(q)} unique (per campaign), "
                   f"{format_rate(s)} of all clicks"
                   for u, t, q, s in zip(urls, total[:n], links.clicked_unique[:n], links.click_share[:n])],
        hoverinfo="text",
    ))
    fig.update_yaxes(autorange="reversed", showgrid=False, type="category")
    fig.update_xaxes(title="Clicks", rangemode="tozero")
    fig.update_layout(showlegend=False, height=max(300, 120 + 28 * n))
    return fig


def _unique_labels(labels: list[str]) -> list[str]:
    """Category axes merge equal labels; two URLs shortened alike must stay two bars."""
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        k = seen.get(label, 0)
        seen[label] = k + 1
        out.append(label if k == 0 else f"{label} ({k + 1})")
    return out
