"""A private ``mongod`` for a laptop: started once on 127.0.0.1, reused while it runs.

When ``OCTO_MONGODB_URI`` is empty and a ``mongod`` binary is on PATH (the conda
environment installs one from conda-forge), :func:`octolib.store.connect` asks
:class:`LocalMongod` for a URI. The server keeps its data in ``<data_dir>/mongod/db`` and its
address in ``<data_dir>/mongod/mongod.json``; the sync, the dashboards' kernels and papermill
runs all find the same server through that file. It is started detached (its own session),
so it outlives the process that started it; :meth:`LocalMongod.stop` (``octo init-db
--stop-mongod``) shuts it down cleanly with the ``shutdown`` command.

A file lock serialises starts, so two processes starting at once get one server.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from octolib.errors import StoreError

__all__ = ["LocalMongod"]

logger = logging.getLogger(__name__)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive advisory lock on ``path`` (no-op where fcntl does not exist)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class LocalMongod:
    """Start, find and stop the private mongod whose files live in ``home``.

    ``start_timeout_s`` bounds the wait for a new server to answer ``ping``.
    """

    def __init__(self, home: Path, binary: str = "mongod", *, start_timeout_s: float = 60.0) -> None:
        self.home = Path(home).expanduser()
        self.binary = binary
        self.dbpath = self.home / "db"
        self.state_file = self.home / "mongod.json"
        self.log_file = self.home / "mongod.log"
        self.start_timeout_s = start_timeout_s

    def _read_state(self) -> dict[str, Any] | None:
        try:
            state = json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return None
        return state if isinstance(state, dict) and "port" in state and "pid" in state else None

    @staticmethod
    def _uri(port: int) -> str:
        return f"mongodb://127.0.0.1:{port}/"

    @staticmethod
    def _ping(uri: str, timeout_ms: int = 1000) -> bool:
        import pymongo
        from pymongo.errors import PyMongoError

        client: Any = pymongo.MongoClient(uri, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms)
        try:
            client.admin.command("ping")
            return True
        except PyMongoError:
            return False
        finally:
            client.close()

    def running_uri(self) -> str | None:
        """The URI of the server recorded in the state file, if it is alive and answers."""
        state = self._read_state()
        if state is None or not _pid_alive(int(state["pid"])):
            return None
        uri = self._uri(int(state["port"]))
        return uri if self._ping(uri) else None

    def ensure_running(self) -> str:
        """The URI of the running private server, starting one when none answers."""
        self.home.mkdir(parents=True, exist_ok=True)
        with _file_lock(self.home / ".start.lock"):
            uri = self.running_uri()
            if uri:
                logger.debug("reusing the private mongod at %s", uri)
                return uri
            return self._start()

    def _start(self) -> str:
        self.dbpath.mkdir(parents=True, exist_ok=True)
        port = _free_port()
        cmd = [
            self.binary,
            "--dbpath", str(self.dbpath),
            "--bind_ip", "127.0.0.1",
            "--port", str(port),
            "--logpath", str(self.log_file),
            "--logappend",
        ]
        logger.info("starting a private mongod on 127.0.0.1:%d (data in %s)", port, self.dbpath)
        try:
            proc = subprocess.Popen(  # noqa: S603 - our own argument list
                cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError as exc:
            raise StoreError(f"cannot start {self.binary}: {exc}") from None
        uri = self._uri(port)
        deadline = time.monotonic() + self.start_timeout_s
        while True:
            code = proc.poll()
            if code is not None:
                raise StoreError(
                    f"the private mongod exited with code {code} at start; last lines of {self.log_file}:\n"
                    + self._log_tail()
                )
            if self._ping(uri, timeout_ms=500):
                break
            if time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                raise StoreError(
                    f"the private mongod did not answer on {uri} within {self.start_timeout_s:.0f} s; "
                    f"see {self.log_file}"
                )
            time.sleep(0.2)
        self.state_file.write_text(json.dumps({"pid": proc.pid, "port": port, "started_at": time.time()}))
        return uri

    def _log_tail(self, lines: int = 8) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, timeout_s: float = 30.0) -> bool:
        """Shut the private server down cleanly; ``False`` when none was running."""
        state = self._read_state()
        if state is None:
            return False
        pid, port = int(state["pid"]), int(state["port"])
        if not _pid_alive(pid):
            self.state_file.unlink(missing_ok=True)
            return False
        import pymongo
        from pymongo.errors import PyMongoError

        client: Any = pymongo.MongoClient(self._uri(port), serverSelectionTimeoutMS=2000)
        try:
            client.admin.command("shutdown")
        except PyMongoError:
            pass  # the connection drops when shutdown succeeds
        finally:
            client.close()
        deadline = time.monotonic() + timeout_s
        while _pid_alive(pid) and time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            time.sleep(0.1)
        if _pid_alive(pid):
            logger.warning("mongod %d ignored shutdown; sending SIGTERM", pid)
            os.kill(pid, signal.SIGTERM)
        self.state_file.unlink(missing_ok=True)
        return True
