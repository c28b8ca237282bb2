"""Serving the dashboards fast, behind the login, without stalls and without the internet.

One Jupyter server (``octo serve``: jupyter_server + the Voilà extension + JupyterLab behind
:mod:`octolib.auth`) serves everything. This module adds three things to it:

**Pre-started kernels inside that server.** Voilà's kernel pools (``preheat_kernel``) exist
only in standalone ``voila``: the server extension uses the server's kernel manager and
starts none, so every page view waited ~5 s for a kernel. :class:`PooledKernelManager` is
Voilà's own pool manager (``voila_kernel_manager_factory``) fitted to jupyter_server: per
dashboard notebook it keeps ``pool_size`` kernels that have already *run* the notebook and
rendered its HTML, so a request gets a finished page and the browser only connects to the
kernel. The ceiling of :class:`octolib.server.kernels.CappedKernelManager` still holds for
kernels in use; idle pool kernels are not culled (Voilà's rule) and are refilled one second
after one is taken. Standalone voila was the alternative: it would need a second port, its
own copy of the login gate, and JupyterLab elsewhere; one server keeps one login and one
gate.

**The render-stall fix.** About one page load in 10 to 20 stalled for ever while Voilà
sent heartbeats. Cause (traced with message logs on both sides): nbclient waits for each
cell's ``execute_reply`` with no timeout on an asyncio ZMQ socket; its Output-widget
stand-in sends ``comm_msg`` updates on that same shell socket from the iopub task, and
``jupyter_client.Session.send`` sends through a *synchronous shadow* of the socket. When the
reply arrives during that send, libzmq's edge-triggered ZMQ_FD is consumed by the send and
pyzmq's pending ``poll()`` is never woken: the kernel has replied, the reply sits in the
socket, and the page waits until something else touches the socket. Two defences:

* the pages never write to an ``ipywidgets.Output`` while the notebook runs (no Output
  widgets at all; see :mod:`octolib.dashboards.widgets`), so nothing sends on the shell
  socket while a reply is awaited;
* :class:`SlicedVoilaExecutor` waits for replies in short slices, so a missed wake-up
  costs at most ``REPLY_POLL_S`` instead of the page (installed by :func:`install_render_fix`).

A second kind of blank page came from nbclient itself: it waits 4 s after a cell's reply for
the cell's output, then renders the cell without it. When several pools pre-render at once on
two cores the server can take longer than that to read output the kernel has long sent, and
the page's widget output was dropped (the page never showed its widgets: one load in several
hundred, seen once in CI). :class:`SlicedVoilaExecutor` waits for the output while the kernel
lives, up to :data:`LATE_OUTPUT_S`, and logs when it came late.

**Charts load plotly.js once.** A plotly ``FigureWidget`` ships its 5 MB JavaScript bundle
(plotly.js included) as the text of its ``_esm`` trait, so a page with four charts pushed
20 MB through the kernel websocket and evaluated the bundle four times (8 s for the
Engagement page). The dashboards' charts (:class:`octolib.dashboards.widgets.Chart`) carry a
few lines that ``import()`` the bundle from :data:`PLOTLY_BUNDLE_PATH` on this server
instead: fetched once, cached by the browser, shared by every chart.
:func:`add_routes` serves it (signed-in users only): :data:`PARTIAL_BUNDLE`, plotly's widget
with plotly.js cut to the trace types the charts draw (1.3 MB against 5 MB, so the browser
evaluates a quarter of it; ``scripts/build_plotly_bundle.py`` rebuilds it from npm).

**No CDN.** Voilà's ``lab`` template links Font Awesome from jsDelivr. The ``octopus``
template (``octolib/voila_assets``) is the same page without it; plotly.js and the widget
code come from the local labextensions. :func:`server_environment` puts the template on
``JUPYTER_PATH``.

What ``octo serve`` adds (see :func:`server_arguments`, :func:`server_environment`)::

    argv += server_arguments(pool_size=1)
    env.update(server_environment(env))
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from queue import Empty
from typing import Any

__all__ = [
    "REPLY_POLL_S",
    "TEMPLATE",
    "SlicedVoilaExecutor",
    "install_render_fix",
    "PooledKernelManager",
    "assets_dir",
    "server_arguments",
    "server_environment",
    "add_routes",
    "PLOTLY_BUNDLE_PATH",
]

log = logging.getLogger(__name__)

#: Seconds between a page view taking a pool kernel and the pool starting its refill.
FILL_DELAY_S = 3.0

#: Longest wait on the shell socket before looking again (see the module doc).
REPLY_POLL_S = 0.5

#: Longest wait for a cell's output after its reply before the cell fails (see
#: :class:`SlicedVoilaExecutor`); nbclient's own 4 s dropped the output instead.
LATE_OUTPUT_S = 60.0

#: The Voilà template without CDN links (``octolib/voila_assets/share/jupyter/voila/templates/octopus``).
TEMPLATE = "octopus"


#: Where the dashboards' charts import plotly's widget bundle from (under the base URL).
PLOTLY_BUNDLE_PATH = "octopus/plotly-widget.js"

#: Where pages look for MathJax (an empty local script; the dashboards show no LaTeX).
MATHJAX_STUB = f"/voila/templates/{TEMPLATE}/static/mathjax-off.js"


def assets_dir() -> Path:
    """The folder to add to ``JUPYTER_PATH`` (holds ``voila/templates/octopus``)."""
    return Path(__file__).resolve().parents[1] / "voila_assets" / "share" / "jupyter"


def server_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Variables the server process needs: ``JUPYTER_PATH`` with our template folder first.

    ``base`` is the environment being built (its ``JUPYTER_PATH`` is kept after ours).
    """
    existing = (base or {}).get("JUPYTER_PATH", "")
    parts = [str(assets_dir())] + [p for p in existing.split(os.pathsep) if p and p != str(assets_dir())]
    return {"JUPYTER_PATH": os.pathsep.join(parts)}


def server_arguments(pool_size: int = 1, pool_notebooks: Sequence[str] = ()) -> list[str]:
    """Jupyter options that turn on the pools, the stall fix and the offline template.

    ``pool_size`` kernels per notebook (0 turns pools off: every view starts a kernel);
    ``pool_notebooks`` limits pools to those notebook paths (relative to the notebooks
    folder; empty = every notebook in it).
    """
    args = [
        "--ServerApp.kernel_manager_class=octolib.server.voila.PooledKernelManager",
        # The page configuration's MathJax URL defaults to cdnjs; point it at an empty local file.
        f"--ServerApp.tornado_settings=mathjax_url={MATHJAX_STUB}",
        f"--PooledKernelManager.pool_size={int(pool_size)}",
        # A taken pool kernel is refilled 3 s later, not Voila's 1 s: the refill then runs
        # after the browser has loaded the page it took (both want the same two cores), and a
        # page in demand has a second ready kernel meanwhile. Measured with two analysts and a
        # sync (bench_dashboards --users 2 --sync): p90 to widgets 3.4 s against 4.3 s.
        f"--PooledKernelManager.fill_delay={FILL_DELAY_S}",
        f"--VoilaConfiguration.template={TEMPLATE}",
        "--VoilaConfiguration.show_tracebacks=False",
        # plotly's JupyterLab extension renders plotly *outputs* and loads all of plotly.js
        # (4.8 MB) into every page as it starts; the dashboards draw FigureWidgets, whose
        # code comes from PLOTLY_BUNDLE_PATH when a chart needs it.
        # (VoilaConfiguration is not one of the server's own classes: its list is given as a
        # literal, which the trait parses later.)
        '--VoilaConfiguration.extension_denylist=["jupyterlab-plotly"]',
    ]
    # Jupyter's command line takes a list as the same option repeated.
    args += [f"--PooledKernelManager.pool_notebooks={n}" for n in pool_notebooks]
    return args


# -- plotly's widget bundle, once per browser ----------------------------------------------------

#: The plotly.js inside the installed plotly's widget bundle; the partial bundle is built
#: from the same release on npm (``scripts/build_plotly_bundle.py`` refuses a mismatch).
PLOTLY_JS_VERSION = "4.1.1"

#: The trace types the partial bundle carries: every type :mod:`octolib.charts` draws (a test
#: builds every page's charts and checks). scatter is part of plotly.js's core.
PLOTLY_TRACE_TYPES = ("bar", "funnel", "heatmap", "scatter")

#: plotly's widget with plotly.js cut to :data:`PLOTLY_TRACE_TYPES` (1.3 MB against 5 MB;
#: built by ``scripts/build_plotly_bundle.py``), and what it was built from.
PARTIAL_BUNDLE = Path(__file__).resolve().parents[1] / "voila_assets" / "plotly" / "plotly-widget.min.js"
PARTIAL_MANIFEST = PARTIAL_BUNDLE.with_name("manifest.json")


def installed_widget_bundle() -> Path:
    """plotly's own anywidget bundle (all of plotly.js inside), as installed."""
    import plotly

    return Path(plotly.__file__).resolve().parent / "package_data" / "widgetbundle.js"


def plotly_bundle_file() -> Path:
    """The bundle the charts import: the partial one when it was built from the installed
    plotly (its widget code must match the Python side's messages), else plotly's own."""
    try:
        built_for = json.loads(PARTIAL_MANIFEST.read_text()).get("plotly")
    except (OSError, ValueError):
        built_for = None
    if built_for == plotly_version() and PARTIAL_BUNDLE.is_file():
        return PARTIAL_BUNDLE
    log.warning("the partial plotly bundle was built for plotly %s, not the installed %s: serving plotly's "
                "full bundle (rebuild with scripts/build_plotly_bundle.py)", built_for, plotly_version())
    return installed_widget_bundle()


def plotly_version() -> str:
    import plotly

    return str(plotly.__version__)


def add_routes(server_app: Any) -> None:
    """Serve :data:`PLOTLY_BUNDLE_PATH` from ``server_app`` (signed-in users only). The
    ``octopus`` template prefetches it into the browser's cache; the page probe starts the
    import once the page is painted, so the controls show first and the charts follow."""
    from jupyter_server.base.handlers import JupyterHandler
    from jupyter_server.utils import url_path_join
    from tornado import web

    if getattr(server_app.web_app, "_octo_plotly_route", False):
        return
    server_app.web_app._octo_plotly_route = True
    # ``--OctoPlotly.bundle=full``: plotly's own full bundle (benchmarks compare the two; an
    # operator's way out should a chart need a trace type the partial bundle lacks).
    full = str(server_app.config.get("OctoPlotly", {}).get("bundle", "")) == "full"
    bundle = installed_widget_bundle() if full else plotly_bundle_file()
    body = bundle.read_bytes()
    tag = f'"plotly-{plotly_version()}-{hashlib.sha256(body).hexdigest()[:16]}"'

    class PlotlyBundleHandler(JupyterHandler):
        def compute_etag(self) -> str | None:
            # Revalidated on every page (a few ms locally), so a rebuilt bundle or a plotly
            # upgrade is picked up at once; the tag is hashed once, not per request.
            return tag

        @web.authenticated
        def get(self) -> None:
            self.set_header("Content-Type", "text/javascript; charset=utf-8")
            self.set_header("Cache-Control", "private, no-cache")
            self.write(body)

    route = url_path_join(server_app.base_url, PLOTLY_BUNDLE_PATH.replace(".", r"\."))
    server_app.web_app.add_handlers(".*$", [(route, PlotlyBundleHandler)])
    server_app.log.info("serving plotly's widget bundle (%s, %d bytes) at %s", bundle.name, len(body),
                        url_path_join(server_app.base_url, PLOTLY_BUNDLE_PATH))


# -- the stall fix ---------------------------------------------------------------------------

def _executor_base() -> type:
    from voila.execute import VoilaExecutor

    return VoilaExecutor


class _SlicedMixin:
    """Waits for ``execute_reply`` in slices of :data:`REPLY_POLL_S` (see the module doc), and
    for each cell's output until it is complete (see :meth:`_cell_output`)."""

    reply_poll_s: float = REPLY_POLL_S
    late_output_s: float = LATE_OUTPUT_S
    missed_wakeups = 0  # replies found only when a slice ended (class-wide, for the logs)
    late_outputs = 0  # cells whose output was complete only after nbclient's iopub_timeout

    async def _async_poll_for_reply(self, msg_id: str, cell: Any, timeout: int | None,
                                    task_poll_output_msg: asyncio.Future, task_poll_kernel_alive: asyncio.Future
                                    ) -> dict[str, Any]:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            wait = self.reply_poll_s
            if deadline is not None:
                wait = max(0.0, min(wait, deadline - time.monotonic()))
            started = time.monotonic()
            try:
                msg = await self.kc.shell_channel.get_msg(timeout=wait)  # type: ignore[attr-defined]
            except Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    # nbclient's own timeout handling (interrupt, error cell) from here on.
                    return await super()._async_poll_for_reply(  # type: ignore[misc]
                        msg_id, cell, 0, task_poll_output_msg, task_poll_kernel_alive)
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if time.monotonic() - started >= wait * 0.98 and wait > 0:
                # Found by the slice's own timer, not by a socket wake-up.
                type(self).missed_wakeups += 1
                log.info("a kernel reply was picked up only at the end of a %.1f s slice (missed wake-up)", wait)
            if getattr(self, "record_timing", False):
                from nbclient.client import timestamp

                cell["metadata"].setdefault("execution", {})["shell.execute_reply"] = timestamp(msg)
            try:
                await self._cell_output(cell, task_poll_output_msg)
            finally:
                task_poll_kernel_alive.cancel()
            return msg

    async def _cell_output(self, cell: Any, task_poll_output_msg: asyncio.Future) -> None:
        """Wait until the cell's output is complete (its kernel said idle), for as long as the
        kernel lives, up to :data:`LATE_OUTPUT_S`; never render a cell without its output.

        Why: nbclient gives a cell's output ``iopub_timeout`` (4 s) after the reply, then
        cancels the reader and renders the cell with what it had, logging only "Timeout
        waiting for IOPub output". A kernel sends a cell's output before its reply, so output
        still unread 4 s later means this server had no time to read it (ten pools
        pre-rendering at once on two cores), not that it will not come; a dashboard rendered
        without its last cell's output is a page whose widgets never appear. nbclient's
        liveness check still ends this wait if the kernel dies (it cancels the reply task this
        runs in). Past ``late_output_s`` the cell fails: an error on the page, not a blank one.
        """
        started = time.monotonic()
        iopub_timeout = float(self.iopub_timeout)  # type: ignore[attr-defined]
        limit = max(iopub_timeout, self.late_output_s)
        try:
            await asyncio.wait_for(asyncio.shield(task_poll_output_msg), limit)
        except asyncio.TimeoutError:
            from nbclient.exceptions import CellTimeoutError

            raise CellTimeoutError.error_from_timeout_and_cell(
                "Timeout waiting for IOPub output", int(limit), cell) from None
        finally:
            if not task_poll_output_msg.done():
                task_poll_output_msg.cancel()
        waited = time.monotonic() - started
        if waited > iopub_timeout:
            type(self).late_outputs += 1
            log.warning("a cell's output was complete %.1f s after its reply (nbclient alone would have "
                        "rendered the cell without it after %.0f s)", waited, iopub_timeout)


def _make_executor_class() -> type:
    base = _executor_base()
    return type("SlicedVoilaExecutor", (_SlicedMixin, base), {"__module__": __name__,
                                                               "__doc__": _SlicedMixin.__doc__})


_sliced: type | None = None


def _memory_bytecode_cache() -> Any:
    """A ``jinja2.BytecodeCache`` kept in memory, for :func:`install_template_cache`."""
    import jinja2

    class MemoryBytecodeCache(jinja2.BytecodeCache):
        def __init__(self) -> None:
            self.code: dict[str, bytes] = {}

        def load_bytecode(self, bucket: Any) -> None:
            data = self.code.get(bucket.key)
            if data is not None:
                bucket.bytecode_from_string(data)

        def dump_bytecode(self, bucket: Any) -> None:
            self.code[bucket.key] = bucket.bytecode_to_string()

    return MemoryBytecodeCache()


def install_template_cache() -> None:
    """Compile Voilà's page templates once per server, not once per page render (idempotent).

    Why: every pre-render (a pool refill: one per page view) builds a new Voilà exporter, and
    each exporter builds a new Jinja environment that parsed and compiled the whole ``lab``
    template tree again: about a third of the server's CPU per refill (sampled with py-spy),
    on the one thread that also answers every browser. Jinja's bytecode cache is the hook it
    offers for this: a template whose source is unchanged (Jinja compares a checksum) is
    loaded from the cached code instead of being compiled.
    """
    from voila.exporter import VoilaExporter

    if getattr(VoilaExporter, "_octo_template_cache", False):
        return
    create = VoilaExporter._create_environment
    shared = _memory_bytecode_cache()

    def _create_environment(self: Any) -> Any:
        environment = create(self)
        environment.bytecode_cache = shared
        return environment

    VoilaExporter._create_environment = _create_environment  # type: ignore[method-assign]
    VoilaExporter._octo_template_cache = True  # type: ignore[attr-defined]


def install_render_fix() -> type:
    """Make Voilà render notebooks with :class:`SlicedVoilaExecutor` (idempotent).

    Voilà builds its executor by name inside ``voila.notebook_renderer``; rebinding that
    name is the only hook it offers. Returns the executor class in use.
    """
    import voila.notebook_renderer as renderer

    install_template_cache()
    cls = __getattr__("SlicedVoilaExecutor")
    if renderer.VoilaExecutor is not cls:
        renderer.VoilaExecutor = cls
        log.info("Voilà renders with %s (reply polls of %.1f s)", cls.__name__, REPLY_POLL_S)
    return cls


# -- pools inside jupyter_server ---------------------------------------------------------------

def _pool_base() -> type:
    from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
    from tornado import web

    from octolib.server.kernels import CappedKernelManager

    class _PoolAwareCap(CappedKernelManager):
        """The kernel ceiling, counting only kernels in use (pool kernels are bounded by the
        pool size and must be able to refill)."""

        async def start_kernel(self, *args: Any, **kwargs: Any) -> str:
            env = kwargs.get("env") or {}
            kernel_id = kwargs.get("kernel_id")
            is_new = kernel_id is None or kernel_id not in self
            if is_new and env.get("VOILA_PREHEAT") != "True" and self.max_kernels:
                in_use = self.kernels_in_use()
                if in_use >= self.max_kernels:
                    self.log.warning("refusing a new kernel: %d in use, the limit is %d", in_use, self.max_kernels)
                    raise web.HTTPError(503, f"Too many kernels running ({self.max_kernels}); "
                                             "try again in a few minutes")
            started = await AsyncMappingKernelManager.start_kernel(self, *args, **kwargs)
            self.note_kernel(started, env)
            return started

        def kernels_in_use(self) -> int:
            return len(set(self.list_kernel_ids()) - self.pooled_kernel_ids())

    return _PoolAwareCap


def _build_pooled_class() -> type:
    from traitlets import Float, Integer, List, Unicode
    from voila.voila_kernel_manager import voila_kernel_manager_factory

    base = voila_kernel_manager_factory(_pool_base(), preheat_kernel=True, default_pool_size=1)

    class PooledKernelManager(base):  # type: ignore[misc, valid-type]
        """Voilà's pre-heated kernel pools inside jupyter_server (see the module doc)."""

        pool_size = Integer(1, config=True, help="Pre-started kernels per dashboard notebook (0 = none).")
        busy_pool_size = Integer(
            2, config=True,
            help="Pre-started kernels for a page in demand: one opened again within busy_window_s "
                 "of its previous view (so a second analyst does not wait for a refill).")
        busy_window_s = Float(
            300.0, config=True,
            help="A page opened twice within this many seconds keeps busy_pool_size kernels ready "
                 "until it has not been opened for this long.")
        pool_notebooks = List(Unicode(), [], config=True,
                              help="Notebook paths (relative to the root) that get pools; empty = every notebook.")

        def __init__(self, **kwargs: Any) -> None:
            # Voilà's own __init__ reads attributes only its app has (notebook_path, ...):
            # skip it, set up the same state, and fill the pools once the server runs.
            super(base, self).__init__(**kwargs)
            self._wait_at_startup = True
            self.notebook_data = {}
            self._pools = {}
            self.notebook_path = None
            self.root_dir = getattr(self.parent, "root_dir", os.getcwd())
            self._voila: dict[str, Any] | None = None
            self._last_taken: dict[str, float] = {}
            install_render_fix()
            try:
                loop = asyncio.get_event_loop()
            except RuntimeError:
                loop = asyncio.new_event_loop()
                asyncio.set_event_loop(loop)
            loop.call_soon(self._start_pools)

        @property
        def _pool_config(self) -> dict[str, Any]:
            return {"default": {"pool_size": max(int(self.pool_size), 0),
                                "kernel_env_variables": self.default_env_variables}}

        def _start_pools(self) -> None:
            """Runs once the server's loop runs: every extension (Voilà's) is loaded then."""
            server = self.parent
            if server is None or getattr(server, "web_app", None) is None:
                self.log.warning("no Jupyter server around the kernel manager: no kernel pools")
                return
            from voila.configuration import VoilaConfiguration
            from voila.paths import collect_template_paths
            from voila.server_extension import load_config_file

            conf = VoilaConfiguration(parent=server)
            local = load_config_file()
            if local is not None:
                conf.update_config(local)
            self._voila = {
                "configuration": conf,
                "template_paths": collect_template_paths(["voila", "nbconvert"], conf.template),
                "settings": server.web_app.settings,
            }
            if not hasattr(server, "server_url"):
                server.server_url = server.base_url  # what Voilà's pool code calls its API prefix
            self.kernel_pools_config = self._pool_config
            if self.pool_size <= 0:
                self.log.info("kernel pools are off (pool_size=0)")
                return
            names = self._pool_names()
            for name in names:
                self.fill_if_needed(delay=0, notebook_name=name)
            self.log.info("kernel pools: %d kernel(s) each for %s (in %s)", self.pool_size,
                          ", ".join(names) or "no notebook", self.root_dir)

        def _pool_names(self) -> list[str]:
            root = Path(self.root_dir)
            if self.pool_notebooks:
                return [n for n in self.pool_notebooks if (root / n).is_file()]
            return sorted(str(p.relative_to(root)) for p in root.rglob("*.ipynb")
                          if self._notebook_filter(p.relative_to(root))
                          and not any(part.startswith((".", "_")) for part in p.relative_to(root).parts))

        # -- pools sized by demand ---------------------------------------------------------

        def target_pool_size(self, notebook_name: str) -> int:
            """Ready kernels this page should have now (``pool_size``, or ``busy_pool_size``
            while it is in demand)."""
            config = self.kernel_pools_config.get(notebook_name) or {}
            return int(config.get("pool_size", max(int(self.pool_size), 0)))

        def note_taken(self, notebook_name: str, now: float | None = None) -> bool:
            """A view took one of the page's kernels: a second view within ``busy_window_s``
            puts the page in demand (its pool grows to ``busy_pool_size``). True if it grew."""
            now = time.monotonic() if now is None else now
            previous = self._last_taken.get(notebook_name)
            self._last_taken[notebook_name] = now
            busy = max(int(self.busy_pool_size), int(self.pool_size))
            if (previous is None or now - previous > self.busy_window_s
                    or self.pool_size <= 0 or self.target_pool_size(notebook_name) >= busy):
                return False
            self.kernel_pools_config = {**self.kernel_pools_config,
                                        notebook_name: {**self._pool_config["default"], "pool_size": busy}}
            self.log.info("%s is in demand: keeping %d kernels ready for it", notebook_name, busy)
            return True

        async def shrink_idle_pools(self, now: float | None = None) -> list[str]:
            """Pages not opened for ``busy_window_s`` go back to ``pool_size`` ready kernels
            (the extra ready kernels are shut down). Returns the pages that shrank."""
            now = time.monotonic() if now is None else now
            shrunk = []
            for name, config in list(self.kernel_pools_config.items()):
                if name == "default" or now - self._last_taken.get(name, now) <= self.busy_window_s:
                    continue
                config = dict(self.kernel_pools_config)
                del config[name]
                self.kernel_pools_config = config
                pool = self._pools.get(name, [])
                extra = [t for t in pool if t.done() and self._healthy(t)][max(int(self.pool_size), 0):]
                for task in extra:
                    pool.remove(task)
                    kernel_id = (task.result() or {}).get("kernel_id")
                    if kernel_id:
                        await self.shutdown_kernel(kernel_id)
                self.log.info("%s is no longer in demand: %d kernel(s) ready for it", name, len(pool))
                shrunk.append(name)
            return shrunk

        async def get_rendered_notebook(self, notebook_name: str, *args: Any, **kwargs: Any) -> Any:
            # Before Voila's own: the refill it starts reads the page's (possibly grown) pool size.
            self.note_taken(notebook_name)
            return await super().get_rendered_notebook(notebook_name, *args, **kwargs)

        async def reap_closed_pages(self) -> list[str]:
            reaped = await super().reap_closed_pages()
            await self.shrink_idle_pools()
            return reaped

        def _notebook_renderer_factory(self, notebook_path: str | None = None) -> Any:
            from voila.notebook_renderer import NotebookRenderer
            from voila.utils import get_page_config

            if self._voila is None:
                raise RuntimeError("kernel pools are not set up yet")
            server = self.parent
            conf = self._voila["configuration"]
            settings = self._voila["settings"]
            page_config = get_page_config(base_url=server.base_url, settings=settings, log=server.log,
                                          voila_configuration=conf)
            return NotebookRenderer(
                voila_configuration=conf,
                traitlet_config=server.config,
                notebook_path=notebook_path,
                template_paths=self._voila["template_paths"],
                config_manager=server.config_manager,
                contents_manager=server.contents_manager,
                base_url=server.base_url,
                kernel_spec_manager=server.kernel_spec_manager,
                page_config=page_config,
                mathjax_config=settings.get("mathjax_config"),
                mathjax_url=settings.get("mathjax_url"),
            )

        async def _initialize(self, notebook_path: str, kernel_id: str | None = None, **kwargs: Any) -> Any:
            started = time.monotonic()
            result = await super()._initialize(notebook_path, kernel_id, **kwargs)

            def rendered(task: asyncio.Task) -> None:
                if task.cancelled() or task.exception() is not None:
                    self.log.warning("pre-rendering %s failed: %s", notebook_path,
                                     "cancelled" if task.cancelled() else task.exception())
                else:
                    self.log.info("pre-rendered %s in kernel %s in %.2f s", notebook_path, result["kernel_id"],
                                  time.monotonic() - started)

            result["task"].add_done_callback(rendered)
            return result

        def fill_if_needed(self, delay: float | None = None, notebook_name: str | None = None,
                           extra_kernel_env_variables: dict | None = None, **kwargs: Any) -> None:
            """Voilà's refill, within the ceiling: a claimed pool kernel is a kernel in use,
            so once ``max_kernels`` are in use the pools stop refilling (and the next view
            gets the ceiling's 503 instead of a kernel nobody counted)."""
            if self.max_kernels and self.kernels_in_use() >= self.max_kernels:
                self.log.warning("not refilling the kernel pool of %s: %d kernels in use, the limit is %d",
                                 notebook_name, self.kernels_in_use(), self.max_kernels)
                return
            super().fill_if_needed(delay=delay, notebook_name=notebook_name,
                                   extra_kernel_env_variables=extra_kernel_env_variables or {}, **kwargs)

        async def shutdown_kernel(self, kernel_id: str, *args: Any, **kwargs: Any) -> Any:
            result = await super().shutdown_kernel(kernel_id, *args, **kwargs)
            # A page closed: pools that ran dry at the ceiling can fill again (not while the
            # server stops: shutdown_all comes through here for every kernel).
            if self._voila is not None and self.pool_size > 0 and not getattr(self, "_closing", False):
                for name, pool in list(self._pools.items()):
                    if len(pool) < self.pool_size:
                        self.fill_if_needed(notebook_name=name)
            return result

        async def shutdown_all(self, *args: Any, **kwargs: Any) -> Any:
            self._closing = True
            return await super().shutdown_all(*args, **kwargs)

        def _healthy(self, task: Any) -> bool:
            if not task.done():
                return True
            if task.cancelled() or task.exception() is not None:
                return False
            return True

        def get_pool_size(self, notebook_name: str) -> int:
            """Ready or starting pool kernels; failed ones are dropped (and replaced) first,
            so a request never takes a kernel that died while waiting."""
            pool = self._pools.get(notebook_name, [])
            bad = [t for t in pool if not self._healthy(t)]
            if bad:
                for t in bad:
                    pool.remove(t)
                    if not t.cancelled():
                        self.log.warning("dropping a failed pool kernel for %s: %s", notebook_name, t.exception())
                self.fill_if_needed(notebook_name=notebook_name)
            return len(pool)

        def pooled_kernel_ids(self) -> set[str]:
            ids = set()
            for pool in self._pools.values():
                for task in pool:
                    if task.done() and not task.cancelled() and task.exception() is None:
                        kid = (task.result() or {}).get("kernel_id")
                        if kid:
                            ids.add(kid)
            return ids

    return PooledKernelManager


def _pooled() -> type:
    global _pooled_class
    if _pooled_class is None:
        _pooled_class = _build_pooled_class()
    return _pooled_class


_pooled_class: type | None = None


def __getattr__(name: str) -> Any:
    """The two classes are built on first use, so importing this module (e.g. for
    :func:`server_arguments` in ``octo serve``) does not import Voilà and jupyter_server."""
    global _sliced
    if name == "SlicedVoilaExecutor":
        if _sliced is None:
            _sliced = _make_executor_class()
        return _sliced
    if name == "PooledKernelManager":
        return _pooled()
    raise AttributeError(name)
