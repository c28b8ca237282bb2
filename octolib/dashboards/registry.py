"""The page registry: every dashboard, once, in navigation order.

One row per page ties together what used to be kept in step by hand (a lazy-import map in
:mod:`octolib.dashboards`, the navigation list in :mod:`octolib.dashboards.widgets`): the
notebook ``notebooks/<name>.ipynb`` calls ``<name>_page`` from
``octolib/dashboards/<name>.py``; one word, used three times. ``tests/test_structure.py``
checks the registry against ``notebooks/`` both ways and that each notebook calls its page
function.

This module imports nothing heavy, so the server process can read it without loading
plotly or ipywidgets.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PageSpec", "PAGES", "NAVIGATION", "page_spec"]


@dataclass(frozen=True)
class PageSpec:
    """One dashboard page.

    ``name`` is the notebook stem, the module name and the prefix of the page function;
    ``title`` is the page heading; ``label`` the text of its navigation link, None for a
    page reached only by links (one campaign); ``builder`` the ``build_*`` function tests
    drive with a :class:`~octolib.dashboards.data.DashboardData`.
    """

    name: str
    title: str
    label: str | None
    builder: str

    @property
    def notebook(self) -> str:
        return f"{self.name}.ipynb"

    @property
    def module(self) -> str:
        return f"octolib.dashboards.{self.name}"

    @property
    def function(self) -> str:
        return f"{self.name}_page"


#: Every page, in the order of the navigation bar.
PAGES: tuple[PageSpec, ...] = (
    PageSpec("overview", "Overview", "Overview", "build_overview"),
    PageSpec("campaigns", "Campaigns", "Campaigns", "build_campaigns"),
    PageSpec("campaign", "Campaign", None, "build_campaign_detail"),
    PageSpec("lists", "Lists", "Lists", "build_lists"),
    PageSpec("contacts", "Contacts", "Contacts", "build_contacts"),
    PageSpec("engagement", "Engagement", "Engagement", "build_engagement"),
    PageSpec("sync", "Sync", "Sync", "build_sync"),
    PageSpec("report_builder", "Report builder", "Reports", "build_report_builder"),
    PageSpec("partners", "Partners", "Partners", "build_partners"),
)

#: The navigation bar: (notebook stem, link text), in order.
NAVIGATION: tuple[tuple[str, str], ...] = tuple((p.name, p.label) for p in PAGES if p.label is not None)


def page_spec(name: str) -> PageSpec:
    """The registered page ``name`` (KeyError names the known ones)."""
    for spec in PAGES:
        if spec.name == name:
            return spec
    raise KeyError(f"no dashboard page {name!r}; pages: {', '.join(p.name for p in PAGES)}")
