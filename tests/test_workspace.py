"""The analysts' workspace: seeded from the package, never overwriting an edit, and the
folder the report runner reads, so an edited template changes the next PDF.

The wheel install (the package really carries the notebooks) and JupyterLab's root being
this folder are proven end to end in ``tests/test_rehearsal.py``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import nbformat
import pytest

from octolib import workspace as ws
from octolib.config import Settings
from octolib.reports.templates import DEFAULT_TEMPLATES_DIR, TEMPLATES

ROOT = Path(__file__).resolve().parents[1]
MARKER = "Edited in the workspace by the analyst: marker 7431."


def test_the_package_carries_every_dashboard_and_template_of_the_repository():
    dashboards = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    templates = sorted(p.name for p in (ROOT / "report_notebooks").glob("*.ipynb"))
    assert dashboards and sorted(p.name for p in ws.PACKAGED_DASHBOARDS.glob("*.ipynb")) == dashboards
    assert sorted(p.name for p in ws.PACKAGED_TEMPLATES.glob("*.ipynb")) == templates
    assert sorted(f"{t}.ipynb" for t in TEMPLATES) == templates
    assert DEFAULT_TEMPLATES_DIR.samefile(ws.PACKAGED_TEMPLATES)
    for name in templates:  # same bytes: the package copy is the repository's file
        assert (ws.PACKAGED_TEMPLATES / name).read_bytes() == (ROOT / "report_notebooks" / name).read_bytes()


def test_settings_put_the_workspace_under_the_data_dir_unless_told_otherwise(tmp_path):
    settings = Settings.from_env({"OCTO_DATA_DIR": str(tmp_path / "data")}, dotenv=None)
    assert settings.workspace_root == tmp_path / "data" / "workspace"
    assert settings.replace(data_dir=tmp_path / "other").workspace_root == tmp_path / "other" / "workspace"
    explicit = Settings.from_env({"OCTO_DATA_DIR": str(tmp_path / "data"),
                                  "OCTO_WORKSPACE_DIR": str(tmp_path / "analysts")}, dotenv=None)
    assert explicit.workspace_root == tmp_path / "analysts"


def test_first_use_copies_dashboards_to_the_root_and_templates_to_their_folder(tmp_path):
    workspace = ws.prepare_workspace(Settings(data_dir=tmp_path))
    assert workspace.root == tmp_path / "workspace" and workspace.dashboards == workspace.root
    assert workspace.templates == workspace.root / "_report_templates"
    for packaged in ws.PACKAGED_DASHBOARDS.glob("*.ipynb"):
        assert (workspace.root / packaged.name).read_bytes() == packaged.read_bytes()
    for packaged in ws.PACKAGED_TEMPLATES.glob("*.ipynb"):
        assert (workspace.templates / packaged.name).read_bytes() == packaged.read_bytes()
    again = workspace.seed()
    assert (again.copied, again.refreshed, again.kept_edits) == ([], [], [])
    assert again.summary() == "up to date"


@pytest.fixture
def fake_package(tmp_path, monkeypatch):
    """A package with one dashboard and one template whose contents the test changes."""
    dashboards, templates = tmp_path / "pkg" / "dashboards", tmp_path / "pkg" / "templates"
    dashboards.mkdir(parents=True)
    templates.mkdir(parents=True)
    (dashboards / "overview.ipynb").write_text("overview v1")
    (templates / "campaign_summary.ipynb").write_text("template v1")
    monkeypatch.setattr(ws, "PACKAGED_DASHBOARDS", dashboards)
    monkeypatch.setattr(ws, "PACKAGED_TEMPLATES", templates)
    return dashboards, templates


def test_an_edit_is_never_overwritten_and_untouched_files_follow_the_package(tmp_path, fake_package):
    dashboards, templates = fake_package
    workspace = ws.Workspace(tmp_path / "ws")
    first = workspace.seed()
    assert sorted(first.copied) == ["_report_templates/campaign_summary.ipynb", "overview.ipynb"]

    edited = workspace.templates / "campaign_summary.ipynb"
    edited.write_text("template v1 + the analyst's change")
    assert workspace.seed().summary() == "up to date"  # an edit alone is nothing to report
    assert edited.read_text() == "template v1 + the analyst's change"

    # An upgrade brings new versions of both: the untouched dashboard follows, the edit stays.
    (dashboards / "overview.ipynb").write_text("overview v2")
    (templates / "campaign_summary.ipynb").write_text("template v2")
    upgrade = workspace.seed()
    assert upgrade.refreshed == ["overview.ipynb"]
    assert upgrade.kept_edits == ["_report_templates/campaign_summary.ipynb"]
    assert "kept your edits of _report_templates/campaign_summary.ipynb" in upgrade.summary()
    assert (workspace.root / "overview.ipynb").read_text() == "overview v2"
    assert edited.read_text() == "template v1 + the analyst's change"

    # A deleted file comes back; the manifest records what was last written, by hash.
    (workspace.root / "overview.ipynb").unlink()
    assert workspace.seed().copied == ["overview.ipynb"]
    manifest = json.loads((workspace.root / ".octopus-seeded.json").read_text())
    assert manifest["overview.ipynb"] == hashlib.sha256(b"overview v2").hexdigest()
    assert manifest["_report_templates/campaign_summary.ipynb"] == hashlib.sha256(b"template v1").hexdigest()


def test_a_package_without_notebooks_is_a_clear_error(tmp_path, monkeypatch):
    from octolib.errors import ConfigError

    monkeypatch.setattr(ws, "PACKAGED_DASHBOARDS", tmp_path / "none")
    monkeypatch.setattr(ws, "PACKAGED_TEMPLATES", tmp_path / "none")
    with pytest.raises(ConfigError, match="reinstall octolib"):
        ws.Workspace(tmp_path / "ws").seed()


def add_marker(template: Path, text: str = MARKER) -> None:
    """What an analyst does in JupyterLab: add a line to the report's narrative, save."""
    nb = nbformat.read(template, as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "code" and "kit.build(ctx)" in c.source)
    cell.source += f"\nreport.narrative.append({text!r})"
    nbformat.write(nb, template)


@pytest.mark.slow
def test_an_edited_workspace_template_is_what_the_next_report_runs(tmp_path, sync_into):
    """Edit the workspace copy, run the batch as `octo report` does (no templates_dir), read the PDF."""
    import pypdf

    from octolib.fake import FakeAccount
    from octolib.reports.partners import save_partner
    from octolib.reports.runner import ReportRequest, run_batch

    account = FakeAccount.generate(seed=7, size="tiny")
    settings, store = sync_into(tmp_path / "data", account)
    with store:
        save_partner(store, {"slug": "events", "name": "Events Partner Ltd",
                             "campaigns": {"list_ids": [lst["id"] for lst in account.lists]},
                             "default_range": {"from": "2026-01-01", "to": "2026-10-31"}})
        workspace = ws.prepare_workspace(settings)
        add_marker(workspace.templates / "campaign_summary.ipynb")
        packaged = (ws.PACKAGED_TEMPLATES / "campaign_summary.ipynb").read_text()
        assert MARKER not in packaged

        batch = run_batch(settings, [ReportRequest("events", "campaign_summary")], store=store, workers=1)
    result = batch.results[0]
    assert result.ok, result.error
    text = " ".join(page.extract_text() for page in pypdf.PdfReader(result.pdf).pages)
    assert MARKER in " ".join(text.split())
    # The executed notebook (the provenance) is the edited one, and the edit survived the run.
    assert MARKER in Path(result.notebook).read_text()
    assert MARKER in (workspace.templates / "campaign_summary.ipynb").read_text()


def test_octo_serve_serves_the_workspace_unless_told_otherwise(tmp_path, monkeypatch):
    """The server's root dir (what JupyterLab shows) is the workspace the runner reads."""
    import importlib
    import importlib.util

    from octolib.cli import main

    # The launcher module is being moved (octolib.auth.server -> octolib.server.launch).
    name = "octolib.server.launch" if importlib.util.find_spec("octolib.server") else "octolib.auth.server"
    launcher = importlib.import_module(name)
    seen = []
    monkeypatch.setattr(launcher, "serve", lambda settings, options, **kw: seen.append(options) or 0)
    monkeypatch.chdir(tmp_path)
    for var in ("OCTO_WORKSPACE_DIR", "OCTO_MONGODB_URI"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("OCTO_DATA_DIR", str(tmp_path / "data"))
    assert main(["serve", "--port", "9999"]) == 0
    root = seen[-1].notebooks_dir
    assert root == (tmp_path / "data" / "workspace").resolve()
    assert (root / "_report_templates" / "campaign_summary.ipynb").is_file() and (root / "overview.ipynb").is_file()

    (tmp_path / "mine").mkdir()
    assert main(["serve", "--notebooks-dir", str(tmp_path / "mine")]) == 0
    assert seen[-1].notebooks_dir == (tmp_path / "mine").resolve()
