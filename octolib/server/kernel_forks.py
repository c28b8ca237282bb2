"""Dashboard page kernels forked from one process that has already imported everything.

Why: every page view takes a pre-rendered kernel from its page's pool, and the pool refills
by starting a new kernel that runs the page's notebook. Measured on this 2-core machine, a
refill was a new Python process importing ipykernel, numpy, plotly, ipywidgets and octolib
(about 2 s of CPU after :mod:`octolib.server.page_kernel` cut 3.5 s) before the page's own
cells ran; with two analysts clicking and a sync running, refills queued behind each other
and the second analyst on a page waited for one (p90 8-9 s). Eleven such kernels also each
held their own copy of the same modules (~100 MB each).

So the server starts one *kernel zygote* (this module run as ``python -m``): it imports
what a page kernel imports, freezes the garbage collector's view of those objects
(:func:`gc.freeze`, so the children's collections do not write to the shared pages), and
waits on a Unix socket. A page kernel is then a ``fork()`` of it (milliseconds) that sets the
kernel's environment and working directory and runs ipykernel on the connection file
jupyter_client wrote, exactly as ``python -m octolib.server.page_kernel -f FILE`` would. The
imported modules stay shared copy-on-write between all page kernels.

What a forked kernel shares with its zygote, and why that is safe: only imported modules.
The zygote opens no store, starts no thread (OpenBLAS is limited to one thread before numpy
loads: a forked child would otherwise inherit a thread pool it cannot use), creates no
event loop and no ZMQ context; each child makes its own. Python's ``random`` reseeds itself
in a forked child. The child puts back the default signal handlers and starts a new session
(its own process group, as jupyter_client's launcher does), and is told its parent is the
zygote, so it exits when the zygote does; the zygote exits when the server does (its stdin,
a pipe from the server, closes).

jupyter_client sees an ordinary kernel: :func:`launch_forked` fills the
``LocalProvisioner``'s ``process`` with a :class:`ForkedProcess`, which polls, signals and
waits by PID (the zygote reaps its children). When the zygote is not available (it failed to
start, or died), page kernels start as separate processes as before and the log says so.
JupyterLab's kernels never come from here.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "ForkedProcess",
    "KernelZygote",
    "WARM_MODULES",
    "launch_forked",
    "forkable_command",
    "load_ipython_extension",
    "main",
]

#: Modules the zygote imports before it forks: what a page kernel imports to run its page
#: (the page modules themselves come from the page registry, see :func:`warm_up`).
WARM_MODULES = (
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "ipykernel.comm",
    "ipykernel.debugger",
    "IPython.core.history",
    "psutil",
    "IPython.core.interactiveshell",
    "numpy",
    "ipywidgets",
    "anywidget",
    "plotly.graph_objects",
    "octolib.config",
    "octolib.dashboards",
    "octolib.dashboards.report_builder",
)

#: This module's name (it runs as ``__main__`` in the zygote).
THIS_MODULE = "octolib.server.kernel_forks"

#: How long the server waits for a new zygote to have imported everything (seconds).
READY_TIMEOUT_S = 120.0

#: The module a kernel command runs that the zygote can stand in for.
KERNEL_MODULES = ("octolib.server.page_kernel", "ipykernel_launcher")


def forkable_command(cmd: Sequence[str]) -> list[str] | None:
    """The kernel's own arguments (``-f FILE ...``) when ``cmd`` is this Python running a page
    kernel module; ``None`` when the zygote cannot stand in for it.

    >>> import sys
    >>> forkable_command([sys.executable, "-m", "octolib.server.page_kernel", "-f", "k.json"])
    ['-f', 'k.json']
    >>> forkable_command(["/other/python", "-m", "octolib.server.page_kernel", "-f", "k.json"]) is None
    True
    """
    if len(cmd) < 3 or cmd[1] != "-m" or cmd[2] not in KERNEL_MODULES:
        return None
    if os.path.realpath(cmd[0]) != os.path.realpath(sys.executable):
        return None
    return list(cmd[3:])


# -- the zygote process -----------------------------------------------------------------------

def warm_up() -> int:
    """Import what page kernels import; returns how many modules are loaded."""
    from octolib.server.page_kernel import skip_unused_imports

    skip_unused_imports()
    for name in WARM_MODULES:
        importlib.import_module(name)
    from octolib.dashboards.registry import PAGES

    for spec in PAGES:
        importlib.import_module(f"octolib.dashboards.{spec.name}")
    return len(sys.modules)


def _child(argv: list[str], env: Mapping[str, str], cwd: str | None) -> None:
    """In the forked child: become the kernel, then exit (never returns)."""
    code = 0
    try:
        os.setsid()
        for sig in (signal.SIGCHLD, signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_DFL)
        gc.unfreeze()
        os.environ.clear()
        os.environ.update(env)
        # Exit when the zygote goes: ipykernel's parent poller watches this PID. (Its
        # default was read from the environment when the zygote imported ipykernel, hence
        # the option below as well.)
        os.environ["JPY_PARENT_PID"] = str(os.getppid())
        if cwd:
            os.chdir(cwd)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        sys.argv = ["octolib.server.page_kernel", *argv, f"--IPKernelApp.parent_handle={os.getppid()}",
                    f"--IPKernelApp.extensions={THIS_MODULE}"]
        from ipykernel import kernelapp

        kernelapp.launch_new_instance()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - the child must never return into the zygote's loop
        traceback.print_exc()
        code = 1
    finally:
        try:
            import atexit

            atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def load_ipython_extension(ip: Any) -> None:
    """In a forked kernel, once its shell exists: what the modules the zygote imported would
    have done at import time had they been imported inside a kernel (they look for one).

    - ipywidgets registers its comm targets (``jupyter.widget``, ``jupyter.widget.control``)
      at import only when IPython is running; without them the browser cannot fetch the
      widgets' state and a page's controls stay blank or come late.
    - plotly picks its default renderer at import: a browser window outside IPython,
      ``plotly_mimetype`` in an ipykernel shell (or ``PLOTLY_RENDERER``).

    A test compares a forked kernel with a spawned one on exactly these.
    """
    import ipywidgets
    import plotly.io

    ipywidgets.register_comm_target()
    plotly.io.renderers.default = os.environ.get("PLOTLY_RENDERER") or "plotly_mimetype"


def serve(socket_path: str) -> None:
    """The zygote's loop: warm up, then fork a kernel per request until stdin closes."""
    # Never take the server's Ctrl-C: the server shuts its kernels down, then stops us.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Children are reaped by the kernel (no zombies); ForkedProcess polls them by PID.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    started = time.monotonic()
    loaded = warm_up()
    gc.collect()
    gc.freeze()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    tmp = socket_path + ".tmp"
    if os.path.exists(tmp):
        os.unlink(tmp)
    listener.bind(tmp)
    os.chmod(tmp, 0o600)
    listener.listen(16)
    os.replace(tmp, socket_path)  # ready: the server waits for this name
    print(f"octopus kernel zygote {os.getpid()}: {loaded} modules imported in "
          f"{time.monotonic() - started:.1f} s; forking page kernels", file=sys.stderr, flush=True)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "accept")
    selector.register(sys.stdin.fileno(), selectors.EVENT_READ, "stdin")
    try:
        while True:
            for key, _ in selector.select():
                if key.data == "stdin":
                    if not os.read(sys.stdin.fileno(), 4096):
                        return  # the server is gone
                    continue
                conn, _ = listener.accept()
                with conn:
                    conn.settimeout(10)
                    try:
                        request = json.loads(_read_line(conn))
                        argv = [str(a) for a in request["argv"]]
                        env = {str(k): str(v) for k, v in request["env"].items()}
                        cwd = request.get("cwd")
                    except (OSError, ValueError, KeyError, AttributeError) as exc:
                        conn.sendall(json.dumps({"error": f"bad request: {exc}"}).encode() + b"\n")
                        continue
                    pid = os.fork()
                    if pid == 0:
                        selector.close()
                        listener.close()
                        conn.close()
                        _child(argv, env, cwd)
                    conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")
    finally:
        listener.close()
        try:
            os.unlink(socket_path)
        except OSError:
            pass


def _read_line(conn: socket.socket, limit: int = 4 << 20) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
        if len(data) > limit:
            raise ValueError("request too long")
    return data


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m octolib.server.kernel_forks SOCKET``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        raise SystemExit("usage: python -m octolib.server.kernel_forks SOCKET_PATH")
    # Like ipykernel_launcher: the launch folder is not an import path of the kernels.
    if sys.path and (sys.path[0] == "" or Path(sys.path[0]) == Path.cwd()):
        del sys.path[0]
    serve(args[0])


# -- the server's side ------------------------------------------------------------------------

class ForkedProcess:
    """What jupyter_client's ``LocalProvisioner`` needs of a ``Popen``, for a kernel that is
    the zygote's child rather than the server's (so it is polled and signalled by PID)."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                self.returncode = -1  # gone; its status went to the zygote
            except PermissionError:
                pass
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"kernel {self.pid}", timeout or 0.0)
            time.sleep(0.05)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            try:
                os.kill(self.pid, signum)
            except ProcessLookupError:
                pass

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class KernelZygote:
    """The server's handle on its zygote: started on first use, asked to fork kernels."""

    def __init__(self, log: Any) -> None:
        self.log = log
        self._process: subprocess.Popen[bytes] | None = None
        self._dir: str | None = None
        self._socket = ""
        self._starting: asyncio.Future[bool] | None = None
        self._failed = False

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    async def ready(self) -> bool:
        """Start the zygote if needed and wait until it listens; False if it cannot."""
        if self.running and os.path.exists(self._socket):
            return True
        if self._failed:
            return False
        if self._starting is None or self._starting.done():
            self._starting = asyncio.ensure_future(self._start())
        return await asyncio.shield(self._starting)

    async def _start(self) -> bool:
        self.stop()
        self._dir = tempfile.mkdtemp(prefix="octo-zygote-")
        os.chmod(self._dir, 0o700)
        self._socket = os.path.join(self._dir, "fork.sock")
        env = dict(os.environ)
        # One BLAS thread: a forked child cannot use a thread pool its parent started.
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[name] = "1"
        env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
        self._process = subprocess.Popen(
            [sys.executable, "-m", THIS_MODULE, self._socket], stdin=subprocess.PIPE, env=env,
            start_new_session=True)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not os.path.exists(self._socket):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.log.warning("the page kernel zygote did not start (exit %s): page kernels start as "
                                 "separate processes", self._process.poll())
                self._failed = True
                self.stop()
                return False
            await asyncio.sleep(0.05)
        return True

    async def fork(self, argv: Sequence[str], env: Mapping[str, str], cwd: str | None) -> int:
        reader, writer = await asyncio.open_unix_connection(self._socket)
        try:
            writer.write(json.dumps({"argv": list(argv), "env": dict(env), "cwd": cwd}).encode() + b"\n")
            await writer.drain()
            answer = json.loads(await asyncio.wait_for(reader.readline(), 30))
        finally:
            writer.close()
        if "pid" not in answer:
            raise RuntimeError(f"the kernel zygote refused: {answer.get('error')}")
        return int(answer["pid"])

    def stop(self) -> None:
        """End the zygote (its kernels see it go and exit too, if any are left)."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            try:
                if process.stdin is not None:
                    process.stdin.close()
                process.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                process.kill()
        if self._dir:
            for name in (self._socket, self._socket + ".tmp"):
                try:
                    os.unlink(name)
                except OSError:
                    pass
            try:
                os.rmdir(self._dir)
            except OSError:
                pass
            self._dir = None


async def launch_forked(zygote: KernelZygote, provisioner: Any, cmd: Sequence[str],
                        kw: Mapping[str, Any]) -> Any | None:
    """Start the kernel ``cmd`` as a fork of ``zygote`` for ``provisioner`` (a
    ``LocalProvisioner`` after ``pre_launch``); its connection info, or ``None`` when the
    zygote cannot do it (the caller then launches as usual)."""
    argv = forkable_command(cmd)
    if argv is None or not await zygote.ready():
        return None
    env = dict(kw.get("env") or os.environ)
    cwd = kw.get("cwd")
    try:
        pid = await zygote.fork(argv, env, str(cwd) if cwd else None)
    except (OSError, ValueError, RuntimeError, asyncio.TimeoutError) as exc:
        zygote.log.warning("could not fork a page kernel (%s): starting it as a separate process", exc)
        return None
    provisioner.process = ForkedProcess(pid)
    provisioner.pid = pid
    provisioner.pgid = pid  # the child starts its own session
    provisioner.cwd = cwd or os.getcwd()
    return provisioner.connection_info


if __name__ == "__main__":
    main()
