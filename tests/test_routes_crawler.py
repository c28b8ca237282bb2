"""Route crawler: nothing but the login page and static assets answers without a session.

Starts the real ``octo serve`` once for the module, reads the route table it registered
(every handler pattern of jupyter_server, JupyterLab, Voilà and anything else loaded),
fills in sample path parameters (real kernel, session and checkpoint ids, and the
fixture files: a notebook, a CSV, a PNG), and requests each URL without a cookie with
every HTTP method and as a websocket. Then it crawls again with a session to show that the
same routes work once signed in.

What must survive bad input: an attacker may hold a valid ``_xsrf`` token (the login page
hands one out), send destructive verbs, and guess real ids; none of it may get a 2xx or
a byte of the served files.
"""

from __future__ import annotations

import asyncio
import re
import re._parser as sre_parse  # the stdlib regex parser: generate a URL that a route accepts
import shutil
import struct
import zlib
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from octolib.server.testing import login, running_server, xsrf_token
from octolib.auth.users import open_user_store
from octolib.config import Settings

FIXTURES = Path(__file__).parent / "notebooks"
USER, PASSWORD = "crawler", "Crawl-All-The-Routes-1"

# The test's own list of what may answer 2xx without a session (static assets and the
# login/logout pages). It is written out here, not imported, so a server that widens its
# public list fails this test.
ALLOWED_PUBLIC = {
    r"/login", r"/logout",
    r"/static/(.*)", r"/(favicon\.ico)", r"/(robots\.txt)", r"/(robots\.txt|favicon\.ico)",
    r"/static/lab/(.*)", r"/lab/extensions/(.*)", r"/lab/api/themes/(.*)",
    r"/voila/static/(.*)", r"/voila/templates/(.*)", r"/voila/labextensions/(.*)", r"/voila/api/themes/(.*)",
}
MARKERS = {
    "notebook": b"octopus-fixture-notebook-marker",
    "csv": b"octopus-fixture-csv-marker",
    "png": b"octopus-fixture-png-marker",
    "nested": b"octopus-fixture-nested-marker",
}
FILES = ["hello_dashboard.ipynb", "data.csv", "chart.png", "sub/nested.csv"]
pytestmark = pytest.mark.slow  # starts a real server (~5-10 s)
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def _png_with_text(text: bytes) -> bytes:
    """A valid 1x1 PNG carrying ``text`` in a tEXt chunk."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00\xff\x00\x00")
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"tEXt", b"Comment\x00" + text)
            + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def make_served_folder(root: Path) -> Path:
    """The folder the server serves: the fixture dashboard plus a CSV, a PNG and a nested file."""
    nb_dir = root / "notebooks"
    (nb_dir / "sub").mkdir(parents=True)
    shutil.copy(FIXTURES / "hello_dashboard.ipynb", nb_dir / "hello_dashboard.ipynb")
    (nb_dir / "data.csv").write_bytes(b"campaign,opens\n" + MARKERS["csv"] + b",42\n")
    (nb_dir / "chart.png").write_bytes(_png_with_text(MARKERS["png"]))
    (nb_dir / "sub" / "nested.csv").write_bytes(b"x\n" + MARKERS["nested"] + b"\n")
    return nb_dir


# -- sample URLs from route regexes ------------------------------------------------------

def _gen(items, overrides: dict[int, str]) -> str:
    out = []
    for op, av in items:
        name = str(op)
        if name == "LITERAL":
            out.append(chr(av))
        elif name in ("NOT_LITERAL", "ANY"):
            out.append("x")
        elif name == "IN":
            out.append(_gen_in(av))
        elif name == "SUBPATTERN":
            group, _, _, sub = av
            out.append(overrides[group] if group in overrides else _gen(sub, overrides))
        elif name == "BRANCH":
            out.append(_gen(av[1][0], overrides))
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            lo, _hi, sub = av
            out.append(_gen(sub, overrides) * max(lo, 1))
        # AT (anchors), GROUPREF and lookarounds add nothing
    return "".join(out)


def _gen_in(av) -> str:
    for op, val in av:
        name = str(op)
        if name == "NEGATE":
            return "x"
        if name == "LITERAL":
            return chr(val)
        if name == "RANGE":
            return chr(val[0])
        if name == "CATEGORY":
            return "1" if "DIGIT" in str(val) else ("a" if "WORD" in str(val) or "NOT_SPACE" in str(val) else " ")
    return "x"


def sample_urls(pattern: str, named: dict[str, str]) -> list[str]:
    """URLs that ``pattern`` accepts, one per fixture file where the route takes a path."""
    parsed = sre_parse.parse(pattern)
    groups = parsed.state.groupdict  # name -> index
    index_to_name = {i: n for n, i in groups.items()}
    n_groups = parsed.state.groups - 1
    urls: list[str] = []
    for f in FILES + [""]:
        overrides: dict[int, str] = {}
        for i in range(1, n_groups + 1):
            name = index_to_name.get(i)
            if name in ("path",):
                overrides[i] = "/" + f if f else ""
            elif name == "tree":
                overrides[i] = "/tree/" + f
            elif name in named:
                overrides[i] = named[name]
            elif name is None:
                overrides[i] = f
        candidate = _gen(parsed, overrides)
        if not re.fullmatch(pattern, candidate):
            # Drop overrides one by one until the route accepts the URL.
            for i in list(overrides):
                overrides.pop(i)
                candidate = _gen(parsed, overrides)
                if re.fullmatch(pattern, candidate):
                    break
        if re.fullmatch(pattern, candidate):
            if not candidate.startswith("/"):  # the catch-all "(.*)" route
                candidate = "/" + candidate
            if candidate not in urls:
                urls.append(candidate)
    assert urls, f"could not build a URL for route {pattern!r}"
    return urls


def _strip(pattern: str) -> str:
    return pattern[:-1] if pattern.endswith("$") else pattern


# -- the server --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("crawl")
    nb_dir = make_served_folder(root)
    data_dir = root / "data"
    users = open_user_store(Settings(data_dir=data_dir))
    users.create(USER, PASSWORD, full_name="Route Crawler")
    users.close()
    # A high lockout threshold: the crawler must not lock out 127.0.0.1 for other tests.
    with running_server(nb_dir, data_dir, env={"OCTO_LOCKOUT_ATTEMPTS": "50"}) as srv:
        yield srv


@pytest.fixture(scope="module")
def signed_in(server):
    s = requests.Session()
    r = login(s, server.url, USER, PASSWORD)
    assert r.status_code == 302, r.text[:500]
    s.headers["Referer"] = server.url  # what a browser sends for same-origin requests
    s.headers["X-XSRFToken"] = s.cookies.get("_xsrf", "")
    return s


@pytest.fixture(scope="module")
def live_ids(server, signed_in):
    """Real kernel, session and checkpoint ids, so a leaking route would answer 200, not 404."""
    r = signed_in.post(server.url + "api/sessions", json={
        "path": "hello_dashboard.ipynb", "type": "notebook", "name": "", "kernel": {"name": "python3"}}, timeout=60)
    assert r.status_code == 201, r.text[:500]
    sess = r.json()
    cp = signed_in.post(server.url + "api/contents/hello_dashboard.ipynb/checkpoints", timeout=30)
    assert cp.status_code == 201, cp.text[:500]
    ids = {"kernel_id": sess["kernel"]["id"], "session_id": sess["id"], "checkpoint_id": cp.json()["id"]}
    yield ids
    signed_in.delete(server.url + f"api/sessions/{ids['session_id']}", timeout=30)


@pytest.fixture(scope="module")
def crawl_targets(server, live_ids):
    named = dict(live_ids, section_name="notebook", kernel_name="python3", format="html", action="restart",
                 schema_name="@jupyterlab/apputils-extension:themes", space_name="default", locale="en",
                 language_server="pylsp", mode="lab", workspace="")
    targets = []
    for route in server.routes():
        pattern = route["pattern"]
        if pattern.startswith("<"):  # a non-path matcher; gate_routes would have refused to start
            pytest.fail(f"route with a non-path matcher: {route}")
        targets.append((route, sample_urls(pattern, named)))
    return targets


def test_route_table_is_complete(server, crawl_targets):
    patterns = {_strip(r["pattern"]) for r, _ in crawl_targets}
    # The table covers the server, JupyterLab, Voilà and our pages...
    for expected in ("/api/contents(?P<path>(?:(?:/[^/]+)+|/?))", "/files/(.*)", "/view(?P<path>(?:(?:/[^/]+)+|/?))",
                     "/voila/render/(.*)", "/voila/files/(.*)", "/voila/tree(?P<path>(?:(?:/[^/]+)+|/?))",
                     "/api/kernels/(?P<kernel_id>\\w+-\\w+-\\w+-\\w+-\\w+)/channels", "/dashboards",
                     "/api", "/login", "/logout"):
        assert expected in patterns, expected
    # ...and the server's public list is no wider than this test's.
    served_public = {_strip(r["pattern"]) for r, _ in crawl_targets if r["public"]}
    assert served_public <= ALLOWED_PUBLIC, served_public - ALLOWED_PUBLIC
    assert len(crawl_targets) > 50


def _leaks(body: bytes) -> list[str]:
    return [k for k, m in MARKERS.items() if m in body]


def test_nothing_answers_without_a_session(server, crawl_targets):
    anon = requests.Session()
    token = xsrf_token(anon, server.url)  # an attacker can get a token too
    anon.headers["X-XSRFToken"] = token
    failures: list[str] = []
    checked = 0
    for route, urls in crawl_targets:
        public = _strip(route["pattern"]) in ALLOWED_PUBLIC
        for i, path in enumerate(urls):
            for method in (METHODS if i == 0 else ["GET"]):
                try:
                    r = anon.request(method, server.url.rstrip("/") + path, allow_redirects=False, timeout=20,
                                     data=b"{}" if method in ("POST", "PUT", "PATCH") else None)
                except requests.RequestException as exc:
                    failures.append(f"{method} {path}: no answer ({exc.__class__.__name__})")
                    continue
                checked += 1
                where = f"{method} {path} [{route['handler']}] -> {r.status_code}"
                if _leaks(r.content):
                    failures.append(f"{where}: served fixture content {_leaks(r.content)}")
                if 200 <= r.status_code < 300 and not public:
                    failures.append(f"{where}: answered without a session")
                if 300 <= r.status_code < 400:
                    location = urlsplit(r.headers.get("Location", "")).path
                    if not location.endswith("/login"):
                        failures.append(f"{where}: redirects to {location!r}, not the login page")
    assert checked > 300
    assert not failures, "\n".join(failures)


def test_files_never_leave_without_a_session_whatever_the_path(server):
    # Encoded traversal and alternate spellings land on the gate too, or on a 404.
    anon = requests.Session()
    for path in ("/files/data.csv", "/files/chart.png", "/files/sub/nested.csv", "/voila/files/chart.png",
                 "/view/chart.png", "/nbconvert/html/hello_dashboard.ipynb", "/api/contents/data.csv",
                 "/static/..%2Fdata.csv", "/voila/static/..%2F..%2Fdata.csv", "/voila/templates/%2E%2E/data.csv",
                 "/lab/extensions/..%2F..%2Fdata.csv", "/files/./data.csv", "//files/data.csv",
                 "/FILES/data.csv", "/files/data.csv?download=1"):
        r = anon.get(server.url.rstrip("/") + path, allow_redirects=False, timeout=20)
        assert not _leaks(r.content), f"{path} leaked {_leaks(r.content)} ({r.status_code})"
        assert not (200 <= r.status_code < 300), f"{path} -> {r.status_code}"


def test_static_assets_and_login_page_stay_public(server):
    anon = requests.Session()
    assert anon.get(server.url + "login", timeout=10).status_code == 200
    assert anon.get(server.url + "static/favicons/favicon.ico", timeout=10).status_code == 200
    assert anon.get(server.url + "favicon.ico", timeout=10).status_code == 200


async def _ws_status(url: str, cookie: str | None) -> int:
    from tornado.httpclient import HTTPClientError, HTTPRequest
    from tornado.websocket import websocket_connect

    headers = {"Cookie": cookie} if cookie else {}
    try:
        conn = await asyncio.wait_for(websocket_connect(HTTPRequest(url, headers=headers)), timeout=20)
    except HTTPClientError as exc:
        return exc.code
    conn.close()
    return 101


def test_websockets_refuse_without_a_session_and_open_with_one(server, crawl_targets, signed_in):
    ws_routes = [(r, urls) for r, urls in crawl_targets if r["websocket"]]
    assert any("channels" in r["pattern"] for r, _ in ws_routes)
    ws_base = server.url.replace("http://", "ws://").rstrip("/")
    cookie = "; ".join(f"{c.name}={c.value}" for c in signed_in.cookies)
    for route, urls in ws_routes:
        status = asyncio.run(_ws_status(ws_base + urls[0], None))
        assert status in (302, 403), f"{urls[0]} websocket without session -> {status}"
    channels = next(urls[0] for r, urls in ws_routes if "channels" in r["pattern"])
    assert asyncio.run(_ws_status(ws_base + channels, cookie)) == 101


def test_destructive_verbs_without_a_session_changed_nothing(server, signed_in, live_ids, crawl_targets):
    # Runs after the anonymous crawl sent DELETE/POST to every route: the kernel, the
    # session, the checkpoint and the files are all still there, and the server is up.
    assert signed_in.get(server.url + f"api/kernels/{live_ids['kernel_id']}", timeout=20).status_code == 200
    assert signed_in.get(server.url + f"api/sessions/{live_ids['session_id']}", timeout=20).status_code == 200
    for name in FILES:
        assert (server.notebooks_dir / name).exists(), name


def test_the_same_routes_work_with_a_session(server, signed_in, crawl_targets):
    refused: list[str] = []
    statuses: dict[str, int] = {}
    for route, urls in crawl_targets:
        if _strip(route["pattern"]) in ("/logout",):
            continue  # would end the crawler's session
        for path in urls:
            if path.startswith("/voila/render/") and not path.endswith(".ipynb"):
                continue
            r = signed_in.get(server.url.rstrip("/") + path, allow_redirects=False, timeout=60, stream=True)
            statuses[path] = r.status_code
            location = urlsplit(r.headers.get("Location", "")).path
            if "X-Octopus-Login" in r.headers or location.endswith("/login"):
                refused.append(f"GET {path} [{route['handler']}] -> {r.status_code} {location}")
            r.close()
    assert not refused, "\n".join(refused)
    errors = {path: code for path, code in statuses.items() if code >= 500}
    assert not errors, errors  # a path a route does not serve is a 4xx, never a 500
    # The product's pages and the file APIs answer 200 once signed in.
    for path in ("/dashboards", "/lab", "/lsp/status", "/api", "/voila/tree", "/api/spec.yaml",
                 "/kernelspecs/python3/logo-64x64.png"):
        if path not in statuses:
            statuses[path] = signed_in.get(server.url.rstrip("/") + path, allow_redirects=False, timeout=60).status_code
    print("\n".join(f"{code} {path}" for path, code in sorted(statuses.items())))
    for path in ("/dashboards", "/lab", "/lsp/status", "/lab/tree/hello_dashboard.ipynb",
                 "/voila/render/hello_dashboard.ipynb",
                 "/api/contents", "/api/contents/hello_dashboard.ipynb", "/api/kernels", "/api/me", "/api",
                 "/files/data.csv", "/files/chart.png", "/view/chart.png", "/voila/tree",
                 "/nbconvert/html/hello_dashboard.ipynb", "/api/spec.yaml", "/kernelspecs/python3/logo-64x64.png"):
        assert statuses.get(path) == 200, f"{path} -> {statuses.get(path)}"
    # Voilà's own file route stays closed to everyone (file_allowlist = []).
    assert statuses.get("/voila/files/chart.png") == 403


def test_every_route_is_in_the_table_and_only_template_statics_are_public_under_templates(server, signed_in):
    routes = {_strip(r["pattern"]): r for r in server.routes()}
    # The product's own late route (plotly's bundle) is registered before the gate wraps the
    # table, so it is in it, and it needs a session.
    plotly = [r for p, r in routes.items() if "plotly-widget" in p]
    assert plotly and not plotly[0]["public"], plotly
    anon = requests.Session()
    assert anon.get(server.url + "octopus/plotly-widget.js", allow_redirects=False, timeout=20).status_code == 302
    assert signed_in.get(server.url + "octopus/plotly-widget.js", timeout=60).status_code == 200
    # Under /voila/templates/ only <template>/static/<file> answers without a session...
    ok = "voila/templates/octopus/static/page-watch.js"
    assert anon.get(server.url + ok, timeout=20).status_code == 200
    assert anon.get(server.url + "voila/templates/lab/static/nope.js", timeout=20).status_code == 404
    # ...any other shape needs a session, and is then a 404: never a 500 and a traceback.
    odd = ["voila/templates/nope", "voila/templates/octopus/foo", "voila/templates/octopus/index.html.j2",
           "voila/templates/octopus/conf.json", "voila/templates/octopus/static/", "voila/templates/",
           "voila/templates/octopus/static/..%2F..%2Fconf.json", "voila/templates/%2E%2E/static/x.js",
           "voila/templates/octopus//static/x.js"]
    for path in odd:
        r = anon.get(server.url + path, allow_redirects=False, timeout=20)
        assert r.status_code in (302, 403, 404), f"anonymous {path} -> {r.status_code}"
        assert r.status_code != 302 or urlsplit(r.headers["Location"]).path.endswith("/login"), path
        r = signed_in.get(server.url + path, allow_redirects=False, timeout=20)
        assert r.status_code == 404, f"signed in {path} -> {r.status_code}"
    # An unknown path is a 404 for a signed-in user (the login page for anyone else).
    assert signed_in.get(server.url + "no/such/page", allow_redirects=False, timeout=20).status_code == 404
    assert "Uncaught exception" not in server.log_text()


def test_a_route_added_after_the_gate_is_installed_needs_a_session():
    """Default deny for routes an extension adds once the server runs (over a real socket)."""
    from tornado import web
    from tornado.httpclient import AsyncHTTPClient
    from tornado.httpserver import HTTPServer
    from tornado.testing import bind_unused_port

    from octolib.auth.gate import REFUSAL_HEADER, install_gate

    class Provider:
        def get_user(self, handler):
            return "someone" if handler.request.headers.get("X-Test-User") else None

    class Early(web.RequestHandler):
        def get(self):
            self.write("early")

    class Late(web.RequestHandler):
        def get(self):
            self.write("late")

    async def scenario() -> dict[str, tuple[int, str]]:
        app = web.Application([(r"/early", Early)], identity_provider=Provider(), base_url="/")
        table = install_gate(app, "/")
        assert [r.public for r in table] == [False]
        app.add_handlers(".*$", [(r"/late", Late)])  # after the gate, like a late extension
        sock, port = bind_unused_port()
        server = HTTPServer(app)
        server.add_sockets([sock])
        client = AsyncHTTPClient()
        out = {}
        try:
            for path in ("/early", "/late"):
                for who, headers in (("anon", {}), ("user", {"X-Test-User": "1"})):
                    r = await client.fetch(f"http://127.0.0.1:{port}{path}", headers=headers,
                                           follow_redirects=False, raise_error=False)
                    out[f"{who} {path}"] = (r.code, r.headers.get(REFUSAL_HEADER, ""), r.body.decode())
        finally:
            server.stop()
        return out

    out = asyncio.run(scenario())
    assert out["anon /early"][:2] == (302, "required") and out["anon /late"][:2] == (302, "required"), out
    assert out["user /early"][0] == 200 and out["user /late"] == (200, "", "late"), out
