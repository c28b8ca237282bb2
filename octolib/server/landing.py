"""The page a signed-in user lands on: the list of dashboards, and links to JupyterLab and logout.

Why our own page rather than Voilà's tree: it lists only notebooks (never data files), shows
their titles, and carries the sign-out link that the dashboards themselves do not have.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from jupyter_server.base.handlers import JupyterHandler
from tornado import web

from octolib.auth import templates

__all__ = ["LandingHandler", "list_dashboards"]

log = logging.getLogger(__name__)


def _title(path: Path) -> str:
    """The notebook's metadata title, else its first Markdown heading, else its file name."""
    fallback = path.stem.replace("_", " ").replace("-", " ").strip().capitalize()
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return fallback
    title = (nb.get("metadata") or {}).get("title")
    if isinstance(title, str) and title.strip():
        return title.strip()
    for cell in nb.get("cells", [])[:5]:
        if cell.get("cell_type") == "markdown":
            source = cell.get("source", "")
            text = "".join(source) if isinstance(source, list) else str(source)
            for line in text.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip() or fallback
    return fallback


def list_dashboards(root: Path, max_depth: int = 2) -> list[dict[str, Any]]:
    """Notebooks under ``root`` (hidden and ``_private`` folders skipped): the dashboards in
    navigation order with their titles (the page registry, ``octolib.dashboards.registry``),
    then any other notebook by path. Pages outside the navigation (the campaign page: without
    a campaign id it is empty) are not listed.

    >>> list_dashboards(Path("/nonexistent"))
    []
    """
    from octolib.dashboards.registry import PAGES

    root = Path(root)
    out: list[dict[str, Any]] = []
    if not root.is_dir():
        return out
    shown = [p for p in PAGES if p.label is not None]
    hidden = {p.notebook for p in PAGES if p.label is None}
    order = {p.notebook: (i, p.title) for i, p in enumerate(shown)}
    for path in sorted(root.rglob("*.ipynb")):
        rel = path.relative_to(root)
        if len(rel.parts) > max_depth or any(p.startswith((".", "_")) for p in rel.parts):
            continue
        if rel.as_posix() in hidden:
            continue
        known = order.get(rel.as_posix())
        out.append({"path": rel.as_posix(), "title": known[1] if known else _title(path),
                    "_order": known[0] if known else len(order)})
    out.sort(key=lambda d: d["_order"])  # stable: other notebooks keep their path order
    for d in out:
        del d["_order"]
    return out


class LandingHandler(JupyterHandler):
    """``GET /dashboards``: the signed-in home page (``ServerApp.default_url``)."""

    @web.authenticated
    def get(self) -> None:
        root = Path(self.settings.get("server_root_dir", ".")).expanduser()
        user = self.current_user
        self.set_header("Cache-Control", "no-store")
        self.write(templates.render(
            "landing",
            base_url=self.base_url,
            display_name=getattr(user, "display_name", "") or getattr(user, "username", ""),
            dashboards=list_dashboards(root),
        ))
