"""Build the command line and environment of the Jupyter server, and start it (``octo serve``).

Why a child process: the server (``python -m octolib.server.app``) must read the same
settings as the ``octo`` command, including ones that came from a ``.env`` file, without
secrets on its command line (``ps`` shows it). So the settings travel as ``OCTO_*``
environment variables, and only non-secret options as arguments. On POSIX the ``octo``
process *becomes* the server (``exec``), so systemd's stop signal reaches Jupyter directly.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from octolib.config import SETTINGS, Settings

__all__ = ["ServeOptions", "resolve_notebooks_dir", "server_command", "server_env", "server_url", "serve",
           "inherited_env", "kernel_transport_arguments"]

# Variables that would give stock Jupyter a token; ours ignores tokens, but a stray one in
# the environment should not even be printed in a URL.
_DROPPED_ENV = ("JUPYTER_TOKEN", "JUPYTER_TOKEN_FILE")


@dataclass(frozen=True)
class ServeOptions:
    """What ``octo serve`` was asked for. Defaults are the safe local ones."""

    notebooks_dir: Path
    host: str = "127.0.0.1"
    port: int = 8866
    secure: bool = False
    kernel_cull_minutes: float = 10.0
    max_kernels: int = 8
    routes_file: Path | None = None
    allow_root: bool | None = None  # None: only when running as root
    pool_size: int = 1  # pre-started dashboard kernels per notebook (octolib.server.voila); 0 = off
    extra_args: tuple[str, ...] = ()


def resolve_notebooks_dir(arg: str | None, cwd: Path) -> Path:
    """``--notebooks-dir``, else ``./notebooks``, else the ``notebooks/`` next to the package."""
    if arg:
        return Path(arg).expanduser().resolve()
    here = cwd / "notebooks"
    if here.is_dir():
        return here.resolve()
    return (Path(__file__).resolve().parents[2] / "notebooks").resolve()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def server_command(settings: Settings, options: ServeOptions, python: str = sys.executable) -> list[str]:
    """The argv of the Jupyter server process (no secrets in it)."""
    secret_dir = Path(settings.data_dir).expanduser() / "jupyter"
    cull_s = int(round(options.kernel_cull_minutes * 60))
    argv = [
        python, "-m", "octolib.server.app",
        f"--ServerApp.ip={options.host}",
        f"--ServerApp.port={options.port}",
        "--ServerApp.port_retries=0",
        "--ServerApp.open_browser=False",
        f"--ServerApp.root_dir={options.notebooks_dir}",
        f"--ServerApp.cookie_secret_file={secret_dir / 'cookie_secret'}",
        # Kernels: cull idle ones even with a tab open (a Voilà page starts one per view).
        f"--MappingKernelManager.cull_idle_timeout={cull_s}",
        f"--MappingKernelManager.cull_interval={max(10, min(60, cull_s // 4 or 10))}",
        "--MappingKernelManager.cull_connected=True",
        f"--CappedKernelManager.max_kernels={options.max_kernels}",
    ]
    if options.secure:
        # Behind a TLS-terminating proxy (nginx): Secure cookies, the real client address
        # from X-Forwarded-For (the lockout counts per address), and the public Host name.
        argv += ["--OctoIdentityProvider.secure_cookie=True", "--ServerApp.trust_xheaders=True",
                 "--ServerApp.allow_remote_access=True"]
    elif not _is_loopback(options.host):
        argv += ["--ServerApp.allow_remote_access=True"]
    allow_root = options.allow_root
    if allow_root is None:
        allow_root = hasattr(os, "geteuid") and os.geteuid() == 0
    if allow_root:
        argv.append("--ServerApp.allow_root=True")
    if options.routes_file:
        argv.append(f"--OctoServerApp.route_table_file={options.routes_file}")
    argv += list(options.extra_args)
    return argv


def _env_value(value: Any) -> str:
    if value is None:  # an optional setting left unset: empty means "the default" to from_env
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def inherited_env(*, drop_octo: bool = False) -> dict[str, str]:
    """This process's environment for a child server (PATH, HOME, ...), optionally without OCTO_*.

    The one place besides ``config.py`` that reads the environment: a child process
    needs PATH and friends, and tests start servers whose settings must not leak in from
    the developer's shell.
    """
    return {k: v for k, v in os.environ.items() if not (drop_octo and k.startswith("OCTO_"))}


def server_env(settings: Settings, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The server's environment: ``base`` (default: ours) with every OCTO_* from ``settings``."""
    env = dict(os.environ if base is None else base)
    for name in _DROPPED_ENV:
        env.pop(name, None)
    values = dataclasses.asdict(settings)
    for setting in SETTINGS:
        field = setting.env.removeprefix("OCTO_").lower()
        if field in values:
            env[setting.env] = _env_value(values[field])
    return env


#: Longest runtime folder for IPC kernels: a socket path is that folder plus
#: ``/kernel-<36-char id>-ipc-<n>`` (51 characters), and Linux allows 107.
_IPC_RUNTIME_MAX = 107 - 51


def kernel_transport_arguments(env: Mapping[str, str]) -> list[str]:
    """Kernels talk to the server over Unix sockets in the 0700 runtime folder, not TCP.

    Why: over TCP on 127.0.0.1 any local user can subscribe to a kernel's output stream
    (messages are signed, not encrypted), and every kernel said so at start ("Kernel is
    running over TCP without encryption", 41 lines in one demo). Unix sockets in the
    runtime folder are reachable only by this account. A folder whose path is too long for
    a socket name keeps TCP.
    """
    runtime = env.get("JUPYTER_RUNTIME_DIR")
    if not runtime:
        from jupyter_core.paths import jupyter_runtime_dir

        runtime = jupyter_runtime_dir()
    if os.name != "posix" or len(str(Path(runtime).expanduser().resolve())) > _IPC_RUNTIME_MAX:
        return []
    return ["--KernelManager.transport=ipc"]


def server_url(options: ServeOptions) -> str:
    """Where to point a browser (the login page redirects to the dashboards)."""
    host = options.host
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{options.port}/"


def serve(settings: Settings, options: ServeOptions, *, out: TextIO = sys.stdout, exec_: bool = True,
          sign_in: str = "sign in with an account made by `octo user create NAME`") -> int:
    """Start the server; with ``exec_`` (POSIX) this process becomes the server and never returns.

    ``sign_in`` is how to sign in (the demo passes its own account instead)."""
    secret_dir = Path(settings.data_dir).expanduser() / "jupyter"
    secret_dir.mkdir(parents=True, exist_ok=True)
    try:
        secret_dir.chmod(0o700)
    except OSError:
        pass
    if not options.notebooks_dir.is_dir():
        from octolib.errors import ConfigError

        raise ConfigError(f"notebooks folder {options.notebooks_dir} does not exist; pass --notebooks-dir")
    from octolib.server.voila import server_arguments, server_environment

    # The dashboards' serving pieces: pre-started kernels, the render-stall fix, the
    # CDN-free template and plotly.js served once (see octolib.server.voila).
    argv = server_command(settings, options) + server_arguments(pool_size=max(0, options.pool_size))
    env = server_env(settings)
    env.update(server_environment(env))
    argv += kernel_transport_arguments(env)
    print(f"octopus: serving {options.notebooks_dir} at {server_url(options)}"
          f"{' (behind TLS: Secure cookies)' if options.secure else ''}", file=out)
    print(f"octopus: {sign_in}; Ctrl-C stops the server", file=out)
    out.flush()
    if exec_ and os.name == "posix":
        sys.stderr.flush()
        os.execve(argv[0], argv, env)
    import signal
    import subprocess
    import threading

    def _stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        # SIGTERM (systemd, kill) must stop the server too, not leave it orphaned.
        signal.signal(signal.SIGTERM, _stop)
        # and SIGINT even when inherited as ignored (a background job of a shell script)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    proc = subprocess.Popen(argv, env=env)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        try:
            return proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()
