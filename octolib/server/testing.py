"""Run the real ``octo serve`` in a child process, and sign in to it (tests, benchmarks).

Why in the library: the route crawler, the login tests, the browser tests and the
benchmarks all need the same thing (a server on a free port with its own data folder,
ready when the call returns, stopped by its own PID), and ``octolib.fake`` sets the
precedent of shipping the test double next to the code. It is the one helper that starts a
server: it runs the ``octo serve`` command itself, so what is tested is what is served.

Signing in is here too, in two forms: :func:`login` for a ``requests`` session, and
:func:`browser_sign_in` (:func:`browser_sign_in_async` for Playwright's async API) for a
browser page, which types into the form as a person does.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.async_api import Page as AsyncPage
    from playwright.sync_api import Page

__all__ = ["RunningServer", "free_port", "running_server", "login", "xsrf_token", "fill_login_form",
           "submit_login_form", "browser_sign_in", "browser_sign_in_async"]

#: How long a browser sign-in may take to reach the dashboards list (bounds a failure only).
SIGN_IN_TIMEOUT_MS = 30_000


def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RunningServer:
    url: str
    port: int
    process: subprocess.Popen[bytes]
    data_dir: Path
    notebooks_dir: Path
    log_path: Path
    routes_file: Path
    env: dict[str, str] = field(repr=False, default_factory=dict)

    def routes(self) -> list[dict[str, Any]]:
        """The route table the server wrote at start (pattern, handler, public, websocket)."""
        return list(json.loads(self.routes_file.read_text()))

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def cookie_secret(self) -> bytes:
        """The server's cookie-signing key (tests use it to forge expired sessions).

        jupyter_server signs with HMAC-SHA256(file contents, ServerApp.password), and the
        password is always empty here.
        """
        import hashlib
        import hmac

        key = (self.data_dir / "jupyter" / "cookie_secret").read_bytes()
        return hmac.new(key, b"", digestmod=hashlib.sha256).digest()


@contextmanager
def running_server(
    notebooks_dir: Path,
    data_dir: Path,
    *,
    env: Mapping[str, str] | None = None,
    extra_args: tuple[str, ...] = (),
    pool_size: int = 1,
    pool_notebooks: tuple[str, ...] = (),
    kernel_cull_minutes: float | None = None,
    max_kernels: int | None = None,
    wait_for_pools: bool = False,
    jupyter_args: tuple[str, ...] = (),
    start_timeout_s: float = 120.0,
) -> Iterator[RunningServer]:
    """Start ``octo serve`` on a free port; yield once ``/login`` answers; stop it by PID.

    ``env`` adds or overrides variables (e.g. ``OCTO_SESSION_IDLE_MINUTES``). ``extra_args``
    are ``octo serve`` options; ``pool_size``, ``kernel_cull_minutes`` and ``max_kernels``
    are its options of those names (None: its default), ``pool_notebooks`` limits the
    pools to those notebooks, ``jupyter_args`` go to Jupyter as they are, and ``wait_for_pools`` waits until every pool kernel has
    rendered its notebook. The server's output goes to ``data_dir/serve.log``, quoted in
    the error when it does not come up.
    """
    import requests

    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    routes_file = data_dir / "routes.json"
    log_path = data_dir / "serve.log"
    from octolib.server.launch import inherited_env

    child_env = inherited_env(drop_octo=True)
    child_env.update({"OCTO_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1",
                      # keep kernels and jupyter state of this server apart from the user's
                      "JUPYTER_RUNTIME_DIR": str(data_dir / "runtime")})
    child_env.update(env or {})
    cmd = [sys.executable, "-m", "octolib.cli", "serve", "--port", str(port),
           "--notebooks-dir", str(Path(notebooks_dir).resolve()), "--routes-file", str(routes_file),
           "--pool-size", str(pool_size), *extra_args]
    if kernel_cull_minutes is not None:
        cmd += ["--kernel-cull-minutes", str(kernel_cull_minutes)]
    if max_kernels is not None:
        cmd += ["--max-kernels", str(max_kernels)]
    # Jupyter's command line takes a list as the same option repeated.
    passed = [*(f"--PooledKernelManager.pool_notebooks={n}" for n in pool_notebooks), *jupyter_args]
    if passed:
        cmd += ["--", *passed]
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen(cmd, env=child_env, stdout=log_file, stderr=subprocess.STDOUT,
                                cwd=str(data_dir), start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    server = RunningServer(url, port, proc, data_dir, Path(notebooks_dir), log_path, routes_file, child_env)
    try:
        deadline = time.monotonic() + start_timeout_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"octo serve exited with {proc.returncode}:\n{server.log_text()[-4000:]}")
            try:
                if requests.get(url + "login", timeout=2).status_code == 200 and routes_file.exists():
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"octo serve did not answer within {start_timeout_s} s:\n{server.log_text()[-4000:]}")
            time.sleep(0.2)
        if wait_for_pools and pool_size > 0:
            expected = len(pool_notebooks) if pool_notebooks else len(
                [p for p in Path(notebooks_dir).glob("*.ipynb") if not p.name.startswith((".", "_"))])
            while server.log_text().count("pre-rendered ") < expected:
                if proc.poll() is not None:
                    raise RuntimeError(f"octo serve exited with {proc.returncode}:\n{server.log_text()[-4000:]}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the kernel pools were not ready within {start_timeout_s} s:\n"
                                       f"{server.log_text()[-4000:]}")
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


_XSRF_RE = re.compile(r'name="_xsrf" value="([^"]+)"')


def xsrf_token(session: Any, base_url: str) -> str:
    """Load the login page (which sets the ``_xsrf`` cookie) and return the form's token."""
    page = session.get(base_url + "login", timeout=10)
    match = _XSRF_RE.search(page.text)
    if not match:
        raise AssertionError(f"no _xsrf field on the login page (HTTP {page.status_code})")
    return match.group(1)


def login(session: Any, base_url: str, username: str, password: str, *, remember: bool = False,
          next_url: str = "/dashboards") -> Any:
    """Sign in through the form like a browser; returns the POST's response (not followed)."""
    token = xsrf_token(session, base_url)
    data = {"_xsrf": token, "username": username, "password": password}
    if remember:
        data["remember"] = "1"
    return session.post(base_url + "login", params={"next": next_url}, data=data,
                        allow_redirects=False, timeout=30)


def fill_login_form(page: Page, base_url: str, username: str, password: str) -> None:
    """Open the login form in a Playwright page and type the credentials (not sent yet)."""
    page.goto(base_url + "login")
    page.fill("#username", username)
    page.fill("#password", password)


def submit_login_form(page: Page, timeout_ms: float = SIGN_IN_TIMEOUT_MS) -> None:
    """Press "Sign in" and wait for the dashboards list (a refused sign-in times out here)."""
    page.click("#login_submit")
    page.wait_for_url("**/dashboards*", timeout=timeout_ms)


def browser_sign_in(page: Page, base_url: str, username: str, password: str, *,
                    timeout_ms: float = SIGN_IN_TIMEOUT_MS) -> None:
    """Sign in through the login form, as a person does; returns on the dashboards list."""
    fill_login_form(page, base_url, username, password)
    submit_login_form(page, timeout_ms)


async def browser_sign_in_async(page: AsyncPage, base_url: str, username: str, password: str, *,
                                timeout_ms: float = SIGN_IN_TIMEOUT_MS) -> None:
    """:func:`browser_sign_in` for Playwright's async API (the concurrent-analysts benchmark)."""
    await page.goto(base_url + "login")
    await page.fill("#username", username)
    await page.fill("#password", password)
    await page.click("#login_submit")
    await page.wait_for_url("**/dashboards*", timeout=timeout_ms)
