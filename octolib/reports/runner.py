"""Run report templates with papermill, one partner or a whole batch, and record every run.

Why here and not in the CLI: ``octo report``, ``scripts/run_reports.py`` and the report
builder page all call :func:`run_batch` (or :func:`run_report`), so a report made from the
command line and one made with a click are the same artefacts with the same provenance.

What one run leaves, under ``<data_dir>/reports/<batch_id>/<partner>/``:

- ``<template>.ipynb`` the executed notebook (provenance: every cell and its output),
- ``<template>.pdf`` the report, ``<template>.csv`` the appendix (the PDF's numbers),
- ``<template>.json`` what the notebook reports back (period, data as of, sync run, files),

plus ``<batch_id>/manifest.json`` for the batch and one ``reports`` document per run::

    {"report_id", "batch_id", "partner", "template", "template_version", "parameters",
     "period": {"from", "to", "tz"}, "data_as_of", "sync_run_id", "files": {"pdf", "csv",
     "notebook"}, "files_root", "pages", "pdf_sha256", "empty", "user", "started_at",
     "finished_at", "duration_s",
     "status": "running" | "succeeded" | "failed", "error", "failed_cell"}

Secrets: the runner passes only literals (slug, dates, folders, database name, timezone).
The store's URI, if any, reaches the kernel through the environment it inherits
(``OCTO_MONGODB_URI``) or the ``.env`` file whose *path* the runner passes (``env_file``),
never through a parameter value, so it is never written into a notebook. As a safety net
each template reports which store it read, and a run that read another store than the
runner's is failed.

Unknown parameters are errors, checked with ``papermill.inspect_notebook`` before a
kernel starts. A failing partner does not stop the batch: its run is marked failed with
the cell that broke, and the others go on, on a bounded pool of workers (each run is a
kernel subprocess; the pool only bounds how many run at once).
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from octolib.config import Settings
from octolib.errors import ConfigError, OctoError, redact
from octolib.reports.partners import get_partner, list_partners
from octolib.reports.templates import RUNNER_PARAMETERS, TEMPLATES, notebook_path, template_info

if TYPE_CHECKING:
    from octolib.store import Store

__all__ = [
    "ReportRequest",
    "ReportResult",
    "BatchResult",
    "Progress",
    "RUNNER_PARAMETERS",
    "template_parameters",
    "check_parameters",
    "check_dates",
    "check_request",
    "check_choice",
    "requests_for",
    "run_batch",
    "run_report",
    "list_reports",
    "get_report",
    "new_batch_id",
]

log = logging.getLogger(__name__)

_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class ReportRequest:
    """One report to make: a partner, a template and, optionally, an explicit period.

    Empty dates mean the partner's ``default_range``. ``parameters`` are extra template
    parameters (checked against the template's ``parameters`` cell).
    """

    partner: str
    template: str
    date_from: str = ""
    date_to: str = ""
    parameters: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class ReportResult:
    """What happened to one :class:`ReportRequest`."""

    request: ReportRequest
    report_id: str
    status: str = "pending"
    error: str = ""
    failed_cell: str = ""
    directory: Path | None = None
    pdf: Path | None = None
    csv: Path | None = None
    notebook: Path | None = None
    info: dict[str, Any] = field(default_factory=dict)
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"

    def summary_line(self) -> str:
        what = f"{self.request.partner}/{self.request.template}"
        if self.ok:
            return f"ok      {what}  {self.duration_s:.1f}s  {self.pdf}"
        return f"FAILED  {what}  {self.error}"


@dataclass
class BatchResult:
    batch_id: str
    directory: Path
    results: list[ReportResult]
    started_at: datetime
    finished_at: datetime
    manifest: Path

    @property
    def failed(self) -> list[ReportResult]:
        return [r for r in self.results if not r.ok]

    @property
    def succeeded(self) -> list[ReportResult]:
        return [r for r in self.results if r.ok]

    @property
    def duration_s(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()

    def summary(self) -> str:
        """The end-of-batch text: counts, then every failure and why."""
        lines = [f"batch {self.batch_id}: {len(self.succeeded)} succeeded, {len(self.failed)} failed "
                 f"in {self.duration_s:.1f}s ({self.directory})"]
        lines += [r.summary_line() for r in self.results if not r.ok]
        return "\n".join(lines)


#: ``progress(done, total, result)`` after each finished report (from a worker thread).
Progress = Callable[[int, int, ReportResult], None]


def new_batch_id(now: datetime | None = None) -> str:
    """``20261127T071200Z-1a2b3c``: sortable by time, unique enough for concurrent batches."""
    now = now or datetime.now(timezone.utc)
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"


# -- the template contract ---------------------------------------------------------------

_inspect_lock = threading.Lock()
_inspected: dict[tuple[str, float], dict[str, Any]] = {}


def template_parameters(path: Path) -> dict[str, dict[str, Any]]:
    """The template's declared parameters (``papermill.inspect_notebook``), cached per file version."""
    import papermill as pm

    key = (str(path), path.stat().st_mtime)
    with _inspect_lock:
        if key not in _inspected:
            _inspected[key] = pm.inspect_notebook(str(path))
        return _inspected[key]


def check_parameters(path: Path, parameters: Mapping[str, Any]) -> None:
    """ConfigError naming every parameter the template does not declare (no silent extras)."""
    declared = template_parameters(path)
    if not declared:
        raise ConfigError(f"template {path.name} has no cell tagged 'parameters'; add one (literals only)")
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        raise ConfigError(
            f"template {path.stem} has no parameter {', '.join(repr(u) for u in unknown)}; "
            f"its parameters are: {', '.join(declared)}"
        )
    for name, value in parameters.items():
        if not isinstance(value, (str, int, float, bool, type(None), list, dict)):
            raise ConfigError(f"parameter {name!r} must be a literal (text, number, list), got {type(value).__name__}")


def check_dates(date_from: str, date_to: str, *, names: tuple[str, str] = ("--from", "--to")) -> None:
    """ConfigError (one line naming the value and the format) unless the period is usable.

    Both or neither (empty means the partner's ``default_range``); each a real
    ``YYYY-MM-DD`` day; the end not before the start. Checked before any kernel starts,
    because a bad date otherwise fails inside every report of a batch.
    """
    from octolib.reports.period import Period, parse_day

    if bool(date_from) != bool(date_to):
        raise ConfigError(f"give both {names[0]} and {names[1]}, or neither (each partner's default_range)")
    if not date_from:
        return
    start, end = parse_day(date_from, names[0]), parse_day(date_to, names[1])
    if end < start:
        raise ConfigError(f"{names[1]} {end.isoformat()} is before {names[0]} {start.isoformat()}; swap them")
    Period(start, end)


def check_request(request: ReportRequest, templates_dir: Path | None = None) -> None:
    """Everything about one request that can be wrong before a kernel starts.

    The template exists and declares every parameter given, and the dates are days in
    order. :func:`run_batch` checks every request with this before it records or starts
    any, so bad input fails once, with one line, and leaves no history.
    """
    check_dates(request.date_from, request.date_to)
    path = notebook_path(request.template, templates_dir)
    check_parameters(path, {**{name: "" for name in RUNNER_PARAMETERS}, **dict(request.parameters)})
    sections = request.parameters.get("sections")
    if sections is not None:
        if not isinstance(sections, list):
            raise ConfigError("sections must be a list of section names")
        template_info(request.template).check_sections(sections)


def check_choice(store: Store, request: ReportRequest) -> None:
    """A custom report's ``campaign_ids`` may be in the partner's report
    (:mod:`octolib.reports.campaign_choice`); ConfigError otherwise, before anything runs."""
    from octolib.reports.campaign_choice import check_campaign_ids

    ids = request.parameters.get("campaign_ids")
    if ids is not None:
        check_campaign_ids(store, get_partner(store, request.partner), ids)


# -- running ------------------------------------------------------------------------------

def _describe_cell(nb_path: Path, cell_index: int | None, exec_count: Any) -> str:
    """``cell 5 'compute' (report = build(ctx))``: which cell of the template broke.

    Found in the executed notebook as the code cell holding the error output (papermill
    adds cells to that notebook, so its index is not the template's); numbered as in the
    template, with the cell's name (``metadata.octopus.name`` or its id) and first line.
    """
    label = f"cell [{exec_count}]" if exec_count is not None else f"cell {cell_index}"
    try:
        import nbformat

        nb = nbformat.read(str(nb_path), as_version=4)
        added = {"injected-parameters", "papermill-error-cell-tag"}
        template_cells = [c for c in nb.cells if not added & set(c.get("metadata", {}).get("tags", []))]
        for i, cell in enumerate(template_cells):
            if cell.cell_type == "code" and any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
                name = cell.get("metadata", {}).get("octopus", {}).get("name") or cell.get("id", "")
                first = next((ln.strip() for ln in cell.source.splitlines() if ln.strip() and not ln.startswith("#")),
                             "")
                label = f"cell {i}" + (f" {name!r}" if name else "") + (f" ({first[:60]})" if first else "")
                break
    except Exception as exc:  # noqa: BLE001 - naming the cell is best effort; the error still goes out
        log.debug("could not read %s to name the failed cell: %s", nb_path, exc)
    return label


def _execute_one(request: ReportRequest, result: ReportResult, settings: Settings, batch_dir: Path,
                 templates_dir: Path | None, kernel_name: str | None, timeout_s: float,
                 image_server: str, env_file: str, store_description: str) -> ReportResult:
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    started = time.perf_counter()
    try:
        path = notebook_path(request.template, templates_dir)
        out_dir = batch_dir / _SAFE.sub("-", request.partner)
        out_dir.mkdir(parents=True, exist_ok=True)
        result.directory = out_dir
        result.notebook = out_dir / f"{request.template}.ipynb"
        parameters = {
            "partner": request.partner,
            "date_from": request.date_from or "",
            "date_to": request.date_to or "",
            "output_dir": str(out_dir),
            "data_dir": str(Path(settings.data_dir).expanduser()),
            "db_name": settings.db_name,
            "timezone": settings.timezone,
            "image_server": image_server,
            "env_file": env_file,
            **dict(request.parameters),
        }
        check_parameters(path, parameters)
        pm.execute_notebook(
            str(path), str(result.notebook), parameters=parameters, kernel_name=kernel_name,
            progress_bar=False, log_output=False, cwd=str(out_dir), execution_timeout=timeout_s,
            request_save_on_cell_execute=False, kernel_manager_class=_ipc_kernel_manager(),
        )
        info_path = out_dir / f"{request.template}.json"
        if not info_path.is_file():
            raise OctoError(f"the template ran but wrote no {info_path.name}; its last cell must call kit.write()")
        result.info = json.loads(info_path.read_text(encoding="utf-8"))
        read = result.info.get("store", "")
        if read and store_description and read != store_description:
            raise OctoError(f"the template read {read}, but this run uses {store_description}: give the kernel the "
                            "same settings (export OCTO_* or pass the .env file)")
        files = result.info.get("files", {})
        result.pdf = out_dir / files["pdf"] if files.get("pdf") else None
        result.csv = out_dir / files["csv"] if files.get("csv") else None
        result.status = "succeeded"
    except PapermillExecutionError as exc:
        cell = _describe_cell(result.notebook, exc.cell_index, exc.exec_count) if result.notebook else ""
        result.status = "failed"
        result.failed_cell = cell
        result.error = redact(f"{cell} raised {exc.ename}: {exc.evalue}")
    except OctoError as exc:
        result.status = "failed"
        result.error = redact(str(exc))
    except Exception as exc:  # noqa: BLE001 - one partner's failure must not stop the batch
        log.exception("report %s/%s failed", request.partner, request.template)
        result.status = "failed"
        result.error = redact(f"{type(exc).__name__}: {exc}")
    result.duration_s = time.perf_counter() - started
    return result


def _record_start(store: Store, result: ReportResult, batch_id: str, user: str, now: datetime) -> None:
    req = result.request
    store.reports.insert_one({
        "report_id": result.report_id, "batch_id": batch_id, "partner": req.partner, "template": req.template,
        "template_version": TEMPLATES[req.template].version if req.template in TEMPLATES else "",
        "parameters": {"date_from": req.date_from, "date_to": req.date_to, **dict(req.parameters)},
        "user": user, "started_at": now, "status": "running",
    })


def _record_end(store: Store, result: ReportResult, finished: datetime, root: Path) -> None:
    info = result.info

    def rel(p: Path | None) -> str:
        return str(p.relative_to(root)) if p is not None and p.exists() else ""

    update = {
        "status": result.status, "error": result.error, "failed_cell": result.failed_cell,
        "finished_at": finished, "duration_s": round(result.duration_s, 3),
        "period": info.get("period", {}), "data_as_of": _parse_time(info.get("data_as_of")),
        "sync_run_id": info.get("sync_run_id", ""), "empty": bool(info.get("empty", False)),
        "pages": info.get("pages"), "pdf_sha256": info.get("pdf_sha256", ""),
        "files": {"pdf": rel(result.pdf), "csv": rel(result.csv), "notebook": rel(result.notebook)},
        "files_root": str(root),
    }
    store.reports.update_one({"report_id": result.report_id}, {"$set": update})


def _parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def requests_for(store: Store, partners: Sequence[str] | None = None, templates: Sequence[str] | None = None,
                 date_from: str = "", date_to: str = "", *, presets: bool = True) -> list[ReportRequest]:
    """Requests for some (default: all stored) partners x some templates (default: every one
    ``--all`` makes, :attr:`TemplateInfo.in_all`).

    A partner with a saved preset (:mod:`octolib.reports.presets`) gets its preset: with no
    ``templates`` named, the preset's report only; with templates named, the preset's
    parameters for its template and the plain report for the others. ``presets=False``
    ignores presets. Unknown partner slugs or templates and bad dates raise before anything runs.
    """
    from octolib.reports.presets import get_preset, preset_parameters

    check_dates(date_from, date_to)
    slugs = list(partners) if partners else [p.slug for p in list_partners(store)]
    for slug in slugs:
        get_partner(store, slug)
    names = list(templates) if templates else [n for n, t in TEMPLATES.items() if t.in_all]
    for name in names:
        template_info(name)
    out: list[ReportRequest] = []
    for slug in slugs:
        preset = get_preset(store, slug) if presets else None
        if preset is None or (templates and preset.template not in names):
            out += [ReportRequest(slug, t, date_from, date_to) for t in names]
            continue
        params = preset_parameters(store, get_partner(store, slug), preset)
        for t in (names if templates else [preset.template]):
            out.append(ReportRequest(slug, t, date_from, date_to, params if t == preset.template else {}))
    return out


def run_batch(
    settings: Settings,
    requests: Iterable[ReportRequest],
    *,
    store: Any = None,
    workers: int = 2,
    user: str = "",
    progress: Progress | None = None,
    templates_dir: Path | None = None,
    batch_id: str | None = None,
    kernel_name: str | None = None,
    timeout_s: float = 600.0,
    images: bool = True,
    env_file: Path | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
) -> BatchResult:
    """Run every request on a pool of ``workers``, record each, write the batch manifest.

    A failing report is recorded as failed (with the cell that broke) and the others go
    on; the returned :class:`BatchResult` lists both. ``progress`` is called after each
    report. ``store`` is opened from ``settings`` when not given. ``images=False`` skips
    the shared chart renderer (each kernel then renders its own charts). ``env_file`` is
    the ``.env`` the settings came from, if any (its path is passed, never its content).
    Templates come from the workspace (``templates_dir`` None), and a machine without
    Chromium fails here, before anything is recorded, rather than make PDFs without charts.
    """
    from contextlib import ExitStack

    from octolib.reports.images import ImageServer
    from octolib.store import connect

    from octolib.reports.images import require_chromium
    from octolib.workspace import prepare_workspace

    templates_dir = templates_dir or prepare_workspace(settings).templates  # the analysts' copies
    require_chromium()
    requests = list(requests)
    for request in requests:  # bad input fails here, before any history row or kernel
        check_request(request, templates_dir)
    own_store = store is None
    if own_store:
        store = connect(settings)
    try:
        store.ensure_indexes()
        for request in requests:  # a custom report's campaigns: the partner's, or nobody else's
            check_choice(store, request)
        started = clock()
        batch_id = batch_id or new_batch_id(started)
        root = Path(settings.data_dir).expanduser() / "reports"
        batch_dir = root / batch_id
        batch_dir.mkdir(parents=True, exist_ok=True)
        results = [ReportResult(r, report_id=f"{batch_id}/{_SAFE.sub('-', r.partner)}/{r.template}") for r in requests]
        for res in results:
            _record_start(store, res, batch_id, user, started)
        done = 0
        lock = threading.Lock()
        with ExitStack() as stack:
            server_url = stack.enter_context(ImageServer()).url if images and results else ""
            pool = stack.enter_context(ThreadPoolExecutor(max_workers=max(1, int(workers)),
                                                          thread_name_prefix="octo-report"))
            env_path = str(Path(env_file).resolve()) if env_file else ""
            futures = [pool.submit(_execute_one, r.request, r, settings, batch_dir, templates_dir, kernel_name,
                                   timeout_s, server_url, env_path, store.description) for r in results]
            for fut in as_completed(futures):
                res = fut.result()
                _record_end(store, res, clock(), root)
                level = logging.INFO if res.ok else logging.WARNING
                log.log(level, "report %s: %s", res.report_id, res.status if res.ok else res.error)
                with lock:
                    done += 1
                    if progress is not None:
                        progress(done, len(results), res)
        finished = clock()
        manifest = _write_manifest(batch_dir, batch_id, results, started, finished, user, workers)
        return BatchResult(batch_id, batch_dir, results, started, finished, manifest)
    finally:
        if own_store:
            store.close()


def _write_manifest(batch_dir: Path, batch_id: str, results: list[ReportResult], started: datetime,
                    finished: datetime, user: str, workers: int) -> Path:
    def rel(p: Path | None) -> str:
        return str(p.relative_to(batch_dir)) if p is not None and p.exists() else ""

    items = []
    for r in results:
        items.append({
            "report_id": r.report_id, "partner": r.request.partner, "template": r.request.template,
            "template_version": r.info.get("template_version", ""),
            "request": {k: v for k, v in asdict(r.request).items() if k not in ("partner", "template")},
            "status": r.status, "error": r.error, "failed_cell": r.failed_cell,
            "duration_s": round(r.duration_s, 3), "period": r.info.get("period", {}),
            "data_as_of": r.info.get("data_as_of", ""), "sync_run_id": r.info.get("sync_run_id", ""),
            "empty": r.info.get("empty", False), "pages": r.info.get("pages"),
            "files": {"pdf": rel(r.pdf), "csv": rel(r.csv), "notebook": rel(r.notebook)},
            "pdf_sha256": r.info.get("pdf_sha256", ""),
        })
    manifest = {
        "batch_id": batch_id, "user": user, "workers": workers,
        "started_at": started.isoformat(), "finished_at": finished.isoformat(),
        "duration_s": round((finished - started).total_seconds(), 3),
        "succeeded": sum(r.ok for r in results), "failed": sum(not r.ok for r in results),
        "reports": items,
    }
    path = batch_dir / "manifest.json"
    path.write_text(json.dumps(manifest, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return path


def run_report(settings: Settings, partner: str, template: str, date_from: str = "", date_to: str = "",
               **kwargs: Any) -> ReportResult:
    """One report (a batch of one); keyword arguments as :func:`run_batch`."""
    batch = run_batch(settings, [ReportRequest(partner, template, date_from, date_to)], **kwargs)
    return batch.results[0]


def list_reports(store: Store, partner: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """Past reports, newest first (for the report builder page): the ``reports`` documents."""
    query: dict[str, Any] = {} if partner is None else {"partner": partner}
    cursor = store.reports.find(query, {"_id": 0}).sort([("started_at", -1), ("report_id", 1)]).limit(int(limit))
    return list(cursor)


def get_report(store: Store, report_id: str) -> dict[str, Any] | None:
    """One ``reports`` document by id, or None."""
    return store.reports.find_one({"report_id": report_id}, {"_id": 0})


def _ipc_kernel_manager() -> type:
    """A kernel manager that talks to report kernels over Unix sockets, not TCP.

    Nothing of a report kernel listens on the network, and ipykernel stops printing its
    "running over TCP without encryption" warning into the operator's terminal.
    """
    from jupyter_client.manager import AsyncKernelManager

    class IPCKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            if os.name == "posix":
                import tempfile
                import uuid

                self.transport = "ipc"
                # One socket prefix per kernel: parallel reports must never share a socket.
                self.ip = os.path.join(tempfile.gettempdir(), f"octo-kernel-{uuid.uuid4().hex}")

    return IPCKernelManager
