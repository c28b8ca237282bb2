"""Static images of plotly figures for the PDF (kaleido + the system Chromium).

Why a module: kaleido 1.x drives a headless Chromium. Starting one costs 1.5-6 s on these
machines, rendering a figure then ~0.2 s (STACK_NOTES §5). A batch of 30 reports, each in
its own kernel, would pay the start 30 times. So the runner starts one
:class:`ImageServer` per batch (one Chromium, kept warm) on 127.0.0.1 and passes its URL
to each template as the literal ``image_server`` parameter; :func:`render_png` posts the
figure's JSON there. A template run by hand (no server) renders in its own kernel.

Also handled here: kaleido's server emits a "kopts" UserWarning on every call, which
would land in an executed notebook's output, so warnings are silenced around it.

A machine without Chromium gets no reports at all, never PDFs whose charts are missing:
:func:`require_chromium` (called by the runner before anything runs, and by the renderer
itself) raises a one-line error naming the package to install. The browser is found by
octopus, on ``PATH`` only, and handed to kaleido by path: kaleido's own search also tries
fixed places and a downloaded copy, so without this a check could pass or fail depending
on where it was run, not on what the deployment guide installs (the search itself is
:func:`octolib.charts.export.find_chromium`). A figure that fails on its own still comes
out as ``(None, reason)``, which the PDF prints where the chart was.
"""

from __future__ import annotations

import logging
import threading
import urllib.error
import urllib.request
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from octolib.charts.export import BROWSER_NAMES, CHROMIUM_INSTALL, find_chromium, require_chromium
from octolib.errors import ConfigError

__all__ = ["render_png", "render_local", "stop_local", "set_image_server", "ImageServer", "BROWSER_NAMES",
           "CHROMIUM_INSTALL", "find_chromium", "require_chromium"]

log = logging.getLogger(__name__)

_lock = threading.Lock()
_render_lock = threading.Lock()
_state: dict[str, Any] = {"started": False, "error": "", "server_url": "", "servers": 0}


def set_image_server(url: str) -> None:
    """Use the renderer at ``url`` (``""``: render in this process) for :func:`render_png`."""
    _state["server_url"] = url or ""


def _ensure_kaleido() -> str:
    """Start kaleido's sync server once per process on the browser octopus found.

    Raises :class:`ConfigError` when there is no browser or it cannot start: every chart
    would be missing, so the report must fail rather than go out without them.
    """
    with _lock:
        if _state["started"]:
            return ""
        if _state["error"]:
            raise ConfigError(_state["error"])
        browser = require_chromium()
        try:
            import kaleido

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                kaleido.start_sync_server(mathjax=False, silence_warnings=True, path=browser)
            _state["started"] = True
        except Exception as exc:  # noqa: BLE001 - any start failure means no chart at all
            _state["error"] = (f"report charts need Chromium, and {browser} did not start "
                               f"({type(exc).__name__}: {exc})"[:300] + f"; reinstall it: {CHROMIUM_INSTALL}")
            log.warning("%s", _state["error"])
            raise ConfigError(_state["error"]) from None
        return ""


def stop_local() -> None:
    """Close this process's Chromium (kaleido's sync server), if it was started here.

    Done at the end of a batch, so the browser's profile folder is removed while the process
    is still healthy rather than by an exit handler racing Chromium's own shutdown.
    """
    with _lock:
        if not _state["started"]:
            return
        try:
            import kaleido

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                kaleido.stop_sync_server(silence_warnings=True)
        except Exception as exc:  # noqa: BLE001 - closing is best effort
            log.debug("stopping kaleido failed: %s", exc)
        _state["started"] = False


def render_local(fig: Any, width: int = 900, height: int = 420, scale: float = 2.0) -> tuple[bytes | None, str]:
    """Render in this process: ``(png, "")``, ``(None, reason)`` for a bad figure, ConfigError without a browser."""
    _ensure_kaleido()
    try:
        with _render_lock, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fig.to_image(format="png", width=width, height=height, scale=scale), ""
    except Exception as exc:  # noqa: BLE001
        return None, f"{type(exc).__name__}: {exc}"[:300]


def render_png(fig: Any, width: int = 900, height: int = 420, scale: float = 2.0) -> tuple[bytes | None, str]:
    """``(png_bytes, "")`` for ``fig`` at ``width`` x ``height`` CSS pixels times ``scale``,
    or ``(None, reason)`` when this figure cannot be drawn.

    Uses the batch's :class:`ImageServer` when one was set, else renders locally. Raises
    :class:`ConfigError` when no chart can be drawn at all (no browser), here or there.
    """
    url = _state["server_url"]
    if url:
        body = fig.to_json(validate=False).encode("utf-8")
        req = urllib.request.Request(f"{url}/png?width={int(width)}&height={int(height)}&scale={float(scale)}",
                                     data=body, method="POST", headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=120) as resp:
                return resp.read(), ""
        except urllib.error.HTTPError as exc:
            reason = exc.read().decode("utf-8", "replace")[:600]
            if exc.code == 503:  # the server has no browser: no chart of this report can be drawn
                raise ConfigError(reason) from None
            return None, reason[:300]
        except OSError as exc:
            log.warning("image server %s unreachable (%s); rendering locally", url, exc)
    return render_local(fig, width, height, scale)


class _Handler(BaseHTTPRequestHandler):
    server_version = "octopus-images"

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        import plotly.io as pio

        parts = urlsplit(self.path)
        if parts.path != "/png":
            self.send_error(404)
            return
        q = {k: v[0] for k, v in parse_qs(parts.query).items()}
        status = 500
        try:
            length = int(self.headers.get("Content-Length", "0"))
            fig = pio.from_json(self.rfile.read(length).decode("utf-8"), skip_invalid=True)
            png, error = render_local(fig, int(q.get("width", 900)), int(q.get("height", 420)),
                                      float(q.get("scale", 2.0)))
        except ConfigError as exc:  # no browser: 503 tells the kernel to fail its report
            png, error, status = None, str(exc), 503
        except Exception as exc:  # noqa: BLE001 - a bad figure is that request's problem only
            png, error = None, f"{type(exc).__name__}: {exc}"[:300]
        if png is None:
            data = error.encode("utf-8")
            self.send_response(status)
        else:
            data = png
            self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        log.debug("image server: " + format, *args)


class ImageServer:
    """One warm Chromium for a batch of reports, on ``127.0.0.1`` (any free port).

    Use as a context manager; :attr:`url` is what the templates get as ``image_server``.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._httpd = ThreadingHTTPServer((host, port), _Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://{host}:{self._httpd.server_address[1]}"
        self._thread: threading.Thread | None = None

    def start(self, warm: bool = True) -> "ImageServer":
        with _lock:
            _state["servers"] += 1
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="octo-images", daemon=True)
        self._thread.start()
        if warm:  # start Chromium now, while the first kernels boot
            threading.Thread(target=_warm, name="octo-images-warm", daemon=True).start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        with _lock:
            _state["servers"] -= 1
            last = _state["servers"] == 0
        if last:  # another batch in this process may still be drawing
            stop_local()

    def __enter__(self) -> "ImageServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _warm() -> None:
    try:
        import plotly.graph_objects as go

        render_local(go.Figure(go.Scatter(x=[0, 1], y=[0, 1])), 100, 100, 1)
    except Exception as exc:  # noqa: BLE001 - warming is an optimisation only
        log.debug("warming the image renderer failed: %s", exc)
