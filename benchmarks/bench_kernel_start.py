"""How long a dashboard page kernel takes to start and run a page: forked from the kernel
zygote (octolib.server.kernel_forks) against started as a process of its own.

Runs by hand, asserts nothing. For each way it starts ``--kernels`` page kernels one after the
other through jupyter_client (as the server does), and prints per kernel: the start call, the
time until the kernel answers ``kernel_info`` ("ready"), and the page's three cells (the
parameters, the imports, the page built from the data folder's per-sync-run cache)::

    python benchmarks/bench_kernel_start.py --data-dir ~/.octopus/demo --page overview
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import time
from typing import Any

from jupyter_client import AsyncKernelManager

from octolib.server.kernel_forks import KernelZygote, launch_forked
from octolib.server.kernels import page_kernel_command


class _Manager(AsyncKernelManager):
    zygote: KernelZygote | None = None

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        cmd = page_kernel_command(kernel_cmd, kw.get("env"))
        if self.zygote is not None:
            info = await launch_forked(self.zygote, self.provisioner, cmd, kw)
            if info is not None:
                self._reconcile_connection_info(info)
                return
        await super()._async_launch_kernel(cmd, **kw)


async def _run(kc: Any, code: str) -> float:
    started = time.perf_counter()
    msg_id = kc.execute(code)
    while (await kc.get_shell_msg(timeout=120))["parent_header"].get("msg_id") != msg_id:
        pass
    return time.perf_counter() - started


async def _measure(way: str, kernels: int, page: str, env: dict[str, str]) -> list[dict[str, float]]:
    zygote = KernelZygote(logging.getLogger("bench")) if way == "forked" else None
    if zygote is not None:
        await zygote.ready()
    cells = ["settings_overrides = {}",
             f"from octolib.config import Settings\nfrom octolib.dashboards import {page}_page\n"
             "settings = Settings.from_env().replace(**settings_overrides)",
             f"page = {page}_page(settings)\npage"]
    rows = []
    try:
        for _ in range(kernels):
            km = _Manager(kernel_name="python3")
            km.zygote = zygote
            t0 = time.perf_counter()
            await km.start_kernel(env=env)
            start = time.perf_counter() - t0
            kc = km.client()
            kc.start_channels()
            await kc.wait_for_ready(timeout=120)
            ready = time.perf_counter() - t0
            times = [await _run(kc, c) for c in cells]
            rows.append({"start": start, "ready": ready, "imports": times[1], "page": times[2],
                         "total": time.perf_counter() - t0})
            kc.stop_channels()
            await km.shutdown_kernel(now=True)
    finally:
        if zygote is not None:
            zygote.stop()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True, help="a synced data folder (OCTO_DATA_DIR)")
    parser.add_argument("--page", default="overview")
    parser.add_argument("--kernels", type=int, default=3)
    args = parser.parse_args()
    env = {**os.environ, "OCTO_DATA_DIR": os.path.expanduser(args.data_dir), "VOILA_PREHEAT": "True"}
    print(f"{'way':<8} {'start':>6} {'ready':>6} {'imports':>8} {'page':>6} {'total':>6}  (seconds, median of {args.kernels})")
    for way in ("spawned", "forked"):
        rows = asyncio.run(_measure(way, args.kernels, args.page, env))
        med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
        print(f"{way:<8} {med['start']:6.2f} {med['ready']:6.2f} {med['imports']:8.2f} {med['page']:6.2f} {med['total']:6.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
