"""The campaign page's "Energy project" control: an analyst links a campaign to a project by hand.

A small widget the campaign detail page holds: a menu of the projects, a Save button, and a
line saying how the current link was made (by rule, or by whom and when). Saving calls
:func:`octolib.customers.projects.set_campaign_project` (a hand link wins over rules) and
writes an audit record with the signed-in analyst (:func:`octolib.dashboards.identity.current_analyst`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as w

from octolib import audit
from octolib.customers.projects import project_names, set_campaign_project
from octolib.customers.source import SourceConfig, open_source
from octolib.dashboards.identity import current_analyst
from octolib.dashboards.widgets import esc

__all__ = ["ProjectLinkControl", "NONE"]

NONE = "-"


class ProjectLinkControl:
    """``menu`` (project id or ``NONE``), ``save`` (button), ``status`` (HTML); ``widget`` to place."""

    def __init__(self, store: Any, config: SourceConfig | None = None,
                 analyst: Callable[[], str] = current_analyst) -> None:
        self.store = store
        self.analyst = analyst
        self.campaign_id: str | None = None
        self.menu = w.Dropdown(description="Energy project", style={"description_width": "initial"},
                               layout=w.Layout(width="380px"))
        self.save = w.Button(description="Save project", layout=w.Layout(width="130px"))
        self.status = w.HTML()
        self.widget = w.HBox([self.menu, self.save, self.status], layout=w.Layout(align_items="center",
                                                                                  flex_flow="row wrap"))
        self.save.on_click(lambda _b: self.apply())
        self.configure(config or SourceConfig())

    def configure(self, config: SourceConfig) -> None:
        """Where projects are (from the page's settings)."""
        self.source = open_source(self.store, config)

    def show(self, campaign_id: str | None) -> None:
        """Fill the menu for ``campaign_id`` and say how its current link was made."""
        self.campaign_id = campaign_id
        names = project_names(self.source)
        self.widget.layout.display = None if names and campaign_id else "none"
        if not names or not campaign_id:
            return
        self.menu.options = [("— no project —", NONE)] + sorted(((n, pid) for pid, n in names.items()),
                                                                key=lambda x: x[0])
        doc = self.store.campaigns.find_one({"emailoctopus_id": campaign_id}, {"project_id": 1, "project_link": 1}) or {}
        current = doc.get("project_id")
        self.menu.value = current if current in names else NONE
        how = doc.get("project_link") or {}
        if how.get("by") == "hand":
            when = how.get("at")
            self.status.value = (f'<span class="octo-muted">linked by hand by {esc(how.get("actor", "?"))}'
                                 f'{" on " + esc(f"{when:%Y-%m-%d %H:%M}") + " UTC" if when else ""}</span>')
        elif current:
            self.status.value = '<span class="octo-muted">linked by a project rule</span>'
        else:
            self.status.value = ""

    def apply(self) -> None:
        """Save the menu's choice for the shown campaign, recorded with who and when."""
        if not self.campaign_id:
            return
        project = None if self.menu.value in (None, NONE) else str(self.menu.value)
        actor = self.analyst()
        set_campaign_project(self.source, self.campaign_id, project, actor=actor)
        audit.record(self.store, actor=actor, action="campaign_project_set", target=self.campaign_id,
                     project=project or "")
        self.show(self.campaign_id)
