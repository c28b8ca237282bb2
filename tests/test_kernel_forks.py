"""Page kernels forked from the kernel zygote (octolib.server.kernel_forks): a real zygote
process, real kernels talked to over ZMQ by jupyter_client, as the server does."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
from jupyter_client import AsyncKernelManager

from octolib.server.kernel_forks import ForkedProcess, KernelZygote, launch_forked
from octolib.server.kernels import page_kernel_command

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="fork-based kernels are for POSIX servers")


class ForkingKernelManager(AsyncKernelManager):
    """What :class:`octolib.server.kernels.PageKernelLauncher` does, without a server around it."""

    zygote: KernelZygote
    forked = False

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        info = await launch_forked(self.zygote, self.provisioner, page_kernel_command(kernel_cmd, kw.get("env")), kw)
        assert info is not None, "the zygote did not fork the kernel"
        self.forked = True
        self._reconcile_connection_info(info)


async def run_code(kc: Any, code: str, timeout: float = 60) -> dict[str, Any]:
    """Execute ``code``; the reply and the text of the last ``execute_result``."""
    msg_id = kc.execute(code)
    result = ""
    while True:
        msg = await kc.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "execute_result":
            result = msg["content"]["data"]["text/plain"]
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
    reply = await kc.get_shell_msg(timeout=timeout)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = await kc.get_shell_msg(timeout=timeout)
    return {"status": reply["content"]["status"], "ename": reply["content"].get("ename"), "result": result}


@pytest.fixture()
def zygote() -> Any:
    z = KernelZygote(logging.getLogger("test-zygote"))
    yield z
    z.stop()


def test_a_forked_kernel_runs_code_with_its_own_env_and_folder_and_stops_cleanly(zygote: KernelZygote,
                                                                               tmp_path: Path) -> None:
    async def scenario() -> None:
        assert await zygote.ready()
        zygote_pid = zygote._process.pid  # type: ignore[union-attr]
        km = ForkingKernelManager(kernel_name="python3")
        km.zygote = zygote
        env = {**os.environ, "VOILA_PREHEAT": "True", "OCTO_FORK_TEST": "planted-value"}
        await km.start_kernel(env=env, cwd=str(tmp_path))
        assert km.forked
        kc = km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=60)
            pid = int((await run_code(kc, "import os; os.getpid()"))["result"])
            assert pid == km.provisioner.pid != zygote_pid
            assert psutil.Process(pid).ppid() == zygote_pid  # a fork of the zygote, not a new process
            assert (await run_code(kc, "os.environ['OCTO_FORK_TEST']"))["result"] == "'planted-value'"
            assert (await run_code(kc, "os.getcwd()"))["result"] == repr(str(tmp_path))
            assert (await run_code(kc, "os.getsid(0) == os.getpid()"))["result"] == "True"  # its own session
            # What it shares with the zygote is imported, not re-imported: the page modules are there.
            assert (await run_code(kc, "import sys; 'octolib.dashboards.overview' in sys.modules"))["result"] == "True"
            # An interrupt reaches it (jupyter_client signals the kernel's process group).
            msg_id = kc.execute("import time; time.sleep(60)")
            await asyncio.sleep(1.0)
            await km.interrupt_kernel()
            reply = await kc.get_shell_msg(timeout=30)
            while reply["parent_header"].get("msg_id") != msg_id:
                reply = await kc.get_shell_msg(timeout=30)
            assert reply["content"]["ename"] == "KeyboardInterrupt"
        finally:
            kc.stop_channels()
        await km.shutdown_kernel()
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        assert await km.is_alive() is False

    asyncio.run(scenario())


def test_the_zygote_holds_no_thread_and_its_kernels_end_with_it(zygote: KernelZygote) -> None:
    async def scenario() -> int:
        assert await zygote.ready()
        km = ForkingKernelManager(kernel_name="python3")
        km.zygote = zygote
        await km.start_kernel(env={**os.environ, "VOILA_PREHEAT": "True"})
        return int(km.provisioner.pid)

    pid = asyncio.run(scenario())
    zygote_process = psutil.Process(zygote._process.pid)  # type: ignore[union-attr]
    # A forked child gets only the forking thread; the zygote must not have others to lose.
    assert zygote_process.num_threads() == 1
    assert psutil.Process(pid).is_running()
    zygote.stop()  # as when the server goes: the zygote's stdin closes
    deadline = time.monotonic() + 30
    while psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "a page kernel outlived its zygote"
        time.sleep(0.2)
    assert not zygote_process.is_running()


def test_a_forked_process_handle_reports_a_dead_kernel() -> None:
    child = os.fork()
    if child == 0:
        time.sleep(30)
        os._exit(0)
    handle = ForkedProcess(child)
    assert handle.poll() is None
    handle.kill()
    os.waitpid(child, 0)  # here the test is the parent; in the server the zygote reaps
    assert handle.wait(timeout=10) == -1
    handle.send_signal(signal.SIGTERM)  # no error once gone


def test_the_zygote_is_not_used_for_a_command_it_cannot_stand_in_for(zygote: KernelZygote) -> None:
    class Provisioner:
        connection_info: dict[str, Any] = {}

    cmd = ["/usr/bin/python3-other", "-m", "octolib.server.page_kernel", "-f", "k.json"]
    assert asyncio.run(launch_forked(zygote, Provisioner(), cmd, {})) is None
    assert not zygote.running  # not even started for it


class SpawningKernelManager(AsyncKernelManager):
    """A page kernel started as its own process (the way without the zygote)."""

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        await super()._async_launch_kernel(page_kernel_command(kernel_cmd, kw.get("env")), **kw)


#: What a kernel's imports set up only when they find a kernel around them at import time.
KERNEL_LOOKS = """
import comm, ipywidgets, plotly.io
sorted(t for t in comm.get_comm_manager().targets if t.startswith("jupyter.widget")), plotly.io.renderers.default
"""


def test_a_forked_kernel_is_set_up_like_a_spawned_one_for_widgets_and_charts(zygote: KernelZygote) -> None:
    """ipywidgets registers its comm targets, and plotly picks its renderer, at import and only
    inside a kernel; the zygote imported both outside one. Without the targets the browser
    cannot fetch a page's widget state (controls blank, or late by a fallback's timeout)."""

    async def looks(km: AsyncKernelManager) -> str:
        await km.start_kernel(env={**os.environ, "VOILA_PREHEAT": "True"})
        kc = km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=60)
            return str((await run_code(kc, KERNEL_LOOKS))["result"])
        finally:
            kc.stop_channels()
            await km.shutdown_kernel(now=True)

    async def scenario() -> tuple[str, str]:
        assert await zygote.ready()
        forked = ForkingKernelManager(kernel_name="python3")
        forked.zygote = zygote
        return await looks(forked), await looks(SpawningKernelManager(kernel_name="python3"))

    forked, spawned = asyncio.run(scenario())
    assert "'jupyter.widget.control'" in spawned and "plotly_mimetype" in spawned
    assert forked == spawned
