"""Rendering figures without the network: PNG for PDFs (kaleido) and self-contained HTML.

Why a long-lived kaleido server: a fresh headless Chromium per figure costs about 1.7 s,
the sync server about 0.12 s per figure after a 1.5 s start (STACK_NOTES.md §5). MathJax
is off (its default is a CDN URL) and plotly.js comes from plotly's own package data, so
no request leaves the machine. With the server running, plotly warns "The kopts argument
is ignored if using a server" on every call; the warning is expected and filtered here so
it cannot land in a notebook cell, and from there in a PDF.

The browser is found here, on ``PATH`` only (:func:`find_chromium`), and handed to kaleido
by path. kaleido's own search also tries fixed places (``/usr/bin/chromium``) and a
downloaded copy; octopus's check must be the one that decides, so that hiding Chromium,
or a machine set up by the deployment guide without it, gives the same answer everywhere:
a one-line error naming the package (:func:`require_chromium`), never an image-less PDF.
"""

from __future__ import annotations

import logging
import shutil
import threading
import warnings

import plotly.graph_objects as go
import plotly.io as pio

from octolib.errors import ConfigError

__all__ = ["to_png", "to_html", "stop_png_server", "BROWSER_NAMES", "CHROMIUM_INSTALL", "find_chromium",
           "require_chromium"]

log = logging.getLogger(__name__)
_lock = threading.Lock()
_started = False


#: The executables that count as the browser, in order (Debian's ``chromium`` first).
BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: How to get one, for the messages of the runner, the renderer and ``octo doctor``.
CHROMIUM_INSTALL = "install it with `sudo apt-get install -y chromium` (Debian/Ubuntu; Google Chrome works too)"


def find_chromium(path: str | None = None) -> str | None:
    """The browser octopus draws charts with: the first of :data:`BROWSER_NAMES` on ``path``.

    ``path`` is a ``PATH``-style string (``None``: this process's ``PATH``).
    """
    for name in BROWSER_NAMES:
        found = shutil.which(name, path=path)
        if found:
            return found
    return None


def require_chromium(path: str | None = None) -> str:
    """The browser's path, or a one-line :class:`ConfigError` naming what to install."""
    found = find_chromium(path)
    if not found:
        raise ConfigError(f"report charts need Chromium, and none is on PATH (looked for {', '.join(BROWSER_NAMES)}): "
                          f"{CHROMIUM_INSTALL}; `octo doctor` checks it")
    return found


def _ensure_server() -> None:
    global _started
    with _lock:
        if _started:
            return
        import kaleido  # imported late: dashboards never need it

        kaleido.start_sync_server(mathjax=False, silence_warnings=True, path=require_chromium())
        _started = True
        log.info("kaleido image server started (MathJax off)")


def to_png(fig: go.Figure, width: int = 800, height: int = 400, scale: float = 2.0) -> bytes:
    """PNG bytes of ``fig`` at ``width``×``height`` CSS pixels times ``scale``.

    Needs Chromium on ``PATH`` (Debian's ``chromium``); ConfigError naming it otherwise.
    """
    _ensure_server()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*kopts.*", category=UserWarning)
        return pio.to_image(fig, format="png", width=width, height=height, scale=scale)


def stop_png_server() -> None:
    """Stop the image server (it also stops at interpreter exit)."""
    global _started
    with _lock:
        if not _started:
            return
        import kaleido

        kaleido.stop_sync_server(silence_warnings=True)
        _started = False


def to_html(fig: go.Figure, full_html: bool = True, include_plotlyjs: bool | str = True) -> str:
    """HTML for ``fig`` with plotly.js inlined (``True``) or from a local path, never a CDN.

    Pass ``include_plotlyjs=False`` when the page already has plotly.js; ``"cdn"`` is
    refused, because it makes the page fetch from the internet.
    """
    if include_plotlyjs in ("cdn", "require") or (isinstance(include_plotlyjs, str)
                                                  and "://" in include_plotlyjs):
        raise ValueError("include_plotlyjs must be True, False, 'directory' or a local path: no CDN")
    return pio.to_html(fig, full_html=full_html, include_plotlyjs=include_plotlyjs, include_mathjax=False,
                       config={"displaylogo": False})
