"""Default deny: every route needs a session unless it is on a short list of static assets.

Why a gate on top of jupyter_server's own checks: ``allow_unauthenticated_access=False``
only covers ``JupyterHandler`` subclasses that do not opt out. Plain tornado handlers
(Voilà's ``/voila/files``, ``/voila/static``), handlers marked ``@allow_unauthenticated``
(``/api`` tells the server version) and whatever an extension adds tomorrow would answer
without a session. So after every extension has registered its routes, :func:`gate_routes`
replaces each handler class, except the public ones, with a subclass whose ``prepare``
refuses requests without a session: ``302`` to the login page for page loads, ``403`` for
API calls, other methods and websockets.

Public means: the login and logout pages, and static assets (JS, CSS, fonts, icons) of the
server and its extensions. None of them serves files from the notebook or data folders.
"""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from tornado import web
from tornado.routing import PathMatches, Rule
from tornado.websocket import WebSocketHandler

__all__ = ["PUBLIC_PATTERNS", "RouteInfo", "gate_routes", "install_gate", "iter_routes", "is_public",
           "REFUSAL_HEADER"]

log = logging.getLogger(__name__)

#: URL patterns (as registered, without the base URL) that may answer without a session.
PUBLIC_PATTERNS: frozenset[str] = frozenset({
    r"/login",
    r"/logout",
    # jupyter_server's own static files and icons
    r"/static/(.*)",
    r"/(favicon\.ico)",
    r"/(robots\.txt)",
    r"/(robots\.txt|favicon\.ico)",
    # JupyterLab's application bundle and the prebuilt extensions' bundles
    r"/static/lab/(.*)",
    r"/lab/extensions/(.*)",
    r"/lab/api/themes/(.*)",
    # Voilà's front-end bundles, template assets and theme CSS
    r"/voila/static/(.*)",
    # only <template>/static/<file> below it; any other path needs a session and is a 404
    # (see _template_static_class)
    r"/voila/templates/(.*)",
    r"/voila/labextensions/(.*)",
    r"/voila/api/themes/(.*)",
})

#: Set on every refusal by the gate, so a test can tell it from a handler's own 403.
REFUSAL_HEADER = "X-Octopus-Login"

# Under these prefixes a refused GET answers 403, not a redirect: callers are scripts.
_API_PREFIXES = ("api/", "lab/api/", "voila/api/")


@dataclass(frozen=True)
class RouteInfo:
    """One registered route: its regex, its handler class, and whether it is public."""

    pattern: str
    handler: str
    public: bool
    websocket: bool


def _strip(pattern: str, base_url: str) -> str:
    """``/base/static/(.*)$`` -> ``/static/(.*)`` for comparison with PUBLIC_PATTERNS."""
    if pattern.endswith("$"):
        pattern = pattern[:-1]
    base = base_url.rstrip("/")
    if base and pattern.startswith(base + "/"):
        pattern = pattern[len(base):]
    return pattern


def is_public(pattern: str, base_url: str = "/") -> bool:
    """Whether a registered route pattern is on the public list."""
    return _strip(pattern, base_url) in PUBLIC_PATTERNS


def _walk(router: Any) -> Iterator[Rule]:
    for rule in getattr(router, "rules", []):
        if hasattr(rule.target, "rules"):
            yield from _walk(rule.target)
        else:
            yield rule


def iter_routes(app: web.Application) -> Iterator[Rule]:
    """Every leaf rule of a tornado application (host routers are walked through)."""
    yield from _walk(app.default_router)


def _login_url(handler: web.RequestHandler) -> str:
    base = handler.settings.get("base_url", "/")
    return handler.settings.get("login_url") or (base.rstrip("/") + "/login")


def _refuse(handler: web.RequestHandler) -> None:
    """302 to the login page for a page load, 403 for everything else; no handler code runs.

    The response is finished through ``RequestHandler`` itself, not the handler's own
    ``redirect``/``finish``/``write_error``: some handlers override those with other
    signatures (JupyterLab's licenses handler did, and hung the request).
    """
    handler.clear()
    handler.set_header(REFUSAL_HEADER, "required")
    handler.set_header("Cache-Control", "no-store")
    base = handler.settings.get("base_url", "/")
    path = handler.request.path
    rel = path[len(base):] if path.startswith(base) else path.lstrip("/")
    page_load = (handler.request.method in ("GET", "HEAD")
                 and not isinstance(handler, WebSocketHandler)
                 and not (rel == "api" or rel.startswith(_API_PREFIXES)))
    if page_load:
        handler.set_status(302)
        handler.set_header("Location", _login_url(handler) + "?next=" + quote(handler.request.uri or base, safe=""))
        web.RequestHandler.finish(handler)
        return
    handler.set_status(403)
    handler.set_header("Content-Type", "text/plain; charset=UTF-8")
    web.RequestHandler.finish(handler, "403: sign in first\n")


async def _session_user(handler: web.RequestHandler) -> Any:
    provider = handler.settings.get("identity_provider")
    if provider is None:  # misconfigured app: fail closed
        return None
    user = provider.get_user(handler)
    if inspect.isawaitable(user):
        user = await user
    return user


_GATED: dict[type, type] = {}


def _gated_class(cls: type[web.RequestHandler]) -> type[web.RequestHandler]:
    """A subclass of ``cls`` that checks the session before ``cls.prepare`` runs."""
    if getattr(cls, "_octo_gated", False):
        return cls
    if cls in _GATED:
        return _GATED[cls]

    class Gated(cls):  # type: ignore[valid-type, misc]
        _octo_gated = True

        async def prepare(self, *args: Any, **kwargs: Any) -> Any:
            user = await _session_user(self)
            if user is None:
                _refuse(self)
                return None
            if isinstance(self, WebSocketHandler):
                provider = self.settings.get("identity_provider")
                track = getattr(provider, "track_socket", None)
                if track is not None:
                    track(user.username, self)
            result = super().prepare(*args, **kwargs)
            if inspect.isawaitable(result):
                result = await result
            return result

    if getattr(cls.get_current_user, "__module__", "") == "jupyter_server.base.handlers":
        def get_current_user(self: Any) -> Any:
            # tornado answers an unsupported verb with 405 before prepare runs; rendering
            # that error page asks for the user, and jupyter_server's get_current_user
            # raises when prepare has not set one (a traceback per such request). Before
            # prepare nobody is signed in, as far as this request knows.
            return getattr(self, "_jupyter_current_user", None)

        Gated.get_current_user = get_current_user  # type: ignore[method-assign]

    Gated.__name__ = Gated.__qualname__ = f"Gated{cls.__name__}"
    Gated.__doc__ = cls.__doc__
    _GATED[cls] = Gated
    return Gated


#: The one shape of path Voilà's template route may serve without a session.
_TEMPLATE_STATIC_RE = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*/static/[^\x00]+")
_TEMPLATE_ROUTE = r"/voila/templates/(.*)"


def _is_template_static(path: str) -> bool:
    """``<template>/static/<file>`` with no empty, ``.`` or ``..`` segment."""
    if not _TEMPLATE_STATIC_RE.fullmatch(path):
        return False
    return all(part not in ("", ".", "..") for part in path.split("/"))


def _public_class(cls: type[web.RequestHandler]) -> type[web.RequestHandler]:
    """``cls`` marked as vetted public, so the dispatch check (:func:`install_gate`) passes it."""
    if getattr(cls, "_octo_public", False) or getattr(cls, "_octo_gated", False):
        return cls
    public = type(f"Public{cls.__name__}", (cls,), {"_octo_public": True, "__doc__": cls.__doc__,
                                                       "__module__": cls.__module__})
    return public


def _template_static_class(cls: type[web.RequestHandler]) -> type[web.RequestHandler]:
    """Voilà's template route, public only for ``<template>/static/<file>``.

    Voilà registers ``/voila/templates/(.*)`` and answers any other shape of path with an
    uncaught ValueError (HTTP 500 and a traceback in the log). Here such a path needs a
    session like every other route, and then answers 404.
    """

    class TemplateStatic(cls):  # type: ignore[valid-type, misc]
        _octo_public = True

        async def prepare(self, *args: Any, **kwargs: Any) -> Any:
            path = self.path_args[0] if self.path_args else ""
            if not _is_template_static(str(path)):
                if await _session_user(self) is None:
                    _refuse(self)
                    return None
                raise web.HTTPError(404)
            result = super().prepare(*args, **kwargs)
            if inspect.isawaitable(result):
                result = await result
            return result

    TemplateStatic.__name__ = TemplateStatic.__qualname__ = f"TemplateStatic{cls.__name__}"
    TemplateStatic.__doc__ = cls.__doc__
    return TemplateStatic


def install_gate(app: web.Application, base_url: str = "/") -> list[RouteInfo]:
    """Gate every route of ``app`` now (:func:`gate_routes`), and every route added later.

    Why both: the route table is written at start for audits, but an extension (or this
    product) may call ``add_handlers`` once the server runs. Tornado hands every matched
    route to ``Application.get_handler_delegate``; from now on that puts any handler class
    the gate has not vetted (gated or public) behind the session check: default deny.
    """
    table = gate_routes(app, base_url)
    if not getattr(app, "_octo_gate_installed", False):
        original = app.get_handler_delegate

        def get_handler_delegate(request: Any, target_class: type[web.RequestHandler],
                                 target_kwargs: dict[str, Any] | None = None,
                                 path_args: list[bytes] | None = None,
                                 path_kwargs: dict[str, bytes] | None = None) -> Any:
            if not (getattr(target_class, "_octo_gated", False) or getattr(target_class, "_octo_public", False)):
                if target_class not in _GATED:
                    log.info("login gate: %s was added after start; it needs a session", target_class.__name__)
                target_class = _gated_class(target_class)
            return original(request, target_class, target_kwargs, path_args, path_kwargs)

        app.get_handler_delegate = get_handler_delegate  # type: ignore[method-assign]
        app._octo_gate_installed = True  # type: ignore[attr-defined]
    return table


def gate_routes(app: web.Application, base_url: str = "/") -> list[RouteInfo]:
    """Put every non-public route of ``app`` behind the session check; return the route table.

    Call it once all extensions are loaded (``octolib.server.app`` does, right before the
    server starts listening). Idempotent.
    """
    table: list[RouteInfo] = []
    for rule in iter_routes(app):
        target = rule.target
        matcher = rule.matcher
        pattern = matcher.regex.pattern if isinstance(matcher, PathMatches) else repr(matcher)
        if not (isinstance(target, type) and issubclass(target, web.RequestHandler)):
            # Not a handler class (a delegate or callable): we cannot vouch for it, so
            # nothing should be registered like that. Refuse to start rather than guess.
            raise RuntimeError(f"route {pattern!r} has a target the login gate cannot wrap: {target!r}")
        public = isinstance(matcher, PathMatches) and is_public(pattern, base_url)
        if not public:
            rule.target = _gated_class(target)
        elif _strip(pattern, base_url) == _TEMPLATE_ROUTE:
            rule.target = _template_static_class(target)
        else:
            rule.target = _public_class(target)
        table.append(RouteInfo(pattern, f"{target.__module__}.{target.__qualname__}", public,
                               issubclass(target, WebSocketHandler)))
    n_public = sum(r.public for r in table)
    log.info("login gate: %d routes need a session, %d public static/login routes", len(table) - n_public, n_public)
    return table


def public_routes(table: Iterable[RouteInfo]) -> list[str]:
    """The public patterns of a route table (for logs and docs)."""
    return [r.pattern for r in table if r.public]


