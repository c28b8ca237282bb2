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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from tornado import web
from tornado.routing import PathMatches, Rule
from tornado.websocket import WebSocketHandler

__all__ = ["PUBLIC_PATTERNS", "RouteInfo", "gate_routes", "iter_routes", "is_public", "REFUSAL_HEADER"]

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

    Gated.__name__ = Gated.__qualname__ = f"Gated{cls.__name__}"
    Gated.__doc__ = cls.__doc__
    _GATED[cls] = Gated
    return Gated


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
        table.append(RouteInfo(pattern, f"{target.__module__}.{target.__qualname__}", public,
                               issubclass(target, WebSocketHandler)))
    n_public = sum(r.public for r in table)
    log.info("login gate: %d routes need a session, %d public static/login routes", len(table) - n_public, n_public)
    return table


def public_routes(table: Iterable[RouteInfo]) -> list[str]:
    """The public patterns of a route table (for logs and docs)."""
    return [r.pattern for r in table if r.public]


