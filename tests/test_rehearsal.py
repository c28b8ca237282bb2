"""The production rehearsal: docs/deploy.md followed on this machine, from a wheel, behind TLS.

1. ``pip wheel --no-deps`` of (a copy of) the repository; a new virtual environment outside
   the repository; the wheel installed into it (dependencies from the pip cache, pinned to
   this environment's versions so the resolver has nothing to search).
2. From a folder that is not the repository, with that environment's ``octo`` only:
   ``init-db``, ``user create --from-env``, ``fake-api`` in the background and ``sync``
   against it, ``report --import-partners`` and ``report --all`` (each PDF has its charts).
3. ``octo serve`` with the ExecStart arguments of ``deploy/octopus-serve.service``, behind a
   real nginx running ``deploy/nginx.conf`` (placeholders filled in) with a self-signed
   certificate made here; nginx runs unprivileged-style, everything under tmp.
4. Headless Chromium over https: sign in, the landing page, two dashboards whose widgets
   react (the kernel answers over a websocket through nginx), a template edited through
   JupyterLab's contents API, sign out. A new ``octo report`` then shows the edit in its PDF.

Each step and its wall time is printed as it ends (on the terminal, even under capture).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import nbformat
import pytest
from test_deploy_files import adapt_nginx_site, nginx_prefix, self_signed

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
USER, PASSWORD = "alice", "Rehearsal-Pass-2026"
MARKER = "Rehearsal edit made in JupyterLab: marker 5150."
PERIOD = ("2026-01-01", "2026-10-31")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-quic"]
WAIT_S = 120.0  # a page or server not ready after this long is broken, not slow
_IGNORE = shutil.ignore_patterns(".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache",
                                 ".ipynb_checkpoints")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check: Callable[[], bool], what: str, timeout_s: float = WAIT_S,
             alive: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if alive is not None and alive.poll() is not None:
            raise AssertionError(f"{what}: the process exited with {alive.returncode}")
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{what}: not ready after {timeout_s:.0f} s")


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status < 500
    except urllib.error.HTTPError as exc:
        return exc.code < 500


class Rehearsal:
    """The folders, environment and background processes of one rehearsal."""

    def __init__(self, tmp: Path, say: Callable[[str], None]) -> None:
        self.tmp, self.say = tmp, say
        self.venv = tmp / "octopus-venv"
        self.site = tmp / "site"  # where the operator stands: not the repository
        self.site.mkdir()
        self.data = self.site / "data"
        self.procs: list[subprocess.Popen] = []
        self.started = time.monotonic()
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("OCTO_", "OCTOPUS_", "JUPYTER", "VIRTUAL_ENV", "PYTHON", "BROWSER_PATH"))}
        self.env.update(PATH=f"{self.venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
                        HOME=str(tmp / "home"), OCTO_DATA_DIR=str(self.data), OCTO_RATE_PER_S="1000",
                        OCTO_RATE_BURST="1000", OCTO_TIMEZONE="Europe/London")
        (tmp / "home").mkdir()

    @contextmanager
    def step(self, what: str) -> Iterator[None]:
        t0 = time.monotonic()
        yield
        self.say(f"rehearsal: {what:<62} {time.monotonic() - t0:6.1f} s  (total {time.monotonic() - self.started:6.1f} s)")

    @property
    def octo(self) -> str:
        return str(self.venv / "bin" / "octo")

    def run(self, *argv: str, env: dict[str, str] | None = None, timeout: float = 900) -> str:
        proc = subprocess.run([*argv], cwd=self.site, env={**self.env, **(env or {})}, capture_output=True,
                              text=True, timeout=timeout)
        assert proc.returncode == 0, f"{shlex.join(argv)} exited {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        return proc.stdout

    def background(self, argv: list[str], log: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        out = open(self.tmp / log, "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(argv, cwd=self.site, env={**self.env, **(env or {})}, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in reversed(self.procs):  # our own process groups only (server + its kernels)
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                    proc.wait(timeout=30)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    try:
                        os.killpg(proc.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    proc.wait(timeout=10)


def pdf_text_and_images(path: Path) -> tuple[str, int]:
    import pypdf

    reader = pypdf.PdfReader(path)
    text = " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)
    return text, sum(len(page.images) for page in reader.pages)


def open_dashboard(r: Rehearsal, page, url: str, ready: str) -> None:  # noqa: ANN001 - playwright's Page
    """Open ``url`` and wait for ``ready`` (a selector). A page not ready after WAIT_S is
    reloaded once, loudly (Voilà's render stall, STACK_NOTES §3, as tests/test_login_browser.py
    does); a screenshot of the stuck page is kept next to the logs."""
    page.goto(url)
    try:
        page.wait_for_selector(ready, state="visible")
    except Exception:  # noqa: BLE001 - playwright's TimeoutError; the second try decides
        shot = r.tmp / f"stuck-{urlsplit(url).path.rsplit('/', 1)[-1]}.png"
        page.screenshot(path=str(shot))
        r.say(f"rehearsal: {url} not ready after {WAIT_S:.0f} s (screenshot {shot}); reloading once")
        page.goto(url)
        page.wait_for_selector(ready, state="visible")


def plotly_state(page) -> str:
    """What the page's charts currently show (their data), to see a widget change them."""
    return page.evaluate("() => JSON.stringify(Array.from(document.querySelectorAll('.js-plotly-plot'))"
                         ".map(g => g.data || null))")


@pytest.mark.timeout(2400)
def test_the_deployment_guide_end_to_end(tmp_path, capsys):
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if not nginx or not CHROMIUM:
        pytest.skip("the rehearsal needs nginx and chromium (Debian: apt-get install nginx chromium; .ci/run does)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")

    def say(line: str) -> None:
        with capsys.disabled():
            print(line, flush=True)

    r = Rehearsal(tmp_path, say)
    try:
        _rehearse(r, sync_api)
    finally:
        r.stop_all()
        say(f"rehearsal: done in {time.monotonic() - r.started:.1f} s; logs in {tmp_path}")


def _rehearse(r: Rehearsal, sync_api) -> None:  # noqa: ANN001 - playwright's module
    # 1. The package: a wheel, a fresh environment outside the repository.
    with r.step("pip wheel --no-deps (a copy of the repository)"):
        source = r.tmp / "source"
        shutil.copytree(ROOT, source, symlinks=True, ignore=_IGNORE)
        subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(r.tmp / "wheels"),
                        str(source)], check=True, capture_output=True, text=True, timeout=600)
        (wheel,) = (r.tmp / "wheels").glob("octolib-*.whl")
        shutil.rmtree(source)
    with r.step("python -m venv + pip install the wheel (pinned, pip cache)"):
        constraints = r.tmp / "constraints.txt"
        frozen = subprocess.run([sys.executable, "-m", "pip", "freeze", "--exclude-editable"], check=True,
                                capture_output=True, text=True).stdout
        constraints.write_text("".join(line + "\n" for line in frozen.splitlines()
                                       if line and not line.lower().startswith("octolib")))
        subprocess.run([sys.executable, "-m", "venv", str(r.venv)], check=True, timeout=300)
        pip = subprocess.run([str(r.venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-compile",
                              "--disable-pip-version-check", "-c", str(constraints), str(wheel)],
                             capture_output=True, text=True, timeout=1800)
        assert pip.returncode == 0, pip.stderr[-3000:]
    where = r.run(str(r.venv / "bin" / "python"), "-c",
                  "import octolib, octolib.workspace as w; print(octolib.__file__); "
                  "print(len(list(w.PACKAGED_DASHBOARDS.glob('*.ipynb'))), len(list(w.PACKAGED_TEMPLATES.glob('*.ipynb'))))")
    module, counts = where.strip().splitlines()
    assert module.startswith(str(r.venv)) and not module.startswith(str(ROOT)), module
    assert counts == f"{len(list((ROOT / 'notebooks').glob('*.ipynb')))} {len(list((ROOT / 'report_notebooks').glob('*.ipynb')))}"

    # 2. The data and the reports, from the operator's folder.
    with r.step("octo init-db; octo user create --from-env"):
        r.run(r.octo, "init-db")
        r.run(r.octo, "user", "create", "--from-env", env={"OCTOPUS_USERNAME": USER, "OCTOPUS_PASSWORD": PASSWORD})
    with r.step("octo fake-api (background); octo sync"):
        api_port = free_port()
        r.background([r.octo, "fake-api", "--port", str(api_port), "--size", "small", "--rate-per-s", "1000",
                      "--burst", "1000"], "fake-api.log")
        api = f"http://127.0.0.1:{api_port}"
        wait_for(lambda: socket.create_connection(("127.0.0.1", api_port), timeout=2).close() is None, "fake-api")
        from octolib.fake import DEMO_API_KEY

        r.env.update({"OCTO_API_BASE": api, "OCTO_API_KEY": DEMO_API_KEY})
        r.run(r.octo, "sync", "--no-progress")
    with r.step("octo report --import-partners; octo report --all"):
        # A partner's lists are exactly its list_ids (issue 16): name one, so the list report
        # has a list to chart.
        ask = urllib.request.Request(f"{api}/lists", headers={"Authorization": f"Bearer {DEMO_API_KEY}"})
        with urllib.request.urlopen(ask, timeout=30) as answer:
            list_id = json.load(answer)["data"][0]["id"]
        (r.site / "partners.yml").write_text(
            "partners:\n"
            "  - slug: rehearsal\n    name: Rehearsal Partner\n    campaigns:\n      name_pattern: \".\"\n"
            f"      list_ids: [\"{list_id}\"]\n"
            f"    default_range: {{from: {PERIOD[0]}, to: {PERIOD[1]}}}\n")
        r.run(r.octo, "report", "--import-partners", "partners.yml")
        r.run(r.octo, "report", "--all", "--no-progress")
    pdfs = sorted(r.data.rglob("*.pdf"))
    assert len(pdfs) == 3, pdfs
    for pdf in pdfs:
        text, images = pdf_text_and_images(pdf)
        assert images >= 1 and "Rehearsal Partner" in text, (pdf, images)
        assert "chart missing" not in text.lower()

    _serve_and_browse(r, sync_api)


def _serve_and_browse(r: Rehearsal, sync_api) -> None:  # noqa: ANN001 - playwright's module
    # 3. The server as the unit runs it, behind nginx with TLS.
    serve_port, http_port, https_port = free_port(), free_port(), free_port()
    unit = (ROOT / "deploy" / "octopus-serve.service").read_text()
    exec_start = shlex.split(re.search(r"^ExecStart=(.+)$", unit, re.M).group(1))
    assert exec_start[0] == "/opt/octopus/.venv/bin/octo" and "8866" in exec_start
    argv = [r.octo, *[str(serve_port) if a == "8866" else a for a in exec_start[1:]]]
    with r.step("octo serve (the unit's ExecStart) + nginx (deploy/nginx.conf, TLS)"):
        server = r.background(argv, "serve.log")
        cert, key = self_signed(r.tmp)
        site = adapt_nginx_site((ROOT / "deploy" / "nginx.conf").read_text(), server_name="localhost",
                                http_port=http_port, https_port=https_port, upstream_port=serve_port,
                                cert=cert, key=key, webroot=r.tmp)
        prefix = nginx_prefix(r.tmp / "nginx", site)
        subprocess.run(prefix + ["-t"], check=True, capture_output=True)
        r.background(prefix + ["-g", "daemon off;"], "nginx.log")
        wait_for(lambda: answers(f"http://127.0.0.1:{serve_port}/login"), "octo serve", alive=server)
    base = f"https://localhost:{https_port}"
    redirect = http.client.HTTPConnection("127.0.0.1", http_port, timeout=10)
    redirect.request("GET", "/dashboards", headers={"Host": "localhost"})
    answer = redirect.getresponse()
    assert answer.status == 301 and answer.getheader("Location") == "https://localhost/dashboards"
    insecure = ssl.create_default_context(cafile=str(cert))
    with urllib.request.urlopen(f"{base}/login", context=insecure, timeout=30) as resp:
        assert resp.status == 200 and resp.headers["Strict-Transport-Security"]

    # 4. An analyst in a browser, over https only.
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            _browse(r, browser, base)
        finally:
            browser.close()
    access = (r.tmp / "nginx" / "access.log").read_text()
    upgrades = [line for line in access.splitlines() if "/channels" in line and '" 101 ' in line]
    assert upgrades, "no kernel websocket went through nginx (no 101 in its access log)"
    r.say(f"rehearsal: {len(upgrades)} kernel websocket(s) upgraded through nginx")

    with r.step("octo report (after the edit in JupyterLab)"):
        r.run(r.octo, "report", "--partner", "rehearsal", "--template", "campaign_summary")
    newest = max(r.data.rglob("campaign_summary.pdf"), key=lambda p: p.stat().st_mtime)
    text, images = pdf_text_and_images(newest)
    assert MARKER in text and images >= 1


def _browse(r: Rehearsal, browser, base: str) -> None:  # noqa: ANN001 - playwright's Browser
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 1280, "height": 1000})
    # A dashboard page streams while its cells run: on a loaded machine, while the pools
    # pre-render every notebook, the first one took 31 s to finish loading.
    context.set_default_timeout(WAIT_S * 1000)
    context.set_default_navigation_timeout(WAIT_S * 1000)
    page = context.new_page()
    with r.step("browser: sign in over https"):
        page.goto(f"{base}/dashboards")
        assert "/login" in page.url and page.url.startswith("https://")
        page.fill("#username", USER)
        page.fill("#password", PASSWORD)
        page.click("#login_submit")
        page.wait_for_url(lambda url: urlsplit(url).path == "/dashboards")  # not /login?next=/dashboards
        cookies = {c["name"]: c for c in context.cookies()}
        assert cookies["_xsrf"]["secure"], "behind TLS (--secure) the cookies must be Secure"
        links = page.locator("a.dashboard-link")
        hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
        assert any(h.endswith("campaigns.ipynb") for h in hrefs), hrefs
        assert not any("_report_templates" in h for h in hrefs), "templates are not dashboards"

    with r.step("browser: Campaigns dashboard, the Status filter changes the table"):
        open_dashboard(r, page, f"{base}/voila/render/campaigns.ipynb", "table.octo-table")
        table = page.locator("table.octo-table").first
        before = int(table.get_attribute("data-rows"))
        page.get_by_label("Status", exact=True).select_option(label="Draft")
        page.wait_for_function("n => { const t = document.querySelector('table.octo-table');"
                               " return t && Number(t.dataset.rows) !== n; }", arg=before, timeout=WAIT_S * 1000)
        assert 0 < int(page.locator("table.octo-table").first.get_attribute("data-rows")) < before

    with r.step("browser: Engagement dashboard, Opens -> Clicks redraws the charts"):
        open_dashboard(r, page, f"{base}/voila/render/engagement.ipynb", ".js-plotly-plot .main-svg")
        shown = plotly_state(page)
        page.get_by_role("button", name="Clicks", exact=True).click()
        page.wait_for_function("s => JSON.stringify(Array.from(document.querySelectorAll('.js-plotly-plot'))"
                               ".map(g => g.data || null)) !== s", arg=shown, timeout=WAIT_S * 1000)

    with r.step("browser: edit a report template through JupyterLab's contents API"):
        listing = page.request.get(f"{base}/api/contents")
        assert listing.ok, listing.status
        names = {item["name"] for item in listing.json()["content"]}
        assert {"_report_templates", "campaigns.ipynb", "engagement.ipynb"} <= names, names
        path = "_report_templates/campaign_summary.ipynb"
        model = page.request.get(f"{base}/api/contents/{path}?content=1").json()
        nb = nbformat.from_dict(model["content"])
        cell = next(c for c in nb.cells if c.cell_type == "code" and "kit.build(ctx)" in c.source)
        cell.source += f"\nreport.narrative.append({MARKER!r})"
        xsrf = {c["name"]: c["value"] for c in context.cookies()}["_xsrf"]
        saved = page.request.put(f"{base}/api/contents/{path}", headers={"X-XSRFToken": xsrf},
                                 data=json.dumps({"type": "notebook", "format": "json", "content": nb}))
        assert saved.ok, (saved.status, saved.text()[:300])
        assert MARKER in (r.data / "workspace" / path).read_text()

    with r.step("browser: sign out"):
        page.goto(f"{base}/dashboards")
        page.click("#logout")
        page.get_by_text("You are signed out.").wait_for(timeout=WAIT_S * 1000)
        page.goto(f"{base}/voila/render/campaigns.ipynb")
        assert "/login" in page.url
    context.close()
