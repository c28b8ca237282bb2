"""The Voilà dashboards: one module per page, each a function the notebook calls.

A notebook in ``notebooks/`` is thin (STYLE.md §9)::

    from octolib.config import Settings
    from octolib.dashboards import overview_page
    overview_page(Settings.from_env())

Pages (``<name>_page(settings)`` for notebooks, ``build_<name>(data)`` for tests, which
drive the widgets by setting their values):

* :mod:`~octolib.dashboards.overview` — KPI cards, rate trend, best/worst, flags, last sync
* :mod:`~octolib.dashboards.campaigns` — the campaign table, comparison chart, CSV
* :mod:`~octolib.dashboards.campaign_detail` — one campaign (``campaign.ipynb?id=...``)
* :mod:`~octolib.dashboards.lists` — lists, growth, engagement, fields, tags
* :mod:`~octolib.dashboards.contacts` — contact filters, table, one contact's history
* :mod:`~octolib.dashboards.engagement` — heatmap, time to open, cohorts, recency
* :mod:`~octolib.dashboards.syncing` — "Sync now" with progress, the last runs
* :mod:`~octolib.dashboards.report_builder` — partner PDFs: run, progress, preview, download, history

Shared: :mod:`~octolib.dashboards.widgets` (frame, tables, charts, CSV button),
:mod:`~octolib.dashboards.data` (reads cached per sync run), :mod:`~octolib.dashboards.base`.
Serving (Voilà with pre-started kernels behind the login, the render-stall fix):
:mod:`~octolib.server.voila`. Imports are lazy, so the server process can import
this package without loading plotly and ipywidgets.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "overview_page", "campaigns_page", "campaign_page", "lists_page", "contacts_page", "engagement_page", "sync_page",
    "report_builder_page", "build_report_builder",
    "build_overview", "build_campaigns", "build_campaign_detail", "build_lists", "build_contacts",
    "build_engagement", "build_sync", "open_data", "DashboardData",
]

_WHERE = {
    "overview_page": "overview", "build_overview": "overview",
    "campaigns_page": "campaigns", "build_campaigns": "campaigns",
    "campaign_page": "campaign_detail", "build_campaign_detail": "campaign_detail",
    "lists_page": "lists", "build_lists": "lists",
    "contacts_page": "contacts", "build_contacts": "contacts",
    "engagement_page": "engagement", "build_engagement": "engagement",
    "sync_page": "syncing", "build_sync": "syncing",
    "report_builder_page": "report_builder", "build_report_builder": "report_builder",
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
