"""A kernel manager with a ceiling on running kernels, that ends the kernels of closed pages.

Why a ceiling: every Voilà page view starts a kernel of ~140 MB, and a small EC2 instance
runs out of memory long before jupyter_server notices. Past ``max_kernels`` a new kernel is
refused with 503 (the user retries later); culling (configured by ``octo serve``) frees
idle ones.

Why end page kernels: a dashboard's kernel serves one page view. Voilà asks the server to
shut it down when the page unloads (a beacon on ``beforeunload``), but a browser that is
closed, killed or asleep sends nothing, and those kernels lingered until the idle cull (10
minutes), holding the ceiling: 11 kernels and ~1.4 GiB seen at shutdown, and pools that
could not refill. A Voilà page kernel with no browser connected for
``page_kernel_grace_s`` is shut down. JupyterLab's kernels are never touched here (an
analyst's notebook keeps its kernel with the tab closed, as JupyterLab intends).

Why page kernels start through :mod:`octolib.server.page_kernel`: a pool refill is a new
kernel running its page's notebook, and 3.5 s of CPU of it was one import no page uses (see
that module). :class:`PageKernelLauncher` runs that module instead of ``ipykernel_launcher``
for kernels Voilà starts (their environment names ``VOILA_PREHEAT``); other kernels start
exactly as their kernel spec says.

Why page kernels are forks: :mod:`octolib.server.kernel_forks` (one process that has imported
everything once; a page kernel is a fork of it). ``fork_page_kernels`` turns that off.
"""

from __future__ import annotations

import time
from typing import Any

from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager, ServerKernelManager
from tornado import web
from tornado.ioloop import PeriodicCallback
from traitlets import Bool, Float, Integer, default

from octolib.server.kernel_forks import KernelZygote, launch_forked

__all__ = ["CappedKernelManager", "PageKernelLauncher", "page_kernel_command"]

#: The module a dashboard page's kernel runs instead of ``ipykernel_launcher``.
PAGE_KERNEL_MODULE = "octolib.server.page_kernel"


def page_kernel_command(cmd: list[str], env: dict[str, str] | None) -> list[str]:
    """``cmd`` with ``-m ipykernel_launcher`` replaced by :data:`PAGE_KERNEL_MODULE` when
    ``env`` is a Voilà page kernel's; otherwise ``cmd`` unchanged.

    >>> page_kernel_command(["py", "-m", "ipykernel_launcher", "-f", "c.json"], {"VOILA_PREHEAT": "True"})
    ['py', '-m', 'octolib.server.page_kernel', '-f', 'c.json']
    >>> page_kernel_command(["py", "-m", "ipykernel_launcher", "-f", "c.json"], {})
    ['py', '-m', 'ipykernel_launcher', '-f', 'c.json']
    """
    if not env or "VOILA_PREHEAT" not in env:
        return list(cmd)
    out = list(cmd)
    for i in range(len(out) - 1):
        if out[i] == "-m" and out[i + 1] == "ipykernel_launcher":
            out[i + 1] = PAGE_KERNEL_MODULE
            break
    return out


class PageKernelLauncher(ServerKernelManager):
    """jupyter_server's per-kernel manager, starting page kernels through
    :mod:`octolib.server.page_kernel` (see the module doc)."""

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        cmd = page_kernel_command(kernel_cmd, kw.get("env"))
        zygote = getattr(self.parent, "page_kernel_zygote", lambda: None)()
        if cmd != kernel_cmd and zygote is not None and self.provisioner is not None:
            info = await launch_forked(zygote, self.provisioner, cmd, kw)
            if info is not None:
                self._reconcile_connection_info(info)
                return
        await super()._async_launch_kernel(cmd, **kw)


class CappedKernelManager(AsyncMappingKernelManager):
    """``AsyncMappingKernelManager`` that refuses to start more than ``max_kernels`` kernels."""

    max_kernels = Integer(8, config=True, help="Most kernels running at once (0 = no limit).")
    page_kernel_grace_s = Float(
        90.0, config=True,
        help="Shut down a dashboard page's kernel once no browser has been connected to it this "
             "long (seconds; 0 = never). Covers a page load's render and a brief network drop.")
    fork_page_kernels = Bool(
        True, config=True,
        help="Start dashboard page kernels as forks of one process that has imported everything "
             "(octolib.server.kernel_forks); False starts each as its own process.")

    @default("kernel_manager_class")
    def _default_kernel_manager_class(self) -> str:
        return f"{__name__}.PageKernelLauncher"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._page_kernels: set[str] = set()
        self._unconnected_since: dict[str, float] = {}
        self._reaper: PeriodicCallback | None = None
        self._zygote: KernelZygote | None = None

    def page_kernel_zygote(self) -> KernelZygote | None:
        """The process page kernels are forked from (started on first use), or None when off."""
        if not self.fork_page_kernels:
            return None
        if self._zygote is None:
            self._zygote = KernelZygote(self.log)
        return self._zygote

    async def start_kernel(self, *args: Any, **kwargs: Any) -> str:
        kernel_id = kwargs.get("kernel_id")
        is_new = kernel_id is None or kernel_id not in self
        if is_new and self.max_kernels and len(self.list_kernel_ids()) >= self.max_kernels:
            self.log.warning("refusing a new kernel: %d running, the limit is %d",
                             len(self.list_kernel_ids()), self.max_kernels)
            raise web.HTTPError(503, f"Too many kernels running ({self.max_kernels}); try again in a few minutes")
        started = await super().start_kernel(*args, **kwargs)
        self.note_kernel(started, kwargs.get("env"))
        return started

    # -- kernels of closed pages ------------------------------------------------------------

    def pooled_kernel_ids(self) -> set[str]:
        """Kernels waiting in a pool for a page (never reaped: nobody is meant to be connected)."""
        return set()

    def note_kernel(self, kernel_id: str, env: dict[str, str] | None) -> None:
        """Remember a kernel Voilà started for a page (its env names ``VOILA_PREHEAT``)."""
        if not env or "VOILA_PREHEAT" not in env:
            return
        self._page_kernels.add(kernel_id)
        if self.page_kernel_grace_s > 0 and self._reaper is None:
            every_ms = max(1000.0, min(15_000.0, self.page_kernel_grace_s * 1000 / 4))
            self._reaper = PeriodicCallback(self.reap_closed_pages, every_ms)
            self._reaper.start()

    async def reap_closed_pages(self) -> list[str]:
        """Shut down page kernels no browser has been connected to for the grace period."""
        now = time.monotonic()
        running = set(self.list_kernel_ids())
        self._page_kernels &= running
        pooled = self.pooled_kernel_ids()
        reaped = []
        for kernel_id in sorted(self._page_kernels - pooled):
            if self._kernel_connections.get(kernel_id, 0) > 0:
                self._unconnected_since.pop(kernel_id, None)
                continue
            since = self._unconnected_since.setdefault(kernel_id, now)
            if now - since >= self.page_kernel_grace_s:
                self.log.info("shutting down kernel %s: its dashboard page closed (no browser for %.0f s)",
                              kernel_id, now - since)
                self._unconnected_since.pop(kernel_id, None)
                self._page_kernels.discard(kernel_id)
                reaped.append(kernel_id)
                try:
                    await self.shutdown_kernel(kernel_id)
                except Exception as exc:  # noqa: BLE001 - already gone, or dying: log and go on
                    self.log.warning("could not shut down kernel %s: %s", kernel_id, exc)
        for kernel_id in list(self._unconnected_since):
            if kernel_id not in self._page_kernels:
                del self._unconnected_since[kernel_id]
        return reaped

    async def shutdown_kernel(self, kernel_id: str, *args: Any, **kwargs: Any) -> Any:
        """Shut the kernel down and forget which analyst it served (octolib.dashboards.identity)."""
        from octolib.dashboards.identity import unbind_kernel

        try:
            connection_file = self.get_kernel(kernel_id).connection_file
        except KeyError:
            connection_file = ""
        result = await super().shutdown_kernel(kernel_id, *args, **kwargs)
        if connection_file:
            unbind_kernel(connection_file)
        return result

    async def shutdown_all(self, *args: Any, **kwargs: Any) -> Any:
        from octolib.dashboards.identity import unbind_kernel

        if self._reaper is not None:
            self._reaper.stop()
            self._reaper = None
        files = [getattr(self.get_kernel(k), "connection_file", "") for k in self.list_kernel_ids()]
        result = await super().shutdown_all(*args, **kwargs)
        for connection_file in files:
            if connection_file:
                unbind_kernel(connection_file)
        if self._zygote is not None:
            self._zygote.stop()
        return result
