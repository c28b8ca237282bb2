"""Template builders: ``build(ctx) -> ReportDocument``, one module per template.

A builder reads through ``octolib.store`` readers, computes through ``octolib.metrics``,
draws through ``octolib.charts`` and formats every number once into the document.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["BUILDERS"]


def _campaign_summary(ctx: Any) -> Any:
    from octolib.reports.builders.campaign_summary import build

    return build(ctx)


def _list_performance(ctx: Any) -> Any:
    from octolib.reports.builders.list_performance import build

    return build(ctx)


def _engagement_analysis(ctx: Any) -> Any:
    from octolib.reports.builders.engagement_analysis import build

    return build(ctx)


BUILDERS: dict[str, Callable[[Any], Any]] = {
    "campaign_summary": _campaign_summary,
    "list_performance": _list_performance,
    "engagement_analysis": _engagement_analysis,
}
