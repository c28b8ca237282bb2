"""The login gate on a real ``octo serve``: form, cookie, logout, forged and expired cookies.

One server for the module. Cookies are forged with the server's own secret (read from
its data folder) to prove that the server checks the times and the user in the payload,
not only the signature; a control case shows the forging harness itself is right.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
import requests
from tornado.web import create_signed_value

from octolib.server.testing import login, running_server, xsrf_token
from octolib.auth.users import open_user_store
from octolib.config import Settings

FIXTURES = Path(__file__).parent / "notebooks"
pytestmark = pytest.mark.slow  # starts a real server (~5-10 s)
USERS = {"alice": "Alice-Strong-Pass-1", "bob": "Bob-Strong-Pass-22", "carol": "Carol-Strong-Pass-3",
         "dave": "Dave-Strong-Pass-44"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("authsrv")
    nb_dir = root / "notebooks"
    nb_dir.mkdir()
    shutil.copy(FIXTURES / "hello_dashboard.ipynb", nb_dir)
    data_dir = root / "data"
    store = open_user_store(Settings(data_dir=data_dir))
    for name, password in USERS.items():
        store.create(name, password, full_name=name.title())
    store.close()
    # Lockout threshold out of the way of these tests (test_auth_timeouts covers lockout).
    with running_server(nb_dir, data_dir, env={"OCTO_LOCKOUT_ATTEMPTS": "50"}) as srv:
        yield srv


@pytest.fixture
def anon():
    return requests.Session()


def cookie_name(server) -> str:
    return f"octopus-username-127-0-0-1-{server.port}"


def signed_in(server, user: str = "alice", **kw) -> requests.Session:
    s = requests.Session()
    r = login(s, server.url, user, USERS[user], **kw)
    assert r.status_code == 302, r.text[:300]
    return s


def set_cookie_headers(resp: requests.Response) -> list[str]:
    return resp.raw.headers.getlist("Set-Cookie")


def forge(server, payload: dict, secret: bytes | None = None) -> str:
    value = create_signed_value(secret or server.cookie_secret(), cookie_name(server), json.dumps(payload))
    return value.decode()


def me_status(server, cookie_value: str) -> int:
    r = requests.get(server.url + "api/me", cookies={cookie_name(server): cookie_value}, timeout=10)
    return r.status_code


# -- the form ----------------------------------------------------------------------------

def test_login_page_carries_an_xsrf_token_and_is_not_cached(server, anon):
    r = anon.get(server.url + "login", timeout=10)
    assert r.status_code == 200
    assert 'name="_xsrf"' in r.text and 'name="username"' in r.text and 'type="password"' in r.text
    assert 'name="remember"' in r.text
    assert "no-store" in r.headers.get("Cache-Control", "")
    xsrf = [h for h in set_cookie_headers(r) if h.startswith("_xsrf=")]
    assert xsrf and "samesite=lax" in xsrf[0].lower()


def test_good_password_starts_a_session_with_a_safe_cookie(server):
    s = requests.Session()
    r = login(s, server.url, "alice", USERS["alice"])
    assert r.status_code == 302 and r.headers["Location"].endswith("/dashboards")
    (session_cookie,) = [h for h in set_cookie_headers(r) if h.startswith(cookie_name(server) + "=")]
    attrs = session_cookie.lower()
    assert "httponly" in attrs and "samesite=lax" in attrs and "path=/" in attrs
    assert "secure" not in attrs.replace("samesite", "")  # plain http here; --secure adds it
    assert "expires" not in attrs  # a browser-session cookie unless "keep me signed in"
    assert USERS["alice"] not in session_cookie
    me = s.get(server.url + "api/me", timeout=10)
    assert me.status_code == 200 and me.json()["identity"]["username"] == "alice"
    landing = s.get(server.url + "dashboards", timeout=10)
    assert landing.status_code == 200 and "voila/render/hello_dashboard.ipynb" in landing.text
    assert s.get(server.url + "lab", timeout=30).status_code == 200


def test_remember_me_makes_the_cookie_persistent_but_not_longer_than_the_idle_timeout(server):
    s = requests.Session()
    r = login(s, server.url, "bob", USERS["bob"], remember=True)
    (session_cookie,) = [h for h in set_cookie_headers(r) if h.startswith(cookie_name(server) + "=")]
    cookie = SimpleCookie()
    cookie.load(session_cookie)
    expires = cookie[cookie_name(server)]["expires"]
    from email.utils import parsedate_to_datetime

    lifetime = parsedate_to_datetime(expires).timestamp() - time.time()
    assert 25 * 60 < lifetime <= 30 * 60 + 5


@pytest.mark.parametrize("user,password", [("alice", "Wrong-Password-99"), ("nobody", "Whatever-Pass-1"),
                                           ("alice", ""), ("", "x"), ("a" * 5000, "x" * 5000)])
def test_bad_credentials_are_refused_with_one_message(server, user, password):
    s = requests.Session()
    r = login(s, server.url, user, password)
    assert r.status_code in (400, 401)
    assert cookie_name(server) not in s.cookies
    assert s.get(server.url + "api/me", timeout=10).status_code == 403
    if r.status_code == 401:
        assert "Invalid username or password." in r.text  # same text for unknown user and wrong password


def test_login_post_without_xsrf_is_refused(server, anon):
    # Neither the cookie nor the field: refused before the password is looked at.
    r = anon.post(server.url + "login", data={"username": "alice", "password": USERS["alice"]},
                  allow_redirects=False, timeout=10)
    assert r.status_code == 403
    # The cookie alone (a cross-site form would not know the token) is refused as well.
    xsrf_token(anon, server.url)
    r = anon.post(server.url + "login", data={"username": "alice", "password": USERS["alice"]},
                  allow_redirects=False, timeout=10)
    assert r.status_code == 403
    assert cookie_name(server) not in anon.cookies


def test_next_cannot_send_the_user_to_another_site(server):
    s = requests.Session()
    r = login(s, server.url, "alice", USERS["alice"], next_url="https://evil.example/steal")
    assert r.status_code == 302
    assert "evil.example" not in r.headers["Location"]


def test_tokens_are_not_a_way_in(server, anon):
    for params, headers in (({"token": ""}, {}), ({"token": "x"}, {}), ({}, {"Authorization": "token "}),
                            ({}, {"Authorization": "token abc"}), ({}, {"Authorization": "Bearer abc"})):
        r = anon.get(server.url + "api/contents", params=params, headers=headers, timeout=10)
        assert r.status_code == 403, (params, headers)
        r = anon.get(server.url + "lab", params=params, headers=headers, allow_redirects=False, timeout=10)
        assert r.status_code == 302 and "/login" in r.headers["Location"]


# -- logout ------------------------------------------------------------------------------

def test_logout_kills_the_session_even_for_a_copied_cookie(server):
    s = signed_in(server, "carol")
    stolen = s.cookies[cookie_name(server)]
    assert me_status(server, stolen) == 200
    r = s.get(server.url + "logout", timeout=10)
    assert r.status_code == 200 and "signed out" in r.text
    assert s.get(server.url + "api/me", timeout=10).status_code == 403
    # A copy of the cookie taken before the logout no longer works either.
    assert me_status(server, stolen) == 403
    page = requests.get(server.url + "voila/render/hello_dashboard.ipynb", allow_redirects=False,
                        cookies={cookie_name(server): stolen}, timeout=10)
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    # Signing in again works.
    assert signed_in(server, "carol").get(server.url + "api/me", timeout=10).status_code == 200


async def _open_then_logout(ws_url: str, cookie: str, do_logout) -> str | None:
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    conn = await websocket_connect(HTTPRequest(ws_url, headers={"Cookie": cookie}))
    await asyncio.get_running_loop().run_in_executor(None, do_logout)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        msg = await asyncio.wait_for(conn.read_message(), timeout=15)
        if msg is None:  # closed by the server
            return conn.close_reason
    conn.close()
    return "still open"


def test_logout_closes_the_users_open_websockets(server):
    s = signed_in(server, "dave")
    s.headers["X-XSRFToken"] = s.cookies["_xsrf"]
    kernel = s.post(server.url + "api/kernels", json={"name": "python3"}, timeout=60)
    assert kernel.status_code == 201, kernel.text[:300]
    kid = kernel.json()["id"]
    cookie = "; ".join(f"{c.name}={c.value}" for c in s.cookies)
    ws_url = server.url.replace("http://", "ws://") + f"api/kernels/{kid}/channels"
    try:
        reason = asyncio.run(_open_then_logout(ws_url, cookie, lambda: s.get(server.url + "logout", timeout=10)))
        assert reason == "signed out"
    finally:
        signed_in(server, "dave").delete(server.url + f"api/kernels/{kid}", timeout=30,
                                         headers={"X-XSRFToken": ""})


# -- forged and expired cookies -----------------------------------------------------------

def _payload(user: str = "alice", *, iat: float | None = None, last: float | None = None) -> dict:
    now = time.time()
    return {"u": user, "sid": "forged", "iat": now if iat is None else iat, "last": now if last is None else last,
            "rem": False}


def test_a_correctly_signed_fresh_cookie_is_accepted(server):
    # Control for the tests below: the forging harness makes cookies the server accepts.
    assert me_status(server, forge(server, _payload("bob"))) == 200


@pytest.mark.parametrize("make", [
    lambda srv: "garbage",
    lambda srv: forge(srv, _payload("alice"), secret=b"not-the-server-secret"),
    lambda srv: forge(srv, _payload("alice")).replace("|", "|x", 1),
    lambda srv: forge(srv, _payload("mallory")),                      # no such user
    lambda srv: forge(srv, {"u": "alice"}),                          # not our payload shape
    lambda srv: forge(srv, _payload("alice", last=time.time() + 3600)),  # from the future
], ids=["garbage", "wrong-secret", "tampered", "unknown-user", "bad-shape", "future"])
def test_forged_cookies_are_refused(server, make):
    assert me_status(server, make(server)) == 403


def test_expired_cookies_are_refused(server):
    now = time.time()
    idle = forge(server, _payload("alice", iat=now - 3600, last=now - 31 * 60))
    too_old = forge(server, _payload("alice", iat=now - 13 * 3600, last=now - 60))
    fresh_enough = forge(server, _payload("alice", iat=now - 3600, last=now - 29 * 60))
    assert me_status(server, idle) == 403
    assert me_status(server, too_old) == 403
    assert me_status(server, fresh_enough) == 200


def test_disabling_a_user_ends_their_session(server):
    s = signed_in(server, "bob")
    assert s.get(server.url + "api/me", timeout=10).status_code == 200
    store = open_user_store(Settings(data_dir=server.data_dir))
    try:
        store.set_active("bob", False, by="test")
        deadline = time.monotonic() + 10  # the server caches user state for 1 s
        while s.get(server.url + "api/me", timeout=10).status_code == 200:
            assert time.monotonic() < deadline, "disabled user still signed in"
            time.sleep(0.5)
        assert login(requests.Session(), server.url, "bob", USERS["bob"]).status_code == 401
    finally:
        store.set_active("bob", True, by="test")
        store.close()


def test_server_writes_the_audit_log_without_passwords(server):
    login(requests.Session(), server.url, "alice", "Definitely-Wrong-7")
    signed_in(server, "alice")
    store = open_user_store(Settings(data_dir=server.data_dir))
    try:
        events = list(store.audit_log.find({}, {"_id": 0}))
    finally:
        store.close()
    kinds = {e["event"] for e in events}
    assert {"login", "login_failed", "logout"} <= kinds
    assert all(e.get("client_ip") == "127.0.0.1" for e in events if e["event"] in ("login", "login_failed"))
    text = repr(events)
    assert "Definitely-Wrong-7" not in text
    assert not any(p in text for p in USERS.values())


def test_server_refuses_to_start_if_a_voila_json_reopens_voila_files(tmp_path):
    # Voilà reads voila.json from the working directory; one that allows images would let
    # /voila/files serve them (to signed-in users only, but still a way around JupyterLab's
    # file checks). The server must refuse to start rather than run like that.
    nb_dir = tmp_path / "nb"
    nb_dir.mkdir()
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "voila.json").write_text(json.dumps({"VoilaConfiguration": {"file_allowlist": [".*\\.png"]}}))
    with pytest.raises(RuntimeError, match="file_allowlist"):
        with running_server(nb_dir, data_dir, start_timeout_s=60):
            pass
