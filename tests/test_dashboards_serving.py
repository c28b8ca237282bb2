"""Serving pieces that need no browser: the server options, the CDN-free template, the
render-stall fix (reply polls in slices) and the pool-aware kernel ceiling.
"""

from __future__ import annotations

import asyncio
import re
from queue import Empty

import nbformat
import pytest

from octolib.server import voila as serving


def test_server_arguments_turn_on_pools_template_and_offline_mathjax():
    args = serving.server_arguments(pool_size=2, pool_notebooks=("overview.ipynb", "campaign.ipynb"))
    assert "--ServerApp.kernel_manager_class=octolib.server.voila.PooledKernelManager" in args
    assert "--PooledKernelManager.pool_size=2" in args
    assert f"--VoilaConfiguration.template={serving.TEMPLATE}" in args
    # Jupyter's command line takes a list as the option repeated
    assert [a for a in args if a.startswith("--PooledKernelManager.pool_notebooks=")] == [
        "--PooledKernelManager.pool_notebooks=overview.ipynb", "--PooledKernelManager.pool_notebooks=campaign.ipynb"]
    mathjax = next(a for a in args if "mathjax_url=" in a)
    assert mathjax.endswith(serving.MATHJAX_STUB) and "//" not in mathjax.split("=", 2)[-1]
    assert "--PooledKernelManager.pool_size=0" in serving.server_arguments(pool_size=0)
    assert f"--PooledKernelManager.fill_delay={serving.FILL_DELAY_S}" in args  # refills after the page has loaded


def test_template_is_on_jupyter_path_and_links_nothing_outside(monkeypatch):
    env = serving.server_environment({"JUPYTER_PATH": "/somewhere/else"})
    parts = env["JUPYTER_PATH"].split(":")
    assert parts[0] == str(serving.assets_dir()) and parts[1] == "/somewhere/else"
    assert serving.server_environment(env)["JUPYTER_PATH"] == env["JUPYTER_PATH"]  # idempotent

    folder = serving.assets_dir() / "voila" / "templates" / serving.TEMPLATE
    for path in folder.rglob("*"):
        if path.is_file():
            urls = re.findall(r"https?://[^\s\"')]+", path.read_text())
            assert urls == [], (path, urls)

    from voila.paths import collect_template_paths

    monkeypatch.setenv("JUPYTER_PATH", env["JUPYTER_PATH"])
    paths = collect_template_paths(["voila", "nbconvert"], serving.TEMPLATE)
    assert str(folder) == paths[0]
    assert any(p.endswith("voila/templates/lab") for p in paths)  # it extends Voilà's lab template


class _Shell:
    """A shell channel whose replies arrive late, or only when a poll times out (the
    missed-wake-up case): what nbclient would wait on for ever with ``timeout=None``."""

    def __init__(self, reply: dict, empties: int, late_by_slice: bool = False) -> None:
        self.reply = reply
        self.empties = empties
        self.late_by_slice = late_by_slice
        self.timeouts: list[float | None] = []

    async def get_msg(self, timeout: float | None = None) -> dict:
        self.timeouts.append(timeout)
        if self.empties:
            self.empties -= 1
            await asyncio.sleep(0)
            raise Empty
        if self.late_by_slice:
            await asyncio.sleep(timeout or 0)  # the socket never woke us; the slice timer did
        return self.reply


class _KC:
    def __init__(self, shell: _Shell) -> None:
        self.shell_channel = shell


def _executor(shell: _Shell):
    cls = serving.SlicedVoilaExecutor
    ex = cls(nbformat.v4.new_notebook())
    ex.kc = _KC(shell)
    ex.reply_poll_s = 0.01
    return ex


def _run(ex, msg_id: str = "m1"):
    async def go():
        output_done = asyncio.get_running_loop().create_future()
        output_done.set_result(None)
        alive = asyncio.ensure_future(asyncio.sleep(3600))
        cell = nbformat.v4.new_code_cell("1")
        cell["metadata"]["execution"] = {}
        try:
            return await ex._async_poll_for_reply(msg_id, cell, None, output_done, alive)
        finally:
            alive.cancel()

    return asyncio.run(go())


def test_replies_are_awaited_in_slices_never_for_ever():
    reply = {"parent_header": {"msg_id": "m1"}, "msg_type": "execute_reply", "content": {"status": "ok"}}
    shell = _Shell(reply, empties=5)
    assert _run(_executor(shell)) is reply
    # every wait on the socket was bounded: a missed wake-up costs one slice, not the page
    assert shell.timeouts and None not in shell.timeouts and max(shell.timeouts) <= 0.01


def test_a_reply_found_only_by_the_slice_timer_is_counted():
    reply = {"parent_header": {"msg_id": "m1"}, "msg_type": "execute_reply", "content": {"status": "ok"}}
    before = serving.SlicedVoilaExecutor.missed_wakeups
    assert _run(_executor(_Shell(reply, empties=0, late_by_slice=True))) is reply
    assert serving.SlicedVoilaExecutor.missed_wakeups == before + 1


def test_replies_to_other_requests_are_skipped():
    other = {"parent_header": {"msg_id": "env-setup"}, "msg_type": "execute_reply", "content": {}}
    mine = {"parent_header": {"msg_id": "m1"}, "msg_type": "execute_reply", "content": {}}

    class Two(_Shell):
        async def get_msg(self, timeout=None):
            self.timeouts.append(timeout)
            return other if len(self.timeouts) == 1 else mine

    assert _run(_executor(Two(mine, 0))) is mine


def test_install_render_fix_rebinds_voilas_executor_once():
    import voila.notebook_renderer as renderer

    cls = serving.install_render_fix()
    assert renderer.VoilaExecutor is cls and serving.install_render_fix() is cls
    from voila.execute import VoilaExecutor

    assert issubclass(cls, VoilaExecutor)


def test_pool_kernels_do_not_count_against_the_ceiling():
    from tornado import web

    km = serving.PooledKernelManager(max_kernels=1)
    km._start_pools()  # no server around: logs and starts nothing
    loop = asyncio.new_event_loop()
    try:
        ready = loop.create_future()
        ready.set_result({"kernel_id": "pooled"})
        failed = loop.create_future()
        failed.set_exception(RuntimeError("kernel died"))
        km._pools = {"overview.ipynb": [ready, failed]}
        refills = []
        km.fill_if_needed = lambda **kw: refills.append(kw)  # no kernels started in a unit test
        # the failed pool kernel is dropped (and a refill asked for) before it is counted
        assert km.get_pool_size("overview.ipynb") == 1 and refills == [{"notebook_name": "overview.ipynb"}]
        km._kernels = {"pooled": object(), "in-use": object()}
        assert km.pooled_kernel_ids() == {"pooled"} and km.kernels_in_use() == 1
        with pytest.raises(web.HTTPError) as err:
            loop.run_until_complete(km.start_kernel(kernel_name="python3", env={"VOILA_PREHEAT": "False"}))
        assert err.value.status_code == 503
        # a claimed pool kernel counts as in use: at the ceiling the pools stop refilling
        type(km).fill_if_needed(km, notebook_name="campaigns.ipynb")
        assert "campaigns.ipynb" not in km._pools
    finally:
        km._kernels = {}
        loop.close()


def test_a_page_opened_twice_within_the_window_keeps_two_kernels_ready_until_it_goes_quiet():
    km = serving.PooledKernelManager(pool_size=1, busy_pool_size=2, busy_window_s=300)
    km._start_pools()  # no server around: logs and starts nothing
    km.kernel_pools_config = km._pool_config
    loop = asyncio.new_event_loop()
    try:
        assert km.target_pool_size("overview.ipynb") == 1
        assert km.note_taken("overview.ipynb", now=1000.0) is False  # one view: no demand yet
        assert km.note_taken("lists.ipynb", now=1001.0) is False
        assert km.note_taken("overview.ipynb", now=1100.0) is True  # again within 300 s
        assert km.target_pool_size("overview.ipynb") == 2 and km.target_pool_size("lists.ipynb") == 1
        assert km.note_taken("overview.ipynb", now=1150.0) is False  # already in demand
        assert km.note_taken("lists.ipynb", now=1400.0) is False  # 399 s later: not demand
        # Quiet for longer than the window: back to one ready kernel, the extra one shut down.
        ready = [loop.create_future() for _ in range(2)]
        for i, future in enumerate(ready):
            future.set_result({"kernel_id": f"k{i}"})
        km._pools = {"overview.ipynb": list(ready)}
        shut: list[str] = []

        async def shutdown_kernel(kernel_id: str, *args: object, **kwargs: object) -> None:
            shut.append(kernel_id)

        km.shutdown_kernel = shutdown_kernel  # type: ignore[method-assign]
        assert loop.run_until_complete(km.shrink_idle_pools(now=1300.0)) == []  # 150 s: still busy
        assert loop.run_until_complete(km.shrink_idle_pools(now=1451.0)) == ["overview.ipynb"]
        assert km.target_pool_size("overview.ipynb") == 1 and shut == ["k1"] and len(km._pools["overview.ipynb"]) == 1
    finally:
        loop.close()


def test_kernels_use_unix_sockets_unless_the_runtime_path_is_too_long():
    from octolib.server.launch import kernel_transport_arguments

    short = "/tmp/octo-rt/runtime"
    assert kernel_transport_arguments({"JUPYTER_RUNTIME_DIR": short}) == ["--KernelManager.transport=ipc"]
    deep = "/tmp/" + "x" * 60 + "/runtime"
    assert kernel_transport_arguments({"JUPYTER_RUNTIME_DIR": deep}) == []


def test_page_kernels_start_through_the_page_kernel_module_and_lab_kernels_do_not():
    from octolib.server.kernels import CappedKernelManager, PageKernelLauncher, page_kernel_command

    cmd = ["/venv/bin/python", "-m", "ipykernel_launcher", "-f", "/run/kernel-1.json"]
    for preheat in ("True", "False"):  # a pool kernel, and a page kernel Voilà starts on demand
        assert page_kernel_command(cmd, {"VOILA_PREHEAT": preheat, "PATH": "/bin"}) == [
            "/venv/bin/python", "-m", "octolib.server.page_kernel", "-f", "/run/kernel-1.json"]
    assert page_kernel_command(cmd, {"PATH": "/bin"}) == cmd  # JupyterLab's kernels: as their spec says
    assert page_kernel_command(cmd, None) == cmd
    other = ["/opt/R/bin/R", "--slave", "-f", "/run/kernel-2.json"]
    assert page_kernel_command(other, {"VOILA_PREHEAT": "True"}) == other  # not ipykernel: untouched
    km = CappedKernelManager()
    assert km.kernel_manager_class == "octolib.server.kernels.PageKernelLauncher"
    from jupyter_server.services.kernels.kernelmanager import ServerKernelManager

    assert issubclass(PageKernelLauncher, ServerKernelManager)


def test_a_page_kernel_imports_a_page_without_the_iri_grammar_and_jsonschema_still_validates():
    """What the page kernel skips is skipped, and what imports it still works without it."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from octolib.server.page_kernel import skip_unused_imports\n"
        "skip_unused_imports()\n"
        "import octolib.dashboards.widgets, plotly.io, nbformat, jsonschema\n"
        "assert sys.modules.get('rfc3987_syntax') is None, 'the IRI grammar was imported'\n"
        "assert 'lark' not in sys.modules\n"
        "nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('1')])\n"
        "nbformat.validate(nb)\n"
        "v = jsonschema.Draft202012Validator({'type': 'object', 'required': ['a']},\n"
        "                                    format_checker=jsonschema.FormatChecker())\n"
        "assert not v.is_valid({}) and v.is_valid({'a': 1})\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]



def test_a_cells_output_that_trails_its_reply_is_awaited_not_dropped():
    """A real kernel whose output this side reads late (as a server busy pre-rendering ten
    pages does): nbclient's iopub_timeout passing must not render the cell without it."""

    class SlowReader(serving.SlicedVoilaExecutor):
        async def async_start_new_kernel_client(self):
            kc = await super().async_start_new_kernel_client()
            read = kc.iopub_channel.get_msg

            async def late(*args, **kwargs):
                msg = await read(*args, **kwargs)
                if msg["msg_type"] in ("stream", "display_data"):
                    await asyncio.sleep(1.5)
                return msg

            kc.iopub_channel.get_msg = late
            return kc

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('first')"),
                                         nbformat.v4.new_code_cell("from IPython.display import HTML\n"
                                                                   "display(HTML('<b>the page</b>'))")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    before = serving.SlicedVoilaExecutor.late_outputs
    executor = SlowReader(nb, iopub_timeout=1, kernel_name="python3")
    asyncio.run(executor.async_execute())
    assert [o.get("text") for o in nb.cells[0].outputs] == ["first\n"]
    assert [o["data"].get("text/html") for o in nb.cells[1].outputs] == ["<b>the page</b>"]
    assert SlowReader.late_outputs == before + 2  # counted, and logged
