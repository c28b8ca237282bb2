"""Session rules and the route gate, without a Jupyter server.

The session verdict is a pure function of (cookie payload, now, user state), so the idle
timeout, the maximum age and logout revocation are tested here with plain numbers. The
gate is tested on a tiny tornado application: a handler that would answer 200 must be
refused once gated, whatever its own code says.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pytest
from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPClientError
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port
from tornado.websocket import WebSocketHandler

from octolib.auth.gate import PUBLIC_PATTERNS, REFUSAL_HEADER, gate_routes, is_public
from octolib.auth.jupyter import Session, is_activity, session_verdict

ACTIVE = {"is_active": True, "sessions_valid_after": None}
T0 = 1_800_000_000.0


# -- the cookie payload ------------------------------------------------------------------

def test_session_round_trips_and_rejects_other_shapes():
    s = Session("alice", "sid1", T0, T0 + 5, remember=True)
    assert Session.from_cookie(s.to_cookie()) == s
    for bad in ("", "null", "[]", '{"u": "alice"}', '{"u": "", "sid": "x", "iat": 1, "last": 1}',
                '{"u": "a", "sid": "x", "iat": "soon", "last": 1}', "\x00\xff"):
        assert Session.from_cookie(bad) is None, bad


@pytest.mark.parametrize("iat,last,user,verdict", [
    (T0, T0, ACTIVE, "ok"),
    (T0 - 1799, T0 - 1799, ACTIVE, "ok"),
    (T0 - 1801, T0 - 1801, ACTIVE, "idle"),
    (T0 - 12 * 3600 - 1, T0 - 60, ACTIVE, "too_old"),
    (T0, T0 + 3600, ACTIVE, "future"),
    (T0, T0, None, "no_user"),
    (T0, T0, {"is_active": False}, "disabled"),
])
def test_session_verdicts(iat, last, user, verdict):
    s = Session("alice", "x", issued_at=iat, last_seen=last)
    assert session_verdict(s, T0, idle_s=1800, max_age_s=12 * 3600, user=user) == verdict


def test_logout_revokes_sessions_issued_before_it_only():
    logout = datetime.fromtimestamp(T0, tz=timezone.utc)
    user = {"is_active": True, "sessions_valid_after": logout}
    before = Session("alice", "a", T0 - 10, T0 - 1)
    after = Session("alice", "b", T0 + 1, T0 + 1)
    assert session_verdict(before, T0 + 2, idle_s=1800, max_age_s=43200, user=user) == "revoked"
    assert session_verdict(after, T0 + 2, idle_s=1800, max_age_s=43200, user=user) == "ok"
    # The embedded store returns naive UTC datetimes: same answer.
    naive = {"is_active": True, "sessions_valid_after": logout.replace(tzinfo=None)}
    assert session_verdict(before, T0 + 2, idle_s=1800, max_age_s=43200, user=naive) == "revoked"


@pytest.mark.parametrize("method,path,websocket,expected", [
    ("GET", "/voila/render/x.ipynb", False, True),
    ("GET", "/lab", False, True),
    ("GET", "/api/kernels", False, False),
    ("GET", "/api", False, False),
    ("HEAD", "/lab/api/workspaces/default", False, False),
    ("GET", "/voila/api/contents", False, False),
    ("PUT", "/api/contents/a.ipynb", False, True),
    ("POST", "/voila/api/shutdown/k", False, True),
    ("GET", "/api/kernels/k/channels", True, False),
])
def test_what_counts_as_activity(method, path, websocket, expected):
    assert is_activity(method, path, "/", websocket) is expected


def test_activity_with_a_base_url():
    assert is_activity("GET", "/octo/api/kernels", "/octo/") is False
    assert is_activity("GET", "/octo/lab", "/octo/") is True


# -- the gate ----------------------------------------------------------------------------

class FakeProvider:
    """Signed in when the request carries ``X-Test-User``: enough to exercise the gate."""

    def __init__(self) -> None:
        self.sockets: list[str] = []

    def get_user(self, handler):
        name = handler.request.headers.get("X-Test-User")
        return type("U", (), {"username": name})() if name else None

    def track_socket(self, username, handler):
        self.sockets.append(username)


class OpenHandler(web.RequestHandler):
    """A handler that answers everybody, like Voilà's file handler or /api."""

    def get(self, *args):
        self.write("secret data")

    def post(self, *args):
        self.write("did something")


class FinishOverride(web.RequestHandler):
    """Like JupyterLab's licenses handler: finish() with another signature."""

    async def finish(self, mime_type, *args, **kwargs):  # type: ignore[override]
        return super().finish(*args, **kwargs)

    def get(self):
        self.write("never")


class Socket(WebSocketHandler):
    def open(self):
        self.write_message("hello")


def _app(provider) -> web.Application:
    return web.Application([
        (r"/login", OpenHandler),
        (r"/static/(.*)", OpenHandler),
        (r"/files/(.*)", OpenHandler),
        (r"/api", OpenHandler),
        (r"/lab/api/licenses/(.*)", FinishOverride),
        (r"/ws", Socket),
    ], identity_provider=provider, login_url="/login", base_url="/")


def test_public_list_is_assets_and_login_only():
    assert is_public(r"/static/(.*)$") and is_public(r"/login$")
    assert is_public(r"/octo/static/(.*)$", "/octo/")
    for private in (r"/files/(.*)$", r"/voila/files/(.*)$", r"/api$", r"/voila/render/(.*)$", r"/view(.*)$"):
        assert not is_public(private), private
    # Nothing on the public list can name a notebook, file, view or API route.
    assert not any(p.startswith(("/files", "/view", "/nbconvert", "/voila/render", "/voila/tree", "/voila/files",
                                 "/api/contents", "/api/kernels")) for p in PUBLIC_PATTERNS)


async def _exercise(provider) -> dict[str, object]:
    app = _app(provider)
    table = gate_routes(app)
    sock, port = bind_unused_port()
    server = HTTPServer(app)
    server.add_sockets([sock])
    client = AsyncHTTPClient()
    base = f"http://127.0.0.1:{port}"
    out: dict[str, object] = {"table": table}

    async def fetch(path, method="GET", user=None, body=None):
        headers = {"X-Test-User": user} if user else {}
        try:
            r = await client.fetch(base + path, method=method, headers=headers, body=body,
                                   follow_redirects=False, raise_error=False, request_timeout=5)
        except HTTPClientError as exc:  # pragma: no cover - raise_error=False
            return exc.code, {}, b""
        return r.code, r.headers, r.body

    try:
        out["files_anon"] = await fetch("/files/data.csv")
        out["files_user"] = await fetch("/files/data.csv", user="alice")
        out["api_anon"] = await fetch("/api")
        out["post_anon"] = await fetch("/files/x", method="POST", body=b"")
        out["licenses_anon"] = await fetch("/lab/api/licenses/")
        out["static_anon"] = await fetch("/static/app.js")
        from tornado.websocket import websocket_connect

        try:
            await websocket_connect(f"ws://127.0.0.1:{port}/ws")
            out["ws_anon"] = 101
        except HTTPClientError as exc:
            out["ws_anon"] = exc.code
        from tornado.httpclient import HTTPRequest

        conn = await websocket_connect(HTTPRequest(f"ws://127.0.0.1:{port}/ws", headers={"X-Test-User": "bob"}))
        out["ws_user"] = await conn.read_message()
        conn.close()
    finally:
        server.stop()
    return out


def test_gate_refuses_open_handlers_without_a_session():
    provider = FakeProvider()
    out = asyncio.run(_exercise(provider))
    code, headers, body = out["files_anon"]
    assert code == 302 and headers["Location"].startswith("/login?next=")
    assert headers[REFUSAL_HEADER] == "required" and b"secret" not in body
    assert out["files_user"][0] == 200 and out["files_user"][2] == b"secret data"
    assert out["api_anon"][0] == 403  # API paths get 403, not a redirect
    assert out["post_anon"][0] == 403
    assert out["licenses_anon"][0] == 403  # an overridden finish() does not hang the refusal
    assert out["static_anon"][0] == 200  # public asset
    assert out["ws_anon"] == 403
    assert out["ws_user"] == "hello" and provider.sockets == ["bob"]
    table = {r.pattern: r for r in out["table"]}
    assert table["/static/(.*)$"].public and not table["/files/(.*)$"].public and table["/ws$"].websocket


def test_gate_fails_closed_without_an_identity_provider():
    app = web.Application([(r"/files/(.*)", OpenHandler)], login_url="/login")
    gate_routes(app)

    async def go():
        sock, port = bind_unused_port()
        server = HTTPServer(app)
        server.add_sockets([sock])
        try:
            r = await AsyncHTTPClient().fetch(f"http://127.0.0.1:{port}/files/a", raise_error=False,
                                              follow_redirects=False)
            return r.code
        finally:
            server.stop()

    assert asyncio.run(go()) == 302


def test_gate_refuses_to_wrap_what_it_cannot_check():
    from tornado.routing import PathMatches, Rule

    app = web.Application([])
    app.wildcard_router.add_rules([Rule(PathMatches(r"/raw"), lambda request: None)])
    with pytest.raises(RuntimeError, match="cannot wrap"):
        gate_routes(app)


def test_kernel_cap_refuses_a_kernel_past_the_limit():
    from octolib.server.kernels import CappedKernelManager

    async def go():
        km = CappedKernelManager(max_kernels=1)
        first = await km.start_kernel(kernel_name="python3")
        try:
            with pytest.raises(web.HTTPError) as err:
                await km.start_kernel(kernel_name="python3")
            assert err.value.status_code == 503
            # Restarting an existing kernel id is not a new kernel and stays allowed.
            assert await km.start_kernel(kernel_id=first, kernel_name="python3") == first
            return len(km.list_kernel_ids())
        finally:
            await km.shutdown_all(now=True)

    assert asyncio.run(go()) == 1
