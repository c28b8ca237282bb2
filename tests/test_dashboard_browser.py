"""Every dashboard in headless Chromium, served the way ``octo serve`` serves them (one
Jupyter server, Voilà with pre-started kernels, behind the login).

* each page is loaded ``LOADS`` times (3; ``OCTO_BROWSER_LOADS=20`` for a heavier run by
  hand): it must finish every time (no render stall), draw its charts, and show no error
  output (uncaught page errors are printed). The second and third loads take kernels the pool
  refilled; then two tabs open the same page at once, so one of them takes a kernel the
  pool is still starting (the back-to-back case two analysts make);
* a filter change on the Campaigns page changes the table; its CSV button downloads the
  rows as filtered; the campaign page follows its URL;
* no request leaves 127.0.0.1 (no CDN: fonts, icons, plotly.js, MathJax all local);
* closing pages shuts their kernels (Voilà's unload beacon, with the XSRF cookie).

Screenshots of every page go to the test's temporary folder; their paths are printed
(``pytest -s``). Chromium is Debian's (installed here when missing and we are root);
Playwright drives it, never ``playwright install``.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

from octolib.dashboards.testing import add_user, sync_fake_account
from octolib.server.testing import browser_sign_in, running_server

pytestmark = pytest.mark.slow

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
USER, PASSWORD = "analyst", "Browser-Dash-Pass-8"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-quic"]
# Three loads per page exercise the pool's refill (the second and third take refilled kernels);
# the render stall this guards against was seen about once in 10-20 loads, which the
# heavier run by hand (OCTO_BROWSER_LOADS=20) is for.
LOADS = int(os.environ.get("OCTO_BROWSER_LOADS", "3"))
# A page not ready after this long is a stall. Ready pages take 1-3 s on a quiet machine, but
# on a loaded 2-core CI machine the pools re-render up to eight notebooks at once (11-18 s
# each seen in the server log) and one load in 160 once took over 30 s without stalling.
# The stall this guards against never ends (Voilà sends heartbeats for ever), so 90 s still
# catches it; the speed target is measured in benchmarks/bench_dashboards.py, not here.
STALL_S = 90.0

# page -> how many charts it draws when ready
PAGES: dict[str, int] = {"overview": 1, "campaigns": 1, "campaign": 3, "lists": 2, "contacts": 0,
                         "engagement": 4, "sync": 0, "report_builder": 0, "partners": 0}


def _chromium() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found or not Path("/usr/bin/apt-get").exists() or os.geteuid() != 0:
        return found
    # Debian's chromium; another process may hold the apt lock for a while.
    for _ in range(30):
        done = subprocess.run(["apt-get", "install", "-y", "-q", "chromium"], capture_output=True, text=True,
                              env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"}, timeout=900)
        if done.returncode == 0:
            break
        if "lock" not in (done.stderr + done.stdout).lower():
            break
        time.sleep(10)
    return shutil.which("chromium")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    data_dir = tmp_path_factory.mktemp("browser") / "data"
    sync_fake_account(data_dir, size="small")
    add_user(data_dir, USER, PASSWORD)
    with running_server(NOTEBOOKS, data_dir, pool_size=1, wait_for_pools=True) as srv:
        yield srv


@pytest.fixture(scope="module")
def watch_server(tmp_path_factory: pytest.TempPathFactory):
    """One pooled page, and page kernels with no browser for 20 s shut down (90 s in production)."""
    data_dir = tmp_path_factory.mktemp("browser-watch") / "data"
    sync_fake_account(data_dir, size="tiny")
    add_user(data_dir, USER, PASSWORD)
    with running_server(NOTEBOOKS, data_dir, pool_size=1, pool_notebooks=("overview.ipynb",), wait_for_pools=True,
                        jupyter_args=("--CappedKernelManager.page_kernel_grace_s=20",)) as srv:
        yield srv


@pytest.fixture(scope="module")
def browser():
    chromium = _chromium()
    if chromium is None:
        pytest.skip("chromium not found and could not be installed (Debian: apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def session(browser, server):
    """A signed-in browser context that records every request it makes."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, accept_downloads=True)
    requests: list[str] = []
    context.on("request", lambda r: requests.append(r.url))
    page = context.new_page()
    browser_sign_in(page, server.url, USER, PASSWORD)
    yield context, page, requests
    context.close()


def _campaign(server_url: str, page) -> tuple[str, str]:
    """A sent campaign's id and name, read from the Campaigns page's first link."""
    page.goto(server_url + "voila/render/campaigns.ipynb")
    link = page.locator("table.octo-table a[href*='campaign.ipynb?id=']").first
    link.wait_for(timeout=STALL_S * 1000)
    href = link.get_attribute("href")
    return href.split("id=", 1)[1], link.inner_text().strip()


def _ready(page, name: str, charts: int, expect_title: str | None = None) -> None:
    page.wait_for_selector(".octo-page", timeout=STALL_S * 1000)
    if expect_title:
        page.wait_for_function("t => document.querySelector('.octo-title') && "
                               "document.querySelector('.octo-title').textContent.trim() === t",
                               arg=expect_title, timeout=STALL_S * 1000)
    if charts:
        page.wait_for_function("n => document.querySelectorAll('.js-plotly-plot .main-svg').length >= n",
                               arg=charts, timeout=STALL_S * 1000)
    else:
        page.wait_for_selector("table.octo-table, .octo-empty", timeout=STALL_S * 1000)


def _stall_report(page, server, path: Path) -> str:
    """What a page that did not become ready shows, and what the server logged about its
    kernel: enough to tell a page served without its output from widgets that never drew
    or a request that never answered (a stall in CI is rare and cannot be rerun)."""
    try:
        page.screenshot(path=str(path))
        state = page.evaluate("""() => {
            let kernel = null;
            try { kernel = JSON.parse(document.getElementById('jupyter-config-data').textContent).kernelId; }
            catch (e) {}
            const n = s => document.querySelectorAll(s).length;
            return {kernel, readyState: document.readyState, cells: n('.jp-Cell'),
                    outputs: n('.jp-OutputArea-output'),
                    widget_views: n('script[type="application/vnd.jupyter.widget-view+json"]'),
                    drawn_widgets: n('.jupyter-widgets'),
                    text: document.body ? document.body.innerText.slice(0, 200) : null};
        }""")
    except Exception as exc:  # noqa: BLE001 - a report, not a check
        return f"(page state unavailable: {exc})"
    kernel = state.get("kernel") or "-"
    lines = [line for line in server.log_text().splitlines()
             if kernel in line or line.startswith(("[W", "[E")) and "websocket_ping" not in line]
    return f"page state {state}; screenshot {path}; server log:\n" + "\n".join(lines[-25:])


def _screenshot(page, path: Path) -> Path:
    """The whole page: Voilà scrolls inside #rendered_cells, so grow the viewport to it."""
    page.wait_for_timeout(300)
    size = page.viewport_size
    height = page.evaluate("() => { const e = document.getElementById('rendered_cells');"
                           " return e ? e.scrollHeight : document.body.scrollHeight; }")
    page.set_viewport_size({"width": size["width"], "height": min(int(height) + 40, 8000)})
    page.wait_for_timeout(300)
    page.screenshot(path=str(path))
    page.set_viewport_size(size)
    return path


def _errors_on(page) -> list[str]:
    found = []
    for selector in (".octo-msg.error", "[data-mime-type='application/vnd.jupyter.stderr']",
                     ".jp-OutputArea-output.jp-mod-error", ".jp-RenderedText[data-mime-type*='error']"):
        found += [f"{selector}: {t[:200]}" for t in page.locator(selector).all_inner_texts()]
    text = page.inner_text("body")
    for phrase in ("There was an error when executing cell", "An exception occurred at the server", "Traceback"):
        if phrase in text:
            found.append(phrase)
    return found


@pytest.mark.timeout(1200)
def test_every_page_renders_every_time_with_charts_and_no_errors(server, session, tmp_path):
    context, page, requests = session
    uncaught: list[str] = []
    page.on("pageerror", lambda e: uncaught.append(f"{page.url}: {e}"))
    campaign_id, campaign_name = _campaign(server.url, page)
    urls = {name: server.url + f"voila/render/{name}.ipynb" for name in PAGES}
    urls["campaign"] += f"?id={campaign_id}"
    timings: dict[str, list[float]] = {name: [] for name in PAGES}
    stalls: list[str] = []
    shots: list[Path] = []
    for round_ in range(LOADS):
        for name, charts in PAGES.items():
            started = time.perf_counter()
            page.goto(urls[name], wait_until="commit")
            try:
                _ready(page, name, charts, campaign_name if name == "campaign" else None)
            except Exception as exc:  # noqa: BLE001 - counted and reported below
                stalls.append(f"{name} load {round_ + 1}: {type(exc).__name__}: {str(exc)[:160]}\n"
                              + _stall_report(page, server, tmp_path / f"stall-{name}-{round_ + 1}.png"))
                continue
            timings[name].append(time.perf_counter() - started)
            errors = _errors_on(page)
            assert errors == [], f"{name} (load {round_ + 1}) shows errors: {errors}"
            if round_ == 0:
                shots.append(_screenshot(page, tmp_path / f"{name}.png"))
    # Two tabs ask for the same page at once: one gets the pooled kernel, the other the one
    # the pool is refilling (or a fresh one); both must render.
    twins = [context.new_page() for _ in range(2)]
    for twin in twins:
        twin.on("pageerror", lambda e: uncaught.append(f"twin: {e}"))
    for twin in twins:
        twin.goto(urls["engagement"], wait_until="commit")
    for i, twin in enumerate(twins):
        try:
            _ready(twin, "engagement", PAGES["engagement"])
        except Exception as exc:  # noqa: BLE001 - reported below
            stalls.append(f"engagement, tab {i + 1} of two at once: {type(exc).__name__}: {str(exc)[:160]}\n"
                          + _stall_report(twin, server, tmp_path / f"stall-twin-{i + 1}.png"))
            continue
        assert _errors_on(twin) == [], f"engagement (tab {i + 1} of two at once) shows errors: {_errors_on(twin)}"
    if not any("at once" in s for s in stalls):
        twin_kernels = {t.evaluate("() => JSON.parse(document.getElementById('jupyter-config-data')"
                                   ".textContent).kernelId") for t in twins}
        assert len(twin_kernels) == 2, "two tabs shared one kernel"
    for twin in twins:
        twin.close(run_before_unload=True)
    for shot in shots:
        print(f"screenshot: {shot}")
    for name, values in timings.items():
        if values:
            print(f"{name:<11} loads {len(values):>3}  median {statistics.median(values):.2f} s  "
                  f"max {max(values):.2f} s (request to charts drawn)")
    assert stalls == [], (f"{len(stalls)} of {LOADS * len(PAGES) + 2} page loads did not finish:\n"
                          + "\n\n".join(stalls))
    # Printed, not asserted yet: the campaign page logs "[anywidget] Failed to initialize
    # model." (plotly's FigureWidget), to be fixed with the charts before this becomes a check.
    for error in uncaught:
        print(f"uncaught page error: {error}")
    # Every page kernel (the pools' and the ones taken) is a fork of the kernel zygote
    # (octolib.server.kernel_forks), so the loads above went through it; no page kernel was
    # started as a process of its own.
    import psutil

    children = psutil.Process(server.process.pid).children()
    zygotes = [c for c in children if "octolib.server.kernel_forks" in " ".join(c.cmdline())]
    assert len(zygotes) == 1, [" ".join(c.cmdline()) for c in children]
    assert len(zygotes[0].children()) >= len(PAGES), "the pools' kernels are the zygote's children"
    spawned = [" ".join(c.cmdline()) for c in children if "-f" in c.cmdline()]
    assert spawned == [], f"page kernels started as processes of their own: {spawned}"
    outside = sorted({u for u in requests if urlparse(u).scheme in ("http", "https", "ws", "wss")
                      and urlparse(u).hostname != "127.0.0.1"})
    assert outside == [], f"requests left the machine: {outside}"


def test_closing_pages_shuts_their_kernels(server, session):
    context, page, _ = session
    notebooks = len([p for p in NOTEBOOKS.glob("*.ipynb") if not p.name.startswith((".", "_"))])
    page.goto(server.url + "dashboards")
    page.wait_for_timeout(1500)  # the unload beacons of the last dashboard
    deadline = time.monotonic() + 30
    while True:
        # Every kernel a page view took from a pool has been shut down since its page closed.
        log = server.log_text()
        taken = set(re.findall(r"Using pre-heated kernel: (\S+) for", log))
        left = taken - set(re.findall(r"Kernel shutdown: (\S+)", log))
        if (taken and not left) or time.monotonic() > deadline:
            break
        page.wait_for_timeout(1000)
    assert taken and not left, f"{len(left)} kernels of closed pages still run: {sorted(left)}"
    # What runs is the pools: one ready kernel per notebook, two for a page in demand
    # (opened again within PooledKernelManager.busy_window_s, as the loads above did).
    kernels = page.request.get(server.url + "api/kernels").json()
    assert len(kernels) <= 2 * notebooks, f"{len(kernels)} kernels run after the pages closed"


def test_filter_changes_the_table_and_csv_has_the_filtered_rows(server, session, tmp_path):
    context, page, requests = session
    page.goto(server.url + "voila/render/campaigns.ipynb")
    table = page.locator("table.octo-table").first
    table.wait_for(timeout=STALL_S * 1000)
    before = int(table.get_attribute("data-rows"))
    status = page.get_by_label("Status", exact=True)
    status.select_option(label="Draft")
    page.wait_for_function("n => { const t = document.querySelector('table.octo-table');"
                           " return t && Number(t.dataset.rows) !== n; }", arg=before, timeout=15_000)
    after = int(page.locator("table.octo-table").first.get_attribute("data-rows"))
    assert 0 < after < before
    with page.expect_download(timeout=15_000) as download:
        page.locator("button.octo-csv").first.click()
    saved = tmp_path / "campaigns.csv"
    download.value.save_as(saved)
    lines = saved.read_text().strip().splitlines()
    assert lines[0].startswith("Campaign,") and len(lines) == after + 1
    assert all(",draft," in line for line in lines[1:])
    _screenshot(page, tmp_path / "campaigns-drafts.png")
    print(f"screenshot: {tmp_path / 'campaigns-drafts.png'}")


def test_unknown_campaign_in_the_url_is_a_message(server, session):
    context, page, _ = session
    page.goto(server.url + "voila/render/campaign.ipynb?id=does-not-exist")
    page.wait_for_selector(".octo-msg.warn", timeout=STALL_S * 1000)
    assert "does-not-exist" in page.locator(".octo-msg.warn").inner_text()
    assert _errors_on(page) == []


def test_dates_read_and_write_iso_in_a_us_locale_browser(server, browser):
    """A US browser showed the native picker as a clipped "mm/dd/yyy" while every date the
    product prints is ISO: the boxes show YYYY-MM-DD whole, refuse a day that does not exist
    and apply a real one."""
    import re

    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 1000})
    try:
        page = context.new_page()
        browser_sign_in(page, server.url, USER, PASSWORD)
        page.goto(server.url + "voila/render/overview.ipynb")
        page.wait_for_selector(".octo-date input", timeout=STALL_S * 1000)
        period = page.get_by_label("Period", exact=True)
        period.select_option(label="Last 30 days")
        start, end = page.locator(".octo-date input").nth(0), page.locator(".octo-date input").nth(1)
        # the kernel sets the two boxes in two widget messages: wait for both, not only the first
        page.wait_for_function("() => [...document.querySelectorAll('.octo-date input')].slice(0, 2)"
                               ".every(b => /^\\d{4}-\\d{2}-\\d{2}$/.test(b.value))", timeout=15_000)
        for box in (start, end):
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", box.input_value()), box.input_value()
            assert box.evaluate("e => e.scrollWidth <= e.clientWidth"), "the date is clipped"
        shown = start.input_value()
        start.fill("2026-02-30")
        start.press("Tab")
        assert "YYYY-MM-DD" in (start.get_attribute("title") or "")
        page.wait_for_timeout(1000)
        assert period.input_value() == "Last 30 days"  # not applied
        start.fill("2026-01-01")
        start.press("Tab")
        page.wait_for_function("() => document.querySelector('select').value === 'Custom' || "
                               "[...document.querySelectorAll('select')].some(s => s.value === 'Custom')",
                               timeout=15_000)
        assert start.input_value() == "2026-01-01" != shown
    finally:
        context.close()


def _sign_in(context, server) -> object:
    page = context.new_page()
    browser_sign_in(page, server.url, USER, PASSWORD)
    return page


def _open_overview(page, server) -> str:
    """Open the Overview page, wait until it is drawn, return its kernel's id."""
    page.goto(server.url + "voila/render/overview.ipynb")
    _ready(page, "overview", PAGES["overview"])
    return page.evaluate("() => JSON.parse(document.getElementById('jupyter-config-data').textContent).kernelId")


def _kernel_ids(page, server) -> set[str]:
    return {k["id"] for k in page.request.get(server.url + "api/kernels").json()}


def _wait_gone(page, server, kernel_id: str, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while kernel_id in _kernel_ids(page, server):
        if time.monotonic() > deadline:
            return False
        page.wait_for_timeout(500)
    return True


def test_page_is_clean_its_kernel_goes_with_it_and_a_lost_kernel_is_said(watch_server, browser):
    server = watch_server
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    problems: list[str] = []
    context.on("page", lambda p: p.on("pageerror", lambda e: problems.append(f"uncaught: {e}")))
    # Voila 0.5.13's own widget manager is built for JupyterLab 4.5.10 packages while Voila
    # bundles 4.2.5: its "Unsatisfied version ... (required ^N.5.10)" lines are Voila's.
    # Ours (the widgets extension) must match what Voila bundles: none of the others.
    voilas_own = re.compile(r"\(required \^\d+\.5\.10\)")
    context.on("console", lambda m: problems.append(f"console: {m.text}")
               if m.type in ("warning", "error") and "Unsatisfied version" in m.text
               and not voilas_own.search(m.text) else None)
    context.on("response", lambda r: problems.append(f"404 {r.url}") if r.status == 404 else None)
    page = _sign_in(context, server)
    page.on("pageerror", lambda e: problems.append(f"uncaught: {e}"))

    # A page loads without uncaught errors, version warnings or requests for missing routes.
    kernel = _open_overview(page, server)
    page.wait_for_timeout(1000)
    assert problems == [], problems
    assert page.locator(".octo-lost").count() == 0

    # The kernel under an open page ends (as the idle culler ends it): the page says so.
    xsrf = next(c["value"] for c in context.cookies() if c["name"] == "_xsrf")
    gone = page.request.delete(server.url + f"api/kernels/{kernel}", headers={"X-XSRFToken": xsrf})
    assert gone.status == 204, gone.status
    page.mouse.click(640, 500)  # the user comes back and clicks on the page
    banner = page.locator(".octo-lost")
    banner.wait_for(timeout=30_000)
    assert "Reload" in banner.inner_text() and "stopped working" in banner.inner_text()

    # Closing a tab shuts its kernel (Voilà's unload beacon, through the login gate).
    tab = context.new_page()
    closed = _open_overview(tab, server)
    tab.close(run_before_unload=True)
    assert _wait_gone(page, server, closed, 30), "a closed tab's kernel still runs"

    # A browser that goes away without a word: its page kernel goes after the grace period.
    other = browser.new_context()
    lost = _open_overview(_sign_in(other, server), server)
    other.close()
    assert _wait_gone(page, server, lost, 120), "the kernel of a closed browser still runs"
    assert "its dashboard page closed" in server.log_text()
    # The pool's own kernel is never reaped.
    assert len(_kernel_ids(page, server)) >= 1
    context.close()
