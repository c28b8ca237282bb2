"""A kernel manager with a ceiling on running kernels.

Why: every Voilà page view starts a kernel of ~140 MB, and a small EC2 instance runs out of
memory long before jupyter_server notices. Past ``max_kernels`` a new kernel is refused with
503 (the user retries later); culling (configured by ``octo serve``) frees idle ones.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from tornado import web
from traitlets import Integer

__all__ = ["CappedKernelManager"]


class CappedKernelManager(AsyncMappingKernelManager):
    """``AsyncMappingKernelManager`` that refuses to start more than ``max_kernels`` kernels."""

    max_kernels = Integer(8, config=True, help="Most kernels running at once (0 = no limit).")

    async def start_kernel(self, *args: Any, **kwargs: Any) -> str:
        kernel_id = kwargs.get("kernel_id")
        is_new = kernel_id is None or kernel_id not in self
        if is_new and self.max_kernels and len(self.list_kernel_ids()) >= self.max_kernels:
            self.log.warning("refusing a new kernel: %d running, the limit is %d",
                             len(self.list_kernel_ids()), self.max_kernels)
            raise web.HTTPError(503, f"Too many kernels running ({self.max_kernels}); try again in a few minutes")
        return await super().start_kernel(*args, **kwargs)
