"""The report templates: their names, titles, versions and notebooks.

A template is a papermill notebook (its ``parameters`` cell is its contract) plus a
builder in :mod:`octolib.reports.builders` that does the computing. The package ships the
notebooks; reports run from the analysts' copies in the workspace's ``_report_templates/``
(:mod:`octolib.workspace`), so an edit made in JupyterLab is what runs. The
version printed in every PDF footer lives here, next to the builder it describes: bump it
when a template's numbers or layout change, so an old PDF can be told from a new one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from octolib.errors import ConfigError

__all__ = ["TemplateInfo", "TEMPLATES", "DEFAULT_TEMPLATES_DIR", "template_info", "notebook_path"]

#: The templates the package ships (``report_notebooks/`` of the repository). Reports run
#: from the workspace's copies; this is what seeds them, and what tests read.
DEFAULT_TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "bundled" / "report_templates"


@dataclass(frozen=True)
class TemplateInfo:
    name: str
    title: str
    version: str
    description: str

    @property
    def notebook(self) -> str:
        return f"{self.name}.ipynb"


TEMPLATES: dict[str, TemplateInfo] = {
    t.name: t
    for t in (
        TemplateInfo(
            "campaign_summary", "Campaign summary", "1.0",
            "The partner's campaigns in the period: KPIs against the previous period and the account "
            "median, per-campaign table, rates over time, best campaign, links by destination.",
        ),
        TemplateInfo(
            "list_performance", "List performance", "1.0",
            "The partner's lists: growth, net change per month, churn, engagement per list, fields.",
        ),
        TemplateInfo(
            "engagement_analysis", "Engagement analysis", "1.0",
            "When and how the partner's audience engages: weekday x hour heatmap, time to open, "
            "engagement recency and signup cohorts.",
        ),
    )
}


def template_info(name: str) -> TemplateInfo:
    """The template ``name``; ConfigError listing the known ones otherwise."""
    try:
        return TEMPLATES[name]
    except KeyError:
        raise ConfigError(f"unknown report template {name!r}; use one of: {', '.join(TEMPLATES)}") from None


def notebook_path(name: str, templates_dir: Path | None = None) -> Path:
    """Where the notebook of template ``name`` is; ConfigError if it is missing."""
    info = template_info(name)
    path = Path(templates_dir or DEFAULT_TEMPLATES_DIR) / info.notebook
    if not path.is_file():
        raise ConfigError(f"template notebook {path} is missing; restore it from the package's copy in "
                          f"{DEFAULT_TEMPLATES_DIR} (a workspace re-seeds a deleted template on the next run)")
    return path
