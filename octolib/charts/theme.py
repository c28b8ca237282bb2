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
