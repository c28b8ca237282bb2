"""The login gate inside jupyter_server: an IdentityProvider with a username/password form.

Why not stock Jupyter auth: it has one shared token or password and no accounts, lockout or
idle timeout. This provider checks the ``users`` collection (:mod:`octolib.auth.users`) and
keeps the session in a signed cookie (tornado's ``set_secure_cookie`` with the server's
cookie secret) holding::

    {"u": username, "sid": random id, "iat": login time, "last": last activity, "rem": bool}

* Sliding idle timeout: ``last`` is re-signed on user activity (page loads, any non-GET
  request); background polls (``GET /api/...``) and websocket traffic do not count, so a
  forgotten JupyterLab tab does not keep a session alive. A session also ends
  ``max_session_hours`` after login, however active.
* Logout (and ``octo user disable`` / ``reset-password``) writes ``sessions_valid_after`` on
  the user: every cookie issued before that instant is refused, even a copied one, and the
  user's open websockets in this process are closed.
* The cookie is HttpOnly and SameSite=Lax, Secure when ``secure_cookie`` is on
  (``octo serve --secure``). "Keep me signed in" makes it survive a browser restart; it
  never extends the idle timeout.
* No token: ``?token=`` and ``Authorization: token`` are ignored, so stock Jupyter's shared
  secret is not a second way in.

Only this module and :mod:`octolib.auth.gate` decide who gets in; the server app
(:mod:`octolib.server.app`) wires them up.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.auth.identity import IdentityProvider, User
from jupyter_server.auth.login import LoginFormHandler
from jupyter_server.base.handlers import JupyterHandler
from tornado import web
from tornado.websocket import WebSocketHandler
from traitlets import Float, default

from octolib.auth import templates
from octolib.auth.users import LoginResult, UserStore, normalize_username

__all__ = [
    "Session",
    "session_verdict",
    "is_activity",
    "OctoIdentityProvider",
    "OctoLoginHandler",
    "OctoLogoutHandler",
]

log = logging.getLogger(__name__)

# GET/HEAD under these prefixes are background polls, not a person doing something.
_POLL_PREFIXES = ("api/", "lab/api/", "voila/api/")
_MISSING = object()


@dataclass(frozen=True)
class Session:
    """What the signed session cookie carries (times are Unix seconds)."""

    username: str
    sid: str
    issued_at: float
    last_seen: float
    remember: bool = False

    def to_cookie(self) -> str:
        return json.dumps({"u": self.username, "sid": self.sid, "iat": round(self.issued_at, 3),
                           "last": round(self.last_seen, 3), "rem": self.remember}, separators=(",", ":"))

    @classmethod
    def from_cookie(cls, text: str) -> "Session | None":
        """Parse a cookie value; None for anything that is not exactly our shape."""
        try:
            data = json.loads(text)
            session = cls(str(data["u"]), str(data["sid"]), float(data["iat"]), float(data["last"]),
                          bool(data.get("rem", False)))
        except (ValueError, TypeError, KeyError):
            return None
        return session if session.username else None


def session_verdict(
    session: Session,
    now: float,
    *,
    idle_s: float,
    max_age_s: float,
    user: dict[str, Any] | None,
) -> str:
    """``"ok"`` or why the session is over: ``idle``, ``too_old``, ``future``, ``no_user``,
    ``disabled`` or ``revoked`` (logged out, password reset or disabled after login).

    Pure, so the rules are tested without a server:

    >>> s = Session("alice", "x", issued_at=1000.0, last_seen=1000.0)
    >>> user = {"is_active": True, "sessions_valid_after": None}
    >>> session_verdict(s, 1000.0 + 1799, idle_s=1800, max_age_s=43200, user=user)
    'ok'
    >>> session_verdict(s, 1000.0 + 1801, idle_s=1800, max_age_s=43200, user=user)
    'idle'
    """
    if session.last_seen > now + 60 or session.issued_at > session.last_seen + 1:
        return "future"  # only possible with a forged payload or a wild clock
    if now - session.last_seen > idle_s:
        return "idle"
    if now - session.issued_at > max_age_s:
        return "too_old"
    if user is None:
        return "no_user"
    if not user.get("is_active", True):
        return "disabled"
    valid_after = user.get("sessions_valid_after")
    if isinstance(valid_after, datetime):
        if valid_after.tzinfo is None:  # the embedded store may return naive UTC
            valid_after = valid_after.replace(tzinfo=timezone.utc)
        # BSON keeps milliseconds: a session issued in the same millisecond as the
        # logout is treated as ended too.
        if session.issued_at <= valid_after.timestamp() + 0.001:
            return "revoked"
    return "ok"


def is_activity(method: str, path: str, base_url: str = "/", websocket: bool = False) -> bool:
    """Does this request show a person at work (and so extend the idle timeout)?

    >>> is_activity("GET", "/voila/render/campaigns.ipynb")
    True
    >>> is_activity("GET", "/api/kernels")      # JupyterLab polls this every few seconds
    False
    >>> is_activity("PUT", "/api/contents/x.ipynb")   # a save
    True
    """
    if websocket:
        return False
    if method.upper() not in ("GET", "HEAD"):
        return True
    rel = path[len(base_url):] if path.startswith(base_url) else path.lstrip("/")
    return not (rel == "api" or rel.startswith(_POLL_PREFIXES))


class OctoIdentityProvider(IdentityProvider):
    """Users from MongoDB, a login form, a sliding idle timeout; no token.

    Built by jupyter_server from config; reads its store and timeouts from the ``OCTO_*``
    settings of the server process (``octo serve`` passes them down). Tests may pass
    ``settings=`` and ``user_store=`` directly.
    """

    idle_minutes = Float(None, allow_none=True, config=True,
                         help="Idle timeout in minutes; default OCTO_SESSION_IDLE_MINUTES.")
    max_session_hours = Float(12.0, config=True, help="A session ends this long after login, however active.")
    user_cache_seconds = Float(1.0, config=True,
                               help="How long a user's state (active, logged out) is cached per process.")

    @default("token")
    def _token_default(self) -> str:
        return ""

    @default("cookie_name")
    def _cookie_name_default(self) -> str:
        return ""  # per host, see get_cookie_name

    def __init__(self, *args: Any, settings: Any = None, user_store: UserStore | None = None,
                 clock: Callable[[], float] = time.time, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.need_token = False
        if settings is None:
            from octolib.config import Settings

            # The server process is an edge like a notebook: settings come from its
            # environment, which `octo serve` fills from the parent's settings.
            settings = Settings.from_env(dotenv=None)
        self.octo_settings = settings
        if user_store is None:
            from octolib.auth.users import open_user_store

            user_store = open_user_store(settings)
        self.user_store = user_store
        self.clock = clock
        self._user_cache: dict[str, tuple[float, dict[str, Any] | None]] = {}
        self._sockets: dict[str, weakref.WeakSet[WebSocketHandler]] = {}

    # -- timeouts ----------------------------------------------------------------------

    @property
    def idle_s(self) -> float:
        minutes = self.idle_minutes if self.idle_minutes is not None else self.octo_settings.session_idle_minutes
        return float(minutes) * 60.0

    @property
    def max_age_s(self) -> float:
        return max(self.max_session_hours * 3600.0, self.idle_s)

    @property
    def refresh_after_s(self) -> float:
        """Re-sign the cookie at most this often, so not every asset gets a Set-Cookie."""
        return min(30.0, self.idle_s / 10.0)

    # -- cookies -----------------------------------------------------------------------

    def get_cookie_name(self, handler: web.RequestHandler) -> str:
        if self.cookie_name:
            return self.cookie_name
        return "octopus-" + super().get_cookie_name(handler)

    def _cookie_options(self, handler: web.RequestHandler) -> dict[str, Any]:
        options: dict[str, Any] = {"httponly": True, "samesite": "Lax",
                                   "path": handler.settings.get("base_url", "/")}
        secure = self.secure_cookie
        if secure is None:
            secure = handler.request.protocol == "https"
        if secure:
            options["secure"] = True
        options.update(self.cookie_options)
        return options

    def write_session(self, handler: web.RequestHandler, session: Session) -> None:
        """Set the signed cookie. A remembered session outlives the browser, not the idle timeout."""
        expires_days = (self.idle_s / 86400.0) if session.remember else None
        handler.set_secure_cookie(self.get_cookie_name(handler), session.to_cookie(),
                                  expires_days=expires_days, **self._cookie_options(handler))

    def set_login_cookie(self, handler: web.RequestHandler, user: User) -> None:
        """Kept for jupyter_server callers (``persist_user_model``): a fresh session for ``user``."""
        now = self.clock()
        self.write_session(handler, Session(user.username, secrets.token_urlsafe(12), now, now))

    def clear_login_cookie(self, handler: web.RequestHandler) -> None:
        options = self._cookie_options(handler)
        handler.clear_cookie(self.get_cookie_name(handler), path=options["path"])

    # -- who is this -------------------------------------------------------------------

    def get_user_token(self, handler: web.RequestHandler) -> None:  # type: ignore[override]
        """Tokens are never accepted: the login form is the only way in."""
        return None

    def is_token_authenticated(self, handler: web.RequestHandler) -> bool:
        return False

    def should_check_origin(self, handler: web.RequestHandler) -> bool:
        return True

    def user_state(self, username: str) -> dict[str, Any] | None:
        """The user's active flag and logout instant, cached for ``user_cache_seconds``."""
        now = time.monotonic()
        hit = self._user_cache.get(username)
        if hit is not None and now - hit[0] < self.user_cache_seconds:
            return hit[1]
        state = self.user_store.get(username)
        self._user_cache[username] = (now, state)
        return state

    def get_user(self, handler: web.RequestHandler) -> User | None:
        """The signed-in user of this request, or None (then the gate refuses or redirects)."""
        cached = getattr(handler, "_octo_user", _MISSING)
        if cached is not _MISSING:
            return cached  # type: ignore[return-value]
        user = self._user_from_cookie(handler)
        handler._octo_user = user  # type: ignore[attr-defined]
        return user

    def _user_from_cookie(self, handler: web.RequestHandler) -> User | None:
        name = self.get_cookie_name(handler)
        if handler.get_cookie(name) is None:
            return None
        raw = handler.get_secure_cookie(name, max_age_days=self.max_age_s / 86400.0 + 1)
        session = Session.from_cookie(raw.decode("utf-8", "replace")) if raw else None
        if session is None:
            log.warning("refused a session cookie with a bad signature or shape from %s", handler.request.remote_ip)
            self.clear_login_cookie(handler)
            return None
        now = self.clock()
        state = self.user_state(session.username)
        verdict = session_verdict(session, now, idle_s=self.idle_s, max_age_s=self.max_age_s, user=state)
        if verdict != "ok":
            log.info("session of %s ended (%s)", session.username, verdict)
            self.clear_login_cookie(handler)
            return None
        websocket = isinstance(handler, WebSocketHandler)
        if (now - session.last_seen >= self.refresh_after_s
                and is_activity(handler.request.method or "GET", handler.request.path,
                                handler.settings.get("base_url", "/"), websocket)):
            self.write_session(handler, replace(session, last_seen=now))
        full_name = (state or {}).get("full_name") or session.username
        return User(username=session.username, name=full_name, display_name=full_name)

    # -- login / logout ----------------------------------------------------------------

    def login(self, handler: web.RequestHandler, username: str, password: str, remember: bool) -> LoginResult:
        """Check the form; on success start a session (cookie) for the user."""
        result = self.user_store.authenticate(username, password, handler.request.remote_ip or "")
        if result.ok:
            now = self.clock()
            self._user_cache.pop(result.username, None)
            self.write_session(handler, Session(result.username, secrets.token_urlsafe(12), now, now, remember))
        return result

    def logout(self, handler: web.RequestHandler, username: str) -> None:
        """End every session of ``username`` and close its open websockets in this process."""
        self.user_store.end_sessions(username, client_ip=handler.request.remote_ip or "")
        self._user_cache.pop(username, None)
        for sock in list(self._sockets.pop(username, ())):
            try:
                sock.close(1008, "signed out")
            except Exception:  # a half-open socket must not break the logout page
                log.debug("closing a websocket of %s failed", username, exc_info=True)
        self.clear_login_cookie(handler)

    def track_socket(self, username: str, handler: WebSocketHandler) -> None:
        """Remember an authenticated websocket so logout can close it; a kernel's socket
        also binds ``username`` to that kernel (see :mod:`octolib.dashboards.identity`)."""
        self._sockets.setdefault(username, weakref.WeakSet()).add(handler)
        kernel_id = (getattr(handler, "path_kwargs", None) or {}).get("kernel_id")
        if kernel_id:
            bind_socket_kernel(handler, str(kernel_id), username)

    def get_handlers(self) -> list[tuple[str, object]]:
        """Our login and logout pages (standalone Voilà would otherwise force its own)."""
        return [(r"/login", OctoLoginHandler), (r"/logout", OctoLogoutHandler)]

    @property
    def auth_enabled(self) -> bool:
        return True

    @property
    def login_available(self) -> bool:
        return True


def bind_socket_kernel(handler: web.RequestHandler, kernel_id: str, username: str) -> None:
    """Write who is connected to kernel ``kernel_id``, so the page in it can record actions
    by the signed-in analyst. An unknown kernel is left to the handler (it answers 404)."""
    from octolib.dashboards.identity import bind_kernel

    manager = handler.settings.get("kernel_manager")
    try:
        connection_file = manager.get_kernel(kernel_id).connection_file if manager is not None else ""
    except KeyError:
        return
    if not connection_file:
        return
    try:
        bind_kernel(connection_file, username)
    except OSError:  # the page still works; its actions are recorded as by "unknown"
        log.warning("could not bind user %s to kernel %s", username, kernel_id, exc_info=True)


def _no_store(handler: web.RequestHandler) -> None:
    handler.set_header("Cache-Control", "no-store")


class OctoLoginHandler(LoginFormHandler):
    """GET: the form (with its ``_xsrf`` field). POST: check it; 401 wrong, 429 locked out."""

    def _render(self, message: str | None = None, username: str = "", remember: bool = False,
                info: str | None = None) -> None:  # type: ignore[override]
        _no_store(self)
        provider = self.identity_provider
        idle = getattr(provider, "idle_s", 1800.0) / 60.0
        self.write(templates.render(
            "login",
            base_url=self.base_url,
            next=self.get_argument("next", default=self.base_url),
            message=message,
            info=info,
            username=username,
            remember=remember,
            xsrf_form_html=self.xsrf_form_html(),
            idle_minutes=f"{idle:g}",
        ))

    @allow_unauthenticated
    def get(self) -> None:
        if self.current_user:
            self._redirect_safe(self.get_argument("next", default=self.base_url))
            return
        self._render()

    @allow_unauthenticated
    def post(self) -> None:
        provider = self.identity_provider
        if not isinstance(provider, OctoIdentityProvider):
            raise web.HTTPError(500, "octolib login handler needs OctoIdentityProvider")
        username = normalize_username(self.get_body_argument("username", default=""))[:128]
        password = self.get_body_argument("password", default="")
        remember = self.get_body_argument("remember", default="") in ("1", "on", "true")
        if not username or not password:
            self.set_status(400)
            self._render(message="Enter your username and password.", username=username)
            return
        result = provider.login(self, username, password, remember)
        if result.ok:
            self._redirect_safe(self.get_argument("next", default=self.base_url))
            return
        if result.reason == "locked":
            self.set_status(429)
            self._render(message=result.message(), username=username)
            return
        self.set_status(401)
        self._render(message=result.message(), username=username, remember=remember)


class OctoLogoutHandler(JupyterHandler):
    """GET or POST: end the session everywhere, then show the signed-out page.

    GET stays supported because JupyterLab's File > Log Out navigates here.
    """

    def _logout(self) -> None:
        user = self.current_user
        provider = self.identity_provider
        if user and isinstance(provider, OctoIdentityProvider):
            provider.logout(self, user.username)
        else:
            provider.clear_login_cookie(self)
        _no_store(self)
        self.write(templates.render("logged_out", base_url=self.base_url))

    @allow_unauthenticated
    def get(self) -> None:
        self._logout()

    @allow_unauthenticated
    def post(self) -> None:
        self._logout()
