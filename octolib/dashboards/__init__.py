"""The Voilà dashboards: one module per page, each a function the notebook calls.

A notebook in ``notebooks/`` is thin (STYLE.md §9)::

    from octolib.config import Settings
    from octolib.dashboards import overview_page
    overview_page(Settings.from_env())

Pages are listed once, in :mod:`~octolib.dashboards.registry` (``notebooks/<name>.ipynb``
calls ``<name>_page(settings)`` from ``dashboards/<name>.py``; tests call its ``build_*(data)``
and drive the widgets by setting their values):

* :mod:`~octolib.dashboards.overview` — KPI cards, rate trend, best/worst, flags, last sync
* :mod:`~octolib.dashboards.campaigns` — the campaign table, comparison chart, CSV
* :mod:`~octolib.dashboards.campaign` — one campaign (``campaign.ipynb?id=...``)
* :mod:`~octolib.dashboards.lists` — lists, growth, engagement, fields, tags
* :mod:`~octolib.dashboards.contacts` — contact filters, table, one contact's history
* :mod:`~octolib.dashboards.engagement` — heatmap, time to open, cohorts, recency
* :mod:`~octolib.dashboards.sync` — "Sync now" with progress, the last runs
* :mod:`~octolib.dashboards.report_builder` — partner PDFs: run, progress, preview, download, history
* :mod:`~octolib.dashboards.partners` — create, edit and archive partners; live rule matches

Shared: :mod:`~octolib.dashboards.widgets` (frame, tables, charts, CSV button),
:mod:`~octolib.dashboards.data` (reads cached per sync run), :mod:`~octolib.dashboards.base`.
Serving (Voilà with pre-started kernels behind the login, the render-stall fix):
:mod:`~octolib.server.voila`. Imports are lazy, so the server process can import
this package without loading plotly and ipywidgets.
"""

from __future__ import annotations

import importlib
from typing import Any

from octolib.dashboards.registry import NAVIGATION, PAGES, PageSpec, page_spec

__all__ = [
    *(spec.function for spec in PAGES),
    *(spec.builder for spec in PAGES),
    "open_data", "DashboardData", "PAGES", "PageSpec", "page_spec", "NAVIGATION",
]

#: Where each lazily imported name lives: the page functions and builders from the registry.
_WHERE = {
    **{spec.function: spec.name for spec in PAGES},
    **{spec.builder: spec.name for spec in PAGES},
    "open_data": "base", "DashboardData": "data",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'octolib.dashboards' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"octolib.dashboards.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
