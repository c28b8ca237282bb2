"""The template registry: every report template, once (name, builder, parameters, sections).

A template is a papermill notebook ``<name>.ipynb`` (its ``parameters`` cell is its
contract) plus a builder ``octolib/reports/builders/<name>.py`` whose ``build(ctx)`` does
the computing: one word for both, and a row here for the rest. The command line, the report
builder page, the runner and partner schedules all read the template list from
:data:`TEMPLATES`; ``tests/test_structure.py`` checks it against the shipped notebooks both
ways. The package ships the notebooks (``report_notebooks/`` of the repository); reports run
from the analysts' copies in the workspace's ``_report_templates/`` (:mod:`octolib.workspace`),
so an edit made in JupyterLab is what runs.

The version printed in every PDF footer lives here, next to the builder it describes: bump
it when a template's numbers or layout change, so an old PDF can be told from a new one.
A template's ``sections`` are not typed here: they are its builder's ``SECTIONS`` (one
function per printed section, see :mod:`octolib.reports.sections`), read when asked for.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from octolib.errors import ConfigError
from octolib.reports.sections import FRAME, FRAME_TITLES, plan

if TYPE_CHECKING:
    from octolib.reports.sections import Builder, SectionSpec

__all__ = ["TemplateInfo", "TEMPLATES", "DEFAULT_TEMPLATES_DIR", "RUNNER_PARAMETERS", "CUSTOM_PARAMETERS",
           "template_info",
           "notebook_path"]

#: The templates the package ships (``report_notebooks/`` of the repository). Reports run
#: from the workspace's copies; this is what seeds them, and what tests read.
DEFAULT_TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "bundled" / "report_templates"


#: The parameters the runner sets in every template (each template must declare them).
RUNNER_PARAMETERS = ("partner", "date_from", "date_to", "output_dir", "data_dir", "db_name", "timezone",
                     "image_server", "env_file")

#: A custom report's parameters (issue 13), set only when chosen: the sections in print
#: order, the campaign ids, the analyst note (each template declares them, default None).
CUSTOM_PARAMETERS = ("sections", "campaign_ids", "note")


@dataclass(frozen=True)
class TemplateInfo:
    """One report template; ``parameters`` are the names its ``parameters`` cell declares."""

    name: str
    title: str
    version: str
    description: str
    parameters: tuple[str, ...] = RUNNER_PARAMETERS + CUSTOM_PARAMETERS
    #: Made by ``--all`` and schedules when no template is named. Off for a template that needs
    #: data an account may not have (the segment analysis needs linked customers): a partner
    #: gets it when it is named, in a schedule's templates or in the partner's preset.
    in_all: bool = True

    @property
    def notebook(self) -> str:
        return f"{self.name}.ipynb"

    @property
    def builder_module(self) -> str:
        return f"octolib.reports.builders.{self.name}"

    @property
    def builder(self) -> Builder:
        """The template's ``build(ctx, sections=None)``, imported when first asked for (the
        builders load plotly and numpy; the command line and partner checks only need the names)."""
        build: Builder = importlib.import_module(self.builder_module).build
        return build

    @property
    def section_specs(self) -> tuple[SectionSpec[Any], ...]:
        """The builder's ``SECTIONS``: every section the report can print, in print order."""
        specs: tuple[SectionSpec[Any], ...] = tuple(importlib.import_module(self.builder_module).SECTIONS)
        return specs

    @property
    def sections(self) -> tuple[str, ...]:
        """The names of the sections the report can print, in order (a section without data
        is left out of the document)."""
        return tuple(s.name for s in self.section_specs)

    @property
    def choices(self) -> tuple[tuple[str, str], ...]:
        """``(name, title)`` of everything a custom report can choose, in print order: the
        frame's summary and KPI table, every section, the metric definitions."""
        head = tuple((n, FRAME_TITLES[n]) for n in FRAME[:2])
        return (*head, *((s.name, s.title) for s in self.section_specs), (FRAME[2], FRAME_TITLES[FRAME[2]]))

    @property
    def default_choice(self) -> tuple[str, ...]:
        """The names the template's full report prints (``sections=None``), in print order."""
        return (*FRAME[:2], *(s.name for s in self.section_specs if s.default), FRAME[2])

    def check_sections(self, names: Sequence[str] | None) -> tuple[str, ...]:
        """``names`` (a custom report's choice, in its order) if the template has each one
        once (frame parts included, :data:`~octolib.reports.sections.FRAME`); the full
        report's sections for None; ConfigError naming an unknown or repeated one otherwise."""
        if names is None:
            return tuple(s.name for s in self.section_specs if s.default)
        chosen = [names] if isinstance(names, str) else list(names)
        plan(self.section_specs, chosen, self.name)
        return tuple(chosen)


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
        TemplateInfo(
            "segment_analysis", "Segment analysis", "1.0",
            "Which kinds of customer the partner's campaigns (or one energy project's) reached and moved: "
            "rates by customer segment with intervals and a test, groups below the minimum size never shown.",
            parameters=RUNNER_PARAMETERS + CUSTOM_PARAMETERS + ("project",), in_all=False,
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
