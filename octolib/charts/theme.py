"""The one look of every octopus chart: a plotly template registered as ``"octopus"``.

Brand-neutral (partner PDFs carry the partner's colour on the cover, not in the data),
readable at PDF size, and colour-blind-safe: the qualitative colours are the Okabe–Ito
palette and the sequential scale is cividis, both readable with any common colour-vision
deficiency and in greyscale. Fonts are system font names only, so nothing is fetched: the
figures render the same offline in a Voilà page and in kaleido's headless Chromium.
"""

from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio

__all__ = [
    "TEMPLATE_NAME",
    "PALETTE",
    "GOOD",
    "BAD",
    "NEUTRAL",
    "SEQUENTIAL",
    "FONT_FAMILY",
    "NO_DATA",
    "FIGURE_CONFIG",
    "octopus_template",
    "register_theme",
    "new_figure",
    "empty_figure",
    "nice_step",
    "rate_axis",
    "date_axis",
]

TEMPLATE_NAME = "octopus"
#: Okabe–Ito, yellow last (weak on white).
PALETTE: tuple[str, ...] = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000",
                            "#F0E442")
GOOD = "#009E73"
BAD = "#D55E00"
NEUTRAL = "#7F7F7F"
SEQUENTIAL = "cividis"
FONT_FAMILY = "Inter, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
NO_DATA = "No data for this selection"
#: plotly ``config`` for dashboards: no plotly logo or cloud links, PNG download at 2x.
FIGURE_CONFIG: dict = {
    "displaylogo": False,
    "responsive": True,
    "toImageButtonOptions": {"format": "png", "scale": 2},
    "modeBarButtonsToRemove": ["lasso2d", "select2d"],
}


def octopus_template() -> go.layout.Template:
    """Build the template (a fresh object each call, so callers may tweak their copy)."""
    axis = dict(
        showgrid=True,
        gridcolor="#E5E5E5",
        zeroline=False,
        linecolor="#BDBDBD",
        ticks="outside",
        tickcolor="#BDBDBD",
        title=dict(standoff=8),
        automargin=True,
    )
    layout = go.Layout(
        font=dict(family=FONT_FAMILY, size=13, color="#222222"),
        title=dict(x=0.0, xanchor="left", font=dict(size=17)),
        colorway=list(PALETTE),
        colorscale=dict(sequential=SEQUENTIAL, sequentialminus=SEQUENTIAL),
        paper_bgcolor="white",
        plot_bgcolor="white",
        xaxis=axis,
        yaxis=axis,
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="left", x=0.0, title=dict(text="")),
        margin=dict(l=60, r=30, t=80, b=50),
        hoverlabel=dict(font=dict(family=FONT_FAMILY)),
        separators=".,",
    )
    template = go.layout.Template(layout=layout)
    template.data.bar = [go.Bar(marker=dict(line=dict(width=0)))]
    template.data.heatmap = [go.Heatmap(colorscale=SEQUENTIAL)]
    return template


def register_theme(make_default: bool = False) -> str:
    """Register the template under ``"octopus"`` (idempotent) and return its name.

    Builders name the template on every figure, so the global default is left alone
    unless ``make_default`` (handy in a notebook for ad-hoc figures).
    """
    if TEMPLATE_NAME not in pio.templates:
        pio.templates[TEMPLATE_NAME] = octopus_template()
    if make_default:
        pio.templates.default = TEMPLATE_NAME
    return TEMPLATE_NAME


def new_figure(title: str) -> go.Figure:
    """An empty themed figure with a title (``None`` becomes no title)."""
    register_theme()
    return go.Figure(layout=go.Layout(template=TEMPLATE_NAME, title=dict(text=title or "")))


def empty_figure(title: str, message: str = NO_DATA) -> go.Figure:
    """The figure every builder returns for an empty selection: the title and a message."""
    fig = new_figure(title)
    fig.add_annotation(text=message, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False,
                       font=dict(size=15, color=NEUTRAL))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def nice_step(span: float, ticks: int = 5) -> float:
    """A round tick step (1, 2 or 5 × 10^k) giving about ``ticks`` ticks over ``span``, so
    axes read 0, 500, 1,000 and not 160, 1,210, 2,270.

    >>> nice_step(2270), nice_step(0.011), nice_step(0)
    (500.0, 0.005, 1.0)
    """
    import math

    if not span > 0:
        return 1.0
    raw = span / max(1, ticks)
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * power:
            return float(round(m * power, 12))
    return float(10 * power)  # pragma: no cover - the loop always returns


def rate_axis(top: float, headroom: float = 1.1) -> dict:
    """y-axis settings for a rate whose largest value is ``top`` (a ratio in [0, 1]).

    Every tick label is distinct: the step is round and the label has as many decimals as
    the step needs (a 0-1% axis reads 0.0%, 0.2%, ... not 0%, 0%, 1%). An all-zero chart
    gets a 0-5% axis instead of a crushed one. ``headroom`` leaves room above the top
    (for labels printed outside bars).

    >>> rate_axis(0.0)["tickformat"], rate_axis(0.01)["tickformat"], rate_axis(0.42)["tickformat"]
    ('.0%', '.1%', '.0%')
    """
    import math

    upper = top * headroom if top > 0 else 0.05
    step = nice_step(upper)
    decimals = max(0, math.ceil(-math.log10(step * 100) - 1e-9))
    return dict(range=[0, upper], tick0=0, dtick=step, tickformat=f".{decimals}%")


def date_axis(unit: str, buckets: int = 12) -> dict:
    """x-axis settings for ``buckets`` buckets of ``unit``: a monthly chart gets ticks on
    months ("Jan 2026"; every 3rd or 12th month when there are many), not plotly's weekly
    default ("Jan 4, Jan 11").

    >>> date_axis("month")["dtick"], date_axis("month", 30)["dtick"], date_axis("week")
    ('M1', 'M3', {'type': 'date'})
    """
    if unit == "month":
        every = 1 if buckets <= 14 else 3 if buckets <= 42 else 12
        return dict(type="date", dtick=f"M{every}", tickformat="%b %Y")
    if unit == "year":
        return dict(type="date", dtick="M12", tickformat="%Y")
    return dict(type="date")
