"""Plotly figure builders shared by the dashboards and the PDFs (DESIGN.md §5).

Every builder takes metric results from :mod:`octolib.metrics` (never a database handle)
and a title, and returns a ``go.Figure`` in the ``"octopus"`` template. An empty selection
gives a figure that says "No data for this selection" instead of raising. Numbers in text
go through :mod:`octolib.metrics.display`, so NaN never shows up as "nan".

Offline: nothing here points at a CDN. Dashboards show figures through the plotly
mimetype or ``go.FigureWidget(fig)`` (plotly.js served by the local labextension); PDFs
use :func:`to_png` (kaleido + local Chromium, MathJax off).
"""

from octolib.charts.campaigns import comparison_figure, funnel_figure, link_bars_figure, short_url
from octolib.charts.engagement import cohort_figure, heatmap_figure, recency_figure, time_to_open_figure
from octolib.charts.export import stop_png_server, to_html, to_png
from octolib.charts.theme import (
    FIGURE_CONFIG,
    NO_DATA,
    PALETTE,
    TEMPLATE_NAME,
    empty_figure,
    octopus_template,
    register_theme,
)
from octolib.charts.segments import segment_figure
from octolib.charts.time import curve_figure, list_growth_figure, rate_over_time_figure

register_theme()

__all__ = [
    "TEMPLATE_NAME", "PALETTE", "NO_DATA", "FIGURE_CONFIG", "octopus_template", "register_theme", "empty_figure",
    "funnel_figure", "comparison_figure", "link_bars_figure", "short_url",
    "rate_over_time_figure", "curve_figure", "list_growth_figure",
    "heatmap_figure", "time_to_open_figure", "recency_figure", "cohort_figure",
    "to_png", "to_html", "stop_png_server",
    "segment_figure",
]
