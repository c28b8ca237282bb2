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
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from octolib.dashboards.testing import add_user, sync_fake_account
from octolib.server.testing import running_server

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-quic"]
CHARTS = {"overview": 1, "campaigns": 1, "campaign": 3, "lists": 2, "contacts": 0, "engagement": 4, "sync": 0,
          "report_builder": 0}
USER, PASSWORD = "bench", "Bench-Dashboards-1"


def _measure(context, url: str, charts: int) -> dict[str, float]:
    page = context.new_page()
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
    page.close()
    return {"load": t_load, "widgets": t_widgets, "charts": t_charts}


def _run_mode(browser, server, pages: list[str], reps: int, gap: float, campaign_id: str) -> dict[str, list[dict]]:
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    login = context.new_page()
    login.goto(server.url + "login")
    login.fill("#username", USER)
    login.fill("#password", PASSWORD)
    login.click("#login_submit")
    login.wait_for_url("**/dashboards*", timeout=30_000)
    results: dict[str, list[dict]] = {p: [] for p in pages}
    for _ in range(reps):
        for name in pages:
            url = server.url + f"voila/render/{name}.ipynb" + (f"?id={campaign_id}" if name == "campaign" else "")
            results[name].append(_measure(context, url, CHARTS[name]))
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="demo")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--gap", type=float, default=4.0, help="seconds between warm loads (pool refill)")
    parser.add_argument("--pages", default=",".join(CHARTS))
    parser.add_argument("--modes", default="warm,burst,cold")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    parser.add_argument("--data-dir", default=None, help="keep the synced data (and server logs) here; reused if present")
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
                                            campaign_id)
                    _print(mode, results)
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
