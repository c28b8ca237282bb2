"""Every dashboard notebook runs top to bottom in a real kernel over a synced tiny account,
shows its page as a widget, and writes no error and nothing to stderr.

The same as ``pytest --nbval-lax notebooks/`` (which CI can also run), plus the checks that
the notebooks stay thin: a ``parameters`` cell of literals first, then an import, a call
and a display, no outputs committed.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from octolib.dashboards.testing import sync_fake_account

pytestmark = pytest.mark.slow

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("nb") / "data"
    sync_fake_account(path, size="tiny")
    return path


def test_there_is_a_notebook_per_page():
    assert {p.stem for p in NOTEBOOKS} >= {"overview", "campaigns", "campaign", "lists", "contacts", "engagement",
                                           "sync"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_thin_and_committed_without_outputs(path: Path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "commit notebooks without outputs"
    assert "parameters" in code[0].metadata.get("tags", [])
    for node in ast.parse(code[0].source).body:  # literals only, one per line
        assert isinstance(node, ast.Assign) and isinstance(node.value, (ast.Constant, ast.Dict, ast.List))
    assert len(code) <= 4 and sum(len(c.source.splitlines()) for c in code) <= 12
    assert nb.metadata.get("title"), "the landing page lists notebooks by their metadata title"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_and_shows_its_page(path: Path, data_dir: Path):
    nb = nbformat.read(path, as_version=4)
    env = {**os.environ, "OCTO_DATA_DIR": str(data_dir), "OCTO_MONGODB_URI": ""}
    client = NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    client.execute(env=env)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert not [o for o in outputs if o.output_type == "stream" and o.name == "stderr"], \
        "nothing may reach the output area as stderr (e.g. the store's warning)"
    last = nb.cells[-1].outputs
    assert last and WIDGET_VIEW in last[-1].get("data", {}), "the last cell displays the page widget"
