"""How long from asking for a dashboard to its charts drawn, warm and cold, in headless Chromium.

Run by hand (about 3 to 5 minutes on 2 cores)::

    /work/venv/bin/python benchmarks/bench_dashboards.py [--size demo] [--reps 5] [--pages overview,campaigns]

Prints figures; asserts nothing. Set-up: the local EmailOctopus account (``--size``, default
"demo": 30 campaigns, 6,000 contacts) synced into an embedded store; the dashboards served
as ``octo serve`` serves them (one Jupyter server, Voilà extension, login gate); a signed-in
Debian Chromium driven by Playwright. For each page and mode, ``--reps`` loads, each from a
blank tab, timed from ``page.goto`` to: the HTML loaded (``load``), the page's widgets shown
(``widgets``), every chart drawn (``charts``: plotly's SVG present; for pages without a
chart, the first table).

Modes:
- ``warm``: kernel pools on (one pre-started kernel per notebook, the product's setting),
  loads ``--gap`` seconds apart so the pool has refilled (a user opening pages);
- ``burst``: pools on, the same page loaded back to back (the pool is empty half the time);
- ``cold``: pools off (``pool_size=0``): every view starts a kernel and runs the notebook,
  which is what the Voilà server extension does without our kernel manager.

Targets (issue #7): under 2 s, aim for under 1 s warm.

Analysts at once (issue #17): ``--users N --think S`` signs in N browser contexts that each
click through the pages (``--rounds`` times, in the same order, user k starting k*S/N
seconds after user 0, so two analysts often want the same page within seconds), waiting S
seconds between a page's charts and the next click. ``--sync`` runs full syncs back to back
meanwhile, from a local EmailOctopus account at the real rate limit (10 requests/s) into the
same store (each finished run is a new sync run, so the pages' cached data changes under
the analysts). Prints per page the median and p90 of time to usable widgets and to charts
drawn, and the total RSS of the server and its kernels (psutil over the server's process
tree): the peak while clicking and at the end. Goals: 2 users, think 1-2 s, a sync running:
widgets median < 1 s and p90 < 2 s, charts p90 < 2.5 s; memory < 1.5 GB::

    python benchmarks/bench_dashboards.py --users 2 --think 1.5 --sync
"""

from __future__ import annotations

import argparse
import asyncio
import re
import os
import shutil
import subprocess
import threading
import statistics
import sys
import tempfile
import time
from pathlib import Path

from octolib.dashboards.testing import add_user, sync_fake_account
from octolib.server.testing import browser_sign_in, browser_sign_in_async, running_server

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-quic"]
CHARTS = {"overview": 1, "campaigns": 1, "campaign": 3, "lists": 2, "contacts": 0, "engagement": 4, "sync": 0,
          "report_builder": 0}
USER, PASSWORD = "bench", "Bench-Dashboards-1"


def _measure(context, url: str, charts: int, tab=None) -> dict[str, float]:
    """One load in a new tab, or in ``tab`` (the same tab navigating, as an analyst clicking
    through pages does: Chromium keeps the tab's renderer process)."""
    page = tab or context.new_page()
    t0 = time.perf_counter()
    page.goto(url, wait_until="load", timeout=90_000)
    t_load = time.perf_counter() - t0
    page.wait_for_selector(".octo-page", timeout=90_000)
    t_widgets = time.perf_counter() - t0
    if charts:
        page.wait_for_function("n => document.querySelectorAll('.js-plotly-plot .main-svg').length >= n",
                               arg=charts, timeout=90_000)
    else:
        page.wait_for_selector("table.octo-table, .octo-empty", timeout=90_000)
    t_charts = time.perf_counter() - t0
    # Leave the page (its unload beacon shuts the kernel down, as a closed tab does; Playwright's
    # page.close() skips unload handlers).
    page.goto("about:blank")
    if tab is None:
        page.close()
    return {"load": t_load, "widgets": t_widgets, "charts": t_charts}


def _run_mode(browser, server, pages: list[str], reps: int, gap: float, campaign_id: str,
              same_tab: bool = False) -> dict[str, list[dict]]:
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    login = context.new_page()
    browser_sign_in(login, server.url, USER, PASSWORD)
    results: dict[str, list[dict]] = {p: [] for p in pages}
    for _ in range(reps):
        for name in pages:
            url = server.url + f"voila/render/{name}.ipynb" + (f"?id={campaign_id}" if name == "campaign" else "")
            results[name].append(_measure(context, url, CHARTS[name], login if same_tab else None))
            time.sleep(gap)
    context.close()
    return results


def _first_campaign(data_dir: Path) -> str:
    from octolib.config import Settings
    from octolib.store import campaign_arrays, connect

    store = connect(Settings(data_dir=data_dir))
    cols = campaign_arrays(store, {"status": "sent"})
    store.close()
    return str(cols["campaign_id"][-1])


def _print(mode: str, results: dict[str, list[dict]]) -> None:
    print(f"\n{mode}: median (min–max) seconds from request to ...")
    print(f"  {'page':<11} {'HTML loaded':>18} {'widgets shown':>18} {'charts drawn':>18}")
    for name, runs in results.items():
        if not runs:
            continue
        cells = []
        for key in ("load", "widgets", "charts"):
            values = [r[key] for r in runs]
            cells.append(f"{statistics.median(values):5.2f} ({min(values):.2f}–{max(values):.2f})")
        print(f"  {name:<11} " + " ".join(f"{c:>18}" for c in cells))


# -- analysts at once -------------------------------------------------------------------------

def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]


def tree_rss(pid: int, *, proportional: bool = False) -> int:
    """Resident memory of a process and all its descendants (bytes; 0 when it is gone).

    RSS counts pages the kernels share (the Python binary, numpy's libraries) once per
    process, so the sum overstates the machine's memory in use; ``proportional`` gives the
    sum of PSS instead (shared pages split between their users), which is what they take."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for proc in procs:
        try:
            total += proc.memory_full_info().pss if proportional else proc.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied, AttributeError):
            pass
    return total


class _RssSampler(threading.Thread):
    """Samples :func:`tree_rss` once a second; ``peak`` is the largest seen."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self._halt = pid, 0, threading.Event()

    def run(self) -> None:
        while not self._halt.wait(1.0):
            self.peak = max(self.peak, tree_rss(self.pid))

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)


class _SyncLoop:
    """Full syncs back to back from a local EmailOctopus account (its own process, the real
    rate limit) into ``data_dir``'s store, each as ``octo sync --full`` (its own process)."""

    def __init__(self, data_dir: Path, size: str) -> None:
        self.data_dir, self.size = data_dir, size
        self.finished = 0
        self.failed = 0
        self._stop = threading.Event()
        self._api: subprocess.Popen[str] | None = None
        self._sync: subprocess.Popen[bytes] | None = None
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> "_SyncLoop":
        from octolib.server.testing import free_port

        port = free_port()
        # The local account stands in for EmailOctopus, which runs on its servers, not this one:
        # it gets the CPU left over (niced like a sync), so it does not count as octopus's load.
        self._api = subprocess.Popen([sys.executable, "-m", "octolib.cli", "fake-api", "--size", self.size,
                                      "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, start_new_session=True, preexec_fn=lambda: os.nice(10))
        assert self._api.stdout is not None
        line = self._api.stdout.readline()  # "fake EmailOctopus API on http://..."
        self.base_url = line.split(" on ", 1)[1].split()[0]
        self._thread.start()
        return self

    def _loop(self) -> None:
        from octolib.fake import DEMO_API_KEY
        from octolib.server.launch import inherited_env

        env = inherited_env(drop_octo=True)
        env.update({"OCTO_DATA_DIR": str(self.data_dir), "OCTO_API_BASE": self.base_url,
                    "OCTO_API_KEY": DEMO_API_KEY, "OCTO_DEMO": "1"})
        while not self._stop.is_set():
            self._sync = subprocess.Popen([sys.executable, "-m", "octolib.cli", "sync", "--full", "--no-progress",
                                           "--trigger", "bench"], env=env, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL, start_new_session=True)
            code = self._sync.wait()
            if self._stop.is_set():
                break
            if code == 0:
                self.finished += 1
            else:
                self.failed += 1

    def stop(self) -> None:
        self._stop.set()
        for proc in (self._sync, self._api):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
        self._thread.join(timeout=30)


async def _analyst(browser, server, user: int, pages: list[str], rounds: int, think: float, start_after: float,
                   campaign_id: str, results: dict[str, list[dict]], failures: list[str]) -> None:
    context = await browser.new_context(viewport={"width": 1280, "height": 1000})
    page = await context.new_page()
    await browser_sign_in_async(page, server.url, USER, PASSWORD)
    await asyncio.sleep(start_after)
    for _ in range(rounds):
        for name in pages:
            url = server.url + f"voila/render/{name}.ipynb" + (f"?id={campaign_id}" if name == "campaign" else "")
            t0 = time.perf_counter()
            try:
                await page.goto(url, wait_until="commit", timeout=90_000)
                await page.wait_for_selector(".octo-page", timeout=90_000)
                t_widgets = time.perf_counter() - t0
                if CHARTS[name]:
                    await page.wait_for_function(
                        "n => document.querySelectorAll('.js-plotly-plot .main-svg').length >= n",
                        arg=CHARTS[name], timeout=90_000)
                else:
                    await page.wait_for_selector("table.octo-table, .octo-empty", timeout=90_000)
                t_charts = time.perf_counter() - t0
                results[name].append({"widgets": t_widgets, "charts": t_charts, "user": user})
            except Exception as exc:  # noqa: BLE001 - a benchmark counts failures and goes on
                failures.append(f"user {user} {name}: {type(exc).__name__}: {str(exc)[:120]}")
            await asyncio.sleep(think)
    await page.goto("about:blank")
    await context.close()


def _run_users(server, pages: list[str], users: int, think: float, rounds: int, campaign_id: str,
               chromium: str) -> tuple[dict[str, list[dict]], list[str]]:
    from playwright.async_api import async_playwright

    results: dict[str, list[dict]] = {p: [] for p in pages}
    failures: list[str] = []

    async def go() -> None:
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=chromium, args=ARGS, headless=True)
            await asyncio.gather(*(_analyst(browser, server, k, pages, rounds, think, k * think / users,
                                            campaign_id, results, failures) for k in range(users)))
            await browser.close()

    asyncio.run(go())
    return results, failures


def _print_users(results: dict[str, list[dict]], failures: list[str]) -> None:
    print("\nmedian / p90 seconds from click to ...")
    print(f"  {'page':<15} {'loads':>5} {'widgets usable':>16} {'charts drawn':>16}")
    every: dict[str, list[float]] = {"widgets": [], "charts": []}
    for name, runs in results.items():
        if not runs:
            continue
        cells = []
        for key in ("widgets", "charts"):
            values = [r[key] for r in runs]
            every[key] += values
            cells.append(f"{statistics.median(values):5.2f} / {_p90(values):5.2f}")
        print(f"  {name:<15} {len(runs):>5} " + " ".join(f"{c:>16}" for c in cells))
    if every["widgets"]:
        cells = [f"{statistics.median(every[k]):5.2f} / {_p90(every[k]):5.2f}" for k in ("widgets", "charts")]
        print(f"  {'all pages':<15} {len(every['widgets']):>5} " + " ".join(f"{c:>16}" for c in cells))
    print(f"  failed loads: {len(failures)}" + "".join(f"\n    {f}" for f in failures[:10]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="demo")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--gap", type=float, default=4.0, help="seconds between warm loads (pool refill)")
    parser.add_argument("--pages", default=",".join(CHARTS))
    parser.add_argument("--modes", default="warm,burst,cold")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    parser.add_argument("--data-dir", default=None, help="keep the synced data (and server logs) here; reused if present")
    parser.add_argument("--same-tab", action="store_true",
                        help="warm/cold: load every page in one tab (as clicking through pages does), not a new tab each")
    parser.add_argument("--users", type=int, default=0, help="analysts clicking at once (replaces --modes)")
    parser.add_argument("--think", type=float, default=1.5, help="seconds between one page drawn and the next click")
    parser.add_argument("--rounds", type=int, default=3, help="times each analyst clicks through the pages")
    parser.add_argument("--sync", action="store_true", help="run full syncs back to back meanwhile")
    parser.add_argument("--pool-size", type=int, default=1, help="octo serve --pool-size")
    parser.add_argument("--jupyter-arg", action="append", default=[],
                        help="passed to Jupyter as it is (repeatable), e.g. to compare a kernel manager setting")
    args = parser.parse_args(argv)
    pages = [p for p in args.pages.split(",") if p]
    modes = args.modes.split(",")

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="bench-dash-") as tmp:
        data_dir = Path(args.data_dir) if args.data_dir else Path(tmp) / "data"
        t0 = time.monotonic()
        if not (data_dir / "embedded").exists():
            sync_fake_account(data_dir, size=args.size)
            add_user(data_dir, USER, PASSWORD)
        campaign_id = _first_campaign(data_dir)
        print(f"account '{args.size}' synced in {time.monotonic() - t0:.1f} s; pages: {', '.join(pages)}")
        if args.users:
            return _users_main(args, data_dir, pages, campaign_id)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=ARGS, headless=True)
            for mode in modes:
                pool = 0 if mode == "cold" else 1
                t0 = time.monotonic()
                with running_server(ROOT / "notebooks", data_dir, pool_size=pool, wait_for_pools=True) as server:
                    print(f"\n[{mode}] server ready in {time.monotonic() - t0:.1f} s (pool_size={pool})")
                    if mode == "burst":
                        results = _run_mode(browser, server, pages, args.reps, 0.0, campaign_id)
                    else:
                        results = _run_mode(browser, server, pages, args.reps, args.gap if pool else 1.0,
                                            campaign_id, same_tab=args.same_tab)
                    _print(mode, results)
            browser.close()
    return 0


def _users_main(args: argparse.Namespace, data_dir: Path, pages: list[str], campaign_id: str) -> int:
    import psutil

    t0 = time.monotonic()
    with running_server(ROOT / "notebooks", data_dir, pool_size=args.pool_size, wait_for_pools=True,
                        jupyter_args=tuple(args.jupyter_arg), start_timeout_s=300) as server:
        print(f"server ready in {time.monotonic() - t0:.1f} s (pool_size={args.pool_size}); {args.users} users, "
              f"think {args.think} s, {args.rounds} rounds, sync {'on' if args.sync else 'off'}; "
              f"server + kernels {tree_rss(server.process.pid) / 2**20:.0f} MB RSS")
        sampler = _RssSampler(server.process.pid)
        sampler.start()
        syncs = _SyncLoop(data_dir, args.size).start() if args.sync else None
        t0 = time.monotonic()
        try:
            results, failures = _run_users(server, pages, args.users, args.think, args.rounds, campaign_id,
                                           args.chromium)
        finally:
            if syncs is not None:
                syncs.stop()
            sampler.stop()
        took = time.monotonic() - t0
        end_rss = tree_rss(server.process.pid)
        end_pss = tree_rss(server.process.pid, proportional=True)
        n_children = len(psutil.Process(server.process.pid).children(recursive=True))
        _print_users(results, failures)
        print(f"\nclicking took {took:.0f} s" + (f"; syncs finished meanwhile: {syncs.finished} "
                                                  f"(failed {syncs.failed})" if syncs else ""))
        print(f"server + kernels RSS: peak {max(sampler.peak, end_rss) / 2**20:.0f} MB, "
              f"at the end {end_rss / 2**20:.0f} MB (PSS {end_pss / 2**20:.0f} MB; {n_children} child processes)")
        log = server.log_text()
        renders = [float(m) for m in re.findall(r"pre-rendered \S+ in kernel \S+ in ([0-9.]+) s", log)]
        if renders:
            print(f"pool refills: {len(renders)}, median {statistics.median(renders):.2f} s, p90 {_p90(renders):.2f} s, "
                  f"max {max(renders):.2f} s (kernel start + notebook run)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
