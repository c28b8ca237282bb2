"""What each dashboard page sends to the browser, and how long a warm page takes to draw its
charts with plotly's full widget bundle against the partial one.

Run by hand::

    .venv/bin/python benchmarks/bench_payload.py [--size demo] [--data-dir DIR] [--reps 3] [--no-browser]

Prints figures; asserts nothing. Two parts:

1. **Payload** (no browser): each page built as its notebook builds it, on the local account
   (``--size``, default the demo: 30 campaigns, 6,000 contacts) synced into an embedded store,
   charts attached as when the page is viewed; then, per page, the JSON of every widget's
   state the kernel sends (bytes), of which the charts' figures, of which plotly templates,
   and the largest point count of any trace against the chart's width in pixels.
2. **Warm charts** (headless Chromium, one signed-in user, pools on): time from the request
   (navigation start, the page's own clock) to the last chart drawn (every ``.js-plotly-plot``
   of the page has plotly's ``.main-svg``), ``--reps`` loads per page and bundle. The browser
   has the bundle in its cache, as a user moving between pages. ``full``: the server started
   with ``--OctoPlotly.bundle=full`` (the installed plotly's ``widgetbundle.js``, as before);
   ``partial``: the committed :data:`octolib.server.voila.PARTIAL_BUNDLE`.

Measured 2026-11-30 on this 2-core machine while seven other sessions ran (load average
25-35, so absolute times are several times a quiet machine's), demo account:

    page            widgets   state (B)  figures (B)  templates (B) charts  largest trace: points / chart width px
    overview             68      71,165       12,770          1,907      1  74 (scatter) / 1150
    campaigns            87      79,319        3,830          1,907      1  8 (bar) / 1150
    campaign            128     117,638       21,788          5,721      3  169 (scatter) / 1150
    lists               143     110,218        8,581          3,814      2  18 (bar) / 1150
    contacts            116      87,547            0              0      0
    engagement           80      93,154       32,747          7,628      4  24 (heatmap) / 1150
    sync                112      73,888            0              0      0
    report_builder      104      74,739            0              0      0

Reading it: a page sends 70-120 KB of widget state, of which the figures are 0-33 KB and
plotly's per-figure template 1.9 KB a chart (2-8 % of a page): not worth stripping. No
trace draws more points than its chart has pixels (the most is 169 against 1,150), so
nothing is downsampled; the per-campaign charts would reach their width at about 1,150
campaigns (38x the demo). The weight was plotly.js itself: 5.0 MB evaluated per page
before, 1.3 MB now.

Warm charts, same run (``--reps 2``, load average 30-36: the pools could not refill within
the 4 s gap, so most loads waited for a kernel and these are far from a quiet machine's
warm figures; full and partial ran one after the other, so load drift is not cancelled):

    warm, one user: seconds from request to the last chart drawn, median (min-max) of 2
      page                 full (5.0 MB)       partial (1.3 MB)
      overview       43.15 (36.84-49.47)    26.64 (17.83-35.45)
      campaigns      42.14 (21.54-62.73)    31.54 (27.07-36.00)
      campaign       52.20 (42.23-62.17)    26.58 (23.22-29.94)
      lists          56.81 (44.44-69.17)    15.44 (14.55-16.33)
      engagement     40.03 (37.64-42.43)    14.97 (12.45-17.48)

The partial bundle was faster on every page here; whether a warm page draws its charts
under 1 s (the goal; 2.3-2.9 s before, about 1.1 s of it evaluating plotly.js) needs this
script on a quiet machine."""

from __future__ import annotations

import argparse
import inspect
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from octolib.dashboards.testing import add_user, sync_fake_account
from octolib.server.testing import browser_sign_in, running_server

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-quic"]
# page -> charts it draws (as tests/test_dashboard_browser.py)
CHART_PAGES = {"overview": 1, "campaigns": 1, "campaign": 3, "lists": 2, "engagement": 4}
USER, PASSWORD = "bench", "Bench-Payload-1"
DRAWN_JS = ("n => { const plots = [...document.querySelectorAll('.js-plotly-plot')];"
            " return plots.length >= n && plots.every(p => p.querySelector('.main-svg')) ? performance.now() : 0; }")


def _first_campaign(data_dir: Path) -> str:
    from octolib.config import Settings
    from octolib.store import campaign_arrays, connect

    with connect(Settings(data_dir=data_dir)) as store:
        return str(campaign_arrays(store, {"status": "sent"})["campaign_id"][-1])


def _bytes(obj: Any) -> int:
    return len(json.dumps(obj, default=str, separators=(",", ":")).encode())


def payload(data_dir: Path, campaign_id: str) -> None:
    """Part 1: bytes of widget state per page, built as the notebooks build them."""
    import ipywidgets
    from ipywidgets.widgets.widget import _instances
    from ipywidgets.widgets.widget import _remove_buffers

    import octolib.dashboards as dashboards
    from octolib.config import Settings
    from octolib.dashboards import registry
    from octolib.dashboards.base import open_data

    settings = Settings(data_dir=data_dir)
    data, _ = open_data(settings)
    print(f"\n{'page':<15} {'widgets':>7} {'state (B)':>11} {'figures (B)':>12} {'templates (B)':>14} "
          f"{'charts':>6}  largest trace: points / chart width px")
    for spec in registry.PAGES:
        before = set(_instances)
        builder = getattr(dashboards, spec.builder)
        if spec.name == "campaign":
            page = builder(data, campaign_id)
        elif "settings" in inspect.signature(builder).parameters:  # the pages built with settings
            page = builder(data, settings)
        else:
            page = builder(data)
        page.attach_charts()
        made = [_instances[k] for k in set(_instances) - before]
        state = figures = templates = 0
        for widget in made:
            st, buffer_paths, buffers = _remove_buffers(widget.get_state())
            size = _bytes(st) + sum(len(b) for b in buffers)
            state += size
            if isinstance(widget, ipywidgets.DOMWidget) and hasattr(widget, "_widget_layout"):
                figures += _bytes(widget._widget_data) + _bytes(widget._widget_layout)
                templates += _bytes(widget._widget_layout.get("template", {}))
        largest = ""
        charts = page.charts()
        for chart in charts:
            for trace in chart.figure.data:
                n = max((len(v) for k in ("x", "y", "z") if (v := getattr(trace, k, None)) is not None), default=0)
                if not largest or n > int(largest.split()[0]):
                    largest = f"{n} ({trace.type}) / {chart.width}"
        print(f"{spec.name:<15} {len(made):>7} {state:>11,} {figures:>12,} {templates:>14,} {len(charts):>6}  {largest}")
        for widget in made:
            widget.close()


def _load(context, url: str, charts: int) -> float:
    page = context.new_page()
    page.goto(url, wait_until="commit", timeout=120_000)
    handle = page.wait_for_function(DRAWN_JS, arg=charts, timeout=120_000, polling=50)
    drawn_ms = float(handle.json_value())
    page.goto("about:blank")  # the unload beacon frees the kernel, as a closed tab does
    page.close()
    return drawn_ms / 1000.0


def warm_charts(data_dir: Path, campaign_id: str, reps: int, gap: float, chromium: str) -> None:
    """Part 2: request to last chart drawn, warm, one user, full against partial bundle."""
    from playwright.sync_api import sync_playwright

    from octolib.server.voila import PARTIAL_BUNDLE, PLOTLY_BUNDLE_PATH, installed_widget_bundle

    sizes = {"full": installed_widget_bundle().stat().st_size, "partial": PARTIAL_BUNDLE.stat().st_size}
    results: dict[str, dict[str, list[float]]] = {b: {p: [] for p in CHART_PAGES} for b in sizes}
    notebooks = tuple(f"{p}.ipynb" for p in CHART_PAGES)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS, headless=True)
        for name in sizes:
            with running_server(ROOT / "notebooks", data_dir, pool_size=1, pool_notebooks=notebooks, wait_for_pools=True,
                                start_timeout_s=600, jupyter_args=(f"--OctoPlotly.bundle={name}",)) as server:
                context = browser.new_context(viewport={"width": 1280, "height": 1000})
                login = context.new_page()
                browser_sign_in(login, server.url, USER, PASSWORD, timeout_ms=60_000)
                # Warm: the bundle is in the browser's cache (revalidated, 304), as for a user
                # moving between pages.
                login.goto(server.url + PLOTLY_BUNDLE_PATH)
                login.close()
                for _ in range(reps):
                    for page_name, charts in CHART_PAGES.items():
                        query = f"?id={campaign_id}" if page_name == "campaign" else ""
                        results[name][page_name].append(
                            _load(context, server.url + f"voila/render/{page_name}.ipynb{query}", charts))
                        time.sleep(gap)
                context.close()
        browser.close()
    print(f"\nwarm, one user: seconds from request to the last chart drawn, median (min-max) of {reps}")
    print(f"  {'page':<11} " + " ".join(f"{f'{b} ({sizes[b] / 1e6:.1f} MB)':>22}" for b in sizes))
    for page_name in CHART_PAGES:
        cells = []
        for name in sizes:
            v = results[name][page_name]
            cells.append(f"{statistics.median(v):5.2f} ({min(v):.2f}-{max(v):.2f})")
        print(f"  {page_name:<11} " + " ".join(f"{c:>22}" for c in cells))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="demo")
    parser.add_argument("--data-dir", default=None, help="keep the synced data here; reused if present")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--gap", type=float, default=4.0, help="seconds between loads (the pool refills)")
    parser.add_argument("--no-browser", action="store_true", help="the payload table only")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-payload-") as tmp:
        data_dir = Path(args.data_dir) if args.data_dir else Path(tmp) / "data"
        if not (data_dir / "embedded").exists():
            t0 = time.monotonic()
            sync_fake_account(data_dir, size=args.size)
            add_user(data_dir, USER, PASSWORD)
            print(f"account '{args.size}' synced in {time.monotonic() - t0:.1f} s")
        campaign_id = _first_campaign(data_dir)
        payload(data_dir, campaign_id)
        if not args.no_browser:
            warm_charts(data_dir, campaign_id, args.reps, args.gap, args.chromium)
    return 0


if __name__ == "__main__":
    sys.exit(main())
