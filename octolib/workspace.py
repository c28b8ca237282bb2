"""The analysts' workspace: the one folder of dashboards and report templates they edit.

Why one folder: the server's root (what JupyterLab shows, what ``/dashboards`` lists and
Voilà renders) and the folder the report runner reads must be the same, or an analyst edits
a template in JupyterLab and the next PDF still comes from another copy. The package ships
the dashboards and templates (``octolib/bundled/``: in the repository, links to
``notebooks/`` and ``report_notebooks/``); the workspace is seeded from them on first use::

    <OCTO_WORKSPACE_DIR>/            default <OCTO_DATA_DIR>/workspace
        overview.ipynb, ...          the dashboards (the server's root dir)
        _report_templates/           the papermill templates `octo report` runs
        .octopus-seeded.json         what was copied from the package, with its sha256

Seeding never overwrites an analyst's edit: a missing file is copied; a file still
byte-identical to what was seeded is refreshed when the package brings a new version
(an upgrade reaches untouched files); an edited file is kept, and :class:`SeedResult`
names it so the caller can say so. ``_report_templates`` starts with ``_`` so the landing
page (which skips ``_private`` folders) does not offer templates as dashboards.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from octolib.config import Settings

__all__ = ["PACKAGED_DASHBOARDS", "PACKAGED_TEMPLATES", "TEMPLATES_FOLDER", "SeedResult", "Workspace",
           "prepare_workspace"]

log = logging.getLogger(__name__)

_BUNDLED = Path(__file__).resolve().parent / "bundled"
#: The dashboards the package ships (``notebooks/`` of the repository).
PACKAGED_DASHBOARDS = _BUNDLED / "dashboards"
#: The report templates the package ships (``report_notebooks/`` of the repository).
PACKAGED_TEMPLATES = _BUNDLED / "report_templates"
#: The workspace's sub-folder of report templates.
TEMPLATES_FOLDER = "_report_templates"
_MANIFEST = ".octopus-seeded.json"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_atomic(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same folder: a reader never sees half a notebook."""
    fd, tmp = tempfile.mkstemp(prefix=".seed-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass
class SeedResult:
    """What one seeding did, as paths relative to the workspace."""

    copied: list[str] = field(default_factory=list)
    refreshed: list[str] = field(default_factory=list)
    kept_edits: list[str] = field(default_factory=list)  # edited here while the package changed

    def summary(self) -> str:
        parts = [f"{len(self.copied)} copied" if self.copied else "",
                 f"{len(self.refreshed)} updated from the package" if self.refreshed else "",
                 f"kept your edits of {', '.join(self.kept_edits)} (the package has a newer version)"
                 if self.kept_edits else ""]
        return "; ".join(p for p in parts if p) or "up to date"


@dataclass(frozen=True)
class Workspace:
    """The workspace folder; :meth:`seed` fills it from the package."""

    root: Path

    @classmethod
    def from_settings(cls, settings: Settings) -> "Workspace":
        return cls(settings.workspace_root)

    @property
    def dashboards(self) -> Path:
        """The folder of dashboards: the workspace itself (the server's root dir)."""
        return self.root

    @property
    def templates(self) -> Path:
        """The folder of report templates the runner reads."""
        return self.root / TEMPLATES_FOLDER

    def _sources(self) -> list[tuple[Path, str]]:
        pairs = [(p, p.name) for p in sorted(PACKAGED_DASHBOARDS.glob("*.ipynb"))]
        pairs += [(p, f"{TEMPLATES_FOLDER}/{p.name}") for p in sorted(PACKAGED_TEMPLATES.glob("*.ipynb"))]
        return pairs

    def seed(self) -> SeedResult:
        """Copy what is missing, refresh what nobody edited, keep every edit (see the module doc)."""
        result = SeedResult()
        sources = self._sources()
        if not sources:  # a broken install: say so rather than serve an empty folder
            from octolib.errors import ConfigError

            raise ConfigError(f"the package ships no notebooks under {_BUNDLED}; reinstall octolib")
        self.templates.mkdir(parents=True, exist_ok=True)
        manifest_path = self.root / _MANIFEST
        try:
            seeded: dict[str, str] = json.loads(manifest_path.read_text())
        except (OSError, ValueError):
            seeded = {}
        changed = False
        for source, rel in sources:
            data = source.read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            target = self.root / rel
            if not target.exists():
                _write_atomic(target, data)
                result.copied.append(rel)
            else:
                current = _sha256(target)
                if current == digest:
                    pass
                elif current == seeded.get(rel):  # untouched since we seeded it: take the new version
                    _write_atomic(target, data)
                    result.refreshed.append(rel)
                else:  # the analyst's edit: never overwritten
                    if digest != seeded.get(rel):
                        result.kept_edits.append(rel)  # ... and the package moved on meanwhile
                    continue  # the manifest keeps the hash of what we last wrote
            if seeded.get(rel) != digest:
                seeded[rel] = digest
                changed = True
        if changed:
            _write_atomic(manifest_path, json.dumps(seeded, indent=1, sort_keys=True).encode())
        if result.copied or result.refreshed or result.kept_edits:
            log.info("workspace %s: %s", self.root, result.summary())
        return result


def prepare_workspace(settings: Settings) -> Workspace:
    """The settings' workspace, seeded: what ``octo serve`` serves and ``octo report`` reads."""
    workspace = Workspace.from_settings(settings)
    workspace.seed()
    return workspace
