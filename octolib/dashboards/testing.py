"""Run the dashboards server for tests and benchmarks: ``octo serve``'s Jupyter server with
the pools, the stall fix and the offline template of :mod:`octolib.server.voila`.

Why here: the browser test, the notebook test and ``benchmarks/bench_dashboards.py`` all
need a server on a free port over a synced data folder, ready when the call returns and
stopped by its own PID. It builds the server's command line with
:func:`octolib.server.launch.server_command` (the same one ``octo serve`` runs) plus
:func:`~octolib.server.voila.server_arguments`, so what is tested is what is served.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from octolib.config import Settings

__all__ = ["DashboardServer", "dashboard_server", "sync_fake_account", "add_user"]


@dataclass
class DashboardServer:
    url: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def sync_fake_account(data_dir: Path, *, size: Any = "tiny", seed: int = 7, now: Any = None) -> Settings:
    """Generate a local EmailOctopus account (``size``: a name or a ``SizeSpec``), sync it
    into ``data_dir``'s embedded store over a real socket, and return the settings that
    read it (the fake server is stopped)."""
    from octolib.api import EmailOctopusClient
    from octolib.fake import DEMO_API_KEY, FakeAccount, FakeServer
    from octolib.store import connect
    from octolib.sync import run_sync

    kwargs = {"now": now} if now is not None else {}
    account = FakeAccount.generate(seed=seed, size=size, **kwargs)
    with FakeServer(account, api_key=DEMO_API_KEY, rate_per_s=1000, burst=1000) as server:
        settings = Settings(data_dir=Path(data_dir), api_base=server.base_url, api_key=DEMO_API_KEY, demo=True,
                            rate_per_s=1000, rate_burst=1000)
        store = connect(settings)
        try:
            with EmailOctopusClient.from_settings(settings) as client:
                result = run_sync(store, client, trigger="test", progress=False)
            if not result.ok:
                raise RuntimeError(f"the sync of the fake account failed: {result.errors}")
        finally:
            store.close()
    return Settings(data_dir=Path(data_dir))


def add_user(data_dir: Path, username: str, password: str) -> None:
    """Create a login in ``data_dir``'s store (the dashboards are behind the login)."""
    from octolib.auth.users import open_user_store

    users = open_user_store(Settings(data_dir=Path(data_dir)))
    try:
        users.create(username, password, full_name=username.capitalize())
    finally:
        users.close()


@contextmanager
def dashboard_server(
    notebooks_dir: Path,
    data_dir: Path,
    *,
    pool_size: int = 1,
    pool_notebooks: tuple[str, ...] = (),
    env: Mapping[str, str] | None = None,
    extra_args: tuple[str, ...] = (),
    kernel_cull_minutes: float = 10.0,
    max_kernels: int = 8,
    start_timeout_s: float = 120.0,
    wait_for_pools: bool = True,
) -> Iterator[DashboardServer]:
    """Start the server; yield once ``/login`` answers (and, with ``wait_for_pools``, once
    every pool kernel has rendered its notebook); stop it by PID."""
    import requests

    from octolib.server.launch import ServeOptions, inherited_env, server_command, server_env
    from octolib.server.testing import free_port
    from octolib.server.voila import server_arguments, server_environment

    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    settings = Settings(data_dir=data_dir)
    options = ServeOptions(notebooks_dir=Path(notebooks_dir).resolve(), port=port,
                           kernel_cull_minutes=kernel_cull_minutes, max_kernels=max_kernels,
                           extra_args=tuple(server_arguments(pool_size, pool_notebooks)) + tuple(extra_args))
    argv = server_command(settings, options)
    child_env = server_env(settings, inherited_env(drop_octo=True))
    child_env.update({"PYTHONUNBUFFERED": "1", "JUPYTER_RUNTIME_DIR": str(data_dir / "runtime")})
    child_env.update(server_environment(child_env))
    child_env.update(env or {})
    (data_dir / "jupyter").mkdir(parents=True, exist_ok=True)
    log_path = data_dir / f"dashboards-{port}.log"
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen(argv, env=child_env, stdout=log_file, stderr=subprocess.STDOUT, cwd=str(data_dir),
                                start_new_session=True)
    server = DashboardServer(f"http://127.0.0.1:{port}/", port, proc, log_path)
    try:
        deadline = time.monotonic() + start_timeout_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the dashboards server exited with {proc.returncode}:\n{server.log_text()[-4000:]}")
            try:
                if requests.get(server.url + "login", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the dashboards server did not answer in {start_timeout_s} s:\n"
                                   f"{server.log_text()[-4000:]}")
            time.sleep(0.2)
        if wait_for_pools and pool_size > 0:
            expected = len(pool_notebooks) if pool_notebooks else len(
                [p for p in Path(notebooks_dir).glob("*.ipynb") if not p.name.startswith((".", "_"))])
            while server.log_text().count("pre-rendered ") < expected and time.monotonic() < deadline:
                if proc.poll() is not None:
                    raise RuntimeError(f"the dashboards server exited:\n{server.log_text()[-4000:]}")
                time.sleep(0.25)
        yield server
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
