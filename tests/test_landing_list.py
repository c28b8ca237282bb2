"""The signed-in landing page lists the dashboards as the navigation bar does: in its order,
by title, without the campaign page (which needs a campaign id) and without file names."""

from __future__ import annotations

import shutil
from pathlib import Path

from octolib.auth import templates
from octolib.server.landing import list_dashboards
from octolib.dashboards.registry import PAGES

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def test_the_shipped_dashboards_are_listed_in_navigation_order_by_title():
    listed = list_dashboards(NOTEBOOKS)
    shown = [p.title for p in PAGES if p.label is not None]
    assert [d["title"] for d in listed][:len(shown)] == shown
    assert listed[0]["title"] == "Overview"
    assert "campaign.ipynb" not in [d["path"] for d in listed]


def test_another_notebook_comes_after_the_dashboards_and_no_file_name_is_shown(tmp_path):
    for stem in ("sync", "overview", "campaign"):
        shutil.copy(NOTEBOOKS / f"{stem}.ipynb", tmp_path / f"{stem}.ipynb")
    (tmp_path / "a_scratch.ipynb").write_text('{"cells": [{"cell_type": "markdown", "source": "# Scratch"}], '
                                             '"metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    listed = list_dashboards(tmp_path)
    assert [d["title"] for d in listed] == ["Overview", "Sync", "Scratch"]
    page = templates.render("landing", base_url="/", display_name="Ana", dashboards=listed)
    assert "overview.ipynb" in page  # the link
    assert ">overview.ipynb<" not in page and "<small>" not in page  # but no file name as text
