"""Which analyst is using this page: the signed-in user, bound to the page's kernel.

Why not the operating-system user: every kernel runs as the server's account, whoever
signed in. Why not at render time: pages run in pre-rendered pooled kernels started before
anyone arrives (:mod:`octolib.server.voila`), so the user is known only when a browser
connects. The server binds it then: on every authenticated websocket to
``/api/kernels/<id>/channels`` (the login gate hands the socket to
:meth:`octolib.auth.jupyter.OctoIdentityProvider.track_socket`), it writes the username
next to that kernel's connection file (:func:`bind_kernel`). The kernel finds its own
connection file (``ipykernel.get_connection_file()``) and reads the name beside it
(:func:`current_analyst`), at the moment of each action, so the analyst who clicked is the
one recorded, even when the page was rendered for nobody.

The file (``kernel-<id>.analyst``, mode 0600, in the kernel runtime folder) holds only the
username. It is removed with the kernel (:func:`unbind_kernel`, called by
:class:`octolib.server.kernels.CappedKernelManager`). This module imports nothing heavy:
the server process loads it.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

__all__ = ["UNKNOWN_ANALYST", "analyst_file", "bind_kernel", "unbind_kernel", "current_analyst",
           "analyst_for_connection_file"]

log = logging.getLogger(__name__)

#: What :func:`current_analyst` answers outside a served page (a test, papermill, a script).
UNKNOWN_ANALYST = "unknown"

_SUFFIX = ".analyst"


def analyst_file(connection_file: str | os.PathLike[str]) -> Path:
    """Where the analyst of the kernel with this connection file is written."""
    path = Path(connection_file)
    return path.with_name(path.stem + _SUFFIX)


def bind_kernel(connection_file: str | os.PathLike[str], username: str) -> None:
    """Record that ``username`` is connected to the kernel of ``connection_file`` (server side).

    Written atomically (temporary file, then rename) and readable by the server's account
    only. The latest connection wins: a page reconnecting after a network drop rebinds.
    """
    target = analyst_file(connection_file)
    tmp = target.with_name(target.name + f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"username": username}, fh)
    os.replace(tmp, target)


def unbind_kernel(connection_file: str | os.PathLike[str]) -> None:
    """Forget the analyst of a kernel that is shutting down (no error if none was bound)."""
    try:
        analyst_file(connection_file).unlink()
    except FileNotFoundError:
        pass


def analyst_for_connection_file(connection_file: str | os.PathLike[str]) -> str | None:
    """The username bound to that kernel, or None when no browser has connected yet."""
    try:
        data = json.loads(analyst_file(connection_file).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    name = data.get("username") if isinstance(data, dict) else None
    return str(name) if name else None


def _own_connection_file() -> str | None:
    try:
        from ipykernel.connect import get_connection_file

        return get_connection_file()
    except Exception:  # noqa: BLE001 - not in a kernel (tests, papermill without ipykernel app)
        return None


def current_analyst(default: str = UNKNOWN_ANALYST) -> str:
    """The signed-in analyst whose browser is connected to this kernel.

    Read on every call (never cached): a pooled kernel rendered its page before anyone
    signed in. Outside a served page (pytest, papermill, a script) it answers ``default``.
    """
    connection_file = _own_connection_file()
    if connection_file is None:
        return default
    return analyst_for_connection_file(connection_file) or default
